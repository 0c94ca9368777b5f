/* linalg.c: CPU factorisations through LAPACK (OpenBLAS's): inv, solve, det/slogdet, cholesky, qr, svd, eigh,
 * lu_factor, lu_solve, solve_triangular (BLAS's trsm), lstsq, geqrf, orgqr, ormqr, ldl_factor (sytrf) and
 * ldl_solve (sytrs), batched over the leading dims, for float32 and float64. The per-type code is
 * linalg_real.h, included once per type; this file dispatches on the dtype (the entry points in
 * lib/ops/linalg.c admit only those two). */
#include "cpu.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>

static inline int64_t max1(int64_t v) { return v > 1 ? v : 1; }

/* The number of matrices in the batch of a [*, m, n] tensor. */
static int64_t batch_count(const tn_tensor *t) {
  int64_t count = 1;
  for (int d = 0; d < t->ndim - 2; d++) count *= t->sizes[d];
  return count;
}

/* The pivots of sytrf for a lower triangle as sytrs follows them: p > 0, a 1 x 1 block whose row was swapped
 * with row p, or an equal pair of negative p at j and j + 1, a 2 x 2 block. 0, or the position (1-based) of
 * the first pivot that is neither, which sytrs would follow out of the matrix. */
static int64_t bad_ldl_pivot(const int32_t *pv, int64_t stride, int64_t n) {
  for (int64_t j = 0; j < n; j++) {
    int64_t p = pv[j * stride];
    if (p > 0 && p <= n) continue;
    if (p < 0 && -p <= n && j + 1 < n && pv[(j + 1) * stride] == p) {
      j++;
      continue;
    }
    return j + 1;
  }
  return 0;
}

#define REAL float
#define LAPACK(x) s##x
#define CBLAS(x) cblas_s##x
#define FN(x) x##_f32
#include "linalg_real.h"
#undef REAL
#undef LAPACK
#undef CBLAS
#undef FN

#define REAL double
#define LAPACK(x) d##x
#define CBLAS(x) cblas_d##x
#define FN(x) x##_f64
#include "linalg_real.h"
#undef REAL
#undef LAPACK
#undef CBLAS
#undef FN

/* ---- threads ----
 * LAPACK's blocked algorithms spend their time in BLAS, whose pthreads build is held at one thread
 * (lib/parallel.c): factorisations of large matrices lend it the library's thread count while they run (its
 * threads then sleep soon after, see OPENBLAS_THREAD_TIMEOUT in lua/tensor/openblas_env.lua). The OpenMP build
 * shares the OpenMP threads by itself. */
enum { LEND_MIN_SIZE = 192 };

static bool lend_blas_threads(const tn_tensor *a) {
  int64_t rows = a->sizes[a->ndim - 2], cols = a->sizes[a->ndim - 1];
  return (rows >= LEND_MIN_SIZE || cols >= LEND_MIN_SIZE) && tn_blas_lend_threads();
}

#define DISPATCH(fn, t, ...)                                                                                   \
  ((t)->dtype == TN_FLOAT64 ? fn##_f64(__VA_ARGS__) : fn##_f32(__VA_ARGS__))
/* returns fn's result for t's dtype, run with lent threads where that pays */
#define RUN(fn, t, ...)                                                                                        \
  do {                                                                                                         \
    bool lent = lend_blas_threads(t);                                                                          \
    int rc = DISPATCH(fn, t, __VA_ARGS__);                                                                     \
    if (lent) tn_blas_take_back_threads();                                                                     \
    return rc;                                                                                                 \
  } while (0)

int tn_cpu_inv(tn_tensor *out, const tn_tensor *a, tn_linalg_status *st) { RUN(inv, a, out, a, st); }

int tn_cpu_solve(tn_tensor *x, const tn_tensor *a, const tn_tensor *b, tn_linalg_status *st) {
  RUN(solve, a, x, a, b, st);
}

int tn_cpu_det(tn_tensor *det, tn_tensor *sign, tn_tensor *logabsdet, const tn_tensor *a) {
  RUN(det, a, det, sign, logabsdet, a);
}

int tn_cpu_cholesky(tn_tensor *out, const tn_tensor *a, int upper, tn_linalg_status *st) {
  RUN(cholesky, a, out, a, upper, st);
}

int tn_cpu_qr(tn_tensor *q, tn_tensor *r, const tn_tensor *a) { RUN(qr, a, q, r, a); }

int tn_cpu_svd(tn_tensor *u, tn_tensor *s, tn_tensor *vh, const tn_tensor *a, tn_linalg_status *st) {
  RUN(svd, a, u, s, vh, a, st);
}

int tn_cpu_eigh(tn_tensor *w, tn_tensor *v, const tn_tensor *a, int upper, tn_linalg_status *st) {
  RUN(eigh, a, w, v, a, upper, st);
}

int tn_cpu_lu_factor(tn_tensor *lu, tn_tensor *pivots, const tn_tensor *a, int pivot, tn_linalg_status *st) {
  RUN(lu_factor, a, lu, pivots, a, pivot, st);
}

int tn_cpu_lu_solve(tn_tensor *x, const tn_tensor *lu, const tn_tensor *pivots, const tn_tensor *b, int adjoint,
                    tn_linalg_status *st) {
  RUN(lu_solve, lu, x, lu, pivots, b, adjoint, st);
}

int tn_cpu_solve_triangular(tn_tensor *x, const tn_tensor *a, const tn_tensor *b, int upper, int unit) {
  RUN(solve_triangular, a, x, a, b, upper, unit);
}

int tn_cpu_lstsq(tn_tensor *x, tn_tensor *rank, tn_tensor *s, const tn_tensor *a, const tn_tensor *b, int driver,
                 double rcond, tn_linalg_status *st) {
  RUN(lstsq, a, x, rank, s, a, b, driver, rcond, st);
}

int tn_cpu_geqrf(tn_tensor *qr, tn_tensor *tau, const tn_tensor *a) { RUN(geqrf, a, qr, tau, a); }

int tn_cpu_orgqr(tn_tensor *q, const tn_tensor *a, const tn_tensor *tau) { RUN(orgqr, q, q, a, tau); }

int tn_cpu_ormqr(tn_tensor *x, const tn_tensor *a, const tn_tensor *tau, const tn_tensor *c, int left, int transpose) {
  RUN(ormqr, x, x, a, tau, c, left, transpose);
}

int tn_cpu_ldl_factor(tn_tensor *ld, tn_tensor *pivots, const tn_tensor *a, tn_linalg_status *st) {
  RUN(ldl_factor, a, ld, pivots, a, st);
}

int tn_cpu_ldl_solve(tn_tensor *x, const tn_tensor *ld, const tn_tensor *pivots, const tn_tensor *b,
                     tn_linalg_status *st) {
  RUN(ldl_solve, ld, x, ld, pivots, b, st);
}

/* Row swaps to a permutation; no arithmetic, so one function for every dtype. */
int tn_cpu_lu_permutation(tn_tensor *perm, const tn_tensor *pivots, tn_linalg_status *st) {
  int nb = perm->ndim - 1;
  int64_t m = perm->sizes[nb], k = pivots->sizes[nb], ps = pivots->strides[nb], count = perm->numel / m;
  int64_t *out = (int64_t *)tn_base(perm);
  for (int64_t i = 0; i < count; i++) {
    int64_t *row = out + i * m;
    const int32_t *pv = (const int32_t *)pivots->storage->data + tn_cpu_batch_offset(pivots, nb, i);
    for (int64_t r = 0; r < m; r++) row[r] = r + 1;
    for (int64_t j = 0; j < k; j++) {
      int64_t p = pv[j * ps];
      if (p < 1 || p > m) {
        st->index = i;
        st->info = j + 1;
        return 0;
      }
      int64_t t = row[j];
      row[j] = row[p - 1];
      row[p - 1] = t;
    }
  }
  return 0;
}
