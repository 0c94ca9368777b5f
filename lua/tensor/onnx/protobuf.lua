-- tensor.onnx.protobuf: the protocol buffers wire format, for writing (no protobuf library needed).
--
-- Every function returns the encoded bytes of one field as a Lua string; a message is the concatenation of
-- its fields, and a nested message is written with `message(field, bytes)` (a length-delimited field).
--
--   local pb = require 'tensor.onnx.protobuf'
--   local bytes = pb.int64(1, 8) .. pb.string(2, 'tensor') .. pb.message(7, graph_bytes)
--
-- Wire types: 0 varint (int32/int64/uint64/bool/enum, and zigzag sint32/sint64), 1 fixed 64-bit (double),
-- 2 length-delimited (strings, bytes, messages, packed repeated scalars), 5 fixed 32-bit (float).
-- Negative int32/int64 values are varints of their 64-bit two's complement (10 bytes), as protobuf does;
-- sint fields use zigzag. Fixed-width values are written little-endian whatever the host's byte order.
local ffi = require 'ffi'
local bit = require 'bit'

local M = {}

local char, concat, floor = string.char, table.concat, math.floor
local band, rshift, lshift, bxor, arshift = bit.band, bit.rshift, bit.lshift, bit.bxor, bit.arshift

M.VARINT, M.FIXED64, M.BYTES, M.FIXED32 = 0, 1, 2, 5

local little_endian = ffi.abi('le')
local f32 = ffi.new('float[1]')
local f64 = ffi.new('double[1]')

local function integer_value(v, what)
  if type(v) == 'number' then
    if v ~= floor(v) or v ~= v or v == math.huge or v == -math.huge then
      error(string.format('protobuf: %s must be an integer, got %s', what, tostring(v)), 3)
    end
  elseif type(v) == 'boolean' then
    return v and 1 or 0
  elseif type(v) ~= 'cdata' then
    error(string.format('protobuf: %s must be an integer, got %s', what, type(v)), 3)
  end
  return v
end

-- The varint bytes of an unsigned 64-bit value given as a uint64_t cdata.
local function varint64(u)
  local bytes, n = {}, 0
  while u >= 0x80 do
    n = n + 1
    bytes[n] = tonumber(band(u, 0x7f)) + 0x80
    u = rshift(u, 7)
  end
  n = n + 1
  bytes[n] = tonumber(u)
  return char(unpack(bytes, 1, n))
end

--- protobuf.varint(v) -> string
-- The varint encoding of an integer: a Lua number (exact below 2^53), an int64_t/uint64_t cdata, or a boolean.
-- Negative values are encoded as their 64-bit two's complement (10 bytes), as protobuf does for int32/int64.
function M.varint(v)
  v = integer_value(v, 'a varint')
  if type(v) == 'number' and v >= 0 and v < 9007199254740992 then
    if v < 0x80 then return char(v) end
    local bytes, n = {}, 0
    while v >= 0x80 do
      n = n + 1
      bytes[n] = v % 0x80 + 0x80
      v = floor(v / 0x80)
    end
    n = n + 1
    bytes[n] = v
    return char(unpack(bytes, 1, n))
  end
  if type(v) == 'number' or ffi.istype('int64_t', v) then
    return varint64(ffi.cast('uint64_t', ffi.cast('int64_t', v)))
  end
  return varint64(ffi.cast('uint64_t', v))
end
local varint = M.varint

--- protobuf.zigzag(v) -> uint64_t cdata
-- The zigzag mapping of a signed 64-bit integer (0, -1, 1, -2 ... -> 0, 1, 2, 3 ...) used by sint32/sint64.
function M.zigzag(v)
  local s = ffi.cast('int64_t', integer_value(v, 'a zigzag value'))
  return ffi.cast('uint64_t', bxor(lshift(s, 1), arshift(s, 63)))
end

--- protobuf.key(field, wire_type) -> string
-- A field's tag: (field number << 3) | wire type, as a varint.
function M.key(field, wire_type)
  if type(field) ~= 'number' or field < 1 or field > 536870911 or field ~= floor(field) then
    error('protobuf: bad field number ' .. tostring(field), 2)
  end
  return varint(field * 8 + wire_type)
end
local key = M.key

local function fixed32_bytes(v)
  f32[0] = v
  local s = ffi.string(f32, 4)
  return little_endian and s or s:reverse()
end
local function fixed64_bytes(v)
  f64[0] = v
  local s = ffi.string(f64, 8)
  return little_endian and s or s:reverse()
end
M.float_bytes, M.double_bytes = fixed32_bytes, fixed64_bytes

--- protobuf.int64(field, v) / protobuf.int32 / protobuf.uint64 / protobuf.enum / protobuf.bool -> string
-- A varint field (wire type 0).
function M.int64(field, v) return key(field, 0) .. varint(v) end
M.int32, M.uint64, M.uint32, M.enum = M.int64, M.int64, M.int64, M.int64
function M.bool(field, v) return key(field, 0) .. (v and '\1' or '\0') end

--- protobuf.sint64(field, v) -> string
-- A zigzag-encoded signed varint field (sint32/sint64).
function M.sint64(field, v) return key(field, 0) .. varint64(M.zigzag(v)) end
M.sint32 = M.sint64

--- protobuf.float(field, v) -> string
-- A 32-bit float field (wire type 5, little-endian).
function M.float(field, v) return key(field, 5) .. fixed32_bytes(v) end

--- protobuf.double(field, v) -> string
-- A 64-bit float field (wire type 1, little-endian).
function M.double(field, v) return key(field, 1) .. fixed64_bytes(v) end

--- protobuf.bytes(field, s) -> string
-- A length-delimited field (wire type 2): strings, bytes and encoded messages.
function M.bytes(field, s)
  if type(s) ~= 'string' then error('protobuf: expected a string for field ' .. field .. ', got ' .. type(s), 2) end
  return key(field, 2) .. varint(#s) .. s
end
M.string, M.message = M.bytes, M.bytes

--- protobuf.packed_varints(field, list) -> string
-- A packed repeated varint field (int32/int64/enum/bool lists): one length-delimited field holding the varints.
-- An empty list writes nothing.
function M.packed_varints(field, list)
  if #list == 0 then return '' end
  local parts = {}
  for i = 1, #list do parts[i] = varint(list[i]) end
  return M.bytes(field, concat(parts))
end

--- protobuf.packed_floats(field, list) -> string
-- A packed repeated float field (32-bit little-endian values). An empty list writes nothing.
function M.packed_floats(field, list)
  if #list == 0 then return '' end
  local parts = {}
  for i = 1, #list do parts[i] = fixed32_bytes(list[i]) end
  return M.bytes(field, concat(parts))
end

--- protobuf.packed_doubles(field, list) -> string
function M.packed_doubles(field, list)
  if #list == 0 then return '' end
  local parts = {}
  for i = 1, #list do parts[i] = fixed64_bytes(list[i]) end
  return M.bytes(field, concat(parts))
end

--- protobuf.repeated(fn, field, list) -> string
-- A non-packed repeated field: fn(field, v) for every element (strings and messages are never packed).
function M.repeated(fn, field, list)
  local parts = {}
  for i = 1, #list do parts[i] = fn(field, list[i]) end
  return concat(parts)
end

return M
