/* device.cu: devices, their streams, errors, synchronisation, and tn_cuda_init, the entry point libtensor's
 * loader (lib/cuda_loader.c) calls.
 *
 * Any error of cudaGetDeviceCount (no driver, no device, a driver older than the runtime) means "no device",
 * with the CUDA error kept as the reason torch.cuda.is_available() is false. Each device gets one stream
 * (non-blocking, created on the device's first use): every op queues its kernels there and returns; the host
 * waits only where it reads results (tn_cuda_read) or asks to (tn_cuda_synchronize), and each wait counts in
 * the debug counter tn_cuda_sync_count(). */
#include "conv_cudnn.h"
#include "kernels.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusolver_common.h>

#include <mutex>
#include <stdio.h>

#include "cuda_api.h"

enum { MAX_DEVICES = 64 };

static struct {
  int count;
  int current;                          /* the user's current device (torch.cuda.set_device) */
  int64_t syncs;                        /* host waits for a device */
  std::mutex lock;                      /* stream creation */
  cudaStream_t streams[MAX_DEVICES];
  char description[1024];
} dev;

/* The device this thread last made current through cudaSetDevice (-1: not yet). */
static thread_local int thread_device = -1;

extern "C" int tn_cuda_check(const char *fn, int error) {
  if (error == cudaSuccess) return 0;
  cudaError_t e = (cudaError_t)error;
  (void)cudaGetLastError(); /* clears a non-sticky error so the next call does not report it again */
  return tn_error("%s: CUDA error: %s (%s)", fn, cudaGetErrorString(e), cudaGetErrorName(e));
}

extern "C" int tn_cuda_launched(const char *fn) { return tn_cuda_check(fn, (int)cudaGetLastError()); }

extern "C" int tn_cuda_check_cublas(const char *fn, int status) {
  if (status == CUBLAS_STATUS_SUCCESS) return 0;
  return tn_error("%s: cuBLAS error: %s", fn, cublasGetStatusString((cublasStatus_t)status));
}

extern "C" int tn_cuda_check_cusolver(const char *fn, int status) {
  if (status == CUSOLVER_STATUS_SUCCESS) return 0;
  const char *name;
  switch ((cusolverStatus_t)status) {
    case CUSOLVER_STATUS_NOT_INITIALIZED: name = "not initialized"; break;
    case CUSOLVER_STATUS_ALLOC_FAILED: name = "allocation failed"; break;
    case CUSOLVER_STATUS_INVALID_VALUE: name = "invalid value"; break;
    case CUSOLVER_STATUS_ARCH_MISMATCH: name = "architecture mismatch"; break;
    case CUSOLVER_STATUS_EXECUTION_FAILED: name = "execution failed"; break;
    case CUSOLVER_STATUS_INTERNAL_ERROR: name = "internal error"; break;
    case CUSOLVER_STATUS_NOT_SUPPORTED: name = "not supported"; break;
    default: name = "unknown status"; break;
  }
  return tn_error("%s: cuSOLVER error: %s (status %d)", fn, name, status);
}

extern "C" int tn_cuda_devices(void) { return dev.count; }

static int check_index(const char *fn, int device) {
  if (device >= 0 && device < dev.count) return 0;
  return tn_error("%s: invalid CUDA device %d (this machine has %d: cuda:0 to cuda:%d)", fn, device, dev.count,
                  dev.count - 1);
}

extern "C" tn_cuda_stream_t tn_cuda_stream_for(const char *fn, int device) {
  if (check_index(fn, device)) return NULL;
  if (thread_device != device) {
    if (tn_cuda_check(fn, cudaSetDevice(device))) return NULL;
    thread_device = device;
  }
  cudaStream_t s = __atomic_load_n(&dev.streams[device], __ATOMIC_ACQUIRE);
  if (s) return s;
  std::lock_guard<std::mutex> guard(dev.lock);
  if (!dev.streams[device]) {
    if (tn_cuda_check(fn, cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking))) return NULL;
    __atomic_store_n(&dev.streams[device], s, __ATOMIC_RELEASE);
  }
  return dev.streams[device];
}

extern "C" tn_cuda_stream_t tn_cuda_tensor_stream(const char *fn, const tn_tensor *t) {
  return tn_cuda_stream_for(fn, t->storage->device_index);
}

extern "C" int tn_cuda_sync(const char *fn, int device) {
  cudaStream_t s = tn_cuda_stream_for(fn, device);
  if (!s) return -1;
  __atomic_add_fetch(&dev.syncs, 1, __ATOMIC_RELAXED);
  return tn_cuda_check(fn, cudaStreamSynchronize(s));
}

extern "C" int tn_cuda_read(const char *fn, int device, void *host_dst, const void *device_src, int64_t nbytes) {
  cudaStream_t s = tn_cuda_stream_for(fn, device);
  if (!s) return -1;
  if (nbytes <= 0) return 0;
  if (tn_cuda_check(fn, cudaMemcpyAsync(host_dst, device_src, (size_t)nbytes, cudaMemcpyDeviceToHost, s))) return -1;
  __atomic_add_fetch(&dev.syncs, 1, __ATOMIC_RELAXED);
  return tn_cuda_check(fn, cudaStreamSynchronize(s));
}

/* ---- the tn_cuda_api table ---- */

static int api_device_count(void) { return dev.count; }

static int api_set_device(int index) {
  if (!tn_cuda_stream_for("set_device", index)) return -1;
  __atomic_store_n(&dev.current, index, __ATOMIC_RELAXED);
  return 0;
}

static int api_current_device(void) { return __atomic_load_n(&dev.current, __ATOMIC_RELAXED); }

static int resolve(int index) { return index < 0 ? api_current_device() : index; }

static int api_synchronize(int index) { return tn_cuda_sync("synchronize", resolve(index)); }

static int api_memory_stats(int index, tn_cuda_memory *out) {
  index = resolve(index);
  if (check_index("memory_stats", index)) return -1;
  tn_cuda_alloc_stats(index, out);
  return 0;
}

static int api_reset_peak(int index) {
  index = resolve(index);
  if (check_index("reset_peak_memory_stats", index)) return -1;
  tn_cuda_alloc_reset_peak(index);
  return 0;
}

static void *api_stream(int index) { return tn_cuda_stream_for("stream", resolve(index)); }

static int64_t api_sync_count(void) { return __atomic_load_n(&dev.syncs, __ATOMIC_RELAXED); }

static const char *api_describe(void) { return dev.description; }

static void version_text(char *buf, size_t size, int v) {
  snprintf(buf, size, "%d.%d", v / 1000, v % 1000 / 10);
}

/* "CUDA runtime 13.0, driver 13.0; 1 device: cuda:0 NVIDIA H100 (sm_90, 79.1 GiB)" */
static void describe_devices(void) {
  int runtime = 0, driver = 0;
  char rt[32], dr[32];
  cudaRuntimeGetVersion(&runtime);
  cudaDriverGetVersion(&driver);
  version_text(rt, sizeof rt, runtime);
  version_text(dr, sizeof dr, driver);
  size_t used = (size_t)snprintf(dev.description, sizeof dev.description, "CUDA runtime %s, driver %s; %d device%s:",
                                 rt, dr, dev.count, dev.count == 1 ? "" : "s");
  for (int i = 0; i < dev.count && used < sizeof dev.description; i++) {
    cudaDeviceProp p;
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) {
      (void)cudaGetLastError();
      continue;
    }
    used += (size_t)snprintf(dev.description + used, sizeof dev.description - used, "%s cuda:%d %s (sm_%d%d, %.1f GiB)",
                             i ? "," : "", i, p.name, p.major, p.minor, (double)p.totalGlobalMem / (1 << 30));
  }
  size_t cudnn = tnc_cudnn_version();
  if (used < sizeof dev.description) {
    if (cudnn)
      snprintf(dev.description + used, sizeof dev.description - used, "; cuDNN %zu.%zu.%zu", cudnn / 10000,
               cudnn % 10000 / 100, cudnn % 100);
    else
      snprintf(dev.description + used, sizeof dev.description - used, "; no cuDNN (convolutions by im2col)");
  }
}

extern "C" int tn_cuda_init(int abi, size_t backend_size, tn_cuda_api *api, char *why, size_t why_size) {
  if (abi != TN_CUDA_ABI_VERSION || backend_size != sizeof(tn_backend)) {
    snprintf(why, why_size,
             "libtensor_cuda.so was built for another libtensor (ABI %d with a %zu-byte backend table; this "
             "libtensor has ABI %d and %zu bytes): rebuild both",
             (int)TN_CUDA_ABI_VERSION, sizeof(tn_backend), abi, backend_size);
    return -1;
  }
  api->device_count = api_device_count;
  api->set_device = api_set_device;
  api->current_device = api_current_device;
  api->synchronize = api_synchronize;
  api->memory_stats = api_memory_stats;
  api->reset_peak = api_reset_peak;
  api->stream = api_stream;
  api->sync_count = api_sync_count;
  api->describe = api_describe;
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    snprintf(why, why_size, "no usable CUDA device: cudaGetDeviceCount failed: %s (%s, error %d)",
             cudaGetErrorString(e), cudaGetErrorName(e), (int)e);
    return 0;
  }
  if (n <= 0) {
    snprintf(why, why_size, "no CUDA device found");
    return 0;
  }
  dev.count = n < MAX_DEVICES ? n : MAX_DEVICES;
  describe_devices();
  tn_register_backend(TN_CUDA, tn_cuda_backend());
  return 1;
}
