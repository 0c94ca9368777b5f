/* copy.cu: copies between and within devices, with broadcasting and dtype conversion, and fill.
 *
 * Conversions give the CPU's results bit for bit (lib/cpu/copy.c): a floating source goes through double, an
 * integer or bool source through int64; doubles reach integer types as x86 converts them (NaN and values out
 * of range become the most negative int64, or int32 for the narrower signed types, then wrap), and the 16-bit
 * floats round to nearest even with the same bit manipulation as lib/internal.h.
 *
 * Host <-> device: the host side is first made contiguous (on the CPU), so only the source's own elements
 * cross the bus; the device side then scatters them with the copy kernel (broadcast, strides, dtype). Large
 * transfers go through two pinned staging buffers in turn, so the bus copy of one chunk overlaps the host
 * copy of the next. Host-to-device copies return without waiting for the device; device-to-host ones wait
 * (one counted synchronisation). Device-to-device copies between two devices order the two streams with
 * events. */
#include "elementwise.cuh"

#include <cuda_runtime.h>

#include <mutex>
#include <type_traits>

/* ---- conversions ---- */

__host__ __device__ __forceinline__ int64_t double_to_i64(double v) {
  return v >= -0x1p63 && v < 0x1p63 ? (int64_t)v : INT64_MIN;
}
__host__ __device__ __forceinline__ int32_t double_to_i32(double v) {
  return v > -0x1p31 - 1 && v < 0x1p31 ? (int32_t)v : INT32_MIN;
}

/* A double (from a floating source) into dtype D's storage type. */
template <class D> __host__ __device__ __forceinline__ typename D::storage from_double(double v) {
  typedef typename D::storage T;
  if (D::kind == TN_CU_KIND_INT)
    return (T)(sizeof(T) == 8 || std::is_unsigned<T>::value ? double_to_i64(v) : (int64_t)double_to_i32(v));
  return D::store(v);
}
/* An int64 (from an integer or bool source) into dtype D's storage type. */
template <class D> __host__ __device__ __forceinline__ typename D::storage from_int(int64_t v) {
  return D::store(v);
}

/* A value widened from the source: double for floating sources, int64 for the others. */
struct wide {
  double f;
  int64_t i;
  bool floating;
};

__device__ __forceinline__ void store_wide(char *p, int dtype, const wide &w) {
  switch (dtype) {
#define STORE_CASE(ARG, ENUM, SUF, T, CT, KIND)                                                               \
  case ENUM:                                                                                                  \
    *(T *)p = w.floating ? from_double<tn_cu_dtype<ENUM>>(w.f) : from_int<tn_cu_dtype<ENUM>>(w.i);            \
    break;
    TN_FOREACH_ALL_ARG(STORE_CASE, ~)
#undef STORE_CASE
  }
}

/* dst (dtype of operand 0, any) = src (dtype S), one instantiation per source dtype; the destination's
 * dtype is a uniform switch per element. */
template <int S> __global__ void convert_kernel(tn_cu_iter<2> it, int dst_dtype, int64_t esize) {
  typedef tn_cu_dtype<S> D;
  TN_CU_GRID_STRIDE(k, it.numel) {
    int64_t off[2];
    tn_cu_offsets(it, k, off);
    typename D::storage s = tn_cu_read<typename D::storage>(it, 1, off[1]);
    wide w;
    w.floating = D::kind == TN_CU_KIND_FLOAT || D::kind == TN_CU_KIND_HALF || D::kind == TN_CU_KIND_BF16;
    if (w.floating) {
      w.f = (double)D::load(s);
      w.i = 0;
    } else {
      w.i = (int64_t)D::load(s);
      w.f = 0;
    }
    store_wide(it.data[0] + off[0] * esize, dst_dtype, w);
  }
}

/* Same dtype: moves elements of T (an unsigned type of the element size). */
template <class T> __global__ void move_kernel(tn_cu_iter<2> it) {
  TN_CU_GRID_STRIDE(k, it.numel) {
    int64_t off[2];
    tn_cu_offsets(it, k, off);
    ((T *)it.data[0])[off[0]] = tn_cu_read<T>(it, 1, off[1]);
  }
}

template <class T> __global__ void fill_kernel(tn_cu_iter<1> it, T value) {
  TN_CU_GRID_STRIDE(k, it.numel) {
    int64_t off[1];
    tn_cu_offsets(it, k, off);
    ((T *)it.data[0])[off[0]] = value;
  }
}

static bool dense(const tn_cu_iter<2> &it) {
  return it.ndim == 1 && it.strides[0][0] == 1 && it.strides[1][0] == 1 && it.data[1];
}

/* dst = src, both on dst's device (src may also be a 0-d CPU tensor). */
static int copy_on_device(const char *fn, tn_tensor *dst, const tn_tensor *src) {
  cudaStream_t stream = tn_cuda_tensor_stream(fn, dst);
  if (!stream) return -1;
  if (dst->numel == 0) return 0;
  tn_cu_iter<2> it;
  const tn_tensor *ops[2] = {dst, src};
  tn_cu_iter_init<2>(&it, ops);
  int64_t esize = tn_dtype_size(dst->dtype);
  unsigned grid = tn_cuda_grid(it.numel, TN_CUDA_THREADS);
  if (dst->dtype == src->dtype) {
    if (dense(it))
      return tn_cuda_check(fn, cudaMemcpyAsync(it.data[0], it.data[1], (size_t)(it.numel * esize),
                                               cudaMemcpyDeviceToDevice, stream));
    switch (esize) {
      case 1: move_kernel<uint8_t><<<grid, TN_CUDA_THREADS, 0, stream>>>(it); break;
      case 2: move_kernel<uint16_t><<<grid, TN_CUDA_THREADS, 0, stream>>>(it); break;
      case 4: move_kernel<uint32_t><<<grid, TN_CUDA_THREADS, 0, stream>>>(it); break;
      default: move_kernel<uint64_t><<<grid, TN_CUDA_THREADS, 0, stream>>>(it); break;
    }
    return tn_cuda_launched(fn);
  }
  int dst_dtype = dst->dtype;
  int rc = tn_cu_dispatch(fn, src->dtype, [&](auto tag) {
    typedef decltype(tag) D;
    convert_kernel<D::dtype><<<grid, TN_CUDA_THREADS, 0, stream>>>(it, dst_dtype, esize);
    return 0;
  });
  return rc ? rc : tn_cuda_launched(fn);
}

/* ---- host transfers through pinned staging buffers ---- */

enum : int64_t { STAGING_MIN = 1 << 20, CHUNK = 4 << 20 };

static struct {
  std::mutex lock;
  void *buf[2];
  cudaEvent_t done[2];
  int device[2]; /* the device whose stream last used each buffer (events are per device) */
} staging;

/* The two staging buffers, allocated on first use; false with an error when pinned memory is refused. */
static bool staging_ready(const char *fn) {
  for (int i = 0; i < 2; i++) {
    if (staging.buf[i]) continue;
    if (tn_cuda_check(fn, cudaHostAlloc(&staging.buf[i], CHUNK, cudaHostAllocPortable))) return false;
    if (tn_cuda_check(fn, cudaEventCreateWithFlags(&staging.done[i], cudaEventDisableTiming))) return false;
    staging.device[i] = -1;
  }
  return true;
}

static int host_to_device(const char *fn, int device, void *dst, const void *src, int64_t n) {
  cudaStream_t stream = tn_cuda_stream_for(fn, device);
  if (!stream) return -1;
  if (n < STAGING_MIN)
    return tn_cuda_check(fn, cudaMemcpyAsync(dst, src, (size_t)n, cudaMemcpyHostToDevice, stream));
  std::lock_guard<std::mutex> guard(staging.lock);
  if (!staging_ready(fn)) return -1;
  for (int64_t pos = 0, i = 0; pos < n; pos += CHUNK, i ^= 1) {
    int64_t len = n - pos < CHUNK ? n - pos : CHUNK;
    /* the buffer's previous transfer must have left it before it is refilled */
    if (staging.device[i] >= 0 && tn_cuda_check(fn, cudaEventSynchronize(staging.done[i]))) return -1;
    memcpy(staging.buf[i], (const char *)src + pos, (size_t)len);
    if (tn_cuda_check(fn, cudaMemcpyAsync((char *)dst + pos, staging.buf[i], (size_t)len, cudaMemcpyHostToDevice,
                                          stream)) ||
        tn_cuda_check(fn, cudaEventRecord(staging.done[i], stream)))
      return -1;
    staging.device[i] = device;
  }
  return 0;
}

static int device_to_host(const char *fn, int device, void *dst, const void *src, int64_t n) {
  if (n < STAGING_MIN) return tn_cuda_read(fn, device, dst, src, n);
  cudaStream_t stream = tn_cuda_stream_for(fn, device);
  if (!stream) return -1;
  std::lock_guard<std::mutex> guard(staging.lock);
  if (!staging_ready(fn)) return -1;
  /* queue chunk c into buffer c % 2, then drain chunk c - 1 while chunk c crosses the bus */
  int64_t chunks = (n + CHUNK - 1) / CHUNK;
  for (int64_t c = 0; c <= chunks; c++) {
    if (c < chunks) {
      int i = (int)(c & 1);
      int64_t pos = c * CHUNK, len = n - pos < CHUNK ? n - pos : CHUNK;
      if (tn_cuda_check(fn, cudaMemcpyAsync(staging.buf[i], (const char *)src + pos, (size_t)len,
                                            cudaMemcpyDeviceToHost, stream)) ||
          tn_cuda_check(fn, cudaEventRecord(staging.done[i], stream)))
        return -1;
      staging.device[i] = device;
    }
    if (c > 0) {
      int i = (int)((c - 1) & 1);
      int64_t pos = (c - 1) * CHUNK, len = n - pos < CHUNK ? n - pos : CHUNK;
      if (tn_cuda_check(fn, cudaEventSynchronize(staging.done[i]))) return -1;
      memcpy((char *)dst + pos, staging.buf[i], (size_t)len);
    }
  }
  return tn_cuda_sync(fn, device); /* (already idle: counts the wait the read implied) */
}

/* A contiguous CPU tensor with t's elements (t itself, aliased, when it is contiguous already). */
static tn_tensor *host_contiguous(const tn_tensor *t) { return tn_contiguous(t); }

/* dst (CUDA) = src (CPU). */
static int copy_from_host(const char *fn, tn_tensor *dst, const tn_tensor *src) {
  int device = dst->storage->device_index;
  if (src->ndim == 0) return copy_on_device(fn, dst, src); /* a scalar rides in the kernel's arguments */
  tn_tensor *host = host_contiguous(src);
  if (!host) return -1;
  int rc;
  int64_t nbytes = host->numel * tn_dtype_size(host->dtype);
  if (dst->dtype == src->dtype && tn_is_contiguous(dst) && tn_same_shape(dst, src)) {
    rc = host_to_device(fn, device, tn_base(dst), tn_base(host), nbytes);
  } else {
    /* the source's elements land in a contiguous device buffer, then the kernel scatters and converts */
    tn_tensor *staged = tn_empty(host->ndim, host->sizes, host->dtype, TN_CUDA, device);
    rc = staged ? host_to_device(fn, device, tn_base(staged), tn_base(host), nbytes) : -1;
    if (rc == 0) rc = copy_on_device(fn, dst, staged);
    tn_tensor_free(staged);
  }
  tn_tensor_free(host);
  return rc;
}

/* dst (CPU) = src (CUDA). */
static int copy_to_host(const char *fn, tn_tensor *dst, const tn_tensor *src) {
  int device = src->storage->device_index;
  /* the device makes a contiguous tensor of dst's shape and dtype unless src already is one */
  tn_tensor *dense_src;
  if (src->dtype == dst->dtype && tn_is_contiguous(src) && tn_same_shape(dst, src)) {
    dense_src = tn_alias(src);
  } else {
    dense_src = tn_empty(dst->ndim, dst->sizes, dst->dtype, TN_CUDA, device);
    if (dense_src && copy_on_device(fn, dense_src, src)) {
      tn_tensor_free(dense_src);
      return -1;
    }
  }
  if (!dense_src) return -1;
  int64_t nbytes = dense_src->numel * tn_dtype_size(dense_src->dtype);
  int rc;
  if (tn_is_contiguous(dst)) {
    rc = device_to_host(fn, device, tn_base(dst), tn_base(dense_src), nbytes);
  } else {
    tn_tensor *host = tn_empty(dst->ndim, dst->sizes, dst->dtype, TN_CPU, 0);
    rc = host ? device_to_host(fn, device, tn_base(host), tn_base(dense_src), nbytes) : -1;
    if (rc == 0) rc = tn_copy_(dst, host);
    tn_tensor_free(host);
  }
  tn_tensor_free(dense_src);
  return rc;
}

/* dst = src on two different devices: src made contiguous on its device, moved peer to peer into a buffer
 * on dst's device, scattered there. The streams are ordered with events both ways. */
static int copy_between_devices(const char *fn, tn_tensor *dst, const tn_tensor *src) {
  int from = src->storage->device_index, to = dst->storage->device_index;
  tn_tensor *packed = tn_contiguous(src);
  if (!packed) return -1;
  tn_tensor *landed = tn_empty(packed->ndim, packed->sizes, packed->dtype, TN_CUDA, to);
  int rc = landed ? 0 : -1;
  cudaStream_t from_stream = rc ? NULL : tn_cuda_stream_for(fn, from);
  cudaStream_t to_stream = from_stream ? tn_cuda_stream_for(fn, to) : NULL;
  cudaEvent_t ready = NULL, done = NULL;
  if (!to_stream) rc = -1;
  if (rc == 0) {
    tn_cuda_stream_for(fn, from);
    rc = tn_cuda_check(fn, cudaEventCreateWithFlags(&ready, cudaEventDisableTiming));
    if (rc == 0) rc = tn_cuda_check(fn, cudaEventRecord(ready, from_stream));
    if (rc == 0) {
      tn_cuda_stream_for(fn, to);
      rc = tn_cuda_check(fn, cudaStreamWaitEvent(to_stream, ready, 0));
    }
    if (rc == 0)
      rc = tn_cuda_check(fn, cudaMemcpyPeerAsync(tn_base(landed), to, tn_base(packed), from,
                                                 (size_t)(packed->numel * tn_dtype_size(packed->dtype)), to_stream));
    /* packed returns to its device's cache: its stream must not reuse it before the transfer has read it */
    if (rc == 0) rc = tn_cuda_check(fn, cudaEventCreateWithFlags(&done, cudaEventDisableTiming));
    if (rc == 0) rc = tn_cuda_check(fn, cudaEventRecord(done, to_stream));
    if (rc == 0) {
      tn_cuda_stream_for(fn, from);
      rc = tn_cuda_check(fn, cudaStreamWaitEvent(from_stream, done, 0));
    }
    if (rc == 0) rc = copy_on_device(fn, dst, landed);
    if (ready) cudaEventDestroy(ready);
    if (done) cudaEventDestroy(done);
  }
  tn_tensor_free(landed);
  tn_tensor_free(packed);
  return rc;
}

static int cuda_copy(tn_tensor *dst, const tn_tensor *src) {
  const char *fn = "copy_";
  if (dst->numel == 0) return 0;
  int dst_cuda = dst->storage->device_type == TN_CUDA, src_cuda = src->storage->device_type == TN_CUDA;
  if (dst_cuda && !src_cuda) return copy_from_host(fn, dst, src);
  if (!dst_cuda) return copy_to_host(fn, dst, src);
  if (dst->storage->device_index != src->storage->device_index) return copy_between_devices(fn, dst, src);
  return copy_on_device(fn, dst, src);
}

/* ---- fill: the value converted once on the host, exactly as the copy kernel converts a double ---- */

static int cuda_fill(tn_tensor *t, double value) {
  const char *fn = "fill_";
  cudaStream_t stream = tn_cuda_tensor_stream(fn, t);
  if (!stream) return -1;
  uint64_t pattern = 0;
  tn_cu_dispatch(fn, t->dtype, [&](auto tag) {
    typedef decltype(tag) D;
    typename D::storage v = from_double<D>(value);
    memcpy(&pattern, &v, sizeof v);
    return 0;
  });
  tn_cu_iter<1> it;
  const tn_tensor *ops[1] = {t};
  tn_cu_iter_init<1>(&it, ops);
  unsigned grid = tn_cuda_grid(it.numel, TN_CUDA_THREADS);
  switch (tn_dtype_size(t->dtype)) {
    case 1: fill_kernel<uint8_t><<<grid, TN_CUDA_THREADS, 0, stream>>>(it, (uint8_t)pattern); break;
    case 2: fill_kernel<uint16_t><<<grid, TN_CUDA_THREADS, 0, stream>>>(it, (uint16_t)pattern); break;
    case 4: fill_kernel<uint32_t><<<grid, TN_CUDA_THREADS, 0, stream>>>(it, (uint32_t)pattern); break;
    default: fill_kernel<uint64_t><<<grid, TN_CUDA_THREADS, 0, stream>>>(it, pattern); break;
  }
  return tn_cuda_launched(fn);
}

extern "C" void tn_cuda_register_copy(tn_backend *b) {
  b->copy = cuda_copy;
  b->fill = cuda_fill;
}
