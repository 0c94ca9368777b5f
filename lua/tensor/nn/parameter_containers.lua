-- tensor.nn.parameter_containers: ParameterList and ParameterDict, parameters held by position or by name and
-- registered like a module's own (found by parameters(), saved in the state dict, converted by :to()).
local torch = require 'tensor'
local module = require 'tensor.nn.module'

local Parameter, is_parameter = module.Parameter, module.is_parameter

return function(nn)
  local Module = nn.Module

  -- a parameter from p (a tensor becomes a new parameter, as in PyTorch)
  local function as_parameter(owner, p)
    if is_parameter(p) then return p end
    if torch.is_tensor(p) then return Parameter(p) end
    error(string.format('%s: expected a tensor or a parameter, got %s', owner, type(p)), 3)
  end

  local function describe(name, p)
    return string.format('(%s): Parameter containing: [torch.%s of size %s%s]', name, p:dtype(),
                         table.concat(p:shape(), 'x'), p:device() ~= 'cpu' and ' (' .. p:device() .. ')' or '')
  end

  --- nn.ParameterList({p1, p2, ...}) -> module
  -- Holds parameters in a list, named '0', '1', ... in the state dict as PyTorch's; plain tensors are made
  -- parameters. list[i] and list:get(i) give the i-th (1-based), #list their number; list:append(p),
  -- list:extend({...}), list:set(i, p); for i, p in list:ipairs() do ... end.
  local ParameterList = Module:extend('ParameterList')
  nn.ParameterList = ParameterList
  function ParameterList:init(list)
    if list ~= nil and (type(list) ~= 'table' or torch.is_tensor(list)) then
      error('ParameterList: expected a list of tensors, got ' .. (torch.is_tensor(list) and 'a tensor' or type(list)), 3)
    end
    for _, p in ipairs(list or {}) do self:append(p) end
  end
  function ParameterList:size() return #self._order.parameters end
  function ParameterList:append(p)
    p = as_parameter('ParameterList:append', p)
    local n = self:size()
    self:register_parameter(tostring(n), p)
    rawset(self, n + 1, p) -- (#list and ipairs read the array part)
    return self
  end
  function ParameterList:extend(list)
    for _, p in ipairs(list) do self:append(p) end
    return self
  end
  function ParameterList:get(i)
    if i < 0 then i = self:size() + i + 1 end
    return self._parameters[tostring(i - 1)]
  end
  ParameterList.__getitem = ParameterList.get
  function ParameterList:set(i, p)
    local n = self:size()
    if type(i) ~= 'number' or i < 1 or i > n or i ~= math.floor(i) then
      error(string.format('ParameterList:set: index %s is out of range 1..%d', tostring(i), n), 2)
    end
    p = as_parameter('ParameterList:set', p)
    self[tostring(i - 1)] = p -- (a replaced parameter keeps its place)
    rawset(self, i, p)
  end
  function ParameterList:ipairs()
    local i = 0
    return function()
      i = i + 1
      local p = self:get(i)
      if p ~= nil and i <= self:size() then return i, p end
    end
  end
  function ParameterList:forward() error('ParameterList has no forward; index it', 2) end
  function ParameterList:extra_repr()
    local lines = {}
    for i, p in self:ipairs() do lines[i] = describe(tostring(i - 1), p) end
    return table.concat(lines, '\n')
  end

  --- nn.ParameterDict({name = p, ...}) -> module
  -- Holds parameters by name (registered in sorted name order); plain tensors are made parameters. d.name or
  -- d:get(name) returns one; d:set(name, p) (or d.name = p) adds or replaces one; d:keys() lists the names.
  local ParameterDict = Module:extend('ParameterDict')
  nn.ParameterDict = ParameterDict
  function ParameterDict:init(dict)
    if dict ~= nil and (type(dict) ~= 'table' or torch.is_tensor(dict)) then
      error('ParameterDict: expected a table of name = tensor, got ' .. (torch.is_tensor(dict) and 'a tensor' or type(dict)), 3)
    end
    local names = {}
    for name in pairs(dict or {}) do
      if type(name) ~= 'string' then error('ParameterDict: names must be strings, got ' .. type(name), 3) end
      names[#names + 1] = name
    end
    table.sort(names)
    for _, name in ipairs(names) do self:set(name, dict[name]) end
  end
  function ParameterDict:get(name) return self._parameters[name] end
  function ParameterDict:set(name, p)
    if type(name) ~= 'string' then error('ParameterDict:set: names must be strings, got ' .. type(name), 2) end
    self[name] = as_parameter('ParameterDict:set', p) -- (a replaced parameter keeps its place)
  end
  -- (d.name = tensor registers it, as PyTorch's d['name'] = tensor)
  function ParameterDict:__setattr(key, value)
    if type(key) == 'string' and torch.is_tensor(value) and not is_parameter(value) then value = Parameter(value) end
    return Module.__setattr(self, key, value)
  end
  function ParameterDict:keys()
    local list = {}
    for _, name in ipairs(self._order.parameters) do
      if self._parameters[name] ~= nil then list[#list + 1] = name end
    end
    return list
  end
  function ParameterDict:forward() error('ParameterDict has no forward; index it by name', 2) end
  function ParameterDict:extra_repr()
    local lines = {}
    for _, name in ipairs(self:keys()) do lines[#lines + 1] = describe(name, self._parameters[name]) end
    return table.concat(lines, '\n')
  end
end
