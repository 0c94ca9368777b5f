/* norm_tmpl.h: layer, batch and group normalisation kernels for one float type, included by norm.c with T
 * and FN(name). Statistics use two passes (the mean, then the mean squared deviation), which stays accurate
 * when the mean is large next to the spread. */

/* mean and sum of squared deviations of n contiguous values */
static inline void FN(moments)(const T *x, int64_t n, T *mean, T *m2) {
  T mu = FN(row_sum)(x, n) / (T)n;
  *mean = mu;
  *m2 = FN(row_sqdev)(x, n, mu);
}

/* ---- layer norm: rows of cols values ---- */

static void FN(layer_norm)(T *y, T *mean, T *rstd, const T *x, const T *w, const T *b, int64_t rows, int64_t cols,
                           double eps) {
  int threads = tn_nn_threads(rows * cols, 1 << 15);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const T *xr = x + r * cols;
    T *yr = y + r * cols;
    T mu, m2;
    FN(moments)(xr, cols, &mu, &m2);
    T rs = (T)(1.0 / sqrt((double)m2 / (double)cols + eps));
    mean[r] = mu;
    rstd[r] = rs;
    if (w && b) {
#pragma omp simd
      for (int64_t j = 0; j < cols; j++) yr[j] = (xr[j] - mu) * rs * w[j] + b[j];
    } else {
#pragma omp simd
      for (int64_t j = 0; j < cols; j++) yr[j] = ((xr[j] - mu) * rs) * (w ? w[j] : 1) + (b ? b[j] : 0);
    }
  }
}

/* gx = rstd * (h - mean(h) - xhat * mean(h * xhat)) with h = g * w; gw = sum g * xhat, gb = sum g over rows
 * (per-thread partial sums, added in thread order). */
static int FN(layer_norm_backward)(T *gx, T *gw, T *gb, const T *g, const T *x, const T *mean, const T *rstd,
                                   const T *w, int64_t rows, int64_t cols) {
  int threads = tn_nn_threads(rows * cols, 1 << 15);
  T *part = NULL;
  if ((gw || gb) && !(part = tn_nn_scratch("layer_norm_backward", (int64_t)sizeof(T) * 2 * cols * threads)))
    return -1;
  if (part) memset(part, 0, sizeof(T) * (size_t)(2 * cols * threads));
#pragma omp parallel num_threads(threads)
  {
    int t = omp_get_thread_num();
    T *pw = part ? part + 2 * cols * t : NULL, *pb = pw ? pw + cols : NULL;
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
      const T *xr = x + r * cols, *gr = g + r * cols;
      T mu = mean[r], rs = rstd[r];
      if (pw) {
#pragma omp simd
        for (int64_t j = 0; j < cols; j++) {
          pw[j] += gr[j] * (xr[j] - mu) * rs;
          pb[j] += gr[j];
        }
      }
      if (!gx) continue;
      T sh = 0, shx = 0;
#pragma omp simd reduction(+ : sh, shx)
      for (int64_t j = 0; j < cols; j++) {
        T h = gr[j] * (w ? w[j] : 1);
        sh += h;
        shx += h * (xr[j] - mu) * rs;
      }
      T a = sh / (T)cols, c = shx / (T)cols;
      T *o = gx + r * cols;
#pragma omp simd
      for (int64_t j = 0; j < cols; j++) o[j] = rs * (gr[j] * (w ? w[j] : 1) - a - (xr[j] - mu) * rs * c);
    }
  }
  if (part) {
    for (int64_t j = 0; j < cols; j++) {
      T sw = 0, sb = 0;
      for (int t = 0; t < threads; t++) sw += part[2 * cols * t + j], sb += part[2 * cols * t + cols + j];
      if (gw) gw[j] = sw;
      if (gb) gb[j] = sb;
    }
    tn_nn_scratch_free(part);
  }
  return 0;
}

/* ---- batch norm: x [n x c x s], statistics per channel ---- */

/* Training: the batch's mean and biased variance per channel (updating the running statistics with the
 * unbiased one); evaluation: the running statistics. Then y = (x - mean) * invstd * w + b. */
static void FN(batch_norm)(T *y, T *mean, T *invstd, const T *x, const T *w, const T *b, T *running_mean,
                           T *running_var, const tn_norm_geom *g) {
  int64_t n = g->n, c = g->c, s = g->s, count = n * s;
  int threads = tn_nn_threads(n * c * s, 1 << 15);
  if (threads > c) threads = (int)c;
#pragma omp parallel for num_threads(threads > 0 ? threads : 1) schedule(static)
  for (int64_t ch = 0; ch < c; ch++) {
    T mu, is;
    if (g->training) {
      double sum = 0, m2 = 0;
      for (int64_t i = 0; i < n; i++) {
        const T *xr = x + (i * c + ch) * s;
        T part = 0;
#pragma omp simd reduction(+ : part)
        for (int64_t j = 0; j < s; j++) part += xr[j];
        sum += part;
      }
      mu = (T)(sum / (double)count);
      for (int64_t i = 0; i < n; i++) {
        const T *xr = x + (i * c + ch) * s;
        T part = 0;
#pragma omp simd reduction(+ : part)
        for (int64_t j = 0; j < s; j++) part += (xr[j] - mu) * (xr[j] - mu);
        m2 += part;
      }
      double var = m2 / (double)count;
      is = (T)(1.0 / sqrt(var + g->eps));
      if (running_mean) running_mean[ch] = (T)((1 - g->momentum) * running_mean[ch] + g->momentum * mu);
      if (running_var)
        running_var[ch] =
            (T)((1 - g->momentum) * running_var[ch] + g->momentum * (m2 / (double)(count > 1 ? count - 1 : 1)));
    } else {
      mu = running_mean[ch];
      is = (T)(1.0 / sqrt((double)running_var[ch] + g->eps));
    }
    mean[ch] = mu;
    invstd[ch] = is;
    T scale = is * (w ? w[ch] : 1), shift = (b ? b[ch] : 0) - mu * scale;
    for (int64_t i = 0; i < n; i++) {
      const T *xr = x + (i * c + ch) * s;
      T *yr = y + (i * c + ch) * s;
#pragma omp simd
      for (int64_t j = 0; j < s; j++) yr[j] = xr[j] * scale + shift;
    }
  }
}

/* training: gx = w * invstd * (g - mean(g) - xhat * mean(g * xhat)); evaluation: gx = g * w * invstd */
static void FN(batch_norm_backward)(T *gx, T *gw, T *gb, const T *gy, const T *x, const T *w, const T *mean,
                                    const T *invstd, const tn_norm_geom *g) {
  int64_t n = g->n, c = g->c, s = g->s, count = n * s;
  int threads = tn_nn_threads(n * c * s, 1 << 15);
  if (threads > c) threads = (int)c;
#pragma omp parallel for num_threads(threads > 0 ? threads : 1) schedule(static)
  for (int64_t ch = 0; ch < c; ch++) {
    T mu = mean[ch], is = invstd[ch];
    double sg = 0, sgx = 0;
    for (int64_t i = 0; i < n; i++) {
      const T *xr = x + (i * c + ch) * s, *gr = gy + (i * c + ch) * s;
      T a = 0, bb = 0;
#pragma omp simd reduction(+ : a, bb)
      for (int64_t j = 0; j < s; j++) {
        a += gr[j];
        bb += gr[j] * (xr[j] - mu);
      }
      sg += a;
      sgx += bb;
    }
    if (gw) gw[ch] = (T)(sgx * is);
    if (gb) gb[ch] = (T)sg;
    if (!gx) continue;
    T k = is * (w ? w[ch] : 1);
    T mg = g->training ? (T)(sg / (double)count) : 0;
    T mx = g->training ? (T)(sgx * is * is / (double)count) : 0; /* mean(g * xhat) * invstd */
    for (int64_t i = 0; i < n; i++) {
      const T *xr = x + (i * c + ch) * s, *gr = gy + (i * c + ch) * s;
      T *o = gx + (i * c + ch) * s;
#pragma omp simd
      for (int64_t j = 0; j < s; j++) o[j] = k * (gr[j] - mg - (xr[j] - mu) * mx);
    }
  }
}

/* ---- group norm: x [n x c x s], statistics per (image, group of c / groups channels) ---- */

static void FN(group_norm)(T *y, T *mean, T *rstd, const T *x, const T *w, const T *b, const tn_norm_geom *g) {
  int64_t cg = g->c / g->groups, block = cg * g->s;
  int threads = tn_nn_threads(g->n * g->c * g->s, 1 << 15);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t u = 0; u < g->n * g->groups; u++) {
    const T *xb = x + u * block;
    T *yb = y + u * block;
    T mu, m2;
    FN(moments)(xb, block, &mu, &m2);
    T rs = (T)(1.0 / sqrt((double)m2 / (double)block + g->eps));
    mean[u] = mu;
    rstd[u] = rs;
    int64_t c0 = (u % g->groups) * cg;
    for (int64_t k = 0; k < cg; k++) {
      T scale = rs * (w ? w[c0 + k] : 1), shift = (b ? b[c0 + k] : 0) - mu * scale;
      const T *xr = xb + k * g->s;
      T *yr = yb + k * g->s;
#pragma omp simd
      for (int64_t j = 0; j < g->s; j++) yr[j] = xr[j] * scale + shift;
    }
  }
}

/* With ds_c = sum g x and db_c = sum g over a channel's values: sum h = sum_c w_c db_c and
 * sum h xhat = rstd sum_c w_c (ds_c - mean db_c); gx = rstd (w_c g - sum h / D - xhat sum h xhat / D);
 * gw_c = sum over images of rstd (ds_c - mean db_c), gb_c = sum of db_c. */
static int FN(group_norm_backward)(T *gx, T *gw, T *gb, const T *gy, const T *x, const T *mean, const T *rstd,
                                   const T *w, const tn_norm_geom *g) {
  int64_t cg = g->c / g->groups, block = cg * g->s, D = block;
  double *sums = tn_nn_scratch("group_norm_backward", (int64_t)sizeof(double) * 2 * g->n * g->c);
  if (!sums) return -1;
  int threads = tn_nn_threads(g->n * g->c * g->s, 1 << 15);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t u = 0; u < g->n * g->groups; u++) {
    int64_t c0 = (u % g->groups) * cg, img = u / g->groups;
    const T *xb = x + u * block, *gb_ = gy + u * block;
    T mu = mean[u], rs = rstd[u];
    double sh = 0, shx = 0;
    for (int64_t k = 0; k < cg; k++) {
      const T *xr = xb + k * g->s, *gr = gb_ + k * g->s;
      T ds = 0, db = 0;
#pragma omp simd reduction(+ : ds, db)
      for (int64_t j = 0; j < g->s; j++) {
        ds += gr[j] * xr[j];
        db += gr[j];
      }
      double wc = w ? w[c0 + k] : 1;
      sums[2 * (img * g->c + c0 + k)] = ds;
      sums[2 * (img * g->c + c0 + k) + 1] = db;
      sh += wc * db;
      shx += wc * (ds - (double)mu * db);
    }
    if (!gx) continue;
    T a = (T)(sh / (double)D), c = (T)(shx * rs / (double)D);
    for (int64_t k = 0; k < cg; k++) {
      const T *xr = xb + k * g->s, *gr = gb_ + k * g->s;
      T *o = gx + u * block + k * g->s;
      T wc = w ? w[c0 + k] : 1;
#pragma omp simd
      for (int64_t j = 0; j < g->s; j++) o[j] = rs * (wc * gr[j] - a - (xr[j] - mu) * rs * c);
    }
  }
  for (int64_t ch = 0; ch < g->c; ch++) {
    double sw = 0, sb = 0;
    for (int64_t img = 0; img < g->n; img++) {
      int64_t u = img * g->groups + ch / cg;
      double ds = sums[2 * (img * g->c + ch)], db = sums[2 * (img * g->c + ch) + 1];
      sw += (double)rstd[u] * (ds - (double)mean[u] * db);
      sb += db;
    }
    if (gw) gw[ch] = (T)sw;
    if (gb) gb[ch] = (T)sb;
  }
  tn_nn_scratch_free(sums);
  return 0;
}
