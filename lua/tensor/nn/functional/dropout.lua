-- tensor.nn.functional.dropout: dropout1d (whole channels of sequences) and alpha_dropout (dropout that keeps
-- SELU's zero mean and unit variance).
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

  local SELU_ALPHA = 1.7580993408473766 -- SELU's scale * alpha: the value a very negative input saturates to

  --- F.alpha_dropout(input, p=0.5, training=false, inplace=false) -> Tensor
  -- In training, sets each element with probability p to SELU's saturation value, then scales and shifts the
  -- whole so that inputs of zero mean and unit variance keep them (PyTorch's formula); identity otherwise
  -- (training defaults to false, as PyTorch's F.alpha_dropout).
  function F.alpha_dropout(x, ...)
    check_tensor('alpha_dropout', x, 'the input')
    local o = options('alpha_dropout', { 'p', 'training', 'inplace' }, ...)
    local p = probability('alpha_dropout', o.p or 0.5)
    if not o.training or p == 0 or x:numel() == 0 then return x end
    local y
    if p == 1 then
      y = x * 0
    else
      local a = 1 / math.sqrt((SELU_ALPHA * SELU_ALPHA * p + 1) * (1 - p))
      local keep = torch.empty(x:shape(), { dtype = x:dtype(), device = x:device() }):bernoulli_(1 - p)
      y = x * (keep * a) + ((keep - 1) * (SELU_ALPHA * a) + SELU_ALPHA * a * p)
    end
    if o.inplace then return x:copy_(y) end
    return y
  end
end
