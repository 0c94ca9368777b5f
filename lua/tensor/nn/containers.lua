-- tensor.nn.containers: Sequential, ModuleList, ModuleDict, and Torch7's Concat, ConcatTable, ParallelTable.
local torch = require 'tensor'
local module = require 'tensor.nn.module'
local graph = require 'tensor.autograd.graph'

local Module, is_module, is_tensor = module.Module, module.is_module, torch.is_tensor

return function(nn)
  local function check_module(owner, m, what)
    if not is_module(m) then
      error(string.format('%s: %s is a %s, not a module', owner, what, type(m)), 3)
    end
  end

  -- Submodules by position (1-based in Lua; their names are '0', '1', ... as in PyTorch state dicts).
  local function positional(self, i)
    local names = self._order.modules
    if i < 0 then i = #names + i + 1 end
    local name = names[i]
    return name and self._modules[name]
  end

  --- nn.Sequential(m1, m2, ...) -> module
  -- Applies its modules in order. seq[i] and seq:get(i) give the i-th module (1-based); seq:add(m) appends.
  -- The tensor one built-in layer hands the next is freed as soon as backward no longer needs it (not when a hook
  -- sees it or either layer is a class of your own).
  local Sequential = Module:extend('Sequential')
  nn.Sequential = Sequential
  function Sequential:init(...)
    for i = 1, select('#', ...) do self:add((select(i, ...))) end
  end
  -- Positional containers also keep their modules in the array part, so #seq, seq[i] and ipairs(seq) work.
  function Sequential:add(m)
    check_module('Sequential:add', m, 'the argument')
    local n = #self._order.modules
    self:add_module(tostring(n), m)
    rawset(self, n + 1, m)
    return self
  end
  Sequential.append = Sequential.add
  Sequential.__getitem = positional
  function Sequential:get(i) return positional(self, i) end
  function Sequential:size() return #self._order.modules end

  -- True if module m keeps no reference to the tensors it takes and returns and no hook sees them. Only the
  -- library's own layers say so (the class field __keeps_no_tensors, read on m's own class: a subclass may
  -- keep what it likes).
  local function keeps_nothing(m)
    local mt = getmetatable(m)
    local class = mt and mt.__class
    return class ~= nil and rawget(class, '__keeps_no_tensors') == true and rawget(m, '_forward_hooks')[1] == nil
           and rawget(m, '_forward_pre_hooks')[1] == nil
  end

  -- A tensor one child made and the next one took (and did not return), both children keeping nothing, is out of
  -- reach of user code once the second is done; graph.internal frees it as soon as the nodes that saved it for
  -- backward have let it go, so that the next step's activations reuse memory still in cache instead of waiting
  -- for the collector.
  -- The Sequential's own input is the caller's, even when a first child (Identity, Dropout in eval) hands it on
  -- unchanged: it is never passed on.
  local function pass_on(x, y, input)
    if y ~= x and x ~= input and is_tensor(x) and rawget(x, '_base') == nil then graph.internal(x) end
  end

  -- (a plain loop over the children: the named_children iterator is a closure per call, which the JIT does not
  -- compile, and passing on `...` only when there is some keeps the loop compiled)
  function Sequential:forward(x, ...)
    local names, modules, input = self._order.modules, self._modules, x
    local prev_keeps = false -- the previous child keeps nothing (false before the first)
    if select('#', ...) == 0 then
      for i = 1, #names do
        local m = modules[names[i]]
        if m then
          -- asked before and after the call: a hook present at either time may have seen x or y
          local keeps = keeps_nothing(m)
          local y = m(x)
          keeps = keeps and keeps_nothing(m)
          if prev_keeps and keeps then pass_on(x, y, input) end
          prev_keeps, x = keeps, y
        end
      end
    else
      for i = 1, #names do
        local m = modules[names[i]]
        if m then
          -- asked before and after the call: a hook present at either time may have seen x or y
          local keeps = keeps_nothing(m)
          local y = m(x, ...)
          keeps = keeps and keeps_nothing(m)
          if prev_keeps and keeps then pass_on(x, y, input) end
          prev_keeps, x = keeps, y
        end
      end
    end
    return x
  end

  --- nn.ModuleList({m1, m2, ...}) -> module
  -- Holds modules in a list (registered, so their parameters are found); it has no forward of its own.
  local ModuleList = Module:extend('ModuleList')
  nn.ModuleList = ModuleList
  function ModuleList:init(list)
    for _, m in ipairs(list or {}) do self:append(m) end
  end
  function ModuleList:append(m)
    check_module('ModuleList:append', m, 'the argument')
    local n = #self._order.modules
    self:add_module(tostring(n), m)
    rawset(self, n + 1, m)
    return self
  end
  function ModuleList:extend(list)
    for _, m in ipairs(list) do self:append(m) end
    return self
  end
  ModuleList.__getitem = positional
  function ModuleList:get(i) return positional(self, i) end
  -- for i, m in list:ipairs() do ... end
  function ModuleList:ipairs()
    local i = 0
    return function()
      i = i + 1
      local m = positional(self, i)
      if m then return i, m end
    end
  end
  function ModuleList:forward() error('ModuleList has no forward; iterate over its modules', 2) end

  --- nn.ModuleDict({name = module, ...}) -> module
  -- Holds modules by name (registered in sorted name order); d.name or d:get(name) returns one.
  local ModuleDict = Module:extend('ModuleDict')
  nn.ModuleDict = ModuleDict
  function ModuleDict:init(dict)
    local names = {}
    for name in pairs(dict or {}) do names[#names + 1] = name end
    table.sort(names)
    for _, name in ipairs(names) do
      check_module('ModuleDict', dict[name], 'entry ' .. name)
      self:add_module(name, dict[name])
    end
  end
  function ModuleDict:get(name) return self._modules[name] end
  function ModuleDict:set(name, m)
    check_module('ModuleDict:set', m, 'the argument')
    self:add_module(name, m)
  end
  function ModuleDict:keys()
    local list = {}
    for name in self:named_children() do list[#list + 1] = name end
    return list
  end
  function ModuleDict:forward() error('ModuleDict has no forward; index it by name', 2) end

  --- nn.Concat(dim) -> module
  -- Torch7: applies every submodule to the same input and concatenates the outputs along dim (1-based).
  local Concat = Module:extend('Concat')
  nn.Concat = Concat
  function Concat:init(dim) self.dim = dim or 1 end
  Concat.add, Concat.__getitem, Concat.get = Sequential.add, positional, positional
  function Concat:forward(x)
    local outs = {}
    for _, m in self:named_children() do outs[#outs + 1] = m(x) end
    return torch.cat(outs, self.dim)
  end
  function Concat:extra_repr() return 'dim=' .. self.dim end

  --- nn.ConcatTable() -> module
  -- Torch7: applies every submodule to the same input and returns the list of outputs.
  local ConcatTable = Module:extend('ConcatTable')
  nn.ConcatTable = ConcatTable
  ConcatTable.add, ConcatTable.__getitem, ConcatTable.get = Sequential.add, positional, positional
  function ConcatTable:forward(x)
    local outs = {}
    for _, m in self:named_children() do outs[#outs + 1] = m(x) end
    return outs
  end

  --- nn.ParallelTable() -> module
  -- Torch7: applies the i-th submodule to the i-th element of the input list; returns the list of outputs.
  local ParallelTable = Module:extend('ParallelTable')
  nn.ParallelTable = ParallelTable
  ParallelTable.add, ParallelTable.__getitem, ParallelTable.get = Sequential.add, positional, positional
  function ParallelTable:forward(inputs)
    if type(inputs) ~= 'table' or torch.is_tensor(inputs) then error('ParallelTable: expected a list of inputs', 2) end
    local outs, i = {}, 0
    for _, m in self:named_children() do
      i = i + 1
      if inputs[i] == nil then
        error(string.format('ParallelTable: %d modules but only %d inputs', #self._order.modules, i - 1), 2)
      end
      outs[i] = m(inputs[i])
    end
    return outs
  end
end
