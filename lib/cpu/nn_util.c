/* nn_util.c: helpers shared by the CPU nn kernels (see nn_simd.h). */
#include "nn_simd.h"

#include <stdlib.h>

void *tn_nn_scratch(const char *fn, int64_t nbytes) {
  size_t rounded = ((size_t)(nbytes > 0 ? nbytes : 1) + 63) & ~(size_t)63;
  void *p = aligned_alloc(64, rounded);
  if (!p) return tn_error_null("%s: out of memory for %lld bytes of scratch space", fn, (long long)nbytes);
  return p;
}

void tn_nn_scratch_free(void *p) { free(p); }
