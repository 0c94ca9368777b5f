-- tensor.doc: the documentation of the public API, read from the comment blocks next to the code. One source
-- serves the th shell's help() and the generated reference docs/api.md (tools/gen-api-docs.lua).
--
-- A block sits directly above the definition it documents:
--   --- torch.zeros(size..., opts) -> Tensor
--   -- A tensor filled with zeros. Sizes are varargs or one table; opts: dtype, device, requires_grad.
--   -- Example: torch.zeros(2, 3, {dtype='float64'})
--   function torch.zeros(...)
-- The `---` line is the signature, starting with the qualified name (torch.f, Tensor:f, nn.Linear, ...);
-- several `---` lines give alternative signatures. The `--` lines after it are the text: prose, lines
-- starting with "Example:" and lines indented by two more spaces are code.
--
-- The blocks are parsed lazily, on the first help(), from every Lua file of the installed (or checked-out)
-- tensor package. A function value is mapped back to its names by walking the loaded namespaces (torch, the
-- Tensor methods, nn, optim, data, onnx, dist).
local M = {}

-- ---- parsing ----

-- The qualified name a signature line starts with ("Tensor:size([dim]) -> Size" gives "Tensor:size").
local function signature_name(sig)
  return sig:match('^([%a_][%w_]*[%.:%w_]*)')
end

-- The lookup key of a name: "Tensor:size" and "Tensor.size" are the same.
local function key(name) return (name:gsub(':', '.')) end
M.key = key

-- Parses the doc blocks of a Lua source text. Returns a list of entries
--   { name=, names={...}, signatures={...}, text={lines}, line=<line of the first signature>,
--     def=<the line after> }
-- `name` is the first signature's name; `names` those of all signatures (one block may document several
-- functions, e.g. Tensor:float(), Tensor:double(), ...).
function M.parse(text, file)
  local entries = {}
  local lines = {}
  for line in (text .. '\n'):gmatch('([^\n]*)\n') do lines[#lines + 1] = line end
  local i = 1
  while i <= #lines do
    local sig = lines[i]:match('^%s*%-%-%-%s+(%S.*)$')
    if sig and not lines[i]:match('^%s*%-%-%-%-') and signature_name(sig) then
      local entry = { name = signature_name(sig), names = { signature_name(sig) },
                      signatures = { (sig:gsub('%s+$', '')) }, text = {}, file = file, line = i }
      i = i + 1
      while i <= #lines do
        local more = lines[i]:match('^%s*%-%-%-%s+(%S.*)$')
        if not more or lines[i]:match('^%s*%-%-%-%-') then break end
        entry.signatures[#entry.signatures + 1] = (more:gsub('%s+$', ''))
        local name = signature_name(more)
        if name and name ~= entry.names[#entry.names] then entry.names[#entry.names + 1] = name end
        i = i + 1
      end
      while i <= #lines do
        local l = lines[i]
        if l:match('^%s*%-%-%-') or not l:match('^%s*%-%-') then break end
        local body = l:match('^%s*%-%- ?(.*)$')
        entry.text[#entry.text + 1] = (body:gsub('%s+$', ''))
        i = i + 1
      end
      while #entry.text > 0 and entry.text[#entry.text] == '' do entry.text[#entry.text] = nil end
      entry.def = lines[i]
      entries[#entries + 1] = entry
    else
      i = i + 1
    end
  end
  return entries
end

-- The module name of a file relative to the package root ("nn/linear.lua" -> "tensor.nn.linear").
function M.module_name(rel)
  local name = 'tensor.' .. rel:gsub('%.lua$', ''):gsub('/', '.')
  return (name:gsub('%.init$', ''))
end

-- The summary a module file starts with ("-- tensor.creation: tensors from sizes, ..."), joined over
-- its leading comment lines up to the first blank comment line or code.
function M.module_summary(text)
  local parts = {}
  for line in (text .. '\n'):gmatch('([^\n]*)\n') do
    local body = line:match('^%-%-%s?(.*)$')
    if not body or body:match('^%-') or body == '' then break end
    parts[#parts + 1] = body
  end
  local summary = table.concat(parts, ' ')
  return (summary:gsub('^[%w_%.]+:%s*', ''))
end

-- The directory holding the tensor package (…/tensor), from package.path.
function M.package_dir()
  local init = package.searchpath('tensor', package.path)
  return init and init:match('^(.*)[/\\]init%.lua$')
end

-- Reads and parses every Lua file of the package under `root`. Returns a list of modules
--   { name=, file=<path relative to root>, summary=, entries={...} } sorted by module name.
function M.read_package(root)
  local sys = require 'tensor.shell.sys'
  local modules = {}
  for _, rel in ipairs(sys.find_files(root, '.lua')) do
    local f = io.open(root .. '/' .. rel, 'rb')
    if f then
      local text = f:read('*a')
      f:close()
      modules[#modules + 1] = { name = M.module_name(rel), file = rel, summary = M.module_summary(text),
                                entries = M.parse(text, rel) }
    end
  end
  table.sort(modules, function(a, b) return a.name < b.name end)
  return modules
end

-- ---- the index (built on first use) ----

local index -- key -> entry

local function build_index()
  index = {}
  local root = M.package_dir()
  if not root then return index end
  for _, mod in ipairs(M.read_package(root)) do
    for _, e in ipairs(mod.entries) do
      e.module = mod.name
      e.path = root .. '/' .. e.file
      for _, name in ipairs(e.names) do
        if not index[key(name)] then index[key(name)] = e end
      end
    end
  end
  return index
end

function M.entries()
  return index or build_index()
end

-- Forgets the parsed blocks (the next lookup reads the files again).
function M.reset() index = nil end

-- ---- names of values ----

-- The namespaces walked to name a value: global name -> module.
local roots = {
  { 'torch', 'tensor' }, { 'nn', 'tensor.nn' }, { 'optim', 'tensor.optim' }, { 'data', 'tensor.data' },
  { 'onnx', 'tensor.onnx' }, { 'dist', 'tensor.distributed' },
}

-- value -> list of qualified names, for everything reachable from the loaded namespaces (3 levels deep).
local function name_map()
  local names = {}
  local function note(v, name)
    local list = names[v]
    if not list then list = {}; names[v] = list end
    list[#list + 1] = name
  end
  local function walk(t, prefix, depth, seen)
    if seen[t] then return end
    seen[t] = true
    local keys = {}
    for k in pairs(t) do if type(k) == 'string' and k:match('^[%a_][%w_]*$') then keys[#keys + 1] = k end end
    table.sort(keys)
    for _, k in ipairs(keys) do
      local v = rawget(t, k)
      local name = prefix .. '.' .. k
      if type(v) == 'function' or type(v) == 'table' then note(v, name) end
      if type(v) == 'table' and depth < 3 then walk(v, name, depth + 1, seen) end
    end
  end
  local core = package.loaded['tensor.core']
  if core and core.Tensor then
    local keys = {}
    for k in pairs(core.Tensor) do if type(k) == 'string' then keys[#keys + 1] = k end end
    table.sort(keys)
    for _, k in ipairs(keys) do
      local v = core.Tensor[k]
      if type(v) == 'function' then note(v, 'Tensor:' .. k) end
    end
  end
  local seen = {}
  for _, r in ipairs(roots) do
    local mod = package.loaded[r[2]]
    if type(mod) == 'table' then
      note(mod, r[1])
      walk(mod, r[1], 1, seen)
    end
  end
  return names
end

-- The qualified names under which v is reachable (documented names first).
function M.names_of(v)
  local list = name_map()[v] or {}
  local entries = M.entries()
  local documented, other = {}, {}
  for _, name in ipairs(list) do
    if entries[key(name)] then documented[#documented + 1] = name else other[#other + 1] = name end
  end
  -- Plain names first: nn.Module rather than nn.Linear.__parent.
  local function rank(name)
    local _, parts = name:gsub('[%.:]', '')
    return (name:find('[%.:]_') and 100 or 0) + parts
  end
  local function order(a, b)
    local ra, rb = rank(a), rank(b)
    if ra ~= rb then return ra < rb end
    return a < b
  end
  table.sort(documented, order)
  table.sort(other, order)
  for _, name in ipairs(other) do documented[#documented + 1] = name end
  return documented
end

-- ---- lookup and text ----

-- Entries whose name is, or ends with, `name` (help('zeros') finds torch.zeros).
local function by_name(name)
  local entries = M.entries()
  local exact = entries[key(name)]
  if exact then return { exact } end
  local found, seen = {}, {}
  -- 'x:narrow' or 'nn.whatever.narrow': match on the last part
  local suffix = '.' .. (key(name):match('([^%.]+)$') or key(name))
  for k, e in pairs(entries) do
    if k:sub(-#suffix) == suffix and not seen[e] then
      seen[e] = true
      found[#found + 1] = e
    end
  end
  table.sort(found, function(a, b) return a.name < b.name end)
  return found
end

local function location(fn)
  if type(fn) ~= 'function' then return nil end
  local info = debug.getinfo(fn, 'S')
  if info.what == 'C' then return 'a built-in function' end
  local src = info.source:gsub('^[@=]', '')
  return src .. ':' .. info.linedefined
end

-- The doc entry of a value (a function, class or module) and the names it goes by; the entry is nil
-- when none of the names has a block.
function M.entry_of(v)
  local entries = M.entries()
  local names = M.names_of(v)
  for _, name in ipairs(names) do
    local e = entries[key(name)]
    if e then return e, names end
  end
  -- torch.f(x, ...) is documented as x:f(...), and the other way round.
  for _, name in ipairs(names) do
    local method = name:match('^Tensor[%.:]([%w_]+)$')
    local other = name:match('^torch%.([%w_]+)$') and ('Tensor.' .. name:match('^torch%.([%w_]+)$'))
      or (method and 'torch.' .. method)
    if other and entries[other] then return entries[other], names end
  end
  return nil, names
end

-- The text of one entry, as the shell shows it.
function M.format_entry(e, aliases)
  local out = {}
  for _, s in ipairs(e.signatures) do out[#out + 1] = s end
  out[#out + 1] = ''
  for _, l in ipairs(e.text) do out[#out + 1] = '  ' .. l end
  if #e.text > 0 then out[#out + 1] = '' end
  local others = {}
  local own = {}
  for _, n in ipairs(e.names) do own[key(n)] = true end
  for _, a in ipairs(aliases or {}) do
    if not own[key(a)] then others[#others + 1] = a end
  end
  if #others > 0 then out[#out + 1] = '  Also: ' .. table.concat(others, ', ') end
  out[#out + 1] = '  Defined in ' .. (e.module or '?') .. ' (' .. (e.path or e.file or '?') .. ':' .. e.line .. ')'
  return table.concat(out, '\n')
end

local general = [[
th: the tensor shell. Enter Lua statements or expressions; values are printed.
  help(f), ?f         the documentation of a function or module (?torch.zeros, help 'zeros')
  %time <command>     run a command and show how long it took (th -t times every command)
  =expr               print the value of expr (bare expressions are printed too; _ is the last value)
  who()               the globals defined in this session
  TAB                 complete names, fields, methods (x:<TAB>) and module paths (require '<TAB>)
  Ctrl-C              interrupt the running command, or clear the line being typed
  Ctrl-D              quit (history is kept in ~/.th_history)
A `local` typed at the prompt becomes a global, so that it lasts until the next line.
Preloaded: torch (require 'tensor'), and nn, optim, data when installed.]]

-- The help text for x: a function, a table (module or class), a tensor, or a name given as a string.
function M.text(x)
  if x == nil then return 'help: got nil (no such variable or field?)' end
  if type(x) == 'string' then
    local found = by_name(x)
    if #found == 0 then return 'help: no documentation for ' .. x end
    local parts = {}
    for i, e in ipairs(found) do
      if i > 8 then
        parts[#parts + 1] = '(' .. (#found - 8) .. ' more matches)'
        break
      end
      parts[#parts + 1] = M.format_entry(e)
    end
    return table.concat(parts, '\n\n')
  end
  local core = package.loaded['tensor.core']
  if core and core.is_tensor(x) then
    local methods = {}
    for k, v in pairs(core.Tensor) do
      if type(k) == 'string' and type(v) == 'function' and k:sub(1, 1) ~= '_' then methods[#methods + 1] = k end
    end
    table.sort(methods)
    local summary = tostring(x):match('([^\n]*)$')
    return 'A Tensor ' .. summary .. '. Its ' .. #methods .. ' methods (help(x.name) for one):\n' ..
      table.concat(methods, ' '):gsub('(' .. ('[^ ]+ '):rep(10) .. ')', '%1\n')
  end
  if type(x) ~= 'function' and type(x) ~= 'table' then
    return 'help: expected a function, a module or a name, got ' .. type(x) .. ' ' .. tostring(x)
  end
  local documented = M.entry_of
  local e, names = documented(x)
  if e then return M.format_entry(e, names) end
  -- An object (an nn module, an optimizer): the documentation of its class.
  local mt = type(x) == 'table' and getmetatable(x)
  if type(mt) == 'table' then
    local class = type(rawget(mt, '__index')) == 'table' and rawget(mt, '__index') or mt
    local ce, cnames = documented(class)
    if ce then return M.format_entry(ce, cnames) end
  end
  local where = location(x)
  local name = names[1]
  if type(x) == 'table' then
    -- A namespace: what it holds.
    local fields = {}
    for k, v in pairs(x) do
      if type(k) == 'string' and k:sub(1, 1) ~= '_' and (type(v) == 'function' or type(v) == 'table') then
        fields[#fields + 1] = k
      end
    end
    table.sort(fields)
    if #fields == 0 then return 'help: no documentation for ' .. (name or 'this table') end
    local lines, line = {}, ' '
    for i, f in ipairs(fields) do
      local piece = ' ' .. f .. (i < #fields and ',' or '')
      if #line + #piece > 100 then lines[#lines + 1] = line; line = ' ' end
      line = line .. piece
    end
    lines[#lines + 1] = line
    return (name or 'This table') .. ' holds ' .. #fields .. ' functions and tables (help(' ..
      (name or 't') .. '.name) for one):\n' .. table.concat(lines, '\n')
  end
  if name then
    return 'help: ' .. name .. ' has no documentation' .. (where and ' (defined at ' .. where .. ')' or '')
  end
  return 'help: no documentation for this ' .. type(x) .. (where and ' (defined at ' .. where .. ')' or '')
end

-- The shell's own help (help() with no argument).
M.general = general

-- help(x): prints the documentation of x (see M.text); help() alone explains the shell.
function M.help(...)
  if select('#', ...) == 0 then print(general) else print(M.text((...))) end
end

return M
