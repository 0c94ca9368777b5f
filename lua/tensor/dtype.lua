-- tensor.dtype: the ten dtypes, their names, Torch7 class names and how Lua reads and writes elements.
local ffi = require 'ffi'
local C = require 'tensor.lib'

local M = {}

-- name, enum, Torch7 tensor class suffix, element pointer type
local list = {
  { 'float32',  C.TN_FLOAT32,  'Float',    'float*' },
  { 'float64',  C.TN_FLOAT64,  'Double',   'double*' },
  { 'float16',  C.TN_FLOAT16,  'Half',     'uint16_t*' },
  { 'bfloat16', C.TN_BFLOAT16, 'BFloat16', 'uint16_t*' },
  { 'int64',    C.TN_INT64,    'Long',     'int64_t*' },
  { 'int32',    C.TN_INT32,    'Int',      'int32_t*' },
  { 'int16',    C.TN_INT16,    'Short',    'int16_t*' },
  { 'int8',     C.TN_INT8,     'Char',     'int8_t*' },
  { 'uint8',    C.TN_UINT8,    'Byte',     'uint8_t*' },
  { 'bool',     C.TN_BOOL,     'Bool',     'uint8_t*' },
}

M.name = {}         -- enum -> 'float32'
M.enum = {}         -- 'float32' (and aliases) -> enum
M.class = {}        -- enum -> 'Float'  (torch.FloatTensor)
M.by_class = {}     -- 'Float' -> enum
M.ptr = {}          -- enum -> cached pointer ctype
M.size = {}         -- enum -> bytes
M.floating = {}     -- enum -> true for the four float types
M.integral = {}     -- enum -> true for the five integer types (not bool)

for _, d in ipairs(list) do
  local name, enum, class, ptr = d[1], tonumber(d[2]), d[3], d[4]
  M.name[enum], M.enum[name], M.class[enum], M.by_class[class] = name, enum, class, enum
  M.ptr[enum] = ffi.typeof(ptr)
  M.size[enum] = tonumber(C.tn_dtype_size(enum))
  M.floating[enum] = enum <= tonumber(C.TN_BFLOAT16) or nil
  M.integral[enum] = (enum >= tonumber(C.TN_INT64) and enum <= tonumber(C.TN_UINT8)) or nil
end

-- PyTorch's alternative spellings
local aliases = { float = 'float32', double = 'float64', half = 'float16', long = 'int64', int = 'int32',
                  short = 'int16', char = 'int8', byte = 'uint8', boolean = 'bool' }
for alias, name in pairs(aliases) do M.enum[alias] = M.enum[name] end

M.FLOAT32, M.FLOAT64, M.FLOAT16, M.BFLOAT16 = M.enum.float32, M.enum.float64, M.enum.float16, M.enum.bfloat16
M.INT64, M.INT32, M.INT16, M.INT8, M.UINT8, M.BOOL =
  M.enum.int64, M.enum.int32, M.enum.int16, M.enum.int8, M.enum.uint8, M.enum.bool

M.default = M.FLOAT32

-- The enum for a dtype given by name (or enum); raises an error naming fn otherwise.
function M.parse(dtype, fn)
  local enum = type(dtype) == 'string' and M.enum[dtype] or (type(dtype) == 'number' and M.name[dtype] and dtype)
  if not enum then
    local names = {}
    for _, d in ipairs(list) do names[#names + 1] = d[1] end
    error(string.format("%s: unknown dtype '%s' (expected one of %s)", fn or 'dtype', tostring(dtype),
                        table.concat(names, ', ')), 3)
  end
  return enum
end

-- A store that fences loads from FFI memory. LuaJIT's x86-64 backend may fuse a load into a later instruction
-- that uses the value as a memory operand, and does so across calls to C (its optimiser treats those calls as
-- barriers; the fusion step checks only for stores in between): `local lo, hi = x:min(), x:max(); if lo < 1`
-- compared max's result with 1 (both were read from one buffer the C library writes), and an element read
-- before an in-place op compared as its new value. Any store between a load and its use keeps the load where the
-- program put it, so every read of memory that C may rewrite stores the value here. (test/jit_spec.lua)
local fence = ffi.new('double[1]')
function M.fenced(v)
  fence[0] = v
  return v
end

-- Reading and writing one element at a typed pointer p[i] (fenced, see above).
local half_to_float, float_to_half = C.tn_half_to_float, C.tn_float_to_half
local bf16_to_float, float_to_bf16 = C.tn_bfloat16_to_float, C.tn_float_to_bfloat16

local readers, writers = {}, {}
for enum in pairs(M.name) do
  readers[enum] = function(p, i)
    local v = tonumber(p[i])
    fence[0] = v
    return v
  end
  writers[enum] = function(p, i, v) p[i] = v end
end
readers[M.FLOAT16] = function(p, i) return tonumber(half_to_float(p[i])) end
readers[M.BFLOAT16] = function(p, i) return tonumber(bf16_to_float(p[i])) end
readers[M.BOOL] = function(p, i) return p[i] ~= 0 end -- (a comparison made at once: no load left to fuse)
writers[M.FLOAT16] = function(p, i, v) p[i] = float_to_half(v) end
writers[M.BFLOAT16] = function(p, i, v) p[i] = float_to_bf16(v) end
writers[M.BOOL] = function(p, i, v) p[i] = (v and v ~= 0) and 1 or 0 end
M.read, M.write = readers, writers

-- The Lua numbers an integer dtype takes, as [low, high): PyTorch's rule, under which unsigned types also take
-- negatives down to -max (they wrap). NaN and infinities fit only the floating types and bool.
local int_range = {
  [M.INT64] = { -2 ^ 63, 2 ^ 63 }, [M.INT32] = { -2 ^ 31, 2 ^ 31 }, [M.INT16] = { -2 ^ 15, 2 ^ 15 },
  [M.INT8] = { -128, 128 }, [M.UINT8] = { -255, 256 },
}
local int64_ct, uint64_ct = ffi.typeof('int64_t'), ffi.typeof('uint64_t')
-- Whether v can be stored in dtype dt without overflow: a Lua number, or an int64_t/uint64_t cdata (whose
-- values beyond 2^53 a Lua number cannot hold exactly, e.g. 9223372036854775807LL).
function M.fits(v, dt)
  local r = int_range[dt]
  if r == nil then return true end
  if type(v) == 'cdata' then
    if dt == M.INT64 then return ffi.istype(int64_ct, v) or v <= 9223372036854775807ULL end
    v = tonumber(v) -- (exact for the ranges of the narrower types)
  end
  return v >= r[1] and v < r[2]
end

-- The dtype a Lua number acts as in an op with tensors (a "wrapped number"): int64 when integral, else the
-- default float dtype.
function M.of_number(v)
  if v == math.floor(v) and v > -2 ^ 63 and v < 2 ^ 63 then return M.INT64 end
  return M.default
end

-- Whether v is a 64-bit integer cdata.
function M.is_int64(v) return type(v) == 'cdata' and (ffi.istype(int64_ct, v) or ffi.istype(uint64_ct, v)) end

return M
