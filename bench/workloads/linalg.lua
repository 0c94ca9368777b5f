-- Linear algebra workloads (issue 3, BLAS): SGEMM from 64 to 2048 through the API beside PyTorch and beside a
-- direct cblas_sgemm call through the FFI (the ceiling: the same OpenBLAS with nothing around it); small and
-- batched products; an MLP layer; LAPACK factorisations. See bench/README.md for the fields of an entry.
--
-- The direct rows call cblas_sgemm with a preallocated result, with OpenBLAS's own threads as a program that
-- calls it directly gets them (tensor holds them at one and splits products across its OpenMP threads instead;
-- the rows after a direct row restore that with torch.set_num_threads). The a:mm(b) rows allocate their
-- result, as a user writes it and as PyTorch's a.mm(b) does; the out= rows write into a preallocated one.
local list = {}

local cblas = [[
pcall(ffi.cdef, [=[
void cblas_sgemm(int order, int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);
void openblas_set_num_threads(int n);]=])
local blas = ffi.load('openblas')
blas.openblas_set_num_threads(torch.get_num_threads())]]
local own_threads = 'torch.set_num_threads(torch.get_num_threads())\n'

for _, n in ipairs({ 64, 128, 256, 512, 1024, 2048 }) do
  local direct = string.format('cblas_sgemm %d (direct FFI call)', n)
  local setup = string.format('local n = %d\nlocal a, b, c = torch.randn(n, n), torch.randn(n, n), torch.empty(n, n)', n)
  local py_setup = string.format('a, b, c = torch.randn(%d, %d), torch.randn(%d, %d), torch.empty(%d, %d)', n, n, n, n, n, n)
  local flops, min_time = 2 * n ^ 3, n >= 1024 and 1 or nil
  list[#list + 1] = {
    name = direct, short = 'cblas_sgemm',
    setup = setup .. '\n' .. cblas .. [[

local pa, pb, pc = ffi.cast('float *', a:data_ptr()), ffi.cast('float *', b:data_ptr()), ffi.cast('float *', c:data_ptr())]],
    lua = 'blas.cblas_sgemm(101, 111, 111, n, n, n, 1, pa, n, pb, n, 0, pc, n)',
    flops = flops, min_time = min_time }
  list[#list + 1] = {
    name = string.format('sgemm %d: a:mm(b)', n),
    setup = own_threads .. setup, lua = 'local r = a:mm(b)',
    py_setup = py_setup, py = 'r = a.mm(b)',
    flops = flops, baseline = direct, min_time = min_time }
  list[#list + 1] = {
    name = string.format('sgemm %d: torch.mm(a, b, {out=c})', n),
    setup = own_threads .. setup, lua = 'torch.mm(a, b, { out = c })',
    py_setup = py_setup, py = 'torch.mm(a, b, out=c)',
    flops = flops, baseline = direct, min_time = min_time }
end

list[#list + 1] = {
  name = 'sgemm 512 transposed operands: a:t():mm(b:t())',
  setup = 'local a, b = torch.randn(512, 512), torch.randn(512, 512)', lua = 'local r = a:t():mm(b:t())',
  py_setup = 'a, b = torch.randn(512, 512), torch.randn(512, 512)', py = 'r = a.t().mm(b.t())',
  flops = 2 * 512 ^ 3, baseline = 'cblas_sgemm 512 (direct FFI call)' }

-- small products: per-call overhead
for _, n in ipairs({ 4, 16 }) do
  list[#list + 1] = {
    name = string.format('mm %dx%d float32', n, n),
    setup = string.format('local a, b = torch.randn(%d, %d), torch.randn(%d, %d)', n, n, n, n), lua = 'local r = a:mm(b)',
    py_setup = string.format('a, b = torch.randn(%d, %d), torch.randn(%d, %d)', n, n, n, n), py = 'r = a.mm(b)',
    flops = 2 * n ^ 3 }
end
list[#list + 1] = {
  name = 'dot 1000 float32',
  setup = 'local a, b = torch.randn(1000), torch.randn(1000)', lua = 'local r = a:dot(b)',
  py_setup = 'a, b = torch.randn(1000), torch.randn(1000)', py = 'r = a.dot(b)', flops = 2000 }
list[#list + 1] = {
  name = 'mv 1000x1000 float32',
  setup = 'local a, x = torch.randn(1000, 1000), torch.randn(1000)', lua = 'local r = a:mv(x)',
  py_setup = 'a, x = torch.randn(1000, 1000), torch.randn(1000)', py = 'r = a.mv(x)', flops = 2e6 }

-- an MLP layer: x [128 x 784] times a weight stored [512 x 784] (nn.Linear), and the bias added by addmm
list[#list + 1] = {
  name = 'MLP layer 128x784 @ 784x512: x:mm(w)',
  setup = 'local x, w = torch.randn(128, 784), torch.randn(784, 512)', lua = 'local r = x:mm(w)',
  py_setup = 'x, w = torch.randn(128, 784), torch.randn(784, 512)', py = 'r = x.mm(w)',
  flops = 2 * 128 * 784 * 512 }
list[#list + 1] = {
  name = 'MLP layer: bias:addmm(x, w:t()) (nn.Linear)',
  setup = 'local x, w, bias = torch.randn(128, 784), torch.randn(512, 784), torch.randn(512)',
  lua = 'local r = bias:addmm(x, w:t())',
  py_setup = 'x, w, bias = torch.randn(128, 784), torch.randn(512, 784), torch.randn(512)',
  py = 'r = torch.addmm(bias, x, w.t())',
  flops = 2 * 128 * 784 * 512 }

-- an MLP training step by hand (784-512-10, batch 128): products on BLAS and element-wise ops on OpenMP, one
-- after the other, as in training; this is where two thread pools would fight
local mlp_lua = [[
local x, y = torch.randn(128, 784), torch.randn(128, 10)
local w1, b1, w2, b2 = torch.randn(512, 784) * 0.03, torch.zeros(512), torch.randn(10, 512) * 0.04, torch.zeros(10)]]
local mlp_py = [[
x, y = torch.randn(128, 784), torch.randn(128, 10)
w1, b1, w2, b2 = torch.randn(512, 784) * 0.03, torch.zeros(512), torch.randn(10, 512) * 0.04, torch.zeros(10)]]
list[#list + 1] = {
  name = 'MLP 784-512-10 training step, batch 128 (by hand)',
  setup = mlp_lua,
  lua = [[
local h = b1:addmm(x, w1:t())
local a = h:relu()
local o = b2:addmm(a, w2:t())
local g = o - y
local gw2 = g:t():mm(a)
local gh = g:mm(w2):mul_(h:gt(0))
local gw1 = gh:t():mm(x)
w1:add_(gw1, -0.01)
w2:add_(gw2, -0.01)]],
  py_setup = mlp_py,
  py = [[
h = torch.addmm(b1, x, w1.t())
a = h.relu()
o = torch.addmm(b2, a, w2.t())
g = o - y
gw2 = g.t().mm(a)
gh = g.mm(w2).mul_(h > 0)
gw1 = gh.t().mm(x)
w1.add_(gw1, alpha=-0.01)
w2.add_(gw2, alpha=-0.01)]],
  flops = 3 * 2 * 128 * (784 * 512 + 512 * 10) }

-- batched: attention scores (many small products), and a batch of rows over one weight (folded into one gemm)
list[#list + 1] = {
  name = 'bmm 64 x (64x64 @ 64x64): attention scores',
  setup = 'local q, k = torch.randn(64, 64, 64), torch.randn(64, 64, 64)', lua = 'local r = q:bmm(k:transpose(2, 3))',
  py_setup = 'q, k = torch.randn(64, 64, 64), torch.randn(64, 64, 64)', py = 'r = q.bmm(k.transpose(1, 2))',
  flops = 2 * 64 ^ 4 }
list[#list + 1] = {
  name = 'matmul [32 x 50 x 256] @ [256 x 256]',
  setup = 'local x, w = torch.randn(32, 50, 256), torch.randn(256, 256)', lua = 'local r = x:matmul(w)',
  py_setup = 'x, w = torch.randn(32, 50, 256), torch.randn(256, 256)', py = 'r = x.matmul(w)',
  flops = 2 * 32 * 50 * 256 * 256 }
list[#list + 1] = {
  name = 'matmul int64 128x128',
  setup = 'local a, b = torch.randint(-9, 9, {128, 128}), torch.randint(-9, 9, {128, 128})', lua = 'local r = a:matmul(b)',
  py_setup = 'a, b = torch.randint(-9, 9, (128, 128)), torch.randint(-9, 9, (128, 128))', py = 'r = a.matmul(b)' }

-- LAPACK
local spd = 'local a = torch.randn(256, 256, {dtype="float64"}); a = a:mm(a:t()) + torch.eye(256, {dtype="float64"}) * 256'
local py_spd = 'a = torch.randn(256, 256, dtype=torch.float64); a = a.mm(a.t()) + torch.eye(256, dtype=torch.float64) * 256'
for _, op in ipairs({
  { 'inv', 'torch.linalg.inv(a)' }, { 'det', 'torch.linalg.det(a)' }, { 'cholesky', 'torch.linalg.cholesky(a)' },
  { 'qr', 'torch.linalg.qr(a)' }, { 'svd', 'torch.linalg.svd(a)' }, { 'eigh', 'torch.linalg.eigh(a)' },
  { 'solve', 'torch.linalg.solve(a, a)' } }) do
  list[#list + 1] = {
    name = string.format('linalg.%s 256x256 float64', op[1]),
    setup = spd, lua = 'local r = ' .. op[2],
    py_setup = py_spd, py = 'r = ' .. op[2] }
end

return list
