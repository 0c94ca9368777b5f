-- tensor.autograd: reverse-mode automatic differentiation on a tape.
--
-- Installs the differentiable versions of the ops listed in tensor.autograd.derivatives over the raw ones,
-- and provides backward, torch.autograd.grad, grad mode, hooks, custom Functions and gradcheck.
local core = require 'tensor.core'
local args = require 'tensor.args'
local dtype = require 'tensor.dtype'
local mode = require 'tensor.autograd.mode'
local graph = require 'tensor.autograd.graph'
local engine = require 'tensor.autograd.engine'
local record = require 'tensor.autograd.record'
local D = require 'tensor.autograd.derivatives'

local torch, Tensor, mt = core.torch, core.Tensor, core.mt
local is_tensor, is_opts, argerror = core.is_tensor, args.is_opts, args.argerror

local autograd = {}
torch.autograd = autograd

-- ---------------------------------------------------------------- installing the wrappers

-- Ops whose Tensor method, in-place method and torch function are all wrapped by the generic rule.
local special = { where = true, copy_ = true, fill_ = true, _view_scatter = true, _convert = true, max_dim = true,
                  min_dim = true, max_all = true, min_all = true }

-- Reductions return numbers unless they record; recording switches to their tensor form.
local function install_reduction(name, entry)
  local raw, form = Tensor[name], entry.tensor_form
  Tensor[name] = function(x, ...)
    if mode.enabled and type(x) == 'table' and rawget(x, '_rg') then
      return record.attach(entry, form(x, ...), x, ...)
    end
    return raw(x, ...)
  end
end

local installed = {}
-- cat and stack take a list of tensors: one input per element.
local function install_list(name, entry)
  local raw = torch[name]
  torch[name] = function(tensors, ...)
    if not mode.enabled or is_tensor(tensors) or type(tensors) ~= 'table' then return raw(tensors, ...) end
    local any = false
    for _, t in ipairs(tensors) do
      if record.needs_grad(t) then any = true break end
    end
    if not any then return raw(tensors, ...) end
    local out = raw(tensors, ...)
    local node = graph.new_node(name, entry.backward, #tensors)
    node.dtypes = {}
    for i, t in ipairs(tensors) do
      if record.needs_grad(t) then
        node.next[i], node.next_nr[i] = graph.edge(t)
        node.dtypes[i] = tonumber(t._c.dtype)
      else
        node.next[i], node.next_nr[i] = false, 0
      end
    end
    entry.save(node, out, tensors, ...)
    rawset(out, '_rg', true)
    rawset(out, '_fn', node)
    return out
  end
end

local function install(name, entry)
  if entry.reduction then return install_reduction(name, entry) end
  if entry.list then return install_list(name, entry) end
  local namespace, fn = name:match('^(%w+)%.(.+)$')
  if namespace then -- torch.linalg.inv and the like
    local ns = torch[namespace]
    if ns and ns[fn] then ns[fn] = record.wrap(entry, ns[fn]) end
    return
  end
  local raw = Tensor[name]
  if raw then
    Tensor[name] = record.wrap(entry, raw)
    local raw_inplace = Tensor[name .. '_']
    if raw_inplace then
      Tensor[name .. '_'] = record.wrap_inplace(name .. '_', entry, Tensor[name], raw_inplace)
    end
  end
  if torch[name] then torch[name] = record.wrap(entry, torch[name]) end
end

-- Installs the entries 'NS.<name>' onto a namespace table loaded later (nn.functional installs 'F').
function autograd.install_namespace(prefix, namespace)
  for name, entry in pairs(D) do
    local fn = type(name) == 'string' and name:match('^' .. prefix .. '%.(.+)$')
    if fn and namespace[fn] and not installed[name] then
      entry.name = entry.name or fn
      namespace[fn] = record.wrap(entry, namespace[fn])
      installed[name] = true
    end
  end
end

-- Installs every entry of the table (also called again as op families register their formulas). Names
-- that share one entry (view, reshape, ...) each get a copy carrying their own name for messages.
function autograd.install_all()
  for name, entry in pairs(D) do
    if type(entry) == 'table' and not special[name] and not installed[name] and not name:match('^F%.') then
      if entry.name and entry.name ~= name then
        local copy = {}
        for k, v in pairs(entry) do copy[k] = v end
        entry = copy
      end
      entry.name = name
      install(name, entry)
      installed[name] = true
    end
  end
end
autograd.install_all()

-- In-place methods without a derivative would silently corrupt gradients: refuse them on tensors that
-- are part of a graph (they still work under no_grad and on tensors that do not require grad).
for name, raw in pairs(Tensor) do
  if type(name) == 'string' and name:match('[^_]_$') and type(raw) == 'function' and not installed[name:sub(1, -2)]
     and not special[name] and not core.composed_in_place[name] and name ~= 'requires_grad_' and name ~= 'detach_' then
    Tensor[name] = function(self, ...)
      if mode.enabled and type(self) == 'table' then
        local base = rawget(self, '_base')
        if rawget(self, '_rg') or (base and rawget(base, '_rg')) then
          core.raise(string.format('%s: this in-place operation has no derivative; call it under torch.no_grad, or ' ..
                                   'use an out-of-place form', name))
        end
      end
      return raw(self, ...)
    end
  end
end

-- where(cond, a, b): differentiable in a and b
D.where.name = 'where'
torch.where = record.wrap(D.where, torch.where)

-- max/min: over everything the tensor form of amax/amin; over a dim the values (their gradient goes to the
-- indices); with a tensor argument the element-wise maximum/minimum (already differentiable).
for _, name in ipairs({ 'max', 'min' }) do
  local raw = Tensor[name]
  local all_entry, dim_entry = D[name .. '_all'], D[name .. '_dim']
  all_entry.name, dim_entry.name = name, name
  local reduction = name == 'max' and 'amax' or 'amin'
  Tensor[name] = function(x, dim, ...)
    if mode.enabled and type(x) == 'table' and rawget(x, '_rg') and not is_tensor(dim) then
      local d = dim
      if is_opts(dim) then d = dim.dim end
      if d == nil then
        return record.attach(all_entry, require('tensor.reduce').tensor(reduction, x, dim, ...), x, dim, ...)
      end
      local values, indices = raw(x, dim, ...)
      return record.attach_with(dim_entry, values, { values, indices }, x, dim, ...), indices
    end
    return raw(x, dim, ...)
  end
end

-- aminmax, var_mean and std_mean give two reductions from one pass. Recording, they are those two reductions
-- made separately, each with its own formula (both as 0-d tensors over everything, like sum).
local reduce = require 'tensor.reduce'
for name, parts in pairs({ aminmax = { 'amin', 'amax' }, var_mean = { 'var', 'mean' }, std_mean = { 'std', 'mean' } }) do
  local raw, first, second = Tensor[name], parts[1], parts[2]
  local read = first == 'amin' and reduce.read_args or reduce.var_args
  Tensor[name] = function(x, ...)
    if mode.enabled and type(x) == 'table' and rawget(x, '_rg') then
      local dim, keepdim, opts = read(name, ...)
      if opts and opts.out ~= nil then argerror(name, 'out= cannot record gradients; call it under torch.no_grad') end
      local first_opts -- var and std's correction
      if opts and (opts.correction ~= nil or opts.unbiased ~= nil) then
        first_opts = { correction = opts.correction, unbiased = opts.unbiased }
      end
      local a = reduce.tensor(first, x, dim, keepdim, first_opts)
      local b = reduce.tensor(second, x, dim, keepdim)
      return record.attach(D[first], a, x, dim, keepdim, first_opts), record.attach(D[second], b, x, dim, keepdim)
    end
    return raw(x, ...)
  end
end

-- The singular values and the eigenvalues alone: recording, the full decomposition, whose vectors get no gradient
-- (its formula then takes the short form). Without a graph, the cheaper LAPACK call that skips the vectors.
local linalg = torch.linalg
for name, full in pairs({ svdvals = 'svd', eigvalsh = 'eigh' }) do
  local raw = linalg[name]
  linalg[name] = function(a, ...)
    if mode.enabled and type(a) == 'table' and rawget(a, '_rg') then
      if full == 'svd' then
        local _, s = linalg.svd(a, false)
        return s
      end
      return (linalg.eigh(a, ...))
    end
    return raw(a, ...)
  end
end

-- Conversions between floating dtypes and devices carry gradients back to the original dtype/device.
D._convert.name = 'to'
for _, name in ipairs({ 'to', 'float', 'double', 'half', 'bfloat16', 'cpu', 'cuda', 'type', 'typeAs', '_convert' }) do
  if Tensor[name] then Tensor[name] = record.wrap(D._convert, Tensor[name]) end
end

-- copy_, fill_ and zero_ are in-place only; their out-of-place forms exist just for recording.
D.copy_.name, D.fill_.name = 'copy_', 'fill_'
local raw_copy_, raw_fill_ = Tensor.copy_, Tensor.fill_
local function copy_out_of_place(self, src)
  local r = torch.empty_like(self)
  raw_copy_(r, src)
  return record.attach(D.copy_, r, self, src)
end
local function fill_out_of_place(self, value)
  local r = torch.empty_like(self)
  raw_fill_(r, value)
  return record.attach(D.fill_, r, self, value)
end
Tensor.copy_ = record.wrap_inplace('copy_', D.copy_, copy_out_of_place, raw_copy_)
Tensor.fill_ = record.wrap_inplace('fill_', D.fill_, fill_out_of_place, raw_fill_)
Tensor.zero_ = function(self) return Tensor.fill_(self, 0) end
-- Every other name of a method or function (x:cmul, x:clip, torch.concat, x:copy ...) now calls what it names.
core.bind_aliases()

-- Operators go through the (wrapped) methods.
mt.__add = function(a, b) return Tensor.add(a, b) end
mt.__sub = function(a, b) return Tensor.sub(a, b) end
mt.__mul = function(a, b) return Tensor.mul(a, b) end
mt.__div = function(a, b) return Tensor.div(a, b) end
mt.__pow = function(a, b) return Tensor.pow(a, b) end
mt.__mod = function(a, b) return Tensor.remainder(a, b) end
mt.__unm = function(a) return Tensor.neg(a) end

-- ---------------------------------------------------------------- properties

local getters, setters = core.getters, core.setters

getters.requires_grad = function(self) return rawget(self, '_rg') == true end
setters.requires_grad = function(self, value)
  if type(value) ~= 'boolean' then argerror('requires_grad', 'expected a boolean, got %s', type(value)) end
  if value and not dtype.floating[tonumber(self._c.dtype)] then
    argerror('requires_grad', 'only floating point tensors can require gradients, this one is %s', self:dtype())
  end
  if not value and rawget(self, '_fn') then
    argerror('requires_grad', 'only leaf tensors can stop requiring grad; use :detach() for a non-leaf tensor')
  end
  rawset(self, '_rg', value or nil)
end

getters.grad = function(self)
  local g = rawget(self, '_grad')
  if g ~= nil and rawget(g, '_recycle') then rawset(g, '_recycle', nil) end -- someone may keep it now
  return g
end
setters.grad = function(self, value)
  if value ~= nil then
    if not is_tensor(value) then argerror('grad', 'expected a tensor or nil, got %s', type(value)) end
    if not value:is_same_size(self) then
      argerror('grad', 'the assigned gradient has size [%s] but the tensor has size [%s]',
               table.concat(value:shape(), ' x '), table.concat(self:shape(), ' x '))
    end
  end
  rawset(self, '_grad', value)
end

getters.grad_fn = function(self) return rawget(self, '_fn') end
-- x.retains_grad: whether x:retain_grad() made this non-leaf tensor keep its .grad (PyTorch's property).
getters.retains_grad = function(self) return rawget(self, '_retains') == true end
setters.grad_fn = function() error('grad_fn is read-only', 2) end
getters.data = function(self) return self:detach() end
setters.data = function(self, value)
  core.check(core.C.tn_set_(self._c, core.c_of(value, 'data', 'the new data')._c), 2)
end

function Tensor:is_leaf() return rawget(self, '_fn') == nil end

function Tensor:requires_grad_(value)
  if value == nil then value = true end
  self.requires_grad = value
  return self
end

-- A tensor sharing storage, outside the graph (its own, not a view for in-place purposes).
function Tensor:detach_()
  rawset(self, '_fn', nil)
  rawset(self, '_nr', nil)
  rawset(self, '_rg', nil)
  return self
end

-- ---------------------------------------------------------------- grad mode

function torch.is_grad_enabled() return mode.enabled end
function torch.set_grad_enabled(enabled) mode.enabled = enabled and true or false end
-- torch.no_grad(fn, ...) runs fn without recording and returns its results.
function torch.no_grad(fn, ...)
  if type(fn) ~= 'function' then argerror('no_grad', 'expected a function to run, got %s', type(fn)) end
  return mode.with(false, fn, ...)
end
function torch.enable_grad(fn, ...)
  if type(fn) ~= 'function' then argerror('enable_grad', 'expected a function to run, got %s', type(fn)) end
  return mode.with(true, fn, ...)
end
autograd.no_grad, autograd.enable_grad = torch.no_grad, torch.enable_grad

-- ---------------------------------------------------------------- backward and grad

local function shape_string(t) return '[' .. table.concat(t:shape(), ' x ') .. ']' end

-- The gradient for an output: the given one (checked) or ones for a one-element output.
local function root_gradient(fn, t, g)
  if g == nil then
    if t:numel() ~= 1 then
      error(string.format('%s: a gradient can be created implicitly only for a one-element tensor, this one has ' ..
                          'size %s; pass the gradient explicitly', fn, shape_string(t)), 3)
    end
    return torch.ones_like(t)
  end
  if not is_tensor(g) then error(string.format('%s: the gradient must be a tensor, got %s', fn, type(g)), 3) end
  if not g:is_same_size(t) then
    error(string.format('%s: the gradient has size %s but the tensor has size %s', fn, shape_string(g), shape_string(t)), 3)
  end
  if g:device() ~= t:device() then
    error(string.format('%s: the gradient is on %s but the tensor is on %s', fn, g:device(), t:device()), 3)
  end
  if g:dtype() ~= t:dtype() then g = g:to(t:dtype()) end
  return g
end

local function require_graph(fn, t, i)
  if not rawget(t, '_rg') then
    error(string.format('%s: %s does not require grad and has no grad_fn (set requires_grad=true on a leaf ' ..
                        'it depends on)', fn, i and ('output ' .. i) or 'the tensor'), 3)
  end
end

-- x:backward([gradient], {retain_graph=, create_graph=})
function Tensor:backward(gradient, opts)
  if is_opts(gradient) and not is_tensor(gradient) then gradient, opts = nil, gradient end
  opts = opts or {}
  require_graph('backward', self)
  local g = root_gradient('backward', self, gradient)
  local create = opts.create_graph == true
  local retain = opts.retain_graph
  if retain == nil then retain = create end
  engine.execute({ self }, { g }, { retain_graph = retain, create_graph = create })
end

-- torch.autograd.backward(tensors, grad_tensors, opts)
function autograd.backward(tensors, grads, opts)
  if is_tensor(tensors) then tensors = { tensors } end
  if is_tensor(grads) then grads = { grads } end
  grads, opts = grads or {}, opts or {}
  local gs = {}
  for i, t in ipairs(tensors) do
    require_graph('backward', t, i)
    gs[i] = root_gradient('backward', t, grads[i])
  end
  local create = opts.create_graph == true
  local retain = opts.retain_graph
  if retain == nil then retain = create end
  engine.execute(tensors, gs, { retain_graph = retain, create_graph = create })
end

-- torch.autograd.grad(outputs, inputs, {grad_outputs=, retain_graph=, create_graph=, allow_unused=}) -> list
function autograd.grad(outputs, inputs, opts)
  if is_tensor(outputs) then outputs = { outputs } end
  if is_tensor(inputs) then inputs = { inputs } end
  opts = opts or {}
  local grad_outputs = opts.grad_outputs
  if is_tensor(grad_outputs) then grad_outputs = { grad_outputs } end
  grad_outputs = grad_outputs or {}
  local gs = {}
  for i, t in ipairs(outputs) do
    require_graph('grad', t, i)
    gs[i] = root_gradient('grad', t, grad_outputs[i])
  end
  for i, t in ipairs(inputs) do
    if not is_tensor(t) then argerror('grad', 'input %d is not a tensor', i) end
  end
  local create = opts.create_graph == true
  local retain = opts.retain_graph
  if retain == nil then retain = create end
  return engine.execute(outputs, gs, { retain_graph = retain, create_graph = create, inputs = inputs,
                                       allow_unused = opts.allow_unused })
end

-- ---------------------------------------------------------------- hooks

local function hook_handle(node, nr, index)
  return { remove = function() node.pre_hooks[nr][index] = function() end end }
end

-- x:register_hook(fn): fn(grad) runs when the gradient for x is computed; a returned tensor replaces it.
function Tensor:register_hook(fn)
  if type(fn) ~= 'function' then argerror('register_hook', 'expected a function, got %s', type(fn)) end
  if not rawget(self, '_rg') then
    argerror('register_hook', 'cannot register a hook on a tensor that does not require grad')
  end
  local node, nr = graph.edge(self)
  return hook_handle(node, nr, node:add_pre_hook(nr, fn))
end

--- Tensor:register_post_accumulate_grad_hook(fn) -> handle
-- For a leaf that requires grad: fn(x) runs each time backward has accumulated a gradient into x.grad
-- (x.grad then holds the new value; fn may read or change it in place). handle:remove() unregisters it.
-- Example: w:register_post_accumulate_grad_hook(function(p) p.grad:clamp_(-1, 1) end)
function Tensor:register_post_accumulate_grad_hook(fn)
  if type(fn) ~= 'function' then argerror('register_post_accumulate_grad_hook', 'expected a function, got %s', type(fn)) end
  if not rawget(self, '_rg') or rawget(self, '_fn') then
    argerror('register_post_accumulate_grad_hook', 'only leaf tensors that require grad accumulate gradients')
  end
  local node = graph.accumulator(self)
  local list = node.post_hooks or {}
  node.post_hooks = list
  list[#list + 1] = fn
  return { remove = function()
    for i = #list, 1, -1 do
      if list[i] == fn then table.remove(list, i) break end
    end
  end }
end

--- torch.autograd.queue_callback(fn)
-- During a backward pass (from a hook), queues fn() to run once the pass has finished, after every gradient
-- has been accumulated; callbacks run in the order queued. Raises outside a backward pass.
function autograd.queue_callback(fn)
  if type(fn) ~= 'function' then argerror('queue_callback', 'expected a function, got %s', type(fn)) end
  engine.queue_callback(fn)
end

-- x:retain_grad(): keep the gradient of a non-leaf tensor in x.grad after backward.
function Tensor:retain_grad()
  if not rawget(self, '_rg') then argerror('retain_grad', 'the tensor does not require grad') end
  if rawget(self, '_fn') == nil or rawget(self, '_retains') then return self end
  rawset(self, '_retains', true)
  local node, nr = graph.edge(self)
  local weak = setmetatable({ t = self }, { __mode = 'v' })
  node:add_pre_hook(nr, function(g)
    local t = weak.t
    if t then
      local current = rawget(t, '_grad')
      rawset(t, '_grad', current and current + g or (mode.enabled and g or g:detach():clone()))
    end
  end)
  return self
end

-- ---------------------------------------------------------------- custom functions

autograd.Function = require('tensor.autograd.function')
autograd.gradcheck = require('tensor.autograd.gradcheck').gradcheck
autograd.gradgradcheck = require('tensor.autograd.gradcheck').gradgradcheck
autograd.graph = graph
autograd.record, autograd.derivatives, autograd.mode = record, D, mode

return autograd
