-- tensor.data.progress: a Torch7 xlua.progress-style bar with count, rate and ETA.
--   for i = 1, n do ...; data.progress(i, n) end
local M = {}

local ffi = require 'ffi'

local state = { start = nil, last_draw = 0, n = nil }
local width = 40

-- a private name for libc's clock_gettime, so this declaration cannot clash with other modules' own
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } tn_progress_timespec;
int tn_progress_clock_gettime(int clock, tn_progress_timespec *ts) __asm__("clock_gettime");
]]
local timespec = ffi.new('tn_progress_timespec')
local CLOCK_MONOTONIC = 1
local function now()
  ffi.C.tn_progress_clock_gettime(CLOCK_MONOTONIC, timespec)
  return tonumber(timespec.tv_sec) + tonumber(timespec.tv_nsec) * 1e-9
end

local function format_time(s)
  if s ~= s or s == math.huge then return '?' end
  if s < 1 then return string.format('%dms', math.floor(s * 1000)) end
  if s < 60 then return string.format('%.1fs', s) end
  if s < 3600 then return string.format('%dm%02ds', math.floor(s / 60), math.floor(s % 60)) end
  return string.format('%dh%02dm', math.floor(s / 3600), math.floor(s % 3600 / 60))
end

--- data.progress(i, n, [message])
-- Draws a progress bar for step i of n (redrawn at most ten times a second, and at the end).
function M.progress(i, n, message)
  local t = now()
  if state.start == nil or state.n ~= n or i < (state.i or 0) then
    state.start, state.n, state.last_draw = t, n, 0
  end
  state.i = i
  if i < n and t - state.last_draw < 0.1 then return end
  state.last_draw = t
  local elapsed = t - state.start
  local rate = i > 0 and elapsed > 0 and i / elapsed or 0
  local eta = rate > 0 and (n - i) / rate or math.huge
  local done = math.floor(width * i / n)
  local bar = string.rep('=', math.max(done - 1, 0)) .. (done > 0 and (i < n and '>' or '=') or '') ..
    string.rep('.', width - done)
  local line = string.format(' [%s] %d/%d %s | %.1f it/s %s', bar, i, n,
    i < n and ('ETA ' .. format_time(eta)) or ('Tot ' .. format_time(elapsed)), rate, message or '')
  io.stdout:write('\r', line)
  if i >= n then
    io.stdout:write('\n')
    state.start = nil
  end
  io.stdout:flush()
end

return M
