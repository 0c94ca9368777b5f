-- tensor.pointwise: element-wise math (unary, binary, ternary), the operators + - * / ^ % and unary -,
-- comparisons and logical ops. Each op exists as x:f(...), x:f_(...) (in place) and torch.f(x, ..., {out=}).
-- Broadcasting and type promotion (PyTorch's rules, Lua numbers acting as Python numbers) happen in C.
local core = require 'tensor.core'
local alias = core.alias
local args = require 'tensor.args'
local dtype = require 'tensor.dtype'

local C, wrap, Tensor, torch, mt = core.C, core.wrap, core.Tensor, core.torch, core.mt
local is_tensor, argerror, is_opts = core.is_tensor, args.argerror, args.is_opts
local floor, huge = math.floor, math.huge
local INT64, BOOL = dtype.INT64, dtype.BOOL

local M = {}

local scalar_dtype = dtype.of_number

local function number_of(fn, v)
  if type(v) == 'number' then return v end
  if type(v) == 'boolean' then return v and 1 or 0 end
  argerror(fn, 'expected a tensor or a number, got %s', type(v))
end

local function result(ptr)
  if ptr == nil then core.c_error(3) end
  return ptr
end

-- ---- unary ----

-- name, enum, and whether the op takes parameters (handled by its own method below)
local UNARY = {
  neg = C.TN_NEG, abs = C.TN_ABS, sign = C.TN_SIGN, exp = C.TN_EXP, exp2 = C.TN_EXP2, expm1 = C.TN_EXPM1,
  log = C.TN_LOG, log2 = C.TN_LOG2, log10 = C.TN_LOG10, log1p = C.TN_LOG1P, sqrt = C.TN_SQRT,
  rsqrt = C.TN_RSQRT, sin = C.TN_SIN, cos = C.TN_COS, tan = C.TN_TAN, asin = C.TN_ASIN, acos = C.TN_ACOS,
  atan = C.TN_ATAN, sinh = C.TN_SINH, cosh = C.TN_COSH, tanh = C.TN_TANH, sigmoid = C.TN_SIGMOID,
  logsigmoid = C.TN_LOGSIGMOID, relu = C.TN_RELU, silu = C.TN_SILU, erf = C.TN_ERF, erfc = C.TN_ERFC,
  floor = C.TN_FLOOR, ceil = C.TN_CEIL, round = C.TN_ROUND, trunc = C.TN_TRUNC, frac = C.TN_FRAC,
  reciprocal = C.TN_RECIPROCAL, square = C.TN_SQUARE, bitwise_not = C.TN_BITWISE_NOT,
  logical_not = C.TN_LOGICAL_NOT, isnan = C.TN_ISNAN, isinf = C.TN_ISINF, isfinite = C.TN_ISFINITE,
  signbit = C.TN_SIGNBIT, asinh = C.TN_ASINH, acosh = C.TN_ACOSH, atanh = C.TN_ATANH, lgamma = C.TN_LGAMMA,
  digamma = C.TN_DIGAMMA, erfinv = C.TN_ERFINV, i0 = C.TN_I0, sinc = C.TN_SINC,
}
M.UNARY = UNARY

-- Runs a unary op: out may be nil (new tensor), x itself (in place) or an out= tensor.
local function unary(op, x, out, p0, p1)
  return result(C.tn_unary(op, out and out._c, x._c, p0 or 0, p1 or 0, dtype.default))
end
M.unary = unary

local function define_unary(name, op, param_reader)
  local fn_ = name .. '_'
  Tensor[name] = function(x, ...)
    local p0, p1 = 0, 0
    if param_reader then p0, p1 = param_reader(name, ...) end
    return wrap(unary(op, x, nil, p0, p1))
  end
  Tensor[fn_] = function(x, ...)
    local p0, p1 = 0, 0
    if param_reader then p0, p1 = param_reader(fn_, ...) end
    unary(op, x, x, p0, p1)
    return x
  end
  torch[name] = function(x, ...)
    core.c_of(x, name, 'the input')
    local n = select('#', ...)
    local opts = n > 0 and select(n, ...) or nil
    local out = is_opts(opts) and opts.out or nil
    local p0, p1 = 0, 0
    if param_reader then p0, p1 = param_reader(name, ...) end
    if out then
      unary(op, x, out, p0, p1)
      return out
    end
    return wrap(unary(op, x, nil, p0, p1))
  end
end

--- Tensor:asinh() -> Tensor
--- Tensor:acosh() -> Tensor
--- Tensor:atanh() -> Tensor
--- Tensor:lgamma() -> Tensor
--- Tensor:digamma() -> Tensor
--- Tensor:erfinv() -> Tensor
--- Tensor:i0() -> Tensor
--- Tensor:sinc() -> Tensor
-- Element-wise special functions, each also as torch.f(x, {out=}) and in place as x:f_(): the inverse hyperbolic
-- functions, log|Gamma(x)|, digamma (psi, the derivative of lgamma), the inverse error function, the modified
-- Bessel function of the first kind of order 0, and sin(pi x) / (pi x) (1 at 0). Integer and bool inputs give the
-- default float dtype. PyTorch's values at the edges: lgamma is inf at 0 and the negative integers, digamma -inf
-- at 0 (inf at -0) and NaN at the negative integers and -inf, erfinv +-inf at +-1 and NaN beyond, i0 NaN at +-inf.
-- arcsinh, arccosh and arctanh are aliases. Example: torch.tensor({0.5, 1, 3}):digamma()
for name, op in pairs(UNARY) do define_unary(name, op) end

-- polygamma's order n, the kernel's parameter
local function polygamma_order(fn, n)
  if not args.is_integer(n) or n < 0 then
    argerror(fn, 'the order n must be a non-negative integer, got %s', tostring(n))
  end
  return n, 0
end
--- Tensor:polygamma(n) -> Tensor
--- torch.polygamma(n, x, {out=}) -> Tensor
-- The n-th derivative of digamma, element-wise, for an integer n >= 0 (n = 0 is digamma, 1 trigamma); integer and
-- bool inputs give the default float dtype. +-inf at the poles (0 and the negative integers; PyTorch 1.13 gives
-- large finite values at the negative integers for n >= 1, rounding noise of its reflection formula); NaN at +inf
-- for n >= 2, as PyTorch. polygamma_(n) works in place.
define_unary('polygamma', C.TN_POLYGAMMA, polygamma_order)
function torch.polygamma(n, x, opts)
  if is_tensor(n) then argerror('polygamma', 'expected the order first: torch.polygamma(n, x)') end
  core.c_of(x, 'polygamma', 'the input')
  polygamma_order('polygamma', n)
  local out = is_opts(opts) and opts.out or nil
  if out then
    unary(C.TN_POLYGAMMA, x, out, n, 0)
    return out
  end
  return Tensor.polygamma(x, n) -- looked up now: autograd records the method
end

-- torch.special: PyTorch's namespace of special functions, with i1 (i0's derivative) as its own kernel and the
-- other names reaching the ops defined here and in tensor.composite_ops.
torch.special = torch.special or {}
--- torch.special.i1(x, {out=}) -> Tensor
-- The modified Bessel function of the first kind of order 1, element-wise (odd; NaN at +-inf, as PyTorch).
-- Integer and bool inputs give the default float dtype.
function torch.special.i1(x, opts)
  core.c_of(x, 'special.i1', 'the input')
  local out = is_opts(opts) and opts.out or nil
  if out then
    unary(C.TN_I1, x, out)
    return out
  end
  return wrap(unary(C.TN_I1, x))
end
--- torch.special.i0(x) -> Tensor
--- torch.special.digamma(x) -> Tensor
--- torch.special.psi(x) -> Tensor
--- torch.special.gammaln(x) -> Tensor
--- torch.special.polygamma(n, x) -> Tensor
--- torch.special.erfinv(x) -> Tensor
--- torch.special.sinc(x) -> Tensor
-- Other names of torch.i0, torch.digamma (psi too), torch.lgamma (gammaln), torch.polygamma, torch.erfinv and
-- torch.sinc, with the same arguments.
for name, target in pairs({ i0 = 'i0', digamma = 'digamma', psi = 'digamma', gammaln = 'lgamma',
                            polygamma = 'polygamma', erfinv = 'erfinv', sinc = 'sinc' }) do
  torch.special[name] = function(...) return torch[target](...) end
end

-- torch.special's element-wise kernels without a Tensor method (PyTorch has none for them). modified_bessel_i0
-- and modified_bessel_i1 reach the i0 and special.i1 kernels without autograd's recording forms: PyTorch 1.13
-- defines no derivative for them, nor for the other Bessel functions and the polynomials, whose results do not
-- require grad (as nextafter's).
--- torch.special.ndtr(x, {out=}) -> Tensor
-- The standard normal distribution function Phi(x) = (1 + erf(x / sqrt 2)) / 2, element-wise; accurate in the
-- lower tail down to the smallest subnormal results (PyTorch's (1 + erf(x / sqrt 2)) / 2 loses it: 0 below about
-- x = -8.3 in float64). This and the one-operand functions below (ndtri to airy_ai): element-wise, integer and
-- bool inputs give the default float dtype; float32 and float64 tensors (ndtr, i0e and entr also float16 and
-- bfloat16, computed in float32), on the CPU and CUDA. Each is computed in float64 from series, recurrences,
-- continued fractions and asymptotic expansions (lib/special_*.h) and rounded once.
-- Example: torch.special.ndtri(torch.tensor({0.025, 0.5, 0.975}))
--- torch.special.ndtri(p, {out=}) -> Tensor
-- The inverse of ndtr (the standard normal quantile): -inf at 0, inf at 1, NaN outside [0, 1].
--- torch.special.log_ndtr(x, {out=}) -> Tensor
-- log(ndtr(x)), accurate far into both tails (about -x^2 / 2 for very negative x, -0 at +inf).
--- torch.special.erfcx(x, {out=}) -> Tensor
-- The scaled complementary error function exp(x^2) erfc(x): 0 at +inf, inf below about -26.6.
--- torch.special.i0e(x, {out=}) -> Tensor
--- torch.special.i1e(x, {out=}) -> Tensor
-- The exponentially scaled modified Bessel functions of the first kind exp(-|x|) I0(x) and exp(-|x|) I1(x),
-- finite for every x (0 at +-inf).
--- torch.special.entr(x, {out=}) -> Tensor
-- The entropy term -x log(x): 0 at 0, -inf for negative x.
--- torch.special.bessel_j0(x, {out=}) -> Tensor
--- torch.special.bessel_j1(x, {out=}) -> Tensor
--- torch.special.bessel_y0(x, {out=}) -> Tensor
--- torch.special.bessel_y1(x, {out=}) -> Tensor
-- The Bessel functions of the first (J) and second (Y) kind of orders 0 and 1. Y is -inf at 0 and NaN for
-- negative x; all four are NaN at +-inf, as PyTorch. No gradient, as in PyTorch 1.13.
--- torch.special.modified_bessel_i0(x, {out=}) -> Tensor
--- torch.special.modified_bessel_i1(x, {out=}) -> Tensor
--- torch.special.modified_bessel_k0(x, {out=}) -> Tensor
--- torch.special.modified_bessel_k1(x, {out=}) -> Tensor
--- torch.special.scaled_modified_bessel_k0(x, {out=}) -> Tensor
--- torch.special.scaled_modified_bessel_k1(x, {out=}) -> Tensor
-- The modified Bessel functions of the first (I) and second (K) kind of orders 0 and 1, and exp(x) K(x). I is
-- NaN at +-inf; K is inf at 0, NaN for negative x and 0 at +inf. modified_bessel_i0/i1 are the values of i0 and
-- special.i1 without their gradient (none in PyTorch 1.13), and also take float16 and bfloat16 tensors.
--- torch.special.spherical_bessel_j0(x, {out=}) -> Tensor
-- The spherical Bessel function of the first kind of order 0, sin(x) / x (1 at 0, 0 at +-inf).
--- torch.special.airy_ai(x, {out=}) -> Tensor
-- The Airy function Ai(x) (NaN at +-inf, as PyTorch). No gradient, as in PyTorch 1.13.
local SPECIAL_UNARY = {
  ndtr = C.TN_NDTR, ndtri = C.TN_NDTRI, log_ndtr = C.TN_LOG_NDTR, erfcx = C.TN_ERFCX, i0e = C.TN_I0E,
  i1e = C.TN_I1E, entr = C.TN_ENTR, bessel_j0 = C.TN_BESSEL_J0, bessel_j1 = C.TN_BESSEL_J1,
  bessel_y0 = C.TN_BESSEL_Y0, bessel_y1 = C.TN_BESSEL_Y1, modified_bessel_i0 = C.TN_I0, modified_bessel_i1 = C.TN_I1,
  modified_bessel_k0 = C.TN_MODIFIED_BESSEL_K0, modified_bessel_k1 = C.TN_MODIFIED_BESSEL_K1,
  scaled_modified_bessel_k0 = C.TN_SCALED_MODIFIED_BESSEL_K0, scaled_modified_bessel_k1 = C.TN_SCALED_MODIFIED_BESSEL_K1,
  spherical_bessel_j0 = C.TN_SPHERICAL_BESSEL_J0, airy_ai = C.TN_AIRY_AI,
}
for name, op in pairs(SPECIAL_UNARY) do
  local fn = 'special.' .. name
  torch.special[name] = function(x, opts)
    core.c_of(x, fn, 'the input')
    local out = is_opts(opts) and opts.out or nil
    if out then
      unary(op, x, out)
      return out
    end
    return wrap(unary(op, x))
  end
end

--- torch.special.xlog1py(x, y, {out=}) -> Tensor
-- x * log1p(y) element-wise, 0 where x is 0 unless y is NaN (as SciPy); either operand may be a number. The
-- operands broadcast; integer and bool ones give the default float dtype. Differentiable in both, as PyTorch.
--- torch.special.zeta(x, q, {out=}) -> Tensor
-- The Hurwitz zeta function sum_k (q + k)^-x (the Riemann zeta function at q = 1), element-wise; either operand
-- may be a number. PyTorch's special values: inf at x = 1 and at the integers q <= 0, NaN for x < 1, for a
-- non-integer x with q < 0, and at q = +inf. Differentiable in q only (the gradient in x raises, as in PyTorch).
--- torch.special.chebyshev_polynomial_t(x, n, {out=}) -> Tensor
--- torch.special.chebyshev_polynomial_u(x, n, {out=}) -> Tensor
--- torch.special.chebyshev_polynomial_v(x, n, {out=}) -> Tensor
--- torch.special.chebyshev_polynomial_w(x, n, {out=}) -> Tensor
--- torch.special.shifted_chebyshev_polynomial_t(x, n, {out=}) -> Tensor
--- torch.special.shifted_chebyshev_polynomial_u(x, n, {out=}) -> Tensor
--- torch.special.shifted_chebyshev_polynomial_v(x, n, {out=}) -> Tensor
--- torch.special.shifted_chebyshev_polynomial_w(x, n, {out=}) -> Tensor
--- torch.special.hermite_polynomial_h(x, n, {out=}) -> Tensor
--- torch.special.hermite_polynomial_he(x, n, {out=}) -> Tensor
--- torch.special.laguerre_polynomial_l(x, n, {out=}) -> Tensor
--- torch.special.legendre_polynomial_p(x, n, {out=}) -> Tensor
-- The orthogonal polynomials of degree n at x, element-wise (x and n broadcast; either may be a number): Chebyshev's
-- of the first to fourth kinds (T, U, V, W) and the same of 2x - 1 (shifted), Hermite's physicists' (H) and
-- probabilists' (He), Laguerre's and Legendre's. As PyTorch 1.13: n is truncated toward zero and a negative n (NaN
-- and +-inf too) gives 0; for |x| < 1 and large n the Chebyshev forms use cos(n acos x) and its kin; elsewhere the
-- three-term recurrences, which take O(n) steps and overflow past the float range to inf and then NaN (PyTorch's
-- results there). No gradient, as in PyTorch 1.13.
local SPECIAL_BINARY = {
  xlog1py = C.TN_XLOG1PY, zeta = C.TN_ZETA, chebyshev_polynomial_t = C.TN_CHEBYSHEV_POLYNOMIAL_T,
  chebyshev_polynomial_u = C.TN_CHEBYSHEV_POLYNOMIAL_U, chebyshev_polynomial_v = C.TN_CHEBYSHEV_POLYNOMIAL_V,
  chebyshev_polynomial_w = C.TN_CHEBYSHEV_POLYNOMIAL_W,
  shifted_chebyshev_polynomial_t = C.TN_SHIFTED_CHEBYSHEV_POLYNOMIAL_T,
  shifted_chebyshev_polynomial_u = C.TN_SHIFTED_CHEBYSHEV_POLYNOMIAL_U,
  shifted_chebyshev_polynomial_v = C.TN_SHIFTED_CHEBYSHEV_POLYNOMIAL_V,
  shifted_chebyshev_polynomial_w = C.TN_SHIFTED_CHEBYSHEV_POLYNOMIAL_W,
  hermite_polynomial_h = C.TN_HERMITE_POLYNOMIAL_H, hermite_polynomial_he = C.TN_HERMITE_POLYNOMIAL_HE,
  laguerre_polynomial_l = C.TN_LAGUERRE_POLYNOMIAL_L, legendre_polynomial_p = C.TN_LEGENDRE_POLYNOMIAL_P,
}
M.SPECIAL_UNARY, M.SPECIAL_BINARY = SPECIAL_UNARY, SPECIAL_BINARY


--- Tensor:round([decimals]) -> Tensor
--- torch.round(x, [decimals], {out=}) -> Tensor
-- Rounds half to even, to decimals places (default 0; negative: to tens, hundreds, ...), positional or
-- {decimals=}: PyTorch's round(x * 10^d) / 10^d (round(x / 10^-d) * 10^-d for d < 0) in x's dtype. round_ works
-- in place.
local plain_round, plain_torch_round = Tensor.round, torch.round
local function decimals_of(fn, decimals)
  if is_opts(decimals) then decimals = decimals.decimals end
  if decimals == nil then return 0 end
  return args.integer(fn, 'decimals', decimals)
end
local function round_to(x, d)
  if d == 0 or not dtype.floating[tonumber(x._c.dtype)] then return plain_round(x) end
  if d > 0 then return plain_round(x * 10 ^ d) / 10 ^ d end
  return plain_round(x / 10 ^ -d) * 10 ^ -d
end
function Tensor:round(decimals) return round_to(self, decimals_of('round', decimals)) end
function Tensor:round_(decimals)
  local d = decimals_of('round_', decimals)
  if d == 0 then
    unary(C.TN_ROUND, self, self, 0, 0)
    return self
  end
  return self:copy_(round_to(self, d))
end
function torch.round(x, decimals, opts)
  if is_opts(decimals) then opts = decimals end
  local d = decimals_of('round', decimals)
  if d == 0 then return plain_torch_round(x, opts) end
  core.c_of(x, 'round', 'the input')
  return core.write_out('round', opts and opts.out, round_to(x, d))
end

-- clamp(min, max) or clamp{min=, max=}; either bound may be nil; tensor bounds use maximum/minimum
local function clamp_params(fn, lo, hi)
  if is_opts(lo) then lo, hi = lo.min, lo.max end
  if lo == nil and hi == nil then argerror(fn, 'at least one of min and max must be given') end
  if lo ~= nil and type(lo) ~= 'number' then argerror(fn, 'min must be a number, got %s', type(lo)) end
  if hi ~= nil and type(hi) ~= 'number' then argerror(fn, 'max must be a number, got %s', type(hi)) end
  return lo or -huge, hi or huge
end
define_unary('clamp', C.TN_CLAMP, clamp_params)
local scalar_clamp, scalar_clamp_ = Tensor.clamp, Tensor.clamp_

-- Number bounds promote as PyTorch's wrapped numbers do: a fraction (or NaN) makes an integer tensor's result a
-- float one.
local function is_fraction(v) return type(v) == 'number' and v ~= floor(v) and v ~= huge and v ~= -huge end
local function promoted_by_bounds(self, lo, hi)
  local d = tonumber(self._c.dtype)
  return not dtype.floating[d] and d ~= BOOL and (is_fraction(lo) or is_fraction(hi))
end
local function nan_bound(lo, hi) return (type(lo) == 'number' and lo ~= lo) or (type(hi) == 'number' and hi ~= hi) end

--- Tensor:clamp(min, max) -> Tensor
--- torch.clamp(x, min, max, {out=}) -> Tensor
-- min(max(x, min), max) element-wise (so every element is max when min > max); either bound may be nil, a number
-- or a tensor (broadcast: max(min(x, hi), lo) in tensor ops), or both given as {min=, max=}. A fractional number
-- bound gives an integer tensor a float result, as in PyTorch; a NaN bound gives NaN. clamp_ works in place.
-- Alias: clip.
function Tensor:clamp(lo, hi)
  if is_opts(lo) then lo, hi = lo.min, lo.max end
  if is_tensor(lo) or is_tensor(hi) then
    -- where, not maximum/minimum: at a tie the gradient goes to x, as PyTorch's (maximum splits it); a NaN
    -- bound gives NaN
    local r = self
    if lo ~= nil then r = torch.where(r:lt(lo):logical_or(is_tensor(lo) and lo:isnan() or lo ~= lo), lo, r) end
    if hi ~= nil then r = torch.where(r:gt(hi):logical_or(is_tensor(hi) and hi:isnan() or hi ~= hi), hi, r) end
    return r == self and self:clone() or r
  end
  local x = promoted_by_bounds(self, lo, hi) and self:to(dtype.name[dtype.default]) or self
  if nan_bound(lo, hi) then
    clamp_params('clamp', lo, hi)
    return x * 0 + (0 / 0) -- (a result in x's graph whose gradient is zero, as in PyTorch)
  end
  return scalar_clamp(x, lo, hi)
end
function Tensor:clamp_(lo, hi)
  if is_opts(lo) then lo, hi = lo.min, lo.max end
  if is_tensor(lo) or is_tensor(hi) then
    if lo ~= nil then self:maximum_(lo) end
    if hi ~= nil then self:minimum_(hi) end
    return self
  end
  if promoted_by_bounds(self, lo, hi) then
    argerror('clamp_', 'the result of clamping %s to %s .. %s is %s, which cannot be written into it', self:dtype(),
             tostring(lo), tostring(hi), dtype.name[dtype.default])
  end
  if nan_bound(lo, hi) then
    clamp_params('clamp_', lo, hi)
    return self:fill_(0 / 0)
  end
  return scalar_clamp_(self, lo, hi)
end
-- torch.clamp(x, min, max, {out=}) or torch.clamp(x, {min=, max=, out=}): the method's rules (tensor bounds too)
function torch.clamp(x, lo, hi, opts)
  core.c_of(x, 'clamp', 'the input')
  if is_opts(lo) then
    lo, hi, opts = lo.min, lo.max, lo
  elseif is_opts(hi) then
    hi, opts = nil, hi
  end
  return core.write_out('clamp', opts and opts.out, Tensor.clamp(x, lo, hi))
end
alias(Tensor, 'clip', 'clamp')
alias(Tensor, 'clip_', 'clamp_')
alias(torch, 'clip', 'clamp')

local function one_param(default, key)
  return function(fn, v)
    if is_opts(v) then v = v[key] end
    if v == nil then v = default end
    if type(v) ~= 'number' then argerror(fn, '%s must be a number, got %s', key, type(v)) end
    return v, 0
  end
end
define_unary('leaky_relu', C.TN_LEAKY_RELU, one_param(0.01, 'negative_slope'))
define_unary('elu', C.TN_ELU, one_param(1.0, 'alpha'))
-- gelu({approximate='tanh'}) or gelu('tanh')
define_unary('gelu', C.TN_GELU, function(fn, approximate)
  if is_opts(approximate) then approximate = approximate.approximate end
  if approximate == nil or approximate == 'none' then return 0, 0 end
  if approximate == 'tanh' then return 1, 0 end
  argerror(fn, "approximate must be 'none' or 'tanh', got %s", tostring(approximate))
end)
-- softplus(beta=1, threshold=20)
define_unary('softplus', C.TN_SOFTPLUS, function(fn, beta, threshold)
  if is_opts(beta) then beta, threshold = beta.beta, beta.threshold end
  beta, threshold = beta or 1, threshold or 20
  if type(beta) ~= 'number' or type(threshold) ~= 'number' then argerror(fn, 'beta and threshold must be numbers') end
  if beta == 0 then argerror(fn, 'beta must be nonzero') end
  return beta, threshold
end)
-- relu6 and hardtanh are clamps
function Tensor:relu6() return self:clamp(0, 6) end
function Tensor:hardtanh(lo, hi)
  if is_opts(lo) then lo, hi = lo.min_val, lo.max_val end
  return self:clamp(lo or -1, hi or 1)
end

-- ---- binary ----

local BINARY = {
  add = C.TN_ADD, sub = C.TN_SUB, mul = C.TN_MUL, div = C.TN_DIV, floor_divide = C.TN_FLOOR_DIVIDE,
  remainder = C.TN_REMAINDER, fmod = C.TN_FMOD, pow = C.TN_POW, maximum = C.TN_MAXIMUM,
  minimum = C.TN_MINIMUM, atan2 = C.TN_ATAN2, bitwise_and = C.TN_BITWISE_AND, bitwise_or = C.TN_BITWISE_OR,
  bitwise_xor = C.TN_BITWISE_XOR, eq = C.TN_EQ, ne = C.TN_NE, lt = C.TN_LT, le = C.TN_LE, gt = C.TN_GT,
  ge = C.TN_GE, logical_and = C.TN_LOGICAL_AND, logical_or = C.TN_LOGICAL_OR, logical_xor = C.TN_LOGICAL_XOR,
  fmax = C.TN_FMAX, fmin = C.TN_FMIN, nextafter = C.TN_NEXTAFTER, gcd = C.TN_GCD, lcm = C.TN_LCM,
  bitwise_left_shift = C.TN_BITWISE_LEFT_SHIFT, bitwise_right_shift = C.TN_BITWISE_RIGHT_SHIFT,
  igamma = C.TN_IGAMMA, igammac = C.TN_IGAMMAC,
}
M.BINARY = BINARY

-- a OP b for any mix of tensors and numbers; out is nil, a tensor for out=, or a itself (in place).
local function binary(fn, op, a, b, out, p0, p1)
  p0, p1 = p0 or 1, p1 or 0
  local oc = out and out._c
  if is_tensor(a) then
    if is_tensor(b) then
      return result(C.tn_binary(op, oc, a._c, b._c, p0, p1, dtype.default))
    end
    local s = number_of(fn, b)
    return result(C.tn_binary_scalar(op, oc, a._c, s, type(b) == 'boolean' and BOOL or scalar_dtype(s), 0, p0,
                                     p1, dtype.default))
  end
  if not is_tensor(b) then argerror(fn, 'expected at least one tensor, got %s and %s', type(a), type(b)) end
  local s = number_of(fn, a)
  return result(C.tn_binary_scalar(op, oc, b._c, s, type(a) == 'boolean' and BOOL or scalar_dtype(s), 1, p0, p1,
                                   dtype.default))
end
M.binary = binary

-- torch.f(a, b, {out=}) of a binary kernel, fn naming it in errors
local function binary_function(fn, op)
  return function(a, b, opts)
    local out = is_opts(opts) and opts.out or nil
    if out then
      binary(fn, op, a, b, out)
      return out
    end
    return wrap(binary(fn, op, a, b))
  end
end

local function define_binary(name, op, alpha_arg)
  local fn_ = name .. '_'
  if alpha_arg then
    -- add(y, alpha) / add(y, {alpha=})
    local function alpha_of(fn, alpha)
      if is_opts(alpha) then alpha = alpha.alpha end
      if alpha == nil then return 1 end
      if type(alpha) ~= 'number' then argerror(fn, 'alpha must be a number, got %s', type(alpha)) end
      return alpha
    end
    Tensor[name] = function(a, b, alpha) return wrap(binary(name, op, a, b, nil, alpha_of(name, alpha))) end
    Tensor[fn_] = function(a, b, alpha)
      binary(fn_, op, a, b, a, alpha_of(fn_, alpha))
      return a
    end
    torch[name] = function(a, b, alpha, opts)
      if is_opts(alpha) then alpha, opts = alpha.alpha, alpha end
      local out = opts and opts.out
      if out then
        binary(name, op, a, b, out, alpha_of(name, alpha))
        return out
      end
      return wrap(binary(name, op, a, b, nil, alpha_of(name, alpha)))
    end
  else
    Tensor[name] = function(a, b) return wrap(binary(name, op, a, b)) end
    Tensor[fn_] = function(a, b)
      binary(fn_, op, a, b, a)
      return a
    end
    torch[name] = binary_function(name, op)
  end
end

--- Tensor:fmax(other) -> Tensor
--- Tensor:fmin(other) -> Tensor
--- torch.fmax(a, b, {out=}) -> Tensor
--- torch.fmin(a, b, {out=}) -> Tensor
-- The element-wise maximum / minimum ignoring NaN: where one operand is NaN the result is the other (NaN only where
-- both are); equal operands (0 and -0) give the first. Every dtype; the operands broadcast and promote. The
-- gradient goes to the operand chosen (the first on ties), as PyTorch. No in-place form, as in PyTorch.
--- Tensor:nextafter(other) -> Tensor
--- torch.nextafter(a, b, {out=}) -> Tensor
-- The next representable value after a in the direction of b (b itself where they are equal), element-wise, for
-- float32 and float64 tensors. nextafter_ works in place.
--- Tensor:gcd(other) -> Tensor
--- Tensor:lcm(other) -> Tensor
--- torch.gcd(a, b, {out=}) -> Tensor
--- torch.lcm(a, b, {out=}) -> Tensor
-- The greatest common divisor (non-negative; gcd(0, 0) = 0) and the least common multiple (|a / gcd * b|, 0 when
-- either is 0) of integer tensors, element-wise; wrapping on overflow as PyTorch. gcd_ and lcm_ work in place.
--- Tensor:bitwise_left_shift(other) -> Tensor
--- Tensor:bitwise_right_shift(other) -> Tensor
--- torch.bitwise_left_shift(a, b, {out=}) -> Tensor
--- torch.bitwise_right_shift(a, b, {out=}) -> Tensor
-- a shifted by b bits, for integer tensors (the dtype is the promoted one: int8 << 2 stays int8). The right shift
-- is arithmetic for signed dtypes. A count below 0 or at least the dtype's width in bits shifts everything out: 0
-- to the left, and 0 or -1 (the sign) to the right. With `_` they work in place.
--- Tensor:igamma(x) -> Tensor
--- Tensor:igammac(x) -> Tensor
--- torch.igamma(a, x, {out=}) -> Tensor
--- torch.igammac(a, x, {out=}) -> Tensor
--- torch.special.gammainc(a, x, {out=}) -> Tensor
--- torch.special.gammaincc(a, x, {out=}) -> Tensor
-- The regularized lower and upper incomplete gamma functions P(a, x) = gamma(a, x) / Gamma(a) and
-- Q(a, x) = 1 - P(a, x), element-wise (a and x broadcast), for floating tensors only (integer and bool ones are
-- refused, as are numbers, as in PyTorch). PyTorch's special values: NaN for a < 0 or x < 0 and at a = x = 0;
-- P = 1 (Q = 0) for a = 0 < x and at x = +inf; P = 0 (Q = 1) at x = 0 and for a = +inf. The gradient is taken in x
-- only: backward through a raises, as in PyTorch 1.13. igamma_ and igammac_ work in place; gammainc and
-- gammaincc are torch.special's names.
for name, op in pairs(BINARY) do define_binary(name, op, name == 'add' or name == 'sub') end
Tensor.fmax_, Tensor.fmin_ = nil, nil
-- igamma and igammac take tensors only
for _, name in ipairs({ 'igamma', 'igammac', 'igamma_', 'igammac_' }) do
  local method = Tensor[name]
  Tensor[name] = function(a, x)
    core.c_of(a, name, 'the input')
    core.c_of(x, name, 'other')
    return method(a, x)
  end
end
for _, name in ipairs({ 'igamma', 'igammac' }) do
  local fn = torch[name]
  torch[name] = function(a, x, opts)
    core.c_of(a, name, 'the input')
    core.c_of(x, name, 'other')
    return fn(a, x, opts)
  end
end
torch.special.gammainc = function(...) return torch.igamma(...) end
torch.special.gammaincc = function(...) return torch.igammac(...) end

for name, op in pairs(SPECIAL_BINARY) do torch.special[name] = binary_function('special.' .. name, op) end

-- div(y, {rounding_mode='floor'|'trunc'}), in all three forms: x:div, x:div_ and torch.div (with out=)
local plain_div, plain_div_, plain_torch_div = Tensor.div, Tensor.div_, torch.div

local function rounding_mode_of(opts)
  if is_opts(opts) then return opts.rounding_mode end
  if type(opts) == 'string' then return opts end
  return nil
end

-- a / b rounded by mode, as a new tensor
local function rounded_div(fn, a, b, mode)
  if mode == 'floor' then return a:floor_divide(b) end
  if mode == 'trunc' then
    if dtype.floating[tonumber(a._c.dtype)] or (is_tensor(b) and dtype.floating[tonumber(b._c.dtype)]) or
       (type(b) == 'number' and b ~= floor(b)) then
      return plain_div(a, b):trunc_()
    end
    -- integers, exactly (int64 beyond 2^53 too): the floor quotient, plus one where the division was inexact and
    -- the signs differ (floor_divide refuses a zero divisor)
    if (is_tensor(b) and b:eq(0):any()) or b == 0 then argerror(fn, 'integer division by zero') end
    local q = a:floor_divide(b)
    local inexact = (a - q * b):ne(0)
    local negative = is_tensor(b) and a:lt(0):logical_xor(b:lt(0)) or (b < 0 and a:ge(0) or a:lt(0))
    return q + inexact:logical_and(negative):to(q:dtype())
  end
  argerror(fn, "rounding_mode must be nil, 'floor' or 'trunc', got %s", tostring(mode))
end

function Tensor:div(b, opts)
  local mode = rounding_mode_of(opts)
  if mode == nil then return plain_div(self, b) end
  return rounded_div('div', self, b, mode)
end
function Tensor:div_(b, opts)
  local mode = rounding_mode_of(opts)
  if mode == nil then return plain_div_(self, b) end
  return self:copy_(rounded_div('div_', self, b, mode))
end
function torch.div(a, b, opts)
  local mode = rounding_mode_of(opts)
  if mode == nil then return plain_torch_div(a, b, opts) end
  core.c_of(a, 'div', 'the input')
  return core.write_out('div', opts.out, rounded_div('div', a, b, mode))
end

-- The largest finite value of each floating dtype (PyTorch's finfo.max)
local FINITE_MAX = { float32 = 3.4028234663852886e38, float64 = 1.7976931348623157e308, float16 = 65504,
                     bfloat16 = 3.3895313892515355e38 }

--- Tensor:nan_to_num([nan [, posinf [, neginf]]]) -> Tensor
--- torch.nan_to_num(x, [nan [, posinf [, neginf]]]) -> Tensor
-- x with NaN replaced by nan (default 0), +inf by posinf and -inf by neginf (default: the largest and the
-- lowest finite values of x's dtype); integer tensors come back as copies. Arguments may also be given as a
-- table {nan=, posinf=, neginf=}. nan_to_num_ works in place.
function Tensor:nan_to_num(nan, posinf, neginf)
  local fn = 'nan_to_num'
  if is_opts(nan) then nan, posinf, neginf = nan.nan, nan.posinf, nan.neginf end
  for name, v in pairs({ nan = nan or 0, posinf = posinf or 0, neginf = neginf or 0 }) do
    if type(v) ~= 'number' then argerror(fn, '%s must be a number, got %s', name, type(v)) end
  end
  local limit = FINITE_MAX[self:dtype()]
  if not limit then return self:clone() end
  local x = torch.where(self:isnan(), nan or 0, self)
  x = torch.where(x:eq(huge), posinf or limit, x)
  return torch.where(x:eq(-huge), neginf or -limit, x)
end
function Tensor:nan_to_num_(...) return self:copy_(self:nan_to_num(...)) end
core.composed_in_place.nan_to_num_ = true
core.function_forms({ 'nan_to_num', 'nan_to_num_' })

-- Aliases (PyTorch and Torch7 spellings), made after div has its rounding modes
for _, pair in ipairs({ { 'multiply', 'mul' }, { 'divide', 'div' }, { 'subtract', 'sub' }, { 'greater', 'gt' },
                        { 'less', 'lt' }, { 'greater_equal', 'ge' }, { 'less_equal', 'le' }, { 'not_equal', 'ne' },
                        { 'cmul', 'mul' }, { 'cdiv', 'div' }, { 'csub', 'sub' }, { 'cmax', 'maximum' },
                        { 'cmin', 'minimum' }, { 'cinv', 'reciprocal' } }) do
  alias(Tensor, pair[1], pair[2])
end
alias(torch, 'true_divide', 'div')

-- ---- operators ----

local ADD, SUB, MUL, DIV, POW, REM, NEG = C.TN_ADD, C.TN_SUB, C.TN_MUL, C.TN_DIV, C.TN_POW, C.TN_REMAINDER, C.TN_NEG
mt.__add = function(a, b) return wrap(binary('add', ADD, a, b)) end
mt.__sub = function(a, b) return wrap(binary('sub', SUB, a, b)) end
mt.__mul = function(a, b) return wrap(binary('mul', MUL, a, b)) end
mt.__div = function(a, b) return wrap(binary('div', DIV, a, b)) end
mt.__pow = function(a, b) return wrap(binary('pow', POW, a, b)) end
mt.__mod = function(a, b) return wrap(binary('remainder', REM, a, b)) end
mt.__unm = function(a) return wrap(unary(NEG, a)) end

-- ---- ternary ----

-- A number as a 0-d tensor (a wrapped number: it does not decide the result dtype).
-- Promotion counts it as a 0-d tensor, so its dtype is chosen not to decide the result where PyTorch's wrapped
-- number would not, and to hold its value exactly: beside tensors of its kind or higher, the widest of their
-- dtypes (which decides the result anyway: storing 0.1 as float32 gave where(c, 0.1, x) 0.10000000149 for a
-- float64 x); otherwise the wrapped number's (int64, or the default float dtype for a fraction).
local function tensor_operand(fn, v, other1, other2)
  if is_tensor(v) then return v end
  local s = number_of(fn, v)
  local dt = type(v) == 'boolean' and BOOL or scalar_dtype(s)
  -- (an integral number is of an integer tensor's kind: where(c, int32_0d, 2) is int32, as in PyTorch)
  local function kind_ok(d)
    return d and (dt == BOOL or (d ~= BOOL and (dt == INT64 or dtype.floating[d]))) and d or nil
  end
  local d1 = kind_ok(is_tensor(other1) and tonumber(other1._c.dtype))
  local d2 = kind_ok(is_tensor(other2) and tonumber(other2._c.dtype))
  if d1 and d2 then
    dt = tonumber(C.tn_promote_types(d1, d2))
  elseif d1 or d2 then
    dt = d1 or d2
  end
  -- as PyTorch's where: a number the dtype cannot hold is refused rather than wrapped
  if not dtype.fits(s, dt) then
    argerror(fn, 'value %s cannot be converted to %s without overflow', tostring(v), dtype.name[dt])
  end
  return wrap(result(C.tn_scalar_tensor(s, dt, 0, 0)), 3)
end

local function ternary(fn, op, a, b, c, value, out)
  return result(C.tn_ternary(op, out and out._c, a._c, b._c, c._c, value or 1, dtype.default))
end

-- lerp(end, weight): self + weight * (end - self)
function Tensor:lerp(b, w) return wrap(ternary('lerp', C.TN_LERP, self, b, tensor_operand('lerp', w, self, b))) end
function Tensor:lerp_(b, w)
  ternary('lerp_', C.TN_LERP, self, b, tensor_operand('lerp_', w, self, b), 1, self)
  return self
end

local function value_of(fn, value)
  if is_opts(value) then value = value.value end
  if value == nil then return 1 end
  if type(value) ~= 'number' then argerror(fn, 'value must be a number, got %s', type(value)) end
  return value
end

-- addcmul(t1, t2, value=1): self + value * t1 * t2; addcdiv likewise with t1 / t2
function Tensor:addcmul(t1, t2, value) return wrap(ternary('addcmul', C.TN_ADDCMUL, self, t1, t2, value_of('addcmul', value))) end
function Tensor:addcmul_(t1, t2, value)
  ternary('addcmul_', C.TN_ADDCMUL, self, t1, t2, value_of('addcmul_', value), self)
  return self
end
function Tensor:addcdiv(t1, t2, value) return wrap(ternary('addcdiv', C.TN_ADDCDIV, self, t1, t2, value_of('addcdiv', value))) end
function Tensor:addcdiv_(t1, t2, value)
  ternary('addcdiv_', C.TN_ADDCDIV, self, t1, t2, value_of('addcdiv_', value), self)
  return self
end

-- where(cond, a, b): elements of a where cond holds, else of b (a and b may be numbers)
function torch.where(cond, a, b, opts)
  core.c_of(cond, 'where', 'the condition')
  if b == nil and a == nil then return cond:nonzero({ as_tuple = true }) end
  a = is_tensor(a) and a or tensor_operand('where', a, b)
  b = is_tensor(b) and b or tensor_operand('where', b, a)
  local out = opts and opts.out
  local r = ternary('where', C.TN_WHERE, cond, a, b, 1, out)
  return out or wrap(r)
end
function Tensor:where(cond, other) return torch.where(cond, self, other) end

core.function_forms({ 'lerp', 'addcmul', 'addcdiv', 'relu6', 'hardtanh' })

-- Fused backward kernels for autograd (gradient, saved tensor, parameters).
M.BACKWARD = {
  threshold = C.TN_THRESHOLD_BACKWARD, sigmoid = C.TN_SIGMOID_BACKWARD, tanh = C.TN_TANH_BACKWARD,
  gelu = C.TN_GELU_BACKWARD, silu = C.TN_SILU_BACKWARD, leaky_relu = C.TN_LEAKY_RELU_BACKWARD,
  elu = C.TN_ELU_BACKWARD, softplus = C.TN_SOFTPLUS_BACKWARD,
}
function M.backward(kind, grad, saved, p0, p1, into)
  if into then
    result(C.tn_binary(M.BACKWARD[kind], into._c, grad._c, saved._c, p0 or 0, p1 or 0, dtype.default))
    return into
  end
  return wrap(result(C.tn_binary(M.BACKWARD[kind], nil, grad._c, saved._c, p0 or 0, p1 or 0, dtype.default)))
end

return M
