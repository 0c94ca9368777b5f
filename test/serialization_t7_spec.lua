-- torch.save / torch.load in Torch7's .t7 format: round trips of every kind of value, Torch7's exact byte
-- layout (checked against bytes assembled in Python with struct), the real Torch7 files of
-- test/fixtures/t7 (checked against an independent Python reader), ascii files, functions and Torch7
-- objects of other classes.
local ffi = require 'ffi'
local torch = require 'tensor'
local ref = require 'helpers.torchref'
local H = require 'helpers.serialization'

local T = H.t7
local DTYPES = { 'float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool' }

local function sample(dt, n)
  if dt == 'bool' then
    local v = {}
    for i = 1, n do v[i] = i % 3 == 0 end
    return torch.tensor(v)
  end
  local x = torch.arange(n, { dtype = 'float64' }) * 1.5 - 7
  if dt:match('int') then x = torch.arange(n, { dtype = 'float64' }) * 3 - 20 end
  return x:to(dt)
end

local function same_values(a, b)
  assert.are.same(a:shape(), b:shape())
  assert.are.equal(a:dtype(), b:dtype())
  assert.are.same(a:tolist(), b:tolist())
end

local function roundtrip(v, format)
  local path = H.path('roundtrip.t7')
  torch.save(path, v, format)
  return torch.load(path, format)
end

describe('torch.save/torch.load (Torch7 .t7)', function()
  teardown(H.cleanup)

  for _, format in ipairs({ 'binary', 'ascii' }) do
    describe(format, function()
      it('round-trips nil, numbers, strings and booleans', function()
        for _, v in ipairs({ 0, 1, -1, 2.5, -0.1, 1e300, -1e-300, 2 ^ 53, math.huge, -math.huge, '', 'text',
                             'bytes\0\1\255\n', true, false }) do
          assert.are.equal(v, roundtrip(v, format))
        end
        local nan = roundtrip(0 / 0, format)
        assert.is_true(nan ~= nan)
        assert.is_nil(roundtrip(nil, format))
        assert.are.equal(1 / -math.huge, roundtrip(-0.0, format)) -- same value
        assert.are.equal(-math.huge, 1 / roundtrip(-0.0, format))  -- and the sign of zero survives
      end)

      it('round-trips nested tables with every key type', function()
        local v = { 1, 2, 'three', { 4, { 5 } }, x = { y = { z = 'deep' } }, [2.5] = 'float key', [true] = false,
                    [''] = 'empty key', [-3] = -3 }
        local w = roundtrip(v, format)
        assert.are.same(v, w)
      end)

      it('keeps shared references and cycles', function()
        local shared = { 'shared' }
        local v = { a = shared, b = shared, list = { shared } }
        v.self = v
        v.list.parent = v
        local w = roundtrip(v, format)
        assert.are.equal(w.a, w.b)
        assert.are.equal(w.a, w.list[1])
        assert.are.equal(w, w.self)
        assert.are.equal(w, w.list.parent)
        assert.are.equal('shared', w.a[1])
        -- a table used as a key is the same table as the value
        local k = { 'key' }
        local u = roundtrip({ [k] = k }, format)
        local key, value = next(u)
        assert.are.equal(key, value)
      end)

      it('round-trips tensors of every dtype', function()
        for _, dt in ipairs(DTYPES) do
          local x = sample(dt, 12):view(3, 4)
          local y = roundtrip(x, format)
          same_values(x, y)
          assert.are.same(x:stride(), y:stride())
        end
        -- extreme values
        local f = torch.tensor({ 1e-45, 3.4028234663852886e38, -0.0, math.huge, -math.huge, 1 / 3 }, { dtype = 'float32' })
        same_values(f, roundtrip(f, format))
        local d = torch.tensor({ 5e-324, 1.7976931348623157e308, 1 / 3, -2 ^ 60 }, { dtype = 'float64' })
        same_values(d, roundtrip(d, format))
        local l = torch.tensor({ -2 ^ 63, 2 ^ 62, -1, 0 }, { dtype = 'int64' })
        local m = roundtrip(l, format)
        for i = 0, 3 do assert.is_true(l:data_ptr()[i] == m:data_ptr()[i]) end
        local h = torch.tensor({ 65504, -65504, 6e-8, 0.1 }, { dtype = 'float16' })
        same_values(h, roundtrip(h, format))
      end)

      it('keeps views as views of one storage', function()
        local base = torch.arange(24, { dtype = 'float64' }):view(4, 6)
        local v = { base = base, t = base:t(), row = base:select(1, 3), cols = base:narrow(2, 2, 3),
                    diag = base:diagonal(), step = base:view(-1):narrow(1, 5, 10), ex = base[1]:view(1, 6):expand(3, 6) }
        local w = roundtrip(v, format)
        for k, x in pairs(v) do
          same_values(x, w[k])
          assert.are.same(x:stride(), w[k]:stride(), k)
          assert.are.equal(x:storage_offset(), w[k]:storage_offset(), k)
          assert.is_true(w[k]:shares_storage(w.base), k)
        end
        w.base:fill_(7)
        assert.are.equal(7, w.t[{ 6, 4 }])
        assert.are.equal(7, w.ex[{ 3, 1 }])
      end)

      it('writes a tensor referenced twice once, and separate storages separately', function()
        local x, y = torch.ones(3), torch.zeros(3)
        local w = roundtrip({ x, x, y }, format)
        assert.are.equal(w[1], w[2])
        assert.is_false(w[1]:shares_storage(w[3]))
      end)

      it('keeps 0-d tensors and empty shapes', function()
        local w = roundtrip({ torch.tensor(3.5), torch.empty(0), torch.empty(3, 0), torch.tensor({}, { dtype = 'int64' }) }, format)
        assert.are.same({}, w[1]:shape())
        assert.are.equal(3.5, w[1]:item())
        assert.are.same({ 0 }, w[2]:shape())
        assert.are.same({ 3, 0 }, w[3]:shape())
        assert.are.equal('int64', w[4]:dtype())
      end)

      it('round-trips a state dict with dotted names', function()
        local sd = { ['features.0.weight'] = torch.randn(4, 1, 3, 3), ['features.0.bias'] = torch.randn(4),
                     ['bn.num_batches_tracked'] = torch.tensor(7), ['fc.weight'] = torch.randn(10, 4):t() }
        local w = roundtrip(sd, format)
        for k, x in pairs(sd) do
          if x:dim() > 0 then same_values(x, w[k]) end
        end
        assert.are.same({}, w['bn.num_batches_tracked']:shape())
        assert.are.equal(7, w['bn.num_batches_tracked']:item())
      end)
    end)
  end

  it("writes Torch7's exact binary layout", function()
    local r = ref.run([[
      import struct
      def s(b): return struct.pack('<i', len(b)) + b
      # a 0-d tensor: Torch7 reads a one-element 1-d tensor (a tensor's version, here 2, is ignored by Torch7)
      scalar = (struct.pack('<iii', 4, 1, 3) + b'V 2' + s(b'torch.LongTensor') + struct.pack('<iqqq', 1, 1, 1, 1)
                + struct.pack('<ii', 4, 2) + s(b'V 1') + s(b'torch.LongStorage') + struct.pack('<qq', 1, -7))
      t = (struct.pack('<iii', 4, 1, 3) + b'V 1' + s(b'torch.FloatTensor') + struct.pack('<i', 2)
           + struct.pack('<qqqqq', 2, 3, 3, 1, 1)
           + struct.pack('<ii', 4, 2) + s(b'V 1') + s(b'torch.FloatStorage') + struct.pack('<q', 6)
           + struct.pack('<6f', 0, 1, 2, 3, 4, 5))
      tbl = (struct.pack('<iii', 3, 1, 1) + struct.pack('<i', 2) + s(b'k') + struct.pack('<id', 1, 2.5))
      o = (struct.pack('<ii', 4, 1) + s(b'V 1') + s(b'nn.Linear') + struct.pack('<iii', 3, 2, 1)
           + struct.pack('<i', 2) + s(b'train') + struct.pack('<ii', 5, 1))
      out = {'tensor': t.hex(), 'table': tbl.hex(), 'object': o.hex(), 'scalar': scalar.hex()}
    ]])
    local function hex(s) return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end)) end
    assert.are.equal(r.tensor, hex(torch.serialize(torch.arange(6, { dtype = 'float32' }):view(2, 3))))
    assert.are.equal(r.table, hex(torch.serialize({ k = 2.5 })))
    assert.are.equal(r.object, hex(torch.serialize({ __typename = 'nn.Linear', train = true })))
    assert.are.equal(r.scalar, hex(torch.serialize(torch.tensor(-7))))
  end)

  it("writes Torch7's exact ascii layout", function()
    local expected = table.concat({ '4', '1', '3', 'V 1', '17', 'torch.FloatTensor', '1', '3', '1', '1', '4', '2', '3', 'V 1',
                                    '18', 'torch.FloatStorage', '3', '0.5 1 -2.25', '' }, '\n')
    assert.are.equal(expected, torch.serialize(torch.tensor({ 0.5, 1, -2.25 }), 'ascii'))
    assert.are.equal('2\n5\nhello\n', torch.serialize('hello', 'ascii'))
    assert.are.equal('5\n1\n', torch.serialize(true, 'ascii'))
  end)

  it('writes files an independent Torch7 reader parses, for every dtype', function()
    local v, expected = {}, {}
    for i, dt in ipairs(DTYPES) do
      v[dt] = sample(dt, 6):view(2, 3):t()
    end
    local path = H.path('independent.t7')
    torch.save(path, v)
    local r = ref.run(H.with_t7_reader(string.format([[
      flat = parse_t7(%q, %q)
      out = {k: {'class': x['class'], 'shape': x['shape'], 'stride': x['stride'], 'offset': x['offset'],
                 'values': torch.from_numpy(np.fromfile(x['file'], dtype=np.float64))} for k, x in flat.items()}
    ]], path, H.tmpdir())))
    local classes = { float32 = 'Float', float64 = 'Double', float16 = 'Half', bfloat16 = 'BFloat16', int64 = 'Long',
                      int32 = 'Int', int16 = 'Short', int8 = 'Char', uint8 = 'Byte', bool = 'Bool' }
    for _, dt in ipairs(DTYPES) do
      local got = r[dt]
      assert.are.equal('torch.' .. classes[dt] .. 'Tensor', got.class)
      assert.are.same({ 3, 2 }, got.shape)
      assert.are.same({ 1, 3 }, got.stride)
      assert.are.equal(1, got.offset)
      local want = v[dt]:to('float64'):contiguous():view(-1):tolist()
      assert.are.same(want, got.values.values)
    end
  end)

  describe('real Torch7 files', function()
    local function check_fixture(name)
      local path = 'test/fixtures/t7/' .. name
      local loaded = torch.load(path)
      local flat = H.flatten(loaded, torch.is_tensor)
      local expected = ref.run(H.with_t7_reader(string.format('out = parse_t7(%q, %q)', path, H.tmpdir())))
      local same_object, same_storage, checked = {}, {}, { tensors = 0, values = 0 }
      for k, want in pairs(expected) do
        local got = flat[k]
        if type(want) == 'table' then
          checked.tensors = checked.tensors + 1
          assert.is_true(torch.is_tensor(got), k .. ' is a tensor')
          assert.are.equal(want.class, got:type(), k)
          local shape = #want.shape == 0 and { 0 } or want.shape
          assert.are.same(shape, got:shape(), k)
          if #want.shape > 0 then
            assert.are.same(want.stride, got:stride(), k)
            assert.are.equal(want.offset - 1, got:storage_offset(), k)
          end
          local values = H.read(want.file)
          local host = got:to('float64'):contiguous()
          assert.are.equal(#values, host:numel() * 8, k)
          assert.is_true(values == ffi.string(host:data_ptr(), #values), k .. ' values')
          -- one Lua tensor per Torch7 reference, one storage per Torch7 storage
          if same_object[want.tensor] then assert.are.equal(same_object[want.tensor], got, k) end
          same_object[want.tensor] = got
          if want.storage_index >= 0 then
            if same_storage[want.storage_index] then assert.is_true(same_storage[want.storage_index]:shares_storage(got), k) end
            same_storage[want.storage_index] = got
          end
        else
          checked.values = checked.values + 1
          assert.are.equal(want, got, k)
        end
      end
      for k in pairs(flat) do assert.is_not_nil(expected[k], 'unexpected ' .. k) end
      return loaded, checked
    end

    it('loads criterion.t7 (nn.MSECriterion)', function()
      local c, checked = check_fixture('criterion.t7')
      assert.are.same({ tensors = 1, values = 3 }, checked)
      assert.are.equal('nn.MSECriterion', c.__typename)
      assert.are.equal(true, c.sizeAverage)
      assert.are.equal(0, c.output)
      assert.are.equal('float64', c.gradInput:dtype())
      assert.are.equal(0, c.gradInput:numel())
    end)

    it('loads model.t7 (nn.Sequential of Linear, ReLU, Linear)', function()
      local m, checked = check_fixture('model.t7')
      assert.are.equal(16, checked.tensors)
      assert.are.equal('nn.Sequential', m.__typename)
      assert.are.same({ 'nn.Linear', 'nn.ReLU', 'nn.Linear' },
                      { m.modules[1].__typename, m.modules[2].__typename, m.modules[3].__typename })
      assert.are.same({ 848, 24 }, m.modules[1].weight:shape())
      assert.are.same({ 24, 848 }, m.modules[3].weight:shape())
      assert.are.equal(m.output, m.modules[3].output) -- Torch7 shared these references
      -- the loaded model saves and loads again with the same structure and classes
      local again = torch.deserialize(torch.serialize(m))
      assert.are.equal('nn.Linear', again.modules[1].__typename)
      assert.are.same(m.modules[1].weight:tolist(), again.modules[1].weight:tolist())
      assert.are.equal(again.output, again.modules[3].output)
    end)
  end)

  describe('Torch7 records written by hand', function()
    it('reads a bare storage as a 1-d tensor, CUDA classes as CPU tensors, old version-less class names', function()
      local storage = T.storage(1, 'torch.DoubleStorage', 3, T.doubles({ 1, 2, 3 }))
      local s = torch.deserialize(storage)
      assert.are.same({ 1, 2, 3 }, s:tolist())
      local cuda = T.tensor(1, 'torch.CudaTensor', { 2 }, { 1 }, 2,
                            T.storage(2, 'torch.CudaStorage', 3, H.f32(1) .. H.f32(2) .. H.f32(3)))
      local c = torch.deserialize(cuda)
      assert.are.equal('float32', c:dtype())
      assert.are.same({ 2, 3 }, c:tolist())
      local old = H.i32(4) .. H.i32(1) .. T.string_bytes('nn.Module') .. T.table(2, { { T.string('x'), T.number(1) } })
      local o = torch.deserialize(old)
      assert.are.equal('nn.Module', o.__typename)
      assert.are.equal(0, o.__version)
      assert.are.equal(1, o.x)
    end)

    it('reads files with 4-byte longs (Torch7 on Windows) when told', function()
      local bytes = T.tensor(1, 'torch.LongTensor', { 2 }, { 1 }, 1,
                             T.storage(2, 'torch.LongStorage', 2, H.i32(-5) .. H.i32(7), H.i32), H.i32)
      assert.are.same({ -5, 7 }, torch.deserialize(bytes, { long_size = 4 }):tolist())
      assert.has_error(function() torch.deserialize(bytes) end)
    end)

    it('refuses Lua functions unless allow_functions is set', function()
      local code = string.dump(function() return 42 end)
      local plain = H.i32(6) .. T.string_bytes(code) .. T.table(1, {})
      local ok, err = pcall(torch.deserialize, plain)
      assert.is_false(ok)
      assert.matches('contains a Lua function', err)
      assert.matches('allow_functions', err)
      assert.are.equal(42, torch.deserialize(plain, { allow_functions = true })())
      -- a recursive function (type 8) with named upvalues
      local base = 10
      local function add(x) return x + base end
      local recur = H.i32(8) .. H.i32(1) .. T.string_bytes(string.dump(add))
                    .. T.table(2, { { T.number(1), T.table(3, { { T.string('name'), T.string('base') },
                                                              { T.string('value'), T.number(5) } }) } })
      assert.are.equal(12, torch.deserialize(recur, { allow_functions = true })(7))
      assert.has_error(function() torch.deserialize(recur) end)
    end)

    it('writes instances of classes (a __typename reached through the metatable) as Torch7 objects', function()
      local Class = { __typename = 'nn.Tanh', __version = 3 }
      Class.__index = Class
      function Class.forward() end -- methods live in the class, not in the instance: not written
      local obj = setmetatable({ inplace = true }, Class)
      local got = torch.deserialize(torch.serialize({ obj, obj }))
      assert.are.same({ inplace = true, __typename = 'nn.Tanh', __version = 3 }, got[1])
      assert.are.equal(got[1], got[2])
    end)

    it('maps Torch7 classes through registered readers', function()
      local bytes = T.object(1, 'nn.Linear', T.table(2, { { T.string('weight'), T.number(3) } }))
      local got = torch.deserialize(bytes, { classes = { ['nn.Linear'] = function(fields, name, version)
        return { kind = name, w = fields.weight, v = version }
      end } })
      assert.are.same({ kind = 'nn.Linear', w = 3, v = 1 }, got)
    end)
  end)

  describe('errors', function()
    it('names what cannot be saved and where', function()
      local ok, err = pcall(torch.save, H.path('bad.t7'), { layers = { { fn = print } } })
      assert.is_false(ok)
      assert.matches('cannot save a function', err)
      assert.matches('obj.layers%[1%].fn', err)
      ok, err = pcall(torch.serialize, { co = coroutine.create(print) })
      assert.matches('cannot save a thread %(obj.co%)', err)
      ok, err = pcall(torch.serialize, { x = ffi.new('int[1]') })
      assert.matches('cannot save a cdata', err)
      local deep = {}
      local t = deep
      for _ = 1, 2100 do
        t.next = {}
        t = t.next
      end
      ok, err = pcall(torch.serialize, deep)
      assert.matches('nested more than 2000 levels', err)
    end)

    it('reports missing files and bad arguments', function()
      local ok, err = pcall(torch.load, H.path('does-not-exist.t7'))
      assert.matches("load: cannot open '.*does%-not%-exist.t7': No such file or directory", err)
      ok, err = pcall(torch.load, H.tmpdir())
      assert.matches('is a directory', err)
      ok, err = pcall(torch.load, H.path('x.t7'), { format = 'zip' })
      assert.matches("unknown format 'zip'", err)
      ok, err = pcall(torch.save, '/nonexistent-dir/x.t7', 1)
      assert.matches("save: cannot open '/nonexistent%-dir/x.t7' for writing", err)
      assert.has_error(function() torch.load(42) end)
    end)
  end)
end)
