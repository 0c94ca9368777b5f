/* norm.c: the normalisation entry points: layer_norm, batch_norm (training and evaluation, with the running
 * statistics updated in place) and group_norm, forward and backward. */
#include "nn_ops.h"

/* Frees a list of tensors (NULLs skipped). */
static void free_all(int n, tn_tensor **ts) {
  for (int i = 0; i < n; i++) tn_tensor_free(ts[i]);
}

/* Allocates the gradient outputs wanted: shapes of input, of the affine parameters (pshape). */
static int alloc_grads(const tn_tensor *input, int pndim, const int64_t *pshape, tn_tensor **grad_input,
                       tn_tensor **grad_weight, tn_tensor **grad_bias, tn_tensor **gi, tn_tensor **gw, tn_tensor **gb) {
  *gi = *gw = *gb = NULL;
  if (grad_input && !(*gi = tn_nn_empty(input->ndim, input->sizes, input->dtype, input))) return -1;
  if (grad_weight && !(*gw = tn_nn_empty(pndim, pshape, input->dtype, input))) return -1;
  if (grad_bias && !(*gb = tn_nn_empty(pndim, pshape, input->dtype, input))) return -1;
  return 0;
}

static void give_grads(tn_tensor **grad_input, tn_tensor **grad_weight, tn_tensor **grad_bias, tn_tensor *gi,
                       tn_tensor *gw, tn_tensor *gb) {
  if (grad_input) *grad_input = gi;
  if (grad_weight) *grad_weight = gw;
  if (grad_bias) *grad_bias = gb;
}

static void clear_grads(tn_tensor **grad_input, tn_tensor **grad_weight, tn_tensor **grad_bias) {
  give_grads(grad_input, grad_weight, grad_bias, NULL, NULL, NULL);
}

/* ---- layer_norm ---- */

static int layer_norm_shape(const char *fn, const tn_tensor *input, int normalized_ndim, int64_t *rows, int64_t *cols) {
  char s[TN_SHAPE_STR];
  if (tn_nn_check_float(fn, "input", input)) return -1;
  if (normalized_ndim < 1 || normalized_ndim > input->ndim)
    return tn_error("%s: cannot normalise over the last %d dims of an input of size %s", fn, normalized_ndim,
                    tn_nn_shape(s, input));
  *rows = *cols = 1;
  for (int d = 0; d < input->ndim; d++) *(d < input->ndim - normalized_ndim ? rows : cols) *= input->sizes[d];
  return 0;
}

static int check_affine(const char *fn, const char *what, const tn_tensor *t, const tn_tensor *input, int ndim,
                        const int64_t *sizes) {
  if (!t) return 0;
  return tn_nn_check_like(fn, what, t, "input", input) || tn_nn_check_shape(fn, what, t, ndim, sizes) ? -1 : 0;
}

tn_tensor *tn_layer_norm(const tn_tensor *input, int normalized_ndim, const int64_t *normalized_shape,
                         const tn_tensor *weight, const tn_tensor *bias, double eps, tn_tensor **mean,
                         tn_tensor **rstd) {
  const char *fn = "layer_norm";
  char s1[TN_SHAPE_STR], s2[TN_SHAPE_STR];
  int64_t rows = 0, cols = 0;
  if (mean) *mean = NULL;
  if (rstd) *rstd = NULL;
  if (layer_norm_shape(fn, input, normalized_ndim, &rows, &cols)) return NULL;
  const int64_t *last = input->sizes + input->ndim - normalized_ndim;
  if (memcmp(last, normalized_shape, sizeof(int64_t) * (size_t)normalized_ndim))
    return tn_error_null("%s: normalized_shape %s does not match the last dims of the input %s", fn,
                         tn_format_shape(s1, sizeof s1, normalized_ndim, normalized_shape), tn_nn_shape(s2, input));
  if (check_affine(fn, "weight", weight, input, normalized_ndim, normalized_shape) ||
      check_affine(fn, "bias", bias, input, normalized_ndim, normalized_shape))
    return NULL;
  if (!(eps >= 0)) return tn_error_null("%s: eps must be non-negative, got %g", fn, eps);
  tn_backend *be = tn_backend_of(fn, input);
  be = TN_WITH_KERNEL(fn, be, layer_norm);
  if (!be) return NULL;
  int64_t stat_sizes[TN_MAX_DIMS];
  for (int d = 0; d < input->ndim; d++) stat_sizes[d] = d < input->ndim - normalized_ndim ? input->sizes[d] : 1;
  tn_tensor *t[6] = {0}; /* x, w, b, y, mean, rstd */
  if (tn_nn_contiguous(input, &t[0]) || tn_nn_contiguous(weight, &t[1]) || tn_nn_contiguous(bias, &t[2]) ||
      !(t[3] = tn_nn_empty(input->ndim, input->sizes, input->dtype, input)) ||
      !(t[4] = tn_nn_empty(input->ndim, stat_sizes, input->dtype, input)) ||
      !(t[5] = tn_nn_empty(input->ndim, stat_sizes, input->dtype, input)) ||
      (rows * cols > 0 && be->layer_norm(t[3], t[4], t[5], t[0], t[1], t[2], rows, cols, eps))) {
    free_all(6, t);
    return NULL;
  }
  free_all(3, t);
  tn_nn_give(mean, t[4]);
  tn_nn_give(rstd, t[5]);
  return t[3];
}

int tn_layer_norm_backward(const tn_tensor *grad_output, const tn_tensor *input, int normalized_ndim,
                           const tn_tensor *mean, const tn_tensor *rstd, const tn_tensor *weight,
                           tn_tensor **grad_input, tn_tensor **grad_weight, tn_tensor **grad_bias) {
  const char *fn = "layer_norm_backward";
  char s1[TN_SHAPE_STR];
  int64_t rows = 0, cols = 0;
  clear_grads(grad_input, grad_weight, grad_bias);
  if (layer_norm_shape(fn, input, normalized_ndim, &rows, &cols) ||
      tn_nn_check_like(fn, "gradient", grad_output, "input", input) ||
      tn_nn_check_shape(fn, "a gradient", grad_output, input->ndim, input->sizes) ||
      tn_nn_check_like(fn, "mean", mean, "input", input) || tn_nn_check_like(fn, "rstd", rstd, "input", input))
    return -1;
  if (mean->numel != rows || rstd->numel != rows)
    return tn_error("%s: expected mean and rstd of %lld elements, got %s and %lld elements", fn, (long long)rows,
                    tn_nn_shape(s1, mean), (long long)rstd->numel);
  const int64_t *pshape = input->sizes + input->ndim - normalized_ndim;
  if (check_affine(fn, "weight", weight, input, normalized_ndim, pshape)) return -1;
  tn_backend *be = tn_backend_of(fn, input);
  be = TN_WITH_KERNEL(fn, be, layer_norm_backward);
  if (!be) return -1;
  tn_tensor *t[8] = {0}; /* g, x, mean, rstd, w, gi, gw, gb */
  if (tn_nn_contiguous(grad_output, &t[0]) || tn_nn_contiguous(input, &t[1]) || tn_nn_contiguous(mean, &t[2]) ||
      tn_nn_contiguous(rstd, &t[3]) || tn_nn_contiguous(weight, &t[4]) ||
      alloc_grads(input, normalized_ndim, pshape, grad_input, grad_weight, grad_bias, &t[5], &t[6], &t[7]))
    goto fail;
  if (rows == 0) {
    for (int i = 5; i < 8; i++)
      if (t[i] && tn_fill_(t[i], 0)) goto fail;
  } else if ((t[5] || t[6] || t[7]) &&
             be->layer_norm_backward(t[5], t[6], t[7], t[0], t[1], t[2], t[3], t[4], rows, cols)) {
    goto fail;
  }
  free_all(5, t);
  give_grads(grad_input, grad_weight, grad_bias, t[5], t[6], t[7]);
  return 0;
fail:
  free_all(8, t);
  return -1;
}

/* ---- batch_norm and group_norm: input [N x C x ...] ---- */

static int channels_geom(const char *fn, const tn_tensor *input, tn_norm_geom *g) {
  char s[TN_SHAPE_STR];
  if (tn_nn_check_float(fn, "input", input)) return -1;
  if (input->ndim < 2) return tn_error("%s: expected an input of at least 2 dims [N x C x ...], got %s", fn,
                                       tn_nn_shape(s, input));
  memset(g, 0, sizeof *g);
  g->n = input->sizes[0];
  g->c = input->sizes[1];
  g->s = 1;
  for (int d = 2; d < input->ndim; d++) g->s *= input->sizes[d];
  return 0;
}

/* A per-channel vector argument: [C] and like the input. */
static int check_channel_vector(const char *fn, const char *what, const tn_tensor *t, const tn_tensor *input,
                                int64_t c) {
  return check_affine(fn, what, t, input, 1, &c);
}

tn_tensor *tn_batch_norm(const tn_tensor *input, const tn_tensor *weight, const tn_tensor *bias,
                         tn_tensor *running_mean, tn_tensor *running_var, int training, double momentum, double eps,
                         tn_tensor **save_mean, tn_tensor **save_invstd) {
  const char *fn = "batch_norm";
  char s[TN_SHAPE_STR];
  tn_norm_geom g;
  if (save_mean) *save_mean = NULL;
  if (save_invstd) *save_invstd = NULL;
  if (channels_geom(fn, input, &g) || check_channel_vector(fn, "weight", weight, input, g.c) ||
      check_channel_vector(fn, "bias", bias, input, g.c) ||
      check_channel_vector(fn, "running_mean", running_mean, input, g.c) ||
      check_channel_vector(fn, "running_var", running_var, input, g.c))
    return NULL;
  if (training && g.n * g.s <= 1)
    return tn_error_null("%s: expected more than 1 value per channel when training, got input size %s", fn,
                         tn_nn_shape(s, input));
  if (!training && (!running_mean || !running_var))
    return tn_error_null("%s: running_mean and running_var are needed in evaluation mode", fn);
  if (!(eps >= 0)) return tn_error_null("%s: eps must be non-negative, got %g", fn, eps);
  g.training = training != 0;
  g.momentum = momentum;
  g.eps = eps;
  tn_backend *be = tn_backend_of(fn, input);
  be = TN_WITH_KERNEL(fn, be, batch_norm);
  if (!be) return NULL;
  /* t: x, w, b, rm, rv (contiguous; the running ones are written back when they are copies), y, mean, invstd */
  tn_tensor *t[8] = {0};
  if (tn_nn_contiguous(input, &t[0]) || tn_nn_contiguous(weight, &t[1]) || tn_nn_contiguous(bias, &t[2]) ||
      tn_nn_contiguous(running_mean, &t[3]) || tn_nn_contiguous(running_var, &t[4]) ||
      !(t[5] = tn_nn_empty(input->ndim, input->sizes, input->dtype, input)) ||
      !(t[6] = tn_nn_empty(1, &g.c, input->dtype, input)) || !(t[7] = tn_nn_empty(1, &g.c, input->dtype, input)))
    goto fail;
  if (be->batch_norm(t[5], t[6], t[7], t[0], t[1], t[2], t[3], t[4], &g)) goto fail;
  if (training) {
    tn_tensor *targets[2] = {running_mean, running_var};
    for (int i = 0; i < 2; i++) {
      if (!targets[i]) continue;
      if (t[3 + i]->storage != targets[i]->storage) {
        if (tn_copy_(targets[i], t[3 + i])) goto fail;
      } else {
        tn_bump_version(targets[i]);
      }
    }
  }
  free_all(5, t);
  tn_nn_give(save_mean, t[6]);
  tn_nn_give(save_invstd, t[7]);
  return t[5];
fail:
  free_all(8, t);
  return NULL;
}

int tn_batch_norm_backward(const tn_tensor *grad_output, const tn_tensor *input, const tn_tensor *weight,
                           const tn_tensor *running_mean, const tn_tensor *running_var, const tn_tensor *save_mean,
                           const tn_tensor *save_invstd, int training, double eps, tn_tensor **grad_input,
                           tn_tensor **grad_weight, tn_tensor **grad_bias) {
  const char *fn = "batch_norm_backward";
  tn_norm_geom g;
  clear_grads(grad_input, grad_weight, grad_bias);
  if (channels_geom(fn, input, &g) || tn_nn_check_like(fn, "gradient", grad_output, "input", input) ||
      tn_nn_check_shape(fn, "a gradient", grad_output, input->ndim, input->sizes) ||
      check_channel_vector(fn, "weight", weight, input, g.c) ||
      check_channel_vector(fn, "running_mean", running_mean, input, g.c) ||
      check_channel_vector(fn, "running_var", running_var, input, g.c) ||
      check_channel_vector(fn, "save_mean", save_mean, input, g.c) ||
      check_channel_vector(fn, "save_invstd", save_invstd, input, g.c))
    return -1;
  bool saved = save_mean && save_invstd;
  if (training && !saved)
    return tn_error("%s: save_mean and save_invstd (from the training forward) are needed in training mode", fn);
  if (!saved && (!running_mean || !running_var))
    return tn_error("%s: running_mean and running_var (or the saved statistics) are needed in evaluation mode", fn);
  g.training = training != 0;
  g.eps = eps;
  tn_backend *be = tn_backend_of(fn, input);
  be = TN_WITH_KERNEL(fn, be, batch_norm_backward);
  if (!be) return -1;
  int64_t c = g.c;
  tn_tensor *t[8] = {0}; /* g, x, w, mean, invstd, gi, gw, gb */
  if (tn_nn_contiguous(grad_output, &t[0]) || tn_nn_contiguous(input, &t[1]) || tn_nn_contiguous(weight, &t[2]))
    goto fail;
  if (saved) {
    if (tn_nn_contiguous(save_mean, &t[3]) || tn_nn_contiguous(save_invstd, &t[4])) goto fail;
  } else {
    /* evaluation statistics: the running mean and 1 / sqrt(running_var + eps) */
    tn_tensor *shifted = tn_binary_scalar(TN_ADD, NULL, running_var, eps, input->dtype, 0, 1, 0, input->dtype);
    t[4] = shifted ? tn_unary(TN_RSQRT, NULL, shifted, 0, 0, input->dtype) : NULL;
    tn_tensor_free(shifted);
    if (!t[4] || tn_nn_contiguous(running_mean, &t[3])) goto fail;
  }
  if (alloc_grads(input, 1, &c, grad_input, grad_weight, grad_bias, &t[5], &t[6], &t[7])) goto fail;
  if ((t[5] || t[6] || t[7]) && be->batch_norm_backward(t[5], t[6], t[7], t[0], t[1], t[2], t[3], t[4], &g)) goto fail;
  free_all(5, t);
  give_grads(grad_input, grad_weight, grad_bias, t[5], t[6], t[7]);
  return 0;
fail:
  free_all(8, t);
  return -1;
}

static int group_norm_geom(const char *fn, const tn_tensor *input, int64_t num_groups, tn_norm_geom *g) {
  if (channels_geom(fn, input, g)) return -1;
  if (num_groups < 1 || g->c % num_groups)
    return tn_error("%s: expected the %lld channels to divide into num_groups=%lld groups", fn, (long long)g->c,
                    (long long)num_groups);
  g->groups = num_groups;
  return 0;
}

tn_tensor *tn_group_norm(const tn_tensor *input, int64_t num_groups, const tn_tensor *weight, const tn_tensor *bias,
                         double eps, tn_tensor **mean, tn_tensor **rstd) {
  const char *fn = "group_norm";
  tn_norm_geom g;
  if (mean) *mean = NULL;
  if (rstd) *rstd = NULL;
  if (group_norm_geom(fn, input, num_groups, &g) || check_channel_vector(fn, "weight", weight, input, g.c) ||
      check_channel_vector(fn, "bias", bias, input, g.c))
    return NULL;
  if (!(eps >= 0)) return tn_error_null("%s: eps must be non-negative, got %g", fn, eps);
  g.eps = eps;
  tn_backend *be = tn_backend_of(fn, input);
  be = TN_WITH_KERNEL(fn, be, group_norm);
  if (!be) return NULL;
  int64_t stat_sizes[2] = {g.n, num_groups};
  tn_tensor *t[6] = {0}; /* x, w, b, y, mean, rstd */
  if (tn_nn_contiguous(input, &t[0]) || tn_nn_contiguous(weight, &t[1]) || tn_nn_contiguous(bias, &t[2]) ||
      !(t[3] = tn_nn_empty(input->ndim, input->sizes, input->dtype, input)) ||
      !(t[4] = tn_nn_empty(2, stat_sizes, input->dtype, input)) ||
      !(t[5] = tn_nn_empty(2, stat_sizes, input->dtype, input)) ||
      (g.s > 0 && be->group_norm(t[3], t[4], t[5], t[0], t[1], t[2], &g))) {
    free_all(6, t);
    return NULL;
  }
  free_all(3, t);
  tn_nn_give(mean, t[4]);
  tn_nn_give(rstd, t[5]);
  return t[3];
}

int tn_group_norm_backward(const tn_tensor *grad_output, const tn_tensor *input, int64_t num_groups,
                           const tn_tensor *mean, const tn_tensor *rstd, const tn_tensor *weight,
                           tn_tensor **grad_input, tn_tensor **grad_weight, tn_tensor **grad_bias) {
  const char *fn = "group_norm_backward";
  tn_norm_geom g;
  clear_grads(grad_input, grad_weight, grad_bias);
  if (group_norm_geom(fn, input, num_groups, &g) || tn_nn_check_like(fn, "gradient", grad_output, "input", input) ||
      tn_nn_check_shape(fn, "a gradient", grad_output, input->ndim, input->sizes) ||
      check_channel_vector(fn, "weight", weight, input, g.c))
    return -1;
  int64_t stat_sizes[2] = {g.n, num_groups};
  if (tn_nn_check_like(fn, "mean", mean, "input", input) || tn_nn_check_like(fn, "rstd", rstd, "input", input) ||
      tn_nn_check_shape(fn, "a mean", mean, 2, stat_sizes) || tn_nn_check_shape(fn, "an rstd", rstd, 2, stat_sizes))
    return -1;
  tn_backend *be = tn_backend_of(fn, input);
  be = TN_WITH_KERNEL(fn, be, group_norm_backward);
  if (!be) return -1;
  int64_t c = g.c;
  tn_tensor *t[8] = {0}; /* g, x, mean, rstd, w, gi, gw, gb */
  if (tn_nn_contiguous(grad_output, &t[0]) || tn_nn_contiguous(input, &t[1]) || tn_nn_contiguous(mean, &t[2]) ||
      tn_nn_contiguous(rstd, &t[3]) || tn_nn_contiguous(weight, &t[4]) ||
      alloc_grads(input, 1, &c, grad_input, grad_weight, grad_bias, &t[5], &t[6], &t[7]))
    goto fail;
  if ((t[5] || t[6] || t[7]) && be->group_norm_backward(t[5], t[6], t[7], t[0], t[1], t[2], t[3], t[4], &g))
    goto fail;
  free_all(5, t);
  give_grads(grad_input, grad_weight, grad_bias, t[5], t[6], t[7]);
  return 0;
fail:
  free_all(8, t);
  return -1;
}
