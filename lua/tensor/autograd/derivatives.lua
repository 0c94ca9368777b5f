-- tensor.autograd.derivatives: the derivative of every differentiable op, in one table (the role of
-- PyTorch's derivatives.yaml).
--
-- Each entry names how many leading arguments may carry gradients (`inputs`), whether they broadcast
-- (`broadcast`: the engine then sums gradients back to each input's shape and casts them to its dtype),
-- what to keep for backward (`save(ctx, out, ...)`: tensors through ctx:save, other values as fields),
-- and `backward(ctx, grad)` returning a gradient per input (nil for inputs that need none; ctx.next[i] is
-- false for those). Formulas are written with the public ops, so with create_graph=true the backward pass
-- is itself recorded and can be differentiated again. Where a fused C kernel exists it is used when no
-- graph of the backward pass is being built (grad mode off during backward).
local core = require 'tensor.core'
local mode = require 'tensor.autograd.mode'

local torch, Tensor = core.torch, core.Tensor
local is_tensor = core.is_tensor

local D = {}

local LN2, LN10 = math.log(2), math.log(10)
local TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)
local INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)

local function save_x(ctx, out, x) ctx:save(x) end
local function save_out(ctx, out) ctx:save(out) end
local function save_x_out(ctx, out, x) ctx:save(x, out) end
local function save_ab(ctx, out, a, b) ctx:save(a, b) end
local function save_ab_out(ctx, out, a, b) ctx:save(a, b, out) end

-- The gradient of an element-wise op from its fused C kernel: into g itself when the engine lets this node
-- overwrite it (ctx.grad_writable: nothing else can see g), saving a tensor and a pass over fresh memory.
local function fused(ctx, kind, g, saved, p0, p1)
  return require('tensor.pointwise').backward(kind, g, saved, p0, p1, ctx.grad_writable and g or nil)
end

local function zeros_like(t) return torch.zeros_like(t) end

-- ---------------------------------------------------------------- unary element-wise

local function unary(name, save, backward) D[name] = { inputs = 1, save = save, backward = backward } end

unary('neg', nil, function(ctx, g) return -g end)
unary('abs', save_x, function(ctx, g) local x = ctx:saved_values() return g * x:sign() end)
for _, name in ipairs({ 'sign', 'floor', 'ceil', 'round', 'trunc' }) do
  unary(name, nil, function(ctx, g) return zeros_like(g) end)
end
-- random counts: poisson's gradient in the rates is zero, binomial has none (both as PyTorch)
unary('poisson', nil, function(ctx, g) return zeros_like(g) end)
D.binomial = { inputs = 2, broadcast = true, backward = function()
  core.raise('binomial: the derivative of binomial is not implemented (as in PyTorch)')
end }
unary('exp', save_out, function(ctx, g) local y = ctx:saved_values() return g * y end)
unary('exp2', save_out, function(ctx, g) local y = ctx:saved_values() return g * y * LN2 end)
unary('expm1', save_out, function(ctx, g) local y = ctx:saved_values() return g * (y + 1) end)
unary('log', save_x, function(ctx, g) local x = ctx:saved_values() return g / x end)
unary('log2', save_x, function(ctx, g) local x = ctx:saved_values() return g / (x * LN2) end)
unary('log10', save_x, function(ctx, g) local x = ctx:saved_values() return g / (x * LN10) end)
unary('log1p', save_x, function(ctx, g) local x = ctx:saved_values() return g / (x + 1) end)
unary('sqrt', save_out, function(ctx, g) local y = ctx:saved_values() return g / (y * 2) end)
unary('rsqrt', save_out, function(ctx, g) local y = ctx:saved_values() return g * y:pow(3) * -0.5 end)
unary('sin', save_x, function(ctx, g) local x = ctx:saved_values() return g * x:cos() end)
unary('cos', save_x, function(ctx, g) local x = ctx:saved_values() return -(g * x:sin()) end)
unary('tan', save_out, function(ctx, g) local y = ctx:saved_values() return g * (y * y + 1) end)
unary('asin', save_x, function(ctx, g) local x = ctx:saved_values() return g / (1 - x * x):sqrt() end)
unary('acos', save_x, function(ctx, g) local x = ctx:saved_values() return -(g / (1 - x * x):sqrt()) end)
unary('atan', save_x, function(ctx, g) local x = ctx:saved_values() return g / (x * x + 1) end)
unary('sinh', save_x, function(ctx, g) local x = ctx:saved_values() return g * x:cosh() end)
unary('cosh', save_x, function(ctx, g) local x = ctx:saved_values() return g * x:sinh() end)
unary('tanh', save_out, function(ctx, g)
  local y = ctx:saved_values()
  if not mode.enabled then return fused(ctx, 'tanh', g, y) end
  return g * (1 - y * y)
end)
unary('sigmoid', save_out, function(ctx, g)
  local y = ctx:saved_values()
  if not mode.enabled then return fused(ctx, 'sigmoid', g, y) end
  return g * y * (1 - y)
end)
unary('logsigmoid', save_x, function(ctx, g) local x = ctx:saved_values() return g * (-x):sigmoid() end)
unary('relu', save_out, function(ctx, g)
  local y = ctx:saved_values()
  if not mode.enabled then return fused(ctx, 'threshold', g, y, 0) end
  return g * y:gt(0):to(g:dtype())
end)
unary('gelu', function(ctx, out, x, approximate)
  ctx:save(x)
  ctx.tanh = (approximate == 'tanh') or (type(approximate) == 'table' and approximate.approximate == 'tanh')
end, function(ctx, g)
  local x = ctx:saved_values()
  if not mode.enabled then return fused(ctx, 'gelu', g, x, ctx.tanh and 1 or 0) end
  if ctx.tanh then
    local k, c = math.sqrt(2 / math.pi), 0.044715
    local t = ((x + x:pow(3) * c) * k):tanh()
    return g * ((t + 1) * 0.5 + x * (1 - t * t) * (k * 0.5) * (x * x * (3 * c) + 1))
  end
  return g * (((x * (1 / math.sqrt(2))):erf() + 1) * 0.5 + x * (x * x * -0.5):exp() * INV_SQRT_2PI)
end)
unary('silu', save_x, function(ctx, g)
  local x = ctx:saved_values()
  if not mode.enabled then return fused(ctx, 'silu', g, x) end
  local s = x:sigmoid()
  return g * s * (x * (1 - s) + 1)
end)
unary('leaky_relu', function(ctx, out, x, slope)
  ctx:save(x)
  if type(slope) == 'table' then slope = slope.negative_slope end
  ctx.slope = slope or 0.01
end, function(ctx, g)
  local x = ctx:saved_values()
  if not mode.enabled then return fused(ctx, 'leaky_relu', g, x, ctx.slope) end
  return torch.where(x:gt(0), g, g * ctx.slope)
end)
unary('elu', function(ctx, out, x, alpha)
  ctx:save(x, out)
  if type(alpha) == 'table' then alpha = alpha.alpha end
  ctx.alpha = alpha or 1
end, function(ctx, g)
  local x, y = ctx:saved_values()
  if not mode.enabled then return fused(ctx, 'elu', g, x, ctx.alpha) end
  return torch.where(x:gt(0), g, g * (y + ctx.alpha))
end)
unary('softplus', function(ctx, out, x, beta, threshold)
  ctx:save(x)
  if type(beta) == 'table' then beta, threshold = beta.beta, beta.threshold end
  ctx.beta, ctx.threshold = beta or 1, threshold or 20
end, function(ctx, g)
  local x = ctx:saved_values()
  if not mode.enabled then return fused(ctx, 'softplus', g, x, ctx.beta, ctx.threshold) end
  local bx = x * ctx.beta
  return torch.where(bx:gt(ctx.threshold), g, g * bx:sigmoid())
end)
unary('erf', save_x, function(ctx, g) local x = ctx:saved_values() return g * (-(x * x)):exp() * TWO_OVER_SQRT_PI end)
unary('erfc', save_x, function(ctx, g) local x = ctx:saved_values() return g * (-(x * x)):exp() * -TWO_OVER_SQRT_PI end)
unary('asinh', save_x, function(ctx, g) local x = ctx:saved_values() return g * (x * x + 1):rsqrt() end)
unary('acosh', save_x, function(ctx, g) local x = ctx:saved_values() return g * (x * x - 1):rsqrt() end)
unary('atanh', save_x, function(ctx, g) local x = ctx:saved_values() return g / (1 - x * x) end)
unary('lgamma', save_x, function(ctx, g) local x = ctx:saved_values() return g * x:digamma() end)
unary('digamma', save_x, function(ctx, g) local x = ctx:saved_values() return g * x:polygamma(1) end)
unary('polygamma', function(ctx, out, x, n) ctx:save(x) ctx.n = n end,
      function(ctx, g) local x = ctx:saved_values() return g * x:polygamma(ctx.n + 1) end)
unary('erfinv', save_out, function(ctx, g)
  local y = ctx:saved_values()
  return g * (y * y):exp() * (math.sqrt(math.pi) / 2)
end)
unary('i0', save_x, function(ctx, g) local x = ctx:saved_values() return g * torch.special.i1(x) end)
-- i1' = i0 - i1 / x, 1/2 at 0
unary('special.i1', save_x_out, function(ctx, g)
  local x, y = ctx:saved_values()
  return g * torch.where(x:eq(0), 0.5, x:i0() - y / x)
end)
-- sinc' = (cos(pi x) pi x - sin(pi x)) / (pi x^2), 0 at 0
unary('sinc', save_x, function(ctx, g)
  local x = ctx:saved_values()
  local px = x * math.pi
  return g * torch.where(x:eq(0), 0, (px * px:cos() - px:sin()) / (px * x))
end)
-- torch.special's functions with a derivative in PyTorch 1.13, with its formulas
unary('special.ndtr', save_x, function(ctx, g)
  local x = ctx:saved_values()
  return g * (x * x * -0.5):exp() * INV_SQRT_2PI
end)
unary('special.ndtri', save_out, function(ctx, g)
  local y = ctx:saved_values()
  return g * (y * y * 0.5):exp() * math.sqrt(2 * math.pi)
end)
unary('special.log_ndtr', save_x_out, function(ctx, g)
  local x, y = ctx:saved_values()
  return g * (-(y + x * x * 0.5)):exp() * INV_SQRT_2PI
end)
unary('special.erfcx', save_x_out, function(ctx, g)
  local x, y = ctx:saved_values()
  return g * (x * y * 2 - TWO_OVER_SQRT_PI)
end)
-- i0e' = i1e - sgn(x) i0e; i1e' = i0e - i1e (sgn(x) + 1/x), 1/2 at 0
unary('special.i0e', save_x_out, function(ctx, g)
  local x, y = ctx:saved_values()
  return g * (torch.special.i1e(x) - x:sign() * y)
end)
unary('special.i1e', save_x_out, function(ctx, g)
  local x, y = ctx:saved_values()
  return g * torch.where(x:eq(0), 0.5, torch.special.i0e(x) - y * (x:sign() + x:reciprocal()))
end)
unary('special.entr', save_x, function(ctx, g)
  local x = ctx:saved_values()
  return g * -(x:log() + 1)
end)
unary('frac', nil, function(ctx, g) return g end)
unary('reciprocal', save_out, function(ctx, g) local y = ctx:saved_values() return -(g * y * y) end)
unary('square', save_x, function(ctx, g) local x = ctx:saved_values() return g * x * 2 end)
-- clamp with number bounds (tensor bounds are composed of maximum/minimum, already differentiable)
unary('clamp', function(ctx, out, x, lo, hi)
  ctx:save(x)
  if type(lo) == 'table' and not is_tensor(lo) then lo, hi = lo.min, lo.max end
  ctx.lo, ctx.hi = lo, hi
end, function(ctx, g)
  local x = ctx:saved_values()
  local keep
  if ctx.lo ~= nil then keep = x:ge(ctx.lo) end
  if ctx.hi ~= nil then keep = keep and keep:logical_and(x:le(ctx.hi)) or x:le(ctx.hi) end
  return torch.where(keep, g, 0)
end)
-- hardtanh and relu6 are clamps whose gradient is zero at the corners too (PyTorch: lo < x < hi; clamp keeps them)
local function save_bounds(lo, hi)
  return function(ctx, out, x, a, b)
    ctx:save(x)
    if type(a) == 'table' then a, b = a.min_val, a.max_val end
    ctx.lo, ctx.hi = a or lo, b or hi
  end
end
local function inside_bounds(ctx, g)
  local x = ctx:saved_values()
  return torch.where(x:gt(ctx.lo):logical_and(x:lt(ctx.hi)), g, 0)
end
unary('hardtanh', save_bounds(-1, 1), inside_bounds)
unary('relu6', save_bounds(0, 6), inside_bounds)
D.clamp.declines = function(x, lo, hi)
  if type(lo) == 'table' and not is_tensor(lo) then lo, hi = lo.min, lo.max end
  return is_tensor(lo) or is_tensor(hi)
end

-- ---------------------------------------------------------------- binary element-wise

local function alpha_of(alpha)
  if type(alpha) == 'table' then alpha = alpha.alpha end
  return alpha or 1
end

D.add = { inputs = 2, broadcast = true, save = function(ctx, out, a, b, alpha) ctx.alpha = alpha_of(alpha) end,
  backward = function(ctx, g) return g, ctx.next[2] and (ctx.alpha == 1 and g or g * ctx.alpha) end }
D.sub = { inputs = 2, broadcast = true, save = function(ctx, out, a, b, alpha) ctx.alpha = alpha_of(alpha) end,
  backward = function(ctx, g) return g, ctx.next[2] and (ctx.alpha == 1 and -g or g * -ctx.alpha) end }
D.mul = { inputs = 2, broadcast = true, save = save_ab, backward = function(ctx, g)
  local a, b = ctx:saved_values()
  return ctx.next[1] and g * b, ctx.next[2] and g * a
end }
D.div = { inputs = 2, broadcast = true, save = function(ctx, out, a, b, opts)
  -- a quotient rounded by rounding_mode is piecewise constant: zero gradients, as in PyTorch
  local mode = type(opts) == 'table' and opts.rounding_mode or type(opts) == 'string' and opts or nil
  ctx.rounded = mode ~= nil
  if not ctx.rounded then ctx:save(a, b) end
end, backward = function(ctx, g)
  if ctx.rounded then return ctx.next[1] and zeros_like(g), ctx.next[2] and zeros_like(g) end
  local a, b = ctx:saved_values()
  return ctx.next[1] and g / b, ctx.next[2] and -(g * a) / (b * b)
end }
D.pow = { inputs = 2, broadcast = true, save = save_ab_out, backward = function(ctx, g)
  local a, b, y = ctx:saved_values()
  local ga, gb
  if ctx.next[1] then
    if type(b) == 'number' then
      ga = b == 0 and zeros_like(g) or g * a:pow(b - 1) * b
    else
      -- 0^0: a zero exponent gives 0, not 0 * 0^-1 (as PyTorch)
      ga = torch.where(b:eq(0), 0, g * b * a:pow(b - 1))
    end
  end
  if ctx.next[2] then
    if type(a) == 'number' then
      gb = a == 0 and torch.where(b:ge(0), 0, g * y * math.log(a)) or g * y * math.log(a)
    else
      -- 0^b has no log; PyTorch defines the exponent's gradient there as 0 (for b >= 0)
      gb = torch.where(a:eq(0):logical_and(b:ge(0)), 0, g * y * a:log())
    end
  end
  return ga, gb
end }
local function extremum(select_a)
  return function(ctx, g)
    local a, b = ctx:saved_values()
    local ga, gb
    local half = g * 0.5
    if ctx.next[1] then ga = torch.where(a:eq(b), half, torch.where(select_a(a, b), g, 0)) end
    if ctx.next[2] then gb = torch.where(a:eq(b), half, torch.where(select_a(b, a), g, 0)) end
    return ga, gb
  end
end
D.maximum = { inputs = 2, broadcast = true, save = save_ab, backward = extremum(function(x, y) return x:gt(y) end) }
D.minimum = { inputs = 2, broadcast = true, save = save_ab, backward = extremum(function(x, y) return x:lt(y) end) }
D.atan2 = { inputs = 2, broadcast = true, save = save_ab, backward = function(ctx, g)
  local a, b = ctx:saved_values()
  local d = a * a + b * b
  return ctx.next[1] and g * b / d, ctx.next[2] and -(g * a) / d
end }
-- fmax/fmin: the gradient goes to the operand chosen, the first on ties and where the second is NaN (PyTorch's
-- rule); either operand may be a number. keeps(a, b) is a >= b for fmax (a <= b for fmin), mirrored(b, a) the same
-- test written from b's side.
local function nan_ignoring_extremum(keeps, mirrored)
  return function(ctx, g)
    local a, b = ctx:saved_values()
    if not is_tensor(b) and b ~= b then return g, nil end
    local first = is_tensor(a) and a[keeps](a, b) or b[mirrored](b, a)
    if is_tensor(b) then first = first:logical_or(b:isnan()) end
    return ctx.next[1] and torch.where(first, g, 0), ctx.next[2] and torch.where(first, 0, g)
  end
end
D.fmax = { inputs = 2, broadcast = true, save = save_ab, backward = nan_ignoring_extremum('ge', 'le') }
D.fmin = { inputs = 2, broadcast = true, save = save_ab, backward = nan_ignoring_extremum('le', 'ge') }
-- xlog1py: in x, log1p(y) (0 where g is 0, and where x is 0 and y <= -1); in y, x / (y + 1). Either may be a number.
D['special.xlog1py'] = { inputs = 2, broadcast = true, save = save_ab, backward = function(ctx, g)
  local x, y = ctx:saved_values()
  local gx, gy
  if ctx.next[1] then
    gx = torch.special.xlog1py(g, y)
    local at_pole = is_tensor(y) and x:eq(0):logical_and(y:le(-1)) or (y <= -1 and x:eq(0))
    if at_pole then gx = torch.where(at_pole, 0, gx) end
  end
  if ctx.next[2] then gy = g * x / (y + 1) end
  return gx, gy
end }
-- Derivatives PyTorch 1.13 defines in the second argument only; the first raises when it is needed.
local function first_argument_undefined(name, what)
  error(string.format('%s: the derivative with respect to %s is not implemented (as in PyTorch)', name, what), 0)
end
-- d/dq zeta(x, q) = -x zeta(x + 1, q); x may be a number
D['special.zeta'] = { inputs = 2, broadcast = true, save = save_ab, backward = function(ctx, g)
  local x, q = ctx:saved_values()
  if ctx.next[1] then first_argument_undefined('special.zeta', 'x (the first argument)') end
  return nil, g * -x * torch.special.zeta(x + 1, q)
end }
-- d/dx P(a, x) = -d/dx Q(a, x) = x^(a-1) e^-x / Gamma(a), as PyTorch's exp((a - 1) log x - x - lgamma(a))
for name, sign in pairs({ igamma = 1, igammac = -1 }) do
  D[name] = { inputs = 2, broadcast = true, save = save_ab, backward = function(ctx, g)
    local a, x = ctx:saved_values()
    if ctx.next[1] then first_argument_undefined(name, 'a (the first argument)') end
    return nil, g * ((a - 1) * x:log() - x - a:lgamma()):exp() * sign
  end }
end
D.fmod = { inputs = 2, broadcast = true, save = save_ab, backward = function(ctx, g)
  local a, b = ctx:saved_values()
  return g, ctx.next[2] and -(g * (a / b):trunc())
end }
D.remainder = { inputs = 2, broadcast = true, save = save_ab, backward = function(ctx, g)
  local a, b = ctx:saved_values()
  return g, ctx.next[2] and -(g * (a / b):floor())
end }

-- ---------------------------------------------------------------- ternary element-wise

D.lerp = { inputs = 3, broadcast = true, save = function(ctx, out, a, b, w) ctx:save(a, b, w) end,
  backward = function(ctx, g)
    local a, b, w = ctx:saved_values()
    return ctx.next[1] and g * (1 - w), ctx.next[2] and g * w, ctx.next[3] and g * (b - a)
  end }
local function value_of(v)
  if type(v) == 'table' and not is_tensor(v) then v = v.value end
  return v or 1
end
D.addcmul = { inputs = 3, broadcast = true,
  save = function(ctx, out, a, t1, t2, value) ctx:save(t1, t2) ctx.value = value_of(value) end,
  backward = function(ctx, g)
    local t1, t2 = ctx:saved_values()
    local v = ctx.value
    return g, ctx.next[2] and g * t2 * v, ctx.next[3] and g * t1 * v
  end }
D.addcdiv = { inputs = 3, broadcast = true,
  save = function(ctx, out, a, t1, t2, value) ctx:save(t1, t2) ctx.value = value_of(value) end,
  backward = function(ctx, g)
    local t1, t2 = ctx:saved_values()
    local v = ctx.value
    return g, ctx.next[2] and g * v / t2, ctx.next[3] and -(g * v * t1) / (t2 * t2)
  end }
D.where = { inputs = 3, broadcast = true, save = function(ctx, out, cond) ctx:save(cond) end,
  backward = function(ctx, g)
    local cond = ctx:saved_values()
    return nil, ctx.next[2] and torch.where(cond, g, 0), ctx.next[3] and torch.where(cond, 0, g)
  end }

-- ---------------------------------------------------------------- views and copies

local function save_shape(ctx, out, x) ctx.shape = x:shape() end
local function to_shape(ctx, g) return g:reshape(ctx.shape) end

-- The inverse of taking a view: a zero tensor of the input's shape with g written into the same view. It is
-- itself a recorded op (its derivative is taking the view again), so views work with create_graph.
local scatter_into_view
D._view_scatter = { inputs = 1, save = function(ctx, out, g, shape, viewer) ctx.viewer = viewer end,
  backward = function(ctx, gg) return ctx.viewer(gg) end }
local function view_scatter_raw(g, shape, viewer)
  local z = torch.zeros(shape, { dtype = g:dtype(), device = g:device() })
  local region = viewer(z)
  core.check(core.C.tn_copy_(region._c, g._c))
  return z
end
scatter_into_view = function(g, shape, viewer)
  if mode.enabled and rawget(g, '_rg') then
    return require('tensor.autograd.record').attach(D._view_scatter, view_scatter_raw(g, shape, viewer), g, shape, viewer)
  end
  return view_scatter_raw(g, shape, viewer)
end
D.scatter_into_view = scatter_into_view

D.view = { inputs = 1, save = save_shape, backward = to_shape }
D.reshape = D.view
D.flatten = D.view
D.unflatten = D.view
D.squeeze = D.view
D.unsqueeze = D.view
D.view_as = D.view
D.reshape_as = D.view
D.expand = { inputs = 1, save = save_shape, backward = function(ctx, g)
  return require('tensor.autograd.engine').sum_to(g, ctx.shape)
end }
D.expand_as = D.expand
D.transpose = { inputs = 1, save = function(ctx, out, x, a, b) ctx.a, ctx.b = a, b end,
  backward = function(ctx, g) return g:transpose(ctx.a, ctx.b) end }
D.t = { inputs = 1, backward = function(ctx, g) return g:t() end }
D.permute = { inputs = 1, save = function(ctx, out, x, ...)
  local dims = select('#', ...) == 1 and type((...)) == 'table' and (...) or { ... }
  local n = x:dim()
  local inverse = {}
  for i, d in ipairs(dims) do
    local k = d < 0 and d + n + 1 or d
    inverse[k] = i
  end
  ctx.inverse = inverse
end, backward = function(ctx, g) return g:permute(ctx.inverse) end }
D.narrow = { inputs = 1, save = function(ctx, out, x, dim, start, length)
  ctx.shape, ctx.dim, ctx.start, ctx.length = x:shape(), dim, start, length
end, backward = function(ctx, g)
  local dim, start, length = ctx.dim, ctx.start, ctx.length
  return scatter_into_view(g, ctx.shape, function(z) return z:narrow(dim, start, length) end)
end }
D.select = { inputs = 1, save = function(ctx, out, x, dim, index)
  ctx.shape, ctx.dim, ctx.index = x:shape(), dim, index
end, backward = function(ctx, g)
  local dim, index = ctx.dim, ctx.index
  return scatter_into_view(g, ctx.shape, function(z) return z:select(dim, index) end)
end }
D.diagonal = { inputs = 1, save = function(ctx, out, x, offset, d1, d2)
  ctx.shape, ctx.offset, ctx.d1, ctx.d2 = x:shape(), offset, d1, d2
end, backward = function(ctx, g)
  local offset, d1, d2 = ctx.offset, ctx.d1, ctx.d2
  return scatter_into_view(g, ctx.shape, function(z) return z:diagonal(offset, d1, d2) end)
end }
D.as_strided = { inputs = 1, save = function(ctx, out, x, sizes, strides, offset)
  if not x:is_contiguous() then
    error('as_strided: gradients need a contiguous input (call :contiguous() first)', 0)
  end
  ctx.shape, ctx.sizes, ctx.strides = x:shape(), sizes, strides
  ctx.offset = (offset or tonumber(x._c.offset)) - tonumber(x._c.offset)
end, backward = function(ctx, g)
  local sizes, strides, offset = ctx.sizes, ctx.strides, ctx.offset
  return scatter_into_view(g, ctx.shape, function(z) return z:as_strided(sizes, strides, tonumber(z._c.offset) + offset) end)
end }
-- unfold's windows may overlap, so its backward adds each window back.
D.unfold = { inputs = 1, save = function(ctx, out, x, dim, size, step)
  -- a negative dim counts from the input's end (the output has one more dim)
  if dim < 0 then dim = math.max(dim + x:dim() + 1, 1) end
  ctx.shape, ctx.dim, ctx.size, ctx.step, ctx.n = x:shape(), dim, size, step, out:size(dim)
end, backward = function(ctx, g)
  -- a 0-d input unfolds to [size] (size 0 or 1)
  if #ctx.shape == 0 then return g:reshape(-1):sum(1) end
  local dim = ctx.dim
  local grad = torch.zeros(ctx.shape, { dtype = g:dtype(), device = g:device() })
  local ndim = #ctx.shape
  local perm = {}
  for d = 1, ndim do perm[d] = d < dim and d or (d == dim and ndim or d - 1) end
  for w = 1, ctx.n do
    -- window w: g:select(dim, w) has the window as its last dim; move it back to dim
    local window, start = g:select(dim, w):permute(perm), (w - 1) * ctx.step + 1
    grad = grad + scatter_into_view(window, ctx.shape, function(z) return z:narrow(dim, start, ctx.size) end)
  end
  return grad
end }
D.clone = { inputs = 1, backward = function(ctx, g) return g end }
D.contiguous = D.clone
-- dtype and device conversions between floating types
D._convert = { inputs = 1, save = function(ctx, out, x)
  ctx.dtype, ctx.device_type, ctx.device_index = tonumber(x._c.dtype), tonumber(x._c.storage.device_type),
    tonumber(x._c.storage.device_index)
end, backward = function(ctx, g) return g:_convert(ctx.dtype, ctx.device_type, ctx.device_index) end }

-- In-place writes: copy_ takes the source's history (broadcast and dtype handled by the engine); fill_
-- and zero_ cut it.
D.copy_ = { inputs = 2, broadcast = true, backward = function(ctx, g) return nil, g end }
D.fill_ = { inputs = 1, backward = function(ctx, g) return nil end }

-- ---------------------------------------------------------------- linear algebra

local function mT(t) return t:transpose(-2, -1) end

-- x @ y, laid out as `like` (an operand whose gradient this is): when like is a transposed contiguous matrix
-- (a Linear's weight:t()), the product is computed transposed, (y^T x^T)^T, so that the transpose's own
-- backward hands the leaf a contiguous gradient instead of one that must be copied into place.
local function product_like(x, y, like)
  if like:dim() == 2 and not like:is_contiguous() and like:stride(1) == 1 and like:stride(2) == like:size(1) then
    return y:t():mm(x:t()):t()
  end
  return x:mm(y)
end

D.mm = { inputs = 2, save = save_ab, backward = function(ctx, g)
  local a, b = ctx:saved_values()
  return ctx.next[1] and product_like(g, b:t(), a), ctx.next[2] and product_like(a:t(), g, b)
end }
D.bmm = { inputs = 2, save = save_ab, backward = function(ctx, g)
  local a, b = ctx:saved_values()
  return ctx.next[1] and g:bmm(mT(b)), ctx.next[2] and mT(a):bmm(g)
end }
D.mv = { inputs = 2, save = save_ab, backward = function(ctx, g)
  local a, x = ctx:saved_values()
  return ctx.next[1] and g:outer(x), ctx.next[2] and a:t():mv(g)
end }
D.dot = { inputs = 2, save = save_ab, backward = function(ctx, g)
  local a, b = ctx:saved_values()
  return ctx.next[1] and b * g, ctx.next[2] and a * g
end }
D.vdot = D.dot
D.outer = { inputs = 2, save = save_ab, backward = function(ctx, g)
  local a, b = ctx:saved_values()
  return ctx.next[1] and g:mv(b), ctx.next[2] and g:t():mv(a)
end }
D.ger = D.outer
-- matmul with PyTorch's rules; the engine sums broadcast batch dims back to each operand's shape.
D.matmul = { inputs = 2, broadcast = true, save = save_ab, backward = function(ctx, g)
  local a, b = ctx:saved_values()
  local da, db = a:dim(), b:dim()
  local ga, gb
  if da == 1 and db == 1 then
    ga, gb = ctx.next[1] and b * g, ctx.next[2] and a * g
  elseif db == 1 then -- [..., m, k] @ [k] -> [..., m]
    ga = ctx.next[1] and g:unsqueeze(-1):matmul(b:unsqueeze(1))
    gb = ctx.next[2] and mT(a):matmul(g:unsqueeze(-1)):squeeze(-1)
  elseif da == 1 then -- [k] @ [..., k, n] -> [..., n]
    ga = ctx.next[1] and g:unsqueeze(-2):matmul(mT(b)):squeeze(-2)
    gb = ctx.next[2] and a:unsqueeze(-1):matmul(g:unsqueeze(-2))
  elseif da == 2 and db == 2 then
    ga = ctx.next[1] and product_like(g, b:t(), a)
    gb = ctx.next[2] and product_like(a:t(), g, b)
  else
    ga = ctx.next[1] and g:matmul(mT(b))
    gb = ctx.next[2] and mT(a):matmul(g)
  end
  return ga, gb
end }

-- The add* forms: beta * input + alpha * product (beta, alpha positional or {beta=, alpha=}).
local function save_scaled(ctx, out, input, a, b, beta, alpha)
  if type(beta) == 'table' then beta, alpha = beta.beta, beta.alpha end
  ctx.beta, ctx.alpha = beta or 1, alpha or 1
  ctx:save(a, b)
end
local function scale(g, s)
  if s == 1 then return g end
  return g * s
end
D.addmm = { inputs = 3, broadcast = true, save = save_scaled, backward = function(ctx, g)
  local a, b = ctx:saved_values()
  return ctx.next[1] and scale(g, ctx.beta), ctx.next[2] and scale(product_like(g, b:t(), a), ctx.alpha),
    ctx.next[3] and scale(product_like(a:t(), g, b), ctx.alpha)
end }
D.addmv = { inputs = 3, broadcast = true, save = save_scaled, backward = function(ctx, g)
  local a, x = ctx:saved_values()
  return ctx.next[1] and scale(g, ctx.beta), ctx.next[2] and scale(g:outer(x), ctx.alpha),
    ctx.next[3] and scale(a:t():mv(g), ctx.alpha)
end }
D.addr = { inputs = 3, broadcast = true, save = save_scaled, backward = function(ctx, g)
  local a, b = ctx:saved_values()
  return ctx.next[1] and scale(g, ctx.beta), ctx.next[2] and scale(g:mv(b), ctx.alpha),
    ctx.next[3] and scale(g:t():mv(a), ctx.alpha)
end }
D.baddbmm = { inputs = 3, broadcast = true, save = save_scaled, backward = function(ctx, g)
  local a, b = ctx:saved_values()
  return ctx.next[1] and scale(g, ctx.beta), ctx.next[2] and scale(g:bmm(mT(b)), ctx.alpha),
    ctx.next[3] and scale(mT(a):bmm(g), ctx.alpha)
end }
D.addbmm = { inputs = 3, broadcast = true, save = save_scaled, backward = function(ctx, g)
  local a, b = ctx:saved_values()
  local gb3 = g:unsqueeze(1):expand(a:size(1), g:size(1), g:size(2))
  return ctx.next[1] and scale(g, ctx.beta), ctx.next[2] and scale(gb3:bmm(mT(b)), ctx.alpha),
    ctx.next[3] and scale(mT(a):bmm(gb3), ctx.alpha)
end }

D['linalg.inv'] = { inputs = 1, save = save_out, backward = function(ctx, g)
  local y = ctx:saved_values()
  return -mT(y):matmul(g):matmul(mT(y))
end }
D['linalg.det'] = { inputs = 1, save = save_x_out, backward = function(ctx, g)
  local a, d = ctx:saved_values()
  return (g * d):unsqueeze(-1):unsqueeze(-1) * mT(torch.linalg.inv(a))
end }
-- slogdet returns (sign, logabsdet); the gradient flows through logabsdet.
D['linalg.slogdet'] = { inputs = 1, output = 2, save = save_x, backward = function(ctx, g)
  local a = ctx:saved_values()
  return g:unsqueeze(-1):unsqueeze(-1) * mT(torch.linalg.inv(a))
end }
D['linalg.solve'] = { inputs = 2, broadcast = true, save = function(ctx, out, a, b, opts)
  ctx:save(a, out)
  ctx.left = not (type(opts) == 'table' and opts.left == false)
  -- B is a (batch of) vector(s) by the C library's rule: 1-d, or A's shape without its last dim
  local vector = b:dim() == 1
  if not vector and b:dim() == a:dim() - 1 then
    vector = true
    for d = 1, b:dim() do vector = vector and b:size(d) == a:size(d) end
  end
  ctx.vector = vector
end, backward = function(ctx, g)
  local a, x = ctx:saved_values()
  if not ctx.left then -- X = B A^-1: dB = g A^-T (A dB' = g'), dA = -X' dB
    local gb = mT(torch.linalg.solve(a, mT(g)))
    return ctx.next[1] and -mT(x):matmul(gb), ctx.next[2] and gb
  end
  local gb = torch.linalg.solve(mT(a), g)
  local ga
  if ctx.next[1] then
    if ctx.vector then ga = -gb:unsqueeze(-1):matmul(x:unsqueeze(-2)) else ga = -gb:matmul(mT(x)) end
  end
  return ga, gb
end }
-- Cholesky (lower L): dA = sym(L^-T Phi(L^T dL) L^-1), Phi taking the lower triangle with half the diagonal.
D['linalg.cholesky'] = { inputs = 1, save = function(ctx, out, a, opts)
  ctx:save(out)
  ctx.upper = type(opts) == 'table' and opts.upper or false
end, backward = function(ctx, g)
  local l = ctx:saved_values()
  if ctx.upper then l, g = mT(l), mT(g) end
  local p = mT(l):matmul(g):tril()
  p = p - torch.diag_embed(p:diagonal(0, -2, -1)) * 0.5
  local linv = torch.linalg.inv(l)
  local s = mT(linv):matmul(p):matmul(linv)
  return (s + mT(s)) * 0.5
end }

-- The decompositions are nodes with several outputs (`outputs`): backward gets each output's gradient, nil
-- where none arrived. The formulas are PyTorch's (FunctionsManual.cpp) for real matrices; like PyTorch's, they
-- assume distinct eigenvalues or singular values (and nonzero ones, for the part of a non-square SVD's
-- vectors outside the square). linalg.svdvals and linalg.eigvalsh record as the full decomposition (autograd's
-- init), whose vectors then get no gradient.
local function skew(x) return x - mT(x) end
local function identity_like(v) -- the identity matrix of the last dim of v
  return torch.eye(v:size(-1), { dtype = v:dtype(), device = v:device() })
end

-- A = U diag(S) Vh with U [m x k], Vh [k x n], k = min(m, n).
local function svd_backward(gU, gS, gVh, U, S, Vh)
  local m, n = U:size(-2), Vh:size(-1)
  if gU == nil and gVh == nil then return U:matmul(gS:unsqueeze(-1) * Vh) end
  local S_row, S_col, S2 = S:unsqueeze(-2), S:unsqueeze(-1), S * S
  -- E[i][j] = S[j]^2 - S[i]^2 off the diagonal, 1 on it (the numerators' diagonals are zero)
  local E = S2:unsqueeze(-2) - S2:unsqueeze(-1) + identity_like(S)
  local gA
  if gU and gVh then
    gA = (skew(mT(U):matmul(gU)) * S_row + S_col * skew(Vh:matmul(mT(gVh)))) / E
  elseif gU then
    gA = skew(mT(U):matmul(gU)) * (S_row / E)
  else
    gA = S_col * (skew(Vh:matmul(mT(gVh))) / E)
  end
  if gS then gA = gA + torch.diag_embed(gS) end
  if m > n and gU then -- the part of gU outside U's span
    local gU_over_S = gU / S_row
    gA = U:matmul(gA) + gU_over_S - U:matmul(mT(U):matmul(gU_over_S))
    return gA:matmul(Vh)
  elseif m < n and gVh then
    local gVh_over_S = gVh / S_col
    gA = gA:matmul(Vh) + gVh_over_S - gVh_over_S:matmul(mT(Vh)):matmul(Vh)
    return U:matmul(gA)
  end
  return U:matmul(gA):matmul(Vh)
end

local function full_matrices_of(full)
  if type(full) == 'table' then full = full.full_matrices end
  return full == nil or full == true
end
D['linalg.svd'] = { inputs = 1, outputs = 3, save = function(ctx, out, a, full)
  local U, S, Vh = ctx.results[1], ctx.results[2], ctx.results[3]
  ctx:save(U, S, Vh)
  ctx.full = full_matrices_of(full)
end, backward = function(ctx, gU, gS, gVh)
  local U, S, Vh = ctx:saved_values()
  if ctx.full then -- as PyTorch: the columns of U and rows of Vh past k get no gradient
    local k = S:size(-1)
    U, Vh = U:narrow(-1, 1, k), Vh:narrow(-2, 1, k)
    if gU then gU = gU:narrow(-1, 1, k) end
    if gVh then gVh = gVh:narrow(-2, 1, k) end
  end
  return svd_backward(gU, gS, gVh, U, S, Vh)
end }

-- A = V diag(L) V^T of a symmetric A; the gradient is symmetric, as if A's two triangles were one variable.
D['linalg.eigh'] = { inputs = 1, outputs = 2, save = function(ctx, out, a)
  ctx:save(ctx.results[1], ctx.results[2])
end, backward = function(ctx, gL, gV)
  local L, V = ctx:saved_values()
  if gV == nil then return (V * gL:unsqueeze(-2)):matmul(mT(V)) end
  local VtgV = mT(V):matmul(gV)
  -- (V^T gV)'s skew-symmetric half over E[i][j] = L[j] - L[i] (1 on the diagonal, where the half is zero)
  local gA = (VtgV - mT(VtgV)) * 0.5 / (L:unsqueeze(-2) - L:unsqueeze(-1) + identity_like(L))
  if gL then gA = gA + torch.diag_embed(gL) end
  return V:matmul(gA):matmul(mT(V))
end }

-- x R^-T for an upper triangular R
local function times_inverse_transpose(x, R) return mT(torch.linalg.solve(R, mT(x))) end
-- A = Q R with m >= n, Q [m x n], R [n x n] (TensorFlow's QrGrad, which PyTorch's formula equals).
local function qr_backward_tall(gQ, gR, Q, R)
  local QtgQ = mT(Q):matmul(gQ)
  local lower = (skew(QtgQ) + skew(R:matmul(mT(gR)))):tril()
  return Q:matmul(gR + times_inverse_transpose(lower, R)) + times_inverse_transpose(gQ - Q:matmul(QtgQ), R)
end
D['linalg.qr'] = { inputs = 1, outputs = 2, save = function(ctx, out, a, mode)
  if type(mode) == 'table' then mode = mode.mode end
  local m, n = a:size(-2), a:size(-1)
  -- (refused when backward reaches the node, as in PyTorch: the forward result may be all that is wanted)
  if mode == 'r' then
    ctx.refusal = "mode='r' computes no Q, and the gradient needs it; use mode='reduced'"
  elseif mode == 'complete' and m > n then
    ctx.refusal = string.format("the gradient of mode='complete' is defined only for matrices with no more rows " ..
                                "than columns, got %d x %d; use mode='reduced'", m, n)
  end
  ctx:save(ctx.results[1], ctx.results[2])
  ctx.m, ctx.n = m, n
end, backward = function(ctx, gQ, gR)
  if ctx.refusal then error('backward: linalg.qr: ' .. ctx.refusal, 0) end
  local Q, R = ctx:saved_values()
  gQ = gQ or torch.zeros_like(Q)
  gR = gR or torch.zeros_like(R)
  local m, n = ctx.m, ctx.n
  if m >= n then return qr_backward_tall(gQ, gR, Q, R) end
  -- wide: A = [X | Y] with X = Q U square and Y = Q V, R = [U | V]
  local U, V = R:narrow(-1, 1, m), R:narrow(-1, m + 1, n - m)
  local Y = Q:matmul(V)
  local gU, gV = gR:narrow(-1, 1, m), gR:narrow(-1, m + 1, n - m)
  local gX = qr_backward_tall(gQ + Y:matmul(mT(gV)), gU, Q, U)
  return torch.cat({ gX, Q:matmul(gV) }, -1)
end }

-- The solvers of tensor.linalg_solvers (PyTorch's formulas for real matrices). The *_ex forms differentiate
-- as the ops they extend (their info results carry no gradient).
D['linalg.inv_ex'] = D['linalg.inv']
D['linalg.solve_ex'] = D['linalg.solve']
D['linalg.cholesky_ex'] = D['linalg.cholesky']

-- A = P L U with L [m x k] unit lower and U [k x n] upper triangular, k = min(m, n), from the gradients of L's
-- strict lower triangle and U's upper one (PyTorch's linalg_lu_backward; either may be nil). P may be empty
-- (no pivoting).
local function lu_backward(gL, gU, P, L, U)
  local m, n = L:size(-2), U:size(-1)
  local k = math.min(m, n)
  local st = torch.linalg.solve_triangular
  local gA
  if m == n then
    gA = gL and mT(L):matmul(gL):tril(-1)
    if gU then
      local t = gU:matmul(mT(U)):triu()
      gA = gA and gA + t or t
    end
    gA = st(mT(U), gA, { upper = false, left = false })
    gA = st(mT(L), gA, { upper = true, unitriangular = true })
  elseif m < n then -- A = L [U1 | U2]
    local U1, U2 = U:narrow(-1, 1, k), U:narrow(-1, k + 1, n - k)
    gA = gL and mT(L):matmul(gL)
    if gU then
      local t = gU:triu():matmul(mT(U))
      gA = gA and gA - t or -t
    end
    gA = st(mT(U1), gA:tril(-1), { upper = false, left = false })
    if gU then gA = torch.cat({ gA + gU:narrow(-1, 1, k):triu(), gU:narrow(-1, k + 1, n - k) }, -1) end
    gA = st(mT(L), gA, { upper = true, unitriangular = true })
    if not gU then gA = torch.cat({ gA, torch.zeros_like(U2) }, -1) end
  else -- A = [L1; L2] U
    local L1, L2 = L:narrow(-2, 1, k), L:narrow(-2, k + 1, m - k)
    gA = gU and gU:matmul(mT(U))
    if gL then
      local t = mT(L):matmul(gL:tril(-1))
      gA = gA and gA - t or -t
    end
    gA = st(mT(L1), gA:triu(), { upper = true, unitriangular = true })
    if gL then gA = torch.cat({ gA + gL:narrow(-2, 1, k):tril(-1), gL:narrow(-2, k + 1, m - k) }, -2) end
    gA = st(mT(U), gA, { upper = false, left = false })
    if not gL then gA = torch.cat({ gA, torch.zeros_like(L2) }, -2) end
  end
  return P:numel() > 0 and P:matmul(gA) or gA
end

local function pivoting(opts) return not (type(opts) == 'table' and opts.pivot == false) end
D['linalg.lu_factor'] = { inputs = 1, save = function(ctx, out, a, opts)
  ctx:save(out, ctx.results[2])
  ctx.pivot = pivoting(opts)
end, backward = function(ctx, g)
  local lu, pivots = ctx:saved_values()
  local P, L, U = torch.lu_unpack(lu, pivots, true, ctx.pivot)
  local k = math.min(lu:size(-2), lu:size(-1))
  return lu_backward(g:narrow(-1, 1, k):tril(-1), g:narrow(-2, 1, k):triu(), P, L, U)
end }
D['linalg.lu_factor_ex'] = D['linalg.lu_factor']

-- X = op(A)^-1 B (left) or B op(A)^-1 with A = P L U: the gradient of A (each case's), then of L and U with P
-- held fixed, into one LU.
D['linalg.lu_solve'] = { inputs = 3, broadcast = true, save = function(ctx, out, lu, pivots, b, opts)
  ctx:save(lu, pivots, out)
  ctx.left = not (type(opts) == 'table' and opts.left == false)
  ctx.adjoint = type(opts) == 'table' and opts.adjoint == true
end, backward = function(ctx, g)
  local lu, pivots, x = ctx:saved_values()
  local left, adjoint = ctx.left, ctx.adjoint
  local gB = torch.linalg.lu_solve(lu, pivots, g, { left = left, adjoint = not adjoint })
  local gLU
  if ctx.next[1] then
    local gA
    if left then
      gA = adjoint and -x:matmul(mT(gB)) or -gB:matmul(mT(x))
    else
      gA = adjoint and -mT(gB):matmul(x) or -mT(x):matmul(gB)
    end
    local P, L, U = torch.lu_unpack(lu, pivots)
    local PtgA = mT(P):matmul(gA)
    gLU = PtgA:matmul(mT(U)):tril(-1) + mT(L):matmul(PtgA):triu()
  end
  return gLU, nil, ctx.next[3] and gB
end }

-- X = A^-1 B (left) or B A^-1 for A's triangle: A's gradient stays in that triangle (off its diagonal when
-- unitriangular).
D['linalg.solve_triangular'] = { inputs = 2, broadcast = true, save = function(ctx, out, a, b, opts)
  ctx:save(a, out)
  ctx.upper = opts.upper
  ctx.left = opts.left ~= false
  ctx.unit = opts.unitriangular == true
end, backward = function(ctx, g)
  local a, x = ctx:saved_values()
  local gB = torch.linalg.solve_triangular(mT(a), g, { upper = not ctx.upper, left = ctx.left,
                                                       unitriangular = ctx.unit })
  local gA
  if ctx.next[1] then
    gA = ctx.left and -gB:matmul(mT(x)) or -mT(x):matmul(gB)
    local diagonal = ctx.unit and 1 or 0
    gA = ctx.upper and gA:triu(diagonal) or gA:tril(-diagonal)
  end
  return gA, ctx.next[2] and gB
end }

-- X = (L L^T)^-1 B (or (U^T U)^-1 B): the gradient of L is a full matrix, as PyTorch's.
D.cholesky_solve = { inputs = 2, broadcast = true, save = function(ctx, out, b, l, upper)
  ctx:save(l, out)
  if type(upper) == 'table' then upper = upper.upper end
  ctx.upper = upper == true
end, backward = function(ctx, g)
  local l, x = ctx:saved_values()
  local gB = torch.cholesky_solve(g, l, ctx.upper)
  local gL
  if ctx.next[2] then
    local common = gB:matmul(mT(x))
    common = common + mT(common)
    gL = ctx.upper and -l:matmul(common) or -common:matmul(l)
  end
  return ctx.next[1] and gB, gL
end }

-- Q = the first n columns of H_1 ... H_k, H_i = I - tau_i v_i v_i^T (householder_product), in compact WY form:
-- Q = E - V X, X = M^-1 diag(tau) V^T E, M = I + diag(tau) triu(V^T V, 1) (unit upper triangular; M^-1
-- diag(tau) is LAPACK's T without dividing by tau), E the first n columns of I, V [m x k] A's strict lower
-- triangle with ones on the diagonal. The gradient follows those steps back.
D['linalg.householder_product'] = { inputs = 2, save = function(ctx, out, a, tau) ctx:save(a, tau) end,
  backward = function(ctx, g)
  local a, tau = ctx:saved_values()
  local m, n, k = a:size(-2), a:size(-1), tau:size(-1)
  if k == 0 then return ctx.next[1] and torch.zeros_like(a), ctx.next[2] and torch.zeros_like(tau) end
  local st = torch.linalg.solve_triangular
  local V = a:narrow(-1, 1, k):tril(-1) + torch.eye(m, k, { dtype = a:dtype(), device = a:device() })
  local S = mT(V):matmul(V):triu(1)
  local t = tau:unsqueeze(-1) -- diag(tau) times a matrix scales its rows
  local M = t * S + torch.eye(k, { dtype = a:dtype(), device = a:device() })
  local W = mT(V:narrow(-2, 1, n)) -- V^T E
  local X = st(M, t * W, { upper = true, unitriangular = true })
  local gY = st(mT(M), -mT(V):matmul(g), { upper = false, unitriangular = true })
  local gM = -gY:matmul(mT(X)):triu(1)
  local gtau = (gY * W):sum(-1) + (gM * S):sum(-1)
  local gS = t * gM
  local gV = -g:matmul(mT(X)) + V:matmul(gS + mT(gS))
  local gW = mT(t * gY)
  gV = m > n and gV + torch.cat({ gW, torch.zeros_like(gV:narrow(-2, 1, m - n)) }, -2) or gV + gW
  local gA = gV:tril(-1)
  if k < n then gA = torch.cat({ gA, torch.zeros_like(a:narrow(-1, 1, n - k)) }, -1) end
  return ctx.next[1] and gA, ctx.next[2] and gtau
end }

-- The factorisations PyTorch 1.13 does not differentiate: their results record a node whose backward raises,
-- as PyTorch's do (the gradient would otherwise be silently missing).
local function not_differentiable(name, inputs, outputs, instead)
  D[name] = { inputs = inputs, outputs = outputs, backward = function()
    error(string.format('backward: %s: the derivative is not implemented (as in PyTorch 1.13)%s', name, instead), 0)
  end }
end
not_differentiable('geqrf', 1, 2, "; linalg.qr is differentiable")
not_differentiable('ormqr', 3, nil, '')
not_differentiable('linalg.ldl_factor', 1, nil, '')
not_differentiable('linalg.ldl_factor_ex', 1, nil, '')
not_differentiable('linalg.ldl_solve', 3, nil, '; linalg.solve is differentiable')

-- The pseudo-inverse (PyTorch's pinv_backward): exact where A's rank is constant, also for rank-deficient A,
-- where the SVD's own formula would divide by equal (zero) singular values.
D['linalg.pinv'] = { inputs = 1, save = save_x_out, backward = function(ctx, g)
  local a, p = ctx:saved_values()
  local ph, gh = mT(p), mT(g)
  if a:size(-2) <= a:size(-1) then
    local K = gh:matmul(p)
    local KpinvAh = K:matmul(ph)
    return -mT(p:matmul(K)) + KpinvAh - a:matmul(p):matmul(KpinvAh) + ph:matmul(p):matmul(gh - K:matmul(a))
  end
  local K = p:matmul(gh)
  local pinvAhK = ph:matmul(K)
  return -mT(K:matmul(p)) + (gh - a:matmul(K)):matmul(p):matmul(ph) + pinvAhK - pinvAhK:matmul(p):matmul(a)
end }

-- ---------------------------------------------------------------- reductions
-- Reductions return Lua numbers unless they record: their entries carry `tensor_form(x, ...)`, the
-- same reduction as a tensor (0-d over everything), which the wrapper uses when recording.

local reduce = require 'tensor.reduce'

-- The reduced dims (sorted, 1-based, positive) and keepdim of a reduction call.
local function reduced_dims(x, dim, keepdim, opts, parse)
  dim, keepdim = (parse or reduce.read_args)('backward', dim, keepdim, opts)
  local nd = x:dim()
  if dim == nil then return nil, keepdim end
  local dims = type(dim) == 'number' and { dim } or { unpack(dim) }
  for i, d in ipairs(dims) do dims[i] = d < 0 and d + nd + 1 or d end
  table.sort(dims)
  return dims, keepdim
end

-- Brings a reduction's gradient back to the input's shape (re-inserting reduced dims, then expanding).
local function expand_back(g, shape, dims, keepdim)
  if #shape == 0 then return g:reshape(shape) end -- a 0-d input reduced over dim 1 (or -1)
  if dims and not keepdim then
    for _, d in ipairs(dims) do g = g:unsqueeze(d) end
  elseif not dims and not keepdim and #shape > 0 then
    local ones = {}
    for i = 1, #shape do ones[i] = 1 end
    g = g:reshape(ones)
  end
  return g:expand(shape)
end

-- The same reduction again, keeping dims, as a tensor (for formulas that need the forward value aligned).
local function count_of(shape, dims)
  local n = 1
  if dims then
    for _, d in ipairs(dims) do n = n * shape[d] end
  else
    for _, s in ipairs(shape) do n = n * s end
  end
  return n
end

local function save_reduction(ctx, out, x, dim, keepdim, opts)
  ctx.shape = x:shape()
  ctx.dims, ctx.keepdim = reduced_dims(x, dim, keepdim, opts)
end

local function tensor_form(name)
  return function(x, dim, keepdim, opts) return reduce.tensor(name, x, dim, keepdim, opts) end
end

D.sum = { inputs = 1, reduction = true, tensor_form = tensor_form('sum'), save = save_reduction,
  backward = function(ctx, g) return expand_back(g, ctx.shape, ctx.dims, ctx.keepdim) end }
D.mean = { inputs = 1, reduction = true, tensor_form = tensor_form('mean'), save = save_reduction,
  backward = function(ctx, g)
    return expand_back(g, ctx.shape, ctx.dims, ctx.keepdim) / count_of(ctx.shape, ctx.dims)
  end }
D.nansum = { inputs = 1, reduction = true, tensor_form = tensor_form('nansum'),
  save = function(ctx, out, x, ...) save_reduction(ctx, out, x, ...) ctx:save(x) end,
  backward = function(ctx, g)
    local x = ctx:saved_values()
    return torch.where(x:isnan(), 0, expand_back(g, ctx.shape, ctx.dims, ctx.keepdim))
  end }
D.nanmean = { inputs = 1, reduction = true, tensor_form = tensor_form('nanmean'),
  save = function(ctx, out, x, ...) save_reduction(ctx, out, x, ...) ctx:save(x) end,
  backward = function(ctx, g)
    local x = ctx:saved_values()
    local valid = x:isnan():logical_not():to(g:dtype())
    local count = ctx.dims and valid:sum(ctx.dims, true) or valid:sum({ tensor = true })
    return expand_back(g, ctx.shape, ctx.dims, ctx.keepdim) * valid / count
  end }
-- prod: the product of the other elements, as y / x where no element is zero; with zeros, the products
-- of the elements before and after each one (exclusive cumulative products).
local function product_of_others(x, dim)
  local n = x:size(dim)
  local shape = x:shape()
  shape[dim] = 1
  local one = torch.ones(shape, { dtype = x:dtype(), device = x:device() })
  local before = torch.cat({ one, x:narrow(dim, 1, n - 1) }, dim):cumprod(dim)
  local after = torch.cat({ x:narrow(dim, 2, n - 1), one }, dim):flip(dim):cumprod(dim):flip(dim)
  return before * after
end
D.prod = { inputs = 1, reduction = true, tensor_form = tensor_form('prod'),
  save = function(ctx, out, x, ...) save_reduction(ctx, out, x, ...) ctx:save(x, out) end,
  backward = function(ctx, g)
    local x, y = ctx:saved_values()
    local ge = expand_back(g, ctx.shape, ctx.dims, ctx.keepdim)
    if not x:eq(0):any() then return ge * expand_back(y, ctx.shape, ctx.dims, ctx.keepdim) / x end
    -- with zeros: reduce over one flattened dim of the reduced dims
    local dims = ctx.dims
    if dims == nil or #dims == x:dim() then
      return ge * product_of_others(x:reshape(-1), 1):reshape(ctx.shape)
    end
    if #dims == 1 then return ge * product_of_others(x, dims[1]) end
    -- several dims: move them last, flatten them, and come back
    local keep, perm = {}, {}
    local is_reduced = {}
    for _, d in ipairs(dims) do is_reduced[d] = true end
    for d = 1, x:dim() do if not is_reduced[d] then perm[#perm + 1] = d end end
    for _, d in ipairs(dims) do perm[#perm + 1] = d end
    local inverse = {}
    for i, d in ipairs(perm) do inverse[d] = i end
    local moved = x:permute(perm)
    local mshape = moved:shape()
    for i = 1, x:dim() - #dims do keep[i] = mshape[i] end
    keep[#keep + 1] = -1
    local others = product_of_others(moved:reshape(keep), #keep):reshape(mshape):permute(inverse)
    return ge * others
  end }
-- amax/amin and max()/min() over everything: ties share the gradient equally.
local function extreme_backward(ctx, g)
  local x, y = ctx:saved_values()
  local ye = expand_back(y, ctx.shape, ctx.dims, ctx.keepdim)
  local mask = x:eq(ye):to(g:dtype())
  local count = ctx.dims and mask:sum(ctx.dims, true) or mask:sum({ tensor = true })
  return expand_back(g, ctx.shape, ctx.dims, ctx.keepdim) * mask / count
end
local function save_extreme(ctx, out, x, ...)
  save_reduction(ctx, out, x, ...)
  ctx:save(x, out)
end
D.amax = { inputs = 1, reduction = true, tensor_form = tensor_form('amax'), save = save_extreme, backward = extreme_backward }
D.amin = { inputs = 1, reduction = true, tensor_form = tensor_form('amin'), save = save_extreme, backward = extreme_backward }
-- max(dim)/min(dim): the gradient goes to the index each value came from.
local function save_extreme_dim(ctx, out, x, dim, keepdim, opts)
  dim, keepdim = reduce.read_args('backward', dim, keepdim, opts)
  ctx.shape, ctx.keepdim = x:shape(), keepdim
  ctx.dim = dim < 0 and dim + x:dim() + 1 or dim
  ctx:save(ctx.results[2])
end
local function extreme_dim_backward(ctx, g)
  local idx = ctx:saved_values()
  local dim, shape = ctx.dim, ctx.shape
  if not ctx.keepdim then
    g, idx = g:unsqueeze(dim), idx:unsqueeze(dim)
  end
  local positions = {}
  for d = 1, #shape do positions[d] = d == dim and shape[d] or 1 end
  local at = torch.arange(1, shape[dim] + 1, { device = g:device() }):reshape(positions)
  return torch.where(at:eq(idx), g, 0):expand(shape)
end
D.max_dim = { inputs = 1, save = save_extreme_dim, backward = extreme_dim_backward }
D.min_dim = { inputs = 1, save = save_extreme_dim, backward = extreme_dim_backward }
D.max_all = { inputs = 1, save = save_extreme, backward = extreme_backward }
D.min_all = D.max_all
-- var and std: (x - mean) scaled; the correction and dims come from the same arguments as the forward.
local function save_spread(ctx, out, x, dim, keepdim, opts)
  local d, k, o = reduce.var_args('backward', dim, keepdim, opts)
  ctx.shape, ctx.keepdim = x:shape(), k
  ctx.dims = reduced_dims(x, d, k, o, function() return d, k end)
  ctx.correction = reduce.correction_of('backward', o)
  ctx:save(x, out)
end
D.var = { inputs = 1, reduction = true, tensor_form = function(x, dim, keepdim, opts)
  local d, k, o = reduce.var_args('var', dim, keepdim, opts)
  local merged = { unbiased = nil }
  for key, v in pairs(o or {}) do merged[key] = v end
  merged.dim, merged.keepdim = d, k
  return reduce.tensor('var', x, merged)
end, save = save_spread, backward = function(ctx, g)
  local x = ctx:saved_values()
  local mean = ctx.dims and x:mean(ctx.dims, true) or x:mean({ tensor = true })
  local n = count_of(ctx.shape, ctx.dims) - ctx.correction
  return expand_back(g, ctx.shape, ctx.dims, ctx.keepdim) * (x - mean) * (2 / n)
end }
D.std = { inputs = 1, reduction = true, tensor_form = function(x, dim, keepdim, opts)
  local d, k, o = reduce.var_args('std', dim, keepdim, opts)
  local merged = {}
  for key, v in pairs(o or {}) do merged[key] = v end
  merged.dim, merged.keepdim = d, k
  return reduce.tensor('std', x, merged)
end, save = save_spread, backward = function(ctx, g)
  local x, y = ctx:saved_values()
  local mean = ctx.dims and x:mean(ctx.dims, true) or x:mean({ tensor = true })
  local n = count_of(ctx.shape, ctx.dims) - ctx.correction
  -- a zero std (one element, or all equal) gives 0, as PyTorch
  local gy = torch.where(y:eq(0), 0, g / torch.where(y:eq(0), 1, y))
  return expand_back(gy, ctx.shape, ctx.dims, ctx.keepdim) * (x - mean) / n
end }
-- norm(p): d|x|_p = sign(x) |x|^(p-1) / |x|_p^(p-1); p = inf/-inf like an extreme of |x|; 0 has no gradient.
local function norm_args(p, dim, keepdim, opts)
  if type(p) == 'table' and not is_tensor(p) then
    opts = p
    p, dim, keepdim = opts.p, opts.dim, opts.keepdim
  end
  dim, keepdim, opts = reduce.read_args('norm', dim, keepdim, opts)
  if opts and opts.p ~= nil and p == nil then p = opts.p end
  if p == nil or p == 'fro' then p = 2 elseif p == 'inf' then p = math.huge elseif p == '-inf' then p = -math.huge end
  return p, dim, keepdim, opts
end
D.norm = { inputs = 1, reduction = true, tensor_form = function(x, p, dim, keepdim, opts)
  local pp, d, k, o = norm_args(p, dim, keepdim, opts)
  local merged = {}
  for key, v in pairs(o or {}) do merged[key] = v end
  merged.p, merged.dim, merged.keepdim = pp, d, k
  return reduce.tensor('norm', x, merged)
end, save = function(ctx, out, x, p, dim, keepdim, opts)
  local pp, d, k = norm_args(p, dim, keepdim, opts)
  ctx.p, ctx.shape, ctx.keepdim = pp, x:shape(), k
  ctx.dims = reduced_dims(x, d, k, nil, function() return d, k end)
  ctx:save(x, out)
end, backward = function(ctx, g)
  local x, y = ctx:saved_values()
  local p = ctx.p
  local ge = expand_back(g, ctx.shape, ctx.dims, ctx.keepdim)
  local ye = expand_back(y, ctx.shape, ctx.dims, ctx.keepdim)
  if p == 0 then return zeros_like(x) end
  if p == 1 then return ge * x:sign() end
  if p == math.huge or p == -math.huge then
    local mask = x:abs():eq(ye):to(g:dtype())
    local count = ctx.dims and mask:sum(ctx.dims, true) or mask:sum({ tensor = true })
    return ge * x:sign() * mask / count
  end
  -- where the norm is 0 the gradient is 0 (as PyTorch defines it)
  local safe = torch.where(ye:eq(0), 1, ye)
  local r
  -- sign(x) |x|^(p-1), 0 at x = 0 (where p < 1 would give 0 * inf), as PyTorch
  if p == 2 then r = x / safe else r = torch.where(x:eq(0), 0, x:sign() * x:abs():pow(p - 1)) / safe:pow(p - 1) end
  return torch.where(ye:eq(0), 0, ge * r)
end }
D.logsumexp = { inputs = 1, reduction = true, tensor_form = tensor_form('logsumexp'), save = save_extreme,
  backward = function(ctx, g)
    local x, y = ctx:saved_values()
    return expand_back(g, ctx.shape, ctx.dims, ctx.keepdim) * (x - expand_back(y, ctx.shape, ctx.dims, ctx.keepdim)):exp()
  end }
local function save_cumulative(ctx, out, x, dim, opts)
  if type(dim) == 'table' then dim = dim.dim end
  ctx.dim = dim < 0 and dim + x:dim() + 1 or dim
  ctx:save(x, out)
end
local function reverse_cumsum(g, dim)
  if not mode.enabled then return reduce.cumsum_reverse(g, dim) end
  return g:flip(dim):cumsum(dim):flip(dim)
end
D.cumsum = { inputs = 1, save = save_cumulative, backward = function(ctx, g) return reverse_cumsum(g, ctx.dim) end }
-- cumprod: dx_i = sum_{j >= i} g_j y_j / x_i where x_i ~= 0. Zeros as PyTorch: the first zero of a slice gets
-- sum_{j >= i} g_j y'_j, y' the cumprod with that zero taken as 1; every element after it gets 0.
D.cumprod = { inputs = 1, save = save_cumulative, backward = function(ctx, g)
  local x, y = ctx:saved_values()
  local zero = x:eq(0)
  if not zero:any() then return reverse_cumsum(g * y, ctx.dim) / x end
  local first = zero:logical_and(zero:long():cumsum(ctx.dim):eq(1))
  local nonzero = reverse_cumsum(g * y, ctx.dim) / torch.where(zero, 1, x)
  local at_first = reverse_cumsum(g * torch.where(first, 1, x):cumprod(ctx.dim), ctx.dim)
  return torch.where(first, at_first, torch.where(zero, 0, nonzero))
end }

-- ---------------------------------------------------------------- nn kernels (nn.functional)
-- Entries named 'F.<name>' are installed on nn.functional by tensor.nn.functional. Their backward runs the C
-- backward kernels. Where a formula is not itself written with differentiable ops, the gradients it
-- returns carry a node that refuses a second differentiation with a clear error instead of silently
-- giving a wrong higher derivative.

local K = require 'tensor.nn_kernels'

local function copy_opts(opts, extra)
  local o = {}
  if type(opts) == 'table' then for k, v in pairs(opts) do o[k] = v end end
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

-- A node whose backward refuses: put on gradients computed by kernels that are not themselves recorded.
local function refuse_second(name, n)
  return { inputs = n, name = name .. '_backward', backward = function()
    error(string.format('backward: the second derivative of %s is not implemented', name), 0)
  end }
end
-- Marks the gradients of a once-differentiable backward when a graph of the backward is being built and
-- one of `deps` (the incoming gradient and the saved tensors the kernel read) requires grad.
local function once(name, deps, ...)
  if not mode.enabled then return ... end
  local any = false
  for i = 1, #deps do
    if is_tensor(deps[i]) and rawget(deps[i], '_rg') then any = true end
  end
  if not any then return ... end
  local entry = refuse_second(name, #deps)
  local results = { ... }
  for i = 1, select('#', ...) do
    if is_tensor(results[i]) then
      results[i] = require('tensor.autograd.record').attach(entry, results[i]:detach(), unpack(deps))
    end
  end
  return unpack(results, 1, select('#', ...))
end

local function mask3(ctx, i, w, b)
  return { ctx.next[i] and true or false, ctx.next[w] and true or false, ctx.next[b] and true or false }
end

local function conv_entry(name)
  local backward = K[name .. '_backward']
  return { inputs = 3, save = function(ctx, out, x, w, b, opts)
    ctx:save(x, w)
    ctx.opts = opts
  end, backward = function(ctx, g)
    local x, w = ctx:saved_values()
    return once(name, { g, x, w }, backward(g, x, w, copy_opts(ctx.opts, { output_mask = mask3(ctx, 1, 2, 3) })))
  end }
end
for _, name in ipairs({ 'conv1d', 'conv2d', 'conv3d', 'conv_transpose1d', 'conv_transpose2d', 'conv_transpose3d' }) do
  D['F.' .. name] = conv_entry(name)
end

local function max_pool_entry(name)
  return { inputs = 1, save = function(ctx, out, x)
    ctx:save(x, ctx.results[2])
  end, backward = function(ctx, g)
    local x, indices = ctx:saved_values()
    return once(name, { g, x }, K[name .. '_backward'](g, x, indices))
  end }
end
for _, name in ipairs({ 'max_pool1d', 'max_pool2d', 'max_pool3d', 'adaptive_max_pool1d', 'adaptive_max_pool2d',
                        'adaptive_max_pool3d' }) do
  D['F.' .. name] = max_pool_entry(name)
end
for _, name in ipairs({ 'avg_pool1d', 'avg_pool2d', 'avg_pool3d' }) do
  D['F.' .. name] = { inputs = 1, save = function(ctx, out, x, kernel_size, opts)
    ctx:save(x)
    ctx.kernel_size, ctx.opts = kernel_size, opts
  end, backward = function(ctx, g)
    local x = ctx:saved_values()
    return once(name, { g, x }, K[name .. '_backward'](g, x, ctx.kernel_size, ctx.opts))
  end }
end
for _, name in ipairs({ 'adaptive_avg_pool1d', 'adaptive_avg_pool2d', 'adaptive_avg_pool3d' }) do
  D['F.' .. name] = { inputs = 1, save = function(ctx, out, x) ctx:save(x) end, backward = function(ctx, g)
    local x = ctx:saved_values()
    return once(name, { g, x }, K[name .. '_backward'](g, x))
  end }
end

local function softmax_dim(x, dim)
  dim = dim or -1
  if dim < 0 then dim = dim + x:dim() + 1 end
  return math.max(dim, 1)
end
-- softmax and log_softmax are differentiable twice: their formulas use public ops when building a graph.
-- A 2-d linear layer as one node: its weight gradient g' x comes out contiguous and unshared, so the engine
-- adopts it as the weight's .grad (through mm and a transpose node it was a view, copied into place).
D['F.linear'] = { inputs = 3, save = function(ctx, out, x, w, b)
  ctx:save(x, w)
  if b ~= nil and b:dim() ~= 1 then ctx.bias_shape = b:shape() end
end, backward = function(ctx, g)
  local x, w = ctx:saved_values()
  local gb
  if ctx.next[3] then
    gb = ctx.bias_shape and require('tensor.autograd.engine').sum_to(g, ctx.bias_shape) or g:sum(1)
  end
  return ctx.next[1] and g:mm(w), ctx.next[2] and K.linear_weight_grad(g, x), gb
end }
D['F.softmax'] = { inputs = 1, save = function(ctx, out, x, dim)
  ctx:save(out)
  ctx.dim = softmax_dim(x, dim)
end, backward = function(ctx, g)
  local y = ctx:saved_values()
  if not mode.enabled then return K.softmax_backward(g, y, ctx.dim) end
  return y * (g - (g * y):sum(ctx.dim, true))
end }
D['F.log_softmax'] = { inputs = 1, save = function(ctx, out, x, dim)
  ctx:save(out)
  ctx.dim = softmax_dim(x, dim)
end, backward = function(ctx, g)
  local y = ctx:saved_values()
  if not mode.enabled then return K.log_softmax_backward(g, y, ctx.dim) end
  return g - y:exp() * g:sum(ctx.dim, true)
end }
-- The gradient with respect to class probabilities given as the target (a teacher's, in distillation):
-- -(1 - label_smoothing) * weight * log_softmax(x), per sample, scaled as the reduction did (mean: over the samples).
local function probability_target_grad(g, x, opts)
  local class_dim = x:dim() >= 2 and 2 or 1
  local gt = x:log_softmax(class_dim) * -(1 - (opts.label_smoothing or 0))
  if opts.weight ~= nil then
    local shape = {}
    for d = 1, x:dim() do shape[d] = d == class_dim and x:size(class_dim) or 1 end
    gt = gt * opts.weight:view(shape)
  end
  local reduction = opts.reduction or 'mean'
  if reduction == 'none' then return gt * g:unsqueeze(class_dim) end
  if reduction == 'mean' then return gt * (g / (x:numel() / x:size(class_dim))) end
  return gt * g
end
D['F.cross_entropy'] = { inputs = 2, save = function(ctx, out, x, target, opts)
  ctx:save(x, target, ctx.results and ctx.results[2])
  ctx.opts = opts
end, backward = function(ctx, g)
  local x, target, lse = ctx:saved_values()
  local gt = ctx.next[2] and probability_target_grad(g, x, ctx.opts or {}) or nil
  local gx = ctx.next[1] and K.cross_entropy_backward(g, x, target, ctx.opts, lse) or nil
  if mode.enabled and gx then gx = once('cross_entropy', { g, x }, gx) end
  return gx, gt
end }
D['F.nll_loss'] = { inputs = 1, save = function(ctx, out, x, target, opts)
  ctx:save(x, target)
  ctx.opts = opts
end, backward = function(ctx, g)
  local x, target = ctx:saved_values()
  return once('nll_loss', { g }, K.nll_loss_backward(g, x, target, ctx.opts))
end }
-- layer_norm(x, normalized_shape, weight, bias, eps): weight and bias are arguments 3 and 4.
D['F.layer_norm'] = { inputs = 4, save = function(ctx, out, x, shape, weight)
  ctx:save(x, weight, ctx.results[2], ctx.results[3])
  ctx.shape = shape
end, backward = function(ctx, g)
  local x, weight, mean, rstd = ctx:saved_values()
  local gx, gw, gb = K.layer_norm_backward(g, x, ctx.shape, mean, rstd, weight, mask3(ctx, 1, 3, 4))
  return once('layer_norm', { g, x, weight }, gx, nil, gw, gb)
end }
D['F.group_norm'] = { inputs = 4, save = function(ctx, out, x, groups, weight)
  ctx:save(x, weight, ctx.results[2], ctx.results[3])
  ctx.groups = groups
end, backward = function(ctx, g)
  local x, weight, mean, rstd = ctx:saved_values()
  local gx, gw, gb = K.group_norm_backward(g, x, ctx.groups, mean, rstd, weight, mask3(ctx, 1, 3, 4))
  return once('group_norm', { g, x, weight }, gx, nil, gw, gb)
end }
-- batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps). The running statistics are
-- saved only in evaluation mode, where the backward reads them: in training the forward updates them in place,
-- and a later forward of the same module (before this backward) must not invalidate this graph.
D['F.batch_norm'] = { inputs = 5, save = function(ctx, out, x, running_mean, running_var, weight, bias, training,
                                                  momentum, eps)
  local eval = training ~= true
  ctx:save(x, weight, eval and running_mean or nil, eval and running_var or nil, ctx.results[2], ctx.results[3])
  ctx.training, ctx.eps = training == true, eps
end, backward = function(ctx, g)
  local x, weight, running_mean, running_var, save_mean, save_invstd = ctx:saved_values()
  local gx, gw, gb = K.batch_norm_backward(g, x, { weight = weight, training = ctx.training, eps = ctx.eps,
    save_mean = save_mean, save_invstd = save_invstd, running_mean = running_mean, running_var = running_var,
    output_mask = mask3(ctx, 1, 4, 5) })
  return once('batch_norm', { g, x, weight }, gx, nil, nil, gw, gb)
end }
-- embedding(ids, weight, opts): the gradient goes to the weight's rows
D['F.embedding'] = { inputs = 2, save = function(ctx, out, ids, weight, opts)
  ctx:save(ids)
  ctx.num, ctx.opts = weight:size(1), opts
end, backward = function(ctx, g)
  local ids = ctx:saved_values()
  return nil, once('embedding', { g }, K.embedding_backward(g, ids, ctx.num, ctx.opts))
end }
D['F.dropout'] = { inputs = 1, save = function(ctx, out)
  ctx:save(ctx.results[2])
end, backward = function(ctx, g)
  local mask = ctx:saved_values()
  return g * mask
end }

-- ---------------------------------------------------------------- indexing, ordering, joining

local function zeros_of(t) return torch.zeros_like(t) end
local function dim_pos(d, n) return d < 0 and d + n + 1 or d end

D.index_select = { inputs = 1, save = function(ctx, out, x, dim, index)
  ctx:save(index)
  ctx.shape, ctx.dim, ctx.dtype = x:shape(), dim_pos(dim, x:dim()), x:dtype()
end, backward = function(ctx, g)
  local index = ctx:saved_values()
  return torch.zeros(ctx.shape, { dtype = g:dtype(), device = g:device() }):index_add(ctx.dim, index, g)
end }
D.gather = { inputs = 1, save = function(ctx, out, x, dim, index)
  ctx:save(index)
  ctx.shape, ctx.dim = x:shape(), dim_pos(dim, x:dim())
end, backward = function(ctx, g)
  local index = ctx:saved_values()
  return torch.zeros(ctx.shape, { dtype = g:dtype(), device = g:device() }):scatter_add(ctx.dim, index, g)
end }
-- scatter(dim, index, src) with a tensor or number src (reduce modes are not differentiable)
D.scatter = { inputs = 4, save = function(ctx, out, x, dim, index, src, reduce)
  if reduce ~= nil and not (type(reduce) == 'table' and reduce.reduce == nil) then
    error('scatter: gradients through scatter with reduce are not implemented', 0)
  end
  ctx:save(index)
  ctx.dim = dim_pos(dim, x:dim())
end, backward = function(ctx, g)
  local index = ctx:saved_values()
  return ctx.next[1] and g:scatter(ctx.dim, index, 0), nil, nil, ctx.next[4] and g:gather(ctx.dim, index)
end }
D.scatter_add = { inputs = 4, save = function(ctx, out, x, dim, index)
  ctx:save(index)
  ctx.dim = dim_pos(dim, x:dim())
end, backward = function(ctx, g)
  local index = ctx:saved_values()
  return g, nil, nil, ctx.next[4] and g:gather(ctx.dim, index)
end }
-- scatter_reduce(dim, index, src, reduce, {include_self=}): PyTorch's scatter_reduce_backward
D.scatter_reduce = { inputs = 4, save = function(ctx, out, x, dim, index, src, reduce, opts)
  if type(reduce) == 'table' then reduce, opts = reduce.reduce, reduce end
  ctx.reduce, ctx.dim = reduce, dim_pos(dim, x:dim())
  ctx.include_self = not (type(opts) == 'table' and opts.include_self == false)
  ctx:save(x, index, src, out)
end, backward = function(ctx, g)
  local x, index, src, out = ctx:saved_values()
  local dim, reduce, include_self = ctx.dim, ctx.reduce, ctx.include_self
  local gx, gsrc
  if reduce == 'sum' then
    gx, gsrc = g, g:gather(dim, index)
  elseif reduce == 'mean' then
    local n = include_self and torch.ones_like(g) or torch.zeros_like(g)
    n = n:scatter_add(dim, index, torch.ones_like(src)):clamp(1)
    gx, gsrc = g / n, g:gather(dim, index) / n:gather(dim, index)
  elseif reduce == 'prod' then
    -- the product of the others at each position, with zeros handled exactly: a zero in self is left out of
    -- its own position's product; a src element that is the only zero reaching its position gets the product
    -- of the rest
    local x_no_zero = x:masked_fill(x:eq(0), 1)
    gx = g * x_no_zero:scatter_reduce(dim, index, src, 'prod', { include_self = include_self }) / x_no_zero
    local src_zero = src:eq(0)
    local zeros_reaching = torch.zeros_like(x):scatter_add(dim, index, src_zero:to(x:dtype())):gather(dim, index)
    local single_zero = src_zero:logical_and(zeros_reaching:eq(1))
    local rest = x:scatter_reduce(dim, index, src:masked_fill(single_zero, 1), 'prod', { include_self = include_self })
    gsrc = torch.where(single_zero, (g * rest):gather(dim, index),
                       (g * out):gather(dim, index) / src:masked_fill(src_zero, 1))
  else -- amax, amin: the gradient shared evenly among the elements equal to the result
    local value = out:gather(dim, index)
    local x_is_result = x:eq(out):to(g:dtype())
    if not include_self then x_is_result = x_is_result:scatter(dim, index, 0) end
    local src_is_result = src:eq(value):to(g:dtype())
    local share = g / x_is_result:scatter_add(dim, index, src_is_result)
    gx, gsrc = x_is_result * share, src_is_result * share:gather(dim, index)
  end
  if not include_self then gx = gx:scatter(dim, index, 0) end
  return ctx.next[1] and gx, nil, nil, ctx.next[4] and gsrc
end }
-- put(index, source, accumulate): duplicate indices without accumulate give every duplicate the gradient (PyTorch)
D.put = { inputs = 3, save = function(ctx, out, x, index, source, accumulate)
  if type(accumulate) == 'table' then accumulate = accumulate.accumulate end
  ctx:save(index)
  ctx.accumulate, ctx.source_shape, ctx.source_numel = accumulate and true, source:shape(), source:numel()
end, backward = function(ctx, g)
  local index = ctx:saved_values()
  local gx, gsource
  if ctx.next[1] then
    gx = ctx.accumulate and g or g:put(index, torch.zeros(ctx.source_numel, { dtype = g:dtype(), device = g:device() }))
  end
  if ctx.next[3] then gsource = g:take(index):reshape(ctx.source_shape) end
  return gx, nil, gsource
end }
D.index_add = { inputs = 4, save = function(ctx, out, x, dim, index, source, alpha)
  ctx:save(index)
  ctx.dim, ctx.alpha = dim_pos(dim, x:dim()), type(alpha) == 'table' and alpha.alpha or alpha or 1
  ctx.source_shape = source:shape()
end, backward = function(ctx, g)
  local index = ctx:saved_values()
  local gs
  if ctx.next[4] then
    gs = g:index_select(ctx.dim, index)
    if ctx.alpha ~= 1 then gs = gs * ctx.alpha end
    gs = gs:reshape(ctx.source_shape)
  end
  return g, nil, nil, gs
end }
D.index_copy = { inputs = 4, save = function(ctx, out, x, dim, index, source)
  ctx:save(index)
  ctx.dim, ctx.source_shape = dim_pos(dim, x:dim()), source:shape()
end, backward = function(ctx, g)
  local index = ctx:saved_values()
  return ctx.next[1] and g:index_fill(ctx.dim, index, 0), nil, nil,
    ctx.next[4] and g:index_select(ctx.dim, index):reshape(ctx.source_shape)
end }
D.index_fill = { inputs = 1, save = function(ctx, out, x, dim, index)
  ctx:save(index)
  ctx.dim = dim_pos(dim, x:dim())
end, backward = function(ctx, g)
  local index = ctx:saved_values()
  return g:index_fill(ctx.dim, index, 0)
end }
D.masked_fill = { inputs = 3, broadcast = true, save = function(ctx, out, x, mask) ctx:save(mask) end,
  backward = function(ctx, g)
    local mask = ctx:saved_values()
    local gv
    if ctx.next[3] then gv = torch.where(mask, g, 0):sum({ tensor = true }) end
    return ctx.next[1] and g:masked_fill(mask, 0), nil, gv
  end }
D.masked_select = { inputs = 1, save = function(ctx, out, x, mask)
  ctx:save(mask)
  ctx.shape = x:shape()
end, backward = function(ctx, g)
  local mask = ctx:saved_values()
  -- the mask may broadcast the input: scatter into the broadcast shape, then sum back to the input's shape
  local shape = require('tensor.shape_ops').broadcast_shape('masked_select', { ctx.shape, mask:shape() })
  local z = torch.zeros(shape, { dtype = g:dtype(), device = g:device() }):masked_scatter(mask, g)
  return require('tensor.autograd.engine').sum_to(z, ctx.shape)
end }
D.masked_scatter = { inputs = 3, save = function(ctx, out, x, mask, source)
  ctx:save(mask)
  ctx.source_numel, ctx.source_shape = source:numel(), source:shape()
end, backward = function(ctx, g)
  local mask = ctx:saved_values()
  local gs
  if ctx.next[3] then
    local picked = g:masked_select(mask)
    local rest = ctx.source_numel - picked:numel()
    if rest > 0 then picked = torch.cat({ picked, torch.zeros(rest, { dtype = g:dtype(), device = g:device() }) }, 1) end
    gs = picked:reshape(ctx.source_shape)
  end
  return ctx.next[1] and g:masked_fill(mask, 0), nil, gs
end }
D.take = { inputs = 1, save = function(ctx, out, x, index)
  ctx:save(index)
  ctx.shape = x:shape()
end, backward = function(ctx, g)
  local index = ctx:saved_values()
  local n = 1
  for _, sz in ipairs(ctx.shape) do n = n * sz end
  return torch.zeros(n, { dtype = g:dtype(), device = g:device() }):index_add(1, index:reshape(-1), g:reshape(-1))
    :reshape(ctx.shape)
end }
D.flip = { inputs = 1, save = function(ctx, out, x, ...) ctx.dims = { ... } end,
  backward = function(ctx, g) return g:flip(unpack(ctx.dims)) end }
D.roll = { inputs = 1, save = function(ctx, out, x, shifts, dims) ctx.shifts, ctx.dims = shifts, dims end,
  backward = function(ctx, g)
    local shifts = ctx.shifts
    if type(shifts) == 'table' then
      local neg = {}
      for i, v in ipairs(shifts) do neg[i] = -v end
      shifts = neg
    else
      shifts = -shifts
    end
    return g:roll(shifts, ctx.dims)
  end }
D.tril = { inputs = 1, save = function(ctx, out, x, k) ctx.k = k end, backward = function(ctx, g) return g:tril(ctx.k) end }
D.triu = { inputs = 1, save = function(ctx, out, x, k) ctx.k = k end, backward = function(ctx, g) return g:triu(ctx.k) end }
-- repeatTensor/tile: each element's gradient is the sum over its copies
local function save_repeat(ctx, out, x, ...)
  local counts = select('#', ...) == 1 and type((...)) == 'table' and { unpack((...)) } or { ... }
  ctx.shape, ctx.counts = x:shape(), counts
end
local function repeat_backward(ctx, g)
  local counts, shape = ctx.counts, ctx.shape
  local n = math.max(#counts, #shape)
  local full = {}
  for i = 1, n do full[i] = shape[i - (n - #shape)] or 1 end
  local c = {}
  for i = 1, n do c[i] = counts[i - (n - #counts)] or 1 end
  local interleaved, sum_dims = {}, {}
  for i = 1, n do
    interleaved[#interleaved + 1] = c[i]
    sum_dims[#sum_dims + 1] = #interleaved
    interleaved[#interleaved + 1] = full[i]
  end
  return g:reshape(interleaved):sum(sum_dims):reshape(shape)
end
D.repeatTensor = { inputs = 1, save = save_repeat, backward = repeat_backward }
D.tile = { inputs = 1, save = function(ctx, out, x, ...)
  save_repeat(ctx, out, x, ...)
  local counts = ctx.counts
  while #counts < #ctx.shape do table.insert(counts, 1, 1) end
end, backward = repeat_backward }
D.repeat_interleave = { inputs = 1, save = function(ctx, out, x, repeats, dim)
  if type(dim) == 'table' then dim = dim.dim end
  ctx.shape, ctx.repeats = x:shape(), repeats
  ctx.dim = dim and dim_pos(dim, x:dim()) or nil
end, backward = function(ctx, g)
  local n = ctx.dim and ctx.shape[ctx.dim] or count_of(ctx.shape)
  local idx = torch.arange(1, n + 1):repeat_interleave(ctx.repeats)
  if ctx.dim then
    return torch.zeros(ctx.shape, { dtype = g:dtype(), device = g:device() }):index_add(ctx.dim, idx, g)
  end
  return torch.zeros(n, { dtype = g:dtype(), device = g:device() }):index_add(1, idx, g:reshape(-1)):reshape(ctx.shape)
end }
-- sort/topk/kthvalue: the values' gradient goes back to where each value came from
local function scatter_back(ctx, g)
  local idx = ctx:saved_values()
  if #ctx.shape == 0 then return g:reshape(ctx.shape) end -- a 0-d input is its own only value
  if ctx.squeezed then g, idx = g:unsqueeze(ctx.dim), idx:unsqueeze(ctx.dim) end
  return torch.zeros(ctx.shape, { dtype = g:dtype(), device = g:device() }):scatter(ctx.dim, idx, g)
end
D.sort = { inputs = 1, save = function(ctx, out, x, dim)
  if type(dim) == 'table' then dim = dim.dim end
  ctx.shape, ctx.dim = x:shape(), dim_pos(dim or -1, x:dim())
  ctx:save(ctx.results[2])
end, backward = scatter_back }
D.topk = { inputs = 1, save = function(ctx, out, x, k, dim)
  if type(dim) == 'table' then dim = dim.dim end
  ctx.shape, ctx.dim = x:shape(), dim_pos(dim or -1, x:dim())
  ctx:save(ctx.results[2])
end, backward = scatter_back }
D.kthvalue = { inputs = 1, save = function(ctx, out, x, k, dim, keepdim)
  if type(dim) == 'table' then dim, keepdim = dim.dim, dim.keepdim end
  if type(keepdim) == 'table' then keepdim = keepdim.keepdim end
  ctx.shape, ctx.dim, ctx.squeezed = x:shape(), dim_pos(dim or -1, x:dim()), not keepdim and x:dim() > 0
  ctx:save(ctx.results[2])
end, backward = scatter_back }
-- cat and stack take a list: their wrappers (tensor.autograd) connect one input per list element
D.cat = { list = true, save = function(ctx, out, list, dim)
  if type(dim) == 'table' then dim = dim.dim end
  local d = dim or 1
  local nd = out:dim()
  d = dim_pos(d, nd)
  ctx.dim, ctx.sizes = d, {}
  for i, t in ipairs(list) do ctx.sizes[i] = t:dim() == 1 and t:numel() == 0 and nd > 1 and 0 or t:size(d) end
end, backward = function(ctx, g) return unpack(g:split(ctx.sizes, ctx.dim)) end }
D.stack = { list = true, save = function(ctx, out, list, dim)
  if type(dim) == 'table' then dim = dim.dim end
  ctx.dim = dim_pos(dim or 1, out:dim())
end, backward = function(ctx, g) return unpack(g:unbind(ctx.dim)) end }

return D
