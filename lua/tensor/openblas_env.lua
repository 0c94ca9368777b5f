-- tensor.openblas_env: chooses OPENBLAS_CORETYPE from the CPU's flags before OpenBLAS loads.
--
-- OpenBLAS picks its kernels from the CPU id when it is loaded, and versions older than the CPU take it
-- for an ancient core (Debian's 0.3.21 calls AVX-512 Xeons 'Prescott' and runs SGEMM 5x slower). When
-- the user has not set OPENBLAS_CORETYPE (an empty value counts as set), we set it from /proc/cpuinfo.
local ffi = require 'ffi'

ffi.cdef [[
int setenv(const char *name, const char *value, int overwrite);
]]

local M = { chosen = nil, reason = nil }

local function cpu_info()
  local f = io.open('/proc/cpuinfo', 'r')
  if not f then return nil end
  local text = f:read('*a')
  f:close()
  local flags = {}
  for flag in (text:match('\nflags%s*:%s*([^\n]*)') or text:match('^flags%s*:%s*([^\n]*)') or ''):gmatch('%S+') do
    flags[flag] = true
  end
  return { vendor = text:match('vendor_id%s*:%s*(%S+)'), flags = flags }
end

-- The core type for a CPU, or nil when OpenBLAS's own detection is as good as we can do.
function M.core_for(info)
  if not info then return nil end
  local f = info.flags
  if info.vendor == 'AuthenticAMD' or info.vendor == 'HygonGenuine' then
    if f.avx2 then return 'Zen' end
    return nil
  end
  if f.avx512f and f.avx512bw and f.avx512vl and f.avx512dq then return 'SkylakeX' end
  if f.avx2 and f.fma then return 'Haswell' end
  return nil
end

function M.configure()
  local existing = os.getenv('OPENBLAS_CORETYPE')
  if existing ~= nil then
    M.chosen, M.reason = existing, 'set by the user'
    return
  end
  local core = M.core_for(cpu_info())
  if core then
    ffi.C.setenv('OPENBLAS_CORETYPE', core, 0)
    M.chosen, M.reason = core, 'chosen from the CPU flags'
  else
    M.reason = "OpenBLAS's own detection"
  end
end

-- The thread policy (lib/parallel.c): one pool of threads, OpenMP's, whose idle threads sleep instead of
-- spinning, after a short spin. On few cores, spinning threads take the cores the working ones need: two pools
-- (OpenMP and OpenBLAS's pthreads) that spin between jobs make 2 threads several times slower than 1, and even one
-- spinning pool collapses when anything else runs on the machine. But waking a sleeping thread is slow too (16
-- us a parallel region on the 2-vCPU development VM, against 1.4 us for a spinning one), so libgomp's threads
-- spin a few microseconds first: a parallel op that follows another as closely finds them awake. Set here,
-- before the libraries load, and only where the user has not set them:
--   OMP_WAIT_POLICY=passive       OpenMP threads sleep between parallel regions (these two if the user set neither)
--   GOMP_SPINCOUNT=300            after 300 rounds of libgomp's wait loop (5-20 us; other runtimes ignore it)
--   OPENBLAS_NUM_THREADS=1        OpenBLAS's pthreads build starts no threads of its own
--   OPENBLAS_THREAD_TIMEOUT=20    and the threads lent to LAPACK sleep after 2^20 cycles without work
-- (300 against plain passive on that VM, 2 threads, alternated: 10^5-float adds 63-80 -> 41-69 us, sum(2) of
-- 1000x1000 65-74 -> 48-52, layer_norm 156-195 -> 117-167, softmax 228-258 -> 223-230, the rest within noise;
-- 3000 rounds, 50-100 us, made layer_norm and an MLP layer's product 15% slower: bench/RESULTS.md.)
M.thread_settings = {}
local SPIN_ROUNDS = '300'

function M.configure_threads()
  local function default(name, value)
    if os.getenv(name) == nil then
      ffi.C.setenv(name, value, 0)
      M.thread_settings[#M.thread_settings + 1] = name .. '=' .. value
    end
  end
  if os.getenv('OMP_WAIT_POLICY') == nil and os.getenv('GOMP_SPINCOUNT') == nil then
    default('OMP_WAIT_POLICY', 'passive')
    default('GOMP_SPINCOUNT', SPIN_ROUNDS)
  end
  default('OPENBLAS_NUM_THREADS', '1')
  default('OPENBLAS_THREAD_TIMEOUT', '20')
end

return M
