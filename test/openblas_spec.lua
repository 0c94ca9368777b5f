-- The OpenBLAS core type: chosen from /proc/cpuinfo before OpenBLAS loads when OPENBLAS_CORETYPE is unset
-- (Debian's 0.3.21 takes recent Xeons for 'Prescott' and runs SGEMM 5x slower), left alone when it is set.
local openblas_env = require 'tensor.openblas_env'

local function flags(list)
  local set = {}
  for flag in list:gmatch('%S+') do set[flag] = true end
  return set
end

local intel, amd = 'GenuineIntel', 'AuthenticAMD'

describe('openblas_env.core_for', function()
  it('AVX-512 (F, BW, VL, DQ) Intel cores are SkylakeX', function()
    assert.equals('SkylakeX', openblas_env.core_for({ vendor = intel,
      flags = flags('sse4_2 avx fma avx2 avx512f avx512dq avx512cd avx512bw avx512vl') }))
  end)

  it('AVX2 + FMA Intel cores are Haswell, also with a partial AVX-512 set (Xeon Phi)', function()
    assert.equals('Haswell', openblas_env.core_for({ vendor = intel, flags = flags('sse4_2 avx fma avx2') }))
    assert.equals('Haswell', openblas_env.core_for({ vendor = intel,
      flags = flags('avx fma avx2 avx512f avx512cd avx512er avx512pf') }))
  end)

  it('older Intel cores are left to OpenBLAS', function()
    assert.is_nil(openblas_env.core_for({ vendor = intel, flags = flags('sse4_2 avx') }))
    assert.is_nil(openblas_env.core_for({ vendor = intel, flags = flags('sse4_2 avx avx2') })) -- no FMA
    assert.is_nil(openblas_env.core_for({ vendor = intel, flags = flags('') }))
  end)

  it('AMD and Hygon cores with AVX2 are Zen; without it they are left to OpenBLAS', function()
    assert.equals('Zen', openblas_env.core_for({ vendor = amd, flags = flags('avx fma avx2') }))
    assert.equals('Zen', openblas_env.core_for({ vendor = amd,
      flags = flags('avx fma avx2 avx512f avx512bw avx512vl avx512dq') }))
    assert.equals('Zen', openblas_env.core_for({ vendor = 'HygonGenuine', flags = flags('avx fma avx2') }))
    assert.is_nil(openblas_env.core_for({ vendor = amd, flags = flags('avx fma') }))
  end)

  it('no CPU information gives no choice', function()
    assert.is_nil(openblas_env.core_for(nil))
  end)
end)

-- What this machine's /proc/cpuinfo says (parsed here independently of openblas_env).
local function this_cpu()
  local f = io.open('/proc/cpuinfo')
  if not f then return nil end
  local text = f:read('*a')
  f:close()
  local line = text:match('flags%s*:%s*([^\n]*)')
  return { vendor = text:match('vendor_id%s*:%s*(%S+)'), flags = flags(line or '') }
end

-- torch.config() of a fresh process started with the given environment prefix (env -u / env X=...).
local function config_with(env)
  local lib = os.getenv('TENSOR_LIBRARY')
  local cmd = string.format("%s TENSOR_LIBRARY='%s' luajit -e \"package.path='./lua/?.lua;./lua/?/init.lua;'.." ..
    "package.path io.write(require('tensor').config())\" 2>&1", env, lib or '')
  local p = io.popen(cmd)
  local out = p:read('*a')
  p:close()
  return out
end

describe('the core type OpenBLAS runs with', function()
  local cpu = this_cpu()

  it('this machine has CPU flags to choose from', function()
    assert.is_table(cpu)
    assert.is_string(cpu.vendor)
  end)

  it('is chosen from the CPU flags when OPENBLAS_CORETYPE is unset, and OpenBLAS uses it', function()
    local expected = openblas_env.core_for(cpu)
    if cpu.flags.avx2 and cpu.flags.fma then
      -- every x86-64 CPU with AVX2 and FMA gets an explicit AVX2 or AVX-512 kernel
      assert.truthy(expected == 'SkylakeX' or expected == 'Haswell' or expected == 'Zen', tostring(expected))
    end
    if cpu.flags.avx512f and cpu.flags.avx512bw and cpu.flags.avx512vl and cpu.flags.avx512dq and cpu.vendor == intel then
      assert.equals('SkylakeX', expected)
    end
    local out = config_with('env -u OPENBLAS_CORETYPE')
    if expected then
      assert.truthy(out:find('OPENBLAS_CORETYPE: ' .. expected .. ' (chosen from the CPU flags)', 1, true), out)
      local core = out:match('BLAS: OpenBLAS, core (%S+)')
      assert.equals(expected:lower(), tostring(core):lower(), out)
    else
      assert.truthy(out:find("OPENBLAS_CORETYPE: unset (OpenBLAS's own detection)", 1, true), out)
    end
  end)

  it('is left to the user when OPENBLAS_CORETYPE is set', function()
    local out = config_with('env OPENBLAS_CORETYPE=Haswell')
    assert.truthy(out:find('OPENBLAS_CORETYPE: Haswell (set by the user)', 1, true), out)
    assert.equals('haswell', tostring(out:match('BLAS: OpenBLAS, core (%S+)')):lower(), out)
  end)

  it('an empty OPENBLAS_CORETYPE counts as set (OpenBLAS then detects the core itself)', function()
    local out = config_with('env OPENBLAS_CORETYPE=')
    assert.truthy(out:find('OPENBLAS_CORETYPE:  (set by the user)', 1, true), out)
  end)
end)
