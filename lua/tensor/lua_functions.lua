-- tensor.lua_functions: Torch7's element-wise Lua functions, x:apply(f), x:map(y, f) and x:map2(y, z, f). They
-- call f once per element, so they are for small tensors and one-off transformations; the math ops are many
-- times faster.
local core = require 'tensor.core'
local args = require 'tensor.args'
local mode = require 'tensor.autograd.mode'

local Tensor, torch = core.Tensor, core.torch
local argerror = args.argerror

local function check_self(fn, self, f, n_others)
  core.c_of(self, fn, 'self')
  if type(f) ~= 'function' then argerror(fn, 'expected a function as argument %d, got %s', n_others + 1, type(f)) end
  if self:device() ~= 'cpu' then argerror(fn, 'works on CPU tensors only, got one on %s', self:device()) end
  if mode.enabled and rawget(self, '_rg') then
    argerror(fn, 'cannot change a tensor that requires grad in place; call it on x:detach() or under torch.no_grad')
  end
end

-- The elements of t in row-major order, as a Lua array (numbers, or booleans for a bool tensor).
local function elements(t) return t:reshape(-1):tolist() end

local function other_elements(fn, self, t, i)
  core.c_of(t, fn, 'argument ' .. i)
  if t:numel() ~= self:numel() then
    argerror(fn, 'argument %d has %d elements, self has %d', i, t:numel(), self:numel())
  end
  return elements(t)
end

-- Runs f over the elements in row-major order and writes what it returns back into self (an element for which
-- f returns nothing keeps its value), converted to self's dtype.
local function each(fn, self, f, y, z)
  local values = elements(self)
  local ys = y and other_elements(fn, self, y, 1)
  local zs = z and other_elements(fn, self, z, 2)
  local is_bool = self:dtype() == 'bool'
  for i = 1, #values do
    local r
    if zs then
      r = f(values[i], ys[i], zs[i])
    elseif ys then
      r = f(values[i], ys[i])
    else
      r = f(values[i])
    end
    if r ~= nil then
      if is_bool and type(r) == 'number' then r = r ~= 0 end
      if type(r) ~= 'number' and type(r) ~= 'boolean' then
        argerror(fn, 'the function returned a %s for element %d; expected a number', type(r), i)
      end
      values[i] = r
    end
  end
  if #values > 0 then self:copy_(torch.tensor(values, { dtype = self:dtype() }):view(self:shape())) end
  return self
end

--- Tensor:apply(f) -> self
-- Torch7's apply: calls f(v) for each element v of x (row-major order) and stores what it returns (an element
-- for which f returns nothing keeps its value), in place. CPU only.
-- Example: x:apply(function(v) return v * v end)
function Tensor:apply(f)
  check_self('apply', self, f, 0)
  return each('apply', self, f)
end

--- Tensor:map(y, f) -> self
-- Torch7's map: x's element becomes f(xv, yv) for the elements of x and y taken in row-major order (y has as
-- many elements as x), in place.
function Tensor:map(y, f)
  check_self('map', self, f, 1)
  return each('map', self, f, y)
end

--- Tensor:map2(y, z, f) -> self
-- Torch7's map2: x's element becomes f(xv, yv, zv), in place, likewise.
function Tensor:map2(y, z, f)
  check_self('map2', self, f, 2)
  return each('map2', self, f, y, z)
end

return {}
