/* random_draw.h: what a random fill draws for each element, shared by the CPU (lib/cpu/random.c) and CUDA
 * (cuda/random.cu) backends so that the same generator state gives a tensor the same numbers on both.
 *
 * The words come from Philox4x32-10, a counter-based generator: counter c under seed s gives a block of four
 * 32-bit words, a function of (s, c) alone. Element i of a fill takes its words from counter (offset + i / k),
 * where k = per_block() values share one block, so any split of the elements across threads or a launch
 * grid gives the same tensor.
 *
 * Poisson and binomial draws (rejection methods, whose number of uniforms varies) take one counter per element,
 * offset + i, and read its own stream of blocks: round j of element i's rejection loop uses the block at
 * (offset + i, sub-counter j), the sub-counter being Philox's third counter word, which the other fills leave at
 * zero. So a fill still advances the generator by exactly one counter per element however many rounds its
 * elements need, and every element's draws are independent of the others'.
 *
 * The includer defines, before including:
 *  - TN_DRAW_FN, the qualifiers of the functions that run where the values are made (the device's for CUDA);
 *  - TN_DRAW_UNROLL, a pragma for Philox's ten rounds, or nothing;
 *  - TN_DRAW_MUL(a, b), a double product rounded once (never fused into an add: CUDA contracts a + b * c
 *    into an FMA, which rounds differently from the CPU);
 *  - TN_DRAW_MULHI(a, b), the high 64 bits of the 128-bit product of two uint64s. */
#ifndef TN_RANDOM_DRAW_H
#define TN_RANDOM_DRAW_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct philox_words {
  uint32_t w[4];
} philox_words;

TN_DRAW_FN philox_words philox_sub(uint64_t seed, uint64_t counter, uint32_t sub) {
  uint32_t c0 = (uint32_t)counter, c1 = (uint32_t)(counter >> 32), c2 = sub, c3 = 0;
  uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
  TN_DRAW_UNROLL
  for (int round = 0; round < 10; round++) {
    uint64_t p0 = (uint64_t)0xD2511F53u * c0, p1 = (uint64_t)0xCD9E8D57u * c2;
    uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0, n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
    c1 = (uint32_t)p1;
    c3 = (uint32_t)p0;
    c0 = n0;
    c2 = n2;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  philox_words r = {{c0, c1, c2, c3}};
  return r;
}
TN_DRAW_FN philox_words philox(uint64_t seed, uint64_t counter) { return philox_sub(seed, counter, 0); }

TN_DRAW_FN double unit_double(uint32_t hi, uint32_t lo) {
  return (double)((((uint64_t)hi << 32) | lo) >> 11) * 0x1.0p-53; /* [0, 1) with 53 bits */
}
TN_DRAW_FN float unit_float(uint32_t w) { return (float)(w >> 8) * 0x1.0p-24f; }

/* What a fill computes: the kind of value and its parameters. */
typedef enum fill_kind { UNIFORM, NORMAL, RANDINT, BERNOULLI, POISSON, BINOMIAL } fill_kind;
typedef struct fill_spec {
  fill_kind kind;
  double a, b;     /* uniform [a, b); normal mean a, std b; bernoulli p = a */
  int64_t low;     /* randint [low, low + range) */
  uint64_t range;
  const double *p; /* bernoulli with a probability per element (contiguous, in the target's order, on its
                    * device), or NULL */
  bool single;     /* float32/16-bit targets: float arithmetic, 4 values a block */
  const double *q; /* binomial: the probability per element (p holds the counts; poisson: p the rates); both
                    * float64, contiguous, in the target's order, on its device */
} fill_spec;

/* Values drawn from one block of words. */
static inline int per_block(const fill_spec *s) {
  if (s->kind == POISSON || s->kind == BINOMIAL) return 1; /* (a counter each, see the top) */
  if (s->kind == RANDINT || s->kind == BERNOULLI) return 2;
  return s->single ? 4 : 2;
}

/* randint's value for element i: the high half of 64 random bits times the range (no modulo bias to speak of
 * for ranges far below 2^64). As an integer, since int64 targets need values above 2^53 exactly. */
TN_DRAW_FN int64_t randint_at(int64_t low, uint64_t range, philox_words r, int64_t i) {
  uint64_t bits = ((uint64_t)r.w[2 * (i & 1)] << 32) | r.w[2 * (i & 1) + 1];
  return low + (int64_t)TN_DRAW_MULHI(bits, range);
}

/* The value of element i given its block's words (i % per_block picks the words). */
TN_DRAW_FN double value_at(const fill_spec *s, philox_words r, int64_t i) {
  switch (s->kind) {
    case UNIFORM:
      if (s->single) return s->a + TN_DRAW_MUL(s->b - s->a, (double)unit_float(r.w[i & 3]));
      return s->a + TN_DRAW_MUL(s->b - s->a, unit_double(r.w[2 * (i & 1)], r.w[2 * (i & 1) + 1]));
    case NORMAL: {
      /* Box-Muller: each pair of uniforms gives a (cos, sin) pair of normals. */
      double u1, u2;
      int pair = s->single ? (int)(i & 3) >> 1 : 0, second = (int)(i & 1);
      if (s->single) {
        u1 = ((r.w[2 * pair] >> 8) + 1) * 0x1.0p-24;
        u2 = (r.w[2 * pair + 1] >> 8) * 0x1.0p-24;
      } else {
        u1 = 1.0 - unit_double(r.w[0], r.w[1]);
        u2 = unit_double(r.w[2], r.w[3]);
      }
      double radius = sqrt(-2.0 * log(u1)), angle = 2.0 * M_PI * u2;
      return s->a + s->b * radius * (second ? sin(angle) : cos(angle));
    }
    case RANDINT:
      return (double)randint_at(s->low, s->range, r, i);
    default: { /* BERNOULLI */
      double u = unit_double(r.w[2 * (i & 1)], r.w[2 * (i & 1) + 1]);
      return u < (s->p ? s->p[i] : s->a) ? 1.0 : 0.0;
    }
  }
}

/* ---- Poisson and binomial counts ----
 * Exact methods, computed in double whatever the target dtype:
 *  - small means (Poisson rate < 10, binomial n p < 10): inversion, one uniform u and a sequential search for the
 *    first k whose cumulative probability exceeds u (expected steps: about the mean);
 *  - larger means: Hormann's transformed rejection with squeeze, PTRS for Poisson ("The transformed rejection
 *    method for generating Poisson random variables", 1993) and BTRS for the binomial ("The generation of
 *    binomial random variates", 1993), two uniforms a round, accepting in about 90% of rounds (PTRS) or 80%
 *    (BTRS). Their acceptance tests compare with the log probability of k written after Loader ("Fast and
 *    accurate computation of binomial probabilities", 2000): Stirling's error and the deviance term bd0 stay
 *    accurate for means up to 2^53, where log-gamma differences would cancel.
 * Round j of element i uses the block (offset + i, j) (see the top). A loop stops after TN_DRAW_ROUNDS rounds,
 * returning the mode: the chance of getting there is below 0.25^256 for every parameter.
 * The binomial draws with min(p, 1 - p) and reflects (n - k) when p > 1/2. Invalid parameters give NaN (the
 * entry points refuse them before drawing). On CUDA the arithmetic is the same, products rounded alone
 * (TN_DRAW_MUL) where CUDA would fuse them, so the draws match the CPU's except where a log or exp of the device
 * and of the host's libm differ in the last bit right at a comparison's bound. */
#define TN_DRAW_ROUNDS 256
#define TN_DRAW_LN_2PI 1.8378770664093454836

/* Stirling's error log(k!) - log(sqrt(2 pi k) (k / e)^k) for an integer k >= 1: below 16 from k! itself (exact
 * in double), above from its asymptotic series (error < 1e-16 from 16 on). */
TN_DRAW_FN double stirling_error(double k) {
  if (k < 16) {
    double f = 1;
    for (double j = 2; j <= k; j++) f *= j;
    return log(f) - TN_DRAW_MUL(k + 0.5, log(k)) + k - 0.5 * TN_DRAW_LN_2PI;
  }
  double kk = 1 / (k * k);
  double series = 1.0 / 1260 - TN_DRAW_MUL(1.0 / 1680 - TN_DRAW_MUL(1.0 / 1188, kk), kk);
  series = 1.0 / 360 - TN_DRAW_MUL(series, kk);
  return (1.0 / 12 - TN_DRAW_MUL(series, kk)) / k;
}

/* x log(x / m) + m - x, without the cancellation of its terms when x is close to m (Loader's bd0). */
TN_DRAW_FN double deviance(double x, double m) {
  if (fabs(x - m) < 0.1 * (x + m)) {
    double v = (x - m) / (x + m), s = (x - m) * v, ej = 2 * x * v;
    v = v * v;
    for (int j = 1; j < 100; j++) { /* (|v| < 0.1: converged within 16 terms) */
      ej *= v;
      double next = s + ej / (2 * j + 1);
      if (next == s) break;
      s = next;
    }
    return s;
  }
  return TN_DRAW_MUL(x, log(x / m)) + m - x;
}

/* log P(K = k) for K ~ Poisson(lam), lam > 0, k >= 0 an integer. */
TN_DRAW_FN double poisson_log_pmf(double k, double lam) {
  if (k == 0) return -lam;
  return -stirling_error(k) - deviance(k, lam) - TN_DRAW_MUL(0.5, TN_DRAW_LN_2PI + log(k));
}

/* log P(K = k) for K ~ Binomial(n, p), 0 < p <= 1/2, q = 1 - p, 0 <= k <= n integers. */
TN_DRAW_FN double binomial_log_pmf(double k, double n, double p, double q) {
  if (k == 0) return p < 0.1 ? -deviance(n, n * q) - TN_DRAW_MUL(n, p) : n * log(q);
  if (k == n) return n * log(p); /* (q >= 1/2) */
  double lc = stirling_error(n) - stirling_error(k) - stirling_error(n - k) - deviance(k, n * p) -
              deviance(n - k, n * q);
  return lc - TN_DRAW_MUL(0.5, TN_DRAW_LN_2PI + log(k) + log1p(-k / n));
}

TN_DRAW_FN double poisson_at(double lam, uint64_t seed, uint64_t counter) {
  if (!(lam >= 0 && lam < INFINITY)) return NAN;
  if (lam == 0) return 0;
  if (lam < 10) {
    philox_words r = philox_sub(seed, counter, 0);
    double u = unit_double(r.w[0], r.w[1]), p = exp(-lam), cdf = p, k = 0;
    while (u >= cdf && p > 0) {
      k += 1;
      p = TN_DRAW_MUL(p, lam / k);
      cdf += p;
    }
    return k;
  }
  double b = 0.931 + TN_DRAW_MUL(2.53, sqrt(lam)), a = -0.059 + TN_DRAW_MUL(0.02483, b);
  double log_inv_alpha = log(1.1239 + 1.1328 / (b - 3.4)), vr = 0.9277 - 3.6224 / (b - 2);
  for (uint32_t round = 0; round < TN_DRAW_ROUNDS; round++) {
    philox_words r = philox_sub(seed, counter, round);
    double u = unit_double(r.w[0], r.w[1]) - 0.5, v = unit_double(r.w[2], r.w[3]);
    double us = 0.5 - fabs(u);
    double k = floor(TN_DRAW_MUL(2 * a / us + b, u) + lam + 0.43);
    if (us >= 0.07 && v <= vr) return k;
    if (k < 0 || (us < 0.013 && v > us)) continue;
    if (log(v) + log_inv_alpha - log(a / (us * us) + b) <= poisson_log_pmf(k, lam)) return k;
  }
  return floor(lam);
}

TN_DRAW_FN double binomial_at(double n, double prob, uint64_t seed, uint64_t counter) {
  if (!(n >= 0 && n < INFINITY && prob >= 0 && prob <= 1)) return NAN;
  if (n == 0 || prob == 0) return 0;
  if (prob == 1) return n;
  bool reflect = prob > 0.5;
  double p = reflect ? 1 - prob : prob, q = reflect ? prob : 1 - prob, k;
  if (TN_DRAW_MUL(n, p) < 10) {
    philox_words r = philox_sub(seed, counter, 0);
    double u = unit_double(r.w[0], r.w[1]), f = exp(n * (reflect ? log(q) : log1p(-p))), cdf = f, odds = p / q;
    k = 0;
    while (u >= cdf && k < n && f > 0) {
      f = TN_DRAW_MUL(f, odds) * (n - k) / (k + 1);
      k += 1;
      cdf += f;
    }
  } else {
    double spq = sqrt(n * p * q), b = 1.15 + TN_DRAW_MUL(2.53, spq);
    double a = -0.0873 + TN_DRAW_MUL(0.0248, b) + TN_DRAW_MUL(0.01, p), c = TN_DRAW_MUL(n, p) + 0.5;
    double vr = 0.92 - 4.2 / b, alpha = TN_DRAW_MUL(2.83 + 5.1 / b, spq);
    double mode = floor((n + 1) * p), log_f_mode = binomial_log_pmf(mode, n, p, q);
    k = mode;
    for (uint32_t round = 0; round < TN_DRAW_ROUNDS; round++) {
      philox_words r = philox_sub(seed, counter, round);
      double u = unit_double(r.w[0], r.w[1]) - 0.5, v = unit_double(r.w[2], r.w[3]);
      double us = 0.5 - fabs(u), candidate = floor(TN_DRAW_MUL(2 * a / us + b, u) + c);
      if (candidate < 0 || candidate > n) continue;
      if ((us >= 0.07 && v <= vr) ||
          log(v * alpha / (a / (us * us) + b)) <= binomial_log_pmf(candidate, n, p, q) - log_f_mode) {
        k = candidate;
        break;
      }
    }
  }
  return reflect ? n - k : k;
}

/* The count drawn for element i (POISSON or BINOMIAL) from its counter. */
TN_DRAW_FN double count_at(const fill_spec *s, uint64_t seed, uint64_t counter, int64_t i) {
  return s->kind == POISSON ? poisson_at(s->p[i], seed, counter) : binomial_at(s->p[i], s->q[i], seed, counter);
}

#endif /* TN_RANDOM_DRAW_H */
