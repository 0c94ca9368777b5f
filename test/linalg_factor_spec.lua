-- tensor.linalg_factor and the smaller linalg additions against PyTorch: geqrf, linalg.householder_product
-- (torch.orgqr), ormqr, linalg.ldl_factor(_ex) and linalg.ldl_solve, linalg.diagonal, torch.frobenius_norm,
-- torch.nuclear_norm, torch.matrix_rank. float32 and float64, batches, transposed (strided) inputs, empty
-- batches and matrices; errors naming the function; householder_product's gradient by gradcheck and against
-- PyTorch's, and the backward of the ops PyTorch 1.13 does not differentiate raising as PyTorch's does.
local torch = require 'tensor'
local ref = require 'helpers.torchref'
local message = require 'helpers.failure'
local matrices = require 'helpers.matrices'

torch.manual_seed(2718)

local function tol(dtype, n) return matrices.tol(dtype, n, 300) end
local function list(...) return { ... } end
local function sym(size, dtype) -- symmetric, indefinite
  local a = torch.randn(size, { dtype = dtype })
  return a + a:transpose(-2, -1)
end

local cases = {}
local function case(name, fn, python, inputs, tolerance)
  cases[#cases + 1] = { name = name, fn = fn, python = python, inputs = inputs, tol = tolerance }
end
local NAMES = { 'a', 'b', 'c' }

for _, dtype in ipairs({ 'float32', 'float64' }) do
  local t = tol(dtype, 6)
  local function R(...) return torch.randn({ ... }, { dtype = dtype }) end
  -- geqrf: the same LAPACK routine on both sides, so its compact output is compared as it is
  for _, size in ipairs({ { 5, 3 }, { 3, 5 }, { 4, 4 }, { 2, 5, 3 }, { 2, 1, 3, 4 }, { 0, 3 }, { 3, 0 }, { 0, 3, 3 },
                          { 0, 0 } }) do
    case('geqrf ' .. dtype .. ' ' .. table.concat(size, 'x'), function(a) return list(torch.geqrf(a)) end,
         'out = list(torch.geqrf(a))', { R(unpack(size)) }, t)
  end
  case('geqrf transposed, Tensor:geqrf ' .. dtype, function(a) return list(a:t():geqrf()) end,
       'out = list(a.t().geqrf())', { R(3, 6) }, t)
  -- householder_product: any reflectors (random tau), and geqrf's, whose product is Q
  for _, shape in ipairs({ { { 5, 3 }, { 3 } }, { { 5, 3 }, { 2 } }, { { 4, 4 }, { 4 } }, { { 2, 6, 3 }, { 2, 3 } },
                           { { 3, 0 }, { 0 } }, { { 0, 0 }, { 0 } }, { { 0, 5, 3 }, { 0, 3 } }, { { 4, 3 }, { 0 } } }) do
    local label = string.format('[%s] [%s] %s', table.concat(shape[1], 'x'), table.concat(shape[2], 'x'), dtype)
    case('householder_product ' .. label, torch.linalg.householder_product,
         'out = torch.linalg.householder_product(a, b)', { R(unpack(shape[1])), R(unpack(shape[2])) }, t)
  end
  case('householder_product of geqrf is Q, orgqr ' .. dtype, function(a)
    local h, tau = torch.geqrf(a)
    return list(torch.linalg.householder_product(h, tau), torch.orgqr(h, tau), h:orgqr(tau))
  end, 'h, tau = torch.geqrf(a); out = [torch.linalg.householder_product(h, tau), torch.orgqr(h, tau), h.orgqr(tau)]',
       { R(3, 6, 4) }, t)
  case('householder_product strided A and tau ' .. dtype, function(a, b)
    return torch.linalg.householder_product(a:transpose(-2, -1), b:select(2, 2))
  end, 'out = torch.linalg.householder_product(a.transpose(-2, -1), b[:, 1])', { R(2, 3, 5), R(2, 3, 2) }, t)
  -- ormqr: every side and transpose, a batch, strided C, fewer reflectors than A's columns, none
  for _, left in ipairs({ true, false }) do
    for _, transpose in ipairs({ false, true }) do
      local py = string.format('left=%s, transpose=%s', left and 'True' or 'False', transpose and 'True' or 'False')
      case('ormqr ' .. py .. ' ' .. dtype, function(a, b, c)
        return torch.ormqr(a, b, c, left, transpose)
      end, 'out = torch.ormqr(a, b, c, ' .. py .. ')', { R(2, 5, 3), R(2, 3), left and R(2, 5, 4) or R(2, 4, 5) }, t)
    end
  end
  case('ormqr of geqrf is Q C, Q^T C (options table, Tensor:ormqr, strided C) ' .. dtype, function(a, c)
    local h, tau = torch.geqrf(a)
    return list(torch.ormqr(h, tau, c:t()), h:ormqr(tau, c:t(), { transpose = true }))
  end, 'h, tau = torch.geqrf(a); out = [torch.ormqr(h, tau, b.t()), h.ormqr(tau, b.t(), transpose=True)]',
       { R(6, 4), R(3, 6) }, t)
  case('ormqr fewer reflectors, none, empty batch ' .. dtype, function(a, b, c)
    return list(torch.ormqr(a, b:narrow(1, 1, 2), c), torch.ormqr(a, b:narrow(1, 1, 0), c),
                torch.ormqr(a:expand(0, 5, 4), b:expand(0, 4), c:expand(0, 5, 3)))
  end, 'out = [torch.ormqr(a, b[:2], c), torch.ormqr(a, b[:0], c), ' ..
       'torch.ormqr(a.expand(0, 5, 4), b.expand(0, 4), c.expand(0, 5, 3))]', { R(5, 4), R(4), R(5, 3) }, t)
  -- LDL^T: sytrf on both sides, so LD and LAPACK's pivots are compared as they are
  for _, size in ipairs({ { 4, 4 }, { 3, 5, 5 }, { 2, 1, 3, 3 }, { 0, 3, 3 }, { 2, 0, 0 }, { 1, 1 } }) do
    case('ldl_factor_ex ' .. dtype .. ' ' .. table.concat(size, 'x'), function(a)
      return list(torch.linalg.ldl_factor_ex(a))
    end, 'out = list(torch.linalg.ldl_factor_ex(a))', { sym(size, dtype) }, t)
  end
  -- (2 x 2 blocks: a zero diagonal forces them; a zero matrix has info 1)
  local blocks = torch.tensor({ { 0, 1, 2, 0 }, { 1, 0, 3, 1 }, { 2, 3, 0, 4 }, { 0, 1, 4, 0 } }, { dtype = dtype })
  case('ldl_factor_ex 2x2 pivots, singular, hermitian ' .. dtype, function(a, b)
    local l1, p1, i1 = torch.linalg.ldl_factor_ex(torch.stack({ a, b }), { hermitian = true })
    local l2, p2 = torch.linalg.ldl_factor(a)
    return list(l1, p1, i1, l2, p2, p1[1]:lt(0):any())
  end, 'out = list(torch.linalg.ldl_factor_ex(torch.stack([a, b]), hermitian=True)) + ' ..
       'list(torch.linalg.ldl_factor(a)) + [True]', { blocks, torch.zeros(4, 4, { dtype = dtype }) }, t)
  case('ldl_factor reads the lower triangle of a strided A ' .. dtype, function(a)
    return list(torch.linalg.ldl_factor(a:t()))
  end, 'out = list(torch.linalg.ldl_factor(a.t()))', { R(5, 5) }, t)
  case('ldl_solve ' .. dtype, function(a, b)
    local ld, piv = torch.linalg.ldl_factor(a)
    return list(torch.linalg.ldl_solve(ld, piv, b), torch.linalg.ldl_solve(ld, piv, b:narrow(1, 1, 1)),
                torch.linalg.ldl_solve(ld[1], piv[1], b, { hermitian = true }),
                torch.linalg.ldl_solve(ld, piv:long(), b:transpose(-2, -1):transpose(-2, -1)))
  end, 'ld, piv = torch.linalg.ldl_factor(a); out = [torch.linalg.ldl_solve(ld, piv, b), ' ..
       'torch.linalg.ldl_solve(ld, piv, b[:1]), torch.linalg.ldl_solve(ld[0], piv[0], b, hermitian=True), ' ..
       'torch.linalg.ldl_solve(ld, piv.long(), b)]', { sym({ 2, 4, 4 }, dtype) + torch.eye(4, { dtype = dtype }) * 4,
                                                        R(2, 4, 3) }, tol(dtype, 30))
  -- (PyTorch 1.13's ldl_solve crashes on batches that broadcast both ways: its answer is linalg.solve's)
  case('ldl_solve both batches broadcast, 2x2 pivots ' .. dtype, function(a, b)
    local ld, piv = torch.linalg.ldl_factor(a)
    return torch.linalg.ldl_solve(ld, piv, b)
  end, 'out = torch.linalg.solve(a, b)', { torch.stack({ blocks, blocks * 2 + torch.eye(4, { dtype = dtype }) }),
                                          R(3, 1, 4, 2) }, tol(dtype, 30))
  case('ldl_solve empty ' .. dtype, function(a, b)
    local ld, piv = torch.linalg.ldl_factor(a)
    return list(torch.linalg.ldl_solve(ld, piv, b), torch.linalg.ldl_solve(ld, piv, b:narrow(-1, 1, 0)))
  end, 'ld, piv = torch.linalg.ldl_factor(a); out = [torch.linalg.ldl_solve(ld, piv, b), ' ..
       'torch.linalg.ldl_solve(ld, piv, b[..., :0])]', { R(0, 3, 3), R(0, 3, 2) }, t)
  -- the smaller functions
  case('linalg.diagonal ' .. dtype, function(a)
    return list(torch.linalg.diagonal(a), torch.linalg.diagonal(a, { offset = 1 }),
                torch.linalg.diagonal(a, { offset = -1, dim1 = 1, dim2 = 3 }), torch.linalg.diagonal(a:narrow(1, 1, 0)))
  end, 'out = [torch.linalg.diagonal(a), torch.linalg.diagonal(a, offset=1), ' ..
       'torch.linalg.diagonal(a, offset=-1, dim1=0, dim2=2), torch.linalg.diagonal(a[:0])]', { R(2, 3, 4) }, t)
  case('frobenius_norm ' .. dtype, function(a, b)
    return list(torch.frobenius_norm(a), torch.frobenius_norm(a, { 1, 3 }, true), torch.frobenius_norm(a, -1),
                torch.frobenius_norm(a:transpose(1, 3), { dim = { -2, -1 } }), torch.frobenius_norm(b),
                torch.frobenius_norm(a, {}))
  end, 'out = [torch.frobenius_norm(a), torch.frobenius_norm(a, (0, 2), True), torch.frobenius_norm(a, -1), ' ..
       'torch.frobenius_norm(a.transpose(0, 2), (-2, -1)), torch.frobenius_norm(b), torch.frobenius_norm(a, ())]',
       { R(2, 3, 4), R(0, 3) }, t)
  case('nuclear_norm ' .. dtype, function(a, b)
    return list(torch.nuclear_norm(a[1]), torch.nuclear_norm(a[1], true), torch.nuclear_norm(a, { 1, 3 }),
                torch.nuclear_norm(a, { 3, 2 }, true), torch.nuclear_norm(a:transpose(2, 3), { dim = { 2, 3 } }),
                torch.nuclear_norm(b))
  end, 'out = [torch.nuclear_norm(a[0]), torch.nuclear_norm(a[0], True), torch.nuclear_norm(a, (0, 2)), ' ..
       'torch.nuclear_norm(a, (2, 1), True), torch.nuclear_norm(a.transpose(1, 2), (1, 2)), torch.nuclear_norm(b)]',
       { R(2, 3, 4), R(0, 3) }, tol(dtype, 30))
  local deficient = R(2, 6, 2):matmul(R(2, 2, 4))
  case('matrix_rank ' .. dtype, function(a)
    return list(torch.matrix_rank(a), torch.matrix_rank(a, 1e3), torch.matrix_rank(a:matmul(a:transpose(-2, -1)), nil, true),
                torch.matrix_rank(a, { tol = 0.5, symmetric = false }))
  end, 'L = torch.linalg.matrix_rank; out = [L(a), L(a, atol=1e3, rtol=0), ' ..
       'L(a @ a.mT, hermitian=True), L(a, atol=0.5, rtol=0)]', { deficient }, t)
end

describe('geqrf, householder_product, ormqr, LDL and the smaller functions match PyTorch', function()
  local batch = {}
  for i, cs in ipairs(cases) do
    local inputs = {}
    for j, v in ipairs(cs.inputs) do inputs[NAMES[j]] = v end
    batch[i] = { cs.python, inputs }
  end
  local results = ref.batch(batch)
  for i, cs in ipairs(cases) do
    it(cs.name, function()
      local got = cs.fn(unpack(cs.inputs))
      local expected = results[i]
      if type(got) ~= 'table' or torch.is_tensor(got) then got, expected = { got }, { expected } end
      assert.are.equal(#expected, #got, 'number of results')
      for j = 1, #expected do
        if type(expected[j]) == 'boolean' then
          assert.are.equal(expected[j], torch.is_tensor(got[j]) and got[j]:item() or got[j])
        else
          local ok, msg = ref.compare(got[j], expected[j], cs.tol)
          assert(ok, 'result ' .. j .. ': ' .. tostring(msg))
        end
      end
    end)
  end
end)

describe('the factorisations satisfy their equations', function()
  it('Q R = A and Q^T Q = I from geqrf, householder_product and ormqr, for every batch shape', function()
    for _, size in ipairs({ { 7, 4 }, { 3, 6, 6 }, { 2, 4, 7 } }) do
      local a = torch.randn(size, { dtype = 'float64' })
      local h, tau = torch.geqrf(a)
      local m, n = a:size(-2), a:size(-1)
      local k = math.min(m, n)
      local r = h:narrow(-2, 1, k):triu()
      local q = torch.linalg.householder_product(h:narrow(-1, 1, k), tau)
      assert.is_true((q:matmul(r) - a):abs():max() < 1e-12)
      assert.is_true((q:transpose(-2, -1):matmul(q) - torch.eye(k, { dtype = 'float64' })):abs():max() < 1e-12)
      local o = torch.zeros(1, { dtype = 'float64' })
      assert.are.equal(o, torch.linalg.householder_product(h:narrow(-1, 1, k), tau, { out = o }))
      assert.is_true((o - q):abs():max() == 0)
      local c = torch.randn(size, { dtype = 'float64' })
      local qc = torch.ormqr(h, tau, c) -- the full m x m Q times C
      assert.is_true((torch.ormqr(h, tau, qc, true, true) - c):abs():max() < 1e-12)
    end
  end)

  it('L D L^T = A from ldl_factor (P applied by its pivots), and ldl_solve solves with it', function()
    local a = sym({ 6, 6 }, 'float64')
    local ld, piv = torch.linalg.ldl_factor(a)
    local b = torch.randn(6, 3, { dtype = 'float64' })
    local x = torch.linalg.ldl_solve(ld, piv, b)
    assert.is_true((a:matmul(x) - b):abs():max() < 1e-10)
    local o = torch.zeros(1, { dtype = 'float64' })
    assert.are.equal(o, torch.linalg.ldl_solve(ld, piv, b, { out = o }))
    assert.is_true((o - x):abs():max() == 0)
    assert.are.equal(0, ld:triu(1):abs():max())
  end)
end)

describe('the factorisations refuse bad input, naming the function', function()
  it('wrong dtypes, shapes, tau lengths, pivots and options', function()
    local a, tau, c = torch.randn(2, 5, 3), torch.randn(2, 3), torch.randn(2, 5, 4)
    local int = torch.ones(3, 3, { dtype = 'int64' })
    local cases_ = {
      { 'geqrf: expected float32 or float64 matrices for A, got int64', function() return torch.geqrf(int) end },
      { 'geqrf: expected a matrix or a batch of matrices for A %(at least 2 dimensions%), got %[3%]',
        function() return torch.geqrf(torch.randn(3)) end },
      { 'linalg.householder_product: expected float32 or float64 matrices for A, got int64',
        function() return torch.linalg.householder_product(int, torch.ones(3, { dtype = 'int64' })) end },
      { 'linalg.householder_product: expected A with at least as many rows as columns, got %[3 x 5%]',
        function() return torch.linalg.householder_product(torch.randn(3, 5), torch.randn(3)) end },
      { 'linalg.householder_product: tau %[2 x 4%] has more elements than A %[2 x 5 x 3%] has columns %(3%)',
        function() return torch.linalg.householder_product(a, torch.randn(2, 4)) end },
      { "linalg.householder_product: expected tau of A's batch shape with one dim of its own %(%[%*, k%] for A " ..
        "%[%*, m, n%]%), got A %[2 x 5 x 3%] and tau %[1 x 3%]",
        function() return torch.linalg.householder_product(a, torch.randn(1, 3)) end },
      { 'linalg.householder_product: expected A and tau of one dtype, got float32 and float64',
        function() return torch.linalg.householder_product(a, tau:double()) end },
      { 'orgqr: tau %[2 x 4%] has more elements', function() return torch.orgqr(a, torch.randn(2, 4)) end },
      { 'linalg.householder_product: unknown option outt', function() return torch.linalg.householder_product(a, tau, { outt = 1 }) end },
      { 'ormqr: A %[2 x 5 x 3%] and C %[2 x 5 x 4%] do not fit C Q: A must have as many rows as C has columns %(4%)',
        function() return torch.ormqr(a, tau, c, false) end },
      { 'ormqr: tau has 3 reflectors, more than C %[2 x 2 x 4%] has rows %(2%)',
        function() return torch.ormqr(torch.randn(2, 2, 3), tau, torch.randn(2, 2, 4)) end },
      { "ormqr: expected C with A's batch shape %(%[%*, m, n%] for A %[%*, mq, k%]%), got A %[2 x 5 x 3%] and C %[3 x 5 x 4%]",
        function() return torch.ormqr(a, tau, torch.randn(3, 5, 4)) end },
      { 'ormqr: expected A and C of one dtype, got float32 and float64',
        function() return torch.ormqr(a, tau, c:double()) end },
      { 'ormqr: tau %[2 x 4%] has more elements than A %[2 x 5 x 3%]', function() return a:ormqr(torch.randn(2, 4), c) end },
      { 'ormqr: left must be true or false, got 1', function() return torch.ormqr(a, tau, c, 1) end },
      { 'ormqr: unknown option side', function() return torch.ormqr(a, tau, c, { side = 'left' }) end },
      { 'linalg.ldl_factor: expected square matrices for A, got %[4 x 3%]',
        function() return torch.linalg.ldl_factor(torch.randn(4, 3)) end },
      { 'linalg.ldl_factor_ex: expected float32 or float64 matrices for A, got int64',
        function() return torch.linalg.ldl_factor_ex(int) end },
      { 'linalg.ldl_factor: D%[1,1%] of the LDL factorisation of matrix 2 of the batch %[2 x 3 x 3%] is zero: the matrix is singular',
        function() return torch.linalg.ldl_factor(torch.stack({ torch.eye(3), torch.zeros(3, 3) })) end },
      { 'linalg.ldl_factor_ex: D%[1,1%] of the LDL factorisation of the input %[3 x 3%] is zero',
        function() return torch.linalg.ldl_factor_ex(torch.zeros(3, 3), { check_errors = true }) end },
      { 'linalg.ldl_factor: hermitian must be true or false, got yes',
        function() return torch.linalg.ldl_factor(torch.eye(3), { hermitian = 'yes' }) end },
    }
    local ld, piv = torch.linalg.ldl_factor(sym({ 3, 3 }, 'float32') + torch.eye(3) * 9)
    local b = torch.randn(3, 2)
    local more = {
      { 'linalg.ldl_solve: expected int32 pivots %(as linalg.ldl_factor returns them%), got float32',
        function() return torch.linalg.ldl_solve(ld, piv:float(), b) end },
      { "linalg.ldl_solve: expected pivots of LD's shape without its last dim, got LD %[3 x 3%] and pivots %[2%]",
        function() return torch.linalg.ldl_solve(ld, piv:narrow(1, 1, 2), b) end },
      { 'linalg.ldl_solve: LD %[3 x 3%] and B %[4 x 2%] do not fit the equation A X = B',
        function() return torch.linalg.ldl_solve(ld, piv, torch.randn(4, 2)) end },
      { 'linalg.ldl_solve: LD %[3 x 3%] and B %[3%] do not fit', function() return torch.linalg.ldl_solve(ld, piv, torch.randn(3)) end },
      { 'linalg.ldl_solve: expected LD and B of one dtype, got float32 and float64',
        function() return torch.linalg.ldl_solve(ld, piv, b:double()) end },
      { 'linalg.ldl_solve: expected float32 or float64 matrices for LD, got int64',
        function() return torch.linalg.ldl_solve(int, piv, b) end },
      { "linalg.ldl_solve: pivot 2 of the pivots %[3%] is not one of linalg.ldl_factor's",
        function() return torch.linalg.ldl_solve(ld, torch.tensor({ 1, 0, 3 }, { dtype = 'int32' }), b) end },
      { "linalg.ldl_solve: pivot 3 of the pivots %[3%] is not one of linalg.ldl_factor's",
        function() return torch.linalg.ldl_solve(ld, torch.tensor({ 1, 2, -3 }, { dtype = 'int32' }), b) end },
      { "linalg.ldl_solve: pivot 1 of row 2 of the pivots %[2 x 3%] is not one of linalg.ldl_factor's",
        function()
          return torch.linalg.ldl_solve(ld:expand(2, 3, 3), torch.tensor({ { 1, 2, 3 }, { -1, -2, 3 } }, { dtype = 'int32' }),
                                        torch.randn(4, 1, 3, 2))
        end },
      { "linalg.ldl_solve: pivot 2 of the pivots %[3%] is not one of linalg.ldl_factor's",
        function() return torch.linalg.ldl_solve(ld, torch.tensor({ 1, 2 ^ 40, 3 }, { dtype = 'int64' }), b) end },
      { 'linalg.ldl_solve: the batch dimensions of LD %[2 x 3 x 3%] and B %[3 x 3 x 2%] do not broadcast',
        function() return torch.linalg.ldl_solve(ld:expand(2, 3, 3), piv:expand(2, 3), torch.randn(3, 3, 2)) end },
      { 'linalg.diagonal: expected a tensor with at least 2 dimensions, got 1',
        function() return torch.linalg.diagonal(torch.randn(3)) end },
      { 'linalg.diagonal: dim1 and dim2 must be two different dims, got 2 and %-2',
        function() return torch.linalg.diagonal(torch.randn(2, 3, 4), { dim1 = 2, dim2 = -2 }) end },
      { 'linalg.diagonal: unknown option dim', function() return torch.linalg.diagonal(torch.randn(2, 3), { dim = 1 }) end },
      { 'frobenius_norm: expected a floating%-point tensor, got int64', function() return torch.frobenius_norm(int) end },
      { 'frobenius_norm: expected at most 2 dims, got 3', function() return torch.frobenius_norm(c, { 1, 2, 3 }) end },
      { 'frobenius_norm: expected two different dims, got {1, %-3}', function() return torch.frobenius_norm(c, { 1, -3 }) end },
      { 'frobenius_norm: dimension 4 out of range', function() return torch.frobenius_norm(c, 4) end },
      { 'nuclear_norm: expected a 2%-d tensor without dim, got 3 dimensions', function() return torch.nuclear_norm(c) end },
      { 'nuclear_norm: expected float32 or float64 matrices, got int64', function() return torch.nuclear_norm(int) end },
      { 'nuclear_norm: dim must hold two dims, got 1', function() return torch.nuclear_norm(c, { 1 }) end },
      { 'matrix_rank: tol must be a number, got x', function() return torch.matrix_rank(b, 'x') end },
    }
    for _, e in ipairs(more) do cases_[#cases_ + 1] = e end
    for _, e in ipairs(cases_) do assert.matches(e[1], message(e[2])) end
  end)
end)

describe('gradients', function()
  local gradcheck = torch.autograd.gradcheck
  local function R(...) return torch.randn(...):double():requires_grad_() end

  it('householder_product passes gradcheck in A and tau (tall, square, fewer reflectors, batches, none)', function()
    for _, s in ipairs({ { { 5, 3 }, { 3 } }, { { 5, 3 }, { 2 } }, { { 4, 4 }, { 4 } }, { { 2, 5, 3 }, { 2, 1 } },
                         { { 3, 2 }, { 0 } } }) do
      assert.is_true(gradcheck(torch.linalg.householder_product, { R(s[1]), R(s[2]) }))
    end
    -- geqrf's reflectors (their product is Q), and the aliases
    local h, tau = torch.geqrf(torch.randn(6, 4):double())
    assert.is_true(gradcheck(torch.orgqr, { h:clone():requires_grad_(), tau:clone():requires_grad_() }))
    assert.is_true(torch.autograd.gradgradcheck(torch.linalg.householder_product, { R(4, 3), R(3) }))
  end)

  it('householder_product agrees with PyTorch\'s gradient; diagonal, frobenius_norm and nuclear_norm pass gradcheck', function()
    local a, tau, w = torch.randn(2, 6, 4):double(), torch.randn(2, 3):double(), torch.randn(6, 4):double()
    local la, lt = a:clone():requires_grad_(), tau:clone():requires_grad_()
    local y = (torch.linalg.householder_product(la, lt) * w):sin():sum()
    y:backward()
    local r = ref.run([[
a.requires_grad_(); tau.requires_grad_()
(torch.linalg.householder_product(a, tau) * w).sin().sum().backward()
out = {'a': a.grad, 'tau': tau.grad}
]], { a = a, tau = tau, w = w })
    for name, t in pairs({ a = la, tau = lt }) do
      local ok, msg = ref.compare(t.grad, r[name], { atol = 1e-10, rtol = 1e-8 })
      assert(ok, name .. ': ' .. tostring(msg))
    end
    -- (a copy: gradcheck perturbs the input in place, which a view would follow)
    assert.is_true(gradcheck(function(x) return torch.linalg.diagonal(x, { offset = 1 }):clone() end, { R(2, 3, 4) }))
    assert.is_true(gradcheck(function(x) return torch.frobenius_norm(x, { 1, 3 }) end, { R(2, 3, 4) }))
    assert.is_true(gradcheck(function(x) return torch.nuclear_norm(x, { 2, 3 }, true) end, { R(2, 3, 4) }))
  end)

  it('backward through geqrf, ormqr, ldl_factor(_ex) and ldl_solve raises, as PyTorch 1.13\'s', function()
    local a = R(4, 3)
    local h, tau = torch.geqrf(a)
    assert.is_true(h.requires_grad and tau.requires_grad)
    assert.matches('backward: geqrf: the derivative is not implemented %(as in PyTorch 1.13%); linalg.qr is differentiable',
                   message(function() tau:sum():backward() end))
    local x = torch.ormqr(h:detach(), tau:detach(), R(4, 2))
    assert.matches('backward: ormqr: the derivative is not implemented', message(function() x:sum():backward() end))
    local s = (torch.randn(3, 3):double() + torch.eye(3):double() * 5):requires_grad_()
    local ld, piv = torch.linalg.ldl_factor(s)
    assert.are.equal('int32', piv:dtype())
    assert.matches('backward: linalg.ldl_factor: the derivative is not implemented', message(function() ld:sum():backward() end))
    local ld2 = torch.linalg.ldl_factor_ex(s)
    assert.matches('backward: linalg.ldl_factor_ex: the derivative', message(function() ld2:sum():backward() end))
    local sol = torch.linalg.ldl_solve(ld:detach(), piv, R(3, 1))
    assert.matches('backward: linalg.ldl_solve: the derivative is not implemented %(as in PyTorch 1.13%); linalg.solve is differentiable',
                   message(function() sol:sum():backward() end))
  end)
end)

-- The CUDA kernels (cuSOLVER's geqrf, orgqr, ormqr, sytrf and Xsytrs) against the CPU. Without a CUDA device the
-- block is pending; TENSOR_CUDA_OPS_DEVICE=cpu runs it with the CPU as the device under test (a check of the block).
describe('on CUDA, geqrf, householder_product, ormqr and LDL agree with the CPU', function()
  local ondevice = require 'helpers.ondevice'
  if ondevice.skipped() then return end
  local DEV = ondevice.device
  local L = torch.linalg
  local function mT(x) return x:transpose(-2, -1) end
  local check = ondevice.check

  it('geqrf, householder_product, ormqr in every mode', function()
    for _, dtype in ipairs({ 'float32', 'float64' }) do
      local tol = dtype == 'float32' and 2e-4 or 1e-11
      for _, size in ipairs({ { 6, 4 }, { 3, 5, 5 }, { 2, 3, 6 }, { 0, 4, 3 } }) do
        local a = torch.randn(size, { dtype = dtype })
        check('geqrf ' .. dtype, function(x) return torch.geqrf(x) end, { a }, tol)
        check('geqrf transposed ' .. dtype, function(x) return torch.geqrf(mT(x)) end, { a }, tol)
      end
      local a, tau = torch.randn(2, 6, 4, { dtype = dtype }), torch.randn(2, 3, { dtype = dtype })
      check('householder_product ' .. dtype, function(x, t)
        return L.householder_product(x, t), L.householder_product(x, t:narrow(-1, 1, 0)),
               L.householder_product(mT(x):narrow(-1, 1, 4), t)
      end, { a, tau }, tol)
      local c = torch.randn(2, 6, 5, { dtype = dtype })
      for _, left in ipairs({ true, false }) do
        for _, transpose in ipairs({ false, true }) do
          check('ormqr ' .. dtype, function(x, t, y)
            return torch.ormqr(x, t, left and y or mT(y), left, transpose)
          end, { a, tau, c }, tol * 10)
        end
      end
    end
  end)

  it('ldl_factor(_ex) with its infos, ldl_solve with broadcast batches, and bad pivots', function()
    for _, dtype in ipairs({ 'float32', 'float64' }) do
      local tol = dtype == 'float32' and 2e-3 or 1e-9
      local blocks = torch.tensor({ { 0, 1, 2 }, { 1, 0, 3 }, { 2, 3, 0 } }, { dtype = dtype })
      -- (the last two: cuSOLVER's own infos for them were 2 and 0, where LAPACK's are 1 and 1)
      local a = torch.stack({ sym({ 3, 3 }, dtype) + torch.eye(3, { dtype = dtype }) * 6, blocks,
                              torch.zeros(3, 3, { dtype = dtype }), torch.diag(torch.tensor({ 0, 2, 1 }, { dtype = dtype })) })
      check('ldl_factor_ex ' .. dtype, function(x) return L.ldl_factor_ex(x) end, { a }, tol)
      local s = sym({ 2, 5, 5 }, dtype) + torch.eye(5, { dtype = dtype }) * 8
      check('ldl_factor, ldl_solve ' .. dtype, function(x, b)
        local ld, piv = L.ldl_factor(x)
        return ld, piv, L.ldl_solve(ld, piv, b), L.ldl_solve(ld[1], piv[1], mT(b))
      end, { s, torch.randn(3, 1, 5, 5, { dtype = dtype }) }, tol)
    end
    local ld, piv = L.ldl_factor(torch.eye(3):to(DEV))
    assert.matches("linalg.ldl_solve: pivot 1 of the pivots %[3%] is not one of linalg.ldl_factor's", message(function()
      return L.ldl_solve(ld, torch.tensor({ 4, 2, 3 }, { dtype = 'int32' }):to(DEV), torch.randn(3, 1):to(DEV))
    end))
    assert.matches('linalg.ldl_factor: D%[3,3%] of the LDL factorisation of the input %[3 x 3%] is zero', message(function()
      return L.ldl_factor(torch.diag(torch.tensor({ 1, 2, 0 }, { dtype = 'float32' })):to(DEV))
    end))
  end)
end)
