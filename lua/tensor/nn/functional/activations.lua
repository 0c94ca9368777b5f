-- tensor.nn.functional.activations: selu, celu, glu, hardshrink, softshrink, tanhshrink, threshold, rrelu and
-- gumbel_softmax, composed of differentiable tensor ops (their gradients are PyTorch's).
local torch = require 'tensor'

return function(F, h)
  local fail, check_tensor, options = h.fail, h.check_tensor, h.options

  local function number(fn, what, v)
    if type(v) ~= 'number' then fail(fn, '%s must be a number, got %s', what, tostring(v)) end
    return v
  end

  local SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946

  --- F.selu(input, inplace=false) -> Tensor
  -- scale * elu(x, alpha) with PyTorch's constants (alpha = 1.6733, scale = 1.0507): self-normalising.
  function F.selu(x, ...)
    check_tensor('selu', x, 'the input')
    if options('selu', { 'inplace' }, ...).inplace then return x:elu_(SELU_ALPHA):mul_(SELU_SCALE) end
    return x:elu(SELU_ALPHA) * SELU_SCALE
  end

  --- F.celu(input, alpha=1, inplace=false) -> Tensor
  -- max(0, x) + min(0, alpha * (exp(x / alpha) - 1)); alpha must not be 0.
  function F.celu(x, ...)
    check_tensor('celu', x, 'the input')
    local o = options('celu', { 'alpha', 'inplace' }, ...)
    local alpha = number('celu', 'alpha', o.alpha or 1)
    if alpha == 0 then fail('celu', 'alpha must not be 0') end
    if alpha == 1 then return o.inplace and x:elu_(1) or x:elu(1) end
    -- x where x > 0, else alpha * expm1(x / alpha), as PyTorch: elu(x / alpha) * alpha overflowed to inf for
    -- x > alpha * the dtype's max, rounded x, and gave x for x < 0 when alpha < 0 (the min(0, .) part is
    -- PyTorch's only for alpha > 0). The negative side takes min(x, 0) so that its unused values stay finite.
    -- (in place, from a copy of x while autograd records it: the ops below save x for their gradients)
    local src = o.inplace and require('tensor.core').in_place_source(x) or x
    local r = torch.where(src:gt(0), src, (src:clamp_max(0) / alpha):expm1() * alpha)
    if o.inplace then return x:copy_(r) end
    return r
  end

  --- F.glu(input, dim=-1) -> Tensor
  -- The gated linear unit: a * sigmoid(b), where a and b are the two halves of input along dim (1-based), whose
  -- size must be even.
  function F.glu(x, ...)
    check_tensor('glu', x, 'the input')
    local dim = options('glu', { 'dim' }, ...).dim or -1
    local n = x:dim()
    if n == 0 then fail('glu', 'expected an input with at least one dim, got a 0-d tensor') end
    if type(dim) ~= 'number' or dim == 0 or dim < -n or dim > n or dim ~= math.floor(dim) then
      fail('glu', 'dim %s is out of range for an input of %d dims', tostring(dim), n)
    end
    local size = x:size(dim)
    if size % 2 ~= 0 then
      fail('glu', 'the halved dim %d must have an even size, got %d (input %s)', dim, size, h.shape_string(x))
    end
    return x:narrow(dim, 1, size / 2) * x:narrow(dim, size / 2 + 1, size / 2):sigmoid()
  end

  --- F.hardshrink(input, lambd=0.5) -> Tensor
  -- x where |x| > lambd, else 0 (NaN stays NaN).
  function F.hardshrink(x, ...)
    check_tensor('hardshrink', x, 'the input')
    local lambd = number('hardshrink', 'lambd', options('hardshrink', { 'lambd' }, ...).lambd or 0.5)
    return torch.where(x:abs():le(lambd), 0, x)
  end

  --- F.softshrink(input, lambd=0.5) -> Tensor
  -- x - lambd above lambd, x + lambd below -lambd, else 0 (lambd >= 0).
  function F.softshrink(x, ...)
    check_tensor('softshrink', x, 'the input')
    local lambd = number('softshrink', 'lambd', options('softshrink', { 'lambd' }, ...).lambd or 0.5)
    if lambd < 0 then fail('softshrink', 'lambd must be at least 0, got %s', tostring(lambd)) end
    return x - x:clamp(-lambd, lambd)
  end

  --- F.tanhshrink(input) -> Tensor
  -- x - tanh(x).
  function F.tanhshrink(x)
    check_tensor('tanhshrink', x, 'the input')
    return x - x:tanh()
  end

  --- F.threshold(input, threshold, value, inplace=false) -> Tensor
  -- value where x <= threshold, else x.
  function F.threshold(x, ...)
    check_tensor('threshold', x, 'the input')
    local o = options('threshold', { 'threshold', 'value', 'inplace' }, ...)
    local threshold, value = number('threshold', 'threshold', o.threshold), number('threshold', 'value', o.value)
    if o.inplace then return x:masked_fill_(x:le(threshold), value) end
    return torch.where(x:le(threshold), value, x)
  end

  --- F.rrelu(input, lower=1/8, upper=1/3, training=false, inplace=false) -> Tensor
  -- Randomised leaky ReLU: in training each negative element gets its own slope drawn uniformly from
  -- [lower, upper]; otherwise the slope is their mean (lower + upper) / 2.
  function F.rrelu(x, ...)
    check_tensor('rrelu', x, 'the input')
    local o = options('rrelu', { 'lower', 'upper', 'training', 'inplace' }, ...)
    local lower = number('rrelu', 'lower', o.lower or 1 / 8)
    local upper = number('rrelu', 'upper', o.upper or 1 / 3)
    if lower > upper then fail('rrelu', 'lower (%s) must not be above upper (%s)', tostring(lower), tostring(upper)) end
    if not o.training then
      local slope = (lower + upper) / 2
      if o.inplace then return x:leaky_relu_(slope) end
      return x:leaky_relu(slope)
    end
    local slopes = torch.empty(x:shape(), { dtype = x:dtype(), device = x:device() }):uniform_(lower, upper)
    local factor = torch.where(x:gt(0), 1, slopes)
    if o.inplace then return x:mul_(factor) end
    return x * factor
  end

  --- F.gumbel_softmax(logits, tau=1, hard=false, eps=1e-10, dim=-1) -> Tensor
  -- A sample of the Gumbel-softmax distribution: softmax((logits + g) / tau) along dim with g drawn from
  -- Gumbel(0, 1). With hard=true the result is the one-hot vector of its largest entry, with the soft sample's
  -- gradient (the straight-through estimator). eps is unused, as in PyTorch.
  function F.gumbel_softmax(logits, ...)
    check_tensor('gumbel_softmax', logits, 'the logits')
    local o = options('gumbel_softmax', { 'tau', 'hard', 'eps', 'dim' }, ...)
    local tau, dim = number('gumbel_softmax', 'tau', o.tau or 1), o.dim or -1
    local gumbels = -torch.empty(logits:shape(), { dtype = logits:dtype(), device = logits:device() }):exponential_():log()
    local soft = F.softmax((logits + gumbels) / tau, dim)
    if not o.hard then return soft end
    local _, index = soft:detach():max(dim, true)
    local hard = torch.zeros(logits:shape(), { dtype = logits:dtype(), device = logits:device() }):scatter(dim, index, 1)
    return hard - soft:detach() + soft
  end
end
