/* backend.c: the CUDA backend table. The runtime entries (allocator) are filled here; each kernel family
 * fills its own pointers through its tn_cuda_register_* function (kernels.h). A family whose file is not
 * there yet keeps the weak definition below, which leaves its pointers NULL: those ops then fail with
 * "<op>: not supported on cuda tensors yet" instead of running anything. */
#include "kernels.h"

#include <pthread.h>

static tn_backend cuda_backend;
static pthread_once_t cuda_backend_once = PTHREAD_ONCE_INIT;

static void *backend_alloc(int device, int64_t nbytes) {
  void *p = tn_cuda_alloc(device, nbytes);
  if (p) tn_account_alloc(&cuda_backend, nbytes);
  return p;
}

static void backend_free(int device, void *ptr, int64_t nbytes) {
  tn_cuda_free(device, ptr, nbytes);
  tn_account_free(&cuda_backend, nbytes);
}

#define WEAK_FAMILY(name) \
  __attribute__((weak)) void tn_cuda_register_##name(tn_backend *b) { (void)b; }
WEAK_FAMILY(copy)
WEAK_FAMILY(pointwise)
WEAK_FAMILY(random)
WEAK_FAMILY(reduce)
WEAK_FAMILY(blas)
WEAK_FAMILY(linalg)
WEAK_FAMILY(index)
WEAK_FAMILY(sort)
WEAK_FAMILY(join)
WEAK_FAMILY(nn)

static void assemble(void) {
  cuda_backend.name = "cuda";
  cuda_backend.alloc = backend_alloc;
  cuda_backend.free = backend_free;
  cuda_backend.cached_bytes = tn_cuda_cached_bytes;
  cuda_backend.empty_cache = tn_cuda_empty_cache;
  tn_cuda_register_copy(&cuda_backend);
  tn_cuda_register_pointwise(&cuda_backend);
  tn_cuda_register_random(&cuda_backend);
  tn_cuda_register_reduce(&cuda_backend);
  tn_cuda_register_blas(&cuda_backend);
  tn_cuda_register_linalg(&cuda_backend);
  tn_cuda_register_index(&cuda_backend);
  tn_cuda_register_sort(&cuda_backend);
  tn_cuda_register_join(&cuda_backend);
  tn_cuda_register_nn(&cuda_backend);
}

tn_backend *tn_cuda_backend(void) {
  pthread_once(&cuda_backend_once, assemble);
  return &cuda_backend;
}
