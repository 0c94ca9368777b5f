/* conv.c: the convolution entry points: conv1d/2d/3d and their transposed forms, forward and backward.
 * They check shapes, dtypes and options, work out the geometry (tn_conv_geom) and the output size, and run
 * the backend's three kernels: a transposed convolution's forward is the gradient of the input of the
 * convolution it transposes, and its input gradient is that convolution's forward. */
#include "nn_ops.h"

static const char *conv_name(int nsp, int transposed, int backward) {
  static const char *const names[3][2][2] = {
      {{"conv1d", "conv1d_backward"}, {"conv_transpose1d", "conv_transpose1d_backward"}},
      {{"conv2d", "conv2d_backward"}, {"conv_transpose2d", "conv_transpose2d_backward"}},
      {{"conv3d", "conv3d_backward"}, {"conv_transpose3d", "conv_transpose3d_backward"}}};
  return names[nsp >= 1 && nsp <= 3 ? nsp - 1 : 0][transposed != 0][backward != 0];
}

/* The options of one convolution call, as given. */
typedef struct conv_args {
  const char *fn;
  int nsp, transposed;
  const int64_t *stride, *padding, *output_padding, *dilation;
  int64_t groups;
} conv_args;

static int check_options(const conv_args *a) {
  for (int d = 0; d < a->nsp; d++) {
    if (a->stride[d] < 1) return tn_error("%s: stride must be positive, got %lld", a->fn, (long long)a->stride[d]);
    if (a->dilation[d] < 1)
      return tn_error("%s: dilation must be positive, got %lld", a->fn, (long long)a->dilation[d]);
  }
  for (int d = 0; d < (a->transposed ? 1 : 2) * a->nsp; d++)
    if (a->padding[d] < 0) return tn_error("%s: padding must be non-negative, got %lld", a->fn, (long long)a->padding[d]);
  if (a->transposed)
    for (int d = 0; d < a->nsp; d++) {
      int64_t op = a->output_padding[d];
      if (op < 0 || (op >= a->stride[d] && op >= a->dilation[d]))
        return tn_error("%s: output_padding must be smaller than either stride or dilation, got output_padding %lld "
                        "with stride %lld and dilation %lld", a->fn, (long long)op, (long long)a->stride[d],
                        (long long)a->dilation[d]);
    }
  if (a->groups < 1) return tn_error("%s: groups must be positive, got %lld", a->fn, (long long)a->groups);
  return 0;
}

/* "a x b x c" of n values into buf */
static const char *dims_str(char *buf, size_t size, int n, const int64_t *v) {
  size_t used = 0;
  buf[0] = 0;
  for (int i = 0; i < n && used < size; i++)
    used += (size_t)snprintf(buf + used, size - used, "%s%lld", i ? " x " : "", (long long)v[i]);
  return buf;
}

/* The layouts the error messages name, by nsp (1..3). */
static const char *const INPUT_LAYOUT[3] = {"[N x C x W]", "[N x C x H x W]", "[N x C x D x H x W]"};
static const char *const WEIGHT_LAYOUT[2][3] = {
    {"[C_out x C_in/groups x kW]", "[C_out x C_in/groups x kH x kW]", "[C_out x C_in/groups x kD x kH x kW]"},
    {"[C_in x C_out/groups x kW]", "[C_in x C_out/groups x kH x kW]", "[C_in x C_out/groups x kD x kH x kW]"}};

/* Checks input, weight and bias and fills the geometry of the convolution (for a transposed convolution,
 * of the convolution it transposes) and the output's sizes. */
static int conv_geometry(const conv_args *a, const tn_tensor *input, const tn_tensor *weight, const tn_tensor *bias,
                         tn_conv_geom *g, int64_t *out_sizes) {
  const char *fn = a->fn;
  char s1[TN_SHAPE_STR], s2[TN_SHAPE_STR];
  int nd = a->nsp + 2;
  if (a->nsp < 1 || a->nsp > 3) return tn_error("conv: nsp must be 1, 2 or 3, got %d", a->nsp);
  if (input->ndim != nd)
    return tn_error("%s: expected a %d-d input %s, got %s", fn, nd, INPUT_LAYOUT[a->nsp - 1], tn_nn_shape(s1, input));
  if (weight->ndim != nd)
    return tn_error("%s: expected a %d-d weight %s, got %s", fn, nd, WEIGHT_LAYOUT[a->transposed != 0][a->nsp - 1],
                    tn_nn_shape(s1, weight));
  if (tn_nn_check_float(fn, "input", input) || tn_nn_check_like(fn, "weight", weight, "input", input) ||
      tn_nn_check_like(fn, "bias", bias, "input", input) || check_options(a))
    return -1;
  int64_t n = input->sizes[0], c = input->sizes[1], groups = a->groups;
  int64_t w0 = weight->sizes[0], w1 = weight->sizes[1];
  /* channels: conv weight [C_out x C_in/groups ...]; transposed weight [C_in x C_out/groups ...] */
  int64_t c_out;
  if (!a->transposed) {
    if (w0 % groups)
      return tn_error("%s: the weight's %lld output channels are not divisible by groups=%lld", fn, (long long)w0,
                      (long long)groups);
    if (c != w1 * groups) {
      if (groups == 1)
        return tn_error("%s: input has %lld channels but the weight expects %lld (weight %s)", fn, (long long)c,
                        (long long)w1, tn_nn_shape(s1, weight));
      return tn_error("%s: input has %lld channels but the weight expects %lld (%lld per group x %lld groups)", fn,
                      (long long)c, (long long)(w1 * groups), (long long)w1, (long long)groups);
    }
    c_out = w0;
  } else {
    if (c != w0)
      return tn_error("%s: input has %lld channels but the weight expects %lld (weight %s)", fn, (long long)c,
                      (long long)w0, tn_nn_shape(s1, weight));
    if (c % groups)
      return tn_error("%s: the input's %lld channels are not divisible by groups=%lld", fn, (long long)c,
                      (long long)groups);
    c_out = w1 * groups;
  }
  if (bias && (bias->ndim != 1 || bias->sizes[0] != c_out))
    return tn_error("%s: expected a bias of %lld elements (one per output channel), got %s", fn, (long long)c_out,
                    tn_nn_shape(s1, bias));
  if (c_out == 0 || c == 0) return tn_error("%s: channels must be positive (input %s, weight %s)", fn,
                                            tn_nn_shape(s1, input), tn_nn_shape(s2, weight));

  /* spatial sizes; dim d of nsp maps to j = d + 3 - nsp of (depth, height, width) */
  int64_t in[3] = {1, 1, 1}, k[3] = {1, 1, 1}, s[3] = {1, 1, 1}, dl[3] = {1, 1, 1}, pb[3] = {0, 0, 0},
          pa[3] = {0, 0, 0}, out[3] = {1, 1, 1}, span[3] = {1, 1, 1};
  bool too_small = false;
  for (int d = 0; d < a->nsp; d++) {
    int j = d + 3 - a->nsp;
    in[j] = input->sizes[2 + d];
    k[j] = weight->sizes[2 + d];
    s[j] = a->stride[d];
    dl[j] = a->dilation[d];
    pb[j] = a->transposed ? a->padding[d] : a->padding[2 * d];
    pa[j] = a->transposed ? a->padding[d] : a->padding[2 * d + 1];
    if (k[j] < 1) return tn_error("%s: the weight %s has an empty kernel", fn, tn_nn_shape(s1, weight));
    if (!a->transposed) {
      int64_t reach = dl[j] * (k[j] - 1) + 1;
      span[j] = in[j] + pb[j] + pa[j];
      too_small = too_small || span[j] < reach;
      out[j] = span[j] < reach ? 0 : (span[j] - reach) / s[j] + 1;
    } else {
      out[j] = (in[j] - 1) * s[j] - pb[j] - pa[j] + dl[j] * (k[j] - 1) + a->output_padding[d] + 1;
      if (out[j] < 1)
        return tn_error("%s: the output would have size %lld along spatial dim %d (input %s, weight %s)", fn,
                        (long long)out[j], d + 1, tn_nn_shape(s1, input), tn_nn_shape(s2, weight));
    }
  }
  if (too_small) {
    int f = 3 - a->nsp;
    char sp[64], ks[64], ds[64];
    return tn_error("%s: the padded input (%s) is smaller than the kernel (%s, dilation %s); input %s", fn,
                    dims_str(sp, sizeof sp, a->nsp, span + f), dims_str(ks, sizeof ks, a->nsp, k + f),
                    dims_str(ds, sizeof ds, a->nsp, dl + f), tn_nn_shape(s2, input));
  }
  out_sizes[0] = n;
  out_sizes[1] = c_out;
  for (int d = 0; d < a->nsp; d++) out_sizes[2 + d] = out[d + 3 - a->nsp];

  /* the convolution proper: for a transposed one, from its output to its input */
  g->n = n;
  g->groups = groups;
  g->kd = k[0];
  g->kh = k[1];
  g->kw = k[2];
  g->sd = s[0];
  g->sh = s[1];
  g->sw = s[2];
  g->dd = dl[0];
  g->dh = dl[1];
  g->dw = dl[2];
  g->pf = pb[0];
  g->pk = pa[0];
  g->pt = pb[1];
  g->pb = pa[1];
  g->pl = pb[2];
  g->pr = pa[2];
  const int64_t *small = a->transposed ? out : in, *large = a->transposed ? in : out;
  g->c_in = a->transposed ? c_out : c;
  g->c_out = a->transposed ? c : c_out;
  g->d = small[0];
  g->h = small[1];
  g->w = small[2];
  g->od = large[0];
  g->oh = large[1];
  g->ow = large[2];
  return 0;
}

/* Contiguous copies of the arguments a kernel reads. */
typedef struct conv_inputs {
  tn_tensor *input, *weight, *bias, *grad;
} conv_inputs;

static void conv_inputs_free(conv_inputs *c) {
  tn_tensor_free(c->input);
  tn_tensor_free(c->weight);
  tn_tensor_free(c->bias);
  tn_tensor_free(c->grad);
}

/* Adds bias [C] to out [N x C x ...] in place. */
static int add_bias(tn_tensor *out, const tn_tensor *bias) {
  int64_t sizes[TN_MAX_DIMS];
  sizes[0] = bias->sizes[0];
  for (int d = 2; d < out->ndim; d++) sizes[d - 1] = 1;
  tn_tensor *view = tn_view(bias, out->ndim - 1, sizes);
  if (!view) return -1;
  tn_tensor *r = tn_binary(TN_ADD, out, out, view, 1, 0, out->dtype);
  tn_tensor_free(view);
  return r ? 0 : -1;
}

/* Runs a forward: a convolution (conv2d kernel) or a transposed one (backward-input kernel, then the bias). */
static tn_tensor *forward(const conv_args *a, tn_tensor *out, const tn_tensor *input, const tn_tensor *weight,
                          const tn_tensor *bias) {
  tn_conv_geom g;
  int64_t sizes[5];
  if (conv_geometry(a, input, weight, bias, &g, sizes)) return NULL;
  tn_backend *be = tn_backend_of(a->fn, input);
  be = TN_WITH_KERNEL(a->fn, be, conv);
  be = TN_WITH_KERNEL(a->fn, be, conv_backward_input);
  if (!be) return NULL;
  if (out && tn_nn_check_device(a->fn, "out= tensor", out, "input", input)) return NULL;
  tn_tensor *target = tn_prepare_out(a->fn, out, a->nsp + 2, sizes, input->dtype, input);
  if (!target) return NULL;
  tn_tensor *result = target;
  if (!tn_is_contiguous(target) || (target == out && (out->storage == input->storage ||
                                                      out->storage == weight->storage ||
                                                      (bias && out->storage == bias->storage)))) {
    result = tn_nn_empty(a->nsp + 2, sizes, input->dtype, input);
    if (!result) return NULL;
  }
  conv_inputs c = {0};
  int rc = -1;
  if (tn_nn_contiguous(input, &c.input) || tn_nn_contiguous(weight, &c.weight) || tn_nn_contiguous(bias, &c.bias))
    goto done;
  if (result->numel > 0) {
    if (!a->transposed) {
      rc = be->conv(result, c.input, c.weight, c.bias, &g);
    } else {
      rc = be->conv_backward_input(result, c.input, c.weight, &g);
      if (!rc && bias) rc = add_bias(result, c.bias);
    }
    if (rc) goto done;
  }
  tn_bump_version(result);
  if (result != target && tn_copy_(target, result)) goto done;
  rc = 0;
done:
  conv_inputs_free(&c);
  if (result != target) tn_tensor_free(result);
  if (rc) {
    if (target != out) tn_tensor_free(target);
    return NULL;
  }
  return target;
}

static int backward(const conv_args *a, const tn_tensor *grad_output, const tn_tensor *input, const tn_tensor *weight,
                    tn_tensor **grad_input, tn_tensor **grad_weight, tn_tensor **grad_bias) {
  tn_conv_geom g;
  int64_t sizes[5];
  if (grad_input) *grad_input = NULL;
  if (grad_weight) *grad_weight = NULL;
  if (grad_bias) *grad_bias = NULL;
  if (conv_geometry(a, input, weight, NULL, &g, sizes)) return -1;
  if (tn_nn_check_like(a->fn, "gradient", grad_output, "input", input) ||
      tn_nn_check_shape(a->fn, "a gradient", grad_output, a->nsp + 2, sizes))
    return -1;
  tn_backend *be = tn_backend_of(a->fn, input);
  be = TN_WITH_KERNEL(a->fn, be, conv);
  be = TN_WITH_KERNEL(a->fn, be, conv_backward_input);
  be = TN_WITH_KERNEL(a->fn, be, conv_backward_weight);
  if (!be) return -1;
  conv_inputs c = {0};
  tn_tensor *gi = NULL, *gw = NULL, *gb = NULL;
  int rc = -1;
  if (tn_nn_contiguous(input, &c.input) || tn_nn_contiguous(weight, &c.weight) || tn_nn_contiguous(grad_output, &c.grad))
    goto done;
  int64_t c_out_t = sizes[1]; /* the output channels of this call (the bias's size) */
  if (grad_input && !(gi = tn_nn_empty(input->ndim, input->sizes, input->dtype, input))) goto done;
  if (grad_weight && !(gw = tn_nn_empty(weight->ndim, weight->sizes, weight->dtype, weight))) goto done;
  if (grad_bias && !(gb = tn_nn_empty(1, &c_out_t, input->dtype, input))) goto done;
  bool empty = input->numel == 0 || grad_output->numel == 0;
  if (empty) {
    if ((gi && tn_fill_(gi, 0)) || (gw && tn_fill_(gw, 0)) || (gb && tn_fill_(gb, 0))) goto done;
  } else if (!a->transposed) {
    if (gi && be->conv_backward_input(gi, c.grad, c.weight, &g)) goto done;
    if ((gw || gb) && be->conv_backward_weight(gw, gb, c.grad, c.input, &g)) goto done;
  } else {
    /* The convolution runs from this call's output to its input: its "output gradient" is our input. */
    if (gi && be->conv(gi, c.grad, c.weight, NULL, &g)) goto done;
    if (gw && be->conv_backward_weight(gw, NULL, c.input, c.grad, &g)) goto done;
    if (gb) {
      /* the bias gradient sums our output gradient: a geometry whose output is this call's output */
      tn_conv_geom bg = g;
      bg.c_out = g.c_in;
      bg.od = g.d;
      bg.oh = g.h;
      bg.ow = g.w;
      if (be->conv_backward_weight(NULL, gb, c.grad, NULL, &bg)) goto done;
    }
  }
  rc = 0;
done:
  conv_inputs_free(&c);
  if (rc) {
    tn_tensor_free(gi);
    tn_tensor_free(gw);
    tn_tensor_free(gb);
    return -1;
  }
  if (grad_input) *grad_input = gi;
  if (grad_weight) *grad_weight = gw;
  if (grad_bias) *grad_bias = gb;
  return 0;
}

tn_tensor *tn_conv(tn_tensor *out, const tn_tensor *input, const tn_tensor *weight, const tn_tensor *bias, int nsp,
                   const int64_t *stride, const int64_t *padding, const int64_t *dilation, int64_t groups) {
  conv_args a = {conv_name(nsp, 0, 0), nsp, 0, stride, padding, NULL, dilation, groups};
  return forward(&a, out, input, weight, bias);
}

int tn_conv_backward(const tn_tensor *grad_output, const tn_tensor *input, const tn_tensor *weight, int nsp,
                     const int64_t *stride, const int64_t *padding, const int64_t *dilation, int64_t groups,
                     tn_tensor **grad_input, tn_tensor **grad_weight, tn_tensor **grad_bias) {
  conv_args a = {conv_name(nsp, 0, 1), nsp, 0, stride, padding, NULL, dilation, groups};
  return backward(&a, grad_output, input, weight, grad_input, grad_weight, grad_bias);
}

tn_tensor *tn_conv_transpose(tn_tensor *out, const tn_tensor *input, const tn_tensor *weight, const tn_tensor *bias,
                             int nsp, const int64_t *stride, const int64_t *padding, const int64_t *output_padding,
                             const int64_t *dilation, int64_t groups) {
  conv_args a = {conv_name(nsp, 1, 0), nsp, 1, stride, padding, output_padding, dilation, groups};
  return forward(&a, out, input, weight, bias);
}

int tn_conv_transpose_backward(const tn_tensor *grad_output, const tn_tensor *input, const tn_tensor *weight, int nsp,
                               const int64_t *stride, const int64_t *padding, const int64_t *output_padding,
                               const int64_t *dilation, int64_t groups, tn_tensor **grad_input,
                               tn_tensor **grad_weight, tn_tensor **grad_bias) {
  conv_args a = {conv_name(nsp, 1, 1), nsp, 1, stride, padding, output_padding, dilation, groups};
  return backward(&a, grad_output, input, weight, grad_input, grad_weight, grad_bias);
}
