-- tensor.serialization.reader: turns a parsed document (the node tree that lib/io's readers build and check)
-- into Lua values. Shared and cyclic references stay shared: each container, tensor and storage node
-- becomes one Lua value however often it is referenced.
--
-- Value mapping: nil/None -> nil, numbers and ints -> numbers (ints beyond 2^53 lose precision),
-- strings and bytes -> strings, lists and tuples -> Lua arrays (1-based positions, values unchanged),
-- tables and dicts -> tables, tensors -> CPU tensors (views of shared storages), a bare Torch7 storage ->
-- a 1-d tensor over it, an object of another Torch7 class -> a table of its fields plus `__typename`
-- (and `__version` when it is not 1), unless a reader for that class is registered in `classes`.
local ffi = require 'ffi'
local bit = require 'bit'
local core = require 'tensor.core'
local args = require 'tensor.args'
local dtype = require 'tensor.dtype'

local C = core.C
local M = {}

local NIL, BOOL, INT, NUMBER, STRING, LIST, MAP, STORAGE, TENSOR, OBJECT, FUNCTION, GLOBAL =
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
local REQUIRES_GRAD = tonumber(C.TN_IO_REQUIRES_GRAD)
local MAX_DEPTH = tonumber(C.TN_IO_MAX_DEPTH)

-- Readers for Torch7 classes: M.classes[name] = function(fields, name, version) -> value. The nn package
-- registers its modules here; torch.load's {classes=} option adds to them for one call. A reader receives
-- the fields table after it is complete; references to the object from inside its own fields (cycles) see
-- the fields table.
M.classes = {}

-- Builds the value of doc's root. opts: share (wrap the mapped file), device ({type, index} or nil),
-- allow_functions, classes. `name` prefixes error messages. Returns the value (and the safetensors metadata).
function M.build(doc, opts, name)
  local nodes, links, dims = doc.nodes, doc.links, doc.dims
  local memo, storages, moved = {}, {}, {}
  local share = opts.share and 1 or 0
  local device_type, device_index = opts.device_type or 0, opts.device_index or 0
  local classes, allow_functions = opts.classes, opts.allow_functions
  local value

  local function fail(fmt, ...)
    error(string.format('%s: ' .. fmt, name, ...), 0)
  end

  -- The tn_storage of a STORAGE node, on the requested device, made once.
  local function storage(i)
    local s = storages[i]
    if s then return s end
    s = C.tn_io_storage(doc, i, share)
    if s == nil then fail('%s', ffi.string(C.tn_last_error())) end
    s = ffi.gc(s, C.tn_storage_release)
    if device_type ~= 0 then
      local n = nodes[i].storage
      args.sizes_buf[0] = n.numel
      local host = core.wrap(C.tn_from_storage(s, 0, 1, args.sizes_buf, nil, n.dtype))
      local there = core.wrap(C.tn_to(host._c, n.dtype, device_type, device_index))
      moved[#moved + 1] = there -- keeps the device copy alive while views are made of it
      s = there._c.storage
    end
    storages[i] = s
    return s
  end

  local function tensor(i, n)
    local t = n.tensor
    local ndim, at = t.ndim, t.dims
    local ptr
    if t.storage < 0 then
      ptr = C.tn_empty(ndim, dims + at, t.dtype, device_type, device_index)
    else
      ptr = C.tn_from_storage(storage(t.storage), t.offset, ndim, dims + at, dims + at + ndim, t.dtype)
    end
    if ptr == nil then fail('%s', ffi.string(C.tn_last_error())) end
    local x = core.wrap(ptr)
    if bit.band(n.flags, REQUIRES_GRAD) ~= 0 and dtype.floating[tonumber(t.dtype)] then x.requires_grad = true end
    memo[i] = x
    return x
  end

  -- Fills table t with the entries of MAP node n.
  local function fill(t, n, depth)
    local l = n.list.first
    while l >= 0 do
      local link = links[l]
      local k = value(link.key, depth)
      if k == nil then fail('a table key is nil (Python None), which Lua tables cannot hold') end
      if k ~= k then fail('a table key is NaN, which Lua tables cannot hold') end
      t[k] = value(link.value, depth)
      l = link.next
    end
    return t
  end

  local function object(i, n, depth)
    local o = n.object
    local class = ffi.string(nodes[o.name].string.ptr, nodes[o.name].string.len)
    local fields = {}
    memo[i] = fields
    fill(fields, nodes[o.fields], depth)
    local reader = classes and classes[class] or M.classes[class]
    if reader then
      local v = reader(fields, class, tonumber(o.version))
      memo[i] = v
      return v
    end
    fields.__typename = class
    if o.version ~= 1 then fields.__version = tonumber(o.version) end
    return fields
  end

  local function func(i, n, depth)
    local f = n.func
    if not allow_functions then
      fail('the file contains a Lua function; load it with {allow_functions=true} only if you trust the file '
           .. '(the function runs code from the file when called)')
    end
    local code = ffi.string(f.ptr, f.len)
    local fn, err = loadstring(code, '=' .. name)
    if not fn then fail('cannot load a function of the file: %s', tostring(err)) end
    memo[i] = fn
    local upvalues = value(f.upvalues, depth)
    for k, uv in ipairs(upvalues) do
      if f.recursive ~= 0 then
        if type(uv) == 'table' and uv.name ~= '_ENV' then debug.setupvalue(fn, k, uv.value) end
      else
        debug.setupvalue(fn, k, uv)
      end
    end
    return fn
  end

  value = function(i, depth)
    local n = nodes[i]
    local kind = n.kind
    if kind == NUMBER then return n.number end
    if kind == STRING then return ffi.string(n.string.ptr, n.string.len) end
    if kind == INT then return tonumber(n.integer) end
    if kind == BOOL then return n.boolean ~= 0 end
    if kind == NIL then return nil end
    local v = memo[i]
    if v ~= nil then return v end
    depth = depth + 1
    if depth > MAX_DEPTH then fail('values nested more than %d levels deep', MAX_DEPTH) end
    if kind == TENSOR then return tensor(i, n) end
    if kind == MAP then
      v = {}
      memo[i] = v
      return fill(v, n, depth)
    end
    if kind == LIST then
      v = {}
      memo[i] = v
      local l, k = n.list.first, 0
      while l >= 0 do
        local link = links[l]
        k = k + 1
        v[k] = value(link.value, depth)
        l = link.next
      end
      return v
    end
    if kind == OBJECT then return object(i, n, depth) end
    if kind == STORAGE then
      args.sizes_buf[0] = n.storage.numel
      v = core.wrap(C.tn_from_storage(storage(i), 0, 1, args.sizes_buf, nil, n.storage.dtype))
      memo[i] = v
      return v
    end
    if kind == FUNCTION then return func(i, n, depth) end
    if kind == GLOBAL then
      fail("a Python class or function ('%s') is used as a value", ffi.string(n.string.ptr, n.string.len))
    end
    fail('unknown node kind %d', kind)
  end

  local root = value(doc.root, 0)
  if doc.metadata >= 0 then return root, value(doc.metadata, 0) end
  return root
end

return M
