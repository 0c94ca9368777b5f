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

return M
