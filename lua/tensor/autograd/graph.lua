-- tensor.autograd.graph: the nodes of the tape.
--
-- A node is one recorded op. It links to the nodes that produced its differentiable inputs (`next`, with
-- the output number of that node in `next_nr`), keeps what its derivative formula needs (`saved`, with
-- each tensor's version at save time), and runs `backward(ctx, grad...)` when the engine reaches it.
-- Leaves that require grad get an accumulator node, whose job is to add gradients into `.grad`. While a node's
-- backward runs, `grad_writable` says whether the engine alone holds its incoming gradient, so that the formula
-- may write its result into that tensor instead of a new one.
--
-- Tensor fields used by autograd (private keys; x.requires_grad, x.grad, x.grad_fn read them):
--   _rg  requires grad (true/nil)       _fn   the node that produced the tensor (nil for leaves)
--   _nr  which output of _fn it is       _grad the accumulated gradient of a leaf (or a retained one)
--   _acc the accumulator node of a leaf _base the tensor whose storage a view looks into
--   _saves how many nodes hold it saved  _internal no user code can reach it (M.internal)
local memory = require 'tensor.memory'

local sole_owner, release = memory.sole_owner, memory.release

local Node = {}
Node.__index = Node
Node.__tostring = function(self) return '<' .. self.name .. 'Backward>' end

local M = { Node = Node }

function M.new_node(name, backward, n_inputs)
  -- The fields a recorded node gets later have a place in the constructor (false: none yet), so that the table
  -- is made at a size with room for them and for a formula's own few fields, instead of growing and rehashing
  -- key by key. Not a tail call of setmetatable, for the JIT's sake (see core.wrap).
  local node = setmetatable({ name = name, backward = backward, next = {}, next_nr = {}, n_inputs = n_inputs or 0,
                              n_outputs = 1, results = false, n_saved = 0, shapes = false, dtypes = false,
                              grad_writable = false }, Node)
  return node
end

-- The accumulator node of a leaf that requires grad (created once, kept on the leaf).
function M.accumulator(leaf)
  local acc = rawget(leaf, '_acc')
  if not acc then
    acc = setmetatable({ name = 'AccumulateGrad', variable = leaf, next = {}, next_nr = {}, n_inputs = 0,
                         n_outputs = 1, is_accumulator = true }, Node)
    rawset(leaf, '_acc', acc)
  end
  return acc
end

-- The (node, output number) where gradients for tensor t go, or nil when t does not require grad.
function M.edge(t)
  local fn = rawget(t, '_fn')
  if fn then return fn, rawget(t, '_nr') or 0 end
  if rawget(t, '_rg') then return M.accumulator(t), 0 end
  return nil, 0
end

-- Saving tensors for backward: the version at save time is checked when backward reads them. One table holds
-- the n values and then their n versions. A saved tensor counts the nodes holding it (`_saves`), so that an
-- internal one (M.internal) is freed when the last of them lets go.
local function hold(v)
  if type(v) == 'table' then
    local c = rawget(v, '_c')
    if type(c) == 'cdata' then
      rawset(v, '_saves', (rawget(v, '_saves') or 0) + 1)
      return tonumber(c.storage.version)
    end
  end
  return nil
end
local function let_go(v, may_free)
  if type(v) == 'table' then
    local n = rawget(v, '_saves')
    if n then
      n = n - 1
      rawset(v, '_saves', n)
      if n == 0 and may_free and rawget(v, '_internal') and sole_owner(v) then release(v) end
    end
  end
end

function Node:save(...)
  local n = select('#', ...)
  local saved
  if n <= 3 then -- straight-line for the usual one to three values (no loop for the JIT to unroll)
    local a, b, c = ...
    if n == 1 then
      saved = { a, hold(a) }
    elseif n == 2 then
      saved = { a, b, hold(a), hold(b) }
    else
      saved = { a, b, c, hold(a), hold(b), hold(c) }
    end
  else
    saved = { ... }
    for i = 1, n do saved[n + i] = hold(saved[i]) end
  end
  self.saved, self.n_saved = saved, n
end

-- Replaces saved value i (its version goes with it); the old value is about to change in place, so it stays.
function Node:replace_saved(i, v)
  let_go(self.saved[i], false)
  self.saved[i] = v
  self.saved[self.n_saved + i] = hold(v)
end

-- While a tool that keeps every value an op makes is running (the ONNX tracer), nothing is internal.
local keeping = 0
function M.keep_intermediates(on) keeping = keeping + (on and 1 or -1) end

-- Marks tensor t internal: one module of a container made it and the next consumed it, and no user code can
-- reach it (nn.Sequential decides). It is freed now if no node saved it, else when the last node that saved it
-- releases its saved values after backward, so that the next step writes into memory still in cache.
function M.internal(t)
  if keeping > 0 then return end
  if (rawget(t, '_saves') or 0) == 0 then
    if sole_owner(t) then release(t) end
  else
    rawset(t, '_internal', true)
  end
end

local function shape_string(t)
  return '[' .. table.concat(t:shape(), ' x ') .. ']'
end

-- The saved values, after checking they were not freed or modified in place since.
function Node:saved_values()
  local saved = self.saved
  if saved == false then
    error(string.format('backward: trying to backward through the graph a second time (the saved values of %s ' ..
                        'were freed by the first backward); pass {retain_graph=true} to the first backward', self.name), 0)
  end
  if saved == nil then return end
  local n = self.n_saved
  for i = 1, n do
    local expected = saved[n + i]
    if expected then
      local t = saved[i]
      local now = tonumber(t._c.storage.version)
      if now ~= expected then
        local producer = rawget(t, '_fn')
        error(string.format('backward: a tensor of size %s (%s)%s saved by %s for its gradient was modified by an ' ..
                            'in-place operation: it is at version %d, expected version %d', shape_string(t), t:type(),
                            producer and (', the output of ' .. producer.name .. ',') or '', self.name, now, expected), 0)
      end
    end
  end
  return unpack(saved, 1, self.n_saved)
end

function Node:release()
  local saved = self.saved
  if saved then
    self.saved = false
    for i = 1, self.n_saved do let_go(saved[i], true) end
  end
end

-- Registers fn to run on the gradient flowing into output `nr` of this node (a tensor hook).
function Node:add_pre_hook(nr, fn)
  self.pre_hooks = self.pre_hooks or {}
  local list = self.pre_hooks[nr] or {}
  self.pre_hooks[nr] = list
  list[#list + 1] = fn
  return #list
end

-- PyTorch-style introspection: node.next_functions = { {node, nr}, ... }
function Node:next_functions()
  local list = {}
  for i = 1, self.n_inputs do
    list[i] = { self.next[i] or nil, self.next_nr[i] or 0 }
  end
  return list
end

return M
