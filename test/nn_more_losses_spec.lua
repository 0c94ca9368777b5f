-- The further loss modules against PyTorch: MarginRankingLoss, HingeEmbeddingLoss, CosineEmbeddingLoss,
-- SoftMarginLoss, MultiLabelSoftMarginLoss, MultiMarginLoss, TripletMarginLoss, PoissonNLLLoss and GaussianNLLLoss,
-- each reduction and their options, float64 and float32; the loss and the gradients of every input that has one
-- must match (helpers.nnref). Class ids are 1-based here and shifted in the Python snippets. Then their functional
-- forms, printing, and the errors bad input raises.
local torch = require 'tensor'
local nn = require 'tensor.nn'
local nnref = require 'helpers.nnref'
local message = require 'helpers.failure'

torch.manual_seed(4242)

local randn, rand = torch.randn, torch.rand
local F = nn.F
-- a tensor of 1 and -1
local function signs(...) return torch.rand(...):gt(0.5):double() * 2 - 1 end
local function ids(n, classes) return torch.randint(1, classes + 1, { n }, { dtype = 'int64' }) end

describe('further losses match PyTorch', function()
  local cases = nnref.new()
  local function case(c) cases:add(c) end
  local REDUCTIONS = { 'mean', 'sum', 'none' }

  for _, r in ipairs(REDUCTIONS) do
    local o, py = { reduction = r }, string.format("reduction='%s'", r)
    case { name = 'MarginRankingLoss ' .. r, build = function() return nn.MarginRankingLoss(o) end,
           py = 'nn.MarginRankingLoss(' .. py .. ')', inputs = { randn(8), randn(8), signs(8) }, grad_inputs = { 1, 2 } }
    case { name = 'HingeEmbeddingLoss ' .. r, build = function() return nn.HingeEmbeddingLoss(o) end,
           py = 'nn.HingeEmbeddingLoss(' .. py .. ')', inputs = { randn(4, 5) * 2, signs(4, 5) }, grad_inputs = { 1 } }
    case { name = 'CosineEmbeddingLoss ' .. r, build = function() return nn.CosineEmbeddingLoss(o) end,
           py = 'nn.CosineEmbeddingLoss(' .. py .. ')', inputs = { randn(6, 4), randn(6, 4), signs(6) },
           grad_inputs = { 1, 2 } }
    case { name = 'SoftMarginLoss ' .. r, build = function() return nn.SoftMarginLoss(o) end,
           py = 'nn.SoftMarginLoss(' .. py .. ')', inputs = { randn(5, 3) * 2, signs(5, 3) }, grad_inputs = { 1 } }
    case { name = 'MultiLabelSoftMarginLoss ' .. r, build = function() return nn.MultiLabelSoftMarginLoss(o) end,
           py = 'nn.MultiLabelSoftMarginLoss(' .. py .. ')', inputs = { randn(5, 4) * 2, rand(5, 4):gt(0.5):double() },
           grad_inputs = { 1 } }
    case { name = 'MultiMarginLoss ' .. r, build = function() return nn.MultiMarginLoss(o) end,
           py = 'nn.MultiMarginLoss(' .. py .. ')', inputs = { randn(6, 5), ids(6, 5) }, py_pre = 'x2 = x2 - 1' }
    case { name = 'TripletMarginLoss ' .. r, build = function() return nn.TripletMarginLoss(o) end,
           py = 'nn.TripletMarginLoss(' .. py .. ')', inputs = { randn(5, 4), randn(5, 4), randn(5, 4) } }
    case { name = 'PoissonNLLLoss ' .. r, build = function() return nn.PoissonNLLLoss(o) end,
           py = 'nn.PoissonNLLLoss(' .. py .. ')', inputs = { randn(4, 3), torch.randint(0, 6, { 4, 3 }):double() },
           grad_inputs = { 1 } }
    case { name = 'GaussianNLLLoss ' .. r, build = function() return nn.GaussianNLLLoss(o) end,
           py = 'nn.GaussianNLLLoss(' .. py .. ')', inputs = { randn(4, 3), randn(4, 3), rand(4, 3) + 0.1 } }
  end

  -- options
  case { name = 'MarginRankingLoss margin 0.5, [N x 1] inputs', build = function() return nn.MarginRankingLoss(0.5) end,
         py = 'nn.MarginRankingLoss(0.5)', inputs = { randn(6, 1), randn(6, 1), signs(6, 1) }, grad_inputs = { 1, 2 } }
  case { name = 'MarginRankingLoss float32', dtype = 'float32', build = function()
           return nn.MarginRankingLoss({ margin = 0.2 }) end,
         py = 'nn.MarginRankingLoss(margin=0.2)', inputs = { randn(10), randn(10), signs(10) }, grad_inputs = { 1, 2 } }
  case { name = 'HingeEmbeddingLoss margin 2, targets other than +-1', build = function()
           return nn.HingeEmbeddingLoss(2, { reduction = 'none' }) end,
         py = "nn.HingeEmbeddingLoss(2.0, reduction='none')",
         inputs = { randn(6) * 2, torch.tensor({ 1, -1, 0, 1, 2, -1 }, { dtype = 'float64' }) }, grad_inputs = { 1 } }
  case { name = 'CosineEmbeddingLoss margin 0.3, 1-d inputs and a 0-d target', build = function()
           return nn.CosineEmbeddingLoss({ margin = 0.3 }) end,
         py = 'nn.CosineEmbeddingLoss(margin=0.3)', inputs = { randn(5), randn(5), torch.tensor(-1.5):sign() },
         grad_inputs = { 1, 2 } }
  case { name = 'CosineEmbeddingLoss float32, a zero row', dtype = 'float32', build = function()
           return nn.CosineEmbeddingLoss(0.1) end,
         py = 'nn.CosineEmbeddingLoss(0.1)', inputs = { torch.cat({ torch.zeros(1, 4), randn(4, 4) }, 1), randn(5, 4), signs(5) },
         grad_inputs = { 1, 2 } }
  case { name = 'SoftMarginLoss float32', dtype = 'float32', build = function() return nn.SoftMarginLoss() end,
         py = 'nn.SoftMarginLoss()', inputs = { randn(7, 2) * 3, signs(7, 2) }, grad_inputs = { 1 } }
  case { name = 'MultiLabelSoftMarginLoss weight (a buffer)', build = function()
           return nn.MultiLabelSoftMarginLoss(rand(4) + 0.5) end,
         py = 'nn.MultiLabelSoftMarginLoss(torch.ones(4))', inputs = { randn(5, 4), rand(5, 4):gt(0.5):double() },
         grad_inputs = { 1 } }
  case { name = 'MultiLabelSoftMarginLoss 1-d, soft targets, float32', dtype = 'float32', build = function()
           return nn.MultiLabelSoftMarginLoss() end,
         py = 'nn.MultiLabelSoftMarginLoss()', inputs = { randn(6), rand(6) }, grad_inputs = { 1 } }
  case { name = 'MultiMarginLoss p=2, margin 0.5, weight', build = function()
           return nn.MultiMarginLoss(2, 0.5, rand(4) + 0.5) end,
         py = 'nn.MultiMarginLoss(2, 0.5, torch.ones(4))', inputs = { randn(7, 4), ids(7, 4) }, py_pre = 'x2 = x2 - 1' }
  case { name = 'MultiMarginLoss weight, none, float32', dtype = 'float32', build = function()
           return nn.MultiMarginLoss({ weight = rand(3) + 0.5, reduction = 'none' }) end,
         py = "nn.MultiMarginLoss(weight=torch.ones(3), reduction='none')", inputs = { randn(5, 3), ids(5, 3) },
         py_pre = 'x2 = x2 - 1' }
  case { name = 'MultiMarginLoss unbatched [C] with a 0-d target', build = function() return nn.MultiMarginLoss() end,
         py = 'nn.MultiMarginLoss()', inputs = { randn(5), torch.tensor(3, { dtype = 'int64' }) }, py_pre = 'x2 = x2 - 1' }
  case { name = 'MultiMarginLoss unbatched [C] with a [1] target, none', build = function()
           return nn.MultiMarginLoss({ reduction = 'none' }) end,
         py = "nn.MultiMarginLoss(reduction='none')", inputs = { randn(4), torch.tensor({ 2 }, { dtype = 'int64' }) },
         py_pre = 'x2 = x2 - 1' }
  case { name = 'TripletMarginLoss margin 2, p 1, swap', build = function()
           return nn.TripletMarginLoss(2, 1, 1e-6, true) end,
         py = 'nn.TripletMarginLoss(2.0, 1.0, 1e-6, True)', inputs = { randn(6, 3), randn(6, 3), randn(6, 3) } }
  case { name = 'TripletMarginLoss p 3, eps 0.01, swap, none, float32', dtype = 'float32', build = function()
           return nn.TripletMarginLoss({ p = 3, eps = 0.01, swap = true, reduction = 'none' }) end,
         py = "nn.TripletMarginLoss(p=3.0, eps=0.01, swap=True, reduction='none')",
         inputs = { randn(5, 4), randn(5, 4), randn(5, 4) } }
  case { name = 'TripletMarginLoss 1-d inputs', build = function() return nn.TripletMarginLoss(0.5) end,
         py = 'nn.TripletMarginLoss(0.5)', inputs = { randn(4), randn(4), randn(4) } }
  case { name = 'PoissonNLLLoss log_input=false, full', build = function()
           return nn.PoissonNLLLoss(false, true) end,
         py = 'nn.PoissonNLLLoss(False, True)', inputs = { rand(5, 3) * 4 + 0.1, torch.randint(0, 7, { 5, 3 }):double() },
         grad_inputs = { 1 } }
  case { name = 'PoissonNLLLoss full, eps, sum, float32', dtype = 'float32', build = function()
           return nn.PoissonNLLLoss({ full = true, eps = 1e-4, reduction = 'sum' }) end,
         py = "nn.PoissonNLLLoss(full=True, eps=1e-4, reduction='sum')",
         inputs = { randn(6, 2), torch.randint(0, 9, { 6, 2 }):double() }, grad_inputs = { 1 } }
  case { name = 'GaussianNLLLoss full, one variance per sample [N]', build = function()
           return nn.GaussianNLLLoss({ full = true }) end,
         py = 'nn.GaussianNLLLoss(full=True)', inputs = { randn(5, 3), randn(5, 3), rand(5) + 0.2 } }
  case { name = 'GaussianNLLLoss var [N x 1], eps 0.1 clamps (gradient passes), sum', build = function()
           return nn.GaussianNLLLoss({ eps = 0.1, reduction = 'sum' }) end,
         py = "nn.GaussianNLLLoss(eps=0.1, reduction='sum')",
         inputs = { randn(6, 2), randn(6, 2), torch.cat({ rand(3, 1) * 0.05, rand(3, 1) + 0.2 }, 1) } }
  case { name = 'GaussianNLLLoss float32', dtype = 'float32', build = function() return nn.GaussianNLLLoss() end,
         py = 'nn.GaussianNLLLoss()', inputs = { randn(4, 5), randn(4, 5), rand(4, 5) + 0.1 } }
  cases:run()
end)

describe('the functional forms of the further losses', function()
  local cases = nnref.new()
  local PY_FN, Fn = nnref.PY_FN, nnref.Fn
  local function fn_case(name, f, py, inputs, grad_inputs)
    cases:add { name = name, build = function() return Fn(f) end, py_setup = PY_FN, py = 'Fn(' .. py .. ')',
                inputs = inputs, grad_inputs = grad_inputs }
  end
  fn_case('F.margin_ranking_loss positional, on transposed inputs', function(a, b, t)
    return F.margin_ranking_loss(a:t(), b:t(), t:t(), 0.1, 'sum')
  end, "lambda a, b, t: F.margin_ranking_loss(a.t(), b.t(), t.t(), 0.1, reduction='sum')",
          { randn(3, 4), randn(3, 4), signs(3, 4) }, { 1, 2 })
  fn_case('F.hinge_embedding_loss, F.soft_margin_loss with tables', function(x, t)
    return F.hinge_embedding_loss(x, t, { margin = 0.5, reduction = 'none' }), F.soft_margin_loss(x, t, { reduction = 'sum' })
  end, "lambda x, t: (F.hinge_embedding_loss(x, t, margin=0.5, reduction='none'), F.soft_margin_loss(x, t, reduction='sum'))",
          { randn(4, 3), signs(4, 3) }, { 1 })
  fn_case('F.multi_margin_loss and F.multilabel_soft_margin_loss', function(x, t, y)
    return F.multi_margin_loss(x, t, { margin = 2 }), F.multilabel_soft_margin_loss(x, y, nil, 'none')
  end, "lambda x, t, y: (F.multi_margin_loss(x, t - 1, margin=2.0), F.multilabel_soft_margin_loss(x, y, reduction='none'))",
          { randn(5, 3), ids(5, 3), rand(5, 3):gt(0.5):double() }, { 1 })
  fn_case('F.triplet_margin_loss, F.cosine_embedding_loss', function(a, p, n, t)
    return F.triplet_margin_loss(a, p, n, { swap = true }), F.cosine_embedding_loss(a, p, t, 0.2)
  end, 'lambda a, p, n, t: (F.triplet_margin_loss(a, p, n, swap=True), F.cosine_embedding_loss(a, p, t, 0.2))',
          { randn(4, 3), randn(4, 3), randn(4, 3), signs(4) }, { 1, 2, 3 })
  fn_case('F.poisson_nll_loss, F.gaussian_nll_loss', function(x, t, v)
    return F.poisson_nll_loss(x, t, { full = true }), F.gaussian_nll_loss(x, t, v, { full = true, reduction = 'none' })
  end, "lambda x, t, v: (F.poisson_nll_loss(x, t, full=True), F.gaussian_nll_loss(x, t, v, full=True, reduction='none'))",
          { randn(3, 4), torch.randint(0, 5, { 3, 4 }):double(), rand(3, 4) + 0.1 }, { 1, 3 })
  cases:run()
end)

describe('further loss modules', function()
  it('keep a tensor weight as a buffer, and print their reduction', function()
    local m = nn.MultiMarginLoss({ weight = torch.ones(3) })
    local keys = {}
    for _, e in ipairs(m:state_dict_keys()) do keys[#keys + 1] = e[1] end
    assert.are.same({ 'weight' }, keys)
    m:to('float64')
    assert.are.equal('float64', m.weight:dtype())
    assert.are.same({}, nn.TripletMarginLoss():state_dict_keys())
    assert.are.equal('TripletMarginLoss()', tostring(nn.TripletMarginLoss()))
    assert.are.equal("SoftMarginLoss(reduction='sum')", tostring(nn.SoftMarginLoss({ reduction = 'sum' })))
    local triplet = nn.TripletMarginLoss(2, { swap = true, reduction = 'sum' })
    assert.are.same({ 2, 2, true, 'sum' }, { triplet.margin, triplet.p, triplet.swap, triplet.reduction })
    assert.are.equal(false, nn.PoissonNLLLoss(false).log_input)
    assert.are.equal(true, nn.PoissonNLLLoss().log_input)
  end)
end)

describe('bad input to the further losses', function()
  local fails = require('helpers.failure').containing
  it('unknown options and bad reductions raise, naming the module', function()
    fails(function() nn.MarginRankingLoss({ margn = 1 }) end, 'MarginRankingLoss', 'margn')
    fails(function() nn.TripletMarginLoss({ reduction = 'avg' }) end, 'TripletMarginLoss', 'avg')
    fails(function() F.soft_margin_loss(randn(3), signs(3), 'avg') end, 'F.soft_margin_loss', 'avg')
    fails(function() F.gaussian_nll_loss(randn(3), randn(3), rand(3), { reduction = 'avg' }) end, 'gaussian_nll_loss', 'avg')
    fails(function() F.poisson_nll_loss(randn(3), randn(3), { ful = true }) end, 'F.poisson_nll_loss', 'ful')
  end)
  it('shapes that do not fit raise, naming them', function()
    fails(function() F.margin_ranking_loss(randn(3), randn(3), signs(3, 1)) end, 'F.margin_ranking_loss', '[3 x 1]')
    fails(function() F.margin_ranking_loss(randn(3), randn(4), signs(3)) end, 'F.margin_ranking_loss', '[3]', '[4]')
    fails(function() F.hinge_embedding_loss(randn(3, 2), signs(3, 3)) end, 'F.hinge_embedding_loss', '[3 x 2]', '[3 x 3]')
    fails(function() F.cosine_embedding_loss(randn(3, 4), randn(3, 4), signs(3, 1)) end, 'F.cosine_embedding_loss',
          '[3 x 1]')
    fails(function() F.cosine_embedding_loss(randn(3, 4), randn(3, 4), signs(2)) end, 'F.cosine_embedding_loss', '[2]')
    fails(function() F.cosine_embedding_loss(randn(4), randn(4), signs(4)) end, 'F.cosine_embedding_loss', '2-d')
    fails(function() F.triplet_margin_loss(randn(3, 4), randn(3, 4), randn(4)) end, 'F.triplet_margin_loss', '[4]')
    fails(function() F.gaussian_nll_loss(randn(3, 4), randn(3, 4), rand(3, 2)) end, 'F.gaussian_nll_loss', '[3 x 2]',
          '[3 x 4]')
  end)
  it('MultiMarginLoss checks class ids, p, the weight and the input', function()
    local m = nn.MultiMarginLoss()
    fails(function() m(randn(3, 4), torch.tensor({ 1, 5, 2 }, { dtype = 'int64' })) end, 'F.multi_margin_loss', '1..4', '5')
    fails(function() m(randn(3, 4), torch.tensor({ 0, 1, 2 }, { dtype = 'int64' })) end, 'F.multi_margin_loss', '0')
    fails(function() m(randn(3, 4), torch.tensor({ 1, 2 }, { dtype = 'int64' })) end, 'F.multi_margin_loss', '3', '[2]')
    fails(function() m(randn(3, 4), torch.tensor({ 1, 2, 1 }, { dtype = 'float64' })) end, 'F.multi_margin_loss', 'integer')
    fails(function() m(randn(2, 3, 4), ids(2, 3)) end, 'F.multi_margin_loss', '[2 x 3 x 4]')
    fails(function() nn.MultiMarginLoss(3)(randn(2, 3), ids(2, 3)) end, 'F.multi_margin_loss', 'p must be 1 or 2')
    fails(function() nn.MultiMarginLoss({ weight = torch.ones(2) })(randn(2, 3), ids(2, 3)) end, 'F.multi_margin_loss',
          'weight', '3')
  end)
  it('GaussianNLLLoss refuses negative variances', function()
    fails(function() F.gaussian_nll_loss(randn(3), randn(3), torch.tensor({ 1, -0.5, 1 })) end, 'F.gaussian_nll_loss',
          'negative')
  end)
end)
