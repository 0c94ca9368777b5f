-- Moving dims and broadcasting against PyTorch: movedim/moveaxis, swapaxes/swapdims, ravel, x.T, x.mT, x.ndim,
-- broadcast_to, broadcast_shapes, broadcast_tensors and meshgrid (views: they share storage); their gradients by
-- finite differences; errors.
local torch = require 'tensor'
local message = require 'helpers.failure'
local ref = require 'helpers.torchref'

torch.manual_seed(31)

local cases = require('helpers.cases').new()
local function case(...) cases:add(...) end

local x = torch.randn(2, 3, 4)
local xt = torch.randn(4, 3, 2):transpose(1, 3) -- [2 x 3 x 4], not contiguous
for _, input in ipairs({ { 'contiguous', x }, { 'transposed', xt } }) do
  local t, label = input[2], input[1]
  case('movedim 1 -> -1, ' .. label, function(a) return a.x:movedim(1, -1) end, 'out = torch.movedim(x, 0, -1)', { x = t })
  case('movedim {1, 2} -> {3, 1}, ' .. label, function(a) return torch.movedim(a.x, { 1, 2 }, { 3, 1 }) end,
       'out = torch.movedim(x, (0, 1), (2, 0))', { x = t })
  case('moveaxis -1 -> 2, ' .. label, function(a) return a.x:moveaxis(-1, 2) end, 'out = torch.moveaxis(x, -1, 1)', { x = t })
  case('swapaxes, ' .. label, function(a) return a.x:swapaxes(1, 3) end, 'out = torch.swapaxes(x, 0, 2)', { x = t })
  case('torch.swapdims, ' .. label, function(a) return torch.swapdims(a.x, 2, -1) end, 'out = torch.swapdims(x, 1, -1)',
       { x = t })
  case('ravel, ' .. label, function(a) return a.x:ravel() end, 'out = torch.ravel(x)', { x = t })
  case('x.T, ' .. label, function(a) return a.x.T end, 'out = x.permute(2, 1, 0)', { x = t })
  case('x.mT, ' .. label, function(a) return a.x.mT end, 'out = x.mT', { x = t })
end
case('x.T of a matrix', function(a) return a.x.T end, 'out = x.T', { x = torch.randn(3, 5) })
case('x.T of a vector', function(a) return a.x.T end, 'out = x', { x = torch.randn(4) })
case('movedim of an int64 tensor', function(a) return a.x:movedim(2, 1) end, 'out = torch.movedim(x, 1, 0)',
     { x = torch.randint(-9, 9, { 3, 2 }) })
case('broadcast_to', function(a) return a.x:broadcast_to({ 2, 3, 4 }) end, 'out = torch.broadcast_to(x, (2, 3, 4))',
     { x = torch.randn(3, 1) })
case('torch.broadcast_to a torch.Size', function(a) return torch.broadcast_to(a.x, torch.Size({ 5, 2 })) end,
     'out = torch.broadcast_to(x, (5, 2))', { x = torch.randn(2) })
case('broadcast_tensors, several values', function(a)
  return { torch.broadcast_tensors(a.x, a.y, a.z) }
end, 'out = list(torch.broadcast_tensors(x, y, z))', { x = torch.randn(3, 1), y = torch.randn(4), z = torch.randn(2, 1, 1) })
case('broadcast_tensors, a list', function(a) return torch.broadcast_tensors({ a.x, a.y }) end,
     'out = list(torch.broadcast_tensors(x, y))', { x = torch.randn(1, 4):t(), y = torch.randint(0, 5, { 1, 3 }) })
case('meshgrid ij, several values', function(a) return { torch.meshgrid(a.x, a.y, a.z) } end,
     "out = list(torch.meshgrid(x, y, z, indexing='ij'))", { x = torch.randn(3), y = torch.randn(2), z = torch.randn(4) })
case('meshgrid xy, a list', function(a) return torch.meshgrid({ a.x, a.y, a.z }, { indexing = 'xy' }) end,
     "out = list(torch.meshgrid(x, y, z, indexing='xy'))", { x = torch.randn(3), y = torch.randn(2), z = torch.randn(4) })
case('meshgrid of a 0-d and a 1-d int64', function(a) return { torch.meshgrid(a.x, a.y) } end,
     "out = list(torch.meshgrid(x, y, indexing='ij'))", { x = torch.tensor(7), y = torch.arange(1, 4) })

cases:describe('shape ops match PyTorch')

describe('shape ops', function()
  it('are views: writing through one changes the input', function()
    local a = torch.zeros(2, 3, 4)
    a:movedim(1, -1)[{ 2, 3, 1 }] = 5
    a.T[{ 4, 3, 2 }] = 7
    a:ravel()[1] = 9
    local b = torch.zeros(3)
    local grid = torch.meshgrid(b, torch.zeros(2))
    assert.are.equal(5, a[{ 1, 2, 3 }])
    assert.are.equal(7, a[{ 2, 3, 4 }])
    assert.are.equal(9, a[{ 1, 1, 1 }])
    assert.is_true(grid:shares_storage(b))
    assert.are.equal(3, torch.zeros(2, 3, 4).ndim)
    -- Torch7's names of expand_as and view_as
    assert.are.same({ 3, 4 }, torch.zeros(3, 1):expandAs(torch.zeros(3, 4)):size():totable())
    assert.are.same({ 2, 3 }, torch.arange(1, 7):viewAs(torch.zeros(2, 3)):size():totable())
  end)

  it('broadcast_shapes gives the common shape', function()
    assert.are.same({ 2, 3, 4 }, torch.broadcast_shapes({ 3, 1 }, { 2, 1, 4 }, 4):totable())
    assert.are.equal(torch.Size({ 0, 3 }), torch.broadcast_shapes({ 0, 1 }, { 3 }))
    assert.are.equal(torch.Size({}), torch.broadcast_shapes())
  end)
end)

describe('shape ops carry gradients', function()
  local gradcheck = torch.autograd.gradcheck
  local function R(...) return torch.randn(...):double():requires_grad_() end
  it('through movedim, swapaxes, ravel, T, mT, broadcast_to and meshgrid', function()
    assert.is_true(gradcheck(function(a) return a:movedim({ 1, 3 }, { 2, 1 }):exp() end, { R(2, 3, 4) }))
    assert.is_true(gradcheck(function(a) return a:swapaxes(1, 2):ravel():sin() end, { R(2, 3) }))
    assert.is_true(gradcheck(function(a) return a.T * a.mT:exp() end, { R(2, 3) }))
    assert.is_true(gradcheck(function(a) return a:broadcast_to({ 4, 2, 3 }) * torch.arange(1, 4):double() end, { R(2, 1) }))
    assert.is_true(gradcheck(function(a, b)
      local ga, gb = torch.meshgrid(a, b, { indexing = 'xy' })
      return ga * gb:exp()
    end, { R(3), R(2) }))
  end)
end)

describe('shape op errors', function()
  it('name the function and the values', function()
    local x = torch.zeros(2, 3)
    assert.matches('movedim: source and destination must have as many dims, got 2 and 1',
                   message(function() return x:movedim({ 1, 2 }, 1) end), 1, true)
    assert.matches('movedim: dimension 1 appears more than once in source',
                   message(function() return x:movedim({ 1, -2 }, { 1, 2 }) end), 1, true)
    assert.matches('movedim: dimension 3 out of range', message(function() return x:movedim(3, 1) end), 1, true)
    assert.matches('mT: expects a tensor with at least 2 dimensions, got 1', message(function() return torch.zeros(3).mT end),
                   1, true)
    assert.matches('broadcast_to: a tensor of size [2 x 3] cannot be broadcast to [3 x 3]',
                   message(function() return x:broadcast_to({ 3, 3 }) end), 1, true)
    assert.matches('broadcast_to: a tensor of size [2 x 3] cannot be broadcast to [3]',
                   message(function() return x:broadcast_to({ 3 }) end), 1, true)
    assert.matches('broadcast_shapes: shapes [3 x 2] and [4] cannot be broadcast together',
                   message(function() return torch.broadcast_shapes({ 3, 2 }, { 4 }) end), 1, true)
    assert.matches('broadcast_shapes: shape 2 has an invalid size -1',
                   message(function() return torch.broadcast_shapes({ 3 }, { -1 }) end), 1, true)
    assert.matches('broadcast_tensors: argument 2 must be a tensor, got number',
                   message(function() return torch.broadcast_tensors(x, 3) end), 1, true)
    assert.matches('broadcast_tensors: shapes [2 x 3] and [2] cannot be broadcast together',
                   message(function() return torch.broadcast_tensors(x, torch.zeros(2)) end), 1, true)
    assert.matches('meshgrid: tensor 1 must be 0-d or 1-d, got 2 dims', message(function() return torch.meshgrid(x) end),
                   1, true)
    assert.matches("meshgrid: indexing must be 'ij' or 'xy', got yx",
                   message(function() return torch.meshgrid(torch.zeros(2), { indexing = 'yx' }) end), 1, true)
    assert.matches('meshgrid: expects tensors of one dtype, got float32 (tensor 1) and int64 (tensor 2)',
                   message(function() return torch.meshgrid(torch.zeros(2), torch.arange(1, 3)) end), 1, true)
    assert.matches('meshgrid: expected at least one tensor', message(function() return torch.meshgrid({}) end), 1, true)
  end)
end)
