-- tensor.autograd.record: wraps raw ops so that, in grad mode with an input that requires grad, they
-- record a node holding their derivative entry (tensor.autograd.derivatives).
--
-- An entry: { inputs = k (the first k arguments may be differentiable tensors), broadcast = true when the
-- inputs broadcast (gradients are summed back to each input's shape), save = function(ctx, out, ...)
-- storing what backward needs (ctx:save(...) for tensors, plain fields for the rest), backward =
-- function(ctx, grad) returning one gradient per input (nil where ctx.next[i] is false) }.
--
-- In-place ops are recorded as their out-of-place form whose result is then written into the tensor,
-- which takes over the new node. Writing in place into a view of another tensor rewires that base tensor's
-- history too (PyTorch's CopySlices), so `buffer[{i}] = h` builds a differentiable buffer.
local ffi = require 'ffi'
local core = require 'tensor.core'
local graph = require 'tensor.autograd.graph'
local mode = require 'tensor.autograd.mode'

local C, Tensor, is_tensor = core.C, core.Tensor, core.is_tensor
local new_node, edge = graph.new_node, graph.edge
local rawget, rawset, select = rawget, rawset, select

local M = {}

local floating = { [0] = true, [1] = true, [2] = true, [3] = true }

local function needs_grad(t) return type(t) == 'table' and rawget(t, '_rg') == true end
M.needs_grad = needs_grad

-- True if tensors a and b (C pointers) have the same sizes.
local function same_sizes(a, b)
  local n = a.ndim
  if n ~= b.ndim then return false end
  for d = 0, n - 1 do
    if a.sizes[d] ~= b.sizes[d] then return false end
  end
  return true
end

-- Links input i of node to tensor t (any argument: only tensors that require grad get an edge). With
-- broadcasting inputs, an input whose shape differs from the output's keeps its shape, so that the engine
-- sums its gradient back to it; one whose dtype differs keeps its dtype.
local function link(node, i, broadcast, out_c, t)
  if type(t) == 'table' and rawget(t, '_rg') == true then
    local nx, nr = edge(t)
    node.next[i], node.next_nr[i] = nx, nr
    local c = t._c
    if broadcast and not same_sizes(c, out_c) then
      node.shapes = node.shapes or {}
      node.shapes[i] = t:shape()
    end
    if out_c and c.dtype ~= out_c.dtype then
      node.dtypes = node.dtypes or {}
      node.dtypes[i] = tonumber(c.dtype)
    end
    return true
  end
  node.next[i], node.next_nr[i] = false, 0
  return false
end

-- Links node to the differentiable tensors among the first k arguments; true if any needs grad.
local function connect(node, k, broadcast, out, ...)
  local any = false
  local out_c = out and out._c
  for i = 1, k do
    if link(node, i, broadcast, out_c, (select(i, ...))) then any = true end
  end
  return any
end

-- The node's last steps once linked: what backward needs, then out becomes its output.
local function finish(node, entry, out, results, ...)
  node.results = results or false
  if entry.save then entry.save(node, out, ...) end
  node.results = false
  rawset(out, '_rg', true)
  rawset(out, '_fn', node)
  return out
end

local function differentiable_result(out) return is_tensor(out) and floating[tonumber(out._c.dtype)] end

-- Makes out (a result of the raw op) the output of a new node for entry; returns out. When the op
-- returns several values, `results` holds them all (the entry's save reads them as ctx.results).
local function attach_with(entry, out, results, ...)
  if not differentiable_result(out) then return out end
  -- an entry may decline calls its formula does not cover (their result is already differentiable)
  if entry.declines and entry.declines(...) then return out end
  -- ops that return their input unchanged (contiguous(), to() with nothing to do) add no node
  for i = 1, entry.inputs do
    if out == select(i, ...) then return out end
  end
  local node = new_node(entry.name, entry.backward, entry.inputs)
  connect(node, entry.inputs, entry.broadcast, out, ...)
  return finish(node, entry, out, results, ...)
end

-- attach_with for entries of one to three inputs, in straight-line code: the loops over varargs above
-- would be unrolled into every trace of a chain of small ops and exhaust the JIT's unrolling budget.
local function attach1(entry, out, results, x, ...)
  if not differentiable_result(out) or out == x then return out end
  if entry.declines and entry.declines(x, ...) then return out end
  local node = new_node(entry.name, entry.backward, 1)
  link(node, 1, entry.broadcast, out._c, x)
  return finish(node, entry, out, results, x, ...)
end
local function attach2(entry, out, results, a, b, ...)
  if not differentiable_result(out) or out == a or out == b then return out end
  if entry.declines and entry.declines(a, b, ...) then return out end
  local node = new_node(entry.name, entry.backward, 2)
  local out_c, broadcast = out._c, entry.broadcast
  link(node, 1, broadcast, out_c, a)
  link(node, 2, broadcast, out_c, b)
  return finish(node, entry, out, results, a, b, ...)
end
local function attach3(entry, out, results, a, b, c, ...)
  if not differentiable_result(out) or out == a or out == b or out == c then return out end
  if entry.declines and entry.declines(a, b, c, ...) then return out end
  local node = new_node(entry.name, entry.backward, 3)
  local out_c, broadcast = out._c, entry.broadcast
  link(node, 1, broadcast, out_c, a)
  link(node, 2, broadcast, out_c, b)
  link(node, 3, broadcast, out_c, c)
  return finish(node, entry, out, results, a, b, c, ...)
end
local function attach(entry, out, ...) return attach_with(entry, out, nil, ...) end
M.attach = attach
M.attach_with = attach_with

-- True if grad mode is on and one of the first k arguments requires grad.
local function recording(k, ...)
  if not mode.enabled then return false end
  for i = 1, k do
    if needs_grad((select(i, ...))) then return true end
  end
  return false
end
M.recording = recording

local function pack(...) return { n = select('#', ...), ... } end

-- An op whose first n results all carry gradients (entry.outputs = n: the decompositions) gets one node with n
-- outputs; its backward receives a gradient per output, nil for those that got none.
local function wrap_outputs(entry, raw)
  local k, n = entry.inputs, entry.outputs
  return function(...)
    if not recording(k, ...) then return raw(...) end
    local results = pack(raw(...))
    local node = new_node(entry.name, entry.backward, k)
    connect(node, k, false, nil, ...)
    node.n_outputs = n
    finish(node, entry, results[1], results, ...)
    for j = 2, n do
      local out = results[j]
      if differentiable_result(out) then
        rawset(out, '_rg', true)
        rawset(out, '_fn', node)
        rawset(out, '_nr', j - 1)
      end
    end
    return unpack(results, 1, results.n)
  end
end

-- The differentiable version of raw (a function whose first argument is a tensor or a number). The
-- entry's `output` (default 1) says which result carries the gradient; the others pass through.
function M.wrap(entry, raw)
  if entry.outputs then return wrap_outputs(entry, raw) end
  local k, which = entry.inputs, entry.output or 1
  if which == 1 and k == 1 then
    return function(x, ...)
      if mode.enabled and type(x) == 'table' and rawget(x, '_rg') then
        local out, second, third = raw(x, ...)
        if second == nil then return attach1(entry, out, nil, x, ...) end
        return attach1(entry, out, { out, second, third }, x, ...), second, third
      end
      return raw(x, ...)
    end
  elseif which == 1 and k == 2 then
    return function(a, b, ...)
      if mode.enabled and ((type(a) == 'table' and rawget(a, '_rg')) or (type(b) == 'table' and rawget(b, '_rg'))) then
        local out, second, third = raw(a, b, ...)
        if second == nil then return attach2(entry, out, nil, a, b, ...) end
        return attach2(entry, out, { out, second, third }, a, b, ...), second, third
      end
      return raw(a, b, ...)
    end
  elseif which == 1 and k == 3 then -- F.linear, addmm, lerp ...: straight-line code too
    return function(a, b, c, ...)
      if mode.enabled and (needs_grad(a) or needs_grad(b) or needs_grad(c)) then
        local out, second, third = raw(a, b, c, ...)
        if second == nil then return attach3(entry, out, nil, a, b, c, ...) end
        return attach3(entry, out, { out, second, third }, a, b, c, ...), second, third
      end
      return raw(a, b, c, ...)
    end
  end
  return function(...)
    if recording(k, ...) then
      local results = pack(raw(...))
      results[which] = attach_with(entry, results[which], results, ...)
      return unpack(results, 1, results.n)
    end
    return raw(...)
  end
end

-- ---- in-place ops ----

local function leaf_error(fn, self)
  error(string.format('%s: a leaf tensor that requires grad (or a view of one) cannot be modified in place ' ..
                      'while grad mode is on; wrap the update in torch.no_grad(function() ... end)', fn), 3)
end

-- The tensor a view looks into, if any.
local function base_of(t) return rawget(t, '_base') end

-- When the recorded node saved `self` itself, keep a copy of its current (pre-write) values instead.
local function preserve_saved_self(node, self)
  if not node or not node.saved then return end
  for i = 1, node.n_saved do
    if node.saved[i] == self then node:replace_saved(i, self:detach():clone()) end
  end
end

local copy_slices

-- The in-place version of an op, given its (wrapped) out-of-place form and the raw in-place op.
function M.wrap_inplace(fn_name, entry, out_of_place, raw_inplace)
  local k = entry.inputs
  return function(self, ...)
    if not mode.enabled then return raw_inplace(self, ...) end
    local base = base_of(self)
    local base_needs = base and needs_grad(base)
    if not (needs_grad(self) or base_needs or recording(k - 1, ...)) then return raw_inplace(self, ...) end
    if needs_grad(self) and rawget(self, '_fn') == nil then leaf_error(fn_name, self) end
    if base_needs and rawget(base, '_fn') == nil then leaf_error(fn_name, self) end
    local result = out_of_place(self, ...)
    preserve_saved_self(rawget(result, '_fn'), self)
    -- Write the values without recording, then hand the new history to self (and its base).
    C.tn_copy_(self._c, result._c)
    if base then
      copy_slices(self, base, rawget(result, '_fn'))
    else
      rawset(self, '_rg', rawget(result, '_rg'))
      rawset(self, '_fn', rawget(result, '_fn'))
      rawset(self, '_nr', rawget(result, '_nr'))
    end
    return self
  end
end

-- ---- views written in place (CopySlices) ----

-- The geometry of view v inside its base b, so a tensor shaped like b can be viewed the same way.
local function geometry(v, b)
  local c, bc = v._c, b._c
  if C.tn_is_contiguous(bc) ~= 1 then
    error('in-place write into a view: under autograd the base tensor must be contiguous', 4)
  end
  return { sizes = v:shape(), strides = v:stride(), offset = tonumber(c.offset - bc.offset) }
end

local function view_in(t, geo) return t:as_strided(geo.sizes, geo.strides, tonumber(t._c.offset) + geo.offset) end

-- Backward of the base after the write: the written region's gradient goes to the op that produced the new
-- values (and, through its first input, back into the region of the old base).
local function copy_slices_backward(ctx, g)
  local grad_base = g:contiguous():clone()
  local region = view_in(grad_base, ctx.geo)
  local grad_view = region:clone()
  region:zero_()
  local f = ctx.op
  if not f then return grad_base end -- the region was overwritten by constants
  local grads = { f.backward(f, grad_view) }
  if f.next[1] and grads[1] ~= nil then
    local g1 = grads[1]
    if f.shapes and f.shapes[1] then g1 = require('tensor.autograd.engine').sum_to(g1, f.shapes[1]) end
    region:add_(g1)
  end
  grads[1] = grad_base
  return unpack(grads, 1, ctx.n_inputs)
end

-- Backward of a view of the (rewritten) base: scatter the view's gradient into a zero base.
local function view_backward(ctx, g)
  local geo = ctx.geo
  return require('tensor.autograd.derivatives').scatter_into_view(g, ctx.base_shape, function(z) return view_in(z, geo) end)
end

copy_slices = function(self, base, op)
  local geo = geometry(self, base)
  local node = new_node('CopySlices', copy_slices_backward, op and op.n_inputs or 1)
  node.geo, node.op = geo, op
  local base_fn, base_nr = edge(base)
  node.next[1], node.next_nr[1] = base_fn or false, base_nr
  if op then
    for i = 2, op.n_inputs do node.next[i], node.next_nr[i] = op.next[i], op.next_nr[i] end
  end
  rawset(base, '_rg', true)
  rawset(base, '_fn', node)
  rawset(base, '_nr', 0)
  -- self is now a view of the new base
  local view = new_node('AsStrided', view_backward, 1)
  view.geo, view.base_shape = geo, base:shape()
  view.next[1], view.next_nr[1] = node, 0
  rawset(self, '_rg', true)
  rawset(self, '_fn', view)
  rawset(self, '_nr', 0)
end

return M
