/* conv.c: CPU convolution kernels, 1-d to 3-d (forward, gradient of the input, gradient of the weight and bias).
 *
 * Forward and weight gradients run a direct kernel. Each input channel is copied once into zero-padded
 * planes of hq x wq: for stride 1 one plane; for stride s, s x s phase planes, phase (u, v) holding the padded
 * rows u, u + s, ... and columns v, v + s, .... Planes are stored [channel][phase][image], and outputs are
 * computed on a grid of the same shape folded over the images: position pos = image * hq * wq + oh * wq + ow
 * reads, for kernel tap (c, a, b), the element pos + off(c, a, b): a constant offset per tap (the planes of
 * channel c's phase of rows a * dh mod s and columns b * dw mod s, shifted by a * dh / s rows and b * dw / s
 * columns). The convolution is then a matrix product whose right-hand rows are contiguous runs of those planes,
 * with no im2col copy: a register tile of TILE_CO output channels x TILE_P positions accumulates over the taps
 * (one broadcast weight and TILE_PV vector loads per tap feed TILE_CO x TILE_PV fused multiply-adds), and the
 * grid's extra columns and rows (1 of 57 for a 56-wide image, 3x3 kernel, padding 1) are computed and dropped. Tiles
 * run on across images, so small images fill them too. With stride 1 the zeros between rows and between images
 * are shared (a row's right padding is the next row's left padding), which trims the extra columns and rows.
 * The gradient of the weight is a product over the same grid: each thread takes chunks of positions, copies
 * the output gradient there into rows of the grid's shape, and accumulates dot products of WGT_CO gradient
 * rows with WGT_KT tap rows (vectors along the positions). The gradient of the input of a stride-1
 * convolution is the direct kernel run on the output gradient with the weight transposed and flipped.
 *
 * Strided input gradients, convolutions whose grid would be mostly extra positions (a kernel about as large
 * as its input), and 3-d convolutions (im2col over volumes: vol2col, of which the 2-d im2col is the one-slice
 * case) use im2col + GEMM (tn_cpu_cblas_?gemm: OpenBLAS split across the library's threads, since
 * OpenBLAS's own pool is held at one thread; these loops are not in a parallel region). */
/* -std=c11 turns off a*b+c -> fma contraction, and trapping math keeps floor() (in exp) from vectorising;
 * short copy loops stay loops rather than memcpy calls */
#pragma GCC optimize("fp-contract=fast", "no-trapping-math", "no-tree-loop-distribute-patterns")

#include "nn_simd.h"

#include <cblas.h>
#include <stdlib.h>

/* Register tiles: 24 of 32 vector registers accumulate with AVX-512, at most 12 of 16 otherwise. */
#if TN_VREGS >= 32
#define TILE_CO 8
#define WGT_CO 4
#define WGT_KT 6
#else
#define TILE_CO 4
#define WGT_CO 3
#define WGT_KT 3
#endif
#define TILE_PV 3
/* the most bytes of patches (im2col) one GEMM takes */
#define GEMM_BUDGET ((int64_t)8 << 20)

/* The direct convolution of n images in groups: cin_g input and cout_g output channels per group; input
 * h x w, output oh x ow; stride sh, sw; padding before the data pt, pl. The input is laid out as planes
 * [channel][phase][image] of hq x wq, and the images' output grids (oh x wq of each plane) follow one another
 * on one folded grid of positions, so that register tiles run on across images. */
typedef struct direct_plan {
  int64_t n, groups, cin_g, cout_g;
  int64_t h, w, oh, ow;
  int64_t kh, kw, sh, sw, dh, dw, pt, pl;
  int64_t hq, wq, plane;    /* a phase plane; wq is also the row length of the output grid */
  int64_t block;            /* elements between the planes of consecutive (channel, phase) pairs: n planes and a
                               gap that keeps them from starting at the same place of a 4 KiB page */
  int64_t group_stride;     /* elements between the planes of two groups' channels */
  int64_t total, total_r;   /* positions of the folded grid up to the last image's last output row; in tiles */
  int64_t tail;             /* zeros after the planes, read by the last tiles */
  int64_t buffer;           /* elements of the laid-out input */
  int64_t blocks, singles;  /* per group: register tiles of TILE_CO channels, then single leftover channels */
  int64_t full_rows;        /* the first channel done as a single row */
  int64_t wpack_group;      /* packed weight elements per group */
} direct_plan;

static void direct_plan_init(direct_plan *p, int64_t n, int64_t groups, int64_t cin_g, int64_t cout_g, int64_t h,
                             int64_t w, int64_t oh, int64_t ow, const tn_conv_geom *g, int64_t sh, int64_t sw,
                             int64_t pt, int64_t pl, int vl) {
  *p = (direct_plan){.n = n, .groups = groups, .cin_g = cin_g, .cout_g = cout_g, .h = h, .w = w, .oh = oh, .ow = ow,
                     .kh = g->kh, .kw = g->kw, .sh = sh, .sw = sw, .dh = g->dh, .dw = g->dw, .pt = pt, .pl = pl};
  /* a tap reads phase row oh + (a * dh) / sh */
  int64_t reach_h = g->dh * (g->kh - 1) / sh, reach_w = g->dw * (g->kw - 1) / sw;
  if (sh == 1 && sw == 1) {
    /* One plane, whose rows and images follow one another with the zeros between them shared: the padding
     * after a row (image) is the padding before the next, so a plane is h + max(pt, pb) rows of
     * w + max(pl, pr) (pb, pr: the padding the output's last row and column read). */
    int64_t pb = oh + reach_h - pt - h, pr = ow + reach_w - pl - w;
    p->hq = h + (pt > pb ? pt : pb);
    p->wq = w + (pl > pr ? pl : pr);
    p->hq = p->hq > oh ? p->hq : oh;
    p->wq = p->wq > ow ? p->wq : ow;
  } else {
    /* each phase plane holds its share of the data and every row and column a tap reads */
    int64_t data_h = (pt + h + sh - 1) / sh, data_w = (pl + w + sw - 1) / sw;
    p->hq = data_h > oh + reach_h ? data_h : oh + reach_h;
    p->wq = data_w > ow + reach_w ? data_w : ow + reach_w;
  }
  p->plane = p->hq * p->wq;
  int64_t tile_p = TILE_PV * vl;
  p->total = n > 0 ? (n - 1) * p->plane + oh * p->wq : 0;
  p->total_r = (p->total + tile_p - 1) / tile_p * tile_p;
  /* The last image's positions read past its plane (the rows a tap reaches below, the columns to the right and
   * the tiles' rounding): zeros after each block's planes. */
  int64_t below = oh + reach_h > p->hq ? oh + reach_h - p->hq : 0;
  int64_t gap = (below + 1) * p->wq + reach_w + (p->total_r - p->total) + vl;
  /* Blocks a multiple of 4 KiB apart would map every tap's row to the same L1 sets: shift them by a line. */
  int64_t esize = vl > 0 ? TN_VBYTES / vl : 4, line = 64 / esize;
  p->block = (n * p->plane + gap + line - 1) / line * line;
  if ((p->block * esize) % 4096 == 0) p->block += line;
  p->group_stride = cin_g * sh * sw * p->block;
  p->tail = vl;
  p->buffer = groups * p->group_stride + p->tail;
  /* Leftover channels: one or two run as single rows, more as a zero-padded tile. */
  int64_t full = cout_g / TILE_CO, rem = cout_g % TILE_CO;
  p->blocks = rem > 2 ? full + 1 : full;
  p->singles = rem > 2 ? 0 : rem;
  p->full_rows = full * TILE_CO;
  int64_t K = cin_g * g->kh * g->kw;
  p->wpack_group = p->blocks * TILE_CO * K + p->singles * K;
}

/* Whether a geometry is a 2-d convolution (one depth slice in and out, read at depth 0): the direct kernels
 * take only those; 3-d convolutions go through im2col + GEMM. */
static bool flat(const tn_conv_geom *g) { return g->d == 1 && g->od == 1 && g->kd == 1 && g->pf == 0; }

/* Whether the direct kernel suits a plan: most of its grid must be outputs (a kernel about as large as its
 * input leaves few; im2col + GEMM then does less work). */
static bool direct_pays(const direct_plan *p) { return 2 * p->oh * p->ow >= p->hq * p->wq; }

static bool direct_forward_plan(direct_plan *p, const tn_conv_geom *g, int vl) {
  if (!flat(g)) return false;
  direct_plan_init(p, g->n, g->groups, g->c_in / g->groups, g->c_out / g->groups, g->h, g->w, g->oh, g->ow, g, g->sh,
                   g->sw, g->pt, g->pl, vl);
  return direct_pays(p);
}

/* The gradient of the input of a stride-1 convolution is a stride-1 convolution of the output gradient,
 * padded by reach - pt before (it needs that to be >= 0). */
static bool direct_backward_input_plan(direct_plan *p, const tn_conv_geom *g, int vl) {
  int64_t pt = g->dh * (g->kh - 1) - g->pt, pl = g->dw * (g->kw - 1) - g->pl;
  if (!flat(g) || g->sh != 1 || g->sw != 1 || pt < 0 || pl < 0) return false;
  direct_plan_init(p, g->n, g->groups, g->c_out / g->groups, g->c_in / g->groups, g->oh, g->ow, g->h, g->w, g, 1, 1,
                   pt, pl, vl);
  return direct_pays(p);
}

/* off[k] for tap k = (c * kh + a) * kw + b: where it reads, relative to the output position (the phase plane
 * of its row and column offsets, then the offset inside it) */
static void direct_offsets(int64_t *off, const direct_plan *p) {
  for (int64_t c = 0; c < p->cin_g; c++)
    for (int64_t a = 0; a < p->kh; a++)
      for (int64_t b = 0; b < p->kw; b++) {
        int64_t ra = a * p->dh, rb = b * p->dw;
        int64_t phase = (c * p->sh + ra % p->sh) * p->sw + rb % p->sw;
        off[(c * p->kh + a) * p->kw + b] = phase * p->block + (ra / p->sh) * p->wq + rb / p->sw;
      }
}

#define NN_TEMPLATE "conv_tmpl.h"
#include "nn_stamp.h"

static const void *ptr(const tn_tensor *t) { return t ? tn_data_ptr(t) : NULL; }

int tn_cpu_conv(tn_tensor *out, const tn_tensor *x, const tn_tensor *w, const tn_tensor *bias, const tn_conv_geom *g) {
  if (x->dtype == TN_FLOAT64) return conv_forward_f64(tn_data_ptr(out), ptr(x), ptr(w), ptr(bias), g);
  return conv_forward_f32(tn_data_ptr(out), ptr(x), ptr(w), ptr(bias), g);
}

int tn_cpu_conv_backward_input(tn_tensor *grad_x, const tn_tensor *grad_out, const tn_tensor *w,
                               const tn_conv_geom *g) {
  if (grad_x->dtype == TN_FLOAT64) return conv_backward_input_f64(tn_data_ptr(grad_x), ptr(grad_out), ptr(w), g);
  return conv_backward_input_f32(tn_data_ptr(grad_x), ptr(grad_out), ptr(w), g);
}

int tn_cpu_conv_backward_weight(tn_tensor *grad_w, tn_tensor *grad_b, const tn_tensor *grad_out, const tn_tensor *x,
                                const tn_conv_geom *g) {
  void *gw = grad_w ? tn_data_ptr(grad_w) : NULL, *gb = grad_b ? tn_data_ptr(grad_b) : NULL;
  if (grad_out->dtype == TN_FLOAT64) return conv_backward_weight_f64(gw, gb, ptr(grad_out), ptr(x), g);
  return conv_backward_weight_f32(gw, gb, ptr(grad_out), ptr(x), g);
}
