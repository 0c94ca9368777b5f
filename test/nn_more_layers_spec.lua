-- The further nn layers against PyTorch: resampling (F.interpolate, Upsample, pixel and channel shuffles), the
-- recurrent cells, instance and local response normalisation, the further activations, the padding modules,
-- Fold/Unfold, Dropout1d/AlphaDropout, the distances and the parameter containers. Each runs here and in PyTorch
-- with the same weights (our state dict loaded into PyTorch's module, strict) and the same inputs; outputs, input
-- gradients, parameter gradients and buffers must match (helpers.nnref), in float64 and float32. Then what is
-- random (RReLU, the dropouts, gumbel_softmax) by its statistics, and the errors bad input raises.
local torch = require 'tensor'
local nn = require 'tensor.nn'
local nnref = require 'helpers.nnref'
local message = require 'helpers.failure'

torch.manual_seed(1313)

local randn = torch.randn
local F = nn.F

-- a module whose training-mode forward ran on a few batches, so its running statistics are not the defaults
local function trained(m, ...)
  local shapes = { ... }
  torch.no_grad(function()
    for _, shape in ipairs(shapes) do m(randn(shape) * 2 + 0.5) end
  end)
  return m
end

-- nn.functional calls, wrapped in a module on both sides
local PY_FN, Fn = nnref.PY_FN, nnref.Fn

describe('resampling matches PyTorch', function()
  local cases = nnref.new()
  local function fn_case(name, f, py, inputs, extra)
    local c = { name = name, build = function() return Fn(f) end, py_setup = PY_FN, py = 'Fn(' .. py .. ')',
                inputs = inputs }
    for k, v in pairs(extra or {}) do c[k] = v end
    cases:add(c)
  end
  -- F.interpolate(x, opts) here, F.interpolate(x, py_args) there, in both dtypes
  local function interp(name, opts, py_args, x)
    for _, dtype in ipairs({ 'float64', 'float32' }) do
      fn_case('F.interpolate ' .. name .. ', ' .. dtype, function(t) return F.interpolate(t, opts) end,
              'lambda x: F.interpolate(x, ' .. py_args .. ')', { x }, { dtype = dtype })
    end
  end
  interp("nearest 3-d scale 2", { scale_factor = 2 }, 'scale_factor=2', randn(2, 3, 5))
  interp("nearest 3-d size 7 from 5", { size = 7 }, 'size=7', randn(2, 3, 5))
  interp("nearest 3-d scale 1.7", { scale_factor = 1.7 }, 'scale_factor=1.7', randn(1, 2, 6))
  interp("nearest 3-d down to 3 from 8", { size = 3 }, 'size=3', randn(2, 2, 8))
  interp("nearest 4-d size (5, 7) from (3, 4)", { size = { 5, 7 } }, 'size=(5, 7)', randn(2, 2, 3, 4))
  interp("nearest 4-d scale (2, 3)", { scale_factor = { 2, 3 } }, 'scale_factor=(2, 3)', randn(1, 3, 3, 2))
  interp("nearest 4-d scale 0.6", { scale_factor = 0.6 }, 'scale_factor=0.6', randn(2, 2, 7, 9))
  interp("nearest 5-d scale (1, 2, 1.5)", { scale_factor = { 1, 2, 1.5 } }, 'scale_factor=(1, 2, 1.5)',
         randn(1, 2, 3, 2, 4))
  interp("nearest-exact 3-d size 7 from 3", { size = 7, mode = 'nearest-exact' }, "size=7, mode='nearest-exact'",
         randn(2, 2, 3))
  interp("nearest-exact 4-d scale 1.2 (size kept, scale used)", { scale_factor = 1.2, mode = 'nearest-exact' },
         "scale_factor=1.2, mode='nearest-exact'", randn(1, 2, 4, 4))
  interp("nearest-exact 4-d down", { size = { 3, 2 }, mode = 'nearest-exact' }, "size=(3, 2), mode='nearest-exact'",
         randn(2, 2, 7, 5))
  interp("linear size 9 from 4", { size = 9, mode = 'linear' }, "size=9, mode='linear'", randn(2, 3, 4))
  interp("linear align_corners size 9 from 4", { size = 9, mode = 'linear', align_corners = true },
         "size=9, mode='linear', align_corners=True", randn(2, 3, 4))
  interp("linear down to 3 from 10", { size = 3, mode = 'linear' }, "size=3, mode='linear'", randn(2, 2, 10))
  interp("linear align_corners down to 1", { size = 1, mode = 'linear', align_corners = true },
         "size=1, mode='linear', align_corners=True", randn(2, 2, 5))
  interp("linear scale 2.5", { scale_factor = 2.5, mode = 'linear' }, "scale_factor=2.5, mode='linear'", randn(1, 2, 5))
  interp("linear scale 1.2 (size kept: a copy)", { scale_factor = 1.2, mode = 'linear' },
         "scale_factor=1.2, mode='linear'", randn(1, 2, 4))
  interp("bilinear size (6, 9) from (4, 5)", { size = { 6, 9 }, mode = 'bilinear' }, "size=(6, 9), mode='bilinear'",
         randn(2, 3, 4, 5))
  interp("bilinear align_corners scale 2", { scale_factor = 2, mode = 'bilinear', align_corners = true },
         "scale_factor=2, mode='bilinear', align_corners=True", randn(2, 2, 3, 4))
  interp("bilinear scale (1.5, 0.7)", { scale_factor = { 1.5, 0.7 }, mode = 'bilinear' },
         "scale_factor=(1.5, 0.7), mode='bilinear'", randn(1, 2, 5, 7))
  interp("bilinear scale 1.7, recompute_scale_factor",
         { scale_factor = 1.7, mode = 'bilinear', recompute_scale_factor = true },
         "scale_factor=1.7, mode='bilinear', recompute_scale_factor=True", randn(1, 2, 5, 3))
  interp("bilinear down (2, 3) from (7, 8)", { size = { 2, 3 }, mode = 'bilinear' }, "size=(2, 3), mode='bilinear'",
         randn(2, 2, 7, 8))
  interp("bicubic size (7, 6) from (4, 3)", { size = { 7, 6 }, mode = 'bicubic' }, "size=(7, 6), mode='bicubic'",
         randn(2, 2, 4, 3))
  interp("bicubic align_corners scale 2", { scale_factor = 2, mode = 'bicubic', align_corners = true },
         "scale_factor=2, mode='bicubic', align_corners=True", randn(1, 3, 3, 4))
  interp("bicubic down (3, 2) from (8, 6)", { size = { 3, 2 }, mode = 'bicubic' }, "size=(3, 2), mode='bicubic'",
         randn(2, 2, 8, 6))
  interp("trilinear size (3, 5, 4) from (2, 3, 4)", { size = { 3, 5, 4 }, mode = 'trilinear' },
         "size=(3, 5, 4), mode='trilinear'", randn(1, 2, 2, 3, 4))
  interp("area 3-d size 4 from 10", { size = 4, mode = 'area' }, "size=4, mode='area'", randn(2, 2, 10))
  interp("area 4-d scale 0.5", { scale_factor = 0.5, mode = 'area' }, "scale_factor=0.5, mode='area'", randn(1, 2, 6, 8))
  interp("area 5-d size (2, 3, 2)", { size = { 2, 3, 2 }, mode = 'area' }, "size=(2, 3, 2), mode='area'",
         randn(1, 2, 5, 6, 4))
  fn_case('F.interpolate bilinear of a transposed input, positional options',
          function(x) return F.interpolate(x:transpose(3, 4), { 5, 7 }, nil, 'bilinear', false) end,
          "lambda x: F.interpolate(x.transpose(2, 3), (5, 7), None, 'bilinear', False)", { randn(2, 3, 4, 3) })
  fn_case('F.interpolate nearest of an empty batch', function(x) return F.interpolate(x, { scale_factor = 2 }) end,
          'lambda x: F.interpolate(x, scale_factor=2)', { randn(0, 2, 3, 4) })

  cases:add { name = 'Upsample(scale_factor=2) nearest', build = function() return nn.Upsample(nil, 2) end,
              py = 'nn.Upsample(scale_factor=2)', inputs = { randn(2, 3, 4, 5) } }
  cases:add { name = "Upsample bilinear align_corners from a table", build = function()
                return nn.Upsample({ size = { 7, 5 }, mode = 'bilinear', align_corners = true }) end,
              py = "nn.Upsample(size=(7, 5), mode='bilinear', align_corners=True)", inputs = { randn(2, 2, 3, 4) } }
  cases:add { name = 'Upsample linear, float32', dtype = 'float32', build = function()
                return nn.Upsample({ scale_factor = 3, mode = 'linear' }) end,
              py = "nn.Upsample(scale_factor=3, mode='linear')", inputs = { randn(2, 4, 6) } }
  cases:add { name = 'UpsamplingNearest2d size', build = function() return nn.UpsamplingNearest2d({ 5, 7 }) end,
              py = 'nn.UpsamplingNearest2d((5, 7))', inputs = { randn(2, 2, 3, 3) } }
  cases:add { name = 'UpsamplingBilinear2d scale 2 (align_corners)', build = function()
                return nn.UpsamplingBilinear2d({ scale_factor = 2 }) end,
              py = 'nn.UpsamplingBilinear2d(scale_factor=2)', inputs = { randn(1, 3, 4, 3) } }

  cases:add { name = 'PixelShuffle(2)', build = function() return nn.PixelShuffle(2) end, py = 'nn.PixelShuffle(2)',
              inputs = { randn(2, 8, 3, 4) } }
  cases:add { name = 'PixelShuffle(3) with two batch dims, float32', dtype = 'float32',
              build = function() return nn.PixelShuffle(3) end, py = 'nn.PixelShuffle(3)', inputs = { randn(2, 2, 9, 2, 3) } }
  cases:add { name = 'PixelUnshuffle(2)', build = function() return nn.PixelUnshuffle(2) end,
              py = 'nn.PixelUnshuffle(2)', inputs = { randn(2, 3, 4, 6) } }
  cases:add { name = 'PixelUnshuffle(3) unbatched, transposed input', build = function() return nn.PixelUnshuffle(3) end,
              py = 'nn.PixelUnshuffle(3)', inputs = { randn(2, 6, 3):transpose(2, 3) } }
  fn_case('F.pixel_unshuffle undoes F.pixel_shuffle', function(x) return F.pixel_unshuffle(F.pixel_shuffle(x, 2), 2) end,
          'lambda x: F.pixel_unshuffle(F.pixel_shuffle(x, 2), 2)', { randn(1, 8, 2, 3) })
  -- (PyTorch 1.13 has no gradient for channel_shuffle: the gradient is checked against the reshapes it stands for,
  -- the values below)
  fn_case('F.channel_shuffle gradient', function(x) return F.channel_shuffle(x, 3) end,
          'lambda x: x.reshape(2, 3, 2, 4, 2).transpose(1, 2).reshape(2, 6, 4, 2)', { randn(2, 6, 4, 2) })

  cases:run()
end)

-- what nnref cannot run: integer tensors, and functions PyTorch gives no gradient
local values = require('helpers.cases').new()
values:add('F.interpolate nearest of int64', function(a) return F.interpolate(a.x, { size = { 5, 3 } }) end,
           'import torch.nn.functional as F\nout = F.interpolate(x.double(), size=(5, 3)).long()',
           { x = torch.randint(-9, 9, { 1, 2, 3, 2 }, { dtype = 'int64' }) })
values:add('PixelShuffle unbatched int64', function(a) return nn.PixelShuffle(2)(a.x) end,
           'out = torch.nn.PixelShuffle(2)(x)', { x = torch.randint(0, 100, { 4, 2, 3 }, { dtype = 'int64' }) })
values:add('PixelUnshuffle of bool', function(a) return nn.PixelUnshuffle(2)(a.x) end,
           'out = torch.nn.PixelUnshuffle(2)(x)', { x = torch.rand(1, 2, 4, 2):gt(0.5) })
values:add('ChannelShuffle(3)', function(a) return nn.ChannelShuffle(3)(a.x) end, 'out = torch.nn.ChannelShuffle(3)(x)',
           { x = randn(2, 6, 2, 3) })
values:add('F.channel_shuffle on [N x C x L], groups 2, float32', function(a) return F.channel_shuffle(a.x, 2) end,
           'out = torch.nn.functional.channel_shuffle(x, 2)', { x = randn(3, 8, 5):float() })
values:add('F.channel_shuffle of int64, transposed', function(a) return F.channel_shuffle(a.x:transpose(2, 3), 2) end,
           'out = torch.nn.functional.channel_shuffle(x.transpose(1, 2), 2)',
           { x = torch.randint(0, 9, { 2, 3, 4 }, { dtype = 'int64' }) })
-- PyTorch's bicubic backward copies the gradient through when the sizes are equal, although its forward uses the
-- scale_factor there: the values match, the gradient here is the forward's (index_add of the same taps)
values:add('F.interpolate bicubic scale 1.2 (size kept, scale used)',
           function(a) return F.interpolate(a.x, { scale_factor = 1.2, mode = 'bicubic' }) end,
           "out = torch.nn.functional.interpolate(x, scale_factor=1.2, mode='bicubic')", { x = randn(1, 2, 4, 4):double() })
-- nearest with a scale_factor whose output size is the input's (or twice it): PyTorch's channels-last kernel
-- (a 4-d or 5-d input with one channel, or channels-last strides) copies (or halves the index), its other kernels
-- (1-d, several channels) use floor(i / scale_factor); its backward always takes the shortcuts (it fails
-- gradcheck there), so only the values are compared
values:add('F.interpolate nearest scale_factor 1.2 and 2.1: 1-d, 2-d with 2 channels, 1 channel, channels-last',
           function(a)
             local o = { scale_factor = { 2.1, 1.2 } }
             return { F.interpolate(a.x:select(3, 1), { scale_factor = 2.3 }), F.interpolate(a.x, o),
                      F.interpolate(a.x:narrow(2, 1, 1), o),
                      F.interpolate(a.x:permute(1, 3, 4, 2):contiguous():permute(1, 4, 2, 3), o),
                      F.interpolate(a.x:unsqueeze(3), { scale_factor = { 1.01, 2.1, 1.2 } }) }
           end,
           [=[import torch.nn.functional as F
o = dict(scale_factor=(2.1, 1.2))
out = [F.interpolate(x[:, :, 0], scale_factor=2.3), F.interpolate(x, **o), F.interpolate(x[:, :1], **o),
       F.interpolate(x.contiguous(memory_format=torch.channels_last), **o),
       F.interpolate(x.unsqueeze(2), scale_factor=(1.01, 2.1, 1.2))]]=], { x = randn(2, 2, 3, 4):double() })
values:describe('values match PyTorch (integers, no PyTorch gradient)')

describe('recurrent cells match PyTorch', function()
  local cases = nnref.new()
  local function case(c) cases:add(c) end
  case { name = 'RNNCell tanh', build = function() return nn.RNNCell(3, 4) end, py = 'nn.RNNCell(3, 4)',
         inputs = { randn(5, 3), randn(5, 4) } }
  case { name = 'RNNCell relu, no bias, no state', build = function() return nn.RNNCell(3, 2, false, 'relu') end,
         py = "nn.RNNCell(3, 2, False, 'relu')", inputs = { randn(4, 3) } }
  case { name = 'RNNCell unbatched, options table', build = function()
           return nn.RNNCell(2, 3, { nonlinearity = 'relu' }) end,
         py = "nn.RNNCell(2, 3, nonlinearity='relu')", inputs = { randn(2), randn(3) } }
  case { name = 'LSTMCell with {h, c}', build = function() return nn.LSTMCell(3, 4) end, py = 'nn.LSTMCell(3, 4)',
         inputs = { randn(5, 3), randn(5, 4), randn(5, 4) },
         call = function(m, x, h, c) return m(x, { h, c }) end, py_call = 'm(x1, (x2, x3))' }
  case { name = 'LSTMCell no state, float32', dtype = 'float32', build = function() return nn.LSTMCell(4, 3) end,
         py = 'nn.LSTMCell(4, 3)', inputs = { randn(6, 4) } }
  case { name = 'LSTMCell unbatched, no bias', build = function() return nn.LSTMCell(2, 3, false) end,
         py = 'nn.LSTMCell(2, 3, bias=False)', inputs = { randn(2), randn(3), randn(3) },
         call = function(m, x, h, c) return m(x, { h, c }) end, py_call = 'm(x1, (x2, x3))' }
  case { name = 'LSTMCell two steps', build = function() return nn.LSTMCell(3, 3) end, py = 'nn.LSTMCell(3, 3)',
         inputs = { randn(2, 3), randn(2, 3) },
         call = function(m, a, b) local h, c = m(a) return m(b, { h, c }) end, py_call = 'm(x2, m(x1))' }
  case { name = 'GRUCell', build = function() return nn.GRUCell(3, 4) end, py = 'nn.GRUCell(3, 4)',
         inputs = { randn(5, 3), randn(5, 4) } }
  case { name = 'GRUCell no bias, unbatched, float32', dtype = 'float32', build = function()
           return nn.GRUCell(3, 2, { bias = false }) end,
         py = 'nn.GRUCell(3, 2, bias=False)', inputs = { randn(3), randn(2) } }
  case { name = 'GRUCell three steps', build = function() return nn.GRUCell(2, 3) end, py = 'nn.GRUCell(2, 3)',
         inputs = { randn(4, 2), randn(4, 2), randn(4, 2) },
         call = function(m, a, b, c) return m(c, m(b, m(a))) end, py_call = 'm(x3, m(x2, m(x1)))' }
  cases:run()
end)

describe('instance and local response normalisation match PyTorch', function()
  local cases = nnref.new()
  local function case(c) cases:add(c) end
  case { name = 'InstanceNorm1d', build = function() return nn.InstanceNorm1d(3) end, py = 'nn.InstanceNorm1d(3)',
         inputs = { randn(4, 3, 6) * 2 + 1 } }
  case { name = 'InstanceNorm1d affine, unbatched', build = function() return nn.InstanceNorm1d(3, { affine = true }) end,
         py = 'nn.InstanceNorm1d(3, affine=True)', inputs = { randn(3, 5) } }
  case { name = 'InstanceNorm1d track_running_stats, training (buffers after)', build = function()
           return nn.InstanceNorm1d(3, { track_running_stats = true, momentum = 0.3 }) end,
         py = 'nn.InstanceNorm1d(3, track_running_stats=True, momentum=0.3)', inputs = { randn(4, 3, 5) * 3 - 1 } }
  case { name = 'InstanceNorm1d track_running_stats in evaluation (running statistics)', train = false,
         build = function()
           return trained(nn.InstanceNorm1d(3, 1e-5, 0.1, true, true), { 2, 3, 6 }, { 4, 3, 6 }) end,
         py = 'nn.InstanceNorm1d(3, 1e-5, 0.1, True, True)', inputs = { randn(2, 3, 4) } }
  case { name = 'InstanceNorm1d in evaluation without running statistics (input statistics)', train = false,
         build = function() return nn.InstanceNorm1d(2) end, py = 'nn.InstanceNorm1d(2)', inputs = { randn(3, 2, 5) } }
  case { name = 'InstanceNorm2d affine, eps 1e-3', build = function()
           return nn.InstanceNorm2d(4, { affine = true, eps = 1e-3 }) end,
         py = 'nn.InstanceNorm2d(4, affine=True, eps=1e-3)', inputs = { randn(2, 4, 3, 5) } }
  case { name = 'InstanceNorm2d affine and track_running_stats, float32', dtype = 'float32', build = function()
           return nn.InstanceNorm2d(3, { affine = true, track_running_stats = true }) end,
         py = 'nn.InstanceNorm2d(3, affine=True, track_running_stats=True)', inputs = { randn(2, 3, 4, 4) * 2 } }
  case { name = 'InstanceNorm2d unbatched', build = function() return nn.InstanceNorm2d(2) end,
         py = 'nn.InstanceNorm2d(2)', inputs = { randn(2, 3, 3) } }
  case { name = 'InstanceNorm3d affine', build = function() return nn.InstanceNorm3d(2, { affine = true }) end,
         py = 'nn.InstanceNorm3d(2, affine=True)', inputs = { randn(2, 2, 2, 3, 2) } }
  case { name = 'LocalResponseNorm(3) on [N x C x L]', build = function() return nn.LocalResponseNorm(3) end,
         py = 'nn.LocalResponseNorm(3)', inputs = { randn(2, 5, 4) } }
  case { name = 'LocalResponseNorm(2, 0.1, 0.5, 2) on [N x C x H x W]', build = function()
           return nn.LocalResponseNorm(2, 0.1, 0.5, 2) end,
         py = 'nn.LocalResponseNorm(2, 0.1, 0.5, 2.0)', inputs = { randn(2, 4, 3, 3) } }
  case { name = 'LocalResponseNorm size 5 > channels, 5-d, float32', dtype = 'float32', build = function()
           return nn.LocalResponseNorm({ size = 5, alpha = 0.5 }) end,
         py = 'nn.LocalResponseNorm(5, alpha=0.5)', inputs = { randn(2, 3, 2, 2, 3) } }
  cases:run()
end)

describe('further activations match PyTorch', function()
  local cases = nnref.new()
  local function act(name, build, py, x, extra)
    for _, dtype in ipairs({ 'float64', 'float32' }) do
      local c = { name = name .. ', ' .. dtype, build = build, py = py, inputs = { x or randn(3, 4, 5) }, dtype = dtype }
      for k, v in pairs(extra or {}) do c[k] = v end
      cases:add(c)
    end
  end
  act('SELU', function() return nn.SELU() end, 'nn.SELU()')
  act('SELU inplace on a non-leaf', function() return nn.SELU(true) end, 'nn.SELU(inplace=True)', randn(3, 4),
      { call = function(m, x) return m(x * 1) end, py_call = 'm(x1 * 1)' })
  act('CELU(0.5)', function() return nn.CELU(0.5) end, 'nn.CELU(0.5)')
  act('CELU()', function() return nn.CELU() end, 'nn.CELU()')
  act('GLU() (the last dim)', function() return nn.GLU() end, 'nn.GLU()', randn(3, 4, 6))
  act('GLU(2) (PyTorch dim=1)', function() return nn.GLU(2) end, 'nn.GLU(1)', randn(3, 4, 5))
  act('Hardshrink(0.3)', function() return nn.Hardshrink(0.3) end, 'nn.Hardshrink(0.3)')
  act('Hardshrink()', function() return nn.Hardshrink() end, 'nn.Hardshrink()')
  act('Softshrink(0.7)', function() return nn.Softshrink({ lambd = 0.7 }) end, 'nn.Softshrink(0.7)')
  act('Tanhshrink', function() return nn.Tanhshrink() end, 'nn.Tanhshrink()')
  act('Threshold(0.1, 20)', function() return nn.Threshold(0.1, 20) end, 'nn.Threshold(0.1, 20.0)')
  act('RReLU in evaluation (the mean slope)', function() return nn.RReLU(0.1, 0.3) end, 'nn.RReLU(0.1, 0.3)', nil,
      { train = false })
  act('Softmax2d on [N x C x H x W]', function() return nn.Softmax2d() end, 'nn.Softmax2d()', randn(2, 3, 4, 2))
  act('Softmax2d on [C x H x W]', function() return nn.Softmax2d() end, 'nn.Softmax2d()', randn(3, 2, 4))
  cases:add { name = 'F.threshold inplace, F.celu inplace (options tables)', build = function()
                return Fn(function(x)
                  return F.threshold(x * 1, { threshold = 0.2, value = -1, inplace = true }),
                         F.celu(x * 1, { alpha = 2, inplace = true })
                end) end,
              py_setup = PY_FN,
              py = 'Fn(lambda x: (F.threshold(x * 1, 0.2, -1.0, inplace=True), F.celu(x * 1, 2.0, inplace=True)))',
              inputs = { randn(4, 3) } }
  for _, input in ipairs({ { '0-d', randn({}) }, { 'empty', randn(0, 3) } }) do
    cases:add { name = 'the activations of a ' .. input[1] .. ' input', build = function()
                  return Fn(function(x)
                    return F.selu(x), F.celu(x, 0.5), F.hardshrink(x, 0.1), F.softshrink(x, 0.1), F.tanhshrink(x),
                           F.threshold(x, 0, 3), F.rrelu(x)
                  end) end,
                py_setup = PY_FN, py = [[Fn(lambda x: (F.selu(x), F.celu(x, 0.5), F.hardshrink(x, 0.1),
    F.softshrink(x, 0.1), F.tanhshrink(x), F.threshold(x, 0.0, 3.0), F.rrelu(x)))]], inputs = { input[2] } }
  end
  -- (celu overflowed to inf for x > alpha * the float32 max, and gave x for x < 0 when alpha < 0)
  cases:add { name = 'F.celu of large values and with a negative alpha', build = function()
                return Fn(function(x) return F.celu(x, 0.01), F.celu(x, -0.5) end) end,
              py_setup = PY_FN, py = 'Fn(lambda x: (F.celu(x, 0.01), F.celu(x, -0.5)))',
              inputs = { torch.tensor({ 1e38, 3e36, 5, -1, -3, 0.25 }) } }
  -- (hardshrink turned NaN into 0)
  cases:add { name = 'F.hardshrink and F.threshold of NaN and infinities', build = function()
                return Fn(function(x) return F.hardshrink(x, 0.5), F.threshold(x, 0.1, 20) end) end,
              py_setup = PY_FN, py = 'Fn(lambda x: (F.hardshrink(x, 0.5), F.threshold(x, 0.1, 20.0)))',
              inputs = { torch.tensor({ 0 / 0, math.huge, -math.huge, 0.25, -0.75 }, { dtype = 'float64' }) } }
  -- the in-place forms on a non-leaf (x * 1), positional and with options tables, and PyTorch's torch.* spellings
  cases:add { name = 'F.relu_ .. F.rrelu_ and torch.selu_ .. torch.threshold_ in place', build = function()
                return Fn(function(x)
                  return F.relu_(x * 1), F.elu_(x * 1, 0.5), F.leaky_relu_(x * 1, { negative_slope = 0.2 }),
                         F.hardtanh_(x * 1, -0.5, 0.25), F.selu_(x * 1), F.celu_(x * 1, 2), F.threshold_(x * 1, 0.1, -3),
                         F.rrelu_(x * 1, 0.1, 0.3), torch.selu_(x * 1), torch.celu_(x * 1, 0.5),
                         torch.threshold_(x * 1, 0.2, 5), torch.rrelu_(x * 1), F.hardtanh(x * 1, { min_val = -0.1 }),
                         x:hardshrink(0.3), x:prelu(torch.tensor({ 0.25 }, { dtype = x:dtype() }))
                end) end,
              py_setup = PY_FN, py = [[Fn(lambda x: (F.relu_(x * 1), F.elu_(x * 1, 0.5), F.leaky_relu_(x * 1, 0.2),
    F.hardtanh_(x * 1, -0.5, 0.25), F.selu_(x * 1), F.celu_(x * 1, 2.0), F.threshold_(x * 1, 0.1, -3.0),
    F.rrelu_(x * 1, 0.1, 0.3), torch.selu_(x * 1), torch.celu_(x * 1, 0.5), torch.threshold_(x * 1, 0.2, 5.0),
    torch.rrelu_(x * 1), F.hardtanh(x * 1, min_val=-0.1), x.hardshrink(0.3),
    x.prelu(torch.tensor([0.25], dtype=x.dtype))))]], inputs = { randn(4, 3) } }
  cases:add { name = 'F.glu with a negative dim', build = function() return Fn(function(x) return F.glu(x, -2) end) end,
              py_setup = PY_FN, py = 'Fn(lambda x: F.glu(x, -2))', inputs = { randn(2, 6, 3) } }
  cases:add { name = 'F.rrelu (not training) and F.glu on a transposed input', build = function()
                return Fn(function(x) return F.rrelu(x, 0.2, 0.4), F.glu(x:t(), 1) end) end,
              py_setup = PY_FN, py = 'Fn(lambda x: (F.rrelu(x, 0.2, 0.4), F.glu(x.t(), 0)))', inputs = { randn(3, 4) } }
  cases:run()
end)

describe('padding modules match PyTorch', function()
  local cases = nnref.new()
  local function pad(name, build, py, x)
    cases:add { name = name, build = build, py = py, inputs = { x } }
  end
  pad('ZeroPad2d(2)', function() return nn.ZeroPad2d(2) end, 'nn.ZeroPad2d(2)', randn(2, 3, 4, 5))
  pad('ZeroPad2d {1, 0, 2, -1} (a crop)', function() return nn.ZeroPad2d({ 1, 0, 2, -1 }) end,
      'nn.ZeroPad2d((1, 0, 2, -1))', randn(1, 2, 4, 3))
  pad('ConstantPad1d(2, 3.5)', function() return nn.ConstantPad1d(2, 3.5) end, 'nn.ConstantPad1d(2, 3.5)', randn(2, 3, 4))
  pad('ConstantPad1d {3, 1} on a 1-d input', function() return nn.ConstantPad1d({ 3, 1 }, -1) end,
      'nn.ConstantPad1d((3, 1), -1.0)', randn(4))
  pad('ConstantPad2d {1, 2, 0, 3} from a table', function()
        return nn.ConstantPad2d({ padding = { 1, 2, 0, 3 }, value = 0.5 }) end,
      'nn.ConstantPad2d((1, 2, 0, 3), 0.5)', randn(2, 3, 3))
  pad('ConstantPad3d(1, 2)', function() return nn.ConstantPad3d(1, 2) end, 'nn.ConstantPad3d(1, 2.0)', randn(1, 2, 2, 3, 2))
  pad('ReflectionPad1d {2, 1}', function() return nn.ReflectionPad1d({ 2, 1 }) end, 'nn.ReflectionPad1d((2, 1))',
      randn(2, 3, 5))
  pad('ReflectionPad1d(2) unbatched', function() return nn.ReflectionPad1d(2) end, 'nn.ReflectionPad1d(2)', randn(3, 4))
  pad('ReflectionPad2d {1, 2, 0, 1}', function() return nn.ReflectionPad2d({ 1, 2, 0, 1 }) end,
      'nn.ReflectionPad2d((1, 2, 0, 1))', randn(2, 2, 3, 4))
  pad('ReflectionPad3d(1)', function() return nn.ReflectionPad3d(1) end, 'nn.ReflectionPad3d(1)', randn(1, 2, 2, 3, 3))
  pad('ReplicationPad1d {3, 0}', function() return nn.ReplicationPad1d({ 3, 0 }) end, 'nn.ReplicationPad1d((3, 0))',
      randn(2, 2, 3))
  pad('ReplicationPad2d(2) unbatched', function() return nn.ReplicationPad2d(2) end, 'nn.ReplicationPad2d(2)',
      randn(2, 3, 2))
  pad('ReplicationPad3d {1, 0, 2, 1, 0, 1}', function() return nn.ReplicationPad3d({ 1, 0, 2, 1, 0, 1 }) end,
      'nn.ReplicationPad3d((1, 0, 2, 1, 0, 1))', randn(1, 2, 2, 2, 3))
  cases:add { name = 'ReflectionPad2d float32', dtype = 'float32', build = function() return nn.ReflectionPad2d(2) end,
              py = 'nn.ReflectionPad2d(2)', inputs = { randn(2, 3, 5, 4) } }
  cases:run()
end)

describe('Fold and Unfold match PyTorch', function()
  local cases = nnref.new()
  local function case(c) cases:add(c) end
  case { name = 'Unfold(2)', build = function() return nn.Unfold(2) end, py = 'nn.Unfold(2)', inputs = { randn(2, 3, 4, 5) } }
  case { name = 'Unfold kernel (2, 3), dilation (2, 1), padding 1, stride (1, 2)', build = function()
           return nn.Unfold({ 2, 3 }, { 2, 1 }, 1, { 1, 2 }) end,
         py = 'nn.Unfold((2, 3), (2, 1), 1, (1, 2))', inputs = { randn(2, 2, 5, 6) } }
  case { name = 'Unfold from a table, unbatched, float32', dtype = 'float32', build = function()
           return nn.Unfold({ kernel_size = 3, padding = 1, stride = 2 }) end,
         py = 'nn.Unfold(kernel_size=3, padding=1, stride=2)', inputs = { randn(3, 5, 4) } }
  case { name = 'Unfold of a transposed input', build = function() return nn.Unfold(2, { stride = 2 }) end,
         py = 'nn.Unfold(2, stride=2)', inputs = { randn(2, 3, 6, 4):transpose(3, 4) } }
  case { name = 'Fold(4, 2) (no overlap at stride 2)', build = function() return nn.Fold(4, 2, { stride = 2 }) end,
         py = 'nn.Fold(4, 2, stride=2)', inputs = { randn(2, 12, 4) } }
  case { name = 'Fold (5, 6), kernel 3, overlapping blocks', build = function() return nn.Fold({ 5, 6 }, 3) end,
         py = 'nn.Fold((5, 6), 3)', inputs = { randn(2, 18, 12) } }
  case { name = 'Fold kernel (2, 3), dilation (1, 2), padding (1, 2), stride (2, 1)', build = function()
           return nn.Fold({ 4, 5 }, { 2, 3 }, { 1, 2 }, { 1, 2 }, { 2, 1 }) end,
         py = 'nn.Fold((4, 5), (2, 3), (1, 2), (1, 2), (2, 1))', inputs = { randn(1, 12, 15) } }
  case { name = 'Fold unbatched, float32', dtype = 'float32', build = function()
           return nn.Fold({ output_size = 3, kernel_size = 2 }) end,
         py = 'nn.Fold(output_size=3, kernel_size=2)', inputs = { randn(8, 4) } }
  cases:run()
end)

describe('dropout in evaluation, distances and parameter containers match PyTorch', function()
  local cases = nnref.new()
  local function case(c) cases:add(c) end
  case { name = 'Dropout1d in evaluation is the identity', train = false, build = function() return nn.Dropout1d(0.4) end,
         py = 'nn.Dropout1d(0.4)', inputs = { randn(2, 3, 4) } }
  case { name = 'AlphaDropout in evaluation is the identity', train = false,
         build = function() return nn.AlphaDropout(0.4) end, py = 'nn.AlphaDropout(0.4)', inputs = { randn(2, 3, 4) } }
  case { name = 'CosineSimilarity() (dim 2)', build = function() return nn.CosineSimilarity() end,
         py = 'nn.CosineSimilarity()', inputs = { randn(4, 5), randn(4, 5) } }
  case { name = 'CosineSimilarity(1, 1e-6)', build = function() return nn.CosineSimilarity(1, 1e-6) end,
         py = 'nn.CosineSimilarity(0, 1e-6)', inputs = { randn(4, 3), randn(4, 3) } }
  case { name = 'PairwiseDistance()', build = function() return nn.PairwiseDistance() end,
         py = 'nn.PairwiseDistance()', inputs = { randn(5, 4), randn(5, 4) } }
  case { name = 'PairwiseDistance p=1, keepdim, broadcast', build = function()
           return nn.PairwiseDistance({ p = 1, keepdim = true }) end,
         py = 'nn.PairwiseDistance(p=1.0, keepdim=True)', inputs = { randn(5, 4), randn(1, 4) } }
  case { name = 'PairwiseDistance p=3, eps 0.1, float32', dtype = 'float32', build = function()
           return nn.PairwiseDistance(3, 0.1) end,
         py = 'nn.PairwiseDistance(3.0, 0.1)', inputs = { randn(2, 3, 4), randn(2, 3, 4) } }
  case { name = 'PairwiseDistance p=inf on 1-d inputs', build = function() return nn.PairwiseDistance(math.huge) end,
         py = "nn.PairwiseDistance(float('inf'))", inputs = { randn(6), randn(6) } }
  for _, p in ipairs({ 2, 1, 3, 0.5 }) do
    case { name = 'F.pdist p=' .. p, build = function() return Fn(function(x) return F.pdist(x, p) end) end,
           py_setup = PY_FN, py = ('Fn(lambda x: F.pdist(x, %s))'):format(p), inputs = { randn(5, 3) } }
  end
  case { name = 'F.pdist p=inf, float32', dtype = 'float32',
         build = function() return Fn(function(x) return F.pdist(x, { p = math.huge }) end) end,
         py_setup = PY_FN, py = "Fn(lambda x: F.pdist(x, float('inf')))", inputs = { randn(4, 6) } }

  -- a model holding a ParameterList and a ParameterDict: names, order, gradients
  local Holder = nn.Module:extend('Holder')
  function Holder:init()
    self.list = nn.ParameterList({ randn(4, 3), randn(3) })
    self.list:append(nn.Parameter(randn(3)))
    self.dict = nn.ParameterDict({ scale = randn(3), shift = randn(1) })
  end
  function Holder:forward(x)
    local y = x:matmul(self.list[1]) + self.list[2]
    return (y * self.dict.scale + self.dict:get('shift')) * self.list:get(-1)
  end
  case { name = 'ParameterList and ParameterDict in a model', build = function() return Holder() end, py_setup = [[
class Holder(nn.Module):
    def __init__(self):
        super().__init__()
        self.list = nn.ParameterList([nn.Parameter(torch.zeros(4, 3)), nn.Parameter(torch.zeros(3))])
        self.list.append(nn.Parameter(torch.zeros(3)))
        self.dict = nn.ParameterDict({'scale': nn.Parameter(torch.zeros(3)), 'shift': nn.Parameter(torch.zeros(1))})
    def forward(self, x):
        return ((x @ self.list[0] + self.list[1]) * self.dict['scale'] + self.dict['shift']) * self.list[-1]
]], py = 'Holder()', inputs = { randn(5, 4) } }
  cases:run()
end)

describe('gradients by finite differences', function()
  local gradcheck = torch.autograd.gradcheck
  local function R(...) return randn(...):double():requires_grad_() end
  it("nearest at an equal or double size with a scale_factor (where PyTorch's backward takes shortcuts)", function()
    assert.is_true(gradcheck(function(x) return F.interpolate(x, { scale_factor = { 2.1, 1.2 } }) end, { R(1, 2, 3, 4) }))
    assert.is_true(gradcheck(function(x) return F.interpolate(x, { scale_factor = 2.3 }) end, { R(1, 2, 2) }))
  end)
  it('bicubic at an equal size with a scale_factor (where PyTorch copies the gradient through)', function()
    assert.is_true(gradcheck(function(x) return F.interpolate(x, { scale_factor = 1.2, mode = 'bicubic' }) end,
                             { R(1, 1, 4, 4) }))
  end)
  it('fold, unfold, local_response_norm, instance_norm and gaussian_nll_loss', function()
    assert.is_true(gradcheck(function(x) return F.fold(x, { 4, 3 }, 2, { padding = 1 }) end, { R(1, 8, 20) }))
    assert.is_true(gradcheck(function(x) return F.unfold(x, 2, { dilation = 2 }) end, { R(1, 2, 4, 3) }))
    assert.is_true(gradcheck(function(x) return F.local_response_norm(x, 3, 0.5) end, { R(2, 4, 3) }))
    assert.is_true(gradcheck(function(x, w) return F.instance_norm(x, { weight = w }) end, { R(2, 3, 4), R(3) }))
    assert.is_true(gradcheck(function(x, v) return nn.F.gaussian_nll_loss(x, torch.zeros(3, { dtype = 'float64' }), v) end,
                             { R(3), (torch.rand(3, { dtype = 'float64' }) + 0.5):requires_grad_() }))
  end)
end)

describe('random layers', function()
  it('RReLU in training draws a slope per negative element within [lower, upper]; the gradient is that slope', function()
    local m = nn.RReLU(0.1, 0.3)
    local x = (-torch.rand(2000, { dtype = 'float64' }) - 0.5):requires_grad_()
    local y = m(x)
    local slopes = (y / x):detach()
    assert.is_true(slopes:min() >= 0.1 and slopes:max() <= 0.3)
    assert.is_true(math.abs(slopes:mean() - 0.2) < 0.01)
    assert.is_true(slopes:std() > 0.04) -- (uniform on [0.1, 0.3]: 0.058)
    y:sum():backward()
    assert.is_true((x.grad - slopes):abs():max() < 1e-12)
    local positive = torch.rand(10)
    assert.are.same(positive:tolist(), m(positive):tolist())
    m:eval()
    assert.is_true((m(x):detach() - x:detach() * 0.2):abs():max() < 1e-12)
  end)
  it('F.pdist of fewer than two rows is empty', function()
    assert.are.same({ 0 }, F.pdist(randn(1, 3)):shape())
    assert.are.same({ 0 }, F.pdist(randn(0, 3)):shape())
  end)
  it('F.rrelu is random only with training=true', function()
    local x = -torch.rand(100) - 0.1
    assert.is_true((F.rrelu(x) - x * (1 / 8 + 1 / 3) / 2):abs():max() < 1e-6)
    local y = F.rrelu(x, { training = true })
    assert.is_true(((y / x) - (1 / 8 + 1 / 3) / 2):abs():max() > 0.01)
  end)
  it('Dropout1d zeroes whole channels with probability p and scales the rest, and F.dropout1d in place', function()
    local p, N, C = 0.3, 40, 50
    local y = nn.Dropout1d(p)(torch.ones(N, C, 6))
    local per_channel = y:reshape(N * C, 6)
    assert.is_true(per_channel:amax(2):eq(per_channel:amin(2)):all())
    local dropped = per_channel:select(2, 1):eq(0):sum()
    local n = N * C
    assert.is_true(math.abs(dropped - n * p) < 5 * math.sqrt(n * p * (1 - p)), 'dropped channels: ' .. dropped)
    assert.is_true((per_channel:select(2, 1):masked_select(per_channel:select(2, 1):ne(0)) - 1 / (1 - p)):abs():max() < 1e-6)
    local u = nn.Dropout1d(0.5)(torch.ones(30, 4)) -- unbatched [C x L]
    assert.is_true(u:amax(2):eq(u:amin(2)):all())
    local z = torch.ones(8, 20, 3)
    assert.are.equal(z, F.dropout1d(z, 0.5, true, true))
    assert.is_true(z:eq(0):sum() > 0)
    local x = randn(2, 3, 4)
    assert.are.same(x:tolist(), F.dropout1d(x, 0.5, false):tolist())
  end)
  it('AlphaDropout keeps zero mean and unit variance; its gradient is the kept elements\' scale', function()
    local p = 0.2
    local x = randn(200000, { dtype = 'float64' }):requires_grad_()
    local y = nn.AlphaDropout(p)(x)
    local values = y:detach()
    assert.is_true(math.abs(values:mean()) < 0.02, 'mean ' .. values:mean())
    assert.is_true(math.abs(values:std() - 1) < 0.02, 'std ' .. values:std())
    local alpha = 1.7580993408473766
    local a = 1 / math.sqrt((alpha * alpha * p + 1) * (1 - p))
    local dropped_value = -alpha * a + alpha * a * p
    local dropped = values:sub(dropped_value):abs():lt(1e-12)
    assert.is_true(math.abs(dropped:double():mean() - p) < 0.01)
    y:sum():backward()
    assert.is_true((x.grad - dropped:logical_not():double() * a):abs():max() < 1e-12)
    local kept = dropped:logical_not()
    assert.is_true((values:masked_select(kept) - (x:detach():masked_select(kept) * a + alpha * a * p)):abs():max() < 1e-12)
    assert.are.same(x:detach():tolist(), F.alpha_dropout(x:detach(), 0.5):tolist()) -- (training defaults to false)
    assert.are.equal(0, F.alpha_dropout(randn(5), { p = 1, training = true }):abs():sum())
  end)
  it('Dropout3d zeroes whole channels of volumes; torch.dropout_ works in place', function()
    local p, N, C = 0.4, 30, 40
    local y = nn.Dropout3d(p)(torch.ones(N, C, 2, 3, 2))
    local per_channel = y:reshape(N * C, 12)
    assert.is_true(per_channel:amax(2):eq(per_channel:amin(2)):all())
    local dropped, n = per_channel:select(2, 1):eq(0):sum(), N * C
    assert.is_true(math.abs(dropped - n * p) < 5 * math.sqrt(n * p * (1 - p)), 'dropped channels: ' .. dropped)
    local kept = per_channel:select(2, 1):masked_select(per_channel:select(2, 1):ne(0))
    assert.is_true((kept - 1 / (1 - p)):abs():max() < 1e-6)
    local u = F.dropout3d(torch.ones(50, 2, 2, 2), 0.5) -- unbatched [C x D x H x W]
    assert.is_true(u:reshape(50, 8):amax(2):eq(u:reshape(50, 8):amin(2)):all())
    local t = torch.ones(4, 6, 2, 2, 2):transpose(1, 2) -- non-contiguous, in place
    assert.are.equal(t, F.dropout3d(t, 0.5, true, true))
    assert.is_true(t:eq(0):sum() > 0 and t:eq(2):sum() > 0 and t:eq(0):logical_or(t:eq(2)):all())
    assert.are.same(t:tolist(), nn.Dropout3d():eval()(t):tolist())
    local z = torch.ones(100)
    assert.are.equal(z, torch.dropout_(z, 0.5, true))
    assert.is_true(z:eq(0):logical_or(z:eq(2)):all() and z:eq(0):sum() > 0)
  end)
  it('FeatureAlphaDropout drops whole channels to the saturation value, as AlphaDropout per element', function()
    local p, N, C = 0.25, 20, 30
    local x = randn(N, C, 5, { dtype = 'float64' })
    local y = nn.FeatureAlphaDropout(p)(x)
    local alpha = 1.7580993408473766
    local a = 1 / math.sqrt((alpha * alpha * p + 1) * (1 - p))
    local dropped_value = -alpha * a + alpha * a * p
    local is_dropped = y:sub(dropped_value):abs():lt(1e-12)
    -- a channel is dropped whole or kept whole, and kept ones are a * x + alpha * a * p
    assert.is_true(is_dropped:all(3):eq(is_dropped:any(3)):all())
    local kept = is_dropped:logical_not()
    assert.is_true((y:masked_select(kept) - (x:masked_select(kept) * a + alpha * a * p)):abs():max() < 1e-12)
    local channels = is_dropped:all(3):double():sum()
    assert.is_true(math.abs(channels - N * C * p) < 5 * math.sqrt(N * C * p * (1 - p)), 'dropped: ' .. channels)
    assert.are.same(x:tolist(), F.feature_alpha_dropout(x, 0.5):tolist()) -- (training defaults to false)
    assert.are.same(x:tolist(), nn.FeatureAlphaDropout(0.5):eval()(x):tolist())
    local z = x:clone()
    assert.are.equal(z, torch.feature_alpha_dropout_(z, 0.5, true))
    assert.is_true(z:ne(x):any())
  end)
  it('F.gumbel_softmax is softmax((logits + Gumbel noise) / tau), and hard one-hot with the soft gradient', function()
    local logits = randn(4, 5, { dtype = 'float64' }):requires_grad_()
    torch.manual_seed(7)
    local y = F.gumbel_softmax(logits, { tau = 0.5 })
    torch.manual_seed(7)
    local g = -torch.empty(4, 5, { dtype = 'float64' }):exponential_():log()
    local expected = F.softmax((logits:detach() + g) / 0.5, -1)
    assert.is_true((y:detach() - expected):abs():max() < 1e-12)
    torch.manual_seed(7)
    local hard = F.gumbel_softmax(logits, 0.5, true)
    local _, index = expected:max(2, true)
    assert.are.same(torch.zeros(4, 5, { dtype = 'float64' }):scatter(2, index, 1):tolist(), hard:detach():tolist())
    local w = randn(4, 5, { dtype = 'float64' })
    local gh = torch.autograd.grad({ (hard * w):sum() }, { logits })[1]
    torch.manual_seed(7)
    local soft = F.gumbel_softmax(logits, 0.5)
    local gs = torch.autograd.grad({ (soft * w):sum() }, { logits })[1]
    assert.is_true((gh - gs):abs():max() < 1e-12)
  end)
  it('F.gumbel_softmax hard samples follow softmax(logits) (the Gumbel-max trick), along dim 1', function()
    local logits = torch.tensor({ { 1.0 }, { 0.0 }, { -1.0 } }, { dtype = 'float64' })
    local n = 4000
    local counts = F.gumbel_softmax(logits:expand(3, n), { hard = true, dim = 1 }):sum(2)
    local probs = F.softmax(logits:view(3), 1)
    for i = 1, 3 do
      local pi = probs[i]
      assert.is_true(math.abs(counts[i] / n - pi) < 5 * math.sqrt(pi * (1 - pi) / n), 'class ' .. i)
    end
  end)
end)

describe('parameter containers', function()
  it('register their parameters: parameters(), state_dict names, :to(), indexing', function()
    local a, b = randn(2, 3), nn.Parameter(randn(3))
    local list = nn.ParameterList({ a, b })
    assert.are.equal(2, #list)
    assert.are.equal(2, list:size())
    assert.is_true(list[1].requires_grad)
    assert.are.equal(b, list[2])
    assert.are.equal(b, list:get(-1))
    local keys = {}
    for _, e in ipairs(list:state_dict_keys()) do keys[#keys + 1] = e[1] end
    assert.are.same({ '0', '1' }, keys)
    local c = randn(4)
    list:set(1, c)
    assert.are.same(c:tolist(), list[1]:tolist())
    keys = {}
    for name in list:named_parameters() do keys[#keys + 1] = name end
    assert.are.same({ '0', '1' }, keys)
    list:extend({ randn(1) })
    assert.are.equal(3, #list:parameters())
    local seen = 0
    for i, p in list:ipairs() do seen = seen + 1 assert.are.equal(list[i], p) end
    assert.are.equal(3, seen)
    list:to('float64')
    assert.are.equal('float64', list[1]:dtype())
    assert.are.equal(list[1], list:parameters()[1]) -- converted in place: the same objects

    local dict = nn.ParameterDict({ w = randn(2), b = randn(1) })
    assert.are.same({ 'b', 'w' }, dict:keys())
    dict.extra = randn(3) -- a plain tensor becomes a parameter
    assert.is_true(nn.is_parameter(dict.extra))
    dict:set('w', randn(5))
    assert.are.same({ 'b', 'w', 'extra' }, dict:keys())
    assert.are.equal(5, dict:get('w'):numel())
    assert.are.equal(3, #dict:parameters())
    dict:double()
    assert.are.equal('float64', dict.w:dtype())
    local net = nn.Module()
    net.params = dict
    local names = {}
    for name in pairs(net:state_dict()) do names[#names + 1] = name end
    table.sort(names)
    assert.are.same({ 'params.b', 'params.extra', 'params.w' }, names)
    assert.matches('%(w%): Parameter containing: %[torch%.float64 of size 5%]', tostring(dict))
  end)
  it('refuse what is not a tensor', function()
    assert.matches('ParameterList', message(function() nn.ParameterList({ 3 }) end))
    assert.matches('ParameterList:set: index 5', message(function() nn.ParameterList({ randn(2) }):set(5, randn(1)) end))
    assert.matches('ParameterDict', message(function() nn.ParameterDict({ a = 'x' }) end))
    assert.has_error(function() nn.ParameterList({ randn(2) })() end)
  end)
end)

describe('constructor options', function()
  it('may be positional followed by a table of the rest, dtype and device included', function()
    local cell = nn.LSTMCell(3, 4, false, { dtype = 'float64' })
    assert.are.equal('float64', cell.weight_ih:dtype())
    assert.is_nil(cell.bias_ih)
    local norm = nn.InstanceNorm1d(3, 1e-3, { affine = true, track_running_stats = true, dtype = 'float64' })
    assert.are.equal(1e-3, norm.eps)
    assert.are.equal('float64', norm.weight:dtype())
    assert.are.equal('float64', norm.running_mean:dtype())
    assert.matches('LSTMCell', message(function() nn.LSTMCell(3, 4, false, { bais = true }) end))
    assert.matches('GRUCell.*at most 1', message(function() nn.GRUCell(3, 4, false, 'tanh', {}) end))
  end)
end)

describe('module printing', function()
  it('follows PyTorch', function()
    assert.are.equal('Upsample(scale_factor=2.0, mode=nearest)', tostring(nn.Upsample({ scale_factor = 2 })))
    assert.are.equal('Upsample(size=(3, 4), mode=bilinear)', tostring(nn.Upsample({ 3, 4 }, nil, 'bilinear')))
    assert.are.equal('PixelShuffle(upscale_factor=2)', tostring(nn.PixelShuffle(2)))
    assert.are.equal('RNNCell(3, 4, nonlinearity=relu)', tostring(nn.RNNCell(3, 4, { nonlinearity = 'relu' })))
    assert.are.equal('LSTMCell(3, 4, bias=False)', tostring(nn.LSTMCell(3, 4, false)))
    assert.are.equal('InstanceNorm2d(3, eps=1e-05, momentum=0.1, affine=True, track_running_stats=False)',
                     tostring(nn.InstanceNorm2d(3, { affine = true })))
    assert.are.equal('LocalResponseNorm(3, alpha=0.0001, beta=0.75, k=1.0)', tostring(nn.LocalResponseNorm(3)))
    assert.are.equal('CELU(alpha=0.5)', tostring(nn.CELU(0.5)))
    assert.are.equal('Threshold(threshold=0.1, value=2.0)', tostring(nn.Threshold(0.1, 2)))
    assert.are.equal('ZeroPad2d((1, 1, 1, 1))', tostring(nn.ZeroPad2d(1)))
    assert.are.equal('ConstantPad1d(padding=(2, 2), value=3.5)', tostring(nn.ConstantPad1d(2, 3.5)))
    assert.are.equal('ReflectionPad2d((1, 2, 3, 4))', tostring(nn.ReflectionPad2d({ 1, 2, 3, 4 })))
    assert.are.equal('Fold(output_size=4, kernel_size=2, dilation=1, padding=0, stride=1)', tostring(nn.Fold(4, 2)))
    assert.are.equal('Dropout1d(p=0.3, inplace=False)', tostring(nn.Dropout1d(0.3)))
  end)
end)

describe('bad input to the further layers', function()
  local fails = require('helpers.failure').containing
  it('names the layer and the input for the new dropouts', function()
    fails(function() F.dropout3d(randn(2, 3, 4), 0.5) end, 'F.dropout3d', '4-d')
    fails(function() F.dropout3d(randn(2, 3, 4, 5, 6), 1.5) end, 'F.dropout3d', '1.5')
    fails(function() F.feature_alpha_dropout(randn(5), 0.5, true) end, 'F.feature_alpha_dropout', 'at least 2 dims')
    fails(function() nn.Dropout3d(-0.1) end, 'Dropout3d', '-0.1')
  end)
  it('F.interpolate', function()
    local x = randn(1, 2, 3, 4)
    fails(function() F.interpolate(x) end, 'F.interpolate', 'size', 'scale_factor')
    fails(function() F.interpolate(x, { size = 2, scale_factor = 2 }) end, 'F.interpolate', 'exactly one')
    fails(function() F.interpolate(x, { size = { 2, 3, 4 } }) end, 'F.interpolate', 'size', '2', '3')
    fails(function() F.interpolate(x, { size = 2, mode = 'linear' }) end, "'linear'", '3-d', '[1 x 2 x 3 x 4]')
    fails(function() F.interpolate(randn(2, 3), { size = 2 }) end, 'F.interpolate', '[2 x 3]')
    fails(function() F.interpolate(x, { size = 2, mode = 'cubic' }) end, 'F.interpolate', 'cubic')
    fails(function() F.interpolate(x, { size = 2, align_corners = true }) end, 'F.interpolate', 'align_corners')
    fails(function() F.interpolate(x, { scale_factor = 0.1 }) end, 'F.interpolate', 'positive')
    fails(function() F.interpolate(x, { scale_factor = -1 }) end, 'F.interpolate', 'scale_factor')
    fails(function() F.interpolate(x, { size = 0 }) end, 'F.interpolate', 'size')
    fails(function() F.interpolate(x, { size = 2, recompute_scale_factor = true }) end, 'recompute_scale_factor')
    fails(function() F.interpolate(x, { size = 2, antialias = true, mode = 'bilinear' }) end, 'antialias')
    fails(function() F.interpolate(x:long(), { size = 2, mode = 'bilinear' }) end, 'floating', 'int64')
    fails(function() F.interpolate(x, { sise = 2 }) end, 'F.interpolate', 'sise')
    fails(function() nn.Upsample({ scale = 2 }) end, 'Upsample', 'scale')
  end)
  it('pixel and channel shuffles', function()
    fails(function() F.pixel_shuffle(randn(1, 6, 2, 2), 2) end, 'F.pixel_shuffle', '[1 x 6 x 2 x 2]', '4')
    fails(function() F.pixel_shuffle(randn(4, 2), 2) end, 'F.pixel_shuffle', '3 dims')
    fails(function() F.pixel_shuffle(randn(1, 4, 2, 2), 0) end, 'upscale_factor', '0')
    fails(function() F.pixel_unshuffle(randn(1, 1, 3, 4), 2) end, 'F.pixel_unshuffle', '[1 x 1 x 3 x 4]')
    fails(function() F.channel_shuffle(randn(1, 5, 2), 2) end, 'F.channel_shuffle', '5', '2')
    fails(function() nn.ChannelShuffle(1.5) end, 'ChannelShuffle', 'groups')
  end)
  it('recurrent cells', function()
    local cell = nn.LSTMCell(3, 4)
    fails(function() cell(randn(2, 5)) end, 'LSTMCell', '[N x 3]', '[2 x 5]')
    fails(function() cell(randn(2, 3), { randn(2, 4), randn(3, 4) }) end, 'LSTMCell', 'cell state', '[2 x 4]', '[3 x 4]')
    fails(function() cell(randn(2, 3), randn(2, 4)) end, 'LSTMCell', '{h, c}')
    fails(function() nn.GRUCell(3, 4)(randn(2, 3), randn(2, 5)) end, 'GRUCell', '[2 x 4]', '[2 x 5]')
    fails(function() nn.RNNCell(3, 4)(randn(2, 2, 3)) end, 'RNNCell', '[2 x 2 x 3]')
    fails(function() nn.RNNCell(3, 4, true, 'sigmoid') end, 'RNNCell', 'sigmoid')
    fails(function() nn.GRUCell(3, 4, { nonlinearity = 'relu' }) end, 'GRUCell', 'nonlinearity')
    fails(function() nn.RNNCell(0, 4) end, 'RNNCell', 'input_size')
  end)
  it('normalisation', function()
    fails(function() nn.InstanceNorm1d(3)(randn(2, 3, 4, 5)) end, 'InstanceNorm1d', '[2 x 3 x 4 x 5]')
    fails(function() nn.InstanceNorm2d(3, { affine = true })(randn(2, 4, 3, 3)) end, 'InstanceNorm2d', '3 channels',
          '[2 x 4 x 3 x 3]')
    fails(function() nn.InstanceNorm1d(3)(randn(2, 3, 1)) end, 'instance_norm', 'more than 1 spatial element')
    fails(function() F.instance_norm(randn(2, 3, 4), { weight = torch.ones(4) }) end, 'F.instance_norm', 'weight', '3')
    fails(function() F.local_response_norm(randn(2, 3), 2) end, 'F.local_response_norm', '[2 x 3]')
    fails(function() nn.LocalResponseNorm(0) end, 'LocalResponseNorm', 'size')
  end)
  it('activations', function()
    fails(function() F.glu(randn(2, 3)) end, 'F.glu', 'even', '3')
    fails(function() F.glu(randn(2, 4), 3) end, 'F.glu', 'dim 3')
    fails(function() F.celu(randn(2), 0) end, 'F.celu', 'alpha')
    fails(function() F.softshrink(randn(2), -1) end, 'F.softshrink', 'lambd')
    fails(function() nn.Threshold(0.5) end, 'Threshold', 'value')
    fails(function() nn.RReLU(0.5, 0.1) end, 'RReLU', 'lower')
    fails(function() nn.Softmax2d()(randn(3, 4)) end, 'Softmax2d', '[3 x 4]')
    fails(function() nn.SELU({ inplce = true }) end, 'SELU', 'inplce')
  end)
  it('padding', function()
    fails(function() nn.ReflectionPad2d(1)(randn(3, 4)) end, 'ReflectionPad2d', '[3 x 4]')
    fails(function() nn.ReflectionPad1d(3)(randn(1, 2, 3)) end, 'F.pad', 'reflect')
    fails(function() nn.ZeroPad2d({ 1, 2, 3 }) end, 'ZeroPad2d', '4 numbers')
    fails(function() nn.ConstantPad1d(2) end, 'ConstantPad1d', 'value')
    fails(function() nn.ReplicationPad1d(1.5) end, 'ReplicationPad1d', 'integers')
  end)
  it('Fold and Unfold', function()
    fails(function() F.unfold(randn(2, 3, 4), 5) end, 'F.unfold', 'blocks')
    fails(function() F.unfold(randn(2, 3), 2) end, 'F.unfold', '[2 x 3]')
    fails(function() F.unfold(randn(1, 1, 4, 4), { 2, 2, 2 }) end, 'F.unfold', 'kernel_size')
    fails(function() F.unfold(randn(1, 1, 4, 4), 2, { stride = 0 }) end, 'F.unfold', 'stride')
    fails(function() F.fold(randn(1, 5, 9), 4, 2) end, 'F.fold', '5', '2 x 2')
    fails(function() F.fold(randn(1, 8, 8), 4, 2) end, 'F.fold', '9 blocks', '8')
    fails(function() nn.Fold(4) end, 'Fold', 'kernel_size')
  end)
  it('dropout and distances', function()
    fails(function() nn.Dropout1d()(randn(2, 3, 4, 5)) end, 'F.dropout1d', '[2 x 3 x 4 x 5]')
    fails(function() nn.AlphaDropout(1.5) end, 'AlphaDropout', 'probability')
    fails(function() F.pairwise_distance(randn(3, 4), randn(3, 5)) end, 'F.pairwise_distance', '[3 x 4]', '[3 x 5]')
    fails(function() F.pdist(randn(3, 4, 5)) end, 'F.pdist', '[3 x 4 x 5]')
    fails(function() F.pdist(torch.ones(3, 2, { dtype = 'int64' })) end, 'F.pdist', 'floating')
    fails(function() F.pdist(randn(3, 4), -1) end, 'F.pdist', 'p')
  end)
end)
