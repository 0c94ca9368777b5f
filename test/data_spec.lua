-- tensor.data: TensorDataset, DataLoader (batching, partial batches, drop_last, #loader, shuffling with the
-- framework's seed, custom collate, Dataset subclasses), the bundled digits against scikit-learn's copy, the
-- IDX reader against files numpy writes (plain and gzip, every element type) and against Debian's
-- Fashion-MNIST, corrupt IDX files, and the progress bar's output.
local ffi = require 'ffi'
local torch = require 'tensor'
local data = require 'tensor.data'
local ref = require 'helpers.torchref'

local FASHION = '/usr/share/datasets/fashion-mnist'

local tmp = os.tmpname()
os.remove(tmp)
assert(os.execute('mkdir -p ' .. tmp) == 0)

local function write_file(path, bytes)
  local f = assert(io.open(path, 'wb'))
  f:write(bytes)
  f:close()
end
local function read_file(path)
  local f = assert(io.open(path, 'rb'))
  local s = f:read('*a')
  f:close()
  return s
end

-- IDX files written by numpy (big-endian, as the format says), with the arrays for comparison; the digits
-- from scikit-learn; and Fashion-MNIST's label counts and a few images read by numpy from the gzip files.
local IDX_CASES = {
  { 'u8.idx', 'uint8', '(3, 4, 5)' }, { 'i8.idx', 'int8', '(7,)' }, { 'i16.idx.gz', 'int16', '(2, 3)' },
  { 'i32.idx', 'int32', '(4, 2)' }, { 'f32.idx.gz', 'float32', '(2, 2, 3)' }, { 'f64.idx', 'float64', '(5,)' },
  { 'empty.idx', 'uint8', '(0, 3)' },
}
local FASHION_SAMPLES = { 1, 100, 60000 }
local PY = [[
import gzip, os
import numpy as np
codes = {'uint8': 0x08, 'int8': 0x09, 'int16': 0x0B, 'int32': 0x0C, 'float32': 0x0D, 'float64': 0x0E}
rng = np.random.default_rng(0)
def write_idx(path, a):
    header = bytes([0, 0, codes[str(a.dtype)], a.ndim]) + b''.join(int(s).to_bytes(4, 'big') for s in a.shape)
    body = header + a.astype(a.dtype.newbyteorder('>')).tobytes()
    if path.endswith('.gz'):
        with gzip.open(path, 'wb') as f: f.write(body)
    else:
        with open(path, 'wb') as f: f.write(body)
arrays = []
for name, dtype, shape in cases:
    if dtype.startswith('float'):
        a = (rng.standard_normal(shape) * 100).astype(dtype)
    else:
        info = np.iinfo(dtype)
        a = rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)
    write_idx(os.path.join(tmp, name), a)
    arrays.append(torch.from_numpy(a.astype(np.float64)))
from sklearn.datasets import load_digits
d = load_digits()
out = {'idx': arrays, 'digits_x': torch.from_numpy(d.data.astype(np.float64)), 'digits_y': torch.from_numpy(d.target)}
if os.path.isdir(fashion):
    def read(name, offset):
        with gzip.open(os.path.join(fashion, name)) as f:
            return np.frombuffer(f.read(), np.uint8, offset=offset)
    ytr, yte = read('train-labels-idx1-ubyte.gz', 8), read('t10k-labels-idx1-ubyte.gz', 8)
    xtr = read('train-images-idx3-ubyte.gz', 16).reshape(-1, 28, 28)
    out['fashion'] = {'train_counts': np.bincount(ytr, minlength=10).tolist(),
                      'test_counts': np.bincount(yte, minlength=10).tolist(),
                      'samples': [torch.from_numpy(xtr[i - 1].astype(np.float64)) for i in samples],
                      'sample_labels': [int(ytr[i - 1]) for i in samples]}
]]
local function py_list()
  local parts = {}
  for i, c in ipairs(IDX_CASES) do parts[i] = string.format('(%q, %q, %s)', c[1], c[2], c[3]) end
  return '[' .. table.concat(parts, ', ') .. ']'
end
local samples = {}
for i, s in ipairs(FASHION_SAMPLES) do samples[i] = tostring(s) end
local REF = ref.run(string.format('cases = %s\ntmp = %q\nfashion = %q\nsamples = [%s]\n', py_list(), tmp, FASHION,
                                  table.concat(samples, ', ')) .. PY)

local fails = require('helpers.failure').containing

describe('TensorDataset', function()
  it('gives sample i as the i-th rows of its tensors', function()
    local x, y = torch.randn(5, 3), torch.arange(1, 6)
    local ds = data.TensorDataset(x, y)
    assert.are.equal(5, ds:size())
    local xi, yi = ds:get(4)
    assert.are.same(x[4]:tolist(), xi:tolist())
    assert.are.equal(4, yi)
  end)
  it('refuses tensors of different lengths, no tensors, non-tensors and 0-d tensors', function()
    fails(function() data.TensorDataset(torch.zeros(5, 2), torch.zeros(4)) end, 'TensorDataset', '4', '5')
    fails(function() data.TensorDataset() end, 'TensorDataset')
    fails(function() data.TensorDataset(torch.zeros(3), { 1, 2, 3 }) end, 'TensorDataset', 'argument 2')
    fails(function() data.TensorDataset(torch.tensor(1.0)) end, 'TensorDataset')
  end)
end)

describe('DataLoader', function()
  local n = 10
  local x = torch.arange(1, n + 1):double():view(n, 1) * 10
  local y = torch.arange(1, n + 1)
  local ds = data.TensorDataset(x, y)

  local function epoch(loader)
    local sizes, ids = {}, {}
    for bx, by in loader:iter() do
      sizes[#sizes + 1] = by:numel()
      assert.are.same(bx:view(-1):tolist(), (by:double() * 10):tolist()) -- rows stay paired
      for _, v in ipairs(by:tolist()) do ids[#ids + 1] = v end
    end
    return sizes, ids
  end

  it('batches in order with a last partial batch; #loader counts batches', function()
    local loader = data.DataLoader(ds, { batch_size = 4 })
    assert.are.equal(3, #loader)
    local sizes, ids = epoch(loader)
    assert.are.same({ 4, 4, 2 }, sizes)
    assert.are.same({ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, ids)
    assert.are.equal(10, #data.DataLoader(ds))
    assert.are.equal(1, #data.DataLoader(ds, { batch_size = 64 }))
    assert.are.same({ 5, 5 }, (epoch(data.DataLoader(ds, { batch_size = 5 }))))
  end)
  it('drop_last leaves out the partial batch', function()
    local loader = data.DataLoader(ds, { batch_size = 4, drop_last = true })
    assert.are.equal(2, #loader)
    local sizes, ids = epoch(loader)
    assert.are.same({ 4, 4 }, sizes)
    assert.are.same({ 1, 2, 3, 4, 5, 6, 7, 8 }, ids)
    assert.are.equal(0, #data.DataLoader(ds, { batch_size = 11, drop_last = true }))
  end)
  it('shuffles every sample exactly once per epoch, reproducibly with torch.manual_seed or a generator', function()
    local loader = data.DataLoader(ds, { batch_size = 3, shuffle = true })
    torch.manual_seed(7)
    local _, a = epoch(loader)
    local _, b = epoch(loader)
    torch.manual_seed(7)
    local _, a2 = epoch(loader)
    assert.are.same(a, a2)
    assert.are_not.same(a, b)
    for _, order in ipairs({ a, b }) do
      local sorted = { unpack(order) }
      table.sort(sorted)
      assert.are.same({ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, sorted)
    end
    assert.are_not.same({ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, a)
    local g1, g2 = torch.Generator():manual_seed(3), torch.Generator():manual_seed(3)
    local _, c1 = epoch(data.DataLoader(ds, { batch_size = 4, shuffle = true, generator = g1 }))
    local _, c2 = epoch(data.DataLoader(ds, { batch_size = 4, shuffle = true, generator = g2 }))
    assert.are.same(c1, c2)
  end)
  it('batches a Dataset:extend() subclass through the default collate (tensors stacked, numbers to a tensor)', function()
    local Squares = data.Dataset:extend()
    function Squares:init(count) self.count = count end
    function Squares:size() return self.count end
    function Squares:get(i) return torch.tensor({ i, i * i }), i, 'item' .. i end
    local loader = data.DataLoader(Squares(5), { batch_size = 2 })
    assert.are.equal(3, #loader)
    local seen = 0
    for bx, by, names in loader:iter() do
      seen = seen + 1
      assert.are.equal(2, bx:size(2))
      assert.are.same(bx:select(2, 1):tolist(), by:double():tolist())
      assert.are.equal('int64', by:dtype())
      assert.are.equal(by:numel(), #names)
      assert.are.equal('item' .. by[1], names[1])
    end
    assert.are.equal(3, seen)
    -- an unimplemented Dataset says what is missing
    local Bare = data.Dataset:extend()
    fails(function() data.DataLoader(Bare(), {}):iter()() end, 'size')
  end)
  it('uses a custom collate; its result comes back as values (a list) or as it is', function()
    local calls = 0
    local loader = data.DataLoader(ds, { batch_size = 4, collate = function(samples)
      calls = calls + 1
      local xs, ys = {}, {}
      for i, s in ipairs(samples) do xs[i], ys[i] = s[1], s[2] end
      return { torch.stack(xs, 1):sum(), #samples }
    end })
    local counts = {}
    for total, count in loader:iter() do counts[#counts + 1] = count end
    assert.are.same({ 4, 4, 2 }, counts)
    assert.are.equal(3, calls)
    local named = data.DataLoader(ds, { batch_size = 5, collate = function(samples)
      return { first = samples[1][2], n = #samples }
    end })
    local got = {}
    for b in named:iter() do got[#got + 1] = b end
    assert.are.equal(2, #got)
    assert.are.equal(6, got[2].first)
    local single = data.DataLoader(ds, { batch_size = 5, collate = function(samples) return torch.ones(#samples) end })
    local n_batches = 0
    for t in single:iter() do
      n_batches = n_batches + 1
      assert.are.equal(5, t:numel())
    end
    assert.are.equal(2, n_batches)
  end)
  it('refuses bad arguments', function()
    fails(function() data.DataLoader(ds, { batch_size = 0 }) end, 'DataLoader', 'batch_size')
    fails(function() data.DataLoader(ds, { batch_size = 2.5 }) end, 'batch_size')
    fails(function() data.DataLoader({}, {}) end, 'DataLoader', 'dataset')
  end)
end)

describe('data.digits', function()
  it("is scikit-learn's digits: 1797 samples, 64 pixels in [0, 1] (counts / 16), labels 1..10", function()
    local dir = debug.getinfo(data.digits, 'S').source:match('^@(.*)init%.lua$')
    local images = data.read_idx(dir .. 'digits-images-idx3-ubyte')
    local labels = data.read_idx(dir .. 'digits-labels-idx1-ubyte')
    assert.are.same({ 1797, 8, 8 }, images:shape())
    local ok, msg = ref.compare(images:double():view(1797, 64), REF.digits_x, { dtype = false })
    assert(ok, msg)
    ok, msg = ref.compare(labels:long(), REF.digits_y, { dtype = false })
    assert(ok, msg)

    local train, test = data.digits()
    assert.are.equal(1797, train.x:size(1) + test.x:size(1))
    assert.are.equal(359, test.x:size(1))
    assert.are.same({ 1438, 64 }, train.x:shape())
    assert.are.equal('float32', train.x:dtype())
    assert.are.equal('int64', train.y:dtype())
    assert.is_true(train.x:min() >= 0 and train.x:max() <= 1)
    assert.are.equal(1, math.min(train.y:min(), test.y:min()))
    assert.are.equal(10, math.max(train.y:max(), test.y:max()))
    -- train and test together are exactly the 1797 samples (pixels * 16 and label - 1 as in scikit-learn)
    local want = {}
    local rows, ys = REF.digits_x.values, REF.digits_y.values
    for i = 1, 1797 do
      local key = {}
      for k = 1, 64 do key[k] = rows[(i - 1) * 64 + k] end
      key = table.concat(key, ',') .. '|' .. ys[i]
      want[key] = (want[key] or 0) + 1
    end
    for _, split in ipairs({ train, test }) do
      local xs, labels_ = (split.x * 16):round():tolist(), split.y:tolist()
      for i, row in ipairs(xs) do
        local key = table.concat(row, ',') .. '|' .. (labels_[i] - 1)
        assert(want[key] and want[key] > 0, 'sample ' .. i .. ' is not one of the digits (or appears twice)')
        want[key] = want[key] - 1
      end
    end
    -- a fixed split: the same seed gives the same split, another seed another; flatten=false gives images
    local train2 = data.digits()
    assert.are.same(train.y:tolist(), train2.y:tolist())
    local train3 = data.digits({ seed = 1 })
    assert.are_not.same(train.y:tolist(), train3.y:tolist())
    local imgs = data.digits({ flatten = false, test_fraction = 0.5 })
    assert.are.same({ 898, 1, 8, 8 }, imgs.x:shape())
  end)
end)

describe('IDX files', function()
  it('read every element type, plain and gzip, as numpy wrote them', function()
    for i, c in ipairs(IDX_CASES) do
      local t = data.read_idx(tmp .. '/' .. c[1])
      assert.are.equal(c[2], t:dtype(), c[1])
      local ok, msg = ref.compare(t:double(), REF.idx[i], { dtype = false })
      assert(ok, c[1] .. ': ' .. tostring(msg))
    end
  end)
  it('data.mnist reads a directory of IDX files, plain or gzip', function()
    -- a tiny MNIST-shaped set: 3 training and 2 test images of 4 x 5 (the test set gzipped)
    local function idx(code, sizes, values)
      local parts = { string.char(0, 0, code, #sizes) }
      for _, s in ipairs(sizes) do
        parts[#parts + 1] = string.char(math.floor(s / 16777216) % 256, math.floor(s / 65536) % 256,
                                        math.floor(s / 256) % 256, s % 256)
      end
      for _, v in ipairs(values) do parts[#parts + 1] = string.char(v) end
      return table.concat(parts)
    end
    local dir = tmp .. '/mini'
    assert(os.execute('mkdir -p ' .. dir) == 0)
    local pixels = {}
    for i = 1, 60 do pixels[i] = (i * 37) % 256 end
    write_file(dir .. '/train-images-idx3-ubyte', idx(8, { 3, 4, 5 }, pixels))
    write_file(dir .. '/train-labels-idx1-ubyte', idx(8, { 3 }, { 9, 0, 4 }))
    write_file(dir .. '/t10k-images-idx3-ubyte', idx(8, { 2, 4, 5 }, { unpack(pixels, 1, 40) }))
    write_file(dir .. '/t10k-labels-idx1-ubyte', idx(8, { 2 }, { 1, 2 }))
    assert(os.execute('gzip -f ' .. dir .. '/t10k-images-idx3-ubyte ' .. dir .. '/t10k-labels-idx1-ubyte') == 0)
    local train, test = data.mnist(dir)
    assert.are.same({ 3, 1, 4, 5 }, train.x:shape())
    assert.are.same({ 10, 1, 5 }, train.y:tolist())
    assert.are.same({ 2, 3 }, test.y:tolist())
    assert.is_true(math.abs(train.x[1][1][1][2] - 74 / 255) < 1e-7)
    assert.are.same(train.x:narrow(1, 1, 2):tolist(), test.x:tolist())
    local ntrain = data.mnist(dir, { normalize = true })
    assert.is_true(math.abs(ntrain.x:mean()) < 1e-5)
    -- a missing file and mismatched counts raise
    os.remove(dir .. '/train-labels-idx1-ubyte')
    fails(function() data.mnist(dir) end, 'mnist', 'train-labels-idx1-ubyte')
    write_file(dir .. '/train-labels-idx1-ubyte', idx(8, { 2 }, { 1, 2 }))
    fails(function() data.mnist(dir) end, 'mnist', '[3 x 4 x 5]', '[2]')
    fails(function() data.mnist(tmp .. '/nothing-here') end, 'mnist')
    fails(function() data.mnist(3) end, 'mnist')
  end)
  it('corrupt files raise clear errors naming the file', function()
    local good = read_file(tmp .. '/u8.idx') -- [3 x 4 x 5] uint8
    local function corrupt(name, bytes, ...)
      local path = tmp .. '/' .. name
      write_file(path, bytes)
      fails(function() data.read_idx(path) end, name, ...)
    end
    corrupt('magic.idx', '\1\0' .. good:sub(3), 'magic')
    corrupt('code.idx', '\0\0\7' .. good:sub(4), 'magic')
    corrupt('ndim0.idx', '\0\0\8\0', 'magic')
    corrupt('short.idx', '\0\0', 'too short')
    corrupt('header.idx', good:sub(1, 10), 'truncated')
    corrupt('truncated.idx', good:sub(1, #good - 1), '[3 x 4 x 5]', 'uint8')
    corrupt('extra.idx', good .. '\0', 'should hold')
    corrupt('sizes.idx', good:sub(1, 4) .. '\0\0\0\4' .. good:sub(9), '[4 x 4 x 5]')
    corrupt('huge.idx', '\0\0\8\2\255\255\255\255\255\255\255\255', 'should hold')
    corrupt('notgzip.idx.gz', 'this is not a gzip file at all', 'magic')
    -- a truncated gzip stream
    local gz = read_file(tmp .. '/i16.idx.gz')
    corrupt('cut.idx.gz', gz:sub(1, math.floor(#gz / 2)), 'gzip')
    fails(function() data.read_idx(tmp .. '/missing.idx') end, 'missing.idx')
  end)
end)

describe('Fashion-MNIST from Debian', function()
  it('has 60000 + 10000 images whose pixels and label counts match numpy reading the same files', function()
    assert(REF.fashion, 'Debian\'s dataset-fashion-mnist is not installed in ' .. FASHION)
    local train, test = data.mnist(FASHION)
    assert.are.same({ 60000, 1, 28, 28 }, train.x:shape())
    assert.are.same({ 10000, 1, 28, 28 }, test.x:shape())
    local function counts(y)
      local c = {}
      for k = 1, 10 do c[k] = y:eq(k):sum() end
      return c
    end
    assert.are.same(REF.fashion.train_counts, counts(train.y))
    assert.are.same(REF.fashion.test_counts, counts(test.y))
    for k, i in ipairs(FASHION_SAMPLES) do
      local ok, msg = ref.compare((train.x[i][1] * 255):round():double(), REF.fashion.samples[k], { dtype = false })
      assert(ok, 'image ' .. i .. ': ' .. tostring(msg))
      assert.are.equal(REF.fashion.sample_labels[k] + 1, train.y[i])
    end
  end)
end)

describe('progress bar', function()
  -- runs fn with io.stdout captured; returns what it wrote
  local function capture(fn)
    local chunks = {}
    local real = io.stdout
    io.stdout = { write = function(_, ...) for _, s in ipairs({ ... }) do chunks[#chunks + 1] = s end end,
                  flush = function() end }
    local ok, err = pcall(fn)
    io.stdout = real
    assert(ok, err)
    return table.concat(chunks)
  end
  it('draws [====>....] i/n with the rate and ETA, and the total time with a newline at the end', function()
    local out = capture(function() for i = 1, 50 do data.progress(i, 50) end end)
    local lines = {}
    for line in out:gmatch('\r([^\r]*)') do lines[#lines + 1] = line end
    assert.is_true(#lines >= 2)
    -- the first draw (step 1) and the last (step 50; throttled draws in between)
    local bar, i, n = lines[1]:match('^ %[([=>%.]+)%] (%d+)/(%d+) ETA ')
    assert.are.equal(40, #bar)
    assert.are.same({ '1', '50' }, { i, n })
    assert.are.equal(string.rep('.', 40), bar) -- 1/50 of 40 characters
    assert.matches('it/s', lines[1])
    local last = lines[#lines]
    assert.matches('^ %[' .. string.rep('=', 40) .. '%] 50/50 Tot [%d%.]+m?s | [%d%.]+ it/s *\n$', last)
    assert.are.equal(1, select(2, out:gsub('\n', '')))
  end)
  it('shows a message and the half-way bar', function()
    local out = capture(function()
      data.progress(1, 4)
      data.progress(4, 4, 'done')
    end)
    assert.matches('4/4 Tot .* it/s done\n$', out)
    local half = capture(function()
      data.progress(1, 2)
      data.progress(2, 4)
    end)
    assert.matches('%[' .. string.rep('=', 19) .. '>' .. string.rep('%.', 20) .. '%] 2/4 ETA', half)
  end)
  it('can run inside a DataLoader', function()
    local ds = data.TensorDataset(torch.zeros(6, 1))
    local out = capture(function() for _ in data.DataLoader(ds, { batch_size = 2, progress = true }):iter() do end end)
    assert.matches('3/3 Tot', out)
  end)
end)

teardown(function() os.execute("rm -rf '" .. tmp .. "'") end)
