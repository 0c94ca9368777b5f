-- tensor.views: shape queries, views (no copy; they share storage), copies and the in-place header ops.
local ffi = require 'ffi'
local core = require 'tensor.core'
local alias = core.alias
local args = require 'tensor.args'

local C, wrap, check, torch, Tensor = core.C, core.wrap, core.check, core.torch, core.Tensor
local is_tensor, argerror, dim_of = core.is_tensor, args.argerror, args.dim
local sizes_buf, strides_buf, dims_buf = args.sizes_buf, args.strides_buf, args.dims_buf

-- ---- torch.Size: what x:size() returns (a Lua array of numbers with printing and comparison) ----

local Size = {}
Size.__index = Size
torch.Size = Size

function Size.new(t) return setmetatable(t, Size) end
--- torch.Size:numel() -> number
-- The number of elements of a tensor of this size (the product of the sizes).
function Size:numel()
  local n = 1
  for i = 1, #self do n = n * self[i] end
  return n
end
--- torch.Size:totable() -> table
-- The sizes as a plain Lua array.
function Size:totable()
  local t = {}
  for i = 1, #self do t[i] = self[i] end
  return t
end
Size.__tostring = function(self)
  local parts = {}
  for i = 1, #self do parts[i] = tostring(self[i]) end
  return 'torch.Size({' .. table.concat(parts, ', ') .. '})'
end
Size.__eq = function(a, b)
  if #a ~= #b then return false end
  for i = 1, #a do if a[i] ~= b[i] then return false end end
  return true
end
setmetatable(Size, { __call = function(_, t) return Size.new(t or {}) end })

-- ---- queries ----

--- Tensor:dim() -> number
-- The number of dimensions (0 for a scalar tensor). Torch7 names: x:nDimension(), x:ndimension().
function Tensor:dim() return self._c.ndim end
alias(Tensor, 'ndimension', 'dim')
alias(Tensor, 'nDimension', 'dim')

--- Tensor:numel() -> number
-- The number of elements. Torch7 name: x:nElement(). Also torch.numel(x).
function Tensor:numel() return tonumber(self._c.numel) end
alias(Tensor, 'nElement', 'numel')

--- Tensor:size(dim) -> number
--- Tensor:size() -> torch.Size
-- The size of dimension dim (1-based; negative counts from the end), or all sizes as a torch.Size (a Lua
-- array that prints as torch.Size({2, 3}) and compares with ==).
-- Example: torch.zeros(2, 3):size(2)   -- 3
function Tensor:size(d)
  local c = self._c
  if d ~= nil then
    if c.ndim == 0 then argerror('size', 'a 0-d tensor has no dimension %s', tostring(d)) end
    return tonumber(c.sizes[dim_of('size', d, c.ndim)])
  end
  local t = {}
  for i = 1, c.ndim do t[i] = tonumber(c.sizes[i - 1]) end
  return setmetatable(t, Size)
end

--- Tensor:shape() -> table
-- The sizes as a new plain Lua array, e.g. {2, 3}.
function Tensor:shape()
  local c, t = self._c, {}
  for i = 1, c.ndim do t[i] = tonumber(c.sizes[i - 1]) end
  return t
end

--- Tensor:stride(dim) -> number
--- Tensor:stride() -> table
-- The stride of dimension dim in elements, or all strides as a Lua array.
function Tensor:stride(d)
  local c = self._c
  if d ~= nil then
    if c.ndim == 0 then argerror('stride', 'a 0-d tensor has no dimension %s', tostring(d)) end
    return tonumber(c.strides[dim_of('stride', d, c.ndim)])
  end
  local t = {}
  for i = 1, c.ndim do t[i] = tonumber(c.strides[i - 1]) end
  return t
end

--- Tensor:storage_offset() -> number
-- Where the tensor starts in its storage, in elements, counted from 0 (PyTorch's convention).
function Tensor:storage_offset() return tonumber(self._c.offset) end
--- Tensor:storageOffset() -> number
-- Torch7's storage offset: x:storage_offset() + 1.
function Tensor:storageOffset() return tonumber(self._c.offset) + 1 end
--- Tensor:is_contiguous() -> boolean
-- Whether the elements lie in row-major order without gaps. Torch7 name: x:isContiguous().
function Tensor:is_contiguous() return C.tn_is_contiguous(self._c) == 1 end
alias(Tensor, 'isContiguous', 'is_contiguous')
--- Tensor:element_size() -> number
-- The size of one element in bytes. Torch7 name: x:elementSize().
function Tensor:element_size() return tonumber(C.tn_dtype_size(self._c.dtype)) end
alias(Tensor, 'elementSize', 'element_size')
--- Tensor:nbytes() -> number
-- The size of the elements in bytes: x:numel() * x:element_size().
function Tensor:nbytes() return self:numel() * self:element_size() end

--- Tensor:is_same_size(other) -> boolean
-- Whether the two tensors have the same sizes. Torch7 name: x:isSameSizeAs(other).
function Tensor:is_same_size(other)
  local a, b = self._c, core.c_of(other, 'is_same_size', 'other')
  if a.ndim ~= b.ndim then return false end
  for i = 0, a.ndim - 1 do if a.sizes[i] ~= b.sizes[i] then return false end end
  return true
end
alias(Tensor, 'isSameSizeAs', 'is_same_size')

-- The version counter autograd compares (shared by all views of one storage).
function Tensor:_version() return tonumber(self._c.storage.version) end

--- Tensor:is_set_to(other) -> boolean
-- True when the two tensors view the same storage with the same offset, sizes and strides.
function Tensor:is_set_to(other)
  local a, b = self._c, core.c_of(other, 'is_set_to', 'other')
  if a.storage ~= b.storage or a.offset ~= b.offset or a.ndim ~= b.ndim then return false end
  for i = 0, a.ndim - 1 do
    if a.sizes[i] ~= b.sizes[i] or a.strides[i] ~= b.strides[i] then return false end
  end
  return true
end
--- Tensor:shares_storage(other) -> boolean
-- Whether the two tensors use the same storage (one is a view of the other, or both of a third).
function Tensor:shares_storage(other) return self._c.storage == core.c_of(other, 'shares_storage', 'other').storage end

-- ---- size arguments that may contain -1 (view, reshape, expand) ----

local function shape_args(fn, ...)
  local n = select('#', ...)
  local first = (select(1, ...)) -- (not `= ...`: see args.sizes_and_opts)
  local buf = sizes_buf
  if n == 1 and type(first) == 'table' and not is_tensor(first) then
    n = #first
    if n > 16 then argerror(fn, 'at most 16 dimensions are supported, got %d', n) end
    for i = 1, n do
      local s = first[i]
      if not args.is_integer(s) then argerror(fn, 'size %d must be an integer, got %s', i, tostring(s)) end
      buf[i - 1] = s
    end
  else
    if n > 16 then argerror(fn, 'at most 16 dimensions are supported, got %d', n) end
    for i = 1, n do
      local s = select(i, ...)
      if not args.is_integer(s) then argerror(fn, 'size %d must be an integer, got %s', i, tostring(s)) end
      buf[i - 1] = s
    end
  end
  return n, buf
end
Tensor._shape_args = shape_args

-- ---- views ----

-- A view result remembers the tensor it looks into (its base), so that in-place writes through the view
-- can update the base's autograd history.
local function view_result(self, ptr)
  local v = wrap(ptr, 3)
  if v._c.storage == self._c.storage then rawset(v, '_base', rawget(self, '_base') or self) end
  return v
end

--- Tensor:view(size...) -> Tensor
-- A view with new sizes and the same elements, without copying; one size may be -1 (inferred). The
-- strides must allow it (a contiguous tensor always does); otherwise use x:reshape(...).
-- Example: torch.arange(6):view(2, 3)
function Tensor:view(...)
  local n, buf = shape_args('view', ...)
  return view_result(self, C.tn_view(self._c, n, buf))
end

--- Tensor:view_as(other) -> Tensor
-- x:view(other:shape()).
function Tensor:view_as(other) return self:view(core.c_of(other, 'view_as', 'other') and other:shape()) end
alias(Tensor, 'viewAs', 'view_as') -- Torch7

--- Tensor:reshape(size...) -> Tensor
-- Like x:view(...), but copies when the strides don't allow a view. One size may be -1.
function Tensor:reshape(...)
  local n, buf = shape_args('reshape', ...)
  return view_result(self, C.tn_reshape(self._c, n, buf))
end

--- Tensor:reshape_as(other) -> Tensor
-- x:reshape(other:shape()).
function Tensor:reshape_as(other) return self:reshape(core.c_of(other, 'reshape_as', 'other') and other:shape()) end

--- Tensor:as_strided(sizes, strides, offset) -> Tensor
-- A view of the storage with the given sizes and strides (tables, strides in elements) starting at
-- offset (in elements from the storage's start, 0-based; default x:storage_offset()). The view must stay
-- inside the storage.
function Tensor:as_strided(sizes, strides, offset)
  if type(sizes) ~= 'table' or type(strides) ~= 'table' then
    argerror('as_strided', 'expected tables of sizes and strides, got %s and %s', type(sizes), type(strides))
  end
  local n = #sizes
  if #strides ~= n then argerror('as_strided', 'got %d sizes but %d strides', n, #strides) end
  if n > 16 then argerror('as_strided', 'at most 16 dimensions are supported, got %d', n) end
  for i = 1, n do
    sizes_buf[i - 1] = args.integer('as_strided', 'size ' .. i, sizes[i])
    strides_buf[i - 1] = args.integer('as_strided', 'stride ' .. i, strides[i])
  end
  if offset ~= nil then args.integer('as_strided', 'the storage offset', offset) end
  return view_result(self, C.tn_as_strided(self._c, n, sizes_buf, strides_buf, offset or tonumber(self._c.offset)))
end

--- Tensor:narrow(dim, start, length) -> Tensor
-- A view of length elements of dimension dim starting at start (1-based; negative counts from the end).
-- Example: torch.arange(10):narrow(1, 3, 4)   -- 2, 3, 4, 5
function Tensor:narrow(d, start, length)
  local c = self._c
  if c.ndim == 0 then argerror('narrow', 'cannot narrow a 0-d tensor') end
  local cd = dim_of('narrow', d, c.ndim)
  if not args.is_integer(start) or not args.is_integer(length) then
    argerror('narrow', 'start and length must be integers, got %s and %s', tostring(start), tostring(length))
  end
  local size = tonumber(c.sizes[cd])
  if start < 0 then start = start + size + 1 end
  if start < 1 or length < 0 or start - 1 + length > size then
    argerror('narrow', 'start %d and length %d are out of range for dimension %d of size %d', start, length, d, size)
  end
  return view_result(self, C.tn_narrow(c, cd, start - 1, length))
end

--- Tensor:select(dim, index) -> Tensor
-- The slice at index (1-based; negative counts from the end) of dimension dim, which is removed.
-- Example: torch.zeros(2, 3):select(2, 1)   -- a tensor of size 2
function Tensor:select(d, index)
  local c = self._c
  if c.ndim == 0 then argerror('select', 'cannot select on a 0-d tensor') end
  local cd = dim_of('select', d, c.ndim)
  local size = tonumber(c.sizes[cd])
  if not args.is_integer(index) then argerror('select', 'index must be an integer, got %s', tostring(index)) end
  local i = index < 0 and index + size + 1 or index
  if i < 1 or i > size then
    argerror('select', 'index %d is out of range for dimension %d of size %d', index, d, size)
  end
  return view_result(self, C.tn_select(c, cd, i - 1))
end

--- Tensor:transpose(dim1, dim2) -> Tensor
-- A view with the two dimensions swapped.
function Tensor:transpose(d1, d2)
  local c = self._c
  return view_result(self, C.tn_transpose(c, dim_of('transpose', d1, c.ndim), dim_of('transpose', d2, c.ndim)))
end

--- Tensor:t() -> Tensor
-- The transpose of a matrix (a view); a tensor of fewer than 2 dimensions is returned as it is.
function Tensor:t()
  local c = self._c
  if c.ndim > 2 then argerror('t', 'expects a tensor with at most 2 dimensions, got %d', c.ndim) end
  if c.ndim < 2 then return view_result(self, C.tn_alias(c)) end
  return view_result(self, C.tn_transpose(c, 0, 1))
end

local function dims_args(fn, ndim, ...)
  local n = select('#', ...)
  local first = (select(1, ...)) -- (not `= ...`: see args.sizes_and_opts)
  local list = (n == 1 and type(first) == 'table') and first or { ... }
  if #list ~= ndim then argerror(fn, 'expected %d dimensions, got %d', ndim, #list) end
  for i = 1, #list do dims_buf[i - 1] = dim_of(fn, list[i], ndim) end
  return #list, dims_buf
end

--- Tensor:permute(dims...) -> Tensor
-- A view with the dimensions in the given order (varargs or one table, a permutation of 1..x:dim()).
-- Example: x:permute(3, 1, 2)
function Tensor:permute(...)
  local c = self._c
  local n, buf = dims_args('permute', c.ndim, ...)
  return view_result(self, C.tn_permute(c, n, buf))
end

--- Tensor:squeeze(dim) -> Tensor
-- A view without dimension dim if its size is 1, or, with no dim, without every dimension of size 1.
function Tensor:squeeze(d)
  local c = self._c
  if d == nil then return view_result(self, C.tn_squeeze_all(c)) end
  return view_result(self, C.tn_squeeze(c, dim_of('squeeze', d, c.ndim)))
end

--- Tensor:unsqueeze(dim) -> Tensor
-- A view with a new dimension of size 1 at position dim (1 .. x:dim() + 1; negative counts from the end).
function Tensor:unsqueeze(d)
  local c = self._c
  return view_result(self, C.tn_unsqueeze(c, dim_of('unsqueeze', d, c.ndim + 1)))
end

--- Tensor:expand(size...) -> Tensor
-- A view repeating dimensions of size 1 to the given sizes without copying (stride 0); -1 keeps a size.
-- New leading dimensions may be added.
-- Example: torch.ones(3, 1):expand(3, 4)
function Tensor:expand(...)
  local n, buf = shape_args('expand', ...)
  return view_result(self, C.tn_expand(self._c, n, buf))
end

--- Tensor:expand_as(other) -> Tensor
-- x:expand(other:shape()).
function Tensor:expand_as(other) return self:expand(core.c_of(other, 'expand_as', 'other') and other:shape()) end
alias(Tensor, 'expandAs', 'expand_as') -- Torch7

--- Tensor:flatten(start_dim, end_dim) -> Tensor
-- Merges dimensions start_dim (default 1) to end_dim (default -1) into one (a view when possible).
function Tensor:flatten(s, e)
  local c = self._c
  local a, b = dim_of('flatten', s or 1, c.ndim), dim_of('flatten', e or -1, c.ndim)
  if c.ndim == 0 then return self:reshape(1) end
  if a > b then argerror('flatten', 'start dimension %d comes after end dimension %d', s, e) end
  local shape, n = {}, 0
  for i = 0, c.ndim - 1 do
    if i <= a or i > b then
      n = n + 1
      shape[n] = tonumber(c.sizes[i])
    else
      shape[n] = shape[n] * tonumber(c.sizes[i])
    end
  end
  return self:reshape(shape)
end

--- Tensor:unflatten(dim, sizes) -> Tensor
-- Splits dimension dim into several with the given sizes (a table whose product is the size of dim).
function Tensor:unflatten(d, sizes)
  local c = self._c
  local cd = dim_of('unflatten', d, c.ndim)
  local shape = {}
  for i = 0, c.ndim - 1 do
    if i == cd then
      for j = 1, #sizes do shape[#shape + 1] = sizes[j] end
    else
      shape[#shape + 1] = tonumber(c.sizes[i])
    end
  end
  return self:view(shape)
end

--- Tensor:unfold(dim, size, step) -> Tensor
-- A view of all windows of size elements of dimension dim, step apart: dimension dim becomes the
-- number of windows and a last dimension of size size is added.
function Tensor:unfold(d, size, step)
  local c = self._c
  local cd = dim_of('unfold', d, c.ndim)
  args.integer('unfold', 'size', size)
  args.integer('unfold', 'step', step)
  return view_result(self, C.tn_unfold(c, cd, size, step))
end

--- Tensor:diagonal(offset, dim1, dim2) -> Tensor
-- A view of the diagonal of dimensions dim1 and dim2 (default 1 and 2), offset above it (default 0;
-- negative: below). Arguments may also be given as a table {offset=, dim1=, dim2=}.
function Tensor:diagonal(offset, d1, d2)
  local c = self._c
  if type(offset) == 'table' then offset, d1, d2 = offset.offset, offset.dim1, offset.dim2 end
  if c.ndim < 2 then argerror('diagonal', 'expects a tensor with at least 2 dimensions, got %d', c.ndim) end
  if offset ~= nil then args.integer('diagonal', 'offset', offset) end
  return view_result(self, C.tn_diagonal(c, offset or 0, dim_of('diagonal', d1 or 1, c.ndim), dim_of('diagonal', d2 or 2, c.ndim)))
end

--- Tensor:fill_diagonal_(value, [wrap]) -> Tensor
-- Writes value on the main diagonal of x in place: positions (i, i) of a matrix, (i, i, ..., i) of a tensor whose
-- dims are all of one size. For a matrix taller than wide, wrap=true (positional or {wrap=}) starts the diagonal
-- again below each square block, as PyTorch's wrap. Returns x.
function Tensor:fill_diagonal_(value, wrap)
  local fn = 'fill_diagonal_'
  if type(wrap) == 'table' then wrap = wrap.wrap end
  local sizes = self:shape()
  if #sizes < 2 then argerror(fn, 'expects a tensor of at least 2 dimensions, got %d', #sizes) end
  if #sizes > 2 then
    for d = 2, #sizes do
      if sizes[d] ~= sizes[1] then
        argerror(fn, 'the dimensions of a tensor of more than 2 must all have one size, got %s',
                 table.concat(sizes, ' x '))
      end
    end
    local step = 0
    for d = 1, #sizes do step = step + self:stride(d) end
    self:as_strided({ sizes[1] }, { step }, self:storage_offset()):fill_(value)
    return self
  end
  local rows, cols = sizes[1], sizes[2]
  if not wrap or rows <= cols then
    self:diagonal():fill_(value)
    return self
  end
  for start = 1, rows, cols + 1 do -- each block of cols rows, then one row skipped
    self:narrow(1, start, math.min(cols, rows - start + 1)):diagonal():fill_(value)
  end
  return self
end
core.composed_in_place.fill_diagonal_ = true

--- Tensor:split(split_size, dim) -> {Tensor...}
--- Tensor:split(sections, dim) -> {Tensor...}
-- A Lua array of views along dim (default 1): pieces of split_size elements (the last may be shorter),
-- or pieces of the sizes listed in the table sections.
function Tensor:split(sizes, d)
  d = d or 1
  local c = self._c
  if c.ndim == 0 then argerror('split', 'cannot split a 0-d tensor') end
  local cd = dim_of('split', d, c.ndim)
  local total = tonumber(c.sizes[cd])
  local list, start = {}, 1
  if type(sizes) == 'number' then
    if not args.is_integer(sizes) or sizes <= 0 then
      argerror('split', 'split size must be a positive integer, got %s', tostring(sizes))
    end
    if total == 0 then return { self:narrow(d, 1, 0) } end
    while start <= total do
      local len = math.min(sizes, total - start + 1)
      list[#list + 1] = self:narrow(d, start, len)
      start = start + len
    end
  elseif type(sizes) == 'table' then
    local sum = 0
    for i = 1, #sizes do
      if not args.is_integer(sizes[i]) or sizes[i] < 0 then
        argerror('split', 'section %d must be a non-negative integer, got %s', i, tostring(sizes[i]))
      end
      sum = sum + sizes[i]
    end
    if sum ~= total then
      argerror('split', 'section sizes add up to %d but dimension %d has size %d', sum, d, total)
    end
    for i = 1, #sizes do
      list[i] = self:narrow(d, start, sizes[i])
      start = start + sizes[i]
    end
  else
    argerror('split', 'expected a size or a table of sizes, got %s', type(sizes))
  end
  return list
end

--- Tensor:chunk(n, dim) -> {Tensor...}
-- A Lua array of at most n views of equal size along dim (default 1); the last may be smaller.
function Tensor:chunk(n, d)
  if not args.is_integer(n) or n <= 0 then argerror('chunk', 'number of chunks must be a positive integer, got %s', tostring(n)) end
  local c = self._c
  if c.ndim == 0 then argerror('chunk', 'cannot chunk a 0-d tensor') end
  local size = tonumber(c.sizes[dim_of('chunk', d or 1, c.ndim)])
  if size == 0 then -- PyTorch: n empty pieces
    local list = {}
    for i = 1, n do list[i] = self:narrow(d or 1, 1, 0) end
    return list
  end
  return self:split(math.ceil(size / n), d or 1)
end

--- Tensor:tensor_split(sections_or_indices, dim) -> {Tensor...}
--- torch.tensor_split(x, sections_or_indices, dim) -> {Tensor...}
-- A Lua array of views along dim (default 1): with a number n, n pieces whose sizes differ by at most one (the
-- first ones larger, as PyTorch); with a table of 1-based positions, the pieces that start there (PyTorch's
-- split indices plus one: {2, 5} gives x[1..1], x[2..4] and x[5..]); positions past the end give empty pieces.
function Tensor:tensor_split(what, d)
  local fn = 'tensor_split'
  d = d or 1
  local c = self._c
  if c.ndim == 0 then argerror(fn, 'cannot split a 0-d tensor') end
  local size = tonumber(c.sizes[dim_of(fn, d, c.ndim)])
  local starts = {}
  if type(what) == 'number' then
    if not args.is_integer(what) or what <= 0 then argerror(fn, 'number of sections must be a positive integer, got %s', tostring(what)) end
    local base, extra, at = math.floor(size / what), size % what, 1
    for i = 1, what do
      starts[i] = at
      at = at + base + (i <= extra and 1 or 0)
    end
  elseif type(what) == 'table' then
    starts[1] = 1
    for i, p in ipairs(what) do
      if not args.is_integer(p) or p < 1 then argerror(fn, 'position %d must be a positive integer, got %s', i, tostring(p)) end
      starts[i + 1] = p
    end
  else
    argerror(fn, 'expected a number of sections or a table of positions, got %s', type(what))
  end
  local list = {}
  for i, first in ipairs(starts) do
    local from = math.min(first, size + 1)
    local to = math.min(math.max((starts[i + 1] or size + 1), from), size + 1)
    list[i] = self:narrow(d, from, to - from)
  end
  return list
end

-- hsplit / vsplit / dsplit: tensor_split along one dim; a number of sections must divide it exactly.
local function split_along(fn, x, what, d, min_dims)
  if x:dim() < min_dims then argerror(fn, 'expects a tensor of at least %d dimensions, got %d', min_dims, x:dim()) end
  if type(what) == 'number' and x:size(d) % what ~= 0 then
    argerror(fn, 'dimension %d of size %d cannot be split into %s equal sections', d, x:size(d), tostring(what))
  end
  return x:tensor_split(what, d)
end
--- Tensor:vsplit(sections_or_indices) -> {Tensor...}
-- tensor_split along dim 1 (equal sections only). Tensor:hsplit splits along dim 2 (dim 1 of a 1-d tensor),
-- Tensor:dsplit along dim 3.
function Tensor:vsplit(what) return split_along('vsplit', self, what, 1, 2) end
function Tensor:hsplit(what) return split_along('hsplit', self, what, self:dim() == 1 and 1 or 2, 1) end
function Tensor:dsplit(what) return split_along('dsplit', self, what, 3, 3) end

-- ---- copies ----

--- Tensor:contiguous() -> Tensor
-- x itself when it is contiguous, else a contiguous copy.
function Tensor:contiguous()
  if C.tn_is_contiguous(self._c) == 1 then return self end
  return wrap(C.tn_contiguous(self._c))
end

--- Tensor:clone() -> Tensor
-- A copy with its own storage (contiguous), of the same dtype and device.
function Tensor:clone() return wrap(C.tn_clone(self._c)) end

--- Tensor:detach() -> Tensor
-- A new tensor object on the same storage, outside any autograd graph.
function Tensor:detach() return wrap(C.tn_alias(self._c)) end

--- Tensor:copy_(src) -> Tensor
-- Copies the elements of src into x (in place), broadcasting src and converting its dtype and device as
-- needed. Returns x. Torch7 name: x:copy(src).
function Tensor:copy_(src)
  check(C.tn_copy_(self._c, core.c_of(src, 'copy_', 'src')))
  return self
end
alias(Tensor, 'copy', 'copy_')

-- ---- in-place header changes (the object keeps its identity) ----

local function set_header(self, ptr)
  if ptr == nil then core.c_error(3) end
  C.tn_set_(self._c, ptr)
  C.tn_tensor_free(ptr)
  return self
end

--- Tensor:set_(src) -> Tensor
-- Makes x view the storage of src with src's offset, sizes and strides (in place). Returns x.
function Tensor:set_(src)
  check(C.tn_set_(self._c, core.c_of(src, 'set_', 'src')))
  return self
end

--- Tensor:resize_(size...) -> Tensor
-- Changes the sizes of x in place (contiguous strides), growing its storage when needed; the values of
-- new elements are undefined. Returns x. Torch7 name: x:resize(...).
function Tensor:resize_(...)
  local sizes = args.sizes_and_opts('resize_', ...)
  local n, buf = args.fill_sizes(sizes)
  check(C.tn_resize_(self._c, n, buf))
  return self
end
alias(Tensor, 'resize', 'resize_')

--- Tensor:resize_as_(other) -> Tensor
-- x:resize_(other:shape()). Torch7 name: x:resizeAs(other).
function Tensor:resize_as_(other) return self:resize_(core.c_of(other, 'resize_as_', 'other') and other:shape()) end
alias(Tensor, 'resizeAs', 'resize_as_')

--- Tensor:t_() -> Tensor
-- Transposes a matrix in place (the object now views its transpose). Returns x.
function Tensor:t_() return set_header(self, self._c.ndim < 2 and C.tn_alias(self._c) or C.tn_transpose(self._c, 0, 1)) end
--- Tensor:transpose_(dim1, dim2) -> Tensor
-- Swaps two dimensions in place. Returns x.
function Tensor:transpose_(a, b)
  local c = self._c
  return set_header(self, C.tn_transpose(c, dim_of('transpose_', a, c.ndim), dim_of('transpose_', b, c.ndim)))
end
--- Tensor:squeeze_(dim) -> Tensor
-- x:squeeze(dim) in place. Returns x.
function Tensor:squeeze_(d)
  local c = self._c
  return set_header(self, d == nil and C.tn_squeeze_all(c) or C.tn_squeeze(c, dim_of('squeeze_', d, c.ndim)))
end
--- Tensor:unsqueeze_(dim) -> Tensor
-- x:unsqueeze(dim) in place. Returns x.
function Tensor:unsqueeze_(d)
  local c = self._c
  return set_header(self, C.tn_unsqueeze(c, dim_of('unsqueeze_', d, c.ndim + 1)))
end

-- Functional forms: torch.f(x, ...) for each method above.
core.function_forms({ 'view', 'reshape', 'narrow', 'select', 'transpose', 't', 'permute', 'squeeze', 'unsqueeze',
                     'expand', 'flatten', 'unflatten', 'unfold', 'diagonal', 'split', 'chunk', 'clone',
                     'numel', 'is_contiguous', 'as_strided', 'tensor_split', 'vsplit', 'hsplit', 'dsplit' })

return {}
