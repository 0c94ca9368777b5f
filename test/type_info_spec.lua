-- torch.finfo and torch.iinfo against PyTorch's, and their errors.
local torch = require 'tensor'
local message = require 'helpers.failure'

local cases = require('helpers.cases').new()

local FLOATS = { 'float32', 'float64', 'float16', 'bfloat16' }
local INTS = { 'int32', 'int16', 'int8', 'uint8' }

for _, d in ipairs(FLOATS) do
  cases:add('finfo ' .. d, function()
    local f = torch.finfo(d)
    return { f.bits, f.eps, f.max, f.min, f.tiny, f.smallest_normal, f.resolution, f.dtype == d }
  end, string.format('f = torch.finfo(torch.%s)\nout = [f.bits, f.eps, f.max, f.min, f.tiny, f.smallest_normal, ' ..
                     'f.resolution, True]', d), nil, { atol = 0, rtol = 0 })
end
cases:add('finfo of the default dtype and of a tensor', function()
  return { torch.finfo().eps, torch.finfo(torch.zeros(1, { dtype = 'float64' })).eps }
end, 'out = [torch.finfo().eps, torch.finfo(torch.zeros(1, dtype=torch.float64).dtype).eps]', nil, { atol = 0, rtol = 0 })
for _, d in ipairs(INTS) do
  cases:add('iinfo ' .. d, function()
    local i = torch.iinfo(d)
    return { i.bits, i.min, i.max }
  end, string.format('i = torch.iinfo(torch.%s)\nout = [i.bits, i.min, i.max]', d), nil, { atol = 0, rtol = 0 })
end
cases:describe('finfo and iinfo match PyTorch')

describe('iinfo of int64', function()
  it('gives exact int64 bounds as cdata', function()
    local i = torch.iinfo('int64')
    assert.are.equal(64, i.bits)
    assert.is_true(i.max == 9223372036854775807LL)
    assert.is_true(i.min == -9223372036854775807LL - 1)
    -- the bounds round-trip exactly through an int64 tensor
    local t = torch.tensor({ i.min, i.max }, { dtype = 'int64' })
    assert.is_true(t:data_ptr()[0] == i.min and t:data_ptr()[1] == i.max)
  end)
end)

describe('type info errors', function()
  it('name the function and the dtype', function()
    assert.matches('finfo: expects a floating dtype, got int64 (use torch.iinfo for integers)',
                   message(function() return torch.finfo('int64') end), 1, true)
    assert.matches('iinfo: expects an integer dtype, got float32 (use torch.finfo for floating types)',
                   message(function() return torch.iinfo('float32') end), 1, true)
    assert.matches('iinfo: expects an integer dtype, got bool', message(function() return torch.iinfo('bool') end), 1, true)
    assert.matches("finfo: unknown dtype 'float8'", message(function() return torch.finfo('float8') end), 1, true)
  end)
end)
