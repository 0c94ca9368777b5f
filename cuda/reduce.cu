/* reduce.cu: the CUDA reduction kernels (every TN_RK_* of reduce_ops.h) and cumulative sums and products.
 *
 * A reduction is planned on the host: the kept dims and the reduced dims of x are each sorted by x's strides
 * and merged where contiguous, giving M outputs of R elements each. A block holds blockDim.y outputs with
 * G = blockDim.x threads each: G = 1 when the innermost dim in memory is kept (threads of a warp then read
 * neighbouring elements of neighbouring outputs), up to 256 when it is reduced. Each thread folds its strided
 * share of its output's elements into a state (a running sum, extreme and index, count/mean/M2, max and
 * scaled sum of exps), the G states are merged by warp shuffles and shared memory, and thread 0 writes the
 * result. When M alone cannot fill the device, R is also split into chunks over blockIdx.y whose states go to
 * a scratch buffer and are merged by a second kernel (a warp per output).
 *
 * Semantics follow lib/cpu/reduce_kernels.c: float32 and 16-bit sums accumulate in float32 (tree merged),
 * float64 in float64, integers in wrapping uint64; max/min propagate NaN; the arg kernels take the first
 * occurrence (their merge breaks ties by index, so any merge order gives the same answer); var/std merge
 * (count, mean, M2) in float64 (Chan et al.); logsumexp keeps a max and the sum of exps below it. */
#include "ops.cuh"

extern "C" {
#include "../lib/reduce_ops.h"
}

#include <cub/block/block_scan.cuh>

namespace {

/* ---- the plan ---- */

struct RParams {
  const char *x;
  char *o0, *o1;
  int xdt, o0dt, o1dt;
  int nk, nr;
  int64_t ksz[TN_MAX_DIMS], kx[TN_MAX_DIMS], k0[TN_MAX_DIMS], k1[TN_MAX_DIMS];
  int64_t rsz[TN_MAX_DIMS], rx[TN_MAX_DIMS];
  int64_t M, R, chunk;
  int kind;
  double p;
  void *ws;
};

__device__ __forceinline__ void kept_offsets(const RParams &p, int64_t m, int64_t *ox, int64_t *o0, int64_t *o1) {
  int64_t a = 0, b = 0, c = 0;
  for (int d = p.nk - 1; d >= 0; d--) {
    int64_t s = p.ksz[d], i = m % s;
    m /= s;
    a += i * p.kx[d], b += i * p.k0[d], c += i * p.k1[d];
  }
  *ox = a, *o0 = b, *o1 = c;
}

__device__ __forceinline__ int64_t reduced_offset(const RParams &p, int64_t r) {
  if (p.nr == 1) return r * p.rx[0];
  int64_t a = 0;
  for (int d = p.nr - 1; d >= 0; d--) {
    int64_t s = p.rsz[d];
    a += (r % s) * p.rx[d];
    r /= s;
  }
  return a;
}

template <class S>
__device__ __forceinline__ S shfl_down_state(S s, int d, int width) {
  static_assert(sizeof(S) % 4 == 0, "states are whole words");
  union {
    S s;
    int w[sizeof(S) / 4];
  } u;
  u.s = s;
#pragma unroll
  for (int i = 0; i < (int)(sizeof(S) / 4); i++) u.w[i] = __shfl_down_sync(0xffffffffu, u.w[i], d, width);
  return u.s;
}

template <class T>
__device__ __forceinline__ bool is_nan(T x) {
  return x != x;
}

/* ---- the op families ---- */

enum { COMB_ADD, COMB_MUL, COMB_AND, COMB_OR };

/* a fold of a mapped element with + * & or |; A is the accumulator */
template <class L, class A, int COMB>
struct ArithOp {
  typedef L load_t;
  struct S {
    A a;
  };
  __device__ S init(const RParams &) const {
    S s;
    s.a = (COMB == COMB_MUL || COMB == COMB_AND) ? (A)1 : (A)0;
    return s;
  }
  __device__ A map(const RParams &p, L x) const {
    switch (p.kind) {
    case TN_RK_NANSUM: return is_nan(x) ? (A)0 : (A)x;
    case TN_RK_COUNT_NONZERO:
    case TN_RK_NORM0:
    case TN_RK_ALL:
    case TN_RK_ANY: return (A)(x != (L)0);
    case TN_RK_NORM1: return (A)(x < (L)0 ? -x : x);
    case TN_RK_NORM2: return (A)(x * x);
    case TN_RK_NORMP:
      if constexpr (sizeof(L) == 4 && (L)0.5 != 0) return (A)powf(fabsf((float)x), (float)p.p);
      else if constexpr ((L)0.5 != 0) return (A)pow(fabs((double)x), p.p);
      else return (A)x;
    default: return (A)x;
    }
  }
  __device__ S merge(S s, S b) const {
    if constexpr (COMB == COMB_ADD) s.a = s.a + b.a;
    else if constexpr (COMB == COMB_MUL) s.a = s.a * b.a;
    else if constexpr (COMB == COMB_AND) s.a = s.a & b.a;
    else s.a = s.a | b.a;
    return s;
  }
  __device__ void fold(const RParams &p, S &s, L x, int64_t) const {
    S b;
    b.a = map(p, x);
    s = merge(s, b);
  }
  __device__ void finish(const RParams &p, int64_t o0, int64_t, S s) const {
    if constexpr ((A)0.5 != 0) {
      A a = s.a;
      if (p.kind == TN_RK_MEAN) a = a / (A)p.R;
      else if (p.kind == TN_RK_NORM2) a = sqrt(a);
      else if (p.kind == TN_RK_NORMP) a = (A)pow((double)a, 1.0 / p.p);
      st<A>(p.o0, o0, p.o0dt, a);
    } else {
      st<int64_t>(p.o0, o0, p.o0dt, (int64_t)s.a);
    }
  }
};

/* amax, amin and the infinite-order norms: NaN propagating (a NaN is never replaced) */
template <class L, bool MAX>
struct MinMaxOp {
  typedef L load_t;
  struct S {
    L v;
  };
  __device__ static bool take(L x, L v) { return (MAX ? x > v : x < v) || is_nan(x); }
  __device__ S init(const RParams &p) const {
    S s;
    if (p.kind == TN_RK_NORM_INF) s.v = (L)0;
    else if constexpr ((L)0.5 != 0) s.v = MAX ? (L)-INFINITY : (L)INFINITY;
    else s.v = MAX ? (L)INT64_MIN : (L)INT64_MAX;
    return s;
  }
  __device__ S merge(S s, S b) const {
    if (take(b.v, s.v)) s.v = b.v;
    return s;
  }
  __device__ void fold(const RParams &p, S &s, L x, int64_t) const {
    if (p.kind == TN_RK_NORM_INF || p.kind == TN_RK_NORM_NINF) x = x < (L)0 ? -x : x;
    if (take(x, s.v)) s.v = x;
  }
  __device__ void finish(const RParams &p, int64_t o0, int64_t, S s) const {
    st<L>(p.o0, o0, p.o0dt, p.R ? s.v : (L)0);
  }
};

template <class L>
struct AminmaxOp {
  typedef L load_t;
  struct S {
    L lo, hi;
  };
  __device__ S init(const RParams &) const {
    S s;
    if constexpr ((L)0.5 != 0) s.lo = (L)INFINITY, s.hi = (L)-INFINITY;
    else s.lo = (L)INT64_MAX, s.hi = (L)INT64_MIN;
    return s;
  }
  __device__ S merge(S s, S b) const {
    if (b.lo < s.lo || is_nan(b.lo)) s.lo = b.lo;
    if (b.hi > s.hi || is_nan(b.hi)) s.hi = b.hi;
    return s;
  }
  __device__ void fold(const RParams &, S &s, L x, int64_t) const {
    if (x < s.lo || is_nan(x)) s.lo = x;
    if (x > s.hi || is_nan(x)) s.hi = x;
  }
  __device__ void finish(const RParams &p, int64_t o0, int64_t o1, S s) const {
    st<L>(p.o0, o0, p.o0dt, p.R ? s.lo : (L)0);
    st<L>(p.o1, o1, p.o1dt, p.R ? s.hi : (L)0);
  }
};

/* argmax/argmin and max/min with indices: the first occurrence of the extreme, the first NaN above all */
template <class L, bool MAX>
struct ArgOp {
  typedef L load_t;
  struct S {
    int64_t i;
    L v;
    int pad[(sizeof(L) == 4) ? 1 : 2];
  };
  __device__ static bool better(L x, L v) { return (MAX ? x > v : x < v) || (is_nan(x) && !is_nan(v)); }
  __device__ S init(const RParams &) const {
    S s;
    s.i = -1;
    s.v = (L)0;
    return s;
  }
  __device__ S merge(S s, S b) const {
    if (b.i >= 0 && (s.i < 0 || better(b.v, s.v) || (!better(s.v, b.v) && b.i < s.i))) s = b;
    return s;
  }
  __device__ void fold(const RParams &, S &s, L x, int64_t r) const {
    if (s.i < 0 || better(x, s.v)) s.v = x, s.i = r;
  }
  __device__ void finish(const RParams &p, int64_t o0, int64_t o1, S s) const {
    int64_t base = (int64_t)p.p;
    if (p.kind == TN_RK_MAX || p.kind == TN_RK_MIN) {
      st<L>(p.o0, o0, p.o0dt, s.v);
      st<int64_t>(p.o1, o1, TN_INT64, s.i + base);
    } else {
      st<int64_t>(p.o0, o0, TN_INT64, s.i + base);
    }
  }
};

/* var and std: count, mean and M2 in float64 */
template <class L>
struct VarOp {
  typedef L load_t;
  struct S {
    double n, mean, m2;
  };
  __device__ S init(const RParams &) const { return S{0, 0, 0}; }
  __device__ S merge(S a, S b) const {
    if (b.n == 0) return a;
    if (a.n == 0) return b;
    double total = a.n + b.n, d = b.mean - a.mean;
    a.mean += d * (b.n / total);
    a.m2 += b.m2 + d * d * (a.n * b.n / total);
    a.n = total;
    return a;
  }
  __device__ void fold(const RParams &, S &s, L x, int64_t) const {
    double v = (double)x;
    s.n += 1;
    double d = v - s.mean;
    s.mean += d / s.n;
    s.m2 += d * (v - s.mean);
  }
  __device__ void finish(const RParams &p, int64_t o0, int64_t o1, S s) const {
    double dof = s.n - p.p;
    double v = s.m2 / (dof > 0 ? dof : 0);
    if (p.kind == TN_RK_STD) v = sqrt(v);
    st<double>(p.o0, o0, p.o0dt, v);
    if (p.o1) st<double>(p.o1, o1, p.o1dt, s.n > 0 ? s.mean : (double)NAN);
  }
};

/* logsumexp: the value is log(s) + m; a non-finite s (an inf or NaN input) absorbs the rest */
template <class L>
struct LseOp {
  typedef L load_t;
  struct S {
    L m, s;
  };
  __device__ S init(const RParams &) const { return S{(L)0, (L)0}; }
  __device__ S merge(S a, S b) const {
    if (b.s == 0) return a;
    if (a.s == 0) return b;
    if (!isfinite(a.s) || !isfinite(b.s)) {
      a.s = a.s + b.s, a.m = 0;
    } else if (b.m > a.m) {
      a.s = a.s * exp(a.m - b.m) + b.s, a.m = b.m;
    } else {
      a.s += b.s * exp(b.m - a.m);
    }
    return a;
  }
  __device__ void fold(const RParams &, S &s, L x, int64_t) const {
    L shift = isinf(x) ? (L)0 : x;
    s = merge(s, S{shift, (L)exp(x - shift)});
  }
  __device__ void finish(const RParams &p, int64_t o0, int64_t, S s) const {
    st<L>(p.o0, o0, p.o0dt, (L)log(s.s) + s.m);
  }
};

/* ---- the kernels ---- */

enum { RBLOCK = 256 };

template <class Op>
__global__ void __launch_bounds__(RBLOCK) reduce_kernel(RParams p, Op op) {
  typedef typename Op::S S;
  __shared__ S sh[RBLOCK / 32];
  const int G = blockDim.x;
  int64_t m = (int64_t)blockIdx.x * blockDim.y + threadIdx.y;
  S s = op.init(p);
  int64_t ox = 0, o0 = 0, o1 = 0;
  if (m < p.M) {
    kept_offsets(p, m, &ox, &o0, &o1);
    int64_t r0 = (int64_t)blockIdx.y * p.chunk, r1 = r0 + p.chunk < p.R ? r0 + p.chunk : p.R;
    for (int64_t r = r0 + threadIdx.x; r < r1; r += G)
      op.fold(p, s, ld<typename Op::load_t>(p.x, ox + reduced_offset(p, r), p.xdt), r);
  }
  int width = G < 32 ? G : 32;
  for (int d = width / 2; d > 0; d >>= 1) s = op.merge(s, shfl_down_state(s, d, width));
  if (G > 32) {
    int t = threadIdx.y * G + threadIdx.x;
    if ((t & 31) == 0) sh[t >> 5] = s;
    __syncthreads();
    if (threadIdx.x == 0)
      for (int w = 1; w < G / 32; w++) s = op.merge(s, sh[(t >> 5) + w]);
  }
  if (threadIdx.x == 0 && m < p.M) {
    if (p.ws) ((S *)p.ws)[(int64_t)blockIdx.y * p.M + m] = s;
    else op.finish(p, o0, o1, s);
  }
}

/* merges the chunk states of each output (a warp per output) and writes the results */
template <class Op>
__global__ void reduce_merge_kernel(RParams p, Op op, int chunks) {
  typedef typename Op::S S;
  int64_t m = (int64_t)blockIdx.x * blockDim.y + threadIdx.y;
  S s = op.init(p);
  if (m < p.M)
    for (int c = threadIdx.x; c < chunks; c += 32) s = op.merge(s, ((const S *)p.ws)[(int64_t)c * p.M + m]);
  for (int d = 16; d > 0; d >>= 1) s = op.merge(s, shfl_down_state(s, d, 32));
  if (threadIdx.x == 0 && m < p.M) {
    int64_t ox, o0, o1;
    kept_offsets(p, m, &ox, &o0, &o1);
    op.finish(p, o0, o1, s);
  }
}

struct Dim {
  int64_t size, x, o0, o1;
};

/* sorts dims by x's stride, largest first, and merges neighbours that are contiguous in every operand */
static int coalesce(Dim *d, int n, bool merge) {
  for (int i = 1; i < n; i++)
    for (int j = i; j > 0 && d[j - 1].x < d[j].x; j--) {
      Dim t = d[j];
      d[j] = d[j - 1], d[j - 1] = t;
    }
  if (!merge) return n;
  int k = 0;
  for (int i = 0; i < n; i++) {
    if (k > 0 && d[k - 1].x == d[i].x * d[i].size && d[k - 1].o0 == d[i].o0 * d[i].size &&
        d[k - 1].o1 == d[i].o1 * d[i].size) {
      d[k - 1].size *= d[i].size;
      d[k - 1].x = d[i].x, d[k - 1].o0 = d[i].o0, d[k - 1].o1 = d[i].o1;
    } else {
      d[k++] = d[i];
    }
  }
  return k;
}

/* where a reduction runs */
struct Host {
  cudaStream_t stream;
  int device;
};

template <class Op>
int launch_reduce(const Host &h, RParams p, Op op) {
  typedef typename Op::S S;
  cudaStream_t stream = h.stream;
  /* threads per output: 1 when the innermost dim in memory is kept, else enough for the run */
  int G = 1;
  bool inner = p.nr > 0 && (p.nk == 0 || p.rx[p.nr - 1] < p.kx[p.nk - 1]);
  if (inner)
    while (G < RBLOCK && G < p.R) G *= 2;
  int rows = RBLOCK / G;
  int64_t gx = (p.M + rows - 1) / rows;
  int64_t want = 4 * (int64_t)tnc_sm_count(h.device), chunks = 1;
  if (gx < want && p.R > (int64_t)G * 64) {
    chunks = (want + gx - 1) / gx;
    int64_t most = p.R / ((int64_t)G * 32);
    if (chunks > most) chunks = most;
    if (chunks > 4096) chunks = 4096;
    if (chunks < 1) chunks = 1;
  }
  p.chunk = (p.R + chunks - 1) / chunks;
  if (p.chunk < 1) p.chunk = 1;
  chunks = (p.R + p.chunk - 1) / p.chunk;
  if (chunks < 1) chunks = 1;
  int64_t ws_bytes = 0;
  p.ws = NULL;
  if (chunks > 1) {
    ws_bytes = chunks * p.M * (int64_t)sizeof(S);
    if (!(p.ws = tnc_scratch(h.device, ws_bytes))) return -1;
  }
  reduce_kernel<Op><<<dim3((unsigned)gx, (unsigned)chunks), dim3(G, rows), 0, stream>>>(p, op);
  if (chunks > 1)
    reduce_merge_kernel<Op><<<(unsigned)((p.M + 7) / 8), dim3(32, 8), 0, stream>>>(p, op, (int)chunks);
  int rc = tnc_check("reduce");
  if (p.ws) tnc_scratch_free(h.device, p.ws, ws_bytes);
  return rc;
}

template <class L>
int reduce_typed(const Host &h, RParams &p, int kernel) {
  typedef typename std::conditional<(L)0.5 != 0, L, uint64_t>::type SumAcc;
  switch (kernel) {
  case TN_RK_SUM:
  case TN_RK_NANSUM:
  case TN_RK_MEAN:
  case TN_RK_NORM0:
  case TN_RK_NORM1:
  case TN_RK_NORM2:
  case TN_RK_NORMP: return launch_reduce(h, p, ArithOp<L, SumAcc, COMB_ADD>());
  case TN_RK_COUNT_NONZERO: return launch_reduce(h, p, ArithOp<L, uint64_t, COMB_ADD>());
  case TN_RK_PROD: return launch_reduce(h, p, ArithOp<L, SumAcc, COMB_MUL>());
  case TN_RK_ALL: return launch_reduce(h, p, ArithOp<L, uint32_t, COMB_AND>());
  case TN_RK_ANY: return launch_reduce(h, p, ArithOp<L, uint32_t, COMB_OR>());
  case TN_RK_AMAX:
  case TN_RK_NORM_INF: return launch_reduce(h, p, MinMaxOp<L, true>());
  case TN_RK_AMIN:
  case TN_RK_NORM_NINF: return launch_reduce(h, p, MinMaxOp<L, false>());
  case TN_RK_AMINMAX: return launch_reduce(h, p, AminmaxOp<L>());
  case TN_RK_ARGMAX:
  case TN_RK_MAX: return launch_reduce(h, p, ArgOp<L, true>());
  case TN_RK_ARGMIN:
  case TN_RK_MIN: return launch_reduce(h, p, ArgOp<L, false>());
  default: break;
  }
  if constexpr ((L)0.5 != 0) {
    if (kernel == TN_RK_VAR || kernel == TN_RK_STD) return launch_reduce(h, p, VarOp<L>());
    if (kernel == TN_RK_LOGSUMEXP) return launch_reduce(h, p, LseOp<L>());
  }
  return tn_error("reduce: kernel %d is not defined for %s tensors on CUDA", kernel, tn_dtype_name(p.xdt));
}

int cuda_reduce(int kernel, tn_tensor *out0, tn_tensor *out1, const tn_tensor *x, uint32_t reduced, double p) {
  Host h;
  if (!(h.stream = tnc_stream("reduce", x))) return -1;
  h.device = tnc_device(x);
  RParams rp;
  memset(&rp, 0, sizeof rp);
  rp.x = (const char *)tn_base(x);
  rp.xdt = x->dtype;
  rp.o0 = (char *)tn_base(out0);
  rp.o0dt = out0->dtype;
  rp.o1 = out1 ? (char *)tn_base(out1) : NULL;
  rp.o1dt = out1 ? out1->dtype : TN_INT64;
  rp.kind = kernel;
  rp.p = p;
  /* the arg kernels index their one reduced dim as it is; others may reorder and merge freely */
  bool arg = kernel >= TN_RK_ARGMAX && kernel <= TN_RK_MIN;
  Dim kd[TN_MAX_DIMS], rd[TN_MAX_DIMS];
  int nk = 0, nr = 0;
  int64_t M = 1, R = 1;
  for (int d = 0; d < x->ndim; d++) {
    int64_t n = x->sizes[d];
    if (reduced >> d & 1u) {
      R *= n;
      if (n != 1 || arg) rd[nr++] = Dim{n, x->strides[d], 0, 0};
    } else {
      M *= n;
      if (n != 1) kd[nk++] = Dim{n, x->strides[d], out0->strides[d], out1 ? out1->strides[d] : 0};
    }
  }
  if (M == 0) return 0;
  nr = coalesce(rd, nr, !arg);
  nk = coalesce(kd, nk, true);
  rp.nk = nk, rp.nr = nr, rp.M = M, rp.R = R;
  for (int i = 0; i < nk; i++) rp.ksz[i] = kd[i].size, rp.kx[i] = kd[i].x, rp.k0[i] = kd[i].o0, rp.k1[i] = kd[i].o1;
  for (int i = 0; i < nr; i++) rp.rsz[i] = rd[i].size, rp.rx[i] = rd[i].x;
  switch (tnc_class(x->dtype)) {
  case 0: return reduce_typed<float>(h, rp, kernel);
  case 1: return reduce_typed<double>(h, rp, kernel);
  default: return reduce_typed<int64_t>(h, rp, kernel);
  }
}

/* ---- cumulative sums and products ---- */

struct CParams {
  const char *x;
  char *o;
  int xdt, odt, op;
  int64_t len, xs, os; /* along the scanned dim (steps negative when reversed) */
  int64_t x0, o0;      /* offsets of the first element scanned */
  tv lines_x, lines_o; /* the other dims (sizes and strides), as views over the lines */
  int64_t lines;
};

template <class A>
__device__ __forceinline__ A comb(int op, A a, A b) {
  return op == TN_CUMSUM ? a + b : a * b;
}

/* a thread per line: right when lines are neighbours in memory */
template <class A>
__global__ void scan_lines_kernel(CParams p) {
  TNC_GRID_LOOP(l, p.lines) {
    const char *x = p.x;
    int64_t xo = tv_offset(p.lines_x, l) + p.x0, oo = tv_offset(p.lines_o, l) + p.o0;
    A a = p.op == TN_CUMSUM ? (A)0 : (A)1;
    for (int64_t r = 0; r < p.len; r++, xo += p.xs, oo += p.os) {
      a = comb<A>(p.op, a, ld<A>(x, xo, p.xdt));
      st<A>(p.o, oo, p.odt, a);
    }
  }
}

template <class A>
struct CombOp {
  int op;
  __device__ A operator()(A a, A b) const { return comb<A>(op, a, b); }
};

/* a block per line: long lines whose elements are neighbours in memory */
template <class A>
__global__ void __launch_bounds__(256) scan_block_kernel(CParams p) {
  typedef cub::BlockScan<A, 256> Scan;
  __shared__ typename Scan::TempStorage tmp;
  int64_t l = blockIdx.x;
  int64_t xo = tv_offset(p.lines_x, l) + p.x0, oo = tv_offset(p.lines_o, l) + p.o0;
  A carry = p.op == TN_CUMSUM ? (A)0 : (A)1;
  CombOp<A> f{p.op};
  for (int64_t r0 = 0; r0 < p.len; r0 += 256) {
    int64_t r = r0 + threadIdx.x;
    A v = r < p.len ? ld<A>(p.x, xo + r * p.xs, p.xdt) : (p.op == TN_CUMSUM ? (A)0 : (A)1);
    A total;
    Scan(tmp).InclusiveScan(v, v, f, total);
    v = f(carry, v);
    if (r < p.len) st<A>(p.o, oo + r * p.os, p.odt, v);
    carry = f(carry, total);
    __syncthreads();
  }
}

int cuda_cumulative(int op, tn_tensor *out, const tn_tensor *x, int dim, int reverse) {
  if (x->numel == 0) return 0;
  CParams p;
  memset(&p, 0, sizeof p);
  p.x = (const char *)tn_base(x);
  p.o = (char *)tn_base(out);
  p.xdt = x->dtype, p.odt = out->dtype, p.op = op;
  p.len = x->ndim > 0 ? x->sizes[dim] : 1;
  int64_t xs = x->ndim > 0 ? x->strides[dim] : 0, os = x->ndim > 0 ? out->strides[dim] : 0;
  p.xs = reverse ? -xs : xs, p.os = reverse ? -os : os;
  p.x0 = reverse ? (p.len - 1) * xs : 0, p.o0 = reverse ? (p.len - 1) * os : 0;
  /* the lines: x's dims with the scanned one set to size 1 */
  tn_tensor lx = *x, lo = *out;
  if (x->ndim == 0) lx.ndim = lo.ndim = 0;
  else lx.sizes[dim] = lo.sizes[dim] = 1;
  p.lines_x = tv_of(&lx), p.lines_o = tv_of(&lo);
  p.lines = x->numel / p.len;
  /* the scanned dim is the innermost in memory: a block per line when lines are long */
  bool inner = true;
  for (int d = 0; d < x->ndim; d++)
    if (d != dim && x->sizes[d] > 1 && x->strides[d] < (xs < 0 ? -xs : xs)) inner = false;
  bool block = inner && p.len >= 64 && p.lines < 65536 * 16;
  cudaStream_t s = tnc_stream(op == TN_CUMSUM ? "cumsum" : "cumprod", x);
  if (!s) return -1;
  bool ints = tnc_class(x->dtype) == 2;
  if (block) {
    if (ints) scan_block_kernel<uint64_t><<<(unsigned)p.lines, 256, 0, s>>>(p);
    else scan_block_kernel<double><<<(unsigned)p.lines, 256, 0, s>>>(p);
  } else {
    if (ints) scan_lines_kernel<uint64_t><<<tnc_blocks(p.lines), TNC_THREADS, 0, s>>>(p);
    else scan_lines_kernel<double><<<tnc_blocks(p.lines), TNC_THREADS, 0, s>>>(p);
  }
  return tnc_check(op == TN_CUMSUM ? "cumsum" : "cumprod");
}

} // namespace

extern "C" void tn_cuda_register_reduce(tn_backend *b) {
  b->reduce = cuda_reduce;
  b->cumulative = cuda_cumulative;
}
