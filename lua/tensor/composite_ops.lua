-- tensor.composite_ops: element-wise ops written with other ops (so autograd differentiates them through those),
-- with PyTorch's results at the edges: logaddexp, logaddexp2, hypot, xlogy, copysign, heaviside, logit,
-- float_power, ldexp, deg2rad, rad2deg, mvlgamma, frexp. The operands broadcast; either may be a number where
-- PyTorch allows one.
local core = require 'tensor.core'
local args = require 'tensor.args'
local dtype = require 'tensor.dtype'

local torch, Tensor = core.torch, core.Tensor
local is_tensor, argerror, is_opts = core.is_tensor, args.argerror, args.is_opts
local LN2, LOG_PI, huge = math.log(2), math.log(math.pi), math.huge

-- The floating dtype the op computes in (integer and bool operands promote to the default float dtype), and
-- the operands as tensors of it.
local function floating_operands(fn, a, b)
  if not is_tensor(a) and not is_tensor(b) then
    argerror(fn, 'expected at least one tensor, got %s and %s', type(a), type(b))
  end
  for i, v in ipairs({ a, b }) do
    if not is_tensor(v) and type(v) ~= 'number' then argerror(fn, 'operand %d must be a tensor or a number, got %s', i, type(v)) end
  end
  -- PyTorch's result type (a 0-d tensor or a number decides only where its kind is higher), made floating
  local d = torch.result_type(a, b)
  if not dtype.floating[dtype.enum[d]] then d = dtype.name[dtype.default] end
  local like = is_tensor(a) and a or b
  local function as_tensor(v)
    if is_tensor(v) then return v:dtype() == d and v or v:to(d) end
    return torch.full({}, v, { dtype = d, device = like:device() })
  end
  return as_tensor(a), as_tensor(b)
end

--- Tensor:logaddexp(other) -> Tensor
--- torch.logaddexp(a, b) -> Tensor
-- log(exp(a) + exp(b)) without overflow: max(a, b) + log1p(exp(-|a - b|)); equal operands (infinities too) give
-- a + log(2).
function Tensor:logaddexp(other)
  local a, b = floating_operands('logaddexp', self, other)
  local m = torch.maximum(a, b)
  -- equal operands: a / 2 + b / 2 + log(2), so that each gets half the gradient, as in PyTorch (a + b could
  -- overflow)
  return torch.where(a:eq(b), a * 0.5 + b * 0.5 + LN2, m + (-(a - b):abs()):exp():log1p())
end

--- Tensor:logaddexp2(other) -> Tensor
--- torch.logaddexp2(a, b) -> Tensor
-- log2(2^a + 2^b) without overflow, as logaddexp in base 2.
function Tensor:logaddexp2(other)
  local a, b = floating_operands('logaddexp2', self, other)
  local m = torch.maximum(a, b)
  return torch.where(a:eq(b), a * 0.5 + b * 0.5 + 1, m + (-(a - b):abs()):exp2():log1p() / LN2)
end

--- Tensor:hypot(other) -> Tensor
--- torch.hypot(a, b) -> Tensor
-- sqrt(a^2 + b^2) without overflow or underflow in between (scaled by the larger magnitude); an infinite operand
-- gives inf.
function Tensor:hypot(other)
  local a, b = floating_operands('hypot', self, other)
  local big, small = torch.maximum(a:abs(), b:abs()), torch.minimum(a:abs(), b:abs())
  local safe = torch.where(big:eq(0), 1, big)
  local r = torch.where(big:eq(math.huge), 0, small / safe)
  local h = torch.where(big:eq(0), 0, big * (r * r + 1):sqrt())
  -- an infinite operand wins over a NaN one, as C's hypot
  return torch.where(a:abs():eq(math.huge):logical_or(b:abs():eq(math.huge)), math.huge, h)
end

--- Tensor:xlogy(other) -> Tensor
--- torch.xlogy(x, y) -> Tensor
-- x * log(y), with 0 where x is 0 (unless y is NaN), as PyTorch and SciPy.
function Tensor:xlogy(other)
  local x, y = floating_operands('xlogy', self, other)
  -- log(y) replaced by 0 where x is 0 and y is <= 0 or inf (not NaN): the value is x * that, and so is the
  -- gradient in x PyTorch gives (log y at x = 0 for finite y > 0, 0 for y <= 0)
  return x * torch.where(x:eq(0):logical_and(y:le(0):logical_or(y:eq(math.huge))), 0, y:log())
end

--- Tensor:copysign(other) -> Tensor
--- torch.copysign(a, b) -> Tensor
-- |a| with the sign of b (-0.0 and NaNs with the sign bit set count as negative); a floating result.
function Tensor:copysign(other)
  local a, b = floating_operands('copysign', self, other)
  local magnitude = a:abs()
  return torch.where(b:signbit(), -magnitude, magnitude)
end

--- Tensor:heaviside(values) -> Tensor
--- torch.heaviside(x, values) -> Tensor
-- The step function: 1 where x > 0, values (a tensor of x's dtype, broadcast) where x is 0, 0 elsewhere (NaN
-- too, as PyTorch).
function Tensor:heaviside(values)
  core.c_of(self, 'heaviside', 'the input')
  core.c_of(values, 'heaviside', 'values')
  if values:dtype() ~= self:dtype() then
    argerror('heaviside', 'values must have the dtype of the input (%s), got %s', self:dtype(), values:dtype())
  end
  return torch.where(self:eq(0), values, torch.where(self:gt(0), 1, 0):to(self:dtype()))
end

for _, name in ipairs({ 'logaddexp', 'logaddexp2', 'hypot', 'xlogy', 'copysign', 'heaviside' }) do
  local function value(a, b)
    if is_tensor(a) then return Tensor[name](a, b) end
    if name == 'heaviside' then core.c_of(a, name, 'the input') end
    -- a number first (xlogy(2, y), copysign(3, b)): as a 0-d tensor of the op's dtype
    local x, y = floating_operands(name, a, b)
    return Tensor[name](x, y)
  end
  torch[name] = function(a, b, opts) return core.write_out(name, is_opts(opts) and opts.out or nil, value(a, b)) end
end

--- Tensor:hypot_(other) -> self
--- Tensor:xlogy_(other) -> self
--- Tensor:copysign_(other) -> self
--- Tensor:heaviside_(values) -> self
-- The ops above written into x (other broadcast to x's shape), where their result's dtype can be cast to x's
-- (not a floating result into an integer tensor), as PyTorch.
for _, name in ipairs({ 'hypot', 'xlogy', 'copysign', 'heaviside' }) do
  local fn = name .. '_'
  Tensor[fn] = function(self, other)
    core.c_of(self, fn, 'the input')
    local r = Tensor[name](core.in_place_source(self), other)
    if not torch.can_cast(r:dtype(), self:dtype()) then
      argerror(fn, 'the result of type %s cannot be written into a %s tensor', r:dtype(), self:dtype())
    end
    return self:copy_(r)
  end
  core.composed_in_place[fn] = true
end

-- ---- one-operand ops with a float result ----

local function is_floating(x) return dtype.floating[tonumber(x._c.dtype)] == true end

-- x, or x in the default float dtype when it is an integer or bool tensor (as PyTorch's float-valued ops).
local function as_floating(x)
  if is_floating(x) then return x end
  return x:to(dtype.name[dtype.default])
end

-- The in-place form of a float-valued op: refused where the result (a float) cannot be written into x.
local function check_in_place(fn, x)
  if not is_floating(x) then
    argerror(fn, 'the result of type %s cannot be written into a %s tensor', dtype.name[dtype.default], x:dtype())
  end
end

--- Tensor:logit([eps]) -> Tensor
--- torch.logit(x, [eps]) -> Tensor
-- log(x / (1 - x)) element-wise, x first clamped to [eps, 1 - eps] when eps is given (a number, positional or
-- {eps=}; a negative one clamps nothing), as PyTorch: -inf at 0, inf at 1 and NaN outside [0, 1] without eps.
-- Integer and bool inputs give the default float dtype. logit_ works in place.
function Tensor:logit(eps)
  core.c_of(self, 'logit', 'the input')
  if is_opts(eps) then eps = eps.eps end
  if eps ~= nil and type(eps) ~= 'number' then argerror('logit', 'eps must be a number, got %s', type(eps)) end
  local x = as_floating(self)
  if eps ~= nil and eps >= 0 then x = x:clamp(eps, 1 - eps) end
  -- (log(x) - log1p(-x) rather than log(x / (1 - x)): its gradient 1/x + 1/(1 - x) is inf at 0 and 1, as
  -- PyTorch's, where the quotient's was NaN)
  return x:log() - (-x):log1p()
end
function Tensor:logit_(eps)
  check_in_place('logit_', self)
  return self:copy_(core.in_place_source(self):logit(eps))
end

--- Tensor:float_power(exponent) -> Tensor
--- torch.float_power(x, exponent) -> Tensor
-- x ^ exponent computed in float64 whatever the dtypes, as PyTorch: the result is float64. Either x or exponent
-- may be a number. float_power_ works in place on a float64 tensor (PyTorch refuses others too).
function Tensor:float_power(exponent)
  core.c_of(self, 'float_power', 'the input')
  if is_tensor(exponent) then
    exponent = exponent:to('float64')
  elseif type(exponent) ~= 'number' then
    argerror('float_power', 'the exponent must be a tensor or a number, got %s', type(exponent))
  end
  return self:to('float64'):pow(exponent)
end
function Tensor:float_power_(exponent)
  if self:dtype() ~= 'float64' then
    argerror('float_power_', 'the result is float64 and cannot be written into a %s tensor', self:dtype())
  end
  return self:copy_(core.in_place_source(self):float_power(exponent))
end

--- Tensor:ldexp(exponent) -> Tensor
--- torch.ldexp(x, exponent) -> Tensor
-- x * 2^exponent element-wise, exponent a tensor (broadcast) or a number, as PyTorch's x * pow(2.0, exponent):
-- integer exponents give a float power of the default dtype, and the result has the promoted floating dtype of
-- both. ldexp_ works in place on a floating tensor.
local function power_of_two(fn, exponent)
  if is_tensor(exponent) then return torch.pow(2, as_floating(exponent)) end
  if type(exponent) ~= 'number' then
    argerror(fn, 'the exponent must be a tensor or a number, got %s', type(exponent))
  end
  return 2 ^ exponent
end
function Tensor:ldexp(exponent)
  core.c_of(self, 'ldexp', 'the input')
  return as_floating(self) * power_of_two('ldexp', exponent)
end
function Tensor:ldexp_(exponent)
  check_in_place('ldexp_', self)
  return self:mul_(power_of_two('ldexp_', exponent))
end

--- Tensor:deg2rad() -> Tensor
--- Tensor:rad2deg() -> Tensor
--- torch.deg2rad(x) -> Tensor
--- torch.rad2deg(x) -> Tensor
-- Degrees to radians (x * pi / 180) and back (x * 180 / pi); integer and bool inputs give the default float
-- dtype. deg2rad_ and rad2deg_ work in place on floating tensors.
function Tensor:deg2rad()
  core.c_of(self, 'deg2rad', 'the input')
  return as_floating(self) * (math.pi / 180)
end
function Tensor:rad2deg()
  core.c_of(self, 'rad2deg', 'the input')
  return as_floating(self) * (180 / math.pi)
end
function Tensor:deg2rad_()
  check_in_place('deg2rad_', self)
  return self:mul_(math.pi / 180)
end
function Tensor:rad2deg_()
  check_in_place('rad2deg_', self)
  return self:mul_(180 / math.pi)
end

--- Tensor:mvlgamma(p) -> Tensor
--- torch.mvlgamma(x, p) -> Tensor
-- The multivariate log-gamma function of dimension p (an integer >= 1) element-wise: the sum of
-- lgamma(x - j / 2) over j = 0 .. p - 1, plus p (p - 1) / 4 log(pi). Integer inputs give the default float dtype;
-- bool inputs are refused, as PyTorch (which, like this, does not check x > (p - 1) / 2). mvlgamma_ works in place.
local function mvlgamma(fn, x, p)
  if is_opts(p) then p = p.p end
  if not args.is_integer(p) or p < 1 then argerror(fn, 'p must be an integer >= 1, got %s', tostring(p)) end
  if x:dtype() == 'bool' then argerror(fn, 'not supported for bool tensors') end
  x = as_floating(x)
  -- the offsets -(p - 1) / 2, ..., -1/2, 0, in PyTorch's order (which its sum's rounding follows)
  local offsets = torch.arange(p, { dtype = x:dtype(), device = x:device() }):mul(0.5):sub((p - 1) / 2)
  return (x:unsqueeze(-1) + offsets):lgamma():sum(-1) + p * (p - 1) * LOG_PI * 0.25
end
function Tensor:mvlgamma(p)
  core.c_of(self, 'mvlgamma', 'the input')
  return mvlgamma('mvlgamma', self, p)
end
function Tensor:mvlgamma_(p)
  check_in_place('mvlgamma_', self)
  return self:copy_(mvlgamma('mvlgamma_', self, p))
end

--- Tensor:frexp() -> Tensor, Tensor
--- torch.frexp(x) -> Tensor, Tensor
-- The mantissa (x's dtype, magnitude in [0.5, 1)) and the int32 exponent with x = mantissa * 2^exponent,
-- element-wise, for floating tensors; 0, infinities and NaN are their own mantissa with exponent 0, as PyTorch.
-- The mantissa's gradient is the incoming one times 2^-exponent.
-- Example: local m, e = torch.tensor({8, 0.3}):frexp()
function Tensor:frexp()
  core.c_of(self, 'frexp', 'the input')
  if not is_floating(self) then argerror('frexp', 'only floating-point dtypes are supported, got %s', self:dtype()) end
  -- in float64, where every dtype's values and exponents are exact
  local x = self:to('float64')
  local a = x:abs()
  local regular = a:gt(0):logical_and(a:lt(huge)) -- finite and nonzero (NaN is neither)
  -- x * 2^-e in two steps, each by a power of two that float64 holds (2^-e alone can overflow)
  local function scaled(e)
    local half = (e * 0.5):floor()
    return x * torch.pow(2, -half) * torch.pow(2, half - e)
  end
  local e = torch.where(regular, a, 1):log2():floor() + 1
  -- log2 can round across a power of two: one step brings the mantissa into [0.5, 1)
  local m = scaled(e):abs()
  e = e + torch.where(m:ge(1), 1, 0) - torch.where(m:lt(0.5):logical_and(regular), 1, 0)
  local mantissa = torch.where(regular, scaled(e), x)
  local exponent = torch.where(regular, e, 0)
  return mantissa:to(self:dtype()), exponent:to('int32')
end

core.composed_in_place.logit_ = true
core.composed_in_place.float_power_ = true
core.composed_in_place.ldexp_ = true
core.composed_in_place.deg2rad_ = true
core.composed_in_place.rad2deg_ = true
core.composed_in_place.mvlgamma_ = true
core.function_forms({ 'logit', 'logit_', 'ldexp', 'ldexp_', 'deg2rad', 'deg2rad_', 'rad2deg', 'rad2deg_', 'mvlgamma',
                      'frexp' })

-- torch.float_power also takes a number base (documented with Tensor:float_power)
local function float_power(x, exponent)
  if is_tensor(x) then return Tensor.float_power(x, exponent) end
  core.c_of(exponent, 'float_power', 'the exponent (with a number base)')
  if type(x) ~= 'number' then argerror('float_power', 'the base must be a tensor or a number, got %s', type(x)) end
  return torch.full({}, x, { dtype = 'float64', device = exponent:device() }):pow(exponent:to('float64'))
end
function torch.float_power(x, exponent, opts)
  return core.write_out('float_power', is_opts(opts) and opts.out or nil, float_power(x, exponent))
end

--- torch.special.logit(x, [eps]) -> Tensor
--- torch.special.multigammaln(x, p) -> Tensor
-- torch.logit and torch.mvlgamma under their torch.special names.
torch.special = torch.special or {}
function torch.special.logit(...) return torch.logit(...) end
function torch.special.multigammaln(...) return torch.mvlgamma(...) end

--- torch.special.erf(x) -> Tensor
--- torch.special.erfc(x) -> Tensor
--- torch.special.exp2(x) -> Tensor
--- torch.special.expit(x) -> Tensor
--- torch.special.expm1(x) -> Tensor
--- torch.special.log1p(x) -> Tensor
--- torch.special.round(x, [decimals]) -> Tensor
--- torch.special.xlogy(x, y) -> Tensor
--- torch.special.logsumexp(x, dim, [keepdim]) -> Tensor
-- torch.erf, torch.erfc, torch.exp2, torch.sigmoid (expit), torch.expm1, torch.log1p, torch.round, torch.xlogy and
-- torch.logsumexp under their torch.special names, with the same arguments ({out=} too where those take it).
for name, target in pairs({ erf = 'erf', erfc = 'erfc', exp2 = 'exp2', expit = 'sigmoid', expm1 = 'expm1',
                            log1p = 'log1p', round = 'round', xlogy = 'xlogy', logsumexp = 'logsumexp' }) do
  torch.special[name] = function(...) return torch[target](...) end
end

--- torch.special.softmax(x, dim, {dtype=}) -> Tensor
--- torch.special.log_softmax(x, dim, {dtype=}) -> Tensor
-- torch.softmax and torch.log_softmax along dim (required, 1-based as everywhere here), the input first
-- converted to dtype when one is given (as PyTorch's dtype argument).
for _, name in ipairs({ 'softmax', 'log_softmax' }) do
  local fn = 'special.' .. name
  torch.special[name] = function(x, dim, opts)
    core.c_of(x, fn, 'the input')
    if dim == nil or is_opts(dim) then argerror(fn, 'expected a dim') end
    if opts ~= nil and not is_opts(opts) then argerror(fn, 'expected an options table {dtype=}, got %s', type(opts)) end
    if opts and opts.dtype ~= nil then x = x:to(opts.dtype) end
    return torch[name](x, dim)
  end
end

return {}
