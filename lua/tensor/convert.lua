-- tensor.convert: dtype and device conversion, Torch7 type names, tolist and raw pointers.
local ffi = require 'ffi'
local core = require 'tensor.core'
local args = require 'tensor.args'
local dtype = require 'tensor.dtype'

local C, wrap, torch, Tensor = core.C, core.wrap, core.torch, core.Tensor
local is_tensor, argerror = core.is_tensor, args.argerror

function Tensor:dtype() return dtype.name[self._c.dtype] end
function Tensor:device() return args.device_name(self._c) end
function Tensor:is_cuda() return self._c.storage.device_type == 1 end
function Tensor:is_floating_point() return dtype.floating[self._c.dtype] == true end

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

-- x:to('float64'), x:to('cuda'), x:to{dtype=, device=, copy=}, x:to(other_tensor)
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
Tensor.float, Tensor.double, Tensor.half, Tensor.bfloat16 =
  to_dtype(dtype.FLOAT32), to_dtype(dtype.FLOAT64), to_dtype(dtype.FLOAT16), to_dtype(dtype.BFLOAT16)
Tensor.long, Tensor.int, Tensor.short, Tensor.char, Tensor.byte, Tensor.bool =
  to_dtype(dtype.INT64), to_dtype(dtype.INT32), to_dtype(dtype.INT16), to_dtype(dtype.INT8),
  to_dtype(dtype.UINT8), to_dtype(dtype.BOOL)

function Tensor:cpu()
  return convert(self, tonumber(self._c.dtype), 0, 0)
end

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
Tensor.typeAs = function(self, other) return self:type(other:type()) end

-- torch.type(x): the Torch7 class name of a tensor, else Lua's type
function torch.type(x)
  if is_tensor(x) then return type_name(x._c) end
  local mt = getmetatable(x)
  if type(mt) == 'table' and mt.__typename then return mt.__typename end
  return type(x)
end
torch.typename = torch.type
function torch.is_tensor(x) return is_tensor(x) end
torch.isTensor = torch.is_tensor

-- Nested Lua tables of the values (a number for a 0-d tensor).
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
Tensor.totable = Tensor.tolist

-- A typed FFI pointer to the first element (float* for float32). It does not keep the tensor alive.
function Tensor:data_ptr()
  local c = self._c
  return ffi.cast(dtype.ptr[tonumber(c.dtype)], C.tn_data_ptr(c))
end

return {}
