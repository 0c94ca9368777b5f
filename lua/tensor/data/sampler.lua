-- tensor.data.sampler: data.DistributedSampler, each rank's share of every epoch's samples.
local torch = require 'tensor'
local core = require 'tensor.core'

local M = {}

local Sampler = {}
Sampler.__index = Sampler

local function fail(fmt, ...)
  core.raise(string.format('DistributedSampler: ' .. fmt, ...))
end

local function is_integer(v) return type(v) == 'number' and v == math.floor(v) and v > -math.huge and v < math.huge end

--- data.DistributedSampler(dataset, {num_replicas=, rank=, shuffle=true, seed=0, drop_last=false}) -> sampler
-- The samples of one rank: every epoch the dataset's indices are shuffled (a permutation drawn from seed +
-- epoch, the same on every rank), padded by repeating them from the start until the replicas divide them
-- evenly (or, with drop_last, cut down to a multiple), and rank r takes positions r+1, r+1+num_replicas, ...
-- as PyTorch's sampler does. num_replicas and rank default to dist.world_size() and dist.rank() (ranks count
-- from 0). Pass it to data.DataLoader as {sampler=}, and call sampler:set_epoch(e) before each epoch for a
-- new order. sampler:size() is the number of samples per rank.
-- Example: local sampler = data.DistributedSampler(ds); local loader = data.DataLoader(ds, {batch_size=32, sampler=sampler})
function M.DistributedSampler(dataset, opts)
  if type(dataset) ~= 'table' or type(dataset.size) ~= 'function' then
    fail('expected a dataset with size(), got %s', type(dataset))
  end
  if opts ~= nil and type(opts) ~= 'table' then fail('expected an options table, got %s', type(opts)) end
  opts = opts or {}
  for k in pairs(opts) do
    if k ~= 'num_replicas' and k ~= 'rank' and k ~= 'shuffle' and k ~= 'seed' and k ~= 'drop_last' then
      fail("unknown option '%s' (expected num_replicas, rank, shuffle, seed, drop_last)", tostring(k))
    end
  end
  local replicas, rank = opts.num_replicas, opts.rank
  if replicas == nil or rank == nil then
    local dist = require 'tensor.distributed'
    if not dist.is_initialized() then
      fail('num_replicas and rank default to the process group: call dist.init() first, or pass both')
    end
    replicas = replicas or dist.world_size()
    rank = rank or dist.rank()
  end
  if not is_integer(replicas) or replicas < 1 then
    fail('num_replicas must be a positive integer, got %s', tostring(replicas))
  end
  if not is_integer(rank) or rank < 0 or rank >= replicas then
    fail('rank must be from 0 to %d (num_replicas - 1; ranks count from 0 like dist.rank()), got %s', replicas - 1,
         tostring(rank))
  end
  local seed = opts.seed or 0
  if not is_integer(seed) then fail('seed must be an integer, got %s', tostring(seed)) end
  local n = dataset:size()
  local drop_last = opts.drop_last == true
  local per_rank
  if drop_last and n % replicas ~= 0 then
    per_rank = math.ceil((n - replicas) / replicas)
  else
    per_rank = math.ceil(n / replicas)
  end
  local self = setmetatable({ dataset = dataset, num_replicas = replicas, rank = rank, shuffle = opts.shuffle ~= false,
                              seed = seed, drop_last = drop_last, epoch = 0, num_samples = per_rank,
                              total_size = per_rank * replicas }, Sampler)
  return self
end

--- sampler:set_epoch(epoch)
-- The epoch whose order indices() returns (the shuffle is seeded with seed + epoch on every rank).
function Sampler:set_epoch(epoch)
  if not is_integer(epoch) then fail('set_epoch: expected an integer epoch, got %s', tostring(epoch)) end
  self.epoch = epoch
end

--- sampler:size() -> number
-- The number of samples this rank sees per epoch.
function Sampler:size() return self.num_samples end

--- sampler:indices() -> Tensor
-- This rank's sample indices for the current epoch: a 1-based int64 tensor of size() elements.
function Sampler:indices()
  local n, total, replicas = self.dataset:size(), self.total_size, self.num_replicas
  if n == 0 then return torch.empty(0, { dtype = 'int64' }) end
  local order
  if self.shuffle then
    local g = torch.Generator()
    g:manual_seed(self.seed + self.epoch)
    order = torch.randperm(n, { generator = g })
  else
    order = torch.arange(1, n + 1)
  end
  if total > n then -- pad with the first indices again (as many rounds as it takes)
    local parts = {}
    for i = 1, math.ceil(total / n) do parts[i] = order end
    order = torch.cat(parts, 1)
  end
  order = order:narrow(1, 1, total)
  return order:view(self.num_samples, replicas):select(2, self.rank + 1):clone()
end

return M
