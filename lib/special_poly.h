/* special_poly.h: the orthogonal polynomials of torch.special as functions of (x, n), in double: Chebyshev's of
 * the four kinds T, U, V, W and their shifted forms (of 2x - 1), Hermite's H (physicists') and He
 * (probabilists'), Laguerre's L and Legendre's P. Included by special_math.h.
 *
 * PyTorch 1.13's conventions, which these follow: n is truncated toward zero, and a negative n gives 0 (as do NaN,
 * +-inf and |n| >= 2^63, which PyTorch's conversion to int64 makes negative); at x = +-1 (x = 1 and 0 for the
 * shifted forms) the exact values; for |x| < 1 and n past 6 (T) or 8 (U, V, W) the trigonometric forms
 * T_n(cos t) = cos(n t), U_n = sin((n+1) t) / sin t, V_n = cos((n+1/2) t) / cos(t/2), W_n = sin((n+1/2) t) / sin(t/2);
 * elsewhere the three-term recurrences, so that |x| > 1 overflows to inf and then, as in PyTorch, to NaN (inf - inf)
 * for large n, and x = +-inf gives NaN from n = 3. NaN x gives NaN for n >= 1 and 1 for n = 0. A recurrence that
 * has reached NaN stops there (it would stay NaN), so that a huge n does not loop for nothing. */
#ifndef TN_SPECIAL_POLY_H
#define TN_SPECIAL_POLY_H

/* the degree: n truncated toward zero (-0.5 is 0), or -1 for the values PyTorch's int64 conversion makes negative */
PW_SPECIAL_FN int64_t tn_poly_degree(double n) { return n > -1 && n < 9223372036854775808.0 ? (int64_t)n : -1; }

/* The Chebyshev recurrence c_(k+1) = 2x c_k - c_(k-1) from c_0 = 1 and c_1 = first, up to c_n. */
PW_SPECIAL_FN double tn_chebyshev_recurrence(double x, int64_t n, double first) {
  if (n == 0) return 1;
  double p = 1, q = first;
  for (int64_t k = 2; k <= n && q == q; k++) {
    double r = (x + x) * q - p;
    p = q;
    q = r;
  }
  return q;
}

/* kind: 0 T, 1 U, 2 V, 3 W */
PW_SPECIAL_FN double tn_chebyshev(int kind, double x, double degree) {
  int64_t n = tn_poly_degree(degree);
  if (n < 0) return 0;
  int odd = (int)(n & 1);
  if (fabs(x) == 1) {
    double m = (double)n;
    switch (kind) {
      case 0: return x > 0 || !odd ? 1 : -1;
      case 1: return x > 0 || !odd ? m + 1 : -(m + 1);
      case 2: return x > 0 ? 1 : !odd ? m + m + 1 : -(m + m + 1);
      default: return x > 0 ? m + m + 1 : !odd ? 1 : -1;
    }
  }
  if (fabs(x) < 1 && n > (kind == 0 ? 6 : 8)) {
    double t = acos(x), m = (double)n;
    switch (kind) {
      case 0: return cos(m * t);
      case 1: return sin((m + 1) * t) / sin(t);
      case 2: return cos((m + 0.5) * t) / cos(0.5 * t);
      default: return sin((m + 0.5) * t) / sin(0.5 * t);
    }
  }
  double first = kind == 0 ? x : kind == 1 ? x + x : kind == 2 ? x + x - 1 : x + x + 1;
  return tn_chebyshev_recurrence(x, n, first);
}

/* physicists' (probabilists = 0): H_(k+1) = 2x H_k - 2k H_(k-1), H_1 = 2x; He_(k+1) = x He_k - k He_(k-1), He_1 = x */
PW_SPECIAL_FN double tn_hermite(int probabilists, double x, double degree) {
  int64_t n = tn_poly_degree(degree);
  if (n < 0) return 0;
  if (n == 0) return 1;
  double c = probabilists ? 1 : 2, p = 1, q = c * x;
  for (int64_t k = 1; k < n && q == q; k++) {
    double r = c * (x * q - (double)k * p);
    p = q;
    q = r;
  }
  return q;
}

/* L_(k+1) = ((2k + 1 - x) L_k - k L_(k-1)) / (k + 1), L_1 = 1 - x; 1 at x = 0 */
PW_SPECIAL_FN double tn_laguerre(double x, double degree) {
  int64_t n = tn_poly_degree(degree);
  if (n < 0) return 0;
  if (x == 0 || n == 0) return 1;
  double p = 1, q = 1 - x;
  for (int64_t k = 1; k < n && q == q; k++) {
    double m = (double)k, r = ((m + m + 1 - x) * q - m * p) / (m + 1);
    p = q;
    q = r;
  }
  return q;
}

/* P_(k+1) = ((2k + 1) x P_k - k P_(k-1)) / (k + 1), P_1 = x; +-1 at x = +-1 */
PW_SPECIAL_FN double tn_legendre(double x, double degree) {
  int64_t n = tn_poly_degree(degree);
  if (n < 0) return 0;
  if (fabs(x) == 1) return x > 0 || !(n & 1) ? 1 : -1;
  if (n == 0) return 1;
  double p = 1, q = x;
  for (int64_t k = 1; k < n && q == q; k++) {
    double m = (double)k, r = ((m + m + 1) * x * q - m * p) / (m + 1);
    p = q;
    q = r;
  }
  return q;
}

#endif /* TN_SPECIAL_POLY_H */
