/* scaled_f32.c: the float32 kernels of a + alpha * b, a - alpha * b, tensor * number and SGD's momentum step
 * (both of its updates in one pass), kept clear of subnormal slow paths without changing a bit of their results.
 *
 * An Intel core multiplies a subnormal float, or to a subnormal product, through a microcode assist: on the
 * development Xeon a vector of 16 such products took 68 ns against 0.4 ns. Additions have no such path.
 * Optimizers hit it all the time: the momentum buffer of a weight whose gradient stays 0 (a dead ReLU unit,
 * an unused embedding row) decays into subnormals and stays there, since 0.9 times the smallest subnormal
 * rounds back to it, and every step then multiplied those vectors twice (about 90 of the digits MLP's 500 us).
 *
 * A block of 16 that holds such a value is multiplied in float64 instead. The product of two floats is exact
 * in float64, so its one rounding back to float gives the bits of the float multiply, and float64 has no
 * assist for these magnitudes. Other blocks take the plain float path. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../pointwise_ops.h"
#include "cpu.h"

/* s as a float64 that the compiler cannot see is a float: it would otherwise (rightly) fold
 * (float)((double)s * y) back into the float multiply. */
static inline double opaque(float s) {
  double d = s;
  __asm__("" : "+x"(d));
  return d;
}

static inline float exact_product(float s, float y) { return (float)(opaque(s) * (double)y); }

#ifdef __AVX512F__
#include <immintrin.h>

/* The bits of the smallest magnitude whose product with s is safely normal: FLT_MIN / |s|, doubled against
 * rounding, and at least FLT_MIN (a subnormal input takes the assist whatever s is). */
static uint32_t tiny_limit(float s) {
  double m = fabs((double)s), limit = 0x1p-125 / (m < 1 ? m : 1);
  if (!(limit < 0x1p127)) return 0x7f800000u; /* every finite value: s is 0 or tiny */
  float f = (float)limit;
  uint32_t bits;
  memcpy(&bits, &f, 4);
  return bits;
}

/* s * y for 16 floats, in float64 where a lane is nonzero and below the limit (magnitudes order like their
 * bits; 0 - 1 wraps to the top, so zeros never count). */
typedef struct {
  __m512 s;
  __m512d sd;
  __m512i magnitude, limit_minus_1, one;
} scale16;

static inline scale16 scale16_of(float s) {
  return (scale16){_mm512_set1_ps(s), _mm512_set1_pd(s), _mm512_set1_epi32(0x7fffffff),
                   _mm512_set1_epi32((int)(tiny_limit(s) - 1)), _mm512_set1_epi32(1)};
}

static inline __m512 product16(__m512 y, const scale16 *k) {
  __m512i mag = _mm512_and_si512(_mm512_castps_si512(y), k->magnitude);
  if (!_mm512_cmplt_epu32_mask(_mm512_sub_epi32(mag, k->one), k->limit_minus_1)) return _mm512_mul_ps(y, k->s);
  __m512d lo = _mm512_mul_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(y)), k->sd);
  __m512d hi = _mm512_mul_pd(_mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(y), 1))), k->sd);
  __m512d both = _mm512_insertf64x4(_mm512_castps_pd(_mm512_castps256_ps512(_mm512_cvtpd_ps(lo))),
                                    _mm256_castps_pd(_mm512_cvtpd_ps(hi)), 1);
  return _mm512_castpd_ps(both);
}

static inline __mmask16 tail_mask(int64_t left) { return left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1); }

/* Each kernel below is one block of 16 floats at i, the lanes in m; BLOCKS16 runs it over n floats, the whole
 * blocks with every lane (a constant mask: the compiler drops it) and the tail with its lanes. */
#define BLOCKS16(n, BLOCK, ...)                                                    \
  do {                                                                             \
    int64_t i_ = 0;                                                                \
    for (; i_ + 16 <= (n); i_ += 16) BLOCK(__VA_ARGS__, i_, (__mmask16)0xffff);    \
    if (i_ < (n)) BLOCK(__VA_ARGS__, i_, tail_mask((n) - i_));                     \
  } while (0)

/* o = x + s * y; x contiguous, or one value (x1) when x_step is 0 */
static inline __attribute__((always_inline)) void sum_block(float *o, const float *x, int x_step, __m512 x1,
                                                            const float *y, const scale16 *k, int64_t i,
                                                            __mmask16 m) {
  __m512 xv = x_step ? _mm512_maskz_loadu_ps(m, x + i) : x1;
  _mm512_mask_storeu_ps(o + i, m, _mm512_add_ps(xv, product16(_mm512_maskz_loadu_ps(m, y + i), k)));
}

static void scaled_sum(float *o, const float *x, int x_step, const float *y, float s, int64_t n) {
  scale16 k = scale16_of(s);
  __m512 x1 = _mm512_set1_ps(*x);
  if (x_step)
    BLOCKS16(n, sum_block, o, x, 1, x1, y, &k);
  else
    BLOCKS16(n, sum_block, o, x, 0, x1, y, &k);
}

/* SGD's momentum step: buf = g + m * buf, then p = p + (-lr) * buf */
static inline __attribute__((always_inline)) void sgd_block(float *p, const float *g, float *buf,
                                                            const scale16 *km, const scale16 *kl, int64_t i,
                                                            __mmask16 m) {
  __m512 b = _mm512_add_ps(_mm512_maskz_loadu_ps(m, g + i), product16(_mm512_maskz_loadu_ps(m, buf + i), km));
  _mm512_mask_storeu_ps(buf + i, m, b);
  _mm512_mask_storeu_ps(p + i, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, p + i), product16(b, kl)));
}

static void sgd_momentum(float *p, const float *g, float *buf, float lr, float m, int64_t n) {
  scale16 km = scale16_of(m), kl = scale16_of(-lr);
  BLOCKS16(n, sgd_block, p, g, buf, &km, &kl);
}

/* o = s * y */
static inline __attribute__((always_inline)) void scale_block(float *o, const float *y, const scale16 *k, int64_t i,
                                                              __mmask16 m) {
  _mm512_mask_storeu_ps(o + i, m, product16(_mm512_maskz_loadu_ps(m, y + i), k));
}

static void scaled(float *o, const float *y, float s, int64_t n) {
  scale16 k = scale16_of(s);
  BLOCKS16(n, scale_block, o, y, &k);
}
#else
/* Without AVX-512 the products stay plain float multiplies: exact, but open to the assist. */
static void scaled_sum(float *restrict o, const float *restrict x, int x_step, const float *restrict y, float s,
                       int64_t n) {
  if (x_step)
    for (int64_t i = 0; i < n; i++) o[i] = x[i] + s * y[i];
  else
    for (int64_t i = 0; i < n; i++) o[i] = *x + s * y[i];
}

static void scaled(float *restrict o, const float *restrict y, float s, int64_t n) {
  for (int64_t i = 0; i < n; i++) o[i] = s * y[i];
}

static void sgd_momentum(float *restrict p, const float *restrict g, float *restrict buf, float lr, float m,
                         int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    buf[i] = g[i] + m * buf[i];
    p[i] = p[i] + -lr * buf[i];
  }
}
#endif

#define AT(k, i) (*(float *)(data[k] + (i) * strides[k]))

/* out = a + s * b over one inner loop of the iterator */
static void sum_loop(char **data, const int64_t *strides, int64_t n, float s) {
  const int64_t es = sizeof(float);
  float *o = (float *)data[0];
  const float *a = (const float *)data[1], *b = (const float *)data[2];
  if (strides[0] != es) {
    for (int64_t i = 0; i < n; i++) AT(0, i) = AT(1, i) + s * AT(2, i);
  } else if (s == 1) { /* a + b: no product at all */
    if (strides[1] == es && strides[2] == es)
      for (int64_t i = 0; i < n; i++) o[i] = a[i] + b[i];
    else
      for (int64_t i = 0; i < n; i++) o[i] = AT(1, i) + AT(2, i);
  } else if (strides[2] == 0) { /* one product for the whole loop */
    float sb = exact_product(s, *b);
    if (strides[1] == es)
      for (int64_t i = 0; i < n; i++) o[i] = a[i] + sb;
    else
      for (int64_t i = 0; i < n; i++) o[i] = AT(1, i) + sb;
  } else if (strides[2] == es && strides[1] == es) {
    scaled_sum(o, a, 1, b, s, n);
  } else if (strides[2] == es && strides[1] == 0) {
    scaled_sum(o, a, 0, b, s, n);
  } else {
    for (int64_t i = 0; i < n; i++) o[i] = AT(1, i) + s * AT(2, i);
  }
}

static void add_loop(char **data, const int64_t *strides, int64_t n, void *context) {
  sum_loop(data, strides, n, (float)((tn_pointwise_ctx *)context)->p0);
}

/* a - s * b is a + (-s) * b bit for bit: negation is exact */
static void sub_loop(char **data, const int64_t *strides, int64_t n, void *context) {
  sum_loop(data, strides, n, -(float)((tn_pointwise_ctx *)context)->p0);
}

/* out = a * b; a number operand arrives with stride 0 */
static void mul_loop(char **data, const int64_t *strides, int64_t n, void *context) {
  (void)context;
  const int64_t es = sizeof(float);
  float *o = (float *)data[0];
  const float *a = (const float *)data[1], *b = (const float *)data[2];
  if (strides[0] == es && strides[1] == es && strides[2] == 0) {
    scaled(o, a, *b, n);
  } else if (strides[0] == es && strides[1] == 0 && strides[2] == es) {
    scaled(o, b, *a, n);
  } else if (strides[0] == es && strides[1] == es && strides[2] == es) {
    for (int64_t i = 0; i < n; i++) o[i] = a[i] * b[i];
  } else {
    for (int64_t i = 0; i < n; i++) AT(0, i) = AT(1, i) * AT(2, i);
  }
}

/* tn_sgd_momentum_ for contiguous float32 tensors (ops/optim.c checks), split across threads in blocks of 16 */
int tn_cpu_sgd_momentum(tn_tensor *param, const tn_tensor *grad, tn_tensor *buf, double lr, double momentum) {
  float *p = tn_data_ptr(param), *b = tn_data_ptr(buf);
  const float *g = tn_data_ptr(grad);
  int64_t n = param->numel;
  int threads = tn_parallel_threads(n, TN_GRAIN);
  if (threads <= 1) {
    sgd_momentum(p, g, b, (float)lr, (float)momentum, n);
    return 0;
  }
  int64_t chunk = ((n + threads - 1) / threads + 15) / 16 * 16;
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int t = 0; t < threads; t++) {
    int64_t lo = t * chunk, hi = lo + chunk < n ? lo + chunk : n;
    if (lo < hi) sgd_momentum(p + lo, g + lo, b + lo, (float)lr, (float)momentum, hi - lo);
  }
  return 0;
}

tn_loop_fn tn_cpu_scaled_f32_loop(int op) {
  switch (op) {
    case TN_ADD: return add_loop;
    case TN_SUB: return sub_loop;
    case TN_MUL: return mul_loop;
    default: return NULL;
  }
}
