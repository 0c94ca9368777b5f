-- The element-wise special functions against PyTorch (and, for the accuracy of the float64 kernels, against
-- mpmath): asinh acosh atanh lgamma digamma polygamma erfinv i0 special.i1 sinc, fmax fmin nextafter gcd lcm and
-- the shifts, and the composites logit float_power ldexp deg2rad rad2deg mvlgamma frexp: dtypes and promotion,
-- layouts (transposed, expanded, narrowed, empty, 0-d), special values, in-place and out= forms, errors and
-- gradients.
local torch = require 'tensor'
local ref = require 'helpers.torchref'
local cases_mod = require 'helpers.cases'
local message = require 'helpers.failure'

torch.manual_seed(4321)

local inf, nan = math.huge, 0 / 0

-- Inputs in [lo, hi] in several layouts: contiguous, transposed, expanded (stride 0), empty, 0-d, narrowed.
local function layouts(dtype, lo, hi)
  local function rand(...) return torch.rand(...):mul_(hi - lo):add_(lo):to(dtype) end
  return { rand(3, 4), rand(4, 3):t(), rand(1, 5):expand(3, 5), rand(0, 3), rand({}), rand(2, 3, 4):narrow(3, 2, 2) }
end

-- ---------------------------------------------------------------- unary ops

local unary_cases = cases_mod.new()
-- name, domain, float32 tolerance (PyTorch's float32 kernels are themselves a few ulp off; near digamma's and
-- lgamma's roots the error is absolute)
local UNARY = {
  { 'asinh', -20, 20 }, { 'acosh', 1, 30 }, { 'atanh', -0.99, 0.99 }, { 'lgamma', -6.5, 12 },
  { 'digamma', -6.5, 12 }, { 'erfinv', -0.999, 0.999 }, { 'i0', -40, 40 }, { 'sinc', -6, 6 },
}
for _, u in ipairs(UNARY) do
  local name, lo, hi = u[1], u[2], u[3]
  for _, dt in ipairs({ 'float32', 'float64' }) do
    for i, x in ipairs(layouts(dt, lo, hi)) do
      unary_cases:add(name .. ' ' .. dt .. ' layout ' .. i, function(a) return a.x[name](a.x) end,
                      'out = torch.' .. name .. '(x)', { x = x }, ref.tolerance(dt))
    end
  end
end
-- polygamma of orders 0 to 4, on both sides of zero (PyTorch's float32 trigamma sums in float: 1e-5 of the
-- largest term near the poles)
for n = 0, 4 do
  for _, dt in ipairs({ 'float32', 'float64' }) do
    local x = torch.cat({ torch.rand(20):mul(12):add(0.05), torch.rand(20):mul(-6):add(-0.05) }):to(dt)
    local tol = dt == 'float32' and { atol = 1e-5, rtol = 1e-4 } or { atol = 1e-12, rtol = 1e-8 }
    unary_cases:add('polygamma ' .. n .. ' ' .. dt, function(a) return a.x:polygamma(n) end,
                    'out = torch.polygamma(' .. n .. ', x)', { x = x }, tol)
    unary_cases:add('torch.polygamma ' .. n .. ' ' .. dt .. ' transposed',
                    function(a) return torch.polygamma(n, a.x:view(4, 10):t()) end,
                    'out = torch.polygamma(' .. n .. ', x.view(4, 10).t())', { x = x }, tol)
  end
end
unary_cases:add('polygamma of a large order', function(a) return a.x:polygamma(12) end,
                'out = torch.polygamma(12, x)', { x = torch.tensor({ 0.5, 1, 3.5, 20, -2.5 }, { dtype = 'float64' }) },
                { atol = 0, rtol = 1e-10 })
for _, dt in ipairs({ 'float32', 'float64' }) do
  local x = torch.rand(3, 4):mul(60):add(-30):to(dt)
  unary_cases:add('special.i1 ' .. dt, function(a) return torch.special.i1(a.x) end, 'out = torch.special.i1(x)',
                  { x = x }, ref.tolerance(dt))
  unary_cases:add('special.i1 ' .. dt .. ' transposed', function(a) return torch.special.i1(a.x:t()) end,
                  'out = torch.special.i1(x.t())', { x = x }, ref.tolerance(dt))
end
-- erfinv towards +-1, where PyTorch's float32 kernel loses digits: the float64 answer rounded is the reference
local near_one = torch.tensor({ 1 - 2 ^ -24, 1 - 2 ^ -20, 0.999, -0.9999, -(1 - 2 ^ -22) }, { dtype = 'float32' })
unary_cases:add('erfinv float32 near +-1', function(a) return a.x:erfinv() end,
                'out = torch.erfinv(x.double()).float()', { x = near_one }, { atol = 0, rtol = 2e-7 })
unary_cases:add('erfinv float64 near +-1', function(a) return a.x:erfinv() end, 'out = torch.erfinv(x)',
                { x = torch.tensor({ 1 - 2 ^ -24, 0.99999, -0.9999999 }, { dtype = 'float64' }) }, { atol = 0, rtol = 1e-9 })

-- special values: zeros of both signs, poles, infinities, NaN, tiny and huge
local special = torch.tensor({ 0, -0.0, -1, -2, -2.5, 1, 2, 0.5, 1e-30, -1e-30, inf, -inf, nan, 1e30, -1e30 })
for _, name in ipairs({ 'asinh', 'acosh', 'atanh', 'lgamma', 'digamma', 'erfinv', 'i0', 'sinc' }) do
  for _, dt in ipairs({ 'float32', 'float64' }) do
    unary_cases:add(name .. ' special values ' .. dt, function(a) return a.x[name](a.x) end,
                    'out = torch.' .. name .. '(x)', { x = special:to(dt) }, { atol = 1e-6, rtol = 1e-5 })
  end
end
unary_cases:add('special.i1 special values', function(a) return torch.special.i1(a.x) end,
                'out = torch.special.i1(x)', { x = special }, { atol = 1e-6, rtol = 1e-5 })
-- polygamma's special values; at the negative integers PyTorch's trigamma is rounding noise (pi^2 / sin(pi x)^2
-- with sin(pi x) ~ 1e-16) where this gives the pole's +inf, so they are left to the next test
local special_no_negative_integers = torch.tensor({ 0, -0.0, -2.5, 1, 0.5, 1e-30, -1e-30, inf, -inf, nan, 1e30 })
for n = 1, 3 do
  unary_cases:add('polygamma ' .. n .. ' special values', function(a) return a.x:polygamma(n) end,
                  'out = torch.polygamma(' .. n .. ', x)', { x = special_no_negative_integers:double() },
                  { atol = 1e-6, rtol = 1e-5 })
end
unary_cases:add('polygamma at the negative integers: the pole (+inf for odd n, as PyTorch for n >= 2)',
                function(a) return torch.stack({ a.x:polygamma(1), a.x:polygamma(2), a.x:polygamma(3) }) end,
                'out = torch.stack([torch.full_like(x, math.inf), torch.polygamma(2, x), torch.polygamma(3, x)])',
                { x = torch.tensor({ -1, -2, -7, -1e10 }, { dtype = 'float64' }) })

-- integer and bool inputs compute in the default float dtype
local ints = torch.tensor({ { 1, 2, 3 }, { 4, 7, 10 } })
for _, name in ipairs({ 'asinh', 'acosh', 'lgamma', 'digamma', 'i0', 'sinc' }) do
  unary_cases:add(name .. ' int64', function(a) return a.x[name](a.x) end, 'out = torch.' .. name .. '(x)',
                  { x = ints }, ref.tolerance('float32'))
end
unary_cases:add('atanh and erfinv int64', function(a) return a.x:atanh() + a.x:erfinv() end,
                'out = torch.atanh(x) + torch.erfinv(x)', { x = torch.tensor({ 0, 1, -1 }) })
unary_cases:add('digamma bool', function(a) return a.x:digamma() end, 'out = torch.digamma(x)',
                { x = torch.tensor({ true, false }) })
unary_cases:add('polygamma int32', function(a) return torch.polygamma(1, a.x) end, 'out = torch.polygamma(1, x)',
                { x = torch.tensor({ 1, 2, 5 }, { dtype = 'int32' }) })
unary_cases:add('special.i1 int64', function(a) return torch.special.i1(a.x) end, 'out = torch.special.i1(x)',
                { x = ints })
unary_cases:add('sinc uint8', function(a) return a.x:sinc() end, 'out = torch.sinc(x)',
                { x = torch.tensor({ 0, 1, 3 }, { dtype = 'uint8' }) })

-- 16-bit floats compute in float32 and round once
for _, dt in ipairs({ 'float16', 'bfloat16' }) do
  local h = torch.rand(8):mul(3):add(0.2):to(dt)
  for _, name in ipairs({ 'lgamma', 'digamma', 'i0', 'sinc', 'asinh' }) do
    unary_cases:add(name .. ' ' .. dt, function(a) return a.x[name](a.x) end,
                    'out = torch.' .. name .. '(x.float()).to(x.dtype)', { x = h }, ref.tolerance(dt))
  end
  unary_cases:add('erfinv ' .. dt, function(a) return a.x:erfinv() end, 'out = torch.erfinv(x.float()).to(x.dtype)',
                  { x = (h / 4) }, ref.tolerance(dt))
  unary_cases:add('polygamma 2 ' .. dt, function(a) return a.x:polygamma(2) end,
                  'out = torch.polygamma(2, x.float()).to(x.dtype)', { x = h }, ref.tolerance(dt))
end

-- in place and out=
local xf = torch.rand(3, 4):add(0.1)
unary_cases:add('digamma_ in place', function(a) local r = a.x:clone() assert(r:digamma_() == r) return r end,
                'out = torch.digamma(x)', { x = xf })
unary_cases:add('polygamma_ in place on a transposed view',
                function(a) local r = a.x:clone():t() assert(r:polygamma_(2) == r) return r end,
                'out = torch.polygamma(2, x.t())', { x = xf })
unary_cases:add('sinc_ and erfinv_ in place', function(a) return a.x:clone():sinc_():erfinv_() end,
                'out = torch.erfinv(torch.sinc(x))', { x = xf })
unary_cases:add('lgamma with out=', function(a)
  local out = torch.empty(0)
  assert(torch.lgamma(a.x, { out = out }) == out)
  return out
end, 'out = torch.lgamma(x)', { x = xf })
unary_cases:add('polygamma with out= (float64 out of a float32 input)', function(a)
  local out = torch.empty(7, { dtype = 'float64' })
  assert(torch.polygamma(3, a.x, { out = out }) == out)
  return out
end, 'out = torch.polygamma(3, x).double()', { x = xf }, ref.tolerance('float32'))
unary_cases:add('special.i1 with out=', function(a)
  local out = torch.empty(2)
  torch.special.i1(a.x, { out = out })
  return out
end, 'out = torch.special.i1(x)', { x = xf })
-- (beyond 2.8e307, 2 pi x overflowed: i0 and i1 gave NaN and i0e, i1e 0)
unary_cases:add('i0, i1, i0e, i1e of huge values', function(a)
  local x = a.x
  return { x:i0(), torch.special.i1(x), torch.special.i0e(x), torch.special.i1e(x) }
end, 'out = [x.i0(), torch.special.i1(x), torch.special.i0e(x), torch.special.i1e(x)]',
  { x = torch.tensor({ 1e308, -1e308, 3e307, 1e300, -800, 720 }, { dtype = 'float64' }) })
unary_cases:add('i0, i1, i0e, i1e of huge float32 values', function(a)
  local x = a.x
  return { x:i0(), torch.special.i1(x), torch.special.i0e(x), torch.special.i1e(x) }
end, 'out = [x.i0(), torch.special.i1(x), torch.special.i0e(x), torch.special.i1e(x)]',
  { x = torch.tensor({ 3e38, -3e38, 1e30, 100 }, { dtype = 'float32' }) })

-- aliases and torch.special names
unary_cases:add('arcsinh, arccosh, arctanh', function(a)
  return torch.stack({ a.x:arcsinh(), (a.x + 1):arccosh(), torch.arctanh(a.x / 2), a.x:clone():arcsinh_() })
end, 'out = torch.stack([torch.arcsinh(x), torch.arccosh(x + 1), torch.arctanh(x / 2), torch.arcsinh(x)])',
  { x = xf })
unary_cases:add('torch.special names', function(a)
  local x = a.x
  return { torch.special.i0(x), torch.special.digamma(x), torch.special.psi(x), torch.special.gammaln(x),
           torch.special.polygamma(2, x), torch.special.erfinv(x / 2), torch.special.sinc(x),
           torch.special.logit(x / 2), torch.special.multigammaln(x + 1, 2) }
end, [[out = [torch.special.i0(x), torch.special.digamma(x), torch.special.psi(x), torch.special.gammaln(x),
  torch.special.polygamma(2, x), torch.special.erfinv(x / 2), torch.special.sinc(x), torch.special.logit(x / 2),
  torch.special.multigammaln(x + 1, 2)]
]], { x = xf })

unary_cases:describe('special functions match PyTorch')

-- ---------------------------------------------------------------- float64 accuracy against mpmath

describe('the float64 kernels against mpmath (50 digits)', function()
  local x = torch.cat({ torch.rand(40):mul(30):add(1e-3), torch.rand(20):mul(-25):add(-0.01),
                        torch.tensor({ 1e-8, 3e-5, 29.99, 30.01, 150, 600, 1.4616321449683622 }) }):double()
  local y = torch.cat({ torch.rand(40):mul(2):add(-1), torch.tensor({ 1 - 1e-12, -1 + 1e-9, 1e-20, 0.7, 0.70001 }) })
                :double()
  -- near their zeros digamma and polygamma lose digits to cancellation (absolute error ~ ulp of the summed
  -- terms), so the bound is relative to the value plus an absolute 1e-15 (relative to the largest term)
  local r = ref.run([[
import mpmath
mpmath.mp.dps = 50
def f(fn, xs):
    return torch.tensor([float(fn(mpmath.mpf(v))) for v in xs.tolist()], dtype=torch.float64)
out = {
  'digamma': f(mpmath.digamma, x),
  'trigamma': f(lambda v: mpmath.polygamma(1, v), x),
  'polygamma3': f(lambda v: mpmath.polygamma(3, v), x),
  'i0': f(lambda v: mpmath.besseli(0, v), x.clamp(-700, 700)),
  'i1': f(lambda v: mpmath.besseli(1, v), x.clamp(-700, 700)),
  'erfinv': f(mpmath.erfinv, y),
}
]], { x = x, y = y })
  local function check(got, want, rtol, scale)
    local ok, msg = ref.compare(got, want, { atol = 1e-15 * (scale or 1), rtol = rtol })
    assert(ok, msg)
  end
  it('digamma', function() check(x:digamma(), r.digamma, 4e-16, 10) end)
  it('trigamma', function() check(x:polygamma(1), r.trigamma, 1e-15, 1e3) end)
  it('polygamma 3', function() check(x:polygamma(3), r.polygamma3, 1e-14, 1e6) end)
  it('i0', function() check(x:clamp(-700, 700):i0(), r.i0, 2e-15) end)
  it('i1', function() check(torch.special.i1(x:clamp(-700, 700)), r.i1, 2e-15) end)
  it('erfinv', function() check(y:erfinv(), r.erfinv, 4e-16) end)
end)

-- ---------------------------------------------------------------- binary ops

local binary_cases = cases_mod.new()
local with_nan_a = torch.tensor({ { 1, nan, nan, 0, -0.0, 3 }, { -inf, 2, inf, 5, -1, nan } })
local with_nan_b = torch.tensor({ { nan, 2, nan, -0.0, 0, 3 }, { 1, -inf, nan, 4, -2, 7 } })
for _, name in ipairs({ 'fmax', 'fmin' }) do
  local expr = 'out = torch.' .. name .. '(a, b)'
  binary_cases:add(name .. ' with NaN and signed zeros', function(t) return t.a[name](t.a, t.b) end, expr,
                   { a = with_nan_a, b = with_nan_b })
  binary_cases:add(name .. ' float64 broadcast', function(t) return torch[name](t.a, t.b) end, expr,
                   { a = torch.randn(2, 1, 4):double(), b = torch.randn(3, 1):double() })
  binary_cases:add(name .. ' transposed', function(t) return t.a:t()[name](t.a:t(), t.b) end,
                   'out = torch.' .. name .. '(a.t(), b)', { a = torch.randn(4, 3), b = torch.randn(3, 4) })
  binary_cases:add(name .. ' int64 and int32 promote', function(t) return t.a[name](t.a, t.b) end, expr,
                   { a = torch.tensor({ 1, 5, -3 }), b = torch.tensor({ 2, 2, -4 }, { dtype = 'int32' }) })
  binary_cases:add(name .. ' bool', function(t) return t.a[name](t.a, t.b) end, expr,
                   { a = torch.tensor({ true, false, true, false }), b = torch.tensor({ true, true, false, false }) })
  binary_cases:add(name .. ' int64 with float64', function(t) return t.a[name](t.a, t.b) end, expr,
                   { a = torch.tensor({ 1, 5 }), b = torch.tensor({ 2.5, nan }, { dtype = 'float64' }) })
  binary_cases:add(name .. ' with a number (a wrapped number)', function(t) return t.a[name](t.a, 2.5) end,
                   'out = torch.' .. name .. '(a, torch.tensor(2.5))', { a = torch.tensor({ 1, 5, 3 }) })
  binary_cases:add(name .. ' empty', function(t) return t.a[name](t.a, t.b) end, expr,
                   { a = torch.randn(0, 3), b = torch.randn(3) })
  binary_cases:add(name .. ' 0-d', function(t) return t.a[name](t.a, t.b) end, expr,
                   { a = torch.tensor(nan), b = torch.tensor(1.5) })
end

local na = torch.tensor({ 1, 0, -0.0, inf, -inf, 1, nan, 3, 1e-45, 3.4028234663852886e38 })
local nb = torch.tensor({ 2, -1, 1, 0, 0, 1, 1, nan, 0, inf })
binary_cases:add('nextafter float32', function(t) return t.a:nextafter(t.b) end, 'out = torch.nextafter(a, b)',
                 { a = na, b = nb })
binary_cases:add('nextafter float64', function(t) return torch.nextafter(t.a, t.b) end, 'out = torch.nextafter(a, b)',
                 { a = na:double(), b = nb:double() }, { atol = 0, rtol = 0 })
binary_cases:add('nextafter float32 with float64 promotes', function(t) return t.a:nextafter(t.b) end,
                 'out = torch.nextafter(a, b)', { a = na, b = nb:double() }, { atol = 0, rtol = 0 })
binary_cases:add('nextafter broadcast, in place', function(t) local r = t.a:clone() r:nextafter_(t.b) return r end,
                 'out = torch.nextafter(a, b)', { a = torch.randn(3, 4), b = torch.randn(4) }, { atol = 0, rtol = 0 })
binary_cases:add('nextafter 0-d and empty', function(t)
  return { t.a:nextafter(t.b), t.a:expand(0):nextafter(t.b) }
end, 'out = [torch.nextafter(a, b), torch.nextafter(a.expand(0), b)]',
  { a = torch.tensor(1, { dtype = 'float32' }), b = torch.tensor(0, { dtype = 'float32' }) })

local ga = torch.tensor({ 12, -18, 0, 0, 7, -48, 4611686018427387904, 1 })
local gb = torch.tensor({ 8, 12, 0, -5, 13, -36, 3, 0 })
for _, name in ipairs({ 'gcd', 'lcm' }) do
  local expr = 'out = torch.' .. name .. '(a, b)'
  binary_cases:add(name .. ' int64', function(t) return t.a[name](t.a, t.b) end, expr, { a = ga, b = gb })
  binary_cases:add(name .. ' int8 wraps as PyTorch', function(t) return t.a[name](t.a, t.b) end, expr,
                   { a = torch.tensor({ -128, 100, -6, 127, -128 }, { dtype = 'int8' }),
                     b = torch.tensor({ 0, 3, 4, 126, -128 }, { dtype = 'int8' }) })
  binary_cases:add(name .. ' int32 with uint8 promotes', function(t) return torch[name](t.a, t.b) end, expr,
                   { a = torch.tensor({ 4, 6, 250 }, { dtype = 'int32' }), b = torch.tensor({ 6, 9, 25 }, { dtype = 'uint8' }) })
  binary_cases:add(name .. ' broadcast and transposed', function(t) return t.a:t()[name](t.a:t(), t.b) end,
                   'out = torch.' .. name .. '(a.t(), b)',
                   { a = torch.randint(-30, 30, { 4, 3 }), b = torch.randint(-30, 30, { 4 }) })
  binary_cases:add(name .. '_ in place', function(t) local r = t.a:clone() r[name .. '_'](r, t.b) return r end, expr,
                   { a = ga, b = gb })
  binary_cases:add(name .. ' with out=', function(t)
    local out = torch.empty(0, { dtype = 'int64' })
    assert(torch[name](t.a, t.b, { out = out }) == out)
    return out
  end, expr, { a = ga, b = gb })
end

-- shifts by counts inside the dtype's width (and, for int8, by 8 to 31, where PyTorch 1.13's C++ shift on an
-- int also gives the rule's 0 or sign)
local sa = torch.tensor({ 1, -1, 5, -8, 123456789, -123456789, 4611686018427387904, 3 })
local sb = torch.tensor({ 0, 1, 62, 2, 13, 7, 1, 63 })
for _, name in ipairs({ 'bitwise_left_shift', 'bitwise_right_shift' }) do
  local op = name == 'bitwise_left_shift' and '<<' or '>>'
  local expr = 'out = a ' .. op .. ' b'
  binary_cases:add(name .. ' int64', function(t) return t.a[name](t.a, t.b) end, expr, { a = sa, b = sb })
  binary_cases:add(name .. ' int8 by 0..31', function(t) return t.a[name](t.a, t.b) end, expr,
                   { a = torch.tensor({ 1, -1, 5, -128, 127, -3, 100, -100 }, { dtype = 'int8' }),
                     b = torch.tensor({ 0, 7, 8, 3, 9, 20, 31, 1 }, { dtype = 'int8' }) })
  binary_cases:add(name .. ' uint8 and int16', function(t) return torch[name](t.a, t.b) end,
                   'out = torch.' .. name .. '(a, b)',
                   { a = torch.tensor({ 200, 255, 1 }, { dtype = 'uint8' }), b = torch.tensor({ 3, 8, 15 }, { dtype = 'int16' }) })
  binary_cases:add(name .. ' int8 tensor by a number stays int8', function(t) return t.a[name](t.a, 2) end,
                   'out = a ' .. op .. ' 2', { a = torch.tensor({ 3, -5, 64 }, { dtype = 'int8' }) })
  binary_cases:add(name .. ' number by a tensor', function(t) return torch[name](3, t.a) end,
                   'out = torch.' .. name .. '(3, a)', { a = torch.tensor({ 1, 2, 0 }, { dtype = 'int32' }) })
  binary_cases:add(name .. ' broadcast, transposed, in place', function(t)
    local r = t.a:clone():t()
    r[name .. '_'](r, t.b)
    return r
  end, 'out = a.t() ' .. op .. ' b', { a = torch.randint(-1000, 1000, { 4, 3 }), b = torch.randint(0, 10, { 4 }) })
end
-- counts outside [0, width): everything shifted out (PyTorch 1.13 left this undefined; the reference is the rule)
binary_cases:add('shifts by counts beyond the width or negative', function(t)
  return { t.a:bitwise_left_shift(t.b), t.a:bitwise_right_shift(t.b), t.c:bitwise_left_shift(t.d),
           t.c:bitwise_right_shift(t.d) }
end, [[
def rule(a, b, bits):
    out_of_range = (b < 0) | (b >= bits)
    left = torch.where(out_of_range, torch.zeros_like(a), a << b.clamp(0, bits - 1))
    right = torch.where(out_of_range, -(a < 0).to(a.dtype), a >> b.clamp(0, bits - 1))
    return [left, right]
out = rule(a, b, 64) + rule(c, d, 32)
]], { a = torch.tensor({ 1, -1, 5, -5 }), b = torch.tensor({ 64, 65, -1, 100 }),
      c = torch.tensor({ 1, -1, 7, -7 }, { dtype = 'int32' }), d = torch.tensor({ 32, 33, -3, 40 }, { dtype = 'int32' }) })

binary_cases:describe('binary special ops match PyTorch')

-- ---------------------------------------------------------------- composites

local comp = cases_mod.new()
local probs = torch.tensor({ 0, 0.05, 0.25, 0.5, 0.9, 1, 1.5, -0.1 })
comp:add('logit', function(t) return t.x:logit() end, 'out = torch.logit(x)', { x = probs })
comp:add('logit eps', function(t) return torch.logit(t.x, 0.1) end, 'out = torch.logit(x, 0.1)', { x = probs })
comp:add('logit {eps=} float64 transposed', function(t) return t.x:t():logit({ eps = 0.2 }) end,
         'out = torch.logit(x.t(), eps=0.2)', { x = torch.rand(3, 4):double() })
comp:add('logit of int64 and bool', function(t) return { t.x:logit(), t.y:logit() } end,
         'out = [torch.logit(x), torch.logit(y)]', { x = torch.tensor({ 0, 1 }), y = torch.tensor({ true, false }) })
comp:add('logit_ in place', function(t) local r = t.x:clone() assert(r:logit_(0.01) == r) return r end,
         'out = torch.logit(x, 0.01)', { x = probs })
comp:add('logit 0-d and empty', function(t) return { t.x:logit(), torch.empty(0, 2):logit() } end,
         'out = [torch.logit(x), torch.logit(torch.empty(0, 2))]', { x = torch.tensor(0.3) })

comp:add('float_power int ^ int', function(t) return t.x:float_power(3) end, 'out = torch.float_power(x, 3)',
         { x = torch.tensor({ 2, -3, 0 }) })
comp:add('float_power float32 ^ int64 tensor', function(t) return torch.float_power(t.x, t.y) end,
         'out = torch.float_power(x, y)', { x = torch.tensor({ 1.1, 2.5, 0.3 }), y = torch.tensor({ 3, -2, 5 }) })
comp:add('float_power number ^ tensor', function(t) return torch.float_power(2, t.y) end,
         'out = torch.float_power(2, y)', { y = torch.tensor({ 0.5, -1, 3 }) })
comp:add('float_power broadcast transposed', function(t) return t.x:t():float_power(t.y) end,
         'out = torch.float_power(x.t(), y)', { x = torch.rand(4, 3):add(0.1), y = torch.randn(4) })
comp:add('float_power_ on float64', function(t) local r = t.x:clone() assert(r:float_power_(0.5) == r) return r end,
         'out = torch.float_power(x, 0.5)', { x = torch.rand(5):double() })

comp:add('ldexp float32 by int64', function(t) return t.x:ldexp(t.e) end, 'out = torch.ldexp(x, e)',
         { x = torch.randn(5), e = torch.tensor({ 3, -2, 0, 10, -130 }) })
comp:add('ldexp int64 by int64', function(t) return torch.ldexp(t.e, t.e) end, 'out = torch.ldexp(e, e)',
         { e = torch.tensor({ 3, -2, 0 }) })
comp:add('ldexp float64 by int64, float32 by float64', function(t)
  return { t.x:double():ldexp(t.e), t.x:ldexp(t.e:double()) }
end, 'out = [torch.ldexp(x.double(), e), torch.ldexp(x, e.double())]',
  { x = torch.randn(3), e = torch.tensor({ 1, 2, -3 }) })
comp:add('ldexp broadcast, and by a number', function(t) return { t.x:ldexp(t.e), t.x:ldexp(4) } end,
         'out = [torch.ldexp(x, e), torch.ldexp(x, torch.tensor(4.0))]', { x = torch.randn(2, 3), e = torch.tensor({ 1, 2, 3 }) })
comp:add('ldexp_ in place', function(t) local r = t.x:clone() assert(r:ldexp_(t.e) == r) return r end,
         'out = torch.ldexp(x, e)', { x = torch.randn(3), e = torch.tensor({ 1, 2, 3 }) })

for _, name in ipairs({ 'deg2rad', 'rad2deg' }) do
  comp:add(name .. ' float32, float64, int64, bool', function(t)
    return { t.x[name](t.x), t.x:double()[name](t.x:double()), t.i[name](t.i), torch[name](t.b) }
  end, 'out = [torch.' .. name .. '(x), torch.' .. name .. '(x.double()), torch.' .. name .. '(i), torch.' .. name ..
       '(b)]', { x = torch.randn(3, 2):mul(100), i = torch.tensor({ 180, -90, 1 }), b = torch.tensor({ true }) })
  comp:add(name .. '_ in place on a transposed view', function(t)
    local r = t.x:clone():t()
    assert(r[name .. '_'](r) == r)
    return r
  end, 'out = torch.' .. name .. '(x.t())', { x = torch.randn(3, 2) })
end

for _, p in ipairs({ 1, 2, 3, 5 }) do
  comp:add('mvlgamma p=' .. p, function(t) return t.x:mvlgamma(p) end, 'out = torch.mvlgamma(x, ' .. p .. ')',
           { x = torch.rand(3, 4):mul(5):add(2.1) })
end
comp:add('mvlgamma of int64, float64 transposed, 0-d, empty', function(t)
  return { torch.mvlgamma(t.i, 2), t.x:t():mvlgamma({ p = 3 }), torch.tensor(3.5):mvlgamma(2), torch.empty(0, 2):mvlgamma(2) }
end, [[out = [torch.mvlgamma(i, 2), torch.mvlgamma(x.t(), 3), torch.mvlgamma(torch.tensor(3.5), 2),
  torch.mvlgamma(torch.empty(0, 2), 2)]
]], { i = torch.tensor({ 2, 3, 10 }), x = torch.rand(2, 3):double():add(3) })
comp:add('mvlgamma_ in place', function(t) local r = t.x:clone() assert(r:mvlgamma_(2) == r) return r end,
         'out = torch.mvlgamma(x, 2)', { x = torch.rand(4):add(1) })

local frexp_in = torch.tensor({ 0, -0.0, 1, 8, -3, inf, -inf, nan, 1e-45, 1.17e-38, 3.4e38, 0.75, 0.5, -0.49999997,
                                0.99999994, 1.0000001, 123.456 })
comp:add('frexp float32 (special values, subnormals, powers of two)', function(t) return { t.x:frexp() } end,
         'out = list(torch.frexp(x))', { x = frexp_in }, { atol = 0, rtol = 0 })
comp:add('frexp float64 (subnormals, the largest values)', function(t) return { torch.frexp(t.x) } end,
         'out = list(torch.frexp(x))',
         { x = torch.tensor({ 1e-320, 4.9e-324, 1.7e308, -1.7976931348623157e308, 2 ^ -1022, 0.1, -7 }, { dtype = 'float64' }) },
         { atol = 0, rtol = 0 })
comp:add('frexp float16, transposed', function(t) return { t.x:t():frexp() } end, 'out = list(torch.frexp(x.t()))',
         { x = torch.randn(3, 2):mul(100):half() }, { atol = 0, rtol = 0 })
comp:add('frexp random float32 round trip', function(t)
  local m, e = t.x:frexp()
  return { m, e }
end, 'out = list(torch.frexp(x))', { x = torch.randn(200):mul(torch.randn(200):mul(20):exp()) }, { atol = 0, rtol = 0 })

comp:describe('composite special ops match PyTorch')

-- ---------------------------------------------------------------- gradients

local grads = cases_mod.new()
-- d(sum(f(x) * g))/dx against PyTorch's backward, in float64
local function grad_case(name, lua_fn, python_expr, x, tol)
  local g = torch.randn(x:shape()):double()
  grads:add(name, function(t)
    local v = t.x:clone():requires_grad_()
    lua_fn(v):backward(t.g)
    return v.grad
  end, 'v = x.clone().requires_grad_()\n(' .. python_expr .. ').backward(g)\nout = v.grad', { x = x, g = g },
    tol or { atol = 1e-10, rtol = 1e-8 })
end
local pos = torch.rand(6):mul(4):add(0.2):double()
local neg = torch.rand(6):mul(-4):add(-0.1):double()
local unit = torch.rand(6):mul(1.8):add(-0.9):double()
grad_case('asinh', function(v) return v:asinh() end, 'torch.asinh(v)', torch.randn(6):double())
grad_case('acosh', function(v) return v:acosh() end, 'torch.acosh(v)', pos + 1)
grad_case('atanh', function(v) return v:atanh() end, 'torch.atanh(v)', unit)
grad_case('lgamma', function(v) return v:lgamma() end, 'torch.lgamma(v)', torch.cat({ pos, neg }))
grad_case('digamma', function(v) return v:digamma() end, 'torch.digamma(v)', torch.cat({ pos, neg }),
          { atol = 1e-8, rtol = 1e-7 })
for n = 0, 3 do
  grad_case('polygamma ' .. n, function(v) return torch.polygamma(n, v) end, 'torch.polygamma(' .. n .. ', v)', pos,
            { atol = 1e-8, rtol = 1e-7 })
end
grad_case('polygamma_ in place', function(v) local w = v * 1 w:polygamma_(1) return w end,
          'torch.polygamma(1, v * 1)', pos, { atol = 1e-8, rtol = 1e-7 })
grad_case('erfinv', function(v) return v:erfinv() end, 'torch.erfinv(v)', unit)
grad_case('i0', function(v) return v:i0() end, 'torch.i0(v)', torch.randn(6):mul(10):double())
grad_case('special.i1', function(v) return torch.special.i1(v) end, 'torch.special.i1(v)',
          torch.cat({ torch.randn(6):mul(10):double(), torch.zeros(1):double() }))
grad_case('sinc (0 included)', function(v) return v:sinc() end, 'torch.sinc(v)',
          torch.cat({ torch.randn(6):mul(3):double(), torch.zeros(1):double() }))
grad_case('digamma_ in place of a non-leaf', function(v) return (v + 0):digamma_() end, 'torch.digamma(v + 0)', pos,
          { atol = 1e-8, rtol = 1e-7 })
grad_case('logit with eps (the clamped ends get 0)', function(v) return v:logit(0.1) end, 'torch.logit(v, 0.1)',
          torch.tensor({ 0.05, 0.1, 0.3, 0.9, 0.95, 0.6 }, { dtype = 'float64' }))
grad_case('logit', function(v) return torch.logit(v) end, 'torch.logit(v)', torch.rand(6):double():mul(0.9):add(0.05))
grad_case('float_power', function(v) return v:float_power(2.5) end, 'torch.float_power(v, 2.5)', pos)
grad_case('ldexp', function(v) return v:ldexp(torch.tensor({ 1, -2, 3, 0, 5, -1 })) end,
          'torch.ldexp(v, torch.tensor([1, -2, 3, 0, 5, -1]))', torch.randn(6):double())
grad_case('deg2rad and rad2deg', function(v) return v:deg2rad() + v:rad2deg() end, 'torch.deg2rad(v) + torch.rad2deg(v)',
          torch.randn(6):double())
grad_case('mvlgamma', function(v) return v:mvlgamma(3) end, 'torch.mvlgamma(v, 3)', pos + 1.5)
grad_case('frexp mantissa', function(v) return (v:frexp()) end, 'torch.frexp(v)[0]',
          torch.tensor({ 0.3, -5, 1024, 0, 1e-310, 7 }, { dtype = 'float64' }))

-- fmax/fmin: the gradient follows the chosen operand (the first on ties and where the second is NaN)
local fa = torch.tensor({ 1, nan, 3, 2, nan, -1 }, { dtype = 'float64' })
local fb = torch.tensor({ 2, 1, nan, 2, nan, -3 }, { dtype = 'float64' })
for _, name in ipairs({ 'fmax', 'fmin' }) do
  grads:add(name .. ' gradients to both operands', function(t)
    local a, b = t.a:clone():requires_grad_(), t.b:clone():requires_grad_()
    torch[name](a, b):backward(t.g)
    return { a.grad, b.grad }
  end, [[
a = a.clone().requires_grad_(); b = b.clone().requires_grad_()
torch.]] .. name .. [[(a, b).backward(g)
out = [a.grad, b.grad]
]], { a = fa, b = fb, g = torch.randn(6):double() })
  grads:add(name .. ' gradient with a broadcast operand', function(t)
    local a, b = t.a:clone():requires_grad_(), t.b:clone():requires_grad_()
    a[name](a, b):sum():backward()
    return { a.grad, b.grad }
  end, [[
a = a.clone().requires_grad_(); b = b.clone().requires_grad_()
torch.]] .. name .. [[(a, b).sum().backward()
out = [a.grad, b.grad]
]], { a = torch.randn(3, 4):double(), b = torch.randn(4):double() })
end

-- second derivatives through the recorded backward formulas
grads:add('second derivative of lgamma is trigamma, of i0 through i1', function(t)
  local x = t.x:clone():requires_grad_()
  local g1 = torch.autograd.grad({ x:lgamma():sum() }, { x }, { create_graph = true })[1]
  local g2 = torch.autograd.grad({ g1:sum() }, { x })[1]
  local y = t.x:clone():requires_grad_()
  local h1 = torch.autograd.grad({ y:i0():sum() }, { y }, { create_graph = true })[1]
  local h2 = torch.autograd.grad({ h1:sum() }, { y })[1]
  return { g2, h2 }
end, [[
x1 = x.clone().requires_grad_()
g1, = torch.autograd.grad(torch.lgamma(x1).sum(), x1, create_graph=True)
g2, = torch.autograd.grad(g1.sum(), x1)
y1 = x.clone().requires_grad_()
h1, = torch.autograd.grad(torch.i0(y1).sum(), y1, create_graph=True)
h2, = torch.autograd.grad(h1.sum(), y1)
out = [g2, h2]
]], { x = pos }, { atol = 1e-8, rtol = 1e-7 })

grads:describe('gradients of the special ops match PyTorch')

describe('special ops: autograd', function()
  it('gradcheck in float64', function()
    local x = torch.tensor({ 0.4, 1.3, 2.7, 5.1 }, { dtype = 'float64', requires_grad = true })
    for _, f in ipairs({ function(v) return v:digamma() end, function(v) return v:polygamma(2) end,
                         function(v) return torch.special.i1(v) end, function(v) return v:sinc() end,
                         function(v) return (v / 6):erfinv() end, function(v) return v:lgamma() end }) do
      assert.is_true(torch.autograd.gradcheck(f, { x }))
    end
  end)
  it('non-differentiable ops leave the graph (no error, no gradient)', function()
    local x = torch.randn(4, { requires_grad = true })
    local y = torch.nextafter(x, torch.zeros(4))
    assert.is_false(y.requires_grad)
    local i = torch.tensor({ 4, 6 })
    assert.are.same({ 2, 3 }, torch.gcd(i, torch.tensor({ 2, 3 })):tolist())
    assert.are.same({ 8, 12 }, i:bitwise_left_shift(1):tolist())
    -- the op is still usable alongside differentiable ones
    local z = (x * 2):sum()
    z:backward()
    assert.are.same({ 2, 2, 2, 2 }, x.grad:tolist())
  end)
  it('refuses nextafter_ in place on a tensor in a graph (it has no derivative)', function()
    local x = torch.randn(3, { requires_grad = true }) * 1
    assert.matches('nextafter_', message(function() x:nextafter_(torch.zeros(3)) end))
  end)
end)

-- ---------------------------------------------------------------- errors

describe('special ops: errors', function()
  it('polygamma refuses a negative, fractional or misplaced order', function()
    assert.matches('polygamma: the order n must be a non%-negative integer, got %-1',
                   message(function() return torch.polygamma(-1, torch.ones(2)) end))
    assert.matches('polygamma: the order n must be a non%-negative integer, got 1.5',
                   message(function() return torch.ones(2):polygamma(1.5) end))
    assert.matches('polygamma_: the order n', message(function() return torch.ones(2):polygamma_(-2) end))
    assert.matches('polygamma: expected the order first',
                   message(function() return torch.polygamma(torch.ones(2), 1) end))
  end)
  it('refuses float results in place into integer tensors', function()
    assert.matches('digamma: .*float32.*int64', message(function() return torch.tensor({ 1, 2 }):digamma_() end))
    assert.matches('polygamma: .*int64', message(function() return torch.tensor({ 1, 2 }):polygamma_(1) end))
    assert.matches('logit_: .*int64', message(function() return torch.tensor({ 0, 1 }):logit_() end))
    assert.matches('deg2rad_: .*int64', message(function() return torch.tensor({ 90 }):deg2rad_() end))
    assert.matches('mvlgamma_: .*int64', message(function() return torch.tensor({ 3 }):mvlgamma_(2) end))
    assert.matches('ldexp_: .*int64', message(function() return torch.tensor({ 3 }):ldexp_(torch.tensor({ 1 })) end))
    assert.matches('float_power_: .*float32', message(function() return torch.ones(2):float_power_(2) end))
  end)
  it('refuses dtypes PyTorch refuses', function()
    assert.matches('gcd: not supported for float32', message(function() return torch.ones(2):gcd(torch.ones(2)) end))
    assert.matches('lcm: not supported for bool',
                   message(function() return torch.tensor({ true }):lcm(torch.tensor({ true })) end))
    assert.matches('gcd: not supported for float32', message(function() return torch.tensor({ 4 }):gcd(2.5) end))
    assert.matches('bitwise_left_shift: not supported for float32',
                   message(function() return torch.ones(2):bitwise_left_shift(1) end))
    assert.matches('bitwise_right_shift: not supported for bool',
                   message(function() return torch.tensor({ true }):bitwise_right_shift(torch.tensor({ true })) end))
    assert.matches('nextafter: not supported for int64',
                   message(function() return torch.tensor({ 1 }):nextafter(torch.tensor({ 2 })) end))
    assert.matches('nextafter: not supported for float16',
                   message(function() return torch.ones(2):half():nextafter(torch.zeros(2):half()) end))
    assert.matches('nextafter: not supported for bfloat16',
                   message(function() return torch.ones(2):bfloat16():nextafter(torch.zeros(2):bfloat16()) end))
    assert.matches('frexp: only floating%-point dtypes are supported, got int64',
                   message(function() return torch.tensor({ 1 }):frexp() end))
    assert.matches('mvlgamma: not supported for bool', message(function() return torch.tensor({ true }):mvlgamma(1) end))
  end)
  it('refuses bad parameters and operands, naming the function', function()
    assert.matches('mvlgamma: p must be an integer >= 1, got 0', message(function() return torch.ones(2):mvlgamma(0) end))
    assert.matches('mvlgamma: p must be an integer >= 1, got 1.5',
                   message(function() return torch.ones(2):mvlgamma(1.5) end))
    assert.matches('logit: eps must be a number, got string', message(function() return torch.ones(2):logit('x') end))
    assert.matches('ldexp: the exponent must be a tensor or a number, got string',
                   message(function() return torch.ones(2):ldexp('x') end))
    assert.matches('float_power: the exponent must be a tensor or a number',
                   message(function() return torch.ones(2):float_power({}) end))
    assert.matches('fmax: .*%[2%].*%[3%]', message(function() return torch.ones(2):fmax(torch.ones(3)) end))
    assert.matches('digamma: expected a tensor for the input, got number', message(function() return torch.digamma(2) end))
    assert.matches('special.i1: expected a tensor', message(function() return torch.special.i1('x') end))
    assert.matches('bitwise_left_shift: the value 300 cannot be converted to int8',
                   message(function() return torch.ones(2, { dtype = 'int8' }):bitwise_left_shift(300) end))
  end)
  it('has no fmax_ / fmin_ (PyTorch has none)', function()
    assert.is_nil(torch.ones(1).fmax_)
    assert.is_nil(torch.ones(1).fmin_)
  end)
end)
