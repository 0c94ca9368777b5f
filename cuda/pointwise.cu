/* pointwise.cu: the element-wise kernels of the CUDA backend. One strided, broadcasting kernel per arity
 * (ew1/ew2/ew3, on elementwise.cuh's iteration) is instantiated once per (op, dtype) of pointwise_ops.h, with
 * a functor holding the op's expression. The expressions are the CPU's (lib/pointwise_exprs.h): NAME_F(x)
 * for floating dtypes (computed in float for the 16-bit ones), NAME_I(x) for integers, NAME_B(x) for bool;
 * p0/p1 are the op's parameters in the compute type. Inputs may be 0-d CPU tensors (scalars, carried in the
 * kernel's arguments); the op numbering and semantics are the CPU's.
 *
 * Integer division by zero and integers to negative powers are errors, as on the CPU: the kernels of the
 * integer floor_divide, remainder, fmod, pow and pow_scalar raise a per-device flag, which the host then
 * reads (one counted synchronisation, for those integer ops only). */
#include "../lib/pointwise_ops.h"
#include "elementwise.cuh"

#include <cuda_runtime.h>
#include <math.h>

#include <mutex>

/* Unsigned kernels share the signed expressions, whose sign tests are then constant. */
#pragma nv_diag_suppress 186
/* (every expression sees ctx, p0 and p1; most use none of them) */
#pragma nv_diag_suppress 550

/* the kernels' context: the op's parameters and the failure flag (NULL for ops that cannot fail) */
struct cu_ctx {
  double p0, p1;
  int *failed;
};

/* ---- the three kernels ---- */

template <class F> __global__ void ew1(tn_cu_iter<2> it, F f) {
  TN_CU_GRID_STRIDE(k, it.numel) {
    int64_t off[2];
    tn_cu_offsets(it, k, off);
    ((typename F::out *)it.data[0])[off[0]] = f(tn_cu_read<typename F::in0>(it, 1, off[1]));
  }
}

template <class F> __global__ void ew2(tn_cu_iter<3> it, F f) {
  TN_CU_GRID_STRIDE(k, it.numel) {
    int64_t off[3];
    tn_cu_offsets(it, k, off);
    ((typename F::out *)it.data[0])[off[0]] =
        f(tn_cu_read<typename F::in0>(it, 1, off[1]), tn_cu_read<typename F::in1>(it, 2, off[2]));
  }
}

template <class F> __global__ void ew3(tn_cu_iter<4> it, F f) {
  TN_CU_GRID_STRIDE(k, it.numel) {
    int64_t off[4];
    tn_cu_offsets(it, k, off);
    ((typename F::out *)it.data[0])[off[0]] =
        f(tn_cu_read<typename F::in0>(it, 1, off[1]), tn_cu_read<typename F::in1>(it, 2, off[2]),
          tn_cu_read<typename F::in2>(it, 3, off[3]));
  }
}

/* The same three over contiguous operands (tn_cu_iter_contiguous): every offset is k, inputs are loaded
 * TN_CU_UNROLL at a time before the results are stored (in place is safe: a thread reads its elements
 * before it writes them). */
template <class F> __global__ void ew1_contiguous(tn_cu_iter<2> it, F f) {
  typename F::in0 a[TN_CU_UNROLL];
  typename F::out *out = (typename F::out *)it.data[0];
#define LOAD(j, k) a[j] = tn_cu_read<typename F::in0>(it, 1, k)
#define STORE(j, k) out[k] = f(a[j])
  TN_CU_UNROLLED_LOOP(it.numel, LOAD, STORE)
#undef LOAD
#undef STORE
}

template <class F> __global__ void ew2_contiguous(tn_cu_iter<3> it, F f) {
  typename F::in0 a[TN_CU_UNROLL];
  typename F::in1 b[TN_CU_UNROLL];
  typename F::out *out = (typename F::out *)it.data[0];
#define LOAD(j, k) a[j] = tn_cu_read<typename F::in0>(it, 1, k), b[j] = tn_cu_read<typename F::in1>(it, 2, k)
#define STORE(j, k) out[k] = f(a[j], b[j])
  TN_CU_UNROLLED_LOOP(it.numel, LOAD, STORE)
#undef LOAD
#undef STORE
}

template <class F> __global__ void ew3_contiguous(tn_cu_iter<4> it, F f) {
  typename F::in0 a[TN_CU_UNROLL];
  typename F::in1 b[TN_CU_UNROLL];
  typename F::in2 c[TN_CU_UNROLL];
  typename F::out *out = (typename F::out *)it.data[0];
#define LOAD(j, k)                                                                                 \
  a[j] = tn_cu_read<typename F::in0>(it, 1, k), b[j] = tn_cu_read<typename F::in1>(it, 2, k), \
  c[j] = tn_cu_read<typename F::in2>(it, 3, k)
#define STORE(j, k) out[k] = f(a[j], b[j], c[j])
  TN_CU_UNROLLED_LOOP(it.numel, LOAD, STORE)
#undef LOAD
#undef STORE
}

/* ---- device math, overloaded for float and double (TN_LIBM / TN_MATH of the CPU) ---- */
#define DEVICE_MATH1(name)                                                     \
  __device__ __forceinline__ float cu_##name(float x) { return name##f(x); }   \
  __device__ __forceinline__ double cu_##name(double x) { return name(x); }
#define DEVICE_MATH2(name)                                                                     \
  __device__ __forceinline__ float cu_##name(float x, float y) { return name##f(x, y); }       \
  __device__ __forceinline__ double cu_##name(double x, double y) { return name(x, y); }
DEVICE_MATH1(fabs)
DEVICE_MATH1(exp)
DEVICE_MATH1(exp2)
DEVICE_MATH1(expm1)
DEVICE_MATH1(log)
DEVICE_MATH1(log2)
DEVICE_MATH1(log10)
DEVICE_MATH1(log1p)
DEVICE_MATH1(sqrt)
DEVICE_MATH1(sin)
DEVICE_MATH1(cos)
DEVICE_MATH1(tan)
DEVICE_MATH1(asin)
DEVICE_MATH1(acos)
DEVICE_MATH1(atan)
DEVICE_MATH1(sinh)
DEVICE_MATH1(cosh)
DEVICE_MATH1(tanh)
DEVICE_MATH1(erf)
DEVICE_MATH1(erfc)
DEVICE_MATH1(asinh)
DEVICE_MATH1(acosh)
DEVICE_MATH1(atanh)
DEVICE_MATH1(lgamma)
DEVICE_MATH1(floor)
DEVICE_MATH1(ceil)
DEVICE_MATH1(nearbyint)
DEVICE_MATH1(trunc)
DEVICE_MATH2(pow)
DEVICE_MATH2(fmod)
DEVICE_MATH2(atan2)
DEVICE_MATH2(copysign)
DEVICE_MATH2(nextafter)
#define TN_LIBM(name, x) cu_##name(x)
#define TN_MATH(name, x) cu_##name(x)
#define TN_LIBM2(name, x, y) cu_##name(x, y)

template <class R> __device__ __forceinline__ R cu_sigmoid(R x) {
  R e = cu_exp(-cu_fabs(x)), s = (R)1 / ((R)1 + e);
  return x >= 0 ? s : e * s;
}
#define TN_SIGMOID(x) cu_sigmoid(x)

__device__ __forceinline__ int cu_signbit(float x) { return (int)(__float_as_uint(x) >> 31); }
__device__ __forceinline__ int cu_signbit(double x) { return __double_as_longlong(x) < 0; }

template <class R> __device__ __forceinline__ R cu_remainder(R x, R y) {
  R r = cu_fmod(x, y);
  return (r != 0 && ((r < 0) != (y < 0))) ? r + y : r;
}

template <class R> __device__ __forceinline__ R cu_gelu_tanh_grad(R g, R x) {
  const R k = (R)0.79788456080286535588, c = (R)0.044715;
  R inner = k * (x + c * x * x * x), t = cu_tanh(inner);
  return g * ((R)0.5 * (1 + t) + (R)0.5 * x * (1 - t * t) * k * (1 + 3 * c * x * x));
}

/* ---- the expressions (lib/pointwise_exprs.h); integer failures raise the device flag ---- */
#define PW_FN __device__ __forceinline__
/* (the special functions' loops are called, not inlined into every kernel) */
#define PW_SPECIAL_FN static __device__ __noinline__
#define PW_CTX const cu_ctx *
__device__ __forceinline__ void mark_failed(const cu_ctx *c) {
  if (c->failed) *c->failed = 1;
}
#include "../lib/pointwise_exprs.h"
#define pw_signbit(x) cu_signbit(x)
#define pw_remainder(x, y) cu_remainder(x, y)
__device__ __forceinline__ float cu_floor_divide(float x, float y) { return floor_div_f32(x, y); }
__device__ __forceinline__ double cu_floor_divide(double x, double y) { return floor_div_f64(x, y); }
#define pw_floor_divide(x, y) cu_floor_divide(x, y)
#define pw_gelu_tanh_grad(g, x) cu_gelu_tanh_grad(g, x)
#define pw_lgamma(x) cu_lgamma(x)

/* ---- functors: one per (op, dtype) ---- */

/* Every expression sees ctx, p0/p1 in its compute type and compute_t. */
#define CONTEXT(CT)                                           \
  typedef CT compute_t;                                       \
  const cu_ctx *ctx = &c;                                     \
  compute_t p0 = (compute_t)c.p0, p1 = (compute_t)c.p1;       \
  (void)ctx;                                                  \
  (void)p0;                                                   \
  (void)p1

#define UNARY_FUNCTOR(K, ENUM, SUF, T, CT, KIND)                     \
  struct unary_##K##_##SUF {                                         \
    typedef T in0;                                                   \
    typedef T out;                                                   \
    cu_ctx c;                                                        \
    __device__ __forceinline__ T operator()(T xs) const {            \
      CONTEXT(CT);                                                   \
      CT x = TN_CU_LOAD_##KIND(xs);                                  \
      return TN_CU_STORE_##KIND(T, EXPR(K, KIND)(x));                \
    }                                                                \
  };
#define PREDICATE_FUNCTOR(K, ENUM, SUF, T, CT, KIND)                 \
  struct unary_##K##_##SUF {                                         \
    typedef T in0;                                                   \
    typedef uint8_t out;                                             \
    cu_ctx c;                                                        \
    __device__ __forceinline__ uint8_t operator()(T xs) const {      \
      CONTEXT(CT);                                                   \
      CT x = TN_CU_LOAD_##KIND(xs);                                  \
      return (uint8_t)(EXPR(K, KIND)(x) != 0);                       \
    }                                                                \
  };
#define BINARY_FUNCTOR(K, ENUM, SUF, T, CT, KIND)                             \
  struct binary_##K##_##SUF {                                                 \
    typedef T in0;                                                            \
    typedef T in1;                                                            \
    typedef T out;                                                            \
    cu_ctx c;                                                                 \
    __device__ __forceinline__ T operator()(T xs, T ys) const {               \
      CONTEXT(CT);                                                            \
      CT x = TN_CU_LOAD_##KIND(xs), y = TN_CU_LOAD_##KIND(ys);                \
      return TN_CU_STORE_##KIND(T, EXPR(K, KIND)(x, y));                      \
    }                                                                         \
  };
#define COMPARE_FUNCTOR(K, ENUM, SUF, T, CT, KIND)                            \
  struct binary_##K##_##SUF {                                                 \
    typedef T in0;                                                            \
    typedef T in1;                                                            \
    typedef uint8_t out;                                                      \
    cu_ctx c;                                                                 \
    __device__ __forceinline__ uint8_t operator()(T xs, T ys) const {         \
      CONTEXT(CT);                                                            \
      CT x = TN_CU_LOAD_##KIND(xs), y = TN_CU_LOAD_##KIND(ys);                \
      return (uint8_t)(EXPR(K, KIND)(x, y) != 0);                             \
    }                                                                         \
  };
#define TERNARY_FUNCTOR(K, ENUM, SUF, T, CT, KIND)                                              \
  struct ternary_##K##_##SUF {                                                                  \
    typedef T in0;                                                                              \
    typedef T in1;                                                                              \
    typedef T in2;                                                                              \
    typedef T out;                                                                              \
    cu_ctx c;                                                                                   \
    __device__ __forceinline__ T operator()(T as, T bs, T cs) const {                           \
      CONTEXT(CT);                                                                              \
      CT a = TN_CU_LOAD_##KIND(as), b = TN_CU_LOAD_##KIND(bs), cc = TN_CU_LOAD_##KIND(cs);      \
      return TN_CU_STORE_##KIND(T, EXPR(K, KIND)(a, b, cc));                                    \
    }                                                                                           \
  };
/* where: out T = cond (bool) ? a : b, moving the stored values as they are */
#define WHERE_FUNCTOR(K, ENUM, SUF, T, CT, KIND)                                  \
  struct ternary_##K##_##SUF {                                                    \
    typedef uint8_t in0;                                                          \
    typedef T in1;                                                                \
    typedef T in2;                                                                \
    typedef T out;                                                                \
    cu_ctx c;                                                                     \
    __device__ __forceinline__ T operator()(uint8_t cond, T a, T b) const {       \
      return cond ? a : b;                                                        \
    }                                                                             \
  };

#define UNARY_FUNCTOR_SAME UNARY_FUNCTOR
#define UNARY_FUNCTOR_FLOAT UNARY_FUNCTOR
#define UNARY_FUNCTOR_BOOL PREDICATE_FUNCTOR
#define BINARY_FUNCTOR_SAME BINARY_FUNCTOR
#define BINARY_FUNCTOR_FLOAT BINARY_FUNCTOR
#define BINARY_FUNCTOR_BOOL COMPARE_FUNCTOR
#define TERNARY_FUNCTOR_lerp TERNARY_FUNCTOR
#define TERNARY_FUNCTOR_addcmul TERNARY_FUNCTOR
#define TERNARY_FUNCTOR_addcdiv TERNARY_FUNCTOR
#define TERNARY_FUNCTOR_where WHERE_FUNCTOR

#define STAMP_UNARY(NAME, K, DTYPES, RESULT) TN_FOREACH_##DTYPES##_ARG(UNARY_FUNCTOR_##RESULT, K)
#define STAMP_BINARY(NAME, K, DTYPES, RESULT) TN_FOREACH_##DTYPES##_ARG(BINARY_FUNCTOR_##RESULT, K)
#define STAMP_TERNARY(NAME, K, DTYPES, RESULT) TN_FOREACH_##DTYPES##_ARG(TERNARY_FUNCTOR_##K, K)

TN_UNARY_OPS(STAMP_UNARY)
TN_BINARY_OPS(STAMP_BINARY)
TN_TERNARY_OPS(STAMP_TERNARY)

/* ---- launchers and their tables (NULL where an op is not defined for a dtype) ---- */

typedef void (*launch1_fn)(const tn_cu_iter<2> &, cudaStream_t, cu_ctx);
typedef void (*launch2_fn)(const tn_cu_iter<3> &, cudaStream_t, cu_ctx);
typedef void (*launch3_fn)(const tn_cu_iter<4> &, cudaStream_t, cu_ctx);

template <class F> static void launch1(const tn_cu_iter<2> &it, cudaStream_t s, cu_ctx c) {
  F f;
  f.c = c;
  if (tn_cu_iter_contiguous(it))
    ew1_contiguous<F><<<tn_cu_unrolled_grid(it.numel, TN_CUDA_THREADS), TN_CUDA_THREADS, 0, s>>>(it, f);
  else
    ew1<F><<<tn_cuda_grid(it.numel, TN_CUDA_THREADS), TN_CUDA_THREADS, 0, s>>>(it, f);
}
template <class F> static void launch2(const tn_cu_iter<3> &it, cudaStream_t s, cu_ctx c) {
  F f;
  f.c = c;
  if (tn_cu_iter_contiguous(it))
    ew2_contiguous<F><<<tn_cu_unrolled_grid(it.numel, TN_CUDA_THREADS), TN_CUDA_THREADS, 0, s>>>(it, f);
  else
    ew2<F><<<tn_cuda_grid(it.numel, TN_CUDA_THREADS), TN_CUDA_THREADS, 0, s>>>(it, f);
}
template <class F> static void launch3(const tn_cu_iter<4> &it, cudaStream_t s, cu_ctx c) {
  F f;
  f.c = c;
  if (tn_cu_iter_contiguous(it))
    ew3_contiguous<F><<<tn_cu_unrolled_grid(it.numel, TN_CUDA_THREADS), TN_CUDA_THREADS, 0, s>>>(it, f);
  else
    ew3<F><<<tn_cuda_grid(it.numel, TN_CUDA_THREADS), TN_CUDA_THREADS, 0, s>>>(it, f);
}

static launch1_fn unary_launchers[TN_NUM_UNARY_KERNELS][TN_NUM_DTYPES];
static launch2_fn binary_launchers[TN_NUM_BINARY_KERNELS][TN_NUM_DTYPES];
static launch3_fn ternary_launchers[TN_NUM_TERNARY_OPS][TN_NUM_DTYPES];

static const char *unary_names[TN_NUM_UNARY_KERNELS];
static const char *binary_names[TN_NUM_BINARY_KERNELS];
static const char *ternary_names[TN_NUM_TERNARY_OPS];

/* A row per op: its name, and its launcher for each dtype of its list (functors are named by the kernel
 * prefix K, the table rows by the enum NAME: the entries get both as the pair P = (NAME, K)). */
#define UNARY_ROW(NAME, K, DTYPES, RESULT) \
  unary_names[TN_##NAME] = #K;             \
  TN_FOREACH_##DTYPES##_ARG(UNARY_ROW_ENTRY, (NAME, K))
#define BINARY_ROW(NAME, K, DTYPES, RESULT) \
  binary_names[TN_##NAME] = #K;             \
  TN_FOREACH_##DTYPES##_ARG(BINARY_ROW_ENTRY, (NAME, K))
#define TERNARY_ROW(NAME, K, DTYPES, RESULT) \
  ternary_names[TN_##NAME] = #K;             \
  TN_FOREACH_##DTYPES##_ARG(TERNARY_ROW_ENTRY, (NAME, K))
#define PAIR_NAME(NAME, K) NAME
#define PAIR_K(NAME, K) K
#define UNARY_ROW_ENTRY(P, ENUM, SUF, T, CT, KIND) \
  unary_launchers[CAT(TN_, PAIR_NAME P)][ENUM] = launch1<CAT(CAT(unary_, PAIR_K P), CAT(_, SUF))>;
#define BINARY_ROW_ENTRY(P, ENUM, SUF, T, CT, KIND) \
  binary_launchers[CAT(TN_, PAIR_NAME P)][ENUM] = launch2<CAT(CAT(binary_, PAIR_K P), CAT(_, SUF))>;
#define TERNARY_ROW_ENTRY(P, ENUM, SUF, T, CT, KIND) \
  ternary_launchers[CAT(TN_, PAIR_NAME P)][ENUM] = launch3<CAT(CAT(ternary_, PAIR_K P), CAT(_, SUF))>;

static void fill_tables(void) {
  TN_UNARY_OPS(UNARY_ROW)
  TN_BINARY_OPS(BINARY_ROW)
  TN_TERNARY_OPS(TERNARY_ROW)
}

/* ---- the failure flag of the integer ops that can fail ---- */

enum { MAX_DEVICES = 64 };
static std::mutex flag_lock;
static int *failure_flags[MAX_DEVICES];

static int *failure_flag(const char *fn, int device) {
  if (device < 0 || device >= MAX_DEVICES) {
    tn_error("%s: invalid CUDA device %d", fn, device);
    return nullptr;
  }
  std::lock_guard<std::mutex> guard(flag_lock);
  if (!failure_flags[device]) failure_flags[device] = (int *)tn_cuda_alloc(device, sizeof(int));
  return failure_flags[device];
}

static bool integral(int dtype) { return !tn_dtype_is_floating(dtype) && dtype != TN_BOOL; }

/* Runs a launch; for ops that can fail (can_fail), clears the device's flag first and reads it after. */
template <class Launch>
static int run(const char *fn, const tn_tensor *out, bool can_fail, const char *failure, double p0, double p1,
               Launch launch) {
  int device = out->storage->device_index;
  cudaStream_t stream = tn_cuda_stream_for(fn, device);
  if (!stream) return -1;
  cu_ctx c = {p0, p1, nullptr};
  if (can_fail) {
    if (!(c.failed = failure_flag(fn, device))) return -1;
    if (tn_cuda_check(fn, cudaMemsetAsync(c.failed, 0, sizeof(int), stream))) return -1;
  }
  launch(stream, c);
  if (tn_cuda_launched(fn)) return -1;
  if (!can_fail) return 0;
  int failed = 0;
  if (tn_cuda_read(fn, device, &failed, c.failed, sizeof failed)) return -1;
  return failed ? tn_error("%s", failure) : 0;
}

static int missing(const char *what, int op, int dtype) {
  return tn_error("%s op %d: not implemented for CUDA tensors of dtype %s", what, op, tn_dtype_name(dtype));
}

static int cuda_unary(int op, tn_tensor *out, const tn_tensor *x, double p0, double p1) {
  if (op < 0 || op >= TN_NUM_UNARY_KERNELS || !unary_launchers[op][x->dtype]) return missing("unary", op, x->dtype);
  if (out->numel == 0) return 0;
  tn_cu_iter<2> it;
  const tn_tensor *ops[2] = {out, x};
  tn_cu_iter_init<2>(&it, ops);
  launch1_fn fn = unary_launchers[op][x->dtype];
  bool can_fail = op == TN_POW_SCALAR && integral(x->dtype);
  return run(unary_names[op], out, can_fail, "pow: integers to negative integer powers are not allowed", p0, p1,
             [&](cudaStream_t s, cu_ctx c) { fn(it, s, c); });
}

static int cuda_binary(int op, tn_tensor *out, const tn_tensor *a, const tn_tensor *b, double p0, double p1) {
  if (op < 0 || op >= TN_NUM_BINARY_KERNELS || !binary_launchers[op][a->dtype])
    return missing("binary", op, a->dtype);
  if (out->numel == 0) return 0;
  tn_cu_iter<3> it;
  const tn_tensor *ops[3] = {out, a, b};
  tn_cu_iter_init<3>(&it, ops);
  launch2_fn fn = binary_launchers[op][a->dtype];
  bool can_fail = (op == TN_FLOOR_DIVIDE || op == TN_REMAINDER || op == TN_FMOD) && integral(a->dtype);
  return run(binary_names[op], out, can_fail, "integer division by zero", p0, p1,
             [&](cudaStream_t s, cu_ctx c) { fn(it, s, c); });
}

static int cuda_ternary(int op, tn_tensor *out, const tn_tensor *a, const tn_tensor *b, const tn_tensor *c,
                        double p0) {
  int dtype = op == TN_WHERE ? b->dtype : a->dtype;
  if (op < 0 || op >= TN_NUM_TERNARY_OPS || !ternary_launchers[op][dtype]) return missing("ternary", op, dtype);
  if (out->numel == 0) return 0;
  tn_cu_iter<4> it;
  const tn_tensor *ops[4] = {out, a, b, c};
  tn_cu_iter_init<4>(&it, ops);
  launch3_fn fn = ternary_launchers[op][dtype];
  return run(ternary_names[op], out, false, "", p0, 0, [&](cudaStream_t s, cu_ctx cc) { fn(it, s, cc); });
}

extern "C" void tn_cuda_register_pointwise(tn_backend *b) {
  fill_tables();
  b->unary = cuda_unary;
  b->binary = cuda_binary;
  b->ternary = cuda_ternary;
}
