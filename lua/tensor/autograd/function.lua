-- tensor.autograd.function: user-defined differentiable functions.
--
--   local Square = torch.autograd.Function{
--     forward = function(ctx, x) ctx:save_for_backward(x) return x * x end,
--     backward = function(ctx, g) local x = ctx.saved_tensors[1] return g * 2 * x end,
--   }
--   local y = Square.apply(x)
--
-- forward runs without recording; if an input requires grad, the outputs get a node that calls backward
-- with one gradient per output (zeros for outputs that received none) and expects one per input.
local core = require 'tensor.core'
local graph = require 'tensor.autograd.graph'
local mode = require 'tensor.autograd.mode'

local torch, is_tensor = core.torch, core.is_tensor

local floating = { [0] = true, [1] = true, [2] = true, [3] = true }

-- The ctx object: saved tensors are checked against in-place changes when read.
local Context = {}
Context.__index = function(self, key)
  if key == 'saved_tensors' then return { rawget(self, 'node'):saved_values() } end
  return Context[key]
end
function Context:save_for_backward(...) rawget(self, 'node'):save(...) end
function Context:mark_non_differentiable(...)
  for i = 1, select('#', ...) do self.non_differentiable[(select(i, ...))] = true end
end

local function new_function(def)
  if type(def) ~= 'table' or type(def.forward) ~= 'function' or type(def.backward) ~= 'function' then
    error('autograd.Function: expected a table with forward(ctx, ...) and backward(ctx, ...) functions', 2)
  end
  local F = { forward = def.forward, backward = def.backward, name = def.name or 'Custom' }

  function F.apply(...)
    local n = select('#', ...)
    local node = graph.new_node(F.name, nil, n)
    node.user_code = true -- the engine never adopts, as a .grad, a gradient this backward has seen or made
    local ctx = setmetatable({ node = node, needs_input_grad = {}, non_differentiable = {} }, Context)
    local any = false
    for i = 1, n do
      local x = select(i, ...)
      local needs = mode.enabled and type(x) == 'table' and rawget(x, '_rg') == true
      ctx.needs_input_grad[i] = needs
      if needs then
        node.next[i], node.next_nr[i] = graph.edge(x)
        any = true
      else
        node.next[i], node.next_nr[i] = false, 0
      end
    end
    local outputs = { mode.with(false, F.forward, ctx, ...) }
    if not any then return unpack(outputs, 1, table.maxn(outputs)) end
    -- Outputs that are tensors become the node's outputs.
    local shapes, count = {}, 0
    for k = 1, table.maxn(outputs) do
      local out = outputs[k]
      if is_tensor(out) and floating[tonumber(out._c.dtype)] and not ctx.non_differentiable[out] then
        -- an input returned as it is becomes a new tensor on the same storage, so its history stays intact
        for i = 1, n do
          if out == select(i, ...) then out = out:detach() outputs[k] = out end
        end
        count = count + 1
        shapes[count] = { shape = out:shape(), dtype = out:dtype(), device = out:device(), index = k }
        rawset(out, '_rg', true)
        rawset(out, '_fn', node)
        rawset(out, '_nr', count - 1)
      end
    end
    node.n_outputs = count
    node.backward = function(_, ...)
      local grads = { ... }
      for k = 1, count do
        if grads[k] == nil then
          local s = shapes[k]
          grads[k] = torch.zeros(s.shape, { dtype = s.dtype, device = s.device })
        end
      end
      local results = { F.backward(ctx, unpack(grads, 1, count)) }
      for i = 1, n do
        if ctx.needs_input_grad[i] and results[i] ~= nil and not is_tensor(results[i]) then
          error(string.format('%s.backward: gradient %d must be a tensor or nil, got %s', F.name, i,
                              type(results[i])), 0)
        end
      end
      return unpack(results, 1, n)
    end
    return unpack(outputs, 1, table.maxn(outputs))
  end

  return F
end

return new_function
