/* pointwise_ops.h: the element-wise ops, one line each. The public layer (ops/pointwise.c) reads the
 * result rule; each backend stamps a kernel per op and dtype from the same lines.
 *
 * X(NAME, kernel, DTYPES, RESULT)
 *   NAME    the op's enum in tensor.h without TN_ (TN_NEG ...), or an internal variant below
 *   kernel  the expression macros' prefix in the backend (neg -> neg_F / neg_I / neg_B)
 *   DTYPES  the compute dtypes it is defined for: FLOATING, NUMERIC, ALL, INTEGRAL, INTEGRAL_BOOL or FLOAT_DOUBLE
 *           (float32 and float64: ops whose answer depends on the stored precision, which the 16-bit kinds,
 *           computed in float, would lose)
 *   RESULT  SAME: the promoted dtype; FLOAT: integer and bool inputs go to the float dtype first;
 *           BOOL: computed in the promoted dtype, the result is bool
 */
#ifndef TN_POINTWISE_OPS_H
#define TN_POINTWISE_OPS_H

#include "tensor.h"

/* FLOAT_DOUBLE: internal.h's FLOATING list less its 16-bit kinds (each entry is kept or dropped by its kind). */
#define TN_FOREACH_FLOAT_DOUBLE_ARG(X, ARG) TN_FOREACH_FLOATING_ARG(TN_KEEP_KIND, (X, ARG))
#define TN_KEEP_KIND(P, ENUM, SUF, T, CT, KIND) TN_KEEP_##KIND(P, ENUM, SUF, T, CT)
#define TN_KEEP_FLOAT(P, ENUM, SUF, T, CT) TN_KEEP_CALL(TN_KEEP_UNPACK P, ENUM, SUF, T, CT, FLOAT)
#define TN_KEEP_HALF(P, ENUM, SUF, T, CT)
#define TN_KEEP_BF16(P, ENUM, SUF, T, CT)
#define TN_KEEP_UNPACK(X, ARG) X, ARG
#define TN_KEEP_CALL(...) TN_KEEP_CALL_(__VA_ARGS__)
#define TN_KEEP_CALL_(X, ARG, ...) X(ARG, __VA_ARGS__)

/* Internal kernel variants, chosen by the public layer from an op's parameters. */
enum { TN_GELU_TANH = TN_NUM_UNARY_OPS, TN_NUM_UNARY_KERNELS };
enum { TN_GELU_TANH_BACKWARD = TN_NUM_BINARY_OPS, TN_NUM_BINARY_KERNELS };

#define TN_UNARY_OPS(X)                           \
  X(NEG, neg, NUMERIC, SAME)                      \
  X(ABS, abs, ALL, SAME)                          \
  X(SIGN, sign, ALL, SAME)                        \
  X(EXP, exp, FLOATING, FLOAT)                    \
  X(EXP2, exp2, FLOATING, FLOAT)                  \
  X(EXPM1, expm1, FLOATING, FLOAT)                \
  X(LOG, log, FLOATING, FLOAT)                    \
  X(LOG2, log2, FLOATING, FLOAT)                  \
  X(LOG10, log10, FLOATING, FLOAT)                \
  X(LOG1P, log1p, FLOATING, FLOAT)                \
  X(SQRT, sqrt, FLOATING, FLOAT)                  \
  X(RSQRT, rsqrt, FLOATING, FLOAT)                \
  X(SIN, sin, FLOATING, FLOAT)                    \
  X(COS, cos, FLOATING, FLOAT)                    \
  X(TAN, tan, FLOATING, FLOAT)                    \
  X(ASIN, asin, FLOATING, FLOAT)                  \
  X(ACOS, acos, FLOATING, FLOAT)                  \
  X(ATAN, atan, FLOATING, FLOAT)                  \
  X(SINH, sinh, FLOATING, FLOAT)                  \
  X(COSH, cosh, FLOATING, FLOAT)                  \
  X(TANH, tanh, FLOATING, FLOAT)                  \
  X(SIGMOID, sigmoid, FLOATING, FLOAT)            \
  X(LOGSIGMOID, logsigmoid, FLOATING, FLOAT)      \
  X(RELU, relu, NUMERIC, SAME)                    \
  X(GELU, gelu, FLOATING, FLOAT)                  \
  X(GELU_TANH, gelu_tanh, FLOATING, FLOAT)        \
  X(SILU, silu, FLOATING, FLOAT)                  \
  X(LEAKY_RELU, leaky_relu, FLOATING, FLOAT)      \
  X(ELU, elu, FLOATING, FLOAT)                    \
  X(SOFTPLUS, softplus, FLOATING, FLOAT)          \
  X(ERF, erf, FLOATING, FLOAT)                    \
  X(ERFC, erfc, FLOATING, FLOAT)                  \
  X(ASINH, asinh, FLOATING, FLOAT)                \
  X(ACOSH, acosh, FLOATING, FLOAT)                \
  X(ATANH, atanh, FLOATING, FLOAT)                \
  X(LGAMMA, lgamma, FLOATING, FLOAT)              \
  X(DIGAMMA, digamma, FLOATING, FLOAT)            \
  X(POLYGAMMA, polygamma, FLOATING, FLOAT)        \
  X(ERFINV, erfinv, FLOATING, FLOAT)              \
  X(I0, i0, FLOATING, FLOAT)                      \
  X(I1, i1, FLOATING, FLOAT)                      \
  X(SINC, sinc, FLOATING, FLOAT)                  \
  X(NDTR, ndtr, FLOATING, FLOAT)                  \
  X(NDTRI, ndtri, FLOAT_DOUBLE, FLOAT)            \
  X(LOG_NDTR, log_ndtr, FLOAT_DOUBLE, FLOAT)      \
  X(ERFCX, erfcx, FLOAT_DOUBLE, FLOAT)            \
  X(I0E, i0e, FLOATING, FLOAT)                    \
  X(I1E, i1e, FLOAT_DOUBLE, FLOAT)                \
  X(ENTR, entr, FLOATING, FLOAT)                  \
  X(BESSEL_J0, bessel_j0, FLOAT_DOUBLE, FLOAT)    \
  X(BESSEL_J1, bessel_j1, FLOAT_DOUBLE, FLOAT)    \
  X(BESSEL_Y0, bessel_y0, FLOAT_DOUBLE, FLOAT)    \
  X(BESSEL_Y1, bessel_y1, FLOAT_DOUBLE, FLOAT)    \
  X(MODIFIED_BESSEL_K0, modified_bessel_k0, FLOAT_DOUBLE, FLOAT) \
  X(MODIFIED_BESSEL_K1, modified_bessel_k1, FLOAT_DOUBLE, FLOAT) \
  X(SCALED_MODIFIED_BESSEL_K0, scaled_modified_bessel_k0, FLOAT_DOUBLE, FLOAT) \
  X(SCALED_MODIFIED_BESSEL_K1, scaled_modified_bessel_k1, FLOAT_DOUBLE, FLOAT) \
  X(SPHERICAL_BESSEL_J0, spherical_bessel_j0, FLOAT_DOUBLE, FLOAT) \
  X(AIRY_AI, airy_ai, FLOAT_DOUBLE, FLOAT)        \
  X(FLOOR, floor, NUMERIC, SAME)                  \
  X(CEIL, ceil, NUMERIC, SAME)                    \
  X(ROUND, round, NUMERIC, SAME)                  \
  X(TRUNC, trunc, NUMERIC, SAME)                  \
  X(FRAC, frac, FLOATING, FLOAT)                  \
  X(RECIPROCAL, reciprocal, FLOATING, FLOAT)      \
  X(SQUARE, square, NUMERIC, SAME)                \
  X(CLAMP, clamp, NUMERIC, SAME)                  \
  X(POW_SCALAR, pow_scalar, NUMERIC, SAME)        \
  X(BITWISE_NOT, bitwise_not, INTEGRAL_BOOL, SAME) \
  X(LOGICAL_NOT, logical_not, ALL, BOOL)          \
  X(ISNAN, isnan, ALL, BOOL)                      \
  X(ISINF, isinf, ALL, BOOL)                      \
  X(ISFINITE, isfinite, ALL, BOOL)                \
  X(SIGNBIT, signbit, ALL, BOOL)

#define TN_BINARY_OPS(X)                                    \
  X(ADD, add, ALL, SAME)                                    \
  X(SUB, sub, NUMERIC, SAME)                                \
  X(MUL, mul, ALL, SAME)                                    \
  X(DIV, div, FLOATING, FLOAT)                              \
  X(FLOOR_DIVIDE, floor_divide, NUMERIC, SAME)              \
  X(REMAINDER, remainder, NUMERIC, SAME)                    \
  X(FMOD, fmod, NUMERIC, SAME)                              \
  X(POW, pow, NUMERIC, SAME)                                \
  X(MAXIMUM, maximum, ALL, SAME)                            \
  X(MINIMUM, minimum, ALL, SAME)                            \
  X(ATAN2, atan2, FLOATING, FLOAT)                          \
  X(FMAX, fmax, ALL, SAME)                                  \
  X(FMIN, fmin, ALL, SAME)                                  \
  X(NEXTAFTER, nextafter, FLOAT_DOUBLE, SAME)               \
  X(GCD, gcd, INTEGRAL, SAME)                               \
  X(LCM, lcm, INTEGRAL, SAME)                               \
  X(BITWISE_LEFT_SHIFT, bitwise_left_shift, INTEGRAL, SAME) \
  X(BITWISE_RIGHT_SHIFT, bitwise_right_shift, INTEGRAL, SAME) \
  X(XLOG1PY, xlog1py, FLOATING, FLOAT)                      \
  X(ZETA, zeta, FLOAT_DOUBLE, FLOAT)                        \
  X(IGAMMA, igamma, FLOATING, SAME)                         \
  X(IGAMMAC, igammac, FLOATING, SAME)                       \
  X(CHEBYSHEV_POLYNOMIAL_T, chebyshev_polynomial_t, FLOAT_DOUBLE, FLOAT) \
  X(CHEBYSHEV_POLYNOMIAL_U, chebyshev_polynomial_u, FLOAT_DOUBLE, FLOAT) \
  X(CHEBYSHEV_POLYNOMIAL_V, chebyshev_polynomial_v, FLOAT_DOUBLE, FLOAT) \
  X(CHEBYSHEV_POLYNOMIAL_W, chebyshev_polynomial_w, FLOAT_DOUBLE, FLOAT) \
  X(SHIFTED_CHEBYSHEV_POLYNOMIAL_T, shifted_chebyshev_polynomial_t, FLOAT_DOUBLE, FLOAT) \
  X(SHIFTED_CHEBYSHEV_POLYNOMIAL_U, shifted_chebyshev_polynomial_u, FLOAT_DOUBLE, FLOAT) \
  X(SHIFTED_CHEBYSHEV_POLYNOMIAL_V, shifted_chebyshev_polynomial_v, FLOAT_DOUBLE, FLOAT) \
  X(SHIFTED_CHEBYSHEV_POLYNOMIAL_W, shifted_chebyshev_polynomial_w, FLOAT_DOUBLE, FLOAT) \
  X(HERMITE_POLYNOMIAL_H, hermite_polynomial_h, FLOAT_DOUBLE, FLOAT) \
  X(HERMITE_POLYNOMIAL_HE, hermite_polynomial_he, FLOAT_DOUBLE, FLOAT) \
  X(LAGUERRE_POLYNOMIAL_L, laguerre_polynomial_l, FLOAT_DOUBLE, FLOAT) \
  X(LEGENDRE_POLYNOMIAL_P, legendre_polynomial_p, FLOAT_DOUBLE, FLOAT) \
  X(BITWISE_AND, bitwise_and, INTEGRAL_BOOL, SAME)          \
  X(BITWISE_OR, bitwise_or, INTEGRAL_BOOL, SAME)            \
  X(BITWISE_XOR, bitwise_xor, INTEGRAL_BOOL, SAME)          \
  X(THRESHOLD_BACKWARD, threshold_backward, NUMERIC, SAME)  \
  X(SIGMOID_BACKWARD, sigmoid_backward, FLOATING, FLOAT)    \
  X(TANH_BACKWARD, tanh_backward, FLOATING, FLOAT)          \
  X(GELU_BACKWARD, gelu_backward, FLOATING, FLOAT)          \
  X(GELU_TANH_BACKWARD, gelu_tanh_backward, FLOATING, FLOAT) \
  X(SILU_BACKWARD, silu_backward, FLOATING, FLOAT)          \
  X(LEAKY_RELU_BACKWARD, leaky_relu_backward, FLOATING, FLOAT) \
  X(ELU_BACKWARD, elu_backward, FLOATING, FLOAT)            \
  X(SOFTPLUS_BACKWARD, softplus_backward, FLOATING, FLOAT)  \
  X(EQ, eq, ALL, BOOL)                                      \
  X(NE, ne, ALL, BOOL)                                      \
  X(LT, lt, ALL, BOOL)                                      \
  X(LE, le, ALL, BOOL)                                      \
  X(GT, gt, ALL, BOOL)                                      \
  X(GE, ge, ALL, BOOL)                                      \
  X(LOGICAL_AND, logical_and, ALL, BOOL)                    \
  X(LOGICAL_OR, logical_or, ALL, BOOL)                      \
  X(LOGICAL_XOR, logical_xor, ALL, BOOL)

#define TN_TERNARY_OPS(X)               \
  X(LERP, lerp, FLOATING, FLOAT)        \
  X(ADDCMUL, addcmul, NUMERIC, SAME)    \
  X(ADDCDIV, addcdiv, FLOATING, FLOAT)  \
  X(WHERE, where, ALL, SAME)

/* How an op's result dtype follows from its promoted input dtype. */
enum { TN_RESULT_SAME, TN_RESULT_FLOAT, TN_RESULT_BOOL };

/* Parameters every element-wise kernel receives through its loop context. */
typedef struct tn_pointwise_ctx {
  double p0, p1;
  int failed; /* set by integer kernels on division by zero or a negative integer power */
} tn_pointwise_ctx;

#endif /* TN_POINTWISE_OPS_H */
