/* special_bessel.h: the Bessel functions of torch.special, in double: J0, J1, Y0, Y1, the modified I0, I1, K0, K1
 * (plain and exponentially scaled), the spherical j0 and the Airy function Ai. Included by special_math.h
 * (PW_SPECIAL_FN, TN_PI and the constants of special_normal.h come from there).
 *
 * Methods, by argument: power series where they converge without cancellation (|x| <= 2); Miller's backward
 * recurrence normalised by the Neumann sum of J_(nu+2k) for the ordinary functions up to x = 25 (with
 * Neumann's series for Y0 and Y1 from the same J values); Hankel's asymptotic expansions beyond; and for K_nu
 * the trapezoidal rule on K_nu(x) = int_0^inf exp(-x cosh t) cosh(nu t) dt, whose error falls like
 * exp(-2 pi d / h) for this entire, doubly exponentially decaying integrand.
 *
 * Special values as PyTorch 1.13: J0, J1, Y0, Y1, I0, I1 and Ai are NaN at +-inf (the scaled forms and the
 * spherical j0 are 0 there, as is K); Y and K are -inf / inf at 0 and NaN for negative arguments. */
#ifndef TN_SPECIAL_BESSEL_H
#define TN_SPECIAL_BESSEL_H

#define TN_EULER_GAMMA 0.5772156649015329

/* ---- J0, J1, Y0, Y1 ---- */

/* |x| <= 2, x > 0 for Y: the power series of J0 and J1 in q = x^2 / 4, and Y0, Y1 from them with the harmonic
 * numbers H_k (DLMF 10.8.2, 10.8.1 with psi(k + 1) = H_k - gamma). */
PW_SPECIAL_FN void tn_bessel_jy_series(double x, double *j0, double *j1, double *y0, double *y1) {
  double q = 0.25 * x * x, t0 = 1, t1 = 1, s0 = 1, s1 = 1, h = 0, u0 = 0, u1 = 0;
  /* t0 = (-q)^k / k!^2, t1 = (-q)^k / (k! (k + 1)!); u0 = sum H_k t0, u1 = sum (H_k + H_(k+1)) t1 */
  u1 = 1; /* k = 0: H_0 + H_1 = 1 */
  for (int k = 1; k < 30; k++) {
    t0 *= -q / ((double)k * k);
    t1 *= -q / ((double)k * (k + 1));
    h += 1.0 / k;
    s0 += t0;
    s1 += t1;
    u0 += h * t0;
    u1 += (2 * h + 1.0 / (k + 1)) * t1;
    if (fabs(t0) < 1e-18) break;
  }
  double lx = log(0.5 * x) + TN_EULER_GAMMA;
  *j0 = s0;
  *j1 = 0.5 * x * s1;
  *y0 = (2 / TN_PI) * (lx * s0 - u0);
  /* Y1 = -2 / (pi x) + (2/pi) log(x/2) J1 - (x / 2pi) sum (psi(k+1) + psi(k+2)) t1, psi sum = H_k + H_(k+1) - 2 gamma */
  *y1 = -2 / (TN_PI * x) + (2 / TN_PI) * lx * *j1 - (0.5 * x / TN_PI) * u1;
}

/* 0 <= nu < 1, 2 < x <= 30: J_nu(x) and J_(nu+1)(x) by Miller's algorithm: the recurrence
 * J_(mu-1) = (2 mu / x) J_mu - J_(mu+1) run down from a tiny value at an order N well past x (where J_N / J_0 is
 * below 1e-20), then normalised by sum_k b_k J_(nu+2k) = (x/2)^nu / Gamma(nu + 1), b_0 = 1,
 * b_k = (nu + 2k) (nu + 1)_(k-1) / k! (DLMF 10.23.E15; b_k = 2 for nu = 0). For nu = 0 it also gives Neumann's
 * sums s0 = sum_(k>=1) (-1)^k J_2k / k and s1 = sum_(k>=1) (-1)^k (2k+1) J_(2k+1) / (k (k+1)) (DLMF 10.23.E12 for
 * n = 0 and 1), from which Y0 and Y1 follow. inv_gamma is 1 / Gamma(nu + 1). */
#define TN_MILLER_MAX 112
PW_SPECIAL_FN void tn_bessel_j_miller(double nu, double inv_gamma, double x, double *jnu, double *jnu1, double *s0,
                                      double *s1) {
  double j[TN_MILLER_MAX + 2];
  int n = (int)(x + 30 + 4 * sqrt(x));
  if (n > TN_MILLER_MAX) n = TN_MILLER_MAX;
  j[n + 1] = 0;
  j[n] = 1e-30;
  for (int m = n; m >= 1; m--) j[m - 1] = 2 * (nu + m) / x * j[m] - j[m + 1];
  double norm = j[0], b = 1, sum0 = 0, sum1 = 0;
  for (int k = 1; 2 * k <= n; k++) {
    b *= (k == 1 ? 1 : (nu + k - 1)) / k; /* (nu + 1)_(k-1) / k! */
    norm += (nu + 2 * k) * b * j[2 * k];
    double sign = (k & 1) ? -1 : 1;
    sum0 += sign * j[2 * k] / k;
    if (2 * k + 1 <= n) sum1 += sign * (2 * k + 1) * j[2 * k + 1] / ((double)k * (k + 1));
  }
  double scale = (nu == 0 ? 1 : pow(0.5 * x, nu) * inv_gamma) / norm;
  *jnu = j[0] * scale;
  *jnu1 = j[1] * scale;
  *s0 = sum0 * scale;
  *s1 = sum1 * scale;
}

/* x >= 25: Hankel's expansions J_nu = sqrt(2 / (pi x)) (P cos chi - Q sin chi), Y_nu = sqrt(2 / (pi x)) (P sin chi
 * + Q cos chi), chi = x - (nu/2 + 1/4) pi (DLMF 10.17.3-4), P and Q the even and odd terms of
 * sum_k (-1)^floor(k/2) a_k(nu) / x^k with a_k / a_(k-1) = (4 nu^2 - (2k - 1)^2) / (8 k). cos chi and sin chi
 * come from libm's cos x and sin x (exact argument reduction), not from a rounded x - pi/4. */
PW_SPECIAL_FN void tn_bessel_jy_hankel(int nu, double x, double *j, double *y) {
  double mu = 4.0 * nu * nu, a = 1, p = 1, q = 0;
  for (int k = 1; k < 60; k++) {
    double next = a * (mu - (2.0 * k - 1) * (2.0 * k - 1)) / (8.0 * k * x);
    if (fabs(next) > fabs(a)) break; /* the smallest term has passed */
    a = next;
    double signed_a = ((k / 2) & 1) ? -a : a;
    if (k & 1) {
      q += signed_a;
    } else {
      p += signed_a;
    }
    if (fabs(a) < 1e-17) break;
  }
  double c = cos(x), s = sin(x), cc, sc;
  if (nu == 0) { /* chi = x - pi/4 */
    cc = (c + s) * TN_SQRT1_2_HI;
    sc = (s - c) * TN_SQRT1_2_HI;
  } else { /* chi = x - 3pi/4 */
    cc = (s - c) * TN_SQRT1_2_HI;
    sc = -(s + c) * TN_SQRT1_2_HI;
  }
  double f = sqrt(2 / (TN_PI * x));
  *j = f * (p * cc - q * sc);
  *y = f * (p * sc + q * cc);
}

/* r = {J0, J1, Y0, Y1} of x > 0 (finite) */
PW_SPECIAL_FN void tn_bessel_jy01(double x, double *r) {
  if (x <= 2) {
    tn_bessel_jy_series(x, &r[0], &r[1], &r[2], &r[3]);
  } else if (x < 25) {
    double s0, s1;
    tn_bessel_j_miller(0, 1, x, &r[0], &r[1], &s0, &s1);
    double lx = log(0.5 * x) + TN_EULER_GAMMA;
    r[2] = (2 / TN_PI) * lx * r[0] - (4 / TN_PI) * s0;
    r[3] = -2 / (TN_PI * x) * r[0] + (2 / TN_PI) * (lx - 1) * r[1] - (2 / TN_PI) * s1;
  } else {
    tn_bessel_jy_hankel(0, x, &r[0], &r[2]);
    tn_bessel_jy_hankel(1, x, &r[1], &r[3]);
  }
}

PW_SPECIAL_FN double tn_bessel_j0(double x) {
  double ax = fabs(x), r[4];
  if (ax == 0) return 1;
  if (!(ax < INFINITY)) return NAN;
  tn_bessel_jy01(ax, r);
  return r[0];
}

PW_SPECIAL_FN double tn_bessel_j1(double x) {
  double ax = fabs(x), r[4];
  if (ax == 0) return x;
  if (!(ax < INFINITY)) return NAN;
  tn_bessel_jy01(ax, r);
  return x < 0 ? -r[1] : r[1];
}

/* Y0 (order 0) or Y1 (order 1): -inf at 0, NaN below 0 and at +inf */
PW_SPECIAL_FN double tn_bessel_y(int order, double x) {
  if (x == 0) return -INFINITY;
  if (!(x > 0 && x < INFINITY)) return NAN;
  double r[4];
  tn_bessel_jy01(x, r);
  return r[2 + order];
}

/* ---- the modified Bessel functions ---- */

/* I_nu(x) for nu = 0 or 1, times exp(-|x|) when scaled. |x| <= 30: the power series
 * sum_k (x^2/4)^k / (k! (k + nu)!) (x/2)^nu, of positive terms; beyond: the asymptotic
 * e^x / sqrt(2 pi x) sum_k a_k / x^k, a_k / a_(k-1) = ((2k - 1)^2 - 4 nu^2) / (8k) (DLMF 10.40.1), which
 * reaches a relative 1e-17 within 20 terms at x = 30. Unscaled, +-inf gives NaN (PyTorch's exp(x) / sqrt(x)
 * form); scaled, 0 (with I1's sign). */
PW_SPECIAL_FN double tn_bessel_i_scaled(int nu, double x, int scaled) {
  double ax = fabs(x), r;
  if (ax <= 30) {
    double q = 0.25 * ax * ax, term = nu ? 0.5 * ax : 1, sum = term;
    for (int k = 1; k < 64 && term > 1e-17 * sum; k++) {
      term *= q / ((double)k * (k + nu));
      sum += term;
    }
    r = scaled ? sum * exp(-ax) : sum;
  } else {
    if (ax == INFINITY) return scaled ? (nu && x < 0 ? -0.0 : 0.0) : NAN;
    double term = 1, sum = 1, inv8x = 0.125 / ax;
    for (int k = 1; k < 32 && fabs(term) > 1e-17 * sum; k++) {
      term *= ((2.0 * k - 1) * (2.0 * k - 1) - 4.0 * nu * nu) * inv8x / k;
      sum += term;
    }
    r = sum / (sqrt(2 * TN_PI) * sqrt(ax)); /* (2 pi ax overflows past 2.8e307: 0, then 0 * inf = NaN) */
    if (!scaled) r *= exp(ax);
  }
  return nu && x < 0 ? -r : r;
}

PW_SPECIAL_FN double tn_bessel_i(int nu, double x) { return x != x ? x : tn_bessel_i_scaled(nu, x, 0); }

/* exp(x) K_nu(x) for x > 1 (any real nu): the trapezoidal rule on int_0^inf exp(-x (cosh t - 1)) cosh(nu t) dt.
 * The step is 0.1, or 0.6 / sqrt(x) once the peak at 0 (width ~ 1 / sqrt(x)) is narrower: in the variable
 * s = t sqrt(x) the integrand tends to exp(-s^2 / 2), for which a step of 0.6 errs by exp(-2 pi^2 / 0.36) ~
 * 1e-24. The sum stops where the terms fall below 1e-18 of it. */
PW_SPECIAL_FN double tn_bessel_k_scaled_integral(double nu, double x) {
  double h = 0.6 / sqrt(x);
  if (h > 0.1) h = 0.1;
  double sum = 0.5;
  for (int k = 1; k < 2000; k++) {
    double t = k * h, s = sinh(0.5 * t), f = exp(-2 * x * s * s) * cosh(nu * t); /* cosh t - 1 = 2 sinh^2(t/2) */
    sum += f;
    if (f < 1e-18 * sum) break;
  }
  return sum * h;
}

/* K0 and K1 for 0 < x <= 1: the power series (DLMF 10.31.2 and 10.31.1 with psi(k+1) = H_k - gamma)
 * K0 = -(log(x/2) + gamma) I0 + sum H_k q^k / k!^2,
 * K1 = 1/x + (log(x/2) + gamma) I1 - (x/4) sum (H_k + H_(k+1)) q^k / (k! (k+1)!), with q = x^2 / 4. */
PW_SPECIAL_FN double tn_bessel_k_series(int nu, double x) {
  double q = 0.25 * x * x, t0 = 1, t1 = 1, i0 = 1, i1 = 1, h = 0, u0 = 0, u1 = 1;
  for (int k = 1; k < 30; k++) {
    t0 *= q / ((double)k * k);
    t1 *= q / ((double)k * (k + 1));
    h += 1.0 / k;
    i0 += t0;
    i1 += t1;
    u0 += h * t0;
    u1 += (2 * h + 1.0 / (k + 1)) * t1;
    if (t0 < 1e-18 * i0) break;
  }
  double lx = log(0.5 * x) + TN_EULER_GAMMA;
  if (nu == 0) return -lx * i0 + u0;
  return 1 / x + lx * 0.5 * x * i1 - 0.25 * x * u1;
}

/* K0 or K1 (nu), times exp(x) when scaled: inf at 0, NaN below 0 (and at -inf), 0 at +inf */
PW_SPECIAL_FN double tn_bessel_k(int nu, double x, int scaled) {
  if (x == 0) return INFINITY;
  if (!(x > 0)) return NAN;
  if (x == INFINITY) return 0;
  if (x <= 1) {
    double r = tn_bessel_k_series(nu, x);
    return scaled ? r * exp(x) : r;
  }
  double r = tn_bessel_k_scaled_integral(nu, x);
  return scaled ? r : r * exp(-x);
}

/* sin(x) / x, 1 at 0 and 0 at +-inf (as PyTorch) */
PW_SPECIAL_FN double tn_spherical_bessel_j0(double x) {
  if (x == 0) return 1;
  if (fabs(x) == INFINITY) return 0;
  return sin(x) / x;
}

/* ---- the Airy function Ai ---- */

#define TN_AIRY_C1 0.3550280538878172  /* Ai(0) */
#define TN_AIRY_C2 0.2588194037928068  /* -Ai'(0) */
#define TN_INV_GAMMA_4_3 1.1198465217221858 /* 1 / Gamma(4/3) */
#define TN_INV_GAMMA_5_3 1.1077321674324725 /* 1 / Gamma(5/3) */

/* Ai(x) = c1 f(x) - c2 g(x) with the Maclaurin series f = sum 3^k (1/3)_k x^3k / (3k)!, g = sum 3^k (2/3)_k
 * x^(3k+1) / (3k+1)! (DLMF 9.4.1), for -2.5 <= x <= 1, where their terms stay below 20 (a digit and a half lost
 * to cancellation at worst) */
PW_SPECIAL_FN double tn_airy_ai_series(double x) {
  double x3 = x * x * x, f = 1, g = x, tf = 1, tg = x;
  for (int k = 1; k < 40; k++) {
    tf *= x3 / ((3.0 * k - 1) * (3.0 * k));
    tg *= x3 / ((3.0 * k) * (3.0 * k + 1));
    f += tf;
    g += tg;
    if (fabs(tf) + fabs(tg) < 1e-18 * (fabs(f) + fabs(g))) break;
  }
  return TN_AIRY_C1 * f - TN_AIRY_C2 * g;
}

/* Ai(-x) for x >= 11.5 (zeta = 2/3 x^(3/2) > 26): the asymptotic expansion (DLMF 9.7.9)
 * pi^(-1/2) x^(-1/4) (sin(zeta + pi/4) P - cos(zeta + pi/4) Q), P and Q the even and odd terms of
 * sum_k (-1)^floor(k/2) u_k / zeta^k with u_k / u_(k-1) = (6k - 5)(6k - 3)(6k - 1) / ((2k - 1) 216 k)
 * (DLMF 9.7.1), summed up to their smallest term. */
PW_SPECIAL_FN double tn_airy_ai_oscillating(double x) {
  double zeta = (2.0 / 3) * x * sqrt(x), u = 1, p = 1, q = 0;
  for (int k = 1; k < 80; k++) {
    double next = u * (6.0 * k - 5) * (6.0 * k - 3) * (6.0 * k - 1) / ((2.0 * k - 1) * 216.0 * k * zeta);
    if (fabs(next) > fabs(u)) break;
    u = next;
    double signed_u = ((k / 2) & 1) ? -u : u;
    if (k & 1) {
      q += signed_u;
    } else {
      p += signed_u;
    }
    if (fabs(u) < 1e-17) break;
  }
  double s = sin(zeta), c = cos(zeta);
  double sp = (s + c) * TN_SQRT1_2_HI, cp = (c - s) * TN_SQRT1_2_HI; /* sin and cos of zeta + pi/4 */
  return TN_INV_SQRT_PI / sqrt(sqrt(x)) * (sp * p - cp * q);
}

/* Ai(x) as PyTorch: NaN at +-inf. Below -2.5: Ai(-x) = (sqrt(x) / 3) (J_(1/3)(zeta) + J_(-1/3)(zeta)) (DLMF 9.6.6)
 * with J_(1/3) from Miller's algorithm and J_(-1/3) = (4 / (3 zeta)) J_(2/3) - J_(5/3), one step further down
 * the recurrence of the order-2/3 run, then the asymptotic expansion; above 1:
 * Ai(x) = sqrt(x / 3) K_(1/3)(zeta) / pi (DLMF 9.6.1), K from the integral (0 once exp(-zeta) underflows). */
PW_SPECIAL_FN double tn_airy_ai(double x) {
  if (x != x || fabs(x) == INFINITY) return NAN;
  if (x >= -2.5 && x <= 1) return tn_airy_ai_series(x);
  if (x > 1) {
    double zeta = (2.0 / 3) * x * sqrt(x);
    if (zeta > 750) return 0;
    return sqrt(x / 3) / TN_PI * tn_bessel_k_scaled_integral(1.0 / 3, zeta) * exp(-zeta);
  }
  double ax = -x;
  if (ax >= 11.5) return tn_airy_ai_oscillating(ax);
  double zeta = (2.0 / 3) * ax * sqrt(ax), j13, j43, j23, j53, s0, s1;
  tn_bessel_j_miller(1.0 / 3, TN_INV_GAMMA_4_3, zeta, &j13, &j43, &s0, &s1);
  tn_bessel_j_miller(2.0 / 3, TN_INV_GAMMA_5_3, zeta, &j23, &j53, &s0, &s1);
  double jm13 = 4 / (3 * zeta) * j23 - j53;
  return sqrt(ax) / 3 * (j13 + jm13);
}

#endif /* TN_SPECIAL_BESSEL_H */
