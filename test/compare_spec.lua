-- Whole-tensor comparisons against PyTorch: isclose (tolerances, infinities, NaN with and without equal_nan,
-- broadcasting, integers and bool), allclose and equal; their errors.
local torch = require 'tensor'
local message = require 'helpers.failure'

local cases = require('helpers.cases').new()
local inf, nan = math.huge, 0 / 0

local a = torch.tensor({ 1, 1 + 1e-6, 1e10, inf, -inf, inf, nan, nan, 0, -0.0, 2, 1e-9 })
local b = torch.tensor({ 1, 1, 1.00001e10, inf, -inf, -inf, nan, 1, 1e-9, 0, 2.1, 0 })
for _, dt in ipairs({ 'float32', 'float64' }) do
  local x, y = a:to(dt), b:to(dt)
  cases:add('isclose ' .. dt, function(t) return t.x:isclose(t.y) end, 'out = torch.isclose(x, y)', { x = x, y = y })
  cases:add('isclose equal_nan ' .. dt, function(t) return torch.isclose(t.x, t.y, { equal_nan = true }) end,
            'out = torch.isclose(x, y, equal_nan=True)', { x = x, y = y })
  cases:add('isclose rtol=0.1, atol=0 ' .. dt, function(t) return t.x:isclose(t.y, { rtol = 0.1, atol = 0 }) end,
            'out = torch.isclose(x, y, rtol=0.1, atol=0)', { x = x, y = y })
  cases:add('allclose ' .. dt, function(t) return { t.x:allclose(t.y), torch.allclose(t.x, t.x + 1e-9), torch.allclose(t.x, t.x) } end,
            'out = [torch.allclose(x, y), torch.allclose(x, x + 1e-9), torch.allclose(x, x)]', { x = x, y = y })
end
cases:add('isclose broadcast, transposed', function(t) return torch.isclose(t.x:t(), t.y, { atol = 0.5 }) end,
          'out = torch.isclose(x.t(), y, atol=0.5)', { x = torch.randn(4, 3), y = torch.randn(4) })
cases:add('isclose int64', function(t) return { t.x:isclose(t.y), t.x:isclose(t.y, { atol = 1, rtol = 0 }) } end,
          'out = [torch.isclose(x, y), torch.isclose(x, y, atol=1, rtol=0)]',
          { x = torch.tensor({ 1, 5, -3, 100 }), y = torch.tensor({ 1, 6, -5, 100 }) })
cases:add('isclose bool', function(t) return t.x:isclose(t.y) end, 'out = torch.isclose(x, y)',
          { x = torch.tensor({ true, false, true }), y = torch.tensor({ true, true, false }) })
cases:add('equal', function(t)
  return { t.x:equal(t.x:clone()), torch.equal(t.x, t.x + 1), t.x:equal(t.x:view(2, 3)), t.x:equal(t.x:double()) }
end, 'out = [torch.equal(x, x.clone()), torch.equal(x, x + 1), torch.equal(x, x.view(2, 3)), torch.equal(x, x.double())]',
          { x = torch.randn(6) })
cases:add('equal with NaN and empty', function(t)
  return { t.x:equal(t.x), torch.equal(torch.zeros(0), torch.zeros(0)) }
end, 'out = [torch.equal(x, x), torch.equal(torch.zeros(0), torch.zeros(0))]', { x = torch.tensor({ 1, nan }) })
cases:describe('comparisons match PyTorch')

describe('comparison errors', function()
  it('name the function and the values', function()
    local x = torch.zeros(3)
    assert.matches('isclose: expected both tensors to have one dtype, got float32 and float64',
                   message(function() return x:isclose(x:double()) end), 1, true)
    assert.matches('allclose: rtol must be a non-negative number, got -1',
                   message(function() return x:allclose(x, { rtol = -1 }) end), 1, true)
    assert.matches('isclose: expected a tensor for other, got number', message(function() return torch.isclose(x, 1) end),
                   1, true)
    assert.matches('isclose: shapes [3] and [2] cannot be broadcast together', message(function() return x:isclose(torch.zeros(2)) end), 1, true)
    assert.matches('equal: expected a tensor for other, got table', message(function() return x:equal({ 0, 0, 0 }) end),
                   1, true)
  end)
end)
