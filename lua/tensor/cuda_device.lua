-- tensor.cuda_device: whether CUDA can be used, and the checks for 'cuda' device arguments, on the C functions
-- of lib/cuda_loader.c. The CUDA backend (libtensor_cuda.so, next to libtensor.so) is loaded on first use;
-- without it, or without a device, CUDA is unavailable and the reason says why.
local ffi = require 'ffi'
local core = require 'tensor.core'

local C = core.C
local M = {}

local available -- nil until probed; the C side loads the library once and keeps its answer

-- available (boolean), reason (string: why not, or the runtime and devices when available).
function M.probe()
  if available == nil then available = C.tn_cuda_available() == 1 end
  return available, ffi.string(C.tn_cuda_status())
end

-- The current device's index (0 without CUDA).
function M.current_device()
  if not M.probe() then return 0 end
  return C.tn_cuda_current_device()
end

-- (device_type, index) for a 'cuda' device argument of fn, or an error naming the reason CUDA is unavailable
-- or the valid indices.
function M.require_device(fn, index)
  local ok, reason = M.probe()
  if not ok then core.raise(string.format('%s: CUDA is not available: %s', fn, reason)) end
  local count = C.tn_cuda_device_count()
  if type(index) ~= 'number' or index < 0 or index >= count or index ~= math.floor(index) then
    core.raise(string.format('%s: invalid CUDA device %s (this machine has %d: cuda:0 to cuda:%d)', fn,
      tostring(index), count, count - 1))
  end
  return 1, index
end

return M
