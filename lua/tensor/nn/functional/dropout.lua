-- tensor.nn.functional.dropout: dropout1d and dropout3d (whole channels of sequences and volumes), and
-- alpha_dropout and feature_alpha_dropout (dropout that keeps SELU's zero mean and unit variance).
local torch = require 'tensor'

return function(F, h)
  local fail, check_tensor, options, shape_string = h.fail, h.check_tensor, h.options, h.shape_string

  local function probability(fn, p)
    if type(p) ~= 'number' or p < 0 or p > 1 then fail(fn, 'p must be a probability in [0, 1], got %s', tostring(p)) end
    return p
  end

  --- F.dropout1d(input, p=0.5, training=true, inplace=false) -> Tensor
  -- Zeroes whole channels of [N x C x L] (or unbatched [C x L]) with probability p and scales the others by
  -- 1/(1-p); identity when not training. nn.Dropout1d's forward.
  function F.dropout1d(x, ...)
    check_tensor('dropout1d', x, 'the input')
    local o = options('dropout1d', { 'p', 'training', 'inplace' }, ...)
    local p = probability('dropout1d', o.p or 0.5)
    if x:dim() ~= 2 and x:dim() ~= 3 then
      fail('dropout1d', 'expected a 2-d [C x L] or 3-d [N x C x L] input, got %s', shape_string(x))
    end
    if o.training == false or p == 0 then return x end
    -- a channel of [.. x C x L x 1] is what dropout2d drops
    local y = F.dropout2d(x:unsqueeze(-1), p, true, o.inplace):squeeze(-1)
    if o.inplace then return x end
    return y
  end

  --- F.dropout3d(input, p=0.5, training=true, inplace=false) -> Tensor
  -- Zeroes whole channels of [N x C x D x H x W] (or unbatched [C x D x H x W]) with probability p and scales the
  -- others by 1/(1-p); identity when not training. nn.Dropout3d's forward.
  function F.dropout3d(x, ...)
    check_tensor('dropout3d', x, 'the input')
    local o = options('dropout3d', { 'p', 'training', 'inplace' }, ...)
    local p = probability('dropout3d', o.p or 0.5)
    if x:dim() ~= 4 and x:dim() ~= 5 then
      fail('dropout3d', 'expected a 4-d [C x D x H x W] or 5-d [N x C x D x H x W] input, got %s', shape_string(x))
    end
    if o.training == false or p == 0 then return x end
    -- a channel's volume as one column of [.. x C x DHW x 1], a channel of what dropout2d drops
    local y = F.dropout2d(x:flatten(x:dim() - 2):unsqueeze(-1), p, true):reshape(x:shape())
    if o.inplace then return x:copy_(y) end
    return y
  end

  local SELU_ALPHA = 1.7580993408473766 -- SELU's scale * alpha: the value a very negative input saturates to

  -- Alpha dropout with one draw per element of mask_shape (x's shape, or one per channel), broadcast over x.
  local function alpha_dropout(fn, x, mask_shape, ...)
    local o = options(fn, { 'p', 'training', 'inplace' }, ...)
    local p = probability(fn, o.p or 0.5)
    if not o.training or p == 0 or x:numel() == 0 then return x end
    local y
    if p == 1 then
      y = x * 0
    else
      local a = 1 / math.sqrt((SELU_ALPHA * SELU_ALPHA * p + 1) * (1 - p))
      local keep = torch.empty(mask_shape, { dtype = x:dtype(), device = x:device() }):bernoulli_(1 - p)
      y = x * (keep * a) + ((keep - 1) * (SELU_ALPHA * a) + SELU_ALPHA * a * p)
    end
    if o.inplace then return x:copy_(y) end
    return y
  end

  --- F.alpha_dropout(input, p=0.5, training=false, inplace=false) -> Tensor
  -- In training, sets each element with probability p to SELU's saturation value, then scales and shifts the
  -- whole so that inputs of zero mean and unit variance keep them (PyTorch's formula); identity otherwise
  -- (training defaults to false, as PyTorch's F.alpha_dropout).
  function F.alpha_dropout(x, ...)
    check_tensor('alpha_dropout', x, 'the input')
    return alpha_dropout('alpha_dropout', x, x:shape(), ...)
  end

  --- F.feature_alpha_dropout(input, p=0.5, training=false, inplace=false) -> Tensor
  -- alpha_dropout of whole channels: one draw per channel (dim 2) of each sample of an [N x C x ...] input, as
  -- PyTorch's; training defaults to false.
  function F.feature_alpha_dropout(x, ...)
    check_tensor('feature_alpha_dropout', x, 'the input')
    if x:dim() < 2 then
      fail('feature_alpha_dropout', 'expected an input of at least 2 dims [N x C x ...], got %s', shape_string(x))
    end
    local mask_shape = x:shape()
    for d = 3, #mask_shape do mask_shape[d] = 1 end
    return alpha_dropout('feature_alpha_dropout', x, mask_shape, ...)
  end
end
