/* backend.h: the table of functions a device backend fills in (the CPU here, CUDA in cuda/).
 *
 * Public entry points check their arguments, compute output shapes and dtypes, allocate outputs, and
 * then call the backend of the tensors' device. Backends may assume validated arguments. */
#ifndef TN_BACKEND_H
#define TN_BACKEND_H

#include "tensor.h"

/* How an index tensor addresses one dimension of a tensor (dim, 0-based), or a whole tensor flattened in
 * row-major order (dim -1). An index value v means position v - base (base is 1 from Lua); with `negative`,
 * a negative v counts from the end (position v + size). Valid positions are 0 .. size-1; the element at
 * position p lies p * stride elements from position 0. fn names the op in errors. */
typedef struct tn_index_spec {
  const char *fn;
  int dim;
  int negative;
  int64_t size;
  int64_t stride;
  int64_t base;
} tn_index_spec;

/* Sets the error for an index value outside spec's range, in the user's numbering; returns -1. */
int tn_index_error(const tn_index_spec *spec, int64_t value);

/* b (from tn_backend_of), or NULL with an error naming fn when b lacks the kernel `op` (a backend being
 * written fills its table a family at a time). */
#define TN_WITH_KERNEL(fn, b, op) ((b) && !(b)->op ? tn_missing_kernel(fn, b) : (b))
struct tn_backend;
struct tn_backend *tn_missing_kernel(const char *fn, const struct tn_backend *b);

/* Where a batched factorisation failed: the first failing matrix's place in the batch (-1: none) and
 * LAPACK's info for it (the order of the zero pivot or failing minor, counted from 1). With `infos` (an int32
 * tensor [count], contiguous, on the matrices' device; the *_ex ops) the backend factorises every matrix and
 * writes each one's info there instead, leaving index at -1. */
typedef struct tn_linalg_status {
  int64_t index;
  int64_t info;
  tn_tensor *infos;
} tn_linalg_status;

/* ---- shapes of the nn kernels (see the nn block of tn_backend) ---- */

/* A 3-d convolution: input [n x c_in x d x h x w], weight [c_out x c_in/groups x kd x kh x kw], output
 * [n x c_out x od x oh x ow]. Output (l, i, j) reads input slice l*sd - pf + t*dd, row i*sh - pt + a*dh and
 * column j*sw - pl + b*dw for kernel position (t, a, b); reads outside the input are zeros. 2-d convolutions
 * have d = od = kd = sd = dd = 1 and pf = pk = 0 (the kernels' flat case), 1-d ones also h = oh = kh = 1.
 * pk, pb and pr, the padding after the data, only decide the output size (which the caller computed). A
 * transposed convolution is described by the convolution it transposes (its input is this one's output). */
typedef struct tn_conv_geom {
  int64_t n, c_in, h, w;
  int64_t c_out, oh, ow;
  int64_t kh, kw, sh, sw, dh, dw;
  int64_t pt, pb, pl, pr;
  int64_t groups;
  int64_t d, od, kd, sd, dd, pf, pk;
} tn_conv_geom;

/* 3-d pooling over planes (n * c of them) of d x h x w into od x oh x ow (2-d pooling: d = od = kd = sd =
 * dd = 1, pd = 0). Max and average pooling: window (l, i, j) starts at slice l*sd - pd, row i*sh - ph, column
 * j*sw - pw. Average pooling divides by `divisor` when it is nonzero, else by the window's size (clipped to
 * the input plus padding when count_include_pad, to the input otherwise). Adaptive pooling uses only planes
 * and the sizes. */
typedef struct tn_pool_geom {
  int64_t planes, h, w, oh, ow;
  int64_t kh, kw, sh, sw, ph, pw, dh, dw;
  int count_include_pad;
  int64_t divisor;
  int64_t d, od, kd, sd, pd, dd;
} tn_pool_geom;

/* Classification losses over x [n x classes x inner] (inner: the product of the dims after the class dim).
 * target: int64 class numbers [n x inner] counting from base (checked by the caller), or with probs, class
 * probabilities shaped like x. weight: [classes] or NULL. reduction: TN_REDUCTION_* of tensor.h. */
typedef struct tn_loss_spec {
  int64_t n, classes, inner;
  int reduction;
  int probs;
  int64_t ignore_index;         /* a target value (user numbering) that contributes nothing */
  int64_t base;
  double label_smoothing;
} tn_loss_spec;

/* Batch and group normalisation of x [n x c x s]. */
typedef struct tn_norm_geom {
  int64_t n, c, s, groups;
  int training;
  double momentum, eps;
} tn_norm_geom;

/* The flags of tn_backend.gemm. */
enum { TN_GEMM_SUM_BATCHES = 1, TN_GEMM_FRESH_RESULT = 2 };

typedef struct tn_backend {
  const char *name;
  /* allocator accounting (storage.c): the live bytes are the sum of the owner thread's count, kept without a
   * lock (see lib/cpu/alloc.c), and the other threads' (atomic); either may be negative on its own */
  int64_t owner_live_bytes;
  int64_t others_live_bytes;
  int64_t peak_bytes;

  void *(*alloc)(int device_index, int64_t nbytes);
  void (*free)(int device_index, void *ptr, int64_t nbytes);
  int64_t (*cached_bytes)(void);  /* memory the allocator holds for reuse (may be NULL) */
  void (*empty_cache)(void);      /* returns that memory (may be NULL) */

  /* dst = src (broadcast src, convert dtype); called for the device of dst, or of src when dst is on the CPU */
  int (*copy)(tn_tensor *dst, const tn_tensor *src);
  int (*fill)(tn_tensor *t, double value);
  /* Element-wise kernels (ops and kernel variants of pointwise_ops.h). Inputs have the kernel's compute
   * dtype and broadcast to out; out has the result dtype. Inputs may be 0-d CPU tensors (scalars). */
  int (*unary)(int op, tn_tensor *out, const tn_tensor *x, double p0, double p1);
  int (*binary)(int op, tn_tensor *out, const tn_tensor *a, const tn_tensor *b, double p0, double p1);
  int (*ternary)(int op, tn_tensor *out, const tn_tensor *a, const tn_tensor *b, const tn_tensor *c, double p0);
  /* tn_sgd_momentum_ in one pass over contiguous float32 tensors (optional: without it, two binary ops) */
  int (*sgd_momentum)(tn_tensor *param, const tn_tensor *grad, tn_tensor *buf, double lr, double momentum);

  int (*uniform)(tn_tensor *t, double low, double high, tn_generator *g);
  int (*normal)(tn_tensor *t, double mean, double std, tn_generator *g);
  int (*randint)(tn_tensor *t, int64_t low, int64_t high, tn_generator *g);
  int (*bernoulli)(tn_tensor *t, double p, const tn_tensor *p_tensor, tn_generator *g);
  /* rates, count, prob: float64, t's shape, contiguous, on t's device, valid (lib/ops/random.c prepares them) */
  int (*poisson)(tn_tensor *t, const tn_tensor *rates, tn_generator *g);
  int (*binomial)(tn_tensor *t, const tn_tensor *count, const tn_tensor *prob, tn_generator *g);

  /* ---- reductions (entry points in lib/ops/reduce.c; CPU: lib/cpu/reduce.c, reduce_kernels.c, cumulative.c)
   * reduce: kernel is a TN_RK_* of reduce_ops.h, which lists its input dtypes and result dtypes. out0 and out1
   * (NULL when the kernel has no second result) have x's number of dims with size 1 on the dims whose bit is
   * set in `reduced`; p is the kernel's parameter. cumulative: TN_CUMSUM/TN_CUMPROD along dim, out has x's
   * shape (x's dtype for floats, else int64) and may be x itself. ---- */
  int (*reduce)(int kernel, tn_tensor *out0, tn_tensor *out1, const tn_tensor *x, uint32_t reduced, double p);
  int (*cumulative)(int op, tn_tensor *out, const tn_tensor *x, int dim, int reverse);

  /* ---- linear algebra (lib/cpu/blas.c, lib/cpu/linalg.c; CUDA: cuBLAS and cuSOLVER) ----
   * gemm: c = alpha * a @ b + beta * c for every batch index: a [*, m, k], b [*, k, n], c [*, m, n] with one
   * batch shape (a and b may be expanded, stride 0). With TN_GEMM_SUM_BATCHES in flags c is [m, n] and receives
   * beta * c + alpha * the sum over the batch of a @ b. beta 0 ignores c's values. TN_GEMM_FRESH_RESULT: c was
   * allocated for this product (contiguous, not yet written), so its memory is most likely out of cache. Any
   * strides; float and integer dtypes. */
  int (*gemm)(tn_tensor *c, const tn_tensor *a, const tn_tensor *b, double alpha, double beta, int flags);
  /* Factorisations of float32/float64 batches (shapes and meaning as the tn_linalg_* functions of tensor.h).
   * Inputs have any strides and one batch shape; outputs come allocated as batches of column-major matrices
   * (vectors contiguous), and are NULL where not wanted. A matrix that fails (singular, not positive-definite,
   * no convergence) is reported in *st (the backend may stop there). */
  int (*inv)(tn_tensor *out, const tn_tensor *a, tn_linalg_status *st);
  int (*solve)(tn_tensor *x, const tn_tensor *a, const tn_tensor *b, tn_linalg_status *st);
  int (*det)(tn_tensor *det, tn_tensor *sign, tn_tensor *logabsdet, const tn_tensor *a);
  int (*cholesky)(tn_tensor *out, const tn_tensor *a, int upper, tn_linalg_status *st);
  int (*qr)(tn_tensor *q, tn_tensor *r, const tn_tensor *a);
  int (*svd)(tn_tensor *u, tn_tensor *s, tn_tensor *vh, const tn_tensor *a, tn_linalg_status *st);
  int (*eigh)(tn_tensor *w, tn_tensor *v, const tn_tensor *a, int upper, tn_linalg_status *st);
  /* lu [*, m, n] and pivots (int32 [*, min(m, n)], contiguous): getrf of a; pivot 0 factorises without row
   * exchanges (pivots then 1, 2, ...). A zero pivot is reported in *st; every matrix is factorised. */
  int (*lu_factor)(tn_tensor *lu, tn_tensor *pivots, const tn_tensor *a, int pivot, tn_linalg_status *st);
  /* perm (int64 [*, m], contiguous) = 1, 2, ..., m with row i swapped with row pivots[i] (1-based) for i = 1,
   * 2, ... in turn, pivots int32 [*, k] (any strides, one batch shape with perm): row i of P^T A is row
   * perm[i] of A. A pivot outside 1..m is reported in *st (index: the matrix, info: the pivot's position). */
  int (*lu_permutation)(tn_tensor *perm, const tn_tensor *pivots, tn_linalg_status *st);
  /* x [*, n, k] = op(A)^-1 b (getrs; op(A) = A^T with adjoint) for A = P L U given by lu [*, n, n] and pivots
   * (int32 [*, n]); lu, pivots and b have x's batch shape (stride 0 where broadcast). Pivots outside 1..n are
   * reported in *st as for lu_permutation, before anything is written. */
  int (*lu_solve)(tn_tensor *x, const tn_tensor *lu, const tn_tensor *pivots, const tn_tensor *b, int adjoint,
                  tn_linalg_status *st);
  /* x [*, n, k] = A^-1 b for the triangle of a [*, n, n] (upper or lower; unit: ones taken on its diagonal);
   * a and b have x's batch shape (stride 0 where broadcast); x may be b itself. No failure is reported (a
   * zero on the diagonal gives infinities, as LAPACK's trsm). */
  int (*solve_triangular)(tn_tensor *x, const tn_tensor *a, const tn_tensor *b, int upper, int unit);
  /* The least-squares solutions of a [*, m, n] and b [*, m, k] (one batch shape, stride 0 where broadcast)
   * through LAPACK's driver (TN_LSTSQ_*): x [*, max(m, n), k] holds the solution in its first n rows (and,
   * where the driver leaves them, the residual vectors below); rank (int64 [*], NULL for gels) and s
   * ([*, min(m, n)], gelsd and gelss only, else NULL). A rank-deficient matrix (gels) or failed convergence is
   * reported in *st. */
  int (*lstsq)(tn_tensor *x, tn_tensor *rank, tn_tensor *s, const tn_tensor *a, const tn_tensor *b, int driver,
               double rcond, tn_linalg_status *st);
  /* Householder QR in LAPACK's compact form (geqrf): qr [*, m, n] (R on and above the diagonal, the reflectors
   * below it) and tau [*, min(m, n)] (contiguous) of a. */
  int (*geqrf)(tn_tensor *qr, tn_tensor *tau, const tn_tensor *a);
  /* q [*, m, n] = the first n columns of H_1 ... H_k (orgqr) for the reflectors in the columns of a [*, m, n]
   * and tau [*, k], k <= n <= m; a, tau of q's batch shape, any strides. */
  int (*orgqr)(tn_tensor *q, const tn_tensor *a, const tn_tensor *tau);
  /* x [*, m, n] = op(Q) c (left) or c op(Q) (op(Q) = Q^T with transpose), Q = H_1 ... H_k of the reflectors
   * in the first k columns of a [*, mq, *] and tau [*, k] (ormqr; mq = m when left, else n); a, tau and c of
   * x's batch shape, any strides. */
  int (*ormqr)(tn_tensor *x, const tn_tensor *a, const tn_tensor *tau, const tn_tensor *c, int left, int transpose);
  /* The Bunch-Kaufman LDL^T factorisation of the lower triangle of a [*, n, n] (sytrf): ld [*, n, n] (L below
   * the diagonal, D's blocks on and next to it, zeros above) and pivots (int32 [*, n], contiguous; LAPACK's,
   * negative for 2 x 2 blocks). A zero block of D is reported in *st; every matrix is factorised. */
  int (*ldl_factor)(tn_tensor *ld, tn_tensor *pivots, const tn_tensor *a, tn_linalg_status *st);
  /* x [*, n, k] = A^-1 b (sytrs) for A given by ld [*, n, n] and pivots (int32 [*, n]) of ldl_factor; ld,
   * pivots and b have x's batch shape (stride 0 where broadcast). Pivots that sytrs cannot follow (outside
   * +-1..n, or a 2 x 2 block that is not a pair) are reported in *st as for lu_permutation, before anything
   * is written. */
  int (*ldl_solve)(tn_tensor *x, const tn_tensor *ld, const tn_tensor *pivots, const tn_tensor *b,
                   tn_linalg_status *st);

  /* ---- indexing and ordering (entry points in lib/ops/index.c, sort.c, join.c) ----
   * Index tensors are int64 and addressed through a tn_index_spec. */
  /* out[i] = src[i + position(index[i]) * spec->stride]: src is a view with out's shape whose stride is 0
   * along the indexed dim, index has out's shape (stride 0 where it is broadcast). Checks every index. */
  int (*gather)(tn_tensor *out, const tn_tensor *src, const tn_tensor *index, const tn_index_spec *spec);
  /* dst[i + position(index[i]) * spec->stride] (reduce)= src[i] (TN_SCATTER_*; ADD scales src by alpha) for i
   * over index's shape; dst is a view with index's shape whose stride is 0 along spec->dim (for a flattened
   * spec, dim -1, index is 1-d). Writes along spec->dim happen in index order (the last duplicate wins for
   * SET); no other two elements can collide. src may be broadcast (a scalar). Checks every index as it goes
   * (a bad one raises an error; what was written before it stays written, as in PyTorch). */
  int (*scatter)(tn_tensor *dst, const tn_tensor *index, const tn_tensor *src, const tn_index_spec *spec,
                 int reduce, double alpha);
  /* x = value where mask (bool or uint8, broadcast to x's shape) holds */
  int (*masked_fill)(tn_tensor *x, const tn_tensor *mask, double value);
  /* The number of nonzero elements of x (NaN counts), or -1 on error. */
  int64_t (*count_nonzero)(const tn_tensor *x);
  /* out (1-d, count_nonzero(mask) elements) = x where mask, in row-major order; x and mask have one shape */
  int (*masked_select)(tn_tensor *out, const tn_tensor *x, const tn_tensor *mask);
  /* x where mask (x's shape) = consecutive elements of src (1-d, at least count_nonzero(mask) elements) */
  int (*masked_scatter)(tn_tensor *x, const tn_tensor *mask, const tn_tensor *src);
  /* out [count_nonzero(x) x ndim] int64 = the coordinates of the nonzero elements, row-major, offset by base */
  int (*nonzero)(tn_tensor *out, const tn_tensor *x, int64_t base);
  /* Stable sort of every slice along dim (NaN largest); values (may be NULL) and indices have x's shape. */
  int (*sort)(tn_tensor *values, tn_tensor *indices, const tn_tensor *x, int dim, int descending, int64_t base);
  /* The k largest (or smallest) of every slice along dim, in order; values and indices have size k along dim. */
  int (*topk)(tn_tensor *values, tn_tensor *indices, const tn_tensor *x, int64_t k, int dim, int largest,
              int64_t base);
  /* The k-th smallest (k from 1) of every slice along dim; values and indices have size 1 along dim. */
  int (*kthvalue)(tn_tensor *values, tn_tensor *indices, const tn_tensor *x, int64_t k, int dim, int64_t base);
  /* Unique elements (dim < 0) or slices along dim, sorted or (consecutive) runs in order; allocates the
   * results; inverse and counts may be NULL when not wanted. */
  int (*unique)(const char *fn, const tn_tensor *x, int dim, int consecutive, int64_t base, tn_tensor **values,
                tn_tensor **inverse, tn_tensor **counts);
  /* out[i] = the insertion position of values[i] in its row of sorted (last dim; a 1-d sorted serves every
   * value), offset by base; sorted_view has values' shape with stride 0 along the last dim. */
  int (*searchsorted)(tn_tensor *out, const tn_tensor *sorted_view, int64_t length, int64_t stride,
                      const tn_tensor *values, int right, int64_t base);
  /* out = the inputs joined along dim (shapes checked; inputs may have other dtypes than out) */
  int (*cat)(tn_tensor *out, int n, const tn_tensor *const *inputs, int dim);
  /* out = x reversed along the dims whose bit is set in dims */
  int (*flip)(tn_tensor *out, const tn_tensor *x, uint32_t dims);
  /* out = x with the elements above (lower: tril) or below (upper: triu) diagonal k zeroed; out may be x */
  int (*triangle)(tn_tensor *out, const tn_tensor *x, int64_t k, int upper);

  /* ---- nn kernels (entry points in lib/ops/conv.c pool.c softmax.c loss.c norm.c nn.c; CPU kernels in the
   * lib/cpu/ files of the same names). Every tensor reaching them is contiguous; data tensors are float32 or
   * float64 (one dtype per call), index tensors int64, counting from `base` (1 from Lua). The conv and pool
   * slots take 1-d, 2-d and 3-d geometries alike (tn_conv_geom, tn_pool_geom). ---- */
  int (*conv)(tn_tensor *out, const tn_tensor *x, const tn_tensor *w, const tn_tensor *bias, const tn_conv_geom *g);
  int (*conv_backward_input)(tn_tensor *grad_x, const tn_tensor *grad_out, const tn_tensor *w, const tn_conv_geom *g);
  /* grad_w or grad_b may be NULL (not wanted); both are overwritten, not accumulated into. With grad_w NULL,
   * x may be NULL too: the bias gradient reads only grad_out and g's n, c_out, od, oh, ow. */
  int (*conv_backward_weight)(tn_tensor *grad_w, tn_tensor *grad_b, const tn_tensor *grad_out, const tn_tensor *x,
                                const tn_conv_geom *g);
  int (*max_pool)(tn_tensor *out, tn_tensor *indices, const tn_tensor *x, const tn_pool_geom *g, int64_t base);
  /* also the backward of adaptive max pooling: adds each gradient at its saved index (an index outside the
   * plane is an error, which the kernel reports without naming the op) */
  int (*max_pool_backward)(tn_tensor *grad_x, const tn_tensor *grad_out, const tn_tensor *indices,
                             const tn_pool_geom *g, int64_t base);
  int (*avg_pool)(tn_tensor *out, const tn_tensor *x, const tn_pool_geom *g);
  int (*avg_pool_backward)(tn_tensor *grad_x, const tn_tensor *grad_out, const tn_pool_geom *g);
  int (*adaptive_avg_pool)(tn_tensor *out, const tn_tensor *x, const tn_pool_geom *g);
  int (*adaptive_avg_pool_backward)(tn_tensor *grad_x, const tn_tensor *grad_out, const tn_pool_geom *g);
  int (*adaptive_max_pool)(tn_tensor *out, tn_tensor *indices, const tn_tensor *x, const tn_pool_geom *g,
                             int64_t base);
  /* x seen as [outer x dim x inner], softmax over the middle dim; log: log_softmax */
  int (*softmax)(tn_tensor *out, const tn_tensor *x, int64_t outer, int64_t dim, int64_t inner, int log);
  int (*softmax_backward)(tn_tensor *grad_x, const tn_tensor *grad_out, const tn_tensor *out, int64_t outer,
                          int64_t dim, int64_t inner, int log);
  /* loss: 0-d (mean, sum) or [n x inner] (none); lse [n x inner]: each row's log-sum-exp, for the backward */
  int (*cross_entropy)(tn_tensor *loss, tn_tensor *lse, const tn_tensor *x, const tn_tensor *target,
                       const tn_tensor *weight, const tn_loss_spec *s);
  int (*cross_entropy_backward)(tn_tensor *grad_x, const tn_tensor *grad_loss, const tn_tensor *x,
                                const tn_tensor *lse, const tn_tensor *target, const tn_tensor *weight,
                                const tn_loss_spec *s);
  int (*nll_loss)(tn_tensor *loss, const tn_tensor *x, const tn_tensor *target, const tn_tensor *weight,
                  const tn_loss_spec *s);
  int (*nll_loss_backward)(tn_tensor *grad_x, const tn_tensor *grad_loss, const tn_tensor *target,
                           const tn_tensor *weight, const tn_loss_spec *s);
  /* x seen as [rows x cols], normalised over each row; mean, rstd: [rows]; w, b: [cols] or NULL */
  int (*layer_norm)(tn_tensor *y, tn_tensor *mean, tn_tensor *rstd, const tn_tensor *x, const tn_tensor *w,
                    const tn_tensor *b, int64_t rows, int64_t cols, double eps);
  /* any of grad_x, grad_w, grad_b may be NULL (not wanted) */
  int (*layer_norm_backward)(tn_tensor *grad_x, tn_tensor *grad_w, tn_tensor *grad_b, const tn_tensor *grad_y,
                             const tn_tensor *x, const tn_tensor *mean, const tn_tensor *rstd, const tn_tensor *w,
                             int64_t rows, int64_t cols);
  /* Training: the batch statistics go to mean and invstd ([c]) and update the running ones (either may be
   * NULL). Evaluation: mean and invstd come filled in (from the running statistics). w, b may be NULL. */
  int (*batch_norm)(tn_tensor *y, tn_tensor *mean, tn_tensor *invstd, const tn_tensor *x, const tn_tensor *w,
                    const tn_tensor *b, tn_tensor *running_mean, tn_tensor *running_var, const tn_norm_geom *g);
  int (*batch_norm_backward)(tn_tensor *grad_x, tn_tensor *grad_w, tn_tensor *grad_b, const tn_tensor *grad_y,
                             const tn_tensor *x, const tn_tensor *w, const tn_tensor *mean,
                             const tn_tensor *invstd, const tn_norm_geom *g);
  /* mean, rstd: [n x groups] */
  int (*group_norm)(tn_tensor *y, tn_tensor *mean, tn_tensor *rstd, const tn_tensor *x, const tn_tensor *w,
                    const tn_tensor *b, const tn_norm_geom *g);
  int (*group_norm_backward)(tn_tensor *grad_x, tn_tensor *grad_w, tn_tensor *grad_b, const tn_tensor *grad_y,
                             const tn_tensor *x, const tn_tensor *mean, const tn_tensor *rstd, const tn_tensor *w,
                             const tn_norm_geom *g);
  /* weight [num x dim] -> out [numel(indices) x dim]; indices checked by the caller */
  int (*embedding)(tn_tensor *out, const tn_tensor *weight, const tn_tensor *indices, int64_t base);
  /* grad_w [num x dim] is overwritten; rows whose index equals padding_idx (user numbering) add nothing */
  int (*embedding_backward)(tn_tensor *grad_w, const tn_tensor *grad_out, const tn_tensor *indices,
                            int64_t padding_idx, int scale_grad_by_freq, int64_t base);
} tn_backend;

/* The registry: one backend per device type; NULL until that backend is loaded. */
extern tn_backend *tn_backends[TN_NUM_DEVICE_TYPES];

void tn_register_backend(int device_type, tn_backend *backend);
/* The backend for t's device, or NULL with an error naming fn. */
tn_backend *tn_backend_of(const char *fn, const tn_tensor *t);
tn_backend *tn_backend_for_device(const char *fn, int device_type);

/* Allocator bookkeeping for backends. */
void tn_account_alloc(tn_backend *b, int64_t nbytes);
void tn_account_free(tn_backend *b, int64_t nbytes);

#endif /* TN_BACKEND_H */
