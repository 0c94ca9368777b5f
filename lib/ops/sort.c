/* sort.c: the ordering ops: sort, topk, kthvalue, unique, searchsorted. Argument checks, result shapes and
 * the results' delivery (new tensors or out=) are here; the backend sorts and selects (lib/cpu/sort.c). */
#include "../backend.h"
#include "../internal.h"

/* ---- results ---- */

/* One result of an op with several: the slot the caller passed, the tensor being written (the caller's out=,
 * or a new one), and whether the caller wants it at all. */
typedef struct result {
  tn_tensor **slot;
  tn_tensor *t;
  bool made;
} result;

/* Makes r ready for a result of the given shape and dtype. An unwanted result (slot NULL) is skipped, or
 * gets a scratch tensor when the kernel needs it anyway (scratch). */
static int result_prepare(const char *fn, result *r, tn_tensor **slot, int ndim, const int64_t *sizes, int dtype,
                          const tn_tensor *x, bool scratch) {
  r->slot = slot;
  r->made = !slot || !*slot;
  r->t = NULL;
  if (!slot && !scratch) return 0;
  if (!r->made && (*slot)->storage == x->storage)
    return tn_error("%s: out= shares memory with the input; use a separate tensor", fn);
  r->t = tn_prepare_out(fn, r->made ? NULL : *slot, ndim, sizes, dtype, x);
  return r->t ? 0 : -1;
}

/* Hands the results to the caller on success (bumping out= versions), or frees what was made on failure. */
static int results_finish(int rc, result *rs, int n) {
  for (int i = 0; i < n; i++) {
    if (!rs[i].t) continue;
    if (rc == 0 && rs[i].slot) {
      if (!rs[i].made) tn_bump_version(rs[i].t);
      *rs[i].slot = rs[i].t;
    } else if (rs[i].made) {
      tn_tensor_free(rs[i].t);
    }
  }
  return rc;
}

/* A 0-d tensor viewed as a 1-d tensor of one element (the ops treat it as one row of length 1). */
static tn_tensor as_row(const tn_tensor *t) {
  tn_tensor v = *t;
  if (v.ndim == 0) {
    v.ndim = 1;
    v.sizes[0] = 1;
    v.strides[0] = 1;
  }
  return v;
}

/* ---- sort, topk, kthvalue ---- */

int tn_sort(tn_tensor **values, tn_tensor **indices, const tn_tensor *x, int dim, int descending, int64_t base) {
  const char *fn = "sort";
  tn_tensor xr = as_row(x);
  if ((dim = tn_wrap_dim(fn, dim, xr.ndim)) < 0) return -1;
  result rs[2] = {{0}, {0}};
  int rc = -1;
  if (result_prepare(fn, &rs[0], values, x->ndim, x->sizes, x->dtype, x, false) ||
      result_prepare(fn, &rs[1], indices, x->ndim, x->sizes, TN_INT64, x, true))
    goto done;
  rc = 0;
  if (x->numel > 0) {
    tn_backend *b = tn_backend_of(fn, x);
    b = TN_WITH_KERNEL(fn, b, sort);
    tn_tensor v = rs[0].t ? as_row(rs[0].t) : xr, i = as_row(rs[1].t);
    rc = b ? b->sort(rs[0].t ? &v : NULL, &i, &xr, dim, descending, base) : -1;
  }
done:
  return results_finish(rc, rs, 2);
}

int tn_topk(tn_tensor **values, tn_tensor **indices, const tn_tensor *x, int64_t k, int dim, int largest,
            int64_t base) {
  const char *fn = "topk";
  tn_tensor xr = as_row(x);
  if ((dim = tn_wrap_dim(fn, dim, xr.ndim)) < 0) return -1;
  if (k < 0 || k > xr.sizes[dim])
    return tn_error("%s: k (%lld) is out of range for dimension %d of size %lld (valid: 0 to %lld)", fn,
                    (long long)k, dim + 1, (long long)xr.sizes[dim], (long long)xr.sizes[dim]);
  int64_t sizes[TN_MAX_DIMS];
  memcpy(sizes, xr.sizes, sizeof sizes);
  sizes[dim] = k;
  result rs[2] = {{0}, {0}};
  int rc = -1;
  if (result_prepare(fn, &rs[0], values, x->ndim, sizes, x->dtype, x, false) ||
      result_prepare(fn, &rs[1], indices, x->ndim, sizes, TN_INT64, x, true))
    goto done;
  rc = 0;
  /* A 0-d result holds one element whatever k is: with k = 0 PyTorch gives the element too (not a zero). */
  if (x->ndim == 0) k = 1;
  if (x->numel > 0 && k > 0) {
    tn_backend *b = tn_backend_of(fn, x);
    b = TN_WITH_KERNEL(fn, b, topk);
    tn_tensor v = rs[0].t ? as_row(rs[0].t) : xr, i = as_row(rs[1].t);
    rc = b ? b->topk(rs[0].t ? &v : NULL, &i, &xr, k, dim, largest, base) : -1;
  }
done:
  return results_finish(rc, rs, 2);
}

/* t (which lacks dim) with dim re-inserted as size 1 */
static tn_tensor reinsert_dim(const tn_tensor *t, int dim) {
  tn_tensor v = *t;
  for (int d = t->ndim; d > dim; d--) {
    v.sizes[d] = t->sizes[d - 1];
    v.strides[d] = t->strides[d - 1];
  }
  v.sizes[dim] = 1;
  v.strides[dim] = 1;
  v.ndim = t->ndim + 1;
  return v;
}

int tn_kthvalue(tn_tensor **values, tn_tensor **indices, const tn_tensor *x, int64_t k, int dim, int keepdim,
                int64_t base) {
  const char *fn = "kthvalue";
  tn_tensor xr = as_row(x);
  if ((dim = tn_wrap_dim(fn, dim, xr.ndim)) < 0) return -1;
  if (k < 1 || k > xr.sizes[dim])
    return tn_error("%s: k (%lld) is out of range for dimension %d of size %lld (valid: 1 to %lld)", fn,
                    (long long)k, dim + 1, (long long)xr.sizes[dim], (long long)xr.sizes[dim]);
  /* the result's shape: dim kept with size 1, or removed (a 0-d x gives 0-d results) */
  int64_t sizes[TN_MAX_DIMS];
  int ndim = 0;
  for (int d = 0; d < x->ndim; d++)
    if (d != dim || keepdim) sizes[ndim++] = d == dim ? 1 : x->sizes[d];
  result rs[2] = {{0}, {0}};
  int rc = -1;
  if (result_prepare(fn, &rs[0], values, ndim, sizes, x->dtype, x, false) ||
      result_prepare(fn, &rs[1], indices, ndim, sizes, TN_INT64, x, true))
    goto done;
  rc = 0;
  if (x->numel > 0) {
    tn_backend *b = tn_backend_of(fn, x);
    b = TN_WITH_KERNEL(fn, b, kthvalue);
    bool removed = x->ndim > 0 && !keepdim;
    tn_tensor v = !rs[0].t ? xr : removed ? reinsert_dim(rs[0].t, dim) : as_row(rs[0].t);
    tn_tensor i = removed ? reinsert_dim(rs[1].t, dim) : as_row(rs[1].t);
    rc = b ? b->kthvalue(rs[0].t ? &v : NULL, &i, &xr, k, dim, base) : -1;
  }
done:
  return results_finish(rc, rs, 2);
}

/* ---- unique ---- */

/* Moves a made tensor into the caller's slot: as is, or copied into the caller's out= tensor. */
static int deliver(const char *fn, tn_tensor **slot, tn_tensor *made) {
  if (!slot) {
    tn_tensor_free(made);
    return 0;
  }
  if (!*slot) {
    *slot = made;
    return 0;
  }
  tn_tensor *out = tn_prepare_out(fn, *slot, made->ndim, made->sizes, made->dtype, made);
  int rc = out ? tn_copy_(out, made) : -1;
  tn_tensor_free(made);
  return rc;
}

int tn_unique(tn_tensor **values, tn_tensor **inverse, tn_tensor **counts, const tn_tensor *x, int dim, int has_dim,
              int consecutive, int64_t base) {
  const char *fn = consecutive ? "unique_consecutive" : "unique";
  if (has_dim) {
    if (x->ndim == 0) return tn_error("%s: a 0-d tensor has no dimension %d", fn, dim + (dim >= 0));
    if ((dim = tn_wrap_dim(fn, dim, x->ndim)) < 0) return -1;
  } else {
    dim = -1;
  }
  tn_backend *b = tn_backend_of(fn, x);
  if (!(b = TN_WITH_KERNEL(fn, b, unique))) return -1;
  tn_tensor *v = NULL, *inv = NULL, *cnt = NULL;
  int rc = b->unique(fn, x, dim, consecutive, base, &v, inverse ? &inv : NULL, counts ? &cnt : NULL);
  if (rc) {
    tn_tensor_free(v);
    tn_tensor_free(inv);
    tn_tensor_free(cnt);
    return -1;
  }
  int r1 = deliver(fn, values, v), r2 = inverse ? deliver(fn, inverse, inv) : 0;
  int r3 = counts ? deliver(fn, counts, cnt) : 0;
  return r1 || r2 || r3 ? -1 : 0;
}

/* ---- searchsorted ---- */

tn_tensor *tn_searchsorted(tn_tensor *out, const tn_tensor *sorted, const tn_tensor *values, int right, int out_int32,
                           int64_t base) {
  const char *fn = "searchsorted";
  char a[TN_SHAPE_STR], b[TN_SHAPE_STR];
  if (sorted->ndim == 0) return tn_error_null("%s: the sorted sequence must have at least 1 dimension", fn);
  if (!tn_same_device(sorted, values))
    return tn_error_null("%s: the sorted sequence and the values are on different devices", fn);
  if (sorted->ndim > 1) {
    bool match = values->ndim == sorted->ndim;
    for (int d = 0; match && d < sorted->ndim - 1; d++) match = values->sizes[d] == sorted->sizes[d];
    if (!match)
      return tn_error_null("%s: the sorted sequence of size %s and the values of size %s must have the same leading "
                           "dimensions (or the sequence must be 1-d)", fn,
                           tn_format_shape(a, sizeof a, sorted->ndim, sorted->sizes),
                           tn_format_shape(b, sizeof b, values->ndim, values->sizes));
  }
  if (sorted->dtype == TN_BOOL || values->dtype == TN_BOOL)
    return tn_error_null("%s: not supported for bool tensors", fn);
  int dtype = tn_promote_types(sorted->dtype, values->dtype);
  tn_tensor *s = NULL, *v = NULL, *result = NULL;
  if (sorted->dtype != dtype && !(s = tn_to(sorted, dtype, sorted->storage->device_type, sorted->storage->device_index)))
    goto done;
  if (values->dtype != dtype && !(v = tn_to(values, dtype, values->storage->device_type, values->storage->device_index)))
    goto done;
  const tn_tensor *seq = s ? s : sorted, *vals = v ? v : values;
  if (out && (out->storage == seq->storage || out->storage == vals->storage)) {
    tn_error("%s: out= shares memory with an input; use a separate tensor", fn);
    goto done;
  }
  if (!(result = tn_prepare_out(fn, out, values->ndim, values->sizes, out_int32 ? TN_INT32 : TN_INT64, values)))
    goto done;
  if (result->numel > 0) {
    tn_tensor view = *seq; /* the sorted rows, viewed with values' shape: stride 0 along the last dim */
    view.ndim = values->ndim;
    for (int d = 0; d < values->ndim; d++) {
      view.sizes[d] = values->sizes[d];
      view.strides[d] = seq->ndim > 1 && d < values->ndim - 1 ? seq->strides[d] : 0;
    }
    view.numel = values->numel;
    tn_backend *be = tn_backend_of(fn, values);
    be = TN_WITH_KERNEL(fn, be, searchsorted);
    tn_bump_version(result);
    if (!be || be->searchsorted(result, &view, seq->sizes[seq->ndim - 1], seq->strides[seq->ndim - 1], vals, right,
                                base)) {
      if (result != out) tn_tensor_free(result);
      result = NULL;
    }
  }
done:
  tn_tensor_free(s);
  tn_tensor_free(v);
  return result;
}
