-- tensor.distributed.mpi: the Open MPI library through the FFI (loaded when dist.init asks for it).
--
-- Open MPI's handles are pointers to predefined global objects: MPI_COMM_WORLD is &ompi_mpi_comm_world,
-- MPI_FLOAT is &ompi_mpi_float, MPI_SUM is &ompi_mpi_op_sum, ... (mpi.h's OMPI_PREDEFINED_GLOBAL). Declaring
-- those globals as incomplete structs lets the FFI take their addresses from the library's namespace, with
-- no compiled glue and no mpi.h at build time. The library is opened with RTLD_GLOBAL because Open MPI's
-- plugins (mca_*.so, dlopened by MPI_Init) resolve their symbols against libmpi.
--
-- This layer moves raw buffers: pointers, element counts and MPI datatypes. Tensors, dtype staging and the
-- checks live in tensor.distributed.
local ffi = require 'ffi'

ffi.cdef [[
typedef struct ompi_communicator_t *MPI_Comm;
typedef struct ompi_datatype_t *MPI_Datatype;
typedef struct ompi_op_t *MPI_Op;
typedef struct ompi_request_t *MPI_Request;
typedef struct ompi_errhandler_t *MPI_Errhandler;
typedef struct tensor_mpi_status { int MPI_SOURCE, MPI_TAG, MPI_ERROR, _cancelled; size_t _ucount; } tensor_mpi_status;

struct ompi_predefined_communicator_t;
struct ompi_predefined_datatype_t;
struct ompi_predefined_op_t;
struct ompi_predefined_errhandler_t;
extern struct ompi_predefined_communicator_t ompi_mpi_comm_world;
extern struct ompi_predefined_datatype_t ompi_mpi_float, ompi_mpi_double, ompi_mpi_int8_t, ompi_mpi_uint8_t,
  ompi_mpi_int16_t, ompi_mpi_int32_t, ompi_mpi_int64_t, ompi_mpi_c_bool;
extern struct ompi_predefined_op_t ompi_mpi_op_sum, ompi_mpi_op_prod, ompi_mpi_op_max, ompi_mpi_op_min,
  ompi_mpi_op_lor, ompi_mpi_op_land;
extern struct ompi_predefined_errhandler_t ompi_mpi_errors_return;

int MPI_Init_thread(int *argc, char ***argv, int required, int *provided);
int MPI_Initialized(int *flag);
int MPI_Finalized(int *flag);
int MPI_Finalize(void);
int MPI_Abort(MPI_Comm comm, int errorcode);
int MPI_Comm_rank(MPI_Comm comm, int *rank);
int MPI_Comm_size(MPI_Comm comm, int *size);
int MPI_Comm_split_type(MPI_Comm comm, int split_type, int key, void *info, MPI_Comm *newcomm);
int MPI_Comm_free(MPI_Comm *comm);
int MPI_Comm_set_errhandler(MPI_Comm comm, MPI_Errhandler errhandler);
int MPI_Error_string(int errorcode, char *string, int *resultlen);
int MPI_Get_library_version(char *version, int *resultlen);
double MPI_Wtime(void);
int MPI_Barrier(MPI_Comm comm);
int MPI_Bcast(void *buffer, int count, MPI_Datatype datatype, int root, MPI_Comm comm);
int MPI_Allreduce(const void *sendbuf, void *recvbuf, int count, MPI_Datatype datatype, MPI_Op op, MPI_Comm comm);
int MPI_Iallreduce(const void *sendbuf, void *recvbuf, int count, MPI_Datatype datatype, MPI_Op op, MPI_Comm comm,
                   MPI_Request *request);
int MPI_Allgather(const void *sendbuf, int sendcount, MPI_Datatype sendtype, void *recvbuf, int recvcount,
                  MPI_Datatype recvtype, MPI_Comm comm);
int MPI_Reduce_scatter_block(const void *sendbuf, void *recvbuf, int recvcount, MPI_Datatype datatype, MPI_Op op,
                             MPI_Comm comm);
int MPI_Wait(MPI_Request *request, tensor_mpi_status *status);
int MPI_Test(MPI_Request *request, int *flag, tensor_mpi_status *status);
]]

local M = {}

local MPI_THREAD_FUNNELED, MPI_COMM_TYPE_SHARED = 1, 0
local IN_PLACE = ffi.cast('void *', 1)
local INT_MAX = 2147483647
M.IN_PLACE, M.INT_MAX = IN_PLACE, INT_MAX

local lib, world
local int1, int2 = ffi.new('int[1]'), ffi.new('int[1]')

-- The library file: $TENSOR_MPI_LIBRARY, or Open MPI's soname (Debian's openmpi-bin / libopenmpi-dev).
function M.library_name()
  local explicit = os.getenv('TENSOR_MPI_LIBRARY')
  if explicit and explicit ~= '' then return explicit end
  return 'libmpi.so.40'
end

-- Opens libmpi (once). Returns true, or nil and the reason.
function M.load()
  if lib then return true end
  local name = M.library_name()
  local ok, l = pcall(ffi.load, name, true)
  if not ok then return nil, tostring(l) end
  local found, why = pcall(function() return l.ompi_mpi_comm_world, l.MPI_Iallreduce end)
  if not found then
    return nil, name .. ' is not Open MPI (' .. tostring(why):gsub('^.-: ', '') .. ')'
  end
  lib = l
  world = ffi.cast('MPI_Comm', lib.ompi_mpi_comm_world)
  M.lib = lib
  M.dtypes = { -- tensor dtype enum -> MPI datatype, for the dtypes MPI reduces natively
    [0] = ffi.cast('MPI_Datatype', lib.ompi_mpi_float),
    [1] = ffi.cast('MPI_Datatype', lib.ompi_mpi_double),
    [4] = ffi.cast('MPI_Datatype', lib.ompi_mpi_int64_t),
    [5] = ffi.cast('MPI_Datatype', lib.ompi_mpi_int32_t),
    [6] = ffi.cast('MPI_Datatype', lib.ompi_mpi_int16_t),
    [7] = ffi.cast('MPI_Datatype', lib.ompi_mpi_int8_t),
    [8] = ffi.cast('MPI_Datatype', lib.ompi_mpi_uint8_t),
    [9] = ffi.cast('MPI_Datatype', lib.ompi_mpi_c_bool),
  }
  M.ops = {
    sum = ffi.cast('MPI_Op', lib.ompi_mpi_op_sum), prod = ffi.cast('MPI_Op', lib.ompi_mpi_op_prod),
    max = ffi.cast('MPI_Op', lib.ompi_mpi_op_max), min = ffi.cast('MPI_Op', lib.ompi_mpi_op_min),
    lor = ffi.cast('MPI_Op', lib.ompi_mpi_op_lor), land = ffi.cast('MPI_Op', lib.ompi_mpi_op_land),
  }
  M.int64 = M.dtypes[4]
  return true
end

-- MPI's text for an error code.
function M.error_string(code)
  local buf = ffi.new('char[512]')
  if lib.MPI_Error_string(code, buf, int1) ~= 0 then return 'MPI error ' .. tostring(code) end
  return ffi.string(buf, int1[0])
end

function M.library_version()
  local buf = ffi.new('char[512]')
  if lib.MPI_Get_library_version(buf, int1) ~= 0 then return 'Open MPI' end
  return (ffi.string(buf, int1[0]):match('^[^\n,]*'))
end

-- MPI_Init_thread (funneled: only the main thread calls MPI; OpenMP threads never do), errors returned as
-- codes rather than aborting the job. Returns rank, size, local rank.
function M.init()
  if lib.MPI_Initialized(int1) == 0 and int1[0] ~= 0 then
    return nil, 'MPI is already initialized in this process'
  end
  if lib.MPI_Finalized(int1) == 0 and int1[0] ~= 0 then
    return nil, 'MPI was finalized in this process and cannot be initialized again'
  end
  local rc = lib.MPI_Init_thread(nil, nil, MPI_THREAD_FUNNELED, int1)
  if rc ~= 0 then return nil, 'MPI_Init_thread failed: ' .. M.error_string(rc) end
  lib.MPI_Comm_set_errhandler(world, ffi.cast('MPI_Errhandler', lib.ompi_mpi_errors_return))
  lib.MPI_Comm_rank(world, int1)
  lib.MPI_Comm_size(world, int2)
  local rank, size = int1[0], int2[0]
  -- The rank among the processes of this node (picks the GPU for NCCL): mpirun says it; otherwise ask MPI.
  local local_rank = tonumber(os.getenv('OMPI_COMM_WORLD_LOCAL_RANK') or '')
  if not local_rank then
    local node = ffi.new('MPI_Comm[1]')
    if lib.MPI_Comm_split_type(world, MPI_COMM_TYPE_SHARED, rank, nil, node) == 0 then
      lib.MPI_Comm_rank(node[0], int1)
      local_rank = int1[0]
      lib.MPI_Comm_free(node)
    else
      local_rank = 0
    end
  end
  return rank, size, local_rank
end

function M.finalize() return lib.MPI_Finalize() end

-- Ends every rank of the job (mpirun reports the code).
function M.abort(code) return lib.MPI_Abort(world, code or 1) end

function M.wtime() return lib.MPI_Wtime() end

-- The collectives on raw buffers: each returns MPI's error code (0 on success). Counts above INT_MAX are
-- split into several calls (reductions and broadcasts are element-wise, so chunks are independent).
function M.barrier() return lib.MPI_Barrier(world) end

function M.all_reduce(ptr, count, datatype, op, elsize)
  local p = ffi.cast('char *', ptr)
  while count > INT_MAX do
    local rc = lib.MPI_Allreduce(IN_PLACE, p, INT_MAX, datatype, op, world)
    if rc ~= 0 then return rc end
    p, count = p + INT_MAX * elsize, count - INT_MAX
  end
  return lib.MPI_Allreduce(IN_PLACE, p, count, datatype, op, world)
end

function M.broadcast(ptr, count, datatype, root, elsize)
  local p = ffi.cast('char *', ptr)
  while count > INT_MAX do
    local rc = lib.MPI_Bcast(p, INT_MAX, datatype, root, world)
    if rc ~= 0 then return rc end
    p, count = p + INT_MAX * elsize, count - INT_MAX
  end
  return lib.MPI_Bcast(p, count, datatype, root, world)
end

-- send == nil: in place (the caller's block already sits at rank * count in recv).
function M.all_gather(send, recv, count, datatype)
  return lib.MPI_Allgather(send or IN_PLACE, count, datatype, recv, count, datatype, world)
end

function M.reduce_scatter(send, recv, count, datatype, op)
  return lib.MPI_Reduce_scatter_block(send, recv, count, datatype, op, world)
end

-- Non-blocking all-reduce (one call, count <= INT_MAX): the request is written into req (MPI_Request[1]).
function M.iall_reduce(ptr, count, datatype, op, req)
  return lib.MPI_Iallreduce(IN_PLACE, ptr, count, datatype, op, world, req)
end

function M.wait(req) return lib.MPI_Wait(req, nil) end

-- Returns rc, done.
function M.test(req)
  local rc = lib.MPI_Test(req, int1, nil)
  return rc, int1[0] ~= 0
end

return M
