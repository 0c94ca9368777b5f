-- tensor.distributed: multi-process data parallelism on Open MPI (CPU tensors) and NCCL (CUDA tensors).
--
--   mpirun -np 4 th train.lua
--   local dist = require 'tensor.distributed'
--   dist.init()                                  -- backend 'mpi'; {backend='nccl'} on GPUs
--   dist.all_reduce(t, 'mean')                   -- every rank now holds the mean of all ranks' t
--
-- Ranks are identities of processes, not positions in a Lua list, so they count from 0 as in MPI and
-- PyTorch: dist.rank() is 0 .. world_size()-1, and `root` arguments are such ranks.
--
-- Collectives work in place on tensors of every numeric dtype, contiguous or not. A contiguous tensor of a
-- dtype the library reduces natively goes to MPI/NCCL as it is (its own memory: no copy); others go
-- through a contiguous staging copy that is copied back. MPI has no 16-bit float types, so float16 and
-- bfloat16 tensors are reduced in float32 staging buffers (and rounded once, at the end); NCCL reduces them
-- natively. Every rank must make the same collective calls in the same order with tensors of the same size
-- and dtype; dist.init{debug=true} checks that before each call.
--
-- Failures end every rank rather than leaving some waiting: a rank that exits or dies makes mpirun end the
-- others; a rank that waits in a collective longer than the timeout of dist.init is terminated with a
-- message (tensor.distributed.watchdog), and mpirun then ends the rest.
local ffi = require 'ffi'
local core = require 'tensor.core'
require 'tensor'
local dtype = require 'tensor.dtype'
local args = require 'tensor.args'
local watchdog = require 'tensor.distributed.watchdog'

local C, wrap, is_tensor, raise = core.C, core.wrap, core.is_tensor, core.raise
local is_opts = args.is_opts
local codes = watchdog.codes
local FLOAT32, FLOAT16, BFLOAT16, BOOL = dtype.FLOAT32, dtype.FLOAT16, dtype.BFLOAT16, dtype.BOOL

local dist = {}

local DEFAULT_TIMEOUT = 1800 -- seconds, PyTorch's default

local state = {
  initialized = false, finalized = false, backend = nil, rank = 0, size = 1, local_rank = 0, device = 'cpu',
  timeout = DEFAULT_TIMEOUT, debug = false, seq = 0,
}
local mpi, nccl           -- the library layers (tensor.distributed.mpi / .nccl), once loaded
local coll                -- the layer that moves tensor data: mpi, or nccl for the nccl backend
local device_type = 0     -- the device of the tensors the backend takes (0 cpu, 1 cuda)
local native = {}         -- dtype enum -> the backend's datatype, for the dtypes it reduces natively

local function fail(fn, fmt, ...)
  raise(string.format('distributed: ' .. fn .. ': ' .. fmt, ...))
end

-- ---------------------------------------------------------------- set-up

local function install_message(backend)
  if backend == 'nccl' then
    return "NCCL (libnccl.so.2) and the CUDA runtime, from the CUDA toolkit (/usr/local/cuda/lib64) or " ..
           "NVIDIA's libnccl2 package"
  end
  return 'Open MPI (libmpi.so.40): apt-get install openmpi-bin libopenmpi-dev'
end

--- dist.is_available([backend='mpi']) -> boolean, reason
-- Whether the libraries of a backend ('mpi' or 'nccl') can be loaded here (nothing is initialized).
function dist.is_available(backend)
  backend = backend or 'mpi'
  local ok, why = require('tensor.distributed.mpi').load()
  if ok and backend == 'nccl' then ok, why = require('tensor.distributed.nccl').load() end
  if ok then return true end
  return false, string.format("backend '%s' needs %s (%s)", backend, install_message(backend), tostring(why))
end

-- Every rank learns whether all ranks succeeded at a step (so that they fail together rather than some
-- waiting for the others): returns true, or false and the first failing rank.
local function agree(ok)
  local flags = ffi.new('int64_t[1]', ok and state.rank + 1 or -(state.rank + 1))
  local rc = mpi.all_reduce(flags, 1, mpi.int64, mpi.ops.min, 8)
  if rc ~= 0 then return false, -1 end
  if flags[0] < 0 then return false, -tonumber(flags[0]) - 1 end
  return true
end

local raw_exit = os.exit

--- dist.init({backend='mpi', timeout=1800, debug=false})
-- Joins the processes started by the launcher (`mpirun -np N th script.lua`) into one group: afterwards
-- dist.rank() and dist.world_size() say who this process is. backend 'mpi' (Open MPI) takes CPU tensors;
-- 'nccl' takes CUDA tensors, one process per GPU (the rank's GPU is its local rank on the node modulo the
-- number of GPUs; dist.device() names it), and uses MPI to start. Run without a launcher, the group has
-- one process. timeout: seconds a rank may wait in one collective before it is terminated with a message
-- (so that a rank that died or stopped calling collectives ends the job rather than hanging it); false
-- turns the watch off. debug=true checks before each collective that every rank makes the same call with
-- the same sizes and dtypes, and raises an error naming the ranks that differ.
-- At a normal exit (the end of a th script, os.exit(0)) MPI is finalized for you; an exit with an error
-- status leaves at once, and mpirun ends the other ranks. Plain `luajit` scripts call dist.finalize() at
-- the end.
-- Example: dist.init({backend='mpi', timeout=600})
function dist.init(opts)
  if opts ~= nil and type(opts) ~= 'table' then fail('init', 'expected an options table, got %s', type(opts)) end
  opts = opts or {}
  for k in pairs(opts) do
    if k ~= 'backend' and k ~= 'timeout' and k ~= 'debug' then
      fail('init', "unknown option '%s' (expected backend, timeout, debug)", tostring(k))
    end
  end
  local backend = opts.backend or 'mpi'
  if backend ~= 'mpi' and backend ~= 'nccl' then
    fail('init', "unknown backend '%s' (expected 'mpi' or 'nccl')", tostring(backend))
  end
  local timeout = opts.timeout
  if timeout == nil then timeout = DEFAULT_TIMEOUT end
  if timeout ~= false and (type(timeout) ~= 'number' or not (timeout > 0)) then
    fail('init', 'timeout must be a positive number of seconds or false, got %s', tostring(timeout))
  end
  if state.initialized then
    fail('init', "the process group is already initialized (backend '%s')", state.backend)
  end
  if state.finalized then
    fail('init', 'the process group was finalized; MPI cannot be initialized twice in one process')
  end

  mpi = require 'tensor.distributed.mpi'
  local ok, why = mpi.load()
  if not ok then fail('init', "backend '%s' needs %s (%s)", backend, install_message('mpi'), why) end
  if backend == 'nccl' then
    nccl = require 'tensor.distributed.nccl'
    ok, why = nccl.load()
    if not ok then fail('init', "backend 'nccl' needs %s (%s)", install_message('nccl'), why) end
  end

  -- The watcher is forked before MPI starts (a process with MPI running should not fork).
  local launched = tonumber(os.getenv('OMPI_COMM_WORLD_SIZE') or '')
  if timeout and launched and launched > 1 then
    ok, why = watchdog.start(timeout, dtype.name)
    if not ok then fail('init', 'cannot start the timeout watch: %s', why) end
  end
  watchdog.arm(codes.init, -1, -1, 0)
  local rank, size, local_rank = mpi.init()
  watchdog.disarm()
  if not rank then fail('init', '%s', size) end
  state.rank, state.size, state.local_rank = rank, size, local_rank
  state.timeout, state.debug, state.seq = timeout, opts.debug == true, 0
  watchdog.set_rank(rank)

  if backend == 'nccl' then
    local device, reason = nccl.init_device(local_rank)
    local id
    if device and rank == 0 then
      id, reason = nccl.unique_id()
      if not id then device = nil end
    end
    local all_ok, first = agree(device ~= nil)
    if not all_ok then
      mpi.finalize()
      state.finalized = true
      if device == nil then fail('init', "backend 'nccl' on rank %d: %s", rank, reason) end
      fail('init', "backend 'nccl': rank %d could not start (see its message)", first)
    end
    id = id or nccl.empty_id()
    watchdog.arm(codes.init, -1, -1, 0)
    local rc = mpi.broadcast(id, ffi.sizeof(id), mpi.dtypes[8], 0, 1)
    local joined, err = rc == 0, rc ~= 0 and ('broadcasting the NCCL id over MPI failed: ' .. mpi.error_string(rc))
    if joined then joined, err = nccl.join(rank, size, id) end
    watchdog.disarm()
    if not joined then fail('init', "backend 'nccl' on rank %d: %s", rank, err) end
    coll, device_type, native = nccl, 1, nccl.dtypes
    state.device = 'cuda:' .. device
  else
    coll, device_type, native = mpi, 0, mpi.dtypes
    state.device = 'cpu'
  end
  state.backend, state.initialized = backend, true

  -- A normal exit finalizes MPI (mpirun treats a rank that exits without MPI_Finalize as failed); an exit
  -- with an error status must not (MPI_Finalize waits for the other ranks, which may be waiting for this
  -- one): it leaves at once and mpirun ends the job.
  os.exit = function(code, close)
    if state.initialized and not state.finalized and (code == nil or code == true or code == 0) then
      pcall(dist.finalize)
    end
    return raw_exit(code, close)
  end
end

--- dist.finalize()
-- Leaves the process group (MPI_Finalize; NCCL's communicator is destroyed). Every rank calls it once,
-- after its last collective; th scripts need not (a normal exit does it).
function dist.finalize()
  if not state.initialized then fail('finalize', 'the process group is not initialized') end
  state.initialized, state.finalized = false, true
  if nccl and state.backend == 'nccl' then
    nccl.synchronize()
    nccl.finalize()
  end
  watchdog.arm(codes.finalize, -1, -1, state.seq)
  mpi.finalize()
  watchdog.disarm()
  os.exit = raw_exit
end

local function require_init(fn)
  if not state.initialized then
    if state.finalized then fail(fn, 'the process group was finalized (dist.finalize)') end
    fail(fn, 'the process group is not initialized: call dist.init() first (and launch the script with ' ..
             'mpirun -np N th script.lua)')
  end
end

--- dist.is_initialized() -> boolean
function dist.is_initialized() return state.initialized end

--- dist.rank() -> number
-- This process's rank, counted from 0 (as MPI and PyTorch do): 0 .. dist.world_size()-1.
function dist.rank()
  require_init('rank')
  return state.rank
end

--- dist.world_size() -> number
-- The number of processes in the group.
function dist.world_size()
  require_init('world_size')
  return state.size
end

--- dist.local_rank() -> number
-- The rank of this process among those on the same machine (from 0).
function dist.local_rank()
  require_init('local_rank')
  return state.local_rank
end

--- dist.get_backend() -> string
-- 'mpi' or 'nccl'.
function dist.get_backend()
  require_init('get_backend')
  return state.backend
end

--- dist.device() -> string
-- The device this rank's tensors live on: 'cpu' for the mpi backend, 'cuda:N' (this rank's GPU) for nccl.
-- Example: model:to(dist.device())
function dist.device()
  require_init('device')
  return state.device
end

-- ---------------------------------------------------------------- checks

local op_names = { sum = true, mean = true, max = true, min = true, prod = true }
local op_codes = { sum = 1, mean = 2, max = 3, min = 4, prod = 5 }
local op_by_code = { 'sum', 'mean', 'max', 'min', 'prod' }

local function shape_string(c)
  local parts = {}
  for d = 0, c.ndim - 1 do parts[#parts + 1] = tostring(tonumber(c.sizes[d])) end
  return '[' .. table.concat(parts, ' x ') .. ']'
end

local function device_string(c)
  if c.storage.device_type == 0 then return 'cpu' end
  return 'cuda:' .. tonumber(c.storage.device_index)
end

-- The C tensor of a tensor argument, after checking it suits the backend.
local function check_tensor(fn, t, what)
  if not is_tensor(t) then fail(fn, 'expected a tensor for %s, got %s', what, type(t)) end
  local c = t._c
  if c.storage.device_type ~= device_type then
    if device_type == 0 then
      fail(fn, "%s is on %s; the '%s' backend takes CPU tensors (use dist.init{backend='nccl'} for CUDA tensors)",
           what, device_string(c), state.backend)
    end
    fail(fn, "%s is on %s; the 'nccl' backend takes CUDA tensors (move it with :to(dist.device()))", what,
         device_string(c))
  end
  local dt = tonumber(c.dtype)
  if not native[dt] and not (device_type == 0 and (dt == FLOAT16 or dt == BFLOAT16)) then
    fail(fn, "%s has dtype %s, which the '%s' backend cannot reduce", what, dtype.name[dt], state.backend)
  end
  return c
end

local function parse_op(fn, op, c)
  op = op or 'sum'
  if not op_names[op] then
    fail(fn, "unknown reduction '%s' (expected 'sum', 'mean', 'max', 'min' or 'prod')", tostring(op))
  end
  if op == 'mean' and not dtype.floating[tonumber(c.dtype)] then
    fail(fn, "'mean' needs a floating point tensor, got %s", dtype.name[tonumber(c.dtype)])
  end
  return op
end

-- The backend's reduction for op on dtype dt ('mean' sums, then divides, except where NCCL averages).
local function backend_op(op, dt)
  if coll == nccl then
    return nccl.ops[op == 'mean' and 'avg' or op]
  end
  if dt == BOOL then
    return (op == 'sum' or op == 'max') and mpi.ops.lor or mpi.ops.land
  end
  return mpi.ops[op == 'mean' and 'sum' or op]
end

-- debug mode: before each collective every rank shares what it is about to do; a difference is an error on
-- every rank, naming each rank's call.
local KIND, DTYPE, NUMEL, EXTRA, SEQ, FIELDS = 0, 1, 2, 3, 4, 5
local handshake_send = ffi.new('int64_t[?]', FIELDS)
local handshake_recv, handshake_capacity = nil, 0

local function describe(kind, dt, numel, extra)
  local name = watchdog.names[kind] or '?'
  local what = string.format('%d %s elements', numel, dtype.name[dt] or '?')
  if kind == codes.all_reduce or kind == codes.reduce_scatter then
    return string.format("%s('%s') of %s", name, op_by_code[extra] or '?', what)
  elseif kind == codes.broadcast then
    return string.format('%s from rank %d of %s', name, extra, what)
  elseif kind == codes.barrier then
    return name
  end
  return name .. ' of ' .. what
end

local function handshake(fn, kind, dt, numel, extra)
  local size = state.size
  if handshake_capacity < size then
    handshake_recv, handshake_capacity = ffi.new('int64_t[?]', size * FIELDS), size
  end
  handshake_send[KIND], handshake_send[DTYPE], handshake_send[NUMEL] = kind, dt, numel
  handshake_send[EXTRA], handshake_send[SEQ] = extra, state.seq
  watchdog.arm(codes['debug check'], dt, numel, state.seq)
  local rc = mpi.all_gather(handshake_send, handshake_recv, FIELDS, mpi.int64)
  watchdog.disarm()
  if rc ~= 0 then fail(fn, 'the debug check failed in MPI: %s', mpi.error_string(rc)) end
  local same = true
  for r = 1, size - 1 do
    for f = 0, FIELDS - 1 do
      if handshake_recv[r * FIELDS + f] ~= handshake_recv[f] then same = false end
    end
  end
  if same then return end
  local lines = {}
  for r = 0, size - 1 do
    local b = r * FIELDS
    lines[#lines + 1] = string.format('rank %d: %s (collective #%d)', r,
      describe(tonumber(handshake_recv[b + KIND]), tonumber(handshake_recv[b + DTYPE]),
               tonumber(handshake_recv[b + NUMEL]), tonumber(handshake_recv[b + EXTRA])),
      tonumber(handshake_recv[b + SEQ]))
  end
  fail(fn, 'the ranks do not make the same call (debug check): %s', table.concat(lines, '; '))
end

local function raise_rc(fn, rc)
  if type(rc) == 'string' then fail(fn, '%s', rc) end
  if coll == nccl then fail(fn, 'NCCL error: %s', nccl.error_string(rc)) end
  local text = mpi.error_string(rc)
  if text:find('TRUNCATE', 1, true) then
    text = text .. ' (the ranks passed tensors of different sizes; dist.init{debug=true} names them)'
  end
  fail(fn, 'MPI error: %s', text)
end

-- After a collective wrote into memory behind a tensor's back: autograd's version counter must move.
local function bump(c)
  c.storage.version = c.storage.version + 1
end

-- A contiguous tensor of a dtype the backend takes, holding c's values when fill: c's own tensor t when it
-- already is one, else a new staging tensor (float32 for 16-bit floats on MPI) of c's shape.
local function staging(t, c, fill)
  local dt = tonumber(c.dtype)
  if native[dt] and C.tn_is_contiguous(c) == 1 then return t, false end
  local target = native[dt] and dt or FLOAT32
  local s = wrap(C.tn_empty(c.ndim, c.sizes, target, c.storage.device_type, c.storage.device_index))
  if fill then core.check(C.tn_copy_(s._c, c)) end
  return s, true
end

local function data_ptr(c)
  return C.tn_data_ptr(c)
end

local function elsize(c) return dtype.size[tonumber(c.dtype)] end

-- Waits for queued NCCL work before the host reads results (no-op for MPI, whose calls return when done).
local function settle(fn, what, dt, numel)
  if coll ~= nccl then return end
  watchdog.arm(what, dt, numel, state.seq)
  local err = nccl.synchronize()
  watchdog.disarm()
  if err ~= 0 then raise_rc(fn, err) end
end

-- Divides by the world size (the 'mean' of MPI, which only sums).
local function divide(t)
  if state.size ~= 1 then t:detach():div_(state.size) end
end

-- ---------------------------------------------------------------- collectives

--- dist.barrier()
-- Returns once every rank has called it.
function dist.barrier()
  require_init('barrier')
  state.seq = state.seq + 1
  if state.debug then handshake('barrier', codes.barrier, -1, -1, -1) end
  if coll == nccl then settle('barrier', codes.barrier, -1, -1) end
  watchdog.arm(codes.barrier, -1, -1, state.seq)
  local rc = mpi.barrier()
  watchdog.disarm()
  if rc ~= 0 then raise_rc('barrier', rc) end
end

-- The work of a collective started with {async=true}.
local Work = {}
Work.__index = Work

--- work:wait() -> Tensor
-- Waits until the collective has finished (and its result is in the tensor), then returns the tensor.
function Work:wait()
  if self.done then return self.tensor end
  if self.request then
    watchdog.arm(codes.wait, self.dtype, self.numel, self.seq)
    local rc = mpi.wait(self.request)
    watchdog.disarm()
    if rc ~= 0 then raise_rc('wait', rc) end
  end
  self.done = true
  self:finish()
  return self.tensor
end

--- work:is_completed() -> boolean
-- Whether the collective has finished, without waiting (it also lets MPI progress it); the tensor holds the
-- result only after wait().
function Work:is_completed()
  if self.done then return true end
  if self.request then
    local rc, done = mpi.test(self.request)
    if rc ~= 0 then raise_rc('is_completed', rc) end
    if done then
      self.request = nil
      return true
    end
    return false
  end
  return true
end

-- Copies a staged result back and divides for 'mean'.
function Work:finish()
  local s, c = self.stage, self.tensor._c
  if self.mean then divide(s or self.tensor) end
  if s then
    core.check(C.tn_copy_(c, s._c))
  else
    bump(c)
  end
end

-- The finish of a collective queued on NCCL's stream: the stream first. (A function of its own rather than a
-- closure in all_reduce, whose upvalues LuaJIT would have to close: that keeps all_reduce compiled.)
local function finish_queued(w)
  settle('all_reduce', codes.wait, w.dtype, w.numel)
  Work.finish(w)
end

local function options(fn, op, opts, known)
  if is_opts(op) then op, opts = nil, op end
  opts = opts or {}
  for k in pairs(opts) do
    if not known[k] then fail(fn, "unknown option '%s'", tostring(k)) end
  end
  return op or opts.op, opts
end
local reduce_options = { op = true, async = true }

--- dist.all_reduce(tensor, [op='sum'], {async=false}) -> tensor (or a work with async)
-- Reduces tensor across all ranks, in place: afterwards every rank holds the element-wise 'sum', 'mean',
-- 'max', 'min' or 'prod' of all ranks' tensors. With {async=true} it returns at once a work object whose
-- wait() finishes it (the tensor must not be used until then); MPI moves the data while the caller keeps
-- calling MPI (e.g. work:is_completed()), NCCL on the GPU.
-- Example: dist.all_reduce(grad, 'mean')
function dist.all_reduce(t, op, opts)
  require_init('all_reduce')
  op, opts = options('all_reduce', op, opts, reduce_options)
  local c = check_tensor('all_reduce', t, 'the tensor')
  op = parse_op('all_reduce', op, c)
  local dt, numel = tonumber(c.dtype), tonumber(c.numel)
  state.seq = state.seq + 1
  if state.debug then handshake('all_reduce', codes.all_reduce, dt, numel, op_codes[op]) end
  local buf, staged = staging(t, c, true)
  local bc = buf._c
  local bdt = tonumber(bc.dtype)
  local mean = op == 'mean' and coll ~= nccl
  local work = opts.async and setmetatable({ tensor = t, stage = staged and buf or nil, mean = mean, done = false,
                                             dtype = dt, numel = numel, seq = state.seq }, Work)
  if work and coll == mpi and numel <= mpi.INT_MAX then
    local req = ffi.new('MPI_Request[1]')
    local rc = mpi.iall_reduce(data_ptr(bc), numel, native[bdt], backend_op(op, bdt), req)
    if rc ~= 0 then raise_rc('all_reduce', rc) end
    work.request = req
    return work
  end
  watchdog.arm(codes.all_reduce, dt, numel, state.seq)
  local rc = coll.all_reduce(data_ptr(bc), numel, native[bdt], backend_op(op, bdt), elsize(bc))
  watchdog.disarm()
  if rc ~= 0 then raise_rc('all_reduce', rc) end
  if work then -- NCCL: queued on the stream; wait() synchronizes
    work.finish = finish_queued
    return work
  end
  if staged then settle('all_reduce', codes.all_reduce, dt, numel) end
  if mean then divide(buf) end
  if staged then core.check(C.tn_copy_(c, bc)) else bump(c) end
  return t
end

--- dist.broadcast(tensor, [root=0]) -> tensor
-- Copies the tensor of rank root (counted from 0) into the tensor of every other rank, in place.
-- Example: dist.broadcast(weights, 0)
function dist.broadcast(t, root)
  require_init('broadcast')
  if is_opts(root) then root = root.root end
  root = root or 0
  local c = check_tensor('broadcast', t, 'the tensor')
  if type(root) ~= 'number' or root ~= math.floor(root) or root < 0 or root >= state.size then
    fail('broadcast', 'root must be a rank from 0 to %d (ranks count from 0), got %s', state.size - 1, tostring(root))
  end
  local dt, numel = tonumber(c.dtype), tonumber(c.numel)
  state.seq = state.seq + 1
  if state.debug then handshake('broadcast', codes.broadcast, dt, numel, root) end
  local buf, staged = staging(t, c, state.rank == root)
  local bc = buf._c
  watchdog.arm(codes.broadcast, dt, numel, state.seq)
  local rc = coll.broadcast(data_ptr(bc), numel, native[tonumber(bc.dtype)], root, elsize(bc))
  watchdog.disarm()
  if rc ~= 0 then raise_rc('broadcast', rc) end
  if state.rank ~= root then
    if staged then
      settle('broadcast', codes.broadcast, dt, numel)
      core.check(C.tn_copy_(c, bc))
    else
      bump(c)
    end
  end
  return t
end

-- A list argument: size tensors, each of the size and dtype of the reference c.
local function check_list(fn, list, c, what)
  if #list ~= state.size then
    fail(fn, '%s must hold one tensor per rank (%d), got %d', what, state.size, #list)
  end
  for i, x in ipairs(list) do
    local xc = check_tensor(fn, x, string.format('%s[%d]', what, i))
    if tonumber(xc.numel) ~= tonumber(c.numel) or xc.dtype ~= c.dtype then
      fail(fn, '%s[%d] is %s %s, expected %s %s like the tensor', what, i, shape_string(xc),
           dtype.name[tonumber(xc.dtype)], shape_string(c), dtype.name[tonumber(c.dtype)])
    end
  end
end

-- The flat view of buffer b (a contiguous tensor of world_size * n elements) for rank r (from 0), shaped like c.
local function block(b, r, n, c)
  local sizes = {}
  for d = 0, c.ndim - 1 do sizes[#sizes + 1] = tonumber(c.sizes[d]) end
  return b:view(-1):narrow(1, r * n + 1, n):view(sizes)
end

--- dist.all_gather(output, tensor) -> output
-- Gathers every rank's tensor on every rank: output is a list of world_size tensors shaped like tensor
-- (output[r + 1] receives rank r's), or one tensor of world_size times tensor's elements holding them in
-- rank order (e.g. [world_size x n] or [world_size * n] for an [n] tensor).
-- Example: local parts = {}; for i = 1, dist.world_size() do parts[i] = torch.empty(3) end; dist.all_gather(parts, x)
function dist.all_gather(output, t)
  require_init('all_gather')
  local c = check_tensor('all_gather', t, 'the tensor')
  local n, dt = tonumber(c.numel), tonumber(c.dtype)
  local size = state.size
  local out_c
  if is_tensor(output) then
    out_c = check_tensor('all_gather', output, 'the output')
    if tonumber(out_c.numel) ~= size * n or out_c.dtype ~= c.dtype then
      fail('all_gather', 'the output is %s %s; expected %d elements (world size %d x %d) of %s', shape_string(out_c),
           dtype.name[tonumber(out_c.dtype)], size * n, size, n, dtype.name[dt])
    end
  elseif type(output) == 'table' then
    check_list('all_gather', output, c, 'the output list')
  else
    fail('all_gather', 'expected a list of tensors or a tensor for the output, got %s', type(output))
  end
  if n > mpi.INT_MAX then fail('all_gather', 'the tensor has %d elements, more than one call moves (%d)', n, mpi.INT_MAX) end
  state.seq = state.seq + 1
  if state.debug then handshake('all_gather', codes.all_gather, dt, n, -1) end
  local send = staging(t, c, true)
  local recv, staged
  if out_c then
    recv, staged = staging(output, out_c, false)
  else
    local target = native[dt] and dt or FLOAT32
    recv, staged = wrap(C.tn_empty(1, ffi.new('int64_t[1]', size * n), target, c.storage.device_type,
                                   c.storage.device_index)), true
  end
  local sc, rc_ = send._c, recv._c
  watchdog.arm(codes.all_gather, dt, n, state.seq)
  local rc = coll.all_gather(data_ptr(sc), data_ptr(rc_), n, native[tonumber(rc_.dtype)], state.rank, elsize(rc_))
  watchdog.disarm()
  if rc ~= 0 then raise_rc('all_gather', rc) end
  if staged then settle('all_gather', codes.all_gather, dt, n) end
  if out_c then
    if staged then core.check(C.tn_copy_(out_c, rc_)) else bump(out_c) end
  else
    for r = 0, size - 1 do core.check(C.tn_copy_(output[r + 1]._c, block(recv, r, n, c)._c)) end
  end
  return output
end

--- dist.reduce_scatter(output, input, [op='sum']) -> output
-- Reduces input across ranks and leaves block r of the result in rank r's output: input is a list of
-- world_size tensors shaped like output (input[r + 1] is the part for rank r), or one tensor of world_size
-- times output's elements, in rank order. op: 'sum', 'mean', 'max', 'min', 'prod'.
function dist.reduce_scatter(output, input, op, opts)
  require_init('reduce_scatter')
  op, opts = options('reduce_scatter', op, opts, { op = true })
  local c = check_tensor('reduce_scatter', output, 'the output')
  op = parse_op('reduce_scatter', op, c)
  local n, dt = tonumber(c.numel), tonumber(c.dtype)
  local size = state.size
  local in_c
  if is_tensor(input) then
    in_c = check_tensor('reduce_scatter', input, 'the input')
    if tonumber(in_c.numel) ~= size * n or in_c.dtype ~= c.dtype then
      fail('reduce_scatter', 'the input is %s %s; expected %d elements (world size %d x %d) of %s',
           shape_string(in_c), dtype.name[tonumber(in_c.dtype)], size * n, size, n, dtype.name[dt])
    end
  elseif type(input) == 'table' then
    check_list('reduce_scatter', input, c, 'the input list')
  else
    fail('reduce_scatter', 'expected a list of tensors or a tensor for the input, got %s', type(input))
  end
  if n > mpi.INT_MAX then
    fail('reduce_scatter', 'the output has %d elements, more than one call moves (%d)', n, mpi.INT_MAX)
  end
  state.seq = state.seq + 1
  if state.debug then handshake('reduce_scatter', codes.reduce_scatter, dt, n, op_codes[op]) end
  local send
  if in_c then
    send = staging(input, in_c, true)
  else
    local target = native[dt] and dt or FLOAT32
    send = wrap(C.tn_empty(1, ffi.new('int64_t[1]', size * n), target, c.storage.device_type, c.storage.device_index))
    for r = 0, size - 1 do core.check(C.tn_copy_(block(send, r, n, c)._c, input[r + 1]._c)) end
  end
  local recv, staged = staging(output, c, false)
  local sc, rc_ = send._c, recv._c
  local bdt = tonumber(rc_.dtype)
  watchdog.arm(codes.reduce_scatter, dt, n, state.seq)
  local rc = coll.reduce_scatter(data_ptr(sc), data_ptr(rc_), n, native[bdt], backend_op(op, bdt))
  watchdog.disarm()
  if rc ~= 0 then raise_rc('reduce_scatter', rc) end
  if staged then settle('reduce_scatter', codes.reduce_scatter, dt, n) end
  if op == 'mean' and coll ~= nccl then divide(recv) end
  if staged then core.check(C.tn_copy_(c, rc_)) else bump(c) end
  return output
end

-- For tests and tools: the state of the group, and the library layer in use.
dist._state = state
function dist._backend() return coll end

return dist
