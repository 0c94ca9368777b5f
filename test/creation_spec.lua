-- Creation: options (dtype, device, requires_grad), Torch7 constructors, shape queries, torch.Size,
-- foreign memory, the default dtype, and the errors of every creation function. Values of zeros/ones/full/
-- arange/range/linspace/eye/tensor are compared with PyTorch in reference_spec.lua.
local ffi = require 'ffi'
local torch = require 'tensor'

local function err(f, ...)
  local ok, msg = pcall(f, ...)
  assert.is_false(ok, 'expected an error')
  return tostring(msg)
end

describe('creation options', function()
  it('sizes as varargs, one table or a torch.Size; a trailing options table', function()
    for _, x in ipairs({ torch.zeros(2, 3), torch.zeros({ 2, 3 }), torch.zeros(torch.Size({ 2, 3 })),
                         torch.zeros(2, 3, { dtype = 'float64' }), torch.zeros({ 2, 3 }, { dtype = 'float64' }) }) do
      assert.are.same({ 2, 3 }, x:shape())
      assert.are.same({ 3, 1 }, x:stride())
    end
    assert.equals('float64', torch.ones(2, 3, { dtype = 'float64' }):dtype())
    assert.equals(0, torch.zeros({}):dim())
    assert.equals(1, torch.zeros({}):numel())
    assert.equals(0, torch.zeros():dim())
  end)

  it("device = 'cpu' is accepted; an unknown device names the function", function()
    assert.equals('cpu', torch.zeros(2, { device = 'cpu' }):device())
    assert.matches("zeros: unknown device 'tpu'", err(torch.zeros, 2, { device = 'tpu' }))
    assert.matches("ones: unknown device '3'", err(torch.ones, 2, { device = 3 }))
  end)

  it('requires_grad marks floating tensors and is refused for others', function()
    assert.is_true(torch.zeros(2, { requires_grad = true }).requires_grad)
    assert.is_true(torch.rand(2, { requires_grad = true }).requires_grad)
    assert.is_true(torch.tensor({ 1.5 }, { requires_grad = true }).requires_grad)
    assert.matches('zeros: only floating point tensors can require gradients, got int64',
                   err(torch.zeros, 2, { dtype = 'int64', requires_grad = true }))
    assert.matches('tensor: only floating point tensors can require gradients, got int64',
                   err(torch.tensor, { 1 }, { dtype = 'int64', requires_grad = true }))
    -- Lua cannot write 1.0 apart from 1: integral values that require grad take the default float dtype
    assert.equals('float32', torch.tensor({ 1, 2 }, { requires_grad = true }):dtype())
  end)

  it('*_like keep size, dtype and device unless told otherwise', function()
    local x = torch.ones(2, 3, { dtype = 'int16' }):t()
    for _, y in ipairs({ torch.zeros_like(x), torch.ones_like(x), torch.empty_like(x), torch.full_like(x, 4) }) do
      assert.are.same({ 3, 2 }, y:shape())
      assert.equals('int16', y:dtype())
      assert.is_true(y:is_contiguous())
      assert.is_false(y:shares_storage(x))
    end
    assert.are.same({ { 4, 4 }, { 4, 4 }, { 4, 4 } }, torch.full_like(x, 4):tolist())
    assert.equals('float64', torch.zeros_like(x, { dtype = 'float64' }):dtype())
    assert.equals('float32', torch.rand_like(torch.zeros(2)):dtype())
    assert.matches('zeros_like: expected a tensor for x, got number', err(torch.zeros_like, 3))
  end)

  it('the default dtype is float32 and can be changed to another floating type', function()
    assert.equals('float32', torch.get_default_dtype())
    torch.set_default_dtype('float64')
    local ok, e = pcall(function()
      assert.equals('float64', torch.zeros(1):dtype())
      assert.equals('float64', torch.Tensor(1):dtype())
      assert.equals('torch.DoubleTensor', torch.Tensor(1):type())
      assert.equals('float64', torch.tensor({ 1.5 }):dtype())
      assert.equals('int64', torch.tensor({ 1 }):dtype())
      assert.equals('float64', torch.arange(0, 1, 0.5):dtype())
      assert.equals('float64', torch.rand(1):dtype())
    end)
    torch.set_default_dtype('float32')
    assert(ok, e)
    assert.equals('float32', torch.zeros(1):dtype())
    assert.matches('set_default_dtype: the default dtype must be a floating point type, got int32',
                   err(torch.set_default_dtype, 'int32'))
    assert.matches("set_default_dtype: unknown dtype 'x'", err(torch.set_default_dtype, 'x'))
    assert.equals('float32', torch.get_default_dtype())
  end)
end)

describe('shape queries and torch.Size', function()
  it('size, shape, stride, dim, numel', function()
    local x = torch.zeros(2, 3, 4):transpose(1, 3)
    assert.are.same({ 4, 3, 2 }, x:shape())
    assert.equals(4, x:size(1))
    assert.equals(2, x:size(-1))
    assert.equals(1, x:stride(-1) == 12 and 1 or 0)
    assert.are.same({ 1, 4, 12 }, x:stride())
    assert.equals(4, x:stride(2))
    assert.equals(3, x:dim())
    assert.equals(3, x:nDimension())
    assert.equals(24, x:numel())
    assert.equals(24, x:nElement())
    assert.equals(0, x:storage_offset())
    assert.equals(1, x:storageOffset())
    assert.equals(2, x:narrow(1, 3, 1):storage_offset())
  end)

  it('torch.Size prints, compares, counts and converts', function()
    local s = torch.zeros(2, 3):size()
    assert.equals(2, #s)
    assert.equals(3, s[2])
    assert.equals(6, s:numel())
    assert.equals('torch.Size({2, 3})', tostring(s))
    assert.is_true(s == torch.Size({ 2, 3 }))
    assert.is_false(s == torch.Size({ 3, 2 }))
    assert.is_false(s == torch.Size({ 2, 3, 1 }))
    assert.are.same({ 2, 3 }, s:totable())
    assert.equals('torch.Size({})', tostring(torch.tensor(1):size()))
  end)

  it('size(d) and stride(d) check the dim', function()
    local x = torch.zeros(2, 3)
    assert.matches('size: dimension 3 out of range for a tensor of 2 dimensions', err(x.size, x, 3))
    assert.matches('size: dimension 0 is invalid', err(x.size, x, 0))
    assert.matches('stride: dimension %-3 out of range', err(x.stride, x, -3))
    assert.matches('size: a 0%-d tensor has no dimension 1', err(function() return torch.tensor(1):size(1) end))
    assert.matches('size: dimension must be an integer, got 1.5', err(x.size, x, 1.5))
  end)

  it('is_same_size, is_set_to', function()
    local x = torch.zeros(2, 3)
    assert.is_true(x:is_same_size(torch.ones(2, 3)))
    assert.is_false(x:is_same_size(torch.ones(3, 2)))
    assert.is_true(x:is_set_to(x:view(2, 3)))
    assert.is_false(x:is_set_to(x:t()))
  end)
end)

describe('Torch7 constructors', function()
  local classes = { FloatTensor = 'float32', DoubleTensor = 'float64', HalfTensor = 'float16', LongTensor = 'int64',
                    IntTensor = 'int32', ShortTensor = 'int16', CharTensor = 'int8', ByteTensor = 'uint8',
                    BoolTensor = 'bool', BFloat16Tensor = 'bfloat16' }

  it('torch.Tensor(2, 3) is an uninitialised tensor of the default dtype', function()
    local x = torch.Tensor(2, 3)
    assert.are.same({ 2, 3 }, x:shape())
    assert.equals('float32', x:dtype())
    assert.equals('torch.FloatTensor', x:type())
    assert.are.same({ 0 }, torch.Tensor():shape())
  end)

  for class, dt in pairs(classes) do
    it('torch.' .. class .. ' from sizes, a table, a size object and nothing', function()
      local ctor = torch[class]
      assert.equals(dt, ctor(2, 3):dtype())
      assert.are.same({ 2, 3 }, ctor(2, 3):shape())
      assert.are.same({ 4, 1 }, ctor({ 4, 1 }):shape() and ctor(torch.Size({ 4, 1 })):shape())
      local t = ctor({ 1, 0, 1 })
      assert.equals(dt, t:dtype())
      assert.are.same({ 3 }, t:shape())
      assert.equals('torch.' .. class, t:type())
      assert.are.same({ 0 }, ctor():shape())
    end)
  end

  it('torch.FloatTensor{...} and torch.LongTensor({{...}}) hold the values', function()
    assert.are.same({ 1.5, 2, -3 }, torch.FloatTensor({ 1.5, 2, -3 }):tolist())
    assert.are.same({ 1, 2, 3 }, torch.FloatTensor { 1, 2, 3 }:tolist())
    local l = torch.LongTensor({ { 1, 2 }, { 3, 4 } })
    assert.are.same({ 2, 2 }, l:shape())
    assert.are.same({ { 1, 2 }, { 3, 4 } }, l:tolist())
    assert.are.same({ 1, 2 }, torch.LongTensor({ 1.9, 2.1 }):tolist())
    assert.are.same({ true, false }, torch.BoolTensor({ 1, 0 }):tolist())
    assert.are.same({ 255, 1 }, torch.ByteTensor({ 255, true }):tolist())
  end)

  it('a constructor given a tensor of its type views the same storage with the same strides', function()
    local base = torch.arange(12):float():view(3, 4):t()
    local v = torch.FloatTensor(base)
    assert.are_not.equal(base, v)
    assert.is_true(v:is_set_to(base))
    v[{ 1, 2 }] = -1
    assert.equals(-1, base[1][2])
    local e = torch.zeros(3, 1):expand(3, 4)
    assert.is_true(torch.FloatTensor(e):is_set_to(e))
  end)

  it('a constructor given a tensor of another type converts it', function()
    local d = torch.DoubleTensor(torch.arange(3))
    assert.equals('float64', d:dtype())
    assert.are.same({ 0, 1, 2 }, d:tolist())
  end)

  it('errors name the constructor', function()
    assert.matches('torch.FloatTensor: negative size %-1 in %[%-1%]', err(torch.FloatTensor, -1))
    assert.matches('torch.FloatTensor: size 2 must be an integer, got a', err(torch.FloatTensor, 2, 'a'))
    assert.matches('torch.LongTensor: ragged nested table', err(torch.LongTensor, { { 1, 2 }, { 3 } }))
    assert.matches('torch.IntTensor: element %[2%] is a string', err(torch.IntTensor, { 1, 'x' }))
    assert.matches('torch.Tensor: size 1 must be an integer, got 1.5', err(torch.Tensor, 1.5))
  end)
end)

describe('torch.from_pointer', function()
  it('wraps foreign memory without copying; writes go both ways', function()
    local buf = ffi.new('double[6]', { 1, 2, 3, 4, 5, 6 })
    local x = torch.from_pointer(buf, { 2, 3 }, { dtype = 'float64' })
    assert.are.same({ { 1, 2, 3 }, { 4, 5, 6 } }, x:tolist())
    x[{ 2, 1 }] = 40
    assert.equals(40, buf[3])
    buf[0] = -1
    assert.equals(-1, x[1][1])
    local t = torch.from_pointer(buf, { 3, 2 }, { dtype = 'float64', strides = { 1, 3 } })
    assert.are.same({ { -1, 40 }, { 2, 5 }, { 3, 6 } }, t:tolist())
    assert.equals('float32', torch.from_pointer(ffi.new('float[2]'), 2):dtype())
  end)

  it('calls free once, when the last view is collected', function()
    local freed = 0
    local buf = ffi.new('int32_t[4]')
    do
      local x = torch.from_pointer(buf, 4, { dtype = 'int32', free = function() freed = freed + 1 end })
      local v = x:narrow(1, 2, 2)
      x = nil
      collectgarbage()
      collectgarbage()
      assert.equals(0, freed)
      assert.are.same({ 0, 0 }, v:tolist())
    end
    collectgarbage()
    collectgarbage()
    assert.equals(1, freed)
  end)

  it('rejects bad arguments naming from_pointer', function()
    assert.matches('from_pointer: expected an FFI pointer, got number', err(torch.from_pointer, 5, { 3 }))
    assert.matches('from_pointer: negative size %-1', err(torch.from_pointer, ffi.new('float[1]'), { -1 }))
    assert.matches("from_pointer: unknown dtype 'x'", err(torch.from_pointer, ffi.new('float[1]'), { 1 }, { dtype = 'x' }))
    assert.matches('from_storage: a view of size %[2%] at offset 0 reaches element 4 of a storage of 2 elements',
                   err(torch.from_pointer, ffi.new('float[2]'), { 2 }, { strides = { 4 } }))
  end)
end)

describe('torch.tensor with int64 cdata', function()
  it('holds integers beyond 2^53 exactly and infers int64', function()
    local t = torch.tensor({ 9223372036854775807LL, -9223372036854775807LL - 1, 2 ^ 53 + 1LL, 7 })
    assert.equals('int64', t:dtype())
    local p = t:data_ptr()
    assert.is_true(p[0] == 9223372036854775807LL and p[1] == -9223372036854775807LL - 1 and p[2] == 9007199254740993LL)
    assert.equals(7, t[4])
    assert.are.same({ 5, 1 }, torch.tensor({ 5LL, true }, { dtype = 'float32' }):tolist())
    assert.equals('float32', torch.tensor({ 5LL, 0.5 }):dtype())
  end)

  it('refuses values the dtype cannot hold', function()
    local ok, msg = pcall(torch.tensor, { 300LL }, { dtype = 'uint8' })
    assert.is_false(ok)
    assert.matches('tensor: value 300LL %(element 1%) cannot be converted to uint8 without overflow', msg)
    ok, msg = pcall(torch.tensor, { 18446744073709551615ULL })
    assert.is_false(ok)
    assert.matches('tensor: value 18446744073709551615ULL %(element 1%) cannot be converted to int64', msg)
  end)
end)

describe('creation errors name the function and the values', function()
  local cases = {
    { 'zeros: negative size %-1 in %[2 x %-1%]', torch.zeros, 2, -1 },
    { 'ones: size 1 must be an integer, got 1.5', torch.ones, 1.5 },
    { 'empty: size 1 must be an integer, got a', torch.empty, 'a' },
    { 'zeros: at most 16 dimensions are supported, got 17', torch.zeros, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 },
    { 'zeros: size %[1099511627776 x 1099511627776%] is too large', torch.zeros, 2 ^ 40, 2 ^ 40 },
    { 'zeros: size %[4611686018427387904%] is too large', torch.zeros, 2 ^ 62 },
    { "zeros: unknown dtype 'foo' %(expected one of float32, float64", torch.zeros, 2, { dtype = 'foo' } },
    { 'full: expected a number for the fill value, got nil', torch.full, { 2 }, nil },
    { 'full: expected a size table, got string', torch.full, 'a', 1 },
    { 'full: negative size %-1', torch.full, { -1 }, 1 },
    { 'full_like: expected a number for the fill value, got string', torch.full_like, torch.zeros(1), 'a' },
    { 'arange: step must be nonzero', torch.arange, 0, 1, 0 },
    { 'arange: upper bound 0 and lower bound 1 inconsistent with step sign 1', torch.arange, 1, 0 },
    { 'arange: unsupported range 0 %-> nan', torch.arange, 0, 0 / 0 },
    { 'arange: unsupported range 0 %-> inf', torch.arange, 0, math.huge },
    { 'arange: expected numbers for start, stop and step', torch.arange, 'a' },
    { 'arange: expected %(stop%), %(start, stop%) or %(start, stop, step%)', torch.arange },
    { 'arange: expected %(stop%), %(start, stop%) or %(start, stop, step%)', torch.arange, 1, 2, 3, 4 },
    { 'range: upper bound 0 and lower bound 1 inconsistent with step sign 1', torch.range, 1, 0 },
    { 'range: expected %(start, stop%) or %(start, stop, step%)', torch.range, 1 },
    { 'linspace: steps must be a non%-negative integer, got %-1', torch.linspace, 0, 1, -1 },
    { 'linspace: steps must be a non%-negative integer, got 2.5', torch.linspace, 0, 1, 2.5 },
    { 'linspace: start must be a number, got nil', torch.linspace, nil, 1, 3 },
    { 'linspace: end must be a number, got x', torch.linspace, 0, 'x', 3 },
    { 'eye: expected non%-negative integer sizes, got %-1 and %-1', torch.eye, -1 },
    { 'eye: expected non%-negative integer sizes, got 2 and 1.5', torch.eye, 2, 1.5 },
    { 'eye: size %[1099511627776 x 1099511627776%] is too large', torch.eye, 2 ^ 40 },
    { 'tensor: ragged nested table: element %[2%] has 1 entries, expected 2', torch.tensor, { { 1, 2 }, { 3 } } },
    { 'tensor: ragged nested table: element %[2%] is a number where a table of 1 values was expected', torch.tensor, { { 1 }, 2 } },
    { 'tensor: element %[1%]%[2%] is a string, expected a number or boolean', torch.tensor, { { 1, 'a' } } },
    { 'tensor: expected a number, boolean or table of numbers, got nil', torch.tensor, nil },
    { 'tensor: value 300 %(element 2%) cannot be converted to uint8 without overflow', torch.tensor, { 1, 300 }, { dtype = 'uint8' } },
    { 'tensor: value %-?nan %(element 1%) cannot be converted to int32 without overflow', torch.tensor, { 0 / 0 }, { dtype = 'int32' } },
    { 'torch.LongTensor: value 9.2233720368548e%+18 %(element 1%) cannot be converted to int64', torch.LongTensor, { 2 ^ 63 } },
    { 'torch.CharTensor: value %-129 %(element 2%) cannot be converted to int8', torch.CharTensor, { { 1, -129 } } },
    { 'full: value 2147483648 cannot be converted to int32 without overflow', torch.full, { 2 }, 2 ^ 31, { dtype = 'int32' } },
    { 'full_like: value 256 cannot be converted to uint8', torch.full_like, torch.zeros(1, { dtype = 'uint8' }), 256 },
    { 'tensor: expected a number, boolean or table of numbers, got string', torch.tensor, 'abc' },
    { 'tensor: at most 16 dimensions are supported, got 17',
      torch.tensor, { { { { { { { { { { { { { { { { { 1 } } } } } } } } } } } } } } } } } },
  }
  for _, c in ipairs(cases) do
    it(c[1], function()
      assert.matches(c[1], err(c[2], unpack(c, 3, table.maxn(c))))
    end)
  end
end)

-- ---- x:new_* take x's dtype and device ----
do
  local cases = require('helpers.cases').new()
  local x = torch.randn(2):double()
  cases:add('new_zeros, new_ones', function(t) return { t.x:new_zeros(2, 3), t.x:new_ones({ 4 }) } end,
            'out = [x.new_zeros(2, 3), x.new_ones(4)]', { x = x })
  cases:add('new_full, new_tensor', function(t) return { t.x:new_full({ 2, 2 }, 2.5), t.x:new_tensor({ { 1, 2 }, { 3, 4 } }) } end,
            'out = [x.new_full((2, 2), 2.5), x.new_tensor([[1, 2], [3, 4]])]', { x = x })
  cases:add('new_* with a dtype of their own, of an int64 tensor', function(t)
    return { t.x:new_zeros(3, { dtype = 'float32' }), t.x:new_ones(2), t.x:new_tensor({ 7.9 }) }
  end, 'out = [x.new_zeros(3, dtype=torch.float32), x.new_ones(2), x.new_tensor([7.9])]', { x = torch.tensor({ 1, 2 }) })
  cases:add('new_empty shape and dtype', function(t) return t.x:new_empty(2, 3):zero_() end, 'out = x.new_empty(2, 3).zero_()',
            { x = torch.randn(1):half() })
  cases:describe('x:new_* match PyTorch')

  it('x:new_* take requires_grad and refuse bad sizes', function()
    assert.is_true(x:new_zeros(2, { requires_grad = true }).requires_grad)
    assert.matches('new_ones', require('helpers.failure')(function() return x:new_ones(-1) end))
  end)
end

-- ---- logspace ----
do
  local cases = require('helpers.cases').new()
  cases:add('logspace', function() return { torch.logspace(0, 3, 4), torch.logspace(-2, 2, 9, 2, { dtype = 'float64' }),
                                             torch.logspace(1, -1, 5, { dtype = 'float64' }), torch.logspace(0, 1, 1) } end,
            'out = [torch.logspace(0, 3, 4), torch.logspace(-2, 2, 9, 2, dtype=torch.float64), '
              .. 'torch.logspace(1, -1, 5, dtype=torch.float64), torch.logspace(0, 1, 1)]')
  cases:describe('logspace matches PyTorch')
end
