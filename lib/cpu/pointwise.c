/* pointwise.c: CPU element-wise kernels. One inner loop per (op, dtype), stamped from the op lists of
 * pointwise_ops.h and the dtype lists of internal.h around the op's expression for the dtype's class
 * (pointwise_exprs.h, shared with the CUDA backend). Loops have unit-stride and scalar-operand fast paths the
 * compiler vectorises. */
#include "../pointwise_ops.h"
#include "cpu.h"
#include "vecmath.h"

/* Unsigned kernels share the signed expressions, whose sign tests are then constant. */
#pragma GCC diagnostic ignored "-Wtype-limits"

/* The expressions (pointwise_exprs.h): integer failures go to the loop's context. */
#define PW_FN static inline
#define PW_SPECIAL_FN static
#define PW_CTX tn_pointwise_ctx *
static inline void mark_failed(tn_pointwise_ctx *c) { __atomic_store_n(&c->failed, 1, __ATOMIC_RELAXED); }
#include "../pointwise_exprs.h"

/* The floating helpers of the expressions. */
/* (a bit test rather than signbit(): GCC 12 fails to vectorise signbit for the 16-bit types) */
static inline int signbit_float(float x) { return tn_vm_to_bits(x) < 0; }
static inline int signbit_double(double x) {
  int64_t bits;
  memcpy(&bits, &x, 8);
  return bits < 0;
}
#define pw_signbit(x) _Generic((x), float: signbit_float, default: signbit_double)(x)

/* Python's modulo for floats: the result takes the sign of the divisor. */
static inline double remainder_double(double x, double y) {
  double r = fmod(x, y);
  return (r != 0 && ((r < 0) != (y < 0))) ? r + y : r;
}
static inline float remainder_float(float x, float y) {
  float r = fmodf(x, y);
  return (r != 0 && ((r < 0) != (y < 0))) ? r + y : r;
}
#define pw_remainder(x, y) _Generic((x), float: remainder_float, default: remainder_double)(x, y)
#define pw_floor_divide(x, y) _Generic((x), float: floor_div_f32, default: floor_div_f64)(x, y)

static inline float gelu_tanh_grad_f(float g, float x) {
  const float k = 0.79788456080286535588f, c = 0.044715f;
  float inner = k * (x + c * x * x * x), t = tn_tanhf(inner);
  return g * (0.5f * (1 + t) + 0.5f * x * (1 - t * t) * k * (1 + 3 * c * x * x));
}
static inline double gelu_tanh_grad_d(double g, double x) {
  const double k = 0.79788456080286535588, c = 0.044715;
  double inner = k * (x + c * x * x * x), t = tanh(inner);
  return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * c * x * x));
}
#define pw_gelu_tanh_grad(x, y) _Generic((x), float: gelu_tanh_grad_f, default: gelu_tanh_grad_d)(x, y)

/* lgamma without its sign, which plain lgamma writes to the global signgam (from every thread at once) */
static inline float lgamma_float(float x) {
  int sign;
  return lgammaf_r(x, &sign);
}
static inline double lgamma_double(double x) {
  int sign;
  return lgamma_r(x, &sign);
}
#define pw_lgamma(x) _Generic((x), float: lgamma_float, default: lgamma_double)(x)

/* ---- loops ---- */

/* Every loop sees its context as ctx, its parameters as p0/p1 and its compute type as compute_t. */
#define CONTEXT(CT)                            \
  typedef CT compute_t;                        \
  tn_pointwise_ctx *ctx = context;             \
  compute_t p0 = (compute_t)ctx->p0, p1 = (compute_t)ctx->p1; \
  (void)ctx;                                   \
  (void)p0;                                    \
  (void)p1

/* out T = f(x T) */
#define UNARY_LOOP(K, ENUM, SUF, T, CT, KIND)                                                          \
  static void unary_##K##_##SUF(char **data, const int64_t *strides, int64_t n, void *context) {       \
    CONTEXT(CT);                                                                                       \
    if (strides[0] == sizeof(T) && strides[1] == sizeof(T)) {                                          \
      T *restrict o = (T *)data[0];                                                                    \
      const T *restrict in = (const T *)data[1];                                                       \
      for (int64_t i = 0; i < n; i++) {                                                                \
        CT x = TN_LOAD_##KIND(in[i]);                                                                  \
        o[i] = TN_STORE_##KIND(T, EXPR(K, KIND)(x));                                                   \
      }                                                                                                \
    } else {                                                                                           \
      for (int64_t i = 0; i < n; i++) {                                                                \
        CT x = TN_LOAD_##KIND(*(const T *)(data[1] + i * strides[1]));                                 \
        *(T *)(data[0] + i * strides[0]) = TN_STORE_##KIND(T, EXPR(K, KIND)(x));                       \
      }                                                                                                \
    }                                                                                                  \
  }

/* out bool = p(x T) */
#define PREDICATE_LOOP(K, ENUM, SUF, T, CT, KIND)                                                      \
  static void unary_##K##_##SUF(char **data, const int64_t *strides, int64_t n, void *context) {       \
    CONTEXT(CT);                                                                                       \
    if (strides[0] == 1 && strides[1] == sizeof(T)) {                                                  \
      uint8_t *restrict o = (uint8_t *)data[0];                                                        \
      const T *restrict in = (const T *)data[1];                                                       \
      for (int64_t i = 0; i < n; i++) {                                                                \
        CT x = TN_LOAD_##KIND(in[i]);                                                                  \
        o[i] = (uint8_t)(EXPR(K, KIND)(x) != 0);                                                       \
      }                                                                                                \
    } else {                                                                                           \
      for (int64_t i = 0; i < n; i++) {                                                                \
        CT x = TN_LOAD_##KIND(*(const T *)(data[1] + i * strides[1]));                                 \
        *(uint8_t *)(data[0] + i * strides[0]) = (uint8_t)(EXPR(K, KIND)(x) != 0);                     \
      }                                                                                                \
    }                                                                                                  \
  }

/* out OT = f(a T, b T), with fast paths for unit strides and for a scalar on either side */
#define BINARY_BODY(K, T, CT, KIND, OT, STORE)                                                         \
  const int64_t es = sizeof(T), os = sizeof(OT);                                                       \
  if (strides[0] == os && strides[1] == es && strides[2] == es) {                                      \
    OT *restrict o = (OT *)data[0];                                                                    \
    const T *restrict pa = (const T *)data[1], *restrict pb = (const T *)data[2];                      \
    for (int64_t i = 0; i < n; i++) {                                                                  \
      CT x = TN_LOAD_##KIND(pa[i]), y = TN_LOAD_##KIND(pb[i]);                                         \
      o[i] = STORE(OT, EXPR(K, KIND)(x, y));                                                           \
    }                                                                                                  \
  } else if (strides[0] == os && strides[1] == es && strides[2] == 0) {                                \
    OT *restrict o = (OT *)data[0];                                                                    \
    const T *restrict pa = (const T *)data[1];                                                         \
    const CT y = TN_LOAD_##KIND(*(const T *)data[2]);                                                  \
    for (int64_t i = 0; i < n; i++) {                                                                  \
      CT x = TN_LOAD_##KIND(pa[i]);                                                                    \
      o[i] = STORE(OT, EXPR(K, KIND)(x, y));                                                           \
    }                                                                                                  \
  } else if (strides[0] == os && strides[1] == 0 && strides[2] == es) {                                \
    OT *restrict o = (OT *)data[0];                                                                    \
    const T *restrict pb = (const T *)data[2];                                                         \
    const CT x = TN_LOAD_##KIND(*(const T *)data[1]);                                                  \
    for (int64_t i = 0; i < n; i++) {                                                                  \
      CT y = TN_LOAD_##KIND(pb[i]);                                                                    \
      o[i] = STORE(OT, EXPR(K, KIND)(x, y));                                                           \
    }                                                                                                  \
  } else {                                                                                             \
    for (int64_t i = 0; i < n; i++) {                                                                  \
      CT x = TN_LOAD_##KIND(*(const T *)(data[1] + i * strides[1]));                                   \
      CT y = TN_LOAD_##KIND(*(const T *)(data[2] + i * strides[2]));                                   \
      *(OT *)(data[0] + i * strides[0]) = STORE(OT, EXPR(K, KIND)(x, y));                              \
    }                                                                                                  \
  }

#define STORE_BOOL_RESULT(OT, v) ((uint8_t)((v) != 0))

#define BINARY_LOOP(K, ENUM, SUF, T, CT, KIND)                                                         \
  static void binary_##K##_##SUF(char **data, const int64_t *strides, int64_t n, void *context) {      \
    CONTEXT(CT);                                                                                       \
    BINARY_BODY(K, T, CT, KIND, T, TN_STORE_##KIND)                                                    \
  }
#define COMPARE_LOOP(K, ENUM, SUF, T, CT, KIND)                                                        \
  static void binary_##K##_##SUF(char **data, const int64_t *strides, int64_t n, void *context) {      \
    CONTEXT(CT);                                                                                       \
    BINARY_BODY(K, T, CT, KIND, uint8_t, STORE_BOOL_RESULT)                                            \
  }
/* out T = f(a T, b T, c T); the third operand is often a scalar (lerp weight) */
#define TERNARY_LOOP(K, ENUM, SUF, T, CT, KIND)                                                        \
  static void ternary_##K##_##SUF(char **data, const int64_t *strides, int64_t n, void *context) {     \
    CONTEXT(CT);                                                                                       \
    const int64_t es = sizeof(T);                                                                      \
    if (strides[0] == es && strides[1] == es && strides[2] == es && strides[3] == es) {                \
      T *restrict o = (T *)data[0];                                                                    \
      const T *restrict pa = (const T *)data[1], *restrict pb = (const T *)data[2],                    \
                        *restrict pc = (const T *)data[3];                                             \
      for (int64_t i = 0; i < n; i++) {                                                                \
        CT a = TN_LOAD_##KIND(pa[i]), b = TN_LOAD_##KIND(pb[i]), c = TN_LOAD_##KIND(pc[i]);            \
        o[i] = TN_STORE_##KIND(T, EXPR(K, KIND)(a, b, c));                                             \
      }                                                                                                \
    } else if (strides[0] == es && strides[1] == es && strides[2] == es && strides[3] == 0) {          \
      T *restrict o = (T *)data[0];                                                                    \
      const T *restrict pa = (const T *)data[1], *restrict pb = (const T *)data[2];                    \
      const CT c = TN_LOAD_##KIND(*(const T *)data[3]);                                                \
      for (int64_t i = 0; i < n; i++) {                                                                \
        CT a = TN_LOAD_##KIND(pa[i]), b = TN_LOAD_##KIND(pb[i]);                                       \
        o[i] = TN_STORE_##KIND(T, EXPR(K, KIND)(a, b, c));                                             \
      }                                                                                                \
    } else {                                                                                           \
      for (int64_t i = 0; i < n; i++) {                                                                \
        CT a = TN_LOAD_##KIND(*(const T *)(data[1] + i * strides[1]));                                 \
        CT b = TN_LOAD_##KIND(*(const T *)(data[2] + i * strides[2]));                                 \
        CT c = TN_LOAD_##KIND(*(const T *)(data[3] + i * strides[3]));                                 \
        *(T *)(data[0] + i * strides[0]) = TN_STORE_##KIND(T, EXPR(K, KIND)(a, b, c));                 \
      }                                                                                                \
    }                                                                                                  \
  }

/* where: out T = cond (bool) ? a : b; the condition's dtype differs, so it has its own loop */
#define WHERE_LOOP(K, ENUM, SUF, T, CT, KIND)                                                          \
  static void ternary_##K##_##SUF(char **data, const int64_t *strides, int64_t n, void *context) {     \
    (void)context;                                                                                     \
    const int64_t es = sizeof(T);                                                                      \
    if (strides[0] == es && strides[1] == 1 && strides[2] == es && strides[3] == es) {                 \
      T *restrict o = (T *)data[0];                                                                    \
      const uint8_t *restrict cond = (const uint8_t *)data[1];                                         \
      const T *restrict pa = (const T *)data[2], *restrict pb = (const T *)data[3];                    \
      for (int64_t i = 0; i < n; i++) o[i] = cond[i] ? pa[i] : pb[i];                                  \
    } else {                                                                                           \
      for (int64_t i = 0; i < n; i++)                                                                  \
        *(T *)(data[0] + i * strides[0]) = *(const uint8_t *)(data[1] + i * strides[1])                \
                                               ? *(const T *)(data[2] + i * strides[2])                \
                                               : *(const T *)(data[3] + i * strides[3]);               \
    }                                                                                                  \
  }

/* Which loop an op uses, by its result rule (BOOL results need the bool-output loops). */
#define UNARY_LOOP_SAME UNARY_LOOP
#define UNARY_LOOP_FLOAT UNARY_LOOP
#define UNARY_LOOP_BOOL PREDICATE_LOOP
#define BINARY_LOOP_SAME BINARY_LOOP
#define BINARY_LOOP_FLOAT BINARY_LOOP
#define BINARY_LOOP_BOOL COMPARE_LOOP

#define STAMP_UNARY(NAME, K, DTYPES, RESULT) TN_FOREACH_##DTYPES##_ARG(UNARY_LOOP_##RESULT, K)
#define STAMP_BINARY(NAME, K, DTYPES, RESULT) TN_FOREACH_##DTYPES##_ARG(BINARY_LOOP_##RESULT, K)
#define TERNARY_LOOP_lerp TERNARY_LOOP
#define TERNARY_LOOP_addcmul TERNARY_LOOP
#define TERNARY_LOOP_addcdiv TERNARY_LOOP
#define TERNARY_LOOP_where WHERE_LOOP
#define STAMP_TERNARY(NAME, K, DTYPES, RESULT) TN_FOREACH_##DTYPES##_ARG(TERNARY_LOOP_##K, K)

TN_UNARY_OPS(STAMP_UNARY)
TN_BINARY_OPS(STAMP_BINARY)
TN_TERNARY_OPS(STAMP_TERNARY)

/* ---- the kernel tables: NULL where an op is not defined for a dtype ---- */
#define UNARY_ENTRY(K, ENUM, SUF, T, CT, KIND) [ENUM] = unary_##K##_##SUF,
#define BINARY_ENTRY(K, ENUM, SUF, T, CT, KIND) [ENUM] = binary_##K##_##SUF,
#define TERNARY_ENTRY(K, ENUM, SUF, T, CT, KIND) [ENUM] = ternary_##K##_##SUF,
#define UNARY_ROW(NAME, K, DTYPES, RESULT) [TN_##NAME] = {TN_FOREACH_##DTYPES##_ARG(UNARY_ENTRY, K)},
#define BINARY_ROW(NAME, K, DTYPES, RESULT) [TN_##NAME] = {TN_FOREACH_##DTYPES##_ARG(BINARY_ENTRY, K)},
#define TERNARY_ROW(NAME, K, DTYPES, RESULT) [TN_##NAME] = {TN_FOREACH_##DTYPES##_ARG(TERNARY_ENTRY, K)},

static const tn_loop_fn unary_loops[TN_NUM_UNARY_KERNELS][TN_NUM_DTYPES] = {TN_UNARY_OPS(UNARY_ROW)};
static const tn_loop_fn binary_loops[TN_NUM_BINARY_KERNELS][TN_NUM_DTYPES] = {TN_BINARY_OPS(BINARY_ROW)};
static const tn_loop_fn ternary_loops[TN_NUM_TERNARY_OPS][TN_NUM_DTYPES] = {TN_TERNARY_OPS(TERNARY_ROW)};

/* Below 2 * TN_GRAIN elements an op runs on one thread, whatever its cost per element. The pool's idle threads
 * sleep (lib/parallel.c), and waking them costs about 10 us. A plain add of 10^5 floats into a fresh (cold)
 * result still gains from a second thread, which brings its own misses in parallel; transcendentals, with a
 * smaller grain once, lost: exp on 8192 floats took 20 us on 2 threads against 8 on one.
 *
 * A contiguous result of TN_STREAM_RESULT_BYTES or more goes out with streaming stores (streaming.c): no cache
 * keeps it for the next op, so ordinary stores would only add a read of every line. In C on the development
 * Xeon, c = a + b over 10^7 floats then a pass reading c: 87% of the time into a cold c, 94% into a warm one
 * (4 x 10^6 floats, warm: 107%, hence the threshold). */
static int run(tn_loop_fn fn, int nops, const tn_tensor *const *ops, double p0, double p1, const char *failure) {
  tn_iter it;
  tn_pointwise_ctx ctx = {p0, p1, 0};
  tn_iter_init(&it, ops[0]->ndim, ops[0]->sizes, nops, ops);
  const tn_tensor *out = ops[0];
  if (out->numel * tn_dtype_size(out->dtype) >= TN_STREAM_RESULT_BYTES && tn_is_contiguous(out)) {
    tn_streamed streamed = {fn, &ctx, nops, tn_dtype_size(out->dtype)};
    tn_iter_run(&it, tn_cpu_streamed_loop, &streamed, TN_GRAIN);
  } else {
    tn_iter_run(&it, fn, &ctx, TN_GRAIN);
  }
  return ctx.failed ? tn_error("%s", failure) : 0;
}

int tn_cpu_unary(int op, tn_tensor *out, const tn_tensor *x, double p0, double p1) {
  const tn_tensor *ops[2] = {out, x};
  tn_loop_fn vector = x->dtype == TN_FLOAT32 ? tn_cpu_vector_f32_unary_loop(op) : NULL;
  return run(vector ? vector : unary_loops[op][x->dtype], 2, ops, p0, p1,
             "pow: integers to negative integer powers are not allowed");
}

int tn_cpu_binary(int op, tn_tensor *out, const tn_tensor *a, const tn_tensor *b, double p0, double p1) {
  const tn_tensor *ops[3] = {out, a, b};
  tn_loop_fn scaled = a->dtype == TN_FLOAT32 ? tn_cpu_scaled_f32_loop(op) : NULL;
  return run(scaled ? scaled : binary_loops[op][a->dtype], 3, ops, p0, p1, "integer division by zero");
}

int tn_cpu_ternary(int op, tn_tensor *out, const tn_tensor *a, const tn_tensor *b, const tn_tensor *c, double p0) {
  const tn_tensor *ops[4] = {out, a, b, c};
  /* where's kernel is chosen by the value dtype, not the condition's */
  int dtype = op == TN_WHERE ? b->dtype : a->dtype;
  return run(ternary_loops[op][dtype], 4, ops, p0, 0, "ternary op failed");
}
