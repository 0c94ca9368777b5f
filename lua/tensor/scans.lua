-- tensor.scans: running reductions along a dim made of other ops (so autograd differentiates them), as parallel
-- prefix scans: log2(n) rounds, each combining every element with the one `offset` before it (Hillis and
-- Steele): logcumsumexp, cummax and cummin.
local core = require 'tensor.core'
local args = require 'tensor.args'
local dtype = require 'tensor.dtype'

local torch, Tensor = core.torch, core.Tensor
local argerror = args.argerror

-- The dim argument (1-based, negative from the end; a 0-d tensor has one) as a positive dim.
local function dim_of(fn, x, dim)
  if dim == nil then argerror(fn, 'expected a dim') end
  return args.dim(fn, dim, x:dim()) + 1
end

-- Runs the scan over `state` (a list of tensors of one shape): combine(later, earlier) returns the combined list
-- for the elements from offset + 1 on.
local function scan(state, d, combine)
  local n = state[1]:size(d)
  local offset = 1
  while offset < n do
    local later, earlier = {}, {}
    for k, t in ipairs(state) do later[k], earlier[k] = t:narrow(d, offset + 1, n - offset), t:narrow(d, 1, n - offset) end
    local combined = combine(later, earlier)
    for k, t in ipairs(state) do state[k] = torch.cat({ t:narrow(d, 1, offset), combined[k] }, d) end
    offset = offset * 2
  end
  return state
end

--- Tensor:logcumsumexp(dim) -> Tensor
--- torch.logcumsumexp(x, dim) -> Tensor
-- log(cumsum(exp(x))) along dim without overflow or underflow (every step a logaddexp). Integer inputs give the
-- default float dtype.
function Tensor:logcumsumexp(dim)
  local fn = 'logcumsumexp'
  core.c_of(self, fn, 'the input')
  local x = dtype.floating[tonumber(self._c.dtype)] and self or self:to(dtype.name[dtype.default])
  if x:dim() == 0 then return x:clone() end
  local d = dim_of(fn, x, dim)
  if x:size(d) == 0 then return x:clone() end
  return scan({ x }, d, function(later, earlier) return { later[1]:logaddexp(earlier[1]) } end)[1]
end

-- cummax / cummin: the running extreme and its 1-based position, the later one among equal values, NaN counting
-- as beyond every number (as PyTorch).
local function running_extreme(fn, self, dim, beyond)
  core.c_of(self, fn, 'the input')
  if self:dim() == 0 then return self:clone(), torch.ones({}, { dtype = 'int64', device = self:device() }) end
  local d = dim_of(fn, self, dim)
  local n = self:size(d)
  local shape = {}
  for k = 1, self:dim() do shape[k] = k == d and n or 1 end
  local positions = torch.arange(1, n + 1, { device = self:device() }):view(shape):expand(self:shape())
  if n == 0 then return self:clone(), positions:clone() end
  local floating = dtype.floating[tonumber(self._c.dtype)]
  local state = scan({ self:detach(), positions }, d, function(later, earlier)
    local take = beyond(later[1], earlier[1])
    if floating then take = take:logical_or(later[1]:isnan()) end
    return { torch.where(take, later[1], earlier[1]), torch.where(take, later[2], earlier[2]) }
  end)
  local indices = state[2]
  return self:gather(d, indices), indices
end

--- Tensor:cummax(dim) -> values, indices
--- torch.cummax(x, dim) -> values, indices
-- The running maximum along dim and the 1-based position where it was reached (the later of equal values;
-- NaN, once met, stays). Differentiable in the values.
function Tensor:cummax(dim) return running_extreme('cummax', self, dim, function(a, b) return a:ge(b) end) end

--- Tensor:cummin(dim) -> values, indices
--- torch.cummin(x, dim) -> values, indices
-- The running minimum along dim and its position, likewise.
function Tensor:cummin(dim) return running_extreme('cummin', self, dim, function(a, b) return a:le(b) end) end

core.function_forms({ 'logcumsumexp', 'cummax', 'cummin' })

return {}
