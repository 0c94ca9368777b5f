/* reduce.c: reductions and cumulative ops: argument checks (dims, dtypes, empty selections), PyTorch's result
 * dtypes, out= handling, then the backend's kernels (the TN_RK_* kernels of reduce_ops.h). */
#include "../backend.h"
#include "../internal.h"
#include "../reduce_ops.h"

#include <math.h>

/* ---- what each public op needs ---- */

enum { INPUT_ANY, INPUT_FLOATING, INPUT_TO_FLOAT };               /* integer inputs: any, refused, to float32 */
enum { RESULT_SAME, RESULT_SUM, RESULT_BOOL, RESULT_INT64, RESULT_NONE }; /* SUM: floating same, else int64 */

typedef struct op_spec {
  const char *name;
  int kernel;       /* TN_RK_*; norm and nansum adjust it */
  int input;        /* INPUT_* */
  int result;       /* RESULT_* of the first result */
  int result2;      /* RESULT_* of the second (two-result ops) */
  bool takes_dtype; /* accepts a dtype to convert the input to */
  bool nonempty;    /* an empty selection is an error (max, min, arg...) */
  bool one_dim;     /* at most one dim: none flattens (argmax), or exactly one (max(dim)) */
} op_spec;

static const op_spec reduce_specs[TN_NUM_REDUCE_OPS] = {
    [TN_SUM] = {"sum", TN_RK_SUM, INPUT_ANY, RESULT_SUM, RESULT_NONE, true, false, false},
    [TN_NANSUM] = {"nansum", TN_RK_NANSUM, INPUT_ANY, RESULT_SUM, RESULT_NONE, true, false, false},
    [TN_MEAN] = {"mean", TN_RK_MEAN, INPUT_FLOATING, RESULT_SAME, RESULT_NONE, true, false, false},
    [TN_NANMEAN] = {"nanmean", TN_RK_MEAN, INPUT_FLOATING, RESULT_SAME, RESULT_NONE, true, false, false},
    [TN_PROD] = {"prod", TN_RK_PROD, INPUT_ANY, RESULT_SUM, RESULT_NONE, true, false, false},
    [TN_AMAX] = {"amax", TN_RK_AMAX, INPUT_ANY, RESULT_SAME, RESULT_NONE, false, true, false},
    [TN_AMIN] = {"amin", TN_RK_AMIN, INPUT_ANY, RESULT_SAME, RESULT_NONE, false, true, false},
    [TN_ALL] = {"all", TN_RK_ALL, INPUT_ANY, RESULT_BOOL, RESULT_NONE, false, false, false},
    [TN_ANY] = {"any", TN_RK_ANY, INPUT_ANY, RESULT_BOOL, RESULT_NONE, false, false, false},
    [TN_COUNT_NONZERO] = {"count_nonzero", TN_RK_COUNT_NONZERO, INPUT_ANY, RESULT_INT64, RESULT_NONE, false, false,
                          false},
    [TN_NORM] = {"norm", TN_RK_NORM2, INPUT_FLOATING, RESULT_SAME, RESULT_NONE, true, false, false},
    [TN_VAR] = {"var", TN_RK_VAR, INPUT_FLOATING, RESULT_SAME, RESULT_NONE, false, false, false},
    [TN_STD] = {"std", TN_RK_STD, INPUT_FLOATING, RESULT_SAME, RESULT_NONE, false, false, false},
    [TN_LOGSUMEXP] = {"logsumexp", TN_RK_LOGSUMEXP, INPUT_TO_FLOAT, RESULT_SAME, RESULT_NONE, true, false, false},
    [TN_ARGMAX] = {"argmax", TN_RK_ARGMAX, INPUT_ANY, RESULT_INT64, RESULT_NONE, false, true, true},
    [TN_ARGMIN] = {"argmin", TN_RK_ARGMIN, INPUT_ANY, RESULT_INT64, RESULT_NONE, false, true, true},
};

static const op_spec reduce2_specs[TN_NUM_REDUCE2_OPS] = {
    [TN_MAX_DIM] = {"max", TN_RK_MAX, INPUT_ANY, RESULT_SAME, RESULT_INT64, false, true, true},
    [TN_MIN_DIM] = {"min", TN_RK_MIN, INPUT_ANY, RESULT_SAME, RESULT_INT64, false, true, true},
    [TN_AMINMAX] = {"aminmax", TN_RK_AMINMAX, INPUT_ANY, RESULT_SAME, RESULT_SAME, false, true, false},
    [TN_VAR_MEAN] = {"var_mean", TN_RK_VAR, INPUT_FLOATING, RESULT_SAME, RESULT_SAME, false, false, false},
    [TN_STD_MEAN] = {"std_mean", TN_RK_STD, INPUT_FLOATING, RESULT_SAME, RESULT_SAME, false, false, false},
};

/* A reduction ready to run: its kernel, its input (converted or flattened when needed) and result dtypes. */
typedef struct reduction {
  const op_spec *spec;
  const char *fn;
  int kernel;
  const tn_tensor *x;  /* what the kernel reads */
  tn_tensor *owned;    /* x when it is a converted or flattened copy */
  int orig_ndim;       /* dims of the caller's input (argmax over everything flattens it) */
  const int64_t *orig_sizes;
  uint32_t mask;       /* the reduced dims of x */
  bool flattened;
  int dtype[2];        /* the kernel's result dtypes (-1: none) */
  int final_dtype;     /* the first result's dtype when the caller asked for one (sum(dtype=int32)), else -1 */
  double p;
} reduction;

static void reduction_free(reduction *r) { tn_tensor_free(r->owned); }

static int result_dtype(int rule, int in) {
  switch (rule) {
    case RESULT_SAME: return in;
    case RESULT_SUM: return tn_dtype_is_floating(in) ? in : TN_INT64;
    case RESULT_BOOL: return in == TN_UINT8 ? TN_UINT8 : TN_BOOL;
    case RESULT_INT64: return TN_INT64;
    default: return -1;
  }
}

/* The reduced dims as a bit mask; all dims when none are listed. */
static int reduced_mask(const char *fn, const tn_tensor *x, int ndims, const int32_t *dims, uint32_t *mask) {
  int nd = x->ndim;
  *mask = 0;
  if (ndims <= 0 || !dims) {
    *mask = nd ? (uint32_t)((1ull << nd) - 1) : 0;
    return 0;
  }
  for (int i = 0; i < ndims; i++) {
    int d = tn_wrap_dim(fn, dims[i], nd ? nd : 1); /* a 0-d tensor takes dim 0 (or -1) */
    if (d < 0) return -1;
    if (nd == 0) continue;
    if ((*mask >> d) & 1) return tn_error("%s: dimension %d appears more than once in the list of dims", fn, d + 1);
    *mask |= 1u << d;
  }
  return 0;
}

static int check_nonempty(const char *fn, const tn_tensor *x, uint32_t mask, bool all_dims) {
  if (x->numel != 0) return 0;
  char shape[TN_SHAPE_STR];
  if (all_dims)
    return tn_error("%s: the tensor is empty (size %s) and has no %s; reduce over a nonempty dimension instead", fn,
                    tn_format_shape(shape, sizeof shape, x->ndim, x->sizes),
                    fn[0] == 'a' && fn[1] == 'r' ? "extreme element" : "extreme value");
  for (int d = 0; d < x->ndim; d++)
    if (((mask >> d) & 1) && x->sizes[d] == 0)
      return tn_error("%s: cannot reduce over dimension %d of size 0 (the tensor has size %s)", fn, d + 1,
                      tn_format_shape(shape, sizeof shape, x->ndim, x->sizes));
  return 0;
}

static int kernel_for(const op_spec *spec, int dtype, double p, int *kernel) {
  *kernel = spec->kernel;
  if (spec->kernel == TN_RK_NANSUM && !tn_dtype_is_floating(dtype)) *kernel = TN_RK_SUM;
  if (spec->kernel == TN_RK_NORM2) {
    if (isnan(p)) return tn_error("norm: the order p is NaN");
    *kernel = isinf(p) ? (p > 0 ? TN_RK_NORM_INF : TN_RK_NORM_NINF)
            : p == 0   ? TN_RK_NORM0
            : p == 1   ? TN_RK_NORM1
            : p == 2   ? TN_RK_NORM2
                       : TN_RK_NORMP;
  }
  return 0;
}

static int prepare(reduction *r, const op_spec *spec, const tn_tensor *x, int ndims, const int32_t *dims, int dtype,
                   double p) {
  const char *fn = spec->name;
  *r = (reduction){.spec = spec, .fn = fn, .x = x, .orig_ndim = x->ndim, .orig_sizes = x->sizes, .p = p,
                   .dtype = {-1, -1}, .final_dtype = dtype};
  if (dtype >= 0 && !spec->takes_dtype) return tn_error("%s: does not take a dtype", fn);
  if (dtype >= 0 && !tn_valid_dtype(dtype)) return tn_error("%s: unknown dtype %d", fn, dtype);
  if (spec->one_dim && ndims > 1) return tn_error("%s: expected at most one dim, got %d", fn, ndims);
  if (reduced_mask(fn, x, ndims, dims, &r->mask)) return -1;
  if (spec->nonempty && check_nonempty(fn, x, r->mask, ndims <= 0 || !dims)) return -1;

  int target = dtype >= 0 ? dtype : x->dtype;
  if (!tn_dtype_is_floating(target)) {
    if (spec->input == INPUT_FLOATING)
      return tn_error("%s: expected a floating point tensor, got %s (convert with :float() or pass a floating dtype)",
                      fn, tn_dtype_name(target));
    if (spec->input == INPUT_TO_FLOAT && dtype < 0) target = TN_FLOAT32;
    if (spec->input == INPUT_TO_FLOAT && !tn_dtype_is_floating(target))
      return tn_error("%s: expected a floating point dtype, got %s", fn, tn_dtype_name(target));
  }
  if (spec->kernel == TN_RK_NORM2 && !tn_dtype_is_floating(target))
    return tn_error("norm: expected a floating point tensor, got %s", tn_dtype_name(target));
  if (kernel_for(spec, target, p, &r->kernel)) return -1;
  r->dtype[0] = result_dtype(spec->result, target);
  r->dtype[1] = result_dtype(spec->result2, target);

  /* the input the kernel reads: converted to the target dtype, and flattened for an arg over everything */
  if (target != x->dtype) {
    r->owned = tn_to(x, target, x->storage->device_type, x->storage->device_index);
    if (!r->owned) return -1;
    r->x = r->owned;
  }
  if (spec->one_dim && (ndims <= 0 || !dims) && r->x->ndim != 1) {
    int64_t n = r->x->numel;
    tn_tensor *flat = tn_reshape(r->x, 1, &n);
    if (!flat) return -1;
    tn_tensor_free(r->owned);
    r->owned = flat;
    r->x = flat;
    r->mask = 1;
    r->flattened = true;
  }
  return 0;
}

/* The result's shape: the input's without the reduced dims (size 1 with keepdim). */
static int result_shape(const reduction *r, bool keepdim, int64_t *shape) {
  int n = 0;
  if (r->flattened) {
    if (keepdim)
      for (int d = 0; d < r->orig_ndim; d++) shape[n++] = 1;
    return n;
  }
  for (int d = 0; d < r->x->ndim; d++) {
    if ((r->mask >> d) & 1) {
      if (keepdim) shape[n++] = 1;
    } else {
      shape[n++] = r->x->sizes[d];
    }
  }
  return n;
}

/* The header the kernel writes through: res with the kernel input's dims, size 1 and stride 0 where reduced. */
static tn_tensor kernel_view(const reduction *r, const tn_tensor *res, bool keepdim) {
  tn_tensor v = *res;
  v.ndim = r->x->ndim;
  for (int d = 0, j = 0; d < r->x->ndim; d++) {
    if ((r->mask >> d) & 1) {
      v.sizes[d] = 1;
      v.strides[d] = 0;
      if (keepdim && !r->flattened) j++;
    } else {
      v.sizes[d] = res->sizes[j];
      v.strides[d] = res->strides[j];
      j++;
    }
  }
  return v;
}

static bool shares_memory(const tn_tensor *a, const tn_tensor *b) { return a && b && a->storage == b->storage; }

static int check_out(const char *fn, const tn_tensor *out) {
  for (int d = 0; d < out->ndim; d++)
    if (out->strides[d] == 0 && out->sizes[d] > 1)
      return tn_error("%s: out= has several elements at one memory location (an expanded tensor)", fn);
  return 0;
}

/* Runs the reduction into outs[0..nres) (NULL: allocate); on success outs hold the results. */
static int execute(reduction *r, tn_tensor **outs, int nres, bool keepdim) {
  const char *fn = r->fn;
  tn_backend *b = tn_backend_of(fn, r->x);
  b = TN_WITH_KERNEL(fn, b, reduce);
  if (!b) return -1;
  int64_t shape[TN_MAX_DIMS];
  int ndim = result_shape(r, keepdim, shape);
  int dev = r->x->storage->device_type, index = r->x->storage->device_index;
  tn_tensor *target[2] = {NULL, NULL}, *result[2] = {NULL, NULL};
  int rc = -1;
  for (int i = 0; i < nres; i++) {
    int want = i == 0 && r->final_dtype >= 0 ? r->final_dtype : r->dtype[i];
    tn_tensor *out = outs[i];
    if (out && (!tn_prepare_out(fn, out, ndim, shape, want, r->x) || check_out(fn, out))) goto done;
    /* the kernel writes its own dtype; a result in another dtype, or sharing memory with the input (or the
     * other out=), is computed aside and then copied */
    bool direct = out && want == r->dtype[i] && !shares_memory(out, r->x) && !(i == 1 && shares_memory(out, outs[0]));
    bool fresh = !out && want == r->dtype[i];
    target[i] = direct ? out : tn_empty(ndim, shape, r->dtype[i], dev, index);
    if (!target[i]) goto done;
    result[i] = out ? out : fresh ? target[i] : NULL;
  }
  tn_tensor v0 = kernel_view(r, target[0], keepdim), v1 = v0;
  if (nres > 1) v1 = kernel_view(r, target[1], keepdim);
  for (int i = 0; i < nres; i++) tn_bump_version(target[i]);
  if (b->reduce(r->kernel, &v0, nres > 1 ? &v1 : NULL, r->x, r->mask, r->p)) goto done;
  for (int i = 0; i < nres; i++) {
    if (result[i] == target[i]) continue;
    if (result[i]) {
      if (tn_copy_(result[i], target[i])) goto done;
    } else if (!(result[i] = tn_to(target[i], r->final_dtype, dev, index))) {
      goto done;
    }
  }
  rc = 0;
done:
  for (int i = 0; i < nres; i++) {
    bool keep_target = rc == 0 && target[i] == result[i];
    if (target[i] && target[i] != outs[i] && !keep_target) tn_tensor_free(target[i]);
    if (rc && result[i] && result[i] != outs[i] && result[i] != target[i]) tn_tensor_free(result[i]);
    if (rc == 0) outs[i] = result[i];
  }
  return rc;
}

/* nanmean = nansum / the number of non-NaN elements */
static tn_tensor *nanmean(tn_tensor *out, const tn_tensor *x, int ndims, const int32_t *dims, int keepdim, int dtype) {
  int target = dtype >= 0 ? dtype : x->dtype;
  if (!tn_valid_dtype(target)) return tn_error_null("nanmean: unknown dtype %d", dtype);
  if (!tn_dtype_is_floating(target))
    return tn_error_null("nanmean: expected a floating point tensor, got %s (convert with :float() or pass a "
                         "floating dtype)", tn_dtype_name(target));
  tn_tensor *sum = tn_reduce(TN_NANSUM, NULL, x, ndims, dims, keepdim, dtype, 0), *result = NULL;
  tn_tensor *present = sum ? tn_binary(TN_EQ, NULL, x, x, 1, 0, TN_FLOAT32) : NULL;
  tn_tensor *count = present ? tn_reduce(TN_SUM, NULL, present, ndims, dims, keepdim, -1, 0) : NULL;
  if (count) result = tn_binary(TN_DIV, out, sum, count, 1, 0, target);
  tn_tensor_free(sum);
  tn_tensor_free(present);
  tn_tensor_free(count);
  return result;
}

tn_tensor *tn_reduce(int op, tn_tensor *out, const tn_tensor *x, int ndims, const int32_t *dims, int keepdim,
                     int dtype, double p) {
  if (op < 0 || op >= TN_NUM_REDUCE_OPS) return tn_error_null("reduce: unknown op %d", op);
  if (op == TN_NANMEAN) return nanmean(out, x, ndims, dims, keepdim, dtype);
  reduction r;
  tn_tensor *outs[2] = {out, NULL};
  int rc = prepare(&r, &reduce_specs[op], x, ndims, dims, dtype, p);
  if (rc == 0) rc = execute(&r, outs, 1, keepdim != 0);
  reduction_free(&r);
  return rc ? NULL : outs[0];
}

int tn_reduce2(int op, tn_tensor **outs, const tn_tensor *x, int ndims, const int32_t *dims, int keepdim, double p) {
  if (op < 0 || op >= TN_NUM_REDUCE2_OPS) return tn_error("reduce2: unknown op %d", op);
  const op_spec *spec = &reduce2_specs[op];
  if (spec->one_dim && (ndims != 1 || !dims))
    return tn_error("%s: expected one dim to reduce over, got %d", spec->name, dims ? ndims : 0);
  reduction r;
  tn_tensor *res[2] = {outs[0], outs[1]};
  int rc = prepare(&r, spec, x, ndims, dims, -1, p);
  if (rc == 0) rc = execute(&r, res, 2, keepdim != 0);
  reduction_free(&r);
  if (rc == 0) outs[0] = res[0], outs[1] = res[1];
  return rc;
}

/* ---- the value of a reduction over everything, without allocating ---- */

#define READ_CASE(ENUM, SUF, T, CT, KIND) \
  case ENUM: return (double)TN_LOAD_##KIND(*(const T *)p);
static double read_value(const void *p, int dtype) {
  switch (dtype) {
    TN_FOREACH_DTYPE(READ_CASE)
    default: return NAN;
  }
}

int tn_reduce_value(int op, const tn_tensor *x, int dtype, double p, double *value) {
  if (op < 0 || op >= TN_NUM_REDUCE_OPS) return tn_error("reduce: unknown op %d", op);
  const op_spec *spec = &reduce_specs[op];
  if (op == TN_NANMEAN || x->storage->device_type != TN_CPU || (dtype >= 0 && !tn_dtype_is_floating(dtype))) {
    /* through a 0-d result (integer dtypes: the result is cast to it) */
    tn_tensor *t = tn_reduce(op, NULL, x, 0, NULL, 0, dtype, p);
    if (!t) return -1;
    tn_tensor *host = t->storage->device_type == TN_CPU ? t : tn_to(t, t->dtype, TN_CPU, 0);
    if (host) *value = read_value(tn_base(host), host->dtype);
    if (host && host != t) tn_tensor_free(host);
    tn_tensor_free(t);
    return host ? 0 : -1;
  }
  reduction r;
  if (prepare(&r, spec, x, 0, NULL, dtype, p)) {
    reduction_free(&r);
    return -1;
  }
  /* the result lands in a stack slot seen as a tensor of the input's dims, all of size 1 */
  int64_t slot = 0;
  tn_storage storage = {.data = &slot, .nbytes = sizeof slot, .refcount = 1, .dtype = r.dtype[0],
                        .device_type = TN_CPU, .foreign = 1};
  tn_tensor out = {.storage = &storage, .numel = 1, .ndim = r.x->ndim, .dtype = r.dtype[0]};
  for (int d = 0; d < r.x->ndim; d++) out.sizes[d] = 1, out.strides[d] = 0;
  tn_backend *b = tn_backend_of(r.fn, r.x);
  b = TN_WITH_KERNEL(r.fn, b, reduce);
  int rc = b ? b->reduce(r.kernel, &out, NULL, r.x, r.mask, r.p) : -1;
  if (rc == 0) *value = read_value(&slot, r.dtype[0]);
  reduction_free(&r);
  return rc;
}

/* ---- cumulative ops ---- */

tn_tensor *tn_cumulative(int op, tn_tensor *out, const tn_tensor *x, int dim, int dtype, int reverse) {
  static const char *const names[TN_NUM_CUMULATIVE_OPS] = {"cumsum", "cumprod"};
  if (op < 0 || op >= TN_NUM_CUMULATIVE_OPS) return tn_error_null("cumulative: unknown op %d", op);
  const char *fn = names[op];
  int d = tn_wrap_dim(fn, dim, x->ndim ? x->ndim : 1);
  if (d < 0) return NULL;
  if (x->ndim == 0) d = 0;
  if (dtype >= 0 && !tn_valid_dtype(dtype)) return tn_error_null("%s: unknown dtype %d", fn, dtype);
  int target = dtype >= 0 ? dtype : x->dtype;
  int rdtype = tn_dtype_is_floating(target) ? target : TN_INT64;
  tn_backend *b = tn_backend_of(fn, x);
  b = TN_WITH_KERNEL(fn, b, cumulative);
  if (!b) return NULL;

  tn_tensor *converted = NULL, *target_t = NULL, *result = NULL;
  const tn_tensor *in = x;
  if (target != x->dtype) {
    if (!(converted = tn_to(x, target, x->storage->device_type, x->storage->device_index))) return NULL;
    in = converted;
  }
  bool in_place = out == x;
  if (in_place) {
    if (rdtype != x->dtype) {
      tn_error("%s_: the result of type %s cannot be written in place into a %s tensor", fn, tn_dtype_name(rdtype),
               tn_dtype_name(x->dtype));
      goto done;
    }
    if (check_out(fn, out)) goto done;
    target_t = out;
  } else {
    if (out && (!tn_prepare_out(fn, out, x->ndim, x->sizes, rdtype, x) || check_out(fn, out))) goto done;
    bool aside = !out || shares_memory(out, x);
    target_t = aside ? tn_empty(x->ndim, x->sizes, rdtype, x->storage->device_type, x->storage->device_index) : out;
    if (!target_t) goto done;
  }
  tn_bump_version(target_t);
  if (b->cumulative(op, target_t, in, d, reverse)) goto done;
  if (out && target_t != out && tn_copy_(out, target_t)) goto done;
  result = out ? out : target_t;
done:
  if (target_t && target_t != out && result != target_t) tn_tensor_free(target_t);
  tn_tensor_free(converted);
  return result;
}
