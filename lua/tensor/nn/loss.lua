-- tensor.nn.loss: loss modules over nn.functional's losses, with PyTorch's options: MSELoss, L1Loss, SmoothL1Loss,
-- HuberLoss, CrossEntropyLoss, NLLLoss, BCELoss, BCEWithLogitsLoss, KLDivLoss, MarginRankingLoss, HingeEmbeddingLoss,
-- CosineEmbeddingLoss, SoftMarginLoss, MultiLabelSoftMarginLoss, MultiMarginLoss, TripletMarginLoss,
-- TripletMarginWithDistanceLoss, MultiLabelMarginLoss, PoissonNLLLoss, GaussianNLLLoss.
local torch = require 'tensor'
local common = require 'tensor.nn.common'
local F = require 'tensor.nn.functional'

return function(nn)
  local Module = nn.Module

  local function reduction_of(name, opts)
    local r = opts.reduction or 'mean'
    if r ~= 'mean' and r ~= 'sum' and r ~= 'none' and not (name == 'KLDivLoss' and r == 'batchmean') then
      error(string.format("%s: reduction must be 'mean', 'sum' or 'none', got %s", name, tostring(r)), 4)
    end
    return r
  end

  -- A loss module. Its options: `positional` (in PyTorch's order, before its deprecated size_average; they may
  -- also come in a trailing table), the keys of `defaults` and reduction, given as a table. A tensor option is a
  -- buffer, as in PyTorch (in the state dict, converted by :to()). forward(self, ...) is fn.
  local function define(name, fn, defaults, positional)
    defaults, positional = defaults or {}, positional or {}
    local table_only = {}
    for k in pairs(defaults) do
      local listed = false
      for _, p in ipairs(positional) do listed = listed or p == k end
      if not listed then table_only[#table_only + 1] = k end
    end
    -- a fixed order (the buffers' in the state dict): weight first, as PyTorch registers it, then by name
    table.sort(table_only, function(a, b)
      if (a == 'weight') ~= (b == 'weight') then return a == 'weight' end
      return a < b
    end)
    local all, extra = {}, { 'reduction' }
    for _, k in ipairs(positional) do all[#all + 1] = k end
    for _, k in ipairs(table_only) do all[#all + 1], extra[#extra + 1] = k, k end
    local class = Module:extend(name)
    nn[name] = class
    function class:init(...)
      local first = select(1, ...)
      if #positional == 0 and first ~= nil and not common.is_opts(first) then
        error(string.format('%s: expected an options table, got %s', name, type(first)), 3)
      end
      local o = common.mixed_options(name, positional, extra, ...)
      self.reduction = reduction_of(name, o)
      for _, k in ipairs(all) do
        local v = o[k]
        if v == nil then v = defaults[k] end
        if torch.is_tensor(v) then self:register_buffer(k, v) elseif v ~= nil then self[k] = v end
      end
    end
    class.forward = fn
    function class:extra_repr() return self.reduction ~= 'mean' and ("reduction='" .. self.reduction .. "'") or '' end
    return class
  end

  --- nn.MSELoss({reduction='mean'}) -> module
  define('MSELoss', function(self, x, t) return F.mse_loss(x, t, self.reduction) end)
  --- nn.L1Loss({reduction='mean'}) -> module
  define('L1Loss', function(self, x, t) return F.l1_loss(x, t, self.reduction) end)
  --- nn.SmoothL1Loss({reduction='mean', beta=1}) -> module
  define('SmoothL1Loss', function(self, x, t) return F.smooth_l1_loss(x, t, self.reduction, self.beta) end, { beta = 1 })
  --- nn.HuberLoss({reduction='mean', delta=1}) -> module
  define('HuberLoss', function(self, x, t) return F.huber_loss(x, t, self.reduction, self.delta) end, { delta = 1 })
  --- nn.CrossEntropyLoss({weight=, ignore_index=-100, reduction='mean', label_smoothing=0}) -> module
  -- Cross entropy of logits [N x C (x d...)] against 1-based class ids (or class probabilities).
  define('CrossEntropyLoss', function(self, x, t)
    return F.cross_entropy(x, t, { weight = self.weight or nil, ignore_index = self.ignore_index, reduction = self.reduction,
                                   label_smoothing = self.label_smoothing })
  end, { ignore_index = -100, label_smoothing = 0, weight = false })
  --- nn.NLLLoss({weight=, ignore_index=-100, reduction='mean'}) -> module
  define('NLLLoss', function(self, x, t)
    return F.nll_loss(x, t, { weight = self.weight or nil, ignore_index = self.ignore_index, reduction = self.reduction })
  end, { ignore_index = -100, weight = false })
  --- nn.BCELoss({weight=, reduction='mean'}) -> module
  define('BCELoss', function(self, x, t) return F.binary_cross_entropy(x, t, self.weight or nil, self.reduction) end,
         { weight = false })
  --- nn.BCEWithLogitsLoss({weight=, reduction='mean', pos_weight=}) -> module
  define('BCEWithLogitsLoss', function(self, x, t)
    return F.binary_cross_entropy_with_logits(x, t, self.weight or nil, self.reduction, self.pos_weight or nil)
  end, { weight = false, pos_weight = false })
  --- nn.KLDivLoss({reduction='mean', log_target=false}) -> module
  -- The input holds log-probabilities; reduction='batchmean' gives the true mean KL divergence.
  define('KLDivLoss', function(self, x, t) return F.kl_div(x, t, self.reduction, self.log_target) end,
         { log_target = false })

  --- nn.MarginRankingLoss(margin=0, {reduction='mean'}) -> module
  -- m(x1, x2, y): max(0, -y * (x1 - x2) + margin) for y in {1, -1} (F.margin_ranking_loss).
  define('MarginRankingLoss', function(self, x1, x2, t)
    return F.margin_ranking_loss(x1, x2, t, self.margin, self.reduction)
  end, { margin = 0 }, { 'margin' })
  --- nn.HingeEmbeddingLoss(margin=1, {reduction='mean'}) -> module
  -- m(x, y): x where y = 1, max(0, margin - x) where y = -1 (F.hinge_embedding_loss).
  define('HingeEmbeddingLoss', function(self, x, t)
    return F.hinge_embedding_loss(x, t, self.margin, self.reduction)
  end, { margin = 1 }, { 'margin' })
  --- nn.CosineEmbeddingLoss(margin=0, {reduction='mean'}) -> module
  -- m(x1, x2, y): 1 - cos(x1, x2) where y = 1, max(0, cos - margin) where y = -1 (F.cosine_embedding_loss).
  define('CosineEmbeddingLoss', function(self, x1, x2, t)
    return F.cosine_embedding_loss(x1, x2, t, self.margin, self.reduction)
  end, { margin = 0 }, { 'margin' })
  --- nn.SoftMarginLoss({reduction='mean'}) -> module
  -- m(x, y): log(1 + exp(-y x)) (F.soft_margin_loss).
  define('SoftMarginLoss', function(self, x, t) return F.soft_margin_loss(x, t, self.reduction) end)
  --- nn.MultiLabelSoftMarginLoss(weight, {reduction='mean'}) -> module
  -- m(x, y): per-class binary cross entropy of sigmoid(x) against 0/1 targets [N x C], averaged over the classes
  -- (F.multilabel_soft_margin_loss).
  define('MultiLabelSoftMarginLoss', function(self, x, t)
    return F.multilabel_soft_margin_loss(x, t, self.weight, self.reduction)
  end, {}, { 'weight' })
  --- nn.MultiMarginLoss(p=1, margin=1, weight, {reduction='mean'}) -> module
  -- m(x, y): the multi-class hinge loss of scores [N x C] against 1-based class ids [N] (F.multi_margin_loss).
  define('MultiMarginLoss', function(self, x, t)
    return F.multi_margin_loss(x, t, self.p, self.margin, self.weight, self.reduction)
  end, { p = 1, margin = 1 }, { 'p', 'margin', 'weight' })
  --- nn.TripletMarginLoss(margin=1, p=2, eps=1e-6, swap=false, {reduction='mean'}) -> module
  -- m(anchor, positive, negative): max(0, margin + d(a, p) - d(a, n)) (F.triplet_margin_loss).
  define('TripletMarginLoss', function(self, a, p, n)
    return F.triplet_margin_loss(a, p, n, self.margin, self.p, self.eps, self.swap, self.reduction)
  end, { margin = 1, p = 2, eps = 1e-6, swap = false }, { 'margin', 'p', 'eps', 'swap' })
  --- nn.TripletMarginWithDistanceLoss({distance_function=, margin=1, swap=false, reduction='mean'}) -> module
  -- TripletMarginLoss with a distance of your own (F.triplet_margin_with_distance_loss).
  define('TripletMarginWithDistanceLoss', function(self, a, p, n)
    return F.triplet_margin_with_distance_loss(a, p, n, { distance_function = self.distance_function,
                                                          margin = self.margin, swap = self.swap,
                                                          reduction = self.reduction })
  end, { distance_function = false, margin = 1, swap = false })
  --- nn.MultiLabelMarginLoss({reduction='mean'}) -> module
  -- m(x, y): the multi-label hinge loss of scores against lists of 1-based class ids ending at an id below 1
  -- (F.multilabel_margin_loss).
  define('MultiLabelMarginLoss', function(self, x, t) return F.multilabel_margin_loss(x, t, self.reduction) end)
  --- nn.PoissonNLLLoss(log_input=true, full=false, eps=1e-8, {reduction='mean'}) -> module
  -- m(x, y): the Poisson negative log-likelihood of counts y with log rates x (or rates, log_input=false)
  -- (F.poisson_nll_loss).
  define('PoissonNLLLoss', function(self, x, t)
    return F.poisson_nll_loss(x, t, self.log_input, self.full, self.eps, self.reduction)
  end, { log_input = true, full = false, eps = 1e-8 }, { 'log_input', 'full', 'eps' })
  --- nn.GaussianNLLLoss({full=false, eps=1e-6, reduction='mean'}) -> module
  -- m(x, y, var): the Gaussian negative log-likelihood of y with means x and variances var (F.gaussian_nll_loss).
  define('GaussianNLLLoss', function(self, x, t, var)
    return F.gaussian_nll_loss(x, t, var, self.full, self.eps, self.reduction)
  end, { full = false, eps = 1e-6 })
end
