/* sgemm_avx512.c: float32 matrix products of the sizes small networks run, C = alpha * A @ B + beta * C, with
 * AVX-512 register blocking.
 *
 * At these sizes OpenBLAS spends much of its time outside its kernel: it zeroes C before a beta = 0 product
 * and packs both operands. Here at most B is packed, one panel of 32 columns at a time (the transpose of a
 * K-contiguous B is taken 16 x 16 in registers); A is read in place, one broadcast per element; C is written
 * once, with alpha and beta applied as it is stored.
 *
 * The kernel keeps a 12 x 32 block of C in 24 registers: per step of k, 2 loads of B, 12 broadcasts of A and
 * 24 FMAs. That is fewer loads per FMA than an 8 x 32 block (2-10% faster, interleaved in one process; 6 x 64
 * did as well), which matters on this core: its FMAs alone reach 155-250 GFLOP/s (the VM's clock varies), and
 * every mix with loads ran at 100-150. B is the heavier stream (two 64-byte vectors per step of k against
 * twelve 4-byte scalars of A), so each packed panel stays in L1 while all of A's row blocks go past it: 5-25%
 * faster than keeping A's rows in L1 and streaming B's panels from L2. Sums run over k in order, so results
 * differ from BLAS's only in rounding. */
#include "cpu.h"

/* Where this beat OpenBLAS on the development machine (interleaved runs of each shape): from 16 x 32 x 32 up to
 * 2^24 multiply-adds (256 x 256 x 256 included: 351 against 385 us into a fresh C, 5-10% ahead into a warm
 * one), except where OpenBLAS's own small-matrix kernels take over (at most 10^6 multiply-adds with B not
 * transposed). Above, its cache blocking wins on some shapes (2048 x 256 x 256: 8%) and ties on others. */
bool tn_cpu_sgemm_small_fits(bool tb, int64_t m, int64_t n, int64_t k) {
#ifdef __AVX512F__
  int64_t mnk = m * n * k;
  return m >= 16 && n >= 32 && k >= 32 && mnk <= (1 << 24) && (tb ? mnk >= (1 << 16) : mnk > 1000000);
#else
  (void)tb, (void)m, (void)n, (void)k;
  return false;
#endif
}

#ifdef __AVX512F__
#include <immintrin.h>
#include <string.h>

enum { MR = 12, NR = 32 };

/* The first `count` lanes of a vector (none for count <= 0, all from 16 on): a panel of `cols` columns has the
 * masks low_mask(cols) and low_mask(cols - 16). */
static inline __mmask16 low_mask(int64_t count) {
  return count <= 0 ? 0 : count >= 16 ? 0xffff : (__mmask16)((1u << count) - 1);
}

/* dst[k * NR + j] = B[k][j0 + j] for j < cols (zeros past the last column); B not transposed: row k at
 * b + k * ldb. */
static void pack_rows(float *dst, const float *b, int64_t ldb, int64_t k, int64_t j0, int64_t cols) {
  __mmask16 m0 = low_mask(cols), m1 = low_mask(cols - 16);
  if (cols == NR) {
    for (int64_t p = 0; p < k; p++) {
      const float *row = b + p * ldb + j0;
      _mm512_store_ps(dst + p * NR, _mm512_loadu_ps(row));
      _mm512_store_ps(dst + p * NR + 16, _mm512_loadu_ps(row + 16));
    }
    return;
  }
  for (int64_t p = 0; p < k; p++) {
    const float *row = b + p * ldb + j0;
    _mm512_store_ps(dst + p * NR, _mm512_maskz_loadu_ps(m0, row));
    _mm512_store_ps(dst + p * NR + 16, _mm512_maskz_loadu_ps(m1, row + 16));
  }
}

/* The 16 x 16 transpose of r[0..15] in registers: pairs of rows interleave (ps), then pairs of pairs (pd), which
 * leaves s[4g + e] holding rows 4g..4g+3 of columns e, 4 + e, 8 + e, 12 + e in its four 128-bit lanes; the
 * lanes then go through a 4 x 4 transpose of their own (shuffle_f32x4). */
static inline void transpose16(__m512 r[16]) {
  __m512 t[16], s[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
#define PD(x) _mm512_castps_pd(x)
  for (int g = 0; g < 4; g++) {
    __m512 *q = t + 4 * g;
    s[4 * g + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(PD(q[0]), PD(q[2])));
    s[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(PD(q[0]), PD(q[2])));
    s[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(PD(q[1]), PD(q[3])));
    s[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(PD(q[1]), PD(q[3])));
  }
#undef PD
  for (int e = 0; e < 4; e++) {
    __m512 u0 = _mm512_shuffle_f32x4(s[e], s[4 + e], 0x44), u1 = _mm512_shuffle_f32x4(s[e], s[4 + e], 0xee);
    __m512 u2 = _mm512_shuffle_f32x4(s[8 + e], s[12 + e], 0x44), u3 = _mm512_shuffle_f32x4(s[8 + e], s[12 + e], 0xee);
    r[e] = _mm512_shuffle_f32x4(u0, u2, 0x88);
    r[4 + e] = _mm512_shuffle_f32x4(u0, u2, 0xdd);
    r[8 + e] = _mm512_shuffle_f32x4(u1, u3, 0x88);
    r[12 + e] = _mm512_shuffle_f32x4(u1, u3, 0xdd);
  }
}

/* The same panel from a transposed B: column j of the panel is row j0 + j of bt (bt[j * ldb + p] = B[p][j]). */
static void pack_transposed(float *dst, const float *bt, int64_t ldb, int64_t k, int64_t j0, int64_t cols) {
  for (int64_t half = 0; half < 2; half++) {
    int64_t c0 = half * 16, n = cols - c0 < 0 ? 0 : cols - c0 > 16 ? 16 : cols - c0;
    for (int64_t p = 0; p < k; p += 16) {
      int64_t depth = k - p < 16 ? k - p : 16;
      __mmask16 km = low_mask(depth);
      __m512 r[16];
      for (int64_t j = 0; j < 16; j++)
        r[j] = j < n ? _mm512_maskz_loadu_ps(km, bt + (j0 + c0 + j) * ldb + p) : _mm512_setzero_ps();
      transpose16(r);
      for (int64_t q = 0; q < depth; q++) _mm512_store_ps(dst + (p + q) * NR + c0, r[q]);
    }
  }
}

/* C[0..rows) x [0..32) (masked by m0, m1) = alpha * A-block @ panel + beta * C, the panel's rows ldp apart.
 * A's element (i, p) is at a[i * ars + p * acs]. `rows` is a constant after inlining, which keeps the
 * accumulators in registers. */
static inline __attribute__((always_inline)) void kernel(int rows, const float *a, int64_t ars, int64_t acs,
                                                         const float *panel, int64_t ldp, int64_t k, float *c,
                                                         int64_t ldc, __mmask16 m0, __mmask16 m1, float alpha,
                                                         float beta) {
  __m512 acc0[MR], acc1[MR];
  for (int i = 0; i < rows; i++) acc0[i] = acc1[i] = _mm512_setzero_ps();
  for (int64_t p = 0; p < k; p++) {
    __m512 b0 = _mm512_loadu_ps(panel + p * ldp), b1 = _mm512_loadu_ps(panel + p * ldp + 16);
    const float *ap = a + p * acs;
    for (int i = 0; i < rows; i++) {
      __m512 av = _mm512_set1_ps(ap[i * ars]);
      acc0[i] = _mm512_fmadd_ps(av, b0, acc0[i]);
      acc1[i] = _mm512_fmadd_ps(av, b1, acc1[i]);
    }
  }
  __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  for (int i = 0; i < rows; i++) {
    float *ci = c + i * ldc;
    __m512 r0 = alpha == 1 ? acc0[i] : _mm512_mul_ps(acc0[i], va);
    __m512 r1 = alpha == 1 ? acc1[i] : _mm512_mul_ps(acc1[i], va);
    if (beta != 0) {
      __m512 c0 = _mm512_maskz_loadu_ps(m0, ci), c1 = _mm512_maskz_loadu_ps(m1, ci + 16);
      r0 = beta == 1 ? _mm512_add_ps(c0, r0) : _mm512_fmadd_ps(c0, vb, r0);
      r1 = beta == 1 ? _mm512_add_ps(c1, r1) : _mm512_fmadd_ps(c1, vb, r1);
    }
    _mm512_mask_storeu_ps(ci, m0, r0);
    _mm512_mask_storeu_ps(ci + 16, m1, r1);
  }
}

static void row_block(int rows, const float *a, int64_t ars, int64_t acs, const float *panel, int64_t ldp, int64_t k,
                      float *c, int64_t ldc, __mmask16 m0, __mmask16 m1, float alpha, float beta) {
  switch (rows) {
#define ROWS(R) \
  case R: kernel(R, a, ars, acs, panel, ldp, k, c, ldc, m0, m1, alpha, beta); break;
    ROWS(1) ROWS(2) ROWS(3) ROWS(4) ROWS(5) ROWS(6) ROWS(7) ROWS(8) ROWS(9) ROWS(10) ROWS(11) ROWS(12)
#undef ROWS
  }
}

size_t tn_cpu_sgemm_small_scratch(int64_t k) { return (size_t)NR * k * sizeof(float); }

void tn_cpu_sgemm_small(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                        int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc,
                        float *packed) {
  int64_t ars = ta ? 1 : lda, acs = ta ? lda : 1;
  for (int64_t j0 = 0; j0 < n; j0 += NR) {
    int64_t cols = n - j0 < NR ? n - j0 : NR;
    /* A full panel of a row-major B is read where it lies (rows ldb apart) when few row blocks will use it: for
     * 64 rows, packing cost more than it saved (+7% in place for 64 x 256 x 256); for 256 it paid (-5%). */
    const float *panel = packed;
    int64_t ldp = NR;
    if (tb)
      pack_transposed(packed, b, ldb, k, j0, cols);
    else if (cols == NR && m < 128)
      panel = b + j0, ldp = ldb;
    else
      pack_rows(packed, b, ldb, k, j0, cols);
    __mmask16 m0 = low_mask(cols), m1 = low_mask(cols - 16);
    for (int64_t i0 = 0; i0 < m; i0 += MR) {
      int rows = (int)(m - i0 < MR ? m - i0 : MR);
      /* The next block of C, fetched for writing while this one computes: a fresh result (a:mm(b), a layer's
       * output) is cold memory, and each row block's stores otherwise stall on it. 256 x 256 x 256 into C
       * cycling through 64 MB: 351 us with this against 385 without (OpenBLAS, which zeroes C first: 385; with C
       * warm: 356). */
      for (int64_t i = i0 + MR; i < i0 + 2 * MR && i < m; i++) {
        __builtin_prefetch(c + i * ldc + j0, 1, 3);
        __builtin_prefetch(c + i * ldc + j0 + 16, 1, 3);
      }
      row_block(rows, a + i0 * ars, ars, acs, panel, ldp, k, c + i0 * ldc + j0, ldc, m0, m1, alpha, beta);
    }
  }
}
#endif
