-- CUDA backend (cuda/): device management, the caching allocator, copies, fill, every element-wise op and the
-- random fills, checked against the CPU (the reference) on the same inputs. Without a device only what holds
-- there is checked (CUDA unavailable with a reason, clear errors), after printing "SKIPPED: no CUDA device".
local ffi = require 'ffi'
local torch = require 'tensor'
local core = require 'tensor.core'

local C = core.C
local available, reason = torch.cuda.is_available()

local DTYPES = { 'float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool' }

local function err(fn, ...)
  local ok, msg = pcall(fn, ...)
  assert.is_false(ok, 'expected an error')
  return tostring(msg)
end

if not available then
  print('SKIPPED: no CUDA device')
  describe('CUDA without a device', function()
    it('is unavailable, with a reason', function()
      assert.is_false(available)
      assert.is_string(reason)
      assert.is_true(#reason > 0)
      assert.are.equal(0, torch.cuda.device_count())
    end)

    it('names the reason where a device is asked for', function()
      local x = torch.ones(2, 3)
      assert.is_truthy(err(function() return x:cuda() end):find('CUDA is not available: ' .. reason, 1, true))
      assert.is_truthy(err(function() return x:to('cuda') end):find('CUDA is not available', 1, true))
      assert.is_truthy(err(function() return torch.zeros(2, { device = 'cuda:0' }) end):find(reason, 1, true))
      assert.is_truthy(err(torch.cuda.synchronize):find('CUDA is not available', 1, true))
      assert.is_truthy(err(torch.cuda.memory_allocated):find('torch.cuda.memory_allocated: CUDA is not available', 1, true))
      assert.is_truthy(err(torch.cuda.set_device, 0):find('CUDA is not available', 1, true))
      assert.matches("unknown device 'tpu'", err(function() return torch.zeros(2, { device = 'tpu' }) end))
    end)

    it('reports it in torch.config()', function()
      assert.is_truthy(torch.config():find('CUDA: not available (' .. reason .. ')', 1, true))
    end)

    it('keeps the CUDA generator, the TF32 and cuDNN flags and the counters usable', function()
      torch.cuda.manual_seed(5)
      assert.are.equal(5ULL, C.tn_cuda_default_generator().seed)
      torch.manual_seed(9)
      assert.are.equal(9ULL, C.tn_cuda_default_generator().seed)
      assert.is_false(torch.cuda.allow_tf32())
      torch.cuda.set_allow_tf32(true)
      assert.is_true(torch.cuda.allow_tf32())
      torch.cuda.set_allow_tf32(false)
      assert.is_true(torch.cuda.cudnn_enabled())
      torch.cuda.set_cudnn_enabled(false)
      assert.is_false(torch.cuda.cudnn_enabled())
      torch.cuda.set_cudnn_enabled(true)
      assert.are.equal(0, torch.cuda.sync_count())
      torch.cuda.empty_cache() -- nothing to do, no error
    end)
  end)
  return
end

-- ---- with a device ----

-- A CPU tensor of dtype dt with varied values (negative ones wrap for unsigned dtypes, as conversions do).
local function sample(dt, sizes, lo, hi)
  local n = 1
  for _, s in ipairs(sizes) do n = n * s end
  local x = torch.linspace(lo or -3, hi or 3, n, { dtype = 'float64' }):view(sizes)
  return x:to(dt)
end

-- The bytes of a tensor's elements in row-major order, from a contiguous CPU copy.
local function bytes(t)
  local c = t:cpu():contiguous()
  return ffi.string(C.tn_data_ptr(c._c), c:numel() * tonumber(C.tn_dtype_size(c._c.dtype)))
end

local function same_shape(a, b)
  assert.are.equal(a._c.ndim, b._c.ndim)
  for d = 0, a._c.ndim - 1 do assert.are.equal(a._c.sizes[d], b._c.sizes[d]) end
end

-- got (any device) equals want (CPU) bit for bit, with the same dtype and shape.
local function identical(got, want, what)
  assert.are.equal(want._c.dtype, got._c.dtype, what)
  same_shape(got, want)
  assert.is_true(bytes(got) == bytes(want), what)
end

-- got close to want elementwise (NaN where NaN, equal infinities, relative tolerance tol).
local function close(got, want, tol, what)
  assert.are.equal(want._c.dtype, got._c.dtype, what)
  same_shape(got, want)
  local g = got:cpu():to('float64'):contiguous()
  local w = want:to('float64'):contiguous()
  local pg, pw = ffi.cast('double *', C.tn_data_ptr(g._c)), ffi.cast('double *', C.tn_data_ptr(w._c))
  for i = 0, w:numel() - 1 do
    local a, b = pg[i], pw[i]
    local ok = (a == b) or (a ~= a and b ~= b) or math.abs(a - b) <= tol * (1 + math.abs(b))
    if not ok then error(string.format('%s: element %d is %.17g on CUDA, %.17g on the CPU', what, i + 1, a, b), 2) end
  end
end

local function tolerance(dt)
  if dt == C.TN_FLOAT16 or dt == C.TN_BFLOAT16 then return 1e-2 end
  if dt == C.TN_FLOAT32 then return 2e-6 end
  if dt == C.TN_FLOAT64 then return 1e-13 end
  return 0
end

describe('CUDA devices', function()
  it('are available and described', function()
    assert.is_true(torch.cuda.device_count() >= 1)
    assert.are.equal(0, torch.cuda.current_device())
    assert.is_truthy(torch.config():find('CUDA: available: CUDA runtime', 1, true))
    assert.is_truthy(torch.config():find('; cuDNN %d+%.%d+%.%d+') or torch.config():find('; no cuDNN', 1, true))
    torch.cuda.set_device(0)
    torch.cuda.synchronize()
    local n = torch.cuda.device_count()
    assert.matches('invalid CUDA device', err(torch.cuda.set_device, n))
    assert.matches('invalid CUDA device', err(function() return torch.zeros(2, { device = 'cuda:' .. n }) end))
  end)

  it('put tensors where asked and print where they are', function()
    local x = torch.ones(2, 3):cuda()
    assert.is_true(x:is_cuda())
    assert.are.equal('cuda:0', x:device())
    assert.is_true(torch.zeros(2, { device = 'cuda' }):is_cuda())
    assert.is_true(torch.ones(2):to('cuda'):is_cuda())
    assert.is_true(x:cpu():is_cuda() == false)
    assert.matches('%[torch.FloatTensor of size 2x3 on cuda:0%]', tostring(x))
  end)

  it('refuse to mix devices, naming both', function()
    local a, b = torch.ones(3):cuda(), torch.ones(3)
    local msg = err(function() return a + b end)
    assert.is_truthy(msg:find('cuda:0', 1, true) and msg:find('cpu', 1, true), msg)
    -- a 0-d CPU tensor is a scalar and may join
    identical(a + torch.tensor(2.0), torch.ones(3) + 2, 'scalar operand')
  end)
end)

describe('CUDA copies', function()
  it('move every dtype both ways exactly, contiguous or not', function()
    for _, name in ipairs(DTYPES) do
      local x = sample(name, { 4, 6 }, -100, 100)
      identical(x:cuda(), x, name)
      identical(x:t():cuda(), x:t(), name .. ' transposed source')
      identical(x:cuda():t():cpu(), x:t(), name .. ' transposed on the device')
      identical(x:cuda():narrow(2, 2, 3):cpu(), x:narrow(2, 2, 3), name .. ' narrowed')
      local dst = torch.zeros(6, 4, { dtype = name }):t()
      dst:copy_(x:cuda())
      identical(dst, x, name .. ' into a non-contiguous CPU tensor')
    end
  end)

  it('convert between every pair of dtypes as the CPU does', function()
    for _, from in ipairs(DTYPES) do
      local x = sample(from, { 3, 5 }, -300, 300)
      local on_device = x:cuda()
      for _, to in ipairs(DTYPES) do
        identical(on_device:to(to), x:to(to), from .. ' -> ' .. to .. ' on the device')
        identical(x:to({ dtype = to, device = 'cuda' }), x:to(to), from .. ' -> ' .. to .. ' host to device')
      end
    end
  end)

  it('round 16-bit floats to nearest even and keep NaN and infinities', function()
    local x = torch.tensor({ 1 / 0, -1 / 0, 0 / 0, 65504, 65520, 1e-8, -0.0, 1.00048828125, 3.0000001 },
      { dtype = 'float64' })
    for _, to in ipairs({ 'float16', 'bfloat16', 'float32', 'int64', 'int32', 'int8', 'uint8', 'bool' }) do
      identical(x:cuda():to(to), x:to(to), 'float64 -> ' .. to)
    end
  end)

  it('broadcast the source', function()
    local dst = torch.zeros(3, 4):cuda()
    dst:copy_(torch.arange(4):cuda())
    identical(dst, torch.zeros(3, 4):copy_(torch.arange(4)), 'from a CUDA row')
    dst:copy_(torch.arange(4, { dtype = 'int32' }))
    identical(dst, torch.zeros(3, 4):copy_(torch.arange(4)), 'from a CPU row of another dtype')
    dst:copy_(torch.tensor(7.5))
    identical(dst, torch.full({ 3, 4 }, 7.5), 'from a 0-d CPU tensor')
  end)

  it('move large tensors through the staging buffers', function()
    local n = 3 * 1024 * 1024 + 17 -- 12 MiB of float32: several 4 MiB chunks and a tail
    local x = torch.rand(n)
    identical(x:cuda(), x, 'large host to device and back')
    identical(x:to('float64'):cuda():to('float32'), x, 'large with conversions')
  end)

  it('copy between devices', function()
    if torch.cuda.device_count() < 2 then return end
    local x = sample('float32', { 5, 7 })
    identical(x:cuda(0):to('cuda:1'), x, 'cuda:0 -> cuda:1')
    local dst = torch.zeros(7, 5, { device = 'cuda:1' }):t()
    dst:copy_(x:cuda(0):to('float64'))
    identical(dst:cpu(), x, 'into a transposed float32 tensor on cuda:1')
  end)
end)

describe('CUDA fill', function()
  it('matches the CPU for every dtype and value', function()
    for _, name in ipairs(DTYPES) do
      for _, v in ipairs({ 0, 1, -1, 2.5, 300, 1e6 }) do
        local ok_cpu, want = pcall(torch.full, { 3, 4 }, v, { dtype = name })
        local ok_gpu, got = pcall(torch.full, { 3, 4 }, v, { dtype = name, device = 'cuda' })
        assert.are.equal(ok_cpu, ok_gpu, name .. ' ' .. v)
        if ok_cpu then identical(got, want, name .. ' fill ' .. v) end
      end
      local t = torch.zeros(4, 6, { dtype = name }):cuda():t()
      t:fill_(1)
      identical(t, torch.ones(6, 4, { dtype = name }), name .. ' non-contiguous fill')
    end
  end)
end)

-- Runs a C entry point on CPU tensors and on their CUDA copies; both fail with one message, or the results agree.
local function agree(what, run, inputs, tol_dtype)
  local cpu_args, gpu_args, keep = {}, {}, {}
  for i, x in ipairs(inputs) do
    keep[i] = x._c.ndim == 0 and x or x:cuda() -- 0-d CPU tensors stay scalars; keep holds the copies alive
    cpu_args[i], gpu_args[i] = x._c, keep[i]._c
  end
  local want = run(cpu_args)
  local want_err = want == nil and ffi.string(C.tn_last_error())
  local got = run(gpu_args)
  local got_err = got == nil and ffi.string(C.tn_last_error())
  if want == nil then
    assert.are.equal(want_err, got_err, what)
    return
  end
  assert.is_truthy(got ~= nil, what .. ': ' .. tostring(got_err))
  want, got = core.wrap(want), core.wrap(got)
  assert.is_true(got:is_cuda(), what)
  assert(#keep == #inputs)
  close(got, want, tolerance(tol_dtype or want._c.dtype), what)
end

describe('CUDA element-wise ops', function()
  local float_default = C.TN_FLOAT32

  it('match the CPU for every unary op and dtype, contiguous or not', function()
    for op = 0, C.TN_NUM_UNARY_OPS - 1 do
      local p0, p1 = 1, 20
      if op == C.TN_CLAMP then p0, p1 = -1, 1 end
      if op == C.TN_LEAKY_RELU then p0 = 0.1 end
      if op == C.TN_POW_SCALAR then p0 = 2 end
      for _, name in ipairs(DTYPES) do
        local x = sample(name, { 5, 8 }, -3, 3)
        for _, input in ipairs({ x, x:t(), x:narrow(2, 2, 4) }) do
          agree(string.format('unary op %d on %s', op, name), function(a)
            return C.tn_unary(op, nil, a[1], p0, p1, float_default)
          end, { input })
        end
      end
    end
  end)

  it('match the CPU for every binary op and dtype, with broadcasting and scalars', function()
    for op = 0, C.TN_NUM_BINARY_OPS - 1 do
      for _, name in ipairs(DTYPES) do
        local a = sample(name, { 3, 1, 4 }, -3, 3)
        local b = sample(name, { 5, 4 }, -2, 4)
        local what = string.format('binary op %d on %s', op, name)
        agree(what, function(t) return C.tn_binary(op, nil, t[1], t[2], 1, 20, float_default) end, { a, b })
        agree(what .. ' (transposed)', function(t) return C.tn_binary(op, nil, t[1], t[2], 1, 20, float_default) end,
          { b:t(), sample(name, { 4, 5 }, 1, 5) })
        agree(what .. ' with a scalar', function(t)
          return C.tn_binary_scalar(op, nil, t[1], 2, C.TN_INT64, 0, 1, 20, float_default)
        end, { a })
        agree(what .. ' with a reversed scalar', function(t)
          return C.tn_binary_scalar(op, nil, t[1], 1.5, float_default, 1, 1, 20, float_default)
        end, { b })
      end
    end
  end)

  it('match the CPU for every ternary op and dtype', function()
    for op = 0, C.TN_NUM_TERNARY_OPS - 1 do
      for _, name in ipairs(DTYPES) do
        local a = sample(name, { 4, 5 }, -3, 3)
        local b = sample(name, { 5 }, 1, 3)
        local c = op == C.TN_WHERE and sample('bool', { 4, 1 }, 0, 1) or sample(name, { 4, 1 }, 1, 2)
        local inputs = op == C.TN_WHERE and { c, a, b } or { a, b, c }
        agree(string.format('ternary op %d on %s', op, name), function(t)
          return C.tn_ternary(op, nil, t[1], t[2], t[3], 2, float_default)
        end, inputs)
      end
    end
  end)

  it('raise the CPU errors for integer division by zero and negative integer powers of a number', function()
    local a, z = torch.tensor({ 1, 2 }):cuda(), torch.tensor({ 1, 0 }):cuda()
    assert.matches('integer division by zero', err(function() return a:floor_divide(z) end))
    assert.matches('integer division by zero', err(function() return a % z end))
    assert.matches('negative integer powers', err(function() return a:pow(-1) end))
    -- (a tensor of exponents may hold negative ones: 1 / base^-e truncated, as on the CPU and in PyTorch)
    assert.are.same({ 1, 0 }, a:pow(torch.tensor({ 1, -1 }):cuda()):cpu():totable())
  end)

  it('run in place and into out= tensors', function()
    local x = sample('float32', { 3, 4 })
    local g = x:cuda()
    g:add_(1):mul_(2)
    close(g, (x + 1) * 2, 1e-6, 'in place')
    local out = torch.zeros(3, 4):cuda()
    torch.exp(g, { out = out })
    close(out, ((x + 1) * 2):exp(), 2e-6, 'out=')
  end)
end)

describe('CUDA random numbers', function()
  it('are reproducible with torch.cuda.manual_seed and equal the CPU draws', function()
    torch.cuda.manual_seed(123)
    local a = torch.rand(1001, { device = 'cuda' })
    local n1 = torch.randn(1001, { device = 'cuda' })
    torch.cuda.manual_seed(123)
    identical(torch.rand(1001, { device = 'cuda' }), a:cpu(), 'same seed, same uniform numbers')
    identical(torch.randn(1001, { device = 'cuda' }), n1:cpu(), 'same seed, same normal numbers')
    for _, name in ipairs({ 'float32', 'float64', 'float16', 'bfloat16' }) do
      local g1, g2 = torch.Generator():manual_seed(77), torch.Generator():manual_seed(77)
      local cpu = torch.empty(513, { dtype = name }):uniform_(-2, 3, { generator = g1 })
      local gpu = torch.empty(513, { dtype = name, device = 'cuda' }):uniform_(-2, 3, { generator = g2 })
      identical(gpu, cpu, 'uniform ' .. name)
      close(torch.empty(257, { dtype = name, device = 'cuda' }):normal_(1, 2, { generator = g2 }),
        torch.empty(257, { dtype = name }):normal_(1, 2, { generator = g1 }), name == 'float64' and 1e-13 or 1e-6,
        'normal ' .. name)
      assert.are.equal(g1.offset, g2.offset)
    end
    for _, name in ipairs({ 'int64', 'int32', 'uint8', 'float32' }) do
      local g1, g2 = torch.Generator():manual_seed(5), torch.Generator():manual_seed(5)
      identical(torch.empty(99, { dtype = name, device = 'cuda' }):random_(0, 200, { generator = g2 }),
        torch.empty(99, { dtype = name }):random_(0, 200, { generator = g1 }), 'randint ' .. name)
    end
    local g1, g2 = torch.Generator():manual_seed(9), torch.Generator():manual_seed(9)
    identical(torch.empty(300, { device = 'cuda' }):bernoulli_(0.3, { generator = g2 }),
      torch.empty(300):bernoulli_(0.3, { generator = g1 }), 'bernoulli')
    local x = torch.empty(6, 5, { device = 'cuda' }):t()
    local g3, g4 = torch.Generator():manual_seed(4), torch.Generator():manual_seed(4)
    x:uniform_(0, 1, { generator = g3 })
    identical(x, torch.empty(6, 5):t():uniform_(0, 1, { generator = g4 }), 'non-contiguous target')
  end)
end)

describe('the CUDA caching allocator', function()
  it('counts allocations, keeps freed blocks for reuse and empties the cache', function()
    collectgarbage()
    torch.cuda.synchronize()
    local base = torch.cuda.memory_allocated()
    local x = torch.empty(1024 * 1024, { device = 'cuda' }) -- 4 MiB
    assert.is_true(torch.cuda.memory_allocated() >= base + 4 * 1024 * 1024)
    assert.is_true(torch.cuda.memory_reserved() >= torch.cuda.memory_allocated())
    assert.is_true(torch.cuda.max_memory_allocated() >= torch.cuda.memory_allocated())
    local mallocs = torch.cuda.memory_stats().device_malloc
    x = nil
    collectgarbage()
    collectgarbage()
    assert.are.equal(base, torch.cuda.memory_allocated())
    local y = torch.empty(1024 * 1024, { device = 'cuda' }) -- served from the cache
    assert.are.equal(mallocs, torch.cuda.memory_stats().device_malloc)
    y = nil
    collectgarbage()
    collectgarbage()
    torch.cuda.empty_cache()
    local s = torch.cuda.memory_stats()
    assert.is_true(s.reserved <= s.allocated + 20 * 1024 * 1024) -- only segments still partly in use remain
    torch.cuda.reset_peak_memory_stats()
    assert.are.equal(torch.cuda.memory_allocated(), torch.cuda.max_memory_allocated())
  end)

  it('gets dead tensors back without collectgarbage(), within the collector threshold', function()
    local memory = require 'tensor.memory'
    collectgarbage()
    local base = torch.cuda.memory_allocated() -- what earlier specs keep alive raises the threshold with it
    local x = torch.ones(2 * 1024 * 1024):cuda() -- 8 MiB
    local high, y = 0, nil
    for _ = 1, 400 do -- 3.2 GB of results, each dead once the next one is made
      y = x * 2
      high = math.max(high, torch.cuda.memory_allocated())
    end
    assert.are.equal(2, y:cpu()[1])
    -- the live set (x and y), the floor above it, and one result allocated past the threshold
    assert.is_true(high - base <= memory.minimum(1) + 2 * 8 * 1024 * 1024 + 64 * 1024 * 1024,
      'memory allocated reached ' .. high .. ' from ' .. base)
  end)

  it('reports running out of memory after emptying the cache and retrying', function()
    local before = torch.cuda.memory_stats().oom_retries
    local msg = err(function() return torch.empty(2 ^ 50, { dtype = 'uint8', device = 'cuda' }) end)
    assert.matches('out of CUDA memory on cuda:0', msg)
    assert.matches('retried', msg)
    assert.are.equal(before + 1, torch.cuda.memory_stats().oom_retries)
    identical(torch.ones(3):cuda(), torch.ones(3), 'allocations work afterwards')
  end)
end)

describe('CUDA synchronisation', function()
  it('happens only where values reach the host', function()
    local x = torch.rand(256, 256):cuda()
    torch.cuda.synchronize()
    local before = torch.cuda.sync_count()
    for _ = 1, 50 do
      local y = (x * 2 + 1):sigmoid():mul_(0.5)
      x = torch.where(y:gt(0.3), y, x)
      x:uniform_(0, 1)
    end
    assert.are.equal(before, torch.cuda.sync_count())
    local _ = x:cpu()
    assert.are.equal(before + 1, torch.cuda.sync_count())
  end)
end)

describe('A CUDA training step', function()
  it('runs forward, backward and an Adam step without waiting for the device', function()
    local nn, optim = require 'tensor.nn', require 'tensor.optim'
    torch.manual_seed(3)
    local model = nn.Sequential(
      nn.Conv2d(1, 8, 3, { padding = 1 }), nn.ReLU(), nn.BatchNorm2d(8), nn.MaxPool2d(2),
      nn.Flatten(), nn.Linear(8 * 14 * 14, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 10)):cuda()
    local criterion = nn.CrossEntropyLoss()
    local opt = optim.Adam(model:parameters(), { lr = 1e-3 })
    local x, y = torch.randn(16, 1, 28, 28):cuda(), torch.randint(1, 11, { 16 }):cuda()
    local function step()
      opt:zero_grad()
      local loss = criterion(model(x), y)
      loss:backward()
      opt:step()
      return loss
    end
    local first = step()
    torch.cuda.synchronize()
    local before = torch.cuda.sync_count()
    local loss
    for _ = 1, 5 do loss = step() end
    assert.are.equal(before, torch.cuda.sync_count(), 'host waits during five training steps')
    assert.is_true(loss:item() < first:item(), 'the loss falls')
  end)
end)
