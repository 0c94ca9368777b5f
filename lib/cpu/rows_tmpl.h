/* rows_tmpl.h: reductions of a contiguous row for one float type (maximum, sum, dot product), included by the
 * nn kernels with T, V, VU, VL, VI and FN(name). Four vector accumulators keep the adds (and max) of
 * consecutive vectors independent, so a row in cache goes at load speed rather than at one add per
 * latency; the accumulators are combined in a fixed order. */

static inline V FN(vmax)(V a, V b) {
  VI m = (VI)(a > b);
  return (V)(((VI)a & m) | ((VI)b & ~m));
}

/* The lanes of v combined pairwise, halves first: a tree of depth log2(VL) instead of a chain of VL - 1
 * dependent operations, in a fixed order all the same. */
static inline T FN(hmax)(V v) {
  T t[VL];
  for (int l = 0; l < VL; l++) t[l] = v[l];
  for (int w = VL / 2; w >= 1; w /= 2)
    for (int l = 0; l < w; l++) t[l] = t[l] > t[l + w] ? t[l] : t[l + w];
  return t[0];
}

static inline T FN(hsum)(V v) {
  T t[VL];
  for (int l = 0; l < VL; l++) t[l] = v[l];
  for (int w = VL / 2; w >= 1; w /= 2)
    for (int l = 0; l < w; l++) t[l] += t[l + w];
  return t[0];
}

/* the maximum of x[0 .. n) (-inf for n == 0) */
static inline T FN(row_max)(const T *x, int64_t n) {
  V a0, a1, a2, a3;
  a0 = a1 = a2 = a3 = (V){0} - INFINITY;
  int64_t i = 0;
  for (; i + 4 * VL <= n; i += 4 * VL) {
    a0 = FN(vmax)(a0, *(const VU *)(x + i));
    a1 = FN(vmax)(a1, *(const VU *)(x + i + VL));
    a2 = FN(vmax)(a2, *(const VU *)(x + i + 2 * VL));
    a3 = FN(vmax)(a3, *(const VU *)(x + i + 3 * VL));
  }
  T m = FN(hmax)(FN(vmax)(FN(vmax)(a0, a1), FN(vmax)(a2, a3)));
  for (; i < n; i++) m = m > x[i] ? m : x[i];
  return m;
}

/* the sum of x[0 .. n) */
static inline T FN(row_sum)(const T *x, int64_t n) {
  V a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
  int64_t i = 0;
  for (; i + 4 * VL <= n; i += 4 * VL) {
    a0 += *(const VU *)(x + i);
    a1 += *(const VU *)(x + i + VL);
    a2 += *(const VU *)(x + i + 2 * VL);
    a3 += *(const VU *)(x + i + 3 * VL);
  }
  T s = FN(hsum)((a0 + a1) + (a2 + a3));
  for (; i < n; i++) s += x[i];
  return s;
}

/* the sum of a[i] * b[i] over [0 .. n) */
static inline T FN(row_dot)(const T *a, const T *b, int64_t n) {
  V a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
  int64_t i = 0;
  for (; i + 4 * VL <= n; i += 4 * VL) {
    a0 += *(const VU *)(a + i) * *(const VU *)(b + i);
    a1 += *(const VU *)(a + i + VL) * *(const VU *)(b + i + VL);
    a2 += *(const VU *)(a + i + 2 * VL) * *(const VU *)(b + i + 2 * VL);
    a3 += *(const VU *)(a + i + 3 * VL) * *(const VU *)(b + i + 3 * VL);
  }
  T s = FN(hsum)((a0 + a1) + (a2 + a3));
  for (; i < n; i++) s += a[i] * b[i];
  return s;
}

/* the sum of (x[i] - mu)^2 over [0 .. n) */
static inline T FN(row_sqdev)(const T *x, int64_t n, T mu) {
  V a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
  int64_t i = 0;
  for (; i + 4 * VL <= n; i += 4 * VL) {
    V d0 = *(const VU *)(x + i) - mu, d1 = *(const VU *)(x + i + VL) - mu;
    V d2 = *(const VU *)(x + i + 2 * VL) - mu, d3 = *(const VU *)(x + i + 3 * VL) - mu;
    a0 += d0 * d0;
    a1 += d1 * d1;
    a2 += d2 * d2;
    a3 += d3 * d3;
  }
  T s = FN(hsum)((a0 + a1) + (a2 + a3));
  for (; i < n; i++) s += (x[i] - mu) * (x[i] - mu);
  return s;
}
