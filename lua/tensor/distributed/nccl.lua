-- tensor.distributed.nccl: NVIDIA's NCCL through the FFI, for CUDA tensors (one process per GPU).
--
-- NCCL needs every rank to join one communicator identified by a unique id: rank 0 makes it
-- (ncclGetUniqueId) and MPI broadcasts it, so the nccl backend runs on top of an initialized MPI (which also
-- gives the barrier and the debug checks). Each rank drives the GPU numbered by its rank on the node
-- (mpirun's local rank, modulo the number of GPUs). Collectives are queued on the CUDA stream of the tensor
-- backend (its current_stream() when it provides one, otherwise the legacy default stream, which orders them
-- after the kernels already queued); wait() synchronizes that stream.
--
-- Libraries: libnccl.so.2 and the CUDA runtime (libcudart), found through $TENSOR_NCCL_LIBRARY /
-- $TENSOR_CUDART_LIBRARY, the dynamic linker, or the CUDA toolkit's lib64 ($CUDA_HOME, /usr/local/cuda).
local ffi = require 'ffi'

ffi.cdef [[
typedef struct ncclComm *ncclComm_t;
typedef struct { char internal[128]; } ncclUniqueId;
typedef struct CUstream_st *cudaStream_t;
int ncclGetVersion(int *version);
int ncclGetUniqueId(ncclUniqueId *uniqueId);
int ncclCommInitRank(ncclComm_t *comm, int nranks, ncclUniqueId commId, int rank);
int ncclCommDestroy(ncclComm_t comm);
int ncclCommAbort(ncclComm_t comm);
int ncclCommGetAsyncError(ncclComm_t comm, int *asyncError);
const char *ncclGetErrorString(int result);
const char *ncclGetLastError(ncclComm_t comm);
int ncclAllReduce(const void *sendbuff, void *recvbuff, size_t count, int datatype, int op, ncclComm_t comm,
                  cudaStream_t stream);
int ncclBroadcast(const void *sendbuff, void *recvbuff, size_t count, int datatype, int root, ncclComm_t comm,
                  cudaStream_t stream);
int ncclAllGather(const void *sendbuff, void *recvbuff, size_t sendcount, int datatype, ncclComm_t comm,
                  cudaStream_t stream);
int ncclReduceScatter(const void *sendbuff, void *recvbuff, size_t recvcount, int datatype, int op, ncclComm_t comm,
                      cudaStream_t stream);

int cudaGetDeviceCount(int *count);
int cudaSetDevice(int device);
int cudaStreamSynchronize(cudaStream_t stream);
const char *cudaGetErrorString(int error);
]]

local M = {}

-- ncclDataType_t for the tensor dtypes (float16 and bfloat16 are native), ncclRedOp_t for the ops.
M.dtypes = { [0] = 7, [1] = 8, [2] = 6, [3] = 9, [4] = 4, [5] = 2, [7] = 0, [8] = 1 }
M.ops = { sum = 0, prod = 1, max = 2, min = 3, avg = 4 }

local nccl, cudart, comm
local int1 = ffi.new('int[1]')

local function toolkit_dirs()
  local dirs = {}
  local home = os.getenv('CUDA_HOME') or os.getenv('CUDA_PATH')
  if home and home ~= '' then dirs[#dirs + 1] = home .. '/lib64' end
  dirs[#dirs + 1] = '/usr/local/cuda/lib64'
  dirs[#dirs + 1] = '/usr/lib/x86_64-linux-gnu'
  return dirs
end

-- Opens the library named by $env, or else the first of names that loads (through the dynamic linker, then
-- from the toolkit's directories).
local function open(env, names)
  local tried = {}
  local explicit = os.getenv(env)
  local list = {}
  if explicit and explicit ~= '' then
    list[1] = explicit -- the user's choice is the only candidate
  else
    for _, n in ipairs(names) do list[#list + 1] = n end
    for _, dir in ipairs(toolkit_dirs()) do
      for _, n in ipairs(names) do list[#list + 1] = dir .. '/' .. n end
    end
  end
  for _, name in ipairs(list) do
    local ok, lib = pcall(ffi.load, name)
    if ok then return lib end
    tried[#tried + 1] = name
  end
  return nil, 'tried ' .. table.concat(tried, ', ')
end

-- Opens libnccl and the CUDA runtime. Returns true, or nil and the reason.
function M.load()
  if nccl then return true end
  local lib, why = open('TENSOR_NCCL_LIBRARY', { 'libnccl.so.2', 'libnccl.so' })
  if not lib then return nil, 'libnccl.so.2 not found (' .. why .. ')' end
  local rt, why2 = open('TENSOR_CUDART_LIBRARY', { 'libcudart.so', 'libcudart.so.13', 'libcudart.so.12',
                                                   'libcudart.so.11.0' })
  if not rt then return nil, 'the CUDA runtime libcudart.so not found (' .. why2 .. ')' end
  nccl, cudart = lib, rt
  return true
end

function M.version()
  if nccl.ncclGetVersion(int1) ~= 0 then return 'NCCL' end
  local v = int1[0]
  return string.format('NCCL %d.%d.%d', math.floor(v / 10000), math.floor(v / 100) % 100, v % 100)
end

function M.error_string(rc)
  local text = ffi.string(nccl.ncclGetErrorString(rc))
  if comm ~= nil then
    local ok, last = pcall(function() return nccl.ncclGetLastError(comm) end)
    if ok and last ~= nil and ffi.string(last) ~= '' then text = text .. ': ' .. ffi.string(last) end
  end
  return text
end

-- Selects this rank's GPU: local_rank modulo the number of GPUs. Returns the device index, or nil and the
-- reason.
function M.init_device(local_rank)
  local rc = cudart.cudaGetDeviceCount(int1)
  if rc ~= 0 then
    return nil, 'no usable CUDA device: cudaGetDeviceCount failed: ' .. ffi.string(cudart.cudaGetErrorString(rc))
  end
  local count = int1[0]
  if count == 0 then return nil, 'no CUDA device is visible' end
  local device = local_rank % count
  rc = cudart.cudaSetDevice(device)
  if rc ~= 0 then
    return nil, string.format('cudaSetDevice(%d) failed: %s', device, ffi.string(cudart.cudaGetErrorString(rc)))
  end
  return device
end

-- A new communicator id (rank 0 makes it, MPI sends it to the others). Returns it, or nil and the reason.
function M.unique_id()
  local id = ffi.new('ncclUniqueId')
  local rc = nccl.ncclGetUniqueId(id)
  if rc ~= 0 then return nil, 'ncclGetUniqueId failed: ' .. M.error_string(rc) end
  return id
end

function M.empty_id() return ffi.new('ncclUniqueId') end

-- Joins the communicator of all ranks. Returns true, or nil and the reason.
function M.join(rank, size, id)
  local c = ffi.new('ncclComm_t[1]')
  local rc = nccl.ncclCommInitRank(c, size, id, rank)
  if rc ~= 0 then return nil, 'ncclCommInitRank failed: ' .. M.error_string(rc) end
  comm = c[0]
  return true
end

-- The stream collectives run on: the CUDA backend's current stream when it has that notion, else the
-- default stream (NULL).
local function stream()
  local ok, backend = pcall(require, 'tensor.cuda_backend')
  if ok and type(backend) == 'table' and backend.current_stream then
    return ffi.cast('cudaStream_t', backend.current_stream())
  end
  return nil
end

function M.all_reduce(ptr, count, datatype, op)
  return nccl.ncclAllReduce(ptr, ptr, count, datatype, op, comm, stream())
end

function M.broadcast(ptr, count, datatype, root)
  return nccl.ncclBroadcast(ptr, ptr, count, datatype, root, comm, stream())
end

-- send == nil: in place (this rank's block is already at rank * count in recv).
function M.all_gather(send, recv, count, datatype, rank, elsize)
  if send == nil then send = ffi.cast('char *', recv) + rank * count * elsize end
  return nccl.ncclAllGather(send, recv, count, datatype, comm, stream())
end

function M.reduce_scatter(send, recv, count, datatype, op)
  return nccl.ncclReduceScatter(send, recv, count, datatype, op, comm, stream())
end

-- Waits for the queued collectives (and reports an asynchronous NCCL error). Returns 0 or an error text.
function M.synchronize()
  local rc = cudart.cudaStreamSynchronize(stream())
  if rc ~= 0 then return 'cudaStreamSynchronize failed: ' .. ffi.string(cudart.cudaGetErrorString(rc)) end
  if comm ~= nil and nccl.ncclCommGetAsyncError(comm, int1) == 0 and int1[0] ~= 0 then
    return 'NCCL: ' .. M.error_string(int1[0])
  end
  return 0
end

function M.finalize()
  if comm ~= nil then
    nccl.ncclCommDestroy(comm)
    comm = nil
  end
end

return M
