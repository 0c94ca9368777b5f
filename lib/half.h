/* half.h: float16 and bfloat16 conversions, round to nearest even. The one definition for the CPU (through
 * internal.h) and for CUDA device and host code (through cuda/kernels.h), so both convert bit for bit alike. */
#ifndef TN_HALF_H
#define TN_HALF_H

#include <stdint.h>
#include <string.h>

#ifdef __CUDACC__
#define TN_HALF_FN static inline __host__ __device__
#else
#define TN_HALF_FN static inline
#endif

TN_HALF_FN uint32_t tn_f32_bits(float f) {
#ifdef __CUDA_ARCH__
  return __float_as_uint(f);
#else
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
#endif
}

TN_HALF_FN float tn_bits_f32(uint32_t u) {
#ifdef __CUDA_ARCH__
  return __uint_as_float(u);
#else
  float f;
  memcpy(&f, &u, 4);
  return f;
#endif
}

TN_HALF_FN uint16_t tn_f32_to_f16(float f) {
  const uint32_t f32_inf = 255u << 23, f16_overflow = (127u + 16u) << 23;
  const uint32_t denorm_magic = ((127u - 15u) + (23u - 10u) + 1u) << 23;
  uint32_t u = tn_f32_bits(f);
  uint32_t sign = u & 0x80000000u;
  uint16_t out;
  u ^= sign;
  if (u >= f16_overflow) {
    out = u > f32_inf ? 0x7e00 : 0x7c00;
  } else if (u < (113u << 23)) {
    /* Subnormal or zero: adding the magic number lets the FPU round the 10 bits into place. */
    float sum = tn_bits_f32(u) + tn_bits_f32(denorm_magic);
    out = (uint16_t)(tn_f32_bits(sum) - denorm_magic);
  } else {
    uint32_t odd = (u >> 13) & 1u;
    u += ((uint32_t)(15 - 127) << 23) + 0xfffu + odd;
    out = (uint16_t)(u >> 13);
  }
  return (uint16_t)(out | (sign >> 16));
}

TN_HALF_FN float tn_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
  if (exponent == 0x1f) return tn_bits_f32(sign | 0x7f800000u | (mantissa << 13));
  if (exponent == 0) {
    float magnitude = (float)mantissa * 5.9604644775390625e-8f; /* 2^-24 */
    return sign ? -magnitude : magnitude;
  }
  return tn_bits_f32(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

TN_HALF_FN uint16_t tn_f32_to_bf16(float f) {
  uint32_t u = tn_f32_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u); /* quiet NaN */
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}

TN_HALF_FN float tn_bf16_to_f32(uint16_t h) { return tn_bits_f32((uint32_t)h << 16); }

#endif /* TN_HALF_H */
