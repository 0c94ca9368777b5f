-- ONNX export: models exported by tensor.onnx are checked by the ONNX checker (Debian's python3-onnx, with
-- full_check=True) and run in ONNX Runtime (onnxruntime-node, tools/onnxruntime), whose outputs must match ours on
-- the same inputs within 1e-4 at batch sizes 1 and 7 (the files are exported with a dynamic batch at another one).
local ffi = require 'ffi'
local torch = require 'tensor'
local nn = require 'tensor.nn'
local F = nn.F
local onnx = require 'tensor.onnx'
local pb = require 'tensor.onnx.protobuf'
local runtime = require 'tensor.onnx.runtime'

local PYTHON = os.getenv('TENSOR_TEST_PYTHON') or '/usr/bin/python3'
local TOL = 1e-4

local tmp
do
  local p = io.popen('mktemp -d /tmp/onnx_spec.XXXXXX')
  tmp = p:read('*l')
  p:close()
end

local function shell_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

-- Runs a Python snippet (with `import onnx`); returns its stdout lines.
local function python(code)
  local script = tmp .. '/check.py'
  local f = assert(io.open(script, 'w'))
  f:write('import sys, onnx\n', code)
  f:close()
  local p = io.popen(PYTHON .. ' ' .. script .. ' 2>&1')
  local out = p:read('*a')
  p:close()
  local lines = {}
  for line in out:gmatch('[^\n]+') do lines[#lines + 1] = line end
  return lines, out
end

-- The highest default-domain opset the installed onnx package knows (Debian 12's onnx 1.12: 17).
local checker_opset = tonumber(python('print(onnx.defs.onnx_opset_version())\n')[1])

-- onnx.checker.check_model(model, full_check=True) on a file: 'ok' or the checker's message.
local function check_model(path)
  local lines, out = python(string.format([[
try:
    onnx.checker.check_model(onnx.load(%q), full_check=True)
    print('ok')
except Exception as e:
    print('FAILED: ' + str(e).replace('\n', ' '))
]], path))
  return lines[#lines] or out
end

local function flatten(list, out)
  out = out or {}
  for i = 1, table.maxn(list) do
    local v = list[i]
    if torch.is_tensor(v) then out[#out + 1] = v elseif type(v) == 'table' then flatten(v, out) end
  end
  return out
end

local function max_diff(a, b)
  if a:numel() == 0 then return 0 end
  return (a:double() - b:double()):abs():max()
end

-- Exports model with inputs from make(batch) and checks it: the checker (where the installed onnx knows the opset)
-- and ONNX Runtime against our outputs at batch sizes 1 and 7.
local function roundtrip(name, model, make, opts)
  opts = opts or {}
  local path = tmp .. '/' .. name .. '.onnx'
  local export_opts = { opset = opts.opset, input_names = opts.input_names, dynamic_batch = opts.dynamic_batch,
                        batch_dim = opts.batch_dim, quiet = true }
  local info = onnx.export(model, make(opts.export_batch or 3), path, export_opts)
  if (opts.opset or 17) <= checker_opset then
    assert.are.equal('ok', check_model(path))
  end
  model:eval()
  for _, b in ipairs(opts.batches or { 1, 7 }) do
    local inputs = make(b)
    if torch.is_tensor(inputs) then inputs = { inputs } end
    local ours = flatten({ torch.no_grad(function() return model(unpack(inputs)) end) })
    local theirs = runtime.run(path, inputs, { input_names = info.input_names })
    assert.are.equal(#ours, #theirs)
    for i = 1, #ours do
      assert.are.same(ours[i]:shape(), theirs[i]:shape())
      assert.are.equal(ours[i]:dtype(), theirs[i]:dtype())
      local d = max_diff(ours[i], theirs[i])
      if d > TOL then error(string.format('%s: output %d differs by %g at batch %d', name, i, d, b)) end
    end
  end
  return info, path
end

describe('onnx', function()
  setup(function()
    local ok, why = runtime.available()
    assert(ok, 'ONNX Runtime for node is needed: ' .. tostring(why))
  end)
  teardown(function() os.execute('rm -rf ' .. shell_quote(tmp)) end)

  describe('protobuf writer', function()
    local function hex(s) return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end)) end
    it('encodes varints, zigzag, fixed-width and length-delimited fields', function()
      assert.are.equal('00', hex(pb.varint(0)))
      assert.are.equal('7f', hex(pb.varint(127)))
      assert.are.equal('ac02', hex(pb.varint(300)))
      assert.are.equal('ffffffffffffffffff01', hex(pb.varint(-1)))
      assert.are.equal('feffffffffffffffff01', hex(pb.varint(-2)))
      assert.are.equal('80808080808080808001', hex(pb.varint(ffi.new('uint64_t', 2) ^ 63)))
      assert.are.equal(0, tonumber(pb.zigzag(0)))
      assert.are.equal(1, tonumber(pb.zigzag(-1)))
      assert.are.equal(2, tonumber(pb.zigzag(1)))
      assert.are.equal(3, tonumber(pb.zigzag(-2)))
      assert.are.equal('0803', hex(pb.sint64(1, -2)))
      assert.are.equal('089601', hex(pb.int64(1, 150)))
      assert.are.equal('120774657374696e67', hex(pb.string(2, 'testing')))
      assert.are.equal('1d0000803f', hex(pb.float(3, 1)))
      assert.are.equal('21000000000000f03f', hex(pb.double(4, 1)))
      assert.are.equal('2206038e029ea705', hex(pb.packed_varints(4, { 3, 270, 86942 })))
      assert.are.equal('', pb.packed_varints(4, {}))
      assert.has_error(function() pb.varint(1.5) end)
    end)

    it('writes messages that protobuf and onnx read back field by field', function()
      local proto = onnx.proto
      local raw = ffi.string(ffi.new('float[3]', { 1, -2, 0.5 }), 12)
      local bytes = proto.model({
        ir_version = 8, opsets = { { domain = '', version = 17 } }, producer_name = 'tensor', producer_version = 'x',
        graph = {
          name = 'g',
          nodes = { { name = 'n', op_type = 'LeakyRelu', inputs = { 'x' }, outputs = { 'y' },
                      attributes = { { name = 'alpha', type = 'FLOAT', value = 0.25 } } },
                    { name = 'm', op_type = 'Add', inputs = { 'y', 'w' }, outputs = { 'z' } } },
          initializers = { { name = 'w', dims = { 3 }, data_type = 1, raw_data = raw } },
          inputs = { { name = 'x', elem_type = 1, shape = { 'batch', 3 } } },
          outputs = { { name = 'z', elem_type = 1, shape = { 'batch', 3 } } },
        },
      })
      local path = tmp .. '/handmade.onnx'
      local f = assert(io.open(path, 'wb'))
      f:write(bytes)
      f:close()
      local lines = python(string.format([[
import numpy as np
from onnx import numpy_helper
m = onnx.load(%q)
onnx.checker.check_model(m, full_check=True)
print(m.ir_version, m.producer_name, m.producer_version, m.opset_import[0].domain == '', m.opset_import[0].version)
print(m.graph.name, [n.op_type for n in m.graph.node], m.graph.node[0].attribute[0].f)
print(numpy_helper.to_array(m.graph.initializer[0]).tolist())
d = m.graph.input[0].type.tensor_type.shape.dim
print(d[0].dim_param, d[1].dim_value, m.graph.output[0].name)
]], path))
      assert.are.same({ '8 tensor x True 17', "g ['LeakyRelu', 'Add'] 0.25", '[1.0, -2.0, 0.5]', 'batch 3 z' }, lines)
    end)
    it('encodes every attribute type as onnx reads it', function()
      local tensor = { name = 't', dims = { 2 }, data_type = 7, raw_data = ffi.string(ffi.new('int64_t[2]', { -3, 5 }), 16) }
      local bytes = onnx.proto.node({ name = 'n', op_type = 'Custom', domain = 'test', inputs = { 'a', '' }, outputs = { 'b' },
        attributes = {
          { name = 'f', type = 'FLOAT', value = -1.5 }, { name = 'i', type = 'INT', value = -7 },
          { name = 's', type = 'STRING', value = 'text' }, { name = 't', type = 'TENSOR', value = tensor },
          { name = 'fs', type = 'FLOATS', value = { 0.25, 2 } }, { name = 'is', type = 'INTS', value = { -1, 0, 300 } },
          { name = 'ss', type = 'STRINGS', value = { 'x', 'yz' } },
        } })
      local path = tmp .. '/node.bin'
      local f = assert(io.open(path, 'wb'))
      f:write(bytes)
      f:close()
      local lines = python(string.format([[
from onnx import helper, numpy_helper
n = onnx.NodeProto()
n.ParseFromString(open(%q, 'rb').read())
print(n.name, n.op_type, n.domain, list(n.input), list(n.output))
for a in n.attribute:
    v = helper.get_attribute_value(a)
    if a.type == onnx.AttributeProto.TENSOR: v = numpy_helper.to_array(v).tolist()
    print(a.name, onnx.AttributeProto.AttributeType.Name(a.type), v)
]], path))
      assert.are.same({ "n Custom test ['a', ''] ['b']", 'f FLOAT -1.5', 'i INT -7', "s STRING b'text'",
                        't TENSOR [-3, 5]', 'fs FLOATS [0.25, 2.0]', 'is INTS [-1, 0, 300]', "ss STRINGS [b'x', b'yz']" },
                      lines)
    end)
  end)

  describe('models', function()
    it('exports an MLP', function()
      torch.manual_seed(1)
      local model = nn.Sequential(nn.Linear(20, 32), nn.Tanh(), nn.Linear(32, 16), nn.GELU(), nn.Dropout(0.3),
                                  nn.Linear(16, 5), nn.LogSoftmax(2))
      -- an example batch of 1 (the export traces at batch sizes 2 and 3)
      local info, path = roundtrip('mlp', model, function(b) return torch.randn(b, 20) end,
                                   { input_names = { 'features' }, export_batch = 1 })
      assert.are.same({ 'features' }, info.input_names)
      assert.are.same({ 'output' }, info.output_names)
      -- parameters are initializers under their state-dict names; the batch dim is symbolic
      local lines = python(string.format([[
m = onnx.load(%q)
print(' '.join(sorted(i.name for i in m.graph.initializer if '.' in i.name)))
print(m.graph.input[0].type.tensor_type.shape.dim[0].dim_param, m.graph.output[0].type.tensor_type.shape.dim[0].dim_param)
]], path))
      assert.are.equal('0.bias 0.weight 2.bias 2.weight 5.bias 5.weight', lines[1])
      assert.are.equal('batch batch', lines[2])
    end)

    it('exports the fashion_cnn model (conv - relu - batch norm - max pool twice, two linear layers)', function()
      torch.manual_seed(2)
      local model = nn.Sequential(
        nn.Conv2d(1, 16, 3, { padding = 1 }), nn.ReLU(), nn.BatchNorm2d(16), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, { padding = 1 }), nn.ReLU(), nn.BatchNorm2d(32), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))
      -- running statistics that are not the initial ones
      model:train()
      torch.no_grad(function() for _ = 1, 3 do model(torch.randn(8, 1, 28, 28) * 2 + 0.5) end end)
      local before = model[3].running_mean:clone()
      model:train()
      roundtrip('fashion_cnn', model, function(b) return torch.randn(b, 1, 28, 28) end)
      -- the export ran in evaluation mode and restored the training mode; the statistics are untouched
      model:train()
      local m2 = model:clone()
      onnx.export(m2, torch.randn(2, 1, 28, 28), tmp .. '/fashion_cnn2.onnx', { quiet = true })
      assert.is_true(m2.training)
      assert.is_true(m2[3].training)
      assert.are.equal(0, (m2[3].running_mean - before):abs():max())
    end)

    it('exports an LSTM model (Embedding + 2-layer LSTM + Linear) with 1-based ids', function()
      torch.manual_seed(3)
      local Net = nn.Module:extend('LstmNet')
      function Net:init()
        self.emb = nn.Embedding(30, 8)
        self.lstm = nn.LSTM(8, 12, { num_layers = 2, batch_first = true })
        self.fc = nn.Linear(12, 4)
      end
      function Net:forward(ids)
        local out, hc = self.lstm(self.emb(ids))
        return self.fc(out:select(2, -1)), hc[1], hc[2]
      end
      -- ids 1 and 30 (the first and last rows) are always present
      local function make(b)
        local ids = torch.randint(1, 31, { b, 6 })
        ids[{ 1, 1 }], ids[{ b, 6 }] = 1, 30
        return ids
      end
      roundtrip('lstm', Net(), make)
    end)

    it('exports GRU, RNN and bidirectional LSTM layers (batch in dim 2, initial states given, unbatched)', function()
      torch.manual_seed(4)
      roundtrip('gru', nn.GRU(5, 7, { bidirectional = true, num_layers = 2 }),
                function(b) return torch.randn(4, b, 5) end, { batch_dim = 2 })
      local Net = nn.Module:extend('RnnNet')
      function Net:init() self.rnn = nn.RNN(5, 6, { nonlinearity = 'relu', batch_first = true }) end
      function Net:forward(x, h0) return self.rnn(x, h0) end
      roundtrip('rnn', Net(), function(b) return { torch.randn(b, 3, 5), torch.randn(1, b, 6) } end,
                { batch_dim = { 1, 2 } })
      local Lstm = nn.Module:extend('BiLstm')
      function Lstm:init() self.lstm = nn.LSTM(3, 4, { num_layers = 2, bidirectional = true, batch_first = true }) end
      function Lstm:forward(x, h0, c0)
        local out, hc = self.lstm(x, { h0, c0 })
        return out, hc[1], hc[2]
      end
      roundtrip('bilstm', Lstm(), function(b) return { torch.randn(b, 5, 3), torch.randn(4, b, 4), torch.randn(4, b, 4) } end,
                { batch_dim = { 1, 2, 2 } })
      -- an unbatched sequence [L x input], fixed shapes (make ignores the batch size)
      roundtrip('lstm_unbatched', nn.LSTM(3, 4), function() return torch.randn(5, 3) end,
                { dynamic_batch = false, batches = { 1 } })
    end)

    it('exports a Transformer encoder layer', function()
      torch.manual_seed(5)
      local layer = nn.TransformerEncoderLayer(16, 4, { dim_feedforward = 32, batch_first = true })
      roundtrip('transformer', layer, function(b) return torch.randn(b, 5, 16) end)
      local post = nn.TransformerEncoderLayer(8, 2, { dim_feedforward = 16, norm_first = true, activation = 'gelu' })
      roundtrip('transformer_seq_first', post, function(b) return torch.randn(6, b, 8) end, { batch_dim = 2 })
    end)

    it('exports a Transformer encoder with a key padding mask and a causal mask', function()
      torch.manual_seed(6)
      local Net = nn.Module:extend('Masked')
      function Net:init()
        self.enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, { dim_feedforward = 16, batch_first = true }), 2)
      end
      function Net:forward(x, pad)
        return self.enc(x, { src_key_padding_mask = pad, src_mask = torch.ones(5, 5, { dtype = 'bool' }):triu(1) })
      end
      roundtrip('masked', Net(), function(b)
        local pad = torch.zeros(b, 5, { dtype = 'bool' })
        pad[{ {}, 5 }] = true
        return { torch.randn(b, 5, 8), pad }
      end)
    end)
  end)

  describe('ops', function()
    it('exports element-wise ops, activations and comparisons', function()
      local Net = nn.Module:extend('Pointwise')
      function Net:forward(x, y)
        local a = (x + y) * 2 - y / 3 + x ^ 2 - (-x) + 1 - x:add(y, 0.5) + torch.sub(y, x, 2)
        local b = x:abs():add(0.5):sqrt() + x:exp():log1p() + x:tanh() + x:sigmoid() + x:relu() + F.gelu(x)
          + F.gelu(x, 'tanh') + F.silu(x) + F.elu(x, 0.7) + F.leaky_relu(x, 0.2) + F.softplus(x, 2, 1) + F.mish(x)
          + x:clamp(-0.5, 0.5) + x:clamp({ min = 0 }) + F.hardtanh(x) + F.relu6(x * 4) + F.logsigmoid(x)
          + x:sin() + x:cos() + x:erf() + x:floor() + x:ceil() + (x:abs() + 0.5):rsqrt()
        local c = torch.where(x:gt(y), x, y) + x:masked_fill(x:lt(0), -1) + x:maximum(y) + x:minimum(y)
          + x:eq(y):float() + x:ne(y):double():float() + x:ge(0):logical_and(y:le(0)):float()
          + x:pow(3) + x:remainder(0.7) + x:fmod(0.6) + x:sign() + x:lerp(y, 0.25)
        return a, b, c
      end
      roundtrip('pointwise', Net(), function(b) return { torch.randn(b, 6), torch.randn(b, 6) } end)
    end)

    it('exports views, joins, indexing and reductions (1-based dims and indices translated)', function()
      local Net = nn.Module:extend('Shapes')
      function Net:init() self.table = nn.Parameter(torch.randn(10, 4)) end
      function Net:forward(x, idx)
        -- x [B x 3 x 4], idx [B x 2] (1-based)
        local B = x:size(1)
        local v = x:view(B, 12):reshape(B, 3, 4):transpose(2, 3):permute(1, 3, 2):contiguous()
        local f = v:flatten(2):unsqueeze(2):squeeze(2):view(-1, 3, 4)
        local parts = torch.cat({ f:narrow(3, 2, 2), f[{ {}, {}, { 1 } }], f:select(3, 4):unsqueeze(3) }, 3)
        local st = torch.stack({ parts:sum(3), parts:mean(3), parts:amax(3) }, 2)       -- [B x 3 x 3]
        local mx, at = parts:max(3)
        local mn = parts:min(2)
        local e = x[{ {}, 2 }]:unsqueeze(2):expand(B, 3, 4)
        local g = x:gather(3, idx:view(B, 1, 2):expand(B, 3, 2))
        local rows = self.table:index_select(1, idx:reshape(-1)):view(B, 2, 4)
        local emb = F.embedding(idx, self.table)
        local sm = F.softmax(x, 3) + F.log_softmax(x, 2)
        local r = x:sum(2, true):expand_as(x) + x:mean({ 2, 3 }, true) + x:var(3, true) + x:std(2, true)
          + x:norm(2, 3, true) + x:logsumexp(3, true) + x:prod(3, true)
        local t = x:transpose(1, 3):transpose(3, 1)
        return st, mx, at, mn, e + t, g, rows + emb, sm, r, x:argmax(3), x:cumsum(2), x:flip(3), x:tril(), x:triu(1),
          x:repeatTensor(1, 2, 1), x:split(1, 2)[3], x:chunk(2, 3)[2], (x:any(3)):long(), x:reshape(B, 4, 3):bmm(x)
      end
      local function make(b) return { torch.randn(b, 3, 4), torch.randint(1, 5, { b, 2 }) } end
      for _, opset in ipairs({ 13, 17, 18 }) do
        roundtrip('shapes' .. opset, Net(), make, { opset = opset })
      end
    end)

    it('exports scatter, scatter_add (opset 16+) and roll', function()
      local Net = nn.Module:extend('Scatter')
      function Net:forward(x, idx)
        return x:scatter(2, idx, x * 10), x:scatter(2, idx, -1),
          torch.zeros(x:size(1), 5):scatter_add(2, idx, x:narrow(2, 1, 2)), x:roll(1, 2), x:roll({ 3, -1 }, { 2, -1 })
      end
      local function make(b)
        local rows = {}
        for i = 1, b do rows[i] = { (i % 4) + 1, ((i + 1) % 4) + 1 } end
        return { torch.randn(b, 4), torch.tensor(rows, { dtype = 'int64' }) }
      end
      roundtrip('scatter16', Net(), make, { opset = 16 })
      roundtrip('scatter18', Net(), make, { opset = 18 })
      local ok, e = pcall(onnx.export, Net(), make(3), tmp .. '/scatter13.onnx', { opset = 13, quiet = true })
      assert.is_false(ok)
      assert.matches('scatter_add needs opset 16', e, 1, true)
    end)

    it('exports convolutions, pooling and normalisation layers', function()
      torch.manual_seed(7)
      local model = nn.Sequential(
        nn.Conv1d(3, 6, 3, { padding = 'same' }), nn.BatchNorm1d(6), nn.ELU(), nn.MaxPool1d(2, { stride = 1 }),
        nn.Conv1d(6, 4, 3, { stride = 2, dilation = 2, groups = 2 }), nn.AvgPool1d(2), nn.GroupNorm(2, 4),
        nn.Flatten(), nn.Linear(4 * 4, 8), nn.BatchNorm1d(8), nn.SiLU())
      model:train()
      torch.no_grad(function() model(torch.randn(5, 3, 21)) end)
      roundtrip('conv1d', model, function(b) return torch.randn(b, 3, 21) end)
      local m2 = nn.Sequential(
        nn.Conv2d(2, 4, { 3, 2 }, { padding = { 1, 0 }, stride = { 2, 1 } }), nn.LeakyReLU(0.1),
        nn.AvgPool2d(2, { padding = 1, count_include_pad = false }), nn.ConvTranspose2d(4, 3, 3, { stride = 2, padding = 1, output_padding = 1 }),
        nn.MaxPool2d(3, { stride = 2, padding = 1, ceil_mode = true }), nn.LayerNorm({ 4, 5 }),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Softmax(2))
      roundtrip('conv2d', m2, function(b) return torch.randn(b, 2, 9, 7) end)
      roundtrip('conv2d_13', m2, function(b) return torch.randn(b, 2, 9, 7) end, { opset = 13 })
    end)

    it('exports the other layers and activations of nn', function()
      torch.manual_seed(8)
      local acts = nn.ConcatTable()
      for _, m in ipairs({ nn.ReLU(), nn.LeakyReLU(0.05), nn.ELU(0.5), nn.GELU('tanh'), nn.SiLU(), nn.Sigmoid(), nn.Tanh(),
                           nn.Softmax(2), nn.LogSoftmax(2), nn.Softmin(2), nn.Softplus(2, 3), nn.Hardtanh(-0.5, 0.5),
                           nn.ReLU6(), nn.Mish(), nn.Softsign(), nn.Hardsigmoid(), nn.Hardswish(), nn.LogSigmoid(),
                           nn.PReLU(6), nn.Identity() }) do
        acts:add(m)
      end
      local Net = nn.Module:extend('Layers')
      function Net:init()
        self.acts = acts
        self.bilinear = nn.Bilinear(6, 6, 3)
        self.up = nn.ConvTranspose1d(6, 2, 3, { stride = 2 })
        self.drop2d = nn.Dropout2d(0.5)
        self.pool = nn.AdaptiveMaxPool2d({ 2, 1 })
        self.unflatten = nn.Unflatten(2, { 2, 3 })
        self.attn = nn.MultiheadAttention(6, 2, { batch_first = true })
        self.inplace = nn.ReLU(true)
      end
      function Net:forward(x)
        -- x [B x 6]
        local outs = self.acts(x)
        local y = outs[1]
        for i = 2, #outs do y = y + outs[i] end
        local b = self.bilinear(x, y)
        local u = self.up(y:unsqueeze(3):expand(x:size(1), 6, 4))
        local p = self.pool(self.drop2d(u:unsqueeze(2)))
        local seq = torch.stack({ x, y, x * y }, 2)                    -- [B x 3 x 6]
        local att, weights = self.attn(seq, seq, seq)
        local h0 = torch.zeros(x:size(1), 6)                           -- a constant that follows the batch size
        local r = self.inplace(x - 0.1 + h0)
        return b, p, self.unflatten(y), att, weights, r
      end
      roundtrip('layers', Net(), function(b) return torch.randn(b, 6) end)
    end)

    it("writes each opset's form of the ops whose signature changed", function()
      local Net = nn.Module:extend('Forms')
      function Net:init() self.norm = nn.LayerNorm(4) end
      function Net:forward(x) return self.norm(x):mean(2, true):triu(1) + x:sum(2, true) + x:amax(2, true) end
      local expected = {
        [13] = 'LayerNormalization=False ReduceMean=attr ReduceSum=input ReduceMax=attr Trilu=False',
        [14] = 'LayerNormalization=False ReduceMean=attr ReduceSum=input ReduceMax=attr Trilu=True',
        [17] = 'LayerNormalization=True ReduceMean=attr ReduceSum=input ReduceMax=attr Trilu=True',
        [18] = 'LayerNormalization=True ReduceMean=input ReduceSum=input ReduceMax=input Trilu=True',
      }
      for _, opset in ipairs({ 13, 14, 17, 18 }) do
        local _, path = roundtrip('forms' .. opset, Net(), function(b) return torch.randn(b, 3, 4) end, { opset = opset })
        local lines = python(string.format([[
m = onnx.load(%q)
ops = [n.op_type for n in m.graph.node]
def form(op):
    n = next(n for n in m.graph.node if n.op_type == op)
    return 'attr' if any(a.name == 'axes' for a in n.attribute) else ('input' if len(n.input) > 1 else 'none')
out = ['LayerNormalization=%%s' %% ('LayerNormalization' in ops)]
out += ['%%s=%%s' %% (op, form(op)) for op in ('ReduceMean', 'ReduceSum', 'ReduceMax')]
out += ['Trilu=%%s' %% ('Trilu' in ops)]
print(' '.join(out))
]], path))
        assert.are.equal(expected[opset], lines[1])
      end
    end)

    it('writes fixed shapes without a dynamic batch, and the IR version of each opset', function()
      local model = nn.Sequential(nn.Linear(3, 2))
      for opset = 13, 18 do
        local path = tmp .. '/fixed' .. opset .. '.onnx'
        local info = onnx.export(model, torch.randn(4, 3), path, { dynamic_batch = false, opset = opset, quiet = true })
        assert.are.equal(opset <= 14 and 7 or 8, info.ir_version)
        local lines = python(string.format([[
m = onnx.load(%q)
print(m.ir_version, m.opset_import[0].version, m.graph.input[0].type.tensor_type.shape.dim[0].dim_value)
]], path))
        assert.are.equal(string.format('%d %d 4', info.ir_version, opset), lines[1])
      end
      local theirs = runtime.run(tmp .. '/fixed17.onnx', { torch.ones(4, 3) })
      assert.is_true(max_diff(theirs[1], torch.no_grad(function() return model(torch.ones(4, 3)) end)) <= TOL)
    end)
  end)

  describe('bad input', function()
    local model = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
    local function err_of(fn, ...)
      local ok, e = pcall(fn, ...)
      assert.is_false(ok)
      return tostring(e)
    end
    it('rejects non-tensor inputs, non-modules, bad options', function()
      assert.matches('example_input must be a tensor or a list of tensors', err_of(onnx.export, model, 3, tmp .. '/x.onnx'))
      assert.matches('element 2 is a string', err_of(onnx.export, model, { torch.randn(2, 3), 'x' }, tmp .. '/x.onnx'))
      assert.matches('expected an nn.Module', err_of(onnx.export, function() end, torch.randn(2, 3), tmp .. '/x.onnx'))
      assert.matches('opset must be an integer from 13 to 18', err_of(onnx.export, model, torch.randn(2, 3), tmp .. '/x.onnx',
                                                                       { opset = 12 }))
      assert.matches('input_names has 2 names but the model has 1 inputs',
                     err_of(onnx.export, model, torch.randn(2, 3), tmp .. '/x.onnx', { input_names = { 'a', 'b' } }))
      assert.matches('output_names must hold 1 non%-empty strings',
                     err_of(onnx.export, model, torch.randn(2, 3), tmp .. '/x.onnx', { output_names = { 3 } }))
    end)

    it('names the op and the module path of an op that cannot be exported', function()
      local Odd = nn.Module:extend('Odd')
      function Odd:forward(x) return x:cumprod(2) end
      local net = nn.Sequential(nn.Linear(3, 4), nn.Sequential(nn.ReLU(), Odd()))
      local e = err_of(onnx.export, net, torch.randn(2, 3), tmp .. '/odd.onnx')
      assert.matches('Tensor.cumprod', e, 1, true)
      assert.matches('1.1 (nn.Odd)', e, 1, true)
      assert.is_nil(io.open(tmp .. '/odd.onnx', 'rb'))
      -- writing into a traced tensor in place is refused too
      local Writer = nn.Module:extend('Writer')
      function Writer:forward(x)
        local y = x * 2
        y[{ {}, 1 }] = 0
        return y
      end
      assert.matches('writes in place', err_of(onnx.export, Writer(), torch.randn(2, 3), tmp .. '/w.onnx'))
    end)

    it('warns when forward reads a traced value as a Lua number (one path is recorded)', function()
      local Branchy = nn.Module:extend('Branchy')
      function Branchy:init() self.fc = nn.Linear(3, 3) end
      function Branchy:forward(x)
        local y = self.fc(x)
        if y:detach():sum() > 0 then return y * 2 end
        return y
      end
      local info = onnx.export(Branchy(), torch.randn(2, 3), tmp .. '/branchy.onnx', { quiet = true })
      assert.are.equal(1, #info.warnings)
      assert.matches('read a traced value as a Lua value', info.warnings[1], 1, true)
      assert.matches('tracing records one path', info.warnings[1], 1, true)
    end)

    it('leaves nothing at an unwritable path', function()
      local e = err_of(onnx.export, model, torch.randn(2, 3), tmp .. '/no/such/dir/model.onnx')
      assert.matches('cannot write', e)
      -- a path that is a directory: the temporary file is removed, the directory is untouched
      os.execute('mkdir -p ' .. shell_quote(tmp .. '/adir'))
      assert.matches('cannot write', err_of(onnx.export, model, torch.randn(2, 3), tmp .. '/adir'))
      local p = io.popen('ls -A ' .. shell_quote(tmp .. '/adir') .. ' ' .. shell_quote(tmp) .. ' | grep -c tmp-')
      local count = tonumber(p:read('*l'))
      p:close()
      assert.are.equal(0, count)
    end)
  end)
end)
