-- GPU rows (issue 7, "Speed"): run only when asked, on a machine with a CUDA device on both sides
-- (`luajit bench/run.lua --threads=1 cuda`). Every timed run ends with a synchronisation on both sides, so the
-- times are the device's. float32 matrix products and convolutions run without TF32 on both sides (tensor's
-- default and PyTorch's for products; PyTorch's convolutions are told torch.backends.cudnn.allow_tf32 = False);
-- the element-wise add is compared with a device-to-device copy of the same size, the bandwidth ceiling.
local rows = {}

local function add(e)
  e.cuda = true
  rows[#rows + 1] = e
end

add { name = 'cuda copy 10^8 float32 (device to device)',
  setup = 'local x, y = torch.randn(100000000):cuda(), torch.empty(100000000):cuda()',
  lua = 'y:copy_(x)',
  py_setup = "x, y = torch.randn(100000000).cuda(), torch.empty(100000000, device='cuda')",
  py = 'y.copy_(x)',
  bytes = 8e8, short = 'copy' }

add { name = 'cuda add 10^8 float32',
  setup = 'local a, b = torch.randn(100000000):cuda(), torch.randn(100000000):cuda()',
  lua = 'local c = a + b',
  py_setup = 'a, b = torch.randn(100000000).cuda(), torch.randn(100000000).cuda()',
  py = 'c = a + b',
  bytes = 1.2e9, baseline = 'cuda copy 10^8 float32 (device to device)' }

for _, n in ipairs({ 1024, 2048, 4096, 8192 }) do
  for _, dtype in ipairs({ 'float32', 'bfloat16' }) do
    add { name = ('cuda %s GEMM %d'):format(dtype == 'float32' and 'SGEMM' or 'bf16', n),
      setup = ("local a, b = torch.randn(%d, %d):to('%s'):cuda(), torch.randn(%d, %d):to('%s'):cuda()")
        :format(n, n, dtype, n, n, dtype),
      lua = 'local c = a:mm(b)',
      py_setup = ('a, b = torch.randn(%d, %d).to(torch.%s).cuda(), torch.randn(%d, %d).to(torch.%s).cuda()')
        :format(n, n, dtype, n, n, dtype),
      py = 'c = a.mm(b)',
      flops = 2 * n ^ 3 }
  end
end

add { name = 'cuda softmax 4096x4096 float32 (rows)',
  setup = "local F = require('tensor.nn').functional\nlocal x = torch.randn(4096, 4096):cuda()",
  lua = 'local y = F.softmax(x, 2)',
  py_setup = 'x = torch.randn(4096, 4096).cuda()',
  py = 'y = x.softmax(1)',
  bytes = 2 * 4 * 4096 * 4096 }

add { name = 'cuda conv2d 64x64x56x56, 3x3, padding 1 (forward)',
  setup = [[
local nn = require 'tensor.nn'
local x = torch.randn(64, 64, 56, 56):cuda()
local w = torch.randn(64, 64, 3, 3):mul_(0.05):cuda()]],
  lua = 'local y = nn.functional.conv2d(x, w, nil, { padding = 1 })',
  py_setup = [[
torch.backends.cudnn.allow_tf32 = False
x = torch.randn(64, 64, 56, 56).cuda()
w = (torch.randn(64, 64, 3, 3) * 0.05).cuda()]],
  py = 'y = torch.nn.functional.conv2d(x, w, None, padding=1)',
  flops = 2 * 64 * 64 * 56 * 56 * 64 * 9 }

-- examples/fashion_cnn.lua's network on a batch of 256 images, with Adam: forward, backward and step
local models = require 'models'
local cnn_setup, cnn_py_setup = models.fashion_cnn(256, 'cuda')
add { name = 'cuda fashion CNN train step, batch 256 of 1x28x28 (Adam)',
  setup = cnn_setup, lua = models.step_lua, py_setup = cnn_py_setup, py = models.step_py,
  items = 256, unit = 'images', min_time = 0.3 }

return rows
