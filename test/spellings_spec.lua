-- PyTorch's other spellings and thin forms (tensor.spellings), the conjugate-transpose properties, dtype
-- predicates, isposinf/isneginf/isreal, as_tensor/asarray/scalar_tensor, x.new and x:bernoulli, the in-place
-- forms of hypot/xlogy/copysign/heaviside and nn.functional's forms in torch, against PyTorch.
local torch = require 'tensor'
local message = require 'helpers.failure'

local cases = require('helpers.cases').new()
local inf, nan = math.huge, 0 / 0

local x64 = torch.tensor({ -1.5, -0.25, 0, 0.5, 2.75 }, { dtype = 'float64' })
local unit = torch.tensor({ -0.9, -0.3, 0, 0.4, 0.8 }, { dtype = 'float64' })
local ints = torch.tensor({ -3, 0, 4, 7 })

for _, pair in ipairs({ { 'absolute', 'x' }, { 'negative', 'x' }, { 'fix', 'x' }, { 'sgn', 'x' }, { 'arcsin', 'u' },
                        { 'arccos', 'u' }, { 'arctan', 'x' } }) do
  local name, arg = pair[1], pair[2]
  cases:add(name .. ' (method, function, in place)', function(t)
    local v = t[arg]
    return { v[name](v), torch[name](v), v:clone()[name .. '_'](v:clone()) }
  end, string.format('v = %s\nout = [torch.%s(v), torch.%s(v), v.clone().%s_()]', arg, name, name, name),
            { x = x64, u = unit })
end
cases:add('arctan2, multiply, divide, subtract, true_divide', function(t)
  return { t.x:arctan2(t.u), torch.multiply(t.x, t.u), torch.divide(t.x, 2), t.x:subtract(t.u, 3),
           torch.true_divide(t.i, 2), t.x:clone():multiply_(t.u), t.i:true_divide(4) }
end, 'out = [torch.arctan2(x, u), torch.multiply(x, u), torch.divide(x, 2), x.subtract(u, alpha=3), ' ..
     'torch.true_divide(i, 2), x.clone().multiply_(u), i.true_divide(4)]', { x = x64, u = unit, i = ints })
cases:add('greater, less, greater_equal, less_equal, not_equal', function(t)
  return { torch.greater(t.x, 0), t.x:less(0.5), torch.greater_equal(t.i, 0), t.i:less_equal(4), torch.not_equal(t.i, 0),
           t.x:clone():greater_(0) }
end, 'out = [torch.greater(x, 0), x.less(0.5), torch.greater_equal(i, 0), i.less_equal(4), torch.not_equal(i, 0), ' ..
     'x.clone().greater_(0)]', { x = x64, i = ints })
cases:add('clamp_min, clamp_max with numbers and tensors', function(t)
  return { t.x:clamp_min(0), torch.clamp_max(t.x, 0.5), t.i:clamp_min(2.5), t.x:clamp_min(t.u), t.x:clone():clamp_max_(1) }
end, 'out = [x.clamp_min(0), torch.clamp_max(x, 0.5), i.clamp_min(2.5), x.clamp_min(u), x.clone().clamp_max_(1)]',
          { x = x64, u = unit, i = ints })
cases:add('rsub', function(t)
  return { torch.rsub(t.x, 2.5), torch.rsub(t.x, t.u, 2), torch.rsub(t.i, 2.5), torch.rsub(t.i, 3) }
end, 'out = [torch.rsub(x, 2.5), torch.rsub(x, u, alpha=2), torch.rsub(i, 2.5), torch.rsub(i, 3)]',
          { x = x64, u = unit, i = ints })
cases:add('gradients through aliases and clamp_min', function(t)
  local a = t.u:clone():requires_grad_()
  local b = t.x:clone():requires_grad_()
  local loss = (a:arcsin() * 2 + a:arccos():negative() + b:clamp_min(0.5) + torch.absolute(b) + b:arctan2(a)):sum()
  loss:backward()
  return { a.grad, b.grad }
end, [==[a = u.clone().requires_grad_()
b = x.clone().requires_grad_()
loss = (a.arcsin() * 2 + a.arccos().negative() + b.clamp_min(0.5) + torch.absolute(b) + b.arctan2(a)).sum()
loss.backward()
out = [a.grad, b.grad]]==], { x = x64, u = unit })

local m = torch.randn(3, 4)
local batch = torch.randn(2, 3, 4)
cases:add('x.H, x.mH, adjoint', function(t)
  return { t.m.H, t.b.mH, t.b:adjoint(), torch.adjoint(t.m), torch.tensor(3.5).H }
end, 'out = [m.H, b.mH, b.adjoint(), torch.adjoint(m), torch.tensor(3.5).H]', { m = m, b = batch })

local specials = torch.tensor({ 1, inf, -inf, nan, 0, -2 })
cases:add('isposinf, isneginf, isreal', function(t)
  return { t.s:isposinf(), torch.isneginf(t.s), t.s:isreal(), t.i:isposinf(), torch.isneginf(t.i), t.s:double():isposinf(),
           t.bools:isreal() }
end, 'out = [s.isposinf(), torch.isneginf(s), s.isreal(), i.isposinf(), torch.isneginf(i), s.double().isposinf(), ' ..
     'bools.isreal()]', { s = specials, i = ints, bools = torch.tensor({ true, false }) })

local dtypes = { 'float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool' }
cases:add('is_signed, is_floating_point, is_complex for every dtype', function()
  local r = {}
  for _, d in ipairs(dtypes) do
    local v = torch.zeros(1, { dtype = d })
    r[#r + 1] = v:is_signed()
    r[#r + 1] = torch.is_floating_point(v)
    r[#r + 1] = torch.is_complex(v)
  end
  return r
end, [==[out = []
for d in ['float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool']:
    v = torch.zeros(1, dtype=getattr(torch, d))
    out += [v.is_signed(), torch.is_floating_point(v), torch.is_complex(v)]]==])
cases:add('is_nonzero', function()
  return { torch.tensor({ 0 }):is_nonzero(), torch.tensor(2.5):is_nonzero(), torch.is_nonzero(torch.tensor({ false })),
           torch.tensor({ { nan } }):is_nonzero() }
end, "out = [torch.tensor([0]).is_nonzero(), torch.tensor(2.5).is_nonzero(), torch.is_nonzero(torch.tensor([False])), " ..
     "torch.tensor([[float('nan')]]).is_nonzero()]")
cases:add('scalar_tensor', function()
  local a, b, c = torch.scalar_tensor(3), torch.scalar_tensor(true), torch.scalar_tensor(2, { dtype = 'int32' })
  return { a, b, c, a:dtype() == 'float32', c:dtype() == 'int32', a:dim() }
end, 'a, b, c = torch.scalar_tensor(3), torch.scalar_tensor(True), torch.scalar_tensor(2, dtype=torch.int32)\n' ..
     'out = [a, b, c, a.dtype == torch.float32, c.dtype == torch.int32, a.dim()]')
cases:add('hypot_, xlogy_, copysign_, heaviside_ in place', function(t)
  local a, b, c, d = t.x:clone(), t.x:clone(), t.x:clone(), t.x:clone()
  return { a:hypot_(t.u), b:xlogy_(t.u:abs()), torch.xlogy_(t.x:clone(), 2), c:copysign_(t.u), d:heaviside_(t.u), a }
end, 'a, b, c, d = x.clone(), x.clone(), x.clone(), x.clone()\n' ..
     'out = [a.hypot_(u), b.xlogy_(u.abs()), torch.xlogy_(x.clone(), 2), c.copysign_(u), d.heaviside_(u), a]',
          { x = x64, u = unit })
cases:add('torch.conv1d, selu, pdist, pixel_shuffle and the other nn.functional forms in torch', function(t)
  return { torch.conv1d(t.s, t.w, nil, 1, 1), torch.selu(t.x), torch.celu(t.x, 0.5), torch.pdist(t.m),
           torch.pixel_shuffle(t.p, 2), torch.threshold(t.x, 0.1, 20), torch.hardshrink(t.x, 0.5),
           torch.cosine_similarity(t.m, t.m:flip(1), 2), torch.layer_norm(t.m, { 4 }) }
end, 'out = [torch.conv1d(s, w, None, 1, 1), torch.selu(x), torch.celu(x, 0.5), torch.pdist(m), ' ..
     'torch.pixel_shuffle(p, 2), torch.threshold(x, 0.1, 20), torch.hardshrink(x, 0.5), ' ..
     'torch.cosine_similarity(m, m.flip(0), 1), torch.layer_norm(m, [4])]',
          { x = x64, s = torch.randn(2, 3, 7), w = torch.randn(4, 3, 3), m = torch.randn(3, 4), p = torch.randn(1, 8, 2, 3) })
cases:add('diag_embed as a method, is_cpu', function(t)
  return { t.m:diag_embed(), t.m:diag_embed(1), t.m:is_cpu() }
end, 'out = [m.diag_embed(), m.diag_embed(1), m.is_cpu]', { m = torch.randn(2, 3) })
cases:describe('other spellings and small forms match PyTorch')

describe('as_tensor and asarray', function()
  it('return the tensor itself unless a dtype, a device or a copy is asked for', function()
    local v = torch.tensor({ 1.5, 2 })
    assert.is_true(rawequal(torch.as_tensor(v), v))
    assert.is_true(rawequal(torch.asarray(v, { dtype = 'float32' }), v))
    local d = torch.as_tensor(v, { dtype = 'float64' })
    assert.are.equal('float64', d:dtype())
    assert.is_true(torch.equal(d, v:double()))
    local c = torch.asarray(v, { copy = true })
    assert.is_false(rawequal(c, v))
    c[1] = 7
    assert.are.equal(1.5, v[1])
    assert.are.equal('int64', torch.as_tensor({ 1, 2 }):dtype())
    assert.is_true(torch.asarray({ 1.5 }, { requires_grad = true }).requires_grad)
  end)
end)

describe('x.new', function()
  local v = torch.tensor({ 1, 2 }, { dtype = 'float64' })
  it('builds tensors of x dtype, with or without the colon (Torch7 calls x.new())', function()
    assert.are.same({ 0 }, v.new():shape())
    assert.are.same({ 0 }, v:new():shape())
    assert.are.same({ 2, 3 }, v.new(2, 3):shape())
    assert.are.same({ 2, 3 }, v:new(2, 3):shape())
    assert.are.same({ 4 }, v:new(torch.Size.new({ 4 })):shape())
    assert.are.equal('float64', v.new(2):dtype())
    local d = v:new({ 3, 4 })
    assert.are.equal('float64', d:dtype())
    assert.are.same({ 3, 4 }, d:tolist())
  end)
end)

describe('x:bernoulli', function()
  it('draws 0 or 1 with x as the probabilities, or with the number p', function()
    local p = torch.tensor({ 0, 1, 0, 1, 1 }, { dtype = 'float64' })
    assert.are.same(p:tolist(), p:bernoulli():tolist())
    assert.are.same(p:tolist(), torch.bernoulli(p):tolist())
    assert.are.same({ 0, 0, 0 }, torch.zeros(3):bernoulli(0):tolist())
    assert.are.same({ 1, 1, 1 }, torch.zeros(3):bernoulli(1):tolist())
    local draws = torch.zeros(20000):bernoulli(0.25)
    local ones = draws:sum()
    assert.is_true(draws:eq(0):logical_or(draws:eq(1)):all())
    -- 0.25 * 20000 = 5000, standard deviation ~61: 8 standard deviations either side
    assert.is_true(math.abs(ones - 5000) < 500, 'ones: ' .. ones)
    local g1, g2 = torch.Generator(), torch.Generator()
    g1:manual_seed(5)
    g2:manual_seed(5)
    assert.is_true(torch.equal(torch.zeros(50):bernoulli(0.5, { generator = g1 }),
                               torch.zeros(50):bernoulli(0.5, { generator = g2 })))
  end)
end)

describe('retains_grad', function()
  it('is true only for a non-leaf tensor after retain_grad', function()
    local a = torch.tensor({ 1.0, 2.0 }, { requires_grad = true })
    local b = a * 2
    assert.is_false(b.retains_grad)
    b:retain_grad()
    assert.is_true(b.retains_grad)
    assert.is_false(a.retains_grad)
  end)
end)

describe('errors of the small forms', function()
  it('name the function and the values', function()
    assert.matches('H: is only defined for matrices (2-d tensors), got 3-d; use mH for batches',
                   message(function() return torch.zeros(2, 3, 4).H end), 1, true)
    assert.matches('mH: expects a tensor with at least 2 dimensions, got 1',
                   message(function() return torch.zeros(2).mH end), 1, true)
    assert.matches('adjoint: expects a tensor with at least 2 dimensions, got 1',
                   message(function() return torch.zeros(2):adjoint() end), 1, true)
    assert.matches('is_nonzero: expects a tensor of one element, got 2 elements',
                   message(function() return torch.zeros(2):is_nonzero() end), 1, true)
    assert.matches('positive: is not defined for bool tensors',
                   message(function() return torch.tensor({ true }):positive() end), 1, true)
    assert.matches('clamp_min: the bound must be a number or a tensor, got string',
                   message(function() return torch.zeros(2):clamp_min('1') end), 1, true)
    assert.matches('scalar_tensor: expected a number, got table', message(function() return torch.scalar_tensor({}) end),
                   1, true)
    assert.matches('rsub: expected a tensor for the input, got number', message(function() return torch.rsub(1, 2) end),
                   1, true)
    assert.matches('hypot_: the result of type float32 cannot be written into a int64 tensor',
                   message(function() return torch.tensor({ 1, 2 }):hypot_(torch.tensor({ 1.5, 1 })) end), 1, true)
    assert.matches('greater: expected a tensor for the input, got number',
                   message(function() return torch.greater(1, torch.zeros(1)) end), 1, true)
  end)
end)
