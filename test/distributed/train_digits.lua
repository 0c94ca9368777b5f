-- Trains the digits MLP for 3 epochs and saves the final parameters (test/distributed_spec.lua).
--
--   th test/distributed/train_digits.lua OUT plain         one process, batches of 64
--   mpirun -np 2 th test/distributed/train_digits.lua OUT ddp
--                                        each rank batches of 32 through nn.DistributedDataParallel, three
--                                        ways: 'ddp' (defaults), 'overlap' (many small buckets reduced while
--                                        backward runs), 'accum' (two micro-batches of 16, the first under
--                                        no_sync, each loss halved)
--
-- Both read the same shuffled order: data.DistributedSampler with one replica gives the whole epoch's
-- permutation, and with two replicas rank r takes its positions r+1, r+3, ...; so the two ranks' k-th
-- batches of 32 together are the k-th batch of 64 of the single process, and the mean of their mean
-- gradients is its mean gradient. Writes OUT-<variant>-rank<r>.t7 (the MLP's state dict).
local torch = require 'tensor'
local nn = require 'tensor.nn'
local optim = require 'tensor.optim'
local data = require 'tensor.data'

local out, mode = arg[1], arg[2]
assert(out and (mode == 'plain' or mode == 'ddp'), 'usage: train_digits.lua OUT plain|ddp')

local train = data.digits()
local mean, std = train.x:mean(1), train.x:std(1):add_(0.1)
local dataset = data.TensorDataset((train.x - mean) / std, train.y)
local criterion = nn.CrossEntropyLoss()
local EPOCHS = 3

local function mlp(seed)
  torch.manual_seed(seed)
  return nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
end

-- Trains model (whose parameters are those of net) over the sampler's batches; step(x, y) runs forward and
-- backward for one batch.
local function train_model(net, model, sampler, batch_size, step)
  local optimizer = optim.SGD(model:parameters(), { lr = 0.02, momentum = 0.9 })
  local loader = data.DataLoader(dataset, { batch_size = batch_size, sampler = sampler })
  for epoch = 1, EPOCHS do
    sampler:set_epoch(epoch)
    for x, y in loader:iter() do
      optimizer:zero_grad()
      step(x, y)
      optimizer:step()
    end
  end
  return net
end

if mode == 'plain' then
  local net = mlp(1)
  local sampler = data.DistributedSampler(dataset, { num_replicas = 1, rank = 0 })
  train_model(net, net, sampler, 64, function(x, y) criterion(net(x), y):backward() end)
  torch.save(out .. '-plain-rank0.t7', net:state_dict())
  return
end

local dist = require 'tensor.distributed'
dist.init()
local rank = dist.rank()
assert(dist.world_size() == 2, 'run with mpirun -np 2')

local variants = {
  ddp = { opts = {} },
  overlap = { opts = { overlap = true, bucket_mb = 0.05 } },
  accum = { opts = {}, accumulate = true },
}
for _, name in ipairs({ 'ddp', 'overlap', 'accum' }) do
  local v = variants[name]
  local net = mlp(1 + rank) -- rank 1 starts elsewhere: the wrapper must copy rank 0's parameters
  local model = nn.DistributedDataParallel(net, v.opts)
  local sampler = data.DistributedSampler(dataset)
  local step
  if v.accumulate then
    step = function(x, y)
      local n = x:size(1)
      local h = math.floor(n / 2)
      -- the halves may differ by one in the epoch's last, odd batch: weight each by its share
      model:no_sync(function()
        local first = criterion(model(x:narrow(1, 1, h)), y:narrow(1, 1, h)) * (h / n)
        first:backward()
      end)
      local second = criterion(model(x:narrow(1, h + 1, n - h)), y:narrow(1, h + 1, n - h)) * ((n - h) / n)
      second:backward()
    end
  else
    step = function(x, y) criterion(model(x), y):backward() end
  end
  train_model(net, model, sampler, 32, step)
  torch.save(string.format('%s-%s-rank%d.t7', out, name, rank), net:state_dict())
end
