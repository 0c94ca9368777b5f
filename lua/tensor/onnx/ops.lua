-- tensor.onnx.ops: how each traced op is written as ONNX nodes (the exporters the tracer looks up).
--
-- An exporter is function(g, ev) -> { output names } for the event's result tensors (ev.outs), where g is the
-- graph under construction (tensor.onnx.graph) and ev the traced call: ev.args (its arguments, with numbers that
-- depend on the batch size replaced by Syms), ev.outs (the result tensors of the traced run), ev.inplace.
-- Our 1-based dims become ONNX's 0-based axes here, and index tensors (index_select, gather, embedding ids) are
-- shifted down by one with a Sub; indices returned (max(dim), argmax) are shifted up by one with an Add.
--
-- Ops whose form changed across opsets 13 to 18 are written per opset: ReduceSum's axes are an input from 13 and
-- the other reductions' axes from 18 (an attribute before); Squeeze/Unsqueeze axes and Split sizes are inputs
-- (13+); LayerNormalization exists from 17 (a decomposition before); Trilu from 14 (a mask before).
local core = require 'tensor.core'
local graph = require 'tensor.onnx.graph'

local A, is_sym, value = graph.A, graph.is_sym, graph.value
local is_tensor = core.is_tensor

local M = {}
local E = {}   -- Tensor methods and torch functions (tensor first), by name
local EF = {}  -- nn.functional, by name
local BY_KEY = {} -- exact keys ('torch.where', ...)

local FLOATING = { float32 = true, float64 = true, float16 = true, bfloat16 = true }

local function is_opts(v) return type(v) == 'table' and not is_tensor(v) and getmetatable(v) == nil and v[1] == nil end

local function fail(ev, fmt, ...)
  error(string.format('onnx.export: %s (called in %s): %s', ev.key, ev.where or 'the model', string.format(fmt, ...)), 0)
end

-- A number argument that must not depend on the batch size.
local function static(ev, x, what)
  if is_sym(x) then fail(ev, '%s depends on the batch size (%s); export with dynamic_batch=false', what, tostring(x)) end
  return x
end

-- The 0-based ONNX axis of a 1-based (or negative) dim of a tensor of rank r.
local function axis(ev, d, r)
  d = static(ev, d, 'the dim')
  if type(d) ~= 'number' then fail(ev, 'expected a dim number, got %s', type(d)) end
  if d < 0 then d = d + r + 1 end
  if d < 1 or d > math.max(r, 1) then fail(ev, 'dim %d is out of range for a %d-d tensor', d, r) end
  return d - 1
end

local function out_dtype(ev, i) return ev.outs[i or 1]:dtype() end

-- The common dtype two operands are compared in (PyTorch's promotion with Lua numbers as Python scalars).
local function common_dtype(a, b)
  local torch = core.torch
  if is_tensor(a) and is_tensor(b) then
    -- a 0-d tensor does not promote a dimensioned one of the same category (PyTorch's rule)
    if a:dim() == 0 and b:dim() > 0 and FLOATING[a:dtype()] == FLOATING[b:dtype()] then return b:dtype() end
    if b:dim() == 0 and a:dim() > 0 and FLOATING[a:dtype()] == FLOATING[b:dtype()] then return a:dtype() end
    return torch.promote_types(a:dtype(), b:dtype())
  end
  local t, n = a, b
  if not is_tensor(t) then t, n = b, a end
  local dt = t:dtype()
  n = value(n)
  if type(n) == 'boolean' then return dt end
  if not FLOATING[dt] and n ~= math.floor(n) then return torch.get_default_dtype() end
  if dt == 'bool' then return 'int64' end
  return dt
end

-- ---------------------------------------------------------------- element-wise

local function unary(op)
  return function(g, ev)
    local dt = out_dtype(ev)
    local x = ev.args[1]
    return { g:node(op, { g:val(x, dt ~= 'bool' and dt or nil) }) }
  end
end
for name, op in pairs({ neg = 'Neg', abs = 'Abs', exp = 'Exp', log = 'Log', sqrt = 'Sqrt', sin = 'Sin',
                        cos = 'Cos', tan = 'Tan', asin = 'Asin', acos = 'Acos', atan = 'Atan', sinh = 'Sinh',
                        cosh = 'Cosh', asinh = 'Asinh', acosh = 'Acosh', atanh = 'Atanh', tanh = 'Tanh',
                        sigmoid = 'Sigmoid', relu = 'Relu', floor = 'Floor', ceil = 'Ceil', round = 'Round',
                        reciprocal = 'Reciprocal', erf = 'Erf', sign = 'Sign' }) do
  E[name] = unary(op)
end
E.negative = E.neg
E.absolute = E.abs
function E.isnan(g, ev) return { g:node('IsNaN', { g:val(ev.args[1]) }) } end
function E.isinf(g, ev) return { g:node('IsInf', { g:val(ev.args[1]) }) } end
function E.logical_not(g, ev) return { g:node('Not', { g:val(ev.args[1], 'bool') }) } end
function E.bitwise_not(g, ev)
  if ev.args[1]:dtype() ~= 'bool' then fail(ev, 'only bool tensors (ONNX BitwiseNot needs opset 18 ints)') end
  return { g:node('Not', { g:val(ev.args[1]) }) }
end

-- unary ops composed of ONNX nodes: f(g, x, dt, ev) -> name
local function composed(f)
  return function(g, ev)
    local dt = out_dtype(ev)
    return { f(g, g:val(ev.args[1], dt), dt, ev) }
  end
end
E.rsqrt = composed(function(g, x) return g:node('Reciprocal', { g:node('Sqrt', { x }) }) end)
E.square = composed(function(g, x) return g:node('Mul', { x, x }) end)
E.exp2 = composed(function(g, x, dt) return g:node('Pow', { g:scalar(2, dt), x }) end)
E.expm1 = composed(function(g, x, dt) return g:node('Sub', { g:node('Exp', { x }), g:scalar(1, dt) }) end)
E.log1p = composed(function(g, x, dt) return g:node('Log', { g:node('Add', { x, g:scalar(1, dt) }) }) end)
E.log2 = composed(function(g, x, dt) return g:node('Div', { g:node('Log', { x }), g:scalar(math.log(2), dt) }) end)
E.log10 = composed(function(g, x, dt) return g:node('Div', { g:node('Log', { x }), g:scalar(math.log(10), dt) }) end)
E.erfc = composed(function(g, x, dt) return g:node('Sub', { g:scalar(1, dt), g:node('Erf', { x }) }) end)
local function trunc(g, x, dt)
  if not FLOATING[dt] then return g:node('Identity', { x }) end
  return g:node('Where', { g:node('Less', { x, g:scalar(0, dt) }), g:node('Ceil', { x }), g:node('Floor', { x }) })
end
E.trunc = composed(trunc)
E.fix = E.trunc
E.frac = composed(function(g, x, dt) return g:node('Sub', { x, trunc(g, x, dt) }) end)
E.silu = composed(function(g, x) return g:node('Mul', { x, g:node('Sigmoid', { x }) }) end)
E.logsigmoid = composed(function(g, x) return g:node('Neg', { g:node('Softplus', { g:node('Neg', { x }) }) }) end)
E.gelu = composed(function(g, x, dt, ev)
  local approximate = ev.args[2]
  if is_opts(approximate) then approximate = approximate.approximate end
  local half_x = g:node('Mul', { x, g:scalar(0.5, dt) })
  local inner
  if approximate == 'tanh' then
    -- 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
    local cube = g:node('Mul', { g:node('Mul', { x, x }), x })
    local poly = g:node('Add', { x, g:node('Mul', { cube, g:scalar(0.044715, dt) }) })
    inner = g:node('Tanh', { g:node('Mul', { poly, g:scalar(math.sqrt(2 / math.pi), dt) }) })
  else
    -- 0.5 x (1 + erf(x / sqrt 2))
    inner = g:node('Erf', { g:node('Mul', { x, g:scalar(1 / math.sqrt(2), dt) }) })
  end
  return g:node('Mul', { half_x, g:node('Add', { inner, g:scalar(1, dt) }) })
end)
E.leaky_relu = composed(function(g, x, dt, ev)
  local slope = ev.args[2]
  if is_opts(slope) then slope = slope.negative_slope end
  return g:node('LeakyRelu', { x }, { alpha = A.f(static(ev, slope or 0.01, 'negative_slope')) })
end)
E.elu = composed(function(g, x, dt, ev)
  local alpha = ev.args[2]
  if is_opts(alpha) then alpha = alpha.alpha end
  return g:node('Elu', { x }, { alpha = A.f(static(ev, alpha or 1, 'alpha')) })
end)
E.selu = composed(function(g, x) return g:node('Selu', { x }) end)
E.celu = composed(function(g, x, dt, ev)
  local alpha = ev.args[2]
  if is_opts(alpha) then alpha = alpha.alpha end
  return g:node('Celu', { x }, { alpha = A.f(static(ev, alpha or 1, 'alpha')) })
end)
E.softplus = composed(function(g, x, dt, ev)
  local beta, threshold = ev.args[2], ev.args[3]
  if is_opts(beta) then beta, threshold = beta.beta, beta.threshold end
  beta, threshold = static(ev, beta or 1, 'beta'), static(ev, threshold or 20, 'threshold')
  -- x where beta x > threshold, else log(1 + exp(beta x)) / beta
  local bx = beta == 1 and x or g:node('Mul', { x, g:scalar(beta, dt) })
  local soft = g:node('Softplus', { bx })
  if beta ~= 1 then soft = g:node('Div', { soft, g:scalar(beta, dt) }) end
  return g:node('Where', { g:node('Greater', { bx, g:scalar(threshold, dt) }), x, soft })
end)

-- clamp(lo, hi) / clamp{min=, max=}: Clip with number bounds, Max/Min with tensor bounds.
function E.clamp(g, ev)
  local x, lo, hi = ev.args[1], ev.args[2], ev.args[3]
  if is_opts(lo) then lo, hi = lo.min, lo.max end
  local dt = out_dtype(ev)
  local y = g:val(x, dt)
  if is_tensor(lo) or is_tensor(hi) then
    if lo ~= nil then y = g:node('Max', { y, g:val(lo, dt) }) end
    if hi ~= nil then y = g:node('Min', { y, g:val(hi, dt) }) end
    return { y }
  end
  return { g:node('Clip', { y, lo ~= nil and g:scalar(lo, dt) or '', hi ~= nil and g:scalar(hi, dt) or '' }) }
end
E.clip = E.clamp
function E.clamp_min(g, ev)
  local dt = out_dtype(ev)
  return { g:node('Max', { g:val(ev.args[1], dt), g:val(ev.args[2], dt) }) }
end
function E.clamp_max(g, ev)
  local dt = out_dtype(ev)
  return { g:node('Min', { g:val(ev.args[1], dt), g:val(ev.args[2], dt) }) }
end

-- Binary arithmetic in the result's dtype.
local function arith(op)
  return function(g, ev)
    local dt = out_dtype(ev)
    return { g:node(op, { g:val(ev.args[1], dt), g:val(ev.args[2], dt) }) }
  end
end
E.mul, E.maximum, E.minimum = arith('Mul'), arith('Max'), arith('Min')
E.multiply, E.fmax, E.fmin = E.mul, E.maximum, E.minimum
E.pow = arith('Pow')
local function alpha_of(a)
  if is_opts(a) then return a.alpha end
  return a
end
local function add_sub(op)
  return function(g, ev)
    local dt = out_dtype(ev)
    local b = ev.args[2]
    local alpha = alpha_of(ev.args[3])
    local bv
    if alpha ~= nil and alpha ~= 1 then
      if is_tensor(b) then
        bv = g:node('Mul', { g:val(b, dt), g:scalar(alpha, dt) })
      else
        bv = g:scalar(graph.lin(b, value(alpha)), dt)
      end
    else
      bv = g:val(b, dt)
    end
    return { g:node(op, { g:val(ev.args[1], dt), bv }) }
  end
end
E.add, E.sub = add_sub('Add'), add_sub('Sub')
E.subtract = E.sub
function E.rsub(g, ev)
  local dt = out_dtype(ev)
  return { g:node('Sub', { g:val(ev.args[2], dt), g:val(ev.args[1], dt) }) }
end
function E.div(g, ev)
  local dt = out_dtype(ev)
  local mode = ev.args[3]
  if is_opts(mode) then mode = mode.rounding_mode end
  local q = g:node('Div', { g:val(ev.args[1], dt), g:val(ev.args[2], dt) })
  if mode == 'floor' then
    if not FLOATING[dt] then fail(ev, "rounding_mode 'floor' on integer tensors is not supported") end
    q = g:node('Floor', { q })
  elseif mode == 'trunc' then
    q = trunc(g, q, dt)
  end
  return { q }
end
E.divide, E.true_divide = E.div, E.div
function E.floor_divide(g, ev)
  local dt = out_dtype(ev)
  if not FLOATING[dt] then fail(ev, 'integer floor division is not supported') end
  return { g:node('Floor', { g:node('Div', { g:val(ev.args[1], dt), g:val(ev.args[2], dt) }) }) }
end
function E.fmod(g, ev)
  local dt = out_dtype(ev)
  return { g:node('Mod', { g:val(ev.args[1], dt), g:val(ev.args[2], dt) }, { fmod = A.i(1) }) }
end
function E.remainder(g, ev)
  local dt = out_dtype(ev)
  local a, b = g:val(ev.args[1], dt), g:val(ev.args[2], dt)
  if not FLOATING[dt] then return { g:node('Mod', { a, b }, { fmod = A.i(0) }) } end
  -- a - floor(a / b) * b (the sign of the divisor, as Python)
  return { g:node('Sub', { a, g:node('Mul', { g:node('Floor', { g:node('Div', { a, b }) }), b }) }) }
end
function E.lerp(g, ev)
  local dt = out_dtype(ev)
  local a, b, w = g:val(ev.args[1], dt), g:val(ev.args[2], dt), g:val(ev.args[3], dt)
  return { g:node('Add', { a, g:node('Mul', { w, g:node('Sub', { b, a }) }) }) }
end
local function addc(op)
  return function(g, ev)
    local dt = out_dtype(ev)
    local v = ev.args[4]
    if is_opts(v) then v = v.value end
    local prod = g:node(op, { g:val(ev.args[2], dt), g:val(ev.args[3], dt) })
    if v ~= nil and v ~= 1 then prod = g:node('Mul', { prod, g:scalar(v, dt) }) end
    return { g:node('Add', { g:val(ev.args[1], dt), prod }) }
  end
end
E.addcmul, E.addcdiv = addc('Mul'), addc('Div')

local function compare(op, negate)
  return function(g, ev)
    local a, b = ev.args[1], ev.args[2]
    local dt = common_dtype(a, b)
    local y = g:node(op, { g:val(a, dt), g:val(b, dt) })
    if negate then y = g:node('Not', { y }) end
    return { y }
  end
end
E.eq, E.ne, E.lt, E.le, E.gt, E.ge = compare('Equal'), compare('Equal', true), compare('Less'),
  compare('LessOrEqual'), compare('Greater'), compare('GreaterOrEqual')
E.less, E.greater, E.less_equal, E.greater_equal, E.not_equal = E.lt, E.gt, E.le, E.ge, E.ne
local function logical(op)
  return function(g, ev) return { g:node(op, { g:val(ev.args[1], 'bool'), g:val(ev.args[2], 'bool') }) } end
end
E.logical_and, E.logical_or, E.logical_xor = logical('And'), logical('Or'), logical('Xor')
for name, op in pairs({ bitwise_and = 'And', bitwise_or = 'Or', bitwise_xor = 'Xor' }) do
  E[name] = function(g, ev)
    if out_dtype(ev) ~= 'bool' then fail(ev, 'only bool tensors (ONNX bitwise ops on integers need opset 18)') end
    return logical(op)(g, ev)
  end
end

-- where(cond, a, b)
BY_KEY['torch.where'] = function(g, ev)
  local dt = out_dtype(ev)
  return { g:node('Where', { g:val(ev.args[1], 'bool'), g:val(ev.args[2], dt), g:val(ev.args[3], dt) }) }
end
-- masked_fill(mask, value): where(mask, value, x)
function E.masked_fill(g, ev)
  local dt = out_dtype(ev)
  return { g:node('Where', { g:val(ev.args[2], 'bool'), g:val(ev.args[3], dt), g:val(ev.args[1], dt) }) }
end

-- ---------------------------------------------------------------- conversions and copies

-- Results that are the input with another dtype (or the same one, on another device or as a copy).
local function convert(g, ev)
  local x = ev.args[1]
  return { g:val(x, out_dtype(ev)) }
end
for _, name in ipairs({ 'to', 'float', 'double', 'half', 'bfloat16', 'long', 'int', 'short', 'char', 'byte', 'bool',
                        'cpu', 'cuda', 'type', 'typeAs', 'type_as', '_convert', 'contiguous', 'clone', 'detach',
                        'alias' }) do
  E[name] = convert
end

-- ---------------------------------------------------------------- shapes and views

-- Ops whose result is the input with a new shape: a Reshape to the result's (symbolic) shape.
local function reshape(g, ev)
  local x = ev.args[1]
  local dt = out_dtype(ev)
  local shape = g:shape_of(ev.outs[1])
  return { g:node('Reshape', { g:val(x, dt), g:shape_value(shape, true) }) }
end
for _, name in ipairs({ 'view', 'reshape', 'view_as', 'reshape_as', 'flatten', 'unflatten', 'ravel' }) do E[name] = reshape end

function E.squeeze(g, ev)
  local x, d = ev.args[1], ev.args[2]
  local shape = g:shape_of(x)
  local axes = {}
  if d == nil then
    for i, s in ipairs(shape) do if s == 1 then axes[#axes + 1] = i - 1 end end
  else
    local dims = type(d) == 'table' and d or { d }
    for _, dd in ipairs(dims) do
      local a = axis(ev, dd, #shape)
      if shape[a + 1] == 1 then axes[#axes + 1] = a end
    end
  end
  if #axes == 0 then return { g:val(x) } end
  return { g:node('Squeeze', { g:val(x), g:ints(axes) }) }
end
function E.unsqueeze(g, ev)
  local x, d = ev.args[1], static(ev, ev.args[2], 'the dim')
  local r = x:dim() + 1
  if d < 0 then d = d + r + 1 end
  if d < 1 or d > r then fail(ev, 'dim %d is out of range', d) end
  return { g:node('Unsqueeze', { g:val(x), g:ints({ d - 1 }) }) }
end

local function transpose(g, x, perm) return g:node('Transpose', { x }, { perm = A.ints(perm) }) end
M.transpose = transpose
function E.transpose(g, ev)
  local x = ev.args[1]
  local r = x:dim()
  if r < 2 then return { g:val(x) } end
  local a, b = axis(ev, ev.args[2], r), axis(ev, ev.args[3], r)
  local perm = {}
  for i = 1, r do perm[i] = i - 1 end
  perm[a + 1], perm[b + 1] = b, a
  return { transpose(g, g:val(x), perm) }
end
E.swapaxes, E.swapdims = E.transpose, E.transpose
function E.t(g, ev)
  local x = ev.args[1]
  if x:dim() < 2 then return { g:val(x) } end
  return { transpose(g, g:val(x), { 1, 0 }) }
end
function E.permute(g, ev)
  local x = ev.args[1]
  local dims = is_opts(ev.args[2]) and ev.args[2] or (type(ev.args[2]) == 'table' and ev.args[2] or { unpack(ev.args, 2, ev.args.n) })
  local perm = {}
  for i, d in ipairs(dims) do perm[i] = axis(ev, d, x:dim()) end
  return { transpose(g, g:val(x), perm) }
end
local function expand(g, ev)
  local x = ev.args[1]
  local shape = g:shape_of(ev.outs[1])
  return { g:node('Expand', { g:val(x), g:shape_value(shape, false) }) }
end
E.expand, E.expand_as, E.broadcast_to = expand, expand, expand

-- narrow(dim, start, length): a Slice (start may be negative; start and length may depend on the batch size).
function E.narrow(g, ev)
  local x, d, start = ev.args[1], ev.args[2], ev.args[3]
  local shape = g:shape_of(x)
  local a = axis(ev, d, #shape)
  if is_tensor(start) then fail(ev, 'a tensor start is not supported') end
  local s0
  if is_sym(start) then
    s0 = graph.lin(start, 1, -1)
  elseif start < 0 then
    s0 = graph.add(shape[a + 1], start)
  else
    s0 = start - 1
  end
  local len = g:shape_of(ev.outs[1])[a + 1]
  local e = graph.add(s0, len)
  return { g:node('Slice', { g:val(x), g:shape_value({ s0 }), g:shape_value({ e }), g:ints({ a }) }) }
end
-- select(dim, index): a Gather with a 0-d index.
function E.select(g, ev)
  local x, d, i = ev.args[1], ev.args[2], ev.args[3]
  local a = axis(ev, d, x:dim())
  local idx
  if is_sym(i) then
    idx = g:squeeze0(g:dim(graph.lin(i, 1, -1)))
  else
    idx = g:scalar(i > 0 and i - 1 or i, 'int64')
  end
  return { g:node('Gather', { g:val(x), idx }, { axis = A.i(a) }) }
end
function E.unbind(g, ev)
  local x, d = ev.args[1], ev.args[2] or 1
  local a = axis(ev, d, x:dim())
  local names = {}
  for i = 1, #ev.outs do names[i] = g:node('Gather', { g:val(x), g:scalar(i - 1, 'int64') }, { axis = A.i(a) }) end
  return names
end
-- split/chunk: a Split with the sizes of the pieces.
local function split(g, ev)
  local x, d = ev.args[1], ev.args[3] or 1
  local a = axis(ev, d, x:dim())
  local sizes = {}
  for i, t in ipairs(ev.outs) do sizes[i] = static(ev, g:shape_of(t)[a + 1], 'the split size') end
  if #sizes == 1 then return { g:val(x) } end
  return { g:node('Split', { g:val(x), g:ints(sizes) }, { axis = A.i(a) }, #sizes) }
end
E.split, E.chunk = split, split
function E.split_with_sizes(g, ev) return split(g, ev) end

function E.cat(g, ev)
  local list, d = ev.args[1], ev.args[2]
  if is_tensor(list) then fail(ev, "use torch.cat({a, b, ...}, dim)") end
  if is_opts(d) then d = d.dim end
  local dt = out_dtype(ev)
  local r = ev.outs[1]:dim()
  local inputs = {}
  for _, t in ipairs(list) do
    if not (t:dim() == 1 and t:numel() == 0 and r > 1) then inputs[#inputs + 1] = g:val(t, dt) end
  end
  if #inputs == 1 then return { g:node('Identity', inputs) } end
  return { g:node('Concat', inputs, { axis = A.i(axis(ev, d or 1, r)) }) }
end
E.concat, E.concatenate = E.cat, E.cat
function E.stack(g, ev)
  local list, d = ev.args[1], ev.args[2]
  if is_opts(d) then d = d.dim end
  local dt = out_dtype(ev)
  local a = axis(ev, d or 1, ev.outs[1]:dim())
  local inputs = {}
  for i, t in ipairs(list) do inputs[i] = g:node('Unsqueeze', { g:val(t, dt), g:ints({ a }) }) end
  if #inputs == 1 then return inputs end
  return { g:node('Concat', inputs, { axis = A.i(a) }) }
end
local function tile(g, ev)
  local x = ev.args[1]
  local counts = type(ev.args[2]) == 'table' and ev.args[2] or { unpack(ev.args, 2, ev.args.n) }
  local out_rank = ev.outs[1]:dim()
  local reps = {}
  for i = 1, out_rank do reps[i] = static(ev, counts[#counts - out_rank + i] or 1, 'the repeat count') end
  local v = g:val(x)
  if x:dim() < out_rank then
    local shape = {}
    for i = 1, out_rank - x:dim() do shape[i] = 1 end
    for _, s in ipairs(g:shape_of(x)) do shape[#shape + 1] = s end
    v = g:node('Reshape', { v, g:shape_value(shape, true) })
  end
  return { g:node('Tile', { v, g:ints(reps) }) }
end
E.repeatTensor, E.tile = tile, tile
function E.flip(g, ev)
  local x = ev.args[1]
  local dims = type(ev.args[2]) == 'table' and ev.args[2] or { unpack(ev.args, 2, ev.args.n) }
  local axes, starts, ends, steps = {}, {}, {}, {}
  for i, d in ipairs(dims) do
    axes[i], starts[i], ends[i], steps[i] = axis(ev, d, x:dim()), -1, -9223372036854775807, -1
  end
  -- (INT64_MIN + 1 as the end: "before the first element")
  return { g:node('Slice', { g:val(x), g:ints(starts), g:ints(ends), g:ints(axes), g:ints(steps) }) }
end
local function triangle(upper)
  return function(g, ev)
    local x, k = ev.args[1], static(ev, ev.args[2] or 0, 'the diagonal')
    if g.opset >= 14 then
      return { g:node('Trilu', { g:val(x), g:scalar(k, 'int64') }, { upper = A.i(upper and 1 or 0) }) }
    end
    -- opset 13: a constant mask over the last two (static) dims
    local shape = g:shape_of(x)
    local m, n = static(ev, shape[#shape - 1], 'the rows'), static(ev, shape[#shape], 'the columns')
    local torch = core.torch
    local mask = torch.ones(m, n, { dtype = 'bool' })
    mask = upper and mask:triu(k) or mask:tril(k)
    local dt = x:dtype()
    return { g:node('Where', { g:val(mask), g:val(x), g:scalar(0, dt) }) }
  end
end
E.tril, E.triu = triangle(false), triangle(true)

-- ---------------------------------------------------------------- indexing

-- 1-based index tensors as 0-based int64 ONNX indices.
local function zero_based(g, idx)
  return g:node('Sub', { g:val(idx, 'int64'), g:scalar(1, 'int64') })
end
M.zero_based = zero_based
function E.index_select(g, ev)
  local x, d, idx = ev.args[1], ev.args[2], ev.args[3]
  return { g:node('Gather', { g:val(x), zero_based(g, idx) }, { axis = A.i(axis(ev, d, x:dim())) }) }
end
function E.gather(g, ev)
  local x, d, idx = ev.args[1], ev.args[2], ev.args[3]
  return { g:node('GatherElements', { g:val(x), zero_based(g, idx) }, { axis = A.i(axis(ev, d, x:dim())) }) }
end
function E.take(g, ev)
  local x, idx = ev.args[1], ev.args[2]
  return { g:node('Gather', { g:node('Reshape', { g:val(x), g:ints({ -1 }) }), zero_based(g, idx) }, { axis = A.i(0) }) }
end

-- scatter(dim, index, src): ScatterElements (a number src is expanded to the index's shape); scatter_add from
-- opset 16 (ScatterElements with reduction='add').
local function scatter(add)
  return function(g, ev)
    local x, d, idx, src, reduce = ev.args[1], ev.args[2], ev.args[3], ev.args[4], ev.args[5]
    if reduce ~= nil and not (is_opts(reduce) and reduce.reduce == nil) then fail(ev, 'scatter with reduce is not supported') end
    local dt = out_dtype(ev)
    local attrs = { axis = A.i(axis(ev, d, x:dim())) }
    if add then
      if g.opset < 16 then fail(ev, 'scatter_add needs opset 16 or later (ScatterElements with reduction)') end
      attrs.reduction = A.s('add')
    end
    local updates
    if is_tensor(src) then
      updates = g:val(src, dt)
      if not src:is_same_size(idx) then
        -- PyTorch reads only the index's extent of src
        local starts = {}
        for i = 1, idx:dim() do starts[i] = 0 end
        updates = g:node('Slice', { updates, g:ints(starts), g:node('Shape', { g:val(idx) }) })
      end
    else
      updates = g:node('Expand', { g:val(src, dt), g:node('Shape', { g:val(idx) }) })
    end
    return { g:node('ScatterElements', { g:val(x, dt), zero_based(g, idx), updates }, attrs) }
  end
end
E.scatter, E.scatter_add = scatter(false), scatter(true)
-- roll(shifts, dims): two Slices concatenated per dim (static sizes)
function E.roll(g, ev)
  local x, shifts, dims = ev.args[1], ev.args[2], ev.args[3]
  shifts = type(shifts) == 'table' and shifts or { shifts }
  local v = g:val(x)
  local flat = dims == nil
  local shape = g:shape_of(x)
  if flat then
    local n = 1
    for _, sz in ipairs(shape) do n = n * static(ev, sz, 'the size') end
    v, dims, shape = g:node('Reshape', { v, g:ints({ -1 }) }), { 1 }, { n }
  end
  dims = type(dims) == 'table' and dims or { dims }
  for i, d in ipairs(dims) do
    local a = axis(ev, d, #shape)
    local n = static(ev, shape[a + 1], 'the rolled size')
    local k = static(ev, shifts[i], 'the shift') % math.max(n, 1)
    if k ~= 0 then
      local tail = g:node('Slice', { v, g:ints({ n - k }), g:ints({ n }), g:ints({ a }) })
      local head = g:node('Slice', { v, g:ints({ 0 }), g:ints({ n - k }), g:ints({ a }) })
      v = g:node('Concat', { tail, head }, { axis = A.i(a) })
    end
  end
  if flat then v = g:node('Reshape', { v, g:node('Shape', { g:val(x) }) }) end
  return { v }
end

-- ---------------------------------------------------------------- linear algebra

local function matmul(g, ev)
  local dt = out_dtype(ev)
  return { g:node('MatMul', { g:val(ev.args[1], dt), g:val(ev.args[2], dt) }) }
end
E.mm, E.bmm, E.matmul, E.mv, E.dot, E.inner = matmul, matmul, matmul, matmul, matmul, matmul
function E.outer(g, ev)
  local dt = out_dtype(ev)
  local a = g:node('Unsqueeze', { g:val(ev.args[1], dt), g:ints({ 1 }) })
  return { g:node('Mul', { a, g:val(ev.args[2], dt) }) }
end
E.ger = E.outer
local function beta_alpha(ev, i)
  local beta, alpha = ev.args[i], ev.args[i + 1]
  if is_opts(beta) then beta, alpha = beta.beta, beta.alpha end
  return static(ev, beta or 1, 'beta'), static(ev, alpha or 1, 'alpha')
end
-- addmm(input, a, b, beta, alpha): Gemm
function E.addmm(g, ev)
  local dt = out_dtype(ev)
  local beta, alpha = beta_alpha(ev, 4)
  return { g:node('Gemm', { g:val(ev.args[2], dt), g:val(ev.args[3], dt), g:val(ev.args[1], dt) },
                  { alpha = A.f(alpha), beta = A.f(beta) }) }
end
-- baddbmm/addmv/addbmm-like: beta * input + alpha * product
local function add_product(reduce_batch)
  return function(g, ev)
    local dt = out_dtype(ev)
    local beta, alpha = beta_alpha(ev, 4)
    local p = g:node('MatMul', { g:val(ev.args[2], dt), g:val(ev.args[3], dt) })
    if reduce_batch then p = g:node('ReduceSum', { p, g:ints({ 0 }) }, { keepdims = A.i(0) }) end
    if alpha ~= 1 then p = g:node('Mul', { p, g:scalar(alpha, dt) }) end
    local input = g:val(ev.args[1], dt)
    if beta == 0 then return { p } end
    if beta ~= 1 then input = g:node('Mul', { input, g:scalar(beta, dt) }) end
    return { g:node('Add', { input, p }) }
  end
end
E.baddbmm, E.addmv, E.addbmm = add_product(false), add_product(false), add_product(true)
function E.einsum(g, ev)
  local eq = ev.args[1]
  local list = is_tensor(ev.args[2]) and { unpack(ev.args, 2, ev.args.n) } or ev.args[2]
  local dt = out_dtype(ev)
  local inputs = {}
  for i, t in ipairs(list) do inputs[i] = g:val(t, dt) end
  return { g:node('Einsum', inputs, { equation = A.s((eq:gsub('%s', ''))) }) }
end

-- ---------------------------------------------------------------- reductions

-- A reduction node: ReduceSum takes its axes as an input from opset 13, the others from opset 18.
local function reduce_node(g, op, x, axes, keepdim)
  local attrs = { keepdims = A.i(keepdim and 1 or 0) }
  if axes == nil then return g:node(op, { x }, attrs) end
  if op == 'ReduceSum' or g.opset >= 18 then return g:node(op, { x, g:ints(axes) }, attrs) end
  attrs.axes = A.ints(axes)
  return g:node(op, { x }, attrs)
end
M.reduce_node = reduce_node

local function reduce_axes(ev, x, dim)
  if dim == nil then return nil end
  local dims = type(dim) == 'table' and dim or { dim }
  local axes = {}
  for i, d in ipairs(dims) do axes[i] = axis(ev, d, x:dim()) end
  table.sort(axes)
  return axes
end

local function reduction(op, cast_input)
  return function(g, ev)
    local reduce = require 'tensor.reduce'
    local x = ev.args[1]
    local dim, keepdim = reduce.read_args(ev.name, ev.args[2], ev.args[3], ev.args[4])
    local dt = out_dtype(ev)
    local v = g:val(x, cast_input and dt or nil)
    return { reduce_node(g, op, v, reduce_axes(ev, x, dim), keepdim) }
  end
end
E.sum, E.mean, E.prod = reduction('ReduceSum', true), reduction('ReduceMean', true), reduction('ReduceProd', true)
E.amax, E.amin = reduction('ReduceMax'), reduction('ReduceMin')
E.logsumexp = reduction('ReduceLogSumExp', true)
-- max/min: over everything (a 0-d tensor in grad mode), over a dim (values and 1-based indices), or element-wise
local function extreme(op, arg_op, elementwise)
  return function(g, ev)
    local reduce = require 'tensor.reduce'
    local x = ev.args[1]
    if is_tensor(ev.args[2]) then
      local dt = out_dtype(ev)
      return { g:node(elementwise, { g:val(x, dt), g:val(ev.args[2], dt) }) }
    end
    local dim, keepdim = reduce.read_args(ev.name, ev.args[2], ev.args[3], ev.args[4])
    local v = g:val(x)
    if dim == nil then return { reduce_node(g, op, v, nil, keepdim) } end
    local a = axis(ev, dim, x:dim())
    local values = reduce_node(g, op, v, { a }, keepdim)
    if #ev.outs < 2 then return { values } end
    local idx = g:node(arg_op, { v }, { axis = A.i(a), keepdims = A.i(keepdim and 1 or 0) })
    return { values, g:node('Add', { idx, g:scalar(1, 'int64') }) }
  end
end
E.max, E.min = extreme('ReduceMax', 'ArgMax', 'Max'), extreme('ReduceMin', 'ArgMin', 'Min')
local function argext(op)
  return function(g, ev)
    local reduce = require 'tensor.reduce'
    local x = ev.args[1]
    local dim, keepdim = reduce.read_args(ev.name, ev.args[2], ev.args[3], ev.args[4])
    local v = g:val(x)
    local a = 0
    if dim == nil then v = g:node('Reshape', { v, g:ints({ -1 }) }) else a = axis(ev, dim, x:dim()) end
    local idx = g:node(op, { v }, { axis = A.i(a), keepdims = A.i((keepdim and dim ~= nil) and 1 or 0) })
    return { g:node('Add', { idx, g:scalar(1, 'int64') }) }
  end
end
E.argmax, E.argmin = argext('ArgMax'), argext('ArgMin')
local function logical_reduce(op)
  return function(g, ev)
    local reduce = require 'tensor.reduce'
    local x = ev.args[1]
    local dim, keepdim = reduce.read_args(ev.name, ev.args[2], ev.args[3], ev.args[4])
    local v = g:val(x, 'bool')
    v = g:cast(v, 'bool', 'int32')
    return { g:cast(reduce_node(g, op, v, reduce_axes(ev, x, dim), keepdim), 'int32', 'bool') }
  end
end
E.all, E.any = logical_reduce('ReduceMin'), logical_reduce('ReduceMax')
function E.norm(g, ev)
  local reduce = require 'tensor.reduce'
  local x, p, dim, keepdim, opts = ev.args[1], ev.args[2], ev.args[3], ev.args[4], ev.args[5]
  if is_opts(p) then
    opts = p
    p, dim, keepdim = opts.p, opts.dim, opts.keepdim
  end
  dim, keepdim, opts = reduce.read_args('norm', dim, keepdim, opts)
  if opts and opts.p ~= nil and p == nil then p = opts.p end
  if p == nil or p == 'fro' then p = 2 elseif p == 'inf' then p = math.huge elseif p == '-inf' then p = -math.huge end
  local dt = out_dtype(ev)
  local v = g:val(x, dt)
  local axes = reduce_axes(ev, x, dim)
  if p == 2 then return { reduce_node(g, 'ReduceL2', v, axes, keepdim) } end
  if p == 1 then return { reduce_node(g, 'ReduceL1', v, axes, keepdim) } end
  if p == math.huge then return { reduce_node(g, 'ReduceMax', g:node('Abs', { v }), axes, keepdim) } end
  if p == -math.huge then return { reduce_node(g, 'ReduceMin', g:node('Abs', { v }), axes, keepdim) } end
  if p == 0 then
    local nz = g:cast(g:node('Not', { g:node('Equal', { v, g:scalar(0, dt) }) }), 'bool', dt)
    return { reduce_node(g, 'ReduceSum', nz, axes, keepdim) }
  end
  local s = reduce_node(g, 'ReduceSum', g:node('Pow', { g:node('Abs', { v }), g:scalar(p, dt) }), axes, keepdim)
  return { g:node('Pow', { s, g:scalar(1 / p, dt) }) }
end
-- var/std: the mean of squared deviations, scaled by n / (n - correction)
local function spread(is_std)
  return function(g, ev)
    local reduce = require 'tensor.reduce'
    local x = ev.args[1]
    local dim, keepdim, opts = reduce.var_args(ev.name, ev.args[2], ev.args[3], ev.args[4])
    local correction = reduce.correction_of(ev.name, opts)
    local dt = out_dtype(ev)
    local v = g:val(x, dt)
    local axes = reduce_axes(ev, x, dim)
    local shape = g:shape_of(x)
    local n = 1
    for i, s in ipairs(shape) do
      local reduced = axes == nil
      if axes then for _, a in ipairs(axes) do if a == i - 1 then reduced = true end end end
      if reduced then n = n * value(static(ev, s, 'the reduced size')) end
    end
    local mean = reduce_node(g, 'ReduceMean', v, axes, true)
    local d = g:node('Sub', { v, mean })
    local var = reduce_node(g, 'ReduceMean', g:node('Mul', { d, d }), axes, keepdim)
    if correction ~= 0 then var = g:node('Mul', { var, g:scalar(n / (n - correction), dt) }) end
    if is_std then var = g:node('Sqrt', { var }) end
    return { var }
  end
end
E.var, E.std = spread(false), spread(true)
function E.cumsum(g, ev)
  local x, d = ev.args[1], ev.args[2]
  if is_opts(d) then d = d.dim end
  local dt = out_dtype(ev)
  return { g:node('CumSum', { g:val(x, dt), g:scalar(axis(ev, d, x:dim()), 'int64') }) }
end

-- sort/argsort/topk: TopK (stable for ties, lower indices first, as our sort), indices shifted to 1-based.
local function topk_node(g, ev, x, k, d, largest)
  local a = axis(ev, d or -1, math.max(x:dim(), 1))
  local values, indices = g:node('TopK', { g:val(x), g:dim(k) }, { axis = A.i(a), largest = A.i(largest and 1 or 0),
                                                                    sorted = A.i(1) }, 2)
  return values, g:node('Add', { indices, g:scalar(1, 'int64') })
end
local function sort_like(indices_only)
  return function(g, ev)
    local x, d, desc = ev.args[1], ev.args[2], ev.args[3]
    if is_opts(d) then d, desc = d.dim, d.descending elseif is_opts(desc) then desc = desc.descending end
    local a = axis(ev, d or -1, math.max(x:dim(), 1))
    local k = x:dim() == 0 and 1 or g:shape_of(x)[a + 1]
    local values, indices = topk_node(g, ev, x, k, d, desc == true)
    if indices_only then return { indices } end
    return { values, indices }
  end
end
E.sort, E.argsort = sort_like(false), sort_like(true)
function E.topk(g, ev)
  local x, k, d, largest = ev.args[1], ev.args[2], ev.args[3], ev.args[4]
  if is_opts(k) then k, d, largest = k.k, k.dim, k.largest
  elseif is_opts(d) then d, largest = d.dim, d.largest
  elseif is_opts(largest) then largest = largest.largest end
  return { topk_node(g, ev, x, k, d, largest ~= false) }
end

-- ---------------------------------------------------------------- creation from traced tensors

local function like(fill)
  return function(g, ev)
    local x = ev.args[1]
    local dt = out_dtype(ev)
    local v = fill
    if v == nil then
      v = ev.args[2]
      if is_opts(v) then v = v.value end
      v = static(ev, v, 'the fill value')
    end
    local torch = core.torch
    local one = torch.tensor({ v }, { dtype = dt })
    return { g:node('ConstantOfShape', { g:node('Shape', { g:val(x) }) },
                    { value = A.t({ name = 'value', dims = { 1 }, data_type = require('tensor.onnx.proto').DTYPE[dt],
                                    raw_data = graph.raw_bytes(one) }) }) }
  end
end
E.zeros_like, E.ones_like, E.full_like, E.empty_like = like(0), like(1), like(nil), like(0)

-- ---------------------------------------------------------------- nn.functional

-- Options of an F function given positionally (named by names, starting at argument i) or as one table.
local function options(ev, i, names)
  local first = ev.args[i]
  if is_opts(first) then return first end
  local o = {}
  for k, name in ipairs(names) do
    local v = ev.args[i + k - 1]
    if v ~= nil then o[name] = v end
  end
  return o
end

local function per_dim(ev, v, n, what)
  local t = {}
  for i = 1, n do
    local x = type(v) == 'table' and v[i] or v
    t[i] = static(ev, x, what)
  end
  return t
end

-- F.linear(x, w, b): Gemm for a 2-d input, MatMul + Add otherwise.
function EF.linear(g, ev)
  local x, w, b = ev.args[1], ev.args[2], ev.args[3]
  local dt = out_dtype(ev)
  if x:dim() == 2 then
    local inputs = { g:val(x, dt), g:val(w, dt) }
    if b ~= nil then inputs[3] = g:val(b, dt) end
    return { g:node('Gemm', inputs, { transB = A.i(1) }) }
  end
  local y = g:node('MatMul', { g:val(x, dt), transpose(g, g:val(w, dt), { 1, 0 }) })
  if b ~= nil then y = g:node('Add', { y, g:val(b, dt) }) end
  return { y }
end
function EF.bilinear(g, ev)
  local x1, x2, w, b = ev.args[1], ev.args[2], ev.args[3], ev.args[4]
  local dt = out_dtype(ev)
  local y = g:node('Einsum', { g:val(x1, dt), g:val(w, dt), g:val(x2, dt) }, { equation = A.s('...i,oij,...j->...o') })
  if b ~= nil then y = g:node('Add', { y, g:val(b, dt) }) end
  return { y }
end

-- Batch a [C x ...] input of a batched-only ONNX op (and unbatch its result).
local function batched(g, x, nsp)
  if x:dim() == nsp + 1 then return g:node('Unsqueeze', { g:val(x), g:ints({ 0 }) }), true end
  return g:val(x), false
end
local function unbatched(g, y, was) if was then return g:node('Squeeze', { y, g:ints({ 0 }) }) end return y end

local function conv(nsp, transposed)
  local names = transposed and { 'stride', 'padding', 'output_padding', 'groups', 'dilation' }
    or { 'stride', 'padding', 'dilation', 'groups' }
  return function(g, ev)
    local x, w, b = ev.args[1], ev.args[2], ev.args[3]
    local o = options(ev, 4, names)
    local dt = out_dtype(ev)
    local xv, was = batched(g, x, nsp)
    xv = g:cast(xv, x:dtype(), dt)
    local wshape = w:shape()
    local kernel = {}
    for i = 1, nsp do kernel[i] = wshape[2 + i] end
    local stride = per_dim(ev, o.stride or 1, nsp, 'the stride')
    local dilation = per_dim(ev, o.dilation or 1, nsp, 'the dilation')
    local pads = {}
    if o.padding == 'same' then
      for i = 1, nsp do
        local total = dilation[i] * (kernel[i] - 1)
        pads[i], pads[nsp + i] = math.floor(total / 2), total - math.floor(total / 2)
      end
    elseif o.padding == 'valid' then
      for i = 1, 2 * nsp do pads[i] = 0 end
    else
      local p = per_dim(ev, o.padding or 0, nsp, 'the padding')
      for i = 1, nsp do pads[i], pads[nsp + i] = p[i], p[i] end
    end
    local attrs = { kernel_shape = A.ints(kernel), strides = A.ints(stride), pads = A.ints(pads),
                    dilations = A.ints(dilation), group = A.i(static(ev, o.groups or 1, 'groups')) }
    if transposed then attrs.output_padding = A.ints(per_dim(ev, o.output_padding or 0, nsp, 'output_padding')) end
    local inputs = { xv, g:val(w, dt) }
    if b ~= nil then inputs[3] = g:val(b, dt) end
    return { unbatched(g, g:node(transposed and 'ConvTranspose' or 'Conv', inputs, attrs), was) }
  end
end
EF.conv1d, EF.conv2d = conv(1), conv(2)
EF.conv_transpose1d, EF.conv_transpose2d = conv(1, true), conv(2, true)

local function pool(nsp, kind)
  local names = kind == 'max' and { 'stride', 'padding', 'dilation', 'ceil_mode', 'return_indices' }
    or { 'stride', 'padding', 'ceil_mode', 'count_include_pad', 'divisor_override' }
  return function(g, ev)
    local x, kernel = ev.args[1], ev.args[2]
    local o = options(ev, 3, names)
    if o.return_indices then fail(ev, 'return_indices=true is not supported') end
    if o.divisor_override then fail(ev, 'divisor_override is not supported') end
    local xv, was = batched(g, x, nsp)
    local k = per_dim(ev, kernel, nsp, 'the kernel size')
    local stride = per_dim(ev, o.stride or kernel, nsp, 'the stride')
    local p = per_dim(ev, o.padding or 0, nsp, 'the padding')
    local pads = {}
    for i = 1, nsp do pads[i], pads[nsp + i] = p[i], p[i] end
    local attrs = { kernel_shape = A.ints(k), strides = A.ints(stride), pads = A.ints(pads),
                    ceil_mode = A.i(o.ceil_mode and 1 or 0) }
    if kind == 'max' then
      local dil = per_dim(ev, o.dilation or 1, nsp, 'the dilation')
      for _, d in ipairs(dil) do if d ~= 1 then attrs.dilations = A.ints(dil) end end
      return { unbatched(g, g:node('MaxPool', { xv }, attrs), was) }
    end
    attrs.count_include_pad = A.i(o.count_include_pad == false and 0 or 1)
    return { unbatched(g, g:node('AveragePool', { xv }, attrs), was) }
  end
end
EF.max_pool1d, EF.max_pool2d = pool(1, 'max'), pool(2, 'max')
EF.avg_pool1d, EF.avg_pool2d = pool(1, 'avg'), pool(2, 'avg')

local function adaptive(nsp, kind)
  return function(g, ev)
    local x, size, ri = ev.args[1], ev.args[2], ev.args[3]
    if is_opts(ri) then ri = ri.return_indices end
    if ri then fail(ev, 'return_indices=true is not supported') end
    local xv, was = batched(g, x, nsp)
    local shape = x:shape()
    local global, kernel = true, {}
    for i = 1, nsp do
      local inp = shape[#shape - nsp + i]
      local out = type(size) == 'table' and size[i] or size
      if out == nil then out = inp end
      out = static(ev, out, 'the output size')
      if out ~= 1 then global = false end
      if inp % out ~= 0 then
        fail(ev, 'an input size %d that the output size %d does not divide is not supported', inp, out)
      end
      kernel[i] = inp / out
    end
    local op = kind == 'max' and 'MaxPool' or 'AveragePool'
    if global then return { unbatched(g, g:node('Global' .. op, { xv }), was) } end
    local pads = {}
    for i = 1, 2 * nsp do pads[i] = 0 end
    return { unbatched(g, g:node(op, { xv }, { kernel_shape = A.ints(kernel), strides = A.ints(kernel),
                                              pads = A.ints(pads) }), was) }
  end
end
EF.adaptive_avg_pool1d, EF.adaptive_avg_pool2d = adaptive(1, 'avg'), adaptive(2, 'avg')
EF.adaptive_max_pool1d, EF.adaptive_max_pool2d = adaptive(1, 'max'), adaptive(2, 'max')

local function softmax(op)
  return function(g, ev)
    local x, d = ev.args[1], ev.args[2]
    if is_opts(d) then d = d.dim end
    local dt = out_dtype(ev)
    return { g:node(op, { g:val(x, dt) }, { axis = A.i(axis(ev, d or -1, x:dim())) }) }
  end
end
EF.softmax, EF.log_softmax = softmax('Softmax'), softmax('LogSoftmax')
E.softmax, E.log_softmax = EF.softmax, EF.log_softmax

-- A per-channel parameter [C] shaped to broadcast over [N x C x d...] (rank r).
local function channel_shaped(g, v, c, r)
  local shape = { c }
  for i = 3, r do shape[#shape + 1] = 1 end
  return g:node('Reshape', { v, g:ints(shape) })
end

function EF.layer_norm(g, ev)
  local x, shape, w, b, eps = ev.args[1], ev.args[2], ev.args[3], ev.args[4], ev.args[5]
  if is_opts(w) then w, b, eps = w.weight, w.bias, w.eps end
  eps = static(ev, eps or 1e-5, 'eps')
  local n = type(shape) == 'table' and #shape or 1
  local dt = out_dtype(ev)
  local torch = core.torch
  local xv = g:val(x, dt)
  if g.opset >= 17 then
    local norm_shape = type(shape) == 'table' and shape or { shape }
    local scale = w ~= nil and g:val(w, dt) or g:val(torch.ones(norm_shape, { dtype = dt }))
    local inputs = { xv, scale }
    if b ~= nil then inputs[3] = g:val(b, dt) end
    return { g:node('LayerNormalization', inputs, { axis = A.i(-n), epsilon = A.f(eps) }) }
  end
  local axes = {}
  for i = 1, n do axes[i] = x:dim() - n + i - 1 end
  local mean = reduce_node(g, 'ReduceMean', xv, axes, true)
  local d = g:node('Sub', { xv, mean })
  local var = reduce_node(g, 'ReduceMean', g:node('Mul', { d, d }), axes, true)
  local y = g:node('Div', { d, g:node('Sqrt', { g:node('Add', { var, g:scalar(eps, dt) }) }) })
  if w ~= nil then y = g:node('Mul', { y, g:val(w, dt) }) end
  if b ~= nil then y = g:node('Add', { y, g:val(b, dt) }) end
  return { y }
end

function EF.batch_norm(g, ev)
  local x, rm, rv, w, b, training, momentum, eps = unpack(ev.args, 1, 8)
  if is_opts(w) then w, b, training, eps = w.weight, w.bias, w.training, w.eps end
  eps = static(ev, eps or 1e-5, 'eps')
  local dt = out_dtype(ev)
  local torch = core.torch
  local c = x:size(2)
  local xv = g:val(x, dt)
  local r = x:dim()
  if training == true or rm == nil or rv == nil then
    -- batch statistics (a BatchNorm without running statistics): normalise over every dim but the channels
    local axes = { 0 }
    for i = 3, r do axes[#axes + 1] = i - 1 end
    local mean = reduce_node(g, 'ReduceMean', xv, axes, true)
    local d = g:node('Sub', { xv, mean })
    local var = reduce_node(g, 'ReduceMean', g:node('Mul', { d, d }), axes, true)
    local y = g:node('Div', { d, g:node('Sqrt', { g:node('Add', { var, g:scalar(eps, dt) }) }) })
    if w ~= nil then y = g:node('Mul', { y, channel_shaped(g, g:val(w, dt), c, r) }) end
    if b ~= nil then y = g:node('Add', { y, channel_shaped(g, g:val(b, dt), c, r) }) end
    return { y }
  end
  local scale = w ~= nil and g:val(w, dt) or g:val(torch.ones(c, { dtype = dt }))
  local bias = b ~= nil and g:val(b, dt) or g:val(torch.zeros(c, { dtype = dt }))
  local was2d = r == 2
  if was2d then xv = g:node('Unsqueeze', { xv, g:ints({ 2 }) }) end
  local y = g:node('BatchNormalization', { xv, scale, bias, g:val(rm, dt), g:val(rv, dt) }, { epsilon = A.f(eps) })
  if was2d then y = g:node('Squeeze', { y, g:ints({ 2 }) }) end
  return { y }
end

function EF.group_norm(g, ev)
  local x, groups, w, b, eps = ev.args[1], ev.args[2], ev.args[3], ev.args[4], ev.args[5]
  if is_opts(w) then w, b, eps = w.weight, w.bias, w.eps end
  eps = static(ev, eps or 1e-5, 'eps')
  groups = static(ev, groups, 'num_groups')
  local dt = out_dtype(ev)
  local xv = g:val(x, dt)
  local r, c = x:dim(), x:size(2)
  -- [N x C x ...] -> [N x G x rest]: normalise each group, then back to x's shape
  local grouped = g:node('Reshape', { xv, g:ints({ 0, groups, -1 }) })
  local mean = reduce_node(g, 'ReduceMean', grouped, { 2 }, true)
  local d = g:node('Sub', { grouped, mean })
  local var = reduce_node(g, 'ReduceMean', g:node('Mul', { d, d }), { 2 }, true)
  local y = g:node('Div', { d, g:node('Sqrt', { g:node('Add', { var, g:scalar(eps, dt) }) }) })
  y = g:node('Reshape', { y, g:node('Shape', { xv }) })
  if w ~= nil then y = g:node('Mul', { y, channel_shaped(g, g:val(w, dt), c, r) }) end
  if b ~= nil then y = g:node('Add', { y, channel_shaped(g, g:val(b, dt), c, r) }) end
  return { y }
end

-- Dropout exports as the identity (an exported model is for inference).
function EF.dropout(g, ev)
  g:warn(ev, 'F.dropout with training=true exports as the identity (inference)')
  return { g:val(ev.args[1]) }
end

-- F.embedding(ids, weight): Gather with the 1-based ids shifted to 0-based.
function EF.embedding(g, ev)
  local ids, w = ev.args[1], ev.args[2]
  return { g:node('Gather', { g:val(w, out_dtype(ev)), zero_based(g, ids) }, { axis = A.i(0) }) }
end

-- ---------------------------------------------------------------- lookup

-- ops.lookup(key, name) -> exporter or nil
-- The exporter of an intercepted function: key is 'Tensor.<name>', 'torch.<name>', 'F.<name>' or
-- 'torch.linalg.<name>'; in-place methods (name ending in '_') share their out-of-place exporter.
function M.lookup(key, name)
  local e = BY_KEY[key]
  if e then return e end
  local ns = key:sub(1, #key - #name - 1)
  local base = name
  if base:sub(-1) == '_' then base = base:sub(1, -2) end
  if ns == 'Tensor' then
    if name == 'where' then return nil end -- x:where(cond, y) calls torch.where
    return E[base]
  elseif ns == 'torch' then
    return E[base]
  elseif ns == 'F' then
    return EF[name]
  end
  return nil
end

--- onnx.ops.supported() -> list of names
-- The names of the ops that export (Tensor methods and torch functions by name, nn.functional's as F.<name>), sorted.
-- Functions not listed export too when they are made of listed ops (F.mish, F.one_hot, ...).
function M.supported()
  local torch, Tensor = core.torch, core.Tensor
  local F = require 'tensor.nn.functional'
  local list = {}
  for name in pairs(E) do
    if Tensor[name] ~= nil or torch[name] ~= nil then list[#list + 1] = name end
  end
  for key in pairs(BY_KEY) do list[#list + 1] = key:gsub('^torch%.', '') end
  for name in pairs(EF) do
    if F[name] ~= nil then list[#list + 1] = 'F.' .. name end
  end
  table.sort(list)
  return list
end

M.E, M.EF, M.options, M.axis, M.static, M.fail = E, EF, options, axis, static, fail

return M
