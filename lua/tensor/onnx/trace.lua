-- tensor.onnx.trace: runs one forward pass of a module under a recording mode that captures the ops actually
-- run, as a list of events.
--
-- The tape of tensor.autograd records differentiable ops on tensors that require grad; an export needs more:
-- every op that touches a traced value (the graph inputs, the parameters and buffers, and everything computed
-- from them), differentiable or not (comparisons, integer ops, casts), with its exact arguments. So the tracer is
-- a sibling of the tape that sits one level higher: while a trace is active (and only then), the functions of
-- the Tensor methods table, the torch namespace, nn.functional and torch.linalg are replaced by interceptors,
-- and nn.Module.__call keeps the module path stack; everything is restored when the trace ends, so ordinary
-- code pays nothing at all for the tracer's existence.
--
-- An intercepted call whose arguments hold no traced value runs as it is (creation ops, arithmetic on
-- constants): its results are constants of the graph. A call on traced values either
--   * has an exporter (tensor.onnx.ops): it runs with interception suspended inside it, and is recorded as an
--     event { key = 'Tensor.add', args, results, path } for the exporter to lower later; or
--   * has none: it runs transparently, so that a function composed of other ops (F.mish, F.one_hot, ...) is
--     recorded through the ops it calls. If it nevertheless returns a tensor that is not traced, it computed it
--     in a way the tracer cannot see: the op cannot be exported, and the error names it and the module path.
-- Reading a traced value as a Lua number or boolean (item, tolist, x[i] on a 1-d tensor, sum() without a dim,
-- any/all, ...) is recorded as a warning: tracing records one path, and such a value is a constant of the graph.
local core = require 'tensor.core'

local M = {}

local Tensor, is_tensor = core.Tensor, core.is_tensor
local select, type, rawget = select, type, rawget

local active -- the trace in progress, or nil

-- Methods that read only a tensor's metadata (never its values): never intercepted.
local META = {}
for _, name in ipairs({ 'size', 'shape', 'dim', 'ndimension', 'nDimension', 'numel', 'nElement', 'stride',
                        'storage_offset', 'storageOffset', 'is_contiguous', 'isContiguous', 'element_size',
                        'elementSize', 'nbytes', 'is_same_size', 'isSameSizeAs', '_version', 'is_set_to',
                        'shares_storage', 'dtype', 'device', 'is_floating_point', 'is_complex', 'is_leaf', 'is_cuda',
                        'get_device', 'is_tensor', 'is_storage', 'requires_grad_', 'register_hook', 'retain_grad',
                        '_shape_args', 'is_grad_enabled', 'set_grad_enabled', 'no_grad', 'enable_grad',
                        'is_signed', 'is_nonzero_sized', 'typename' }) do
  META[name] = true
end

local function is_plain_table(v) return type(v) == 'table' and not is_tensor(v) and rawget(v, '_modules') == nil end

local function pack(...) return { n = select('#', ...), ... } end

-- True if v (an argument) is or holds (one table level down) a traced value.
local function holds_traced(values, v)
  if is_tensor(v) then return values[v] ~= nil end
  if is_plain_table(v) then
    for _, x in pairs(v) do
      if is_tensor(x) and values[x] ~= nil then return true end
    end
  end
  return false
end

-- The tensors among results (one table level down, in order).
local function result_tensors(res)
  local list = {}
  for i = 1, res.n do
    local r = res[i]
    if is_tensor(r) then
      list[#list + 1] = r
    elseif is_plain_table(r) then
      for _, x in ipairs(r) do
        if is_tensor(x) then list[#list + 1] = x end
      end
    end
  end
  return list
end

-- True if results hold values read out of tensors: numbers, booleans, pointers, or tables of them (tolist).
local function reads_values(res)
  for i = 1, res.n do
    local r = res[i]
    local tr = type(r)
    if tr == 'number' or tr == 'boolean' or tr == 'cdata' then return true end
    if is_plain_table(r) then
      local first = r[1]
      local tf = type(first)
      if tf == 'number' or tf == 'boolean' or (tf == 'table' and not is_tensor(first)) then return true end
    end
  end
  return false
end

local Trace = {}
Trace.__index = Trace

-- trace.new(opts) -> Trace
-- opts.exporters: the op exporters (tensor.onnx.ops.lookup(key, fn_name)); opts.module_exporters: by module type
-- name; opts.module_names: module -> dotted path.
function M.new(opts)
  return setmetatable({
    values = setmetatable({}, { __mode = 'k' }), -- tensor -> value id (its current value, in-place ops rebind)
    kinds = {},                                  -- value id -> 'input' | 'param' | 'op'
    tensors = {},                                -- value id -> the tensor holding it when it was made
    n_values = 0,
    events = {},
    warnings = {}, warned = {},
    path = {}, types = {},
    busy = 0,
    lookup = opts.lookup,
    module_exporters = opts.module_exporters or {},
    module_names = opts.module_names or {},
  }, Trace)
end

-- A new value id for tensor t.
function Trace:bind(t, kind)
  self.n_values = self.n_values + 1
  local id = self.n_values
  self.values[t], self.kinds[id], self.tensors[id] = id, kind, t
  return id
end

function Trace:where()
  local p = self.path[#self.path]
  if p == nil then return 'the model' end
  return (p == '' and 'the model' or p) .. ' (' .. self.types[#self.types] .. ')'
end

function Trace:warn(msg)
  msg = msg .. ' in ' .. self:where()
  if not self.warned[msg] then
    self.warned[msg] = true
    self.warnings[#self.warnings + 1] = msg
  end
end

local function unsupported(self, key)
  error(string.format('onnx.export: %s (called in %s) cannot be exported to ONNX: it has no ONNX equivalent here, ' ..
                      'or it computes a traced value in a way the tracer cannot record', key, self:where()), 0)
end

local function read_warning(self, key)
  self:warn(string.format('%s read a traced value as a Lua value: the graph records the value of this one ' ..
                          'trace as a constant (tracing records one path; a forward that branches on values ' ..
                          'exports only the branch taken)', key))
end

-- Runs fn(...) with interception suspended (inside an exported op, or for the tracer's own work).
function Trace:quiet(fn, ...)
  self.busy = self.busy + 1
  local res = pack(pcall(fn, ...))
  self.busy = self.busy - 1
  if not res[1] then error(res[2], 0) end
  return unpack(res, 2, res.n)
end

-- An intercepted call of `fn` (named key, e.g. 'Tensor.add'; `name` is the bare function name).
function Trace:call(key, name, fn, ...)
  local n = select('#', ...)
  local values = self.values
  local traced = false
  for i = 1, n do
    if holds_traced(values, (select(i, ...))) then traced = true break end
  end
  if not traced then return fn(...) end
  local inplace = name:sub(-1) == '_' and name:sub(-2) ~= '__'
  local exporter = self.lookup(key, name)
  for i = 1, n do
    local a = select(i, ...)
    if is_plain_table(a) and is_tensor(rawget(a, 'out')) then
      error(string.format('onnx.export: %s (called in %s) writes into an existing tensor (out=); ONNX values are ' ..
                          'immutable: use the result instead', key, self:where()), 0)
    end
  end
  if not exporter then
    if inplace then unsupported(self, key) end
    local res = pack(fn(...))
    if reads_values(res) then read_warning(self, key) end
    for _, t in ipairs(result_tensors(res)) do
      if values[t] == nil then unsupported(self, key) end
    end
    return unpack(res, 1, res.n)
  end
  local args = pack(...)
  local res = pack(self:quiet(fn, ...))
  local outs = result_tensors(res)
  if #outs == 0 then
    -- a value read as a Lua number or boolean (x:sum() without a dim, x:max(), ...)
    if reads_values(res) then read_warning(self, key) end
    return unpack(res, 1, res.n)
  end
  -- In place: the op's first argument gets the op's result as its new value.
  local target = inplace and args[1] or nil
  if inplace then
    if not is_tensor(target) or outs[1] ~= target then unsupported(self, key) end
    local base = rawget(target, '_base')
    if base ~= nil and values[base] ~= nil then
      error(string.format('onnx.export: %s (called in %s) writes in place into a view of a traced tensor; ' ..
                          'ONNX values are immutable: use the out-of-place form', key, self:where()), 0)
    end
  end
  -- Results that are existing values, unchanged (contiguous() of a contiguous tensor, dropout in evaluation,
  -- to() with nothing to do), need no event.
  local fresh = false
  for _, t in ipairs(outs) do
    if values[t] == nil or t == target then fresh = true break end
  end
  if not fresh then return unpack(res, 1, res.n) end
  local ev = { key = key, name = name, exporter = exporter, args = args, results = res, outs = outs,
               path = self.path[#self.path] or '', inplace = inplace, ids = {}, in_ids = {} }
  -- the value ids of the traced arguments as they are now (before an in-place op rebinds its target)
  for i = 1, n do
    local a = args[i]
    if is_tensor(a) then
      ev.in_ids[a] = values[a]
    elseif is_plain_table(a) then
      for _, x in pairs(a) do
        if is_tensor(x) then ev.in_ids[x] = values[x] end
      end
    end
  end
  for i, t in ipairs(outs) do
    if values[t] == nil or t == target then ev.ids[i] = self:bind(t, 'op') else ev.ids[i] = values[t] end
  end
  self.events[#self.events + 1] = ev
  return unpack(res, 1, res.n)
end

-- A module call: pushes its path; modules with a module exporter (recurrent layers) are recorded whole.
function Trace:module_call(orig, m, ...)
  local path = self.module_names[m]
  if path == nil then
    local parent = self.path[#self.path]
    path = (parent and parent ~= '' and (parent .. '.') or '') .. '<' .. m:typename() .. '>'
  end
  self.path[#self.path + 1] = path
  self.types[#self.types + 1] = 'nn.' .. m:typename()
  local exporter = self.module_exporters[m:typename()]
  local res
  if exporter then
    local n = select('#', ...)
    local traced = false
    for i = 1, n do
      if holds_traced(self.values, (select(i, ...))) then traced = true break end
    end
    if traced then
      local args = pack(...)
      res = pack(pcall(self.quiet, self, orig, m, ...))
      if res[1] then
        table.remove(res, 1)
        res.n = res.n - 1
        local outs = result_tensors(res)
        local ev = { key = 'nn.' .. m:typename(), module = m, exporter = exporter, args = args, results = res,
                     outs = outs, path = path, ids = {}, in_ids = {} }
        for i = 1, args.n do
          local a = args[i]
          if is_tensor(a) then
            ev.in_ids[a] = self.values[a]
          elseif is_plain_table(a) then
            for _, x in pairs(a) do
              if is_tensor(x) then ev.in_ids[x] = self.values[x] end
            end
          end
        end
        for i, t in ipairs(outs) do ev.ids[i] = self:bind(t, 'op') end
        self.events[#self.events + 1] = ev
        table.insert(res, 1, true)
        res.n = res.n + 1
      end
    end
  end
  if not res then res = pack(pcall(orig, m, ...)) end
  self.path[#self.path] = nil
  self.types[#self.types] = nil
  if not res[1] then error(res[2], 0) end
  return unpack(res, 2, res.n)
end

-- ---------------------------------------------------------------- installing the interceptors

local function interceptor(key, name, fn)
  return function(...)
    local t = active
    if t == nil or t.busy > 0 then return fn(...) end
    return t:call(key, name, fn, ...)
  end
end

-- The namespaces whose functions are intercepted: { prefix, table }.
local function namespaces()
  local torch = core.torch
  local list = { { 'Tensor', Tensor }, { 'torch', torch } }
  if type(torch.linalg) == 'table' then list[#list + 1] = { 'torch.linalg', torch.linalg } end
  local ok, F = pcall(require, 'tensor.nn.functional')
  if ok then list[#list + 1] = { 'F', F } end
  return list
end

-- trace.run(t, fn, ...) -> results of fn
-- Runs fn(...) with t as the active trace and the interceptors installed; restores everything afterwards, also
-- when fn raises.
function M.run(t, fn, ...)
  if active then error('onnx.export: an export is already in progress (exports cannot be nested)', 0) end
  local saved = {}
  for _, ns in ipairs(namespaces()) do
    local prefix, tbl = ns[1], ns[2]
    for name, fn0 in pairs(tbl) do
      if type(name) == 'string' and type(fn0) == 'function' and not META[name] then
        saved[#saved + 1] = { tbl, name, fn0 }
      end
    end
    for i = #saved, 1, -1 do
      local s = saved[i]
      if s[1] ~= tbl then break end
      tbl[s[2]] = interceptor(prefix .. '.' .. s[2], s[2], s[3])
    end
  end
  -- element reads and writes through x[i] / x[{...}]
  local index_get, index_set = core.index_get, core.index_set
  core.index_get = function(self, key)
    local tr = active
    if tr == nil or tr.busy > 0 then return index_get(self, key) end
    local r = index_get(self, key)
    if type(r) ~= 'table' and tr.values[self] ~= nil then read_warning(tr, 'x[i]') end
    return r
  end
  core.index_set = function(self, key, value)
    local tr = active
    if tr ~= nil and tr.busy == 0 and (tr.values[self] ~= nil or holds_traced(tr.values, value)) then
      error(string.format('onnx.export: x[...] = v (called in %s) writes in place into a tensor; ONNX values are ' ..
                          'immutable: build the result with torch.cat/stack or torch.where instead', tr:where()), 0)
    end
    return index_set(self, key, value)
  end
  local Module = require('tensor.nn.module').Module
  local module_call = Module.__call
  Module.__call = function(m, ...)
    local tr = active
    if tr == nil or tr.busy > 0 then return module_call(m, ...) end
    return tr:module_call(module_call, m, ...)
  end
  local graph = require 'tensor.autograd.graph'
  graph.keep_intermediates(true) -- the trace holds every value; containers must not free any
  active = t
  local res = pack(pcall(fn, ...))
  active = nil
  graph.keep_intermediates(false)
  Module.__call = module_call
  core.index_get, core.index_set = index_get, index_set
  for i = #saved, 1, -1 do
    local s = saved[i]
    s[1][s[2]] = s[3]
  end
  if not res[1] then error(res[2], 0) end
  return unpack(res, 2, res.n)
end

function M.active() return active end

M.result_tensors, M.is_plain_table, M.pack = result_tensors, is_plain_table, pack

return M
