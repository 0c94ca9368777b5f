-- torch.finfo, torch.iinfo, promote_types, result_type and can_cast against PyTorch's, and their errors.
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
local ALL = { 'float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool' }
cases:add('promote_types and can_cast for every pair of dtypes', function()
  local r = {}
  for _, a in ipairs(ALL) do
    for _, b in ipairs(ALL) do
      r[#r + 1] = torch.promote_types(a, b) == torch.promote_types(b, a) and torch.promote_types(a, b) or 'asymmetric'
      r[#r + 1] = torch.can_cast(a, b)
    end
  end
  return r
end, [==[out = []
names = ['float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool']
for a in names:
    for b in names:
        out += [str(torch.promote_types(getattr(torch, a), getattr(torch, b))).replace('torch.', ''),
                torch.can_cast(getattr(torch, a), getattr(torch, b))]]==])
-- result_type: each dtype's tensor with dims, 0-d, and against numbers and booleans
local operands = {}
for _, d in ipairs(ALL) do
  operands[#operands + 1] = { d .. ' [2]', torch.zeros(2, { dtype = d }), string.format('torch.zeros(2, dtype=torch.%s)', d) }
  operands[#operands + 1] = { d .. ' 0-d', torch.zeros({}, { dtype = d }), string.format('torch.zeros((), dtype=torch.%s)', d) }
end
local numbers = { { '3', 3, '3' }, { '2.5', 2.5, '2.5' }, { 'true', true, 'True' } }
cases:add('result_type of tensors, 0-d tensors and numbers', function()
  local r = {}
  for _, a in ipairs(operands) do
    for _, b in ipairs(operands) do r[#r + 1] = torch.result_type(a[2], b[2]) end
    for _, n in ipairs(numbers) do
      r[#r + 1] = torch.result_type(a[2], n[2])
      r[#r + 1] = torch.result_type(n[2], a[2])
    end
  end
  return r
end, (function()
  local a, n = {}, {}
  for i, o in ipairs(operands) do a[i] = o[3] end
  for i, o in ipairs(numbers) do n[i] = o[3] end
  return 'ops = [' .. table.concat(a, ', ') .. ']\nnums = [' .. table.concat(n, ', ') .. ']\nout = []\n' ..
         'name = lambda d: str(d).replace("torch.", "")\n' ..
         'for x in ops:\n' ..
         '    out += [name(torch.result_type(x, y)) for y in ops]\n' ..
         '    for v in nums:\n' ..
         '        out += [name(torch.result_type(x, v)), name(torch.result_type(v, x))]\n'
end)())
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
    assert.matches('result_type: operand 2 must be a tensor, a number or a boolean, got string',
                   message(function() return torch.result_type(torch.zeros(1), 'x') end), 1, true)
    assert.matches('result_type: expected at least one tensor, got number and number',
                   message(function() return torch.result_type(1, 2) end), 1, true)
    assert.matches("can_cast: unknown dtype 'int128'", message(function() return torch.can_cast('int128', 'int64') end),
                   1, true)
  end)
end)
