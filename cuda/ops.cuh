/* ops.cuh: device-side helpers shared by the CUDA op families (reduce, blas, index, sort, join, nn_*).
 *
 * A tensor reaches a kernel as a tv (a strided view passed by value): its element 0, dtype, shape and strides
 * in elements. Elements are read and written through a runtime dtype switch into one of three compute types
 * (float for float32/float16/bfloat16, double, int64 for the integers and bool), which keeps the number of
 * template instantiations to one per compute type instead of one per dtype; the switch is uniform across a
 * warp and costs nothing next to the memory access. */
#ifndef TN_CUDA_OPS_CUH
#define TN_CUDA_OPS_CUH

#include "kernels.h"

#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include <type_traits>

/* ---- views (kernels.h's tn_cuda_view; tv_of also takes NULL) ---- */

typedef tn_cuda_view tv;

static inline tv tv_of(const tn_tensor *t) {
  tv v;
  if (t) return tn_cuda_view_of(t);
  memset(&v, 0, sizeof v);
  v.dtype = TN_FLOAT32;
  return v;
}

/* the element offset of row-major linear index i */
__device__ __forceinline__ int64_t tv_offset(const tv &v, int64_t i) { return tn_cuda_offset(v, i); }

/* ---- loading and storing through a runtime dtype ---- */

/* 16-bit floats convert bit for bit as the CPU does (kernels.h, after lib/internal.h): the intrinsics'
 * rounding agrees, but their NaN encodings do not (a NaN must store as the CPU's 0x7e00). */
__device__ __forceinline__ float tnc_h2f(uint16_t h) { return tn_f16_to_f32(h); }
__device__ __forceinline__ float tnc_b2f(uint16_t h) { return tn_bf16_to_f32(h); }
__device__ __forceinline__ uint16_t tnc_f2h(float f) { return tn_f32_to_f16(f); }
__device__ __forceinline__ uint16_t tnc_f2b(float f) { return tn_f32_to_bf16(f); }

template <class C>
__device__ __forceinline__ C ld(const char *base, int64_t off, int dtype) {
  switch (dtype) {
  case TN_FLOAT32: return (C)((const float *)base)[off];
  case TN_FLOAT64: return (C)((const double *)base)[off];
  case TN_FLOAT16: return (C)tnc_h2f(((const uint16_t *)base)[off]);
  case TN_BFLOAT16: return (C)tnc_b2f(((const uint16_t *)base)[off]);
  case TN_INT64: return (C)((const int64_t *)base)[off];
  case TN_INT32: return (C)((const int32_t *)base)[off];
  case TN_INT16: return (C)((const int16_t *)base)[off];
  case TN_INT8: return (C)((const int8_t *)base)[off];
  case TN_UINT8: return (C)((const uint8_t *)base)[off];
  default: return (C)(((const uint8_t *)base)[off] != 0);
  }
}

template <class C>
__device__ __forceinline__ void st(char *base, int64_t off, int dtype, C v) {
  switch (dtype) {
  case TN_FLOAT32: ((float *)base)[off] = (float)v; break;
  case TN_FLOAT64: ((double *)base)[off] = (double)v; break;
  case TN_FLOAT16: ((uint16_t *)base)[off] = tnc_f2h((float)v); break;
  case TN_BFLOAT16: ((uint16_t *)base)[off] = tnc_f2b((float)v); break;
  case TN_INT64: ((int64_t *)base)[off] = (int64_t)v; break;
  case TN_INT32: ((int32_t *)base)[off] = (int32_t)(int64_t)v; break;
  case TN_INT16: ((int16_t *)base)[off] = (int16_t)(int64_t)v; break;
  case TN_INT8: ((int8_t *)base)[off] = (int8_t)(int64_t)v; break;
  case TN_UINT8: ((uint8_t *)base)[off] = (uint8_t)(int64_t)v; break;
  default: ((uint8_t *)base)[off] = v != (C)0; break;
  }
}

/* the compute type class of a dtype: 0 float, 1 double, 2 integer or bool */
__host__ __device__ static inline int tnc_class(int dtype) {
  return dtype == TN_FLOAT64 ? 1 : (dtype == TN_FLOAT32 || dtype == TN_FLOAT16 || dtype == TN_BFLOAT16) ? 0 : 2;
}

/* ---- launch shapes ---- */

enum { TNC_THREADS = 256 };

static inline unsigned tnc_blocks(int64_t n, int threads = TNC_THREADS) {
  int64_t b = (n + threads - 1) / threads;
  if (b < 1) b = 1;
  return (unsigned)(b < 65536 * 8 ? b : 65536 * 8);
}

#define TNC_GRID_LOOP(i, n) \
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

/* ---- warp and block reductions of plain values ---- */

template <class T>
__device__ __forceinline__ T warp_sum(T v) {
  for (int d = 16; d > 0; d >>= 1) v += __shfl_down_sync(0xffffffffu, v, d);
  return v;
}
template <class T>
__device__ __forceinline__ T warp_max(T v) {
  for (int d = 16; d > 0; d >>= 1) {
    T o = __shfl_down_sync(0xffffffffu, v, d);
    v = (o > v || o != o) ? o : v;
  }
  return v;
}

/* The sum (or max, NaN propagating) over the block, returned to every thread; blockDim.x a multiple of 32,
 * at most 1024. Uses 33 elements of shared memory at `sh`. */
template <class T>
__device__ T block_sum(T v, T *sh) {
  int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
  v = warp_sum(v);
  __syncthreads();
  if (lane == 0) sh[w] = v;
  __syncthreads();
  if (w == 0) {
    T s = lane < nw ? sh[lane] : (T)0;
    s = warp_sum(s);
    if (lane == 0) sh[32] = s;
  }
  __syncthreads();
  return sh[32];
}
template <class T>
__device__ T block_max(T v, T *sh) {
  int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = (blockDim.x + 31) >> 5;
  v = warp_max(v);
  __syncthreads();
  if (lane == 0) sh[w] = v;
  __syncthreads();
  if (w == 0) {
    T s = lane < nw ? sh[lane] : (T)-INFINITY;
    s = warp_max(s);
    if (lane == 0) sh[32] = s;
  }
  __syncthreads();
  return sh[32];
}

/* ---- per-channel sums over [n x c x s] (batch norm, the convolution's bias gradient) ----
 * A block per channel alone leaves most of the device idle when channels are few (16 channels of 256 images
 * of 28x28), so each channel is cut into `parts`: block (ch, part) visits the channel's elements of images
 * part, part + parts, ...; a second kernel then combines the parts of a channel in order, which keeps the
 * result deterministic (no atomics). */

/* How many parts per channel fill the device (about two blocks per multiprocessor), at most one per image. */
static inline int tnc_channel_parts(int device_sms, int64_t n, int64_t c) {
  int64_t blocks = c < 65535 ? c : 65535, want = (2 * device_sms + blocks - 1) / (blocks > 0 ? blocks : 1);
  int64_t most = n < 65535 ? n : 65535;
  return (int)(want < most ? want : most > 0 ? most : 1);
}

/* The number of elements block part of a channel visits. */
__device__ __forceinline__ int64_t tnc_part_count(int64_t n, int64_t s, int part, int parts) {
  return part < n ? ((n - part + parts - 1) / parts) * s : 0;
}

/* Calls f(offset) for each element of channel ch in block `part`: whole rows of s contiguous elements when
 * they are long, else the flattened (image, position) range so that every thread has work (s = 1 in
 * BatchNorm1d). */
template <class F>
__device__ __forceinline__ void tnc_for_channel_part(int64_t n, int64_t c, int64_t s, int64_t ch, int part, int parts,
                                                     F f) {
  if (s >= (int64_t)blockDim.x) {
    for (int64_t i = part; i < n; i += parts) {
      int64_t row = (i * c + ch) * s;
      for (int64_t p = threadIdx.x; p < s; p += blockDim.x) f(row + p);
    }
  } else {
    int64_t count = tnc_part_count(n, s, part, parts);
    for (int64_t k = threadIdx.x; k < count; k += blockDim.x) {
      int64_t q = k / s;
      f(((part + q * parts) * c + ch) * s + (k - q * s));
    }
  }
}

/* ---- host side: streams, launch checks, scratch memory ---- */

/* The stream of t's device, or NULL with an error naming fn. */
static inline cudaStream_t tnc_stream(const char *fn, const tn_tensor *t) {
  return (cudaStream_t)tn_cuda_tensor_stream(fn, t);
}

static inline int tnc_device(const tn_tensor *t) { return t->storage->device_index; }

/* 0, or -1 with an error "<fn>: CUDA error: <string>" when the last launch failed */
static inline int tnc_check(const char *fn) { return tn_cuda_launched(fn); }

/* The device's number of multiprocessors (cached). */
static inline int tnc_sm_count(int device) {
  static int count[64];
  if (device < 0 || device >= 64) return 108;
  if (!count[device]) {
    int n = 0;
    if (cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, device) != cudaSuccess || n <= 0) n = 108;
    count[device] = n;
  }
  return count[device];
}

/* Scratch device memory from the caching allocator (safe to free right after queueing its users). */
static inline void *tnc_scratch(int device, int64_t nbytes) { return tn_cuda_alloc(device, nbytes > 0 ? nbytes : 1); }
static inline void tnc_scratch_free(int device, void *p, int64_t nbytes) {
  if (p) tn_cuda_free(device, p, nbytes > 0 ? nbytes : 1);
}

/* Row-major C = alpha op(A) op(B) + beta C through cuBLAS on like's device and stream (blas.cu): A is m x k
 * (k x m when ta), B k x n (n x k when tb), leading dims lda/ldb/ldc, `batch` products sa/sb/sc elements
 * apart. Floating dtypes; float32 uses TF32 only when allowed. */
int tnc_gemm_rowmajor(const char *fn, const tn_tensor *like, int dtype, bool ta, bool tb, int64_t m, int64_t n,
                      int64_t k, double alpha, const void *A, int64_t lda, int64_t sa, const void *B, int64_t ldb,
                      int64_t sb, double beta, void *C, int64_t ldc, int64_t sc, int64_t batch);

/* Registration of the nn families (nn_*.cu), called by tn_cuda_register_nn (nn_conv.cu). */
void tnc_register_nn_conv(tn_backend *b);
void tnc_register_nn_pool(tn_backend *b);
void tnc_register_nn_softmax(tn_backend *b);
void tnc_register_nn_loss(tn_backend *b);
void tnc_register_nn_norm(tn_backend *b);
void tnc_register_nn_embedding(tn_backend *b);

#endif /* TN_CUDA_OPS_CUH */
