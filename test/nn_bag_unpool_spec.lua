-- EmbeddingBag, LPPool, MaxUnpool, MultiLabelMarginLoss and TripletMarginWithDistanceLoss against PyTorch: the
-- modules with the same weights and inputs (helpers.nnref: outputs, input and parameter gradients), ids and
-- offsets 1-based here and 0-based there; then the F spellings (max_pool*_with_indices, upsample*) and the errors.
local torch = require 'tensor'
local nn = require 'tensor.nn'
local nnref = require 'helpers.nnref'
local message = require 'helpers.failure'

torch.manual_seed(777)
local F = nn.F
local randn = torch.randn
local PY_FN, Fn = nnref.PY_FN, nnref.Fn

describe('EmbeddingBag matches PyTorch', function()
  local cases = nnref.new()
  local ids1 = torch.tensor({ 3, 1, 4, 4, 2, 6, 5, 1 })
  local offsets = torch.tensor({ 1, 3, 3, 6 }) -- bags of 2, 0, 3 and 3 ids (one empty)
  local ids2 = torch.tensor({ { 2, 5, 1 }, { 6, 6, 3 } })
  for _, mode in ipairs({ 'sum', 'mean', 'max' }) do
    cases:add { name = 'EmbeddingBag 1-d ids and offsets, mode ' .. mode,
                build = function() return nn.EmbeddingBag(6, 4, { mode = mode }) end,
                py = ("nn.EmbeddingBag(6, 4, mode='%s')"):format(mode), inputs = { ids1, offsets },
                py_pre = 'x1 = x1 - 1; x2 = x2 - 1' }
    cases:add { name = 'EmbeddingBag 2-d ids, padding_idx 6, mode ' .. mode,
                build = function() return nn.EmbeddingBag(6, 3, { mode = mode, padding_idx = 6 }) end,
                py = ("nn.EmbeddingBag(6, 3, mode='%s', padding_idx=5)"):format(mode), inputs = { ids2 },
                py_pre = 'x1 = x1 - 1' }
  end
  cases:add { name = 'EmbeddingBag sum with per_sample_weights (their gradient too)',
              build = function() return nn.EmbeddingBag(6, 4, { mode = 'sum' }) end,
              py = "nn.EmbeddingBag(6, 4, mode='sum')", inputs = { ids1, offsets, randn(8, { dtype = 'float64' }) },
              py_pre = 'x1 = x1 - 1; x2 = x2 - 1' }
  -- (the last offset at the end, as PyTorch documents it: 1.13 corrupts its heap when ids follow it in mode 'mean')
  cases:add { name = 'EmbeddingBag include_last_offset',
              build = function() return nn.EmbeddingBag(6, 2, { mode = 'mean', include_last_offset = true }) end,
              py = "nn.EmbeddingBag(6, 2, mode='mean', include_last_offset=True)",
              inputs = { ids1, torch.tensor({ 1, 2, 5, 9 }) }, py_pre = 'x1 = x1 - 1; x2 = x2 - 1' }
  cases:add { name = 'EmbeddingBag max_norm renormalises the rows it reads',
              build = function() return nn.EmbeddingBag(6, 4, { mode = 'sum', max_norm = 1 }) end,
              py = "nn.EmbeddingBag(6, 4, mode='sum', max_norm=1.0)", inputs = { ids2 }, py_pre = 'x1 = x1 - 1' }
  cases:add { name = 'EmbeddingBag float32', build = function() return nn.EmbeddingBag(6, 4) end,
              py = 'nn.EmbeddingBag(6, 4)', inputs = { ids1, offsets }, dtype = 'float32',
              py_pre = 'x1 = x1 - 1; x2 = x2 - 1' }
  cases:run()
end)

describe('LPPool and MaxUnpool match PyTorch', function()
  local cases = nnref.new()
  for _, p in ipairs({ 1, 2, 3.5 }) do
    cases:add { name = 'LPPool2d(' .. p .. ', 2) of positive input', build = function() return nn.LPPool2d(p, 2) end,
                py = ('nn.LPPool2d(%s, 2)'):format(p), inputs = { randn(2, 3, 6, 5):abs() + 0.1 } }
  end
  cases:add { name = 'LPPool2d(2, {3, 2}, stride {2, 1}, ceil_mode) of signed input',
              build = function() return nn.LPPool2d(2, { 3, 2 }, { 2, 1 }, true) end,
              py = 'nn.LPPool2d(2, (3, 2), (2, 1), ceil_mode=True)', inputs = { randn(2, 2, 7, 5) } }
  cases:add { name = 'LPPool1d(3, 3, stride 2)', build = function() return nn.LPPool1d(3, 3, 2) end,
              py = 'nn.LPPool1d(3, 3, 2)', inputs = { randn(2, 4, 9):abs() } }
  -- unpooling what a max pool gave, ours with our 1-based indices, PyTorch's with its own
  local function unpool_case(name, n, shape, pool_args, py_pool, unpool_args, py_unpool, output_size, py_size)
    cases:add { name = name, build = function()
                  return Fn(function(x)
                    local y, i = F['max_pool' .. n .. 'd'](x, unpack(pool_args))
                    return F['max_unpool' .. n .. 'd'](y, i, unpack(unpool_args)), i:double()
                  end) end,
                py_setup = PY_FN, py = ([[Fn(lambda x: (lambda y, i: (F.max_unpool%dd(y, i, %s), (i + 1).double()))(
    *F.max_pool%dd(x, %s, return_indices=True)))]]):format(n, py_unpool .. (py_size or ''), n, py_pool),
                inputs = { randn(unpack(shape)) } }
  end
  unpool_case('MaxUnpool2d of MaxPool2d(2)', 2, { 2, 3, 6, 4 }, { 2, { return_indices = true } }, '2', { 2 }, '2')
  unpool_case('MaxUnpool2d stride 2, padding 1, output_size', 2, { 1, 2, 7, 7 },
              { 3, { stride = 2, padding = 1, return_indices = true } }, '3, 2, 1',
              { 3, { stride = 2, padding = 1, output_size = { 7, 7 } } }, '3, 2, 1', true, ', output_size=(7, 7)')
  unpool_case('MaxUnpool1d', 1, { 2, 3, 8 }, { 2, { return_indices = true } }, '2', { 2 }, '2')
  unpool_case('MaxUnpool2d of an unbatched input', 2, { 3, 4, 4 }, { 2, { return_indices = true } }, '2', { 2 }, '2')
  cases:add { name = 'MaxUnpool2d module', build = function()
                return Fn(function(x)
                  local y, i = nn.MaxPool2d(2, { return_indices = true })(x)
                  return nn.MaxUnpool2d(2)(y, i)
                end) end,
              py_setup = PY_FN, py = 'Fn(lambda x: nn.MaxUnpool2d(2)(*nn.MaxPool2d(2, return_indices=True)(x)))',
              inputs = { randn(2, 2, 4, 6) } }
  cases:run()
end)

describe('the margin losses match PyTorch', function()
  local cases = nnref.new()
  -- class lists: 1-based here, ending at 0 or -1; 0-based there, ending at -1
  local t = torch.tensor({ { 4, 1, 0, 2 }, { 2, -1, 3, 3 }, { 1, 2, 3, 4 }, { 0, 1, 2, 3 } })
  for _, reduction in ipairs({ 'mean', 'sum', 'none' }) do
    cases:add { name = 'MultiLabelMarginLoss, reduction ' .. reduction,
                build = function() return nn.MultiLabelMarginLoss({ reduction = reduction }) end,
                py = ("nn.MultiLabelMarginLoss(reduction='%s')"):format(reduction), inputs = { randn(4, 4), t },
                py_pre = 'x2 = torch.where(x2 >= 1, x2 - 1, -torch.ones_like(x2))' }
  end
  cases:add { name = 'MultiLabelMarginLoss of one sample [C]', build = function() return nn.MultiLabelMarginLoss() end,
              py = 'nn.MultiLabelMarginLoss()', inputs = { randn(5), torch.tensor({ 3, 5, 0, 1, 1 }) },
              py_pre = 'x2 = torch.where(x2 >= 1, x2 - 1, -torch.ones_like(x2))' }
  cases:add { name = 'TripletMarginWithDistanceLoss (the default distance, swap)',
              build = function() return nn.TripletMarginWithDistanceLoss({ margin = 0.7, swap = true }) end,
              py = 'nn.TripletMarginWithDistanceLoss(margin=0.7, swap=True)',
              inputs = { randn(5, 3), randn(5, 3), randn(5, 3) } }
  cases:add { name = 'TripletMarginWithDistanceLoss with a cosine distance, sum',
              build = function()
                return nn.TripletMarginWithDistanceLoss({
                  distance_function = function(u, v) return 1 - F.cosine_similarity(u, v) end, reduction = 'sum' })
              end,
              py = "nn.TripletMarginWithDistanceLoss(distance_function=lambda u, v: 1 - F.cosine_similarity(u, v), "
                .. "reduction='sum')",
              inputs = { randn(4, 6), randn(4, 6), randn(4, 6) } }
  cases:run()
end)

describe('the F spellings of pools and upsampling match PyTorch', function()
  local cases = nnref.new()
  local function fn_case(name, f, py, inputs)
    cases:add { name = name, build = function() return Fn(f) end, py_setup = PY_FN, py = 'Fn(' .. py .. ')',
                inputs = inputs }
  end
  -- (the indices as float64, outputs without gradients)
  fn_case('F.max_pool2d_with_indices', function(x)
            local y, i = F.max_pool2d_with_indices(x, 3, 2, 1) return y, i:double() end,
          'lambda x: (lambda y, i: (y, (i + 1).double()))(*F.max_pool2d_with_indices(x, 3, 2, 1))', { randn(2, 2, 7, 6) })
  fn_case('F.max_pool1d_with_indices', function(x) local y, i = F.max_pool1d_with_indices(x, 2) return y, i:double() end,
          'lambda x: (lambda y, i: (y, (i + 1).double()))(*F.max_pool1d_with_indices(x, 2))', { randn(2, 3, 8) })
  fn_case('F.adaptive_max_pool2d_with_indices', function(x)
            local y, i = F.adaptive_max_pool2d_with_indices(x, { 3, 2 }) return y, i:double() end,
          'lambda x: (lambda y, i: (y, (i + 1).double()))(*F.adaptive_max_pool2d_with_indices(x, (3, 2)))',
          { randn(2, 2, 7, 5) })
  fn_case('F.upsample (bilinear), F.upsample_nearest, F.upsample_bilinear (corners aligned)', function(x)
            return F.upsample(x, { scale_factor = 2, mode = 'bilinear' }), F.upsample_nearest(x, { size = { 5, 7 } }),
              F.upsample_bilinear(x, { scale_factor = 2 })
          end, [[lambda x: (F.upsample(x, scale_factor=2, mode='bilinear'), F.upsample_nearest(x, size=(5, 7)),
    F.upsample_bilinear(x, scale_factor=2))]], { randn(1, 2, 3, 4) })
  fn_case('F.lp_pool2d and F.embedding_bag with offsets and an options table', function(x, w)
            return F.lp_pool2d(x, 2, 2), F.embedding_bag(torch.tensor({ 1, 3, 2 }), w, torch.tensor({ 1, 2 }),
                                                         { mode = 'sum' })
          end, "lambda x, w: (F.lp_pool2d(x, 2, 2), F.embedding_bag(torch.tensor([0, 2, 1]), w, torch.tensor([0, 1]), "
            .. "mode='sum'))", { randn(1, 2, 4, 4), randn(4, 3) })
  cases:run()
end)

describe('embedding bags by hand', function()
  it('leave out the ids after the last offset with include_last_offset', function()
    local w = randn(6, 2, { dtype = 'float64' })
    local ids = torch.tensor({ 3, 1, 4, 4, 2, 6 })
    local y = F.embedding_bag(ids, w, torch.tensor({ 1, 2, 4 }), { mode = 'mean', include_last_offset = true })
    local want = torch.stack({ w[3], (w[1] + w[4]) / 2 })
    assert.is_true((y - want):abs():max() < 1e-15)
  end)
end)

describe('bad input to the bags, pools and margin losses', function()
  local fails = require('helpers.failure').containing
  it('names the function and the values', function()
    local w = randn(5, 3)
    fails(function() F.embedding_bag(torch.tensor({ 1, 2 }), w) end, 'F.embedding_bag', 'offsets are needed')
    fails(function() F.embedding_bag(torch.tensor({ 1, 2 }), w, torch.tensor({ 0, 1 })) end, 'F.embedding_bag',
          'start at 1', '0')
    fails(function() F.embedding_bag(torch.tensor({ 1, 2 }), w, torch.tensor({ 1, 4 })) end, 'F.embedding_bag', '(3)', '4')
    fails(function() F.embedding_bag(torch.tensor({ 1, 2, 3 }), w, torch.tensor({ 1, 3, 2 })) end, 'F.embedding_bag',
          'must not decrease')
    fails(function() F.embedding_bag(torch.tensor({ { 1, 2 } }), w, torch.tensor({ 1 })) end, 'F.embedding_bag',
          'offsets must be nil')
    fails(function() F.embedding_bag(torch.tensor({ { 1, 2 } }), w, { mode = 'median' }) end, 'F.embedding_bag', 'median')
    fails(function() F.embedding_bag(torch.tensor({ { 1, 2 } }), w, { mode = 'mean', per_sample_weights = randn(1, 2) }) end,
          'F.embedding_bag', "only supported with mode 'sum'")
    fails(function() F.embedding_bag(torch.tensor({ { 1, 9 } }), w) end, '9')
    fails(function() nn.EmbeddingBag(5, 3, { mode = 'prod' }) end, 'EmbeddingBag', 'prod')
    local x = randn(1, 1, 4, 4)
    local y, i = F.max_pool2d(x, 2, { return_indices = true })
    fails(function() F.max_unpool2d(y, i:add(20), 2) end, 'F.max_unpool2d', 'outside the output plane of 16')
    fails(function() F.max_unpool2d(y, i:narrow(4, 1, 1), 2) end, 'F.max_unpool2d', 'indices')
    fails(function() F.max_unpool2d(y, i, 2, { output_size = { 9, 9 } }) end, 'F.max_unpool2d', 'within a stride')
    fails(function() F.lp_pool2d(x, 0, 2) end, 'F.lp_pool2d', 'norm_type')
    fails(function() F.multilabel_margin_loss(randn(2, 3), torch.tensor({ { 1, 4, 0 }, { 1, 0, 0 } })) end,
          'F.multilabel_margin_loss', '(4)', '3 classes')
    fails(function() F.multilabel_margin_loss(randn(2, 3), torch.tensor({ 1, 0 })) end, 'F.multilabel_margin_loss',
          '[2 x 3]', '[2]')
    fails(function() F.triplet_margin_with_distance_loss(randn(2, 3), randn(2, 3), randn(2, 3),
                                                         { distance_function = 3 }) end,
          'F.triplet_margin_with_distance_loss', 'callable')
  end)
end)
