-- tensor.shell.interrupt: Ctrl-C stops the running command, not the shell.
--
-- LuaJIT can't run Lua code in a signal handler, so a C handler (lib/shell_signal.c) only counts SIGINTs.
-- Two things bring the count to Lua code:
--  * a debug count hook, set while a command runs, raises the 'interrupted' error when it finds the count
--    nonzero. Hooks only run in the interpreter, never inside JIT-compiled traces, so
--  * LuaJIT's sampling profiler (jit.profile, line mode) runs for the whole session: traces compiled under
--    it check a profiler flag at each line, and every 50 ms of CPU time the timer makes them exit to the
--    interpreter and call our sampler. When a SIGINT is pending, the sampler drops the hook's count to 1,
--    so the hook fires on the very next bytecode of the command.
-- Without jit.profile (LuaJIT 2.0) the hook polls every 1000 instructions and a Ctrl-C can't stop a
-- compiled loop. While user code runs a profiler of its own, ours is replaced and the same holds.
-- Costs: the count hook slows code the JIT does not compile (by about a third; compiled code runs as
-- fast as without it), and the profiler's timer signal may cut short sleeps in user code (nanosleep and
-- poll return early on a signal). Both only in the interactive shell, never for `th script.lua`.
local ffi = require 'ffi'

local M = { message = 'interrupted' }

local C
local profile_ok, profile = pcall(require, 'jit.profile')
local poll_count = profile_ok and 1e9 or 1000
local sampler_thread
local installed = false

local function hook()
  local thread = coroutine.running()
  if thread ~= nil and thread == sampler_thread then return end
  if C.tn_sigint_pending() > 0 then
    C.tn_sigint_clear()
    debug.sethook(hook, '', poll_count)
    error(M.message, 2)
  end
end

local function sampler()
  sampler_thread = coroutine.running()
  if C.tn_sigint_pending() > 0 then debug.sethook(hook, '', 1) end
end

-- Installs the SIGINT handler and starts the sampler. Returns true, or false and why not.
function M.install()
  if installed then return true end
  local ok, lib = pcall(function() return require('tensor.core').C end)
  if not ok then return false, lib end
  ok = pcall(function() return lib.tn_sigint_install end)
  if not ok then return false, 'this libtensor has no tn_sigint_install (rebuild it)' end
  C = lib
  if C.tn_sigint_install() ~= 0 then return false, ffi.string(C.tn_last_error()) end
  if profile_ok then profile.start('li50', sampler) end
  installed = true
  return true
end

function M.uninstall()
  if not installed then return end
  if profile_ok then profile.stop() end
  C.tn_sigint_uninstall()
  installed = false
end

function M.installed() return installed end

-- The number of Ctrl-Cs since the last clear (0 when not installed).
function M.pending() return installed and C.tn_sigint_pending() or 0 end
function M.clear() if installed then C.tn_sigint_clear() end end

-- Arms the hook for the command about to run: from now on a Ctrl-C raises M.message inside it.
function M.arm()
  if not installed then return end
  C.tn_sigint_clear()
  debug.sethook(hook, '', poll_count)
end

-- Removes the hook once the command has ended (the shell's own code runs without it).
function M.disarm()
  if not installed then return end
  debug.sethook()
end

-- Whether an error value is the interruption raised by the hook.
function M.is_interrupt(err)
  return type(err) == 'string' and (err == M.message or err:sub(-#M.message - 2) == ': ' .. M.message)
end

return M
