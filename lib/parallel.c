/* parallel.c: one pool of threads for the OpenMP kernels and the BLAS library.
 *
 * Two pools on few cores fight: after its work each pool's threads spin, waiting for more, on the cores the
 * other pool needs (PyTorch's MNIST MLP ran 26k samples/s on 1 thread and 4.5k-10k on 2, with libgomp and
 * OpenBLAS's pthreads both at 2). So the library runs one pool, OpenMP's:
 *  - OpenBLAS's pthreads build is held at one thread; matrix products are split across the OpenMP threads by
 *    lib/cpu/blas.c, and large LAPACK factorisations (lib/cpu/linalg.c), single products of 2^28
 *    multiply-adds and more, and matrix-vector products of 2^18 elements and more (lib/cpu/blas.c) lend
 *    OpenBLAS the thread count for their duration
 *    (tn_blas_lend_threads). Its OpenMP build shares the OpenMP pool by itself (serial inside a parallel region).
 *  - Waiting threads sleep after a spin of a few microseconds, and OpenBLAS's lent threads sleep soon after
 *    their work: the environment that says so (OMP_WAIT_POLICY, GOMP_SPINCOUNT, OPENBLAS_THREAD_TIMEOUT,
 *    OPENBLAS_NUM_THREADS) is set, unless the user set it, before the libraries load
 *    (lua/tensor/openblas_env.lua). */
#include "internal.h"

#include <omp.h>
#include <stdio.h>

/* OpenBLAS's own functions (libtensor links against OpenBLAS). */
extern void openblas_set_num_threads(int n);
extern int openblas_get_parallel(void); /* 0: sequential build, 1: pthreads, 2: OpenMP */
extern char *openblas_get_corename(void);
extern char *openblas_get_config(void);

enum { BLAS_PTHREADS = 1, BLAS_OPENMP = 2 };

/* OpenBLAS's pthreads build: no pool of its own (whatever OPENBLAS_NUM_THREADS said). */
__attribute__((constructor)) static void hold_blas_threads(void) {
  if (openblas_get_parallel() == BLAS_PTHREADS) openblas_set_num_threads(1);
}

void tn_set_num_threads(int n) {
  if (n < 1) n = 1;
  omp_set_num_threads(n);
  /* the OpenMP build keeps its own count of the (shared) threads to use; the pthreads build stays at one */
  int kind = openblas_get_parallel();
  if (kind == BLAS_OPENMP) openblas_set_num_threads(n);
  if (kind == BLAS_PTHREADS) openblas_set_num_threads(1);
}

int tn_get_num_threads(void) { return omp_get_max_threads(); }

bool tn_blas_lend_threads(void) {
  int threads = omp_get_max_threads();
  if (openblas_get_parallel() != BLAS_PTHREADS || omp_in_parallel() || threads <= 1) return false;
  openblas_set_num_threads(threads);
  return true;
}

void tn_blas_take_back_threads(void) { openblas_set_num_threads(1); }

const char *tn_blas_info(void) {
  static _Thread_local char info[320];
  int kind = openblas_get_parallel();
  const char *threads = kind == BLAS_PTHREADS ? "pthreads build held at 1 thread; products split on OpenMP"
                        : kind == BLAS_OPENMP ? "OpenMP build, sharing the OpenMP threads"
                                              : "sequential build; products split on OpenMP";
  snprintf(info, sizeof info, "OpenBLAS, core %s (%s; %s)", openblas_get_corename(), openblas_get_config(), threads);
  return info;
}
