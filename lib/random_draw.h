/* random_draw.h: what a random fill draws for each element, shared by the CPU (lib/cpu/random.c) and CUDA
 * (cuda/random.cu) backends so that the same generator state gives a tensor the same numbers on both.
 *
 * The words come from Philox4x32-10, a counter-based generator: counter c under seed s gives a block of four
 * 32-bit words, a function of (s, c) alone. Element i of a fill takes its words from counter (offset + i / k),
 * where k = per_block() values share one block, so any split of the elements across threads or a launch
 * grid gives the same tensor.
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

TN_DRAW_FN philox_words philox(uint64_t seed, uint64_t counter) {
  uint32_t c0 = (uint32_t)counter, c1 = (uint32_t)(counter >> 32), c2 = 0, c3 = 0;
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

TN_DRAW_FN double unit_double(uint32_t hi, uint32_t lo) {
  return (double)((((uint64_t)hi << 32) | lo) >> 11) * 0x1.0p-53; /* [0, 1) with 53 bits */
}
TN_DRAW_FN float unit_float(uint32_t w) { return (float)(w >> 8) * 0x1.0p-24f; }

/* What a fill computes: the kind of value and its parameters. */
typedef enum fill_kind { UNIFORM, NORMAL, RANDINT, BERNOULLI } fill_kind;
typedef struct fill_spec {
  fill_kind kind;
  double a, b;     /* uniform [a, b); normal mean a, std b; bernoulli p = a */
  int64_t low;     /* randint [low, low + range) */
  uint64_t range;
  const double *p; /* bernoulli with a probability per element (contiguous, in the target's order, on its
                    * device), or NULL */
  bool single;     /* float32/16-bit targets: float arithmetic, 4 values a block */
} fill_spec;

/* Values drawn from one block of words. */
static inline int per_block(const fill_spec *s) {
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

#endif /* TN_RANDOM_DRAW_H */
