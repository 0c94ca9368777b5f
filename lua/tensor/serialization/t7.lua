-- tensor.serialization.t7: writes Lua values in Torch7's serialization format, byte for byte as Torch7's
-- File:writeObject does, through lib/io's writer (binary or ascii).
--
--   nil, numbers, strings, booleans   as themselves
--   tables                            Torch7 tables; a table referenced twice (or cyclically) is written once
--                                     and then by its reference index
--   tensors                           torch.<T>Tensor objects (T = Float, Double, Half, BFloat16, Long, Int,
--                                     Short, Char, Byte, Bool), each over a torch.<T>Storage written once per
--                                     storage, so views that share memory still share it when loaded
--   tables with a __typename field    Torch7 objects of that class (e.g. nn.Linear), their other (raw) fields
--   (their own or their class's)      as the instance's table; __version gives the class version (default 1)
-- Torch7 has no 0-d tensors: a 0-d tensor is written as a one-element 1-d tensor whose version is 2 ("V 2";
-- Torch7 ignores a tensor's version and reads the 1-d tensor, our reader restores the 0-d one). Functions,
-- coroutines and cdata cannot be written: the error names where in the value they are.
local ffi = require 'ffi'
local core = require 'tensor.core'
local args = require 'tensor.args'
local dtype = require 'tensor.dtype'

local C = core.C
local M = {}

local TYPE_NIL, TYPE_NUMBER, TYPE_STRING, TYPE_TABLE, TYPE_TORCH, TYPE_BOOLEAN = 0, 1, 2, 3, 4, 5
local MAX_DEPTH = tonumber(C.TN_IO_MAX_DEPTH)
local INT32, INT64, FLOAT64, INT8 = dtype.INT32, dtype.INT64, dtype.FLOAT64, dtype.INT8

-- A readable path to the value being written, for error messages: obj.layers[2].weight
local function describe(path)
  local parts = { 'obj' }
  for i = 1, #path do
    local k = path[i]
    if type(k) == 'string' and k:match('^[%a_][%w_]*$') then
      parts[#parts + 1] = '.' .. k
    else
      parts[#parts + 1] = '[' .. (type(k) == 'string' and string.format('%q', k) or tostring(k)) .. ']'
    end
  end
  return table.concat(parts)
end

-- Writes obj to writer w (a tn_io_writer*). fn names the caller in error messages.
function M.write(w, obj, fn)
  local i32, i64, f64 = ffi.new('int32_t[1]'), ffi.new('int64_t[?]', 2 * 16 + 1), ffi.new('double[1]')
  local write = C.tn_io_write
  local refs, nrefs = {}, 0        -- Lua table or tensor -> reference index
  local storage_refs = {}          -- storage address * 16 + dtype -> reference index
  local path = {}

  local function fail(fmt, ...)
    error(string.format('%s: ' .. fmt, fn, ...), 0)
  end

  local function int(v)
    i32[0] = v
    write(w, INT32, i32, 1)
  end
  local function long(v)
    i64[0] = v
    write(w, INT64, i64, 1)
  end
  local function str(s)
    int(#s)
    write(w, INT8, s, #s)
  end
  -- The reference index of x if it was written before (after writing it), or nil after assigning a new one.
  local function reference(x)
    local index = refs[x]
    if index then
      int(index)
      return true
    end
    nrefs = nrefs + 1
    refs[x] = nrefs
    int(nrefs)
    return false
  end

  local function storage(c, dt)
    local s = c.storage
    local key = tonumber(ffi.cast('uintptr_t', s)) * 16 + dt
    int(TYPE_TORCH)
    local index = storage_refs[key]
    if index then return int(index) end
    nrefs = nrefs + 1
    storage_refs[key] = nrefs
    int(nrefs)
    str('V 1')
    str('torch.' .. dtype.class[dt] .. 'Storage')
    local numel = math.floor(tonumber(s.nbytes) / dtype.size[dt])
    long(numel)
    local data = s.data
    if s.device_type ~= 0 then -- a device storage: its bytes through a host copy (written as a CPU storage)
      args.sizes_buf[0] = numel
      local whole = core.wrap(C.tn_from_storage(s, 0, 1, args.sizes_buf, nil, dt))
      local host = core.wrap(C.tn_to(whole._c, dt, 0, 0))
      return write(w, dt, host._c.storage.data, numel)
    end
    write(w, dt, data, numel)
  end

  local function tensor(x)
    int(TYPE_TORCH)
    if reference(x) then return end
    local c = x._c
    local dt = tonumber(c.dtype)
    local ndim = c.ndim
    str(ndim == 0 and 'V 2' or 'V 1')
    str('torch.' .. dtype.class[dt] .. 'Tensor')
    if ndim == 0 then -- one element in one dimension, marked by the version
      int(1)
      i64[0], i64[1] = 1, 1
      write(w, INT64, i64, 1)
      write(w, INT64, i64 + 1, 1)
    else
      int(ndim)
      write(w, INT64, c.sizes, ndim)
      write(w, INT64, c.strides, ndim)
    end
    long(c.offset + 1)
    storage(c, dt)
  end

  local object

  local function entries(t, typed)
    local n = 0
    for k in next, t do
      if not (typed and (k == '__typename' or k == '__version')) then n = n + 1 end
    end
    return n
  end

  local function table_entries(t, typed, depth)
    int(entries(t, typed))
    local d = #path + 1
    for k, v in next, t do
      if not (typed and (k == '__typename' or k == '__version')) then
        path[d] = k
        object(k, depth)
        object(v, depth)
      end
    end
    path[d] = nil
  end

  local function tbl(t, depth)
    if depth > MAX_DEPTH then fail('%s is nested more than %d levels deep', describe(path), MAX_DEPTH) end
    local typename = rawget(t, '__typename')
    local mt = getmetatable(t)
    if typename == nil and mt ~= nil then typename = t.__typename end -- a class's name, through __index
    if typename == nil then
      int(TYPE_TABLE)
      if reference(t) then return end
      return table_entries(t, false, depth + 1)
    end
    if type(typename) ~= 'string' then fail('%s.__typename is a %s, not a string', describe(path), type(typename)) end
    int(TYPE_TORCH)
    if reference(t) then return end
    local version = rawget(t, '__version') or (mt ~= nil and t.__version) or 1
    str('V ' .. tostring(version))
    str(typename)
    -- the instance's fields, as a table of their own (as Torch7 writes them)
    int(TYPE_TABLE)
    nrefs = nrefs + 1
    int(nrefs)
    table_entries(t, true, depth + 1)
  end

  object = function(v, depth)
    local tv = type(v)
    if tv == 'number' then
      int(TYPE_NUMBER)
      f64[0] = v
      write(w, FLOAT64, f64, 1)
    elseif tv == 'string' then
      int(TYPE_STRING)
      str(v)
    elseif tv == 'table' then
      if core.is_tensor(v) then return tensor(v) end
      tbl(v, depth)
    elseif tv == 'boolean' then
      int(TYPE_BOOLEAN)
      int(v and 1 or 0)
    elseif tv == 'nil' then
      int(TYPE_NIL)
    elseif tv == 'function' then
      fail('cannot save a function (%s): files written here never contain code', describe(path))
    else
      fail('cannot save a %s (%s)', tv, describe(path))
    end
  end

  object(obj, 0)
end

return M
