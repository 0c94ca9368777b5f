/* index.c: the indexing ops: index_select, gather, scatter_ and its reductions, index_add_/copy_/fill_
 * (tn_index_reduce_), take/put_, masked_select/fill_/scatter_, nonzero.
 *
 * Two backend kernels do every indexed move. gather reads out[i] = src[i + position(index[i]) * stride] and
 * scatter writes dst[i + position(index[i]) * stride] (op)= src[i], for i over the index's shape, where src
 * (gather) or dst (scatter) is a view of the tensor with the index's shape and stride 0 along the indexed
 * dim. index_select is a gather whose 1-d index is broadcast over the other dims, index_add_ a scatter likewise,
 * take a gather from the flattened tensor. This file checks the arguments and builds those views. */
#include "../backend.h"
#include "../internal.h"
#include "stack_scalar.h"

#include <math.h>
#include <stdio.h>

/* ---- errors ---- */

int tn_index_error(const tn_index_spec *s, int64_t value) {
  char negative[64] = "";
  if (s->negative && s->size > 0) snprintf(negative, sizeof negative, ", or -%lld to -1", (long long)s->size);
  if (s->size == 0) {
    if (s->dim < 0) return tn_error("%s: index %lld is out of range: the tensor is empty", s->fn, (long long)value);
    return tn_error("%s: index %lld is out of range: dimension %d has size 0", s->fn, (long long)value, s->dim + 1);
  }
  long long first = s->base, last = s->size - 1 + s->base;
  if (s->dim < 0)
    return tn_error("%s: index %lld is out of range for a tensor of %lld elements (valid: %lld to %lld%s)", s->fn,
                    (long long)value, (long long)s->size, first, last, negative);
  return tn_error("%s: index %lld is out of range for dimension %d of size %lld (valid: %lld to %lld%s)", s->fn,
                  (long long)value, s->dim + 1, (long long)s->size, first, last, negative);
}

/* ---- shared checks ---- */

static int check_same_device(const char *fn, const tn_tensor *a, const tn_tensor *b, const char *what) {
  if (tn_same_device(a, b)) return 0;
  return tn_error("%s: %s is on another device than the tensor", fn, what);
}

static int check_writable(const char *fn, const tn_tensor *t) {
  for (int d = 0; d < t->ndim; d++)
    if (t->strides[d] == 0 && t->sizes[d] > 1)
      return tn_error("%s: the tensor has several elements at one memory location (an expanded tensor, stride 0 "
                      "at dimension %d); clone it before writing", fn, d + 1);
  return 0;
}

static int check_out_not_input(const char *fn, const tn_tensor *out, const tn_tensor *in) {
  if (out && out->storage == in->storage)
    return tn_error("%s: out= shares memory with an input; use a separate tensor", fn);
  return 0;
}

/* The index as int64: itself, or an int64 copy of an int32 index (stored in *owned, freed by the caller). */
static const tn_tensor *int64_index(const char *fn, const tn_tensor *index, const tn_tensor *x, tn_tensor **owned) {
  *owned = NULL;
  if (check_same_device(fn, x, index, "the index")) return NULL;
  if (index->dtype == TN_INT64) return index;
  if (index->dtype != TN_INT32)
    return tn_error_null("%s: the index must be an int64 (or int32) tensor, got %s", fn, tn_dtype_name(index->dtype));
  *owned = tn_to(index, TN_INT64, index->storage->device_type, index->storage->device_index);
  return *owned;
}

static int check_mask(const char *fn, const tn_tensor *mask, const tn_tensor *x) {
  if (mask->dtype != TN_BOOL && mask->dtype != TN_UINT8)
    return tn_error("%s: the mask must be a bool tensor, got %s", fn, tn_dtype_name(mask->dtype));
  return check_same_device(fn, x, mask, "the mask");
}

static int check_same_dtype(const char *fn, const tn_tensor *x, const tn_tensor *src, const char *what) {
  if (x->dtype == src->dtype) return 0;
  return tn_error("%s: %s has dtype %s but the tensor is %s (they must match)", fn, what, tn_dtype_name(src->dtype),
                  tn_dtype_name(x->dtype));
}

/* A header over t's storage with other sizes and strides, for a kernel call (not reference-counted: valid
 * while t is). */
static tn_tensor restrided(const tn_tensor *t, int ndim, const int64_t *sizes, const int64_t *strides) {
  tn_tensor v = *t;
  v.ndim = ndim;
  for (int d = 0; d < ndim; d++) {
    v.sizes[d] = sizes[d];
    v.strides[d] = strides[d];
  }
  v.numel = tn_shape_numel(ndim, sizes);
  return v;
}

/* t with the broadcast shape `sizes` (stride 0 along new and size-1 dims); t must broadcast to it. */
static tn_tensor broadcast_view(const tn_tensor *t, int ndim, const int64_t *sizes) {
  int64_t strides[TN_MAX_DIMS];
  for (int d = 0; d < ndim; d++) {
    int td = t->ndim - ndim + d;
    strides[d] = td >= 0 && t->sizes[td] != 1 ? t->strides[td] : 0;
  }
  return restrided(t, ndim, sizes, strides);
}

/* A scalar value for a tensor of dtype: integer tensors need an integral value in range. */
static int check_value(const char *fn, int dtype, double v, const char *what) {
  double lo, hi;
  switch (dtype) {
    case TN_INT64: lo = -0x1p63, hi = 0x1p63; break;
    case TN_INT32: lo = INT32_MIN, hi = INT32_MAX + 1.0; break;
    case TN_INT16: lo = INT16_MIN, hi = INT16_MAX + 1.0; break;
    case TN_INT8: lo = INT8_MIN, hi = INT8_MAX + 1.0; break;
    case TN_UINT8: lo = 0, hi = UINT8_MAX + 1.0; break;
    default: return 0; /* floating and bool tensors take any value */
  }
  if (!(v > lo - 1 && v < hi)) /* truncation toward zero keeps (lo - 1, hi) in range; NaN fails */
    return tn_error("%s: %s %g cannot be converted to %s without overflow", fn, what, v, tn_dtype_name(dtype));
  return 0;
}

/* 0-d tensors act as 1-d tensors of one element along their one dim. */
static void as_1d_if_scalar(tn_tensor *t) {
  if (t->ndim == 0) {
    t->ndim = 1;
    t->sizes[0] = 1;
    t->strides[0] = 1;
  }
}

/* ---- index_select and gather ---- */

tn_tensor *tn_index_select(tn_tensor *out, const tn_tensor *x, int dim, const tn_tensor *index, int64_t base) {
  const char *fn = "index_select";
  tn_tensor xs = *x;
  as_1d_if_scalar(&xs);
  if ((dim = tn_wrap_dim(fn, dim, xs.ndim)) < 0) return NULL;
  if (index->ndim > 1) {
    char b[TN_SHAPE_STR];
    return tn_error_null("%s: the index must be 1-d, got size %s", fn,
                         tn_format_shape(b, sizeof b, index->ndim, index->sizes));
  }
  if (x->ndim == 0 && index->numel != 1)
    return tn_error_null("%s: a 0-d tensor takes an index of one element, got %lld", fn, (long long)index->numel);
  tn_tensor *owned;
  const tn_tensor *idx = int64_index(fn, index, x, &owned);
  if (!idx) return NULL;
  if (check_out_not_input(fn, out, x) || check_out_not_input(fn, out, idx)) goto fail;

  int64_t sizes[TN_MAX_DIMS], src_strides[TN_MAX_DIMS], idx_strides[TN_MAX_DIMS];
  for (int d = 0; d < xs.ndim; d++) {
    sizes[d] = d == dim ? idx->numel : xs.sizes[d];
    src_strides[d] = d == dim ? 0 : xs.strides[d];
    idx_strides[d] = d == dim && idx->ndim == 1 ? idx->strides[0] : 0;
  }
  tn_tensor *result = tn_prepare_out(fn, out, x->ndim, sizes, x->dtype, x);
  if (!result) goto fail;
  if (result->numel > 0) {
    tn_tensor target = restrided(result, xs.ndim, sizes, x->ndim ? result->strides : (int64_t[]){1});
    tn_tensor src = restrided(&xs, xs.ndim, sizes, src_strides);
    tn_tensor ix = restrided(idx, xs.ndim, sizes, idx_strides);
    tn_index_spec spec = {fn, dim, 0, xs.sizes[dim], xs.strides[dim], base};
    tn_backend *b = tn_backend_of(fn, x);
    b = TN_WITH_KERNEL(fn, b, gather);
    tn_bump_version(result);
    if (!b || b->gather(&target, &src, &ix, &spec)) {
      if (result != out) tn_tensor_free(result);
      goto fail;
    }
  }
  tn_tensor_free(owned);
  return result;
fail:
  tn_tensor_free(owned);
  return NULL;
}

tn_tensor *tn_gather(tn_tensor *out, const tn_tensor *x, int dim, const tn_tensor *index, int64_t base) {
  const char *fn = "gather";
  char a[TN_SHAPE_STR], b[TN_SHAPE_STR];
  tn_tensor xs = *x, is = *index;
  if (x->ndim != index->ndim && !(x->ndim <= 1 && index->ndim <= 1))
    return tn_error_null("%s: the index must have as many dimensions as the input, got %s for an input of size %s", fn,
                         tn_format_shape(a, sizeof a, index->ndim, index->sizes),
                         tn_format_shape(b, sizeof b, x->ndim, x->sizes));
  as_1d_if_scalar(&xs);
  as_1d_if_scalar(&is);
  if ((dim = tn_wrap_dim(fn, dim, xs.ndim)) < 0) return NULL;
  for (int d = 0; d < xs.ndim; d++)
    if (d != dim && is.sizes[d] > xs.sizes[d])
      return tn_error_null("%s: the index of size %s is larger than the input of size %s at dimension %d "
                           "(only dimension %d may be larger)", fn,
                           tn_format_shape(a, sizeof a, index->ndim, index->sizes),
                           tn_format_shape(b, sizeof b, x->ndim, x->sizes), d + 1, dim + 1);
  tn_tensor *owned;
  const tn_tensor *idx = int64_index(fn, index, x, &owned);
  if (!idx) return NULL;
  if (check_out_not_input(fn, out, x) || check_out_not_input(fn, out, idx)) goto fail;
  is = *idx;
  as_1d_if_scalar(&is);

  int64_t src_strides[TN_MAX_DIMS];
  for (int d = 0; d < xs.ndim; d++) src_strides[d] = d == dim ? 0 : xs.strides[d];
  tn_tensor *result = tn_prepare_out(fn, out, index->ndim, index->sizes, x->dtype, x);
  if (!result) goto fail;
  if (result->numel > 0) {
    tn_tensor target = restrided(result, is.ndim, is.sizes, index->ndim ? result->strides : (int64_t[]){1});
    tn_tensor src = restrided(&xs, xs.ndim, is.sizes, src_strides);
    tn_index_spec spec = {fn, dim, 0, xs.sizes[dim], xs.strides[dim], base};
    tn_backend *be = tn_backend_of(fn, x);
    be = TN_WITH_KERNEL(fn, be, gather);
    tn_bump_version(result);
    if (!be || be->gather(&target, &src, &is, &spec)) {
      if (result != out) tn_tensor_free(result);
      goto fail;
    }
  }
  tn_tensor_free(owned);
  return result;
fail:
  tn_tensor_free(owned);
  return NULL;
}

/* ---- scatter ---- */

static const char *scatter_name(int reduce) {
  switch (reduce) {
    case TN_SCATTER_ADD: return "scatter_add_";
    case TN_SCATTER_MUL: return "scatter_mul_";
    case TN_SCATTER_AMAX: return "scatter_amax_";
    case TN_SCATTER_AMIN: return "scatter_amin_";
    default: return "scatter_";
  }
}

/* The source of a scatter: src itself, a copy when it shares memory with the destination, or the scalar. */
static const tn_tensor *scatter_source(const char *fn, const tn_tensor *x, const tn_tensor *src, double value,
                                       tn_stack_scalar *scalar, tn_tensor **owned) {
  *owned = NULL;
  if (!src) {
    if (check_value(fn, x->dtype, value, "the value")) return NULL;
    if (x->storage->device_type == TN_CPU) return tn_stack_scalar_init(scalar, x->dtype, value);
    /* a device's kernels cannot read this stack: the value travels as a one-element tensor on x's device */
    tn_tensor *on_device = tn_empty(0, NULL, x->dtype, x->storage->device_type, x->storage->device_index);
    if (!on_device || tn_fill_(on_device, value)) {
      tn_tensor_free(on_device);
      return NULL;
    }
    return *owned = on_device;
  }
  if (check_same_device(fn, x, src, "src") || check_same_dtype(fn, x, src, "src")) return NULL;
  if (src->storage == x->storage) return *owned = tn_clone(src);
  return src;
}

/* Runs the backend's scatter; frees the owned copies. */
static int run_scatter(const char *fn, tn_tensor *x, tn_tensor *dst, const tn_tensor *idx, const tn_tensor *src,
                       const tn_index_spec *spec, int reduce, double alpha, tn_tensor *owned_idx,
                       tn_tensor *owned_src) {
  int rc = 0;
  if (dst->numel > 0) {
    tn_backend *b = tn_backend_of(fn, x);
    b = TN_WITH_KERNEL(fn, b, scatter);
    tn_bump_version(x);
    rc = b ? b->scatter(dst, idx, src, spec, reduce, alpha) : -1;
  }
  tn_tensor_free(owned_idx);
  tn_tensor_free(owned_src);
  return rc;
}

/* The int64 index of a scatter (a copy when it shares memory with x). */
static const tn_tensor *scatter_index(const char *fn, const tn_tensor *x, const tn_tensor *index, tn_tensor **owned) {
  const tn_tensor *idx = int64_index(fn, index, x, owned);
  if (idx && idx->storage == x->storage && !*owned) idx = *owned = tn_clone(idx);
  return idx;
}

static int check_reduce(const char *fn, int reduce) {
  if (reduce < TN_SCATTER_SET || reduce > TN_SCATTER_AMIN) return tn_error("%s: unknown reduction %d", fn, reduce);
  return 0;
}

int tn_scatter_(tn_tensor *x, int dim, const tn_tensor *index, const tn_tensor *src, double value, int reduce,
                int64_t base) {
  const char *fn = scatter_name(reduce);
  char a[TN_SHAPE_STR], b[TN_SHAPE_STR];
  if (check_reduce(fn, reduce) || check_writable(fn, x)) return -1;
  if (index->ndim != x->ndim && !(x->ndim <= 1 && index->ndim <= 1))
    return tn_error("%s: the index must have as many dimensions as the tensor, got %s for a tensor of size %s", fn,
                    tn_format_shape(a, sizeof a, index->ndim, index->sizes),
                    tn_format_shape(b, sizeof b, x->ndim, x->sizes));
  if (src && src->ndim != index->ndim && !(src->ndim <= 1 && index->ndim <= 1))
    return tn_error("%s: src must have as many dimensions as the index, got %s for an index of size %s", fn,
                    tn_format_shape(a, sizeof a, src->ndim, src->sizes),
                    tn_format_shape(b, sizeof b, index->ndim, index->sizes));
  tn_tensor xs = *x, is = *index, ss;
  as_1d_if_scalar(&xs);
  as_1d_if_scalar(&is);
  if ((dim = tn_wrap_dim(fn, dim, xs.ndim)) < 0) return -1;
  if (src) {
    ss = *src;
    as_1d_if_scalar(&ss);
  }
  for (int d = 0; d < xs.ndim; d++) {
    if (d != dim && is.sizes[d] > xs.sizes[d])
      return tn_error("%s: the index of size %s is larger than the tensor of size %s at dimension %d (only "
                      "dimension %d may be larger)", fn, tn_format_shape(a, sizeof a, index->ndim, index->sizes),
                      tn_format_shape(b, sizeof b, x->ndim, x->sizes), d + 1, dim + 1);
    if (src && is.sizes[d] > ss.sizes[d])
      return tn_error("%s: the index of size %s is larger than src of size %s at dimension %d", fn,
                      tn_format_shape(a, sizeof a, index->ndim, index->sizes),
                      tn_format_shape(b, sizeof b, src->ndim, src->sizes), d + 1);
  }
  tn_tensor *owned_idx, *owned_src;
  const tn_tensor *idx = scatter_index(fn, x, index, &owned_idx);
  if (!idx) return -1;
  tn_stack_scalar scalar;
  const tn_tensor *source = scatter_source(fn, x, src, value, &scalar, &owned_src);
  if (!source) {
    tn_tensor_free(owned_idx);
    return -1;
  }
  is = *idx;
  as_1d_if_scalar(&is);
  int64_t dst_strides[TN_MAX_DIMS], zeros[TN_MAX_DIMS] = {0};
  for (int d = 0; d < xs.ndim; d++) dst_strides[d] = d == dim ? 0 : xs.strides[d];
  tn_tensor dst = restrided(&xs, is.ndim, is.sizes, dst_strides), from = *source;
  as_1d_if_scalar(&from);
  from = restrided(&from, is.ndim, is.sizes, src ? from.strides : zeros);
  tn_index_spec spec = {fn, dim, 0, xs.sizes[dim], xs.strides[dim], base};
  return run_scatter(fn, x, &dst, &is, &from, &spec, reduce, 1, owned_idx, owned_src);
}

int tn_index_reduce_(tn_tensor *x, int dim, const tn_tensor *index, const tn_tensor *src, double value, int reduce,
                     double alpha, int64_t base) {
  const char *fn = !src ? "index_fill_" : reduce == TN_SCATTER_SET ? "index_copy_"
                 : reduce == TN_SCATTER_ADD ? "index_add_" : "index_reduce_";
  char a[TN_SHAPE_STR], b[TN_SHAPE_STR];
  if (check_reduce(fn, reduce) || check_writable(fn, x)) return -1;
  tn_tensor xs = *x;
  as_1d_if_scalar(&xs);
  if ((dim = tn_wrap_dim(fn, dim, xs.ndim)) < 0) return -1;
  if (index->ndim > 1)
    return tn_error("%s: the index must be 1-d, got size %s", fn, tn_format_shape(a, sizeof a, index->ndim, index->sizes));
  int64_t n = index->numel;
  int64_t sizes[TN_MAX_DIMS];
  for (int d = 0; d < xs.ndim; d++) sizes[d] = d == dim ? n : xs.sizes[d];
  tn_tensor ss;
  if (src) {
    ss = *src;
    as_1d_if_scalar(&ss);
    bool match = ss.ndim == xs.ndim;
    for (int d = 0; match && d < xs.ndim; d++) match = ss.sizes[d] == sizes[d];
    if (!match)
      return tn_error("%s: src of size %s does not match the size %s expected for an index of %lld elements along "
                      "dimension %d", fn, tn_format_shape(a, sizeof a, src->ndim, src->sizes),
                      tn_format_shape(b, sizeof b, xs.ndim, sizes), (long long)n, dim + 1);
  }
  if (reduce == TN_SCATTER_ADD && !tn_dtype_is_floating(x->dtype) && alpha != floor(alpha))
    return tn_error("%s: alpha must be an integer for a %s tensor, got %g", fn, tn_dtype_name(x->dtype), alpha);
  tn_tensor *owned_idx, *owned_src;
  const tn_tensor *idx = scatter_index(fn, x, index, &owned_idx);
  if (!idx) return -1;
  tn_stack_scalar scalar;
  const tn_tensor *source = scatter_source(fn, x, src, value, &scalar, &owned_src);
  if (!source) {
    tn_tensor_free(owned_idx);
    return -1;
  }
  int64_t dst_strides[TN_MAX_DIMS], idx_strides[TN_MAX_DIMS], zeros[TN_MAX_DIMS] = {0};
  for (int d = 0; d < xs.ndim; d++) {
    dst_strides[d] = d == dim ? 0 : xs.strides[d];
    idx_strides[d] = d == dim && idx->ndim == 1 ? idx->strides[0] : 0;
  }
  tn_tensor dst = restrided(&xs, xs.ndim, sizes, dst_strides);
  tn_tensor ix = restrided(idx, xs.ndim, sizes, idx_strides);
  tn_tensor from = *source;
  as_1d_if_scalar(&from);
  from = restrided(&from, xs.ndim, sizes, src ? from.strides : zeros);
  /* index_fill_ accepts negative indices, as in PyTorch */
  tn_index_spec spec = {fn, dim, !src, xs.sizes[dim], xs.strides[dim], base};
  return run_scatter(fn, x, &dst, &ix, &from, &spec, reduce, alpha, owned_idx, owned_src);
}

/* ---- take and put_ ---- */

tn_tensor *tn_take(tn_tensor *out, const tn_tensor *x, const tn_tensor *index, int64_t base) {
  const char *fn = "take";
  tn_tensor *owned_idx;
  const tn_tensor *idx = int64_index(fn, index, x, &owned_idx);
  if (!idx) return NULL;
  tn_tensor *flat = NULL, *result = NULL;
  if (check_out_not_input(fn, out, x) || check_out_not_input(fn, out, idx)) goto done;
  if (!(flat = tn_contiguous(x))) goto done;
  if (!(result = tn_prepare_out(fn, out, idx->ndim, idx->sizes, x->dtype, x))) goto done;
  if (result->numel > 0) {
    int64_t zeros[TN_MAX_DIMS] = {0};
    tn_tensor src = restrided(flat, idx->ndim, idx->sizes, zeros);
    tn_index_spec spec = {fn, -1, 1, x->numel, 1, base};
    tn_backend *b = tn_backend_of(fn, x);
    b = TN_WITH_KERNEL(fn, b, gather);
    tn_bump_version(result);
    if (!b || b->gather(result, &src, idx, &spec)) {
      if (result != out) tn_tensor_free(result);
      result = NULL;
    }
  }
done:
  tn_tensor_free(flat);
  tn_tensor_free(owned_idx);
  return result;
}

int tn_put_(tn_tensor *x, const tn_tensor *index, const tn_tensor *src, int accumulate, int64_t base) {
  const char *fn = "put_";
  if (check_writable(fn, x) || check_same_device(fn, x, src, "src") || check_same_dtype(fn, x, src, "src")) return -1;
  if (index->numel != src->numel)
    return tn_error("%s: the index has %lld elements but src has %lld (they must match)", fn,
                    (long long)index->numel, (long long)src->numel);
  tn_tensor *owned_idx;
  const tn_tensor *idx = int64_index(fn, index, x, &owned_idx);
  if (!idx) return -1;
  int rc = -1;
  /* the elements in row-major order: x itself when contiguous, else a copy written back at the end */
  tn_tensor *work = tn_is_contiguous(x) ? x : tn_clone(x);
  tn_tensor *flat_idx = tn_contiguous(idx), *flat_src = tn_contiguous(src);
  if (!work || !flat_idx || !flat_src) goto done;
  if (flat_src->storage == x->storage) {
    tn_tensor *copy = tn_clone(flat_src);
    tn_tensor_free(flat_src);
    if (!(flat_src = copy)) goto done;
  }
  int64_t n = idx->numel, one = 1, zero = 0;
  tn_tensor dst = restrided(work, 1, &n, &zero), ix = restrided(flat_idx, 1, &n, &one);
  tn_tensor from = restrided(flat_src, 1, &n, &one);
  tn_index_spec spec = {fn, -1, 1, x->numel, 1, base};
  if (n > 0) {
    tn_backend *b = tn_backend_of(fn, x);
    b = TN_WITH_KERNEL(fn, b, scatter);
    tn_bump_version(x);
    if (!b || b->scatter(&dst, &ix, &from, &spec, accumulate ? TN_SCATTER_ADD : TN_SCATTER_SET, 1)) goto done;
  }
  rc = work == x ? 0 : tn_copy_(x, work);
done:
  if (work != x) tn_tensor_free(work);
  tn_tensor_free(flat_idx);
  tn_tensor_free(flat_src);
  tn_tensor_free(owned_idx);
  return rc;
}

/* ---- masks ---- */

/* mask viewed with x's shape, or an error when it does not broadcast to it */
static int mask_view_of(const char *fn, const tn_tensor *x, const tn_tensor *mask, tn_tensor *view) {
  int64_t shape[TN_MAX_DIMS];
  char a[TN_SHAPE_STR], b[TN_SHAPE_STR];
  int ndim = tn_broadcast_shapes(x->ndim, x->sizes, mask->ndim, mask->sizes, shape);
  if (ndim != x->ndim || memcmp(shape, x->sizes, sizeof(int64_t) * (size_t)ndim))
    return tn_error("%s: the mask of size %s does not broadcast to the tensor's size %s", fn,
                    tn_format_shape(a, sizeof a, mask->ndim, mask->sizes),
                    tn_format_shape(b, sizeof b, x->ndim, x->sizes));
  *view = broadcast_view(mask, x->ndim, x->sizes);
  return 0;
}

int64_t tn_count_nonzero(const tn_tensor *x) {
  tn_backend *b = tn_backend_of("count_nonzero", x);
  if (!(b = TN_WITH_KERNEL("count_nonzero", b, count_nonzero))) return -1;
  return x->numel ? b->count_nonzero(x) : 0;
}

int tn_masked_fill_(tn_tensor *x, const tn_tensor *mask, double value) {
  const char *fn = "masked_fill_";
  tn_tensor view;
  if (check_mask(fn, mask, x) || check_writable(fn, x) || mask_view_of(fn, x, mask, &view) ||
      check_value(fn, x->dtype, value, "the value"))
    return -1;
  if (x->numel == 0) return 0;
  tn_tensor *copy = NULL;
  if (mask->storage == x->storage) { /* x:masked_fill_(x, v) on a bool x: read the mask from a copy */
    if (!(copy = tn_clone(mask))) return -1;
    view = broadcast_view(copy, x->ndim, x->sizes);
  }
  tn_backend *b = tn_backend_of(fn, x);
  b = TN_WITH_KERNEL(fn, b, masked_fill);
  tn_bump_version(x);
  int rc = b ? b->masked_fill(x, &view, value) : -1;
  tn_tensor_free(copy);
  return rc;
}

tn_tensor *tn_masked_select(tn_tensor *out, const tn_tensor *x, const tn_tensor *mask) {
  const char *fn = "masked_select";
  int64_t shape[TN_MAX_DIMS];
  if (check_mask(fn, mask, x) || check_out_not_input(fn, out, x) || check_out_not_input(fn, out, mask)) return NULL;
  int ndim = tn_broadcast_shapes(x->ndim, x->sizes, mask->ndim, mask->sizes, shape);
  if (ndim < 0) return tn_error_null("%s: %s", fn, tn_last_error());
  tn_tensor xv = broadcast_view(x, ndim, shape), mv = broadcast_view(mask, ndim, shape);
  tn_backend *b = tn_backend_of(fn, x);
  if (!(b = TN_WITH_KERNEL(fn, b, masked_select)) || !(b = TN_WITH_KERNEL(fn, b, count_nonzero))) return NULL;
  int64_t count = xv.numel ? b->count_nonzero(&mv) : 0;
  if (count < 0) return NULL;
  tn_tensor *result = tn_prepare_out(fn, out, 1, &count, x->dtype, x);
  if (!result) return NULL;
  if (count > 0) {
    tn_bump_version(result);
    if (b->masked_select(result, &xv, &mv)) {
      if (result != out) tn_tensor_free(result);
      return NULL;
    }
  }
  return result;
}

int tn_masked_scatter_(tn_tensor *x, const tn_tensor *mask, const tn_tensor *src) {
  const char *fn = "masked_scatter_";
  tn_tensor view;
  if (check_mask(fn, mask, x) || check_writable(fn, x) || mask_view_of(fn, x, mask, &view) ||
      check_same_device(fn, x, src, "src") || check_same_dtype(fn, x, src, "src"))
    return -1;
  tn_backend *b = tn_backend_of(fn, x);
  if (!(b = TN_WITH_KERNEL(fn, b, masked_scatter)) || !(b = TN_WITH_KERNEL(fn, b, count_nonzero))) return -1;
  int64_t count = x->numel ? b->count_nonzero(&view) : 0;
  if (count < 0) return -1;
  if (src->numel < count)
    return tn_error("%s: the mask selects %lld elements but src has only %lld", fn, (long long)count,
                    (long long)src->numel);
  if (count == 0) return 0;
  tn_tensor *mask_copy = NULL, *flat = NULL;
  int rc = -1;
  if (mask->storage == x->storage) {
    if (!(mask_copy = tn_clone(mask))) return -1;
    view = broadcast_view(mask_copy, x->ndim, x->sizes);
  }
  flat = src->storage == x->storage ? tn_clone(src) : tn_contiguous(src);
  if (flat) {
    int64_t n = src->numel, one = 1;
    tn_tensor line = restrided(flat, 1, &n, &one);
    tn_bump_version(x);
    rc = b->masked_scatter(x, &view, &line);
  }
  tn_tensor_free(flat);
  tn_tensor_free(mask_copy);
  return rc;
}

/* ---- nonzero ---- */

tn_tensor *tn_nonzero(tn_tensor *out, const tn_tensor *x, int64_t base) {
  const char *fn = "nonzero";
  if (check_out_not_input(fn, out, x)) return NULL;
  tn_backend *b = tn_backend_of(fn, x);
  if (!(b = TN_WITH_KERNEL(fn, b, nonzero)) || !(b = TN_WITH_KERNEL(fn, b, count_nonzero))) return NULL;
  int64_t count = x->numel ? b->count_nonzero(x) : 0;
  if (count < 0) return NULL;
  int64_t sizes[2] = {count, x->ndim};
  tn_tensor *result = tn_prepare_out(fn, out, 2, sizes, TN_INT64, x);
  if (!result) return NULL;
  if (result->numel == 0) return result;
  /* the kernel writes rows of coordinates: into result, or into a contiguous tensor copied to out= */
  tn_tensor *target = tn_is_contiguous(result) ? result : tn_empty_like(result);
  int rc = target ? b->nonzero(target, x, base) : -1;
  if (rc == 0 && target != result) rc = tn_copy_(result, target);
  if (target != result) tn_tensor_free(target);
  if (rc == 0) tn_bump_version(result);
  if (rc && result != out) tn_tensor_free(result);
  return rc ? NULL : result;
}
