-- tensor.lib: finds and loads libtensor (C namespace of the FFI), after choosing the OpenBLAS core type and
-- the thread settings (tensor.openblas_env).
--
-- Search order: $TENSOR_LIBRARY; the build/ folder of a source checkout (when this file is
-- <root>/lua/tensor/lib.lua); every package.cpath template with '?' = 'libtensor' (a luarocks install);
-- finally the system's dynamic linker.
local ffi = require 'ffi'
require 'tensor.ffi'
require('tensor.openblas_env').configure()
require('tensor.openblas_env').configure_threads()

local function readable(path)
  local f = io.open(path, 'rb')
  if f then f:close() end
  return f ~= nil
end

local function candidates()
  local list = {}
  local explicit = os.getenv('TENSOR_LIBRARY')
  if explicit and explicit ~= '' then list[#list + 1] = explicit end
  local source = debug.getinfo(1, 'S').source
  local root = source:match('^@(.*)lua/tensor/lib%.lua$')
  if root then
    list[#list + 1] = root .. 'build/libtensor.so'
  end
  for template in package.cpath:gmatch('[^;]+') do
    list[#list + 1] = (template:gsub('%?', 'libtensor'))
  end
  return list
end

local tried = {}
for _, path in ipairs(candidates()) do
  if readable(path) then
    local ok, lib = pcall(ffi.load, path)
    if ok then return lib end
    tried[#tried + 1] = path .. ' (' .. tostring(lib) .. ')'
  end
end
local ok, lib = pcall(ffi.load, 'tensor')
if ok then return lib end
error('tensor: cannot find libtensor.so; build it with cmake (build/) or install the rock with luarocks.' ..
      (#tried > 0 and ' Tried: ' .. table.concat(tried, ', ') or ''), 2)
