/* softmax_tmpl.h: softmax and log_softmax kernels for one float type, included by softmax.c with T, FN(name)
 * and EXP / LOG (the type's exp and log). x is [outer x dim x inner]: rows (inner == 1) are reduced with
 * vectorised loops; otherwise columns are processed in chunks of COLS, with the running maxima and sums held
 * per column. */

static void FN(softmax_rows)(T *y, const T *x, int64_t outer, int64_t dim, int as_log) {
  int threads = tn_nn_threads(outer * dim, 1 << 15);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t r = 0; r < outer; r++) {
    const T *xr = x + r * dim;
    T *yr = y + r * dim;
    T m = FN(row_max)(xr, dim), s = 0;
    if (as_log) {
#pragma omp simd reduction(+ : s)
      for (int64_t i = 0; i < dim; i++) s += EXP(xr[i] - m);
      T lse = m + LOG(s);
      for (int64_t i = 0; i < dim; i++) yr[i] = xr[i] - lse;
    } else {
#pragma omp simd reduction(+ : s)
      for (int64_t i = 0; i < dim; i++) {
        T e = EXP(xr[i] - m);
        yr[i] = e;
        s += e;
      }
      T inv = 1 / s;
      for (int64_t i = 0; i < dim; i++) yr[i] *= inv;
    }
  }
}

static void FN(softmax_cols)(T *y, const T *x, int64_t outer, int64_t dim, int64_t inner, int as_log) {
  int64_t chunks = (inner + COLS - 1) / COLS;
  int threads = tn_nn_threads(outer * dim * inner, 1 << 15);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t u = 0; u < outer * chunks; u++) {
    int64_t o = u / chunks, j0 = (u % chunks) * COLS, n = inner - j0 < COLS ? inner - j0 : COLS;
    const T *xb = x + o * dim * inner + j0;
    T *yb = y + o * dim * inner + j0;
    T m[COLS], s[COLS];
    for (int64_t j = 0; j < n; j++) m[j] = -INFINITY, s[j] = 0;
    for (int64_t d = 0; d < dim; d++)
      for (int64_t j = 0; j < n; j++) m[j] = m[j] > xb[d * inner + j] ? m[j] : xb[d * inner + j];
    for (int64_t d = 0; d < dim; d++)
      for (int64_t j = 0; j < n; j++) {
        T e = EXP(xb[d * inner + j] - m[j]);
        if (!as_log) yb[d * inner + j] = e;
        s[j] += e;
      }
    if (as_log) {
      for (int64_t j = 0; j < n; j++) s[j] = m[j] + LOG(s[j]);
      for (int64_t d = 0; d < dim; d++)
        for (int64_t j = 0; j < n; j++) yb[d * inner + j] = xb[d * inner + j] - s[j];
    } else {
      for (int64_t j = 0; j < n; j++) s[j] = 1 / s[j];
      for (int64_t d = 0; d < dim; d++)
        for (int64_t j = 0; j < n; j++) yb[d * inner + j] *= s[j];
    }
  }
}

/* softmax: gx = y * (g - sum(g * y)); log_softmax: gx = g - exp(y) * sum(g) */
static void FN(softmax_backward_rows)(T *gx, const T *g, const T *y, int64_t outer, int64_t dim, int as_log) {
  int threads = tn_nn_threads(outer * dim, 1 << 15);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t r = 0; r < outer; r++) {
    const T *gr = g + r * dim, *yr = y + r * dim;
    T *o = gx + r * dim;
    if (as_log) {
      T s = FN(row_sum)(gr, dim);
#pragma omp simd
      for (int64_t i = 0; i < dim; i++) o[i] = gr[i] - EXP(yr[i]) * s;
    } else {
      T s = FN(row_dot)(gr, yr, dim);
#pragma omp simd
      for (int64_t i = 0; i < dim; i++) o[i] = yr[i] * (gr[i] - s);
    }
  }
}

static void FN(softmax_backward_cols)(T *gx, const T *g, const T *y, int64_t outer, int64_t dim, int64_t inner,
                                      int as_log) {
  int64_t chunks = (inner + COLS - 1) / COLS;
  int threads = tn_nn_threads(outer * dim * inner, 1 << 15);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t u = 0; u < outer * chunks; u++) {
    int64_t o = u / chunks, j0 = (u % chunks) * COLS, n = inner - j0 < COLS ? inner - j0 : COLS;
    int64_t at = o * dim * inner + j0;
    const T *gb = g + at, *yb = y + at;
    T *ob = gx + at;
    T s[COLS];
    for (int64_t j = 0; j < n; j++) s[j] = 0;
    for (int64_t d = 0; d < dim; d++)
      for (int64_t j = 0; j < n; j++) s[j] += as_log ? gb[d * inner + j] : gb[d * inner + j] * yb[d * inner + j];
    for (int64_t d = 0; d < dim; d++)
      for (int64_t j = 0; j < n; j++) {
        int64_t i = d * inner + j;
        ob[i] = as_log ? gb[i] - EXP(yb[i]) * s[j] : yb[i] * (gb[i] - s[j]);
      }
  }
}
