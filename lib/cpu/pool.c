/* pool.c: CPU pooling kernels (max with argmax indices, average, adaptive average and adaptive max), forward
 * and backward, 1-d to 3-d, on planes of contiguous [planes x d x h x w] tensors. The per-type code is in
 * pool_tmpl.h. */
/* -std=c11 turns off a*b+c -> fma contraction, and trapping math keeps floor() (in exp) from vectorising */
#pragma GCC optimize("fp-contract=fast", "no-trapping-math")

#include "nn_simd.h"

/* Adaptive windows: output i of n over an input of size len covers [floor(i*len/n), ceil((i+1)*len/n)). */
static inline int64_t adaptive_start(int64_t i, int64_t n, int64_t len) { return i * len / n; }
static inline int64_t adaptive_end(int64_t i, int64_t n, int64_t len) { return ((i + 1) * len + n - 1) / n; }

/* One dim of the average pooling window of output o (stride s, padding p, kernel k, input size n): [*lo, *hi)
 * clipped to the input; returns its size clipped to the input plus padding (count_include_pad's count). */
static inline int64_t avg_span(int64_t o, int64_t s, int64_t p, int64_t k, int64_t n, int64_t *lo, int64_t *hi) {
  int64_t a = o * s - p, e = a + k < n + p ? a + k : n + p;
  *lo = a < 0 ? 0 : a;
  *hi = e < n ? e : n;
  return e - a;
}

#define NN_TEMPLATE "pool_tmpl.h"
#include "nn_stamp.h"

/* Calls the float or double version of a kernel: KERNEL(name, dtype, args...) */
#define BY_DTYPE(name, dtype, ...)           \
  do {                                       \
    if ((dtype) == TN_FLOAT64)               \
      name##_f64(__VA_ARGS__);               \
    else                                     \
      name##_f32(__VA_ARGS__);               \
  } while (0)

int tn_cpu_max_pool(tn_tensor *out, tn_tensor *indices, const tn_tensor *x, const tn_pool_geom *g, int64_t base) {
  BY_DTYPE(max_pool, x->dtype, tn_data_ptr(out), tn_data_ptr(indices), tn_data_ptr(x), g, base);
  return 0;
}

int tn_cpu_max_pool_backward(tn_tensor *grad_x, const tn_tensor *grad_out, const tn_tensor *indices,
                             const tn_pool_geom *g, int64_t base) {
  int64_t bad = grad_x->dtype == TN_FLOAT64
                    ? max_pool_backward_f64(tn_data_ptr(grad_x), tn_data_ptr(grad_out), tn_data_ptr(indices), g, base)
                    : max_pool_backward_f32(tn_data_ptr(grad_x), tn_data_ptr(grad_out), tn_data_ptr(indices), g, base);
  if (bad) {
    int64_t v = ((const int64_t *)tn_data_ptr(indices))[bad - 1];
    if (g->d > 1)
      return tn_error("index %lld is out of range for an input volume of %lld x %lld x %lld positions "
                      "(expected %lld to %lld)", (long long)v, (long long)g->d, (long long)g->h, (long long)g->w,
                      (long long)base, (long long)(base + g->d * g->h * g->w - 1));
    return tn_error("index %lld is out of range for an input plane of %lld x %lld positions "
                    "(expected %lld to %lld)", (long long)v, (long long)g->h, (long long)g->w, (long long)base,
                    (long long)(base + g->h * g->w - 1));
  }
  return 0;
}

int tn_cpu_avg_pool(tn_tensor *out, const tn_tensor *x, const tn_pool_geom *g) {
  BY_DTYPE(avg_pool, x->dtype, tn_data_ptr(out), tn_data_ptr(x), g);
  return 0;
}

int tn_cpu_avg_pool_backward(tn_tensor *grad_x, const tn_tensor *grad_out, const tn_pool_geom *g) {
  BY_DTYPE(avg_pool_backward, grad_x->dtype, tn_data_ptr(grad_x), tn_data_ptr(grad_out), g);
  return 0;
}

int tn_cpu_adaptive_avg_pool(tn_tensor *out, const tn_tensor *x, const tn_pool_geom *g) {
  BY_DTYPE(adaptive_avg_pool, x->dtype, tn_data_ptr(out), tn_data_ptr(x), g);
  return 0;
}

int tn_cpu_adaptive_avg_pool_backward(tn_tensor *grad_x, const tn_tensor *grad_out, const tn_pool_geom *g) {
  BY_DTYPE(adaptive_avg_pool_backward, grad_x->dtype, tn_data_ptr(grad_x), tn_data_ptr(grad_out), g);
  return 0;
}

int tn_cpu_adaptive_max_pool(tn_tensor *out, tn_tensor *indices, const tn_tensor *x, const tn_pool_geom *g,
                             int64_t base) {
  BY_DTYPE(adaptive_max_pool, x->dtype, tn_data_ptr(out), tn_data_ptr(indices), tn_data_ptr(x), g, base);
  return 0;
}
