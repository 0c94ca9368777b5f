/* loss_tmpl.h: cross_entropy and nll_loss kernels for one float type, included by loss.c with T, FN(name),
 * EXP and LOG.
 *
 * x is [n x classes x inner]; sample i = (row, j) has its classes `inner` elements apart (1 for the usual
 * [n x classes] logits, whose rows are vectorised). Sums over samples go through fixed blocks of SAMPLES, so
 * that a reduced loss is the same for any number of threads. */

/* A contiguous row of at most SHORT_ROW classes goes through a buffer padded with -inf (whose exp is 0): loops over
 * it have a fixed trip count and compile to whole vectors, where a loop over 10 classes would be all remainder,
 * run one element at a time. */
#ifndef SHORT_ROW
#define SHORT_ROW 16
#endif
static inline void FN(pad_row)(T *buf, const T *x, int64_t classes) {
  for (int c = 0; c < SHORT_ROW; c++) buf[c] = c < classes ? x[c] : -INFINITY;
}

/* log(sum(exp(x[c * stride]))) over the classes, the maximum subtracted first */
static inline T FN(row_lse)(const T *x, int64_t classes, int64_t stride) {
  T m = -INFINITY, s = 0;
  if (stride == 1 && classes <= SHORT_ROW) {
    _Static_assert(SHORT_ROW % VL == 0, "a short row is whole vectors");
    T buf[SHORT_ROW];
    FN(pad_row)(buf, x, classes);
    V v;
    for (int c = 0; c < VL; c++) v[c] = buf[c];
    for (int c = VL; c < SHORT_ROW; c += VL) v = FN(vmax)(v, *(const VU *)(buf + c));
    m = FN(hmax)(v);
#pragma omp simd
    for (int c = 0; c < SHORT_ROW; c++) buf[c] = EXP(buf[c] - m);
    v = *(const VU *)buf;
    for (int c = VL; c < SHORT_ROW; c += VL) v += *(const VU *)(buf + c);
    s = FN(hsum)(v);
  } else if (stride == 1) {
    m = FN(row_max)(x, classes);
#pragma omp simd reduction(+ : s)
    for (int64_t c = 0; c < classes; c++) s += EXP(x[c] - m);
  } else {
    for (int64_t c = 0; c < classes; c++) m = m > x[c * stride] ? m : x[c * stride];
    for (int64_t c = 0; c < classes; c++) s += EXP(x[c * stride] - m);
  }
  return m + LOG(s);
}

/* sum over classes of w[c] * x[c * stride] (w NULL: weights 1) */
static inline T FN(class_dot)(const T *x, const T *w, int64_t classes, int64_t stride) {
  if (stride == 1) return w ? FN(row_dot)(w, x, classes) : FN(row_sum)(x, classes);
  T s = 0;
  for (int64_t c = 0; c < classes; c++) s += (w ? w[c] : 1) * x[c * stride];
  return s;
}

/* The loss of sample i (its row at x, classes stride apart) and its weight in a mean. */
static inline T FN(ce_sample)(const T *x, T lse, int64_t i, int64_t stride, const int64_t *target, const T *q,
                              const T *w, T wsum, const tn_loss_spec *s, T *weight_out) {
  int64_t C = s->classes;
  T eps = (T)s->label_smoothing;
  if (s->probs) {
    /* -sum_c w_c q'_c log p_c with q' = (1 - eps) q + eps / C */
    T acc = 0;
    for (int64_t c = 0; c < C; c++) {
      T qc = (1 - eps) * q[c * stride] + eps / (T)C;
      acc += (w ? w[c] : 1) * qc * (lse - x[c * stride]);
    }
    *weight_out = 1;
    return acc;
  }
  int64_t t = target[i];
  if (t == s->ignore_index) {
    *weight_out = 0;
    return 0;
  }
  int64_t c = t - s->base;
  T wt = w ? w[c] : 1;
  T loss = wt * (lse - x[c * stride]);
  if (eps > 0) {
    /* the smoothing term: sum_c w_c (lse - x_c) / C */
    T smooth = lse * wsum - FN(class_dot)(x, w, C, stride);
    loss = (1 - eps) * loss + eps / (T)C * smooth;
  }
  *weight_out = wt;
  return loss;
}

static T FN(weight_sum)(const T *w, int64_t classes) {
  if (!w) return (T)classes;
  T s = 0;
  for (int64_t c = 0; c < classes; c++) s += w[c];
  return s;
}

/* loss (per sample, or reduced through per-block partial sums of losses and weights) and each sample's lse */
static int FN(cross_entropy)(T *loss, T *lse, const T *x, const int64_t *target, const T *q, const T *w,
                             const tn_loss_spec *s) {
  int64_t samples = s->n * s->inner, blocks = (samples + SAMPLES - 1) / SAMPLES;
  T wsum = FN(weight_sum)(w, s->classes);
  double *partial = NULL;
  if (s->reduction != TN_REDUCTION_NONE && !(partial = tn_nn_scratch("cross_entropy", 16 * (blocks + 1)))) return -1;
  int threads = tn_nn_threads(samples * s->classes, 1 << 15);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t b = 0; b < blocks; b++) {
    double lsum = 0, wtot = 0;
    int64_t end = (b + 1) * SAMPLES < samples ? (b + 1) * SAMPLES : samples;
    for (int64_t i = b * SAMPLES; i < end; i++) {
      int64_t at = sample_at(i, s);
      T l = FN(row_lse)(x + at, s->classes, s->inner), wt;
      lse[i] = l;
      T li = FN(ce_sample)(x + at, l, i, s->inner, target, q ? q + at : NULL, w, wsum, s, &wt);
      if (!partial)
        loss[i] = li;
      lsum += li;
      wtot += wt;
    }
    if (partial) {
      partial[2 * b] = lsum;
      partial[2 * b + 1] = wtot;
    }
  }
  if (partial) {
    double total = 0, weights = 0;
    for (int64_t b = 0; b < blocks; b++) total += partial[2 * b], weights += partial[2 * b + 1];
    /* no weight counted: NaN, as PyTorch (label smoothing's term would otherwise make x / 0 = inf) */
    loss[0] = (T)(s->reduction == TN_REDUCTION_MEAN ? (weights == 0 ? NAN : total / weights) : total);
    tn_nn_scratch_free(partial);
  }
  return 0;
}

/* The denominator of a mean: the summed weights of the counted samples (class targets), or the samples. */
static double FN(mean_denominator)(const int64_t *target, const T *w, const tn_loss_spec *s) {
  int64_t samples = s->n * s->inner;
  if (s->probs || !target) return (double)samples;
  double d = 0;
  for (int64_t i = 0; i < samples; i++)
    if (target[i] != s->ignore_index) d += w ? w[target[i] - s->base] : 1;
  return d;
}

static void FN(cross_entropy_backward)(T *gx, const T *grad, const T *x, const T *lse, const int64_t *target,
                                       const T *q, const T *w, const tn_loss_spec *s) {
  int64_t samples = s->n * s->inner, C = s->classes, stride = s->inner;
  T wsum = FN(weight_sum)(w, C), eps = (T)s->label_smoothing;
  T scale = s->reduction == TN_REDUCTION_MEAN ? (T)(1.0 / FN(mean_denominator)(target, w, s)) : 1;
  int threads = tn_nn_threads(samples * C, 1 << 15);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t i = 0; i < samples; i++) {
    int64_t at = sample_at(i, s);
    const T *xr = x + at;
    T *o = gx + at;
    T g = (s->reduction == TN_REDUCTION_NONE ? grad[i] : grad[0]) * scale;
    T l = lse ? lse[i] : FN(row_lse)(xr, C, stride);
    if (s->probs) {
      /* g * (p_c * sum_c' w_c' q'_c' - w_c q'_c) */
      const T *qr = q + at;
      T wq = 0;
      for (int64_t c = 0; c < C; c++) wq += (w ? w[c] : 1) * ((1 - eps) * qr[c * stride] + eps / (T)C);
      for (int64_t c = 0; c < C; c++) {
        T qc = (1 - eps) * qr[c * stride] + eps / (T)C;
        o[c * stride] = g * (EXP(xr[c * stride] - l) * wq - (w ? w[c] : 1) * qc);
      }
      continue;
    }
    int64_t t = target[i];
    if (t == s->ignore_index) {
      for (int64_t c = 0; c < C; c++) o[c * stride] = 0;
      continue;
    }
    int64_t tc = t - s->base;
    T wt = w ? w[tc] : 1;
    /* g * ((1 - eps) wt (p_c - [c == t]) + eps / C (W p_c - w_c)) */
    T a = g * ((1 - eps) * wt + eps / (T)C * wsum), e = g * eps / (T)C;
    if (stride == 1 && !w && C <= SHORT_ROW) {
      T buf[SHORT_ROW];
      FN(pad_row)(buf, xr, C);
#pragma omp simd
      for (int c = 0; c < SHORT_ROW; c++) buf[c] = a * EXP(buf[c] - l) - e;
      for (int64_t c = 0; c < C; c++) o[c] = buf[c];
    } else if (stride == 1 && !w) {
#pragma omp simd
      for (int64_t c = 0; c < C; c++) o[c] = a * EXP(xr[c] - l) - e;
    } else {
      for (int64_t c = 0; c < C; c++) o[c * stride] = a * EXP(xr[c * stride] - l) - e * (w ? w[c] : 1);
    }
    o[tc * stride] -= g * (1 - eps) * wt;
  }
}

static int FN(nll_loss)(T *loss, const T *x, const int64_t *target, const T *w, const tn_loss_spec *s) {
  int64_t samples = s->n * s->inner, blocks = (samples + SAMPLES - 1) / SAMPLES;
  double *partial = NULL;
  if (s->reduction != TN_REDUCTION_NONE && !(partial = tn_nn_scratch("nll_loss", 16 * (blocks + 1)))) return -1;
  int threads = tn_nn_threads(samples, 1 << 16);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t b = 0; b < blocks; b++) {
    double lsum = 0, wtot = 0;
    int64_t end = (b + 1) * SAMPLES < samples ? (b + 1) * SAMPLES : samples;
    for (int64_t i = b * SAMPLES; i < end; i++) {
      int64_t t = target[i];
      T li = 0, wt = 0;
      if (t != s->ignore_index) {
        wt = w ? w[t - s->base] : 1;
        li = -wt * x[sample_at(i, s) + (t - s->base) * s->inner];
      }
      if (!partial) loss[i] = li;
      lsum += li;
      wtot += wt;
    }
    if (partial) {
      partial[2 * b] = lsum;
      partial[2 * b + 1] = wtot;
    }
  }
  if (partial) {
    double total = 0, weights = 0;
    for (int64_t b = 0; b < blocks; b++) total += partial[2 * b], weights += partial[2 * b + 1];
    /* no weight counted: NaN, as PyTorch (label smoothing's term would otherwise make x / 0 = inf) */
    loss[0] = (T)(s->reduction == TN_REDUCTION_MEAN ? (weights == 0 ? NAN : total / weights) : total);
    tn_nn_scratch_free(partial);
  }
  return 0;
}

static void FN(nll_loss_backward)(T *gx, const T *grad, const int64_t *target, const T *w, const tn_loss_spec *s) {
  int64_t samples = s->n * s->inner;
  T scale = s->reduction == TN_REDUCTION_MEAN ? (T)(1.0 / FN(mean_denominator)(target, w, s)) : 1;
  memset(gx, 0, sizeof(T) * (size_t)(samples * s->classes));
  for (int64_t i = 0; i < samples; i++) {
    int64_t t = target[i];
    if (t == s->ignore_index) continue;
    T g = (s->reduction == TN_REDUCTION_NONE ? grad[i] : grad[0]) * scale;
    gx[sample_at(i, s) + (t - s->base) * s->inner] = -(w ? w[t - s->base] : 1) * g;
  }
}
