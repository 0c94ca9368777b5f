/* index.c: CPU kernels of the indexing ops: gather, scatter (with its reductions), the mask ops and nonzero.
 *
 * Moves that do not look at values (gather, scatter's SET, masked fill/select/scatter) go by element size;
 * reductions and nonzero tests are stamped per dtype from the dtype list. Gather checks each index as it
 * reads it, scatter as it applies it (a bad index stops the op with an error; what was written before it
 * stays written, as in PyTorch). Ops whose output order is the element order (masked_select, masked_scatter_, nonzero) count first,
 * then write, each thread from the offset its predecessors' counts give. */
#include "cpu.h"

#include <omp.h>
#include <stdlib.h>

/* Unsigned and bool kernels share the signed expressions, whose sign tests are then constant. */
#pragma GCC diagnostic ignored "-Wtype-limits"

/* ---- index positions ---- */

/* (in unsigned arithmetic: an index near INT64_MIN wraps to a position out of range instead of overflowing) */
static inline int64_t position_of(const tn_index_spec *s, int64_t v) {
  return (int64_t)(v < 0 && s->negative ? (uint64_t)v + (uint64_t)s->size : (uint64_t)v - (uint64_t)s->base);
}
static inline bool in_range(const tn_index_spec *s, int64_t p) { return (uint64_t)p < (uint64_t)s->size; }

typedef struct index_ctx {
  const tn_index_spec *spec;
  int64_t step; /* bytes between neighbouring positions along the indexed dim */
  int failed;
  int64_t bad; /* the out-of-range index value seen first */
} index_ctx;

static void report_bad(index_ctx *c, int64_t v) {
  if (!__atomic_exchange_n(&c->failed, 1, __ATOMIC_RELAXED)) c->bad = v;
}

/* ---- gather: out[i] = src[i + position(index[i]) * step] ---- */

#define DEFINE_GATHER(T)                                                                               \
  static void gather_##T(char **data, const int64_t *strides, int64_t n, void *context) {              \
    index_ctx *c = context;                                                                            \
    const tn_index_spec spec = *c->spec, *s = &spec;                                                   \
    char *out = data[0];                                                                               \
    const char *src = data[1], *idx = data[2];                                                         \
    if (strides[2] == 0) { /* one index for the run: a plain copy (index_select's rows) */             \
      int64_t v = *(const int64_t *)idx, p = position_of(s, v);                                        \
      if (!in_range(s, p)) return report_bad(c, v);                                                    \
      src += p * c->step;                                                                              \
      if (strides[0] == sizeof(T) && strides[1] == sizeof(T)) {                                        \
        memcpy(out, src, (size_t)n * sizeof(T));                                                       \
      } else {                                                                                         \
        for (int64_t i = 0; i < n; i++) *(T *)(out + i * strides[0]) = *(const T *)(src + i * strides[1]); \
      }                                                                                                \
    } else if (strides[0] == sizeof(T) && strides[1] == 0 && strides[2] == sizeof(int64_t)) {          \
      /* along the indexed dim itself: contiguous out and index */                                     \
      T *restrict o = (T *)out;                                                                        \
      const int64_t *restrict ix = (const int64_t *)idx;                                               \
      for (int64_t i = 0; i < n; i++) {                                                                \
        int64_t p = position_of(s, ix[i]);                                                             \
        if (!in_range(s, p)) return report_bad(c, ix[i]);                                              \
        o[i] = *(const T *)(src + p * c->step);                                                        \
      }                                                                                                \
    } else {                                                                                           \
      for (int64_t i = 0; i < n; i++) {                                                                \
        int64_t v = *(const int64_t *)(idx + i * strides[2]), p = position_of(s, v);                   \
        if (!in_range(s, p)) return report_bad(c, v);                                                  \
        *(T *)(out + i * strides[0]) = *(const T *)(src + i * strides[1] + p * c->step);               \
      }                                                                                                \
    }                                                                                                  \
  }
DEFINE_GATHER(uint8_t)
DEFINE_GATHER(uint16_t)
DEFINE_GATHER(uint32_t)
DEFINE_GATHER(uint64_t)

static tn_loop_fn by_size(int64_t size, tn_loop_fn f1, tn_loop_fn f2, tn_loop_fn f4, tn_loop_fn f8) {
  return size == 1 ? f1 : size == 2 ? f2 : size == 4 ? f4 : f8;
}

int tn_cpu_gather(tn_tensor *out, const tn_tensor *src, const tn_tensor *index, const tn_index_spec *spec) {
  int64_t es = tn_dtype_size(out->dtype);
  index_ctx c = {spec, spec->stride * es, 0, 0};
  const tn_tensor *ops[3] = {out, src, index};
  tn_iter it;
  tn_iter_init(&it, out->ndim, out->sizes, 3, ops);
  tn_iter_run(&it, by_size(es, gather_uint8_t, gather_uint16_t, gather_uint32_t, gather_uint64_t), &c, TN_GRAIN);
  return c.failed ? tn_index_error(spec, c.bad) : 0;
}

/* ---- scatter: dst[i + position(index[i]) * step] (op)= src[i], serial along the scatter dim ---- */

typedef struct scatter_ctx {
  index_ctx check;              /* the spec, and the first bad index */
  const tn_index_spec *spec;
  int64_t step;                 /* bytes between positions of dst along the indexed dim */
  int64_t length;               /* elements along the serial dim */
  int64_t index_step, src_step; /* bytes between neighbours along the serial dim */
  double alpha;
} scatter_ctx;

/* The loop fn sees the iteration with the serial dim removed; for each of its n elements the serial dim's
 * `length` elements are applied in order, by APPLY(T *dst, const T *src, alpha). Each index is checked as it
 * is used: a bad one stops the op (what was written before it stays written, as in PyTorch). The loop
 * orders walk memory along whichever of the run and the serial dim is closer to contiguous; all keep the
 * serial order per destination. */
#define CHECKED_POSITION(p, v, NEGATIVE)                                                               \
  int64_t p = (int64_t)((NEGATIVE) && (v) < 0 ? (uint64_t)(v) + (uint64_t)s->size                      \
                                               : (uint64_t)(v) - (uint64_t)s->base);                   \
  if ((uint64_t)p >= (uint64_t)s->size) return report_bad(&c->check, v)
#define SCATTER_LOOPS(T, APPLY, ALPHA, NEGATIVE)                                                       \
  if (strides[1] == 0) { /* one index per serial step for the whole run (index_add_ and friends) */    \
    for (int64_t k = 0; k < c->length; k++) {                                                          \
      int64_t v = *(const int64_t *)(data[1] + k * c->index_step);                                     \
      CHECKED_POSITION(p, v, NEGATIVE);                                                                \
      char *o = data[0] + p * c->step;                                                                 \
      const char *from = data[2] + k * c->src_step;                                                    \
      if (strides[0] == sizeof(T) && strides[2] == sizeof(T)) {                                        \
        T *restrict po = (T *)o;                                                                       \
        const T *restrict ps = (const T *)from;                                                        \
        for (int64_t i = 0; i < n; i++) APPLY(po + i, ps + i, ALPHA);                                  \
      } else {                                                                                         \
        for (int64_t i = 0; i < n; i++)                                                                \
          APPLY((T *)(o + i * strides[0]), (const T *)(from + i * strides[2]), ALPHA);                 \
      }                                                                                                \
    }                                                                                                  \
  } else if (c->index_step == sizeof(int64_t) && c->src_step == sizeof(T)) {                           \
    /* along the innermost dim of index and src (scatter_add_ along the last dim): typed pointers */    \
    const int64_t step = c->step / (int64_t)sizeof(T);                                                 \
    for (int64_t i = 0; i < n; i++) {                                                                  \
      T *o = (T *)(data[0] + i * strides[0]);                                                          \
      const int64_t *restrict ix = (const int64_t *)(data[1] + i * strides[1]);                        \
      const T *restrict ps = (const T *)(data[2] + i * strides[2]);                                    \
      if (step == 1) {                                                                                 \
        for (int64_t k = 0; k < c->length; k++) {                                                      \
          CHECKED_POSITION(p, ix[k], NEGATIVE);                                                        \
          APPLY(o + p, ps + k, ALPHA);                                                                 \
        }                                                                                              \
      } else {                                                                                         \
        for (int64_t k = 0; k < c->length; k++) {                                                      \
          CHECKED_POSITION(p, ix[k], NEGATIVE);                                                        \
          APPLY(o + p * step, ps + k, ALPHA);                                                          \
        }                                                                                              \
      }                                                                                                \
    }                                                                                                  \
  } else if (llabs(c->index_step) < llabs(strides[1])) {                                               \
    for (int64_t i = 0; i < n; i++)                                                                    \
      for (int64_t k = 0; k < c->length; k++) {                                                        \
        int64_t v = *(const int64_t *)(data[1] + i * strides[1] + k * c->index_step);                  \
        CHECKED_POSITION(p, v, NEGATIVE);                                                              \
        APPLY((T *)(data[0] + i * strides[0] + p * c->step),                                           \
              (const T *)(data[2] + i * strides[2] + k * c->src_step), ALPHA);                         \
      }                                                                                                \
  } else {                                                                                             \
    for (int64_t k = 0; k < c->length; k++)                                                            \
      for (int64_t i = 0; i < n; i++) {                                                                \
        int64_t v = *(const int64_t *)(data[1] + i * strides[1] + k * c->index_step);                  \
        CHECKED_POSITION(p, v, NEGATIVE);                                                              \
        APPLY((T *)(data[0] + i * strides[0] + p * c->step),                                           \
              (const T *)(data[2] + i * strides[2] + k * c->src_step), ALPHA);                         \
      }                                                                                                \
  }
/* (negative indices, which only index_fill_ and put_ take, get their own copy of the loops) */
#define SCATTER_BODY(T, APPLY, ALPHA)                                                                  \
  scatter_ctx *c = context;                                                                            \
  const tn_index_spec spec = *c->spec, *s = &spec; /* a local copy the stores cannot alias */          \
  if (s->negative) {                                                                                   \
    SCATTER_LOOPS(T, APPLY, ALPHA, 1)                                                                  \
  } else {                                                                                             \
    SCATTER_LOOPS(T, APPLY, ALPHA, 0)                                                                  \
  }

#define DEFINE_SCATTER_SET(T)                                                                          \
  static inline void apply_set_##T(T *d, const T *v, int alpha) {                                      \
    (void)alpha;                                                                                       \
    *d = *v;                                                                                           \
  }                                                                                                    \
  static void scatter_set_##T(char **data, const int64_t *strides, int64_t n, void *context) {         \
    SCATTER_BODY(T, apply_set_##T, 0)                                                                  \
  }
DEFINE_SCATTER_SET(uint8_t)
DEFINE_SCATTER_SET(uint16_t)
DEFINE_SCATTER_SET(uint32_t)
DEFINE_SCATTER_SET(uint64_t)

/* The reductions, as expressions of the destination a and the source b in the compute type. */
#define CLASS_FLOAT F
#define CLASS_HALF F
#define CLASS_BF16 F
#define CLASS_INT I
#define CLASS_BOOL B
#define CAT(a, b) CAT_(a, b)
#define CAT_(a, b) a##b
#define EXPR(K, KIND) CAT(K##_, CLASS_##KIND)
#define add_F(a, b) ((a) + alpha * (b))
#define add_I add_F
#define add_B(a, b) ((a) | (b))
#define add1_F(a, b) ((a) + (b)) /* add with alpha 1: the common case, without the multiply */
#define add1_I add1_F
#define add1_B(a, b) ((a) | (b))
#define mul_F(a, b) ((a) * (b))
#define mul_I mul_F
#define mul_B(a, b) ((a) & (b))
#define amax_F(a, b) ((a) != (a) || (b) != (b) ? (a) + (b) : (b) > (a) ? (b) : (a)) /* NaN propagates */
#define amax_I(a, b) ((b) > (a) ? (b) : (a))
#define amax_B(a, b) ((a) | (b))
#define amin_F(a, b) ((a) != (a) || (b) != (b) ? (a) + (b) : (b) < (a) ? (b) : (a))
#define amin_I(a, b) ((b) < (a) ? (b) : (a))
#define amin_B(a, b) ((a) & (b))

#define DEFINE_SCATTER_REDUCE(K, ENUM, SUF, T, CT, KIND)                                               \
  static inline void apply_##K##_##SUF(T *d, const T *v, CT alpha) {                                   \
    (void)alpha;                                                                                       \
    *d = TN_STORE_##KIND(T, EXPR(K, KIND)(TN_LOAD_##KIND(*d), TN_LOAD_##KIND(*v)));                    \
  }                                                                                                    \
  static void scatter_##K##_##SUF(char **data, const int64_t *strides, int64_t n, void *context) {     \
    const CT alpha = (CT)((const scatter_ctx *)context)->alpha;                                        \
    SCATTER_BODY(T, apply_##K##_##SUF, alpha)                                                          \
  }
TN_FOREACH_ALL_ARG(DEFINE_SCATTER_REDUCE, add)
TN_FOREACH_ALL_ARG(DEFINE_SCATTER_REDUCE, add1)
TN_FOREACH_ALL_ARG(DEFINE_SCATTER_REDUCE, mul)
TN_FOREACH_ALL_ARG(DEFINE_SCATTER_REDUCE, amax)
TN_FOREACH_ALL_ARG(DEFINE_SCATTER_REDUCE, amin)

#define REDUCE_ENTRY(K, ENUM, SUF, T, CT, KIND) [ENUM] = scatter_##K##_##SUF,
enum { SCATTER_ADD1 = TN_SCATTER_AMIN + 1 };
static const tn_loop_fn scatter_reduce_loops[SCATTER_ADD1 + 1][TN_NUM_DTYPES] = {
    [TN_SCATTER_ADD] = {TN_FOREACH_ALL_ARG(REDUCE_ENTRY, add)},
    [SCATTER_ADD1] = {TN_FOREACH_ALL_ARG(REDUCE_ENTRY, add1)},
    [TN_SCATTER_MUL] = {TN_FOREACH_ALL_ARG(REDUCE_ENTRY, mul)},
    [TN_SCATTER_AMAX] = {TN_FOREACH_ALL_ARG(REDUCE_ENTRY, amax)},
    [TN_SCATTER_AMIN] = {TN_FOREACH_ALL_ARG(REDUCE_ENTRY, amin)},
};

/* A view of t with size 1 along dim (the serial dim the loop fn walks itself). */
static tn_tensor without_dim(const tn_tensor *t, int dim) {
  tn_tensor v = *t;
  v.sizes[dim] = 1;
  v.numel = tn_shape_numel(v.ndim, v.sizes);
  return v;
}

int tn_cpu_scatter(tn_tensor *dst, const tn_tensor *index, const tn_tensor *src, const tn_index_spec *spec,
                   int reduce, double alpha) {
  int64_t es = tn_dtype_size(dst->dtype);
  int sd = spec->dim < 0 ? 0 : spec->dim;
  scatter_ctx c = {{spec, 0, 0, 0}, spec, spec->stride * es, index->sizes[sd],
                   index->strides[sd] * (int64_t)sizeof(int64_t), src->strides[sd] * es, alpha};
  tn_tensor d = without_dim(dst, sd), i = without_dim(index, sd), s = without_dim(src, sd);
  const tn_tensor *ops[3] = {&d, &i, &s};
  tn_loop_fn fn = reduce == TN_SCATTER_SET
                      ? by_size(es, scatter_set_uint8_t, scatter_set_uint16_t, scatter_set_uint32_t, scatter_set_uint64_t)
                      : scatter_reduce_loops[reduce == TN_SCATTER_ADD && alpha == 1 ? SCATTER_ADD1 : reduce][dst->dtype];
  tn_iter it;
  tn_iter_init(&it, d.ndim, d.sizes, 3, ops);
  int64_t grain = TN_GRAIN / (c.length > 0 ? c.length : 1);
  tn_iter_run(&it, fn, &c, grain > 0 ? grain : 1);
  return c.check.failed ? tn_index_error(spec, c.check.bad) : 0;
}

/* ---- masks ---- */

#define STORE_CASE(ENUM, SUF, T, CT, KIND) \
  case ENUM: *(T *)dst = TN_STORE_##KIND(T, v); break;
static void store_value(void *dst, int dtype, double v) {
  switch (dtype) { TN_FOREACH_DTYPE(STORE_CASE) }
}

#define DEFINE_MASKED_FILL(T)                                                                          \
  static void masked_fill_##T(char **data, const int64_t *strides, int64_t n, void *context) {         \
    const T v = *(const T *)context;                                                                   \
    if (strides[0] == sizeof(T) && strides[1] == 1) {                                                  \
      T *restrict o = (T *)data[0];                                                                    \
      const uint8_t *restrict m = (const uint8_t *)data[1];                                            \
      for (int64_t i = 0; i < n; i++) o[i] = m[i] ? v : o[i];                                          \
    } else if (strides[1] == 0) {                                                                      \
      if (*(const uint8_t *)data[1])                                                                   \
        for (int64_t i = 0; i < n; i++) *(T *)(data[0] + i * strides[0]) = v;                          \
    } else {                                                                                           \
      for (int64_t i = 0; i < n; i++)                                                                  \
        if (*(const uint8_t *)(data[1] + i * strides[1])) *(T *)(data[0] + i * strides[0]) = v;        \
    }                                                                                                  \
  }
DEFINE_MASKED_FILL(uint8_t)
DEFINE_MASKED_FILL(uint16_t)
DEFINE_MASKED_FILL(uint32_t)
DEFINE_MASKED_FILL(uint64_t)

int tn_cpu_masked_fill(tn_tensor *x, const tn_tensor *mask, double value) {
  uint64_t pattern = 0;
  store_value(&pattern, x->dtype, value);
  const tn_tensor *ops[2] = {x, mask};
  tn_iter it;
  tn_iter_init(&it, x->ndim, x->sizes, 2, ops);
  int64_t es = tn_dtype_size(x->dtype);
  tn_iter_run(&it, by_size(es, masked_fill_uint8_t, masked_fill_uint16_t, masked_fill_uint32_t, masked_fill_uint64_t),
              &pattern, TN_GRAIN);
  return 0;
}

/* Nonzero tests per dtype (NaN is nonzero, -0.0 is zero). */
#define DEFINE_COUNT(ENUM, SUF, T, CT, KIND)                                                           \
  static void count_##SUF(char **data, const int64_t *strides, int64_t n, void *context) {             \
    int64_t count = 0;                                                                                 \
    if (strides[0] == sizeof(T)) {                                                                     \
      const T *restrict p = (const T *)data[0];                                                        \
      for (int64_t i = 0; i < n; i++) count += TN_LOAD_##KIND(p[i]) != 0;                              \
    } else {                                                                                           \
      for (int64_t i = 0; i < n; i++) count += TN_LOAD_##KIND(*(const T *)(data[0] + i * strides[0])) != 0; \
    }                                                                                                  \
    *(int64_t *)context += count;                                                                      \
  }
TN_FOREACH_DTYPE(DEFINE_COUNT)
#define COUNT_ENTRY(ENUM, SUF, T, CT, KIND) [ENUM] = count_##SUF,
static const tn_loop_fn count_loops[TN_NUM_DTYPES] = {TN_FOREACH_DTYPE(COUNT_ENTRY)};

/* Splits it's element range over nt threads; counts[t] gets fn's count over thread t's part. */
static void count_parts(const tn_iter *it, tn_loop_fn fn, int nt, int64_t *counts) {
  if (nt <= 1) {
    counts[0] = 0;
    tn_iter_run_range(it, 0, it->numel, fn, &counts[0]);
    return;
  }
#pragma omp parallel num_threads(nt)
  {
    int t = omp_get_thread_num();
    int64_t begin = it->numel * t / nt, end = it->numel * (t + 1) / nt;
    counts[t] = 0;
    tn_iter_run_range(it, begin, end, fn, &counts[t]);
  }
}

int64_t tn_cpu_count_nonzero(const tn_tensor *x) {
  const tn_tensor *ops[1] = {x};
  tn_iter it;
  tn_iter_init(&it, x->ndim, x->sizes, 1, ops);
  int nt = tn_parallel_threads(it.numel, TN_GRAIN);
  int64_t one, *counts = nt > 1 ? malloc(sizeof(int64_t) * (size_t)nt) : &one, total = 0;
  if (!counts) return tn_error("count_nonzero: out of memory");
  count_parts(&it, count_loops[x->dtype], nt, counts);
  for (int t = 0; t < nt; t++) total += counts[t];
  if (counts != &one) free(counts);
  return total;
}

/* An iterator over `shape` in row-major order: unlike tn_iter_init it never reorders dims (the order is the
 * result's order), only merges neighbours that every operand steps through as one run. */
static void rowmajor_iter_init(tn_iter *it, int ndim, const int64_t *shape, int nops, const tn_tensor *const *ops) {
  it->nops = nops;
  it->numel = tn_shape_numel(ndim, shape);
  int out = 0;
  for (int d = ndim - 1; d >= 0; d--) {
    if (shape[d] == 1) continue;
    bool merge = out > 0;
    for (int k = 0; k < nops && merge; k++)
      merge = ops[k]->strides[d] * tn_dtype_size(ops[k]->dtype) == it->strides[out - 1][k] * it->shape[out - 1];
    if (merge) {
      it->shape[out - 1] *= shape[d];
      continue;
    }
    it->shape[out] = shape[d];
    for (int k = 0; k < nops; k++) it->strides[out][k] = ops[k]->strides[d] * tn_dtype_size(ops[k]->dtype);
    out++;
  }
  if (out == 0) {
    it->shape[0] = it->numel;
    for (int k = 0; k < nops; k++) it->strides[0][k] = 0;
    out = 1;
  }
  it->ndim = out;
  for (int k = 0; k < nops; k++) it->data[k] = tn_data_ptr(ops[k]);
}

/* counts the mask (operand 1) of a (values, mask) iteration */
static void count_mask(char **data, const int64_t *strides, int64_t n, void *context) {
  int64_t count = 0;
  if (strides[1] == 1) {
    const uint8_t *restrict m = (const uint8_t *)data[1];
    for (int64_t i = 0; i < n; i++) count += m[i] != 0;
  } else {
    for (int64_t i = 0; i < n; i++) count += *(const uint8_t *)(data[1] + i * strides[1]) != 0;
  }
  *(int64_t *)context += count;
}

/* Where a thread writes (masked_select) or reads (masked_scatter_) the packed elements. */
typedef struct packed_cursor {
  char *at;
  int64_t stride;
} packed_cursor;

#define DEFINE_MASKED_MOVES(T)                                                                         \
  static void masked_select_##T(char **data, const int64_t *strides, int64_t n, void *context) {       \
    packed_cursor *c = context;                                                                        \
    for (int64_t i = 0; i < n; i++)                                                                    \
      if (*(const uint8_t *)(data[1] + i * strides[1])) {                                              \
        *(T *)c->at = *(const T *)(data[0] + i * strides[0]);                                          \
        c->at += c->stride;                                                                            \
      }                                                                                                \
  }                                                                                                    \
  static void masked_scatter_##T(char **data, const int64_t *strides, int64_t n, void *context) {      \
    packed_cursor *c = context;                                                                        \
    for (int64_t i = 0; i < n; i++)                                                                    \
      if (*(const uint8_t *)(data[1] + i * strides[1])) {                                              \
        *(T *)(data[0] + i * strides[0]) = *(const T *)c->at;                                          \
        c->at += c->stride;                                                                            \
      }                                                                                                \
  }
DEFINE_MASKED_MOVES(uint8_t)
DEFINE_MASKED_MOVES(uint16_t)
DEFINE_MASKED_MOVES(uint32_t)
DEFINE_MASKED_MOVES(uint64_t)

/* Runs a masked move over (values, mask) in row-major order: counts per thread, then moves each thread's
 * elements from/to the packed tensor at the offset of its part. */
static int masked_move(tn_tensor *values, const tn_tensor *mask, char *packed, int64_t packed_stride, tn_loop_fn fn) {
  const tn_tensor *ops[2] = {values, mask};
  tn_iter it;
  rowmajor_iter_init(&it, values->ndim, values->sizes, 2, ops);
  int nt = tn_parallel_threads(it.numel, TN_GRAIN);
  if (nt <= 1) {
    packed_cursor cursor = {packed, packed_stride};
    tn_iter_run_range(&it, 0, it.numel, fn, &cursor);
    return 0;
  }
  int64_t *counts = malloc(sizeof(int64_t) * (size_t)nt);
  if (!counts) return tn_error("masked op: out of memory");
  count_parts(&it, count_mask, nt, counts);
#pragma omp parallel num_threads(nt)
  {
    int t = omp_get_thread_num();
    int64_t offset = 0;
    for (int u = 0; u < t; u++) offset += counts[u];
    packed_cursor cursor = {packed + offset * packed_stride, packed_stride};
    tn_iter_run_range(&it, it.numel * t / nt, it.numel * (t + 1) / nt, fn, &cursor);
  }
  free(counts);
  return 0;
}

int tn_cpu_masked_select(tn_tensor *out, const tn_tensor *x, const tn_tensor *mask) {
  int64_t es = tn_dtype_size(x->dtype);
  tn_tensor values = *x; /* read only */
  return masked_move(&values, mask, tn_data_ptr(out), out->strides[0] * es,
                     by_size(es, masked_select_uint8_t, masked_select_uint16_t, masked_select_uint32_t,
                             masked_select_uint64_t));
}

int tn_cpu_masked_scatter(tn_tensor *x, const tn_tensor *mask, const tn_tensor *src) {
  int64_t es = tn_dtype_size(x->dtype);
  return masked_move(x, mask, tn_data_ptr(src), src->strides[0] * es,
                     by_size(es, masked_scatter_uint8_t, masked_scatter_uint16_t, masked_scatter_uint32_t,
                             masked_scatter_uint64_t));
}

/* ---- nonzero ---- */

/* Writes the coordinates (plus base) of the nonzero elements among x's contiguous elements [begin, end). */
#define DEFINE_NONZERO(ENUM, SUF, T, CT, KIND)                                                         \
  static void nonzero_##SUF(const void *data, int64_t begin, int64_t end, int ndim, const int64_t *sizes, \
                            int64_t *out, int64_t base) {                                              \
    const T *x = data;                                                                                 \
    int64_t coord[TN_MAX_DIMS], rest = begin;                                                          \
    for (int d = ndim - 1; d >= 0; d--) {                                                              \
      coord[d] = rest % sizes[d];                                                                      \
      rest /= sizes[d];                                                                                \
    }                                                                                                  \
    for (int64_t i = begin; i < end; i++) {                                                            \
      if (TN_LOAD_##KIND(x[i]) != 0)                                                                   \
        for (int d = 0; d < ndim; d++) *out++ = coord[d] + base;                                       \
      for (int d = ndim - 1; d >= 0 && ++coord[d] == sizes[d]; d--) coord[d] = 0;                      \
    }                                                                                                  \
  }
TN_FOREACH_DTYPE(DEFINE_NONZERO)
typedef void (*nonzero_fn)(const void *, int64_t, int64_t, int, const int64_t *, int64_t *, int64_t);
#define NONZERO_ENTRY(ENUM, SUF, T, CT, KIND) [ENUM] = nonzero_##SUF,
static const nonzero_fn nonzero_loops[TN_NUM_DTYPES] = {TN_FOREACH_DTYPE(NONZERO_ENTRY)};

int tn_cpu_nonzero(tn_tensor *out, const tn_tensor *x, int64_t base) {
  tn_tensor *flat = tn_contiguous(x);
  if (!flat) return -1;
  int64_t n = x->numel;
  tn_tensor line = *flat;
  line.ndim = 1;
  line.sizes[0] = n;
  line.strides[0] = 1;
  const tn_tensor *ops[1] = {&line};
  tn_iter it;
  tn_iter_init(&it, 1, &n, 1, ops);
  int nt = tn_parallel_threads(n, TN_GRAIN);
  const char *data = tn_data_ptr(flat);
  int64_t *coords = tn_data_ptr(out);
  if (nt <= 1) {
    nonzero_loops[x->dtype](data, 0, n, x->ndim, x->sizes, coords, base);
    tn_tensor_free(flat);
    return 0;
  }
  int64_t *counts = malloc(sizeof(int64_t) * (size_t)nt);
  if (!counts) {
    tn_tensor_free(flat);
    return tn_error("nonzero: out of memory");
  }
  count_parts(&it, count_loops[x->dtype], nt, counts);
#pragma omp parallel num_threads(nt)
  {
    int t = omp_get_thread_num();
    int64_t offset = 0;
    for (int u = 0; u < t; u++) offset += counts[u];
    nonzero_loops[x->dtype](data, n * t / nt, n * (t + 1) / nt, x->ndim, x->sizes, coords + offset * x->ndim, base);
  }
  free(counts);
  tn_tensor_free(flat);
  return 0;
}
