-- test/helpers/tmux.lua: drives a program in a real pseudo-terminal through tmux, for the th shell specs.
--   local tmux = require 'helpers.tmux'
--   local s = tmux.start('bin/th', { env = { HOME = home } })
--   s:type('1 + 1'); s:keys('Enter')
--   s:wait_for('\n2\n')            -- polls the screen until the text appears (or fails with the screen)
--   s:kill()
-- Each session runs on its own tmux server (a private socket), so specs don't touch the user's tmux.
local ffi = require 'ffi'

ffi.cdef [[
int th_tmux_poll(void *fds, unsigned long nfds, int timeout) __asm__("poll");
int th_tmux_getpid(void) __asm__("getpid");
]]

local M = {}

local function sleep_ms(ms) ffi.C.th_tmux_poll(nil, 0, ms) end
M.sleep_ms = sleep_ms

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
M.quote = shell_quote

function M.available()
  return os.execute('command -v tmux >/dev/null 2>&1') == 0
end

local counter = 0

local Session = {}
Session.__index = Session

-- Starts `command` (a shell command line) in a new tmux session. opts: env (table), cwd, width, height.
function M.start(command, opts)
  opts = opts or {}
  counter = counter + 1
  local self = setmetatable({ socket = 'th-spec-' .. ffi.C.th_tmux_getpid() .. '-' .. counter, name = 's' }, Session)
  local env = {}
  for k, v in pairs(opts.env or {}) do env[#env + 1] = k .. '=' .. shell_quote(v) end
  table.sort(env)
  -- The exit status is printed after the program, for wait_exit (tmux can be slow to notice the end).
  -- The shell around the program catches SIGINT (a handler, which exec resets: the program gets the
  -- default disposition) so that a Ctrl-C sent to the program doesn't end the shell.
  local cmd = 'trap : INT; ' .. (opts.cwd and ('cd ' .. shell_quote(opts.cwd) .. ' && ') or '') ..
    'env ' .. table.concat(env, ' ') .. ' ' .. command .. '; echo "[exited $?]"'
  -- remain-on-exit keeps the pane (and its last screen) after the command ends
  local line = string.format('tmux -L %s -f /dev/null new-session -d -s %s -x %d -y %d %s \\; ' ..
                             'set-option -t %s remain-on-exit on',
                             self.socket, self.name, opts.width or 160, opts.height or 50, shell_quote(cmd), self.name)
  assert(os.execute(line) == 0, 'tmux: cannot start a session: ' .. line)
  return self
end

function Session:tmux(args)
  return string.format('tmux -L %s %s', self.socket, args)
end

local function run(cmd)
  local p = assert(io.popen(cmd .. ' 2>&1'))
  local out = p:read('*a')
  p:close()
  return out
end

-- Sends tmux key names ('Enter', 'Tab', 'C-c', 'C-d', 'Up', ...).
function Session:keys(...)
  local names = {}
  for i = 1, select('#', ...) do names[i] = shell_quote((select(i, ...))) end
  run(self:tmux('send-keys -t ' .. self.name .. ' ' .. table.concat(names, ' ')))
end

-- Types text literally (no key-name interpretation).
function Session:type(text)
  run(self:tmux('send-keys -t ' .. self.name .. ' -l ' .. shell_quote(text)))
end

-- Pastes text as a terminal does (bracketed paste, when the program asked for it).
function Session:paste(text)
  local path = os.tmpname()
  local f = assert(io.open(path, 'wb'))
  f:write(text)
  f:close()
  run(self:tmux('load-buffer ' .. shell_quote(path)) .. ' && ' .. self:tmux('paste-buffer -p -t ' .. self.name))
  os.remove(path)
end

-- Types a line and presses Enter.
function Session:line(text)
  self:type(text)
  self:keys('Enter')
end

-- The visible screen and the scrollback, wrapped lines joined.
function Session:screen()
  return run(self:tmux('capture-pane -p -J -S -1000 -t ' .. self.name))
end

-- Whether the program has ended, and its exit status.
function Session:exited()
  local status = self:screen():match('%[exited (%d+)%]')
  return status ~= nil, tonumber(status)
end

-- Polls the screen until `check` (a plain substring, or a function of the screen returning true) holds.
-- Returns the screen; raises an error showing the screen after `timeout` seconds (default 10).
function Session:wait_for(check, timeout)
  local deadline = os.time() + (timeout or 10)
  local screen
  while true do
    screen = self:screen()
    local ok
    if type(check) == 'function' then ok = check(screen) else ok = screen:find(check, 1, true) ~= nil end
    if ok then return screen end
    if screen:find('%[exited %d+%]') then
      error('the program ended while waiting; the screen was:\n' .. screen, 2)
    end
    if os.time() > deadline then
      error(string.format('timed out waiting for %s; the screen was:\n%s', type(check) == 'string'
        and ('%q'):format(check) or 'a condition', screen), 2)
    end
    sleep_ms(50)
  end
end

-- Counts the occurrences of a plain substring on the screen.
function Session:count(text)
  local screen, n, i = self:screen(), 0, 1
  while true do
    local s, e = screen:find(text, i, true)
    if not s then return n end
    n, i = n + 1, e + 1
  end
end

-- Waits until the screen has `n` occurrences of the prompt (so the shell is idle and ready).
function Session:wait_prompts(prompt, n, timeout)
  return self:wait_for(function(screen)
    local count, i = 0, 1
    while true do
      local s, e = screen:find(prompt, i, true)
      if not s then break end
      count, i = count + 1, e + 1
    end
    return count >= n
  end, timeout)
end

-- Waits for the program to end; returns its exit status.
function Session:wait_exit(timeout)
  local deadline = os.time() + (timeout or 10)
  while true do
    local dead, status = self:exited()
    if dead then return status end
    if os.time() > deadline then error('timed out waiting for the program to exit; screen:\n' .. self:screen(), 2) end
    sleep_ms(50)
  end
end

function Session:kill()
  run(self:tmux('kill-server'))
end

return M
