-- Ordering ops against PyTorch: sort (stable, both directions, NaN and -0.0, every dtype, rows short and long,
-- strided), argsort, msort, topk (heap and quickselect paths), kthvalue, unique (sorted, inverse, counts, dim),
-- unique_consecutive, searchsorted and bucketize; empty and 0-d inputs; out= forms; errors.
-- Our indices are 1-based: the Python side adds 1 to every index it returns.
local torch = require 'tensor'
local ref = require 'helpers.torchref'

torch.manual_seed(99)

local cases = {}
local function case(name, fn, python, inputs, tol)
  cases[#cases + 1] = { name = name, fn = fn, python = python, inputs = inputs, tol = tol }
end

-- Values with many ties (to see stability) or none, in each dtype.
local function ties(dtype, ...)
  if dtype == 'bool' then return torch.rand(...):gt(0.5) end
  return torch.randint(-3, 4, { ... }):to(dtype)
end
local function distinct(dtype, ...)
  local n = 1
  for _, s in ipairs({ ... }) do n = n * s end
  local t = torch.randperm(n):view(...):add(-math.floor(n / 2))
  if dtype == 'float32' or dtype == 'float64' then return t:to(dtype):mul(0.37) end
  return t:to(dtype)
end

local SORT_DTYPES = { 'float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool' }

-- ---- sort ----
for _, dt in ipairs(SORT_DTYPES) do
  for _, desc in ipairs({ false, true }) do
    local py_desc = desc and 'True' or 'False'
    -- ties everywhere: indices show whether the sort is stable
    for _, shape in ipairs({ { 7 }, { 5, 40 }, { 3, 300 }, { 2, 5000 } }) do
      local x = ties(dt, unpack(shape))
      case(('sort %s desc=%s [%s]'):format(dt, tostring(desc), table.concat(shape, 'x')),
           function(t) return { t.x:sort(-1, desc) } end,
           ('v, i = torch.sort(x, stable=True, dim=-1, descending=%s); out = [v, i + 1]'):format(py_desc), { x = x })
    end
    local x = ties(dt, 30, 6)
    case(('sort %s desc=%s along dim 1'):format(dt, tostring(desc)), function(t) return { t.x:sort(1, desc) } end,
         ('v, i = torch.sort(x, stable=True, dim=0, descending=%s); out = [v, i + 1]'):format(py_desc), { x = x })
  end
end
do
  local x = torch.randn(6, 50)
  case('sort transposed input', function(t) return { t.x:t():sort(1) } end,
       'v, i = torch.sort(x.t(), stable=True, dim=0); out = [v, i + 1]', { x = x })
  case('sort narrowed 3-d input, middle dim', function(t) return { t.x:narrow(3, 2, 3):sort(2, true) } end,
       'v, i = torch.sort(x[:, :, 1:4], stable=True, dim=1, descending=True); out = [v, i + 1]', { x = torch.randn(4, 33, 5) })
  case('sort expanded input', function(t) return { t.x:expand(3, 40):sort(2) } end,
       'v, i = torch.sort(x.expand(3, 40), stable=True, dim=1); out = [v, i + 1]', { x = torch.randn(1, 40) })
  local special = torch.tensor({ 0 / 0, 1, -0.0, 0.0, -1 / 0, 1 / 0, -0.0, 0 / 0, -2, 0.0 })
  for _, dt in ipairs({ 'float32', 'float64', 'float16', 'bfloat16' }) do
    for _, desc in ipairs({ false, true }) do
      case(('sort %s NaN, inf and signed zeros desc=%s'):format(dt, tostring(desc)),
           function(t) return { t.x:sort(1, desc) } end,
           ('v, i = torch.sort(x, stable=True, dim=0, descending=%s); out = [v, i + 1]'):format(desc and 'True' or 'False'),
           { x = special:to(dt) })
    end
  end
  local big = torch.randn(2, 3000):mul(1e3)
  big:narrow(2, 1, 100):fill_(0 / 0)
  case('sort long rows with NaN', function(t) return { t.x:sort(2, true) } end,
       'v, i = torch.sort(x, stable=True, dim=1, descending=True); out = [v, i + 1]', { x = big })
  case('sort int64 full range', function(t) return { t.x:sort() } end,
       'v, i = torch.sort(x, stable=True); out = [v, i + 1]',
       { x = torch.tensor({ 9007199254740993, -9007199254740993, 0, 1, -1, 2 ^ 62, -2 ^ 62, 3, 2 ^ 40 }, { dtype = 'int64' }) })
  case('sort options table', function(t) return { t.x:sort({ dim = 1, descending = true }) } end,
       'v, i = torch.sort(x, stable=True, dim=0, descending=True); out = [v, i + 1]', { x = ties('float32', 9, 4) })
  case('sort empty', function(t) return { t.x:sort(1) } end, 'v, i = torch.sort(x, 0); out = [v, i + 1]',
       { x = torch.randn(0, 4) })
  case('sort 0-d', function(t) return { t.x:sort() } end, 'v, i = torch.sort(x); out = [v, i + 1]',
       { x = torch.tensor(3.5) })
  case('sort out=', function(t)
    local v, i = torch.empty(0), torch.empty(0, { dtype = 'int64' })
    local rv, ri = torch.sort(t.x, 2, false, { out = { v, i } })
    assert(rv == v and ri == i)
    return { v, i }
  end, 'v, i = torch.sort(x, stable=True, dim=1); out = [v, i + 1]', { x = ties('float32', 4, 9) })
  case('argsort', function(t) return t.x:argsort(1, true) end, 'out = torch.sort(x, stable=True, dim=0, descending=True)[1] + 1',
       { x = ties('int64', 50, 3) })
  case('msort', function(t) return t.x:msort() end, 'out = torch.msort(x)', { x = torch.randn(20, 3) })
  -- rows of 2^16 elements and more sort with 11-bit radix digits
  case('sort 10^5 float32 with ties', function(t) return { t.x:sort(1, true) } end,
       'v, i = torch.sort(x, stable=True, dim=0, descending=True); out = [v, i + 1]',
       { x = torch.randint(-300, 300, { 100000 }):float():div(7) })
  case('sort 10^5 float64', function(t) return { t.x:sort() } end,
       'v, i = torch.sort(x, stable=True); out = [v, i + 1]', { x = torch.randn(100000, { dtype = 'float64' }) })
  case('sort 10^5 int64 with ties', function(t) return { t.x:sort() } end,
       'v, i = torch.sort(x, stable=True); out = [v, i + 1]', { x = torch.randint(-2 ^ 40, 2 ^ 40, { 100000 }):div(2 ^ 30, { rounding_mode = 'floor' }) })
  case('sort many short rows (threaded)', function(t) return { t.x:sort(2) } end,
       'v, i = torch.sort(x, stable=True, dim=1); out = [v, i + 1]', { x = ties('float32', 3000, 20) })
end

-- ---- topk ----
for _, dt in ipairs({ 'float32', 'float64', 'int64', 'int32', 'float16', 'uint8' }) do
  for _, largest in ipairs({ true, false }) do
    local py = largest and 'True' or 'False'
    -- k small against the row (the heap path) and k large (quickselect)
    for _, shape_k in ipairs({ { 6, 200, 5 }, { 6, 200, 150 }, { 3, 10, 10 }, { 2, 4000, 1 }, { 5, 9, 0 } }) do
      local rows, n, k = shape_k[1], shape_k[2], shape_k[3]
      local x = dt == 'uint8' and torch.randperm(n):remainder(250):view(1, n):expand(rows, n):contiguous():byte()
        or distinct(dt, rows, n)
      if dt == 'uint8' then k = math.min(k, 1) end -- uint8 values repeat; keep the selection unambiguous
      -- (PyTorch's CPU topk lacks float16: its reference runs in float32, exactly, on integral values)
      if not (dt == 'float16' and n > 2048) then -- float16 cannot keep larger integers apart
        case(('topk %s largest=%s n=%d k=%d'):format(dt, tostring(largest), n, k),
             function(t) return { t.x:topk(k, 2, largest) } end,
             ('v, i = torch.topk(x.float() if x.dtype == torch.float16 else x, %d, 1, %s); out = [v.to(x.dtype), i + 1]')
               :format(k, py), { x = x })
      end
    end
  end
end
do
  local x = distinct('float32', 40, 7)
  case('topk along dim 1', function(t) return { t.x:topk(3, 1) } end, 'v, i = torch.topk(x, 3, 0); out = [v, i + 1]',
       { x = x })
  case('topk transposed', function(t) return { t.x:t():topk(4) } end, 'v, i = torch.topk(x.t(), 4); out = [v, i + 1]',
       { x = x })
  case('topk NaN counts as the largest', function(t) return { t.x:topk(2) } end,
       'v, i = torch.topk(x, 2); out = [v, i + 1]', { x = torch.tensor({ 1, 0 / 0, 3, 2 }):float() })
  case('topk options table', function(t) return { t.x:topk(2, { dim = 1, largest = false }) } end,
       'v, i = torch.topk(x, 2, 0, False); out = [v, i + 1]', { x = x })
  case('topk 0-d', function(t) return { t.x:topk(1) } end, 'v, i = torch.topk(x, 1); out = [v, i + 1]',
       { x = torch.tensor(2.5) })
  case('topk 0-d with k = 0 gives the element', function(t) return { t.x:topk(0) } end,
       'v, i = torch.topk(x, 0); out = [v, i + 1]', { x = torch.tensor(2.5) })
  case('topk out=', function(t)
    local v, i = torch.empty(0), torch.empty(0, { dtype = 'int64' })
    torch.topk(t.x, 2, 1, true, true, { out = { v, i } })
    return { v, i }
  end, 'v, i = torch.topk(x, 2, 0); out = [v, i + 1]', { x = x })
  case('topk one long row', function(t) return { t.x:topk(10) } end, 'v, i = torch.topk(x, 10); out = [v, i + 1]',
       { x = distinct('float32', 100000) })
end

-- ---- kthvalue ----
for _, dt in ipairs({ 'float32', 'float64', 'int64', 'int16' }) do
  local x = distinct(dt, 5, 301)
  for _, k in ipairs({ 1, 17, 150, 301 }) do
    case(('kthvalue %s k=%d'):format(dt, k), function(t) return { t.x:kthvalue(k) } end,
         ('v, i = torch.kthvalue(x, %d); out = [v, i + 1]'):format(k), { x = x })
  end
end
do
  local x = distinct('float64', 6, 8, 5)
  case('kthvalue dim 2 keepdim', function(t) return { t.x:kthvalue(3, 2, true) } end,
       'v, i = torch.kthvalue(x, 3, 1, True); out = [v, i + 1]', { x = x })
  case('kthvalue transposed', function(t) return { t.x:transpose(1, 3):kthvalue(2, 1) } end,
       'v, i = torch.kthvalue(x.transpose(0, 2), 2, 0); out = [v, i + 1]', { x = x })
  case('kthvalue with NaN', function(t) return { t.x:kthvalue(4) } end,
       'v, i = torch.kthvalue(x, 4); out = [v, i + 1]', { x = torch.tensor({ 0 / 0, 3, 1, 2 }):float() })
  case('kthvalue 0-d', function(t) return { t.x:kthvalue(1) } end, 'v, i = torch.kthvalue(x, 1); out = [v, i + 1]',
       { x = torch.tensor(7) })
  case('kthvalue out=', function(t)
    local v, i = torch.empty(0, { dtype = 'float64' }), torch.empty(0, { dtype = 'int64' })
    torch.kthvalue(t.x, 2, 3, { out = { v, i } })
    return { v, i }
  end, 'v, i = torch.kthvalue(x, 2, 2); out = [v, i + 1]', { x = x })
end

-- ---- unique ----
for _, dt in ipairs({ 'float32', 'float64', 'int64', 'int32', 'uint8', 'bool', 'float16' }) do
  local x = dt == 'uint8' and torch.randint(0, 9, { 7, 11 }):byte() or ties(dt, 7, 11)
  -- (PyTorch's CPU unique lacks float16: its reference runs in float32 on the same values)
  local xf = 'xf = x.float() if x.dtype == torch.float16 else x; '
  case('unique ' .. dt, function(t) return t.x:unique() end, xf .. 'out = torch.unique(xf).to(x.dtype)', { x = x })
  case('unique inverse counts ' .. dt, function(t) return { t.x:unique(true, true, true) } end,
       xf .. 'v, i, c = torch.unique(xf, sorted=True, return_inverse=True, return_counts=True); ' ..
       'out = [v.to(x.dtype), i + 1, c]', { x = x })
  case('unique_consecutive ' .. dt, function(t) return { t.x:unique_consecutive(true, true) } end,
       xf .. 'v, i, c = torch.unique_consecutive(xf, return_inverse=True, return_counts=True); ' ..
       'out = [v.to(x.dtype), i + 1, c]', { x = x })
end
do
  local rows = torch.randint(0, 2, { 12, 3 })
  case('unique dim 1', function(t) return { t.x:unique(true, true, true, 1) } end,
       'v, i, c = torch.unique(x, return_inverse=True, return_counts=True, dim=0); out = [v, i + 1, c]', { x = rows })
  case('unique dim 2', function(t) return { t.x:t():unique(true, true, true, 2) } end,
       'v, i, c = torch.unique(x.t(), return_inverse=True, return_counts=True, dim=1); out = [v, i + 1, c]',
       { x = rows })
  case('unique dim 2 of a 3-d tensor', function(t) return { t.x:unique({ dim = 2, return_counts = true }) } end,
       'v, c = torch.unique(x, return_counts=True, dim=1); out = [v, c]',
       { x = torch.randint(0, 2, { 2, 9, 2 }):float() })
  case('unique options table, inverse only', function(t) return { t.x:unique({ return_inverse = true }) } end,
       'v, i = torch.unique(x, return_inverse=True); out = [v, i + 1]', { x = ties('int64', 40) })
  case('unique_consecutive dim', function(t) return { t.x:unique_consecutive(false, true, 1) } end,
       'v, c = torch.unique_consecutive(x, return_counts=True, dim=0); out = [v, c]',
       { x = torch.tensor({ { 1, 2 }, { 1, 2 }, { 3, 4 }, { 1, 2 } }) })
  case('unique empty', function(t) return { t.x:unique(true, true, true) } end,
       'v, i, c = torch.unique(x, return_inverse=True, return_counts=True); out = [v, i + 1, c]',
       { x = torch.randn(0, 3) })
  case('unique -0.0 and 0.0 are one value', function(t) return { t.x:unique(true, false, true) } end,
       'v, c = torch.unique(x, return_counts=True); out = [v.abs(), c]', { x = torch.tensor({ 0.0, -0.0, 1, 0.0 }):float() })
  case('unique float32 large (radix)', function(t) return { t.x:unique(true, true, true) } end,
       'v, i, c = torch.unique(x, return_inverse=True, return_counts=True); out = [v, i + 1, c]',
       { x = torch.randint(-500, 500, { 100000 }):float():div(4) })
  case('unique int64 wide range (sort, not counting)', function(t) return { t.x:unique(true, true, true) } end,
       'v, i, c = torch.unique(x, return_inverse=True, return_counts=True); out = [v, i + 1, c]',
       { x = torch.randint(-2 ^ 50, 2 ^ 50, { 3000 }):remainder(2 ^ 45):mul(3) })
  case('unique large', function(t) return { t.x:unique(true, true, true) } end,
       'v, i, c = torch.unique(x, return_inverse=True, return_counts=True); out = [v, i + 1, c]',
       { x = torch.randint(-1000, 1000, { 100000 }) })
end

-- ---- searchsorted and bucketize ----
for _, dt in ipairs({ 'float32', 'float64', 'int64' }) do
  local seq = ties(dt, 30):sort()
  local vals = ties(dt, 4, 6)
  for _, right in ipairs({ false, true }) do
    case(('searchsorted %s right=%s'):format(dt, tostring(right)),
         function(t) return torch.searchsorted(t.s, t.v, { right = right }) end,
         ('out = torch.searchsorted(s, v, right=%s) + 1'):format(right and 'True' or 'False'), { s = seq, v = vals })
    case(('bucketize %s right=%s'):format(dt, tostring(right)),
         function(t) return t.v:bucketize(t.s, { right = right }) end,
         ('out = torch.bucketize(v, s, right=%s) + 1'):format(right and 'True' or 'False'), { s = seq, v = vals })
  end
end
do
  local seq = torch.randn(3, 10):sort()
  case('searchsorted N-d rows', function(t) return torch.searchsorted(t.s, t.v) end,
       'out = torch.searchsorted(s, v) + 1', { s = seq, v = torch.randn(3, 7) })
  case('searchsorted side=right, int32 result', function(t)
    return torch.searchsorted(t.s, t.v, { side = 'right', out_int32 = true })
  end, "out = torch.searchsorted(s, v, side='right', out_int32=True) + 1", { s = seq, v = torch.randn(3, 7) })
  case('searchsorted transposed values and mixed dtypes', function(t) return torch.searchsorted(t.s, t.v:t()) end,
       'out = torch.searchsorted(s.double(), v.t().double()) + 1',
       { s = torch.arange(0, 10, { dtype = 'int64' }), v = torch.randn(5, 4, { dtype = 'float64' }):mul(5) })
  case('searchsorted NaN goes last', function(t) return torch.searchsorted(t.s, t.v) end,
       'out = torch.searchsorted(s, v) + 1', { s = torch.tensor({ 1, 2, 3 }):float(), v = torch.tensor({ 0 / 0, 2 }):float() })
  case('searchsorted scalar value', function(t) return torch.searchsorted(t.s, 2.5) end,
       'out = torch.searchsorted(s, torch.tensor(2.5)) + 1', { s = torch.tensor({ 1, 2, 3 }):float() })
end

describe('ordering ops match PyTorch', function()
  -- (PyTorch warns about non-contiguous searchsorted inputs; a warning would garble the reply)
  local batch = { { code = "import warnings; warnings.filterwarnings('ignore'); out = 0" } }
  for i, cs in ipairs(cases) do batch[i + 1] = { code = cs.python, inputs = cs.inputs } end
  local results = ref.batch(batch)
  table.remove(results, 1)
  for i, cs in ipairs(cases) do
    it(cs.name, function()
      local got = cs.fn(cs.inputs)
      local expected = results[i]
      if type(got) == 'table' and not got._c then
        assert.are.equal(#expected, #got)
        for k = 1, #got do
          local ok, msg = ref.compare(got[k], expected[k], cs.tol or ref.tolerance(got[k]:dtype()))
          assert(ok, 'result ' .. k .. ': ' .. tostring(msg))
        end
      else
        local ok, msg = ref.compare(got, expected, cs.tol or ref.tolerance(got:dtype()))
        assert(ok, msg)
      end
    end)
  end
end)

describe('ordering semantics', function()
  it('sort is stable in both directions (hand-checked)', function()
    local x = torch.tensor({ 2, 1, 2, 1, 2 })
    local v, i = x:sort()
    assert.are.same({ 1, 1, 2, 2, 2 }, v:tolist())
    assert.are.same({ 2, 4, 1, 3, 5 }, i:tolist())
    v, i = x:sort(1, true)
    assert.are.same({ 2, 2, 2, 1, 1 }, v:tolist())
    assert.are.same({ 1, 3, 5, 2, 4 }, i:tolist())
  end)
  it('unique keeps every NaN apart', function()
    local v, c = torch.tensor({ 0 / 0, 1, 0 / 0, 1 }):float():unique(true, false, true)
    assert.are.equal(3, v:numel())
    assert.are.equal(1, v[1])
    assert.is_true(v[2] ~= v[2] and v[3] ~= v[3])
    assert.are.same({ 2, 1, 1 }, c:tolist())
  end)
  it('topk prefers the earlier of equal elements', function()
    local _, i = torch.tensor({ 5, 7, 7, 5, 7 }):topk(2)
    assert.are.same({ 2, 3 }, i:tolist())
  end)
  it('repeat_interleave index form and sort agree on 1-based indices', function()
    local _, i = torch.tensor({ 3, 1, 2 }):sort()
    assert.are.same({ 2, 3, 1 }, i:tolist())
  end)
end)

describe('ordering errors', function()
  local function message(fn)
    local ok, err = pcall(fn)
    assert.is_false(ok)
    return tostring(err)
  end
  local x = torch.randn(3, 4)
  it('refuses bad dims', function()
    assert.matches('sort: dimension 3', message(function() return x:sort(3) end))
    assert.matches('topk: dimension', message(function() return x:topk(1, 5) end))
  end)
  it('refuses k out of range', function()
    local m = message(function() return x:topk(5) end)
    assert.matches('topk: k %(5%) is out of range for dimension 2 of size 4', m)
    assert.matches('kthvalue: k %(0%)', message(function() return x:kthvalue(0) end))
    assert.matches('kthvalue: k %(4%)', message(function() return x:kthvalue(4, 1) end))
    assert.matches('k must be an integer', message(function() return x:topk(1.5) end))
  end)
  it('refuses out= tensors of the wrong dtype or sharing the input', function()
    assert.matches('sort.*dtype', message(function() return torch.sort(x, 1, false, { out = { torch.empty(0), torch.empty(0) } }) end))
    assert.matches('sort.*shares memory', message(function()
      return torch.sort(x, 1, false, { out = { x, torch.empty(0, { dtype = 'int64' }) } })
    end))
  end)
  it('refuses mismatched searchsorted shapes and bool values', function()
    assert.matches('searchsorted.*leading', message(function() return torch.searchsorted(torch.randn(2, 3), torch.randn(3, 3)) end))
    assert.matches('searchsorted.*bool', message(function() return torch.searchsorted(torch.ones(3):bool(), torch.ones(2):bool()) end))
    assert.matches('bucketize.*1%-d', message(function() return x:bucketize(torch.randn(2, 2)) end))
  end)
  it('refuses unique over a dim of a 0-d tensor', function()
    assert.matches('unique', message(function() return torch.tensor(1):unique(true, false, false, 1) end))
  end)
end)

-- ---- median ----
do
  local cases = require('helpers.cases').new()
  local function median_dim(python_x, dim, keepdim)
    return ('m = torch.median(%s, %d, keepdim=%s); out = [m.values, m.indices + 1]'):format(python_x, dim, keepdim)
  end
  for _, dt in ipairs({ 'float32', 'float64', 'int64' }) do
    -- (distinct values: which of several equal elements' positions is reported is not specified)
    local x = dt == 'int64' and torch.randperm(24):view(4, 6) - 12 or torch.randn(4, 6):to(dt)
    cases:add('median of all, ' .. dt, function(t) return t.x:median() end, 'out = x.median().item()', { x = x })
    cases:add('median of all, odd count, ' .. dt, function(t) return torch.median(t.x:narrow(2, 1, 5)) end,
              'out = x[:, :5].median().item()', { x = x })
    for _, dim in ipairs({ 1, 2, -1 }) do
      cases:add(('median dim %d, %s'):format(dim, dt), function(t) return { t.x:median(dim) } end,
                median_dim('x', dim > 0 and dim - 1 or dim, 'False'), { x = x })
    end
    cases:add('median keepdim of a transposed view, ' .. dt, function(t) return { t.x:t():median(2, true) } end,
              median_dim('x.t()', 1, 'True'), { x = x })
  end
  -- no ties, so that the position is unique whichever equal element an implementation picks
  cases:add('median options table', function(t) return { t.x:median({ dim = 1, keepdim = true }) } end,
            median_dim('x', 0, 'True'), { x = torch.randperm(12):view(3, 4):double() })
  cases:add('median with NaN', function(t) return { (t.x:median(2)), t.x:median() } end,
            'm = torch.median(x, 1); out = [m.values, x.median().item()]',
            { x = torch.tensor({ { 1, 0 / 0, 3, 2 }, { 4, 5, 6, 7 } }) })
  cases:add('median of a 0-d tensor and of one element', function(t)
    local v, i = t.x:median(1)
    return { v, i, t.x:median() }
  end,
            'm = torch.median(x, 0); out = [m.values, m.indices + 1, x.median().item()]', { x = torch.tensor(2.5) })
  cases:describe('median matches PyTorch')

  it('median of a slice with NaN points at a NaN; empty input gives NaN (floats) or an error', function()
    local x = torch.tensor({ { 1, 0 / 0, 3, 0 / 0 }, { 4, 5, 6, 7 } })
    local _, i = x:median(2)
    assert.are.same({ 2, 2 }, i:totable())
    local message = require 'helpers.failure'
    assert.matches('median: cannot take the median of an empty int64 tensor',
                   message(function() return torch.zeros(0, { dtype = 'int64' }):median() end))
    local empty = torch.zeros(0, 3):median() -- PyTorch's NaN
    assert.is_true(empty ~= empty)
    assert.matches('median: cannot take the median over dimension 2 of size 0',
                   message(function() return torch.zeros(2, 0):median(2) end))
  end)
end

-- ---- histc ----
do
  local cases = require('helpers.cases').new()
  -- (values off the bin edges, where float rounding could put an element in either bin)
  local x = (torch.rand(1000, { dtype = 'float64' }) * 10 - 2):mul(8):floor():add(0.5):div(8)
  cases:add('histc of its own range', function(t) return { t.x:histc(), t.x:float():histc(7) } end,
            'out = [x.histc(), x.float().histc(7)]', { x = x })
  cases:add('histc of a range leaving elements out', function(t) return { t.x:histc(10, 0, 5), torch.histc(t.x, { bins = 3, min = -1, max = 1 }) } end,
            'out = [x.histc(10, 0, 5), torch.histc(x, bins=3, min=-1, max=1)]', { x = x })
  cases:add('histc of equal elements and of a transposed view', function(t) return { t.c:histc(3), t.m:t():histc(4) } end,
            'out = [c.histc(3), m.t().histc(4)]', { c = torch.full({ 5 }, 3, { dtype = 'float32' }), m = torch.tensor({ { 0.5, 1.5 }, { 2.5, 3.5 } }) })
  cases:describe('histc matches PyTorch')

  it('histc refuses integer input and bad ranges', function()
    local message = require 'helpers.failure'
    assert.matches('histc: expects a floating point tensor, got int64', message(function() return torch.tensor({ 1 }):histc() end), 1, true)
    assert.matches('histc: bins must be positive, got 0', message(function() return torch.rand(3):histc(0) end), 1, true)
    assert.matches('histc: min and max must be finite with min <= max, got 2 and 1',
                   message(function() return torch.rand(3):histc(4, 2, 1) end), 1, true)
  end)
end

do
  local cases = require('helpers.cases').new()
  local nan = 0 / 0
  cases:add('isin of int64 elements, a number, invert', function(t)
    return { torch.isin(t.e, t.s), t.e:isin(3), torch.isin(t.e, t.s, { invert = true }), torch.isin(4, t.s) }
  end, 'out = [torch.isin(e, s), torch.isin(e, 3), torch.isin(e, s, invert=True), torch.isin(4, s)]',
            { e = torch.tensor({ { 1, 2, 3 }, { 4, 5, 6 } }), s = torch.tensor({ 6, 2, 4, 2 }) })
  cases:add('isin across dtypes, with NaN, transposed and empty', function(t)
    return { torch.isin(t.f, t.s), torch.isin(t.f:t(), torch.tensor({ 2.5, nan })), torch.isin(t.s, torch.zeros(0)),
             torch.isin(torch.zeros(0), t.s) }
  end, "out = [torch.isin(f, s), torch.isin(f.t(), torch.tensor([2.5, float('nan')])), torch.isin(s, torch.zeros(0)), " ..
       'torch.isin(torch.zeros(0), s)]',
            { f = torch.tensor({ { 2, 2.5 }, { nan, 4 } }), s = torch.tensor({ 6, 2, 4, 2 }) })
  cases:add('isin of random elements against many', function(t) return torch.isin(t.a, t.b) end,
            'out = torch.isin(a, b)', { a = torch.randint(0, 50, { 300 }), b = torch.randint(0, 50, { 40 }) })
  cases:describe('isin matches PyTorch')

  it('isin refuses two numbers and other types', function()
    local message = require 'helpers.failure'
    assert.matches('isin: expected at least one tensor, got number and number', message(function() return torch.isin(1, 2) end),
                   1, true)
    assert.matches('isin: test_elements must be a tensor or a number, got table',
                   message(function() return torch.isin(torch.zeros(2), { 1 }) end), 1, true)
  end)
end
