-- tensor.linalg_solvers against PyTorch: lu_factor(_ex), lu, lu_unpack, lu_solve (and torch.lu, torch.lu_solve),
-- solve_triangular and triangular_solve, cholesky_solve and cholesky_inverse, the *_ex forms, lstsq with every
-- driver, matrix_exp, vecdot, tensorinv, tensorsolve, pinverse, chain_matmul, matrix_power: float32 and float64,
-- batches (broadcast where PyTorch broadcasts), transposed inputs, empty matrices; errors naming the function;
-- gradients by gradcheck in float64 and against PyTorch's.
local torch = require 'tensor'
local ref = require 'helpers.torchref'
local message = require 'helpers.failure'

torch.manual_seed(4242)

local matrices = require 'helpers.matrices'
local wellcond, spd = matrices.wellcond, matrices.spd
local function tol(dtype, n) return matrices.tol(dtype, n, 300) end

local function triangular(size, dtype, upper)
  local n = size[#size]
  local t = torch.randn(size, { dtype = dtype }) + torch.eye(n, { dtype = dtype }) * (n + 2)
  local other = torch.randn(size, { dtype = dtype }) * 1000
  if upper then return t:triu() + other:tril(-1) end
  return t:tril() + other:triu(1)
end

local cases = {}
local function case(name, fn, python, inputs, tolerance)
  cases[#cases + 1] = { name = name, fn = fn, python = python, inputs = inputs, tol = tolerance }
end
local NAMES = { 'a', 'b', 'c' }

local function list(...) return { ... } end

for _, dtype in ipairs({ 'float32', 'float64' }) do
  local t = tol(dtype, 6)
  -- LU
  for _, size in ipairs({ { 4, 4 }, { 3, 5, 5 }, { 6, 4 }, { 4, 6 }, { 2, 1, 3, 3 }, { 0, 0 }, { 0, 3, 3 }, { 3, 0 } }) do
    local label = table.concat(size, 'x')
    case('lu_factor ' .. dtype .. ' ' .. label, function(a) return list(torch.linalg.lu_factor(a)) end,
         'out = list(torch.linalg.lu_factor(a))', { wellcond(size, dtype) }, t)
    case('lu ' .. dtype .. ' ' .. label, function(a) return list(torch.linalg.lu(a)) end,
         'out = list(torch.linalg.lu(a))', { wellcond(size, dtype) }, t)
  end
  case('lu_factor transposed ' .. dtype, function(a) return list(torch.linalg.lu_factor(a:t())) end,
       'out = list(torch.linalg.lu_factor(a.t()))', { wellcond({ 5, 5 }, dtype) }, t)
  case('lu_factor_ex singular batch ' .. dtype, function(a) return list(torch.linalg.lu_factor_ex(a)) end,
       'out = list(torch.linalg.lu_factor_ex(a))',
       { torch.stack({ torch.tensor({ { 1, 2, 3 }, { 2, 4, 6 }, { 1, 0, 1 } }, { dtype = dtype }),
                       wellcond({ 3, 3 }, dtype) }) }, t)
  case('torch.lu get_infos ' .. dtype, function(a) return list(torch.lu(a, { get_infos = true })) end,
       'out = list(torch.lu(a, get_infos=True))', { wellcond({ 2, 4, 4 }, dtype) }, t)
  case('Tensor:lu ' .. dtype, function(a) return list(a:lu()) end, 'out = list(a.lu())', { wellcond({ 4, 4 }, dtype) }, t)
  case('lu_unpack without data ' .. dtype, function(a)
    local lu, piv = torch.linalg.lu_factor(a)
    return list(torch.lu_unpack(lu, piv, false))
  end, 'out = list(torch.lu_unpack(*torch.linalg.lu_factor(a), unpack_data=False))', { wellcond({ 2, 4, 4 }, dtype) }, t)
  case('lu_unpack without pivots ' .. dtype, function(a)
    local lu, piv = torch.linalg.lu_factor(a)
    return list(torch.lu_unpack(lu, piv, { unpack_pivots = false }))
  end, 'out = list(torch.lu_unpack(*torch.linalg.lu_factor(a), unpack_pivots=False))', { wellcond({ 5, 3 }, dtype) }, t)
  for _, left in ipairs({ true, false }) do
    for _, adjoint in ipairs({ false, true }) do
      local opts = string.format('left=%s, adjoint=%s', left and 'True' or 'False', adjoint and 'True' or 'False')
      case('lu_solve ' .. opts .. ' ' .. dtype, function(a, b)
        local lu, piv = torch.linalg.lu_factor(a)
        return torch.linalg.lu_solve(lu, piv, b, { left = left, adjoint = adjoint })
      end, 'out = torch.linalg.lu_solve(*torch.linalg.lu_factor(a), b, ' .. opts .. ')',
           { wellcond({ 2, 4, 4 }, dtype), torch.randn(left and { 2, 4, 3 } or { 2, 3, 4 }, { dtype = dtype }) }, t)
    end
  end
  case('lu_solve broadcast ' .. dtype, function(a, b)
    local lu, piv = torch.linalg.lu_factor(a)
    return torch.linalg.lu_solve(lu, piv, b)
  end, 'out = torch.linalg.lu_solve(*torch.linalg.lu_factor(a), b)',
       { wellcond({ 2, 1, 4, 4 }, dtype), torch.randn(3, 4, 2, { dtype = dtype }) }, t)
  case('lu_solve transposed B ' .. dtype, function(a, b)
    local lu, piv = torch.linalg.lu_factor(a)
    return torch.linalg.lu_solve(lu, piv, b:t())
  end, 'out = torch.linalg.lu_solve(*torch.linalg.lu_factor(a), b.t())',
       { wellcond({ 5, 5 }, dtype), torch.randn(3, 5, { dtype = dtype }) }, t)
  case('torch.lu_solve and x:lu_solve ' .. dtype, function(a, b)
    local lu, piv = torch.lu(a)
    return list(torch.lu_solve(b, lu, piv), b:lu_solve(lu, piv))
  end, 'LU, p = torch.lu(a); out = [torch.lu_solve(b, LU, p), b.lu_solve(LU, p)]',
       { wellcond({ 3, 3 }, dtype), torch.randn(3, 2, { dtype = dtype }) }, t)
  -- triangular
  for _, upper in ipairs({ true, false }) do
    for _, left in ipairs({ true, false }) do
      for _, unit in ipairs({ false, true }) do
        local opts = string.format('upper=%s, left=%s, unitriangular=%s', upper and 'True' or 'False',
                                   left and 'True' or 'False', unit and 'True' or 'False')
        case('solve_triangular ' .. opts .. ' ' .. dtype, function(a, b)
          return torch.linalg.solve_triangular(a, b, { upper = upper, left = left, unitriangular = unit })
        end, 'out = torch.linalg.solve_triangular(a, b, ' .. opts .. ')',
             { triangular({ 2, 4, 4 }, dtype, upper), torch.randn(left and { 2, 4, 3 } or { 2, 3, 4 }, { dtype = dtype }) },
             t)
      end
    end
  end
  case('solve_triangular broadcast, transposed A ' .. dtype, function(a, b)
    return torch.linalg.solve_triangular(a:t(), b, { upper = true })
  end, 'out = torch.linalg.solve_triangular(a.t(), b, upper=True)',
       { triangular({ 4, 4 }, dtype, false), torch.randn(3, 4, 2, { dtype = dtype }) }, t)
  case('solve_triangular empty ' .. dtype, function(a, b) return torch.linalg.solve_triangular(a, b, { upper = false }) end,
       'out = torch.linalg.solve_triangular(a, b, upper=False)', { torch.randn(0, 3, 3, { dtype = dtype }),
                                                                 torch.randn(0, 3, 2, { dtype = dtype }) }, t)
  for _, flags in ipairs({ { true, false, false }, { false, true, false }, { true, true, true } }) do
    local py = string.format('upper=%s, transpose=%s, unitriangular=%s', flags[1] and 'True' or 'False',
                             flags[2] and 'True' or 'False', flags[3] and 'True' or 'False')
    case('triangular_solve ' .. py .. ' ' .. dtype, function(b, a)
      return list(torch.triangular_solve(b, a, flags[1], flags[2], flags[3]))
    end, 'out = list(torch.triangular_solve(a, b, ' .. py .. '))',
         { torch.randn(2, 4, 3, { dtype = dtype }), triangular({ 4, 4 }, dtype, flags[1]) }, t)
  end
  case('x:triangular_solve with options ' .. dtype, function(b, a)
    return list(b:triangular_solve(a, { upper = false }))
  end, 'out = list(a.triangular_solve(b, upper=False))', { torch.randn(4, 2, { dtype = dtype }),
                                                          triangular({ 4, 4 }, dtype, false) }, t)
  -- Cholesky
  case('cholesky_solve lower, broadcast ' .. dtype, function(b, a)
    return torch.cholesky_solve(b, torch.linalg.cholesky(a))
  end, 'out = torch.cholesky_solve(a, torch.linalg.cholesky(b))', { torch.randn(2, 4, 3, { dtype = dtype }),
                                                                    spd({ 4, 4 }, dtype) }, t)
  case('cholesky_solve upper ' .. dtype, function(b, a)
    return b:cholesky_solve(torch.linalg.cholesky(a, { upper = true }), true)
  end, 'out = a.cholesky_solve(torch.linalg.cholesky(b, upper=True), True)', { torch.randn(3, 4, 3, { dtype = dtype }),
                                                                               spd({ 3, 4, 4 }, dtype) }, t)
  case('cholesky_inverse ' .. dtype, function(a) return torch.cholesky_inverse(torch.linalg.cholesky(a)) end,
       'out = torch.cholesky_inverse(torch.linalg.cholesky(a))', { spd({ 2, 5, 5 }, dtype) }, tol(dtype, 30))
  case('cholesky_inverse upper ' .. dtype, function(a)
    return torch.linalg.cholesky(a, { upper = true }):cholesky_inverse(true)
  end, 'out = torch.linalg.cholesky(a, upper=True).cholesky_inverse(True)', { spd({ 5, 5 }, dtype) }, tol(dtype, 30))
  case('cholesky_inverse empty ' .. dtype, function(a) return torch.cholesky_inverse(a) end,
       'out = torch.cholesky_inverse(a)', { torch.zeros(0, 0, { dtype = dtype }) }, t)
  -- the *_ex forms
  local bad = torch.stack({ spd({ 3, 3 }, dtype), -torch.eye(3, { dtype = dtype }) })
  case('cholesky_ex ' .. dtype, function(a) return list(torch.linalg.cholesky_ex(a)) end,
       'out = list(torch.linalg.cholesky_ex(a))', { bad }, t)
  case('cholesky_ex upper ' .. dtype, function(a) return list(torch.linalg.cholesky_ex(a, { upper = true })) end,
       'out = list(torch.linalg.cholesky_ex(a, upper=True))', { spd({ 4, 4 }, dtype) }, t)
  local singular = torch.stack({ wellcond({ 3, 3 }, dtype), torch.tensor({ { 1, 2, 3 }, { 2, 4, 6 }, { 0, 1, 1 } }, { dtype = dtype }) })
  -- (the order of the zero pivot in info is the LAPACK factorisation's: PyTorch factorises A^T here, so only
  -- whether it is 0 is compared)
  case('inv_ex ' .. dtype, function(a)
    local inv, info = torch.linalg.inv_ex(a)
    return list(inv[1], info:ne(0), inv[2]:isnan():all())
  end, 'inv, info = torch.linalg.inv_ex(a); out = [inv[0], info.ne(0), True]', { singular }, t)
  case('solve_ex ' .. dtype, function(a, b)
    local x, info = torch.linalg.solve_ex(a, b)
    return list(x[1], info:ne(0))
  end, 'x, info = torch.linalg.solve_ex(a, b); out = [x[0], info.ne(0)]', { singular, torch.randn(3, { dtype = dtype }) }, t)
  case('solve_ex broadcast B, left=false ' .. dtype, function(a, b)
    return list(torch.linalg.solve_ex(a, b, { left = false }))
  end, 'out = list(torch.linalg.solve_ex(a, b, left=False))', { wellcond({ 4, 4 }, dtype),
                                                               torch.randn(3, 2, 4, { dtype = dtype }) }, t)
  -- least squares
  local lt = tol(dtype, 40)
  for _, driver in ipairs({ 'gels', 'gelsy', 'gelsd', 'gelss' }) do
    for _, shape in ipairs({ { { 6, 3 }, { 6, 2 } }, { { 3, 5 }, { 3, 2 } }, { { 2, 5, 3 }, { 2, 5 } }, { { 2, 6, 4 }, { 1, 6, 3 } } }) do
      local label = string.format('%s [%s] [%s] %s', driver, table.concat(shape[1], 'x'), table.concat(shape[2], 'x'), dtype)
      case('lstsq ' .. label, function(a, b)
        local r = torch.linalg.lstsq(a, b, { driver = driver })
        return list(r.solution, r.residuals, r.rank, r.singular_values)
      end, string.format("out = list(torch.linalg.lstsq(a, b, driver='%s'))", driver),
           { torch.randn(shape[1], { dtype = dtype }), torch.randn(shape[2], { dtype = dtype }) }, lt)
    end
  end
  local deficient = torch.randn(6, 2, { dtype = dtype }):matmul(torch.randn(2, 4, { dtype = dtype }))
  for _, driver in ipairs({ 'gelsy', 'gelsd', 'gelss' }) do
    case('lstsq rank-deficient ' .. driver .. ' ' .. dtype, function(a, b)
      local r = torch.linalg.lstsq(a, b, nil, { driver = driver })
      return list(r.solution, r.residuals, r.rank)
    end, string.format("r = torch.linalg.lstsq(a, b, driver='%s'); out = [r.solution, r.residuals, r.rank]", driver),
         { deficient, torch.randn(6, 2, { dtype = dtype }) }, tol(dtype, 1000))
  end
  case('lstsq rcond, transposed A ' .. dtype, function(a, b)
    local r = torch.linalg.lstsq(a:t(), b, 0.5, { driver = 'gelsd' })
    return list(r.solution, r.rank, r.singular_values)
  end, "r = torch.linalg.lstsq(a.t(), b, 0.5, driver='gelsd'); out = [r.solution, r.rank, r.singular_values]",
       { torch.randn(3, 5, { dtype = dtype }), torch.randn(5, 2, { dtype = dtype }) }, lt)
  case('lstsq default driver, empty ' .. dtype, function(a, b)
    local r = torch.linalg.lstsq(a, b)
    return list(r.solution, r.rank)
  end, 'r = torch.linalg.lstsq(a, b); out = [r.solution, r.rank]', { torch.randn(0, 4, 3, { dtype = dtype }),
                                                                       torch.randn(0, 4, 2, { dtype = dtype }) }, lt)
  -- matrix_exp: both sides err by a few eps times the largest element (mpmath agrees with this one to 5e-15)
  local function exp_tol(a)
    local big = torch.no_grad(function() return torch.linalg.matrix_exp(a):abs():max() end)
    return { atol = tol(dtype, 30).atol * big, rtol = tol(dtype, 30).rtol }
  end
  for _, scale in ipairs({ 0.1, 1, 20 }) do
    local a = torch.randn(5, 5, { dtype = dtype }) * scale
    case('matrix_exp scale ' .. scale .. ' ' .. dtype, torch.linalg.matrix_exp, 'out = torch.linalg.matrix_exp(a)',
         { a }, exp_tol(a))
  end
  local spread = torch.randn(3, 4, 4, { dtype = dtype }) * torch.tensor({ 0.01, 1, 8 }, { dtype = dtype }):view(3, 1, 1)
  case('matrix_exp batch of different norms ' .. dtype, function(a) return a:matrix_exp() end, 'out = a.matrix_exp()',
       { spread }, exp_tol(spread))
  case('matrix_exp transposed, 1x1, zeros, empty ' .. dtype, function(a, b, c)
    return list(torch.matrix_exp(a:t()), torch.matrix_exp(b), torch.matrix_exp(c), torch.matrix_exp(c:narrow(1, 1, 0)))
  end, 'out = [torch.matrix_exp(a.t()), torch.matrix_exp(b), torch.matrix_exp(c), torch.matrix_exp(c[:0])]',
       { torch.randn(4, 4, { dtype = dtype }), torch.randn(2, 1, 1, { dtype = dtype }), torch.zeros(2, 3, 3, { dtype = dtype }) },
       tol(dtype, 10))
  -- the smaller functions
  case('pinverse rcond ' .. dtype, function(a) return list(torch.pinverse(a), a:pinverse(0.3)) end,
       'out = [torch.pinverse(a), a.pinverse(0.3)]', { torch.randn(2, 5, 3, { dtype = dtype }) }, tol(dtype, 30))
  case('vecdot ' .. dtype, function(a, b)
    return list(torch.linalg.vecdot(a, b), torch.linalg.vecdot(a, b, { dim = 1 }), torch.linalg.vecdot(a:t(), b:t(), -2))
  end, 'out = [torch.linalg.vecdot(a, b), torch.linalg.vecdot(a, b, dim=0), torch.linalg.vecdot(a.t(), b.t(), dim=-2)]',
       { torch.randn(3, 4, { dtype = dtype }), torch.randn(1, 4, { dtype = dtype }) }, t)
  case('tensorinv ' .. dtype, function(a, b)
    return list(torch.linalg.tensorinv(a), torch.linalg.tensorinv(b, { ind = 1 }))
  end, 'out = [torch.linalg.tensorinv(a), torch.linalg.tensorinv(b, ind=1)]',
       { wellcond({ 6, 6 }, dtype):reshape(2, 3, 6), wellcond({ 4, 4 }, dtype):reshape(4, 2, 2) }, t)
  case('tensorsolve ' .. dtype, function(a, b, c)
    return list(torch.linalg.tensorsolve(a, b), torch.linalg.tensorsolve(c, b, { dims = { 1 } }))
  end, 'out = [torch.linalg.tensorsolve(a, b), torch.linalg.tensorsolve(c, b, dims=(0,))]',
       { wellcond({ 6, 6 }, dtype):reshape(2, 3, 6), torch.randn(2, 3, { dtype = dtype }),
         wellcond({ 6, 6 }, dtype):reshape(2, 3, 6):permute(3, 1, 2) }, t)
  case('chain_matmul and matrix_power ' .. dtype, function(a, b, c)
    return list(torch.chain_matmul(a, b, c), torch.chain_matmul({ a, b }), torch.chain_matmul(a), torch.matrix_power(c, 3),
                c:matrix_power(-2))
  end, 'out = [torch.chain_matmul(a, b, c), torch.chain_matmul(a, b), torch.chain_matmul(a), torch.matrix_power(c, 3), c.matrix_power(-2)]',
       { torch.randn(2, 3, { dtype = dtype }), torch.randn(3, 4, { dtype = dtype }), wellcond({ 4, 4 }, dtype) }, tol(dtype, 30))
end

describe('the LU, triangular, Cholesky and least-squares solvers match PyTorch', function()
  local batch = {}
  for i, cs in ipairs(cases) do
    local inputs = {}
    for j, v in ipairs(cs.inputs) do inputs[NAMES[j]] = v end
    batch[i] = { 'import warnings; warnings.filterwarnings("ignore")\n' .. cs.python, inputs }
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
          assert.are.equal(expected[j], got[j])
        else
          local ok, msg = ref.compare(got[j], expected[j], cs.tol)
          assert(ok, 'result ' .. j .. ': ' .. tostring(msg))
        end
      end
    end)
  end
end)

describe('the solvers satisfy their equations', function()
  it('P L U = A, and lu_solve solves with it, for every batch shape', function()
    for _, size in ipairs({ { 5, 5 }, { 3, 7, 4 }, { 2, 4, 7 } }) do
      local a = torch.randn(size, { dtype = 'float64' })
      local p, l, u = torch.linalg.lu(a)
      assert.is_true((p:matmul(l):matmul(u) - a):abs():max() < 1e-12)
    end
    local a = wellcond({ 3, 6, 6 }, 'float64')
    local lu, piv = torch.linalg.lu_factor(a)
    local b = torch.randn(3, 6, 2, { dtype = 'float64' })
    assert.is_true((a:matmul(torch.linalg.lu_solve(lu, piv, b)) - b):abs():max() < 1e-12)
  end)

  it('writes lu_solve, solve_triangular and cholesky_solve into out=', function()
    local a = triangular({ 4, 4 }, 'float64', true)
    local b = torch.randn(4, 2, { dtype = 'float64' })
    local o = torch.zeros(1, { dtype = 'float64' })
    local r = torch.linalg.solve_triangular(a, b, { upper = true, out = o })
    assert.are.equal(o, r)
    assert.is_true((a:triu():matmul(o) - b):abs():max() < 1e-12)
    local lu, piv = torch.linalg.lu_factor(wellcond({ 4, 4 }, 'float64'))
    local o2 = torch.zeros(4, 2, { dtype = 'float64' })
    torch.linalg.lu_solve(lu, piv, b, { out = o2 })
    assert.is_true((o2 - torch.linalg.lu_solve(lu, piv, b)):abs():max() == 0)
  end)

  it('lstsq gives least-squares solutions whose residuals are the reported ones', function()
    local a, b = torch.randn(8, 3, { dtype = 'float64' }), torch.randn(8, 2, { dtype = 'float64' })
    local r = torch.linalg.lstsq(a, b, { driver = 'gelsd' })
    local res = (a:matmul(r.solution) - b):pow(2):sum(1)
    assert.is_true((res - r.residuals):abs():max() < 1e-10)
    -- the normal equations hold
    assert.is_true(a:t():matmul(a:matmul(r.solution) - b):abs():max() < 1e-10)
    assert.are.same({ 0 }, torch.linalg.lstsq(a, b).residuals:shape()) -- gelsy leaves them empty
  end)
end)

describe('the solvers refuse bad input, naming the function', function()
  it('singular and non-positive-definite matrices, unless _ex', function()
    local singular = torch.tensor({ { 1, 2 }, { 2, 4 } }, { dtype = 'float64' })
    assert.matches('linalg.lu_factor: U%[2,2%] of the LU factorisation of the input %[2 x 2%] is zero',
                   message(function() return torch.linalg.lu_factor(singular) end))
    local batch = torch.stack({ torch.eye(2, { dtype = 'float64' }), singular, singular })
    assert.matches('linalg.lu_factor: U%[2,2%] of the LU factorisation of matrix 2 of the batch %[3 x 2 x 2%]',
                   message(function() return torch.linalg.lu_factor(batch) end))
    assert.matches('linalg.lu_factor_ex: U%[2,2%] of the LU factorisation of matrix 2 of the batch',
                   message(function() return torch.linalg.lu_factor_ex(batch, { check_errors = true }) end))
    assert.matches('linalg.inv_ex: matrix 2 of the batch %[3 x 2 x 2%] is singular',
                   message(function() return torch.linalg.inv_ex(batch, { check_errors = true }) end))
    assert.matches('linalg.solve_ex: the input %[2 x 2%] is singular',
                   message(function() return torch.linalg.solve_ex(singular, torch.ones(2, { dtype = 'float64' }),
                                                                   { check_errors = true }) end))
    assert.matches('linalg.cholesky_ex: the input %[2 x 2%] is not positive%-definite %(its leading minor of order 2',
                   message(function() return torch.linalg.cholesky_ex(singular, { check_errors = true }) end))
    assert.matches('linalg.lstsq: the input %[2 x 2%] does not have full rank',
                   message(function() return torch.linalg.lstsq(torch.tensor({ { 1, 0 }, { 2, 0 } }, { dtype = 'float64' }),
                                                                torch.ones(2, 1, { dtype = 'float64' }), { driver = 'gels' }) end))
    local p, l, u = torch.linalg.lu(singular) -- no error
    assert.is_true((p:matmul(l):matmul(u) - singular):abs():max() == 0)
  end)

  it('wrong dtypes, shapes, pivots and options', function()
    local a, b = torch.randn(3, 3), torch.randn(3, 2)
    local lu, piv = torch.linalg.lu_factor(a)
    assert.matches('linalg.lu_factor: expected float32 or float64 matrices for A, got int64',
                   message(function() return torch.linalg.lu_factor(torch.ones(3, 3, { dtype = 'int64' })) end))
    assert.matches('linalg.lu_factor: expected a matrix or a batch of matrices for A %(at least 2 dimensions%), got %[3%]',
                   message(function() return torch.linalg.lu_factor(torch.randn(3)) end))
    assert.matches('linalg.lu_factor: LU without pivoting is not available on the CPU',
                   message(function() return torch.linalg.lu_factor(a, { pivot = false }) end))
    assert.matches('linalg.lu_solve: expected int32 pivots %(as linalg.lu_factor returns them%), got int64',
                   message(function() return torch.linalg.lu_solve(lu, piv:long(), b) end))
    assert.matches('linalg.lu_solve: pivot 2 of the pivots %[3%] is outside 1..3',
                   message(function() return torch.linalg.lu_solve(lu, torch.tensor({ 1, 7, 3 }, { dtype = 'int32' }), b) end))
    assert.matches('linalg.lu_solve: LU %[3 x 3%] and B %[4 x 2%] do not fit the equation A X = B',
                   message(function() return torch.linalg.lu_solve(lu, piv, torch.randn(4, 2)) end))
    assert.matches('linalg.lu_solve: LU %[3 x 3%] and B %[3%] do not fit',
                   message(function() return torch.linalg.lu_solve(lu, piv, torch.randn(3)) end))
    assert.matches('linalg.lu_solve: expected pivots of LU\'s shape without its last dim, got LU %[3 x 3%] and pivots %[2%]',
                   message(function() return torch.linalg.lu_solve(lu, piv:narrow(1, 1, 2), b) end))
    assert.matches('linalg.lu_solve: expected LU and B of one dtype, got float32 and float64',
                   message(function() return torch.linalg.lu_solve(lu, piv, b:double()) end))
    assert.matches('lu_unpack: pivot 1 of row 2 of the pivots %[2 x 3%] is outside 1..3', message(function()
      return torch.lu_unpack(torch.randn(2, 3, 3), torch.tensor({ { 1, 2, 3 }, { 0, 2, 3 } }, { dtype = 'int32' }))
    end))
    assert.matches('lu_unpack: the pivots %[2%] do not fit LU %[3 x 3%]',
                   message(function() return torch.lu_unpack(lu, piv:narrow(1, 1, 2)) end))
    assert.matches('lu_solve: LU %[3 x 3%] and B %[4 x 2%] do not fit',
                   message(function() return torch.lu_solve(torch.randn(4, 2), lu, piv) end))
    assert.matches('linalg.solve_triangular: the option upper %(true or false%) is required',
                   message(function() return torch.linalg.solve_triangular(a, b) end))
    assert.matches('linalg.solve_triangular: unknown option uper',
                   message(function() return torch.linalg.solve_triangular(a, b, { uper = true }) end))
    assert.matches('linalg.solve_triangular: A %[3 x 3%] and B %[3 x 2%] do not fit the equation X A = B',
                   message(function() return torch.linalg.solve_triangular(a, b, { upper = true, left = false }) end))
    assert.matches('linalg.solve_triangular: the batch dimensions of A %[2 x 3 x 3%] and B %[4 x 3 x 2%] do not broadcast',
                   message(function() return torch.linalg.solve_triangular(torch.randn(2, 3, 3), torch.randn(4, 3, 2), { upper = true }) end))
    assert.matches('triangular_solve: expected square matrices for A, got %[3 x 2%]',
                   message(function() return torch.triangular_solve(b, b) end))
    assert.matches('triangular_solve: A %[3 x 3%] and B %[4 x 2%] do not fit',
                   message(function() return torch.triangular_solve(torch.randn(4, 2), a) end))
    assert.matches('cholesky_solve: expected L and B of one dtype, got float32 and int64',
                   message(function() return torch.cholesky_solve(torch.ones(3, 2, { dtype = 'int64' }), a) end))
    assert.matches('cholesky_solve: upper must be true or false, got 1',
                   message(function() return torch.cholesky_solve(b, a, 1) end))
    assert.matches('cholesky_inverse: expected square matrices for L, got %[3 x 2%]',
                   message(function() return torch.cholesky_inverse(b) end))
    assert.matches("linalg.lstsq: driver must be 'gels', 'gelsy', 'gelsd' or 'gelss', got gelsx",
                   message(function() return torch.linalg.lstsq(a, b, { driver = 'gelsx' }) end))
    assert.matches('linalg.lstsq: A %[3 x 3%] and B %[4 x 2%] do not fit',
                   message(function() return torch.linalg.lstsq(a, torch.randn(4, 2)) end))
    assert.matches('linalg.lstsq: A %[2 x 5 x 3%] and B %[5 x 2%] do not fit',
                   message(function() return torch.linalg.lstsq(torch.randn(2, 5, 3), torch.randn(5, 2)) end))
    assert.matches('linalg.matrix_exp: expected square matrices for A, got %[3 x 2%]',
                   message(function() return torch.linalg.matrix_exp(b) end))
    assert.matches('matrix_exp: expected float32 or float64 matrices for A, got int64',
                   message(function() return torch.matrix_exp(torch.ones(2, 2, { dtype = 'int64' })) end))
    assert.matches('linalg.vecdot: expected floating%-point tensors, got int64',
                   message(function() return torch.linalg.vecdot(torch.ones(3, { dtype = 'int64' }), torch.ones(3)) end))
    assert.matches('linalg.vecdot: dimension 3 out of range for a tensor of 2 dimensions',
                   message(function() return torch.linalg.vecdot(a, a, 3) end))
    assert.matches('linalg.tensorinv: the product of the first 2 dims of %[2 x 3 x 4%] %(6%) must equal that of the others %(4%)',
                   message(function() return torch.linalg.tensorinv(torch.randn(2, 3, 4)) end))
    assert.matches('linalg.tensorsolve: A %[2 x 3 x 5%] must start with the shape of B %[2 x 3%]',
                   message(function() return torch.linalg.tensorsolve(torch.randn(2, 3, 5), torch.randn(2, 3)) end))
    assert.matches('chain_matmul: expected 2%-d matrices, got %[3%] for matrix 2',
                   message(function() return torch.chain_matmul(a, torch.randn(3)) end))
    assert.matches('pinverse: rcond must be a number, got x',
                   message(function() return torch.pinverse(a, 'x') end))
    assert.matches('matrix_power: expected square matrices',
                   message(function() return torch.matrix_power(b, 2) end))
  end)
end)

describe('gradients of the solvers', function()
  local gradcheck = torch.autograd.gradcheck
  local function R(...) return torch.randn(...):double():requires_grad_() end
  local function W(n, ...) -- well-conditioned, requiring grad
    local size = { ... }
    size[#size + 1] = n
    size[#size + 1] = n
    return (torch.randn(size):double() + torch.eye(n):double() * n):requires_grad_()
  end

  it('pass gradcheck for lu_factor, lu and lu_unpack (square, tall and wide)', function()
    for _, a in ipairs({ W(4), W(3, 2), R(5, 3), R(3, 5) }) do
      assert.is_true(gradcheck(function(x) return (torch.linalg.lu_factor(x)) end, { a }))
      assert.is_true(gradcheck(function(x)
        local _, l, u = torch.linalg.lu(x)
        return l, u
      end, { a }))
      assert.is_true(gradcheck(function(x) return (torch.linalg.lu_factor_ex(x)) end, { a }))
    end
  end)

  it('pass gradcheck for lu_solve in every mode, with broadcast batches', function()
    for _, left in ipairs({ true, false }) do
      for _, adjoint in ipairs({ false, true }) do
        local b = left and R(2, 3, 2) or R(2, 2, 3)
        assert.is_true(gradcheck(function(a, y)
          local lu, piv = torch.linalg.lu_factor(a)
          return torch.linalg.lu_solve(lu, piv, y, { left = left, adjoint = adjoint })
        end, { W(3), b }))
      end
    end
  end)

  it('pass gradcheck for solve_triangular, triangular_solve, cholesky_solve and cholesky_inverse', function()
    for _, upper in ipairs({ true, false }) do
      for _, left in ipairs({ true, false }) do
        for _, unit in ipairs({ false, true }) do
          local a = W(3, 2)
          local b = left and R(3, 2) or R(2, 3)
          assert.is_true(gradcheck(function(x, y)
            return torch.linalg.solve_triangular(x, y, { upper = upper, left = left, unitriangular = unit })
          end, { a, b }))
        end
      end
    end
    assert.is_true(gradcheck(function(y, x) return (torch.triangular_solve(y, x, false, true)) end, { R(3, 2), W(3) }))
    -- L as a function of a free matrix (cholesky_solve reads only its triangle)
    local function factor(x, upper)
      local l = x:tril(-1) + torch.diag_embed(x:diagonal(0, -2, -1):exp())
      return upper and l:transpose(-2, -1) or l
    end
    for _, upper in ipairs({ false, true }) do
      assert.is_true(gradcheck(function(y, x) return torch.cholesky_solve(y, factor(x, upper), upper) end, { R(2, 3, 2), R(3, 3) }))
      assert.is_true(gradcheck(function(x) return torch.cholesky_inverse(factor(x, upper), upper) end, { R(2, 3, 3) }))
    end
  end)

  it('pass gradcheck for the _ex forms, matrix_exp and lstsq', function()
    assert.is_true(gradcheck(function(x) return (torch.linalg.inv_ex(x)) end, { W(3, 2) }))
    assert.is_true(gradcheck(function(x, y) return (torch.linalg.solve_ex(x, y)) end, { W(3), R(3, 2) }))
    assert.is_true(gradcheck(function(x)
      return (torch.linalg.cholesky_ex(x:matmul(x:t()) + torch.eye(3):double()))
    end, { R(3, 3) }))
    assert.is_true(gradcheck(torch.linalg.matrix_exp, { R(3, 3) }))
    assert.is_true(gradcheck(torch.linalg.matrix_exp, { (torch.randn(2, 3, 3):double() * torch.tensor({ 0.1, 10 }):double():view(2, 1, 1)):requires_grad_() }))
    for _, driver in ipairs({ 'gels', 'gelsy', 'gelsd' }) do
      for _, shape in ipairs({ { 5, 3 }, { 3, 5 } }) do
        assert.is_true(gradcheck(function(x, y) return torch.linalg.lstsq(x, y, { driver = driver }).solution end,
                                 { R(unpack(shape)), R(shape[1], 2) }))
      end
    end
    assert.is_true(gradcheck(function(x, y) return torch.linalg.lstsq(x, y).solution end, { R(5, 3), R(5) }))
  end)

  it('agree with PyTorch (lu, lu_solve, cholesky_solve and cholesky_inverse with a full L, matrix_exp, lstsq, pinv)', function()
    torch.manual_seed(11)
    local a, b, c = torch.randn(4, 4):double() + torch.eye(4):double() * 4, torch.randn(4, 2):double(), torch.randn(5, 3):double()
    local w, s = torch.randn(3, 5):double(), torch.randn(4, 4):double() * 2
    local d = torch.randn(5, 2):double():matmul(torch.randn(2, 3):double()) -- rank 2
    local l = torch.linalg.cholesky(a:matmul(a:t()))
    local la, lb, lc, lw, ll, ls, ld = a:clone():requires_grad_(), b:clone():requires_grad_(), c:clone():requires_grad_(),
      w:clone():requires_grad_(), l:clone():requires_grad_(), s:clone():requires_grad_(), d:clone():requires_grad_()
    local _, L, U = torch.linalg.lu(lw)
    local lu, piv = torch.linalg.lu_factor(la)
    local y = (L:sin() * 3):sum() + U:cos():sum() + torch.linalg.lu_solve(lu, piv, lb, { adjoint = true }):pow(2):sum()
              + torch.cholesky_solve(lb, ll):tanh():sum() + (torch.cholesky_inverse(ll) * lb:sum()):sum()
              + torch.linalg.matrix_exp(ls):sin():sum() + torch.linalg.lstsq(lc, lb:narrow(2, 1, 1):repeatTensor(2, 1):narrow(1, 1, 5)).solution:exp():sum()
              + torch.linalg.lstsq(ld, lc, { driver = 'gelsd' }).solution:pow(2):sum()
              + torch.linalg.solve_triangular(la, lb, { upper = true }):sin():sum()
    y:backward()
    local r = ref.run([[
import warnings; warnings.filterwarnings('ignore')
for t in (a, b, c, w, l, s, d): t.requires_grad_()
_, L, U = torch.linalg.lu(w)
lu, piv = torch.linalg.lu_factor(a)
y = (L.sin() * 3).sum() + U.cos().sum() + torch.linalg.lu_solve(lu, piv, b, adjoint=True).pow(2).sum() \
    + torch.cholesky_solve(b, l).tanh().sum() + (torch.cholesky_inverse(l) * b.sum()).sum() \
    + torch.linalg.matrix_exp(s).sin().sum() + torch.linalg.lstsq(c, b[:, :1].repeat(2, 1)[:5]).solution.exp().sum() \
    + torch.linalg.lstsq(d, c, driver='gelsd').solution.pow(2).sum() \
    + torch.linalg.solve_triangular(a, b, upper=True).sin().sum()
y.backward()
out = {'a': a.grad, 'b': b.grad, 'c': c.grad, 'w': w.grad, 'l': l.grad, 's': s.grad, 'd': d.grad}
]], { a = a, b = b, c = c, w = w, l = l, s = s, d = d })
    for name, t in pairs({ a = la, b = lb, c = lc, w = lw, l = ll, s = ls, d = ld }) do
      local ok, msg = ref.compare(t.grad, r[name], { atol = 1e-8, rtol = 1e-6 })
      assert(ok, name .. ': ' .. tostring(msg))
    end
  end)
end)

-- The CUDA kernels (cuSOLVER's getrf and getrs, cuBLAS's trsm) against the CPU. Without a CUDA device the block
-- is pending; TENSOR_CUDA_OPS_DEVICE=cpu runs it with the CPU as the device under test (a check of the block).
describe('on CUDA, the solvers agree with the CPU', function()
  local ondevice = require 'helpers.ondevice'
  if ondevice.skipped() then return end
  local DEV = ondevice.device
  local L = torch.linalg
  local function mT(x) return x:transpose(-2, -1) end
  local check = ondevice.check

  it('lu_factor, lu, lu_unpack, lu_solve, solve_triangular, cholesky_solve and the _ex forms', function()
    for _, dtype in ipairs({ 'float32', 'float64' }) do
      local tol = dtype == 'float32' and 2e-3 or 1e-9
      for _, size in ipairs({ { 5, 5 }, { 3, 4, 4 }, { 6, 3 }, { 2, 3, 6 } }) do
        local a = wellcond(size, dtype)
        check('lu_factor ' .. dtype, function(x) return L.lu_factor(x) end, { a }, tol)
        check('lu_factor transposed ' .. dtype, function(x) return L.lu_factor(mT(x)) end, { a }, tol)
        check('lu ' .. dtype, function(x) return L.lu(x) end, { a }, tol)
      end
      local a, b = wellcond({ 2, 4, 4 }, dtype), torch.randn(3, 1, 4, 2, { dtype = dtype })
      for _, left in ipairs({ true, false }) do
        for _, adjoint in ipairs({ false, true }) do
          check('lu_solve ' .. dtype, function(x, y)
            local lu, piv = L.lu_factor(x)
            return L.lu_solve(lu, piv, left and y or mT(y), { left = left, adjoint = adjoint })
          end, { a, b }, tol)
        end
      end
      for _, upper in ipairs({ true, false }) do
        for _, left in ipairs({ true, false }) do
          check('solve_triangular ' .. dtype, function(x, y)
            return L.solve_triangular(x, left and y or mT(y), { upper = upper, left = left, unitriangular = not upper })
          end, { triangular({ 2, 4, 4 }, dtype, upper), b }, tol)
        end
      end
      check('cholesky_solve, cholesky_inverse ' .. dtype, function(x, y)
        local l = L.cholesky(x)
        return torch.cholesky_solve(y, l), torch.cholesky_solve(y, mT(l), true), torch.cholesky_inverse(l)
      end, { spd({ 2, 4, 4 }, dtype), b }, tol)
      local bad = torch.stack({ spd({ 3, 3 }, dtype), torch.tensor({ { 1, 2, 0 }, { 2, 4, 0 }, { 0, 0, 1 } }, { dtype = dtype }) })
      check('cholesky_ex, inv_ex, solve_ex infos ' .. dtype, function(x)
        local _, i1 = L.cholesky_ex(x)
        local inv, i2 = L.inv_ex(x)
        local sol, i3 = L.solve_ex(x, torch.ones(3, 1, { dtype = dtype, device = x:device() }))
        return i1, i2:ne(0), i3:ne(0), inv[1], sol[1]
      end, { bad }, tol)
      check('lu_factor_ex info ' .. dtype, function(x) return select(3, L.lu_factor_ex(x)) end, { bad }, 0)
      check('matrix_exp ' .. dtype, function(x) return L.matrix_exp(x) end, { torch.randn(3, 4, 4, { dtype = dtype }) }, tol)
      check('lstsq gels ' .. dtype, function(x, y, z)
        local r1, r2 = L.lstsq(x, y, { driver = 'gels' }), L.lstsq(mT(x), z, { driver = 'gels' })
        return r1.solution, r1.residuals, r2.solution
      end, { torch.randn(2, 6, 3, { dtype = dtype }), torch.randn(2, 6, 2, { dtype = dtype }),
             torch.randn(2, 3, 2, { dtype = dtype }) }, tol * 10)
    end
  end)

  it('gradients through lu_factor, lu_solve and solve_triangular', function()
    local a, b = wellcond({ 2, 4, 4 }, 'float64'), torch.randn(2, 4, 3, { dtype = 'float64' })
    local function grads(x, y)
      x, y = x:clone():requires_grad_(), y:clone():requires_grad_()
      local lu, piv = L.lu_factor(x)
      local z = L.lu_solve(lu, piv, y):sin():sum() + L.solve_triangular(x, y, { upper = true }):cos():sum()
      z:backward()
      return x.grad, y.grad
    end
    check('gradients', grads, { a, b }, 1e-9)
  end)

  it('raises the CPU errors for bad pivots, and names the device where CUDA lacks a driver', function()
    local lu, piv = L.lu_factor(torch.randn(3, 3):to(DEV))
    assert.matches('linalg.lu_solve: pivot 2 of the pivots %[3%] is outside 1..3', message(function()
      return L.lu_solve(lu, torch.tensor({ 1, 0, 3 }, { dtype = 'int32' }):to(DEV), torch.randn(3, 1):to(DEV))
    end))
    assert.matches('lu_unpack: pivot 3 of the pivots %[3%] is outside 1..3', message(function()
      return torch.lu_unpack(lu, torch.tensor({ 1, 2, 4 }, { dtype = 'int32' }):to(DEV))
    end))
    if DEV == 'cuda' then
      assert.matches("linalg.lstsq: driver 'gelsd' is not available for tensors on cuda:0", message(function()
        return L.lstsq(torch.randn(4, 3):cuda(), torch.randn(4, 1):cuda(), { driver = 'gelsd' })
      end))
      -- without pivoting (CUDA only): P is empty and L U = A
      local a = wellcond({ 4, 4 }, 'float64'):cuda()
      local p, l, u = L.lu(a, { pivot = false })
      assert.are.equal(0, p:numel())
      assert.is_true((l:matmul(u) - a):abs():max() < 1e-12)
    end
  end)
end)
