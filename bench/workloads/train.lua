-- Training (issue 6, "Speed"): whole training steps and epochs of the examples' models, forward + backward +
-- optimizer step, beside the same loop in PyTorch. Both sides draw a random permutation per epoch and take each
-- batch with one gather per tensor (our DataLoader over a TensorDataset does exactly that; in PyTorch the
-- indexing is written out, which is faster than its DataLoader's per-sample collation). Random data of the
-- real shapes: the timing does not depend on the values.
local mlp_setup = [[
local nn, optim = require 'tensor.nn', require 'tensor.optim'
torch.manual_seed(0)
local function mlp(a, b, c, d)
  return nn.Sequential(nn.Linear(a, b), nn.ReLU(), nn.Linear(b, c), nn.ReLU(), nn.Linear(c, d))
end]]
local mlp_py_setup = [[
import torch.nn as nn
torch.manual_seed(0)
def mlp(a, b, c, d):
    return nn.Sequential(nn.Linear(a, b), nn.ReLU(), nn.Linear(b, c), nn.ReLU(), nn.Linear(c, d))]]

local models = require 'models'
local step_lua, step_py = models.step_lua, models.step_py
local cnn_setup, cnn_py_setup = models.fashion_cnn(64)

return {
  -- examples/digits_mlp.lua's model and batches: 1438 training images, 23 batches of 64 per epoch
  { name = 'digits MLP 64-256-256-10 epoch (23 batches of 64, SGD momentum)',
    setup = mlp_setup .. [[

local data = require 'tensor.data'
local model, criterion = mlp(64, 256, 256, 10), nn.CrossEntropyLoss()
local opt = optim.SGD(model:parameters(), { lr = 0.01, momentum = 0.9 })
local x, y = torch.rand(1438, 64), torch.randint(1, 11, { 1438 })
local loader = data.DataLoader(data.TensorDataset(x, y), { batch_size = 64, shuffle = true })]],
    lua = [[
for bx, by in loader:iter() do
  opt:zero_grad()
  local loss = criterion(model(bx), by)
  loss:backward()
  opt:step()
end]],
    py_setup = mlp_py_setup .. [[

model, criterion = mlp(64, 256, 256, 10), nn.CrossEntropyLoss()
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
x, y = torch.rand(1438, 64), torch.randint(0, 10, (1438,))]],
    py = [[
perm = torch.randperm(1438)
for s in range(0, 1438, 64):
    idx = perm[s:s + 64]
    bx, by = x[idx], y[idx]
    opt.zero_grad()
    loss = criterion(model(bx), by)
    loss.backward()
    opt.step()]],
    items = 1438, unit = 'samples', min_time = 0.5 },

  -- one step of the digits MLP: the per-op overhead of forward, backward and the optimizer on small layers
  { name = 'digits MLP 64-256-256-10 train step, batch 64 (SGD momentum)',
    setup = mlp_setup .. [[

local model, criterion = mlp(64, 256, 256, 10), nn.CrossEntropyLoss()
local opt = optim.SGD(model:parameters(), { lr = 0.01, momentum = 0.9 })
local x, y = torch.rand(64, 64), torch.randint(1, 11, { 64 })]],
    lua = step_lua,
    py_setup = mlp_py_setup .. [[

model, criterion = mlp(64, 256, 256, 10), nn.CrossEntropyLoss()
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
x, y = torch.rand(64, 64), torch.randint(0, 10, (64,))]],
    py = step_py,
    items = 64, unit = 'samples' },

  -- an MNIST-shaped MLP: large enough that the matrix products matter
  { name = 'MNIST MLP 784-512-512-10 train step, batch 128 (SGD momentum)',
    setup = mlp_setup .. [[

local model, criterion = mlp(784, 512, 512, 10), nn.CrossEntropyLoss()
local opt = optim.SGD(model:parameters(), { lr = 0.01, momentum = 0.9 })
local x, y = torch.rand(128, 784), torch.randint(1, 11, { 128 })]],
    lua = step_lua,
    py_setup = mlp_py_setup .. [[

model, criterion = mlp(784, 512, 512, 10), nn.CrossEntropyLoss()
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
x, y = torch.rand(128, 784), torch.randint(0, 10, (128,))]],
    py = step_py,
    items = 128, unit = 'samples', min_time = 0.3 },

  -- examples/fashion_cnn.lua's network on a batch of 64 Fashion-MNIST-sized images, with Adam
  { name = 'fashion CNN train step, batch 64 of 1x28x28 (Adam)',
    setup = cnn_setup, lua = step_lua, py_setup = cnn_py_setup, py = step_py,
    items = 64, unit = 'images', min_time = 0.5 },

  -- examples/char_lstm.lua's model: 64 steps of an LSTM, forward and backward through time, clipped Adam
  { name = 'char LSTM train step (Embedding 58x64, LSTM 128, 32 sequences of 64)',
    setup = [[
local nn, optim = require 'tensor.nn', require 'tensor.optim'
torch.manual_seed(0)
local embed, lstm, head = nn.Embedding(58, 64), nn.LSTM(64, 128, { batch_first = true }), nn.Linear(128, 58)
local params = {}
for _, m in ipairs({ embed, lstm, head }) do
  for _, p in ipairs(m:parameters()) do params[#params + 1] = p end
end
local criterion = nn.CrossEntropyLoss()
local opt = optim.Adam(params, { lr = 1e-3 })
local x, y = torch.randint(1, 59, { 32, 64 }), torch.randint(1, 59, { 32 * 64 })]],
    lua = [[
opt:zero_grad()
local out = lstm(embed(x))
local loss = criterion(head(out):reshape(-1, 58), y)
loss:backward()
nn.utils.clip_grad_norm_(params, 1)
opt:step()]],
    py_setup = [[
import torch.nn as nn
torch.manual_seed(0)
embed, lstm, head = nn.Embedding(58, 64), nn.LSTM(64, 128, batch_first=True), nn.Linear(128, 58)
params = list(embed.parameters()) + list(lstm.parameters()) + list(head.parameters())
criterion = nn.CrossEntropyLoss()
opt = torch.optim.Adam(params, lr=1e-3)
x, y = torch.randint(0, 58, (32, 64)), torch.randint(0, 58, (32 * 64,))]],
    py = [[
opt.zero_grad()
out, _ = lstm(embed(x))
loss = criterion(head(out).reshape(-1, 58), y)
loss.backward()
nn.utils.clip_grad_norm_(params, 1)
opt.step()]],
    items = 32 * 64, unit = 'chars', min_time = 0.5 },
}
