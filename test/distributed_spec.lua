-- tensor.distributed, nn.DistributedDataParallel and data.DistributedSampler.
--
-- The multi-process parts run real jobs on this machine's loopback: `mpirun --allow-run-as-root --oversubscribe
-- -np 2 bin/th <script>` (root in CI containers; two ranks on however many cores), each under `timeout` so
-- that a hang fails the spec instead of stalling CI. The scripts are in test/distributed/: collectives.lua
-- runs every collective and DDP case on 2 ranks and saves what each rank got, train_digits.lua trains the
-- digits MLP on 2 ranks (batches of 32) and on 1 process (batches of 64), failures.lua makes ranks die,
-- hang or disagree. Expected values are worked out by hand here; the sampler is compared with PyTorch's.
local torch = require 'tensor'
local nn = require 'tensor.nn'
local data = require 'tensor.data'
local dist = require 'tensor.distributed'
local ref = require 'helpers.torchref'

local ROOT = io.popen('pwd'):read('*l')
local TH = ROOT .. '/bin/th'
-- Containers: root needs --allow-run-as-root; two ranks on one core need --oversubscribe; and shared memory's
-- single-copy path (Linux CMA, process_vm_readv) is refused where ptrace is (Docker's default seccomp profile
-- without CAP_SYS_PTRACE: "Read -1, expected N, errno = 1"), so the specs use plain copy-in/copy-out.
local MPIRUN = 'OMPI_MCA_btl_vader_single_copy_mechanism=none mpirun --allow-run-as-root --oversubscribe -np 2'

local shell = require 'helpers.shell'
local quote, read = shell.quote, shell.read

local tmpdir
local function temp_dir()
  tmpdir = tmpdir or shell.temp_dir('distributed_spec')
  return tmpdir
end
teardown(function() if tmpdir then shell.remove(tmpdir) end end)

-- Runs a shell command (stdout and stderr together) under a time limit; returns { out =, rc = }.
local function sh(cmd, limit) return shell.run(temp_dir(), cmd, limit or 60) end

local function mpirun(script, args, limit)
  return sh(string.format('%s %s %s %s', MPIRUN, quote(TH), quote(ROOT .. '/test/distributed/' .. script), args or ''),
            limit)
end

local function close(actual, expected, tol)
  assert.are.equal(#expected, #actual, 'length')
  for i = 1, #expected do
    if math.abs(actual[i] - expected[i]) > (tol or 0) then
      error(string.format('element %d: expected %s, got %s (all: %s)', i, tostring(expected[i]), tostring(actual[i]),
                          table.concat(actual, ', ')), 2)
    end
  end
end

describe('distributed: before dist.init', function()
  it('collectives, rank and world_size raise an error naming the call', function()
    for _, call in ipairs({
      function() dist.rank() end, function() dist.world_size() end, function() dist.barrier() end,
      function() dist.all_reduce(torch.ones(2)) end, function() dist.broadcast(torch.ones(2), 0) end,
      function() dist.all_gather({ torch.empty(2) }, torch.ones(2)) end,
      function() dist.reduce_scatter(torch.empty(1), torch.ones(2)) end, function() dist.finalize() end,
    }) do
      local ok, err = pcall(call)
      assert.is_false(ok)
      assert.matches('distributed: %a[%w_]*: the process group is not initialized', err)
    end
    assert.is_false(dist.is_initialized())
    local ok, err = pcall(dist.all_reduce, torch.ones(2))
    assert.is_false(ok)
    assert.matches('call dist.init%(%) first', err)
  end)

  it('dist.init refuses bad options', function()
    local ok, err = pcall(dist.init, { backend = 'gloo' })
    assert.is_false(ok)
    assert.matches("init: unknown backend 'gloo' %(expected 'mpi' or 'nccl'%)", err)
    ok, err = pcall(dist.init, { timout = 3 })
    assert.is_false(ok)
    assert.matches("init: unknown option 'timout'", err)
    ok, err = pcall(dist.init, { timeout = -1 })
    assert.is_false(ok)
    assert.matches('timeout must be a positive number of seconds or false, got %-1', err)
    ok, err = pcall(dist.init, 'mpi')
    assert.is_false(ok)
    assert.matches('init: expected an options table, got string', err)
  end)

  it('nn.DistributedDataParallel needs the process group', function()
    local ok, err = pcall(nn.DistributedDataParallel, nn.Linear(2, 2))
    assert.is_false(ok)
    assert.matches('nn.DistributedDataParallel: the process group is not initialized: call dist.init%(%) first', err)
    ok, err = pcall(nn.DistributedDataParallel, 'model')
    assert.is_false(ok)
    assert.matches('nn.DistributedDataParallel: expected a module to wrap, got string', err)
  end)
end)

describe('distributed: the libraries', function()
  it('a missing Open MPI library is a clear error with the packages to install', function()
    local r = sh(string.format("TENSOR_MPI_LIBRARY=/nonexistent/libmpi.so.40 %s -e %s", quote(TH),
                               quote("require('tensor.distributed').init()")))
    assert.are_not.equal(0, r.rc, r.out)
    assert.matches("distributed: init: backend 'mpi' needs Open MPI %(libmpi%.so%.40%): apt%-get install " ..
                   "openmpi%-bin libopenmpi%-dev", r.out)
    local avail = sh(string.format("TENSOR_MPI_LIBRARY=/nonexistent/libmpi.so.40 %s -e %s", quote(TH),
                                   quote("print(require('tensor.distributed').is_available())")))
    assert.matches('^false\tbackend .mpi. needs Open MPI', avail.out)
  end)

  it('a missing NCCL library is a clear error', function()
    local r = sh(string.format("TENSOR_NCCL_LIBRARY=/nonexistent/libnccl.so.2 %s -e %s", quote(TH),
                               quote("require('tensor.distributed').init({backend='nccl'})")))
    assert.are_not.equal(0, r.rc, r.out)
    assert.matches("distributed: init: backend 'nccl' needs NCCL %(libnccl%.so%.2%)", r.out)
  end)

  it("backend 'nccl' starts on a GPU machine and says why not elsewhere", function()
    local r = sh(string.format('%s -e %s', quote(TH), quote([[
      local dist = require('tensor.distributed')
      dist.init({backend = 'nccl'})
      print('nccl started', dist.rank(), dist.world_size(), dist.device())
      local ok, err = pcall(dist.all_reduce, torch.ones(2))
      print(err)
    ]])))
    if sh('test -e /dev/nvidia0').rc == 0 then
      assert.are.equal(0, r.rc, r.out)
      assert.matches('nccl started\t0\t1\tcuda:0', r.out)
      assert.matches("all_reduce: the tensor is on cpu; the 'nccl' backend takes CUDA tensors", r.out)
    else
      assert.are_not.equal(0, r.rc, r.out)
      assert.matches("distributed: init: backend 'nccl' on rank 0: no usable CUDA device", r.out)
    end
  end)
end)

describe('distributed: collectives on 2 ranks', function()
  local res = {}
  setup(function()
    local out = temp_dir() .. '/coll'
    local r = mpirun('collectives.lua', quote(out))
    assert(r.rc == 0, 'collectives.lua failed:\n' .. r.out)
    res[0], res[1] = torch.load(out .. '-rank0.t7'), torch.load(out .. '-rank1.t7')
  end)

  -- Checks case `name` on both ranks against expected values (a function of the rank, or one list).
  local function both(name, expected, tol)
    for r = 0, 1 do
      local e = type(expected) == 'function' and expected(r) or expected
      close(res[r][name], e, tol)
    end
  end

  it('ranks count from 0; world size, local rank, backend and device', function()
    for r = 0, 1 do
      local id = res[r].identity
      assert.are.same({ rank = r, size = 2, local_rank = r, backend = 'mpi', device = 'cpu', initialized = true }, id)
    end
  end)

  it('all_reduce sum, mean, max, min, prod in place (float32, float64)', function()
    both('sum_float32', { 4.5, -6, 9.75, 12 })
    both('mean_float64', { 6, 7, 8 })
    both('max_float32', { 2, 5, -3 })
    both('min_float32', { 1, 4, -4 })
    both('prod_float32', { 8, 1.5 })
    assert.is_true(res[0].returns_tensor)
  end)

  it('all_reduce on float16, bfloat16 (through float32), int64 and bool', function()
    both('sum_float16', { 1.5, 3.75, 6144 })
    assert.are.equal('float16', res[1].sum_float16_dtype)
    both('mean_bfloat16', { 2, 4, 6 })
    assert.are.equal('bfloat16', res[0].mean_bfloat16_dtype)
    both('sum_int64', { 3 * 2 ^ 40, -9 })
    assert.are.equal('int64', res[0].sum_int64_dtype)
    for r = 0, 1 do assert.are.same({ true, true, false }, res[r].max_bool) end
  end)

  it('all_reduce on non-contiguous views writes through the view only', function()
    assert.is_false(res[0].transposed_is_contiguous)
    both('sum_transposed', { 3, 12, 6, 15, 9, 18 })
    both('sum_transposed_base', { 3, 6, 9, 12, 15, 18 })
    both('sum_float16_column', { 6, 18 })
    both('sum_float16_column_base', function(r)
      local k = r + 1
      return { k, 6, 3 * k, 4 * k, 5 * k, 18, 7 * k, 8 * k }
    end)
  end)

  it('moves the version counter of the tensor it writes', function()
    assert.is_true(res[0].version_moved)
    assert.is_true(res[1].version_moved)
  end)

  it('async all_reduce finishes at wait()', function()
    both('async', { 3, 6, 9, 12, 15 })
    both('async_float16', { 1.5, 4.5 })
  end)

  it('broadcast from a root rank, contiguous or not, float16 too', function()
    both('broadcast_root1', { 1.5, 1.5, 1.5, 1.5 })
    both('broadcast_transposed', { 1, 2, 3, 4, 5, 6 })
    both('broadcast_float16', { 0.5, 6 })
  end)

  it('all_gather into a list or one tensor', function()
    for r = 0, 1 do
      close(res[r].gather_list[1], { 0.5, 1.5 })
      close(res[r].gather_list[2], { 1.5, 2.5 })
      close(res[r].gather_float16[1], { 1.5, -2 })
      close(res[r].gather_float16[2], { 3, -4 })
    end
    assert.is_true(res[0].gather_returns_output)
    both('gather_tensor', { 1, 2, 3, 2, 4, 6 })
    both('gather_transposed_output', { 1, 11, 2, 12, 3, 13 })
  end)

  it('reduce_scatter leaves block r of the reduction on rank r', function()
    both('reduce_scatter_tensor', function(r) return r == 0 and { 3, 6 } or { 9, 12 } end)
    -- rank 0's block: mean of {1,2} and {2,3}; rank 1's: mean of {10,20} and {20,40}
    both('reduce_scatter_list_mean', function(r) return r == 0 and { 1.5, 2.5 } or { 15, 30 } end)
    both('reduce_scatter_float16_max', function(r) return r == 0 and { 3, 8 } or { -1, 0.5 } end)
  end)

  it('barrier waits for every rank', function()
    assert.is_true(res[0].barrier_saw_mark)
    assert.is_true(res[1].barrier_saw_mark)
  end)

  it('bad arguments raise errors naming the call and the values', function()
    for r = 0, 1 do
      local e = res[r]
      assert.matches('distributed: broadcast: root must be a rank from 0 to 1 %(ranks count from 0%), got 2', e.bad_root)
      assert.matches("all_reduce: unknown reduction 'average'", e.bad_op)
      assert.matches("all_reduce: 'mean' needs a floating point tensor, got int64", e.mean_int)
      assert.matches('all_gather: the output list must hold one tensor per rank %(2%), got 1', e.gather_list_length)
      assert.matches('all_gather: the output is %[5%] float32; expected 4 elements %(world size 2 x 2%)', e.gather_size)
      assert.matches('reduce_scatter: the input is %[3%] float32; expected 4 elements', e.scatter_size)
      assert.matches('all_reduce: expected a tensor for the tensor, got table', e.not_tensor)
      assert.matches("init: the process group is already initialized %(backend 'mpi'%)", e.second_init)
    end
  end)

  it('nn.DistributedDataParallel starts every rank from rank 0 (parameters and buffers)', function()
    assert.are_not.same(res[0].ddp_weight_before, res[1].ddp_weight_before)
    close(res[1].ddp_weight_after, res[0].ddp_weight_before)
    close(res[0].ddp_weight_after, res[0].ddp_weight_before)
    assert.are.equal(10, res[0].ddp_buffer)
    assert.are.equal(10, res[1].ddp_buffer)
    assert.is_true(res[0].ddp_buckets >= 3)
    assert.are.same({ 'module.0.bias', 'module.0.weight', 'module.2.bias', 'module.2.weight', 'module.steps' },
                    res[0].ddp_keys)
  end)

  it('nn.DistributedDataParallel averages the gradients over the ranks', function()
    for r = 0, 1 do
      assert.is_true(res[r].ddp_grad_error < 1e-5, tostring(res[r].ddp_grad_error))
    end
  end)

  it('no_sync keeps the local gradient; the next backward averages the accumulated sums', function()
    for r = 0, 1 do
      assert.is_true(res[r].no_sync_local_error < 1e-6, tostring(res[r].no_sync_local_error))
      assert.is_true(res[r].no_sync_then_sync_error < 1e-5, tostring(res[r].no_sync_then_sync_error))
    end
  end)

  it('a parameter used on some ranks gets the mean with zeros elsewhere; one used nowhere keeps grad nil', function()
    both('unused_only0_bias_grad', { 0.5 })
    both('unused_shared_bias_grad', { 1 })
    assert.are.equal('nil', res[0].unused_never_grad)
    assert.are.equal('nil', res[1].unused_never_grad)
  end)
end)

describe('distributed: training', function()
  it('2 ranks with batches of 32 end where 1 process with batches of 64 does (3 epochs of the digits MLP)', function()
    local out = temp_dir() .. '/train'
    local plain = sh(string.format('%s %s %s plain', quote(TH), quote(ROOT .. '/test/distributed/train_digits.lua'),
                                   quote(out)))
    assert.are.equal(0, plain.rc, plain.out)
    local ddp = mpirun('train_digits.lua', quote(out) .. ' ddp', 120)
    assert.are.equal(0, ddp.rc, ddp.out)
    local reference = torch.load(out .. '-plain-rank0.t7')
    local keys = {}
    for k in pairs(reference) do keys[#keys + 1] = k end
    assert.are.equal(6, #keys)
    for _, variant in ipairs({ 'ddp', 'overlap', 'accum' }) do
      local r0 = torch.load(string.format('%s-%s-rank0.t7', out, variant))
      local r1 = torch.load(string.format('%s-%s-rank1.t7', out, variant))
      for _, k in ipairs(keys) do
        local diff = (r0[k] - reference[k]):detach():abs():max()
        assert.is_true(diff <= 1e-5, string.format('%s %s differs from the single process by %g', variant, k, diff))
        assert.are.equal(0, (r0[k] - r1[k]):detach():abs():max(), variant .. ' ' .. k .. ': the replicas differ')
      end
    end
    -- and the training did something: the parameters moved away from their initial values
    torch.manual_seed(1)
    local initial = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
    assert.is_true((initial[5].weight - reference['4.weight']):detach():abs():max() > 1e-2)
  end)
end)

describe('distributed: failures end the whole job', function()
  it('a rank that exits before a collective: every rank ends, non-zero, and mpirun names it', function()
    local r = mpirun('failures.lua', 'exit')
    assert.are.equal(3, r.rc, r.out)
    assert.matches('Exit code:%s+3', r.out)
    assert.is_nil(r.out:find('finished the all_reduce', 1, true), r.out)
  end)

  it('a rank that raises an error: the job ends with its message (no MPI_Finalize wait)', function()
    local r = mpirun('failures.lua', 'error')
    assert.are.equal(1, r.rc, r.out)
    assert.matches('rank 1 gives up', r.out)
    assert.is_nil(r.out:find('finished the all_reduce', 1, true), r.out)
  end)

  it("a rank that hangs: the others stop after dist.init's timeout with a message", function()
    local r = mpirun('failures.lua', 'hang', 25)
    assert.are_not.equal(0, r.rc, r.out)
    assert.are_not.equal(124, r.rc, 'the job hung: ' .. r.out)
    assert.matches('distributed: rank 0 waited more than 1 s in all_reduce %(4 float32 elements%), collective #1',
                   r.out)
  end)

  it('mismatched sizes are caught by the debug handshake on every rank', function()
    local r = mpirun('failures.lua', 'mismatch')
    assert.are_not.equal(0, r.rc, r.out)
    local expected = "all_reduce: the ranks do not make the same call %(debug check%): rank 0: all_reduce%('sum'%) " ..
                     "of 4 float32 elements %(collective #1%); rank 1: all_reduce%('sum'%) of 1004 float32 elements"
    assert.matches(expected, r.out)
    assert.is_nil(r.out:find('finished the all_reduce', 1, true), r.out)
  end)
end)

describe('data.DistributedSampler', function()
  local cases = { { 10, 3, false }, { 10, 3, true }, { 7, 2, false }, { 12, 4, false }, { 5, 8, false },
                  { 11, 4, true } }
  local expected
  setup(function()
    local literal = {}
    for i, c in ipairs(cases) do
      literal[i] = string.format('(%d, %d, %s)', c[1], c[2], c[3] and 'True' or 'False')
    end
    expected = ref.run([[
from torch.utils.data.distributed import DistributedSampler
out = []
for n, replicas, drop in []] .. table.concat(literal, ', ') .. [[]:
    out.append([list(DistributedSampler(range(n), num_replicas=replicas, rank=r, shuffle=False, drop_last=drop))
                for r in range(replicas)])
]])
  end)

  it("splits the indices across replicas as PyTorch's sampler does (padding, drop_last)", function()
    for c, case in ipairs(cases) do
      local n, replicas, drop = case[1], case[2], case[3]
      local ds = data.TensorDataset(torch.zeros(n, 1))
      for r = 0, replicas - 1 do
        local s = data.DistributedSampler(ds, { num_replicas = replicas, rank = r, shuffle = false, drop_last = drop })
        local want = {}
        for i, v in ipairs(expected[c][r + 1]) do want[i] = v + 1 end
        assert.are.same(want, s:indices():tolist(), string.format('n=%d replicas=%d rank=%d', n, replicas, r))
        assert.are.equal(#want, s:size())
      end
    end
  end)

  it('shuffles with seed + epoch, the same permutation on every rank', function()
    local ds = data.TensorDataset(torch.zeros(10, 1))
    local s0 = data.DistributedSampler(ds, { num_replicas = 3, rank = 0, seed = 5 })
    local s2 = data.DistributedSampler(ds, { num_replicas = 3, rank = 2, seed = 5 })
    s0:set_epoch(2)
    s2:set_epoch(2)
    local g = torch.Generator()
    g:manual_seed(7)
    local perm = torch.randperm(10, { generator = g }):tolist()
    local unshuffled = expected[1]
    for _, pair in ipairs({ { s0, 1 }, { s2, 3 } }) do
      local want = {}
      for i, v in ipairs(unshuffled[pair[2]]) do want[i] = perm[v + 1] end
      assert.are.same(want, pair[1]:indices():tolist())
    end
    local e2 = s0:indices():tolist()
    s0:set_epoch(3)
    assert.are_not.same(e2, s0:indices():tolist())
  end)

  it('feeds a DataLoader (sampler=) with its share', function()
    local ds = data.TensorDataset(torch.arange(1, 11):float())
    local s = data.DistributedSampler(ds, { num_replicas = 2, rank = 1, shuffle = false })
    local loader = data.DataLoader(ds, { batch_size = 2, sampler = s })
    assert.are.equal(3, #loader)
    local seen = {}
    for x in loader:iter() do
      for _, v in ipairs(x:tolist()) do seen[#seen + 1] = v end
    end
    assert.are.same({ 2, 4, 6, 8, 10 }, seen)
  end)

  it('refuses bad arguments', function()
    local ds = data.TensorDataset(torch.zeros(4, 1))
    local ok, err = pcall(data.DistributedSampler, ds, { num_replicas = 2, rank = 2 })
    assert.is_false(ok)
    assert.matches('DistributedSampler: rank must be from 0 to 1 %(num_replicas %- 1; ranks count from 0 like ' ..
                   'dist.rank%(%)%), got 2', err)
    ok, err = pcall(data.DistributedSampler, ds, { num_replicas = 0, rank = 0 })
    assert.is_false(ok)
    assert.matches('num_replicas must be a positive integer, got 0', err)
    ok, err = pcall(data.DistributedSampler, ds)
    assert.is_false(ok)
    assert.matches('call dist.init%(%) first, or pass both', err)
    ok, err = pcall(data.DistributedSampler, 'x', { num_replicas = 1, rank = 0 })
    assert.is_false(ok)
    assert.matches('expected a dataset with size%(%), got string', err)
    ok, err = pcall(data.DistributedSampler, ds, { num_replicas = 1, rank = 0, shufle = true })
    assert.is_false(ok)
    assert.matches("unknown option 'shufle'", err)
  end)
end)
