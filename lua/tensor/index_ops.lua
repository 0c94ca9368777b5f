-- tensor.index_ops: indexing by index tensors and masks: index_select, gather, scatter_ (and its reductions),
-- index_add_/index_copy_/index_fill_, take/put_, masked_select/masked_fill_/masked_scatter_, nonzero.
-- The ordering ops live in tensor.sort_ops, joining and reordering in tensor.join_ops (both loaded from here).
--
-- Indices are 1-based both ways: index tensors given here count from 1, and nonzero returns 1-based
-- coordinates. They are int64 tensors (int32 works too; a Lua table of integers is converted). Every index is
-- checked, and a bad one raises an error naming the op, the index and the valid range. The C library reads
-- them with an index base of 1, so nothing is converted on the way.
local ffi = require 'ffi'
local core = require 'tensor.core'
local alias = core.alias
local args = require 'tensor.args'
local dtype = require 'tensor.dtype'
local mode = require 'tensor.autograd.mode'

local C, wrap, check, Tensor, torch = core.C, core.wrap, core.check, core.Tensor, core.torch
local is_tensor, is_opts, argerror, dim_of = core.is_tensor, args.is_opts, args.argerror, args.dim

local M = {}

local BASE = 1 -- Lua's indices count from 1
local SET, ADD, MUL, AMAX, AMIN = C.TN_SCATTER_SET, C.TN_SCATTER_ADD, C.TN_SCATTER_MUL, C.TN_SCATTER_AMAX,
                                  C.TN_SCATTER_AMIN

-- ---- arguments ----

-- An index argument: an integer tensor, a Lua table of integers (made an int64 tensor) or one integer.
local function index_arg(fn, index)
  if is_tensor(index) then return index end
  if type(index) == 'table' then
    for i = 1, #index do
      if not args.is_integer(index[i]) then
        argerror(fn, 'index entry %d must be an integer, got %s', i, tostring(index[i]))
      end
    end
    return torch.tensor(index, { dtype = 'int64' })
  end
  if args.is_integer(index) then return torch.tensor({ index }, { dtype = 'int64' }) end
  argerror(fn, 'expected an index tensor (or a table of integers), got %s', type(index))
end
M.index_arg = index_arg

-- A scalar argument (number, boolean or one-element tensor) as a number.
local function scalar_arg(fn, v, what)
  if type(v) == 'number' then return v end
  if type(v) == 'boolean' then return v and 1 or 0 end
  if is_tensor(v) and v:numel() == 1 then
    local x = v:item()
    if type(x) == 'boolean' then return x and 1 or 0 end
    return x
  end
  argerror(fn, '%s must be a number, got %s', what or 'the value', is_tensor(v) and 'a tensor of ' .. v:numel() ..
           ' elements' or type(v))
end

local function mask_arg(fn, mask)
  if is_tensor(mask) then return mask end
  argerror(fn, 'expected a bool mask tensor, got %s', type(mask))
end

-- The out= tensor of a trailing options table (nil when there is none).
local function out_of(opts)
  return is_opts(opts) and opts.out or nil
end

-- Runs a C function returning a tensor: a new tensor, or out itself.
local function produce(ptr, out)
  if ptr == nil then core.c_error() end
  if out then return out end
  return wrap(ptr)
end

-- ---- index_select and gather ----

--- Tensor:index_select(dim, index) -> Tensor
--- torch.index_select(x, dim, index, {out=}) -> Tensor
-- The slices of x along dim at the (1-based) positions in index, a 1-d int64 tensor or a Lua table. The
-- result has index's length along dim. x[idx] with an integer tensor idx is x:index_select(1, idx).
-- Example: torch.tensor({{1, 2}, {3, 4}, {5, 6}}):index_select(1, {3, 1})   -- rows 3 and 1
function Tensor:index_select(dim, index)
  local c = self._c
  return wrap(C.tn_index_select(nil, c, dim_of('index_select', dim, c.ndim), index_arg('index_select', index)._c,
                                BASE))
end
alias(Tensor, 'index', 'index_select') -- Torch7

function torch.index_select(x, dim, index, opts)
  local c, out = core.c_of(x, 'index_select', 'the input'), out_of(opts)
  return produce(C.tn_index_select(out and out._c, c, dim_of('index_select', dim, c.ndim),
                                   index_arg('index_select', index)._c, BASE), out)
end

--- Tensor:gather(dim, index) -> Tensor
--- torch.gather(x, dim, index, {out=}) -> Tensor
-- Values picked along dim: out[i][j] = x[index[i][j]][j] for dim 1 (likewise for other dims). index has as
-- many dims as x and is no larger except along dim; the result has index's shape.
-- Example: torch.tensor({{1, 2}, {3, 4}}):gather(2, torch.tensor({{2, 1}, {1, 1}}))   -- {{2, 1}, {3, 3}}
function Tensor:gather(dim, index)
  local c = self._c
  return wrap(C.tn_gather(nil, c, dim_of('gather', dim, c.ndim), index_arg('gather', index)._c, BASE))
end

function torch.gather(x, dim, index, opts)
  local c, out = core.c_of(x, 'gather', 'the input'), out_of(opts)
  return produce(C.tn_gather(out and out._c, c, dim_of('gather', dim, c.ndim), index_arg('gather', index)._c, BASE),
                 out)
end

--- Tensor:take_along_dim(index, dim) -> Tensor
-- gather with broadcasting: index and x broadcast against each other except along dim. Without dim, x and
-- index are flattened.
function Tensor:take_along_dim(index, dim)
  index = index_arg('take_along_dim', index)
  if dim == nil then return self:reshape(-1):gather(1, index:reshape(-1)) end
  local xs, is = self:shape(), index:shape()
  if #xs ~= #is then
    argerror('take_along_dim', 'the index must have as many dimensions as the input (%d), got %d', #xs, #is)
  end
  local d = dim_of('take_along_dim', dim, #xs) + 1
  local xe, ie = {}, {}
  for i = 1, #xs do
    local m = xs[i] == 1 and is[i] or xs[i]
    if is[i] ~= 1 and xs[i] ~= 1 and is[i] ~= xs[i] and i ~= d then
      argerror('take_along_dim', 'the sizes of the input and the index do not broadcast at dimension %d', i)
    end
    xe[i], ie[i] = i == d and xs[i] or m, i == d and is[i] or m
  end
  return self:expand(xe):gather(dim, index:expand(ie))
end

-- ---- scatter ----

local SCATTER_REDUCE = { add = ADD, multiply = MUL }

local function scatter_into(fn, x, dim, index, src, reduce)
  local c = x._c
  local d = dim_of(fn, dim, c.ndim)
  local idx = index_arg(fn, index)._c
  if is_tensor(src) then
    check(C.tn_scatter_(c, d, idx, src._c, 0, reduce, BASE))
  else
    check(C.tn_scatter_(c, d, idx, nil, scalar_arg(fn, src, 'src'), reduce, BASE))
  end
  return x
end

local function reduce_arg(fn, reduce)
  if reduce == nil then return SET end
  local r = SCATTER_REDUCE[reduce]
  if not r then argerror(fn, "reduce must be 'add' or 'multiply', got %s", tostring(reduce)) end
  return r
end

--- Tensor:scatter_(dim, index, src, [reduce]) -> self
-- Writes src (a tensor, or a number for every position) into self at the positions index gives along dim:
-- self[index[i][j]][j] = src[i][j] for dim 1 (likewise for other dims). With duplicate indices the last one
-- wins; reduce 'add' or 'multiply' (positional or {reduce=}) combines instead. Indices are checked before
-- anything is written.
-- Example: torch.zeros(3, 2):scatter_(1, torch.tensor({{3, 1}}), torch.tensor({{5, 6}}))
function Tensor:scatter_(dim, index, src, reduce)
  if is_opts(reduce) then reduce = reduce.reduce end
  return scatter_into('scatter_', self, dim, index, src, reduce_arg('scatter_', reduce))
end

--- Tensor:scatter(dim, index, src, [reduce]) -> Tensor
--- torch.scatter(x, dim, index, src, [reduce]) -> Tensor
-- scatter_ on a copy of self.
function Tensor:scatter(dim, index, src, reduce)
  if is_opts(reduce) then reduce = reduce.reduce end
  return scatter_into('scatter', self:clone(), dim, index, src, reduce_arg('scatter', reduce))
end

--- Tensor:scatter_add_(dim, index, src) -> self
-- Adds src into self at the positions index gives along dim; duplicate indices accumulate.
-- Example: torch.zeros(3):scatter_add_(1, torch.tensor({1, 1, 3}), torch.ones(3))   -- {2, 0, 1}
function Tensor:scatter_add_(dim, index, src)
  if not is_tensor(src) then argerror('scatter_add_', 'src must be a tensor, got %s', type(src)) end
  return scatter_into('scatter_add_', self, dim, index, src, ADD)
end

--- Tensor:scatter_add(dim, index, src) -> Tensor
--- torch.scatter_add(x, dim, index, src) -> Tensor
-- scatter_add_ on a copy of self.
function Tensor:scatter_add(dim, index, src)
  if not is_tensor(src) then argerror('scatter_add', 'src must be a tensor, got %s', type(src)) end
  return scatter_into('scatter_add', self:clone(), dim, index, src, ADD)
end

local REDUCE_IDENTITY = { sum = 0, prod = 1 }

-- The reductions of scatter_reduce_ and index_reduce_ into x in place, made of their one primitive
-- put(t, src_or_number, code): a write into t at the op's positions with reduction code.
local function reduce_into(fn, put, x, src, reduce, include_self)
  if reduce == 'amax' or reduce == 'amin' then
    -- max and min are idempotent: seeding the positions with one of their own values drops self's
    if not include_self then put(x, src, SET) end
    return put(x, src, reduce == 'amax' and AMAX or AMIN)
  elseif reduce == 'sum' or reduce == 'prod' then
    if not include_self then put(x, REDUCE_IDENTITY[reduce], SET) end
    return put(x, src, reduce == 'sum' and ADD or MUL)
  elseif reduce == 'mean' then
    local counts = include_self and torch.ones_like(x) or torch.zeros_like(x)
    put(counts, torch.ones_like(src, { dtype = x:dtype() }), ADD)
    if not include_self then put(x, 0, SET) end
    put(x, src, ADD)
    counts:clamp_(1)
    if dtype.floating[tonumber(x._c.dtype)] then return x:div_(counts) end
    return x:copy_(x:floor_divide(counts))
  end
  argerror(fn, "reduce must be 'sum', 'prod', 'mean', 'amax' or 'amin', got %s", tostring(reduce))
end

--- Tensor:scatter_reduce_(dim, index, src, reduce, {include_self=true}) -> self
-- Reduces src into self at the positions index gives along dim, with reduce 'sum', 'prod', 'mean', 'amax' or
-- 'amin' (NaN propagates through amax/amin). include_self=false leaves self's old values out of the reduction
-- at the positions that receive something. Differentiable in self and src for every reduce (amax and amin share
-- a position's gradient evenly among the elements equal to its result).
function Tensor:scatter_reduce_(dim, index, src, reduce, opts)
  local fn = 'scatter_reduce_'
  if is_opts(reduce) then reduce, opts = reduce.reduce, reduce end
  local include_self = true
  if is_opts(opts) and opts.include_self ~= nil then include_self = opts.include_self end
  if not is_tensor(src) then argerror(fn, 'src must be a tensor, got %s', type(src)) end
  index = index_arg(fn, index)
  return reduce_into(fn, function(t, v, code) return scatter_into(fn, t, dim, index, v, code) end, self, src, reduce,
                     include_self)
end

--- Tensor:scatter_reduce(dim, index, src, reduce, {include_self=true}) -> Tensor
--- torch.scatter_reduce(x, dim, index, src, reduce, {include_self=true}) -> Tensor
-- scatter_reduce_ on a copy of self. (The copy records nothing: autograd records this whole op, whose in-place
-- form it then makes of this one.)
local raw_scatter_reduce_ = Tensor.scatter_reduce_
function Tensor:scatter_reduce(dim, index, src, reduce, opts)
  return raw_scatter_reduce_(wrap(C.tn_clone(self._c)), dim, index, src, reduce, opts)
end

-- ---- index_add_, index_copy_, index_fill_ ----

local function index_reduce_into(fn, x, dim, index, src, value, reduce, alpha)
  local c = x._c
  local d = dim_of(fn, dim, c.ndim)
  local idx = index_arg(fn, index)._c
  check(C.tn_index_reduce_(c, d, idx, src and src._c, value or 0, reduce, alpha or 1, BASE))
  return x
end

local function alpha_arg(fn, alpha)
  if is_opts(alpha) then alpha = alpha.alpha end
  if alpha == nil then return 1 end
  if type(alpha) ~= 'number' then argerror(fn, 'alpha must be a number, got %s', type(alpha)) end
  return alpha
end

local function source_arg(fn, src)
  if is_tensor(src) then return src end
  argerror(fn, 'source must be a tensor, got %s', type(src))
end

--- Tensor:index_add_(dim, index, source, [alpha]) -> self
-- Adds alpha (default 1; positional or {alpha=}) times the slices of source along dim into the slices of self
-- at the positions in index (1-d, one per slice of source); duplicate indices accumulate.
-- Example: torch.zeros(3, 2):index_add_(1, {1, 1}, torch.ones(2, 2))   -- row 1 becomes {2, 2}
function Tensor:index_add_(dim, index, source, alpha)
  return index_reduce_into('index_add_', self, dim, index, source_arg('index_add_', source), 0, ADD,
                           alpha_arg('index_add_', alpha))
end

--- Tensor:index_add(dim, index, source, [alpha]) -> Tensor
--- torch.index_add(x, dim, index, source, [alpha]) -> Tensor
-- index_add_ on a copy of self.
function Tensor:index_add(dim, index, source, alpha)
  return index_reduce_into('index_add', self:clone(), dim, index, source_arg('index_add', source), 0, ADD,
                           alpha_arg('index_add', alpha))
end

--- Tensor:index_copy_(dim, index, source) -> self
-- Copies the slices of source along dim into self at the positions in index (the last duplicate wins).
-- x[idx] = t with an integer tensor idx is x:index_copy_(1, idx, t).
function Tensor:index_copy_(dim, index, source)
  return index_reduce_into('index_copy_', self, dim, index, source_arg('index_copy_', source), 0, SET)
end

--- Tensor:index_copy(dim, index, source) -> Tensor
--- torch.index_copy(x, dim, index, source) -> Tensor
-- index_copy_ on a copy of self.
function Tensor:index_copy(dim, index, source)
  return index_reduce_into('index_copy', self:clone(), dim, index, source_arg('index_copy', source), 0, SET)
end

--- Tensor:index_fill_(dim, index, value) -> self
-- Sets the slices of self along dim at the positions in index to value (negative indices count from the end).
-- x[idx] = v with an integer tensor idx and a number v is x:index_fill_(1, idx, v).
function Tensor:index_fill_(dim, index, value)
  return index_reduce_into('index_fill_', self, dim, index, nil, scalar_arg('index_fill_', value), SET)
end

--- Tensor:index_fill(dim, index, value) -> Tensor
--- torch.index_fill(x, dim, index, value) -> Tensor
-- index_fill_ on a copy of self.
function Tensor:index_fill(dim, index, value)
  return index_reduce_into('index_fill', self:clone(), dim, index, nil, scalar_arg('index_fill', value), SET)
end

-- ---- index_reduce_ ----

local INDEX_REDUCE = { prod = true, mean = true, amax = true, amin = true }

-- index_reduce_ into self, fn naming it in errors.
local function index_reduce(fn, self, dim, index, source, reduce, opts)
  if is_opts(reduce) then reduce, opts = reduce.reduce, reduce end
  local include_self = not (is_opts(opts) and opts.include_self == false)
  if not INDEX_REDUCE[reduce] then
    argerror(fn, "reduce must be 'prod', 'mean', 'amax' or 'amin', got %s", tostring(reduce))
  end
  source = source_arg(fn, source)
  if source:dtype() ~= self:dtype() then
    argerror(fn, 'self (%s) and source (%s) must have one dtype', self:dtype(), source:dtype())
  end
  index = index_arg(fn, index)
  local d = dim_of(fn, dim, self:dim())
  if mode.enabled and (rawget(self, '_rg') or rawget(rawget(self, '_base') or self, '_rg') or rawget(source, '_rg')) then
    if self.requires_grad and self:is_leaf() then
      argerror(fn, 'a leaf tensor that requires grad cannot be modified in place; use index_reduce')
    end
    -- recorded as scatter_reduce_, whose index is index along dim and broadcast along the others
    if index:dim() > 1 then argerror(fn, 'the index must be 1-d, got %d dims', index:dim()) end
    local sizes, expected = self:shape(), source:shape()
    if #sizes == 0 then sizes = { 1 } end
    if #expected == 0 then expected = { 1 } end
    local fits = #expected == #sizes
    for k = 1, #sizes do fits = fits and expected[k] == (k == d + 1 and index:numel() or sizes[k]) end
    if not fits then
      argerror(fn, 'source of size [%s] does not match self of size [%s] for an index of %d elements along dim %d',
               table.concat(source:shape(), ' x '), table.concat(self:shape(), ' x '), index:numel(), d + 1)
    end
    local n = sizes[d + 1]
    local bad = index:lt(-n):logical_or(index:gt(n)):logical_or(index:eq(0))
    if bad:any() then
      argerror(fn, 'index %d is out of range for dim %d of size %d', index:masked_select(bad)[1], d + 1, n)
    end
    local shape = {}
    for k = 1, #expected do shape[k] = k == d + 1 and -1 or 1 end
    local spread = index:reshape(shape):expand(expected)
    if source:dim() == 0 then spread = spread:reshape({}) end
    return self:scatter_reduce_(d + 1, spread, source, reduce, { include_self = include_self })
  end
  local c_index = index._c
  local function put(t, v, code)
    -- (a number as a tensor: the kernel's fill takes negative positions, which its reductions refuse, and a
    -- fill that passed before a refused reduction would leave self half written)
    if not is_tensor(v) then v = torch.full_like(source, v) end
    if C.tn_index_reduce_(t._c, d, c_index, v._c, 0, code, 1, BASE) ~= 0 then
      -- (the kernel names its error after the write it was asked for: index_fill_, index_add_, ...)
      core.raise((ffi.string(C.tn_last_error()):gsub('^index_%a+_:', fn .. ':')))
    end
    return t
  end
  return reduce_into(fn, put, self, source, reduce, include_self)
end

--- Tensor:index_reduce_(dim, index, source, reduce, {include_self=true}) -> self
-- Reduces the slices of source along dim into the slices of self at the positions in index (1-d, one per slice of
-- source, 1-based), with reduce 'prod', 'mean', 'amax' or 'amin' (positional or {reduce=}); source has self's
-- dtype and self's sizes except #index along dim. include_self=false leaves self's old values out at the positions
-- that receive something. Differentiable in self and source (as scatter_reduce_, which it then runs with index
-- broadcast along the other dims; without a graph to record, the C kernel does it directly).
-- Example: torch.ones(3, 2):index_reduce_(1, {1, 3, 1}, torch.full({3, 2}, 2.5), 'prod')   -- rows 1, 3: 6.25, 2.5
function Tensor:index_reduce_(dim, index, source, reduce, opts)
  return index_reduce('index_reduce_', self, dim, index, source, reduce, opts)
end
core.composed_in_place.index_reduce_ = true

--- Tensor:index_reduce(dim, index, source, reduce, {include_self=true}) -> Tensor
--- torch.index_reduce(x, dim, index, source, reduce, {include_self=true}) -> Tensor
-- index_reduce_ on a copy of self.
function Tensor:index_reduce(dim, index, source, reduce, opts)
  return index_reduce('index_reduce', self:clone(), dim, index, source, reduce, opts)
end

-- Torch7's in-place spellings
Tensor.indexAdd = function(self, dim, index, source) return self:index_add_(dim, index, source) end
alias(Tensor, 'indexCopy', 'index_copy_')
alias(Tensor, 'indexFill', 'index_fill_')

-- ---- take and put_ ----

--- Tensor:take(index) -> Tensor
--- torch.take(x, index, {out=}) -> Tensor
-- The elements of x, seen as a 1-d tensor in row-major order, at the positions in index (any shape; the
-- result has index's shape). Negative indices count from the end.
-- Example: torch.tensor({{1, 2}, {3, 4}}):take({4, 1})   -- {4, 1}
function Tensor:take(index)
  return wrap(C.tn_take(nil, self._c, index_arg('take', index)._c, BASE))
end

function torch.take(x, index, opts)
  local out = out_of(opts)
  return produce(C.tn_take(out and out._c, core.c_of(x, 'take', 'the input'), index_arg('take', index)._c, BASE), out)
end

--- Tensor:put_(index, source, [accumulate]) -> self
-- Writes the elements of source into self, seen as a 1-d tensor in row-major order, at the positions in
-- index (as many as source has elements; negative ones count from the end). accumulate (positional or
-- {accumulate=}) adds instead, so duplicate indices sum. Differentiable in self and source.
function Tensor:put_(index, source, accumulate)
  if is_opts(accumulate) then accumulate = accumulate.accumulate end
  check(C.tn_put_(self._c, index_arg('put_', index)._c, source_arg('put_', source)._c, accumulate and 1 or 0, BASE))
  return self
end

--- Tensor:put(index, source, [accumulate]) -> Tensor
--- torch.put(x, index, source, [accumulate]) -> Tensor
-- put_ on a copy of self (one that records nothing, as scatter_reduce's).
local raw_put_ = Tensor.put_
function Tensor:put(index, source, accumulate) return raw_put_(wrap(C.tn_clone(self._c)), index, source, accumulate) end

-- ---- index_put_ ----

--- Tensor:index_put_(indices, values, [accumulate]) -> self
--- Tensor:index_put(indices, values, [accumulate]) -> Tensor
--- torch.index_put(x, indices, values, [accumulate]) -> Tensor
-- PyTorch's advanced-index assignment x[i1, i2, ...] = values: indices is a list of integer tensors of positions
-- (1-based, negative from the end) into x's first dims, broadcast together to one shape S (a bool mask stands for
-- the positions of its true elements in as many dims as it has); values (a tensor, converted to x's dtype, or a
-- number) broadcasts to S followed by x's remaining dims. With accumulate (positional or {accumulate=}) the values are
-- added, so repeated positions sum; without it a repeated position gets one of its values. Differentiable.
-- Example: x:index_put_({torch.tensor({1, 2}), torch.tensor({3, 1})}, torch.tensor({10, 20}))  -- x[1][3], x[2][1]
function Tensor:index_put_(indices, values, accumulate)
  local fn = 'index_put_'
  if is_opts(accumulate) then accumulate = accumulate.accumulate end
  if type(indices) ~= 'table' or is_tensor(indices) then
    argerror(fn, 'indices must be a list of tensors, got %s', is_tensor(indices) and 'a tensor' or type(indices))
  end
  local list = {}
  for i, t in ipairs(indices) do
    if not is_tensor(t) then argerror(fn, 'index %d must be a tensor, got %s', i, type(t)) end
    local kind = tonumber(t._c.dtype)
    if kind == dtype.BOOL or kind == dtype.UINT8 then
      local positions = t:nonzero()
      for d = 1, t:dim() do list[#list + 1] = positions:select(2, d) end
    elseif dtype.integral[kind] then
      list[#list + 1] = t:long()
    else
      argerror(fn, 'index %d must be an integer or bool tensor, got %s', i, t:dtype())
    end
  end
  local k, sizes = #list, self:shape()
  if k == 0 then argerror(fn, 'expected at least one index tensor') end
  if k > #sizes then argerror(fn, 'too many indices (%d) for a tensor of %d dims', k, #sizes) end
  local broadcast = { torch.broadcast_tensors(unpack(list)) }
  -- the positions as row-major offsets into x's first k dims (0-based), checked against each dim's size
  local flat, span = nil, 1
  for d = k, 1, -1 do
    local idx, size = broadcast[d], sizes[d]
    local bad = idx:lt(-size):logical_or(idx:gt(size)):logical_or(idx:eq(0))
    if bad:any() then
      argerror(fn, 'index %d is out of range for dimension %d of size %d', idx:masked_select(bad)[1], d, size)
    end
    local offset = torch.where(idx:lt(0), idx + size, idx - 1) * span
    flat = flat and flat + offset or offset
    span = span * size
  end
  local rest = {}
  for d = k + 1, #sizes do rest[#rest + 1] = sizes[d] end
  local target = flat:shape()
  for _, size in ipairs(rest) do target[#target + 1] = size end
  if not is_tensor(values) then values = torch.full({}, values, { dtype = self:dtype(), device = self:device() }) end
  -- (converted to x's dtype, as copy_ does: a Lua table of whole numbers makes an int64 tensor)
  values = values:to(self:dtype())
  local count = flat:numel()
  local rows = values:expand(target):reshape({ count, unpack(rest) })
  local work = self:is_contiguous() and self or self:contiguous()
  local by_position = work:view({ span, unpack(rest) })
  local positions = flat:reshape(-1) + 1
  if accumulate then by_position:index_add_(1, positions, rows) else by_position:index_copy_(1, positions, rows) end
  if work ~= self then self:copy_(work) end
  return self
end
function Tensor:index_put(indices, values, accumulate) return self:clone():index_put_(indices, values, accumulate) end
core.composed_in_place.index_put_ = true

-- ---- masks ----

--- Tensor:masked_select(mask) -> Tensor
--- torch.masked_select(x, mask, {out=}) -> Tensor
-- The elements of x where the bool mask holds, as a 1-d tensor in row-major order; x and mask broadcast
-- together. x[mask] is x:masked_select(mask).
-- Example: x:masked_select(x:gt(0))   -- the positive elements
function Tensor:masked_select(mask)
  return wrap(C.tn_masked_select(nil, self._c, mask_arg('masked_select', mask)._c))
end
alias(Tensor, 'maskedSelect', 'masked_select') -- Torch7

function torch.masked_select(x, mask, opts)
  local out = out_of(opts)
  return produce(C.tn_masked_select(out and out._c, core.c_of(x, 'masked_select', 'the input'),
                                    mask_arg('masked_select', mask)._c), out)
end

--- Tensor:masked_fill_(mask, value) -> self
-- Sets the elements of self where the bool mask (broadcast to self's shape) holds to value (a number,
-- boolean or one-element tensor). x[mask] = v is x:masked_fill_(mask, v).
-- Example: x:masked_fill_(x:lt(0), 0)
function Tensor:masked_fill_(mask, value)
  check(C.tn_masked_fill_(self._c, mask_arg('masked_fill_', mask)._c, scalar_arg('masked_fill_', value)))
  return self
end
alias(Tensor, 'maskedFill', 'masked_fill_') -- Torch7

--- Tensor:masked_fill(mask, value) -> Tensor
--- torch.masked_fill(x, mask, value) -> Tensor
-- masked_fill_ on a copy of self; self and mask broadcast together.
local shape_a, shape_b, shape_out = ffi.new('int64_t[16]'), ffi.new('int64_t[16]'), ffi.new('int64_t[16]')

function Tensor:masked_fill(mask, value)
  mask = mask_arg('masked_fill', mask)
  local c, m = self._c, mask._c
  for d = 0, c.ndim - 1 do shape_a[d] = c.sizes[d] end
  for d = 0, m.ndim - 1 do shape_b[d] = m.sizes[d] end
  local nd = C.tn_broadcast_shapes(c.ndim, shape_a, m.ndim, shape_b, shape_out)
  if nd < 0 then argerror('masked_fill', '%s', ffi.string(C.tn_last_error())) end
  local same = nd == c.ndim
  for d = 0, nd - 1 do same = same and shape_out[d] == c.sizes[d] end
  local r
  if same then
    r = self:clone()
  else
    local sizes = {}
    for d = 0, nd - 1 do sizes[d + 1] = tonumber(shape_out[d]) end
    r = self:expand(sizes):clone()
  end
  check(C.tn_masked_fill_(r._c, m, scalar_arg('masked_fill', value)))
  return r
end

--- Tensor:masked_scatter_(mask, source) -> self
-- Copies consecutive elements of source (read in row-major order) into self where the bool mask (broadcast
-- to self's shape) holds. source needs at least as many elements as the mask selects.
-- x[mask] = t is x:masked_scatter_(mask, t).
function Tensor:masked_scatter_(mask, source)
  check(C.tn_masked_scatter_(self._c, mask_arg('masked_scatter_', mask)._c, source_arg('masked_scatter_', source)._c))
  return self
end
alias(Tensor, 'maskedCopy', 'masked_scatter_') -- Torch7

--- Tensor:masked_scatter(mask, source) -> Tensor
--- torch.masked_scatter(x, mask, source) -> Tensor
-- masked_scatter_ on a copy of self.
function Tensor:masked_scatter(mask, source)
  -- into a copy that records nothing: under autograd this method is the recorded op, and a recorded clone
  -- written by the recorded in-place form would call back into it without end
  local copy = wrap(C.tn_clone(self._c))
  check(C.tn_masked_scatter_(copy._c, mask_arg('masked_scatter', mask)._c, source_arg('masked_scatter', source)._c))
  return copy
end

-- ---- nonzero ----

--- Tensor:nonzero({as_tuple=false}) -> Tensor or list
--- torch.nonzero(x, {as_tuple=false, out=}) -> Tensor or list
-- The 1-based coordinates of the nonzero elements of x (NaN counts as nonzero), in row-major order: an
-- n x dim int64 tensor, or with as_tuple a Lua list of dim 1-d tensors, one per dimension (a 0-d x counts as
-- 1-d). torch.where(cond) is nonzero(cond, {as_tuple=true}).
-- Example: torch.tensor({0, 3, 0, 5}):nonzero()   -- {{2}, {4}}
function Tensor:nonzero(opts)
  local out = out_of(opts)
  local r = produce(C.tn_nonzero(out and out._c, self._c, BASE), out)
  if is_opts(opts) and opts.as_tuple then
    if self._c.ndim == 0 then return { torch.ones(r:size(1), { dtype = 'int64' }) } end
    local list = {}
    for d = 1, self._c.ndim do list[d] = r:select(2, d) end
    return list
  end
  return r
end
--- Tensor:argwhere() -> Tensor
--- torch.argwhere(x) -> Tensor
-- x:nonzero(): the n x dim tensor of the 1-based coordinates of the nonzero elements.
function Tensor:argwhere() return self:nonzero() end

-- ---- functional forms ----

core.function_forms({ 'scatter', 'scatter_add', 'scatter_reduce', 'index_add', 'index_copy', 'index_fill', 'put',
                     'index_reduce', 'index_reduce_',
                     'index_put', 'index_put_', 'masked_fill', 'masked_scatter', 'nonzero', 'argwhere', 'take_along_dim', 'scatter_',
                     'scatter_add_', 'index_add_', 'index_copy_', 'index_fill_', 'masked_fill_',
                     'masked_scatter_', 'put_' })

require 'tensor.sort_ops'
require 'tensor.join_ops'

return M
