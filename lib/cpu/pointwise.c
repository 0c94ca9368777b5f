/* pointwise.c: CPU element-wise kernels. One inner loop per (op, dtype), stamped from the op lists of
 * pointwise_ops.h and the dtype lists of internal.h. Each op is an expression per dtype class:
 * NAME_F(x) for floating (computed in float for the 16-bit types), NAME_I(x) for integers, NAME_B(x) for
 * bool. Loops have unit-stride and scalar-operand fast paths the compiler vectorises. */
#include "../pointwise_ops.h"
#include "cpu.h"
#include "vecmath.h"

/* Unsigned kernels share the signed expressions, whose sign tests are then constant. */
#pragma GCC diagnostic ignored "-Wtype-limits"

#define CAT(a, b) CAT_(a, b)
#define CAT_(a, b) a##b
#define CLASS_FLOAT F
#define CLASS_HALF F
#define CLASS_BF16 F
#define CLASS_INT I
#define CLASS_BOOL B
/* The expression macro of kernel K for the dtype kind KIND: exp + FLOAT -> exp_F */
#define EXPR(K, KIND) CAT(K##_, CLASS_##KIND)

/* Integer kernels report division by zero and negative powers through the context. */
static inline void mark_failed(tn_pointwise_ctx *c) { __atomic_store_n(&c->failed, 1, __ATOMIC_RELAXED); }

static inline int64_t floor_div_i64(int64_t x, int64_t y, tn_pointwise_ctx *c) {
  if (y == 0) return mark_failed(c), 0;
  if (y == -1) return (int64_t)(0 - (uint64_t)x); /* INT64_MIN / -1 wraps instead of trapping */
  int64_t q = x / y;
  return (x % y != 0 && ((x < 0) != (y < 0))) ? q - 1 : q;
}
static inline int64_t remainder_i64(int64_t x, int64_t y, tn_pointwise_ctx *c) {
  if (y == 0) return mark_failed(c), 0;
  if (y == -1) return 0;
  int64_t r = x % y;
  return (r != 0 && ((r < 0) != (y < 0))) ? r + y : r;
}
static inline int64_t fmod_i64(int64_t x, int64_t y, tn_pointwise_ctx *c) {
  if (y == 0) return mark_failed(c), 0;
  return y == -1 ? 0 : x % y;
}
static inline int64_t pow_i64(int64_t base, int64_t e, tn_pointwise_ctx *c) {
  if (e < 0) return mark_failed(c), 0;
  uint64_t result = 1, b = (uint64_t)base; /* unsigned arithmetic wraps like PyTorch's */
  for (; e; e >>= 1, b *= b)
    if (e & 1) result *= b;
  return (int64_t)result;
}

/* ---- unary expressions ---- */
#define neg_F(x) (-(x))
#define neg_I(x) (-(x))
#define abs_F(x) TN_LIBM(fabs, x)
#define abs_I(x) ((x) < 0 ? -(x) : (x))
#define abs_B(x) (x)
#define sign_F(x) ((x) > 0 ? 1 : (x) < 0 ? -1 : 0) /* 0 for NaN, like PyTorch */
#define sign_I(x) (((x) > 0) - ((x) < 0))
#define sign_B(x) (x)
#define exp_F(x) TN_MATH(exp, x)
#define exp2_F(x) TN_LIBM(exp2, x)
#define expm1_F(x) TN_LIBM(expm1, x)
#define log_F(x) TN_MATH(log, x)
#define log2_F(x) TN_LIBM(log2, x)
#define log10_F(x) TN_LIBM(log10, x)
#define log1p_F(x) TN_LIBM(log1p, x)
#define sqrt_F(x) TN_LIBM(sqrt, x)
#define rsqrt_F(x) (1 / TN_LIBM(sqrt, x))
#define sin_F(x) TN_LIBM(sin, x)
#define cos_F(x) TN_LIBM(cos, x)
#define tan_F(x) TN_LIBM(tan, x)
#define asin_F(x) TN_LIBM(asin, x)
#define acos_F(x) TN_LIBM(acos, x)
#define atan_F(x) TN_LIBM(atan, x)
#define sinh_F(x) TN_LIBM(sinh, x)
#define cosh_F(x) TN_LIBM(cosh, x)
#define tanh_F(x) TN_MATH(tanh, x)
#define sigmoid_F(x) TN_SIGMOID(x)
/* log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)) */
#define logsigmoid_F(x) (((x) < 0 ? (x) : 0) - TN_LIBM(log1p, TN_MATH(exp, -TN_LIBM(fabs, x))))
#define relu_F(x) ((x) < 0 ? 0 : (x)) /* NaN passes through */
#define relu_I(x) ((x) < 0 ? 0 : (x))
#define gelu_F(x) ((x) * (compute_t)0.5 * (1 + TN_MATH(erf, (x) * (compute_t)0.70710678118654752440)))
#define gelu_tanh_F(x) \
  ((compute_t)0.5 * (x) * (1 + TN_MATH(tanh, (compute_t)0.79788456080286535588 * ((x) + (compute_t)0.044715 * (x) * (x) * (x)))))
#define silu_F(x) ((x) * TN_SIGMOID(x))
#define leaky_relu_F(x) ((x) > 0 ? (x) : (x) * p0)
#define elu_F(x) ((x) > 0 ? (x) : p0 * (TN_MATH(exp, x) - 1))
/* softplus with beta p0 and threshold p1: linear above the threshold, else log1p(exp(beta x)) / beta */
#define softplus_F(x) \
  ((x) * p0 > p1 ? (x) : (((x) * p0 > 0 ? (x) * p0 : 0) + TN_LIBM(log1p, TN_MATH(exp, -TN_LIBM(fabs, (x) * p0)))) / p0)
#define erf_F(x) TN_MATH(erf, x)
#define erfc_F(x) TN_LIBM(erfc, x)
#define floor_F(x) TN_LIBM(floor, x)
#define floor_I(x) (x)
#define ceil_F(x) TN_LIBM(ceil, x)
#define ceil_I(x) (x)
#define round_F(x) TN_LIBM(nearbyint, x) /* half to even, like PyTorch */
#define round_I(x) (x)
#define trunc_F(x) TN_LIBM(trunc, x)
#define trunc_I(x) (x)
#define frac_F(x) ((x) - TN_LIBM(trunc, x))
#define reciprocal_F(x) (1 / (x))
#define square_F(x) ((x) * (x))
#define square_I(x) ((x) * (x))
#define clamp_F(x) ((x) < p0 ? p0 : (x) > p1 ? p1 : (x)) /* NaN passes through */
#define clamp_I(x) ((x) < p0 ? p0 : (x) > p1 ? p1 : (x))
#define pow_scalar_F(x) TN_LIBM2(pow, x, p0)
#define pow_scalar_I(x) pow_i64(x, (int64_t)ctx->p0, ctx)
#define bitwise_not_I(x) (~(x))
#define bitwise_not_B(x) (!(x))
#define logical_not_F(x) ((x) == 0)
#define logical_not_I(x) ((x) == 0)
#define logical_not_B(x) ((x) == 0)
#define isnan_F(x) ((x) != (x))
#define isnan_I(x) ((void)(x), 0)
#define isnan_B(x) ((void)(x), 0)
#define isinf_F(x) (TN_LIBM(fabs, x) == (compute_t)INFINITY)
#define isinf_I(x) ((void)(x), 0)
#define isinf_B(x) ((void)(x), 0)
#define isfinite_F(x) (TN_LIBM(fabs, x) < (compute_t)INFINITY)
#define isfinite_I(x) ((void)(x), 1)
#define isfinite_B(x) ((void)(x), 1)
/* (a bit test rather than signbit(): GCC 12 fails to vectorise signbit for the 16-bit types) */
#define signbit_F(x) _Generic((x), float: signbit_float, default: signbit_double)(x)
#define signbit_I(x) ((x) < 0)
#define signbit_B(x) ((void)(x), 0)

/* ---- binary expressions ---- */
#define add_F(x, y) ((x) + p0 * (y))
#define add_I(x, y) ((x) + p0 * (y))
#define add_B(x, y) ((x) | (y))
#define sub_F(x, y) ((x) - p0 * (y))
#define sub_I(x, y) ((x) - p0 * (y))
#define mul_F(x, y) ((x) * (y))
#define mul_I(x, y) ((x) * (y))
#define mul_B(x, y) ((x) & (y))
#define div_F(x, y) ((x) / (y))
#define floor_divide_F(x, y) TN_LIBM(floor, (x) / (y))
#define floor_divide_I(x, y) floor_div_i64(x, y, ctx)
#define remainder_F(x, y) remainder_f(x, y)
#define remainder_I(x, y) remainder_i64(x, y, ctx)
#define fmod_F(x, y) TN_LIBM2(fmod, x, y)
#define fmod_I(x, y) fmod_i64(x, y, ctx)
#define pow_F(x, y) TN_LIBM2(pow, x, y)
#define pow_I(x, y) pow_i64(x, y, ctx)
#define maximum_F(x, y) ((x) != (x) || (y) != (y) ? (x) + (y) : (x) > (y) ? (x) : (y)) /* NaN propagates */
#define maximum_I(x, y) ((x) > (y) ? (x) : (y))
#define maximum_B(x, y) ((x) | (y))
#define minimum_F(x, y) ((x) != (x) || (y) != (y) ? (x) + (y) : (x) < (y) ? (x) : (y))
#define minimum_I(x, y) ((x) < (y) ? (x) : (y))
#define minimum_B(x, y) ((x) & (y))
#define atan2_F(x, y) TN_LIBM2(atan2, x, y)
#define bitwise_and_I(x, y) ((x) & (y))
#define bitwise_and_B(x, y) ((x) & (y))
#define bitwise_or_I(x, y) ((x) | (y))
#define bitwise_or_B(x, y) ((x) | (y))
#define bitwise_xor_I(x, y) ((x) ^ (y))
#define bitwise_xor_B(x, y) ((x) ^ (y))
/* Backward kernels: x is the incoming gradient, y the saved input (or output, for sigmoid and tanh). */
#define threshold_backward_F(x, y) ((y) > p0 ? (x) : 0)
#define threshold_backward_I(x, y) ((y) > p0 ? (x) : 0)
#define sigmoid_backward_F(x, y) ((x) * (y) * (1 - (y)))
#define tanh_backward_F(x, y) ((x) * (1 - (y) * (y)))
#define gelu_backward_F(x, y)                                                                             \
  ((x) * ((compute_t)0.5 * (1 + TN_MATH(erf, (y) * (compute_t)0.70710678118654752440)) +                                \
          (y) * (compute_t)0.39894228040143267794 * TN_MATH(exp, (compute_t)-0.5 * (y) * (y))))
#define gelu_tanh_backward_F(x, y) gelu_tanh_grad(x, y)
#define silu_backward_F(x, y) ((x) * TN_SIGMOID(y) * (1 + (y) * (1 - TN_SIGMOID(y))))
#define leaky_relu_backward_F(x, y) ((y) > 0 ? (x) : (x) * p0)
#define elu_backward_F(x, y) ((y) > 0 ? (x) : (x) * p0 * TN_MATH(exp, y))
#define softplus_backward_F(x, y) ((y) * p0 > p1 ? (x) : (x) * TN_SIGMOID((y) * p0))
/* Comparisons and logical ops produce bool. */
#define eq_F(x, y) ((x) == (y))
#define eq_I eq_F
#define eq_B eq_F
#define ne_F(x, y) ((x) != (y))
#define ne_I ne_F
#define ne_B ne_F
#define lt_F(x, y) ((x) < (y))
#define lt_I lt_F
#define lt_B lt_F
#define le_F(x, y) ((x) <= (y))
#define le_I le_F
#define le_B le_F
#define gt_F(x, y) ((x) > (y))
#define gt_I gt_F
#define gt_B gt_F
#define ge_F(x, y) ((x) >= (y))
#define ge_I ge_F
#define ge_B ge_F
#define logical_and_F(x, y) (((x) != 0) & ((y) != 0))
#define logical_and_I logical_and_F
#define logical_and_B logical_and_F
#define logical_or_F(x, y) (((x) != 0) | ((y) != 0))
#define logical_or_I logical_or_F
#define logical_or_B logical_or_F
#define logical_xor_F(x, y) (((x) != 0) ^ ((y) != 0))
#define logical_xor_I logical_xor_F
#define logical_xor_B logical_xor_F

static inline int signbit_float(float x) { return tn_vm_to_bits(x) < 0; }
static inline int signbit_double(double x) {
  int64_t bits;
  memcpy(&bits, &x, 8);
  return bits < 0;
}

/* Python's modulo for floats: the result takes the sign of the divisor. */
#define remainder_f(x, y) remainder_float_impl(x, y)
static inline double remainder_double(double x, double y) {
  double r = fmod(x, y);
  return (r != 0 && ((r < 0) != (y < 0))) ? r + y : r;
}
static inline float remainder_float(float x, float y) {
  float r = fmodf(x, y);
  return (r != 0 && ((r < 0) != (y < 0))) ? r + y : r;
}
#define remainder_float_impl(x, y) _Generic((x), float: remainder_float, default: remainder_double)(x, y)

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
#define gelu_tanh_grad(x, y) _Generic((x), float: gelu_tanh_grad_f, default: gelu_tanh_grad_d)(x, y)

/* ---- ternary expressions ---- */
/* lerp as PyTorch computes it, exact at both ends */
#define lerp_F(a, b, w) (TN_LIBM(fabs, w) < (compute_t)0.5 ? (a) + (w) * ((b) - (a)) : (b) - ((b) - (a)) * (1 - (w)))
#define addcmul_F(a, b, c) ((a) + p0 * (b) * (c))
#define addcmul_I(a, b, c) ((a) + p0 * (b) * (c))
#define addcdiv_F(a, b, c) ((a) + p0 * (b) / (c))

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
  return run(scaled ? scaled : binary_loops[op][a->dtype], 3, ops, p0, p1,
             op == TN_POW ? "pow: integers to negative integer powers are not allowed"
                          : "integer division by zero");
}

int tn_cpu_ternary(int op, tn_tensor *out, const tn_tensor *a, const tn_tensor *b, const tn_tensor *c, double p0) {
  const tn_tensor *ops[4] = {out, a, b, c};
  /* where's kernel is chosen by the value dtype, not the condition's */
  int dtype = op == TN_WHERE ? b->dtype : a->dtype;
  return run(ternary_loops[op][dtype], 4, ops, p0, 0, "ternary op failed");
}
