-- Tensors built from tensors (block_diag, cartesian_prod, combinations, vander, linalg.vander, tril/triu_indices,
-- rot90, diagflat, tensordot, sum_to_size, split_with_sizes) and the out-of-place scatters (select_scatter,
-- slice_scatter, diagonal_scatter, index_reduce) against PyTorch: values, dtypes, and gradients compared with
-- PyTorch's; errors.
local torch = require 'tensor'
local message = require 'helpers.failure'

torch.manual_seed(7)

local cases = require('helpers.cases').new()
local function case(...) cases:add(...) end

local function D(...) return torch.randn(...):double() end
local function T(t, dt) return torch.tensor(t, { dtype = dt or 'float64' }) end
local function ints(...) return torch.randint(-5, 6, { ... }) end
local PY = "import warnings; warnings.filterwarnings('ignore')\n"

-- A case whose Lua side returns fn's result and the gradients of (result * w):sum() with respect to the inputs
-- named in `names`, and whose Python side does the same with the expression `expr` (tensor's 1-based arguments
-- written there as PyTorch's).
local function grad_case(name, names, fn, expr, inputs)
  case(name .. ', with gradients', function(a)
    local args, leaves = {}, {}
    for k, v in pairs(a) do args[k] = v end
    for i, n in ipairs(names) do
      args[n] = a[n]:detach():requires_grad_()
      leaves[i] = args[n]
    end
    local out = fn(args)
    local grads = torch.autograd.grad({ (out * a.w):sum() }, leaves)
    return { out:detach(), unpack(grads) }
  end, PY .. table.concat(names, '.requires_grad_(); ') .. '.requires_grad_()\nr = ' .. expr ..
    '\nout = [r] + list(torch.autograd.grad((r * w).sum(), [' .. table.concat(names, ', ') .. ']))', inputs)
end

-- ---- block_diag ----
case('block_diag of a 0-d, a 1-d and a 2-d tensor promotes', function(a) return torch.block_diag(a.x, a.y, a.z) end,
     'out = torch.block_diag(x, y, z)', { x = torch.tensor(2), y = torch.randn(3), z = ints(2, 2) })
case('block_diag of a list with a transposed matrix', function(a) return torch.block_diag({ a.x:t(), a.y }) end,
     'out = torch.block_diag(x.t(), y)', { x = D(3, 2), y = D(2, 4) })
case('block_diag of bool and int64', function(a) return torch.block_diag(a.x, a.y) end,
     'out = torch.block_diag(x, y)', { x = torch.rand(2, 2):gt(0.5), y = ints(1, 3) })
case('block_diag with empty blocks', function(a) return torch.block_diag(a.x, a.y, a.z) end,
     'out = torch.block_diag(x, y, z)', { x = torch.zeros(0, 3), y = torch.randn(2, 2), z = torch.zeros(2, 0) })
case('block_diag of nothing', function() return torch.block_diag() end, 'out = torch.block_diag()')
grad_case('block_diag', { 'x', 'y', 'z' }, function(a) return torch.block_diag(a.x, a.y, a.z) end,
          'torch.block_diag(x, y, z)', { x = D(2, 3), y = D(), z = D(2), w = D(4, 6) })

-- ---- cartesian_prod and combinations ----
case('cartesian_prod of two int64 vectors', function(a) return torch.cartesian_prod(a.x, a.y) end,
     'out = torch.cartesian_prod(x, y)', { x = ints(3), y = ints(2) })
case('cartesian_prod of a list of three', function(a) return torch.cartesian_prod({ a.x, a.y, a.z }) end,
     'out = torch.cartesian_prod(x, y, z)', { x = torch.randn(2), y = torch.randn(3), z = torch.randn(2) })
case('cartesian_prod of one vector', function(a) return torch.cartesian_prod(a.x) end, 'out = torch.cartesian_prod(x)',
     { x = torch.randn(4) })
case('cartesian_prod with an empty vector', function(a) return torch.cartesian_prod(a.x, a.y) end,
     'out = torch.cartesian_prod(x, y)', { x = torch.randn(3), y = torch.randn(0) })
grad_case('cartesian_prod', { 'x', 'y' }, function(a) return torch.cartesian_prod(a.x, a.y) end,
          'torch.cartesian_prod(x, y)', { x = D(3), y = D(4), w = D(12, 2) })
for _, c in ipairs({ { 2, false }, { 3, false }, { 1, false }, { 5, false }, { 2, true }, { 3, true }, { 0, false } }) do
  local r, rep = c[1], c[2]
  case(string.format('combinations r=%d with_replacement=%s', r, tostring(rep)),
       function(a) return torch.combinations(a.x, r, rep) end,
       string.format('out = torch.combinations(x, %d, %s)', r, rep and 'True' or 'False'), { x = ints(4) })
end
case('combinations of bool, as options', function(a) return torch.combinations(a.x, { r = 2, with_replacement = true }) end,
     'out = torch.combinations(x, 2, True)', { x = torch.tensor({ true, false, true }) })
case('combinations of an empty vector', function(a) return torch.combinations(a.x) end, 'out = torch.combinations(x)',
     { x = torch.randn(0) })
grad_case('combinations', { 'x' }, function(a) return torch.combinations(a.x, 2, true) end,
          'torch.combinations(x, 2, True)', { x = D(3), w = D(6, 2) })

-- ---- vander ----
case('vander', function(a) return torch.vander(a.x) end, 'out = torch.vander(x)', { x = torch.randn(4) })
case('vander N increasing', function(a) return torch.vander(a.x, 5, true) end, 'out = torch.vander(x, 5, True)',
     { x = D(3) })
case('vander of int32 gives int64', function(a) return torch.vander(a.x, { N = 4 }) end, 'out = torch.vander(x, 4)',
     { x = torch.randint(-4, 5, { 3 }, { dtype = 'int32' }) })
case('vander of bool', function(a) return torch.vander(a.x) end, 'out = torch.vander(x)',
     { x = torch.tensor({ true, false, true }) })
case('vander N = 0', function(a) return torch.vander(a.x, 0) end, 'out = torch.vander(x, 0)', { x = torch.randn(3) })
case('vander of an empty vector', function(a) return torch.vander(a.x, 3) end, 'out = torch.vander(x, 3)',
     { x = torch.randn(0) })
-- (PyTorch 1.13's own vander cannot be differentiated (an in-place error), so its reference is the definition)
grad_case('vander with a zero', { 'x' }, function(a) return torch.vander(a.x, 4) end,
          'torch.stack([x ** k for k in range(3, -1, -1)], 1)', { x = T({ 0.5, 0, -1.5 }), w = D(3, 4) })
case('linalg.vander of a batch', function(a) return torch.linalg.vander(a.x) end, 'out = torch.linalg.vander(x)',
     { x = torch.randn(2, 3, 4) })
case('linalg.vander of int64 with N', function(a) return torch.linalg.vander(a.x, { N = 5 }) end,
     'out = torch.linalg.vander(x, N=5)', { x = ints(3) })
case('linalg.vander of a 0-d tensor', function(a) return torch.linalg.vander(a.x, { N = 3 }) end,
     'out = torch.linalg.vander(x, N=3)', { x = D() })
grad_case('linalg.vander', { 'x' }, function(a) return torch.linalg.vander(a.x:t(), { N = 3 }) end,
          'torch.linalg.vander(x.t(), N=3)', { x = D(3, 2), w = D(2, 3, 3) })

-- ---- tril_indices and triu_indices (1-based here: PyTorch's plus one) ----
for _, c in ipairs({ { 3, 4, 0 }, { 4, 3, 1 }, { 3, 3, -1 }, { 3, 3, -5 }, { 3, 3, 10 }, { 0, 3, 0 }, { 3, 0, 0 }, { 1, 1, 0 } }) do
  local r, col, k = c[1], c[2], c[3]
  case(string.format('tril_indices(%d, %d, %d)', r, col, k), function() return torch.tril_indices(r, col, k) end,
       string.format('out = torch.tril_indices(%d, %d, %d) + 1', r, col, k))
  case(string.format('triu_indices(%d, %d, %d)', r, col, k), function() return torch.triu_indices(r, col, k) end,
       string.format('out = torch.triu_indices(%d, %d, %d) + 1', r, col, k))
end
case('tril_indices of int32, as options', function() return torch.tril_indices(4, 5, { offset = 2, dtype = 'int32' }) end,
     'out = torch.tril_indices(4, 5, 2, dtype=torch.int32) + 1')
case('triu_indices default offset', function() return torch.triu_indices(4, 4) end, 'out = torch.triu_indices(4, 4) + 1')

-- ---- rot90 and diagflat ----
local cube = torch.randn(4, 3, 2):transpose(1, 3) -- [2 x 3 x 4], not contiguous
for _, k in ipairs({ 1, 2, 3, 4, -1, -3, 6 }) do
  case('rot90 k=' .. k, function(a) return a.x:rot90(k) end, 'out = torch.rot90(x, ' .. k .. ')', { x = cube })
end
case('rot90 over dims {1, 3}', function(a) return torch.rot90(a.x, 1, { 1, 3 }) end, 'out = torch.rot90(x, 1, [0, 2])',
     { x = cube })
case('rot90 over dims {-1, 1} as options', function(a) return a.x:rot90({ k = 3, dims = { -1, 1 } }) end,
     'out = torch.rot90(x, 3, [-1, 0])', { x = cube })
case('rot90 of int64', function(a) return a.x:rot90() end, 'out = torch.rot90(x)', { x = ints(2, 3) })
case('rot90 of bool', function(a) return a.x:rot90(-1) end, 'out = torch.rot90(x, -1)', { x = torch.rand(3, 2):gt(0.5) })
case('rot90 of an empty matrix', function(a) return a.x:rot90() end, 'out = torch.rot90(x)', { x = torch.randn(0, 3) })
grad_case('rot90', { 'x' }, function(a) return a.x:rot90(1, { 2, 3 }) end, 'torch.rot90(x, 1, [1, 2])',
          { x = D(2, 3, 4), w = D(2, 4, 3) })
case('diagflat of a vector', function(a) return a.x:diagflat() end, 'out = torch.diagflat(x)', { x = torch.randn(3) })
case('diagflat of a transposed matrix above', function(a) return torch.diagflat(a.x:t(), 2) end,
     'out = torch.diagflat(x.t(), 2)', { x = ints(2, 3) })
case('diagflat below, as options', function(a) return a.x:diagflat({ offset = -1 }) end, 'out = torch.diagflat(x, -1)',
     { x = torch.randn(2, 2) })
case('diagflat of a 0-d tensor', function(a) return a.x:diagflat() end, 'out = torch.diagflat(x)', { x = D() })
case('diagflat of bool', function(a) return a.x:diagflat() end, 'out = torch.diagflat(x)',
     { x = torch.tensor({ true, false }) })
case('diagflat of an empty tensor', function(a) return a.x:diagflat(1) end, 'out = torch.diagflat(x, 1)',
     { x = torch.randn(0) })
grad_case('diagflat', { 'x' }, function(a) return a.x:diagflat(-1) end, 'torch.diagflat(x, -1)',
          { x = D(2, 2), w = D(5, 5) })

-- ---- tensordot ----
local ta, tb = torch.randn(2, 3, 4), torch.randn(3, 4, 5)
case('tensordot default dims', function(a) return torch.tensordot(a.a, a.b) end, 'out = torch.tensordot(a, b)',
     { a = ta, b = tb })
case('tensordot dims = 0', function(a) return torch.tensordot(a.a, a.b, 0) end, 'out = torch.tensordot(a, b, 0)',
     { a = torch.randn(2, 3), b = torch.randn(4) })
case('tensordot dims = 1 of int64', function(a) return torch.tensordot(a.a, a.b, 1) end, 'out = torch.tensordot(a, b, 1)',
     { a = ints(2, 3), b = ints(3, 2) })
case('tensordot dim lists', function(a) return torch.tensordot(a.a, a.b, { { 2, 3 }, { 1, 2 } }) end,
     'out = torch.tensordot(a, b, ([1, 2], [0, 1]))', { a = ta, b = tb })
case('tensordot negative dims, out of order', function(a) return torch.tensordot(a.a, a.b, { { -1, 1 }, { 2, 3 } }) end,
     'out = torch.tensordot(a, b, ([-1, 0], [1, 2]))', { a = D(3, 2, 4), b = D(5, 4, 3) })
case('tensordot of a transposed tensor, single dims', function(a) return torch.tensordot(a.a:t(), a.b, { 1, 2 }) end,
     'out = torch.tensordot(a.t(), b, ([0], [1]))', { a = D(4, 3), b = D(2, 3) })
case('tensordot with a size-1 dim', function(a) return torch.tensordot(a.a, a.b, { { 2 }, { 1 } }) end,
     'out = torch.tensordot(a, b, ([1], [0]))', { a = D(2, 1), b = D(3, 4) })
case('tensordot to a 0-d tensor', function(a) return torch.tensordot(a.a, a.b, 2) end, 'out = torch.tensordot(a, b, 2)',
     { a = D(2, 3), b = D(2, 3) })
case('tensordot of 0-d tensors', function(a) return torch.tensordot(a.a, a.b, 0) end, 'out = torch.tensordot(a, b, 0)',
     { a = D(), b = D() })
case('tensordot over an empty dim', function(a) return torch.tensordot(a.a, a.b, 1) end, 'out = torch.tensordot(a, b, 1)',
     { a = torch.randn(2, 0), b = torch.randn(0, 3) })
grad_case('tensordot', { 'a', 'b' }, function(a) return torch.tensordot(a.a, a.b, { { 1, 3 }, { 3, 1 } }) end,
          'torch.tensordot(a, b, ([0, 2], [2, 0]))', { a = D(2, 3, 4), b = D(4, 5, 2), w = D(3, 5) })
grad_case('tensordot with a size-1 dim', { 'a', 'b' }, function(a) return torch.tensordot(a.a, a.b, 1) end,
          'torch.tensordot(a, b, 1)', { a = D(2, 3), b = D(1, 4), w = D(2, 4) })

-- ---- sum_to_size and split_with_sizes ----
local s = torch.randn(2, 3, 4)
case('sum_to_size varargs', function(a) return a.x:sum_to_size(3, 1) end, 'out = x.sum_to_size(3, 1)', { x = s })
case('sum_to_size a table, transposed', function(a) return a.x:transpose(1, 3):sum_to_size({ 1, 3, 1 }) end,
     'out = x.transpose(0, 2).sum_to_size((1, 3, 1))', { x = s })
case('sum_to_size to a 0-d tensor', function(a) return a.x:sum_to_size({}) end, 'out = x.sum_to_size([])', { x = s })
case('sum_to_size to its own size', function(a) return a.x:sum_to_size(2, 3, 4) end, 'out = x.sum_to_size(2, 3, 4)',
     { x = s })
case('sum_to_size of int64', function(a) return a.x:sum_to_size(1, 4) end, 'out = x.sum_to_size(1, 4)', { x = ints(3, 4) })
case('sum_to_size of bool', function(a) return a.x:sum_to_size(1) end, 'out = x.sum_to_size(1)',
     { x = torch.tensor({ true, false, true }) })
grad_case('sum_to_size', { 'x' }, function(a) return a.x:sum_to_size(3, 1) end, 'x.sum_to_size(3, 1)',
          { x = D(2, 3, 4), w = D(3, 1) })
case('split_with_sizes', function(a) return a.x:split_with_sizes({ 1, 0, 3 }, 3) end,
     'out = list(x.split_with_sizes([1, 0, 3], 2))', { x = s })
case('torch.split_with_sizes, dim -1 as options', function(a) return torch.split_with_sizes(a.x, { 2, 2 }, { dim = -1 }) end,
     'out = list(torch.split_with_sizes(x, [2, 2], -1))', { x = s })
case('unsafe_split and unsafe_chunk', function(a)
  local list = a.x:unsafe_split(3, 3)
  for _, t in ipairs(torch.unsafe_chunk(a.x, 2, 2)) do list[#list + 1] = t end
  return list
end, 'out = list(x.unsafe_split(3, 2)) + list(torch.unsafe_chunk(x, 2, 1))', { x = s })

-- ---- select_scatter, slice_scatter, diagonal_scatter ----
-- (the PyTorch 1.13 reference gets slice_scatter's step explicitly: its default is broken there)
local m = torch.randn(4, 5)
case('select_scatter', function(a) return a.x:select_scatter(a.s, 2, 3) end, 'out = x.select_scatter(s, 1, 2)',
     { x = m, s = torch.randn(4) })
case('torch.select_scatter negative index and dim, transposed', function(a)
  return torch.select_scatter(a.x:t(), a.s, -1, -2)
end, 'out = torch.select_scatter(x.t(), s, -1, -2)', { x = m, s = torch.randn(5) })
case('select_scatter of int64 from float src', function(a) return a.x:select_scatter(a.s, 1, 1) end,
     'out = x.select_scatter(s.long(), 0, 0)', { x = ints(2, 3), s = T({ 7, -8, 9 }) })
case('select_scatter of a 1-d tensor', function(a) return a.x:select_scatter(a.s, 1, 2) end,
     'out = x.select_scatter(s, 0, 1)', { x = torch.randn(3), s = torch.randn(1):view({}) })
case('slice_scatter of a range', function(a) return a.x:slice_scatter(a.s, 2, 2, 4) end,
     'out = x.slice_scatter(s, 1, 1, 4, 1)', { x = m, s = torch.randn(4, 3) })
case('slice_scatter defaults', function(a) return a.x:slice_scatter(a.s) end, 'out = x.slice_scatter(s, 0, None, None, 1)',
     { x = m, s = torch.randn(4, 5) })
case('slice_scatter with a step', function(a) return a.x:slice_scatter(a.s, 2, 1, 5, 2) end,
     'out = x.slice_scatter(s, 1, 0, 5, 2)', { x = m, s = torch.randn(4, 3) })
case('slice_scatter with a step not ending on end', function(a) return a.x:slice_scatter(a.s, 1, 2, -1, 2) end,
     'out = x.slice_scatter(s, 0, 1, None, 2)', { x = m, s = torch.randn(2, 5) })
case('slice_scatter negative bounds, as options, transposed', function(a)
  return torch.slice_scatter(a.x:t(), a.s, { dim = -1, start = -3, ['end'] = -2 })
end, 'out = torch.slice_scatter(x.t(), s, -1, -3, -1, 1)', { x = m, s = torch.randn(5, 2) })
case('slice_scatter of an empty slice', function(a) return a.x:slice_scatter(a.s, 2, 6, 5) end,
     'out = x.slice_scatter(s, 1, 5, 5, 1)', { x = m, s = torch.randn(4, 0) })
case('slice_scatter of bool', function(a) return a.x:slice_scatter(a.s, 1, 2, 3) end,
     'out = x.slice_scatter(s, 0, 1, 3, 1)', { x = torch.rand(3, 2):gt(0.5), s = torch.rand(2, 2):gt(0.5) })
case('diagonal_scatter', function(a) return a.x:diagonal_scatter(a.s) end, 'out = x.diagonal_scatter(s)',
     { x = m, s = torch.randn(4) })
case('diagonal_scatter above, transposed', function(a) return torch.diagonal_scatter(a.x:t(), a.s, 2) end,
     'out = torch.diagonal_scatter(x.t(), s, 2)', { x = m, s = torch.randn(2) })
case('diagonal_scatter of a batch, dims as options', function(a)
  return a.x:diagonal_scatter(a.s, { offset = -1, dim1 = 1, dim2 = -1 })
end, 'out = x.diagonal_scatter(s, -1, 0, -1)', { x = torch.randn(3, 4, 5), s = torch.randn(4, 2) })
case('diagonal_scatter of int64', function(a) return a.x:diagonal_scatter(a.s, -1) end,
     'out = x.diagonal_scatter(s, -1)', { x = ints(3, 3), s = ints(2) })
grad_case('select_scatter', { 'x', 's' }, function(a) return a.x:select_scatter(a.s, 1, -1) end,
          'x.select_scatter(s, 0, -1)', { x = D(3, 4), s = D(4), w = D(3, 4) })
grad_case('slice_scatter with a step', { 'x', 's' }, function(a) return a.x:slice_scatter(a.s, 2, 2, 5, 2) end,
          'x.slice_scatter(s, 1, 1, 5, 2)', { x = D(3, 5), s = D(3, 2), w = D(3, 5) })
grad_case('diagonal_scatter', { 'x', 's' }, function(a) return a.x:diagonal_scatter(a.s, 1, 2, 3) end,
          'x.diagonal_scatter(s, 1, 1, 2)', { x = D(2, 3, 4), s = D(2, 3), w = D(2, 3, 4) })

-- ---- index_reduce ----
local ix = T({ 2, 4, 2, 1 }, 'int64')
for _, reduce in ipairs({ 'prod', 'mean', 'amax', 'amin' }) do
  for _, include in ipairs({ true, false }) do
    local py = string.format("x.index_reduce(0, i - 1, s, '%s', include_self=%s)", reduce, include and 'True' or 'False')
    case(string.format('index_reduce %s, include_self=%s', reduce, tostring(include)),
         function(a) return a.x:index_reduce(1, a.i, a.s, reduce, { include_self = include }) end, 'out = ' .. py,
         { x = torch.randn(4, 3), i = ix, s = torch.randn(4, 3) })
    case(string.format('index_reduce %s of int64 along dim 2, include_self=%s', reduce, tostring(include)),
         function(a) return torch.index_reduce(a.x, 2, a.i, a.s, reduce, { include_self = include }) end,
         string.format("out = x.index_reduce(1, i - 1, s, '%s', include_self=%s)", reduce, include and 'True' or 'False'),
         { x = torch.randint(1, 9, { 3, 4 }), i = ix, s = torch.randint(-9, 9, { 3, 4 }) })
    grad_case(string.format('index_reduce %s, include_self=%s', reduce, tostring(include)), { 'x', 's' },
              function(a) return a.x:index_reduce(1, a.i, a.s, reduce, { include_self = include }) end, py,
              { x = D(4, 3), i = ix, s = D(4, 3), w = D(4, 3) })
  end
end
case('index_reduce_ in place on a transposed tensor', function(a)
  local x = a.x:clone():t()
  x:index_reduce_(2, a.i, a.s, 'amax')
  return x
end, "out = x.t().index_reduce_(1, i - 1, s, 'amax')", { x = torch.randn(4, 5), i = ix, s = torch.randn(5, 4) })
case('index_reduce of a 0-d tensor', function(a) return a.x:index_reduce(1, { 1 }, a.s, 'prod') end,
     "out = x.index_reduce(0, torch.tensor([0]), s, 'prod')", { x = D(), s = D() })
grad_case('index_reduce amax with ties', { 'x', 's' },
          function(a) return a.x:index_reduce(1, a.i, a.s, 'amax') end, "x.index_reduce(0, i - 1, s, 'amax')",
          { x = T({ { 1, 5 }, { 2, 2 } }), i = T({ 1, 1, 2 }, 'int64'), s = T({ { 1, 3 }, { 0, 5 }, { 2, 1 } }),
            w = D(2, 2) })
grad_case('index_reduce prod with zeros', { 'x', 's' },
          function(a) return a.x:index_reduce(1, a.i, a.s, 'prod') end, "x.index_reduce(0, i - 1, s, 'prod')",
          { x = T({ { 0, 2 }, { 3, 0 } }), i = T({ 1, 2, 1 }, 'int64'), s = T({ { 1, 0 }, { 0, 4 }, { 2, 3 } }),
            w = D(2, 2) })

cases:describe('builders match PyTorch')

describe('builders', function()
  it('leave their inputs alone and share storage where they are views', function()
    local x = torch.randn(3, 4)
    local before = x:clone()
    x:select_scatter(torch.zeros(4), 1, 1)
    x:slice_scatter(torch.zeros(3, 2), 2, 1, 2)
    x:diagonal_scatter(torch.zeros(3))
    x:index_reduce(1, { 1, 1 }, torch.ones(2, 4), 'prod')
    assert.is_true(x:equal(before))
    assert.is_true(x:split_with_sizes({ 1, 2 })[2]:shares_storage(x))
    assert.are.equal(x, x:sum_to_size(3, 4))
  end)

  it('index_reduce_ works in place and returns self', function()
    local x = torch.ones(3, 2)
    assert.are.equal(x, x:index_reduce_(1, { 1, 3, 1 }, torch.full({ 3, 2 }, 2.5), 'prod'))
    assert.are.same({ 6.25, 6.25, 1, 1, 2.5, 2.5 }, x:view(-1):tolist())
  end)

  it('index_reduce_ records in place on a tensor of a graph', function()
    local x = D(3, 2):requires_grad_()
    local s = D(2, 2):requires_grad_()
    local y = x * 1
    y:index_reduce_(1, { 3, 1 }, s, 'amin')
    local gx, gs = unpack(torch.autograd.grad({ y:sum() }, { x, s }))
    local want = x:detach():index_reduce(1, { 3, 1 }, s:detach(), 'amin')
    assert.is_true(y:detach():equal(want))
    -- each position's gradient goes to the element that won it
    local x_won = x:detach():eq(want):double()
    assert.is_true(gx:equal(x_won))
    -- row 2 is x's alone; of the 4 positions written, those x did not win were won by s
    assert.are.equal(6 - x_won:sum(), gs:sum())
  end)

  it('pass gradchecks through compositions', function()
    local gradcheck = torch.autograd.gradcheck
    local function R(...) return D(...):requires_grad_() end
    assert.is_true(gradcheck(function(a, b) return torch.block_diag(a:exp(), b) end, { R(2, 2), R(3) }))
    assert.is_true(gradcheck(function(a, b) return torch.tensordot(a, b, 1):sin() end, { R(2, 3), R(3, 2) }))
    assert.is_true(gradcheck(function(a) return a:sum_to_size(1, 3):exp() end, { R(2, 2, 3) }))
    assert.is_true(gradcheck(function(a, b) return a:slice_scatter(b:tanh(), 1, 1, -1, 3) end, { R(5, 2), R(2, 2) }))
    assert.is_true(gradcheck(function(a) return torch.vander(a, 3, true) end, { R(3) }))
    local fixed = D(3, 3)
    assert.is_true(gradcheck(function(b) return fixed:diagonal_scatter(b * b, -1) end, { R(2) }))
    assert.is_true(gradcheck(function(b) return torch.cartesian_prod(b, b:exp(), b) end, { R(2) }))
  end)
end)

describe('builder errors', function()
  it('name the function and the values', function()
    local x = torch.zeros(2, 3)
    local function fails(pattern, fn) assert.matches(pattern, message(fn), 1, true) end
    fails('block_diag: expects tensors of 2 or fewer dims, tensor 2 has 3',
          function() return torch.block_diag(x, torch.zeros(1, 1, 1)) end)
    fails('block_diag: argument 2 must be a tensor, got number', function() return torch.block_diag(x, 3) end)
    fails('cartesian_prod: expects 1-d tensors, tensor 1 has size [2 x 3]', function() return torch.cartesian_prod(x) end)
    fails('cartesian_prod: expects tensors of one dtype, got float32 (tensor 1) and int64 (tensor 2)',
          function() return torch.cartesian_prod(torch.zeros(2), torch.arange(1, 3)) end)
    fails('cartesian_prod: expects at least one tensor', function() return torch.cartesian_prod() end)
    fails('combinations: r must be non-negative, got -1', function() return torch.combinations(torch.zeros(3), -1) end)
    fails('combinations: expects a 1-d tensor, got size [2 x 3]', function() return torch.combinations(x) end)
    fails('vander: x must be a 1-d tensor, got size [2 x 3]', function() return torch.vander(x) end)
    fails('vander: N must be non-negative, got -1', function() return torch.vander(torch.zeros(3), -1) end)
    fails('linalg.vander: N must be greater than 1, got 1', function() return torch.linalg.vander(x, { N = 1 }) end)
    fails('linalg.vander: supports floating point and integer tensors, got bool',
          function() return torch.linalg.vander(torch.tensor({ true })) end)
    fails('tril_indices: row must be non-negative, got -1', function() return torch.tril_indices(-1, 3) end)
    fails('triu_indices: col must be non-negative, got -2', function() return torch.triu_indices(3, -2) end)
    fails('tril_indices: dtype must be an integer dtype, got float32',
          function() return torch.tril_indices(3, 3, { dtype = 'float32' }) end)
    fails('rot90: expects 2 rotation dims, got 1', function() return x:rot90(1, { 1 }) end)
    fails('rot90: the rotation dims must differ, got 1 and -2', function() return x:rot90(1, { 1, -2 }) end)
    fails('rot90: expects a tensor of at least 2 dims, got 1', function() return torch.zeros(3):rot90() end)
    fails('rot90: dimension 3 out of range', function() return x:rot90(1, { 1, 3 }) end)
    fails('diagflat: offset must be an integer, got 0.5', function() return x:diagflat(0.5) end)
    fails('tensordot: contracted dims must have one size, got 3 (dim 2 of a) and 2 (dim 1 of b)',
          function() return torch.tensordot(x, x, 1) end)
    fails('tensordot: dims must be non-negative, got -1', function() return torch.tensordot(x, x, -1) end)
    fails('tensordot: cannot contract 3 dims of tensors of 2 and 2 dims', function() return torch.tensordot(x, x, 3) end)
    fails('tensordot: both dim lists must have one length, got 2 and 1',
          function() return torch.tensordot(x, x, { { 1, 2 }, { 1 } }) end)
    fails('tensordot: dim 1 of the first tensor appears more than once',
          function() return torch.tensordot(x, x:t(), { { 1, -2 }, { 2, 1 } }) end)
    fails('tensordot: expects tensors of one dtype, got float32 and float64',
          function() return torch.tensordot(x, x:double()) end)
    fails('tensordot: dims must be a number or a pair of dim lists, got string',
          function() return torch.tensordot(x, x, 'x') end)
    fails('sum_to_size: size [3 x 2] does not expand to the size [2 x 3] of the tensor',
          function() return x:sum_to_size(3, 2) end)
    fails('sum_to_size: size [1 x 2 x 3] does not expand to the size [2 x 3] of the tensor',
          function() return x:sum_to_size(1, 2, 3) end)
    fails('split_with_sizes: the sizes add up to 2 but dim 2 has size 3', function() return x:split_with_sizes({ 1, 1 }, 2) end)
    fails('split_with_sizes: expects a table of sizes, got number', function() return x:split_with_sizes(1) end)
    fails('split_with_sizes: size 1 must be a non-negative integer, got -1',
          function() return x:split_with_sizes({ -1, 3 }) end)
    fails('select_scatter: src of size [2] does not match the size [3] of the slice it fills',
          function() return x:select_scatter(torch.zeros(2), 1, 1) end)
    fails('select_scatter: index 3 is out of range for dim 1 of size 2',
          function() return x:select_scatter(torch.zeros(3), 1, 3) end)
    fails('select_scatter: dimension 3 out of range', function() return x:select_scatter(torch.zeros(3), 3, 1) end)
    fails('select_scatter: src must be a tensor, got number', function() return x:select_scatter(1, 1, 1) end)
    fails('slice_scatter: start 2 and end 4 are out of range for dim 2 of size 3',
          function() return x:slice_scatter(torch.zeros(2, 3), 2, 2, 4) end)
    fails('slice_scatter: step must be positive, got 0', function() return x:slice_scatter(x, 1, 1, 2, 0) end)
    fails('slice_scatter: src of size [2 x 3] does not match the size [2 x 2] of the slice it fills',
          function() return x:slice_scatter(x, 2, 1, 3, 2) end)
    fails('diagonal_scatter: src of size [3] does not match the size [2] of the slice it fills',
          function() return x:diagonal_scatter(torch.zeros(3)) end)
    fails('diagonal_scatter: dim1 and dim2 must differ, got 2 and 2', function() return x:diagonal_scatter(x, 0, 2, -1) end)
    fails('diagonal_scatter: expects a tensor of at least 2 dims, got 1',
          function() return torch.zeros(3):diagonal_scatter(torch.zeros(3)) end)
    fails("index_reduce: reduce must be 'prod', 'mean', 'amax' or 'amin', got sum",
          function() return x:index_reduce(1, { 1 }, torch.zeros(1, 3), 'sum') end)
    fails('index_reduce_: self (float32) and source (float64) must have one dtype',
          function() return x:index_reduce_(1, { 1 }, torch.zeros(1, 3):double(), 'prod') end)
    fails('index_reduce: index 3 is out of range for dimension 1 of size 2',
          function() return x:index_reduce(1, { 1, 3 }, torch.zeros(2, 3), 'amax') end)
    fails('index_reduce: index 3 is out of range for dim 1 of size 2',
          function() return x:requires_grad_():index_reduce(1, { 1, 3 }, torch.zeros(2, 3), 'amax') end)
    fails('index_reduce: src of size [2 x 3] does not match the size [1 x 3] expected',
          function() return x:detach():index_reduce(1, { 1 }, torch.zeros(2, 3), 'mean') end)
    fails('index_reduce_: a leaf tensor that requires grad cannot be modified in place',
          function() return torch.zeros(2, 3, { requires_grad = true }):index_reduce_(1, { 1 }, torch.zeros(1, 3), 'mean') end)
  end)

  it('leave self unwritten when an index is bad', function()
    local x = torch.ones(3, 2)
    assert.matches('index_reduce_: index -1 is out of range',
                   message(function() return x:index_reduce_(1, { 1, -1 }, torch.zeros(2, 2), 'prod', { include_self = false }) end),
                   1, true)
    assert.are.same({ 1, 1, 1, 1, 1, 1 }, x:view(-1):tolist())
  end)
end)
