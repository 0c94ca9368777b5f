/* cuda_api.h: the contract between libtensor and libtensor_cuda.so (cuda/), which libtensor loads at run time
 * (lib/cuda_loader.c) so that libtensor itself never depends on CUDA.
 *
 * libtensor_cuda.so links against libtensor (for tn_error, tn_register_backend, tn_empty ...) and exports one
 * entry point, tn_cuda_init. The loader calls it once; it fills the table of device-management functions below
 * and, when a device is present, registers the CUDA backend table (backend.h) with tn_register_backend. The
 * public tn_cuda_* functions of tensor.h forward to this table. */
#ifndef TN_CUDA_API_H
#define TN_CUDA_API_H

#include <stddef.h>

#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever tn_cuda_api, tn_cuda_memory or the backend table change, so a stale libtensor_cuda.so is
 * refused instead of misread. */
enum { TN_CUDA_ABI_VERSION = 1 };

typedef struct tn_cuda_api {
  int (*device_count)(void);
  int (*set_device)(int index);
  int (*current_device)(void);
  int (*synchronize)(int index);            /* -1: the current device */
  int (*memory_stats)(int index, tn_cuda_memory *out);
  int (*reset_peak)(int index);
  void *(*stream)(int index);
  int64_t (*sync_count)(void);
  const char *(*describe)(void);            /* runtime, driver and device names, for torch.config() */
} tn_cuda_api;

/* The entry point: abi is TN_CUDA_ABI_VERSION and backend_size sizeof(tn_backend) as libtensor sees it.
 * Returns 1 when a device is usable (the backend is registered and api filled), 0 when there is none (why
 * says why), -1 on an error (why). */
typedef int (*tn_cuda_init_fn)(int abi, size_t backend_size, tn_cuda_api *api, char *why, size_t why_size);
#define TN_CUDA_INIT_SYMBOL "tn_cuda_init"
#define TN_CUDA_LIBRARY_NAME "libtensor_cuda.so"

int tn_cuda_init(int abi, size_t backend_size, tn_cuda_api *api, char *why, size_t why_size);

#ifdef __cplusplus
}
#endif

#endif /* TN_CUDA_API_H */
