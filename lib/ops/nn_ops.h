/* nn_ops.h: argument checks and small helpers shared by the nn entry points (conv.c, pool.c, softmax.c,
 * loss.c, norm.c, nn.c). */
#ifndef TN_NN_OPS_H
#define TN_NN_OPS_H

#include "../backend.h"
#include "../internal.h"

#include <stdio.h>

/* "[2 x 3]" of a tensor, into a caller's buffer of TN_SHAPE_STR bytes */
static inline const char *tn_nn_shape(char *buf, const tn_tensor *t) {
  return tn_format_shape(buf, TN_SHAPE_STR, t->ndim, t->sizes);
}

/* A data tensor of an nn op must be float32 or float64. */
static inline int tn_nn_check_float(const char *fn, const char *what, const tn_tensor *t) {
  if (t->dtype != TN_FLOAT32 && t->dtype != TN_FLOAT64)
    return tn_error("%s: expected a float32 or float64 %s, got %s", fn, what, tn_dtype_name(t->dtype));
  return 0;
}

/* t (may be NULL) must share the dtype and device of ref. */
static inline int tn_nn_check_like(const char *fn, const char *what, const tn_tensor *t, const char *ref_what,
                                   const tn_tensor *ref) {
  if (!t) return 0;
  if (t->dtype != ref->dtype)
    return tn_error("%s: the %s is %s but the %s is %s", fn, ref_what, tn_dtype_name(ref->dtype), what,
                    tn_dtype_name(t->dtype));
  if (t->storage->device_type != ref->storage->device_type || t->storage->device_index != ref->storage->device_index)
    return tn_error("%s: the %s and the %s are on different devices", fn, ref_what, what);
  return 0;
}

/* t (may be NULL) must be on ref's device (any dtype). */
static inline int tn_nn_check_device(const char *fn, const char *what, const tn_tensor *t, const char *ref_what,
                                     const tn_tensor *ref) {
  if (t && (t->storage->device_type != ref->storage->device_type ||
            t->storage->device_index != ref->storage->device_index))
    return tn_error("%s: the %s and the %s are on different devices", fn, ref_what, what);
  return 0;
}

/* t must have exactly the given shape. */
static inline int tn_nn_check_shape(const char *fn, const char *what, const tn_tensor *t, int ndim,
                                    const int64_t *sizes) {
  bool same = t->ndim == ndim;
  for (int d = 0; same && d < ndim; d++) same = t->sizes[d] == sizes[d];
  if (!same) {
    char a[TN_SHAPE_STR], b[TN_SHAPE_STR];
    return tn_error("%s: expected %s of size %s, got %s", fn, what, tn_format_shape(a, sizeof a, ndim, sizes),
                    tn_nn_shape(b, t));
  }
  return 0;
}

/* A contiguous version of t (t itself, shared, when it already is); NULL passes through. Returns -1 on error. */
static inline int tn_nn_contiguous(const tn_tensor *t, tn_tensor **c) {
  *c = NULL;
  if (!t) return 0;
  *c = tn_contiguous(t);
  return *c ? 0 : -1;
}

/* A new contiguous tensor of the given shape on ref's device. */
static inline tn_tensor *tn_nn_empty(int ndim, const int64_t *sizes, int dtype, const tn_tensor *ref) {
  return tn_empty(ndim, sizes, dtype, ref->storage->device_type, ref->storage->device_index);
}

/* Stores r into *slot when the caller wants it, else frees it. */
static inline void tn_nn_give(tn_tensor **slot, tn_tensor *r) {
  if (slot)
    *slot = r;
  else
    tn_tensor_free(r);
}

/* Checks that every value of an integer index tensor lies in [base, base + count) or equals `skip` (INT64_MIN
 * for none: nothing is exempt); what names the values ("target", "index") in the error, which gives the
 * bad value and the valid range. CPU tensors are checked here; other devices check in their kernels. */
int tn_nn_check_indices(const char *fn, const char *what, const tn_tensor *idx, int64_t count, int64_t base,
                        int64_t skip, const char *count_what);

/* An int64 contiguous version of an integer tensor (shared when it already is one). */
tn_tensor *tn_nn_int64(const char *fn, const char *what, const tn_tensor *t);

#endif /* TN_NN_OPS_H */
