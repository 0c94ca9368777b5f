/* reduce_kernels.c: the CPU reduction kernels, one set of functions per (kind, dtype), stamped from the dtype
 * lists of internal.h. See reduce.h for the contract with the driver (reduce.c).
 *
 * Families:
 *  - arith: a fold with + * & or | of a mapped element (sum, nansum, mean, count_nonzero, the norms of
 *    finite order, prod, all, any). Runs fold into 256 bytes of independent lanes that the compiler keeps
 *    in vector registers, then add the lanes pairwise; the driver's cascade merges runs and leaves.
 *  - minmax: amax, amin and the infinite-order norms, NaN propagating; aminmax keeps both.
 *  - arg: argmax, argmin and max/min with indices. A run is searched in two passes (its extreme, vectorised;
 *    then the first position holding it); rows update values and indices with selects. Ties and NaNs: the
 *    first occurrence wins.
 *  - var: count, mean and M2 in float64; each run or tile is reduced in two passes (from cache) and merged
 *    with Chan's formula.
 *  - logsumexp: a max m and the sum of exp(x - m); runs and tiles in two passes, merged by rescaling. */
#include "../internal.h"
#include "../reduce_ops.h"
#include "reduce.h"
#include "vecmath.h"

#include <math.h>

/* Each role has one signature, and many kernels ignore some of its parameters; unsigned dtypes share the
 * signed expressions, whose sign tests are then constant; compute types are typedef'd for the expressions
 * whether or not they use them. */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wtype-limits"
#pragma GCC diagnostic ignored "-Wunused-local-typedefs"
/* the lanes' initialisation stays a few vector stores rather than a call to memset for every run */
#pragma GCC optimize("no-tree-loop-distribute-patterns")

/* Lanes: 256 bytes of accumulators (eight AVX2 registers), enough independent chains to hide latency; the
 * rest of a run goes through one vector's width (64 bytes) of them, then one element at a time. */
#define LANES(ACC) (256 / (int)sizeof(ACC))
#define VEC(ACC) (64 / (int)sizeof(ACC))
/* Lanes for loops that keep something beside them in registers (the extremes' NaN flags), and the strips of the
 * outer sums: LANES where there are 32 vector registers, half as many where there are 16 (with 256 bytes of
 * lanes and as many flags, AVX2 spilled both to the stack on every step and an amax ran at half speed; strips
 * of 32 floats summed 1000 x 1000 by columns a little faster there than strips of 64). */
#if defined(__AVX512F__)
#define REG_LANES(ACC) LANES(ACC)
#else
#define REG_LANES(ACC) (LANES(ACC) / 2)
#endif

static inline int nan_f(float x) { return x != x; }
static inline int nan_d(double x) { return x != x; }
static inline int nan_none(int64_t x) { return 0; }
#define IS_NAN(x) _Generic((x), float: nan_f, double: nan_d, default: nan_none)(x)

/* ---- accumulator and output types by dtype kind ---- */

/* sums and products: the compute type for float32/float64, float for 16-bit floats, uint64 (wrapping) for
 * integers and bool, whose results are int64 */
#define SUM_ACC_FLOAT(CT) CT
#define SUM_ACC_HALF(CT) float
#define SUM_ACC_BF16(CT) float
#define SUM_ACC_INT(CT) uint64_t
#define SUM_ACC_BOOL(CT) uint64_t
#define SUM_OT_FLOAT(T) T
#define SUM_OT_HALF(T) T
#define SUM_OT_BF16(T) T
#define SUM_OT_INT(T) int64_t
#define SUM_OT_BOOL(T) int64_t
#define SUM_STORE_FLOAT TN_STORE_FLOAT
#define SUM_STORE_HALF TN_STORE_HALF
#define SUM_STORE_BF16 TN_STORE_BF16
#define STORE_I64(T, v) ((int64_t)(v))
#define STORE_U8(T, v) ((uint8_t)(v))
#define SUM_STORE_INT STORE_I64
#define SUM_STORE_BOOL STORE_I64

/* the identities of max and min */
#define TYPE_MIN(T) _Generic((T)0, int64_t: INT64_MIN, int32_t: INT32_MIN, int16_t: INT16_MIN, int8_t: INT8_MIN, \
                             default: 0)
#define TYPE_MAX(T) _Generic((T)0, int64_t: INT64_MAX, int32_t: INT32_MAX, int16_t: INT16_MAX, int8_t: INT8_MAX, \
                             default: UINT8_MAX)
#define LOWEST_FLOAT(T) (-INFINITY)
#define LOWEST_HALF(T) (-INFINITY)
#define LOWEST_BF16(T) (-INFINITY)
#define LOWEST_INT(T) TYPE_MIN(T)
#define LOWEST_BOOL(T) 0
#define HIGHEST_FLOAT(T) INFINITY
#define HIGHEST_HALF(T) INFINITY
#define HIGHEST_BF16(T) INFINITY
#define HIGHEST_INT(T) TYPE_MAX(T)
#define HIGHEST_BOOL(T) 1

/* x replaces v: max and min with NaN propagating (a NaN is never replaced) */
#define TAKE_MAX(x, v) ((x) > (v) || IS_NAN(x))
#define TAKE_MIN(x, v) ((x) < (v) || IS_NAN(x))
/* x replaces v in the arg kernels: strictly better, or the first NaN */
#define BETTER_MAX(x, v) ((x) > (v) || (IS_NAN(x) && !IS_NAN(v)))
#define BETTER_MIN(x, v) ((x) < (v) || (IS_NAN(x) && !IS_NAN(v)))

/* ---- arith: a fold of MAP(x) with OP, starting at IDENT, finished with FINAL ---- */

#define ARITH_FAMILY(NAME, T, CT, ACC, LOAD, MAP, FINAL, OT, STORE, OP, IDENT)                              \
  static void NAME##_init(void *st, int64_t n) {                                                           \
    ACC *a = st;                                                                                           \
    for (int64_t j = 0; j < n; j++) a[j] = IDENT;                                                          \
  }                                                                                                        \
  static void NAME##_run(void *st, int64_t n, int64_t slot, const char *ptr, int64_t len, int64_t index,   \
                         const rk_ctx *c) {                                                                \
    typedef CT ct;                                                                                         \
    typedef ACC acc_t;                                                                                     \
    enum { L = LANES(ACC), W = VEC(ACC) };                                                                 \
    const T *restrict p = (const T *)ptr;                                                                  \
    acc_t lane[L];                                                                                         \
    for (int j = 0; j < L; j++) lane[j] = IDENT;                                                           \
    int64_t i = 0;                                                                                         \
    for (; i + L <= len; i += L)                                                                           \
      for (int j = 0; j < L; j++) {                                                                        \
        ct x = LOAD(p[i + j]);                                                                             \
        lane[j] = lane[j] OP(acc_t)(MAP(x));                                                               \
      }                                                                                                    \
    for (; i + W <= len; i += W)                                                                           \
      for (int j = 0; j < W; j++) {                                                                        \
        ct x = LOAD(p[i + j]);                                                                             \
        lane[j] = lane[j] OP(acc_t)(MAP(x));                                                               \
      }                                                                                                    \
    /* the last few elements apart: lanes stored one at a time, then loaded as vectors, stall the loads */ \
    acc_t rest = IDENT;                                                                                    \
    for (; i < len; i++) {                                                                                 \
      ct x = LOAD(p[i]);                                                                                   \
      rest = rest OP(acc_t)(MAP(x));                                                                       \
    }                                                                                                      \
    _Pragma("GCC unroll 8") /* the tree unrolled stays in registers; as a loop it went through the stack */ \
    for (int w = L / 2; w > 0; w /= 2)                                                                     \
      for (int j = 0; j < w; j++) lane[j] = lane[j] OP lane[j + w];                                        \
    acc_t *a = st;                                                                                         \
    a[slot] = a[slot] OP(lane[0] OP rest);                                                                 \
  }                                                                                                        \
  static void NAME##_rows(void *st, int64_t n, const char *ptr, int64_t rs, int64_t nrows, int64_t index,  \
                          const rk_ctx *c) {                                                               \
    typedef CT ct;                                                                                         \
    typedef ACC acc_t;                                                                                     \
    enum { S = REG_LANES(ACC) };                                                                           \
    acc_t *restrict a = st;                                                                                \
    int64_t j0 = 0;                                                                                        \
    /* strips of S slots held in registers down all the rows: a load a row, not a load and a store */      \
    for (; j0 + S <= n; j0 += S) {                                                                         \
      acc_t lane[S];                                                                                       \
      for (int j = 0; j < S; j++) lane[j] = a[j0 + j];                                                     \
      for (int64_t r = 0; r < nrows; r++) {                                                                \
        const T *restrict p = (const T *)(ptr + r * rs) + j0;                                              \
        for (int j = 0; j < S; j++) {                                                                      \
          ct x = LOAD(p[j]);                                                                               \
          lane[j] = lane[j] OP(acc_t)(MAP(x));                                                             \
        }                                                                                                  \
      }                                                                                                    \
      for (int j = 0; j < S; j++) a[j0 + j] = lane[j];                                                     \
    }                                                                                                      \
    for (int64_t r = 0; r < nrows; r++) {                                                                  \
      const T *restrict p = (const T *)(ptr + r * rs);                                                     \
      for (int64_t j = j0; j < n; j++) {                                                                   \
        ct x = LOAD(p[j]);                                                                                 \
        a[j] = a[j] OP(acc_t)(MAP(x));                                                                     \
      }                                                                                                    \
    }                                                                                                      \
  }                                                                                                        \
  static void NAME##_combine(void *st, const void *later, int64_t n) {                                     \
    ACC *restrict a = st;                                                                                  \
    const ACC *restrict b = later;                                                                         \
    for (int64_t j = 0; j < n; j++) a[j] = a[j] OP b[j];                                                   \
  }                                                                                                        \
  static void NAME##_finish(char *o0, int64_t s0, char *o1, int64_t s1, const void *st, int64_t n,         \
                            const rk_ctx *c) {                                                             \
    typedef ACC acc_t;                                                                                     \
    const acc_t *a = st;                                                                                   \
    for (int64_t j = 0; j < n; j++) *(OT *)(o0 + j * s0) = STORE(OT, FINAL(a[j]));                         \
  }

/* The variants: map, finish, accumulator, output, operator and identity. */
#define MAP_ID(x) (x)
#define MAP_NAN0(x) (IS_NAN(x) ? 0 : (x))
#define MAP_NONZERO(x) ((x) != 0)
#define MAP_ABS(x) TN_LIBM(fabs, x)
#define MAP_SQUARE(x) ((x) * (x))
#define MAP_POW(x) TN_LIBM2(pow, TN_LIBM(fabs, x), (ct)c->p)
#define FINAL_ID(a) (a)
#define FINAL_MEAN(a) ((a) / (acc_t)c->n)
#define FINAL_SQRT(a) TN_LIBM(sqrt, a)
#define FINAL_ROOT(a) TN_LIBM2(pow, a, (acc_t)(1.0 / c->p))

#define STAMP_SUM_LIKE(NAME, MAP, FINAL, ENUM, SUF, T, CT, KIND)                                            \
  ARITH_FAMILY(NAME##_##SUF, T, CT, SUM_ACC_##KIND(CT), TN_LOAD_##KIND, MAP, FINAL, SUM_OT_##KIND(T),      \
               SUM_STORE_##KIND, +, 0)
#define STAMP_SUM(A, ...) STAMP_SUM_LIKE(sum, MAP_ID, FINAL_ID, __VA_ARGS__)
#define STAMP_NANSUM(A, ...) STAMP_SUM_LIKE(nansum, MAP_NAN0, FINAL_ID, __VA_ARGS__)
#define STAMP_MEAN(A, ...) STAMP_SUM_LIKE(mean, MAP_ID, FINAL_MEAN, __VA_ARGS__)
#define STAMP_NORM0(A, ...) STAMP_SUM_LIKE(norm0, MAP_NONZERO, FINAL_ID, __VA_ARGS__)
#define STAMP_NORM1(A, ...) STAMP_SUM_LIKE(norm1, MAP_ABS, FINAL_ID, __VA_ARGS__)
#define STAMP_NORM2(A, ...) STAMP_SUM_LIKE(norm2, MAP_SQUARE, FINAL_SQRT, __VA_ARGS__)
#define STAMP_NORMP(A, ...) STAMP_SUM_LIKE(normp, MAP_POW, FINAL_ROOT, __VA_ARGS__)
#define STAMP_COUNT(A, ENUM, SUF, T, CT, KIND) \
  ARITH_FAMILY(count_##SUF, T, CT, uint64_t, TN_LOAD_##KIND, MAP_NONZERO, FINAL_ID, int64_t, STORE_I64, +, 0)
#define STAMP_PROD(A, ENUM, SUF, T, CT, KIND)                                                                \
  ARITH_FAMILY(prod_##SUF, T, CT, SUM_ACC_##KIND(CT), TN_LOAD_##KIND, MAP_ID, FINAL_ID, SUM_OT_##KIND(T),    \
               SUM_STORE_##KIND, *, 1)
#define STAMP_ALL(A, ENUM, SUF, T, CT, KIND) \
  ARITH_FAMILY(all_##SUF, T, CT, uint8_t, TN_LOAD_##KIND, MAP_NONZERO, FINAL_ID, uint8_t, STORE_U8, &, 1)
#define STAMP_ANY(A, ENUM, SUF, T, CT, KIND) \
  ARITH_FAMILY(any_##SUF, T, CT, uint8_t, TN_LOAD_##KIND, MAP_NONZERO, FINAL_ID, uint8_t, STORE_U8, |, 0)

TN_FOREACH_ALL_ARG(STAMP_SUM, _)
TN_FOREACH_FLOATING_ARG(STAMP_NANSUM, _)
TN_FOREACH_FLOATING_ARG(STAMP_MEAN, _)
TN_FOREACH_FLOATING_ARG(STAMP_NORM0, _)
TN_FOREACH_FLOATING_ARG(STAMP_NORM1, _)
TN_FOREACH_FLOATING_ARG(STAMP_NORM2, _)
TN_FOREACH_FLOATING_ARG(STAMP_NORMP, _)
TN_FOREACH_ALL_ARG(STAMP_COUNT, _)
TN_FOREACH_ALL_ARG(STAMP_PROD, _)
TN_FOREACH_ALL_ARG(STAMP_ALL, _)
TN_FOREACH_ALL_ARG(STAMP_ANY, _)

/* ---- minmax: v replaced by x when TAKE(x, v) ---- */

/* m = the extreme of MAP(LOAD(p[0..len))) by GT (> for max, < for min) from IDENT, or NaN when a NaN is among
 * them. The lanes keep the plain extreme (a compare and a select: vmaxps/vminps) and, apart, whether a NaN
 * went by (as a mask, -1: a compare and an or), which keeps the loop-carried chain one instruction long. */
#define RUN_EXTREME(m, T, CT, LOAD, MAP, GT, IDENT, ptr, len)                                               \
  do {                                                                                                     \
    enum { L_ = REG_LANES(CT), W_ = VEC(CT) };                                                             \
    const T *restrict p_ = (const T *)(ptr);                                                               \
    CT lane_[L_];                                                                                          \
    int32_t nan_[L_];                                                                                      \
    for (int j = 0; j < L_; j++) lane_[j] = IDENT, nan_[j] = 0;                                            \
    int64_t i_ = 0;                                                                                        \
    for (; i_ + L_ <= (len); i_ += L_)                                                                     \
      for (int j = 0; j < L_; j++) {                                                                       \
        CT x = MAP(LOAD(p_[i_ + j]));                                                                      \
        lane_[j] = GT(x, lane_[j]) ? x : lane_[j];                                                         \
        nan_[j] |= -(int32_t)IS_NAN(x);                                                                    \
      }                                                                                                    \
    for (; i_ + W_ <= (len); i_ += W_)                                                                     \
      for (int j = 0; j < W_; j++) {                                                                       \
        CT x = MAP(LOAD(p_[i_ + j]));                                                                      \
        lane_[j] = GT(x, lane_[j]) ? x : lane_[j];                                                         \
        nan_[j] |= -(int32_t)IS_NAN(x);                                                                    \
      }                                                                                                    \
    CT rest_ = IDENT; /* the last few elements apart, as in the arith kernels */                           \
    int32_t any_ = 0;                                                                                      \
    for (; i_ < (len); i_++) {                                                                             \
      CT x = MAP(LOAD(p_[i_]));                                                                            \
      rest_ = GT(x, rest_) ? x : rest_;                                                                    \
      any_ |= IS_NAN(x);                                                                                   \
    }                                                                                                      \
    for (int j = 0; j < L_; j++) any_ |= nan_[j];                                                          \
    _Pragma("GCC unroll 8")                                                                                \
    for (int w = L_ / 2; w > 0; w /= 2)                                                                    \
      for (int j = 0; j < w; j++) lane_[j] = GT(lane_[j + w], lane_[j]) ? lane_[j + w] : lane_[j];         \
    (m) = any_ ? (CT)NAN : GT(rest_, lane_[0]) ? rest_ : lane_[0];                                         \
  } while (0)
#define GT_MAX(x, v) ((x) > (v))
#define GT_MIN(x, v) ((x) < (v))

#define MINMAX_FAMILY(NAME, T, CT, LOAD, MAP, GT, TAKE, IDENT, STORE, EMPTY)                                \
  static void NAME##_init(void *st, int64_t n) {                                                           \
    CT *v = st;                                                                                            \
    for (int64_t j = 0; j < n; j++) v[j] = IDENT;                                                          \
  }                                                                                                        \
  static void NAME##_run(void *st, int64_t n, int64_t slot, const char *ptr, int64_t len, int64_t index,   \
                         const rk_ctx *c) {                                                                \
    CT m;                                                                                                  \
    RUN_EXTREME(m, T, CT, LOAD, MAP, GT, IDENT, ptr, len);                                                 \
    CT *v = st;                                                                                            \
    v[slot] = TAKE(m, v[slot]) ? m : v[slot];                                                              \
  }                                                                                                        \
  static void NAME##_rows(void *st, int64_t n, const char *ptr, int64_t rs, int64_t nrows, int64_t index,  \
                          const rk_ctx *c) {                                                               \
    CT *restrict v = st;                                                                                   \
    for (int64_t r = 0; r < nrows; r++) {                                                                  \
      const T *restrict p = (const T *)(ptr + r * rs);                                                     \
      for (int64_t j = 0; j < n; j++) {                                                                    \
        CT x = MAP(LOAD(p[j]));                                                                            \
        v[j] = TAKE(x, v[j]) ? x : v[j];                                                                   \
      }                                                                                                    \
    }                                                                                                      \
  }                                                                                                        \
  static void NAME##_combine(void *st, const void *later, int64_t n) {                                     \
    CT *restrict v = st;                                                                                   \
    const CT *restrict b = later;                                                                          \
    for (int64_t j = 0; j < n; j++) v[j] = TAKE(b[j], v[j]) ? b[j] : v[j];                                 \
  }                                                                                                        \
  static void NAME##_finish(char *o0, int64_t s0, char *o1, int64_t s1, const void *st, int64_t n,         \
                            const rk_ctx *c) {                                                             \
    const CT *v = st;                                                                                      \
    for (int64_t j = 0; j < n; j++) *(T *)(o0 + j * s0) = STORE(T, c->n ? v[j] : (CT)(EMPTY));             \
  }

#define STAMP_AMAX(A, ENUM, SUF, T, CT, KIND) \
  MINMAX_FAMILY(amax_##SUF, T, CT, TN_LOAD_##KIND, MAP_ID, GT_MAX, TAKE_MAX, LOWEST_##KIND(T), TN_STORE_##KIND, 0)
#define STAMP_AMIN(A, ENUM, SUF, T, CT, KIND) \
  MINMAX_FAMILY(amin_##SUF, T, CT, TN_LOAD_##KIND, MAP_ID, GT_MIN, TAKE_MIN, HIGHEST_##KIND(T), TN_STORE_##KIND, 0)
/* the infinite-order norms of an empty selection are 0, as in PyTorch */
#define STAMP_NORM_INF(A, ENUM, SUF, T, CT, KIND) \
  MINMAX_FAMILY(norminf_##SUF, T, CT, TN_LOAD_##KIND, MAP_ABS, GT_MAX, TAKE_MAX, 0, TN_STORE_##KIND, 0)
#define STAMP_NORM_NINF(A, ENUM, SUF, T, CT, KIND) \
  MINMAX_FAMILY(normninf_##SUF, T, CT, TN_LOAD_##KIND, MAP_ABS, GT_MIN, TAKE_MIN, INFINITY, TN_STORE_##KIND, 0)

TN_FOREACH_ALL_ARG(STAMP_AMAX, _)
TN_FOREACH_ALL_ARG(STAMP_AMIN, _)
TN_FOREACH_FLOATING_ARG(STAMP_NORM_INF, _)
TN_FOREACH_FLOATING_ARG(STAMP_NORM_NINF, _)

/* aminmax: both in one pass; slots hold lo[n] then hi[n] */
#define AMINMAX_FAMILY(NAME, T, CT, LOAD, LO, HI, STORE)                                                    \
  static void NAME##_init(void *st, int64_t n) {                                                           \
    CT *lo = st, *hi = lo + n;                                                                             \
    for (int64_t j = 0; j < n; j++) lo[j] = LO, hi[j] = HI;                                                \
  }                                                                                                        \
  static void NAME##_run(void *st, int64_t n, int64_t slot, const char *ptr, int64_t len, int64_t index,   \
                         const rk_ctx *c) {                                                                \
    enum { L = LANES(CT) / 2, W = VEC(CT) };                                                               \
    const T *restrict p = (const T *)ptr;                                                                  \
    CT lo[L], hi[L];                                                                                       \
    for (int j = 0; j < L; j++) lo[j] = LO, hi[j] = HI;                                                    \
    int64_t i = 0;                                                                                         \
    for (; i + L <= len; i += L)                                                                           \
      for (int j = 0; j < L; j++) {                                                                        \
        CT x = LOAD(p[i + j]);                                                                             \
        lo[j] = TAKE_MIN(x, lo[j]) ? x : lo[j];                                                            \
        hi[j] = TAKE_MAX(x, hi[j]) ? x : hi[j];                                                            \
      }                                                                                                    \
    for (; i + W <= len; i += W)                                                                           \
      for (int j = 0; j < W; j++) {                                                                        \
        CT x = LOAD(p[i + j]);                                                                             \
        lo[j] = TAKE_MIN(x, lo[j]) ? x : lo[j];                                                            \
        hi[j] = TAKE_MAX(x, hi[j]) ? x : hi[j];                                                            \
      }                                                                                                    \
    for (int j = 0; i < len; i++, j++) {                                                                   \
      CT x = LOAD(p[i]);                                                                                   \
      lo[j] = TAKE_MIN(x, lo[j]) ? x : lo[j];                                                              \
      hi[j] = TAKE_MAX(x, hi[j]) ? x : hi[j];                                                              \
    }                                                                                                      \
    CT *slo = st, *shi = slo + n;                                                                          \
    for (int j = 0; j < L; j++) {                                                                          \
      slo[slot] = TAKE_MIN(lo[j], slo[slot]) ? lo[j] : slo[slot];                                          \
      shi[slot] = TAKE_MAX(hi[j], shi[slot]) ? hi[j] : shi[slot];                                          \
    }                                                                                                      \
  }                                                                                                        \
  static void NAME##_rows(void *st, int64_t n, const char *ptr, int64_t rs, int64_t nrows, int64_t index,  \
                          const rk_ctx *c) {                                                               \
    CT *restrict lo = st, *restrict hi = lo + n;                                                           \
    for (int64_t r = 0; r < nrows; r++) {                                                                  \
      const T *restrict p = (const T *)(ptr + r * rs);                                                     \
      for (int64_t j = 0; j < n; j++) {                                                                    \
        CT x = LOAD(p[j]);                                                                                 \
        lo[j] = TAKE_MIN(x, lo[j]) ? x : lo[j];                                                            \
        hi[j] = TAKE_MAX(x, hi[j]) ? x : hi[j];                                                            \
      }                                                                                                    \
    }                                                                                                      \
  }                                                                                                        \
  static void NAME##_combine(void *st, const void *later, int64_t n) {                                     \
    CT *lo = st, *hi = lo + n;                                                                             \
    const CT *blo = later, *bhi = blo + n;                                                                 \
    for (int64_t j = 0; j < n; j++) {                                                                      \
      lo[j] = TAKE_MIN(blo[j], lo[j]) ? blo[j] : lo[j];                                                    \
      hi[j] = TAKE_MAX(bhi[j], hi[j]) ? bhi[j] : hi[j];                                                    \
    }                                                                                                      \
  }                                                                                                        \
  static void NAME##_finish(char *o0, int64_t s0, char *o1, int64_t s1, const void *st, int64_t n,         \
                            const rk_ctx *c) {                                                             \
    const CT *lo = st, *hi = lo + n;                                                                       \
    for (int64_t j = 0; j < n; j++) {                                                                      \
      *(T *)(o0 + j * s0) = STORE(T, lo[j]);                                                               \
      *(T *)(o1 + j * s1) = STORE(T, hi[j]);                                                               \
    }                                                                                                      \
  }

#define STAMP_AMINMAX(A, ENUM, SUF, T, CT, KIND) \
  AMINMAX_FAMILY(aminmax_##SUF, T, CT, TN_LOAD_##KIND, HIGHEST_##KIND(T), LOWEST_##KIND(T), TN_STORE_##KIND)
TN_FOREACH_ALL_ARG(STAMP_AMINMAX, _)

/* ---- arg: slots hold idx[n] (int64, -1 while empty) then v[n] ---- */

#define ARG_FAMILY(NAME, T, CT, LOAD, GT, BETTER, IDENT, STORE)                                             \
  static void NAME##_init(void *st, int64_t n) {                                                           \
    int64_t *idx = st;                                                                                     \
    CT *v = (CT *)(idx + n);                                                                               \
    for (int64_t j = 0; j < n; j++) idx[j] = -1, v[j] = IDENT;                                             \
  }                                                                                                        \
  static void NAME##_run(void *st, int64_t n, int64_t slot, const char *ptr, int64_t len, int64_t index,   \
                         const rk_ctx *c) {                                                                \
    const T *restrict p = (const T *)ptr;                                                                  \
    CT m;                                                                                                  \
    RUN_EXTREME(m, T, CT, LOAD, MAP_ID, GT, IDENT, ptr, len);                                              \
    int64_t k = 0;                                                                                         \
    if (IS_NAN(m)) {                                                                                       \
      while (k + 1 < len && !IS_NAN(LOAD(p[k]))) k++;                                                      \
    } else {                                                                                               \
      while (k + 1 < len && LOAD(p[k]) != m) k++;                                                          \
    }                                                                                                      \
    int64_t *idx = st;                                                                                     \
    CT *v = (CT *)(idx + n);                                                                               \
    if (idx[slot] < 0 || BETTER(m, v[slot])) v[slot] = m, idx[slot] = index + k;                           \
  }                                                                                                        \
  static void NAME##_rows(void *st, int64_t n, const char *ptr, int64_t rs, int64_t nrows, int64_t index,  \
                          const rk_ctx *c) {                                                               \
    int64_t *restrict idx = st;                                                                            \
    CT *restrict v = (CT *)(idx + n);                                                                      \
    int64_t r = 0;                                                                                         \
    if (nrows > 0 && idx[0] < 0) { /* a fresh block: the first row is the extreme so far */                \
      const T *restrict p = (const T *)ptr;                                                                \
      for (int64_t j = 0; j < n; j++) v[j] = LOAD(p[j]), idx[j] = index;                                   \
      r = 1;                                                                                               \
    }                                                                                                      \
    for (; r < nrows; r++) {                                                                               \
      const T *restrict p = (const T *)(ptr + r * rs);                                                     \
      int64_t at = index + r;                                                                              \
      for (int64_t j = 0; j < n; j++) {                                                                    \
        CT x = LOAD(p[j]);                                                                                 \
        int better = BETTER(x, v[j]);                                                                      \
        v[j] = better ? x : v[j];                                                                          \
        idx[j] = better ? at : idx[j];                                                                     \
      }                                                                                                    \
    }                                                                                                      \
  }                                                                                                        \
  static void NAME##_combine(void *st, const void *later, int64_t n) {                                     \
    int64_t *idx = st;                                                                                     \
    CT *v = (CT *)(idx + n);                                                                               \
    const int64_t *bidx = later;                                                                           \
    const CT *bv = (const CT *)(bidx + n);                                                                 \
    for (int64_t j = 0; j < n; j++)                                                                        \
      if (bidx[j] >= 0 && (idx[j] < 0 || BETTER(bv[j], v[j]))) v[j] = bv[j], idx[j] = bidx[j];             \
  }                                                                                                        \
  /* argmax/argmin: the indices alone */                                                                   \
  static void NAME##_finish(char *o0, int64_t s0, char *o1, int64_t s1, const void *st, int64_t n,         \
                            const rk_ctx *c) {                                                             \
    const int64_t *idx = st, base = (int64_t)c->p;                                                         \
    for (int64_t j = 0; j < n; j++) *(int64_t *)(o0 + j * s0) = idx[j] + base;                             \
  }                                                                                                        \
  /* max/min with indices: values, then indices */                                                         \
  static void NAME##_finish_values(char *o0, int64_t s0, char *o1, int64_t s1, const void *st, int64_t n,  \
                                   const rk_ctx *c) {                                                      \
    const int64_t *idx = st, base = (int64_t)c->p;                                                         \
    const CT *v = (const CT *)(idx + n);                                                                   \
    for (int64_t j = 0; j < n; j++) {                                                                      \
      *(T *)(o0 + j * s0) = STORE(T, v[j]);                                                                \
      *(int64_t *)(o1 + j * s1) = idx[j] + base;                                                           \
    }                                                                                                      \
  }

#define STAMP_ARGMAX(A, ENUM, SUF, T, CT, KIND) \
  ARG_FAMILY(argmax_##SUF, T, CT, TN_LOAD_##KIND, GT_MAX, BETTER_MAX, LOWEST_##KIND(T), TN_STORE_##KIND)
#define STAMP_ARGMIN(A, ENUM, SUF, T, CT, KIND) \
  ARG_FAMILY(argmin_##SUF, T, CT, TN_LOAD_##KIND, GT_MIN, BETTER_MIN, HIGHEST_##KIND(T), TN_STORE_##KIND)
TN_FOREACH_ALL_ARG(STAMP_ARGMAX, _)
TN_FOREACH_ALL_ARG(STAMP_ARGMIN, _)

/* ---- var: slots hold count[n], mean[n], m2[n] in float64 ---- */

/* Merges (nb, mb, m2b) into (*n, *mean, *m2) (Chan, Golub and LeVeque). */
static inline void chan_merge(double *n, double *mean, double *m2, double nb, double mb, double m2b) {
  if (nb == 0) return;
  if (*n == 0) {
    *n = nb, *mean = mb, *m2 = m2b;
    return;
  }
  double total = *n + nb, d = mb - *mean;
  *mean += d * (nb / total);
  *m2 += m2b + d * d * (*n * nb / total);
  *n = total;
}

#define VAR_FAMILY(NAME, T, CT, LOAD, STORE)                                                                \
  static void NAME##_init(void *st, int64_t n) { memset(st, 0, (size_t)n * 3 * sizeof(double)); }          \
  static void NAME##_run(void *st, int64_t n, int64_t slot, const char *ptr, int64_t len, int64_t index,   \
                         const rk_ctx *c) {                                                                \
    enum { L = 16, W = 8 };                                                                                \
    const T *restrict p = (const T *)ptr;                                                                  \
    double lane[L] = {0}, dev[L] = {0}, sq[L] = {0};                                                       \
    int64_t i = 0;                                                                                         \
    for (; i + L <= len; i += L)                                                                           \
      for (int j = 0; j < L; j++) lane[j] += (double)LOAD(p[i + j]);                                       \
    for (; i + W <= len; i += W)                                                                           \
      for (int j = 0; j < W; j++) lane[j] += (double)LOAD(p[i + j]);                                       \
    for (int j = 0; i < len; i++, j++) lane[j] += (double)LOAD(p[i]);                                      \
    double sum = 0;                                                                                        \
    for (int j = 0; j < L; j++) sum += lane[j];                                                            \
    double mean = sum / (double)len;                                                                       \
    for (i = 0; i + L <= len; i += L)                                                                      \
      for (int j = 0; j < L; j++) {                                                                        \
        double d = (double)LOAD(p[i + j]) - mean;                                                          \
        dev[j] += d, sq[j] += d * d;                                                                       \
      }                                                                                                    \
    for (; i + W <= len; i += W)                                                                           \
      for (int j = 0; j < W; j++) {                                                                        \
        double d = (double)LOAD(p[i + j]) - mean;                                                          \
        dev[j] += d, sq[j] += d * d;                                                                       \
      }                                                                                                    \
    for (int j = 0; i < len; i++, j++) {                                                                   \
      double d = (double)LOAD(p[i]) - mean;                                                                \
      dev[j] += d, sq[j] += d * d;                                                                         \
    }                                                                                                      \
    double sd = 0, s2 = 0;                                                                                 \
    for (int j = 0; j < L; j++) sd += dev[j], s2 += sq[j];                                                 \
    /* the corrected two-pass formula: the deviations' sum removes the rounding of the mean */             \
    double *cnt = st, *mu = cnt + n, *m2 = mu + n;                                                         \
    chan_merge(&cnt[slot], &mu[slot], &m2[slot], (double)len, mean + sd / (double)len,                     \
               s2 - sd * sd / (double)len);                                                                \
  }                                                                                                        \
  static void NAME##_rows(void *st, int64_t n, const char *ptr, int64_t rs, int64_t nrows, int64_t index,  \
                          const rk_ctx *c) {                                                               \
    double mean[RK_BLOCK], sq[RK_BLOCK];                                                                   \
    for (int64_t j = 0; j < n; j++) mean[j] = 0, sq[j] = 0;                                                \
    for (int64_t r = 0; r < nrows; r++) {                                                                  \
      const T *restrict p = (const T *)(ptr + r * rs);                                                     \
      for (int64_t j = 0; j < n; j++) mean[j] += (double)LOAD(p[j]);                                       \
    }                                                                                                      \
    for (int64_t j = 0; j < n; j++) mean[j] /= (double)nrows;                                              \
    for (int64_t r = 0; r < nrows; r++) {                                                                  \
      const T *restrict p = (const T *)(ptr + r * rs);                                                     \
      for (int64_t j = 0; j < n; j++) {                                                                    \
        double d = (double)LOAD(p[j]) - mean[j];                                                           \
        sq[j] += d * d;                                                                                    \
      }                                                                                                    \
    }                                                                                                      \
    double *cnt = st, *mu = cnt + n, *m2 = mu + n;                                                         \
    for (int64_t j = 0; j < n; j++) chan_merge(&cnt[j], &mu[j], &m2[j], (double)nrows, mean[j], sq[j]);    \
  }                                                                                                        \
  static void NAME##_combine(void *st, const void *later, int64_t n) {                                     \
    double *cnt = st, *mu = cnt + n, *m2 = mu + n;                                                         \
    const double *bc = later, *bm = bc + n, *b2 = bm + n;                                                  \
    for (int64_t j = 0; j < n; j++) chan_merge(&cnt[j], &mu[j], &m2[j], bc[j], bm[j], b2[j]);              \
  }                                                                                                        \
  static void NAME##_finish(char *o0, int64_t s0, char *o1, int64_t s1, const void *st, int64_t n,         \
                            const rk_ctx *c) {                                                             \
    const double *cnt = st, *mu = cnt + n, *m2 = mu + n;                                                   \
    for (int64_t j = 0; j < n; j++) {                                                                      \
      double dof = cnt[j] - c->p;                                                                          \
      *(T *)(o0 + j * s0) = STORE(T, m2[j] / (dof > 0 ? dof : 0));                                         \
      if (o1) *(T *)(o1 + j * s1) = STORE(T, cnt[j] > 0 ? mu[j] : NAN);                                    \
    }                                                                                                      \
  }                                                                                                        \
  static void NAME##_finish_std(char *o0, int64_t s0, char *o1, int64_t s1, const void *st, int64_t n,     \
                                const rk_ctx *c) {                                                         \
    const double *cnt = st, *mu = cnt + n, *m2 = mu + n;                                                   \
    for (int64_t j = 0; j < n; j++) {                                                                      \
      double dof = cnt[j] - c->p;                                                                          \
      *(T *)(o0 + j * s0) = STORE(T, sqrt(m2[j] / (dof > 0 ? dof : 0)));                                   \
      if (o1) *(T *)(o1 + j * s1) = STORE(T, cnt[j] > 0 ? mu[j] : NAN);                                    \
    }                                                                                                      \
  }

#define STAMP_VAR(A, ENUM, SUF, T, CT, KIND) VAR_FAMILY(var_##SUF, T, CT, TN_LOAD_##KIND, TN_STORE_##KIND)
TN_FOREACH_FLOATING_ARG(STAMP_VAR, _)

/* ---- logsumexp: slots hold m[n] then s[n], the value being log(s) + m ---- */

/* The shift of a max: 0 where it is infinite (all -inf gives log(0) = -inf; a +inf gives exp(inf) = inf). */
#define LSE_SHIFT(m) (isinf(m) ? 0 : (m))

/* Merges (mb, sb) into (*m, *s). A non-finite s (an inf or NaN input) absorbs the rest. */
#define LSE_MERGE(m, s, mb, sb)                                                 \
  do {                                                                          \
    if ((sb) == 0) break;                                                       \
    if (*(s) == 0) {                                                            \
      *(m) = (mb), *(s) = (sb);                                                 \
    } else if (!isfinite(*(s)) || !isfinite(sb)) {                              \
      *(s) = *(s) + (sb), *(m) = 0;                                             \
    } else if ((mb) > *(m)) {                                                   \
      *(s) = *(s) * TN_MATH(exp, *(m) - (mb)) + (sb), *(m) = (mb);              \
    } else {                                                                    \
      *(s) += (sb) * TN_MATH(exp, (mb) - *(m));                                 \
    }                                                                           \
  } while (0)

#define LSE_FAMILY(NAME, T, CT, LOAD, STORE)                                                                \
  static void NAME##_init(void *st, int64_t n) { memset(st, 0, (size_t)n * 2 * sizeof(CT)); }              \
  static void NAME##_run(void *st, int64_t n, int64_t slot, const char *ptr, int64_t len, int64_t index,   \
                         const rk_ctx *c) {                                                                \
    enum { L = LANES(CT), W = VEC(CT) };                                                                   \
    const T *restrict p = (const T *)ptr;                                                                  \
    CT m;                                                                                                  \
    RUN_EXTREME(m, T, CT, LOAD, MAP_ID, GT_MAX, -INFINITY, ptr, len);                                      \
    CT lane[L];                                                                                            \
    int64_t i;                                                                                             \
    m = LSE_SHIFT(m);                                                                                      \
    for (int j = 0; j < L; j++) lane[j] = 0;                                                               \
    for (i = 0; i + L <= len; i += L)                                                                      \
      for (int j = 0; j < L; j++) lane[j] += TN_MATH(exp, LOAD(p[i + j]) - m);                             \
    for (; i + W <= len; i += W)                                                                           \
      for (int j = 0; j < W; j++) lane[j] += TN_MATH(exp, LOAD(p[i + j]) - m);                             \
    CT rest = 0; /* the last few apart from the lanes, as in the arith kernels */                          \
    for (; i < len; i++) rest += TN_MATH(exp, LOAD(p[i]) - m);                                             \
    _Pragma("GCC unroll 8")                                                                                \
    for (int w = L / 2; w > 0; w /= 2)                                                                     \
      for (int j = 0; j < w; j++) lane[j] += lane[j + w];                                                  \
    CT *sm = st, *ss = sm + n;                                                                             \
    LSE_MERGE(&sm[slot], &ss[slot], m, lane[0] + rest);                                                    \
  }                                                                                                        \
  static void NAME##_rows(void *st, int64_t n, const char *ptr, int64_t rs, int64_t nrows, int64_t index,  \
                          const rk_ctx *c) {                                                               \
    CT m[RK_BLOCK], s[RK_BLOCK];                                                                           \
    for (int64_t j = 0; j < n; j++) m[j] = -INFINITY, s[j] = 0;                                            \
    for (int64_t r = 0; r < nrows; r++) {                                                                  \
      const T *restrict p = (const T *)(ptr + r * rs);                                                     \
      for (int64_t j = 0; j < n; j++) {                                                                    \
        CT x = LOAD(p[j]);                                                                                 \
        m[j] = TAKE_MAX(x, m[j]) ? x : m[j];                                                               \
      }                                                                                                    \
    }                                                                                                      \
    for (int64_t j = 0; j < n; j++) m[j] = LSE_SHIFT(m[j]);                                                \
    for (int64_t r = 0; r < nrows; r++) {                                                                  \
      const T *restrict p = (const T *)(ptr + r * rs);                                                     \
      for (int64_t j = 0; j < n; j++) s[j] += TN_MATH(exp, LOAD(p[j]) - m[j]);                             \
    }                                                                                                      \
    CT *sm = st, *ss = sm + n;                                                                             \
    for (int64_t j = 0; j < n; j++) LSE_MERGE(&sm[j], &ss[j], m[j], s[j]);                                 \
  }                                                                                                        \
  static void NAME##_combine(void *st, const void *later, int64_t n) {                                     \
    CT *sm = st, *ss = sm + n;                                                                             \
    const CT *bm = later, *bs = bm + n;                                                                    \
    for (int64_t j = 0; j < n; j++) LSE_MERGE(&sm[j], &ss[j], bm[j], bs[j]);                               \
  }                                                                                                        \
  static void NAME##_finish(char *o0, int64_t s0, char *o1, int64_t s1, const void *st, int64_t n,         \
                            const rk_ctx *c) {                                                             \
    const CT *sm = st, *ss = sm + n;                                                                       \
    for (int64_t j = 0; j < n; j++) *(T *)(o0 + j * s0) = STORE(T, TN_LIBM(log, ss[j]) + sm[j]);           \
  }

#define STAMP_LSE(A, ENUM, SUF, T, CT, KIND) LSE_FAMILY(lse_##SUF, T, CT, TN_LOAD_##KIND, TN_STORE_##KIND)
TN_FOREACH_FLOATING_ARG(STAMP_LSE, _)

/* ---- the table ---- */

#define KERNEL(NAME, SIZE, CASCADE, FINISH) \
  {SIZE, CASCADE, NAME##_init, NAME##_run, NAME##_rows, NAME##_combine, FINISH}
#define E_SUM_LIKE(NAME, ENUM, SUF, T, CT, KIND) \
  [ENUM] = KERNEL(NAME##_##SUF, sizeof(SUM_ACC_##KIND(CT)), true, NAME##_##SUF##_finish),
#define E_BYTE(NAME, ENUM, SUF, T, CT, KIND) [ENUM] = KERNEL(NAME##_##SUF, 1, false, NAME##_##SUF##_finish),
#define E_COUNT(NAME, ENUM, SUF, T, CT, KIND) [ENUM] = KERNEL(NAME##_##SUF, 8, true, NAME##_##SUF##_finish),
#define E_PROD(NAME, ENUM, SUF, T, CT, KIND) \
  [ENUM] = KERNEL(NAME##_##SUF, sizeof(SUM_ACC_##KIND(CT)), false, NAME##_##SUF##_finish),
#define E_MINMAX(NAME, ENUM, SUF, T, CT, KIND) \
  [ENUM] = KERNEL(NAME##_##SUF, sizeof(CT), false, NAME##_##SUF##_finish),
#define E_PAIR(NAME, ENUM, SUF, T, CT, KIND) \
  [ENUM] = KERNEL(NAME##_##SUF, 2 * sizeof(CT), false, NAME##_##SUF##_finish),
#define E_ARG(NAME, ENUM, SUF, T, CT, KIND) \
  [ENUM] = KERNEL(NAME##_##SUF, 8 + sizeof(CT), false, NAME##_##SUF##_finish),
#define E_ARG_VALUES(NAME, ENUM, SUF, T, CT, KIND) \
  [ENUM] = KERNEL(NAME##_##SUF, 8 + sizeof(CT), false, NAME##_##SUF##_finish_values),
#define E_VAR(NAME, ENUM, SUF, T, CT, KIND) [ENUM] = KERNEL(NAME##_##SUF, 24, false, NAME##_##SUF##_finish),
#define E_STD(NAME, ENUM, SUF, T, CT, KIND) [ENUM] = KERNEL(NAME##_##SUF, 24, false, NAME##_##SUF##_finish_std),
#define E_LSE(NAME, ENUM, SUF, T, CT, KIND) \
  [ENUM] = KERNEL(NAME##_##SUF, 2 * sizeof(CT), true, NAME##_##SUF##_finish),

static const rk_kernel kernels[TN_NUM_REDUCE_KERNELS][TN_NUM_DTYPES] = {
    [TN_RK_SUM] = {TN_FOREACH_ALL_ARG(E_SUM_LIKE, sum)},
    [TN_RK_NANSUM] = {TN_FOREACH_FLOATING_ARG(E_SUM_LIKE, nansum)},
    [TN_RK_MEAN] = {TN_FOREACH_FLOATING_ARG(E_SUM_LIKE, mean)},
    [TN_RK_COUNT_NONZERO] = {TN_FOREACH_ALL_ARG(E_COUNT, count)},
    [TN_RK_NORM0] = {TN_FOREACH_FLOATING_ARG(E_SUM_LIKE, norm0)},
    [TN_RK_NORM1] = {TN_FOREACH_FLOATING_ARG(E_SUM_LIKE, norm1)},
    [TN_RK_NORM2] = {TN_FOREACH_FLOATING_ARG(E_SUM_LIKE, norm2)},
    [TN_RK_NORMP] = {TN_FOREACH_FLOATING_ARG(E_SUM_LIKE, normp)},
    [TN_RK_PROD] = {TN_FOREACH_ALL_ARG(E_PROD, prod)},
    [TN_RK_AMAX] = {TN_FOREACH_ALL_ARG(E_MINMAX, amax)},
    [TN_RK_AMIN] = {TN_FOREACH_ALL_ARG(E_MINMAX, amin)},
    [TN_RK_NORM_INF] = {TN_FOREACH_FLOATING_ARG(E_MINMAX, norminf)},
    [TN_RK_NORM_NINF] = {TN_FOREACH_FLOATING_ARG(E_MINMAX, normninf)},
    [TN_RK_AMINMAX] = {TN_FOREACH_ALL_ARG(E_PAIR, aminmax)},
    [TN_RK_ALL] = {TN_FOREACH_ALL_ARG(E_BYTE, all)},
    [TN_RK_ANY] = {TN_FOREACH_ALL_ARG(E_BYTE, any)},
    [TN_RK_ARGMAX] = {TN_FOREACH_ALL_ARG(E_ARG, argmax)},
    [TN_RK_ARGMIN] = {TN_FOREACH_ALL_ARG(E_ARG, argmin)},
    [TN_RK_MAX] = {TN_FOREACH_ALL_ARG(E_ARG_VALUES, argmax)},
    [TN_RK_MIN] = {TN_FOREACH_ALL_ARG(E_ARG_VALUES, argmin)},
    [TN_RK_VAR] = {TN_FOREACH_FLOATING_ARG(E_VAR, var)},
    [TN_RK_STD] = {TN_FOREACH_FLOATING_ARG(E_STD, var)},
    [TN_RK_LOGSUMEXP] = {TN_FOREACH_FLOATING_ARG(E_LSE, lse)},
};

const rk_kernel *tn_cpu_reduce_kernel(int kind, int dtype) {
  if (kind < 0 || kind >= TN_NUM_REDUCE_KERNELS || dtype < 0 || dtype >= TN_NUM_DTYPES) return NULL;
  const rk_kernel *k = &kernels[kind][dtype];
  return k->init ? k : NULL;
}
