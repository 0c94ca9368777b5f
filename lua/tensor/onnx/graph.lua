-- tensor.onnx.graph: the ONNX graph under construction while the traced events are lowered: nodes with unique
-- names, initializers (parameters under their state-dict names, constants), the values of traced tensors, and
-- symbolic sizes.
--
-- Symbolic sizes. With a dynamic batch dimension the model is traced twice, at two batch sizes; a number that
-- differs between the traces (a size, a reshape target, a narrow length) is an affine function a * batch + c of
-- the batch size, held as a Sym. Emitters turn Syms into graph values computed from the input's Shape, so the
-- graph works for every batch size.
local ffi = require 'ffi'
local proto = require 'tensor.onnx.proto'

local M = {}

-- ---------------------------------------------------------------- symbolic sizes

local Sym = {}
Sym.__index = Sym
M.Sym = Sym

-- graph.sym(a, c, v) -> Sym
-- The size a * batch + c, whose value in the traced run is v.
function M.sym(a, c, v) return setmetatable({ a = a, c = c, v = v }, Sym) end
local function is_sym(x) return getmetatable(x) == Sym end
M.is_sym = is_sym

function Sym:__tostring()
  local a, c = self.a, self.c
  local s = a == 1 and 'batch' or (a == -1 and '-batch' or (a .. '*batch'))
  if c > 0 then s = s .. '+' .. c elseif c < 0 then s = s .. c end
  return s
end

-- graph.lin(x, k, m) -> number or Sym
-- x * k + m for a number or a Sym x.
function M.lin(x, k, m)
  m = m or 0
  if is_sym(x) then
    local a, c = x.a * k, x.c * k + m
    if a == 0 then return c end
    return M.sym(a, c, x.v * k + m)
  end
  return x * k + m
end

-- graph.add(x, y) -> number or Sym
function M.add(x, y)
  if not is_sym(x) and not is_sym(y) then return x + y end
  if not is_sym(x) then x, y = y, x end
  if not is_sym(y) then return M.lin(x, 1, y) end
  local a, c = x.a + y.a, x.c + y.c
  if a == 0 then return c end
  return M.sym(a, c, x.v + y.v)
end

-- graph.value(x) -> number
-- The traced value of a number or Sym.
function M.value(x) if is_sym(x) then return x.v end return x end

-- ---------------------------------------------------------------- the graph

local G = {}
G.__index = G

local DTYPE = proto.DTYPE

-- graph.new{opset=, batch_input=, batch_axis=} -> Graph
function M.new(opts)
  return setmetatable({
    opset = opts.opset,
    nodes = {}, initializers = {}, inputs = {}, outputs = {}, value_infos = {},
    used = {},        -- every name taken (values and nodes)
    counters = {},
    env = {},         -- tensor -> ONNX value name (its current value)
    ids = {},         -- tensor -> value id (its current value)
    consts = setmetatable({}, { __mode = 'k' }), -- constant tensor -> initializer name
    scalars = {}, int_lists = {},
    params = opts.params or {},                  -- tensor -> state-dict name
    dyn_consts = opts.dyn_consts or {},          -- constant tensor -> { shape = symbolic shape, value = v }
    shapes = opts.shapes or {},                  -- value id -> symbolic shape
    batch_input = opts.batch_input, batch_axis = opts.batch_axis,
    path = '',
  }, G)
end

-- Graph:fresh(base) -> string
-- A name not used yet, made from base.
function G:fresh(base)
  if not self.used[base] then
    self.used[base] = true
    return base
  end
  local n = (self.counters[base] or 0) + 1
  while self.used[base .. '_' .. n] do n = n + 1 end
  self.counters[base] = n
  local name = base .. '_' .. n
  self.used[name] = true
  return name
end

-- Attribute constructors: A.i(v), A.f(v), A.s(v), A.ints(list), A.floats(list), A.t(tensor table).
local A = {}
M.A = A
function A.i(v) return { 'INT', v } end
function A.f(v) return { 'FLOAT', v } end
function A.s(v) return { 'STRING', v } end
function A.ints(v) return { 'INTS', v } end
function A.floats(v) return { 'FLOATS', v } end
function A.strings(v) return { 'STRINGS', v } end
function A.t(v) return { 'TENSOR', v } end

-- Graph:node(op_type, inputs, attrs, n_outputs) -> output names...
-- Appends a node; attrs maps attribute names to A.* values. Returns the names of its outputs (n_outputs, default 1).
function G:node(op_type, inputs, attrs, n_outputs)
  local prefix = self.path ~= '' and ('/' .. self.path .. '/') or '/'
  local name = self:fresh(prefix .. op_type)
  local outputs = {}
  for i = 1, n_outputs or 1 do outputs[i] = self:fresh(name .. '_output_' .. (i - 1)) end
  local attributes = {}
  if attrs then
    local names = {}
    for k in pairs(attrs) do names[#names + 1] = k end
    table.sort(names)
    for _, k in ipairs(names) do
      local a = attrs[k]
      attributes[#attributes + 1] = { name = k, type = a[1], value = a[2] }
    end
  end
  for i, x in ipairs(inputs) do
    if x == nil then error('onnx graph: node ' .. name .. ' has a nil input ' .. i) end
  end
  self.nodes[#self.nodes + 1] = { name = name, op_type = op_type, inputs = inputs, outputs = outputs,
                                  attributes = attributes }
  return unpack(outputs)
end

-- The raw little-endian bytes of a CPU tensor's elements in row-major order.
local function raw_bytes(t)
  t = t:detach():cpu():contiguous()
  local n = t:numel() * t:element_size()
  if n == 0 then return '' end
  local s = ffi.string(t:data_ptr(), n)
  if not ffi.abi('le') and t:element_size() > 1 then
    local size, parts = t:element_size(), {}
    for i = 1, #s, size do parts[#parts + 1] = s:sub(i, i + size - 1):reverse() end
    s = table.concat(parts)
  end
  return s
end
M.raw_bytes = raw_bytes

-- Graph:initializer(name, tensor) -> name
-- Adds tensor as an initializer (the name made unique if taken).
function G:initializer(name, t)
  local dt = DTYPE[t:dtype()]
  if not dt then error('onnx.export: tensors of dtype ' .. t:dtype() .. ' cannot be stored in ONNX', 0) end
  name = self:fresh(name)
  self.initializers[#self.initializers + 1] = { name = name, dims = t:shape(), data_type = dt, raw_data = raw_bytes(t) }
  return name
end

-- Graph:scalar(v, dtype) -> name
-- A 0-d constant of dtype (shared between uses).
function G:scalar(v, dtype)
  if is_sym(v) then return self:cast(self:squeeze0(self:dim(v)), 'int64', dtype) end
  local key = dtype .. ':' .. string.format('%.17g', v)
  local name = self.scalars[key]
  if not name then
    local torch = require 'tensor'
    name = self:initializer('const_' .. dtype .. '_' .. (v == math.floor(v) and math.abs(v) < 1e15 and
                            string.format('%d', v) or 'x'), torch.tensor(v, { dtype = dtype }))
    self.scalars[key] = name
  end
  return name
end

-- Graph:ints(list) -> name
-- A 1-d int64 constant.
function G:ints(list)
  local key = table.concat(list, ',')
  local name = self.int_lists[key]
  if not name then
    local torch = require 'tensor'
    local t = #list == 0 and torch.zeros(0, { dtype = 'int64' }) or torch.tensor(list, { dtype = 'int64' })
    name = self:initializer('const_ints', t)
    self.int_lists[key] = name
  end
  return name
end

-- Graph:cast(name, from, to) -> name
-- name cast from dtype `from` to `to` (the name itself when they agree).
function G:cast(name, from, to)
  if from == to then return name end
  return self:node('Cast', { name }, { to = A.i(DTYPE[to]) })
end

-- The batch size as a 1-d int64 [1] value: Gather(Shape(input), [axis]).
function G:batch()
  if not self.batch_value then
    if not self.batch_input then error('onnx.export: internal error: a symbolic size without a dynamic batch', 0) end
    local saved = self.path
    self.path = ''
    local shape = self:node('Shape', { self.batch_input })
    self.batch_value = self:node('Gather', { shape, self:ints({ self.batch_axis }) }, { axis = A.i(0) })
    self.path = saved
  end
  return self.batch_value
end

-- Graph:dim(x) -> name
-- A number or Sym as a 1-d int64 [1] value.
function G:dim(x)
  if not is_sym(x) then return self:ints({ x }) end
  self.sym_cache = self.sym_cache or {}
  local key = x.a .. ':' .. x.c
  if self.sym_cache[key] then return self.sym_cache[key] end
  local v = self:batch()
  if x.a ~= 1 then v = self:node('Mul', { v, self:ints({ x.a }) }) end
  if x.c ~= 0 then v = self:node('Add', { v, self:ints({ x.c }) }) end
  self.sym_cache[key] = v
  return v
end

-- Graph:squeeze0(name) -> name
-- A 1-d [1] value as a 0-d one.
function G:squeeze0(name) return self:node('Reshape', { name, self:ints({}) }) end

-- Graph:shape_value(list, allow_infer) -> name
-- A shape (numbers and Syms) as a 1-d int64 value. With allow_infer (Reshape targets), a single Sym becomes -1.
function G:shape_value(list, allow_infer)
  local syms = 0
  for _, d in ipairs(list) do if is_sym(d) then syms = syms + 1 end end
  if syms == 0 then return self:ints(list) end
  if allow_infer and syms == 1 then
    local s = {}
    for i, d in ipairs(list) do s[i] = is_sym(d) and -1 or d end
    return self:ints(s)
  end
  local parts, run = {}, {}
  local function flush()
    if #run > 0 then
      parts[#parts + 1] = self:ints(run)
      run = {}
    end
  end
  for _, d in ipairs(list) do
    if is_sym(d) then
      flush()
      parts[#parts + 1] = self:dim(d)
    else
      run[#run + 1] = d
    end
  end
  flush()
  if #parts == 1 then return parts[1] end
  return self:node('Concat', parts, { axis = A.i(0) })
end

-- Graph:shape_of(t) -> list
-- The symbolic shape of tensor t's current value (a static shape for constants).
function G:shape_of(t)
  local id = self.ids[t]
  if id and self.shapes[id] then return self.shapes[id] end
  local dc = self.dyn_consts[t]
  if dc then return dc.shape end
  return t:shape()
end

-- Graph:val(x, dtype) -> name
-- The ONNX value of a tensor (traced value, parameter, constant) or a number, cast to dtype when given.
function G:val(x, dtype)
  local torch = require 'tensor'
  if type(x) == 'number' or type(x) == 'boolean' or is_sym(x) then
    if type(x) == 'boolean' then x = x and 1 or 0 end
    if not dtype then error('onnx graph: a number needs a dtype', 2) end
    return self:scalar(x, dtype)
  end
  if not torch.is_tensor(x) then error('onnx.export: expected a tensor or a number, got ' .. type(x), 0) end
  local name = self.env[x]
  if not name then
    local pname = self.params[x]
    if pname then
      name = self:initializer(pname, x)
      self.env[x] = name
    else
      name = self.consts[x]
      if not name then
        local dc = self.dyn_consts[x]
        if dc then
          -- a constant-filled tensor whose shape depends on the batch size
          local fill = torch.tensor(dc.value, { dtype = x:dtype() }):reshape(1)
          name = self:node('ConstantOfShape', { self:shape_value(dc.shape, false) },
                           { value = A.t({ name = 'value', dims = { 1 }, data_type = DTYPE[x:dtype()],
                                           raw_data = raw_bytes(fill) }) })
        else
          name = self:initializer(self.path ~= '' and (self.path .. '.const') or 'const', x)
        end
        self.consts[x] = name
      end
    end
  end
  if dtype and dtype ~= x:dtype() then return self:cast(name, x:dtype(), dtype) end
  return name
end

-- Graph:dim_param(d) -> number or string
-- A dimension for a ValueInfoProto: its value, or a symbol ('batch', 'batch*4', ...).
function M.dim_param(d)
  if is_sym(d) then return tostring(d) end
  return d
end

return M
