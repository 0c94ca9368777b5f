/* special_normal.h: the error-function family of torch.special (erfcx, ndtr, log_ndtr, ndtri), in double, from
 * libm's erfc and exp. Included by special_math.h (PW_SPECIAL_FN and TN_PI come from there).
 *
 * Special values as PyTorch 1.13: erfcx(+inf) = 0, erfcx(-inf) = inf (and inf below x ~ -26.6, where
 * 2 exp(x^2) overflows); ndtr(-+inf) = 0, 1; log_ndtr(+inf) = -0, log_ndtr(-inf) = -inf; ndtri(0) = -inf,
 * ndtri(1) = inf, NaN outside [0, 1]. */
#ifndef TN_SPECIAL_NORMAL_H
#define TN_SPECIAL_NORMAL_H

#define TN_SQRT1_2_HI 0.7071067811865476     /* 1/sqrt(2), rounded */
#define TN_SQRT1_2_LO (-4.833646656726457e-17) /* 1/sqrt(2) - TN_SQRT1_2_HI */
#define TN_SQRT2 1.4142135623730951
#define TN_TWO_OVER_SQRT_PI 1.1283791670955126
#define TN_INV_SQRT_PI 0.5641895835477563
#define TN_INV_SQRT_2PI 0.3989422804014327
#define TN_SQRT_2_OVER_PI 0.7978845608028654

/* exp(x^2) with the rounding error of x^2 (recovered exactly by fma) put back: exp(h + l) = exp(h) (1 + l) */
PW_SPECIAL_FN double tn_exp_square(double x) {
  double h = x * x, l = fma(x, x, -h);
  return exp(h) * (1 + l);
}

/* erfcx(x) = exp(x^2) erfc(x) for x >= 0: below 10 the product itself (erfc has no underflow there and the
 * exponential is exact to the last bit of x^2); from 10 the asymptotic series
 * 1 / (x sqrt(pi)) sum_k (-1)^k (2k - 1)!! / (2 x^2)^k, whose terms fall below 1e-17 within a dozen terms, long
 * before they turn back up (near k = x^2). */
PW_SPECIAL_FN double tn_erfcx_nonnegative(double x) {
  if (x < 10) return tn_exp_square(x) * erfc(x);
  double inv = 1 / x, w = 0.5 * inv * inv, term = 1, sum = 1;
  for (int k = 1; k < 40; k++) {
    term *= -(2 * k - 1) * w;
    sum += term;
    if (fabs(term) < 1e-17 * sum) break;
  }
  return sum * inv * TN_INV_SQRT_PI;
}

/* The reflection erfcx(-x) = 2 exp(x^2) - erfcx(x) for negative x (no cancellation: erfcx(|x|) <= 1 < 2). */
PW_SPECIAL_FN double tn_erfcx(double x) {
  if (x != x) return x;
  if (x >= 0) return tn_erfcx_nonnegative(x);
  if (x < -26.7) return INFINITY;
  return 2 * tn_exp_square(x) - tn_erfcx_nonnegative(-x);
}

/* Phi(x) = erfc(-x / sqrt 2) / 2. The argument z = -x / sqrt(2) is carried as zh + zl (fma and the constant's
 * low part), and erfc(zh + zl) = erfc(zh) - 2/sqrt(pi) exp(-zh^2) zl to first order: in the lower tail the
 * rounding of z alone would cost 2 z^2 ulp of the result. */
PW_SPECIAL_FN double tn_ndtr(double x) {
  double p = x * TN_SQRT1_2_HI;
  double e = fma(x, TN_SQRT1_2_HI, -p) + x * TN_SQRT1_2_LO;
  double zh = -p, zl = -e;
  double r = erfc(zh);
  if (zh > -6 && zh < 27) r -= TN_TWO_OVER_SQRT_PI * exp(-zh * zh) * zl;
  return 0.5 * r;
}

/* log Phi(x): below -1 from erfcx, log(erfcx(z) / 2) - x^2 / 2 with z = -x / sqrt 2 (no underflow, and x^2 / 2 is
 * z^2 without the rounding of z); up to 0 the logarithm of Phi; above 0 log1p(-Phi(-x)), which keeps the tiny
 * negative values near the top. */
PW_SPECIAL_FN double tn_log_ndtr(double x) {
  if (x < -1) return log(0.5 * tn_erfcx(-x * TN_SQRT1_2_HI)) - 0.5 * x * x;
  if (x <= 0) return log(tn_ndtr(x));
  return log1p(-tn_ndtr(-x)); /* NaN too */
}

/* phi(x) / Phi(x), the derivative of log Phi, for Newton's method below: sqrt(2/pi) / erfcx(-x / sqrt 2) in the
 * lower tail, where both are tiny */
PW_SPECIAL_FN double tn_normal_hazard(double x) {
  if (x < -1) return TN_SQRT_2_OVER_PI / tn_erfcx(-x * TN_SQRT1_2_HI);
  return TN_INV_SQRT_2PI * exp(-0.5 * x * x) / tn_ndtr(x);
}

/* The inverse of Phi. In [0.25, 0.75] sqrt(2) erfinv(2p - 1), where 2p - 1 is exact (Sterbenz) and erfinv keeps
 * its relative accuracy near 0. In the tails, with q = min(p, 1 - p) (1 - p exact for p > 1/2), x < 0 solves
 * log Phi(x) = log q by Newton's method, which stays well scaled down to the smallest subnormal q; the first
 * guess is Abramowitz and Stegun's rational approximation 26.2.23 (error below 4.5e-4), after which each step
 * squares the error. */
PW_SPECIAL_FN double tn_ndtri(double p) {
  if (!(p >= 0 && p <= 1)) return NAN;
  if (p == 0) return -INFINITY;
  if (p == 1) return INFINITY;
  if (p >= 0.25 && p <= 0.75) return TN_SQRT2 * tn_erfinv(2 * p - 1);
  double q = p > 0.5 ? 1 - p : p, logq = log(q);
  double t = sqrt(-2 * logq);
  double x = -(t - (2.515517 + t * (0.802853 + t * 0.010328)) /
                       (1 + t * (1.432788 + t * (0.189269 + t * 0.001308))));
  for (int i = 0; i < 8; i++) {
    double step = (tn_log_ndtr(x) - logq) / tn_normal_hazard(x);
    x -= step;
    if (fabs(step) <= 2e-16 * fabs(x)) break;
  }
  return p > 0.5 ? -x : x;
}

#endif /* TN_SPECIAL_NORMAL_H */
