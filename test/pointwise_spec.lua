-- Element-wise ops against PyTorch: unary, binary, ternary, comparisons; broadcasting, non-contiguous and
-- expanded inputs, empty and 0-d tensors; PyTorch's type promotion (Lua numbers act as Python numbers);
-- in-place and out= forms; errors.
local torch = require 'tensor'
local ref = require 'helpers.torchref'

torch.manual_seed(1234)

-- Inputs in an op's domain, in a few layouts: contiguous, transposed, expanded (stride 0), empty, 0-d.
local function layouts(dtype, lo, hi)
  local function rand(...)
    local t = torch.rand(...):mul_(hi - lo):add_(lo)
    return dtype == 'int64' and t:round():long() or t:to(dtype)
  end
  return {
    rand(3, 4),
    rand(4, 3):t(),
    rand(1, 5):expand(3, 5),
    rand(0, 3),
    rand({}),
    rand(2, 3, 4):narrow(3, 2, 2),
  }
end

local cases = {}
local function case(name, lua_fn, python, inputs, tol)
  cases[#cases + 1] = { name = name, fn = lua_fn, python = python, inputs = inputs, tol = tol }
end

-- ---- unary ops: name, domain, PyTorch expression, dtypes ----
local unary = {
  { 'neg', -3, 3 }, { 'abs', -3, 3 }, { 'sign', -3, 3 }, { 'exp', -20, 20 }, { 'exp2', -10, 10 },
  { 'expm1', -3, 3 }, { 'log', 0.01, 100 }, { 'log2', 0.01, 100 }, { 'log10', 0.01, 100 },
  { 'log1p', -0.9, 10 }, { 'sqrt', 0, 100 }, { 'rsqrt', 0.01, 100 }, { 'sin', -10, 10 }, { 'cos', -10, 10 },
  { 'tan', -1.5, 1.5 }, { 'asin', -0.99, 0.99 }, { 'acos', -0.99, 0.99 }, { 'atan', -10, 10 },
  { 'sinh', -5, 5 }, { 'cosh', -5, 5 }, { 'tanh', -10, 10 }, { 'sigmoid', -30, 30 },
  { 'relu', -3, 3 }, { 'silu', -8, 8 }, { 'erf', -4, 4 }, { 'erfc', -4, 4 }, { 'floor', -5, 5 },
  { 'ceil', -5, 5 }, { 'round', -5, 5 }, { 'trunc', -5, 5 }, { 'frac', -5, 5 }, { 'reciprocal', 0.1, 5 },
  { 'square', -5, 5 },
}
local python_name = { relu = 'torch.relu', silu = 'torch.nn.functional.silu' }
for _, u in ipairs(unary) do
  local name, lo, hi = u[1], u[2], u[3]
  for _, dtype in ipairs({ 'float32', 'float64' }) do
    for i, x in ipairs(layouts(dtype, lo, hi)) do
      case(name .. ' ' .. dtype .. ' layout ' .. i, function(a) return a[name](a) end,
           (python_name[name] or ('torch.' .. name)) .. '(a)', { a = x }, ref.tolerance(dtype))
    end
  end
end
-- integer inputs: same-dtype ops keep int64, float-valued ops promote to the default float
for _, name in ipairs({ 'neg', 'abs', 'sign', 'relu', 'floor', 'square', 'exp', 'sqrt', 'sigmoid' }) do
  local x = layouts('int64', -5, 5)[1]
  if name == 'sqrt' then x = x:abs() end
  case(name .. ' int64', function(a) return a[name](a) end, (python_name[name] or ('torch.' .. name)) .. '(a)',
       { a = x }, { atol = 1e-6, rtol = 1e-6 })
end
-- activations with parameters
local x = torch.randn(6, 7):mul_(4)
case('leaky_relu', function(a) return a:leaky_relu(0.2) end, 'torch.nn.functional.leaky_relu(a, 0.2)', { a = x })
case('elu', function(a) return a:elu(1.5) end, 'torch.nn.functional.elu(a, 1.5)', { a = x })
case('gelu', function(a) return a:gelu() end, 'torch.nn.functional.gelu(a)', { a = x })
case('gelu tanh', function(a) return a:gelu({ approximate = 'tanh' }) end,
     "torch.nn.functional.gelu(a, approximate='tanh')", { a = x })
case('softplus', function(a) return a:softplus(2, 5) end, 'torch.nn.functional.softplus(a, 2, 5)', { a = x })
case('logsigmoid', function(a) return a:logsigmoid() end, 'torch.nn.functional.logsigmoid(a)', { a = x })
case('clamp', function(a) return a:clamp(-1, 2) end, 'a.clamp(-1, 2)', { a = x })
case('clamp min only', function(a) return a:clamp({ min = 0.5 }) end, 'a.clamp(min=0.5)', { a = x })
case('clamp int', function(a) return a:clamp(-2, 3) end, 'a.clamp(-2, 3)', { a = x:long() })
case('clamp tensor bounds', function(a, lo) return a:clamp(lo, lo + 1) end, 'torch.max(torch.min(a, lo + 1), lo)',
     { a = x, lo = torch.randn(1, 7) })
-- 16-bit floats compute in float32 and round once (PyTorch's CPU kernels lack some float16 ops, so the
-- reference computes in float32 and rounds the same way)
for _, dtype in ipairs({ 'float16', 'bfloat16' }) do
  local h = torch.randn(5, 6):to(dtype)
  for _, name in ipairs({ 'exp', 'tanh', 'sigmoid', 'neg', 'abs' }) do
    case(name .. ' ' .. dtype, function(a) return a[name](a) end, 'torch.' .. name .. '(a.float()).to(a.dtype)', { a = h },
         ref.tolerance(dtype))
  end
  case('add ' .. dtype, function(a, b) return a + b end, '(a.float() + b.float()).to(a.dtype)', { a = h, b = torch.randn(5, 6):to(dtype) },
       ref.tolerance(dtype))
end
-- special values
local special = torch.tensor({ 0, -0.0, 1 / 0, -1 / 0, 0 / 0, 1e-40, -1e-40, 88.7, -103, 1e30 })
for _, name in ipairs({ 'exp', 'log', 'tanh', 'sigmoid', 'erf', 'sqrt', 'relu', 'abs', 'isnan', 'isinf', 'isfinite',
                        'signbit', 'logical_not', 'sign' }) do
  case(name .. ' special values', function(a) return a[name](a) end, 'torch.' .. name .. '(a)', { a = special },
       { atol = 1e-6, rtol = 1e-5 })
end

-- ---- binary ops ----
local a, b = torch.randn(3, 4), torch.randn(3, 4)
local pos = torch.rand(3, 4):add_(0.5)
local binary = {
  { 'add', 'a + b' }, { 'sub', 'a - b' }, { 'mul', 'a * b' }, { 'div', 'a / b' }, { 'maximum', 'torch.maximum(a, b)' },
  { 'minimum', 'torch.minimum(a, b)' }, { 'atan2', 'torch.atan2(a, b)' }, { 'fmod', 'torch.fmod(a, b)' },
  { 'remainder', 'torch.remainder(a, b)' }, { 'floor_divide', 'torch.floor_divide(a, b)' },
  { 'eq', 'a == b' }, { 'ne', 'a != b' }, { 'lt', 'a < b' }, { 'le', 'a <= b' }, { 'gt', 'a > b' }, { 'ge', 'a >= b' },
  { 'logical_and', 'torch.logical_and(a, b)' }, { 'logical_or', 'torch.logical_or(a, b)' },
  { 'logical_xor', 'torch.logical_xor(a, b)' },
}
for _, op in ipairs(binary) do
  local name, expr = op[1], op[2]
  case(name .. ' same shape', function(x, y) return x[name](x, y) end, expr, { a = a, b = b })
  case(name .. ' broadcast', function(x, y) return x[name](x, y) end, expr,
       { a = torch.randn(2, 1, 4), b = torch.randn(3, 1) })
  case(name .. ' transposed', function(x, y) return x[name](x, y) end, expr,
       { a = torch.randn(4, 3):t(), b = torch.randn(3, 4) })
  case(name .. ' float64', function(x, y) return x[name](x, y) end, expr,
       { a = a:double(), b = b:double() }, ref.tolerance('float64'))
  case(name .. ' empty', function(x, y) return x[name](x, y) end, expr, { a = torch.randn(0, 4), b = torch.randn(1, 4) })
end
case('pow', function(x, y) return x:pow(y) end, 'torch.pow(a, b)', { a = pos, b = b })
case('pow scalar 2', function(x) return x ^ 2 end, 'a ** 2', { a = a })
case('pow scalar 0.5', function(x) return x ^ 0.5 end, 'a ** 0.5', { a = pos })
case('pow scalar 3', function(x) return x ^ 3 end, 'a ** 3', { a = a })
case('pow int', function(x) return x ^ 3 end, 'a ** 3', { a = torch.arange(-4, 5) })
case('number ^ tensor', function(x) return 2 ^ x end, '2 ** a', { a = a })
case('number - tensor', function(x) return 3 - x end, '3 - a', { a = a })
case('number / tensor', function(x) return 3 / x end, '3 / a', { a = pos })
case('add alpha', function(x, y) return x:add(y, 2.5) end, 'torch.add(a, b, alpha=2.5)', { a = a, b = b })
case('sub alpha', function(x, y) return x:sub(y, { alpha = 0.5 }) end, 'torch.sub(a, b, alpha=0.5)', { a = a, b = b })
case('% operator', function(x) return x % 0.7 end, 'a % 0.7', { a = a })
-- integer arithmetic follows Python's floor division and modulo
local ia, ib = torch.tensor({ 7, -7, 7, -7, 0, 13 }), torch.tensor({ 2, 2, -2, -2, 3, -5 })
case('floor_divide int', function(x, y) return x:floor_divide(y) end, 'torch.floor_divide(a, b)', { a = ia, b = ib })
case('remainder int', function(x, y) return x:remainder(y) end, 'torch.remainder(a, b)', { a = ia, b = ib })
case('fmod int', function(x, y) return x:fmod(y) end, 'torch.fmod(a, b)', { a = ia, b = ib })
case('div int is true division', function(x, y) return x / y end, 'a / b', { a = ia, b = ib })
case('div rounding trunc', function(x, y) return x:div(y, { rounding_mode = 'trunc' }) end,
     "torch.div(a, b, rounding_mode='trunc')", { a = ia, b = ib })
case('div rounding floor', function(x, y) return x:div(y, { rounding_mode = 'floor' }) end,
     "torch.div(a, b, rounding_mode='floor')", { a = ia, b = ib })
-- the rounding modes in every form of div (torch.div and div_ ignored them before), and its aliases
case('torch.div rounding floor', function(x, y) return torch.div(x, y, { rounding_mode = 'floor' }) end,
     "torch.div(a, b, rounding_mode='floor')", { a = ia, b = ib })
case('torch.div rounding trunc, out=', function(x, y)
  local out = torch.empty(0, { dtype = 'int64' })
  assert(torch.div(x, y, { rounding_mode = 'trunc', out = out }) == out)
  return out
end, "torch.div(a, b, rounding_mode='trunc')", { a = ia, b = ib })
case('div_ rounding trunc', function(x, y) return x:clone():div_(y, { rounding_mode = 'trunc' }) end,
     "torch.div(a, b, rounding_mode='trunc')", { a = ia, b = ib })
case('divide rounding floor, float', function(x, y) return x:divide(y, { rounding_mode = 'floor' }) end,
     "torch.divide(a, b, rounding_mode='floor')", { a = a, b = pos })
case('torch.true_divide int', function(x, y) return torch.true_divide(x, y) end, 'torch.true_divide(a, b)',
     { a = ia, b = ib })
case('cmul and cdiv (Torch7)', function(x, y) return x:cmul(y) + x:cdiv(y) end, 'a * b + a / b', { a = a, b = pos })
case('bitwise and/or/xor', function(x, y) return x:bitwise_and(y) + x:bitwise_or(y) * 3 + x:bitwise_xor(y) * 7 end,
     'torch.bitwise_and(a, b) + torch.bitwise_or(a, b) * 3 + torch.bitwise_xor(a, b) * 7', { a = ia, b = ib })
case('bitwise_not', function(x) return x:bitwise_not() end, 'torch.bitwise_not(a)', { a = ia })

-- ---- type promotion (the result dtype is compared too) ----
local i32 = torch.tensor({ 1, 2, 3 }, { dtype = 'int32' })
local u8 = torch.tensor({ 1, 2, 250 }, { dtype = 'uint8' })
local i8 = torch.tensor({ 1, -2, 3 }, { dtype = 'int8' })
local bools = torch.tensor({ true, false, true })
local f64_0d = torch.tensor(2.5, { dtype = 'float64' })
case('int32 + 1 stays int32', function(x) return x + 1 end, 'a + 1', { a = i32 })
case('int32 * 2.5 is float32', function(x) return x * 2.5 end, 'a * 2.5', { a = i32 })
case('uint8 + int8 is int16', function(x, y) return x + y end, 'a + b', { a = u8, b = i8 })
case('bool + bool is bool', function(x, y) return x + y end, 'a + b', { a = bools, b = bools })
case('bool + 1 is int64', function(x) return x + 1 end, 'a + 1', { a = bools })
case('float32 + 0-d float64 stays float32', function(x, y) return x + y end, 'a + b', { a = a, b = f64_0d })
case('int32 + 0-d float64 is float64', function(x, y) return x + y end, 'a + b', { a = i32, b = f64_0d })
case('int64 + float16 is float16', function(x, y) return x + y end, 'a + b',
     { a = torch.tensor({ 1, 2 }), b = torch.tensor({ 0.5, 1.5 }, { dtype = 'float16' }) })
case('float16 + bfloat16 is float32', function(x, y) return x + y end, 'a + b',
     { a = torch.randn(3):half(), b = torch.randn(3):bfloat16() }, ref.tolerance('bfloat16'))
-- Comparing integers with an out-of-range number gives the mathematical answer (PyTorch wraps the number
-- into uint8 here), so the reference is plain Python arithmetic.
case('uint8 compared with out-of-range numbers', function(x) return x:gt(-1):logical_and(x:lt(300)) end,
     'torch.tensor([v > -1 and v < 300 for v in a.tolist()])', { a = u8 })

-- ---- ternary ----
local c = torch.randn(3, 4)
case('lerp scalar weight', function(x, y) return x:lerp(y, 0.3) end, 'torch.lerp(a, b, 0.3)', { a = a, b = b })
case('lerp tensor weight', function(x, y, w) return x:lerp(y, w) end, 'torch.lerp(a, b, w)',
     { a = a, b = b, w = torch.rand(1, 4) })
case('addcmul', function(x, y, z) return x:addcmul(y, z, 0.5) end, 'torch.addcmul(a, b, z, value=0.5)',
     { a = a, b = b, z = c })
case('addcdiv', function(x, y, z) return x:addcdiv(y, z, 2) end, 'torch.addcdiv(a, b, z, value=2)',
     { a = a, b = b, z = pos })
case('where', function(cond, x, y) return torch.where(cond, x, y) end, 'torch.where(cond, a, b)',
     { cond = torch.randn(3, 1):gt(0), a = a, b = b:double() })
case('where with numbers', function(cond, x) return torch.where(cond, x, 0) end, 'torch.where(cond, a, 0.0)',
     { cond = a:gt(0), a = a })

-- ---- in-place and out= ----
case('add_ in place', function(x, y) local r = x:clone() r:add_(y) return r end, 'a + b', { a = a, b = torch.randn(4) })
case('mul_ number', function(x) local r = x:clone() r:mul_(3) return r end, 'a * 3', { a = a })
case('exp_ on a transposed view', function(x) local r = x:clone():t() r:exp_() return r end, 'a.clone().t().exp()',
     { a = a })
case('out=', function(x, y)
  local out = torch.empty(0)
  local r = torch.add(x, y, { out = out })
  assert(r == out)
  return out
end, 'a + b', { a = a, b = b })
-- out= views of the right size keep their strides (they were made contiguous, writing over the elements after
-- the view's first one)
case('out= into transposed views of a base', function(x, y)
  local base = torch.zeros(4, 6)
  torch.add(x, y, { out = base:t():narrow(1, 1, 3) })
  torch.gt(x, y, { out = base:t():narrow(1, 4, 3) }) -- bool results into a float32 view
  return base
end, '(lambda base: (torch.add(a, b, out=base.t()[0:3]), torch.gt(a, b, out=base.t()[3:6]), base)[2])(torch.zeros(4, 6))',
     { a = a, b = b })
-- out= of the function forms made from methods and of the composed ops (it was ignored)
case('out= of torch.divide, lerp, addcmul, hypot, deg2rad', function(x, y)
  local outs = {}
  for i = 1, 5 do outs[i] = torch.empty(0, { dtype = 'float64' }) end
  local rs = { torch.divide(x, y, { out = outs[1] }), torch.lerp(x, y, 0.3, { out = outs[2] }),
               torch.addcmul(x, x, y, { out = outs[3] }), torch.hypot(x, y, { out = outs[4] }),
               torch.deg2rad(x, { out = outs[5] }) }
  for i = 1, 5 do assert(rs[i] == outs[i]) end
  return torch.cat(outs)
end, 'torch.cat([torch.divide(a, b), torch.lerp(a, b, 0.3), torch.addcmul(a, a, b), torch.hypot(a, b), torch.deg2rad(a)]).double()',
     { a = a, b = b }, ref.tolerance('float32'))
case('in-place with overlapping shifted views', function(x)
  local r = x:clone()
  r:narrow(1, 2, 5):add_(r:narrow(1, 1, 5))
  return r
end, 'torch.cat([a[:1], a[1:] + a[:-1]])', { a = torch.randn(6) })

-- Run every case in PyTorch once, then compare.

describe('element-wise ops match PyTorch', function()
  local batch = {}
  for i, cs in ipairs(cases) do
    local names, inputs = {}, {}
    for k, v in pairs(cs.inputs) do
      names[#names + 1] = k
      inputs[k] = v
    end
    batch[i] = { code = 'out = ' .. cs.python, inputs = inputs }
  end
  local results = ref.batch(batch)
  for i, cs in ipairs(cases) do
    it(cs.name, function()
      -- inputs in the order the function takes them: a, b, z, w / cond first for where
      local order = { 'cond', 'a', 'b', 'lo', 'z', 'w' }
      local argv = {}
      for _, k in ipairs(order) do
        if cs.inputs[k] ~= nil then argv[#argv + 1] = cs.inputs[k] end
      end
      local got = cs.fn(unpack(argv))
      local ok, msg = ref.compare(got, results[i], cs.tol or ref.tolerance(got:dtype()))
      assert(ok, msg)
    end)
  end
end)

describe('element-wise errors', function()
  local function message(fn)
    local ok, err = pcall(fn)
    assert.is_false(ok)
    return tostring(err)
  end
  it('names the op and the shapes when shapes do not broadcast', function()
    local m = message(function() return torch.randn(2, 3) + torch.randn(4) end)
    assert.matches('add', m)
    assert.matches('%[2 x 3%]', m)
    assert.matches('%[4%]', m)
  end)
  it('refuses integer division by zero, naming the op', function()
    assert.matches('floor_divide: integer division by zero',
                   message(function() return torch.tensor({ 1, 2 }):floor_divide(torch.tensor({ 1, 0 })) end))
    assert.matches('remainder: integer division by zero', message(function() return torch.tensor({ 1, 2 }):remainder(0) end))
    assert.matches('div: integer division by zero',
                   message(function() return torch.tensor({ 5, -5 }):div(0, { rounding_mode = 'trunc' }) end))
    assert.matches('div: integer division by zero',
                   message(function() return torch.tensor({ 5, -5 }):div(torch.tensor({ 1, 0 }), 'trunc') end))
  end)
  it('refuses a float result for an integer out= in the composed ops (it was truncated)', function()
    local x, o = torch.tensor({ 1.5, 2.5 }), torch.zeros(2, { dtype = 'int64' })
    for fn, call in pairs({
      clamp = function() return torch.clamp(x, torch.zeros(2), torch.ones(2), { out = o }) end,
      round = function() return torch.round(x, 1, { out = o }) end,
      div = function() return torch.div(x, 2, { rounding_mode = 'floor', out = o }) end,
      lerp = function() return torch.lerp(x, x, 0.5, { out = o }) end,
      hypot = function() return torch.hypot(x, x, { out = o }) end,
    }) do
      assert.matches(fn .. ": result type float32 can't be cast to the desired output type int64", message(call), 1, true)
    end
  end)
  it('refuses clamp_ bounds whose result an integer tensor cannot hold', function()
    assert.matches('clamp_: the result of clamping int64 to %-1.5 .. 2.5 is float32',
                   message(function() return torch.tensor({ 1, 2 }):clamp_(-1.5, 2.5) end))
    assert.matches('round: decimals must be an integer, got 1.5', message(function() return torch.ones(2):round(1.5) end))
  end)
  it('refuses negative integer powers given as a number (as PyTorch; a tensor of exponents may hold them)', function()
    assert.matches('negative', message(function() return torch.tensor({ 2 }) ^ -1 end))
  end)
  it('refuses bitwise ops on floats and subtraction of bools', function()
    assert.matches('bitwise_and', message(function() return torch.randn(2):bitwise_and(torch.randn(2)) end))
    assert.matches('sub', message(function() return torch.tensor({ true }) - torch.tensor({ false }) end))
  end)
  it('refuses a scalar that overflows the dtype', function()
    assert.matches('300', message(function() return torch.tensor({ 1 }, { dtype = 'uint8' }) + 300 end))
  end)
  it('refuses writing a broadcast result in place into a smaller tensor', function()
    assert.matches('in place', message(function() return torch.randn(3):add_(torch.randn(2, 3)) end))
  end)
  it('refuses in-place float results into integer tensors', function()
    assert.matches('cannot be written', message(function() return torch.tensor({ 1, 2 }):mul_(1.5) end))
  end)
  it('refuses a non-tensor operand', function()
    assert.matches('expected a tensor or a number', message(function() return torch.randn(2) + 'x' end))
  end)
  it('refuses writing into an expanded tensor', function()
    assert.matches('memory location', message(function() return torch.zeros(1, 3):expand(4, 3):add_(1) end))
  end)
end)

-- float32 products of subnormals (lib/cpu/scaled_f32.c multiplies them in float64 to avoid the CPU's slow
-- path): the results must keep every bit of the float multiply. NumPy's float32 arithmetic is the reference.
describe('float32 scaled ops on subnormals', function()
  local special = { 1.4e-45, -1.4e-45, 2.8e-45, 7e-45, 1e-40, -3e-39, 1.1754942e-38, 1.17549435e-38, 2.4e-38,
                    1e-30, -0.5, 1, 3.5, 0, -0 * 1, 1e38, math.huge, -math.huge, 0 / 0 }
  -- blocks of 16 that are all subnormal, all normal, and mixed, plus a tail that is not a whole block
  local n, values = 16 * 8 + 5, {}
  for i = 1, n do
    local block = math.floor((i - 1) / 16)
    if block == 0 then values[i] = special[(i - 1) % #special + 1]
    elseif block <= 2 then values[i] = (i % 2 == 0 and 1 or -1) * 1.4e-45 * i
    elseif block <= 4 then values[i] = math.sin(i) * 10
    else values[i] = i % 3 == 0 and 1e-42 * i or math.cos(i) end
  end
  local b = torch.tensor(values, { dtype = torch.float32 })
  local a = torch.randn(n)
  a[3], a[20], a[40] = 0, 1e-41, -1e-44
  local scales = { 0.9, -0.01, 1e-30, 3, 1e30, 0 }

  local snippets, ours = {}, {}
  local function case(lua_result, python)
    ours[#ours + 1] = lua_result
    snippets[#snippets + 1] = { code = 'with np.errstate(all="ignore"):\n  out = torch.from_numpy(np.asarray('
                                         .. python .. ', dtype=np.float32))',
                                inputs = { a = a, b = b } }
  end
  for _, s in ipairs(scales) do
    local ps = string.format('np.float32(%.17g)', s)
    case(torch.add(a, b, { alpha = s }), 'a.numpy() + ' .. ps .. ' * b.numpy()')
    case(torch.sub(a, b, { alpha = s }), 'a.numpy() - ' .. ps .. ' * b.numpy()')
    case(b * s, ps .. ' * b.numpy()')
    case(s * b, ps .. ' * b.numpy()')
    case(torch.add(a:narrow(1, 1, 1), b, { alpha = s }), 'a.numpy()[:1] + ' .. ps .. ' * b.numpy()')
    case(torch.add(b, b:narrow(1, 21, 1), { alpha = s }), 'b.numpy() + ' .. ps .. ' * b.numpy()[20:21]')
    local buf = b:clone()
    torch.add(a, buf, { alpha = s, out = buf }) -- SGD's momentum update writes over its own input
    case(buf, 'a.numpy() + ' .. ps .. ' * b.numpy()')
    case(torch.add(a:narrow(1, 2, 100), b:narrow(1, 3, 100), { alpha = s }),
         'a.numpy()[1:101] + ' .. ps .. ' * b.numpy()[2:102]')
  end
  local results = ref.batch(snippets)

  it('match NumPy bit for bit', function()
    local checked = 0
    for k, got in ipairs(ours) do
      local want = results[k].values
      local values = got:contiguous():view(-1):tolist()
      assert.are.equal(#want, #values)
      for i, w in ipairs(want) do
        local g = values[i]
        local same = (w ~= w and g ~= g) or (w == g and (w ~= 0 or 1 / w == 1 / g))
        if not same then
          error(string.format('case %d, element %d: got %.9g, NumPy %.9g', k, i, g, w))
        end
        checked = checked + 1
      end
    end
    assert.is_true(checked > 6 * 8 * 100)
  end)
end)

-- float32 exp has a vector kernel for contiguous runs (AVX-512) and the scalar expression elsewhere; both are
-- held to 2 ulp of float64 libm over the whole float range, subnormal results, overflow and the specials.
describe('float32 exp to the last bits', function()
  local function ulp(z)
    local m, e = math.frexp(math.abs(z)) -- |z| = m 2^e, m in [0.5, 1)
    return 2 ^ math.max(e - 24, -149)
  end
  local function check(y, x, where)
    local ys, xs = y:double():totable(), x:double():totable()
    for i = 1, #xs do
      local z = math.exp(xs[i])
      if z ~= z then
        assert(ys[i] ~= ys[i], string.format('%s: exp(%s) gave %s, not nan', where, xs[i], ys[i]))
      elseif z > 3.4028234663852886e38 * (1 + 2 ^ -25) then
        assert(ys[i] == math.huge, string.format('%s: exp(%.9g) gave %s, not inf', where, xs[i], ys[i]))
      else
        assert(math.abs(ys[i] - z) <= 2 * ulp(z),
               string.format('%s: exp(%.9g) gave %.9g, libm %.9g (%.2f ulp)', where, xs[i], ys[i], z,
                             math.abs(ys[i] - z) / ulp(z)))
      end
    end
  end
  local x = torch.linspace(-110, 95, 20011)
  it('contiguous, over the whole range', function() check(x:exp(), x, 'contiguous') end)
  it('strided, over the whole range', function()
    local strided = torch.zeros(20011, 2):select(2, 1):copy_(x)
    check(strided:exp(), strided, 'strided')
  end)
  it('special values and every tail length', function()
    local special = torch.tensor({ 1 / 0, -1 / 0, 0 / 0, 0, -0.0, 88.72283, 88.72284, -87.33654, -103.97208, -103.9721 })
    check(special:exp(), special, 'special')
    for n = 1, 33 do
      local t = torch.randn(n):mul(40)
      check(t:exp(), t, 'length ' .. n)
    end
  end)
end)

-- Results of 32 MiB and more are computed in chunks that stay in L1 and streamed out to memory
-- (lib/cpu/streaming.c). Lengths are odd so that at two threads the second thread's part starts off a 16-byte
-- boundary (ordinary stores up to it); values are exact, or compared with the same op on parts below the size.
describe('element-wise results larger than the caches (streamed out)', function()
  local function at_threads(fn)
    local before = torch.get_num_threads()
    for _, threads in ipairs({ 1, 2 }) do
      torch.set_num_threads(threads)
      local ok, err = pcall(fn, threads)
      if not ok then
        torch.set_num_threads(before)
        error(err, 0)
      end
    end
    torch.set_num_threads(before)
  end
  local n = 9000003 -- floats: 36 MB (made inside each test, so that later specs do not carry them)

  it('a binary op, out of place and in place', function()
    local counting = torch.arange(1, n + 1, { dtype = 'float32' }) -- exact below 2^24
    local expected = torch.arange(2, n + 2, { dtype = 'float32' })
    at_threads(function(threads)
      assert.is_true((counting + torch.ones(n)):eq(expected):all(), 'out of place, threads ' .. threads)
      local x = counting:clone()
      x:add_(1)
      assert.is_true(x:eq(expected):all(), 'in place, threads ' .. threads)
    end)
  end)
  it('a unary op, the same bits as on parts of the input', function()
    local x = torch.randn(n)
    at_threads(function(threads)
      local whole, part = x:exp(), 1000000
      for first = 1, n, part do
        local len = math.min(part, n - first + 1)
        assert.is_true(whole:narrow(1, first, len):eq(x:narrow(1, first, len):exp()):all(),
                       string.format('threads %d, elements %d..%d', threads, first, first + len - 1))
      end
    end)
  end)
  it('a transposed input into a contiguous result', function()
    local x = torch.randn(3001, 3001)
    at_threads(function(threads)
      local sum = x:t() + x
      assert.is_true(sum:eq(sum:t()):all(), 'threads ' .. threads) -- x' + x is symmetric, bit for bit
      assert.is_true(sum:is_contiguous())
    end)
  end)
  it('bool results of a comparison', function()
    local m = 2 ^ 25 + 3 -- bytes
    local a = torch.arange(0, m, { dtype = 'int64' }):remainder(3):to('int8')
    at_threads(function(threads)
      local got = a:eq(1)
      assert.equals('bool', got:dtype())
      assert.equals(math.floor((m + 1) / 3), got:sum(), 'threads ' .. threads)
      assert.is_true(got:narrow(1, m - 2, 3):eq(torch.tensor({ false, false, true })):all()) -- 2^25 % 3 == 2
    end)
  end)
  it("reports a kernel's error", function()
    local big = torch.full({ 2 ^ 22 + 1 }, 2, { dtype = 'int64' })
    local divisor = big:clone()
    divisor[2 ^ 21] = 0
    local ok, err = pcall(function() return big:floor_divide(divisor) end)
    assert.is_false(ok)
    assert.truthy(tostring(err):find('floor_divide: integer division by zero', 1, true), tostring(err))
  end)
end)

-- ---- nan_to_num, numbers in where and lerp kept exact, Torch7's cmax/cmin/cinv/csub ----
do
  local cases = require('helpers.cases').new()
  local special = torch.tensor({ 1.5, 0 / 0, math.huge, -math.huge, -2 })
  for _, dt in ipairs({ 'float32', 'float64', 'float16', 'bfloat16' }) do
    cases:add('nan_to_num ' .. dt, function(t) return t.x:nan_to_num() end, 'out = torch.nan_to_num(x)', { x = special:to(dt) })
  end
  cases:add('nan_to_num with values', function(t) return torch.nan_to_num(t.x, 5, 7, -9) end,
            'out = torch.nan_to_num(x, 5, 7, -9)', { x = special:double() })
  cases:add('nan_to_num_ options table', function(t) return t.x:clone():nan_to_num_({ posinf = 1e300 }) end,
            'out = torch.nan_to_num(x, posinf=1e300)', { x = special:double() })
  cases:add('nan_to_num int64', function(t) return t.x:nan_to_num() end, 'out = torch.nan_to_num(x)',
            { x = torch.tensor({ 1, -2, 3 }) })
  cases:add('where with a fraction beside float64', function(t) return torch.where(t.x:gt(0), 0.1, t.x) end,
            'out = torch.where(x > 0, 0.1, x)', { x = torch.randn(5):double() })
  cases:add('where with two numbers', function(t) return torch.where(t.x:gt(0), 0.1, -2) end,
            'out = torch.where(x > 0, 0.1, -2.)', { x = torch.randn(5) })
  cases:add('where with a fraction beside int64 and float16', function(t)
    return { torch.where(t.c, 0.5, t.i), torch.where(t.c, 2.5, t.h) }
  end, 'out = [torch.where(c, 0.5, i), torch.where(c, 2.5, h)]',
            { c = torch.tensor({ true, false, true }), i = torch.tensor({ 1, 2, 3 }), h = torch.randn(3):half() })
  -- an integral number took int64 beside a 0-d integer tensor, and wrapped in uint8 where PyTorch refuses
  cases:add('where with an integer beside 0-d int32 and uint8, a boolean beside bool', function(t)
    local ok = pcall(torch.where, t.c, t.u, 300)
    return { torch.where(t.c, t.i, 2), torch.where(t.c, 2, t.u), torch.where(t.c, t.b, false), ok }
  end, 'out = [torch.where(c, i, 2), torch.where(c, 2, u), torch.where(c, b, False), False]',
            { c = torch.tensor({ true, false }), i = torch.tensor(7, { dtype = 'int32' }),
              u = torch.tensor({ 3, 4 }, { dtype = 'uint8' }), b = torch.tensor({ true, true }) })
  cases:add('lerp with a number weight, float64', function(t) return t.x:lerp(t.y, 0.1) end, 'out = torch.lerp(x, y, 0.1)',
            { x = torch.randn(4):double(), y = torch.randn(4):double() })
  cases:add('Torch7 cmax, cmin, cinv, csub', function(t)
    return { t.x:cmax(t.y), t.x:cmin(0.5), t.x:cinv(), t.x:csub(t.y) }
  end, 'out = [torch.maximum(x, y), torch.clamp(x, max=0.5), torch.reciprocal(x), x - y]',
            { x = torch.rand(6):add(0.5), y = torch.randn(6) })
  -- found by an audit against PyTorch: these gave other values before
  local c = torch.tensor({ -3, 0, 1.5, 3, 0 / 0 })
  for _, dt in ipairs({ 'float32', 'int64', 'int8' }) do
    local x = dt == 'float32' and c or torch.tensor({ -3, 0, 1, 3, 7 }):to(dt)
    cases:add('clamp with min > max, ' .. dt, function(t) return { t.x:clamp(2, -1), t.x:clone():clamp_(2, -1) } end,
              'out = [torch.clamp(x, 2, -1), x.clone().clamp_(2, -1)]', { x = x })
    cases:add('clamp with a NaN bound, ' .. dt, function(t) return { t.x:clamp(0 / 0, 1), torch.clamp(t.x, -1, 0 / 0) } end,
              "out = [torch.clamp(x, float('nan'), 1), torch.clamp(x, -1, float('nan'))]", { x = x })
  end
  cases:add('clamp of integers with fractional bounds', function(t)
    return { t.x:clamp(-1.5, 2.5), t.x:clamp({ min = 0.5 }), t.x:clamp(nil, -0.5), t.x:clamp(-2, 2) }
  end, 'out = [torch.clamp(x, -1.5, 2.5), torch.clamp(x, min=0.5), torch.clamp(x, max=-0.5), torch.clamp(x, -2, 2)]',
            { x = torch.tensor({ -3, 0, 1, 3 }) })
  cases:add('pow of integers by a tensor holding negative exponents', function(t)
    return { t.x:pow(t.e), torch.pow(2, t.e), t.x:to('int8'):pow(t.e:to('int8')) }
  end, 'out = [x.pow(e), torch.pow(2, e), x.to(torch.int8).pow(e.to(torch.int8))]',
            { x = torch.tensor({ 2, -1, 1, 0, -2, 3, -1, 5 }), e = torch.tensor({ -1, -3, -2, -1, -2, 0, -4, 2 }) })
  cases:add('floor_divide and div floor of floats, Python style', function(t)
    return { t.x:floor_divide(t.y), t.x:div(t.y, { rounding_mode = 'floor' }), t.x:double():floor_divide(t.y:double()),
             t.x:floor_divide(0.1), (t.x / 1):floor_divide(math.huge) }
  end, "out = [torch.floor_divide(x, y), torch.div(x, y, rounding_mode='floor'), "
    .. "torch.floor_divide(x.double(), y.double()), torch.floor_divide(x, 0.1), torch.floor_divide(x, float('inf'))]",
            { x = torch.tensor({ 1, -1, math.huge, -math.huge, 7.5, 0, -0.0, 5, 0 / 0, 1e30 }),
              y = torch.tensor({ 0.1, 0.1, 3, 3, -2, -3, 3, 0, 2, 7 }) })
  cases:add('round with decimals', function(t)
    return { t.x:round({ decimals = 2 }), t.x:round(-1), torch.round(t.x, 1), t.x:clone():round_(3), t.x:double():round(2),
             torch.round(t.x, { decimals = -2, out = torch.empty(0) }) }
  end, 'out = [x.round(decimals=2), x.round(decimals=-1), torch.round(x, decimals=1), x.clone().round_(decimals=3), '
    .. 'x.double().round(decimals=2), torch.round(x, decimals=-2)]', { x = torch.randn(20):mul(300) })
  cases:add('div trunc of integers, exactly', function(t)
    return { t.x:div(t.y, { rounding_mode = 'trunc' }), t.x:div(-3, 'trunc'), t.big:div(1, { rounding_mode = 'trunc' }) - t.big }
  end, "out = [torch.div(x, y, rounding_mode='trunc'), torch.div(x, -3, rounding_mode='trunc'), "
    .. "torch.div(big, 1, rounding_mode='trunc') - big]",
            { x = torch.tensor({ 7, -7, 7, -7, 0, 13, -13 }), y = torch.tensor({ 2, 2, -2, -2, 3, -5, -5 }),
              big = torch.full({ 2 }, 2 ^ 60, { dtype = 'int64' }):add(torch.tensor({ 1, 3 })) })
  cases:describe('everyday element-wise additions match PyTorch')
end

-- ---- ops composed of others: logaddexp(2), hypot, xlogy, copysign, heaviside, with their edges and gradients ----
do
  local cases = require('helpers.cases').new()
  local D = { dtype = 'float64' }
  local inf, nan = math.huge, 0 / 0
  local a = torch.tensor({ 1, -inf, inf, 1000, 0, -800, 3, -2.5 }, D)
  local b = torch.tensor({ 2, -inf, inf, 1000, -inf, -801, 3, 7 }, D)
  cases:add('logaddexp, logaddexp2', function(t) return { t.a:logaddexp(t.b), torch.logaddexp2(t.a, t.b) } end,
            'out = [torch.logaddexp(a, b), torch.logaddexp2(a, b)]', { a = a, b = b })
  cases:add('logaddexp float32, broadcast', function(t) return t.x:logaddexp(t.y) end, 'out = torch.logaddexp(x, y)',
            { x = torch.randn(3, 1):mul(30), y = torch.randn(4):mul(30) })
  cases:add('hypot', function(t) return torch.hypot(t.a, t.b) end, 'out = torch.hypot(a, b)',
            { a = torch.tensor({ 3, 1e300, 0, inf, 1e-300, -5, nan }, D), b = torch.tensor({ 4, 1e300, 0, nan, 1e-300, 12, 1 }, D) })
  cases:add('xlogy, with a number first', function(t) return { t.x:xlogy(t.y), torch.xlogy(2, t.y) } end,
            'out = [torch.xlogy(x, y), torch.xlogy(2, y)]',
            { x = torch.tensor({ 0, 0, 2, 0, 1.5 }, D), y = torch.tensor({ 0, nan, 3, 5, inf }, D) })
  cases:add('copysign, of integers and a number', function(t) return { t.x:copysign(t.y), torch.copysign(t.i, -1) } end,
            'out = [torch.copysign(x, y), torch.copysign(i, -1)]',
            { x = torch.tensor({ 1, -2, 3, 0, -0.0 }, D), y = torch.tensor({ -0.0, 1, -1, -3, 2 }, D),
              i = torch.tensor({ 1, -2, 0 }) })
  cases:add('heaviside', function(t) return { t.x:heaviside(t.v), torch.heaviside(t.i, t.j) } end,
            'out = [torch.heaviside(x, v), torch.heaviside(i, j)]',
            { x = torch.tensor({ -1.5, 0, 2, nan, -0.0 }, D), v = torch.tensor({ 0.5 }, D),
              i = torch.tensor({ -3, 0, 4 }), j = torch.tensor({ 7, 8, 9 }) })
  local function grads(fn_name, x, y)
    local lx, ly = x:clone():requires_grad_(), y:clone():requires_grad_()
    torch[fn_name](lx, ly):sum():backward()
    return { lx.grad, ly.grad }
  end
  cases:add('gradients of logaddexp, hypot, xlogy', function(t)
    local g = {}
    for _, name in ipairs({ 'logaddexp', 'logaddexp2', 'hypot', 'xlogy' }) do
      for _, v in ipairs(grads(name, t.x, t.y)) do g[#g + 1] = v end
    end
    return g
  end, [[
out = []
for f in (torch.logaddexp, torch.logaddexp2, torch.hypot, torch.xlogy):
    lx, ly = x.clone().requires_grad_(), y.clone().requires_grad_()
    f(lx, ly).sum().backward()
    out += [lx.grad, ly.grad]
]], { x = torch.tensor({ 0.5, -3, 2, 7 }, D), y = torch.tensor({ 1.5, 0.25, 2.5, 100 }, D) })
  -- (the gradient in x at x = 0 was 0 where it is log y; the result dtype ignored a 0-d operand's lower priority)
  cases:add('xlogy at x = 0: values and gradients', function(t)
    local lx, ly = t.x:clone():requires_grad_(), t.y:clone():requires_grad_()
    local v = torch.xlogy(lx, ly)
    v:sum():backward()
    return { v, lx.grad, ly.grad }
  end, [[
lx, ly = x.clone().requires_grad_(), y.clone().requires_grad_()
v = torch.xlogy(lx, ly)
v.sum().backward()
out = [v, lx.grad, ly.grad]
]], { x = torch.tensor({ 0, 0, 0, 0, 1.5, 0, 2 }, D), y = torch.tensor({ 2, 0.5, 0, -1, 0, 0 / 0, -1 }, D) })
  cases:add('a 0-d float64 operand does not decide the dtype', function(t)
    local z = torch.tensor(2.5, D)
    return { torch.hypot(t.f, z), torch.xlogy(t.f, z), torch.copysign(t.f, z), torch.logaddexp(t.f, z),
             torch.logaddexp2(z, t.f) }
  end, 'z = torch.tensor(2.5, dtype=torch.float64)\n' ..
       'out = [torch.hypot(f, z), torch.xlogy(f, z), torch.copysign(f, z), torch.logaddexp(f, z), torch.logaddexp2(z, f)]',
            { f = torch.tensor({ 1.5, -2 }) })
  cases:add('hypot_, xlogy_, copysign_, logit_, float_power_ on a tensor in a graph', function(t)
    local g = {}
    for _, f in ipairs({ function(y) return y:hypot_(t.b) end, function(y) return y:xlogy_(t.b) end,
                         function(y) return y:copysign_(-t.b) end, function(y) return y:logit_() end,
                         function(y) return y:float_power_(3) end }) do
      local a = t.a:clone():requires_grad_()
      local y = a * 1
      f(y)
      y:sum():backward()
      g[#g + 1] = a.grad
    end
    return g
  end, [[
out = []
for f in (lambda y: y.hypot_(b), lambda y: y.xlogy_(b), lambda y: y.copysign_(-b), lambda y: y.logit_(),
          lambda y: y.float_power_(3)):
    a_ = a.clone().requires_grad_()
    y = a_ * 1
    f(y)
    y.sum().backward()
    out.append(a_.grad)
]], { a = torch.tensor({ 0.25, 0.5, 0.75 }, D), b = torch.tensor({ 1.5, 2.5, 0.5 }, D) })
  cases:add('logit at 0 and 1: gradient inf', function(t)
    local x = t.x:clone():requires_grad_()
    x:logit():sum():backward()
    return x.grad
  end, 'x_ = x.clone().requires_grad_()\ntorch.logit(x_).sum().backward()\nout = x_.grad', { x = torch.tensor({ 0, 1, 0.5 }, D) })
  cases:add('clamp with tensor bounds: a tie sends the gradient to the input', function(t)
    local a, lo, hi = t.a:clone():requires_grad_(), t.lo:clone():requires_grad_(), t.hi:clone():requires_grad_()
    torch.clamp(a, lo, hi):sum():backward()
    local b, m = t.a:clone():requires_grad_(), t.lo:clone():requires_grad_()
    b:clamp_min(m):sum():backward()
    return { a.grad, lo.grad, hi.grad, b.grad, m.grad }
  end, [[
a_, lo_, hi_ = a.clone().requires_grad_(), lo.clone().requires_grad_(), hi.clone().requires_grad_()
torch.clamp(a_, lo_, hi_).sum().backward()
b_, m_ = a.clone().requires_grad_(), lo.clone().requires_grad_()
b_.clamp_min(m_).sum().backward()
out = [a_.grad, lo_.grad, hi_.grad, b_.grad, m_.grad]
]], { a = torch.tensor({ 0.5, 0.2, 0.9, 0.6 }, D), lo = torch.tensor({ 0.5, 0.3, 0.1, 0.1 }, D),
      hi = torch.tensor({ 0.5, 0.8, 0.9, 0.7 }, D) })
  cases:describe('composed element-wise ops match PyTorch')

  it('composed ops name themselves in errors', function()
    local message = require 'helpers.failure'
    assert.matches('logaddexp: expected at least one tensor, got number and number',
                   message(function() return torch.logaddexp(1, 2) end), 1, true)
    assert.matches('hypot: operand 2 must be a tensor or a number, got string',
                   message(function() return torch.ones(2):hypot('a') end), 1, true)
    assert.matches('sub: alpha must be an integer for int64 tensors, got 2.5',
                   message(function() return torch.tensor({ 1, 2 }):sub(torch.tensor({ 1 }), 2.5) end), 1, true)
    assert.matches('add: alpha must be an integer for int64 tensors, got 0.5',
                   message(function() return torch.add(torch.tensor({ 1 }), 3, 0.5) end), 1, true)
    assert.matches('sub: alpha must be an integer for int64 tensors, got 2.5',
                   message(function() return torch.rsub(torch.tensor({ 1 }), 3, 2.5) end), 1, true)
    assert.matches('heaviside: values must have the dtype of the input (float32), got int64',
                   message(function() return torch.ones(2):heaviside(torch.tensor({ 1 })) end), 1, true)
  end)
end
