-- tensor.nn.padding: ZeroPad2d, ConstantPad1d/2d/3d, ReflectionPad1d/2d/3d and ReplicationPad1d/2d/3d, over
-- F.pad. padding is a number (every side) or a table in F.pad's order: {left, right [, top, bottom [, front,
-- back]]}.
local common = require 'tensor.nn.common'
local F = require 'tensor.nn.functional'

return function(nn)
  local Module = nn.Module

  -- dims: the padded trailing dims (1, 2 or 3); the input has dims + 1 (unbatched) or dims + 2 dims, except in
  -- constant mode, which pads any input with enough dims.
  local function define(name, mode, dims)
    local class = Module:extend(name)
    nn[name] = class
    class.__keeps_no_tensors = true -- (see nn.Sequential)
    local n = 2 * dims
    function class:init(padding, value)
      local names = mode == 'constant' and name ~= 'ZeroPad2d' and { 'padding', 'value' } or { 'padding' }
      local o = common.options(name, names, padding, value)
      padding = o.padding
      local list = {}
      if type(padding) == 'number' then
        for i = 1, n do list[i] = padding end
      elseif type(padding) == 'table' and #padding == n then
        for i = 1, n do list[i] = padding[i] end
      else
        error(string.format('%s: padding must be a number or a table of %d numbers, got %s', name, n,
                            type(padding) == 'table' and #padding .. ' numbers' or tostring(padding)), 3)
      end
      for i = 1, n do
        if type(list[i]) ~= 'number' or list[i] ~= math.floor(list[i]) then
          error(string.format('%s: padding must hold integers, got %s', name, tostring(list[i])), 3)
        end
      end
      self.padding = list
      if mode == 'constant' then
        self.value = o.value or 0
        if names[2] and o.value == nil then error(name .. ': the fill value is required', 3) end
      end
    end
    function class:forward(x)
      local nd = x:dim()
      if mode == 'constant' then
        if nd < dims then common.fail(self, 'expected an input of at least %d dims, got %s', dims, common.shape(x)) end
      elseif nd ~= dims + 1 and nd ~= dims + 2 then
        common.fail(self, 'expected a %d-d (unbatched) or %d-d input, got %s', dims + 1, dims + 2, common.shape(x))
      end
      return F.pad(x, self.padding, mode, self.value)
    end
    function class:extra_repr()
      if mode == 'constant' and name ~= 'ZeroPad2d' then
        return string.format('padding=%s, value=%s', common.tuple(self.padding), common.float(self.value))
      end
      return common.tuple(self.padding)
    end
  end

  --- nn.ZeroPad2d(padding) -> module
  -- Pads the last two dims with zeros.
  define('ZeroPad2d', 'constant', 2)
  --- nn.ConstantPad1d(padding, value) -> module
  -- Pads the last dim with value.
  define('ConstantPad1d', 'constant', 1)
  --- nn.ConstantPad2d(padding, value) -> module
  define('ConstantPad2d', 'constant', 2)
  --- nn.ConstantPad3d(padding, value) -> module
  define('ConstantPad3d', 'constant', 3)
  --- nn.ReflectionPad1d(padding) -> module
  -- Pads [C x W] or [N x C x W] with the reflection of the input about its edge (each amount below the size).
  define('ReflectionPad1d', 'reflect', 1)
  --- nn.ReflectionPad2d(padding) -> module
  define('ReflectionPad2d', 'reflect', 2)
  --- nn.ReflectionPad3d(padding) -> module
  define('ReflectionPad3d', 'reflect', 3)
  --- nn.ReplicationPad1d(padding) -> module
  -- Pads [C x W] or [N x C x W] with copies of the edge element.
  define('ReplicationPad1d', 'replicate', 1)
  --- nn.ReplicationPad2d(padding) -> module
  define('ReplicationPad2d', 'replicate', 2)
  --- nn.ReplicationPad3d(padding) -> module
  define('ReplicationPad3d', 'replicate', 3)
end
