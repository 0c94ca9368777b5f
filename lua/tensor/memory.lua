-- tensor.memory: keeps the Lua collector in step with the C allocator.
--
-- A Tensor costs the Lua collector a few dozen bytes while its storage may hold megabytes, so on its own
-- the collector would let dead tensors pile up. After each allocation we compare the C byte counter with
-- a threshold; past it, a full collection frees every unreachable tensor and the threshold becomes twice
-- what is still live (at least `minimum`). Peak memory thus stays within about twice the live set.
local C = require 'tensor.lib'

local M = {}

local live_bytes = C.tn_memory_live_bytes
local minimum = 64 * 1024 * 1024
local threshold = { [0] = minimum, [1] = minimum }

function M.after_alloc(device_type)
  local live = tonumber(live_bytes(device_type))
  if live > threshold[device_type] then
    collectgarbage('collect')
    live = tonumber(live_bytes(device_type))
    threshold[device_type] = math.max(minimum, 2 * live)
  end
end

-- Lets a backend with less memory (a GPU) lower or raise the floor of the threshold.
function M.set_minimum(bytes)
  minimum = bytes
  for device, value in pairs(threshold) do threshold[device] = math.max(minimum, math.min(value, minimum)) end
end

function M.live(device_type) return tonumber(live_bytes(device_type or 0)) end
function M.peak(device_type) return tonumber(C.tn_memory_peak_bytes(device_type or 0)) end
function M.reset_peak(device_type) C.tn_memory_reset_peak(device_type or 0) end

return M
