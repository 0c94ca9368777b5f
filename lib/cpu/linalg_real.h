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
void LAPACK(getrs_)(const char *trans, const blasint *n, const blasint *nrhs, const REAL *a, const blasint *lda,
                    const blasint *ipiv, REAL *b, const blasint *ldb, blasint *info, size_t trans_len);
void LAPACK(gels_)(const char *trans, const blasint *m, const blasint *n, const blasint *nrhs, REAL *a,
                   const blasint *lda, REAL *b, const blasint *ldb, REAL *work, const blasint *lwork, blasint *info,
                   size_t trans_len);
void LAPACK(gelsy_)(const blasint *m, const blasint *n, const blasint *nrhs, REAL *a, const blasint *lda, REAL *b,
                    const blasint *ldb, blasint *jpvt, const REAL *rcond, blasint *rank, REAL *work,
                    const blasint *lwork, blasint *info);
void LAPACK(gelsd_)(const blasint *m, const blasint *n, const blasint *nrhs, REAL *a, const blasint *lda, REAL *b,
                    const blasint *ldb, REAL *s, const REAL *rcond, blasint *rank, REAL *work, const blasint *lwork,
                    blasint *iwork, blasint *info);
void LAPACK(gelss_)(const blasint *m, const blasint *n, const blasint *nrhs, REAL *a, const blasint *lda, REAL *b,
                    const blasint *ldb, REAL *s, const REAL *rcond, blasint *rank, REAL *work, const blasint *lwork,
                    blasint *info);
void LAPACK(ormqr_)(const char *side, const char *trans, const blasint *m, const blasint *n, const blasint *k,
                    const REAL *a, const blasint *lda, const REAL *tau, REAL *c, const blasint *ldc, REAL *work,
                    const blasint *lwork, blasint *info, size_t side_len, size_t trans_len);
void LAPACK(sytrf_)(const char *uplo, const blasint *n, REAL *a, const blasint *lda, blasint *ipiv, REAL *work,
                    const blasint *lwork, blasint *info, size_t uplo_len);
void LAPACK(sytrs_)(const char *uplo, const blasint *n, const blasint *nrhs, const REAL *a, const blasint *lda,
                    const blasint *ipiv, REAL *b, const blasint *ldb, blasint *info, size_t uplo_len);
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

/* A failed matrix (info != 0): its info into st->infos when the caller wants every matrix's, else the first. */
static void FN(fail)(tn_linalg_status *st, int64_t index, blasint info) {
  if (st->infos) {
    ((int32_t *)tn_base(st->infos))[index] = (int32_t)info;
    return;
  }
  if (st->index >= 0) return;
  st->index = index;
  st->info = info;
}

/* rows x cols of dst (column-major, leading dimension ld) = value */
static void FN(fill)(REAL *dst, int64_t ld, int64_t rows, int64_t cols, REAL value) {
  for (int64_t j = 0; j < cols; j++)
    for (int64_t i = 0; i < rows; i++) dst[i + j * ld] = value;
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
    if (info != 0) {
      FN(fail)(st, i, info);
      FN(fill)(o, ld, n, n, (REAL)NAN); /* (inv_ex) no inverse, rather than a factorisation that looks like one */
    }
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

/* ---- the solvers ---- */

/* lu [*, m, n] and pivots (int32 [*, k], contiguous): getrf, which always pivots. */
static int FN(lu_factor)(tn_tensor *lu, tn_tensor *pivots, const tn_tensor *a, int pivot, tn_linalg_status *st) {
  if (!pivot)
    return tn_error("linalg.lu_factor: LU without pivoting is not available on the CPU (LAPACK's getrf always "
                    "pivots); use pivot=true, or CUDA tensors");
  int nd = a->ndim;
  blasint m = (blasint)a->sizes[nd - 2], n = (blasint)a->sizes[nd - 1], k = m < n ? m : n, ld = FN(ld_of)(lu);
  blasint info = 0;
  int64_t count = batch_count(a);
  blasint *ipiv = malloc(sizeof(blasint) * (size_t)max1(k));
  if (!ipiv) return tn_error("linalg.lu_factor: out of memory for LAPACK's workspace");
  int32_t *pv = (int32_t *)tn_base(pivots);
  for (int64_t i = 0; i < count; i++) {
    REAL *o = FN(matrix_at)(lu, i).p;
    FN(load)(o, ld, FN(matrix_at)(a, i), m, n);
    LAPACK(getrf_)(&m, &n, o, &ld, ipiv, &info);
    for (blasint j = 0; j < k; j++) pv[i * k + j] = (int32_t)ipiv[j];
    if (info > 0) FN(fail)(st, i, info); /* a zero pivot; the factorisation is complete */
  }
  free(ipiv);
  return 0;
}

/* x [*, n, k] = op(A)^-1 b (getrs) for A given by lu and pivots, after checking the pivots. */
static int FN(lu_solve)(tn_tensor *x, const tn_tensor *lu, const tn_tensor *pivots, const tn_tensor *b, int adjoint,
                        tn_linalg_status *st) {
  int nd = lu->ndim;
  blasint n = (blasint)lu->sizes[nd - 1], k = (blasint)x->sizes[nd - 1], ldx = FN(ld_of)(x), lda = n, info = 0;
  int64_t count = batch_count(x), ps = pivots->strides[nd - 2];
  REAL *w = malloc(sizeof(REAL) * (size_t)n * (size_t)n);
  blasint *ipiv = malloc(sizeof(blasint) * (size_t)n);
  int rc = w && ipiv ? 0 : tn_error("linalg.lu_solve: out of memory for LAPACK's workspace");
  for (int64_t i = 0; i < count && rc == 0 && st->index < 0; i++) {
    const int32_t *pv = (const int32_t *)pivots->storage->data + tn_cpu_batch_offset(pivots, nd - 2, i);
    for (blasint j = 0; j < n && st->index < 0; j++) {
      ipiv[j] = pv[j * ps];
      if (ipiv[j] < 1 || ipiv[j] > n) FN(fail)(st, i, j + 1);
    }
    if (st->index >= 0) break;
    REAL *o = FN(matrix_at)(x, i).p;
    FN(load)(w, lda, FN(matrix_at)(lu, i), n, n);
    FN(load)(o, ldx, FN(matrix_at)(b, i), n, k);
    LAPACK(getrs_)(adjoint ? "T" : "N", &n, &k, w, &lda, ipiv, o, &ldx, &info, 1);
  }
  free(w);
  free(ipiv);
  return rc;
}

/* x [*, n, k] = A^-1 b for the triangle of a (trsm); x may be b itself. */
static int FN(solve_triangular)(tn_tensor *x, const tn_tensor *a, const tn_tensor *b, int upper, int unit) {
  int nd = a->ndim;
  blasint n = (blasint)a->sizes[nd - 1], k = (blasint)x->sizes[nd - 1], ldx = FN(ld_of)(x);
  int64_t count = batch_count(x);
  REAL *w = malloc(sizeof(REAL) * (size_t)n * (size_t)n);
  if (!w) return tn_error("linalg.solve_triangular: out of memory for a copy of the matrix");
  for (int64_t i = 0; i < count; i++) {
    REAL *o = FN(matrix_at)(x, i).p;
    FN(load)(w, n, FN(matrix_at)(a, i), n, n);
    if (b != x) FN(load)(o, ldx, FN(matrix_at)(b, i), n, k);
    CBLAS(trsm)(CblasColMajor, CblasLeft, upper ? CblasUpper : CblasLower, CblasNoTrans,
                unit ? CblasUnit : CblasNonUnit, n, k, 1, w, n, o, ldx);
  }
  free(w);
  return 0;
}

/* The least-squares solutions through gels, gelsy, gelsd or gelss (see lib/backend.h). */
static int FN(lstsq)(tn_tensor *x, tn_tensor *rank, tn_tensor *s, const tn_tensor *a, const tn_tensor *b, int driver,
                     double rcond, tn_linalg_status *st) {
  int nd = a->ndim;
  blasint m = (blasint)a->sizes[nd - 2], n = (blasint)a->sizes[nd - 1], nrhs = (blasint)x->sizes[nd - 1];
  blasint big = m > n ? m : n, lda = m > 1 ? m : 1, ldb = big > 1 ? big : 1, info = 0, r = 0, lwork = -1, iq = 1;
  int64_t count = batch_count(x);
  REAL rc = (REAL)rcond, query = 0;
  /* nothing to factorise: the solution (the zero rows past m) is zero, the residual vectors are B's */
  bool empty = m == 0 || n == 0;
  if (!empty) {
    switch (driver) {
    case TN_LSTSQ_GELS: LAPACK(gels_)("N", &m, &n, &nrhs, NULL, &lda, NULL, &ldb, &query, &lwork, &info, 1); break;
    case TN_LSTSQ_GELSY:
      LAPACK(gelsy_)(&m, &n, &nrhs, NULL, &lda, NULL, &ldb, NULL, &rc, &r, &query, &lwork, &info);
      break;
    case TN_LSTSQ_GELSD:
      LAPACK(gelsd_)(&m, &n, &nrhs, NULL, &lda, NULL, &ldb, NULL, &rc, &r, &query, &lwork, &iq, &info);
      break;
    default: LAPACK(gelss_)(&m, &n, &nrhs, NULL, &lda, NULL, &ldb, NULL, &rc, &r, &query, &lwork, &info); break;
    }
  }
  lwork = FN(lwork_of)(query);
  REAL *w = malloc(sizeof(REAL) * ((size_t)lda * (size_t)n + (size_t)lwork));
  blasint *iwork = malloc(sizeof(blasint) * (size_t)max1(iq > n ? iq : n)); /* gelsd's iwork, gelsy's jpvt */
  int result = w && iwork ? 0 : tn_error("linalg.lstsq: out of memory for LAPACK's workspace");
  REAL *work = w + (size_t)lda * (size_t)n;
  for (int64_t i = 0; i < count && result == 0 && st->index < 0; i++) {
    REAL *o = FN(matrix_at)(x, i).p, *sv = s ? FN(vector_at)(s, i) : NULL;
    blasint ldx = FN(ld_of)(x);
    FN(load)(o, ldx, FN(matrix_at)(b, i), m, nrhs);
    FN(fill)(o + m, ldx, big - m, nrhs, 0);
    r = 0;
    if (!empty) {
      FN(load)(w, lda, FN(matrix_at)(a, i), m, n);
      switch (driver) {
      case TN_LSTSQ_GELS: LAPACK(gels_)("N", &m, &n, &nrhs, w, &lda, o, &ldx, work, &lwork, &info, 1); break;
      case TN_LSTSQ_GELSY:
        for (blasint j = 0; j < n; j++) iwork[j] = 0; /* every column free to move */
        LAPACK(gelsy_)(&m, &n, &nrhs, w, &lda, o, &ldx, iwork, &rc, &r, work, &lwork, &info);
        break;
      case TN_LSTSQ_GELSD:
        LAPACK(gelsd_)(&m, &n, &nrhs, w, &lda, o, &ldx, sv, &rc, &r, work, &lwork, iwork, &info);
        break;
      default: LAPACK(gelss_)(&m, &n, &nrhs, w, &lda, o, &ldx, sv, &rc, &r, work, &lwork, &info); break;
      }
      if (info > 0) FN(fail)(st, i, info);
    }
    if (rank) ((int64_t *)tn_base(rank))[i] = r;
  }
  free(w);
  free(iwork);
  return result;
}

/* ---- Householder products and LDL^T ---- */

/* dst[0..k) = vector i of the batch of t ([*, k], any strides) */
static void FN(load_vector)(REAL *dst, const tn_tensor *t, int64_t i, int64_t k) {
  int nb = t->ndim - 1;
  const REAL *src = (const REAL *)t->storage->data + tn_cpu_batch_offset(t, nb, i);
  for (int64_t j = 0; j < k; j++) dst[j] = src[j * t->strides[nb]];
}

/* qr [*, m, n] and tau [*, k]: geqrf in the result. */
static int FN(geqrf)(tn_tensor *qr, tn_tensor *tau, const tn_tensor *a) {
  int nd = a->ndim;
  blasint m = (blasint)a->sizes[nd - 2], n = (blasint)a->sizes[nd - 1], ld = FN(ld_of)(qr), info = 0, lwork = -1;
  int64_t count = batch_count(a);
  REAL query = 0;
  LAPACK(geqrf_)(&m, &n, NULL, &ld, NULL, &query, &lwork, &info);
  lwork = FN(lwork_of)(query);
  REAL *work = malloc(sizeof(REAL) * (size_t)lwork);
  if (!work) return tn_error("geqrf: out of memory for LAPACK's workspace");
  for (int64_t i = 0; i < count; i++) {
    REAL *o = FN(matrix_at)(qr, i).p;
    FN(load)(o, ld, FN(matrix_at)(a, i), m, n);
    LAPACK(geqrf_)(&m, &n, o, &ld, FN(vector_at)(tau, i), work, &lwork, &info);
  }
  free(work);
  return 0;
}

/* q [*, m, n] = the first n columns of the product of the k reflectors of a and tau (orgqr in the result). */
static int FN(orgqr)(tn_tensor *q, const tn_tensor *a, const tn_tensor *tau) {
  int nd = a->ndim;
  blasint m = (blasint)a->sizes[nd - 2], n = (blasint)a->sizes[nd - 1], k = (blasint)tau->sizes[nd - 2];
  blasint ld = FN(ld_of)(q), info = 0, lwork = -1;
  int64_t count = batch_count(q);
  REAL query = 0;
  LAPACK(orgqr_)(&m, &n, &k, NULL, &ld, NULL, &query, &lwork, &info);
  lwork = FN(lwork_of)(query);
  REAL *w = malloc(sizeof(REAL) * ((size_t)lwork + (size_t)max1(k)));
  if (!w) return tn_error("linalg.householder_product: out of memory for LAPACK's workspace");
  REAL *t = w + lwork;
  for (int64_t i = 0; i < count; i++) {
    REAL *o = FN(matrix_at)(q, i).p;
    FN(load)(o, ld, FN(matrix_at)(a, i), m, n);
    FN(load_vector)(t, tau, i, k);
    LAPACK(orgqr_)(&m, &n, &k, o, &ld, t, w, &lwork, &info);
  }
  free(w);
  return 0;
}

/* x [*, m, n] = op(Q) c or c op(Q) (ormqr in the result), Q of the first k reflectors of a and tau: they are
 * copied column-major (mq x k) first, as a may have any strides. */
static int FN(ormqr)(tn_tensor *x, const tn_tensor *a, const tn_tensor *tau, const tn_tensor *c, int left,
                     int transpose) {
  int nd = x->ndim;
  blasint m = (blasint)x->sizes[nd - 2], n = (blasint)x->sizes[nd - 1], k = (blasint)tau->sizes[nd - 2];
  blasint mq = left ? m : n, lda = mq > 1 ? mq : 1, ldx = FN(ld_of)(x), info = 0, lwork = -1;
  const char *side = left ? "L" : "R", *trans = transpose ? "T" : "N";
  int64_t count = batch_count(x);
  REAL query = 0;
  bool empty = m == 0 || n == 0 || k == 0; /* Q is the identity, or nothing to multiply */
  if (!empty) LAPACK(ormqr_)(side, trans, &m, &n, &k, NULL, &lda, NULL, NULL, &ldx, &query, &lwork, &info, 1, 1);
  lwork = FN(lwork_of)(query);
  REAL *w = malloc(sizeof(REAL) * ((size_t)lwork + (size_t)lda * (size_t)k + (size_t)max1(k)));
  if (!w) return tn_error("ormqr: out of memory for LAPACK's workspace");
  REAL *v = w + lwork, *t = v + (size_t)lda * (size_t)k;
  for (int64_t i = 0; i < count; i++) {
    REAL *o = FN(matrix_at)(x, i).p;
    FN(load)(o, ldx, FN(matrix_at)(c, i), m, n);
    if (empty) continue;
    FN(load)(v, lda, FN(matrix_at)(a, i), mq, k);
    FN(load_vector)(t, tau, i, k);
    LAPACK(ormqr_)(side, trans, &m, &n, &k, v, &lda, t, o, &ldx, w, &lwork, &info, 1, 1);
  }
  free(w);
  return 0;
}

/* ld [*, n, n] and pivots (int32 [*, n], contiguous): sytrf of the lower triangle, the upper one zeroed. */
static int FN(ldl_factor)(tn_tensor *ld, tn_tensor *pivots, const tn_tensor *a, tn_linalg_status *st) {
  blasint n = (blasint)a->sizes[a->ndim - 1], lda = FN(ld_of)(ld), info = 0, lwork = -1;
  int64_t count = batch_count(a);
  REAL query = 0;
  LAPACK(sytrf_)("L", &n, NULL, &lda, NULL, &query, &lwork, &info, 1);
  lwork = FN(lwork_of)(query);
  REAL *work = malloc(sizeof(REAL) * (size_t)lwork);
  blasint *ipiv = malloc(sizeof(blasint) * (size_t)max1(n));
  int rc = work && ipiv ? 0 : tn_error("linalg.ldl_factor: out of memory for LAPACK's workspace");
  int32_t *pv = (int32_t *)tn_base(pivots);
  for (int64_t i = 0; i < count && rc == 0; i++) {
    REAL *o = FN(matrix_at)(ld, i).p;
    FN(load)(o, lda, FN(matrix_at)(a, i), n, n);
    LAPACK(sytrf_)("L", &n, o, &lda, ipiv, work, &lwork, &info, 1);
    for (blasint j = 0; j < n; j++) pv[i * n + j] = (int32_t)ipiv[j];
    for (blasint j = 1; j < n; j++)
      for (blasint r = 0; r < j; r++) o[r + j * lda] = 0;
    if (info > 0) FN(fail)(st, i, info); /* D has a zero block; the factorisation is complete */
  }
  free(work);
  free(ipiv);
  return rc;
}

/* x [*, n, k] = A^-1 b (sytrs) for A = L D L^T given by ld and pivots, after checking the pivots. */
static int FN(ldl_solve)(tn_tensor *x, const tn_tensor *ld, const tn_tensor *pivots, const tn_tensor *b,
                         tn_linalg_status *st) {
  int nd = ld->ndim;
  blasint n = (blasint)ld->sizes[nd - 1], k = (blasint)x->sizes[nd - 1], ldx = FN(ld_of)(x), lda = n, info = 0;
  int64_t count = batch_count(x), ps = pivots->strides[nd - 2];
  REAL *w = malloc(sizeof(REAL) * (size_t)n * (size_t)n);
  blasint *ipiv = malloc(sizeof(blasint) * (size_t)n);
  int rc = w && ipiv ? 0 : tn_error("linalg.ldl_solve: out of memory for LAPACK's workspace");
  for (int64_t i = 0; i < count && rc == 0; i++) {
    const int32_t *pv = (const int32_t *)pivots->storage->data + tn_cpu_batch_offset(pivots, nd - 2, i);
    int64_t bad = bad_ldl_pivot(pv, ps, n);
    if (bad) {
      FN(fail)(st, i, (blasint)bad);
      break;
    }
    for (blasint j = 0; j < n; j++) ipiv[j] = pv[j * ps];
    REAL *o = FN(matrix_at)(x, i).p;
    FN(load)(w, lda, FN(matrix_at)(ld, i), n, n);
    FN(load)(o, ldx, FN(matrix_at)(b, i), n, k);
    LAPACK(sytrs_)("L", &n, &k, w, &lda, ipiv, o, &ldx, &info, 1);
  }
  free(w);
  free(ipiv);
  return rc;
}
