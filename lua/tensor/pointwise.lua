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

-- The dtype a Lua number acts as (a "wrapped number"): int64 when integral, else the default float.
local function scalar_dtype(v)
  if v == floor(v) and v > -2^63 and v < 2^63 then return INT64 end
  return dtype.default
end

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
  signbit = C.TN_SIGNBIT,
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

for name, op in pairs(UNARY) do define_unary(name, op) end

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
-- Tensor bounds: max(min(x, hi), lo) with broadcasting.
function Tensor:clamp(lo, hi)
  if is_opts(lo) then lo, hi = lo.min, lo.max end
  if is_tensor(lo) or is_tensor(hi) then
    local r = self
    if lo ~= nil then r = r:maximum(lo) end
    if hi ~= nil then r = r:minimum(hi) end
    return r == self and self:clone() or r
  end
  return scalar_clamp(self, lo, hi)
end
function Tensor:clamp_(lo, hi)
  if is_opts(lo) then lo, hi = lo.min, lo.max end
  if is_tensor(lo) or is_tensor(hi) then
    if lo ~= nil then self:maximum_(lo) end
    if hi ~= nil then self:minimum_(hi) end
    return self
  end
  return scalar_clamp_(self, lo, hi)
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
    torch[name] = function(a, b, opts)
      local out = opts and opts.out
      if out then
        binary(name, op, a, b, out)
        return out
      end
      return wrap(binary(name, op, a, b))
    end
  end
end

for name, op in pairs(BINARY) do define_binary(name, op, name == 'add' or name == 'sub') end

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
    -- integers: the quotient of the exact float64 division, truncated, in the integer dtype
    local q = a:to('float64'):div(is_tensor(b) and b:to('float64') or b):trunc_()
    return q:to(a:dtype())
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
  local r = rounded_div('div', a, b, mode)
  local out = opts.out
  if out == nil then return r end
  return out:resize_as_(r):copy_(r)
end

-- Aliases (PyTorch and Torch7 spellings), made after div has its rounding modes
for _, pair in ipairs({ { 'multiply', 'mul' }, { 'divide', 'div' }, { 'subtract', 'sub' }, { 'greater', 'gt' },
                        { 'less', 'lt' }, { 'greater_equal', 'ge' }, { 'less_equal', 'le' }, { 'not_equal', 'ne' },
                        { 'cmul', 'mul' }, { 'cdiv', 'div' } }) do
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
local function tensor_operand(fn, v)
  if is_tensor(v) then return v end
  local s = number_of(fn, v)
  return wrap(result(C.tn_scalar_tensor(s, scalar_dtype(s), 0, 0)), 3)
end

local function ternary(fn, op, a, b, c, value, out)
  return result(C.tn_ternary(op, out and out._c, a._c, b._c, c._c, value or 1, dtype.default))
end

-- lerp(end, weight): self + weight * (end - self)
function Tensor:lerp(b, w) return wrap(ternary('lerp', C.TN_LERP, self, b, tensor_operand('lerp', w))) end
function Tensor:lerp_(b, w)
  ternary('lerp_', C.TN_LERP, self, b, tensor_operand('lerp_', w), 1, self)
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
  a = is_tensor(a) and a or tensor_operand('where', a)
  b = is_tensor(b) and b or tensor_operand('where', b)
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

torch.promote_types = function(a, b)
  return dtype.name[tonumber(C.tn_promote_types(dtype.parse(a, 'promote_types'), dtype.parse(b, 'promote_types')))]
end

return M
