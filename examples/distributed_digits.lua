-- The digits MLP of examples/digits_mlp.lua trained data-parallel on several processes.
--
--   mpirun -np 2 th examples/distributed_digits.lua [epochs=30] [seed=1]
--   th examples/distributed_digits.lua              (one process: a group of one)
--
-- Every process (rank) holds a replica of the model. Each epoch, data.DistributedSampler deals every rank its
-- own share of the shuffled training set; nn.DistributedDataParallel averages the gradients over the ranks
-- after each backward, so the replicas take identical optimizer steps. The global batch stays 64: each of N
-- ranks takes batches of 64 / N, and the run ends where digits_mlp.lua's does (about 97% test accuracy; on
-- 2 ranks the same numbers as on 1, to rounding: the two ranks' batches of 32 form the batches of 64 of one).
-- The test set is split across the ranks too, and their counts are summed with dist.all_reduce. Only rank 0
-- prints. As root (e.g. in a container) add --allow-run-as-root; with more ranks than cores, --oversubscribe.
local ffi = require 'ffi'
local torch = require 'tensor'
local nn = require 'tensor.nn'
local optim = require 'tensor.optim'
local data = require 'tensor.data'
local dist = require 'tensor.distributed'

local epochs = tonumber(arg and arg[1]) or 30
local seed = tonumber(arg and arg[2]) or 1

ffi.cdef [[
typedef struct { long sec; long nsec; } distributed_digits_timespec;
int distributed_digits_clock_gettime(int clock, distributed_digits_timespec *ts) __asm__("clock_gettime");
]]
local timespec = ffi.new('distributed_digits_timespec')
local function now()
  ffi.C.distributed_digits_clock_gettime(1, timespec) -- CLOCK_MONOTONIC
  return tonumber(timespec.sec) + tonumber(timespec.nsec) * 1e-9
end
local start = now()

-- Joins the processes mpirun started (rank and world size come from its environment). A rank that waits in
-- one collective for more than 5 minutes (another rank died or stopped) ends the job with a message.
dist.init({ backend = 'mpi', timeout = 300 })
local rank, world = dist.rank(), dist.world_size()
local function say(...) if rank == 0 then print(string.format(...)) end end

-- The global batch is 64 (exactly, for 1, 2, 4, 8 ... ranks; the nearest multiple of the rank count otherwise).
local batch = math.max(1, math.floor(64 / world + 0.5))

local train, test = data.digits()
say('digits: %d training and %d test images; %d rank%s, batches of %d per rank (%d in all)', train.x:size(1),
    test.x:size(1), world, world == 1 and '' or 's', batch, batch * world)
local mean, std = train.x:mean(1), train.x:std(1):add_(0.1)
local train_set = data.TensorDataset((train.x - mean) / std, train.y)

-- Every rank builds the model; the wrapper copies rank 0's initial parameters to the others.
torch.manual_seed(seed)
local net = nn.Sequential(
  nn.Linear(64, 256), nn.ReLU(),
  nn.Linear(256, 256), nn.ReLU(),
  nn.Linear(256, 10))
local model = nn.DistributedDataParallel(net)

local criterion = nn.CrossEntropyLoss()
local optimizer = optim.SGD(model:parameters(), { lr = 0.02, momentum = 0.9 })
local scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, { T_max = epochs })
local sampler = data.DistributedSampler(train_set, { shuffle = true, seed = seed })
local loader = data.DataLoader(train_set, { batch_size = batch, sampler = sampler })

-- This rank's slice of the test set: rows rank+1, rank+1+world, ... (every row on exactly one rank).
local mine = torch.arange(rank + 1, test.x:size(1) + 1, world)
local test_x, test_y = ((test.x - mean) / std):index_select(1, mine), test.y:index_select(1, mine)

-- The fraction of the whole test set classified correctly: each rank counts its slice, all_reduce adds up.
local function accuracy()
  net:eval()
  local counts = torch.no_grad(function()
    local _, predicted = net(test_x):max(2)
    return torch.tensor({ predicted:eq(test_y):sum(), test_y:numel() }, { dtype = 'float64' })
  end)
  net:train()
  dist.all_reduce(counts, 'sum')
  return counts[1] / counts[2]
end

for epoch = 1, epochs do
  sampler:set_epoch(epoch) -- a new shuffle each epoch, the same permutation on every rank
  local total = torch.zeros(2, { dtype = 'float64' }) -- this rank's loss sum and batch count
  for x, y in loader:iter() do
    optimizer:zero_grad()
    local loss = criterion(model(x), y)
    loss:backward() -- returns with every .grad averaged over the ranks
    optimizer:step()
    total[1], total[2] = total[1] + loss:item(), total[2] + 1
  end
  scheduler:step()
  dist.all_reduce(total, 'sum')
  local test_accuracy = accuracy() -- every rank takes part in the collective; rank 0 prints
  if epoch % 5 == 0 or epoch == 1 or epoch == epochs then
    say('epoch %3d   loss %.4f   test accuracy %.2f%%', epoch, total[1] / total[2], 100 * test_accuracy)
  end
end

-- The replicas never diverge: the largest and smallest value of a checksum over the ranks agree.
local sum = 0
for _, p in ipairs(net:parameters()) do sum = sum + p:detach():double():sum() end
local hi, lo = torch.tensor({ sum }, { dtype = 'float64' }), torch.tensor({ sum }, { dtype = 'float64' })
dist.all_reduce(hi, 'max')
dist.all_reduce(lo, 'min')
say('replicas identical on %d rank%s: %s', world, world == 1 and '' or 's', hi[1] == lo[1] and 'yes' or 'NO')
say('test accuracy %.2f%% after %d epochs, %.2f s in all', 100 * accuracy(), epochs, now() - start)
