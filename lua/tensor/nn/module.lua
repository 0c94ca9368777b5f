-- tensor.nn.module: nn.Module, the base of every layer and model.
--
--   local Net = nn.Module:extend('Net')
--   function Net:init(n) self.fc = nn.Linear(n, 2) end        -- submodules/parameters register themselves
--   function Net:forward(x) return self.fc(x) end
--   local net = Net(4); local y = net(x)
--
-- A module keeps its parameters, buffers and submodules in registration order (their state-dict names
-- are PyTorch's dotted names); other fields are plain fields. Instances are called like functions.
local core = require 'tensor.core'
local torch = require 'tensor'
local engine = require 'tensor.autograd.engine'

local is_tensor = core.is_tensor

local Module = { __typename = 'nn.Module', __name = 'Module' }
local instance_mts = {} -- class -> metatable of its instances

local function is_module(v) return type(v) == 'table' and rawget(v, '_modules') ~= nil end

-- ---------------------------------------------------------------- parameters

--- nn.Parameter(tensor) -> Tensor
-- Marks a tensor as a module parameter: a leaf that requires grad, registered when assigned to a module field.
local function Parameter(t, requires_grad)
  if not is_tensor(t) then error('nn.Parameter: expected a tensor, got ' .. type(t), 2) end
  local p = rawget(t, '_fn') and t:detach() or t
  rawset(p, '_is_param', true)
  if requires_grad ~= false then p.requires_grad = true end
  return p
end

local function is_parameter(v) return is_tensor(v) and rawget(v, '_is_param') == true end

-- ---------------------------------------------------------------- classes

-- The metatable of a class's instances: fields resolve to parameters, buffers, submodules, then methods.
local function instance_mt(class)
  local mt = instance_mts[class]
  if mt then return mt end
  mt = {}
  mt.__index = function(self, key)
    if type(key) == 'number' then -- containers: seq[1] is the first submodule
      local get = class.__getitem
      if get then return get(self, key) end
      return nil
    end
    local v = self._parameters[key]
    if v ~= nil then return v end
    v = self._buffers[key]
    if v ~= nil then return v end
    v = self._modules[key]
    if v ~= nil then return v end
    return class[key]
  end
  mt.__newindex = function(self, key, value)
    self:__setattr(key, value)
  end
  mt.__call = function(self, ...) return self:__call(...) end
  mt.__tostring = function(self) return self:__tostring() end
  mt.__class = class
  instance_mts[class] = mt
  return mt
end

--- nn.Module:extend(name) -> class
-- A new module class inheriting from this one. Define `init(self, ...)` and `forward(self, ...)` on it.
function Module:extend(name)
  local class = { __name = name or 'Module', __typename = 'nn.' .. (name or 'Module'), __parent = self }
  return setmetatable(class, {
    -- a lookup walks the chain of classes through their metatables, which compiled code follows without a loop
    __index = self,
    __call = function(cls, ...) return cls:new(...) end,
    __tostring = function() return 'nn.' .. (name or 'Module') .. ' (class)' end,
  })
end

-- Creates an instance of class and runs its init.
function Module.new(class, ...)
  local self = setmetatable({
    _parameters = {}, _buffers = {}, _modules = {},
    _order = { parameters = {}, buffers = {}, modules = {} },
    _non_persistent = {},
    _forward_hooks = {}, _forward_pre_hooks = {},
    training = true,
  }, instance_mt(class))
  local init = class.init
  if init then init(self, ...) end
  return self
end

function Module:init() end

-- The class of an instance.
function Module:class() return getmetatable(self).__class end
function Module:typename() return getmetatable(self).__class.__name end

-- ---------------------------------------------------------------- registration

local function remove_name(list, name)
  for i, n in ipairs(list) do
    if n == name then table.remove(list, i) return end
  end
end

local function forget(self, key)
  if self._parameters[key] ~= nil or self._order.parameters[key] then
    self._parameters[key] = nil
    remove_name(self._order.parameters, key)
  end
  if self._buffers[key] ~= nil then
    self._buffers[key] = nil
    remove_name(self._order.buffers, key)
  end
  if self._modules[key] ~= nil then
    self._modules[key] = nil
    remove_name(self._order.modules, key)
  end
end

local function register(self, kind, key, value)
  local store = self['_' .. kind]
  local order = self._order[kind]
  if store[key] == nil then
    local known = false
    for _, n in ipairs(order) do if n == key then known = true break end end
    if not known then order[#order + 1] = key end
  end
  store[key] = value
end

function Module:__setattr(key, value)
  if type(key) ~= 'string' then
    rawset(self, key, value)
  elseif is_module(value) then
    -- replacing a submodule (or parameter) keeps its place in the order, as in PyTorch
    if self._modules[key] == nil then
      forget(self, key)
      rawset(self, key, nil)
    end
    register(self, 'modules', key, value)
  elseif is_parameter(value) then
    if self._parameters[key] == nil then
      forget(self, key)
      rawset(self, key, nil)
    end
    register(self, 'parameters', key, value)
  elseif self._buffers[key] ~= nil and (value == nil or is_tensor(value)) then
    if value == nil then forget(self, key) else self._buffers[key] = value end
  elseif self._parameters[key] ~= nil and value == nil then
    forget(self, key)
  elseif self._modules[key] ~= nil and value == nil then
    forget(self, key)
  elseif self._parameters[key] ~= nil and is_tensor(value) then
    error(string.format("%s: cannot assign a plain tensor to parameter '%s'; wrap it with nn.Parameter", self:typename(), key), 3)
  else
    rawset(self, key, value)
  end
end

--- Module:register_parameter(name, param)
-- Registers a parameter (nn.Parameter or nil) under name.
function Module:register_parameter(name, param)
  if param ~= nil and not is_parameter(param) then param = Parameter(param) end
  forget(self, name)
  register(self, 'parameters', name, param)
end

--- Module:register_buffer(name, tensor, persistent)
-- Registers a tensor that is part of the module's state but not a parameter (e.g. BatchNorm's running mean).
-- Non-persistent buffers (persistent=false) are left out of the state dict.
function Module:register_buffer(name, tensor, persistent)
  if tensor ~= nil and not is_tensor(tensor) then
    error(string.format('%s.register_buffer: expected a tensor or nil for %s, got %s', self:typename(), name, type(tensor)), 2)
  end
  forget(self, name)
  rawset(self, name, nil)
  register(self, 'buffers', name, tensor)
  self._non_persistent[name] = persistent == false or nil
end

--- Module:add_module(name, module)
function Module:add_module(name, module)
  if not is_module(module) then error(string.format('%s.add_module: %s is not a module', self:typename(), tostring(name)), 2) end
  forget(self, name)
  register(self, 'modules', tostring(name), module)
end

-- ---------------------------------------------------------------- calling

function Module:forward()
  error(self:typename() .. ': forward is not implemented', 2)
end

-- (the hook loops run only when there are hooks: a loop, even an empty one, inside this hot function would cut
-- the caller's compiled trace short)
function Module:__call(...)
  local pre_hooks = self._forward_pre_hooks
  if pre_hooks[1] ~= nil then
    for _, hook in ipairs(pre_hooks) do hook(self, ...) end
  end
  if self._forward_hooks[1] == nil then return self:forward(...) end
  local outputs = { self:forward(...) }
  for _, hook in ipairs(self._forward_hooks) do
    local r = hook(self, { ... }, outputs[1])
    if r ~= nil then outputs[1] = r end
  end
  return unpack(outputs, 1, table.maxn(outputs))
end

--- Module:register_forward_hook(fn) -> handle
-- fn(module, inputs, output) runs after forward; a non-nil result replaces the output.
function Module:register_forward_hook(fn)
  local list = self._forward_hooks
  list[#list + 1] = fn
  return { remove = function() remove_name(list, fn) end }
end

--- Module:register_forward_pre_hook(fn) -> handle
function Module:register_forward_pre_hook(fn)
  local list = self._forward_pre_hooks
  list[#list + 1] = fn
  return { remove = function() remove_name(list, fn) end }
end

-- ---------------------------------------------------------------- traversal

--- Module:named_children() -> iterator of name, module
function Module:named_children()
  local names, i = self._order.modules, 0
  return function()
    repeat
      i = i + 1
      local name = names[i]
      if name == nil then return nil end
      local m = self._modules[name]
      if m then return name, m end
    until false
  end
end

--- Module:children() -> list of the direct submodules
function Module:children()
  local list = {}
  for _, m in self:named_children() do list[#list + 1] = m end
  return list
end

local function join(prefix, name) return prefix == '' and name or prefix .. '.' .. name end

--- Module:named_modules() -> iterator of name, module (this module first, as '')
function Module:named_modules(prefix)
  local list, seen = {}, {}
  local function walk(m, p)
    if seen[m] then return end
    seen[m] = true
    list[#list + 1] = { p, m }
    for name, child in m:named_children() do walk(child, join(p, name)) end
  end
  walk(self, prefix or '')
  local i = 0
  return function()
    i = i + 1
    local e = list[i]
    if e then return e[1], e[2] end
  end
end

--- Module:modules() -> list of this module and all its submodules
function Module:modules()
  local list = {}
  for _, m in self:named_modules() do list[#list + 1] = m end
  return list
end

local function named_tensors(self, kind, recurse)
  local list, seen = {}, {}
  local function walk(m, prefix)
    for _, name in ipairs(m._order[kind]) do
      local t = m['_' .. kind][name]
      if t ~= nil and not seen[t] then
        seen[t] = true
        list[#list + 1] = { join(prefix, name), t }
      end
    end
    if recurse ~= false then
      for name, child in m:named_children() do walk(child, join(prefix, name)) end
    end
  end
  walk(self, '')
  local i = 0
  return function()
    i = i + 1
    local e = list[i]
    if e then return e[1], e[2] end
  end
end

--- Module:named_parameters([recurse]) -> iterator of dotted name, parameter
function Module:named_parameters(recurse) return named_tensors(self, 'parameters', recurse) end

--- Module:parameters([recurse]) -> list of parameters (shared ones once)
function Module:parameters(recurse)
  local list = {}
  for _, p in self:named_parameters(recurse) do list[#list + 1] = p end
  return list
end

--- Module:named_buffers([recurse]) -> iterator of dotted name, buffer
function Module:named_buffers(recurse) return named_tensors(self, 'buffers', recurse) end

--- Module:buffers([recurse]) -> list of buffers
function Module:buffers(recurse)
  local list = {}
  for _, b in self:named_buffers(recurse) do list[#list + 1] = b end
  return list
end

--- Module:apply(fn) -> self
-- Calls fn(m) on every submodule (children first) and then on this module.
function Module:apply(fn)
  for _, child in self:named_children() do child:apply(fn) end
  fn(self)
  return self
end

-- ---------------------------------------------------------------- modes and devices

--- Module:train([mode=true]) -> self
function Module:train(on)
  if on == nil then on = true end
  rawset(self, 'training', on and true or false)
  for _, child in self:named_children() do child:train(on) end
  return self
end

--- Module:eval() -> self
function Module:eval() return self:train(false) end

--- Module:zero_grad({set_to_none=true})
function Module:zero_grad(opts)
  local to_none = not (type(opts) == 'table' and opts.set_to_none == false)
  for _, p in ipairs(self:parameters()) do engine.clear_grad(p, to_none) end
end

-- Converts every parameter and buffer in place (their tensor objects stay the same, so optimizers that hold
-- them keep working). convert(t) returns the converted tensor or t itself.
local function convert_state(self, convert)
  torch.no_grad(function()
    for _, m in ipairs(self:modules()) do
      for _, name in ipairs(m._order.parameters) do
        local p = m._parameters[name]
        if p ~= nil then
          local c = convert(p, true)
          if c ~= p then core.check(core.C.tn_set_(p._c, c._c)) end
          local g = rawget(p, '_grad')
          if g ~= nil then
            local cg = convert(g, true)
            if cg ~= g then rawset(p, '_grad', cg) end
          end
        end
      end
      for _, name in ipairs(m._order.buffers) do
        local b = m._buffers[name]
        if b ~= nil then
          local c = convert(b, false)
          if c ~= b then m._buffers[name] = c end
        end
      end
    end
  end)
  return self
end

--- Module:to(device_or_dtype_or_opts) -> self
-- Moves parameters and buffers to a device and/or converts floating ones to a dtype, in place.
function Module:to(target)
  local dt, device
  if type(target) == 'string' then
    if require('tensor.dtype').enum[target] then dt = target else device = target end
  elseif type(target) == 'table' then
    dt, device = target.dtype, target.device
  end
  return convert_state(self, function(t)
    local opts = {}
    if device then opts.device = device end
    if dt and t:is_floating_point() then opts.dtype = dt end
    return t:to(opts)
  end)
end

function Module:cuda(index) return self:to(index and ('cuda:' .. index) or 'cuda') end
function Module:cpu() return self:to('cpu') end
function Module:float() return self:to('float32') end
function Module:double() return self:to('float64') end
function Module:half() return self:to('float16') end

-- ---------------------------------------------------------------- state dicts

--- Module:state_dict() -> table of dotted name -> tensor
-- Parameters and persistent buffers under PyTorch's names (e.g. `features.0.weight`), detached.
-- Lua tables have no order: Module:state_dict_keys() lists the entries in PyTorch's order.
function Module:state_dict(prefix)
  local sd = {}
  for _, key in ipairs(self:state_dict_keys(prefix)) do sd[key[1]] = key[2] end
  return sd
end

-- The state dict's entries in PyTorch's order: { {name, tensor}, ... }.
function Module:state_dict_keys(prefix)
  local list = {}
  local function walk(m, p)
    for _, name in ipairs(m._order.parameters) do
      local t = m._parameters[name]
      if t ~= nil then list[#list + 1] = { join(p, name), t:detach() } end
    end
    for _, name in ipairs(m._order.buffers) do
      local t = m._buffers[name]
      if t ~= nil and not m._non_persistent[name] then list[#list + 1] = { join(p, name), t:detach() } end
    end
    for name, child in m:named_children() do walk(child, join(p, name)) end
  end
  walk(self, prefix or '')
  return list
end

local function shape_string(t) return '[' .. table.concat(t:shape(), ' x ') .. ']' end

--- Module:load_state_dict(state_dict, {strict=true}) -> missing_keys, unexpected_keys
-- Copies values into this module's parameters and buffers. With strict, missing or unexpected keys are an
-- error naming them; a shape mismatch is always an error naming the key and both shapes.
function Module:load_state_dict(sd, opts)
  if type(sd) ~= 'table' then error(self:typename() .. '.load_state_dict: expected a table of tensors', 2) end
  local strict = not (type(opts) == 'table' and opts.strict == false)
  local own, missing, unexpected = {}, {}, {}
  for _, entry in ipairs(self:state_dict_keys()) do own[entry[1]] = entry[2] end
  for name in pairs(own) do
    if sd[name] == nil then missing[#missing + 1] = name end
  end
  for name, value in pairs(sd) do
    if own[name] == nil then unexpected[#unexpected + 1] = name end
    if own[name] ~= nil and not is_tensor(value) then
      error(string.format('%s.load_state_dict: the value for %s is a %s, not a tensor', self:typename(), name, type(value)), 2)
    end
  end
  table.sort(missing)
  table.sort(unexpected)
  if strict and (#missing > 0 or #unexpected > 0) then
    local parts = {}
    if #missing > 0 then parts[#parts + 1] = 'missing keys: ' .. table.concat(missing, ', ') end
    if #unexpected > 0 then parts[#parts + 1] = 'unexpected keys: ' .. table.concat(unexpected, ', ') end
    error(string.format('%s.load_state_dict: %s', self:typename(), table.concat(parts, '; ')), 2)
  end
  for name, target in pairs(own) do
    local value = sd[name]
    if value ~= nil then
      if not value:is_same_size(target) then
        error(string.format('%s.load_state_dict: size mismatch for %s: the checkpoint has %s, the module has %s',
                            self:typename(), name, shape_string(value), shape_string(target)), 2)
      end
      torch.no_grad(function() target:copy_(value) end)
    end
  end
  return missing, unexpected
end

--- Module:clone() -> module
-- A deep copy: the same structure with copies of every parameter and buffer (Torch7's clone).
function Module:clone()
  local seen = {}
  local function copy(v)
    if type(v) ~= 'table' then return v end
    if seen[v] then return seen[v] end
    if is_tensor(v) then
      local c = v:detach():clone()
      if rawget(v, '_is_param') then
        rawset(c, '_is_param', true)
        c.requires_grad = v.requires_grad
      end
      seen[v] = c
      return c
    end
    local out = {}
    seen[v] = out
    for k, x in pairs(v) do rawset(out, copy(k), copy(x)) end
    return setmetatable(out, getmetatable(v))
  end
  return copy(self)
end

-- ---------------------------------------------------------------- printing

--- Module:extra_repr() -> string
-- The text inside the parentheses when the module is printed (layers override it).
function Module:extra_repr() return '' end

-- PyTorch's layout: a one-line extra_repr without children stays on the first line; otherwise the extra_repr
-- lines and then the children, one per line, indented by two spaces.
function Module:__tostring()
  local lines = {}
  local extra = self:extra_repr()
  if extra ~= '' then
    for line in (extra .. '\n'):gmatch('(.-)\n') do lines[#lines + 1] = line end
  end
  local n_extra = #lines
  for name, child in self:named_children() do
    lines[#lines + 1] = '(' .. name .. '): ' .. (tostring(child):gsub('\n', '\n  '))
  end
  local head = self:typename() .. '('
  if #lines == 0 then return head .. ')' end
  if n_extra == 1 and #lines == 1 then return head .. lines[1] .. ')' end
  return head .. '\n  ' .. table.concat(lines, '\n  ') .. '\n)'
end

-- nn.Module() itself makes a plain module (a container to hang fields on), as in PyTorch
setmetatable(Module, {
  __call = function(cls, ...) return cls:new(...) end,
  __tostring = function() return 'nn.Module (class)' end,
})

return { Module = Module, Parameter = Parameter, is_module = is_module, is_parameter = is_parameter }
