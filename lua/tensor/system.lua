-- tensor.system: version, threads, configuration summary, memory counters, and torch.cuda's entry points.
local ffi = require 'ffi'
local core = require 'tensor.core'
local memory = require 'tensor.memory'
local cuda_device = require 'tensor.cuda_device'
local openblas_env = require 'tensor.openblas_env'

local C, torch = core.C, core.torch

torch.version = '0.1.0'
torch.__version__ = torch.version

function torch.set_num_threads(n)
  if type(n) ~= 'number' or n < 1 or n ~= math.floor(n) then
    error('set_num_threads: expected a positive integer, got ' .. tostring(n), 2)
  end
  C.tn_set_num_threads(n)
end
function torch.get_num_threads() return C.tn_get_num_threads() end

-- CPU memory held by tensors, from the allocator's counter.
torch.memory = {
  allocated = function() return memory.live(0) end,
  max_allocated = function() return memory.peak(0) end,
  reset_peak = function() memory.reset_peak(0) end,
}

function torch.config()
  local cuda_ok, cuda_reason = cuda_device.probe()
  local lines = {
    'tensor ' .. torch.version,
    'BLAS: ' .. ffi.string(C.tn_blas_info()),
    'OPENBLAS_CORETYPE: ' .. tostring(openblas_env.chosen or 'unset') .. ' (' .. tostring(openblas_env.reason) .. ')',
    'threads: ' .. torch.get_num_threads(),
    'CUDA: ' .. (cuda_ok and 'available' or ('not available (' .. tostring(cuda_reason) .. ')')),
  }
  return table.concat(lines, '\n')
end

torch.cuda = torch.cuda or {}
function torch.cuda.is_available() return (cuda_device.probe()) end
function torch.cuda.device_count()
  if not cuda_device.probe() then return 0 end
  return require('tensor.cuda_backend').device_count()
end

return {}
