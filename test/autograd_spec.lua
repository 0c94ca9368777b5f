-- Autograd: every differentiable op against central finite differences (float64) on several shapes,
-- including broadcast and non-contiguous inputs; gradients and second derivatives against PyTorch; the
-- engine's semantics (retain_graph, hooks, retain_grad, custom Functions, grad mode, in-place rules) and its
-- errors; memory staying flat over a training-like loop.
local torch = require 'tensor'
local ref = require 'helpers.torchref'

local gradcheck = torch.autograd.gradcheck

local function R(...) return torch.randn(...):double():requires_grad_() end
local function P(...) return (torch.rand(...):double() + 0.5):requires_grad_() end -- positive
local function U(...) return (torch.rand(...):double() * 1.6 - 0.8):requires_grad_() end -- in (-0.8, 0.8)
-- a non-contiguous leaf: a transposed view materialised as its own leaf keeps the transposed strides
local function T(a, b) return torch.randn(b, a):double():t():requires_grad_() end

local function message(fn)
  local ok, err = pcall(fn)
  assert.is_false(ok, 'expected an error')
  return tostring(err)
end

describe('gradcheck of every differentiable op', function()
  torch.manual_seed(7)
  local cases = {
    -- unary element-wise
    { 'neg', function(x) return -x end, { R(3, 4) } },
    { 'abs', function(x) return x:abs() end, { R(3, 4) } },
    { 'exp', function(x) return x:exp() end, { T(3, 4) } },
    { 'exp2', function(x) return x:exp2() end, { R(5) } },
    { 'expm1', function(x) return x:expm1() end, { R(5) } },
    { 'log', function(x) return x:log() end, { P(3, 4) } },
    { 'log2', function(x) return x:log2() end, { P(5) } },
    { 'log10', function(x) return x:log10() end, { P(5) } },
    { 'log1p', function(x) return x:log1p() end, { P(5) } },
    { 'sqrt', function(x) return x:sqrt() end, { P(3, 4) } },
    { 'rsqrt', function(x) return x:rsqrt() end, { P(5) } },
    { 'sin', function(x) return x:sin() end, { T(3, 4) } },
    { 'cos', function(x) return x:cos() end, { R(5) } },
    { 'tan', function(x) return x:tan() end, { U(5) } },
    { 'asin', function(x) return x:asin() end, { U(5) } },
    { 'acos', function(x) return x:acos() end, { U(5) } },
    { 'atan', function(x) return x:atan() end, { R(5) } },
    { 'sinh', function(x) return x:sinh() end, { R(5) } },
    { 'cosh', function(x) return x:cosh() end, { R(5) } },
    { 'tanh', function(x) return x:tanh() end, { T(3, 4) } },
    { 'sigmoid', function(x) return x:sigmoid() end, { R(3, 4) } },
    { 'logsigmoid', function(x) return x:logsigmoid() end, { R(5) } },
    { 'relu', function(x) return x:relu() end, { R(3, 4) } },
    { 'gelu', function(x) return x:gelu() end, { R(5) } },
    { 'gelu tanh', function(x) return x:gelu('tanh') end, { R(5) } },
    { 'silu', function(x) return x:silu() end, { R(5) } },
    { 'leaky_relu', function(x) return x:leaky_relu(0.2) end, { R(5) } },
    { 'elu', function(x) return x:elu(1.3) end, { R(5) } },
    { 'softplus', function(x) return x:softplus(2, 3) end, { R(5) } },
    { 'erf', function(x) return x:erf() end, { R(5) } },
    { 'erfc', function(x) return x:erfc() end, { R(5) } },
    { 'frac', function(x) return x:frac() end, { R(5) } },
    { 'reciprocal', function(x) return x:reciprocal() end, { P(5) } },
    { 'square', function(x) return x:square() end, { R(5) } },
    { 'clamp', function(x) return x:clamp(-0.5, 0.5) end, { R(3, 4) } },
    { 'clamp tensor bounds', function(x, lo) return x:clamp(lo, lo + 1) end, { R(3, 4), R(1, 4) } },
    { 'pow number', function(x) return x ^ 3 end, { R(3, 4) } },
    { 'pow fractional', function(x) return x ^ 2.5 end, { P(5) } },
    { 'number ^ tensor', function(x) return 2 ^ x end, { R(5) } },
    -- binary, with broadcasting and non-contiguous operands
    { 'add broadcast', function(a, b) return a + b end, { R(2, 3, 4), R(3, 1) } },
    { 'add alpha', function(a, b) return a:add(b, 2.5) end, { R(3, 4), R(4) } },
    { 'sub', function(a, b) return a:sub(b, 0.5) end, { T(3, 4), R(1, 4) } },
    { 'mul broadcast', function(a, b) return a * b end, { R(3, 1), R(1, 4) } },
    { 'div', function(a, b) return a / b end, { R(3, 4), P(4) } },
    { 'pow tensors', function(a, b) return a:pow(b) end, { P(3, 4), R(3, 4) } },
    { 'maximum', function(a, b) return torch.maximum(a, b) end, { R(3, 4), R(3, 4) } },
    { 'minimum', function(a, b) return torch.minimum(a, b) end, { R(3, 4), R(4) } },
    { 'atan2', function(a, b) return torch.atan2(a, b) end, { R(5), R(5) } },
    { 'fmod', function(a, b) return torch.fmod(a, b) end, { R(5), P(5) } },
    { 'remainder', function(a, b) return torch.remainder(a, b) end, { R(5), P(5) } },
    -- ternary
    { 'lerp', function(a, b, w) return a:lerp(b, w) end, { R(3, 4), R(3, 4), R(4) } },
    { 'lerp number weight', function(a, b) return a:lerp(b, 0.3) end, { R(3, 4), R(4) } },
    { 'addcmul', function(a, b, c) return a:addcmul(b, c, 0.5) end, { R(3, 4), R(3, 4), R(1, 4) } },
    { 'addcdiv', function(a, b, c) return a:addcdiv(b, c, 2) end, { R(3, 4), R(3, 4), P(3, 4) } },
    { 'where', function(a, b) return torch.where(a:gt(0), a, b) end, { R(3, 4), R(4) } },
    -- views and copies
    { 'view', function(x) return x:view(4, 3) * 2 end, { R(3, 4) } },
    { 'reshape non-contiguous', function(x) return x:reshape(12):exp() end, { T(3, 4) } },
    { 'narrow', function(x) return x:narrow(2, 2, 2):exp() end, { R(3, 4) } },
    { 'select', function(x) return x:select(1, 2):exp() end, { R(3, 4) } },
    { 'x[i] and table indexing', function(x) return x[2]:sin() + x[{ { 1, 2 }, 3 }]:sum() end, { R(3, 4) } },
    { 'transpose', function(x) return x:transpose(1, 3):sin() end, { R(2, 3, 4) } },
    { 't', function(x) return x:t():mm(x) end, { R(3, 4) } },
    { 'permute', function(x) return x:permute(3, 1, 2):exp() end, { R(2, 3, 4) } },
    { 'squeeze/unsqueeze', function(x) return x:unsqueeze(2):squeeze():sin() end, { R(3, 4) } },
    { 'expand', function(x) return x:expand(3, 4):exp() end, { R(1, 4) } },
    { 'flatten', function(x) return x:flatten():sin() end, { R(2, 3, 2) } },
    { 'diagonal', function(x) return x:diagonal(1):exp() end, { R(4, 4) } },
    { 'unfold', function(x) return x:unfold(1, 3, 2):sin() end, { R(7) } },
    { 'as_strided', function(x) return x:as_strided({ 2, 2 }, { 1, 2 }):exp() end, { R(6) } },
    { 'split', function(x) return x:split(2, 2)[2]:exp() end, { R(3, 4) } },
    { 'chunk', function(x) return x:chunk(2, 1)[1]:sin() end, { R(4, 3) } },
    { 'clone/contiguous', function(x) return x:t():contiguous():clone():exp() end, { R(3, 4) } },
    { 'copy_ into a buffer', function(x)
      local b = torch.zeros(2, 5, { dtype = 'float64' })
      b[1]:copy_(x)
      b[2] = x:exp()
      return b * b
    end, { R(5) } },
    -- reductions
    { 'sum', function(x) return x:sum() end, { R(3, 4) } },
    { 'sum dims', function(x) return x:sum({ 1, 3 }) end, { R(2, 3, 4) } },
    { 'mean keepdim', function(x) return x:mean(2, true) end, { T(3, 4) } },
    { 'prod', function(x) return x:prod(2) end, { R(3, 4) } },
    { 'max all', function(x) return x:max() end, { R(3, 4) } },
    { 'max dim', function(x) return (x:max(2)) end, { R(3, 4) } },
    { 'min dim keepdim', function(x) return (x:min(1, true)) end, { R(3, 4) } },
    { 'amax', function(x) return x:amax({ 1, 2 }) end, { R(3, 4) } },
    { 'var', function(x) return x:var(2) end, { R(3, 4) } },
    { 'std', function(x) return x:std() end, { R(3, 4) } },
    { 'norm', function(x) return x:norm(3, 1) end, { R(3, 4) } },
    { 'logsumexp', function(x) return x:logsumexp(1) end, { R(3, 4) } },
    { 'cumsum', function(x) return x:cumsum(2) end, { R(3, 4) } },
    { 'cumprod', function(x) return x:cumprod(1) end, { P(3, 4) } },
    -- linear algebra
    { 'mm', function(a, b) return a:mm(b) end, { R(3, 4), T(4, 2) } },
    { 'bmm', function(a, b) return a:bmm(b) end, { R(2, 3, 4), R(2, 4, 2) } },
    { 'matmul broadcast', function(a, b) return a:matmul(b) end, { R(2, 3, 4), R(4, 2) } },
    { 'matmul vector', function(a, b) return a:matmul(b) end, { R(4), R(2, 4, 3) } },
    { 'mv', function(a, b) return a:mv(b) end, { R(3, 4), R(4) } },
    { 'dot', function(a, b) return a:dot(b) end, { R(4), R(4) } },
    { 'outer', function(a, b) return a:outer(b) end, { R(3), R(4) } },
    { 'addmm', function(i, a, b) return torch.addmm(i, a, b, { beta = 0.5, alpha = 2 }) end, { R(3), R(3, 4), R(4, 3) } },
    -- transposed operands take the transposed-product path of the formulas (a Linear's weight:t())
    { 'mm of transposed operands', function(a, b) return a:mm(b) end, { T(3, 4), T(4, 2) } },
    { 'matmul of transposed operands', function(a, b) return a:matmul(b) end, { T(3, 4), T(4, 2) } },
    { 'addmm of transposed operands', function(i, a, b) return torch.addmm(i, a, b, { alpha = 2 }) end,
      { R(3), T(3, 4), T(4, 3) } },
    { 'addmm through weight:t()', function(x, w, b) return torch.addmm(b, x, w:t()) end, { R(3, 4), R(2, 4), R(2) } },
    { 'mm through weight:t()', function(x, w) return w:t():mm(x:t()) end, { R(4, 2), R(2, 3) } },
    { 'einsum', function(a, b) return torch.einsum('bij,bjk->bik', a, b) end, { R(2, 3, 4), R(2, 4, 2) } },
    { 'linalg.inv', function(a) return torch.linalg.inv(a) end,
      { (torch.randn(3, 3):double() + torch.eye(3):double() * 3):requires_grad_() } },
    { 'linalg.det', function(a) return torch.linalg.det(a) end, { R(3, 3) } },
    { 'linalg.solve', function(a, b) return torch.linalg.solve(a, b) end,
      { (torch.randn(3, 3):double() + torch.eye(3):double() * 3):requires_grad_(), R(3, 2) } },
    -- (X A = B had the gradients of A' X' = B transposed; B of A's batch shape less a dim but not a vector batch
    -- failed in backward)
    { 'linalg.solve left=false', function(a, b) return torch.linalg.solve(a, b, { left = false }) end,
      { (torch.randn(3, 3):double() + torch.eye(3):double() * 3):requires_grad_(), R(2, 3) } },
    { 'linalg.solve_ex left=false', function(a, b) return (torch.linalg.solve_ex(a, b, { left = false })) end,
      { (torch.randn(2, 3, 3):double() + torch.eye(3):double() * 3):requires_grad_(), R(4, 3) } },
    { 'linalg.solve, matrix B broadcast over the batch', function(a, b) return torch.linalg.solve(a, b) end,
      { (torch.randn(2, 3, 3):double() + torch.eye(3):double() * 3):requires_grad_(), R(3, 2) } },
    { 'linalg.matrix_power 0 (in the graph, a zero gradient)', function(a) return torch.linalg.matrix_power(a, 0) * a end,
      { R(2, 3, 3) } },
    { 'linalg.solve, a batch of vectors', function(a, b) return torch.linalg.solve(a, b) end,
      { (torch.randn(2, 3, 3):double() + torch.eye(3):double() * 3):requires_grad_(), R(2, 3) } },
    -- indexing and ordering
    { 'index_select', function(x) return x:index_select(2, torch.tensor({ 3, 1, 3 })) end, { R(3, 4) } },
    { 'gather', function(x) return x:gather(2, torch.tensor({ { 1, 2 }, { 4, 4 }, { 2, 3 } })) end, { R(3, 4) } },
    { 'cat', function(a, b) return torch.cat({ a, b }, 2):exp() end, { R(2, 3), R(2, 2) } },
    { 'stack', function(a, b) return torch.stack({ a, b }, 1):sin() end, { R(2, 3), R(2, 3) } },
    { 'flip', function(x) return x:flip(2):exp() end, { R(3, 4) } },
    -- F.linear on a 2-d input is one node with its own formula (bias 1-d, broadcast 2-d, or none)
    { 'F.linear', function(x, w, b) return require('tensor.nn').F.linear(x, w, b) end, { R(3, 4), R(2, 4), R(2) } },
    { 'F.linear, [1 x out] bias', function(x, w, b) return require('tensor.nn').F.linear(x, w, b) end, { T(3, 4), R(2, 4), R(1, 2) } },
    { 'F.linear without bias', function(x, w) return require('tensor.nn').F.linear(x, w) end, { R(3, 4), T(2, 4) } },
    { 'roll', function(x) return x:roll(1, 2):exp() end, { R(3, 4) } },
    { 'tril', function(x) return x:tril():exp() end, { R(4, 4) } },
    { 'repeatTensor', function(x) return x:repeatTensor(2, 3):sin() end, { R(2, 3) } },
    { 'masked_fill', function(x) return x:masked_fill(x:gt(0), 0.5):exp() end, { R(3, 4) } },
    -- (on a tensor that required grad this recursed until the stack overflowed)
    { 'masked_scatter', function(x, s) return x:masked_scatter(x:gt(0), s):exp() end, { R(3, 4), R(12) } },
    { 'masked_scatter_ on a copy', function(x, s) return (x * 1):masked_scatter_(x:lt(0), s):sin() end,
      { R(3, 4), R(12) } },
    { 'sort values', function(x) return (x:sort(2)) end, { R(3, 4) } },
    { 'topk values', function(x) return (x:topk(2, 2)) end, { R(3, 4) } },
    -- decompositions: nodes with several outputs (sign-invariant functions of the vectors, which are unique only
    -- up to sign; symmetric inputs to eigh and cholesky, which read one triangle)
    { 'linalg.svd S, tall', function(a) local _, s = torch.linalg.svd(a, false) return s end, { R(4, 3) } },
    { 'linalg.svd U^2, Vh^2, tall', function(a) local u, _, vh = torch.linalg.svd(a, false) return (u * u):sum(1) + vh * vh end,
      { R(5, 3) } },
    { 'linalg.svd U diag(S) Vh, wide', function(a)
      local u, s, vh = torch.linalg.svd(a, false)
      return u:matmul(torch.diag_embed(s)):matmul(vh)
    end, { R(3, 5) } },
    { 'linalg.svd full_matrices, square batch', function(a) local u, _, vh = torch.linalg.svd(a) return u * u + vh * vh end,
      { R(2, 3, 3) } },
    { 'linalg.svdvals', function(a) return torch.linalg.svdvals(a) end, { R(3, 5) } },
    { 'torch.svd V^2', function(a) local _, _, v = a:svd() return v * v end, { R(4, 3) } },
    { 'linalg.eigh values', function(a) return (torch.linalg.eigh(a + a:t())) end, { R(4, 4) } },
    { 'linalg.eigh vectors^2', function(a) local _, v = torch.linalg.eigh(a + a:t()) return v * v end, { R(4, 4) } },
    { 'linalg.eigvalsh, batch', function(a) return torch.linalg.eigvalsh(a + a:transpose(2, 3)) end, { R(2, 3, 3) } },
    { 'linalg.qr, tall', function(a) local q, r = torch.linalg.qr(a) return q * r:sum() end, { R(5, 3) } },
    { 'linalg.qr R only, square', function(a) local _, r = torch.linalg.qr(a) return r end, { R(4, 4) } },
    { 'linalg.qr, wide batch', function(a) local q, r = torch.linalg.qr(a) return torch.cat({ q, r }, 3) end,
      { R(2, 3, 5) } },
    { 'torch.qr', function(a) return (select(2, a:qr())) end, { R(4, 3) } },
    { 'linalg.cholesky', function(a) return torch.linalg.cholesky(a:matmul(a:t()) + torch.eye(3):double()) end,
      { R(3, 3) } },
    { 'linalg.cholesky upper', function(a)
      return torch.linalg.cholesky(a:matmul(a:t()) + torch.eye(3):double(), { upper = true })
    end, { R(3, 3) } },
    { 'diag_embed', function(x) return torch.diag_embed(x, 1) end, { R(2, 3) } },
    { 'diag of a matrix', function(x) return x:diag(-1) end, { R(3, 3) } },
    { 'trace', function(x) return x:trace() end, { R(3, 3) } },
    -- scatter_reduce and put: every reduction, with and without self, out of place and in place
    { 'put', function(x, s) return x:put(torch.tensor({ 1, 5, 6 }):long(), s) end, { R(2, 3), R(3) } },
    { 'torch.put accumulating duplicates', function(x, s)
      return torch.put(x, torch.tensor({ 1, 5, 1 }):long(), s, true)
    end, { R(2, 3), R(3) } },
    { 'put_ on a copy, {accumulate=true}', function(x, s)
      return (x * 1):put_(torch.tensor({ { 2 }, { 4 } }):long(), s, { accumulate = true })
    end, { R(2, 3), R(2, 1) } },
    -- everyday ops made of differentiable ones
    { 'median over everything', function(x) return x:median() end, { R(3, 5) } },
    { 'median over a dim', function(x) return (x:median(2, true)) end, { R(3, 4) } },
    { 'linalg.cross', function(a, b) return torch.linalg.cross(a, b) end, { R(4, 3), R(3) } },
    { 'dist', function(a, b) return a:dist(b, 3) end, { R(3, 4), R(4) } },
    { 'nan_to_num', function(x) return (x / 0.5):nan_to_num() end, { R(5) } },
    { 'x:softmax and x:log_softmax', function(x) return x:softmax(2) + x:log_softmax(1) end, { R(3, 4) } },
    { 'torch.clamp of a tensor with tensor bounds', function(x, lo) return torch.clamp(x, lo, 0.5) end, { R(3, 4), R(4) } },
    -- two reductions in one pass (they returned numbers, or tensors without gradients, before)
    { 'aminmax over a dim', function(x) local lo, hi = x:aminmax({ dim = 2 }) return lo * 2 + hi end, { R(3, 4) } },
    { 'torch.aminmax', function(x) local lo, hi = torch.aminmax(x) return lo * 2 + hi end, { R(3, 4) } },
    { 'var_mean over a dim', function(x) local v, m = x:var_mean(2, { correction = 0 }) return v + m:exp() end,
      { R(3, 4) } },
    { 'torch.std_mean', function(x) local sd, m = torch.std_mean(x) return sd * m end, { R(3, 4) } },
    { 'std_mean(false)', function(x) local sd, m = x:std_mean(false) return sd + m * 3 end, { R(3, 4) } },
    -- other names of differentiable ops (these dropped the gradient while they held the raw op)
    { 'cmul', function(a, b) return a:cmul(b) end, { R(3, 4), R(4) } },
    { 'cdiv', function(a, b) return a:cdiv(b) end, { R(3, 4), P(3, 4) } },
    { 'multiply', function(a, b) return a:multiply(b) end, { R(3, 4), R(3, 4) } },
    { 'divide', function(a, b) return a:divide(b) end, { R(3, 4), P(4) } },
    { 'subtract', function(a, b) return a:subtract(b) end, { R(3, 4), R(3, 4) } },
    { 'torch.true_divide', function(a, b) return torch.true_divide(a, b) end, { R(3, 4), P(3, 4) } },
    { 'clip', function(x) return x:clip(-0.5, 0.5):exp() end, { R(3, 4) } },
    { 'torch.clip', function(x) return torch.clip(x, -0.5, 0.5):exp() end, { R(3, 4) } },
    { 'clip_ on a copy', function(x) return (x * 1):clip_(-0.5, 0.5):exp() end, { R(3, 4) } },
    { 'index (Torch7)', function(x) return x:index(1, torch.tensor({ 3, 1, 3 }, { dtype = 'int64' })) end,
      { R(3, 4) } },
    { 'maskedSelect (Torch7)', function(x) return x:maskedSelect(x:gt(0)):exp() end, { R(3, 4) } },
    { 'torch.concat', function(a, b) return torch.concat({ a, b }, 2) end, { R(3, 4), R(3, 2) } },
    { 'torch.concatenate', function(a, b) return torch.concatenate({ a, b }, 1) end, { R(3, 4), R(2, 4) } },
  }
  for _, c in ipairs(cases) do
    it(c[1], function()
      assert.is_true(gradcheck(c[2], c[3]))
    end)
  end
  local index = torch.tensor({ { 1, 2, 1, 3 }, { 3, 3, 1, 2 } }):long()
  for _, reduce in ipairs({ 'sum', 'mean', 'prod', 'amax', 'amin' }) do
    for _, include_self in ipairs({ true, false }) do
      local opts = { include_self = include_self }
      it(('scatter_reduce %s, include_self=%s'):format(reduce, tostring(include_self)), function()
        assert.is_true(gradcheck(function(x, s) return x:scatter_reduce(2, index, s, reduce, opts) end, { R(2, 3), R(2, 4) }))
        assert.is_true(gradcheck(function(x, s) return (x * 1):scatter_reduce_(2, index, s, reduce, opts) end,
                                 { R(2, 3), R(2, 4) }))
      end)
    end
  end
end)

describe('gradients agree with PyTorch', function()
  it('for element-wise, reduction and matrix ops with broadcasting', function()
    torch.manual_seed(3)
    local a, b, w = torch.randn(4, 3):double(), torch.randn(3):double(), torch.randn(3, 5):double()
    local g = torch.randn(4, 5):double()
    local la, lb, lw = a:clone():requires_grad_(), b:clone():requires_grad_(), w:clone():requires_grad_()
    local y = ((la * lb):tanh() + la:sigmoid() * 0.5):matmul(lw)
    y = y - y:logsumexp(2, true)
    y:backward(g)
    local r = ref.run([[
a.requires_grad_(); b.requires_grad_(); w.requires_grad_()
y = ((a * b).tanh() + a.sigmoid() * 0.5) @ w
y = y - y.logsumexp(1, keepdim=True)
y.backward(g)
out = {'a': a.grad, 'b': b.grad, 'w': w.grad}
]], { a = a, b = b, w = w, g = g })
    for name, t in pairs({ a = la, b = lb, w = lw }) do
      local ok, msg = ref.compare(t.grad, r[name], ref.tolerance('float64'))
      assert(ok, name .. ': ' .. tostring(msg))
    end
  end)

  it('for the decompositions (svd, eigh, qr, cholesky)', function()
    torch.manual_seed(5)
    local a, b = torch.randn(5, 3):double(), torch.randn(4, 4):double()
    local la, lb = a:clone():requires_grad_(), b:clone():requires_grad_()
    local u, s, vh = torch.linalg.svd(la, false)
    local lsym = lb + lb:t()
    local l, v = torch.linalg.eigh(lsym)
    local q, r = torch.linalg.qr(la)
    local c = torch.linalg.cholesky(lsym:matmul(lsym) + torch.eye(4):double())
    local y = (u * u):sum() * 0.3 + s:pow(2):sum() + (vh:abs() * 0.7):sum() + l:sin():sum() + (v * v):mul(1.5):sum()
              + (q * q):matmul(r:abs()):sum() + (r * r):tanh():sum() + c:exp():sum()
    y:backward()
    local ref_out = ref.run([[
a.requires_grad_(); b.requires_grad_()
u, s, vh = torch.linalg.svd(a, full_matrices=False)
sym = b + b.t()
l, v = torch.linalg.eigh(sym)
q, r = torch.linalg.qr(a)
c = torch.linalg.cholesky(sym @ sym + torch.eye(4, dtype=torch.float64))
y = (u * u).sum() * 0.3 + s.pow(2).sum() + (vh.abs() * 0.7).sum() + l.sin().sum() + (v * v).mul(1.5).sum() \
    + ((q * q) @ r.abs()).sum() + (r * r).tanh().sum() + c.exp().sum()
y.backward()
out = {'a': a.grad, 'b': b.grad}
]], { a = a, b = b })
    for name, t in pairs({ a = la, b = lb }) do
      local ok, msg = ref.compare(t.grad, ref_out[name], { atol = 1e-8, rtol = 1e-6 })
      assert(ok, name .. ': ' .. tostring(msg))
    end
  end)

  it('for scatter_reduce where finite differences cannot go: zeros in prod, ties in amax and amin', function()
    local x = torch.tensor({ { 0, 2, 3, 4 }, { 1, 5, 5, 0 } }, { dtype = 'float64' })
    local src = torch.tensor({ { 0, 5, 0, 7, 4 }, { 5, 0, 2, 5, 5 } }, { dtype = 'float64' })
    local index = torch.tensor({ { 1, 2, 2, 3, 4 }, { 2, 4, 1, 3, 3 } }):long()
    local g = torch.tensor({ { 1, 2, 3, 4 }, { 5, 6, 7, 8 } }, { dtype = 'float64' })
    -- (without self, self is moved off the results: PyTorch lets an excluded self that equals the result take a
    -- share of the gradient, so that the shares sum to less than the whole; checked by hand below)
    local x_apart = x + 0.5
    local got = {}
    for _, reduce in ipairs({ 'prod', 'amax', 'amin' }) do
      for _, include_self in ipairs({ true, false }) do
        local lx, ls = (include_self and x or x_apart):clone():requires_grad_(), src:clone():requires_grad_()
        lx:scatter_reduce(2, index, ls, reduce, { include_self = include_self }):backward(g)
        local key = reduce .. tostring(include_self)
        got[key .. '_x'], got[key .. '_src'] = lx.grad, ls.grad
      end
    end
    local r = ref.run([[
import warnings
warnings.filterwarnings('ignore') # scatter_reduce is "in beta" in PyTorch 1.13
out = {}
for reduce in ('prod', 'amax', 'amin'):
    for include_self in (True, False):
        lx, ls = (x if include_self else x + 0.5).clone().requires_grad_(), src.clone().requires_grad_()
        lx.scatter_reduce(1, index - 1, ls, reduce, include_self=include_self).backward(g)
        key = reduce + str(include_self).lower()
        out[key + '_x'], out[key + '_src'] = lx.grad, ls.grad
]], { x = x, src = src, index = index, g = g })
    for key, t in pairs(got) do
      local ok, msg = ref.compare(t, r[key], ref.tolerance('float64'))
      assert(ok, key .. ': ' .. tostring(msg))
    end
    -- the maximum of two src elements, self left out though equal: each element gets half, self nothing
    local lx = torch.tensor({ 3, 1 }, { dtype = 'float64', requires_grad = true })
    local ls = torch.tensor({ 3, 3 }, { dtype = 'float64', requires_grad = true })
    lx:scatter_reduce(1, torch.tensor({ 1, 1 }):long(), ls, 'amax', { include_self = false }):backward(
      torch.tensor({ 4, 8 }, { dtype = 'float64' }))
    assert.are.same({ 0, 8 }, lx.grad:totable())
    assert.are.same({ 2, 2 }, ls.grad:totable())
  end)

  it('at zeros, ties and 0-d inputs (cumprod, logcumsumexp, pow, norm, std, sort, unfold)', function()
    local x = torch.tensor({ { 2, 0, 3, 0, 5 }, { 0, 1, 1, 1, 2 }, { 1, 2, 3, 4, 0 } }, { dtype = 'float64' })
    local e = torch.tensor({ { 0, 1, 0, 2, 0 }, { 0, 0, 1, 2, 1 }, { 1, 0, 2, 0, 0 } }, { dtype = 'float64' })
    local s = torch.tensor(1.5, { dtype = 'float64' })
    local g = torch.tensor({ { 1, 2, 3, 4, 5 }, { -1, 2, -3, 4, -5 }, { 0.5, 1, 1.5, 2, 2.5 } }, { dtype = 'float64' })
    local fns = {
      cumprod = function(a) return a:cumprod(2) * g end,
      logcumsumexp = function(a) return a:logcumsumexp(2) * g end,
      pow = function(a, b) return a:pow(b) * g end,
      norm = function(a) return a:norm(0.5, 2) + a:norm(1.5, 1):sum() end,
      std = function(a) return a:narrow(2, 3, 3):std(1, { correction = 0 }) + a:narrow(2, 3, 1):std(2) end,
      zero_d = function(_, _, c) return c:sort() + c:topk(1) + c:kthvalue(1) + c:logsumexp(1) + c:unfold(1, 1, 1):sum() end,
      unfold_neg = function(a) return a:unfold(-1, 2, 2) * 3 end,
    }
    local got = {}
    for name, fn in pairs(fns) do
      local la, lb, lc = x:clone():requires_grad_(), e:clone():requires_grad_(), s:clone():requires_grad_()
      local y = fn(la, lb, lc)
      y:backward(torch.ones_like(y))
      got[name .. '_a'], got[name .. '_b'], got[name .. '_c'] = la.grad, lb.grad, lc.grad
    end
    local r = ref.run([[
fns = {
  'cumprod': lambda a, b, c: a.cumprod(1) * g,
  'logcumsumexp': lambda a, b, c: a.logcumsumexp(1) * g,
  'pow': lambda a, b, c: a.pow(b) * g,
  'norm': lambda a, b, c: a.norm(0.5, 1) + a.norm(1.5, 0).sum(),
  'std': lambda a, b, c: a.narrow(1, 2, 3).std(0, correction=0) + a.narrow(1, 2, 1).std(1),
  'zero_d': lambda a, b, c: c.sort()[0] + c.topk(1)[0] + c.kthvalue(1)[0] + c.logsumexp(0) + c.unfold(0, 1, 1).sum(),
  'unfold_neg': lambda a, b, c: a.unfold(-1, 2, 2) * 3,
}
out = {}
for name, fn in fns.items():
    la, lb, lc = x.clone().requires_grad_(), e.clone().requires_grad_(), s.clone().requires_grad_()
    y = fn(la, lb, lc)
    y.backward(torch.ones_like(y))
    out[name + '_a'], out[name + '_b'], out[name + '_c'] = la.grad, lb.grad, lc.grad
]], { x = x, e = e, s = s, g = g })
    for key, t in pairs(got) do
      local ok, msg = ref.compare(t, r[key], ref.tolerance('float64'))
      assert(ok, key .. ': ' .. tostring(msg))
    end
    for key in pairs(r) do assert(got[key], key .. ': no gradient, PyTorch has one') end
  end)

  it('for a 2-layer MLP with the same weights', function()
    torch.manual_seed(11)
    local x, w1, b1 = torch.randn(8, 5), torch.randn(16, 5), torch.randn(16)
    local w2, b2 = torch.randn(3, 16), torch.randn(3)
    local target = torch.tensor({ 1, 3, 2, 2, 1, 3, 3, 2 })
    local params = { w1 = w1:clone():requires_grad_(), b1 = b1:clone():requires_grad_(),
                     w2 = w2:clone():requires_grad_(), b2 = b2:clone():requires_grad_() }
    local nn = require 'tensor.nn'
    local h = nn.F.relu(nn.F.linear(x, params.w1, params.b1))
    local loss = nn.F.cross_entropy(nn.F.linear(h, params.w2, params.b2), target)
    loss:backward()
    local r = ref.run([[
import torch.nn.functional as F
for t in (w1, b1, w2, b2): t.requires_grad_()
h = F.relu(F.linear(x, w1, b1))
loss = F.cross_entropy(F.linear(h, w2, b2), target - 1)
loss.backward()
out = {'loss': loss.item(), 'w1': w1.grad, 'b1': b1.grad, 'w2': w2.grad, 'b2': b2.grad}
]], { x = x, w1 = w1, b1 = b1, w2 = w2, b2 = b2, target = target })
    assert.is_true(math.abs(loss:item() - r.loss) < 1e-5)
    for name, t in pairs(params) do
      local ok, msg = ref.compare(t.grad, r[name], { atol = 1e-5, rtol = 1e-4 })
      assert(ok, name .. ': ' .. tostring(msg))
    end
  end)
end)

describe('higher-order gradients', function()
  local function second_derivative(fn, x)
    local xr = x:clone():requires_grad_()
    local y = fn(xr)
    local g = torch.autograd.grad({ y }, { xr }, { grad_outputs = { torch.ones_like(y) }, create_graph = true })[1]
    return torch.autograd.grad({ g }, { xr }, { grad_outputs = { torch.ones_like(g) } })[1]
  end

  it('of tanh, exp, x^3 and softmax match PyTorch', function()
    local x = torch.randn(2, 5):double()
    local nn = require 'tensor.nn'
    local got = {
      tanh = second_derivative(function(t) return t:tanh() end, x),
      exp = second_derivative(function(t) return t:exp() end, x),
      cube = second_derivative(function(t) return t ^ 3 end, x),
      softmax = second_derivative(function(t) return nn.F.softmax(t * t, 2) end, x),
      log_softmax = second_derivative(function(t) return nn.F.log_softmax(t * t, 2) end, x),
    }
    local r = ref.run([[
def second(f):
    t = x.clone().requires_grad_()
    y = f(t)
    g, = torch.autograd.grad(y, t, torch.ones_like(y), create_graph=True)
    gg, = torch.autograd.grad(g, t, torch.ones_like(g))
    return gg
out = {'tanh': second(torch.tanh), 'exp': second(torch.exp), 'cube': second(lambda t: t ** 3),
       'softmax': second(lambda t: torch.softmax(t * t, 1)),
       'log_softmax': second(lambda t: torch.log_softmax(t * t, 1))}
]], { x = x })
    for name, t in pairs(got) do
      local ok, msg = ref.compare(t, r[name], ref.tolerance('float64'))
      assert(ok, name .. ': ' .. tostring(msg))
    end
  end)

  it('give the Hessian-vector product of an MLP loss that PyTorch gives', function()
    torch.manual_seed(5)
    local x, w1, w2, v1, v2 = torch.randn(6, 4):double(), torch.randn(5, 4):double(), torch.randn(1, 5):double(),
      torch.randn(5, 4):double(), torch.randn(1, 5):double()
    local p1, p2 = w1:clone():requires_grad_(), w2:clone():requires_grad_()
    local loss = (x:matmul(p1:t()):tanh():matmul(p2:t())):square():mean()
    local g = torch.autograd.grad({ loss }, { p1, p2 }, { create_graph = true })
    local dot = (g[1] * v1):sum() + (g[2] * v2):sum()
    local hv = torch.autograd.grad({ dot }, { p1, p2 })
    local r = ref.run([[
w1.requires_grad_(); w2.requires_grad_()
loss = ((x @ w1.t()).tanh() @ w2.t()).square().mean()
g = torch.autograd.grad(loss, (w1, w2), create_graph=True)
dot = (g[0] * v1).sum() + (g[1] * v2).sum()
hv = torch.autograd.grad(dot, (w1, w2))
out = {'h1': hv[0], 'h2': hv[1]}
]], { x = x, w1 = w1, w2 = w2, v1 = v1, v2 = v2 })
    assert(ref.compare(hv[1], r.h1, ref.tolerance('float64')))
    assert(ref.compare(hv[2], r.h2, ref.tolerance('float64')))
  end)

  it('pass gradgradcheck for composite functions', function()
    assert.is_true(torch.autograd.gradgradcheck(function(a, b) return (a * b):tanh() + a:pow(3) / (b:exp() + 1) end,
                                                { R(3), R(3) }))
    assert.is_true(torch.autograd.gradgradcheck(function(a, b) return a:matmul(b):sigmoid() end, { R(2, 3), R(3, 2) }))
    assert.is_true(torch.autograd.gradgradcheck(function(x, w, b) return torch.addmm(b, x, w:t()):tanh() end,
                                                { R(3, 4), R(2, 4), R(2) }))
  end)

  it('refuse with a clear error where a kernel has no second derivative', function()
    local nn = require 'tensor.nn'
    local x, w = R(1, 1, 4, 4), R(1, 1, 2, 2)
    local y = nn.F.conv2d(x, w):sum()
    local gx = torch.autograd.grad({ y }, { x }, { create_graph = true })[1]
    assert.matches('second derivative of conv2d is not implemented', message(function() gx:sum():backward() end))
  end)
end)

describe('the engine', function()
  it('accumulates into .grad across backward calls and zero_grad clears it', function()
    local x = R(3)
    local a, b = x * 2, x * 3
    a:sum():backward()
    b:sum():backward()
    assert(ref.compare(x.grad, { dtype = 'float64', shape = { 3 }, values = { 5, 5, 5 } }))
    x.grad = nil
    assert.is_nil(x.grad)
  end)

  it('the function forms record as the methods do (torch.max, torch.min and the reductions over a dim)', function()
    -- one-hot rows where the extreme is: the gradient of the values taken along dim 2
    local x = torch.tensor({ { 1, 7, 3 }, { 9, 2, 4 } }, { dtype = 'float64', requires_grad = true })
    for _, case in ipairs({ { 'max', { 0, 1, 0, 1, 0, 0 } }, { 'min', { 1, 0, 0, 0, 1, 0 } },
                            { 'amax', { 0, 1, 0, 1, 0, 0 } }, { 'sum', { 1, 1, 1, 1, 1, 1 } } }) do
      x.grad = nil
      local values = torch[case[1]](x, 2)
      assert.is_true(values.requires_grad, case[1])
      values:sum():backward()
      assert(ref.compare(x.grad, { dtype = 'float64', shape = { 2, 3 }, values = case[2] }), case[1])
    end
  end)

  it('gives a quotient rounded by rounding_mode zero gradients (it is piecewise constant), as PyTorch does', function()
    for _, mode in ipairs({ 'floor', 'trunc' }) do
      local a, b = R(3, 4), P(4)
      for _, quotient in ipairs({ function() return a:div(b, { rounding_mode = mode }) end,
                                  function() return torch.div(a, b, { rounding_mode = mode }) end }) do
        a.grad, b.grad = nil, nil
        quotient():sum():backward()
        assert.are.equal(0, a.grad:abs():sum(), mode)
        assert.are.equal(0, b.grad:abs():sum(), mode)
        assert.are.same({ 4 }, b.grad:size())
      end
    end
  end)

  it('every other name of an op is the op autograd installed (x:cmul is x:mul, torch.concat is torch.cat)', function()
    local core = require('tensor.core')
    local aliases = core.aliases
    assert.is_true(#aliases >= 30)
    for _, a in ipairs(aliases) do
      local namespace, name, target = a[1], a[2], a[3]
      assert.are.equal(namespace[target], namespace[name], name .. ' -> ' .. target)
    end
    assert.are.equal(core.Tensor.mul, core.Tensor.cmul)
    assert.are.equal(torch.cat, torch.concat)
  end)

  it("refuses the gradient of linalg.qr's modes without one when backward reaches them, not before", function()
    local a = torch.randn(4, 3, { dtype = 'float64', requires_grad = true })
    local _, r = torch.linalg.qr(a, 'r')
    assert.matches("backward: linalg.qr: mode='r' computes no Q", message(function() r:sum():backward() end), 1, true)
    local q = torch.linalg.qr(a, { mode = 'complete' })
    assert.are.same({ 4, 4 }, q:size())
    assert.matches("mode='complete' is defined only for matrices with no more rows than columns, got 4 x 3",
                   message(function() q:sum():backward() end), 1, true)
  end)

  it('refuses in-place ops without a derivative on graph tensors, as methods and as torch functions', function()
    local x = torch.randn(3, 4, { dtype = 'float64', requires_grad = true })
    local calls = {
      { 'normal_', function(y) return y:normal_(0, 2) end, function(y) return torch.normal_(y, 0, 2) end },
      { 'uniform_', function(y) return y:uniform_() end, function(y) return torch.uniform_(y) end },
    }
    for _, c in ipairs(calls) do
      for _, call in ipairs({ c[2], c[3] }) do
        local ok, err = pcall(call, x * 1)
        assert.is_false(ok, c[1])
        assert.matches(c[1] .. ': this in-place operation has no derivative', err, 1, true)
        local y = x:detach():clone()
        assert.are.equal(y, torch.no_grad(function() return call(y) end), c[1])
      end
    end
  end)

  it('sums gradients flowing into one tensor from several uses', function()
    local x = R(4)
    local y = x * x + x:sin() * x
    y:backward(torch.ones(4, { dtype = 'float64' }))
    local xd = x:detach()
    assert(ref.compare(x.grad, { dtype = 'float64', shape = { 4 },
                                 values = (xd * 2 + xd:cos() * xd + xd:sin()):tolist() }, ref.tolerance('float64')))
  end)

  it('frees saved tensors unless retain_graph, and says so on a second backward', function()
    local x = R(3)
    local y = x:exp():sum()
    y:backward(nil, { retain_graph = true })
    y:backward()
    assert.matches('backward through the graph a second time', message(function() y:backward() end))
  end)

  it('checks the root gradient', function()
    local x = R(2, 3)
    local y = x * 2
    assert.matches('one%-element', message(function() y:backward() end))
    assert.matches('size %[3%] but the tensor has size %[2 x 3%]',
                   message(function() y:backward(torch.ones(3, { dtype = 'float64' })) end))
    assert.matches('does not require grad', message(function() torch.ones(2):backward() end))
    assert.matches('gradient must be a tensor', message(function() y:backward(3) end))
  end)

  it('detects in-place changes to saved tensors and names the op', function()
    local x = R(3)
    local y = x:sigmoid()
    local z = y * 2
    y:add_(1)
    local m = message(function() z:sum():backward() end)
    assert.matches('saved by mul', m)
    assert.matches('modified by an in%-place operation: it is at version 2, expected version 1', m)
  end)

  it('refuses in-place ops on leaves that require grad, but not under no_grad', function()
    local x = R(3)
    assert.matches('leaf tensor that requires grad', message(function() x:add_(1) end))
    assert.matches('leaf tensor that requires grad', message(function() x[1] = 0 end))
    torch.no_grad(function() x:add_(1) end)
  end)

  it('records in-place ops on non-leaves and writes into views (CopySlices)', function()
    local x = R(3)
    local y = x * 1
    y:mul_(x) -- y = x^2
    y[2] = 7 -- the second element no longer depends on x
    y:sum():backward()
    local xd = x:detach()
    assert(ref.compare(x.grad, { dtype = 'float64', shape = { 3 }, values = { 2 * xd[1], 0, 2 * xd[3] } },
                       ref.tolerance('float64')))
  end)

  it('no_grad and enable_grad nest, and grad mode is restored after errors', function()
    local x = R(2)
    local inner
    local y = torch.no_grad(function()
      inner = torch.enable_grad(function() return x * 2 end)
      return x * 2
    end)
    assert.is_false(y.requires_grad)
    assert.is_true(inner.requires_grad)
    pcall(torch.no_grad, function() error('boom') end)
    assert.is_true(torch.is_grad_enabled())
  end)

  it('carries gradients through dtype conversions, in the input dtype', function()
    local x = R(4)
    local y = x:float() * 3
    y:sum():backward()
    assert.equals('float64', x.grad:dtype())
    assert(ref.compare(x.grad, { dtype = 'float64', shape = { 4 }, values = { 3, 3, 3, 3 } }))
  end)

  it('detach, requires_grad_ and is_leaf behave as in PyTorch', function()
    local x = R(2)
    local y = x * 2
    assert.is_false(y:is_leaf())
    assert.is_true(x:is_leaf())
    assert.is_false(y:detach().requires_grad)
    assert.is_true(y:detach():shares_storage(y))
    assert.matches('only leaf tensors', message(function() y.requires_grad = false end))
    assert.matches('only floating point', message(function() torch.ones(2, { dtype = 'int64' }).requires_grad = true end))
  end)

  it('runs tensor hooks and keeps retained gradients', function()
    local x = R(3)
    x:register_hook(function(g) return g * 10 end)
    local y = x * 2
    y:retain_grad()
    local seen
    y:register_hook(function(g) seen = g:clone() end)
    y:sum():backward()
    assert(ref.compare(x.grad, { dtype = 'float64', shape = { 3 }, values = { 20, 20, 20 } }))
    assert(ref.compare(y.grad, { dtype = 'float64', shape = { 3 }, values = { 1, 1, 1 } }))
    assert(ref.compare(seen, { dtype = 'float64', shape = { 3 }, values = { 1, 1, 1 } }))
  end)

  it('gives each pass its own tables: a pass run from a hook, and passes after one that raised', function()
    -- the engine reuses the tables of finished passes; a nested pass must not share them with the outer one,
    -- and a pass that raised must leave nothing behind for the next
    local x, z = R(3), R(3)
    ;(z * 1):sum():backward() -- a finished pass leaves its tables for the next
    z.grad = nil
    local inner
    local y = x * x
    y:register_hook(function(g) -- on an inner node: the outer pass has work left after it
      torch.enable_grad(function() (z * z):sum():backward() end) -- hooks run with grad mode off
      inner = z.grad:clone()
      return g * 3
    end)
    ;(y * 2):sum():backward()
    assert.is_true((x.grad - x:detach() * 12):abs():max() < 1e-12)
    assert.is_true((inner - z:detach() * 2):abs():max() < 1e-12)

    local w = R(4)
    local h = w:register_hook(function() error('hook failed') end)
    assert.matches('hook failed', message(function() (w * 5):sum():backward() end))
    h:remove()
    w.grad = nil
    local y = w * w
    ;(y * 2 + y):sum():backward()
    assert.is_true((w.grad - w:detach() * 6):abs():max() < 1e-12)
    local again = torch.autograd.grad({ (w * w * w):sum() }, { w })[1]
    assert.is_true((again - w:detach():pow(2) * 3):abs():max() < 1e-12)
  end)

  it('lets element-wise formulas write into a gradient only it holds, and never into one anyone can see', function()
    local pointwise = require 'tensor.pointwise'
    local backward, in_place = pointwise.backward, 0
    pointwise.backward = function(kind, g, saved, p0, p1, into)
      if into then in_place = in_place + 1 end
      return backward(kind, g, saved, p0, p1, into)
    end
    local ok, err = pcall(function()
      local x = R(6)
      local w = torch.randn(6):double()
      local expected = (w * 3):mul(x:detach():gt(0):double())
      -- relu's gradient arrives fresh from mul's formula: written in place
      ;(x:relu() * 3):mul(w):sum():backward()
      assert.are.equal(1, in_place)
      assert.is_true((x.grad - expected):abs():max() < 1e-12)

      -- the caller's gradient, a hooked one and a retained one stay as they were
      in_place = 0
      x.grad = nil
      local seed = torch.randn(6):double()
      local seed_copy = seed:clone()
      x:relu():backward(seed)
      assert.is_true((seed - seed_copy):abs():max() == 0)
      local y = x:relu()
      local seen
      y:register_hook(function(g) seen = g end)
      local z = y:sigmoid()
      z:retain_grad()
      ;(z * w):sum():backward()
      assert.are.equal(0, in_place) -- relu's gradient was hooked, sigmoid's retained
      assert.is_true((seen - w * z:detach() * (1 - z:detach())):abs():max() < 1e-12)
      assert.is_true((z.grad - w):abs():max() < 1e-12)

      -- one tensor passed on to two inputs (add's formula) is in two buffers: neither may write into it
      x.grad = nil
      local a, b = x:relu(), (x * 2):tanh()
      ;((a + b) * w):sum():backward()
      local ref = w:mul(x:detach():gt(0):double()) + w * 2 * (1 - (x:detach() * 2):tanh():pow(2))
      assert.is_true((x.grad - ref):abs():max() < 1e-12)
    end)
    pointwise.backward = backward
    assert(ok, err)
  end)

  it('adopts as .grad the gradients it alone holds, and copies those user code has seen', function()
    local nn = require 'tensor.nn'
    local core = require 'tensor.core'
    local layer = nn.Linear(4, 3)
    local x = torch.randn(5, 4)
    local clone, clones = core.Tensor.clone, 0
    core.Tensor.clone = function(...) clones = clones + 1 return clone(...) end
    local ok, err = pcall(function() layer(x):pow(2):sum():backward() end)
    core.Tensor.clone = clone
    assert(ok, err)
    assert.are.equal(0, clones) -- weight and bias gradients are fresh results of their formulas
    local expected = torch.autograd.grad({ layer(x):pow(2):sum() }, { layer.weight })[1]
    assert.is_true((layer.weight.grad - expected):abs():max() < 1e-5)

    -- a hook keeps the gradient it saw: the leaf's .grad must be another tensor, or accumulating into it
    -- would change what the hook kept
    local w = R(3)
    local seen
    w:register_hook(function(g) seen = g end)
    local function twice() (w * 2):sum():backward() end
    twice()
    assert.is_false(rawequal(seen, w.grad))
    local kept = seen:clone()
    twice()
    assert.are.equal(0, (seen - kept):abs():max())
    assert(ref.compare(w.grad, { dtype = 'float64', shape = { 3 }, values = { 4, 4, 4 } }))

    -- so does a custom Function that returns a gradient it also keeps
    local made
    local Keep = torch.autograd.Function {
      forward = function(ctx, t) return t * 1 end,
      backward = function(ctx, g)
        made = g * 3
        return made
      end,
    }
    local v = R(3)
    Keep.apply(v):sum():backward()
    assert.is_false(rawequal(made, v.grad))
    local first = made
    Keep.apply(v):sum():backward()
    assert(ref.compare(first, { dtype = 'float64', shape = { 3 }, values = { 3, 3, 3 } }))
    assert(ref.compare(v.grad, { dtype = 'float64', shape = { 3 }, values = { 6, 6, 6 } }))
  end)

  it('frees used gradients and unread .grads at once, and never one that can still be reached', function()
    local nn, optim = require 'tensor.nn', require 'tensor.optim'
    local MB4 = 4 * 2 ^ 20 -- one tensor of 2^20 floats
    local live = torch.memory.allocated
    collectgarbage('collect')
    collectgarbage('collect')
    collectgarbage('stop') -- so that only the early frees can lower the live bytes
    local ok, err = pcall(function()
      -- a chain whose intermediate gradients only the engine holds: after backward, x.grad alone remains
      local x = torch.randn(2 ^ 20):requires_grad_()
      local y = ((x * 2):relu() * 3):sum()
      local before = live()
      y:backward()
      assert.is_true(live() - before < 2 * MB4, 'grew by ' .. (live() - before)) -- not 3 x 4 MB
      assert.are.equal(0, (x.grad - x:gt(0):float() * 6):abs():max())

      -- a weight used eight times: each use's gradient is freed once summed into the weight's
      local w = torch.randn(512, 512):requires_grad_() -- 1 MB
      local v = torch.randn(4, 512)
      local total = v:mm(w):tanh()
      for _ = 2, 8 do total = total + v:mm(w):tanh() end
      local loss = total:sum()
      before = live()
      loss:backward()
      assert.is_true(live() - before < 3 * MB4 / 4, 'shared weight: grew by ' .. (live() - before)) -- not 8 x 1 MB
      local expected = torch.zeros(512, 512)
      for _ = 1, 8 do expected:add_(v:t():mm(1 - v:mm(w):detach():tanh():pow(2))) end
      assert.is_true((w.grad - expected):abs():max() < 1e-3)

      -- what hooks, retain_grad, grad() and custom Functions see stays valid
      local a = torch.randn(1000):requires_grad_()
      local h = a * 2
      local hooked
      h:register_hook(function(g) hooked = g end)
      local r = h * 1
      r:retain_grad()
      local made
      local Keep = torch.autograd.Function {
        forward = function(ctx, t) return t * 1 end,
        backward = function(ctx, g)
          ctx.kept = g
          made = ctx
          return g * 3
        end,
      }
      local out = Keep.apply(r) * 5
      out:sum():backward()
      assert.are.equal(15 * 1000, hooked:sum())
      assert.are.equal(15 * 1000, r.grad:sum())
      assert.are.equal(5 * 1000, made.kept:sum())
      local gs = torch.autograd.grad({ ((a * 2) * 3):sum() }, { a })
      assert.are.equal(6 * 1000, gs[1]:sum())

      -- zero_grad frees a .grad nobody read ...
      local layer = nn.Linear(1024, 1024) -- a 4 MB weight gradient
      local opt = optim.SGD(layer:parameters(), { lr = 0.1 })
      local inp = torch.randn(8, 1024)
      layer(inp):sum():backward()
      local held = live()
      opt:zero_grad()
      assert.is_true(held - live() >= MB4, 'freed ' .. (held - live()))
      layer(inp):sum():backward()
      held = live()
      layer:zero_grad()
      assert.is_true(held - live() >= MB4, 'Module:zero_grad freed ' .. (held - live()))
      -- ... but not one someone read, nor one the user assigned
      layer(inp):sum():backward()
      local g = layer.weight.grad
      local copy = g:clone()
      opt:zero_grad()
      assert.are.equal(0, (g - copy):abs():max())
      local mine = torch.ones(1024, 1024)
      layer.weight.grad = mine
      opt:zero_grad()
      assert.are.equal(1024 * 1024, mine:sum())
    end)
    collectgarbage('restart')
    assert(ok, err)
  end)

  it('sums fan-in gradients in place only where no other input holds the same tensor', function()
    -- s = a + bb hands one gradient tensor to a and to bb; a also collects t's and bb also w's. Summing into
    -- the shared tensor in place would give one of them the other's total (in two of these six orders).
    local orders = {
      function(t, s, w) return t + s + w end, function(t, s, w) return t + w + s end,
      function(t, s, w) return s + t + w end, function(t, s, w) return s + w + t end,
      function(t, s, w) return w + t + s end, function(t, s, w) return w + s + t end,
    }
    for _, order in ipairs(orders) do
      local a, b = R(3), R(3)
      local t, bb = a * 5, b * 1
      local w, s = bb * 7, a + bb
      local loss = (order(t, s, w) * 2):sum()
      loss:backward()
      assert(ref.compare(a.grad, { dtype = 'float64', shape = { 3 }, values = { 12, 12, 12 } }))
      assert(ref.compare(b.grad, { dtype = 'float64', shape = { 3 }, values = { 16, 16, 16 } }))
    end
    -- the same tensor twice into one slot (x + x), and a weight shared by many steps (a recurrence)
    local x, w = R(2, 3), R(3, 3)
    local h = x
    for _ = 1, 6 do h = (h + h):matmul(w):tanh() end
    local expected = torch.autograd.grad({ h:sum() }, { w }, { retain_graph = true })[1]:clone()
    h:sum():backward()
    assert.is_true((w.grad - expected):abs():max() < 1e-12)
    assert.is_true(gradcheck(function(x0, w0)
      local y = x0
      for _ = 1, 3 do y = (y + y):matmul(w0):tanh() end
      return y
    end, { R(2, 3), R(3, 3) }))
  end)

  it('grad() returns a list, leaves .grad alone, and honours allow_unused', function()
    local x, z = R(3), R(3)
    local y = (x * x):sum()
    local g = torch.autograd.grad({ y }, { x }, { retain_graph = true })
    assert(ref.compare(g[1], { dtype = 'float64', shape = { 3 }, values = (x:detach() * 2):tolist() }))
    assert.is_nil(x.grad)
    assert.matches('not used in the graph', message(function() torch.autograd.grad({ y }, { x, z }, { retain_graph = true }) end))
    local g2 = torch.autograd.grad({ y }, { x, z }, { allow_unused = true })
    assert.is_nil(g2[2])
  end)

  it('supports custom Functions with save_for_backward and needs_input_grad', function()
    local Cube = torch.autograd.Function {
      forward = function(ctx, x, k)
        ctx:save_for_backward(x)
        ctx.k = k
        return x ^ 3 * k
      end,
      backward = function(ctx, g)
        local x = ctx.saved_tensors[1]
        assert(ctx.needs_input_grad[1])
        return g * 3 * x * x * ctx.k, nil
      end,
    }
    local x = R(4)
    assert.is_true(gradcheck(function(t) return Cube.apply(t, 2) end, { x }))
    local y = Cube.apply(x, 1)
    x:detach():mul_(0) -- changes the saved tensor's storage
    assert.matches('modified by an in%-place operation', message(function() y:sum():backward() end))
  end)
end)

describe('memory', function()
  it('stays flat over 1000 forward/backward steps without collectgarbage', function()
    local nn = require 'tensor.nn'
    local model = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 10))
    local x, y = torch.randn(64, 32), torch.randint(1, 11, { 64 })
    local function step()
      model:zero_grad()
      local loss = nn.F.cross_entropy(model(x), y)
      loss:backward()
    end
    for _ = 1, 100 do step() end
    torch.memory.reset_peak()
    local start = torch.memory.allocated()
    for _ = 1, 1000 do step() end
    -- the live set of one step is about 100 KB; the collector's slack is bounded, not growing
    assert.is_true(torch.memory.max_allocated() - start < 96 * 1024 * 1024,
                   'peak grew by ' .. (torch.memory.max_allocated() - start))
    assert.is_true(torch.memory.allocated() - start < 64 * 1024 * 1024)
  end)
end)
