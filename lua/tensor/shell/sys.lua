-- tensor.shell.sys: the few POSIX calls the th shell needs, through the FFI: isatty, realpath, a monotonic
-- clock, poll on the terminal, and directory listings (for completing module paths and finding doc files).
local ffi = require 'ffi'

local M = {}

-- Declares one C item unless an earlier ffi.cdef (of another module) already did.
local function cdef(decl)
  pcall(ffi.cdef, decl)
end
cdef 'int isatty(int fd);'
cdef 'char *realpath(const char *path, char *resolved);'
cdef 'void free(void *p);'
cdef 'char *strdup(const char *s);'
cdef 'int fileno(void *stream);'
cdef 'struct pollfd { int fd; short events; short revents; };'
cdef 'int poll(struct pollfd *fds, unsigned long nfds, int timeout);'
cdef 'typedef struct { long tv_sec; long tv_nsec; } th_timespec;'
cdef 'int clock_gettime(int clock, th_timespec *ts);'
cdef 'typedef struct th_DIR th_DIR;'
cdef 'th_DIR *opendir(const char *name);'
cdef 'int closedir(th_DIR *dir);'
-- glibc's struct dirent (Linux) and the BSD one (macOS) differ; only d_name is read.
if ffi.os == 'OSX' then
  cdef [[struct th_dirent { uint64_t d_ino; uint64_t d_seekoff; uint16_t d_reclen; uint16_t d_namlen;
                            uint8_t d_type; char d_name[1024]; };]]
  if ffi.arch == 'x64' then
    cdef 'struct th_dirent *readdir(th_DIR *dir) __asm__("readdir$INODE64");'
  else
    cdef 'struct th_dirent *readdir(th_DIR *dir);'
  end
else
  cdef [[struct th_dirent { uint64_t d_ino; int64_t d_off; unsigned short d_reclen; unsigned char d_type;
                            char d_name[256]; };]]
  cdef 'struct th_dirent *readdir(th_DIR *dir);'
end

local C = ffi.C
local POLLIN = 1
local CLOCK_MONOTONIC = ffi.os == 'OSX' and 6 or 1

function M.isatty(fd) return C.isatty(fd) == 1 end

-- The canonical absolute path of `path` (symlinks resolved), or nil.
function M.realpath(path)
  local p = C.realpath(path, nil)
  if p == nil then return nil end
  local s = ffi.string(p)
  C.free(p)
  return s
end

local ts = ffi.new('th_timespec')
-- Seconds from a monotonic clock.
function M.clock()
  C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local pfd = ffi.new('struct pollfd[1]')
-- Waits until fd is readable or timeout_ms pass. Returns true (readable), false (timeout) or nil, 'eintr'
-- when a signal interrupted the wait.
function M.wait_readable(fd, timeout_ms)
  pfd[0].fd, pfd[0].events, pfd[0].revents = fd, POLLIN, 0
  local rc = C.poll(pfd, 1, timeout_ms)
  if rc > 0 then return true end
  if rc == 0 then return false end
  return nil, 'eintr'
end

-- The names in a directory (without '.' and '..'), or nil when it can't be opened.
function M.listdir(path)
  local dir = C.opendir(path)
  if dir == nil then return nil end
  local names = {}
  while true do
    local entry = C.readdir(dir)
    if entry == nil then break end
    local name = ffi.string(entry.d_name)
    if name ~= '.' and name ~= '..' then names[#names + 1] = name end
  end
  C.closedir(dir)
  table.sort(names)
  return names
end

function M.is_dir(path)
  local dir = C.opendir(path)
  if dir == nil then return false end
  C.closedir(dir)
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
