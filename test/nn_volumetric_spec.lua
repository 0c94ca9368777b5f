-- The volumetric (3-d) convolutions and pooling against PyTorch 1.13: the modules (Conv3d, ConvTranspose3d,
-- MaxPool3d, AvgPool3d, AdaptiveAvgPool3d, AdaptiveMaxPool3d, BatchNorm3d, InstanceNorm3d) with the same weights,
-- outputs and input/parameter gradients (helpers.nnref); the functional forms with their indices (1-based here
-- into the flattened D x H x W volume), on non-contiguous inputs too; float32 and float64; finite differences
-- (gradcheck) in float64 for every new kernel; the 16-bit path; and the errors bad input raises.
local torch = require 'tensor'
local nn = require 'tensor.nn'
local F = nn.F
local ref = require 'helpers.torchref'
local nnref = require 'helpers.nnref'

torch.manual_seed(3303)

local randn = torch.randn

describe('3-d layers match PyTorch', function()
  local cases = nnref.new()
  local function case(c) cases:add(c) end
  -- each case in float64, and in float32 with a tolerance for its longer sums
  local function both(c)
    case(c)
    local c32 = {}
    for k, v in pairs(c) do c32[k] = v end
    c32.name, c32.dtype, c32.scale = c.name .. ', float32', 'float32', c.scale32 or 5
    case(c32)
  end

  -- ---- Conv3d ----
  both { name = 'Conv3d 3x3x3 padding 1', build = function() return nn.Conv3d(3, 4, 3, { padding = 1 }) end,
         py = 'nn.Conv3d(3, 4, 3, padding=1)', inputs = { randn(2, 3, 5, 6, 4) } }
  both { name = 'Conv3d stride 2, kernel (3,2,1), padding (1,0,0)', build = function()
           return nn.Conv3d(2, 5, { 3, 2, 1 }, { stride = 2, padding = { 1, 0, 0 } }) end,
         py = 'nn.Conv3d(2, 5, (3, 2, 1), stride=2, padding=(1, 0, 0))', inputs = { randn(2, 2, 7, 6, 5) } }
  both { name = 'Conv3d stride (1,2,3), dilation (2,1,2), groups 2, no bias', build = function()
           return nn.Conv3d(4, 6, { 2, 3, 2 }, { stride = { 1, 2, 3 }, dilation = { 2, 1, 2 }, groups = 2, bias = false })
         end, py = 'nn.Conv3d(4, 6, (2, 3, 2), stride=(1, 2, 3), dilation=(2, 1, 2), groups=2, bias=False)',
         inputs = { randn(2, 4, 6, 7, 9) } }
  both { name = 'Conv3d depthwise (groups = channels), positional options', build = function()
           return nn.Conv3d(3, 6, 2, 1, 1, 1, 3) end,
         py = 'nn.Conv3d(3, 6, 2, 1, 1, 1, 3)', inputs = { randn(1, 3, 4, 4, 4) } }
  both { name = "Conv3d padding 'same' with an even kernel and dilation 2", build = function()
           return nn.Conv3d(2, 3, { 2, 3, 4 }, { padding = 'same', dilation = { 2, 1, 1 } }) end,
         py = "nn.Conv3d(2, 3, (2, 3, 4), padding='same', dilation=(2, 1, 1))", inputs = { randn(2, 2, 5, 5, 6) } }
  both { name = "Conv3d padding 'valid'", build = function() return nn.Conv3d(2, 2, 3, { padding = 'valid' }) end,
         py = "nn.Conv3d(2, 2, 3, padding='valid')", inputs = { randn(1, 2, 4, 5, 3) } }
  for _, mode in ipairs({ 'reflect', 'replicate', 'circular' }) do
    case { name = 'Conv3d padding_mode ' .. mode, build = function()
             return nn.Conv3d(2, 3, { 3, 2, 3 }, { padding = { 1, 1, 2 }, padding_mode = mode }) end,
           py = ("nn.Conv3d(2, 3, (3, 2, 3), padding=(1, 1, 2), padding_mode='%s')"):format(mode),
           inputs = { randn(2, 2, 4, 5, 5) } }
  end
  both { name = 'Conv3d unbatched [C x D x H x W] input', build = function() return nn.Conv3d(2, 3, 2) end,
         py = 'nn.Conv3d(2, 3, 2)', inputs = { randn(2, 4, 5, 3) } }
  both { name = 'Conv3d batch 1, 1x1x1 kernel', build = function() return nn.Conv3d(5, 7, 1) end,
         py = 'nn.Conv3d(5, 7, 1)', inputs = { randn(1, 5, 3, 4, 2) } }
  both { name = 'Conv3d kernel as large as the padded input', build = function()
           return nn.Conv3d(2, 2, { 3, 4, 2 }, { padding = { 1, 0, 0 } }) end,
         py = 'nn.Conv3d(2, 2, (3, 4, 2), padding=(1, 0, 0))', inputs = { randn(3, 2, 1, 4, 2) } }
  -- a non-contiguous input (a permuted view)
  case { name = 'Conv3d on a non-contiguous input', build = function() return nn.Conv3d(3, 2, 2, { stride = 2 }) end,
         py = 'nn.Conv3d(3, 2, 2, stride=2)', inputs = { randn(2, 6, 5, 4, 3):permute(1, 5, 4, 3, 2) } }

  -- ---- ConvTranspose3d ----
  both { name = 'ConvTranspose3d stride 2, padding 1, output_padding 1', build = function()
           return nn.ConvTranspose3d(3, 4, 3, { stride = 2, padding = 1, output_padding = 1 }) end,
         py = 'nn.ConvTranspose3d(3, 4, 3, stride=2, padding=1, output_padding=1)', inputs = { randn(2, 3, 3, 4, 2) } }
  both { name = 'ConvTranspose3d kernel (2,3,1), stride (3,1,2), output_padding (2,0,1), groups 2, dilation (1,2,1)',
         build = function()
           return nn.ConvTranspose3d(4, 6, { 2, 3, 1 }, { stride = { 3, 1, 2 }, output_padding = { 2, 0, 1 }, groups = 2,
                                                          dilation = { 1, 2, 1 } }) end,
         py = 'nn.ConvTranspose3d(4, 6, (2, 3, 1), stride=(3, 1, 2), output_padding=(2, 0, 1), groups=2, dilation=(1, 2, 1))',
         inputs = { randn(2, 4, 3, 3, 4) } }
  both { name = 'ConvTranspose3d dilation 2, no bias, positional options', build = function()
           return nn.ConvTranspose3d(2, 3, 2, 1, 0, 0, 1, false, 2) end,
         py = 'nn.ConvTranspose3d(2, 3, 2, 1, 0, 0, 1, False, 2)', inputs = { randn(1, 2, 3, 2, 3) } }
  both { name = 'ConvTranspose3d unbatched input', build = function() return nn.ConvTranspose3d(2, 2, 3, { stride = 2 }) end,
         py = 'nn.ConvTranspose3d(2, 2, 3, stride=2)', inputs = { randn(2, 2, 3, 2) } }
  case { name = 'ConvTranspose3d forward(x, output_size)', build = function()
           return nn.ConvTranspose3d(2, 3, 3, { stride = 2, padding = 1 }) end,
         py = 'nn.ConvTranspose3d(2, 3, 3, stride=2, padding=1)', inputs = { randn(1, 2, 3, 4, 3) },
         call = function(m, x) return m(x, { 6, 8, 5 }) end, py_call = 'm(x1, output_size=(6, 8, 5))' }

  -- ---- pooling ----
  both { name = 'MaxPool3d 2', build = function() return nn.MaxPool3d(2) end, py = 'nn.MaxPool3d(2)',
         inputs = { randn(2, 3, 4, 6, 5) } }
  both { name = 'MaxPool3d kernel 3, stride 2, padding 1, ceil_mode', build = function()
           return nn.MaxPool3d(3, { stride = 2, padding = 1, ceil_mode = true }) end,
         py = 'nn.MaxPool3d(3, stride=2, padding=1, ceil_mode=True)', inputs = { randn(2, 2, 6, 7, 8) } }
  both { name = 'MaxPool3d kernel (2,3,2), stride (1,2,1), dilation (2,1,2), unbatched', build = function()
           return nn.MaxPool3d({ 2, 3, 2 }, { stride = { 1, 2, 1 }, dilation = { 2, 1, 2 } }) end,
         py = 'nn.MaxPool3d((2, 3, 2), stride=(1, 2, 1), dilation=(2, 1, 2))', inputs = { randn(3, 5, 7, 6) } }
  case { name = 'MaxPool3d return_indices (output compared)', build = function()
           return nn.MaxPool3d(2, { return_indices = true }) end,
         py = 'nn.MaxPool3d(2, return_indices=True)', inputs = { randn(1, 2, 4, 4, 4) },
         call = function(m, x) local y = m(x) return y end, py_call = 'm(x1)[0]' }
  -- rows wide enough for the vectorised columns, stride 1 and 2, with padding
  both { name = 'MaxPool3d wide rows, kernel 3, stride (2,1,1), padding 1', build = function()
           return nn.MaxPool3d(3, { stride = { 2, 1, 1 }, padding = 1 }) end,
         py = 'nn.MaxPool3d(3, stride=(2, 1, 1), padding=1)', inputs = { randn(1, 2, 5, 4, 70) } }
  both { name = 'MaxPool3d wide rows, kernel (2,2,3), stride 2, ceil_mode', build = function()
           return nn.MaxPool3d({ 2, 2, 3 }, { stride = 2, ceil_mode = true }) end,
         py = 'nn.MaxPool3d((2, 2, 3), stride=2, ceil_mode=True)', inputs = { randn(2, 1, 5, 5, 75) } }
  both { name = 'AvgPool3d 2', build = function() return nn.AvgPool3d(2) end, py = 'nn.AvgPool3d(2)',
         inputs = { randn(2, 3, 4, 6, 4) } }
  both { name = 'AvgPool3d kernel 3, stride 2, padding 1, ceil_mode (count_include_pad)', build = function()
           return nn.AvgPool3d(3, { stride = 2, padding = 1, ceil_mode = true }) end,
         py = 'nn.AvgPool3d(3, stride=2, padding=1, ceil_mode=True)', inputs = { randn(2, 2, 6, 7, 5) } }
  both { name = 'AvgPool3d kernel (2,3,2), stride (1,2,2), padding (1,1,0), count_include_pad=false', build = function()
           return nn.AvgPool3d({ 2, 3, 2 }, { stride = { 1, 2, 2 }, padding = { 1, 1, 0 }, count_include_pad = false,
                                              ceil_mode = true }) end,
         py = 'nn.AvgPool3d((2, 3, 2), stride=(1, 2, 2), padding=(1, 1, 0), count_include_pad=False, ceil_mode=True)',
         inputs = { randn(2, 2, 5, 6, 5) } }
  both { name = 'AvgPool3d divisor_override 5, unbatched', build = function()
           return nn.AvgPool3d(2, { stride = 1, divisor_override = 5 }) end,
         py = 'nn.AvgPool3d(2, stride=1, divisor_override=5)', inputs = { randn(2, 3, 4, 3) } }
  both { name = 'AdaptiveAvgPool3d (2,3,1) from 5x7x4', build = function() return nn.AdaptiveAvgPool3d({ 2, 3, 1 }) end,
         py = 'nn.AdaptiveAvgPool3d((2, 3, 1))', inputs = { randn(2, 3, 5, 7, 4) } }
  both { name = 'AdaptiveAvgPool3d larger than the input, a size kept (None), unbatched', build = function()
           return nn.AdaptiveAvgPool3d({ 4, false, 5 }) end,
         py = 'nn.AdaptiveAvgPool3d((4, None, 5))', inputs = { randn(2, 3, 4, 3) } }
  both { name = 'AdaptiveMaxPool3d 3 from 7x5x6', build = function() return nn.AdaptiveMaxPool3d(3) end,
         py = 'nn.AdaptiveMaxPool3d(3)', inputs = { randn(2, 2, 7, 5, 6) } }
  case { name = 'AdaptiveMaxPool3d (1,2,2) return_indices, unbatched (output compared)', build = function()
           return nn.AdaptiveMaxPool3d({ 1, 2, 2 }, true) end,
         py = 'nn.AdaptiveMaxPool3d((1, 2, 2), return_indices=True)', inputs = { randn(3, 4, 5, 4) },
         call = function(m, x) local y = m(x) return y end, py_call = 'm(x1)[0]' }

  -- ---- normalisation ----
  both { name = 'BatchNorm3d training', build = function() return nn.BatchNorm3d(3) end, py = 'nn.BatchNorm3d(3)',
         inputs = { randn(4, 3, 3, 4, 2) * 2 + 1 } }
  case { name = 'BatchNorm3d evaluation after training steps', train = false, build = function()
           local m = nn.BatchNorm3d(2, { momentum = 0.3 })
           torch.no_grad(function()
             for _ = 1, 3 do m(randn(3, 2, 2, 3, 4) * 3 - 1) end
           end)
           return m
         end, py = 'nn.BatchNorm3d(2, momentum=0.3)', inputs = { randn(2, 2, 3, 2, 2) } }
  both { name = 'BatchNorm3d without affine, momentum=None', build = function()
           return nn.BatchNorm3d(2, { affine = false, momentum = false }) end,
         py = 'nn.BatchNorm3d(2, affine=False, momentum=None)', inputs = { randn(3, 2, 2, 2, 3) } }
  both { name = 'InstanceNorm3d affine', build = function() return nn.InstanceNorm3d(3, { affine = true }) end,
         py = 'nn.InstanceNorm3d(3, affine=True)', inputs = { randn(2, 3, 3, 4, 2) } }

  -- ---- a small 3-d net ----
  case { name = 'Conv3d -> BatchNorm3d -> ReLU -> MaxPool3d -> ConvTranspose3d -> AdaptiveAvgPool3d', build = function()
           return nn.Sequential(nn.Conv3d(2, 4, 3, { padding = 1 }), nn.BatchNorm3d(4), nn.ReLU(), nn.MaxPool3d(2),
                                nn.ConvTranspose3d(4, 3, 2, { stride = 2 }), nn.AdaptiveAvgPool3d(2))
         end,
         py = 'nn.Sequential(nn.Conv3d(2, 4, 3, padding=1), nn.BatchNorm3d(4), nn.ReLU(), nn.MaxPool3d(2), ' ..
              'nn.ConvTranspose3d(4, 3, 2, stride=2), nn.AdaptiveAvgPool3d(2))',
         inputs = { randn(2, 2, 4, 6, 4) } }

  cases:run()
end)

-- ---- the functional forms, with indices; non-contiguous inputs ----

local DTYPES = { 'float32', 'float64' }
local function tol(dtype, scale)
  return dtype == 'float64' and { atol = 1e-11 * (scale or 1), rtol = 1e-9 * (scale or 1) }
    or { atol = 2e-5 * (scale or 1), rtol = 2e-4 * (scale or 1) }
end

describe('3-d functional forms match PyTorch', function()
  local list = {}
  -- lua(inputs) returns a table of results; python sets `out` to the same keys
  local function case(name, inputs, python, lua, scale)
    list[#list + 1] = { name = name, inputs = inputs, python = 'import torch.nn.functional as F\n' .. python, lua = lua,
                        scale = scale }
  end
  for _, dt in ipairs(DTYPES) do
    local function r(...) return torch.randn(...):to(dt) end
    -- conv3d on a permuted input, with its gradients
    local x = r(2, 5, 6, 4, 3):permute(1, 5, 4, 3, 2) -- [2 x 3 x 4 x 6 x 5], not contiguous
    local w, b = r(4, 3, 2, 3, 2), r(4)
    local opts = { stride = { 2, 1, 2 }, padding = { 1, 1, 0 }, dilation = { 1, 2, 1 } }
    local y = F.conv3d(x, w, b, opts)
    local g = r(unpack(y:shape()))
    case('F.conv3d, non-contiguous input, ' .. dt, { x = x, w = w, b = b, g = g }, [[
x.requires_grad_(); w.requires_grad_(); b.requires_grad_()
y = F.conv3d(x, w, b, stride=(2, 1, 2), padding=(1, 1, 0), dilation=(1, 2, 1))
y.backward(g)
out = {'y': y, 'gx': x.grad, 'gw': w.grad, 'gb': b.grad}]], function()
      local xx, ww, bb = x:detach():requires_grad_(), w:detach():requires_grad_(), b:detach():requires_grad_()
      local yy = F.conv3d(xx, ww, bb, opts)
      yy:backward(g)
      return { y = yy, gx = xx.grad, gw = ww.grad, gb = bb.grad }
    end, 20)
    -- unbatched conv3d and conv_transpose3d through F, options positional
    local xu, wu = r(2, 3, 4, 5), r(3, 2, 2, 2, 3)
    case('F.conv3d unbatched, positional options, ' .. dt, { x = xu, w = wu }, [[
out = {'y': F.conv3d(x, w, None, 1, 1, 1, 1)}]], function() return { y = F.conv3d(xu, wu, nil, 1, 1, 1, 1) } end, 20)
    local wt = r(2, 3, 2, 3, 2)
    case('F.conv_transpose3d unbatched, ' .. dt, { x = xu, w = wt }, [[
out = {'y': F.conv_transpose3d(x, w, None, stride=2, padding=(0, 1, 0), output_padding=1)}]], function()
      return { y = F.conv_transpose3d(xu, wt, nil, { stride = 2, padding = { 0, 1, 0 }, output_padding = 1 }) }
    end, 20)
    -- pooling with indices (PyTorch's 0-based, ours 1-based) on a non-contiguous input, with NaN and ties
    local xp = r(2, 3, 7, 6, 8):transpose(3, 5) -- [2 x 3 x 8 x 6 x 7]
    xp[{ 1, 2, 3, 2, 4 }] = 0 / 0
    local xt = torch.randint(-1, 2, { 2, 2, 5, 4, 6 }):to(dt) -- ties everywhere
    for _, c in ipairs({
      { 'max_pool3d k2', 2, {}, '2' },
      { 'max_pool3d k3 s2 p1 ceil_mode', 3, { stride = 2, padding = 1, ceil_mode = true },
        '3, stride=2, padding=1, ceil_mode=True' },
      { 'max_pool3d k (2,3,2) dilation (2,1,2) s1', { 2, 3, 2 }, { stride = 1, dilation = { 2, 1, 2 } },
        '(2, 3, 2), stride=1, dilation=(2, 1, 2)' },
      { 'max_pool3d k (1,2,3) s (1,1,2) p (0,1,1)', { 1, 2, 3 }, { stride = { 1, 1, 2 }, padding = { 0, 1, 1 } },
        '(1, 2, 3), stride=(1, 1, 2), padding=(0, 1, 1)' },
    }) do
      for _, input in ipairs({ { 'a non-contiguous input with a NaN', xp }, { 'ties', xt } }) do
        local t = input[2]
        local yy = F.max_pool3d(t, c[2], c[3])
        local gg = r(unpack(yy:shape()))
        case(('F.%s, %s, %s'):format(c[1], input[1], dt), { x = t, g = gg }, ([[
x.requires_grad_()
y, i = F.max_pool3d(x, %s, return_indices=True)
y.backward(g)
out = {'y': y, 'i': i + 1, 'gx': x.grad}]]):format(c[4]), function()
          local xx = t:detach():requires_grad_()
          local o = {}
          for k, v in pairs(c[3]) do o[k] = v end
          o.return_indices = true
          local y1, i1 = F.max_pool3d(xx, c[2], o)
          y1:backward(gg)
          return { y = y1, i = i1, gx = xx.grad }
        end)
      end
    end
    for _, c in ipairs({
      { 'avg_pool3d k3 s2 p1 ceil_mode, count_include_pad=false', 3,
        { stride = 2, padding = 1, ceil_mode = true, count_include_pad = false },
        '3, stride=2, padding=1, ceil_mode=True, count_include_pad=False' },
      { 'avg_pool3d k (3,2,2) s (2,1,1) p (1,1,0) divisor_override 4', { 3, 2, 2 },
        { stride = { 2, 1, 1 }, padding = { 1, 1, 0 }, divisor_override = 4 },
        '(3, 2, 2), stride=(2, 1, 1), padding=(1, 1, 0), divisor_override=4' },
    }) do
      local yy = F.avg_pool3d(xp, c[2], c[3])
      local gg = r(unpack(yy:shape()))
      case(('F.%s, non-contiguous, %s'):format(c[1], dt), { x = xp, g = gg }, ([[
x.requires_grad_()
y = F.avg_pool3d(x, %s)
y.backward(g)
out = {'y': y, 'gx': x.grad}]]):format(c[4]), function()
        local xx = xp:detach():requires_grad_()
        local y1 = F.avg_pool3d(xx, c[2], c[3])
        y1:backward(gg)
        return { y = y1, gx = xx.grad }
      end)
    end
    for _, c in ipairs({ { { 3, 2, 4 }, '(3, 2, 4)' }, { { 1, false, 9 }, '(1, None, 9)' } }) do
      local ya = F.adaptive_avg_pool3d(xp, c[1])
      local gg = r(unpack(ya:shape()))
      case('F.adaptive_avg_pool3d ' .. c[2] .. ', non-contiguous, ' .. dt, { x = xp, g = gg }, ([[
x.requires_grad_()
y = F.adaptive_avg_pool3d(x, %s)
y.backward(g)
out = {'y': y, 'gx': x.grad}]]):format(c[2]), function()
        local xx = xp:detach():requires_grad_()
        local y1 = F.adaptive_avg_pool3d(xx, c[1])
        y1:backward(gg)
        return { y = y1, gx = xx.grad }
      end)
      case('F.adaptive_max_pool3d ' .. c[2] .. ', non-contiguous, ' .. dt, { x = xp, g = gg }, ([[
x.requires_grad_()
y, i = F.adaptive_max_pool3d(x, %s, return_indices=True)
y.backward(g)
out = {'y': y, 'i': i + 1, 'gx': x.grad}]]):format(c[2]), function()
        local xx = xp:detach():requires_grad_()
        local y1, i1 = F.adaptive_max_pool3d(xx, c[1], true)
        y1:backward(gg)
        return { y = y1, i = i1, gx = xx.grad }
      end)
    end
  end

  local batch, ours = {}, {}
  for i, c in ipairs(list) do
    batch[i] = { code = c.python, inputs = c.inputs }
    local ok, r = pcall(c.lua)
    ours[i] = ok and r or { error = r }
  end
  local theirs = ref.batch(batch)
  for i, c in ipairs(list) do
    it(c.name, function()
      assert(ours[i].error == nil, tostring(ours[i].error))
      local expected = theirs[i]
      for k, e in pairs(expected) do
        local got = ours[i][k]
        assert(got ~= nil, 'no result ' .. k)
        local t = (k == 'i') and { atol = 0, rtol = 0 } or tol(got:dtype(), c.scale)
        local ok, msg = ref.compare(got, e, t)
        assert(ok, k .. ': ' .. tostring(msg))
      end
    end)
  end
end)

describe('3-d kernels: gradients by finite differences (float64)', function()
  local gradcheck = torch.autograd.gradcheck
  local function R(...) return torch.randn(...):double():requires_grad_() end

  it('conv3d (stride, padding, dilation, groups): input, weight and bias', function()
    assert.is_true(gradcheck(function(x, w, b)
      return F.conv3d(x, w, b, { stride = { 2, 1, 1 }, padding = { 1, 0, 1 }, dilation = { 1, 2, 1 }, groups = 2 })
    end, { R(1, 2, 4, 5, 3), R(4, 1, 2, 2, 2), R(4) }))
  end)

  it('conv_transpose3d (stride, output_padding, dilation, groups): input, weight and bias', function()
    assert.is_true(gradcheck(function(x, w, b)
      return F.conv_transpose3d(x, w, b, { stride = { 2, 1, 2 }, padding = { 0, 1, 0 }, output_padding = { 1, 0, 0 },
                                           dilation = { 1, 1, 2 }, groups = 2 })
    end, { R(1, 2, 2, 3, 2), R(2, 1, 2, 3, 2), R(2) }))
  end)

  it('max_pool3d and adaptive_max_pool3d', function()
    -- distinct values, so that no maximum sits on a tie the differences would straddle
    local x = torch.randperm(2 * 4 * 5 * 6):double():div(7):reshape(1, 2, 4, 5, 6):requires_grad_()
    assert.is_true(gradcheck(function(t) return F.max_pool3d(t, { 2, 3, 2 }, { stride = { 1, 2, 2 }, padding = { 1, 1, 0 },
                                                                               ceil_mode = true }) end, { x }))
    assert.is_true(gradcheck(function(t) return F.adaptive_max_pool3d(t, { 3, 2, 4 }) end, { x }))
  end)

  it('avg_pool3d and adaptive_avg_pool3d', function()
    local x = R(1, 2, 4, 5, 3)
    assert.is_true(gradcheck(function(t) return F.avg_pool3d(t, 3, { stride = 2, padding = 1, ceil_mode = true,
                                                                      count_include_pad = false }) end, { x }))
    assert.is_true(gradcheck(function(t) return F.avg_pool3d(t, { 2, 2, 1 }, { divisor_override = 3 }) end, { x }))
    assert.is_true(gradcheck(function(t) return F.adaptive_avg_pool3d(t, { 3, 2, 4 }) end, { x }))
  end)
end)

describe('3-d kernels in 16-bit floats', function()
  it('conv3d and max_pool3d of bfloat16 compute in float32 and round once, with gradients in bfloat16', function()
    local x, w = torch.randn(1, 2, 3, 4, 3):bfloat16(), torch.randn(3, 2, 2, 2, 2):bfloat16()
    local want = F.conv3d(x:float(), w:float(), nil, { padding = 1 }):bfloat16()
    local xg = x:detach():requires_grad_()
    local y = F.conv3d(xg, w, nil, { padding = 1 })
    assert.are.equal('bfloat16', y:dtype())
    assert.is_true(y:float():equal(want:float()))
    y:sum():backward()
    assert.are.equal('bfloat16', xg.grad:dtype())
    local p = F.max_pool3d(x:half(), 2)
    assert.are.equal('float16', p:dtype())
    assert.is_true(p:float():equal(F.max_pool3d(x:float(), 2)))
  end)
end)

describe('3-d errors', function()
  local function message(fn, ...)
    local ok, e = pcall(fn, ...)
    assert.is_false(ok, 'expected an error')
    return tostring(e)
  end
  local x = randn(1, 2, 4, 4, 4)

  it('conv3d: wrong dims, channels, kernel larger than the padded input, bad options', function()
    local w = randn(3, 2, 3, 3, 3)
    assert.matches('F.conv3d: expected a 4%-d %(unbatched%) or 5%-d %(batched%) input, got %[2 x 4 x 4%]',
                   message(F.conv3d, randn(2, 4, 4), w))
    assert.matches('conv3d: expected a 5%-d weight %[C_out x C_in/groups x kD x kH x kW%], got %[3 x 2 x 3 x 3%]',
                   message(F.conv3d, x, randn(3, 2, 3, 3)))
    assert.matches('conv3d: input has 2 channels but the weight expects 4', message(F.conv3d, x, randn(3, 4, 3, 3, 3)))
    assert.matches('conv3d: input has 2 channels but the weight expects 4 %(2 per group x 2 groups%)',
                   message(F.conv3d, x, randn(4, 2, 3, 3, 3), nil, { groups = 2 }))
    assert.matches('conv3d: the padded input %(2 x 6 x 4%) is smaller than the kernel %(3 x 3 x 3, dilation 1 x 1 x 1%); '
                   .. 'input %[1 x 2 x 2 x 4 x 4%]', message(F.conv3d, randn(1, 2, 2, 4, 4), w, nil, { padding = { 0, 1, 0 } }))
    assert.matches('conv3d: the padded input %(4 x 4 x 4%) is smaller than the kernel %(3 x 3 x 3, dilation 2 x 1 x 1%)',
                   message(F.conv3d, x, w, nil, { dilation = { 2, 1, 1 } }))
    assert.matches('conv3d: expected a bias of 3 elements', message(F.conv3d, x, w, randn(2)))
    assert.matches('conv3d: stride must be at least 1', message(F.conv3d, x, w, nil, { stride = { 1, 0, 1 } }))
    assert.matches('conv3d: stride must be a number or a table of 3 numbers, got 2',
                   message(F.conv3d, x, w, nil, { stride = { 1, 2 } }))
    assert.matches("conv3d: padding='same' is not supported for strided", message(F.conv3d, x, w, nil, { padding = 'same',
                                                                                                     stride = 2 }))
    assert.matches('conv3d: the input is float64 but the weight is float32',
                   message(F.conv3d, x:double(), w))
    assert.matches('Conv3d: expected 2 input channels %(dim 2%), got 3', message(function() nn.Conv3d(2, 3, 3)(randn(1, 3, 4, 4, 4)) end))
    assert.matches('Conv3d: expected a 4%-d or 5%-d input %(%[N x C x D x H x W%]%), got %[2 x 4 x 4%]',
                   message(function() nn.Conv3d(2, 3, 3)(randn(2, 4, 4)) end))
  end)

  it('conv_transpose3d: channels, output_padding, output size', function()
    assert.matches('conv_transpose3d: input has 2 channels but the weight expects 3',
                   message(F.conv_transpose3d, x, randn(3, 2, 2, 2, 2)))
    assert.matches('conv_transpose3d: output_padding must be smaller than either stride or dilation, got output_padding 1 '
                   .. 'with stride 1 and dilation 1', message(F.conv_transpose3d, x, randn(2, 2, 2, 2, 2), nil,
                                                              { output_padding = { 0, 1, 0 } }))
    assert.matches('conv_transpose3d: the output would have size %-3 along spatial dim 2',
                   message(F.conv_transpose3d, randn(1, 2, 4, 1, 4), randn(2, 2, 1, 1, 1), nil, { padding = { 0, 2, 0 } }))
    assert.matches('ConvTranspose3d: output_size 11 is not reachable at dim 1 %(sizes 9..10 are%)',
                   message(function() nn.ConvTranspose3d(2, 2, 3, { stride = 2 })(x, { 11, 9, 9 }) end))
  end)

  it('pooling: wrong dims, padding, empty outputs, output sizes, indices', function()
    assert.matches('max_pool3d: expected a 4%-d %[C x D x H x W%] or 5%-d %[N x C x D x H x W%] input, got %[4 x 4 x 4%]',
                   message(F.max_pool3d, randn(4, 4, 4), 2))
    assert.matches('avg_pool3d: expected a 4%-d %[C x D x H x W%] or 5%-d', message(F.avg_pool3d, randn(1, 1, 1, 4, 4, 4), 2))
    assert.matches('max_pool3d: padding should be at most half of the kernel size, got padding 2 with kernel_size 3',
                   message(F.max_pool3d, x, 3, { padding = { 1, 2, 1 } }))
    assert.matches('avg_pool3d: padding should be at most half of the kernel size, got padding 2 with kernel_size 2',
                   message(F.avg_pool3d, x, 2, { padding = 2 }))
    assert.matches('max_pool3d: the output would be empty: input %[1 x 2 x 4 x 4 x 4%], kernel_size 5',
                   message(F.max_pool3d, x, { 2, 5, 2 }))
    assert.matches('max_pool3d: kernel_size must be a number or a table of 3 numbers, got 2',
                   message(F.max_pool3d, x, { 2, 2 }))
    assert.matches('adaptive_avg_pool3d: output_size must be a number or a table of 3 entries',
                   message(F.adaptive_avg_pool3d, x, { 2, 2 }))
    assert.matches('adaptive_max_pool3d: output_size must hold positive integers, got 0',
                   message(F.adaptive_max_pool3d, x, { 2, 0, 2 }))
    assert.matches('max_pool3d: expected a float32 or float64 input, got int64',
                   message(F.max_pool3d, torch.ones(1, 1, 2, 2, 2, { dtype = 'int64' }), 2))
    local K = require 'tensor.nn_kernels'
    local y, i = K.max_pool3d(x, 2)
    i[{ 1, 1, 1, 1, 1 }] = 65
    assert.matches('max_pool3d_backward: index 65 is out of range for an input volume of 4 x 4 x 4 positions '
                   .. '%(expected 1 to 64%)', message(K.max_pool3d_backward, torch.ones(y:shape()), x, i))
    assert.matches('BatchNorm3d: expected a 5%-d %[N x C x D x H x W%] input, got %[2 x 3 x 4 x 4%]',
                   message(function() nn.BatchNorm3d(3)(randn(2, 3, 4, 4)) end))
  end)
end)
