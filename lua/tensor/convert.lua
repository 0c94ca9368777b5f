-- tensor.convert: dtype and device conversion, Torch7 type names, tolist and raw pointers.
local ffi = require 'ffi'
local core = require 'tensor.core'
local alias = core.alias
local args = require 'tensor.args'
local dtype = require 'tensor.dtype'

local C, wrap, torch, Tensor = core.C, core.wrap, core.torch, core.Tensor
local is_tensor, argerror = core.is_tensor, args.argerror

--- Tensor:dtype() -> string
-- The dtype name: 'float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8'
-- or 'bool'.
function Tensor:dtype() return dtype.name[self._c.dtype] end
--- Tensor:device() -> string
-- Where the elements live: 'cpu' or 'cuda:<index>'.
function Tensor:device() return args.device_name(self._c) end
--- Tensor:is_cuda() -> boolean
-- Whether the tensor is on a GPU.
function Tensor:is_cuda() return self._c.storage.device_type == 1 end
--- Tensor:is_floating_point() -> boolean
-- Whether the dtype is float32, float64, float16 or bfloat16.
function Tensor:is_floating_point() return dtype.floating[self._c.dtype] == true end
--- Tensor:is_signed() -> boolean
-- Whether the dtype holds negative values: every dtype but uint8 and bool.
function Tensor:is_signed() return self._c.dtype ~= dtype.UINT8 and self._c.dtype ~= dtype.BOOL end
--- Tensor:is_complex() -> boolean
-- Always false: tensor has no complex dtypes (for code written against PyTorch).
function Tensor:is_complex() return false end
--- Tensor:is_nonzero() -> boolean
-- The truth of a one-element tensor (an error for any other number of elements, as PyTorch's bool(x)).
function Tensor:is_nonzero()
  local n = self:numel()
  if n ~= 1 then argerror('is_nonzero', 'expects a tensor of one element, got %d elements', n) end
  local v = self:item()
  return v ~= 0 and v ~= false
end
core.function_forms({ 'is_floating_point', 'is_signed', 'is_complex', 'is_nonzero', 'is_same_size' })

-- Converts to (dtype enum, device type, device index); returns self when nothing changes.
local function convert(self, dt, device_type, device_index, copy)
  local c = self._c
  if not copy and dt == c.dtype and device_type == c.storage.device_type and device_index == c.storage.device_index then
    return self
  end
  if copy and dt == c.dtype and device_type == c.storage.device_type and device_index == c.storage.device_index then
    return self:clone()
  end
  return wrap(C.tn_to(c, dt, device_type, device_index), 3)
end
Tensor._convert = convert

--- Tensor:to(dtype) -> Tensor
--- Tensor:to(device) -> Tensor
--- Tensor:to(other) -> Tensor
--- Tensor:to(opts) -> Tensor
-- The tensor converted to a dtype name, a device ('cpu', 'cuda', 'cuda:1'), the dtype and device of another
-- tensor, or opts {dtype=, device=, copy=}. Returns x itself when nothing changes, unless copy is true.
-- Example: x:to('float64'), x:to('cuda'), x:to{dtype='float16', device='cuda'}
function Tensor:to(target, opts)
  local c = self._c
  local dt, device_type, device_index = tonumber(c.dtype), tonumber(c.storage.device_type), tonumber(c.storage.device_index)
  local copy = false
  if is_tensor(target) then
    local o = target._c
    dt, device_type, device_index = tonumber(o.dtype), tonumber(o.storage.device_type), tonumber(o.storage.device_index)
  elseif type(target) == 'string' then
    if dtype.enum[target] then
      dt = dtype.enum[target]
    else
      device_type, device_index = args.device('to', target)
    end
  elseif type(target) == 'table' then
    opts = target
  elseif target ~= nil then
    argerror('to', 'expected a dtype name, a device, a tensor or an options table, got %s', type(target))
  end
  if opts then
    if opts.dtype then dt = dtype.parse(opts.dtype, 'to') end
    if opts.device then device_type, device_index = args.device('to', opts.device) end
    copy = opts.copy == true
  end
  return convert(self, dt, device_type, device_index, copy)
end

local function to_dtype(dt)
  return function(self)
    local c = self._c
    return convert(self, dt, tonumber(c.storage.device_type), tonumber(c.storage.device_index))
  end
end
--- Tensor:float() -> Tensor
--- Tensor:double() -> Tensor
--- Tensor:half() -> Tensor
--- Tensor:bfloat16() -> Tensor
--- Tensor:long() -> Tensor
--- Tensor:int() -> Tensor
--- Tensor:short() -> Tensor
--- Tensor:char() -> Tensor
--- Tensor:byte() -> Tensor
--- Tensor:bool() -> Tensor
-- The tensor converted to float32, float64, float16, bfloat16, int64, int32, int16, int8, uint8 or bool on
-- the same device (x itself when it already has that dtype).
Tensor.float, Tensor.double, Tensor.half, Tensor.bfloat16 =
  to_dtype(dtype.FLOAT32), to_dtype(dtype.FLOAT64), to_dtype(dtype.FLOAT16), to_dtype(dtype.BFLOAT16)
Tensor.long, Tensor.int, Tensor.short, Tensor.char, Tensor.byte, Tensor.bool =
  to_dtype(dtype.INT64), to_dtype(dtype.INT32), to_dtype(dtype.INT16), to_dtype(dtype.INT8),
  to_dtype(dtype.UINT8), to_dtype(dtype.BOOL)

--- Tensor:cpu() -> Tensor
-- The tensor on the CPU (x itself when it is there already).
function Tensor:cpu()
  return convert(self, tonumber(self._c.dtype), 0, 0)
end

--- Tensor:cuda(device) -> Tensor
-- The tensor on GPU device (an index, counted from 0 as CUDA does; default: the current device).
function Tensor:cuda(device)
  local device_type, device_index = args.device('cuda', device and ('cuda:' .. device) or 'cuda')
  return convert(self, tonumber(self._c.dtype), device_type, device_index)
end

-- Torch7 class names: torch.FloatTensor, torch.CudaTensor (float32 on CUDA), torch.CudaDoubleTensor, ...
local function type_name(c)
  local class = dtype.class[tonumber(c.dtype)]
  if c.storage.device_type == 1 then
    return 'torch.Cuda' .. (class == 'Float' and '' or class) .. 'Tensor'
  end
  return 'torch.' .. class .. 'Tensor'
end

--- Tensor:type() -> string
--- Tensor:type(name) -> Tensor
-- Without an argument, the Torch7 class name ('torch.FloatTensor', 'torch.CudaTensor', ...); with one, the
-- tensor converted to that class. x:typeAs(other) converts to other's class.
function Tensor:type(name)
  local c = self._c
  if name == nil then return type_name(c) end
  if type(name) ~= 'string' then argerror('type', 'expected a type name such as torch.FloatTensor, got %s', type(name)) end
  local cuda_class = name:match('^torch%.Cuda(%w*)Tensor$')
  local class = cuda_class or name:match('^torch%.(%w+)Tensor$')
  if cuda_class == '' then class = 'Float' end
  local dt = class and dtype.by_class[class]
  if not dt then argerror('type', "unknown tensor type '%s'", name) end
  if cuda_class then return convert(self, dt, args.device('type', 'cuda')) end
  return convert(self, dt, 0, 0)
end
Tensor.typeAs = function(self, other) return self:type(core.c_of(other, 'typeAs', 'other') and other:type()) end
alias(Tensor, 'type_as', 'typeAs') -- PyTorch's spelling

--- torch.type(x) -> string
-- The Torch7 class name of a tensor ('torch.DoubleTensor'), the __typename of an object that has one, else
-- Lua's type(x). Also torch.typename(x).
function torch.type(x)
  if is_tensor(x) then return type_name(x._c) end
  local mt = getmetatable(x)
  if type(mt) == 'table' and mt.__typename then return mt.__typename end
  return type(x)
end
alias(torch, 'typename', 'type')
--- torch.is_tensor(x) -> boolean
-- Whether x is a Tensor. Torch7 name: torch.isTensor(x).
function torch.is_tensor(x) return is_tensor(x) end
alias(torch, 'isTensor', 'is_tensor')

--- Tensor:tolist() -> table or number
-- The values as nested Lua tables (a number for a 0-d tensor). Torch7 name: x:totable().
-- Example: torch.eye(2):tolist()   -- {{1, 0}, {0, 1}}
function Tensor:tolist()
  local t = self:cpu():contiguous()
  local c = t._c
  local dt = tonumber(c.dtype)
  local p, read = ffi.cast(dtype.ptr[dt], c.storage.data), dtype.read[dt]
  local base = tonumber(c.offset)
  if c.ndim == 0 then return read(p, base) end
  local sizes = t:shape()
  local pos = base
  local function build(d)
    local out = {}
    if d == #sizes then
      for i = 1, sizes[d] do
        out[i] = read(p, pos)
        pos = pos + 1
      end
    else
      for i = 1, sizes[d] do out[i] = build(d + 1) end
    end
    return out
  end
  return build(1)
end
alias(Tensor, 'totable', 'tolist')

--- Tensor:data_ptr() -> cdata
-- A typed FFI pointer to the first element (float* for float32, ...). It does not keep the tensor alive:
-- hold on to the tensor while the pointer is in use. A value read through it and used after an op has changed
-- that element may, in compiled code, be read again at its use (a LuaJIT x86-64 fault: it moves loads past calls
-- into C): read with x[i] or x:item() there, or store the value somewhere (any FFI store) before the op.
function Tensor:data_ptr()
  local c = self._c
  return ffi.cast(dtype.ptr[tonumber(c.dtype)], C.tn_data_ptr(c))
end

return {}
