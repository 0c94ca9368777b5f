-- tensor.optim.optimizer: the base of every optimizer: parameter groups with their hyper-parameters,
-- per-parameter state, zero_grad, state_dict / load_state_dict (PyTorch's layout: parameters numbered from
-- 0 in group order).
local core = require 'tensor.core'
local torch = require 'tensor'
local engine = require 'tensor.autograd.engine'

local is_tensor = core.is_tensor

local Optimizer = {}
Optimizer.__index = Optimizer

local function check_params(name, params)
  if type(params) ~= 'table' or #params == 0 then
    error(string.format('optim.%s: expected a non-empty list of parameters (e.g. model:parameters())', name), 4)
  end
  for i, p in ipairs(params) do
    if not is_tensor(p) then
      error(string.format('optim.%s: parameter %d is a %s, not a tensor', name, i, type(p)), 4)
    end
    if not p.requires_grad then
      error(string.format('optim.%s: parameter %d does not require grad', name, i), 4)
    end
  end
end

-- A new optimizer of class over params (a list of tensors, or a list of groups {params=, lr=, ...}).
function Optimizer.new(class, params, opts, defaults)
  local self = setmetatable({ defaults = {}, param_groups = {}, state = {} }, class)
  for k, v in pairs(defaults) do self.defaults[k] = v end
  for k, v in pairs(opts or {}) do
    if defaults[k] == nil and k ~= 'lr' then
      error(string.format("optim.%s: unknown option '%s'", class.name, tostring(k)), 3)
    end
    self.defaults[k] = v
  end
  if self.defaults.lr == nil then error(string.format('optim.%s: lr is required', class.name), 3) end
  if type(params) == 'table' and type(params[1]) == 'table' and not is_tensor(params[1]) then
    for _, group in ipairs(params) do self:add_param_group(group) end
  else
    self:add_param_group({ params = params })
  end
  return self
end

--- Optimizer:add_param_group(group)
-- Adds {params = {...}, lr = ..., ...}; options missing from the group take the optimizer's defaults.
function Optimizer:add_param_group(group)
  local params = group.params
  check_params(getmetatable(self).name, params)
  -- a parameter in two groups (or twice in one) would be stepped twice per step: refused, as PyTorch does
  local seen = {}
  for _, other in ipairs(self.param_groups) do
    for _, p in ipairs(other.params) do seen[p] = true end
  end
  for i, p in ipairs(params) do
    if seen[p] then
      core.raise(string.format(
        'optim.%s: parameter %d of the group is already in a parameter group of this optimizer', getmetatable(self).name, i))
    end
    seen[p] = true
  end
  local g = {}
  for k, v in pairs(self.defaults) do g[k] = v end
  for k, v in pairs(group) do g[k] = v end
  g.params = {}
  for i, p in ipairs(params) do g.params[i] = p end
  self.param_groups[#self.param_groups + 1] = g
  if self._init_group then self:_init_group(g) end
end

--- Optimizer:zero_grad({set_to_none=true})
function Optimizer:zero_grad(opts)
  local to_none = not (type(opts) == 'table' and opts.set_to_none == false)
  for _, group in ipairs(self.param_groups) do
    for _, p in ipairs(group.params) do engine.clear_grad(p, to_none) end
  end
end

-- The state of parameter p (created empty on first use).
function Optimizer:state_of(p)
  local s = self.state[p]
  if not s then
    s = {}
    self.state[p] = s
  end
  return s
end

-- (a module-level function run under no_grad: a closure made per call would keep the JIT from compiling the step)
local function update_all(self)
  for _, group in ipairs(self.param_groups) do
    for _, p in ipairs(group.params) do
      local g = rawget(p, '_grad')
      if g ~= nil then self:update(p, g, group, self:state_of(p)) end
    end
  end
end

--- Optimizer:step([closure]) -> loss
-- One update of every parameter with a gradient; closure() (if given) re-evaluates the loss with gradients
-- enabled first, and its value is returned.
function Optimizer:step(closure)
  local loss
  if closure then loss = torch.enable_grad(closure) end
  torch.no_grad(update_all, self)
  return loss
end

-- A copy of a state value sharing nothing with it: tensors cloned, lists (LBFGS's history) copied with their
-- tensors (PyTorch deep-copies state in state_dict and load_state_dict).
local function copy_value(v)
  if is_tensor(v) then return v:clone() end
  if type(v) == 'table' and getmetatable(v) == nil then
    local copy = {}
    for k, x in pairs(v) do copy[k] = copy_value(x) end
    return copy
  end
  return v
end

--- Optimizer:state_dict() -> {state = {[id] = {...}}, param_groups = {{params = {ids}, lr = ...}, ...}}
-- Parameters are numbered from 0 in group order, as in PyTorch.
function Optimizer:state_dict()
  local state, groups, id = {}, {}, 0
  for _, group in ipairs(self.param_groups) do
    local g = { params = {} }
    for k, v in pairs(group) do
      if k ~= 'params' then g[k] = v end
    end
    for _, p in ipairs(group.params) do
      g.params[#g.params + 1] = id
      local s = self.state[p]
      if s then
        local copy = {}
        for k, v in pairs(s) do copy[k] = copy_value(v) end
        state[id] = copy
      end
      id = id + 1
    end
    groups[#groups + 1] = g
  end
  return { state = state, param_groups = groups }
end

--- Optimizer:load_state_dict(state_dict)
function Optimizer:load_state_dict(sd)
  if type(sd) ~= 'table' or type(sd.param_groups) ~= 'table' then
    error('load_state_dict: expected a table with param_groups and state', 2)
  end
  if #sd.param_groups ~= #self.param_groups then
    error(string.format('load_state_dict: the state has %d parameter groups, the optimizer %d',
                        #sd.param_groups, #self.param_groups), 2)
  end
  local by_id = {}
  for i, group in ipairs(self.param_groups) do
    local saved = sd.param_groups[i]
    if #saved.params ~= #group.params then
      error(string.format('load_state_dict: group %d has %d parameters in the state, %d in the optimizer', i,
                          #saved.params, #group.params), 2)
    end
    for j, p in ipairs(group.params) do by_id[saved.params[j]] = p end
    for k, v in pairs(saved) do
      if k ~= 'params' then group[k] = v end
    end
  end
  self.state = {}
  for id, s in pairs(sd.state or {}) do
    local p = by_id[tonumber(id)]
    if p then
      local copy = {}
      for k, v in pairs(s) do
        if k == 'step' and is_tensor(v) and v:numel() == 1 then
          v = v:item() -- (PyTorch 1.12 and later save the step count as a 0-d tensor)
        elseif is_tensor(v) then
          -- follow the parameter's device and (for floating state) dtype
          v = v:to({ device = p:device(), dtype = v:is_floating_point() and p:dtype() or nil }):clone()
        else
          v = copy_value(v)
        end
        copy[k] = v
      end
      self.state[p] = copy
    end
  end
end

return Optimizer
