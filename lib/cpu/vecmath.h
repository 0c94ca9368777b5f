/* vecmath.h: float32 transcendentals written without branches or calls, so that loops over them
 * vectorise (GCC turns the selects into blends). Accuracy: a few ulp over the float range; the specs
 * compare them with PyTorch and with libm in float64.
 *
 * float64 goes to libm. TN_MATH(name, x) picks tn_<name>f for float and libm's <name> for double, so a
 * kernel writes one expression for both. */
#ifndef TN_VECMATH_H
#define TN_VECMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* a * b + c in one instruction and one rounding where the target has FMA (-std=c11 never contracts a * b + c
 * by itself); elsewhere a multiply and an add, since fmaf would be a library call per element. */
#ifdef __FMA__
#define TN_FMA(a, b, c) fmaf(a, b, c)
#else
#define TN_FMA(a, b, c) ((a) * (b) + (c))
#endif

static inline float tn_vm_from_bits(int32_t i) { float f; memcpy(&f, &i, 4); return f; }
static inline int32_t tn_vm_to_bits(float f) { int32_t i; memcpy(&i, &f, 4); return i; }

/* exp: 2^n e^r with |r| <= ln2/2 (Cody-Waite reduction; e^r = 1 + r + r^2 p(r), p of degree 4 fitted to the
 * relative error of e^r by weighted least squares with Lawson's reweighting: 3e-9 at most, 0.03 ulp, where
 * Cephes' degree 5 had room to spare; the results' worst error is still the roundings', 0.91 ulp against
 * float64's exp over [-110, 90], every float tried, where Cephes' gave 0.89). 2^n is applied as two normal
 * powers of two, 2^(n/2) 2^(n - n/2), so that a subnormal result and overflow to infinity come out of the
 * product with one rounding. x is clamped first (NaN included, restored at the end) so n stays finite. */
/* Its constants, shared with the AVX-512 form (exp_f32.c): the clamp, log2(e), ln2 in a high part exact in a
 * few bits and a low part, and the polynomial's coefficients from the highest power down. */
#define TN_EXPF_LO (-104.0f)
#define TN_EXPF_HI 89.0f
#define TN_EXPF_LOG2E 1.44269504088896341f
#define TN_EXPF_LN2_HI 0.693359375f
#define TN_EXPF_LN2_LO (-2.12194440e-4f)
#define TN_EXPF_P4 1.3814467238e-3f
#define TN_EXPF_P3 8.3687808365e-3f
#define TN_EXPF_P2 4.1668392718e-2f
#define TN_EXPF_P1 1.6666519642e-1f
#define TN_EXPF_P0 4.9999994040e-1f
static inline float tn_expf(float x) {
  float xc = x > TN_EXPF_LO ? x : TN_EXPF_LO;
  xc = xc < TN_EXPF_HI ? xc : TN_EXPF_HI;
  float n = rintf(xc * TN_EXPF_LOG2E);
  float r = TN_FMA(-n, TN_EXPF_LN2_LO, TN_FMA(-n, TN_EXPF_LN2_HI, xc));
  float p = TN_EXPF_P4;
  p = TN_FMA(p, r, TN_EXPF_P3);
  p = TN_FMA(p, r, TN_EXPF_P2);
  p = TN_FMA(p, r, TN_EXPF_P1);
  p = TN_FMA(p, r, TN_EXPF_P0);
  p = TN_FMA(TN_FMA(p, r, 1.0f), r, 1.0f); /* 1 + r + r^2 p, one operation less than adding the terms */
  int32_t k = (int32_t)n, half = k >> 1; /* k in [-150, 129]: both halves are normal exponents */
  float result = p * tn_vm_from_bits((half + 127) << 23) * tn_vm_from_bits((k - half + 127) << 23);
  return x != x ? x : result;
}

/* log: x = m 2^e with m in [sqrt(1/2), sqrt(2)); log x = e ln2 + log(1 + (m - 1)) (Cephes polynomial). */
static inline float tn_logf(float x) {
  int subnormal = x < 1.17549435e-38f;
  float xn = subnormal ? x * 8388608.0f : x;
  int32_t bits = tn_vm_to_bits(xn);
  int32_t e = ((bits >> 23) & 0xff) - 126;
  float m = tn_vm_from_bits((bits & 0x007fffff) | 0x3f000000); /* [0.5, 1) */
  e = subnormal ? e - 23 : e;
  int below = m < 0.707106781186547524f;
  e = below ? e - 1 : e;
  m = below ? m + m - 1.0f : m - 1.0f;
  float z = m * m;
  float y = 7.0376836292e-2f;
  y = TN_FMA(y, m, -1.1514610310e-1f);
  y = TN_FMA(y, m, 1.1676998740e-1f);
  y = TN_FMA(y, m, -1.2420140846e-1f);
  y = TN_FMA(y, m, 1.4249322787e-1f);
  y = TN_FMA(y, m, -1.6668057665e-1f);
  y = TN_FMA(y, m, 2.0000714765e-1f);
  y = TN_FMA(y, m, -2.4999993993e-1f);
  y = TN_FMA(y, m, 3.3333331174e-1f);
  y = y * m * z;
  float fe = (float)e;
  y += fe * -2.12194440e-4f;
  y += -0.5f * z;
  float result = m + y + fe * 0.693359375f;
  result = x == INFINITY ? INFINITY : result;
  result = x == 0.0f ? -INFINITY : result;
  result = x < 0.0f ? NAN : result;
  return x != x ? x : result;
}

/* tanh: odd rational minimax approximation (Eigen's) on [-7.9, 7.9], and 1 - 2 / (exp(2|x|) + 1) beyond, which
 * reaches +-1 where tanh rounds to it. (Eigen clamps to tanh(7.905) = 1 - 2.4e-7 instead, and gelu's tanh
 * gradient, x (1 - t^2) k (1 + 3 c x^2), turned that into a gradient 0.42 too large at x = 254.) */
static inline float tn_tanhf(float x) {
  if (fabsf(x) > 7.90531110763549805f) return copysignf(1 - 2 / (expf(2 * fabsf(x)) + 1), x);
  float c = x, x2 = c * c;
  float p = -2.76076847742355e-16f;
  p = TN_FMA(p, x2, 2.00018790482477e-13f);
  p = TN_FMA(p, x2, -8.60467152213735e-11f);
  p = TN_FMA(p, x2, 5.12229709037114e-08f);
  p = TN_FMA(p, x2, 1.48572235717979e-05f);
  p = TN_FMA(p, x2, 6.37261928875436e-04f);
  p = TN_FMA(p, x2, 4.89352455891786e-03f);
  p = p * c;
  float q = 1.19825839466702e-06f;
  q = TN_FMA(q, x2, 1.18534705686654e-04f);
  q = TN_FMA(q, x2, 2.26843463243900e-03f);
  q = TN_FMA(q, x2, 4.89352518554385e-03f);
  float result = p / q;
  return fabsf(x) < 0.0004f ? x : result;
}

/* erf: odd rational approximation (Eigen's) on [-4, 4], where float erf reaches +-1. */
static inline float tn_erff(float x) {
  float c = x > 4.0f ? 4.0f : x;
  c = c < -4.0f ? -4.0f : c;
  float x2 = c * c;
  float p = -2.72614225801306e-10f;
  p = TN_FMA(p, x2, 2.77068142495902e-08f);
  p = TN_FMA(p, x2, -2.10102402082508e-06f);
  p = TN_FMA(p, x2, -5.69250639462346e-05f);
  p = TN_FMA(p, x2, -7.34990630326855e-04f);
  p = TN_FMA(p, x2, -2.95459980854025e-03f);
  p = TN_FMA(p, x2, -1.60960333262415e-02f);
  p = p * c;
  float q = -1.45660718464996e-05f;
  q = TN_FMA(q, x2, -2.13374055278905e-04f);
  q = TN_FMA(q, x2, -1.68282697438203e-03f);
  q = TN_FMA(q, x2, -7.37332916720468e-03f);
  q = TN_FMA(q, x2, -1.42647390514189e-02f);
  float result = fabsf(x) < 1e-6f ? x * 1.12837916709551257f : p / q;
  return x != x ? x : result;
}

/* sigmoid: with e = exp(-|x|), 1/(1+e) for x >= 0 and e/(1+e) below, so neither side overflows. */
static inline float tn_sigmoidf(float x) {
  float e = tn_expf(-fabsf(x)), s = 1.0f / (1.0f + e);
  return x >= 0.0f ? s : e * s;
}
static inline double tn_sigmoid(double x) {
  double e = exp(-fabs(x)), s = 1.0 / (1.0 + e);
  return x >= 0.0 ? s : e * s;
}

/* The float / double variant of a math function. */
#define TN_MATH(name, x) _Generic((x), float: tn_##name##f, default: name)(x)
#define TN_LIBM(name, x) _Generic((x), float: name##f, default: name)(x)
#define TN_LIBM2(name, x, y) _Generic((x), float: name##f, default: name)(x, y)
#define TN_SIGMOID(x) _Generic((x), float: tn_sigmoidf, default: tn_sigmoid)(x)

#endif /* TN_VECMATH_H */
