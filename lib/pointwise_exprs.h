/* pointwise_exprs.h: the expression of each element-wise op, per dtype class, shared by the CPU loops
 * (lib/cpu/pointwise.c) and the CUDA functors (cuda/pointwise.cu), so that both backends compute the same
 * thing. NAME_F(x) is for floating dtypes (computed in float for the 16-bit ones), NAME_I(x) for integers,
 * NAME_B(x) for bool; EXPR(K, KIND) names the one for a dtype kind of internal.h's lists.
 *
 * The includer defines, before including:
 *  - PW_FN, the qualifiers of a helper function, PW_CTX, the type of the context pointer, and
 *    mark_failed(PW_CTX), which reports an integer division by zero or negative power;
 *  - PW_SPECIAL_FN, the qualifiers of the larger special functions (special_math.h, included here);
 *  - TN_LIBM(name, x) and TN_LIBM2(name, x, y), its math functions for float and double (the helpers use them);
 * and, before stamping its kernels:
 *  - TN_MATH(name, x) and TN_SIGMOID(x);
 *  - pw_signbit(x), pw_remainder(x, y) (Python's remainder: the sign of y), pw_floor_divide(x, y) (floor_div_f32
 *    or floor_div_f64 below, by type), pw_gelu_tanh_grad(g, x) and pw_lgamma(x) for the floating compute types;
 *  - in each kernel's scope: compute_t, the compute type; p0 and p1, the op's parameters in it; ctx. */
#ifndef TN_POINTWISE_EXPRS_H
#define TN_POINTWISE_EXPRS_H

#define CAT(a, b) CAT_(a, b)
#define CAT_(a, b) a##b
#define CLASS_FLOAT F
#define CLASS_HALF F
#define CLASS_BF16 F
#define CLASS_INT I
#define CLASS_BOOL B
/* The expression macro of kernel K for the dtype kind KIND: exp + FLOAT -> exp_F */
#define EXPR(K, KIND) CAT(K##_, CLASS_##KIND)

#include "special_math.h"

/* Integer division by zero and negative powers are reported through the context (mark_failed). */
PW_FN int64_t floor_div_i64(int64_t x, int64_t y, PW_CTX c) {
  if (y == 0) return mark_failed(c), 0;
  if (y == -1) return (int64_t)(0 - (uint64_t)x); /* INT64_MIN / -1 wraps instead of trapping */
  int64_t q = x / y;
  return (x % y != 0 && ((x < 0) != (y < 0))) ? q - 1 : q;
}
PW_FN int64_t remainder_i64(int64_t x, int64_t y, PW_CTX c) {
  if (y == 0) return mark_failed(c), 0;
  if (y == -1) return 0;
  int64_t r = x % y;
  return (r != 0 && ((r < 0) != (y < 0))) ? r + y : r;
}
PW_FN int64_t fmod_i64(int64_t x, int64_t y, PW_CTX c) {
  if (y == 0) return mark_failed(c), 0;
  return y == -1 ? 0 : x % y;
}
PW_FN int64_t pow_i64(int64_t base, int64_t e, PW_CTX c) {
  if (e < 0) return mark_failed(c), 0;
  uint64_t result = 1, b = (uint64_t)base; /* unsigned arithmetic wraps like PyTorch's */
  for (; e; e >>= 1, b *= b)
    if (e & 1) result *= b;
  return (int64_t)result;
}
/* A tensor of exponents may hold negative ones (PyTorch refuses only a negative number): 1 / base^-e truncated,
 * which is 0 unless base is 1 or -1 (0 for base 0 too, as PyTorch gives). */
PW_FN int64_t pow_tensor_i64(int64_t base, int64_t e, PW_CTX c) {
  if (e >= 0) return pow_i64(base, e, c);
  if (base == 1) return 1;
  if (base == -1) return (e & 1) ? -1 : 1;
  return 0;
}

/* Python's and PyTorch's floor division of floats: from fmod, so that 1 // 0.1 is 9 (floor(1 / 0.1) is 10), and
 * NaN for an infinite dividend; a zero divisor gives IEEE's a / b. */
#define DEFINE_FLOOR_DIV(T, NAME)                                          \
  PW_FN T NAME(T a, T b) {                                                 \
    if (b == 0) return a / b;                                              \
    T mod = TN_LIBM2(fmod, a, b);                                          \
    T div = (a - mod) / b;                                                 \
    if (mod != 0 && (b < 0) != (mod < 0)) div -= 1;                        \
    if (div == 0) return TN_LIBM2(copysign, (T)0, a / b);                  \
    T floor_div = TN_LIBM(floor, div);                                     \
    return div - floor_div > (T)0.5 ? floor_div + 1 : floor_div;           \
  }
DEFINE_FLOOR_DIV(float, floor_div_f32)
DEFINE_FLOOR_DIV(double, floor_div_f64)
#undef DEFINE_FLOOR_DIV

/* gcd and lcm of the magnitudes, as PyTorch (whose |x| of the most negative value wraps to itself, as the
 * unsigned arithmetic here does); lcm(a, b) = |a / gcd * b|, wrapping on overflow, 0 when both are 0. */
PW_FN int64_t gcd_i64(int64_t a, int64_t b) {
  uint64_t x = a < 0 ? 0 - (uint64_t)a : (uint64_t)a, y = b < 0 ? 0 - (uint64_t)b : (uint64_t)b;
  while (x != 0) {
    uint64_t r = y % x;
    y = x;
    x = r;
  }
  return (int64_t)y;
}
PW_FN int64_t lcm_i64(int64_t a, int64_t b) {
  int64_t g = gcd_i64(a, b);
  if (g == 0) return 0;
  uint64_t v = (uint64_t)(a / g) * (uint64_t)b;
  return (int64_t)v < 0 ? (int64_t)(0 - v) : (int64_t)v;
}
/* Shifts by a count outside [0, bits) of the dtype: 0 to the left, the sign to the right (later PyTorch's rule; 1.13
 * left them to the C compiler, which on x86 takes the count modulo 32 or 64). */
PW_FN int64_t shift_left_i64(int64_t a, int64_t b, int bits) {
  return b < 0 || b >= bits ? 0 : (int64_t)((uint64_t)a << b);
}
PW_FN int64_t shift_right_i64(int64_t a, int64_t b, int bits) {
  return b < 0 || b >= bits ? (a < 0 ? -1 : 0) : a >> b;
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
#define gelu_tanh_F(x)            \
  ((compute_t)0.5 * (x) *         \
   (1 + TN_MATH(tanh, (compute_t)0.79788456080286535588 * ((x) + (compute_t)0.044715 * (x) * (x) * (x)))))
#define silu_F(x) ((x) * TN_SIGMOID(x))
#define leaky_relu_F(x) ((x) > 0 ? (x) : (x) * p0)
#define elu_F(x) ((x) > 0 ? (x) : p0 * (TN_MATH(exp, x) - 1))
/* softplus with beta p0 and threshold p1: linear above the threshold, else log1p(exp(beta x)) / beta */
#define softplus_F(x) \
  ((x) * p0 > p1 ? (x) : (((x) * p0 > 0 ? (x) * p0 : 0) + TN_LIBM(log1p, TN_MATH(exp, -TN_LIBM(fabs, (x) * p0)))) / p0)
#define erf_F(x) TN_MATH(erf, x)
#define erfc_F(x) TN_LIBM(erfc, x)
#define asinh_F(x) TN_LIBM(asinh, x)
#define acosh_F(x) TN_LIBM(acosh, x)
#define atanh_F(x) TN_LIBM(atanh, x)
#define lgamma_F(x) pw_lgamma(x)
/* the special functions of special_math.h, in double; polygamma's order n is the op's parameter */
#define digamma_F(x) ((compute_t)tn_digamma(x))
#define polygamma_F(x) ((compute_t)tn_polygamma((int)ctx->p0, x))
#define erfinv_F(x) ((compute_t)tn_erfinv(x))
#define i0_F(x) ((compute_t)tn_bessel_i(0, x))
#define i1_F(x) ((compute_t)tn_bessel_i(1, x))
/* torch.special's functions of special_math.h and its headers, in double */
#define ndtr_F(x) ((compute_t)tn_ndtr(x))
#define ndtri_F(x) ((compute_t)tn_ndtri(x))
#define log_ndtr_F(x) ((compute_t)tn_log_ndtr(x))
#define erfcx_F(x) ((compute_t)tn_erfcx(x))
#define i0e_F(x) ((compute_t)tn_bessel_i_scaled(0, x, 1))
#define i1e_F(x) ((compute_t)tn_bessel_i_scaled(1, x, 1))
/* -x log x, 0 at 0, -inf below 0 (NaN stays NaN) */
#define entr_F(x) ((x) > 0 ? -(x) * TN_LIBM(log, x) : (x) == 0 ? (compute_t)0 : (x) < 0 ? -(compute_t)INFINITY : (x))
#define bessel_j0_F(x) ((compute_t)tn_bessel_j0(x))
#define bessel_j1_F(x) ((compute_t)tn_bessel_j1(x))
#define bessel_y0_F(x) ((compute_t)tn_bessel_y(0, x))
#define bessel_y1_F(x) ((compute_t)tn_bessel_y(1, x))
#define modified_bessel_k0_F(x) ((compute_t)tn_bessel_k(0, x, 0))
#define modified_bessel_k1_F(x) ((compute_t)tn_bessel_k(1, x, 0))
#define scaled_modified_bessel_k0_F(x) ((compute_t)tn_bessel_k(0, x, 1))
#define scaled_modified_bessel_k1_F(x) ((compute_t)tn_bessel_k(1, x, 1))
#define spherical_bessel_j0_F(x) ((compute_t)tn_spherical_bessel_j0(x))
#define airy_ai_F(x) ((compute_t)tn_airy_ai(x))
/* sin(pi x) / (pi x), 1 at 0, with pi x rounded to the compute type as PyTorch */
#define sinc_F(x) ((x) == 0 ? (compute_t)1 : TN_LIBM(sin, (compute_t)TN_PI * (x)) / ((compute_t)TN_PI * (x)))
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
/* min(max(x, lo), hi) as PyTorch: with lo > hi every element is hi; NaN passes through */
#define clamp_F(x) (((x) < p0 ? p0 : (x)) > p1 ? p1 : ((x) < p0 ? p0 : (x)))
#define clamp_I(x) (((x) < p0 ? p0 : (x)) > p1 ? p1 : ((x) < p0 ? p0 : (x)))
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
#define signbit_F(x) pw_signbit(x)
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
#define floor_divide_F(x, y) pw_floor_divide(x, y)
#define floor_divide_I(x, y) floor_div_i64(x, y, ctx)
#define remainder_F(x, y) pw_remainder(x, y)
#define remainder_I(x, y) remainder_i64(x, y, ctx)
#define fmod_F(x, y) TN_LIBM2(fmod, x, y)
#define fmod_I(x, y) fmod_i64(x, y, ctx)
#define pow_F(x, y) TN_LIBM2(pow, x, y)
#define pow_I(x, y) pow_tensor_i64(x, y, ctx)
#define maximum_F(x, y) ((x) != (x) || (y) != (y) ? (x) + (y) : (x) > (y) ? (x) : (y)) /* NaN propagates */
#define maximum_I(x, y) ((x) > (y) ? (x) : (y))
#define maximum_B(x, y) ((x) | (y))
#define minimum_F(x, y) ((x) != (x) || (y) != (y) ? (x) + (y) : (x) < (y) ? (x) : (y))
#define minimum_I(x, y) ((x) < (y) ? (x) : (y))
#define minimum_B(x, y) ((x) & (y))
#define atan2_F(x, y) TN_LIBM2(atan2, x, y)
/* fmax/fmin: a NaN operand gives the other one; equal values (0 and -0) give x, as PyTorch */
#define fmax_F(x, y) ((y) != (y) ? (x) : (x) != (x) ? (y) : (x) < (y) ? (y) : (x))
#define fmax_I maximum_I
#define fmax_B maximum_B
#define fmin_F(x, y) ((y) != (y) ? (x) : (x) != (x) ? (y) : (y) < (x) ? (y) : (x))
#define fmin_I minimum_I
#define fmin_B minimum_B
#define nextafter_F(x, y) TN_LIBM2(nextafter, x, y)
#define gcd_I(x, y) gcd_i64(x, y)
#define lcm_I(x, y) lcm_i64(x, y)
#define bitwise_left_shift_I(x, y) shift_left_i64(x, y, (int)sizeof(compute_t) * 8)
#define bitwise_right_shift_I(x, y) shift_right_i64(x, y, (int)sizeof(compute_t) * 8)
/* x log1p(y), 0 where x is 0 unless y is NaN (as PyTorch and SciPy) */
#define xlog1py_F(x, y) ((y) != (y) ? (y) : (x) == 0 ? (compute_t)0 : (x) * TN_LIBM(log1p, y))
#define zeta_F(x, y) ((compute_t)tn_zeta(x, y))
#define igamma_F(x, y) ((compute_t)tn_igamma(x, y, 0))
#define igammac_F(x, y) ((compute_t)tn_igamma(x, y, 1))
/* the polynomials of (x, n): shifted ones of 2x - 1 */
#define chebyshev_polynomial_t_F(x, y) ((compute_t)tn_chebyshev(0, x, y))
#define chebyshev_polynomial_u_F(x, y) ((compute_t)tn_chebyshev(1, x, y))
#define chebyshev_polynomial_v_F(x, y) ((compute_t)tn_chebyshev(2, x, y))
#define chebyshev_polynomial_w_F(x, y) ((compute_t)tn_chebyshev(3, x, y))
#define shifted_chebyshev_polynomial_t_F(x, y) ((compute_t)tn_chebyshev(0, (double)(x) + (x) - 1, y))
#define shifted_chebyshev_polynomial_u_F(x, y) ((compute_t)tn_chebyshev(1, (double)(x) + (x) - 1, y))
#define shifted_chebyshev_polynomial_v_F(x, y) ((compute_t)tn_chebyshev(2, (double)(x) + (x) - 1, y))
#define shifted_chebyshev_polynomial_w_F(x, y) ((compute_t)tn_chebyshev(3, (double)(x) + (x) - 1, y))
#define hermite_polynomial_h_F(x, y) ((compute_t)tn_hermite(0, x, y))
#define hermite_polynomial_he_F(x, y) ((compute_t)tn_hermite(1, x, y))
#define laguerre_polynomial_l_F(x, y) ((compute_t)tn_laguerre(x, y))
#define legendre_polynomial_p_F(x, y) ((compute_t)tn_legendre(x, y))
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
#define gelu_backward_F(x, y)                                                                  \
  ((x) * ((compute_t)0.5 * (1 + TN_MATH(erf, (y) * (compute_t)0.70710678118654752440)) +        \
          (y) * (compute_t)0.39894228040143267794 * TN_MATH(exp, (compute_t)-0.5 * (y) * (y))))
#define gelu_tanh_backward_F(x, y) pw_gelu_tanh_grad(x, y)
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

/* ---- ternary expressions ---- */
/* lerp as PyTorch computes it, exact at both ends */
#define lerp_F(a, b, w) (TN_LIBM(fabs, w) < (compute_t)0.5 ? (a) + (w) * ((b) - (a)) : (b) - ((b) - (a)) * (1 - (w)))
#define addcmul_F(a, b, c) ((a) + p0 * (b) * (c))
#define addcmul_I(a, b, c) ((a) + p0 * (b) * (c))
#define addcdiv_F(a, b, c) ((a) + p0 * (b) / (c))

#endif /* TN_POINTWISE_EXPRS_H */
