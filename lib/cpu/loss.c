/* loss.c: CPU cross_entropy (fused log_softmax + nll_loss, with class weights, ignore_index, label smoothing
 * and probability targets) and nll_loss, forward and backward. The per-type code is in loss_tmpl.h. */
/* -std=c11 turns off a*b+c -> fma contraction, and trapping math keeps floor() (in exp) from vectorising */
#pragma GCC optimize("fp-contract=fast", "no-trapping-math")

#include "nn_simd.h"

#include <stdlib.h>

#define SAMPLES 256

/* Where sample i's classes start: row i / inner, column i % inner. */
static inline int64_t sample_at(int64_t i, const tn_loss_spec *s) {
  return (i / s->inner) * s->classes * s->inner + i % s->inner;
}

#define NN_TEMPLATE "loss_tmpl.h"
#include "nn_stamp.h"

static const void *ptr(const tn_tensor *t) { return t ? tn_data_ptr(t) : NULL; }

int tn_cpu_cross_entropy(tn_tensor *loss, tn_tensor *lse, const tn_tensor *x, const tn_tensor *target,
                         const tn_tensor *weight, const tn_loss_spec *s) {
  const int64_t *t = s->probs ? NULL : ptr(target);
  const void *q = s->probs ? ptr(target) : NULL;
  if (x->dtype == TN_FLOAT64)
    return cross_entropy_f64(tn_data_ptr(loss), tn_data_ptr(lse), ptr(x), t, q, ptr(weight), s);
  return cross_entropy_f32(tn_data_ptr(loss), tn_data_ptr(lse), ptr(x), t, q, ptr(weight), s);
}

int tn_cpu_cross_entropy_backward(tn_tensor *grad_x, const tn_tensor *grad_loss, const tn_tensor *x,
                                  const tn_tensor *lse, const tn_tensor *target, const tn_tensor *weight,
                                  const tn_loss_spec *s) {
  const int64_t *t = s->probs ? NULL : ptr(target);
  const void *q = s->probs ? ptr(target) : NULL;
  if (x->dtype == TN_FLOAT64)
    cross_entropy_backward_f64(tn_data_ptr(grad_x), ptr(grad_loss), ptr(x), ptr(lse), t, q, ptr(weight), s);
  else
    cross_entropy_backward_f32(tn_data_ptr(grad_x), ptr(grad_loss), ptr(x), ptr(lse), t, q, ptr(weight), s);
  return 0;
}

int tn_cpu_nll_loss(tn_tensor *loss, const tn_tensor *x, const tn_tensor *target, const tn_tensor *weight,
                    const tn_loss_spec *s) {
  if (x->dtype == TN_FLOAT64) return nll_loss_f64(tn_data_ptr(loss), ptr(x), ptr(target), ptr(weight), s);
  return nll_loss_f32(tn_data_ptr(loss), ptr(x), ptr(target), ptr(weight), s);
}

int tn_cpu_nll_loss_backward(tn_tensor *grad_x, const tn_tensor *grad_loss, const tn_tensor *target,
                             const tn_tensor *weight, const tn_loss_spec *s) {
  if (grad_x->dtype == TN_FLOAT64)
    nll_loss_backward_f64(tn_data_ptr(grad_x), ptr(grad_loss), ptr(target), ptr(weight), s);
  else
    nll_loss_backward_f32(tn_data_ptr(grad_x), ptr(grad_loss), ptr(target), ptr(weight), s);
  return 0;
}
