/* linalg.c: torch.linalg's factorisations: inv, solve, det, slogdet, cholesky, qr, svd, eigh; the LU, triangular,
 * Cholesky and least-squares solvers (lu_factor, lu_solve, solve_triangular, cholesky_solve, lstsq) and the *_ex
 * forms that report failures in an info tensor instead of raising.
 *
 * The entry points check the input (float32/float64, at least 2 dims, square where needed), allocate the
 * results as batches of column-major matrices (PyTorch's layout, and the one LAPACK writes in place), call the
 * backend, and turn a failed matrix (singular, not positive-definite, no convergence) into an error naming the
 * op, the input's shape and, in a batch, which matrix failed (counted from 1). */
#include "../backend.h"
#include "../internal.h"

#include <stdio.h>

/* ---- checks ---- */

/* a holds float32/float64 matrices in its last two dims (square ones when `square`). */
static int check_matrices(const char *fn, const tn_tensor *a, bool square) {
  char s[TN_SHAPE_STR];
  if (!a) return tn_error("%s: expected a tensor, got NULL", fn);
  if (a->ndim < 2)
    return tn_error("%s: expected a matrix or a batch of matrices (at least 2 dimensions), got %s", fn,
                    tn_format_shape(s, sizeof s, a->ndim, a->sizes));
  if (a->dtype != TN_FLOAT32 && a->dtype != TN_FLOAT64)
    return tn_error("%s: expected float32 or float64 matrices, got %s (convert with :float() or :double())", fn,
                    tn_dtype_name(a->dtype));
  if (square && a->sizes[a->ndim - 1] != a->sizes[a->ndim - 2])
    return tn_error("%s: expected square matrices, got %s", fn, tn_format_shape(s, sizeof s, a->ndim, a->sizes));
  int64_t limit = INT32_MAX;
  if (a->sizes[a->ndim - 1] > limit || a->sizes[a->ndim - 2] > limit)
    return tn_error("%s: matrices of size %s are beyond LAPACK's 32-bit sizes", fn,
                    tn_format_shape(s, sizeof s, a->ndim, a->sizes));
  return 0;
}

/* "the input [3 x 3]" or "matrix 2 of the batch [4 x 3 x 3]" */
static const char *which(char *buf, size_t size, const tn_tensor *a, const tn_linalg_status *st) {
  char s[TN_SHAPE_STR];
  tn_format_shape(s, sizeof s, a->ndim, a->sizes);
  if (a->ndim == 2)
    snprintf(buf, size, "the input %s", s);
  else
    snprintf(buf, size, "matrix %lld of the batch %s", (long long)st->index + 1, s);
  return buf;
}

static int singular_error(const char *fn, const tn_tensor *a, const tn_linalg_status *st) {
  char w[TN_SHAPE_STR + 64];
  return tn_error("%s: %s is singular (U[%lld,%lld] of its LU factorisation is zero)", fn,
                  which(w, sizeof w, a, st), (long long)st->info, (long long)st->info);
}

/* ---- results ---- */

/* A new tensor of the given shape whose last two dims are column-major (the batch dims outermost). */
static tn_tensor *empty_colmajor(int ndim, const int64_t *sizes, const tn_tensor *like) {
  int64_t swapped[TN_MAX_DIMS];
  memcpy(swapped, sizes, sizeof(int64_t) * (size_t)ndim);
  swapped[ndim - 2] = sizes[ndim - 1];
  swapped[ndim - 1] = sizes[ndim - 2];
  tn_tensor *t = tn_empty(ndim, swapped, like->dtype, like->storage->device_type, like->storage->device_index);
  if (!t) return NULL;
  tn_tensor *r = tn_transpose(t, ndim - 2, ndim - 1);
  tn_tensor_free(t);
  return r;
}

/* The shape of a with its last two dims replaced by (rows, cols), or its last dim dropped when cols < 0. */
static int shape_with(const tn_tensor *a, int64_t rows, int64_t cols, int64_t *shape) {
  int nb = a->ndim - 2;
  memcpy(shape, a->sizes, sizeof(int64_t) * (size_t)nb);
  shape[nb] = rows;
  if (cols < 0) return nb + 1;
  shape[nb + 1] = cols;
  return nb + 2;
}

static tn_tensor *new_result(const tn_tensor *a, int64_t rows, int64_t cols) {
  int64_t shape[TN_MAX_DIMS];
  int nd = shape_with(a, rows, cols, shape);
  if (cols < 0) return tn_empty(nd, shape, a->dtype, a->storage->device_type, a->storage->device_index);
  return empty_colmajor(nd, shape, a);
}

/* Hands a computed result to the caller: r itself, or copied into out= (resized), r freed. */
static tn_tensor *deliver(const char *fn, tn_tensor *out, tn_tensor *r) {
  if (!r || !out) return r;
  tn_tensor *target = tn_prepare_out(fn, out, r->ndim, r->sizes, r->dtype, r);
  int rc = target ? tn_copy_(out, r) : -1;
  tn_tensor_free(r);
  return rc ? NULL : out;
}

/* a's backend, or NULL with an error when it has no kernel `op` (CUDA without cuSOLVER kernels) */
#define backend_for(fn, a, op) TN_WITH_KERNEL(fn, tn_backend_of(fn, a), op)

static bool batch_empty(const tn_tensor *a) {
  for (int d = 0; d < a->ndim - 2; d++)
    if (a->sizes[d] == 0) return true;
  return false;
}

/* ---- the ops ---- */

/* An int32 tensor of a's batch shape, zero-filled: the infos of the *_ex ops. */
static tn_tensor *new_infos(const tn_tensor *a) {
  tn_tensor *t = tn_empty(a->ndim - 2, a->sizes, TN_INT32, a->storage->device_type, a->storage->device_index);
  if (t && tn_fill_(t, 0)) {
    tn_tensor_free(t);
    return NULL;
  }
  return t;
}

/* inv, or inv_ex when infos: the matrices' LAPACK infos there instead of an error */
static tn_tensor *inverse(const char *fn, const tn_tensor *a, tn_tensor *infos) {
  if (check_matrices(fn, a, true)) return NULL;
  tn_backend *b = backend_for(fn, a, inv);
  tn_tensor *r = b ? new_result(a, a->sizes[a->ndim - 2], a->sizes[a->ndim - 1]) : NULL;
  if (!r) return NULL;
  tn_linalg_status st = {-1, 0, infos};
  if (r->numel > 0 && (b->inv(r, a, &st) || (st.index >= 0 && singular_error(fn, a, &st)))) {
    tn_tensor_free(r);
    return NULL;
  }
  return r;
}

tn_tensor *tn_linalg_inv(tn_tensor *out, const tn_tensor *a) {
  return deliver("linalg.inv", out, inverse("linalg.inv", a, NULL));
}

/* Hands an op's result and its infos to the caller (0), or frees both (-1). */
static int deliver_ex(tn_tensor *r, tn_tensor *infos, tn_tensor **result, tn_tensor **info) {
  if (!r) {
    tn_tensor_free(infos);
    return -1;
  }
  *result = r;
  *info = infos;
  return 0;
}

int tn_linalg_inv_ex(const tn_tensor *a, tn_tensor **inverse_out, tn_tensor **info) {
  const char *fn = "linalg.inv_ex";
  if (!inverse_out || !info) return tn_error("%s: expected two result pointers", fn);
  if (check_matrices(fn, a, true)) return -1;
  tn_tensor *infos = new_infos(a);
  return infos ? deliver_ex(inverse(fn, a, infos), infos, inverse_out, info) : -1;
}

/* The batch dims of a and b broadcast; a and b are then viewed with them (stride 0 where broadcast). */
static tn_tensor broadcast_batch(const tn_tensor *t, int nb, const int64_t *batch, int own) {
  tn_tensor h = *t;
  int tb = t->ndim - own;
  h.ndim = nb + own;
  for (int d = own - 1; d >= 0; d--) {
    h.sizes[nb + d] = t->sizes[tb + d];
    h.strides[nb + d] = t->strides[tb + d];
  }
  for (int d = 0; d < nb; d++) {
    int td = d - (nb - tb);
    h.sizes[d] = batch[d];
    h.strides[d] = td >= 0 && t->sizes[td] == batch[d] ? t->strides[td] : 0;
  }
  h.numel = tn_shape_numel(h.ndim, h.sizes);
  return h;
}

/* b (named what_b) beside a (what_a): present, of a's dtype, on a's device. */
static int check_operand(const char *fn, const tn_tensor *a, const tn_tensor *b, const char *what_a,
                         const char *what_b) {
  char da[32], db[32];
  if (!b) return tn_error("%s: expected a tensor for %s, got NULL", fn, what_b);
  if (b->dtype != a->dtype)
    return tn_error("%s: expected %s and %s of one dtype, got %s and %s", fn, what_a, what_b, tn_dtype_name(a->dtype),
                    tn_dtype_name(b->dtype));
  if (!tn_same_device(a, b))
    return tn_error("%s: expected %s and %s on one device, got %s and %s", fn, what_a, what_b,
                    tn_device_str(da, sizeof da, a), tn_device_str(db, sizeof db, b));
  return 0;
}

/* The two operands of a linear system A X = B (or X A = B): A [*, n, n] and B, viewed with their broadcast
 * batch shape (stride 0 where broadcast). bv is [*, n, k] in every case: B's transpose for X A = B (which is
 * A' X' = B'), B as a column when it is a vector (or a batch of vectors). av is A as given. */
typedef struct linear_system {
  tn_tensor av, bv;
  int nb;
  bool vector;
  int64_t batch[TN_MAX_DIMS];
} linear_system;

static void swap_last_two(tn_tensor *t) {
  int d = t->ndim - 2;
  int64_t s = t->sizes[d];
  t->sizes[d] = t->sizes[d + 1];
  t->sizes[d + 1] = s;
  s = t->strides[d];
  t->strides[d] = t->strides[d + 1];
  t->strides[d + 1] = s;
}

/* Checks and views A (named what_a) and B of a system; `vectors`: B may be a vector (as in linalg.solve). */
static int prepare_system(const char *fn, const tn_tensor *a, const tn_tensor *b, bool left, bool vectors,
                          const char *what_a, linear_system *s) {
  char sa[TN_SHAPE_STR], sb[TN_SHAPE_STR];
  if (check_matrices(fn, a, true) || check_operand(fn, a, b, what_a, "B")) return -1;
  int na = a->ndim;
  int64_t n = a->sizes[na - 1];
  /* B is a vector (or batch of vectors) when it has one dim less than A and A's shape without its last dim */
  bool vector = vectors && (b->ndim == 1 || (b->ndim == na - 1 &&
                                             !memcmp(b->sizes, a->sizes, sizeof(int64_t) * (size_t)(na - 1))));
  if (b->ndim < 1 || (!vector && b->ndim < 2) ||
      b->sizes[vector ? b->ndim - 1 : (left ? b->ndim - 2 : b->ndim - 1)] != n)
    return tn_error("%s: %s %s and B %s do not fit the equation %s", fn, what_a,
                    tn_format_shape(sa, sizeof sa, na, a->sizes), tn_format_shape(sb, sizeof sb, b->ndim, b->sizes),
                    left ? "A X = B" : "X A = B");
  int bown = vector ? 1 : 2;
  int nb = tn_broadcast_shapes(na - 2, a->sizes, b->ndim - bown, b->sizes, s->batch);
  if (nb < 0)
    return tn_error("%s: the batch dimensions of %s %s and B %s do not broadcast", fn, what_a,
                    tn_format_shape(sa, sizeof sa, na, a->sizes), tn_format_shape(sb, sizeof sb, b->ndim, b->sizes));
  s->nb = nb;
  s->vector = vector;
  s->av = broadcast_batch(a, nb, s->batch, 2);
  s->bv = broadcast_batch(b, nb, s->batch, bown);
  if (vector) { /* a column */
    s->bv.ndim = nb + 2;
    s->bv.sizes[nb + 1] = 1;
    s->bv.strides[nb + 1] = 1;
  } else if (!left) {
    swap_last_two(&s->bv);
  }
  return 0;
}

/* The result of a system from x (bv's shape, column-major): a vector again, or transposed back for X A = B. */
static tn_tensor *system_result(tn_tensor *x, const linear_system *s, bool left) {
  tn_tensor *r = x;
  if (s->vector) {
    r = tn_select(x, s->nb + 1, 0);
  } else if (!left) {
    r = tn_transpose(x, s->nb, s->nb + 1);
  }
  if (r != x) tn_tensor_free(x);
  return r;
}

tn_tensor *tn_linalg_solve(tn_tensor *out, const tn_tensor *a, const tn_tensor *b, int left) {
  const char *fn = "linalg.solve";
  linear_system s;
  if (prepare_system(fn, a, b, left, true, "A", &s)) return NULL;
  if (!left) swap_last_two(&s.av); /* X A = B  <=>  A' X' = B' */
  tn_backend *backend = backend_for(fn, a, solve);
  if (!backend) return NULL;
  tn_tensor *x = empty_colmajor(s.bv.ndim, s.bv.sizes, a);
  if (!x) return NULL;
  tn_linalg_status st = {-1, 0, NULL};
  if (x->numel > 0 && (backend->solve(x, &s.av, &s.bv, &st) || (st.index >= 0 && singular_error(fn, a, &st)))) {
    tn_tensor_free(x);
    return NULL;
  }
  return deliver(fn, out, system_result(x, &s, left));
}

/* det and slogdet: one value per matrix (1 for an empty matrix) */
static int determinants(const char *fn, const tn_tensor *a, tn_tensor **det, tn_tensor **sign, tn_tensor **logabs) {
  if (check_matrices(fn, a, true)) return -1;
  tn_backend *b = backend_for(fn, a, det);
  if (!b) return -1;
  tn_tensor **outs[3] = {det, sign, logabs};
  for (int i = 0; i < 3; i++)
    if (outs[i] && !(*outs[i] = tn_empty(a->ndim - 2, a->sizes, a->dtype, a->storage->device_type,
                                         a->storage->device_index))) {
      for (int j = 0; j < i; j++)
        if (outs[j]) tn_tensor_free(*outs[j]);
      return -1;
    }
  if (!batch_empty(a) && b->det(det ? *det : NULL, sign ? *sign : NULL, logabs ? *logabs : NULL, a)) {
    for (int i = 0; i < 3; i++)
      if (outs[i]) tn_tensor_free(*outs[i]);
    return -1;
  }
  return 0;
}

tn_tensor *tn_linalg_det(tn_tensor *out, const tn_tensor *a) {
  tn_tensor *det = NULL;
  if (determinants("linalg.det", a, &det, NULL, NULL)) return NULL;
  return deliver("linalg.det", out, det);
}

int tn_linalg_slogdet(const tn_tensor *a, tn_tensor **sign, tn_tensor **logabsdet) {
  if (!sign || !logabsdet) return tn_error("linalg.slogdet: expected two result pointers");
  return determinants("linalg.slogdet", a, NULL, sign, logabsdet);
}

/* cholesky, or cholesky_ex when infos */
static tn_tensor *cholesky(const char *fn, const tn_tensor *a, int upper, tn_tensor *infos) {
  if (check_matrices(fn, a, true)) return NULL;
  tn_backend *b = backend_for(fn, a, cholesky);
  tn_tensor *r = b ? new_result(a, a->sizes[a->ndim - 2], a->sizes[a->ndim - 1]) : NULL;
  if (!r) return NULL;
  tn_linalg_status st = {-1, 0, infos};
  int rc = r->numel > 0 ? b->cholesky(r, a, upper != 0, &st) : 0;
  if (rc == 0 && st.index >= 0) {
    char w[TN_SHAPE_STR + 64];
    rc = tn_error("%s: %s is not positive-definite (its leading minor of order %lld is not positive)", fn,
                  which(w, sizeof w, a, &st), (long long)st.info);
  }
  if (rc) {
    tn_tensor_free(r);
    return NULL;
  }
  return r;
}

tn_tensor *tn_linalg_cholesky(tn_tensor *out, const tn_tensor *a, int upper) {
  return deliver("linalg.cholesky", out, cholesky("linalg.cholesky", a, upper, NULL));
}

int tn_linalg_cholesky_ex(const tn_tensor *a, int upper, tn_tensor **l, tn_tensor **info) {
  const char *fn = "linalg.cholesky_ex";
  if (!l || !info) return tn_error("%s: expected two result pointers", fn);
  if (check_matrices(fn, a, true)) return -1;
  tn_tensor *infos = new_infos(a);
  return infos ? deliver_ex(cholesky(fn, a, upper, infos), infos, l, info) : -1;
}

int tn_linalg_qr(const tn_tensor *a, int mode, tn_tensor **q, tn_tensor **r) {
  const char *fn = "linalg.qr";
  if (check_matrices(fn, a, false)) return -1;
  if (mode < 0 || mode > 2) return tn_error("%s: mode must be 0 ('reduced'), 1 ('complete') or 2 ('r'), got %d", fn, mode);
  if (!q || !r) return tn_error("%s: expected two result pointers", fn);
  tn_backend *b = backend_for(fn, a, qr);
  if (!b) return -1;
  int64_t m = a->sizes[a->ndim - 2], n = a->sizes[a->ndim - 1], k = m < n ? m : n;
  int64_t zero = 0;
  *q = mode == 2 ? tn_empty(1, &zero, a->dtype, a->storage->device_type, a->storage->device_index)
                 : new_result(a, m, mode == 1 ? m : k);
  *r = *q ? new_result(a, mode == 1 ? m : k, n) : NULL;
  int rc = *r ? 0 : -1;
  if (rc == 0 && !batch_empty(a)) rc = b->qr(mode == 2 ? NULL : *q, *r, a);
  if (rc == 0) return 0;
  tn_tensor_free(*q);
  tn_tensor_free(*r);
  *q = *r = NULL;
  return -1;
}

static int convergence_error(const char *fn, const tn_tensor *a, const tn_linalg_status *st) {
  char w[TN_SHAPE_STR + 64];
  return tn_error("%s: the algorithm did not converge for %s (LAPACK info %lld)", fn, which(w, sizeof w, a, st),
                  (long long)st->info);
}

int tn_linalg_svd(const tn_tensor *a, int full_matrices, int compute_uv, tn_tensor **u, tn_tensor **s,
                  tn_tensor **vh) {
  const char *fn = "linalg.svd";
  if (check_matrices(fn, a, false)) return -1;
  if (!u || !s || !vh) return tn_error("%s: expected three result pointers", fn);
  tn_backend *b = backend_for(fn, a, svd);
  if (!b) return -1;
  int64_t m = a->sizes[a->ndim - 2], n = a->sizes[a->ndim - 1], k = m < n ? m : n, zero = 0;
  int dev = a->storage->device_type, index = a->storage->device_index;
  *u = compute_uv ? new_result(a, m, full_matrices ? m : k) : tn_empty(1, &zero, a->dtype, dev, index);
  *vh = compute_uv ? new_result(a, full_matrices ? n : k, n) : tn_empty(1, &zero, a->dtype, dev, index);
  *s = new_result(a, k, -1);
  tn_linalg_status st = {-1, 0, NULL};
  int rc = *u && *vh && *s ? 0 : -1;
  if (rc == 0 && !batch_empty(a)) rc = b->svd(compute_uv ? *u : NULL, *s, compute_uv ? *vh : NULL, a, &st);
  if (rc == 0 && st.index >= 0) rc = convergence_error(fn, a, &st);
  if (rc == 0) return 0;
  tn_tensor_free(*u);
  tn_tensor_free(*s);
  tn_tensor_free(*vh);
  *u = *s = *vh = NULL;
  return -1;
}

int tn_linalg_eigh(const tn_tensor *a, int upper, tn_tensor **eigenvalues, tn_tensor **eigenvectors) {
  const char *fn = "linalg.eigh";
  if (check_matrices(fn, a, true)) return -1;
  if (!eigenvalues) return tn_error("%s: expected a result pointer for the eigenvalues", fn);
  tn_backend *b = backend_for(fn, a, eigh);
  if (!b) return -1;
  int64_t n = a->sizes[a->ndim - 1];
  tn_tensor *w = new_result(a, n, -1), *v = eigenvectors ? new_result(a, n, n) : NULL;
  tn_linalg_status st = {-1, 0, NULL};
  int rc = w && (v || !eigenvectors) ? 0 : -1;
  if (rc == 0 && w->numel > 0) rc = b->eigh(w, v, a, upper != 0, &st);
  if (rc == 0 && st.index >= 0) rc = convergence_error(fn, a, &st);
  if (rc == 0) {
    *eigenvalues = w;
    if (eigenvectors) *eigenvectors = v;
    return 0;
  }
  tn_tensor_free(w);
  tn_tensor_free(v);
  return -1;
}

/* ---- the LU, triangular, Cholesky and least-squares solvers ---- */

/* A new tensor of the given shape and dtype on a's device. */
static tn_tensor *empty_on(const tn_tensor *a, int ndim, const int64_t *sizes, int dtype) {
  return tn_empty(ndim, sizes, dtype, a->storage->device_type, a->storage->device_index);
}

/* "matrix 2 of the batch [4 x 3]" or "the pivots [3]": where lu_permutation and lu_solve met a bad pivot */
static int pivot_error(const char *fn, const tn_tensor *pivots, int64_t nb, const tn_linalg_status *st,
                       int64_t limit) {
  char s[TN_SHAPE_STR];
  tn_format_shape(s, sizeof s, pivots->ndim, pivots->sizes);
  if (nb == 0)
    return tn_error("%s: pivot %lld of the pivots %s is outside 1..%lld (pass the pivots of linalg.lu_factor)", fn,
                    (long long)st->info, s, (long long)limit);
  return tn_error("%s: pivot %lld of row %lld of the pivots %s is outside 1..%lld (pass the pivots of "
                  "linalg.lu_factor)", fn, (long long)st->info, (long long)st->index + 1, s, (long long)limit);
}

int tn_linalg_lu_factor(const tn_tensor *a, int pivot, tn_tensor **lu, tn_tensor **pivots, tn_tensor **info) {
  const char *fn = info ? "linalg.lu_factor_ex" : "linalg.lu_factor";
  if (!lu || !pivots) return tn_error("%s: expected result pointers for LU and the pivots", fn);
  if (check_matrices(fn, a, false)) return -1;
  if (!pivot && a->storage->device_type == TN_CPU)
    return tn_error("%s: LU without pivoting is not available on the CPU (LAPACK's getrf always pivots), as in "
                    "PyTorch; use pivot=true, or CUDA tensors", fn);
  tn_backend *b = backend_for(fn, a, lu_factor);
  if (!b) return -1;
  int64_t m = a->sizes[a->ndim - 2], n = a->sizes[a->ndim - 1], k = m < n ? m : n, shape[TN_MAX_DIMS];
  int nd = shape_with(a, k, -1, shape);
  tn_tensor *l = new_result(a, m, n), *p = l ? empty_on(a, nd, shape, TN_INT32) : NULL;
  tn_tensor *infos = p && info ? new_infos(a) : NULL;
  tn_linalg_status st = {-1, 0, infos};
  int rc = p && (infos || !info) ? 0 : -1;
  if (rc == 0 && l->numel > 0) rc = b->lu_factor(l, p, a, pivot != 0, &st);
  if (rc == 0 && st.index >= 0) {
    char w[TN_SHAPE_STR + 64];
    rc = tn_error("%s: U[%lld,%lld] of the LU factorisation of %s is zero, and lu_solve would divide by it "
                  "(linalg.lu_factor_ex and linalg.lu factorise it without raising)", fn, (long long)st.info,
                  (long long)st.info, which(w, sizeof w, a, &st));
  }
  if (rc) {
    tn_tensor_free(l);
    tn_tensor_free(p);
    tn_tensor_free(infos);
    return -1;
  }
  *lu = l;
  *pivots = p;
  if (info) *info = infos;
  return 0;
}

/* pivots: int32 of `source` (lu_factor, ldl_factor), on the device of `like` (named what) when like is given */
static int check_pivots(const char *fn, const tn_tensor *pivots, const tn_tensor *like, const char *what,
                        const char *source) {
  char dp[32], dl[32];
  if (!pivots) return tn_error("%s: expected a tensor for the pivots, got NULL", fn);
  if (pivots->dtype != TN_INT32)
    return tn_error("%s: expected int32 pivots (as %s returns them), got %s", fn, source,
                    tn_dtype_name(pivots->dtype));
  if (pivots->ndim < 1) return tn_error("%s: expected pivots with at least 1 dimension, got a 0-d tensor", fn);
  if (!like) return 0;
  if (!tn_same_device(like, pivots))
    return tn_error("%s: expected %s and the pivots on one device, got %s and %s", fn, what,
                    tn_device_str(dl, sizeof dl, like), tn_device_str(dp, sizeof dp, pivots));
  if (pivots->ndim != like->ndim - 1 || memcmp(pivots->sizes, like->sizes, sizeof(int64_t) * (size_t)pivots->ndim)) {
    char sl[TN_SHAPE_STR], sp[TN_SHAPE_STR];
    return tn_error("%s: expected pivots of %s's shape without its last dim, got %s %s and pivots %s", fn, what, what,
                    tn_format_shape(sl, sizeof sl, like->ndim, like->sizes),
                    tn_format_shape(sp, sizeof sp, pivots->ndim, pivots->sizes));
  }
  return 0;
}

tn_tensor *tn_linalg_lu_permutation(const tn_tensor *pivots, int64_t m) {
  const char *fn = "lu_unpack";
  char s[TN_SHAPE_STR];
  if (check_pivots(fn, pivots, NULL, NULL, "linalg.lu_factor")) return NULL;
  int nd = pivots->ndim;
  int64_t k = pivots->sizes[nd - 1], shape[TN_MAX_DIMS];
  if (m < k || m > INT32_MAX)
    return tn_error_null("%s: the pivots %s do not fit matrices of %lld rows", fn,
                         tn_format_shape(s, sizeof s, nd, pivots->sizes), (long long)m);
  tn_backend *b = backend_for(fn, pivots, lu_permutation);
  if (!b) return NULL;
  memcpy(shape, pivots->sizes, sizeof(int64_t) * (size_t)nd);
  shape[nd - 1] = m;
  tn_tensor *perm = empty_on(pivots, nd, shape, TN_INT64);
  if (!perm) return NULL;
  tn_linalg_status st = {-1, 0, NULL};
  int rc = perm->numel > 0 ? b->lu_permutation(perm, pivots, &st) : 0;
  if (rc == 0 && st.index >= 0) rc = pivot_error(fn, pivots, nd - 1, &st, m);
  if (rc) {
    tn_tensor_free(perm);
    return NULL;
  }
  return perm;
}

tn_tensor *tn_linalg_lu_solve(tn_tensor *out, const tn_tensor *lu, const tn_tensor *pivots, const tn_tensor *b,
                              int left, int adjoint) {
  const char *fn = "linalg.lu_solve";
  linear_system s;
  if (prepare_system(fn, lu, b, left, false, "LU", &s) || check_pivots(fn, pivots, lu, "LU", "linalg.lu_factor"))
    return NULL;
  tn_backend *backend = backend_for(fn, lu, lu_solve);
  if (!backend) return NULL;
  tn_tensor pv = broadcast_batch(pivots, s.nb, s.batch, 1);
  tn_tensor *x = empty_colmajor(s.bv.ndim, s.bv.sizes, lu);
  if (!x) return NULL;
  tn_linalg_status st = {-1, 0, NULL};
  /* X A = B  <=>  A' X' = B', and X A' = B  <=>  A X' = B' */
  int rc = x->numel > 0 ? backend->lu_solve(x, &s.av, &pv, &s.bv, left ? adjoint != 0 : adjoint == 0, &st) : 0;
  if (rc == 0 && st.index >= 0) rc = pivot_error(fn, pivots, pivots->ndim - 1, &st, lu->sizes[lu->ndim - 1]);
  if (rc) {
    tn_tensor_free(x);
    return NULL;
  }
  return deliver(fn, out, system_result(x, &s, left));
}

tn_tensor *tn_linalg_solve_triangular(tn_tensor *out, const tn_tensor *a, const tn_tensor *b, int upper, int left,
                                      int unitriangular) {
  const char *fn = "linalg.solve_triangular";
  linear_system s;
  if (prepare_system(fn, a, b, left, false, "A", &s)) return NULL;
  if (!left) { /* X A = B  <=>  A' X' = B', A' triangular the other way */
    swap_last_two(&s.av);
    upper = !upper;
  }
  tn_backend *backend = backend_for(fn, a, solve_triangular);
  if (!backend) return NULL;
  tn_tensor *x = empty_colmajor(s.bv.ndim, s.bv.sizes, a);
  if (!x) return NULL;
  if (x->numel > 0 && backend->solve_triangular(x, &s.av, &s.bv, upper != 0, unitriangular != 0)) {
    tn_tensor_free(x);
    return NULL;
  }
  return deliver(fn, out, system_result(x, &s, left));
}

/* A = L L' (or U' U): two triangular solves, L Y = B then L' X = Y (U' Y = B then U X = Y), in x. */
tn_tensor *tn_linalg_cholesky_solve(tn_tensor *out, const tn_tensor *b, const tn_tensor *l, int upper) {
  const char *fn = "cholesky_solve";
  linear_system s;
  if (prepare_system(fn, l, b, true, false, "L", &s)) return NULL;
  tn_backend *backend = backend_for(fn, l, solve_triangular);
  if (!backend) return NULL;
  tn_tensor *x = empty_colmajor(s.bv.ndim, s.bv.sizes, l);
  if (!x) return NULL;
  tn_tensor lt = s.av;
  swap_last_two(&lt);
  const tn_tensor *first = upper ? &lt : &s.av, *second = upper ? &s.av : &lt;
  if (x->numel > 0 && (backend->solve_triangular(x, first, &s.bv, 0, 0) ||
                       backend->solve_triangular(x, second, x, 1, 0))) {
    tn_tensor_free(x);
    return NULL;
  }
  return deliver(fn, out, x);
}

int tn_linalg_solve_ex(const tn_tensor *a, const tn_tensor *b, int left, tn_tensor **x, tn_tensor **info) {
  const char *fn = "linalg.solve_ex";
  if (!x || !info) return tn_error("%s: expected two result pointers", fn);
  linear_system s;
  if (prepare_system(fn, a, b, left, true, "A", &s)) return -1;
  tn_backend *backend = backend_for(fn, a, lu_factor);
  if (!backend || !TN_WITH_KERNEL(fn, backend, lu_solve)) return -1;
  int64_t n = a->sizes[a->ndim - 1], shape[TN_MAX_DIMS];
  int nd = shape_with(a, n, -1, shape);
  tn_tensor *lu = new_result(a, n, n), *piv = lu ? empty_on(a, nd, shape, TN_INT32) : NULL;
  tn_tensor *infos = piv ? new_infos(a) : NULL, *r = infos ? empty_colmajor(s.bv.ndim, s.bv.sizes, a) : NULL;
  int rc = r ? 0 : -1;
  /* A's factorisation once (its infos have A's batch shape), then the solves over the broadcast batch */
  tn_linalg_status st = {-1, 0, infos};
  if (rc == 0 && lu->numel > 0) rc = backend->lu_factor(lu, piv, a, 1, &st);
  if (rc == 0 && r->numel > 0) {
    tn_tensor lv = broadcast_batch(lu, s.nb, s.batch, 2), pv = broadcast_batch(piv, s.nb, s.batch, 1);
    tn_linalg_status st2 = {-1, 0, NULL};
    rc = backend->lu_solve(r, &lv, &pv, &s.bv, !left, &st2);
  }
  tn_tensor_free(lu);
  tn_tensor_free(piv);
  if (rc) {
    tn_tensor_free(r);
    tn_tensor_free(infos);
    return -1;
  }
  return deliver_ex(system_result(r, &s, left), infos, x, info);
}

int tn_linalg_lstsq(const tn_tensor *a, const tn_tensor *b, int driver, double rcond, tn_tensor **x,
                    tn_tensor **rank, tn_tensor **singular_values) {
  const char *fn = "linalg.lstsq";
  char sa[TN_SHAPE_STR], sb[TN_SHAPE_STR];
  if (!x || !rank || !singular_values) return tn_error("%s: expected three result pointers", fn);
  if (check_matrices(fn, a, false) || check_operand(fn, a, b, "A", "B")) return -1;
  if (driver < TN_LSTSQ_GELS || driver > TN_LSTSQ_GELSS)
    return tn_error("%s: driver must be 0 (gels), 1 (gelsy), 2 (gelsd) or 3 (gelss), got %d", fn, driver);
  int na = a->ndim;
  int64_t m = a->sizes[na - 2], n = a->sizes[na - 1];
  /* B is a batch of vectors when it is A's shape without its last dim, else matrices with A's number of dims */
  bool vector = b->ndim == na - 1 && !memcmp(b->sizes, a->sizes, sizeof(int64_t) * (size_t)(na - 1));
  if ((!vector && b->ndim != na) || b->sizes[vector ? b->ndim - 1 : b->ndim - 2] != m)
    return tn_error("%s: A %s and B %s do not fit (B must be [*, %lld, k], or A's shape without its last dim)", fn,
                    tn_format_shape(sa, sizeof sa, na, a->sizes), tn_format_shape(sb, sizeof sb, b->ndim, b->sizes),
                    (long long)m);
  int64_t batch[TN_MAX_DIMS], shape[TN_MAX_DIMS];
  int bown = vector ? 1 : 2;
  int nb = tn_broadcast_shapes(na - 2, a->sizes, b->ndim - bown, b->sizes, batch);
  if (nb < 0)
    return tn_error("%s: the batch dimensions of A %s and B %s do not broadcast", fn,
                    tn_format_shape(sa, sizeof sa, na, a->sizes), tn_format_shape(sb, sizeof sb, b->ndim, b->sizes));
  tn_backend *backend = backend_for(fn, a, lstsq);
  if (!backend) return -1;
  tn_tensor av = broadcast_batch(a, nb, batch, 2), bv = broadcast_batch(b, nb, batch, bown);
  if (vector) {
    bv.ndim = nb + 2;
    bv.sizes[nb + 1] = 1;
    bv.strides[nb + 1] = 1;
  }
  int64_t k = bv.sizes[nb + 1], count = tn_shape_numel(nb, batch), zero = 0;
  memcpy(shape, batch, sizeof(int64_t) * (size_t)nb);
  shape[nb] = m > n ? m : n;
  shape[nb + 1] = k;
  tn_tensor *r = empty_colmajor(nb + 2, shape, a), *rk = NULL, *sv = NULL;
  rk = !r ? NULL : driver == TN_LSTSQ_GELS ? empty_on(a, 1, &zero, TN_INT64) : empty_on(a, nb, batch, TN_INT64);
  shape[nb] = m < n ? m : n;
  bool svd = driver == TN_LSTSQ_GELSD || driver == TN_LSTSQ_GELSS;
  sv = !rk ? NULL : svd ? empty_on(a, nb + 1, shape, a->dtype) : empty_on(a, 1, &zero, a->dtype);
  int rc = sv ? 0 : -1;
  tn_linalg_status st = {-1, 0, NULL};
  if (rc == 0 && count > 0)
    rc = backend->lstsq(r, driver == TN_LSTSQ_GELS ? NULL : rk, svd ? sv : NULL, &av, &bv, driver, rcond, &st);
  if (rc == 0 && st.index >= 0) {
    char w[TN_SHAPE_STR + 64];
    if (driver == TN_LSTSQ_GELS)
      rc = tn_error("%s: %s does not have full rank (element %lld of the diagonal of its triangular factor is "
                    "zero); use driver 'gelsy', 'gelsd' or 'gelss'", fn, which(w, sizeof w, a, &st),
                    (long long)st.info);
    else
      rc = convergence_error(fn, a, &st);
  }
  if (rc) {
    tn_tensor_free(r);
    tn_tensor_free(rk);
    tn_tensor_free(sv);
    return -1;
  }
  *x = r;
  *rank = rk;
  *singular_values = sv;
  return 0;
}

/* ---- Householder reflectors (geqrf, householder_product, ormqr) and LDL^T (ldl_factor, ldl_solve) ---- */

int tn_linalg_geqrf(const tn_tensor *a, tn_tensor **qr, tn_tensor **tau) {
  const char *fn = "geqrf";
  if (!qr || !tau) return tn_error("%s: expected two result pointers", fn);
  if (check_matrices(fn, a, false)) return -1;
  tn_backend *b = backend_for(fn, a, geqrf);
  if (!b) return -1;
  int64_t m = a->sizes[a->ndim - 2], n = a->sizes[a->ndim - 1];
  tn_tensor *r = new_result(a, m, n), *t = r ? new_result(a, m < n ? m : n, -1) : NULL;
  int rc = t ? 0 : -1;
  if (rc == 0 && r->numel > 0) rc = b->geqrf(r, t, a);
  if (rc) {
    tn_tensor_free(r);
    tn_tensor_free(t);
    return -1;
  }
  *qr = r;
  *tau = t;
  return 0;
}

/* tau (named what) has one dim less than a and a's batch dims: the reflectors' scalars of a */
static int check_tau(const char *fn, const tn_tensor *a, const tn_tensor *tau) {
  char sa[TN_SHAPE_STR], st[TN_SHAPE_STR];
  if (check_operand(fn, a, tau, "A", "tau")) return -1;
  if (tau->ndim != a->ndim - 1 || memcmp(tau->sizes, a->sizes, sizeof(int64_t) * (size_t)(a->ndim - 2)))
    return tn_error("%s: expected tau of A's batch shape with one dim of its own ([*, k] for A [*, m, n]), got A %s "
                    "and tau %s", fn, tn_format_shape(sa, sizeof sa, a->ndim, a->sizes),
                    tn_format_shape(st, sizeof st, tau->ndim, tau->sizes));
  if (tau->sizes[tau->ndim - 1] > a->sizes[a->ndim - 1])
    return tn_error("%s: tau %s has more elements than A %s has columns (%lld)", fn,
                    tn_format_shape(st, sizeof st, tau->ndim, tau->sizes),
                    tn_format_shape(sa, sizeof sa, a->ndim, a->sizes), (long long)a->sizes[a->ndim - 1]);
  return 0;
}

tn_tensor *tn_linalg_householder_product(tn_tensor *out, const tn_tensor *a, const tn_tensor *tau) {
  const char *fn = "linalg.householder_product";
  char sa[TN_SHAPE_STR];
  if (check_matrices(fn, a, false) || check_tau(fn, a, tau)) return NULL;
  int64_t m = a->sizes[a->ndim - 2], n = a->sizes[a->ndim - 1];
  if (m < n)
    return tn_error_null("%s: expected A with at least as many rows as columns, got %s", fn,
                         tn_format_shape(sa, sizeof sa, a->ndim, a->sizes));
  tn_backend *b = backend_for(fn, a, orgqr);
  tn_tensor *q = b ? new_result(a, m, n) : NULL;
  if (!q) return NULL;
  if (q->numel > 0 && b->orgqr(q, a, tau)) {
    tn_tensor_free(q);
    return NULL;
  }
  return deliver(fn, out, q);
}

tn_tensor *tn_linalg_ormqr(tn_tensor *out, const tn_tensor *a, const tn_tensor *tau, const tn_tensor *c, int left,
                           int transpose) {
  const char *fn = "ormqr";
  char sa[TN_SHAPE_STR], sc[TN_SHAPE_STR];
  if (check_matrices(fn, a, false) || check_tau(fn, a, tau) || check_operand(fn, a, c, "A", "C")) return NULL;
  int nd = a->ndim;
  if (c->ndim != nd || memcmp(c->sizes, a->sizes, sizeof(int64_t) * (size_t)(nd - 2)))
    return tn_error_null("%s: expected C with A's batch shape ([*, m, n] for A [*, mq, k]), got A %s and C %s", fn,
                         tn_format_shape(sa, sizeof sa, nd, a->sizes),
                         tn_format_shape(sc, sizeof sc, c->ndim, c->sizes));
  int64_t m = c->sizes[nd - 2], n = c->sizes[nd - 1], k = tau->sizes[nd - 2], mq = left ? m : n;
  const char *side = left ? "rows" : "columns";
  if (a->sizes[nd - 2] != mq)
    return tn_error_null("%s: A %s and C %s do not fit %s: A must have as many rows as C has %s (%lld)", fn,
                         tn_format_shape(sa, sizeof sa, nd, a->sizes), tn_format_shape(sc, sizeof sc, nd, c->sizes),
                         left ? "Q C" : "C Q", side, (long long)mq);
  if (k > mq)
    return tn_error_null("%s: tau has %lld reflectors, more than C %s has %s (%lld)", fn, (long long)k,
                         tn_format_shape(sc, sizeof sc, nd, c->sizes), side, (long long)mq);
  tn_backend *b = backend_for(fn, a, ormqr);
  tn_tensor *x = b ? new_result(a, m, n) : NULL;
  if (!x) return NULL;
  if (x->numel > 0 && b->ormqr(x, a, tau, c, left != 0, transpose != 0)) {
    tn_tensor_free(x);
    return NULL;
  }
  return deliver(fn, out, x);
}

int tn_linalg_ldl_factor(const tn_tensor *a, tn_tensor **ld, tn_tensor **pivots, tn_tensor **info) {
  const char *fn = info ? "linalg.ldl_factor_ex" : "linalg.ldl_factor";
  if (!ld || !pivots) return tn_error("%s: expected result pointers for LD and the pivots", fn);
  if (check_matrices(fn, a, true)) return -1;
  tn_backend *b = backend_for(fn, a, ldl_factor);
  if (!b) return -1;
  int64_t n = a->sizes[a->ndim - 1], shape[TN_MAX_DIMS];
  int nd = shape_with(a, n, -1, shape);
  tn_tensor *l = new_result(a, n, n), *p = l ? empty_on(a, nd, shape, TN_INT32) : NULL;
  tn_tensor *infos = p && info ? new_infos(a) : NULL;
  tn_linalg_status st = {-1, 0, infos};
  int rc = p && (infos || !info) ? 0 : -1;
  if (rc == 0 && l->numel > 0) rc = b->ldl_factor(l, p, a, &st);
  if (rc == 0 && st.index >= 0) {
    char w[TN_SHAPE_STR + 64];
    rc = tn_error("%s: D[%lld,%lld] of the LDL factorisation of %s is zero: the matrix is singular "
                  "(linalg.ldl_factor_ex factorises it without raising)", fn, (long long)st.info, (long long)st.info,
                  which(w, sizeof w, a, &st));
  }
  if (rc) {
    tn_tensor_free(l);
    tn_tensor_free(p);
    tn_tensor_free(infos);
    return -1;
  }
  *ld = l;
  *pivots = p;
  if (info) *info = infos;
  return 0;
}

/* The index in t's own batch (its dims before its last `own`, broadcast to s's batch) of matrix i of s's batch. */
static int64_t own_index(const tn_tensor *t, int own, const linear_system *s, int64_t i) {
  int tb = t->ndim - own;
  int64_t row = 0, scale = 1;
  for (int d = s->nb - 1; d >= 0; d--) {
    int64_t at = i % s->batch[d];
    i /= s->batch[d];
    int td = d - (s->nb - tb);
    if (td < 0) continue;
    row += (t->sizes[td] == 1 ? 0 : at) * scale;
    scale *= t->sizes[td];
  }
  return row;
}

tn_tensor *tn_linalg_ldl_solve(tn_tensor *out, const tn_tensor *ld, const tn_tensor *pivots, const tn_tensor *b) {
  const char *fn = "linalg.ldl_solve";
  linear_system s;
  if (prepare_system(fn, ld, b, true, false, "LD", &s) || check_pivots(fn, pivots, ld, "LD", "linalg.ldl_factor"))
    return NULL;
  tn_backend *backend = backend_for(fn, ld, ldl_solve);
  if (!backend) return NULL;
  tn_tensor pv = broadcast_batch(pivots, s.nb, s.batch, 1);
  tn_tensor *x = empty_colmajor(s.bv.ndim, s.bv.sizes, ld);
  if (!x) return NULL;
  tn_linalg_status st = {-1, 0, NULL};
  int rc = x->numel > 0 ? backend->ldl_solve(x, &s.av, &pv, &s.bv, &st) : 0;
  if (rc == 0 && st.index >= 0) {
    char where[64] = "", sp[TN_SHAPE_STR];
    if (pivots->ndim > 1)
      snprintf(where, sizeof where, " of row %lld", (long long)own_index(pivots, 1, &s, st.index) + 1);
    long long n = (long long)ld->sizes[ld->ndim - 1];
    rc = tn_error("%s: pivot %lld%s of the pivots %s is not one of linalg.ldl_factor's (each is in 1..%lld, or one "
                  "of an equal pair of negatives for a 2 x 2 block)", fn, (long long)st.info, where,
                  tn_format_shape(sp, sizeof sp, pivots->ndim, pivots->sizes), n);
  }
  if (rc) {
    tn_tensor_free(x);
    return NULL;
  }
  return deliver(fn, out, x);
}
