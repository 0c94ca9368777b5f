-- bench/models.lua: the training workloads' common code, for both sides: a network's setup (Lua and Python
-- chunks defining model, criterion, opt, x and y) and one training step, so that the CPU rows
-- (workloads/train.lua) and the GPU rows (workloads/cuda.lua) time the same model and the same step.
local M = {}

-- One step: zero the gradients, forward, loss, backward, update.
M.step_lua = [[
opt:zero_grad()
local loss = criterion(model(x), y)
loss:backward()
opt:step()]]
M.step_py = [[
opt.zero_grad()
loss = criterion(model(x), y)
loss.backward()
opt.step()]]

-- examples/fashion_cnn.lua's network (two conv blocks and two linear layers) with Adam, on a batch of random
-- 1x28x28 images. On CUDA, PyTorch's convolutions are kept from TF32, as tensor's are by default.
-- Returns the Lua setup and the Python setup.
function M.fashion_cnn(batch, device)
  local cuda = device == 'cuda'
  local to_lua, to_py = cuda and ':cuda()' or '', cuda and '.cuda()' or ''
  local lua = string.format([[
local nn, optim = require 'tensor.nn', require 'tensor.optim'
torch.manual_seed(0)
local model = nn.Sequential(
  nn.Conv2d(1, 16, 3, { padding = 1 }), nn.ReLU(), nn.BatchNorm2d(16), nn.MaxPool2d(2),
  nn.Conv2d(16, 32, 3, { padding = 1 }), nn.ReLU(), nn.BatchNorm2d(32), nn.MaxPool2d(2),
  nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))%s
local criterion = nn.CrossEntropyLoss()
local opt = optim.Adam(model:parameters(), { lr = 1e-3 })
local x, y = torch.randn(%d, 1, 28, 28)%s, torch.randint(1, 11, { %d })%s]], to_lua, batch, to_lua, batch, to_lua)
  local py = string.format([[
import torch.nn as nn
%storch.manual_seed(0)
model = nn.Sequential(
    nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(16), nn.MaxPool2d(2),
    nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(32), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))%s
criterion = nn.CrossEntropyLoss()
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
x, y = torch.randn(%d, 1, 28, 28)%s, torch.randint(0, 10, (%d,))%s]],
    cuda and 'torch.backends.cudnn.allow_tf32 = False\n' or '', to_py, batch, to_py, batch, to_py)
  return lua, py
end

return M
