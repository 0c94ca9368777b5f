-- The statistics of tensor.statistics against PyTorch: quantile/nanquantile (every interpolation, q as a number,
-- 0-d or 1-d tensor, NaN), nanmedian, mode, diff, cov, corrcoef, histogram, histogramdd, bincount (against
-- PyTorch's of x - 1), gradient, trapezoid/trapz, cumulative_trapezoid and renorm/renorm_; float32, float64,
-- int64 and bool where PyTorch takes them, transposed views, 0-d and empty inputs, negative dims, keepdim; the
-- gradients after a backward; the errors.
local torch = require 'tensor'
local message = require 'helpers.failure'
local ref = require 'helpers.torchref'

torch.manual_seed(7)

local nan = 0 / 0
local D = { dtype = 'float64' }
local IGNORE = 'import warnings; warnings.filterwarnings("ignore")\n'

-- A Lua dim as PyTorch's.
local function py(d) return d > 0 and d - 1 or d end
local function pybool(b) return b and 'True' or 'False' end

-- float inputs with ties, NaN-free
local function ties(dt, ...) return torch.randint(0, 4, { ... }):to(dt) end

-- ---- quantile and nanquantile ----
do
  local cases = require('helpers.cases').new()
  local function case(...) cases:add(...) end
  for _, dt in ipairs({ 'float32', 'float64' }) do
    local x = torch.randn(4, 7):to(dt)
    local q = torch.tensor({ 0, 0.1, 0.25, 0.5, 0.9, 1 }, { dtype = dt })
    case('quantile of all elements, a number q, ' .. dt, function(t) return { t.x:quantile(0.3), torch.quantile(t.x, 1) } end,
         'out = [x.quantile(0.3).item(), torch.quantile(x, 1.0).item()]', { x = x })
    case('quantile of all elements, a 1-d q, keepdim, ' .. dt, function(t)
      return { t.x:quantile(t.q), t.x:quantile(t.q, nil, true), t.x:quantile(0.4, { keepdim = true }) }
    end, 'out = [x.quantile(q), x.quantile(q, keepdim=True), x.quantile(0.4, keepdim=True)]', { x = x, q = q })
    for _, dim in ipairs({ 1, 2, -1 }) do
      for _, keepdim in ipairs({ false, true }) do
        case(('quantile dim %d keepdim %s, %s'):format(dim, keepdim, dt), function(t)
          return { t.x:quantile(t.q, dim, keepdim), t.x:quantile(0.7, dim, keepdim), t.x:quantile(t.q[3], dim, keepdim) }
        end, ('out = [x.quantile(q, %d, %s), x.quantile(0.7, %d, %s), x.quantile(q[2], %d, %s)]')
          :format(py(dim), pybool(keepdim), py(dim), pybool(keepdim), py(dim), pybool(keepdim)), { x = x, q = q })
      end
    end
    for _, how in ipairs({ 'linear', 'lower', 'higher', 'midpoint', 'nearest' }) do
      case(('quantile interpolation %s with ties, %s'):format(how, dt), function(t)
        return { t.x:quantile(t.q, 2, { interpolation = how }), torch.quantile(t.x, 0.375, { dim = 1, interpolation = how }),
                 t.y:quantile(t.r, 1, false, { interpolation = how }) }
      end, ("out = [x.quantile(q, 1, interpolation='%s'), torch.quantile(x, 0.375, dim=0, interpolation='%s'), " ..
            "y.quantile(r, 0, False, interpolation='%s')]"):format(how, how, how),
           { x = ties(dt, 3, 9), q = q, y = torch.arange(5):to(dt), r = torch.tensor({ 0.125, 0.375, 0.625, 0.875 }, { dtype = dt }) })
    end
    case('quantile and nanquantile with NaN, ' .. dt, function(t)
      return { t.x:quantile(t.q, 2), t.x:nanquantile(t.q, 2), torch.nanquantile(t.x, 0.5, 1, true), t.x:nanquantile(0.25),
               t.x:quantile(0.25), t.x:nanquantile(t.q, 2, { interpolation = 'nearest' }) }
    end, [[out = [x.quantile(q, 1), x.nanquantile(q, 1), torch.nanquantile(x, 0.5, 0, True), x.nanquantile(0.25).item(),
       x.quantile(0.25).item(), x.nanquantile(q, 1, interpolation='nearest')] ]],
         { x = torch.tensor({ { 1, nan, 3, 2, 7 }, { nan, nan, nan, nan, nan }, { 5, 4, 3, nan, 1 } }, { dtype = dt }), q = q })
    case('quantile of a transposed view, ' .. dt, function(t) return { t.x:t():quantile(t.q, 2, true), t.x:t():quantile(0.2) } end,
         'out = [x.t().quantile(q, 1, True), x.t().quantile(0.2).item()]', { x = x, q = q })
  end
  case('quantile of a 0-d tensor and of one element', function(t)
    return { t.x:quantile(0.3, 1), t.x:quantile(t.q, -1, true), t.x:quantile(0.5), t.y:quantile(t.q, 1) }
  end, 'out = [x.quantile(0.3, 0), x.quantile(q, -1, True), x.quantile(0.5).item(), y.quantile(q, 0)]',
       { x = torch.tensor(2.5), y = torch.tensor({ 4.5 }), q = torch.tensor({ 0.2, 0.8 }) })
  case('quantile with an empty q and over a 3-d tensor', function(t)
    return { t.x:quantile(t.e, 2), t.x:quantile(t.q, 2, true), t.x:quantile(t.q, -3) }
  end, 'out = [x.quantile(e, 1), x.quantile(q, 1, True), x.quantile(q, -3)]',
       { x = torch.randn(2, 3, 4), e = torch.zeros(0), q = torch.tensor({ 0.3, 0.6 }) })
  case('quantile gradients, distinct values, all interpolations', function(t)
    local grads = {}
    for _, how in ipairs({ 'linear', 'lower', 'higher', 'midpoint', 'nearest' }) do
      local x = t.x:clone():requires_grad_()
      x:quantile(t.q, 2, { interpolation = how }):mul(t.w):sum():backward()
      grads[#grads + 1] = x.grad
    end
    local a = t.x:clone():requires_grad_()
    a:quantile(0.3):backward()
    grads[#grads + 1] = a.grad
    return grads
  end, [[
out = []
for how in ['linear', 'lower', 'higher', 'midpoint', 'nearest']:
    a = x.clone().requires_grad_()
    (a.quantile(q, 1, interpolation=how) * w).sum().backward()
    out.append(a.grad)
a = x.clone().requires_grad_()
a.quantile(0.3).backward()
out.append(a.grad)
]], { x = torch.randn(3, 8, D), q = torch.tensor({ 0.1, 0.45, 0.8 }, D), w = torch.randn(3, 3, D) })
  case('quantile and nanquantile gradients with ties and NaN', function(t)
    local a, b, c = t.x:clone():requires_grad_(), t.y:clone():requires_grad_(), t.q:clone():requires_grad_()
    a:quantile(t.q, 1):mul(t.w):sum():backward()
    b:nanquantile(c, 2):sum():backward()
    return { a.grad, b.grad, c.grad }
  end, [[
a, b, c = x.clone().requires_grad_(), y.clone().requires_grad_(), q.clone().requires_grad_()
(a.quantile(q, 0) * w).sum().backward()
b.nanquantile(c, 1).sum().backward()
out = [a.grad, b.grad, c.grad]
]], { x = ties('float64', 9, 4), q = torch.tensor({ 0.2, 0.5, 0.7 }, D), w = torch.randn(3, 4, D),
      y = torch.tensor({ { 1, nan, 3, 2, 7, 3 }, { 4, 1, nan, nan, 1, 0 } }, D) })
  cases:describe('quantile and nanquantile match PyTorch')

  it('quantile refuses integers, empty input, q outside [0, 1] and bad arguments', function()
    local x = torch.randn(3, 4)
    assert.matches('quantile: expects a float32 or float64 input, got int64',
                   message(function() return torch.tensor({ 1, 2 }):quantile(0.5) end), 1, true)
    assert.matches('nanquantile: expects a float32 or float64 input, got int64',
                   message(function() return torch.tensor({ 1, 2 }):nanquantile(0.5) end), 1, true)
    assert.matches('quantile: the input is empty', message(function() return torch.zeros(2, 0):quantile(0.5, 1) end), 1, true)
    assert.matches('quantile: q must be in the range [0, 1], got 1.5', message(function() return x:quantile(1.5) end), 1, true)
    assert.matches('quantile: q must be in the range [0, 1], got nan', message(function() return x:quantile(nan) end), 1, true)
    assert.matches('quantile: q values must be in the range [0, 1]',
                   message(function() return x:quantile(torch.tensor({ 0.1, -0.2 })) end), 1, true)
    assert.matches('quantile: q must have the dtype of the input (float32), got float64',
                   message(function() return x:quantile(torch.tensor({ 0.5 }, D)) end), 1, true)
    assert.matches('quantile: q must be a number, a 0-d or a 1-d tensor, got 2 dimensions',
                   message(function() return x:quantile(torch.tensor({ { 0.5 } })) end), 1, true)
    assert.matches("quantile: interpolation must be 'linear', 'lower', 'higher', 'midpoint' or 'nearest', got near",
                   message(function() return x:quantile(0.5, 1, { interpolation = 'near' }) end), 1, true)
    assert.matches('quantile: dimension 3 out of range', message(function() return x:quantile(0.5, 3) end), 1, true)
    assert.matches('quantile: dim must be a number, got table', message(function() return x:quantile(0.5, { 1, 2 }) end), 1, true)
    assert.matches('quantile: q must be a number or a tensor, got string', message(function() return torch.quantile(x, '0.5') end), 1, true)
    assert.matches('quantile: out= is not supported', message(function() return x:quantile(0.5, 1, { out = x }) end), 1, true)
  end)

  it('quantile over all elements gives a number, a 0-d tensor when recording', function()
    local x = torch.randn(5, D)
    assert.are.equal('number', type(x:quantile(0.5)))
    assert.is_true(torch.is_tensor(x:quantile(torch.tensor(0.5, D))))
    local v = x:clone():requires_grad_():quantile(0.5)
    assert.is_true(torch.is_tensor(v))
    assert.are.equal(0, v:dim())
  end)
end

-- ---- nanmedian and mode ----
do
  local cases = require('helpers.cases').new()
  local function case(...) cases:add(...) end
  local function pair(expr) return ('m = %s; out = [m.values, m.indices + 1]'):format(expr) end
  for _, dt in ipairs({ 'float32', 'float64', 'int64' }) do
    local x = ties(dt, 5, 6)
    local xt = ties(dt, 6, 5):t()
    case('nanmedian of all elements, ' .. dt, function(t) return { t.x:nanmedian(), torch.nanmedian(t.x:narrow(2, 1, 5)) } end,
         'out = [x.nanmedian().item(), torch.nanmedian(x[:, :5]).item()]', { x = x })
    for _, dim in ipairs({ 1, 2, -1 }) do
      case(('nanmedian dim %d with ties, %s'):format(dim, dt), function(t) return { t.x:nanmedian(dim) } end,
           pair(('x.nanmedian(%d)'):format(py(dim))), { x = x })
      case(('mode dim %d with ties, %s'):format(dim, dt), function(t) return { t.x:mode(dim) } end,
           pair(('x.mode(%d)'):format(py(dim))), { x = x })
    end
    case('nanmedian and mode keepdim of a transposed view, ' .. dt, function(t)
      local v1, i1 = t.x:nanmedian(1, true)
      local v2, i2 = torch.mode(t.x, { keepdim = true })
      local v3, i3 = t.x:mode({ dim = 1, keepdim = true })
      return { v1, i1, v2, i2, v3, i3 }
    end, [[
a, b, c = x.nanmedian(0, True), torch.mode(x, keepdim=True), x.mode(0, keepdim=True)
out = [a.values, a.indices + 1, b.values, b.indices + 1, c.values, c.indices + 1]
]], { x = xt })
    case('nanmedian and mode of a 0-d tensor, ' .. dt, function(t)
      local v1, i1 = t.x:nanmedian(1)
      local v2, i2 = t.x:mode(-1, true)
      return { v1, i1, v2, i2, t.x:nanmedian() }
    end, [[
a, b = x.nanmedian(0), x.mode(-1, True)
out = [a.values, a.indices + 1, b.values, b.indices + 1, x.nanmedian().item()]
]], { x = torch.tensor(3):to(dt) })
    case('nanmedian and mode over a nonempty dim of an empty tensor, ' .. dt, function(t)
      local v1, i1 = t.x:nanmedian(1)
      local v2, i2 = t.x:mode(1)
      return { v1, i1, v2, i2 }
    end, 'a, b = x.nanmedian(0), x.mode(0); out = [a.values, a.indices + 1, b.values, b.indices + 1]',
         { x = torch.zeros(3, 0, { dtype = dt }) })
  end
  for _, dt in ipairs({ 'float32', 'float64' }) do
    -- (a slice of NaN alone has its median at a NaN whose position PyTorch leaves to its selection algorithm)
    local x = torch.tensor({ { 1, nan, 3, 2, nan }, { 2, 2, nan, 1, 2 }, { nan, 5, 5, 4, 4 } }, { dtype = dt })
    case('nanmedian with NaN, ' .. dt, function(t)
      local v, i = t.x:nanmedian(2)
      return { v, i, t.x:nanmedian(), t.x:t():nanmedian(1), t.y:nanmedian(2), t.y:nanmedian() }
    end, [[
m = x.nanmedian(1)
out = [m.values, m.indices + 1, x.nanmedian().item(), x.t().nanmedian(0).values, y.nanmedian(1).values, y.nanmedian().item()]
]], { x = x, y = torch.tensor({ { nan, nan, nan }, { 1, nan, 0 } }, { dtype = dt }) })
    case('nanmedian of an empty tensor is NaN, ' .. dt, function(t) return t.x:nanmedian() end,
         'out = x.nanmedian().item()', { x = torch.zeros(0, 3, { dtype = dt }) })
  end
  case('mode of bool, of NaN and of values all distinct', function(t)
    local v, i = t.b:mode()
    return { v, i, (t.x:mode(2)), (t.d:mode()) }
  end, 'out = [b.mode().values, b.mode().indices + 1, x.mode(1).values, d.mode().values]',
       { b = torch.tensor({ { true, false, true }, { false, false, true } }),
         x = torch.tensor({ { 1, 2, 2, 1, 3 }, { 4, nan, nan, 4, 4 } }, D), d = torch.randperm(9):view(3, 3) })
  case('mode of slices of 16, with ties', function(t) return { t.x:mode() } end, pair('x.mode()'),
       { x = torch.randint(0, 5, { 20, 16 }) })
  case('nanmedian and mode gradients', function(t)
    local a, b, c = t.x:clone():requires_grad_(), t.x:clone():requires_grad_(), t.m:clone():requires_grad_()
    a:nanmedian(2):mul(t.w):sum():backward()
    b:nanmedian():backward()
    local v = c:mode(1)
    v:mul(t.u):sum():backward()
    local e = t.e:clone():requires_grad_()
    e:nanmedian():backward()
    -- median over all elements shares its gradient the same way (with NaN: among the NaNs)
    local f, g = t.m:clone():requires_grad_(), t.x:clone():requires_grad_()
    f:median():backward()
    g:median():backward()
    return { a.grad, b.grad, c.grad, e.grad, f.grad, g.grad }
  end, [[
a, b, c, e2 = x.clone().requires_grad_(), x.clone().requires_grad_(), m.clone().requires_grad_(), e.clone().requires_grad_()
f, g = m.clone().requires_grad_(), x.clone().requires_grad_()
(a.nanmedian(1).values * w).sum().backward()
b.nanmedian().backward()
(c.mode(0).values * u).sum().backward()
e2.nanmedian().backward()
f.median().backward()
g.median().backward()
out = [a.grad, b.grad, c.grad, e2.grad, f.grad, g.grad]
]], { x = torch.tensor({ { 2, 1, nan, 2, 3 }, { 2, 2, 0, 1, nan }, { 1, 2, 2, 2, 5 } }, D), w = torch.randn(3, D),
      m = ties('float64', 6, 5), u = torch.randn(5, D), e = torch.tensor({ nan, nan, nan }, D) })
  cases:describe('nanmedian and mode match PyTorch')

  it('nanmedian of a slice of NaN alone is NaN at its first position', function()
    local v, i = torch.tensor({ { nan, nan, nan, nan }, { 1, 2, 3, 4 } }):nanmedian(2)
    assert.is_true(v[1] ~= v[1])
    assert.are.same({ 1, 2 }, i:totable())
  end)

  it('refuse empty dims, bool and bad arguments', function()
    assert.matches('nanmedian: cannot take the median over dimension 2 of size 0',
                   message(function() return torch.zeros(2, 0):nanmedian(2) end), 1, true)
    assert.matches('nanmedian: cannot take the median of an empty int64 tensor',
                   message(function() return torch.zeros(0, { dtype = 'int64' }):nanmedian() end), 1, true)
    assert.matches('nanmedian: bool tensors are not supported',
                   message(function() return torch.tensor({ true }):nanmedian() end), 1, true)
    assert.matches('nanmedian: keepdim needs a dim', message(function() return torch.zeros(2):nanmedian(nil, true) end), 1, true)
    assert.matches('nanmedian: dimension -3 out of range', message(function() return torch.zeros(2, 2):nanmedian(-3) end), 1, true)
    assert.matches('mode: cannot take the mode over dimension 1 of size 0',
                   message(function() return torch.zeros(0, 2):mode(1) end), 1, true)
    assert.matches('mode: cannot take the mode over dimension 1 of size 0',
                   message(function() return torch.zeros(0):mode() end), 1, true)
    assert.matches('mode: keepdim must be a boolean, got 1', message(function() return torch.zeros(2):mode(1, 1) end), 1, true)
    assert.matches('mode: expected a tensor for the input, got number', message(function() return torch.mode(3) end), 1, true)
  end)
end

-- ---- diff ----
do
  local cases = require('helpers.cases').new()
  local function case(...) cases:add(...) end
  for _, dt in ipairs({ 'float32', 'float64', 'int64' }) do
    local x = torch.randint(-9, 9, { 3, 6 }):to(dt)
    case('diff n = 0, 1, 2, 3, 9 along dims, ' .. dt, function(t)
      return { t.x:diff(0), t.x:diff(), torch.diff(t.x, 2), t.x:diff(3, 1), t.x:diff(9, -1), t.x:diff({ n = 2, dim = 1 }) }
    end, 'out = [x.diff(0), x.diff(), torch.diff(x, 2), x.diff(3, 0), x.diff(9, -1), x.diff(n=2, dim=0)]', { x = x })
    case('diff of a transposed view with prepend and append, ' .. dt, function(t)
      return { t.x:t():diff(1, 1, t.p, t.a), t.x:diff(2, 2, nil, t.p:t()), t.x:diff({ prepend = t.a:t() }) }
    end, 'out = [x.t().diff(1, 0, p, a), x.diff(2, 1, None, p.t()), x.diff(prepend=a.t())]',
         { x = x, p = torch.randint(-9, 9, { 2, 3 }):to(dt), a = torch.randint(-9, 9, { 1, 3 }):to(dt) })
  end
  case('diff of bool, uint8 and of mixed dtypes', function(t)
    return { t.b:diff(), t.b:diff(2), t.u:diff(), t.i:diff(1, 1, t.f), t.b:diff(1, 1, t.i) }
  end, 'out = [b.diff(), b.diff(2), u.diff(), i.diff(1, 0, f), b.diff(1, 0, i)]',
       { b = torch.tensor({ true, false, false, true, true }), u = torch.tensor({ 1, 3, 2, 7 }, { dtype = 'uint8' }),
         i = torch.tensor({ 4, 1, 9 }), f = torch.tensor({ 0.5 }) })
  case('diff of empty tensors', function(t) return { t.x:diff(), t.x:diff(1, 1), t.e:diff(2) } end,
       'out = [x.diff(), x.diff(1, 0), e.diff(2)]', { x = torch.zeros(0, 3), e = torch.zeros(0) })
  case('diff gradients, with prepend and append', function(t)
    local x, p, a = t.x:clone():requires_grad_(), t.p:clone():requires_grad_(), t.a:clone():requires_grad_()
    x:diff(2, 2, p, a):mul(t.w):sum():backward()
    return { x.grad, p.grad, a.grad }
  end, [[
x, p, a = x.clone().requires_grad_(), p.clone().requires_grad_(), a.clone().requires_grad_()
(x.diff(2, 1, p, a) * w).sum().backward()
out = [x.grad, p.grad, a.grad]
]], { x = torch.randn(2, 5, D), p = torch.randn(2, 1, D), a = torch.randn(2, 2, D), w = torch.randn(2, 6, D) })
  cases:describe('diff matches PyTorch')

  it('diff refuses 0-d input, a negative n and mismatched prepend/append', function()
    local x = torch.zeros(2, 3)
    assert.matches('diff: expects a tensor of at least one dimension, got a 0-d tensor',
                   message(function() return torch.tensor(1):diff() end), 1, true)
    assert.matches('diff: n must be non-negative, got -1', message(function() return x:diff(-1) end), 1, true)
    assert.matches('diff: n must be an integer, got 1.5', message(function() return x:diff(1.5) end), 1, true)
    assert.matches('diff: prepend must have the number of dimensions of the input (2), got 1',
                   message(function() return x:diff(1, 2, torch.zeros(3)) end), 1, true)
    assert.matches('diff: append must match the input [2 x 3] except along dimension 1, got [1 x 2]',
                   message(function() return x:diff(1, 1, nil, torch.zeros(1, 2)) end), 1, true)
    assert.matches('diff: prepend must be a tensor, got number', message(function() return x:diff(1, 1, 3) end), 1, true)
    assert.matches('diff: dimension 3 out of range', message(function() return x:diff(1, 3) end), 1, true)
  end)
end

-- ---- cov and corrcoef ----
do
  local cases = require('helpers.cases').new()
  local function case(...) cases:add(...) end
  for _, dt in ipairs({ 'float32', 'float64' }) do
    local x = torch.randn(3, 7):to(dt)
    local fw, aw = torch.randint(0, 4, { 7 }), torch.rand(7):to(dt)
    case('cov with corrections and weights, ' .. dt, function(t)
      return { t.x:cov(), torch.cov(t.x, { correction = 0 }), t.x:cov(2), t.x:cov({ fweights = t.fw }),
               t.x:cov({ aweights = t.aw }), t.x:cov(1, t.fw, t.aw), t.x:cov({ correction = 0, fweights = t.fw, aweights = t.aw }) }
    end, [[out = [x.cov(), torch.cov(x, correction=0), x.cov(correction=2), x.cov(fweights=fw), x.cov(aweights=aw),
       x.cov(correction=1, fweights=fw, aweights=aw), x.cov(correction=0, fweights=fw, aweights=aw)] ]],
         { x = x, fw = fw, aw = aw })
    case('cov and corrcoef of a transposed view, a vector, a 0-d tensor, ' .. dt, function(t)
      return { t.x:t():cov(), t.x:t():corrcoef(), t.x[1]:cov(), t.x[1]:corrcoef(), t.s:cov(), t.s:corrcoef() }
    end, IGNORE .. 'out = [x.t().cov(), x.t().corrcoef(), x[0].cov(), x[0].corrcoef(), s.cov(), s.corrcoef()]',
         { x = torch.randn(5, 3):to(dt), s = torch.tensor(2):to(dt) })
    case('corrcoef, with a constant row, ' .. dt, function(t) return { t.x:corrcoef(), torch.corrcoef(t.c) } end,
         IGNORE .. 'out = [x.corrcoef(), torch.corrcoef(c)]',
         { x = x, c = torch.tensor({ { 1, 1, 1 }, { 1, 2, 3 }, { 3, 1, 2 } }, { dtype = dt }) })
  end
  case('cov and corrcoef of int64, and too few observations', function(t)
    return { t.i:cov(), t.i:corrcoef(), t.one:cov(), t.x:cov(5) }
  end, IGNORE .. 'out = [i.cov(), i.corrcoef(), one.cov(), x.cov(correction=5)]',
       { i = torch.randint(-5, 5, { 2, 6 }), one = torch.randn(3, 1), x = torch.randn(2, 4) })
  case('cov of empty tensors', function(t) return { t.a:cov(), t.b:cov() } end,
       IGNORE .. 'out = [a.cov(), b.cov()]', { a = torch.zeros(2, 0), b = torch.zeros(0, 3) })
  case('cov and corrcoef gradients, in x and aweights', function(t)
    local x, aw, y = t.x:clone():requires_grad_(), t.aw:clone():requires_grad_(), t.x:clone():requires_grad_()
    x:cov({ fweights = t.fw, aweights = aw }):mul(t.w):sum():backward()
    y:corrcoef():mul(t.w):sum():backward()
    return { x.grad, aw.grad, y.grad }
  end, [[
x, aw, y = x.clone().requires_grad_(), aw.clone().requires_grad_(), x.clone().requires_grad_()
(x.cov(fweights=fw, aweights=aw) * w).sum().backward()
(y.corrcoef() * w).sum().backward()
out = [x.grad, aw.grad, y.grad]
]], { x = torch.randn(3, 6, D), aw = torch.rand(6, D), fw = torch.randint(1, 4, { 6 }), w = torch.randn(3, 3, D) })
  cases:describe('cov and corrcoef match PyTorch')

  it('cov refuses bad input and weights', function()
    local x = torch.randn(2, 3)
    assert.matches('cov: expects a tensor of at most 2 dimensions, got 3',
                   message(function() return torch.zeros(2, 2, 2):cov() end), 1, true)
    assert.matches('corrcoef: expects a tensor of at most 2 dimensions, got 3',
                   message(function() return torch.zeros(2, 2, 2):corrcoef() end), 1, true)
    assert.matches('cov: bool tensors are not supported', message(function() return torch.tensor({ true }):cov() end), 1, true)
    assert.matches('cov: correction must be an integer, got 1.5', message(function() return x:cov(1.5) end), 1, true)
    assert.matches('cov: fweights must have an integer dtype, got float32',
                   message(function() return x:cov({ fweights = torch.ones(3) }) end), 1, true)
    assert.matches('cov: aweights must have a floating dtype, got int64',
                   message(function() return x:cov({ aweights = torch.tensor({ 1, 1, 1 }) }) end), 1, true)
    assert.matches('cov: aweights must have one element per observation (3), got 2',
                   message(function() return x:cov({ aweights = torch.ones(2) }) end), 1, true)
    assert.matches('cov: fweights must have one dimension or none, got 2',
                   message(function() return x:cov({ fweights = torch.ones(1, 3, { dtype = 'int64' }) }) end), 1, true)
    assert.matches('cov: fweights cannot be negative',
                   message(function() return x:cov({ fweights = torch.tensor({ 1, -1, 1 }) }) end), 1, true)
    assert.matches('cov: the weights sum to zero',
                   message(function() return x:cov({ aweights = torch.zeros(3) }) end), 1, true)
    assert.matches('cov: aweights must be a tensor, got table',
                   message(function() return x:cov({ aweights = { 1, 2, 3 } }) end), 1, true)
  end)
end

-- ---- histogram ----
do
  local cases = require('helpers.cases').new()
  local function case(...) cases:add(...) end
  for _, dt in ipairs({ 'float32', 'float64' }) do
    -- (values on a grid off the bin edges, where float rounding could put an element in either bin)
    local x = (torch.rand(200, D) * 10 - 2):mul(8):floor():add(0.5):div(8):to(dt):view(20, 10)
    local w = torch.rand(20, 10):to(dt)
    case('histogram with a number of bins, ' .. dt, function(t)
      local h1, e1 = t.x:histogram()
      local h2, e2 = torch.histogram(t.x, 7)
      return { h1, e1, h2, e2 }
    end, 'out = list(x.histogram()) + list(torch.histogram(x, 7))', { x = x })
    case('histogram of a range, with weights and density, ' .. dt, function(t)
      local out = { t.x:histogram(9, { range = { 0, 5 } }) }
      for _, v in ipairs({ torch.histogram(t.x, { bins = 4, range = { -1, 1 }, weight = t.w, density = true }) }) do out[#out + 1] = v end
      for _, v in ipairs({ t.x:t():histogram(5, { weight = t.w:t() }) }) do out[#out + 1] = v end
      return out
    end, [[out = list(x.histogram(9, range=(0., 5.))) + list(torch.histogram(x, 4, range=(-1., 1.), weight=w, density=True)) + \
      list(x.t().histogram(5, weight=w.t()))]], { x = x, w = w })
    case('histogram with bin edges, ' .. dt, function(t)
      local out = { t.x:histogram(t.e) }
      for _, v in ipairs({ t.x:histogram(t.e, { density = true, weight = t.w }) }) do out[#out + 1] = v end
      for _, v in ipairs({ t.x:histogram({ bins = t.r }) }) do out[#out + 1] = v end
      return out
    end, 'out = list(x.histogram(e)) + list(x.histogram(e, density=True, weight=w)) + list(x.histogram(bins=r))',
         { x = x, w = w, e = torch.tensor({ -2, -0.3, 1, 1, 4.1, 6 }, { dtype = dt }), r = torch.tensor({ 0, 1 }, { dtype = dt }) })
    case('histogram of equal elements, an empty tensor, a 0-d tensor, ' .. dt, function(t)
      local out = {}
      for _, r in ipairs({ { t.c:histogram(3) }, { t.e:histogram(4) }, { t.s:histogram(2) }, { t.c:histogram(2, { range = { 1, 1 } }) } }) do
        for _, v in ipairs(r) do out[#out + 1] = v end
      end
      return out
    end, 'out = list(c.histogram(3)) + list(e.histogram(4)) + list(s.histogram(2)) + list(c.histogram(2, range=(1., 1.)))',
         { c = torch.full({ 5 }, 2, { dtype = dt }), e = torch.zeros(0, { dtype = dt }), s = torch.tensor(3.25, { dtype = dt }) })
  end
  -- (PyTorch 1.13 counts NaN in some bin: compared with its histogram of the elements without NaN)
  case('histogram leaves out NaN, and infinities outside the range', function(t)
    local out = { t.x:histogram(3, { range = { 0, 3 } }) }
    for _, v in ipairs({ t.x:histogram(t.x:new_tensor({ 0, 2, 3 })) }) do out[#out + 1] = v end
    return out
  end, 'x = x[~x.isnan()]; out = list(x.histogram(3, range=(0., 3.))) + list(x.histogram(torch.tensor([0., 2, 3])))',
       { x = torch.tensor({ 1, nan, math.huge, 2, -math.huge, 3, 0, nan }) })
  cases:describe('histogram matches PyTorch')

  it('histogram refuses integers, infinite ranges and bad bins or weights', function()
    local x = torch.randn(6)
    assert.matches('histogram: expects a float32 or float64 input, got int64',
                   message(function() return torch.tensor({ 1, 2 }):histogram() end), 1, true)
    assert.matches('histogram: the range [1, inf] is not finite',
                   message(function() return torch.tensor({ 1, math.huge }):histogram() end), 1, true)
    assert.matches('histogram: the range [nan, nan] is not finite',
                   message(function() return torch.tensor({ 1, nan }):histogram() end), 1, true)
    assert.matches('histogram: the range minimum 3 exceeds its maximum 0',
                   message(function() return x:histogram(3, { range = { 3, 0 } }) end), 1, true)
    assert.matches('histogram: range must be a table of two numbers {min, max}',
                   message(function() return x:histogram(3, { range = 3 }) end), 1, true)
    assert.matches('histogram: bins must be positive, got 0', message(function() return x:histogram(0) end), 1, true)
    assert.matches('histogram: bins must be an integer, got 2.5', message(function() return x:histogram(2.5) end), 1, true)
    assert.matches('histogram: needs at least 2 bin edges, got 1',
                   message(function() return x:histogram(torch.ones(1)) end), 1, true)
    assert.matches('histogram: the bin edges must be a 1-d tensor, got 2 dimensions',
                   message(function() return x:histogram(torch.ones(1, 3)) end), 1, true)
    assert.matches('histogram: the bin edges must have the dtype of the input (float32), got float64',
                   message(function() return x:histogram(torch.tensor({ 0, 1 }, D)) end), 1, true)
    assert.matches('histogram: the bin edges must be non-decreasing',
                   message(function() return x:histogram(torch.tensor({ 3, 1, 4 }):float()) end), 1, true)
    assert.matches('histogram: range cannot be given with bin edges',
                   message(function() return x:histogram(torch.tensor({ 0, 1 }):float(), { range = { 0, 1 } }) end), 1, true)
    assert.matches('histogram: weight must have the dtype of the input (float32), got float64',
                   message(function() return x:histogram(3, { weight = torch.ones(6, D) }) end), 1, true)
    assert.matches('histogram: weight must have the shape of the input [6], got [2 x 3]',
                   message(function() return x:histogram(3, { weight = torch.ones(2, 3) }) end), 1, true)
  end)
end

-- ---- histogramdd ----
do
  local cases = require('helpers.cases').new()
  local function case(...) cases:add(...) end
  -- hist and the edges as one list (PyTorch: [hist] + list(bin_edges))
  local function flat(hist, edges)
    local out = { hist }
    for _, e in ipairs(edges) do out[#out + 1] = e end
    return out
  end
  local function pyflat(call) return ('h, e = %s; out = [h] + list(e)'):format(call) end
  for _, dt in ipairs({ 'float32', 'float64' }) do
    -- (coordinates on a grid off the bin edges, as for histogram)
    local function points(...) return (torch.rand(...):to('float64') * 10 - 2):mul(8):floor():add(0.5):div(8):to(dt) end
    local x, w = points(60, 3), torch.rand(60):to(dt)
    case('histogramdd with a number of bins, a list, a range, ' .. dt, function(t)
      local out = flat(torch.histogramdd(t.x))
      for _, v in ipairs(flat(torch.histogramdd(t.x, { 2, 3, 4 }))) do out[#out + 1] = v end
      for _, v in ipairs(flat(torch.histogramdd(t.x, { bins = 3, range = { 0, 4, -1, 1, 2, 8 } }))) do out[#out + 1] = v end
      return out
    end, pyflat('torch.histogramdd(x, 10)') .. '\n' .. pyflat('torch.histogramdd(x, [2, 3, 4])'):gsub('out = ', 'out += ') ..
      '\n' .. pyflat('torch.histogramdd(x, bins=3, range=[0., 4, -1, 1, 2, 8])'):gsub('out = ', 'out += '), { x = x })
    case('histogramdd with weights and density, ' .. dt, function(t)
      local out = flat(torch.histogramdd(t.x, { 4, 2, 3 }, { weight = t.w }))
      for _, v in ipairs(flat(torch.histogramdd(t.x, { bins = 3, weight = t.w, density = true }))) do out[#out + 1] = v end
      for _, v in ipairs(flat(torch.histogramdd(t.x, 5, { range = { -1, 3, 0, 2, 1, 5 }, density = true }))) do out[#out + 1] = v end
      return out
    end, pyflat('torch.histogramdd(x, [4, 2, 3], weight=w)') .. '\n' ..
      pyflat('torch.histogramdd(x, 3, weight=w, density=True)'):gsub('out = ', 'out += ') .. '\n' ..
      pyflat('torch.histogramdd(x, 5, range=[-1., 3, 0, 2, 1, 5], density=True)'):gsub('out = ', 'out += '), { x = x, w = w })
    case('histogramdd with bin edges, ' .. dt, function(t)
      local out = flat(torch.histogramdd(t.x, { t.e1, t.e2, t.e3 }))
      for _, v in ipairs(flat(torch.histogramdd(t.x, { bins = { t.e1, t.e2, t.e3 }, weight = t.w, density = true }))) do
        out[#out + 1] = v
      end
      return out
    end, pyflat('torch.histogramdd(x, [e1, e2, e3])') .. '\n' ..
      pyflat('torch.histogramdd(x, bins=[e1, e2, e3], weight=w, density=True)'):gsub('out = ', 'out += '),
         { x = x, w = w, e1 = torch.tensor({ -2, 0.3, 1, 1, 4.1, 6 }, { dtype = dt }),
           e2 = torch.tensor({ 0, 1 }, { dtype = dt }), e3 = torch.tensor({ -1, 2, 3, 9 }, { dtype = dt }) })
    case('histogramdd of batched and transposed points, of one coordinate, ' .. dt, function(t)
      local out = flat(torch.histogramdd(t.b, { 3, 2 }, { weight = t.bw }))
      for _, v in ipairs(flat(torch.histogramdd(t.p:t(), 4))) do out[#out + 1] = v end
      for _, v in ipairs(flat(torch.histogramdd(t.one, 6))) do out[#out + 1] = v end
      return out
    end, pyflat('torch.histogramdd(b, [3, 2], weight=bw)') .. '\n' ..
      pyflat('torch.histogramdd(p.t(), 4)'):gsub('out = ', 'out += ') .. '\n' ..
      pyflat('torch.histogramdd(one, 6)'):gsub('out = ', 'out += '),
         { b = points(5, 4, 2), bw = torch.rand(5, 4):to(dt), p = points(2, 30), one = points(25, 1) })
    case('histogramdd of no points and of equal points, ' .. dt, function(t)
      local out = flat(torch.histogramdd(t.e, { 2, 3 }))
      for _, v in ipairs(flat(torch.histogramdd(t.c, 2))) do out[#out + 1] = v end
      return out
    end, pyflat('torch.histogramdd(e, [2, 3])') .. '\n' .. pyflat('torch.histogramdd(c, 2)'):gsub('out = ', 'out += '),
         { e = torch.zeros(0, 2, { dtype = dt }), c = torch.full({ 4, 2 }, 1.5, { dtype = dt }) })
  end
  -- (PyTorch 1.13 counts a point with a NaN coordinate in some bin: compared with its histogram of the others)
  case('histogramdd leaves out points with NaN, and points outside the range', function(t)
    return flat(torch.histogramdd(t.x, 2, { range = { 0, 1, 0, 1 } }))
  end, 'x = x[~x.isnan().any(1)]; ' .. pyflat('torch.histogramdd(x, 2, range=[0., 1, 0, 1])'),
       { x = torch.tensor({ { nan, 0.75 }, { 0.25, 0.25 }, { 0.75, nan }, { 2, 0.25 }, { 0.75, 0.75 }, { 1, 1 } }) })
  cases:describe('histogramdd matches PyTorch')

  it('histogramdd refuses integers, vectors, and bad bins, ranges or weights', function()
    local x = torch.rand(4, 2)
    local function fails(expected, f) assert.matches(expected, message(f), 1, true) end
    fails('histogramdd: expects a float32 or float64 input, got int64', function() return torch.histogramdd(torch.ones(2, 2, { dtype = 'int64' })) end)
    fails('histogramdd: expects an input of at least 2 dimensions (the points in its last), got 1',
          function() return torch.histogramdd(torch.rand(3)) end)
    fails('histogramdd: the points have no coordinates', function() return torch.histogramdd(torch.rand(3, 0)) end)
    fails('histogramdd: bins must have one entry per dimension (2), got 1', function() return torch.histogramdd(x, { 2 }) end)
    fails('histogramdd: bins must be a number, a list of numbers or a list of 1-d tensors, got string',
          function() return torch.histogramdd(x, 'auto') end)
    fails('histogramdd: dimension 2: bins must be positive, got 0', function() return torch.histogramdd(x, { 2, 0 }) end)
    fails('histogramdd: dimension 1: bins must be an integer, got 1.5', function() return torch.histogramdd(x, { 1.5, 2 }) end)
    fails('histogramdd: range must be a list of 4 numbers {min1, max1, min2, max2, ...}',
          function() return torch.histogramdd(x, 2, { range = { 0, 1 } }) end)
    fails('histogramdd: dimension 1: the range minimum 1 exceeds its maximum 0',
          function() return torch.histogramdd(x, 2, { range = { 1, 0, 0, 1 } }) end)
    fails('histogramdd: dimension 2: the range [0, inf] is not finite',
          function() return torch.histogramdd(torch.tensor({ { 0, 0 }, { 1, math.huge } }):float(), 2) end)
    fails('histogramdd: dimension 2: range cannot be given with bin edges', function()
      return torch.histogramdd(x, { 2, torch.tensor({ 0, 1 }):float() }, { range = { 0, 1, 0, 1 } })
    end)
    fails('histogramdd: dimension 1: the bin edges must be non-decreasing',
          function() return torch.histogramdd(x, { torch.tensor({ 1, 0 }):float(), 2 }) end)
    fails('histogramdd: dimension 2: the bin edges must have the dtype of the input (float32), got float64',
          function() return torch.histogramdd(x, { 2, torch.tensor({ 0, 1 }, D) }) end)
    fails('histogramdd: weight must have the shape of the points [4], got [4 x 1]',
          function() return torch.histogramdd(x, 2, { weight = torch.ones(4, 1) }) end)
    fails('histogramdd: weight must have the dtype of the input (float32), got float64',
          function() return torch.histogramdd(x, 2, { weight = torch.ones(4, D) }) end)
    fails('histogramdd: unknown option bin', function() return torch.histogramdd(x, { bin = 2 }) end)
  end)
end

-- ---- bincount ----
do
  local cases = require('helpers.cases').new()
  local function case(...) cases:add(...) end
  -- PyTorch's bincount is 0-based: ours of x is its of x - 1
  local x = torch.randint(1, 8, { 40 })
  case('bincount of int64 values, with minlength, of a strided view', function(t)
    return { t.x:bincount(), torch.bincount(t.x, { minlength = 12 }), t.x:bincount(nil, 3), t.m:select(2, 2):bincount() }
  end, 'out = [torch.bincount(x - 1), torch.bincount(x - 1, minlength=12), torch.bincount(x - 1, None, 3), ' ..
       'torch.bincount(m[:, 1] - 1)]', { x = x, m = torch.randint(1, 5, { 30, 3 }) })
  for _, dt in ipairs({ 'int8', 'uint8', 'int16', 'int32' }) do
    case('bincount of ' .. dt .. ' values', function(t) return t.x:bincount() end,
         'out = torch.bincount(x - 1)', { x = x:to(dt) })
  end
  case('bincount with weights of every dtype, positional and as options', function(t)
    return { t.x:bincount(t.w32), torch.bincount(t.x, { weights = t.w64, minlength = 10 }), t.x:bincount(t.wi, 2),
             t.x:bincount({ weights = t.wb }), t.x:bincount(t.w16), t.x:bincount(t.wm:select(2, 1)) }
  end, [[out = [torch.bincount(x - 1, w32), torch.bincount(x - 1, w64, 10), torch.bincount(x - 1, wi, 2),
       torch.bincount(x - 1, wb), torch.bincount(x - 1, w16), torch.bincount(x - 1, wm[:, 0])] ]],
       { x = x, w32 = torch.randn(40), w64 = torch.randn(40, D), wi = torch.randint(-5, 5, { 40 }),
         wb = torch.rand(40):gt(0.5), w16 = torch.randn(40):half(), wm = torch.randn(40, 2, D) })
  case('bincount of an empty tensor: minlength int64 zeros, weights or not', function(t)
    return { t.e:bincount(), t.e:bincount(nil, 4), t.e:bincount(t.w, 3) }
  end, 'out = [torch.bincount(e), torch.bincount(e, None, 4), torch.bincount(e, w, 3)]',
       { e = torch.zeros(0, { dtype = 'int64' }), w = torch.zeros(0) })
  cases:describe('bincount matches PyTorch on x - 1')

  it('bincount refuses values below 1, floats, bool, other shapes and bad weights', function()
    local x = torch.tensor({ 1, 2, 3 })
    local function fails(expected, f) assert.matches(expected, message(f), 1, true) end
    fails('bincount: values must be integers >= 1 (1-based, like every index), got 0',
          function() return torch.tensor({ 2, 0, 1 }):bincount() end)
    fails('bincount: values must be integers >= 1 (1-based, like every index), got -3',
          function() return torch.bincount(torch.tensor({ 2, -3, -1 }, { dtype = 'int32' })) end)
    fails('bincount: expects a tensor of integers, got float32', function() return torch.ones(3):bincount() end)
    fails('bincount: expects a tensor of integers, got bool', function() return torch.ones(3, { dtype = 'bool' }):bincount() end)
    fails('bincount: expects a 1-d tensor, got 2 dimensions', function() return torch.ones(2, 2, { dtype = 'int64' }):bincount() end)
    fails('bincount: expects a 1-d tensor, got 0 dimensions', function() return torch.tensor(3):bincount() end)
    fails("bincount: weights must be a 1-d tensor of the input's length 3, got [2]",
          function() return x:bincount(torch.ones(2)) end)
    fails('bincount: minlength must be non-negative, got -1', function() return x:bincount(nil, -1) end)
    fails('bincount: minlength must be an integer, got 1.5', function() return x:bincount({ minlength = 1.5 }) end)
    fails('bincount: unknown option weight', function() return x:bincount({ weight = torch.ones(3) }) end)
    fails('bincount: expected a tensor for the input, got table', function() return torch.bincount({ 1, 2 }) end)
  end)

  it('bincount is not differentiable: weights that require grad give a plain result', function()
    local w = torch.rand(3, D):requires_grad_()
    assert.is_false(torch.tensor({ 1, 1, 2 }):bincount(w).requires_grad)
  end)
end

-- ---- gradient ----
do
  local cases = require('helpers.cases').new()
  local function case(...) cases:add(...) end
  local function pydims(dims)
    local t = {}
    for i, d in ipairs(dims) do t[i] = tostring(py(d)) end
    return '(' .. table.concat(t, ', ') .. ',)'
  end
  for _, dt in ipairs({ 'float32', 'float64', 'int64', 'int32', 'int8', 'float16' }) do
    local y = dt:match('^int') and torch.randint(-20, 20, { 4, 5, 3 }):to(dt) or torch.randn(4, 5, 3):to(dt)
    for _, edge in ipairs({ 1, 2 }) do
      case(('gradient along every dim, edge_order %d, %s'):format(edge, dt), function(t)
        return torch.gradient(t.y, { edge_order = edge })
      end, ('out = list(torch.gradient(y, edge_order=%d))'):format(edge), { y = y },
           dt == 'float16' and { atol = 1e-2, rtol = 1e-2 } or nil)
      case(('gradient along chosen dims with spacings, edge_order %d, %s'):format(edge, dt), function(t)
        local out = torch.gradient(t.y, { dim = 2, spacing = 2.5, edge_order = edge })
        for _, v in ipairs(torch.gradient(t.y, { dim = { 3, -3 }, spacing = { 0.5, 3 }, edge_order = edge })) do out[#out + 1] = v end
        for _, v in ipairs(torch.gradient(t.y, { spacing = 2, edge_order = edge })) do out[#out + 1] = v end
        return out
      end, ([[out = list(torch.gradient(y, dim=1, spacing=2.5, edge_order=%d))
out += list(torch.gradient(y, dim=%s, spacing=[0.5, 3.], edge_order=%d))
out += list(torch.gradient(y, spacing=2, edge_order=%d))]]):format(edge, pydims({ 3, -3 }), edge, edge), { y = y },
           dt == 'float16' and { atol = 1e-2, rtol = 1e-2 } or nil)
    end
  end
  -- coordinates with gaps of 0.3 to 1.3 between samples
  local function grid(n, dt) return (torch.rand(n, D) + 0.3):cumsum(1):to(dt) end
  for _, edge in ipairs({ 1, 2 }) do
    for _, pair in ipairs({ { 'float32', 'float32' }, { 'float64', 'float64' }, { 'float32', 'float64' },
                            { 'float64', 'float32' }, { 'int64', 'float64' }, { 'int64', 'int64' }, { 'float64', 'int32' } }) do
      local ydt, xdt = pair[1], pair[2]
      local y = ydt == 'int64' and torch.randint(-9, 9, { 4, 6 }) or torch.randn(4, 6):to(ydt)
      local x1 = xdt:match('^int') and torch.tensor({ 0, 1, 3, 4 }):to(xdt) or grid(4, xdt)
      local x2 = xdt:match('^int') and torch.tensor({ -2, 0, 1, 5, 6, 9 }):to(xdt) or grid(6, xdt)
      -- (mixed dtypes: we compute in the result's dtype throughout, PyTorch rounds some terms to the narrower one)
      local mixed = ydt ~= xdt and (ydt == 'float32' or xdt ~= 'float64')
      case(('gradient at coordinates, edge_order %d, y %s, coordinates %s'):format(edge, ydt, xdt), function(t)
        local out = torch.gradient(t.y, { spacing = { t.x1, t.x2 }, edge_order = edge })
        for _, v in ipairs(torch.gradient(t.y, { dim = -1, spacing = { t.x2 }, edge_order = edge })) do out[#out + 1] = v end
        return out
      end, ([[out = list(torch.gradient(y, spacing=[x1, x2], edge_order=%d))
out += list(torch.gradient(y, dim=-1, spacing=[x2], edge_order=%d))]]):format(edge, edge), { y = y, x1 = x1, x2 = x2 },
           mixed and ref.tolerance('float32') or nil)
    end
  end
  case('gradient of a transposed view, the shortest dims, a 0-d tensor', function(t)
    local out = torch.gradient(t.y:t(), { spacing = { t.x, t.x2 } })
    for _, v in ipairs(torch.gradient(t.s, { edge_order = 1 })) do out[#out + 1] = v end
    for _, v in ipairs(torch.gradient(t.s3, { edge_order = 2, dim = 1 })) do out[#out + 1] = v end
    out[#out + 1] = #torch.gradient(t.z)
    return out
  end, [[out = list(torch.gradient(y.t(), spacing=[x, x2]))
out += list(torch.gradient(s, edge_order=1))
out += list(torch.gradient(s3, edge_order=2, dim=0))
out.append(len(torch.gradient(z)))]], { y = torch.randn(5, 3, D), x = grid(3, 'float64'), x2 = grid(5, 'float64'), s = torch.randn(2, 2),
                                        s3 = torch.randn(3, 4), z = torch.tensor(2.5) })
  case('gradient gradients in y and in the coordinates', function(t)
    local y, x1, x2 = t.y:clone():requires_grad_(), t.x1:clone():requires_grad_(), t.x2:clone():requires_grad_()
    local g = torch.gradient(y, { spacing = { x1, x2 }, edge_order = 2 })
    local h = torch.gradient(y, { dim = 2, spacing = 0.5 })
    local loss = (g[1] * t.w):sum() + (g[2] * t.w):sin():sum() + (h[1] * t.w):sum()
    loss:backward()
    local z, x3 = t.y:clone():requires_grad_(), t.x2:clone():requires_grad_()
    torch.gradient(z, { dim = 2, spacing = { x3 } })[1]:mul(t.w):sum():backward()
    return { y.grad, x1.grad, x2.grad, z.grad, x3.grad }
  end, [[
y, x1, x2 = y.clone().requires_grad_(), x1.clone().requires_grad_(), x2.clone().requires_grad_()
g = torch.gradient(y, spacing=[x1, x2], edge_order=2)
h = torch.gradient(y, dim=1, spacing=0.5)
((g[0] * w).sum() + (g[1] * w).sin().sum() + (h[0] * w).sum()).backward()
z, x3 = y.detach().clone().requires_grad_(), x2.detach().clone().requires_grad_()
(torch.gradient(z, dim=1, spacing=[x3])[0] * w).sum().backward()
out = [y.grad, x1.grad, x2.grad, z.grad, x3.grad]
]], { y = torch.randn(4, 6, D), x1 = grid(4, 'float64'), x2 = grid(6, 'float64'), w = torch.randn(4, 6, D) })
  cases:describe('gradient matches PyTorch')

  it('gradient is differentiable (gradcheck in y and the coordinates)', function()
    local y, x, rows = torch.randn(3, 5, D):requires_grad_(), grid(5, 'float64'):requires_grad_(), grid(3, 'float64')
    assert.is_true(torch.autograd.gradcheck(function(a, b)
      local g = torch.gradient(a, { spacing = { rows, b }, edge_order = 2 })
      return g[1] + g[2]:pow(2)
    end, { y, x }))
  end)

  it('gradient refuses short dims, other edge orders, bool and uint8, and bad spacings or dims', function()
    local y = torch.randn(3, 4)
    local function fails(expected, f) assert.matches(expected, message(f), 1, true) end
    fails('gradient: dimension 1 has 2 samples, fewer than edge_order + 1 = 3',
          function() return torch.gradient(torch.randn(2, 5), { edge_order = 2 }) end)
    fails('gradient: dimension 2 has 1 samples, fewer than edge_order + 1 = 2', function() return torch.gradient(torch.randn(3, 1)) end)
    fails('gradient: dimension 2 has 0 samples', function() return torch.gradient(torch.randn(3, 0)) end)
    fails('gradient: edge_order must be 1 or 2, got 3', function() return torch.gradient(y, { edge_order = 3 }) end)
    fails('gradient: does not support bool input', function() return torch.gradient(y:gt(0)) end)
    fails('gradient: does not support uint8 input', function() return torch.gradient(y:to('uint8')) end)
    fails('gradient: spacing must have one entry per dimension differentiated (2), got 1',
          function() return torch.gradient(y, { spacing = { 2 } }) end)
    fails('gradient: the coordinates along dimension 1 must be a 1-d tensor of its 3 samples, got [4]',
          function() return torch.gradient(y, { spacing = { torch.arange(4):float(), torch.arange(4):float() } }) end)
    fails('gradient: the coordinates along dimension 2 must be a 1-d tensor of its 4 samples, got [1 x 4]',
          function() return torch.gradient(y, { dim = 2, spacing = { torch.rand(1, 4) } }) end)
    fails('gradient: spacing must be a number, a list of numbers or a list of 1-d tensors, got a tensor',
          function() return torch.gradient(y, { spacing = torch.rand(3) }) end)
    fails('gradient: spacing must hold numbers or 1-d tensors, got string', function() return torch.gradient(y, { spacing = { 'a', 1 } }) end)
    fails('gradient: spacing must hold only numbers or only tensors',
          function() return torch.gradient(y, { spacing = { 1, torch.arange(4):float() } }) end)
    fails('gradient: dimension 2 appears more than once in dim', function() return torch.gradient(y, { dim = { 2, -1 } }) end)
    fails('gradient: dimension 3 out of range', function() return torch.gradient(y, { dim = 3 }) end)
    fails('gradient: unknown option edge', function() return torch.gradient(y, { edge = 2 }) end)
    fails('gradient: expected a tensor for the input, got table', function() return torch.gradient({ 1, 2, 3 }) end)
  end)
end

-- ---- trapezoid, trapz, cumulative_trapezoid ----
do
  local cases = require('helpers.cases').new()
  local function case(...) cases:add(...) end
  for _, dt in ipairs({ 'float32', 'float64', 'int64' }) do
    local y = torch.randint(-9, 9, { 3, 5 }):to(dt)
    local xs = torch.randint(0, 5, { 5 }):cumsum(1):to(dt)
    case('trapezoid with dx and sample points, ' .. dt, function(t)
      return { torch.trapezoid(t.y), torch.trapezoid(t.y, 0.5), torch.trapezoid(t.y, { dx = 2, dim = 1 }), torch.trapz(t.y, t.x),
               torch.trapezoid(t.y, t.x2, 1), torch.trapezoid(t.y:t(), t.x, { dim = 1 }), torch.trapezoid(t.y, t.m) }
    end, [[out = [torch.trapezoid(y), torch.trapezoid(y, dx=0.5), torch.trapezoid(y, dx=2, dim=0), torch.trapz(y, x),
       torch.trapezoid(y, x2, dim=0), torch.trapezoid(y.t(), x, dim=0), torch.trapezoid(y, m)] ]],
         { y = y, x = xs, x2 = xs:narrow(1, 1, 3), m = torch.randint(0, 9, { 3, 5 }):to(dt) })
    case('cumulative_trapezoid with dx and sample points, ' .. dt, function(t)
      return { torch.cumulative_trapezoid(t.y), torch.cumulative_trapezoid(t.y, 2), torch.cumulative_trapezoid(t.y, { dx = 0.5, dim = 1 }),
               torch.cumulative_trapezoid(t.y, t.x), torch.cumulative_trapezoid(t.y:t(), t.x, 1), torch.cumulative_trapezoid(t.y, t.r) }
    end, [[out = [torch.cumulative_trapezoid(y), torch.cumulative_trapezoid(y, dx=2), torch.cumulative_trapezoid(y, dx=0.5, dim=0),
       torch.cumulative_trapezoid(y, x), torch.cumulative_trapezoid(y.t(), x, dim=0), torch.cumulative_trapezoid(y, r)] ]],
         { y = y, x = xs, r = torch.randint(0, 9, { 1, 5 }):to(dt) })
    case('trapezoid and cumulative_trapezoid of empty dims, ' .. dt, function(t)
      return { torch.trapezoid(t.e), torch.trapezoid(t.e, nil, 1), torch.trapezoid(t.e, 2, 2), torch.cumulative_trapezoid(t.e),
               torch.trapezoid(t.o), torch.cumulative_trapezoid(t.o) }
    end, [[out = [torch.trapezoid(e), torch.trapezoid(e, dim=0), torch.trapezoid(e, dx=2, dim=1), torch.cumulative_trapezoid(e),
       torch.trapezoid(o), torch.cumulative_trapezoid(o)] ]],
         { e = torch.zeros(2, 0, { dtype = dt }), o = torch.ones(1, { dtype = dt }) })
  end
  case('trapezoid and cumulative_trapezoid gradients in y and x', function(t)
    local y1, x1, y2, x2 = t.y:clone():requires_grad_(), t.x:clone():requires_grad_(), t.y:clone():requires_grad_(),
                           t.x:clone():requires_grad_()
    local y3 = t.y:clone():requires_grad_()
    torch.trapezoid(y1, x1):mul(t.w):sum():backward()
    torch.cumulative_trapezoid(y2, x2, 2):mul(t.v):sum():backward()
    torch.trapezoid(y3, 0.3, 1):mul(t.u):sum():backward()
    return { y1.grad, x1.grad, y2.grad, x2.grad, y3.grad }
  end, [[
y1, x1, y2, x2, y3 = [t.clone().requires_grad_() for t in (y, x, y, x, y)]
(torch.trapezoid(y1, x1) * w).sum().backward()
(torch.cumulative_trapezoid(y2, x2, dim=1) * v).sum().backward()
(torch.trapezoid(y3, dx=0.3, dim=0) * u).sum().backward()
out = [y1.grad, x1.grad, y2.grad, x2.grad, y3.grad]
]], { y = torch.randn(3, 5, D), x = torch.randn(5, D), w = torch.randn(3, D), v = torch.randn(3, 4, D), u = torch.randn(5, D) })
  cases:describe('trapezoid and cumulative_trapezoid match PyTorch')

  it('trapezoid and cumulative_trapezoid refuse bad input', function()
    local y = torch.randn(2, 3)
    assert.matches('trapezoid: expects y of at least one dimension, got a 0-d tensor',
                   message(function() return torch.trapezoid(torch.tensor(1.5)) end), 1, true)
    assert.matches('cumulative_trapezoid: expects y of at least one dimension, got a 0-d tensor',
                   message(function() return torch.cumulative_trapezoid(torch.tensor(1.5)) end), 1, true)
    assert.matches('trapezoid: bool tensors are not supported',
                   message(function() return torch.trapezoid(torch.tensor({ true, false })) end), 1, true)
    assert.matches('trapezoid: x must have one value per sample point: 3 along dimension 2, got 2',
                   message(function() return torch.trapezoid(y, torch.randn(2)) end), 1, true)
    assert.matches('cumulative_trapezoid: give sample points x or a spacing dx, not both',
                   message(function() return torch.cumulative_trapezoid(y, torch.randn(3), { dx = 1 }) end), 1, true)
    assert.matches('trapezoid: dimension 3 out of range', message(function() return torch.trapezoid(y, nil, 3) end), 1, true)
    assert.matches('trapezoid: expected a tensor for y, got table',
                   message(function() return torch.trapezoid({ 1, 2 }) end), 1, true)
    assert.matches('trapezoid: dx must be a number, got 1', message(function() return torch.trapezoid(y, { dx = '1' }) end), 1, true)
  end)
end

-- ---- renorm ----
do
  local cases = require('helpers.cases').new()
  local function case(...) cases:add(...) end
  for _, dt in ipairs({ 'float32', 'float64' }) do
    local x = torch.randn(4, 3, 5):to(dt)
    case('renorm over each dim, several p, ' .. dt, function(t)
      return { t.x:renorm(2, 1, 2), torch.renorm(t.x, 1, 2, 3), t.x:renorm(math.huge, -1, 1), t.x:renorm(0.5, 3, 4),
               t.x:transpose(1, 3):renorm(3, 2, 1.5), t.x:renorm(2, 1, 0) }
    end, [[out = [x.renorm(2, 0, 2), torch.renorm(x, 1, 1, 3), x.renorm(float('inf'), -1, 1), x.renorm(0.5, 2, 4),
       x.transpose(0, 2).renorm(3, 1, 1.5), x.renorm(2, 0, 0)] ]], { x = x })
    case('renorm_ in place and of an empty tensor, ' .. dt, function(t)
      local y = t.x:clone()
      local r = y:renorm_(2, 2, 1)
      return { y, r, t.e:renorm(2, 1, 1) }
    end, 'y = x.clone(); r = y.renorm_(2, 1, 1); out = [y, r, e.renorm(2, 0, 1)]',
         { x = torch.randn(3, 4):to(dt), e = torch.zeros(0, 3, { dtype = dt }) })
  end
  case('renorm gradients, of renorm and renorm_', function(t)
    local a, b, c = t.x:clone():requires_grad_(), t.x:clone():requires_grad_(), t.x:clone():requires_grad_()
    a:renorm(2, 1, 1.5):mul(t.w):sum():backward()
    b:renorm(1, 2, 2):mul(t.w):sum():backward()
    local d = c * 1
    d:renorm_(3, 1, 1)
    d:mul(t.w):sum():backward()
    return { a.grad, b.grad, c.grad }
  end, [[
a, b, c = x.clone().requires_grad_(), x.clone().requires_grad_(), x.clone().requires_grad_()
(a.renorm(2, 0, 1.5) * w).sum().backward()
(b.renorm(1, 1, 2) * w).sum().backward()
d = c * 1
d.renorm_(3, 0, 1)
(d * w).sum().backward()
out = [a.grad, b.grad, c.grad]
]], { x = torch.randn(4, 3, D), w = torch.randn(4, 3, D) })
  cases:describe('renorm matches PyTorch')

  it('renorm refuses integers, vectors and bad p or maxnorm', function()
    local x = torch.randn(3, 3)
    assert.matches('renorm: expects a floating point tensor, got int64',
                   message(function() return torch.tensor({ { 1, 2 } }):renorm(2, 1, 1) end), 1, true)
    assert.matches('renorm: expects a tensor of at least 2 dimensions, got 1',
                   message(function() return torch.ones(3):renorm(2, 1, 1) end), 1, true)
    assert.matches('renorm: p must be positive, got 0', message(function() return x:renorm(0, 1, 1) end), 1, true)
    assert.matches('renorm: maxnorm must be non-negative, got -1', message(function() return x:renorm(2, 1, -1) end), 1, true)
    assert.matches('renorm_: dimension 3 out of range', message(function() return x:renorm_(2, 3, 1) end), 1, true)
    assert.matches('renorm: p must be a number, got nil', message(function() return x:renorm() end), 1, true)
  end)
end
