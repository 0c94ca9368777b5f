-- tensor.arith: the arithmetic operators + - * / with broadcasting and type promotion.
local core = require 'tensor.core'
local args = require 'tensor.args'
local dtype = require 'tensor.dtype'
local creation = require 'tensor.creation'

local C, wrap, check, Tensor, torch, mt = core.C, core.wrap, core.check, core.Tensor, core.torch, core.mt
local is_tensor, argerror = core.is_tensor, args.argerror

local OPS = { add = C.TN_ADD, sub = C.TN_SUB, mul = C.TN_MUL, div = C.TN_DIV }

-- A Lua number as a 0-d tensor whose dtype makes the promotion come out as PyTorch's wrapped-number rule:
-- an integral number keeps an integer tensor's dtype, any number keeps a floating tensor's dtype.
local function scalar_for(fn, v, other)
  if type(v) == 'boolean' then v = v and 1 or 0 end
  if type(v) ~= 'number' then argerror(fn, 'expected a tensor or a number, got %s', type(v)) end
  local odt = tonumber(other._c.dtype)
  local dt
  if dtype.floating[odt] then
    dt = odt
  elseif args.is_integer(v) then
    dt = odt == dtype.BOOL and dtype.INT64 or odt
  else
    dt = dtype.default
  end
  local s = creation.empty({}, dt, tonumber(other._c.storage.device_type), tonumber(other._c.storage.device_index))
  check(C.tn_fill_(s._c, v), 3)
  return s
end

local function binary(fn, op, a, b, out)
  if not is_tensor(a) then a = scalar_for(fn, a, b) end
  if not is_tensor(b) then b = scalar_for(fn, b, a) end
  if out then
    if C.tn_binary(op, out._c, a._c, b._c) == nil then core.c_error(3) end
    return out
  end
  return wrap(C.tn_binary(op, nil, a._c, b._c), 3)
end

for name, op in pairs(OPS) do
  Tensor[name] = function(a, b) return binary(name, op, a, b) end
  Tensor[name .. '_'] = function(a, b) return binary(name .. '_', op, a, b, a) end
  torch[name] = function(a, b, opts) return binary(name, op, a, b, opts and opts.out) end
end

mt.__add = function(a, b) return binary('add', OPS.add, a, b) end
mt.__sub = function(a, b) return binary('sub', OPS.sub, a, b) end
mt.__mul = function(a, b) return binary('mul', OPS.mul, a, b) end
mt.__div = function(a, b) return binary('div', OPS.div, a, b) end
mt.__unm = function(a) return binary('neg', OPS.mul, a, -1) end

return {}
