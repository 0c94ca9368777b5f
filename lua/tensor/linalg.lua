-- tensor.linalg: matrix products (mm, bmm, matmul, mv, dot, vdot, inner, outer and the add* forms),
-- torch.einsum, and the torch.linalg namespace (inv, solve, det, slogdet, cholesky, qr, svd, eigh, ...).
-- The work happens in C (lib/ops/blas.c, lib/ops/linalg.c); this module reads arguments and options.
local ffi = require 'ffi'
local core = require 'tensor.core'
local alias = core.alias
local args = require 'tensor.args'

local C, wrap, Tensor, torch, mt = core.C, core.wrap, core.Tensor, core.torch, core.mt
local is_opts = args.is_opts
local last_error = C.tn_last_error

local M = {}

-- Raises the C library's last error at the user's call site (level 3: the caller of the function that
-- called this one).
local function c_error() error(ffi.string(last_error()), 3) end

-- Raises "fn: message" at the call site of the public function that calls it.
local function fail(fn, fmt, ...) error(fn .. ': ' .. string.format(fmt, ...), 3) end
-- The same, for argument readers that public functions call.
local function bad_argument(fn, fmt, ...) error(fn .. ': ' .. string.format(fmt, ...), 4) end

local function operand(fn, x, what)
  if getmetatable(x) ~= mt then
    error(string.format('%s: expected a tensor for %s, got %s', fn, what, type(x)), 3)
  end
  return x._c
end

-- The out= tensor of a trailing options table, or nil.
local function out_of(fn, opts)
  if opts == nil then return nil end
  if type(opts) ~= 'table' then bad_argument(fn, 'expected an options table, got %s', type(opts)) end
  local out = opts.out
  if out ~= nil and getmetatable(out) ~= mt then bad_argument(fn, 'out must be a tensor, got %s', type(out)) end
  return out
end

-- ---- products of two operands ----

local function define_product(name, cfn, what_a, what_b)
  local f = C[cfn]
  Tensor[name] = function(a, b)
    local r = f(nil, a._c, operand(name, b, what_b))
    if r == nil then c_error() end
    return wrap(r)
  end
  torch[name] = function(a, b, opts)
    local ac, bc = operand(name, a, what_a), operand(name, b, what_b)
    local out = out_of(name, opts)
    local r = f(out and out._c, ac, bc)
    if r == nil then c_error() end
    return out or wrap(r)
  end
end

--- torch.mm(a, b, {out=}) -> Tensor
--- Tensor:mm(b) -> Tensor
-- The matrix product of an [m x k] and a [k x n] matrix. Both operands must have one dtype (float, double,
-- half and bfloat16 run on BLAS or in float32; integer types on a blocked kernel; bool is refused).
-- Transposed and strided operands are read in place.
-- Example: torch.randn(2, 3):mm(torch.randn(3, 4))  -- 2x4
define_product('mm', 'tn_mm', 'the first matrix', 'the second matrix')

--- torch.bmm(a, b, {out=}) -> Tensor
--- Tensor:bmm(b) -> Tensor
-- Batched matrix product: [b x m x k] @ [b x k x n] -> [b x m x n] (no broadcasting; see matmul).
define_product('bmm', 'tn_bmm', 'the first batch', 'the second batch')

--- torch.mv(a, x, {out=}) -> Tensor
--- Tensor:mv(x) -> Tensor
-- Matrix-vector product: [m x k] @ [k] -> [m].
define_product('mv', 'tn_mv', 'the matrix', 'the vector')

--- torch.dot(a, b, {out=}) -> Tensor
--- Tensor:dot(b) -> Tensor
-- The dot product of two 1-d tensors of one length, as a 0-d tensor (x:dot(y):item() gives the number).
define_product('dot', 'tn_dot', 'the first vector', 'the second vector')

--- torch.vdot(a, b, {out=}) -> Tensor
--- Tensor:vdot(b) -> Tensor
-- The dot product (tensors are real, so the same as dot).
alias(Tensor, 'vdot', 'dot')
alias(torch, 'vdot', 'dot')

--- torch.outer(a, b, {out=}) -> Tensor
--- Tensor:outer(b) -> Tensor
-- The outer product of two vectors: [m] x [n] -> [m x n] with element (i, j) = a[i] * b[j]. Alias: ger.
define_product('outer', 'tn_outer', 'the first vector', 'the second vector')
alias(Tensor, 'ger', 'outer')
alias(torch, 'ger', 'outer')

--- torch.matmul(a, b, {out=}) -> Tensor
--- Tensor:matmul(b) -> Tensor
-- The matrix product with PyTorch's rules: 1-d @ 1-d is the dot product (0-d); 2-d @ 2-d is mm; 2-d @ 1-d
-- is mv; a 1-d first operand acts as a row [1 x k] and a 1-d second operand as a column [k x 1], the added
-- dim being removed from the result; with more dims, the leading (batch) dims broadcast.
-- Example: torch.randn(10, 3, 4):matmul(torch.randn(4, 5))  -- 10x3x5
define_product('matmul', 'tn_matmul', 'the first operand', 'the second operand')

-- ---- the add* forms: beta * input + alpha * product ----

-- beta and alpha given positionally or as {beta=, alpha=, out=}; returns beta, alpha, out.
local function scalars(fn, beta, alpha)
  local out
  if type(beta) == 'table' then
    out = out_of(fn, beta)
    beta, alpha = beta.beta, beta.alpha
  end
  if beta == nil then beta = 1 end
  if alpha == nil then alpha = 1 end
  if type(beta) ~= 'number' then bad_argument(fn, 'beta must be a number, got %s', type(beta)) end
  if type(alpha) ~= 'number' then bad_argument(fn, 'alpha must be a number, got %s', type(alpha)) end
  return beta, alpha, out
end

local function define_add(name, cfn, what_a, what_b)
  local f = C[cfn]
  local name_ = name .. '_'
  Tensor[name] = function(input, a, b, beta, alpha)
    local be, al = scalars(name, beta, alpha)
    local r = f(nil, input._c, operand(name, a, what_a), operand(name, b, what_b), be, al)
    if r == nil then c_error() end
    return wrap(r)
  end
  Tensor[name_] = function(input, a, b, beta, alpha)
    local be, al = scalars(name_, beta, alpha)
    if f(input._c, input._c, operand(name_, a, what_a), operand(name_, b, what_b), be, al) == nil then c_error() end
    return input
  end
  torch[name] = function(input, a, b, beta, alpha)
    local ic = operand(name, input, 'the input')
    local be, al, out = scalars(name, beta, alpha)
    local r = f(out and out._c, ic, operand(name, a, what_a), operand(name, b, what_b), be, al)
    if r == nil then c_error() end
    return out or wrap(r)
  end
end

--- torch.addmm(input, a, b, {beta=1, alpha=1, out=}) -> Tensor
--- Tensor:addmm(a, b, {beta=, alpha=}) -> Tensor
--- Tensor:addmm_(a, b, {beta=, alpha=}) -> Tensor
-- beta * input + alpha * (a @ b) for matrices a [m x k] and b [k x n]; input broadcasts to [m x n] (in place:
-- it must be [m x n]). beta and alpha may also be given positionally: x:addmm(a, b, beta, alpha). With beta 0
-- the input's values are ignored (NaN and inf included), as in PyTorch.
-- Example: bias:addmm(x, w:t())  -- a linear layer
define_add('addmm', 'tn_addmm', 'the first matrix', 'the second matrix')

--- torch.addmv(input, a, x, {beta=1, alpha=1, out=}) -> Tensor
--- Tensor:addmv(a, x, {beta=, alpha=}) -> Tensor
--- Tensor:addmv_(a, x, {beta=, alpha=}) -> Tensor
-- beta * input + alpha * (a @ x) for a matrix a [m x k] and a vector x [k]; input broadcasts to [m].
define_add('addmv', 'tn_addmv', 'the matrix', 'the vector')

--- torch.addr(input, a, b, {beta=1, alpha=1, out=}) -> Tensor
--- Tensor:addr(a, b, {beta=, alpha=}) -> Tensor
--- Tensor:addr_(a, b, {beta=, alpha=}) -> Tensor
-- beta * input + alpha * outer(a, b) for vectors a [m] and b [n]; input broadcasts to [m x n].
define_add('addr', 'tn_addr', 'the first vector', 'the second vector')

--- torch.baddbmm(input, a, b, {beta=1, alpha=1, out=}) -> Tensor
--- Tensor:baddbmm(a, b, {beta=, alpha=}) -> Tensor
--- Tensor:baddbmm_(a, b, {beta=, alpha=}) -> Tensor
-- beta * input + alpha * bmm(a, b) for batches a [b x m x k] and b [b x k x n]; input broadcasts to [b x m x n].
define_add('baddbmm', 'tn_baddbmm', 'the first batch', 'the second batch')

--- torch.addbmm(input, a, b, {beta=1, alpha=1, out=}) -> Tensor
--- Tensor:addbmm(a, b, {beta=, alpha=}) -> Tensor
--- Tensor:addbmm_(a, b, {beta=, alpha=}) -> Tensor
-- beta * input + alpha * (the sum over the batch of a[i] @ b[i]) for batches a [b x m x k] and b [b x k x n];
-- input broadcasts to [m x n].
define_add('addbmm', 'tn_addbmm', 'the first batch', 'the second batch')

-- ---- inner, multi_dot, matrix_power ----

local function dims_of(x)
  local c, t = x._c, {}
  for i = 0, c.ndim - 1 do t[i + 1] = tonumber(c.sizes[i]) end
  return t
end

--- torch.inner(a, b, {out=}) -> Tensor
--- Tensor:inner(b) -> Tensor
-- The sum of products over the last dim of both: [..., k] and [..., k] give a.shape[:-1] .. b.shape[:-1]
-- (for two vectors, the dot product; with a 0-d operand, the element-wise product).
function torch.inner(a, b, opts)
  operand('inner', a, 'the first operand')
  operand('inner', b, 'the second operand')
  local out = out_of('inner', opts)
  local r
  if a:dim() == 0 or b:dim() == 0 then
    r = a * b
  elseif a:dim() == 1 and b:dim() == 1 then
    r = a:dot(b)
  else
    local sa, sb = dims_of(a), dims_of(b)
    local k = sa[#sa]
    if sb[#sb] ~= k then
      error(string.format('inner: the last dims differ, [%s] and [%s]', table.concat(sa, ' x '),
                          table.concat(sb, ' x ')), 2)
    end
    local shape = {}
    for i = 1, #sa - 1 do shape[#shape + 1] = sa[i] end
    for i = 1, #sb - 1 do shape[#shape + 1] = sb[i] end
    r = a:reshape(-1, k):mm(b:reshape(-1, k):t()):reshape(shape)
  end
  if out then
    out:resize_(r:shape()):copy_(r)
    return out
  end
  return r
end
function Tensor:inner(b) return torch.inner(self, b) end

-- ---- torch.einsum ----

-- Label ids: letters are their byte; the dims an ellipsis covers are 1000 + position from the right.
local ELLIPSIS = 1000

-- Parses one operand's term into a list of label ids for a tensor of ndim dims.
local function parse_term(term, ndim, which)
  local labels, before, after, seen_ellipsis = {}, {}, {}, false
  local i = 1
  while i <= #term do
    local ch = term:sub(i, i)
    if term:sub(i, i + 2) == '...' then
      if seen_ellipsis then error(string.format("einsum: more than one '...' in %s", which), 3) end
      seen_ellipsis = true
      i = i + 3
    elseif ch:match('%a') then
      local list = seen_ellipsis and after or before
      list[#list + 1] = ch:byte()
      i = i + 1
    else
      error(string.format("einsum: invalid character '%s' in %s (labels are letters a-z, A-Z)", ch, which), 3)
    end
  end
  local explicit = #before + #after
  if ndim and (seen_ellipsis and explicit > ndim or not seen_ellipsis and explicit ~= ndim) then
    error(string.format('einsum: %s has %d labels for a tensor of %d dimension%s', which, explicit, ndim,
                        ndim == 1 and '' or 's'), 3)
  end
  for _, l in ipairs(before) do labels[#labels + 1] = l end
  local covered = ndim and seen_ellipsis and ndim - explicit or 0
  for j = covered, 1, -1 do labels[#labels + 1] = ELLIPSIS + j end
  for _, l in ipairs(after) do labels[#labels + 1] = l end
  return labels, seen_ellipsis, covered
end

-- Sums x over its dims whose labels are in `drop` (a set), as a product with a vector of ones.
local function sum_out(x, labels, drop)
  local keep, gone, perm = {}, {}, {}
  for d, l in ipairs(labels) do
    if drop[l] then gone[#gone + 1] = d else keep[#keep + 1] = d end
  end
  if #gone == 0 then return x, labels end
  local sizes, kept_labels, rest, count, kept = dims_of(x), {}, {}, 1, 1
  for _, d in ipairs(keep) do
    perm[#perm + 1] = d
    kept_labels[#kept_labels + 1] = labels[d]
    rest[#rest + 1] = sizes[d]
    kept = kept * sizes[d]
  end
  for _, d in ipairs(gone) do
    perm[#perm + 1] = d
    count = count * sizes[d]
  end
  local ones = torch.ones(count, { dtype = x:dtype(), device = x:device() })
  -- both sizes spelled out: with a summed dim of size 0, reshape(-1, 0) could not infer the kept size
  local y = x:permute(perm):reshape(kept, count):mv(ones)
  return y:reshape(rest), kept_labels
end

-- Takes the diagonal of every label that appears twice in one operand.
local function diagonals(x, labels)
  local again = true
  while again do
    again = false
    for i = 1, #labels do
      for j = i + 1, #labels do
        if labels[i] == labels[j] then
          local l = labels[i]
          if x:size(i) ~= x:size(j) then
            error(string.format("einsum: label '%s' repeats over dims of sizes %d and %d", l < ELLIPSIS and
                                string.char(l) or '...', x:size(i), x:size(j)), 3)
          end
          x = x:diagonal(0, i, j) -- the diagonal becomes the last dim
          table.remove(labels, j)
          table.remove(labels, i)
          labels[#labels + 1] = l
          again = true
          break
        end
      end
      if again then break end
    end
  end
  return x, labels
end

-- The contraction of x (labels lx) with y (labels ly), keeping the labels in `needed` (a set).
local function contract(x, lx, y, ly, needed)
  local in_y, sx, sy = {}, dims_of(x), dims_of(y)
  local size = {}
  for d, l in ipairs(ly) do
    in_y[l] = d
    size[l] = sy[d]
  end
  local in_x = {}
  for d, l in ipairs(lx) do
    in_x[l] = d
    if size[l] ~= nil and size[l] ~= sx[d] and size[l] ~= 1 and sx[d] ~= 1 then
      local name = l < ELLIPSIS and "label '" .. string.char(l) .. "'" or "a dim of '...'"
      error(string.format('einsum: %s has size %d in one operand and %d in another', name, sx[d], size[l]), 3)
    end
    if size[l] == nil or size[l] == 1 then size[l] = sx[d] end
  end
  local batch, left, right, summed = {}, {}, {}, {}
  for _, l in ipairs(lx) do
    if in_y[l] then
      if needed[l] then batch[#batch + 1] = l else summed[#summed + 1] = l end
    else
      left[#left + 1] = l
    end
  end
  for _, l in ipairs(ly) do
    if not in_x[l] then right[#right + 1] = l end
  end
  local function arrange(t, at, groups)
    local perm, shape, product = {}, {}, {}
    for g, group in ipairs(groups) do
      product[g] = 1
      for _, l in ipairs(group) do
        perm[#perm + 1] = at[l]
        shape[#shape + 1] = size[l]
        product[g] = product[g] * size[l]
      end
    end
    return t:permute(perm):expand(shape):reshape(product)
  end
  -- x -> [batch, left, summed], y -> [batch, summed, right]
  local bx = arrange(x, in_x, { batch, left, summed })
  local by = arrange(y, in_y, { batch, summed, right })
  local r = bx:bmm(by)
  local shape, labels = {}, {}
  for _, group in ipairs({ batch, left, right }) do
    for _, l in ipairs(group) do
      shape[#shape + 1] = size[l]
      labels[#labels + 1] = l
    end
  end
  return r:reshape(shape), labels
end

--- torch.einsum(equation, operands...) -> Tensor
-- Einstein summation: 'ij,jk->ik' is a matrix product, 'bij,bjk->bik' a batched one, 'ii->i' a diagonal,
-- 'ij->' a sum, 'i,j->ij' an outer product, '...ij->...ji' a transpose of the last two dims. Operands may be
-- given as varargs or as one table. Without '->' the output holds the labels that appear once, in
-- alphabetical order (PyTorch's rule). Products run as batched matrix products (bmm) over permuted views;
-- several operands are contracted left to right.
-- Example: torch.einsum('bhqd,bhkd->bhqk', q, k)
function torch.einsum(equation, ...)
  if type(equation) ~= 'string' then fail('einsum', 'expected an equation string, got %s', type(equation)) end
  local ops = { ... }
  if #ops == 1 and type(ops[1]) == 'table' and getmetatable(ops[1]) ~= mt then ops = ops[1] end
  local eq = equation:gsub('%s', '')
  local lhs, rhs = eq:match('^(.-)%->(.*)$')
  lhs = lhs or eq
  local terms = {}
  for term in (lhs .. ','):gmatch('([^,]*),') do terms[#terms + 1] = term end
  if #terms ~= #ops then
    fail('einsum', 'the equation has %d operand%s but %d tensor%s given', #terms, #terms == 1 and '' or 's',
             #ops, #ops == 1 and ' was' or 's were')
  end
  local labels, counts, max_covered, any_ellipsis = {}, {}, 0, false
  for i, x in ipairs(ops) do
    operand('einsum', x, 'operand ' .. i)
    local l, has_ellipsis, covered = parse_term(terms[i], x:dim(), 'operand ' .. i)
    labels[i] = l
    any_ellipsis = any_ellipsis or has_ellipsis
    if covered > max_covered then max_covered = covered end
    for _, id in ipairs(l) do counts[id] = (counts[id] or 0) + 1 end
  end
  -- the output's labels
  local out_labels = {}
  if rhs then
    local l, has_ellipsis = parse_term(rhs, nil, 'the output')
    for _, id in ipairs(l) do
      if id < ELLIPSIS then
        if not counts[id] then fail('einsum', "the output label '%s' appears in no operand", string.char(id)) end
        out_labels[#out_labels + 1] = id
      end
    end
    if has_ellipsis then -- the ellipsis dims go where '...' stands
      local pos = rhs:find('...', 1, true)
      local before = select(2, rhs:sub(1, pos - 1):gsub('%a', ''))
      for j = max_covered, 1, -1 do table.insert(out_labels, before + 1 + (max_covered - j), ELLIPSIS + j) end
    end
    local seen = {}
    for _, id in ipairs(out_labels) do
      if seen[id] and id < ELLIPSIS then fail('einsum', "the output label '%s' appears twice", string.char(id)) end
      seen[id] = true
    end
  else
    for j = max_covered, 1, -1 do out_labels[#out_labels + 1] = ELLIPSIS + j end
    local singles = {}
    for id, n in pairs(counts) do
      if n == 1 and id < ELLIPSIS then singles[#singles + 1] = id end
    end
    table.sort(singles)
    for _, id in ipairs(singles) do out_labels[#out_labels + 1] = id end
  end
  local in_output = {}
  for _, id in ipairs(out_labels) do in_output[id] = true end
  -- every operand: diagonals of repeated labels, then sums over labels no one else needs
  local xs, ls = {}, {}
  for i, x in ipairs(ops) do
    local y, l = diagonals(x, { unpack(labels[i]) })
    local drop, others = {}, {}
    for j = 1, #ops do
      if j ~= i then for _, id in ipairs(labels[j]) do others[id] = true end end
    end
    for _, id in ipairs(l) do
      if not in_output[id] and not others[id] then drop[id] = true end
    end
    xs[i], ls[i] = sum_out(y, l, drop)
  end
  -- left to right, contracting what neither the output nor a later operand needs
  local x, lx = xs[1], ls[1]
  for i = 2, #xs do
    local needed = {}
    for id in pairs(in_output) do needed[id] = true end
    for j = i + 1, #xs do for _, id in ipairs(ls[j]) do needed[id] = true end end
    x, lx = contract(x, lx, xs[i], ls[i], needed)
  end
  -- a label left that the output lacks (one operand) is summed; then the output's order
  local drop = {}
  for _, id in ipairs(lx) do if not in_output[id] then drop[id] = true end end
  x, lx = sum_out(x, lx, drop)
  local at, perm = {}, {}
  for d, id in ipairs(lx) do at[id] = d end
  for _, id in ipairs(out_labels) do perm[#perm + 1] = at[id] end
  if #perm > 1 then x = x:permute(perm) end
  return x
end

-- ---- torch.linalg ----

local linalg = torch.linalg or {}
torch.linalg = linalg
local results = ffi.new('tn_tensor*[3]')

local function matrix(fn, a) return operand(fn, a, 'the matrix') end

--- torch.linalg.inv(A, {out=}) -> Tensor
-- The inverse of a square matrix, or of each matrix of a batch [*, n, n] (float32 or float64), through
-- LAPACK's LU factorisation. A singular matrix raises an error naming which one. Aliases: torch.inverse,
-- A:inverse().
function linalg.inv(a, opts)
  local ac, out = matrix('linalg.inv', a), out_of('linalg.inv', opts)
  local r = C.tn_linalg_inv(out and out._c, ac)
  if r == nil then c_error() end
  return out or wrap(r)
end

--- torch.linalg.solve(A, B, {left=true, out=}) -> Tensor
-- The solution X of A X = B (left=false: X A = B) for square A [*, n, n] and B [*, n, k], or B [*, n] (a
-- vector, or a batch of vectors, when B has one dim less than A); batch dims broadcast. Singular A raises.
-- Example: torch.linalg.solve(A, b)  -- b a vector
function linalg.solve(a, b, opts)
  local ac, bc = matrix('linalg.solve', a), operand('linalg.solve', b, 'B')
  local out = out_of('linalg.solve', opts)
  local left = true
  if opts and opts.left ~= nil then left = opts.left end
  local r = C.tn_linalg_solve(out and out._c, ac, bc, left and 1 or 0)
  if r == nil then c_error() end
  return out or wrap(r)
end

--- torch.linalg.det(A, {out=}) -> Tensor
-- The determinant of a square matrix (a 0-d tensor) or of each matrix of a batch, from the LU
-- factorisation. Aliases: torch.det, A:det().
function linalg.det(a, opts)
  local ac, out = matrix('linalg.det', a), out_of('linalg.det', opts)
  local r = C.tn_linalg_det(out and out._c, ac)
  if r == nil then c_error() end
  return out or wrap(r)
end

--- torch.linalg.slogdet(A) -> sign, logabsdet
-- The sign (-1, 0 or 1) and the log of the absolute value of the determinant, as two tensors: det =
-- sign * exp(logabsdet) without overflow for large matrices. A singular matrix gives sign 0 and -inf.
function linalg.slogdet(a)
  if C.tn_linalg_slogdet(matrix('linalg.slogdet', a), results, results + 1) ~= 0 then c_error() end
  return wrap(results[0]), wrap(results[1])
end

--- torch.linalg.cholesky(A, {upper=false, out=}) -> Tensor
-- The Cholesky factor L (lower triangular, A = L L') of a symmetric positive-definite matrix, or U = L'
-- with upper=true; only that triangle of A is read. A matrix that is not positive-definite raises.
function linalg.cholesky(a, opts)
  local ac, out = matrix('linalg.cholesky', a), out_of('linalg.cholesky', opts)
  local upper = opts and opts.upper or false
  local r = C.tn_linalg_cholesky(out and out._c, ac, upper and 1 or 0)
  if r == nil then c_error() end
  return out or wrap(r)
end

local QR_MODES = { reduced = 0, complete = 1, r = 2 }

--- torch.linalg.qr(A, mode='reduced') -> Q, R
-- The QR factorisation A = Q R of an [m x n] matrix (or batch): Q with orthonormal columns, R upper
-- triangular. mode (positional or {mode=}): 'reduced' (Q [m x k], R [k x n], k = min(m, n)), 'complete'
-- (Q [m x m], R [m x n]) or 'r' (R only; Q is an empty tensor). Differentiable in 'reduced' mode, and in
-- 'complete' mode when m <= n, as in PyTorch.
function linalg.qr(a, mode)
  local ac = matrix('linalg.qr', a)
  if is_opts(mode) then mode = mode.mode end
  local m = QR_MODES[mode or 'reduced']
  if not m then fail('linalg.qr', "mode must be 'reduced', 'complete' or 'r', got %s", tostring(mode)) end
  if C.tn_linalg_qr(ac, m, results, results + 1) ~= 0 then c_error() end
  return wrap(results[0]), wrap(results[1])
end

--- torch.linalg.svd(A, full_matrices=true) -> U, S, Vh
-- The singular value decomposition A = U diag(S) Vh of an [m x n] matrix (or batch), singular values in
-- descending order (LAPACK's gesdd on the CPU, cuSOLVER's gesvd on CUDA: singular vectors are unique only up to
-- sign, and the two may differ there). full_matrices (positional or {full_matrices=}, default true as in
-- PyTorch): U [m x m] and Vh [n x n]; false: U [m x k], Vh [k x n], k = min(m, n). Differentiable as in PyTorch,
-- for distinct singular values (nonzero ones where m ~= n and U or Vh gets a gradient); with full_matrices the
-- columns of U and rows of Vh past k get none. A loss should not depend on the vectors' signs.
function linalg.svd(a, full)
  local ac = matrix('linalg.svd', a)
  if is_opts(full) then full = full.full_matrices end
  if full == nil then full = true end
  if C.tn_linalg_svd(ac, full and 1 or 0, 1, results, results + 1, results + 2) ~= 0 then c_error() end
  return wrap(results[0]), wrap(results[1]), wrap(results[2])
end

--- torch.linalg.svdvals(A) -> Tensor
-- The singular values of A (or of each matrix of a batch), in descending order. Differentiable.
function linalg.svdvals(a)
  local ac = matrix('linalg.svdvals', a)
  if C.tn_linalg_svd(ac, 0, 0, results, results + 1, results + 2) ~= 0 then c_error() end
  C.tn_tensor_free(results[0])
  C.tn_tensor_free(results[2])
  return wrap(results[1])
end

local function uplo_of(fn, uplo)
  if is_opts(uplo) then uplo = uplo.UPLO or uplo.uplo end
  if uplo == nil or uplo == 'L' then return 0 end
  if uplo == 'U' then return 1 end
  bad_argument(fn, "UPLO must be 'L' or 'U', got %s", tostring(uplo))
end

--- torch.linalg.eigh(A, UPLO='L') -> eigenvalues, eigenvectors
-- The eigenvalues (ascending) and orthonormal eigenvectors (the columns of the second result) of a
-- symmetric matrix or batch; only the triangle UPLO ('L' lower, 'U' upper; positional or {UPLO=}) is read.
-- Differentiable for distinct eigenvalues; the gradient is symmetric, as in PyTorch.
function linalg.eigh(a, uplo)
  local ac = matrix('linalg.eigh', a)
  if C.tn_linalg_eigh(ac, uplo_of('linalg.eigh', uplo), results, results + 1) ~= 0 then c_error() end
  return wrap(results[0]), wrap(results[1])
end

--- torch.linalg.eigvalsh(A, UPLO='L') -> Tensor
-- The eigenvalues (ascending) of a symmetric matrix or batch. Differentiable.
function linalg.eigvalsh(a, uplo)
  local ac = matrix('linalg.eigvalsh', a)
  if C.tn_linalg_eigh(ac, uplo_of('linalg.eigvalsh', uplo), results, nil) ~= 0 then c_error() end
  return wrap(results[0])
end

--- torch.linalg.matmul(a, b, {out=}) -> Tensor
-- torch.matmul.
linalg.matmul = torch.matmul

--- torch.linalg.multi_dot(list) -> Tensor
-- The product of a list of matrices, multiplied in the cheapest order (dynamic programming over the chain);
-- the first may be a vector (a row) and the last a vector (a column), as in PyTorch.
function linalg.multi_dot(list)
  if type(list) ~= 'table' or #list < 2 then fail('linalg.multi_dot', 'expected a list of at least 2 tensors') end
  local n = #list
  local mats, dims = {}, {}
  for i, x in ipairs(list) do
    operand('linalg.multi_dot', x, 'tensor ' .. i)
    local d = x:dim()
    if d == 1 and (i == 1 or i == n) then
      x = i == 1 and x:unsqueeze(1) or x:unsqueeze(2)
    elseif d ~= 2 then
      fail('linalg.multi_dot', 'tensor %d must be 2-d (the first and last may be 1-d), got %d dims', i, d)
    end
    mats[i] = x
  end
  for i = 1, n do dims[i] = mats[i]:size(1) end
  dims[n + 1] = mats[n]:size(2)
  -- cost[i][j]: the cheapest product of mats i..j; split[i][j] where it splits
  local cost, split = {}, {}
  for i = 1, n do cost[i], split[i] = { [i] = 0 }, {} end
  for len = 2, n do
    for i = 1, n - len + 1 do
      local j = i + len - 1
      cost[i][j] = math.huge
      for s = i, j - 1 do
        local c = cost[i][s] + cost[s + 1][j] + dims[i] * dims[s + 1] * dims[j + 1]
        if c < cost[i][j] then cost[i][j], split[i][j] = c, s end
      end
    end
  end
  local function product(i, j)
    if i == j then return mats[i] end
    local s = split[i][j]
    return product(i, s):mm(product(s + 1, j))
  end
  local r = product(1, n)
  if list[1]:dim() == 1 then r = r:squeeze(1) end
  if list[n]:dim() == 1 then r = r:squeeze(-1) end
  return r
end

--- torch.linalg.matrix_power(A, n) -> Tensor
-- A multiplied by itself n times (n an integer; 0 gives the identity, a negative n the power of the
-- inverse), by repeated squaring; batches work too.
function linalg.matrix_power(a, n)
  operand('linalg.matrix_power', a, 'the matrix')
  args.integer('linalg.matrix_power', 'n', n)
  local d = a:dim()
  if d < 2 or a:size(d) ~= a:size(d - 1) then
    fail('linalg.matrix_power', 'expected square matrices, got %d dims', d)
  end
  if n == 0 then
    local k = a:size(d)
    -- (chosen from I and a by where: the result stays in a's graph with a zero gradient, as PyTorch's, and an
    -- infinite or NaN element of a does not reach it)
    local eye = torch.eye(k, { dtype = a:dtype(), device = a:device() }):expand(a:shape())
    return torch.where(torch.ones(a:shape(), { dtype = 'bool', device = a:device() }), eye, a)
  end
  local base = n < 0 and linalg.inv(a) or a
  n = math.abs(n)
  local result
  while n > 0 do
    if n % 2 == 1 then result = result and result:matmul(base) or base:clone() end
    n = math.floor(n / 2)
    if n > 0 then base = base:matmul(base) end
  end
  return result
end

-- ---- norms, pseudo-inverse, rank, condition number ----

local function all_dims(x)
  local d = {}
  for i = 1, x:dim() do d[i] = i end
  return d
end

-- an ord given as a string ('fro', 'nuc', 'inf', '-inf') or a number
local function ord_of(ord)
  if ord == 'inf' then return math.huge end
  if ord == '-inf' then return -math.huge end
  return ord
end

--- torch.linalg.vector_norm(x, ord=2, dim=nil, keepdim=false) -> Tensor
-- The ord-norm (sum |x|^ord)^(1/ord) of x's elements, over all of them (dim nil) or over dim (a number or a
-- table of dims); ord may be any number, inf or -inf (max and min of |x|) or 0 (the count of nonzeros).
-- Arguments may also be given as a table {ord=, dim=, keepdim=}. Always a tensor (0-d without dims). Over a dim
-- of size 0, inf and the negative orders raise (they have no identity), as in PyTorch.
function linalg.vector_norm(x, ord, dim, keepdim)
  operand('linalg.vector_norm', x, 'the input')
  if is_opts(ord) then ord, dim, keepdim = ord.ord, ord.dim, ord.keepdim end
  ord = ord_of(ord == nil and 2 or ord)
  if type(ord) ~= 'number' then fail('linalg.vector_norm', 'ord must be a number, got %s', tostring(ord)) end
  -- max |x| (inf), min |x| (-inf) and the negative orders have no identity: over no elements they have no value,
  -- and PyTorch refuses them (the older x:norm keeps its 0, as PyTorch's torch.norm does)
  if x:numel() == 0 and (ord < 0 or ord == math.huge) then
    local dims = dim == nil and all_dims(x) or (type(dim) == 'table' and dim or { dim })
    if #dims == 0 then dims = all_dims(x) end
    for _, d in ipairs(dims) do
      if x:size(d) == 0 then
        fail('linalg.vector_norm', 'cannot take the %s-norm over dimension %d of size 0 (the tensor has size [%s]): it has no identity',
             tostring(ord), d, table.concat(x:shape(), ' x '))
      end
    end
  end
  if x:dim() == 0 then return x:reshape(1):norm(ord, 1) end
  return x:norm(ord, dim == nil and all_dims(x) or dim, keepdim or false)
end

-- The last two dims of a matrix norm's input, as positive 1-based dims.
local function matrix_dims(fn, a, dim)
  local nd = a:dim()
  if nd < 2 then fail(fn, 'expected a matrix or a batch of matrices, got %d dimension%s', nd, nd == 1 and '' or 's') end
  dim = dim or { -2, -1 }
  if type(dim) ~= 'table' or #dim ~= 2 then fail(fn, 'dim must be a table of two dims') end
  local d1, d2 = dim[1] < 0 and dim[1] + nd + 1 or dim[1], dim[2] < 0 and dim[2] + nd + 1 or dim[2]
  if d1 == d2 or d1 < 1 or d2 < 1 or d1 > nd or d2 > nd then
    fail(fn, 'dim must name two different dims of a tensor of %d dimensions, got {%s, %s}', nd, tostring(dim[1]),
         tostring(dim[2]))
  end
  return d1, d2
end

--- torch.linalg.matrix_norm(A, ord='fro', dim={-2, -1}, keepdim=false) -> Tensor
-- A matrix norm of each matrix in dims dim: 'fro' (Frobenius), 'nuc' (the sum of the singular values), 2 and -2
-- (the largest and smallest singular value), 1 and -1 (the largest and smallest column sum of |A|), inf and
-- -inf (row sums). Arguments may also be given as a table {ord=, dim=, keepdim=}.
function linalg.matrix_norm(a, ord, dim, keepdim)
  local fn = 'linalg.matrix_norm'
  operand(fn, a, 'the input')
  if is_opts(ord) then ord, dim, keepdim = ord.ord, ord.dim, ord.keepdim end
  ord = ord_of(ord == nil and 'fro' or ord)
  local d1, d2 = matrix_dims(fn, a, dim)
  local r
  if ord == 'fro' then
    r = a:norm(2, { d1, d2 }, keepdim or false)
  else
    -- the matrices into the last two dims
    local perm = {}
    for d = 1, a:dim() do if d ~= d1 and d ~= d2 then perm[#perm + 1] = d end end
    perm[#perm + 1], perm[#perm + 2] = d1, d2
    local m = a:permute(perm)
    if ord == 'nuc' then
      r = linalg.svdvals(m):sum(-1)
    elseif ord == 2 then
      r = linalg.svdvals(m):amax(-1)
    elseif ord == -2 then
      r = linalg.svdvals(m):amin(-1)
    elseif ord == 1 or ord == -1 then
      local sums = m:abs():sum(-2)
      r = ord == 1 and sums:amax(-1) or sums:amin(-1)
    elseif ord == math.huge or ord == -math.huge then
      local sums = m:abs():sum(-1)
      r = ord > 0 and sums:amax(-1) or sums:amin(-1)
    else
      fail(fn, "ord must be 'fro', 'nuc', 1, -1, 2, -2, inf or -inf, got %s", tostring(ord))
    end
    if keepdim then r = r:unsqueeze(math.min(d1, d2)):unsqueeze(math.max(d1, d2)) end
  end
  return r
end

--- torch.linalg.norm(A, ord=nil, dim=nil, keepdim=false) -> Tensor
-- A vector norm (dim a number, or A 1-d, or ord and dim both nil: the 2-norm of all elements) or a matrix
-- norm (dim two dims, or A 2-d with an ord), as torch.linalg.vector_norm and matrix_norm. Arguments may
-- also be given as a table {ord=, dim=, keepdim=}.
function linalg.norm(a, ord, dim, keepdim)
  operand('linalg.norm', a, 'the input')
  if is_opts(ord) then ord, dim, keepdim = ord.ord, ord.dim, ord.keepdim end
  local matrix = (type(dim) == 'table' and #dim == 2) or (dim == nil and ord ~= nil and a:dim() == 2)
  if matrix then return linalg.matrix_norm(a, ord, dim, keepdim) end
  if ord == nil and dim == nil then return linalg.vector_norm(a, 2, nil, keepdim) end
  if dim == nil and a:dim() ~= 1 then
    fail('linalg.norm', 'an ord needs a 1-d or 2-d input, or dim, got %d dimensions', a:dim())
  end
  return linalg.vector_norm(a, ord == nil and 2 or ord, dim, keepdim)
end

-- singular values no larger than rtol times the largest (and atol) count as zero
local function tolerance(s, rtol, atol, m, n)
  if rtol == nil then
    local eps = s:dtype() == 'float64' and 2.220446049250313e-16 or 1.1920928955078125e-07
    rtol = (atol ~= nil and atol > 0) and 0 or math.max(m, n) * eps
  end
  if s:size(-1) == 0 then return torch.zeros({}, { dtype = s:dtype() }) end -- nothing to compare
  return (s:amax(-1, true) * rtol):clamp({ min = atol or 0 })
end

--- torch.linalg.pinv(A, {rtol=, atol=, hermitian=false}) -> Tensor
-- The Moore-Penrose pseudo-inverse of an [m x n] matrix (or batch), [n x m], from the SVD (or eigh when
-- hermitian): singular values below max(atol, rtol * the largest) count as zero (rtol defaults to
-- max(m, n) * eps when atol is not given, as in PyTorch).
function linalg.pinv(a, opts)
  operand('linalg.pinv', a, 'the input')
  opts = opts or {}
  local m, n = a:size(-2), a:size(-1)
  if opts.hermitian then
    local w, v = linalg.eigh(a)
    local keep = w:abs():gt(tolerance(w:abs(), opts.rtol, opts.atol, m, n))
    local inv = torch.where(keep, w:reciprocal(), 0)
    return (v * inv:unsqueeze(-2)):matmul(v:transpose(-2, -1))
  end
  local u, s, vh = linalg.svd(a, false)
  local keep = s:gt(tolerance(s, opts.rtol, opts.atol, m, n))
  local inv = torch.where(keep, s:reciprocal(), 0)
  return (vh:transpose(-2, -1) * inv:unsqueeze(-2)):matmul(u:transpose(-2, -1))
end

--- torch.linalg.matrix_rank(A, {rtol=, atol=, hermitian=false}) -> Tensor
-- The number of singular values (of each matrix of a batch) above the tolerance of torch.linalg.pinv, as int64.
function linalg.matrix_rank(a, opts)
  operand('linalg.matrix_rank', a, 'the input')
  opts = opts or {}
  local s = opts.hermitian and linalg.eigvalsh(a):abs() or linalg.svdvals(a)
  return s:gt(tolerance(s, opts.rtol, opts.atol, a:size(-2), a:size(-1))):sum(-1)
end

--- torch.linalg.cond(A, ord=nil) -> Tensor
-- The condition number of a matrix (or batch): the ratio of its largest to smallest singular value (ord nil
-- or 2), or norm(A, ord) * norm(inv(A), ord) for the other matrix norms ('fro', 'nuc', inf, -inf, 1, -1, -2).
function linalg.cond(a, ord)
  operand('linalg.cond', a, 'the input')
  if is_opts(ord) then ord = ord.ord end
  ord = ord_of(ord)
  if ord == nil or ord == 2 or ord == -2 then
    local s = linalg.svdvals(a)
    local hi, lo = s:amax(-1), s:amin(-1)
    return ord == -2 and lo / hi or hi / lo
  end
  return linalg.matrix_norm(a, ord) * linalg.matrix_norm(linalg.inv(a), ord)
end

--- torch.linalg.diagonal(A, {offset=0, dim1=-2, dim2=-1}) -> Tensor
-- A view of the diagonals of the matrices in dims dim1 and dim2 of A (by default its last two, where
-- Tensor:diagonal defaults to its first two), offset above the main one (negative: below), as a new last dim.
-- Differentiable, as the view it is.
function linalg.diagonal(a, opts)
  local fn = 'linalg.diagonal'
  operand(fn, a, 'A')
  if opts ~= nil and not is_opts(opts) then
    fail(fn, 'expected an options table {offset=, dim1=, dim2=}, got %s', type(opts))
  end
  opts = opts or {}
  args.check_option_keys(fn, opts, { 'offset', 'dim1', 'dim2' })
  if a:dim() < 2 then fail(fn, 'expected a tensor with at least 2 dimensions, got %d', a:dim()) end
  local offset, d1, d2 = opts.offset or 0, opts.dim1 or -2, opts.dim2 or -1
  args.integer(fn, 'offset', offset)
  if args.dim(fn, d1, a:dim()) == args.dim(fn, d2, a:dim()) then
    fail(fn, 'dim1 and dim2 must be two different dims, got %d and %d', d1, d2)
  end
  return a:diagonal(offset, d1, d2)
end

-- The options of the older norms: (x, dim, keepdim) or (x, {dim=, keepdim=}); dim a number or a list of them.
local function norm_args(fn, x, dim, keepdim)
  operand(fn, x, 'the input')
  if is_opts(dim) and keepdim == nil then
    args.check_option_keys(fn, dim, { 'dim', 'keepdim' })
    dim, keepdim = dim.dim, dim.keepdim
  end
  if keepdim ~= nil and type(keepdim) ~= 'boolean' then
    fail(fn, 'keepdim must be true or false, got %s', tostring(keepdim))
  end
  if type(dim) == 'number' then dim = { dim } end
  if dim ~= nil and type(dim) ~= 'table' then fail(fn, 'dim must be a dim or a list of dims, got %s', type(dim)) end
  return dim, keepdim or false
end

--- torch.frobenius_norm(x, [dim, keepdim=false]) -> Tensor
-- The square root of the sum of squares of x's elements: over all of them without dim, else over dim (one dim
-- or a list of at most two different ones); PyTorch's older spelling of linalg.vector_norm (linalg.norm with
-- ord 'fro'). Floating dtypes only. Arguments positional or as {dim=, keepdim=}. Differentiable.
function torch.frobenius_norm(x, dim, keepdim)
  local fn = 'frobenius_norm'
  dim, keepdim = norm_args(fn, x, dim, keepdim)
  if not require('tensor.dtype').floating[tonumber(x._c.dtype)] then
    fail(fn, 'expected a floating-point tensor, got %s', x:dtype())
  end
  if dim ~= nil then
    if #dim > 2 then fail(fn, 'expected at most 2 dims, got %d', #dim) end
    for _, d in ipairs(dim) do args.dim(fn, d, x:dim()) end
    if #dim == 2 and args.dim(fn, dim[1], x:dim()) == args.dim(fn, dim[2], x:dim()) then
      fail(fn, 'expected two different dims, got {%d, %d}', dim[1], dim[2])
    end
    if #dim == 0 then dim = nil end -- (PyTorch's dim=(): all of them)
  end
  return linalg.vector_norm(x, 2, dim, keepdim)
end

--- torch.nuclear_norm(A, [dim], keepdim=false) -> Tensor
-- The nuclear norm (the sum of the singular values) of a matrix (A 2-d, without dim) or of the matrices in the
-- two dims of dim: PyTorch's older spelling of linalg.matrix_norm(A, 'nuc'). float32 and float64. keepdim may
-- come second when there is no dim (nuclear_norm(A, true)); arguments also as {dim=, keepdim=}.
-- Differentiable.
function torch.nuclear_norm(a, dim, keepdim)
  local fn = 'nuclear_norm'
  if type(dim) == 'boolean' and keepdim == nil then dim, keepdim = nil, dim end
  dim, keepdim = norm_args(fn, a, dim, keepdim)
  local dt = a:dtype()
  if dt ~= 'float32' and dt ~= 'float64' then fail(fn, 'expected float32 or float64 matrices, got %s', dt) end
  if dim == nil then
    if a:dim() ~= 2 then fail(fn, 'expected a 2-d tensor without dim, got %d dimensions', a:dim()) end
    dim = { 1, 2 }
  end
  if #dim ~= 2 then fail(fn, 'dim must hold two dims, got %d', #dim) end
  return linalg.matrix_norm(a, 'nuc', dim, keepdim)
end

--- torch.matrix_rank(A, tol=nil, symmetric=false) -> Tensor
-- The rank of a matrix (or batch) as PyTorch before 1.9 counted it: singular values (eigenvalues' magnitudes
-- with symmetric=true) above tol, by default max(m, n) * eps times the largest: linalg.matrix_rank(A,
-- {atol=tol, rtol=0, hermitian=symmetric}). PyTorch 1.13 has removed it (it raises, pointing to
-- linalg.matrix_rank); here it stays as that alias. Arguments positional or as {tol=, symmetric=}.
function torch.matrix_rank(a, tol, symmetric)
  local fn = 'matrix_rank'
  operand(fn, a, 'the input')
  if is_opts(tol) then
    args.check_option_keys(fn, tol, { 'tol', 'symmetric' })
    tol, symmetric = tol.tol, tol.symmetric
  end
  if tol ~= nil then args.number(fn, 'tol', tol) end
  if symmetric ~= nil and type(symmetric) ~= 'boolean' then
    fail(fn, 'symmetric must be true or false, got %s', tostring(symmetric))
  end
  local opts = { hermitian = symmetric or false }
  if tol ~= nil then opts.atol, opts.rtol = tol, 0 end
  return linalg.matrix_rank(a, opts)
end

-- ---- cross product ----

local function cross_along(a, b, d)
  local ax, ay, az = a:narrow(d, 1, 1), a:narrow(d, 2, 1), a:narrow(d, 3, 1)
  local bx, by, bz = b:narrow(d, 1, 1), b:narrow(d, 2, 1), b:narrow(d, 3, 1)
  return torch.cat({ ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx }, d)
end

-- a and b broadcast together, and dim d (1-based, positive) of the result, which must have size 3.
local function cross_operands(fn, a, b, dim)
  operand(fn, a, 'the input')
  operand(fn, b, 'other')
  a, b = torch.broadcast_tensors(a, b)
  local n = a:dim()
  if dim == nil then -- PyTorch's torch.cross: the first dim of size 3
    for d = 1, n do
      if a:size(d) == 3 then dim = d break end
    end
    if dim == nil then
      args.argerror(fn, 'no dimension of size 3 in inputs of size %s', '[' .. table.concat(a:shape(), ' x ') .. ']')
    end
  end
  local d = args.dim(fn, dim, n) + 1
  if a:size(d) ~= 3 then
    args.argerror(fn, 'dimension %d must have size 3, got %d (inputs of size %s)', d, a:size(d),
                  '[' .. table.concat(a:shape(), ' x ') .. ']')
  end
  return a, b, d
end

--- torch.linalg.cross(a, b, {dim=-1}) -> Tensor
-- The cross product of the 3-vectors along dim (of size 3) of a and b, which broadcast together.
-- Example: torch.linalg.cross(torch.tensor({1, 0, 0}), torch.tensor({0, 1, 0}))   -- {0, 0, 1}
function linalg.cross(a, b, opts)
  local dim = -1
  if is_opts(opts) and opts.dim ~= nil then dim = opts.dim elseif type(opts) == 'number' then dim = opts end
  local x, y, d = cross_operands('linalg.cross', a, b, dim)
  return cross_along(x, y, d)
end

--- torch.cross(a, b, [dim]) -> Tensor
--- Tensor:cross(b, [dim]) -> Tensor
-- linalg.cross along dim, by default the first dim of size 3 (Torch7's and PyTorch's torch.cross).
function torch.cross(a, b, dim)
  if is_opts(dim) then dim = dim.dim end
  local x, y, d = cross_operands('cross', a, b, dim)
  return cross_along(x, y, d)
end
function Tensor:cross(b, dim) return torch.cross(self, b, dim) end

--- torch.kron(a, b) -> Tensor
--- Tensor:kron(b) -> Tensor
-- The Kronecker product: for tensors of n dims (the one with fewer gets leading dims of size 1), the tensor of
-- sizes a:size(d) * b:size(d) whose block at each position of a is that element of a times b. Differentiable.
-- Example: torch.kron(torch.eye(2), torch.ones(2, 2))   -- a 4 x 4 block-diagonal matrix of ones
function torch.kron(a, b)
  operand('kron', a, 'the input')
  operand('kron', b, 'other')
  local sa, sb = a:shape(), b:shape()
  local n = math.max(#sa, #sb)
  while #sa < n do table.insert(sa, 1, 1) end
  while #sb < n do table.insert(sb, 1, 1) end
  local spread_a, spread_b, result = {}, {}, {}
  for d = 1, n do
    spread_a[2 * d - 1], spread_a[2 * d] = sa[d], 1
    spread_b[2 * d - 1], spread_b[2 * d] = 1, sb[d]
    result[d] = sa[d] * sb[d]
  end
  return (a:reshape(spread_a) * b:reshape(spread_b)):reshape(result)
end
function Tensor:kron(b) return torch.kron(self, b) end

--- torch.cdist(x1, x2, [p=2]) -> Tensor
-- The p-norm distances between the rows of x1 [(B x) P x M] and of x2 [(B x) R x M], as a [(B x) P x R] tensor;
-- p may be 0 (the count of differing coordinates), any positive number, or math.huge. For p = 2 with more than 25
-- rows on either side the distances come from products, ||a||^2 + ||b||^2 - 2 a.b, as PyTorch does. The gradient
-- at a zero distance is zero, as PyTorch's.
function torch.cdist(x1, x2, p)
  local fn = 'cdist'
  operand(fn, x1, 'x1')
  operand(fn, x2, 'x2')
  if type(p) == 'table' then p = p.p end
  p = p == nil and 2 or p
  if type(p) ~= 'number' or p < 0 or p ~= p then bad_argument(fn, 'p must be a non-negative number, got %s', tostring(p)) end
  if x1:dim() < 2 or x2:dim() < 2 or x1:size(-1) ~= x2:size(-1) then
    bad_argument(fn, 'expects [.. x P x M] and [.. x R x M] tensors, got %s and %s', '[' .. table.concat(x1:shape(), ' x ') .. ']',
                 '[' .. table.concat(x2:shape(), ' x ') .. ']')
  end
  if not require('tensor.dtype').floating[tonumber(x1._c.dtype)] then
    bad_argument(fn, 'expects floating point tensors, got %s', x1:dtype())
  end
  local function safe_root(s, root) -- s^(1/root) with a zero gradient where s is 0
    local positive = s:gt(0)
    local r = torch.where(positive, s, 1)
    r = root == 2 and r:sqrt() or r:pow(1 / root)
    return torch.where(positive, r, 0)
  end
  if p == 2 and (x1:size(-2) > 25 or x2:size(-2) > 25) then
    local n1, n2 = (x1 * x1):sum(-1):unsqueeze(-1), (x2 * x2):sum(-1):unsqueeze(-2)
    return safe_root((n1 + n2 - x1:matmul(x2:transpose(-2, -1)) * 2):clamp({ min = 0 }), 2)
  end
  local diff = (x1:unsqueeze(-2) - x2:unsqueeze(-3)):abs() -- [.. x P x R x M]
  if p == 0 then return diff:ne(0):to(x1:dtype()):sum(-1) end
  if p == math.huge then return diff:amax(-1) end
  if p == 1 then return diff:sum(-1) end
  return safe_root(p == 2 and (diff * diff):sum(-1) or diff:pow(p):sum(-1), p)
end

-- The PyTorch aliases and methods.

--- torch.inverse(A) -> Tensor
--- Tensor:inverse() -> Tensor
-- torch.linalg.inv.
torch.inverse = linalg.inv
function Tensor:inverse() return linalg.inv(self) end

--- torch.det(A) -> Tensor
--- Tensor:det() -> Tensor
-- torch.linalg.det.
torch.det = linalg.det
function Tensor:det() return linalg.det(self) end

--- torch.slogdet(A) -> sign, logabsdet
--- Tensor:slogdet() -> sign, logabsdet
-- torch.linalg.slogdet.
torch.slogdet = linalg.slogdet
function Tensor:slogdet() return linalg.slogdet(self) end

--- torch.logdet(A) -> Tensor
--- Tensor:logdet() -> Tensor
-- The log of the determinant: NaN where it is negative, -inf where it is 0.
function torch.logdet(a)
  local sign, logabs = linalg.slogdet(a)
  return torch.where(sign:lt(0), 0 / 0, logabs)
end
function Tensor:logdet() return torch.logdet(self) end

--- torch.cholesky(A, upper=false) -> Tensor
--- Tensor:cholesky(upper=false) -> Tensor
-- torch.linalg.cholesky with the upper flag given positionally (PyTorch's older function).
function torch.cholesky(a, upper)
  if is_opts(upper) then upper = upper.upper end
  return linalg.cholesky(a, { upper = upper or false })
end
function Tensor:cholesky(upper) return torch.cholesky(self, upper) end

--- torch.qr(A, some=true) -> Q, R
--- Tensor:qr(some=true) -> Q, R
-- PyTorch's older QR: some=true is mode 'reduced', false 'complete'.
function torch.qr(a, some)
  if is_opts(some) then some = some.some end
  return linalg.qr(a, some == false and 'complete' or 'reduced')
end
function Tensor:qr(some) return torch.qr(self, some) end

--- torch.svd(A, some=true, compute_uv=true) -> U, S, V
--- Tensor:svd(some=true, compute_uv=true) -> U, S, V
-- PyTorch's older SVD: returns V (not Vh), reduced unless some=false; with compute_uv=false, U and V are
-- zero-filled as in PyTorch.
function torch.svd(a, some, compute_uv)
  if is_opts(some) then some, compute_uv = some.some, some.compute_uv end
  local u, s, vh = linalg.svd(a, some == false)
  local v = vh:transpose(-2, -1)
  if compute_uv == false then return torch.zeros_like(u), s, torch.zeros_like(v) end
  return u, s, v
end
function Tensor:svd(some, compute_uv) return torch.svd(self, some, compute_uv) end

return M
