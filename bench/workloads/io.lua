-- Serialization workloads (issue 5): saving and loading a 100 MB float32 tensor with torch.save/torch.load
-- (Torch7 .t7 here, PyTorch's zip format there) and with safetensors, beside the raw write(2)/read(2) of the
-- same 100 MB through the FFI, which is the most any format can do on this disk (through the page cache, as
-- both frameworks write without fsync). Files go to $TMPDIR (default /tmp) and are overwritten on each run.
local tmp = (os.getenv('TMPDIR') or '/tmp') .. '/tensor-bench-io'

local raw_setup = [[
pcall(ffi.cdef, [=[
int open(const char *path, int flags, ...);
long write(int fd, const void *buf, unsigned long n);
long read(int fd, void *buf, unsigned long n);
int close(int fd);
]=])
local C = ffi.C
local n = 25000000
local x = torch.randn(n)
local p = x:data_ptr()
local path = ']] .. tmp .. [[.raw'
local O_WRONLY, O_CREAT, O_TRUNC = 1, 64, 512
local function write_file()
  local fd = C.open(path, O_WRONLY + O_CREAT + O_TRUNC, 420)
  local left, q = 4 * n, ffi.cast('const char *', p)
  while left > 0 do
    local done = C.write(fd, q, left)
    assert(done > 0, 'write failed')
    left, q = left - done, q + done
  end
  C.close(fd)
end
write_file()]]

return {
  { name = 'write 100 MB, raw write(2)', group = 'save', short = 'raw write',
    setup = raw_setup,
    lua = 'write_file()',
    bytes = 1e8, min_time = 1 },

  { name = 'torch.save 100 MB float32', group = 'save',
    setup = "local x = torch.randn(25000000); local path = '" .. tmp .. ".t7'",
    lua = 'torch.save(path, x)',
    py_setup = "x = torch.randn(25000000); path = '" .. tmp .. ".pt'",
    py = 'torch.save(x, path)',
    bytes = 1e8, baseline = 'write 100 MB, raw write(2)', min_time = 1 },

  { name = 'torch.save_safetensors 100 MB float32', group = 'save',
    setup = "local x = torch.randn(25000000); local path = '" .. tmp .. ".safetensors'",
    lua = 'torch.save_safetensors(path, {x = x})',
    bytes = 1e8, baseline = 'write 100 MB, raw write(2)', min_time = 1 },

  { name = 'read 100 MB, raw read(2)', group = 'load', short = 'raw read',
    setup = raw_setup .. [[

local y = torch.empty(n)
local q = ffi.cast('char *', y:data_ptr())
local function read_file()
  local fd = C.open(path, 0)
  local got, total = 0, 0
  repeat
    got = C.read(fd, q + total, 4 * n - total)
    total = total + got
  until got <= 0 or total == 4 * n
  C.close(fd)
end]],
    lua = 'read_file()',
    bytes = 1e8, min_time = 1 },

  { name = 'torch.load 100 MB float32', group = 'load',
    setup = "local path = '" .. tmp .. ".t7'; torch.save(path, torch.randn(25000000))",
    lua = 'local y = torch.load(path)',
    py_setup = "path = '" .. tmp .. ".pt'; torch.save(torch.randn(25000000), path)",
    py = 'y = torch.load(path)',
    bytes = 1e8, baseline = 'read 100 MB, raw read(2)', min_time = 1 },

  { name = 'torch.load safetensors 100 MB float32 (copy)', group = 'load',
    setup = "local path = '" .. tmp .. ".safetensors'; torch.save_safetensors(path, {x = torch.randn(25000000)})",
    lua = 'local y = torch.load(path, {mmap = false})',
    bytes = 1e8, baseline = 'read 100 MB, raw read(2)', min_time = 1 },
}
