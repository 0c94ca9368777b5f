/* pool.c: the pooling entry points (max, average, adaptive average and adaptive max pooling, 1-d to 3-d,
 * forward and backward). Inputs are [N x C x (D x) (H x) W] or unbatched [C x (D x) (H x) W]; the kernels see
 * planes of d x h x w (d = 1 below 3-d, h = 1 in 1-d). */
#include "nn_ops.h"

enum { MAX_POOL, AVG_POOL, ADAPTIVE_AVG_POOL, ADAPTIVE_MAX_POOL };

static const char *pool_name(int kind, int nsp, int backward) {
  static const char *const names[4][3][2] = {
      {{"max_pool1d", "max_pool1d_backward"}, {"max_pool2d", "max_pool2d_backward"},
       {"max_pool3d", "max_pool3d_backward"}},
      {{"avg_pool1d", "avg_pool1d_backward"}, {"avg_pool2d", "avg_pool2d_backward"},
       {"avg_pool3d", "avg_pool3d_backward"}},
      {{"adaptive_avg_pool1d", "adaptive_avg_pool1d_backward"}, {"adaptive_avg_pool2d", "adaptive_avg_pool2d_backward"},
       {"adaptive_avg_pool3d", "adaptive_avg_pool3d_backward"}},
      {{"adaptive_max_pool1d", "adaptive_max_pool1d_backward"}, {"adaptive_max_pool2d", "adaptive_max_pool2d_backward"},
       {"adaptive_max_pool3d", "adaptive_max_pool3d_backward"}}};
  return names[kind][nsp >= 1 && nsp <= 3 ? nsp - 1 : 0][backward != 0];
}

/* Checks the input's rank and dtype; fills the planes and the spatial sizes (d = 1 below 3-d, h = 1 in 1-d). */
static int pool_input(const char *fn, const tn_tensor *input, int nsp, tn_pool_geom *g) {
  static const char *const unbatched[3] = {"[C x W]", "[C x H x W]", "[C x D x H x W]"};
  static const char *const batched[3] = {"[N x C x W]", "[N x C x H x W]", "[N x C x D x H x W]"};
  char s[TN_SHAPE_STR];
  if (nsp < 1 || nsp > 3) return tn_error("pool: nsp must be 1, 2 or 3, got %d", nsp);
  if (input->ndim != nsp + 1 && input->ndim != nsp + 2)
    return tn_error("%s: expected a %d-d %s or %d-d %s input, got %s", fn, nsp + 1, unbatched[nsp - 1], nsp + 2,
                    batched[nsp - 1], tn_nn_shape(s, input));
  if (tn_nn_check_float(fn, "input", input)) return -1;
  for (int d = input->ndim - nsp - 1; d < input->ndim; d++)
    if (input->sizes[d] == 0)
      return tn_error("%s: expected an input with non-empty channel and spatial dims, got %s", fn,
                      tn_nn_shape(s, input));
  memset(g, 0, sizeof *g);
  g->planes = 1;
  for (int d = 0; d < input->ndim - nsp; d++) g->planes *= input->sizes[d];
  g->d = nsp == 3 ? input->sizes[input->ndim - 3] : 1;
  g->h = nsp >= 2 ? input->sizes[input->ndim - 2] : 1;
  g->w = input->sizes[input->ndim - 1];
  g->kd = g->kh = g->kw = g->sd = g->sh = g->sw = g->dd = g->dh = g->dw = 1;
  g->od = g->oh = g->ow = 1;
  return 0;
}

/* PyTorch's pooling output size (ceil_mode rounds up, but a window must start inside the input or the
 * padding before it). */
static int64_t pool_out(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, int ceil_mode) {
  int64_t num = in + 2 * p - d * (k - 1) - 1 + (ceil_mode ? s - 1 : 0);
  int64_t q = num >= 0 ? num / s : -((-num + s - 1) / s);
  int64_t out = q + 1;
  if (ceil_mode && (out - 1) * s >= in + p) out--;
  return out;
}

/* Reads the window options (nsp values each; dilation may be NULL) into g and computes the output size. */
static int pool_window(const char *fn, const tn_tensor *input, int nsp, const int64_t *kernel, const int64_t *stride,
                       const int64_t *padding, const int64_t *dilation, int ceil_mode, tn_pool_geom *g) {
  int64_t *k[3] = {&g->kd, &g->kh, &g->kw}, *s[3] = {&g->sd, &g->sh, &g->sw}, *p[3] = {&g->pd, &g->ph, &g->pw};
  int64_t *d[3] = {&g->dd, &g->dh, &g->dw}, *in[3] = {&g->d, &g->h, &g->w}, *out[3] = {&g->od, &g->oh, &g->ow};
  for (int i = 0; i < nsp; i++) {
    int j = i + 3 - nsp;
    int64_t kv = kernel[i], sv = stride[i], pv = padding[i], dv = dilation ? dilation[i] : 1;
    if (kv < 1) return tn_error("%s: kernel_size must be positive, got %lld", fn, (long long)kv);
    if (sv < 1) return tn_error("%s: stride must be positive, got %lld", fn, (long long)sv);
    if (dv < 1) return tn_error("%s: dilation must be positive, got %lld", fn, (long long)dv);
    if (pv < 0) return tn_error("%s: padding must be non-negative, got %lld", fn, (long long)pv);
    /* (PyTorch's bound, which ignores the dilation) */
    if (pv > kv / 2)
      return tn_error("%s: padding should be at most half of the kernel size, got padding %lld with kernel_size %lld",
                      fn, (long long)pv, (long long)kv);
    *k[j] = kv;
    *s[j] = sv;
    *p[j] = pv;
    *d[j] = dv;
    *out[j] = pool_out(*in[j], kv, sv, pv, dv, ceil_mode);
    if (*out[j] < 1) {
      char sh[TN_SHAPE_STR];
      return tn_error("%s: the output would be empty: input %s, kernel_size %lld, stride %lld, padding %lld%s", fn,
                      tn_nn_shape(sh, input), (long long)kv, (long long)sv, (long long)pv,
                      dv > 1 ? " with dilation" : "");
    }
  }
  return 0;
}

/* The output shape: the input's leading dims, then od (3-d), oh (2-d and 3-d) and ow. */
static int pool_out_shape(const tn_tensor *input, int nsp, const tn_pool_geom *g, int64_t *sizes) {
  int nd = input->ndim;
  const int64_t out[3] = {g->od, g->oh, g->ow};
  for (int d = 0; d < nd - nsp; d++) sizes[d] = input->sizes[d];
  for (int i = 0; i < nsp; i++) sizes[nd - nsp + i] = out[i + 3 - nsp];
  return nd;
}

/* Reads the output's spatial sizes off a gradient of the output (the backward functions that take no sizes). */
static void pool_out_from(const tn_tensor *grad_output, int nsp, tn_pool_geom *g) {
  int64_t *out[3] = {&g->od, &g->oh, &g->ow};
  for (int i = 0; i < nsp; i++) *out[i + 3 - nsp] = grad_output->sizes[grad_output->ndim - nsp + i];
}

static tn_tensor *contiguous_or_null(const tn_tensor *t) { return tn_contiguous(t); }

/* The kernels that read one tensor and write another: the average pools and their gradients. */
typedef int (*pool_kernel)(tn_tensor *out, const tn_tensor *in, const tn_pool_geom *g);

/* Runs kernel on `in` (made contiguous) into a fresh tensor of nd dims `sizes`, of like's dtype and device: the
 * result, or NULL with the error set. */
static tn_tensor *run_pool(pool_kernel kernel, const tn_tensor *in, int nd, const int64_t *sizes,
                           const tn_tensor *like, const tn_pool_geom *g) {
  tn_tensor *c = contiguous_or_null(in);
  tn_tensor *out = c ? tn_nn_empty(nd, sizes, like->dtype, like) : NULL;
  int rc = out ? kernel(out, c, g) : -1;
  tn_tensor_free(c);
  if (rc) {
    tn_tensor_free(out);
    return NULL;
  }
  return out;
}

/* The max pools' kernels, which also write the (base-based) int64 index of each maximum. */
typedef int (*max_pool_kernel)(tn_tensor *out, tn_tensor *indices, const tn_tensor *x, const tn_pool_geom *g,
                               int64_t base);

/* Runs kernel on the input (made contiguous): the pooled tensor, its indices in *indices when asked for. */
static tn_tensor *run_max_pool(max_pool_kernel kernel, const tn_tensor *input, int nsp, const tn_pool_geom *g,
                               int64_t base, tn_tensor **indices) {
  int64_t sizes[5];
  int nd = pool_out_shape(input, nsp, g, sizes);
  tn_tensor *x = contiguous_or_null(input);
  tn_tensor *out = x ? tn_nn_empty(nd, sizes, input->dtype, input) : NULL;
  tn_tensor *idx = out ? tn_nn_empty(nd, sizes, TN_INT64, input) : NULL;
  if (!idx || kernel(out, idx, x, g, base)) {
    tn_tensor_free(x);
    tn_tensor_free(out);
    tn_tensor_free(idx);
    return NULL;
  }
  tn_tensor_free(x);
  tn_nn_give(indices, idx);
  return out;
}

tn_tensor *tn_max_pool(const tn_tensor *input, int nsp, const int64_t *kernel, const int64_t *stride,
                       const int64_t *padding, const int64_t *dilation, int ceil_mode, int64_t base,
                       tn_tensor **indices) {
  const char *fn = pool_name(MAX_POOL, nsp, 0);
  tn_pool_geom g;
  if (indices) *indices = NULL;
  if (pool_input(fn, input, nsp, &g) ||
      pool_window(fn, input, nsp, kernel, stride, padding, dilation, ceil_mode, &g))
    return NULL;
  tn_backend *be = tn_backend_of(fn, input);
  be = TN_WITH_KERNEL(fn, be, max_pool);
  return be ? run_max_pool(be->max_pool, input, nsp, &g, base, indices) : NULL;
}

/* The gradient of max pooling (and adaptive max pooling): zeros of the input's shape with each output
 * gradient added at its saved argmax position. */
tn_tensor *tn_max_pool_backward(const tn_tensor *grad_output, const tn_tensor *input, const tn_tensor *indices,
                                int nsp, int64_t base) {
  const char *fn = pool_name(MAX_POOL, nsp, 1);
  tn_pool_geom g;
  if (pool_input(fn, input, nsp, &g) || tn_nn_check_like(fn, "gradient", grad_output, "input", input) ||
      tn_nn_check_device(fn, "indices", indices, "input", input))
    return NULL;
  if (indices->dtype != TN_INT64)
    return tn_error_null("%s: expected int64 indices, got %s", fn, tn_dtype_name(indices->dtype));
  if (tn_nn_check_shape(fn, "indices", indices, grad_output->ndim, grad_output->sizes)) return NULL;
  char s1[TN_SHAPE_STR], s2[TN_SHAPE_STR];
  bool leading = grad_output->ndim == input->ndim;
  for (int d = 0; leading && d < input->ndim - nsp; d++) leading = grad_output->sizes[d] == input->sizes[d];
  if (!leading)
    return tn_error_null("%s: the gradient %s does not match the input %s", fn, tn_nn_shape(s1, grad_output),
                         tn_nn_shape(s2, input));
  pool_out_from(grad_output, nsp, &g);
  tn_backend *be = tn_backend_of(fn, input);
  be = TN_WITH_KERNEL(fn, be, max_pool_backward);
  if (!be) return NULL;
  tn_tensor *go = contiguous_or_null(grad_output);
  tn_tensor *idx = go ? contiguous_or_null(indices) : NULL;
  tn_tensor *gx = idx ? tn_nn_empty(input->ndim, input->sizes, input->dtype, input) : NULL;
  int rc = gx ? be->max_pool_backward(gx, go, idx, &g, base) : -1;
  if (rc && gx) tn_error("%s: %s", fn, tn_last_error());
  tn_tensor_free(go);
  tn_tensor_free(idx);
  if (rc) {
    tn_tensor_free(gx);
    return NULL;
  }
  return gx;
}

static int avg_pool_setup(const char *fn, const tn_tensor *input, int nsp, const int64_t *kernel,
                          const int64_t *stride, const int64_t *padding, int ceil_mode, int count_include_pad,
                          int64_t divisor_override, tn_pool_geom *g) {
  if (pool_input(fn, input, nsp, g) ||
      pool_window(fn, input, nsp, kernel, stride, padding, NULL, ceil_mode, g))
    return -1;
  if (divisor_override < 0)
    return tn_error("%s: divisor_override must be positive (or 0 for none), got %lld", fn,
                    (long long)divisor_override);
  g->count_include_pad = count_include_pad != 0;
  g->divisor = divisor_override;
  return 0;
}

tn_tensor *tn_avg_pool(const tn_tensor *input, int nsp, const int64_t *kernel, const int64_t *stride,
                       const int64_t *padding, int ceil_mode, int count_include_pad, int64_t divisor_override) {
  const char *fn = pool_name(AVG_POOL, nsp, 0);
  tn_pool_geom g;
  if (avg_pool_setup(fn, input, nsp, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override, &g))
    return NULL;
  tn_backend *be = tn_backend_of(fn, input);
  be = TN_WITH_KERNEL(fn, be, avg_pool);
  if (!be) return NULL;
  int64_t sizes[5];
  int nd = pool_out_shape(input, nsp, &g, sizes);
  return run_pool(be->avg_pool, input, nd, sizes, input, &g);
}

tn_tensor *tn_avg_pool_backward(const tn_tensor *grad_output, const tn_tensor *input, int nsp, const int64_t *kernel,
                                const int64_t *stride, const int64_t *padding, int ceil_mode, int count_include_pad,
                                int64_t divisor_override) {
  const char *fn = pool_name(AVG_POOL, nsp, 1);
  tn_pool_geom g;
  if (avg_pool_setup(fn, input, nsp, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override, &g) ||
      tn_nn_check_like(fn, "gradient", grad_output, "input", input))
    return NULL;
  int64_t sizes[5];
  int nd = pool_out_shape(input, nsp, &g, sizes);
  if (tn_nn_check_shape(fn, "a gradient", grad_output, nd, sizes)) return NULL;
  tn_backend *be = tn_backend_of(fn, input);
  be = TN_WITH_KERNEL(fn, be, avg_pool_backward);
  return be ? run_pool(be->avg_pool_backward, grad_output, input->ndim, input->sizes, input, &g) : NULL;
}

static int adaptive_setup(const char *fn, const tn_tensor *input, int nsp, const int64_t *output_size,
                          tn_pool_geom *g) {
  if (pool_input(fn, input, nsp, g)) return -1;
  int64_t *out[3] = {&g->od, &g->oh, &g->ow};
  for (int i = 0; i < nsp; i++) {
    if (output_size[i] < 1)
      return tn_error("%s: output_size must be positive, got %lld", fn, (long long)output_size[i]);
    *out[i + 3 - nsp] = output_size[i];
  }
  return 0;
}

tn_tensor *tn_adaptive_avg_pool(const tn_tensor *input, int nsp, const int64_t *output_size) {
  const char *fn = pool_name(ADAPTIVE_AVG_POOL, nsp, 0);
  tn_pool_geom g;
  if (adaptive_setup(fn, input, nsp, output_size, &g)) return NULL;
  tn_backend *be = tn_backend_of(fn, input);
  be = TN_WITH_KERNEL(fn, be, adaptive_avg_pool);
  if (!be) return NULL;
  int64_t sizes[5];
  int nd = pool_out_shape(input, nsp, &g, sizes);
  return run_pool(be->adaptive_avg_pool, input, nd, sizes, input, &g);
}

tn_tensor *tn_adaptive_avg_pool_backward(const tn_tensor *grad_output, const tn_tensor *input, int nsp) {
  const char *fn = pool_name(ADAPTIVE_AVG_POOL, nsp, 1);
  tn_pool_geom g;
  if (pool_input(fn, input, nsp, &g) || tn_nn_check_like(fn, "gradient", grad_output, "input", input)) return NULL;
  char s1[TN_SHAPE_STR], s2[TN_SHAPE_STR];
  bool ok = grad_output->ndim == input->ndim;
  for (int d = 0; ok && d < input->ndim - nsp; d++) ok = grad_output->sizes[d] == input->sizes[d];
  for (int d = input->ndim - nsp; ok && d < input->ndim; d++) ok = grad_output->sizes[d] > 0;
  if (!ok)
    return tn_error_null("%s: the gradient %s does not match the input %s", fn, tn_nn_shape(s1, grad_output),
                         tn_nn_shape(s2, input));
  pool_out_from(grad_output, nsp, &g);
  tn_backend *be = tn_backend_of(fn, input);
  be = TN_WITH_KERNEL(fn, be, adaptive_avg_pool_backward);
  return be ? run_pool(be->adaptive_avg_pool_backward, grad_output, input->ndim, input->sizes, input, &g) : NULL;
}

tn_tensor *tn_adaptive_max_pool(const tn_tensor *input, int nsp, const int64_t *output_size, int64_t base,
                                tn_tensor **indices) {
  const char *fn = pool_name(ADAPTIVE_MAX_POOL, nsp, 0);
  tn_pool_geom g;
  if (indices) *indices = NULL;
  if (adaptive_setup(fn, input, nsp, output_size, &g)) return NULL;
  tn_backend *be = tn_backend_of(fn, input);
  be = TN_WITH_KERNEL(fn, be, adaptive_max_pool);
  return be ? run_max_pool(be->adaptive_max_pool, input, nsp, &g, base, indices) : NULL;
}
