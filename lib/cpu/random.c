/* random.c: random fills from the Philox4x32-10 counter-based generator.
 *
 * A fill of n elements reserves a range of 128-bit counters from its generator. Element i takes its
 * random words from counter (offset + i / per_block), so each value depends only on the seed, the
 * generator's offset and i: any split of the range across threads gives the same tensor. */
#include "cpu.h"

#include <math.h>
#include <omp.h>

typedef struct philox_words {
  uint32_t w[4];
} philox_words;

static inline philox_words philox(uint64_t seed, uint64_t counter) {
  uint32_t c0 = (uint32_t)counter, c1 = (uint32_t)(counter >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
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
  return (philox_words){{c0, c1, c2, c3}};
}

static inline double unit_double(uint32_t hi, uint32_t lo) {
  return (double)((((uint64_t)hi << 32) | lo) >> 11) * 0x1.0p-53; /* [0, 1) with 53 bits */
}
static inline float unit_float(uint32_t w) { return (float)(w >> 8) * 0x1.0p-24f; }

/* What a fill computes: the kind of value and its parameters. */
typedef enum fill_kind { UNIFORM, NORMAL, RANDINT, BERNOULLI } fill_kind;
typedef struct fill_spec {
  fill_kind kind;
  double a, b;            /* uniform [a, b); normal mean a, std b; bernoulli p = a */
  int64_t low;            /* randint [low, low + range) */
  uint64_t range;
  const double *p;        /* bernoulli with a probability per element, or NULL */
  bool single;            /* float32/16-bit targets: float arithmetic, 4 values a block */
} fill_spec;

static int per_block(const fill_spec *s) {
  if (s->kind == RANDINT) return 2;
  if (s->kind == BERNOULLI) return 2;
  return s->single ? 4 : 2;
}

/* The value of element i given its block's words (i % per_block picks the words). */
static inline double value_at(const fill_spec *s, philox_words r, int64_t i) {
  switch (s->kind) {
    case UNIFORM:
      if (s->single) return s->a + (s->b - s->a) * unit_float(r.w[i & 3]);
      return s->a + (s->b - s->a) * unit_double(r.w[2 * (i & 1)], r.w[2 * (i & 1) + 1]);
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
    case RANDINT: {
      uint64_t bits = ((uint64_t)r.w[2 * (i & 1)] << 32) | r.w[2 * (i & 1) + 1];
      return (double)(s->low + (int64_t)(((unsigned __int128)bits * s->range) >> 64));
    }
    case BERNOULLI: {
      double u = unit_double(r.w[2 * (i & 1)], r.w[2 * (i & 1) + 1]);
      return u < (s->p ? s->p[i] : s->a) ? 1.0 : 0.0;
    }
  }
  return 0;
}

#define DEFINE_RANDOM_STORE(ENUM, SUF, T, CT, KIND)                                                        \
  static void random_##SUF(char *out, int64_t begin, int64_t end, const fill_spec *s, uint64_t seed,       \
                           uint64_t offset) {                                                              \
    int64_t k = per_block(s);                                                                              \
    philox_words r = philox(seed, offset + (uint64_t)(begin / k));                                        \
    for (int64_t i = begin; i < end; i++) {                                                                \
      if (i % k == 0) r = philox(seed, offset + (uint64_t)(i / k));                                        \
      ((T *)out)[i] = TN_STORE_##KIND(T, value_at(s, r, i));                                               \
    }                                                                                                      \
  }
TN_FOREACH_DTYPE(DEFINE_RANDOM_STORE)

typedef void (*random_fn)(char *, int64_t, int64_t, const fill_spec *, uint64_t, uint64_t);
#define RANDOM_ENTRY(ENUM, SUF, T, CT, KIND) [ENUM] = random_##SUF,
static const random_fn random_fns[TN_NUM_DTYPES] = {TN_FOREACH_DTYPE(RANDOM_ENTRY)};

/* Randint needs exact int64 values above 2^53, so it stores integers directly. */
static void randint_i64(int64_t *out, int64_t begin, int64_t end, const fill_spec *s, uint64_t seed, uint64_t offset) {
  philox_words r = philox(seed, offset + (uint64_t)(begin / 2));
  for (int64_t i = begin; i < end; i++) {
    if (i % 2 == 0) r = philox(seed, offset + (uint64_t)(i / 2));
    uint64_t bits = ((uint64_t)r.w[2 * (i & 1)] << 32) | r.w[2 * (i & 1) + 1];
    out[i] = s->low + (int64_t)(((unsigned __int128)bits * s->range) >> 64);
  }
}

/* Fills t, which must be contiguous: reserves the counters, then splits elements across threads. */
static void fill_contiguous(tn_tensor *t, const fill_spec *s, tn_generator *g) {
  int64_t n = t->numel, k = per_block(s);
  uint64_t blocks = (uint64_t)((n + k - 1) / k);
  uint64_t offset = __atomic_fetch_add(&g->offset, blocks, __ATOMIC_RELAXED);
  char *out = tn_base(t);
  bool exact_int = s->kind == RANDINT && t->dtype == TN_INT64;
  int threads = tn_parallel_threads(n, TN_GRAIN / 8);
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    int64_t id = omp_get_thread_num(), nt = omp_get_num_threads();
    int64_t begin = n * id / nt, end = n * (id + 1) / nt;
    if (exact_int)
      randint_i64((int64_t *)out, begin, end, s, g->seed, offset);
    else
      random_fns[t->dtype](out, begin, end, s, g->seed, offset);
  }
}

/* Non-contiguous targets are filled through a contiguous buffer, so element i is the same either way. */
static int fill(tn_tensor *t, fill_spec *s, tn_generator *g) {
  s->single = t->dtype == TN_FLOAT32 || t->dtype == TN_FLOAT16 || t->dtype == TN_BFLOAT16;
  if (tn_is_contiguous(t)) {
    fill_contiguous(t, s, g);
    return 0;
  }
  tn_tensor *tmp = tn_empty_like(t);
  if (!tmp) return -1;
  fill_contiguous(tmp, s, g);
  int rc = tn_cpu_copy(t, tmp);
  tn_tensor_free(tmp);
  return rc;
}

int tn_cpu_uniform(tn_tensor *t, double low, double high, tn_generator *g) {
  fill_spec s = {.kind = UNIFORM, .a = low, .b = high};
  return fill(t, &s, g);
}

int tn_cpu_normal(tn_tensor *t, double mean, double std, tn_generator *g) {
  fill_spec s = {.kind = NORMAL, .a = mean, .b = std};
  return fill(t, &s, g);
}

int tn_cpu_randint(tn_tensor *t, int64_t low, int64_t high, tn_generator *g) {
  fill_spec s = {.kind = RANDINT, .low = low, .range = (uint64_t)high - (uint64_t)low};
  return fill(t, &s, g);
}

int tn_cpu_bernoulli(tn_tensor *t, double p, const tn_tensor *p_tensor, tn_generator *g) {
  fill_spec s = {.kind = BERNOULLI, .a = p, .p = p_tensor ? (const double *)tn_base(p_tensor) : NULL};
  return fill(t, &s, g);
}
