-- x[i], x[i] = v and Torch7 table indexing x[{ {2,4}, 3 }] for reading and writing; fill_ and zero_.
-- Expected values are hand-computed from arange: element (i, j) of M below is 4 * (i - 1) + (j - 1).
local torch = require 'tensor'

local function M() return torch.arange(20):view(5, 4) end

local function err(f)
  local ok, msg = pcall(f)
  assert.is_false(ok, 'expected an error')
  return tostring(msg)
end

describe('x[i]', function()
  it('of a 1-d tensor is the element (1-based, negative from the end)', function()
    local v = torch.tensor({ 10, 20, 30 })
    assert.equals(10, v[1])
    assert.equals(30, v[3])
    assert.equals(30, v[-1])
    assert.equals(10, v[-3])
    assert.equals('number', type(v[2]))
    assert.equals(true, torch.tensor({ false, true })[2])
    assert.equals(0.5, torch.tensor({ 0.25, 0.5 }, { dtype = 'float16' })[2])
  end)

  it('of a 1-d view reads through strides and offset', function()
    local col = M():select(2, 3)
    assert.are.same({ 2, 6, 10, 14, 18 }, { col[1], col[2], col[3], col[4], col[5] })
    local rev = M():t()[2]
    assert.are.same({ 1, 5, 9, 13, 17 }, rev:tolist())
  end)

  it('of an n-d tensor is a view of row i', function()
    local x = M()
    local row = x[2]
    assert.are.same({ 4 }, row:shape())
    assert.are.same({ 4, 5, 6, 7 }, row:tolist())
    assert.is_true(row:shares_storage(x))
    assert.are.same({ 16, 17, 18, 19 }, x[-1]:tolist())
    assert.equals(7, x[2][4])
    local y = torch.arange(24):view(2, 3, 4)
    assert.are.same({ 3, 4 }, y[2]:shape())
    assert.equals(23, y[2][3][4])
  end)

  it('x[i] = v writes an element of a 1-d tensor, converting to its dtype', function()
    local v = torch.zeros(3, { dtype = 'int32' })
    v[2] = 7
    v[-1] = -2.75
    assert.are.same({ 0, 7, -2 }, v:tolist())
    local b = torch.zeros(2, { dtype = 'bool' })
    b[1] = true
    b[2] = 0
    assert.are.same({ true, false }, b:tolist())
    local f = torch.zeros(2)
    f[1] = true
    assert.are.same({ 1, 0 }, f:tolist())
    local h = torch.zeros(2, { dtype = 'bfloat16' })
    h[2] = 1 + 2 ^ -8 -- a tie: rounds to even (1)
    assert.are.same({ 0, 1 }, h:tolist())
  end)

  it('x[i] = v on an n-d tensor fills or copies into row i (with broadcasting)', function()
    local x = M()
    x[2] = 0
    x[3] = torch.tensor({ 1, 2, 3, 4 })
    x[-1] = torch.tensor({ 9 })
    assert.are.same({ { 0, 1, 2, 3 }, { 0, 0, 0, 0 }, { 1, 2, 3, 4 }, { 12, 13, 14, 15 }, { 9, 9, 9, 9 } }, x:tolist())
  end)

  it('a write through x[i] bumps the version counter', function()
    local v = torch.zeros(3)
    local before = v:_version()
    v[1] = 1
    assert.is_true(v:_version() > before)
  end)

  it('rejects bad indices with messages naming index and the values', function()
    local v = torch.zeros(3)
    assert.matches('index: index 4 is out of range for dimension 1 of size 3', err(function() return v[4] end))
    assert.matches('index: index %-4 is out of range for dimension 1 of size 3', err(function() return v[-4] end))
    assert.matches('index 0 is out of range', err(function() return v[0] end))
    assert.matches('index: index must be an integer, got 1.5', err(function() return v[1.5] end))
    assert.matches('select: index 6 is out of range for dimension 1 of size 5', err(function() return M()[6] end))
    assert.matches('index: cannot index a 0%-d tensor', err(function() return torch.tensor(1)[1] end))
    assert.matches('index: cannot index a 0%-d tensor', err(function() local s = torch.tensor(1); s[1] = 2 end))
    assert.matches('index: cannot index a tensor with a boolean', err(function() return v[true] end))
    assert.matches('index: cannot index a tensor with a boolean', err(function() v[true] = 1 end))
    assert.matches('index: cannot assign a string to a tensor element', err(function() v[1] = 'a' end))
    assert.matches('index: cannot assign a string', err(function() local x = M(); x[1] = 'a' end))
    assert.matches('index: index 4 is out of range', err(function() v[4] = 1 end))
    local b = torch.zeros(2, { dtype = 'int8' })
    assert.matches('index: value 128 cannot be converted to int8 without overflow', err(function() b[1] = 128 end))
    assert.matches('fill_: value 128 cannot be converted to int8 without overflow', err(function() b[{ { 1, 2 } }] = 128 end))
    assert.matches('fill_: value %-129 cannot be converted to int8', err(function() b:fill_(-129) end))
    b[2] = -128.5 + 0.75 -- -127.75 truncates to -127
    assert.are.same({ 0, -127 }, b:tolist())
  end)
end)

describe('Torch7 table indexing', function()
  it('x[{ {2,4}, 3 }] reads a range of rows at one column', function()
    local r = M()[{ { 2, 4 }, 3 }]
    assert.are.same({ 3 }, r:shape())
    assert.are.same({ 6, 10, 14 }, r:tolist())
  end)

  it('a one-element range {2} keeps the dimension; a number removes it', function()
    assert.are.same({ 1 }, M()[{ { 2 }, 3 }]:shape())
    assert.are.same({ 6 }, M()[{ { 2 }, 3 }]:tolist())
    assert.are.same({ 1, 1 }, M()[{ { 2 }, { 3 } }]:shape())
    assert.are.same({ 1, 4 }, M()[{ { 2 } }]:shape())
    assert.are.same({ 4 }, M()[{ 2 }]:shape())
  end)

  it('negative bounds count from the end: {-2,-1} is the last two', function()
    assert.are.same({ { 12, 13, 14, 15 }, { 16, 17, 18, 19 } }, M()[{ { -2, -1 } }]:tolist())
    assert.are.same({ { 2, 3 }, { 6, 7 } }, M()[{ { 1, 2 }, { -2, -1 } }]:tolist())
    assert.are.same({ 19 }, M()[{ { -1 }, -1 }]:tolist())
    assert.are.same({ { 1, 2 } }, M()[{ { 1 }, { 2, -2 } }]:tolist())
  end)

  it('{} selects a whole dimension', function()
    assert.are.same({ 1, 5, 9, 13, 17 }, M()[{ {}, 2 }]:tolist())
    assert.are.same({ 5, 4 }, M()[{ {}, {} }]:shape())
    assert.are.same({ 8, 9, 10, 11 }, M()[{ 3, {} }]:tolist())
  end)

  it('an index of numbers for every dimension yields the element', function()
    assert.equals(11, M()[{ 3, 4 }])
    assert.equals(19, M()[{ -1, -1 }])
    local y = torch.arange(24):view(2, 3, 4)
    assert.equals(17, y[{ 2, 2, 2 }])
    assert.equals('number', type(y[{ 1, 1, 1 }]))
    assert.equals(true, torch.tensor({ { false, true } })[{ 1, 2 }])
  end)

  it('fewer entries than dimensions leave the trailing dimensions whole', function()
    local y = torch.arange(24):view(2, 3, 4)
    local r = y[{ 2, { 2, 3 } }]
    assert.are.same({ 2, 4 }, r:shape())
    assert.are.same({ { 16, 17, 18, 19 }, { 20, 21, 22, 23 } }, r:tolist())
    assert.are.same({ { 5, 9 }, { 17, 21 } }, y[{ {}, { 2, 3 }, 2 }]:tolist())
  end)

  it('an empty range (last = first - 1) gives an empty view', function()
    assert.are.same({ 0, 4 }, M()[{ { 3, 2 } }]:shape())
    assert.are.same({ 5, 0 }, M()[{ {}, { 5, 4 } }]:shape())
  end)

  it('results of ranges are views: writes reach the base', function()
    local x = M()
    local v = x[{ { 2, 3 }, { 2, 3 } }]
    assert.is_true(v:shares_storage(x))
    v:fill_(-1)
    assert.are.same({ { 0, 1, 2, 3 }, { 4, -1, -1, 7 }, { 8, -1, -1, 11 }, { 12, 13, 14, 15 }, { 16, 17, 18, 19 } },
                    x:tolist())
  end)

  it('x[{...}] = number fills the selection', function()
    local x = M()
    x[{ { 2, 4 }, 3 }] = 0
    assert.are.same({ 2, 0, 0, 0, 18 }, x:select(2, 3):tolist())
    x[{ {}, { -1 } }] = 100
    assert.are.same({ 100, 100, 100, 100, 100 }, x:select(2, 4):tolist())
    x[{ 1, {} }] = true
    assert.are.same({ 1, 1, 1, 1 }, x[1]:tolist())
  end)

  it('x[{...}] = tensor copies (with broadcasting and dtype conversion)', function()
    local x = M()
    x[{ { 1, 2 }, { 1, 2 } }] = torch.tensor({ { -1, -2 }, { -3, -4 } })
    assert.are.same({ { -1, -2, 2, 3 }, { -3, -4, 6, 7 } }, x[{ { 1, 2 } }]:tolist())
    x[{ {}, 4 }] = torch.tensor({ 0.5 })
    assert.are.same({ 0, 0, 0, 0, 0 }, x:select(2, 4):tolist()) -- int64 target truncates 0.5
    local f = torch.zeros(2, 3)
    f[{ {}, { 2, 3 } }] = torch.tensor({ 7.5, 8.5 })
    assert.are.same({ { 0, 7.5, 8.5 }, { 0, 7.5, 8.5 } }, f:tolist())
  end)

  it('x[{i, j}] = v writes one element (a one-element tensor is accepted)', function()
    local x = M()
    x[{ 5, 4 }] = -1
    x[{ -5, -4 }] = torch.tensor({ 42 })
    assert.equals(-1, x[5][4])
    assert.equals(42, x[1][1])
    local b = torch.zeros(2, 2, { dtype = 'bool' })
    b[{ 2, 1 }] = true
    assert.are.same({ { false, false }, { true, false } }, b:tolist())
  end)

  it('rejects bad index tables with messages naming index and the values', function()
    local x = M()
    assert.matches('index: too many indices: 3 given for a tensor of 2 dimensions',
                   err(function() return x[{ 1, 1, 1 }] end))
    assert.matches('index: range {5, 6} is out of bounds for dimension 1 of size 5',
                   err(function() return x[{ { 5, 6 } }] end))
    assert.matches('index: range {0, 2} is out of bounds for dimension 1 of size 5',
                   err(function() return x[{ { 0, 2 } }] end))
    assert.matches('index: range {%-6, %-1} is out of bounds for dimension 1 of size 5',
                   err(function() return x[{ { -6, -1 } }] end))
    assert.matches('index: range {3, 1} is out of bounds', err(function() return x[{ { 3, 1 } }] end))
    assert.matches('index: index entry 2 must be a range', err(function() return x[{ 1, { 1, 'a' } }] end))
    assert.matches('index: index entry 1 must be a range', err(function() return x[{ { 1, 2, 3 } }] end))
    assert.matches('index: index entry 1 must be a range', err(function() return x[{ { 1.5 } }] end))
    assert.matches('index: index entry 1 must be a number, a range table or a tensor of positions, got string',
                   err(function() return x[{ 'a' }] end))
    assert.matches('index: index 6 is out of range for dimension 1 of size 5', err(function() return x[{ 6, 1 }] end))
    assert.matches('index: index 5 is out of range for dimension 2 of size 4', err(function() return x[{ 1, 5 }] end))
    assert.matches('select: index 7 is out of range', err(function() return x[{ 7, {} }] end))
    assert.matches('index: cannot assign a string', err(function() x[{ 1, 1 }] = 'a' end))
    assert.matches('index: cannot assign a table', err(function() x[{ { 1, 2 } }] = { 1, 2 } end))
    assert.matches('copy_: cannot copy a tensor of size %[3%] into one of size %[2 x 4%]',
                   err(function() x[{ { 1, 2 } }] = torch.zeros(3) end))
  end)
end)

describe('fill_ and zero_', function()
  it('fill every element of a (non-contiguous) view, converting the value', function()
    local x = M()
    x:t():narrow(1, 2, 2):fill_(-7.9)
    assert.are.same({ { 0, -7, -7, 3 }, { 4, -7, -7, 7 } }, x[{ { 1, 2 } }]:tolist())
    x:zero_()
    assert.are.same({ 0, 0, 0, 0 }, x[5]:tolist())
    assert.are.same({ true, true }, torch.zeros(2, { dtype = 'bool' }):fill_(0.1):tolist())
    assert.equals(65504, torch.zeros(1, { dtype = 'float16' }):fill_(65504)[1])
    assert.equals(math.huge, torch.zeros(1, { dtype = 'float16' }):fill_(70000)[1])
    assert.equals(255, torch.zeros(1, { dtype = 'uint8' }):fill_(-1)[1])
    assert.equals(x, x:fill_(1))
    assert.equals(x, x:zero_())
  end)

  it('fill_ takes a number, a boolean or a one-element tensor', function()
    assert.are.same({ 2.5, 2.5 }, torch.zeros(2):fill_(torch.tensor(2.5)):tolist())
    assert.are.same({ 1, 1 }, torch.zeros(2):fill_(true):tolist())
    assert.matches('fill_: expected a number, got string', err(function() torch.zeros(2):fill_('a') end))
    assert.matches('item: only a tensor with one element', err(function() torch.zeros(2):fill_(torch.zeros(2)) end))
  end)
end)
