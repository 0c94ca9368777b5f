/* cumulative.c: CPU kernels of the cumulative ops (cumsum, cumprod) along one dim.
 *
 * The iterator walks every position of the other dims; at each batch of positions the loop either scans
 * each position's line in turn (the scanned dim is the closer one in memory) or scans a block of positions
 * side by side, line element by line element, so that the work vectorises across the block. Sums and
 * products of floats accumulate in float64 (as PyTorch's CPU kernels do), of integers in wrapping uint64. */
#include "cpu.h"

#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wtype-limits"

typedef struct scan_ctx {
  int64_t len;    /* elements along the scanned dim */
  int64_t xs, os; /* byte steps along it (negative when reversed) */
  int64_t x0, o0; /* byte offsets of the first element scanned */
} scan_ctx;

enum { SCAN_BLOCK = 256, SCAN_LANES = 8 };

#define SCAN_ACC_FLOAT double
#define SCAN_ACC_HALF double
#define SCAN_ACC_BF16 double
#define SCAN_ACC_INT uint64_t
#define SCAN_ACC_BOOL uint64_t
#define SCAN_OT_FLOAT(T) T
#define SCAN_OT_HALF(T) T
#define SCAN_OT_BF16(T) T
#define SCAN_OT_INT(T) int64_t
#define SCAN_OT_BOOL(T) int64_t
#define SCAN_STORE_FLOAT TN_STORE_FLOAT
#define SCAN_STORE_HALF TN_STORE_HALF
#define SCAN_STORE_BF16 TN_STORE_BF16
#define SCAN_STORE_I64(T, v) ((int64_t)(v))
#define SCAN_STORE_INT SCAN_STORE_I64
#define SCAN_STORE_BOOL SCAN_STORE_I64

#define SCAN_LOOP(NAME, T, ACC, LOAD, OT, STORE, OP, IDENT)                                                 \
  static void NAME(char **data, const int64_t *strides, int64_t n, void *context) {                        \
    const scan_ctx *c = context;                                                                           \
    int64_t ps0 = strides[0], ps1 = strides[1];                                                            \
    if (n == 1 || (c->xs < 0 ? -c->xs : c->xs) <= (ps1 < 0 ? -ps1 : ps1)) {                                \
      int64_t i = 0;                                                                                       \
      /* eight lines side by side: eight independent chains of additions instead of one */                \
      for (; i + SCAN_LANES <= n; i += SCAN_LANES) {                                                       \
        const char *px = data[1] + i * ps1 + c->x0;                                                        \
        char *po = data[0] + i * ps0 + c->o0;                                                              \
        ACC a[SCAN_LANES];                                                                                 \
        for (int q = 0; q < SCAN_LANES; q++) a[q] = IDENT;                                                 \
        for (int64_t r = 0; r < c->len; r++, px += c->xs, po += c->os)                                    \
          for (int q = 0; q < SCAN_LANES; q++) {                                                           \
            a[q] = a[q] OP(ACC) LOAD(*(const T *)(px + q * ps1));                                          \
            *(OT *)(po + q * ps0) = STORE(OT, a[q]);                                                       \
          }                                                                                                \
      }                                                                                                    \
      for (; i < n; i++) {                                                                                 \
        const char *px = data[1] + i * ps1 + c->x0;                                                        \
        char *po = data[0] + i * ps0 + c->o0;                                                              \
        ACC a = IDENT;                                                                                     \
        for (int64_t r = 0; r < c->len; r++, px += c->xs, po += c->os) {                                   \
          a = a OP(ACC) LOAD(*(const T *)px);                                                              \
          *(OT *)po = STORE(OT, a);                                                                        \
        }                                                                                                  \
      }                                                                                                    \
      return;                                                                                              \
    }                                                                                                      \
    bool dense = ps1 == sizeof(T) && ps0 == sizeof(OT);                                                    \
    for (int64_t i0 = 0; i0 < n; i0 += SCAN_BLOCK) {                                                       \
      int64_t w = n - i0 < SCAN_BLOCK ? n - i0 : SCAN_BLOCK;                                               \
      ACC acc[SCAN_BLOCK];                                                                                 \
      for (int64_t i = 0; i < w; i++) acc[i] = IDENT;                                                      \
      const char *px = data[1] + i0 * ps1 + c->x0;                                                         \
      char *po = data[0] + i0 * ps0 + c->o0;                                                               \
      for (int64_t r = 0; r < c->len; r++, px += c->xs, po += c->os) {                                    \
        if (dense) {                                                                                       \
          const T *x = (const T *)px;                                                                      \
          OT *o = (OT *)po;                                                                                \
          for (int64_t i = 0; i < w; i++) {                                                                \
            acc[i] = acc[i] OP(ACC) LOAD(x[i]);                                                            \
            o[i] = STORE(OT, acc[i]);                                                                      \
          }                                                                                                \
        } else {                                                                                           \
          for (int64_t i = 0; i < w; i++) {                                                                \
            acc[i] = acc[i] OP(ACC) LOAD(*(const T *)(px + i * ps1));                                      \
            *(OT *)(po + i * ps0) = STORE(OT, acc[i]);                                                     \
          }                                                                                                \
        }                                                                                                  \
      }                                                                                                    \
    }                                                                                                      \
  }

#define STAMP_CUMSUM(A, ENUM, SUF, T, CT, KIND) \
  SCAN_LOOP(cumsum_##SUF, T, SCAN_ACC_##KIND, TN_LOAD_##KIND, SCAN_OT_##KIND(T), SCAN_STORE_##KIND, +, 0)
#define STAMP_CUMPROD(A, ENUM, SUF, T, CT, KIND) \
  SCAN_LOOP(cumprod_##SUF, T, SCAN_ACC_##KIND, TN_LOAD_##KIND, SCAN_OT_##KIND(T), SCAN_STORE_##KIND, *, 1)
TN_FOREACH_ALL_ARG(STAMP_CUMSUM, _)
TN_FOREACH_ALL_ARG(STAMP_CUMPROD, _)

#define ENTRY(NAME, ENUM, SUF, T, CT, KIND) [ENUM] = NAME##_##SUF,
static const tn_loop_fn scans[TN_NUM_CUMULATIVE_OPS][TN_NUM_DTYPES] = {
    [TN_CUMSUM] = {TN_FOREACH_ALL_ARG(ENTRY, cumsum)},
    [TN_CUMPROD] = {TN_FOREACH_ALL_ARG(ENTRY, cumprod)},
};

/* A header of t without dim `dim` (the positions the scan runs at). */
static tn_tensor without_dim(const tn_tensor *t, int dim) {
  tn_tensor r = *t;
  if (t->ndim == 0) return r;
  for (int d = dim; d + 1 < t->ndim; d++) {
    r.sizes[d] = t->sizes[d + 1];
    r.strides[d] = t->strides[d + 1];
  }
  r.ndim = t->ndim - 1;
  r.numel = tn_shape_numel(r.ndim, r.sizes);
  return r;
}

int tn_cpu_cumulative(int op, tn_tensor *out, const tn_tensor *x, int dim, int reverse) {
  if (x->numel == 0) return 0;
  int64_t len = x->ndim ? x->sizes[dim] : 1;
  int64_t xs = x->ndim ? x->strides[dim] * tn_dtype_size(x->dtype) : 0;
  int64_t os = out->ndim ? out->strides[dim] * tn_dtype_size(out->dtype) : 0;
  scan_ctx c = {len, xs, os, 0, 0};
  if (reverse) {
    c.x0 = (len - 1) * xs, c.o0 = (len - 1) * os;
    c.xs = -xs, c.os = -os;
  }
  tn_tensor xo = without_dim(x, dim), oo = without_dim(out, dim);
  const tn_tensor *ops[2] = {&oo, &xo};
  tn_iter it;
  tn_iter_init(&it, oo.ndim, oo.sizes, 2, ops);
  int64_t grain = TN_GRAIN / len;
  tn_iter_run(&it, scans[op][x->dtype], &c, grain > 0 ? grain : 1);
  return 0;
}
