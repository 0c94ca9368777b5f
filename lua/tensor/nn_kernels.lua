-- tensor.nn_kernels: the forward and backward kernels of the nn layers and losses, as plain functions on
-- tensors (no modules, no autograd: nn's layers and autograd's formulas call these).
--
--   local K = require 'tensor.nn_kernels'
--   local y = K.conv2d(x, w, b, {stride=1, padding='same'})
--   local gx, gw, gb = K.conv2d_backward(gy, x, w, {padding='same'})
--
-- Conventions: options as in torch.nn.functional (a number or a table per spatial dim); dims 1-based;
-- class targets, embedding ids and pooling indices 1-based (indices number positions of the flattened
-- input plane, h * W + w + 1, or volume, (d * H + h) * W + w + 1); float32 or float64. Backward functions return the gradients named by
-- output_mask = {input, weight, bias} (each true by default), nil for the others.
local ffi = require 'ffi'
local core = require 'tensor.core'
local args = require 'tensor.args'

local C, wrap, check, is_tensor = core.C, core.wrap, core.check, core.is_tensor
local is_opts, is_integer = args.is_opts, args.is_integer
local floor = math.floor

local K = {}

-- scratch arrays for options and out-parameters (filled and read within one call)
local stride_buf, pad_buf, dil_buf, opad_buf = ffi.new('int64_t[6]'), ffi.new('int64_t[6]'), ffi.new('int64_t[6]'),
                                               ffi.new('int64_t[6]')
local size_buf = ffi.new('int64_t[16]')
local out1, out2, out3 = ffi.new('tn_tensor*[1]'), ffi.new('tn_tensor*[1]'), ffi.new('tn_tensor*[1]')
local BASE = 1

local function fail(fn, fmt, ...)
  error(fn .. ': ' .. string.format(fmt, ...), 3)
end

local function c_of(x, fn, what)
  if not is_tensor(x) then fail(fn, 'expected a tensor for %s, got %s', what, type(x)) end
  return x._c
end

local function opt_c(x, fn, what)
  if x == nil then return nil end
  return c_of(x, fn, what)
end

-- A tensor for an out-parameter (nil when the C side left it NULL).
local function take(buf)
  local p = buf[0]
  buf[0] = nil
  if p == nil then return nil end
  return wrap(p)
end

-- n integers from a number or a table of n numbers, into buf (at offset 0); checks minimum values.
local function ints(fn, name, v, n, buf, min)
  if type(v) == 'number' then
    if not is_integer(v) then fail(fn, '%s must be an integer, got %s', name, tostring(v)) end
    for i = 0, n - 1 do buf[i] = v end
  elseif type(v) == 'table' and not is_tensor(v) then
    if #v ~= n then fail(fn, '%s must be a number or a table of %d numbers, got %d', name, n, #v) end
    for i = 1, n do
      if not is_integer(v[i]) then fail(fn, '%s must hold integers, got %s', name, tostring(v[i])) end
      buf[i - 1] = v[i]
    end
  else
    fail(fn, '%s must be a number or a table of %d numbers, got %s', name, n, type(v))
  end
  for i = 0, n - 1 do
    if buf[i] < min then fail(fn, '%s must be at least %d, got %d', name, min, tonumber(buf[i])) end
  end
  return buf
end

local function bool_opt(fn, name, v, default)
  if v == nil then return default end
  if type(v) ~= 'boolean' then fail(fn, '%s must be a boolean, got %s', name, type(v)) end
  return v
end

-- output_mask = {input, weight, bias}: which gradients to compute (all by default)
local function mask_of(fn, m)
  if m == nil then return true, true, true end
  if type(m) ~= 'table' then fail(fn, 'output_mask must be a table of three booleans, got %s', type(m)) end
  return m[1] ~= false, m[2] ~= false, m[3] ~= false
end

local function slot(want, buf)
  if want then return buf end
  return nil
end

-- ---- convolution ----

-- Fills the conv padding buffer (before/after pairs per spatial dim) from an int, a table or 'same'/'valid'.
local function conv_padding(fn, padding, nsp, w, dil, stride)
  padding = padding or 0
  if padding == 'valid' then padding = 0 end
  if padding == 'same' then
    for d = 0, nsp - 1 do
      if stride[d] ~= 1 then fail(fn, "padding='same' is not supported for strided convolutions") end
      local total = tonumber(dil[d]) * (w:size(d + 3) - 1)
      pad_buf[2 * d] = floor(total / 2)
      pad_buf[2 * d + 1] = total - floor(total / 2)
    end
    return pad_buf
  end
  if type(padding) == 'string' then fail(fn, "padding must be a number, a table, 'same' or 'valid', got '%s'", padding) end
  ints(fn, 'padding', padding, nsp, opad_buf, 0)
  for d = 0, nsp - 1 do
    pad_buf[2 * d] = opad_buf[d]
    pad_buf[2 * d + 1] = opad_buf[d]
  end
  return pad_buf
end

local function conv_options(fn, nsp, w, opts)
  opts = opts or {}
  if not is_opts(opts) and next(opts) ~= nil then fail(fn, 'expected an options table') end
  local stride = ints(fn, 'stride', opts.stride or 1, nsp, stride_buf, 1)
  local dilation = ints(fn, 'dilation', opts.dilation or 1, nsp, dil_buf, 1)
  local groups = opts.groups or 1
  if not is_integer(groups) or groups < 1 then fail(fn, 'groups must be a positive integer, got %s', tostring(groups)) end
  return stride, dilation, groups, opts
end

local function define_conv(nsp)
  local name = 'conv' .. nsp .. 'd'
  local bname = name .. '_backward'

  --- nn_kernels.conv2d(input, weight, bias, opts) -> Tensor
  --- nn_kernels.conv1d(input, weight, bias, opts) -> Tensor
  --- nn_kernels.conv3d(input, weight, bias, opts) -> Tensor
  -- Convolution of input [N x C_in x H x W] with weight [C_out x C_in/groups x kH x kW] plus bias [C_out]
  -- (or nil). opts: stride, padding (a number, a table per dim, 'same' or 'valid'), dilation, groups.
  -- nn_kernels.conv1d is the same over [N x C_in x W], nn_kernels.conv3d over [N x C_in x D x H x W] with
  -- weight [C_out x C_in/groups x kD x kH x kW].
  K[name] = function(x, w, b, opts)
    local xc, wc, bc = c_of(x, name, 'the input'), c_of(w, name, 'the weight'), opt_c(b, name, 'the bias')
    local stride, dilation, groups
    stride, dilation, groups, opts = conv_options(name, nsp, w, opts)
    if wc.ndim ~= nsp + 2 then
      return wrap(C.tn_conv(nil, xc, wc, bc, nsp, stride, pad_buf, dilation, groups)) -- reports the shape
    end
    local padding = conv_padding(name, opts.padding, nsp, w, dilation, stride)
    return wrap(C.tn_conv(nil, xc, wc, bc, nsp, stride, padding, dilation, groups))
  end

  --- nn_kernels.conv2d_backward(grad_output, input, weight, opts) -> grad_input, grad_weight, grad_bias
  --- nn_kernels.conv1d_backward(grad_output, input, weight, opts) -> grad_input, grad_weight, grad_bias
  --- nn_kernels.conv3d_backward(grad_output, input, weight, opts) -> grad_input, grad_weight, grad_bias
  -- Gradients of nn_kernels.conv2d with the same opts; opts.output_mask = {input, weight, bias} picks the ones
  -- computed (default all). nn_kernels.conv1d_backward and nn_kernels.conv3d_backward likewise.
  K[bname] = function(g, x, w, opts)
    local gc, xc, wc = c_of(g, bname, 'the gradient'), c_of(x, bname, 'the input'), c_of(w, bname, 'the weight')
    local stride, dilation, groups
    stride, dilation, groups, opts = conv_options(bname, nsp, w, opts)
    local padding = wc.ndim == nsp + 2 and conv_padding(bname, opts.padding, nsp, w, dilation, stride) or pad_buf
    local mi, mw, mb = mask_of(bname, opts.output_mask)
    check(C.tn_conv_backward(gc, xc, wc, nsp, stride, padding, dilation, groups, slot(mi, out1), slot(mw, out2),
                             slot(mb, out3)))
    return mi and take(out1) or nil, mw and take(out2) or nil, mb and take(out3) or nil
  end

  local tname = 'conv_transpose' .. nsp .. 'd'
  local tbname = tname .. '_backward'
  local function transpose_options(fn, opts)
    local stride, dilation, groups
    stride, dilation, groups, opts = conv_options(fn, nsp, nil, opts)
    if type(opts.padding) == 'string' then fail(fn, 'padding must be a number or a table, got %s', opts.padding) end
    local padding = ints(fn, 'padding', opts.padding or 0, nsp, pad_buf, 0)
    local opad = ints(fn, 'output_padding', opts.output_padding or 0, nsp, opad_buf, 0)
    return stride, padding, opad, dilation, groups, opts
  end

  --- nn_kernels.conv_transpose2d(input, weight, bias, opts) -> Tensor
  --- nn_kernels.conv_transpose1d(input, weight, bias, opts) -> Tensor
  --- nn_kernels.conv_transpose3d(input, weight, bias, opts) -> Tensor
  -- Transposed convolution of input [N x C_in x H x W] with weight [C_in x C_out/groups x kH x kW] plus bias
  -- [C_out] (or nil). opts: stride, padding, output_padding, dilation, groups. nn_kernels.conv_transpose1d and
  -- nn_kernels.conv_transpose3d ([N x C_in x D x H x W], weight [C_in x C_out/groups x kD x kH x kW]) likewise.
  K[tname] = function(x, w, b, opts)
    local xc, wc, bc = c_of(x, tname, 'the input'), c_of(w, tname, 'the weight'), opt_c(b, tname, 'the bias')
    local stride, padding, opad, dilation, groups = transpose_options(tname, opts)
    return wrap(C.tn_conv_transpose(nil, xc, wc, bc, nsp, stride, padding, opad, dilation, groups))
  end

  --- nn_kernels.conv_transpose2d_backward(grad_output, input, weight, opts) -> grad_input, grad_weight, grad_bias
  --- nn_kernels.conv_transpose1d_backward(grad_output, input, weight, opts) -> grad_input, grad_weight, grad_bias
  --- nn_kernels.conv_transpose3d_backward(grad_output, input, weight, opts) -> grad_input, grad_weight, grad_bias
  -- Gradients of nn_kernels.conv_transpose2d with the same opts (and output_mask). nn_kernels.conv_transpose1d_backward
  -- and nn_kernels.conv_transpose3d_backward likewise.
  K[tbname] = function(g, x, w, opts)
    local gc, xc, wc = c_of(g, tbname, 'the gradient'), c_of(x, tbname, 'the input'), c_of(w, tbname, 'the weight')
    local stride, padding, opad, dilation, groups
    stride, padding, opad, dilation, groups, opts = transpose_options(tbname, opts)
    local mi, mw, mb = mask_of(tbname, opts.output_mask)
    check(C.tn_conv_transpose_backward(gc, xc, wc, nsp, stride, padding, opad, dilation, groups, slot(mi, out1),
                                       slot(mw, out2), slot(mb, out3)))
    return mi and take(out1) or nil, mw and take(out2) or nil, mb and take(out3) or nil
  end
end
define_conv(1)
define_conv(2)
define_conv(3)

-- ---- pooling ----

local function pool_options(fn, nsp, kernel_size, opts, with_dilation)
  opts = opts or {}
  if kernel_size == nil then fail(fn, 'kernel_size is required') end
  local kernel = ints(fn, 'kernel_size', kernel_size, nsp, size_buf, 1)
  local stride = ints(fn, 'stride', opts.stride or kernel_size, nsp, stride_buf, 1)
  local padding = ints(fn, 'padding', opts.padding or 0, nsp, pad_buf, 0)
  local dilation = with_dilation and ints(fn, 'dilation', opts.dilation or 1, nsp, dil_buf, 1) or nil
  local ceil_mode = bool_opt(fn, 'ceil_mode', opts.ceil_mode, false) and 1 or 0
  return kernel, stride, padding, dilation, ceil_mode, opts
end

-- output_size: a number, or a table whose entries may be false (keep the input's size)
local function adaptive_size(fn, x, nsp, output_size)
  if type(output_size) == 'table' then
    if #output_size ~= nsp then fail(fn, 'output_size must be a number or a table of %d entries', nsp) end
    for i = 1, nsp do
      local v = output_size[i]
      if v == false then v = x:size(x:dim() - nsp + i) end
      if not is_integer(v) or v < 1 then fail(fn, 'output_size must hold positive integers, got %s', tostring(v)) end
      size_buf[i - 1] = v
    end
    return size_buf
  end
  return ints(fn, 'output_size', output_size, nsp, size_buf, 1)
end

local function define_pool(nsp)
  local d = nsp .. 'd'
  local mp, ap, aap, amp = 'max_pool' .. d, 'avg_pool' .. d, 'adaptive_avg_pool' .. d, 'adaptive_max_pool' .. d

  --- nn_kernels.max_pool2d(input, kernel_size, opts) -> output, indices
  --- nn_kernels.max_pool1d(input, kernel_size, opts) -> output, indices
  --- nn_kernels.max_pool3d(input, kernel_size, opts) -> output, indices
  -- Max pooling of [N x C x H x W] or [C x H x W]; opts: stride (default kernel_size), padding, dilation,
  -- ceil_mode. indices (int64, 1-based) number the argmax in each flattened input plane. nn_kernels.max_pool1d
  -- likewise; nn_kernels.max_pool3d over [N x C x D x H x W] or [C x D x H x W], its indices numbering the
  -- flattened D x H x W volume.
  K[mp] = function(x, kernel_size, opts)
    local xc = c_of(x, mp, 'the input')
    local kernel, stride, padding, dilation, ceil_mode = pool_options(mp, nsp, kernel_size, opts, true)
    local y = wrap(C.tn_max_pool(xc, nsp, kernel, stride, padding, dilation, ceil_mode, BASE, out1))
    return y, take(out1)
  end

  --- nn_kernels.max_pool2d_backward(grad_output, input, indices) -> grad_input
  --- nn_kernels.max_pool1d_backward(grad_output, input, indices) -> grad_input
  --- nn_kernels.max_pool3d_backward(grad_output, input, indices) -> grad_input
  -- The gradient of nn_kernels.max_pool2d: each output gradient added at its saved index. nn_kernels.max_pool1d_backward,
  -- nn_kernels.max_pool3d_backward and nn_kernels.adaptive_max_pool{1,2,3}d_backward are the same.
  K[mp .. '_backward'] = function(g, x, indices)
    return wrap(C.tn_max_pool_backward(c_of(g, mp .. '_backward', 'the gradient'),
                                       c_of(x, mp .. '_backward', 'the input'),
                                       c_of(indices, mp .. '_backward', 'the indices'), nsp, BASE))
  end
  K[amp .. '_backward'] = K[mp .. '_backward']

  local function avg_options(fn, kernel_size, opts)
    local kernel, stride, padding, _, ceil_mode
    kernel, stride, padding, _, ceil_mode, opts = pool_options(fn, nsp, kernel_size, opts, false)
    local include = bool_opt(fn, 'count_include_pad', opts.count_include_pad, true) and 1 or 0
    local divisor = opts.divisor_override or 0
    if not is_integer(divisor) or divisor < 0 then
      fail(fn, 'divisor_override must be a positive integer, got %s', tostring(divisor))
    end
    return kernel, stride, padding, ceil_mode, include, divisor
  end

  --- nn_kernels.avg_pool2d(input, kernel_size, opts) -> Tensor
  --- nn_kernels.avg_pool1d(input, kernel_size, opts) -> Tensor
  --- nn_kernels.avg_pool3d(input, kernel_size, opts) -> Tensor
  -- Average pooling; opts: stride (default kernel_size), padding, ceil_mode, count_include_pad (default
  -- true), divisor_override. nn_kernels.avg_pool1d and nn_kernels.avg_pool3d likewise.
  K[ap] = function(x, kernel_size, opts)
    local xc = c_of(x, ap, 'the input')
    return wrap(C.tn_avg_pool(xc, nsp, avg_options(ap, kernel_size, opts)))
  end

  --- nn_kernels.avg_pool2d_backward(grad_output, input, kernel_size, opts) -> grad_input
  --- nn_kernels.avg_pool1d_backward(grad_output, input, kernel_size, opts) -> grad_input
  --- nn_kernels.avg_pool3d_backward(grad_output, input, kernel_size, opts) -> grad_input
  -- The gradient of nn_kernels.avg_pool2d with the same options. nn_kernels.avg_pool1d_backward and
  -- nn_kernels.avg_pool3d_backward likewise.
  K[ap .. '_backward'] = function(g, x, kernel_size, opts)
    local fn = ap .. '_backward'
    return wrap(C.tn_avg_pool_backward(c_of(g, fn, 'the gradient'), c_of(x, fn, 'the input'), nsp,
                                       avg_options(fn, kernel_size, opts)))
  end

  --- nn_kernels.adaptive_avg_pool2d(input, output_size) -> Tensor
  --- nn_kernels.adaptive_avg_pool1d(input, output_size) -> Tensor
  --- nn_kernels.adaptive_avg_pool3d(input, output_size) -> Tensor
  -- Average pooling to a fixed output size (a number or {H, W}; false keeps the input's size).
  -- nn_kernels.adaptive_avg_pool1d and nn_kernels.adaptive_avg_pool3d ({D, H, W}) likewise.
  K[aap] = function(x, output_size)
    local xc = c_of(x, aap, 'the input')
    return wrap(C.tn_adaptive_avg_pool(xc, nsp, adaptive_size(aap, x, nsp, output_size)))
  end

  --- nn_kernels.adaptive_avg_pool2d_backward(grad_output, input) -> grad_input
  --- nn_kernels.adaptive_avg_pool1d_backward(grad_output, input) -> grad_input
  --- nn_kernels.adaptive_avg_pool3d_backward(grad_output, input) -> grad_input
  -- The gradient of nn_kernels.adaptive_avg_pool2d. nn_kernels.adaptive_avg_pool1d_backward and
  -- nn_kernels.adaptive_avg_pool3d_backward likewise.
  K[aap .. '_backward'] = function(g, x)
    local fn = aap .. '_backward'
    return wrap(C.tn_adaptive_avg_pool_backward(c_of(g, fn, 'the gradient'), c_of(x, fn, 'the input'), nsp))
  end

  --- nn_kernels.adaptive_max_pool2d(input, output_size) -> output, indices
  --- nn_kernels.adaptive_max_pool1d(input, output_size) -> output, indices
  --- nn_kernels.adaptive_max_pool3d(input, output_size) -> output, indices
  -- Max pooling to a fixed output size, with 1-based argmax indices as nn_kernels.max_pool2d; its backward is
  -- nn_kernels.adaptive_max_pool2d_backward(grad_output, input, indices). nn_kernels.adaptive_max_pool1d and
  -- nn_kernels.adaptive_max_pool3d likewise.
  K[amp] = function(x, output_size)
    local xc = c_of(x, amp, 'the input')
    local y = wrap(C.tn_adaptive_max_pool(xc, nsp, adaptive_size(amp, x, nsp, output_size), BASE, out1))
    return y, take(out1)
  end
end
define_pool(1)
define_pool(2)
define_pool(3)

-- ---- linear ----

-- The transpose of a matrix as a C header only, for the caller to free once used: a Lua view would hold the
-- matrix's storage (and count as a sharer of it, see memory.sole_owner) until a collection.
local function transposed(c)
  local t = C.tn_transpose(c, 0, 1)
  if t == nil then core.c_error() end
  return t
end

--- nn_kernels.linear(input, weight, bias) -> Tensor
-- input @ weight' + bias for a 2-d input [N x in], weight [out x in] and bias (broadcast to [N x out]) or nil:
-- one GEMM, the weight read transposed in place.
function K.linear(x, w, b)
  local fn = 'linear'
  local xc, wc = c_of(x, fn, 'the input'), c_of(w, fn, 'the weight')
  local bc = b ~= nil and c_of(b, fn, 'the bias') or nil
  local wt = transposed(wc)
  local out = bc and C.tn_addmm(nil, bc, xc, wt, 1, 1) or C.tn_mm(nil, xc, wt)
  C.tn_tensor_free(wt)
  return wrap(out)
end

--- nn_kernels.linear_weight_grad(grad_output, input) -> Tensor
-- grad_output' @ input, the weight gradient of nn_kernels.linear, with the transpose read in place and no view
-- of grad_output left behind (the autograd engine frees a gradient once nothing shares it).
function K.linear_weight_grad(g, x)
  local fn = 'linear_weight_grad'
  local gt = transposed(c_of(g, fn, 'the gradient'))
  local out = C.tn_mm(nil, gt, c_of(x, fn, 'the input'))
  C.tn_tensor_free(gt)
  return wrap(out)
end

-- ---- softmax ----

local function softmax_dim(fn, x, dim)
  if dim == nil then dim = -1 end
  return args.dim(fn, dim, x._c.ndim)
end

--- nn_kernels.softmax(input, dim) -> Tensor
-- exp(x) / sum(exp(x)) along dim (1-based, default -1), computed stably (the maximum subtracted first).
function K.softmax(x, dim)
  local xc = c_of(x, 'softmax', 'the input')
  return wrap(C.tn_softmax(nil, xc, softmax_dim('softmax', x, dim), 0))
end

--- nn_kernels.log_softmax(input, dim) -> Tensor
-- log(softmax(x)) along dim (1-based, default -1), computed as x - max - log(sum(exp(x - max))).
function K.log_softmax(x, dim)
  local xc = c_of(x, 'log_softmax', 'the input')
  return wrap(C.tn_softmax(nil, xc, softmax_dim('log_softmax', x, dim), 1))
end

--- nn_kernels.softmax_backward(grad_output, output, dim) -> grad_input
-- The gradient of nn_kernels.softmax given its output: y * (g - sum(g * y)).
function K.softmax_backward(g, y, dim)
  local gc, yc = c_of(g, 'softmax_backward', 'the gradient'), c_of(y, 'softmax_backward', 'the output')
  return wrap(C.tn_softmax_backward(nil, gc, yc, softmax_dim('softmax_backward', g, dim), 0))
end

--- nn_kernels.log_softmax_backward(grad_output, output, dim) -> grad_input
-- The gradient of nn_kernels.log_softmax given its output: g - exp(y) * sum(g).
function K.log_softmax_backward(g, y, dim)
  local gc, yc = c_of(g, 'log_softmax_backward', 'the gradient'), c_of(y, 'log_softmax_backward', 'the output')
  return wrap(C.tn_softmax_backward(nil, gc, yc, softmax_dim('log_softmax_backward', g, dim), 1))
end

-- ---- losses ----

local REDUCTION = { none = C.TN_REDUCTION_NONE, mean = C.TN_REDUCTION_MEAN, sum = C.TN_REDUCTION_SUM }

local function loss_options(fn, opts)
  opts = opts or {}
  local reduction = REDUCTION[opts.reduction or 'mean']
  if not reduction then fail(fn, "reduction must be 'none', 'mean' or 'sum', got %s", tostring(opts.reduction)) end
  local ignore = opts.ignore_index or -100
  if not is_integer(ignore) then fail(fn, 'ignore_index must be an integer, got %s', tostring(ignore)) end
  local smoothing = opts.label_smoothing or 0
  if type(smoothing) ~= 'number' then fail(fn, 'label_smoothing must be a number, got %s', type(smoothing)) end
  return opt_c(opts.weight, fn, 'the weight'), reduction, ignore, smoothing, opts
end

--- nn_kernels.cross_entropy(input, target, opts) -> loss, lse
-- Cross entropy of logits [N x C], [N x C x d1 x ...] or [C] with class targets (1-based integers shaped
-- like input without the class dim) or class probabilities (input's shape). opts: weight ([C]), ignore_index
-- (a target value that adds nothing; default -100), reduction ('mean', 'sum' or 'none'), label_smoothing.
-- lse (the log-sum-exp per sample) may be passed on to nn_kernels.cross_entropy_backward.
function K.cross_entropy(x, target, opts)
  local fn = 'cross_entropy'
  local xc, tc = c_of(x, fn, 'the input'), c_of(target, fn, 'the target')
  local w, reduction, ignore, smoothing = loss_options(fn, opts)
  local loss = wrap(C.tn_cross_entropy(xc, tc, w, reduction, ignore, smoothing, BASE, out1))
  return loss, take(out1)
end

--- nn_kernels.cross_entropy_backward(grad_output, input, target, opts, lse) -> grad_input
-- The gradient of nn_kernels.cross_entropy with respect to the logits; the same opts, and the forward's second
-- result lse (optional, as the fifth argument or opts.lse: recomputed when absent).
function K.cross_entropy_backward(g, x, target, opts, lse)
  local fn = 'cross_entropy_backward'
  local gc, xc, tc = c_of(g, fn, 'the gradient'), c_of(x, fn, 'the input'), c_of(target, fn, 'the target')
  local w, reduction, ignore, smoothing
  w, reduction, ignore, smoothing, opts = loss_options(fn, opts)
  if lse == nil then lse = opts.lse end
  return wrap(C.tn_cross_entropy_backward(gc, xc, tc, w, opt_c(lse, fn, 'lse'), reduction, ignore, smoothing, BASE))
end

--- nn_kernels.nll_loss(input, target, opts) -> loss
-- Negative log-likelihood of log-probabilities [N x C (x d1 ...)] or [C] with 1-based class targets; opts:
-- weight, ignore_index (default -100), reduction ('mean', 'sum' or 'none').
function K.nll_loss(x, target, opts)
  local fn = 'nll_loss'
  local xc, tc = c_of(x, fn, 'the input'), c_of(target, fn, 'the target')
  local w, reduction, ignore = loss_options(fn, opts)
  return wrap(C.tn_nll_loss(xc, tc, w, reduction, ignore, BASE))
end

--- nn_kernels.nll_loss_backward(grad_output, input, target, opts) -> grad_input
-- The gradient of nn_kernels.nll_loss with respect to its input, with the same opts.
function K.nll_loss_backward(g, x, target, opts)
  local fn = 'nll_loss_backward'
  local gc, xc, tc = c_of(g, fn, 'the gradient'), c_of(x, fn, 'the input'), c_of(target, fn, 'the target')
  local w, reduction, ignore = loss_options(fn, opts)
  return wrap(C.tn_nll_loss_backward(gc, xc, tc, w, reduction, ignore, BASE))
end

-- ---- normalisation ----

local function shape_of(fn, shape)
  if type(shape) == 'number' then shape = { shape } end
  if type(shape) ~= 'table' or #shape == 0 then fail(fn, 'normalized_shape must be a number or a table of sizes') end
  for i = 1, #shape do
    if not is_integer(shape[i]) or shape[i] < 0 then fail(fn, 'normalized_shape must hold sizes, got %s', tostring(shape[i])) end
    size_buf[i - 1] = shape[i]
  end
  return #shape, size_buf
end

local function eps_of(fn, eps)
  eps = eps or 1e-5
  if type(eps) ~= 'number' then fail(fn, 'eps must be a number, got %s', type(eps)) end
  return eps
end

--- nn_kernels.layer_norm(input, normalized_shape, weight, bias, eps) -> output, mean, rstd
-- Normalises over the last dims (normalized_shape: a number or a table of sizes) with optional elementwise
-- weight and bias of that shape; eps defaults to 1e-5. mean and rstd (1 / sqrt(var + eps)) have the input's
-- shape with the normalised dims of size 1. The trailing arguments may also come as {weight=, bias=, eps=}.
function K.layer_norm(x, normalized_shape, weight, bias, eps)
  local fn = 'layer_norm'
  if is_opts(weight) then weight, bias, eps = weight.weight, weight.bias, weight.eps end
  local xc = c_of(x, fn, 'the input')
  local n, shape = shape_of(fn, normalized_shape)
  local y = wrap(C.tn_layer_norm(xc, n, shape, opt_c(weight, fn, 'the weight'), opt_c(bias, fn, 'the bias'),
                                 eps_of(fn, eps), out1, out2))
  return y, take(out1), take(out2)
end

--- nn_kernels.layer_norm_backward(grad_output, input, normalized_shape, mean, rstd, weight, output_mask) -> grad_input, grad_weight, grad_bias
-- Gradients of nn_kernels.layer_norm from its saved mean and rstd; output_mask = {input, weight, bias} (default all;
-- ask for no weight or bias gradient when the layer has none).
function K.layer_norm_backward(g, x, normalized_shape, mean, rstd, weight, output_mask)
  local fn = 'layer_norm_backward'
  local gc, xc = c_of(g, fn, 'the gradient'), c_of(x, fn, 'the input')
  local n = shape_of(fn, normalized_shape)
  local mi, mw, mb = mask_of(fn, output_mask)
  check(C.tn_layer_norm_backward(gc, xc, n, c_of(mean, fn, 'mean'), c_of(rstd, fn, 'rstd'),
                                 opt_c(weight, fn, 'the weight'), slot(mi, out1), slot(mw, out2), slot(mb, out3)))
  return mi and take(out1) or nil, mw and take(out2) or nil, mb and take(out3) or nil
end

--- nn_kernels.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps) -> output, save_mean, save_invstd
-- Batch normalisation of [N x C x ...] per channel (PyTorch's argument order; the trailing arguments may
-- come as {weight=, bias=, training=false, momentum=0.1, eps=1e-5}). Training normalises with the batch's
-- statistics and updates running_mean / running_var in place (either may be nil) with momentum and the
-- unbiased variance; evaluation uses the running statistics. save_mean and save_invstd are for the backward.
function K.batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps)
  local fn = 'batch_norm'
  if is_opts(weight) then
    weight, bias, training, momentum, eps = weight.weight, weight.bias, weight.training, weight.momentum, weight.eps
  end
  local xc = c_of(x, fn, 'the input')
  training = bool_opt(fn, 'training', training, false)
  momentum = momentum or 0.1
  if type(momentum) ~= 'number' then fail(fn, 'momentum must be a number, got %s', type(momentum)) end
  local y = wrap(C.tn_batch_norm(xc, opt_c(weight, fn, 'the weight'), opt_c(bias, fn, 'the bias'),
                                 opt_c(running_mean, fn, 'running_mean'), opt_c(running_var, fn, 'running_var'),
                                 training and 1 or 0, momentum, eps_of(fn, eps), out1, out2))
  return y, take(out1), take(out2)
end

--- nn_kernels.batch_norm_backward(grad_output, input, opts) -> grad_input, grad_weight, grad_bias
-- Gradients of nn_kernels.batch_norm. opts: weight, training, eps, save_mean and save_invstd (from a training
-- forward; needed in training mode), running_mean and running_var (evaluation mode), output_mask.
function K.batch_norm_backward(g, x, opts)
  local fn = 'batch_norm_backward'
  opts = opts or {}
  local gc, xc = c_of(g, fn, 'the gradient'), c_of(x, fn, 'the input')
  local mi, mw, mb = mask_of(fn, opts.output_mask)
  check(C.tn_batch_norm_backward(gc, xc, opt_c(opts.weight, fn, 'the weight'),
                                 opt_c(opts.running_mean, fn, 'running_mean'), opt_c(opts.running_var, fn, 'running_var'),
                                 opt_c(opts.save_mean, fn, 'save_mean'), opt_c(opts.save_invstd, fn, 'save_invstd'),
                                 bool_opt(fn, 'training', opts.training, false) and 1 or 0, eps_of(fn, opts.eps),
                                 slot(mi, out1), slot(mw, out2), slot(mb, out3)))
  return mi and take(out1) or nil, mw and take(out2) or nil, mb and take(out3) or nil
end

--- nn_kernels.group_norm(input, num_groups, weight, bias, eps) -> output, mean, rstd
-- Group normalisation of [N x C x ...]: statistics over each group of C / num_groups channels of each sample;
-- weight and bias per channel (or nil); eps defaults to 1e-5. mean and rstd are [N x num_groups].
function K.group_norm(x, num_groups, weight, bias, eps)
  local fn = 'group_norm'
  if is_opts(weight) then weight, bias, eps = weight.weight, weight.bias, weight.eps end
  if not is_integer(num_groups) then fail(fn, 'num_groups must be an integer, got %s', tostring(num_groups)) end
  local y = wrap(C.tn_group_norm(c_of(x, fn, 'the input'), num_groups, opt_c(weight, fn, 'the weight'),
                                 opt_c(bias, fn, 'the bias'), eps_of(fn, eps), out1, out2))
  return y, take(out1), take(out2)
end

--- nn_kernels.group_norm_backward(grad_output, input, num_groups, mean, rstd, weight, output_mask) -> grad_input, grad_weight, grad_bias
-- Gradients of nn_kernels.group_norm from its saved statistics.
function K.group_norm_backward(g, x, num_groups, mean, rstd, weight, output_mask)
  local fn = 'group_norm_backward'
  if not is_integer(num_groups) then fail(fn, 'num_groups must be an integer, got %s', tostring(num_groups)) end
  local mi, mw, mb = mask_of(fn, output_mask)
  check(C.tn_group_norm_backward(c_of(g, fn, 'the gradient'), c_of(x, fn, 'the input'), num_groups,
                                 c_of(mean, fn, 'mean'), c_of(rstd, fn, 'rstd'), opt_c(weight, fn, 'the weight'),
                                 slot(mi, out1), slot(mw, out2), slot(mb, out3)))
  return mi and take(out1) or nil, mw and take(out2) or nil, mb and take(out3) or nil
end

-- ---- embedding and dropout ----

-- padding_idx: 1-based, negative from the end, nil for none; returns the C value (0: none).
local function padding_index(fn, padding_idx, num)
  if padding_idx == nil then return BASE - 1 end
  if not is_integer(padding_idx) or padding_idx == 0 or padding_idx > num or padding_idx < -num then
    fail(fn, 'padding_idx must be within 1..%d (or -%d..-1), got %s', num, num, tostring(padding_idx))
  end
  if padding_idx < 0 then padding_idx = num + 1 + padding_idx end
  return padding_idx
end

--- nn_kernels.embedding(indices, weight) -> Tensor
-- Rows of weight [num_embeddings x dim] picked by 1-based integer ids: [indices' shape x dim]. Ids out of
-- range raise an error naming the id.
function K.embedding(indices, weight)
  return wrap(C.tn_embedding(c_of(weight, 'embedding', 'the weight'), c_of(indices, 'embedding', 'the indices'), BASE))
end

--- nn_kernels.embedding_backward(grad_output, indices, num_weights, opts) -> grad_weight
-- The gradient of the weight of nn_kernels.embedding: grad_output rows summed into [num_weights x dim] at their ids.
-- opts: padding_idx (1-based; its rows get no gradient), scale_grad_by_freq (divide by each id's count).
function K.embedding_backward(g, indices, num_weights, opts)
  local fn = 'embedding_backward'
  opts = opts or {}
  if not is_integer(num_weights) then fail(fn, 'num_weights must be an integer, got %s', tostring(num_weights)) end
  local pad = padding_index(fn, opts.padding_idx, num_weights)
  local scale = bool_opt(fn, 'scale_grad_by_freq', opts.scale_grad_by_freq, false) and 1 or 0
  return wrap(C.tn_embedding_backward(c_of(g, fn, 'the gradient'), c_of(indices, fn, 'the indices'), num_weights, pad,
                                      scale, BASE))
end
K.padding_index = padding_index

--- nn_kernels.dropout(input, p, training, opts) -> output, mask
-- Zeroes each element with probability p (default 0.5) and scales the rest by 1 / (1 - p); mask holds 0 or
-- 1 / (1 - p) (the backward is grad * mask). Not training (training == false) returns input itself and no
-- mask. opts: generator.
function K.dropout(x, p, training, opts)
  local fn = 'dropout'
  if is_opts(p) then p, training, opts = p.p, p.training, p end
  local xc = c_of(x, fn, 'the input')
  p = p or 0.5
  if type(p) ~= 'number' then fail(fn, 'p must be a number, got %s', type(p)) end
  if training == false then return x, nil end
  local g = opts and opts.generator or nil
  local y = wrap(C.tn_dropout(xc, p, g, out1))
  return y, take(out1)
end

return K
