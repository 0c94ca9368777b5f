/* random.c: random fills on the CPU. A fill of n elements reserves a range of counters from its generator
 * and splits the elements across threads; what each element draws is random_draw.h's (shared with CUDA). */
#include "cpu.h"

#include <math.h>
#include <omp.h>

#define TN_DRAW_FN static inline
#define TN_DRAW_UNROLL
#define TN_DRAW_MUL(a, b) ((a) * (b))
#define TN_DRAW_MULHI(a, b) ((uint64_t)(((unsigned __int128)(a) * (b)) >> 64))
#include "../random_draw.h"

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

/* Poisson and binomial counts: a counter per element (random_draw.h) */
#define DEFINE_COUNT_STORE(ENUM, SUF, T, CT, KIND)                                                         \
  static void counts_##SUF(char *out, int64_t begin, int64_t end, const fill_spec *s, uint64_t seed,       \
                           uint64_t offset) {                                                              \
    for (int64_t i = begin; i < end; i++)                                                                  \
      ((T *)out)[i] = TN_STORE_##KIND(T, count_at(s, seed, offset + (uint64_t)i, i));                      \
  }
TN_FOREACH_DTYPE(DEFINE_COUNT_STORE)

typedef void (*random_fn)(char *, int64_t, int64_t, const fill_spec *, uint64_t, uint64_t);
#define RANDOM_ENTRY(ENUM, SUF, T, CT, KIND) [ENUM] = random_##SUF,
static const random_fn random_fns[TN_NUM_DTYPES] = {TN_FOREACH_DTYPE(RANDOM_ENTRY)};
#define COUNT_ENTRY(ENUM, SUF, T, CT, KIND) [ENUM] = counts_##SUF,
static const random_fn count_fns[TN_NUM_DTYPES] = {TN_FOREACH_DTYPE(COUNT_ENTRY)};

/* Randint needs exact int64 values above 2^53, so it stores integers directly. */
static void randint_i64(int64_t *out, int64_t begin, int64_t end, const fill_spec *s, uint64_t seed, uint64_t offset) {
  philox_words r = philox(seed, offset + (uint64_t)(begin / 2));
  for (int64_t i = begin; i < end; i++) {
    if (i % 2 == 0) r = philox(seed, offset + (uint64_t)(i / 2));
    out[i] = randint_at(s->low, s->range, r, i);
  }
}

/* Fills t, which must be contiguous: reserves the counters, then splits elements across threads. */
static void fill_contiguous(tn_tensor *t, const fill_spec *s, tn_generator *g) {
  int64_t n = t->numel, k = per_block(s);
  uint64_t blocks = (uint64_t)((n + k - 1) / k);
  uint64_t offset = __atomic_fetch_add(&g->offset, blocks, __ATOMIC_RELAXED);
  char *out = tn_base(t);
  bool exact_int = s->kind == RANDINT && t->dtype == TN_INT64;
  bool counts = s->kind == POISSON || s->kind == BINOMIAL;
  /* (a count costs a few dozen flops or a search of about its mean's steps: split finer) */
  int threads = tn_parallel_threads(n, counts ? TN_GRAIN / 64 : TN_GRAIN / 8);
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    int64_t id = omp_get_thread_num(), nt = omp_get_num_threads();
    int64_t begin = n * id / nt, end = n * (id + 1) / nt;
    if (exact_int)
      randint_i64((int64_t *)out, begin, end, s, g->seed, offset);
    else if (counts)
      count_fns[t->dtype](out, begin, end, s, g->seed, offset);
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

/* rates, count, prob: float64, t's shape, contiguous, on the CPU (lib/ops/random.c prepares them) */
int tn_cpu_poisson(tn_tensor *t, const tn_tensor *rates, tn_generator *g) {
  fill_spec s = {.kind = POISSON, .p = (const double *)tn_base(rates)};
  return fill(t, &s, g);
}

int tn_cpu_binomial(tn_tensor *t, const tn_tensor *count, const tn_tensor *prob, tn_generator *g) {
  fill_spec s = {.kind = BINOMIAL, .p = (const double *)tn_base(count), .q = (const double *)tn_base(prob)};
  return fill(t, &s, g);
}
