/* softmax.c: CPU softmax and log_softmax, forward and backward, over the middle dim of [outer x dim x inner].
 * The maximum is subtracted before exponentiating, so large inputs do not overflow. */
/* -std=c11 turns off a*b+c -> fma contraction, and trapping math keeps floor() (in exp) from vectorising */
#pragma GCC optimize("fp-contract=fast", "no-trapping-math")

#include "nn_simd.h"

#define COLS 256

#define NN_TEMPLATE "softmax_tmpl.h"
#include "nn_stamp.h"

int tn_cpu_softmax(tn_tensor *out, const tn_tensor *x, int64_t outer, int64_t dim, int64_t inner, int as_log) {
  void *y = tn_data_ptr(out);
  const void *xp = tn_data_ptr(x);
  if (x->dtype == TN_FLOAT64) {
    if (inner == 1)
      softmax_rows_f64(y, xp, outer, dim, as_log);
    else
      softmax_cols_f64(y, xp, outer, dim, inner, as_log);
  } else {
    if (inner == 1)
      softmax_rows_f32(y, xp, outer, dim, as_log);
    else
      softmax_cols_f32(y, xp, outer, dim, inner, as_log);
  }
  return 0;
}

int tn_cpu_softmax_backward(tn_tensor *grad_x, const tn_tensor *grad_out, const tn_tensor *out, int64_t outer,
                            int64_t dim, int64_t inner, int as_log) {
  void *gx = tn_data_ptr(grad_x);
  const void *g = tn_data_ptr(grad_out), *y = tn_data_ptr(out);
  if (grad_x->dtype == TN_FLOAT64) {
    if (inner == 1)
      softmax_backward_rows_f64(gx, g, y, outer, dim, as_log);
    else
      softmax_backward_cols_f64(gx, g, y, outer, dim, inner, as_log);
  } else {
    if (inner == 1)
      softmax_backward_rows_f32(gx, g, y, outer, dim, as_log);
    else
      softmax_backward_cols_f32(gx, g, y, outer, dim, inner, as_log);
  }
  return 0;
}
