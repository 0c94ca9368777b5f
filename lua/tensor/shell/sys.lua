-- tensor.shell.sys: the few POSIX calls the th shell needs, through the FFI: isatty, realpath, a monotonic
-- clock, poll on the terminal, and directory listings (for completing module paths and finding doc files).
local ffi = require 'ffi'

local M = {}

-- The declarations use private names (bound to the libc symbols with __asm__), so that they can't clash
-- with another module's declaration of the same function with other types.
ffi.cdef [[
int th_isatty(int fd) __asm__("isatty");
char *th_realpath(const char *path, char *resolved) __asm__("realpath");
void th_free(void *p) __asm__("free");
char *th_strdup(const char *s) __asm__("strdup");
int th_fileno(void *stream) __asm__("fileno");
void th_clearerr(void *stream) __asm__("clearerr");
extern void *th_stdin __asm__("stdin");
struct th_pollfd { int fd; short events; short revents; };
int th_poll(struct th_pollfd *fds, unsigned long nfds, int timeout) __asm__("poll");
typedef struct { long tv_sec; long tv_nsec; } th_timespec;
int th_clock_gettime(int clock, th_timespec *ts) __asm__("clock_gettime");
typedef struct th_DIR th_DIR;
th_DIR *th_opendir(const char *name) __asm__("opendir");
int th_closedir(th_DIR *dir) __asm__("closedir");
]]
-- glibc's struct dirent (Linux) and the BSD one (macOS) differ; only d_name is read.
if ffi.os == 'OSX' then
  ffi.cdef [[struct th_dirent { uint64_t d_ino; uint64_t d_seekoff; uint16_t d_reclen; uint16_t d_namlen;
                                uint8_t d_type; char d_name[1024]; };]]
  if ffi.arch == 'x64' then
    ffi.cdef 'struct th_dirent *th_readdir(th_DIR *dir) __asm__("readdir$INODE64");'
  else
    ffi.cdef 'struct th_dirent *th_readdir(th_DIR *dir) __asm__("readdir");'
  end
else
  ffi.cdef [[struct th_dirent { uint64_t d_ino; int64_t d_off; unsigned short d_reclen; unsigned char d_type;
                                char d_name[256]; };
             struct th_dirent *th_readdir(th_DIR *dir) __asm__("readdir");]]
end

local C = ffi.C
local POLLIN = 1
local CLOCK_MONOTONIC = ffi.os == 'OSX' and 6 or 1

function M.isatty(fd) return C.th_isatty(fd) == 1 end

M.free, M.strdup, M.fileno = C.th_free, C.th_strdup, C.th_fileno

-- Clears the error and end-of-file flags of stdin (after a read interrupted by a signal).
function M.clearerr_stdin() C.th_clearerr(C.th_stdin) end

-- The canonical absolute path of `path` (symlinks resolved), or nil.
function M.realpath(path)
  local p = C.th_realpath(path, nil)
  if p == nil then return nil end
  local s = ffi.string(p)
  C.th_free(p)
  return s
end

local ts = ffi.new('th_timespec')
-- Seconds from a monotonic clock.
function M.clock()
  C.th_clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local pfd = ffi.new('struct th_pollfd[1]')
-- Waits until fd is readable or timeout_ms pass. Returns true (readable), false (timeout) or nil, 'eintr'
-- when a signal interrupted the wait.
function M.wait_readable(fd, timeout_ms)
  pfd[0].fd, pfd[0].events, pfd[0].revents = fd, POLLIN, 0
  local rc = C.th_poll(pfd, 1, timeout_ms)
  if rc > 0 then return true end
  if rc == 0 then return false end
  return nil, 'eintr'
end

-- The names in a directory (without '.' and '..'), or nil when it can't be opened.
function M.listdir(path)
  local dir = C.th_opendir(path)
  if dir == nil then return nil end
  local names = {}
  while true do
    local entry = C.th_readdir(dir)
    if entry == nil then break end
    local name = ffi.string(entry.d_name)
    if name ~= '.' and name ~= '..' then names[#names + 1] = name end
  end
  C.th_closedir(dir)
  table.sort(names)
  return names
end

function M.is_dir(path)
  local dir = C.th_opendir(path)
  if dir == nil then return false end
  C.th_closedir(dir)
  return true
end

function M.exists(path)
  local f = io.open(path, 'rb')
  if f then f:close() return true end
  return M.is_dir(path)
end

-- Every file under root whose name ends in `suffix`, as paths relative to root, sorted.
function M.find_files(root, suffix)
  local out = {}
  local function walk(dir, rel)
    for _, name in ipairs(M.listdir(dir) or {}) do
      local full, relname = dir .. '/' .. name, rel == '' and name or rel .. '/' .. name
      if M.is_dir(full) then
        walk(full, relname)
      elseif name:sub(-#suffix) == suffix then
        out[#out + 1] = relname
      end
    end
  end
  walk(root, '')
  table.sort(out)
  return out
end

return M
