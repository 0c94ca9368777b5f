-- Training end to end: the digits MLP of examples/digits_mlp.lua (64-256-256-10, SGD with momentum, shuffled
-- batches of 64) trained for a few epochs must reach the loss that PyTorch reaches from the same initial weights
-- over the same batches; and a longer training run keeps its memory flat.
local torch = require 'tensor'
local nn = require 'tensor.nn'
local optim = require 'tensor.optim'
local data = require 'tensor.data'
local memory = require 'tensor.memory'
local ref = require 'helpers.torchref'

local function mlp(sizes)
  local layers = {}
  for i = 1, #sizes - 1 do
    layers[#layers + 1] = nn.Linear(sizes[i], sizes[i + 1])
    if i < #sizes - 1 then layers[#layers + 1] = nn.ReLU() end
  end
  return nn.Sequential(unpack(layers))
end

describe('training the digits MLP', function()
  local EPOCHS, BATCH, LR, MOMENTUM = 5, 64, 0.05, 0.9

  it('falls below the loss PyTorch reaches from the same weights over the same batches', function()
    torch.manual_seed(0)
    local train = data.digits()
    local n = train.x:size(1)
    local model = mlp({ 64, 256, 256, 10 })
    local initial = {}
    for k, v in pairs(model:state_dict()) do initial['p' .. k:gsub('%.', '_')] = v:clone() end

    -- The loader shuffles with its own generator; a third tensor of sample numbers rides along in each batch,
    -- so the order it used can be replayed exactly on the PyTorch side (whose random numbers differ).
    local loader = data.DataLoader(data.TensorDataset(train.x, train.y, torch.arange(1, n + 1)),
                                   { batch_size = BATCH, shuffle = true, generator = torch.Generator():manual_seed(7) })
    local criterion = nn.CrossEntropyLoss()
    local optimizer = optim.SGD(model:parameters(), { lr = LR, momentum = MOMENTUM })
    local initial_loss = torch.no_grad(function() return criterion(model(train.x), train.y):item() end)
    local orders, epoch_losses = {}, {}
    for epoch = 1, EPOCHS do
      local ids, total, batches = {}, 0, 0
      for x, y, id in loader:iter() do
        optimizer:zero_grad()
        local loss = criterion(model(x), y)
        loss:backward()
        optimizer:step()
        total, batches = total + loss:item(), batches + 1
        ids[#ids + 1] = id
      end
      orders[epoch] = torch.cat(ids, 1)
      epoch_losses[epoch] = total / batches
    end
    local final = torch.no_grad(function() return criterion(model(train.x), train.y):item() end)

    -- every epoch visited each sample once, in a new order
    for epoch = 1, EPOCHS do
      assert.are.equal(n, orders[epoch]:numel())
      assert.are.equal(n, orders[epoch]:unique():numel())
    end
    assert.is_true(orders[1]:ne(orders[2]):sum() > 0)

    local inputs = { x = train.x, y = train.y, orders = torch.stack(orders, 1) }
    for k, v in pairs(initial) do inputs[k] = v end
    local r = ref.run(string.format([[
      n, epochs, batch = x.shape[0], %d, %d
      model = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256),
                                  torch.nn.ReLU(), torch.nn.Linear(256, 10))
      with torch.no_grad():
          for i in (0, 2, 4):
              model[i].weight.copy_(locals()['p%%d_weight' %% i])
              model[i].bias.copy_(locals()['p%%d_bias' %% i])
      labels = y - 1
      criterion = torch.nn.CrossEntropyLoss()
      optimizer = torch.optim.SGD(model.parameters(), lr=%.17g, momentum=%.17g)
      epoch_losses = []
      for e in range(epochs):
          order = orders[e] - 1
          total, batches = 0.0, 0
          for s in range(0, n, batch):
              idx = order[s:s + batch]
              optimizer.zero_grad()
              loss = criterion(model(x[idx]), labels[idx])
              loss.backward()
              optimizer.step()
              total, batches = total + loss.item(), batches + 1
          epoch_losses.append(total / batches)
      with torch.no_grad():
          final = criterion(model(x), labels).item()
      out = {'epoch_losses': epoch_losses, 'final': final}
    ]], EPOCHS, BATCH, LR, MOMENTUM), inputs)

    -- it learnt: the loss fell to a small fraction of where it started ...
    assert.is_true(final < initial_loss / 10, string.format('loss %.4f after training, %.4f before', final, initial_loss))
    -- ... and at least as far as PyTorch's (float32 sums in another order: a few percent of slack)
    local threshold = r.final * 1.05 + 1e-3
    assert.is_true(final <= threshold,
                   string.format('loss after %d epochs: %.5f, PyTorch reaches %.5f (threshold %.5f)', EPOCHS, final,
                                 r.final, threshold))
    -- the first epoch follows PyTorch's closely (the runs drift apart slowly, as float rounding accumulates)
    assert.is_true(math.abs(epoch_losses[1] - r.epoch_losses[1]) <= 0.01 * r.epoch_losses[1],
                   string.format('first epoch mean loss %.5f, PyTorch %.5f', epoch_losses[1], r.epoch_losses[1]))
  end)
end)

describe('memory of a training run', function()
  local function rss_kb()
    for line in io.lines('/proc/self/status') do
      local kb = line:match('^VmRSS:%s+(%d+)')
      if kb then return tonumber(kb) end
    end
  end

  it('stays flat after the first epoch (10 epochs of an MNIST-shaped MLP, no collectgarbage calls)', function()
    torch.manual_seed(1)
    local x, y = torch.rand(8192, 784), torch.randint(1, 11, { 8192 })
    local model = mlp({ 784, 512, 512, 10 })
    local criterion = nn.CrossEntropyLoss()
    local optimizer = optim.SGD(model:parameters(), { lr = 0.01, momentum = 0.9 })
    local loader = data.DataLoader(data.TensorDataset(x, y), { batch_size = 128, shuffle = true })
    local rss = {} -- the highest resident memory of each epoch, read after every step
    for epoch = 1, 10 do
      rss[epoch] = 0
      for _ = 1, 4 do
        for bx, by in loader:iter() do
          optimizer:zero_grad()
          criterion(model(bx), by):backward()
          optimizer:step()
          rss[epoch] = math.max(rss[epoch], rss_kb())
        end
      end
    end
    -- An epoch here is four passes over the data (256 steps): they leave about 105 MB of short-lived tensors to
    -- the collector (mostly the batches the loop holds; the gradients and the activations between layers the
    -- autograd engine, zero_grad and nn.Sequential free as soon as nothing needs them), more than a collection
    -- cycle (twice the live tensor memory, at least 32-64 MB; the data itself is 25 MB). So by the end of the first
    -- epoch the cycle of allocation and collection has reached its high-water mark. After it, resident memory
    -- moves within one cycle's worth of garbage and does not climb. Each epoch's highest reading is compared, not
    -- a reading at its end, which lands anywhere in a cycle (in the full suite, 1152-1186 MB from one epoch's end
    -- to the next).
    local function highest(a, b)
      local m = 0
      for e = a, b do m = math.max(m, rss[e]) end
      return m
    end
    local report = table.concat(rss, ' ') .. ' (highest VmRSS of each epoch in KB, epochs 1 to 10)'
    assert.is_true(highest(2, 10) - rss[1] < 24 * 1024, 'resident memory rose by more than 24 MB after epoch 1: ' .. report)
    assert.is_true(highest(7, 10) - highest(2, 5) < 8 * 1024, 'resident memory climbs from epoch to epoch: ' .. report)
  end)

  it('holds the same live tensor bytes at the end of every epoch once garbage is collected', function()
    torch.manual_seed(2)
    local train = data.digits()
    local model = mlp({ 64, 256, 256, 10 })
    local criterion = nn.CrossEntropyLoss()
    local optimizer = optim.Adam(model:parameters(), { lr = 1e-3 })
    local loader = data.DataLoader(data.TensorDataset(train.x, train.y), { batch_size = 64, shuffle = true })
    local live = {}
    for epoch = 1, 6 do
      for x, y in loader:iter() do
        optimizer:zero_grad()
        criterion(model(x), y):backward()
        optimizer:step()
      end
      collectgarbage('collect')
      collectgarbage('collect')
      live[epoch] = memory.live()
    end
    -- from epoch 2 on (Adam's state exists from the first step) nothing accumulates: byte for byte the same
    for epoch = 3, 6 do
      assert.are.equal(live[2], live[epoch], 'live bytes by epoch: ' .. table.concat(live, ' '))
    end
  end)
end)
