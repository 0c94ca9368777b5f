-- Matrix products against PyTorch: mm, bmm, matmul (every rank combination, broadcast batch dims), mv, dot,
-- vdot, inner, outer, the add* forms with beta and alpha, einsum; on contiguous, transposed, strided, expanded
-- and empty operands and results (out=, in place); float32/float64 (BLAS), float16/bfloat16 (float32 inside),
-- integer dtypes (the blocked kernel, wrapping on overflow); errors.
local torch = require 'tensor'
local ref = require 'helpers.torchref'

torch.manual_seed(4321)

local EPS = { float64 = 2.2e-16, float32 = 1.2e-7, float16 = 9.8e-4, bfloat16 = 7.8e-3 }

-- Tolerances for sums of k products of values near 1 (randn): the rounding of k terms, and for the 16-bit
-- types the final rounding of a result of size ~sqrt(k).
local function tol(dtype, k)
  local eps = EPS[dtype]
  if not eps then return { atol = 0, rtol = 0 } end
  k = math.max(k or 1, 1)
  return { atol = 8 * eps * k, rtol = 8 * eps * math.sqrt(k) }
end

-- A random tensor of the given size (a table) and dtype; integers in [-4, 5).
local function rnd(size, dtype)
  dtype = dtype or 'float32'
  if dtype:match('int') then
    local lo = dtype == 'uint8' and 0 or -4
    return torch.randint(lo, 5, size, { dtype = dtype })
  end
  return torch.randn(size, { dtype = dtype == 'float64' and 'float64' or 'float32' }):to(dtype)
end

-- A [rows x cols] matrix whose strides are neither 1 (every other element of a larger tensor).
local function strided(rows, cols, dtype)
  return rnd({ rows, cols * 2 }, dtype):as_strided({ rows, cols }, { cols * 2, 2 }, 0)
end

local cases = {}
-- name; fn(inputs...) -> Tensor; the PyTorch expression over the inputs a, b, c, ...; the inputs in order;
-- tolerance options
local function case(name, fn, python, inputs, tolerance)
  cases[#cases + 1] = { name = name, fn = fn, python = python, inputs = inputs, tol = tolerance }
end
local NAMES = { 'a', 'b', 'c', 'd' }

-- ---- mm across dtypes and layouts ----
local layouts = {
  { 'contiguous', function(m, k, n, dt) return rnd({ m, k }, dt), rnd({ k, n }, dt) end },
  { 'a transposed', function(m, k, n, dt) return rnd({ k, m }, dt):t(), rnd({ k, n }, dt) end },
  { 'b transposed', function(m, k, n, dt) return rnd({ m, k }, dt), rnd({ n, k }, dt):t() end },
  { 'both transposed', function(m, k, n, dt) return rnd({ k, m }, dt):t(), rnd({ n, k }, dt):t() end },
  { 'rows of a larger matrix', function(m, k, n, dt)
    return rnd({ m, k + 3 }, dt):narrow(2, 2, k), rnd({ k + 1, n + 2 }, dt):narrow(1, 2, k):narrow(2, 3, n) end },
  { 'no unit stride (copied)', function(m, k, n, dt) return strided(m, k, dt), strided(k, n, dt) end },
  { 'expanded rows', function(m, k, n, dt) return rnd({ 1, k }, dt):expand(m, k), rnd({ k, 1 }, dt):expand(k, n) end },
}
-- (small shapes run a plain loop; from 512 multiply-adds on, BLAS's gemm, gemv for a row or column, dot; float32
-- products between 10^6 and 2^24 multiply-adds (from 16 x 32 x 32 where b is transposed) the AVX-512 kernel of
-- lib/cpu/sgemm_avx512.c, here with row counts off its 12-row blocks, depths off its 16 x 16 transposes and widths
-- off its 32-column panels; a row-major b is read in place below 128 rows and packed from 128 on)
local shapes = { { 2, 3, 4 }, { 1, 5, 7 }, { 6, 5, 1 }, { 1, 9, 1 }, { 17, 33, 9 }, { 64, 65, 66 }, { 1, 70, 90 },
                 { 80, 70, 1 }, { 1, 700, 1 }, { 37, 45, 100 }, { 100, 33, 47 }, { 16, 200, 33 }, { 97, 120, 101 },
                 { 130, 90, 100 } }
for _, dtype in ipairs({ 'float32', 'float64' }) do
  for _, l in ipairs(layouts) do
    for _, s in ipairs(shapes) do
      local a, b = l[2](s[1], s[2], s[3], dtype)
      case(string.format('mm %s %s %dx%dx%d', dtype, l[1], s[1], s[2], s[3]), function(x, y) return x:mm(y) end,
           'a.mm(b)', { a, b }, tol(dtype, s[2]))
    end
  end
end
-- larger products: BLAS's blocked paths, and the integer kernel's blocks (k > 128, n > 256)
case('mm float32 300x500x400', function(x, y) return x:mm(y) end, 'a.mm(b)', { rnd({ 300, 500 }), rnd({ 500, 400 }) },
     tol('float32', 500))
case('mm float64 257x129x130 transposed', function(x, y) return x:t():mm(y) end, 'a.t().mm(b)',
     { rnd({ 129, 257 }, 'float64'), rnd({ 129, 130 }, 'float64') }, tol('float64', 129))
-- fresh results of 256 KB and more that BLAS computes are zeroed with streaming stores first (lib/cpu/blas.c,
-- lib/cpu/streaming.c): rows of 259 floats start off 16-byte boundaries, so each row has a head and a tail of
-- ordinary stores; at two threads each thread zeroes its own tile of columns
local function with_threads(n, fn)
  return function(...)
    local before = torch.get_num_threads()
    torch.set_num_threads(n)
    local ok, r = pcall(fn, ...)
    torch.set_num_threads(before)
    assert(ok, r)
    return r
  end
end
local function mm(x, y) return x:mm(y) end
local function mm_t(x, y) return x:mm(y:t()) end
for _, threads in ipairs({ 1, 2 }) do
  local function at(name, fn, python, inputs, tolerance)
    case(string.format('%s, %d thread(s)', name, threads), with_threads(threads, fn), python, inputs, tolerance)
  end
  at('mm float32 fresh 260x300x259', mm, 'a.mm(b)', { rnd({ 260, 300 }), rnd({ 300, 259 }) }, tol('float32', 300))
  at('mm float64 fresh 131x300x257 b transposed', mm_t, 'a.mm(b.t())',
     { rnd({ 131, 300 }, 'float64'), rnd({ 257, 300 }, 'float64') }, tol('float64', 300))
  at('bmm float32 fresh 2x261x300x263', function(x, y) return x:bmm(y) end, 'a.bmm(b)',
     { rnd({ 2, 261, 300 }), rnd({ 2, 300, 263 }) }, tol('float32', 300))
  -- from 2^28 multiply-adds a single product runs on OpenBLAS's threads, lent for the call (at two threads)
  at('mm float32 700x650x600 b transposed', mm_t, 'a.mm(b.t())', { rnd({ 700, 650 }), rnd({ 600, 650 }) },
     tol('float32', 650))
  at('matmul float64 [1, 650, 700] @ [700, 620]', function(x, y) return x:matmul(y) end, 'a.matmul(b)',
     { rnd({ 1, 650, 700 }, 'float64'), rnd({ 700, 620 }, 'float64') }, tol('float64', 700))
  -- from 2^18 matrix elements a matrix-vector product runs on OpenBLAS's threads too (at two threads)
  at('mv float32 700x530', function(x, y) return x:mv(y) end, 'a.mv(b)', { rnd({ 700, 530 }), rnd({ 530 }) },
     tol('float32', 530))
  at('mv float64 530x700 transposed', function(x, y) return x:t():mv(y) end, 'a.t().mv(b)',
     { rnd({ 700, 530 }, 'float64'), rnd({ 700 }, 'float64') }, tol('float64', 700))
  at('matmul float32 [700] @ [700, 530]', function(x, y) return x:matmul(y) end, 'a.matmul(b)',
     { rnd({ 700 }), rnd({ 700, 530 }) }, tol('float32', 700))
end
for _, dtype in ipairs({ 'int64', 'int32', 'int16', 'int8', 'uint8' }) do
  case('mm ' .. dtype .. ' 37x300x270', function(x, y) return x:mm(y) end, 'a.mm(b)',
       { rnd({ 37, 300 }, dtype), rnd({ 300, 270 }, dtype) })
  case('mm ' .. dtype .. ' transposed', function(x, y) return x:t():mm(y:t()) end, 'a.t().mm(b.t())',
       { rnd({ 5, 3 }, dtype), rnd({ 4, 5 }, dtype) })
end
-- integer overflow wraps as in PyTorch
case('mm int8 wraps around', function(x, y) return x:mm(y) end, 'a.mm(b)',
     { torch.randint(-128, 128, { 9, 40 }, { dtype = 'int8' }), torch.randint(-128, 128, { 40, 7 }, { dtype = 'int8' }) })
case('mm int64 wraps around', function(x, y) return x:mm(y) end, 'a.mm(b)',
     { torch.tensor({ { 2 ^ 40, 3 }, { -2 ^ 41, 5 } }, { dtype = 'int64' }),
       torch.tensor({ { 2 ^ 30, 1 }, { 7, -2 ^ 50 } }, { dtype = 'int64' }) })
-- bfloat16 in PyTorch; float16 (which PyTorch's CPU lacks) against float32 rounded once
case('mm bfloat16', function(x, y) return x:mm(y) end, 'a.mm(b)', { rnd({ 7, 20 }, 'bfloat16'), rnd({ 20, 6 }, 'bfloat16') },
     tol('bfloat16', 20))
case('mm float16', function(x, y) return x:mm(y) end, 'a.float().mm(b.float()).half()',
     { rnd({ 7, 20 }, 'float16'), rnd({ 20, 6 }, 'float16') }, tol('float16', 20))
case('bmm float16 transposed', function(x, y) return x:bmm(y:transpose(2, 3)) end,
     'a.float().bmm(b.float().transpose(1, 2)).half()', { rnd({ 3, 4, 5 }, 'float16'), rnd({ 3, 6, 5 }, 'float16') },
     tol('float16', 5))
case('matmul bfloat16 broadcast', function(x, y) return x:matmul(y) end, 'a.matmul(b)',
     { rnd({ 2, 3, 8 }, 'bfloat16'), rnd({ 8, 4 }, 'bfloat16') }, tol('bfloat16', 8))
-- empty dims
for _, s in ipairs({ { 0, 4, 5 }, { 3, 0, 5 }, { 3, 4, 0 }, { 0, 0, 0 } }) do
  for _, dtype in ipairs({ 'float32', 'int64' }) do
    case(string.format('mm %s empty %dx%dx%d', dtype, s[1], s[2], s[3]), function(x, y) return x:mm(y) end, 'a.mm(b)',
         { rnd({ s[1], s[2] }, dtype), rnd({ s[2], s[3] }, dtype) })
  end
end

-- ---- results written in place: out= of every layout, in-place add* forms ----
local function out_case(name, make_out)
  for _, dtype in ipairs({ 'float32', 'float64', 'int64' }) do
    case('mm out= ' .. name .. ' ' .. dtype, function(x, y)
      local o = make_out(dtype)
      local r = torch.mm(x, y, { out = o })
      assert(r == o, 'out= returns the out tensor')
      return o
    end, 'a.mm(b)', { rnd({ 40, 50 }, dtype), rnd({ 50, 30 }, dtype) }, tol(dtype, 50))
  end
end
out_case('contiguous', function(dt) return torch.zeros(40, 30, { dtype = dt }) end)
out_case('column-major', function(dt) return torch.zeros(30, 40, { dtype = dt }):t() end)
out_case('no unit stride', function(dt) return strided(40, 30, dt) end)
out_case('resized from another size', function(dt) return torch.zeros(2, { dtype = dt }) end)
case('mv out= a strided vector of a larger tensor', function(x, y)
  local o = torch.zeros(2, 5)
  return torch.mv(x, y, { out = o:as_strided({ 2 }, { 5 }, 0) })
end, 'a.mv(b)', { rnd({ 2, 300 }), rnd({ 300 }) }, tol('float32', 300))
case('addmm_ column-major result of a large product', function(m, x, y)
  local r = m:t():contiguous():t()
  return r:addmm_(x, y, { beta = -1 })
end, 'torch.addmm(a, b, c, beta=-1)', { rnd({ 300, 200 }), rnd({ 300, 100 }), rnd({ 100, 200 }) }, tol('float32', 100))
case('mm into a row of a result with no unit stride', function(x, y)
  local o = torch.zeros(3, 400)
  torch.mm(x, y, { out = o:as_strided({ 1, 200 }, { 1, 2 }, 1) })
  return o
end, 'torch.zeros(3, 400).as_strided((1, 200), (1, 2), 1).copy_(a.mm(b)).as_strided((3, 400), (400, 1), 0)',
     { rnd({ 1, 50 }), rnd({ 50, 200 }) }, tol('float32', 50))
case('mv out= column-major slice', function(x, y)
  local o = torch.zeros(4, 5):select(2, 2)
  torch.mv(x, y, { out = o })
  return o
end, 'a.mv(b)', { rnd({ 4, 8 }), rnd({ 8 }) }, tol('float32', 8))
case('mm out= aliasing an operand', function(x, y)
  local x2 = x:clone()
  torch.mm(x2, y, { out = x2 })
  return x2
end, 'a.mm(b)', { rnd({ 6, 6 }), rnd({ 6, 6 }) }, tol('float32', 6))
case('addmm_ in place over a transposed input', function(m, x, y)
  local mt = m:t():contiguous():t()
  mt:addmm_(x, y, { beta = 0.5, alpha = -2 })
  return mt
end, 'torch.addmm(a, b, c, beta=0.5, alpha=-2)', { rnd({ 5, 6 }), rnd({ 5, 9 }), rnd({ 9, 6 }) }, tol('float32', 9))
case('addmm_ in place where the input is an operand', function(m, y)
  local m2 = m:clone()
  m2:addmm_(m2, y)
  return m2
end, 'torch.addmm(a, a, b)', { rnd({ 6, 6 }), rnd({ 6, 6 }) }, tol('float32', 6))

-- ---- the add* forms ----
for _, dtype in ipairs({ 'float32', 'float64', 'int64' }) do
  local beta, alpha = dtype == 'int64' and 2 or 0.5, dtype == 'int64' and -3 or 1.5
  local py = string.format(', beta=%s, alpha=%s)', beta, alpha)
  local t = tol(dtype, 10)
  case('addmm ' .. dtype, function(m, x, y) return m:addmm(x, y, { beta = beta, alpha = alpha }) end,
       'torch.addmm(a, b, c' .. py, { rnd({ 4, 6 }, dtype), rnd({ 4, 10 }, dtype), rnd({ 10, 6 }, dtype) }, t)
  case('addmm broadcast input ' .. dtype, function(m, x, y) return torch.addmm(m, x, y, beta, alpha) end,
       'torch.addmm(a, b, c' .. py, { rnd({ 6 }, dtype), rnd({ 4, 10 }, dtype), rnd({ 10, 6 }, dtype) }, t)
  case('addmv ' .. dtype, function(v, x, y) return v:addmv(x, y, { beta = beta, alpha = alpha }) end,
       'torch.addmv(a, b, c' .. py, { rnd({ 4 }, dtype), rnd({ 4, 10 }, dtype), rnd({ 10 }, dtype) }, t)
  case('addmv_ ' .. dtype, function(v, x, y) return v:clone():addmv_(x, y, beta, alpha) end,
       'torch.addmv(a, b, c' .. py, { rnd({ 4 }, dtype), rnd({ 10, 4 }, dtype):t(), rnd({ 10 }, dtype) }, t)
  case('addr ' .. dtype, function(m, x, y) return m:addr(x, y, { beta = beta, alpha = alpha }) end,
       'torch.addr(a, b, c' .. py, { rnd({ 1, 6 }, dtype), rnd({ 4 }, dtype), rnd({ 6 }, dtype) }, t)
  case('baddbmm ' .. dtype, function(m, x, y) return m:baddbmm(x, y, { beta = beta, alpha = alpha }) end,
       'torch.baddbmm(a, b, c' .. py, { rnd({ 3, 1, 6 }, dtype), rnd({ 3, 4, 10 }, dtype), rnd({ 3, 10, 6 }, dtype) }, t)
  case('baddbmm_ ' .. dtype, function(m, x, y) return m:clone():baddbmm_(x, y, { beta = beta, alpha = alpha }) end,
       'torch.baddbmm(a, b, c' .. py, { rnd({ 3, 4, 6 }, dtype), rnd({ 3, 4, 10 }, dtype), rnd({ 3, 10, 6 }, dtype) }, t)
  case('addbmm ' .. dtype, function(m, x, y) return m:addbmm(x, y, { beta = beta, alpha = alpha }) end,
       'torch.addbmm(a, b, c' .. py, { rnd({ 4, 6 }, dtype), rnd({ 3, 4, 10 }, dtype), rnd({ 3, 10, 6 }, dtype) }, tol(dtype, 30))
  case('addbmm empty batch ' .. dtype, function(m, x, y) return m:addbmm(x, y, { beta = beta, alpha = alpha }) end,
       'torch.addbmm(a, b, c' .. py, { rnd({ 4, 6 }, dtype), rnd({ 0, 4, 10 }, dtype), rnd({ 0, 10, 6 }, dtype) }, t)
end
case('addmm float32 at the small-product kernel\'s sizes, beta 0.5 alpha -1.5', function(m, x, y)
  return m:addmm(x:t(), y, { beta = 0.5, alpha = -1.5 })
end, 'torch.addmm(a, b.t(), c, beta=0.5, alpha=-1.5)', { rnd({ 41, 70 }), rnd({ 60, 41 }), rnd({ 60, 70 }) },
     tol('float32', 60))
case('addmm beta 0 ignores NaN in the input', function(m, x, y) return m:addmm(x, y, { beta = 0 }) end,
     'torch.addmm(a, b, c, beta=0)', { torch.full({ 3, 4 }, 0 / 0), rnd({ 3, 5 }), rnd({ 5, 4 }) }, tol('float32', 5))
case('addmv beta 0 ignores NaN in the input', function(m, x, y) return m:addmv(x, y, { beta = 0 }) end,
     'torch.addmv(a, b, c, beta=0)', { torch.full({ 30 }, 0 / 0), rnd({ 30, 50 }), rnd({ 50 }) }, tol('float32', 50))
case('addmm alpha 0', function(m, x, y) return m:addmm(x, y, { beta = 2, alpha = 0 }) end,
     'torch.addmm(a, b, c, beta=2, alpha=0)', { rnd({ 3, 4 }), rnd({ 3, 5 }), rnd({ 5, 4 }) })
case('addmm empty k', function(m, x, y) return m:addmm(x, y, { beta = 3 }) end, 'torch.addmm(a, b, c, beta=3)',
     { rnd({ 3, 4 }), rnd({ 3, 0 }), rnd({ 0, 4 }) })

-- ---- bmm, matmul and the vector products ----
for _, dtype in ipairs({ 'float32', 'float64', 'int64' }) do
  local t = tol(dtype, 8)
  case('bmm ' .. dtype, function(x, y) return x:bmm(y) end, 'a.bmm(b)', { rnd({ 3, 4, 8 }, dtype), rnd({ 3, 8, 5 }, dtype) }, t)
  case('bmm permuted ' .. dtype, function(x, y) return x:permute(2, 1, 3):bmm(y:transpose(2, 3)) end,
       'a.permute(1, 0, 2).bmm(b.transpose(1, 2))', { rnd({ 4, 3, 8 }, dtype), rnd({ 3, 5, 8 }, dtype) }, t)
  case('bmm expanded batch ' .. dtype, function(x, y) return x:expand(5, 4, 8):bmm(y) end, 'a.expand(5, 4, 8).bmm(b)',
       { rnd({ 1, 4, 8 }, dtype), rnd({ 5, 8, 3 }, dtype) }, t)
  case('bmm many small ' .. dtype, function(x, y) return x:bmm(y) end, 'a.bmm(b)',
       { rnd({ 300, 9, 8 }, dtype), rnd({ 300, 8, 7 }, dtype) }, t)
  case('bmm many medium ' .. dtype, function(x, y) return x:bmm(y) end, 'a.bmm(b)',
       { rnd({ 40, 24, 8 }, dtype), rnd({ 40, 8, 30 }, dtype) }, t)
  case('bmm many matrix-vector ' .. dtype, function(x, y) return x:bmm(y) end, 'a.bmm(b)',
       { rnd({ 200, 60, 40 }, dtype), rnd({ 200, 40, 1 }, dtype) }, tol(dtype, 40))
  case('mv ' .. dtype, function(x, y) return x:mv(y) end, 'a.mv(b)', { rnd({ 5, 8 }, dtype), rnd({ 8 }, dtype) }, t)
  case('mv transposed, strided vector ' .. dtype, function(x, y) return x:t():mv(y:select(2, 2)) end,
       'a.t().mv(b[:, 1])', { rnd({ 8, 40 }, dtype), rnd({ 8, 3 }, dtype) }, t)
  case('mv expanded vector ' .. dtype, function(x, y) return x:mv(y:expand(8)) end, 'a.mv(b.expand(8))',
       { rnd({ 50, 8 }, dtype), rnd({ 1 }, dtype) }, t)
  case('dot ' .. dtype, function(x, y) return x:dot(y) end, 'torch.dot(a, b)', { rnd({ 100 }, dtype), rnd({ 100 }, dtype) },
       tol(dtype, 100))
  case('dot strided ' .. dtype, function(x, y) return torch.dot(x:select(2, 1), y) end, 'torch.dot(a[:, 0], b)',
       { rnd({ 30, 2 }, dtype), rnd({ 30 }, dtype) }, tol(dtype, 30))
  case('vdot ' .. dtype, function(x, y) return x:vdot(y) end, 'torch.vdot(a, b)', { rnd({ 7 }, dtype), rnd({ 7 }, dtype) }, t)
  case('outer ' .. dtype, function(x, y) return x:outer(y) end, 'torch.outer(a, b)', { rnd({ 40 }, dtype), rnd({ 30 }, dtype) }, t)
  case('inner ' .. dtype, function(x, y) return x:inner(y) end, 'torch.inner(a, b)',
       { rnd({ 2, 3, 8 }, dtype), rnd({ 4, 8 }, dtype) }, t)
  case('inner of vectors ' .. dtype, function(x, y) return torch.inner(x, y) end, 'torch.inner(a, b)',
       { rnd({ 8 }, dtype), rnd({ 8 }, dtype) }, t)
end
-- matmul: every rank combination, broadcast batch dims, and the batch folded into rows
local matmul_shapes = {
  { { 8 }, { 8 } }, { { 5, 8 }, { 8 } }, { { 8 }, { 8, 6 } }, { { 5, 8 }, { 8, 6 } }, { { 3, 5, 8 }, { 8 } },
  { { 8 }, { 3, 8, 6 } }, { { 3, 5, 8 }, { 8, 6 } }, { { 5, 8 }, { 3, 8, 6 } }, { { 2, 1, 5, 8 }, { 4, 8, 6 } },
  { { 2, 3, 1, 8 }, { 3, 8, 1 } }, { { 0, 5, 8 }, { 8, 6 } }, { { 2, 0, 8 }, { 2, 8, 6 } },
  { { 1, 3, 5, 8 }, { 2, 1, 8, 6 } }, { { 4, 1, 1, 2, 8 }, { 3, 8, 2 } },
}
for _, dtype in ipairs({ 'float32', 'float64', 'int64' }) do
  for _, s in ipairs(matmul_shapes) do
    local sa, sb = table.concat(s[1], 'x'), table.concat(s[2], 'x')
    case(string.format('matmul %s [%s] @ [%s]', dtype, sa, sb), function(x, y) return x:matmul(y) end, 'a.matmul(b)',
         { rnd(s[1], dtype), rnd(s[2], dtype) }, tol(dtype, 8))
  end
end
case('matmul batch of transposed matrices @ matrix (not foldable)', function(x, y) return x:transpose(2, 3):matmul(y) end,
     'a.transpose(1, 2).matmul(b)', { rnd({ 3, 8, 5 }), rnd({ 8, 6 }) }, tol('float32', 8))
case('matmul permuted batch @ matrix', function(x, y) return x:permute(2, 1, 3):matmul(y) end,
     'a.permute(1, 0, 2).matmul(b)', { rnd({ 5, 3, 8 }), rnd({ 8, 6 }) }, tol('float32', 8))
case('matmul of a linear layer: x [4, 7, 20] @ w\' ', function(x, w) return x:matmul(w:t()) end, 'a.matmul(b.t())',
     { rnd({ 4, 7, 20 }), rnd({ 12, 20 }) }, tol('float32', 20))
case('matmul out=', function(x, y)
  local o = torch.empty(1)
  torch.matmul(x, y, { out = o })
  return o
end, 'a.matmul(b)', { rnd({ 2, 3, 4 }), rnd({ 4, 5 }) }, tol('float32', 4))
case('matmul out= non-contiguous with a folded batch', function(x, y)
  local o = torch.zeros(2, 5, 3):transpose(2, 3)
  torch.matmul(x, y, { out = o })
  return o
end, 'a.matmul(b)', { rnd({ 2, 3, 4 }), rnd({ 4, 5 }) }, tol('float32', 4))

-- ---- einsum ----
local einsum_cases = {
  { 'ij,jk->ik', { { 3, 4 }, { 4, 5 } } }, { 'ij,jk', { { 3, 4 }, { 4, 5 } } }, { 'bij,bjk->bik', { { 2, 3, 4 }, { 2, 4, 5 } } },
  { 'ii->i', { { 4, 4 } } }, { 'ii', { { 4, 4 } } }, { 'ij->', { { 3, 4 } } }, { 'ij->j', { { 3, 4 } } }, { 'ij->ji', { { 3, 4 } } },
  { 'i,j->ij', { { 3 }, { 4 } } }, { 'i,i->', { { 5 }, { 5 } } }, { 'i,i->i', { { 5 }, { 5 } } },
  { 'bhqd,bhkd->bhqk', { { 2, 3, 4, 5 }, { 2, 3, 6, 5 } } }, { '...ij->...ji', { { 2, 3, 4, 5 } } },
  { 'ij,jk,kl->il', { { 2, 3 }, { 3, 4 }, { 4, 5 } } }, { 'bn,anm,bm->ba', { { 2, 3 }, { 4, 3, 5 }, { 2, 5 } } },
  { '...ij,...jk->...ik', { { 2, 3, 4 }, { 4, 5 } } }, { 'ijk,ikj->i', { { 3, 4, 5 }, { 3, 5, 4 } } },
  { 'iij->j', { { 3, 3, 4 } } }, { 'ab,cd->abcd', { { 2, 3 }, { 4, 5 } } }, { 'Ab,bC->AC', { { 2, 3 }, { 3, 4 } } },
}
for _, e in ipairs(einsum_cases) do
  local inputs, names = {}, {}
  for i, s in ipairs(e[2]) do
    inputs[i] = rnd(s, 'float64')
    names[i] = NAMES[i]
  end
  case('einsum ' .. e[1], function(...) return torch.einsum(e[1], ...) end,
       string.format("torch.einsum('%s', %s)", e[1], table.concat(names, ', ')), inputs, tol('float64', 20))
end
-- summing over a label of size 0 failed in reshape(-1, 0)
case('einsum summing an empty dim', function(x) return torch.einsum('ij->', x) end, "torch.einsum('ij->', a)",
     { rnd({ 0, 2 }) })
case('einsum summing an empty diagonal', function(x) return torch.einsum('iij->j', x) end,
     "torch.einsum('iij->j', a)", { rnd({ 0, 0, 3 }) })
case('einsum with a table of operands', function(x, y) return torch.einsum('ij,kj->ik', { x, y }) end,
     "torch.einsum('ij,kj->ik', a, b)", { rnd({ 3, 4 }), rnd({ 5, 4 }) }, tol('float32', 4))

-- Run every case in PyTorch once, then compare.
describe('matrix products match PyTorch', function()
  local batch = {}
  for i, cs in ipairs(cases) do
    local named = {}
    for j, x in ipairs(cs.inputs) do named[NAMES[j]] = x end
    batch[i] = { code = 'out = ' .. cs.python, inputs = named }
  end
  local results = ref.batch(batch)
  for i, cs in ipairs(cases) do
    it(cs.name, function()
      local got = cs.fn(unpack(cs.inputs))
      local ok, msg = ref.compare(got, results[i], cs.tol or { atol = 0, rtol = 0 })
      assert(ok, msg)
    end)
  end
end)

describe('matrix products: identities', function()
  it('reads transposed operands without copying them (no allocation beyond the result)', function()
    local a, b = torch.randn(256, 256), torch.randn(256, 256)
    local before = torch.memory.allocated()
    local r = a:t():mm(b:t())
    assert.equals(before + 256 * 256 * 4, torch.memory.allocated())
    assert.is_true(r:is_contiguous())
  end)
  it('a batch over one matrix equals the per-matrix products', function()
    local x, w = torch.randn(4, 6, 10, { dtype = 'float64' }), torch.randn(10, 3, { dtype = 'float64' })
    local r = x:matmul(w)
    for i = 1, 4 do
      local got, expected = r[i]:contiguous():view(-1):tolist(), x[i]:mm(w):view(-1):tolist()
      for j = 1, #expected do assert.is_true(math.abs(got[j] - expected[j]) < 1e-12) end
    end
  end)
  it('a fresh result owes nothing to what its memory held before (NaN and Inf in the freed block)', function()
    -- rows of 259 floats: streaming stores for the aligned middle of each row, ordinary ones at its ends; the
    -- second product is large enough to run on OpenBLAS's threads at two threads (which zero it themselves)
    local memory = require('tensor.memory')
    for _, s in ipairs({ { 300, 400, 259 }, { 700, 650, 601 } }) do
      local a, b = torch.randn(s[1], s[2]), torch.randn(s[2], s[3])
      local expected = a:double():mm(b:double())
      for _, threads in ipairs({ 1, 2 }) do
        for _, old in ipairs({ 0 / 0, math.huge, -math.huge }) do
          local junk = torch.full({ s[1], s[3] }, old)
          local where = junk:data_ptr()
          assert.is_true(memory.release(junk))
          local got = with_threads(threads, function() return a:mm(b) end)()
          assert.equals(where, got:data_ptr()) -- the freed block itself
          assert.is_true(got:isfinite():all())
          assert.is_true(got:double():sub(expected):abs():max() < 1e-3)
        end
      end
    end
  end)
  it('bumps the version of the tensor it writes', function()
    local o = torch.zeros(2, 2)
    local v = o:_version()
    torch.mm(torch.ones(2, 3), torch.ones(3, 2), { out = o })
    assert.is_true(o:_version() > v)
    assert.equals(3, o[{ 1, 1 }])
  end)
end)

describe('matrix product errors', function()
  local function message(fn)
    local ok, err = pcall(fn)
    assert.is_false(ok)
    return tostring(err)
  end
  it('names the op and both sizes on a size mismatch', function()
    assert.matches('mm: size mismatch, %[2 x 3%] @ %[4 x 5%]', message(function() return torch.randn(2, 3):mm(torch.randn(4, 5)) end))
    assert.matches('matmul: size mismatch, %[7 x 2 x 3%] @ %[4%]',
                   message(function() return torch.randn(7, 2, 3):matmul(torch.randn(4)) end))
    assert.matches('mv: size mismatch, %[2 x 3%] @ %[4%]', message(function() return torch.randn(2, 3):mv(torch.randn(4)) end))
    assert.matches('bmm: batch sizes differ, %[2 x 3 x 4%] @ %[3 x 4 x 5%]',
                   message(function() return torch.randn(2, 3, 4):bmm(torch.randn(3, 4, 5)) end))
    assert.matches('dot: expected 1%-d tensors of the same length, got %[3%] and %[4%]',
                   message(function() return torch.randn(3):dot(torch.randn(4)) end))
    assert.matches('addmm: the input of size %[3 x 3%] does not broadcast to the result\'s size %[2 x 5%]',
                   message(function() return torch.randn(3, 3):addmm(torch.randn(2, 3), torch.randn(3, 5)) end))
    assert.matches('addmm_: the input of size %[5%] must have the result\'s size %[2 x 5%]',
                   message(function() return torch.randn(5):addmm_(torch.randn(2, 3), torch.randn(3, 5)) end))
    assert.matches('matmul: the batch dimensions of %[2 x 3 x 4%] and %[3 x 4 x 5%] do not broadcast',
                   message(function() return torch.randn(2, 3, 4):matmul(torch.randn(3, 4, 5)) end))
  end)
  it('refuses operands of the wrong number of dims', function()
    assert.matches('mm: expected 2%-d matrices, got %[2 x 3 x 4%] and %[4 x 5%]',
                   message(function() return torch.randn(2, 3, 4):mm(torch.randn(4, 5)) end))
    assert.matches('bmm: expected 3%-d', message(function() return torch.randn(3, 4):bmm(torch.randn(4, 5)) end))
    assert.matches('matmul: expected tensors with at least one dimension',
                   message(function() return torch.randn(3):matmul(torch.randn({})) end))
  end)
  it('refuses operands of different dtypes, and bool', function()
    assert.matches('mm: expected both operands to have the same dtype, got float32 and float64',
                   message(function() return torch.randn(2, 3):mm(torch.randn(3, 2, { dtype = 'float64' })) end))
    assert.matches('matmul: not supported for bool tensors',
                   message(function() return torch.ones(2, 2):bool():matmul(torch.ones(2, 2):bool()) end))
    assert.matches('addmm: expected the input to have dtype float32',
                   message(function() return torch.randn(2, 2, { dtype = 'float64' }):addmm(torch.randn(2, 2), torch.randn(2, 2)) end))
  end)
  it('refuses non-integer alpha and beta for integer tensors, and non-tensors', function()
    assert.matches('alpha and beta must be integers',
                   message(function() return torch.ones(2, 2):long():addmm(torch.ones(2, 2):long(), torch.ones(2, 2):long(), { alpha = 0.5 }) end))
    assert.matches('mm: expected a tensor for the second matrix, got number', message(function() return torch.randn(2, 2):mm(3) end))
    assert.matches('out must be a tensor', message(function() return torch.mm(torch.randn(2, 2), torch.randn(2, 2), { out = 1 }) end))
  end)
  it('refuses out= of another dtype or an expanded out=', function()
    assert.matches('out= has dtype float64 but the result is float32',
                   message(function() return torch.mm(torch.randn(2, 2), torch.randn(2, 2), { out = torch.zeros(2, 2, { dtype = 'float64' }) }) end))
    assert.matches('several elements at one memory location',
                   message(function() return torch.mm(torch.randn(2, 2), torch.randn(2, 2), { out = torch.zeros(1, 2):expand(2, 2) }) end))
  end)
  it('reports einsum mistakes', function()
    assert.matches('einsum: operand 1 has 3 labels for a tensor of 2 dimensions',
                   message(function() return torch.einsum('ijk->i', torch.randn(2, 3)) end))
    assert.matches("einsum: the output label 'z' appears in no operand",
                   message(function() return torch.einsum('ij->z', torch.randn(2, 3)) end))
    assert.matches("einsum: label 'j' has size", message(function() return torch.einsum('ij,jk->ik', torch.randn(2, 3), torch.randn(4, 5)) end))
    assert.matches("einsum: label 'i' repeats over dims of sizes 3 and 4",
                   message(function() return torch.einsum('ii->i', torch.randn(3, 4)) end))
    assert.matches('einsum: the equation has 2 operands but 1 tensor was given',
                   message(function() return torch.einsum('ij,jk->ik', torch.randn(2, 3)) end))
  end)
end)

describe('the thread policy (one pool)', function()
  -- Runs Lua code in a fresh process with an environment prefix; returns its output.
  local function fresh(env, code)
    local cmd = string.format("%s TENSOR_LIBRARY='%s' luajit -e \"package.path='./lua/?.lua;./lua/?/init.lua;'.." ..
      "package.path %s\" 2>&1", env, os.getenv('TENSOR_LIBRARY') or '', code)
    local p = io.popen(cmd)
    local out = p:read('*a')
    p:close()
    return out
  end
  local probe = [[
local ffi = require('ffi')
ffi.cdef('int openblas_get_num_threads(void); int openblas_get_parallel(void);')
local torch = require('tensor')
local blas = ffi.load('openblas')
torch.set_num_threads(2)
local before = blas.openblas_get_num_threads()
torch.linalg.inv(torch.randn(300, 300):add(torch.eye(300):mul(300)))
torch.randn(700, 650):mm(torch.randn(650, 600))
io.write(table.concat({ tostring(os.getenv('GOMP_SPINCOUNT')), tostring(os.getenv('OMP_WAIT_POLICY')),
  tostring(os.getenv('OPENBLAS_NUM_THREADS')), tostring(os.getenv('OPENBLAS_THREAD_TIMEOUT')), blas.openblas_get_parallel(), before,
  blas.openblas_get_num_threads(), torch.get_num_threads() }, ' '))]]
  probe = probe:gsub('\n', ' ')

  it('sleeps idle threads after a short spin and keeps OpenBLAS from starting threads, unless the user says otherwise',
     function()
    local out = fresh('env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT -u OPENBLAS_NUM_THREADS -u OPENBLAS_THREAD_TIMEOUT', probe)
    local spin, policy, blas_threads, timeout = out:match('^(%S+) (%S+) (%S+) (%S+)')
    assert.equals('300', spin, out)
    assert.equals('passive', policy, out)
    assert.equals('1', blas_threads, out)
    assert.equals('20', timeout, out)
    -- the user's wait policy or spin count, either one, is the whole policy
    out = fresh('env -u GOMP_SPINCOUNT OMP_WAIT_POLICY=active OPENBLAS_NUM_THREADS=2 OPENBLAS_THREAD_TIMEOUT=25', probe)
    assert.truthy(out:match('^nil active 2 25 '), out)
    out = fresh('env -u OMP_WAIT_POLICY GOMP_SPINCOUNT=1000', probe)
    assert.truthy(out:match('^1000 nil '), out)
  end)
  it('holds the pthreads build of OpenBLAS at one thread, also after lending threads to LAPACK and a product', function()
    for _, env in ipairs({ 'env -u OPENBLAS_NUM_THREADS', 'env OPENBLAS_NUM_THREADS=2' }) do
      local out = fresh(env, probe)
      local kind, before, after, ours = out:match('(%d) (%d+) (%d+) (%d+)$')
      assert.is_string(kind, out)
      if kind == '1' then
        assert.equals('1', before, out)
        assert.equals('1', after, out)
      end
      assert.equals('2', ours, out)
    end
  end)
  it('names the policy in torch.config()', function()
    local out = fresh('env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT', "io.write(require('tensor').config())")
    assert.truthy(out:find('threads: %d+ %(one pool; set at load: OMP_WAIT_POLICY=passive GOMP_SPINCOUNT=300'), out)
    assert.truthy(out:find('BLAS: OpenBLAS', 1, true), out)
  end)
end)
