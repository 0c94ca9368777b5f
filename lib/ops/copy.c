/* copy.c: copy_, fill_, contiguous, clone and conversion between dtypes and devices. */
#include "../backend.h"
#include "../internal.h"

/* The storage elements [first, last] a non-empty tensor reaches (strides are never negative). */
static void element_span(const tn_tensor *t, int64_t *first, int64_t *last) {
  *first = *last = t->offset;
  for (int d = 0; d < t->ndim; d++) *last += (t->sizes[d] - 1) * t->strides[d];
}

/* True when src's elements may share memory with dst's, so that writing dst could change src mid-copy. */
static bool may_overlap(const tn_tensor *dst, const tn_tensor *src) {
  if (dst->storage != src->storage) return false;
  int64_t d0, d1, s0, s1, esize_d = tn_dtype_size(dst->dtype), esize_s = tn_dtype_size(src->dtype);
  element_span(dst, &d0, &d1);
  element_span(src, &s0, &s1);
  return d0 * esize_d < (s1 + 1) * esize_s && s0 * esize_s < (d1 + 1) * esize_d;
}

/* True when src broadcasts to dst's shape: each of its dims, aligned to the right, is dst's or 1. */
static bool broadcasts_to(const tn_tensor *src, const tn_tensor *dst) {
  if (src->ndim > dst->ndim) return false;
  for (int d = 1; d <= src->ndim; d++) {
    int64_t s = src->sizes[src->ndim - d];
    if (s != 1 && s != dst->sizes[dst->ndim - d]) return false;
  }
  return true;
}

int tn_copy_(tn_tensor *dst, const tn_tensor *src) {
  char a[TN_SHAPE_STR], b[TN_SHAPE_STR];
  if (!broadcasts_to(src, dst))
    return tn_error("copy_: cannot copy a tensor of size %s into one of size %s",
                    tn_format_shape(a, sizeof a, src->ndim, src->sizes),
                    tn_format_shape(b, sizeof b, dst->ndim, dst->sizes));
  if (dst->numel == 0) return 0;
  for (int d = 0; d < dst->ndim; d++)
    if (dst->strides[d] == 0 && dst->sizes[d] > 1)
      return tn_error("copy_: the destination of size %s has stride 0 at dimension %d (an expanded tensor): several "
                      "of its elements are one memory location; clone it first",
                      tn_format_shape(b, sizeof b, dst->ndim, dst->sizes), d + 1);
  /* Cross-device copies belong to the non-CPU side's backend. */
  int device = dst->storage->device_type != TN_CPU ? dst->storage->device_type : src->storage->device_type;
  tn_backend *backend = tn_backend_for_device("copy_", device);
  backend = TN_WITH_KERNEL("copy_", backend, copy);
  if (!backend) return -1;
  tn_bump_version(dst);
  if (!may_overlap(dst, src)) return backend->copy(dst, src);
  /* Source and destination share memory (x:copy_(x:t()), a shifted narrow): read from a snapshot of src. */
  tn_tensor *snapshot = tn_empty_like(src);
  if (!snapshot) return -1;
  int rc = backend->copy(snapshot, src);
  if (rc == 0) rc = backend->copy(dst, snapshot);
  tn_tensor_free(snapshot);
  return rc;
}

int tn_fill_(tn_tensor *t, double value) {
  tn_backend *backend = tn_backend_of("fill_", t);
  backend = TN_WITH_KERNEL("fill_", backend, fill);
  if (!backend) return -1;
  tn_bump_version(t);
  return t->numel ? backend->fill(t, value) : 0;
}

tn_tensor *tn_clone(const tn_tensor *t) {
  tn_tensor *r = tn_empty_like(t);
  if (r && tn_copy_(r, t)) {
    tn_tensor_free(r);
    return NULL;
  }
  return r;
}

tn_tensor *tn_contiguous(const tn_tensor *t) { return tn_is_contiguous(t) ? tn_alias(t) : tn_clone(t); }

tn_tensor *tn_to(const tn_tensor *t, int dtype, int device_type, int device_index) {
  if (!tn_valid_dtype(dtype)) return tn_error_null("to: unknown dtype %d", dtype);
  if (dtype == t->dtype && device_type == t->storage->device_type && device_index == t->storage->device_index)
    return tn_alias(t);
  tn_tensor *r = tn_empty(t->ndim, t->sizes, dtype, device_type, device_index);
  if (r && tn_copy_(r, t)) {
    tn_tensor_free(r);
    return NULL;
  }
  return r;
}
