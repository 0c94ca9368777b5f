-- Indexing ops against PyTorch: index_select, gather, scatter_ and its reductions, index_add_/copy_/fill_,
-- take/put_, masked_select/fill_/scatter_, nonzero, x[idx] and x[mask]; contiguous, transposed, narrowed and
-- expanded inputs, empty and 0-d tensors, float32/float64/int64/bool; duplicate indices; out= forms; errors.
-- Our indices are 1-based: the Python side subtracts 1 from every index tensor it receives.
local torch = require 'tensor'
local ref = require 'helpers.torchref'

torch.manual_seed(4321)

local function make(dtype, ...)
  if dtype == 'bool' then return torch.rand(...):gt(0.5) end
  if dtype == 'int64' then return torch.randint(-50, 50, { ... }) end
  return torch.randn(...):to(dtype)
end

-- A [4 x 5] tensor in several layouts.
local function layouts(dtype)
  return {
    { 'contiguous', make(dtype, 4, 5) },
    { 'transposed', make(dtype, 5, 4):t() },
    { 'narrowed', make(dtype, 4, 9):narrow(2, 3, 5) },
    { 'expanded', make(dtype, 1, 5):expand(4, 5) },
  }
end

-- 1-based random indices in [1, n] of the given sizes (duplicates likely).
local function indices(n, ...) return torch.randint(1, n + 1, { ... }) end

-- Each column of a [rows x cols] index holds distinct positions in [1, n] (for scatter_ without reduction,
-- whose result would otherwise depend on which duplicate is written last).
local function distinct_columns(n, rows, cols)
  local t = torch.empty(rows, cols, { dtype = 'int64' })
  for j = 1, cols do t:select(2, j):copy_(torch.randperm(n):narrow(1, 1, rows)) end
  return t
end

local cases = {}
local function case(name, fn, python, inputs, tol)
  cases[#cases + 1] = { name = name, fn = fn, python = python, inputs = inputs, tol = tol }
end

local DTYPES = { 'float32', 'float64', 'int64', 'bool' }

-- ---- index_select ----
for _, dt in ipairs(DTYPES) do
  for _, l in ipairs(layouts(dt)) do
    local x = l[2]
    for d = 1, 2 do
      local i = indices(x:size(d), 7)
      case(('index_select %s %s dim %d'):format(dt, l[1], d), function(t) return t.x:index_select(d, t.i) end,
           ('out = torch.index_select(x, %d, i - 1)'):format(d - 1), { x = x, i = i })
    end
  end
end
do
  local x = make('float32', 3, 4, 5)
  local i = indices(4, 6, 2):select(2, 2) -- a strided index
  case('index_select 3-d, strided index', function(t) return t.x:index_select(2, t.i) end,
       'out = torch.index_select(x, 1, i - 1)', { x = x, i = i })
  case('index_select dim -1', function(t) return t.x:index_select(-1, t.i) end,
       'out = torch.index_select(x, -1, i - 1)', { x = x, i = indices(5, 3) })
  case('index_select int32 index', function(t) return t.x:index_select(1, t.i) end,
       'out = torch.index_select(x, 0, (i - 1).long())', { x = x, i = indices(3, 4):int() })
  case('index_select empty index', function(t) return t.x:index_select(3, t.i) end,
       'out = torch.index_select(x, 2, i)', { x = x, i = torch.empty(0, { dtype = 'int64' }) })
  case('index_select empty input', function(t) return t.x:index_select(2, t.i) end,
       'out = torch.index_select(x, 1, i - 1)', { x = torch.randn(0, 4), i = indices(4, 3) })
  case('index_select 0-d', function(t) return t.x:index_select(1, t.i) end, 'out = torch.index_select(x, 0, i - 1)',
       { x = torch.tensor(2.5), i = torch.tensor({ 1 }) })
  case('index_select float16', function(t) return t.x:index_select(1, t.i) end,
       'out = torch.index_select(x, 0, i - 1)', { x = make('float16', 5, 3), i = indices(5, 4) })
  case('index_select out=', function(t)
    local o = torch.empty(1)
    local r = torch.index_select(t.x, 2, t.i, { out = o })
    assert(r == o)
    return o
  end, 'out = torch.index_select(x, 1, i - 1)', { x = x, i = indices(4, 3) })
  case('x[idx] reads index_select(1, idx)', function(t) return t.x[t.i] end, 'out = x[i - 1]',
       { x = x, i = indices(3, 5) })
end

-- ---- gather ----
for _, dt in ipairs(DTYPES) do
  for _, l in ipairs(layouts(dt)) do
    local x = l[2]
    case(('gather %s %s dim 1'):format(dt, l[1]), function(t) return t.x:gather(1, t.i) end,
         'out = torch.gather(x, 0, i - 1)', { x = x, i = indices(4, 6, 3) })
    case(('gather %s %s dim 2'):format(dt, l[1]), function(t) return t.x:gather(2, t.i) end,
         'out = torch.gather(x, 1, i - 1)', { x = x, i = indices(5, 2, 8) })
  end
end
do
  local x = make('float64', 3, 4, 5)
  case('gather 3-d dim 2, transposed index', function(t) return t.x:gather(2, t.i) end,
       'out = torch.gather(x, 1, i - 1)', { x = x, i = indices(4, 5, 6, 3):transpose(1, 3) })
  case('gather empty', function(t) return t.x:gather(1, t.i) end, 'out = torch.gather(x, 0, i)',
       { x = x, i = torch.empty(0, 4, 5, { dtype = 'int64' }) })
  case('gather out=', function(t) return torch.gather(t.x, 3, t.i, { out = torch.empty(0, { dtype = 'float64' }) }) end,
       'out = torch.gather(x, 2, i - 1)', { x = x, i = indices(5, 3, 4, 2) })
  case('take_along_dim', function(t) return t.x:take_along_dim(t.i, 2) end,
       'out = torch.take_along_dim(x, i - 1, 1)', { x = x, i = indices(4, 1, 2, 5) })
end

-- ---- scatter_ and reductions ----
for _, dt in ipairs(DTYPES) do
  local src = make(dt, 3, 5)
  for dim = 1, 2 do
    local idx = dim == 1 and distinct_columns(4, 3, 5) or distinct_columns(5, 5, 3):t()
    case(('scatter_ %s dim %d'):format(dt, dim), function(t) return make(dt, 4, 5):zero_():scatter_(dim, t.i, t.s) end,
         ('out = torch.zeros(4, 5, dtype=s.dtype).scatter_(%d, i - 1, s)'):format(dim - 1), { i = idx, s = src })
  end
  case('scatter out-of-place ' .. dt, function(t) return t.x:scatter(1, t.i, t.s) end, 'out = x.scatter(0, i - 1, s)',
       { x = make(dt, 4, 5):t():contiguous():t(), i = distinct_columns(4, 2, 5), s = src })
  case('scatter value ' .. dt, function(t) return t.x:scatter(2, t.i, 1) end, 'out = x.scatter(1, i - 1, 1)',
       { x = make(dt, 4, 5), i = indices(5, 4, 2) })
end
for _, dt in ipairs({ 'float32', 'float64', 'int64' }) do
  local x = make(dt, 4, 5)
  -- duplicates accumulate
  case('scatter_add_ dim 1 ' .. dt, function(t) return t.x:clone():scatter_add_(1, t.i, t.s) end,
       'out = x.clone().scatter_add_(0, i - 1, s)', { x = x, i = indices(4, 6, 5), s = make(dt, 6, 5) },
       ref.tolerance(dt))
  case('scatter_add_ dim 2 ' .. dt, function(t) return t.x:scatter_add(2, t.i, t.s) end,
       'out = x.scatter_add(1, i - 1, s)', { x = x, i = indices(5, 4, 9), s = make(dt, 4, 10) }, ref.tolerance(dt))
  case('scatter_ reduce multiply ' .. dt, function(t) return t.x:scatter(1, t.i, t.s, 'multiply') end,
       "out = x.scatter(0, i - 1, s, reduce='multiply')", { x = x, i = indices(4, 3, 5), s = make(dt, 3, 5) },
       ref.tolerance(dt))
  for _, r in ipairs({ 'sum', 'prod', 'mean', 'amax', 'amin' }) do
    for _, self in ipairs({ true, false }) do
      case(('scatter_reduce %s include_self=%s %s'):format(r, tostring(self), dt),
           function(t) return t.x:scatter_reduce(2, t.i, t.s, r, { include_self = self }) end,
           ("out = x.scatter_reduce(1, i - 1, s, '%s', include_self=%s)"):format(r, self and 'True' or 'False'),
           { x = x, i = indices(5, 4, 7), s = make(dt, 4, 7) }, ref.tolerance(dt))
    end
  end
end
do
  local x = torch.randn(2, 3):t() -- a non-contiguous destination
  case('scatter_add_ into a transposed tensor', function(t)
    local y = t.x:clone():t():contiguous():t()
    return y:scatter_add_(1, t.i, t.s)
  end, 'out = x.clone().scatter_add_(0, i - 1, s)', { x = x, i = indices(3, 5, 2), s = torch.randn(5, 2) })
  case('scatter_add_ bool', function(t) return t.x:scatter_add(1, t.i, t.s) end, 'out = x.scatter_add(0, i - 1, s)',
       { x = make('bool', 4), i = indices(4, 6), s = make('bool', 6) })
  case('scatter_ 0-d', function(t) return t.x:scatter(1, t.i, t.s) end, 'out = x.scatter(0, i - 1, s)',
       { x = torch.tensor(1.5), i = torch.tensor(1), s = torch.tensor(7, { dtype = 'float32' }) })
  case('scatter_ empty index', function(t) return t.x:scatter(1, t.i, t.s) end, 'out = x.scatter(0, i, s)',
       { x = torch.randn(3, 2), i = torch.empty(0, 2, { dtype = 'int64' }), s = torch.randn(0, 2) })
end

-- ---- index_add_, index_copy_, index_fill_ ----
for _, dt in ipairs({ 'float32', 'float64', 'int64', 'bool' }) do
  for _, l in ipairs(layouts(dt)) do
    if l[1] ~= 'expanded' then
      local x = l[2]
      case(('index_add_ %s %s dim 1'):format(dt, l[1]), function(t) return t.x:index_add(1, t.i, t.s) end,
           'out = x.index_add(0, i - 1, s)', { x = x, i = indices(4, 7), s = make(dt, 7, 5) }, ref.tolerance(dt))
      case(('index_add_ %s %s dim 2'):format(dt, l[1]), function(t) return t.x:index_add(2, t.i, t.s) end,
           'out = x.index_add(1, i - 1, s)', { x = x, i = indices(5, 9), s = make(dt, 4, 9) }, ref.tolerance(dt))
      case(('index_copy_ %s %s'):format(dt, l[1]), function(t) return t.x:index_copy(2, t.i, t.s) end,
           'out = x.index_copy(1, i - 1, s)', { x = x, i = torch.randperm(5):narrow(1, 1, 3), s = make(dt, 4, 3) })
      case(('index_fill_ %s %s'):format(dt, l[1]), function(t) return t.x:index_fill(1, t.i, 1) end,
           'out = x.index_fill(0, i - 1, 1)', { x = x, i = indices(4, 3) })
    end
  end
end
do
  local x = torch.randn(5, 4, 3)
  case('index_add_ alpha', function(t) return t.x:index_add(3, t.i, t.s, 2.5) end,
       'out = x.index_add(2, i - 1, s, alpha=2.5)', { x = x, i = indices(3, 6), s = torch.randn(5, 4, 6) })
  case('index_add_ alpha table', function(t) return t.x:index_add(1, t.i, t.s, { alpha = -1 }) end,
       'out = x.index_add(0, i - 1, s, alpha=-1)', { x = x, i = indices(5, 2), s = torch.randn(2, 4, 3) })
  case('index_add_ transposed source', function(t) return t.x:index_add(1, t.i, t.s:t()) end,
       'out = x.index_add(0, i - 1, s.t())', { x = torch.randn(6, 3), i = indices(6, 8), s = torch.randn(3, 8) })
  case('index_fill_ negative index', function(t) return t.x:index_fill(2, t.i, -7) end,
       'out = x.index_fill(1, torch.where(i > 0, i - 1, i), -7)', { x = x, i = torch.tensor({ -1, 1, -4 }) })
  case('index_fill_ 0-d value tensor', function(t) return t.x:index_fill(2, t.i, torch.tensor(3.5)) end,
       'out = x.index_fill(1, i - 1, 3.5)', { x = x, i = torch.tensor({ 2 }) })
  case('x[idx] = tensor is index_copy_', function(t)
    local y = t.x:clone()
    y[t.i] = t.s
    return y
  end, 'y = x.clone(); y[i - 1] = s; out = y', { x = x, i = torch.tensor({ 4, 2 }), s = torch.randn(2, 4, 3) })
  case('x[idx] = number is index_fill_', function(t)
    local y = t.x:clone()
    y[t.i] = 0
    return y
  end, 'y = x.clone(); y[i - 1] = 0; out = y', { x = x, i = torch.tensor({ 5, 1 }) })
  case('index_add_ into 1-d with many duplicates', function(t) return t.x:index_add(1, t.i, t.s) end,
       'out = x.index_add(0, i - 1, s)', { x = torch.zeros(10, { dtype = 'float64' }), i = indices(10, 1000),
                                        s = torch.randn(1000, { dtype = 'float64' }) })
end

-- ---- take and put_ ----
for _, dt in ipairs(DTYPES) do
  for _, l in ipairs(layouts(dt)) do
    case(('take %s %s'):format(dt, l[1]), function(t) return t.x:take(t.i) end, 'out = torch.take(x, i - 1)',
         { x = l[2], i = indices(20, 3, 4) })
    if l[1] ~= 'expanded' then
      case(('put_ %s %s'):format(dt, l[1]), function(t) return t.x:put(t.i, t.s) end, 'out = x.put(i - 1, s)',
           { x = l[2], i = torch.randperm(20):narrow(1, 1, 6):view(2, 3), s = make(dt, 2, 3) })
    end
  end
end
do
  local x = torch.randn(3, 4, { dtype = 'float64' })
  case('take negative indices', function(t) return t.x:take(t.i) end,
       'out = torch.take(x, torch.where(i > 0, i - 1, i))', { x = x, i = torch.tensor({ -1, 1, -12, 5 }) })
  case('put_ accumulate with duplicates', function(t) return t.x:put(t.i, t.s, true) end,
       'out = x.put(i - 1, s, accumulate=True)', { x = x, i = indices(12, 40), s = torch.randn(40, { dtype = 'float64' }) })
  case('put_ negative indices', function(t) return t.x:put(t.i, t.s) end,
       'out = x.put(torch.where(i > 0, i - 1, i), s)', { x = x, i = torch.tensor({ -1, 2 }), s = torch.randn(2, { dtype = 'float64' }) })
  case('take 0-d', function(t) return t.x:take(t.i) end, 'out = torch.take(x, i - 1)',
       { x = torch.tensor(4.5), i = torch.tensor(1) })
end

-- ---- masks ----
for _, dt in ipairs(DTYPES) do
  for _, l in ipairs(layouts(dt)) do
    local x = l[2]
    case(('masked_select %s %s'):format(dt, l[1]), function(t) return t.x:masked_select(t.m) end,
         'out = torch.masked_select(x, m)', { x = x, m = make('bool', 4, 5) })
    case(('masked_select broadcast mask %s %s'):format(dt, l[1]), function(t) return t.x:masked_select(t.m) end,
         'out = torch.masked_select(x, m)', { x = x, m = make('bool', 5) })
    if l[1] ~= 'expanded' then
      case(('masked_fill_ %s %s'):format(dt, l[1]), function(t)
        local y = t.x:clone():t():contiguous():t() -- a non-contiguous destination
        return y:masked_fill_(t.m, 1)
      end, 'out = x.masked_fill(m, 1)', { x = x, m = make('bool', 4, 1) })
      case(('masked_scatter_ %s %s'):format(dt, l[1]), function(t) return t.x:masked_scatter(t.m, t.s) end,
           'out = x.masked_scatter(m, s)', { x = x, m = make('bool', 4, 5), s = make(dt, 5, 5) })
    end
  end
end
do
  local x = torch.randn(3, 1, 4)
  case('masked_select broadcasts x too', function(t) return t.x:masked_select(t.m) end,
       'out = torch.masked_select(x, m)', { x = x, m = make('bool', 5, 1) })
  case('masked_fill out-of-place broadcasts', function(t) return t.x:masked_fill(t.m, -1) end,
       'out = x.masked_fill(m, -1)', { x = x, m = make('bool', 2, 3, 5, 4) })
  case('masked_fill_ 0-d value tensor and float value into int64', function(t)
    return t.x:clone():masked_fill_(t.m, torch.tensor(2.7))
  end, 'out = x.clone().masked_fill_(m, 2.7)', { x = torch.randint(0, 9, { 6 }), m = make('bool', 6) })
  case('masked_select uint8 mask', function(t) return t.x:masked_select(t.m) end,
       'out = torch.masked_select(x, m.bool())', { x = x, m = make('bool', 3, 1, 4):byte() })
  case('x[mask] reads masked_select', function(t) return t.x[t.m] end, 'out = x[m]', { x = x, m = x:gt(0) })
  case('x[mask] = number', function(t)
    local y = t.x:clone()
    y[t.m] = 0
    return y
  end, 'y = x.clone(); y[m] = 0; out = y', { x = x, m = x:gt(0) })
  case('x[mask] = tensor is masked_scatter_', function(t)
    local y = t.x:clone()
    y[t.m] = t.s
    return y
  end, 'y = x.clone(); y.masked_scatter_(m, s); out = y', { x = x, m = x:gt(0), s = torch.randn(12) })
  case('masked_select empty', function(t) return t.x:masked_select(t.m) end, 'out = torch.masked_select(x, m)',
       { x = torch.randn(0, 3), m = make('bool', 3) })
  case('masked_select 0-d', function(t) return t.x:masked_select(t.m) end, 'out = torch.masked_select(x, m)',
       { x = torch.tensor(3.0), m = torch.tensor(true) })
  case('masked_select out=', function(t) return torch.masked_select(t.x, t.m, { out = torch.empty(100) }) end,
       'out = torch.masked_select(x, m)', { x = x, m = x:lt(0) })
  -- large enough for the threaded count-then-write path
  local big = torch.randn(300, 400)
  case('masked_select large, transposed', function(t) return t.x:t():masked_select(t.x:t():gt(0.3)) end,
       'out = torch.masked_select(x.t(), x.t() > 0.3)', { x = big })
  case('masked_scatter_ large', function(t) return t.x:masked_scatter(t.x:gt(0), t.s) end,
       'out = x.masked_scatter(x > 0, s)', { x = big, s = torch.randn(120000) })
end

-- ---- nonzero ----
for _, dt in ipairs({ 'float32', 'float64', 'int64', 'bool' }) do
  for _, l in ipairs(layouts(dt)) do
    local x = dt == 'bool' and l[2] or l[2]:mul(l[2]:gt(0):to(l[2]:dtype()))
    case(('nonzero %s %s'):format(dt, l[1]), function(t) return t.x:nonzero() end, 'out = torch.nonzero(x) + 1',
         { x = x })
  end
end
do
  local x = torch.randn(4, 3, 5)
  x = x:mul(x:gt(0.5):float())
  case('nonzero 3-d', function(t) return torch.nonzero(t.x) end, 'out = torch.nonzero(x) + 1', { x = x })
  case('nonzero as_tuple', function(t) return t.x:nonzero({ as_tuple = true }) end,
       'out = [v + 1 for v in torch.nonzero(x, as_tuple=True)]', { x = x })
  case('where(cond)', function(t) return torch.where(t.x:gt(0)) end,
       'out = [v + 1 for v in torch.where(x > 0)]', { x = x })
  case('nonzero float16 with NaN and -0', function(t) return t.x:nonzero() end, 'out = torch.nonzero(x) + 1',
       { x = torch.tensor({ 0, -0.0, 0 / 0, 1, -2 }):half() })
  case('nonzero empty', function(t) return t.x:nonzero() end, 'out = torch.nonzero(x) + 1', { x = torch.randn(0, 3) })
  case('nonzero 0-d', function(t) return t.x:nonzero() end, 'out = torch.nonzero(x) + 1', { x = torch.tensor(5) })
  case('nonzero none', function(t) return t.x:nonzero() end, 'out = torch.nonzero(x) + 1', { x = torch.zeros(3, 2) })
  local big = torch.randn(500, 300)
  case('nonzero large (threaded)', function(t) return t.x:gt(1):nonzero() end, 'out = torch.nonzero(x > 1) + 1',
       { x = big })
  case('argwhere', function(t) return t.x:argwhere() end, 'out = torch.argwhere(x) + 1', { x = x })
end

describe('indexing ops match PyTorch', function()
  -- (scatter_reduce warns that it is in beta; the warning would garble the reply)
  local batch = { { code = "import warnings; warnings.filterwarnings('ignore'); out = 0" } }
  for i, cs in ipairs(cases) do batch[i + 1] = { code = cs.python, inputs = cs.inputs } end
  local results = ref.batch(batch)
  for i, cs in ipairs(cases) do
    it(cs.name, function()
      local got = cs.fn(cs.inputs)
      local expected = results[i + 1]
      if type(got) == 'table' and not got._c then
        assert.are.equal(#expected, #got)
        for k = 1, #got do
          local ok, msg = ref.compare(got[k], expected[k], cs.tol or ref.tolerance(got[k]:dtype()))
          assert(ok, msg)
        end
      else
        local ok, msg = ref.compare(got, expected, cs.tol or ref.tolerance(got:dtype()))
        assert(ok, msg)
      end
    end)
  end
end)

describe('indexing semantics', function()
  it('scatter_ writes the last of duplicate indices', function()
    local x = torch.zeros(3):scatter_(1, torch.tensor({ 2, 2, 2 }), torch.tensor({ 1, 2, 3 }, { dtype = 'float32' }))
    assert.are.same({ 0, 3, 0 }, x:tolist())
  end)
  it('index_copy_ writes the last of duplicate indices', function()
    local x = torch.zeros(2, 2):index_copy_(1, torch.tensor({ 1, 1 }), torch.tensor({ { 1, 2 }, { 3, 4 } }, { dtype = 'float32' }))
    assert.are.same({ { 3, 4 }, { 0, 0 } }, x:tolist())
  end)
  it('in-place ops return self and bump the version', function()
    local x = torch.zeros(4)
    local v = x:_version()
    assert.are.equal(x, x:index_fill_(1, { 1 }, 2))
    assert.are.equal(x, x:masked_fill_(x:gt(0), 3))
    assert.are.equal(x, x:scatter_(1, torch.tensor({ 2 }), 5))
    assert.are.equal(x, x:put_(torch.tensor({ 4 }), torch.tensor({ 6 }, { dtype = 'float32' })))
    assert.is_true(x:_version() >= v + 4)
    assert.are.same({ 3, 5, 0, 6 }, x:tolist())
  end)
  it('an index table and an index number work like int64 tensors', function()
    local x = torch.tensor({ 10, 20, 30 })
    assert.are.same({ 30, 10 }, x:index_select(1, { 3, 1 }):tolist())
    assert.are.same({ 20 }, x:index_select(1, 2):tolist())
  end)
  it('a bad index raises an error in every in-place op', function()
    local x = torch.zeros(3)
    assert.has_error(function() x:index_add_(1, torch.tensor({ 1, 9 }), torch.ones(2)) end)
    assert.has_error(function() x:scatter_add_(1, torch.tensor({ 1, 2, 0 }), torch.ones(3)) end)
    assert.has_error(function() x:put_(torch.tensor({ 1, 4 }), torch.ones(2)) end)
    assert.has_error(function() x:index_fill_(1, torch.tensor({ -4 }), 1) end)
  end)
  it('x:masked_fill_(x, v) reads the mask before writing', function()
    local x = torch.tensor({ true, false, true })
    x:masked_fill_(x, false)
    assert.are.same({ false, false, false }, x:tolist())
  end)
end)

describe('indexing errors', function()
  local function message(fn)
    local ok, err = pcall(fn)
    assert.is_false(ok)
    return tostring(err)
  end
  local x = torch.randn(3, 4)
  it('index_select: an out-of-range index names the op, the index and the range', function()
    local m = message(function() return x:index_select(2, torch.tensor({ 1, 5 })) end)
    assert.matches('index_select', m)
    assert.matches('index 5', m)
    assert.matches('dimension 2 of size 4', m)
    assert.matches('1 to 4', m)
    assert.matches('index 0', message(function() return x:index_select(1, torch.tensor({ 0 })) end))
    assert.matches('index %-1', message(function() return x:index_select(1, torch.tensor({ -1 })) end))
  end)
  it('reports extreme index values without overflow', function()
    assert.matches('index %-9223372036854775808', message(function()
      return x:index_select(1, torch.tensor({ -2 ^ 63 }, { dtype = 'int64' }))
    end))
    assert.matches('take: index %-9223372036854775808', message(function()
      return x:take(torch.tensor({ -2 ^ 63 }, { dtype = 'int64' }))
    end))
    assert.matches('index 4611686018427387904', message(function()
      return x:clone():index_add_(1, torch.tensor({ 2 ^ 62 }, { dtype = 'int64' }), torch.ones(1, 4))
    end))
  end)
  it('gather and scatter check their indices', function()
    assert.matches('gather: index 4', message(function() return x:gather(1, torch.tensor({ { 1, 4 } })) end))
    assert.matches('scatter_add_: index 7', message(function()
      return x:clone():scatter_add_(2, torch.tensor({ { 7 } }), torch.ones(1, 1))
    end))
    assert.matches('index_add_: index 4 is out of range for dimension 1 of size 3', message(function()
      return x:clone():index_add_(1, torch.tensor({ 4 }), torch.ones(1, 4))
    end))
    assert.matches('index_fill_: index %-4', message(function() return x:index_fill(1, torch.tensor({ -4 }), 0) end))
  end)
  it('take and put_ report the flattened range', function()
    local m = message(function() return x:take(torch.tensor({ 13 })) end)
    assert.matches('take: index 13 is out of range for a tensor of 12 elements', m)
    assert.matches('%-12 to %-1', m)
  end)
  it('refuses index tensors of other dtypes', function()
    assert.matches('int64', message(function() return x:index_select(1, torch.ones(1)) end))
    assert.matches('gather.*int64', message(function() return x:gather(1, torch.ones(1, 4)) end))
  end)
  it('refuses masks that are not bool or do not broadcast', function()
    assert.matches('masked_fill_.*bool', message(function() return x:clone():masked_fill_(torch.ones(3, 4), 1) end))
    assert.matches('masked_fill_.*%[5%]', message(function() return x:clone():masked_fill_(torch.ones(5):bool(), 1) end))
    assert.matches('masked_select', message(function() return x:masked_select(torch.ones(2, 5):bool()) end))
  end)
  it('refuses mismatched shapes and dtypes', function()
    assert.matches('index_add_.*%[2 x 5%]', message(function()
      return x:clone():index_add_(1, torch.tensor({ 1, 2 }), torch.ones(2, 5))
    end))
    assert.matches('scatter_.*float64.*float32', message(function()
      return x:clone():scatter_(1, torch.tensor({ { 1 } }), torch.ones(1, 1, { dtype = 'float64' }))
    end))
    assert.matches('gather.*dimensions', message(function() return x:gather(1, torch.tensor({ 1 })) end))
    assert.matches('gather.*larger', message(function() return x:gather(1, torch.ones(2, 5, { dtype = 'int64' })) end))
    assert.matches('masked_scatter_.*selects 12.*only 3', message(function()
      return x:clone():masked_scatter_(torch.ones(3, 4):bool(), torch.ones(3))
    end))
    assert.matches('put_.*must match', message(function() return x:clone():put_(torch.tensor({ 1 }), torch.ones(2)) end))
  end)
  it('refuses writing into an expanded tensor', function()
    assert.matches('expanded', message(function()
      return torch.zeros(1, 4):expand(3, 4):index_fill_(2, torch.tensor({ 1 }), 1)
    end))
  end)
  it('refuses fill values that overflow the dtype', function()
    assert.matches('overflow', message(function() return torch.zeros(2, { dtype = 'uint8' }):masked_fill_(torch.ones(2):bool(), 300) end))
  end)
  it('refuses a non-integral alpha for integer tensors', function()
    assert.matches('alpha', message(function()
      return torch.zeros(2, { dtype = 'int64' }):index_add_(1, torch.tensor({ 1 }), torch.ones(1, { dtype = 'int64' }), 0.5)
    end))
  end)
  it('refuses bad dims and non-tensor arguments', function()
    assert.matches('index_select.*dimension 3', message(function() return x:index_select(3, torch.tensor({ 1 })) end))
    assert.matches('index_select.*index', message(function() return x:index_select(1, 'a') end))
    assert.matches('masked_select', message(function() return x:masked_select(3) end))
  end)
end)

-- ---- index_put_ and tensors of positions inside index tables ----
do
  local cases = require('helpers.cases').new()
  local x = torch.randn(4, 3, 2):double()
  cases:add('index_put_ one index, rows of values', function(t)
    return t.x:clone():index_put_({ torch.tensor({ 4, 1 }) }, t.v)
  end, 'y = x.clone(); y.index_put_((torch.tensor([3, 0]),), v); out = y', { x = x, v = torch.randn(2, 3, 2):double() })
  cases:add('index_put two broadcast indices, a number, negative positions', function(t)
    return t.x:index_put({ torch.tensor({ { 1 }, { -1 } }), torch.tensor({ 1, 3 }) }, 7)
  end, 'out = x.index_put((torch.tensor([[0], [3]]), torch.tensor([0, 2])), torch.tensor(7.0, dtype=torch.float64))',
            { x = x })
  cases:add('index_put accumulate with repeats, transposed input', function(t)
    return torch.index_put(t.x:transpose(1, 3), { torch.tensor({ 2, 2, 1 }), torch.tensor({ 3, 3, 1 }) }, t.v, true)
  end, 'out = torch.index_put(x.transpose(0, 2), (torch.tensor([1, 1, 0]), torch.tensor([2, 2, 0])), v, accumulate=True)',
            { x = x, v = torch.randn(3, 4):double() })
  cases:add('index_put with a bool mask', function(t) return t.x:index_put({ t.x:gt(0) }, -1) end,
            'out = x.index_put((x > 0,), torch.tensor(-1.0, dtype=torch.float64))', { x = x })
  cases:add('index_put of an int64 tensor', function(t)
    return t.x:index_put({ torch.tensor({ 2 }), torch.tensor({ 1 }) }, torch.tensor({ 9 }))
  end, 'out = x.index_put((torch.tensor([1]), torch.tensor([0])), torch.tensor([9]))', { x = torch.randint(0, 5, { 3, 3 }) })
  cases:add('reading x[{ {}, idx }] and x[{ i, idx, {} }]', function(t)
    return { t.x[{ {}, torch.tensor({ 3, 1 }) }], t.x[{ 2, torch.tensor({ 2, 2, 1 }), {} }], t.x[{ torch.tensor({ 4 }), {}, 2 }] }
  end, 'out = [x[:, [2, 0]], x[1, [1, 1, 0], :], x[[3], :, 1]]', { x = x })
  cases:add('assigning x[{ {}, idx }] a tensor and x[{ i, idx }] a number', function(t)
    local y = t.x:clone()
    y[{ {}, torch.tensor({ 3, 1 }) }] = t.v
    y[{ 2, torch.tensor({ 2 }) }] = 5
    return y
  end, 'y = x.clone(); y[:, [2, 0]] = v; y[1, [1]] = 5; out = y', { x = x, v = torch.randn(4, 2, 2):double() })
  cases:describe('index_put and tensor positions in index tables match PyTorch')

  it('index_put refuses bad indices, naming them', function()
    local message = require 'helpers.failure'
    local y = torch.zeros(3, 2)
    assert.matches('index_put_: index 4 is out of range for dimension 1 of size 3',
                   message(function() return y:index_put_({ torch.tensor({ 4 }) }, 1) end), 1, true)
    assert.matches('index_put_: index 1 must be an integer or bool tensor, got float32',
                   message(function() return y:index_put_({ torch.zeros(1) }, 1) end), 1, true)
    assert.matches('index_put_: too many indices (3) for a tensor of 2 dims',
                   message(function() return y:index_put_({ torch.tensor({ 1 }), torch.tensor({ 1 }), torch.tensor({ 1 }) }, 1) end), 1, true)
    assert.matches('index_put_: indices must be a list of tensors, got a tensor',
                   message(function() return y:index_put_(torch.tensor({ 1 }), 1) end), 1, true)
    assert.matches('index: index entries 1 and 2 are both tensors',
                   message(function() return y[{ torch.tensor({ 1 }), torch.tensor({ 1 }) }] end), 1, true)
    assert.matches('index: index entry 2: only full ranges {} may follow a tensor of positions when assigning',
                   message(function() y[{ torch.tensor({ 1 }), 2 }] = 1 end), 1, true)
  end)

  it('index_put carries gradients to the tensor and the values', function()
    local function R(...) return torch.randn(...):double():requires_grad_() end
    assert.is_true(torch.autograd.gradcheck(function(a, v) return a:index_put({ torch.tensor({ 1, 3 }) }, v) end,
                                            { R(3, 4), R(2, 4) }))
    assert.is_true(torch.autograd.gradcheck(function(a, v)
      return a:t():index_put({ torch.tensor({ 1, 3 }), torch.tensor({ 2, 2 }) }, v, true)
    end, { R(3, 4), R(2) }))
    assert.is_true(torch.autograd.gradcheck(function(a, v)
      local y = a * 1
      y[{ {}, torch.tensor({ 2 }) }] = v
      return y
    end, { R(3, 4), R(3, 1) }))
  end)
end
