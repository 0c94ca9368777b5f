/* copy.c: copy_, fill_, contiguous, clone and conversion between dtypes and devices. */
#include "../backend.h"
#include "../internal.h"

int tn_copy_(tn_tensor *dst, const tn_tensor *src) {
  int64_t shape[TN_MAX_DIMS];
  char a[TN_SHAPE_STR], b[TN_SHAPE_STR];
  if (src->ndim > dst->ndim || tn_broadcast_shapes(dst->ndim, dst->sizes, src->ndim, src->sizes, shape) < 0 ||
      tn_shape_numel(dst->ndim, shape) != dst->numel)
    return tn_error("copy_: cannot copy a tensor of size %s into one of size %s",
                    tn_format_shape(a, sizeof a, src->ndim, src->sizes),
                    tn_format_shape(b, sizeof b, dst->ndim, dst->sizes));
  if (dst->numel == 0) return 0;
  /* Cross-device copies belong to the non-CPU side's backend. */
  int device = dst->storage->device_type != TN_CPU ? dst->storage->device_type : src->storage->device_type;
  tn_backend *backend = tn_backend_for_device("copy_", device);
  if (!backend) return -1;
  tn_bump_version(dst);
  return backend->copy(dst, src);
}

int tn_fill_(tn_tensor *t, double value) {
  tn_backend *backend = tn_backend_of("fill_", t);
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
