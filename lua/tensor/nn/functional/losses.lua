-- tensor.nn.functional.losses: margin_ranking_loss, hinge_embedding_loss, cosine_embedding_loss,
-- soft_margin_loss, multilabel_soft_margin_loss, multi_margin_loss, triplet_margin_loss,
-- triplet_margin_with_distance_loss, multilabel_margin_loss, poisson_nll_loss and gaussian_nll_loss, with PyTorch's formulas and options (the deprecated size_average and reduce left out).
-- Each takes its options positionally, in PyTorch's order, or as one table in place of the first.
local torch = require 'tensor'

return function(F, h)
  local fail, check_tensor, options, shape_string, reduce, pair = h.fail, h.check_tensor, h.options, h.shape_string,
    h.reduce, h.pair

  local function number(fn, what, v)
    if type(v) ~= 'number' then fail(fn, '%s must be a number, got %s', what, tostring(v)) end
    return v
  end

  local function same_dims(fn, names, ...)
    local list = { ... }
    for i = 2, #list do
      if list[i]:dim() ~= list[1]:dim() then
        local parts = {}
        for k, t in ipairs(list) do parts[k] = names[k] .. ' ' .. shape_string(t) end
        fail(fn, 'expected inputs with the same number of dims, got %s', table.concat(parts, ', '))
      end
    end
  end

  --- F.margin_ranking_loss(input1, input2, target, margin=0, reduction='mean') -> Tensor
  -- max(0, -target * (input1 - input2) + margin), target holding 1 (input1 should rank higher) or -1. The three
  -- tensors have the same number of dims and broadcast.
  function F.margin_ranking_loss(x1, x2, t, ...)
    local fn = 'margin_ranking_loss'
    check_tensor(fn, x1, 'input1')
    check_tensor(fn, x2, 'input2')
    check_tensor(fn, t, 'the target')
    local o = options(fn, { 'margin', 'reduction' }, ...)
    same_dims(fn, { 'input1', 'input2', 'target' }, x1, x2, t)
    pair(fn, x1, x2)
    local diff = x1 - x2
    pair(fn, diff, t)
    local loss = (-t * diff + number(fn, 'margin', o.margin or 0)):clamp_min(0)
    return reduce(fn, loss, o.reduction)
  end

  --- F.hinge_embedding_loss(input, target, margin=1, reduction='mean') -> Tensor
  -- input where target is 1, max(0, margin - input) where it is -1 (PyTorch's sum of both terms for other
  -- target values).
  function F.hinge_embedding_loss(x, t, ...)
    local fn = 'hinge_embedding_loss'
    local o = options(fn, { 'margin', 'reduction' }, ...)
    pair(fn, x, t)
    local margin = number(fn, 'margin', o.margin or 1)
    local loss = torch.where(t:ne(1), (margin - x):clamp_min(0), 0) + torch.where(t:ne(-1), x, 0)
    return reduce(fn, loss, o.reduction)
  end

  --- F.cosine_embedding_loss(input1, input2, target, margin=0, reduction='mean') -> Tensor
  -- 1 - cos(input1, input2) where target is 1, max(0, cos - margin) where it is -1; inputs [N x D] with a
  -- target [N], or [D] with a 0-d target (the cosine's squared norms get 1e-12 added, as PyTorch).
  function F.cosine_embedding_loss(x1, x2, t, ...)
    local fn = 'cosine_embedding_loss'
    check_tensor(fn, x1, 'input1')
    check_tensor(fn, x2, 'input2')
    check_tensor(fn, t, 'the target')
    local o = options(fn, { 'margin', 'reduction' }, ...)
    local td = t:dim()
    if td > 1 then fail(fn, 'expected a 0-d or 1-d target, got %s', shape_string(t)) end
    if x1:dim() ~= td + 1 or x2:dim() ~= td + 1 then
      fail(fn, 'a %d-d target %s needs %d-d inputs, got %s and %s', td, shape_string(t), td + 1, shape_string(x1),
           shape_string(x2))
    end
    if not x1:is_same_size(x2) or (td == 1 and x1:size(1) ~= t:size(1)) then
      fail(fn, 'the inputs %s and %s and the target %s do not match', shape_string(x1), shape_string(x2), shape_string(t))
    end
    local dim = td + 1
    local EPS = 1e-12
    local cos = (x1 * x2):sum(dim) / (((x1 * x1):sum(dim) + EPS) * ((x2 * x2):sum(dim) + EPS)):sqrt()
    local margin = number(fn, 'margin', o.margin or 0)
    local loss = torch.where(t:eq(1), 1 - cos, 0) + torch.where(t:eq(-1), (cos - margin):clamp_min(0), 0)
    return reduce(fn, loss, o.reduction)
  end

  --- F.soft_margin_loss(input, target, reduction='mean') -> Tensor
  -- log(1 + exp(-target * input)), target holding 1 or -1 (computed without overflow).
  function F.soft_margin_loss(x, t, ...)
    local fn = 'soft_margin_loss'
    local o = options(fn, { 'reduction' }, ...)
    pair(fn, x, t)
    return reduce(fn, (-t * x):softplus(), o.reduction)
  end

  --- F.multilabel_soft_margin_loss(input, target, weight, reduction='mean') -> Tensor
  -- The binary cross entropy of sigmoid(input) against a 0/1 target [N x C], per class, weighted by weight [C]
  -- (optional) and averaged over the classes: one loss per sample before the reduction.
  function F.multilabel_soft_margin_loss(x, t, ...)
    local fn = 'multilabel_soft_margin_loss'
    local o = options(fn, { 'weight', 'reduction' }, ...)
    pair(fn, x, t)
    if x:dim() == 0 then fail(fn, 'expected an input with a class dim, got a 0-d tensor') end
    local loss = -(t * x:logsigmoid() + (1 - t) * (-x):logsigmoid())
    if o.weight ~= nil then loss = loss * o.weight end
    local class_dim = x:dim()
    loss = loss:sum(class_dim) / x:size(class_dim)
    return reduce(fn, loss, o.reduction)
  end

  --- F.multi_margin_loss(input, target, p=1, margin=1, weight, reduction='mean') -> Tensor
  -- The multi-class hinge loss of [N x C] scores (or [C]) against 1-based class ids [N] (or 0-d):
  -- sum over classes i ~= y of max(0, margin - x[y] + x[i])^p / C, each term weighted by weight[y] (weight [C],
  -- optional); p is 1 or 2.
  function F.multi_margin_loss(x, t, ...)
    local fn = 'multi_margin_loss'
    check_tensor(fn, x, 'the input')
    check_tensor(fn, t, 'the target')
    local o = options(fn, { 'p', 'margin', 'weight', 'reduction' }, ...)
    local p, margin = o.p or 1, number(fn, 'margin', o.margin or 1)
    if p ~= 1 and p ~= 2 then fail(fn, 'p must be 1 or 2, got %s', tostring(p)) end
    local nd = x:dim()
    if nd > 2 or (nd >= 1 and x:size(-1) == 0) then
      fail(fn, 'expected a non-empty [C] or [N x C] input, got %s', shape_string(x))
    end
    local frames, classes = nd == 2 and x:size(1) or 1, nd == 0 and 1 or x:size(-1)
    if t:dim() > 1 or t:numel() ~= frames then
      fail(fn, 'expected a target of %d class ids for the input %s, got %s', frames, shape_string(x), shape_string(t))
    end
    if t:is_floating_point() or t:dtype() == 'bool' then fail(fn, 'expected integer class ids, got %s', t:dtype()) end
    if frames > 0 then
      local lo, hi = t:min(), t:max()
      if lo < 1 or hi > classes then fail(fn, 'class ids must be within 1..%d, got %s', classes, lo < 1 and lo or hi) end
    end
    local w = o.weight
    if w ~= nil and (not torch.is_tensor(w) or w:dim() > 1 or w:numel() ~= classes) then
      fail(fn, 'expected a weight of %d elements, got %s', classes, torch.is_tensor(w) and shape_string(w) or type(w))
    end
    local scores = x:reshape(frames, classes)
    local ids = t:reshape(frames, 1):long()
    local z = (scores - scores:gather(2, ids) + margin):clamp_min(0)
    if p == 2 then z = z * z end
    if w ~= nil then z = z * w:index_select(1, ids:view(-1)):view(frames, 1) end
    local own = torch.arange(1, classes + 1, { dtype = 'int64', device = x:device() }):view(1, classes):eq(ids)
    local loss = torch.where(own, 0, z):sum(2) / classes
    loss = t:dim() == 0 and loss:view({}) or loss:view(frames)
    return reduce(fn, loss, o.reduction)
  end

  -- max(0, margin + d(anchor, positive) - d(anchor, negative)), with swap the smaller of d(a, n) and d(p, n)
  local function triplet(fn, a, pos, neg, distance, margin, swap, reduction)
    check_tensor(fn, a, 'the anchor')
    check_tensor(fn, pos, 'the positive')
    check_tensor(fn, neg, 'the negative')
    same_dims(fn, { 'anchor', 'positive', 'negative' }, a, pos, neg)
    local d_pos, d_neg = distance(a, pos), distance(a, neg)
    if swap then d_neg = torch.minimum(d_neg, distance(pos, neg)) end
    local loss = (d_pos - d_neg + number(fn, 'margin', margin or 1)):clamp_min(0)
    return reduce(fn, loss, reduction)
  end

  --- F.triplet_margin_loss(anchor, positive, negative, margin=1, p=2, eps=1e-6, swap=false, reduction='mean') -> Tensor
  -- max(0, margin + d(anchor, positive) - d(anchor, negative)) with d = F.pairwise_distance(., ., p, eps); with
  -- swap the negative distance is the smaller of d(anchor, negative) and d(positive, negative).
  function F.triplet_margin_loss(a, pos, neg, ...)
    local o = options('triplet_margin_loss', { 'margin', 'p', 'eps', 'swap', 'reduction' }, ...)
    local p, eps = o.p or 2, o.eps or 1e-6
    return triplet('triplet_margin_loss', a, pos, neg, function(u, v) return F.pairwise_distance(u, v, p, eps) end,
                   o.margin, o.swap, o.reduction)
  end

  --- F.triplet_margin_with_distance_loss(anchor, positive, negative, {distance_function=, margin=1, swap=false, reduction='mean'}) -> Tensor
  -- triplet_margin_loss with a distance of your own: distance_function(u, v) returns the distances of the rows of u
  -- and v (default F.pairwise_distance).
  function F.triplet_margin_with_distance_loss(a, pos, neg, ...)
    local fn = 'triplet_margin_with_distance_loss'
    local o = options(fn, { 'distance_function', 'margin', 'swap', 'reduction' }, ...)
    local distance = o.distance_function or F.pairwise_distance
    if type(distance) ~= 'function' and not (type(distance) == 'table' and getmetatable(distance)
                                             and getmetatable(distance).__call) then
      fail(fn, 'distance_function must be callable, got %s', type(distance))
    end
    return triplet(fn, a, pos, neg, distance, o.margin, o.swap, o.reduction)
  end

  --- F.multilabel_margin_loss(input, target, reduction='mean') -> Tensor
  -- The multi-label hinge loss of scores [N x C] (or [C]) against target [N x C] (or [C]) holding each sample's
  -- 1-based class ids first, the list ending at the first id below 1 (0 or -1; PyTorch's 0-based ids end at -1):
  -- sum over listed classes j and unlisted classes i of max(0, 1 - (x[j] - x[i])) / C.
  function F.multilabel_margin_loss(x, t, ...)
    local fn = 'multilabel_margin_loss'
    check_tensor(fn, x, 'the input')
    check_tensor(fn, t, 'the target')
    local o = options(fn, { 'reduction' }, ...)
    if (x:dim() ~= 1 and x:dim() ~= 2) or table.concat(x:shape(), 'x') ~= table.concat(t:shape(), 'x') then
      fail(fn, 'expected a [C] or [N x C] input and a target of its shape, got %s and %s', shape_string(x),
           shape_string(t))
    end
    if t:dtype() ~= 'int64' then fail(fn, 'expected an int64 target, got %s', t:dtype()) end
    local C = x:size(-1)
    local scores, ids = x:dim() == 1 and x:unsqueeze(1) or x, x:dim() == 1 and t:unsqueeze(1) or t
    if ids:numel() > 0 and ids:max() > C then
      fail(fn, 'a class id (%d) is beyond the %d classes', ids:max(), C)
    end
    -- listed: the ids before the first one below 1
    local listed = ids:ge(1):to('int64'):cumprod(2):to('bool')
    -- counts[n][c]: how often class c is listed for sample n (a listed id counts each time, as in PyTorch)
    local counts = torch.zeros(ids:size(1), C + 1, { dtype = x:dtype(), device = x:device() })
    counts = counts:scatter_add(2, ids:clamp(0, C) * listed:to('int64') + 1, listed:to(x:dtype()))
    counts = counts:narrow(2, 2, C)
    local is_target = counts:gt(0)
    -- margins[n][j][i] = max(0, 1 - x[j] + x[i]) for listed j and unlisted i
    local margins = (scores:unsqueeze(3):neg() + scores:unsqueeze(2) + 1):clamp_min(0)
    local weight = counts:unsqueeze(3) * is_target:logical_not():to(x:dtype()):unsqueeze(2)
    local loss = (margins * weight):sum({ 2, 3 }) / C
    if x:dim() == 1 then loss = loss:reshape({}) end
    return reduce(fn, loss, o.reduction)
  end

  --- F.poisson_nll_loss(input, target, log_input=true, full=false, eps=1e-8, reduction='mean') -> Tensor
  -- The negative log-likelihood of target under Poisson(rate): exp(input) - target * input when log_input (input
  -- is the log rate), else input - target * log(input + eps); full adds Stirling's approximation of
  -- log(target!) where target > 1.
  function F.poisson_nll_loss(x, t, ...)
    local fn = 'poisson_nll_loss'
    local o = options(fn, { 'log_input', 'full', 'eps', 'reduction' }, ...)
    pair(fn, x, t)
    local loss
    if o.log_input ~= false then
      loss = x:exp() - t * x
    else
      loss = x - t * (x + number(fn, 'eps', o.eps or 1e-8)):log()
    end
    if o.full then
      local stirling = t * t:log() - t + 0.5 * (t * (2 * math.pi)):log()
      loss = loss + torch.where(t:le(1), 0, stirling)
    end
    return reduce(fn, loss, o.reduction)
  end

  --- F.gaussian_nll_loss(input, target, var, full=false, eps=1e-6, reduction='mean') -> Tensor
  -- The negative log-likelihood of target under N(input, var): 0.5 (log var + (input - target)^2 / var), plus
  -- 0.5 log(2 pi) when full. var has the input's shape, or lacks (or has size 1 in) its last dim (one variance
  -- per sample); its entries must be non-negative and are clamped at eps (the clamp passes gradients through, as
  -- PyTorch's).
  function F.gaussian_nll_loss(x, t, var, ...)
    local fn = 'gaussian_nll_loss'
    check_tensor(fn, var, 'var')
    local o = options(fn, { 'full', 'eps', 'reduction' }, ...)
    pair(fn, x, t)
    if not var:is_same_size(x) then
      local xs, vs = x:shape(), var:shape()
      local prefix = #xs >= 1
      for d = 1, #xs - 1 do prefix = prefix and xs[d] == vs[d] end
      if prefix and #vs == #xs - 1 then
        var = var:unsqueeze(-1)
      elseif not (prefix and #vs == #xs and vs[#vs] == 1) then
        fail(fn, 'var %s must have the size of the input %s, or lack or have size 1 in its last dim',
             shape_string(var), shape_string(x))
      end
    end
    local reduction = o.reduction or 'mean'
    if not h.REDUCTIONS[reduction] then
      fail(fn, "reduction must be 'mean', 'sum' or 'none', got %s", tostring(reduction))
    end
    if torch.no_grad(function() return var:lt(0):any() end) then fail(fn, 'var has negative entries') end
    local eps = number(fn, 'eps', o.eps or 1e-6)
    var = var + (var:clamp({ min = eps }) - var):detach()
    local loss = 0.5 * (var:log() + (x - t):square() / var)
    if o.full then loss = loss + 0.5 * math.log(2 * math.pi) end
    return reduce(fn, loss, reduction)
  end
end
