/* pointwise.c: element-wise ops: argument checks, broadcasting, PyTorch's type promotion, out= and
 * in-place handling, then the backend's kernel. */
#include "../backend.h"
#include "../internal.h"
#include "stack_scalar.h"
#include "../pointwise_ops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- type promotion ---- */

static bool is_integral(int dtype) { return dtype >= TN_INT64 && dtype <= TN_UINT8; }

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
  if (a == TN_UINT8 || b == TN_UINT8) { /* uint8 with a signed type */
    int other = a == TN_UINT8 ? b : a;
    return other == TN_INT8 ? TN_INT16 : other;
  }
  return tn_dtype_size(a) > tn_dtype_size(b) ? a : b;
}

/* PyTorch's result_type: tensors with dims decide; 0-d tensors and then wrapped numbers only matter when
 * they belong to a higher category (bool < integer < floating). */
typedef struct promotion {
  int dims, zero_dim, wrapped; /* -1 while unset */
} promotion;

static void promote_with(int *slot, int dtype) { *slot = *slot < 0 ? dtype : tn_promote_types(*slot, dtype); }

static int category(int dtype) { return dtype == TN_BOOL ? 0 : is_integral(dtype) ? 1 : 2; }

/* The higher-priority result, unless the lower one is of a higher category. */
static int combine(int higher, int lower) {
  if (higher < 0) return lower;
  if (lower < 0) return higher;
  return category(lower) > category(higher) ? tn_promote_types(higher, lower) : higher;
}

static int promotion_result(const promotion *p) { return combine(p->dims, combine(p->zero_dim, p->wrapped)); }

static void promote_tensor(promotion *p, const tn_tensor *t) {
  promote_with(t->ndim > 0 ? &p->dims : &p->zero_dim, t->dtype);
}

int tn_result_type(const tn_tensor *a, int a_number_dtype, const tn_tensor *b, int b_number_dtype) {
  promotion p = {-1, -1, -1};
  const tn_tensor *operands[2] = {a, b};
  int number_dtypes[2] = {a_number_dtype, b_number_dtype};
  for (int i = 0; i < 2; i++) {
    if (operands[i]) {
      promote_tensor(&p, operands[i]);
    } else {
      if (!tn_valid_dtype(number_dtypes[i])) return tn_error("result_type: unknown dtype %d", number_dtypes[i]);
      promote_with(&p.wrapped, number_dtypes[i]);
    }
  }
  return promotion_result(&p);
}

/* ---- op metadata, from the op lists ---- */

typedef struct op_info {
  const char *name;
  int dtypes; /* a mask of kinds: 1 bool, 2 integral, 4 float32 and float64, 8 float16 and bfloat16 */
  int result; /* TN_RESULT_* */
} op_info;

#define DTYPES_FLOATING 12
#define DTYPES_FLOAT_DOUBLE 4
#define DTYPES_NUMERIC 14
#define DTYPES_ALL 15
#define DTYPES_INTEGRAL 2
#define DTYPES_INTEGRAL_BOOL 3
#define RESULT_SAME TN_RESULT_SAME
#define RESULT_FLOAT TN_RESULT_FLOAT
#define RESULT_BOOL TN_RESULT_BOOL
#define OP_INFO(NAME, K, DTYPES, RESULT) [TN_##NAME] = {#K, DTYPES_##DTYPES, RESULT_##RESULT},
static const op_info unary_info[TN_NUM_UNARY_KERNELS] = {TN_UNARY_OPS(OP_INFO)};
static const op_info binary_info[TN_NUM_BINARY_KERNELS] = {TN_BINARY_OPS(OP_INFO)};
static const op_info ternary_info[TN_NUM_TERNARY_OPS] = {TN_TERNARY_OPS(OP_INFO)};

static bool supports(const op_info *info, int dtype) {
  int kind = dtype == TN_FLOAT16 || dtype == TN_BFLOAT16 ? 3 : category(dtype);
  return (info->dtypes >> kind) & 1;
}

/* The dtype an op computes in, from the promoted dtype of its inputs; -1 with an error if unsupported. */
static int compute_dtype(const op_info *info, int promoted, int float_dtype) {
  int dtype = promoted;
  if (info->result == TN_RESULT_FLOAT && !tn_dtype_is_floating(dtype)) dtype = float_dtype;
  if (!supports(info, dtype)) {
    if (dtype == TN_BOOL && (info->dtypes & DTYPES_NUMERIC))
      return tn_error("%s: not supported for bool tensors (convert with :int() or :float() first)", info->name);
    return tn_error("%s: not supported for %s tensors", info->name, tn_dtype_name(dtype));
  }
  return dtype;
}

/* ---- scalars ---- */

static bool fits(int dtype, double v) {
  switch (dtype) {
    case TN_INT64: return v >= -9223372036854775808.0 && v < 9223372036854775808.0;
    case TN_INT32: return v >= INT32_MIN && v <= INT32_MAX;
    case TN_INT16: return v >= INT16_MIN && v <= INT16_MAX;
    case TN_INT8: return v >= INT8_MIN && v <= INT8_MAX;
    case TN_UINT8: return v >= 0 && v <= UINT8_MAX;
    default: return true;
  }
}

tn_tensor *tn_scalar_tensor(double value, int dtype, int device_type, int device_index) {
  tn_tensor *t = tn_empty(0, NULL, dtype, TN_CPU, 0);
  if (!t) return NULL;
  tn_store_value(tn_data_ptr(t), dtype, value);
  if (device_type == TN_CPU) return t;
  tn_tensor *moved = tn_to(t, dtype, device_type, device_index);
  tn_tensor_free(t);
  return moved;
}

/* ---- the common path ---- */

/* Operands must share a device; 0-d CPU tensors (scalars) may join tensors on any device. */
static int check_devices(const char *fn, int n, const tn_tensor *const *ops) {
  const tn_tensor *first = NULL;
  for (int i = 0; i < n; i++) {
    if (ops[i]->ndim == 0 && ops[i]->storage->device_type == TN_CPU) continue;
    if (!first) {
      first = ops[i];
    } else if (!tn_same_device(first, ops[i])) {
      char a[16], b[16];
      return tn_error("%s: expected all tensors on one device, got %s and %s", fn, tn_device_str(a, sizeof a, first),
                      tn_device_str(b, sizeof b, ops[i]));
    }
  }
  return 0;
}

/* True if writing `out` could clobber elements of `in` not yet read (a different view of one storage). */
static bool partial_overlap(const tn_tensor *out, const tn_tensor *in) {
  if (out->storage != in->storage || out == in) return false;
  if (out->offset == in->offset && tn_same_shape(out, in)) {
    bool same_strides = true;
    for (int d = 0; d < out->ndim; d++) same_strides = same_strides && out->strides[d] == in->strides[d];
    if (same_strides) return false;
  }
  return true;
}

static int check_no_internal_overlap(const char *fn, const tn_tensor *out) {
  for (int d = 0; d < out->ndim; d++)
    if (out->strides[d] == 0 && out->sizes[d] > 1)
      return tn_error("%s: the output has several elements at one memory location (an expanded tensor); "
                      "clone it before writing", fn);
  return 0;
}

int tn_can_cast(int from, int to) {
  if (tn_dtype_is_floating(from) && !tn_dtype_is_floating(to)) return 0;
  if (from != TN_BOOL && to == TN_BOOL) return 0;
  return 1;
}

typedef struct pointwise_call {
  const char *name;
  int arity;        /* 1, 2 or 3 inputs */
  int kernel;       /* index into the backend's kernel table */
  const tn_tensor *in[3];
  int in_dtype[3];  /* the dtype each input must have for the kernel */
  int result_dtype; /* the dtype of the result */
  bool in_place;    /* out is in[0] itself: no broadcasting of the output */
  double p0, p1;
} pointwise_call;

static int run_backend(const pointwise_call *call, tn_tensor *out, const tn_tensor *const *in) {
  tn_backend *b = tn_backend_of(call->name, out);
  b = call->arity == 1   ? TN_WITH_KERNEL(call->name, b, unary)
      : call->arity == 2 ? TN_WITH_KERNEL(call->name, b, binary)
                         : TN_WITH_KERNEL(call->name, b, ternary);
  if (!b) return -1;
  switch (call->arity) {
    case 1: return b->unary(call->kernel, out, in[0], call->p0, call->p1);
    case 2: return b->binary(call->kernel, out, in[0], in[1], call->p0, call->p1);
    default: return b->ternary(call->kernel, out, in[0], in[1], in[2], call->p0);
  }
}

static tn_tensor *execute(pointwise_call *call, tn_tensor *out) {
  const char *fn = call->name;
  int n = call->arity;
  if (check_devices(fn, n, call->in)) return NULL;

  int64_t shape[TN_MAX_DIMS];
  int ndim = call->in[0]->ndim;
  memcpy(shape, call->in[0]->sizes, sizeof(int64_t) * (size_t)ndim);
  for (int i = 1; i < n; i++) {
    ndim = tn_broadcast_shapes(ndim, shape, call->in[i]->ndim, call->in[i]->sizes, shape);
    if (ndim < 0) return tn_error_null("%s: %s", fn, tn_last_error());
  }

  if (out) {
    char a[TN_SHAPE_STR], b[TN_SHAPE_STR];
    if (call->in_place && (out->ndim != ndim || memcmp(out->sizes, shape, sizeof(int64_t) * (size_t)ndim)))
      return tn_error_null("%s: the result of size %s cannot be written in place into a tensor of size %s", fn,
                           tn_format_shape(a, sizeof a, ndim, shape), tn_format_shape(b, sizeof b, out->ndim, out->sizes));
    if (!tn_can_cast(call->result_dtype, out->dtype))
      return tn_error_null("%s: the result of type %s cannot be written into a %s tensor", fn,
                           tn_dtype_name(call->result_dtype), tn_dtype_name(out->dtype));
    if (!tn_same_device(out, call->in[0]) && !(call->in[0]->ndim == 0 && call->in[0]->storage->device_type == TN_CPU))
      return tn_error_null("%s: out= is on another device than the inputs", fn);
    if (!call->in_place && tn_resize_(out, ndim, shape)) return NULL;
    if (check_no_internal_overlap(fn, out)) return NULL;
  }

  /* Inputs in the kernel's dtype (converted copies where they differ). */
  const tn_tensor *in[3];
  tn_tensor *converted[3] = {NULL, NULL, NULL};
  tn_tensor *result = NULL, *target = NULL;
  int rc = -1;
  for (int i = 0; i < n; i++) {
    in[i] = call->in[i];
    if (in[i]->dtype != call->in_dtype[i]) {
      converted[i] = tn_to(in[i], call->in_dtype[i], in[i]->storage->device_type, in[i]->storage->device_index);
      if (!converted[i]) goto done;
      in[i] = converted[i];
    }
  }
  /* Write straight into out when its dtype matches and it does not partly overlap an input. */
  bool direct = out && out->dtype == call->result_dtype;
  for (int i = 0; direct && i < n; i++) direct = !partial_overlap(out, in[i]);
  if (direct) {
    target = out;
  } else {
    /* the result lives on the inputs' device (a CPU scalar operand does not decide it) */
    const tn_tensor *like = call->in[0];
    for (int i = 0; i < n; i++)
      if (!(call->in[i]->ndim == 0 && call->in[i]->storage->device_type == TN_CPU)) {
        like = call->in[i];
        break;
      }
    if (out) like = out;
    target = tn_empty(ndim, shape, call->result_dtype, like->storage->device_type, like->storage->device_index);
    if (!target) goto done;
  }
  if (target->numel > 0) {
    tn_bump_version(target);
    if (run_backend(call, target, in)) {
      /* a kernel's failure (an integer division by zero) says what failed, not in which op */
      size_t len = strlen(call->name);
      const char *why = tn_last_error();
      if (strncmp(why, call->name, len) != 0 || why[len] != ':') tn_error("%s: %s", call->name, why);
      goto done;
    }
  }
  if (out && target != out) {
    if (tn_copy_(out, target)) goto done;
  }
  result = out ? out : target;
  rc = 0;
done:
  for (int i = 0; i < n; i++) tn_tensor_free(converted[i]);
  if (target && target != out && (rc || out)) tn_tensor_free(target);
  return rc ? NULL : result;
}

static bool valid_op(int op, int count) { return op >= 0 && op < count; }

/* ---- unary ---- */

tn_tensor *tn_unary(int op, tn_tensor *out, const tn_tensor *x, double p0, double p1, int float_dtype) {
  if (!valid_op(op, TN_NUM_UNARY_OPS)) return tn_error_null("unary: unknown op %d", op);
  int kernel = op == TN_GELU && p0 != 0 ? TN_GELU_TANH : op;
  const op_info *info = &unary_info[kernel];
  if (op == TN_POLYGAMMA && !(p0 >= 0 && p0 <= INT32_MAX && p0 == floor(p0)))
    return tn_error_null("polygamma: the order n must be a non-negative integer, got %.17g", p0);
  int dtype = compute_dtype(info, x->dtype, float_dtype);
  if (dtype < 0) return NULL;
  if (op == TN_CLAMP && !tn_dtype_is_floating(dtype)) {
    /* integer bounds: round inward and keep them inside the dtype */
    p0 = fits(dtype, ceil(p0)) ? ceil(p0) : (p0 < 0 ? -INFINITY : INFINITY);
    p1 = fits(dtype, floor(p1)) ? floor(p1) : (p1 < 0 ? -INFINITY : INFINITY);
    double lo = dtype == TN_UINT8 ? 0 : dtype == TN_INT8 ? INT8_MIN : dtype == TN_INT16 ? INT16_MIN
              : dtype == TN_INT32 ? INT32_MIN : -9223372036854775808.0;
    double hi = dtype == TN_UINT8 ? UINT8_MAX : dtype == TN_INT8 ? INT8_MAX : dtype == TN_INT16 ? INT16_MAX
              : dtype == TN_INT32 ? INT32_MAX : 9223372036854774784.0;
    p0 = p0 < lo ? lo : p0 > hi ? hi : p0;
    p1 = p1 < lo ? lo : p1 > hi ? hi : p1;
  }
  pointwise_call call = {.name = info->name, .arity = 1, .kernel = kernel, .in = {x}, .in_dtype = {dtype},
                         .result_dtype = info->result == TN_RESULT_BOOL ? TN_BOOL : dtype,
                         .in_place = out == x, .p0 = p0, .p1 = p1};
  return execute(&call, out);
}

/* ---- binary ---- */

static tn_tensor *binary_call(int op, tn_tensor *out, const tn_tensor *a, const tn_tensor *b, int promoted, double p0,
                              double p1, int float_dtype, bool in_place) {
  int kernel = op == TN_GELU_BACKWARD && p0 != 0 ? TN_GELU_TANH_BACKWARD : op;
  const op_info *info = &binary_info[kernel];
  int dtype = compute_dtype(info, promoted, float_dtype);
  if (dtype < 0) return NULL;
  /* (a fractional alpha would be truncated by the integer kernels) */
  if ((op == TN_ADD || op == TN_SUB) && !tn_dtype_is_floating(dtype) && p0 != floor(p0))
    return tn_error_null("%s: alpha must be an integer for %s tensors, got %g", info->name, tn_dtype_name(dtype), p0);
  pointwise_call call = {.name = info->name, .arity = 2, .kernel = kernel, .in = {a, b}, .in_dtype = {dtype, dtype},
                         .result_dtype = info->result == TN_RESULT_BOOL ? TN_BOOL : dtype,
                         .in_place = in_place, .p0 = p0, .p1 = p1};
  return execute(&call, out);
}

tn_tensor *tn_binary(int op, tn_tensor *out, const tn_tensor *a, const tn_tensor *b, double p0, double p1,
                     int float_dtype) {
  if (!valid_op(op, TN_NUM_BINARY_OPS)) return tn_error_null("binary: unknown op %d", op);
  promotion p = {-1, -1, -1};
  promote_tensor(&p, a);
  promote_tensor(&p, b);
  return binary_call(op, out, a, b, promotion_result(&p), p0, p1, float_dtype, out == a);
}

tn_tensor *tn_binary_scalar(int op, tn_tensor *out, const tn_tensor *a, double s, int s_dtype, int reversed,
                            double p0, double p1, int float_dtype) {
  if (!valid_op(op, TN_NUM_BINARY_OPS)) return tn_error_null("binary: unknown op %d", op);
  if (!tn_valid_dtype(s_dtype)) return tn_error_null("%s: unknown scalar dtype %d", binary_info[op].name, s_dtype);
  promotion p = {-1, -1, -1};
  promote_tensor(&p, a);
  promote_with(&p.wrapped, s_dtype);
  int promoted = promotion_result(&p);

  /* Common powers of a tensor have cheaper exact forms. */
  if (op == TN_POW && !reversed) {
    int dtype = compute_dtype(&binary_info[TN_POW], promoted, float_dtype);
    if (dtype < 0) return NULL;
    if (!tn_dtype_is_floating(dtype) && s < 0)
      return tn_error_null("pow: integers to negative integer powers are not allowed (exponent %g)", s);
    int unary_op = s == 2 ? TN_SQUARE : s == 0.5 && tn_dtype_is_floating(dtype) ? TN_SQRT : TN_POW_SCALAR;
    tn_tensor *converted = NULL;
    if (a->dtype != dtype && !(converted = tn_to(a, dtype, a->storage->device_type, a->storage->device_index)))
      return NULL;
    tn_tensor *r = tn_unary(unary_op, out, converted ? converted : a, s, 0, float_dtype);
    tn_tensor_free(converted);
    return r;
  }
  const op_info *info = &binary_info[op];
  /* Comparing integers with a number outside their range (or with a fraction) has a definite answer:
   * compare exactly in float64 rather than wrapping the number into the integer type. */
  if (info->result == TN_RESULT_BOOL && !tn_dtype_is_floating(promoted) && (!fits(promoted, s) || s != floor(s)))
    promoted = TN_FLOAT64;
  int dtype = compute_dtype(info, promoted, float_dtype);
  if (dtype < 0) return NULL;
  if (!fits(dtype, s))
    return tn_error_null("%s: the value %.17g cannot be converted to %s without overflow", info->name, s,
                         tn_dtype_name(dtype));
  if (!tn_dtype_is_floating(dtype) && s != floor(s))
    return tn_error_null("%s: the value %.17g is not an integer for a %s operation", info->name, s,
                         tn_dtype_name(dtype));
  tn_stack_scalar scalar;
  const tn_tensor *st = tn_stack_scalar_init(&scalar, dtype, s);
  return reversed ? binary_call(op, out, st, a, promoted, p0, p1, float_dtype, false)
                  : binary_call(op, out, a, st, promoted, p0, p1, float_dtype, out == a);
}

/* ---- ternary ---- */

tn_tensor *tn_ternary(int op, tn_tensor *out, const tn_tensor *a, const tn_tensor *b, const tn_tensor *c,
                      double value, int float_dtype) {
  if (!valid_op(op, TN_NUM_TERNARY_OPS)) return tn_error_null("ternary: unknown op %d", op);
  const op_info *info = &ternary_info[op];
  promotion p = {-1, -1, -1};
  int dtype;
  pointwise_call call = {.name = info->name, .arity = 3, .kernel = op, .in = {a, b, c}, .in_place = out == a,
                         .p0 = value};
  if (op == TN_WHERE) { /* where(cond, x, y): the condition is bool; x and y decide the dtype */
    promote_tensor(&p, b);
    promote_tensor(&p, c);
    dtype = compute_dtype(info, promotion_result(&p), float_dtype);
    call.in_dtype[0] = TN_BOOL;
    call.in_dtype[1] = call.in_dtype[2] = dtype;
    call.in_place = false;
  } else {
    promote_tensor(&p, a);
    promote_tensor(&p, b);
    promote_tensor(&p, c);
    dtype = compute_dtype(info, promotion_result(&p), float_dtype);
    call.in_dtype[0] = call.in_dtype[1] = call.in_dtype[2] = dtype;
  }
  if (dtype < 0) return NULL;
  call.result_dtype = dtype;
  return execute(&call, out);
}
