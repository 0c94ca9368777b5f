-- tensor.nn.functional (nn.F): the functional form of every layer, activation and loss, with
-- torch.nn.functional's argument orders (positional or a trailing options table) and 1-based dims.
-- Kernel-backed functions record their derivatives from tensor.autograd.derivatives ('F.<name>' entries);
-- the others are compositions of differentiable tensor ops. The kernels take bfloat16 and float16 tensors as
-- well: they compute in float32 and round the results (and gradients) once to the 16-bit dtype.
local core = require 'tensor.core'
local torch = require 'tensor'
local K = require 'tensor.nn_kernels'
local args = require 'tensor.args'

local is_tensor = core.is_tensor

local F = {}
-- The kernel-backed functions with normalised arguments; autograd installs the 'F.<name>' derivative
-- entries on these, and the public F functions below read their arguments and call them.
local raw = {}

local function is_opts(v) return type(v) == 'table' and not is_tensor(v) and getmetatable(v) == nil and v[1] == nil end

-- (raised at the user's line, however deep in the library the check is)
local function fail(fn, fmt, ...) core.raise('F.' .. fn .. ': ' .. string.format(fmt, ...)) end

local function shape_string(t) return '[' .. table.concat(t:shape(), ' x ') .. ']' end

local function check_tensor(fn, x, what)
  if not is_tensor(x) then fail(fn, 'expected a tensor for %s, got %s', what, type(x)) end
  return x
end

-- An options table of F.fn, checked for keys that are not in `names`; returned.
local function checked(fn, opts, names)
  args.check_option_keys('F.' .. fn, opts, names)
  return opts
end

-- Options from positional arguments (named by `names`) or a trailing options table.
local function options(fn, names, ...)
  if select('#', ...) == 0 then return {} end -- (no loop to cut a caller's compiled trace short)
  local first = select(1, ...)
  if is_opts(first) then return checked(fn, first, names) end
  local opts = {}
  for i, name in ipairs(names) do
    local v = select(i, ...)
    if v ~= nil then opts[name] = v end
  end
  return opts
end

-- ---------------------------------------------------------------- linear layers

--- F.linear(input, weight, bias) -> Tensor
-- input @ weight' + bias, for input [..., in] and weight [out x in] (bias [out] or nil).
raw.linear = function(x, w, b) return K.linear(x, w, b) end
function F.linear(x, w, b)
  check_tensor('linear', x, 'the input')
  check_tensor('linear', w, 'the weight')
  local nd = x:dim()
  if nd == 0 or x:size(-1) ~= w:size(2) then
    fail('linear', 'the input %s has %s features (last dim) but the weight %s expects %d', shape_string(x),
         nd == 0 and 'no' or tostring(x:size(-1)), shape_string(w), w:size(2))
  end
  if nd == 2 then return raw.linear(x, w, b) end
  local y = x:matmul(w:t())
  if b ~= nil then y = y + b end
  return y
end

--- F.bilinear(input1, input2, weight, bias) -> Tensor
-- y_k = input1' weight_k input2 + bias_k, for weight [out x in1 x in2].
function F.bilinear(x1, x2, w, b)
  check_tensor('bilinear', x1, 'input1')
  check_tensor('bilinear', x2, 'input2')
  if x1:size(-1) ~= w:size(2) or x2:size(-1) ~= w:size(3) then
    fail('bilinear', 'inputs %s and %s do not match the weight %s', shape_string(x1), shape_string(x2), shape_string(w))
  end
  local y = torch.einsum('...i,oij,...j->...o', x1, w, x2)
  if b ~= nil then y = y + b end
  return y
end

-- ---------------------------------------------------------------- convolution and pooling

local CONV_NAMES = { 'stride', 'padding', 'dilation', 'groups' }
local CONV_T_NAMES = { 'stride', 'padding', 'output_padding', 'groups', 'dilation' }

local function define_conv(name, transposed)
  local kernel = K[name]
  local names = transposed and CONV_T_NAMES or CONV_NAMES
  local nsp = tonumber(name:match('(%d)d$'))
  raw[name] = function(x, w, b, opts) return kernel(x, w, b, opts) end
  F[name] = function(x, w, b, ...)
    check_tensor(name, x, 'the input')
    check_tensor(name, w, 'the weight')
    if is_opts(b) then
      -- all the options in one table where the bias goes: F.conv2d(x, w, {bias=b, stride=2})
      local o = {}
      for k, v in pairs(b) do if k ~= 'bias' then o[k] = v end end
      return F[name](x, w, b.bias, o)
    end
    local nd = x:dim()
    if nd ~= nsp + 1 and nd ~= nsp + 2 then
      fail(name, 'expected a %d-d (unbatched) or %d-d (batched) input, got %s', nsp + 1, nsp + 2, shape_string(x))
    end
    -- an unbatched input [C x ...] runs as a batch of one, as in PyTorch
    if nd == nsp + 1 and w:dim() == nsp + 2 then
      return raw[name](x:unsqueeze(1), w, b, options(name, names, ...)):squeeze(1)
    end
    return raw[name](x, w, b, options(name, names, ...))
  end
end

--- F.conv1d(input, weight, bias, stride=1, padding=0, dilation=1, groups=1) -> Tensor
--- F.conv2d(input, weight, bias, stride=1, padding=0, dilation=1, groups=1) -> Tensor
--- F.conv3d(input, weight, bias, stride=1, padding=0, dilation=1, groups=1) -> Tensor
-- Convolution (NCW / NCHW / NCDHW, or unbatched CW / CHW / CDHW); padding may be a number, a table per dim,
-- 'same' or 'valid'. The options may also come as one table: F.conv2d(x, w, b, {stride=2, padding=1}).
define_conv('conv1d')
define_conv('conv2d')
define_conv('conv3d')
--- F.conv_transpose1d(input, weight, bias, stride=1, padding=0, output_padding=0, groups=1, dilation=1) -> Tensor
--- F.conv_transpose2d(input, weight, bias, stride=1, padding=0, output_padding=0, groups=1, dilation=1) -> Tensor
--- F.conv_transpose3d(input, weight, bias, stride=1, padding=0, output_padding=0, groups=1, dilation=1) -> Tensor
-- Transposed convolution (the gradient of a convolution with respect to its input); weight
-- [C_in x C_out/groups x kernel...]; batched or unbatched input as the convolutions.
define_conv('conv_transpose1d', true)
define_conv('conv_transpose2d', true)
define_conv('conv_transpose3d', true)

local function define_max_pool(name)
  raw[name] = function(x, kernel_size, opts) return K[name](x, kernel_size, opts) end
  F[name] = function(x, kernel_size, ...)
    check_tensor(name, x, 'the input')
    local opts = options(name, { 'stride', 'padding', 'dilation', 'ceil_mode', 'return_indices' }, ...)
    local y, indices = raw[name](x, kernel_size, opts)
    if opts.return_indices then return y, indices end
    return y
  end
end
--- F.max_pool1d(input, kernel_size, stride, padding=0, dilation=1, ceil_mode=false, return_indices=false)
--- F.max_pool2d(input, kernel_size, stride, padding=0, dilation=1, ceil_mode=false, return_indices=false)
--- F.max_pool3d(input, kernel_size, stride, padding=0, dilation=1, ceil_mode=false, return_indices=false)
-- Max pooling (stride defaults to kernel_size); with return_indices also the 1-based argmax positions in each
-- flattened input plane (max_pool3d: in each flattened D x H x W volume, (d * H + h) * W + w + 1).
define_max_pool('max_pool1d')
define_max_pool('max_pool2d')
define_max_pool('max_pool3d')

local function define_avg_pool(name)
  raw[name] = function(x, kernel_size, opts) return K[name](x, kernel_size, opts) end
  F[name] = function(x, kernel_size, ...)
    check_tensor(name, x, 'the input')
    return raw[name](x, kernel_size,
                          options(name, { 'stride', 'padding', 'ceil_mode', 'count_include_pad', 'divisor_override' }, ...))
  end
end
--- F.avg_pool1d(input, kernel_size, stride, padding=0, ceil_mode=false, count_include_pad=true)
--- F.avg_pool2d(input, kernel_size, stride, padding=0, ceil_mode=false, count_include_pad=true, divisor_override)
--- F.avg_pool3d(input, kernel_size, stride, padding=0, ceil_mode=false, count_include_pad=true, divisor_override)
-- Average pooling.
define_avg_pool('avg_pool1d')
define_avg_pool('avg_pool2d')
define_avg_pool('avg_pool3d')

local function define_adaptive(name, returns_indices)
  raw[name] = function(x, size) return K[name](x, size) end
  F[name] = function(x, output_size, return_indices)
    check_tensor(name, x, 'the input')
    if is_opts(return_indices) then
      return_indices = checked(name, return_indices, returns_indices and { 'return_indices' } or {}).return_indices
    end
    local y, indices = raw[name](x, output_size)
    if returns_indices and return_indices then return y, indices end
    return y
  end
end
--- F.adaptive_avg_pool1d(input, output_size) -> Tensor
--- F.adaptive_avg_pool2d(input, output_size) -> Tensor
--- F.adaptive_avg_pool3d(input, output_size) -> Tensor
--- F.adaptive_max_pool1d(input, output_size, return_indices=false)
--- F.adaptive_max_pool2d(input, output_size, return_indices=false)
--- F.adaptive_max_pool3d(input, output_size, return_indices=false)
-- Pooling to a fixed output size (a number, {H, W} or {D, H, W}; false keeps the input's size).
define_adaptive('adaptive_avg_pool1d')
define_adaptive('adaptive_avg_pool2d')
define_adaptive('adaptive_avg_pool3d')
define_adaptive('adaptive_max_pool1d', true)
define_adaptive('adaptive_max_pool2d', true)
define_adaptive('adaptive_max_pool3d', true)

-- ---------------------------------------------------------------- activations

local function activation(name, method)
  F[name] = function(x, ...)
    check_tensor(name, x, 'the input')
    return x[method](x, ...)
  end
end

--- F.relu(input, inplace=false) -> Tensor
function F.relu(x, inplace)
  check_tensor('relu', x, 'the input')
  if is_opts(inplace) then checked('relu', inplace, { 'inplace' }) inplace = inplace.inplace end
  if inplace == true then return x:relu_() end
  return x:relu()
end
--- F.leaky_relu(input, negative_slope=0.01, inplace=false) -> Tensor
function F.leaky_relu(x, slope, inplace)
  check_tensor('leaky_relu', x, 'the input')
  if is_opts(slope) then checked('leaky_relu', slope, { 'negative_slope', 'inplace' }) slope, inplace = slope.negative_slope, slope.inplace end
  if inplace then return x:leaky_relu_(slope or 0.01) end
  return x:leaky_relu(slope or 0.01)
end
--- F.elu(input, alpha=1, inplace=false) -> Tensor
function F.elu(x, alpha, inplace)
  check_tensor('elu', x, 'the input')
  if is_opts(alpha) then checked('elu', alpha, { 'alpha', 'inplace' }) alpha, inplace = alpha.alpha, alpha.inplace end
  if inplace then return x:elu_(alpha or 1) end
  return x:elu(alpha or 1)
end
--- F.gelu(input, approximate='none') -> Tensor
activation('gelu', 'gelu')
--- F.silu(input) -> Tensor
activation('silu', 'silu')
--- F.sigmoid(input) -> Tensor
activation('sigmoid', 'sigmoid')
--- F.tanh(input) -> Tensor
activation('tanh', 'tanh')
--- F.logsigmoid(input) -> Tensor
activation('logsigmoid', 'logsigmoid')
--- F.softplus(input, beta=1, threshold=20) -> Tensor
activation('softplus', 'softplus')
--- F.hardtanh(input, min_val=-1, max_val=1, inplace=false) -> Tensor
function F.hardtanh(x, min_val, max_val, inplace)
  check_tensor('hardtanh', x, 'the input')
  if is_opts(min_val) then
    checked('hardtanh', min_val, { 'min_val', 'max_val', 'inplace' })
    min_val, max_val, inplace = min_val.min_val, min_val.max_val, min_val.inplace
  end
  -- (in place through copy_, not clamp_, which would pass the gradient at the bounds where hardtanh does not)
  if inplace then return x:copy_(core.in_place_source(x):hardtanh(min_val, max_val)) end
  return x:hardtanh(min_val, max_val)
end
--- F.relu6(input) -> Tensor
activation('relu6', 'relu6')
--- F.mish(input) -> Tensor
-- x * tanh(softplus(x)).
function F.mish(x) return x * x:softplus():tanh() end
--- F.softsign(input) -> Tensor
function F.softsign(x) return x / (x:abs() + 1) end
--- F.hardsigmoid(input) -> Tensor
function F.hardsigmoid(x) return (x / 6 + 0.5):hardtanh(0, 1) end -- (no gradient at the corners, as PyTorch)
--- F.hardswish(input) -> Tensor
function F.hardswish(x) return x * F.hardsigmoid(x) end

-- dim and dtype of softmax, log_softmax and softmin: (dim, dtype), ({dim=, dtype=}) or (dim, {dtype=})
local function dim_of(fn, dim, dtype)
  if is_opts(dim) then checked(fn, dim, { 'dim', 'dtype' }) dim, dtype = dim.dim, dim.dtype
  elseif is_opts(dtype) then checked(fn, dtype, { 'dtype' }) dtype = dtype.dtype end
  return dim or -1, dtype
end
-- the input cast to dtype first, as PyTorch (a dtype given to softmax was once ignored)
local function cast(x, dtype)
  if dtype ~= nil and x:dtype() ~= dtype then return x:to(dtype) end
  return x
end

raw.softmax = function(x, dim) return K.softmax(x, dim) end
raw.log_softmax = function(x, dim) return K.log_softmax(x, dim) end
--- F.softmax(input, dim=-1, dtype) -> Tensor
-- exp(x) / sum(exp(x)) along dim (1-based), computed stably (in dtype if given: the input is cast first).
function F.softmax(x, dim, dtype)
  check_tensor('softmax', x, 'the input')
  dim, dtype = dim_of('softmax', dim, dtype)
  return raw.softmax(cast(x, dtype), dim)
end
--- F.log_softmax(input, dim=-1, dtype) -> Tensor
function F.log_softmax(x, dim, dtype)
  check_tensor('log_softmax', x, 'the input')
  dim, dtype = dim_of('log_softmax', dim, dtype)
  return raw.log_softmax(cast(x, dtype), dim)
end
--- F.softmin(input, dim=-1, dtype) -> Tensor
function F.softmin(x, dim, dtype)
  check_tensor('softmin', x, 'the input')
  dim, dtype = dim_of('softmin', dim, dtype)
  return F.softmax(-cast(x, dtype), dim) -- (through F.softmax, which the ONNX tracer records)
end

-- ---------------------------------------------------------------- normalisation and regularisation

raw.batch_norm = function(x, running_mean, running_var, weight, bias, training, momentum, eps)
  return K.batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps)
end
--- F.batch_norm(input, running_mean, running_var, weight, bias, training=false, momentum=0.1, eps=1e-5)
-- Batch normalisation over [N x C x ...] per channel; in training, running statistics are updated in place.
function F.batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps)
  check_tensor('batch_norm', x, 'the input')
  if is_opts(weight) then
    checked('batch_norm', weight, { 'weight', 'bias', 'training', 'momentum', 'eps' })
    weight, bias, training, momentum, eps = weight.weight, weight.bias, weight.training, weight.momentum, weight.eps
  elseif is_opts(training) then
    -- the options after weight and bias given positionally (a table here once read as training = false)
    checked('batch_norm', training, { 'training', 'momentum', 'eps' })
    training, momentum, eps = training.training, training.momentum, training.eps
  end
  return (raw.batch_norm(x, running_mean, running_var, weight, bias, training == true, momentum or 0.1, eps or 1e-5))
end

raw.layer_norm = function(x, shape, weight, bias, eps) return K.layer_norm(x, shape, weight, bias, eps) end
--- F.layer_norm(input, normalized_shape, weight, bias, eps=1e-5) -> Tensor
function F.layer_norm(x, shape, weight, bias, eps)
  check_tensor('layer_norm', x, 'the input')
  if is_opts(weight) then checked('layer_norm', weight, { 'weight', 'bias', 'eps' }) weight, bias, eps = weight.weight, weight.bias, weight.eps
  elseif is_opts(eps) then checked('layer_norm', eps, { 'eps' }) eps = eps.eps end
  return (raw.layer_norm(x, shape, weight, bias, eps or 1e-5))
end

raw.group_norm = function(x, groups, weight, bias, eps) return K.group_norm(x, groups, weight, bias, eps) end
--- F.group_norm(input, num_groups, weight, bias, eps=1e-5) -> Tensor
function F.group_norm(x, groups, weight, bias, eps)
  check_tensor('group_norm', x, 'the input')
  if is_opts(weight) then checked('group_norm', weight, { 'weight', 'bias', 'eps' }) weight, bias, eps = weight.weight, weight.bias, weight.eps
  elseif is_opts(eps) then checked('group_norm', eps, { 'eps' }) eps = eps.eps end
  return (raw.group_norm(x, groups, weight, bias, eps or 1e-5))
end

raw.dropout = function(x, p, opts) return K.dropout(x, p, true, opts) end
--- F.dropout2d(input, p=0.5, training=true, inplace=false) -> Tensor
-- Zeroes whole channels of an [N x C x H x W] (or unbatched [C x H x W]) input with probability p and scales the
-- others by 1/(1-p); identity when not training. nn.Dropout2d's forward.
function F.dropout2d(x, p, training, inplace)
  check_tensor('dropout2d', x, 'the input')
  if is_opts(p) then checked('dropout2d', p, { 'p', 'training', 'inplace' }) p, training, inplace = p.p, p.training, p.inplace end
  p = p or 0.5
  if type(p) ~= 'number' or p < 0 or p > 1 then fail('dropout2d', 'p must be a probability in [0, 1], got %s', tostring(p)) end
  if training == false or p == 0 then return x end
  if x:dim() ~= 3 and x:dim() ~= 4 then fail('dropout2d', 'expected a 3-d or 4-d input, got %d dims', x:dim()) end
  local shape = x:shape()
  shape[#shape - 1], shape[#shape] = 1, 1
  local y
  if p == 1 then
    y = x * 0 -- every channel dropped (1 / (1 - p) would make 0 * inf = NaN)
  else
    y = x * torch.empty(shape, { dtype = x:dtype(), device = x:device() }):bernoulli_(1 - p) / (1 - p)
  end
  if inplace then return x:copy_(y) end
  return y
end

--- F.prelu(input, weight) -> Tensor
-- max(0, x) + weight * min(0, x): a learned slope, one (weight of 1 element) or one per channel of dim 2.
-- nn.PReLU's forward.
function F.prelu(x, weight)
  check_tensor('prelu', x, 'the input')
  check_tensor('prelu', weight, 'the weight')
  local n, w = weight:numel(), weight
  if n > 1 then
    if x:dim() < 2 or x:size(2) ~= n then
      fail('prelu', 'a weight of %d elements needs %d channels in dim 2, got an input of size %s', n, n,
           '[' .. table.concat(x:shape(), ' x ') .. ']')
    end
    local shape = {}
    for d = 1, x:dim() do shape[d] = d == 2 and n or 1 end
    w = weight:view(shape)
  elseif n == 1 then
    w = weight:view({})
  else
    fail('prelu', 'the weight is empty')
  end
  return torch.where(x:gt(0), x, x * w)
end

--- F.dropout(input, p=0.5, training=true, inplace=false) -> Tensor
-- Zeroes elements with probability p and scales the others by 1/(1-p) (identity when not training).
function F.dropout(x, p, training, inplace)
  check_tensor('dropout', x, 'the input')
  local opts
  if is_opts(p) then checked('dropout', p, { 'p', 'training', 'inplace', 'generator' }) opts, p, training, inplace = p, p.p, p.training, p.inplace end
  p = p or 0.5
  if type(p) ~= 'number' or p < 0 or p > 1 then fail('dropout', 'p must be a probability in [0, 1], got %s', tostring(p)) end
  if training == false or p == 0 then return x end
  local y = raw.dropout(x, p, opts)
  if inplace then return x:copy_(y) end
  return y
end

raw.embedding = function(ids, weight, opts)
  local y = K.embedding(ids, weight)
  local pad = opts and opts.padding_idx
  if pad ~= nil then
    local _ = K.padding_index('embedding', pad, weight:size(1)) -- validates it
  end
  return y
end
--- F.embedding(input, weight, padding_idx, max_norm, norm_type, scale_grad_by_freq) -> Tensor
-- Rows of weight picked by 1-based ids (input, an integer tensor); the row padding_idx (1-based) gets no
-- gradient. Options may come as a table: F.embedding(ids, w, {padding_idx=1}).
function F.embedding(ids, weight, ...)
  check_tensor('embedding', ids, 'the ids')
  check_tensor('embedding', weight, 'the weight')
  local opts = options('embedding', { 'padding_idx', 'max_norm', 'norm_type', 'scale_grad_by_freq' }, ...)
  if opts.max_norm then
    torch.no_grad(function()
      local rows = ids:reshape(-1):unique()
      local norms = weight:index_select(1, rows):norm(opts.norm_type or 2, 2, true)
      -- PyTorch's embedding_renorm_: scale = max_norm / (norm + 1e-7) for the rows above max_norm
      local scale = torch.where(norms:gt(opts.max_norm), (norms + 1e-7):reciprocal():mul_(opts.max_norm), 1)
      weight:index_copy_(1, rows, weight:index_select(1, rows) * scale)
    end)
  end
  return raw.embedding(ids, weight, opts)
end

-- ---------------------------------------------------------------- losses

local REDUCTIONS = { mean = true, sum = true, none = true }
local function reduce(fn, loss, reduction)
  reduction = reduction or 'mean'
  if not REDUCTIONS[reduction] then fail(fn, "reduction must be 'mean', 'sum' or 'none', got %s", tostring(reduction)) end
  if reduction == 'none' then return loss end
  if reduction == 'sum' then return loss:sum({ tensor = true }) end
  return loss:mean({ tensor = true })
end

-- Input and target of a loss: tensors whose shapes broadcast (as in PyTorch).
local function pair(fn, x, t)
  check_tensor(fn, x, 'the input')
  check_tensor(fn, t, 'the target')
  local a, b = x:shape(), t:shape()
  for i = 1, math.min(#a, #b) do
    local sa, sb = a[#a - i + 1], b[#b - i + 1]
    if sa ~= sb and sa ~= 1 and sb ~= 1 then
      fail(fn, 'the input %s and the target %s do not broadcast', shape_string(x), shape_string(t))
    end
  end
end

local function reduction_of(fn, opts)
  if is_opts(opts) then return checked(fn, opts, { 'reduction' }).reduction end
  return opts
end

--- F.mse_loss(input, target, reduction='mean') -> Tensor
function F.mse_loss(x, t, reduction)
  pair('mse_loss', x, t)
  return reduce('mse_loss', (x - t):square(), reduction_of('mse_loss', reduction))
end

--- F.l1_loss(input, target, reduction='mean') -> Tensor
function F.l1_loss(x, t, reduction)
  pair('l1_loss', x, t)
  return reduce('l1_loss', (x - t):abs(), reduction_of('l1_loss', reduction))
end

--- F.smooth_l1_loss(input, target, reduction='mean', beta=1) -> Tensor
-- 0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (beta = 0 is the L1 loss).
function F.smooth_l1_loss(x, t, reduction, beta)
  if is_opts(reduction) then checked('smooth_l1_loss', reduction, { 'reduction', 'beta' }) reduction, beta = reduction.reduction, reduction.beta end
  pair('smooth_l1_loss', x, t)
  beta = beta or 1
  local d = (x - t):abs()
  local loss = beta == 0 and d or torch.where(d:lt(beta), d:square() * (0.5 / beta), d - 0.5 * beta)
  return reduce('smooth_l1_loss', loss, reduction)
end

--- F.huber_loss(input, target, reduction='mean', delta=1) -> Tensor
function F.huber_loss(x, t, reduction, delta)
  if is_opts(reduction) then checked('huber_loss', reduction, { 'reduction', 'delta' }) reduction, delta = reduction.reduction, reduction.delta end
  pair('huber_loss', x, t)
  delta = delta or 1
  local d = (x - t):abs()
  return reduce('huber_loss', torch.where(d:lt(delta), d:square() * 0.5, (d - 0.5 * delta) * delta), reduction)
end

local CLASS_LOSS_OPTIONS = {
  cross_entropy = { 'weight', 'ignore_index', 'reduction', 'label_smoothing' },
  nll_loss = { 'weight', 'ignore_index', 'reduction' },
}
local function class_loss_options(fn, ...)
  local opts = options(fn, CLASS_LOSS_OPTIONS[fn], ...)
  if opts.reduction ~= nil and not REDUCTIONS[opts.reduction] then
    fail(fn, "reduction must be 'mean', 'sum' or 'none', got %s", tostring(opts.reduction))
  end
  return opts
end

raw.cross_entropy = function(x, target, opts) return K.cross_entropy(x, target, opts) end
--- F.cross_entropy(input, target, weight, ignore_index=-100, reduction='mean', label_smoothing=0) -> Tensor
-- Cross entropy of logits [N x C] (or [N x C x d...] or [C]) with 1-based class ids (or class
-- probabilities of input's shape); fused log_softmax + nll. Options may come as a table.
function F.cross_entropy(x, target, ...)
  check_tensor('cross_entropy', x, 'the input')
  check_tensor('cross_entropy', target, 'the target')
  return (raw.cross_entropy(x, target, class_loss_options('cross_entropy', ...)))
end

raw.nll_loss = function(x, target, opts) return K.nll_loss(x, target, opts) end
--- F.nll_loss(input, target, weight, ignore_index=-100, reduction='mean') -> Tensor
-- Negative log-likelihood of log-probabilities with 1-based class ids.
function F.nll_loss(x, target, ...)
  check_tensor('nll_loss', x, 'the input')
  check_tensor('nll_loss', target, 'the target')
  return raw.nll_loss(x, target, class_loss_options('nll_loss', ...))
end

-- The element-wise binary cross entropy with PyTorch's gradients: (x - t) / max(x (1 - x), 1e-12) for the input
-- (finite at x = 0 and 1, where the clamped logs' own derivative is 0 * inf) and the clamped log ratio for the
-- target.
local clamped_log = function(v) return v:log():clamp({ min = -100 }) end
local BinaryCrossEntropy = torch.autograd.Function {
  name = 'binary_cross_entropy',
  forward = function(ctx, x, t)
    ctx:save_for_backward(x, t)
    return -(t * clamped_log(x) + (1 - t) * clamped_log(1 - x))
  end,
  backward = function(ctx, g)
    local x, t = unpack(ctx.saved_tensors)
    local gx, gt
    if ctx.needs_input_grad[1] then gx = g * (x - t) / (x * (1 - x)):clamp({ min = 1e-12 }) end
    if ctx.needs_input_grad[2] then gt = g * (clamped_log(1 - x) - clamped_log(x)) end
    return gx, gt
  end,
}

--- F.binary_cross_entropy(input, target, weight, reduction='mean') -> Tensor
-- -(t log x + (1 - t) log(1 - x)) for probabilities x and a target of the same shape, with the logs clamped at
-- -100 as in PyTorch; weight broadcasts to the input.
function F.binary_cross_entropy(x, t, weight, reduction)
  if is_opts(weight) then checked('binary_cross_entropy', weight, { 'weight', 'reduction' }) weight, reduction = weight.weight, weight.reduction end
  pair('binary_cross_entropy', x, t)
  if not x:is_same_size(t) then
    fail('binary_cross_entropy', 'the target %s must have the size of the input %s', shape_string(t), shape_string(x))
  end
  local bad = torch.no_grad(function() return x:lt(0):logical_or(x:gt(1)):any() end)
  if bad then fail('binary_cross_entropy', 'the input must hold probabilities in [0, 1]') end
  local loss = BinaryCrossEntropy.apply(x, t)
  if weight ~= nil then loss = loss * weight end
  return reduce('binary_cross_entropy', loss, reduction)
end

--- F.binary_cross_entropy_with_logits(input, target, weight, reduction='mean', pos_weight) -> Tensor
-- Sigmoid and binary cross entropy in one stable expression; pos_weight weighs the positive class.
function F.binary_cross_entropy_with_logits(x, t, weight, reduction, pos_weight)
  if is_opts(weight) then checked('binary_cross_entropy_with_logits', weight, { 'weight', 'reduction', 'pos_weight' }) weight, reduction, pos_weight = weight.weight, weight.reduction, weight.pos_weight end
  pair('binary_cross_entropy_with_logits', x, t)
  -- log(1 + exp(-x)) in two smooth pieces that never overflow, joined by where, so that the gradient is
  -- -sigmoid(-x) everywhere (at x = 0 too, where max(-x, 0) + log1p(exp(-|x|)) gave -1 instead of -1/2)
  local above, below = x:clamp({ min = 0 }), x:clamp({ max = 0 })
  local softplus_neg = torch.where(x:ge(0), (-above):exp():log1p(), below:exp():log1p() - below)
  local loss
  if pos_weight ~= nil then
    loss = (1 - t) * x + ((pos_weight - 1) * t + 1) * softplus_neg
  else
    loss = (1 - t) * x + softplus_neg
  end
  if weight ~= nil then loss = loss * weight end
  return reduce('binary_cross_entropy_with_logits', loss, reduction)
end

--- F.kl_div(input, target, reduction='mean', log_target=false) -> Tensor
-- Kullback-Leibler divergence with log-probabilities as input: target * (log target - input) summed per the
-- reduction ('batchmean' divides the sum by the batch size, the mathematically correct mean).
function F.kl_div(x, t, reduction, log_target)
  if is_opts(reduction) then checked('kl_div', reduction, { 'reduction', 'log_target' }) reduction, log_target = reduction.reduction, reduction.log_target end
  pair('kl_div', x, t)
  local loss
  if log_target then
    loss = t:exp() * (t - x)
  else
    loss = torch.where(t:gt(0), t * (torch.where(t:gt(0), t, 1):log() - x), 0)
  end
  if reduction == 'batchmean' then return loss:sum({ tensor = true }) / (x:dim() > 0 and x:size(1) or 1) end
  return reduce('kl_div', loss, reduction)
end

-- ---------------------------------------------------------------- utilities

--- F.one_hot(ids, num_classes) -> Tensor
-- An int64 tensor with a 1 at each 1-based id: [ids' shape x num_classes] (num_classes defaults to the max id).
function F.one_hot(ids, num_classes)
  check_tensor('one_hot', ids, 'the ids')
  if num_classes == nil or num_classes == -1 then num_classes = ids:numel() > 0 and ids:max() or 0 end -- (-1: PyTorch's)
  if ids:numel() > 0 and (ids:min() < 1 or ids:max() > num_classes) then
    fail('one_hot', 'ids must be within 1..%d, got %d..%d', num_classes, ids:min(), ids:max())
  end
  local shape = ids:shape()
  shape[#shape + 1] = 1
  local positions = torch.arange(1, num_classes + 1)
  return ids:reshape(shape):eq(positions):long()
end

--- F.normalize(input, p=2, dim=2, eps=1e-12) -> Tensor
-- input / max(norm_p(input, dim), eps).
function F.normalize(x, p, dim, eps)
  if is_opts(p) then checked('normalize', p, { 'p', 'dim', 'eps' }) p, dim, eps = p.p, p.dim, p.eps end
  local n = x:norm(p or 2, dim or 2, true):clamp({ min = eps or 1e-12 })
  return x / n
end

--- F.cosine_similarity(x1, x2, dim=2, eps=1e-8) -> Tensor
-- <x1, x2> / sqrt(max(|x1|^2, eps^2) max(|x2|^2, eps^2)) along dim (x1 and x2 broadcast), as PyTorch.
function F.cosine_similarity(a, b, dim, eps)
  if is_opts(dim) then checked('cosine_similarity', dim, { 'dim', 'eps' }) dim, eps = dim.dim, dim.eps end
  dim, eps = dim or 2, eps or 1e-8
  -- broadcast first (as PyTorch): a size-1 dim of one side that the other's size stretches counts in its norm
  a, b = torch.broadcast_tensors(a, b)
  -- PyTorch floors the squared norms at eps^2 without recording the floor: below it the value is the floor's but
  -- the gradient still that of the squared norm
  local function floored(s) return s + (s:clamp({ min = eps * eps }) - s):detach() end
  local sa, sb = floored((a * a):sum(dim, true)), floored((b * b):sum(dim, true))
  return ((a * b) / (sa * sb):sqrt()):sum(dim)
end

--- F.pad(input, pad, mode='constant', value=0) -> Tensor
-- Pads the last dims: pad = {left, right [, top, bottom [, front, back]]} as in PyTorch (last dim first); a
-- negative amount crops instead. Modes: 'constant' (value), 'reflect' (mirrored about the edge element, so each
-- amount must be less than the dim's size), 'replicate' (the edge element repeated) and 'circular' (wrapped
-- around, at most the dim's size).
function F.pad(x, pad, mode, value)
  if is_opts(mode) then checked('pad', mode, { 'mode', 'value' }) mode, value = mode.mode, mode.value end
  mode = mode or 'constant'
  if mode ~= 'constant' and mode ~= 'reflect' and mode ~= 'replicate' and mode ~= 'circular' then
    fail('pad', "mode must be 'constant', 'reflect', 'replicate' or 'circular', got %s", tostring(mode))
  end
  if type(pad) ~= 'table' or #pad % 2 ~= 0 or #pad / 2 > x:dim() then
    fail('pad', 'pad must hold pairs for at most %d dims', x:dim())
  end
  local y = x
  for k = 1, #pad / 2 do
    local dim = x:dim() - k + 1
    local before, after = pad[2 * k - 1], pad[2 * k]
    -- negative amounts crop first; the rest pads what is left
    local crop_front, crop_back = math.max(-before, 0), math.max(-after, 0)
    local size = y:size(dim) - crop_front - crop_back
    if size < 0 then fail('pad', 'cropping %d and %d from dimension %d of size %d', crop_front, crop_back, dim, y:size(dim)) end
    y = y:narrow(dim, 1 + crop_front, size)
    before, after = math.max(before, 0), math.max(after, 0)
    local function sized(length) -- y's shape with `length` along dim
      local shape = y:shape()
      shape[dim] = length
      return shape
    end
    local function filled(length) return torch.full(sized(length), value or 0, { dtype = y:dtype(), device = y:device() }) end
    local parts = {}
    if mode == 'constant' then
      if before > 0 then parts[#parts + 1] = filled(before) end
      parts[#parts + 1] = y
      if after > 0 then parts[#parts + 1] = filled(after) end
    elseif mode == 'reflect' then
      if before >= size or after >= size then
        fail('pad', 'reflect padding of %d needs a dim larger than its size %d', math.max(before, after), size)
      end
      for i = before, 1, -1 do parts[#parts + 1] = y:narrow(dim, i + 1, 1) end
      parts[#parts + 1] = y
      for i = 1, after do parts[#parts + 1] = y:narrow(dim, size - i, 1) end
    elseif mode == 'replicate' then
      if size == 0 and before + after > 0 then fail('pad', 'replicate padding needs a non-empty dimension %d', dim) end
      if before > 0 then parts[#parts + 1] = y:narrow(dim, 1, 1):expand(sized(before)) end
      parts[#parts + 1] = y
      if after > 0 then parts[#parts + 1] = y:narrow(dim, size, 1):expand(sized(after)) end
    else -- circular
      if before > size or after > size then
        fail('pad', 'circular padding of %d needs a dim at least as large, got size %d', math.max(before, after), size)
      end
      if before > 0 then parts[#parts + 1] = y:narrow(dim, size - before + 1, before) end
      parts[#parts + 1] = y
      if after > 0 then parts[#parts + 1] = y:narrow(dim, 1, after) end
    end
    y = #parts == 1 and parts[1] or torch.cat(parts, dim)
  end
  return y
end

--- F.scaled_dot_product_attention(query, key, value, attn_mask, dropout_p=0, is_causal=false, scale) -> Tensor
-- softmax(q k' * scale + mask) v over the last two dims; a boolean mask marks positions that may attend
-- (true = keep), a float mask is added. scale defaults to 1/sqrt(head dim).
function F.scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal, scale)
  if is_opts(attn_mask) then
    local o = checked('scaled_dot_product_attention', attn_mask, { 'attn_mask', 'dropout_p', 'is_causal', 'scale' })
    attn_mask, dropout_p, is_causal, scale = o.attn_mask, o.dropout_p, o.is_causal, o.scale
  end
  scale = scale or 1 / math.sqrt(q:size(-1))
  local scores = q:matmul(k:transpose(-2, -1)) * scale
  if is_causal then
    local L, S = q:size(-2), k:size(-2)
    local causal = torch.ones(L, S, { dtype = 'bool', device = q:device() }):tril()
    scores = scores:masked_fill(causal:logical_not(), -math.huge)
  end
  if attn_mask ~= nil then
    if attn_mask:dtype() == 'bool' then
      scores = scores:masked_fill(attn_mask:logical_not(), -math.huge)
    else
      scores = scores + attn_mask
    end
  end
  local weights = F.softmax(scores, -1)
  if dropout_p and dropout_p > 0 then weights = F.dropout(weights, dropout_p) end
  -- (the output alone, as PyTorch: a second result would reach the next call's arguments in f(F.sdpa(...)))
  return (weights:matmul(v))
end

-- ---------------------------------------------------------------- more layers, activations and losses
-- Compositions of tensor ops in files of their own under tensor/nn/functional/, given this file's helpers.
local helpers = { fail = fail, check_tensor = check_tensor, shape_string = shape_string, is_opts = is_opts,
                  checked = checked, options = options, reduce = reduce, pair = pair, REDUCTIONS = REDUCTIONS }
for _, family in ipairs({ 'activations', 'resampling', 'sampling', 'im2col', 'normalization', 'dropout', 'distance',
                          'losses', 'embedding_bag', 'pool_compositions' }) do
  require('tensor.nn.functional.' .. family)(F, helpers)
end

--- F.relu_(input) -> Tensor
--- F.elu_(input, alpha=1) -> Tensor
--- F.leaky_relu_(input, negative_slope=0.01) -> Tensor
--- F.hardtanh_(input, min_val=-1, max_val=1) -> Tensor
--- F.selu_(input) -> Tensor
--- F.celu_(input, alpha=1) -> Tensor
--- F.threshold_(input, threshold, value) -> Tensor
--- F.rrelu_(input, lower=1/8, upper=1/3, training=false) -> Tensor
-- The in-place forms: the function with inplace=true (its other arguments positional, or one options table).
local IN_PLACE_ARGUMENTS = { relu = 0, elu = 1, leaky_relu = 1, hardtanh = 2, selu = 0, celu = 1, threshold = 2,
                             rrelu = 3 }
for name, count in pairs(IN_PLACE_ARGUMENTS) do
  local fn = F[name]
  F[name .. '_'] = function(x, ...)
    local first = ...
    if is_opts(first) then
      local o = {}
      for k, v in pairs(first) do o[k] = v end
      o.inplace = true
      return fn(x, o)
    end
    local a = { ... }
    a[count + 1] = true
    return fn(x, unpack(a, 1, count + 1))
  end
end

require('tensor.autograd').install_namespace('F', raw)

-- The kernels compute in float32 and float64. Tensors of a 16-bit float dtype go through them as float32 and the
-- results come back rounded to that dtype, as PyTorch's CPU kernels accumulate bfloat16 in float32; the conversions
-- are recorded, so gradients reach the 16-bit tensors in their own dtype, and running statistics that a kernel
-- updates in place (batch_norm's) are written back. `first` is the argument whose dtype decides (the input; the
-- weight for embedding): a float32 or float64 call pays one dtype test.
local SIXTEEN_BIT = { float16 = true, bfloat16 = true }
local WIDENED = { conv1d = 1, conv2d = 1, conv3d = 1, conv_transpose1d = 1, conv_transpose2d = 1, conv_transpose3d = 1,
                  max_pool1d = 1, max_pool2d = 1, max_pool3d = 1, avg_pool1d = 1, avg_pool2d = 1, avg_pool3d = 1,
                  adaptive_avg_pool1d = 1, adaptive_avg_pool2d = 1, adaptive_avg_pool3d = 1, adaptive_max_pool1d = 1,
                  adaptive_max_pool2d = 1, adaptive_max_pool3d = 1, softmax = 1, log_softmax = 1, batch_norm = 1,
                  layer_norm = 1, group_norm = 1, cross_entropy = 1, nll_loss = 1, embedding = 2 }
local UPDATED_IN_PLACE = { batch_norm = { 2, 3 } }

-- v with its tensors of dtype `narrow` as float32 (an options table: a copy with its tensor fields converted);
-- raises when a floating tensor has another dtype, which PyTorch refuses too.
local function widen(name, v, narrow)
  if is_tensor(v) then
    local dt = v:dtype()
    if dt == narrow then return v:float() end
    if v:is_floating_point() then
      fail(name, 'expected every floating tensor to be %s as the input is, got %s', narrow, dt)
    end
    return v
  end
  if is_opts(v) then
    local copy = {}
    for k, x in pairs(v) do copy[k] = widen(name, x, narrow) end
    return copy
  end
  return v
end

for name, first in pairs(WIDENED) do
  local fn, updated = raw[name], UPDATED_IN_PLACE[name] or {}
  raw[name] = function(...)
    local decider = select(first, ...)
    local narrow = is_tensor(decider) and decider:dtype()
    if not SIXTEEN_BIT[narrow] then return fn(...) end
    local n, a = select('#', ...), { ... }
    for i = 1, n do a[i] = widen(name, a[i], narrow) end
    local results = { fn(unpack(a, 1, n)) }
    for _, i in ipairs(updated) do
      local original = select(i, ...)
      if is_tensor(original) and original ~= a[i] then torch.no_grad(function() original:copy_(a[i]) end) end
    end
    for i = 1, #results do
      if is_tensor(results[i]) and results[i]:dtype() == 'float32' then results[i] = results[i]:to(narrow) end
    end
    return unpack(results)
  end
end

return F
