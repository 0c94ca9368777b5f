-- tensor.builders: tensors built from other tensors, and the out-of-place scatters into views, all written with
-- existing ops so that autograd differentiates them through those: block_diag, cartesian_prod, combinations,
-- vander and linalg.vander, tril_indices/triu_indices, rot90, diagflat, tensordot, sum_to_size,
-- split_with_sizes (with the unsafe_split/unsafe_chunk aliases), select_scatter, slice_scatter, diagonal_scatter.
local core = require 'tensor.core'
local args = require 'tensor.args'
local dtype = require 'tensor.dtype'

local torch, Tensor = core.torch, core.Tensor
local is_tensor, is_opts, argerror, dim_of = core.is_tensor, args.is_opts, args.argerror, args.dim
local alias = core.alias

local function shape_string(s) return '[' .. table.concat(s, ' x ') .. ']' end

-- The tensors of f(t1, t2, ...) or f({t1, t2, ...}), checked to be tensors on one device.
local function tensor_list(fn, ...)
  local first, n = (select(1, ...)), select('#', ...)
  local list = { ... }
  if n == 1 and type(first) == 'table' and not is_tensor(first) then list, n = first, #first end
  for i = 1, n do
    local t = list[i]
    if not is_tensor(t) then argerror(fn, 'argument %d must be a tensor, got %s', i, type(t)) end
    if t:device() ~= list[1]:device() then
      argerror(fn, 'expects tensors on one device, got %s (tensor 1) and %s (tensor %d)', list[1]:device(),
               t:device(), i)
    end
  end
  return list
end

local function check_device(fn, a, b, what)
  if a:device() ~= b:device() then
    argerror(fn, '%s is on %s but the input is on %s', what, b:device(), a:device())
  end
end

-- ---- building tensors from tensors ----

--- torch.block_diag(tensor...) -> Tensor
--- torch.block_diag({tensors}) -> Tensor
-- The block-diagonal matrix with the given tensors on its diagonal, in order, and zeros elsewhere. Each tensor
-- is a matrix, a vector (a 1 x n block) or a 0-d tensor (a 1 x 1 block); dtypes promote as in PyTorch. With no
-- tensor, an empty [1 x 0] matrix, as PyTorch.
-- Example: torch.block_diag(torch.ones(2, 2), torch.tensor({5}))   -- 3 x 3
function torch.block_diag(...)
  local fn = 'block_diag'
  local list = tensor_list(fn, ...)
  if #list == 0 then return torch.empty(1, 0) end
  local blocks, rows, cols, dt = {}, 0, 0, nil
  for i, t in ipairs(list) do
    if t:dim() > 2 then argerror(fn, 'expects tensors of 2 or fewer dims, tensor %d has %d', i, t:dim()) end
    blocks[i] = t:dim() == 2 and t or t:reshape(1, -1)
    rows, cols = rows + blocks[i]:size(1), cols + blocks[i]:size(2)
    dt = dt and torch.promote_types(dt, t:dtype()) or t:dtype()
  end
  local out = torch.zeros(rows, cols, { dtype = dt, device = list[1]:device() })
  local row, col = 1, 1
  for _, b in ipairs(blocks) do
    local h, w = b:size(1), b:size(2)
    if h * w > 0 then out:narrow(1, row, h):narrow(2, col, w):copy_(b) end
    row, col = row + h, col + w
  end
  return out
end

--- torch.cartesian_prod(tensor...) -> Tensor
--- torch.cartesian_prod({tensors}) -> Tensor
-- The Cartesian product of k 1-d tensors of one dtype: a [N x k] tensor whose rows are every tuple of one element
-- of each, the last tensor varying fastest (itertools.product's order). One tensor is returned as it is.
-- Example: torch.cartesian_prod(torch.tensor({1, 2}), torch.tensor({3, 4}))   -- {{1, 3}, {1, 4}, {2, 3}, {2, 4}}
function torch.cartesian_prod(...)
  local fn = 'cartesian_prod'
  local list = tensor_list(fn, ...)
  if #list == 0 then argerror(fn, 'expects at least one tensor') end
  for i, t in ipairs(list) do
    if t:dim() ~= 1 then argerror(fn, 'expects 1-d tensors, tensor %d has size %s', i, shape_string(t:shape())) end
    if t:dtype() ~= list[1]:dtype() then
      argerror(fn, 'expects tensors of one dtype, got %s (tensor 1) and %s (tensor %d)', list[1]:dtype(), t:dtype(), i)
    end
  end
  if #list == 1 then return list[1] end
  local columns = torch.meshgrid(list)
  for i, grid in ipairs(columns) do columns[i] = grid:reshape(-1) end
  return torch.stack(columns, 2)
end

--- torch.combinations(x, [r [, with_replacement]]) -> Tensor
-- The r-element combinations (default r = 2) of the elements of the 1-d tensor x, as the rows of an [N x r]
-- tensor in lexicographic order of positions (itertools.combinations' order); with_replacement (positional or
-- {r=, with_replacement=}) lets an element repeat. r = 0 gives an empty 1-d tensor, as PyTorch.
-- Example: torch.combinations(torch.tensor({1, 2, 3}))   -- {{1, 2}, {1, 3}, {2, 3}}
function torch.combinations(x, r, with_replacement)
  local fn = 'combinations'
  core.c_of(x, fn, 'the input')
  if is_opts(r) then r, with_replacement = r.r, r.with_replacement end
  r = r == nil and 2 or args.integer(fn, 'r', r)
  if r < 0 then argerror(fn, 'r must be non-negative, got %d', r) end
  if x:dim() ~= 1 then argerror(fn, 'expects a 1-d tensor, got size %s', shape_string(x:shape())) end
  if r == 0 then return torch.empty(0, { dtype = x:dtype(), device = x:device() }) end
  -- the positions of each combination, enumerated in Lua, then one index_select
  local n, flat, chosen, count = x:size(1), {}, {}, 0
  local function choose(k, from)
    if k > r then
      for j = 1, r do flat[#flat + 1] = chosen[j] end
      count = count + 1
      return
    end
    for p = from, n do
      chosen[k] = p
      choose(k + 1, with_replacement and p or p + 1)
    end
  end
  choose(1, 1)
  local positions = torch.tensor(flat, { dtype = 'int64', device = x:device() })
  return x:index_select(1, positions):reshape(count, r)
end

-- The powers x^0, x^1, ..., x^(n-1) of the elements of x along a new last dim, by repeated products (so that
-- gradients are exact at zero); integer and bool x give int64, as PyTorch.
local function powers(x, n)
  local kind = tonumber(x._c.dtype)
  local base = dtype.floating[kind] and x or x:to('int64')
  if n == 0 then
    local shape = base:shape()
    shape[#shape + 1] = 0
    return torch.empty(shape, { dtype = base:dtype(), device = base:device() })
  end
  local columns = { torch.ones_like(base) }
  for k = 2, n do columns[k] = columns[k - 1] * base end
  return torch.stack(columns, -1)
end

--- torch.vander(x, [N [, increasing]]) -> Tensor
-- The Vandermonde matrix of the 1-d tensor x: N columns (default #x), x^(N-1), ..., x^1, x^0 from left to right,
-- or x^0 first with increasing (positional or {N=, increasing=}). Integer and bool x give int64.
-- Example: torch.vander(torch.tensor({1, 2, 3}), 3)   -- {{1, 1, 1}, {4, 2, 1}, {9, 3, 1}}
function torch.vander(x, N, increasing)
  local fn = 'vander'
  core.c_of(x, fn, 'x')
  if is_opts(N) then N, increasing = N.N, N.increasing end
  if x:dim() ~= 1 then argerror(fn, 'x must be a 1-d tensor, got size %s', shape_string(x:shape())) end
  N = N == nil and x:size(1) or args.integer(fn, 'N', N)
  if N < 0 then argerror(fn, 'N must be non-negative, got %d', N) end
  local out = powers(x, N)
  if increasing or N == 0 then return out end
  return out:flip(2)
end

--- torch.linalg.vander(x, [{N=}]) -> Tensor
-- The Vandermonde matrices of the last dim of x (a batch of vectors; 0-d counts as one element): x^0, x^1, ...,
-- x^(N-1) along a new last dim, N (default x:size(-1)) at least 2, as PyTorch. Integer x gives int64; bool is
-- refused, as PyTorch.
-- Example: torch.linalg.vander(torch.tensor({1, 2, 3}))   -- {{1, 1, 1}, {1, 2, 4}, {1, 3, 9}}
function torch.linalg.vander(x, opts)
  local fn = 'linalg.vander'
  core.c_of(x, fn, 'x')
  local N = opts
  if is_opts(opts) then N = opts.N end
  if x:dtype() == 'bool' then argerror(fn, 'supports floating point and integer tensors, got bool') end
  if x:dim() == 0 then x = x:reshape(1) end
  N = N == nil and x:size(-1) or args.integer(fn, 'N', N)
  if N < 2 then argerror(fn, 'N must be greater than 1, got %d', N) end
  return powers(x, N)
end

local function triangle_indices(fn, keep, row, col, offset, opts)
  if is_opts(offset) then offset, opts = offset.offset, offset end
  opts = opts or {}
  args.integer(fn, 'row', row)
  args.integer(fn, 'col', col)
  offset = offset == nil and 0 or args.integer(fn, 'offset', offset)
  if row < 0 then argerror(fn, 'row must be non-negative, got %d', row) end
  if col < 0 then argerror(fn, 'col must be non-negative, got %d', col) end
  local dt = opts.dtype and dtype.parse(opts.dtype, fn) or dtype.INT64
  if not dtype.integral[dt] then argerror(fn, 'dtype must be an integer dtype, got %s', dtype.name[dt]) end
  -- nonzero lists the kept positions 1-based and in row-major order, the order PyTorch gives them in
  local triangle = Tensor[keep](torch.ones(row, col, { dtype = 'bool', device = opts.device }), offset)
  return triangle:nonzero():t():contiguous():to(dtype.name[dt])
end

--- torch.tril_indices(row, col, [offset], [{offset=, dtype='int64', device=}]) -> Tensor
-- The coordinates of the lower triangle (on and below diagonal offset, as tril) of a [row x col] matrix, as a
-- [2 x N] tensor: row indices, then column indices, in row-major order. The indices are 1-based (PyTorch's plus
-- one), like every index of this API, so that x[{i, j}] reads each position.
-- Example: torch.tril_indices(2, 2)   -- {{1, 2, 2}, {1, 1, 2}}
function torch.tril_indices(row, col, offset, opts)
  return triangle_indices('tril_indices', 'tril', row, col, offset, opts)
end

--- torch.triu_indices(row, col, [offset], [{offset=, dtype='int64', device=}]) -> Tensor
-- The 1-based coordinates of the upper triangle (on and above diagonal offset, as triu) of a [row x col] matrix,
-- as a [2 x N] tensor in row-major order, as tril_indices.
-- Example: torch.triu_indices(2, 2)   -- {{1, 1, 2}, {1, 2, 2}}
function torch.triu_indices(row, col, offset, opts)
  return triangle_indices('triu_indices', 'triu', row, col, offset, opts)
end

-- ---- rearranging ----

--- Tensor:rot90([k [, dims]]) -> Tensor
--- torch.rot90(x, [k [, dims]]) -> Tensor
-- x rotated by 90 degrees k times (default 1; negative turns the other way) in the plane of the two dims
-- (default {1, 2}), from the first dim towards the second (positional or {k=, dims=}), as PyTorch.
-- Example: torch.tensor({{1, 2}, {3, 4}}):rot90()   -- {{2, 4}, {1, 3}}
function Tensor:rot90(k, dims)
  local fn = 'rot90'
  if is_opts(k) then k, dims = k.k, k.dims end
  k = k == nil and 1 or args.integer(fn, 'k', k)
  dims = dims or { 1, 2 }
  if type(dims) ~= 'table' or #dims ~= 2 then
    argerror(fn, 'expects 2 rotation dims, got %s', type(dims) == 'table' and #dims or tostring(dims))
  end
  local n = self:dim()
  if n < 2 then argerror(fn, 'expects a tensor of at least 2 dims, got %d', n) end
  local d1, d2 = dim_of(fn, dims[1], n) + 1, dim_of(fn, dims[2], n) + 1
  if d1 == d2 then argerror(fn, 'the rotation dims must differ, got %d and %d', dims[1], dims[2]) end
  k = k % 4
  if k == 1 then return self:flip(d2):transpose(d1, d2) end
  if k == 2 then return self:flip(d1, d2) end
  if k == 3 then return self:flip(d1):transpose(d1, d2) end
  return self:clone()
end

--- Tensor:diagflat([offset]) -> Tensor
--- torch.diagflat(x, [offset]) -> Tensor
-- The square matrix with the elements of x (flattened) on diagonal offset (0 the main one, > 0 above it, < 0
-- below; positional or {offset=}) and zeros elsewhere.
-- Example: torch.tensor({{1, 2}, {3, 4}}):diagflat()   -- 4 x 4 with 1, 2, 3, 4 on the diagonal
function Tensor:diagflat(offset)
  if is_opts(offset) then offset = offset.offset end
  offset = offset == nil and 0 or args.integer('diagflat', 'offset', offset)
  return torch.diag_embed(self:reshape(-1), offset)
end

-- A contraction dim list of tensordot: a dim or a table of dims, 1-based positive, without repeats.
local function contracted(fn, list, t, which)
  if type(list) == 'number' then list = { list } end
  if type(list) ~= 'table' then argerror(fn, 'dims must be a number or a pair of dim lists, got %s', type(list)) end
  local out, seen = {}, {}
  for i, d in ipairs(list) do
    out[i] = dim_of(fn, d, t:dim()) + 1
    if seen[out[i]] then argerror(fn, 'dim %d of the %s tensor appears more than once', out[i], which) end
    seen[out[i]] = true
  end
  return out, seen
end

--- torch.tensordot(a, b, [dims]) -> Tensor
-- The sum of products of a and b over pairs of dims: dims = n (default 2) pairs the last n dims of a with the
-- first n of b, in order; dims = {{dims of a}, {dims of b}} (1-based, negative from the end) pairs them
-- explicitly. The result has a's other dims, then b's. Paired dims must have one size, or one of them size 1
-- (then the other is summed first, as PyTorch). Both tensors must have one dtype.
-- Example: torch.tensordot(torch.randn(2, 3, 4), torch.randn(4, 3, 5), {{2, 3}, {2, 1}})   -- 2 x 5
function torch.tensordot(a, b, dims)
  local fn = 'tensordot'
  core.c_of(a, fn, 'a')
  core.c_of(b, fn, 'b')
  if is_opts(dims) then dims = dims.dims end
  if dims == nil then dims = 2 end
  if a:dtype() ~= b:dtype() then argerror(fn, 'expects tensors of one dtype, got %s and %s', a:dtype(), b:dtype()) end
  check_device(fn, a, b, 'b')
  local na, nb = a:dim(), b:dim()
  local da, db, in_a, in_b
  if type(dims) == 'number' then
    args.integer(fn, 'dims', dims)
    if dims < 0 then argerror(fn, 'dims must be non-negative, got %d', dims) end
    if dims > na or dims > nb then
      argerror(fn, 'cannot contract %d dims of tensors of %d and %d dims', dims, na, nb)
    end
    da, db, in_a, in_b = {}, {}, {}, {}
    for i = 1, dims do
      da[i], db[i] = na - dims + i, i
      in_a[da[i]], in_b[i] = true, true
    end
  elseif type(dims) == 'table' and not is_tensor(dims) and #dims == 2 then
    da, in_a = contracted(fn, dims[1], a, 'first')
    db, in_b = contracted(fn, dims[2], b, 'second')
    if #da ~= #db then argerror(fn, 'both dim lists must have one length, got %d and %d', #da, #db) end
  else
    argerror(fn, 'dims must be a number or a pair of dim lists, got %s', is_tensor(dims) and 'a tensor' or type(dims))
  end
  local k = 1
  for i = 1, #da do
    local sa, sb = a:size(da[i]), b:size(db[i])
    if sb == 1 then
      a = a:sum(da[i], true)
    elseif sa == 1 then
      b = b:sum(db[i], true)
    elseif sa ~= sb then
      argerror(fn, 'contracted dims must have one size, got %d (dim %d of a) and %d (dim %d of b)', sa, da[i], sb, db[i])
    else
      k = k * sa
    end
  end
  -- a as [free x contracted], b as [contracted x free]: one matrix product
  local order_a, order_b, out_shape, free_a, free_b = {}, {}, {}, 1, 1
  for d = 1, na do
    if not in_a[d] then
      order_a[#order_a + 1], out_shape[#out_shape + 1], free_a = d, a:size(d), free_a * a:size(d)
    end
  end
  for i = 1, #da do order_a[#order_a + 1], order_b[i] = da[i], db[i] end
  for d = 1, nb do
    if not in_b[d] then
      order_b[#order_b + 1], out_shape[#out_shape + 1], free_b = d, b:size(d), free_b * b:size(d)
    end
  end
  local ma = (na > 0 and a:permute(order_a) or a):reshape(free_a, k)
  local mb = (nb > 0 and b:permute(order_b) or b):reshape(k, free_b)
  return ma:matmul(mb):reshape(out_shape)
end

--- Tensor:sum_to_size(size...) -> Tensor
-- x summed down to size (varargs or a table), which must expand to x's size: leading dims x has beyond size are
-- summed away, dims where size has 1 are summed keeping them. x itself when it has that size already.
-- Example: torch.ones(2, 3, 4):sum_to_size(3, 1)   -- 3 x 1 of 8s
function Tensor:sum_to_size(...)
  local fn = 'sum_to_size'
  local sizes = args.sizes_and_opts(fn, ...)
  local own = self:shape()
  local lead = #own - #sizes
  local fits = lead >= 0
  for i = 1, #sizes do
    if fits and sizes[i] ~= 1 and sizes[i] ~= own[lead + i] then fits = false end
  end
  if not fits then argerror(fn, 'size %s does not expand to the size %s of the tensor', shape_string(sizes), shape_string(own)) end
  local dims = {}
  for d = 1, lead do dims[#dims + 1] = d end
  for i = 1, #sizes do
    if sizes[i] == 1 and own[lead + i] ~= 1 then dims[#dims + 1] = lead + i end
  end
  if #dims == 0 then return self end
  local r = self:sum(dims, true)
  if lead > 0 then r = r:reshape(sizes) end
  return r
end

--- Tensor:split_with_sizes(sizes, [dim]) -> {Tensor...}
--- torch.split_with_sizes(x, sizes, [dim]) -> {Tensor...}
-- x:split(sizes, dim) for a table of sizes that must add up to the size of dim (default 1): views of those sizes.
-- Example: torch.arange(5):split_with_sizes({2, 3})   -- {0, 1} and {2, 3, 4}
function Tensor:split_with_sizes(sizes, dim)
  local fn = 'split_with_sizes'
  if is_opts(dim) then dim = dim.dim end
  if type(sizes) ~= 'table' or is_tensor(sizes) then argerror(fn, 'expects a table of sizes, got %s', type(sizes)) end
  if self:dim() == 0 then argerror(fn, 'cannot split a 0-d tensor') end
  local d = dim_of(fn, dim or 1, self:dim()) + 1
  local sum = 0
  for i, s in ipairs(sizes) do
    if not args.is_integer(s) or s < 0 then argerror(fn, 'size %d must be a non-negative integer, got %s', i, tostring(s)) end
    sum = sum + s
  end
  if sum ~= self:size(d) then
    argerror(fn, 'the sizes add up to %d but dim %d has size %d', sum, d, self:size(d))
  end
  return self:split(sizes, d)
end

--- Tensor:unsafe_split(split_size, [dim]) -> {Tensor...}
--- Tensor:unsafe_chunk(n, [dim]) -> {Tensor...}
-- split and chunk under PyTorch's names for views that autograd need not check (here the same views).
alias(Tensor, 'unsafe_split', 'split')
alias(Tensor, 'unsafe_chunk', 'chunk')

-- ---- out-of-place scatters into views ----

-- A copy of x whose region (region_of(copy), a view) holds src instead: differentiable, the gradient of x
-- flowing outside the region and the gradient of src inside it (the copy_ into the view is recorded).
local function embed(fn, x, src, region_of)
  if not is_tensor(src) then argerror(fn, 'src must be a tensor, got %s', type(src)) end
  check_device(fn, x, src, 'src')
  local out = x:clone()
  local region = region_of(out)
  if not region:is_same_size(src) then
    argerror(fn, 'src of size %s does not match the size %s of the slice it fills', shape_string(src:shape()),
             shape_string(region:shape()))
  end
  region:copy_(src)
  return out
end

--- Tensor:select_scatter(src, dim, index) -> Tensor
--- torch.select_scatter(x, src, dim, index) -> Tensor
-- A copy of x with src written into x:select(dim, index) (index 1-based, negative from the end), src having that
-- slice's size; src is converted to x's dtype. Differentiable in x and src.
-- Example: torch.zeros(2, 3):select_scatter(torch.ones(2), 2, 1)   -- column 1 set to ones
function Tensor:select_scatter(src, dim, index)
  local fn = 'select_scatter'
  if self:dim() == 0 then argerror(fn, 'cannot select on a 0-d tensor') end
  local d = dim_of(fn, dim, self:dim()) + 1
  local size = self:size(d)
  args.integer(fn, 'index', index)
  if index > size or index < -size or index == 0 then
    argerror(fn, 'index %d is out of range for dim %d of size %d', index, d, size)
  end
  return embed(fn, self, src, function(out) return out:select(d, index) end)
end

--- Tensor:slice_scatter(src, [dim [, start [, end [, step]]]]) -> Tensor
--- torch.slice_scatter(x, src, [dim [, start [, end [, step]]]]) -> Tensor
-- A copy of x with src written into the slice of dim (default 1) from start to end, both included and 1-based
-- (negative from the end; defaults: the first and the last), every step-th element (default 1), as the table
-- index x[{..., {start, end}, ...}] reads it; so PyTorch's slice_scatter(src, d, s, e) is slice_scatter(src,
-- d + 1, s + 1, e) here for non-negative s and e. Arguments may also be given as {dim=, start=, ['end']=, step=}.
-- src has the slice's size and is converted to x's dtype. Differentiable in x and src.
-- Example: torch.zeros(2, 5):slice_scatter(torch.ones(2, 2), 2, 2, 4, 2)   -- columns 2 and 4 set to ones
function Tensor:slice_scatter(src, dim, start, stop, step)
  local fn = 'slice_scatter'
  if is_opts(dim) then dim, start, stop, step = dim.dim, dim.start, dim['end'], dim.step end
  if self:dim() == 0 then argerror(fn, 'cannot slice a 0-d tensor') end
  local d = dim_of(fn, dim or 1, self:dim()) + 1
  local size = self:size(d)
  local first = start == nil and 1 or args.integer(fn, 'start', start)
  local last = stop == nil and size or args.integer(fn, 'end', stop)
  step = step == nil and 1 or args.integer(fn, 'step', step)
  if step < 1 then argerror(fn, 'step must be positive, got %d', step) end
  if first < 0 then first = first + size + 1 end
  if last < 0 then last = last + size + 1 end
  if first < 1 or first > size + 1 or last > size or last < first - 1 then
    argerror(fn, 'start %s and end %s are out of range for dim %d of size %d', tostring(start), tostring(stop), d, size)
  end
  local count = last < first and 0 or math.floor((last - first) / step) + 1
  return embed(fn, self, src, function(out)
    if step == 1 or count <= 1 then return out:narrow(d, first, count) end
    -- windows of one element, step apart: the strided slice as a view
    return out:narrow(d, first, (count - 1) * step + 1):unfold(d, 1, step):select(-1, 1)
  end)
end

--- Tensor:diagonal_scatter(src, [offset [, dim1 [, dim2]]]) -> Tensor
--- torch.diagonal_scatter(x, src, [offset [, dim1 [, dim2]]]) -> Tensor
-- A copy of x with src written into x:diagonal(offset, dim1, dim2) (defaults 0, 1, 2; or {offset=, dim1=, dim2=}),
-- src having that diagonal's size (the other dims, then the diagonal's length). Differentiable in x and src.
-- Example: torch.zeros(3, 3):diagonal_scatter(torch.ones(2), 1)   -- ones just above the diagonal
function Tensor:diagonal_scatter(src, offset, dim1, dim2)
  local fn = 'diagonal_scatter'
  if is_opts(offset) then offset, dim1, dim2 = offset.offset, offset.dim1, offset.dim2 end
  local n = self:dim()
  if n < 2 then argerror(fn, 'expects a tensor of at least 2 dims, got %d', n) end
  offset = offset == nil and 0 or args.integer(fn, 'offset', offset)
  local d1, d2 = dim_of(fn, dim1 or 1, n) + 1, dim_of(fn, dim2 or 2, n) + 1
  if d1 == d2 then argerror(fn, 'dim1 and dim2 must differ, got %d and %d', d1, d2) end
  return embed(fn, self, src, function(out) return out:diagonal(offset, d1, d2) end)
end

core.function_forms({ 'rot90', 'diagflat', 'split_with_sizes', 'unsafe_split', 'unsafe_chunk', 'select_scatter',
                     'slice_scatter', 'diagonal_scatter' })

return {}
