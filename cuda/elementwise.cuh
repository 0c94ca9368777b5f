/* elementwise.cuh: the strided N-operand iteration of the element-wise kernels (copy.cu, pointwise.cu,
 * random.cu), the device-side counterpart of lib/iter.h.
 *
 * Operand 0 (the output) gives the shape; the others broadcast to it (stride 0), or are 0-d CPU tensors
 * (scalars: their bits travel in the kernel's arguments). Size-1 dims are dropped and dims contiguous across
 * every operand merged, so most calls become 1-d, where an element's offset is k * stride; the general case
 * walks the dims with int64 division. */
#ifndef TN_CUDA_ELEMENTWISE_CUH
#define TN_CUDA_ELEMENTWISE_CUH

#include "kernels.h"

#include <cuda_runtime.h>

template <int N> struct tn_cu_iter {
  int ndim;                          /* 1 .. TN_MAX_DIMS after merging */
  int64_t numel;
  int64_t sizes[TN_MAX_DIMS];        /* row-major: sizes[ndim-1] is the innermost dim */
  int64_t strides[N][TN_MAX_DIMS];   /* in elements */
  char *data[N];
  uint64_t scalar[N];                /* the bits of a scalar operand (data NULL), in its dtype */
};

/* Sets up iteration over out's shape for ops[0] = out and ops[1..N) (broadcast inputs or 0-d CPU scalars). */
template <int N> static inline void tn_cu_iter_init(tn_cu_iter<N> *it, const tn_tensor *const *ops) {
  const tn_tensor *out = ops[0];
  int nd = out->ndim;
  int64_t sizes[TN_MAX_DIMS], strides[N][TN_MAX_DIMS];
  memset(it, 0, sizeof *it);
  it->numel = out->numel;
  for (int i = 0; i < N; i++) {
    const tn_tensor *t = ops[i];
    bool host_scalar = i > 0 && t->ndim == 0 && t->storage->device_type == TN_CPU;
    if (host_scalar) {
      memcpy(&it->scalar[i], tn_base(t), (size_t)tn_dtype_size(t->dtype));
      it->data[i] = NULL;
    } else {
      it->data[i] = t->storage->data ? tn_base(t) : NULL;
    }
    for (int d = 0; d < nd; d++) {
      int td = d - (nd - t->ndim);
      strides[i][d] = !host_scalar && td >= 0 && t->sizes[td] == out->sizes[d] ? t->strides[td] : 0;
    }
  }
  for (int d = 0; d < nd; d++) sizes[d] = out->sizes[d];
  /* drop size-1 dims, then merge a dim into the one inside it when every operand is contiguous across them */
  int m = 0;
  for (int d = 0; d < nd; d++) {
    if (sizes[d] == 1) continue;
    if (m > 0) {
      bool merge = true;
      for (int i = 0; i < N && merge; i++) merge = it->strides[i][m - 1] == strides[i][d] * sizes[d];
      if (merge) {
        it->sizes[m - 1] *= sizes[d];
        for (int i = 0; i < N; i++) it->strides[i][m - 1] = strides[i][d];
        continue;
      }
    }
    it->sizes[m] = sizes[d];
    for (int i = 0; i < N; i++) it->strides[i][m] = strides[i][d];
    m++;
  }
  if (m == 0) {
    it->sizes[0] = 1;
    m = 1;
  }
  it->ndim = m;
}

/* The element offsets (in elements) of the k-th element for each operand. */
template <int N> __device__ __forceinline__ void tn_cu_offsets(const tn_cu_iter<N> &it, int64_t k, int64_t *off) {
  if (it.ndim == 1) {
#pragma unroll
    for (int i = 0; i < N; i++) off[i] = k * it.strides[i][0];
    return;
  }
#pragma unroll
  for (int i = 0; i < N; i++) off[i] = 0;
  for (int d = it.ndim - 1; d >= 0; d--) {
    int64_t s = it.sizes[d], q = k / s, r = k - q * s;
#pragma unroll
    for (int i = 0; i < N; i++) off[i] += r * it.strides[i][d];
    k = q;
  }
}

/* Operand i of type T at offset off: a scalar's bits, or memory. */
template <class T, int N>
__device__ __forceinline__ T tn_cu_read(const tn_cu_iter<N> &it, int i, int64_t off) {
  if (it.data[i]) return ((const T *)it.data[i])[off];
  uint64_t bits = it.scalar[i];
  T v;
  memcpy(&v, &bits, sizeof(T));
  return v;
}

/* Whether every operand is contiguous over one merged dim (stride 1) or a scalar: the fast path of the
 * element-wise kernels, where each thread loads TN_CU_UNROLL elements of every input before storing. */
template <int N> static inline bool tn_cu_iter_contiguous(const tn_cu_iter<N> &it) {
  if (it.ndim != 1) return false;
  for (int i = 0; i < N; i++)
    if (it.data[i] && it.strides[i][0] != 1) return false;
  return true;
}

/* Elements per thread in the contiguous path: four independent loads in flight per operand come close to
 * the device's bandwidth, where one load per thread leaves it half used. */
#define TN_CU_UNROLL 4

/* Blocks of `threads` threads for n elements taken TN_CU_UNROLL at a time (the loop strides over the rest). */
static inline unsigned tn_cu_unrolled_grid(int64_t n, int threads) {
  return tn_cuda_grid((n + TN_CU_UNROLL - 1) / TN_CU_UNROLL, threads);
}

/* The contiguous loop: for each element k of this thread's TN_CU_UNROLL, strided by the block size so that a
 * warp's accesses stay coalesced; LOAD(j, k) reads element k into slot j, STORE(j, k) writes it. */
#define TN_CU_UNROLLED_LOOP(n, LOAD, STORE)                                                                   \
  for (int64_t base = (int64_t)blockIdx.x * blockDim.x * TN_CU_UNROLL; base < (n);                           \
       base += (int64_t)gridDim.x * blockDim.x * TN_CU_UNROLL) {                                             \
    _Pragma("unroll") for (int j = 0; j < TN_CU_UNROLL; j++) {                                               \
      int64_t k = base + (int64_t)j * blockDim.x + threadIdx.x;                                             \
      if (k < (n)) LOAD(j, k);                                                                              \
    }                                                                                                        \
    _Pragma("unroll") for (int j = 0; j < TN_CU_UNROLL; j++) {                                               \
      int64_t k = base + (int64_t)j * blockDim.x + threadIdx.x;                                             \
      if (k < (n)) STORE(j, k);                                                                             \
    }                                                                                                        \
  }

#define TN_CU_GRID_STRIDE(k, n) \
  for (int64_t k = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; k < (n); k += (int64_t)gridDim.x * blockDim.x)

#endif /* TN_CUDA_ELEMENTWISE_CUH */
