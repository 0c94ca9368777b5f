-- tensor.join_ops: joining and reordering: cat, stack, hstack/vstack/dstack/column_stack, unbind, flip, roll,
-- tril/triu, repeatTensor (PyTorch's repeat, a Lua keyword), tile, repeat_interleave. split and chunk are views
-- (tensor.views).
local ffi = require 'ffi'
local core = require 'tensor.core'
local alias = core.alias
local args = require 'tensor.args'

local C, wrap, Tensor, torch, mt = core.C, core.wrap, core.Tensor, core.torch, core.mt
local is_tensor, is_opts, argerror, dim_of = core.is_tensor, args.is_opts, args.argerror, args.dim
local dims_buf = args.dims_buf
local floor = math.floor

local MAX_DIMS = 16

-- A 1-based dim given to C unchecked (C checks its range, reporting it 1-based): positive d is d - 1,
-- negative counts from the end as it is.
local function cdim(fn, d)
  if type(d) ~= 'number' or d ~= floor(d) then argerror(fn, 'dimension must be an integer, got %s', tostring(d)) end
  if d == 0 then argerror(fn, 'dimension 0 is invalid: dimensions are numbered from 1 (or -1 from the end)') end
  return d > 0 and d - 1 or d
end

local function out_of(opts) return is_opts(opts) and opts.out or nil end

local function produce(ptr, out)
  if ptr == nil then core.c_error() end
  if out then return out end
  return wrap(ptr)
end

-- ---- lists of tensors ----

local list_buf, list_cap = nil, 0

-- The C pointers of a Lua list of tensors, in a reused buffer (valid while the list is).
local function tensor_list(fn, list)
  if type(list) ~= 'table' or is_tensor(list) then argerror(fn, 'expected a list of tensors, got %s', type(list)) end
  local n = #list
  if n > list_cap then
    list_cap = n < 16 and 16 or n
    list_buf = ffi.new('const tn_tensor*[?]', list_cap)
  end
  for i = 1, n do
    local t = list[i]
    if getmetatable(t) ~= mt then argerror(fn, 'element %d of the list is a %s, expected a tensor', i, type(t)) end
    list_buf[i - 1] = t._c
  end
  return n, list_buf
end

-- Torch7's torch.cat(a, b, ..., [dim]): the tensors one by one. Returns the list, the dim and the options.
local function torch7_list(...)
  local list, n, i = {}, select('#', ...), 1
  while i <= n and is_tensor((select(i, ...))) do
    list[i] = (select(i, ...))
    i = i + 1
  end
  return list, (select(i, ...)), (select(i + 1, ...))
end

--- torch.cat(tensors, [dim], [{out=}]) -> Tensor
--- torch.cat(a, b, ..., [dim]) -> Tensor
-- The tensors of the list joined along dim (default 1). Sizes must match except along dim; dtypes promote as
-- in PyTorch; 1-d empty tensors are skipped. Torch7's torch.cat(a, b, dim) works too. Aliases: torch.concat,
-- torch.concatenate.
-- Example: torch.cat({torch.zeros(2, 3), torch.ones(1, 3)})   -- 3 x 3
function torch.cat(tensors, dim, opts, ...)
  if is_tensor(tensors) then
    local list, d, o = torch7_list(tensors, dim, opts, ...)
    return torch.cat(list, d, o)
  end
  if is_opts(dim) then dim, opts = dim.dim, dim end
  local n, buf = tensor_list('cat', tensors)
  local out = out_of(opts)
  return produce(C.tn_cat(out and out._c, n, buf, cdim('cat', dim or 1)), out)
end
alias(torch, 'concat', 'cat')
alias(torch, 'concatenate', 'cat')

--- torch.stack(tensors, [dim], [{out=}]) -> Tensor
-- The tensors (all of one size) joined along a new dim (default 1; -1 is a new last dim).
-- Example: torch.stack({torch.zeros(3), torch.ones(3)}, 2)   -- 3 x 2
function torch.stack(tensors, dim, opts)
  if is_opts(dim) then dim, opts = dim.dim, dim end
  local n, buf = tensor_list('stack', tensors)
  local out = out_of(opts)
  return produce(C.tn_stack(out and out._c, n, buf, cdim('stack', dim or 1)), out)
end

--- torch.atleast_1d(x) -> Tensor
--- torch.atleast_2d(x) -> Tensor
--- torch.atleast_3d(x) -> Tensor
-- x with dimensions of size 1 added until it has at least 1, 2 or 3 (a 1-d [n] becomes [1 x n], then
-- [1 x n x 1]; a 2-d [m x n] becomes [m x n x 1]), as a view.
function torch.atleast_1d(x)
  if x:dim() >= 1 then return x end
  return x:reshape(1)
end
function torch.atleast_2d(x)
  local d = x:dim()
  if d >= 2 then return x end
  if d == 1 then return x:unsqueeze(1) end
  return x:reshape(1, 1)
end
function torch.atleast_3d(x)
  local d = x:dim()
  if d >= 3 then return x end
  if d == 2 then return x:unsqueeze(3) end
  if d == 1 then return x:unsqueeze(1):unsqueeze(3) end
  return x:reshape(1, 1, 1)
end

local function mapped(fn, list, f)
  if type(list) ~= 'table' or is_tensor(list) then argerror(fn, 'expected a list of tensors, got %s', type(list)) end
  local r = {}
  for i = 1, #list do
    r[i] = f(core.c_of(list[i], fn, 'element ' .. i) and list[i])
  end
  return r
end

--- torch.hstack(tensors) -> Tensor
-- The tensors joined horizontally: along dim 1 when all are 1-d, else along dim 2.
function torch.hstack(list, opts)
  local l = mapped('hstack', list, torch.atleast_1d)
  local all_1d = true
  for i = 1, #l do all_1d = all_1d and l[i]:dim() == 1 end
  return torch.cat(l, all_1d and 1 or 2, opts)
end

--- torch.vstack(tensors) -> Tensor
-- The tensors joined vertically (along dim 1), 1-d tensors taken as rows. Alias: torch.row_stack.
function torch.vstack(list, opts) return torch.cat(mapped('vstack', list, torch.atleast_2d), 1, opts) end
alias(torch, 'row_stack', 'vstack')

--- torch.dstack(tensors) -> Tensor
-- The tensors joined along dim 3, after atleast_3d.
function torch.dstack(list, opts) return torch.cat(mapped('dstack', list, torch.atleast_3d), 3, opts) end

--- torch.column_stack(tensors) -> Tensor
-- The tensors joined as columns (along dim 2); 0-d and 1-d tensors become columns.
function torch.column_stack(list, opts)
  return torch.cat(mapped('column_stack', list, function(t)
    if t:dim() <= 1 then return t:reshape(-1, 1) end
    return t
  end), 2, opts)
end

--- Tensor:unbind([dim]) -> list
--- torch.unbind(x, [dim]) -> list
-- The slices of x along dim (default 1), as a list of views (x:select(dim, i) for each i).
function Tensor:unbind(dim)
  local c = self._c
  dim_of('unbind', dim or 1, c.ndim)
  local list = {}
  for i = 1, self:size(dim or 1) do list[i] = self:select(dim or 1, i) end
  return list
end

-- ---- flip and roll ----

-- dims as varargs or one table, into the scratch int32 buffer (0-based for C); returns the count.
local function dims_list(fn, first, ...)
  local n, from_table = select('#', ...) + 1, type(first) == 'table'
  if from_table then n = #first end
  if first == nil then n = 0 end
  if n > MAX_DIMS then argerror(fn, 'at most %d dimensions, got %d', MAX_DIMS, n) end
  for i = 1, n do
    local d = from_table and first[i] or (i == 1 and first or select(i - 1, ...))
    dims_buf[i - 1] = cdim(fn, d)
  end
  return n
end

--- Tensor:flip(dims...) -> Tensor
--- torch.flip(x, dims) -> Tensor
-- A copy of x with the order of elements reversed along each given dim (varargs or a table).
-- Example: torch.tensor({{1, 2}, {3, 4}}):flip(2)   -- {{2, 1}, {4, 3}}
function Tensor:flip(...)
  local n = dims_list('flip', ...)
  return wrap(C.tn_flip(nil, self._c, n, dims_buf))
end

function torch.flip(x, dims, opts)
  local n = dims_list('flip', dims)
  local out = out_of(opts)
  return produce(C.tn_flip(out and out._c, core.c_of(x, 'flip', 'the input'), n, dims_buf), out)
end

--- Tensor:fliplr() -> Tensor
--- Tensor:flipud() -> Tensor
-- x flipped left-right (along dim 2; x needs at least 2 dims) or up-down (along dim 1).
function Tensor:fliplr()
  if self:dim() < 2 then argerror('fliplr', 'expects a tensor with at least 2 dimensions, got %d', self:dim()) end
  return self:flip(2)
end
function Tensor:flipud()
  if self:dim() < 1 then argerror('flipud', 'expects a tensor with at least 1 dimension') end
  return self:flip(1)
end

local shifts_buf = ffi.new('int64_t[16]')

--- Tensor:roll(shifts, [dims]) -> Tensor
--- torch.roll(x, shifts, [dims]) -> Tensor
-- x with its elements shifted cyclically by shifts along dims (numbers or tables of equal length); elements
-- pushed off the end come back at the start. Without dims, x is rolled as a flattened tensor and keeps its
-- shape.
-- Example: torch.tensor({1, 2, 3, 4}):roll(1)   -- {4, 1, 2, 3}
function Tensor:roll(shifts, dims)
  local fn = 'roll'
  local list = type(shifts) == 'table' and shifts or { shifts }
  local n = #list
  if n == 0 or n > MAX_DIMS then argerror(fn, 'expected 1 to %d shifts, got %d', MAX_DIMS, n) end
  for i = 1, n do shifts_buf[i - 1] = args.integer(fn, 'shift', list[i]) end
  if dims == nil then
    if n ~= 1 then argerror(fn, 'without dims, expected one shift, got %d', n) end
    return wrap(C.tn_roll(nil, self._c, 1, shifts_buf, nil))
  end
  local dlist = type(dims) == 'table' and dims or { dims }
  if #dlist ~= n then argerror(fn, 'shifts and dims must have the same length, got %d and %d', n, #dlist) end
  for i = 1, n do dims_buf[i - 1] = cdim(fn, dlist[i]) end
  return wrap(C.tn_roll(nil, self._c, n, shifts_buf, dims_buf))
end

-- ---- tril and triu ----

local function diagonal_arg(fn, k)
  if is_opts(k) then k = k.diagonal end
  if k == nil then return 0 end
  return args.integer(fn, 'diagonal', k)
end

--- Tensor:tril([k]) -> Tensor
--- torch.tril(x, [k], [{out=}]) -> Tensor
-- The lower triangle of the last two dims of x (a batch of matrices): elements above diagonal k (0 is the
-- main diagonal, k > 0 above it, k < 0 below) are zeroed. tril_ works in place.
-- Example: torch.ones(3, 3):tril()   -- ones on and below the diagonal
function Tensor:tril(k) return wrap(C.tn_tril(nil, self._c, diagonal_arg('tril', k))) end
--- Tensor:triu([k]) -> Tensor
--- torch.triu(x, [k], [{out=}]) -> Tensor
-- The upper triangle: elements below diagonal k are zeroed. triu_ works in place.
function Tensor:triu(k) return wrap(C.tn_triu(nil, self._c, diagonal_arg('triu', k))) end

function Tensor:tril_(k)
  if C.tn_tril(self._c, self._c, diagonal_arg('tril_', k)) == nil then core.c_error() end
  return self
end
function Tensor:triu_(k)
  if C.tn_triu(self._c, self._c, diagonal_arg('triu_', k)) == nil then core.c_error() end
  return self
end

function torch.tril(x, k, opts)
  if is_opts(k) then k, opts = k.diagonal, k end
  local out = out_of(opts)
  return produce(C.tn_tril(out and out._c, core.c_of(x, 'tril', 'the input'), diagonal_arg('tril', k)), out)
end
function torch.triu(x, k, opts)
  if is_opts(k) then k, opts = k.diagonal, k end
  local out = out_of(opts)
  return produce(C.tn_triu(out and out._c, core.c_of(x, 'triu', 'the input'), diagonal_arg('triu', k)), out)
end

-- ---- diagonals ----

--- torch.diag_embed(x, [offset [, dim1 [, dim2]]]) -> Tensor
-- A tensor with one more dim than x whose diagonals (offset as in diagonal) between dims dim1 and dim2 of the
-- result (default -2 and -1) hold the last dim of x, zeros elsewhere: a batch of diagonal matrices from a batch
-- of vectors. Arguments may also be given as a table {offset=, dim1=, dim2=}. Differentiable.
function torch.diag_embed(x, offset, dim1, dim2)
  local fn = 'diag_embed'
  core.c_of(x, fn, 'the input')
  if is_opts(offset) then offset, dim1, dim2 = offset.offset, offset.dim1, offset.dim2 end
  offset = offset == nil and 0 or args.integer(fn, 'offset', offset)
  local ndim = x:dim() + 1
  local d1, d2 = dim_of(fn, dim1 or -2, ndim), dim_of(fn, dim2 or -1, ndim)
  if d1 == d2 then argerror(fn, 'dim1 and dim2 must differ, got %d and %d', d1 + 1, d2 + 1) end
  local n = (ndim > 1 and x:size(-1) or 1) + math.abs(offset)
  local shape, batch = {}, x:shape()
  local k = 1
  for d = 0, ndim - 1 do
    if d == d1 or d == d2 then
      shape[d + 1] = n
    else
      shape[d + 1] = batch[k]
      k = k + 1
    end
  end
  local out = torch.zeros(shape, { dtype = x:dtype(), device = x:device() })
  out:diagonal(offset, d1 + 1, d2 + 1):copy_(x)
  return out
end

--- Tensor:diag([k]) -> Tensor
--- torch.diag(x, [k]) -> Tensor
-- Of a vector: the square matrix with x on diagonal k (0 the main one, k > 0 above it, k < 0 below), zeros
-- elsewhere. Of a matrix: its diagonal k as a new vector. Differentiable.
function Tensor:diag(k)
  k = diagonal_arg('diag', k)
  local nd = self:dim()
  if nd == 1 then return torch.diag_embed(self, k) end
  if nd == 2 then return self:diagonal(k):clone() end
  argerror('diag', 'expects a 1-d or 2-d tensor, got %d dims', nd)
end

--- Tensor:trace() -> number
--- torch.trace(x) -> number
-- The sum of the main diagonal of a matrix: a number, or a 0-d tensor when x requires grad (as sum).
function Tensor:trace()
  if self:dim() ~= 2 then argerror('trace', 'expects a matrix (2-d), got %d dims', self:dim()) end
  return self:diagonal():sum()
end
core.function_forms({ 'diag', 'trace' })

-- ---- repeat ----

local repeats_buf = ffi.new('int64_t[16]')

-- Repeat counts as varargs, one table or a torch.Size, into repeats_buf; returns the count.
local function counts_list(fn, first, ...)
  local from_table = type(first) == 'table' and not is_tensor(first)
  local n = from_table and #first or select('#', ...) + 1
  if first == nil then n = 0 end
  if n > MAX_DIMS then argerror(fn, 'at most %d dimensions, got %d', MAX_DIMS, n) end
  for i = 1, n do
    local r = from_table and first[i] or (i == 1 and first or select(i - 1, ...))
    if not args.is_integer(r) then argerror(fn, 'repeat count %d must be an integer, got %s', i, tostring(r)) end
    repeats_buf[i - 1] = r
  end
  return n
end

--- Tensor:repeatTensor(counts...) -> Tensor
--- torch.repeatTensor(x, counts...) -> Tensor
-- x tiled counts[i] times along each dim i (PyTorch's x.repeat; `repeat` is a Lua keyword). There must be
-- at least as many counts as x has dims; extra counts add leading dims. Counts are varargs or a table.
-- Example: torch.tensor({1, 2}):repeatTensor(2, 2)   -- {{1, 2, 1, 2}, {1, 2, 1, 2}}
function Tensor:repeatTensor(...)
  local n = counts_list('repeatTensor', ...)
  return wrap(C.tn_repeat(nil, self._c, n, repeats_buf))
end

--- Tensor:tile(counts...) -> Tensor
--- torch.tile(x, counts) -> Tensor
-- Like repeatTensor, but fewer counts than dims are padded with 1s in front (NumPy's tile).
function Tensor:tile(...)
  local n = counts_list('tile', ...)
  local nd = self._c.ndim
  if n < nd then
    for i = n - 1, 0, -1 do repeats_buf[i + nd - n] = repeats_buf[i] end
    for i = 0, nd - n - 1 do repeats_buf[i] = 1 end
    n = nd
  end
  return wrap(C.tn_repeat(nil, self._c, n, repeats_buf))
end

--- Tensor:repeat_interleave(repeats, [dim], [{output_size=}]) -> Tensor
--- torch.repeat_interleave(x, repeats, [dim]) -> Tensor
--- torch.repeat_interleave(repeats) -> Tensor
-- Each element of x (or each slice along dim) repeated: `repeats` times each (a number), or repeats[i] times
-- for slice i (a 1-d integer tensor or table). Without dim, x is flattened first. The one-argument form
-- gives the 1-based indices 1, 2, ... repeated repeats[i] times each.
-- Example: torch.tensor({1, 2}):repeat_interleave(2)   -- {1, 1, 2, 2}
function Tensor:repeat_interleave(repeats, dim, opts)
  local fn = 'repeat_interleave'
  if is_opts(dim) then dim, opts = dim.dim, dim end
  local c = self._c
  local d = dim ~= nil and dim_of(fn, dim, c.ndim) or 0
  local r
  if type(repeats) == 'table' and not is_tensor(repeats) then repeats = torch.tensor(repeats, { dtype = 'int64' }) end
  if is_tensor(repeats) then
    r = C.tn_repeat_interleave(nil, c, repeats._c, 0, d, dim ~= nil and 1 or 0)
  else
    r = C.tn_repeat_interleave(nil, c, nil, args.integer(fn, 'repeats', repeats), d, dim ~= nil and 1 or 0)
  end
  local result = wrap(r)
  if is_opts(opts) and opts.output_size ~= nil and result:size(dim or 1) ~= opts.output_size then
    argerror(fn, 'output_size %s does not match the result size %d', tostring(opts.output_size),
             result:size(dim or 1))
  end
  return result
end

function torch.repeat_interleave(x, repeats, dim, opts)
  if repeats == nil then
    return wrap(C.tn_repeat_interleave_index(core.c_of(x, 'repeat_interleave', 'repeats'), 1))
  end
  core.c_of(x, 'repeat_interleave', 'the input')
  return x:repeat_interleave(repeats, dim, opts)
end

-- ---- functional forms ----

core.function_forms({ 'unbind', 'repeatTensor', 'fliplr', 'flipud', 'roll', 'tril_', 'triu_' })

function torch.tile(x, counts)
  core.c_of(x, 'tile', 'the input')
  return x:tile(counts)
end

return {}
