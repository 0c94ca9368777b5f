/* nn_simd.h: fixed-width vectors and small helpers shared by the nn kernels (conv.c, pool.c, softmax.c,
 * loss.c, norm.c, embedding.c).
 *
 * The vectors are GCC vector extensions, so one source serves every instruction set: TN_VBYTES is the widest
 * register the build targets (-march decides) and TN_VREGS how many of them there are, which sizes the
 * register tiles of the convolution kernels. Unaligned loads and stores go through the *u types. */
#ifndef TN_NN_SIMD_H
#define TN_NN_SIMD_H

#include "cpu.h"
#include "vecmath.h"

#include <math.h>
#include <omp.h>

#if defined(__AVX512F__)
#define TN_VBYTES 64
#define TN_VREGS 32
#elif defined(__AVX__)
#define TN_VBYTES 32
#define TN_VREGS 16
#else
#define TN_VBYTES 16
#define TN_VREGS 16
#endif

typedef float tn_vf32 __attribute__((vector_size(TN_VBYTES)));
typedef float tn_vf32u __attribute__((vector_size(TN_VBYTES), aligned(4), may_alias));
typedef double tn_vf64 __attribute__((vector_size(TN_VBYTES)));
typedef double tn_vf64u __attribute__((vector_size(TN_VBYTES), aligned(8), may_alias));
typedef int32_t tn_vi32 __attribute__((vector_size(TN_VBYTES))); /* lane indices for shuffles of tn_vf32 */
typedef int64_t tn_vi64 __attribute__((vector_size(TN_VBYTES)));
enum { TN_VL_F32 = TN_VBYTES / 4, TN_VL_F64 = TN_VBYTES / 8 };

/* The floating dtypes of the nn kernels: X(ENUM, suffix, T, V, VU, VL) with T the element type, V its vector,
 * VU the unaligned vector and VL the lanes per vector. */
#define TN_NN_FLOATS(X)                                         \
  X(TN_FLOAT32, f32, float, tn_vf32, tn_vf32u, TN_VL_F32)       \
  X(TN_FLOAT64, f64, double, tn_vf64, tn_vf64u, TN_VL_F64)

/* exp for either float type: the vectorisable float version, libm's for double */
static inline float tn_nn_exp_f32(float x) { return tn_expf(x); }
static inline double tn_nn_exp_f64(double x) { return exp(x); }
static inline float tn_nn_log_f32(float x) { return logf(x); }
static inline double tn_nn_log_f64(double x) { return log(x); }

/* Threads for a loop of `work` units of roughly equal cost: one per `grain` units, at most the OpenMP limit,
 * and 1 inside a parallel region. */
static inline int tn_nn_threads(int64_t work, int64_t grain) {
  if (work < 2 * grain || omp_in_parallel()) return 1;
  int64_t by_work = work / grain, max = omp_get_max_threads();
  return (int)(by_work < max ? by_work : max);
}

/* Scratch memory for a kernel (64-byte aligned, not counted as tensor memory); NULL with an error naming fn. */
void *tn_nn_scratch(const char *fn, int64_t nbytes);
void tn_nn_scratch_free(void *p);

#endif /* TN_NN_SIMD_H */
