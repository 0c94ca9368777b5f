-- The nn kernels (tensor.nn_kernels) against PyTorch: forward results and the gradients PyTorch's autograd
-- gives, for convolutions (1-d, 2-d, transposed; stride, padding incl. 'same', dilation, groups), pooling,
-- softmax, the classification losses, layer/batch/group norm, embedding; float32 and float64; contiguous
-- and non-contiguous inputs. Then dropout's statistics and the errors bad input raises.
local torch = require 'tensor'
local K = require 'tensor.nn_kernels'
local ref = require 'helpers.torchref'

torch.manual_seed(4321)

local function randn(dtype, ...) return torch.randn(...):to(dtype) end

-- Tolerances for a dtype, widened by `scale` for results that sum many terms.
local function tol(dtype, scale)
  scale = scale or 1
  if dtype == 'float64' then return { atol = 1e-11 * scale, rtol = 1e-9 * scale } end
  return { atol = 2e-5 * scale, rtol = 2e-4 * scale }
end

-- A case: inputs (tensors and numbers, visible to the snippet under their names), Python code that sets
-- `out` to a dict of reference results, and a Lua function returning a table of ours under the same keys.
local cases = {}
local PRELUDE = 'import warnings\nwarnings.filterwarnings("ignore")\nimport torch.nn.functional as F\n'
local function case(name, inputs, python, fn, tolerance)
  cases[#cases + 1] = { name = name, inputs = inputs, python = PRELUDE .. python, fn = fn, tol = tolerance }
end

local function lua_list(t)
  local parts = {}
  for i, v in ipairs(t) do parts[i] = tostring(v) end
  return '(' .. table.concat(parts, ', ') .. (#t == 1 and ',)' or ')')
end

-- ---- convolutions ----

local DTYPES = { 'float32', 'float64' }

-- opts as given to K (Lua) and the same as Python keyword text
local function conv_case(label, nsp, xs, ws, opts, py_opts, dtype, layout)
  local x = randn(dtype, xs)
  if layout == 'transposed' then x = randn(dtype, xs[1], xs[2], xs[4], xs[3]):transpose(3, 4) end
  local w = randn(dtype, ws)
  local b = randn(dtype, ws[1])
  local y = K['conv' .. nsp .. 'd'](x, w, b, opts)
  local g = randn(dtype, y:shape())
  local fn = 'F.conv' .. nsp .. 'd'
  case(label .. ' ' .. dtype .. (layout and ' ' .. layout or ''), { x = x, w = w, b = b, g = g },
       string.format([[
x.requires_grad_(); w.requires_grad_(); b.requires_grad_()
y = %s(x, w, b%s)
y.backward(g)
out = {'y': y, 'gx': x.grad, 'gw': w.grad, 'gb': b.grad}]], fn, py_opts),
       function()
         local gx, gw, gb = K['conv' .. nsp .. 'd_backward'](g, x, w, opts)
         return { y = K['conv' .. nsp .. 'd'](x, w, b, opts), gx = gx, gw = gw, gb = gb }
       end, tol(dtype, 20))
end

local conv2d = {
  { 'conv2d 3x3 pad 1', { 2, 3, 7, 8 }, { 4, 3, 3, 3 }, { padding = 1 }, ', padding=1' },
  { 'conv2d stride 2 pad 1', { 2, 3, 9, 8 }, { 5, 3, 3, 2 }, { stride = 2, padding = 1 }, ', stride=2, padding=1' },
  { 'conv2d stride (2,3) pad (1,0) dilation 2', { 1, 2, 11, 12 }, { 3, 2, 3, 3 },
    { stride = { 2, 3 }, padding = { 1, 0 }, dilation = 2 }, ', stride=(2, 3), padding=(1, 0), dilation=2' },
  { 'conv2d dilation (2,1) pad (2,1)', { 2, 3, 8, 9 }, { 4, 3, 3, 3 }, { dilation = { 2, 1 }, padding = { 2, 1 } },
    ', dilation=(2, 1), padding=(2, 1)' },
  { 'conv2d groups 2', { 2, 4, 6, 6 }, { 6, 2, 3, 3 }, { groups = 2, padding = 1 }, ', groups=2, padding=1' },
  { 'conv2d depthwise', { 2, 4, 5, 5 }, { 4, 1, 3, 3 }, { groups = 4, padding = 1 }, ', groups=4, padding=1' },
  { 'conv2d depthwise multiplier 2 stride 2', { 1, 3, 7, 7 }, { 6, 1, 3, 3 }, { groups = 3, stride = 2 },
    ', groups=3, stride=2' },
  { "conv2d padding 'same' even kernel", { 2, 3, 6, 7 }, { 2, 3, 4, 4 }, { padding = 'same' }, ", padding='same'" },
  { "conv2d padding 'same' dilation 2", { 1, 3, 9, 9 }, { 5, 3, 3, 3 }, { padding = 'same', dilation = 2 },
    ", padding='same', dilation=2" },
  { "conv2d padding 'valid'", { 2, 3, 6, 7 }, { 2, 3, 3, 2 }, { padding = 'valid' }, ", padding='valid'" },
  { 'conv2d 1x1', { 2, 5, 4, 6 }, { 8, 5, 1, 1 }, {}, '' },
  { 'conv2d 1x1 pad 1', { 1, 3, 4, 4 }, { 2, 3, 1, 1 }, { padding = 1 }, ', padding=1' },
  { 'conv2d 19 -> 21 channels', { 2, 19, 10, 10 }, { 21, 19, 3, 3 }, { padding = 1 }, ', padding=1' },
  { 'conv2d 7 -> 18 channels 5x5', { 1, 7, 12, 9 }, { 18, 7, 5, 5 }, { padding = 2 }, ', padding=2' },
  { 'conv2d 16 -> 40 channels', { 3, 16, 8, 8 }, { 40, 16, 3, 3 }, { padding = 1 }, ', padding=1' },
  { 'conv2d 1 input channel 5x5', { 4, 1, 12, 12 }, { 8, 1, 5, 5 }, {}, '' },
  { 'conv2d stride 2 1x1', { 2, 4, 7, 7 }, { 3, 4, 1, 1 }, { stride = 2 }, ', stride=2' },
  { 'conv2d kernel as big as the input', { 2, 2, 3, 3 }, { 3, 2, 3, 3 }, {}, '' },
  { 'conv2d groups 2, 8 outputs per group', { 2, 8, 6, 6 }, { 16, 4, 3, 3 }, { groups = 2, padding = 1 },
    ', groups=2, padding=1' },
  { 'conv2d 5 -> 16 channels dilation 2', { 1, 5, 9, 9 }, { 16, 5, 3, 3 }, { dilation = 2, padding = 'same' },
    ", dilation=2, padding='same'" },
  { 'conv2d 3 -> 16 channels stride 2', { 2, 3, 11, 10 }, { 16, 3, 3, 3 }, { stride = 2, padding = 1 },
    ', stride=2, padding=1' },
  { 'conv2d 4 -> 12 channels stride (3,2) dilation (2,1)', { 1, 4, 13, 12 }, { 12, 4, 3, 2 },
    { stride = { 3, 2 }, dilation = { 2, 1 }, padding = { 2, 1 } }, ', stride=(3, 2), dilation=(2, 1), padding=(2, 1)' },
  { 'conv2d stride 4 larger than the kernel', { 2, 3, 13, 13 }, { 9, 3, 2, 2 }, { stride = 4 }, ', stride=4' },
  { 'conv2d groups 2 stride 2 batch 3', { 3, 4, 7, 7 }, { 6, 2, 3, 3 }, { groups = 2, stride = 2, padding = 1 },
    ', groups=2, stride=2, padding=1' },
  -- rows that fit a vector, laid out by one shuffle of the input row's first two vectors (and near the end of
  -- the input, where that would read past it, one element at a time)
  { 'conv2d stride 2 pad 1, 14x14 batch 5', { 5, 6, 14, 14 }, { 7, 6, 3, 3 }, { stride = 2, padding = 1 },
    ', stride=2, padding=1' },
  { 'conv2d stride 2, 28x27', { 3, 2, 28, 27 }, { 4, 2, 3, 3 }, { stride = 2 }, ', stride=2' },
}
for _, c in ipairs(conv2d) do
  for _, dtype in ipairs(DTYPES) do conv_case(c[1], 2, c[2], c[3], c[4], c[5], dtype) end
end
conv_case('conv2d stride 2 pad 1', 2, { 2, 3, 9, 8 }, { 5, 3, 3, 2 }, { stride = 2, padding = 1 },
          ', stride=2, padding=1', 'float32', 'transposed')
conv_case('conv2d 3x3 pad 1', 2, { 2, 3, 7, 8 }, { 4, 3, 3, 3 }, { padding = 1 }, ', padding=1', 'float32', 'transposed')

local conv1d = {
  { 'conv1d k3 pad 1', { 2, 3, 10 }, { 4, 3, 3 }, { padding = 1 }, ', padding=1' },
  { 'conv1d stride 2 dilation 2', { 2, 3, 15 }, { 4, 3, 3 }, { stride = 2, dilation = 2 }, ', stride=2, dilation=2' },
  { 'conv1d groups 3', { 1, 6, 9 }, { 9, 2, 4 }, { groups = 3, padding = 2 }, ', groups=3, padding=2' },
  { "conv1d 'same' even kernel", { 2, 4, 8 }, { 3, 4, 2 }, { padding = 'same' }, ", padding='same'" },
}
for _, c in ipairs(conv1d) do
  for _, dtype in ipairs(DTYPES) do conv_case(c[1], 1, c[2], c[3], c[4], c[5], dtype) end
end

local function conv_transpose_case(label, nsp, xs, ws, opts, py_opts, dtype)
  local x, w, b = randn(dtype, xs), randn(dtype, ws), randn(dtype, ws[2] * (opts.groups or 1))
  local name = 'conv_transpose' .. nsp .. 'd'
  local y = K[name](x, w, b, opts)
  local g = randn(dtype, y:shape())
  case(label .. ' ' .. dtype, { x = x, w = w, b = b, g = g }, string.format([[
x.requires_grad_(); w.requires_grad_(); b.requires_grad_()
y = F.%s(x, w, b%s)
y.backward(g)
out = {'y': y, 'gx': x.grad, 'gw': w.grad, 'gb': b.grad}]], name, py_opts),
       function()
         local gx, gw, gb = K[name .. '_backward'](g, x, w, opts)
         return { y = K[name](x, w, b, opts), gx = gx, gw = gw, gb = gb }
       end, tol(dtype, 20))
end
local conv_t = {
  { 'conv_transpose2d stride 2 pad 1 output_padding 1', 2, { 2, 4, 5, 5 }, { 4, 3, 3, 3 },
    { stride = 2, padding = 1, output_padding = 1 }, ', stride=2, padding=1, output_padding=1' },
  { 'conv_transpose2d stride 1 pad 1', 2, { 2, 3, 6, 5 }, { 3, 5, 3, 3 }, { padding = 1 }, ', padding=1' },
  { 'conv_transpose2d groups 2 dilation 2', 2, { 1, 4, 5, 6 }, { 4, 3, 3, 2 }, { groups = 2, dilation = 2 },
    ', groups=2, dilation=2' },
  { 'conv_transpose2d dilation 2 output_padding 1', 2, { 2, 2, 4, 4 }, { 2, 3, 3, 3 },
    { dilation = 2, output_padding = 1 }, ', dilation=2, output_padding=1' },
  { 'conv_transpose2d stride (3,2) pad (0,1)', 2, { 1, 3, 4, 5 }, { 3, 2, 4, 3 }, { stride = { 3, 2 }, padding = { 0, 1 } },
    ', stride=(3, 2), padding=(0, 1)' },
  { 'conv_transpose1d stride 2', 1, { 2, 3, 7 }, { 3, 4, 3 }, { stride = 2, padding = 1 }, ', stride=2, padding=1' },
}
for _, c in ipairs(conv_t) do
  for _, dtype in ipairs(DTYPES) do conv_transpose_case(c[1], c[2], c[3], c[4], c[5], c[6], dtype) end
end

-- ---- pooling ----

local function pool_case(label, xs, dtype, lua_fn, py_code, layout)
  local x = randn(dtype, xs)
  if layout == 'transposed' then
    local n = #xs
    local s = { unpack(xs) }
    s[n - 1], s[n] = xs[n], xs[n - 1]
    x = randn(dtype, s):transpose(n - 1, n)
  end
  local y = lua_fn(x)
  local g = randn(dtype, y.y:shape())
  case(label .. ' ' .. dtype .. (layout and ' ' .. layout or ''), { x = x, g = g }, py_code,
       function() return lua_fn(x, g) end, tol(dtype))
end

local function max_pool(nsp, ks, opts, py)
  local name = 'max_pool' .. nsp .. 'd'
  return function(x, g)
    local y, i = K[name](x, ks, opts)
    return { y = y, i = i, gx = g and K[name .. '_backward'](g, x, i) }
  end, string.format([[
x.requires_grad_()
y, i = F.%s(x, %s, return_indices=True)
y.backward(g)
out = {'y': y, 'i': i + 1, 'gx': x.grad}]], name, py)
end

local pools = {
  { 'max_pool2d k2', { 2, 3, 8, 8 }, max_pool(2, 2, {}, '2') },
  { 'max_pool2d k3 s2 p1', { 2, 3, 9, 10 }, max_pool(2, 3, { stride = 2, padding = 1 }, '3, stride=2, padding=1') },
  { 'max_pool2d k (3,2) dilation 2', { 1, 2, 9, 9 }, max_pool(2, { 3, 2 }, { dilation = 2 }, '(3, 2), dilation=2') },
  { 'max_pool2d ceil_mode', { 2, 2, 7, 9 }, max_pool(2, 3, { stride = 2, ceil_mode = true }, '3, stride=2, ceil_mode=True') },
  { 'max_pool2d ceil_mode padded', { 1, 2, 6, 6 }, max_pool(2, 3, { stride = 2, padding = 1, ceil_mode = true },
                                                            '3, stride=2, padding=1, ceil_mode=True') },
  { 'max_pool2d unbatched', { 3, 6, 5 }, max_pool(2, 2, { stride = 1 }, '2, stride=1') },
  { 'max_pool1d k3 s2 p1', { 2, 3, 11 }, max_pool(1, 3, { stride = 2, padding = 1 }, '3, stride=2, padding=1') },
  -- rows wide enough for the vectorised columns
  { 'max_pool2d k2 wide', { 2, 3, 6, 70 }, max_pool(2, 2, {}, '2') },
  { 'max_pool2d k3 s2 p1 wide', { 1, 2, 9, 75 }, max_pool(2, 3, { stride = 2, padding = 1 }, '3, stride=2, padding=1') },
  { 'max_pool2d k3 s1 p1 wide', { 1, 2, 5, 40 }, max_pool(2, 3, { stride = 1, padding = 1 }, '3, stride=1, padding=1') },
  { 'max_pool1d k4 s2 wide', { 2, 2, 81 }, max_pool(1, 4, { stride = 2 }, '4, stride=2') },
  { 'max_pool1d unbatched ceil_mode', { 4, 10 }, max_pool(1, 4, { stride = 3, ceil_mode = true }, '4, stride=3, ceil_mode=True') },
}
local function avg_pool(nsp, ks, opts, py)
  local name = 'avg_pool' .. nsp .. 'd'
  return function(x, g)
    return { y = K[name](x, ks, opts), gx = g and K[name .. '_backward'](g, x, ks, opts) }
  end, string.format([[
x.requires_grad_()
y = F.%s(x, %s)
y.backward(g)
out = {'y': y, 'gx': x.grad}]], name, py)
end
local avgs = {
  { 'avg_pool2d k2', { 2, 3, 8, 8 }, avg_pool(2, 2, {}, '2') },
  { 'avg_pool2d k3 s2 p1', { 2, 3, 9, 10 }, avg_pool(2, 3, { stride = 2, padding = 1 }, '3, stride=2, padding=1') },
  { 'avg_pool2d without padding in the count', { 2, 3, 9, 10 },
    avg_pool(2, 3, { stride = 2, padding = 1, count_include_pad = false }, '3, stride=2, padding=1, count_include_pad=False') },
  { 'avg_pool2d ceil_mode padded', { 1, 2, 6, 7 },
    avg_pool(2, 3, { stride = 2, padding = 1, ceil_mode = true }, '3, stride=2, padding=1, ceil_mode=True') },
  { 'avg_pool2d ceil_mode without padding count', { 1, 2, 6, 7 },
    avg_pool(2, 3, { stride = 2, padding = 1, ceil_mode = true, count_include_pad = false },
             '3, stride=2, padding=1, ceil_mode=True, count_include_pad=False') },
  { 'avg_pool2d divisor_override', { 2, 2, 6, 6 }, avg_pool(2, { 2, 3 }, { divisor_override = 5 }, '(2, 3), divisor_override=5') },
  { 'avg_pool2d unbatched', { 3, 5, 5 }, avg_pool(2, 2, { stride = 1 }, '2, stride=1') },
  { 'avg_pool1d k3 s2 p1', { 2, 3, 11 }, avg_pool(1, 3, { stride = 2, padding = 1 }, '3, stride=2, padding=1') },
}
local function adaptive(kind, nsp, size, py)
  local name = 'adaptive_' .. kind .. '_pool' .. nsp .. 'd'
  if kind == 'max' then
    return function(x, g)
      local y, i = K[name](x, size)
      return { y = y, i = i, gx = g and K[name .. '_backward'](g, x, i) }
    end, string.format([[
x.requires_grad_()
y, i = F.%s(x, %s, return_indices=True)
y.backward(g)
out = {'y': y, 'i': i + 1, 'gx': x.grad}]], name, py)
  end
  return function(x, g) return { y = K[name](x, size), gx = g and K[name .. '_backward'](g, x) } end,
         string.format([[
x.requires_grad_()
y = F.%s(x, %s)
y.backward(g)
out = {'y': y, 'gx': x.grad}]], name, py)
end
local adaptives = {
  { 'adaptive_avg_pool2d 7x7 -> 3x3', { 2, 3, 7, 7 }, adaptive('avg', 2, 3, '3') },
  { 'adaptive_avg_pool2d 5x7 -> 2x4', { 1, 2, 5, 7 }, adaptive('avg', 2, { 2, 4 }, '(2, 4)') },
  { 'adaptive_avg_pool2d 3x3 -> 5x5', { 2, 2, 3, 3 }, adaptive('avg', 2, 5, '5') },
  { 'adaptive_avg_pool2d -> 1x1', { 2, 6, 4, 5 }, adaptive('avg', 2, 1, '1') },
  { 'adaptive_avg_pool2d keeps a dim', { 2, 3, 4, 6 }, adaptive('avg', 2, { false, 2 }, '(None, 2)') },
  { 'adaptive_avg_pool1d 10 -> 4', { 2, 3, 10 }, adaptive('avg', 1, 4, '4') },
  { 'adaptive_max_pool2d 7x7 -> 3x3', { 2, 3, 7, 7 }, adaptive('max', 2, 3, '3') },
  { 'adaptive_max_pool2d 5x6 -> 4x4', { 1, 2, 5, 6 }, adaptive('max', 2, 4, '4') },
  { 'adaptive_max_pool1d 9 -> 4', { 2, 3, 9 }, adaptive('max', 1, 4, '4') },
}
for _, list in ipairs({ pools, avgs, adaptives }) do
  for _, c in ipairs(list) do
    for _, dtype in ipairs(DTYPES) do pool_case(c[1], c[2], dtype, c[3], c[4]) end
  end
end
pool_case('max_pool2d k3 s2 p1', { 2, 3, 9, 10 }, 'float32', pools[2][3], pools[2][4], 'transposed')
pool_case('avg_pool2d k3 s2 p1', { 2, 3, 9, 10 }, 'float32', avgs[2][3], avgs[2][4], 'transposed')

-- ties (integer values): the first maximum of a window wins, in the scalar and the vectorised columns
for _, dtype in ipairs(DTYPES) do
  local x = torch.randint(-2, 3, { 2, 2, 7, 70 }):to(dtype)
  for _, c in ipairs({ { 2, {}, '2' }, { 3, { stride = 2, padding = 1 }, '3, stride=2, padding=1' },
                       { 3, { stride = 1 }, '3, stride=1' } }) do
    case('max_pool2d ties k' .. c[1] .. ' ' .. c[3] .. ' ' .. dtype, { x = x }, string.format([[
y, i = F.max_pool2d(x, %s, return_indices=True)
out = {'y': y, 'i': i + 1}]], c[3]), function()
      local y, i = K.max_pool2d(x, c[1], c[2])
      return { y = y, i = i }
    end)
  end
end
do -- NaN and -inf in the vectorised columns
  local x = torch.randn(1, 1, 4, 40)
  x[{ 1, 1, 2, 7 }] = 0 / 0
  x[{ 1, 1, 1, 8 }] = 0 / 0
  x[{ 1, 1, { 3, 4 }, { 20, 23 } }] = -1 / 0
  case('max_pool2d wide with NaN and -inf', { x = x }, [[
y, i = F.max_pool2d(x, 2, return_indices=True)
out = {'y': y, 'i': i + 1}]], function()
    local y, i = K.max_pool2d(x, 2)
    return { y = y, i = i }
  end)
end

-- NaN takes over a window (PyTorch's rule), and -inf windows report their first element
do
  local x = torch.tensor({ { { { 1, 0 / 0, 3, 4 }, { 5, 6, 0 / 0, 8 }, { -1 / 0, -1 / 0, 2, 1 }, { -1 / 0, -1 / 0, 0, 9 } } } })
  case('max_pool2d with NaN and -inf', { x = x }, [[
y, i = F.max_pool2d(x, 2, return_indices=True)
out = {'y': y, 'i': i + 1}]], function()
    local y, i = K.max_pool2d(x, 2)
    return { y = y, i = i }
  end)
end

-- ---- softmax ----

for _, dtype in ipairs(DTYPES) do
  for _, c in ipairs({ { { 5, 7 }, 2 }, { { 5, 7 }, 1 }, { { 3, 4, 5 }, 2 }, { { 3, 4, 5 }, -1 }, { { 2, 300, 3 }, 2 },
                       { { 9 }, 1 } }) do
    local shape, dim = c[1], c[2]
    local x = randn(dtype, shape):mul(5)
    local g = randn(dtype, shape)
    local pydim = dim > 0 and dim - 1 or dim
    for _, kind in ipairs({ 'softmax', 'log_softmax' }) do
      case(string.format('%s %s dim %d %s', kind, table.concat(shape, 'x'), dim, dtype), { x = x, g = g, d = pydim },
           string.format([[
x.requires_grad_()
y = F.%s(x, d)
y.backward(g)
out = {'y': y, 'gx': x.grad}]], kind),
           function()
             local y = K[kind](x, dim)
             return { y = y, gx = K[kind .. '_backward'](g, y, dim) }
           end, tol(dtype))
    end
  end
end
do
  local x = torch.randn(6, 5):mul(1000) -- large logits: stable only with the maximum subtracted
  local xt = torch.randn(5, 6):t()
  for _, kind in ipairs({ 'softmax', 'log_softmax' }) do
    case(kind .. ' of large values', { x = x }, string.format("out = {'y': F.%s(x, 1)}", kind),
         function() return { y = K[kind](x, 2) } end, tol('float32', 10))
    case(kind .. ' non-contiguous', { x = xt }, string.format("out = {'y': F.%s(x, 0)}", kind),
         function() return { y = K[kind](xt, 1) } end)
  end
end

-- ---- losses ----

-- targets as our 1-based values; the snippet sees them as t and converts with `tt = torch_targets(t, ign)`
local TARGETS = [[
def torch_targets(t, ign):
    tt = t - 1
    tt[t == ign] = -100
    return tt
]]

local function loss_case(label, dtype, x, t, opts, py_opts, ignore)
  local weight = opts.weight
  local g = opts.reduction == 'none' and randn(dtype, K.cross_entropy(x, t, opts):shape()) or torch.tensor(1.7):to(dtype)
  case(label .. ' ' .. dtype, { x = x, t = t, wt = weight or 0, g = g, ign = ignore or -100 }, TARGETS ..
       string.format([[
x.requires_grad_()
target = torch_targets(t, ign) if t.dtype == torch.int64 else t
loss = F.cross_entropy(x, target, weight=(wt if isinstance(wt, torch.Tensor) else None)%s)
loss.backward(g)
out = {'loss': loss, 'gx': x.grad}]], py_opts), function()
    local loss, lse = K.cross_entropy(x, t, opts)
    local with = {}
    for k, v in pairs(opts) do with[k] = v end
    with.lse = lse
    return { loss = loss, gx = K.cross_entropy_backward(g, x, t, with) }
  end, tol(dtype, 5))
end

for _, dtype in ipairs(DTYPES) do
  local x = randn(dtype, 6, 5):mul(3)
  local t = torch.tensor({ 1, 5, 3, 3, 2, 4 })
  local w = torch.rand(5):add(0.5):to(dtype)
  for _, red in ipairs({ 'mean', 'sum', 'none' }) do
    loss_case('cross_entropy ' .. red, dtype, x, t, { reduction = red }, ", reduction='" .. red .. "'")
    loss_case('cross_entropy weighted ' .. red, dtype, x, t, { reduction = red, weight = w }, ", reduction='" .. red .. "'")
  end
  loss_case('cross_entropy ignore_index', dtype, x, t, { ignore_index = 3 }, ", ignore_index=-100", 3)
  loss_case('cross_entropy weighted ignore_index none', dtype, x, t, { ignore_index = 3, weight = w, reduction = 'none' },
            ", ignore_index=-100, reduction='none'", 3)
  loss_case('cross_entropy label_smoothing', dtype, x, t, { label_smoothing = 0.2 }, ', label_smoothing=0.2')
  loss_case('cross_entropy label_smoothing weighted ignore', dtype, x, t,
            { label_smoothing = 0.1, weight = w, ignore_index = 5 }, ', label_smoothing=0.1, ignore_index=-100', 5)
  loss_case('cross_entropy label_smoothing sum', dtype, x, t, { label_smoothing = 0.3, reduction = 'sum' },
            ", label_smoothing=0.3, reduction='sum'")
  local x3 = randn(dtype, 3, 4, 2, 5)
  local t3 = torch.randint(1, 5, { 3, 2, 5 })
  loss_case('cross_entropy [N x C x d1 x d2]', dtype, x3, t3, {}, '')
  loss_case('cross_entropy [N x C x d1 x d2] weighted none', dtype, x3, t3, { weight = w:narrow(1, 1, 4), reduction = 'none' },
            ", reduction='none'")
  loss_case('cross_entropy [N x C x d1 x d2] smoothing', dtype, x3, t3, { label_smoothing = 0.15 }, ', label_smoothing=0.15')
  local probs = K.softmax(randn(dtype, 6, 5), 2)
  loss_case('cross_entropy probability targets', dtype, x, probs, {}, '')
  loss_case('cross_entropy probability targets weighted smoothing', dtype, x, probs,
            { weight = w, label_smoothing = 0.1, reduction = 'sum' }, ", label_smoothing=0.1, reduction='sum'")
  loss_case('cross_entropy 1-d input', dtype, randn(dtype, 7), torch.tensor(4), {}, '')
  loss_case('cross_entropy non-contiguous', dtype, randn(dtype, 5, 6):t(), t, {}, '')

  -- nll_loss on log-probabilities
  local logp = K.log_softmax(randn(dtype, 6, 5), 2)
  for _, c in ipairs({ { {}, '' }, { { weight = w, reduction = 'sum' }, ", reduction='sum'" },
                       { { weight = w, ignore_index = 3 }, ', ignore_index=-100' },
                       { { reduction = 'none', ignore_index = 3 }, ", reduction='none', ignore_index=-100" } }) do
    local opts = c[1]
    local g = opts.reduction == 'none' and randn(dtype, 6) or torch.tensor(0.6):to(dtype)
    case('nll_loss ' .. c[2] .. ' ' .. dtype, { x = logp, t = t, wt = opts.weight or 0, g = g, ign = opts.ignore_index or -100 },
         TARGETS .. string.format([[
x.requires_grad_()
loss = F.nll_loss(x, torch_targets(t, ign), weight=(wt if isinstance(wt, torch.Tensor) else None)%s)
loss.backward(g)
out = {'loss': loss, 'gx': x.grad}]], c[2]), function()
      return { loss = K.nll_loss(logp, t, opts), gx = K.nll_loss_backward(g, logp, t, opts) }
    end, tol(dtype, 5))
  end
end

-- ---- normalisation ----

for _, dtype in ipairs(DTYPES) do
  -- layer_norm over the last dim and the last two, with and without affine parameters
  for _, c in ipairs({ { { 4, 5, 6 }, { 6 } }, { { 4, 5, 6 }, { 5, 6 } }, { { 3, 1000 }, { 1000 } } }) do
    local shape, ns = c[1], c[2]
    local x = randn(dtype, shape):mul(3):add(2)
    local w, b = randn(dtype, ns), randn(dtype, ns)
    local g = randn(dtype, shape)
    for _, affine in ipairs({ true, false }) do
      case(string.format('layer_norm %s over %s%s %s', table.concat(shape, 'x'), table.concat(ns, 'x'),
                         affine and '' or ' without affine', dtype),
           { x = x, w = affine and w or 0, b = affine and b or 0, g = g, ns = lua_list(ns) }, [[
x.requires_grad_()
aff = isinstance(w, torch.Tensor)
if aff: w.requires_grad_(); b.requires_grad_()
y = F.layer_norm(x, ns, w if aff else None, b if aff else None, 1e-5)
y.backward(g)
out = {'y': y, 'gx': x.grad}
if aff: out.update({'gw': w.grad, 'gb': b.grad})]], function()
        local y, mean, rstd = K.layer_norm(x, ns, affine and w or nil, affine and b or nil)
        local gx, gw, gb = K.layer_norm_backward(g, x, ns, mean, rstd, affine and w or nil,
                                                 { true, affine, affine })
        return { y = y, gx = gx, gw = gw, gb = gb }
      end, tol(dtype, 10))
    end
  end

  -- batch_norm: training updates the running statistics; evaluation uses them
  for _, shape in ipairs({ { 4, 3, 5, 5 }, { 8, 4 }, { 3, 2, 7 } }) do
    local x = randn(dtype, shape):mul(2):add(1)
    local c = shape[2]
    local w, b = randn(dtype, c), randn(dtype, c)
    local rm, rv = randn(dtype, c), torch.rand(c):add(0.5):to(dtype)
    local g = randn(dtype, shape)
    local label = table.concat(shape, 'x') .. ' ' .. dtype
    case('batch_norm training ' .. label, { x = x, w = w, b = b, rm = rm, rv = rv, g = g }, [[
x.requires_grad_(); w.requires_grad_(); b.requires_grad_()
rm2, rv2 = rm.clone(), rv.clone()
y = F.batch_norm(x, rm2, rv2, w, b, training=True, momentum=0.2, eps=1e-4)
y.backward(g)
out = {'y': y, 'gx': x.grad, 'gw': w.grad, 'gb': b.grad, 'rm': rm2, 'rv': rv2}]], function()
      local rm2, rv2 = rm:clone(), rv:clone()
      local y, sm, si = K.batch_norm(x, rm2, rv2, w, b, true, 0.2, 1e-4)
      local gx, gw, gb = K.batch_norm_backward(g, x, { weight = w, save_mean = sm, save_invstd = si, training = true,
                                                       eps = 1e-4 })
      return { y = y, gx = gx, gw = gw, gb = gb, rm = rm2, rv = rv2 }
    end, tol(dtype, 10))
    case('batch_norm evaluation ' .. label, { x = x, w = w, b = b, rm = rm, rv = rv, g = g }, [[
x.requires_grad_(); w.requires_grad_(); b.requires_grad_()
y = F.batch_norm(x, rm, rv, w, b, training=False, eps=1e-5)
y.backward(g)
out = {'y': y, 'gx': x.grad, 'gw': w.grad, 'gb': b.grad}]], function()
      local y = K.batch_norm(x, rm, rv, { weight = w, bias = b })
      local gx, gw, gb = K.batch_norm_backward(g, x, { weight = w, running_mean = rm, running_var = rv })
      return { y = y, gx = gx, gw = gw, gb = gb }
    end, tol(dtype, 10))
  end
  do -- no affine parameters, no running statistics
    local x, g = randn(dtype, 5, 3, 4), randn(dtype, 5, 3, 4)
    case('batch_norm training without affine or running stats ' .. dtype, { x = x, g = g }, [[
x.requires_grad_()
y = F.batch_norm(x, None, None, training=True)
y.backward(g)
out = {'y': y, 'gx': x.grad}]], function()
      local y, sm, si = K.batch_norm(x, nil, nil, nil, nil, true)
      return { y = y, gx = K.batch_norm_backward(g, x, { save_mean = sm, save_invstd = si, training = true }) }
    end, tol(dtype, 10))
  end

  -- group_norm
  for _, c in ipairs({ { { 2, 6, 4, 4 }, 3 }, { { 3, 4, 5 }, 4 }, { { 2, 8, 3, 3 }, 1 } }) do
    local shape, groups = c[1], c[2]
    local x = randn(dtype, shape):mul(2):add(3)
    local w, b, g = randn(dtype, shape[2]), randn(dtype, shape[2]), randn(dtype, shape)
    case(string.format('group_norm %s in %d groups %s', table.concat(shape, 'x'), groups, dtype),
         { x = x, w = w, b = b, g = g, G = groups }, [[
x.requires_grad_(); w.requires_grad_(); b.requires_grad_()
y = F.group_norm(x, G, w, b, 1e-5)
y.backward(g)
out = {'y': y, 'gx': x.grad, 'gw': w.grad, 'gb': b.grad}]], function()
      local y, mean, rstd = K.group_norm(x, groups, w, b)
      local gx, gw, gb = K.group_norm_backward(g, x, groups, mean, rstd, w)
      return { y = y, gx = gx, gw = gw, gb = gb }
    end, tol(dtype, 10))
  end
end

-- ---- embedding ----

for _, dtype in ipairs(DTYPES) do
  local w = randn(dtype, 10, 4)
  local idx = torch.tensor({ { 1, 3, 3 }, { 10, 3, 7 } })
  local g = randn(dtype, 2, 3, 4)
  for _, c in ipairs({ { {}, '' }, { { padding_idx = 3 }, ', padding_idx=2' }, { { padding_idx = -1 }, ', padding_idx=-1' },
                       { { scale_grad_by_freq = true }, ', scale_grad_by_freq=True' } }) do
    case('embedding ' .. c[2] .. ' ' .. dtype, { w = w, idx = idx, g = g }, string.format([[
w.requires_grad_()
y = F.embedding(idx - 1, w%s)
y.backward(g)
out = {'y': y, 'gw': w.grad}]], c[2]), function()
      return { y = K.embedding(idx, w), gw = K.embedding_backward(g, idx, 10, c[1]) }
    end, tol(dtype))
  end
end

describe('nn kernels match PyTorch', function()
  local batch = {}
  for i, c in ipairs(cases) do batch[i] = { code = c.python, inputs = c.inputs } end
  local results = ref.batch(batch)
  for i, c in ipairs(cases) do
    it(c.name, function()
      local got, expected = c.fn(), results[i]
      local keys = {}
      for k in pairs(expected) do keys[#keys + 1] = k end
      table.sort(keys)
      assert.is_true(#keys > 0)
      for _, k in ipairs(keys) do
        assert(got[k], 'no result for ' .. k)
        local ok, msg = ref.compare(got[k], expected[k], c.tol or tol(got[k]:dtype()))
        assert(ok, k .. ': ' .. tostring(msg))
      end
    end)
  end
end)

describe('empty batches', function()
  it('give empty results and zero gradients', function()
    local x, w, b = torch.randn(0, 3, 5, 5), torch.randn(4, 3, 3, 3), torch.randn(4)
    local y = K.conv2d(x, w, b, { padding = 1 })
    assert.are.same({ 0, 4, 5, 5 }, y:shape())
    local gx, gw, gb = K.conv2d_backward(y, x, w, { padding = 1 })
    assert.are.same({ 0, 3, 5, 5 }, gx:shape())
    for _, v in ipairs(gw:view(-1):tolist()) do assert.are.equal(0, v) end
    for _, v in ipairs(gb:tolist()) do assert.are.equal(0, v) end
    assert.are.same({ 0, 3, 2, 2 }, (K.max_pool2d(x, 2)):shape())
    assert.are.same({ 0, 7 }, K.softmax(torch.randn(0, 7), 2):shape())
    local loss = K.cross_entropy(torch.randn(0, 4), torch.tensor({}):long(), { reduction = 'sum' })
    assert.are.equal(0, loss:item())
    assert.are.same({ 0, 4 }, K.cross_entropy_backward(torch.ones({}), torch.randn(0, 4), torch.tensor({}):long(),
                                                       { reduction = 'sum' }):shape())
  end)
end)

describe('dropout', function()
  it('keeps each element with probability 1 - p and scales it by 1 / (1 - p)', function()
    local x = torch.ones(200000)
    local y, mask = K.dropout(x, 0.3, true)
    local kept, bad = 0, 0
    local values = mask:tolist()
    for _, v in ipairs(values) do
      if v ~= 0 then
        kept = kept + 1
        if math.abs(v - 1 / 0.7) > 1e-6 then bad = bad + 1 end
      end
    end
    assert.are.equal(0, bad)
    -- 200000 draws: the kept fraction lies within 5 standard deviations (0.005) of 0.7
    assert.is_true(math.abs(kept / 200000 - 0.7) < 0.005)
    local ok, msg = ref.compare(y, { dtype = 'float32', shape = { 200000 }, values = values }, { atol = 1e-6 })
    assert(ok, msg)
  end)
  it('is reproducible with a seeded generator and the identity when not training', function()
    local x = torch.randn(50)
    local g1, g2 = torch.Generator():manual_seed(7), torch.Generator():manual_seed(7)
    local a = K.dropout(x, 0.5, true, { generator = g1 })
    local b = K.dropout(x, 0.5, true, { generator = g2 })
    assert.are.same(a:tolist(), b:tolist())
    local same, mask = K.dropout(x, 0.5, false)
    assert.are.equal(x, same)
    assert.is_nil(mask)
  end)
  it('drops nothing at p = 0 and everything at p = 1', function()
    local x = torch.randn(100)
    assert.are.same(x:tolist(), (K.dropout(x, 0, true)):tolist())
    for _, v in ipairs((K.dropout(x, 1, true)):tolist()) do assert.are.equal(0, v) end
  end)
end)

describe('nn kernel errors', function()
  local function message(fn, ...)
    local ok, err = pcall(fn, ...)
    assert.is_false(ok)
    return tostring(err)
  end
  local x4, w4 = torch.randn(2, 3, 8, 8), torch.randn(4, 3, 3, 3)
  it('conv2d names the expected and actual shapes', function()
    assert.matches('conv2d: expected a 4%-d input %[N x C x H x W%], got %[3 x 32 x 32%]',
                   message(K.conv2d, torch.randn(3, 32, 32), w4))
    assert.matches('conv2d: input has 3 channels but the weight expects 4',
                   message(K.conv2d, x4, torch.randn(4, 4, 3, 3)))
    assert.matches('expects 4 %(2 per group x 2 groups%)', message(K.conv2d, x4, torch.randn(4, 2, 3, 3), nil, { groups = 2 }))
    assert.matches('conv2d: expected a bias of 4 elements', message(K.conv2d, x4, w4, torch.randn(3)))
    assert.matches('smaller than the kernel', message(K.conv2d, torch.randn(1, 3, 2, 2), w4))
    assert.matches('conv1d: expected a 3%-d input', message(K.conv1d, x4, torch.randn(4, 3, 3)))
    assert.matches("padding='same' is not supported for strided", message(K.conv2d, x4, w4, nil, { padding = 'same', stride = 2 }))
    assert.matches('stride must be at least 1', message(K.conv2d, x4, w4, nil, { stride = 0 }))
    assert.matches('float32 or float64', message(K.conv2d, x4:long(), w4:long()))
    assert.matches('the input is float32 but the weight is float64', message(K.conv2d, x4, w4:double()))
    assert.matches('conv2d_backward: expected a gradient of size %[2 x 4 x 6 x 6%]',
                   message(K.conv2d_backward, torch.randn(2, 4, 5, 5), x4, w4))
    assert.matches('output_padding must be smaller than either stride or dilation',
                   message(K.conv_transpose2d, x4, torch.randn(3, 2, 3, 3), nil, { output_padding = 1 }))
  end)
  it('pooling refuses bad windows', function()
    assert.matches('max_pool2d: padding should be at most half', message(K.max_pool2d, x4, 2, { padding = 2 }))
    assert.matches('max_pool2d: expected a 3%-d', message(K.max_pool2d, torch.randn(8, 8), 2))
    assert.matches('output would be empty', message(K.avg_pool2d, torch.randn(1, 1, 2, 2), 3))
    assert.matches('kernel_size must be at least 1', message(K.avg_pool2d, x4, 0))
    local y, idx = K.max_pool2d(x4, 2)
    idx[{ 1, 2, 3, 4 }] = 65
    assert.matches('max_pool2d_backward: index 65 is out of range for an input plane of 8 x 8 positions %(expected 1 to 64%)',
                   message(K.max_pool2d_backward, torch.randn(y:shape()), x4, idx))
  end)
  it('losses name the bad label and the class count', function()
    local logits = torch.randn(3, 10)
    assert.matches('cross_entropy: target 11 is out of range for 10 classes %(expected 1 to 10%)',
                   message(K.cross_entropy, logits, torch.tensor({ 1, 11, 2 })))
    assert.matches('target 0 is out of range for 10 classes',
                   message(K.cross_entropy, logits, torch.tensor({ 1, 0, 2 })))
    assert.matches('nll_loss: target %-3 is out of range', message(K.nll_loss, logits, torch.tensor({ 1, -3, 2 })))
    assert.matches('expected a target of size %[3%]', message(K.cross_entropy, logits, torch.tensor({ 1, 2 })))
    assert.matches('expected a weight of 10 elements', message(K.cross_entropy, logits, torch.tensor({ 1, 2, 3 }),
                                                              { weight = torch.ones(9) }))
    assert.matches("reduction must be 'none', 'mean' or 'sum'",
                   message(K.cross_entropy, logits, torch.tensor({ 1, 2, 3 }), { reduction = 'avg' }))
    assert.matches('label_smoothing must be between 0 and 1',
                   message(K.cross_entropy, logits, torch.tensor({ 1, 2, 3 }), { label_smoothing = 1.5 }))
  end)
  it('normalisation checks shapes and training batches', function()
    assert.matches('layer_norm: normalized_shape %[4%] does not match the last dims of the input %[3 x 5%]',
                   message(K.layer_norm, torch.randn(3, 5), { 4 }))
    assert.matches('expected more than 1 value per channel when training, got input size %[1 x 3%]',
                   message(K.batch_norm, torch.randn(1, 3), nil, nil, nil, nil, true))
    assert.matches('running_mean and running_var are needed', message(K.batch_norm, torch.randn(4, 3)))
    assert.matches('group_norm: expected the 6 channels to divide into num_groups=4',
                   message(K.group_norm, torch.randn(2, 6, 3), 4))
  end)
  it('embedding names the bad id', function()
    assert.matches('embedding: index 11 is out of range for 10 embeddings %(expected 1 to 10%)',
                   message(K.embedding, torch.tensor({ 1, 11 }), torch.randn(10, 3)))
    assert.matches('expected an integer index tensor', message(K.embedding, torch.tensor({ 1.5 }), torch.randn(10, 3)))
    assert.matches('padding_idx must be within', message(K.embedding_backward, torch.randn(2, 3), torch.tensor({ 1, 2 }),
                                                         10, { padding_idx = 11 }))
  end)
  it('softmax checks its dim and dtype', function()
    assert.matches('softmax: dimension 3 out of range', message(K.softmax, torch.randn(2, 3), 3))
    assert.matches('log_softmax: expected a float32 or float64 input', message(K.log_softmax, torch.tensor({ 1, 2 }), 1))
  end)
end)
