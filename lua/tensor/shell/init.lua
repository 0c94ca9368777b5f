-- tensor.shell: the th command. bin/th sets up package.path and calls main(arg).
--
--   th                      interactive shell (on a terminal: line editing, history, completion)
--   th script.lua a b       run a script; arg[0] = 'script.lua', arg[1] = 'a', ...; its exit status is Lua's
--   th -e 'code'            run code; -l name requires a module; -i stays interactive afterwards
-- The globals torch (require 'tensor'), and nn, optim and data when those packages exist, are preloaded.
local source = require 'tensor.shell.source'
local pretty = require 'tensor.shell.pretty'
local sys = require 'tensor.shell.sys'

local M = {}

local usage = [==[
usage: th [options] [script.lua [args...]]
  -e code     run code (a Lua statement)
  -l name     require module name (and set the global of that name)
  -i          enter the interactive shell after running the script or -e code
  -t          show how long each command of the interactive shell takes
  -v          show the version
  -h          show this help
  --          stop handling options
  -           run the script read from stdin
With no script and no -e, th starts the interactive shell. Globals preloaded: torch, and nn, optim and data
when installed. In the shell: help() for help, ?name for the documentation of a function.
Environment: TH_HISTORY (the history file, default ~/.th_history), TH_NO_READLINE=1 (read plain lines),
NO_COLOR (no colours), TENSOR_LIBRARY (the libtensor.so to load).]==]

local function eprint(s)
  io.stdout:flush()
  io.stderr:write(s, '\n')
  io.stderr:flush()
end

-- Errors in red and interruptions in yellow when stderr is a terminal (and NO_COLOR is unset).
local color = sys.isatty(2) and (os.getenv('NO_COLOR') or '') == '' and os.getenv('TERM') ~= 'dumb'
local function paint(s, code)
  if not color then return s end
  return '\27[' .. code .. 'm' .. s .. '\27[0m'
end
local RED, YELLOW = '31', '33'

-- ---- errors and tracebacks ----

-- Frames of the shell itself (and the xpcall that runs user code) are cut from tracebacks.
local function is_shell_frame(line)
  return line:find('tensor/shell/', 1, true) or line:find("in function 'xpcall'", 1, true)
    or line:find('bin/th:', 1, true)
end

-- Frames that say nothing: LuaJIT's built-ins and C functions without a name.
local function is_noise_frame(line)
  return line:find('^%[builtin#%d+%]:') or line:find('^%[C%]: at 0x') or line:find('^%(tail call%)')
end

-- The error handler for user code: returns { message=, traceback={lines} } with the traceback cut at the
-- first frame of the shell. A short traceback keeps its first 6 and last 6 frames.
local function capture_error(err)
  local message
  if type(err) == 'string' then
    message = err
  elseif type(err) == 'table' and not (getmetatable(err) and getmetatable(err).__tostring) then
    message = pretty.format(err)
  else
    message = tostring(err)
  end
  local lines = {}
  for line in debug.traceback('', 2):gmatch('[^\n]+') do
    line = line:gsub('^%s+', '')
    if line ~= 'stack traceback:' then
      if is_shell_frame(line) then break end
      if not is_noise_frame(line) then lines[#lines + 1] = line end
    end
  end
  -- The error()/assert() call itself is noise.
  if lines[1] and (lines[1] == "[C]: in function 'error'" or lines[1] == "[C]: in function 'assert'") then
    table.remove(lines, 1)
  end
  if #lines > 12 then
    local short = {}
    for i = 1, 6 do short[#short + 1] = lines[i] end
    short[#short + 1] = '... (' .. (#lines - 12) .. ' frames)'
    for i = #lines - 5, #lines do short[#short + 1] = lines[i] end
    lines = short
  end
  return { message = message, traceback = lines, raw = err }
end

-- "interrupted (Ctrl-C) at stdin:3", on a new line when the terminal has echoed ^C.
local function interrupted_message(raw)
  local where = type(raw) == 'string' and raw:match('^(.-):? ?interrupted$') or ''
  return (sys.isatty(0) and '\n' or '') .. 'interrupted (Ctrl-C)' .. (where ~= '' and ' at ' .. where or '')
end

local function format_error(e, always_traceback)
  local out = { e.message }
  -- A lone "in main chunk" frame adds nothing to the message.
  local useful = #e.traceback > 1 or (e.traceback[1] and not e.traceback[1]:find('in main chunk'))
  if always_traceback or useful then
    out[#out + 1] = 'stack traceback:'
    for _, l in ipairs(e.traceback) do out[#out + 1] = '\t' .. l end
  end
  return table.concat(out, '\n')
end

local function pack(...) return select('#', ...), { ... } end

-- Runs f under xpcall with capture_error. Returns true, n, results or false, error.
local function run(f, ...)
  local args = { n = select('#', ...), ... }
  local function call() return f(unpack(args, 1, args.n)) end
  local n, r = pack(xpcall(call, capture_error))
  if r[1] then return true, n - 1, { unpack(r, 2, n) } end
  return false, r[2]
end

-- ---- preloading ----

-- The packages preloaded as globals besides torch.
M.preloaded = { { 'nn', 'tensor.nn' }, { 'optim', 'tensor.optim' }, { 'data', 'tensor.data' } }

-- Requires each {global, module} of list into _G. A module that does not exist is skipped silently; one
-- that exists but fails to load (including through a missing module of its own) is reported: returns
-- the list of warnings.
function M.preload_globals(list)
  local warnings = {}
  for _, p in ipairs(list) do
    local name, module = p[1], p[2]
    local loaded, value = pcall(require, module)
    if loaded then
      _G[name] = value
    elseif not tostring(value):find("^module '" .. module:gsub('%p', '%%%0') .. "' not found") then
      warnings[#warnings + 1] = module .. ' failed to load: ' .. tostring(value)
    end
  end
  return warnings
end

local function preload()
  local ok, torch = pcall(require, 'tensor')
  if not ok then
    eprint('th: cannot load the tensor package: ' .. tostring(torch))
    os.exit(1)
  end
  _G.torch = torch
  for _, w in ipairs(M.preload_globals(M.preloaded)) do eprint('th: warning: ' .. w) end
end

-- ---- the interactive shell ----

local function format_time(seconds)
  if seconds < 1e-3 then return string.format('%.1f us', seconds * 1e6) end
  if seconds < 1 then return string.format('%.3f ms', seconds * 1e3) end
  return string.format('%.3f s', seconds)
end

local Shell = {}
Shell.__index = Shell

-- Compiles one input. Returns f (a function), or nil, 'incomplete', or nil, 'error', message.
local function compile(code)
  if code:sub(1, 1) == '=' then code = 'return ' .. code:sub(2) end
  -- An expression is passed as arguments, not returned: `return f()` would be a tail call, and the
  -- frame of the input would be missing from error positions and tracebacks.
  local f = load('return (function(...) return ... end)(' .. code .. '\n)', '=stdin')
  if f then return f end
  local globalized = source.globalize_locals(code)
  local err
  f, err = load(globalized, '=stdin')
  if f then return f end
  local f2, err2 = load(code, '=stdin')
  if f2 then return f2 end
  if err2:find("<eof>'?$") or err:find("<eof>'?$") then return nil, 'incomplete' end
  return nil, 'error', err2
end
M.compile = compile

-- Evaluates one complete input (which may span lines). Returns 'incomplete' when it needs more lines.
function Shell:eval(chunk, opts)
  opts = opts or {}
  local code = chunk:match('^%s*(.-)%s*$')
  if code == '' then return 'done' end
  -- shell commands
  if code:sub(1, 1) == '?' then return self:help_command(code:sub(2)) end
  local timed = self.time_all
  local cmd, rest = code:match('^%%(%a+)%s*(.*)$')
  if cmd then
    if cmd ~= 'time' then
      eprint('th: unknown command %' .. cmd .. ' (the shell knows %time)')
      self.failures = self.failures + 1
      return 'done'
    end
    code, timed = rest, true
    if code == '' then return 'done' end
  end
  local f, status, err = compile(code)
  if not f then
    if status == 'incomplete' and not opts.final then return 'incomplete' end
    eprint(paint(err or status, RED))
    self.failures = self.failures + 1
    return 'done'
  end
  local interrupt = self.interrupt
  local t0 = sys.clock()
  if interrupt then interrupt.arm() end
  local ok, n, results = run(f)
  if interrupt then interrupt.disarm() end
  local elapsed = sys.clock() - t0
  if ok then
    if n > 0 then
      _G._ = results[1]
      local okp, text = pcall(pretty.format_all, n, results)
      print(okp and text or ('<cannot print the result: ' .. tostring(text) .. '>'))
    end
  else
    local e = n
    if interrupt and interrupt.is_interrupt(e.raw) then
      eprint(paint(interrupted_message(e.raw), YELLOW))
    else
      eprint(paint(format_error(e), RED))
    end
    self.failures = self.failures + 1
  end
  if timed then print('time: ' .. format_time(elapsed)) end
  io.stdout:flush()
  return 'done'
end

-- ?expr: the documentation of expr; ? alone: how to use the shell.
function Shell:help_command(expr)
  local doc = require 'tensor.doc'
  expr = expr:match('^%s*(.-)%s*$')
  if expr == '' then print(doc.general) return 'done' end
  local name = expr:gsub(':', '.')
  local f = load('return ' .. name, '=stdin')
  local ok, value = false, nil
  if f then ok, value = pcall(f) end
  if ok and value ~= nil then
    print(doc.text(value))
  elseif name:match('^[%a_][%w_%.]*$') then
    print(doc.text(name)) -- not a value in scope: look the name up in the documentation
  else
    eprint('help: cannot evaluate ' .. expr)
  end
  return 'done'
end

local function banner(mode_note)
  local torch = _G.torch
  local loaded = { 'torch' }
  for _, n in ipairs({ 'nn', 'optim', 'data' }) do if _G[n] then loaded[#loaded + 1] = n end end
  print(string.format('tensor %s on %s. Preloaded: %s.', tostring(torch and torch.version or '?'), jit.version,
                      table.concat(loaded, ', ')))
  print('Type help() for help, ?torch.zeros for a function\'s documentation, Ctrl-D to quit.')
  if mode_note then print('(' .. mode_note .. ')') end
end

-- Runs the interactive shell until end of input. Returns the number of commands that failed.
function M.repl(opts)
  opts = opts or {}
  local lineedit = require 'tensor.shell.lineedit'
  local complete = require 'tensor.shell.complete'
  local doc = require 'tensor.doc'
  local self = setmetatable({ failures = 0, time_all = opts.time }, Shell)
  _G.help = doc.help
  -- who(): the globals this session defined (those present at start are torch, nn, ..., Lua's own)
  local at_start = {}
  for k in pairs(_G) do at_start[k] = true end
  at_start.who, at_start._ = true, true
  _G.who = function()
    local names = {}
    for k in pairs(_G) do
      if type(k) == 'string' and not at_start[k] then names[#names + 1] = k end
    end
    table.sort(names)
    if #names == 0 then print('(no globals defined in this session)') return end
    local width = 0
    for _, k in ipairs(names) do width = math.max(width, #k) end
    for _, k in ipairs(names) do print(string.format('%-' .. width .. 's  %s', k, pretty.describe(_G[k]))) end
  end

  local interrupt = require 'tensor.shell.interrupt'
  local installed, why = interrupt.install()
  if installed then
    self.interrupt = interrupt
  elseif sys.isatty(0) then
    eprint('th: Ctrl-C will end the shell: ' .. tostring(why))
  end

  local home = os.getenv('HOME')
  local history = (os.getenv('TH_HISTORY') ~= nil and os.getenv('TH_HISTORY') ~= '') and os.getenv('TH_HISTORY')
    or (home and home .. '/.th_history')
  local mode, note = lineedit.init({
    history = history,
    interrupt = self.interrupt,
    complete = function(before, word) return complete.complete(before, word, _G) end,
  })
  if lineedit.tty and not opts.quiet then banner(note) end

  local buffer
  while true do
    local line = lineedit.read(buffer and '..> ' or 'th> ')
    if line == false then
      buffer = nil -- Ctrl-C: drop the input typed so far
    elseif line == nil then
      if buffer then self:eval(buffer, { final = true }) end
      break
    else
      -- A paste of several lines arrives as one (readline's bracketed paste): its lines are taken one
      -- by one, as if typed.
      for piece in (line .. '\n'):gmatch('([^\n]*)\n') do
        if mode == 'readline' then lineedit.add_history(piece) end
        local chunk = buffer and (buffer .. '\n' .. piece) or piece
        if self:eval(chunk) == 'incomplete' then buffer = chunk else buffer = nil end
      end
    end
  end
  lineedit.close()
  if self.interrupt then interrupt.uninstall() end
  return self.failures
end

-- ---- the command line ----

local function parse_args(argv)
  local o = { actions = {}, script_args = {} }
  local i = 1
  while i <= #argv do
    local a = argv[i]
    if a == '--' then
      i = i + 1
      break
    elseif a == '-' or a:sub(1, 1) ~= '-' then
      break
    elseif a == '-e' or a == '-l' then
      local v = argv[i + 1]
      if not v then return nil, "option '" .. a .. "' needs an argument" end
      o.actions[#o.actions + 1] = { a, v }
      i = i + 2
    elseif a:match('^%-[el].') then
      o.actions[#o.actions + 1] = { a:sub(1, 2), a:sub(3) }
      i = i + 1
    elseif a == '-i' then
      o.interactive = true
      i = i + 1
    elseif a == '-t' then
      o.time = true
      i = i + 1
    elseif a == '-v' or a == '--version' then
      o.version = true
      i = i + 1
    elseif a == '-h' or a == '--help' then
      o.help = true
      i = i + 1
    else
      return nil, "unrecognized option '" .. a .. "'"
    end
  end
  o.first_script_index = i
  if argv[i] then
    o.script = argv[i]
    for j = i + 1, #argv do o.script_args[#o.script_args + 1] = argv[j] end
  end
  return o
end
M.parse_args = parse_args

-- The global `arg` of a script, as the lua command builds it: arg[0] is the script, arg[1..] its
-- arguments, arg[-1..] th's own options and, lowest, th itself.
local function script_arg_table(argv, o)
  local t = {}
  local base = o.first_script_index
  for j = 0, #argv do
    if argv[j] ~= nil then t[j - base] = argv[j] end
  end
  if not o.script then
    t = {}
    for j = 0, #argv do t[j - #argv - 1] = argv[j] end
    t[0] = nil
  end
  return t
end

-- Runs th with the command line argv (bin/th's arg). Returns the exit status.
function M.main(argv)
  local o, err = parse_args(argv)
  if not o then
    eprint('th: ' .. err .. '\n' .. usage)
    return 1
  end
  if o.help then print(usage) return 0 end
  preload()
  if o.version then
    print('tensor ' .. tostring(_G.torch.version) .. ' (' .. jit.version .. ')')
    return 0
  end
  _G.arg = script_arg_table(argv, o)

  local interactive_after = o.interactive or (not o.script and #o.actions == 0)
  local interrupt
  if o.interactive then
    -- With -i, Ctrl-C stops the script or -e code and lands in the shell.
    interrupt = require 'tensor.shell.interrupt'
    if interrupt.install() then interrupt.arm() else interrupt = nil end
  end
  local function finish(status)
    if interrupt then interrupt.disarm() end
    return status
  end

  for _, act in ipairs(o.actions) do
    local ok, e
    if act[1] == '-e' then
      local f, cerr = load(act[2], '=(command line)')
      if not f then eprint('th: ' .. cerr) return finish(1) end
      ok, e = run(f)
    else
      local name = act[2]
      local global, module = name:match('^([%a_][%w_]*)=(.+)$')
      module = module or name
      global = global or (module:match('^[%a_][%w_]*$') and module)
      ok, e = run(function()
        local value = require(module)
        if global then _G[global] = value end
      end)
    end
    if not ok then
      eprint('th: ' .. format_error(e, true))
      if not o.interactive then return finish(1) end
    end
  end

  if o.script then
    local f, cerr
    if o.script == '-' then
      f, cerr = load((io.read('*a'):gsub('^#![^\n]*', '')), '=stdin')
    else
      f, cerr = loadfile(o.script)
    end
    if not f then
      eprint('th: ' .. cerr)
      return finish(1)
    end
    local t0 = sys.clock()
    local ok, e = run(f, unpack(o.script_args))
    if o.time then eprint(string.format('th: %s ran in %s', o.script, format_time(sys.clock() - t0))) end
    if not ok then
      if interrupt and interrupt.is_interrupt(e.raw) then
        eprint(interrupted_message(e.raw))
      else
        eprint('th: ' .. format_error(e, true))
      end
      if not o.interactive then return finish(1) end
    end
  end
  finish(0)

  if interactive_after then
    local failures = M.repl({ time = o.time })
    -- On a terminal the shell's exit status is 0; fed from a pipe, it is 1 when a command failed.
    if failures > 0 and not sys.isatty(0) then return 1 end
  end
  return 0
end

return M
