/* optim.c: optimizer updates fused into one pass, for the optimizers of lua/tensor/optim. */
#include "../backend.h"
#include "../internal.h"


int tn_sgd_momentum_(tn_tensor *param, const tn_tensor *grad, tn_tensor *buf, double lr, double momentum) {
  const char *fn = "sgd_momentum_";
  if (!param || !grad || !buf) return tn_error("%s: expected three tensors, got NULL", fn);
  const tn_tensor *ts[3] = {param, grad, buf};
  for (int i = 0; i < 3; i++) {
    if (!tn_dtype_is_floating(ts[i]->dtype))
      return tn_error("%s: expected floating tensors, got %s", fn, tn_dtype_name(ts[i]->dtype));
    if (ts[i]->dtype != param->dtype)
      return tn_error("%s: the tensors' dtypes differ (%s and %s)", fn, tn_dtype_name(param->dtype),
                      tn_dtype_name(ts[i]->dtype));
    if (!tn_same_shape(ts[i], param)) {
      char a[TN_SHAPE_STR], b[TN_SHAPE_STR];
      return tn_error("%s: the tensors' shapes differ (%s and %s)", fn,
                      tn_format_shape(a, sizeof a, param->ndim, param->sizes),
                      tn_format_shape(b, sizeof b, ts[i]->ndim, ts[i]->sizes));
    }
    if (ts[i]->storage->device_type != param->storage->device_type ||
        ts[i]->storage->device_index != param->storage->device_index)
      return tn_error("%s: the tensors are on different devices", fn);
  }
  const tn_backend *be = tn_backend_of(fn, param);
  if (!be) return -1;
  if (be->sgd_momentum && param->dtype == TN_FLOAT32 && tn_is_contiguous(param) && tn_is_contiguous(grad) &&
      tn_is_contiguous(buf) && param->storage != buf->storage && param->storage != grad->storage) {
    tn_bump_version(param);
    tn_bump_version(buf);
    return be->sgd_momentum(param, grad, buf, lr, momentum);
  }
  if (!tn_binary(TN_ADD, buf, grad, buf, momentum, 0, buf->dtype)) return -1;
  return tn_binary(TN_ADD, param, param, buf, -lr, 0, param->dtype) ? 0 : -1;
}
