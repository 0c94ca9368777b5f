/* exp_f32.c: the float32 exp kernel on AVX-512.
 *
 * The reduction and polynomial of tn_expf (vecmath.h): exp x = 2^n e^r with n = round(x / ln2) and |r| <= ln2/2.
 * The scalar form, vectorised by the compiler, spends half its time making 2^n safe: a subnormal result needs a
 * second scaling, overflow and underflow their own selects. vscalefps multiplies by 2^n in one instruction and
 * rounds once, with overflow to infinity and gradual underflow included; n comes from adding and subtracting
 * 1.5 * 2^23 (two instructions, where a multiply and vrndscaleps take three, and where a tie may round the other
 * way than tn_expf's rintf of the rounded product). A vector of 16 takes 13 instructions; the scalar form,
 * vectorised, took 37 (1000 floats: 180 against 430 ns when both had the older degree-5 polynomial). Both forms
 * give the same results to an ulp (worst 0.91 ulp of float64's exp). */
#include "cpu.h"
#include "vecmath.h"

#ifdef __AVX512F__
#include <immintrin.h>

static inline __m512 exp16(__m512 x) {
  /* clamp first, so that n stays finite for infinite x (r would be inf - inf); NaN passes through: min and
   * max return their second operand when either is NaN */
  x = _mm512_max_ps(_mm512_set1_ps(TN_EXPF_LO), _mm512_min_ps(_mm512_set1_ps(TN_EXPF_HI), x));
  const __m512 round_bias = _mm512_set1_ps(12582912.0f); /* 1.5 * 2^23: the sum keeps no fraction */
  __m512 n = _mm512_sub_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(TN_EXPF_LOG2E), round_bias), round_bias);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(TN_EXPF_LN2_HI), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(TN_EXPF_LN2_LO), r);
  __m512 p = _mm512_set1_ps(TN_EXPF_P4);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(TN_EXPF_P3));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(TN_EXPF_P2));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(TN_EXPF_P1));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(TN_EXPF_P0));
  p = _mm512_fmadd_ps(_mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f)), r, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
}

static void exp_loop(char **data, const int64_t *strides, int64_t n, void *context) {
  (void)context;
  if (strides[0] == sizeof(float) && strides[1] == sizeof(float)) {
    float *o = (float *)data[0];
    const float *x = (const float *)data[1];
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(o + i, exp16(_mm512_loadu_ps(x + i)));
    if (i < n) {
      __mmask16 tail = (__mmask16)((1u << (n - i)) - 1);
      _mm512_mask_storeu_ps(o + i, tail, exp16(_mm512_maskz_loadu_ps(tail, x + i)));
    }
    return;
  }
  for (int64_t i = 0; i < n; i++)
    *(float *)(data[0] + i * strides[0]) = tn_expf(*(const float *)(data[1] + i * strides[1]));
}

tn_loop_fn tn_cpu_vector_f32_unary_loop(int op) { return op == TN_EXP ? exp_loop : NULL; }
#else
tn_loop_fn tn_cpu_vector_f32_unary_loop(int op) {
  (void)op;
  return NULL;
}
#endif
