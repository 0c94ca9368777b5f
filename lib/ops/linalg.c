/* linalg.c: torch.linalg's factorisations: inv, solve, det, slogdet, cholesky, qr, svd, eigh.
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

tn_tensor *tn_linalg_inv(tn_tensor *out, const tn_tensor *a) {
  const char *fn = "linalg.inv";
  if (check_matrices(fn, a, true)) return NULL;
  tn_backend *b = backend_for(fn, a, inv);
  tn_tensor *r = b ? new_result(a, a->sizes[a->ndim - 2], a->sizes[a->ndim - 1]) : NULL;
  if (!r) return NULL;
  tn_linalg_status st = {-1, 0};
  if (r->numel > 0 && (b->inv(r, a, &st) || (st.index >= 0 && singular_error(fn, a, &st)))) {
    tn_tensor_free(r);
    return NULL;
  }
  return deliver(fn, out, r);
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

tn_tensor *tn_linalg_solve(tn_tensor *out, const tn_tensor *a, const tn_tensor *b, int left) {
  const char *fn = "linalg.solve";
  char sa[TN_SHAPE_STR], sb[TN_SHAPE_STR];
  if (check_matrices(fn, a, true)) return NULL;
  if (!b) return tn_error_null("%s: expected a tensor for B, got NULL", fn);
  if (b->dtype != a->dtype)
    return tn_error_null("%s: expected A and B of one dtype, got %s and %s", fn, tn_dtype_name(a->dtype),
                         tn_dtype_name(b->dtype));
  if (b->storage->device_type != a->storage->device_type || b->storage->device_index != a->storage->device_index)
    return tn_error_null("%s: expected A and B on one device", fn);
  int na = a->ndim;
  int64_t n = a->sizes[na - 1];
  /* B is a vector (or batch of vectors) when it has one dim less than A and A's shape without its last dim */
  bool vector = b->ndim == 1 || (b->ndim == na - 1 && !memcmp(b->sizes, a->sizes, sizeof(int64_t) * (size_t)(na - 1)));
  if (b->ndim < 1 || (!vector && b->ndim < 2) || b->sizes[vector ? b->ndim - 1 : (left ? b->ndim - 2 : b->ndim - 1)] != n)
    return tn_error_null("%s: A %s and B %s do not fit the equation %s", fn, tn_format_shape(sa, sizeof sa, na, a->sizes),
                         tn_format_shape(sb, sizeof sb, b->ndim, b->sizes), left ? "A X = B" : "X A = B");
  int64_t batch[TN_MAX_DIMS];
  int bown = vector ? 1 : 2;
  int nb = tn_broadcast_shapes(na - 2, a->sizes, b->ndim - bown, b->sizes, batch);
  if (nb < 0)
    return tn_error_null("%s: the batch dimensions of A %s and B %s do not broadcast", fn,
                         tn_format_shape(sa, sizeof sa, na, a->sizes), tn_format_shape(sb, sizeof sb, b->ndim, b->sizes));
  tn_tensor av = broadcast_batch(a, nb, batch, 2), bv = broadcast_batch(b, nb, batch, bown);
  if (!left) { /* X A = B  <=>  A' X' = B' */
    int64_t s = av.strides[nb];
    av.strides[nb] = av.strides[nb + 1];
    av.strides[nb + 1] = s;
    if (!vector) {
      int64_t t = bv.sizes[nb];
      bv.sizes[nb] = bv.sizes[nb + 1];
      bv.sizes[nb + 1] = t;
      t = bv.strides[nb];
      bv.strides[nb] = bv.strides[nb + 1];
      bv.strides[nb + 1] = t;
    }
  }
  if (vector) { /* a column */
    bv.ndim = nb + 2;
    bv.sizes[nb + 1] = 1;
    bv.strides[nb + 1] = 1;
  }
  tn_backend *backend = backend_for(fn, a, solve);
  if (!backend) return NULL;
  tn_tensor *x = empty_colmajor(bv.ndim, bv.sizes, a);
  if (!x) return NULL;
  tn_linalg_status st = {-1, 0};
  if (x->numel > 0 && (backend->solve(x, &av, &bv, &st) || (st.index >= 0 && singular_error(fn, a, &st)))) {
    tn_tensor_free(x);
    return NULL;
  }
  tn_tensor *r = x;
  if (vector) {
    r = tn_select(x, nb + 1, 0);
  } else if (!left) {
    r = tn_transpose(x, nb, nb + 1);
  }
  if (r != x) tn_tensor_free(x);
  return deliver(fn, out, r);
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

tn_tensor *tn_linalg_cholesky(tn_tensor *out, const tn_tensor *a, int upper) {
  const char *fn = "linalg.cholesky";
  if (check_matrices(fn, a, true)) return NULL;
  tn_backend *b = backend_for(fn, a, cholesky);
  tn_tensor *r = b ? new_result(a, a->sizes[a->ndim - 2], a->sizes[a->ndim - 1]) : NULL;
  if (!r) return NULL;
  tn_linalg_status st = {-1, 0};
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
  return deliver(fn, out, r);
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
  tn_linalg_status st = {-1, 0};
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
  tn_linalg_status st = {-1, 0};
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
