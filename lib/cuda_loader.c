/* cuda_loader.c: finds and loads libtensor_cuda.so the first time something asks for CUDA (a tensor on a
 * 'cuda' device, torch.cuda.is_available(), ...), and forwards the tn_cuda_* functions of tensor.h to it.
 *
 * The library is looked for at $TENSOR_CUDA_LIBRARY, else next to libtensor.so itself (found with dladdr),
 * which is where the build and the rock put it. A missing library, one that fails to load (no CUDA runtime
 * on the machine), or a machine without a device all leave CUDA unavailable with a reason, never an abort.
 * The CUDA default generator and the TF32 flag live here, so they work (and keep their values) whether or
 * not a device is present. */
#include "backend.h"
#include "cuda_api.h"
#include "internal.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static struct {
  pthread_once_t once;
  int available;          /* 1: a device is usable and the backend registered */
  char status[1024];      /* why CUDA is unavailable, or a description of it */
  tn_cuda_api api;
} cuda = {.once = PTHREAD_ONCE_INIT};

/* PyTorch's default seed, as for the CPU generator. */
static tn_generator cuda_generator = {67280421310721ull, 0};
static int allow_tf32;
static int cudnn_enabled = 1;

/* cuda.status = the formatted text, truncated to fit. */
static void set_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void set_status(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cuda.status, sizeof cuda.status, fmt, ap);
  va_end(ap);
}

/* The path of the library to load into buf; 0, or -1 with the reason in cuda.status. */
static int library_path(char *buf, size_t size) {
  const char *explicit_path = getenv("TENSOR_CUDA_LIBRARY");
  if (explicit_path && explicit_path[0]) {
    if (strlen(explicit_path) >= size) {
      set_status("TENSOR_CUDA_LIBRARY is too long a path");
      return -1;
    }
    memcpy(buf, explicit_path, strlen(explicit_path) + 1);
    return 0;
  }
  Dl_info info;
  if (!dladdr((void *)tn_cuda_available, &info) || !info.dli_fname) {
    set_status("cannot locate libtensor.so to find %s next to it", TN_CUDA_LIBRARY_NAME);
    return -1;
  }
  const char *slash = strrchr(info.dli_fname, '/');
  size_t dir_len = slash ? (size_t)(slash - info.dli_fname) + 1 : 0, name_len = strlen(TN_CUDA_LIBRARY_NAME);
  if (dir_len + name_len >= size) {
    set_status("the path of %s is too long", TN_CUDA_LIBRARY_NAME);
    return -1;
  }
  memcpy(buf, info.dli_fname, dir_len);
  memcpy(buf + dir_len, TN_CUDA_LIBRARY_NAME, name_len + 1);
  return 0;
}

static void load(void) {
  char path[4096];
  if (library_path(path, sizeof path)) return;
  if (access(path, R_OK) != 0) {
    set_status("this build has no CUDA backend (%s not found)", path);
    return;
  }
  void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *why = dlerror();
    set_status("cannot load %s: %s", path, why ? why : "unknown error");
    return;
  }
  tn_cuda_init_fn init;
  void *sym = dlsym(handle, TN_CUDA_INIT_SYMBOL);
  memcpy(&init, &sym, sizeof init); /* (object to function pointer, without the cast ISO C leaves undefined) */
  if (!init) {
    set_status("%s has no %s function", path, TN_CUDA_INIT_SYMBOL);
    return; /* the handle stays open: unloading CUDA libraries mid-process is not worth the risk */
  }
  char why[512] = "";
  int rc = init(TN_CUDA_ABI_VERSION, sizeof(tn_backend), &cuda.api, why, sizeof why);
  if (rc < 0) {
    set_status("%s", why[0] ? why : "libtensor_cuda failed to initialise");
    return;
  }
  cuda.available = rc == 1;
  if (cuda.available && cuda.api.describe)
    set_status("%s", cuda.api.describe());
  else
    set_status("%s", why[0] ? why : "no CUDA device");
}

int tn_cuda_available(void) {
  pthread_once(&cuda.once, load);
  return cuda.available;
}

const char *tn_cuda_status(void) {
  pthread_once(&cuda.once, load);
  return cuda.status;
}

/* The table when a device is usable, else NULL with an error naming fn and the reason. */
static const tn_cuda_api *api_for(const char *fn) {
  if (tn_cuda_available()) return &cuda.api;
  return tn_error_null("%s: CUDA is not available: %s", fn, cuda.status);
}

int tn_cuda_device_count(void) { return tn_cuda_available() ? cuda.api.device_count() : 0; }

int tn_cuda_set_device(int index) {
  const tn_cuda_api *api = api_for("set_device");
  return api ? api->set_device(index) : -1;
}

int tn_cuda_current_device(void) {
  const tn_cuda_api *api = api_for("current_device");
  return api ? api->current_device() : -1;
}

int tn_cuda_synchronize(int index) {
  const tn_cuda_api *api = api_for("synchronize");
  return api ? api->synchronize(index) : -1;
}

tn_generator *tn_cuda_default_generator(void) { return &cuda_generator; }

void tn_cuda_manual_seed(uint64_t seed) { tn_generator_seed(&cuda_generator, seed); }

int tn_cuda_memory_stats(int index, tn_cuda_memory *out) {
  const tn_cuda_api *api = api_for("memory_stats");
  return api ? api->memory_stats(index, out) : -1;
}

int tn_cuda_reset_peak(int index) {
  const tn_cuda_api *api = api_for("reset_peak_memory_stats");
  return api ? api->reset_peak(index) : -1;
}

void *tn_cuda_stream(int index) {
  const tn_cuda_api *api = api_for("stream");
  return api ? api->stream(index) : NULL;
}

int tn_cuda_set_allow_tf32(int allow) {
  __atomic_store_n(&allow_tf32, allow != 0, __ATOMIC_RELAXED);
  return 0;
}

int tn_cuda_get_allow_tf32(void) { return __atomic_load_n(&allow_tf32, __ATOMIC_RELAXED); }

int tn_cuda_set_cudnn_enabled(int enabled) {
  __atomic_store_n(&cudnn_enabled, enabled != 0, __ATOMIC_RELAXED);
  return 0;
}

int tn_cuda_get_cudnn_enabled(void) { return __atomic_load_n(&cudnn_enabled, __ATOMIC_RELAXED); }

int64_t tn_cuda_sync_count(void) { return tn_cuda_available() ? cuda.api.sync_count() : 0; }
