-- tensor.spellings: PyTorch's and NumPy's other names for ops defined elsewhere (x:absolute() is x:abs(),
-- torch.greater(a, b) is torch.gt(a, b)), and the thin forms PyTorch offers beside them (clamp_min, rsub,
-- positive). Loaded after every op module, so each name reaches the op that is there; core.alias keeps them
-- bound to autograd's recording forms.
local core = require 'tensor.core'
local args = require 'tensor.args'
local dtype = require 'tensor.dtype'

local torch, Tensor = core.torch, core.Tensor
local alias, argerror = core.alias, args.argerror

-- Other names of methods, each with its in-place form where the target has one.
local METHOD_ALIASES = {
  absolute = 'abs', negative = 'neg', fix = 'trunc', sgn = 'sign',
  arcsin = 'asin', arccos = 'acos', arctan = 'atan', arctan2 = 'atan2', arcsinh = 'asinh', arccosh = 'acosh',
  arctanh = 'atanh',
  multiply = 'mul', divide = 'div', subtract = 'sub', true_divide = 'div',
  greater = 'gt', less = 'lt', greater_equal = 'ge', less_equal = 'le', not_equal = 'ne',
}

local function_names = {}
for name, target in pairs(METHOD_ALIASES) do
  assert(Tensor[target], 'tensor.spellings: no method ' .. target .. ' for ' .. name)
  alias(Tensor, name, target)
  function_names[#function_names + 1] = name
  if Tensor[target .. '_'] then
    alias(Tensor, name .. '_', target .. '_')
    function_names[#function_names + 1] = name .. '_'
  end
end

-- Torch7-style and PyTorch in-place spellings of methods that are not element-wise ops.
alias(Tensor, 'nelement', 'numel')
alias(Tensor, 'apply_', 'apply')
alias(Tensor, 'map_', 'map')
alias(Tensor, 'map2_', 'map2')
alias(Tensor, 'swapaxes_', 'transpose_')
alias(Tensor, 'swapdims_', 'transpose_')

-- torch.f(x, ...) for each method above and for the in-place forms of the element-wise ops, which PyTorch also
-- offers as functions (torch.abs_(x)).
local IN_PLACE_FUNCTIONS = {
  'abs_', 'neg_', 'sign_', 'exp_', 'exp2_', 'expm1_', 'log_', 'log2_', 'log10_', 'log1p_', 'sqrt_', 'rsqrt_',
  'sin_', 'cos_', 'tan_', 'asin_', 'acos_', 'atan_', 'sinh_', 'cosh_', 'tanh_', 'sigmoid_', 'relu_', 'erf_',
  'erfc_', 'floor_', 'ceil_', 'round_', 'trunc_', 'frac_', 'reciprocal_', 'square_', 'clamp_', 'clip_', 'asinh_',
  'acosh_', 'atanh_', 'arcsinh_', 'arccosh_', 'arctanh_', 'i0_', 'sinc_', 'gcd_', 'lcm_', 'xlogy_', 'addmv_',
}
for _, name in ipairs(IN_PLACE_FUNCTIONS) do
  if Tensor[name] and not torch[name] then function_names[#function_names + 1] = name end
end
for i = #function_names, 1, -1 do
  if torch[function_names[i]] then table.remove(function_names, i) end
end
core.function_forms(function_names)

--- Tensor:clamp_min(min) -> Tensor
--- Tensor:clamp_max(max) -> Tensor
--- torch.clamp_min(x, min) -> Tensor
--- torch.clamp_max(x, max) -> Tensor
-- x:clamp(min) and x:clamp(nil, max), with the in-place forms clamp_min_ and clamp_max_.
local function bound(fn, v)
  if type(v) ~= 'number' and not core.is_tensor(v) then
    argerror(fn, 'the bound must be a number or a tensor, got %s', type(v))
  end
  return v
end
function Tensor:clamp_min(min) return self:clamp(bound('clamp_min', min), nil) end
function Tensor:clamp_max(max) return self:clamp(nil, bound('clamp_max', max)) end
function Tensor:clamp_min_(min) return self:clamp_(bound('clamp_min_', min), nil) end
function Tensor:clamp_max_(max) return self:clamp_(nil, bound('clamp_max_', max)) end
core.composed_in_place.clamp_min_ = true
core.composed_in_place.clamp_max_ = true

--- Tensor:positive() -> Tensor
--- torch.positive(x) -> Tensor
-- x itself, as PyTorch's unary plus (refused for bool tensors, as there).
function Tensor:positive()
  if self:dtype() == 'bool' then argerror('positive', 'is not defined for bool tensors') end
  return self
end

core.function_forms({ 'clamp_min', 'clamp_max', 'clamp_min_', 'clamp_max_', 'positive' })

-- torch.f for the functions of nn.functional that PyTorch also offers in torch with the same arguments
-- (torch.conv2d(x, w, b, stride, ...)). nn.functional is loaded at the first call: it requires this package.
for _, name in ipairs({ 'conv1d', 'conv2d', 'conv3d', 'conv_transpose1d', 'conv_transpose2d', 'conv_transpose3d',
                        'max_pool1d', 'max_pool2d', 'max_pool3d', 'avg_pool1d', 'adaptive_avg_pool1d', 'layer_norm',
                        'group_norm', 'dropout', 'alpha_dropout',
                        'cosine_similarity', 'pairwise_distance', 'pdist', 'pixel_shuffle', 'pixel_unshuffle',
                        'channel_shuffle', 'prelu', 'selu', 'celu', 'threshold', 'hardshrink', 'rrelu', 'selu_',
                        'celu_', 'threshold_', 'rrelu_', 'feature_alpha_dropout' }) do
  if torch[name] == nil then
    torch[name] = function(...) return require('tensor.nn.functional')[name](...) end
  end
end

--- torch.dropout_(x, p, train) -> x
--- torch.alpha_dropout_(x, p, train) -> x
--- torch.feature_alpha_dropout_(x, p, train) -> x
-- F.dropout, F.alpha_dropout and F.feature_alpha_dropout with inplace=true, as PyTorch's torch functions.
for _, name in ipairs({ 'dropout', 'alpha_dropout', 'feature_alpha_dropout' }) do
  torch[name .. '_'] = function(x, p, train)
    return require('tensor.nn.functional')[name](x, p, train, true)
  end
end

--- Tensor:hardshrink([lambd=0.5]) -> Tensor
--- Tensor:prelu(weight) -> Tensor
-- F.hardshrink and F.prelu as methods, as PyTorch's.
function Tensor:hardshrink(...) return require('tensor.nn.functional').hardshrink(self, ...) end
function Tensor:prelu(weight) return require('tensor.nn.functional').prelu(self, weight) end

--- Tensor:get_device() -> integer
--- torch.get_device(x) -> integer
-- PyTorch's device index: -1 for a tensor in host memory, n for one on cuda:n.
function Tensor:get_device()
  local index = self:device():match('^cuda:(%d+)$')
  return index and tonumber(index) or -1
end

--- Tensor:narrow_copy(dim, start, length) -> Tensor
--- torch.narrow_copy(x, dim, start, length) -> Tensor
-- A contiguous copy of x:narrow(dim, start, length) (start 1-based), not a view.
function Tensor:narrow_copy(dim, start, length) return self:narrow(dim, start, length):contiguous():clone() end

--- torch.detach(x) -> Tensor
-- x:detach() as a function.
core.function_forms({ 'get_device', 'narrow_copy', 'detach' })

--- Tensor:diag_embed([offset [, dim1 [, dim2]]]) -> Tensor
-- torch.diag_embed(x, ...) as a method.
function Tensor:diag_embed(...) return torch.diag_embed(self, ...) end
--- Tensor:is_cpu() -> boolean
-- Whether the tensor's memory is the host's.
function Tensor:is_cpu() return not self:is_cuda() end

--- torch.rsub(a, b, alpha) -> Tensor
-- b - alpha * a: sub with the operands swapped (a a tensor; b a tensor or a number).
function torch.rsub(a, b, alpha)
  core.c_of(a, 'rsub', 'the input')
  -- a number as a 0-d tensor of its wrapped dtype, which promotes as the number would
  if type(b) == 'number' then b = torch.full({}, b, { dtype = dtype.name[dtype.of_number(b)], device = a:device() }) end
  return torch.sub(b, a, alpha)
end
