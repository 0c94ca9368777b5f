/* special_math.h: the special functions of the element-wise ops that libm lacks (digamma, polygamma, erfinv,
 * the Hurwitz zeta function, the regularised incomplete gamma functions here; the error-function family of
 * torch.special in special_normal.h, the Bessel and Airy functions in special_bessel.h and the orthogonal
 * polynomials in special_poly.h, included at the end), shared by the CPU loops and the CUDA functors through
 * pointwise_exprs.h, which includes it. They compute in double for every floating dtype (a float32 result is one
 * rounding of the double one, within an ulp where PyTorch's own float32 kernels are a few ulp off), with plain
 * series and asymptotic expansions whose constants are Bernoulli numbers and binomial factors, not fitted tables.
 *
 * The special values follow PyTorch 1.13: digamma(+-0) = -+inf and NaN at negative integers and -inf;
 * polygamma(n >= 2, x) is (-1)^(n+1) n! zeta(n + 1, x), +-inf at non-positive integers and NaN at +inf (as
 * PyTorch's Hurwitz zeta); i0 and i1 are NaN at +-inf (PyTorch's exp(x) / sqrt(x) form) and overflow to inf
 * where exp(x) does in double (a float32 result is finite up to float32's largest value, where PyTorch's float
 * kernel overflows from |x| > 88.7). Where PyTorch returns rounding noise instead (trigamma at negative integers,
 * a large finite number from sin(pi x) != 0), the pole gives +inf.
 *
 * The includer defines PW_SPECIAL_FN, the qualifiers of these functions (static on the CPU, __device__ in CUDA,
 * where the libm names below are CUDA's device functions). */
#ifndef TN_SPECIAL_MATH_H
#define TN_SPECIAL_MATH_H

#define TN_PI 3.14159265358979323846
#define TN_DBL_EPS 1.1102230246251565e-16 /* half an ulp of 1 */

/* ---- digamma and trigamma: recurrence up to x >= 10 (12), then the asymptotic series ---- */

/* psi(x) = log x - 1/(2x) - sum_k B_2k / (2k x^2k), B_2k the Bernoulli numbers up to B_14 (the next term is below
 * 5e-17 relative for x >= 10). */
PW_SPECIAL_FN double tn_digamma(double x) {
  if (x == 0) return copysign(INFINITY, -x);
  double result = 0;
  if (x < 0) {
    double nearest = round(x);
    if (x == nearest) return NAN; /* the poles, and -inf */
    /* reflection: psi(x) = psi(1 - x) - pi / tan(pi x), tan taken of the distance to the nearest integer (its
     * period is pi; x - nearest is exact, pi x would round away the digits that matter near a pole) */
    result = -TN_PI / tan(TN_PI * (x - nearest));
    x = 1 - x;
  }
  for (; x < 10; x += 1) result -= 1 / x;
  double z = 1 / (x * x);
  double tail = z * (1.0 / 12 + z * (-1.0 / 120 + z * (1.0 / 252 + z * (-1.0 / 240 + z * (1.0 / 132 +
                z * (-691.0 / 32760 + z * (1.0 / 12)))))));
  return result + log(x) - 0.5 / x - tail;
}

/* psi'(x) = 1/x + 1/(2x^2) + sum_k B_2k / x^(2k+1) for x >= 12; psi'(x) = pi^2 / sin^2(pi x) - psi'(1 - x) below 0. */
PW_SPECIAL_FN double tn_trigamma(double x) {
  if (x == INFINITY) return 0;
  double reflected = 0, sign = 1, sum = 0;
  if (x <= 0) {
    double nearest = round(x);
    if (x == nearest) return x == -INFINITY ? NAN : INFINITY;
    double s = sin(TN_PI * (x - nearest)); /* sin^2 has period 1 (as for digamma's tan) */
    reflected = TN_PI * TN_PI / (s * s);
    sign = -1;
    x = 1 - x;
  }
  for (; x < 12; x += 1) sum += 1 / (x * x);
  double z = 1 / (x * x);
  sum += (1 + 0.5 / x + z * (1.0 / 6 + z * (-1.0 / 30 + z * (1.0 / 42 + z * (-1.0 / 30 + z * (5.0 / 66 +
         z * (-691.0 / 2730 + z * (7.0 / 6)))))))) / x;
  return reflected + sign * sum;
}

/* ---- the Hurwitz zeta function zeta(s, q) = sum_k (q + k)^-s, for an integer s >= 2 ---- */

/* B_2k / (2k)!, k = 1 .. 12: the Euler-Maclaurin correction terms */
#define TN_ZETA_EM_TERMS 12
#define TN_ZETA_EM(k)                                                                                        \
  ((k) == 0 ? 1.0 / 12 : (k) == 1 ? -1.0 / 720 : (k) == 2 ? 1.0 / 30240 : (k) == 3 ? -1.0 / 1209600        \
   : (k) == 4 ? 1.0 / 47900160 : (k) == 5 ? -691.0 / 1307674368000.0 : (k) == 6 ? 1.0 / 74724249600.0        \
   : (k) == 7 ? -3617.0 / 10670622842880000.0 : (k) == 8 ? 43867.0 / 5109094217170944000.0                    \
   : (k) == 9 ? -174611.0 / 802857662698291200000.0 : (k) == 10 ? 77683.0 / 14101100039391805440000.0         \
   : -236364091.0 / 1693824136731743669452800000.0)

/* q > -32: the terms summed directly while they matter or until q + k is past both 9 and s + 24 (where the
 * Euler-Maclaurin series of the rest converges fast: its terms shrink by (s + 2k)^2 / (2 pi w)^2), then that
 * series from w = q + k. */
PW_SPECIAL_FN double tn_zeta_direct(double s, double q) {
  double sum = 0, a = q;
  for (int k = 0; k < 9 || a < 9 || a < s + 24; k++, a += 1) {
    double term = pow(a, -s);
    sum += term;
    if (sum != sum) return sum; /* inf - inf: the loop would not end by its test */
    /* the rest, all positive once a > 0, is below term (1 + a / (s - 1)) */
    if (a > 0 && term * (1 + a / (s - 1)) <= TN_DBL_EPS * fabs(sum)) return sum;
  }
  double w = a, ws = pow(w, -s);
  double tail = w * ws / (s - 1) + 0.5 * ws;
  double rising = s, power = ws / w; /* s (s + 1) ... (s + 2k), w^-(s + 2k + 1) */
  for (int k = 0; k < TN_ZETA_EM_TERMS; k++) {
    double t = TN_ZETA_EM(k) * rising * power;
    tail += t;
    if (fabs(t) <= TN_DBL_EPS * fabs(sum + tail)) break;
    rising *= (s + 2 * k + 1) * (s + 2 * k + 2);
    power /= w * w;
  }
  return sum + tail;
}

PW_SPECIAL_FN double tn_hurwitz_zeta(double s, double q) {
  if (q == INFINITY) return NAN; /* PyTorch's Euler-Maclaurin gives inf * 0 there */
  if (q <= 0 && q == floor(q)) return INFINITY;
  if (!(q <= -32)) return tn_zeta_direct(s, q); /* NaN too */
  /* Far below zero, the terms from q up to 0 are -q of them: with f = q - floor(q) and an integer s,
   * zeta(s, q) = zeta(s, f) + (-1)^s (zeta(s, 1 - f) - zeta(s, 1 - q)), all three at positive arguments. */
  double f = q - floor(q), parity = fmod(s, 2.0) == 0 ? 1 : -1;
  return tn_zeta_direct(s, f) + parity * (tn_zeta_direct(s, 1 - f) - tn_zeta_direct(s, 1 - q));
}

/* psi^(n)(x): digamma for n = 0, trigamma for n = 1, else (-1)^(n+1) n! zeta(n + 1, x) */
PW_SPECIAL_FN double tn_polygamma(int n, double x) {
  if (n == 0) return tn_digamma(x);
  if (n == 1) return tn_trigamma(x);
  double factorial = 1;
  for (int k = 2; k <= n && factorial < INFINITY; k++) factorial *= k;
  return ((n & 1) ? factorial : -factorial) * tn_hurwitz_zeta(n + 1.0, x);
}

/* ---- erfinv: a first guess refined by Halley's method ---- */

/* Near 0 the guess is the Maclaurin series of erfinv (in z = sqrt(pi)/2 y, to z^9) and the iteration solves
 * erf(x) = |y|; towards 1 it is the asymptotic x^2 ~ w - log(pi w) / 2 with w = -log(1 - |y|), and the iteration
 * solves erfc(x) = 1 - |y| (exact in floating point there), which keeps the tail accurate where erf(x) - y
 * would cancel. Halley's step for f = erf(x) - c (or erfc) is f / (f' + x f), as f'' = -2 x f'. */
PW_SPECIAL_FN double tn_erfinv(double y) {
  double ay = fabs(y);
  if (!(ay < 1)) return ay == 1 ? copysign(INFINITY, y) : NAN;
  if (ay == 0) return y;
  const double two_over_sqrt_pi = 1.12837916709551257390;
  double x;
  if (ay <= 0.7) {
    double z = 0.88622692545275801365 * ay, z2 = z * z;
    x = z * (1 + z2 * (1.0 / 3 + z2 * (7.0 / 30 + z2 * (127.0 / 630 + z2 * (4369.0 / 22680)))));
    for (int i = 0; i < 3; i++) {
      double f = erf(x) - ay, step = f / (two_over_sqrt_pi * exp(-x * x) + x * f);
      x -= step;
      if (fabs(step) <= TN_DBL_EPS * x) break;
    }
  } else {
    double r = 1 - ay, w = -log(r);
    x = sqrt(w - 0.5 * log(TN_PI * w));
    for (int i = 0; i < 4; i++) {
      double g = erfc(x) - r, step = g / (x * g - two_over_sqrt_pi * exp(-x * x));
      x -= step;
      if (fabs(step) <= TN_DBL_EPS * x) break;
    }
  }
  return copysign(x, y);
}

/* ---- the Hurwitz zeta function of torch.special.zeta, for real x ---- */

/* zeta(x, q) = sum_k (q + k)^-x with PyTorch 1.13's special values (Cephes's): inf at x = 1 and at the
 * non-positive integers q, NaN for x < 1 and for a non-integer x with q < 0 (NaN x there too), NaN at q = +inf
 * and, for x = +inf, 1 at q = 1, inf below, NaN above (PyTorch's 0 * inf). An integer x with a negative q sums
 * from q as PyTorch does (tn_hurwitz_zeta's reflection far below 0); otherwise the direct sum and the
 * Euler-Maclaurin tail of tn_zeta_direct, which hold for any real x > 1. */
PW_SPECIAL_FN double tn_zeta(double x, double q) {
  if (x == 1) return INFINITY;
  if (x < 1) return NAN;
  if (q <= 0) {
    if (q == floor(q)) return INFINITY;
    if (x != floor(x)) return NAN;
  }
  if (x != x || q != q || q == INFINITY) return NAN;
  if (x == INFINITY) return q == 1 ? 1 : q < 1 ? INFINITY : NAN;
  if (q < 0) return tn_hurwitz_zeta(x, q);
  return tn_zeta_direct(x, q);
}

/* ---- the regularised incomplete gamma functions P(a, x) and Q(a, x) = 1 - P ---- */

/* log Gamma(1 + a) for |a| <= 0.2 from its Maclaurin series -gamma a + sum_k (-1)^k zeta(k) a^k / k (terms below
 * 1e-18 by k = 25), where lgamma(1 + a) would lose the digits of a that 1 + a rounds away. */
PW_SPECIAL_FN double tn_lgamma1p_small(double a) {
  const double zeta_k[24] = {1.6449340668482264, 1.2020569031595942, 1.0823232337111381, 1.03692775514337,
                             1.0173430619844492, 1.008349277381923, 1.0040773561979444, 1.0020083928260821,
                             1.000994575127818, 1.0004941886041194, 1.000246086553308, 1.0001227133475785,
                             1.0000612481350588, 1.000030588236307, 1.0000152822594086, 1.0000076371976379,
                             1.000003817293265, 1.0000019082127165, 1.0000009539620338, 1.0000004769329869,
                             1.0000002384505027, 1.000000119219926, 1.000000059608189, 1.0000000298035034};
  double sum = 0, power = -a; /* (-a)^k */
  for (int k = 2; k <= 25; k++) {
    power *= -a;
    sum += zeta_k[k - 2] * power / k;
  }
  return -0.5772156649015329 * a + sum;
}

PW_SPECIAL_FN double tn_lgamma1p(double a) { return fabs(a) <= 0.2 ? tn_lgamma1p_small(a) : lgamma(1 + a); }

/* x^a e^-x / Gamma(a), the factor both methods below share. From a = 10 in Stirling's form
 * sqrt(a / 2pi) exp(-a (d - log1p(d)) - s(a)), d = (x - a) / a, s(a) = log Gamma(a) - Stirling's approximation
 * = sum B_2k / (2k (2k-1) a^(2k-1)), so that the large terms a log x and log Gamma(a) never cancel in
 * floating point; d - log1p(d) from its series sum_(k>=2) (-d)^k / k near 0. */
PW_SPECIAL_FN double tn_igamma_factor(double a, double x) {
  if (a < 10) return exp(a * log(x) - x - lgamma(a));
  double d = (x - a) / a, dl;
  if (fabs(d) < 0.3) {
    double power = d * d, sign = 1;
    dl = 0;
    for (int k = 2; k < 40; k++) {
      double term = sign * power / k;
      dl += term;
      if (fabs(term) < 1e-18 * dl) break;
      power *= d;
      sign = -sign;
    }
  } else {
    dl = d - log1p(d);
  }
  double z = 1 / (a * a);
  double s = (1.0 / 12 + z * (-1.0 / 360 + z * (1.0 / 1260 + z * (-1.0 / 1680 + z * (1.0 / 1188 +
             z * (-691.0 / 360360 + z * (1.0 / 156 + z * (-3617.0 / 122400)))))))) / a;
  return sqrt(a / (2 * TN_PI)) * exp(-a * dl - s);
}

/* P(a, x) = x^a e^-x / Gamma(a + 1) sum_k x^k / ((a+1) ... (a+k)), of positive terms (Numerical Recipes' gser) */
PW_SPECIAL_FN double tn_igamma_series(double a, double x) {
  double term = 1, sum = 1;
  for (int k = 1; k < 100000000; k++) {
    term *= x / (a + k);
    sum += term;
    if (term < 1e-17 * sum) break;
  }
  return tn_igamma_factor(a, x) / a * sum;
}

/* Q(a, x) = x^a e^-x / Gamma(a) / (x + 1 - a - 1 (1 - a) / (x + 3 - a - 2 (2 - a) / (x + 5 - a - ...))), the
 * Legendre continued fraction evaluated by Lentz's method (Numerical Recipes' gcf), for x > a and x > 1.1 */
PW_SPECIAL_FN double tn_igammac_fraction(double a, double x) {
  const double tiny = 1e-300;
  double b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
  for (int k = 1; k < 100000000; k++) {
    double an = -k * (k - a);
    b += 2;
    d = an * d + b;
    if (fabs(d) < tiny) d = tiny;
    c = b + an / c;
    if (fabs(c) < tiny) c = tiny;
    d = 1 / d;
    double delta = d * c;
    h *= delta;
    if (fabs(delta - 1) < 1e-16) break;
  }
  return tn_igamma_factor(a, x) * h;
}

/* Q(a, x) for small x (<= 1.1) where P is near 1: from gamma(a, x) = sum_n (-1)^n x^(a+n) / (n! (a+n)),
 * Q = 1 - x^a / Gamma(a+1) - x^a / Gamma(a) sum_(n>=1) (-x)^n / (n! (a+n)), the first difference as
 * -expm1(a log x - log Gamma(1 + a)) */
PW_SPECIAL_FN double tn_igammac_small_x(double a, double x) {
  double term = 1, sum = 0;
  for (int n = 1; n < 60; n++) {
    term *= -x / n;
    double t = term / (a + n);
    sum += t;
    if (fabs(t) < 1e-18 * fabs(sum)) break;
  }
  double e = a * log(x) - tn_lgamma1p(a);
  return -expm1(e) - a * exp(e) * sum;
}

/* P(a, x) (upper = 0) or Q(a, x) (upper = 1), with PyTorch 1.13's special values checked in its order: NaN for
 * a < 0 or x < 0; at a = 0, P = 1 and Q = 0 for x > 0, else NaN; at x = 0, P = 0 and Q = 1 (a NaN too); for
 * infinite a, NaN at infinite x and else P = 0, Q = 1 (x NaN too); at x = +inf, P = 1 and Q = 0. Then whichever
 * of P and Q is small is computed directly (the series for P, the continued fraction or the small-x series for
 * Q; the split of the (a, x) plane is SciPy's) and the other one as its complement. */
PW_SPECIAL_FN double tn_igamma(double a, double x, int upper) {
  if (x < 0 || a < 0) return NAN;
  if (a == 0) return x > 0 ? (upper ? 0 : 1) : NAN;
  if (x == 0) return upper ? 1 : 0;
  if (a == INFINITY) return x == INFINITY ? NAN : (upper ? 1 : 0);
  if (x == INFINITY) return upper ? 0 : 1;
  if (a != a || x != x) return NAN;
  if (x > 1.1 && x > a) {
    double q = tn_igammac_fraction(a, x);
    return upper ? q : 1 - q;
  }
  int small_q = x <= 1.1 && (x <= 0.5 ? a <= -0.4 / log(x) : a <= 1.1 * x);
  if (!upper) return tn_igamma_series(a, x);
  return small_q ? tn_igammac_small_x(a, x) : 1 - tn_igamma_series(a, x);
}

#include "special_normal.h"
#include "special_bessel.h"
#include "special_poly.h"

#endif /* TN_SPECIAL_MATH_H */
