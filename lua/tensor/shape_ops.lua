-- tensor.shape_ops: moving dims and broadcasting, as views made of the primitive ones in tensor.views (permute,
-- reshape, expand), so that autograd differentiates them through those: movedim, swapaxes, ravel, the properties
-- x.T, x.mT, x.H, x.mH and x.ndim, adjoint, broadcast_to, broadcast_shapes, broadcast_tensors and meshgrid.
local ffi = require 'ffi'
local core = require 'tensor.core'
local args = require 'tensor.args'

local C, torch, Tensor, getters = core.C, core.torch, core.Tensor, core.getters
local is_tensor, is_opts, argerror = core.is_tensor, args.is_opts, args.argerror
local alias = core.alias

local M = {}

-- ---- moving dims ----

-- A dim or a table of dims as a list of 1-based positive dims, checked for repeats.
local function dim_list(fn, what, d, ndim)
  local list = type(d) == 'table' and d or { d }
  local seen, out = {}, {}
  for i, v in ipairs(list) do
    local p = args.dim(fn, v, ndim) + 1
    if seen[p] then argerror(fn, 'dimension %d appears more than once in %s', p, what) end
    seen[p], out[i] = true, p
  end
  return out
end

--- Tensor:movedim(source, destination) -> Tensor
--- torch.movedim(x, source, destination) -> Tensor
-- A view with dims source (a dim or a table of dims) moved to positions destination (as many), the other dims
-- keeping their order. Alias: moveaxis.
-- Example: torch.zeros(2, 3, 4):movedim(1, -1):size()   -- {3, 4, 2}
function Tensor:movedim(source, destination)
  local fn, n = 'movedim', self:dim()
  local from, to = dim_list(fn, 'source', source, n), dim_list(fn, 'destination', destination, n)
  if #from ~= #to then
    argerror(fn, 'source and destination must have as many dims, got %d and %d', #from, #to)
  end
  local order, moved = {}, {}
  for i = 1, #from do order[to[i]], moved[from[i]] = from[i], true end
  local next_dim = 1
  for position = 1, n do
    if not order[position] then
      while moved[next_dim] do next_dim = next_dim + 1 end
      order[position], next_dim = next_dim, next_dim + 1
    end
  end
  if n == 0 then return self:view({}) end
  return self:permute(order)
end
alias(Tensor, 'moveaxis', 'movedim')

--- Tensor:swapaxes(dim1, dim2) -> Tensor
--- torch.swapaxes(x, dim1, dim2) -> Tensor
-- transpose under NumPy's name. Alias: swapdims.
alias(Tensor, 'swapaxes', 'transpose')
alias(Tensor, 'swapdims', 'transpose')

--- Tensor:ravel() -> Tensor
--- torch.ravel(x) -> Tensor
-- The elements as a 1-d tensor: a view when x's layout allows one, else a contiguous copy (reshape(-1)).
function Tensor:ravel() return self:reshape(-1) end

core.function_forms({ 'movedim', 'moveaxis', 'swapaxes', 'swapdims', 'ravel' })

-- x.T: the dims reversed (a matrix transposed; fewer than 2 dims as they are). x.mT: the last two dims swapped.
-- x.ndim: x:dim(). Read-only properties, as in PyTorch.
getters.T = function(self)
  local n = self:dim()
  if n < 2 then return self:view(self:shape()) end
  local order = {}
  for i = 1, n do order[i] = n + 1 - i end
  return self:permute(order)
end
getters.mT = function(self)
  if self:dim() < 2 then argerror('mT', 'expects a tensor with at least 2 dimensions, got %d', self:dim()) end
  return self:transpose(-2, -1)
end
getters.ndim = function(self) return self:dim() end

-- x.H and x.mH (and x:adjoint()): the conjugate transposes, which for the real dtypes here are x.T of a matrix
-- and x.mT. PyTorch keeps H to matrices (and 0-d tensors), so a batch needs mH.
getters.H = function(self)
  local n = self:dim()
  if n == 0 then return self:view({}) end
  if n ~= 2 then argerror('H', 'is only defined for matrices (2-d tensors), got %d-d; use mH for batches', n) end
  return self:transpose(1, 2)
end
getters.mH = function(self)
  if self:dim() < 2 then argerror('mH', 'expects a tensor with at least 2 dimensions, got %d', self:dim()) end
  return self:transpose(-2, -1)
end
--- Tensor:adjoint() -> Tensor
--- torch.adjoint(x) -> Tensor
-- x.mH: the last two dims swapped (the conjugate transpose of real matrices), a view.
function Tensor:adjoint()
  if self:dim() < 2 then argerror('adjoint', 'expects a tensor with at least 2 dimensions, got %d', self:dim()) end
  return self:transpose(-2, -1)
end
core.function_forms({ 'adjoint' })

-- ---- broadcasting ----

-- The sizes of a shape argument: a table of numbers (or a torch.Size), or a tensor's sizes.
local function sizes_of(fn, s, i)
  if is_tensor(s) then return s:shape() end
  if type(s) == 'number' then return { s } end
  if type(s) ~= 'table' then argerror(fn, 'shape %d must be a table of sizes, got %s', i, type(s)) end
  return s
end

local function shape_string(s) return '[' .. table.concat(s, ' x ') .. ']' end

-- The broadcast of a list of shapes (tables of sizes), NumPy's rules, folded pairwise through the C library's
-- tn_broadcast_shapes (the rule every op applies); fn names the caller in errors.
local MAX_DIMS = 16
local left, right, joined = ffi.new('int64_t[16]'), ffi.new('int64_t[16]'), ffi.new('int64_t[16]')
local function broadcast_shape(fn, shapes)
  local out = {}
  for i, s in ipairs(shapes) do
    if #s > MAX_DIMS then argerror(fn, 'shape %d has %d dims, at most %d are supported', i, #s, MAX_DIMS) end
    for d = 1, #s do
      local size = s[d]
      if type(size) ~= 'number' or size < 0 or size ~= math.floor(size) then
        argerror(fn, 'shape %d has an invalid size %s', i, tostring(size))
      end
      right[d - 1] = size
    end
    for d = 1, #out do left[d - 1] = out[d] end
    local n = C.tn_broadcast_shapes(#out, left, #s, right, joined)
    if n < 0 then argerror(fn, '%s', ffi.string(C.tn_last_error())) end
    out = {}
    for d = 1, n do out[d] = tonumber(joined[d - 1]) end
  end
  return out
end
M.broadcast_shape = broadcast_shape

--- torch.broadcast_shapes(shape...) -> torch.Size
-- The shape that tensors of the given shapes (tables of sizes, numbers for 1-d ones) broadcast to, or an error
-- naming the shapes that do not broadcast.
-- Example: torch.broadcast_shapes({3, 1}, {4})   -- torch.Size({3, 4})
function torch.broadcast_shapes(...)
  local shapes = {}
  for i = 1, select('#', ...) do shapes[i] = sizes_of('broadcast_shapes', (select(i, ...)), i) end
  return torch.Size(broadcast_shape('broadcast_shapes', shapes))
end

--- Tensor:broadcast_to(shape) -> Tensor
--- torch.broadcast_to(x, shape) -> Tensor
-- A view of x expanded to shape (a table of sizes), which x must broadcast to: expand with NumPy's name.
function Tensor:broadcast_to(shape)
  local sizes, own = sizes_of('broadcast_to', shape, 1), self:shape()
  local fits = #own <= #sizes
  for d = 1, #own do
    local size, target = own[d], sizes[#sizes - #own + d]
    if fits and size ~= 1 and size ~= target then fits = false end
  end
  if not fits then
    argerror('broadcast_to', 'a tensor of size %s cannot be broadcast to %s', shape_string(own), shape_string(sizes))
  end
  return self:expand(sizes)
end
core.function_forms({ 'broadcast_to' })

-- The tensors of a call f(t1, t2, ...) or f({t1, t2, ...}) (then `listed`), and a trailing options table.
local function tensor_args(fn, ...)
  local n, first = select('#', ...), (select(1, ...))
  local list, listed, opts = {}, false, nil
  if type(first) == 'table' and not is_tensor(first) then
    listed, opts = true, (select(2, ...))
    for i, t in ipairs(first) do list[i] = t end
  else
    for i = 1, n do list[i] = (select(i, ...)) end
    if n > 0 and is_opts(list[n]) then opts, list[n] = list[n], nil end
  end
  for i, t in ipairs(list) do
    if not is_tensor(t) then argerror(fn, 'argument %d must be a tensor, got %s', i, type(t)) end
  end
  return list, listed, opts
end

-- The results as a list for a listed call, else as several values.
local function results(list, listed)
  if listed then return list end
  return unpack(list, 1, #list)
end

--- torch.broadcast_tensors(tensor...) -> Tensor...
--- torch.broadcast_tensors({tensors}) -> {Tensor}
-- Views of the tensors expanded to their common broadcast shape: several values, or a list when the tensors
-- come as a list.
-- Example: local a, b = torch.broadcast_tensors(torch.zeros(3, 1), torch.zeros(4))   -- both [3 x 4]
function torch.broadcast_tensors(...)
  local list, listed = tensor_args('broadcast_tensors', ...)
  local shapes = {}
  for i, t in ipairs(list) do shapes[i] = t:shape() end
  local target = broadcast_shape('broadcast_tensors', shapes)
  local out = {}
  for i, t in ipairs(list) do out[i] = t:expand(target) end
  return results(out, listed)
end

--- torch.meshgrid(tensor..., {indexing='ij'}) -> Tensor...
--- torch.meshgrid({tensors}, {indexing='ij'}) -> {Tensor}
-- Coordinate grids from n 1-d tensors (0-d ones count as one element): n views of one shape, the i-th holding
-- the i-th tensor's values along its dim. indexing 'ij' (the default, matrix indexing) gives the shape
-- {#t1, #t2, ...}; 'xy' (Cartesian) swaps the first two dims of the shape. Several values, or a list when the
-- tensors come as a list.
-- Example: local ys, xs = torch.meshgrid(torch.arange(1, 4), torch.arange(1, 3))   -- both [3 x 2]
function torch.meshgrid(...)
  local fn = 'meshgrid'
  local list, listed, opts = tensor_args(fn, ...)
  local indexing = opts and opts.indexing or 'ij'
  if indexing ~= 'ij' and indexing ~= 'xy' then argerror(fn, "indexing must be 'ij' or 'xy', got %s", tostring(indexing)) end
  local n = #list
  if n == 0 then argerror(fn, 'expected at least one tensor') end
  local order = {} -- the input whose values run along each dim of the result
  for i = 1, n do order[i] = i end
  if indexing == 'xy' and n >= 2 then order[1], order[2] = 2, 1 end
  for i = 2, n do
    if list[i]:dtype() ~= list[1]:dtype() then
      argerror(fn, 'expects tensors of one dtype, got %s (tensor 1) and %s (tensor %d)', list[1]:dtype(), list[i]:dtype(), i)
    end
  end
  local sizes = {}
  for d = 1, n do
    local t = list[order[d]]
    if t:dim() > 1 then argerror(fn, 'tensor %d must be 0-d or 1-d, got %d dims', order[d], t:dim()) end
    sizes[d] = t:numel()
  end
  local out = {}
  for d = 1, n do
    local shape = {}
    for k = 1, n do shape[k] = k == d and -1 or 1 end
    out[order[d]] = list[order[d]]:reshape(shape):expand(sizes)
  end
  return results(out, listed)
end

return M
