-- tensor.composite_ops: element-wise ops written with other ops (so autograd differentiates them through those),
-- with PyTorch's results at the edges: logaddexp, logaddexp2, hypot, xlogy, copysign, heaviside. The operands
-- broadcast; either may be a number where PyTorch allows one.
local core = require 'tensor.core'
local args = require 'tensor.args'
local dtype = require 'tensor.dtype'

local torch, Tensor = core.torch, core.Tensor
local is_tensor, argerror = core.is_tensor, args.argerror
local LN2 = math.log(2)

-- The floating dtype the op computes in (integer and bool operands promote to the default float dtype), and
-- the operands as tensors of it.
local function floating_operands(fn, a, b)
  if not is_tensor(a) and not is_tensor(b) then
    argerror(fn, 'expected at least one tensor, got %s and %s', type(a), type(b))
  end
  for i, v in ipairs({ a, b }) do
    if not is_tensor(v) and type(v) ~= 'number' then argerror(fn, 'operand %d must be a tensor or a number, got %s', i, type(v)) end
  end
  local d
  for _, v in ipairs({ a, b }) do
    if is_tensor(v) and dtype.floating[tonumber(v._c.dtype)] then
      d = d and torch.promote_types(d, v:dtype()) or v:dtype()
    end
  end
  d = d or dtype.name[dtype.default]
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
  return torch.where(a:eq(b), a + LN2, m + (-(a - b):abs()):exp():log1p())
end

--- Tensor:logaddexp2(other) -> Tensor
--- torch.logaddexp2(a, b) -> Tensor
-- log2(2^a + 2^b) without overflow, as logaddexp in base 2.
function Tensor:logaddexp2(other)
  local a, b = floating_operands('logaddexp2', self, other)
  local m = torch.maximum(a, b)
  return torch.where(a:eq(b), a + 1, m + (-(a - b):abs()):exp2():log1p() / LN2)
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
  return torch.where(x:eq(0):logical_and(y:isnan():logical_not()), 0, x * y:log())
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
  torch[name] = function(a, b)
    if is_tensor(a) then return Tensor[name](a, b) end
    if name == 'heaviside' then core.c_of(a, name, 'the input') end
    -- a number first (xlogy(2, y), copysign(3, b)): as a 0-d tensor of the op's dtype
    local x, y = floating_operands(name, a, b)
    return Tensor[name](x, y)
  end
end

return {}
