-- The loss modules against PyTorch: every reduction, class weights, ignore_index, label_smoothing,
-- class-probability targets, pos_weight, log_target, [N x C x d...] inputs; the loss and the input's gradient
-- must match. Class labels are 1-based here and shifted to PyTorch's 0-based ones in the Python snippets.
-- Then the errors bad labels and shapes raise.
local torch = require 'tensor'
local nn = require 'tensor.nn'
local nnref = require 'helpers.nnref'

torch.manual_seed(77)

local randn, rand = torch.randn, torch.rand
local function labels(n, classes, shape)
  return torch.randint(1, classes + 1, shape or { n }, { dtype = 'int64' })
end
-- labels with some entries replaced by `value` (an ignore_index)
local function with_ignored(t, value)
  local flat = t:clone():view(-1)
  for i = 1, flat:numel(), 3 do flat[i] = value end
  return flat:view(t:shape())
end
local function probabilities(...) return nn.F.softmax(randn(...) * 2, 2) end

-- Python text turning 1-based labels x2 into 0-based ones, keeping the ignored value `ign` (Lua) as `ign_py`
local function shift(ign, ign_py)
  if ign == nil then return 'x2 = x2 - 1' end
  return string.format('x2 = torch.where(x2 == %d, torch.tensor(%d), x2 - 1)', ign, ign_py)
end

describe('nn losses match PyTorch', function()
  local cases = nnref.new()
  local function case(c)
    c.grad_inputs = c.grad_inputs or { 1 }
    cases:add(c)
  end
  local REDUCTIONS = { 'mean', 'sum', 'none' }

  for _, r in ipairs(REDUCTIONS) do
    local o, py = { reduction = r }, string.format("reduction='%s'", r)
    case { name = 'MSELoss ' .. r, build = function() return nn.MSELoss(o) end, py = 'nn.MSELoss(' .. py .. ')',
           inputs = { randn(4, 3, 2), randn(4, 3, 2) } }
    case { name = 'L1Loss ' .. r, build = function() return nn.L1Loss(o) end, py = 'nn.L1Loss(' .. py .. ')',
           inputs = { randn(5, 3), randn(5, 3) } }
    case { name = 'SmoothL1Loss ' .. r, build = function() return nn.SmoothL1Loss(o) end,
           py = 'nn.SmoothL1Loss(' .. py .. ')', inputs = { randn(6, 4) * 2, randn(6, 4) } }
    case { name = 'HuberLoss ' .. r, build = function() return nn.HuberLoss(o) end, py = 'nn.HuberLoss(' .. py .. ')',
           inputs = { randn(6, 4) * 2, randn(6, 4) } }
    case { name = 'CrossEntropyLoss ' .. r, build = function() return nn.CrossEntropyLoss(o) end,
           py = 'nn.CrossEntropyLoss(' .. py .. ')', inputs = { randn(6, 5), labels(6, 5) }, py_pre = shift() }
    case { name = 'NLLLoss ' .. r, build = function() return nn.NLLLoss(o) end, py = 'nn.NLLLoss(' .. py .. ')',
           inputs = { nn.F.log_softmax(randn(6, 4), 2), labels(6, 4) }, py_pre = shift() }
    case { name = 'BCELoss ' .. r, build = function() return nn.BCELoss(o) end, py = 'nn.BCELoss(' .. py .. ')',
           inputs = { rand(5, 3) * 0.98 + 0.01, rand(5, 3) } }
    case { name = 'BCEWithLogitsLoss ' .. r, build = function() return nn.BCEWithLogitsLoss(o) end,
           py = 'nn.BCEWithLogitsLoss(' .. py .. ')', inputs = { randn(5, 3) * 3, rand(5, 3) } }
    case { name = 'KLDivLoss ' .. r, build = function() return nn.KLDivLoss(o) end, py = 'nn.KLDivLoss(' .. py .. ')',
           inputs = { nn.F.log_softmax(randn(4, 5), 2), probabilities(4, 5) } }
  end

  -- regression losses: options and shapes
  case { name = 'SmoothL1Loss beta 0.5', build = function() return nn.SmoothL1Loss({ beta = 0.5 }) end,
         py = 'nn.SmoothL1Loss(beta=0.5)', inputs = { randn(8, 3), randn(8, 3) } }
  case { name = 'SmoothL1Loss beta 0 (the L1 loss)', build = function() return nn.SmoothL1Loss({ beta = 0 }) end,
         py = 'nn.SmoothL1Loss(beta=0.0)', inputs = { randn(8, 3), randn(8, 3) } }
  case { name = 'HuberLoss delta 2, sum', build = function() return nn.HuberLoss({ delta = 2, reduction = 'sum' }) end,
         py = "nn.HuberLoss(delta=2.0, reduction='sum')", inputs = { randn(8, 3) * 3, randn(8, 3) } }
  case { name = 'MSELoss float32', dtype = 'float32', build = function() return nn.MSELoss() end, py = 'nn.MSELoss()',
         inputs = { randn(10, 7), randn(10, 7) } }

  -- cross entropy and NLL: weights, ignore_index, label smoothing, probabilities, spatial targets
  local w5 = rand(5) + 0.5
  -- rows of up to 16 classes take a padded fixed-width path in the kernel, longer rows the general one
  for _, classes in ipairs({ 16, 17, 40 }) do
    case { name = 'CrossEntropyLoss ' .. classes .. ' classes', build = function() return nn.CrossEntropyLoss() end,
           py = 'nn.CrossEntropyLoss()', inputs = { randn(6, classes), labels(6, classes) }, py_pre = shift() }
  end
  case { name = 'CrossEntropyLoss weight', build = function() return nn.CrossEntropyLoss({ weight = w5 }) end,
         py = 'nn.CrossEntropyLoss(weight=torch.ones(5))', inputs = { randn(7, 5), labels(7, 5) }, py_pre = shift() }
  case { name = 'CrossEntropyLoss weight, sum', build = function()
           return nn.CrossEntropyLoss({ weight = w5, reduction = 'sum' }) end,
         py = "nn.CrossEntropyLoss(weight=torch.ones(5), reduction='sum')", inputs = { randn(7, 5), labels(7, 5) },
         py_pre = shift() }
  case { name = 'CrossEntropyLoss ignore_index -100 (default)', build = function() return nn.CrossEntropyLoss() end,
         py = 'nn.CrossEntropyLoss()', inputs = { randn(7, 4), with_ignored(labels(7, 4), -100) },
         py_pre = shift(-100, -100) }
  case { name = 'CrossEntropyLoss ignore_index 2 (a class), weight, none', build = function()
           return nn.CrossEntropyLoss({ ignore_index = 2, weight = w5, reduction = 'none' }) end,
         py = "nn.CrossEntropyLoss(ignore_index=1, weight=torch.ones(5), reduction='none')",
         inputs = { randn(7, 5), with_ignored(labels(7, 5), 2) }, py_pre = shift() }
  case { name = 'CrossEntropyLoss label_smoothing 0.1', build = function()
           return nn.CrossEntropyLoss({ label_smoothing = 0.1 }) end,
         py = 'nn.CrossEntropyLoss(label_smoothing=0.1)', inputs = { randn(6, 5), labels(6, 5) }, py_pre = shift() }
  case { name = 'CrossEntropyLoss label_smoothing 0.2 with weight and ignore_index, sum', build = function()
           return nn.CrossEntropyLoss({ label_smoothing = 0.2, weight = w5, ignore_index = -1, reduction = 'sum' }) end,
         py = "nn.CrossEntropyLoss(label_smoothing=0.2, weight=torch.ones(5), ignore_index=-1, reduction='sum')",
         inputs = { randn(6, 5), with_ignored(labels(6, 5), -1) }, py_pre = shift(-1, -1) }
  case { name = 'CrossEntropyLoss label_smoothing 0.2 with weight, mean', build = function()
           return nn.CrossEntropyLoss({ label_smoothing = 0.2, weight = w5 }) end,
         py = 'nn.CrossEntropyLoss(label_smoothing=0.2, weight=torch.ones(5))',
         inputs = { randn(6, 5), labels(6, 5) }, py_pre = shift() }
  case { name = 'CrossEntropyLoss class-probability targets', build = function() return nn.CrossEntropyLoss() end,
         py = 'nn.CrossEntropyLoss()', inputs = { randn(6, 5), probabilities(6, 5) } }
  case { name = 'CrossEntropyLoss class-probability targets, weight, label_smoothing, none', build = function()
           return nn.CrossEntropyLoss({ weight = w5, label_smoothing = 0.15, reduction = 'none' }) end,
         py = "nn.CrossEntropyLoss(weight=torch.ones(5), label_smoothing=0.15, reduction='none')",
         inputs = { randn(6, 5), probabilities(6, 5) } }
  case { name = 'CrossEntropyLoss [N x C x d1 x d2]', build = function() return nn.CrossEntropyLoss() end,
         py = 'nn.CrossEntropyLoss()', inputs = { randn(2, 4, 3, 5), labels(0, 4, { 2, 3, 5 }) }, py_pre = shift() }
  case { name = 'CrossEntropyLoss [N x C x d] weight, ignore_index, none', build = function()
           return nn.CrossEntropyLoss({ weight = rand(4) + 0.5, ignore_index = -100, reduction = 'none' }) end,
         py = "nn.CrossEntropyLoss(weight=torch.ones(4), reduction='none')",
         inputs = { randn(3, 4, 6), with_ignored(labels(0, 4, { 3, 6 }), -100) }, py_pre = shift(-100, -100) }
  case { name = 'CrossEntropyLoss unbatched [C] with a 0-d target', build = function() return nn.CrossEntropyLoss() end,
         py = 'nn.CrossEntropyLoss()', inputs = { randn(5), torch.tensor(3, { dtype = 'int64' }) }, py_pre = shift() }
  case { name = 'CrossEntropyLoss float32', dtype = 'float32', build = function()
           return nn.CrossEntropyLoss({ label_smoothing = 0.05 }) end,
         py = 'nn.CrossEntropyLoss(label_smoothing=0.05)', inputs = { randn(16, 10) * 3, labels(16, 10) },
         py_pre = shift() }
  case { name = 'NLLLoss weight, ignore_index 3, mean', build = function()
           return nn.NLLLoss({ weight = rand(4) + 0.5, ignore_index = 3 }) end,
         py = 'nn.NLLLoss(weight=torch.ones(4), ignore_index=2)',
         inputs = { nn.F.log_softmax(randn(9, 4), 2), with_ignored(labels(9, 4), 3) }, py_pre = shift() }
  case { name = 'NLLLoss [N x C x d1 x d2], sum', build = function() return nn.NLLLoss({ reduction = 'sum' }) end,
         py = "nn.NLLLoss(reduction='sum')",
         inputs = { nn.F.log_softmax(randn(2, 3, 4, 2), 2), labels(0, 3, { 2, 4, 2 }) }, py_pre = shift() }

  -- binary losses: weights and pos_weight
  case { name = 'BCELoss weight (broadcast over the batch)', build = function()
           return nn.BCELoss({ weight = rand(3) + 0.5 }) end,
         py = 'nn.BCELoss(weight=torch.ones(3))', inputs = { rand(5, 3) * 0.98 + 0.01, rand(5, 3):gt(0.5):double() } }
  -- (PyTorch's gradient divides by max(x (1 - x), 1e-12) with 1e-12 rounded to float32, hence rtol 1e-8)
  case { name = 'BCELoss with probabilities 0 and 1 (logs clamped at -100)', build = function() return nn.BCELoss() end,
         tol = { atol = 1e-11, rtol = 1e-8 },
         py = 'nn.BCELoss()', inputs = { torch.tensor({ 0, 1, 0.5, 1, 0 }), torch.tensor({ 0, 1, 1, 0.5, 0.25 }) } }
  case { name = 'BCEWithLogitsLoss pos_weight', build = function()
           return nn.BCEWithLogitsLoss({ pos_weight = torch.tensor({ 1, 2, 0.5 }) }) end,
         py = 'nn.BCEWithLogitsLoss(pos_weight=torch.ones(3))', inputs = { randn(6, 3) * 3, rand(6, 3) } }
  case { name = 'BCEWithLogitsLoss weight and pos_weight, none', build = function()
           return nn.BCEWithLogitsLoss({ weight = rand(6, 1) + 0.5, pos_weight = rand(3) + 0.5, reduction = 'none' }) end,
         py = "nn.BCEWithLogitsLoss(weight=torch.ones(6, 1), pos_weight=torch.ones(3), reduction='none')",
         inputs = { randn(6, 3) * 3, rand(6, 3) } }
  case { name = 'BCEWithLogitsLoss large logits stay finite', build = function() return nn.BCEWithLogitsLoss() end,
         py = 'nn.BCEWithLogitsLoss()', inputs = { torch.tensor({ -200.5, -30.5, 30.5, 200.5 }), torch.tensor({ 1, 0, 1, 0.5 }) } }

  -- KL divergence
  case { name = 'KLDivLoss batchmean', build = function() return nn.KLDivLoss({ reduction = 'batchmean' }) end,
         py = "nn.KLDivLoss(reduction='batchmean')", inputs = { nn.F.log_softmax(randn(4, 5), 2), probabilities(4, 5) } }
  case { name = 'KLDivLoss log_target, batchmean', build = function()
           return nn.KLDivLoss({ reduction = 'batchmean', log_target = true }) end,
         py = "nn.KLDivLoss(reduction='batchmean', log_target=True)",
         inputs = { nn.F.log_softmax(randn(4, 5), 2), nn.F.log_softmax(randn(4, 5), 2) } }
  case { name = 'KLDivLoss log_target, none', build = function()
           return nn.KLDivLoss({ reduction = 'none', log_target = true }) end,
         py = "nn.KLDivLoss(reduction='none', log_target=True)",
         inputs = { nn.F.log_softmax(randn(3, 4), 2), nn.F.log_softmax(randn(3, 4), 2) } }
  case { name = 'KLDivLoss targets with zeros', build = function() return nn.KLDivLoss({ reduction = 'sum' }) end,
         py = "nn.KLDivLoss(reduction='sum')",
         inputs = { nn.F.log_softmax(randn(2, 4), 2), torch.tensor({ { 0, 0.5, 0.5, 0 }, { 1, 0, 0, 0 } }) } }

  cases:run()
end)

describe('loss modules', function()
  it('keep weight and pos_weight as buffers (state dict keys, converted by :to)', function()
    local ce = nn.CrossEntropyLoss({ weight = torch.ones(3) })
    local keys = {}
    for _, e in ipairs(ce:state_dict_keys()) do keys[#keys + 1] = e[1] end
    assert.are.same({ 'weight' }, keys)
    ce:to('float64')
    assert.are.equal('float64', ce.weight:dtype())
    local b = nn.BCEWithLogitsLoss({ weight = torch.ones(2), pos_weight = torch.ones(2) })
    keys = {}
    for _, e in ipairs(b:state_dict_keys()) do keys[#keys + 1] = e[1] end
    assert.are.same({ 'weight', 'pos_weight' }, keys)
    assert.are.same({}, nn.MSELoss():state_dict_keys())
  end)
  it('print their reduction like PyTorch', function()
    assert.are.equal('MSELoss()', tostring(nn.MSELoss()))
    assert.are.equal("CrossEntropyLoss(reduction='sum')", tostring(nn.CrossEntropyLoss({ reduction = 'sum' })))
  end)
end)

describe('bad input to losses', function()
  local fails = require('helpers.failure').containing
  local ce = nn.CrossEntropyLoss()
  it('class labels out of range raise, naming the label and the valid range', function()
    fails(function() ce(randn(3, 4), torch.tensor({ 1, 5, 2 }, { dtype = 'int64' })) end, '5', '1', '4')
    fails(function() ce(randn(3, 4), torch.tensor({ 0, 1, 2 }, { dtype = 'int64' })) end, '0')
    fails(function() nn.NLLLoss()(randn(2, 3), torch.tensor({ 4, 1 }, { dtype = 'int64' })) end, '4')
    fails(function() ce(randn(2, 3, 5), torch.tensor({ { 1, 2, 3, 4, 1 }, { 1, 1, 1, 1, 1 } }, { dtype = 'int64' })) end, '4')
  end)
  it('wrong target shapes and types raise', function()
    fails(function() ce(randn(3, 4), torch.tensor({ 1, 2 }, { dtype = 'int64' })) end, 'cross_entropy')
    fails(function() ce(randn(3, 4), randn(3, 5)) end, 'cross_entropy')
    fails(function() nn.MSELoss()(randn(3, 4), randn(3, 5)) end, 'mse_loss', '[3 x 4]', '[3 x 5]')
    fails(function() nn.BCELoss()(torch.tensor({ 0.5, 1.5 }), torch.tensor({ 0, 1 })) end, 'binary_cross_entropy', '[0, 1]')
    fails(function() nn.BCELoss()(rand(3), rand(3, 1)) end, 'binary_cross_entropy', '[3 x 1]', '[3]')
    fails(function() nn.CrossEntropyLoss({ weight = torch.ones(3) })(randn(2, 4), torch.tensor({ 1, 2 }, { dtype = 'int64' })) end,
          'weight')
  end)
  it('bad options raise', function()
    fails(function() nn.MSELoss({ reduction = 'avg' }) end, 'MSELoss', 'avg')
    fails(function() nn.KLDivLoss({ reduction = 'max' }) end, 'KLDivLoss', 'max')
    fails(function() nn.CrossEntropyLoss(3) end, 'CrossEntropyLoss', 'options table')
  end)
end)

-- ---- gradients at the points where a piece of a formula has a corner (found by an audit against PyTorch) ----
do
  local cases = require('helpers.cases').new()
  local F = require('tensor.nn').F
  local function grad_of(fn, x)
    local leaf = x:clone():requires_grad_()
    fn(leaf):sum():backward()
    return leaf.grad
  end
  local corners = torch.tensor({ 0, 6, -1, 1, 3, -3, 0.5 }, { dtype = 'float64' })
  cases:add('relu6, hardtanh and hardsigmoid at their corners', function(t)
    return { grad_of(F.relu6, t.x), grad_of(F.hardtanh, t.x), grad_of(F.hardsigmoid, t.x), grad_of(function(v) return F.hardtanh(v, -3, 6) end, t.x) }
  end, [[
import torch.nn.functional as F
def grad_of(fn, x):
    leaf = x.clone().requires_grad_()
    fn(leaf).sum().backward()
    return leaf.grad
out = [grad_of(F.relu6, x), grad_of(F.hardtanh, x), grad_of(F.hardsigmoid, x), grad_of(lambda v: F.hardtanh(v, -3, 6), x)]
]], { x = corners }, { atol = 1e-7, rtol = 0 }) -- (PyTorch's hardsigmoid gradient is 1/6 rounded to float32)
  cases:add('binary_cross_entropy_with_logits at logit 0 and far out, with pos_weight', function(t)
    local function loss(pw) return function(v) return F.binary_cross_entropy_with_logits(v, t.t, { reduction = 'none', pos_weight = pw }) end end
    return { grad_of(loss(nil), t.x), grad_of(loss(t.pw), t.x), loss(t.pw)(t.x) }
  end, [[
import torch.nn.functional as F
def grad_of(fn, x):
    leaf = x.clone().requires_grad_()
    fn(leaf).sum().backward()
    return leaf.grad
loss = lambda pw: (lambda v: F.binary_cross_entropy_with_logits(v, t, reduction='none', pos_weight=pw))
out = [grad_of(loss(None), x), grad_of(loss(pw), x), loss(pw)(x)]
]], { x = torch.tensor({ 0, 0, 0, -800, 800, -30, 30, 1e-3 }, { dtype = 'float64' }),
       t = torch.tensor({ 1, 0, 0.5, 1, 0, 1, 0, 1 }, { dtype = 'float64' }),
       pw = torch.tensor({ 3 }, { dtype = 'float64' }) })
  cases:describe('gradients at corners match PyTorch')
end

-- ---- cross entropy carries gradients to class-probability targets (a teacher's, in distillation) ----
do
  local cases = require('helpers.cases').new()
  local F = require('tensor.nn').F
  local function grads(x, t, opts)
    local lx, lt = x:clone():requires_grad_(), t:clone():requires_grad_()
    local loss = F.cross_entropy(lx, lt, opts)
    if loss:dim() > 0 then loss = (loss * torch.arange(1, loss:numel() + 1):double():view(loss:shape())):sum() end
    loss:backward()
    return { lx.grad, lt.grad }
  end
  local function probabilities(...) return torch.randn(...):double():softmax(2) end
  local w = torch.rand(5):double()
  for _, reduction in ipairs({ 'mean', 'sum', 'none' }) do
    cases:add('probability targets, weight and label smoothing, reduction ' .. reduction, function(a)
      local r = grads(a.x, a.t, { weight = a.w, label_smoothing = 0.2, reduction = reduction })
      local k = grads(a.xk, a.tk, { reduction = reduction })
      return { r[1], r[2], k[1], k[2] }
    end, ([[
import torch.nn.functional as F
def grads(x, t, **kw):
    lx, lt = x.clone().requires_grad_(), t.clone().requires_grad_()
    loss = F.cross_entropy(lx, lt, **kw)
    if loss.dim() > 0: loss = (loss * torch.arange(1, loss.numel() + 1, dtype=torch.float64).view(loss.shape)).sum()
    loss.backward()
    return [lx.grad, lt.grad]
out = grads(x, t, weight=w, label_smoothing=0.2, reduction='%s') + grads(xk, tk, reduction='%s')
]]):format(reduction, reduction), { x = torch.randn(4, 5):double(), t = probabilities(4, 5), w = w,
                                    xk = torch.randn(2, 5, 3):double(), tk = probabilities(2, 5, 3) })
  end
  cases:describe('cross entropy gradients to probability targets match PyTorch')
end

-- ---- a mean over no weight is NaN, with label smoothing too (it gave inf) ----
do
  local cases = require('helpers.cases').new()
  local F = require('tensor.nn').F
  cases:add('cross_entropy mean when every target has weight zero', function(t)
    return { F.cross_entropy(t.x, t.y, { weight = t.w, label_smoothing = 0.2 }), F.cross_entropy(t.x, t.y, { weight = t.w }),
             F.nll_loss(t.x:log_softmax(2), t.y, { weight = t.w }) }
  end, 'import torch.nn.functional as F\n'
    .. 'out = [F.cross_entropy(x, y - 1, weight=w, label_smoothing=0.2), F.cross_entropy(x, y - 1, weight=w), '
    .. 'F.nll_loss(x.log_softmax(1), y - 1, weight=w)]',
            { x = torch.randn(4, 3):double(), y = torch.tensor({ 1, 3, 3, 1 }), w = torch.tensor({ 0, 1, 0 }):double() })
  cases:describe('losses over no weight match PyTorch')
end
