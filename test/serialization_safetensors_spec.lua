-- safetensors: files written by Python (json + struct + numpy, not the safetensors package) load here, files
-- written here parse in Python, every dtype, the metadata, and memory-mapped loading.
local ffi = require 'ffi'
local torch = require 'tensor'
local ref = require 'helpers.torchref'
local H = require 'helpers.serialization'

local DTYPES = { 'float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool' }

-- Python helpers: a safetensors writer and reader made of json, struct and numpy.
local PY = [=[
import json, struct
CODES = {torch.float32: 'F32', torch.float64: 'F64', torch.float16: 'F16', torch.bfloat16: 'BF16', torch.int64: 'I64',
         torch.int32: 'I32', torch.int16: 'I16', torch.int8: 'I8', torch.uint8: 'U8', torch.bool: 'BOOL'}
NP = {'F32': np.float32, 'F64': np.float64, 'F16': np.float16, 'I64': np.int64, 'I32': np.int32, 'I16': np.int16,
      'I8': np.int8, 'U8': np.uint8, 'BOOL': np.bool_}
def raw(t):
    t = t.contiguous()
    return (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()
def st_write(path, tensors, metadata=None, pad=True):
    header, blobs, off = {}, [], 0
    if metadata is not None: header['__metadata__'] = metadata
    for name, t in tensors.items():
        b = raw(t)
        header[name] = {'dtype': CODES[t.dtype], 'shape': list(t.shape), 'data_offsets': [off, off + len(b)]}
        blobs.append(b); off += len(b)
    h = json.dumps(header).encode()
    if pad: h += b' ' * (-len(h) % 8)
    open(path, 'wb').write(struct.pack('<Q', len(h)) + h + b''.join(blobs))
def st_read(path):
    data = open(path, 'rb').read()
    n = struct.unpack('<Q', data[:8])[0]
    header = json.loads(data[8:8 + n])
    meta = header.pop('__metadata__', None)
    tensors = {}
    for name, info in header.items():
        b, e = info['data_offsets']
        buf = data[8 + n + b:8 + n + e]
        if info['dtype'] == 'BF16':
            t = torch.from_numpy(np.frombuffer(buf, dtype=np.int16).copy()).view(torch.bfloat16)
        else:
            t = torch.from_numpy(np.frombuffer(buf, dtype=NP[info['dtype']]).copy())
        tensors[name] = t.reshape(info['shape'])
    return n, header, meta, tensors
]=]

local function py(code) return PY .. '\n' .. H.dedent(code) end

local function sample(dt, shape)
  local n = 1
  for _, s in ipairs(shape) do n = n * s end
  if dt == 'bool' then return (torch.arange(n) % 3):eq(0):view(shape) end
  if dt == 'uint8' then return (torch.arange(n) * 7 % 256):to(dt):view(shape) end
  local x = torch.arange(n, { dtype = 'float64' }) * 0.75 - 5
  if not dt:match('float') then x = torch.arange(n, { dtype = 'float64' }) * 3 - 11 end
  return x:to(dt):view(shape)
end

describe('safetensors', function()
  teardown(H.cleanup)

  it('loads files written by Python, every dtype, with metadata and escaped names', function()
    local path = H.path('python.safetensors')
    local r = ref.run(py(string.format([=[
      g = torch.Generator().manual_seed(0)
      ts = {'f32': torch.randn(3, 4, generator=g), 'f64': torch.randn(5, generator=g, dtype=torch.float64),
            'f16': torch.randn(2, 3, generator=g).half(), 'bf16': torch.randn(4, generator=g).bfloat16(),
            'i64': torch.tensor([-2**62, 5, 2**40]), 'i32': torch.tensor([-7, 2**31 - 1], dtype=torch.int32),
            'i16': torch.tensor([[-300], [301]], dtype=torch.int16), 'i8': torch.tensor([-128, 127], dtype=torch.int8),
            'u8': torch.tensor([0, 255, 3], dtype=torch.uint8), 'bool': torch.tensor([True, False, True]),
            'scalar': torch.tensor(2.5), 'empty': torch.zeros(0, 3), 'caf\u00e9 "q"\n': torch.ones(1)}
      st_write(%q, ts, {'format': 'pt', 'note': 'caf\u00e9 \u2713'}, pad=False)
      out = {k.encode().hex(): v for k, v in ts.items()}  # hex: torchref's Lua text has no \\u escapes
    ]=], path)))
    local tensors, metadata = torch.load(path)
    assert.are.same({ format = 'pt', note = 'caf\195\169 \226\156\147' }, metadata)
    local count = 0
    local function unhex(h) return (h:gsub('..', function(b) return string.char(tonumber(b, 16)) end)) end
    local names = {}
    for hex, want in pairs(r) do
      local name = unhex(hex)
      names[name] = true
      count = count + 1
      local got = tensors[name]
      assert.is_true(torch.is_tensor(got), name)
      local ok, msg = ref.compare(got, want)
      assert.is_true(ok, name .. ': ' .. tostring(msg))
    end
    assert.are.equal(13, count)
    for name in pairs(tensors) do assert.is_true(names[name], name) end
    assert.is_true(torch.is_tensor(tensors['caf\195\169 "q"\n']))
    -- load_safetensors says the same, and metadata is a table even when the file has none
    local again, meta2 = torch.load_safetensors(path)
    assert.are.same(tensors.f32:tolist(), again.f32:tolist())
    assert.are.equal('pt', meta2.format)
    torch.save_safetensors(H.path('nometa.safetensors'), { x = torch.ones(2) })
    local _, none = torch.load_safetensors(H.path('nometa.safetensors'))
    assert.are.same({}, none)
  end)

  it('writes files Python reads: layout, alignment, every dtype, views, 0-d and empty tensors', function()
    local tensors = {}
    for _, dt in ipairs(DTYPES) do tensors[dt] = sample(dt, { 3, 5 }) end
    tensors.view = sample('float32', { 4, 6 }):t():narrow(1, 2, 3) -- a non-contiguous view: saved as what it shows
    tensors.scalar = torch.tensor(-1.25, { dtype = 'float64' })
    tensors.empty = torch.empty(0, 4, { dtype = 'int16' })
    tensors['odd name "\\\n'] = torch.ones(1, { dtype = 'uint8' })
    local path = H.path('ours.safetensors')
    torch.save_safetensors(path, tensors, { epoch = '3', lr = 0.5, ['k"ey'] = 'v\na' })
    local r = ref.run(py(string.format([=[
      n, header, meta, ts = st_read(%q)
      ends = sorted((v['data_offsets'][0], v['data_offsets'][1], v['dtype']) for v in header.values())
      size = {'F64': 8, 'I64': 8, 'F32': 4, 'I32': 4, 'F16': 2, 'BF16': 2, 'I16': 2, 'I8': 1, 'U8': 1, 'BOOL': 1}
      contiguous = all(a[1] == b[0] for a, b in zip(ends, ends[1:])) and ends[0][0] == 0
      aligned = all((8 + n + b) %% size[d] == 0 for b, e, d in ends)
      out = {'n': n, 'meta': meta, 'tensors': ts, 'contiguous': contiguous, 'aligned': aligned,
             'dtypes': {k: v['dtype'] for k, v in header.items()}}
    ]=], path)))
    assert.are.equal(0, r.n % 8)
    assert.is_true(r.contiguous)
    assert.is_true(r.aligned)
    assert.are.same({ epoch = '3', lr = '0.5', ['k"ey'] = 'v\na' }, r.meta)
    local codes = { float32 = 'F32', float64 = 'F64', float16 = 'F16', bfloat16 = 'BF16', int64 = 'I64', int32 = 'I32',
                    int16 = 'I16', int8 = 'I8', uint8 = 'U8', bool = 'BOOL' }
    for name, x in pairs(tensors) do
      assert.are.equal(codes[x:dtype()], r.dtypes[name], name)
      local ok, msg = ref.compare(x, r.tensors[name])
      assert.is_true(ok, name .. ': ' .. tostring(msg))
    end
    -- and back through torch.load
    local back, meta = torch.load(path)
    for name, x in pairs(tensors) do
      assert.are.same(x:shape(), back[name]:shape(), name)
      assert.are.same(x:contiguous():view(-1):tolist(), back[name]:contiguous():view(-1):tolist(), name)
    end
    assert.are.equal('0.5', meta.lr)
  end)

  it('torch.save writes safetensors when asked', function()
    local path = H.path('via_save.safetensors')
    torch.save(path, { w = torch.ones(2, 2) }, { format = 'safetensors', metadata = { a = 'b' } })
    local t, m = torch.load(path)
    assert.are.same({ { 1, 1 }, { 1, 1 } }, t.w:tolist())
    assert.are.same({ a = 'b' }, m)
  end)

  describe('memory-mapped loading', function()
    local function mapped(path)
      local maps = H.read('/proc/self/maps')
      return maps:find(path, 1, true) ~= nil
    end

    it('shares the file copy-on-write with {mmap=true}, and unmaps it when the tensors are gone', function()
      local path = H.path('mapped.safetensors')
      local x = torch.arange(1000, { dtype = 'float32' })
      torch.save_safetensors(path, { x = x, y = torch.ones(7, { dtype = 'float16' }) })
      local before = H.read(path)
      local t = torch.load(path, { mmap = true })
      assert.are.equal(1, t.x._c.storage.foreign)
      assert.is_true(mapped(path))
      assert.are.same(x:tolist(), t.x:tolist())
      t.x:fill_(-1) -- copy-on-write: the tensor changes, the file does not
      assert.are.equal(-1, t.x[1000])
      assert.are.equal(before, H.read(path))
      t = nil
      collectgarbage()
      collectgarbage()
      assert.is_false(mapped(path))
      -- without mmap, tensors own their memory
      local c = torch.load(path, { mmap = false })
      assert.are_not.equal(1, c.x._c.storage.foreign)
      assert.is_false(mapped(path))
    end)

    it('maps large files by default', function()
      local path = H.path('large.safetensors')
      local big = torch.arange(4.5 * 2 ^ 20, { dtype = 'float32' }) -- 18 MiB
      torch.save_safetensors(path, { big = big, small = torch.ones(3) })
      local t = torch.load(path)
      assert.are.equal(1, t.big._c.storage.foreign)
      assert.are.equal(4.5 * 2 ^ 20 - 1, t.big[-1])
      assert.are.equal(3 * 2 ^ 20, t.big[3 * 2 ^ 20 + 1])
      t = nil
      collectgarbage()
    end)

    it('copies tensors whose data is not aligned to their element size', function()
      local path = H.path('unaligned.safetensors')
      ref.run(py(string.format([=[
        st_write(%q, {'a': torch.ones(1, dtype=torch.uint8), 'b': torch.arange(5.)}, pad=False)
        out = 0
      ]=], path)))
      local t = torch.load(path, { mmap = true })
      assert.are.same({ 0, 1, 2, 3, 4 }, t.b:tolist())
      assert.are_not.equal(1, t.b._c.storage.foreign) -- offset 8 + header + 1 is odd: copied
      assert.are.equal(1, t.a._c.storage.foreign)
    end)
  end)

  it('refuses arguments it cannot write, naming them', function()
    local path = H.path('bad.safetensors')
    local cases = {
      { { x = 1 }, nil, "'x' is a number, not a tensor" },
      { { [1] = torch.ones(1) }, nil, 'tensor names must be strings' },
      { { __metadata__ = torch.ones(1) }, nil, "'__metadata__' is reserved" },
      { { x = torch.ones(1) }, { a = {} }, 'metadata must map strings to strings' },
      { torch.ones(1), nil, 'expected a table of name %-> tensor, got a tensor' },
    }
    for _, case in ipairs(cases) do
      local ok, err = pcall(torch.save_safetensors, path, case[1], case[2])
      assert.is_false(ok)
      assert.matches('save_safetensors: ' .. case[3], err)
    end
  end)
end)
