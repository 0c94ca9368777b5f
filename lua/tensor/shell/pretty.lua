-- tensor.shell.pretty: how the th shell shows a value. Tensors and other objects with a __tostring
-- (nn modules print as their tree) go through tostring; top-level strings print as they are; tables print
-- as Lua-like constructors, on one line when short, nested to a depth, with cycles marked.
local M = { depth = 3, max_items = 100, width = 100 }

local identifier = '^[%a_][%w_]*$'

local function has_tostring(v)
  local mt = getmetatable(v)
  return type(mt) == 'table' and rawget(mt, '__tostring') ~= nil
end

local function quote(s)
  return (string.format('%q', s):gsub('\\\n', '\\n'))
end

-- A one-line description of a value inside a table.
local function short(v)
  local t = type(v)
  if t == 'string' then return quote(v) end
  if t == 'number' or t == 'boolean' or t == 'nil' then return tostring(v) end
  if (t == 'table' or t == 'userdata') and has_tostring(v) then
    local ok, s = pcall(tostring, v)
    if not ok then return '<' .. t .. ': __tostring failed>' end
    if not s:find('\n') then return s end
    -- A multi-line object (a tensor, a module): its last line is its summary ("[torch.FloatTensor of
    -- size 2x3]"), its first line a module's name.
    local last = s:match('([^\n]*)\n*$')
    if last:match('^%[.*%]$') then return last end
    return (s:match('^[^\n]*')) .. ' {...}'
  end
  return tostring(v)
end

local function sorted_keys(t)
  local n = #t
  local keys = {}
  for k in pairs(t) do
    if not (type(k) == 'number' and k >= 1 and k <= n and k == math.floor(k)) then keys[#keys + 1] = k end
  end
  table.sort(keys, function(a, b)
    local ta, tb = type(a), type(b)
    if ta ~= tb then
      if ta == 'string' then return true end
      if tb == 'string' then return false end
      return ta < tb
    end
    if ta == 'number' or ta == 'string' then return a < b end
    return tostring(a) < tostring(b)
  end)
  return n, keys
end

local function key_text(k)
  if type(k) == 'string' and k:match(identifier) then return k end
  if type(k) == 'string' then return '[' .. quote(k) .. ']' end
  return '[' .. short(k) .. ']'
end

-- The name of a loaded module (a value of package.loaded), or nil.
local function module_name(t)
  for name, v in pairs(package.loaded) do
    if v == t and type(name) == 'string' then return name end
  end
  return nil
end

-- A module prints as its name and the names it holds, not as the tree of everything inside it.
local function format_module(name, t, indent)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = key_text(k) end
  table.sort(keys)
  local out, line = {}, indent .. '  '
  for i, k in ipairs(keys) do
    local piece = k .. (i < #keys and ', ' or '')
    if #line + #piece > M.width and line:find('%S') then
      out[#out + 1] = line:gsub('%s+$', '')
      line = indent .. '  '
    end
    line = line .. piece
  end
  if line:find('%S') then out[#out + 1] = line end
  return "<module '" .. name .. "'> with " .. #keys .. ' fields:\n' .. table.concat(out, '\n')
end

-- Formats table t at nesting level `level` (0 = top) with `indent`; `seen` holds the tables being printed.
local function format_table(t, level, indent, seen)
  if seen[t] then return '<cycle: ' .. tostring(t) .. '>' end
  local modname = module_name(t)
  if modname then
    if level == 0 then return format_module(modname, t, indent) end
    return "<module '" .. modname .. "'>"
  end
  if level >= M.depth then
    return next(t) == nil and '{}' or '{...}'
  end
  seen[t] = true
  local n, keys = sorted_keys(t)
  local items = {}
  local shown, total = 0, n + #keys
  local function add(text)
    shown = shown + 1
    items[#items + 1] = text
  end
  local function value_text(v)
    if v == t then return '<self>' end
    if type(v) == 'table' and not has_tostring(v) then return format_table(v, level + 1, indent .. '  ', seen) end
    return short(v)
  end
  for i = 1, n do
    if shown >= M.max_items then break end
    add(value_text(t[i]))
  end
  for _, k in ipairs(keys) do
    if shown >= M.max_items then break end
    add(key_text(k) .. ' = ' .. value_text(t[k]))
  end
  if shown < total then items[#items + 1] = '... (' .. (total - shown) .. ' more)' end
  seen[t] = nil
  if #items == 0 then return '{}' end
  local one_line = '{' .. table.concat(items, ', ') .. '}'
  if #one_line + #indent <= M.width and not one_line:find('\n') then return one_line end
  return '{\n' .. indent .. '  ' .. table.concat(items, ',\n' .. indent .. '  ') .. '\n' .. indent .. '}'
end

-- One line about a value (for who()): a tensor's summary, a table's size, a string's start.
function M.describe(v)
  local t = type(v)
  if t == 'table' and not has_tostring(v) then
    local n = 0
    for _ in pairs(v) do n = n + 1 end
    local name = module_name(v)
    if name then return "module '" .. name .. "'" end
    return 'table with ' .. n .. ' entr' .. (n == 1 and 'y' or 'ies')
  end
  if t == 'string' and #v > 60 then return quote(v:sub(1, 57) .. '...') end
  return short(v)
end

-- The text the shell prints for one value.
function M.format(v)
  local t = type(v)
  if t == 'string' then return v end
  if t == 'table' and not has_tostring(v) then return format_table(v, 0, '', {}) end
  local ok, s = pcall(tostring, v)
  if not ok then return '<' .. t .. ': __tostring failed: ' .. tostring(s) .. '>' end
  return s
end

-- The text for the values a command returned (n of them): one per line when any spans lines, else
-- separated by tabs, like print.
function M.format_all(n, values)
  local parts, multiline = {}, false
  for i = 1, n do
    parts[i] = M.format(values[i])
    if parts[i]:find('\n') then multiline = true end
  end
  return table.concat(parts, multiline and '\n' or '\t')
end

return M
