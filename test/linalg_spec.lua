-- torch.linalg against PyTorch and against the identities that define each factorisation: inv, solve, det,
-- slogdet, cholesky, qr, svd, eigh (and eigvalsh, svdvals, matrix_power, multi_dot, the torch.* aliases) on
-- float32 and float64, single matrices and batches (broadcast in solve), transposed and strided inputs, empty
-- matrices; errors for singular, non-positive-definite, non-square and integer input.
local torch = require 'tensor'
local ref = require 'helpers.torchref'

torch.manual_seed(2718)

local matrices = require 'helpers.matrices'
local wellcond, spd = matrices.wellcond, matrices.spd
local function tol(dtype, n) return matrices.tol(dtype, n, 200) end

-- A [6 x 12] tensor whose every other column holds a well-conditioned 6 x 6 matrix.
local function strided_wellcond(dtype)
  local base = torch.randn(6, 12, { dtype = dtype })
  base:as_strided({ 6, 6 }, { 12, 2 }, 0):copy_(wellcond({ 6, 6 }, dtype))
  return base
end

-- a with values that would spoil a factorisation reading them written above its diagonal
local function garbage_above_diagonal(a)
  local n = a:size(1)
  for i = 1, n do for j = i + 1, n do a[{ i, j }] = 1000 * i + j end end
  return a
end

local function max_abs(t)
  local m = 0
  if t:numel() == 0 then return 0 end
  for _, v in ipairs(t:contiguous():view(-1):tolist()) do
    local d = math.abs(v)
    if d ~= d then return math.huge end
    if d > m then m = d end
  end
  return m
end

local function eye_like(x)
  local n = x:size(-1)
  return torch.eye(n, { dtype = x:dtype() }):expand(x:shape())
end

local cases = {}
-- name; fn(inputs...) -> one tensor or several; the PyTorch code assigning out (one value or a list); inputs
local function case(name, fn, python, inputs, tolerance)
  cases[#cases + 1] = { name = name, fn = fn, python = python, inputs = inputs, tol = tolerance }
end
local NAMES = { 'a', 'b', 'c' }

for _, dtype in ipairs({ 'float32', 'float64' }) do
  for _, size in ipairs({ { 1, 1 }, { 4, 4 }, { 3, 5, 5 }, { 2, 1, 3, 3 }, { 0, 0 }, { 0, 3, 3 } }) do
    local label = table.concat(size, 'x')
    local n = size[#size]
    case('inv ' .. dtype .. ' ' .. label, torch.linalg.inv, 'out = torch.linalg.inv(a)', { wellcond(size, dtype) }, tol(dtype, n))
    case('det ' .. dtype .. ' ' .. label, torch.linalg.det, 'out = torch.linalg.det(a)', { wellcond(size, dtype) }, tol(dtype, n))
    case('slogdet ' .. dtype .. ' ' .. label, torch.linalg.slogdet, 'out = list(torch.linalg.slogdet(a))',
         { torch.randn(size, { dtype = dtype }) }, tol(dtype, n))
    case('cholesky ' .. dtype .. ' ' .. label, torch.linalg.cholesky, 'out = torch.linalg.cholesky(a)', { spd(size, dtype) },
         tol(dtype, n))
    case('eigvalsh ' .. dtype .. ' ' .. label, torch.linalg.eigvalsh, 'out = torch.linalg.eigvalsh(a)', { spd(size, dtype) },
         tol(dtype, n * n))
  end
  local t = tol(dtype, 6)
  case('inv transposed ' .. dtype, function(a) return a:t():inverse() end, 'out = a.t().inverse()', { wellcond({ 6, 6 }, dtype) }, t)
  case('inv strided ' .. dtype, function(a) return torch.inverse(a:as_strided({ 6, 6 }, { 12, 2 }, 0)) end,
       'out = a.as_strided((6, 6), (12, 2), 0).inverse()', { strided_wellcond(dtype) }, t)
  case('inv out= ' .. dtype, function(a)
    local o = torch.zeros(1, { dtype = dtype })
    torch.linalg.inv(a, { out = o })
    return o
  end, 'out = torch.linalg.inv(a)', { wellcond({ 5, 5 }, dtype) }, t)
  case('det singular ' .. dtype, torch.det, 'out = torch.det(a)',
       { torch.tensor({ { 1, 2, 3 }, { 2, 4, 6 }, { 1, 0, 1 } }, { dtype = dtype }) }, t)
  case('det batch with a transposed view ' .. dtype, function(a) return a:transpose(2, 3):det() end,
       'out = a.transpose(1, 2).det()', { wellcond({ 4, 3, 3 }, dtype) }, t)
  case('slogdet singular ' .. dtype, function(a) return torch.slogdet(a) end, 'out = list(torch.slogdet(a))',
       { torch.tensor({ { 1, 2 }, { 2, 4 } }, { dtype = dtype }) }, t)
  case('logdet ' .. dtype, torch.logdet, 'out = torch.logdet(a)', { spd({ 3, 4, 4 }, dtype) }, t)
  case('cholesky upper ' .. dtype, function(a) return torch.linalg.cholesky(a, { upper = true }) end,
       'out = torch.linalg.cholesky(a, upper=True)', { spd({ 2, 5, 5 }, dtype) }, t)
  case('cholesky reads only the lower triangle ' .. dtype, function(a) return a:cholesky() end,
       'out = torch.linalg.cholesky(a)', { garbage_above_diagonal(spd({ 5, 5 }, dtype)) }, t)
  -- solve: matrix and vector right-hand sides, broadcast batches, left=false
  local solve_cases = {
    { { 4, 4 }, { 4, 2 } }, { { 4, 4 }, { 4 } }, { { 3, 4, 4 }, { 4, 2 } }, { { 4, 4 }, { 2, 3, 4, 2 } },
    { { 3, 4, 4 }, { 3, 4 } }, { { 2, 1, 4, 4 }, { 3, 4, 1 } }, { { 0, 4, 4 }, { 4, 1 } }, { { 4, 4 }, { 4, 0 } },
  }
  for _, s in ipairs(solve_cases) do
    case(string.format('solve %s [%s] [%s]', dtype, table.concat(s[1], 'x'), table.concat(s[2], 'x')), torch.linalg.solve,
         'out = torch.linalg.solve(a, b)', { wellcond(s[1], dtype), torch.randn(s[2], { dtype = dtype }) }, t)
  end
  case('solve left=false ' .. dtype, function(a, b) return torch.linalg.solve(a, b, { left = false }) end,
       'out = torch.linalg.solve(a, b, left=False)', { wellcond({ 2, 4, 4 }, dtype), torch.randn(2, 3, 4, { dtype = dtype }) }, t)
  case('solve transposed ' .. dtype, function(a, b) return torch.linalg.solve(a:t(), b:t()) end,
       'out = torch.linalg.solve(a.t(), b.t())', { wellcond({ 5, 5 }, dtype), torch.randn(3, 5, { dtype = dtype }) }, t)
  -- qr, svd, eigh: compared with PyTorch (the same LAPACK routines on the same column-major input give the same
  -- signs); identities are checked below
  for _, size in ipairs({ { 5, 3 }, { 3, 5 }, { 4, 4 }, { 2, 6, 4 }, { 0, 3 }, { 3, 0 }, { 2, 0, 4, 3 } }) do
    local label = table.concat(size, 'x')
    for _, mode in ipairs({ 'reduced', 'complete', 'r' }) do
      case(string.format('qr %s %s %s', mode, dtype, label), function(a) return torch.linalg.qr(a, mode) end,
           string.format("out = list(torch.linalg.qr(a, mode='%s'))", mode), { torch.randn(size, { dtype = dtype }) }, t)
    end
    for _, full in ipairs({ true, false }) do
      case(string.format('svd full=%s %s %s', tostring(full), dtype, label),
           function(a) return torch.linalg.svd(a, { full_matrices = full }) end,
           string.format('out = list(torch.linalg.svd(a, full_matrices=%s))', full and 'True' or 'False'),
           { torch.randn(size, { dtype = dtype }) }, t)
    end
    case('svdvals ' .. dtype .. ' ' .. label, torch.linalg.svdvals, 'out = torch.linalg.svdvals(a)',
         { torch.randn(size, { dtype = dtype }) }, t)
  end
  case('torch.svd returns V ' .. dtype, function(a) return torch.svd(a) end, 'out = list(torch.svd(a))',
       { torch.randn(5, 3, { dtype = dtype }) }, t)
  case('torch.qr some=false ' .. dtype, function(a) return a:qr(false) end, 'import warnings; warnings.simplefilter("ignore"); out = list(torch.qr(a, some=False))',
       { torch.randn(5, 3, { dtype = dtype }) }, t)
  for _, uplo in ipairs({ 'L', 'U' }) do
    case('eigh ' .. uplo .. ' ' .. dtype, function(a) return torch.linalg.eigh(a, uplo) end,
         string.format("out = list(torch.linalg.eigh(a, UPLO='%s'))", uplo), { torch.randn(3, 5, 5, { dtype = dtype }) }, t)
  end
  case('matrix_power 5 ' .. dtype, function(a) return torch.linalg.matrix_power(a, 5) end,
       'out = torch.linalg.matrix_power(a, 5)', { torch.randn(2, 4, 4, { dtype = dtype }):mul(0.5) }, t)
  case('matrix_power -2 ' .. dtype, function(a) return torch.linalg.matrix_power(a, -2) end,
       'out = torch.linalg.matrix_power(a, -2)', { wellcond({ 4, 4 }, dtype) }, t)
  case('matrix_power 0 ' .. dtype, function(a) return torch.linalg.matrix_power(a, 0) end,
       'out = torch.linalg.matrix_power(a, 0)', { wellcond({ 3, 4, 4 }, dtype) }, t)
  case('multi_dot ' .. dtype, function(a, b, c) return torch.linalg.multi_dot({ a, b, c }) end,
       'out = torch.linalg.multi_dot([a, b, c])',
       { torch.randn(7, { dtype = dtype }), torch.randn(7, 30, { dtype = dtype }), torch.randn(30, 2, { dtype = dtype }) }, t)
end

describe('torch.linalg matches PyTorch', function()
  local batch = {}
  for i, cs in ipairs(cases) do
    local named = {}
    for j, x in ipairs(cs.inputs) do named[NAMES[j]] = x end
    batch[i] = { code = cs.python, inputs = named }
  end
  local results = ref.batch(batch)
  for i, cs in ipairs(cases) do
    it(cs.name, function()
      local got = { cs.fn(unpack(cs.inputs)) }
      local expected = results[i]
      if expected.shape then expected = { expected } end
      assert.equals(#expected, #got)
      for j = 1, #got do
        local ok, msg = ref.compare(got[j], expected[j], cs.tol)
        assert(ok, 'result ' .. j .. ': ' .. tostring(msg))
      end
    end)
  end
end)

describe('torch.linalg identities', function()
  for _, dtype in ipairs({ 'float32', 'float64' }) do
    local eps = dtype == 'float64' and 1e-12 or 2e-5
    it('A inv(A) = I and inv(A) A = I, ' .. dtype, function()
      local a = wellcond({ 3, 7, 7 }, dtype)
      local ai = torch.linalg.inv(a)
      assert.is_true(max_abs(a:matmul(ai) - eye_like(a)) < eps)
      assert.is_true(max_abs(ai:matmul(a) - eye_like(a)) < eps)
    end)
    it('A X = B for solve, ' .. dtype, function()
      local a, b = wellcond({ 2, 6, 6 }, dtype), torch.randn(2, 6, 3, { dtype = dtype })
      assert.is_true(max_abs(a:matmul(torch.linalg.solve(a, b)) - b) < eps * 10)
    end)
    it('L L\' = A with L lower triangular, ' .. dtype, function()
      local a = spd({ 6, 6 }, dtype)
      local l = torch.linalg.cholesky(a)
      assert.is_true(max_abs(l:mm(l:t()) - a) < eps * 10)
      for i = 1, 6 do for j = i + 1, 6 do assert.equals(0, l[{ i, j }]) end end
    end)
    for _, size in ipairs({ { 7, 4 }, { 4, 7 }, { 2, 5, 5 } }) do
      local label = table.concat(size, 'x')
      it('Q orthonormal, R upper triangular and Q R = A, ' .. label .. ' ' .. dtype, function()
        local a = torch.randn(size, { dtype = dtype })
        for _, mode in ipairs({ 'reduced', 'complete' }) do
          local q, r = torch.linalg.qr(a, mode)
          local k = q:size(-1)
          assert.is_true(max_abs(q:transpose(-2, -1):matmul(q) - torch.eye(k, { dtype = dtype })) < eps)
          assert.is_true(max_abs(q:matmul(r) - a) < eps * 10)
          local rows, cols = r:size(-2), r:size(-1)
          local r0 = r:dim() == 3 and r[1] or r
          for i = 1, rows do for j = 1, math.min(i - 1, cols) do assert.equals(0, r0[{ i, j }]) end end
        end
      end)
      it('U diag(S) Vh = A with orthonormal U and V, ' .. label .. ' ' .. dtype, function()
        local a = torch.randn(size, { dtype = dtype })
        local u, s, vh = torch.linalg.svd(a, false)
        local k = s:size(-1)
        assert.is_true(max_abs((u * s:unsqueeze(-2)):matmul(vh) - a) < eps * 10)
        assert.is_true(max_abs(u:transpose(-2, -1):matmul(u) - torch.eye(k, { dtype = dtype })) < eps)
        assert.is_true(max_abs(vh:matmul(vh:transpose(-2, -1)) - torch.eye(k, { dtype = dtype })) < eps)
        local uf, _, vhf = torch.linalg.svd(a)
        assert.is_true(max_abs(uf:transpose(-2, -1):matmul(uf) - eye_like(uf)) < eps)
        assert.is_true(max_abs(vhf:matmul(vhf:transpose(-2, -1)) - eye_like(vhf)) < eps)
      end)
    end
    it('A V = V diag(w) for eigh, eigenvalues ascending, ' .. dtype, function()
      local a = spd({ 6, 6 }, dtype)
      local w, v = torch.linalg.eigh(a)
      assert.is_true(max_abs(a:mm(v) - v * w:unsqueeze(1)) < eps * 100)
      local list = w:tolist()
      for i = 2, #list do assert.is_true(list[i] >= list[i - 1]) end
    end)
    it('det = sign * exp(logabsdet) and det(A B) = det(A) det(B), ' .. dtype, function()
      local a, b = wellcond({ 5, 5 }, dtype), wellcond({ 5, 5 }, dtype)
      local d, sign, logabs = a:det():item(), torch.slogdet(a)
      assert.is_true(math.abs(d - sign:item() * math.exp(logabs:item())) < eps * 1e3 * math.abs(d))
      local dab = a:mm(b):det():item()
      assert.is_true(math.abs(dab - d * b:det():item()) < eps * 1e3 * math.abs(dab))
    end)
  end
end)

describe('torch.linalg errors', function()
  local function message(fn)
    local ok, err = pcall(fn)
    assert.is_false(ok)
    return tostring(err)
  end
  local singular = torch.tensor({ { 1, 2 }, { 2, 4 } }, { dtype = 'float64' })
  it('refuses singular matrices in inv and solve, naming the op and the shape', function()
    assert.matches('linalg.inv: the input %[2 x 2%] is singular', message(function() return torch.linalg.inv(singular) end))
    assert.matches('linalg.solve: the input %[2 x 2%] is singular',
                   message(function() return torch.linalg.solve(singular, torch.ones(2, { dtype = 'float64' })) end))
    local batch = torch.zeros(2, 2, 2, { dtype = 'float64' })
    batch[1]:copy_(torch.eye(2, { dtype = 'float64' }))
    batch[2]:copy_(singular)
    assert.matches('linalg.inv: matrix 2 of the batch %[2 x 2 x 2%] is singular', message(function() return batch:inverse() end))
  end)
  it('refuses a matrix that is not positive-definite in cholesky', function()
    assert.matches('linalg.cholesky: the input %[3 x 3%] is not positive%-definite %(its leading minor of order 1',
                   message(function() return torch.linalg.cholesky(-torch.eye(3)) end))
  end)
  it('refuses non-square, integer and 1-d input, and mismatched solve operands', function()
    assert.matches('linalg.inv: expected square matrices, got %[2 x 3%]', message(function() return torch.linalg.inv(torch.randn(2, 3)) end))
    assert.matches('linalg.det: expected float32 or float64 matrices, got int64',
                   message(function() return torch.linalg.det(torch.ones(2, 2):long()) end))
    assert.matches('linalg.qr: expected a matrix or a batch of matrices %(at least 2 dimensions%), got %[3%]',
                   message(function() return torch.linalg.qr(torch.randn(3)) end))
    assert.matches('linalg.solve: A %[3 x 3%] and B %[4 x 2%] do not fit the equation A X = B',
                   message(function() return torch.linalg.solve(torch.randn(3, 3), torch.randn(4, 2)) end))
    assert.matches('linalg.solve: expected A and B of one dtype', message(function()
      return torch.linalg.solve(torch.randn(3, 3), torch.randn(3, { dtype = 'float64' })) end))
    assert.matches("linalg.qr: mode must be 'reduced', 'complete' or 'r'", message(function() return torch.linalg.qr(torch.randn(3, 3), 'full') end))
  end)
  it('refuses vector_norm orders without an identity over no elements, as PyTorch (they gave 0 or inf)', function()
    assert.matches('linalg.vector_norm: cannot take the inf%-norm over dimension 1 of size 0',
                   message(function() return torch.linalg.vector_norm(torch.zeros(0), math.huge) end))
    assert.matches('linalg.vector_norm: cannot take the %-1%-norm over dimension 2 of size 0',
                   message(function() return torch.linalg.vector_norm(torch.zeros(3, 0), -1, 2) end))
    assert.are.same({ 0 }, torch.linalg.vector_norm(torch.zeros(3, 0), -math.huge, 1):shape())
    assert.equals(0, torch.linalg.vector_norm(torch.zeros(0), 2):item())
  end)
end)

describe('norms, pinv, matrix_rank and cond match PyTorch', function()
  local cases = {}
  local function case(name, fn, python, inputs, tolerance)
    cases[#cases + 1] = { name = name, fn = fn, python = python, inputs = inputs, tol = tolerance }
  end
  for _, dtype in ipairs({ 'float32', 'float64' }) do
    local t = tol(dtype, 8)
    local x = torch.randn(3, 4, 5, { dtype = dtype })
    for _, ord in ipairs({ 2, 1, 3.5, 0, math.huge, -math.huge }) do
      local py = ord == math.huge and 'float("inf")' or ord == -math.huge and '-float("inf")' or tostring(ord)
      case(string.format('vector_norm ord %s %s', tostring(ord), dtype), function(a) return torch.linalg.vector_norm(a, ord) end,
           'out = torch.linalg.vector_norm(a, ' .. py .. ')', { x }, t)
      case(string.format('vector_norm ord %s dim 2 keepdim %s', tostring(ord), dtype),
           function(a) return torch.linalg.vector_norm(a, { ord = ord, dim = 2, keepdim = true }) end,
           'out = torch.linalg.vector_norm(a, ' .. py .. ', dim=1, keepdim=True)', { x }, t)
    end
    for _, ord in ipairs({ 'fro', 'nuc', 2, -2, 1, -1, 'inf', '-inf' }) do
      local py = ord == 'inf' and 'float("inf")' or ord == '-inf' and '-float("inf")' or
                 (type(ord) == 'string' and "'" .. ord .. "'" or tostring(ord))
      case(string.format('matrix_norm %s %s', tostring(ord), dtype), function(a) return torch.linalg.matrix_norm(a, ord) end,
           'out = torch.linalg.matrix_norm(a, ' .. py .. ')', { x }, t)
      case(string.format('matrix_norm %s dims {1, 3} keepdim %s', tostring(ord), dtype),
           function(a) return torch.linalg.matrix_norm(a, { ord = ord, dim = { 1, 3 }, keepdim = true }) end,
           'out = torch.linalg.matrix_norm(a, ' .. py .. ', dim=(0, 2), keepdim=True)', { x }, t)
    end
    case('norm of all elements ' .. dtype, function(a) return torch.linalg.norm(a) end, 'out = torch.linalg.norm(a)', { x }, t)
    case('norm of a matrix, nuc ' .. dtype, function(a) return torch.linalg.norm(a[1], 'nuc') end,
         "out = torch.linalg.norm(a[0], 'nuc')", { x }, t)
    case('norm over a dim ' .. dtype, function(a) return torch.linalg.norm(a, 3, -1) end,
         'out = torch.linalg.norm(a, 3, -1)', { x }, t)
    case('pinv wide ' .. dtype, torch.linalg.pinv, 'out = torch.linalg.pinv(a)', { torch.randn(2, 3, 5, { dtype = dtype }) }, t)
    case('pinv tall, rank-deficient ' .. dtype, torch.linalg.pinv, 'out = torch.linalg.pinv(a)',
         { torch.randn(6, 2, { dtype = dtype }):mm(torch.randn(2, 4, { dtype = dtype })) }, tol(dtype, 100))
    case('pinv hermitian ' .. dtype, function(a) return torch.linalg.pinv(a, { hermitian = true }) end,
         'out = torch.linalg.pinv(a, hermitian=True)', { spd({ 4, 4 }, dtype) }, t)
    case('matrix_rank ' .. dtype, torch.linalg.matrix_rank, 'out = torch.linalg.matrix_rank(a)',
         { torch.randn(3, 6, 2, { dtype = dtype }):matmul(torch.randn(2, 5, { dtype = dtype })) })
    case('cond ' .. dtype, torch.linalg.cond, 'out = torch.linalg.cond(a)', { wellcond({ 3, 4, 4 }, dtype) }, t)
    case('cond fro ' .. dtype, function(a) return torch.linalg.cond(a, 'fro') end, "out = torch.linalg.cond(a, 'fro')",
         { wellcond({ 4, 4 }, dtype) }, t)
  end
  local batch = {}
  for i, cs in ipairs(cases) do
    local named = {}
    for j, x in ipairs(cs.inputs) do named[NAMES[j]] = x end
    batch[i] = { code = cs.python, inputs = named }
  end
  local results = ref.batch(batch)
  for i, cs in ipairs(cases) do
    it(cs.name, function()
      local ok, msg = ref.compare(cs.fn(unpack(cs.inputs)), results[i], cs.tol or { atol = 0, rtol = 0 })
      assert(ok, msg)
    end)
  end
end)

-- ---- cross products ----
do
  local cases = require('helpers.cases').new()
  cases:add('linalg.cross, batch', function(t) return torch.linalg.cross(t.a, t.b) end, 'out = torch.linalg.cross(a, b)',
            { a = torch.randn(5, 3):double(), b = torch.randn(5, 3):double() })
  cases:add('linalg.cross broadcast, dim', function(t) return torch.linalg.cross(t.a, t.b, { dim = 1 }) end,
            'out = torch.linalg.cross(a, b, dim=0)', { a = torch.randn(3, 4), b = torch.randn(3, 1) })
  cases:add('torch.cross, first dim of size 3', function(t) return torch.cross(t.a, t.b) end, 'out = torch.cross(a, b)',
            { a = torch.randn(2, 3, 3), b = torch.randn(2, 3, 3) })
  cases:add('x:cross(y, dim) of int64, transposed', function(t) return t.a:t():cross(t.b, 2) end,
            'out = torch.cross(a.t(), b, dim=1)', { a = torch.randint(-9, 9, { 3, 4 }), b = torch.randint(-9, 9, { 4, 3 }) })
  cases:describe('cross products match PyTorch')

  it('cross refuses dims that are not of size 3', function()
    local message = require 'helpers.failure'
    assert.matches('linalg.cross: dimension 2 must have size 3, got 2 (inputs of size [3 x 2])',
                   message(function() return torch.linalg.cross(torch.zeros(3, 2), torch.zeros(3, 2)) end), 1, true)
    assert.matches('cross: no dimension of size 3 in inputs of size [2 x 2]',
                   message(function() return torch.cross(torch.zeros(2, 2), torch.zeros(2, 2)) end), 1, true)
    assert.matches('cross: expected a tensor for other', message(function() return torch.cross(torch.zeros(3), 1) end), 1, true)
  end)
end

-- ---- kron and type_as ----
do
  local cases = require('helpers.cases').new()
  cases:add('kron of matrices, of a vector and a matrix, of int64', function(t)
    return { torch.kron(t.a, t.b), t.v:kron(t.a), torch.kron(t.i, t.i:t()) }
  end, 'out = [torch.kron(a, b), torch.kron(v, a), torch.kron(i, i.t().contiguous())]', -- (PyTorch 1.13 cannot take the view)
            { a = torch.randn(2, 3):double(), b = torch.randn(3, 2):double(), v = torch.randn(2):double(),
              i = torch.randint(-3, 3, { 2, 3 }) })
  cases:add('type_as', function(t) return t.a:type_as(t.i) end, 'out = a.type_as(i)',
            { a = torch.randn(3):mul(4), i = torch.tensor({ 1 }) })
  cases:describe('kron and type_as match PyTorch')

  it('kron carries gradients', function()
    local function R(...) return torch.randn(...):double():requires_grad_() end
    assert.is_true(torch.autograd.gradcheck(function(a, b) return torch.kron(a, b) end, { R(2, 2), R(3) }))
  end)
end

-- ---- cdist ----
do
  local cases = require('helpers.cases').new()
  local D = { dtype = 'float64' }
  for _, p in ipairs({ 2, 1, 0, 3.5, math.huge }) do
    local py_p = p == math.huge and "float('inf')" or tostring(p)
    cases:add('cdist p=' .. tostring(p) .. ', batched', function(t) return torch.cdist(t.a, t.b, p) end,
              ('out = torch.cdist(a, b, p=%s)'):format(py_p),
              { a = torch.randn(2, 4, 3, D):round(), b = torch.randn(2, 5, 3, D):round() })
  end
  cases:add('cdist p=2 through products (more than 25 rows)', function(t) return torch.cdist(t.a, t.b) end,
            'out = torch.cdist(a, b)', { a = torch.randn(30, 6, D), b = torch.randn(7, 6, D) }, { atol = 1e-10, rtol = 1e-9 })
  cases:add('cdist gradients, with a zero distance', function(t)
    local grads = {}
    for _, p in ipairs({ 2, 1, 3 }) do
      local a = t.a:clone():requires_grad_()
      torch.cdist(a, t.b, p):mul(t.w):sum():backward()
      grads[#grads + 1] = a.grad
    end
    return grads
  end, [[
out = []
for p in (2, 1, 3):
    la = a.clone().requires_grad_()
    (torch.cdist(la, b, p=p) * w).sum().backward()
    out.append(la.grad)
]], { a = torch.tensor({ { 1, 2 }, { 0.5, -1 }, { 3, 3 } }, D), b = torch.tensor({ { 1, 2 }, { 2, 0 } }, D),
      w = torch.randn(3, 2, D) })
  cases:describe('cdist matches PyTorch')

  it('cdist refuses mismatched or integer inputs', function()
    local message = require 'helpers.failure'
    assert.matches('cdist: expects [.. x P x M] and [.. x R x M] tensors, got [3 x 2] and [3 x 4]',
                   message(function() return torch.cdist(torch.zeros(3, 2), torch.zeros(3, 4)) end), 1, true)
    assert.matches('cdist: expects floating point tensors, got int64',
                   message(function() return torch.cdist(torch.zeros(3, 2):long(), torch.zeros(3, 2):long()) end), 1, true)
    assert.matches('cdist: p must be a non-negative number, got -1',
                   message(function() return torch.cdist(torch.zeros(3, 2), torch.zeros(3, 2), -1) end), 1, true)
  end)
end
