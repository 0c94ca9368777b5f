-- Torch7's element-wise Lua functions, x:apply(f), x:map(y, f), x:map2(y, z, f), against values computed by
-- hand: row-major order on strided views, elements kept where f returns nothing, dtypes, and their errors.
local torch = require 'tensor'
local message = require 'helpers.failure'

describe('Lua functions over elements', function()
  it('apply visits the elements in row-major order and writes into a strided view', function()
    local base = torch.zeros(3, 4)
    local view = base:narrow(2, 2, 2):t() -- [2 x 3], strided
    local seen, k = {}, 0
    view:apply(function(v)
      k = k + 1
      seen[k] = v
      return k
    end)
    assert.are.same({ 0, 0, 0, 0, 0, 0 }, seen)
    -- the view's rows are base's columns 2 and 3
    assert.are.same({ { 0, 1, 4, 0 }, { 0, 2, 5, 0 }, { 0, 3, 6, 0 } }, base:totable())
  end)

  it('apply keeps the elements for which f returns nothing, and converts to the dtype', function()
    local x = torch.tensor({ 1, 2, 3, 4 })
    assert.are.equal(x, x:apply(function(v) if v % 2 == 0 then return v * 10 end end))
    assert.are.same({ 1, 20, 3, 40 }, x:totable())
    local f = torch.tensor({ 0.25, 0.5 }):double()
    f:apply(function(v) return v / 3 end)
    assert.are.same({ 0.25 / 3, 0.5 / 3 }, f:totable())
    local b = torch.tensor({ true, false, true })
    b:apply(function(v) return not v end)
    assert.are.same({ false, true, false }, b:totable())
  end)

  it('map and map2 pair the elements of tensors of one element count in row-major order', function()
    local x = torch.tensor({ { 1, 2 }, { 3, 4 } }):double()
    x:map(torch.tensor({ 10, 20, 30, 40 }), function(a, b) return a + b end)
    assert.are.same({ { 11, 22 }, { 33, 44 } }, x:totable())
    x:map2(torch.tensor({ { 1, 2 }, { 3, 4 } }):t(), torch.ones(4), function(a, b, c) return a * b + c end)
    assert.are.same({ { 12, 67 }, { 67, 177 } }, x:totable())
  end)

  it('refuse what they cannot do, naming themselves', function()
    assert.matches('apply: expected a function as argument 1, got number', message(function() torch.zeros(2):apply(3) end),
                   1, true)
    assert.matches('map: argument 1 has 3 elements, self has 2',
                   message(function() torch.zeros(2):map(torch.zeros(3), function(a) return a end) end), 1, true)
    assert.matches('map2: expected a tensor for argument 2',
                   message(function() torch.zeros(2):map2(torch.zeros(2), 5, function(a) return a end) end), 1, true)
    assert.matches('apply: the function returned a string for element 1',
                   message(function() torch.zeros(2):apply(function() return 'x' end) end), 1, true)
    assert.matches('apply: cannot change a tensor that requires grad in place',
                   message(function() torch.zeros(2, { requires_grad = true }):apply(function(v) return v end) end), 1, true)
  end)
end)
