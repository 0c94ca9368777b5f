-- torch.load of PyTorch files: written at test time by PyTorch's own torch.save (a CNN's state dict, every
-- dtype, non-contiguous views, shared storages, nested containers, pickle protocol 4, big-endian archives)
-- and compared value by value; files that would run code are refused without running it.
local torch = require 'tensor'
local ref = require 'helpers.torchref'
local H = require 'helpers.serialization'

local function p(name) return H.path(name) end

-- Every file is written by one Python run; `expected` holds what PyTorch says about them.
local expected
local function setup()
  if expected then return expected end
  expected = ref.run(H.dedent(string.format([=[
    import os, io, zipfile, collections
    d = %q
    torch.manual_seed(0)
    # 1. a small CNN, trained one step so BatchNorm's buffers are not at their defaults
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                              torch.nn.Conv2d(4, 8, 3, stride=2), torch.nn.Flatten(), torch.nn.Linear(8 * 2 * 2, 10))
    net(torch.randn(5, 1, 8, 8)).sum().backward()
    sd = net.state_dict()
    torch.save(sd, os.path.join(d, 'cnn.pt'))
    # 2. every dtype
    dt = {'float32': torch.tensor([1.5, -2.25, 3e38, -0.0]), 'float64': torch.tensor([1e-300, -1.0 / 3], dtype=torch.float64),
          'float16': torch.tensor([65504, -0.5, 6e-8], dtype=torch.float16),
          'bfloat16': torch.tensor([3.0e38, -1.5, 0.1], dtype=torch.bfloat16),
          'int64': torch.tensor([-2**63, 2**62 + 1, 7]), 'int32': torch.tensor([-2**31, 2**31 - 1], dtype=torch.int32),
          'int16': torch.tensor([-32768, 32767], dtype=torch.int16), 'int8': torch.tensor([-128, 5], dtype=torch.int8),
          'uint8': torch.tensor([0, 200, 255], dtype=torch.uint8), 'bool': torch.tensor([[True, False], [False, True]])}
    torch.save(dt, os.path.join(d, 'dtypes.pt'))
    torch.save(dt, os.path.join(d, 'dtypes4.pt'), pickle_protocol=4)
    # 3. views of one storage, and one tensor that is separate
    base = torch.arange(24.).reshape(4, 6)
    views = {'base': base, 't': base.t(), 'row': base[2], 'col': base[:, 3], 'step': base[:, ::2],
             'narrow': base[1:3, 2:5], 'expand': base[0:1].expand(3, 6), 'other': torch.ones(2)}
    torch.save(views, os.path.join(d, 'views.pt'))
    # 4. containers and numbers
    param = torch.nn.Parameter(torch.randn(3))
    nested = {'epoch': 5, 'lr': 0.1, 'name': 'run', 'flags': [True, False, None, 4], 'pair': (1, 2.5),
              'opt': {'state': {0: {'step': 3, 'exp_avg': torch.zeros(2)}}, 'param_groups': [{'lr': 0.01, 'params': [0, 1]}]},
              'big': 2**62, 'neg': -2**40, 'param': param, 'raw': b'\x00\x01', 'od': collections.OrderedDict([('b', 1), ('a', 2)])}
    torch.save(nested, os.path.join(d, 'nested.pt'))
    # 5. a big-endian archive: the same storages byte-swapped, byteorder 'big'
    src = zipfile.ZipFile(os.path.join(d, 'dtypes.pt'))
    prefix = src.namelist()[0].split('/')[0]
    sizes = [t.element_size() for t in dt.values()]
    with zipfile.ZipFile(os.path.join(d, 'big.pt'), 'w', zipfile.ZIP_STORED) as z:
        for name in src.namelist():
            data = src.read(name)
            if name.startswith(prefix + '/data/'):
                size = sizes[int(name.split('/')[-1])]
                if size > 1: data = np.frombuffer(data, dtype='u%%d' %% size).byteswap().tobytes()
            z.writestr(name, data)
        z.writestr(prefix + '/byteorder', 'big')
    # 6. what must be refused
    class Evil:
        def __reduce__(self): return (os.system, ('touch ' + os.path.join(d, 'PWNED'),))
    torch.save({'x': torch.ones(1), 'evil': Evil()}, os.path.join(d, 'evil.pt'))
    torch.save(net, os.path.join(d, 'model.pt'))
    torch.jit.save(torch.jit.script(net), os.path.join(d, 'script.pt'))
    torch.save(torch.ones(2), os.path.join(d, 'legacy.pt'), _use_new_zipfile_serialization=False)
    with zipfile.ZipFile(os.path.join(d, 'deflated.pt'), 'w', zipfile.ZIP_DEFLATED) as z:
        for name in src.namelist(): z.writestr(name, src.read(name))
    def info(t):
        return {'value': t, 'stride': list(t.stride()), 'offset': t.storage_offset(),
                'storage': t.storage().data_ptr()}
    out = {'cnn': {k: info(v) for k, v in sd.items()}, 'dtypes': dt, 'views': {k: info(v) for k, v in views.items()},
           'param': param.detach(), 'exp_avg': nested['opt']['state'][0]['exp_avg']}
  ]=], H.tmpdir())))
  return expected
end

local function check_tensor(got, want, name)
  assert.is_true(torch.is_tensor(got), name .. ' is a tensor')
  local ok, msg = ref.compare(got, want)
  assert.is_true(ok, name .. ': ' .. tostring(msg))
end

describe('torch.load of PyTorch files', function()
  teardown(H.cleanup)

  it("loads a CNN's state dict with PyTorch's names, values, strides and offsets", function()
    local e = setup()
    local sd = torch.load(p('cnn.pt'))
    local count = 0
    for name, want in pairs(e.cnn) do
      count = count + 1
      check_tensor(sd[name], want.value, name)
      assert.are.same(want.stride, sd[name]:stride(), name)
      assert.are.equal(want.offset, sd[name]:storage_offset(), name)
    end
    assert.are.equal(11, count) -- two convolutions and the linear layer (weight, bias), the batch norm (5)
    for name in pairs(sd) do assert.is_not_nil(e.cnn[name], name) end
    assert.are.same({}, sd['1.num_batches_tracked']:shape()) -- a 0-d int64 tensor
    assert.are.equal(1, sd['1.num_batches_tracked']:item())
  end)

  it('loads every dtype, with pickle protocol 2 and 4', function()
    local e = setup()
    for _, file in ipairs({ 'dtypes.pt', 'dtypes4.pt' }) do
      local t = torch.load(p(file))
      local count = 0
      for name, want in pairs(e.dtypes) do
        count = count + 1
        check_tensor(t[name], want, file .. ' ' .. name)
      end
      assert.are.equal(10, count)
    end
  end)

  it('keeps non-contiguous views as views, sharing one storage', function()
    local e = setup()
    local v = torch.load(p('views.pt'))
    for name, want in pairs(e.views) do
      check_tensor(v[name], want.value, name)
      assert.are.same(want.stride, v[name]:stride(), name)
      assert.are.equal(want.offset, v[name]:storage_offset(), name)
      assert.are.equal(want.storage == e.views.base.storage, v[name]:shares_storage(v.base), name)
    end
    assert.are.same({ 0, 1 }, v.expand:stride())
    v.base:fill_(-1) -- one storage: writing the base shows through every view
    assert.are.equal(-1, v.narrow[{ 2, 3 }])
    assert.are.equal(-1, v.t[{ 6, 4 }])
    assert.are.equal(1, v.other[1])
  end)

  it('loads containers and numbers as data, leaving 0-based values and keys alone', function()
    local e = setup()
    local n = torch.load(p('nested.pt'))
    assert.are.equal(5, n.epoch)
    assert.are.equal(0.1, n.lr)
    assert.are.equal('run', n.name)
    assert.are.equal(true, n.flags[1])
    assert.are.equal(false, n.flags[2])
    assert.is_nil(n.flags[3]) -- None
    assert.are.equal(4, n.flags[4])
    assert.are.same({ 1, 2.5 }, n.pair)
    assert.are.equal(3, n.opt.state[0].step) -- dict key 0 stays 0
    check_tensor(n.opt.state[0].exp_avg, e.exp_avg, 'exp_avg')
    assert.are.same({ 0, 1 }, n.opt.param_groups[1].params) -- list positions shift (1-based), values do not
    assert.are.equal(0.01, n.opt.param_groups[1].lr)
    assert.are.equal(2 ^ 62, n.big)
    assert.are.equal(-2 ^ 40, n.neg)
    assert.are.equal('\0\1', n.raw)
    assert.are.same({ a = 2, b = 1 }, n.od)
    check_tensor(n.param, e.param, 'param')
    assert.is_true(n.param.requires_grad) -- an nn.Parameter
    assert.is_falsy(n.opt.state[0].exp_avg.requires_grad)
  end)

  it('byte-swaps the storages of big-endian archives', function()
    local e = setup()
    local t = torch.load(p('big.pt'))
    for name, want in pairs(e.dtypes) do check_tensor(t[name], want, 'big-endian ' .. name) end
  end)

  it('can share the archive memory ({mmap=true}; PyTorch aligns storages) and map tensors to a device', function()
    local e = setup()
    local t = torch.load(p('dtypes.pt'), { mmap = true })
    assert.are.equal(1, t.float64._c.storage.foreign)
    for name, want in pairs(e.dtypes) do check_tensor(t[name], want, 'mmap ' .. name) end
    local c = torch.load(p('views.pt'), { map_location = 'cpu' })
    assert.are.equal('cpu', c.base:device())
    assert.is_true(c.t:shares_storage(c.base))
  end)

  describe('refuses', function()
    it('a pickle that calls a function, without calling it', function()
      setup()
      local ok, err = pcall(torch.load, p('evil.pt'))
      assert.is_false(ok)
      assert.matches("refusing to load global 'posix.system'", err)
      assert.matches('evil.pt', err)
      assert.is_nil(io.open(p('PWNED')))
    end)

    it('a whole pickled model, naming its class', function()
      setup()
      local ok, err = pcall(torch.load, p('model.pt'))
      assert.is_false(ok)
      assert.matches("refusing to load global 'torch.nn.modules.container.Sequential'", err)
      assert.matches('state_dict', err)
    end)

    it('TorchScript archives, legacy files and compressed entries, saying why', function()
      setup()
      local cases = { { 'script.pt', 'TorchScript archive' }, { 'legacy.pt', 'PyTorch before 1.6' },
                      { 'deflated.pt', 'is compressed' } }
      for _, case in ipairs(cases) do
        local ok, err = pcall(torch.load, p(case[1]))
        assert.is_false(ok)
        assert.matches(case[2], err)
        assert.matches(case[1], err, 1, true)
      end
    end)
  end)
end)
