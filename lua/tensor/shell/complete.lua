-- tensor.shell.complete: what TAB offers in the th shell.
--   globals and keywords            pri<TAB>         -> print
--   fields of tables and modules    torch.ze<TAB>    -> torch.zeros  torch.zeros_like
--   methods                         x:<TAB>          -> the Tensor methods, when x is a tensor
--   module paths                    require 'tensor.<TAB>
--   file names                      in any other string literal (readline's own completion)
-- Names starting with '_' are offered only when the typed part starts with '_'.
local source = require 'tensor.shell.source'
local sys = require 'tensor.shell.sys'

local M = {}

local function is_tensor(v)
  local ok, core = pcall(require, 'tensor.core')
  if not ok then return false end
  return core.is_tensor(v), core.Tensor, core
end

local function index(v, key)
  local ok, r = pcall(function() return v[key] end)
  if ok then return r end
  return nil
end

-- The string keys of v, including those its metatable's __index tables (classes) provide.
local function members(v)
  local out, seen = {}, {}
  local function add_table(t, depth)
    if seen[t] or depth > 8 then return end
    seen[t] = true
    for k in pairs(t) do
      if type(k) == 'string' then out[k] = true end
    end
    local mt = getmetatable(t)
    if type(mt) == 'table' and type(rawget(mt, '__index')) == 'table' then add_table(rawget(mt, '__index'), depth + 1) end
  end
  local tensor, Tensor, core = is_tensor(v)
  if tensor then
    add_table(Tensor, 0)
    for k in pairs(v) do if type(k) == 'string' then out[k] = true end end
    -- properties such as x.grad and x.requires_grad
    for k in pairs(type(core.getters) == 'table' and core.getters or {}) do
      if type(k) == 'string' then out[k] = true end
    end
  elseif type(v) == 'table' then
    add_table(v, 0)
  elseif type(v) == 'string' then
    add_table(string, 0)
  end
  return out
end

local function callable(v)
  if type(v) == 'function' then return true end
  local mt = getmetatable(v)
  return type(mt) == 'table' and rawget(mt, '__call') ~= nil
end

local function sorted(set)
  local list = {}
  for k in pairs(set) do list[#list + 1] = k end
  table.sort(list)
  return list
end

local function matching(names, partial)
  local out = {}
  local private_ok = partial:sub(1, 1) == '_'
  for _, name in ipairs(names) do
    if name:sub(1, #partial) == partial and name:match('^[%a_][%w_]*$')
        and (private_ok or name:sub(1, 1) ~= '_') then
      out[#out + 1] = name
    end
  end
  return out
end

-- Names completing `partial` after `path` and `sep` (see tensor.shell.source.context), in env.
function M.names(env, path, sep, partial)
  if #path == 0 then
    local set = {}
    for k in pairs(source.keywords) do set[k] = true end
    for k in pairs(members(env)) do set[k] = true end
    return matching(sorted(set), partial)
  end
  local v = env[path[1]]
  for i = 2, #path do
    if v == nil then return {} end
    v = index(v, path[i])
  end
  if v == nil then return {} end
  local names = matching(sorted(members(v)), partial)
  if sep == ':' then
    local methods = {}
    for _, name in ipairs(names) do
      if callable(index(v, name)) then methods[#methods + 1] = name end
    end
    names = methods
  end
  return names
end

-- Module names starting with `prefix`, from package.path/cpath, package.preload and package.loaded.
function M.modules(prefix)
  local set = {}
  local head = prefix:match('^(.*%.)') or ''
  local dir_part = head:gsub('%.', '/')
  -- Offers one level at a time: after 'tensor.' come 'tensor.nn', 'tensor.shell', not 'tensor.shell.sys'.
  local function add(name)
    if name:sub(1, #prefix) ~= prefix then return end
    name = head .. name:sub(#head + 1):match('^[^%.]*')
    if name:sub(-5) ~= '.init' then set[name] = true end
  end
  for _, paths in ipairs({ package.path, package.cpath }) do
    for template in paths:gmatch('[^;]+') do
      local before, after = template:match('^(.-)%?(.*)$')
      if before then
        local dir = before .. dir_part
        for _, entry in ipairs(sys.listdir(dir == '' and '.' or dir) or {}) do
          if after ~= '' and entry:sub(-#after) == after and after:sub(1, 1) ~= '/' then
            add(head .. entry:sub(1, -#after - 1))
          elseif entry:match('^[%a_][%w_]*$') and sys.is_dir(dir .. entry) then
            add(head .. entry)
          end
        end
      end
    end
  end
  for name in pairs(package.preload) do add(name) end
  for name in pairs(package.loaded) do if type(name) == 'string' then add(name) end end
  local list = sorted(set)
  local out = {}
  for _, name in ipairs(list) do if name:match('^[%w_%.%-]+$') then out[#out + 1] = name end end
  return out
end

-- Adapts candidates that replace `stem` into replacements for readline's word (the two can differ when
-- readline splits words otherwise than the Lua lexer).
local function for_word(candidates, stem, word)
  if word == stem then return candidates end
  local out = {}
  if #word < #stem and stem:sub(-#word) == word or word == '' then
    local cut = #stem - #word
    for i, c in ipairs(candidates) do out[i] = c:sub(cut + 1) end
  elseif #word > #stem and word:sub(-#stem) == stem or stem == '' then
    local pre = word:sub(1, #word - #stem)
    for i, c in ipairs(candidates) do out[i] = pre .. c end
  end
  return out
end

-- The completer lineedit calls: `before` is the line up to the cursor, `word` the text readline will
-- replace. Returns the list of replacements for word, or 'files' for readline's file name completion.
function M.complete(before, word, env)
  env = env or _G
  local ctx = source.context(before)
  if ctx.kind == 'string' then
    if not ctx.require then return 'files' end
    return for_word(M.modules(ctx.text), ctx.text, word)
  elseif ctx.kind == 'chain' then
    return for_word(M.names(env, ctx.path, ctx.sep, ctx.partial), ctx.partial, word)
  end
  return {}
end

return M
