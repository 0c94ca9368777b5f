-- helpers.serialization: what the serialization specs share: a temporary directory, files as strings,
-- Torch7 records assembled by hand (independently of tensor.serialization's writer), a flattening of values
-- for structural comparisons, and an independent Torch7 reader in Python (struct + numpy) for the specs to
-- check our files and the real Torch7 fixtures against.
local ffi = require 'ffi'

local M = {}

local dir
function M.tmpdir()
  if not dir then
    local p = io.popen('mktemp -d /tmp/tensor-io-spec.XXXXXX')
    dir = p:read('*l')
    p:close()
  end
  return dir
end

function M.path(name) return M.tmpdir() .. '/' .. name end

-- Removes the temporary directory (a spec's teardown); the next M.tmpdir() makes a new one.
function M.cleanup()
  if dir and dir:match('^/tmp/tensor%-io%-spec%.[%w]+$') then os.execute("rm -rf '" .. dir .. "'") end
  dir = nil
end

function M.read(path)
  local f = assert(io.open(path, 'rb'))
  local s = f:read('*a')
  f:close()
  return s
end

function M.write(path, bytes)
  local f = assert(io.open(path, 'wb'))
  f:write(bytes)
  f:close()
  return path
end

-- ---- little-endian packing ----
function M.i32(v) return ffi.string(ffi.new('int32_t[1]', v), 4) end
function M.i64(v) return ffi.string(ffi.new('int64_t[1]', v), 8) end
function M.f64(v) return ffi.string(ffi.new('double[1]', v), 8) end
function M.f32(v) return ffi.string(ffi.new('float[1]', v), 4) end
function M.u64(v) return ffi.string(ffi.new('uint64_t[1]', v), 8) end

-- ---- Torch7 records, by the format's definition ----
local T = {}
M.t7 = T
function T.string_bytes(s) return M.i32(#s) .. s end
function T.nil_() return M.i32(0) end
function T.number(v) return M.i32(1) .. M.f64(v) end
function T.string(s) return M.i32(2) .. T.string_bytes(s) end
function T.boolean(b) return M.i32(5) .. M.i32(b and 1 or 0) end
function T.ref(tag, index) return M.i32(tag) .. M.i32(index) end
-- a table: entries is a list of {key_bytes, value_bytes}
function T.table(index, entries)
  local parts = { M.i32(3), M.i32(index), M.i32(#entries) }
  for _, e in ipairs(entries) do parts[#parts + 1] = e[1] .. e[2] end
  return table.concat(parts)
end
function T.object(index, class, fields_bytes, version)
  return M.i32(4) .. M.i32(index) .. T.string_bytes(version or 'V 1') .. T.string_bytes(class) .. fields_bytes
end
function T.tensor(index, class, sizes, strides, offset1, storage_bytes, long)
  long = long or M.i64
  local parts = { M.i32(4), M.i32(index), T.string_bytes('V 1'), T.string_bytes(class), M.i32(#sizes) }
  for _, s in ipairs(sizes) do parts[#parts + 1] = long(s) end
  for _, s in ipairs(strides) do parts[#parts + 1] = long(s) end
  parts[#parts + 1] = long(offset1)
  parts[#parts + 1] = storage_bytes
  return table.concat(parts)
end
function T.storage(index, class, n, data, long)
  long = long or M.i64
  return M.i32(4) .. M.i32(index) .. T.string_bytes('V 1') .. T.string_bytes(class) .. long(n) .. data
end
function T.doubles(list)
  local parts = {}
  for i, v in ipairs(list) do parts[i] = M.f64(v) end
  return table.concat(parts)
end

function M.u16(v) return ffi.string(ffi.new('uint16_t[1]', v), 2) end
function M.u32(v) return ffi.string(ffi.new('uint32_t[1]', v), 4) end

-- ---- zip archives of stored entries (APPNOTE: local headers, central directory, end record) ----
-- entries: list of {name, data, [header_offset=, size=]}: the optional fields override what the central
-- directory says (to make corrupt archives). CRCs are written as 0 (readers of PyTorch files need not check).
-- opts.zip64: sizes and offsets in zip64 extra fields and a zip64 end record, as archives over 4 GB have.
function M.zip(entries, opts)
  local zip64 = opts and opts.zip64
  local parts, central, offset = {}, {}, 0
  for _, e in ipairs(entries) do
    local header = M.u32(0x04034b50) .. M.u16(20) .. M.u16(0) .. M.u16(0) .. M.u16(0) .. M.u16(0) .. M.u32(0)
                   .. M.u32(#e[2]) .. M.u32(#e[2]) .. M.u16(#e[1]) .. M.u16(0) .. e[1]
    parts[#parts + 1] = header .. e[2]
    local size, at = e.size or #e[2], e.header_offset or offset
    local extra = zip64 and (M.u16(1) .. M.u16(24) .. M.u64(size) .. M.u64(size) .. M.u64(at)) or ''
    if zip64 then size, at = 0xffffffff, 0xffffffff end
    central[#central + 1] = M.u32(0x02014b50) .. M.u16(45) .. M.u16(45) .. M.u16(0) .. M.u16(0) .. M.u16(0) .. M.u16(0)
                            .. M.u32(0) .. M.u32(size) .. M.u32(size) .. M.u16(#e[1]) .. M.u16(#extra) .. M.u16(0)
                            .. M.u16(0) .. M.u16(0) .. M.u32(0) .. M.u32(at) .. e[1] .. extra
    offset = offset + #header + #e[2]
  end
  local cd = table.concat(central)
  local tail = M.u32(0x06054b50) .. M.u16(0) .. M.u16(0) .. M.u16(#entries) .. M.u16(#entries) .. M.u32(#cd)
               .. M.u32(offset) .. M.u16(0)
  if zip64 then
    local end64_at = offset + #cd
    local end64 = M.u32(0x06064b50) .. M.u64(44) .. M.u16(45) .. M.u16(45) .. M.u32(0) .. M.u32(0) .. M.u64(#entries)
                  .. M.u64(#entries) .. M.u64(#cd) .. M.u64(offset)
    local locator = M.u32(0x07064b50) .. M.u32(0) .. M.u64(end64_at) .. M.u32(1)
    tail = end64 .. locator .. M.u32(0x06054b50) .. M.u16(0) .. M.u16(0) .. M.u16(0xffff) .. M.u16(0xffff)
           .. M.u32(0xffffffff) .. M.u32(0xffffffff) .. M.u16(0)
  end
  return table.concat(parts) .. cd .. tail
end

-- ---- pickles, opcode by opcode ----
local P = {}
M.pickle = P
function P.unicode(s) return 'X' .. M.u32(#s) .. s end
function P.global(module, name) return 'c' .. module .. '\n' .. name .. '\n' end
function P.int(v)
  if v >= -2 ^ 31 and v < 2 ^ 31 then return 'J' .. M.i32(v) end
  return '\x8a\x08' .. M.i64(v) -- LONG1
end
function P.tuple(items) return '(' .. table.concat(items) .. 't' end
-- A pickled {name = tensor} dict as PyTorch writes it (protocol 2): tensor = {key=, class=, numel=, offset=,
-- size={...}, stride={...}}.
function P.state(name, t)
  local function ints(list)
    local parts = {}
    for i, v in ipairs(list) do parts[i] = P.int(v) end
    return P.tuple(parts)
  end
  local pid = P.tuple({ P.unicode('storage'), P.global('torch', t.class or 'FloatStorage'), P.unicode(t.key or '0'),
                        P.unicode('cpu'), P.int(t.numel) }) .. 'Q'
  local rebuild = P.global('torch._utils', '_rebuild_tensor_v2')
                  .. P.tuple({ pid, P.int(t.offset or 0), ints(t.size), ints(t.stride), '\x89',
                               P.global('collections', 'OrderedDict') .. ')R' }) .. 'R'
  return '\x80\x02}' .. P.unicode(name) .. rebuild .. 's.'
end
-- A PyTorch archive holding a pickle and storages ({key = bytes}).
function M.pt(pickle, storages, opts)
  local entries = { { 'archive/data.pkl', pickle } }
  for key, data in pairs(storages or {}) do entries[#entries + 1] = { 'archive/data/' .. key, data } end
  entries[#entries + 1] = { 'archive/version', '3\n' }
  return M.zip(entries, opts)
end

-- ---- flattening values: path -> leaf (numbers, strings, booleans, tensors), for comparing structures ----
local function key_text(k)
  if type(k) == 'number' and k == math.floor(k) then return string.format('%d', k) end
  return tostring(k)
end

function M.flatten(value, is_tensor)
  local out, seen = {}, {}
  local function walk(v, path)
    if type(v) == 'table' and not is_tensor(v) then
      if seen[v] then return end
      seen[v] = true
      for k, x in pairs(v) do walk(x, path == '' and key_text(k) or path .. '/' .. key_text(k)) end
    else
      out[path] = v
    end
  end
  walk(value, '')
  return out
end

-- An independent reader of Torch7's binary format, in Python (struct + numpy). parse_t7(path, outdir)
-- returns {path: leaf} where path joins keys with '/' (like M.flatten); a tensor leaf is a dict with its
-- class, reference index, storage index, shape, stride, 1-based offset, and the file (under outdir) holding
-- its values as contiguous float64; objects of other classes add a '<path>/__typename' leaf.
M.python_t7_reader = [=[
import struct, os
import numpy as np
_T7_TYPES = {b'Float': '<f4', b'Double': '<f8', b'Half': '<f2', b'Long': '<i8', b'Int': '<i4', b'Short': '<i2',
             b'Char': 'i1', b'Byte': 'u1', b'Bool': 'u1', b'BFloat16': '<u2'}
def parse_t7(path, outdir):
    data = open(path, 'rb').read()
    pos = [0]
    objs = {}
    flat = {}
    count = [0]
    def take(fmt):
        v = struct.unpack_from(fmt, data, pos[0]); pos[0] += struct.calcsize(fmt); return v[0]
    def string():
        n = take('<i'); s = data[pos[0]:pos[0] + n]; pos[0] += n; return s
    def elem_type(cls):
        name = cls[len(b'torch.'):]
        for suffix in (b'Tensor', b'Storage'):
            if name.endswith(suffix): return _T7_TYPES[name[:-len(suffix)]]
    def obj():
        t = take('<i')
        if t == 0: return None
        if t == 1: return take('<d')
        if t == 2: return string().decode('latin-1')
        if t == 5: return take('<i') == 1
        if t not in (3, 4): raise ValueError('type %d' % t)
        idx = take('<i')
        if idx in objs: return objs[idx]
        if t == 3:
            d = {}; objs[idx] = d
            for _ in range(take('<i')):
                k = obj(); d[k] = obj()
            return d
        version = string(); cls = string()
        if cls.endswith(b'Storage'):
            n = take('<q'); fmt = elem_type(cls)
            arr = np.frombuffer(data, dtype=fmt, count=n, offset=pos[0]); pos[0] += arr.nbytes
            st = {'storage': idx, 'array': arr}; objs[idx] = st; return st
        if cls.endswith(b'Tensor'):
            rec = {'tensor': idx, 'class': cls.decode()}; objs[idx] = rec
            nd = take('<i'); sizes = [take('<q') for _ in range(nd)]; strides = [take('<q') for _ in range(nd)]
            off = take('<q'); st = obj()
            rec.update({'shape': sizes, 'stride': strides, 'offset': off})
            if st is None or nd == 0:
                vals = np.zeros(0); rec['storage_index'] = -1
            else:
                arr = st['array']; rec['storage_index'] = st['storage']
                if cls == 'torch.BFloat16Tensor' or cls == b'torch.BFloat16Tensor':
                    arr = (arr.astype(np.uint32) << 16).view(np.float32)
                e = arr.itemsize
                vals = np.lib.stride_tricks.as_strided(arr[off - 1:], shape=sizes, strides=[s * e for s in strides])
            count[0] += 1
            f = os.path.join(outdir, 't7ref%d.bin' % count[0])
            np.ascontiguousarray(vals, dtype=np.float64).tofile(f)
            rec['file'] = f
            return rec
        o = {'__typename': cls.decode()}; objs[idx] = o
        fields = obj()
        o.update(fields)
        return o
    root = obj()
    seen = set()
    def key(k):
        if isinstance(k, float) and k == int(k): return '%d' % k
        if isinstance(k, bool): return 'true' if k else 'false'
        return str(k)
    def walk(v, path):
        if isinstance(v, dict) and 'tensor' in v and 'file' in v:
            flat[path] = {k: v[k] for k in ('tensor', 'class', 'shape', 'stride', 'offset', 'storage_index', 'file')}
        elif isinstance(v, dict):
            if id(v) in seen: return
            seen.add(id(v))
            for k, x in v.items(): walk(x, key(k) if path == '' else path + '/' + key(k))
        else:
            flat[path] = v
    walk(root, '')
    return flat
]=]

-- Removes the indentation of a snippet's first line from all its lines.
function M.dedent(code)
  local indent = code:match('^\n?([ \t]*)%S')
  if indent and #indent > 0 then code = code:gsub('\n' .. indent, '\n'):gsub('^' .. indent, '') end
  return code
end

-- Python code that can call parse_t7: the reader followed by `code` (dedented).
function M.with_t7_reader(code) return M.python_t7_reader .. '\n' .. M.dedent(code) end

return M
