-- The collectives on 2 ranks (test/distributed_spec.lua): mpirun -np 2 th test/distributed/collectives.lua OUT
--
-- Each rank runs every case and saves what it got to OUT-rank<r>.t7 (a table: case name -> values as plain
-- Lua lists, error messages as strings); the spec compares them with values worked out by hand. The run
-- uses dist.init's debug mode, so every matching call also passes the size handshake.
local torch = require 'tensor'
local nn = require 'tensor.nn'
local dist = require 'tensor.distributed'

local out = assert(arg[1], 'usage: collectives.lua OUT')
dist.init({ debug = true, timeout = 60 })
local r = dist.rank()
local results = {}

local function flat(t) return t:contiguous():view(-1):double():tolist() end
local function message(fn, ...)
  local ok, err = pcall(fn, ...)
  return ok and 'no error' or tostring(err)
end

results.identity = { rank = r, size = dist.world_size(), local_rank = dist.local_rank(), backend = dist.get_backend(),
                     device = dist.device(), initialized = dist.is_initialized() }

-- all_reduce
local x = torch.tensor({ 1.5, -2, 3.25, 4 }) * (r + 1)
local returned = dist.all_reduce(x)
results.sum_float32 = flat(x)
results.returns_tensor = rawequal(returned, x)
x = torch.tensor({ 1, 2, 3 }, { dtype = 'float64' }) + 10 * r
dist.all_reduce(x, 'mean')
results.mean_float64 = flat(x)
local f32 = { dtype = 'float32' } -- integer literals would make int64 tensors
local a = r == 0 and torch.tensor({ 1, 5, -3 }, f32) or torch.tensor({ 2, 4, -4 }, f32)
local b = a:clone()
dist.all_reduce(a, 'max')
dist.all_reduce(b, { op = 'min' })
results.max_float32, results.min_float32 = flat(a), flat(b)
x = r == 0 and torch.tensor({ 2, 3 }, f32) or torch.tensor({ 4, 0.5 })
dist.all_reduce(x, 'prod')
results.prod_float32 = flat(x)
x = torch.tensor({ 0.5, 1.25, 2048 }, { dtype = 'float16' }) * (r + 1)
dist.all_reduce(x)
results.sum_float16, results.sum_float16_dtype = flat(x), x:dtype()
x = r == 0 and torch.tensor({ 1, 2, 4 }, { dtype = 'bfloat16' }) or torch.tensor({ 3, 6, 8 }, { dtype = 'bfloat16' })
dist.all_reduce(x, 'mean')
results.mean_bfloat16, results.mean_bfloat16_dtype = flat(x), x:dtype()
x = torch.tensor({ 2 ^ 40, -3 }, { dtype = 'int64' }) * (r + 1)
dist.all_reduce(x)
results.sum_int64, results.sum_int64_dtype = { tonumber(x[1]), tonumber(x[2]) }, x:dtype()
x = torch.tensor({ true, false, false }, { dtype = 'bool' })
if r == 1 then x = torch.tensor({ false, true, false }, { dtype = 'bool' }) end
dist.all_reduce(x, 'max')
results.max_bool = { x[1], x[2], x[3] }

-- non-contiguous tensors: the result lands in the view, the rest of the storage is left alone
local base = torch.arange(1, 7):float():view(2, 3) * (r + 1)
local view = base:t()
results.transposed_is_contiguous = view:is_contiguous()
dist.all_reduce(view)
results.sum_transposed, results.sum_transposed_base = flat(view), flat(base)
local hbase = torch.arange(1, 9):half():view(2, 4) * (r + 1)
local column = hbase:select(2, 2)
dist.all_reduce(column)
results.sum_float16_column, results.sum_float16_column_base = flat(column), flat(hbase)

-- the version counter moves (autograd sees the write)
local leaf = torch.ones(3, { requires_grad = true })
local before = tonumber(leaf._c.storage.version)
dist.all_reduce(leaf)
results.version_moved = tonumber(leaf._c.storage.version) > before

-- async
x = torch.tensor({ 1, 2, 3, 4, 5 }, f32) * (r + 1)
local work = dist.all_reduce(x, 'sum', { async = true })
while not work:is_completed() do end
results.async = flat(work:wait())
x = torch.tensor({ 1, 3 }, { dtype = 'float16' }) * (r + 1)
results.async_float16 = flat(dist.all_reduce(x, 'mean', { async = true }):wait())

-- broadcast
x = torch.full({ 2, 2 }, r + 0.5, { dtype = 'float64' })
dist.broadcast(x, 1)
results.broadcast_root1 = flat(x)
base = torch.arange(1, 7):float():view(2, 3) * (r + 1)
dist.broadcast(base:t(), 0)
results.broadcast_transposed = flat(base)
x = torch.tensor({ 0.25, 3 }, { dtype = 'float16' }) * (r + 1)
dist.broadcast(x, 1)
results.broadcast_float16 = flat(x)

-- all_gather
local parts = { torch.empty(2), torch.empty(2) }
local got = dist.all_gather(parts, torch.tensor({ r + 0.5, r + 1.5 }))
results.gather_list = { flat(parts[1]), flat(parts[2]) }
results.gather_returns_output = rawequal(got, parts)
local gathered = torch.empty(2, 3, { dtype = 'float64' })
dist.all_gather(gathered, torch.tensor({ 1, 2, 3 }, { dtype = 'float64' }) * (r + 1))
results.gather_tensor = flat(gathered)
local hparts = { torch.empty(2, { dtype = 'float16' }), torch.empty(2, { dtype = 'float16' }) }
dist.all_gather(hparts, torch.tensor({ 1.5, -2 }, { dtype = 'float16' }) * (r + 1))
results.gather_float16 = { flat(hparts[1]), flat(hparts[2]) }
local tcols = torch.zeros(3, 2)
-- a non-contiguous output: rank r's values land in row r + 1
dist.all_gather(tcols:t(), torch.tensor({ 1, 2, 3 }, f32) + 10 * r)
results.gather_transposed_output = flat(tcols)

-- reduce_scatter
local rs = torch.empty(2)
dist.reduce_scatter(rs, torch.arange(1, 5):float() * (r + 1))
results.reduce_scatter_tensor = flat(rs)
local rsd = torch.empty(2, { dtype = 'float64' })
dist.reduce_scatter(rsd, { torch.tensor({ 1, 2 }, { dtype = 'float64' }) + r, torch.tensor({ 10, 20 },
                    { dtype = 'float64' }) * (r + 1) }, 'mean')
results.reduce_scatter_list_mean = flat(rsd)
local rsh = torch.empty(2, { dtype = 'float16' })
local hin = r == 0 and torch.tensor({ 1, 8, -2, 0.5 }, { dtype = 'float16' }) or
            torch.tensor({ 3, 4, -1, 0.25 }, { dtype = 'float16' })
dist.reduce_scatter(rsh, hin, 'max')
results.reduce_scatter_float16_max = flat(rsh)

-- barrier: rank 1 writes a file after a pause and then enters the barrier; rank 0 finds the file after it
if r == 1 then
  os.execute('sleep 0.3')
  local f = assert(io.open(out .. '-barrier-mark', 'w'))
  f:write('1')
  f:close()
end
dist.barrier()
local mark = io.open(out .. '-barrier-mark', 'r')
results.barrier_saw_mark = mark ~= nil
if mark then mark:close() end
dist.barrier()

-- bad arguments (raised on both ranks before anything is sent)
results.bad_root = message(dist.broadcast, torch.ones(2), 2)
results.bad_op = message(dist.all_reduce, torch.ones(2), 'average')
results.mean_int = message(dist.all_reduce, torch.ones(2, { dtype = 'int64' }), 'mean')
results.gather_list_length = message(dist.all_gather, { torch.empty(2) }, torch.ones(2))
results.gather_size = message(dist.all_gather, torch.empty(5), torch.ones(2))
results.scatter_size = message(dist.reduce_scatter, torch.empty(2), torch.ones(3))
results.not_tensor = message(dist.all_reduce, { 1, 2 })
results.second_init = message(dist.init)

-- nn.DistributedDataParallel: each rank starts from a different seed; the wrapper copies rank 0's state
torch.manual_seed(100 + r)
local net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
net:register_buffer('steps', torch.tensor({ 10 * (r + 1) }, { dtype = 'int64' }))
local before_wrap = flat(net[1].weight)
local model = nn.DistributedDataParallel(net, { bucket_mb = 0.00003 }) -- one bucket per parameter or two
results.ddp_buckets = #model._buckets
results.ddp_weight_before, results.ddp_weight_after = before_wrap, flat(net[1].weight)
results.ddp_buffer = tonumber(net.steps[1])
local keys = {}
for k in pairs(model:state_dict()) do keys[#keys + 1] = k end
table.sort(keys)
results.ddp_keys = keys
-- every rank knows both ranks' batches, so it can work out the mean gradient without communication
local inputs = {}
for k = 0, 1 do
  local g = torch.Generator()
  g:manual_seed(7 + k)
  inputs[k] = torch.randn(5, 3, { generator = g })
end
local reference = net:clone()
local expected = {}
for k = 0, 1 do
  reference:zero_grad()
  reference(inputs[k]):pow(2):sum():backward()
  for i, p in ipairs(reference:parameters()) do
    expected[i] = expected[i] and (expected[i] + p.grad) or p.grad:clone()
  end
end
local worst = 0
model(inputs[r]):pow(2):sum():backward()
for i, p in ipairs(net:parameters()) do
  worst = math.max(worst, (p.grad - expected[i] / 2):abs():max())
end
results.ddp_grad_error = worst
-- no_sync: the local gradient only, then the next backward averages the accumulated sums
net:zero_grad()
model:no_sync(function() model(inputs[r]):pow(2):sum():backward() end)
local own = net[3].bias.grad:clone()
reference:zero_grad()
reference(inputs[r]):pow(2):sum():backward()
results.no_sync_local_error = (own - reference[3].bias.grad):abs():max()
model(inputs[r]):pow(2):sum():backward()
results.no_sync_then_sync_error = (net[3].bias.grad - expected[4]):abs():max() -- (2 g0 + 2 g1) / 2

-- parameters without gradients: `only0` is used on rank 0 only, `never` nowhere
local Two = nn.Module:extend('Two')
function Two:init()
  self.only0 = nn.Linear(2, 1)
  self.shared = nn.Linear(2, 1)
  self.never = nn.Linear(2, 1)
end
function Two:forward(x, use)
  local y = self.shared(x)
  if use then y = y + self.only0(x) end
  return y
end
torch.manual_seed(5)
local two = Two()
local model2 = nn.DistributedDataParallel(two)
local xin = torch.ones(1, 2)
model2(xin, r == 0):sum():backward()
results.unused_only0_bias_grad = two.only0.bias.grad and flat(two.only0.bias.grad) or 'nil'
results.unused_shared_bias_grad = flat(two.shared.bias.grad)
results.unused_never_grad = two.never.weight.grad == nil and 'nil' or 'set'

torch.save(string.format('%s-rank%d.t7', out, r), results)
