/* norm.c: CPU layer, batch and group normalisation, forward and backward. The per-type code is in
 * norm_tmpl.h. */
/* -std=c11 turns off a*b+c -> fma contraction, and trapping math keeps floor() (in exp) from vectorising */
#pragma GCC optimize("fp-contract=fast", "no-trapping-math")

#include "nn_simd.h"

#define NN_TEMPLATE "norm_tmpl.h"
#include "nn_stamp.h"

static void *ptr(const tn_tensor *t) { return t ? tn_data_ptr(t) : NULL; }

int tn_cpu_layer_norm(tn_tensor *y, tn_tensor *mean, tn_tensor *rstd, const tn_tensor *x, const tn_tensor *w,
                      const tn_tensor *b, int64_t rows, int64_t cols, double eps) {
  if (x->dtype == TN_FLOAT64)
    layer_norm_f64(ptr(y), ptr(mean), ptr(rstd), ptr(x), ptr(w), ptr(b), rows, cols, eps);
  else
    layer_norm_f32(ptr(y), ptr(mean), ptr(rstd), ptr(x), ptr(w), ptr(b), rows, cols, eps);
  return 0;
}

int tn_cpu_layer_norm_backward(tn_tensor *grad_x, tn_tensor *grad_w, tn_tensor *grad_b, const tn_tensor *grad_y,
                               const tn_tensor *x, const tn_tensor *mean, const tn_tensor *rstd, const tn_tensor *w,
                               int64_t rows, int64_t cols) {
  if (x->dtype == TN_FLOAT64)
    return layer_norm_backward_f64(ptr(grad_x), ptr(grad_w), ptr(grad_b), ptr(grad_y), ptr(x), ptr(mean), ptr(rstd),
                                   ptr(w), rows, cols);
  return layer_norm_backward_f32(ptr(grad_x), ptr(grad_w), ptr(grad_b), ptr(grad_y), ptr(x), ptr(mean), ptr(rstd),
                                 ptr(w), rows, cols);
}

int tn_cpu_batch_norm(tn_tensor *y, tn_tensor *mean, tn_tensor *invstd, const tn_tensor *x, const tn_tensor *w,
                      const tn_tensor *b, tn_tensor *running_mean, tn_tensor *running_var, const tn_norm_geom *g) {
  if (x->dtype == TN_FLOAT64)
    batch_norm_f64(ptr(y), ptr(mean), ptr(invstd), ptr(x), ptr(w), ptr(b), ptr(running_mean), ptr(running_var), g);
  else
    batch_norm_f32(ptr(y), ptr(mean), ptr(invstd), ptr(x), ptr(w), ptr(b), ptr(running_mean), ptr(running_var), g);
  return 0;
}

int tn_cpu_batch_norm_backward(tn_tensor *grad_x, tn_tensor *grad_w, tn_tensor *grad_b, const tn_tensor *grad_y,
                               const tn_tensor *x, const tn_tensor *w, const tn_tensor *mean, const tn_tensor *invstd,
                               const tn_norm_geom *g) {
  if (x->dtype == TN_FLOAT64)
    batch_norm_backward_f64(ptr(grad_x), ptr(grad_w), ptr(grad_b), ptr(grad_y), ptr(x), ptr(w), ptr(mean), ptr(invstd),
                            g);
  else
    batch_norm_backward_f32(ptr(grad_x), ptr(grad_w), ptr(grad_b), ptr(grad_y), ptr(x), ptr(w), ptr(mean), ptr(invstd),
                            g);
  return 0;
}

int tn_cpu_group_norm(tn_tensor *y, tn_tensor *mean, tn_tensor *rstd, const tn_tensor *x, const tn_tensor *w,
                      const tn_tensor *b, const tn_norm_geom *g) {
  if (x->dtype == TN_FLOAT64)
    group_norm_f64(ptr(y), ptr(mean), ptr(rstd), ptr(x), ptr(w), ptr(b), g);
  else
    group_norm_f32(ptr(y), ptr(mean), ptr(rstd), ptr(x), ptr(w), ptr(b), g);
  return 0;
}

int tn_cpu_group_norm_backward(tn_tensor *grad_x, tn_tensor *grad_w, tn_tensor *grad_b, const tn_tensor *grad_y,
                               const tn_tensor *x, const tn_tensor *mean, const tn_tensor *rstd, const tn_tensor *w,
                               const tn_norm_geom *g) {
  if (x->dtype == TN_FLOAT64)
    return group_norm_backward_f64(ptr(grad_x), ptr(grad_w), ptr(grad_b), ptr(grad_y), ptr(x), ptr(mean), ptr(rstd),
                                   ptr(w), g);
  return group_norm_backward_f32(ptr(grad_x), ptr(grad_w), ptr(grad_b), ptr(grad_y), ptr(x), ptr(mean), ptr(rstd),
                                 ptr(w), g);
}
