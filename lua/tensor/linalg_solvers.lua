-- tensor.linalg_solvers: the solvers of torch.linalg beyond solve: the LU factorisation and its solver
-- (lu_factor, lu, lu_unpack, lu_solve), triangular and Cholesky solves, least squares (lstsq), the *_ex forms
-- that report failures in an info tensor, matrix_exp, and the smaller PyTorch functions around them (vecdot,
-- tensorinv, tensorsolve, pinverse, chain_matmul, matrix_power). The factorisations and solves run in C
-- (lib/ops/linalg.c); the rest is composed of differentiable ops.
local ffi = require 'ffi'
local core = require 'tensor.core'
local args = require 'tensor.args'
local dtypes = require 'tensor.dtype'

local C, wrap, Tensor, torch, mt = core.C, core.wrap, core.Tensor, core.torch, core.mt
local linalg = torch.linalg
local is_opts, argerror, raise = args.is_opts, args.argerror, core.raise

local results = ffi.new('tn_tensor*[3]')

local function c_error() core.c_error() end

local function shape_str(x) return '[' .. table.concat(x:shape(), ' x ') .. ']' end
local function mT(x) return x:transpose(-2, -1) end

local function tensor_arg(fn, x, what)
  if getmetatable(x) ~= mt then argerror(fn, 'expected a tensor for %s, got %s', what, type(x)) end
  return x
end

-- A float32/float64 matrix or batch of matrices (square ones when `square`).
local function matrices(fn, a, what, square)
  tensor_arg(fn, a, what)
  if a:dim() < 2 then
    argerror(fn, 'expected a matrix or a batch of matrices for %s (at least 2 dimensions), got %s', what, shape_str(a))
  end
  local dt = a:dtype()
  if dt ~= 'float32' and dt ~= 'float64' then
    argerror(fn, 'expected float32 or float64 matrices for %s, got %s (convert with :float() or :double())', what, dt)
  end
  if square and a:size(-1) ~= a:size(-2) then argerror(fn, 'expected square matrices for %s, got %s', what, shape_str(a)) end
  return a
end

-- The options table of fn (nil: none), refusing unknown keys.
local function options(fn, opts, names)
  if opts == nil then return {} end
  if type(opts) ~= 'table' or getmetatable(opts) ~= nil then
    argerror(fn, 'expected an options table, got %s', type(opts))
  end
  args.check_option_keys(fn, opts, names)
  return opts
end

local function flag(fn, name, v, default)
  if v == nil then return default end
  if type(v) ~= 'boolean' then argerror(fn, '%s must be true or false, got %s', name, tostring(v)) end
  return v
end

local function out_of(fn, opts)
  local out = opts.out
  if out ~= nil and getmetatable(out) ~= mt then argerror(fn, 'out must be a tensor, got %s', type(out)) end
  return out
end

-- Runs f(...) and raises its error with `from`, the name of the function it calls, replaced by fn: the old
-- PyTorch spellings report errors under their own names.
local function as(fn, from, f, ...)
  local ok, r1, r2, r3 = pcall(f, ...)
  if not ok then
    local msg = tostring(r1):gsub(from:gsub('%p', '%%%0') .. ':', (fn:gsub('%%', '%%%%')) .. ':', 1)
    raise((msg:gsub('^[^:]*:%d+: ', '')))
  end
  return r1, r2, r3
end

-- "the input [3 x 3]" or "matrix 2 of the batch [4 x 3 x 3]" for matrix i (1-based) of a.
local function which(a, i)
  if a:dim() == 2 then return 'the input ' .. shape_str(a) end
  return string.format('matrix %d of the batch %s', i, shape_str(a))
end

-- check_errors=true of the *_ex ops: the error the op without _ex raises for the first failed matrix.
-- problem(where, info) words it.
local function raise_for_infos(fn, a, info, problem)
  if info:numel() == 0 then return end
  for i, v in ipairs(info:reshape(-1):tolist()) do
    if v ~= 0 then raise(fn .. ': ' .. problem(which(a, i), v)) end
  end
end

local function singular(where, info)
  return string.format('%s is singular (U[%d,%d] of its LU factorisation is zero)', where, info, info)
end

-- ---- LU ----

--- torch.linalg.lu_factor(A, {pivot=true}) -> LU, pivots
-- The LU factorisation with partial pivoting A = P L U of an [m x n] matrix or batch [*, m, n] (float32 or
-- float64; LAPACK's getrf, cuSOLVER's on CUDA), compactly: LU holds U on and above the diagonal and L below it
-- (L's unit diagonal is implied); pivots (int32 [*, min(m, n)], 1-based as LAPACK's and PyTorch's) says that
-- row i was exchanged with row pivots[i], for i = 1, 2, ... in turn. A zero pivot (a singular matrix) raises an
-- error naming the matrix; linalg.lu_factor_ex reports it instead. pivot=false (no row exchanges) works on
-- CUDA only, as in PyTorch. Differentiable (PyTorch's formula). torch.lu_unpack expands the result, and
-- linalg.lu_solve solves with it.
-- Example: local LU, piv = torch.linalg.lu_factor(A); local x = torch.linalg.lu_solve(LU, piv, b)
function linalg.lu_factor(a, opts)
  local fn = 'linalg.lu_factor'
  matrices(fn, a, 'A')
  opts = options(fn, opts, { 'pivot' })
  local pivot = flag(fn, 'pivot', opts.pivot, true)
  if C.tn_linalg_lu_factor(a._c, pivot and 1 or 0, results, results + 1, nil) ~= 0 then c_error() end
  return wrap(results[0]), wrap(results[1])
end

--- torch.linalg.lu_factor_ex(A, {pivot=true, check_errors=false}) -> LU, pivots, info
-- linalg.lu_factor that never raises for a singular matrix: info (int32, A's batch shape) holds 0, or the
-- order i of the first zero U[i,i] (the factorisation is complete; lu_solve would divide by it). With
-- check_errors=true a singular matrix raises as in linalg.lu_factor. Differentiable in LU.
function linalg.lu_factor_ex(a, opts)
  local fn = 'linalg.lu_factor_ex'
  matrices(fn, a, 'A')
  opts = options(fn, opts, { 'pivot', 'check_errors' })
  local pivot = flag(fn, 'pivot', opts.pivot, true)
  if C.tn_linalg_lu_factor(a._c, pivot and 1 or 0, results, results + 1, results + 2) ~= 0 then c_error() end
  local lu, pivots, info = wrap(results[0]), wrap(results[1]), wrap(results[2])
  if flag(fn, 'check_errors', opts.check_errors, false) then
    raise_for_infos(fn, a, info, function(where, i)
      return string.format('U[%d,%d] of the LU factorisation of %s is zero', i, i, where)
    end)
  end
  return lu, pivots, info
end

--- torch.lu_unpack(LU, pivots, unpack_data=true, unpack_pivots=true) -> P, L, U
-- The matrices of linalg.lu_factor's compact result: P [*, m, m] (a permutation, A's dtype), L [*, m, k] (unit
-- lower triangular) and U [*, k, n], k = min(m, n), with A = P L U. unpack_data=false leaves L and U empty,
-- unpack_pivots=false leaves P empty (positional or {unpack_data=, unpack_pivots=}). Pivots outside 1..m raise.
-- Differentiable in LU.
function torch.lu_unpack(lu, pivots, unpack_data, unpack_pivots)
  local fn = 'lu_unpack'
  if is_opts(unpack_data) then
    args.check_option_keys(fn, unpack_data, { 'unpack_data', 'unpack_pivots' })
    unpack_data, unpack_pivots = unpack_data.unpack_data, unpack_data.unpack_pivots
  end
  unpack_data = flag(fn, 'unpack_data', unpack_data, true)
  unpack_pivots = flag(fn, 'unpack_pivots', unpack_pivots, true)
  matrices(fn, lu, 'LU_data')
  tensor_arg(fn, pivots, 'LU_pivots')
  local m, n = lu:size(-2), lu:size(-1)
  local k = math.min(m, n)
  local expected = lu:shape()
  table.remove(expected)
  expected[#expected] = k
  local ps = pivots:shape()
  local fits = #ps == #expected
  for i = 1, #ps do fits = fits and ps[i] == expected[i] end
  if not fits then
    argerror(fn, 'the pivots %s do not fit LU %s (expected [%s])', shape_str(pivots), shape_str(lu),
             table.concat(expected, ' x '))
  end
  local empty = torch.empty(0, { dtype = lu:dtype(), device = lu:device() })
  local P, L, U = empty, empty, empty
  if unpack_pivots then
    local perm = wrap(C.tn_linalg_lu_permutation(pivots._c, m))
    -- P[perm[i], i] = 1
    local rows = torch.arange(1, m + 1, { device = lu:device() }):view(m, 1)
    P = rows:eq(perm:unsqueeze(-2)):to(lu:dtype())
  end
  if unpack_data then
    local eye = torch.eye(m, k, { dtype = lu:dtype(), device = lu:device() })
    L = lu:narrow(-1, 1, k):tril(-1) + eye
    U = lu:narrow(-2, 1, k):triu()
  end
  return P, L, U
end

--- torch.linalg.lu(A, {pivot=true}) -> P, L, U
-- The LU factorisation A = P L U of an [m x n] matrix or batch: P [*, m, m] a permutation, L [*, m, k] unit
-- lower triangular, U [*, k, n] upper triangular, k = min(m, n) (linalg.lu_factor, then torch.lu_unpack).
-- Singular matrices factorise without an error. pivot=false (CUDA only) returns an empty P. Differentiable in
-- L and U.
function linalg.lu(a, opts)
  local fn = 'linalg.lu'
  matrices(fn, a, 'A')
  opts = options(fn, opts, { 'pivot' })
  local pivot = flag(fn, 'pivot', opts.pivot, true)
  local lu, pivots = as(fn, 'linalg.lu_factor_ex', linalg.lu_factor_ex, a, { pivot = pivot })
  return torch.lu_unpack(lu, pivots, true, pivot)
end

--- torch.lu(A, pivot=true, get_infos=false) -> LU, pivots[, infos]
--- Tensor:lu(pivot=true, get_infos=false) -> LU, pivots[, infos]
-- PyTorch's older LU: linalg.lu_factor_ex's results (infos only with get_infos=true); a singular matrix is no
-- error. Arguments positional or as {pivot=, get_infos=}.
function torch.lu(a, pivot, get_infos)
  local fn = 'lu'
  if is_opts(pivot) then
    args.check_option_keys(fn, pivot, { 'pivot', 'get_infos' })
    pivot, get_infos = pivot.pivot, pivot.get_infos
  end
  pivot = flag(fn, 'pivot', pivot, true)
  matrices(fn, a, 'A')
  local lu, pivots, info = as(fn, 'linalg.lu_factor_ex', linalg.lu_factor_ex, a, { pivot = pivot })
  if flag(fn, 'get_infos', get_infos, false) then return lu, pivots, info end
  return lu, pivots
end
function Tensor:lu(pivot, get_infos) return torch.lu(self, pivot, get_infos) end

--- torch.linalg.lu_solve(LU, pivots, B, {left=true, adjoint=false, out=}) -> Tensor
-- The solution X of A X = B for A = P L U given by linalg.lu_factor's LU [*, n, n] and pivots [*, n], and B
-- [*, n, k] (batch dims broadcast); left=false solves X A = B (B [*, k, n]), adjoint=true uses A's transpose
-- (A^T X = B, X A^T = B). LAPACK's getrs (cuSOLVER's on CUDA). Pivots must be int32, in 1..n. Differentiable
-- in LU and B.
function linalg.lu_solve(lu, pivots, b, opts)
  local fn = 'linalg.lu_solve'
  tensor_arg(fn, lu, 'LU')
  tensor_arg(fn, pivots, 'pivots')
  tensor_arg(fn, b, 'B')
  opts = options(fn, opts, { 'left', 'adjoint', 'out' })
  local left, adjoint = flag(fn, 'left', opts.left, true), flag(fn, 'adjoint', opts.adjoint, false)
  local out = out_of(fn, opts)
  local r = C.tn_linalg_lu_solve(out and out._c, lu._c, pivots._c, b._c, left and 1 or 0, adjoint and 1 or 0)
  if r == nil then c_error() end
  return out or wrap(r)
end

--- torch.lu_solve(b, LU_data, LU_pivots) -> Tensor
--- Tensor:lu_solve(LU_data, LU_pivots) -> Tensor
-- PyTorch's older argument order of linalg.lu_solve(LU_data, LU_pivots, b).
function torch.lu_solve(b, lu, pivots)
  return as('lu_solve', 'linalg.lu_solve', linalg.lu_solve, lu, pivots, b)
end
function Tensor:lu_solve(lu, pivots) return torch.lu_solve(self, lu, pivots) end

-- ---- triangular ----

--- torch.linalg.solve_triangular(A, B, {upper=, left=true, unitriangular=false, out=}) -> Tensor
-- The solution X of A X = B (left=false: X A = B) for a triangular A [*, n, n] and B [*, n, k] ([*, k, n]
-- for left=false), batch dims broadcasting; upper (required, as in PyTorch) says which triangle of A is used,
-- the other is not read; unitriangular=true takes A's diagonal as ones. BLAS's trsm (cuBLAS's on CUDA): a
-- zero on the diagonal gives infinities, not an error. Differentiable in A (its triangle) and B.
-- Example: torch.linalg.solve_triangular(torch.linalg.cholesky(S), b, {upper = false})
function linalg.solve_triangular(a, b, opts)
  local fn = 'linalg.solve_triangular'
  tensor_arg(fn, a, 'A')
  tensor_arg(fn, b, 'B')
  opts = options(fn, opts, { 'upper', 'left', 'unitriangular', 'out' })
  if opts.upper == nil then argerror(fn, 'the option upper (true or false) is required, as in PyTorch') end
  local upper = flag(fn, 'upper', opts.upper)
  local left, unit = flag(fn, 'left', opts.left, true), flag(fn, 'unitriangular', opts.unitriangular, false)
  local out = out_of(fn, opts)
  local r = C.tn_linalg_solve_triangular(out and out._c, a._c, b._c, upper and 1 or 0, left and 1 or 0, unit and 1 or 0)
  if r == nil then c_error() end
  return out or wrap(r)
end

-- The batch shape of a and b (both at least 2-d) broadcast, with a's matrix dims.
local function broadcast_batch_of(a, b)
  local sa, sb = a:shape(), b:shape()
  local n = math.max(#sa, #sb)
  local shape = {}
  for i = 1, n - 2 do
    local da, db = sa[#sa - n + i] or 1, sb[#sb - n + i] or 1
    shape[i] = da == 1 and db or da
  end
  shape[n - 1], shape[n] = sa[#sa - 1], sa[#sa]
  return shape
end

--- torch.triangular_solve(b, A, upper=true, transpose=false, unitriangular=false) -> solution, cloned_coefficient
--- Tensor:triangular_solve(A, upper=true, transpose=false, unitriangular=false) -> solution, cloned_coefficient
-- PyTorch's older triangular solver: X of A X = b (transpose=true: A^T X = b) for the upper (or lower)
-- triangle of A [*, m, m] and b [*, m, k], batch dims broadcasting; also returns a copy of A broadcast to the
-- batch. Options positional or as {upper=, transpose=, unitriangular=}. Differentiable.
function torch.triangular_solve(b, a, upper, transpose, unitriangular)
  local fn = 'triangular_solve'
  if is_opts(upper) then
    args.check_option_keys(fn, upper, { 'upper', 'transpose', 'unitriangular' })
    upper, transpose, unitriangular = upper.upper, upper.transpose, upper.unitriangular
  end
  upper = flag(fn, 'upper', upper, true)
  transpose = flag(fn, 'transpose', transpose, false)
  unitriangular = flag(fn, 'unitriangular', unitriangular, false)
  tensor_arg(fn, b, 'b')
  matrices(fn, a, 'A', true)
  matrices(fn, b, 'b')
  local coefficient = transpose and mT(a) or a
  local x = as(fn, 'linalg.solve_triangular', linalg.solve_triangular, coefficient, b,
               { upper = upper ~= transpose, unitriangular = unitriangular })
  return x, a:expand(broadcast_batch_of(a, b)):clone()
end
function Tensor:triangular_solve(a, upper, transpose, unitriangular)
  return torch.triangular_solve(self, a, upper, transpose, unitriangular)
end

-- ---- Cholesky ----

local function upper_flag(fn, upper)
  if is_opts(upper) then
    args.check_option_keys(fn, upper, { 'upper' })
    upper = upper.upper
  end
  return flag(fn, 'upper', upper, false)
end

--- torch.cholesky_solve(B, L, upper=false) -> Tensor
--- Tensor:cholesky_solve(L, upper=false) -> Tensor
-- The solution X of A X = B for a symmetric positive-definite A given by its Cholesky factor: A = L L^T with L
-- [*, n, n] lower triangular, or A = U^T U with upper=true (positional or {upper=}); B [*, n, k], batch dims
-- broadcasting. Two triangular solves; only L's triangle is read. Differentiable in B and L (PyTorch's
-- formula, whose gradient for L is a full matrix).
-- Example: torch.cholesky_solve(b, torch.linalg.cholesky(A))   -- A^-1 b
local function cholesky_solve(b, l, upper)
  local fn = 'cholesky_solve'
  tensor_arg(fn, b, 'B')
  tensor_arg(fn, l, 'L')
  local r = C.tn_linalg_cholesky_solve(nil, b._c, l._c, upper_flag(fn, upper) and 1 or 0)
  if r == nil then c_error() end
  return wrap(r)
end
torch.cholesky_solve, Tensor.cholesky_solve = cholesky_solve, cholesky_solve

--- torch.cholesky_inverse(L, upper=false) -> Tensor
--- Tensor:cholesky_inverse(upper=false) -> Tensor
-- The inverse of A = L L^T (upper=true: A = U^T U) from its Cholesky factor L [*, n, n] (only its triangle is
-- read): torch.cholesky_solve of the identity, symmetrised. Differentiable (PyTorch's gradient).
function torch.cholesky_inverse(l, upper)
  local fn = 'cholesky_inverse'
  upper = upper_flag(fn, upper)
  matrices(fn, l, 'L', true)
  local eye = torch.eye(l:size(-1), { dtype = l:dtype(), device = l:device() })
  local x = as(fn, 'cholesky_solve', torch.cholesky_solve, eye, l, upper)
  return (x + mT(x)) * 0.5
end
function Tensor:cholesky_inverse(upper) return torch.cholesky_inverse(self, upper) end

-- ---- the *_ex forms ----

--- torch.linalg.cholesky_ex(A, {upper=false, check_errors=false}) -> L, info
-- linalg.cholesky that does not raise for a matrix that is not positive-definite: info (int32, A's batch
-- shape) holds 0, or the order of the leading minor that is not positive (L is then partial). With
-- check_errors=true such a matrix raises as in linalg.cholesky. Differentiable in L.
function linalg.cholesky_ex(a, opts)
  local fn = 'linalg.cholesky_ex'
  tensor_arg(fn, a, 'A')
  opts = options(fn, opts, { 'upper', 'check_errors' })
  if C.tn_linalg_cholesky_ex(a._c, flag(fn, 'upper', opts.upper, false) and 1 or 0, results, results + 1) ~= 0 then
    c_error()
  end
  local l, info = wrap(results[0]), wrap(results[1])
  if flag(fn, 'check_errors', opts.check_errors, false) then
    raise_for_infos(fn, a, info, function(where, i)
      return string.format('%s is not positive-definite (its leading minor of order %d is not positive)', where, i)
    end)
  end
  return l, info
end

--- torch.linalg.inv_ex(A, {check_errors=false}) -> inverse, info
-- linalg.inv that does not raise for a singular matrix: info (int32, A's batch shape) holds 0, or the order
-- of the zero pivot of its LU factorisation (that matrix's inverse is then NaN). With check_errors=true a
-- singular matrix raises as in linalg.inv. Differentiable in the inverse.
function linalg.inv_ex(a, opts)
  local fn = 'linalg.inv_ex'
  tensor_arg(fn, a, 'A')
  opts = options(fn, opts, { 'check_errors' })
  if C.tn_linalg_inv_ex(a._c, results, results + 1) ~= 0 then c_error() end
  local inv, info = wrap(results[0]), wrap(results[1])
  if flag(fn, 'check_errors', opts.check_errors, false) then raise_for_infos(fn, a, info, singular) end
  return inv, info
end

--- torch.linalg.solve_ex(A, B, {left=true, check_errors=false}) -> result, info
-- linalg.solve that does not raise for a singular A: A's LU factorisation, then the solves (as PyTorch's);
-- info (int32, A's batch shape) holds 0, or the order of the zero pivot (that solution is then infinite or
-- NaN). With check_errors=true a singular A raises. Differentiable in the result.
function linalg.solve_ex(a, b, opts)
  local fn = 'linalg.solve_ex'
  tensor_arg(fn, a, 'A')
  tensor_arg(fn, b, 'B')
  opts = options(fn, opts, { 'left', 'check_errors' })
  if C.tn_linalg_solve_ex(a._c, b._c, flag(fn, 'left', opts.left, true) and 1 or 0, results, results + 1) ~= 0 then
    c_error()
  end
  local x, info = wrap(results[0]), wrap(results[1])
  if flag(fn, 'check_errors', opts.check_errors, false) then raise_for_infos(fn, a, info, singular) end
  return x, info
end

-- ---- least squares ----

local DRIVERS = { gels = 0, gelsy = 1, gelsd = 2, gelss = 3 }
local EPS = { float32 = 1.1920928955078125e-07, float64 = 2.220446049250313e-16 }

-- The minimum-norm least-squares solution of a full-rank A from its QR factorisation (A's or A^T's), composed
-- of differentiable ops: the values and gradients of the gels driver. b is a batch of matrices.
local function lstsq_qr(a, b)
  if a:size(-2) >= a:size(-1) then
    local q, r = linalg.qr(a)
    return linalg.solve_triangular(r, mT(q):matmul(b), { upper = true })
  end
  local q, r = linalg.qr(mT(a)) -- A = R^T Q^T
  return q:matmul(linalg.solve_triangular(mT(r), b, { upper = false }))
end

local function is_cuda(x) return x._c.storage.device_type ~= 0 end

--- torch.linalg.lstsq(A, B, rcond=nil, {driver=}) -> {solution=, residuals=, rank=, singular_values=}
-- The least-squares solution X minimising ||A X - B|| for A [*, m, n] and B [*, m, k] (or B [*, m], A's shape
-- without its last dim: X is then [*, n]), batch dims broadcasting; for m < n the minimum-norm solution.
-- Returns a Lua table with PyTorch's four fields: solution [*, n, k]; residuals, the squared residuals ||A X -
-- B||^2 per column ([*, k]) when m > n, the driver is not gelsy and every matrix has full rank (else an empty
-- tensor); rank (int64 [*]; empty for gels) and singular_values ([*, min(m, n)] for gelsd and gelss, else
-- empty). driver ('gelsy' by default on the CPU, 'gels' on CUDA): 'gels' (QR, full-rank A only: a
-- rank-deficient one raises), 'gelsy' (complete orthogonal factorisation), 'gelsd' and 'gelss' (SVD), the
-- last three for rank-deficient A too. rcond (positional or {rcond=}): the singular values below rcond times
-- the largest count as zero (default: eps of the dtype times max(m, n)). CUDA tensors take 'gels' only,
-- computed as A's QR factorisation and a triangular solve (as PyTorch). The solution is differentiable: with
-- an input that requires grad it is the QR composition of 'gels' (full-rank A) or pinv(A) B (the other
-- drivers, with rtol = rcond), whose gradients are PyTorch's.
-- Example: local x = torch.linalg.lstsq(A, b).solution
function linalg.lstsq(a, b, rcond, opts)
  local fn = 'linalg.lstsq'
  if is_opts(rcond) and opts == nil then rcond, opts = nil, rcond end
  opts = options(fn, opts, { 'rcond', 'driver' })
  if rcond == nil then rcond = opts.rcond end
  matrices(fn, a, 'A')
  tensor_arg(fn, b, 'B')
  local cuda = is_cuda(a)
  local driver = opts.driver
  if driver == nil then driver = cuda and 'gels' or 'gelsy' end
  if DRIVERS[driver] == nil then
    argerror(fn, "driver must be 'gels', 'gelsy', 'gelsd' or 'gelss', got %s", tostring(driver))
  end
  if cuda and driver ~= 'gels' then
    argerror(fn, "driver '%s' is not available for tensors on %s: CUDA tensors take driver 'gels' only (as in " ..
             "PyTorch); move them to the CPU for the others", driver, args.device_name(a._c))
  end
  local m, n = a:size(-2), a:size(-1)
  if rcond == nil then rcond = EPS[a:dtype()] * math.max(m, n) end
  if type(rcond) ~= 'number' then argerror(fn, 'rcond must be a number, got %s', type(rcond)) end
  local vector = b:dim() == a:dim() - 1
  local recording = torch.is_grad_enabled() and (a.requires_grad or b.requires_grad)
  local empty = torch.empty(0, { dtype = a:dtype(), device = a:device() })
  if cuda then -- checked by the CPU's rules, then composed
    if vector then
      if b:dim() < 1 or b:size(-1) ~= m then
        argerror(fn, 'A %s and B %s do not fit (B must be [*, %d, k], or A\'s shape without its last dim)',
                 shape_str(a), shape_str(b), m)
      end
    elseif b:dim() ~= a:dim() or b:size(-2) ~= m then
      argerror(fn, 'A %s and B %s do not fit (B must be [*, %d, k], or A\'s shape without its last dim)',
               shape_str(a), shape_str(b), m)
    end
    if a:dtype() ~= b:dtype() then argerror(fn, 'expected A and B of one dtype, got %s and %s', a:dtype(), b:dtype()) end
    local bm = vector and b:unsqueeze(-1) or b
    local x = lstsq_qr(a, bm)
    local residuals = empty
    if m > n then residuals = (a:matmul(x) - bm):pow(2):sum(-2):detach() end
    return { solution = vector and x:squeeze(-1) or x, residuals = residuals,
             rank = torch.empty(0, { dtype = 'int64', device = a:device() }), singular_values = empty }
  end
  if C.tn_linalg_lstsq(a._c, b._c, DRIVERS[driver], rcond, results, results + 1, results + 2) ~= 0 then c_error() end
  local x, rank, sv = wrap(results[0]), wrap(results[1]), wrap(results[2])
  local solution = x:narrow(-2, 1, n)
  local residuals = empty
  if m > n and driver ~= 'gelsy' and (driver == 'gels' or rank:eq(n):all()) then
    residuals = x:narrow(-2, n + 1, m - n):pow(2):sum(-2)
  end
  if recording then
    local bm = vector and b:unsqueeze(-1) or b
    local full = driver == 'gels' or rank:eq(math.min(m, n)):all()
    solution = full and lstsq_qr(a, bm) or linalg.pinv(a, { rtol = math.max(rcond, 0) }):matmul(bm)
  end
  if vector then solution = solution:squeeze(-1) end
  return { solution = solution, residuals = residuals, rank = rank, singular_values = sv }
end

-- ---- matrix_exp ----

-- Higham's Padé approximant of degree 13 for ||A||_1 <= THETA13 ("The scaling and squaring method for the
-- matrix exponential revisited", 2005): its coefficients b0..b13.
local PADE13 = { 64764752532480000, 32382376266240000, 7771770303897600, 1187353796428800, 129060195264000,
                 10559470521600, 670442572800, 33522128640, 1323241920, 40840800, 960960, 16380, 182, 1 }
local THETA13 = 5.371920351148152

--- torch.linalg.matrix_exp(A) -> Tensor
--- torch.matrix_exp(A) -> Tensor
--- Tensor:matrix_exp() -> Tensor
-- The matrix exponential of a square matrix or of each matrix of a batch [*, n, n] (float32 or float64), by
-- scaling and squaring with Higham's degree-13 Padé approximant: each matrix is scaled by 2^-s so that its
-- 1-norm is at most 5.37, then squared s times. Composed of matrix products and a solve, so differentiable.
-- Example: torch.linalg.matrix_exp(torch.zeros(3, 3))   -- the identity
function linalg.matrix_exp(a)
  local fn = 'linalg.matrix_exp'
  matrices(fn, a, 'A', true)
  local n = a:size(-1)
  if a:numel() == 0 then return a:clone() end
  if n == 1 then return a:exp() end
  -- per matrix: s = ceil(log2(||A||_1 / theta)), at least 0 (0 as well for a norm that is not finite: the
  -- result is NaN or inf anyway)
  local s = torch.no_grad(function()
    local norm = a:abs():sum(-2):amax(-1)
    local steps = (norm / THETA13):log2():ceil():clamp({ min = 0 })
    return torch.where(norm:isfinite(), steps, 0)
  end)
  local squarings = a:dim() == 2 and s:item() or s:max()
  local x = squarings > 0 and a * torch.pow(2, -s):unsqueeze(-1):unsqueeze(-1) or a
  local b = PADE13
  local eye = torch.eye(n, { dtype = a:dtype(), device = a:device() })
  local x2 = x:matmul(x)
  local x4 = x2:matmul(x2)
  local x6 = x4:matmul(x2)
  local u = x:matmul(x6:matmul(x6 * b[14] + x4 * b[12] + x2 * b[10]) + x6 * b[8] + x4 * b[6] + x2 * b[4] + eye * b[2])
  local v = x6:matmul(x6 * b[13] + x4 * b[11] + x2 * b[9]) + x6 * b[7] + x4 * b[5] + x2 * b[3] + eye * b[1]
  local r = linalg.solve(v - u, v + u)
  local uniform = a:dim() == 2 or s:min() == squarings
  for j = 1, squarings do
    local r2 = r:matmul(r)
    r = uniform and r2 or torch.where(s:ge(j):unsqueeze(-1):unsqueeze(-1), r2, r)
  end
  return r
end
function torch.matrix_exp(a) return as('matrix_exp', 'linalg.matrix_exp', linalg.matrix_exp, a) end
function Tensor:matrix_exp() return torch.matrix_exp(self) end

-- ---- smaller functions ----

--- torch.linalg.vecdot(x, y, {dim=-1}) -> Tensor
-- The dot products of the vectors along dim of x and y, which broadcast together: (x * y):sum(dim). Floating
-- dtypes only, as in PyTorch. dim may also be given as a number.
function linalg.vecdot(x, y, opts)
  local fn = 'linalg.vecdot'
  tensor_arg(fn, x, 'x')
  tensor_arg(fn, y, 'y')
  local dim = -1
  if type(opts) == 'number' then
    dim = opts
  elseif opts ~= nil then
    dim = options(fn, opts, { 'dim' }).dim or -1
  end
  for _, t in ipairs({ x, y }) do
    if not dtypes.floating[tonumber(t._c.dtype)] then
      argerror(fn, 'expected floating-point tensors, got %s', t:dtype())
    end
  end
  local p = x * y
  args.dim(fn, dim, p:dim())
  return p:sum(dim)
end

local function product(list, first, last)
  local p = 1
  for i = first, last do p = p * list[i] end
  return p
end

--- torch.linalg.tensorinv(A, ind=2) -> Tensor
-- The inverse of A for tensordot over its first ind dims: A's shape splits into front = A.shape[1..ind] and
-- back (the rest), whose products must be equal; the result has shape back .. front, and tensordot of the two
-- over ind dims is the identity. ind positional or as {ind=}.
function linalg.tensorinv(a, ind)
  local fn = 'linalg.tensorinv'
  tensor_arg(fn, a, 'A')
  if is_opts(ind) then ind = options(fn, ind, { 'ind' }).ind end
  ind = ind == nil and 2 or args.integer(fn, 'ind', ind)
  local shape = a:shape()
  if ind < 1 or ind > #shape then
    argerror(fn, 'ind must be in 1..%d (the number of leading dims) for a tensor of shape %s, got %d', #shape,
             shape_str(a), ind)
  end
  local front, back = product(shape, 1, ind), product(shape, ind + 1, #shape)
  if front ~= back then
    argerror(fn, 'the product of the first %d dims of %s (%d) must equal that of the others (%d)', ind,
             shape_str(a), front, back)
  end
  local result = {}
  for i = ind + 1, #shape do result[#result + 1] = shape[i] end
  for i = 1, ind do result[#result + 1] = shape[i] end
  local inv = as(fn, 'linalg.inv', linalg.inv, a:reshape(front, back))
  return inv:reshape(result)
end

--- torch.linalg.tensorsolve(A, B, dims=nil) -> Tensor
-- The X with tensordot(A, X, X:dim()) = B: X has the shape A.shape[B:dim()+1 ..], and the products of A's
-- leading B:dim() dims and of the rest must be equal. dims (a list of A's dims, 1-based, positional or
-- {dims=}) are first moved to the end of A.
function linalg.tensorsolve(a, b, dims)
  local fn = 'linalg.tensorsolve'
  tensor_arg(fn, a, 'A')
  tensor_arg(fn, b, 'B')
  if is_opts(dims) then dims = options(fn, dims, { 'dims' }).dims end
  if dims ~= nil then
    if type(dims) ~= 'table' then argerror(fn, 'dims must be a list of dims, got %s', type(dims)) end
    local moved, perm = {}, {}
    for _, d in ipairs(dims) do moved[args.dim(fn, d, a:dim()) + 1] = true end
    for d = 1, a:dim() do if not moved[d] then perm[#perm + 1] = d end end
    for _, d in ipairs(dims) do perm[#perm + 1] = args.dim(fn, d, a:dim()) + 1 end
    a = a:permute(perm)
  end
  local sa, nb = a:shape(), b:dim()
  local fits = #sa >= nb
  for i = 1, nb do fits = fits and sa[i] == b:size(i) end
  local rows, result = b:numel(), {}
  for i = nb + 1, #sa do result[#result + 1] = sa[i] end
  local cols = product(result, 1, #result)
  if not fits or rows ~= cols then
    argerror(fn, 'A %s must start with the shape of B %s and its other dims must hold as many elements (%d)',
             shape_str(a), shape_str(b), rows)
  end
  local x = as(fn, 'linalg.solve', linalg.solve, a:reshape(rows, cols), b:reshape(rows))
  return x:reshape(result)
end

--- torch.pinverse(A, rcond=1e-15) -> Tensor
--- Tensor:pinverse(rcond=1e-15) -> Tensor
-- torch.linalg.pinv with rtol = rcond (singular values below rcond times the largest count as zero).
function torch.pinverse(a, rcond)
  local fn = 'pinverse'
  if is_opts(rcond) then rcond = options(fn, rcond, { 'rcond' }).rcond end
  if rcond == nil then rcond = 1e-15 end
  args.number(fn, 'rcond', rcond)
  matrices(fn, a, 'the input')
  return as(fn, 'linalg.pinv', linalg.pinv, a, { rtol = rcond })
end
function Tensor:pinverse(rcond) return torch.pinverse(self, rcond) end

--- torch.chain_matmul(m1, m2, ...) -> Tensor
-- The product of 2-d matrices (given as arguments or as one list) in the cheapest order: linalg.multi_dot
-- (PyTorch deprecates chain_matmul for it); a single matrix is returned as a copy.
function torch.chain_matmul(...)
  local fn = 'chain_matmul'
  local list = { ... }
  if #list == 1 and getmetatable(list[1]) ~= mt and type(list[1]) == 'table' then list = list[1] end
  if #list == 0 then argerror(fn, 'expected at least one matrix') end
  for i, x in ipairs(list) do
    tensor_arg(fn, x, 'matrix ' .. i)
    if x:dim() ~= 2 then argerror(fn, 'expected 2-d matrices, got %s for matrix %d', shape_str(x), i) end
  end
  if #list == 1 then return list[1]:clone() end
  return as(fn, 'linalg.multi_dot', linalg.multi_dot, list)
end

--- torch.matrix_power(A, n) -> Tensor
--- Tensor:matrix_power(n) -> Tensor
-- torch.linalg.matrix_power.
function torch.matrix_power(a, n) return as('matrix_power', 'linalg.matrix_power', linalg.matrix_power, a, n) end
function Tensor:matrix_power(n) return torch.matrix_power(self, n) end

-- The argument helpers, for tensor.linalg_factor.
return { tensor_arg = tensor_arg, matrices = matrices, options = options, flag = flag, out_of = out_of, as = as,
         raise_for_infos = raise_for_infos, shape_str = shape_str }
