/* conv.c: CPU convolution kernels (forward, gradient of the input, gradient of the weight and bias).
 *
 * Stride 1 (the common case, any padding, dilation and groups) runs a direct kernel. Each input plane is
 * copied once into a zero-padded plane of width wp, and outputs are computed on the same wp-wide grid:
 * output position pos = oh * wp + ow reads input position pos + off(c, a, b) with the constant offset
 * off = c * plane + a * dh * wp + b * dw for every kernel tap. The convolution is then a matrix product
 * whose right-hand rows are contiguous runs of the padded input, with no im2col copy: a register tile of
 * TILE_CO output channels x TILE_P positions accumulates over the taps (one broadcast weight and TILE_PV
 * vector loads per tap feed TILE_CO x TILE_PV fused multiply-adds), and the wp - ow extra columns per row
 * (2 of 58 for a 56-wide image and a 3x3 kernel) are computed and dropped. The gradient of the input is the
 * same kernel run on the output gradient with the weight transposed and flipped; the gradient of the
 * weight accumulates, per thread, tap rows times vectors of output channels over chunks of positions.
 *
 * Other strides use im2col + GEMM (OpenBLAS, multithreaded by itself: these loops are not in a parallel
 * region). */
/* -std=c11 turns off a*b+c -> fma contraction, and trapping math keeps floor() (in exp) from vectorising */
#pragma GCC optimize("fp-contract=fast", "no-trapping-math")

#include "nn_simd.h"

#include <cblas.h>
#include <stdlib.h>

/* Register tiles: 24 of 32 vector registers accumulate with AVX-512, 12 of 16 otherwise. */
#if TN_VREGS >= 32
#define TILE_CO 8
#define WGT_KT 6
#else
#define TILE_CO 4
#define WGT_KT 3
#endif
#define TILE_PV 3
#define WGT_NV 4
/* the most bytes of patches (im2col) one GEMM takes */
#define GEMM_BUDGET ((int64_t)8 << 20)

/* The direct (stride 1) convolution of n images in groups: cin_g input and cout_g output channels per group;
 * input h x w, output oh x ow; padding before the data pt, pl. */
typedef struct direct_plan {
  int64_t n, groups, cin_g, cout_g;
  int64_t h, w, oh, ow;
  int64_t kh, kw, dh, dw, pt, pl;
  int64_t hp, wp;           /* the padded plane */
  int64_t len, len_r;       /* positions computed per plane (oh * wp), rounded up to whole tiles */
  int64_t image_stride;     /* elements between padded images: their planes and a zero tail read by the last tiles */
  int64_t blocks, singles;  /* per group: register tiles of TILE_CO channels, then single leftover channels */
  int64_t full_rows;        /* the first channel done as a single row */
  int64_t wpack_group;      /* packed weight elements per group */
} direct_plan;

static void direct_plan_init(direct_plan *p, int64_t n, int64_t groups, int64_t cin_g, int64_t cout_g, int64_t h,
                             int64_t w, int64_t oh, int64_t ow, const tn_conv_geom *g, int64_t pt, int64_t pl,
                             int vl) {
  p->n = n;
  p->groups = groups;
  p->cin_g = cin_g;
  p->cout_g = cout_g;
  p->h = h;
  p->w = w;
  p->oh = oh;
  p->ow = ow;
  p->kh = g->kh;
  p->kw = g->kw;
  p->dh = g->dh;
  p->dw = g->dw;
  p->pt = pt;
  p->pl = pl;
  int64_t reach_h = g->dh * (g->kh - 1), reach_w = g->dw * (g->kw - 1);
  p->hp = pt + h > oh + reach_h ? pt + h : oh + reach_h;
  p->wp = pl + w > ow + reach_w ? pl + w : ow + reach_w;
  int64_t tile_p = TILE_PV * vl;
  p->len = oh * p->wp;
  p->len_r = (p->len + tile_p - 1) / tile_p * tile_p;
  p->image_stride = groups * cin_g * p->hp * p->wp + (p->len_r - p->len) + reach_w + vl;
  /* Leftover channels: one or two run as single rows, more as a zero-padded tile. */
  int64_t full = cout_g / TILE_CO, rem = cout_g % TILE_CO;
  p->blocks = rem > 2 ? full + 1 : full;
  p->singles = rem > 2 ? 0 : rem;
  p->full_rows = full * TILE_CO;
  int64_t K = cin_g * g->kh * g->kw;
  p->wpack_group = p->blocks * TILE_CO * K + p->singles * K;
}

static bool direct_forward_plan(direct_plan *p, const tn_conv_geom *g, int vl) {
  direct_plan_init(p, g->n, g->groups, g->c_in / g->groups, g->c_out / g->groups, g->h, g->w, g->oh, g->ow, g, g->pt,
                   g->pl, vl);
  return true;
}

/* The gradient of the input of a stride-1 convolution is a stride-1 convolution of the output gradient,
 * padded by reach - pt before (it needs that to be >= 0). */
static bool direct_backward_input_plan(direct_plan *p, const tn_conv_geom *g, int vl) {
  int64_t pt = g->dh * (g->kh - 1) - g->pt, pl = g->dw * (g->kw - 1) - g->pl;
  if (pt < 0 || pl < 0) return false;
  direct_plan_init(p, g->n, g->groups, g->c_out / g->groups, g->c_in / g->groups, g->oh, g->ow, g->h, g->w, g, pt, pl,
                   vl);
  return true;
}

/* off[k] for tap k = (c * kh + a) * kw + b: where it reads, relative to the output position */
static void direct_offsets(int64_t *off, const direct_plan *p) {
  int64_t plane = p->hp * p->wp;
  for (int64_t c = 0; c < p->cin_g; c++)
    for (int64_t a = 0; a < p->kh; a++)
      for (int64_t b = 0; b < p->kw; b++) off[(c * p->kh + a) * p->kw + b] = c * plane + a * p->dh * p->wp + b * p->dw;
}

#define FN(name) name##_f32
#define T float
#define V tn_vf32
#define VU tn_vf32u
#define VL TN_VL_F32
#define GEMM cblas_sgemm
#include "conv_tmpl.h"
#undef FN
#undef T
#undef V
#undef VU
#undef VL
#undef GEMM

#define FN(name) name##_f64
#define T double
#define V tn_vf64
#define VU tn_vf64u
#define VL TN_VL_F64
#define GEMM cblas_dgemm
#include "conv_tmpl.h"
#undef FN
#undef T
#undef V
#undef VU
#undef VL
#undef GEMM

static const void *ptr(const tn_tensor *t) { return t ? tn_data_ptr(t) : NULL; }

int tn_cpu_conv2d(tn_tensor *out, const tn_tensor *x, const tn_tensor *w, const tn_tensor *bias, const tn_conv_geom *g) {
  if (x->dtype == TN_FLOAT64) return conv_forward_f64(tn_data_ptr(out), ptr(x), ptr(w), ptr(bias), g);
  return conv_forward_f32(tn_data_ptr(out), ptr(x), ptr(w), ptr(bias), g);
}

int tn_cpu_conv2d_backward_input(tn_tensor *grad_x, const tn_tensor *grad_out, const tn_tensor *w,
                                 const tn_conv_geom *g) {
  if (grad_x->dtype == TN_FLOAT64) return conv_backward_input_f64(tn_data_ptr(grad_x), ptr(grad_out), ptr(w), g);
  return conv_backward_input_f32(tn_data_ptr(grad_x), ptr(grad_out), ptr(w), g);
}

int tn_cpu_conv2d_backward_weight(tn_tensor *grad_w, tn_tensor *grad_b, const tn_tensor *grad_out, const tn_tensor *x,
                                  const tn_conv_geom *g) {
  void *gw = grad_w ? tn_data_ptr(grad_w) : NULL, *gb = grad_b ? tn_data_ptr(grad_b) : NULL;
  if (grad_out->dtype == TN_FLOAT64) return conv_backward_weight_f64(gw, gb, ptr(grad_out), ptr(x), g);
  return conv_backward_weight_f32(gw, gb, ptr(grad_out), ptr(x), g);
}
