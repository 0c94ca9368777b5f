-- Hostile, corrupt and truncated files: every reader raises a clear error naming the input and the problem,
-- never crashes and never allocates what the input cannot back. Hand-made records for each rule, then a
-- mutation fuzzer over valid files of every format.
local ffi = require 'ffi'
local bit = require 'bit'
local torch = require 'tensor'
local H = require 'helpers.serialization'

local T, P = H.t7, H.pickle
local i32, i64, f32, u64 = H.i32, H.i64, H.f32, H.u64

-- Expects torch.deserialize(bytes, opts) to fail with a message matching pattern (plain text).
local function refuses(bytes, opts, pattern)
  local ok, err = pcall(torch.deserialize, bytes, opts)
  assert.is_false(ok, 'accepted input that should fail with: ' .. pattern)
  assert.is_string(err)
  assert.is_truthy(err:find(pattern, 1, true), 'message: ' .. tostring(err) .. '\nexpected: ' .. pattern)
  assert.is_truthy(err:find("deserialize: 'string'", 1, true), 'the message names the input: ' .. err)
end

local function float_tensor(sizes, strides, offset1, storage)
  return T.tensor(1, 'torch.FloatTensor', sizes, strides, offset1, storage)
end
local function float_storage(n, data) return T.storage(2, 'torch.FloatStorage', n, data) end

describe('serialization robustness', function()
  teardown(H.cleanup)

  describe('Torch7 records', function()
    local t7 = { format = 't7' }

    it('refuses bad type tags, lengths and counts', function()
      refuses('', nil, 'is empty')
      refuses(i32(99), t7, 'unknown type tag 99')
      refuses(i32(99), nil, 'not a Torch7 (.t7), safetensors or PyTorch (.pt) file')
      refuses(i32(1) .. 'abc', t7, 'truncated file: a number needs 8 bytes, 3 remain')
      refuses(i32(2) .. i32(-5), t7, 'negative length -5 for a string')
      refuses(i32(2) .. i32(1000) .. 'ab', t7, 'truncated file: a string needs 1000 bytes, 2 remain')
      refuses(i32(3) .. i32(1) .. i32(2 ^ 31 - 1), t7, 'a table of 2147483647 entries cannot fit in the 0 bytes')
      refuses(i32(3) .. i32(1) .. i32(-3), t7, 'a table of -3 entries')
      refuses(i32(3) .. i32(2 ^ 30) .. i32(0), t7, 'reference index 1073741824 out of range')
      refuses(i32(3) .. i32(-1) .. i32(0), t7, 'reference index -1 out of range')
      refuses(i32(4) .. i32(1) .. T.string_bytes('V 1') .. T.string_bytes('') .. T.nil_(), t7, 'empty class name')
      refuses(T.table(1, { { T.nil_(), T.number(1) } }), nil, 'a table key is nil')
      refuses(T.table(1, { { T.number(0 / 0), T.number(1) } }), nil, 'a table key is NaN')
    end)

    it('refuses tensors that do not fit their storage, or are not tensors', function()
      local four = float_storage(4, f32(1) .. f32(2) .. f32(3) .. f32(4))
      assert.are.same({ 2, 3 }, torch.deserialize(float_tensor({ 2 }, { 1 }, 2, four)):tolist())
      refuses(float_tensor({ 5 }, { 1 }, 1, four), nil, 'a torch.FloatTensor reaches element 5 of a storage of 4 elements')
      refuses(float_tensor({ 2 }, { 1 }, 4, four), nil, 'reaches element 5 of a storage of 4 elements')
      refuses(float_tensor({ 2, 2 }, { 3, 1 }, 1, four), nil, 'reaches element 5')
      refuses(float_tensor({ 2 }, { -1 }, 2, four), nil, 'a negative stride -1')
      refuses(float_tensor({ -2 }, { 1 }, 1, four), nil, 'a negative size -2')
      refuses(float_tensor({ 2 }, { 1 }, 0, four), nil, 'a negative storage offset -1')
      refuses(float_tensor({ 2 ^ 62, 4 }, { 1, 2 ^ 61 }, 1, four), nil, 'has too many elements')
      refuses(float_tensor({ 2, 2 ^ 40 }, { 2 ^ 62, 2 ^ 40 }, 1, four), nil, 'reaches past the end of its storage')
      refuses(float_tensor({ 3 }, { 1 }, 1, T.nil_()), nil, 'reaches element 3 of a storage of 0 elements')
      local dims = {}
      for d = 1, 17 do dims[d] = 1 end
      refuses(float_tensor(dims, dims, 1, four), nil, 'torch.FloatTensor with 17 dimensions (at most 16')
      refuses(float_tensor({ 2 }, { 1 }, 1, T.storage(2, 'torch.DoubleStorage', 2, T.doubles({ 1, 2 }))), nil,
              'torch.FloatTensor over a storage of float64 elements')
      refuses(float_tensor({ 2 }, { 1 }, 1, T.number(3)), nil, 'the storage of a torch.FloatTensor is not a storage')
      -- a tensor whose storage is a reference to itself
      refuses(float_tensor({ 2 }, { 1 }, 1, T.ref(4, 1)), nil, 'is not a storage')
      refuses(float_storage(2 ^ 61, ''), nil, 'storage of 2305843009213693952 elements is too large')
      refuses(float_storage(2 ^ 40, ''), nil, 'truncated file: storage data needs 4398046511104 bytes, 0 remain')
      refuses(float_storage(-1, ''), nil, 'negative storage size -1')
      refuses(T.object(1, 'nn.Linear', T.number(1)), nil, 'the fields of an object of class nn.Linear are not a table')
      refuses(T.object(1, 'nn.Linear', i32(77)), nil, 'unknown type tag 77 (not a Torch7 file, or a corrupt one) at byte 28 (inside an object of class nn.Linear)')
    end)

    it('keeps reference loops as cycles and refuses nesting beyond 2000 levels', function()
      local loop = torch.deserialize(T.table(1, { { T.string('me'), T.ref(3, 1) } }))
      assert.are.equal(loop, loop.me)
      local function nested(depth)
        local parts = {}
        for d = 1, depth do parts[d] = i32(3) .. i32(d) .. i32(1) .. T.number(1) end
        return table.concat(parts) .. T.nil_()
      end
      assert.is_table(torch.deserialize(nested(1999)))
      refuses(nested(2001), nil, 'objects nested more than 2000 levels deep')
      refuses(T.table(1, { { T.number(1), i32(6) .. T.string_bytes('abc') .. T.table(2, {}) } }), nil,
              'contains a Lua function')
    end)

    it('refuses malformed ascii', function()
      local ascii = { format = 'ascii' }
      local head = '4\n1\n3\nV 1\n18\ntorch.FloatStorage\n3\n'
      assert.are.same({ 1, 2, 3 }, torch.deserialize(head .. '1 2 3\n'):tolist())
      refuses(head .. '1 2 x\n', ascii, "malformed number 'x' for storage data")
      refuses(head .. '1 2\n', ascii, 'truncated file: expected a number for storage data')
      refuses(head .. '1\n', ascii, 'truncated file: a storage of 3 elements cannot fit in the 2 bytes')
      refuses(head .. '1 ' .. string.rep('9', 70) .. ' 3\n', ascii, 'a token longer than 63 characters')
      refuses('3\n99999999999\n0\n', ascii, 'reference index 99999999999 does not fit in an int32')
      refuses('4\n1\n3\nV 1\n18\ntorch.ShortStorage\n1\n70000\n', ascii, 'storage element 70000 is out of range for int16')
    end)
  end)

  describe('safetensors', function()
    local st = { format = 'safetensors' }
    local function file(header, data) return u64(#header) .. header .. (data or '') end
    local function entry(name, dtype, shape, b, e)
      return string.format('"%s":{"dtype":"%s","shape":[%s],"data_offsets":[%s,%s]}', name, dtype, shape, b, e)
    end

    it('refuses bad headers', function()
      refuses(u64(1000) .. '{}', st, 'truncated file: a header of 1000 bytes, but only 2 bytes follow its length')
      refuses(u64(2 ^ 62) .. '{}', st, 'truncated file: a header of 4611686018427387904 bytes')
      refuses('{}', st, 'truncated file: 2 bytes, no header length')
      refuses(file('{x}'), st, 'malformed JSON header: expected a string key at byte 1')
      refuses(file('{"a":1,}'), st, 'expected a string key')
      refuses(file('{"a":1} x'), st, 'unexpected characters after the value')
      refuses(file('[]'), st, 'the header is not a JSON object')
      refuses(file('{"a":"\\ud800"}'), st, 'unpaired surrogate')
      refuses(file('{"a":"x\ny"}'), st, 'control character in a string')
      refuses(file('{"a":' .. string.rep('[', 100) .. string.rep(']', 100) .. '}'), st, 'nested more than 64 levels deep')
      refuses(file('{"__metadata__":{"a":1}}'), st, '__metadata__ values must be strings')
      refuses(file('{"__metadata__":[]}'), st, '__metadata__ is not a JSON object')
    end)

    it('refuses tensors with bad dtypes, shapes and offsets', function()
      local data = string.rep('\0', 16)
      refuses(file('{' .. entry('w', 'F8_E4M3', '2', 0, 2) .. '}', data), st, "tensor 'w' has dtype 'F8_E4M3', which is not supported")
      refuses(file('{' .. entry('w', 'F32', '-1', 0, 0) .. '}', data), st, "tensor 'w': shape entries must be non-negative integers")
      refuses(file('{' .. entry('w', 'F32', '1.5', 0, 4) .. '}', data), st, 'shape entries must be non-negative integers')
      refuses(file('{' .. entry('w', 'F32', '2', 0, 20) .. '}', data), st, "data_offsets [0, 20] outside the 16 bytes of data")
      refuses(file('{' .. entry('w', 'F32', '2', 8, 4) .. '}', data), st, 'outside the 16 bytes')
      refuses(file('{' .. entry('w', 'F32', '2', 0, 12) .. '}', data), st, "tensor 'w': 12 bytes of data for a shape that needs 8")
      refuses(file('{' .. entry('w', 'F32', '2', '"0"', 8) .. '}', data), st, 'data_offsets must be two integers')
      refuses(file('{' .. entry('a', 'F32', '2', 0, 8) .. ',' .. entry('b', 'F32', '2', 4, 12) .. '}', data), st,
              "tensors 'a' and 'b' overlap in the data")
      refuses(file('{' .. entry('a', 'F32', '2', 0, 8) .. ',' .. entry('a', 'F32', '2', 8, 16) .. '}', data), st,
              "tensor 'a' appears twice")
      refuses(file('{' .. entry('w', 'F32', '4294967296,4294967296,4294967296', 0, 0) .. '}', data), st, 'too large')
      refuses(file('{' .. entry('w', 'F32', '0,4294967296,4294967296,4294967296', 0, 0) .. '}', data), st,
              "tensor 'w' has too many elements")
      refuses(file('{"w":{"dtype":"F32","shape":[2]}}', data), st, "tensor 'w' lacks data_offsets")
      refuses(file('{"w":3}', data), st, "entry 'w' is not a JSON object")
      -- empty tensors may share an offset
      local ok = torch.deserialize(file('{' .. entry('a', 'F32', '0', 0, 0) .. ',' .. entry('b', 'F32', '0,3', 0, 0) .. '}'))
      assert.are.same({ 0, 3 }, ok.b:shape())
    end)
  end)

  describe('PyTorch archives', function()
    local pt = { format = 'pt' }
    local floats = f32(1) .. f32(2) .. f32(3) .. f32(4)
    local good = H.pt(P.state('w', { numel = 4, size = { 2, 2 }, stride = { 2, 1 } }), { ['0'] = floats })

    it('reads a hand-made archive, and refuses corrupt zips', function()
      assert.are.same({ { 1, 2 }, { 3, 4 } }, torch.deserialize(good).w:tolist())
      -- the zip64 records of archives over 4 GB
      local big = H.pt(P.state('w', { numel = 4, size = { 2, 2 }, stride = { 2, 1 } }), { ['0'] = floats }, { zip64 = true })
      assert.are.same({ { 1, 2 }, { 3, 4 } }, torch.deserialize(big).w:tolist())
      refuses(big:sub(1, #big - 22 - 20) .. big:sub(#big - 21), pt, 'zip64 locator missing')
      refuses(good:sub(1, #good - 30), pt, 'no end of central directory')
      refuses(good:sub(1, 100), pt, 'no end of central directory')
      -- the end record pointing the central directory outside the file
      local bad = good:sub(1, #good - 6) .. H.u32(#good) .. H.u16(0)
      refuses(bad, pt, 'lies outside the file')
      -- an entry whose size reaches into the next one
      local pk = P.state('w', { numel = 4, size = { 4 }, stride = { 1 } })
      refuses(H.zip({ { 'archive/data.pkl', pk, size = #pk + 40 }, { 'archive/data/0', floats } }), pt,
              "zip entries 'archive/data.pkl' and 'archive/data/0' overlap")
      -- two entries sharing one local header
      refuses(H.zip({ { 'archive/data.pkl', 'x' }, { 'archive/data.pkl', 'y', header_offset = 0 } }), pt, 'overlap')
      refuses(H.zip({ { 'archive/data.pkl', 'x' }, { 'archive/data/0', 'y', header_offset = 0 } }), pt,
              "zip entry 'archive/data/0': its local header disagrees with the central directory")
      refuses(H.zip({ { 'archive/data.pkl', 'x', header_offset = 5 } }), pt, 'no local header at byte 5')
      refuses(H.zip({ { 'noslash', 'x' } }), pt, 'entries are not in one folder')
      refuses(H.zip({ { 'archive/other', 'x' } }), pt, 'no archive/data.pkl')
      refuses(H.zip({}), pt, 'an empty zip archive')
    end)

    it('refuses globals, opcodes and memo keys outside the subset', function()
      local function pickle(body) return H.pt('\x80\x02' .. body) end
      refuses(pickle(P.global('os', 'system') .. '(' .. P.unicode('ls') .. 'tR.'), pt,
              "refusing to load global 'os.system'")
      refuses(pickle(P.unicode('builtins') .. P.unicode('eval') .. '\x93.'), pt, "refusing to load global 'builtins.eval'")
      refuses(pickle(P.global('collections', 'OrderedDict') .. '.'), pt,
              "a Python class or function ('collections.OrderedDict') is used as a value")
      refuses(pickle(P.global('torch', 'FloatStorage') .. ')R.'), pt, "'torch.FloatStorage' cannot be called")
      refuses(pickle('.'), pt, 'stack underflow')
      refuses(pickle('S\'text\'\n.'), pt, 'unsupported pickle opcode 0x53')
      refuses(pickle(P.global('collections', 'OrderedDict') .. ')\x81.'), pt, 'opcode 0x81 creates an arbitrary Python object')
      refuses(pickle('h\x05.'), pt, 'memo key 5 not found')
      refuses(pickle('Nr\xff\xff\xff\x7f.'), pt, 'memo key 2147483647 out of range')
      refuses(pickle('N'), pt, 'truncated pickle')
      refuses(pickle('X\xff\xff\xff\x7f'), pt, 'truncated pickle: needs 2147483647 more bytes')
      refuses(pickle('\x8a\x09' .. string.rep('\x01', 9) .. '.'), pt, 'integer of 9 bytes does not fit in 64 bits')
      refuses(pickle('K\x01a.'), pt, 'stack underflow')
      refuses(pickle('K\x01K\x02a.'), pt, 'APPEND(S) on a int, not a list')
      refuses(pickle('(K\x01K\x02u.'), pt, 'SETITEMS without a dict')
      refuses(pickle('\x80\x09.'), pt, 'pickle protocol 9 is not supported')
      refuses(pickle('(' .. P.unicode('storage') .. 'tQ.'), pt, "a persistent id that is not a ('storage', type, key, location, size) tuple")
      -- a list that contains itself is a cycle, not an error
      local loop = torch.deserialize(pickle(']q\x00h\x00a.'))
      assert.are.equal(loop, loop[1])
      -- a chain of 2500 lists, each holding the previous one (deep, though the pickle is flat)
      local parts = { '\x80\x02]r' .. H.u32(0) }
      for k = 1, 2500 do parts[#parts + 1] = ']r' .. H.u32(k) .. 'j' .. H.u32(k - 1) .. 'a0j' .. H.u32(k) end
      refuses(H.pt(table.concat(parts) .. '.'), pt, 'values nested more than 2000 levels deep')
    end)

    it('refuses storages and tensors that do not fit', function()
      local function state(t, data) return H.pt(P.state('w', t), data) end
      refuses(state({ numel = 4, size = { 4 }, stride = { 1 }, key = '9' }, { ['0'] = floats }), pt,
              "the archive has no entry for storage '9'")
      refuses(state({ numel = 5, size = { 4 }, stride = { 1 } }, { ['0'] = floats }), pt,
              "storage '0' of 5 float32 elements needs more than the 16 bytes of its entry")
      refuses(state({ numel = 4, size = { 4 }, stride = { 2 } }, { ['0'] = floats }), pt,
              'a tensor reaches element 7 of a storage of 4 elements')
      refuses(state({ numel = 4, size = { 2 }, stride = { 1 }, offset = 3 }, { ['0'] = floats }), pt, 'reaches element 5')
      refuses(state({ numel = 4, size = { 2 }, stride = { 1 }, class = 'ComplexFloatStorage' }, { ['0'] = floats }), pt,
              "refusing to load global 'torch.ComplexFloatStorage'")
      refuses(state({ numel = 2 ^ 62, size = { 2 }, stride = { 1 } }, { ['0'] = floats }), pt, 'needs more than the 16 bytes')
    end)
  end)

  it('reports truncated files on disk by name', function()
    local path = H.path('truncated.t7')
    torch.save(path, { w = torch.ones(100) })
    local bytes = H.read(path)
    H.write(path, bytes:sub(1, #bytes - 17))
    local ok, err = pcall(torch.load, path)
    assert.is_false(ok)
    assert.matches("load: '.*truncated.t7' %(Torch7%): truncated file: storage data needs 400 bytes, 383 remain", err)
    H.write(path, '')
    ok, err = pcall(torch.load, path)
    assert.matches("truncated.t7' is empty", err)
  end)

  describe('mutation fuzzing', function()
    -- Valid files of each format; mutated thousands of times, each result must be an error message or a
    -- value whose tensors can be read.
    local seeds = {}
    for _, name in ipairs({ 't7-binary.t7', 't7-ascii.t7', 'tensors.safetensors', 'state-p2.pt', 'dict-p4.pt' }) do
      seeds[#seeds + 1] = { name = name, bytes = H.read('test/fuzz/seeds/' .. name) }
    end
    local formats = { ['t7-binary.t7'] = 't7', ['t7-ascii.t7'] = 'ascii', ['tensors.safetensors'] = 'safetensors',
                      ['state-p2.pt'] = 'pt', ['dict-p4.pt'] = 'pt' }
    local interesting = { 0, 1, 0x7f, 0x80, 0xff }
    local words = { i32(0), i32(-1), i32(2 ^ 31 - 1), i32(-2 ^ 31), i32(17), i64(2 ^ 62), i64(-1) }

    local function mutate(s, rand)
      for _ = 1, rand(1, 3) do
        local n = #s
        local op = rand(1, 7)
        local at = rand(1, math.max(n, 1))
        if op == 1 and n > 0 then -- flip bits
          for _ = 1, rand(1, 4) do
            at = rand(1, n)
            s = s:sub(1, at - 1) .. string.char(bit.bxor(s:byte(at), bit.lshift(1, rand(0, 7)))) .. s:sub(at + 1)
          end
        elseif op == 2 and n > 0 then -- an interesting byte
          s = s:sub(1, at - 1) .. string.char(interesting[rand(1, #interesting)]) .. s:sub(at + 1)
        elseif op == 3 then -- an interesting word
          local w = words[rand(1, #words)]
          s = s:sub(1, at - 1) .. w .. s:sub(at + #w)
        elseif op == 4 then -- truncate
          s = s:sub(1, rand(0, n))
        elseif op == 5 then -- splice in a piece of another seed
          local other = seeds[rand(1, #seeds)].bytes
          local from = rand(1, #other)
          s = s:sub(1, at - 1) .. other:sub(from, from + rand(0, 64)) .. s:sub(at + rand(0, 64))
        elseif op == 6 then -- duplicate a chunk
          s = s:sub(1, at + rand(0, 32)) .. s:sub(at)
        else -- delete a chunk
          s = s:sub(1, at - 1) .. s:sub(at + rand(1, 32))
        end
      end
      return s
    end

    -- Reads every tensor of a loaded value (bounded walk; values may be cyclic).
    local function touch(v, seen)
      if torch.is_tensor(v) then
        if v:numel() <= 1e5 then
          local c = v:contiguous()
          local p = ffi.cast('const uint8_t *', c:data_ptr())
          local sum = 0
          for i = 0, c:numel() * c:element_size() - 1 do sum = sum + p[i] end
          return sum
        end
        return 0
      end
      if type(v) ~= 'table' or seen[v] then return 0 end
      seen[v] = true
      local sum = 0
      for k, x in pairs(v) do sum = sum + touch(k, seen) + touch(x, seen) end
      return sum
    end

    -- FUZZ_ITERATIONS, FUZZ_SEED change the run; FUZZ_STATS=1 prints how many mutants loaded and how many failed.
    local ITERATIONS = tonumber(os.getenv('FUZZ_ITERATIONS') or '') or 20000
    for _, seed in ipairs(seeds) do
      it(string.format('survives %d mutations of %s', ITERATIONS, seed.name), function()
        math.randomseed(tonumber(os.getenv('FUZZ_SEED') or '') or 20240601)
        local rand = math.random
        assert.is_table((torch.deserialize(seed.bytes)))
        local accepted, refused = 0, 0
        local function check(iteration, bytes, ok, v, prefix)
          if ok or (type(v) == 'string' and v:find(prefix, 1, true)) then return end
          H.write(H.path('fuzz-failure.bin'), bytes)
          error(string.format('iteration %d of %s: unclear error %s (input saved in %s)', iteration, seed.name,
                              tostring(v), H.path('fuzz-failure.bin')), 2)
        end
        for iteration = 1, ITERATIONS do
          local bytes = mutate(seed.bytes, rand)
          for _, opts in ipairs({ {}, { format = formats[seed.name] } }) do
            local ok, v = pcall(torch.deserialize, bytes, opts)
            check(iteration, bytes, ok, v, 'deserialize: ')
            if ok then
              touch(v, {})
              accepted = accepted + 1
              -- whatever loads can be saved again (or is refused with a message)
              local saved, again = pcall(torch.serialize, v)
              check(iteration, bytes, saved, again, 'serialize: ')
              if saved then check(iteration, bytes, pcall(torch.deserialize, again)) end
            else
              refused = refused + 1
            end
          end
        end
        if os.getenv('FUZZ_STATS') then print(seed.name, accepted, refused) end
        assert.are.equal(2 * ITERATIONS, accepted + refused)
        assert.is_true(refused > 0)
      end)
    end
  end)
end)
