-- tensor.sort_ops: ordering: sort, argsort, msort, topk, kthvalue, median, unique, unique_consecutive, searchsorted,
-- bucketize, histc. Indices returned are 1-based int64. Sorting is stable and puts NaN above every number, as
-- PyTorch does; results of several tensors come back as multiple values (local v, i = x:sort()).
local ffi = require 'ffi'
local core = require 'tensor.core'
local args = require 'tensor.args'
local dtype = require 'tensor.dtype'

local C, wrap, check, Tensor, torch = core.C, core.wrap, core.check, core.Tensor, core.torch
local is_tensor, is_opts, argerror, dim_of = core.is_tensor, args.is_opts, args.argerror, args.dim

local BASE = 1
local M = {}
local floor = math.floor

-- Result slots for the C functions with several results: slots[i] is NULL (a new tensor) or an out= tensor.
local slots = ffi.new('tn_tensor*[3]')

-- Fills the slots from an out= list {values, indices, ...} (or clears them); returns the list.
local function set_slots(fn, out, n)
  for i = 0, n - 1 do slots[i] = nil end
  if out == nil then return nil end
  if type(out) ~= 'table' or is_tensor(out) then argerror(fn, 'out= must be a list of %d tensors', n) end
  for i = 1, n do
    if out[i] ~= nil then slots[i - 1] = core.c_of(out[i], fn, 'out[' .. i .. ']') end
  end
  return out
end

-- The results in the slots: the out= tensors given, or new tensors.
local function take(out, i)
  if out and out[i + 1] then return out[i + 1] end
  return wrap(slots[i])
end

local function boolean_arg(fn, what, v, default)
  if v == nil then return default end
  if type(v) ~= 'boolean' then argerror(fn, '%s must be a boolean, got %s', what, tostring(v)) end
  return v
end

-- ---- sort ----

-- Trailing options: the first of the optional arguments that is an options table ends the positional ones.
-- Returns the positional values (nil after the table) and the table; its fields fill positions left nil.
local function options(fn, names, a, b, c, d)
  local opts
  if is_opts(a) then opts, a, b, c = a, nil, nil, nil
  elseif is_opts(b) then opts, b, c = b, nil, nil
  elseif is_opts(c) then opts, c = c, nil
  elseif is_opts(d) then opts = d
  elseif d ~= nil then argerror(fn, 'too many arguments') end
  if opts then
    if a == nil then a = opts[names[1]] end
    if b == nil and names[2] then b = opts[names[2]] end
    if c == nil and names[3] then c = opts[names[3]] end
  end
  return a, b, c, opts
end

local SORT_NAMES = { 'dim', 'descending' }

local function sort_args(fn, x, dim, descending, opts)
  local d, desc, _, o = options(fn, SORT_NAMES, dim, descending, opts)
  return dim_of(fn, d or -1, x._c.ndim), boolean_arg(fn, 'descending', desc, false), o
end

--- Tensor:sort([dim [, descending]] [, opts]) -> values, indices
--- torch.sort(x, [dim [, descending]] [, {stable=, out={values, indices}}]) -> values, indices
-- x sorted along dim (default the last), ascending unless descending, and the 1-based positions the sorted
-- values came from. The sort is always stable (equal elements keep their order; stable= is accepted for
-- PyTorch's signature); NaN sorts above every number, and -0.0 equals 0.0.
-- Example: local v, i = torch.tensor({3, 1, 2}):sort()   -- v = {1, 2, 3}, i = {2, 3, 1}
function Tensor:sort(dim, descending, opts)
  local d, desc
  d, desc, opts = sort_args('sort', self, dim, descending, opts)
  local out = set_slots('sort', opts and opts.out, 2)
  check(C.tn_sort(slots, slots + 1, self._c, d, desc and 1 or 0, BASE))
  return take(out, 0), take(out, 1)
end

--- Tensor:argsort([dim [, descending]] [, opts]) -> Tensor
--- torch.argsort(x, [dim [, descending]] [, opts]) -> Tensor
-- The 1-based indices that sort x along dim (stable): x:sort(...)'s second result.
function Tensor:argsort(dim, descending, opts)
  local d, desc = sort_args('argsort', self, dim, descending, opts)
  slots[1] = nil
  check(C.tn_sort(nil, slots + 1, self._c, d, desc and 1 or 0, BASE))
  return wrap(slots[1])
end

--- Tensor:msort() -> Tensor
--- torch.msort(x) -> Tensor
-- x sorted along its first dimension (the values of x:sort(1)).
function Tensor:msort()
  local values = self:sort(1)
  return values
end

-- ---- topk and kthvalue ----

--- Tensor:topk(k, [dim [, largest [, sorted]]] [, opts]) -> values, indices
--- torch.topk(x, k, [dim [, largest [, sorted]]] [, {out={values, indices}}]) -> values, indices
-- The k largest elements along dim (default the last; the smallest with largest=false) and their 1-based
-- positions, best first (always sorted; NaN counts as the largest). Among equal elements, earlier ones win.
-- Example: local v, i = torch.tensor({1, 5, 3, 4}):topk(2)   -- v = {5, 4}, i = {2, 4}
local TOPK_NAMES = { 'dim', 'largest', 'sorted' }

function Tensor:topk(k, dim, largest, sorted, opts)
  if is_opts(k) then k, opts = k.k, k end
  dim, largest, sorted, opts = options('topk', TOPK_NAMES, dim, largest, sorted, opts)
  args.integer('topk', 'k', k)
  local c = self._c
  local d = dim_of('topk', dim or -1, c.ndim)
  largest = boolean_arg('topk', 'largest', largest, true)
  boolean_arg('topk', 'sorted', sorted, true)
  local out = set_slots('topk', opts and opts.out, 2)
  check(C.tn_topk(slots, slots + 1, c, k, d, largest and 1 or 0, BASE))
  return take(out, 0), take(out, 1)
end

--- Tensor:kthvalue(k, [dim [, keepdim]] [, opts]) -> values, indices
--- torch.kthvalue(x, k, [dim [, keepdim]] [, {out={values, indices}}]) -> values, indices
-- The k-th smallest element along dim (default the last; k from 1) and its 1-based position; dim is
-- removed from the results unless keepdim.
-- Example: local v, i = torch.tensor({7, 1, 5}):kthvalue(2)   -- v = 5, i = 3 (0-d tensors)
local KTH_NAMES = { 'dim', 'keepdim' }

function Tensor:kthvalue(k, dim, keepdim, opts)
  local _
  dim, keepdim, _, opts = options('kthvalue', KTH_NAMES, dim, keepdim, opts)
  args.integer('kthvalue', 'k', k)
  local c = self._c
  local d = dim_of('kthvalue', dim or -1, c.ndim)
  keepdim = boolean_arg('kthvalue', 'keepdim', keepdim, false)
  local out = set_slots('kthvalue', opts and opts.out, 2)
  check(C.tn_kthvalue(slots, slots + 1, c, k, d, keepdim and 1 or 0, BASE))
  return take(out, 0), take(out, 1)
end

-- ---- unique ----

local function unique_impl(fn, x, consecutive, return_inverse, return_counts, dim)
  local c = x._c
  local has_dim = dim ~= nil
  local d = has_dim and dim_of(fn, dim, c.ndim) or 0
  slots[0], slots[1], slots[2] = nil, nil, nil
  check(C.tn_unique(slots, return_inverse and slots + 1 or nil, return_counts and slots + 2 or nil, c, d,
                    has_dim and 1 or 0, consecutive and 1 or 0, BASE))
  local values = wrap(slots[0])
  local inverse = return_inverse and wrap(slots[1]) or nil
  local counts = return_counts and wrap(slots[2]) or nil
  if return_inverse and return_counts then return values, inverse, counts end
  if return_inverse then return values, inverse end
  if return_counts then return values, counts end
  return values
end

--- Tensor:unique([sorted [, return_inverse [, return_counts [, dim]]]] [, opts]) -> values [, inverse] [, counts]
--- torch.unique(x, ...) -> values [, inverse] [, counts]
-- The distinct elements of x in ascending order (or, with dim, the distinct slices along dim, ordered
-- lexicographically). With return_inverse, also the 1-based position in values of each element (slice) of
-- x, with x's shape ([x:size(dim)] with dim); with return_counts, how often each value occurs. The results
-- come back in that order, as in PyTorch. NaNs are all distinct. Options may be given as a table
-- {sorted=, return_inverse=, return_counts=, dim=}; the result is sorted either way.
-- Example: local v, inv, n = torch.tensor({3, 1, 3}):unique(true, true, true)   -- {1, 3}, {2, 1, 2}, {1, 2}
function Tensor:unique(sorted, return_inverse, return_counts, dim)
  if is_opts(sorted) then
    local o = sorted
    sorted, return_inverse, return_counts, dim = o.sorted, o.return_inverse, o.return_counts, o.dim
  end
  boolean_arg('unique', 'sorted', sorted, true)
  return unique_impl('unique', self, false, boolean_arg('unique', 'return_inverse', return_inverse, false),
                     boolean_arg('unique', 'return_counts', return_counts, false), dim)
end

--- Tensor:unique_consecutive([return_inverse [, return_counts [, dim]]] [, opts]) -> values [, inverse] [, counts]
--- torch.unique_consecutive(x, ...) -> values [, inverse] [, counts]
-- Like unique, but only runs of equal neighbours merge and the order is kept.
-- Example: torch.tensor({1, 1, 2, 1}):unique_consecutive()   -- {1, 2, 1}
function Tensor:unique_consecutive(return_inverse, return_counts, dim)
  if is_opts(return_inverse) then
    local o = return_inverse
    return_inverse, return_counts, dim = o.return_inverse, o.return_counts, o.dim
  end
  return unique_impl('unique_consecutive', self, true,
                     boolean_arg('unique_consecutive', 'return_inverse', return_inverse, false),
                     boolean_arg('unique_consecutive', 'return_counts', return_counts, false), dim)
end

-- ---- searchsorted and bucketize ----

local function values_arg(fn, v, like)
  if is_tensor(v) then return v end
  if type(v) == 'number' then return torch.tensor(v, { dtype = like:dtype() }) end
  argerror(fn, 'expected a tensor or a number for the values, got %s', type(v))
end

local function search(fn, sorted, values, right, out_int32, out)
  local ptr = C.tn_searchsorted(out and out._c, sorted._c, values._c, right and 1 or 0, out_int32 and 1 or 0, BASE)
  if ptr == nil then core.c_error() end
  return out or wrap(ptr)
end

--- torch.searchsorted(sorted_sequence, values, {right=false, side=, out_int32=false, out=}) -> Tensor
-- For each value, the 1-based position at which inserting it into sorted_sequence (along its last dim)
-- keeps the order: before equal elements, or after them with right=true (or side='right'). sorted_sequence
-- is 1-d, or has values' leading dims. values may be a number. The result is int64 (int32 with out_int32).
-- Example: torch.searchsorted(torch.tensor({1, 3, 5}), torch.tensor({0, 3, 6}))   -- {1, 2, 4}
function torch.searchsorted(sorted, values, opts)
  core.c_of(sorted, 'searchsorted', 'the sorted sequence')
  opts = opts or {}
  local right = opts.right
  if opts.side ~= nil then
    if opts.side ~= 'left' and opts.side ~= 'right' then
      argerror('searchsorted', "side must be 'left' or 'right', got %s", tostring(opts.side))
    end
    if right and opts.side == 'left' then argerror('searchsorted', "right=true contradicts side='left'") end
    right = opts.side == 'right'
  end
  return search('searchsorted', sorted, values_arg('searchsorted', values, sorted), right, opts.out_int32, opts.out)
end

--- torch.isin(elements, test_elements, {invert=false, assume_unique=false}) -> Tensor
--- Tensor:isin(test_elements, {invert=false}) -> Tensor
-- A bool tensor of elements' shape: whether each element equals one of test_elements (its negation with invert).
-- Either may be a number; they compare after type promotion, and NaN equals nothing, as PyTorch. One sort of
-- test_elements and a binary search per element.
function torch.isin(elements, test, opts)
  local fn = 'isin'
  if not is_tensor(elements) and not is_tensor(test) then
    argerror(fn, 'expected at least one tensor, got %s and %s', type(elements), type(test))
  end
  for i, v in ipairs({ elements, test }) do
    if not is_tensor(v) and type(v) ~= 'number' then
      argerror(fn, '%s must be a tensor or a number, got %s', i == 1 and 'elements' or 'test_elements', type(v))
    end
  end
  if opts ~= nil and not is_opts(opts) then argerror(fn, 'expected an options table, got %s', type(opts)) end
  local like = is_tensor(elements) and elements or test
  local d = torch.result_type(elements, test)
  local function as_tensor(v)
    if is_tensor(v) then return v:to(d) end
    return torch.full({}, v, { dtype = d, device = like:device() })
  end
  local e, t = as_tensor(elements), as_tensor(test):reshape(-1)
  -- NaN equals nothing, and a NaN in the sorted sequence would mislead the binary search
  if t:is_floating_point() then t = t:masked_select(t:eq(t)) end
  local found
  if t:numel() == 0 then
    found = torch.zeros(e:shape(), { dtype = 'bool', device = e:device() })
  else
    local sorted = t:sort()
    -- the position of the first element not below each value, clamped into range, holds it if anything does
    local at = torch.searchsorted(sorted, e:reshape(-1)):clamp(1, sorted:numel())
    found = sorted:index_select(1, at):eq(e:reshape(-1)):view(e:shape())
  end
  if opts and opts.invert then return found:logical_not() end
  return found
end
function Tensor:isin(test, opts) return torch.isin(self, test, opts) end

--- Tensor:bucketize(boundaries, {right=false, out_int32=false, out=}) -> Tensor
--- torch.bucketize(x, boundaries, {right=false, out_int32=false, out=}) -> Tensor
-- The 1-based bucket of each element of x among the sorted 1-d boundaries: i such that
-- boundaries[i-1] < v <= boundaries[i] (boundaries[i-1] <= v < boundaries[i] with right=true).
function Tensor:bucketize(boundaries, opts)
  core.c_of(boundaries, 'bucketize', 'the boundaries')
  if boundaries:dim() ~= 1 then
    argerror('bucketize', 'boundaries must be a 1-d tensor, got %d dimensions', boundaries:dim())
  end
  opts = opts or {}
  return search('bucketize', boundaries, self, opts.right, opts.out_int32, opts.out)
end

function torch.bucketize(x, boundaries, opts)
  if type(x) == 'number' then x = torch.tensor(x, { dtype = boundaries:dtype() }) end
  core.c_of(x, 'bucketize', 'the input')
  return x:bucketize(boundaries, opts)
end

-- ---- histc ----

--- Tensor:histc([bins=100 [, min=0 [, max=0]]] [, opts]) -> Tensor
--- torch.histc(x, [bins [, min [, max]]] [, opts]) -> Tensor
-- The histogram of x's elements in bins equal bins from min to max (both 0: x's smallest and largest element),
-- as a 1-d tensor of x's floating dtype; elements outside [min, max] (and NaN) are not counted, max itself goes to
-- the last bin. Arguments may also be given as a table {bins=, min=, max=}.
-- Example: torch.tensor({1, 2, 1}):float():histc(4, 0, 3)   -- {0, 2, 1, 0}
function Tensor:histc(bins, lo, hi)
  local fn = 'histc'
  if is_opts(bins) then bins, lo, hi = bins.bins, bins.min, bins.max end
  bins, lo, hi = bins or 100, lo or 0, hi or 0
  args.integer(fn, 'bins', bins)
  if bins < 1 then argerror(fn, 'bins must be positive, got %d', bins) end
  args.number(fn, 'min', lo)
  args.number(fn, 'max', hi)
  if not dtype.floating[tonumber(self._c.dtype)] then argerror(fn, 'expects a floating point tensor, got %s', self:dtype()) end
  local x = self:detach():reshape(-1):double()
  if lo == hi and x:numel() > 0 then
    local finite = x:masked_select(x:isfinite())
    if finite:numel() > 0 then lo, hi = finite:min(), finite:max() end
  end
  if lo == hi then lo, hi = lo - 1, hi + 1 end -- (PyTorch's widening of an empty range)
  if not (lo < hi) or lo ~= lo or hi ~= hi or lo == -math.huge or hi == math.huge then
    argerror(fn, 'min and max must be finite with min <= max, got %s and %s', tostring(lo), tostring(hi))
  end
  local inside = x:masked_select(x:ge(lo):logical_and(x:le(hi)))
  local counts = torch.zeros(bins, { dtype = 'float64' })
  if inside:numel() > 0 then
    local bin = inside:sub(lo):mul_(bins / (hi - lo)):floor_():clamp_(0, bins - 1):long():add_(1)
    counts:index_add_(1, bin, torch.ones(bin:numel(), { dtype = 'float64' }))
  end
  return counts:to(self:dtype()):to(self:device())
end
core.function_forms({ 'histc' })

-- ---- median ----

-- The gradient of a median over all elements, which PyTorch spreads evenly over the elements equal to it (over
-- the NaNs when it is NaN): the value stays `value` exactly, the gradient flows through the where. (nanmedian's
-- too.)
function M.spread_evenly(x, value)
  local xd, vd = x:detach(), value:detach()
  local mask = vd:isnan():item() and xd:isnan() or xd:eq(vd)
  return vd + torch.where(mask, x - xd, 0):sum() / mask:sum({ tensor = true })
end

--- Tensor:median([dim [, keepdim]] [, opts]) -> number, or values, indices
--- torch.median(x, [dim [, keepdim]] [, opts]) -> number, or values, indices
-- The lower median, the k-th smallest of n elements with k = floor((n + 1) / 2): over all elements a number (a
-- 0-d tensor when x requires grad and grad mode is on; NaN for an empty floating tensor), or along dim the values
-- and their 1-based positions, dim removed unless keepdim. NaN propagates: a slice holding NaN gives NaN, at the position of its first NaN.
-- Differentiable: along dim the gradient goes to the median's position; over all elements it is shared by the
-- elements equal to the median, as in PyTorch.
-- Example: local v, i = torch.tensor({{3, 1, 2}, {9, 7, 8}}):median(2)   -- v = {2, 8}, i = {3, 3}
function Tensor:median(dim, keepdim, opts)
  local fn = 'median'
  if is_opts(dim) then
    dim, keepdim, opts = dim.dim, dim.keepdim, dim
  elseif is_opts(keepdim) then
    keepdim, opts = keepdim.keepdim, keepdim
  end
  if opts and opts.out ~= nil then argerror(fn, 'out= is not supported') end
  local floating = dtype.floating[tonumber(self._c.dtype)]
  if dim == nil then
    local flat = self:reshape(-1)
    local n = flat:numel()
    if n == 0 then
      if not floating then argerror(fn, 'cannot take the median of an empty %s tensor', self:dtype()) end
      return 0 / 0 -- (PyTorch's NaN; its integer result is undefined, so that stays an error)
    end
    local value = flat:kthvalue(floor((n + 1) / 2))
    if floating then
      local nan = flat:isnan()
      if nan:any() then value = flat:select(1, nan:to('uint8'):argmax()) end
    end
    if rawget(value, '_rg') then return M.spread_evenly(self, value) end
    return value:item()
  end
  local c = self._c
  local d = dim_of(fn, dim, c.ndim) + 1
  keepdim = boolean_arg(fn, 'keepdim', keepdim, false)
  local n = c.ndim == 0 and 1 or self:size(d)
  if n == 0 then argerror(fn, 'cannot take the median over dimension %d of size 0', d) end
  local values, indices = self:kthvalue(floor((n + 1) / 2), d, true)
  if floating then
    local nan = self:isnan()
    if nan:any() then
      indices = torch.where(nan:any(d, true), nan:to('uint8'):argmax(d, true), indices)
      values = self:gather(d, indices)
    end
  end
  if not keepdim and c.ndim > 0 then values, indices = values:squeeze(d), indices:squeeze(d) end
  return values, indices
end

-- ---- functional forms ----

core.function_forms({ 'argsort', 'msort', 'unique', 'unique_consecutive', 'sort', 'topk', 'kthvalue', 'median' })

return M
