/* blas.c: CPU matrix products, the backend's gemm: c = alpha * a @ b + beta * c over a batch.
 *
 * float32 and float64 go to OpenBLAS: ?gemm for matrices, ?gemv when one side of the result is a vector, ?dot
 * for a single element. Operands are read where they lie: a matrix with contiguous rows is passed row-major
 * with its leading dimension, one with contiguous columns as the transpose of a row-major matrix, and a
 * column-major result is computed as its transpose (c' = b' a'). Only an operand with neither stride 1 (or
 * an expanded one, stride 0) is copied, into a scratch buffer; the result likewise. Tiny products skip BLAS's
 * call overhead.
 * Threads: OpenBLAS runs on one thread (lib/parallel.c keeps its own pool from starting), and the work is split
 * here across the library's OpenMP threads: a large product into a grid of tiles of the result, one BLAS call
 * per tile; a batch of smaller products by batch index. A single very large product, and a large matrix-vector
 * product, borrow OpenBLAS's own threads for the call instead (LEND_MNK, LEND_GEMV_ELEMENTS).
 * float16 and bfloat16 compute in float32. Integer types run a blocked kernel in unsigned arithmetic, so that
 * overflow wraps as in PyTorch rather than being undefined behaviour. */
#include "cpu.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>

/* One matrix of a batch: element (i, j) at base[i * rs + j * cs] (strides in elements). */
typedef struct mat {
  char *base;
  int64_t rows, cols, rs, cs;
} mat;

static inline mat transposed(mat x) { return (mat){x.base, x.cols, x.rows, x.cs, x.rs}; }
static inline int64_t max1(int64_t v) { return v > 1 ? v : 1; }

/* How BLAS can read x in place: as a row-major matrix (*trans false) or as the transpose of one (*trans true),
 * with leading dimension *ld. False when neither fits: no unit stride, an expanded dim, or an ld above int. */
static bool blas_layout(const mat *x, bool *trans, int64_t *ld) {
  if ((x->cols <= 1 || x->cs == 1) && (x->rows <= 1 || x->rs >= max1(x->cols))) {
    *trans = false;
    *ld = x->rows <= 1 ? max1(x->cols) : x->rs;
  } else if ((x->rows <= 1 || x->rs == 1) && (x->cols <= 1 || x->cs >= max1(x->rows))) {
    *trans = true;
    *ld = x->cols <= 1 ? max1(x->rows) : x->cs;
  } else {
    return false;
  }
  return *ld <= INT_MAX;
}

/* The BLAS increment of a vector of n elements at stride s, or 0 when BLAS cannot walk it in place. */
static inline int64_t blas_inc(int64_t n, int64_t s) { return n <= 1 ? 1 : (s > 0 && s <= INT_MAX) ? s : 0; }

/* Per-thread scratch buffers, grown on demand, one per use: a copied a, a copied b (or the integer kernel's
 * accumulators), a staged result, and the small-product kernel's packed b. */
enum { SCRATCH_A, SCRATCH_B, SCRATCH_C, SCRATCH_PANEL, SCRATCH_SLOTS };
typedef struct scratch {
  void *buf[SCRATCH_SLOTS];
  size_t cap[SCRATCH_SLOTS];
} scratch;

static void *scratch_get(scratch *s, int slot, size_t bytes) {
  if (bytes <= s->cap[slot]) return s->buf[slot];
  free(s->buf[slot]);
  size_t rounded = (bytes + 63) & ~(size_t)63;
  s->buf[slot] = aligned_alloc(64, rounded);
  s->cap[slot] = s->buf[slot] ? rounded : 0;
  if (!s->buf[slot]) tn_error("matmul: out of memory for a %zu-byte scratch buffer", bytes);
  return s->buf[slot];
}

static void scratch_free(scratch *s) {
  for (int i = 0; i < SCRATCH_SLOTS; i++) free(s->buf[i]);
}

/* A product of one matrix of each operand: c = alpha * a @ b + beta * c (c is rows x cols, a rows x k). `fresh`:
 * c was allocated for the product (TN_GEMM_FRESH_RESULT), so its memory is most likely cold. */
typedef int (*product_fn)(mat a, mat b, mat c, double alpha, double beta, bool fresh, scratch *s);

/* Products below this many multiply-adds run a plain loop instead of calling BLAS. */
enum { TINY_MNK = 512 };
/* Multiply-adds per thread below which work is not split across threads. Waking a sleeping thread (the thread
 * policy of lib/parallel.c) takes from a few microseconds on an idle machine to far more on a busy one; 2^21
 * multiply-adds take BLAS about 15 microseconds. A matrix-vector product is bound by memory, so 2^16 elements
 * per thread already pay. PARALLEL_GRAIN is for batches and the integer kernel. */
enum { GEMM_GRAIN = 1 << 21, GEMV_GRAIN = 1 << 16, PARALLEL_GRAIN = 65536 };
/* Tile edges of a split product fall on multiples of this (BLAS kernels work in blocks of rows and columns). */
enum { TILE_ALIGN = 16 };
/* A fresh result of at least this many bytes is zeroed with streaming stores before ?gemm adds the product to
 * it (beta 1), instead of ?gemm zeroing it with ordinary stores, which first read each cold line from memory:
 * 512 x 512 float32 into a C cycling through 64 MB ran at 99.7% of the same product into a warm C instead of
 * 97%, 1024 x 1024 at 99.6% instead of 98.3%. The sums are the same bits (0 + x is x for every x but -0, and
 * beta 0 adds to zeros as well). Smaller products run sgemm_avx512.c, which prefetches C itself. */
enum { STREAM_ZERO_BYTES = 256 << 10 };
/* A single product of at least this many multiply-adds runs on OpenBLAS's own threads, lent for the call as
 * LAPACK's factorisations get them (lib/parallel.c): they share the packing of each panel of the operands, where
 * tiles on the library's threads each pack their own. In C at 2 threads, interleaved (medians of 15): 1024^3
 * 9.00 ms lent against 9.71 in two tiles, 2048^3 64.2 against 68.1; their threads spin ~2^20 cycles after the
 * call, so not for every product: a 1024^3 product followed by 20 parallel adds of 10^6 floats ran the same. */
enum { LEND_MNK = 1 << 28 };
/* A matrix-vector product of at least this many matrix elements runs on OpenBLAS's threads too: its threaded
 * gemv splits the matrix by rows itself, where two row tiles on the library's threads scaled poorly. mv of 1000 x
 * 1000 float32 at 2 threads on the AMD development VM, alternating runs: 37-39 us lent (two of three runs; 68
 * in the third) against 48-67 in two tiles; 58-74 at 1 thread either way. A gemv followed by two parallel adds
 * of 10^6 floats took 319-387 us lent against 354-439, by exp of 10^6 floats 457-500 against 416-496. */
enum { LEND_GEMV_ELEMENTS = 1 << 18 };

/* ---- floating point: BLAS ---- */

/* Products of small networks' sizes run sgemm_avx512.c's kernel: 1 when it took the product, 0 when BLAS
 * should, -1 on failure. */
static int small_product_f32(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                             int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc,
                             scratch *s) {
  if (!tn_cpu_sgemm_small_fits(tb, m, n, k)) return 0;
  float *packed = scratch_get(s, SCRATCH_PANEL, tn_cpu_sgemm_small_scratch(k));
  if (!packed) return -1;
  tn_cpu_sgemm_small(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, packed);
  return 1;
}
#define SMALL_PRODUCT_f32 small_product_f32
#define SMALL_PRODUCT_f64(...) 0 /* float64 always goes to BLAS */

/* The per-dtype parts: BLAS's prefix, the element type. */
#define DEFINE_FLOAT_PRODUCT(SUF, T, P)                                                                          \
  /* dst (a contiguous rows x cols buffer) = x */                                                               \
  static void pack_##SUF(T *restrict dst, mat x) {                                                              \
    const T *src = (const T *)x.base;                                                                           \
    for (int64_t i = 0; i < x.rows; i++)                                                                        \
      for (int64_t j = 0; j < x.cols; j++) dst[i * x.cols + j] = src[i * x.rs + j * x.cs];                      \
  }                                                                                                             \
  static void unpack_##SUF(mat x, const T *restrict src) {                                                      \
    T *dst = (T *)x.base;                                                                                       \
    for (int64_t i = 0; i < x.rows; i++)                                                                        \
      for (int64_t j = 0; j < x.cols; j++) dst[i * x.rs + j * x.cs] = src[i * x.cols + j];                      \
  }                                                                                                             \
  /* c = beta * c, where beta 0 writes zeros whatever c held */                                                \
  static void scale_##SUF(mat c, T beta) {                                                                      \
    T *p = (T *)c.base;                                                                                         \
    if (beta == 1) return;                                                                                      \
    for (int64_t i = 0; i < c.rows; i++)                                                                        \
      for (int64_t j = 0; j < c.cols; j++) {                                                                    \
        T *e = &p[i * c.rs + j * c.cs];                                                                         \
        *e = beta == 0 ? 0 : beta * *e;                                                                         \
      }                                                                                                         \
  }                                                                                                             \
  /* the plain loop for tiny products */                                                                       \
  static void tiny_##SUF(mat a, mat b, mat c, T alpha, T beta) {                                                \
    const T *A = (const T *)a.base, *B = (const T *)b.base;                                                     \
    T *Cp = (T *)c.base;                                                                                        \
    for (int64_t i = 0; i < c.rows; i++)                                                                        \
      for (int64_t j = 0; j < c.cols; j++) {                                                                    \
        T acc = 0;                                                                                              \
        for (int64_t p = 0; p < a.cols; p++) acc += A[i * a.rs + p * a.cs] * B[p * b.rs + j * b.cs];            \
        T *e = &Cp[i * c.rs + j * c.cs];                                                                        \
        *e = beta == 0 ? alpha * acc : alpha * acc + beta * *e;                                                 \
      }                                                                                                         \
  }                                                                                                             \
  /* y = alpha * x @ v + beta * y: x a matrix, v and y vectors given as pointer, length, stride */             \
  static int gemv_##SUF(mat x, const T *v, int64_t vs, T *y, int64_t ys, T alpha, T beta, scratch *s) {         \
    bool trans;                                                                                                 \
    int64_t ld, incv = blas_inc(x.cols, vs), incy = blas_inc(x.rows, ys);                                       \
    if (!blas_layout(&x, &trans, &ld)) {                                                                        \
      T *buf = scratch_get(s, SCRATCH_A, (size_t)(x.rows * x.cols) * sizeof(T));                                \
      if (!buf) return -1;                                                                                      \
      pack_##SUF(buf, x);                                                                                       \
      x = (mat){(char *)buf, x.rows, x.cols, x.cols, 1};                                                        \
      trans = false;                                                                                            \
      ld = max1(x.cols);                                                                                        \
    }                                                                                                           \
    if (!incv) {                                                                                                \
      T *buf = scratch_get(s, SCRATCH_B, (size_t)x.cols * sizeof(T));                                           \
      if (!buf) return -1;                                                                                      \
      for (int64_t p = 0; p < x.cols; p++) buf[p] = v[p * vs];                                                  \
      v = buf;                                                                                                  \
      incv = 1;                                                                                                 \
    }                                                                                                           \
    T *y_out = y, *staged = NULL;                                                                               \
    int64_t y_out_s = ys;                                                                                       \
    if (!incy) { /* a stride beyond BLAS's int (never 0: outputs with internal overlap are refused) */         \
      if (!(staged = scratch_get(s, SCRATCH_C, (size_t)x.rows * sizeof(T)))) return -1;                         \
      for (int64_t i = 0; i < x.rows; i++) staged[i] = y[i * ys];                                               \
      y = staged;                                                                                               \
      ys = incy = 1;                                                                                            \
    }                                                                                                           \
    if (beta == 0) /* BLAS versions differ on whether 0 * NaN in y stays NaN: clear y ourselves */             \
      for (int64_t i = 0; i < x.rows; i++) y[i * ys] = 0;                                                       \
    if (trans)                                                                                                  \
      cblas_##P##gemv(CblasRowMajor, CblasTrans, (blasint)x.cols, (blasint)x.rows, alpha, (const T *)x.base,    \
                      (blasint)ld, v, (blasint)incv, beta, y, (blasint)incy);                                   \
    else                                                                                                        \
      cblas_##P##gemv(CblasRowMajor, CblasNoTrans, (blasint)x.rows, (blasint)x.cols, alpha, (const T *)x.base,  \
                      (blasint)ld, v, (blasint)incv, beta, y, (blasint)incy);                                   \
    if (staged)                                                                                                 \
      for (int64_t i = 0; i < x.rows; i++) y_out[i * y_out_s] = staged[i];                                      \
    return 0;                                                                                                   \
  }                                                                                                             \
  static int product_##SUF(mat a, mat b, mat c, double alpha_d, double beta_d, bool fresh, scratch *s) {        \
    T alpha = (T)alpha_d, beta = (T)beta_d;                                                                     \
    int64_t m = c.rows, n = c.cols, k = a.cols;                                                                 \
    if (m == 0 || n == 0) return 0;                                                                             \
    if (k == 0 || alpha == 0) {                                                                                 \
      scale_##SUF(c, beta);                                                                                     \
      return 0;                                                                                                 \
    }                                                                                                           \
    if (m * n * k <= TINY_MNK) {                                                                                \
      tiny_##SUF(a, b, c, alpha, beta);                                                                         \
      return 0;                                                                                                 \
    }                                                                                                           \
    bool ct;                                                                                                    \
    int64_t ldc;                                                                                                \
    if (!blas_layout(&c, &ct, &ldc)) {                                                                          \
      /* neither rows nor columns of c are contiguous: compute into a contiguous buffer */                     \
      T *buf = scratch_get(s, SCRATCH_C, (size_t)(m * n) * sizeof(T));                                          \
      if (!buf) return -1;                                                                                      \
      mat staged = {(char *)buf, m, n, n, 1};                                                                   \
      if (beta != 0) pack_##SUF(buf, c);                                                                        \
      if (product_##SUF(a, b, staged, alpha_d, beta_d, false, s)) return -1;                                    \
      unpack_##SUF(c, buf);                                                                                     \
      return 0;                                                                                                 \
    }                                                                                                           \
    if (ct) { /* c column-major: compute c' = b' a' */                                                         \
      mat t = transposed(a);                                                                                    \
      a = transposed(b);                                                                                        \
      b = t;                                                                                                    \
      c = transposed(c);                                                                                        \
      m = c.rows;                                                                                               \
      n = c.cols;                                                                                               \
    }                                                                                                           \
    T *C = (T *)c.base;                                                                                         \
    if (m == 1 && n == 1) {                                                                                     \
      int64_t inca = blas_inc(k, a.cs), incb = blas_inc(k, b.rs);                                               \
      T d;                                                                                                      \
      if (inca && incb) {                                                                                       \
        d = cblas_##P##dot((blasint)k, (const T *)a.base, (blasint)inca, (const T *)b.base, (blasint)incb);     \
      } else {                                                                                                  \
        const T *A = (const T *)a.base, *B = (const T *)b.base;                                                 \
        d = 0;                                                                                                  \
        for (int64_t p = 0; p < k; p++) d += A[p * a.cs] * B[p * b.rs];                                         \
      }                                                                                                         \
      *C = beta == 0 ? alpha * d : alpha * d + beta * *C;                                                       \
      return 0;                                                                                                 \
    }                                                                                                           \
    if (n == 1) /* a column: c = a @ (b's column) */                                                           \
      return gemv_##SUF(a, (const T *)b.base, b.rs, C, c.rs, alpha, beta, s);                                   \
    if (m == 1) /* a row: c' = b' @ (a's row)' */                                                              \
      return gemv_##SUF(transposed(b), (const T *)a.base, a.cs, C, c.cs, alpha, beta, s);                       \
    bool ta, tb;                                                                                                \
    int64_t lda, ldb;                                                                                           \
    if (!blas_layout(&a, &ta, &lda)) {                                                                          \
      T *buf = scratch_get(s, SCRATCH_A, (size_t)(m * k) * sizeof(T));                                          \
      if (!buf) return -1;                                                                                      \
      pack_##SUF(buf, a);                                                                                       \
      a = (mat){(char *)buf, m, k, k, 1};                                                                       \
      ta = false;                                                                                               \
      lda = k;                                                                                                  \
    }                                                                                                           \
    if (!blas_layout(&b, &tb, &ldb)) {                                                                          \
      T *buf = scratch_get(s, SCRATCH_B, (size_t)(k * n) * sizeof(T));                                          \
      if (!buf) return -1;                                                                                      \
      pack_##SUF(buf, b);                                                                                       \
      b = (mat){(char *)buf, k, n, n, 1};                                                                       \
      tb = false;                                                                                               \
      ldb = n;                                                                                                  \
    }                                                                                                           \
    int small = SMALL_PRODUCT_##SUF(ta, tb, m, n, k, alpha, (const T *)a.base, lda, (const T *)b.base, ldb,     \
                                    beta, C, ldc, s);                                                           \
    if (small) return small < 0 ? -1 : 0;                                                                       \
    if (fresh && beta == 0 && m * n * (int64_t)sizeof(T) >= STREAM_ZERO_BYTES) {                                \
      tn_cpu_stream_zero(C, m, (size_t)n * sizeof(T), (size_t)ldc * sizeof(T));                                 \
      beta = 1;                                                                                                 \
    }                                                                                                           \
    cblas_##P##gemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (blasint)m, \
                    (blasint)n, (blasint)k, alpha, (const T *)a.base, (blasint)lda, (const T *)b.base,          \
                    (blasint)ldb, beta, C, (blasint)ldc);                                                       \
    return 0;                                                                                                   \
  }

DEFINE_FLOAT_PRODUCT(f32, float, s)
DEFINE_FLOAT_PRODUCT(f64, double, d)

/* ---- integer types: a blocked kernel ---- */

/* Block sizes: a KC x NC block of the packed b (at most 256 KiB of uint64) stays in L2 while a block of rows
 * of a streams past it; the accumulator row segment (NC elements) stays in L1. */
enum { INT_MC = 16, INT_KC = 128, INT_NC = 256 };

/* T the element type, U the unsigned type products accumulate in (uint64_t for int64, uint32_t otherwise:
 * the low bits of a product do not depend on the higher ones, so narrow results wrap correctly). */
#define DEFINE_INT_PRODUCT(SUF, T, U)                                                                            \
  static int product_##SUF(mat a, mat b, mat c, double alpha_d, double beta_d, bool fresh, scratch *s) {        \
    (void)fresh; /* only BLAS zeroes c before adding to it */                                                 \
    int64_t m = c.rows, n = c.cols, k = a.cols;                                                                 \
    if (m == 0 || n == 0) return 0;                                                                             \
    U alpha = (U)(int64_t)alpha_d, beta = (U)(int64_t)beta_d;                                                   \
    T *C = (T *)c.base;                                                                                         \
    const T *A = (const T *)a.base, *B = (const T *)b.base;                                                     \
    U *bp = NULL, *acc = NULL;                                                                                  \
    if (k > 0 && alpha != 0) {                                                                                  \
      bp = scratch_get(s, SCRATCH_A, (size_t)(k * n) * sizeof(U));                                              \
      acc = scratch_get(s, SCRATCH_B, (size_t)(m * n) * sizeof(U));                                             \
      if (!bp || !acc) return -1;                                                                               \
      for (int64_t p = 0; p < k; p++)                                                                           \
        for (int64_t j = 0; j < n; j++) bp[p * n + j] = (U)B[p * b.rs + j * b.cs];                              \
      int64_t blocks = (m + INT_MC - 1) / INT_MC;                                                               \
      _Pragma("omp parallel for schedule(static) if (m * n * k >= 2 * PARALLEL_GRAIN && !omp_in_parallel())")   \
      for (int64_t ib = 0; ib < blocks; ib++) {                                                                 \
        int64_t i1 = (ib + 1) * INT_MC < m ? (ib + 1) * INT_MC : m;                                             \
        for (int64_t i = ib * INT_MC; i < i1; i++)                                                              \
          for (int64_t j = 0; j < n; j++) acc[i * n + j] = 0;                                                   \
        for (int64_t j0 = 0; j0 < n; j0 += INT_NC) {                                                            \
          int64_t nc = n - j0 < INT_NC ? n - j0 : INT_NC;                                                       \
          for (int64_t p0 = 0; p0 < k; p0 += INT_KC) {                                                          \
            int64_t p1 = k - p0 < INT_KC ? k : p0 + INT_KC;                                                     \
            for (int64_t i = ib * INT_MC; i < i1; i++) {                                                        \
              U *restrict row = acc + i * n + j0;                                                               \
              const T *ar = A + i * a.rs;                                                                       \
              int64_t p = p0;                                                                                   \
              for (; p + 4 <= p1; p += 4) {                                                                     \
                U a0 = (U)ar[p * a.cs], a1 = (U)ar[(p + 1) * a.cs], a2 = (U)ar[(p + 2) * a.cs],                 \
                  a3 = (U)ar[(p + 3) * a.cs];                                                                   \
                const U *restrict b0 = bp + p * n + j0, *restrict b1 = b0 + n, *restrict b2 = b1 + n,           \
                                  *restrict b3 = b2 + n;                                                        \
                for (int64_t j = 0; j < nc; j++) row[j] += a0 * b0[j] + a1 * b1[j] + a2 * b2[j] + a3 * b3[j];   \
              }                                                                                                 \
              for (; p < p1; p++) {                                                                             \
                U a0 = (U)ar[p * a.cs];                                                                         \
                const U *restrict b0 = bp + p * n + j0;                                                         \
                for (int64_t j = 0; j < nc; j++) row[j] += a0 * b0[j];                                          \
              }                                                                                                 \
            }                                                                                                   \
          }                                                                                                     \
        }                                                                                                       \
      }                                                                                                         \
    }                                                                                                           \
    for (int64_t i = 0; i < m; i++)                                                                             \
      for (int64_t j = 0; j < n; j++) {                                                                         \
        T *e = &C[i * c.rs + j * c.cs];                                                                         \
        U product = acc ? alpha * acc[i * n + j] : 0;                                                           \
        *e = (T)(beta == 0 ? product : product + beta * (U)*e);                                                 \
      }                                                                                                         \
    return 0;                                                                                                   \
  }

DEFINE_INT_PRODUCT(i64, int64_t, uint64_t)
DEFINE_INT_PRODUCT(i32, int32_t, uint32_t)
DEFINE_INT_PRODUCT(i16, int16_t, uint32_t)
DEFINE_INT_PRODUCT(i8, int8_t, uint32_t)
DEFINE_INT_PRODUCT(u8, uint8_t, uint32_t)

/* ---- splitting one product across threads ---- */

/* Threads for one m x n x k product: 1 below the grain, inside a parallel region, or for a single element. */
static int product_threads(int64_t m, int64_t n, int64_t k) {
  if (m <= 1 && n <= 1) return 1;
  return tn_parallel_threads(m * n * k, m == 1 || n == 1 ? GEMV_GRAIN : GEMM_GRAIN);
}

/* The grid of pm x pn tiles of an m x n result for at most `threads` threads: as many tiles as possible, each
 * reading as little as possible (a tile of r rows and c columns reads r + c rows and columns of a and b). */
static void choose_grid(int64_t m, int64_t n, int threads, int *pm, int *pn) {
  *pm = *pn = 1;
  double best = INFINITY;
  for (int p = 1; p <= threads && p <= m; p++)
    for (int q = threads / p; q >= 1; q--) {
      if (q > n) continue;
      double cost = (double)m / p + (double)n / q - 1e9 * p * q; /* more tiles first */
      if (cost < best) {
        best = cost;
        *pm = p;
        *pn = q;
      }
      break; /* the largest q for this p */
    }
}

/* Edge i of `parts` equal pieces of len, on a multiple of TILE_ALIGN where the pieces are large enough. */
static int64_t cut(int64_t len, int parts, int i) {
  if (i >= parts) return len;
  int64_t e = len * i / parts;
  return len >= (int64_t)TILE_ALIGN * 2 * parts ? e / TILE_ALIGN * TILE_ALIGN : e;
}

static mat rows_of(mat x, int64_t r0, int64_t r1, int64_t esize) {
  return (mat){x.base + r0 * x.rs * esize, r1 - r0, x.cols, x.rs, x.cs};
}
static mat cols_of(mat x, int64_t c0, int64_t c1, int64_t esize) {
  return (mat){x.base + c0 * x.cs * esize, x.rows, c1 - c0, x.rs, x.cs};
}

/* One product, on `threads` threads: each computes a tile of c (its rows of a, its columns of b). */
static int split_product(product_fn product, mat a, mat b, mat c, double alpha, double beta, bool fresh,
                         int threads, int64_t esize, scratch *s) {
  if (threads <= 1) return product(a, b, c, alpha, beta, fresh, s);
  int pm, pn;
  choose_grid(c.rows, c.cols, threads, &pm, &pn);
  int failed = 0;
#pragma omp parallel num_threads(pm * pn) reduction(| : failed)
  {
    scratch ts = {{NULL, NULL, NULL}, {0, 0, 0}};
    for (int tile = omp_get_thread_num(); tile < pm * pn; tile += omp_get_num_threads()) {
      int im = tile / pn, in = tile % pn;
      int64_t r0 = cut(c.rows, pm, im), r1 = cut(c.rows, pm, im + 1);
      int64_t c0 = cut(c.cols, pn, in), c1 = cut(c.cols, pn, in + 1);
      if (r1 > r0 && c1 > c0)
        failed |= product(rows_of(a, r0, r1, esize), cols_of(b, c0, c1, esize),
                          cols_of(rows_of(c, r0, r1, esize), c0, c1, esize), alpha, beta, fresh, &ts) != 0;
    }
    scratch_free(&ts);
  }
  return failed ? -1 : 0;
}

/* ---- the batch ---- */

static mat matrix_at(const tn_tensor *t, int64_t offset) {
  int nd = t->ndim;
  return (mat){(char *)t->storage->data + offset * tn_dtype_size(t->dtype), t->sizes[nd - 2], t->sizes[nd - 1],
               t->strides[nd - 2], t->strides[nd - 1]};
}

/* Every product of the batch. `splittable`: one product may be split into tiles (BLAS products; the integer
 * kernel parallelises inside). Products are split when each is large enough for all threads and the batch is
 * short; otherwise threads take whole products of the batch. */
static int run_batch(product_fn product, bool splittable, tn_tensor *c, const tn_tensor *a, const tn_tensor *b,
                     double alpha, double beta, int flags) {
  bool sum_batches = flags & TN_GEMM_SUM_BATCHES, fresh = flags & TN_GEMM_FRESH_RESULT;
  int nb = a->ndim - 2;
  int64_t count = 1;
  for (int d = 0; d < nb; d++) count *= a->sizes[d];
  int64_t m = a->sizes[nb], k = a->sizes[nb + 1], n = b->sizes[nb + 1], mnk = m * n * k;
  int64_t esize = tn_dtype_size(c->dtype);
  int cb = sum_batches ? 0 : nb; /* c's batch dims */
  int split = splittable ? product_threads(m, n, k) : 1, most = omp_in_parallel() ? 1 : omp_get_max_threads();
  scratch s = {{NULL, NULL, NULL}, {0, 0, 0}};
  int rc = 0;

  if (sum_batches && count == 0)
    return product(matrix_at(a, 0), matrix_at(b, 0), matrix_at(c, c->offset), 0, beta, fresh, &s);
  /* (OpenBLAS then zeroes a fresh c itself, on all its threads, rather than one thread streaming zeros) */
  bool lend = mnk >= LEND_MNK || ((m == 1 || n == 1) && mnk >= LEND_GEMV_ELEMENTS);
  if (splittable && count == 1 && split > 1 && lend && tn_blas_lend_threads()) {
    rc = product(matrix_at(a, tn_cpu_batch_offset(a, nb, 0)), matrix_at(b, tn_cpu_batch_offset(b, nb, 0)),
                 matrix_at(c, tn_cpu_batch_offset(c, cb, 0)), alpha, beta, false, &s);
    tn_blas_take_back_threads();
    scratch_free(&s);
    return rc;
  }
  int by_batch = sum_batches || (split >= most && count < 4 * most)
                     ? 1 : tn_parallel_threads(count * (mnk + m * n), PARALLEL_GRAIN);
  if (by_batch <= 1 || count < 2) {
    for (int64_t i = 0; i < count && rc == 0; i++)
      rc = split_product(product, matrix_at(a, tn_cpu_batch_offset(a, nb, i)), matrix_at(b, tn_cpu_batch_offset(b, nb, i)),
                         matrix_at(c, tn_cpu_batch_offset(c, cb, i)), alpha, sum_batches && i > 0 ? 1 : beta, fresh,
                         split, esize, &s);
    scratch_free(&s);
    return rc;
  }
  int failed = 0;
#pragma omp parallel num_threads(by_batch) reduction(| : failed)
  {
    scratch ts = {{NULL, NULL, NULL}, {0, 0, 0}};
    int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    for (int64_t i = count * t / nt; i < count * (t + 1) / nt && !failed; i++)
      failed |= product(matrix_at(a, tn_cpu_batch_offset(a, nb, i)), matrix_at(b, tn_cpu_batch_offset(b, nb, i)),
                        matrix_at(c, tn_cpu_batch_offset(c, cb, i)), alpha, beta, fresh, &ts) != 0;
    scratch_free(&ts);
  }
  return failed ? -1 : 0;
}

/* A float32 copy of t; dims t broadcasts (stride 0) stay broadcast instead of being materialised.
 * *owner receives the tensor to free; the returned header views it. */
static int to_float32(const tn_tensor *t, tn_tensor **owner, tn_tensor *view) {
  tn_tensor compact = *t;
  for (int d = 0; d < t->ndim; d++)
    if (t->strides[d] == 0) compact.sizes[d] = 1;
  compact.numel = tn_shape_numel(compact.ndim, compact.sizes);
  *owner = tn_to(&compact, TN_FLOAT32, TN_CPU, 0);
  if (!*owner) return -1;
  *view = **owner;
  for (int d = 0; d < t->ndim; d++) {
    view->sizes[d] = t->sizes[d];
    if (t->strides[d] == 0) view->strides[d] = 0;
  }
  view->numel = t->numel;
  return 0;
}

/* float16 and bfloat16: the product of float32 copies, rounded once into c. */
static int gemm_in_float32(tn_tensor *c, const tn_tensor *a, const tn_tensor *b, double alpha, double beta,
                           int flags) {
  tn_tensor *a_owner = NULL, *b_owner = NULL, *cf = NULL, av, bv;
  int rc = -1;
  if (to_float32(a, &a_owner, &av) || to_float32(b, &b_owner, &bv)) goto done;
  cf = tn_empty(c->ndim, c->sizes, TN_FLOAT32, TN_CPU, 0);
  if (!cf || (beta != 0 && tn_copy_(cf, c))) goto done;
  if (run_batch(product_f32, true, cf, &av, &bv, alpha, beta, flags | (beta == 0 ? TN_GEMM_FRESH_RESULT : 0)))
    goto done;
  rc = tn_copy_(c, cf);
done:
  tn_tensor_free(a_owner);
  tn_tensor_free(b_owner);
  tn_tensor_free(cf);
  return rc;
}

int tn_cpu_gemm(tn_tensor *c, const tn_tensor *a, const tn_tensor *b, double alpha, double beta, int flags) {
  switch (c->dtype) {
    case TN_FLOAT32: return run_batch(product_f32, true, c, a, b, alpha, beta, flags);
    case TN_FLOAT64: return run_batch(product_f64, true, c, a, b, alpha, beta, flags);
    case TN_FLOAT16:
    case TN_BFLOAT16: return gemm_in_float32(c, a, b, alpha, beta, flags);
    case TN_INT64: return run_batch(product_i64, false, c, a, b, alpha, beta, flags);
    case TN_INT32: return run_batch(product_i32, false, c, a, b, alpha, beta, flags);
    case TN_INT16: return run_batch(product_i16, false, c, a, b, alpha, beta, flags);
    case TN_INT8: return run_batch(product_i8, false, c, a, b, alpha, beta, flags);
    case TN_UINT8: return run_batch(product_u8, false, c, a, b, alpha, beta, flags);
    default: return tn_error("matmul: not supported for %s tensors", tn_dtype_name(c->dtype));
  }
}

/* ---- cblas_?gemm for the other kernels ---- */

/* A cblas-style matrix of `rows` x `cols` stored in `order` (transposed when trans), as a mat. */
static mat cblas_mat(int order, int trans, int64_t rows, int64_t cols, const void *p, int64_t ld) {
  bool row_major = (order == CblasRowMajor) != (trans != CblasNoTrans);
  return row_major ? (mat){(char *)p, rows, cols, ld, 1} : (mat){(char *)p, rows, cols, 1, ld};
}

#define DEFINE_CBLAS(SUF, T, P)                                                                                  \
  void tn_cpu_cblas_##P##gemm(int order, int ta, int tb, int m, int n, int k, T alpha, const T *a, int lda,      \
                              const T *b, int ldb, T beta, T *c, int ldc) {                                      \
    scratch s = {{NULL, NULL, NULL}, {0, 0, 0}};                                                                \
    /* operands in BLAS layouts are never copied: no allocation to fail */                                    \
    split_product(product_##SUF, cblas_mat(order, ta, m, k, a, lda), cblas_mat(order, tb, k, n, b, ldb),        \
                  cblas_mat(order, CblasNoTrans, m, n, c, ldc), alpha, beta, false, product_threads(m, n, k),   \
                  sizeof(T), &s);                                                                               \
    scratch_free(&s);                                                                                           \
  }
DEFINE_CBLAS(f32, float, s)
DEFINE_CBLAS(f64, double, d)
