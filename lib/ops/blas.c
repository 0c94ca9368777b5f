/* blas.c: matrix products: mm, bmm, matmul, mv, dot, outer and the add* forms.
 *
 * Every op becomes one batched product c = alpha * a @ b + beta * c handed to the backend's gemm: a and b are
 * headers on the operands' storage (a vector gains a dim of size 1, batch dims broadcast with stride 0) and c
 * is a header on the result. Nothing is copied here; the backend reads strided operands in place. The result
 * goes straight into out= (or the input, in place) unless that shares memory with an operand; then it is
 * computed aside and copied. */
#include "../backend.h"
#include "../internal.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>

/* One product, described for the backend. */
typedef struct product {
  const char *fn;
  int nb;                     /* batch dims of a and b */
  tn_tensor a, b;             /* [batch..., m, k] and [batch..., k, n]: headers on the operands' storage */
  int ndim;                   /* the result's shape */
  int64_t shape[TN_MAX_DIMS];
  int row_dim, col_dim;       /* the result's dims holding m and n; -1 when absent (a vector operand) */
  int sum_batches;            /* addbmm: the batch's products are summed into one matrix */
} product;

/* ---- checks ---- */

/* The operands of a product: present, on one device, of one dtype that is not bool. */
static int check_operands(const char *fn, const tn_tensor *a, const tn_tensor *b) {
  if (!a || !b) return tn_error("%s: expected two tensors, got NULL", fn);
  if (!tn_same_device(a, b)) {
    char da[16], db[16];
    return tn_error("%s: expected both operands on one device, got %s and %s", fn, tn_device_str(da, sizeof da, a),
                    tn_device_str(db, sizeof db, b));
  }
  if (a->dtype != b->dtype)
    return tn_error("%s: expected both operands to have the same dtype, got %s and %s", fn, tn_dtype_name(a->dtype),
                    tn_dtype_name(b->dtype));
  if (a->dtype == TN_BOOL)
    return tn_error("%s: not supported for bool tensors (convert with :int() or :float() first)", fn);
  return 0;
}

static int size_mismatch(const char *fn, const tn_tensor *a, const tn_tensor *b) {
  char sa[TN_SHAPE_STR], sb[TN_SHAPE_STR];
  return tn_error("%s: size mismatch, %s @ %s", fn, tn_format_shape(sa, sizeof sa, a->ndim, a->sizes),
                  tn_format_shape(sb, sizeof sb, b->ndim, b->sizes));
}

static int dims_error(const char *fn, const char *expected, const tn_tensor *a, const tn_tensor *b) {
  char sa[TN_SHAPE_STR], sb[TN_SHAPE_STR];
  return tn_error("%s: expected %s, got %s and %s", fn, expected, tn_format_shape(sa, sizeof sa, a->ndim, a->sizes),
                  tn_format_shape(sb, sizeof sb, b->ndim, b->sizes));
}

/* ---- building the product ---- */

/* A header viewing t's storage with other sizes and strides (lives on the caller's stack, holds no reference). */
static tn_tensor header(const tn_tensor *t, int ndim, const int64_t *sizes, const int64_t *strides) {
  tn_tensor h = *t;
  h.ndim = ndim;
  for (int d = 0; d < ndim; d++) {
    h.sizes[d] = sizes[d];
    h.strides[d] = strides[d];
  }
  h.numel = tn_shape_numel(ndim, sizes);
  return h;
}

/* The matrix operand a (or b) as [batch..., rows, cols]: t's own matrix dims (a vector becomes a row when
 * `as_row`, else a column) behind the broadcast batch dims (stride 0 where t has none or size 1). */
static tn_tensor operand(const tn_tensor *t, int nb, const int64_t *batch, bool as_row) {
  int64_t sizes[TN_MAX_DIMS], strides[TN_MAX_DIMS];
  int tb = t->ndim >= 2 ? t->ndim - 2 : 0; /* t's own batch dims */
  for (int d = 0; d < nb; d++) {
    int td = d - (nb - tb);
    sizes[d] = batch[d];
    strides[d] = td >= 0 && t->sizes[td] == batch[d] ? t->strides[td] : 0;
  }
  if (t->ndim == 1) {
    int64_t len = t->sizes[0], s = t->strides[0];
    sizes[nb] = as_row ? 1 : len;
    sizes[nb + 1] = as_row ? len : 1;
    strides[nb] = as_row ? len * s : s;
    strides[nb + 1] = as_row ? s : 1;
  } else {
    sizes[nb] = t->sizes[t->ndim - 2];
    sizes[nb + 1] = t->sizes[t->ndim - 1];
    strides[nb] = t->strides[t->ndim - 2];
    strides[nb + 1] = t->strides[t->ndim - 1];
  }
  return header(t, nb + 2, sizes, strides);
}

/* Sets up p for a @ b with 1-d operands as in matmul: a vector a is a row, a vector b a column, and the result
 * drops those dims. Batch dims broadcast. */
static int setup(product *p, const char *fn, const tn_tensor *a, const tn_tensor *b) {
  int ab = a->ndim > 2 ? a->ndim - 2 : 0, bb = b->ndim > 2 ? b->ndim - 2 : 0;
  int64_t batch[TN_MAX_DIMS];
  int nb = tn_broadcast_shapes(ab, a->sizes, bb, b->sizes, batch);
  if (nb < 0) {
    char sa[TN_SHAPE_STR], sb[TN_SHAPE_STR];
    return tn_error("%s: the batch dimensions of %s and %s do not broadcast", fn,
                    tn_format_shape(sa, sizeof sa, a->ndim, a->sizes), tn_format_shape(sb, sizeof sb, b->ndim, b->sizes));
  }
  int64_t k_a = a->sizes[a->ndim - 1], k_b = b->sizes[b->ndim == 1 ? 0 : b->ndim - 2];
  if (k_a != k_b) return size_mismatch(fn, a, b);
  p->fn = fn;
  p->nb = nb;
  p->a = operand(a, nb, batch, true);
  p->b = operand(b, nb, batch, false);
  p->sum_batches = 0;
  p->ndim = nb;
  memcpy(p->shape, batch, sizeof(int64_t) * (size_t)nb);
  p->row_dim = p->col_dim = -1;
  if (a->ndim > 1) {
    p->row_dim = p->ndim;
    p->shape[p->ndim++] = a->sizes[a->ndim - 2];
  }
  if (b->ndim > 1) {
    p->col_dim = p->ndim;
    p->shape[p->ndim++] = b->sizes[b->ndim - 1];
  }
  int64_t m = p->a.sizes[nb], k = k_a, n = p->b.sizes[nb + 1];
  if (m > INT_MAX || n > INT_MAX || k > INT_MAX)
    return tn_error("%s: matrix dimensions above %d are not supported (m %lld, k %lld, n %lld)", fn, INT_MAX,
                    (long long)m, (long long)k, (long long)n);
  return 0;
}

/* True when dims 0..nb of t (the batch and the rows) merge into one dim of stride t->strides[nb]. */
static bool rows_fold(const tn_tensor *t, int nb) {
  int64_t expected = t->strides[nb] * t->sizes[nb];
  for (int d = nb - 1; d >= 0; d--) {
    if (t->sizes[d] != 1 && t->strides[d] != expected) return false;
    expected *= t->sizes[d];
  }
  return true;
}

/* The result tensor r viewed as the product's c: [batch..., m, n] (or [m, n] when summing batches). */
static tn_tensor result_view(const product *p, const tn_tensor *r) {
  int64_t sizes[TN_MAX_DIMS], strides[TN_MAX_DIMS];
  int cb = p->sum_batches ? 0 : p->nb, nb = p->nb;
  for (int d = 0; d < cb; d++) {
    sizes[d] = r->sizes[d];
    strides[d] = r->strides[d];
  }
  sizes[cb] = p->a.sizes[nb];
  sizes[cb + 1] = p->b.sizes[nb + 1];
  strides[cb] = p->row_dim >= 0 ? r->strides[p->row_dim] : 1;
  strides[cb + 1] = p->col_dim >= 0 ? r->strides[p->col_dim] : 1;
  return header(r, cb + 2, sizes, strides);
}

/* Runs the backend on result r (beta * r already in place when beta != 0; `fresh`: r was allocated for this
 * product). A batch of a's over one matrix b whose rows and result rows both fold into one dim runs as one large
 * product (x @ W for x [B, T, in]). */
static int compute(const product *p, tn_tensor *r, double alpha, double beta, bool fresh) {
  tn_backend *backend = tn_backend_of(p->fn, r);
  backend = TN_WITH_KERNEL(p->fn, backend, gemm);
  if (!backend) return -1;
  tn_tensor c = result_view(p, r), a = p->a, b = p->b;
  int nb = p->nb;
  if (nb > 0 && !p->sum_batches && rows_fold(&a, nb) && rows_fold(&c, nb)) {
    bool b_shared = true;
    for (int d = 0; d < nb; d++) b_shared = b_shared && (b.strides[d] == 0 || b.sizes[d] == 1);
    if (b_shared) {
      int64_t rows = 1;
      for (int d = 0; d <= nb; d++) rows *= a.sizes[d];
      int64_t as[2] = {rows, a.sizes[nb + 1]}, ast[2] = {a.strides[nb], a.strides[nb + 1]};
      int64_t bs[2] = {b.sizes[nb], b.sizes[nb + 1]}, bst[2] = {b.strides[nb], b.strides[nb + 1]};
      int64_t cs[2] = {rows, c.sizes[nb + 1]}, cst[2] = {c.strides[nb], c.strides[nb + 1]};
      if (rows <= INT_MAX) {
        a = header(&a, 2, as, ast);
        b = header(&b, 2, bs, bst);
        c = header(&c, 2, cs, cst);
      }
    }
  }
  int flags = (p->sum_batches ? TN_GEMM_SUM_BATCHES : 0) | (fresh ? TN_GEMM_FRESH_RESULT : 0);
  return backend->gemm(&c, &a, &b, alpha, beta, flags);
}

static bool has_internal_overlap(const tn_tensor *t) {
  for (int d = 0; d < t->ndim; d++)
    if (t->strides[d] == 0 && t->sizes[d] > 1) return true;
  return false;
}

/* Computes the product into out (NULL: a new tensor), adding beta * input when input is given; in place when
 * out is the input. Returns the result, or NULL with an error set. */
static tn_tensor *execute(product *p, tn_tensor *out, const tn_tensor *input, double beta, double alpha) {
  const char *fn = p->fn;
  int dtype = p->a.dtype;
  bool in_place = input && out == input;
  char s1[TN_SHAPE_STR], s2[TN_SHAPE_STR];
  if (!input) beta = 0;
  if (!tn_dtype_is_floating(dtype) && (alpha != floor(alpha) || beta != floor(beta)))
    return tn_error_null("%s: alpha and beta must be integers for %s tensors, got alpha %g and beta %g", fn,
                         tn_dtype_name(dtype), alpha, beta);
  if (input) {
    if (input->dtype != dtype)
      return tn_error_null("%s: expected the input to have dtype %s like the operands, got %s", fn,
                           tn_dtype_name(dtype), tn_dtype_name(input->dtype));
    if (!tn_same_device(input, &p->a)) return tn_error_null("%s: the input is on another device than the operands", fn);
    int64_t shape[TN_MAX_DIMS];
    int nd = tn_broadcast_shapes(input->ndim, input->sizes, p->ndim, p->shape, shape);
    bool fits = in_place ? input->ndim == p->ndim && !memcmp(input->sizes, p->shape, sizeof(int64_t) * (size_t)p->ndim)
                         : nd == p->ndim && !memcmp(shape, p->shape, sizeof(int64_t) * (size_t)p->ndim);
    if (!fits)
      return tn_error_null(in_place ? "%s: the input of size %s must have the result's size %s to be written in place"
                                    : "%s: the input of size %s does not broadcast to the result's size %s",
                           fn, tn_format_shape(s1, sizeof s1, input->ndim, input->sizes),
                           tn_format_shape(s2, sizeof s2, p->ndim, p->shape));
  }
  if (out && !tn_same_device(out, &p->a)) return tn_error_null("%s: out= is on another device than the operands", fn);

  /* Where the result goes: out itself, unless it shares memory with what is read. */
  bool aliased = out && (out->storage == p->a.storage || out->storage == p->b.storage ||
                         (input && !in_place && out->storage == input->storage));
  tn_tensor *work;
  if (out && !aliased) {
    work = in_place ? out : tn_prepare_out(fn, out, p->ndim, p->shape, dtype, &p->a);
    if (!work) return NULL;
  } else {
    if (out && !in_place && out->dtype != dtype)
      return tn_error_null("%s: out= has dtype %s but the result is %s", fn, tn_dtype_name(out->dtype),
                           tn_dtype_name(dtype));
    work = tn_empty(p->ndim, p->shape, dtype, p->a.storage->device_type, p->a.storage->device_index);
    if (!work) return NULL;
  }
  if (out && has_internal_overlap(out)) {
    if (work != out) tn_tensor_free(work);
    return tn_error_null("%s: the output has several elements at one memory location (an expanded tensor); "
                         "clone it before writing", fn);
  }

  int rc = 0;
  if (beta != 0 && work != input) rc = tn_copy_(work, input);
  if (rc == 0 && work->numel > 0) {
    tn_bump_version(work);
    rc = compute(p, work, alpha, beta, work != out && beta == 0);
  }
  if (rc == 0 && work != out && out) {
    if (!in_place && !tn_prepare_out(fn, out, p->ndim, p->shape, dtype, &p->a)) rc = -1;
    if (rc == 0) rc = tn_copy_(out, work);
  }
  if (work != out && (rc || out)) tn_tensor_free(work);
  if (rc) return NULL;
  return out ? out : work;
}

/* ---- the ops ---- */

static tn_tensor *mm_like(const char *fn, tn_tensor *out, const tn_tensor *input, const tn_tensor *a,
                          const tn_tensor *b, double beta, double alpha) {
  if (check_operands(fn, a, b)) return NULL;
  if (a->ndim != 2 || b->ndim != 2) return dims_error(fn, "2-d matrices", a, b), NULL;
  product p;
  if (setup(&p, fn, a, b)) return NULL;
  return execute(&p, out, input, beta, alpha);
}

tn_tensor *tn_mm(tn_tensor *out, const tn_tensor *a, const tn_tensor *b) { return mm_like("mm", out, NULL, a, b, 0, 1); }

tn_tensor *tn_addmm(tn_tensor *out, const tn_tensor *input, const tn_tensor *a, const tn_tensor *b, double beta,
                    double alpha) {
  if (!input) return tn_error_null("addmm: expected an input tensor, got NULL");
  return mm_like(out == input ? "addmm_" : "addmm", out, input, a, b, beta, alpha);
}

static tn_tensor *bmm_like(const char *fn, tn_tensor *out, const tn_tensor *input, const tn_tensor *a,
                           const tn_tensor *b, double beta, double alpha, int sum_batches) {
  if (check_operands(fn, a, b)) return NULL;
  if (a->ndim != 3 || b->ndim != 3) return dims_error(fn, "3-d batches of matrices", a, b), NULL;
  if (a->sizes[0] != b->sizes[0]) {
    char sa[TN_SHAPE_STR], sb[TN_SHAPE_STR];
    return tn_error_null("%s: batch sizes differ, %s @ %s", fn, tn_format_shape(sa, sizeof sa, a->ndim, a->sizes),
                         tn_format_shape(sb, sizeof sb, b->ndim, b->sizes));
  }
  product p;
  if (setup(&p, fn, a, b)) return NULL;
  if (sum_batches) {
    p.sum_batches = 1;
    p.ndim = 2;
    p.shape[0] = p.shape[1];
    p.shape[1] = p.shape[2];
    p.row_dim = 0;
    p.col_dim = 1;
  }
  return execute(&p, out, input, beta, alpha);
}

tn_tensor *tn_bmm(tn_tensor *out, const tn_tensor *a, const tn_tensor *b) {
  return bmm_like("bmm", out, NULL, a, b, 0, 1, 0);
}

tn_tensor *tn_baddbmm(tn_tensor *out, const tn_tensor *input, const tn_tensor *a, const tn_tensor *b, double beta,
                      double alpha) {
  if (!input) return tn_error_null("baddbmm: expected an input tensor, got NULL");
  return bmm_like(out == input ? "baddbmm_" : "baddbmm", out, input, a, b, beta, alpha, 0);
}

tn_tensor *tn_addbmm(tn_tensor *out, const tn_tensor *input, const tn_tensor *a, const tn_tensor *b, double beta,
                     double alpha) {
  if (!input) return tn_error_null("addbmm: expected an input tensor, got NULL");
  return bmm_like(out == input ? "addbmm_" : "addbmm", out, input, a, b, beta, alpha, 1);
}

static tn_tensor *mv_like(const char *fn, tn_tensor *out, const tn_tensor *input, const tn_tensor *a,
                          const tn_tensor *x, double beta, double alpha) {
  if (check_operands(fn, a, x)) return NULL;
  if (a->ndim != 2 || x->ndim != 1) return dims_error(fn, "a 2-d matrix and a 1-d vector", a, x), NULL;
  product p;
  if (setup(&p, fn, a, x)) return NULL;
  return execute(&p, out, input, beta, alpha);
}

tn_tensor *tn_mv(tn_tensor *out, const tn_tensor *a, const tn_tensor *x) { return mv_like("mv", out, NULL, a, x, 0, 1); }

tn_tensor *tn_addmv(tn_tensor *out, const tn_tensor *input, const tn_tensor *a, const tn_tensor *x, double beta,
                    double alpha) {
  if (!input) return tn_error_null("addmv: expected an input tensor, got NULL");
  return mv_like(out == input ? "addmv_" : "addmv", out, input, a, x, beta, alpha);
}

tn_tensor *tn_dot(tn_tensor *out, const tn_tensor *a, const tn_tensor *b) {
  if (check_operands("dot", a, b)) return NULL;
  if (a->ndim != 1 || b->ndim != 1 || a->sizes[0] != b->sizes[0])
    return dims_error("dot", "1-d tensors of the same length", a, b), NULL;
  product p;
  if (setup(&p, "dot", a, b)) return NULL;
  return execute(&p, out, NULL, 0, 1);
}

/* outer and addr: [m] x [n] is a product with k = 1 */
static tn_tensor *outer_like(const char *fn, tn_tensor *out, const tn_tensor *input, const tn_tensor *a,
                             const tn_tensor *b, double beta, double alpha) {
  if (check_operands(fn, a, b)) return NULL;
  if (a->ndim != 1 || b->ndim != 1) return dims_error(fn, "1-d vectors", a, b), NULL;
  int64_t as[2] = {a->sizes[0], 1}, ast[2] = {a->strides[0], 1};
  int64_t bs[2] = {1, b->sizes[0]}, bst[2] = {b->sizes[0] * b->strides[0], b->strides[0]};
  tn_tensor a2 = header(a, 2, as, ast), b2 = header(b, 2, bs, bst);
  product p;
  if (setup(&p, fn, &a2, &b2)) return NULL;
  return execute(&p, out, input, beta, alpha);
}

tn_tensor *tn_outer(tn_tensor *out, const tn_tensor *a, const tn_tensor *b) {
  return outer_like("outer", out, NULL, a, b, 0, 1);
}

tn_tensor *tn_addr(tn_tensor *out, const tn_tensor *input, const tn_tensor *a, const tn_tensor *b, double beta,
                   double alpha) {
  if (!input) return tn_error_null("addr: expected an input tensor, got NULL");
  return outer_like(out == input ? "addr_" : "addr", out, input, a, b, beta, alpha);
}

tn_tensor *tn_matmul(tn_tensor *out, const tn_tensor *a, const tn_tensor *b) {
  if (check_operands("matmul", a, b)) return NULL;
  if (a->ndim == 0 || b->ndim == 0) return dims_error("matmul", "tensors with at least one dimension", a, b), NULL;
  product p;
  if (setup(&p, "matmul", a, b)) return NULL;
  return execute(&p, out, NULL, 0, 1);
}
