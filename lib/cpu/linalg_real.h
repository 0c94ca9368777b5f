/* linalg_real.h: the CPU factorisations for one real type, included by linalg.c once per type with
 *   REAL       the element type (float, double)
 *   LAPACK(x)  the LAPACK routine of that type (s##x, d##x)
 *   FN(x)      this file's function names for that type (x##_f32, x##_f64)
 *
 * Every routine copies each input matrix into a column-major buffer (the output itself where the output holds
 * the factorisation) and calls LAPACK there, so LAPACK sees the matrix as it is, whatever its strides. */

/* The Fortran routines (OpenBLAS's LAPACK), with gfortran's hidden lengths of character arguments. */
void LAPACK(getrf_)(const blasint *m, const blasint *n, REAL *a, const blasint *lda, blasint *ipiv, blasint *info);
void LAPACK(getri_)(const blasint *n, REAL *a, const blasint *lda, const blasint *ipiv, REAL *work,
                    const blasint *lwork, blasint *info);
void LAPACK(gesv_)(const blasint *n, const blasint *nrhs, REAL *a, const blasint *lda, blasint *ipiv, REAL *b,
                   const blasint *ldb, blasint *info);
void LAPACK(potrf_)(const char *uplo, const blasint *n, REAL *a, const blasint *lda, blasint *info, size_t uplo_len);
void LAPACK(geqrf_)(const blasint *m, const blasint *n, REAL *a, const blasint *lda, REAL *tau, REAL *work,
                    const blasint *lwork, blasint *info);
void LAPACK(orgqr_)(const blasint *m, const blasint *n, const blasint *k, REAL *a, const blasint *lda,
                    const REAL *tau, REAL *work, const blasint *lwork, blasint *info);
void LAPACK(gesdd_)(const char *jobz, const blasint *m, const blasint *n, REAL *a, const blasint *lda, REAL *s,
                    REAL *u, const blasint *ldu, REAL *vt, const blasint *ldvt, REAL *work, const blasint *lwork,
                    blasint *iwork, blasint *info, size_t jobz_len);
void LAPACK(syevd_)(const char *jobz, const char *uplo, const blasint *n, REAL *a, const blasint *lda, REAL *w,
                    REAL *work, const blasint *lwork, blasint *iwork, const blasint *liwork, blasint *info,
                    size_t jobz_len, size_t uplo_len);

/* ---- moving matrices ---- */

/* Matrix i of the batch of t: its first element and strides. */
typedef struct FN(matrix) {
  REAL *p;
  int64_t rs, cs;
} FN(matrix);

static FN(matrix) FN(matrix_at)(const tn_tensor *t, int64_t i) {
  int nb = t->ndim - 2;
  FN(matrix) m = {(REAL *)t->storage->data + tn_cpu_batch_offset(t, nb, i), t->strides[nb], t->strides[nb + 1]};
  return m;
}

/* Vector i of the batch of a contiguous [*, n] tensor. */
static REAL *FN(vector_at)(const tn_tensor *t, int64_t i) {
  return (REAL *)t->storage->data + t->offset + i * t->sizes[t->ndim - 1];
}

/* The column-major leading dimension of a column-major output matrix. */
static blasint FN(ld_of)(const tn_tensor *t) { return (blasint)max1(t->strides[t->ndim - 1]); }

/* dst (column-major, leading dimension ld) = the rows x cols matrix src */
static void FN(load)(REAL *dst, int64_t ld, FN(matrix) src, int64_t rows, int64_t cols) {
  for (int64_t j = 0; j < cols; j++)
    for (int64_t i = 0; i < rows; i++) dst[i + j * ld] = src.p[i * src.rs + j * src.cs];
}

/* dst (column-major, leading dimension ld) = the identity, rows x cols */
static void FN(identity)(REAL *dst, int64_t ld, int64_t rows, int64_t cols) {
  for (int64_t j = 0; j < cols; j++)
    for (int64_t i = 0; i < rows; i++) dst[i + j * ld] = i == j;
}

/* The optimal workspace size a LAPACK query returned (at least 1). */
static blasint FN(lwork_of)(REAL query) { return query > 1 ? (blasint)query : 1; }

static void FN(fail)(tn_linalg_status *st, int64_t index, blasint info) {
  st->index = index;
  st->info = info;
}

/* ---- the factorisations ---- */

static int FN(inv)(tn_tensor *out, const tn_tensor *a, tn_linalg_status *st) {
  blasint n = (blasint)a->sizes[a->ndim - 1], ld = FN(ld_of)(out), info = 0, lwork = -1;
  int64_t count = batch_count(a);
  REAL query = 0;
  LAPACK(getri_)(&n, NULL, &ld, NULL, &query, &lwork, &info);
  lwork = FN(lwork_of)(query);
  REAL *work = malloc(sizeof(REAL) * (size_t)lwork);
  blasint *ipiv = malloc(sizeof(blasint) * (size_t)n);
  int rc = work && ipiv ? 0 : tn_error("linalg.inv: out of memory for LAPACK's workspace");
  for (int64_t i = 0; i < count && rc == 0 && st->index < 0; i++) {
    REAL *o = FN(matrix_at)(out, i).p;
    FN(load)(o, ld, FN(matrix_at)(a, i), n, n);
    LAPACK(getrf_)(&n, &n, o, &ld, ipiv, &info);
    if (info == 0) LAPACK(getri_)(&n, o, &ld, ipiv, work, &lwork, &info);
    if (info != 0) FN(fail)(st, i, info);
  }
  free(work);
  free(ipiv);
  return rc;
}

static int FN(solve)(tn_tensor *x, const tn_tensor *a, const tn_tensor *b, tn_linalg_status *st) {
  blasint n = (blasint)a->sizes[a->ndim - 1], k = (blasint)b->sizes[b->ndim - 1], ldx = FN(ld_of)(x), info = 0;
  blasint lda = n > 1 ? n : 1;
  int64_t count = batch_count(a);
  REAL *lu = malloc(sizeof(REAL) * (size_t)lda * (size_t)n);
  blasint *ipiv = malloc(sizeof(blasint) * (size_t)n);
  int rc = lu && ipiv ? 0 : tn_error("linalg.solve: out of memory for LAPACK's workspace");
  for (int64_t i = 0; i < count && rc == 0 && st->index < 0; i++) {
    REAL *o = FN(matrix_at)(x, i).p;
    FN(load)(lu, lda, FN(matrix_at)(a, i), n, n);
    FN(load)(o, ldx, FN(matrix_at)(b, i), n, k);
    LAPACK(gesv_)(&n, &k, lu, &lda, ipiv, o, &ldx, &info);
    if (info != 0) FN(fail)(st, i, info);
  }
  free(lu);
  free(ipiv);
  return rc;
}

/* det, or sign and logabsdet (slogdet): from the LU factorisation, whose pivots each swap two rows. */
static int FN(det)(tn_tensor *det, tn_tensor *sign, tn_tensor *logabsdet, const tn_tensor *a) {
  blasint n = (blasint)a->sizes[a->ndim - 1], lda = n > 1 ? n : 1, info = 0;
  int64_t count = batch_count(a);
  REAL *lu = malloc(sizeof(REAL) * (size_t)lda * (size_t)n);
  blasint *ipiv = malloc(sizeof(blasint) * (size_t)n);
  int rc = lu && ipiv ? 0 : tn_error("linalg.det: out of memory for LAPACK's workspace");
  for (int64_t i = 0; i < count && rc == 0; i++) {
    FN(load)(lu, lda, FN(matrix_at)(a, i), n, n);
    LAPACK(getrf_)(&n, &n, lu, &lda, ipiv, &info); /* info > 0: an exact zero pivot, the determinant is 0 */
    REAL product = 1, log_sum = 0;
    bool swaps_odd = false, negatives_odd = false, zero = false;
    for (blasint j = 0; j < n; j++) {
      REAL u = lu[j + j * lda];
      swaps_odd ^= ipiv[j] != j + 1;
      negatives_odd ^= u < 0;
      zero |= u == 0;
      product *= u;
      log_sum += (REAL)log(fabs((double)u));
    }
    if (swaps_odd) product = -product;
    REAL signum = zero ? 0 : swaps_odd != negatives_odd ? -1 : 1;
    if (det) ((REAL *)det->storage->data + det->offset)[i] = product;
    if (sign) ((REAL *)sign->storage->data + sign->offset)[i] = signum;
    if (logabsdet) ((REAL *)logabsdet->storage->data + logabsdet->offset)[i] = log_sum;
  }
  free(lu);
  free(ipiv);
  return rc;
}

static int FN(cholesky)(tn_tensor *out, const tn_tensor *a, int upper, tn_linalg_status *st) {
  blasint n = (blasint)a->sizes[a->ndim - 1], ld = FN(ld_of)(out), info = 0;
  int64_t count = batch_count(a);
  for (int64_t i = 0; i < count && st->index < 0; i++) {
    REAL *o = FN(matrix_at)(out, i).p;
    FN(load)(o, ld, FN(matrix_at)(a, i), n, n);
    LAPACK(potrf_)(upper ? "U" : "L", &n, o, &ld, &info, 1);
    if (info != 0) FN(fail)(st, i, info);
    for (blasint j = 0; j < n; j++) /* clear the triangle LAPACK leaves as it was */
      for (blasint r = 0; r < n; r++)
        if (upper ? r > j : r < j) o[r + j * ld] = 0;
  }
  return 0;
}

/* q [*, m, qc] (NULL for mode 'r'), r [*, rr, n]: Householder QR, then Q formed from the reflectors. */
static int FN(qr)(tn_tensor *q, tn_tensor *r, const tn_tensor *a) {
  int nd = a->ndim;
  blasint m = (blasint)a->sizes[nd - 2], n = (blasint)a->sizes[nd - 1], k = m < n ? m : n;
  blasint qc = q ? (blasint)q->sizes[nd - 1] : 0, rr = (blasint)r->sizes[nd - 2], ldr = FN(ld_of)(r);
  blasint wc = n > qc ? n : qc, ldw = m > 1 ? m : 1, info = 0, lwork = -1;
  int64_t count = batch_count(a);
  REAL query[2] = {0, 0};
  if (k > 0) {
    LAPACK(geqrf_)(&m, &n, NULL, &ldw, NULL, &query[0], &lwork, &info);
    if (q) LAPACK(orgqr_)(&m, &qc, &k, NULL, &ldw, NULL, &query[1], &lwork, &info);
  }
  lwork = FN(lwork_of)(query[0] > query[1] ? query[0] : query[1]);
  REAL *w = malloc(sizeof(REAL) * ((size_t)ldw * (size_t)wc + (size_t)k + (size_t)lwork));
  if (!w) return tn_error("linalg.qr: out of memory for LAPACK's workspace");
  REAL *tau = w + (size_t)ldw * (size_t)wc, *work = tau + k;
  for (int64_t i = 0; i < count; i++) {
    REAL *ro = FN(matrix_at)(r, i).p;
    if (k == 0) { /* an empty factorisation: R is zeros, Q (complete) the identity */
      for (blasint j = 0; j < n; j++)
        for (blasint row = 0; row < rr; row++) ro[row + j * ldr] = 0;
      if (q) FN(identity)(FN(matrix_at)(q, i).p, FN(ld_of)(q), m, qc);
      continue;
    }
    FN(load)(w, ldw, FN(matrix_at)(a, i), m, n);
    LAPACK(geqrf_)(&m, &n, w, &ldw, tau, work, &lwork, &info);
    for (blasint j = 0; j < n; j++)
      for (blasint row = 0; row < rr; row++) ro[row + j * ldr] = row <= j ? w[row + j * ldw] : 0;
    if (!q) continue;
    LAPACK(orgqr_)(&m, &qc, &k, w, &ldw, tau, work, &lwork, &info);
    REAL *qo = FN(matrix_at)(q, i).p;
    blasint ldq = FN(ld_of)(q);
    for (blasint j = 0; j < qc; j++)
      for (blasint row = 0; row < m; row++) qo[row + j * ldq] = w[row + j * ldw];
  }
  free(w);
  return 0;
}

/* s [*, k]; u [*, m, uc] and vh [*, vr, n] (both NULL for singular values only), written by gesdd in place. */
static int FN(svd)(tn_tensor *u, tn_tensor *s, tn_tensor *vh, const tn_tensor *a, tn_linalg_status *st) {
  int nd = a->ndim;
  blasint m = (blasint)a->sizes[nd - 2], n = (blasint)a->sizes[nd - 1], k = m < n ? m : n;
  blasint uc = u ? (blasint)u->sizes[nd - 1] : 0, vr = vh ? (blasint)vh->sizes[nd - 2] : 0;
  const char *jobz = !u ? "N" : uc == k && vr == k ? "S" : "A";
  blasint lda = m > 1 ? m : 1, ldu = u ? FN(ld_of)(u) : 1, ldvt = vh ? FN(ld_of)(vh) : 1, info = 0, lwork = -1;
  int64_t count = batch_count(a);
  REAL query = 0, dummy = 0;
  if (k > 0) LAPACK(gesdd_)(jobz, &m, &n, NULL, &lda, NULL, NULL, &ldu, NULL, &ldvt, &query, &lwork, NULL, &info, 1);
  lwork = FN(lwork_of)(query);
  REAL *w = malloc(sizeof(REAL) * ((size_t)lda * (size_t)n + (size_t)lwork));
  blasint *iwork = malloc(sizeof(blasint) * (8 * (size_t)k + 1));
  int rc = w && iwork ? 0 : tn_error("linalg.svd: out of memory for LAPACK's workspace");
  for (int64_t i = 0; i < count && rc == 0 && st->index < 0; i++) {
    REAL *uo = u ? FN(matrix_at)(u, i).p : &dummy, *vo = vh ? FN(matrix_at)(vh, i).p : &dummy;
    if (k == 0) { /* no singular values; full U and Vh are identities */
      if (u) FN(identity)(uo, ldu, m, uc);
      if (vh) FN(identity)(vo, ldvt, vr, n);
      continue;
    }
    FN(load)(w, lda, FN(matrix_at)(a, i), m, n);
    LAPACK(gesdd_)(jobz, &m, &n, w, &lda, FN(vector_at)(s, i), uo, &ldu, vo, &ldvt, w + (size_t)lda * (size_t)n,
                   &lwork, iwork, &info, 1);
    if (info != 0) FN(fail)(st, i, info);
  }
  free(w);
  free(iwork);
  return rc;
}

/* w [*, n] ascending eigenvalues; v [*, n, n] the eigenvectors as columns (NULL: eigenvalues only). */
static int FN(eigh)(tn_tensor *w, tn_tensor *v, const tn_tensor *a, int upper, tn_linalg_status *st) {
  blasint n = (blasint)a->sizes[a->ndim - 1], ld = v ? FN(ld_of)(v) : (n > 1 ? n : 1), info = 0;
  blasint lwork = -1, liwork = -1, iquery = 0;
  const char *jobz = v ? "V" : "N", *uplo = upper ? "U" : "L";
  int64_t count = batch_count(a);
  REAL query = 0;
  LAPACK(syevd_)(jobz, uplo, &n, NULL, &ld, NULL, &query, &lwork, &iquery, &liwork, &info, 1, 1);
  lwork = FN(lwork_of)(query);
  liwork = iquery > 1 ? iquery : 1;
  REAL *work = malloc(sizeof(REAL) * ((size_t)lwork + (v ? 0 : (size_t)ld * (size_t)n)));
  blasint *iwork = malloc(sizeof(blasint) * (size_t)liwork);
  int rc = work && iwork ? 0 : tn_error("linalg.eigh: out of memory for LAPACK's workspace");
  for (int64_t i = 0; i < count && rc == 0 && st->index < 0; i++) {
    REAL *o = v ? FN(matrix_at)(v, i).p : work + lwork;
    FN(load)(o, ld, FN(matrix_at)(a, i), n, n);
    LAPACK(syevd_)(jobz, uplo, &n, o, &ld, FN(vector_at)(w, i), work, &lwork, iwork, &liwork, &info, 1, 1);
    if (info != 0) FN(fail)(st, i, info);
  }
  free(work);
  free(iwork);
  return rc;
}
