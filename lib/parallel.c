/* parallel.c: one thread count for the OpenMP kernels and the BLAS library. */
#include "internal.h"

#include <omp.h>
#include <stdio.h>

/* OpenBLAS's own functions (libtensor links against OpenBLAS). */
extern void openblas_set_num_threads(int n);
extern char *openblas_get_corename(void);
extern char *openblas_get_config(void);

void tn_set_num_threads(int n) {
  if (n < 1) n = 1;
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
}

int tn_get_num_threads(void) { return omp_get_max_threads(); }

const char *tn_blas_info(void) {
  static _Thread_local char info[256];
  snprintf(info, sizeof info, "OpenBLAS, core %s (%s)", openblas_get_corename(), openblas_get_config());
  return info;
}
