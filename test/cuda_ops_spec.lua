-- The CUDA kernels of the reduction, blas, indexing, ordering, joining and nn families against the CPU (the
-- reference): every op runs on CPU inputs and on CUDA copies of the same inputs, and the results must agree
-- (same shapes, dtypes and NaN positions; values within a tolerance for floats, exactly for integers and
-- indices). Inputs come in several shapes, non-contiguous (transposed, strided) and broadcast (expanded), in
-- float32/float64, 16-bit floats and integer dtypes where the op takes them. Bad indices must raise the same
-- errors as on the CPU. Autograd through a small conv net, an MLP, recurrent models (embedding, LSTM, GRU) and
-- multi-head attention with masks must give the CPU's gradients. The
-- factorisations (cuSOLVER) are compared where they are unique: singular vectors, eigenvectors and Q's columns
-- up to sign, through |U|, reconstructions and orthogonality.
--
-- Without a CUDA device the spec prints "SKIPPED: no CUDA device" and asserts nothing else.
-- TENSOR_CUDA_OPS_DEVICE=cpu runs the whole comparison with 'cpu' as the device under test: a check of the
-- spec itself on machines without a GPU (every comparison must then hold exactly).
local torch = require 'tensor'
local K = require 'tensor.nn_kernels'
local nn = require 'tensor.nn'

local DEV = os.getenv('TENSOR_CUDA_OPS_DEVICE') or 'cuda'

if DEV == 'cuda' and not torch.cuda.is_available() then
  print('SKIPPED: no CUDA device')
  return
end

torch.manual_seed(7)

local function is_tensor(v) return type(v) == 'table' and v._c ~= nil end

-- v with every tensor in it moved to the device under test (views keep their layout: non-contiguous CPU
-- inputs are re-created as the same kind of view of a device copy of their base)
local function on_dev(v)
  if is_tensor(v) then return DEV == 'cpu' and v:clone() or v:to(DEV) end
  if type(v) == 'table' then
    local r = {}
    for k, x in pairs(v) do r[k] = on_dev(x) end
    return r
  end
  return v
end

local TOL = { float32 = 1e-4, float64 = 1e-10, float16 = 1e-2, bfloat16 = 2e-2 }

local function compare(got, want, tol, what)
  if not is_tensor(want) then
    if type(want) == 'number' and type(got) == 'number' and want ~= want then
      assert.is_true(got ~= got, what)
    elseif type(want) == 'number' and type(got) == 'number' and tol and tol > 0 then
      assert.is_true(math.abs(got - want) <= tol * (1 + math.abs(want)), what .. (': %s vs %s'):format(got, want))
    else
      assert.are.same(want, got, what)
    end
    return
  end
  assert.is_true(is_tensor(got), what .. ': a tensor expected')
  assert.are.equal(DEV, (got:device():gsub(':.*', '')), what .. ': result device')
  got = got:cpu()
  assert.are.same(want:shape(), got:shape(), what .. ': shape')
  assert.are.equal(want:dtype(), got:dtype(), what .. ': dtype')
  if want:numel() == 0 then return end
  local a, b = got:to('float64'), want:to('float64')
  local an, bn = a:ne(a), b:ne(b)
  assert.is_true(an:eq(bn):all(), what .. ': NaN positions differ')
  local exact = tol == 0 or not TOL[want:dtype()]
  local d = a:sub(b):abs():masked_fill(a:eq(b), 0):masked_fill(an, 0)
  local lim = exact and 0 or tol or TOL[want:dtype()]
  local bound = b:abs():masked_fill(bn, 0):masked_fill(b:abs():eq(math.huge), 0):mul(lim):add(lim)
  local ok = d:le(bound):all()
  if not ok then
    error(('%s: values differ (max difference %g)'):format(what, d:max()), 2)
  end
end

-- runs fn on the CPU inputs and on device copies made before (fn may update its inputs in place); compares
-- every result. Numbers (full reductions) are compared within the tolerance of the first input's dtype.
local function check(what, fn, inputs, tol)
  local dev_inputs = on_dev(inputs)
  local want = { fn(unpack(inputs)) }
  local got = { fn(unpack(dev_inputs)) }
  assert.are.equal(#want, #got, what .. ': number of results')
  local number_tol = tol or (is_tensor(inputs[1]) and TOL[inputs[1]:dtype()])
  for i = 1, #want do
    compare(got[i], want[i], is_tensor(want[i]) and tol or number_tol, ('%s (result %d)'):format(what, i))
  end
end

-- fn must fail on the device exactly as on the CPU (same message)
local function check_error(what, fn, inputs)
  local ok1, e1 = pcall(fn, unpack(inputs))
  local ok2, e2 = pcall(fn, unpack(on_dev(inputs)))
  assert.is_false(ok1, what .. ': the CPU accepted it')
  assert.is_false(ok2, what .. ': the device accepted it')
  local m1, m2 = tostring(e1):gsub('^.-:%d+: ', ''), tostring(e2):gsub('^.-:%d+: ', '')
  assert.are.equal(m1, m2, what .. ': error messages')
end

local function rand(dtype, ...)
  if dtype == 'bool' then return torch.rand(...):gt(0.5) end
  if dtype == 'float32' or dtype == 'float64' or dtype == 'float16' or dtype == 'bfloat16' then
    return torch.randn(...):to(dtype)
  end
  if dtype == 'uint8' then return torch.randint(0, 5, { ... }):to(dtype) end
  return torch.randint(-4, 5, { ... }):to(dtype)
end

-- a few layouts of one tensor of `shape`: contiguous, transposed (last two dims), strided (every other
-- element of a larger one) and expanded (a broadcast dim)
local function layouts(dtype, shape)
  local out = {}
  out[#out + 1] = { 'contiguous', rand(dtype, unpack(shape)) }
  if #shape >= 2 then
    local s = { unpack(shape) }
    s[#s], s[#s - 1] = s[#s - 1], s[#s]
    out[#out + 1] = { 'transposed', rand(dtype, unpack(s)):transpose(#s - 1, #s) }
  end
  local wide = { unpack(shape) }
  wide[#wide] = wide[#wide] * 2
  out[#out + 1] = { 'strided', rand(dtype, unpack(wide)):narrow(#shape, 2, shape[#shape]) }
  local one = { unpack(shape) }
  one[1] = 1
  out[#out + 1] = { 'expanded', rand(dtype, unpack(one)):expand(unpack(shape)) }
  return out
end

local FLOATS = { 'float32', 'float64' }
local ALL = { 'float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool' }

describe('CUDA reductions', function()
  it('sum, mean, prod, amax, amin, nansum, logsumexp, var, std, norms over dims and layouts', function()
    for _, dt in ipairs(FLOATS) do
      for _, shape in ipairs({ { 7 }, { 33, 65 }, { 4, 5, 300 } }) do
        for _, l in ipairs(layouts(dt, shape)) do
          local name, x = l[1], l[2]
          local tag = ('%s %s [%s]'):format(dt, name, table.concat(shape, 'x'))
          for _, op in ipairs({ 'sum', 'mean', 'prod', 'amax', 'amin', 'nansum', 'logsumexp', 'var', 'std' }) do
            check(op .. ' all ' .. tag, function(t) return t[op](t) end, { x })
            for d = 1, #shape do
              check(('%s dim %d %s'):format(op, d, tag), function(t) return t[op](t, d) end, { x })
              check(('%s dim %d keepdim %s'):format(op, d, tag), function(t) return t[op](t, d, true) end, { x })
            end
            if #shape == 3 then
              check(op .. ' dims {1,3} ' .. tag, function(t) return t[op](t, { 1, 3 }) end, { x })
            end
          end
          for _, p in ipairs({ 0, 1, 2, 3, math.huge, -math.huge }) do
            check(('norm p=%g %s'):format(p, tag), function(t) return t:norm(p, #shape) end, { x })
          end
          check('var correction 0 ' .. tag, function(t) return t:var(1, { correction = 0 }) end, { x })
          check('var_mean ' .. tag, function(t) return t:var_mean(#shape) end, { x })
        end
      end
    end
  end)

  it('float32 sums of many elements stay accurate', function()
    local x = torch.rand(3000000)
    check('sum of 3e6 uniform floats', function(t) return t:sum() end, { x }, 1e-5)
    check('sum over the outer dim of [100000 x 8]', function(t) return t:sum(1) end, { torch.rand(100000, 8) }, 1e-5)
  end)

  it('max/min with indices, argmax/argmin, aminmax, NaN and ties (first occurrence)', function()
    local x = torch.randint(-2, 3, { 40, 50 }):to('float32')
    x[{ 3, 7 }] = 0 / 0
    x[{ 9, 1 }] = 0 / 0
    x[{ 9, 30 }] = 0 / 0
    for _, t in ipairs({ x, x:t(), x:to('float64'), x:to('float16') }) do
      for d = 1, 2 do
        check('max dim ' .. d, function(a) return a:max(d) end, { t })
        check('min dim ' .. d, function(a) return a:min(d, true) end, { t })
        check('argmax dim ' .. d, function(a) return a:argmax(d) end, { t })
        check('argmin dim ' .. d, function(a) return a:argmin(d) end, { t })
      end
      check('argmax all', function(a) return a:argmax() end, { t })
      check('amax all', function(a) return a:amax() end, { t })
      check('aminmax', function(a) return a:aminmax() end, { t })
    end
  end)

  it('integer and bool dtypes', function()
    for _, dt in ipairs(ALL) do
      local x = rand(dt, 17, 23)
      for _, op in ipairs({ 'sum', 'prod', 'amax', 'amin', 'all', 'any', 'count_nonzero' }) do
        check(op .. ' ' .. dt, function(t) return t[op](t) end, { x })
        check(op .. ' dim 1 ' .. dt, function(t) return t[op](t, 1) end, { x })
        check(op .. ' dim 2 ' .. dt, function(t) return t[op](t, 2) end, { x:t() })
      end
      check('max dim ' .. dt, function(t) return t:max(2) end, { x })
      check('argmin ' .. dt, function(t) return t:argmin(1) end, { x })
    end
  end)

  it('cumsum and cumprod along each dim, every dtype, long lines', function()
    for _, dt in ipairs(ALL) do
      local x = rand(dt, 6, 70)
      for d = 1, 2 do
        check('cumsum ' .. dt .. ' dim ' .. d, function(t) return t:cumsum(d) end, { x })
        check('cumprod ' .. dt .. ' dim ' .. d, function(t) return t:cumprod(d) end, { x:t():contiguous():t() })
      end
    end
    check('cumsum of a long line', function(t) return t:cumsum(1) end, { torch.rand(100000):to('float64') })
  end)

  it('empty reductions', function()
    local e = torch.zeros(0, 4)
    check('sum of empty rows', function(t) return t:sum(1) end, { e })
    check('prod of empty rows', function(t) return t:prod(1) end, { e })
    check('logsumexp of empty rows', function(t) return t:logsumexp(1) end, { e })
  end)
end)

describe('CUDA matrix products', function()
  it('mm, bmm, matmul, addmm with transposed, strided and expanded operands', function()
    for _, dt in ipairs({ 'float32', 'float64', 'float16', 'bfloat16' }) do
      local tol = TOL[dt] * 10
      local a, b = rand(dt, 37, 64), rand(dt, 64, 29)
      check('mm ' .. dt, function(x, y) return x:mm(y) end, { a, b }, tol)
      check('mm transposed ' .. dt, function(x, y) return x:mm(y) end, { rand(dt, 64, 37):t(), rand(dt, 29, 64):t() }, tol)
      check('mm strided ' .. dt, function(x, y) return x:mm(y) end,
            { rand(dt, 37, 128):narrow(2, 1, 64), rand(dt, 64, 58):index_select(2, torch.arange(1, 58, 2)) }, tol)
      local A, B = rand(dt, 5, 12, 16), rand(dt, 5, 16, 9)
      check('bmm ' .. dt, function(x, y) return x:bmm(y) end, { A, B }, tol)
      check('matmul broadcast ' .. dt, function(x, y) return x:matmul(y) end, { A, rand(dt, 16, 9) }, tol)
      check('matmul expanded batch ' .. dt, function(x, y) return x:matmul(y) end,
            { rand(dt, 1, 12, 16):expand(5, 12, 16), B }, tol)
      check('matmul vector ' .. dt, function(x, y) return x:matmul(y) end, { a, rand(dt, 64) }, tol)
      check('addmm ' .. dt, function(c, x, y) return torch.addmm(c, x, y, { beta = 0.5, alpha = 2 }) end,
            { rand(dt, 37, 29), a, b }, tol)
    end
  end)

  it('integer products', function()
    for _, dt in ipairs({ 'int64', 'int32', 'int16', 'int8', 'uint8' }) do
      check('mm ' .. dt, function(x, y) return x:mm(y) end, { rand(dt, 19, 40), rand(dt, 40, 21) })
      check('bmm ' .. dt, function(x, y) return x:bmm(y) end, { rand(dt, 3, 19, 40), rand(dt, 3, 40, 21) })
    end
  end)
end)

describe('CUDA indexing', function()
  it('gather, scatter and its reductions, index_select/add/copy/fill, take, put', function()
    for _, dt in ipairs({ 'float32', 'float64', 'int64', 'int32', 'uint8', 'float16' }) do
      local x = rand(dt, 6, 9)
      local idx = torch.randint(1, 7, { 4, 9 })
      check('gather dim 1 ' .. dt, function(t, i) return t:gather(1, i) end, { x, idx })
      check('gather dim 2 ' .. dt, function(t, i) return t:gather(2, i) end, { x, torch.randint(1, 10, { 6, 5 }) })
      local src = rand(dt, 4, 9)
      check('scatter ' .. dt, function(t, i, s) return t:scatter(1, i, s) end, { x, idx, src })
      check('scatter_add ' .. dt, function(t, i, s) return t:scatter_add(1, i, s) end, { x, idx, src })
      for _, r in ipairs({ 'sum', 'prod', 'amax', 'amin' }) do
        check('scatter_reduce ' .. r .. ' ' .. dt, function(t, i, s) return t:scatter_reduce(1, i, s, r) end,
              { x, idx, src })
      end
      local rows = torch.tensor({ 3, 1, 3, 6 })
      check('index_select ' .. dt, function(t, i) return t:index_select(1, i) end, { x, rows })
      check('index_add ' .. dt, function(t, i, s) return t:index_add(1, i, s) end, { x, rows, src })
      check('index_copy ' .. dt, function(t, i, s) return t:index_copy(1, i, s) end,
            { x, torch.tensor({ 2, 4, 1, 5 }), src })
      check('index_fill ' .. dt, function(t, i) return t:index_fill(2, i, 1) end, { x, rows })
      check('take ' .. dt, function(t, i) return t:take(i) end, { x, torch.randint(1, 55, { 20 }) })
      check('put accumulate ' .. dt, function(t, i, s) return t:put(i, s, true) end,
            { x, torch.randint(1, 55, { 30 }), rand(dt, 30) })
    end
    -- additions into few lines over a long index (the atomic path)
    check('index_add of many rows into few', function(t, i, s) return t:index_add(1, i, s) end,
          { torch.zeros(3, 4, { dtype = 'float64' }), torch.randint(1, 4, { 5000 }), torch.rand(5000, 4):to('float64') })
  end)

  it('raises the CPU errors for bad indices', function()
    local x = torch.rand(4, 5)
    check_error('gather', function(t, i) return t:gather(1, i) end, { x, torch.tensor({ { 1, 9 } }) })
    check_error('scatter', function(t, i) return t:scatter(1, i, t) end, { x, torch.tensor({ { 0, 1 } }) })
    check_error('index_select', function(t, i) return t:index_select(2, i) end, { x, torch.tensor({ 6 }) })
    check_error('take', function(t, i) return t:take(i) end, { x, torch.tensor({ 21 }) })
  end)

  it('masked_fill, masked_select, masked_scatter, nonzero, count_nonzero', function()
    for _, dt in ipairs(ALL) do
      local x = rand(dt, 7, 11)
      local m = torch.rand(7, 11):gt(0.6)
      check('masked_fill ' .. dt, function(t, k) return t:masked_fill(k, 1) end, { x, m })
      check('masked_fill broadcast ' .. dt, function(t, k) return t:masked_fill(k, 0) end, { x, torch.rand(11):gt(0.5) })
      check('masked_select ' .. dt, function(t, k) return t:masked_select(k) end, { x:t(), m:t() })
      check('masked_scatter ' .. dt, function(t, k, s) return t:masked_scatter(k, s) end, { x, m, rand(dt, 77) })
      check('nonzero ' .. dt, function(t) return t:nonzero() end, { x })
      check('count_nonzero ' .. dt, function(t) return t:count_nonzero() end, { x })
    end
  end)
end)

describe('CUDA ordering', function()
  it('sort (stable, NaN last, -0.0), topk, kthvalue, argsort on rows short and long', function()
    for _, dt in ipairs(ALL) do
      for _, shape in ipairs({ { 9 }, { 5, 40 }, { 3, 3000 } }) do
        local x = dt == 'bool' and rand(dt, unpack(shape)) or torch.randint(-3, 4, shape):to(dt)
        local tag = ('%s [%s]'):format(dt, table.concat(shape, 'x'))
        check('sort ' .. tag, function(t) return t:sort(-1) end, { x })
        check('sort descending ' .. tag, function(t) return t:sort(-1, true) end, { x })
        check('sort dim 1 ' .. tag, function(t) return t:sort(1) end, { x })
        if dt ~= 'bool' then
          check('topk ' .. tag, function(t) return t:topk(3, -1) end, { x })
          check('topk smallest ' .. tag, function(t) return t:topk(2, -1, false) end, { x })
          check('kthvalue ' .. tag, function(t) return t:kthvalue(2, -1) end, { x })
        end
      end
    end
    local f = torch.tensor({ 1, 0 / 0, -0.0, 0.0, -1, math.huge, -math.huge, 0 / 0 })
    check('sort with NaN and signed zeros', function(t) return t:sort() end, { f })
    check('sort descending with NaN', function(t) return t:sort(1, true) end, { f })
    check('sort transposed', function(t) return t:sort(2) end, { torch.rand(30, 20):t() })
  end)

  it('unique and searchsorted', function()
    local x = torch.randint(-5, 6, { 8, 9 })
    check('unique', function(t) return t:unique(true, true, true) end, { x })
    check('unique dim', function(t) return t:unique(true, true, true, 1) end, { torch.randint(0, 2, { 10, 3 }) })
    check('unique_consecutive', function(t) return t:unique_consecutive(true, true) end, { x:view(-1) })
    local s = torch.rand(50):sort()
    for _, right in ipairs({ false, true }) do
      check('searchsorted right=' .. tostring(right), function(seq, v)
        return torch.searchsorted(seq, v, { right = right })
      end, { s, torch.rand(7, 5) })
      check('bucketize', function(v, seq) return v:bucketize(seq, { right = right }) end,
            { torch.rand(33), s })
    end
    check('searchsorted rows', function(seq, v) return torch.searchsorted(seq, v) end,
          { torch.rand(4, 30):sort(2), torch.rand(4, 6) })
  end)
end)

describe('CUDA joining', function()
  it('cat (mixed dtypes, many inputs, empty ones), flip, tril, triu', function()
    local a, b, c = torch.rand(3, 4), torch.rand(2, 4):to('float64'), torch.randint(0, 9, { 5, 4 })
    check('cat dim 1 mixed dtypes', function(x, y, z) return torch.cat({ x, y, z }, 1) end, { a, b, c })
    check('cat dim 2', function(x, y) return torch.cat({ x, y }, 2) end, { torch.rand(3, 2), torch.rand(3, 5):t():t() })
    local many = {}
    for i = 1, 19 do many[i] = torch.rand(2, i % 3 + 1) end
    check('cat of 19 inputs', function(...) return torch.cat({ ... }, 2) end, many)
    check('cat with an empty input', function(x, y) return torch.cat({ x, y }, 1) end, { torch.rand(0, 4), a })
    for _, dt in ipairs(ALL) do
      local x = rand(dt, 4, 5, 6)
      check('flip ' .. dt, function(t) return t:flip(1, 3) end, { x })
      check('tril ' .. dt, function(t) return t:tril(1) end, { x })
      check('triu ' .. dt, function(t) return t:triu(-1) end, { x:transpose(2, 3) })
    end
  end)
end)

describe('CUDA nn kernels', function()
  -- through cuDNN where it is installed, and through im2col + cuBLAS (cuDNN disabled); padding='same' with an
  -- even kernel pads unevenly, which cuDNN cannot, so it takes im2col either way
  local function conv_cases(dt, cudnn)
    local tol = dt == 'float32' and 1e-3 or 1e-9
    if DEV == 'cuda' then torch.cuda.set_cudnn_enabled(cudnn) end
    for _, o in ipairs({ {}, { stride = 2, padding = 1 }, { dilation = 2, padding = 2 }, { groups = 2, padding = 1 },
                         { stride = { 1, 2 }, padding = { 0, 1 } }, { padding = 'same', kernel = 2 } }) do
      local x = torch.randn(3, 4, 9, 8):to(dt)
      local k = o.kernel or 3
      o = { stride = o.stride, padding = o.padding, dilation = o.dilation, groups = o.groups }
      local w = torch.randn(6, 4 / (o.groups or 1), k, k):to(dt)
      local b = torch.randn(6):to(dt)
      local tag = ('%s cuDNN %s kernel %d stride %s padding %s dilation %s groups %s'):format(dt, tostring(cudnn), k,
        tostring(o.stride), tostring(o.padding), tostring(o.dilation), tostring(o.groups))
      check('conv2d ' .. tag, function(xx, ww, bb) return K.conv2d(xx, ww, bb, o) end, { x, w, b }, tol)
      local y = K.conv2d(x, w, b, o)
      local g = torch.randn(unpack(y:shape())):to(dt)
      check('conv2d_backward ' .. tag, function(gg, xx, ww) return K.conv2d_backward(gg, xx, ww, o) end,
            { g, x, w }, tol)
    end
    check('conv1d', function(xx, ww) return K.conv1d(xx, ww, nil, { padding = 1 }) end,
          { torch.randn(2, 3, 20):to(dt), torch.randn(5, 3, 3):to(dt) }, tol)
    check('conv_transpose2d', function(xx, ww) return K.conv_transpose2d(xx, ww, nil, { stride = 2 }) end,
          { torch.randn(2, 4, 5, 5):to(dt), torch.randn(4, 3, 3, 3):to(dt) }, tol)
    check('conv_transpose2d output_padding', function(xx, ww)
      return K.conv_transpose2d(xx, ww, nil, { stride = 2, padding = 1, output_padding = 1 })
    end, { torch.randn(2, 4, 5, 5):to(dt), torch.randn(4, 3, 3, 3):to(dt) }, tol)
    -- one image of many channels: the bias gradient's parts over few images
    local x, w = torch.randn(1, 3, 6, 6):to(dt), torch.randn(70, 3, 3, 3):to(dt)
    check('conv2d_backward of one image into many channels', function(gg, xx, ww)
      return K.conv2d_backward(gg, xx, ww, { padding = 1 })
    end, { torch.randn(1, 70, 6, 6):to(dt), x, w }, tol)
  end

  it('conv2d forward and backward (stride, padding, dilation, groups), with and without cuDNN', function()
    for _, dt in ipairs(FLOATS) do
      for _, cudnn in ipairs({ true, false }) do
        local ok, e = pcall(conv_cases, dt, cudnn)
        if DEV == 'cuda' then torch.cuda.set_cudnn_enabled(true) end
        assert(ok, e)
      end
    end
  end)

  it('pooling and its backward', function()
    for _, dt in ipairs(FLOATS) do
      local x = torch.randn(2, 3, 11, 10):to(dt)
      x[{ 1, 1, 2, 2 }] = 0 / 0
      for _, o in ipairs({ {}, { stride = 1, padding = 1 }, { dilation = 2 }, { stride = 2, ceil_mode = true } }) do
        check('max_pool2d', function(t) return K.max_pool2d(t, 3, o) end, { x })
        local y, i = K.max_pool2d(x, 3, o)
        check('max_pool2d_backward', function(g, t, ix) return K.max_pool2d_backward(g, t, ix) end,
              { torch.randn(unpack(y:shape())):to(dt), x, i })
      end
      for _, o in ipairs({ {}, { stride = 2, padding = 1 }, { padding = 1, count_include_pad = false },
                           { divisor_override = 5 } }) do
        check('avg_pool2d', function(t) return K.avg_pool2d(t, 3, o) end, { x })
        local y = K.avg_pool2d(x, 3, o)
        check('avg_pool2d_backward', function(g, t) return K.avg_pool2d_backward(g, t, 3, o) end,
              { torch.randn(unpack(y:shape())):to(dt), x })
      end
      for _, size in ipairs({ { 1, 1 }, { 4, 3 }, { 7, 7 } }) do
        check('adaptive_avg_pool2d', function(t) return K.adaptive_avg_pool2d(t, size) end, { x })
        check('adaptive_max_pool2d', function(t) return K.adaptive_max_pool2d(t, size) end, { x })
        local y = K.adaptive_avg_pool2d(x, size)
        check('adaptive_avg_pool2d_backward', function(g, t) return K.adaptive_avg_pool2d_backward(g, t) end,
              { torch.randn(unpack(y:shape())):to(dt), x })
      end
    end
  end)

  it('softmax, log_softmax and backward (short rows, long rows, inner dims)', function()
    for _, dt in ipairs(FLOATS) do
      for _, shape in ipairs({ { 7, 10 }, { 3, 5000 }, { 4, 6, 5 } }) do
        local x = torch.randn(unpack(shape)):to(dt)
        for d = 1, #shape do
          for _, f in ipairs({ 'softmax', 'log_softmax' }) do
            check(f .. ' dim ' .. d, function(t) return K[f](t, d) end, { x })
            local y = K[f](x, d)
            check(f .. '_backward dim ' .. d, function(g, yy) return K[f .. '_backward'](g, yy, d) end,
                  { torch.randn(unpack(shape)):to(dt), y })
          end
        end
      end
    end
  end)

  it('cross_entropy and nll_loss, forward and backward, every option', function()
    for _, dt in ipairs(FLOATS) do
      local x = torch.randn(16, 5):to(dt)
      local t = torch.randint(1, 6, { 16 })
      t[3] = -100
      local w = torch.rand(5):to(dt)
      for _, o in ipairs({ {}, { reduction = 'sum' }, { reduction = 'none' }, { weight = w },
                           { label_smoothing = 0.1 }, { weight = w, label_smoothing = 0.2, reduction = 'sum' } }) do
        -- the options travel with the inputs: a class weight goes to the device too
        check('cross_entropy', function(a, b, oo) return K.cross_entropy(a, b, oo) end, { x, t, o })
        local l = K.cross_entropy(x, t, o)
        check('cross_entropy_backward', function(g, a, b, oo) return K.cross_entropy_backward(g, a, b, oo) end,
              { o.reduction == 'none' and torch.rand(16):to(dt) or torch.tensor(1.5):to(dt), x, t, o })
        check('nll_loss', function(a, b, oo) return K.nll_loss(a, b, oo) end, { x, t, o })
        check('nll_loss_backward', function(g, a, b, oo) return K.nll_loss_backward(g, a, b, oo) end,
              { o.reduction == 'none' and torch.rand(16):to(dt) or torch.tensor(0.5):to(dt), x, t, o })
        assert.is_true(l:numel() >= 1)
      end
      local p = K.softmax(torch.randn(16, 5):to(dt), 2)
      check('cross_entropy with probabilities', function(a, b) return K.cross_entropy(a, b, { label_smoothing = 0.1 }) end,
            { x, p })
      check('cross_entropy_backward with probabilities',
            function(a, b) return K.cross_entropy_backward(torch.tensor(1):to(a:dtype()):to(a:device()), a, b) end, { x, p })
      check('cross_entropy over [N x C x d]', function(a, b) return K.cross_entropy(a, b) end,
            { torch.randn(3, 5, 7):to(dt), torch.randint(1, 6, { 3, 7 }) })
      check('cross_entropy over many classes', function(a, b) return K.cross_entropy(a, b) end,
            { torch.randn(4, 3000):to(dt), torch.randint(1, 3001, { 4 }) })
    end
  end)

  it('layer, batch and group norm, forward and backward', function()
    for _, dt in ipairs(FLOATS) do
      local tol = dt == 'float32' and 1e-3 or 1e-9
      local x = torch.randn(6, 4, 5, 3):to(dt):add(3)
      local w, b = torch.randn(5, 3):to(dt), torch.randn(5, 3):to(dt)
      check('layer_norm', function(a, ww, bb) return K.layer_norm(a, { 5, 3 }, ww, bb, 1e-5) end, { x, w, b }, tol)
      local _, mean, rstd = K.layer_norm(x, { 5, 3 }, w, b, 1e-5)
      check('layer_norm_backward', function(g, a, m, r, ww)
        return K.layer_norm_backward(g, a, { 5, 3 }, m, r, ww, { true, true, true })
      end, { torch.randn(6, 4, 5, 3):to(dt), x, mean, rstd, w }, tol)
      local cw, cb = torch.randn(4):to(dt), torch.randn(4):to(dt)
      check('batch_norm training', function(a, rm, rv, ww, bb)
        local y, sm, si = K.batch_norm(a, rm, rv, ww, bb, true, 0.1, 1e-5)
        return y, sm, si, rm, rv
      end, { x, torch.zeros(4):to(dt), torch.ones(4):to(dt), cw, cb }, tol)
      check('batch_norm evaluation', function(a, rm, rv, ww, bb) return K.batch_norm(a, rm, rv, ww, bb, false) end,
            { x, torch.rand(4):to(dt), torch.rand(4):to(dt):add(0.5), cw, cb }, tol)
      local _, sm, si = K.batch_norm(x, nil, nil, cw, cb, true, 0.1, 1e-5)
      check('batch_norm_backward', function(g, a, ww, m, s)
        return K.batch_norm_backward(g, a, { weight = ww, training = true, eps = 1e-5, save_mean = m, save_invstd = s,
                                             output_mask = { true, true, true } })
      end, { torch.randn(6, 4, 5, 3):to(dt), x, cw, sm, si }, tol)
      check('group_norm', function(a, ww, bb) return K.group_norm(a, 2, ww, bb, 1e-5) end, { x, cw, cb }, tol)
      local _, gm, gr = K.group_norm(x, 2, cw, cb, 1e-5)
      check('group_norm_backward', function(g, a, m, r, ww)
        return K.group_norm_backward(g, a, 2, m, r, ww, { true, true, true })
      end, { torch.randn(6, 4, 5, 3):to(dt), x, gm, gr, cw }, tol)
    end
  end)

  it('embedding and its backward (padding_idx, scale_grad_by_freq)', function()
    for _, dt in ipairs(FLOATS) do
      local w = torch.randn(10, 6):to(dt)
      local idx = torch.randint(1, 11, { 4, 7 })
      check('embedding', function(i, ww) return K.embedding(i, ww) end, { idx, w })
      for _, o in ipairs({ {}, { padding_idx = 3 }, { scale_grad_by_freq = true } }) do
        check('embedding_backward', function(g, i) return K.embedding_backward(g, i, 10, o) end,
              { torch.randn(4, 7, 6):to(dt), idx }, dt == 'float32' and 1e-5 or 1e-12)
      end
    end
  end)

  -- the 3-d (volumetric) family: cuDNN's N-d convolutions (5-d descriptors) and im2col over volumes; pooling
  it('conv3d, conv_transpose3d and 3-d pooling, forward and backward, with and without cuDNN', function()
    local function cases(dt)
      local tol = dt == 'float32' and 1e-3 or 1e-9
      for _, o in ipairs({ { padding = 1 }, { stride = { 2, 1, 2 }, padding = { 1, 0, 1 }, dilation = { 1, 2, 1 } },
                           { groups = 2, stride = 2 }, { padding = 'same', kernel = 2 } }) do
        local k = o.kernel or 3
        o = { stride = o.stride, padding = o.padding, dilation = o.dilation, groups = o.groups }
        local x = torch.randn(2, 4, 6, 7, 5):to(dt)
        local w, b = torch.randn(6, 4 / (o.groups or 1), k, 2, k):to(dt), torch.randn(6):to(dt)
        local tag = ('%s kernel %d stride %s padding %s'):format(dt, k, tostring(o.stride), tostring(o.padding))
        check('conv3d ' .. tag, function(xx, ww, bb) return K.conv3d(xx, ww, bb, o) end, { x, w, b }, tol)
        local y = K.conv3d(x, w, b, o)
        check('conv3d_backward ' .. tag, function(gg, xx, ww) return K.conv3d_backward(gg, xx, ww, o) end,
              { torch.randn(unpack(y:shape())):to(dt), x, w }, tol)
      end
      local to = { stride = 2, padding = { 1, 0, 1 }, output_padding = 1, groups = 2 }
      local xt, wt = torch.randn(2, 4, 3, 4, 3):to(dt), torch.randn(4, 3, 3, 2, 3):to(dt)
      check('conv_transpose3d', function(xx, ww, bb) return K.conv_transpose3d(xx, ww, bb, to) end,
            { xt, wt, torch.randn(6):to(dt) }, tol)
      local yt = K.conv_transpose3d(xt, wt, nil, to)
      check('conv_transpose3d_backward', function(gg, xx, ww) return K.conv_transpose3d_backward(gg, xx, ww, to) end,
            { torch.randn(unpack(yt:shape())):to(dt), xt, wt }, tol)
    end
    for _, dt in ipairs(FLOATS) do
      for _, cudnn in ipairs({ true, false }) do
        if DEV == 'cuda' then torch.cuda.set_cudnn_enabled(cudnn) end
        local ok, e = pcall(cases, dt)
        if DEV == 'cuda' then torch.cuda.set_cudnn_enabled(true) end
        assert(ok, e)
      end
      local x = torch.randn(2, 3, 7, 6, 9):to(dt)
      x[{ 1, 2, 3, 3, 3 }] = 0 / 0
      for _, o in ipairs({ {}, { stride = 2, padding = 1 }, { dilation = { 2, 1, 1 } },
                           { stride = { 1, 2, 2 }, ceil_mode = true } }) do
        check('max_pool3d', function(t) return K.max_pool3d(t, 3, o) end, { x })
        local y, i = K.max_pool3d(x, 3, o)
        check('max_pool3d_backward', function(g, t, ix) return K.max_pool3d_backward(g, t, ix) end,
              { torch.randn(unpack(y:shape())):to(dt), x, i })
      end
      for _, o in ipairs({ {}, { stride = 2, padding = 1, ceil_mode = true }, { padding = 1, count_include_pad = false },
                           { divisor_override = 5 } }) do
        check('avg_pool3d', function(t) return K.avg_pool3d(t, 3, o) end, { x })
        local y = K.avg_pool3d(x, 3, o)
        check('avg_pool3d_backward', function(g, t) return K.avg_pool3d_backward(g, t, 3, o) end,
              { torch.randn(unpack(y:shape())):to(dt), x })
      end
      for _, size in ipairs({ { 1, 1, 1 }, { 4, 3, 5 }, { 9, 6, 10 } }) do
        check('adaptive_avg_pool3d', function(t) return K.adaptive_avg_pool3d(t, size) end, { x })
        check('adaptive_max_pool3d', function(t) return K.adaptive_max_pool3d(t, size) end, { x })
        local y = K.adaptive_avg_pool3d(x, size)
        check('adaptive_avg_pool3d_backward', function(g, t) return K.adaptive_avg_pool3d_backward(g, t) end,
              { torch.randn(unpack(y:shape())):to(dt), x })
      end
    end
  end)
end)

describe('CUDA linear algebra (cuSOLVER)', function()
  local L = torch.linalg
  local LTOL = { float32 = 2e-3, float64 = 1e-9 }
  local function mT(t) return t:transpose(-2, -1) end
  -- well-conditioned square matrices: randn + n I
  local function wellcond(dt, ...)
    local s = { ... }
    return rand(dt, ...):add(torch.eye(s[#s]):to(dt):mul(s[#s]))
  end
  -- symmetric positive-definite: a a' + n I
  local function spd(dt, ...)
    local s = { ... }
    local a = rand(dt, ...)
    return a:matmul(mT(a)):add(torch.eye(s[#s]):to(dt):mul(s[#s]))
  end
  -- square matrices in several layouts: a batch, its transpose, a strided view, an expanded batch
  local function squares(dt, make)
    local a = make(dt, 3, 5, 5)
    return {
      { 'single', make(dt, 6, 6) }, { 'batch', a }, { 'transposed', mT(a) },
      { 'strided', rand(dt, 3, 5, 10):narrow(3, 1, 5):copy_(make(dt, 3, 5, 5)) },
      { 'expanded', make(dt, 1, 5, 5):expand(4, 5, 5) },
    }
  end

  it('inv, solve (left and right, vectors, broadcast batches), det and slogdet against the CPU', function()
    for _, dt in ipairs(FLOATS) do
      local tol = LTOL[dt]
      for _, l in ipairs(squares(dt, wellcond)) do
        local tag = dt .. ' ' .. l[1]
        check('inv ' .. tag, function(a) return L.inv(a) end, { l[2] }, tol)
        check('det ' .. tag, function(a) return L.det(a) end, { l[2] }, tol)
        check('slogdet ' .. tag, function(a) return L.slogdet(a) end, { l[2] }, tol)
      end
      local A = wellcond(dt, 3, 5, 5)
      check('solve ' .. dt, function(a, b) return L.solve(a, b) end, { A, rand(dt, 3, 5, 2) }, tol)
      check('solve broadcast B ' .. dt, function(a, b) return L.solve(a, b) end, { A, rand(dt, 5, 4) }, tol)
      check('solve broadcast A ' .. dt, function(a, b) return L.solve(a, b) end, { A[1], rand(dt, 2, 5, 3) }, tol)
      check('solve vector ' .. dt, function(a, b) return L.solve(a, b) end, { A, rand(dt, 3, 5) }, tol)
      check('solve left=false ' .. dt, function(a, b) return L.solve(a, b, { left = false }) end,
            { A, rand(dt, 3, 2, 5) }, tol)
      check('solve transposed ' .. dt, function(a, b) return L.solve(a, b) end, { mT(A), mT(rand(dt, 3, 4, 5)) }, tol)
      -- singular and sign cases: a zero pivot gives det 0, sign 0 and -inf; a swap flips the sign
      local S = torch.tensor({ { { 1, 2 }, { 2, 4 } }, { { 0, 1 }, { 1, 0 } }, { { -2, 0 }, { 0, 3 } } }):to(dt)
      check('det singular and signs ' .. dt, function(a) return L.det(a) end, { S }, tol)
      check('slogdet singular and signs ' .. dt, function(a) return L.slogdet(a) end, { S }, tol)
      check('det of empty matrices ' .. dt, function(a) return L.det(a) end, { torch.zeros(3, 0, 0):to(dt) })
    end
  end)

  it('cholesky (upper and lower) and eigh/eigvalsh (upper and lower) against the CPU', function()
    for _, dt in ipairs(FLOATS) do
      local tol = LTOL[dt]
      for _, l in ipairs(squares(dt, spd)) do
        local tag = dt .. ' ' .. l[1]
        check('cholesky ' .. tag, function(a) return L.cholesky(a) end, { l[2] }, tol)
        check('cholesky upper ' .. tag, function(a) return L.cholesky(a, { upper = true }) end, { l[2] }, tol)
        for _, uplo in ipairs({ 'L', 'U' }) do
          -- eigenvectors are unique up to sign (distinct eigenvalues): compare |V|, V diag(w) V' and V'V
          check('eigh ' .. uplo .. ' ' .. tag, function(a)
            local w, v = L.eigh(a, uplo)
            return w, v:abs()
          end, { l[2] }, tol * 10)
          check('eigh reconstruction ' .. uplo .. ' ' .. tag, function(a)
            local w, v = L.eigh(a, uplo)
            return (v * w:unsqueeze(-2)):matmul(mT(v)), mT(v):matmul(v)
          end, { l[2] }, tol * 10)
          check('eigvalsh ' .. uplo .. ' ' .. tag, function(a) return L.eigvalsh(a, uplo) end, { l[2] }, tol * 10)
        end
      end
    end
  end)

  it('qr (reduced, complete, r) and svd (full, reduced, values only) of tall, wide and square batches', function()
    for _, dt in ipairs(FLOATS) do
      local tol = LTOL[dt] * 10
      for _, shape in ipairs({ { 7, 4 }, { 3, 4, 7 }, { 2, 5, 5 }, { 3, 0 }, { 0, 3 } }) do
        local x = rand(dt, unpack(shape))
        for _, t in ipairs({ { 'contiguous', x }, { 'transposed', mT(mT(x):contiguous()) } }) do
          local tag = ('%s %s [%s]'):format(dt, t[1], table.concat(shape, 'x'))
          -- Q's columns and R's rows are unique up to sign: compare |Q|, |R|, Q R and Q'Q
          check('qr reduced ' .. tag, function(a)
            local q, r = L.qr(a)
            return q:abs(), r:abs(), q:matmul(r), mT(q):matmul(q)
          end, { t[2] }, tol)
          check('qr complete ' .. tag, function(a)
            local q, r = L.qr(a, 'complete')
            return r:abs(), q:matmul(r), mT(q):matmul(q)
          end, { t[2] }, tol)
          check('qr r ' .. tag, function(a)
            local q, r = L.qr(a, 'r')
            return q, r:abs()
          end, { t[2] }, tol)
          -- singular vectors may differ by sign from the CPU's (gesvd on CUDA, gesdd on the CPU): compare
          -- S, U diag(S) Vh, U'U and Vh Vh', and |U|, |Vh| of the reduced factorisation (distinct values)
          check('svd reduced ' .. tag, function(a)
            local u, s, vh = L.svd(a, false)
            return s, (u * s:unsqueeze(-2)):matmul(vh), mT(u):matmul(u), vh:matmul(mT(vh)), u:abs(), vh:abs()
          end, { t[2] }, tol)
          check('svd full ' .. tag, function(a)
            local u, s, vh = L.svd(a, true)
            return s, mT(u):matmul(u), vh:matmul(mT(vh))
          end, { t[2] }, tol)
          check('svdvals ' .. tag, function(a) return L.svdvals(a) end, { t[2] }, tol)
        end
      end
    end
  end)

  it('raises the CPU errors for singular and not positive-definite matrices', function()
    for _, dt in ipairs(FLOATS) do
      local singular = torch.tensor({ { 1, 2 }, { 2, 4 } }):to(dt)
      local batch = torch.eye(2):to(dt):expand(3, 2, 2):contiguous()
      batch[2]:copy_(singular)
      check_error('inv singular ' .. dt, function(a) return L.inv(a) end, { singular })
      check_error('inv singular in a batch ' .. dt, function(a) return L.inv(a) end, { batch })
      check_error('solve singular ' .. dt, function(a, b) return L.solve(a, b) end, { batch, torch.ones(3, 2):to(dt) })
      local notpd = torch.tensor({ { 4, 1, 0 }, { 1, -3, 0 }, { 0, 0, 2 } }):to(dt)
      local pdbatch = torch.eye(3):to(dt):expand(4, 3, 3):contiguous()
      pdbatch[3]:copy_(notpd)
      check_error('cholesky not positive-definite ' .. dt, function(a) return L.cholesky(a) end, { notpd })
      check_error('cholesky upper, in a batch ' .. dt, function(a) return L.cholesky(a, { upper = true }) end,
                  { pdbatch })
      check_error('inv of integers', function(a) return L.inv(a) end, { torch.ones(2, 2, { dtype = 'int64' }) })
    end
  end)

  it('gradients of inv, det and solve through autograd', function()
    for _, dt in ipairs(FLOATS) do
      local A, B = wellcond(dt, 2, 4, 4), rand(dt, 2, 4, 3)
      local function grads(device)
        local a, b = A:clone():to(device):requires_grad_(), B:clone():to(device):requires_grad_()
        local loss = L.inv(a):sum() + L.det(a):sum() + L.solve(a, b):mul(L.solve(a, b)):sum()
        loss:backward()
        return { loss:detach(), a.grad, b.grad }
      end
      local want, got = grads('cpu'), grads(DEV)
      for i = 1, #want do compare(got[i], want[i], LTOL[dt], ('%s gradient %d'):format(dt, i)) end
    end
  end)
end)

-- the loss and every parameter's gradient of `forward(modules, device)` (a loss), modules made by `build`
-- from one seed on the CPU and on the device
local function same_module_grads(build, forward, tol)
  local function run(device)
    torch.manual_seed(11)
    local modules = build()
    local out = {}
    for _, m in ipairs(modules) do
      if device ~= 'cpu' then m:to(device) end
    end
    local loss = forward(modules, device)
    loss:backward()
    out[1] = loss:detach()
    for _, m in ipairs(modules) do
      for _, p in ipairs(m:parameters()) do out[#out + 1] = p.grad end
    end
    return out
  end
  local want, got = run('cpu'), run(DEV)
  assert.are.equal(#want, #got)
  for i = 1, #want do compare(got[i], want[i], tol, ('gradient %d'):format(i)) end
end

describe('CUDA autograd', function()
  -- the gradients of a loss through a model built twice from one seed, on the CPU and on the device
  local function grads(build, x, t, device)
    torch.manual_seed(11)
    local model = build()
    if device ~= 'cpu' then model:to(device) end
    local loss = nn.CrossEntropyLoss()(model(x:to(device)), t:to(device))
    loss:backward()
    local out = { loss:detach() }
    for _, p in ipairs(model:parameters()) do out[#out + 1] = p.grad end
    return out
  end

  local function same_grads(build, x, t, tol)
    local want = grads(build, x, t, 'cpu')
    local got = grads(build, x, t, DEV)
    assert.are.equal(#want, #got)
    for i = 1, #want do compare(got[i], want[i], tol, ('gradient %d'):format(i)) end
  end

  it('an MLP', function()
    same_grads(function()
      return nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 16), nn.Tanh(), nn.Linear(16, 5))
    end, torch.randn(12, 20), torch.randint(1, 6, { 12 }), 1e-4)
  end)

  it('a small conv net', function()
    same_grads(function()
      return nn.Sequential(nn.Conv2d(3, 8, 3, { padding = 1 }), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                           nn.Conv2d(8, 6, 3), nn.ReLU(), nn.Flatten(), nn.Linear(6 * 2 * 2, 4))
    end, torch.randn(5, 3, 8, 8), torch.randint(1, 5, { 5 }), 1e-3)
  end)

  it('embedding and 2-layer bidirectional LSTM and GRU, batch first', function()
    local ids, targets = torch.randint(1, 31, { 4, 7 }), torch.randint(1, 31, { 4 * 7 })
    for _, kind in ipairs({ 'LSTM', 'GRU' }) do
      same_module_grads(function()
        return { nn.Embedding(30, 8), nn[kind](8, 12, { num_layers = 2, bidirectional = true, batch_first = true }),
                 nn.Linear(24, 30) }
      end, function(m, device)
        local out = m[2](m[1](ids:to(device)))
        return nn.CrossEntropyLoss()(m[3](out):reshape(-1, 30), targets:to(device))
      end, 1e-4)
    end
  end)

  it('multi-head attention with a causal mask and a key padding mask', function()
    local x = torch.randn(3, 5, 16)
    local padding = torch.zeros(3, 5, { dtype = 'bool' })
    padding[2][5], padding[3][4] = true, true
    local causal = torch.ones(5, 5, { dtype = 'bool' }):triu(1)
    same_module_grads(function()
      return { nn.MultiheadAttention(16, 4, { batch_first = true }), nn.Linear(16, 3) }
    end, function(m, device)
      local out = m[1](x:to(device), x:to(device), x:to(device),
                       { attn_mask = causal:to(device), key_padding_mask = padding:to(device) })
      return m[2](out):pow(2):mean()
    end, 1e-4)
  end)
end)

-- The later families (statistics, builders, element-wise composites, upsampling and the layers built on existing
-- kernels) run on the device through the same ops; each must give the CPU's results, gradients included.
describe('CUDA composites of the later families', function()
  local F = nn.F

  it('statistics: quantile, nanquantile, nanmedian, mode, diff, cov, corrcoef, trapezoid, renorm', function()
    for _, dt in ipairs(FLOATS) do
      local x = rand(dt, 6, 9)
      local with_nan = x:clone()
      with_nan[2][3], with_nan[5][1] = 0 / 0, 0 / 0
      local q = torch.tensor({ 0.1, 0.5, 0.93 }, { dtype = dt })
      check('quantile ' .. dt, function(a, b) return a:quantile(b, 2), a:quantile(0.3) end, { x, q })
      check('nanquantile ' .. dt, function(a) return a:nanquantile(0.7, 1, true) end, { with_nan })
      check('nanmedian ' .. dt, function(a) return a:nanmedian(2) end, { with_nan })
      check('mode ' .. dt, function(a) return a:round():mode(2) end, { x })
      check('diff ' .. dt, function(a) return a:diff(2, 2), a:diff(1, 1) end, { x })
      check('cov and corrcoef ' .. dt, function(a) return a:cov(), a:corrcoef() end, { x })
      check('trapezoid ' .. dt, function(a) return torch.trapezoid(a), torch.cumulative_trapezoid(a, 0.5, 1) end,
            { x })
      check('renorm ' .. dt, function(a) return a:renorm(2, 1, 1.5) end, { x })
    end
  end)

  it('builders: block_diag, cartesian_prod, combinations, vander, rot90, tensordot, index_reduce', function()
    for _, dt in ipairs({ 'float32', 'float64', 'int64' }) do
      local a, b, v = rand(dt, 2, 3), rand(dt, 3, 1), rand(dt, 4)
      check('block_diag ' .. dt, function(x, y) return torch.block_diag(x, y) end, { a, b })
      check('cartesian_prod ' .. dt, function(x, y) return torch.cartesian_prod(x, y) end, { v, v:narrow(1, 1, 2) })
      check('combinations ' .. dt, function(x) return torch.combinations(x, 2), torch.combinations(x, 3, true) end,
            { v })
      check('vander ' .. dt, function(x) return torch.vander(x, 3) end, { v })
      check('rot90 ' .. dt, function(x) return x:rot90(1), x:rot90(3, { 1, 2 }) end, { a })
      local idx = torch.tensor({ 2, 1, 2 })
      for _, reduce in ipairs({ 'prod', 'mean', 'amax', 'amin' }) do
        check('index_reduce ' .. reduce .. ' ' .. dt, function(x, i, s)
          return x:index_reduce(1, i, s, reduce), x:index_reduce(1, i, s, reduce, { include_self = false })
        end, { rand(dt, 2, 3), idx, rand(dt, 3, 3) })
      end
    end
    for _, dt in ipairs(FLOATS) do
      check('tensordot ' .. dt, function(x, y) return torch.tensordot(x, y, 1), torch.tensordot(x, y, { { 2 }, { 1 } })
      end, { rand(dt, 3, 4), rand(dt, 4, 5) })
    end
  end)

  it('element-wise composites: logit, float_power, ldexp, frexp, mvlgamma, hypot, xlogy, polygamma', function()
    for _, dt in ipairs(FLOATS) do
      local p = torch.rand(5, 4):mul(0.98):add(0.01):to(dt)
      local x = rand(dt, 5, 4)
      check('logit ' .. dt, function(a) return a:logit(), a:logit(0.1) end, { p })
      check('float_power ' .. dt, function(a) return a:float_power(2.5), a:abs():float_power(a) end, { x })
      check('ldexp and frexp ' .. dt, function(a, e) return a:ldexp(e), a:frexp() end, { x, torch.tensor({ 1, -2, 3, 0 }) })
      check('mvlgamma ' .. dt, function(a) return a:add(3):mvlgamma(2) end, { p })
      check('hypot and xlogy ' .. dt, function(a, b) return a:hypot(b), a:abs():xlogy(b:abs()) end, { x, rand(dt, 4) })
      check('polygamma ' .. dt, function(a) return a:add(0.5):polygamma(1), a:add(0.5):polygamma(3) end, { p })
    end
  end)

  it('interpolate in every mode, forward and backward', function()
    local cases = {
      { 'nearest', { 2, 3, 5, 4 }, { size = { 7, 9 } } },
      { 'nearest-exact', { 2, 3, 5, 4 }, { scale_factor = 1.7 } },
      { 'linear', { 2, 3, 6 }, { size = 11, align_corners = true } },
      { 'bilinear', { 2, 3, 5, 4 }, { size = { 8, 3 } } },
      { 'bicubic', { 1, 2, 5, 6 }, { scale_factor = 2, align_corners = true } },
      { 'trilinear', { 1, 2, 3, 4, 3 }, { size = { 5, 5, 6 } } },
      { 'area', { 2, 3, 9, 7 }, { size = { 4, 3 } } },
    }
    for _, c in ipairs(cases) do
      local mode, shape, opts = c[1], c[2], c[3]
      opts.mode = mode
      check('interpolate ' .. mode, function(x)
        x = x:clone():requires_grad_()
        local y = F.interpolate(x, opts)
        y:mul(y:detach():add(1)):sum():backward()
        return y:detach(), x.grad
      end, { torch.randn(unpack(shape)) })
    end
  end)

  it('layers on existing kernels: pixel shuffle, instance and local response norm, cells, fold, losses', function()
    same_module_grads(function()
      return { nn.Conv2d(2, 8, 3, { padding = 1 }), nn.PixelShuffle(2), nn.InstanceNorm2d(2, { affine = true }),
               nn.LocalResponseNorm(2), nn.SELU(), nn.Linear(2, 3) }
    end, function(m, device)
      local x = torch.randn(3, 2, 4, 4):to(device)
      local y = m[5](m[4](m[3](m[2](m[1](x)))))
      return m[6](y:permute(1, 3, 4, 2)):pow(2):mean()
    end, 1e-4)
    same_module_grads(function()
      return { nn.LSTMCell(5, 7), nn.GRUCell(7, 6), nn.RNNCell(6, 4) }
    end, function(m, device)
      local x = torch.randn(3, 5):to(device)
      local h = m[1](x)
      return m[3](m[2](h)):sum()
    end, 1e-4)
    check('fold of unfold', function(x)
      local cols = F.unfold(x, 3, 1, 1, 2)
      return cols, F.fold(cols, { 6, 5 }, 3, 1, 1, 2)
    end, { torch.randn(2, 3, 6, 5) })
    check('grid_sample of affine_grid, with gradients', function(x, theta)
      x, theta = x:clone():requires_grad_(), theta:clone():requires_grad_()
      local y = F.grid_sample(x, F.affine_grid(theta, { 2, 3, 4, 5 }), { padding_mode = 'reflection' })
      local z = F.grid_sample(x, F.affine_grid(theta, { 2, 3, 3, 3 }), { mode = 'bicubic' })
      y:sum():add(z:pow(2):sum()):backward()
      return y:detach(), z:detach(), x.grad, theta.grad
    end, { torch.randn(2, 3, 6, 5), torch.randn(2, 2, 3) })
    local a, b, t = torch.randn(6, 4), torch.randn(6, 4), torch.randint(1, 5, { 6 })
    check('later losses', function(x, y, target)
      return F.multi_margin_loss(x, target), F.soft_margin_loss(x, y:sign()), F.triplet_margin_loss(x, y, x:flip(1)),
        F.poisson_nll_loss(x, y:abs()), F.gaussian_nll_loss(x, y, y:abs():add(0.1)), F.pdist(x)
    end, { a, b, t })
  end)
end)
