-- tensor.reduce: reductions (sum, mean, prod, max, min, amax, amin, argmax, argmin, std, var, norm, logsumexp,
-- all, any, count_nonzero, aminmax, nansum, nanmean, var_mean, std_mean) and the cumulative ops (cumsum,
-- cumprod). Each is a method x:f(...) and a function torch.f(x, ..., {out=}).
--
-- Arguments: an optional dim (a number, or a table of dims; 1-based, negative from the end), then keepdim,
-- each positional or in a trailing options table ({dim=, keepdim=, dtype=, out=, tensor=}). Reducing over
-- everything returns a Lua number (a boolean for all/any), or a 0-d tensor with {tensor=true}: autograd uses
-- that form (and the module's functions below) to keep results in the graph.
local ffi = require 'ffi'
local core = require 'tensor.core'
local args = require 'tensor.args'
local dtype = require 'tensor.dtype'

local C, wrap, Tensor, torch = core.C, core.wrap, core.Tensor, core.torch
local is_tensor, is_opts, argerror, c_error = core.is_tensor, args.is_opts, args.argerror, core.c_error
local dims_buf = args.dims_buf
local huge = math.huge

local M = {}

local SUM, NANSUM, MEAN, NANMEAN, PROD = C.TN_SUM, C.TN_NANSUM, C.TN_MEAN, C.TN_NANMEAN, C.TN_PROD
local AMAX, AMIN, ALL, ANY, COUNT_NONZERO = C.TN_AMAX, C.TN_AMIN, C.TN_ALL, C.TN_ANY, C.TN_COUNT_NONZERO
local NORM, VAR, STD, LOGSUMEXP, ARGMAX, ARGMIN = C.TN_NORM, C.TN_VAR, C.TN_STD, C.TN_LOGSUMEXP, C.TN_ARGMAX,
                                                  C.TN_ARGMIN
local MAX_DIM, MIN_DIM, AMINMAX, VAR_MEAN, STD_MEAN = C.TN_MAX_DIM, C.TN_MIN_DIM, C.TN_AMINMAX, C.TN_VAR_MEAN,
                                                      C.TN_STD_MEAN
local CUMSUM, CUMPROD = C.TN_CUMSUM, C.TN_CUMPROD
M.OPS = { sum = SUM, nansum = NANSUM, mean = MEAN, nanmean = NANMEAN, prod = PROD, amax = AMAX, amin = AMIN,
          all = ALL, any = ANY, count_nonzero = COUNT_NONZERO, norm = NORM, var = VAR, std = STD,
          logsumexp = LOGSUMEXP, argmax = ARGMAX, argmin = ARGMIN }

local reduce_value, reduce_c, reduce2_c, cumulative_c = C.tn_reduce_value, C.tn_reduce, C.tn_reduce2, C.tn_cumulative
local value = ffi.new('double[1]')
local pair = ffi.new('tn_tensor*[2]')
local MAX_DIMS = 16
local BOOL = dtype.BOOL
local fenced = dtype.fenced -- (reads of the shared result buffer: see tensor.dtype)

-- ---- arguments ----

-- (dim, keepdim, opts) where dim or keepdim may be the options table; returns dim, keepdim (boolean), opts.
local function read_args(fn, dim, keepdim, opts)
  if is_opts(dim) then
    opts, dim, keepdim = dim, dim.dim, dim.keepdim
  elseif is_opts(keepdim) then
    opts, keepdim = keepdim, keepdim.keepdim
    if dim == nil then dim = opts.dim end
  elseif opts ~= nil then
    if not is_opts(opts) then argerror(fn, 'expected an options table, got %s', type(opts)) end
    if keepdim == nil then keepdim = opts.keepdim end
    if dim == nil then dim = opts.dim end
  end
  if keepdim ~= nil and type(keepdim) ~= 'boolean' then
    argerror(fn, 'keepdim must be a boolean, got %s', tostring(keepdim))
  end
  return dim, keepdim or false, opts
end

-- Writes the dims (a number or a table) to the scratch buffer as 0-based dims; returns their count.
local function fill_dims(fn, x, dim)
  local nd = x._c.ndim
  if type(dim) == 'number' then
    dims_buf[0] = args.dim(fn, dim, nd)
    return 1
  end
  if type(dim) ~= 'table' or is_tensor(dim) then
    argerror(fn, 'dim must be a number or a table of numbers, got %s', is_tensor(dim) and 'a tensor' or type(dim))
  end
  local n = #dim
  if n > MAX_DIMS then argerror(fn, 'at most %d dims, got %d', MAX_DIMS, n) end
  for i = 1, n do dims_buf[i - 1] = args.dim(fn, dim[i], nd) end
  return n
end

local function dtype_of(fn, opts)
  local dt = opts and opts.dtype
  if dt == nil then return -1 end
  return dtype.parse(dt, fn)
end

local function input(fn, x)
  if not is_tensor(x) then argerror(fn, 'expected a tensor, got %s', type(x)) end
  return x._c
end

-- ---- the common paths ----

-- A reduction: the Lua number (or boolean) over everything, else a tensor.
local function reduce(fn, op, x, dim, keepdim, opts, p, dt, boolean)
  local c = input(fn, x)
  local out = opts and opts.out
  if dim == nil and not keepdim and not out and not (opts and opts.tensor) then
    if reduce_value(op, c, dt, p, value) ~= 0 then c_error(3) end
    if boolean or ((op == AMAX or op == AMIN) and c.dtype == BOOL) then return value[0] ~= 0 end
    return fenced(value[0])
  end
  local n = 0
  if dim ~= nil then n = fill_dims(fn, x, dim) end
  if out ~= nil and not is_tensor(out) then argerror(fn, 'out must be a tensor, got %s', type(out)) end
  local r = reduce_c(op, out and out._c, c, n, dims_buf, keepdim and 1 or 0, dt, p)
  if r == nil then c_error(3) end
  if out then return out end
  return wrap(r)
end
M.reduce = reduce
M.read_args = read_args

-- A two-result reduction: two tensors (or, over everything without keepdim or {tensor=true}, two numbers).
local function reduce2(fn, op, x, dim, keepdim, opts, p)
  local c = input(fn, x)
  local out = opts and opts.out
  if out ~= nil and (type(out) ~= 'table' or is_tensor(out)) then
    argerror(fn, 'out must be a table of two tensors, got %s', is_tensor(out) and 'a tensor' or type(out))
  end
  local n = 0
  if dim ~= nil then n = fill_dims(fn, x, dim) end
  pair[0] = out and out[1] and out[1]._c or nil
  pair[1] = out and out[2] and out[2]._c or nil
  local rc = reduce2_c(op, pair, c, n, dims_buf, keepdim and 1 or 0, p)
  local a, b = pair[0], pair[1]
  pair[0], pair[1] = nil, nil
  if rc ~= 0 then c_error(3) end
  local ta = out and out[1] or wrap(a)
  local tb = out and out[2] or wrap(b)
  if dim == nil and not keepdim and not out and not (opts and opts.tensor) then return ta:item(), tb:item() end
  return ta, tb
end
M.reduce2 = reduce2

-- The no-argument fast path of a method: one FFI call, no allocation. The extremes of a bool tensor are
-- booleans, like all/any.
local function value_of(op, x, boolean)
  local c = x._c
  if reduce_value(op, c, -1, 0, value) ~= 0 then c_error(3) end
  if boolean or ((op == AMAX or op == AMIN) and c.dtype == BOOL) then return value[0] ~= 0 end
  return fenced(value[0])
end

-- Defines Tensor:name and torch.name for a reduction taking (dim, keepdim, opts); `dtype_opt`: it accepts
-- {dtype=}; `boolean`: its value over everything is a Lua boolean.
local function define(name, op, boolean)
  Tensor[name] = function(x, dim, keepdim, opts)
    if dim == nil and keepdim == nil and opts == nil then return value_of(op, x, boolean) end
    dim, keepdim, opts = read_args(name, dim, keepdim, opts)
    return reduce(name, op, x, dim, keepdim, opts, 0, dtype_of(name, opts), boolean)
  end
  core.function_forms({ name })
end

--- Tensor:sum([dim [, keepdim]] [, opts]) -> number or Tensor
--- torch.sum(x, [dim [, keepdim]] [, opts]) -> number or Tensor
-- The sum of the elements: of all of them as a Lua number when no dim is given, else a tensor reduced over
-- dim (a number or a table of dims), which keeps the reduced dims with size 1 when keepdim is true.
-- opts: dim, keepdim, dtype (the input is converted to it first), out (torch.sum), tensor (a 0-d tensor
-- instead of a number). Integer and bool tensors sum to int64; float32 sums are pairwise (accurate over
-- any length); the result does not depend on the number of threads.
-- Example: torch.ones(2, 3):sum(2)            -- a tensor {3, 3}
-- Example: x:sum({1, 2}, true)                -- over dims 1 and 2, keeping them
define('sum', SUM)

--- Tensor:nansum([dim [, keepdim]] [, opts]) -> number or Tensor
--- torch.nansum(x, [dim [, keepdim]] [, opts]) -> number or Tensor
-- Like sum, treating NaN as zero.
define('nansum', NANSUM)

--- Tensor:mean([dim [, keepdim]] [, opts]) -> number or Tensor
--- torch.mean(x, [dim [, keepdim]] [, opts]) -> number or Tensor
-- The mean of the elements (all of them, as a number, or over dim). Needs a floating tensor, or
-- {dtype='float32'} (or another floating dtype) to convert an integer one. The mean of nothing is NaN.
-- Example: torch.tensor({{1, 2}, {3, 4}}):mean(1)   -- a tensor {2, 3}
define('mean', MEAN)

--- Tensor:nanmean([dim [, keepdim]] [, opts]) -> number or Tensor
--- torch.nanmean(x, [dim [, keepdim]] [, opts]) -> number or Tensor
-- The mean of the elements that are not NaN.
define('nanmean', NANMEAN)

--- Tensor:prod([dim [, keepdim]] [, opts]) -> number or Tensor
--- torch.prod(x, [dim [, keepdim]] [, opts]) -> number or Tensor
-- The product of the elements (opts as for sum). Integer and bool tensors give int64 (overflow wraps).
define('prod', PROD)

--- Tensor:amax([dim [, keepdim]] [, opts]) -> number or Tensor
--- torch.amax(x, [dim [, keepdim]] [, opts]) -> number or Tensor
-- The largest element, over everything or over dim (a number or a table of dims); NaN wins. Unlike
-- max(dim) it returns no indices and takes several dims. Reducing over an empty dim is an error.
define('amax', AMAX)

--- Tensor:amin([dim [, keepdim]] [, opts]) -> number or Tensor
--- torch.amin(x, [dim [, keepdim]] [, opts]) -> number or Tensor
-- The smallest element, like amax.
define('amin', AMIN)

--- Tensor:all([dim [, keepdim]] [, opts]) -> boolean or Tensor
--- torch.all(x, [dim [, keepdim]] [, opts]) -> boolean or Tensor
-- Whether every element is nonzero (true for an empty tensor): a Lua boolean over everything, else a bool
-- tensor (uint8 for uint8 input, as in PyTorch).
define('all', ALL, true)

--- Tensor:any([dim [, keepdim]] [, opts]) -> boolean or Tensor
--- torch.any(x, [dim [, keepdim]] [, opts]) -> boolean or Tensor
-- Whether some element is nonzero (false for an empty tensor), like all.
define('any', ANY, true)

--- Tensor:count_nonzero([dim [, keepdim]] [, opts]) -> number or Tensor
--- torch.count_nonzero(x, [dim [, keepdim]] [, opts]) -> number or Tensor
-- The number of nonzero elements (NaN counts), as an int64 tensor when dim is given.
define('count_nonzero', COUNT_NONZERO)

--- Tensor:logsumexp([dim [, keepdim]] [, opts]) -> number or Tensor
--- torch.logsumexp(x, [dim [, keepdim]] [, opts]) -> number or Tensor
-- log(sum(exp(x))) computed stably (shifted by the maximum), so large inputs do not overflow:
-- torch.tensor({1000, 1000}):logsumexp() is 1000 + log(2). Integer inputs give the default float dtype.
Tensor.logsumexp = function(x, dim, keepdim, opts)
  dim, keepdim, opts = read_args('logsumexp', dim, keepdim, opts)
  local dt = dtype_of('logsumexp', opts)
  if dt < 0 and not dtype.floating[tonumber(x._c.dtype)] then dt = dtype.default end
  return reduce('logsumexp', LOGSUMEXP, x, dim, keepdim, opts, 0, dt)
end
function torch.logsumexp(x, ...)
  input('logsumexp', x)
  return Tensor.logsumexp(x, ...)
end

--- Tensor:softmax(dim) -> Tensor
--- torch.softmax(x, dim) -> Tensor
-- exp(x) / sum(exp(x)) along dim, computed stably: nn.functional.softmax as a method (differentiable).
--- Tensor:log_softmax(dim) -> Tensor
--- torch.log_softmax(x, dim) -> Tensor
-- x - logsumexp(x) along dim: nn.functional.log_softmax as a method.
for _, name in ipairs({ 'softmax', 'log_softmax' }) do
  Tensor[name] = function(x, dim)
    if dim == nil then argerror(name, 'expected a dim (as in PyTorch, the method has no default)') end
    return require('tensor.nn.functional')[name](x, dim)
  end
  torch[name] = function(x, dim)
    input(name, x)
    return Tensor[name](x, dim)
  end
end

--- Tensor:dist(other, [p]) -> number or Tensor
--- torch.dist(a, b, [p]) -> number or Tensor
-- The p-norm (default 2) of a - b (broadcast): (a - b):norm(p). A number, or a 0-d tensor when recording.
function Tensor:dist(other, p)
  input('dist', other)
  return (self - other):norm(p or 2)
end
core.function_forms({ 'dist' })

-- ---- max, min, argmax, argmin ----

-- The C message names amax/amin; max() and min() over everything report under their own names.
local function value_as(fn, op, x)
  local c = x._c
  if reduce_value(op, c, -1, 0, value) ~= 0 then
    error((ffi.string(C.tn_last_error()):gsub('^a', '')), 3)
  end
  if c.dtype == BOOL then return value[0] ~= 0 end
  return fenced(value[0])
end

local function define_extreme(name, op_all, op_dim, elementwise)
  Tensor[name] = function(x, dim, keepdim, opts)
    if dim == nil and keepdim == nil and opts == nil then return value_as(name, op_all, x) end
    if is_tensor(dim) then return x[elementwise](x, dim) end
    dim, keepdim, opts = read_args(name, dim, keepdim, opts)
    if dim == nil then
      if x._c.numel == 0 then
        argerror(name, 'the tensor is empty and has no extreme value; reduce over a nonempty dimension instead')
      end
      return reduce(name, op_all, x, nil, keepdim, opts, 0, -1)
    end
    if type(dim) ~= 'number' then
      argerror(name, 'expected one dim (a number), got %s; amax/amin reduce over several', type(dim))
    end
    return reduce2(name, op_dim, x, dim, keepdim, opts, 1)
  end
  core.function_forms({ name })
end

--- Tensor:max() -> number
--- Tensor:max(dim [, keepdim]) -> Tensor, Tensor
--- Tensor:max(other) -> Tensor
--- torch.max(x, ...) -> number, or Tensor, Tensor, or Tensor
-- The largest element as a number; or over dim the largest values and their 1-based indices (int64) along
-- dim, the first one where several are equal; or, given a tensor, the element-wise maximum (broadcast).
-- NaN counts as the largest. An empty tensor or dim is an error. opts: dim, keepdim, out ({values, indices}).
-- Example: local v, i = torch.tensor({{1, 5}, {7, 2}}):max(2)   -- v = {5, 7}, i = {2, 1}
define_extreme('max', AMAX, MAX_DIM, 'maximum')

--- Tensor:min() -> number
--- Tensor:min(dim [, keepdim]) -> Tensor, Tensor
--- Tensor:min(other) -> Tensor
--- torch.min(x, ...) -> number, or Tensor, Tensor, or Tensor
-- The smallest element, like max: values and 1-based indices over dim, or the element-wise minimum.
define_extreme('min', AMIN, MIN_DIM, 'minimum')

local function define_arg(name, op)
  Tensor[name] = function(x, dim, keepdim, opts)
    if dim == nil and keepdim == nil and opts == nil then
      if reduce_value(op, x._c, -1, 1, value) ~= 0 then c_error(2) end
      return fenced(value[0])
    end
    dim, keepdim, opts = read_args(name, dim, keepdim, opts)
    if dim ~= nil and type(dim) ~= 'number' then argerror(name, 'expected one dim (a number), got %s', type(dim)) end
    return reduce(name, op, x, dim, keepdim, opts, 1, -1)
  end
  core.function_forms({ name })
end

--- Tensor:argmax([dim [, keepdim]] [, opts]) -> number or Tensor
--- torch.argmax(x, [dim [, keepdim]] [, opts]) -> number or Tensor
-- The 1-based index of the largest element: in the flattened tensor (a number) when no dim is given, else
-- an int64 tensor of indices along dim. The first of equal values wins; NaN counts as the largest.
define_arg('argmax', ARGMAX)

--- Tensor:argmin([dim [, keepdim]] [, opts]) -> number or Tensor
--- torch.argmin(x, [dim [, keepdim]] [, opts]) -> number or Tensor
-- The 1-based index of the smallest element, like argmax.
define_arg('argmin', ARGMIN)

--- Tensor:aminmax([opts]) -> min, max
--- torch.aminmax(x, [opts]) -> min, max
-- The smallest and the largest element in one pass: two numbers, or with {dim=, keepdim=} two tensors (0-d
-- tensors, when x requires grad and grad mode is on, so that gradients flow).
function Tensor:aminmax(dim, keepdim, opts)
  dim, keepdim, opts = read_args('aminmax', dim, keepdim, opts)
  return reduce2('aminmax', AMINMAX, self, dim, keepdim, opts, 0)
end
function torch.aminmax(x, ...)
  input('aminmax', x)
  return Tensor.aminmax(x, ...)
end

-- ---- var, std, norm ----

-- The correction of var/std: opts.correction (default 1), or opts.unbiased (true: 1, false: 0).
local function correction_of(fn, opts)
  if not opts then return 1 end
  local c = opts.correction
  if opts.unbiased ~= nil then
    if c ~= nil then argerror(fn, 'give correction or unbiased, not both') end
    if type(opts.unbiased) ~= 'boolean' then argerror(fn, 'unbiased must be a boolean, got %s', type(opts.unbiased)) end
    c = opts.unbiased and 1 or 0
  end
  if c == nil then return 1 end
  if type(c) ~= 'number' then argerror(fn, 'correction must be a number, got %s', type(c)) end
  return c
end
M.correction_of = correction_of

-- var/std accept PyTorch's x:var(unbiased) form (a boolean first argument) besides (dim, keepdim, opts).
local function var_args(fn, dim, keepdim, opts)
  if type(dim) == 'boolean' then
    local o = is_opts(keepdim) and keepdim or {}
    local merged = { unbiased = dim }
    for k, v in pairs(o) do merged[k] = v end
    return read_args(fn, merged)
  end
  return read_args(fn, dim, keepdim, opts)
end
M.var_args = var_args

local function define_var(name, op, op2)
  Tensor[name] = function(x, dim, keepdim, opts)
    if dim == nil and keepdim == nil and opts == nil then
      if reduce_value(op, x._c, -1, 1, value) ~= 0 then c_error(2) end
      return fenced(value[0])
    end
    dim, keepdim, opts = var_args(name, dim, keepdim, opts)
    return reduce(name, op, x, dim, keepdim, opts, correction_of(name, opts), -1)
  end
  core.function_forms({ name })
  local both = name .. '_mean'
  Tensor[both] = function(x, dim, keepdim, opts)
    dim, keepdim, opts = var_args(both, dim, keepdim, opts)
    return reduce2(both, op2, x, dim, keepdim, opts, correction_of(both, opts))
  end
  core.function_forms({ both })
end

--- Tensor:var([dim [, keepdim]] [, opts]) -> number or Tensor
--- torch.var(x, [dim [, keepdim]] [, opts]) -> number or Tensor
-- The variance: sum((x - mean)^2) / (n - correction), with correction 1 (Bessel's) unless opts give
-- correction= or unbiased= (x:var(false) is PyTorch's biased form). Computed in float64 in two passes over
-- cache-sized pieces merged exactly, so it stays accurate for large means. Needs a floating tensor.
-- Example: x:var(1, {correction=0})
define_var('var', VAR, VAR_MEAN)

--- Tensor:std([dim [, keepdim]] [, opts]) -> number or Tensor
--- torch.std(x, [dim [, keepdim]] [, opts]) -> number or Tensor
-- The standard deviation, the square root of var (same options).
define_var('std', STD, STD_MEAN)

--- Tensor:var_mean([dim [, keepdim]] [, opts]) -> var, mean
--- Tensor:std_mean([dim [, keepdim]] [, opts]) -> std, mean
--- torch.var_mean(x, ...) -> var, mean
--- torch.std_mean(x, ...) -> std, mean
-- The variance (or standard deviation) and the mean in one pass; numbers over everything, else tensors (0-d
-- tensors over everything when x requires grad and grad mode is on, as for sum).

--- Tensor:norm([p [, dim [, keepdim]]] [, opts]) -> number or Tensor
--- torch.norm(x, [p [, dim [, keepdim]]] [, opts]) -> number or Tensor
-- The vector p-norm (sum |x|^p)^(1/p) over everything or over dim (a number or a table of dims): p = 2
-- (default, also 'fro'), 1, math.huge (max |x|), -math.huge (min |x|), 0 (the number of nonzeros) or any
-- other number. opts: p, dim, keepdim, dtype, out. Needs a floating tensor (or a floating dtype).
-- Example: x:norm()  x:norm(1, 2)  x:norm('fro', {1, 2})  x:norm(math.huge)
function Tensor:norm(p, dim, keepdim, opts)
  if p == nil and dim == nil and keepdim == nil and opts == nil then
    if reduce_value(NORM, self._c, -1, 2, value) ~= 0 then c_error(2) end
    return fenced(value[0])
  end
  if is_opts(p) then
    opts = p
    p = opts.p
    dim, keepdim = opts.dim, opts.keepdim
  end
  dim, keepdim, opts = read_args('norm', dim, keepdim, opts)
  if opts and opts.p ~= nil and p == nil then p = opts.p end
  if p == nil or p == 'fro' then
    p = 2
  elseif p == 'inf' then
    p = huge
  elseif p == '-inf' then
    p = -huge
  elseif p == 'nuc' then
    argerror('norm', "the nuclear norm ('nuc') is a matrix norm: use torch.linalg.matrix_norm")
  elseif type(p) ~= 'number' then
    argerror('norm', 'p must be a number or \'fro\', got %s', tostring(p))
  end
  return reduce('norm', NORM, self, dim, keepdim, opts, p, dtype_of('norm', opts))
end
function torch.norm(x, ...)
  input('norm', x)
  return Tensor.norm(x, ...)
end

-- ---- cumulative ----

local function cumulative(fn, op, x, dim, opts, in_place, reverse)
  local c = input(fn, x)
  if is_opts(dim) then opts, dim = dim, dim.dim end
  if dim == nil then argerror(fn, 'a dim is required') end
  if type(dim) ~= 'number' then argerror(fn, 'dim must be a number, got %s', type(dim)) end
  if opts ~= nil and not is_opts(opts) then argerror(fn, 'expected an options table, got %s', type(opts)) end
  local d = args.dim(fn, dim, c.ndim)
  local out = in_place and x or (opts and opts.out)
  local r = cumulative_c(op, out and out._c, c, d, dtype_of(fn, opts), reverse and 1 or 0)
  if r == nil then c_error(3) end
  if out then return out end
  return wrap(r)
end
M.cumulative = cumulative

--- Tensor:cumsum(dim [, opts]) -> Tensor
--- Tensor:cumsum_(dim) -> Tensor
--- torch.cumsum(x, dim [, opts]) -> Tensor
-- Running sums along dim: element i is the sum of elements 1..i. opts: dtype (convert first), out.
-- Integers and bool give int64; floats accumulate in float64. cumsum_ works in place (floating or int64).
-- Example: torch.tensor({1, 2, 3}):cumsum(1)   -- {1, 3, 6}
function Tensor:cumsum(dim, opts) return cumulative('cumsum', CUMSUM, self, dim, opts) end
function Tensor:cumsum_(dim) return cumulative('cumsum_', CUMSUM, self, dim, nil, true) end
function torch.cumsum(x, dim, opts) return cumulative('cumsum', CUMSUM, x, dim, opts) end

--- Tensor:cumprod(dim [, opts]) -> Tensor
--- Tensor:cumprod_(dim) -> Tensor
--- torch.cumprod(x, dim [, opts]) -> Tensor
-- Running products along dim, like cumsum.
function Tensor:cumprod(dim, opts) return cumulative('cumprod', CUMPROD, self, dim, opts) end
function Tensor:cumprod_(dim) return cumulative('cumprod_', CUMPROD, self, dim, nil, true) end
function torch.cumprod(x, dim, opts) return cumulative('cumprod', CUMPROD, x, dim, opts) end

-- ---- for autograd: the tensor-returning forms ----

--- reduce.tensor(name, x, [dim [, keepdim]] [, opts]) -> Tensor
-- The reduction `name` (sum, mean, prod, amax, amin, all, any, count_nonzero, logsumexp, nansum, nanmean,
-- var, std, norm (opts.p), argmax, argmin) always as a tensor: 0-d when reducing over everything. Used by
-- autograd, whose formulas need tensors (x:sum({tensor=true}) is the same for one op).
local raw_methods = {} -- filled at the end of this file, before autograd wraps the methods
function M.tensor(name, x, dim, keepdim, opts)
  dim, keepdim, opts = read_args(name, dim, keepdim, opts)
  local o = { tensor = true }
  if opts then for k, v in pairs(opts) do o[k] = v end end
  o.dim, o.keepdim = dim, keepdim
  if name == 'norm' then return raw_methods.norm(x, o.p, o) end
  return raw_methods[name](x, o)
end

--- reduce.cumsum_reverse(x, dim) -> Tensor
-- Running sums along dim from the end (element i sums elements i..n): the backward of cumsum, without flips.
function M.cumsum_reverse(x, dim) return cumulative('cumsum', CUMSUM, x, dim, nil, false, true) end

for _, name in ipairs({ 'sum', 'nansum', 'mean', 'nanmean', 'prod', 'amax', 'amin', 'all', 'any', 'count_nonzero',
                        'logsumexp', 'var', 'std', 'norm', 'argmax', 'argmin' }) do
  raw_methods[name] = Tensor[name]
end

return M
