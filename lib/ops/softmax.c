/* softmax.c: the softmax / log_softmax entry points, forward and backward, along any dim. */
#include "nn_ops.h"

/* The [outer x dim x inner] view of t around dim (a 0-d tensor is one element); -1 with an error if dim is bad. */
static int split_at(const char *fn, const tn_tensor *t, int dim, int64_t *outer, int64_t *size, int64_t *inner) {
  int ndim = t->ndim ? t->ndim : 1;
  int d = tn_wrap_dim(fn, dim, ndim);
  if (d < 0) return -1;
  *outer = *inner = 1;
  *size = t->ndim ? t->sizes[d] : 1;
  for (int i = 0; i < d; i++) *outer *= t->sizes[i];
  for (int i = d + 1; i < t->ndim; i++) *inner *= t->sizes[i];
  return 0;
}

/* Whether a kernel can write straight into out: contiguous, and either the very input or not sharing its memory. */
static bool writable_directly(const tn_tensor *out, const tn_tensor *a, const tn_tensor *b) {
  if (!tn_is_contiguous(out)) return false;
  const tn_tensor *ins[2] = {a, b};
  for (int i = 0; i < 2; i++) {
    const tn_tensor *in = ins[i];
    if (!in || in->storage != out->storage) continue;
    if (!(in->offset == out->offset && tn_is_contiguous(in) && tn_same_shape(in, out))) return false;
  }
  return true;
}

/* Runs one kernel into out (NULL: a new tensor), through a temporary when out can't take it directly. */
static tn_tensor *run(const char *fn, tn_tensor *out, const tn_tensor *a, const tn_tensor *b, int dim, int log,
                      bool backward) {
  int64_t outer, size, inner;
  if (split_at(fn, a, dim, &outer, &size, &inner)) return NULL;
  tn_backend *be = tn_backend_of(fn, a);
  be = TN_WITH_KERNEL(fn, be, softmax);
  be = TN_WITH_KERNEL(fn, be, softmax_backward);
  if (!be) return NULL;
  if (out && tn_nn_check_device(fn, "out= tensor", out, "input", a)) return NULL;
  tn_tensor *target = tn_prepare_out(fn, out, a->ndim, a->sizes, a->dtype, a);
  if (!target) return NULL;
  tn_tensor *ca = NULL, *cb = NULL, *result = target;
  int rc = -1;
  if (tn_nn_contiguous(a, &ca) || tn_nn_contiguous(b, &cb)) goto done;
  if (!writable_directly(target, ca, cb) && !(result = tn_nn_empty(a->ndim, a->sizes, a->dtype, a))) goto done;
  if (a->numel > 0) {
    tn_bump_version(result);
    rc = backward ? be->softmax_backward(result, ca, cb, outer, size, inner, log)
                  : be->softmax(result, ca, outer, size, inner, log);
    if (rc) goto done;
  }
  if (result != target && tn_copy_(target, result)) goto done;
  rc = 0;
done:
  tn_tensor_free(ca);
  tn_tensor_free(cb);
  if (result && result != target) tn_tensor_free(result);
  if (rc) {
    if (target != out) tn_tensor_free(target);
    return NULL;
  }
  return target;
}

tn_tensor *tn_softmax(tn_tensor *out, const tn_tensor *input, int dim, int log) {
  const char *fn = log ? "log_softmax" : "softmax";
  if (tn_nn_check_float(fn, "input", input)) return NULL;
  return run(fn, out, input, NULL, dim, log, false);
}

tn_tensor *tn_softmax_backward(tn_tensor *out, const tn_tensor *grad_output, const tn_tensor *output, int dim,
                               int log) {
  const char *fn = log ? "log_softmax_backward" : "softmax_backward";
  if (tn_nn_check_float(fn, "gradient", grad_output) ||
      tn_nn_check_like(fn, "output", output, "gradient", grad_output) ||
      tn_nn_check_shape(fn, "an output", output, grad_output->ndim, grad_output->sizes))
    return NULL;
  return run(fn, out, grad_output, output, dim, log, true);
}
