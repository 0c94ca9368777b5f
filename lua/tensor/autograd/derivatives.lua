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

local function fused(kind, g, saved, p0, p1)
  return require('tensor.pointwise').backward(kind, g, saved, p0, p1)
end

local function zeros_like(t) return torch.zeros_like(t) end

-- ---------------------------------------------------------------- unary element-wise

local function unary(name, save, backward) D[name] = { inputs = 1, save = save, backward = backward } end

unary('neg', nil, function(ctx, g) return -g end)
unary('abs', save_x, function(ctx, g) local x = ctx:saved_values() return g * x:sign() end)
for _, name in ipairs({ 'sign', 'floor', 'ceil', 'round', 'trunc' }) do
  unary(name, nil, function(ctx, g) return zeros_like(g) end)
end
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
  if not mode.enabled then return fused('tanh', g, y) end
  return g * (1 - y * y)
end)
unary('sigmoid', save_out, function(ctx, g)
  local y = ctx:saved_values()
  if not mode.enabled then return fused('sigmoid', g, y) end
  return g * y * (1 - y)
end)
unary('logsigmoid', save_x, function(ctx, g) local x = ctx:saved_values() return g * (-x):sigmoid() end)
unary('relu', save_out, function(ctx, g)
  local y = ctx:saved_values()
  if not mode.enabled then return fused('threshold', g, y, 0) end
  return g * y:gt(0):to(g:dtype())
end)
unary('gelu', function(ctx, out, x, approximate)
  ctx:save(x)
  ctx.tanh = (approximate == 'tanh') or (type(approximate) == 'table' and approximate.approximate == 'tanh')
end, function(ctx, g)
  local x = ctx:saved_values()
  if not mode.enabled then return fused('gelu', g, x, ctx.tanh and 1 or 0) end
  if ctx.tanh then
    local k, c = math.sqrt(2 / math.pi), 0.044715
    local t = ((x + x:pow(3) * c) * k):tanh()
    return g * ((t + 1) * 0.5 + x * (1 - t * t) * (k * 0.5) * (x * x * (3 * c) + 1))
  end
  return g * (((x * (1 / math.sqrt(2))):erf() + 1) * 0.5 + x * (x * x * -0.5):exp() * INV_SQRT_2PI)
end)
unary('silu', save_x, function(ctx, g)
  local x = ctx:saved_values()
  if not mode.enabled then return fused('silu', g, x) end
  local s = x:sigmoid()
  return g * s * (x * (1 - s) + 1)
end)
unary('leaky_relu', function(ctx, out, x, slope)
  ctx:save(x)
  if type(slope) == 'table' then slope = slope.negative_slope end
  ctx.slope = slope or 0.01
end, function(ctx, g)
  local x = ctx:saved_values()
  if not mode.enabled then return fused('leaky_relu', g, x, ctx.slope) end
  return torch.where(x:gt(0), g, g * ctx.slope)
end)
unary('elu', function(ctx, out, x, alpha)
  ctx:save(x, out)
  if type(alpha) == 'table' then alpha = alpha.alpha end
  ctx.alpha = alpha or 1
end, function(ctx, g)
  local x, y = ctx:saved_values()
  if not mode.enabled then return fused('elu', g, x, ctx.alpha) end
  return torch.where(x:gt(0), g, g * (y + ctx.alpha))
end)
unary('softplus', function(ctx, out, x, beta, threshold)
  ctx:save(x)
  if type(beta) == 'table' then beta, threshold = beta.beta, beta.threshold end
  ctx.beta, ctx.threshold = beta or 1, threshold or 20
end, function(ctx, g)
  local x = ctx:saved_values()
  if not mode.enabled then return fused('softplus', g, x, ctx.beta, ctx.threshold) end
  local bx = x * ctx.beta
  return torch.where(bx:gt(ctx.threshold), g, g * bx:sigmoid())
end)
unary('erf', save_x, function(ctx, g) local x = ctx:saved_values() return g * (-(x * x)):exp() * TWO_OVER_SQRT_PI end)
unary('erfc', save_x, function(ctx, g) local x = ctx:saved_values() return g * (-(x * x)):exp() * -TWO_OVER_SQRT_PI end)
unary('frac', nil, function(ctx, g) return g end)
unary('reciprocal', save_out, function(ctx, g) local y = ctx:saved_values() return -(g * y * y) end)
unary('square', save_x, function(ctx, g) local x = ctx:saved_values() return g * x * 2 end)
-- clamp with number bounds (tensor bounds are composed of maximum/minimum)
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
D.div = { inputs = 2, broadcast = true, save = save_ab, backward = function(ctx, g)
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
      ga = g * b * a:pow(b - 1)
    end
  end
  if ctx.next[2] then
    if type(a) == 'number' then
      gb = g * y * math.log(a)
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
  ctx.shape, ctx.dim, ctx.size, ctx.step, ctx.n = x:shape(), dim, size, step, out:size(dim)
end, backward = function(ctx, g)
  local dim = ctx.dim < 0 and ctx.dim + #ctx.shape + 1 or ctx.dim
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

return D
