-- tensor.nn.initializers (nn.init): in-place weight initialisations with torch.nn.init's formulas. Each
-- runs without recording and returns the tensor; randomness comes from the framework's generator (or
-- {generator=g}).
local core = require 'tensor.core'
local torch = require 'tensor'

local is_tensor = core.is_tensor

local init = {}

local function check(fn, t)
  if not is_tensor(t) then error(string.format('nn.init.%s: expected a tensor, got %s', fn, type(t)), 3) end
  return t
end

local function no_grad(f) return torch.no_grad(f) end

--- nn.init.calculate_gain(nonlinearity, param) -> number
-- The recommended gain: 1 for linear/conv/sigmoid, 5/3 for tanh, sqrt(2) for relu, sqrt(2 / (1 + slope^2))
-- for leaky_relu (param = slope, default 0.01), 3/4 for selu.
function init.calculate_gain(nonlinearity, param)
  local linear = { linear = true, conv1d = true, conv2d = true, conv3d = true, conv_transpose1d = true,
                   conv_transpose2d = true, conv_transpose3d = true, sigmoid = true }
  if linear[nonlinearity] then return 1 end
  if nonlinearity == 'tanh' then return 5 / 3 end
  if nonlinearity == 'relu' then return math.sqrt(2) end
  if nonlinearity == 'leaky_relu' then
    local slope = param == nil and 0.01 or param
    if type(slope) ~= 'number' then error('nn.init.calculate_gain: negative_slope must be a number', 2) end
    return math.sqrt(2 / (1 + slope * slope))
  end
  if nonlinearity == 'selu' then return 3 / 4 end
  error(string.format("nn.init.calculate_gain: unsupported nonlinearity '%s'", tostring(nonlinearity)), 2)
end

--- nn.init.calculate_fan_in_and_fan_out(tensor) -> fan_in, fan_out
-- For a weight [out x in x k...]: fan_in = in * prod(k), fan_out = out * prod(k). Needs at least 2 dims.
function init.calculate_fan_in_and_fan_out(t)
  if t:dim() < 2 then
    error(string.format('nn.init: fan in and fan out need a tensor with at least 2 dims, got %d', t:dim()), 3)
  end
  local receptive = 1
  for d = 3, t:dim() do receptive = receptive * t:size(d) end
  return t:size(2) * receptive, t:size(1) * receptive
end

local function fan(t, mode)
  local fan_in, fan_out = init.calculate_fan_in_and_fan_out(t)
  if mode == nil or mode == 'fan_in' then return fan_in end
  if mode == 'fan_out' then return fan_out end
  error(string.format("nn.init: mode must be 'fan_in' or 'fan_out', got %s", tostring(mode)), 3)
end

--- nn.init.uniform_(tensor, a=0, b=1, {generator=}) -> tensor
function init.uniform_(t, a, b, opts)
  check('uniform_', t)
  return no_grad(function() return t:uniform_(a or 0, b or 1, opts) end)
end

--- nn.init.normal_(tensor, mean=0, std=1, {generator=}) -> tensor
function init.normal_(t, mean, std, opts)
  check('normal_', t)
  return no_grad(function() return t:normal_(mean or 0, std or 1, opts) end)
end

--- nn.init.trunc_normal_(tensor, mean=0, std=1, a=-2, b=2) -> tensor
-- Values of N(mean, std^2) conditioned on [a, b], by PyTorch's inverse-CDF method: uniform between the normal
-- CDF at a and at b, mapped back through erfinv (exact in far tails, where redrawing would almost never land).
function init.trunc_normal_(t, mean, std, a, b)
  check('trunc_normal_', t)
  mean, std, a, b = mean or 0, std or 1, a or -2, b or 2
  for name, v in pairs({ mean = mean, std = std, a = a, b = b }) do
    if type(v) ~= 'number' then error(string.format('nn.init.trunc_normal_: %s must be a number, got %s', name, type(v)), 2) end
  end
  if not (a < b) then error(string.format('nn.init.trunc_normal_: a (%s) must be below b (%s)', a, b), 2) end
  local function cdf(x)
    return (1 + torch.tensor(x / math.sqrt(2), { dtype = 'float64' }):erf():item()) / 2
  end
  local lo, hi = cdf((a - mean) / std), cdf((b - mean) / std)
  return no_grad(function()
    t:uniform_(2 * lo - 1, 2 * hi - 1):erfinv_():mul_(std * math.sqrt(2)):add_(mean)
    return t:clamp_(a, b)
  end)
end

--- nn.init.constant_(tensor, value) -> tensor
function init.constant_(t, value)
  check('constant_', t)
  return no_grad(function() return t:fill_(value) end)
end

--- nn.init.zeros_(tensor) -> tensor
function init.zeros_(t) return init.constant_(t, 0) end
--- nn.init.ones_(tensor) -> tensor
function init.ones_(t) return init.constant_(t, 1) end

--- nn.init.eye_(tensor) -> tensor
-- The identity in a 2-d tensor.
function init.eye_(t)
  check('eye_', t)
  if t:dim() ~= 2 then error('nn.init.eye_: expected a 2-d tensor', 2) end
  return no_grad(function() return t:copy_(torch.eye(t:size(1), t:size(2), { dtype = t:dtype() })) end)
end

--- nn.init.xavier_uniform_(tensor, gain=1) -> tensor
-- Uniform in [-a, a] with a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot).
function init.xavier_uniform_(t, gain, opts)
  check('xavier_uniform_', t)
  local fan_in, fan_out = init.calculate_fan_in_and_fan_out(t)
  local std = (gain or 1) * math.sqrt(2 / (fan_in + fan_out))
  local a = math.sqrt(3) * std
  return init.uniform_(t, -a, a, opts)
end

--- nn.init.xavier_normal_(tensor, gain=1) -> tensor
function init.xavier_normal_(t, gain, opts)
  check('xavier_normal_', t)
  local fan_in, fan_out = init.calculate_fan_in_and_fan_out(t)
  return init.normal_(t, 0, (gain or 1) * math.sqrt(2 / (fan_in + fan_out)), opts)
end

local function kaiming_std(t, a, mode, nonlinearity)
  if type(a) == 'table' and not is_tensor(a) then a, mode, nonlinearity = a.a, a.mode, a.nonlinearity end
  local f = fan(t, mode)
  if f == 0 then return 0 end -- (an empty tensor: nothing to fill, as PyTorch, which warns)
  return init.calculate_gain(nonlinearity or 'leaky_relu', a or 0) / math.sqrt(f)
end

--- nn.init.kaiming_uniform_(tensor, a=0, mode='fan_in', nonlinearity='leaky_relu') -> tensor
-- Uniform in [-b, b] with b = gain * sqrt(3 / fan) (He); options may come as {a=, mode=, nonlinearity=}.
function init.kaiming_uniform_(t, a, mode, nonlinearity)
  check('kaiming_uniform_', t)
  local bound = math.sqrt(3) * kaiming_std(t, a, mode, nonlinearity)
  return init.uniform_(t, -bound, bound)
end

--- nn.init.kaiming_normal_(tensor, a=0, mode='fan_in', nonlinearity='leaky_relu') -> tensor
function init.kaiming_normal_(t, a, mode, nonlinearity)
  check('kaiming_normal_', t)
  return init.normal_(t, 0, kaiming_std(t, a, mode, nonlinearity))
end

--- nn.init.orthogonal_(tensor, gain=1) -> tensor
-- A (semi-)orthogonal matrix from the QR factorisation of a normal matrix, reshaped to the tensor.
function init.orthogonal_(t, gain)
  check('orthogonal_', t)
  if t:dim() < 2 then error('nn.init.orthogonal_: needs a tensor with at least 2 dims', 2) end
  if t:numel() == 0 then return t end -- (nothing to fill, as PyTorch)
  return no_grad(function()
    local rows = t:size(1)
    local cols = t:numel() / rows
    local flat = torch.randn(rows, cols, { dtype = 'float64' })
    if rows < cols then flat = flat:t() end
    local q, r = torch.linalg.qr(flat)
    q = q * r:diagonal():sign()
    if rows < cols then q = q:t() end
    return t:copy_(q:reshape(t:shape()) * (gain or 1))
  end)
end

--- nn.init.dirac_(tensor, groups=1) -> tensor
-- Identity-preserving convolution weights [out x in x k...].
function init.dirac_(t, groups)
  check('dirac_', t)
  groups = groups or 1
  if t:dim() < 3 or t:dim() > 5 then error(string.format('nn.init.dirac_: needs a 3-, 4- or 5-d tensor, got %d dims', t:dim()), 2) end
  if type(groups) ~= 'number' or groups < 1 or groups ~= math.floor(groups) or t:size(1) % groups ~= 0 then
    error(string.format('nn.init.dirac_: groups must be a positive integer dividing dim 1 (%d), got %s', t:size(1),
                        tostring(groups)), 2)
  end
  return no_grad(function()
    t:zero_()
    local out_per = t:size(1) / groups
    local min = math.min(out_per, t:size(2))
    for g = 0, groups - 1 do
      for d = 1, min do
        local idx = { g * out_per + d, d }
        for k = 3, t:dim() do idx[k] = math.floor(t:size(k) / 2) + 1 end
        t[idx] = 1
      end
    end
    return t
  end)
end

return init
