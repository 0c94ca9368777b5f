-- tensor.args: argument conventions shared by every function: sizes as varargs or a table, trailing
-- options tables, 1-based dims, devices, and the scratch arrays that carry sizes to C.
local ffi = require 'ffi'
local core = require 'tensor.core'
local dtype = require 'tensor.dtype'

local M = {}
local mt = core.mt

-- Scratch arrays for passing shapes to C (never held across calls into Lua).
M.sizes_buf = ffi.new('int64_t[16]')
M.strides_buf = ffi.new('int64_t[16]')
M.dims_buf = ffi.new('int32_t[16]')
local MAX_DIMS = 16

local function argerror(fn, fmt, ...)
  core.raise(fn .. ': ' .. string.format(fmt, ...))
end
M.argerror = argerror

-- An options table: a plain table with named fields and no array part (an empty table is a size).
local function is_opts(t)
  return type(t) == 'table' and getmetatable(t) == nil and t[1] == nil and next(t) ~= nil
end
M.is_opts = is_opts

-- Raises an error naming fn when an options table holds a key that is neither in the list `names` nor in the
-- set `extra` (a misspelt option would otherwise be dropped silently). `also` ends the list of options in the
-- message (', dtype and device').
function M.check_option_keys(fn, opts, names, extra, also)
  for key in pairs(opts) do
    local known = extra and extra[key]
    for i = 1, #names do
      if names[i] == key then known = true break end
    end
    if not known then
      local listed = table.concat(names, ', ')
      if also then listed = listed == '' and also:gsub('^, ', '') or listed .. also end
      argerror(fn, 'unknown option %s (the options are %s)', tostring(key), listed == '' and 'none' or listed)
    end
  end
end

local function is_integer(v) return type(v) == 'number' and v == math.floor(v) and v > -2^63 and v < 2^63 end
M.is_integer = is_integer

-- An integer argument of fn (what names it in the message); raises an error naming fn otherwise.
function M.integer(fn, what, v)
  if not is_integer(v) then argerror(fn, '%s must be an integer, got %s', what, tostring(v)) end
  return v
end

-- A number argument of fn; raises an error naming fn otherwise.
function M.number(fn, what, v)
  if type(v) ~= 'number' then argerror(fn, '%s must be a number, got %s', what, tostring(v)) end
  return v
end

-- Validates a Lua array of sizes for fn; returns it.
local function check_sizes(fn, sizes)
  if #sizes > MAX_DIMS then argerror(fn, 'at most %d dimensions are supported, got %d', MAX_DIMS, #sizes) end
  for i = 1, #sizes do
    local s = sizes[i]
    if not is_integer(s) then
      argerror(fn, 'size %d must be an integer, got %s', i, tostring(s))
    elseif s < 0 then
      local parts = {}
      for j = 1, #sizes do parts[j] = tostring(sizes[j]) end
      argerror(fn, 'negative size %d in [%s]', s, table.concat(parts, ' x '))
    end
  end
  return sizes
end
M.check_sizes = check_sizes

-- Reads a size argument list (f(2, 3), f{2, 3}, f(size_object), each optionally followed by an options
-- table); returns sizes (a fresh Lua array) and opts (a table, possibly empty).
function M.sizes_and_opts(fn, ...)
  local n = select('#', ...)
  local opts = n > 0 and select(n, ...) or nil
  -- an empty table after other arguments is an (empty) options table, not a 0-d size
  local empty_opts = n > 1 and type(opts) == 'table' and getmetatable(opts) == nil and next(opts) == nil
  if is_opts(opts) or empty_opts then n = n - 1 else opts = {} end
  local sizes = {}
  -- (select, not `local first = ...`: Debian 12's LuaJIT 2.1 (git 20220320) can load a later vararg there
  -- after the select(n, ...) above, which turned torch.zeros({2, 3}, opts) into a 0-d tensor at random)
  local first = (select(1, ...))
  if n == 1 and type(first) == 'table' then
    for i = 1, #first do sizes[i] = first[i] end
  else
    for i = 1, n do sizes[i] = (select(i, ...)) end
  end
  return check_sizes(fn, sizes), opts
end

-- Copies a Lua array of sizes into the scratch buffer; returns the count and the buffer.
function M.fill_sizes(sizes)
  local buf = M.sizes_buf
  for i = 1, #sizes do buf[i - 1] = sizes[i] end
  return #sizes, buf
end

-- A 1-based dim (negative counts from the end) to the C library's 0-based dim.
function M.dim(fn, d, ndim)
  if type(d) ~= 'number' or d ~= math.floor(d) then
    argerror(fn, 'dimension must be an integer, got %s', tostring(d))
  end
  local n = ndim == 0 and 1 or ndim
  if d == 0 then argerror(fn, 'dimension 0 is invalid: dimensions are numbered from 1 (or -1 from the end)') end
  if d > n or d < -n then
    argerror(fn, 'dimension %d out of range for a tensor of %d dimension%s', d, ndim, ndim == 1 and '' or 's')
  end
  return d > 0 and d - 1 or d + n
end

-- A device string ('cpu', 'cuda', 'cuda:N' with N counted from 0 as in PyTorch) to (device_type, index).
function M.device(fn, device)
  if device == nil or device == 'cpu' then return 0, 0 end
  if type(device) == 'string' then
    local kind, index = device:match('^(%a+):?(%d*)$')
    if kind == 'cuda' then
      local cuda = require('tensor.cuda_device')
      return cuda.require_device(fn, tonumber(index) or cuda.current_device())
    end
  end
  argerror(fn, "unknown device '%s' (expected 'cpu', 'cuda' or 'cuda:N')", tostring(device))
end

function M.device_name(c)
  if c.storage.device_type == 0 then return 'cpu' end
  return 'cuda:' .. tonumber(c.storage.device_index)
end

-- dtype and device from an options table, defaulting to the default dtype and the CPU.
function M.dtype_device(fn, opts, default_dtype)
  local dt = opts.dtype and dtype.parse(opts.dtype, fn) or default_dtype or dtype.default
  local device_type, device_index = M.device(fn, opts.device)
  return dt, device_type, device_index
end

-- Options given positionally or as a trailing table: opt(args_table, position, name, default).
function M.opt(opts, name, positional, default)
  local v = opts[name]
  if v == nil then v = positional end
  if v == nil then v = default end
  return v
end

M.mt = mt
return M
