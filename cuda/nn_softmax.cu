/* nn_softmax.cu: softmax and log_softmax over the middle dim of x seen as [outer x dim x inner], and their
 * backward (float32 and float64, contiguous).
 *
 * inner == 1 (the usual last-dim softmax): a warp per row when rows are short (dim <= 1024), else a block per
 * row. Rows of up to 16 values per thread are held in registers (one read, one exp per element); longer ones
 * are read three times (max, sum of exps, write), from L2. The backward reads its rows twice. inner > 1: a
 * thread per (outer, inner) column walks the dim, neighbouring threads reading neighbouring elements. */
#include "ops.cuh"

namespace {

template <class T>
__device__ __forceinline__ T ex(T x) {
  return exp(x);
}

/* softmax of row (n values, `step` apart) through a group of `lanes` threads (a warp or the block) */
template <class T, bool BLOCK>
__device__ void softmax_row(T *o, const T *x, int64_t n, int lane, int lanes, int log, T *sh) {
  T m = -INFINITY;
  for (int64_t i = lane; i < n; i += lanes) {
    T v = x[i];
    m = (v > m || v != v) ? v : m;
  }
  m = BLOCK ? block_max(m, sh) : warp_max(m);
  m = BLOCK ? m : __shfl_sync(0xffffffffu, m, 0);
  T shift = m; /* as the CPU: an inf in the row gives NaNs */
  T s = 0;
  for (int64_t i = lane; i < n; i += lanes) s += ex(x[i] - shift);
  s = BLOCK ? block_sum(s, sh) : warp_sum(s);
  s = BLOCK ? s : __shfl_sync(0xffffffffu, s, 0);
  if (log) {
    T l = shift + (T)::log(s);
    for (int64_t i = lane; i < n; i += lanes) o[i] = x[i] - l;
  } else {
    T r = (T)1 / s;
    for (int64_t i = lane; i < n; i += lanes) o[i] = ex(x[i] - shift) * r;
  }
}

/* The same for rows of at most R * lanes values, held in registers: one read of x and one exp per element */
template <class T, bool BLOCK, int R>
__device__ void softmax_row_held(T *o, const T *x, int64_t n, int lane, int lanes, int log, T *sh) {
  T v[R];
  T m = -INFINITY;
#pragma unroll
  for (int j = 0; j < R; j++) {
    int64_t i = lane + (int64_t)j * lanes;
    v[j] = i < n ? x[i] : (T)-INFINITY;
    m = (v[j] > m || v[j] != v[j]) ? v[j] : m;
  }
  m = BLOCK ? block_max(m, sh) : warp_max(m);
  m = BLOCK ? m : __shfl_sync(0xffffffffu, m, 0);
  T s = 0;
#pragma unroll
  for (int j = 0; j < R; j++) {
    if (lane + (int64_t)j * lanes >= n) continue;
    T e = ex(v[j] - m);
    s += e;
    if (!log) v[j] = e;
  }
  s = BLOCK ? block_sum(s, sh) : warp_sum(s);
  s = BLOCK ? s : __shfl_sync(0xffffffffu, s, 0);
  T l = m + (T)::log(s), r = (T)1 / s;
#pragma unroll
  for (int j = 0; j < R; j++) {
    int64_t i = lane + (int64_t)j * lanes;
    if (i < n) o[i] = log ? v[j] - l : v[j] * r;
  }
}

/* R: the values a lane holds (0: rows too long to hold, read again from memory) */
template <class T, int R>
__global__ void softmax_warp_rows(T *out, const T *x, int64_t rows, int64_t n, int log) {
  int lane = threadIdx.x & 31;
  for (int64_t r = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5; r < rows;
       r += ((int64_t)gridDim.x * blockDim.x) >> 5)
    softmax_row_held<T, false, R>(out + r * n, x + r * n, n, lane, 32, log, NULL);
}

template <class T, int R>
__global__ void softmax_block_rows(T *out, const T *x, int64_t rows, int64_t n, int log) {
  __shared__ T sh[33];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    if (R) softmax_row_held<T, true, R ? R : 1>(out + r * n, x + r * n, n, threadIdx.x, blockDim.x, log, sh);
    else softmax_row<T, true>(out + r * n, x + r * n, n, threadIdx.x, blockDim.x, log, sh);
  }
}

template <class T>
__global__ void softmax_cols(T *out, const T *x, int64_t outer, int64_t n, int64_t inner, int log) {
  TNC_GRID_LOOP(u, outer * inner) {
    int64_t at = (u / inner) * n * inner + u % inner;
    const T *xp = x + at;
    T *op = out + at;
    T m = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
      T v = xp[i * inner];
      m = (v > m || v != v) ? v : m;
    }
    T shift = m, s = 0;
    for (int64_t i = 0; i < n; i++) s += ex(xp[i * inner] - shift);
    if (log) {
      T l = shift + (T)::log(s);
      for (int64_t i = 0; i < n; i++) op[i * inner] = xp[i * inner] - l;
    } else {
      T r = (T)1 / s;
      for (int64_t i = 0; i < n; i++) op[i * inner] = ex(xp[i * inner] - shift) * r;
    }
  }
}

/* softmax: gx = y (g - sum g y); log_softmax: gx = g - exp(y) sum g */
template <class T, bool BLOCK>
__device__ void backward_row(T *o, const T *g, const T *y, int64_t n, int lane, int lanes, int log, T *sh) {
  T s = 0;
  for (int64_t i = lane; i < n; i += lanes) s += log ? g[i] : g[i] * y[i];
  s = BLOCK ? block_sum(s, sh) : warp_sum(s);
  s = BLOCK ? s : __shfl_sync(0xffffffffu, s, 0);
  for (int64_t i = lane; i < n; i += lanes) o[i] = log ? g[i] - ex(y[i]) * s : y[i] * (g[i] - s);
}

template <class T>
__global__ void backward_warp_rows(T *gx, const T *g, const T *y, int64_t rows, int64_t n, int log) {
  int lane = threadIdx.x & 31;
  for (int64_t r = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5; r < rows;
       r += ((int64_t)gridDim.x * blockDim.x) >> 5)
    backward_row<T, false>(gx + r * n, g + r * n, y + r * n, n, lane, 32, log, NULL);
}

template <class T>
__global__ void backward_block_rows(T *gx, const T *g, const T *y, int64_t rows, int64_t n, int log) {
  __shared__ T sh[33];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x)
    backward_row<T, true>(gx + r * n, g + r * n, y + r * n, n, threadIdx.x, blockDim.x, log, sh);
}

template <class T>
__global__ void backward_cols(T *gx, const T *g, const T *y, int64_t outer, int64_t n, int64_t inner, int log) {
  TNC_GRID_LOOP(u, outer * inner) {
    int64_t at = (u / inner) * n * inner + u % inner;
    T s = 0;
    for (int64_t i = 0; i < n; i++) s += log ? g[at + i * inner] : g[at + i * inner] * y[at + i * inner];
    for (int64_t i = 0; i < n; i++) {
      int64_t k = at + i * inner;
      gx[k] = log ? g[k] - ex(y[k]) * s : y[k] * (g[k] - s);
    }
  }
}

template <class T>
int run_softmax(cudaStream_t s, tn_tensor *out, const tn_tensor *x, const tn_tensor *y, int64_t outer, int64_t dim,
                int64_t inner, int log, bool backward) {
  T *o = (T *)tn_base(out);
  const T *a = (const T *)tn_base(x), *b = y ? (const T *)tn_base(y) : NULL;
  int64_t rows = outer;
  if (inner == 1 && dim <= 1024) {
    unsigned blocks = tnc_blocks(rows * 32);
    if (backward) backward_warp_rows<T><<<blocks, TNC_THREADS, 0, s>>>(o, a, b, rows, dim, log);
    else if (dim <= 128) softmax_warp_rows<T, 4><<<blocks, TNC_THREADS, 0, s>>>(o, a, rows, dim, log);
    else softmax_warp_rows<T, 32><<<blocks, TNC_THREADS, 0, s>>>(o, a, rows, dim, log);
  } else if (inner == 1) {
    unsigned blocks = (unsigned)(rows < 65535 * 8 ? rows : 65535 * 8);
    /* held rows: 16 values per thread and few threads, so that the two block reductions stay cheap beside the
     * row's loads; longer rows: many threads over three passes */
    int threads = dim <= 16 * 256 ? 256 : dim <= 16 * 512 ? 512 : 1024;
    if (backward) backward_block_rows<T><<<blocks, dim >= 4096 ? 1024 : 512, 0, s>>>(o, a, b, rows, dim, log);
    else if (dim <= 16 * threads) softmax_block_rows<T, 16><<<blocks, threads, 0, s>>>(o, a, rows, dim, log);
    else softmax_block_rows<T, 0><<<blocks, threads, 0, s>>>(o, a, rows, dim, log);
  } else {
    unsigned blocks = tnc_blocks(outer * inner);
    if (backward) backward_cols<T><<<blocks, TNC_THREADS, 0, s>>>(o, a, b, outer, dim, inner, log);
    else softmax_cols<T><<<blocks, TNC_THREADS, 0, s>>>(o, a, outer, dim, inner, log);
  }
  return 0;
}

int cuda_softmax(tn_tensor *out, const tn_tensor *x, int64_t outer, int64_t dim, int64_t inner, int log) {
  const char *fn = log ? "log_softmax" : "softmax";
  if (outer * dim * inner == 0) return 0;
  cudaStream_t s = tnc_stream(fn, x);
  if (!s) return -1;
  if (x->dtype == TN_FLOAT64) run_softmax<double>(s, out, x, NULL, outer, dim, inner, log, false);
  else run_softmax<float>(s, out, x, NULL, outer, dim, inner, log, false);
  return tnc_check(fn);
}

int cuda_softmax_backward(tn_tensor *grad_x, const tn_tensor *grad_out, const tn_tensor *out, int64_t outer,
                          int64_t dim, int64_t inner, int log) {
  const char *fn = log ? "log_softmax_backward" : "softmax_backward";
  if (outer * dim * inner == 0) return 0;
  cudaStream_t s = tnc_stream(fn, grad_out);
  if (!s) return -1;
  if (grad_out->dtype == TN_FLOAT64) run_softmax<double>(s, grad_x, grad_out, out, outer, dim, inner, log, true);
  else run_softmax<float>(s, grad_x, grad_out, out, outer, dim, inner, log, true);
  return tnc_check(fn);
}

} // namespace

void tnc_register_nn_softmax(tn_backend *b) {
  b->softmax = cuda_softmax;
  b->softmax_backward = cuda_softmax_backward;
}
