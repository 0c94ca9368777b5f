-- tensor.core: the Tensor class (its method table and instance metatable), the torch namespace, and
-- the wrapping of C tensor pointers into Lua objects. The other modules add methods to these tables.
local ffi = require 'ffi'
local C = require 'tensor.lib'
local memory = require 'tensor.memory'

local M = {}

local Tensor = {}      -- methods: x:f(...)
local mt = {}          -- the metatable of every tensor object
local torch = {}       -- the namespace returned by require 'tensor'
M.Tensor, M.mt, M.torch = Tensor, mt, torch
M.C = C

local last_error, own, after_alloc = C.tn_last_error, memory.own, memory.after_alloc

-- Raises msg attributed to the user's code: the first calling frame outside the tensor packages (so a
-- message points at the line that called the library, however deep inside it the error was found).
local function in_library(src)
  return src == '=[C]' or src:find('/lua/tensor/', 1, true) ~= nil or src:find('^@lua/tensor/') ~= nil
end
local function raise(msg)
  local level = 2 -- 1 is raise itself
  while true do
    local info = debug.getinfo(level, 'S')
    if not info then return error(msg, 0) end
    if not in_library(info.source) then break end
    level = level + 1
  end
  error(msg, level)
end
M.raise = raise

-- Raises the C library's last error at the user's call site.
function M.c_error()
  raise(ffi.string(last_error()))
end

-- A Lua tensor object for a new C tensor pointer (raises the C error if the pointer is NULL).
local function wrap(ptr)
  if ptr == nil then raise(ffi.string(last_error())) end
  local device_type = ptr.storage.device_type
  after_alloc(device_type)
  -- Not a tail call: a trace that starts here (wrap is hot wherever the caller runs interpreted) must end at
  -- a return bytecode. Returning through a tail-called builtin leaves it in the caller's frame, where LuaJIT
  -- aborts it ("leaving loop in root trace"); a dozen such aborts blacklist wrap for good, and from then on
  -- every op that makes a tensor ran interpreted, several times slower, for the rest of the process.
  local t = setmetatable({ _c = own(ptr) }, mt)
  return t
end
M.wrap = wrap

-- Checks the return code of a C function that returns 0 or -1.
function M.check(rc)
  if rc ~= 0 then raise(ffi.string(last_error())) end
end

local function is_tensor(x) return getmetatable(x) == mt end
M.is_tensor = is_tensor

-- The C pointer of a tensor argument, or an error naming the function and the argument.
function M.c_of(x, fn, what)
  if getmetatable(x) ~= mt then
    raise(string.format('%s: expected a tensor for %s, got %s', fn, what or 'the argument', type(x)))
  end
  return x._c
end

-- Defines torch.NAME(x, ...) as x:NAME(...) for each name, checking first that x is a tensor, so that a wrong
-- argument to the function form gets an error naming the function rather than a failed method lookup. The
-- method is looked up at each call, not when the form is made: tensor.autograd later replaces methods (max and
-- min with their recording forms, in-place methods with a guard against corrupting a graph) and the function
-- forms must reach those.
-- A trailing {out=} the method does not write itself is honoured here (it was dropped silently).
function M.function_forms(names)
  for _, name in ipairs(names) do
    torch[name] = function(x, ...)
      M.c_of(x, name, 'the input')
      local n = select('#', ...)
      local opts = n > 0 and select(n, ...) or nil
      local out = type(opts) == 'table' and getmetatable(opts) == nil and opts[1] == nil and opts.out or nil
      return M.write_out(name, out, Tensor[name](x, ...))
    end
  end
end

-- Writes an op's results r1, r2, ... into out (a tensor, or a list of tensors for several results) as PyTorch's
-- out= does: out takes the result's shape, and a result dtype that cannot be cast to out's (a float into an
-- integer tensor) is refused. Returns out's tensors in place of the results, or the results when out is nil.
function M.write_out(fn, out, ...)
  if out == nil then return ... end
  local n = select('#', ...)
  local outs = getmetatable(out) == mt and { out } or out
  if type(outs) ~= 'table' or #outs ~= n then
    raise(string.format('%s: out must be %s, got %s', fn, n == 1 and 'a tensor' or 'a list of ' .. n .. ' tensors',
                        type(out) == 'table' and #out .. ' values' or type(out)))
  end
  for i = 1, n do
    local o, r = outs[i], (select(i, ...))
    M.c_of(o, fn, 'out')
    if not rawequal(o, r) then
      if not torch.can_cast(r:dtype(), o:dtype()) then
        raise(string.format("%s: result type %s can't be cast to the desired output type %s", fn, r:dtype(), o:dtype()))
      end
      if o:device() ~= r:device() then
        raise(string.format('%s: out is on %s, the result on %s', fn, o:device(), r:device()))
      end
      if not o:is_same_size(r) then o:resize_(r:shape()) end
      o:copy_(r)
    end
  end
  return unpack(outs, 1, n)
end

-- Other names of methods and functions (PyTorch's and Torch7's spellings: x:cmul(y) is x:mul(y)). An alias is
-- kept as a pair, not only copied when made: tensor.autograd later replaces the methods it differentiates with
-- recording forms, and a copy made before that would call the raw op and silently drop the gradient.
-- bind_aliases, run once autograd has replaced them, points every alias at what its target is then.
local aliases = {}
function M.alias(namespace, name, target)
  aliases[#aliases + 1] = { namespace, name, target }
  namespace[name] = namespace[target]
end
function M.bind_aliases()
  for _, a in ipairs(aliases) do a[1][a[2]] = a[1][a[3]] end
end
M.aliases = aliases

-- In-place methods written with other ops that autograd records (x:index_put_ is views and index_copy_): they need
-- no derivative of their own, and autograd's guard against in-place ops without one leaves them alone.
M.composed_in_place = {}
-- The tensor such an op computes its result from: x, or a copy of x while autograd records x (writing the result
-- into x would otherwise change a tensor that the result's own graph saved for backward).
function M.in_place_source(x)
  if x.requires_grad and require('tensor.autograd.mode').enabled then return x:clone() end
  return x
end

-- Indexing hooks filled in by tensor.indexing (numbers and tables index; strings are methods).
M.index_get, M.index_set = nil, nil

-- Properties: x.requires_grad, x.grad, x.grad_fn ... read through getters and assigned through validating
-- setters (filled in by tensor.autograd). Their values live under private keys, so assignment always
-- reaches __newindex.
local getters, setters = {}, {}
M.getters, M.setters = getters, setters
-- A tensor whose memory the library freed early (memory.release) has no _c of its own: using it lands here.
getters._c = function()
  raise('this tensor was freed early by the library and cannot be used (a bug: please report it)')
end

mt.__index = function(self, key)
  local method = Tensor[key]
  if method ~= nil then return method end
  local get = getters[key]
  if get then return get(self) end
  if type(key) ~= 'string' then return M.index_get(self, key) end
  return nil
end

mt.__newindex = function(self, key, value)
  local set = setters[key]
  if set then return set(self, value) end
  if type(key) == 'string' then
    rawset(self, key, value)
  else
    M.index_set(self, key, value)
  end
end

mt.__metatable = mt
mt.__name = 'Tensor'

return M
