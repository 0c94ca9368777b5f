/* kernels.h: what every file of libtensor_cuda (cuda/) builds on.
 *
 * Included by the C glue (backend.c, compiled by gcc) and by the .cu files (nvcc, C++). The C part declares
 * the runtime services of device.cu and alloc.cu (streams, errors, device memory, synchronisation), the
 * strided view of a tensor that kernels receive by value, and the functions each kernel family defines to
 * fill its pointers of the backend table. The C++ part (under __CUDACC__) adds the per-dtype traits and the
 * dispatch helper the kernels are stamped from, derived from the one dtype list TN_FOREACH_DTYPE of
 * lib/internal.h.
 *
 * Conventions for kernels
 *  - Work is queued on the device's one stream (tn_cuda_stream_for) and not waited for; only reads to the
 *    host wait (tn_cuda_read), and each such wait counts in the debug counter tn_cuda_sync_count().
 *  - Offsets and loop indices are int64; kernels are grid-stride loops launched with tn_cuda_grid().
 *  - After a launch, tn_cuda_launched(fn) turns a launch error into tn_error("<fn>: CUDA error: ...").
 *  - Scratch memory comes from the caching allocator (tn_cuda_alloc / tn_cuda_free), never cudaMalloc: a
 *    block freed while kernels that use it are still queued is safe, because every kernel runs on the one
 *    stream of its device, in order.
 */
#ifndef TN_CUDA_KERNELS_H
#define TN_CUDA_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif
#include "backend.h"
#include "internal.h"
#ifdef __cplusplus
}
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* A cudaStream_t, nameable from C without the CUDA headers. */
struct CUstream_st;
typedef struct CUstream_st *tn_cuda_stream_t;

/* ---- devices and streams (device.cu) ---- */

/* The number of devices (0 when none is usable). */
int tn_cuda_devices(void);
/* Makes `device` current for the calling thread (cheap when it already is) and returns its stream, or NULL
 * with an error naming fn. Every kernel launch of an op on tensors of `device` goes through this. */
tn_cuda_stream_t tn_cuda_stream_for(const char *fn, int device);
/* The stream of t's device (t on CUDA), as tn_cuda_stream_for. */
tn_cuda_stream_t tn_cuda_tensor_stream(const char *fn, const tn_tensor *t);

/* ---- errors (device.cu) ---- */

/* 0 for cudaSuccess; otherwise sets "<fn>: CUDA error: <cudaGetErrorString> (<name>)" and returns -1.
 * `error` is a cudaError_t. */
int tn_cuda_check(const char *fn, int error);
/* tn_cuda_check of cudaGetLastError(), after a kernel launch. */
int tn_cuda_launched(const char *fn);
/* The same for cuBLAS / cuSOLVER status codes (names the status). */
int tn_cuda_check_cublas(const char *fn, int status);
int tn_cuda_check_cusolver(const char *fn, int status);

/* ---- synchronisation and host reads (device.cu) ---- */

/* Waits for the device's stream; counts one synchronisation. */
int tn_cuda_sync(const char *fn, int device);
/* Copies nbytes from device memory to the host after the work queued before it, waiting for it (one counted
 * synchronisation). For the few results the host needs at once (a count, an error flag). */
int tn_cuda_read(const char *fn, int device, void *host_dst, const void *device_src, int64_t nbytes);

/* ---- device memory: the caching allocator (alloc.cu) ---- */

/* nbytes (>= 0) of device memory on `device`, from the cache when a block fits; NULL with an error saying
 * how much was asked and how much is in use when even an emptied cache cannot provide it. Blocks are
 * aligned to 512 bytes. */
void *tn_cuda_alloc(int device, int64_t nbytes);
/* Returns a block to the cache (nbytes as allocated); usable by the next allocation at once. */
void tn_cuda_free(int device, void *ptr, int64_t nbytes);
/* Bytes held in the cache (not in use), over all devices; returns them to the driver. */
int64_t tn_cuda_cached_bytes(void);
void tn_cuda_empty_cache(void);
/* Per-device counters (tensor.h's tn_cuda_memory); the peak restarts from the current use. */
void tn_cuda_alloc_stats(int device, tn_cuda_memory *out);
void tn_cuda_alloc_reset_peak(int device);

/* ---- the backend table (backend.c) ---- */

/* The CUDA backend table (filled once by tn_cuda_init). */
tn_backend *tn_cuda_backend(void);

/* Each kernel family fills its pointers of the table. The families without kernels yet are defined weakly
 * in backend.c as leaving the pointers NULL (their ops then fail with "<op>: not supported on cuda
 * tensors yet", from the TN_WITH_KERNEL guards of lib/ops); a family's .cu file defines the strong version. */
void tn_cuda_register_copy(tn_backend *b);       /* copy.cu: copy, fill */
void tn_cuda_register_pointwise(tn_backend *b);  /* pointwise.cu: unary, binary, ternary */
void tn_cuda_register_random(tn_backend *b);     /* random.cu: uniform, normal, randint, bernoulli, poisson, binomial */
void tn_cuda_register_reduce(tn_backend *b);     /* reduce.cu: reduce, cumulative */
void tn_cuda_register_blas(tn_backend *b);       /* blas.cu: gemm */
void tn_cuda_register_linalg(tn_backend *b);     /* linalg.cu: cuSOLVER factorisations and solvers, trsm */
void tn_cuda_register_index(tn_backend *b);      /* index.cu: gather scatter masked_* count_nonzero nonzero */
void tn_cuda_register_sort(tn_backend *b);       /* sort.cu: sort topk kthvalue unique searchsorted */
void tn_cuda_register_join(tn_backend *b);       /* join.cu: cat flip triangle */
void tn_cuda_register_nn(tn_backend *b);         /* nn_*.cu: conv pool softmax losses norms embedding */

/* (Whether float32 matrix products may use TF32 tensor cores: tn_cuda_get_allow_tf32() of tensor.h.) */

/* ---- strided views ---- */

/* A tensor as kernels see it, passed by value: element k of the view is at data + offset(k) * elem_size
 * where offset(k) walks sizes/strides in row-major order. numel < 2^63; strides in elements (0: broadcast). */
typedef struct tn_cuda_view {
  char *data;                    /* element 0 (the tensor's offset applied) */
  int32_t dtype;
  int32_t ndim;
  int64_t numel;
  int64_t sizes[TN_MAX_DIMS];
  int64_t strides[TN_MAX_DIMS];
} tn_cuda_view;

static inline tn_cuda_view tn_cuda_view_of(const tn_tensor *t) {
  tn_cuda_view v;
  memset(&v, 0, sizeof v);
  v.data = t->storage->data ? tn_base(t) : NULL;
  v.dtype = t->dtype;
  v.ndim = t->ndim;
  v.numel = t->numel;
  for (int d = 0; d < t->ndim; d++) {
    v.sizes[d] = t->sizes[d];
    v.strides[d] = t->strides[d];
  }
  return v;
}

/* t seen with `ndim` sizes (t's aligned to the right, each equal or 1: NumPy broadcasting), stride 0 where it
 * broadcasts; for an element-wise op's input against its output's shape. */
static inline tn_cuda_view tn_cuda_view_broadcast(const tn_tensor *t, int ndim, const int64_t *sizes) {
  tn_cuda_view v;
  memset(&v, 0, sizeof v);
  v.data = t->storage->data ? tn_base(t) : NULL;
  v.dtype = t->dtype;
  v.ndim = ndim;
  v.numel = tn_shape_numel(ndim, sizes);
  for (int d = 0; d < ndim; d++) {
    int td = d - (ndim - t->ndim);
    v.sizes[d] = sizes[d];
    v.strides[d] = td >= 0 && t->sizes[td] == sizes[d] ? t->strides[td] : 0;
  }
  return v;
}

#ifdef __cplusplus
}
#endif

/* ---- launch shapes ---- */
enum { TN_CUDA_THREADS = 256 };

/* Blocks for a grid-stride loop over n elements (at least 1; capped so huge tensors loop). */
static inline unsigned tn_cuda_grid(int64_t n, int threads) {
  int64_t blocks = (n + threads - 1) / threads;
  if (blocks < 1) blocks = 1;
  if (blocks > 65535 * 8) blocks = 65535 * 8;
  return (unsigned)blocks;
}

/* ======================================================================================================== */
#ifdef __CUDACC__

#define TN_HD __host__ __device__ __forceinline__

/* Element offset (in elements) of the k-th element of v in row-major order. */
TN_HD int64_t tn_cuda_offset(const tn_cuda_view &v, int64_t k) {
  int64_t off = 0;
  for (int d = v.ndim - 1; d >= 0; d--) {
    int64_t s = v.sizes[d];
    off += (k % s) * v.strides[d];
    k /= s;
  }
  return off;
}

/* 16-bit floats: lib/half.h (through internal.h), the same conversions as the CPU's. */

/* Loading a stored element as its compute type and storing a compute value back, per dtype kind (the
 * device-side TN_LOAD_* / TN_STORE_* of internal.h). */
#define TN_CU_LOAD_FLOAT(v) (v)
#define TN_CU_LOAD_HALF(v) tn_f16_to_f32(v)
#define TN_CU_LOAD_BF16(v) tn_bf16_to_f32(v)
#define TN_CU_LOAD_INT(v) (v)
#define TN_CU_LOAD_BOOL(v) (v)
#define TN_CU_STORE_FLOAT(T, v) ((T)(v))
#define TN_CU_STORE_HALF(T, v) tn_f32_to_f16((float)(v))
#define TN_CU_STORE_BF16(T, v) tn_f32_to_bf16((float)(v))
#define TN_CU_STORE_INT(T, v) ((T)(v))
#define TN_CU_STORE_BOOL(T, v) ((T)((v) != 0))

/* Per-dtype traits, one specialisation per line of TN_FOREACH_DTYPE:
 *   tn_cu_dtype<TN_FLOAT16>::storage  (uint16_t)   ::compute (float)   ::dtype (TN_FLOAT16)
 *   ::load(stored) -> compute         ::store(value) -> stored (any arithmetic value, converted as C casts) */
enum { TN_CU_KIND_FLOAT, TN_CU_KIND_HALF, TN_CU_KIND_BF16, TN_CU_KIND_INT, TN_CU_KIND_BOOL };
template <int DTYPE> struct tn_cu_dtype;
#define TN_CU_DTYPE_TRAITS(ENUM, SUF, T, CT, KIND)                                     \
  template <> struct tn_cu_dtype<ENUM> {                                               \
    typedef T storage;                                                                 \
    typedef CT compute;                                                                \
    static constexpr int dtype = ENUM;                                                 \
    static constexpr int kind = TN_CU_KIND_##KIND;                                     \
    static TN_HD CT load(T v) { return (CT)TN_CU_LOAD_##KIND(v); }                     \
    template <class V> static TN_HD T store(V v) { return TN_CU_STORE_##KIND(T, v); }  \
  };
TN_FOREACH_DTYPE(TN_CU_DTYPE_TRAITS)
#undef TN_CU_DTYPE_TRAITS

/* Calls f(tn_cu_dtype<D>()) for t's dtype D (a generic lambda: [&](auto tag) { typedef decltype(tag) D; ...
 * }) and returns its int result; -1 with an error naming fn for a dtype outside the list. The _FLOATING,
 * _NUMERIC ... variants cover the dtype categories of internal.h. */
#define TN_CU_DISPATCH_CASE(ARG, ENUM, SUF, T, CT, KIND) \
  case ENUM:                                             \
    return f(tn_cu_dtype<ENUM>());
#define TN_CU_DEFINE_DISPATCH(NAME, LIST)                                                          \
  template <class F> static inline int NAME(const char *fn, int dtype, F &&f) {                   \
    switch (dtype) { LIST(TN_CU_DISPATCH_CASE, ~) default: break; }                               \
    return tn_error("%s: dtype %s is not supported on CUDA", fn, tn_dtype_name(dtype));            \
  }
TN_CU_DEFINE_DISPATCH(tn_cu_dispatch, TN_FOREACH_ALL_ARG)
TN_CU_DEFINE_DISPATCH(tn_cu_dispatch_floating, TN_FOREACH_FLOATING_ARG)
TN_CU_DEFINE_DISPATCH(tn_cu_dispatch_numeric, TN_FOREACH_NUMERIC_ARG)
TN_CU_DEFINE_DISPATCH(tn_cu_dispatch_integral, TN_FOREACH_INTEGRAL_ARG)

/* The family registration functions are defined with C linkage in the .cu files. */
#define TN_CUDA_EXTERN extern "C"

#endif /* __CUDACC__ */

#endif /* TN_CUDA_KERNELS_H */
