/* loss.c: the classification loss entry points: cross_entropy (from logits, fused with log_softmax) and
 * nll_loss (from log-probabilities), forward and backward. Input [N x C x d1 x ...], [N x C] or [C]; class
 * targets [N x d1 x ...] (checked against the class count), or for cross_entropy class probabilities shaped
 * like the input. */
#include "nn_ops.h"

/* Everything one call needs: the kernel's view and the contiguous tensors it reads. */
typedef struct loss_call {
  const char *fn;
  tn_loss_spec spec;
  int sample_ndim;                  /* the shape of a per-sample result: the input's without the class dim */
  int64_t sample_sizes[TN_MAX_DIMS];
  tn_tensor *x, *target, *weight;   /* contiguous (target int64 for classes) */
} loss_call;

static void loss_call_free(loss_call *c) {
  tn_tensor_free(c->x);
  tn_tensor_free(c->target);
  tn_tensor_free(c->weight);
}

static int loss_setup(loss_call *c, const char *fn, const tn_tensor *input, const tn_tensor *target,
                      const tn_tensor *weight, int reduction, int64_t ignore_index, double label_smoothing,
                      int64_t base, bool allow_probs) {
  char s1[TN_SHAPE_STR], s2[TN_SHAPE_STR];
  memset(c, 0, sizeof *c);
  c->fn = fn;
  if (tn_nn_check_float(fn, "input", input) || tn_nn_check_device(fn, "target", target, "input", input) ||
      tn_nn_check_like(fn, "weight", weight, "input", input))
    return -1;
  if (input->ndim < 1) return tn_error("%s: expected an input of at least 1 dim ([C] or [N x C x ...]), got a 0-d one", fn);
  if (reduction < TN_REDUCTION_NONE || reduction > TN_REDUCTION_SUM)
    return tn_error("%s: unknown reduction %d", fn, reduction);
  if (!(label_smoothing >= 0 && label_smoothing <= 1))
    return tn_error("%s: label_smoothing must be between 0 and 1, got %g", fn, label_smoothing);
  tn_loss_spec *s = &c->spec;
  bool batched = input->ndim >= 2;
  s->n = batched ? input->sizes[0] : 1;
  s->classes = batched ? input->sizes[1] : input->sizes[0];
  s->inner = 1;
  for (int d = 2; d < input->ndim; d++) s->inner *= input->sizes[d];
  s->reduction = reduction;
  s->ignore_index = ignore_index;
  s->base = base;
  s->label_smoothing = label_smoothing;
  if (s->classes < 1)
    return tn_error("%s: expected at least one class, got an input of size %s", fn, tn_nn_shape(s1, input));
  c->sample_ndim = 0;
  for (int d = 0; d < input->ndim; d++)
    if (d != (batched ? 1 : 0)) c->sample_sizes[c->sample_ndim++] = input->sizes[d];
  if (weight && (weight->ndim != 1 || weight->sizes[0] != s->classes))
    return tn_error("%s: expected a weight of %lld elements (one per class), got %s", fn, (long long)s->classes,
                    tn_nn_shape(s1, weight));

  if (tn_dtype_is_floating(target->dtype)) {
    if (!allow_probs)
      return tn_error("%s: expected integer class targets, got a %s target", fn, tn_dtype_name(target->dtype));
    s->probs = 1;
    if (target->dtype != input->dtype)
      return tn_error("%s: the input is %s but the target probabilities are %s", fn, tn_dtype_name(input->dtype),
                      tn_dtype_name(target->dtype));
    if (!tn_same_shape(target, input))
      return tn_error("%s: expected target probabilities of the input's size %s, got %s", fn,
                      tn_nn_shape(s1, input), tn_nn_shape(s2, target));
    if (!(c->target = tn_contiguous(target))) return -1;
  } else {
    if (target->dtype == TN_BOOL) return tn_error("%s: expected integer class targets, got a bool target", fn);
    if (!(target->ndim == c->sample_ndim &&
          !memcmp(target->sizes, c->sample_sizes, sizeof(int64_t) * (size_t)c->sample_ndim))) {
      char s3[TN_SHAPE_STR];
      return tn_error("%s: expected a target of size %s for an input of size %s, got %s", fn,
                      tn_format_shape(s3, sizeof s3, c->sample_ndim, c->sample_sizes), tn_nn_shape(s1, input),
                      tn_nn_shape(s2, target));
    }
    if (!(c->target = tn_nn_int64(fn, "target", target))) return -1;
    if (tn_nn_check_indices(fn, "target", c->target, s->classes, base, ignore_index, "classes")) return -1;
  }
  if (!(c->x = tn_contiguous(input))) return -1;
  if (weight && !(c->weight = tn_contiguous(weight))) return -1;
  return 0;
}

/* The loss tensor: 0-d (mean, sum) or one value per sample (none). */
static tn_tensor *loss_result(const loss_call *c, const tn_tensor *like) {
  if (c->spec.reduction == TN_REDUCTION_NONE) return tn_nn_empty(c->sample_ndim, c->sample_sizes, like->dtype, like);
  return tn_nn_empty(0, NULL, like->dtype, like);
}

/* The incoming gradient of a loss: per sample for none, one value otherwise. */
static tn_tensor *loss_grad(const loss_call *c, const tn_tensor *grad_output) {
  char s1[TN_SHAPE_STR], s2[TN_SHAPE_STR];
  if (tn_nn_check_like(c->fn, "gradient", grad_output, "input", c->x)) return NULL;
  if (c->spec.reduction == TN_REDUCTION_NONE) {
    if (tn_nn_check_shape(c->fn, "a gradient", grad_output, c->sample_ndim, c->sample_sizes)) return NULL;
  } else if (grad_output->numel != 1) {
    (void)s2;
    return tn_error_null("%s: expected a one-element gradient for a reduced loss, got %s", c->fn,
                         tn_nn_shape(s1, grad_output));
  }
  return tn_contiguous(grad_output);
}

tn_tensor *tn_cross_entropy(const tn_tensor *input, const tn_tensor *target, const tn_tensor *weight, int reduction,
                            int64_t ignore_index, double label_smoothing, int64_t base, tn_tensor **lse) {
  loss_call c;
  tn_tensor *loss = NULL, *l = NULL;
  if (lse) *lse = NULL;
  if (loss_setup(&c, "cross_entropy", input, target, weight, reduction, ignore_index, label_smoothing, base, true))
    goto fail;
  tn_backend *be = tn_backend_of(c.fn, input);
  be = TN_WITH_KERNEL(c.fn, be, cross_entropy);
  if (!be || !(loss = loss_result(&c, input)) ||
      !(l = tn_nn_empty(c.sample_ndim, c.sample_sizes, input->dtype, input)))
    goto fail;
  if (be->cross_entropy(loss, l, c.x, c.target, c.weight, &c.spec)) goto fail;
  loss_call_free(&c);
  tn_nn_give(lse, l);
  return loss;
fail:
  loss_call_free(&c);
  tn_tensor_free(loss);
  tn_tensor_free(l);
  return NULL;
}

tn_tensor *tn_cross_entropy_backward(const tn_tensor *grad_output, const tn_tensor *input, const tn_tensor *target,
                                     const tn_tensor *weight, const tn_tensor *lse, int reduction,
                                     int64_t ignore_index, double label_smoothing, int64_t base) {
  loss_call c;
  tn_tensor *g = NULL, *l = NULL, *gx = NULL;
  if (loss_setup(&c, "cross_entropy_backward", input, target, weight, reduction, ignore_index, label_smoothing, base,
                 true))
    goto fail;
  if (lse && (tn_nn_check_like(c.fn, "lse", lse, "input", input) ||
              tn_nn_check_shape(c.fn, "lse", lse, c.sample_ndim, c.sample_sizes)))
    goto fail;
  tn_backend *be = tn_backend_of(c.fn, input);
  be = TN_WITH_KERNEL(c.fn, be, cross_entropy_backward);
  if (!be || !(g = loss_grad(&c, grad_output)) || (lse && !(l = tn_contiguous(lse))) ||
      !(gx = tn_nn_empty(input->ndim, input->sizes, input->dtype, input)))
    goto fail;
  if (be->cross_entropy_backward(gx, g, c.x, l, c.target, c.weight, &c.spec)) goto fail;
  loss_call_free(&c);
  tn_tensor_free(g);
  tn_tensor_free(l);
  return gx;
fail:
  loss_call_free(&c);
  tn_tensor_free(g);
  tn_tensor_free(l);
  tn_tensor_free(gx);
  return NULL;
}

tn_tensor *tn_nll_loss(const tn_tensor *input, const tn_tensor *target, const tn_tensor *weight, int reduction,
                       int64_t ignore_index, int64_t base) {
  loss_call c;
  tn_tensor *loss = NULL;
  if (loss_setup(&c, "nll_loss", input, target, weight, reduction, ignore_index, 0, base, false)) goto fail;
  tn_backend *be = tn_backend_of(c.fn, input);
  be = TN_WITH_KERNEL(c.fn, be, nll_loss);
  if (!be || !(loss = loss_result(&c, input))) goto fail;
  if (be->nll_loss(loss, c.x, c.target, c.weight, &c.spec)) goto fail;
  loss_call_free(&c);
  return loss;
fail:
  loss_call_free(&c);
  tn_tensor_free(loss);
  return NULL;
}

tn_tensor *tn_nll_loss_backward(const tn_tensor *grad_output, const tn_tensor *input, const tn_tensor *target,
                                const tn_tensor *weight, int reduction, int64_t ignore_index, int64_t base) {
  loss_call c;
  tn_tensor *g = NULL, *gx = NULL;
  if (loss_setup(&c, "nll_loss_backward", input, target, weight, reduction, ignore_index, 0, base, false)) goto fail;
  tn_backend *be = tn_backend_of(c.fn, input);
  be = TN_WITH_KERNEL(c.fn, be, nll_loss_backward);
  if (!be || !(g = loss_grad(&c, grad_output)) ||
      !(gx = tn_nn_empty(input->ndim, input->sizes, input->dtype, input)))
    goto fail;
  if (be->nll_loss_backward(gx, g, c.target, c.weight, &c.spec)) goto fail;
  loss_call_free(&c);
  tn_tensor_free(g);
  return gx;
fail:
  loss_call_free(&c);
  tn_tensor_free(g);
  tn_tensor_free(gx);
  return NULL;
}
