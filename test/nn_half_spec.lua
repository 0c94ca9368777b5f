-- 16-bit floats through the kernel-backed nn functions (convolutions, pooling, softmax, normalisation, the class
-- losses, embedding): they compute in float32 and round to the input's dtype, forward and backward, which PyTorch's
-- float32 kernels with the same rounding steps reproduce. Then the running statistics of a bfloat16 batch norm
-- against PyTorch's, a bfloat16 training step of a small conv net, and the error for mixed floating dtypes.
local torch = require 'tensor'
local nn = require 'tensor.nn'
local F = nn.F
local cases = require('helpers.cases').new()
local message = require 'helpers.failure'

torch.manual_seed(1616)

-- one rounding step of the 16-bit dtype (results rounded from float32 sums in different orders), and float32's
-- cancellation in the backward formulas' sums of terms near 1 (a gradient near 0 can be a few 1e-6 off)
local TOL = { bfloat16 = { atol = 2e-5, rtol = 2 ^ -7 }, float16 = { atol = 2e-5, rtol = 2 ^ -10 } }

local x4, w4, b4 = torch.randn(2, 3, 6, 6), torch.randn(4, 3, 3, 3), torch.randn(4)
local x2, t = torch.randn(5, 4), torch.tensor({ 1, 4, 2, 3, 4 })
local ids, table_w = torch.tensor({ { 1, 3 }, { 5, 2 } }), torch.randn(6, 3)

-- name, our call, PyTorch's expression, the inputs, and how many of them (the first ones) get gradients (all
-- by default)
local FUNCTIONS = {
  { 'conv2d', function(x, w, b) return F.conv2d(x, w, b, 1, 1) end, 'F.conv2d(x, w, b, 1, 1)', { x4, w4, b4 } },
  { 'conv_transpose2d', function(x, w) return F.conv_transpose2d(x, w:transpose(1, 2), nil, 2) end,
    'F.conv_transpose2d(x, w.transpose(0, 1), None, 2)', { x4, w4 } },
  { 'conv1d', function(x, w) return F.conv1d(x:flatten(3), w:flatten(3), nil, 2) end,
    'F.conv1d(x.flatten(2), w.flatten(2), None, 2)', { x4, w4 } },
  { 'max_pool2d', function(x) return F.max_pool2d(x, 2) end, 'F.max_pool2d(x, 2)', { x4 } },
  { 'avg_pool2d', function(x) return F.avg_pool2d(x, 3, 2, 1) end, 'F.avg_pool2d(x, 3, 2, 1)', { x4 } },
  { 'adaptive_avg_pool2d', function(x) return F.adaptive_avg_pool2d(x, { 4, 3 }) end,
    'F.adaptive_avg_pool2d(x, (4, 3))', { x4 } },
  { 'softmax', function(x) return F.softmax(x, 2) end, 'F.softmax(x, 1)', { x2 } },
  { 'log_softmax (the method)', function(x) return x:log_softmax(1) end, 'x.log_softmax(0)', { x2 } },
  { 'layer_norm', function(x, w, b) return F.layer_norm(x, { 4 }, w, b) end, 'F.layer_norm(x, [4], w, b)',
    { x2, torch.rand(4) + 0.5, torch.randn(4) } },
  { 'group_norm', function(x, w, b) return F.group_norm(x, 3, w, b) end, 'F.group_norm(x, 3, w, b)',
    { x4, torch.rand(3) + 0.5, torch.randn(3) } },
  { 'batch_norm (training, no running statistics)', function(x, w, b)
      return F.batch_norm(x, nil, nil, w, b, true) end, 'F.batch_norm(x, None, None, w, b, True)',
    { x4, torch.rand(3) + 0.5, torch.randn(3) } },
  { 'cross_entropy with class weights', function(x, w) return F.cross_entropy(x, t, { weight = w }) end,
    'F.cross_entropy(x, t - 1, weight=w)', { x2, torch.rand(4) + 0.5 }, 1 },
  { 'nll_loss', function(x) return F.nll_loss(x, t, { reduction = 'sum' }) end, "F.nll_loss(x, t - 1, reduction='sum')",
    { x2 } },
  { 'embedding', function(w) return F.embedding(ids, w) end, 'F.embedding(ids - 1, w)', { table_w } },
}

-- Ours: the result and the first `leaves` inputs' gradients of sum(y * y).
local function ours(fn, inputs, leaves, dtype)
  local args = {}
  for i, v in ipairs(inputs) do args[i] = v:to(dtype):requires_grad_(i <= leaves) end
  local y = fn(unpack(args))
  y:mul(y):sum():backward()
  local out = { y:detach() }
  for i = 1, leaves do out[i + 1] = args[i].grad end
  return out
end

-- The reference: PyTorch's float32 kernels on the same rounded inputs, with the result rounded to `dtype` and the
-- gradient of sum(y * y) taken from that rounded y, as ours is; so the two differ only by float32 summation
-- orders, a rounding step at most. (PyTorch 1.13's own bfloat16 convolutions are less accurate than that: 0.15
-- from the exact value where ours and a float32 reference are 0.03, one bfloat16 step.)
local function theirs(expr, names, leaves, dtype)
  local lines = { 'import torch.nn.functional as F', 'leaves = []' }
  for i, name in ipairs(names) do
    lines[#lines + 1] = ('%s = %s.to(torch.%s).float()'):format(name, name, dtype)
    if i <= leaves then lines[#lines + 1] = ('%s.requires_grad_(); leaves.append(%s)'):format(name, name) end
  end
  lines[#lines + 1] = 'y = ' .. expr
  lines[#lines + 1] = ('rounded = y.detach().to(torch.%s)'):format(dtype)
  lines[#lines + 1] = 'y.backward(2 * rounded.float())'
  lines[#lines + 1] = ('out = [rounded] + [l.grad.to(torch.%s) for l in leaves]'):format(dtype)
  return table.concat(lines, '\n')
end

for _, dtype in ipairs({ 'bfloat16', 'float16' }) do
  for _, f in ipairs(FUNCTIONS) do
    local name, fn, expr, inputs = f[1], f[2], f[3], f[4]
    local leaves = f[5] or #inputs
    local named, names = { t = t, ids = ids }, {}
    for i, v in ipairs(inputs) do
      local n = ({ 'x', 'w', 'b' })[i]
      if name == 'embedding' then n = 'w' end
      named[n], names[i] = v, n
    end
    cases:add(name .. ', ' .. dtype, function() return ours(fn, inputs, leaves, dtype) end,
              theirs(expr, names, leaves, dtype), named, TOL[dtype])
  end
end
cases:describe('16-bit floats through the nn kernels match PyTorch')

describe('16-bit floats in nn modules', function()
  it('a bfloat16 BatchNorm2d updates its bfloat16 running statistics as PyTorch does', function()
    local bn = nn.BatchNorm2d(3):to('bfloat16')
    local x = torch.randn(4, 3, 5, 5) * 2 + 1
    bn(x:to('bfloat16'))
    bn(x:to('bfloat16') * 0.5)
    assert.are.equal('bfloat16', bn.running_mean:dtype())
    local ref = require('helpers.torchref').run([[
bn = torch.nn.BatchNorm2d(3).bfloat16()
bn(x.bfloat16()); bn(x.bfloat16() * 0.5)
out = [bn.running_mean.float(), bn.running_var.float()]
]], { x = x })
    -- (two updates, each rounded to bfloat16 on both sides: two rounding steps apart at most)
    for i, buffer in ipairs({ bn.running_mean, bn.running_var }) do
      local ok, msg = require('helpers.torchref').compare(buffer:float(), ref[i], { atol = 1e-5, rtol = 2 ^ -6 })
      assert(ok, msg)
    end
  end)

  it('a bfloat16 conv net trains: its gradients are bfloat16 and an SGD step lowers the loss', function()
    torch.manual_seed(5)
    local model = nn.Sequential(nn.Conv2d(1, 4, 3, { padding = 1 }), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                                nn.Flatten(), nn.Linear(4 * 4 * 4, 3)):to('bfloat16')
    local x, target = torch.randn(8, 1, 8, 8):to('bfloat16'), torch.randint(1, 4, { 8 })
    local optim = require('tensor.optim').SGD(model:parameters(), { lr = 0.05 })
    local first
    for step = 1, 5 do
      optim:zero_grad()
      local loss = F.cross_entropy(model(x), target)
      assert.are.equal('bfloat16', loss:dtype())
      loss:backward()
      for _, p in ipairs(model:parameters()) do assert.are.equal('bfloat16', p.grad:dtype()) end
      optim:step()
      first = first or loss:item()
      if step == 5 then assert.is_true(loss:item() < first, ('loss %g after %g'):format(loss:item(), first)) end
    end
  end)

  it('refuses a floating tensor of another dtype beside a 16-bit input, naming both', function()
    local msg = message(function() return F.conv2d(x4:to('bfloat16'), w4) end)
    assert.matches('F.conv2d: expected every floating tensor to be bfloat16 as the input is, got float32', msg, 1, true)
    msg = message(function() return F.layer_norm(x2:to('float16'), { 4 }, torch.ones(4, { dtype = 'bfloat16' })) end)
    assert.matches('F.layer_norm: expected every floating tensor to be float16 as the input is, got bfloat16', msg, 1,
                   true)
  end)
end)
