-- tensor.linalg_factor: LAPACK's compact factorisations and what uses them without expanding them: the
-- Householder QR (geqrf), the product of its reflectors (linalg.householder_product, orgqr), Q times a matrix
-- (ormqr), and the symmetric indefinite LDL^T factorisation with its solver (linalg.ldl_factor(_ex),
-- linalg.ldl_solve). The work is in C (lib/ops/linalg.c: LAPACK on the CPU, cuSOLVER on CUDA); the gradients
-- (householder_product's; the others have none, as in PyTorch 1.13) are in tensor.autograd.derivatives.
local ffi = require 'ffi'
local core = require 'tensor.core'
local args = require 'tensor.args'
local h = require 'tensor.linalg_solvers'

local C, wrap, Tensor, torch = core.C, core.wrap, core.Tensor, core.torch
local linalg = torch.linalg
local is_opts = args.is_opts
local tensor_arg, matrices, options, flag, out_of, as = h.tensor_arg, h.matrices, h.options, h.flag, h.out_of, h.as

local results = ffi.new('tn_tensor*[3]')

local function c_error() core.c_error() end

-- ---- Householder reflectors ----

--- torch.geqrf(A) -> a, tau
--- Tensor:geqrf() -> a, tau
-- The QR factorisation of an [m x n] matrix or batch [*, m, n] (float32 or float64) in LAPACK's compact form
-- (geqrf; cuSOLVER's on CUDA), as PyTorch returns it: a [*, m, n] holds R on and above the diagonal and, below
-- it, the Householder vectors v_i (their leading 1 implied), tau [*, min(m, n)] their scalars, so that
-- Q = H_1 ... H_k with H_i = I - tau_i v_i v_i^T. linalg.householder_product forms Q from them and ormqr
-- multiplies by it. Not differentiable, as in PyTorch 1.13 (backward through it raises); linalg.qr is.
-- Example: local a, tau = torch.geqrf(A); local Q = torch.linalg.householder_product(a, tau)
function torch.geqrf(a)
  local fn = 'geqrf'
  matrices(fn, a, 'A')
  if C.tn_linalg_geqrf(a._c, results, results + 1) ~= 0 then c_error() end
  return wrap(results[0]), wrap(results[1])
end
function Tensor:geqrf() return torch.geqrf(self) end

--- torch.linalg.householder_product(A, tau, {out=}) -> Tensor
--- torch.orgqr(A, tau) -> Tensor
--- Tensor:orgqr(tau) -> Tensor
-- The first n columns of the product H_1 ... H_k of Householder reflectors H_i = I - tau_i v_i v_i^T, where
-- v_i is column i of A [*, m, n] (m >= n) below the diagonal with a 1 on it (entries above it are not read)
-- and tau [*, k], k <= n, has A's batch shape (no broadcasting, as in PyTorch): with torch.geqrf's results,
-- the reduced Q of A's QR factorisation. LAPACK's orgqr (cuSOLVER's on CUDA). Differentiable in A and tau
-- (through the compact WY form Q = E - V T V^T E, whatever the values of tau).
function linalg.householder_product(a, tau, opts)
  local fn = 'linalg.householder_product'
  matrices(fn, a, 'A')
  tensor_arg(fn, tau, 'tau')
  local out = out_of(fn, options(fn, opts, { 'out' }))
  local r = C.tn_linalg_householder_product(out and out._c, a._c, tau._c)
  if r == nil then c_error() end
  return out or wrap(r)
end
function torch.orgqr(a, tau) return as('orgqr', 'linalg.householder_product', linalg.householder_product, a, tau) end
function Tensor:orgqr(tau) return torch.orgqr(self, tau) end

--- torch.ormqr(A, tau, C, left=true, transpose=false) -> Tensor
--- Tensor:ormqr(tau, C, left=true, transpose=false) -> Tensor
-- Q C (left=true) or C Q (left=false), with Q^T in place of Q when transpose=true, for the m x m (or n x n)
-- Q = H_1 ... H_k of torch.geqrf's results A and tau [*, k], without forming Q (LAPACK's ormqr; cuSOLVER's on
-- CUDA). C is [*, m, n] with A's batch shape (no broadcasting, as in PyTorch); A has C's number of rows (left)
-- or columns (right) as its rows, and k is at most that. left and transpose positional or as {left=,
-- transpose=}. Not differentiable, as in PyTorch 1.13 (backward through it raises).
-- Example: local a, tau = torch.geqrf(A); torch.ormqr(a, tau, b, true, true)   -- Q^T b
function torch.ormqr(a, tau, c, left, transpose)
  local fn = 'ormqr'
  if is_opts(left) then
    args.check_option_keys(fn, left, { 'left', 'transpose' })
    left, transpose = left.left, left.transpose
  end
  left, transpose = flag(fn, 'left', left, true), flag(fn, 'transpose', transpose, false)
  matrices(fn, a, 'A')
  tensor_arg(fn, tau, 'tau')
  tensor_arg(fn, c, 'C')
  local r = C.tn_linalg_ormqr(nil, a._c, tau._c, c._c, left and 1 or 0, transpose and 1 or 0)
  if r == nil then c_error() end
  return wrap(r)
end
function Tensor:ormqr(tau, c, left, transpose) return torch.ormqr(self, tau, c, left, transpose) end

-- ---- LDL^T ----

local function singular_d(where, i)
  return string.format('D[%d,%d] of the LDL factorisation of %s is zero: the matrix is singular', i, i, where)
end

--- torch.linalg.ldl_factor_ex(A, {hermitian=false, check_errors=false}) -> LD, pivots, info
-- The LDL^T factorisation A = P L D L^T P^T of a symmetric matrix or batch [*, n, n] (float32 or float64;
-- only the lower triangle is read) by Bunch-Kaufman diagonal pivoting, LAPACK's sytrf (cuSOLVER's on CUDA), in
-- PyTorch's compact form: LD holds L below the diagonal (its unit diagonal implied) and D's 1 x 1 and 2 x 2
-- blocks on and just below it, zeros above; pivots (int32 [*, n]) are LAPACK's values exactly, as PyTorch
-- returns them: 1-based, p > 0 at i a 1 x 1 block for which rows i and p were exchanged, an equal pair of
-- negatives -p at i and i + 1 a 2 x 2 block for which rows i + 1 and p were. info (int32, A's batch shape)
-- holds 0, or the first i where D[i,i] is exactly zero (the factorisation is complete; the matrix is singular),
-- as LAPACK reports it, also on CUDA (where cuSOLVER's sytrf reports other values, which PyTorch passes on);
-- with check_errors=true that raises. hermitian=true is the same factorisation for real matrices. Not
-- differentiable, as in PyTorch 1.13.
function linalg.ldl_factor_ex(a, opts)
  local fn = 'linalg.ldl_factor_ex'
  matrices(fn, a, 'A', true)
  opts = options(fn, opts, { 'hermitian', 'check_errors' })
  flag(fn, 'hermitian', opts.hermitian, false)
  if C.tn_linalg_ldl_factor(a._c, results, results + 1, results + 2) ~= 0 then c_error() end
  local ld, pivots, info = wrap(results[0]), wrap(results[1]), wrap(results[2])
  if flag(fn, 'check_errors', opts.check_errors, false) then h.raise_for_infos(fn, a, info, singular_d) end
  return ld, pivots, info
end

--- torch.linalg.ldl_factor(A, {hermitian=false}) -> LD, pivots
-- linalg.ldl_factor_ex's LD and pivots (see there; pivots are LAPACK's, as PyTorch's), raising an error naming
-- the matrix when D has a zero on its diagonal (PyTorch 1.13 fails there with an internal assertion).
function linalg.ldl_factor(a, opts)
  local fn = 'linalg.ldl_factor'
  matrices(fn, a, 'A', true)
  opts = options(fn, opts, { 'hermitian' })
  flag(fn, 'hermitian', opts.hermitian, false)
  if C.tn_linalg_ldl_factor(a._c, results, results + 1, nil) ~= 0 then c_error() end
  return wrap(results[0]), wrap(results[1])
end

--- torch.linalg.ldl_solve(LD, pivots, B, {hermitian=false, out=}) -> Tensor
-- The solution X of A X = B for A given by linalg.ldl_factor's LD [*, n, n] and pivots [*, n] (int32, or int64
-- as PyTorch also takes), and B [*, n, k] (batch dims broadcast); LAPACK's sytrs (cuSOLVER's on CUDA). Pivots
-- that are not a factorisation's (outside 1..n in magnitude, or a negative one not in an equal pair) raise
-- an error where PyTorch 1.13 reads out of bounds. hermitian as in linalg.ldl_factor. Not differentiable, as
-- in PyTorch 1.13.
-- Example: local LD, piv = torch.linalg.ldl_factor(A); local x = torch.linalg.ldl_solve(LD, piv, b)
function linalg.ldl_solve(ld, pivots, b, opts)
  local fn = 'linalg.ldl_solve'
  matrices(fn, ld, 'LD', true)
  tensor_arg(fn, pivots, 'pivots')
  tensor_arg(fn, b, 'B')
  opts = options(fn, opts, { 'hermitian', 'out' })
  flag(fn, 'hermitian', opts.hermitian, false)
  local out = out_of(fn, opts)
  if pivots:dtype() == 'int64' then -- (clamped first, so that values beyond int32 stay invalid)
    local n = ld:size(-1)
    pivots = pivots:clamp(-n - 1, n + 1):int()
  end
  local r = C.tn_linalg_ldl_solve(out and out._c, ld._c, pivots._c, b._c)
  if r == nil then c_error() end
  return out or wrap(r)
end

return {}
