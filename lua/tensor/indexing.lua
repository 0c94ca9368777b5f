-- tensor.indexing: x[i], Torch7 table indexing x[{ {2,4}, 3, {} }] for reading and assignment (an entry may also
-- be a 1-d integer tensor of positions, PyTorch's x[:, idx]; only full ranges may follow it in an assignment),
-- x[mask] and x[positions], element access (item), fill_ and zero_.
local ffi = require 'ffi'
local core = require 'tensor.core'
local alias = core.alias
local args = require 'tensor.args'
local dtype = require 'tensor.dtype'

local C, check, Tensor, torch = core.C, core.check, core.Tensor, core.torch
local is_tensor, argerror = core.is_tensor, args.argerror
local readers, writers, ptr_types = dtype.read, dtype.write, dtype.ptr

-- The value of the element at linear storage position `pos` of a CPU tensor.
local function read_at(c, pos)
  local dt = c.dtype
  return readers[dt](ffi.cast(ptr_types[dt], c.storage.data), pos)
end

local function write_at(c, pos, v)
  local dt = c.dtype
  if type(v) == 'boolean' and dt ~= dtype.BOOL then v = v and 1 or 0 end
  if type(v) == 'number' and not dtype.fits(v, dt) then
    argerror('index', 'value %s cannot be converted to %s without overflow', tostring(v), dtype.name[dt])
  end
  writers[dt](ffi.cast(ptr_types[dt], c.storage.data), pos, v)
  c.storage.version = c.storage.version + 1
end

local function on_cpu(self, fn)
  if self._c.storage.device_type ~= 0 then
    argerror(fn, 'element access needs a CPU tensor; this one is on %s (use :cpu() or :item())',
             args.device_name(self._c))
  end
end

--- Tensor:item() -> number
-- The value of a one-element tensor as a Lua number (boolean tensors give true/false; int64 beyond 2^53
-- loses precision). Copies from the GPU when needed.
function Tensor:item()
  local c = self._c
  if c.numel ~= 1 then
    argerror('item', 'only a tensor with one element can be converted to a number, this one has %d',
             tonumber(c.numel))
  end
  if c.storage.device_type ~= 0 then return self:cpu():item() end
  return read_at(c, tonumber(c.offset))
end

local function position(fn, c, d, index)
  local size = tonumber(c.sizes[d])
  if type(index) ~= 'number' or index ~= math.floor(index) then
    argerror(fn, 'index must be an integer, got %s', tostring(index))
  end
  local i = index < 0 and index + size + 1 or index
  if i < 1 or i > size then
    argerror(fn, 'index %d is out of range for dimension %d of size %d', index, d + 1, size)
  end
  return (i - 1) * tonumber(c.strides[d])
end

-- Tensor-valued indices: a bool/uint8 mask selects elements, an integer tensor selects along dim 1.
local function tensor_index_get(self, key)
  local kd = key._c.dtype
  if kd == dtype.BOOL or kd == dtype.UINT8 then return self:masked_select(key) end
  if dtype.integral[kd] then return self:index_select(1, key) end
  argerror('index', 'a tensor used as an index must be bool, uint8 or an integer type, got %s', dtype.name[kd])
end

local function tensor_index_set(self, key, value)
  local kd = key._c.dtype
  if kd == dtype.BOOL or kd == dtype.UINT8 then
    if is_tensor(value) then return self:masked_scatter_(key, value) end
    return self:masked_fill_(key, value)
  end
  if dtype.integral[kd] then
    if is_tensor(value) then return self:index_copy_(1, key, value) end
    return self:index_fill_(1, key, value)
  end
  argerror('index', 'a tensor used as an index must be bool, uint8 or an integer type, got %s', dtype.name[kd])
end

-- Applies a Torch7 index table; returns a view, or (number, storage position) when every dim is
-- indexed by a number (Torch7 then yields the element itself).
local function table_index(fn, self, key)
  local c = self._c
  local n = #key
  if n > c.ndim then
    argerror(fn, 'too many indices: %d given for a tensor of %d dimension%s', n, c.ndim, c.ndim == 1 and '' or 's')
  end
  local all_numbers = n == c.ndim
  for k = 1, n do
    if type(key[k]) ~= 'number' then all_numbers = false break end
  end
  if all_numbers then
    local pos = tonumber(c.offset)
    for k = 1, n do pos = pos + position(fn, c, k - 1, key[k]) end
    return nil, pos
  end
  local view, d, tensor_entry = self, 1, nil
  for k = 1, n do
    local e = key[k]
    if type(e) == 'number' then
      view = view:select(d, e)
    elseif type(e) == 'table' and not is_tensor(e) then
      if e[1] ~= nil then
        local size = view:size(d)
        local first, last = e[1], e[2] or e[1]
        if #e > 2 or not args.is_integer(first) or not args.is_integer(last) then
          argerror(fn, 'index entry %d must be a range {first, last} of integers, {i} or {}', k)
        end
        if first < 0 then first = first + size + 1 end
        if last < 0 then last = last + size + 1 end
        if first < 1 or first > size + 1 or last > size or last < first - 1 then
          argerror(fn, 'range {%s, %s} is out of bounds for dimension %d of size %d', tostring(e[1]),
                   tostring(e[2] or e[1]), d, size)
        end
        view = view:narrow(d, first, last - first + 1)
      end
      d = d + 1
    elseif is_tensor(e) then
      -- an integer tensor picks positions along its dim (x[{ {}, idx }] is PyTorch's x[:, idx - 1])
      if not dtype.integral[tonumber(e._c.dtype)] or e:dim() > 1 then
        argerror(fn, 'index entry %d: a tensor in an index table must be a 1-d integer tensor of positions, got a %s %d-d one',
                 k, e:dtype(), e:dim())
      end
      if tensor_entry then
        argerror(fn, 'index entries %d and %d are both tensors: use index_put_ or gather for several', tensor_entry, k)
      end
      tensor_entry = k
      view = view:index_select(d, e)
      d = d + 1
    else
      argerror(fn, 'index entry %d must be a number, a range table or a tensor of positions, got %s', k, type(e))
    end
  end
  return view, nil, tensor_entry
end

core.index_get = function(self, key)
  if type(key) == 'number' then
    local c = self._c
    if c.ndim == 0 then argerror('index', 'cannot index a 0-d tensor; use :item()') end
    if c.ndim == 1 then
      on_cpu(self, 'index')
      return read_at(c, tonumber(c.offset) + position('index', c, 0, key))
    end
    return self:select(1, key)
  elseif type(key) == 'table' then
    if is_tensor(key) then return tensor_index_get(self, key) end
    local view, pos = table_index('index', self, key)
    if view then return view end
    on_cpu(self, 'index')
    return read_at(self._c, pos)
  end
  argerror('index', 'cannot index a tensor with a %s', type(key))
end

local function assign(fn, target, value)
  if is_tensor(value) then
    target:copy_(value)
  elseif type(value) == 'number' or type(value) == 'boolean' then
    target:fill_(value) -- the method, so that autograd sees writes into views
  else
    argerror(fn, 'cannot assign a %s to a tensor element', type(value))
  end
end

-- x[{ ..., idx, {}, ... }] = value with an integer tensor entry k: the entries before it give a view, and the
-- positions go along its dim through index_copy_ / index_fill_ (so only full ranges {} may follow it).
local function tensor_entry_set(self, key, k, value)
  for j = k + 1, #key do
    local e = key[j]
    if not (type(e) == 'table' and not is_tensor(e) and e[1] == nil) then
      argerror('index', 'index entry %d: only full ranges {} may follow a tensor of positions when assigning ' ..
               '(use index_put_)', j)
    end
  end
  local prefix = {}
  for j = 1, k - 1 do prefix[j] = key[j] end
  local view = k > 1 and table_index('index', self, prefix) or self
  local d = 1
  for j = 1, k - 1 do if type(key[j]) ~= 'number' then d = d + 1 end end
  local index = key[k]
  if not dtype.integral[tonumber(index._c.dtype)] or index:dim() > 1 then
    argerror('index', 'index entry %d: a tensor in an index table must be a 1-d integer tensor of positions, got a %s %d-d one',
             k, index:dtype(), index:dim())
  end
  if is_tensor(value) then
    local shape = view:shape()
    shape[d] = index:numel()
    view:index_copy_(d, index, value:expand(shape))
  elseif type(value) == 'number' or type(value) == 'boolean' then
    view:index_fill_(d, index, value)
  else
    argerror('index', 'cannot assign a %s to tensor elements', type(value))
  end
end

core.index_set = function(self, key, value)
  if type(key) == 'number' then
    local c = self._c
    if c.ndim == 0 then argerror('index', 'cannot index a 0-d tensor; use :fill_()') end
    local base = rawget(self, '_base')
    local tracked = rawget(self, '_rg') or (base and rawget(base, '_rg'))
    if c.ndim == 1 and type(value) ~= 'table' and not tracked then
      on_cpu(self, 'index')
      if type(value) ~= 'number' and type(value) ~= 'boolean' then
        argerror('index', 'cannot assign a %s to a tensor element', type(value))
      end
      return write_at(c, tonumber(c.offset) + position('index', c, 0, key), value)
    end
    return assign('index', self:select(1, key), value)
  elseif type(key) == 'table' then
    if is_tensor(key) then return tensor_index_set(self, key, value) end
    for k = 1, #key do
      if is_tensor(key[k]) then return tensor_entry_set(self, key, k, value) end
    end
    local view, pos = table_index('index', self, key)
    if view then return assign('index', view, value) end
    on_cpu(self, 'index')
    if type(value) ~= 'number' and type(value) ~= 'boolean' then
      if is_tensor(value) and value:numel() == 1 then value = value:item() else
        argerror('index', 'cannot assign a %s to a tensor element', type(value))
      end
    end
    return write_at(self._c, pos, value)
  end
  argerror('index', 'cannot index a tensor with a %s', type(key))
end

--- Tensor:fill_(value) -> Tensor
-- Sets every element to value (a number, a boolean, or a one-element tensor) in place. Returns x.
-- Torch7 name: x:fill(value). Also torch.fill_(x, value).
function Tensor:fill_(value)
  if type(value) == 'boolean' then value = value and 1 or 0 end
  if is_tensor(value) then value = value:item() end
  if type(value) ~= 'number' then argerror('fill_', 'expected a number, got %s', type(value)) end
  if not dtype.fits(value, self._c.dtype) then
    argerror('fill_', 'value %s cannot be converted to %s without overflow', tostring(value), dtype.name[self._c.dtype])
  end
  check(C.tn_fill_(self._c, value))
  return self
end
alias(Tensor, 'fill', 'fill_')

--- Tensor:zero_() -> Tensor
-- Sets every element to zero in place. Returns x. Torch7 name: x:zero(). Also torch.zero_(x).
function Tensor:zero_()
  check(C.tn_fill_(self._c, 0))
  return self
end
alias(Tensor, 'zero', 'zero_')

function torch.fill_(x, v) return x:fill_(v) end
function torch.zero_(x) return x:zero_() end

return {}
