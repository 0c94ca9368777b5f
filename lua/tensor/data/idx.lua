-- tensor.data.idx: reads IDX files (the MNIST format), plain or gzip-compressed, into tensors.
-- Every size in the header is checked against the file before anything is allocated.
local ffi = require 'ffi'
local torch = require 'tensor'

local M = {}

ffi.cdef [[
typedef struct gzFile_s *gzFile;
gzFile gzopen(const char *path, const char *mode);
int gzread(gzFile file, void *buf, unsigned int len);
int gzclose(gzFile file);
const char *gzerror(gzFile file, int *errnum);
]]

local zlib
local function load_zlib()
  if not zlib then
    local ok, lib = pcall(ffi.load, 'libz.so.1')
    if not ok then ok, lib = pcall(ffi.load, 'z') end
    if not ok then error('idx: reading .gz files needs zlib (libz.so.1), which could not be loaded', 3) end
    zlib = lib
  end
  return zlib
end

-- The whole (decompressed) contents of a file as a Lua string.
local function read_bytes(path)
  if path:match('%.gz$') then
    local z = load_zlib()
    local f = z.gzopen(path, 'rb')
    if f == nil then error(string.format("idx: cannot open '%s'", path), 3) end
    local chunks, size = {}, 1024 * 1024
    local buf = ffi.new('uint8_t[?]', size)
    local errnum = ffi.new('int[1]')
    while true do
      local n = z.gzread(f, buf, size)
      -- a read error, or the end of a truncated stream (gzread then returns what it had, and sets an error)
      local msg = (n <= 0) and ffi.string(z.gzerror(f, errnum))
      if n < 0 or (n == 0 and errnum[0] ~= 0) then
        z.gzclose(f)
        error(string.format("idx: '%s' is not a valid gzip file (%s)", path, msg), 3)
      end
      if n == 0 then break end
      chunks[#chunks + 1] = ffi.string(buf, n)
    end
    z.gzclose(f)
    return table.concat(chunks)
  end
  local f, err = io.open(path, 'rb')
  if not f then error(string.format("idx: cannot open '%s' (%s)", path, tostring(err)), 3) end
  local data = f:read('*a')
  f:close()
  return data
end

-- IDX element types: code -> dtype, bytes per element, whether big-endian conversion is needed
local types = {
  [0x08] = { 'uint8', 1 }, [0x09] = { 'int8', 1 }, [0x0B] = { 'int16', 2 },
  [0x0C] = { 'int32', 4 }, [0x0D] = { 'float32', 4 }, [0x0E] = { 'float64', 8 },
}

local function u32(s, pos)
  local a, b, c, d = s:byte(pos, pos + 3)
  return ((a * 256 + b) * 256 + c) * 256 + d
end

--- data.read_idx(path) -> Tensor
-- Reads an IDX file (plain or .gz) into a tensor of its element type and shape.
function M.read(path)
  local s = read_bytes(path)
  if #s < 4 then error(string.format("idx: '%s' is too short for an IDX header (%d bytes)", path, #s), 2) end
  local z1, z2, code, ndim = s:byte(1, 4)
  local t = types[code]
  if z1 ~= 0 or z2 ~= 0 or not t or ndim == 0 then
    error(string.format("idx: '%s' does not start with an IDX magic number (bytes %02x %02x %02x %02x)", path,
                        z1, z2, code, ndim), 2)
  end
  local header = 4 + 4 * ndim
  if #s < header then error(string.format("idx: '%s' is truncated inside its header", path), 2) end
  local sizes, count = {}, 1
  for d = 1, ndim do
    sizes[d] = u32(s, 4 * d + 1)
    count = count * sizes[d]
  end
  local dtype, width = t[1], t[2]
  local expected = header + count * width
  if #s ~= expected then
    error(string.format("idx: '%s' should hold %d bytes for shape [%s] of %s, but has %d", path, expected,
                        table.concat(sizes, ' x '), dtype, #s), 2)
  end
  local out = torch.empty(sizes, { dtype = dtype })
  local dst = ffi.cast('uint8_t *', out:data_ptr())
  ffi.copy(dst, ffi.cast('const uint8_t *', s) + header, count * width)
  if width > 1 then -- IDX is big-endian
    for i = 0, count - 1 do
      local p = dst + i * width
      for k = 0, width / 2 - 1 do p[k], p[width - 1 - k] = p[width - 1 - k], p[k] end
    end
  end
  return out
end

return M
