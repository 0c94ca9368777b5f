-- Reductions and cumulative ops against PyTorch: every op over everything, one dim, several dims, with and
-- without keepdim, on contiguous, permuted, transposed, expanded (stride 0), narrowed, empty and 0-d inputs of
-- float32, float64, int64 and bool; inner, outer and chunked (long) reductions; NaN semantics; 1-based
-- indices; result dtypes and {dtype=}; out=; numerics (exact float32 sums, stable logsumexp and variance);
-- results independent of the thread count; errors.
local torch = require 'tensor'
local ref = require 'helpers.torchref'

torch.manual_seed(4321)

local cases = {}
-- fn(inputs...) returns a tensor, number, boolean, or a table of them; python computes `out` likewise.
local function case(name, fn, python, inputs, tol)
  inputs = inputs or {}
  if not tol and inputs.a then tol = ref.tolerance(inputs.a:dtype()) end
  cases[#cases + 1] = { name = name, fn = fn, python = python, inputs = inputs, tol = tol }
end

-- ---- inputs ----

local function make(dtype, kind)
  return function(...)
    local t
    if kind == 'positive' then
      t = torch.rand(...):add_(0.5) -- [0.5, 1.5): products stay finite
    elseif kind == 'small' then
      t = torch.randint(-3, 4, { ... }):float() -- many ties
    else
      t = torch.randn(...)
    end
    if dtype == 'bool' then return t:gt(0) end
    if dtype == 'int64' then return (kind == 'positive' and t:mul(2) or t:mul(3)):round():long() end
    return t:to(dtype)
  end
end

-- name, tensor, the dims to try
local function layouts(dtype, kind)
  local m = make(dtype, kind)
  return {
    { 'contiguous', m(3, 4, 5), { 1, -1, { 1, 3 }, { 2, 3 } } },
    { 'permuted', m(5, 4, 3):permute(3, 1, 2), { 1, 2, 3, { 1, 2 } } },
    { 'transposed', m(7, 6):t(), { 1, 2 } },
    { 'expanded', m(1, 5):expand(4, 5), { 1, 2 } },
    { 'narrowed', m(4, 6, 5):narrow(2, 2, 3), { 1, 2, 3, { 1, 3 } } },
    { 'wide', m(300, 257), { 1, 2 } },
    { 'empty', m(0, 3), { 2 } },
    { '0-d', m(), { 1, -1 } },
  }
end

local function py_dim(d)
  if type(d) == 'table' then
    local parts = {}
    for i, v in ipairs(d) do parts[i] = tostring(v > 0 and v - 1 or v) end
    return '(' .. table.concat(parts, ', ') .. ',)'
  end
  return tostring(d > 0 and d - 1 or d)
end

local function dim_name(d)
  if type(d) == 'table' then return '{' .. table.concat(d, ',') .. '}' end
  return tostring(d)
end

local function tol_for(dtype, n)
  if dtype == 'float32' then return { atol = 1e-5 * math.max(1, math.sqrt(n or 1)), rtol = 1e-5 } end
  return ref.tolerance(dtype)
end

-- ---- simple reductions: x:f() (a number), x:f(dim), x:f(dim, true) ----

-- name, PyTorch method, dtypes, input kind, whether the empty selection is an error
local simple = {
  { 'sum', 'sum', { 'float32', 'float64', 'int64', 'bool' } },
  { 'nansum', 'nansum', { 'float32', 'float64', 'int64' } },
  { 'mean', 'mean', { 'float32', 'float64' } },
  { 'prod', 'prod', { 'float32', 'float64', 'int64', 'bool' }, 'positive' },
  { 'amax', 'amax', { 'float32', 'float64', 'int64', 'bool' }, nil, true },
  { 'amin', 'amin', { 'float32', 'float64', 'int64', 'bool' }, nil, true },
  { 'all', 'all', { 'float32', 'int64', 'bool' }, 'small' },
  { 'any', 'any', { 'float32', 'int64', 'bool' }, 'small' },
  { 'count_nonzero', 'count_nonzero', { 'float32', 'int64', 'bool' }, 'small' },
  { 'logsumexp', 'logsumexp', { 'float32', 'float64' } },
  { 'var', 'var', { 'float32', 'float64' } },
  { 'std', 'std', { 'float32', 'float64' } },
  { 'norm', 'norm', { 'float32', 'float64' } },
}

local single_dim_only = { prod = true, all = true, any = true }
local multi_dim = [[
dims = sorted([d %% max(a.dim(), 1) for d in %s], reverse=True)
for d in dims: a = torch.%s(a, d, keepdim=True)
out = a if %s else a.reshape([s for i, s in enumerate(a.shape) if i not in dims])]]

local function reduced_count(x, d)
  if d == nil then return x:numel() end
  local dims = type(d) == 'table' and d or { d }
  local n = 1
  for _, v in ipairs(dims) do
    if x:dim() > 0 then n = n * x:size(v > 0 and v or x:dim() + 1 + v) end
  end
  return n
end

for _, op in ipairs(simple) do
  local name, pyname, dtypes, kind, nonempty = op[1], op[2], op[3], op[4], op[5]
  for _, dtype in ipairs(dtypes) do
    for _, l in ipairs(layouts(dtype, kind)) do
      local lname, x, dims = l[1], l[2], l[3]
      local tol = tol_for(dtype == 'bool' and 'int64' or dtype, x:numel())
      -- everything, as a number (a boolean for all/any)
      if not (nonempty and x:numel() == 0) then
        local post = (name == 'all' or name == 'any') and 'bool(%s)' or '%s.item()'
        local py = string.format(post, string.format('torch.%s(a%s)', pyname, name == 'logsumexp' and ', tuple(range(a.dim()))' or ''))
        case(string.format('%s %s %s everything', name, dtype, lname), function(a) return a[name](a) end, py,
             { a = x }, tol)
      end
      for _, d in ipairs(dims) do
        local empty_sel = reduced_count(x, d) == 0
        if not (nonempty and empty_sel) and not (type(d) == 'table' and x:dim() == 0) then
          for _, keep in ipairs({ false, true }) do
            local py = string.format('torch.%s(a, %s, keepdim=%s)', pyname, py_dim(d), keep and 'True' or 'False')
            local fn = function(a) return a[name](a, d, keep) end
            if name == 'norm' then -- p comes first
              fn = function(a) return a:norm(2, d, keep) end
              py = string.format('torch.norm(a, 2, %s, keepdim=%s)', py_dim(d), keep and 'True' or 'False')
            elseif name == 'count_nonzero' then -- PyTorch's has no keepdim
              py = string.format('(a != 0).sum(%s, keepdim=%s)', py_dim(d), keep and 'True' or 'False')
            elseif type(d) == 'table' and single_dim_only[name] then -- PyTorch 1.13 takes one dim: reduce in turn
              py = string.format(multi_dim, py_dim(d), pyname, keep and 'True' or 'False')
            end
            case(string.format('%s %s %s dim %s%s', name, dtype, lname, dim_name(d), keep and ' keepdim' or ''),
                 fn, py,
                 { a = x }, tol_for(dtype == 'bool' and 'int64' or dtype, reduced_count(x, d)))
          end
        end
      end
    end
  end
end

-- ---- max/min(dim), argmax/argmin: values and 1-based indices ----

for _, dtype in ipairs({ 'float32', 'float64', 'int64' }) do
  for _, kind in ipairs({ 'normal', 'small' }) do -- 'small' has many ties: the first index wins
    for _, l in ipairs(layouts(dtype, kind)) do
      local lname, x, dims = l[1], l[2], l[3]
      for _, d in ipairs(dims) do
        if type(d) == 'number' and reduced_count(x, d) > 0 then
          for _, op in ipairs({ 'max', 'min' }) do
            case(string.format('%s(dim) %s %s %s dim %d', op, dtype, kind, lname, d), function(a)
              local v, i = a[op](a, d, true)
              return { v, i }
            end, string.format('r = torch.%s(a, %s, keepdim=True)\nout = [r[0], r[1] + 1]', op, py_dim(d)), { a = x })
          end
          for _, op in ipairs({ 'argmax', 'argmin' }) do
            case(string.format('%s %s %s %s dim %d', op, dtype, kind, lname, d), function(a) return a[op](a, d) end,
                 string.format('torch.%s(a, %s) + 1', op, py_dim(d)), { a = x })
          end
        end
      end
      if x:numel() > 0 and kind == 'small' then
        for _, op in ipairs({ 'argmax', 'argmin' }) do
          case(string.format('%s %s %s flattened', op, dtype, lname), function(a) return a[op](a) end,
               string.format('torch.%s(a).item() + 1', op), { a = x })
        end
        case(string.format('max() %s %s', dtype, lname), function(a) return a:max() end, 'a.max().item()', { a = x })
        case(string.format('min() %s %s', dtype, lname), function(a) return a:min() end, 'a.min().item()', { a = x })
      end
    end
  end
end
case('argmax keepdim without dim', function(a) return a:argmax({ keepdim = true }) end,
     'torch.argmax(a, keepdim=True) + 1', { a = torch.randn(3, 4) })
case('max(other) is maximum', function(a, b) return a:max(b) end, 'torch.max(a, b)',
     { a = torch.randn(3, 4), b = torch.randn(4) })
case('min(other) is minimum', function(a, b) return torch.min(a, b) end, 'torch.min(a, b)',
     { a = torch.randn(3, 4), b = torch.randn(3, 1) })

-- ---- NaN ----

local nan = 0 / 0
local withnan = torch.tensor({ { 1, nan, 3, nan }, { 4, 5, 6, 7 }, { nan, -1, -2, -3 } })
for _, op in ipairs({ 'max', 'min' }) do
  for _, d in ipairs({ 1, 2 }) do
    case(op .. ' NaN dim ' .. d, function(a)
      local v, i = a[op](a, d)
      return { v, i }
    end, string.format('r = torch.%s(a, %d)\nout = [r[0], r[1] + 1]', op, d - 1), { a = withnan })
  end
end
for _, op in ipairs({ 'amax', 'amin', 'sum', 'nansum', 'mean', 'nanmean', 'logsumexp', 'prod', 'var' }) do
  case(op .. ' NaN dim 2', function(a) return a[op](a, 2) end, string.format('torch.%s(a, 1)', op), { a = withnan })
end
case('norm NaN dim 2', function(a) return a:norm(2, 2) end, 'torch.norm(a, 2, 1)', { a = withnan })
case('argmax NaN flattened', function(a) return a:argmax() end, 'torch.argmax(a).item() + 1', { a = withnan })
case('nanmean everything', function(a) return a:nanmean() end, 'torch.nanmean(a).item()', { a = withnan })
case('max NaN everything is NaN', function(a) return a:max() end, 'a.max().item()', { a = withnan })

-- ---- norms, var/std options, logsumexp ----

local xn = torch.randn(6, 7)
for _, p in ipairs({ 2, 1, 0, 3, 0.5, math.huge, -math.huge }) do
  local pp = p == math.huge and "float('inf')" or p == -math.huge and "float('-inf')" or tostring(p)
  case('norm p=' .. tostring(p), function(a) return a:norm(p) end, string.format('torch.norm(a, %s).item()', pp),
       { a = xn })
  case('norm p=' .. tostring(p) .. ' dim 2 keepdim', function(a) return a:norm(p, 2, true) end,
       string.format('torch.norm(a, %s, 1, keepdim=True)', pp), { a = xn })
end
case("norm 'fro' dims {1, 2}", function(a) return a:norm('fro', { 1, 2 }) end, "torch.norm(a, 'fro', (0, 1))", { a = xn })
case('norm opts table', function(a) return a:norm({ p = 1, dim = 1 }) end, 'torch.norm(a, 1, 0)', { a = xn })
case('norm of empty dim', function(a) return a:norm(2, 2) end, 'torch.norm(a, 2, 1)', { a = torch.randn(3, 0) })
case('norm inf of empty dim', function(a) return a:norm(math.huge, 2) end, "torch.norm(a, float('inf'), 1)",
     { a = torch.randn(3, 0) })
case('norm float64 dtype', function(a) return a:norm(2, 1, { dtype = 'float64' }) end,
     'torch.norm(a, 2, 0, dtype=torch.float64)', { a = xn })
for _, c in ipairs({ 0, 1, 2 }) do
  case('var correction ' .. c, function(a) return a:var(2, { correction = c }) end,
       string.format('torch.var(a, 1, correction=%d)', c), { a = xn })
  case('std correction ' .. c .. ' everything', function(a) return a:std({ correction = c }) end,
       string.format('torch.std(a, None, correction=%d).item()', c), { a = xn })
end
case('var unbiased=false', function(a) return a:var(1, { unbiased = false }) end, 'torch.var(a, 0, unbiased=False)',
     { a = xn })
case('var(false)', function(a) return a:var(false) end, 'torch.var(a, False).item()', { a = xn })
case('var of one element', function(a) return a:var(1) end, 'torch.var(a, 0)', { a = torch.randn(1, 3) })
case('var of large mean (float32)', function(a) return a:var(1) end, 'torch.var(a.double(), 0).float()',
     { a = torch.randn(5000, 3):add_(1e4) }, { atol = 0, rtol = 1e-3 })
case('var_mean', function(a) return { a:var_mean(2) } end, 'out = list(torch.var_mean(a, 1))', { a = xn })
case('std_mean keepdim correction 0', function(a) return { a:std_mean(1, true, { correction = 0 }) } end,
     'out = list(torch.std_mean(a, 0, keepdim=True, correction=0))', { a = xn })
case('std_mean everything', function(a) return { a:std_mean() } end,
     'out = [t.item() for t in torch.std_mean(a)]', { a = xn })
case('aminmax', function(a) return { a:aminmax() } end, 'out = [t.item() for t in torch.aminmax(a)]', { a = xn })
case('aminmax dim', function(a) return { a:aminmax({ dim = 2, keepdim = true }) } end,
     'out = list(torch.aminmax(a, dim=1, keepdim=True))', { a = xn })
local big = torch.tensor({ { 1000, 1000, -1000 }, { -1e30, 0, 1e30 }, { -math.huge, -math.huge, -math.huge },
                           { math.huge, 1, 2 } })
case('logsumexp of large values', function(a) return a:logsumexp(2) end, 'torch.logsumexp(a, 1)', { a = big })
case('logsumexp of large values float64', function(a) return a:logsumexp(2) end, 'torch.logsumexp(a, 1)',
     { a = big:double() })
case('logsumexp of int64', function(a) return a:logsumexp(1) end, 'torch.logsumexp(a, 0)',
     { a = torch.tensor({ { 1, 2 }, { 3, 4 } }) })
case('logsumexp of an empty dim', function(a) return a:logsumexp(2) end, 'torch.logsumexp(a, 1)',
     { a = torch.randn(2, 0) })

-- ---- dtypes ----

local i32 = torch.tensor({ { 1, -2, 3 }, { 4, 5, -6 } }, { dtype = 'int32' })
case('sum int32 is int64', function(a) return a:sum(1) end, 'torch.sum(a, 0)', { a = i32 })
case('prod int32 is int64', function(a) return a:prod(2) end, 'torch.prod(a, 1)', { a = i32 })
case('sum uint8 is int64', function(a) return a:sum(1) end, 'torch.sum(a, 0)',
     { a = torch.tensor({ { 200, 100 }, { 250, 7 } }, { dtype = 'uint8' }) })
case('all of uint8 is uint8', function(a) return a:all(1) end, 'torch.all(a, 0)',
     { a = torch.tensor({ { 2, 0 }, { 250, 7 } }, { dtype = 'uint8' }) })
case('sum dtype float64', function(a) return a:sum(2, { dtype = 'float64' }) end,
     'torch.sum(a, 1, dtype=torch.float64)', { a = xn })
case('sum dtype int32', function(a) return a:sum(2, { dtype = 'int32' }) end, 'torch.sum(a, 1, dtype=torch.int32)',
     { a = i32 })
case('mean of int64 with dtype', function(a) return a:mean(1, { dtype = 'float64' }) end,
     'torch.mean(a, 0, dtype=torch.float64)', { a = i32:long() })
case('sum float16', function(a) return a:sum(2) end, 'torch.sum(a.float(), 1).half()',
     { a = torch.randn(4, 50):half() }, ref.tolerance('float16'))
case('mean bfloat16 dim 1', function(a) return a:mean(1) end, 'torch.mean(a.float(), 0).bfloat16()',
     { a = torch.randn(40, 5):bfloat16() }, ref.tolerance('bfloat16'))
case('amax float16', function(a) return a:amax(1) end, 'torch.amax(a, 0)', { a = torch.randn(6, 5):half() })

-- ---- cumulative ----

for _, dtype in ipairs({ 'float32', 'float64', 'int64', 'bool' }) do
  for _, l in ipairs(layouts(dtype, 'positive')) do
    local lname, x = l[1], l[2]
    local nd = math.max(1, x:dim())
    for _, d in ipairs({ 1, nd, -1 }) do
      for _, op in ipairs({ 'cumsum', 'cumprod' }) do
        if not (op == 'cumprod' and lname == 'wide') then
          case(string.format('%s %s %s dim %d', op, dtype, lname, d), function(a) return a[op](a, d) end,
               string.format('torch.%s(a, %s)', op, py_dim(d)), { a = x }, tol_for(dtype, x:numel()))
        end
      end
    end
  end
end
case('cumsum dtype float32 of int64', function(a) return a:cumsum(1, { dtype = 'float32' }) end,
     'torch.cumsum(a, 0, dtype=torch.float32)', { a = torch.tensor({ 1, 2, 3 }) })
case('cumsum_ in place', function(a)
  local c = a:clone()
  c:cumsum_(2)
  return c
end, 'torch.cumsum(a, 1)', { a = xn })
case('cumsum reverse (the backward of cumsum)', function(a) return require('tensor.reduce').cumsum_reverse(a, 2) end,
     'torch.flip(torch.cumsum(torch.flip(a, [1]), 1), [1])', { a = xn })

-- ---- long reductions: chunked inner and outer paths, full reductions ----

local long_inner = torch.randn(3, 200000)
local long_outer = torch.randn(200000, 3)
local long_full = torch.rand(300000)
local narrow_full = torch.rand(600, 1001):narrow(2, 1, 1000)
-- (the reference computes in float64: PyTorch's own float32 norm over a long outer dim is off by 2e-5)
for _, op in ipairs({ 'sum', 'mean', 'amax', 'amin', 'var', 'logsumexp', 'norm', 'argmax', 'argmin' }) do
  local py = (op == 'argmax' or op == 'argmin') and 'torch.%s(a, %s) + 1'
          or op == 'norm' and 'torch.%s(a.double(), 2, %s).float()' or 'torch.%s(a.double(), %s).float()'
  local function f(a, d)
    if op == 'norm' then return a:norm(2, d) end
    return a[op](a, d)
  end
  case(op .. ' long inner', function(a) return f(a, 2) end, string.format(py, op, '1'), { a = long_inner },
       { atol = 1e-4, rtol = 1e-5 })
  case(op .. ' long outer', function(a) return f(a, 1) end, string.format(py, op, '0'), { a = long_outer },
       { atol = 1e-4, rtol = 1e-5 })
end
for _, op in ipairs({ 'sum', 'mean', 'amax', 'var', 'logsumexp', 'norm', 'prod' }) do
  local pyop = op == 'logsumexp' and 'torch.logsumexp(a, tuple(range(a.dim())))' or 'torch.' .. op .. '(a)'
  case(op .. ' of 300000 elements', function(a) return a[op](a) end, pyop .. '.item()', { a = long_full },
       { atol = 1e-4, rtol = 1e-5 })
  case(op .. ' of a narrowed 600x1000', function(a) return a[op](a) end, pyop .. '.item()', { a = narrow_full },
       { atol = 1e-4, rtol = 1e-5 })
end
case('argmax of 300000 elements', function(a) return a:argmax() end, 'torch.argmax(a).item() + 1', { a = long_full })
case('sum over dims {1, 3} of a 4-d tensor', function(a) return a:sum({ 1, 3 }) end, 'torch.sum(a, (0, 2))',
     { a = torch.randn(6, 5, 40, 3) })
case('mean over dims {2, 4} keepdim of a permuted 4-d tensor', function(a) return a:mean({ 2, 4 }, true) end,
     'torch.mean(a, (1, 3), keepdim=True)', { a = torch.randn(6, 5, 4, 3):permute(4, 2, 1, 3) })

-- ---- size-1 dims, single-element reductions, wide integers ----

local ones_dim = torch.randn(3, 1, 4)
for _, op in ipairs({ 'sum', 'mean', 'amax', 'prod', 'logsumexp', 'var', 'argmax' }) do
  local py = op == 'argmax' and 'torch.argmax(a, 1) + 1' or string.format('torch.%s(a, 1)', op)
  case(op .. ' over a size-1 dim', function(a) return a[op](a, 2) end, py, { a = ones_dim })
end
case('max over a size-1 dim keepdim', function(a)
  local v, i = a:max(2, true)
  return { v, i }
end, 'r = torch.max(a, 1, keepdim=True)\nout = [r[0], r[1] + 1]', { a = ones_dim })
case('sum over dims {1, 3} with a size-1 dim between', function(a) return a:sum({ 1, 3 }) end, 'torch.sum(a, (0, 2))',
     { a = ones_dim })
case('sum of int32 beyond 2^31 is exact in int64', function(a) return a:sum(1) end, 'torch.sum(a, 0)',
     { a = torch.full({ 4, 2 }, 2000000000, { dtype = 'int32' }) })
case('sum of int64 wraps like PyTorch', function(a) return a:sum(1) end, 'torch.sum(a, 0)',
     { a = torch.tensor({ { 9223372036854775807LL }, { 1 } }, { dtype = 'int64' }) })
case('cumsum of an expanded tensor', function(a) return a:cumsum(1) end, 'torch.cumsum(a, 0)',
     { a = torch.randn(1, 5):expand(4, 5) })
case('cumprod of a transposed int64 tensor', function(a) return a:cumprod(2) end, 'torch.cumprod(a, 1)',
     { a = torch.randint(-3, 4, { 5, 6 }):t() })
case('sum into a transposed out=', function(a)
  local out = torch.empty(5, 4):t()
  torch.sum(a, 3, { out = out })
  return out
end, 'torch.sum(a, 2)', { a = torch.randn(4, 5, 6) })
case('cumsum out=', function(a)
  local out = torch.empty(0)
  local r = torch.cumsum(a, 2, { out = out })
  assert(r == out)
  return out
end, 'torch.cumsum(a, 1)', { a = xn })

-- ---- out= and {tensor=true} ----

case('torch.sum out=', function(a)
  local out = torch.empty(1)
  local r = torch.sum(a, 2, { out = out })
  assert(r == out)
  return out
end, 'torch.sum(a, 1)', { a = xn })
case('torch.max out={values, indices}', function(a)
  local v, i = torch.empty(0), torch.empty(0, { dtype = 'int64' })
  local rv, ri = torch.max(a, 1, { out = { v, i } })
  assert(rv == v and ri == i)
  return { v, i }
end, 'r = torch.max(a, 0)\nout = [r[0], r[1] + 1]', { a = xn })
case('sum {tensor=true} is 0-d', function(a) return a:sum({ tensor = true }) end, 'torch.sum(a)', { a = xn })
case('reduce.tensor mean', function(a) return require('tensor.reduce').tensor('mean', a) end, 'torch.mean(a)',
     { a = xn })
case('reduce.tensor norm p=1 dim 1', function(a) return require('tensor.reduce').tensor('norm', a, 1, { p = 1 }) end,
     'torch.norm(a, 1, 0)', { a = xn })

-- ---- comparison ----

local function check(got, expected, tol)
  if type(expected) == 'table' and expected.dtype == nil then
    assert(type(got) == 'table', 'expected several results, got ' .. type(got))
    assert.are.equal(#expected, #got)
    for i = 1, #expected do check(got[i], expected[i], tol) end
    return
  end
  if type(expected) == 'table' then
    local ok, msg = ref.compare(got, expected, tol or ref.tolerance(expected.dtype))
    assert(ok, msg)
    return
  end
  assert.are.equal(type(expected), type(got))
  if type(expected) == 'number' then
    tol = tol or { atol = 0, rtol = 0 }
    if expected ~= expected then
      assert(got ~= got, 'expected NaN, got ' .. tostring(got))
    elseif expected ~= got then
      assert(math.abs(got - expected) <= (tol.atol or 0) + (tol.rtol or 0) * math.abs(expected),
             string.format('got %.17g, expected %.17g', got, expected))
    end
  else
    assert.are.equal(expected, got)
  end
end

describe('reductions match PyTorch', function()
  local batch = {}
  for i, cs in ipairs(cases) do
    local code = cs.python
    if not code:match('out =') then code = 'out = ' .. code end
    batch[i] = { code = code, inputs = cs.inputs }
  end
  local results = ref.batch(batch)
  for i, cs in ipairs(cases) do
    it(cs.name, function()
      local argv = {}
      for _, k in ipairs({ 'a', 'b' }) do
        if cs.inputs[k] ~= nil then argv[#argv + 1] = cs.inputs[k] end
      end
      check(cs.fn(unpack(argv)), results[i], cs.tol)
    end)
  end
end)

describe('reduction numerics', function()
  it('sums 10^7 float32 ones exactly', function()
    assert.are.equal(1e7, torch.ones(10000000):sum())
    assert.are.equal(1e7, torch.ones(10000, 1000):sum(2):sum())
    assert.are.equal(1e7, torch.ones(1000, 10000):sum(1):sum())
    local col = torch.ones(10000000, 2):select(2, 1) -- strided (gathered) runs
    assert.are.equal(1e7, col:sum())
    assert.are.equal(1e7, torch.ones(10000000, 2):sum(1)[1])
  end)
  it('sums 10^7 float32 values as accurately as float64', function()
    local x = torch.rand(10000000)
    local exact = x:double():sum()
    assert(math.abs(x:sum() - exact) <= 1e-6 * exact, 'float32 sum ' .. x:sum() .. ' vs ' .. exact)
    assert(math.abs(x:mean() - exact / 1e7) <= 1e-6 * exact / 1e7)
  end)
  it('gives the same results on 1 and 2 threads', function()
    local threads = torch.get_num_threads()
    local x = torch.randn(1000003)
    local y = torch.randn(997, 1013)
    local function results()
      return { x:sum(), x:var(), x:logsumexp(), x:norm(), y:sum(1):sum(), y:sum(2):sum(), y:t():sum(1):sum(),
               x:view(1000003, 1):sum(1):item(), x:argmax() }
    end
    torch.set_num_threads(1)
    local one = results()
    torch.set_num_threads(2)
    local two = results()
    torch.set_num_threads(threads)
    for i = 1, #one do assert.are.equal(one[i], two[i]) end
  end)
  it('computes logsumexp of large values without overflow', function()
    local r = torch.tensor({ 1000, 1000 }):logsumexp()
    assert(math.abs(r - (1000 + math.log(2))) < 1e-3, tostring(r))
    local d = torch.tensor({ 1e300, 1e300 }, { dtype = 'float64' }):logsumexp()
    assert(math.abs(d - (1e300 + math.log(2))) <= 1e285, tostring(d))
  end)
  it('returns numbers and booleans over everything, tensors with a dim', function()
    local x = torch.tensor({ { 1, 2 }, { 3, 4 } })
    assert.are.equal(10, x:sum())
    assert.are.equal('number', type(x:float():mean()))
    assert.are.equal(true, x:all())
    assert.are.equal(false, x:eq(7):any())
    assert.are.equal(4, x:argmax())
    assert.are.equal(1, x:argmin())
    assert.are.equal(4, x:max())
    assert.are.equal('int64', x:sum(1):dtype())
    assert.are.equal(0, x:sum({ tensor = true }):dim())
    local v, i = x:max(1)
    assert.are.same({ 3, 4 }, v:tolist())
    assert.are.same({ 2, 2 }, i:tolist())
    local lo, hi = x:aminmax()
    assert.are.same({ 1, 4 }, { lo, hi })
  end)
  it('handles empty tensors like PyTorch', function()
    local e = torch.zeros(0, 3)
    assert.are.equal(0, e:sum())
    assert.are.equal(1, e:prod())
    assert(e:mean() ~= e:mean(), 'mean of nothing is NaN')
    assert.are.equal(true, e:all())
    assert.are.equal(false, e:any())
    assert.are.same({ 0, 0, 0 }, e:sum(1):tolist())
    assert.are.same({ 0, 3 }, e:cumsum(1):shape())
  end)
end)

describe('reduction errors', function()
  local function message(fn, ...)
    local ok, err = pcall(fn, ...)
    assert.is_false(ok)
    return tostring(err)
  end
  local x = torch.randn(2, 3)
  it('names the function and the dim when a dim is out of range', function()
    local m = message(function() return x:sum(3) end)
    assert.matches('sum', m)
    assert.matches('dimension 3 out of range', m)
    assert.matches('dimension %-3 out of range', message(function() return x:max(-3) end))
    assert.matches('cumsum', message(function() return x:cumsum(5) end))
    assert.matches('dimension 0 is invalid', message(function() return x:mean(0) end))
  end)
  it('refuses a dim listed twice', function()
    assert.matches('sum: dimension 2 appears more than once', message(function() return x:sum({ 2, -1 }) end))
  end)
  it('refuses max, min and arg reductions over nothing', function()
    assert.matches('max: cannot reduce over dimension 1 of size 0', message(function() return torch.zeros(0, 3):max(1) end))
    assert.matches('max.*empty', message(function() return torch.zeros(0):max() end))
    assert.matches('min.*empty', message(function() return torch.zeros(2, 0):min() end))
    assert.matches('argmax.*size 0', message(function() return torch.zeros(2, 0):argmax(2) end))
    assert.matches('amin.*empty', message(function() return torch.zeros(0):amin() end))
    assert.matches('aminmax.*empty', message(function() return torch.zeros(0):aminmax() end))
  end)
  it('refuses means, variances and norms of integers', function()
    assert.matches('mean: expected a floating point tensor, got int64', message(function() return torch.tensor({ 1, 2 }):mean() end))
    assert.matches('var: expected a floating point tensor, got int64', message(function() return torch.tensor({ 1, 2 }):var() end))
    assert.matches('std.*int32', message(function() return torch.tensor({ 1, 2 }, { dtype = 'int32' }):std(1) end))
    assert.matches('norm.*int64', message(function() return torch.tensor({ 1, 2 }):norm() end))
    assert.matches('nanmean.*int64', message(function() return torch.tensor({ 1, 2 }):nanmean() end))
  end)
  it('refuses bad arguments', function()
    assert.matches('argmax: expected one dim', message(function() return x:argmax({ 1, 2 }) end))
    assert.matches('max: expected one dim', message(function() return x:max({ 1, 2 }) end))
    assert.matches('keepdim must be a boolean', message(function() return x:sum(1, 1) end))
    assert.matches('amax: does not take a dtype', message(function() return x:amax(1, { dtype = 'float64' }) end))
    assert.matches("sum: unknown dtype 'float8'", message(function() return x:sum(1, { dtype = 'float8' }) end))
    assert.matches('cumsum: a dim is required', message(function() return x:cumsum() end))
    assert.matches('norm.*nuc', message(function() return x:norm('nuc') end))
    assert.matches('norm: p must be', message(function() return x:norm('two') end))
    assert.matches('var: give correction or unbiased', message(function() return x:var(1, { correction = 1, unbiased = true }) end))
    assert.matches('sum: expected a tensor', message(function() return torch.sum(3) end))
    assert.matches('cumsum_: the result of type int64 cannot be written in place into a int32',
                   message(function() return torch.tensor({ 1 }, { dtype = 'int32' }):cumsum_(1) end))
  end)
  it('refuses an out= tensor of the wrong dtype', function()
    assert.matches('sum: out= has dtype float64 but the result is float32',
                   message(function() return torch.sum(x, 1, { out = torch.empty(3, { dtype = 'float64' }) }) end))
  end)
end)

-- ---- softmax and log_softmax as methods, dist ----
do
  local cases = require('helpers.cases').new()
  local x = torch.randn(3, 5):mul_(3)
  cases:add('x:softmax, x:log_softmax', function(t) return { t.x:softmax(2), t.x:t():log_softmax(1), torch.softmax(t.x, -1) } end,
            'out = [x.softmax(1), x.t().log_softmax(0), torch.softmax(x, -1)]', { x = x })
  cases:add('softmax float64 of large values', function(t) return t.x:softmax(1) end, 'out = x.softmax(0)',
            { x = torch.tensor({ 1000, 1001, 999 }):double() })
  for _, p in ipairs({ 2, 1, 3.5, 0, math.huge }) do
    cases:add('dist p=' .. p, function(t) return torch.dist(t.x, t.y, p) end,
              ('out = torch.dist(x, y, %s).item()'):format(p == math.huge and 'float("inf")' or p),
              { x = torch.randn(4, 3):double(), y = torch.randn(3):double() }, { atol = 1e-12, rtol = 1e-10 })
  end
  cases:add('dist default p', function(t) return t.x:dist(t.y) end, 'out = x.dist(y).item()',
            { x = torch.randn(5), y = torch.randn(5) }, { atol = 1e-5, rtol = 1e-5 })
  cases:describe('softmax methods and dist match PyTorch')

  it('softmax needs a dim, dist a tensor', function()
    local message = require 'helpers.failure'
    assert.matches('softmax: expected a dim', message(function() return x:softmax() end))
    assert.matches('dist: expected a tensor', message(function() return x:dist(2) end))
  end)
end

-- ---- logcumsumexp, cummax, cummin ----
do
  local cases = require('helpers.cases').new()
  local D = { dtype = 'float64' }
  local x = torch.tensor({ { 1, 3, 2, 3, 0 / 0, 5, 1 }, { -1, -5, -2, -7, 4, 4, -9 } }, D)
  cases:add('cummax and cummin with ties and NaN, both dims', function(t)
    local v1, i1 = t.x:cummax(2)
    local v2, i2 = torch.cummin(t.x, 2)
    local v3, i3 = t.y:cummax(1)
    local v4, i4 = t.y:t():cummin(-1)
    return { v1, i1, v2, i2, v3, i3, v4, i4 }
  end, [[
out = []
for v, i in (x.cummax(1), torch.cummin(x, 1), y.cummax(0), y.t().cummin(-1)):
    out += [v, i + 1]
]], { x = x, y = torch.randint(0, 4, { 9, 3 }) })
  cases:add('logcumsumexp across magnitudes, float32 and of integers', function(t)
    return { t.a:logcumsumexp(1), t.b:logcumsumexp(2), torch.logcumsumexp(t.i, 1) }
  end, 'out = [a.logcumsumexp(0), b.logcumsumexp(1), torch.logcumsumexp(i.float(), 0)]', -- (PyTorch refuses integers)
            { a = torch.tensor({ -1000, 0, 1000, 1000, -math.huge, 3 }, D), b = torch.randn(3, 17):mul(20),
              i = torch.tensor({ 1, 2, 3 }) })
  cases:add('gradients of logcumsumexp and cummax values', function(t)
    local a, b = t.x:clone():requires_grad_(), t.x:clone():requires_grad_()
    a:logcumsumexp(2):mul(t.w):sum():backward()
    local v = b:cummax(2)
    v:mul(t.w):sum():backward()
    return { a.grad, b.grad }
  end, [[
a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
(a.logcumsumexp(1) * w).sum().backward()
(b.cummax(1).values * w).sum().backward()
out = [a.grad, b.grad]
]], { x = torch.randn(3, 6):double(), w = torch.randn(3, 6):double() })
  cases:describe('running reductions match PyTorch')

  it('running reductions need a dim', function()
    assert.matches('cummax: expected a dim', require('helpers.failure')(function() return torch.ones(3):cummax() end), 1, true)
  end)
end
