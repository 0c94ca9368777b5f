-- tensor.system: version, threads, configuration summary, memory counters, and torch.cuda's entry points.
local ffi = require 'ffi'
local core = require 'tensor.core'
local memory = require 'tensor.memory'
local cuda_device = require 'tensor.cuda_device'
local openblas_env = require 'tensor.openblas_env'

local C, torch = core.C, core.torch

torch.version = '0.1.0'
torch.__version__ = torch.version

--- torch.set_num_threads(n)
-- The number of threads the CPU kernels and the BLAS library use (a positive integer).
function torch.set_num_threads(n)
  if type(n) ~= 'number' or n < 1 or n ~= math.floor(n) then
    error('set_num_threads: expected a positive integer, got ' .. tostring(n), 2)
  end
  C.tn_set_num_threads(n)
end
--- torch.get_num_threads() -> number
-- The number of threads the CPU kernels use.
function torch.get_num_threads() return C.tn_get_num_threads() end

-- CPU memory held by tensors, from the allocator's counter.
torch.memory = {
  --- torch.memory.allocated() -> number
  -- The bytes of CPU memory tensors hold now (the allocator's counter).
  allocated = function() return memory.live(0) end,
  --- torch.memory.max_allocated() -> number
  -- The most bytes of CPU memory tensors held at once, since the start or torch.memory.reset_peak().
  max_allocated = function() return memory.peak(0) end,
  --- torch.memory.reset_peak()
  -- Restarts torch.memory.max_allocated() from the current allocation.
  reset_peak = function() memory.reset_peak(0) end,
}

--- torch.config() -> string
-- A readable summary of the build and the machine: version, BLAS library and its CPU kernel, threads,
-- whether CUDA is available.
-- Example: print(torch.config())
function torch.config()
  local cuda_ok, cuda_reason = cuda_device.probe()
  local lines = {
    'tensor ' .. torch.version,
    'BLAS: ' .. ffi.string(C.tn_blas_info()),
    'OPENBLAS_CORETYPE: ' .. tostring(openblas_env.chosen or 'unset') .. ' (' .. tostring(openblas_env.reason) .. ')',
    'threads: ' .. torch.get_num_threads() .. (#openblas_env.thread_settings > 0 and
      ' (one pool; set at load: ' .. table.concat(openblas_env.thread_settings, ' ') .. ')' or ' (one pool)'),
    'CUDA: ' .. (cuda_ok and 'available' or ('not available (' .. tostring(cuda_reason) .. ')')),
  }
  return table.concat(lines, '\n')
end

torch.cuda = torch.cuda or {}

--- torch.cuda.is_available() -> boolean
-- True when the CUDA backend was built and a device is present.
function torch.cuda.is_available() return (cuda_device.probe()) end

--- torch.cuda.device_count() -> number
function torch.cuda.device_count()
  if not cuda_device.probe() then return 0 end
  return require('tensor.cuda_backend').device_count()
end

-- The remaining functions need a device: without one they raise, naming the reason.
local function backend(fn)
  local ok, reason = cuda_device.probe()
  if not ok then core.raise(string.format('torch.cuda.%s: CUDA is not available: %s', fn, tostring(reason))) end
  return require('tensor.cuda_backend')
end

--- torch.cuda.set_device(index)
-- Makes device `index` (0-based, as in PyTorch) the current one.
function torch.cuda.set_device(index) return backend('set_device').set_device(index) end
--- torch.cuda.current_device() -> number
function torch.cuda.current_device() return backend('current_device').current_device() end
--- torch.cuda.synchronize()
-- Waits for every queued operation of the current device.
function torch.cuda.synchronize() return backend('synchronize').synchronize() end
--- torch.cuda.memory_allocated() -> number
-- Bytes of device memory held by tensors.
function torch.cuda.memory_allocated() return backend('memory_allocated').memory_allocated() end
--- torch.cuda.max_memory_allocated() -> number
function torch.cuda.max_memory_allocated() return backend('max_memory_allocated').max_memory_allocated() end
--- torch.cuda.memory_reserved() -> number
-- Bytes the caching allocator holds, in use or cached.
function torch.cuda.memory_reserved() return backend('memory_reserved').memory_reserved() end
--- torch.cuda.empty_cache()
-- Returns cached device memory to the driver.
function torch.cuda.empty_cache() return backend('empty_cache').empty_cache() end
--- torch.cuda.manual_seed(seed) / torch.cuda.manual_seed_all(seed)
-- Seeds the CUDA generators; like PyTorch, silently ignored when CUDA is not available.
function torch.cuda.manual_seed(seed)
  if cuda_device.probe() then require('tensor.cuda_backend').manual_seed_all(seed) end
end
torch.cuda.manual_seed_all = torch.cuda.manual_seed

return {}
