/* test_blas.c: the CPU backend's cblas-style products (tn_cpu_cblas_sgemm/dgemm, which other kernels call
 * instead of BLAS), against a plain triple loop, for both storage orders, every transpose, sizes that run on
 * one thread and sizes split into tiles across threads; and the thread policy: OpenBLAS's pthreads build is
 * held at one thread once libtensor is loaded. */
#include "check.h"
#include "cpu/cpu.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>

extern int openblas_get_parallel(void);
extern int openblas_get_num_threads(void);

/* element (i, j) of a matrix stored in `order`, transposed when `trans` */
static double at(const double *p, int order, int trans, int ld, int i, int j) {
  int row_major = (order == CblasRowMajor) != (trans == CblasTrans);
  return row_major ? p[(long)i * ld + j] : p[i + (long)j * ld];
}

static void check_product(int order, int ta, int tb, int m, int n, int k, double alpha, double beta) {
  /* stored sizes with a leading dimension 3 larger than needed */
  int a_rows = (order == CblasRowMajor) == (ta == CblasNoTrans) ? m : k, a_cols = m + k - a_rows;
  int b_rows = (order == CblasRowMajor) == (tb == CblasNoTrans) ? k : n, b_cols = k + n - b_rows;
  int c_rows = order == CblasRowMajor ? m : n, c_cols = m + n - c_rows;
  int lda = a_cols + 3, ldb = b_cols + 3, ldc = c_cols + 3;
  double *a = malloc(sizeof(double) * (size_t)(a_rows * lda)), *b = malloc(sizeof(double) * (size_t)(b_rows * ldb));
  double *c = malloc(sizeof(double) * (size_t)(c_rows * ldc)), *c0 = malloc(sizeof(double) * (size_t)(c_rows * ldc));
  float *af = malloc(sizeof(float) * (size_t)(a_rows * lda)), *bf = malloc(sizeof(float) * (size_t)(b_rows * ldb));
  float *cf = malloc(sizeof(float) * (size_t)(c_rows * ldc));
  for (int i = 0; i < a_rows * lda; i++) af[i] = (float)(a[i] = (rand() % 17 - 8) / 4.0);
  for (int i = 0; i < b_rows * ldb; i++) bf[i] = (float)(b[i] = (rand() % 13 - 6) / 4.0);
  for (int i = 0; i < c_rows * ldc; i++) cf[i] = (float)(c[i] = c0[i] = (rand() % 11 - 5) / 2.0);
  tn_cpu_cblas_dgemm(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  tn_cpu_cblas_sgemm(order, ta, tb, m, n, k, (float)alpha, af, lda, bf, ldb, (float)beta, cf, ldc);
  int bad = 0;
  for (int i = 0; i < m && !bad; i++)
    for (int j = 0; j < n && !bad; j++) {
      double expected = 0;
      for (int p = 0; p < k; p++) expected += at(a, order, ta, lda, i, p) * at(b, order, tb, ldb, p, j);
      long e = order == CblasRowMajor ? (long)i * ldc + j : i + (long)j * ldc;
      expected = alpha * expected + beta * c0[e];
      /* the inputs are multiples of 1/16: sums of products are exact in double, nearly so in float */
      if (c[e] != expected || fabs(cf[e] - expected) > 1e-5 * (fabs(expected) + k)) {
        CHECK(0, "order %d ta %d tb %d %dx%dx%d: element (%d, %d) is %g (float %g), expected %g", order, ta, tb, m, n, k,
              i, j, c[e], cf[e], expected);
        bad = 1;
      }
    }
  /* the padding beyond each row or column of c is untouched */
  for (int r = 0; r < c_rows; r++)
    for (int j = c_cols; j < ldc; j++) CHECK(c[(long)r * ldc + j] == c0[(long)r * ldc + j], "padding of c written");
  free(a), free(b), free(c), free(c0), free(af), free(bf), free(cf);
}

static void test_products(void) {
  int sizes[][3] = {{1, 1, 1}, {3, 4, 5}, {1, 300, 200}, {200, 1, 300}, {1, 1, 2000}, {130, 150, 170}, {260, 70, 300}};
  int orders[] = {CblasRowMajor, CblasColMajor}, trans[] = {CblasNoTrans, CblasTrans};
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
    for (int o = 0; o < 2; o++)
      for (int x = 0; x < 2; x++)
        for (int y = 0; y < 2; y++)
          check_product(orders[o], trans[x], trans[y], sizes[s][0], sizes[s][1], sizes[s][2], s % 2 ? 1 : 0.5,
                        s % 3 ? 0 : -2);
}

static void test_thread_policy(void) {
  if (openblas_get_parallel() == 1)
    CHECK(openblas_get_num_threads() == 1, "OpenBLAS's pthreads build runs %d threads, expected 1",
          openblas_get_num_threads());
  tn_set_num_threads(2);
  CHECK(tn_get_num_threads() == 2, "tn_get_num_threads() is %d after tn_set_num_threads(2)", tn_get_num_threads());
  if (openblas_get_parallel() == 1) CHECK(openblas_get_num_threads() == 1, "OpenBLAS left at one thread");
}

int main(void) {
  test_thread_policy();
  test_products();
  omp_set_num_threads(1);
  test_products(); /* the same products on one thread */
  return CHECK_REPORT("test_blas");
}
