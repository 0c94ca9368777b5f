-- The nn.Module protocol (subclassing, registration, traversal, state dicts with PyTorch's names and order,
-- strict loading, modes, dtype conversion, apply, zero_grad, clone, hooks, printing), the containers,
-- nn.init and nn.utils — against PyTorch where PyTorch defines the answer.
local torch = require 'tensor'
local nn = require 'tensor.nn'
local ref = require 'helpers.torchref'
local nnref = require 'helpers.nnref'

torch.manual_seed(99)

local randn = torch.randn

local fails = require('helpers.failure').containing

-- A nested model with every kind of member, defined the same way here and in Python.
local Net = nn.Module:extend('Net')
function Net:init(hidden)
  self.conv = nn.Conv2d(1, 4, 3, { padding = 1 })
  self.bn = nn.BatchNorm2d(4)
  self.scale = nn.Parameter(torch.ones(1))
  self.head = nn.Sequential(nn.Flatten(), nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 3))
  self.blocks = nn.ModuleList({ nn.Linear(3, 3), nn.Linear(3, 3) })
  self.extra = nn.ModuleDict({ b = nn.Linear(3, 2), a = nn.LayerNorm(3) })
  self:register_buffer('steps', torch.zeros(1))
  self:register_buffer('scratch', torch.zeros(2), false)
  self.name = 'net' -- a plain field
end
function Net:forward(x)
  local y = self.head(self.bn(self.conv(x)) * self.scale)
  for _, b in self.blocks:ipairs() do y = b(y):tanh() end
  return self.extra.b(self.extra.a(y))
end

local PY_NET = [[
import torch.nn as nn
class Net(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.scale = nn.Parameter(torch.ones(1))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 3))
        self.blocks = nn.ModuleList([nn.Linear(3, 3), nn.Linear(3, 3)])
        self.extra = nn.ModuleDict({'a': nn.LayerNorm(3), 'b': nn.Linear(3, 2)})
        self.register_buffer('steps', torch.zeros(1))
        self.register_buffer('scratch', torch.zeros(2), persistent=False)
    def forward(self, x):
        y = self.head(self.bn(self.conv(x)) * self.scale)
        for b in self.blocks: y = torch.tanh(b(y))
        return self.extra['b'](self.extra['a'](y))
]]

-- Every PyTorch reference of this file, run in one Python process with the module cases below.
local sd_input = randn(2, 1, 4, 4)
local clip_grads = { randn(3, 4):double(), randn(5):double() * 3, randn(2, 2, 2):double() }
local CLIP_CASES = { { 1.0, 2 }, { 0.5, 1 }, { 2.0, math.huge }, { 1.5, 3 }, { 1000, 2 }, { 5, 0 }, { 0.05, -math.huge } }
local EXTRA = {
  { code = PY_NET .. [[
m = Net(8)
out = {
  'state': list(m.state_dict().keys()),
  'params': [n for n, _ in m.named_parameters()],
  'buffers': [n for n, _ in m.named_buffers()],
  'modules': [n for n, _ in m.named_modules()],
  'children': [n for n, _ in m.named_children()],
  'types': [type(x).__name__ for x in m.modules()],
}
]] },
  { code = PY_NET .. [[
torch.manual_seed(3)
m = Net(6)
m.eval()
m.bn.running_mean.uniform_(-1, 1)
out = {'sd': {k: v for k, v in m.state_dict().items()}, 'y': m(x)}
]], inputs = { x = sd_input } },
  { code = PY_NET .. [[
m = nn.Sequential(
  nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
  nn.Conv2d(8, 8, 3, groups=2, bias=False, dilation=2), nn.ConvTranspose2d(8, 4, 2, stride=2),
  nn.Conv1d(4, 4, 3), nn.AvgPool2d(2), nn.AdaptiveAvgPool2d((2, 3)), nn.Dropout(0.25), nn.Linear(4, 3),
  nn.Linear(3, 2, bias=False), nn.LayerNorm(2), nn.GroupNorm(2, 4), nn.BatchNorm1d(4, momentum=None),
  nn.LeakyReLU(0.2), nn.ELU(), nn.GELU(), nn.SiLU(), nn.Sigmoid(), nn.Tanh(), nn.Identity(), nn.ReLU(inplace=True),
  nn.Hardtanh(), nn.Softplus(), nn.PReLU(), nn.Dropout2d(), nn.Bilinear(2, 3, 4),
  nn.LSTM(3, 4, num_layers=2, bidirectional=True), nn.GRU(2, 3, batch_first=True),
  nn.MaxPool1d(3, 2), nn.AvgPool1d(2), Net(4))
out = repr(m)
]] },
  { code = [==[
import torch.nn as nn
g = nn.init.calculate_gain
out = {
  'gains': [g('linear'), g('conv2d'), g('sigmoid'), g('tanh'), g('relu'), g('leaky_relu'), g('leaky_relu', 0.2),
            g('selu'), g('conv_transpose2d')],
  'fans': [list(nn.init._calculate_fan_in_and_fan_out(torch.empty(*s))) for s in [(3, 4), (5, 2, 3, 3), (2, 7, 4), (4, 0)]],
}
]==] },
  { code = [[
out = []
for max_norm, norm_type in [(1.0, 2.0), (0.5, 1.0), (2.0, float('inf')), (1.5, 3.0), (1000.0, 2.0), (5.0, 0.0),
                            (0.05, float('-inf'))]:
    ps = [torch.nn.Parameter(torch.zeros_like(g)) for g in (g1, g2, g3)]
    for p, g in zip(ps, (g1, g2, g3)): p.grad = g.clone()
    total = torch.nn.utils.clip_grad_norm_(ps, max_norm, norm_type)
    out.append({'total': float(total), 'grads': [p.grad for p in ps]})
]], inputs = { g1 = clip_grads[1], g2 = clip_grads[2], g3 = clip_grads[3] } },
}
local NAMES, STATE_DICT, REPR, GAINS, CLIP = 1, 2, 3, 4, 5
local expected -- results of EXTRA, set by the first describe

local function names(iter_or_list)
  local out = {}
  if type(iter_or_list) == 'function' then
    for name in iter_or_list do out[#out + 1] = name end
  else
    for _, e in ipairs(iter_or_list) do out[#out + 1] = e[1] end
  end
  return out
end

describe('a nested module matches PyTorch', function()
  local cases = nnref.new()
  cases:add { name = 'forward, gradients and state dict of a custom module (Sequential, ModuleList, ModuleDict inside)',
              build = function() return Net(8) end, py_setup = PY_NET, py = 'Net(8)', inputs = { randn(2, 1, 4, 4) } }
  cases:add { name = 'the same in evaluation mode', train = false,
              build = function()
                local m = Net(5)
                torch.no_grad(function() m(randn(4, 1, 4, 4)) end) -- running statistics away from the defaults
                return m
              end, py_setup = PY_NET, py = 'Net(5)', inputs = { randn(3, 1, 4, 4) } }
  expected = cases:run(EXTRA)

  it('names parameters, buffers, children and modules as PyTorch does, in its order', function()
    local py = expected[NAMES]
    local m = Net(8)
    assert.are.same(py.state, names(m:state_dict_keys()))
    assert.are.same(py.params, names(m:named_parameters()))
    assert.are.same(py.buffers, names(m:named_buffers()))
    assert.are.same(py.modules, names(m:named_modules()))
    assert.are.same(py.children, names(m:named_children()))
    local types = {}
    for i, sub in ipairs(m:modules()) do types[i] = sub:typename() end
    assert.are.same(py.types, types)
    assert.are.equal(#py.params, #m:parameters())
    assert.are.equal(#py.children, #m:children())
    -- the non-persistent buffer is a buffer but not in the state dict
    assert.is_nil(m:state_dict().scratch)
    assert.is_not_nil(m.scratch)
  end)
  it('loads a state dict made by PyTorch and then computes what PyTorch computes', function()
    local x, r = sd_input, expected[STATE_DICT]
    local sd = {}
    for k, v in pairs(r.sd) do
      sd[k] = torch.tensor(v.values, { dtype = v.dtype }):view(#v.shape > 0 and v.shape or {})
    end
    local m = Net(6)
    m:load_state_dict(sd)
    m:eval()
    local ok, msg = ref.compare(m(x), r.y, nnref.tol('float32'))
    assert(ok, msg)
    assert.are.equal(r.sd['bn.num_batches_tracked'].values[1], m.bn.num_batches_tracked:item())
  end)
end)

describe('nn.Module', function()
  it('subclasses register fields in order and keep plain fields apart', function()
    local M = nn.Module:extend('Thing')
    function M:init()
      self.b = nn.Linear(2, 2)
      self.a = nn.Parameter(torch.zeros(3))
      self.count = 3
      self.c = nn.ReLU()
    end
    local m = M()
    assert.are.same({ 'a', 'b.weight', 'b.bias' }, names(m:named_parameters()))
    assert.are.same({ 'b', 'c' }, names(m:named_children()))
    assert.are.equal(3, m.count)
    assert.are.equal('Thing', m:typename())
    -- reassigning keeps the position; assigning nil removes
    m.b = nn.Linear(2, 4)
    assert.are.same({ 'b', 'c' }, names(m:named_children()))
    assert.are.same({ 4, 2 }, m.b.weight:shape())
    m.c = nil
    assert.are.same({ 'b' }, names(m:named_children()))
    -- a plain tensor cannot replace a parameter
    fails(function() m.a = torch.zeros(3) end, 'Thing', 'nn.Parameter')
    -- subclasses of subclasses inherit methods
    local Sub = M:extend('SubThing')
    function Sub:forward(x) return self.b(x) end
    local s = Sub()
    assert.are.same({ 5, 2 }, s(randn(5, 2)):shape())
    assert.are.equal('Thing', nn.Module:extend('Thing')():typename())
    -- methods resolve through the whole chain of classes, at call time: one defined on a class after its
    -- instances were made is found, and the nearest class's definition wins
    local Leaf = Sub:extend('Leaf')
    local l = Leaf()
    assert.is_nil(l.scale)
    function M:scale() return 2 end
    assert.are.equal(2, l:scale())
    function Sub:scale() return 3 end
    assert.are.equal(3, l:scale())
    assert.are.equal(2, m:scale())
    function Leaf:scale() return 4 end
    assert.are.equal(4, l:scale())
    assert.are.equal(3, s:scale())
    assert.are.same({ 5, 2 }, l(randn(5, 2)):shape())
    fails(function() nn.Module()(randn(2)) end, 'forward is not implemented')
  end)
  it('register_parameter/register_buffer/add_module, and errors for bad values', function()
    local m = nn.Module()
    m:register_parameter('w', torch.ones(2))
    assert.is_true(m.w.requires_grad)
    m:register_buffer('b', torch.zeros(2))
    m:add_module('sub', nn.Linear(1, 1))
    assert.are.same({ 'w', 'b', 'sub.weight', 'sub.bias' }, names(m:state_dict_keys()))
    fails(function() m:register_buffer('x', 3) end, 'register_buffer')
    fails(function() m:add_module('y', 3) end, 'add_module')
  end)

  describe('load_state_dict', function()
    local function fresh() return nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2)) end
    it('strict: names the missing and unexpected keys', function()
      local m = fresh()
      local sd = fresh():state_dict()
      sd['0.bias'] = nil
      sd['1.running_var'] = nil
      sd['2.weight'] = torch.zeros(2)
      local msg = fails(function() m:load_state_dict(sd) end, 'missing keys', '0.bias', '1.running_var',
                        'unexpected keys', '2.weight')
      assert.is_truthy(msg:find('Sequential', 1, true))
    end)
    it('names the key and both shapes on a size mismatch, even with strict=false', function()
      local m = fresh()
      local sd = m:state_dict()
      sd['0.weight'] = torch.zeros(2, 4)
      fails(function() m:load_state_dict(sd) end, '0.weight', '[2 x 4]', '[2 x 3]')
      fails(function() m:load_state_dict(sd, { strict = false }) end, '0.weight', '[2 x 4]', '[2 x 3]')
      sd['0.weight'] = 'text'
      fails(function() m:load_state_dict(sd) end, '0.weight', 'not a tensor')
      fails(function() m:load_state_dict(3) end, 'load_state_dict')
    end)
    it('strict=false loads what matches and returns the missing and unexpected keys', function()
      local src, dst = fresh(), fresh()
      local sd = src:state_dict()
      sd['1.weight'] = nil
      sd['extra.thing'] = torch.ones(1)
      local before = dst[2].weight:clone()
      local missing, unexpected = dst:load_state_dict(sd, { strict = false })
      assert.are.same({ '1.weight' }, missing)
      assert.are.same({ 'extra.thing' }, unexpected)
      assert.are.same(src[1].weight:tolist(), dst[1].weight:tolist())
      assert.are.same(before:tolist(), dst[2].weight:tolist())
    end)
    it('copies values (the module keeps its own tensors) and converts dtypes', function()
      local m = fresh()
      local w = m[1].weight
      local sd = fresh():state_dict()
      sd['0.weight'] = sd['0.weight']:double()
      m:load_state_dict(sd)
      assert.are.equal(w, m[1].weight)
      assert.are.equal('float32', m[1].weight:dtype())
      assert.is_true(m[1].weight.requires_grad)
      -- state_dict values are detached
      assert.is_false(m:state_dict()['0.weight'].requires_grad)
    end)
  end)

  it('train/eval propagate to every submodule and change dropout and batch norm', function()
    local m = Net(4)
    m:eval()
    for _, sub in ipairs(m:modules()) do assert.is_false(sub.training) end
    m:train()
    for _, sub in ipairs(m:modules()) do assert.is_true(sub.training) end
    m.head:train(false)
    assert.is_false(m.head[2].training)
    assert.is_true(m.conv.training)
    local d = nn.Sequential(nn.Dropout(0.9))
    local x = torch.ones(1000)
    d:eval()
    assert.are.same(x:tolist(), d(x):tolist())
    d:train()
    assert.is_true(d(x):eq(0):sum() > 0)
  end)

  it("to('float64') converts floating parameters, gradients and buffers in place, keeping parameter objects", function()
    local m = Net(4)
    local p = m.conv.weight
    m(randn(2, 1, 4, 4)):sum():backward()
    m:to('float64')
    assert.are.equal(p, m.conv.weight)
    for name, t in m:named_parameters() do
      assert.are.equal('float64', t:dtype(), name)
      assert.is_true(t.requires_grad, name)
      assert.are.equal('float64', t.grad:dtype(), name .. '.grad')
    end
    assert.are.equal('float64', m.bn.running_mean:dtype())
    assert.are.equal('int64', m.bn.num_batches_tracked:dtype())
    assert.are.equal('float64', m(randn(2, 1, 4, 4):double()):dtype())
    m:float()
    assert.are.equal('float32', m.head[2].weight:dtype())
    m:to({ dtype = 'float64' })
    assert.are.equal('float64', m.extra.b.bias:dtype())
  end)

  it('apply visits children before their parent, every module once', function()
    local m = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU(), nn.Linear(2, 1)))
    local order = {}
    local r = m:apply(function(sub) order[#order + 1] = sub:typename() end)
    assert.are.equal(m, r)
    assert.are.same({ 'Linear', 'ReLU', 'Linear', 'Sequential', 'Sequential' }, order)
    m:apply(function(sub) if sub:typename() == 'Linear' then nn.init.constant_(sub.weight, 0.5) end end)
    assert.are.equal(0.5, m[2][2].weight:detach():max())
  end)

  it('zero_grad sets gradients to nil, or to zeros with set_to_none=false', function()
    local m = nn.Linear(3, 2)
    m(randn(4, 3)):sum():backward()
    m:zero_grad({ set_to_none = false })
    assert.are.equal(0, m.weight.grad:abs():sum())
    assert.are.same({ 2, 3 }, m.weight.grad:shape())
    m(randn(4, 3)):sum():backward()
    m:zero_grad()
    assert.is_nil(m.weight.grad)
    assert.is_nil(m.bias.grad)
  end)

  it('clone makes an independent deep copy that computes the same', function()
    local m = Net(4)
    m:eval()
    local c = m:clone()
    local x = randn(2, 1, 4, 4)
    assert.are.same(m(x):tolist(), c(x):tolist())
    assert.are_not.equal(m.conv.weight, c.conv.weight)
    assert.is_true(c.conv.weight.requires_grad)
    assert.are.same(names(m:state_dict_keys()), names(c:state_dict_keys()))
    torch.no_grad(function() c.conv.weight:add_(1) end)
    assert.are_not.same(m(x):tolist(), c(x):tolist())
    assert.are.equal('Net', c:typename())
  end)

  it('forward hooks see the inputs and output and may replace it; pre-hooks run first; handles remove them', function()
    local m = nn.Linear(2, 2)
    local seen = {}
    local pre = m:register_forward_pre_hook(function(mod, x) seen[#seen + 1] = 'pre' end)
    local post = m:register_forward_hook(function(mod, inputs, out)
      seen[#seen + 1] = 'post'
      assert.are.equal(m, mod)
      assert.are.same({ 3, 2 }, inputs[1]:shape())
      return out * 0
    end)
    local y = m(randn(3, 2))
    assert.are.same({ 'pre', 'post' }, seen)
    assert.are.equal(0, y:abs():sum():item())
    post.remove()
    pre.remove()
    assert.is_true(m(randn(3, 2)):abs():sum():item() > 0)
    assert.are.equal(2, #seen)
  end)
end)

describe('printing', function()
  it("matches PyTorch's repr for layers whose format is PyTorch's", function()
    local lua_model = nn.Sequential(
      nn.Conv2d(3, 8, 3, { stride = 2, padding = 1 }), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
      nn.Conv2d(8, 8, 3, { groups = 2, bias = false, dilation = 2 }), nn.ConvTranspose2d(8, 4, 2, { stride = 2 }),
      nn.Conv1d(4, 4, 3), nn.AvgPool2d(2), nn.AdaptiveAvgPool2d({ 2, 3 }), nn.Dropout(0.25), nn.Linear(4, 3),
      nn.Linear(3, 2, false), nn.LayerNorm(2), nn.GroupNorm(2, 4), nn.BatchNorm1d(4, { momentum = false }),
      nn.LeakyReLU(0.2), nn.ELU(), nn.GELU(), nn.SiLU(), nn.Sigmoid(), nn.Tanh(), nn.Identity(), nn.ReLU(true),
      nn.Hardtanh(), nn.Softplus(), nn.PReLU(), nn.Dropout2d(), nn.Bilinear(2, 3, 4),
      nn.LSTM(3, 4, { num_layers = 2, bidirectional = true }), nn.GRU(2, 3, { batch_first = true }),
      nn.MaxPool1d(3, 2), nn.AvgPool1d(2), Net(4))
    local r = expected[REPR]
    -- Flatten's dims are 1-based here (its default start_dim=2 is PyTorch's start_dim=1)
    local ours = tostring(lua_model):gsub('Flatten%(start_dim=2,', 'Flatten(start_dim=1,')
    if ours ~= r then
      local a, b = {}, {}
      for line in (ours .. '\n'):gmatch('(.-)\n') do a[#a + 1] = line end
      for line in (r .. '\n'):gmatch('(.-)\n') do b[#b + 1] = line end
      for i = 1, math.max(#a, #b) do
        assert.are.equal(b[i], a[i], 'line ' .. i)
      end
    end
  end)
  it('documents where the numbering differs: dims and indices are 1-based', function()
    assert.are.equal('Softmax(dim=2)', tostring(nn.Softmax(2)))
    assert.are.equal('Flatten(start_dim=2, end_dim=-1)', tostring(nn.Flatten()))
    assert.are.equal('Embedding(10, 3, padding_idx=1)', tostring(nn.Embedding(10, 3, { padding_idx = 1 })))
  end)
end)

-- Runs body(handovers) with graph.internal watched: handovers() returns the tensors nn.Sequential has marked
-- internal since its last call (or since body began). graph.internal is restored afterwards.
local graph = require 'tensor.autograd.graph'
local function watching_handovers(body)
  local internal, list = graph.internal, {}
  graph.internal = function(t) list[#list + 1] = t return internal(t) end
  local ok, err = pcall(body, function()
    local taken = list
    list = {}
    return taken
  end)
  graph.internal = internal
  assert(ok, err)
end
local function freed(t) return rawget(t, '_c') == nil end

describe('containers', function()
  it('Sequential: seq[i], seq[-1], #seq, ipairs, add, get, size; names 0, 1, ...', function()
    local a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    local seq = nn.Sequential(a, b)
    assert.are.equal(a, seq[1])
    assert.are.equal(b, seq[2])
    assert.are.equal(b, seq[-1])
    assert.is_nil(seq[3])
    assert.are.equal(2, #seq)
    seq:add(c)
    assert.are.equal(3, #seq)
    assert.are.equal(3, seq:size())
    assert.are.equal(c, seq:get(3))
    local listed = {}
    for i, m in ipairs(seq) do listed[i] = m end
    assert.are.same({ a, b, c }, listed)
    assert.are.same({ '0', '1', '2' }, names(seq:named_children()))
    local x = randn(4, 2)
    local ok, msg = ref.compare(seq(x), { dtype = 'float32', shape = { 4, 1 }, values = c(b(a(x))):view(-1):tolist() },
                                { atol = 1e-6 })
    assert(ok, msg)
    fails(function() seq:add(3) end, 'Sequential', 'not a module')
  end)
  it('Sequential never frees its own input, even when a first layer hands it on unchanged', function()
    for _, first in ipairs({ nn.Identity(), nn.Dropout(0.1) }) do
      local seq = nn.Sequential(first, nn.Linear(3, 2), nn.ReLU())
      seq:eval()
      local x = randn(4, 3)
      torch.no_grad(function() return seq(x) end)
      assert.is_false(freed(x))
      local y = randn(4, 3):requires_grad_()
      seq(y):sum():backward()
      assert.is_false(freed(y))
      assert.are.same({ 4, 3 }, y.grad:size():totable())
    end
  end)
  it('Sequential frees what one library layer hands the next once backward is done with it, and nothing else',
     function()
    watching_handovers(function(handovers)
      local l1, l2, l3 = nn.Linear(5, 8), nn.Linear(8, 8), nn.Linear(8, 3)
      local model = nn.Sequential(l1, nn.ReLU(), l2, nn.Tanh(), l3)
      local x = randn(4, 5)
      -- the same layers called one by one (nothing is internal there) give the reference gradients
      local out_ref = l3(l2(l1(x):relu()):tanh())
      out_ref:pow(2):sum():backward()
      local ref_grads = {}
      for i, p in ipairs(model:parameters()) do ref_grads[i] = p.grad:clone() end
      model:zero_grad()

      local out = model(x)
      local seen = handovers()
      assert.are.equal(4, #seen) -- Linear -> ReLU -> Linear -> Tanh -> Linear: four hand-overs
      -- the Linear outputs went to ReLU and Tanh, whose formulas save their outputs instead: freed at once; the
      -- activations are saved by their own nodes and the next Linear's, and backward still needs them
      assert.is_true(freed(seen[1]))
      assert.is_false(freed(seen[2]))
      assert.is_true(freed(seen[3]))
      assert.is_false(freed(seen[4]))
      out:pow(2):sum():backward()
      for _, t in ipairs(seen) do assert.is_true(freed(t)) end
      assert.is_false(freed(out))
      assert.is_false(freed(x))
      for i, p in ipairs(model:parameters()) do assert.is_true((p.grad - ref_grads[i]):abs():max() == 0) end

      -- retain_graph keeps them for the second pass, which then frees them
      model:zero_grad()
      local loss = model(x):pow(2):sum()
      seen = handovers()
      loss:backward({ retain_graph = true })
      assert.is_false(freed(seen[2]) or freed(seen[4]))
      loss:backward()
      for _, t in ipairs(seen) do assert.is_true(freed(t)) end
      for i, p in ipairs(model:parameters()) do assert.is_true((p.grad - ref_grads[i] * 2):abs():max() < 1e-5) end

      -- without grad nothing saves them: each is freed as soon as the next layer is done with it
      torch.no_grad(function() model(x) end)
      seen = handovers()
      for _, t in ipairs(seen) do assert.is_true(freed(t)) end

      -- a hook sees the tensor, a subclass may keep it, a trace holds every value: then it stays
      local kept
      local h = model[2]:register_forward_hook(function(_, _, output) kept = output end)
      model(x):sum():backward()
      assert.is_false(freed(kept))
      h:remove()
      -- a hook that removes itself while it runs has seen the tensor all the same
      local once_seen, handle
      handle = model[2]:register_forward_hook(function(_, _, output) once_seen = output handle:remove() end)
      model(x):sum():backward()
      assert.is_false(freed(once_seen))
      local Keep = nn.ReLU:extend('KeepingReLU')
      function Keep:forward(input) self.last = input return input:relu() end
      local keeping = Keep()
      local with_keep = nn.Sequential(l1, keeping, l2)
      with_keep(x):sum():backward()
      assert.is_false(freed(keeping.last))
      assert.is_true((keeping.last - l1(x)):detach():abs():max() == 0)
      handovers()
      graph.keep_intermediates(true)
      local traced = pcall(function() model(x):sum():backward() end)
      graph.keep_intermediates(false)
      assert.is_true(traced)
      seen = handovers()
      assert.are.equal(4, #seen)
      for _, t in ipairs(seen) do assert.is_false(freed(t)) end
    end)
  end)

  it('Sequential frees what normalisation layers hand on too, with the gradients of the layers called one by one',
     function()
    watching_handovers(function(handovers)
      local layers = { nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 8), nn.LayerNorm(8),
                       nn.GroupNorm(2, 8), nn.Linear(8, 2) }
      local model = nn.Sequential(unpack(layers))
      local x = randn(5, 6)
      local function grads()
        local list = {}
        for i, p in ipairs(model:parameters()) do list[i] = p.grad:clone() end
        model:zero_grad()
        return list
      end
      local h = x
      for _, layer in ipairs(layers) do h = layer(h) end
      h:pow(2):sum():backward()
      local expected = grads()
      model(x):pow(2):sum():backward()
      local seen = handovers()
      assert.are.equal(#layers - 1, #seen)
      for _, t in ipairs(seen) do assert.is_true(freed(t)) end
      for i, g in ipairs(grads()) do assert.is_true((g - expected[i]):abs():max() == 0) end
    end)
  end)

  it('ModuleList: append, extend, indexing, ipairs, registered parameters, no forward', function()
    local l = nn.ModuleList({ nn.Linear(1, 1) })
    l:append(nn.Linear(1, 2)):extend({ nn.Linear(2, 2), nn.ReLU() })
    assert.are.equal(4, #l)
    assert.are.same({ 2, 1 }, l[2].weight:shape())
    assert.are.equal(l[4], l[-1])
    local n = 0
    for i, m in l:ipairs() do
      n = n + 1
      assert.are.equal(l[i], m)
    end
    assert.are.equal(4, n)
    assert.are.equal(6, #l:parameters())
    assert.are.same({ '0.weight', '0.bias', '1.weight', '1.bias', '2.weight', '2.bias' }, names(l:named_parameters()))
    fails(function() l(randn(1)) end, 'ModuleList')
    fails(function() l:append({}) end, 'not a module')
  end)
  it('ModuleDict: access by name, sorted registration, set, keys', function()
    local d = nn.ModuleDict({ z = nn.ReLU(), a = nn.Linear(1, 1) })
    assert.are.same({ 'a', 'z' }, d:keys())
    assert.are.equal(d.a, d:get('a'))
    d:set('m', nn.Tanh())
    assert.are.same({ 'a', 'z', 'm' }, d:keys())
    assert.are.same({ 'a.weight', 'a.bias' }, names(d:named_parameters()))
    fails(function() d(randn(1)) end, 'ModuleDict')
    fails(function() nn.ModuleDict({ x = 1 }) end, 'ModuleDict', 'x')
  end)
  it('Concat, ConcatTable and ParallelTable (Torch7)', function()
    local a, b = nn.Linear(3, 2), nn.Linear(3, 4)
    local x = randn(5, 3)
    local cat = nn.Concat(2):add(a):add(b)
    assert.are.same(torch.cat({ a(x), b(x) }, 2):tolist(), cat(x):tolist())
    local ct = nn.ConcatTable():add(a):add(b)
    local outs = ct(x)
    assert.are.equal(2, #outs)
    assert.are.same(b(x):tolist(), outs[2]:tolist())
    local pt = nn.ParallelTable():add(a):add(nn.Tanh())
    local y = randn(2, 2)
    local pouts = pt({ x, y })
    assert.are.same(a(x):tolist(), pouts[1]:tolist())
    assert.are.same(y:tanh():tolist(), pouts[2]:tolist())
    fails(function() pt({ x }) end, 'ParallelTable', '2 modules', '1 inputs')
    fails(function() pt(x) end, 'ParallelTable', 'list')
    -- gradients flow through every branch
    cat(x):sum():backward()
    assert.is_not_nil(a.weight.grad)
    assert.is_not_nil(b.weight.grad)
  end)
end)

describe('nn.init', function()
  local init = nn.init
  it('calculate_gain and calculate_fan_in_and_fan_out agree with PyTorch', function()
    local r = expected[GAINS]
    local ours = { init.calculate_gain('linear'), init.calculate_gain('conv2d'), init.calculate_gain('sigmoid'),
                   init.calculate_gain('tanh'), init.calculate_gain('relu'), init.calculate_gain('leaky_relu'),
                   init.calculate_gain('leaky_relu', 0.2), init.calculate_gain('selu'),
                   init.calculate_gain('conv_transpose2d') }
    for i, g in ipairs(r.gains) do assert.is_true(math.abs(g - ours[i]) < 1e-12, 'gain ' .. i) end
    for i, shape in ipairs({ { 3, 4 }, { 5, 2, 3, 3 }, { 2, 7, 4 }, { 4, 0 } }) do
      local fi, fo = init.calculate_fan_in_and_fan_out(torch.empty(shape))
      assert.are.same(r.fans[i], { fi, fo })
    end
    fails(function() init.calculate_gain('swish') end, 'calculate_gain', 'swish')
    fails(function() init.calculate_fan_in_and_fan_out(torch.empty(5)) end, 'at least 2 dims')
  end)
  it('uniform_, normal_, constant_, zeros_, ones_, eye_ and trunc_normal_ give their distributions', function()
    local t = torch.empty(200, 100)
    init.uniform_(t, -2, 3)
    assert.is_true(t:min() >= -2 and t:max() <= 3 and t:min() < -1.9 and t:max() > 2.9)
    assert.is_true(math.abs(t:mean() - 0.5) < 0.05)
    init.normal_(t, 1, 2)
    assert.is_true(math.abs(t:mean() - 1) < 0.07 and math.abs(t:std() - 2) < 0.05)
    init.constant_(t, 0.3)
    assert.is_true(t:eq(torch.tensor(0.3, { dtype = 'float32' })):all())
    init.zeros_(t)
    assert.are.equal(0, t:abs():sum())
    init.ones_(t)
    assert.are.equal(20000, t:sum())
    local e = init.eye_(torch.empty(3, 4))
    assert.are.same({ { 1, 0, 0, 0 }, { 0, 1, 0, 0 }, { 0, 0, 1, 0 } }, e:tolist())
    init.trunc_normal_(t, 0, 1, -0.5, 0.5)
    assert.is_true(t:min() >= -0.5 and t:max() <= 0.5 and t:std() > 0.25)
    -- far in a tail the values follow the truncated law (it redrew 100 times and then clamped, piling values on
    -- the bounds): for N(0, 1) on [2, 3] the mean is (phi(2) - phi(3)) / (Phi(3) - Phi(2)) = 2.3158 (to 4 digits)
    local d = torch.empty(200000, { dtype = 'float64' })
    init.trunc_normal_(d, 0, 1, 2, 3)
    assert.is_true(d:min() >= 2 and d:max() <= 3, 'range')
    assert.is_true(math.abs(d:mean() - 2.3158) < 0.005, 'mean ' .. d:mean())
    assert.is_true(d:eq(3):sum() < 10 and d:eq(2):sum() < 10, 'no mass piled on the bounds')
    init.trunc_normal_(d, 5, 2, 4, 8)
    assert.is_true(d:min() >= 4 and d:max() <= 8, 'shifted range')
    -- a parameter is initialised in place without recording
    local p = nn.Parameter(torch.empty(3))
    assert.are.equal(p, init.ones_(p))
    assert.is_nil(p.grad_fn)
    fails(function() init.uniform_(3) end, 'uniform_', 'tensor')
  end)
  it('xavier and kaiming have the variances of their formulas', function()
    local t = torch.empty(300, 200)
    local function check(std, what)
      assert(math.abs(t:std() - std) < 0.02 * std, what .. ': std ' .. t:std() .. ', expected ' .. std)
      assert(math.abs(t:mean()) < 5 * std / math.sqrt(t:numel()), what .. ': mean')
    end
    init.xavier_uniform_(t, 2)
    check(2 * math.sqrt(2 / 500), 'xavier_uniform_')
    assert.is_true(t:abs():max() <= 2 * math.sqrt(6 / 500) * (1 + 1e-6))
    init.xavier_normal_(t)
    check(math.sqrt(2 / 500), 'xavier_normal_')
    init.kaiming_uniform_(t, 0, 'fan_in', 'relu')
    check(math.sqrt(2) / math.sqrt(200), 'kaiming_uniform_ relu fan_in')
    init.kaiming_normal_(t, { mode = 'fan_out', nonlinearity = 'relu' })
    check(math.sqrt(2) / math.sqrt(300), 'kaiming_normal_ relu fan_out')
    init.kaiming_normal_(t, 0.2)
    check(math.sqrt(2 / 1.04) / math.sqrt(200), 'kaiming_normal_ leaky_relu 0.2')
    fails(function() init.kaiming_uniform_(t, 0, 'fan_middle') end, 'fan_in', 'fan_out')
  end)
  it('orthogonal_ gives orthonormal rows (or columns) scaled by the gain', function()
    for _, shape in ipairs({ { 4, 9 }, { 9, 4 }, { 6, 2, 3 } }) do
      local t = init.orthogonal_(torch.empty(shape, { dtype = 'float64' }), 1.5)
      local flat = t:reshape(shape[1], -1)
      local gram = flat:size(1) <= flat:size(2) and flat:matmul(flat:t()) or flat:t():matmul(flat)
      local n = gram:size(1)
      local err = (gram - torch.eye(n, { dtype = 'float64' }) * 2.25):abs():max()
      assert.is_true(err < 1e-10, table.concat(shape, 'x') .. ': ' .. err)
    end
    fails(function() init.orthogonal_(torch.empty(5)) end, 'orthogonal_')
  end)
  it('dirac_ refuses tensors without a spatial dim and groups that do not divide the channels', function()
    assert.has_error(function() init.dirac_(torch.empty(3, 3)) end, 'nn.init.dirac_: needs a 3-, 4- or 5-d tensor, got 2 dims')
    assert.has_error(function() init.dirac_(torch.empty(4, 2, 3), 3) end,
                     'nn.init.dirac_: groups must be a positive integer dividing dim 1 (4), got 3')
  end)
  it('dirac_ makes a convolution that copies its input', function()
    local conv = nn.Conv2d(3, 3, 3, { padding = 1, bias = false })
    init.dirac_(conv.weight)
    local x = randn(2, 3, 5, 5)
    assert.is_true((conv(x) - x):abs():max():item() < 1e-6)
  end)
end)

describe('nn.utils', function()
  -- gradients set by hand on three parameters of different shapes
  local function params(grads)
    local list = {}
    for i, g in ipairs(grads) do
      local p = nn.Parameter(torch.zeros(g:shape(), { dtype = 'float64' }))
      p.grad = g:clone()
      list[i] = p
    end
    return list
  end
  local grads = clip_grads

  it('clip_grad_norm_ returns the total norm and scales the gradients as PyTorch does', function()
    local r = expected[CLIP]
    for i, c in ipairs(CLIP_CASES) do
      local ps = params(grads)
      local total = nn.utils.clip_grad_norm_(ps, c[1], c[2])
      assert.is_true(math.abs(total - r[i].total) <= 1e-10 * r[i].total, 'total norm ' .. i)
      for k, p in ipairs(ps) do
        local ok, msg = ref.compare(p.grad, r[i].grads[k], nnref.tol('float64'))
        assert(ok, 'case ' .. i .. ', gradient ' .. k .. ': ' .. tostring(msg))
      end
    end
  end)
  it('clip_grad_norm_ with a NaN gradient: a NaN norm, every gradient NaN, an error when asked (as PyTorch)', function()
    for _, norm_type in ipairs({ 2, math.huge }) do
      local a, b = nn.Parameter(torch.zeros(3)), nn.Parameter(torch.zeros(2))
      a.grad, b.grad = torch.tensor({ 1, 0 / 0, 2 }), torch.tensor({ -12, 0.5 })
      local total = nn.utils.clip_grad_norm_({ a, b }, 1, norm_type)
      assert.is_true(total ~= total, 'norm ' .. norm_type)
      assert.is_true(b.grad:isnan():all(), 'norm ' .. norm_type)
      a.grad = torch.tensor({ 1, 0 / 0, 2 })
      fails(function() nn.utils.clip_grad_norm_({ a }, 1, norm_type, { error_if_nonfinite = true }) end, 'clip_grad_norm_', 'nan')
    end
  end)
  it('clip_grad_norm_ skips parameters without gradients, errors on a non-finite norm when asked', function()
    local a = nn.Parameter(torch.zeros(2))
    assert.are.equal(0, nn.utils.clip_grad_norm_({ a }, 1))
    a.grad = torch.tensor({ math.huge, 1 })
    fails(function() nn.utils.clip_grad_norm_({ a }, 1, 2, { error_if_nonfinite = true }) end, 'clip_grad_norm_', 'inf')
    fails(function() nn.utils.clip_grad_norm_({ a }, 'x') end, 'max_norm')
  end)
  it('initialisers leave zero-element tensors alone, as PyTorch', function()
    for _, init in ipairs({ nn.init.orthogonal_, nn.init.kaiming_uniform_, nn.init.kaiming_normal_ }) do
      assert.are.same({ 0, 3 }, init(torch.empty(0, 3)):size():totable())
      assert.are.same({ 3, 0 }, init(torch.empty(3, 0)):size():totable())
    end
  end)
  it('clip_grad_value_ clamps every element', function()
    local ps = params(grads)
    nn.utils.clip_grad_value_(ps, 0.5)
    for k, p in ipairs(ps) do
      assert.are.same(grads[k]:clamp(-0.5, 0.5):tolist(), p.grad:tolist())
    end
  end)
  it('parameters_to_vector and vector_to_parameters round-trip in parameter order', function()
    local m = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    local v = nn.utils.parameters_to_vector(m:parameters())
    assert.are.same({ 11 }, v:shape())
    local expected = {}
    for _, p in ipairs(m:parameters()) do
      for _, x in ipairs(p:detach():reshape(-1):tolist()) do expected[#expected + 1] = x end
    end
    assert.are.same(expected, v:detach():tolist())
    local w = torch.arange(1, 12):float()
    nn.utils.vector_to_parameters(w, m:parameters())
    assert.are.same({ { 1, 2, 3 }, { 4, 5, 6 } }, m[1].weight:tolist())
    assert.are.same({ 7, 8 }, m[1].bias:tolist())
    assert.are.same({ 11 }, m[2].bias:tolist())
    assert.is_true(m[1].weight.requires_grad)
    fails(function() nn.utils.vector_to_parameters(torch.zeros(10), m:parameters()) end, '10', '11')
    -- gradients flow through parameters_to_vector
    local pv = nn.utils.parameters_to_vector(m:parameters())
    local loss = (pv * pv):sum()
    loss:backward()
    assert.are.same({ 2, 4, 6 }, m[1].weight.grad[1]:tolist())
  end)
end)
