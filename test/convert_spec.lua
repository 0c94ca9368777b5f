-- Conversions: to / type / float() double() ... / Torch7 type names / torch.type, and the raw views of
-- a tensor (data_ptr, element_size). Element values of all dtype pairs are checked against PyTorch in
-- reference_spec.lua; here the API around them, with hand-computed expectations.
local ffi = require 'ffi'
local torch = require 'tensor'

local function err(f)
  local ok, msg = pcall(f)
  assert.is_false(ok, 'expected an error')
  return tostring(msg)
end

-- dtype, Torch7 class name, shorthand method, element size, element pointer type
local table_of_types = {
  { 'float32', 'torch.FloatTensor', 'float', 4, 'float *' },
  { 'float64', 'torch.DoubleTensor', 'double', 8, 'double *' },
  { 'float16', 'torch.HalfTensor', 'half', 2, 'uint16_t *' },
  { 'bfloat16', 'torch.BFloat16Tensor', 'bfloat16', 2, 'uint16_t *' },
  { 'int64', 'torch.LongTensor', 'long', 8, 'int64_t *' },
  { 'int32', 'torch.IntTensor', 'int', 4, 'int32_t *' },
  { 'int16', 'torch.ShortTensor', 'short', 2, 'int16_t *' },
  { 'int8', 'torch.CharTensor', 'char', 1, 'int8_t *' },
  { 'uint8', 'torch.ByteTensor', 'byte', 1, 'uint8_t *' },
  { 'bool', 'torch.BoolTensor', 'bool', 1, 'uint8_t *' },
}

describe('dtype conversion methods', function()
  for _, row in ipairs(table_of_types) do
    local dt, class, method, size, ptr = row[1], row[2], row[3], row[4], row[5]
    it(method .. '() / to(' .. dt .. ') / type(' .. class .. ')', function()
      local x = torch.tensor({ { 0, 1.75 }, { -2.5, 3 } })
      for _, y in ipairs({ x[method](x), x:to(dt), x:to({ dtype = dt }), x:type(class), x:typeAs(torch.zeros(1, { dtype = dt })) }) do
        assert.equals(dt, y:dtype())
        assert.equals(class, y:type())
        assert.equals(class, torch.type(y))
        assert.are.same({ 2, 2 }, y:shape())
      end
      local y = x:to(dt)
      assert.equals(size, y:element_size())
      assert.equals(4 * size, y:nbytes())
      assert.is_true(ffi.istype(ptr, y:data_ptr()))
      assert.equals(dt == 'float32' or dt == 'float64' or dt == 'float16' or dt == 'bfloat16', y:is_floating_point())
      -- values (hand-computed): floats keep 1.75 and -2.5 exactly; integers truncate; bool is "not zero"
      local expected = ({
        float32 = { { 0, 1.75 }, { -2.5, 3 } }, float64 = { { 0, 1.75 }, { -2.5, 3 } },
        float16 = { { 0, 1.75 }, { -2.5, 3 } }, bfloat16 = { { 0, 1.75 }, { -2.5, 3 } },
        int64 = { { 0, 1 }, { -2, 3 } }, int32 = { { 0, 1 }, { -2, 3 } }, int16 = { { 0, 1 }, { -2, 3 } },
        int8 = { { 0, 1 }, { -2, 3 } }, uint8 = { { 0, 1 }, { 254, 3 } }, bool = { { false, true }, { true, true } },
      })[dt]
      assert.are.same(expected, y:tolist())
    end)
  end

  it('a conversion to the same dtype returns the tensor itself (Torch7 and PyTorch)', function()
    local x = torch.zeros(2, { dtype = 'int16' })
    assert.equals(x, x:short())
    assert.equals(x, x:to('int16'))
    assert.equals(x, x:type('torch.ShortTensor'))
    assert.equals(x, x:to({ dtype = 'int16', device = 'cpu' }))
    assert.equals(x, x:cpu())
    assert.equals(x, x:to('cpu'))
    assert.equals(x, x:to(torch.ones(3, { dtype = 'int16' })))
  end)

  it('a conversion to another dtype makes a new contiguous tensor with fresh storage', function()
    local x = torch.arange(6):view(2, 3):t()
    local y = x:double()
    assert.is_false(y:shares_storage(x))
    assert.is_true(y:is_contiguous())
    assert.are.same({ { 0, 3 }, { 1, 4 }, { 2, 5 } }, y:tolist())
    local z = x:to({ dtype = 'int64', copy = true })
    assert.is_false(z:shares_storage(x))
    assert.are.same(x:tolist(), z:tolist())
  end)

  it('to(tensor) takes the other tensor\'s dtype; typeAs its type', function()
    local x = torch.tensor({ 1.5 })
    assert.equals('int8', x:to(torch.zeros(1, { dtype = 'int8' })):dtype())
    assert.equals('float64', x:typeAs(torch.zeros(1, { dtype = 'float64' })):dtype())
  end)

  it('dtype aliases (PyTorch spellings)', function()
    local x = torch.zeros(1)
    local aliases = { float = 'float32', double = 'float64', half = 'float16', long = 'int64', int = 'int32',
                      short = 'int16', char = 'int8', byte = 'uint8', boolean = 'bool' }
    for alias, name in pairs(aliases) do assert.equals(name, x:to({ dtype = alias }):dtype()) end
    assert.equals('float64', torch.zeros(1, { dtype = 'double' }):dtype())
  end)

  it('bad targets raise errors naming the function', function()
    local x = torch.zeros(2)
    assert.matches("to: unknown dtype 'foo'", err(function() return x:to({ dtype = 'foo' }) end))
    assert.matches("to: unknown device 'foo'", err(function() return x:to('foo') end))
    assert.matches('to: expected a dtype name, a device, a tensor or an options table, got number',
                   err(function() return x:to(5) end))
    assert.matches("type: unknown tensor type 'torch.FooTensor'", err(function() return x:type('torch.FooTensor') end))
    assert.matches("type: unknown tensor type 'float'", err(function() return x:type('float') end))
    assert.matches('type: expected a type name such as torch.FloatTensor, got number', err(function() return x:type(3) end))
    if not torch.cuda.is_available() then
      assert.matches('cuda: CUDA is not available', err(function() return x:cuda() end))
      assert.matches('to: CUDA is not available', err(function() return x:to('cuda') end))
      assert.matches('type: CUDA is not available', err(function() return x:type('torch.CudaTensor') end))
    end
  end)
end)

describe('torch.type and friends', function()
  it('torch.type names tensors by their Torch7 class and other values by Lua type', function()
    assert.equals('torch.FloatTensor', torch.type(torch.zeros(1)))
    assert.equals('torch.LongTensor', torch.typename(torch.arange(3)))
    assert.equals('number', torch.type(1))
    assert.equals('string', torch.type('a'))
    assert.equals('table', torch.type({}))
    assert.equals('nil', torch.type(nil))
    assert.equals('My.Class', torch.type(setmetatable({}, { __typename = 'My.Class' })))
  end)

  it('torch.is_tensor / isTensor', function()
    assert.is_true(torch.is_tensor(torch.zeros(1)))
    assert.is_true(torch.isTensor(torch.zeros(1):t()))
    assert.is_false(torch.is_tensor({ _c = 1 }))
    assert.is_false(torch.is_tensor(3))
  end)

  it('device and is_cuda', function()
    local x = torch.zeros(1)
    assert.equals('cpu', x:device())
    assert.is_false(x:is_cuda())
  end)
end)

describe('data_ptr', function()
  it('points at the first element of the view, typed by dtype', function()
    local x = torch.arange(10):float()
    local v = x:narrow(1, 4, 3)
    local p = v:data_ptr()
    assert.is_true(ffi.istype('float *', p))
    assert.equals(3, p[0])
    assert.equals(5, p[2])
    p[1] = 40
    assert.equals(40, x[5])
    assert.equals(3 * 4, ffi.cast('char *', p) - ffi.cast('char *', x:data_ptr()))
  end)

  it('is NULL for an empty tensor without storage bytes', function()
    assert.is_true(torch.zeros(0):data_ptr() == nil)
  end)
end)

describe('tolist', function()
  it('nests tables by dimension; a 0-d tensor gives a number; totable is an alias', function()
    assert.are.same({ { { 0, 1 } }, { { 2, 3 } } }, torch.arange(4):view(2, 1, 2):tolist())
    assert.are.same({}, torch.zeros(0):tolist())
    assert.are.same({ {}, {} }, torch.zeros(2, 0):tolist())
    assert.equals(2.5, torch.tensor(2.5):tolist())
    assert.are.same({ 1, 2 }, torch.tensor({ 1, 2 }):totable())
  end)
end)
