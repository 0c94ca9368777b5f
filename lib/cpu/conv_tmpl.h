/* conv_tmpl.h: the convolution kernels for one float type, included by conv.c once per type with
 *   T (the element type), V / VU (its aligned / unaligned vector), VL (lanes), VI (a vector of lane
 *   indices), FN(name) (name with the type's suffix), GEMM (tn_cpu_cblas_sgemm or tn_cpu_cblas_dgemm).
 * See conv.c for the algorithms. */

/* ---- the direct kernels ---- */

/* One row of a phase plane: zeros, then src[j * sw] for j in [lo, hi), then zeros up to wq. */
static inline void FN(phase_row)(T *restrict row, const T *restrict src, int64_t lo, int64_t hi, int64_t wq,
                                 int64_t sw) {
  for (int64_t j = 0; j < lo; j++) row[j] = 0;
  if (sw == 1)
    for (int64_t j = lo; j < hi; j++) row[j] = src[j];
  else if (sw == 2) {
    /* every other element: the even lanes of two vectors (which read one element past the last one used,
     * so the last vector's worth goes one by one) */
    VI even;
    for (int l = 0; l < VL; l++) even[l] = 2 * l;
    int64_t j = lo;
    for (; j + VL < hi; j += VL)
      *(VU *)(row + j) = __builtin_shuffle(*(const VU *)(src + 2 * j), *(const VU *)(src + 2 * j + VL), even);
    for (; j < hi; j++) row[j] = src[2 * j];
  } else
    for (int64_t j = lo; j < hi; j++) row[j] = src[j * sw];
  for (int64_t j = hi; j < wq; j++) row[j] = 0;
}

/* Lays images [n x channels x h x w] out as the zero-padded phase planes of p, [channel][phase][image]
 * (see conv.c): phase (u, v) holds the padded input's rows u, u + sh, ... and columns v, v + sw, ....
 * Rows are short for small images, so loops do the copying rather than library calls. */
static void FN(split_images)(T *dst, const T *x, int64_t channels, const direct_plan *p) {
  int64_t phases = p->sh * p->sw, sw = p->sw, count = channels * p->n;
  int threads = tn_nn_threads(count * phases * p->plane, 1 << 15);
  const T *x_end = x + count * p->h * p->w;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t i = 0; i < count; i++) {
    int64_t c = i / p->n, img = i % p->n;
    const T *s = x + (img * channels + c) * p->h * p->w;
    if (phases == 1 && p->w <= VL && 2 * p->w >= VL && VL <= p->w + p->wq) {
      /* stride 1, short rows: each row's data as one vector (it reads into the next input row, and its lanes
       * past the data land in the next row's padding and data, which are written next), the padding between
       * rows zeroed after it */
      T *d = dst + c * p->block + img * p->plane;
      int64_t first = p->pt * p->wq + p->pl, last = (p->pt + p->h - 1) * p->wq + p->pl;
      for (int64_t j = 0; j < first; j++) d[j] = 0;
      for (int64_t ih = 0; ih < p->h; ih++) {
        T *row = d + first + ih * p->wq;
        const T *src = s + ih * p->w;
        if (ih < p->h - 1)
          *(VU *)row = *(const VU *)src;
        else
          for (int64_t j = 0; j < p->w; j++) row[j] = src[j];
        int64_t gap_end = ih < p->h - 1 ? p->wq : p->plane - last;
        for (int64_t j = p->w; j < gap_end; j++) row[j] = 0;
      }
      if (img == p->n - 1)
        for (int64_t j = p->n * p->plane; j < p->block; j++) dst[c * p->block + j] = 0;
      continue;
    }
    for (int64_t ph = 0; ph < phases; ph++) {
      int64_t u = ph / sw, v = ph % sw;
      T *d = dst + (c * phases + ph) * p->block + img * p->plane;
      /* the phase columns j whose input column j * sw + v - pl lies inside: [lo, hi) */
      int64_t lo = v >= p->pl ? 0 : (p->pl - v + sw - 1) / sw;
      int64_t hi = (p->pl + p->w - v + sw - 1) / sw;
      hi = hi < lo ? lo : hi > p->wq ? p->wq : hi;
      /* Phase rows of up to VL values, whose input columns lie in the row's first two vectors (a 14 or 28 wide
       * image at stride 2), are one shuffle of those vectors with the lanes off [lo, hi) cleared, stored as
       * one vector: the loop below spent most of a stride-2 forward pass of 14 x 14 images in these rows. Its
       * lanes past the row land in rows of this plane written after it. */
      bool shuffled = phases > 1 && p->wq <= VL && hi > lo && (hi - 1) * sw + v - p->pl < 2 * VL;
      VI pick = {0}, keep = {0};
      for (int l = 0; shuffled && l < VL; l++) {
        bool inside = l >= lo && l < hi;
        pick[l] = inside ? l * sw + v - p->pl : 0;
        keep[l] = inside ? -1 : 0;
      }
      for (int64_t r = 0; r < p->hq; r++) {
        int64_t ih = r * p->sh + u - p->pt;
        if (ih < 0 || ih >= p->h) {
          FN(phase_row)(d + r * p->wq, s, 0, 0, p->wq, sw);
          continue;
        }
        const T *src = s + ih * p->w;
        if (shuffled && r * p->wq + VL <= p->plane && x_end - src >= 2 * VL) {
          V got = __builtin_shuffle(*(const VU *)src, *(const VU *)(src + VL), pick);
          *(VU *)(d + r * p->wq) = (V)((VI)got & keep);
        } else
          FN(phase_row)(d + r * p->wq, src + v - p->pl, lo, hi, p->wq, sw);
      }
      if (img == p->n - 1) /* the gap after the block's planes */
        for (int64_t j = p->n * p->plane; j < p->block; j++) dst[(c * phases + ph) * p->block + j] = 0;
    }
  }
  memset(dst + channels * phases * p->block, 0, sizeof(T) * (size_t)p->tail);
}

/* Packs weights for the direct kernel: blocks of TILE_CO output channels stored [k][TILE_CO] (zero rows past
 * the group's channels), then single rows stored [k]. Source w: [groups*rows x chans x kh x kw], or with
 * transposed (the backward of the input) [groups*chans x rows x kh x kw] read with the kernel flipped. */
static void FN(pack_weights)(T *dst, const T *w, const direct_plan *p, int transposed) {
  int64_t rows = p->cout_g, chans = p->cin_g, kk = p->kh * p->kw, K = chans * kk;
  for (int64_t g = 0; g < p->groups; g++) {
    T *gd = dst + g * p->wpack_group;
    for (int64_t row = 0; row < p->blocks * TILE_CO + p->singles; row++) {
      bool single = row >= p->blocks * TILE_CO;
      int64_t src_row = single ? p->full_rows + (row - p->blocks * TILE_CO) : row;
      T *d = single ? gd + p->blocks * TILE_CO * K + (row - p->blocks * TILE_CO) * K
                    : gd + (row / TILE_CO) * TILE_CO * K + row % TILE_CO;
      int64_t step = single ? 1 : TILE_CO;
      if (src_row >= rows) {
        for (int64_t k = 0; k < K; k++) d[k * step] = 0;
        continue;
      }
      /* tap k = c * kk + pos, walked without dividing (two divisions an element took 5% of a forward pass) */
      for (int64_t c = 0, k = 0; c < chans; c++)
        for (int64_t pos = 0; pos < kk; pos++, k++)
          d[k * step] = transposed ? w[((g * chans + c) * rows + src_row) * kk + (kk - 1 - pos)]
                                   : w[((g * rows + src_row) * chans + c) * kk + pos];
    }
  }
}

/* TILE_CO output channels x TILE_P positions: buf[c][i] = sum_k wp[k][c] * x[off[k] + i]. */
static void FN(tile_rows)(int64_t K, const T *restrict wp, const T *restrict x, const int64_t *restrict off,
                          T *restrict buf) {
  V acc[TILE_CO][TILE_PV];
  for (int c = 0; c < TILE_CO; c++)
    for (int v = 0; v < TILE_PV; v++) acc[c][v] = (V){0};
  for (int64_t k = 0; k < K; k++) {
    const T *b = x + off[k];
    V bv[TILE_PV];
    for (int v = 0; v < TILE_PV; v++) bv[v] = *(const VU *)(b + v * VL);
    const T *a = wp + k * TILE_CO;
    for (int c = 0; c < TILE_CO; c++) {
      T s = a[c];
      for (int v = 0; v < TILE_PV; v++) acc[c][v] += s * bv[v];
    }
  }
  for (int c = 0; c < TILE_CO; c++)
    for (int v = 0; v < TILE_PV; v++) *(VU *)(buf + c * TILE_PV * VL + v * VL) = acc[c][v];
}

/* One output channel x TILE_P positions (the rows left over by the blocks). */
static void FN(tile_row)(int64_t K, const T *restrict wp, const T *restrict x, const int64_t *restrict off,
                         T *restrict buf) {
  V acc[TILE_PV];
  for (int v = 0; v < TILE_PV; v++) acc[v] = (V){0};
  for (int64_t k = 0; k < K; k++) {
    const T *b = x + off[k];
    T s = wp[k];
    for (int v = 0; v < TILE_PV; v++) acc[v] += s * *(const VU *)(b + v * VL);
  }
  for (int v = 0; v < TILE_PV; v++) *(VU *)(buf + v * VL) = acc[v];
}

/* Writes rows of a tile (positions g0 .. g0+TILE_P of the folded grid) into output planes (image img's
 * channel r at out[(img * out_image) + r * out_plane]), dropping the grid's extra rows and columns and adding
 * the bias. */
static void FN(store_tile)(T *out, int64_t out_image, int64_t out_plane, const T *buf, int rows, const T *bias,
                           int64_t g0, const direct_plan *p) {
  const int64_t tile_p = TILE_PV * VL;
  int64_t end = g0 + tile_p < p->total ? g0 + tile_p : p->total;
  for (int64_t pos = g0; pos < end;) {
    int64_t img = pos / p->plane, at = pos % p->plane, oh = at / p->wq, ow = at % p->wq;
    int64_t seg = p->wq - ow < end - pos ? p->wq - ow : end - pos;
    if (oh < p->oh && ow < p->ow) {
      int64_t cnt = seg < p->ow - ow ? seg : p->ow - ow;
      for (int r = 0; r < rows; r++) {
        T *d = out + img * out_image + r * out_plane + oh * p->ow + ow;
        const T *s = buf + r * tile_p + (pos - g0);
        T b = bias ? bias[r] : 0;
        for (int64_t j = 0; j < cnt; j++) d[j] = s[j] + b;
      }
    }
    pos += seg;
  }
}

/* out [n x groups*cout_g x oh x ow] = the convolution of the laid-out images with the packed weights. */
static void FN(direct_run)(T *out, const T *xs, const T *wpack, const T *bias, const int64_t *off,
                           const direct_plan *p) {
  const int64_t tile_p = TILE_PV * VL;
  int64_t K = p->cin_g * p->kh * p->kw, tiles = p->total_r / tile_p, units = p->blocks + p->singles;
  int64_t total = p->groups * tiles * units, out_plane = p->oh * p->ow, out_image = p->groups * p->cout_g * out_plane;
  int threads = tn_nn_threads(total * K * tile_p * TILE_CO, 1 << 21);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t i = 0; i < total; i++) {
    T buf[TILE_CO * TILE_PV * VL] __attribute__((aligned(64)));
    int64_t u = i % units, tile = (i / units) % tiles, g = i / (units * tiles);
    const T *x = xs + g * p->group_stride + tile * tile_p;
    const T *wg = wpack + g * p->wpack_group;
    int64_t row0;
    int rows;
    if (u < p->blocks) {
      FN(tile_rows)(K, wg + u * TILE_CO * K, x, off, buf);
      row0 = u * TILE_CO;
      rows = (int)(p->cout_g - row0 < TILE_CO ? p->cout_g - row0 : TILE_CO);
    } else {
      FN(tile_row)(K, wg + p->blocks * TILE_CO * K + (u - p->blocks) * K, x, off, buf);
      row0 = p->full_rows + (u - p->blocks);
      rows = 1;
    }
    int64_t channel = g * p->cout_g + row0;
    FN(store_tile)(out + channel * out_plane, out_image, out_plane, buf, rows, bias ? bias + channel : NULL,
                   tile * tile_p, p);
  }
}

/* The convolution through the direct kernel: forward (transposed 0) or the gradient of the input of a
 * stride-1 convolution (transposed 1: x is the output gradient, w read transposed and flipped). */
static int FN(direct_conv)(T *out, const T *x, const T *w, const T *bias, const direct_plan *p, int transposed,
                           const char *fn) {
  int64_t K = p->cin_g * p->kh * p->kw;
  T *xs = tn_nn_scratch(fn, (int64_t)sizeof(T) * p->buffer);
  T *wpack = xs ? tn_nn_scratch(fn, (int64_t)sizeof(T) * p->groups * p->wpack_group) : NULL;
  int64_t *off = wpack ? tn_nn_scratch(fn, (int64_t)sizeof(int64_t) * K) : NULL;
  if (!off) {
    tn_nn_scratch_free(xs);
    tn_nn_scratch_free(wpack);
    return -1;
  }
  FN(split_images)(xs, x, p->groups * p->cin_g, p);
  FN(pack_weights)(wpack, w, p, transposed);
  direct_offsets(off, p);
  FN(direct_run)(out, xs, wpack, bias, off, p);
  tn_nn_scratch_free(off);
  tn_nn_scratch_free(wpack);
  tn_nn_scratch_free(xs);
  return 0;
}

/* Weight-gradient tile: out[c][k] += sum over np positions (a multiple of VL) of g[c][i] * x[off[k] + i], for
 * WGT_CO gradient rows g[c] and WGT_KT taps; vectors run along the positions and are summed at the end. */
static void FN(wgrad_tile)(int64_t np, const T *const *restrict g, const T *restrict x, const int64_t *restrict off,
                           T *restrict out, int64_t ldo) {
  V acc[WGT_CO][WGT_KT];
  for (int c = 0; c < WGT_CO; c++)
    for (int k = 0; k < WGT_KT; k++) acc[c][k] = (V){0};
  const T *xr[WGT_KT];
  for (int k = 0; k < WGT_KT; k++) xr[k] = x + off[k];
  for (int64_t i = 0; i < np; i += VL) {
    V gv[WGT_CO];
    for (int c = 0; c < WGT_CO; c++) gv[c] = *(const VU *)(g[c] + i);
    for (int k = 0; k < WGT_KT; k++) {
      V xv = *(const VU *)(xr[k] + i);
      for (int c = 0; c < WGT_CO; c++) acc[c][k] += gv[c] * xv;
    }
  }
  for (int c = 0; c < WGT_CO; c++)
    for (int k = 0; k < WGT_KT; k++) {
      T s = 0;
      for (int l = 0; l < VL; l++) s += acc[c][k][l];
      out[c * ldo + k] += s;
    }
}

/* gbuf [cout_g rows, ld apart (ld >= np + VL)] = the output gradient of group g's channels at the folded grid's
 * positions p0 .. p0+np (zeros off the output), a grid row segment at a time. Rows of up to VL values go as one
 * vector, whose extra lanes land on positions written next (or in the row's slack). */
static void FN(gather_grid)(T *gbuf, int64_t ld, const T *grad_out, int64_t g, int64_t p0, int64_t np,
                            const direct_plan *p) {
  int64_t out_plane = p->oh * p->ow, channels = p->groups * p->cout_g;
  const T *end = grad_out + p->n * channels * out_plane;
  for (int64_t pos = p0; pos < p0 + np;) {
    int64_t img = pos / p->plane, at = pos % p->plane, r = at / p->wq, col = at % p->wq;
    int64_t seg = p->wq - col < p0 + np - pos ? p->wq - col : p0 + np - pos;
    int64_t copy = img < p->n && r < p->oh && col < p->ow ? (p->ow - col < seg ? p->ow - col : seg) : 0;
    const T *src = grad_out + (img * channels + g * p->cout_g) * out_plane + r * p->ow + col;
    T *dst = gbuf + (pos - p0);
    if (copy > 0 && copy <= VL && src + (p->cout_g - 1) * out_plane + VL <= end) {
      for (int64_t c = 0; c < p->cout_g; c++) {
        T *d = dst + c * ld;
        *(VU *)d = *(const VU *)(src + c * out_plane);
        for (int64_t j = copy; j < seg; j++) d[j] = 0;
      }
    } else {
      for (int64_t c = 0; c < p->cout_g; c++) {
        T *d = dst + c * ld;
        const T *sc = src + c * out_plane;
        for (int64_t j = 0; j < copy; j++) d[j] = sc[j];
        for (int64_t j = copy; j < seg; j++) d[j] = 0;
      }
    }
    pos += seg;
  }
}

/* grad_w [groups*cout_g x cin_g x kh x kw] (and grad_b, or NULL) through the direct layout. Each thread takes
 * chunks of the folded grid's positions: it copies the output gradient there into a buffer (in cache for
 * what follows), adds the buffer's rows to its bias sums, and accumulates tap rows times gradient rows into
 * its [groups x cout_r x k_r] sums, tile by tile; the threads' sums are added at the end. */
static int FN(direct_wgrad)(T *grad_w, T *grad_b, const T *grad_out, const T *x, const direct_plan *p,
                            const char *fn) {
  int64_t K = p->cin_g * p->kh * p->kw, k_r = (K + WGT_KT - 1) / WGT_KT * WGT_KT;
  int64_t cout_r = (p->cout_g + WGT_CO - 1) / WGT_CO * WGT_CO, channels = p->groups * p->cout_g;
  /* chunks of up to 2048 positions (fewer horizontal sums per tile), at least four per thread */
  int64_t total_v = (p->total + VL - 1) / VL * VL, chunk = total_v / (4 * omp_get_max_threads());
  chunk = chunk < 256 ? 256 : chunk > 2048 ? 2048 : chunk / VL * VL;
  int64_t chunks = (total_v + chunk - 1) / chunk, units = p->groups * chunks;
  int64_t ld = chunk + VL, acc_size = p->groups * cout_r * k_r, buf_size = (cout_r + 1) * ld + channels;
  int threads = tn_nn_threads(p->total * K * p->groups * p->cout_g, 1 << 21);
  if (threads > units) threads = (int)units;
  if (threads < 1) threads = 1;

  T *xs = tn_nn_scratch(fn, (int64_t)sizeof(T) * p->buffer);
  T *acc = xs ? tn_nn_scratch(fn, (int64_t)sizeof(T) * acc_size * threads) : NULL;
  T *bufs = acc ? tn_nn_scratch(fn, (int64_t)sizeof(T) * buf_size * threads) : NULL;
  int64_t *off = bufs ? tn_nn_scratch(fn, (int64_t)sizeof(int64_t) * k_r) : NULL;
  if (!off) {
    tn_nn_scratch_free(xs);
    tn_nn_scratch_free(acc);
    tn_nn_scratch_free(bufs);
    return -1;
  }
  FN(split_images)(xs, x, p->groups * p->cin_g, p);
  direct_offsets(off, p);
  for (int64_t k = K; k < k_r; k++) off[k] = 0; /* padding taps read position 0 and are dropped */
  memset(acc, 0, sizeof(T) * (size_t)(acc_size * threads));

#pragma omp parallel num_threads(threads)
  {
    int t = omp_get_thread_num(), nt = omp_get_num_threads();
    T *mine = acc + t * acc_size;
    /* the thread's buffer: cout_g gradient rows, then a row of zeros (tile rows past the channels), then bias sums */
    T *gbuf = bufs + t * buf_size, *zeros = gbuf + cout_r * ld, *bias = zeros + ld;
    memset(zeros, 0, sizeof(T) * (size_t)(ld + channels));
    for (int64_t u = units * t / nt; u < units * (t + 1) / nt; u++) {
      int64_t g = u / chunks, p0 = (u % chunks) * chunk;
      int64_t np = total_v - p0 < chunk ? total_v - p0 : chunk;
      FN(gather_grid)(gbuf, ld, grad_out, g, p0, np, p);
      if (grad_b)
        for (int64_t c = 0; c < p->cout_g; c++) bias[g * p->cout_g + c] += FN(row_sum)(gbuf + c * ld, np);
      const T *xg = xs + g * p->group_stride + p0;
      T *ag = mine + g * cout_r * k_r;
      for (int64_t c0 = 0; c0 < cout_r; c0 += WGT_CO) {
        const T *rows[WGT_CO];
        for (int c = 0; c < WGT_CO; c++) rows[c] = c0 + c < p->cout_g ? gbuf + (c0 + c) * ld : zeros;
        for (int64_t k0 = 0; k0 < k_r; k0 += WGT_KT)
          FN(wgrad_tile)(np, rows, xg, off + k0, ag + c0 * k_r + k0, k_r);
      }
    }
  }
  /* grad_w[g*cout_g + c][k] = the sum over threads of acc[g][c][k]; grad_b likewise */
  for (int64_t g = 0; g < p->groups; g++)
    for (int64_t c = 0; c < p->cout_g; c++)
      for (int64_t k = 0; k < K; k++) {
        T s = 0;
        for (int t = 0; t < threads; t++) s += acc[t * acc_size + (g * cout_r + c) * k_r + k];
        grad_w[(g * p->cout_g + c) * K + k] = s;
      }
  if (grad_b)
    for (int64_t c = 0; c < channels; c++) {
      T s = 0;
      for (int t = 0; t < threads; t++) s += bufs[t * buf_size + (cout_r + 1) * ld + c];
      grad_b[c] = s;
    }
  tn_nn_scratch_free(off);
  tn_nn_scratch_free(bufs);
  tn_nn_scratch_free(acc);
  tn_nn_scratch_free(xs);
  return 0;
}

/* ---- im2col + GEMM (any stride; every 3-d convolution) ----
 * Images go through in chunks whose patch matrix fits GEMM_BUDGET bytes: one GEMM per group and chunk,
 * whose columns are the chunk's output positions image after image, so small images still make one large
 * product. */

/* The images per chunk for a patch matrix of rows x len per image. */
static int64_t FN(gemm_chunk)(int64_t n, int64_t rows, int64_t len) {
  int64_t per_image = rows * len * (int64_t)sizeof(T), c = GEMM_BUDGET / (per_image > 0 ? per_image : 1);
  return c < 1 ? 1 : c > n ? n : c;
}

/* cols [c_in_g*kd*kh*kw x count*od*oh*ow] = the input patches of `count` images' group (image j's channels at
 * x + j * image_stride, each [d x h x w]): row (c, t, a, b) holds, image after image, the input element each
 * output position reads through kernel tap (t, a, b) of channel c. A 2-d convolution is the case d = kd = od
 * = 1 (one slice, read at depth 0). */
static void FN(im2col)(T *cols, const T *x, int64_t count, int64_t image_stride, const tn_conv_geom *g,
                       int64_t chans) {
  int64_t kk = g->kd * g->kh * g->kw, khw = g->kh * g->kw, rows = chans * kk, plane = g->oh * g->ow;
  int64_t len = g->od * plane, in_plane = g->h * g->w, sw = g->sw;
  int threads = tn_nn_threads(rows * len * count, 1 << 15);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    int64_t c = r / kk, t = (r % kk) / khw, a = (r % khw) / g->kw, b = r % g->kw;
    /* the output columns whose input column lies inside: ow in [lo, hi) */
    int64_t col0 = b * g->dw - g->pl;
    int64_t lo = col0 >= 0 ? 0 : (-col0 + sw - 1) / sw;
    int64_t hi = g->w - col0 <= 0 ? 0 : (g->w - col0 + sw - 1) / sw;
    if (hi > g->ow) hi = g->ow;
    if (lo > hi) lo = hi;
    for (int64_t img = 0; img < count; img++)
      for (int64_t od = 0; od < g->od; od++) {
        int64_t id = od * g->sd - g->pf + t * g->dd;
        T *d = cols + (r * count + img) * len + od * plane;
        if (id < 0 || id >= g->d) {
          for (int64_t p = 0; p < plane; p++) d[p] = 0;
          continue;
        }
        const T *slice = x + img * image_stride + (c * g->d + id) * in_plane;
        for (int64_t oh = 0; oh < g->oh; oh++) {
          int64_t ih = oh * g->sh - g->pt + a * g->dh;
          T *dr = d + oh * g->ow;
          if (ih < 0 || ih >= g->h) {
            for (int64_t ow = 0; ow < g->ow; ow++) dr[ow] = 0;
            continue;
          }
          const T *sr = slice + ih * g->w;
          for (int64_t ow = 0; ow < lo; ow++) dr[ow] = 0;
          if (sw == 1)
            for (int64_t ow = lo; ow < hi; ow++) dr[ow] = sr[ow + col0];
          else
            for (int64_t ow = lo; ow < hi; ow++) dr[ow] = sr[ow * sw + col0];
          for (int64_t ow = hi; ow < g->ow; ow++) dr[ow] = 0;
        }
      }
  }
}

/* x [c_in_g x d x h x w] += the patches of cols [c_in_g*kd*kh*kw x ld] (the adjoint of im2col); channels in
 * parallel. */
static void FN(col2im)(T *x, const T *cols, int64_t ld, const tn_conv_geom *g, int64_t chans) {
  int64_t kk = g->kd * g->kh * g->kw, khw = g->kh * g->kw, plane = g->oh * g->ow, in_plane = g->h * g->w;
  int threads = tn_nn_threads(chans * kk * g->od * plane, 1 << 15);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t c = 0; c < chans; c++) {
    for (int64_t r = c * kk; r < (c + 1) * kk; r++) {
      int64_t t = (r % kk) / khw, a = (r % khw) / g->kw, b = r % g->kw;
      int64_t col0 = b * g->dw - g->pl;
      int64_t lo = col0 >= 0 ? 0 : (-col0 + g->sw - 1) / g->sw;
      int64_t hi = g->w - col0 <= 0 ? 0 : (g->w - col0 + g->sw - 1) / g->sw;
      if (hi > g->ow) hi = g->ow;
      for (int64_t od = 0; od < g->od; od++) {
        int64_t id = od * g->sd - g->pf + t * g->dd;
        if (id < 0 || id >= g->d) continue;
        T *slice = x + (c * g->d + id) * in_plane;
        const T *s = cols + r * ld + od * plane;
        for (int64_t oh = 0; oh < g->oh; oh++) {
          int64_t ih = oh * g->sh - g->pt + a * g->dh;
          if (ih < 0 || ih >= g->h) continue;
          T *dr = slice + ih * g->w;
          const T *sr = s + oh * g->ow;
          for (int64_t ow = lo; ow < hi; ow++) dr[ow * g->sw + col0] += sr[ow];
        }
      }
    }
  }
}

/* Copies rows of `count` images between [count x channels x len] (a tensor's layout, rows `stride` channels
 * apart per image) and [channels x count*len] (a GEMM operand); to_gemm picks the direction. */
static void FN(regroup)(T *gemm, const T *tensor_in, T *tensor_out, int64_t count, int64_t channels, int64_t stride,
                        int64_t len, int to_gemm) {
  int threads = tn_nn_threads(count * channels * len, 1 << 16);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t r = 0; r < count * channels; r++) {
    int64_t img = r / channels, c = r % channels;
    T *gm = gemm + c * count * len + img * len;
    if (to_gemm)
      memcpy(gm, tensor_in + (img * stride + c) * len, sizeof(T) * (size_t)len);
    else
      memcpy(tensor_out + (img * stride + c) * len, gm, sizeof(T) * (size_t)len);
  }
}

static int FN(gemm_forward)(T *out, const T *x, const T *w, const T *bias, const tn_conv_geom *g) {
  int64_t cin_g = g->c_in / g->groups, cout_g = g->c_out / g->groups, K = cin_g * g->kd * g->kh * g->kw;
  int64_t len = g->od * g->oh * g->ow, in_vol = g->d * g->h * g->w;
  int64_t chunk = FN(gemm_chunk)(g->n, K, len), ld = chunk * len;
  T *cols = tn_nn_scratch("conv", (int64_t)sizeof(T) * K * ld);
  T *tmp = cols && chunk > 1 ? tn_nn_scratch("conv", (int64_t)sizeof(T) * cout_g * ld) : NULL;
  if (!cols || (chunk > 1 && !tmp)) {
    tn_nn_scratch_free(cols);
    return -1;
  }
  for (int64_t i0 = 0; i0 < g->n; i0 += chunk) {
    int64_t count = g->n - i0 < chunk ? g->n - i0 : chunk, cl = count * len;
    for (int64_t grp = 0; grp < g->groups; grp++) {
      FN(im2col)(cols, x + (i0 * g->c_in + grp * cin_g) * in_vol, count, g->c_in * in_vol, g, cin_g);
      T *o = out + (i0 * g->c_out + grp * cout_g) * len;
      T *dst = count > 1 ? tmp : o; /* one image: straight into the output */
      GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)cout_g, (int)cl, (int)K, 1, w + grp * cout_g * K, (int)K,
           cols, (int)cl, 0, dst, (int)cl);
      if (count > 1) FN(regroup)(tmp, NULL, o, count, cout_g, g->c_out, len, 0);
      if (bias)
        for (int64_t j = 0; j < count; j++)
          for (int64_t c = 0; c < cout_g; c++) {
            T *row = o + (j * g->c_out + c) * len, bv = bias[grp * cout_g + c];
            for (int64_t p = 0; p < len; p++) row[p] += bv;
          }
    }
  }
  tn_nn_scratch_free(tmp);
  tn_nn_scratch_free(cols);
  return 0;
}

static int FN(gemm_backward_input)(T *grad_x, const T *grad_out, const T *w, const tn_conv_geom *g) {
  int64_t cin_g = g->c_in / g->groups, cout_g = g->c_out / g->groups, K = cin_g * g->kd * g->kh * g->kw;
  int64_t len = g->od * g->oh * g->ow, in_vol = g->d * g->h * g->w;
  int64_t chunk = FN(gemm_chunk)(g->n, K, len), ld = chunk * len;
  T *cols = tn_nn_scratch("conv_backward", (int64_t)sizeof(T) * K * ld);
  T *tmp = cols && chunk > 1 ? tn_nn_scratch("conv_backward", (int64_t)sizeof(T) * cout_g * ld) : NULL;
  if (!cols || (chunk > 1 && !tmp)) {
    tn_nn_scratch_free(cols);
    return -1;
  }
  memset(grad_x, 0, sizeof(T) * (size_t)(g->n * g->c_in * in_vol));
  for (int64_t i0 = 0; i0 < g->n; i0 += chunk) {
    int64_t count = g->n - i0 < chunk ? g->n - i0 : chunk, cl = count * len;
    for (int64_t grp = 0; grp < g->groups; grp++) {
      const T *go = grad_out + (i0 * g->c_out + grp * cout_g) * len;
      if (count > 1) FN(regroup)(tmp, go, NULL, count, cout_g, g->c_out, len, 1);
      GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)K, (int)cl, (int)cout_g, 1, w + grp * cout_g * K, (int)K,
           count > 1 ? tmp : go, (int)cl, 0, cols, (int)cl);
      for (int64_t j = 0; j < count; j++)
        FN(col2im)(grad_x + ((i0 + j) * g->c_in + grp * cin_g) * in_vol, cols + j * len, cl, g, cin_g);
    }
  }
  tn_nn_scratch_free(tmp);
  tn_nn_scratch_free(cols);
  return 0;
}

static int FN(gemm_backward_weight)(T *grad_w, const T *grad_out, const T *x, const tn_conv_geom *g) {
  int64_t cin_g = g->c_in / g->groups, cout_g = g->c_out / g->groups, K = cin_g * g->kd * g->kh * g->kw;
  int64_t len = g->od * g->oh * g->ow, in_vol = g->d * g->h * g->w;
  int64_t chunk = FN(gemm_chunk)(g->n, K, len), ld = chunk * len;
  T *cols = tn_nn_scratch("conv_backward", (int64_t)sizeof(T) * K * ld);
  T *tmp = cols && chunk > 1 ? tn_nn_scratch("conv_backward", (int64_t)sizeof(T) * cout_g * ld) : NULL;
  if (!cols || (chunk > 1 && !tmp)) {
    tn_nn_scratch_free(cols);
    return -1;
  }
  if (g->n == 0) memset(grad_w, 0, sizeof(T) * (size_t)(g->c_out * K));
  for (int64_t i0 = 0; i0 < g->n; i0 += chunk) {
    int64_t count = g->n - i0 < chunk ? g->n - i0 : chunk, cl = count * len;
    for (int64_t grp = 0; grp < g->groups; grp++) {
      FN(im2col)(cols, x + (i0 * g->c_in + grp * cin_g) * in_vol, count, g->c_in * in_vol, g, cin_g);
      const T *go = grad_out + (i0 * g->c_out + grp * cout_g) * len;
      if (count > 1) FN(regroup)(tmp, go, NULL, count, cout_g, g->c_out, len, 1);
      GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)cout_g, (int)K, (int)cl, 1, count > 1 ? tmp : go, (int)cl,
           cols, (int)cl, i0 > 0 ? 1 : 0, grad_w + grp * cout_g * K, (int)K);
    }
  }
  tn_nn_scratch_free(tmp);
  tn_nn_scratch_free(cols);
  return 0;
}

/* grad_b[c] = the sum of grad_out over images and positions of channel c */
static void FN(bias_grad)(T *grad_b, const T *grad_out, const tn_conv_geom *g) {
  int64_t len = g->od * g->oh * g->ow;
  int threads = tn_nn_threads(g->n * g->c_out * len, 1 << 16);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t c = 0; c < g->c_out; c++) {
    double s = 0;
    for (int64_t img = 0; img < g->n; img++) {
      const T *r = grad_out + (img * g->c_out + c) * len;
      T part = 0;
#pragma omp simd reduction(+ : part)
      for (int64_t j = 0; j < len; j++) part += r[j];
      s += part;
    }
    grad_b[c] = (T)s;
  }
}

/* ---- entry points of this type ---- */

static int FN(conv_forward)(T *out, const T *x, const T *w, const T *bias, const tn_conv_geom *g) {
  direct_plan p;
  if (direct_forward_plan(&p, g, VL)) return FN(direct_conv)(out, x, w, bias, &p, 0, "conv");
  return FN(gemm_forward)(out, x, w, bias, g);
}

static int FN(conv_backward_input)(T *grad_x, const T *grad_out, const T *w, const tn_conv_geom *g) {
  direct_plan p;
  if (direct_backward_input_plan(&p, g, VL))
    return FN(direct_conv)(grad_x, grad_out, w, NULL, &p, 1, "conv_backward");
  return FN(gemm_backward_input)(grad_x, grad_out, w, g);
}

static int FN(conv_backward_weight)(T *grad_w, T *grad_b, const T *grad_out, const T *x, const tn_conv_geom *g) {
  direct_plan p;
  if (grad_w && direct_forward_plan(&p, g, VL))
    return FN(direct_wgrad)(grad_w, grad_b, grad_out, x, &p, "conv_backward");
  if (grad_b) FN(bias_grad)(grad_b, grad_out, g);
  return grad_w ? FN(gemm_backward_weight)(grad_w, grad_out, x, g) : 0;
}
