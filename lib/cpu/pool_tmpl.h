/* pool_tmpl.h: the pooling kernels for one float type, included by pool.c with T (the element type), V / VU
 * (its aligned / unaligned vector), VL (lanes), VI (lane indices) and FN(name) (name with the type's suffix).
 * A plane is a volume of d x h x w (d = 1 for 2-d pooling). Work is split over (plane, output slice, output row)
 * triples; planes are independent, so the backward kernels, which add into the input plane, split over planes
 * only. */

/* The window of output column ow scanned for the maximum of slices d0 .. d1 and rows h0 .. h1 (PyTorch's rule:
 * the first maximum wins, a NaN always takes over, so the last NaN wins; a window of -inf reports its first
 * element). Positions number the plane's volume, (id * h + ih) * w + iw. */
static inline void FN(max_window)(T *o, int64_t *ix, const T *xp, const tn_pool_geom *g, int64_t d0, int64_t d1,
                                  int64_t h0, int64_t h1, int64_t ow, int64_t base) {
  int64_t w0 = ow * g->sw - g->pw, w1 = w0 + (g->kw - 1) * g->dw + 1, hw = g->h * g->w;
  if (w1 > g->w) w1 = g->w;
  while (w0 < 0) w0 += g->dw;
  int64_t best = d0 * hw + h0 * g->w + w0;
  T v = -INFINITY;
  for (int64_t id = d0; id < d1; id += g->dd)
    for (int64_t ih = h0; ih < h1; ih += g->dh)
      for (int64_t iw = w0; iw < w1; iw += g->dw) {
        int64_t at = id * hw + ih * g->w + iw;
        T e = xp[at];
        if (e > v || e != e) {
          v = e;
          best = at;
        }
      }
  *o = v;
  *ix = best + base;
}

static inline V FN(select)(VI m, V a, V b) { return (V)((m & (VI)a) | (~m & (VI)b)); }

/* Output columns ow .. ow+VL (dilation 1 in rows and columns, stride 1 or 2), a lane each: the scan of
 * max_window over one slice's window rows, folded into best / where (the maximum so far and its position).
 * src holds the window rows (ld apart) with the first window's first column at src[sc0]; idx0 is that element's
 * position in the plane. Every column a lane reads must be readable (the caller stages rows near the end of the
 * plane, padding them with -inf, which never wins). */
static inline void FN(max_rows_vec)(V *best, VI *where, const T *src, int64_t ld, int64_t sc0, int64_t rows,
                                    int64_t idx0, const tn_pool_geom *g) {
  VI lane, even;
  for (int l = 0; l < VL; l++) lane[l] = l * (int)g->sw, even[l] = 2 * l;
  typedef __typeof__(lane[0]) lane_t;
  V b_ = *best;
  VI w_ = *where;
  for (int64_t r = 0; r < rows; r++)
    for (int64_t b = 0; b < g->kw; b++) {
      const T *p = src + r * ld + sc0 + b;
      V v = g->sw == 1 ? *(const VU *)p : __builtin_shuffle(*(const VU *)p, *(const VU *)(p + VL), even);
      VI m = (VI)(v > b_) | (VI)(v != v);
      b_ = FN(select)(m, v, b_);
      w_ = (m & (lane + (lane_t)(idx0 + r * g->w + b))) | (~m & w_);
    }
  *best = b_;
  *where = w_;
}

/* The vector scan's start: -inf in every lane, each lane's position that of its window's first element. */
static inline void FN(max_vec_start)(V *best, VI *where, int64_t idx0, const tn_pool_geom *g) {
  VI lane;
  for (int l = 0; l < VL; l++) lane[l] = l * (int)g->sw;
  typedef __typeof__(lane[0]) lane_t;
  *best = (V){0} - INFINITY;
  *where = lane + (lane_t)idx0;
}

static inline void FN(max_vec_store)(T *o, int64_t *ix, V best, VI where, int64_t base, int nl) {
  if (nl == VL)
    *(VU *)o = best;
  else
    for (int l = 0; l < nl; l++) o[l] = best[l];
  for (int l = 0; l < nl; l++) ix[l] = (int64_t)where[l] + base;
}

static void FN(max_pool)(T *out, int64_t *indices, const T *x, const tn_pool_geom *g, int64_t base) {
  int64_t rows = g->planes * g->od * g->oh, hw = g->h * g->w, vol = g->d * hw;
  /* vectors for dilation 1 (rows and columns) and stride 1 or 2; straight from the input for the columns whose
   * windows (and, with stride 2, the vector's last odd lane) lie inside the row, through a staging buffer for
   * the rest on the right; windows reaching into the left padding go one by one */
  bool vec = g->dh == 1 && g->dw == 1 && (g->sw == 1 || g->sw == 2) && vol < INT32_MAX && g->kh <= 64;
  int64_t vlo = (g->pw + g->sw - 1) / g->sw, reach = g->w - g->kw - (g->sw - 1) + g->pw;
  int64_t vhi = reach < 0 ? 0 : reach / g->sw + 1;
  if (vhi > g->ow) vhi = g->ow;
  if (vhi < vlo) vhi = vlo;
  if (vlo > g->ow) vlo = g->ow;
  int64_t vend = vlo + (vhi - vlo) / VL * VL, stage_w = g->kw + 2 * VL;
  int threads = tn_nn_threads(rows * g->ow * g->kd * g->kh * g->kw, 1 << 15);
#pragma omp parallel num_threads(threads)
  {
    T *stage = vec ? tn_nn_scratch("max_pool", (int64_t)sizeof(T) * (g->kh * stage_w + VL)) : NULL;
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
      int64_t plane = r / (g->od * g->oh), od = (r / g->oh) % g->od, oh = r % g->oh;
      const T *xp = x + plane * vol;
      T *o = out + r * g->ow;
      int64_t *ix = indices + r * g->ow;
      int64_t d0 = od * g->sd - g->pd, d1 = d0 + (g->kd - 1) * g->dd + 1;
      int64_t h0 = oh * g->sh - g->ph, h1 = h0 + (g->kh - 1) * g->dh + 1;
      if (d1 > g->d) d1 = g->d;
      if (h1 > g->h) h1 = g->h;
      while (d0 < 0) d0 += g->dd;
      while (h0 < 0) h0 += g->dh;
      int64_t ow = 0;
      if (!vec || !stage) {
        for (; ow < g->ow; ow++) FN(max_window)(o + ow, ix + ow, xp, g, d0, d1, h0, h1, ow, base);
        continue;
      }
      for (; ow < vlo; ow++) FN(max_window)(o + ow, ix + ow, xp, g, d0, d1, h0, h1, ow, base);
      for (; ow < vend; ow += VL) {
        int64_t col0 = ow * g->sw - g->pw;
        V best;
        VI where;
        FN(max_vec_start)(&best, &where, d0 * hw + h0 * g->w + col0, g);
        for (int64_t id = d0; id < d1; id += g->dd) {
          int64_t first = id * hw + h0 * g->w;
          FN(max_rows_vec)(&best, &where, xp + first, g->w, col0, h1 - h0, first + col0, g);
        }
        FN(max_vec_store)(o + ow, ix + ow, best, where, base, VL);
      }
      for (; ow < g->ow; ow += VL) {
        int nl = (int)(g->ow - ow < VL ? g->ow - ow : VL);
        int64_t col0 = ow * g->sw - g->pw;
        V best;
        VI where;
        FN(max_vec_start)(&best, &where, d0 * hw + h0 * g->w + col0, g);
        for (int64_t id = d0; id < d1; id += g->dd) {
          const T *slice = xp + id * hw;
          for (int64_t ih = h0; ih < h1; ih++)
            for (int64_t c = 0; c < stage_w; c++)
              stage[(ih - h0) * stage_w + c] = col0 + c < g->w ? slice[ih * g->w + col0 + c] : -INFINITY;
          FN(max_rows_vec)(&best, &where, stage, stage_w, 0, h1 - h0, id * hw + h0 * g->w + col0, g);
        }
        FN(max_vec_store)(o + ow, ix + ow, best, where, base, nl);
      }
    }
    tn_nn_scratch_free(stage);
  }
}

/* grad_x = zeros; grad_x[index] += grad_out, plane by plane (also the backward of adaptive max pooling).
 * Returns the first index outside the plane (plus one, so 0 means none) of a plane that has one. */
static int64_t FN(max_pool_backward)(T *grad_x, const T *grad_out, const int64_t *indices, const tn_pool_geom *g,
                                     int64_t base) {
  int64_t in_plane = g->d * g->h * g->w, out_plane = g->od * g->oh * g->ow, bad = 0;
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

/* The window of output (od, oh, ow) for average pooling, clipped to the input (box: d0, d1, h0, h1, w0, w1),
 * and its divisor. */
static inline T FN(avg_window)(const tn_pool_geom *g, int64_t od, int64_t oh, int64_t ow, int64_t *box) {
  int64_t padded = avg_span(od, g->sd, g->pd, g->kd, g->d, box, box + 1) *
                   avg_span(oh, g->sh, g->ph, g->kh, g->h, box + 2, box + 3) *
                   avg_span(ow, g->sw, g->pw, g->kw, g->w, box + 4, box + 5);
  if (g->divisor) return (T)g->divisor;
  return (T)(g->count_include_pad ? padded : (box[1] - box[0]) * (box[3] - box[2]) * (box[5] - box[4]));
}

static void FN(avg_pool)(T *out, const T *x, const tn_pool_geom *g) {
  int64_t rows = g->planes * g->od * g->oh, hw = g->h * g->w;
  int threads = tn_nn_threads(rows * g->ow * g->kd * g->kh * g->kw, 1 << 15);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    int64_t plane = r / (g->od * g->oh), od = (r / g->oh) % g->od, oh = r % g->oh;
    const T *xp = x + plane * g->d * hw;
    for (int64_t ow = 0; ow < g->ow; ow++) {
      int64_t b[6];
      T div = FN(avg_window)(g, od, oh, ow, b);
      T s = 0;
      for (int64_t id = b[0]; id < b[1]; id++)
        for (int64_t ih = b[2]; ih < b[3]; ih++)
          for (int64_t iw = b[4]; iw < b[5]; iw++) s += xp[id * hw + ih * g->w + iw];
      out[r * g->ow + ow] = b[0] < b[1] && b[2] < b[3] && b[4] < b[5] ? s / div : 0;
    }
  }
}

static void FN(avg_pool_backward)(T *grad_x, const T *grad_out, const tn_pool_geom *g) {
  int64_t hw = g->h * g->w, in_plane = g->d * hw, out_plane = g->od * g->oh * g->ow;
  int threads = tn_nn_threads(g->planes * (in_plane + out_plane * g->kd * g->kh * g->kw), 1 << 15);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t p = 0; p < g->planes; p++) {
    T *gx = grad_x + p * in_plane;
    const T *go = grad_out + p * out_plane;
    memset(gx, 0, sizeof(T) * (size_t)in_plane);
    for (int64_t od = 0; od < g->od; od++)
      for (int64_t oh = 0; oh < g->oh; oh++)
        for (int64_t ow = 0; ow < g->ow; ow++) {
          int64_t b[6];
          T div = FN(avg_window)(g, od, oh, ow, b);
          T v = go[(od * g->oh + oh) * g->ow + ow] / div;
          for (int64_t id = b[0]; id < b[1]; id++)
            for (int64_t ih = b[2]; ih < b[3]; ih++)
              for (int64_t iw = b[4]; iw < b[5]; iw++) gx[id * hw + ih * g->w + iw] += v;
        }
  }
}

/* The adaptive window of output (od, oh, ow): box d0, d1, h0, h1, w0, w1. */
static inline void FN(adaptive_window)(const tn_pool_geom *g, int64_t od, int64_t oh, int64_t ow, int64_t *b) {
  b[0] = adaptive_start(od, g->od, g->d), b[1] = adaptive_end(od, g->od, g->d);
  b[2] = adaptive_start(oh, g->oh, g->h), b[3] = adaptive_end(oh, g->oh, g->h);
  b[4] = adaptive_start(ow, g->ow, g->w), b[5] = adaptive_end(ow, g->ow, g->w);
}

static void FN(adaptive_avg_pool)(T *out, const T *x, const tn_pool_geom *g) {
  int64_t rows = g->planes * g->od * g->oh, hw = g->h * g->w;
  int threads = tn_nn_threads(g->planes * g->d * hw, 1 << 15);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    int64_t plane = r / (g->od * g->oh), od = (r / g->oh) % g->od, oh = r % g->oh;
    const T *xp = x + plane * g->d * hw;
    for (int64_t ow = 0; ow < g->ow; ow++) {
      int64_t b[6];
      FN(adaptive_window)(g, od, oh, ow, b);
      T s = 0;
      for (int64_t id = b[0]; id < b[1]; id++)
        for (int64_t ih = b[2]; ih < b[3]; ih++)
          for (int64_t iw = b[4]; iw < b[5]; iw++) s += xp[id * hw + ih * g->w + iw];
      out[r * g->ow + ow] = s / (T)((b[1] - b[0]) * (b[3] - b[2]) * (b[5] - b[4]));
    }
  }
}

static void FN(adaptive_avg_pool_backward)(T *grad_x, const T *grad_out, const tn_pool_geom *g) {
  int64_t hw = g->h * g->w, in_plane = g->d * hw, out_plane = g->od * g->oh * g->ow;
  int threads = tn_nn_threads(g->planes * (in_plane + out_plane), 1 << 15);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t p = 0; p < g->planes; p++) {
    T *gx = grad_x + p * in_plane;
    const T *go = grad_out + p * out_plane;
    memset(gx, 0, sizeof(T) * (size_t)in_plane);
    for (int64_t od = 0; od < g->od; od++)
      for (int64_t oh = 0; oh < g->oh; oh++)
        for (int64_t ow = 0; ow < g->ow; ow++) {
          int64_t b[6];
          FN(adaptive_window)(g, od, oh, ow, b);
          T v = go[(od * g->oh + oh) * g->ow + ow] / (T)((b[1] - b[0]) * (b[3] - b[2]) * (b[5] - b[4]));
          for (int64_t id = b[0]; id < b[1]; id++)
            for (int64_t ih = b[2]; ih < b[3]; ih++)
              for (int64_t iw = b[4]; iw < b[5]; iw++) gx[id * hw + ih * g->w + iw] += v;
        }
  }
}

static void FN(adaptive_max_pool)(T *out, int64_t *indices, const T *x, const tn_pool_geom *g, int64_t base) {
  int64_t rows = g->planes * g->od * g->oh, hw = g->h * g->w;
  int threads = tn_nn_threads(g->planes * g->d * hw, 1 << 15);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    int64_t plane = r / (g->od * g->oh), od = (r / g->oh) % g->od, oh = r % g->oh;
    const T *xp = x + plane * g->d * hw;
    for (int64_t ow = 0; ow < g->ow; ow++) {
      int64_t b[6];
      FN(adaptive_window)(g, od, oh, ow, b);
      int64_t best = b[0] * hw + b[2] * g->w + b[4];
      T v = -INFINITY;
      for (int64_t id = b[0]; id < b[1]; id++)
        for (int64_t ih = b[2]; ih < b[3]; ih++)
          for (int64_t iw = b[4]; iw < b[5]; iw++) {
            int64_t at = id * hw + ih * g->w + iw;
            T e = xp[at];
            if (e > v || e != e) {
              v = e;
              best = at;
            }
          }
      out[r * g->ow + ow] = v;
      indices[r * g->ow + ow] = best + base;
    }
  }
}
