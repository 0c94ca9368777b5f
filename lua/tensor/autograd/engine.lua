-- tensor.autograd.engine: runs the tape backward.
--
-- From the roots' nodes it collects the graph, counts for each node how many edges lead into it, then
-- executes nodes once all their consumers have run (Kahn's order), summing gradients that fan in. Leaves
-- accumulate into .grad; torch.autograd.grad instead captures the gradients arriving at its inputs and
-- only runs the part of the graph that leads to them. Saved tensors are freed unless retain_graph, and each
-- gradient the engine alone holds is freed as soon as the node it was for has used it.
-- After a leaf's .grad is updated, its post-accumulate hooks run (node.post_hooks, each called with the
-- leaf); callbacks queued during the pass run once it is over (nn.DistributedDataParallel uses both).
local graph = require 'tensor.autograd.graph'
local mode = require 'tensor.autograd.mode'
local memory = require 'tensor.memory'
local new_table, clear = require 'table.new', require 'table.clear'

local M = {}

-- The tables of a pass, kept for the next one once it is over: made at a size for a small network's graph and
-- emptied in place, rather than built again each pass and grown (rehashed) one node at a time. A pass that
-- raises drops its set; a pass run from a hook inside another takes a set of its own.
local spare_sets = {}
local function take_set()
  local n = #spare_sets
  if n > 0 then
    local w = spare_sets[n]
    spare_sets[n] = nil
    return w
  end
  return { deps = new_table(0, 32), seen = new_table(0, 32), buffers = new_table(0, 32), adopted = new_table(0, 32),
           placed = new_table(0, 32), stack = new_table(16, 0), ready = new_table(16, 0), bufs = new_table(16, 0) }
end
local function give_back(w)
  clear(w.deps); clear(w.seen); clear(w.buffers); clear(w.adopted); clear(w.placed); clear(w.stack); clear(w.ready)
  spare_sets[#spare_sets + 1] = w
end

-- A node's gradient buffer: a spare one of the set's, or a new one.
local function new_buffer(bufs)
  local n = #bufs
  if n == 0 then return new_table(1, 0) end
  local b = bufs[n]
  bufs[n] = nil
  return b
end

-- Makes a gradient fit its input: sums over broadcast dims and casts to the input's dtype.
local function conform(node, i, g)
  local shapes = node.shapes
  local shape = shapes and shapes[i]
  if shape then
    local c = g._c
    local same = c.ndim == #shape
    if same then
      for d = 1, #shape do
        if tonumber(c.sizes[d - 1]) ~= shape[d] then same = false break end
      end
    end
    if not same then g = M.sum_to(g, shape) end
  end
  local dtypes = node.dtypes
  local dt = dtypes and dtypes[i]
  if dt and g._c.dtype ~= dt then g = g:_convert(dt, tonumber(g._c.storage.device_type), tonumber(g._c.storage.device_index)) end
  return g
end

-- Sums g down to `shape` (the inverse of broadcasting).
function M.sum_to(g, shape)
  local gshape = g:shape()
  local lead = #gshape - #shape
  local dims = {}
  for d = 1, #gshape do
    if d <= lead or (shape[d - lead] == 1 and gshape[d] ~= 1) then dims[#dims + 1] = d end
  end
  if #dims > 0 then g = g:sum(dims, true) end
  if lead > 0 or #dims > 0 then g = g:reshape(shape) end
  return g
end

local sole_owner = memory.sole_owner

-- Adds g into a leaf's .grad. A gradient the engine alone holds is adopted as it is; others are copied, so
-- that later in-place accumulation never writes into a tensor someone else sees. `adopted` marks those it
-- must not take: already adopted, the caller's, or seen by user code (hooks, custom Functions).
local function accumulate(leaf, g, create_graph, adopted)
  local current = rawget(leaf, '_grad')
  if current == nil then
    if create_graph then
      rawset(leaf, '_grad', g)
    elseif not adopted[g] and sole_owner(g) and g:is_contiguous() and rawget(g, '_fn') == nil then
      adopted[g] = true
      rawset(g, '_recycle', true) -- cleared when anyone reads leaf.grad (see M.clear_grad)
      rawset(leaf, '_grad', g)
    else
      rawset(leaf, '_grad', g:detach():clone())
    end
  elseif create_graph or rawget(current, '_fn') or rawget(current, '_rg') then
    rawset(leaf, '_grad', current + g)
  else
    current:add_(g)
  end
end

local function zero(g) g:zero_() end

-- zero_grad's work on one parameter (Optimizer's and Module's): zero p.grad in place, or with set_to_none
-- drop it. A dropped gradient the engine adopted that nobody has read since (reading p.grad clears its mark,
-- and the engine's own readers do not keep it) and that no view shares is freed at once, so that the next
-- backward pass writes its gradient into memory still in cache.
function M.clear_grad(p, set_to_none)
  local g = rawget(p, '_grad')
  if g == nil then return end
  if not set_to_none then
    mode.with(false, zero, g)
    return
  end
  rawset(p, '_grad', nil)
  if rawget(g, '_recycle') and sole_owner(g) then memory.release(g) end
end

-- Frees the gradients node's backward has consumed that nothing else can reach: not the caller's, not seen
-- by user code or captured (adopted), held in this one buffer slot (placed), not passed on as a result, and
-- with no view of them alive.
-- How many of node's input gradients are g.
local function uses(g, node, in_grads)
  local count = 0
  for i = 1, node.n_inputs do
    if in_grads[i] == g then count = count + 1 end
  end
  return count
end

local function release_used(node, buf, in_grads, adopted, placed)
  for k = 1, node.n_outputs do
    local g = buf[k]
    if g ~= nil and not adopted[g] and placed[g] == 1 and sole_owner(g) and uses(g, node, in_grads) == 0 then
      memory.release(g)
    end
  end
end

-- Frees a gradient that was just summed into another one, when the engine alone held it: a fresh result of
-- this node's formula (never put in a buffer, not seen by user code), handed to this one input only.
local function release_summed(g, node, in_grads, adopted, placed)
  if not adopted[g] and placed[g] == nil and sole_owner(g) and uses(g, node, in_grads) == 1 then memory.release(g) end
end

-- The nodes from which a captured input can be reached (the only ones torch.autograd.grad must run).
local function needed_nodes(roots, capture)
  local needed, state, stack = {}, {}, {}
  for _, root in ipairs(roots) do stack[#stack + 1] = root end
  -- iterative post-order DFS: state 1 = children pushed, 2 = done
  while #stack > 0 do
    local node = stack[#stack]
    local s = state[node]
    if s == nil then
      state[node] = 1
      for i = 1, node.n_inputs do
        local nx = node.next[i]
        if nx and state[nx] == nil then stack[#stack + 1] = nx end
      end
    else
      stack[#stack] = nil
      if s == 1 then
        state[node] = 2
        local need = capture[node] ~= nil
        for i = 1, node.n_inputs do
          local nx = node.next[i]
          if nx and needed[nx] then need = true end
        end
        needed[node] = need or nil
      end
    end
  end
  return needed
end

-- Ready nodes run latest-recorded first (a comparator made once: a closure made per pass stops the JIT).
local function later_first(a, b) return (a.seq or 0) > (b.seq or 0) end

-- Runs backward from roots (tensors) with their gradients (tensors).
-- opts: retain_graph, create_graph, inputs (list: capture their gradients instead of accumulating),
-- allow_unused. Returns the list of captured gradients when inputs are given.
function M.run(roots, grads, opts)
  local retain, create_graph = opts.retain_graph, opts.create_graph
  local inputs = opts.inputs
  local root_nodes, root_nrs = {}, {}
  for i, t in ipairs(roots) do
    root_nodes[i], root_nrs[i] = graph.edge(t)
  end

  local capture, results, needed
  if inputs then
    capture, results = {}, {}
    for j, t in ipairs(inputs) do
      local node, nr = graph.edge(t)
      if not node then
        error(string.format('grad: input %d does not require grad (set requires_grad=true)', j), 0)
      end
      capture[node] = capture[node] or {}
      capture[node][nr] = capture[node][nr] or {}
      table.insert(capture[node][nr], j)
    end
    needed = needed_nodes(root_nodes, capture)
  end

  local set = take_set()
  -- Count the edges into each node that will run.
  local deps, seen, stack = set.deps, set.seen, set.stack
  for _, node in ipairs(root_nodes) do
    if not seen[node] and (not needed or needed[node]) then
      seen[node] = true
      stack[#stack + 1] = node
    end
  end
  while #stack > 0 do
    local node = stack[#stack]
    stack[#stack] = nil
    if not node.is_accumulator then
      for i = 1, node.n_inputs do
        local nx = node.next[i]
        if nx and (not needed or needed[nx]) then
          deps[nx] = (deps[nx] or 0) + 1
          if not seen[nx] then
            seen[nx] = true
            stack[#stack + 1] = nx
          end
        end
      end
    end
  end

  -- Seed the roots' gradients. `placed` counts the buffer slots each gradient is in: one in several (a formula
  -- passed the same tensor on to two inputs) is never summed into or written in place.
  local buffers, adopted, placed, bufs = set.buffers, set.adopted, set.placed, set.bufs
  for i, node in ipairs(root_nodes) do
    if not needed or needed[node] then
      local buf = buffers[node] or new_buffer(bufs)
      buffers[node] = buf
      local slot = root_nrs[i] + 1
      adopted[grads[i]] = true -- the caller's gradient is never adopted as a .grad
      buf[slot] = buf[slot] and buf[slot] + grads[i] or grads[i]
    end
  end
  local ready = set.ready
  for node in pairs(buffers) do
    if (deps[node] or 0) == 0 then ready[#ready + 1] = node end
  end
  table.sort(ready, later_first)

  while #ready > 0 do
    local node = ready[#ready]
    ready[#ready] = nil
    local buf = buffers[node] or new_buffer(bufs)
    buffers[node] = nil

    local hooks = node.pre_hooks
    if hooks then
      for nr, list in pairs(hooks) do
        local g = buf[nr + 1]
        if g ~= nil then
          adopted[g] = true
          for _, hook in ipairs(list) do
            local r = hook(g)
            if r ~= nil then g = r end
          end
          adopted[g] = true -- the hook may keep what it saw or returned
          buf[nr + 1] = g
        end
      end
    end

    local captured = capture and capture[node]
    if captured then
      for nr, js in pairs(captured) do
        for _, j in ipairs(js) do results[j] = buf[nr + 1] end
        if buf[nr + 1] ~= nil then adopted[buf[nr + 1]] = true end
      end
    end

    if node.is_accumulator then
      if not inputs and buf[1] ~= nil then
        local leaf = node.variable
        accumulate(leaf, buf[1], create_graph, adopted)
        local post = node.post_hooks
        if post then
          for i = 1, #post do post[i](leaf) end
        end
      end
    else
      local any = false
      for k = 1, node.n_outputs do
        if buf[k] ~= nil then any = true break end
      end
      local in_grads
      if any then
        if node.user_code then
          for k = 1, node.n_outputs do
            if buf[k] ~= nil then adopted[buf[k]] = true end
          end
        end
        -- A formula may write its input gradients into the one gradient it got when the engine alone holds it
        -- (graph.lua, grad_writable): set per call, since the same node may run again with retain_graph.
        local g1 = buf[1]
        node.grad_writable = not create_graph and node.n_outputs == 1 and not node.user_code and g1 ~= nil
                             and not adopted[g1] and placed[g1] == 1 and sole_owner(g1) and g1:is_contiguous()
        in_grads = { node.backward(node, unpack(buf, 1, node.n_outputs)) }
        if not retain then node:release() end
        if not create_graph then release_used(node, buf, in_grads, adopted, placed) end
      end
      for i = 1, node.n_inputs do
        local nx = node.next[i]
        if nx and (not needed or needed[nx]) then
          local g = in_grads and in_grads[i]
          if g ~= nil then
            if node.user_code then adopted[g] = true end -- a custom Function's backward may keep it
            g = conform(node, i, g)
            local nbuf = buffers[nx]
            if not nbuf then
              nbuf = new_buffer(bufs)
              buffers[nx] = nbuf
            end
            local slot = node.next_nr[i] + 1
            local prev = nbuf[slot]
            if prev == nil then
              nbuf[slot] = g
              placed[g] = (placed[g] or 0) + 1
            elseif not create_graph and placed[prev] == 1 and not adopted[prev] and sole_owner(prev)
                   and prev:is_contiguous() then
              -- The engine alone holds prev: sum in place (as PyTorch's InputBuffer does), rather than write
              -- a new tensor for each of the many gradients a weight shared across steps collects.
              prev:add_(g)
              if not create_graph then release_summed(g, node, in_grads, adopted, placed) end
            else
              local sum = prev + g
              nbuf[slot] = sum
              placed[sum] = 1
              if not create_graph then release_summed(g, node, in_grads, adopted, placed) end
            end
          end
          local left = deps[nx] - 1
          deps[nx] = left
          if left == 0 then ready[#ready + 1] = nx end
        end
      end
    end
    -- the gradients in buf leave this node's buffer (one passed on in place is now counted in the next one's)
    for k = 1, node.n_outputs do
      local g = buf[k]
      if g ~= nil and placed[g] then placed[g] = placed[g] - 1 end
    end
    clear(buf)
    bufs[#bufs + 1] = buf
  end
  give_back(set)

  if inputs then
    for j = 1, #inputs do
      if results[j] == nil and not opts.allow_unused then
        error(string.format('grad: input %d was not used in the graph of the outputs ' ..
                            '(pass {allow_unused=true} to get nil for it)', j), 0)
      end
    end
    return results
  end
end

-- Callbacks queued during a backward pass (M.queue_callback), one list per pass in progress (a hook may
-- itself run a backward pass).
local pending = {}

-- Queues fn to run once the backward pass in progress has finished (every gradient accumulated). Raises
-- outside a backward pass.
function M.queue_callback(fn)
  local top = #pending
  if top == 0 then error('queue_callback: no backward pass is running (call it from a hook during backward)', 0) end
  local list = pending[top] or {}
  pending[top] = list
  list[#list + 1] = fn
end

-- The engine runs formulas with grad mode on only when building a graph of the backward pass. Callbacks
-- queued during the pass run after it, in order (including those queued by callbacks); a pass that raises
-- drops its callbacks.
function M.execute(roots, grads, opts)
  local top = #pending + 1
  pending[top] = false -- the list is made by the first queue_callback
  local ok, results = pcall(mode.with, opts.create_graph == true, M.run, roots, grads, opts)
  local list = pending[top]
  pending[top] = nil
  if not ok then error(results, 0) end
  if list then
    local i = 1
    while list[i] do
      list[i]()
      i = i + 1
    end
  end
  return results
end

return M
