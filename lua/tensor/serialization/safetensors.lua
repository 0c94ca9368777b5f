-- tensor.serialization.safetensors: writes the safetensors format (u64 header length, JSON header, data).
-- Tensors are laid out as the reference implementation does: by element size (largest first), then by
-- name, each contiguous and row-major; the header is padded with spaces to a multiple of 8 bytes, so
-- every tensor's data is aligned to its element size.
local ffi = require 'ffi'
local core = require 'tensor.core'
local dtype = require 'tensor.dtype'

local C = core.C
local M = {}

M.dtype_names = {
  [dtype.FLOAT32] = 'F32', [dtype.FLOAT64] = 'F64', [dtype.FLOAT16] = 'F16', [dtype.BFLOAT16] = 'BF16',
  [dtype.INT64] = 'I64', [dtype.INT32] = 'I32', [dtype.INT16] = 'I16', [dtype.INT8] = 'I8',
  [dtype.UINT8] = 'U8', [dtype.BOOL] = 'BOOL',
}

local escapes = { ['"'] = '\\"', ['\\'] = '\\\\', ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t' }
local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(ch) return escapes[ch] or string.format('\\u%04x', ch:byte()) end) .. '"'
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

-- Checks the arguments; returns the entries {name=, tensor= (contiguous, on the CPU), begin=, finish=} in
-- file order and the header text.
local function layout(fn, tensors, metadata)
  if type(tensors) ~= 'table' or core.is_tensor(tensors) then
    error(string.format('%s: expected a table of name -> tensor, got %s', fn, core.is_tensor(tensors) and 'a tensor' or type(tensors)), 3)
  end
  local list = {}
  for name, t in pairs(tensors) do
    if type(name) ~= 'string' then
      error(string.format('%s: tensor names must be strings, got a %s key', fn, type(name)), 3)
    end
    if name == '__metadata__' then error(fn .. ": '__metadata__' is reserved for the metadata", 3) end
    if not core.is_tensor(t) then
      error(string.format("%s: '%s' is a %s, not a tensor", fn, name, type(t)), 3)
    end
    list[#list + 1] = { name = name, tensor = t:detach():cpu():contiguous(), size = dtype.size[tonumber(t._c.dtype)] }
  end
  table.sort(list, function(a, b)
    if a.size ~= b.size then return a.size > b.size end
    return a.name < b.name
  end)
  local parts, offset = {}, 0
  if metadata ~= nil then
    if type(metadata) ~= 'table' then error(string.format('%s: metadata must be a table, got %s', fn, type(metadata)), 3) end
    local items = {}
    for _, k in ipairs(sorted_keys(metadata)) do
      local v = metadata[k]
      if type(k) ~= 'string' or (type(v) ~= 'string' and type(v) ~= 'number') then
        error(string.format('%s: metadata must map strings to strings, got %s -> %s', fn, type(k), type(v)), 3)
      end
      items[#items + 1] = json_string(k) .. ':' .. json_string(tostring(v))
    end
    parts[1] = '"__metadata__":{' .. table.concat(items, ',') .. '}'
  end
  for _, e in ipairs(list) do
    local c = e.tensor._c
    local shape = {}
    for d = 0, c.ndim - 1 do shape[d + 1] = string.format('%d', tonumber(c.sizes[d])) end
    e.begin = offset
    offset = offset + tonumber(c.numel) * e.size
    parts[#parts + 1] = string.format('%s:{"dtype":"%s","shape":[%s],"data_offsets":[%d,%d]}', json_string(e.name),
                                      M.dtype_names[tonumber(c.dtype)], table.concat(shape, ','), e.begin, offset)
  end
  local header = '{' .. table.concat(parts, ',') .. '}'
  return list, header .. string.rep(' ', (8 - #header % 8) % 8)
end

-- Writes tensors (name -> tensor) and optional metadata (string -> string) to writer w.
function M.write(w, tensors, metadata, fn)
  local list, header = layout(fn, tensors, metadata)
  local length = ffi.new('int64_t[1]', #header)
  C.tn_io_write(w, dtype.INT64, length, 1)
  C.tn_io_write(w, dtype.UINT8, header, #header)
  for _, e in ipairs(list) do
    local c = e.tensor._c
    C.tn_io_write(w, c.dtype, C.tn_data_ptr(c), c.numel)
  end
end

return M
