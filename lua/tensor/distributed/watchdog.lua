-- tensor.distributed.watchdog: ends a rank that waits too long in a collective, with a message.
--
-- A blocking MPI or NCCL call cannot be interrupted from Lua, and a rank that stopped calling collectives
-- (stuck, or in a different branch of the program) leaves the others waiting forever. So dist.init forks a
-- small watcher process before MPI starts. Around each blocking call the rank writes a deadline and what
-- it is doing into a page of memory the two processes share (a few stores: no system call); the watcher
-- looks at the page a few times a second, and when the deadline passes it prints what the rank was waiting
-- for and terminates it. mpirun then reports the dead rank and ends the others. The watcher dies with its
-- rank (PR_SET_PDEATHSIG), and it never runs MPI, the tensor library or the user's code.
local ffi = require 'ffi'

ffi.cdef [[
typedef struct tensor_dist_timespec { long sec; long nsec; } tensor_dist_timespec;
typedef struct tensor_dist_watch {
  double deadline;        /* CLOCK_MONOTONIC seconds */
  double timeout;
  int32_t armed;          /* 1 while the rank is inside a blocking call */
  int32_t rank;
  int32_t what;           /* index into the names below */
  int32_t dtype;
  int64_t numel;
  int64_t seq;            /* the number of the collective (1, 2, ...) */
} tensor_dist_watch;
int tensor_dist_clock_gettime(int clock, tensor_dist_timespec *ts) __asm__("clock_gettime");
int tensor_dist_fork(void) __asm__("fork");
int tensor_dist_getpid(void) __asm__("getpid");
int tensor_dist_getppid(void) __asm__("getppid");
int tensor_dist_kill(int pid, int sig) __asm__("kill");
int tensor_dist_prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5) __asm__("prctl");
void *tensor_dist_mmap(void *addr, size_t len, int prot, int flags, int fd, long off) __asm__("mmap");
int tensor_dist_usleep(unsigned int usec) __asm__("usleep");
long tensor_dist_write(int fd, const void *buf, size_t n) __asm__("write");
int tensor_dist_close(int fd) __asm__("close");
void tensor_dist_exit(int status) __asm__("_exit");
]]

local C = ffi.C
local M = {}

M.names = { 'init', 'barrier', 'all_reduce', 'broadcast', 'all_gather', 'reduce_scatter', 'wait', 'finalize',
            'debug check' }
M.codes = {}
for i, name in ipairs(M.names) do M.codes[name] = i end

local ts = ffi.new('tensor_dist_timespec')
local function now()
  C.tensor_dist_clock_gettime(1, ts) -- CLOCK_MONOTONIC: the same clock in both processes
  return tonumber(ts.sec) + tonumber(ts.nsec) * 1e-9
end
M.now = now

local watch -- the shared page (tensor_dist_watch*), nil when no watcher runs

-- The watcher's loop (in the forked process; never returns).
local function watcher(parent, dtype_names)
  collectgarbage('stop') -- the copy of the heap has objects whose finalizers must not run here
  C.tensor_dist_prctl(1, 9, 0, 0, 0) -- PR_SET_PDEATHSIG: SIGKILL when the rank exits
  if C.tensor_dist_getppid() ~= parent then C.tensor_dist_exit(0) end
  C.tensor_dist_close(0)
  C.tensor_dist_close(1)
  local period = math.max(10000, math.min(250000, math.floor(watch.timeout * 1e6 / 20)))
  while true do
    C.tensor_dist_usleep(period)
    if C.tensor_dist_getppid() ~= parent then break end
    if watch.armed == 1 and now() > watch.deadline then
      local what = M.names[watch.what] or 'a collective'
      local detail = ''
      if watch.numel >= 0 and dtype_names[watch.dtype] then
        detail = string.format(' (%d %s elements)', tonumber(watch.numel), dtype_names[watch.dtype])
      end
      local msg = string.format('distributed: rank %d waited more than %g s in %s%s, collective #%d; another ' ..
                                'rank has died, hangs, or did not make the same call (dist.init timeout=%g); ' ..
                                'terminating rank %d\n', watch.rank, watch.timeout, what, detail,
                                tonumber(watch.seq), watch.timeout, watch.rank)
      C.tensor_dist_write(2, msg, #msg)
      C.tensor_dist_kill(parent, 15) -- SIGTERM
      C.tensor_dist_usleep(2000000)
      C.tensor_dist_kill(parent, 9)
      break
    end
  end
  C.tensor_dist_exit(0)
end

-- Starts the watcher for this process (call before MPI starts). Returns true or nil, reason.
function M.start(timeout, dtype_names)
  if watch then return true end
  -- PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS
  local page = C.tensor_dist_mmap(nil, 4096, 3, 0x21, -1, 0)
  if page == ffi.cast('void *', -1) then return nil, 'mmap failed' end
  watch = ffi.cast('tensor_dist_watch *', page)
  watch.timeout, watch.armed, watch.rank = timeout, 0, -1
  io.stdout:flush()
  io.stderr:flush()
  local parent = C.tensor_dist_getpid()
  local pid = C.tensor_dist_fork()
  if pid < 0 then
    watch = nil
    return nil, 'fork failed'
  end
  if pid == 0 then
    pcall(watcher, parent, dtype_names)
    C.tensor_dist_exit(0) -- whatever happened, the watcher never returns into the user's program
  end
  return true
end

function M.set_rank(rank)
  if watch then watch.rank = rank end
end

-- Marks the start of a blocking call: what (a code from M.codes), its dtype enum and element count (-1
-- when not applicable), the collective's number.
function M.arm(what, dtype, numel, seq)
  local w = watch
  if w then
    w.what, w.dtype, w.numel, w.seq = what, dtype, numel, seq
    w.deadline = now() + w.timeout
    w.armed = 1
  end
end

function M.disarm()
  local w = watch
  if w then w.armed = 0 end
end

function M.active() return watch ~= nil end

return M
