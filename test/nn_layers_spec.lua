-- Every nn layer against PyTorch: the same weights (our state dict, loaded into PyTorch's module with
-- strict=True, so the key names and their order must be PyTorch's), the same inputs; outputs, input
-- gradients, every parameter's gradient and the buffers afterwards must match (backward of a random
-- weighted sum of the outputs). Then what cannot be compared value for value: BatchNorm's running statistics
-- over several steps, dropout's statistics, the default initialisations' distributions; and the errors
-- bad input raises.
local torch = require 'tensor'
local nn = require 'tensor.nn'
local ref = require 'helpers.torchref'
local nnref = require 'helpers.nnref'

torch.manual_seed(2024)

local randn = torch.randn
local function ids(list) return torch.tensor(list, { dtype = 'int64' }) end

-- a module whose training-mode forward ran on a few batches, so its running statistics are not the defaults
local function trained(m, ...)
  local shapes = { ... }
  torch.no_grad(function()
    for _, shape in ipairs(shapes) do m(randn(shape) * 2 + 0.5) end
  end)
  return m
end

-- BatchNorm1d over four training steps, then in evaluation (PyTorch runs it with the layer cases below)
local bn_steps = { randn(6, 3, 4) * 2 + 1, randn(3, 3, 4) - 2, randn(8, 3, 4) * 0.5, randn(5, 3, 4) }
local bn_probe = randn(4, 3, 4)
local BN_STEPS = { code = [[
import torch.nn as nn
outs = {}
for mom in (0.1, None):
    m = nn.BatchNorm1d(3, momentum=mom)
    stats = []
    for x in (x1, x2, x3, x4):
        m(x)
        stats.append((m.running_mean.clone(), m.running_var.clone(), int(m.num_batches_tracked)))
    m.eval()
    outs['none' if mom is None else 'ema'] = {'stats': stats, 'eval': m(probe)}
out = outs
]], inputs = { x1 = bn_steps[1], x2 = bn_steps[2], x3 = bn_steps[3], x4 = bn_steps[4], probe = bn_probe } }
local bn_expected

describe('nn layers match PyTorch', function()
  local cases = nnref.new()
  local function case(c) cases:add(c) end

  -- ---- linear ----
  case { name = 'Linear 2-d input', build = function() return nn.Linear(5, 3) end, py = 'nn.Linear(5, 3)',
         inputs = { randn(4, 5) } }
  case { name = 'Linear 3-d input, float32', dtype = 'float32', build = function() return nn.Linear(6, 4) end,
         py = 'nn.Linear(6, 4)', inputs = { randn(2, 3, 6) } }
  case { name = 'Linear without bias, 1-d input', build = function() return nn.Linear(5, 2, false) end,
         py = 'nn.Linear(5, 2, bias=False)', inputs = { randn(5) } }
  case { name = 'Bilinear', build = function() return nn.Bilinear(4, 5, 3) end, py = 'nn.Bilinear(4, 5, 3)',
         inputs = { randn(6, 4), randn(6, 5) } }
  case { name = 'Bilinear without bias, batch dims, float32', dtype = 'float32',
         build = function() return nn.Bilinear(3, 2, 4, { bias = false }) end, py = 'nn.Bilinear(3, 2, 4, bias=False)',
         inputs = { randn(2, 3, 3), randn(2, 3, 2) } }
  case { name = 'Identity', build = function() return nn.Identity() end, py = 'nn.Identity()', inputs = { randn(3, 2) } }
  case { name = 'Flatten default (dims 2..-1)', build = function() return nn.Flatten() end, py = 'nn.Flatten()',
         inputs = { randn(2, 3, 4, 2) } }
  case { name = 'Flatten(1, 2)', build = function() return nn.Flatten(1, 2) end, py = 'nn.Flatten(0, 1)',
         inputs = { randn(2, 3, 4) } }
  case { name = 'Unflatten', build = function() return nn.Unflatten(2, { 3, 4 }) end, py = 'nn.Unflatten(1, (3, 4))',
         inputs = { randn(2, 12) } }

  -- ---- convolution ----
  case { name = 'Conv1d', build = function() return nn.Conv1d(3, 4, 3) end, py = 'nn.Conv1d(3, 4, 3)',
         inputs = { randn(2, 3, 9) } }
  case { name = 'Conv1d stride 2, padding 1, dilation 2', build = function()
           return nn.Conv1d(2, 4, 3, { stride = 2, padding = 1, dilation = 2 }) end,
         py = 'nn.Conv1d(2, 4, 3, stride=2, padding=1, dilation=2)', inputs = { randn(3, 2, 11) } }
  case { name = 'Conv1d groups 2, no bias, positional options', build = function()
           return nn.Conv1d(4, 6, 2, 1, 1, 1, 2, false) end,
         py = 'nn.Conv1d(4, 6, 2, 1, 1, 1, 2, False)', inputs = { randn(2, 4, 7) } }
  case { name = "Conv1d padding 'same', float32", dtype = 'float32', build = function()
           return nn.Conv1d(3, 2, 4, { padding = 'same' }) end,
         py = "nn.Conv1d(3, 2, 4, padding='same')", inputs = { randn(2, 3, 8) } }
  case { name = 'Conv2d 3x3 padding 1', build = function() return nn.Conv2d(3, 4, 3, { padding = 1 }) end,
         py = 'nn.Conv2d(3, 4, 3, padding=1)', inputs = { randn(2, 3, 6, 5) } }
  for _, padding_mode in ipairs({ 'reflect', 'replicate', 'circular' }) do
    case { name = 'Conv2d padding_mode ' .. padding_mode, build = function()
             return nn.Conv2d(2, 3, { 3, 2 }, { padding = { 2, 1 }, padding_mode = padding_mode }) end,
           py = ("nn.Conv2d(2, 3, (3, 2), padding=(2, 1), padding_mode='%s')"):format(padding_mode),
           inputs = { randn(2, 2, 6, 5) } }
  end
  case { name = "Conv1d padding 'same', padding_mode reflect", build = function()
           return nn.Conv1d(2, 2, 4, { padding = 'same', dilation = 2, padding_mode = 'reflect' }) end,
         py = "nn.Conv1d(2, 2, 4, padding='same', dilation=2, padding_mode='reflect')", inputs = { randn(3, 2, 9) } }
  case { name = 'Conv2d stride (2,1), padding (1,0), dilation (1,2), kernel (3,2)', build = function()
           return nn.Conv2d(2, 3, { 3, 2 }, { stride = { 2, 1 }, padding = { 1, 0 }, dilation = { 1, 2 } }) end,
         py = 'nn.Conv2d(2, 3, (3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2))', inputs = { randn(2, 2, 9, 8) } }
  case { name = 'Conv2d groups 3 (depthwise multiplier 2)', build = function()
           return nn.Conv2d(3, 6, 3, { groups = 3, stride = 2 }) end,
         py = 'nn.Conv2d(3, 6, 3, groups=3, stride=2)', inputs = { randn(2, 3, 7, 7) } }
  case { name = "Conv2d padding 'same', dilation 2, no bias", build = function()
           return nn.Conv2d(2, 2, 3, { padding = 'same', dilation = 2, bias = false }) end,
         py = "nn.Conv2d(2, 2, 3, padding='same', dilation=2, bias=False)", inputs = { randn(1, 2, 7, 6) } }
  case { name = 'Conv2d unbatched [C x H x W] input', build = function() return nn.Conv2d(2, 3, 2) end,
         py = 'nn.Conv2d(2, 3, 2)', inputs = { randn(2, 5, 4) } }
  case { name = 'Conv2d float32', dtype = 'float32', scale = 5, build = function() return nn.Conv2d(4, 8, 3, 1, 1) end,
         py = 'nn.Conv2d(4, 8, 3, 1, 1)', inputs = { randn(3, 4, 8, 8) } }
  case { name = 'ConvTranspose1d stride 2, padding 1, output_padding 1', build = function()
           return nn.ConvTranspose1d(3, 2, 3, { stride = 2, padding = 1, output_padding = 1 }) end,
         py = 'nn.ConvTranspose1d(3, 2, 3, stride=2, padding=1, output_padding=1)', inputs = { randn(2, 3, 6) } }
  case { name = 'ConvTranspose1d groups 2, dilation 2', build = function()
           return nn.ConvTranspose1d(4, 6, 3, { groups = 2, dilation = 2 }) end,
         py = 'nn.ConvTranspose1d(4, 6, 3, groups=2, dilation=2)', inputs = { randn(2, 4, 5) } }
  case { name = 'ConvTranspose2d stride 2, padding 1, output_padding 1', build = function()
           return nn.ConvTranspose2d(3, 4, 3, { stride = 2, padding = 1, output_padding = 1 }) end,
         py = 'nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1)', inputs = { randn(2, 3, 4, 5) } }
  case { name = 'ConvTranspose2d groups 2, dilation 2, kernel (2,3), no bias', build = function()
           return nn.ConvTranspose2d(4, 2, { 2, 3 }, { groups = 2, dilation = 2, bias = false }) end,
         py = 'nn.ConvTranspose2d(4, 2, (2, 3), groups=2, dilation=2, bias=False)', inputs = { randn(2, 4, 3, 4) } }
  case { name = 'ConvTranspose2d with output_size', build = function()
           return nn.ConvTranspose2d(2, 3, 3, { stride = 2, padding = 1 }) end,
         py = 'nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1)', inputs = { randn(1, 2, 4, 4) },
         call = function(m, x) return m(x, { 8, 8 }) end, py_call = 'm(x1, output_size=[8, 8])' }
  case { name = 'ConvTranspose2d float32', dtype = 'float32', scale = 5, build = function()
           return nn.ConvTranspose2d(4, 3, 4, 2, 1) end,
         py = 'nn.ConvTranspose2d(4, 3, 4, 2, 1)', inputs = { randn(2, 4, 5, 5) } }

  -- ---- pooling ----
  case { name = 'MaxPool1d kernel 3, stride 2, padding 1', build = function() return nn.MaxPool1d(3, 2, 1) end,
         py = 'nn.MaxPool1d(3, 2, 1)', inputs = { randn(2, 3, 10) } }
  case { name = 'MaxPool1d ceil_mode, dilation 2', build = function()
           return nn.MaxPool1d(2, { stride = 2, dilation = 2, ceil_mode = true }) end,
         py = 'nn.MaxPool1d(2, stride=2, dilation=2, ceil_mode=True)', inputs = { randn(2, 2, 10) } }
  case { name = 'MaxPool2d 2x2', build = function() return nn.MaxPool2d(2) end, py = 'nn.MaxPool2d(2)',
         inputs = { randn(2, 3, 6, 8) } }
  case { name = 'MaxPool2d kernel 3, stride 2, padding 1, ceil_mode', build = function()
           return nn.MaxPool2d(3, { stride = 2, padding = 1, ceil_mode = true }) end,
         py = 'nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)', inputs = { randn(2, 2, 8, 7) } }
  case { name = 'MaxPool2d kernel (2,3), dilation (2,1), unbatched', build = function()
           return nn.MaxPool2d({ 2, 3 }, { stride = 1, dilation = { 2, 1 } }) end,
         py = 'nn.MaxPool2d((2, 3), stride=1, dilation=(2, 1))', inputs = { randn(3, 6, 6) } }
  case { name = 'MaxPool2d return_indices (1-based here, values compared)', build = function()
           return nn.MaxPool2d(2, { return_indices = true }) end,
         py = 'nn.MaxPool2d(2, return_indices=True)', inputs = { randn(1, 2, 4, 4) },
         call = function(m, x) local y = m(x) return y end, py_call = 'm(x1)[0]' }
  case { name = 'AvgPool1d kernel 3, stride 2, padding 1, count_include_pad=false', build = function()
           return nn.AvgPool1d(3, { stride = 2, padding = 1, count_include_pad = false }) end,
         py = 'nn.AvgPool1d(3, stride=2, padding=1, count_include_pad=False)', inputs = { randn(2, 3, 9) } }
  case { name = 'AvgPool1d ceil_mode', build = function() return nn.AvgPool1d(2, 2, 0, true) end,
         py = 'nn.AvgPool1d(2, 2, 0, True)', inputs = { randn(2, 2, 7) } }
  case { name = 'AvgPool2d 2x2', build = function() return nn.AvgPool2d(2) end, py = 'nn.AvgPool2d(2)',
         inputs = { randn(2, 3, 6, 4) } }
  case { name = 'AvgPool2d kernel 3, stride 2, padding 1, ceil_mode, count_include_pad', build = function()
           return nn.AvgPool2d(3, { stride = 2, padding = 1, ceil_mode = true }) end,
         py = 'nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True)', inputs = { randn(2, 2, 8, 7) } }
  case { name = 'AvgPool2d count_include_pad=false, divisor_override', build = function()
           return nn.AvgPool2d({ 2, 3 }, { stride = { 1, 2 }, padding = { 1, 1 }, count_include_pad = false }) end,
         py = 'nn.AvgPool2d((2, 3), stride=(1, 2), padding=(1, 1), count_include_pad=False)',
         inputs = { randn(2, 2, 5, 6) } }
  case { name = 'AvgPool2d divisor_override 3', build = function()
           return nn.AvgPool2d(2, { divisor_override = 3 }) end,
         py = 'nn.AvgPool2d(2, divisor_override=3)', inputs = { randn(1, 2, 4, 6) } }
  case { name = 'AdaptiveAvgPool2d (2,3) from 7x5', build = function() return nn.AdaptiveAvgPool2d({ 2, 3 }) end,
         py = 'nn.AdaptiveAvgPool2d((2, 3))', inputs = { randn(2, 3, 7, 5) } }
  case { name = 'AdaptiveAvgPool2d 1, unbatched', build = function() return nn.AdaptiveAvgPool2d(1) end,
         py = 'nn.AdaptiveAvgPool2d(1)', inputs = { randn(3, 5, 4) } }
  case { name = 'AdaptiveAvgPool1d 4 from 10', build = function() return nn.AdaptiveAvgPool1d(4) end,
         py = 'nn.AdaptiveAvgPool1d(4)', inputs = { randn(2, 3, 10) } }
  case { name = 'AdaptiveMaxPool2d 3 from 8x7', build = function() return nn.AdaptiveMaxPool2d(3) end,
         py = 'nn.AdaptiveMaxPool2d(3)', inputs = { randn(2, 2, 8, 7) } }

  -- ---- normalisation ----
  case { name = 'BatchNorm1d [N x C] training', build = function() return nn.BatchNorm1d(4) end,
         py = 'nn.BatchNorm1d(4)', inputs = { randn(6, 4) * 3 + 1 } }
  case { name = 'BatchNorm1d [N x C x L] training, after steps', build = function()
           return trained(nn.BatchNorm1d(3), { 4, 3, 5 }, { 2, 3, 5 }) end,
         py = 'nn.BatchNorm1d(3)', inputs = { randn(4, 3, 5) } }
  case { name = 'BatchNorm1d evaluation with trained running statistics', train = false, build = function()
           return trained(nn.BatchNorm1d(3), { 8, 3 }, { 8, 3 }, { 8, 3 }) end,
         py = 'nn.BatchNorm1d(3)', inputs = { randn(5, 3) } }
  case { name = 'BatchNorm1d momentum=false (PyTorch None), three steps', build = function()
           return nn.BatchNorm1d(3, { momentum = false }) end,
         py = 'nn.BatchNorm1d(3, momentum=None)', inputs = { randn(5, 3), randn(4, 3) * 2, randn(6, 3) + 1 },
         call = function(m, a, b, c) m(a) m(b) return m(c) end, py_call = '(m(x1), m(x2), m(x3))[2]' }
  case { name = 'BatchNorm1d momentum 0.3, eps 1e-3, three steps', build = function()
           return nn.BatchNorm1d(3, 1e-3, 0.3) end,
         py = 'nn.BatchNorm1d(3, 1e-3, 0.3)', inputs = { randn(5, 3), randn(4, 3) * 2, randn(6, 3) + 1 },
         call = function(m, a, b, c) m(a) m(b) return m(c) end, py_call = '(m(x1), m(x2), m(x3))[2]' }
  case { name = 'BatchNorm1d affine=false', build = function() return nn.BatchNorm1d(3, { affine = false }) end,
         py = 'nn.BatchNorm1d(3, affine=False)', inputs = { randn(5, 3, 2) } }
  case { name = 'BatchNorm1d track_running_stats=false in evaluation', train = false, build = function()
           return nn.BatchNorm1d(3, { track_running_stats = false }) end,
         py = 'nn.BatchNorm1d(3, track_running_stats=False)', inputs = { randn(5, 3) } }
  case { name = 'BatchNorm2d training', build = function() return nn.BatchNorm2d(3) end, py = 'nn.BatchNorm2d(3)',
         inputs = { randn(4, 3, 5, 4) * 2 - 1 } }
  case { name = 'BatchNorm2d training float32', dtype = 'float32', scale = 5,
         build = function() return nn.BatchNorm2d(4) end, py = 'nn.BatchNorm2d(4)', inputs = { randn(8, 4, 6, 6) } }
  case { name = 'BatchNorm2d evaluation with trained running statistics', train = false, build = function()
           return trained(nn.BatchNorm2d(2), { 3, 2, 4, 4 }, { 5, 2, 3, 3 }) end,
         py = 'nn.BatchNorm2d(2)', inputs = { randn(2, 2, 3, 3) } }
  case { name = 'BatchNorm2d used twice in one graph', build = function() return nn.BatchNorm2d(2) end,
         py = 'nn.BatchNorm2d(2)', inputs = { randn(3, 2, 2, 2), randn(3, 2, 2, 2) },
         call = function(m, a, b) return m(a) + m(b) end, py_call = 'm(x1) + m(x2)' }
  case { name = 'LayerNorm(4)', build = function() return nn.LayerNorm(4) end, py = 'nn.LayerNorm(4)',
         inputs = { randn(3, 4) * 2 + 1 } }
  case { name = 'LayerNorm({3, 4}) eps 1e-3', build = function() return nn.LayerNorm({ 3, 4 }, 1e-3) end,
         py = 'nn.LayerNorm((3, 4), 1e-3)', inputs = { randn(2, 5, 3, 4) } }
  case { name = 'LayerNorm elementwise_affine=false, float32', dtype = 'float32',
         build = function() return nn.LayerNorm(6, { elementwise_affine = false }) end,
         py = 'nn.LayerNorm(6, elementwise_affine=False)', inputs = { randn(4, 6) } }
  case { name = 'GroupNorm(2, 4) on [N x C x L]', build = function() return nn.GroupNorm(2, 4) end,
         py = 'nn.GroupNorm(2, 4)', inputs = { randn(3, 4, 5) } }
  case { name = 'GroupNorm(3, 6) on [N x C x H x W], eps 1e-3', build = function() return nn.GroupNorm(3, 6, 1e-3) end,
         py = 'nn.GroupNorm(3, 6, 1e-3)', inputs = { randn(2, 6, 3, 3) } }
  case { name = 'GroupNorm affine=false (instance norm)', build = function()
           return nn.GroupNorm(4, 4, { affine = false }) end,
         py = 'nn.GroupNorm(4, 4, affine=False)', inputs = { randn(2, 4, 6) } }

  -- ---- dropout (what can be compared: evaluation, p = 0) ----
  case { name = 'Dropout in evaluation is the identity', train = false, build = function() return nn.Dropout(0.5) end,
         py = 'nn.Dropout(0.5)', inputs = { randn(4, 5) } }
  case { name = 'Dropout p = 0 in training is the identity', build = function() return nn.Dropout(0) end,
         py = 'nn.Dropout(0.0)', inputs = { randn(4, 5) } }
  case { name = 'Dropout2d in evaluation is the identity', train = false, build = function() return nn.Dropout2d(0.3) end,
         py = 'nn.Dropout2d(0.3)', inputs = { randn(2, 3, 4, 4) } }

  -- ---- embedding ----
  case { name = 'Embedding', build = function() return nn.Embedding(10, 3) end, py = 'nn.Embedding(10, 3)',
         inputs = { ids({ { 1, 4, 10 }, { 4, 4, 2 } }) }, py_pre = 'x1 = x1 - 1' }
  case { name = 'Embedding padding_idx 2 (1-based)', build = function() return nn.Embedding(6, 4, { padding_idx = 2 }) end,
         py = 'nn.Embedding(6, 4, padding_idx=1)', inputs = { ids({ 2, 1, 2, 6, 3 }) }, py_pre = 'x1 = x1 - 1' }
  case { name = 'Embedding padding_idx -1 (the last row)', build = function()
           return nn.Embedding(5, 2, { padding_idx = -1 }) end,
         py = 'nn.Embedding(5, 2, padding_idx=-1)', inputs = { ids({ 5, 1, 5 }) }, py_pre = 'x1 = x1 - 1' }
  case { name = 'Embedding scale_grad_by_freq', build = function()
           return nn.Embedding(5, 3, { scale_grad_by_freq = true }) end,
         py = 'nn.Embedding(5, 3, scale_grad_by_freq=True)', inputs = { ids({ 1, 1, 3, 1, 5, 3 }) },
         py_pre = 'x1 = x1 - 1' }
  case { name = 'Embedding max_norm renormalises the used rows', build = function()
           return nn.Embedding(6, 3, { max_norm = 1.0 }) end,
         py = 'nn.Embedding(6, 3, max_norm=1.0)', inputs = { ids({ 2, 5, 2 }) }, py_pre = 'x1 = x1 - 1' }

  -- ---- recurrent ----
  case { name = 'RNN tanh', build = function() return nn.RNN(3, 4) end, py = 'nn.RNN(3, 4)', inputs = { randn(5, 2, 3) } }
  case { name = 'RNN relu, 2 layers, bidirectional, batch_first, with h0', build = function()
           return nn.RNN(3, 4, { num_layers = 2, nonlinearity = 'relu', bidirectional = true, batch_first = true }) end,
         py = "nn.RNN(3, 4, num_layers=2, nonlinearity='relu', bidirectional=True, batch_first=True)",
         inputs = { randn(2, 5, 3), randn(4, 2, 4) } }
  case { name = 'RNN unbatched [L x in] with h0, no bias', build = function() return nn.RNN(2, 3, 1, 'tanh', false) end,
         py = "nn.RNN(2, 3, 1, nonlinearity='tanh', bias=False)", inputs = { randn(4, 2), randn(1, 3) } }
  case { name = 'LSTM with {h0, c0}', build = function() return nn.LSTM(3, 4) end, py = 'nn.LSTM(3, 4)',
         inputs = { randn(6, 2, 3), randn(1, 2, 4), randn(1, 2, 4) },
         call = function(m, x, h, c) return m(x, { h, c }) end, py_call = 'm(x1, (x2, x3))' }
  case { name = 'LSTM 2 layers, bidirectional', build = function()
           return nn.LSTM(3, 5, { num_layers = 2, bidirectional = true }) end,
         py = 'nn.LSTM(3, 5, num_layers=2, bidirectional=True)', inputs = { randn(4, 3, 3) } }
  case { name = 'LSTM batch_first, 2 layers, float32', dtype = 'float32', build = function()
           return nn.LSTM(4, 3, 2, true, true) end,
         py = 'nn.LSTM(4, 3, 2, True, True)', inputs = { randn(2, 7, 4) } }
  case { name = 'LSTM unbatched', build = function() return nn.LSTM(2, 3, { bidirectional = true }) end,
         py = 'nn.LSTM(2, 3, bidirectional=True)', inputs = { randn(5, 2) } }
  case { name = 'LSTM dropout between layers in evaluation', train = false, build = function()
           return nn.LSTM(3, 3, { num_layers = 2, dropout = 0.5 }) end,
         py = 'nn.LSTM(3, 3, num_layers=2, dropout=0.5)', inputs = { randn(4, 2, 3) } }
  case { name = 'GRU', build = function() return nn.GRU(3, 4) end, py = 'nn.GRU(3, 4)', inputs = { randn(5, 2, 3) } }
  case { name = 'GRU 2 layers, bidirectional, batch_first, with h0', build = function()
           return nn.GRU(2, 3, { num_layers = 2, bidirectional = true, batch_first = true }) end,
         py = 'nn.GRU(2, 3, num_layers=2, bidirectional=True, batch_first=True)',
         inputs = { randn(3, 4, 2), randn(4, 3, 3) } }
  case { name = 'GRU unbatched, no bias', build = function() return nn.GRU(3, 2, { bias = false }) end,
         py = 'nn.GRU(3, 2, bias=False)', inputs = { randn(4, 3) } }

  -- ---- attention ----
  local L, S, N, E = 4, 5, 2, 6
  case { name = 'MultiheadAttention self-attention', build = function() return nn.MultiheadAttention(E, 2) end,
         py = 'nn.MultiheadAttention(6, 2)', inputs = { randn(L, N, E) },
         call = function(m, x) return m(x, x, x) end, py_call = 'm(x1, x1, x1)' }
  case { name = 'MultiheadAttention cross-attention, key_padding_mask (bool)', build = function()
           return nn.MultiheadAttention(E, 3) end, py = 'nn.MultiheadAttention(6, 3)',
         inputs = { randn(L, N, E), randn(S, N, E), randn(S, N, E),
                    torch.tensor({ { false, false, false, true, true }, { false, true, false, false, false } }) },
         call = function(m, q, k, v, kpm) return m(q, k, v, { key_padding_mask = kpm }) end,
         py_call = 'm(x1, x2, x3, key_padding_mask=x4)' }
  case { name = 'MultiheadAttention bool attn_mask [L x S] (true = masked)', build = function()
           return nn.MultiheadAttention(E, 2) end, py = 'nn.MultiheadAttention(6, 2)',
         inputs = { randn(L, N, E), randn(S, N, E), randn(S, N, E), torch.ones(L, S):triu(2):bool() },
         call = function(m, q, k, v, mask) return m(q, k, v, { attn_mask = mask }) end,
         py_call = 'm(x1, x2, x3, attn_mask=x4)' }
  case { name = 'MultiheadAttention float attn_mask [N*heads x L x S] and bool key_padding_mask', build = function()
           return nn.MultiheadAttention(E, 2) end, py = 'nn.MultiheadAttention(6, 2)',
         inputs = { randn(L, N, E), randn(S, N, E), randn(S, N, E), randn(N * 2, L, S),
                    torch.tensor({ { false, false, true, false, false }, { false, false, false, false, true } }) },
         grad_inputs = { 1, 2, 3 },
         call = function(m, q, k, v, mask, kpm) return m(q, k, v, { attn_mask = mask, key_padding_mask = kpm }) end,
         py_call = 'm(x1, x2, x3, attn_mask=x4, key_padding_mask=x5)' }
  case { name = 'MultiheadAttention need_weights=false', build = function() return nn.MultiheadAttention(E, 2) end,
         py = 'nn.MultiheadAttention(6, 2)', inputs = { randn(L, N, E) },
         call = function(m, x) return m(x, x, x, { need_weights = false }) end,
         py_call = 'm(x1, x1, x1, need_weights=False)' }
  case { name = 'MultiheadAttention average_attn_weights=false', build = function()
           return nn.MultiheadAttention(E, 3) end, py = 'nn.MultiheadAttention(6, 3)', inputs = { randn(L, N, E) },
         call = function(m, x) return m(x, x, x, { average_attn_weights = false }) end,
         py_call = 'm(x1, x1, x1, average_attn_weights=False)' }
  case { name = 'MultiheadAttention batch_first, kdim/vdim, no bias', build = function()
           return nn.MultiheadAttention(E, 2, { batch_first = true, kdim = 3, vdim = 5, bias = false }) end,
         py = 'nn.MultiheadAttention(6, 2, batch_first=True, kdim=3, vdim=5, bias=False)',
         inputs = { randn(N, L, E), randn(N, S, 3), randn(N, S, 5) } }
  case { name = 'MultiheadAttention unbatched with key_padding_mask', build = function()
           return nn.MultiheadAttention(E, 2) end, py = 'nn.MultiheadAttention(6, 2)',
         inputs = { randn(L, E), randn(S, E), torch.tensor({ false, true, false, false, true }) },
         call = function(m, q, kv, kpm) return m(q, kv, kv, { key_padding_mask = kpm }) end,
         py_call = 'm(x1, x2, x2, key_padding_mask=x3)' }
  case { name = 'MultiheadAttention float32', dtype = 'float32', scale = 5, build = function()
           return nn.MultiheadAttention(8, 4) end, py = 'nn.MultiheadAttention(8, 4)', inputs = { randn(5, 3, 8) },
         call = function(m, x) return m(x, x, x) end, py_call = 'm(x1, x1, x1)' }
  case { name = 'TransformerEncoderLayer (post-norm, relu)', build = function()
           return nn.TransformerEncoderLayer(E, 2, { dim_feedforward = 10, dropout = 0 }) end,
         py = 'nn.TransformerEncoderLayer(6, 2, dim_feedforward=10, dropout=0.0)', inputs = { randn(L, N, E) } }
  case { name = 'TransformerEncoderLayer norm_first, gelu, batch_first, positional options', build = function()
           return nn.TransformerEncoderLayer(E, 3, 12, 0, 'gelu', 1e-6, true, true) end,
         py = "nn.TransformerEncoderLayer(6, 3, 12, 0.0, 'gelu', 1e-6, True, True)", inputs = { randn(N, L, E) } }
  case { name = 'TransformerEncoderLayer with src_mask and src_key_padding_mask', build = function()
           return nn.TransformerEncoderLayer(E, 2, { dim_feedforward = 8, dropout = 0 }) end,
         py = 'nn.TransformerEncoderLayer(6, 2, dim_feedforward=8, dropout=0.0)',
         inputs = { randn(L, N, E), torch.ones(L, L):triu(1):bool(),
                    torch.tensor({ { false, false, false, true }, { false, false, false, false } }) },
         call = function(m, x, mask, kpm) return m(x, { src_mask = mask, src_key_padding_mask = kpm }) end,
         py_call = 'm(x1, src_mask=x2, src_key_padding_mask=x3)' }
  case { name = 'TransformerEncoderLayer in evaluation (dropout 0.1 off)', train = false, build = function()
           return nn.TransformerEncoderLayer(E, 2, { dim_feedforward = 8 }) end,
         py = 'nn.TransformerEncoderLayer(6, 2, dim_feedforward=8)', inputs = { randn(L, N, E) } }
  case { name = 'TransformerEncoder of 2 layers with a final norm', build = function()
           local layer = nn.TransformerEncoderLayer(E, 2, { dim_feedforward = 8, dropout = 0 })
           return nn.TransformerEncoder(layer, 2, { norm = nn.LayerNorm(E) }) end,
         py = 'nn.TransformerEncoder(nn.TransformerEncoderLayer(6, 2, dim_feedforward=8, dropout=0.0), 2, norm=nn.LayerNorm(6))',
         inputs = { randn(L, N, E) } }

  -- ---- activations ----
  local function act(name, build, py, x, tol)
    case { name = name, build = build, py = py, inputs = { x or randn(3, 4, 5) }, tol = tol }
  end
  -- PyTorch's hardsigmoid/hardswish backward multiply by 1.0f / 6.0f, a float32 constant, in float64 too
  local one_sixth_f32 = { atol = 1e-9, rtol = 1e-7 }
  act('ReLU', function() return nn.ReLU() end, 'nn.ReLU()')
  case { name = 'ReLU inplace on a non-leaf', build = function() return nn.ReLU(true) end, py = 'nn.ReLU(inplace=True)',
         inputs = { randn(3, 4) }, call = function(m, x) return m(x * 1) end, py_call = 'm(x1 * 1)' }
  act('LeakyReLU(0.2)', function() return nn.LeakyReLU(0.2) end, 'nn.LeakyReLU(0.2)')
  act('ELU(0.5)', function() return nn.ELU(0.5) end, 'nn.ELU(0.5)')
  act('GELU', function() return nn.GELU() end, 'nn.GELU()')
  act("GELU approximate='tanh'", function() return nn.GELU('tanh') end, "nn.GELU(approximate='tanh')")
  -- (float32 past tanh's rational range: its clamp made the gradient at 254 1.42)
  case { name = "GELU approximate='tanh' of large inputs, float32", build = function() return nn.GELU('tanh') end,
         py = "nn.GELU(approximate='tanh')", dtype = 'float32',
         inputs = { torch.tensor({ 254, 50, 9.5, 8, 6.5, 4.2, -4.2, -6.5, -8, -30 }) } }
  act('SiLU', function() return nn.SiLU() end, 'nn.SiLU()')
  act('Sigmoid', function() return nn.Sigmoid() end, 'nn.Sigmoid()')
  act('Tanh', function() return nn.Tanh() end, 'nn.Tanh()')
  act('Softmax(2) (PyTorch dim=1)', function() return nn.Softmax(2) end, 'nn.Softmax(dim=1)')
  act('Softmax() is the last dim', function() return nn.Softmax() end, 'nn.Softmax(dim=-1)')
  act('LogSoftmax(-1)', function() return nn.LogSoftmax(-1) end, 'nn.LogSoftmax(dim=-1)')
  act('LogSoftmax(1) float32', function() return nn.LogSoftmax(1) end, 'nn.LogSoftmax(dim=0)')
  act('Softmin(3)', function() return nn.Softmin(3) end, 'nn.Softmin(dim=2)')
  act('Softplus(beta=2, threshold=1)', function() return nn.Softplus(2, 1) end, 'nn.Softplus(2, 1)')
  act('Hardtanh(-0.5, 1.5)', function() return nn.Hardtanh(-0.5, 1.5) end, 'nn.Hardtanh(-0.5, 1.5)')
  act('ReLU6', function() return nn.ReLU6() end, 'nn.ReLU6()', randn(3, 4) * 4)
  act('Mish', function() return nn.Mish() end, 'nn.Mish()')
  act('Softsign', function() return nn.Softsign() end, 'nn.Softsign()')
  act('Hardsigmoid', function() return nn.Hardsigmoid() end, 'nn.Hardsigmoid()', randn(4, 5) * 4, one_sixth_f32)
  act('Hardswish', function() return nn.Hardswish() end, 'nn.Hardswish()', randn(4, 5) * 4, one_sixth_f32)
  act('LogSigmoid', function() return nn.LogSigmoid() end, 'nn.LogSigmoid()')
  act('PReLU (one slope)', function() return nn.PReLU() end, 'nn.PReLU()')
  act('PReLU(3) per channel on 4-d input', function() return nn.PReLU(3, 0.1) end, 'nn.PReLU(3, 0.1)',
      randn(2, 3, 2, 2))

  -- ---- nn.functional's utilities (wrapped in a module on both sides) ----
  local PY_FN, Fn = nnref.PY_FN, nnref.Fn
  local function fn_case(name, f, py, inputs, extra)
    local c = { name = name, build = function() return Fn(f) end, py_setup = PY_FN, py = 'Fn(' .. py .. ')',
                inputs = inputs }
    for k, v in pairs(extra or {}) do c[k] = v end
    case(c)
  end
  fn_case("F.pad constant, two dims, negative crop", function(x) return nn.F.pad(x, { 1, 2, -1, 1 }, 'constant', 0.5) end,
          "lambda x: F.pad(x, (1, 2, -1, 1), 'constant', 0.5)", { randn(2, 3, 4) })
  fn_case("F.pad reflect", function(x) return nn.F.pad(x, { 2, 1 }, 'reflect') end,
          "lambda x: F.pad(x, (2, 1), 'reflect')", { randn(2, 3, 5) })
  fn_case("F.pad replicate, two dims", function(x) return nn.F.pad(x, { 1, 2, 2, 0 }, 'replicate') end,
          "lambda x: F.pad(x, (1, 2, 2, 0), 'replicate')", { randn(1, 2, 3, 4) })
  -- negative amounts crop before reflect and replicate too; replicate takes any amount; circular wraps around
  fn_case("F.pad reflect and replicate with a crop", function(x)
    return nn.F.pad(x, { -1, 2 }, 'reflect') + nn.F.pad(x, { -1, 2 }, 'replicate')
  end, "lambda x: F.pad(x, (-1, 2), 'reflect') + F.pad(x, (-1, 2), 'replicate')", { randn(2, 3, 5) })
  fn_case("F.pad replicate past the size", function(x) return nn.F.pad(x, { 5, 0 }, 'replicate') end,
          "lambda x: F.pad(x, (5, 0), 'replicate')", { randn(2, 2, 3) })
  fn_case("F.pad circular, two dims", function(x) return nn.F.pad(x, { 2, 3, 1, 0 }, 'circular') end,
          "lambda x: F.pad(x, (2, 3, 1, 0), 'circular')", { randn(1, 2, 3, 4) })
  fn_case('F.prelu, a slope per channel', function(x, w) return nn.F.prelu(x, w) end, 'lambda x, w: F.prelu(x, w)',
          { randn(2, 3, 4), torch.rand(3) })
  fn_case('F.prelu, one slope', function(x, w) return nn.F.prelu(x, w) end, 'lambda x, w: F.prelu(x, w)',
          { randn(5), torch.rand(1) })
  fn_case('F.normalize p=2 dim=2 (PyTorch dim=1)', function(x) return nn.F.normalize(x) end,
          'lambda x: F.normalize(x)', { randn(4, 5) })
  fn_case('F.normalize p=1 dim=-1', function(x) return nn.F.normalize(x, 1, -1) end,
          'lambda x: F.normalize(x, 1.0, -1)', { randn(3, 2, 4) })
  fn_case('F.cosine_similarity', function(a, b) return nn.F.cosine_similarity(a, b) end,
          'lambda a, b: F.cosine_similarity(a, b)', { randn(5, 4), randn(5, 4) })
  fn_case('F.cosine_similarity with a norm below eps', function(a, b) return nn.F.cosine_similarity(a, b, 2, 0.5) end,
          'lambda a, b: F.cosine_similarity(a, b, 1, 0.5)', { randn(3, 2) * 0.1, randn(3, 2) })
  fn_case('F.cosine_similarity dim=1 with broadcasting', function(a, b) return nn.F.cosine_similarity(a, b, 1) end,
          'lambda a, b: F.cosine_similarity(a, b, 0)', { randn(4, 3), randn(4, 1) })
  -- broadcasting along the reduced dim: the stretched side's norm counts every copy (was |b| once: values above 1)
  fn_case('F.cosine_similarity broadcasting along the reduced dim', function(a, b)
    return nn.F.cosine_similarity(a, b) + nn.F.cosine_similarity(b:transpose(1, 2), a:transpose(1, 2), 1)
  end, 'lambda a, b: F.cosine_similarity(a, b) + F.cosine_similarity(b.t(), a.t(), 0)', { randn(3, 4), randn(3, 1) })
  -- the options as one table after the optional tensors given positionally (a table in batch_norm's training
  -- slot was read as training = false; in conv's bias slot and layer_norm's and group_norm's eps slot it failed)
  fn_case('F.batch_norm, F.layer_norm, F.group_norm with an options table after weight and bias',
          function(x, w, b)
            return nn.F.batch_norm(x, nil, nil, w, b, { training = true, eps = 0.5 })
                 + nn.F.layer_norm(x, { 3, 2 }, nil, nil, { eps = 0.5 }) + nn.F.group_norm(x, 3, w, b, { eps = 0.5 })
          end,
          'lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True, eps=0.5) '
            .. '+ F.layer_norm(x, (3, 2), eps=0.5) + F.group_norm(x, 3, w, b, eps=0.5)',
          { randn(4, 3, 2), randn(3), randn(3) })
  -- the dtype argument (once ignored: a float32 result)
  fn_case('F.softmax, F.log_softmax and F.softmin with a dtype', function(x)
    return { nn.F.softmax(x, 2, 'float64'), nn.F.log_softmax(x, { dim = 1, dtype = 'float64' }),
             nn.F.softmin(x, -1, { dtype = 'float64' }) }
  end, 'lambda x: (F.softmax(x, 1, dtype=torch.float64), F.log_softmax(x, 0, dtype=torch.float64), '
         .. 'F.softmin(x, -1, dtype=torch.float64))', { randn(3, 4) }, { dtype = 'float32' })
  fn_case('F.conv2d and F.conv_transpose1d with the options table in the bias slot', function(x, w, b)
    return nn.F.conv2d(x, w, { bias = b, stride = 2, padding = 1 }):sum()
         + nn.F.conv_transpose1d(x:flatten(3), w:flatten(3):transpose(1, 2), { stride = 2 }):sum()
  end, 'lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1).sum() '
         .. '+ F.conv_transpose1d(x.flatten(2), w.flatten(2).transpose(0, 1), stride=2).sum()',
     { randn(2, 3, 5, 5), randn(4, 3, 3, 3), randn(4) })
  fn_case('F.scaled_dot_product_attention with a bool mask (true = attend) and a float mask', function(q, k, v, m, fm)
            local a = nn.F.scaled_dot_product_attention(q, k, v, m)
            local b = nn.F.scaled_dot_product_attention(q, k, v, { attn_mask = fm })
            return a, b
          end, [[lambda q, k, v, m, fm: (
    torch.softmax((q @ k.transpose(-2, -1) / q.shape[-1] ** 0.5).masked_fill(~m, float('-inf')), -1) @ v,
    torch.softmax(q @ k.transpose(-2, -1) / q.shape[-1] ** 0.5 + fm, -1) @ v)]],
          { randn(2, 3, 4), randn(2, 5, 4), randn(2, 5, 6), torch.ones(3, 5):tril(1):bool(), randn(3, 5) },
          { grad_inputs = { 1, 2, 3 } })
  fn_case('F.scaled_dot_product_attention is_causal, scale', function(q, k, v)
            return nn.F.scaled_dot_product_attention(q, k, v, { is_causal = true, scale = 0.3 })
          end, [[lambda q, k, v: torch.softmax((q @ k.transpose(-2, -1) * 0.3).masked_fill(
    torch.ones(4, 4, dtype=torch.bool).tril().logical_not(), float('-inf')), -1) @ v]],
          { randn(2, 4, 3), randn(2, 4, 3), randn(2, 4, 2) })
  case { name = 'Embedding.from_pretrained (frozen by default)', build = function()
           return nn.Embedding.from_pretrained(randn(4, 3), { freeze = false, padding_idx = 2 }) end,
         py = 'nn.Embedding(4, 3, padding_idx=1)', inputs = { ids({ 1, 2, 4, 2 }) }, py_pre = 'x1 = x1 - 1' }

  -- ---- containers ----
  case { name = 'Sequential CNN (conv, batch norm, pool, flatten, linear)', build = function()
           return nn.Sequential(nn.Conv2d(1, 4, 3, { padding = 1 }), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                                nn.Flatten(), nn.Linear(16, 3), nn.LogSoftmax(2)) end,
         py = 'nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2), ' ..
              'nn.Flatten(), nn.Linear(16, 3), nn.LogSoftmax(dim=1))',
         inputs = { randn(3, 1, 4, 4) } }

  bn_expected = cases:run({ BN_STEPS })[1]
end)

describe('BatchNorm running statistics', function()
  it('follow PyTorch over several training steps, then the evaluation output does too', function()
    local xs, probe, expected = bn_steps, bn_probe, bn_expected
    for key, momentum in pairs({ ema = 0.1, none = false }) do
      local m = nn.BatchNorm1d(3, { momentum = momentum })
      for i, x in ipairs(xs) do
        m(x)
        local e = expected[key].stats[i]
        local ok, msg = ref.compare(m.running_mean, e[1], nnref.tol('float32'))
        assert(ok, key .. ' running_mean after step ' .. i .. ': ' .. tostring(msg))
        ok, msg = ref.compare(m.running_var, e[2], nnref.tol('float32'))
        assert(ok, key .. ' running_var after step ' .. i .. ': ' .. tostring(msg))
        assert.are.equal(e[3], m.num_batches_tracked:item())
      end
      m:eval()
      local ok, msg = ref.compare(m(probe), expected[key].eval, nnref.tol('float32'))
      assert(ok, key .. ' evaluation output: ' .. tostring(msg))
      -- evaluation leaves the statistics alone
      local before = m.running_mean:clone()
      m(randn(4, 3, 4) * 10)
      assert.are.same(before:tolist(), m.running_mean:tolist())
      assert.are.equal(#xs, m.num_batches_tracked:item())
    end
  end)
end)

describe('dropout', function()
  it('zeroes a fraction p in training and scales the rest by 1 / (1 - p); the gradient follows the mask', function()
    local n, p = 100000, 0.3
    local m = nn.Dropout(p)
    local x = torch.ones(n, { requires_grad = true })
    local y = m(x)
    local zeros = y:eq(0):sum()
    -- within 5 standard deviations of n p
    assert.is_true(math.abs(zeros - n * p) < 5 * math.sqrt(n * p * (1 - p)), 'zeros: ' .. zeros)
    local kept = y:detach():masked_select(y:ne(0))
    assert.is_true((kept - 1 / (1 - p)):abs():max() < 1e-6)
    y:sum():backward()
    -- the gradient is the same mask and scale
    assert.are.same(y:detach():tolist(), x.grad:tolist())
  end)
  it('is the identity in evaluation, and p = 1 drops everything', function()
    local x = randn(5, 4)
    local m = nn.Dropout(0.5)
    m:eval()
    assert.are.same(x:tolist(), m(x):tolist())
    m:train()
    assert.are.equal(0, nn.Dropout(1)(x):abs():sum())
    assert.are.equal(0, nn.Dropout2d(1)(randn(2, 3, 4, 4)):abs():sum())
  end)
  it('Dropout inplace writes into its input', function()
    local x = torch.ones(1000)
    local y = nn.Dropout(0.5, true)(x)
    assert.are.same(y:tolist(), x:tolist())
    assert.is_true(x:eq(0):sum() > 0)
  end)
  it('Dropout2d zeroes whole channels with probability p and scales the rest', function()
    local p, N, C = 0.4, 50, 40
    local y = nn.Dropout2d(p)(torch.ones(N, C, 3, 2))
    local per_channel = y:reshape(N, C, 6)
    local dropped = 0
    for i = 1, N do
      for c = 1, C do
        local v = per_channel[i][c]
        local lo, hi = v:min(), v:max()
        assert.are.equal(lo, hi) -- a channel is all kept or all dropped
        if hi == 0 then dropped = dropped + 1 else assert.is_true(math.abs(hi - 1 / (1 - p)) < 1e-6) end
      end
    end
    local n = N * C
    assert.is_true(math.abs(dropped - n * p) < 5 * math.sqrt(n * p * (1 - p)), 'dropped channels: ' .. dropped)
  end)
  it('F.dropout2d is nn.Dropout2d as a function: whole channels, identity when not training, in place on request', function()
    torch.manual_seed(4)
    local y = nn.F.dropout2d(torch.ones(20, 30, 2, 2), 0.5)
    local per_channel = y:reshape(600, 4)
    assert.is_true(per_channel:amax(2):eq(per_channel:amin(2)):all())
    local dropped = per_channel:select(2, 1):eq(0):sum()
    assert.is_true(math.abs(dropped - 300) < 5 * math.sqrt(600 * 0.25), 'dropped channels: ' .. dropped)
    local x = randn(3, 4, 5)
    assert.are.same(x:tolist(), nn.F.dropout2d(x, 0.5, false):tolist())
    local z = torch.ones(2, 8, 3, 3)
    assert.are.equal(z, nn.F.dropout2d(z, 0.5, true, true))
    assert.is_true(z:eq(0):sum() > 0)
  end)
  it('refuses p outside [0, 1]', function()
    assert.has_error(function() nn.Dropout(1.5) end)
    assert.has_error(function() nn.Dropout2d(-0.1) end)
    assert.has_error(function() nn.F.dropout2d(randn(2, 2, 2), 2) end)
  end)
end)

-- The default initialisations: PyTorch's distributions (bounds and moments), not its random values.
describe('default initialisation', function()
  -- values of t lie in [-bound, bound], reach close to both ends, and have the uniform's mean and variance
  local function uniform_like(what, t, bound)
    local v = t:detach():double():reshape(-1)
    local n = v:numel()
    assert(v:abs():max() <= bound * (1 + 1e-6), what .. ': a value beyond the bound ' .. bound)
    if n >= 200 then
      assert(v:max() > bound * 0.9 and v:min() < -bound * 0.9, what .. ': values do not fill [-bound, bound]')
    end
    -- mean and variance within 5 standard errors (a uniform's sample variance has variance 0.8 var^2 / n)
    local var = bound * bound / 3
    assert(math.abs(v:mean()) < 5 * math.sqrt(var / n), what .. ': mean ' .. v:mean())
    assert(math.abs(v:var() - var) < 5 * var * math.sqrt(0.8 / n), what .. ': variance ' .. v:var() .. ', expected ' .. var)
  end
  local function constant(what, t, c)
    assert(t:detach():eq(c):all(), what .. ' should be all ' .. c)
  end

  it('Linear and Bilinear: uniform in +-1/sqrt(in_features)', function()
    local m = nn.Linear(400, 300)
    uniform_like('Linear.weight', m.weight, 1 / math.sqrt(400))
    uniform_like('Linear.bias', m.bias, 1 / math.sqrt(400))
    local b = nn.Bilinear(50, 30, 40)
    uniform_like('Bilinear.weight', b.weight, 1 / math.sqrt(50))
    uniform_like('Bilinear.bias', b.bias, 1 / math.sqrt(50))
  end)
  it('convolutions: uniform in +-1/sqrt(fan_in), fan_in from dim 2 (ConvTranspose: out_channels/groups)', function()
    local c = nn.Conv2d(16, 64, 3, { groups = 2 })
    uniform_like('Conv2d.weight', c.weight, 1 / math.sqrt(8 * 9))
    uniform_like('Conv2d.bias', c.bias, 1 / math.sqrt(8 * 9))
    local c1 = nn.Conv1d(20, 300, 5)
    uniform_like('Conv1d.weight', c1.weight, 1 / math.sqrt(100))
    local t = nn.ConvTranspose2d(64, 20, 3, { groups = 2 })
    assert.are.same({ 64, 10, 3, 3 }, t.weight:shape())
    uniform_like('ConvTranspose2d.weight', t.weight, 1 / math.sqrt(10 * 9))
    uniform_like('ConvTranspose2d.bias', t.bias, 1 / math.sqrt(10 * 9))
  end)
  it('recurrent layers: every parameter uniform in +-1/sqrt(hidden_size)', function()
    for _, m in ipairs({ nn.LSTM(30, 64, { num_layers = 2 }), nn.GRU(20, 49), nn.RNN(10, 100) }) do
      for name, p in m:named_parameters() do
        if p:numel() >= 100 then uniform_like(m:typename() .. '.' .. name, p, 1 / math.sqrt(m.hidden_size)) end
      end
    end
  end)
  it('Embedding: N(0, 1), with the padding row zero', function()
    local e = nn.Embedding(1000, 50, { padding_idx = 3 })
    local w = e.weight:detach():double()
    constant('Embedding padding row', w[3], 0)
    assert.is_true(math.abs(w:mean()) < 5 / math.sqrt(50000))
    assert.is_true(math.abs(w:std() - 1) < 0.02)
  end)
  it('MultiheadAttention: xavier-uniform in_proj, zero biases, Linear-initialised out_proj', function()
    local E = 64
    local m = nn.MultiheadAttention(E, 4)
    uniform_like('in_proj_weight', m.in_proj_weight, math.sqrt(6 / (E + 3 * E)))
    constant('in_proj_bias', m.in_proj_bias, 0)
    constant('out_proj.bias', m.out_proj.bias, 0)
    uniform_like('out_proj.weight', m.out_proj.weight, 1 / math.sqrt(E))
    local k = nn.MultiheadAttention(E, 4, { kdim = 32, vdim = 16 })
    uniform_like('q_proj_weight', k.q_proj_weight, math.sqrt(6 / (E + E)))
    uniform_like('k_proj_weight', k.k_proj_weight, math.sqrt(6 / (32 + E)))
    uniform_like('v_proj_weight', k.v_proj_weight, math.sqrt(6 / (16 + E)))
  end)
  it('normalisation layers start as the identity transform; PReLU at 0.25', function()
    local bn = nn.BatchNorm2d(5)
    constant('BatchNorm weight', bn.weight, 1)
    constant('BatchNorm bias', bn.bias, 0)
    constant('running_mean', bn.running_mean, 0)
    constant('running_var', bn.running_var, 1)
    assert.are.equal('int64', bn.num_batches_tracked:dtype())
    assert.are.equal(0, bn.num_batches_tracked:item())
    local ln = nn.LayerNorm({ 3, 4 })
    constant('LayerNorm weight', ln.weight, 1)
    constant('LayerNorm bias', ln.bias, 0)
    local gn = nn.GroupNorm(2, 6)
    constant('GroupNorm weight', gn.weight, 1)
    constant('GroupNorm bias', gn.bias, 0)
    constant('PReLU weight', nn.PReLU(4).weight, 0.25)
  end)
  it('dtype option creates float64 parameters', function()
    local m = nn.Linear(3, 2, { dtype = 'float64' })
    assert.are.equal('float64', m.weight:dtype())
    assert.are.equal('float64', m.bias:dtype())
    assert.are.equal('float64', nn.Conv2d(1, 2, 3, { dtype = 'float64' }).weight:dtype())
    assert.are.equal('float64', nn.LSTM(2, 3, { dtype = 'float64' }).weight_hh_l0:dtype())
  end)
end)

describe('bad input to layers', function()
  -- the message names the module and the expected and actual shapes
  local fails = require('helpers.failure').containing
  it('misspelt or unsupported options, named with the module or function (they were dropped silently)', function()
    fails(function() nn.Conv2d(1, 1, 3, { paddng = 1 }) end, 'Conv2d: unknown option paddng', 'padding')
    fails(function() nn.GRU(3, 5, { batchfirst = true }) end, 'GRU: unknown option batchfirst', 'batch_first')
    fails(function() nn.MaxPool2d(2, { stirde = 2 }) end, 'MaxPool2d: unknown option stirde')
    fails(function() nn.CrossEntropyLoss({ label_smothing = 0.1 }) end, 'CrossEntropyLoss: unknown option label_smothing')
    fails(function() nn.MSELoss({ reduce = 'sum' }) end, 'MSELoss: unknown option reduce', 'reduction')
    fails(function() nn.F.cross_entropy(randn(2, 3), torch.tensor({ 1, 2 }), { reduce = 'sum' }) end,
          'F.cross_entropy: unknown option reduce')
    fails(function() nn.F.nll_loss(randn(2, 3), torch.tensor({ 1, 2 }), { label_smoothing = 0.1 }) end,
          'F.nll_loss: unknown option label_smoothing')
    fails(function() nn.LSTM(3, 5, { proj_size = 2 }) end, 'LSTM: proj_size', 'not supported')
    fails(function() nn.Conv2d(1, 1, 3, { padding_mode = 'mirror' }) end, "Conv2d: padding_mode must be 'zeros', 'reflect'",
          'got mirror')
    fails(function() nn.ConvTranspose2d(1, 1, 3, { padding_mode = 'reflect' }) end, 'ConvTranspose2d: unknown option padding_mode')
    fails(function() nn.Linear(2, 3, { biass = false }) end, 'Linear: unknown option biass', 'bias, dtype and device')
    fails(function() nn.Linear(2, 3, true, { dtyp = 'float64' }) end, 'Linear: unknown option dtyp')
    fails(function() nn.Bilinear(2, 2, 3, { bais = false }) end, 'Bilinear: unknown option bais')
    fails(function() nn.BatchNorm2d(3, { afine = false }) end, 'BatchNorm2d: unknown option afine', 'affine')
    fails(function() nn.LayerNorm(3, { elementwise_afine = false }) end, 'LayerNorm: unknown option elementwise_afine')
    fails(function() nn.GroupNorm(1, 3, { epsilon = 1e-3 }) end, 'GroupNorm: unknown option epsilon', 'eps')
    fails(function() nn.Embedding(5, 2, { max_norn = 1 }) end, 'Embedding: unknown option max_norn', 'max_norm')
    fails(function() nn.Embedding(5, 2, { sparse = true }) end, 'Embedding: sparse gradients are not supported')
    fails(function() nn.Embedding.from_pretrained(randn(5, 2), { freze = false }) end,
          'Embedding.from_pretrained: unknown option freze', 'freeze')
    fails(function() nn.LeakyReLU({ slope = 0.1 }) end, 'LeakyReLU: unknown option slope', 'negative_slope')
    fails(function() nn.ReLU({ in_place = true }) end, 'ReLU: unknown option in_place', 'inplace')
    fails(function() nn.Softmax({ axis = 1 }) end, 'Softmax: unknown option axis', 'dim')
    fails(function() nn.Dropout({ prob = 0.1 }) end, 'Dropout: unknown option prob', 'p, inplace')
    fails(function() nn.Flatten({ start = 1 }) end, 'Flatten: unknown option start', 'start_dim')
    fails(function() nn.PReLU({ num_parameter = 3 }) end, 'PReLU: unknown option num_parameter', 'num_parameters')
    fails(function() nn.F.softmax(randn(2, 3), { axis = 1 }) end, 'F.softmax: unknown option axis', 'dim')
    fails(function() nn.F.conv2d(randn(1, 1, 3, 3), randn(1, 1, 3, 3), nil, { strides = 1 }) end,
          'F.conv2d: unknown option strides', 'stride')
    fails(function() nn.F.dropout(randn(3), { training = true, pp = 0.1 }) end, 'F.dropout: unknown option pp')
    fails(function() nn.F.layer_norm(randn(2, 3), { 3 }, { epsilon = 1 }) end, 'F.layer_norm: unknown option epsilon')
    fails(function() nn.F.mse_loss(randn(3), randn(3), { reduce = 'sum' }) end, 'F.mse_loss: unknown option reduce')
    fails(function() nn.F.pad(randn(3), { 1, 1 }, { mode = 'constant', val = 1 }) end, 'F.pad: unknown option val')
    -- the options as positional values and as correctly spelt tables still work
    assert.is_nil(nn.Linear(2, 3, { bias = false }).bias)
    assert.are.equal(0.2, nn.LeakyReLU({ negative_slope = 0.2 }).negative_slope)
    assert.are.equal(0.2, nn.LeakyReLU(0.2).negative_slope)
    assert.is_true(nn.Dropout(0.3, true).inplace)
    assert.are.same({ 2, 3 }, nn.F.softmax(randn(2, 3), { dim = 1 }):shape())
    -- the factory options and a zero proj_size are fine
    assert.are.equal('float64', nn.Conv2d(1, 1, 3, { padding = 1, dtype = 'float64' }).weight:dtype())
    assert.are.equal(5, nn.LSTM(3, 5, { proj_size = 0 }).hidden_size)
  end)
  it('Linear with the wrong feature count', function()
    fails(function() nn.Linear(5, 3)(randn(4, 6)) end, 'Linear', '5', '[4 x 6]')
    fails(function() nn.Linear(5, 3)(torch.tensor(1.0)) end, 'Linear', '5')
  end)
  it('Conv2d with a 2-d or 5-d input, or the wrong channel count', function()
    fails(function() nn.Conv2d(3, 4, 3)(randn(8, 8)) end, 'Conv2d', '4-d', '[8 x 8]')
    fails(function() nn.Conv2d(3, 4, 3)(randn(1, 1, 3, 8, 8)) end, 'Conv2d', '[1 x 1 x 3 x 8 x 8]')
    fails(function() nn.Conv2d(3, 4, 3)(randn(2, 5, 8, 8)) end, 'Conv2d', '3 input channels', '[2 x 5 x 8 x 8]')
    fails(function() nn.Conv2d(3, 4, 3)(randn(2, 8, 8)) end, 'Conv2d', '3 input channels', '[2 x 8 x 8]')
    fails(function() nn.Conv1d(2, 4, 3)(randn(2, 2, 3, 3)) end, 'Conv1d', '[2 x 2 x 3 x 3]')
    fails(function() nn.Conv2d(3, 4, 5)(randn(1, 3, 3, 3)) end, 'conv2d')
  end)
  it('pooling and normalisation with wrong shapes', function()
    fails(function() nn.MaxPool2d(2)(randn(4, 4)) end, 'MaxPool2d', '[4 x 4]')
    fails(function() nn.AvgPool1d(2)(randn(1, 2, 3, 4)) end, 'AvgPool1d', '[1 x 2 x 3 x 4]')
    fails(function() nn.BatchNorm2d(3)(randn(2, 3, 4)) end, 'BatchNorm2d', '[2 x 3 x 4]')
    fails(function() nn.BatchNorm1d(3)(randn(2, 4)) end, 'BatchNorm1d', '3', '[2 x 4]')
    fails(function() nn.LayerNorm({ 3, 4 })(randn(2, 4, 3)) end, 'LayerNorm', '3 x 4', '[2 x 4 x 3]')
    fails(function() nn.GroupNorm(2, 4)(randn(2, 6, 3)) end, 'GroupNorm', '4', '[2 x 6 x 3]')
    fails(function() nn.GroupNorm(3, 4) end, 'GroupNorm', 'divisible')
    fails(function() nn.BatchNorm1d(3)(randn(1, 3)) end, 'batch')
  end)
  it('Embedding with float or out-of-range ids', function()
    fails(function() nn.Embedding(5, 2)(randn(3)) end, 'Embedding', 'float32')
    fails(function() nn.Embedding(5, 2)(ids({ 1, 6 })) end, '6')
    fails(function() nn.Embedding(5, 2)(ids({ 2, 0 })) end, 'index 0 is out of range', '1 to 5')
    fails(function() nn.Embedding(5, 2)(ids({ -1 })) end, 'index -1 is out of range')
    fails(function() nn.Embedding(5, 2, { padding_idx = 6 }) end, 'padding_idx')
  end)
  it('recurrent layers with the wrong input size or initial state', function()
    fails(function() nn.LSTM(3, 4)(randn(5, 2, 6)) end, 'LSTM', '3', '[5 x 2 x 6]')
    fails(function() nn.GRU(3, 4)(randn(5, 2, 3), randn(2, 2, 4)) end, 'GRU', '[1 x 2 x 4]', '[2 x 2 x 4]')
    fails(function() nn.LSTM(3, 4)(randn(5, 2, 3), randn(1, 2, 4)) end, 'LSTM', 'h0, c0')
    fails(function() nn.RNN(3, 4)(randn(5)) end, 'RNN', '[5]')
    fails(function() nn.RNN(3, 4, { nonlinearity = 'sigmoid' }) end, 'nonlinearity')
  end)
  it('attention with the wrong embedding size or masks', function()
    local m = nn.MultiheadAttention(6, 2)
    local q = randn(4, 2, 6)
    fails(function() m(randn(4, 2, 5), q, q) end, 'MultiheadAttention', '[4 x 2 x 5]')
    fails(function() m(q, q, q, { key_padding_mask = torch.zeros(2, 3):bool() }) end, 'key_padding_mask', '[2 x 4]')
    fails(function() m(q, q, q, { attn_mask = torch.zeros(3, 4):bool() }) end, 'attn_mask', '[4 x 4]')
    fails(function() nn.MultiheadAttention(6, 4) end, 'divisible')
  end)
end)

-- ---- one_hot (1-based classes here: class c is column c; PyTorch's is c - 1) ----
do
  local cases = require('helpers.cases').new()
  cases:add('one_hot with a given, an inferred and PyTorch\'s -1 number of classes', function(t)
    return { nn.F.one_hot(t.ids, 5), nn.F.one_hot(t.ids), nn.F.one_hot(t.ids, -1), nn.F.one_hot(t.ids:view(2, 2)) }
  end, 'import torch.nn.functional as F\nout = [F.one_hot(ids - 1, 5), F.one_hot(ids - 1), F.one_hot(ids - 1, -1), '
    .. 'F.one_hot((ids - 1).view(2, 2))]',
            { ids = torch.tensor({ 3, 1, 4, 1 }) })
  cases:describe('one_hot matches PyTorch')

  it('one_hot refuses ids outside 1..num_classes', function()
    local message = require 'helpers.failure'
    assert.matches('one_hot: ids must be within 1..3, got 1..4',
                   message(function() return nn.F.one_hot(torch.tensor({ 1, 4 }), 3) end), 1, true)
    assert.matches('one_hot: ids must be within 1..3, got 0..2',
                   message(function() return nn.F.one_hot(torch.tensor({ 0, 2 }), 3) end), 1, true)
  end)
end
