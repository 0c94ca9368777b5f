/* blas.cu: the gemm entry of the CUDA backend.
 *
 * Floating dtypes go to cuBLAS (cublasGemmStridedBatchedEx: float32, float64, and float16/bfloat16 with
 * float32 accumulation; TF32 tensor cores for float32 only when tn_cuda_get_allow_tf32() says so). cuBLAS is
 * column-major: a row-major result C = A @ B is computed as C^T = B^T @ A^T, and each operand's transpose flag
 * and leading dimension are read from its strides, so row- and column-major operands (transposed views) need
 * no copy. An operand with any other layout (or a result with one) goes through a contiguous scratch copy.
 * Batches whose strides are one constant step (or 0: an expanded operand) run as one strided-batched call,
 * others call cuBLAS per batch. Summed batches run the batch into scratch and add it up with a small kernel.
 * Integer dtypes use a shared-memory tiled kernel accumulating in wrapping uint64.
 *
 * One cuBLAS handle per device, created on first use and bound to the device's stream at every call. */
#include "ops.cuh"

#include <cublas_v2.h>
#include <pthread.h>

namespace {

/* ---- handles ---- */

enum { MAX_DEVICES = 64 };
/* cuBLAS picks faster kernels (split-K among them) when it has room: 32 MiB per device, as PyTorch gives it on
 * Hopper. The workspace lives as long as the handle, so it is taken with cudaMalloc once, outside the caching
 * allocator (whose counters report the user's tensors and scratch). */
enum { WORKSPACE_BYTES = 32 << 20 };
cublasHandle_t handles[MAX_DEVICES];
void *workspaces[MAX_DEVICES];
pthread_mutex_t handle_lock = PTHREAD_MUTEX_INITIALIZER;

cublasHandle_t handle_for(const char *fn, int device, cudaStream_t stream) {
  if (device < 0 || device >= MAX_DEVICES) {
    tn_error("%s: CUDA device %d is out of range", fn, device);
    return NULL;
  }
  pthread_mutex_lock(&handle_lock);
  cublasHandle_t h = handles[device];
  if (!h && tn_cuda_check_cublas(fn, cublasCreate(&h)) == 0) {
    handles[device] = h;
    if (cudaMalloc(&workspaces[device], WORKSPACE_BYTES) != cudaSuccess) {
      (void)cudaGetLastError(); /* without the workspace cuBLAS uses its own default pool */
      workspaces[device] = NULL;
    }
  }
  void *workspace = workspaces[device];
  pthread_mutex_unlock(&handle_lock);
  if (!h) return NULL;
  /* cublasSetStream also resets the workspace to cuBLAS's default pool, so it is set again after it */
  if (tn_cuda_check_cublas(fn, cublasSetStream(h, stream))) return NULL;
  if (workspace && tn_cuda_check_cublas(fn, cublasSetWorkspace(h, workspace, WORKSPACE_BYTES))) return NULL;
  return h;
}

/* ---- matrices ---- */

struct Mat {
  char *p;
  int64_t rows, cols, rs, cs, bs; /* bs: the step between batches (elements) */
};

/* row-major (rows cs == 1 apart by rs): the column-major view of its transpose, ld = rs */
bool row_major(const Mat &x, int64_t *ld) {
  if (!(x.cols <= 1 || x.cs == 1)) return false;
  int64_t need = x.cols > 1 ? x.cols : 1;
  if (x.rows <= 1) return *ld = need, true;
  if (x.rs < need || x.rs > INT32_MAX) return false;
  return *ld = x.rs, true;
}
bool col_major(const Mat &x, int64_t *ld) {
  if (!(x.rows <= 1 || x.rs == 1)) return false;
  int64_t need = x.rows > 1 ? x.rows : 1;
  if (x.cols <= 1) return *ld = need, true;
  if (x.cs < need || x.cs > INT32_MAX) return false;
  return *ld = x.cs, true;
}

/* the one step between consecutive batches of t's first nb dims, if there is one (0 for an expanded t) */
bool batch_step(const tn_tensor *t, int nb, int64_t *step) {
  int64_t s = -1, span = 1;
  for (int d = nb - 1; d >= 0; d--) {
    int64_t n = t->sizes[d];
    if (n == 1) continue;
    if (s < 0) {
      s = t->strides[d];
    } else if (s == 0 ? t->strides[d] != 0 : t->strides[d] != s * span) {
      return false;
    }
    span *= n;
  }
  *step = s < 0 ? 0 : s;
  return true;
}

/* ---- small kernels: copies between strided and contiguous layouts, scaling, summing batches ---- */

__global__ void gather_contig(char *dst, tv src, int esize) {
  TNC_GRID_LOOP(i, src.numel) {
    int64_t o = tv_offset(src, i);
    if (esize == 8) ((uint64_t *)dst)[i] = ((const uint64_t *)src.data)[o];
    else if (esize == 4) ((uint32_t *)dst)[i] = ((const uint32_t *)src.data)[o];
    else ((uint16_t *)dst)[i] = ((const uint16_t *)src.data)[o];
  }
}
__global__ void scatter_contig(tv dst, const char *src, int esize) {
  TNC_GRID_LOOP(i, dst.numel) {
    int64_t o = tv_offset(dst, i);
    if (esize == 8) ((uint64_t *)dst.data)[o] = ((const uint64_t *)src)[i];
    else if (esize == 4) ((uint32_t *)dst.data)[o] = ((const uint32_t *)src)[i];
    else ((uint16_t *)dst.data)[o] = ((const uint16_t *)src)[i];
  }
}
/* c = beta * c (beta 0: zeros, whatever c held) */
template <class C>
__global__ void scale_kernel(tv c, double beta) {
  TNC_GRID_LOOP(i, c.numel) {
    int64_t o = tv_offset(c, i);
    st<C>(c.data, o, c.dtype, beta == 0 ? (C)0 : (C)(ld<C>(c.data, o, c.dtype) * (C)beta));
  }
}
/* c[i] = alpha * sum_t part[t * mn + i] + beta * c[i] (c viewed [m x n]) */
__global__ void sum_batches_kernel(tv c, const char *part, int64_t count, int64_t mn, double alpha, double beta) {
  TNC_GRID_LOOP(i, mn) {
    double s = 0;
    for (int64_t t = 0; t < count; t++) s += ld<double>(part, t * mn + i, c.dtype);
    int64_t o = tv_offset(c, i);
    double v = alpha * s;
    if (beta != 0) v += beta * ld<double>(c.data, o, c.dtype);
    st<double>(c.data, o, c.dtype, v);
  }
}

/* integer products: 16 x 16 tiles through shared memory, one batch per blockIdx.z (or every batch summed) */
enum { TILE = 16 };
struct IntGemm {
  tv a, b, c;    /* a, b: [batch.., m, k] / [batch.., k, n]; c: [batch.., m, n] or [m, n] */
  int nb;        /* batch dims of a and b */
  int64_t count, m, n, k;
  int sum_batches;
  int64_t alpha, beta;
};
__device__ int64_t batch_off(const tv &t, int nb, int64_t i) {
  int64_t off = 0;
  for (int d = nb - 1; d >= 0; d--) {
    off += (i % t.sizes[d]) * t.strides[d];
    i /= t.sizes[d];
  }
  return off;
}
__global__ void int_gemm_kernel(IntGemm g, int64_t z0) {
  __shared__ uint64_t ta[TILE][TILE + 1], tb[TILE][TILE + 1];
  int64_t row = (int64_t)blockIdx.y * TILE + threadIdx.y, col = (int64_t)blockIdx.x * TILE + threadIdx.x;
  int64_t z = z0 + blockIdx.z;
  int nb = g.nb;
  int64_t first = g.sum_batches ? 0 : z, last = g.sum_batches ? g.count : z + 1;
  uint64_t acc = 0;
  for (int64_t t = first; t < last; t++) {
    int64_t ao = batch_off(g.a, nb, t), bo = batch_off(g.b, nb, t);
    for (int64_t p0 = 0; p0 < g.k; p0 += TILE) {
      int64_t pa = p0 + threadIdx.x, pb = p0 + threadIdx.y;
      ta[threadIdx.y][threadIdx.x] =
          row < g.m && pa < g.k
              ? (uint64_t)ld<int64_t>(g.a.data, ao + row * g.a.strides[nb] + pa * g.a.strides[nb + 1], g.a.dtype)
              : 0;
      tb[threadIdx.y][threadIdx.x] =
          pb < g.k && col < g.n
              ? (uint64_t)ld<int64_t>(g.b.data, bo + pb * g.b.strides[nb] + col * g.b.strides[nb + 1], g.b.dtype)
              : 0;
      __syncthreads();
#pragma unroll
      for (int q = 0; q < TILE; q++) acc += ta[threadIdx.y][q] * tb[q][threadIdx.x];
      __syncthreads();
    }
  }
  if (row < g.m && col < g.n) {
    int cb = g.sum_batches ? 0 : nb;
    int64_t o = (g.sum_batches ? 0 : batch_off(g.c, nb, z)) + row * g.c.strides[cb] + col * g.c.strides[cb + 1];
    uint64_t v = (uint64_t)g.alpha * acc;
    if (g.beta != 0) v += (uint64_t)g.beta * (uint64_t)ld<int64_t>(g.c.data, o, g.c.dtype);
    st<int64_t>(g.c.data, o, g.c.dtype, (int64_t)v);
  }
}

/* ---- cuBLAS calls ---- */

struct Ctx {
  const char *fn;
  int device;
  cudaStream_t stream;
  cublasHandle_t handle;
  int dtype;
};

cudaDataType_t cuda_type(int dtype) {
  switch (dtype) {
  case TN_FLOAT64: return CUDA_R_64F;
  case TN_FLOAT16: return CUDA_R_16F;
  case TN_BFLOAT16: return CUDA_R_16BF;
  default: return CUDA_R_32F;
  }
}

/* Column-major C = alpha op(A) op(B) + beta C, `batch` times (steps sa, sb, sc between the operands), in x's
 * dtype: float64 in float64, float32 in float32 (TF32 when allowed), 16-bit floats with float32 accumulation. */
int gemm(const Ctx &x, cublasOperation_t opa, cublasOperation_t opb, int m, int n, int k, double alpha, const void *A,
         int64_t lda, int64_t sa, const void *B, int64_t ldb, int64_t sb, double beta, void *C, int64_t ldc,
         int64_t sc, int64_t batch) {
  cudaDataType_t t = cuda_type(x.dtype);
  cublasComputeType_t compute = x.dtype == TN_FLOAT64 ? CUBLAS_COMPUTE_64F
                                : x.dtype == TN_FLOAT32 && tn_cuda_get_allow_tf32() ? CUBLAS_COMPUTE_32F_FAST_TF32
                                                                                     : CUBLAS_COMPUTE_32F;
  float af = (float)alpha, bf = (float)beta;
  const void *al = x.dtype == TN_FLOAT64 ? (const void *)&alpha : (const void *)&af;
  const void *be = x.dtype == TN_FLOAT64 ? (const void *)&beta : (const void *)&bf;
  /* one product through the plain call: cuBLAS's heuristics choose differently (and better) for it than for a
   * batch of one */
  cublasStatus_t s =
      batch == 1 ? cublasGemmEx(x.handle, opa, opb, m, n, k, al, A, t, (int)lda, B, t, (int)ldb, be, C, t, (int)ldc,
                                compute, CUBLAS_GEMM_DEFAULT)
                 : cublasGemmStridedBatchedEx(x.handle, opa, opb, m, n, k, al, A, t, (int)lda, sa, B, t, (int)ldb, sb,
                                              be, C, t, (int)ldc, sc, (int)batch, compute, CUBLAS_GEMM_DEFAULT);
  return tn_cuda_check_cublas(x.fn, s);
}

/* C = alpha A B + beta C for `batch` products (A, B, C with steps sa, sb, sc between them) */
int product(const Ctx &x, Mat A, Mat B, Mat C, double alpha, double beta, int64_t batch) {
  int64_t m = A.rows, k = A.cols, n = B.cols;
  if (m > INT32_MAX || n > INT32_MAX || k > INT32_MAX || batch > INT32_MAX)
    return tn_error("%s: the product [%lld x %lld] @ [%lld x %lld] is too large for cuBLAS", x.fn, (long long)m,
                    (long long)k, (long long)k, (long long)n);
  int64_t lda = 1, ldb = 1, ldc = 1;
  bool a_row = row_major(A, &lda), b_row = row_major(B, &ldb);
  if (!a_row) col_major(A, &lda);
  if (!b_row) col_major(B, &ldb);
  cublasOperation_t opa, opb;
  const void *pa, *pb;
  int M, N, K = (int)k;
  int64_t la, lb, sa, sb;
  if (row_major(C, &ldc)) {
    /* C^T (n x m) = B^T (n x k) A^T (k x m): a row-major operand's transpose is column-major as stored */
    M = (int)n, N = (int)m;
    opa = b_row ? CUBLAS_OP_N : CUBLAS_OP_T, pa = B.p, la = ldb, sa = B.bs;
    opb = a_row ? CUBLAS_OP_N : CUBLAS_OP_T, pb = A.p, lb = lda, sb = A.bs;
  } else {
    col_major(C, &ldc);
    M = (int)m, N = (int)n;
    opa = a_row ? CUBLAS_OP_T : CUBLAS_OP_N, pa = A.p, la = lda, sa = A.bs;
    opb = b_row ? CUBLAS_OP_T : CUBLAS_OP_N, pb = B.p, lb = ldb, sb = B.bs;
  }
  return gemm(x, opa, opb, M, N, K, alpha, pa, la, sa, pb, lb, sb, beta, C.p, ldc, C.bs, batch);
}

/* A contiguous scratch copy of t (batch dims first), or of its first `count` batches */
char *contiguous_copy(const Ctx &x, const tn_tensor *t, int64_t *bytes) {
  *bytes = t->numel * tn_dtype_size(t->dtype);
  char *p = (char *)tnc_scratch(x.device, *bytes);
  if (!p) return NULL;
  gather_contig<<<tnc_blocks(t->numel), TNC_THREADS, 0, x.stream>>>(p, tv_of(t), (int)tn_dtype_size(t->dtype));
  if (tnc_check(x.fn)) {
    tnc_scratch_free(x.device, p, *bytes);
    return NULL;
  }
  return p;
}

/* the last two dims of t as a matrix (batch step filled in by the caller) */
Mat mat_of(const tn_tensor *t) {
  int r = t->ndim - 2;
  return Mat{(char *)tn_base(t), t->sizes[r], t->sizes[r + 1], t->strides[r], t->strides[r + 1], 0};
}

int gemm_float(const Ctx &x, tn_tensor *c, const tn_tensor *a, const tn_tensor *b, double alpha, double beta,
               int sum_batches) {
  int nb = a->ndim - 2, cb = sum_batches ? 0 : nb;
  int64_t count = 1;
  for (int d = 0; d < nb; d++) count *= a->sizes[d];
  int64_t m = a->sizes[nb], k = a->sizes[nb + 1], n = b->sizes[nb + 1], es = tn_dtype_size(c->dtype);
  int rc = -1;
  char *ta = NULL, *tb = NULL, *tc = NULL, *part = NULL;
  int64_t na = 0, nbytes_b = 0, nc = 0, npart = 0;
  Mat A, B, C;
  int64_t sa, sb, sc, ld;
  /* operands in a layout cuBLAS reads, with one batch step, else contiguous copies */
  A = mat_of(a);
  if (!batch_step(a, nb, &sa) || (!row_major(A, &ld) && !col_major(A, &ld))) {
    if (!(ta = contiguous_copy(x, a, &na))) goto done;
    A = Mat{ta, m, k, k, 1, m * k};
  } else {
    A.bs = sa;
  }
  B = mat_of(b);
  if (!batch_step(b, nb, &sb) || (!row_major(B, &ld) && !col_major(B, &ld))) {
    if (!(tb = contiguous_copy(x, b, &nbytes_b))) goto done;
    B = Mat{tb, k, n, n, 1, k * n};
  } else {
    B.bs = sb;
  }
  if (sum_batches && count > 1) {
    /* the products into scratch (a chunk of batches at a time), then c = alpha * their sum + beta * c */
    int64_t chunk = ((int64_t)256 << 20) / (m * n * es > 0 ? m * n * es : 1);
    if (chunk < 1) chunk = 1;
    if (chunk > count) chunk = count;
    npart = chunk * m * n * es;
    if (!(part = (char *)tnc_scratch(x.device, npart))) goto done;
    for (int64_t t0 = 0; t0 < count; t0 += chunk) {
      int64_t cnt = count - t0 < chunk ? count - t0 : chunk;
      Mat At = A, Bt = B, P = Mat{part, m, n, n, 1, m * n};
      At.p += A.bs * t0 * es, Bt.p += B.bs * t0 * es;
      if (product(x, At, Bt, P, 1.0, 0.0, cnt)) goto done;
      sum_batches_kernel<<<tnc_blocks(m * n), TNC_THREADS, 0, x.stream>>>(tv_of(c), part, cnt, m * n, alpha,
                                                                           t0 == 0 ? beta : 1.0);
      if (tnc_check(x.fn)) goto done;
    }
    rc = 0;
    goto done;
  }
  C = mat_of(c);
  if (!batch_step(c, cb, &sc) || (!row_major(C, &ld) && !col_major(C, &ld)) ||
      (count > 1 && sc == 0)) {
    if (beta != 0) {
      if (!(tc = contiguous_copy(x, c, &nc))) goto done;
    } else {
      nc = c->numel * es;
      if (!(tc = (char *)tnc_scratch(x.device, nc))) goto done;
    }
    C = Mat{tc, m, n, n, 1, m * n};
  } else {
    C.bs = sc;
  }
  rc = product(x, A, B, C, alpha, beta, count);
  if (tc && rc == 0) {
    scatter_contig<<<tnc_blocks(c->numel), TNC_THREADS, 0, x.stream>>>(tv_of(c), tc, (int)es);
    rc = tnc_check(x.fn);
  }
done:
  if (ta) tnc_scratch_free(x.device, ta, na);
  if (tb) tnc_scratch_free(x.device, tb, nbytes_b);
  if (tc) tnc_scratch_free(x.device, tc, nc);
  if (part) tnc_scratch_free(x.device, part, npart);
  return rc;
}

int cuda_gemm(tn_tensor *c, const tn_tensor *a, const tn_tensor *b, double alpha, double beta, int flags) {
  int sum_batches = flags & TN_GEMM_SUM_BATCHES;
  const char *fn = "matmul";
  int nb = a->ndim - 2;
  int64_t count = 1;
  for (int d = 0; d < nb; d++) count *= a->sizes[d];
  int64_t m = a->sizes[nb], k = a->sizes[nb + 1], n = b->sizes[nb + 1];
  if (c->numel == 0) return 0;
  Ctx x;
  x.fn = fn;
  x.dtype = c->dtype;
  x.device = tnc_device(c);
  if (!(x.stream = tnc_stream(fn, c))) return -1;
  bool floating = tnc_class(c->dtype) != 2;
  if (k == 0 || count == 0 || alpha == 0) {
    /* no products: c = beta * c */
    if (floating) scale_kernel<double><<<tnc_blocks(c->numel), TNC_THREADS, 0, x.stream>>>(tv_of(c), beta);
    else scale_kernel<int64_t><<<tnc_blocks(c->numel), TNC_THREADS, 0, x.stream>>>(tv_of(c), beta);
    return tnc_check(fn);
  }
  if (!floating) {
    IntGemm g;
    g.a = tv_of(a), g.b = tv_of(b), g.c = tv_of(c);
    g.nb = nb, g.count = count, g.m = m, g.n = n, g.k = k, g.sum_batches = sum_batches;
    g.alpha = (int64_t)alpha, g.beta = (int64_t)beta;
    int64_t zs = sum_batches ? 1 : count;
    dim3 grid((unsigned)((n + TILE - 1) / TILE), (unsigned)((m + TILE - 1) / TILE));
    for (int64_t z0 = 0; z0 < zs; z0 += 65535) {
      grid.z = (unsigned)(zs - z0 < 65535 ? zs - z0 : 65535);
      int_gemm_kernel<<<grid, dim3(TILE, TILE), 0, x.stream>>>(g, z0);
    }
    return tnc_check(fn);
  }
  if (!(x.handle = handle_for(fn, x.device, x.stream))) return -1;
  return gemm_float(x, c, a, b, alpha, beta, sum_batches);
}

} // namespace

int tnc_gemm_rowmajor(const char *fn, const tn_tensor *like, int dtype, bool ta, bool tb, int64_t m, int64_t n,
                      int64_t k, double alpha, const void *A, int64_t lda, int64_t sa, const void *B, int64_t ldb,
                      int64_t sb, double beta, void *C, int64_t ldc, int64_t sc, int64_t batch) {
  Ctx x;
  x.fn = fn;
  x.dtype = dtype;
  x.device = tnc_device(like);
  if (!(x.stream = tnc_stream(fn, like))) return -1;
  if (!(x.handle = handle_for(fn, x.device, x.stream))) return -1;
  if (m > INT32_MAX || n > INT32_MAX || k > INT32_MAX || batch > INT32_MAX || lda > INT32_MAX || ldb > INT32_MAX ||
      ldc > INT32_MAX)
    return tn_error("%s: a product of [%lld x %lld] @ [%lld x %lld] is too large for cuBLAS", fn, (long long)m,
                    (long long)k, (long long)k, (long long)n);
  /* row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T */
  return gemm(x, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, (int)n, (int)m, (int)k, alpha, B, ldb,
              sb, A, lda, sa, beta, C, ldc, sc, batch);
}

extern "C" void tn_cuda_register_blas(tn_backend *b) { b->gemm = cuda_gemm; }
