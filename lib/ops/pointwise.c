/* pointwise.c: element-wise arithmetic with broadcasting and PyTorch's type promotion. */
#include "../backend.h"
#include "../internal.h"

static bool is_int(int dtype) { return dtype >= TN_INT64 && dtype <= TN_UINT8; }

/* PyTorch's promote_types for two dtypes. */
int tn_promote_types(int a, int b) {
  if (a == b) return a;
  if (a == TN_BOOL) return b;
  if (b == TN_BOOL) return a;
  bool fa = tn_dtype_is_floating(a), fb = tn_dtype_is_floating(b);
  if (fa && !fb) return a;
  if (fb && !fa) return b;
  if (fa && fb) {
    if (a == TN_FLOAT64 || b == TN_FLOAT64) return TN_FLOAT64;
    return TN_FLOAT32; /* float32 with a 16-bit type, or float16 with bfloat16 */
  }
  /* two different integer types */
  if (a == TN_UINT8 || b == TN_UINT8) {
    int other = a == TN_UINT8 ? b : a;
    return other == TN_INT8 ? TN_INT16 : other;
  }
  return tn_dtype_size(a) > tn_dtype_size(b) ? a : b;
}

static const char *const op_names[] = {"add", "sub", "mul", "div"};

tn_tensor *tn_binary(int op, tn_tensor *out, const tn_tensor *a, const tn_tensor *b) {
  if (op < TN_ADD || op > TN_DIV) return tn_error_null("binary: unknown op %d", op);
  const char *fn = op_names[op];
  if (a->storage->device_type != b->storage->device_type || a->storage->device_index != b->storage->device_index)
    return tn_error_null("%s: the operands are on different devices", fn);
  int64_t shape[TN_MAX_DIMS];
  int ndim = tn_broadcast_shapes(a->ndim, a->sizes, b->ndim, b->sizes, shape);
  if (ndim < 0) return tn_error_null("%s: %s", fn, tn_last_error());
  int dtype = tn_promote_types(a->dtype, b->dtype);
  if (op == TN_SUB && dtype == TN_BOOL) return tn_error_null("sub: subtraction of bool tensors is not supported");
  if (op == TN_DIV && (is_int(dtype) || dtype == TN_BOOL)) dtype = TN_FLOAT32;
  tn_backend *backend = tn_backend_of(fn, a);
  if (!backend) return NULL;
  /* Inputs of another dtype are converted first; the kernels see one dtype. */
  tn_tensor *ca = a->dtype == dtype ? NULL : tn_to(a, dtype, a->storage->device_type, a->storage->device_index);
  tn_tensor *cb = b->dtype == dtype ? NULL : tn_to(b, dtype, b->storage->device_type, b->storage->device_index);
  tn_tensor *result = NULL;
  if ((a->dtype == dtype || ca) && (b->dtype == dtype || cb)) {
    result = tn_prepare_out(fn, out, ndim, shape, dtype, a);
    if (result) {
      tn_bump_version(result);
      if (result->numel && backend->binary(op, result, ca ? ca : a, cb ? cb : b)) {
        if (result != out) tn_tensor_free(result);
        result = NULL;
      }
    }
  }
  tn_tensor_free(ca);
  tn_tensor_free(cb);
  return result;
}
