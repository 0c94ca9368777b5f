-- bench.harness: what the driver (bench/run.lua) and the LuaJIT worker (bench/worker.lua) share: the
-- workload files, selection by filters, the timing loop, and the worker's output format.
local ffi = require 'ffi'

local M = {}

ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *ts);
]]
local CLOCK_MONOTONIC = 1
local ts = ffi.new('bench_timespec')

-- Seconds on the monotonic clock.
function M.now()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

-- Every workload of bench/workloads/*.lua, in file order then entry order. Each entry gets `group` (its
-- file's name unless it sets one). Raises on a malformed entry or a duplicate name.
function M.load_workloads(root)
  local dir = root .. 'bench/workloads/'
  local files = {}
  local ls = assert(io.popen('ls "' .. dir .. '"'))
  for f in ls:lines() do
    if f:match('%.lua$') then files[#files + 1] = f end
  end
  ls:close()
  table.sort(files)
  local list, by_name = {}, {}
  for _, f in ipairs(files) do
    local entries = dofile(dir .. f)
    for k, e in ipairs(entries) do
      local where = f .. ' entry ' .. k
      assert(type(e.name) == 'string' and e.name ~= '', where .. ': needs a name')
      assert(type(e.lua) == 'string', where .. ' (' .. e.name .. '): needs `lua` code')
      assert(not by_name[e.name], where .. ': duplicate workload name ' .. e.name)
      e.group = e.group or f:gsub('%.lua$', '')
      e.file = f
      list[#list + 1] = e
      by_name[e.name] = e
    end
  end
  for _, e in ipairs(list) do
    assert(e.baseline == nil or by_name[e.baseline], e.name .. ': unknown baseline ' .. tostring(e.baseline))
  end
  return list, by_name
end

-- The workloads whose name, group or file name contains one of the filters (plain text, case-insensitive);
-- all when there are none. GPU workloads (`cuda = true`) need a GPU on both sides and run only when a filter
-- that says "cuda" selects them (`luajit bench/run.lua cuda`, or 'cuda softmax' for one row), so that a filter
-- such as `train` on a machine without a GPU picks the CPU rows alone.
function M.select(list, filters)
  local chosen = {}
  if #filters == 0 then
    for _, e in ipairs(list) do
      if not e.cuda then chosen[#chosen + 1] = e end
    end
    return chosen
  end
  for _, e in ipairs(list) do
    local name, group, file = e.name:lower(), e.group:lower(), e.file:lower()
    for _, f in ipairs(filters) do
      f = f:lower()
      local allowed = not e.cuda or f:find('cuda', 1, true)
      if allowed and (name:find(f, 1, true) or group:find(f, 1, true) or file:find(f, 1, true)) then
        chosen[#chosen + 1] = e
        break
      end
    end
  end
  return chosen
end

-- Times loop(n), which runs a workload's body n times. Warms up while calibrating n so that one run takes
-- at least min_time seconds, then runs `trials` runs of n iterations. Returns the median and the minimum
-- seconds per iteration, and n.
function M.measure(loop, min_time, trials)
  local now = M.now
  local n = 1
  while true do
    local t0 = now()
    loop(n)
    local elapsed = now() - t0
    if elapsed >= min_time then break end
    local grow = elapsed > 0 and 1.2 * min_time / elapsed or 10
    n = math.ceil(n * math.max(2, math.min(10, grow)))
  end
  local times = {}
  for k = 1, trials do
    local t0 = now()
    loop(n)
    times[k] = (now() - t0) / n
  end
  table.sort(times)
  local median = trials % 2 == 1 and times[(trials + 1) / 2] or (times[trials / 2] + times[trials / 2 + 1]) / 2
  return median, times[1], n
end

-- The worker's output lines (tab-separated; messages on one line).
function M.result_line(name, median, min, n)
  return string.format('ok\t%s\t%.6e\t%.6e\t%d', name, median, min, n)
end
function M.error_line(name, message)
  return 'error\t' .. name .. '\t' .. tostring(message):gsub('[\t\r\n]+', ' ')
end

return M
