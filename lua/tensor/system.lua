-- tensor.system: version, threads, configuration summary, memory counters, and torch.cuda's entry points.
local ffi = require 'ffi'
local core = require 'tensor.core'
local memory = require 'tensor.memory'
local cuda_device = require 'tensor.cuda_device'
local openblas_env = require 'tensor.openblas_env'
local args = require 'tensor.args'

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
  --- torch.memory.set_collection_budget(bytes)
  -- How many bytes of new CPU tensors may be made, beyond what the last collection left live, before the next
  -- collection frees the dead ones (at least this; more with a large Lua heap or live set). 32 MiB by default.
  -- A larger budget means fewer collections and a higher peak; a smaller one brings dead tensors' memory back
  -- sooner, while the cache may still hold it. Which is faster depends on the machine's last-level cache: on a
  -- VM whose cache kept less than 32 MiB of results, 128 MiB ran element-wise ops on 16 to 10^5 floats 10-25%
  -- faster (bench/RESULTS.md).
  -- Example: torch.memory.set_collection_budget(128 * 2^20)
  set_collection_budget = function(bytes)
    if type(bytes) ~= 'number' or bytes < 1 or bytes ~= math.floor(bytes) or bytes >= 2^53 then
      error('torch.memory.set_collection_budget: expected a positive whole number of bytes, got ' .. tostring(bytes), 2)
    end
    memory.set_minimum(0, bytes)
  end,
  --- torch.memory.collection_budget() -> number
  -- The bytes set by torch.memory.set_collection_budget (32 MiB by default).
  collection_budget = function() return memory.minimum(0) end,
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
    'CUDA: ' .. (cuda_ok and ('available: ' .. cuda_reason) or ('not available (' .. tostring(cuda_reason) .. ')')),
  }
  return table.concat(lines, '\n')
end

torch.cuda = torch.cuda or {}

--- torch.cuda.is_available() -> boolean, string
-- True when the CUDA backend (libtensor_cuda.so) was built and a device is present. The second result says
-- why not (no library, no driver, no device), or names the runtime and the devices.
-- Example: if torch.cuda.is_available() then x = x:cuda() end
function torch.cuda.is_available() return cuda_device.probe() end

--- torch.cuda.device_count() -> number
-- The number of CUDA devices (0 without CUDA).
function torch.cuda.device_count() return C.tn_cuda_device_count() end

-- A device argument (an index counted from 0, 'cuda:N', or nil for the current device) as an index; the
-- functions below raise, naming the reason, when CUDA is not available.
local function device_index(fn, device)
  if device == nil then return -1 end
  if type(device) == 'string' then
    local _, index = args.device('torch.cuda.' .. fn, device)
    return index
  end
  if type(device) ~= 'number' then
    core.raise(string.format('torch.cuda.%s: expected a device index or name, got %s', fn, type(device)))
  end
  return device
end

--- torch.cuda.set_device(index)
-- Makes device `index` (counted from 0, as in PyTorch) the current one: where 'cuda' and x:cuda() put tensors.
function torch.cuda.set_device(index)
  core.check(C.tn_cuda_set_device(device_index('set_device', index)))
end
--- torch.cuda.current_device() -> number
-- The index of the current device.
function torch.cuda.current_device()
  local index = C.tn_cuda_current_device()
  if index < 0 then core.c_error() end
  return index
end
--- torch.cuda.synchronize(device)
-- Waits until every operation queued on the device (default: the current one) has finished. Operations on
-- CUDA tensors run asynchronously; only reading values to the host (x:item(), x:cpu(), printing) waits.
function torch.cuda.synchronize(device)
  core.check(C.tn_cuda_synchronize(device_index('synchronize', device)))
end

local stats_ct = ffi.typeof('tn_cuda_memory')
local function memory_stats(fn, device)
  if C.tn_cuda_available() == 0 then
    error(string.format('torch.cuda.%s: CUDA is not available: %s', fn, ffi.string(C.tn_cuda_status())), 3)
  end
  local stats = stats_ct()
  core.check(C.tn_cuda_memory_stats(device_index(fn, device), stats))
  return stats
end

--- torch.cuda.memory_allocated(device) -> number
-- Bytes of device memory held by tensors on the device (default: the current one), in the caching allocator's
-- blocks (sizes rounded up to 512 bytes).
function torch.cuda.memory_allocated(device) return tonumber(memory_stats('memory_allocated', device).allocated) end
--- torch.cuda.max_memory_allocated(device) -> number
-- The most bytes torch.cuda.memory_allocated() reached, since the start or torch.cuda.reset_peak_memory_stats().
function torch.cuda.max_memory_allocated(device)
  return tonumber(memory_stats('max_memory_allocated', device).max_allocated)
end
--- torch.cuda.memory_reserved(device) -> number
-- Bytes the caching allocator holds from the driver on the device, in use by tensors or cached for reuse.
function torch.cuda.memory_reserved(device) return tonumber(memory_stats('memory_reserved', device).reserved) end
--- torch.cuda.memory_stats(device) -> table
-- The allocator's counters: allocated, max_allocated, reserved, max_reserved, requested (bytes asked for),
-- device_malloc and device_free (cudaMalloc / cudaFree calls), oom_retries (allocations that emptied the
-- cache and retried).
function torch.cuda.memory_stats(device)
  local s = memory_stats('memory_stats', device)
  return {
    allocated = tonumber(s.allocated), max_allocated = tonumber(s.max_allocated), reserved = tonumber(s.reserved),
    max_reserved = tonumber(s.max_reserved), requested = tonumber(s.requested),
    device_malloc = tonumber(s.device_malloc), device_free = tonumber(s.device_free),
    oom_retries = tonumber(s.oom_retries),
  }
end
--- torch.cuda.reset_peak_memory_stats(device)
-- Restarts torch.cuda.max_memory_allocated() from the current allocation.
function torch.cuda.reset_peak_memory_stats(device)
  core.check(C.tn_cuda_reset_peak(device_index('reset_peak_memory_stats', device)))
end
--- torch.cuda.empty_cache()
-- Returns the device memory the caching allocator holds but no tensor uses to the driver (waits for the
-- devices). Without CUDA it does nothing.
function torch.cuda.empty_cache() C.tn_memory_empty_cache(1) end

--- torch.cuda.manual_seed(seed)
-- Seeds the CUDA default generator, which random functions use for CUDA tensors. CUDA tensors receive the
-- same numbers as CPU tensors drawn from a generator in the same state. Works with or without a device.
function torch.cuda.manual_seed(seed)
  if type(seed) ~= 'number' and type(seed) ~= 'cdata' then
    core.raise('torch.cuda.manual_seed: expected an integer seed, got ' .. type(seed))
  end
  C.tn_cuda_manual_seed(seed)
end
--- torch.cuda.manual_seed_all(seed)
-- Seeds the generator of every device (one CUDA generator serves them all here): torch.cuda.manual_seed.
torch.cuda.manual_seed_all = function(seed) return torch.cuda.manual_seed(seed) end

--- torch.cuda.sync_count() -> number
-- How many times the host has waited for a device so far (a debug counter: a training step on CUDA tensors
-- should add none).
function torch.cuda.sync_count() return tonumber(C.tn_cuda_sync_count()) end

--- torch.cuda.set_allow_tf32(allow)
-- Lets float32 matrix products and convolutions on CUDA use TF32 tensor cores (faster, 10-bit mantissa
-- inputs; off by default, which is PyTorch's default for matrix products; PyTorch allows it in convolutions
-- unless torch.backends.cudnn.allow_tf32 = False). torch.cuda.allow_tf32() reads the flag.
function torch.cuda.set_allow_tf32(allow) C.tn_cuda_set_allow_tf32(allow and 1 or 0) end
--- torch.cuda.allow_tf32() -> boolean
-- Whether float32 matrix products and convolutions on CUDA may use TF32 tensor cores.
function torch.cuda.allow_tf32() return C.tn_cuda_get_allow_tf32() == 1 end

--- torch.cuda.set_cudnn_enabled(enabled)
-- Convolutions on CUDA go through cuDNN when libcudnn.so.9 is found at run time (torch.config() says whether
-- it was), else through im2col and cuBLAS. set_cudnn_enabled(false) always takes the latter, like PyTorch's
-- torch.backends.cudnn.enabled = False. torch.cuda.cudnn_enabled() reads the flag.
function torch.cuda.set_cudnn_enabled(enabled) C.tn_cuda_set_cudnn_enabled(enabled and 1 or 0) end
--- torch.cuda.cudnn_enabled() -> boolean
-- Whether convolutions on CUDA may use cuDNN (on by default).
function torch.cuda.cudnn_enabled() return C.tn_cuda_get_cudnn_enabled() == 1 end

return {}
