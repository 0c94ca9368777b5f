-- The LuaJIT side of the benchmarks: times the named workloads with tensor in this process and prints one
-- result line per workload (see bench/harness.lua). Started by bench/run.lua with the thread count in the
-- environment:  luajit bench/worker.lua THREADS MIN_TIME TRIALS NAMES_FILE
local root = arg[0]:match('^(.*)bench/worker%.lua$') or './'
package.path = root .. 'bench/?.lua;' .. root .. 'lua/?.lua;' .. root .. 'lua/?/init.lua;' .. package.path

local ffi = require 'ffi'
local harness = require 'harness'

local threads, min_time, trials = tonumber(arg[1]), tonumber(arg[2]), tonumber(arg[3])
local names = {}
for line in io.lines(arg[4]) do names[#names + 1] = line end

local torch = require 'tensor'
torch.set_num_threads(threads)

-- Which libtensor.so this process runs, for the report's header.
local maps = io.open('/proc/self/maps'):read('*a')
print('info\tlibrary\t' .. (maps:match('(/%S*libtensor%.so)') or '?'))
print('info\tversion\t' .. torch.version)
io.stdout:flush()

local _, by_name = harness.load_workloads(root)

-- A workload's setup runs once as the body of a chunk whose locals the timed loop sees as upvalues;
-- the loop variable is `i`. GPU work is asynchronous: a timed run ends when the device is done.
local template = [[
local torch, ffi = ...
%s
return function(_n)
  for i = 1, _n do
%s
  end
  %s
end
]]

local function run(e)
  local finish = e.cuda and 'torch.cuda.synchronize()' or ''
  local chunk, err = loadstring(template:format(e.setup or '', e.lua, finish), '=' .. e.name)
  if not chunk then return harness.error_line(e.name, err) end
  local ok, loop = pcall(chunk, torch, ffi)
  if not ok then return harness.error_line(e.name, loop) end
  local median, min, n
  ok, median, min, n = pcall(harness.measure, loop, e.min_time or min_time, trials)
  if not ok then return harness.error_line(e.name, median) end
  return harness.result_line(e.name, median, min, n)
end

for _, name in ipairs(names) do
  print(run(by_name[name]))
  io.stdout:flush()
  -- Drop this workload's tensors before the next one starts. Its compiled traces hold its upvalues (the
  -- tensors of its setup) as constants, so they go first: 80 MB kept alive that way after the memcpy row
  -- raised the live set, and with it the collection threshold, of every row after it.
  jit.flush()
  collectgarbage()
  collectgarbage()
end
