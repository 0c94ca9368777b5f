-- tensor.statistics: PyTorch's statistics written with other ops (sort, gather, lerp, cumsum, where, mm), so that
-- autograd differentiates them through those: quantile, nanquantile, nanmedian, mode, diff, cov, corrcoef,
-- histogram, histogramdd, bincount, gradient, trapezoid (trapz), cumulative_trapezoid, renorm. Dims are 1-based
-- (negative from the end), and so are the indices returned and bincount's values; trailing optional arguments may
-- be positional or an options table.
local core = require 'tensor.core'
local args = require 'tensor.args'
local dtype = require 'tensor.dtype'
local reduce = require 'tensor.reduce'

local torch, Tensor = core.torch, core.Tensor
local is_tensor, is_opts, argerror = core.is_tensor, args.is_opts, args.argerror
local huge = math.huge

local function floating(x) return dtype.floating[tonumber(x._c.dtype)] end

-- A 1-based dim argument as a positive dim (a 0-d tensor has one dim, 1 or -1).
local function dim_of(fn, x, dim)
  if type(dim) ~= 'number' then argerror(fn, 'dim must be a number, got %s', type(dim)) end
  return args.dim(fn, dim, x:dim()) + 1
end

-- (dim, keepdim, opts) as reductions read them; out= is refused rather than ignored.
local function reduction_args(fn, dim, keepdim, opts)
  dim, keepdim, opts = reduce.read_args(fn, dim, keepdim, opts)
  if opts and opts.out ~= nil then argerror(fn, 'out= is not supported') end
  return dim, keepdim, opts
end

-- A tensor argument that may be missing: nil, or a tensor on x's device.
local function optional_tensor(fn, what, t, x)
  if t == nil then return nil end
  if not is_tensor(t) then argerror(fn, '%s must be a tensor, got %s', what, type(t)) end
  if t:device() ~= x:device() then
    argerror(fn, '%s is on %s, the input on %s', what, t:device(), x:device())
  end
  return t
end

local function shape_string(t) return '[' .. table.concat(t:shape(), ' x ') .. ']' end

-- The sum of every element as a 0-d tensor (a Lua number would lose the dtype PyTorch computes in).
local function total(t) return t:sum({ tensor = true }) end

-- ---- quantile and nanquantile ----

local INTERPOLATIONS = { linear = true, lower = true, higher = true, midpoint = true, nearest = true }

-- q as a 1-d tensor of x's dtype, and whether it was a scalar (a number or a 0-d tensor: no leading dim).
local function quantiles_of(fn, x, q)
  if type(q) == 'number' then
    if not (q >= 0 and q <= 1) then argerror(fn, 'q must be in the range [0, 1], got %s', tostring(q)) end
    return torch.full({ 1 }, q, { dtype = x:dtype(), device = x:device() }), true
  end
  if not is_tensor(q) then argerror(fn, 'q must be a number or a tensor, got %s', type(q)) end
  if q:dim() > 1 then argerror(fn, 'q must be a number, a 0-d or a 1-d tensor, got %d dimensions', q:dim()) end
  if q:dtype() ~= x:dtype() then argerror(fn, 'q must have the dtype of the input (%s), got %s', x:dtype(), q:dtype()) end
  optional_tensor(fn, 'q', q, x)
  if q:numel() > 0 and not q:detach():ge(0):logical_and(q:detach():le(1)):all() then
    argerror(fn, 'q values must be in the range [0, 1]')
  end
  return q:reshape(-1), q:dim() == 0
end

-- PyTorch's algorithm: sort, turn q into fractional ranks, gather the values at the ranks around them and
-- interpolate. A NaN makes the slice's quantiles NaN (its rank is the last); nanquantile ranks the non-NaN
-- values only (all NaN: rank 0, which holds a NaN).
local function quantile(fn, x, q, dim, keepdim, opts, ignore_nan)
  core.c_of(x, fn, 'the input')
  dim, keepdim, opts = reduction_args(fn, dim, keepdim, opts)
  local dt = x:dtype()
  if dt ~= 'float32' and dt ~= 'float64' then argerror(fn, 'expects a float32 or float64 input, got %s', dt) end
  local interpolation = opts and opts.interpolation or 'linear'
  if not INTERPOLATIONS[interpolation] then
    argerror(fn, "interpolation must be 'linear', 'lower', 'higher', 'midpoint' or 'nearest', got %s",
             tostring(interpolation))
  end
  if x:numel() == 0 then argerror(fn, 'the input is empty') end
  local qs, scalar_q = quantiles_of(fn, x, q)
  local nq = qs:numel()
  local src, d
  if dim == nil then
    src, d = x:reshape(-1), 1
  else
    d = dim_of(fn, x, dim)
    src = x:dim() == 0 and x:reshape(1) or x
  end
  local sorted = src:sort(d)
  local n = sorted:size(d)
  local q_shape = {}
  for k = 1, sorted:dim() do q_shape[k] = k == d and nq or 1 end
  local qv = qs:view(q_shape)
  local nan = sorted:detach():isnan()
  local ranks
  if ignore_nan then
    ranks = qv * (nan:logical_not():sum(d, true) - 1)
    ranks = ranks:masked_fill(ranks:detach():lt(0), 0)
  else
    ranks = torch.where(nan:any(d, true), n - 1, qv * (n - 1))
  end
  if interpolation == 'lower' then
    ranks = ranks:floor()
  elseif interpolation == 'higher' then
    ranks = ranks:ceil()
  elseif interpolation == 'nearest' then
    ranks = ranks:round() -- (half to even, as PyTorch)
  end
  local below = ranks:detach():long()
  local values = sorted:gather(d, below + 1)
  if interpolation == 'linear' or interpolation == 'midpoint' then
    local above = sorted:gather(d, ranks:detach():ceil():long() + 1)
    values = values:lerp(above, interpolation == 'midpoint' and 0.5 or ranks - below)
  end
  -- the quantiles lead, then the dims that remain
  if dim == nil then
    if keepdim then
      local shape = { nq }
      for k = 1, x:dim() do shape[k + 1] = 1 end
      values = values:reshape(shape)
    end
  else
    values = values:movedim(d, 1)
    if keepdim and x:dim() > 0 then values = values:unsqueeze(d + 1) end
  end
  if scalar_q then values = values:select(1, 1) end
  if dim == nil and not keepdim and type(q) == 'number' and not rawget(values, '_rg') then return values:item() end
  return values
end

--- Tensor:quantile(q, [dim [, keepdim]] [, opts]) -> number or Tensor
--- torch.quantile(x, q, [dim [, keepdim]] [, {dim=, keepdim=, interpolation='linear'}]) -> number or Tensor
-- The q-th quantiles of x (float32 or float64): of all elements, or along dim (removed unless keepdim). q is a
-- number or a tensor of x's dtype (0-d or 1-d) with values in [0, 1]; a 1-d q gives the result a leading dim,
-- one entry per quantile. Between two elements, interpolation picks 'linear' (default), 'lower', 'higher',
-- 'midpoint' or 'nearest' (ties to even). A slice holding NaN gives NaN. A number q over all elements gives a
-- Lua number (a 0-d tensor when x requires grad and grad mode is on), like median. Differentiable.
-- Example: torch.tensor({1, 2, 3, 4}):float():quantile(0.5)                          -- 2.5
-- Example: x:quantile(torch.tensor({0.25, 0.75}), 2, {interpolation = 'nearest'})    -- size 2 x x:size(1)
function Tensor:quantile(q, dim, keepdim, opts) return quantile('quantile', self, q, dim, keepdim, opts, false) end

--- Tensor:nanquantile(q, [dim [, keepdim]] [, opts]) -> number or Tensor
--- torch.nanquantile(x, q, [dim [, keepdim]] [, opts]) -> number or Tensor
-- quantile ignoring NaN: the quantiles of the other elements of each slice (NaN where all are NaN).
function Tensor:nanquantile(q, dim, keepdim, opts) return quantile('nanquantile', self, q, dim, keepdim, opts, true) end

-- ---- nanmedian and mode ----

local spread_evenly = require('tensor.sort_ops').spread_evenly

-- The lower median of the non-NaN elements along d (1-based position floor((count + 1) / 2) among them in
-- sorted order; the first NaN where all are NaN), its position, d kept.
local function nanmedian_along(x, d)
  local sorted, order = x:detach():sort(d)
  local count
  if floating(x) then
    count = sorted:isnan():logical_not():sum(d, true)
  else
    local shape = x:shape()
    shape[d] = 1
    count = torch.full(shape, x:size(d), { dtype = 'int64', device = x:device() })
  end
  local position = (count - 1):clamp(0):div(2, { rounding_mode = 'floor' }) + 1
  local indices = order:gather(d, position)
  return x:gather(d, indices), indices
end

--- Tensor:nanmedian([dim [, keepdim]] [, opts]) -> number, or values, indices
--- torch.nanmedian(x, [dim [, keepdim]] [, opts]) -> number, or values, indices
-- median ignoring NaN: the lower median of the elements that are not NaN, NaN where all are (then the index is
-- that of the first element). Over all elements a number (a 0-d tensor when x requires grad and grad mode is on;
-- NaN for an empty floating tensor), whose gradient is shared by the elements equal to it, as in PyTorch; along
-- dim the values and their 1-based positions, the values' gradient going to those positions. Not for bool.
-- Example: local v, i = torch.tensor({{1, 0/0, 3, 2}}):nanmedian(2)   -- v = {2}, i = {4}
function Tensor:nanmedian(dim, keepdim, opts)
  local fn = 'nanmedian'
  core.c_of(self, fn, 'the input')
  dim, keepdim, opts = reduction_args(fn, dim, keepdim, opts)
  if self:dtype() == 'bool' then argerror(fn, 'bool tensors are not supported') end
  if dim == nil then
    if keepdim then argerror(fn, 'keepdim needs a dim') end
    local flat = self:reshape(-1)
    if flat:numel() == 0 then
      if not floating(self) then argerror(fn, 'cannot take the median of an empty %s tensor', self:dtype()) end
      return 0 / 0
    end
    local value = nanmedian_along(flat, 1):squeeze(1)
    if rawget(value, '_rg') then return spread_evenly(self, value) end
    return value:item()
  end
  local d = dim_of(fn, self, dim)
  local x = self:dim() == 0 and self:reshape(1) or self
  if x:size(d) == 0 then argerror(fn, 'cannot take the median over dimension %d of size 0', d) end
  local values, indices = nanmedian_along(x, d)
  if self:dim() == 0 then return values:reshape({}), indices:reshape({}) end
  if not keepdim then values, indices = values:squeeze(d), indices:squeeze(d) end
  return values, indices
end

--- Tensor:mode([dim [, keepdim]] [, opts]) -> values, indices
--- torch.mode(x, [dim [, keepdim]] [, opts]) -> values, indices
-- The most frequent value along dim (default the last; the smallest of equally frequent ones) and the 1-based
-- position of its last occurrence (PyTorch's CPU answer for slices of up to 16 elements; beyond, PyTorch's
-- position depends on its unstable sort). dim is removed unless keepdim. NaNs count as distinct values. The
-- values' gradient goes to the positions. Any dtype.
-- Example: local v, i = torch.tensor({{1, 2, 2, 1, 3}}):mode(2)   -- v = {1}, i = {4}
function Tensor:mode(dim, keepdim, opts)
  local fn = 'mode'
  core.c_of(self, fn, 'the input')
  dim, keepdim, opts = reduction_args(fn, dim, keepdim, opts)
  local d = dim_of(fn, self, dim or -1)
  local x = self:dim() == 0 and self:reshape(1) or self
  local n = x:size(d)
  if n == 0 then argerror(fn, 'cannot take the mode over dimension %d of size 0', d) end
  -- In sorted order (stable: equal values keep their order), how many equal values end at each position
  -- (position - start of its run); the first position where that peaks ends the first of the longest runs.
  local sorted, order = x:detach():sort(d)
  local shape = {}
  for k = 1, x:dim() do shape[k] = k == d and n or 1 end
  local positions = torch.arange(1, n + 1, { device = x:device() }):view(shape)
  local first_shape = x:shape()
  first_shape[d] = 1
  local starts = torch.cat({ torch.ones(first_shape, { dtype = 'bool', device = x:device() }),
                             sorted:narrow(d, 2, n - 1):ne(sorted:narrow(d, 1, n - 1)) }, d)
  local run_start = torch.where(starts, positions, 0):cummax(d)
  local last = (positions - run_start):argmax(d, true)
  local indices = order:gather(d, last)
  local values = x:gather(d, indices)
  if self:dim() == 0 then return values:reshape({}), indices:reshape({}) end
  if not keepdim then values, indices = values:squeeze(d), indices:squeeze(d) end
  return values, indices
end

-- ---- diff ----

--- Tensor:diff([n [, dim [, prepend [, append]]]] [, opts]) -> Tensor
--- torch.diff(x, [n [, dim [, prepend [, append]]]] [, {n=1, dim=-1, prepend=, append=}]) -> Tensor
-- The n-th forward difference along dim (default the last): x[i + 1] - x[i], n times (logical xor for bool),
-- each round one element shorter; n = 0 gives a copy, n beyond the length an empty result. prepend and append
-- (tensors with x's number of dims and its sizes except along dim) are joined to x along dim first, with
-- PyTorch's type promotion. Differentiable.
-- Example: torch.tensor({1, 3, 6, 10}):diff()      -- {2, 3, 4}
-- Example: torch.tensor({1, 3, 6, 10}):diff(2)     -- {1, 1}
function Tensor:diff(n, dim, prepend, append, opts)
  local fn = 'diff'
  core.c_of(self, fn, 'the input')
  if is_opts(n) then opts, n = n, nil
  elseif is_opts(dim) then opts, dim = dim, nil
  elseif is_opts(prepend) then opts, prepend = prepend, nil
  elseif is_opts(append) then opts, append = append, nil
  elseif opts ~= nil and not is_opts(opts) then argerror(fn, 'expected an options table, got %s', type(opts)) end
  if opts then
    if n == nil then n = opts.n end
    if dim == nil then dim = opts.dim end
    if prepend == nil then prepend = opts.prepend end
    if append == nil then append = opts.append end
  end
  n = args.integer(fn, 'n', n == nil and 1 or n)
  if n < 0 then argerror(fn, 'n must be non-negative, got %d', n) end
  if self:dim() == 0 then argerror(fn, 'expects a tensor of at least one dimension, got a 0-d tensor') end
  local d = dim_of(fn, self, dim == nil and -1 or dim)
  local parts = {}
  for _, extra in ipairs({ { 'prepend', prepend }, { 'self' }, { 'append', append } }) do
    local name, t = extra[1], extra[2]
    if name == 'self' then
      parts[#parts + 1] = self
    elseif optional_tensor(fn, name, t, self) then
      if t:dim() ~= self:dim() then
        argerror(fn, '%s must have the number of dimensions of the input (%d), got %d', name, self:dim(), t:dim())
      end
      for k = 1, t:dim() do
        if k ~= d and t:size(k) ~= self:size(k) then
          argerror(fn, '%s must match the input %s except along dimension %d, got %s', name, shape_string(self), d,
                   shape_string(t))
        end
      end
      parts[#parts + 1] = t
    end
  end
  local x = #parts > 1 and torch.cat(parts, d) or self
  if n == 0 then return x:clone() end
  local is_bool = x:dtype() == 'bool'
  for _ = 1, math.min(n, x:size(d)) do
    local len = x:size(d) - 1
    local later, earlier = x:narrow(d, 2, len), x:narrow(d, 1, len)
    x = is_bool and later:logical_xor(earlier) or later - earlier
  end
  return x
end

-- ---- cov and corrcoef ----

-- The options of cov: positional (correction, fweights, aweights) or a table.
local function cov_args(fn, correction, fweights, aweights, opts)
  if is_opts(correction) then opts, correction = correction, nil
  elseif is_opts(fweights) then opts, fweights = fweights, nil
  elseif is_opts(aweights) then opts, aweights = aweights, nil end
  if opts then
    if correction == nil then correction = opts.correction end
    if fweights == nil then fweights = opts.fweights end
    if aweights == nil then aweights = opts.aweights end
  end
  return args.integer(fn, 'correction', correction == nil and 1 or correction), fweights, aweights
end

-- A weight vector of cov, checked against the observations: kind 'fweights' (integers) or 'aweights' (floats).
local function cov_weights(fn, kind, w, x, observations)
  optional_tensor(fn, kind, w, x)
  if w:dim() > 1 then argerror(fn, '%s must have one dimension or none, got %d', kind, w:dim()) end
  local dt = w:dtype()
  if kind == 'fweights' and (floating(w) or dt == 'bool') then
    argerror(fn, 'fweights must have an integer dtype, got %s', dt)
  elseif kind == 'aweights' and not floating(w) then
    argerror(fn, 'aweights must have a floating dtype, got %s', dt)
  end
  if w:numel() ~= observations then
    argerror(fn, '%s must have one element per observation (%d), got %d', kind, observations, w:numel())
  end
  if observations > 0 and w:detach():min() < 0 then argerror(fn, '%s cannot be negative', kind) end
  return w
end

--- Tensor:cov([correction [, fweights [, aweights]]] [, opts]) -> Tensor
--- torch.cov(x, [correction [, fweights [, aweights]]] [, {correction=1, fweights=, aweights=}]) -> Tensor
-- The covariance matrix of the variables in the rows of x (1-d: one variable; 0-d: one observation), the
-- observations in its columns: a matrix, or a 0-d tensor for one variable. correction (an integer, default 1:
-- Bessel's) is subtracted from the number of observations; fweights (integers) repeat observations, aweights
-- (floats) weight them, as NumPy. Degrees of freedom <= 0 give inf/NaN, as in PyTorch. Integer input gives
-- the default float dtype; bool is refused. Differentiable (in x and aweights).
-- Example: torch.tensor({{1, 2, 4}, {3, 1, 0}}):cov()   -- {{2.3333, -2.1667}, {-2.1667, 2.3333}}
function Tensor:cov(correction, fweights, aweights, opts)
  local fn = 'cov'
  core.c_of(self, fn, 'the input')
  correction, fweights, aweights = cov_args(fn, correction, fweights, aweights, opts)
  if self:dim() > 2 then argerror(fn, 'expects a tensor of at most 2 dimensions, got %d', self:dim()) end
  if self:dtype() == 'bool' then argerror(fn, 'bool tensors are not supported') end
  local x = self:dim() < 2 and self:reshape(1, -1) or self
  local observations = x:size(2)
  local w
  if fweights ~= nil then w = cov_weights(fn, 'fweights', fweights, self, observations) end
  if aweights ~= nil then
    cov_weights(fn, 'aweights', aweights, self, observations)
    w = w and w * aweights or aweights
  end
  local w_sum = w and total(w) or observations
  if w and w_sum:detach():item() == 0 then argerror(fn, 'the weights sum to zero, so they cannot be normalized') end
  local weighted = function(t) return w and t * w or t end
  local mean = weighted(x):sum(2) / w_sum
  local dof
  if w and aweights ~= nil and correction ~= 0 then
    dof = w_sum - total(w * aweights) * correction / w_sum
  else
    dof = w_sum - correction
  end
  local dof_value = is_tensor(dof) and dof:detach():item() or dof
  if dof_value <= 0 then dof = 0 end -- (PyTorch warns and divides by zero)
  local centred = x - mean:unsqueeze(2)
  return (centred:mm(weighted(centred):t()) / dof):squeeze()
end

--- Tensor:corrcoef() -> Tensor
--- torch.corrcoef(x) -> Tensor
-- The Pearson correlation coefficients of the variables in the rows of x (as cov), clipped to [-1, 1]; a
-- constant variable gives NaN. A 0-d result (one variable) is 1, or NaN when its variance is 0 or not finite.
-- Differentiable.
function Tensor:corrcoef()
  local fn = 'corrcoef'
  core.c_of(self, fn, 'the input')
  if self:dim() > 2 then argerror(fn, 'expects a tensor of at most 2 dimensions, got %d', self:dim()) end
  local c = self:cov()
  if c:dim() == 0 then return c / c end
  local stddev = c:diag():sqrt()
  c = c / stddev:view(-1, 1)
  c = c / stddev:view(1, -1)
  return c:clamp(-1, 1)
end

-- ---- histogram and histogramdd ----

-- The bin edges of one dimension (where: '' or 'dimension k: ', for errors): bins is a number of equal bins over
-- range ({min, max}, checked by the caller) or else from the smallest to the largest of values (0 to 1 when there
-- are none; an empty range widens by 0.5 each way), or a 1-d tensor of non-decreasing edges of x's dtype.
local function bin_edges(fn, where, values, bins, range, x)
  local dt = x:dtype()
  if is_tensor(bins) then
    optional_tensor(fn, where .. 'the bin edges', bins, x)
    if range ~= nil then argerror(fn, '%srange cannot be given with bin edges', where) end
    if bins:dim() ~= 1 then
      argerror(fn, '%sthe bin edges must be a 1-d tensor, got %d dimensions', where, bins:dim())
    end
    if bins:numel() < 2 then argerror(fn, '%sneeds at least 2 bin edges, got %d', where, bins:numel()) end
    if bins:dtype() ~= dt then
      argerror(fn, '%sthe bin edges must have the dtype of the input (%s), got %s', where, dt, bins:dtype())
    end
    local edges = bins:detach():clone()
    if not edges:diff():ge(0):all() then argerror(fn, '%sthe bin edges must be non-decreasing', where) end
    return edges
  end
  bins = args.integer(fn, where .. 'bins', bins)
  if bins < 1 then argerror(fn, '%sbins must be positive, got %d', where, bins) end
  local lo, hi = 0, 1
  if range ~= nil then
    lo, hi = range[1], range[2]
  elseif values:numel() > 0 then
    lo, hi = values:aminmax()
  end
  if not (lo > -huge and lo < huge and hi > -huge and hi < huge) then
    argerror(fn, '%sthe range [%s, %s] is not finite', where, tostring(lo), tostring(hi))
  end
  if lo > hi then argerror(fn, '%sthe range minimum %s exceeds its maximum %s', where, tostring(lo), tostring(hi)) end
  if lo == hi then lo, hi = lo - 0.5, hi + 0.5 end
  return torch.linspace(lo, hi, bins + 1, { dtype = dt, device = x:device() })
end

-- The bin (1-based) of each of values and whether it falls in one: [edge_i, edge_i+1), the last bin also holding
-- its right edge; NaN and values outside the edges fall in none.
local function bin_index(edges, values)
  local n_edges = edges:numel()
  local inside = values:ge(edges[1]):logical_and(values:le(edges[n_edges]))
  -- the number of edges <= v (the last edge belongs to the last bin)
  local bin = (torch.searchsorted(edges, values:contiguous(), { right = true }) - 1):clamp(1, n_edges - 1)
  return bin, inside
end

-- Counts (or the weights' sums) of the values inside the bins, over a flattened histogram of `size` bins.
local function accumulate(size, bin, inside, weight, x)
  local counts = weight and weight:detach():reshape(-1):masked_select(inside)
                 or torch.ones(inside:sum(), { dtype = x:dtype(), device = x:device() })
  return torch.zeros(size, { dtype = x:dtype(), device = x:device() }):index_add(1, bin:masked_select(inside), counts)
end

local function histogram_input(fn, x)
  core.c_of(x, fn, 'the input')
  local dt = x:dtype()
  if dt ~= 'float32' and dt ~= 'float64' then argerror(fn, 'expects a float32 or float64 input, got %s', dt) end
end

-- weight: nil, or a tensor of x's dtype and of the given shape (that of `whose`)
local function histogram_weight(fn, weight, x, shape, whose)
  weight = optional_tensor(fn, 'weight', weight, x)
  if weight then
    if weight:dtype() ~= x:dtype() then
      argerror(fn, 'weight must have the dtype of the input (%s), got %s', x:dtype(), weight:dtype())
    end
    if shape_string(weight) ~= shape then
      argerror(fn, 'weight must have the shape of %s %s, got %s', whose, shape, shape_string(weight))
    end
  end
  return weight
end

local function histogram_options(fn, bins, opts)
  if is_opts(bins) then opts, bins = bins, bins.bins end
  if opts ~= nil and not is_opts(opts) then argerror(fn, 'expected an options table, got %s', type(opts)) end
  opts = opts or {}
  args.check_option_keys(fn, opts, { 'bins', 'range', 'weight', 'density' })
  return bins, opts
end

local function is_number_pair(r)
  return type(r) == 'table' and not is_tensor(r) and type(r[1]) == 'number' and type(r[2]) == 'number'
end

--- Tensor:histogram([bins=100] [, opts]) -> hist, bin_edges
--- torch.histogram(x, [bins] [, {bins=, range={min, max}, weight=, density=false}]) -> hist, bin_edges
-- The histogram of all elements of x (float32 or float64). bins is a number of equal bins spanning range
-- (default: x's smallest to largest element; an empty range widens by 0.5 each way), or a 1-d tensor of
-- non-decreasing bin edges of x's dtype. Each bin holds [edge_i, edge_i+1), the last one also its right edge;
-- elements outside are not counted, nor NaN (PyTorch 1.13 puts NaN in some bin, a bug). weight (x's shape and
-- dtype) counts each element by its weight; density divides by the total and the bin widths, so that the
-- histogram integrates to 1. Returns the counts and the edges, of x's dtype. Not differentiable (as in PyTorch).
-- Example: local hist, edges = torch.tensor({1, 2, 1}):float():histogram(2)   -- {2, 1}, {1, 1.5, 2}
function Tensor:histogram(bins, opts)
  local fn = 'histogram'
  histogram_input(fn, self)
  bins, opts = histogram_options(fn, bins, opts)
  if opts.range ~= nil and not is_number_pair(opts.range) then
    argerror(fn, 'range must be a table of two numbers {min, max}')
  end
  local x = self:detach():reshape(-1)
  local edges = bin_edges(fn, '', x, bins == nil and 100 or bins, opts.range, self)
  local weight = histogram_weight(fn, opts.weight, self, shape_string(self), 'the input')
  local bin, inside = bin_index(edges, x)
  local hist = accumulate(edges:numel() - 1, bin, inside, weight, self)
  if opts.density then hist = hist / hist:sum() / edges:diff() end
  return hist, edges
end

--- torch.histogramdd(x, [bins] [, {bins=10, range=, weight=, density=false}]) -> hist, bin_edges
-- The D-dimensional histogram of the points in the rows of x (float32 or float64, at least 2 dims: the last one,
-- of size D, holds a point's coordinates; the others list the points). bins is a number of bins for every
-- dimension, a list of D numbers, or a list of D 1-d tensors of non-decreasing edges of x's dtype; range is a
-- flat list of 2D numbers {min1, max1, min2, max2, ...} for numbers of bins (default: each coordinate's smallest
-- to largest value). Binning along each dimension is torch.histogram's: a point is counted when every
-- coordinate falls in a bin, and never when one is NaN (PyTorch 1.13 counts such points in some bin). weight
-- (x's shape without its last dim, x's dtype) counts each point by its weight; density divides by the total and
-- the bins' volumes. Returns hist (D dims, one per coordinate, of the bins' sizes) and a list of the D edge
-- tensors, of x's dtype. Not differentiable (as in PyTorch).
-- Example: local h, edges = torch.histogramdd(torch.tensor({{0, 1}, {1, 0}, {2, 0}}):float(), {3, 2})
function torch.histogramdd(x, bins, opts)
  local fn = 'histogramdd'
  histogram_input(fn, x)
  bins, opts = histogram_options(fn, bins, opts)
  if x:dim() < 2 then
    argerror(fn, 'expects an input of at least 2 dimensions (the points in its last), got %d', x:dim())
  end
  local D = x:size(-1)
  if D < 1 then argerror(fn, 'the points have no coordinates (the last dimension has size 0)') end
  if bins == nil then bins = 10 end
  if type(bins) == 'table' and not is_tensor(bins) then
    if #bins ~= D then argerror(fn, 'bins must have one entry per dimension (%d), got %d', D, #bins) end
  elseif type(bins) ~= 'number' then
    argerror(fn, 'bins must be a number, a list of numbers or a list of 1-d tensors, got %s', type(bins))
  end
  local range = opts.range
  if range ~= nil then
    local ok = type(range) == 'table' and not is_tensor(range) and #range == 2 * D
    for i = 1, ok and 2 * D or 0 do ok = ok and type(range[i]) == 'number' end
    if not ok then argerror(fn, 'range must be a list of %d numbers {min1, max1, min2, max2, ...}', 2 * D) end
  end
  local leading = x:shape()
  leading[#leading] = nil
  local weight = histogram_weight(fn, opts.weight, x, '[' .. table.concat(leading, ' x ') .. ']', 'the points')
  local points = x:detach():reshape(-1, D)
  local edges, sizes, flat, inside = {}, {}, nil, nil
  for d = D, 1, -1 do -- (the last dimension varies fastest in the flattened histogram)
    local values = points:select(2, d)
    local where = D > 1 and ('dimension %d: '):format(d) or ''
    edges[d] = bin_edges(fn, where, values, type(bins) == 'number' and bins or bins[d],
                         range and { range[2 * d - 1], range[2 * d] }, x)
    sizes[d] = edges[d]:numel() - 1
    local bin, ok = bin_index(edges[d], values)
    if flat then
      local stride = 1
      for k = d + 1, D do stride = stride * sizes[k] end
      flat, inside = flat + (bin - 1) * stride, inside:logical_and(ok)
    else
      flat, inside = bin, ok
    end
  end
  local total = 1
  for d = 1, D do total = total * sizes[d] end
  local hist = accumulate(total, flat, inside, weight, x):view(sizes)
  if opts.density then
    hist = hist / hist:sum()
    for d = 1, D do
      local shape = {}
      for k = 1, D do shape[k] = k == d and sizes[d] or 1 end
      hist = hist / edges[d]:diff():view(shape)
    end
  end
  return hist, edges
end

-- ---- bincount ----

local INTEGER_DTYPES = { int8 = true, uint8 = true, int16 = true, int32 = true, int64 = true }

--- Tensor:bincount([weights [, minlength]] [, opts]) -> Tensor
--- torch.bincount(x, [weights [, minlength]] [, {weights=, minlength=0}]) -> Tensor
-- How often each value occurs in x, a 1-d tensor of integers. Like every index of this API the values are 1-based:
-- they must be >= 1 (0 or a negative value raises, naming it), and result[v] counts the elements equal to v, so
-- the result has max(largest value, minlength) elements; this is PyTorch's bincount(x - 1). With weights (a
-- 1-d tensor of x's length) result[v] sums the weights of the elements equal to v instead. The result is int64
-- without weights, float32 for float32 weights and float64 for any other weights; an empty x gives minlength
-- int64 zeros, weights or not (all as PyTorch). Not differentiable (PyTorch's backward raises).
-- Example: torch.tensor({1, 3, 3, 4}):bincount()                        -- {1, 0, 2, 1}
-- Example: torch.bincount(torch.tensor({2, 2}), {weights = torch.tensor({0.5, 1}), minlength = 3})   -- {0, 1.5, 0}
function Tensor:bincount(weights, minlength, opts)
  local fn = 'bincount'
  core.c_of(self, fn, 'the input')
  if is_opts(weights) then opts, weights = weights, nil
  elseif is_opts(minlength) then opts, minlength = minlength, nil
  elseif opts ~= nil and not is_opts(opts) then argerror(fn, 'expected an options table, got %s', type(opts)) end
  if opts then
    args.check_option_keys(fn, opts, { 'weights', 'minlength' })
    if weights == nil then weights = opts.weights end
    if minlength == nil then minlength = opts.minlength end
  end
  minlength = args.integer(fn, 'minlength', minlength == nil and 0 or minlength)
  if minlength < 0 then argerror(fn, 'minlength must be non-negative, got %d', minlength) end
  if not INTEGER_DTYPES[self:dtype()] then argerror(fn, 'expects a tensor of integers, got %s', self:dtype()) end
  if self:dim() ~= 1 then argerror(fn, 'expects a 1-d tensor, got %d dimensions', self:dim()) end
  local n = self:numel()
  local out_dtype = 'int64'
  if weights ~= nil then
    optional_tensor(fn, 'weights', weights, self)
    if weights:dim() ~= 1 or weights:numel() ~= n then
      argerror(fn, 'weights must be a 1-d tensor of the input\'s length %d, got %s', n, shape_string(weights))
    end
    out_dtype = weights:dtype() == 'float32' and 'float32' or 'float64'
  end
  if n == 0 then return torch.zeros(minlength, { dtype = 'int64', device = self:device() }) end
  local lo, hi = self:aminmax()
  if lo < 1 then argerror(fn, 'values must be integers >= 1 (1-based, like every index), got %d', lo) end
  local index = self:detach():long()
  local counts = weights and weights:detach():to(out_dtype)
                 or torch.ones(n, { dtype = 'int64', device = self:device() })
  return torch.zeros(math.max(hi, minlength), { dtype = out_dtype, device = self:device() }):index_add(1, index, counts)
end

-- ---- gradient ----

-- The dims of gradient: all of y's (nil), one (a number) or a list, as positive dims without repeats.
local function gradient_dims(fn, y, dim)
  local list = {}
  if dim == nil then
    for d = 1, y:dim() do list[d] = d end
    return list
  end
  if type(dim) == 'number' then dim = { dim } end
  if type(dim) ~= 'table' or is_tensor(dim) then
    argerror(fn, 'dim must be a number or a list of numbers, got %s', type(dim))
  end
  local seen = {}
  for i, d in ipairs(dim) do
    local p = dim_of(fn, y, d)
    if seen[p] then argerror(fn, 'dimension %d appears more than once in dim', p) end
    seen[p], list[i] = true, p
  end
  return list
end

-- y's values at positions start .. start + len - 1 along d (negative start: from the end, -1 the last)
local function along(y, d, start, len)
  if start < 0 then start = y:size(d) + start + 1 end
  return y:narrow(d, start, len)
end

-- The derivative along d for a constant spacing h (PyTorch's arithmetic, in its order).
local function gradient_uniform(y, d, h, edge_order)
  local n = y:size(d)
  local centre = (along(y, d, 3, n - 2) - along(y, d, 1, n - 2)) / h / 2
  local first, last
  if edge_order == 1 then
    first = (along(y, d, 2, 1) - along(y, d, 1, 1)) / h
    last = (along(y, d, -1, 1) - along(y, d, -2, 1)) / h
  else
    first = (along(y, d, 1, 1) * -1.5 + along(y, d, 2, 1) * 2 - along(y, d, 3, 1) * 0.5) / h
    last = (along(y, d, -3, 1) * 0.5 + along(y, d, -2, 1) * -2 + along(y, d, -1, 1) * 1.5) / h
  end
  return torch.cat({ first, centre, last }, d)
end

-- The derivative along d at sample coordinates x (1-d), by second-order differences on the uneven grid; y and x
-- are of the result's dtype.
local function gradient_coordinates(y, d, x, edge_order)
  local n = y:size(d)
  local dx = x:diff()
  local shape = {}
  for k = 1, y:dim() do shape[k] = k == d and n - 2 or 1 end
  local dx1, dx2 = dx:narrow(1, 1, n - 2), dx:narrow(1, 2, n - 2)
  local a = (-dx2 / (dx1 * (dx1 + dx2))):view(shape)
  local b = ((dx2 - dx1) / (dx1 * dx2)):view(shape)
  local c = (dx1 / (dx2 * (dx1 + dx2))):view(shape)
  local centre = a * along(y, d, 1, n - 2) + b * along(y, d, 2, n - 2) + c * along(y, d, 3, n - 2)
  local h1, hn = dx:narrow(1, 1, 1), dx:narrow(1, n - 1, 1) -- (shape {1}: broadcast against one slice)
  local first, last
  if edge_order == 1 then
    first = (along(y, d, 2, 1) - along(y, d, 1, 1)) / h1
    last = (along(y, d, -1, 1) - along(y, d, -2, 1)) / hn
  else
    local h2, hm = dx:narrow(1, 2, 1), dx:narrow(1, n - 2, 1)
    first = along(y, d, 1, 1) * (-(h1 * 2 + h2) / (h1 * (h1 + h2))) + along(y, d, 2, 1) * ((h1 + h2) / (h1 * h2))
            + along(y, d, 3, 1) * (-h1 / (h2 * (h1 + h2)))
    last = along(y, d, -3, 1) * (hn / (hm * (hn + hm))) + along(y, d, -2, 1) * (-(hn + hm) / (hn * hm))
           + along(y, d, -1, 1) * ((hn * 2 + hm) / (hn * (hn + hm)))
  end
  return torch.cat({ first, centre, last }, d)
end

local function float_dtype(dt)
  if dt == 'float16' or dt == 'bfloat16' or dt == 'float32' or dt == 'float64' then return dt end
  return dtype.name[dtype.default]
end

--- torch.gradient(y, [{spacing=1, dim=, edge_order=1}]) -> list of Tensors
-- Estimates the derivatives of y, sampled on a grid, along each dim of dim (a number or a list; default every
-- dim), returning one tensor of y's shape per dim, in dim's order: central differences inside (second order,
-- also on uneven grids), one-sided differences of order edge_order (1 or 2) at both ends. spacing is the
-- distance between samples: a number for every dim, a list of numbers (one per dim), or a list of 1-d tensors
-- (one per dim) of the samples' coordinates along it. Each dim needs at least edge_order + 1 samples. Integer y
-- gives the default float dtype; coordinates promote the result as PyTorch does (an integer grid counting as
-- the default float dtype); bool and uint8 are refused (as PyTorch). Differentiable in y and in the coordinates.
-- A 0-d y without dim gives an empty list. Unlike PyTorch 1.13, a list of spacings must match dim in length and
-- coordinates y's sizes (PyTorch reads past a shorter list, and broadcasts mismatched coordinates), and with
-- coordinates everything is computed in the result's dtype (PyTorch rounds some terms to float32 first when y
-- or the coordinates are float32 or integers).
-- Example: torch.gradient(torch.tensor({1, 4, 9, 16, 25}))[1]                      -- {3, 4, 6, 8, 9}
-- Example: torch.gradient(y, {spacing = {torch.tensor({0, 1, 3, 4, 7})}, edge_order = 2})
function torch.gradient(y, opts)
  local fn = 'gradient'
  core.c_of(y, fn, 'the input')
  if opts ~= nil and not is_opts(opts) then argerror(fn, 'expected an options table, got %s', type(opts)) end
  opts = opts or {}
  args.check_option_keys(fn, opts, { 'spacing', 'dim', 'edge_order' })
  if y:dtype() == 'bool' or y:dtype() == 'uint8' then argerror(fn, 'does not support %s input', y:dtype()) end
  local edge_order = opts.edge_order == nil and 1 or opts.edge_order
  if edge_order ~= 1 and edge_order ~= 2 then
    argerror(fn, 'edge_order must be 1 or 2, got %s', tostring(edge_order))
  end
  local dims = gradient_dims(fn, y, opts.dim)
  for _, d in ipairs(dims) do
    if y:size(d) < edge_order + 1 then
      argerror(fn, 'dimension %d has %d samples, fewer than edge_order + 1 = %d', d, y:size(d), edge_order + 1)
    end
  end
  local spacing = opts.spacing == nil and 1 or opts.spacing
  local per_dim = {}
  if type(spacing) == 'number' then
    for i = 1, #dims do per_dim[i] = spacing end
  elseif type(spacing) == 'table' and not is_tensor(spacing) then
    if #spacing ~= #dims then
      argerror(fn, 'spacing must have one entry per dimension differentiated (%d), got %d', #dims, #spacing)
    end
    for i, h in ipairs(spacing) do
      if is_tensor(h) then
        optional_tensor(fn, 'a coordinate tensor', h, y)
        if h:dim() ~= 1 or h:numel() ~= y:size(dims[i]) then
          argerror(fn, 'the coordinates along dimension %d must be a 1-d tensor of its %d samples, got %s', dims[i],
                   y:size(dims[i]), shape_string(h))
        end
        if h:dtype() == 'bool' then argerror(fn, 'the coordinates cannot be bool') end
      elseif type(h) ~= 'number' then
        argerror(fn, 'spacing must hold numbers or 1-d tensors, got %s', type(h))
      end
      if i > 1 and is_tensor(h) ~= is_tensor(per_dim[1]) then
        argerror(fn, 'spacing must hold only numbers or only tensors')
      end
      per_dim[i] = h
    end
  else
    argerror(fn, 'spacing must be a number, a list of numbers or a list of 1-d tensors, got %s',
             is_tensor(spacing) and 'a tensor' or type(spacing))
  end
  local out = {}
  for i, d in ipairs(dims) do
    local h = per_dim[i]
    if is_tensor(h) then
      local dt = torch.promote_types(float_dtype(y:dtype()), float_dtype(h:dtype()))
      out[i] = gradient_coordinates(y:to(dt), d, h:to(dt), edge_order)
    else
      out[i] = gradient_uniform(y, d, h, edge_order)
    end
  end
  return out
end

-- ---- trapezoid and cumulative_trapezoid ----

-- (y, x_or_dx, dim, opts) -> y, x (a tensor or nil), dx (a number or nil), the positive dim.
local function integration_args(fn, y, x, dim, opts)
  core.c_of(y, fn, 'y')
  if is_opts(x) then opts, x = x, nil
  elseif is_opts(dim) then opts, dim = dim, nil
  elseif opts ~= nil and not is_opts(opts) then argerror(fn, 'expected an options table, got %s', type(opts)) end
  local dx
  if opts then
    if x == nil then x = opts.x end
    if dim == nil then dim = opts.dim end
    dx = opts.dx
  end
  if type(x) == 'number' then
    if dx ~= nil then argerror(fn, 'give the spacing once, got %s and dx = %s', tostring(x), tostring(dx)) end
    x, dx = nil, x
  end
  if x ~= nil and dx ~= nil then argerror(fn, 'give sample points x or a spacing dx, not both') end
  if dx ~= nil then args.number(fn, 'dx', dx) end
  optional_tensor(fn, 'x', x, y)
  if y:dim() == 0 then argerror(fn, 'expects y of at least one dimension, got a 0-d tensor') end
  local d = dim_of(fn, y, dim == nil and -1 or dim)
  if y:dtype() == 'bool' or (x and x:dtype() == 'bool') then argerror(fn, 'bool tensors are not supported') end
  return x, dx, d
end

-- The spacings between the sample points x along d, shaped to broadcast against y's differences (as NumPy: a
-- 1-d x runs along d; a shorter x gains leading dims).
local function spacings(fn, x, y, d)
  local n = y:size(d)
  local shape
  if x:dim() == 1 then
    if x:size(1) ~= n then
      argerror(fn, 'x must have one value per sample point: %d along dimension %d, got %d', n, d, x:size(1))
    end
    shape = {}
    for k = 1, y:dim() do shape[k] = k == d and n or 1 end
  elseif x:dim() < y:dim() then
    shape = {}
    local pad = y:dim() - x:dim()
    for k = 1, y:dim() do shape[k] = k > pad and x:size(k - pad) or 1 end
  end
  local xv = shape and x:view(shape) or x
  local len = xv:size(d) - 1
  return xv:narrow(d, 2, len) - xv:narrow(d, 1, len)
end

-- The neighbours' sums y[i] + y[i + 1] along d.
local function pair_sums(y, d)
  local len = math.max(y:size(d) - 1, 0)
  return y:narrow(d, 1, len) + y:narrow(d, y:size(d) - len + 1, len)
end

--- torch.trapezoid(y, [x_or_dx [, dim]] [, {x=, dx=1, dim=-1}]) -> Tensor
-- The integral of y along dim (default the last) by the trapezoidal rule: over sample points x (a tensor: 1-d
-- along dim, or broadcasting against y) or a constant spacing dx (a number; default 1). dim is removed; an
-- empty dim gives zeros. Integer y gives the default float dtype (zeros of y's dtype when dim is empty). bool
-- is refused. Differentiable in y and x. Alias: trapz.
-- Example: torch.trapezoid(torch.tensor({1, 2, 4}))                           -- 4.5
-- Example: torch.trapezoid(y, torch.tensor({0, 1, 3}):float(), {dim = 1})
function torch.trapezoid(y, x, dim, opts)
  local fn = 'trapezoid'
  local dx, d
  x, dx, d = integration_args(fn, y, x, dim, opts)
  if y:size(d) == 0 then
    local shape = y:shape()
    table.remove(shape, d)
    return torch.zeros(shape, { dtype = y:dtype(), device = y:device() })
  end
  if x then return (pair_sums(y, d) * spacings(fn, x, y, d)):sum(d) / 2 end
  return (y:sum(d) - (y:select(d, 1) + y:select(d, y:size(d))) * 0.5) * (dx or 1)
end
core.alias(torch, 'trapz', 'trapezoid')

--- torch.cumulative_trapezoid(y, [x_or_dx [, dim]] [, {x=, dx=1, dim=-1}]) -> Tensor
-- The running integral of y along dim by the trapezoidal rule (arguments as trapezoid): one element fewer than
-- y along dim, element i integrating from the first sample to sample i + 1. Integer y gives the default float
-- dtype. Differentiable in y and x.
-- Example: torch.cumulative_trapezoid(torch.tensor({1, 2, 4}))   -- {1.5, 4.5}
function torch.cumulative_trapezoid(y, x, dim, opts)
  local fn = 'cumulative_trapezoid'
  local dx, d
  x, dx, d = integration_args(fn, y, x, dim, opts)
  local sums = pair_sums(y, d)
  if x then return (spacings(fn, x, y, d) / 2 * sums):cumsum(d) end
  -- (an integral dx / 2 would keep integers integral; PyTorch's is a float)
  if not floating(sums) then sums = sums:to(dtype.name[dtype.default]) end
  return (sums * ((dx or 1) / 2)):cumsum(d)
end

-- ---- renorm ----

local function renorm_args(fn, x, p, dim, maxnorm)
  core.c_of(x, fn, 'the input')
  args.number(fn, 'p', p)
  args.number(fn, 'maxnorm', maxnorm)
  if not (p > 0) then argerror(fn, 'p must be positive, got %s', tostring(p)) end
  if not (maxnorm >= 0) then argerror(fn, 'maxnorm must be non-negative, got %s', tostring(maxnorm)) end
  if not floating(x) then argerror(fn, 'expects a floating point tensor, got %s', x:dtype()) end
  if x:dim() < 2 then argerror(fn, 'expects a tensor of at least 2 dimensions, got %d', x:dim()) end
  return dim_of(fn, x, dim)
end

--- Tensor:renorm(p, dim, maxnorm) -> Tensor
--- Tensor:renorm_(p, dim, maxnorm) -> Tensor
--- torch.renorm(x, p, dim, maxnorm) -> Tensor
-- x with each slice along dim (x:select(dim, i)) whose p-norm (p > 0, math.huge for the largest magnitude)
-- exceeds maxnorm scaled down to norm maxnorm (by maxnorm / (norm + 1e-7), as PyTorch); other slices are kept.
-- Needs a floating tensor of at least 2 dims. renorm_ works in place. Differentiable.
-- Example: w:renorm(2, 1, 1)   -- every row of w with an L2 norm of at most 1
function Tensor:renorm(p, dim, maxnorm)
  local d = renorm_args('renorm', self, p, dim, maxnorm)
  local others = {}
  for k = 1, self:dim() do
    if k ~= d then others[#others + 1] = k end
  end
  local norm = self:norm(p, others, true)
  return self * torch.where(norm:gt(maxnorm), maxnorm / (norm + 1e-7), 1)
end

function Tensor:renorm_(p, dim, maxnorm)
  renorm_args('renorm_', self, p, dim, maxnorm)
  -- (recording, the scaling must read a copy: the graph keeps the input, which copy_ then changes)
  local source = rawget(self, '_rg') and self:clone() or self
  return self:copy_(source:renorm(p, dim, maxnorm))
end
core.composed_in_place.renorm_ = true

core.function_forms({ 'quantile', 'nanquantile', 'nanmedian', 'mode', 'diff', 'cov', 'corrcoef', 'histogram',
                      'renorm', 'bincount' })

-- (median over all elements spreads its gradient the same way)
return {}
