-- tensor.compare: comparisons beyond the operators' eq/lt/...: isclose (element-wise, within tolerances),
-- allclose and equal (one boolean), isposinf/isneginf/isreal, with PyTorch's rules.
local core = require 'tensor.core'
local args = require 'tensor.args'
local dtype = require 'tensor.dtype'
local shape_ops = require 'tensor.shape_ops'

local torch, Tensor = core.torch, core.Tensor
local is_opts, argerror = args.is_opts, args.argerror

-- The tolerances of opts: rtol, atol (finite and non-negative numbers) and equal_nan.
local function tolerances(fn, opts)
  if opts ~= nil and not is_opts(opts) then argerror(fn, 'expected an options table, got %s', type(opts)) end
  opts = opts or {}
  local rtol, atol = opts.rtol or 1e-5, opts.atol or 1e-8
  for name, v in pairs({ rtol = rtol, atol = atol }) do
    if type(v) ~= 'number' or v < 0 or v ~= v then
      argerror(fn, '%s must be a non-negative number, got %s', name, tostring(v))
    end
  end
  return rtol, atol, opts.equal_nan == true
end

local function close(fn, a, b, opts)
  core.c_of(a, fn, 'the input')
  core.c_of(b, fn, 'other')
  if a:dtype() ~= b:dtype() then
    argerror(fn, 'expected both tensors to have one dtype, got %s and %s', a:dtype(), b:dtype())
  end
  local rtol, atol, equal_nan = tolerances(fn, opts)
  shape_ops.broadcast_shape(fn, { a:shape(), b:shape() })
  local result = a:eq(b)
  local floating = dtype.floating[tonumber(a._c.dtype)]
  if a:dtype() == 'bool' or (not floating and rtol == 0 and atol == 0) then return result end
  if equal_nan and floating then result = result:logical_or(a:isnan():logical_and(b:isnan())) end
  -- |a - b| <= atol + rtol |b|, counted only where the difference is finite (inf against -inf is not close);
  -- integers are compared in the default float dtype, as PyTorch does
  local x, y = a, b
  if not floating then x, y = a:to(dtype.name[dtype.default]), b:to(dtype.name[dtype.default]) end
  local error = (x - y):abs()
  return result:logical_or(error:isfinite():logical_and(error:le((y * rtol):abs() + atol)))
end

--- Tensor:isclose(other, {rtol=1e-5, atol=1e-8, equal_nan=false}) -> Tensor
--- torch.isclose(a, b, {rtol=, atol=, equal_nan=}) -> Tensor
-- Element-wise |a - b| <= atol + rtol * |b| (a and b broadcast; one dtype), as a bool tensor: equal elements
-- (infinities included) are close, NaN is close to NaN only with equal_nan.
function Tensor:isclose(other, opts) return close('isclose', self, other, opts) end
function torch.isclose(a, b, opts) return close('isclose', a, b, opts) end

--- Tensor:allclose(other, {rtol=1e-5, atol=1e-8, equal_nan=false}) -> boolean
--- torch.allclose(a, b, {rtol=, atol=, equal_nan=}) -> boolean
-- Whether every element of a is close to b's (isclose).
function Tensor:allclose(other, opts) return close('allclose', self, other, opts):all() end
function torch.allclose(a, b, opts) return close('allclose', a, b, opts):all() end

--- Tensor:equal(other) -> boolean
--- torch.equal(a, b) -> boolean
-- Whether a and b have the same sizes and the same values (compared after type promotion, as ==).
function Tensor:equal(other)
  core.c_of(other, 'equal', 'other')
  if not self:is_same_size(other) then return false end
  return self:eq(other):all()
end
function torch.equal(a, b)
  core.c_of(a, 'equal', 'the input')
  return Tensor.equal(a, b)
end

--- Tensor:isposinf() -> Tensor
--- Tensor:isneginf() -> Tensor
--- Tensor:isreal() -> Tensor
-- Element-wise tests as bool tensors: equal to +inf, equal to -inf (false throughout for integer and bool
-- tensors), and isreal, true everywhere (no dtype here is complex; PyTorch's answer for real tensors).
function Tensor:isposinf() return self:eq(math.huge) end
function Tensor:isneginf() return self:eq(-math.huge) end
function Tensor:isreal() return torch.ones(self:shape(), { dtype = 'bool', device = self:device() }) end
core.function_forms({ 'isposinf', 'isneginf', 'isreal' })

return {}
