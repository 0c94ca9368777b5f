-- nn kernels (issue 3, item 5): convolution, pooling, softmax, the fused cross entropy and normalisation, forward
-- and backward, through tensor.nn_kernels beside the same ATen ops in PyTorch (the backward rows call ATen's
-- backward functions directly, so neither side pays for autograd). PyTorch's CPU convolution is oneDNN's.
local conv_setup = [[
local K = require 'tensor.nn_kernels'
local x, w, b = torch.randn(1, 64, 56, 56), torch.randn(64, 64, 3, 3), torch.randn(64)
local g = torch.randn(1, 64, 56, 56)
local opts = { padding = 1 }]]
local conv_py_setup = [[
import torch.nn.functional as F
x, w, b = torch.randn(1, 64, 56, 56), torch.randn(64, 64, 3, 3), torch.randn(64)
g = torch.randn(1, 64, 56, 56)]]

return {
  { name = 'conv2d 1x64x56x56, 64 3x3 pad 1',
    setup = conv_setup,
    lua = 'local y = K.conv2d(x, w, b, opts)',
    py_setup = conv_py_setup,
    py = 'y = F.conv2d(x, w, b, padding=1)',
    min_time = 0.5 },

  { name = 'conv2d backward (input, weight, bias) 1x64x56x56',
    setup = conv_setup,
    lua = 'local gx, gw, gb = K.conv2d_backward(g, x, w, opts)',
    py_setup = conv_py_setup,
    py = 'gx, gw, gb = torch.ops.aten.convolution_backward(g, x, w, [64], [1, 1], [1, 1], [1, 1], False, [0, 0], 1, '
      .. '[True, True, True])',
    min_time = 0.5 },

  { name = 'conv2d 8x64x56x56, 64 3x3 pad 1',
    setup = [[
local K = require 'tensor.nn_kernels'
local x, w, b = torch.randn(8, 64, 56, 56), torch.randn(64, 64, 3, 3), torch.randn(64)]],
    lua = 'local y = K.conv2d(x, w, b, { padding = 1 })',
    py_setup = [[
import torch.nn.functional as F
x, w, b = torch.randn(8, 64, 56, 56), torch.randn(64, 64, 3, 3), torch.randn(64)]],
    py = 'y = F.conv2d(x, w, b, padding=1)',
    min_time = 0.5 },

  -- the layers of a small CNN on 28x28 images (examples/fashion_cnn.lua's shape), batch 64
  { name = 'conv2d 64x1x28x28, 32 3x3 pad 1',
    setup = [[
local K = require 'tensor.nn_kernels'
local x, w, b = torch.randn(64, 1, 28, 28), torch.randn(32, 1, 3, 3), torch.randn(32)]],
    lua = 'local y = K.conv2d(x, w, b, { padding = 1 })',
    py_setup = [[
import torch.nn.functional as F
x, w, b = torch.randn(64, 1, 28, 28), torch.randn(32, 1, 3, 3), torch.randn(32)]],
    py = 'y = F.conv2d(x, w, b, padding=1)' },

  { name = 'conv2d backward (weight, bias) 64x1x28x28, 32 3x3',
    setup = [[
local K = require 'tensor.nn_kernels'
local x, w, g = torch.randn(64, 1, 28, 28), torch.randn(32, 1, 3, 3), torch.randn(64, 32, 28, 28)
local opts = { padding = 1, output_mask = { false, true, true } }]],
    lua = 'local _, gw, gb = K.conv2d_backward(g, x, w, opts)',
    py_setup = 'x, w, g = torch.randn(64, 1, 28, 28), torch.randn(32, 1, 3, 3), torch.randn(64, 32, 28, 28)',
    py = '_, gw, gb = torch.ops.aten.convolution_backward(g, x, w, [32], [1, 1], [1, 1], [1, 1], False, [0, 0], 1, '
      .. '[False, True, True])' },

  { name = 'conv2d 64x32x14x14, 64 3x3 pad 1',
    setup = [[
local K = require 'tensor.nn_kernels'
local x, w, b = torch.randn(64, 32, 14, 14), torch.randn(64, 32, 3, 3), torch.randn(64)]],
    lua = 'local y = K.conv2d(x, w, b, { padding = 1 })',
    py_setup = [[
import torch.nn.functional as F
x, w, b = torch.randn(64, 32, 14, 14), torch.randn(64, 32, 3, 3), torch.randn(64)]],
    py = 'y = F.conv2d(x, w, b, padding=1)' },

  { name = 'conv2d backward (input, weight, bias) 64x32x14x14, 64 3x3',
    setup = [[
local K = require 'tensor.nn_kernels'
local x, w, g = torch.randn(64, 32, 14, 14), torch.randn(64, 32, 3, 3), torch.randn(64, 64, 14, 14)
local opts = { padding = 1 }]],
    lua = 'local gx, gw, gb = K.conv2d_backward(g, x, w, opts)',
    py_setup = 'x, w, g = torch.randn(64, 32, 14, 14), torch.randn(64, 32, 3, 3), torch.randn(64, 64, 14, 14)',
    py = 'gx, gw, gb = torch.ops.aten.convolution_backward(g, x, w, [64], [1, 1], [1, 1], [1, 1], False, [0, 0], 1, '
      .. '[True, True, True])' },

  { name = 'conv2d 64x32x14x14, 64 3x3 stride 2',
    setup = [[
local K = require 'tensor.nn_kernels'
local x, w, b = torch.randn(64, 32, 14, 14), torch.randn(64, 32, 3, 3), torch.randn(64)]],
    lua = 'local y = K.conv2d(x, w, b, { padding = 1, stride = 2 })',
    py_setup = [[
import torch.nn.functional as F
x, w, b = torch.randn(64, 32, 14, 14), torch.randn(64, 32, 3, 3), torch.randn(64)]],
    py = 'y = F.conv2d(x, w, b, padding=1, stride=2)' },

  { name = 'max_pool2d 2x2, 16x64x56x56 (with indices)',
    setup = "local K = require 'tensor.nn_kernels'; local x = torch.randn(16, 64, 56, 56)",
    lua = 'local y, idx = K.max_pool2d(x, 2)',
    py_setup = 'import torch.nn.functional as F; x = torch.randn(16, 64, 56, 56)',
    py = 'y, idx = F.max_pool2d(x, 2, return_indices=True)',
    bytes = 16 * 64 * 56 * 56 * 4 * 1.5 },

  { name = 'max_pool2d 3x3 stride 2 pad 1, 16x64x56x56',
    setup = "local K = require 'tensor.nn_kernels'; local x = torch.randn(16, 64, 56, 56)",
    lua = 'local y, idx = K.max_pool2d(x, 3, { stride = 2, padding = 1 })',
    py_setup = 'import torch.nn.functional as F; x = torch.randn(16, 64, 56, 56)',
    py = 'y, idx = F.max_pool2d(x, 3, stride=2, padding=1, return_indices=True)' },

  { name = 'max_pool2d backward 2x2, 16x64x56x56',
    setup = [[
local K = require 'tensor.nn_kernels'
local x = torch.randn(16, 64, 56, 56)
local y, idx = K.max_pool2d(x, 2)
local g = torch.randn(16, 64, 28, 28)]],
    lua = 'local gx = K.max_pool2d_backward(g, x, idx)',
    py_setup = [[
import torch.nn.functional as F
x = torch.randn(16, 64, 56, 56)
y, idx = F.max_pool2d(x, 2, return_indices=True)
g = torch.randn(16, 64, 28, 28)]],
    py = 'gx = torch.ops.aten.max_pool2d_with_indices_backward(g, x, [2, 2], [2, 2], [0, 0], [1, 1], False, idx)' },

  { name = 'softmax 256x1000 (dim 2)',
    setup = "local K = require 'tensor.nn_kernels'; local x = torch.randn(256, 1000)",
    lua = 'local y = K.softmax(x, 2)',
    py_setup = 'x = torch.randn(256, 1000)',
    py = 'y = torch.softmax(x, 1)',
    bytes = 2 * 256 * 1000 * 4 },

  { name = 'log_softmax 256x1000 (dim 2)',
    setup = "local K = require 'tensor.nn_kernels'; local x = torch.randn(256, 1000)",
    lua = 'local y = K.log_softmax(x, 2)',
    py_setup = 'x = torch.randn(256, 1000)',
    py = 'y = torch.log_softmax(x, 1)',
    bytes = 2 * 256 * 1000 * 4 },

  { name = 'softmax backward 256x1000',
    setup = [[
local K = require 'tensor.nn_kernels'
local y, g = K.softmax(torch.randn(256, 1000), 2), torch.randn(256, 1000)]],
    lua = 'local gx = K.softmax_backward(g, y, 2)',
    py_setup = 'y, g = torch.softmax(torch.randn(256, 1000), 1), torch.randn(256, 1000)',
    py = 'gx = torch._softmax_backward_data(g, y, 1, torch.float32)' },

  { name = 'cross_entropy 256x1000',
    setup = [[
local K = require 'tensor.nn_kernels'
local x, t = torch.randn(256, 1000), torch.randint(1, 1001, { 256 })]],
    lua = 'local loss = K.cross_entropy(x, t)',
    py_setup = [[
import torch.nn.functional as F
x, t = torch.randn(256, 1000), torch.randint(0, 1000, (256,))]],
    py = 'loss = F.cross_entropy(x, t)' },

  { name = 'cross_entropy forward + backward 256x1000',
    setup = [[
local K = require 'tensor.nn_kernels'
local x, t, one = torch.randn(256, 1000), torch.randint(1, 1001, { 256 }), torch.ones({})
local with = {}]],
    lua = [[
local loss, lse = K.cross_entropy(x, t)
with.lse = lse
local gx = K.cross_entropy_backward(one, x, t, with)]],
    py_setup = [[
x, t, one = torch.randn(256, 1000), torch.randint(0, 1000, (256,)), torch.tensor(1.0)]],
    py = [[
lsm = torch.log_softmax(x, 1)
loss, total = torch.ops.aten.nll_loss_forward(lsm, t, None, 1, -100)
gl = torch.ops.aten.nll_loss_backward(one, lsm, t, None, 1, -100, total)
gx = torch._log_softmax_backward_data(gl, lsm, 1, torch.float32)]] },

  { name = 'layer_norm 256x1024',
    setup = [[
local K = require 'tensor.nn_kernels'
local x, w, b = torch.randn(256, 1024), torch.randn(1024), torch.randn(1024)]],
    lua = 'local y = K.layer_norm(x, 1024, w, b)',
    py_setup = [[
import torch.nn.functional as F
x, w, b = torch.randn(256, 1024), torch.randn(1024), torch.randn(1024)]],
    py = 'y = F.layer_norm(x, (1024,), w, b)',
    bytes = 2 * 256 * 1024 * 4 },

  { name = 'layer_norm backward 256x1024',
    setup = [[
local K = require 'tensor.nn_kernels'
local x, w, b, g = torch.randn(256, 1024), torch.randn(1024), torch.randn(1024), torch.randn(256, 1024)
local y, mean, rstd = K.layer_norm(x, 1024, w, b)]],
    lua = 'local gx, gw, gb = K.layer_norm_backward(g, x, 1024, mean, rstd, w)',
    py_setup = [[
x, w, b, g = torch.randn(256, 1024), torch.randn(1024), torch.randn(1024), torch.randn(256, 1024)
y, mean, rstd = torch.native_layer_norm(x, [1024], w, b, 1e-5)]],
    py = 'gx, gw, gb = torch.ops.aten.native_layer_norm_backward(g, x, [1024], mean, rstd, w, b, [True, True, True])' },

  { name = 'batch_norm training 32x64x28x28',
    setup = [[
local K = require 'tensor.nn_kernels'
local x, w, b = torch.randn(32, 64, 28, 28), torch.randn(64), torch.randn(64)
local rm, rv = torch.zeros(64), torch.ones(64)]],
    lua = 'local y, sm, si = K.batch_norm(x, rm, rv, w, b, true)',
    py_setup = [[
import torch.nn.functional as F
x, w, b = torch.randn(32, 64, 28, 28), torch.randn(64), torch.randn(64)
rm, rv = torch.zeros(64), torch.ones(64)]],
    py = 'y = F.batch_norm(x, rm, rv, w, b, training=True)' },
}
