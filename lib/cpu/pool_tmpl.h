/* pool_tmpl.h: the pooling kernels for one float type, included by pool.c with T (the element type), V / VU
 * (its aligned / unaligned vector), VL (lanes), VI (lane indices) and FN(name) (name with the type's suffix). Work is split over (plane, output row) pairs; planes are
 * independent, so the backward kernels, which add into the input plane, split over planes only. */

/* The window of output column ow scanned for the maximum of rows h0 .. h1 (PyTorch's rule: the first maximum
 * wins, a NaN always takes over, so the last NaN wins; a window of -inf reports its first element). */
static inline void FN(max_window)(T *o, int64_t *ix, const T *xp, const tn_pool_geom *g, int64_t h0, int64_t h1,
                                  int64_t ow, int64_t base) {
  int64_t w0 = ow * g->sw - g->pw, w1 = w0 + (g->kw - 1) * g->dw + 1;
  if (w1 > g->w) w1 = g->w;
  while (w0 < 0) w0 += g->dw;
  int64_t best = h0 * g->w + w0;
  T v = -INFINITY;
  for (int64_t ih = h0; ih < h1; ih += g->dh)
    for (int64_t iw = w0; iw < w1; iw += g->dw) {
      T e = xp[ih * g->w + iw];
      if (e > v || e != e) {
        v = e;
        best = ih * g->w + iw;
      }
    }
  *o = v;
  *ix = best + base;
}

static inline V FN(select)(VI m, V a, V b) { return (V)((m & (VI)a) | (~m & (VI)b)); }

/* Output columns ow .. ow+nl (nl <= VL; dilation 1, stride 1 or 2), a lane each: the same scan as max_window.
 * src holds the window rows (ld apart) with the first window's first column at src[sc0]; idx0 is that element's
 * position in the input plane. Every column a lane reads must be readable (the caller stages rows near the end
 * of the plane, padding them with -inf, which never wins). */
static inline void FN(max_window_vec)(T *o, int64_t *ix, const T *src, int64_t ld, int64_t sc0, int64_t rows,
                                      int64_t idx0, const tn_pool_geom *g, int64_t base, int nl) {
  VI lane, even;
  for (int l = 0; l < VL; l++) lane[l] = l * (int)g->sw, even[l] = 2 * l;
  typedef __typeof__(lane[0]) lane_t;
  V best = (V){0} - INFINITY;
  VI where = lane + (lane_t)idx0;
  for (int64_t r = 0; r < rows; r++)
    for (int64_t b = 0; b < g->kw; b++) {
      const T *p = src + r * ld + sc0 + b;
      V v = g->sw == 1 ? *(const VU *)p : __builtin_shuffle(*(const VU *)p, *(const VU *)(p + VL), even);
      VI m = (VI)(v > best) | (VI)(v != v);
      best = FN(select)(m, v, best);
      where = (m & (lane + (lane_t)(idx0 + r * g->w + b))) | (~m & where);
    }
  if (nl == VL)
    *(VU *)o = best;
  else
    for (int l = 0; l < nl; l++) o[l] = best[l];
  for (int l = 0; l < nl; l++) ix[l] = (int64_t)where[l] + base;
}

static void FN(max_pool)(T *out, int64_t *indices, const T *x, const tn_pool_geom *g, int64_t base) {
  int64_t rows = g->planes * g->oh;
  /* vectors for dilation 1 and stride 1 or 2; straight from the input for the columns whose windows (and, with
   * stride 2, the vector's last odd lane) lie inside the row, through a staging buffer for the rest on the
   * right; windows reaching into the left padding go one by one */
  bool vec = g->dh == 1 && g->dw == 1 && (g->sw == 1 || g->sw == 2) && g->h * g->w < INT32_MAX && g->kh <= 64;
  int64_t vlo = (g->pw + g->sw - 1) / g->sw, reach = g->w - g->kw - (g->sw - 1) + g->pw;
  int64_t vhi = reach < 0 ? 0 : reach / g->sw + 1;
  if (vhi > g->ow) vhi = g->ow;
  if (vhi < vlo) vhi = vlo;
  if (vlo > g->ow) vlo = g->ow;
  int64_t vend = vlo + (vhi - vlo) / VL * VL, stage_w = g->kw + 2 * VL;
  int threads = tn_nn_threads(rows * g->ow * g->kh * g->kw, 1 << 15);
#pragma omp parallel num_threads(threads)
  {
    T *stage = vec ? tn_nn_scratch("max_pool2d", (int64_t)sizeof(T) * (g->kh * stage_w + VL)) : NULL;
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
      int64_t plane = r / g->oh, oh = r % g->oh;
      const T *xp = x + plane * g->h * g->w;
      T *o = out + r * g->ow;
      int64_t *ix = indices + r * g->ow;
      int64_t h0 = oh * g->sh - g->ph, h1 = h0 + (g->kh - 1) * g->dh + 1;
      if (h1 > g->h) h1 = g->h;
      while (h0 < 0) h0 += g->dh;
      int64_t ow = 0;
      if (!vec || !stage) {
        for (; ow < g->ow; ow++) FN(max_window)(o + ow, ix + ow, xp, g, h0, h1, ow, base);
        continue;
      }
      for (; ow < vlo; ow++) FN(max_window)(o + ow, ix + ow, xp, g, h0, h1, ow, base);
      for (; ow < vend; ow += VL) {
        int64_t col0 = ow * g->sw - g->pw;
        FN(max_window_vec)(o + ow, ix + ow, xp + h0 * g->w, g->w, col0, h1 - h0, h0 * g->w + col0, g, base, VL);
      }
      for (; ow < g->ow; ow += VL) {
        int nl = (int)(g->ow - ow < VL ? g->ow - ow : VL);
        int64_t col0 = ow * g->sw - g->pw;
        for (int64_t ih = h0; ih < h1; ih++)
          for (int64_t c = 0; c < stage_w; c++)
            stage[(ih - h0) * stage_w + c] = col0 + c < g->w ? xp[ih * g->w + col0 + c] : -INFINITY;
        FN(max_window_vec)(o + ow, ix + ow, stage, stage_w, 0, h1 - h0, h0 * g->w + col0, g, base, nl);
      }
    }
    tn_nn_scratch_free(stage);
  }
}

/* grad_x = zeros; grad_x[index] += grad_out, plane by plane (also the backward of adaptive max pooling).
 * Returns the first index outside the plane (plus one, so 0 means none) of a plane that has one. */
static int64_t FN(max_pool_backward)(T *grad_x, const T *grad_out, const int64_t *indices, const tn_pool_geom *g,
                                     int64_t base) {
  int64_t in_plane = g->h * g->w, out_plane = g->oh * g->ow, bad = 0;
  int threads = tn_nn_threads(g->planes * (in_plane + out_plane), 1 << 15);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t p = 0; p < g->planes; p++) {
    T *gx = grad_x + p * in_plane;
    const T *go = grad_out + p * out_plane;
    const int64_t *ix = indices + p * out_plane;
    memset(gx, 0, sizeof(T) * (size_t)in_plane);
    for (int64_t i = 0; i < out_plane; i++) {
      uint64_t at = (uint64_t)(ix[i] - base);
      if (at >= (uint64_t)in_plane) {
        __atomic_store_n(&bad, p * out_plane + i + 1, __ATOMIC_RELAXED);
        break;
      }
      gx[at] += go[i];
    }
  }
  return bad;
}

/* The window of output (oh, ow) for average pooling, clipped to the input, and its divisor. */
static inline T FN(avg_window)(const tn_pool_geom *g, int64_t oh, int64_t ow, int64_t *h0, int64_t *h1, int64_t *w0,
                               int64_t *w1) {
  int64_t hs = oh * g->sh - g->ph, ws = ow * g->sw - g->pw;
  int64_t he = hs + g->kh < g->h + g->ph ? hs + g->kh : g->h + g->ph;
  int64_t we = ws + g->kw < g->w + g->pw ? ws + g->kw : g->w + g->pw;
  int64_t padded = (he - hs) * (we - ws);
  hs = hs < 0 ? 0 : hs;
  ws = ws < 0 ? 0 : ws;
  he = he < g->h ? he : g->h;
  we = we < g->w ? we : g->w;
  *h0 = hs;
  *h1 = he;
  *w0 = ws;
  *w1 = we;
  if (g->divisor) return (T)g->divisor;
  return (T)(g->count_include_pad ? padded : (he - hs) * (we - ws));
}

static void FN(avg_pool)(T *out, const T *x, const tn_pool_geom *g) {
  int64_t rows = g->planes * g->oh;
  int threads = tn_nn_threads(rows * g->ow * g->kh * g->kw, 1 << 15);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    int64_t plane = r / g->oh, oh = r % g->oh;
    const T *xp = x + plane * g->h * g->w;
    for (int64_t ow = 0; ow < g->ow; ow++) {
      int64_t h0, h1, w0, w1;
      T div = FN(avg_window)(g, oh, ow, &h0, &h1, &w0, &w1);
      T s = 0;
      for (int64_t ih = h0; ih < h1; ih++)
        for (int64_t iw = w0; iw < w1; iw++) s += xp[ih * g->w + iw];
      out[r * g->ow + ow] = h0 < h1 && w0 < w1 ? s / div : 0;
    }
  }
}

static void FN(avg_pool_backward)(T *grad_x, const T *grad_out, const tn_pool_geom *g) {
  int64_t in_plane = g->h * g->w, out_plane = g->oh * g->ow;
  int threads = tn_nn_threads(g->planes * (in_plane + out_plane * g->kh * g->kw), 1 << 15);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t p = 0; p < g->planes; p++) {
    T *gx = grad_x + p * in_plane;
    const T *go = grad_out + p * out_plane;
    memset(gx, 0, sizeof(T) * (size_t)in_plane);
    for (int64_t oh = 0; oh < g->oh; oh++)
      for (int64_t ow = 0; ow < g->ow; ow++) {
        int64_t h0, h1, w0, w1;
        T div = FN(avg_window)(g, oh, ow, &h0, &h1, &w0, &w1);
        T v = go[oh * g->ow + ow] / div;
        for (int64_t ih = h0; ih < h1; ih++)
          for (int64_t iw = w0; iw < w1; iw++) gx[ih * g->w + iw] += v;
      }
  }
}

static void FN(adaptive_avg_pool)(T *out, const T *x, const tn_pool_geom *g) {
  int64_t rows = g->planes * g->oh;
  int threads = tn_nn_threads(g->planes * g->h * g->w, 1 << 15);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    int64_t plane = r / g->oh, oh = r % g->oh;
    const T *xp = x + plane * g->h * g->w;
    int64_t h0 = adaptive_start(oh, g->oh, g->h), h1 = adaptive_end(oh, g->oh, g->h);
    for (int64_t ow = 0; ow < g->ow; ow++) {
      int64_t w0 = adaptive_start(ow, g->ow, g->w), w1 = adaptive_end(ow, g->ow, g->w);
      T s = 0;
      for (int64_t ih = h0; ih < h1; ih++)
        for (int64_t iw = w0; iw < w1; iw++) s += xp[ih * g->w + iw];
      out[r * g->ow + ow] = s / (T)((h1 - h0) * (w1 - w0));
    }
  }
}

static void FN(adaptive_avg_pool_backward)(T *grad_x, const T *grad_out, const tn_pool_geom *g) {
  int64_t in_plane = g->h * g->w, out_plane = g->oh * g->ow;
  int threads = tn_nn_threads(g->planes * (in_plane + out_plane), 1 << 15);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t p = 0; p < g->planes; p++) {
    T *gx = grad_x + p * in_plane;
    const T *go = grad_out + p * out_plane;
    memset(gx, 0, sizeof(T) * (size_t)in_plane);
    for (int64_t oh = 0; oh < g->oh; oh++) {
      int64_t h0 = adaptive_start(oh, g->oh, g->h), h1 = adaptive_end(oh, g->oh, g->h);
      for (int64_t ow = 0; ow < g->ow; ow++) {
        int64_t w0 = adaptive_start(ow, g->ow, g->w), w1 = adaptive_end(ow, g->ow, g->w);
        T v = go[oh * g->ow + ow] / (T)((h1 - h0) * (w1 - w0));
        for (int64_t ih = h0; ih < h1; ih++)
          for (int64_t iw = w0; iw < w1; iw++) gx[ih * g->w + iw] += v;
      }
    }
  }
}

static void FN(adaptive_max_pool)(T *out, int64_t *indices, const T *x, const tn_pool_geom *g, int64_t base) {
  int64_t rows = g->planes * g->oh;
  int threads = tn_nn_threads(g->planes * g->h * g->w, 1 << 15);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    int64_t plane = r / g->oh, oh = r % g->oh;
    const T *xp = x + plane * g->h * g->w;
    int64_t h0 = adaptive_start(oh, g->oh, g->h), h1 = adaptive_end(oh, g->oh, g->h);
    for (int64_t ow = 0; ow < g->ow; ow++) {
      int64_t w0 = adaptive_start(ow, g->ow, g->w), w1 = adaptive_end(ow, g->ow, g->w);
      int64_t best = h0 * g->w + w0;
      T v = -INFINITY;
      for (int64_t ih = h0; ih < h1; ih++)
        for (int64_t iw = w0; iw < w1; iw++) {
          T e = xp[ih * g->w + iw];
          if (e > v || e != e) {
            v = e;
            best = ih * g->w + iw;
          }
        }
      out[r * g->ow + ow] = v;
      indices[r * g->ow + ow] = best + base;
    }
  }
}
