-- tensor.nn.functional.normalization: instance_norm (batch_norm over each sample's channels, as PyTorch computes
-- it) and local_response_norm.
local torch = require 'tensor'

return function(F, h)
  local fail, check_tensor, shape_string = h.fail, h.check_tensor, h.shape_string

  local INSTANCE_NORM = { 'running_mean', 'running_var', 'weight', 'bias', 'use_input_stats', 'momentum', 'eps' }

  --- F.instance_norm(input, running_mean, running_var, weight, bias, use_input_stats=true, momentum=0.1, eps=1e-5) -> Tensor
  -- Normalises each channel of each sample of [N x C x ...] over its spatial dims (biased variance), then scales by
  -- weight and shifts by bias (both [C], optional). With use_input_stats and running statistics these move towards
  -- the batch's average per-channel statistics (unbiased variance) by momentum, in place; without
  -- use_input_stats the running statistics normalise instead. The options may come as one table after the input.
  function F.instance_norm(x, ...)
    check_tensor('instance_norm', x, 'the input')
    local o = h.options('instance_norm', INSTANCE_NORM, ...)
    local use_input_stats = o.use_input_stats ~= false
    local momentum, eps = o.momentum or 0.1, o.eps or 1e-5
    if x:dim() < 2 then fail('instance_norm', 'expected an input [N x C x ...], got %s', shape_string(x)) end
    local shape = x:shape()
    local N, C = shape[1], shape[2]
    for _, name in ipairs({ 'running_mean', 'running_var', 'weight', 'bias' }) do
      local t = o[name]
      if t ~= nil and (not torch.is_tensor(t) or t:numel() ~= C) then
        fail('instance_norm', '%s must be a tensor of %d elements (the channels of %s), got %s', name, C,
             shape_string(x), torch.is_tensor(t) and shape_string(t) or type(t))
      end
    end
    if not use_input_stats then
      if o.running_mean == nil or o.running_var == nil then
        fail('instance_norm', 'use_input_stats=false needs running_mean and running_var')
      end
      return F.batch_norm(x, o.running_mean, o.running_var, o.weight, o.bias, false, momentum, eps)
    end
    local spatial = 1
    for d = 3, #shape do spatial = spatial * shape[d] end
    if spatial <= 1 then
      fail('instance_norm', 'expected more than 1 spatial element per channel when using the input statistics, got %s',
           shape_string(x))
    end
    -- the N*C instances as the channels of one sample (PyTorch's own reduction to batch_norm)
    local function repeated(t) return t ~= nil and t:repeatTensor(N) or nil end
    local mean, var = repeated(o.running_mean), repeated(o.running_var)
    local y = F.batch_norm(x:reshape(1, N * C, spatial), mean, var, repeated(o.weight), repeated(o.bias), true,
                           momentum, eps)
    torch.no_grad(function()
      if mean ~= nil then o.running_mean:copy_(mean:view(N, C):mean(1)) end
      if var ~= nil then o.running_var:copy_(var:view(N, C):mean(1)) end
    end)
    return y:view(shape)
  end

  --- F.local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1) -> Tensor
  -- x / (k + alpha * mean of x^2 over `size` neighbouring channels)^beta, for [N x C x ...] (3 dims or more);
  -- the window of channel c spans c - floor(size/2) .. c + floor((size-1)/2), zero outside.
  function F.local_response_norm(x, size, ...)
    check_tensor('local_response_norm', x, 'the input')
    if h.is_opts(size) then
      local o = h.checked('local_response_norm', size, { 'size', 'alpha', 'beta', 'k' })
      return F.local_response_norm(x, o.size, o.alpha, o.beta, o.k)
    end
    local o = h.options('local_response_norm', { 'alpha', 'beta', 'k' }, ...)
    local alpha, beta, k = o.alpha or 1e-4, o.beta or 0.75, o.k or 1
    if type(size) ~= 'number' or size < 1 or size ~= math.floor(size) then
      fail('local_response_norm', 'size must be a positive integer, got %s', tostring(size))
    end
    if x:dim() < 3 then
      fail('local_response_norm', 'expected an input of 3 or more dims [N x C x ...], got %s', shape_string(x))
    end
    if x:numel() == 0 then return x end
    local square = x * x
    local function zeros(n)
      local shape = x:shape()
      shape[2] = n
      return torch.zeros(shape, { dtype = x:dtype(), device = x:device() })
    end
    local before, after = math.floor(size / 2), math.floor((size - 1) / 2)
    local parts = { square }
    if before > 0 then table.insert(parts, 1, zeros(before)) end
    if after > 0 then parts[#parts + 1] = zeros(after) end
    local padded = #parts == 1 and square or torch.cat(parts, 2)
    local div = (padded:unfold(2, size, 1):sum(-1) / size * alpha + k):pow(beta)
    return x / div
  end
end
