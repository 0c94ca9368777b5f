-- tensor.creation: tensors from sizes, values, Lua tables, ranges and foreign memory, and the Torch7
-- typed constructors (torch.FloatTensor{...}, torch.Tensor(2, 3), ...).
local ffi = require 'ffi'
local core = require 'tensor.core'
local args = require 'tensor.args'
local dtype = require 'tensor.dtype'

local C, wrap, check, torch, Tensor = core.C, core.wrap, core.check, core.torch, core.Tensor
local is_tensor, is_opts, argerror = core.is_tensor, args.is_opts, args.argerror

local M = {}

local function apply_requires_grad(fn, t, opts)
  if opts.requires_grad then
    if not dtype.floating[t._c.dtype] then
      argerror(fn, 'only floating point tensors can require gradients, got %s', dtype.name[t._c.dtype])
    end
    t.requires_grad = true
  end
  return t
end
M.apply_requires_grad = apply_requires_grad

-- A new uninitialised tensor of the given sizes (a Lua array), dtype enum and device. An error (a size
-- too large for memory) names fn when given, else 'empty'.
local function empty(sizes, dt, device_type, device_index, fn)
  local n, buf = args.fill_sizes(sizes)
  local ptr = C.tn_empty(n, buf, dt, device_type or 0, device_index or 0)
  if ptr == nil and fn then
    local message = ffi.string(C.tn_last_error()):gsub('^empty: ', '')
    error(fn .. ': ' .. message, 3)
  end
  return wrap(ptr, 3)
end
M.empty = empty

local function sized(fn, fill, ...)
  local sizes, opts = args.sizes_and_opts(fn, ...)
  local dt, device_type, device_index = args.dtype_device(fn, opts)
  local t = empty(sizes, dt, device_type, device_index, fn)
  if fill then check(C.tn_fill_(t._c, fill)) end
  return apply_requires_grad(fn, t, opts)
end

--- torch.empty(size..., opts) -> Tensor
-- An uninitialised tensor. Sizes are varargs or one table (or a torch.Size); opts: dtype, device,
-- requires_grad.
-- Example: torch.empty(2, 3, {dtype='float64'})
function torch.empty(...) return sized('empty', nil, ...) end
--- torch.zeros(size..., opts) -> Tensor
-- A tensor filled with zeros. Sizes are varargs or one table; opts: dtype, device, requires_grad.
-- Example: torch.zeros(2, 3, {dtype='float64'})
function torch.zeros(...) return sized('zeros', 0, ...) end
--- torch.ones(size..., opts) -> Tensor
-- A tensor filled with ones. Sizes are varargs or one table; opts: dtype, device, requires_grad.
-- Example: torch.ones({4, 4}, {device='cuda'})
function torch.ones(...) return sized('ones', 1, ...) end

local function number_value(fn, v, dt)
  if type(v) == 'boolean' then return v and 1 or 0 end
  if type(v) ~= 'number' then argerror(fn, 'expected a number for the fill value, got %s', type(v)) end
  if not dtype.fits(v, dt) then
    argerror(fn, 'value %s cannot be converted to %s without overflow', tostring(v), dtype.name[dt])
  end
  return v
end

--- torch.full(size, value, opts) -> Tensor
-- A tensor filled with value; size is a table or a single number. The dtype follows the value unless
-- opts.dtype says otherwise: bool for a boolean, int64 for an integer, else the default dtype.
-- Example: torch.full({2, 2}, 7.5)
function torch.full(size, value, opts)
  opts = opts or {}
  if type(size) == 'number' then size = { size } end
  if type(size) ~= 'table' then argerror('full', 'expected a size table, got %s', type(size)) end
  args.check_sizes('full', size)
  local default = type(value) == 'boolean' and dtype.BOOL
    or (args.is_integer(value) and dtype.INT64) or dtype.default
  local dt, device_type, device_index = args.dtype_device('full', opts, default)
  local t = empty(size, dt, device_type, device_index, 'full')
  check(C.tn_fill_(t._c, number_value('full', value, dt)))
  return apply_requires_grad('full', t, opts)
end

-- The *_like family: same size, dtype and device as x unless opts say otherwise.
local function like(fn, x, opts)
  local c = core.c_of(x, fn, 'x')
  opts = opts or {}
  local dt = opts.dtype and dtype.parse(opts.dtype, fn) or tonumber(c.dtype)
  local device_type, device_index = tonumber(c.storage.device_type), tonumber(c.storage.device_index)
  if opts.device then device_type, device_index = args.device(fn, opts.device) end
  local sizes = {}
  for i = 1, c.ndim do sizes[i] = tonumber(c.sizes[i - 1]) end
  return empty(sizes, dt, device_type, device_index, fn), opts
end
M.like = like

--- torch.empty_like(x, opts) -> Tensor
-- An uninitialised tensor with the size, dtype and device of x (opts: dtype, device, requires_grad).
function torch.empty_like(x, opts)
  local t, o = like('empty_like', x, opts)
  return apply_requires_grad('empty_like', t, o)
end
--- torch.zeros_like(x, opts) -> Tensor
-- Zeros with the size, dtype and device of x (opts: dtype, device, requires_grad).
function torch.zeros_like(x, opts)
  local t, o = like('zeros_like', x, opts)
  check(C.tn_fill_(t._c, 0))
  return apply_requires_grad('zeros_like', t, o)
end
--- torch.ones_like(x, opts) -> Tensor
-- Ones with the size, dtype and device of x (opts: dtype, device, requires_grad).
function torch.ones_like(x, opts)
  local t, o = like('ones_like', x, opts)
  check(C.tn_fill_(t._c, 1))
  return apply_requires_grad('ones_like', t, o)
end
--- torch.full_like(x, value, opts) -> Tensor
-- A tensor of value with the size, dtype and device of x (opts: dtype, device, requires_grad).
function torch.full_like(x, value, opts)
  local t, o = like('full_like', x, opts)
  check(C.tn_fill_(t._c, number_value('full_like', value, tonumber(t._c.dtype))))
  return apply_requires_grad('full_like', t, o)
end

-- ---- x:new_*: the torch.* constructors with x's dtype and device unless opts say otherwise ----

local function defaults_of(x, opts)
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  if o.dtype == nil then o.dtype = x:dtype() end
  if o.device == nil then o.device = x:device() end
  return o
end

--- Tensor:new_empty(size..., opts) -> Tensor
--- Tensor:new_zeros(size..., opts) -> Tensor
--- Tensor:new_ones(size..., opts) -> Tensor
-- torch.empty / zeros / ones with x's dtype and device unless opts (dtype, device, requires_grad) say otherwise.
-- Example: x:new_zeros(2, 3)
for name, fill in pairs({ new_empty = false, new_zeros = 0, new_ones = 1 }) do
  Tensor[name] = function(self, ...)
    local sizes, opts = args.sizes_and_opts(name, ...)
    return sized(name, fill or nil, sizes, defaults_of(self, opts))
  end
end
--- Tensor:new_full(size, value, opts) -> Tensor
-- torch.full with x's dtype and device unless opts say otherwise.
function Tensor:new_full(size, value, opts) return torch.full(size, value, defaults_of(self, opts)) end
--- Tensor:new_tensor(data, opts) -> Tensor
-- torch.tensor(data) with x's dtype and device unless opts say otherwise (a copy when data is a tensor).
function Tensor:new_tensor(data, opts) return torch.tensor(data, defaults_of(self, opts)) end

-- x.new(...) and x:new(...): Torch7's and PyTorch's legacy constructor with x's dtype and device: no arguments
-- give an empty 1-d tensor, sizes (numbers or a torch.Size) an uninitialised tensor, a Lua table its data. A
-- property returning a function bound to x, because Torch7 code calls it without the colon.
local function new_like(x, ...)
  local n, first = select('#', ...), (select(1, ...))
  if n == 0 then return x:new_empty(0) end
  if type(first) == 'table' and getmetatable(first) ~= torch.Size and not is_opts(first) then
    return x:new_tensor(first, (select(2, ...)))
  end
  return x:new_empty(...)
end
core.getters.new = function(self)
  return function(...)
    if rawequal((select(1, ...)), self) then return new_like(self, select(2, ...)) end
    return new_like(self, ...)
  end
end

-- ---- from Lua values ----

-- The shape of a (nested, rectangular) Lua table, and the dtype its values suggest.
local function table_shape(fn, data)
  local shape, level = {}, data
  while type(level) == 'table' and not is_tensor(level) do
    shape[#shape + 1] = #level
    if #level == 0 then break end
    level = level[1]
  end
  return shape
end

-- Walks data in row-major order, checking it against shape; calls visit(value) for each leaf.
local function walk(fn, data, shape, depth, visit, path)
  local n = shape[depth]
  if type(data) ~= 'table' or is_tensor(data) then
    argerror(fn, 'ragged nested table: element %s is a %s where a table of %d values was expected',
             path, type(data), n)
  end
  if #data ~= n then
    argerror(fn, 'ragged nested table: element %s has %d entries, expected %d', path, #data, n)
  end
  if depth == #shape then
    for i = 1, n do visit(data[i], path .. '[' .. i .. ']') end
  else
    for i = 1, n do walk(fn, data[i], shape, depth + 1, visit, path .. '[' .. i .. ']') end
  end
end

-- A tensor holding the values of a Lua number, boolean or nested table.
local function from_data(fn, data, opts)
  opts = opts or {}
  local shape
  if type(data) == 'number' or type(data) == 'boolean' or dtype.is_int64(data) then
    shape = {}
  elseif type(data) == 'table' then
    shape = table_shape(fn, data)
  else
    argerror(fn, 'expected a number, boolean or table of numbers, got %s', type(data))
  end
  args.check_sizes(fn, shape)
  -- Infer the dtype as PyTorch does: all booleans -> bool, integral numbers (and booleans) -> int64, else float.
  local values, all_bool, all_int = {}, true, true
  local function visit(v, path)
    if type(v) == 'number' then
      all_bool = false
      if v ~= math.floor(v) or v ~= v or math.abs(v) == math.huge then all_int = false end
    elseif dtype.is_int64(v) then -- 9223372036854775807LL: exact int64 values
      all_bool = false
    elseif type(v) ~= 'boolean' then
      argerror(fn, 'element %s is a %s, expected a number or boolean', path, type(v))
    end
    values[#values + 1] = v
  end
  if #shape == 0 then visit(data, '') else walk(fn, data, shape, 1, visit, '') end
  local default = (#values > 0 and all_bool and dtype.BOOL) or (#values > 0 and all_int and dtype.INT64)
    or dtype.default
  -- Lua cannot tell 1.0 from 1: values meant to require gradients are floating point.
  if opts.requires_grad and default ~= dtype.BOOL then default = dtype.default end
  local dt, device_type, device_index = args.dtype_device(fn, opts, opts.default_dtype or default)
  local host = empty(shape, dt, 0, 0, fn)
  local c = host._c
  local p, write = ffi.cast(dtype.ptr[dt], c.storage.data), dtype.write[dt]
  for i = 1, #values do
    local v = values[i]
    if type(v) == 'boolean' and dt ~= dtype.BOOL then v = v and 1 or 0 end
    if not dtype.fits(v, dt) then
      argerror(fn, 'value %s (element %d) cannot be converted to %s without overflow', tostring(v), i, dtype.name[dt])
    end
    write(p, i - 1, v)
  end
  local t = host
  if device_type ~= 0 then t = host:to({ device = opts.device }) end
  return apply_requires_grad(fn, t, opts)
end
M.from_data = from_data

--- torch.tensor(data, opts) -> Tensor
-- A new tensor holding data: a number or boolean (a 0-d tensor), a nested rectangular table of them, or a
-- tensor (copied, detached). Integers beyond 2^53 can be given exactly as int64 cdata (9223372036854775807LL). The dtype is inferred as PyTorch does unless opts.dtype is given: all
-- booleans give bool, all integers int64, anything else the default dtype. opts: dtype, device,
-- requires_grad.
-- Example: torch.tensor({{1, 2}, {3, 4}}, {dtype='float32'})
function torch.tensor(data, opts)
  if is_tensor(data) then
    local t = data:detach():clone()
    if opts then t = t:to(opts) end
    return apply_requires_grad('tensor', t, opts or {})
  end
  return from_data('tensor', data, opts)
end

--- torch.as_tensor(data, opts) -> Tensor
--- torch.asarray(data, opts) -> Tensor
-- data as a tensor without copying when it already is one of the dtype and device asked (then it is returned
-- itself), else as torch.tensor(data, opts) or data:to(opts). asarray also takes opts.copy = true (always a new
-- tensor) and opts.requires_grad. opts: dtype, device.
local function as_tensor(fn, data, opts)
  if opts ~= nil and not is_opts(opts) then argerror(fn, 'expected an options table, got %s', type(opts)) end
  opts = opts or {}
  if not is_tensor(data) then return from_data(fn, data, opts) end
  local t = data
  if opts.dtype ~= nil or opts.device ~= nil then t = t:to({ dtype = opts.dtype, device = opts.device }) end
  if opts.copy and rawequal(t, data) then t = t:clone() end
  if opts.requires_grad then t:requires_grad_() end
  return t
end
function torch.as_tensor(data, opts) return as_tensor('as_tensor', data, opts) end
function torch.asarray(data, opts) return as_tensor('asarray', data, opts) end

--- torch.scalar_tensor(value, opts) -> Tensor
-- A 0-d tensor holding value (a number or a boolean) in the default float dtype unless opts.dtype says
-- otherwise, as PyTorch. opts: dtype, device, requires_grad.
function torch.scalar_tensor(value, opts)
  if type(value) == 'boolean' then value = value and 1 or 0 end
  if type(value) ~= 'number' then argerror('scalar_tensor', 'expected a number, got %s', type(value)) end
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  o.dtype = o.dtype or dtype.name[dtype.default]
  return torch.full({}, value, o)
end

-- ---- ranges ----

local function range_count(fn, start, stop, step, inclusive)
  if type(start) ~= 'number' or type(stop) ~= 'number' or type(step) ~= 'number' then
    argerror(fn, 'expected numbers for start, stop and step')
  end
  for _, v in ipairs({ start, stop, step }) do
    if v ~= v or v == math.huge or v == -math.huge then
      argerror(fn, 'unsupported range %s -> %s with step %s (bounds and step must be finite)', start, stop, step)
    end
  end
  if step == 0 then argerror(fn, 'step must be nonzero') end
  if (step > 0 and start > stop) or (step < 0 and start < stop) then
    if inclusive or start ~= stop then
      argerror(fn, 'upper bound %s and lower bound %s inconsistent with step sign %s', stop, start, step)
    end
  end
  -- arange's count is PyTorch's exactly (arange(1, 1.3, 0.1) has 4 elements, as there)
  local n = inclusive and math.floor((stop - start) / step + 1e-9) + 1 or math.ceil((stop - start) / step)
  return math.max(n, 0)
end

-- Fills a contiguous 1-d tensor t with start + i * step (computed in float64, like PyTorch).
local function fill_range(t, start, step)
  local c = t._c
  local n = tonumber(c.numel)
  local host = c.storage.device_type == 0 and t or torch.empty(n, { dtype = 'float64' })
  local hc = host._c
  local p, write = ffi.cast(dtype.ptr[hc.dtype], hc.storage.data), dtype.write[tonumber(hc.dtype)]
  for i = 0, n - 1 do write(p, i, start + i * step) end
  if host ~= t then t:copy_(host) end
  return t
end

local function trailing_opts(...)
  local n = select('#', ...)
  local last = n > 0 and select(n, ...) or nil
  if is_opts(last) then return n - 1, last end
  return n, {}
end

--- torch.arange(stop, opts) -> Tensor
--- torch.arange(start, stop, step, opts) -> Tensor
-- The values start, start + step, ... up to stop, stop excluded (start defaults to 0, step to 1). int64
-- when all arguments are integers, else the default dtype; opts: dtype, device, requires_grad.
-- Example: torch.arange(0, 1, 0.25)   -- 0, 0.25, 0.5, 0.75
function torch.arange(...)
  local n, opts = trailing_opts(...)
  local a, b, step = (select(1, ...)), (select(2, ...)), (select(3, ...)) -- (not `= ...`: see args.sizes_and_opts)
  if n == 1 then a, b = 0, a end
  if n == 0 or n > 3 then argerror('arange', 'expected (stop), (start, stop) or (start, stop, step)') end
  step = n == 3 and step or 1
  local count = range_count('arange', a, b, step, false)
  local integral = args.is_integer(a) and args.is_integer(b) and args.is_integer(step)
  local dt, device_type, device_index = args.dtype_device('arange', opts, integral and dtype.INT64 or dtype.default)
  local t = fill_range(empty({ count }, dt, device_type, device_index, 'arange'), a, step)
  return apply_requires_grad('arange', t, opts)
end

--- torch.range(start, stop, step, opts) -> Tensor
-- Torch7's range: start, start + step, ... with both ends included (step defaults to 1), in the default
-- dtype. Prefer torch.arange, which excludes stop as PyTorch does.
-- Example: torch.range(1, 4)   -- 1, 2, 3, 4
function torch.range(...)
  local n, opts = trailing_opts(...)
  local a, b, step = (select(1, ...)), (select(2, ...)), (select(3, ...)) -- (not `= ...`: see args.sizes_and_opts)
  if n < 2 or n > 3 then argerror('range', 'expected (start, stop) or (start, stop, step)') end
  step = n == 3 and step or 1
  local count = range_count('range', a, b, step, true)
  local dt, device_type, device_index = args.dtype_device('range', opts)
  return apply_requires_grad('range', fill_range(empty({ count }, dt, device_type, device_index, 'range'), a, step), opts)
end

--- torch.linspace(start, stop, steps, opts) -> Tensor
-- steps (default 100) evenly spaced values from start to stop, both included; opts: dtype, device,
-- requires_grad.
-- Example: torch.linspace(0, 1, 5)
function torch.linspace(start, stop, steps, opts)
  if is_opts(steps) then steps, opts = nil, steps end
  opts = opts or {}
  steps = steps or 100
  args.number('linspace', 'start', start)
  args.number('linspace', 'end', stop)
  if not args.is_integer(steps) or steps < 0 then argerror('linspace', 'steps must be a non-negative integer, got %s', tostring(steps)) end
  local dt, device_type, device_index = args.dtype_device('linspace', opts)
  local t = empty({ steps }, dt, device_type, device_index, 'linspace')
  local step = steps > 1 and (stop - start) / (steps - 1) or 0
  -- The second half counts back from stop, as PyTorch does, so that the last value is exactly stop.
  local host = device_type == 0 and t or torch.empty(steps, { dtype = 'float64' })
  local hc = host._c
  local p, write = ffi.cast(dtype.ptr[hc.dtype], hc.storage.data), dtype.write[tonumber(hc.dtype)]
  local half = steps == 1 and 1 or math.floor(steps / 2) -- a single step is start, as in PyTorch
  for i = 0, steps - 1 do
    write(p, i, i < half and start + step * i or stop - step * (steps - 1 - i))
  end
  if host ~= t then t:copy_(host) end
  return apply_requires_grad('linspace', t, opts)
end

--- torch.logspace(start, end, steps=100, base=10, opts) -> Tensor
-- steps values base^v for v evenly spaced from start to end (both included), as PyTorch's logspace; opts (or a
-- trailing table in place of base): dtype, device, requires_grad.
-- Example: torch.logspace(0, 3, 4)   -- {1, 10, 100, 1000}
function torch.logspace(start, stop, steps, base, opts)
  if is_opts(steps) then steps, base, opts = nil, nil, steps elseif is_opts(base) then base, opts = nil, base end
  opts = opts or {}
  base = base == nil and 10 or args.number('logspace', 'base', base)
  local exponents = torch.linspace(start, stop, steps, { dtype = 'float64' })
  local dt, device_type, device_index = args.dtype_device('logspace', opts)
  local t = empty(exponents:shape(), dt, device_type, device_index, 'logspace')
  t:copy_(torch.pow(base, exponents))
  return apply_requires_grad('logspace', t, opts)
end

--- torch.eye(n, m, opts) -> Tensor
-- An n x m matrix (m defaults to n) with ones on the diagonal and zeros elsewhere; opts: dtype, device,
-- requires_grad.
function torch.eye(n, m, opts)
  if is_opts(m) then m, opts = nil, m end
  opts = opts or {}
  m = m or n
  if not args.is_integer(n) or n < 0 or not args.is_integer(m) or m < 0 then
    argerror('eye', 'expected non-negative integer sizes, got %s and %s', tostring(n), tostring(m))
  end
  local dt, device_type, device_index = args.dtype_device('eye', opts)
  local t = empty({ n, m }, dt, device_type, device_index, 'eye')
  check(C.tn_fill_(t._c, 0))
  if n > 0 and m > 0 then check(C.tn_fill_(t:diagonal()._c, 1)) end
  return apply_requires_grad('eye', t, opts)
end

-- ---- foreign memory ----

--- torch.from_pointer(ptr, sizes, opts) -> Tensor
-- A CPU tensor over memory the caller owns (no copy). ptr is an FFI pointer, sizes a table or a number;
-- opts: dtype (default 'float32'), strides (a table, in elements), free (a Lua function or C function
-- pointer that receives ptr once the last view of the tensor has been collected: at once on
-- collectgarbage(), otherwise at the next tensor allocation).
function torch.from_pointer(ptr, sizes, opts)
  opts = opts or {}
  if type(ptr) ~= 'cdata' then argerror('from_pointer', 'expected an FFI pointer, got %s', type(ptr)) end
  if type(sizes) == 'number' then sizes = { sizes } end
  args.check_sizes('from_pointer', sizes)
  local dt = dtype.parse(opts.dtype or 'float32', 'from_pointer')
  local numel = 1
  for i = 1, #sizes do numel = numel * sizes[i] end
  local deleter, ctx = nil, nil
  if opts.free then
    local free = opts.free
    -- One C callback per wrapped buffer; it frees itself after running.
    local cb
    cb = ffi.cast('void (*)(void *, void *)', function(data)
      free(data)
      cb:free()
    end)
    deleter = cb
  end
  local s = C.tn_storage_wrap(ffi.cast('void *', ptr), numel * dtype.size[dt], dt, 0, 0, deleter, ctx)
  if s == nil then core.c_error(2) end
  local n, buf = args.fill_sizes(sizes)
  local strides = nil
  if opts.strides then
    strides = args.strides_buf
    for i = 1, #opts.strides do strides[i - 1] = opts.strides[i] end
  end
  local t = C.tn_from_storage(s, 0, n, buf, strides, dt)
  C.tn_storage_release(s)
  return wrap(t, 2)
end

-- ---- Torch7 typed constructors ----

local function is_size_object(x) return type(x) == 'table' and getmetatable(x) == torch.Size end

-- torch.FloatTensor(2, 3), torch.FloatTensor{1, 2, 3}, torch.FloatTensor(size), torch.FloatTensor(t)
local function typed_constructor(class, dt, device)
  local fn = 'torch.' .. class
  return function(...)
    local n = select('#', ...)
    local first = (select(1, ...)) -- (not `= ...`: see args.sizes_and_opts)
    if n == 0 then return empty({ 0 }, dt) end
    if is_tensor(first) then
      -- Torch7: a new tensor viewing the same storage (converted when the type differs)
      local t = first:view(first:shape())
      if t._c.dtype ~= dt then t = t:to({ dtype = dtype.name[dt] }) end
      return t
    end
    local opts = { dtype = dtype.name[dt], device = device }
    if type(first) == 'table' and not is_size_object(first) and not is_opts(first) then
      return from_data(fn, first, opts)
    end
    local sizes = args.sizes_and_opts(fn, ...)
    local device_type, device_index = args.device(fn, device)
    return empty(sizes, dt, device_type, device_index, fn)
  end
end

for enum, class in pairs(dtype.class) do
  torch[class .. 'Tensor'] = typed_constructor(class .. 'Tensor', enum)
end
torch.CudaTensor = typed_constructor('CudaTensor', dtype.FLOAT32, 'cuda')
torch.CudaDoubleTensor = typed_constructor('CudaDoubleTensor', dtype.FLOAT64, 'cuda')
torch.CudaLongTensor = typed_constructor('CudaLongTensor', dtype.INT64, 'cuda')
torch.CudaHalfTensor = typed_constructor('CudaHalfTensor', dtype.FLOAT16, 'cuda')

-- torch.Tensor follows the default dtype at call time.
local default_constructors = {}
--- torch.Tensor(size...) -> Tensor
--- torch.Tensor(table) -> Tensor
--- torch.Tensor(tensor) -> Tensor
--- torch.FloatTensor(...) -> Tensor
--- torch.DoubleTensor(...) -> Tensor
--- torch.HalfTensor(...) -> Tensor
--- torch.BFloat16Tensor(...) -> Tensor
--- torch.LongTensor(...) -> Tensor
--- torch.IntTensor(...) -> Tensor
--- torch.ShortTensor(...) -> Tensor
--- torch.CharTensor(...) -> Tensor
--- torch.ByteTensor(...) -> Tensor
--- torch.BoolTensor(...) -> Tensor
--- torch.CudaTensor(...) -> Tensor
--- torch.CudaDoubleTensor(...) -> Tensor
--- torch.CudaLongTensor(...) -> Tensor
--- torch.CudaHalfTensor(...) -> Tensor
-- The Torch7 constructors. With sizes, an uninitialised tensor; with a (nested) table, a tensor of its
-- values; with a tensor, a new tensor object viewing the same storage (converted when the type differs);
-- with nothing, an empty tensor. torch.Tensor uses the default dtype (torch.set_default_dtype), the
-- others their own: Float = float32, Double = float64, Half = float16, Long = int64, Int = int32,
-- Short = int16, Char = int8, Byte = uint8; the Cuda ones allocate on the current GPU.
-- Example: torch.FloatTensor(2, 3), torch.LongTensor{1, 2, 3}
function torch.Tensor(...)
  local ctor = default_constructors[dtype.default]
  if not ctor then
    ctor = typed_constructor('Tensor', dtype.default)
    default_constructors[dtype.default] = ctor
  end
  return ctor(...)
end

--- torch.set_default_dtype(name)
-- Sets the dtype of new floating point tensors ('float32' at start; a floating point dtype name).
-- Example: torch.set_default_dtype('float64')
function torch.set_default_dtype(name)
  local dt = dtype.parse(name, 'set_default_dtype')
  if not dtype.floating[dt] then
    argerror('set_default_dtype', 'the default dtype must be a floating point type, got %s', name)
  end
  dtype.default = dt
end
--- torch.get_default_dtype() -> string
-- The name of the default floating point dtype, e.g. 'float32'.
function torch.get_default_dtype() return dtype.name[dtype.default] end

M.Tensor = Tensor
return M
