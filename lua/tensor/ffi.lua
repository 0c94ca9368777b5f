-- tensor.ffi: the C declarations of libtensor, copied from the FFI region of lib/include/tensor.h
-- by tools/sync-ffi.lua. Do not edit by hand; test/ffi_header_spec.lua checks that the two agree.
local ffi = require 'ffi'

local declarations = [==[
enum { TN_MAX_DIMS = 16 };

typedef enum tn_dtype {
  TN_FLOAT32 = 0, TN_FLOAT64 = 1, TN_FLOAT16 = 2, TN_BFLOAT16 = 3, TN_INT64 = 4,
  TN_INT32 = 5, TN_INT16 = 6, TN_INT8 = 7, TN_UINT8 = 8, TN_BOOL = 9, TN_NUM_DTYPES = 10
} tn_dtype;

typedef enum tn_device_type { TN_CPU = 0, TN_CUDA = 1, TN_NUM_DEVICE_TYPES = 2 } tn_device_type;

/* A reference-counted buffer. Tensors that are views of one another share one storage. */
typedef struct tn_storage {
  void *data;
  int64_t nbytes;
  int64_t refcount;
  int64_t version;              /* bumped by every in-place write through any tensor on this storage */
  int32_t dtype;                /* the element type it was created for (Torch7 storages are typed) */
  int32_t device_type;
  int32_t device_index;
  int32_t foreign;              /* 1: the memory belongs to someone else (tn_storage_wrap); 2: one host block
                                   holds this storage's header and data (and maybe a tensor header) */
  void (*deleter)(void *data, void *ctx);   /* for foreign memory: called on release, may be NULL */
  void *deleter_ctx;
} tn_storage;

/* A strided view of a storage. */
typedef struct tn_tensor {
  tn_storage *storage;
  tn_storage *home;             /* the storage whose memory block holds this header, or NULL */
  int64_t offset;               /* in elements */
  int64_t numel;
  int32_t ndim;
  int32_t dtype;
  int32_t owner_slot;           /* the binding's own use: the slot of lua/tensor/memory.lua that owns this header */
  int64_t sizes[TN_MAX_DIMS];
  int64_t strides[TN_MAX_DIMS];  /* in elements */
} tn_tensor;

/* The random generator: Philox4x32-10, counter-based. Element i of a random fill of n elements depends
 * only on (seed, offset, i), so results do not depend on the thread count; each fill advances offset. */
typedef struct tn_generator {
  uint64_t seed;
  uint64_t offset;
} tn_generator;

/* errors */
const char *tn_last_error(void);
void tn_clear_error(void);

/* dtypes and the 16-bit float formats (round to nearest even) */
int64_t tn_dtype_size(int dtype);
const char *tn_dtype_name(int dtype);
int tn_dtype_is_floating(int dtype);
float tn_half_to_float(uint16_t h);
uint16_t tn_float_to_half(float f);
float tn_bfloat16_to_float(uint16_t h);
uint16_t tn_float_to_bfloat16(float f);

/* memory accounting, per device type */
int64_t tn_memory_live_bytes(int device_type);
int64_t tn_memory_peak_bytes(int device_type);
void tn_memory_reset_peak(int device_type);
int64_t tn_memory_cached_bytes(int device_type);
void tn_memory_empty_cache(int device_type);

/* threads (OpenMP kernels and the BLAS library) and the BLAS library in use */
void tn_set_num_threads(int n);
int tn_get_num_threads(void);
const char *tn_blas_info(void);

/* storages */
tn_storage *tn_storage_new(int64_t nbytes, int dtype, int device_type, int device_index);
tn_storage *tn_storage_wrap(void *data, int64_t nbytes, int dtype, int device_type, int device_index,
                            void (*deleter)(void *data, void *ctx), void *deleter_ctx);
void tn_storage_retain(tn_storage *s);
void tn_storage_release(tn_storage *s);

/* tensor headers */
tn_tensor *tn_empty(int ndim, const int64_t *sizes, int dtype, int device_type, int device_index);
tn_tensor *tn_empty_like(const tn_tensor *t);
tn_tensor *tn_from_storage(tn_storage *s, int64_t offset, int ndim, const int64_t *sizes,
                           const int64_t *strides, int dtype);
tn_tensor *tn_alias(const tn_tensor *t);
void tn_tensor_free(tn_tensor *t);
/* Frees table[slots[i]] for each i and clears those entries (the binding's batched release). */
void tn_tensor_free_slots(tn_tensor **table, const int32_t *slots, int64_t count);
int tn_is_contiguous(const tn_tensor *t);
int tn_resize_(tn_tensor *t, int ndim, const int64_t *sizes);
int tn_set_(tn_tensor *t, const tn_tensor *src);
void *tn_data_ptr(const tn_tensor *t);
int tn_broadcast_shapes(int ndim_a, const int64_t *a, int ndim_b, const int64_t *b, int64_t *out);

/* views: new headers on the same storage */
tn_tensor *tn_as_strided(const tn_tensor *t, int ndim, const int64_t *sizes, const int64_t *strides, int64_t offset);
tn_tensor *tn_view(const tn_tensor *t, int ndim, const int64_t *sizes);
tn_tensor *tn_reshape(const tn_tensor *t, int ndim, const int64_t *sizes);
tn_tensor *tn_narrow(const tn_tensor *t, int dim, int64_t start, int64_t length);
tn_tensor *tn_select(const tn_tensor *t, int dim, int64_t index);
tn_tensor *tn_transpose(const tn_tensor *t, int dim0, int dim1);
tn_tensor *tn_permute(const tn_tensor *t, int ndim, const int32_t *dims);
tn_tensor *tn_squeeze(const tn_tensor *t, int dim);
tn_tensor *tn_squeeze_all(const tn_tensor *t);
tn_tensor *tn_unsqueeze(const tn_tensor *t, int dim);
tn_tensor *tn_expand(const tn_tensor *t, int ndim, const int64_t *sizes);
tn_tensor *tn_unfold(const tn_tensor *t, int dim, int64_t size, int64_t step);
tn_tensor *tn_diagonal(const tn_tensor *t, int64_t offset, int dim0, int dim1);

/* copies and conversion */
int tn_copy_(tn_tensor *dst, const tn_tensor *src);
tn_tensor *tn_contiguous(const tn_tensor *t);
tn_tensor *tn_clone(const tn_tensor *t);
tn_tensor *tn_to(const tn_tensor *t, int dtype, int device_type, int device_index);
int tn_fill_(tn_tensor *t, double value);

/* ---- element-wise ops (lib/ops/pointwise.c) ----
 * NumPy broadcasting and PyTorch's type promotion. p0/p1 are per-op parameters (add/sub: alpha; clamp: min,
 * max; leaky_relu: slope; elu: alpha; softplus: beta, threshold; gelu: 1 for the tanh approximation;
 * pow_scalar: the exponent; polygamma: its order n). `float_dtype` is the dtype integer inputs of float-valued
 * ops promote to (the default dtype). Scalar operands of tn_binary_scalar are "wrapped numbers" of dtype s_dtype
 * (int64 for an integral Lua number, bool, or float_dtype), which promote as in PyTorch; `reversed` computes
 * s OP a. */
enum {
  TN_NEG, TN_ABS, TN_SIGN, TN_EXP, TN_EXP2, TN_EXPM1, TN_LOG, TN_LOG2, TN_LOG10, TN_LOG1P, TN_SQRT, TN_RSQRT,
  TN_SIN, TN_COS, TN_TAN, TN_ASIN, TN_ACOS, TN_ATAN, TN_SINH, TN_COSH, TN_TANH, TN_SIGMOID, TN_LOGSIGMOID,
  TN_RELU, TN_GELU, TN_SILU, TN_LEAKY_RELU, TN_ELU, TN_SOFTPLUS, TN_ERF, TN_ERFC, TN_FLOOR, TN_CEIL, TN_ROUND,
  TN_TRUNC, TN_FRAC, TN_RECIPROCAL, TN_SQUARE, TN_CLAMP, TN_POW_SCALAR, TN_BITWISE_NOT,
  TN_LOGICAL_NOT, TN_ISNAN, TN_ISINF, TN_ISFINITE, TN_SIGNBIT,
  TN_ASINH, TN_ACOSH, TN_ATANH, TN_LGAMMA, TN_DIGAMMA, TN_POLYGAMMA, TN_ERFINV, TN_I0, TN_I1, TN_SINC,
  TN_NDTR, TN_NDTRI, TN_LOG_NDTR, TN_ERFCX, TN_I0E, TN_I1E, TN_ENTR, TN_BESSEL_J0, TN_BESSEL_J1, TN_BESSEL_Y0,
  TN_BESSEL_Y1, TN_MODIFIED_BESSEL_K0, TN_MODIFIED_BESSEL_K1, TN_SCALED_MODIFIED_BESSEL_K0,
  TN_SCALED_MODIFIED_BESSEL_K1, TN_SPHERICAL_BESSEL_J0, TN_AIRY_AI,
  TN_NUM_UNARY_OPS
};
enum {
  TN_ADD, TN_SUB, TN_MUL, TN_DIV, TN_FLOOR_DIVIDE, TN_REMAINDER, TN_FMOD, TN_POW, TN_MAXIMUM, TN_MINIMUM,
  TN_ATAN2, TN_BITWISE_AND, TN_BITWISE_OR, TN_BITWISE_XOR,
  TN_THRESHOLD_BACKWARD, TN_SIGMOID_BACKWARD, TN_TANH_BACKWARD, TN_GELU_BACKWARD, TN_SILU_BACKWARD,
  TN_LEAKY_RELU_BACKWARD, TN_ELU_BACKWARD, TN_SOFTPLUS_BACKWARD,
  TN_EQ, TN_NE, TN_LT, TN_LE, TN_GT, TN_GE, TN_LOGICAL_AND, TN_LOGICAL_OR, TN_LOGICAL_XOR,
  TN_FMAX, TN_FMIN, TN_NEXTAFTER, TN_GCD, TN_LCM, TN_BITWISE_LEFT_SHIFT, TN_BITWISE_RIGHT_SHIFT,
  TN_XLOG1PY, TN_ZETA, TN_IGAMMA, TN_IGAMMAC, TN_CHEBYSHEV_POLYNOMIAL_T, TN_CHEBYSHEV_POLYNOMIAL_U,
  TN_CHEBYSHEV_POLYNOMIAL_V, TN_CHEBYSHEV_POLYNOMIAL_W, TN_SHIFTED_CHEBYSHEV_POLYNOMIAL_T,
  TN_SHIFTED_CHEBYSHEV_POLYNOMIAL_U, TN_SHIFTED_CHEBYSHEV_POLYNOMIAL_V, TN_SHIFTED_CHEBYSHEV_POLYNOMIAL_W,
  TN_HERMITE_POLYNOMIAL_H, TN_HERMITE_POLYNOMIAL_HE, TN_LAGUERRE_POLYNOMIAL_L, TN_LEGENDRE_POLYNOMIAL_P,
  TN_NUM_BINARY_OPS
};
enum { TN_LERP, TN_ADDCMUL, TN_ADDCDIV, TN_WHERE, TN_NUM_TERNARY_OPS };

int tn_promote_types(int a, int b);
/* PyTorch's result_type of two operands, each a tensor or (tensor NULL) a wrapped number of dtype *_number_dtype:
 * tensors with dims decide, then 0-d tensors, then numbers, a later one only where its category (bool, integer,
 * floating) is higher. */
int tn_result_type(const tn_tensor *a, int a_number_dtype, const tn_tensor *b, int b_number_dtype);
/* Whether a result of dtype `from` may be written into a tensor of dtype `to` (out=, in place): not floating into
 * an integer dtype, nor anything but bool into bool. */
int tn_can_cast(int from, int to);
tn_tensor *tn_unary(int op, tn_tensor *out, const tn_tensor *x, double p0, double p1, int float_dtype);
tn_tensor *tn_binary(int op, tn_tensor *out, const tn_tensor *a, const tn_tensor *b, double p0, double p1,
                     int float_dtype);
tn_tensor *tn_binary_scalar(int op, tn_tensor *out, const tn_tensor *a, double s, int s_dtype, int reversed,
                            double p0, double p1, int float_dtype);
/* lerp(a, b, weight c); addcmul/addcdiv: a + value * b * c (or / c); where(cond a, b, c) */
tn_tensor *tn_ternary(int op, tn_tensor *out, const tn_tensor *a, const tn_tensor *b, const tn_tensor *c,
                      double value, int float_dtype);
/* a 0-d tensor holding one value (wrapped numbers for the ternary ops) */
tn_tensor *tn_scalar_tensor(double value, int dtype, int device_type, int device_index);

/* ---- reductions (lib/ops/reduce.c) ----
 * Over all elements (ndims 0 or dims NULL), or over the dims listed in dims[0..ndims) (0-based, negative from
 * the end, each at most once). keepdim keeps the reduced dims with size 1. Result dtypes as in PyTorch: sum,
 * nansum, prod, cumsum and cumprod of integers and bool give int64; mean, nanmean, var, std, norm need a
 * floating input (or a floating dtype); all/any give bool (uint8 for uint8 inputs); argmax/argmin and
 * count_nonzero give int64. `dtype` (-1: none) is the dtype sum/nansum/prod/mean/nanmean/norm/logsumexp and
 * the cumulative ops convert the input to first. `p`: norm's order (2, 1, 0, INFINITY, -INFINITY, any other);
 * var/std's correction (1: unbiased); argmax/argmin's index base (1 for Lua's indices). argmax/argmin take at
 * most one dim (none: the index in the flattened tensor). max/min/amax/amin/argmax/argmin of an empty
 * selection are errors; NaN propagates through max/min and is the arg-extreme. Float32 sums are pairwise. */
enum {
  TN_SUM, TN_NANSUM, TN_MEAN, TN_NANMEAN, TN_PROD, TN_AMAX, TN_AMIN, TN_ALL, TN_ANY, TN_COUNT_NONZERO,
  TN_NORM, TN_VAR, TN_STD, TN_LOGSUMEXP, TN_ARGMAX, TN_ARGMIN,
  TN_NUM_REDUCE_OPS
};
/* Two-result reductions: max/min over one dim (values, indices; p is the index base), aminmax (min, max),
 * var_mean/std_mean (var or std, mean; p is the correction). */
enum { TN_MAX_DIM, TN_MIN_DIM, TN_AMINMAX, TN_VAR_MEAN, TN_STD_MEAN, TN_NUM_REDUCE2_OPS };
/* Cumulative ops along one dim; `reverse` scans from the end (the backward of cumsum). */
enum { TN_CUMSUM, TN_CUMPROD, TN_NUM_CUMULATIVE_OPS };

tn_tensor *tn_reduce(int op, tn_tensor *out, const tn_tensor *x, int ndims, const int32_t *dims, int keepdim,
                     int dtype, double p);
/* The reduction over all elements as a number, without allocating (Lua's x:sum() path); 0 or -1. */
int tn_reduce_value(int op, const tn_tensor *x, int dtype, double p, double *value);
/* outs[0], outs[1]: NULL or out= tensors on entry; the two results on success (0), untouched on error (-1). */
int tn_reduce2(int op, tn_tensor **outs, const tn_tensor *x, int ndims, const int32_t *dims, int keepdim, double p);
tn_tensor *tn_cumulative(int op, tn_tensor *out, const tn_tensor *x, int dim, int dtype, int reverse);

/* random numbers */
tn_generator *tn_default_generator(void);
void tn_generator_seed(tn_generator *g, uint64_t seed);
int tn_uniform_(tn_tensor *t, double low, double high, tn_generator *g);
int tn_normal_(tn_tensor *t, double mean, double std, tn_generator *g);
int tn_randint_(tn_tensor *t, int64_t low, int64_t high, tn_generator *g);
int tn_bernoulli_(tn_tensor *t, double p, tn_generator *g);
int tn_bernoulli_tensor_(tn_tensor *t, const tn_tensor *p, tn_generator *g);
/* Poisson counts of the rates (finite, >= 0), binomial counts of count trials (integers >= 0) of probability prob
 * (in [0, 1]); the parameters broadcast to t (floating). A counter per element: see lib/random_draw.h. */
int tn_poisson_(tn_tensor *t, const tn_tensor *rates, tn_generator *g);
int tn_binomial_(tn_tensor *t, const tn_tensor *count, const tn_tensor *prob, tn_generator *g);
tn_tensor *tn_randperm(int64_t n, int64_t base, int dtype, tn_generator *g);

/* ---- linear algebra: matrix products (lib/ops/blas.c) ----
 * Operands share one dtype and device. float32/float64 run on BLAS, reading transposed and strided operands in
 * place; float16/bfloat16 compute in float32; integer types use a blocked kernel (overflow wraps); bool is refused.
 * The add* forms compute beta * input + alpha * product, the input broadcast to the result's shape; beta 0
 * ignores the input's values (NaN and inf included); for integer dtypes alpha and beta must be integers.
 * `out` may be NULL, an out= tensor (resized when needed), or for the add* forms the input itself (in place:
 * no broadcasting). Sizes: mm [m x k] @ [k x n]; bmm [b x m x k] @ [b x k x n]; mv [m x k] @ [k]; dot and
 * vdot two [k] (a 0-d result); outer [m] x [n] -> [m x n]; addbmm sums the b products into one [m x n].
 * matmul follows PyTorch: 1-d @ 1-d is dot, 2-d @ 1-d is mv, a 1-d operand gains a dim that the result drops,
 * batch dims broadcast. */
tn_tensor *tn_mm(tn_tensor *out, const tn_tensor *a, const tn_tensor *b);
tn_tensor *tn_bmm(tn_tensor *out, const tn_tensor *a, const tn_tensor *b);
tn_tensor *tn_mv(tn_tensor *out, const tn_tensor *a, const tn_tensor *x);
tn_tensor *tn_dot(tn_tensor *out, const tn_tensor *a, const tn_tensor *b);
tn_tensor *tn_outer(tn_tensor *out, const tn_tensor *a, const tn_tensor *b);
tn_tensor *tn_matmul(tn_tensor *out, const tn_tensor *a, const tn_tensor *b);
tn_tensor *tn_addmm(tn_tensor *out, const tn_tensor *input, const tn_tensor *a, const tn_tensor *b, double beta,
                    double alpha);
tn_tensor *tn_addmv(tn_tensor *out, const tn_tensor *input, const tn_tensor *a, const tn_tensor *x, double beta,
                    double alpha);
tn_tensor *tn_addr(tn_tensor *out, const tn_tensor *input, const tn_tensor *a, const tn_tensor *b, double beta,
                   double alpha);
tn_tensor *tn_baddbmm(tn_tensor *out, const tn_tensor *input, const tn_tensor *a, const tn_tensor *b, double beta,
                      double alpha);
tn_tensor *tn_addbmm(tn_tensor *out, const tn_tensor *input, const tn_tensor *a, const tn_tensor *b, double beta,
                     double alpha);

/* ---- linear algebra: LAPACK (lib/ops/linalg.c) ----
 * float32 and float64 matrices in the last two dims, batched over the leading dims. Results are batches of
 * column-major matrices (strides like PyTorch's). Singular matrices (inv, solve), matrices that are not
 * positive-definite (cholesky) and failed iterations (svd, eigh) are errors naming the op, the shape and the
 * matrix of the batch. Functions with several results write them to the pointers they are given (each
 * freshly allocated, owned by the caller) and return 0, or -1 with none allocated.
 * solve: a [*, n, n], b [*, n, k] or [*, n] (a vector when b has one dim less than a), batch dims broadcast;
 * left = 0 solves x a = b instead. qr mode: 0 'reduced', 1 'complete', 2 'r' (q is then an empty tensor).
 * svd: full_matrices as in PyTorch; compute_uv = 0 returns empty u and vh. eigh: ascending eigenvalues, upper
 * chooses the triangle that is read (PyTorch's UPLO='U'). */
tn_tensor *tn_linalg_inv(tn_tensor *out, const tn_tensor *a);
tn_tensor *tn_linalg_solve(tn_tensor *out, const tn_tensor *a, const tn_tensor *b, int left);
tn_tensor *tn_linalg_det(tn_tensor *out, const tn_tensor *a);
int tn_linalg_slogdet(const tn_tensor *a, tn_tensor **sign, tn_tensor **logabsdet);
tn_tensor *tn_linalg_cholesky(tn_tensor *out, const tn_tensor *a, int upper);
int tn_linalg_qr(const tn_tensor *a, int mode, tn_tensor **q, tn_tensor **r);
int tn_linalg_svd(const tn_tensor *a, int full_matrices, int compute_uv, tn_tensor **u, tn_tensor **s,
                  tn_tensor **vh);
int tn_linalg_eigh(const tn_tensor *a, int upper, tn_tensor **eigenvalues, tn_tensor **eigenvectors);

/* ---- linear algebra: LU, triangular, Cholesky and least-squares solvers (lib/ops/linalg.c) ----
 * Same conventions as above. B operands are [*, n, k] (left) or [*, k, n] (left = 0: X A = B is solved), their
 * batch dims broadcasting with A's.
 * lu_factor: a [*, m, n] -> lu [*, m, n] (U on and above the diagonal, L below it, its unit diagonal implied)
 * and pivots, int32 [*, min(m, n)], 1-based as LAPACK's: row i was swapped with row pivots[i], i = 1, 2, ...
 * pivot = 0 factorises without row exchanges (CUDA only, as PyTorch; pivots are then 1, 2, ...). With info
 * NULL a zero pivot is an error; otherwise *info gets an int32 [*] tensor of LAPACK's infos (0, or the
 * order of the first zero pivot) and nothing is raised.
 * lu_permutation: the int64 [*, m] permutation of lu_factor's pivots [*, k] (any k <= m): row i of P^T A is
 * row perm[i] of A (1-based), so that A = P L U with P[perm[i], i] = 1.
 * lu_solve: X of op(A) X = B with A = P L U given by lu [*, n, n] and pivots [*, n] (lu_factor's results;
 * pivots outside 1..n are an error); op(A) = A^T with adjoint. solve_triangular: X for the upper (or lower)
 * triangle of a [*, n, n], the other triangle is not read; unitriangular takes ones for its diagonal.
 * cholesky_solve: X of A X = B for A = L L^T given by its Cholesky factor l [*, n, n] (lower, or U with
 * A = U^T U when upper). lstsq: the least-squares solutions of a [*, m, n] and b [*, m, k] or [*, m]
 * (batch dims broadcast) through LAPACK's driver (CPU only): *x [*, max(m, n), k] holds the solution in its
 * first n rows (and LAPACK's residual vectors below them for gels, gelsd and gelss when m > n); *rank int64
 * [*] (an empty tensor for gels) and *singular_values [*, min(m, n)] (gelsd, gelss; else empty). rcond: the
 * singular values below rcond times the largest count as zero (gelsy, gelsd, gelss; < 0: machine precision).
 * gels refuses rank-deficient matrices. The *_ex functions are inv, cholesky and solve with info as for
 * lu_factor (solve_ex's info has A's batch shape: it factorises A, then solves). */
enum { TN_LSTSQ_GELS = 0, TN_LSTSQ_GELSY = 1, TN_LSTSQ_GELSD = 2, TN_LSTSQ_GELSS = 3 };
int tn_linalg_lu_factor(const tn_tensor *a, int pivot, tn_tensor **lu, tn_tensor **pivots, tn_tensor **info);
tn_tensor *tn_linalg_lu_permutation(const tn_tensor *pivots, int64_t m);
tn_tensor *tn_linalg_lu_solve(tn_tensor *out, const tn_tensor *lu, const tn_tensor *pivots, const tn_tensor *b,
                              int left, int adjoint);
tn_tensor *tn_linalg_solve_triangular(tn_tensor *out, const tn_tensor *a, const tn_tensor *b, int upper, int left,
                                      int unitriangular);
tn_tensor *tn_linalg_cholesky_solve(tn_tensor *out, const tn_tensor *b, const tn_tensor *l, int upper);
int tn_linalg_lstsq(const tn_tensor *a, const tn_tensor *b, int driver, double rcond, tn_tensor **x,
                    tn_tensor **rank, tn_tensor **singular_values);
int tn_linalg_inv_ex(const tn_tensor *a, tn_tensor **inverse, tn_tensor **info);
int tn_linalg_cholesky_ex(const tn_tensor *a, int upper, tn_tensor **l, tn_tensor **info);
int tn_linalg_solve_ex(const tn_tensor *a, const tn_tensor *b, int left, tn_tensor **x, tn_tensor **info);

/* ---- linear algebra: Householder reflectors and LDL^T (lib/ops/linalg.c) ----
 * Same conventions as above. geqrf: a [*, m, n] -> *qr [*, m, n] (R on and above the diagonal, the Householder
 * vectors below it, their leading 1 implied) and *tau [*, min(m, n)], LAPACK's compact QR.
 * householder_product: the first n columns of H_1 ... H_k, H_i = I - tau_i v_i v_i^T with v_i from column i
 * of a [*, m, n] (m >= n) and tau [*, k] (k <= n; a's batch shape, no broadcasting), as LAPACK's orgqr.
 * ormqr: Q C (left) or C Q, with Q^T for transpose, Q = H_1 ... H_k of a [*, mq, >= k] and tau [*, k], C
 * [*, m, n] (mq = m for left, else n; one batch shape), without forming Q. ldl_factor: the Bunch-Kaufman
 * A = L D L^T of the lower triangle of a [*, n, n] (sytrf): *ld [*, n, n] (L's strict lower triangle, D's 1 x 1
 * and 2 x 2 blocks on and next to the diagonal, zeros above) and *pivots int32 [*, n] exactly as LAPACK's
 * (1-based; an equal pair of negatives marks a 2 x 2 block); info as for lu_factor (NULL: a zero block of D is
 * an error). ldl_solve: X of A X = B for A given by ld and pivots [*, n] (ldl_factor's, checked), B [*, n, k]
 * with broadcast batch dims. */
int tn_linalg_geqrf(const tn_tensor *a, tn_tensor **qr, tn_tensor **tau);
tn_tensor *tn_linalg_householder_product(tn_tensor *out, const tn_tensor *a, const tn_tensor *tau);
tn_tensor *tn_linalg_ormqr(tn_tensor *out, const tn_tensor *a, const tn_tensor *tau, const tn_tensor *c, int left,
                           int transpose);
int tn_linalg_ldl_factor(const tn_tensor *a, tn_tensor **ld, tn_tensor **pivots, tn_tensor **info);
tn_tensor *tn_linalg_ldl_solve(tn_tensor *out, const tn_tensor *ld, const tn_tensor *pivots, const tn_tensor *b);

/* ---- indexing (lib/ops/index.c) ----
 * Index tensors are int64 (int32 is accepted). `base` is the number of the first position: 1 from Lua, 0 for
 * 0-based callers; indices are read and written offset by it, and errors report them as given. Every index is
 * checked: an out-of-range one raises an error naming the op, the index and the valid range. Only take, put_
 * and index_fill_ accept negative indices (counting from the end), as in PyTorch. Masks are bool (or uint8). */
enum { TN_SCATTER_SET = 0, TN_SCATTER_ADD = 1, TN_SCATTER_MUL = 2, TN_SCATTER_AMAX = 3, TN_SCATTER_AMIN = 4 };
/* out = the slices of x at index (1-d) along dim */
tn_tensor *tn_index_select(tn_tensor *out, const tn_tensor *x, int dim, const tn_tensor *index, int64_t base);
/* out[i][j] = x[index[i][j]][j] (dim 0; likewise for the other dims); out has index's shape */
tn_tensor *tn_gather(tn_tensor *out, const tn_tensor *x, int dim, const tn_tensor *index, int64_t base);
/* x[index[i][j]][j] (reduce)= src[i][j] (dim 0; likewise for the other dims), in place; src NULL scatters the
 * scalar value. Duplicate indices accumulate for ADD/MUL/AMAX/AMIN; for SET the last one wins. */
int tn_scatter_(tn_tensor *x, int dim, const tn_tensor *index, const tn_tensor *src, double value, int reduce,
                int64_t base);
/* x.select(dim, index[j]) (reduce)= src.select(dim, j) (src NULL: the scalar value), in place: index_add_
 * (ADD, scaled by alpha), index_copy_ (SET), index_fill_ (SET of a value), and the other reductions. */
int tn_index_reduce_(tn_tensor *x, int dim, const tn_tensor *index, const tn_tensor *src, double value,
                     int reduce, double alpha, int64_t base);
/* x viewed as 1-d in row-major order: out[i] = x[index[i]] (out has index's shape); put_ writes src there */
tn_tensor *tn_take(tn_tensor *out, const tn_tensor *x, const tn_tensor *index, int64_t base);
int tn_put_(tn_tensor *x, const tn_tensor *index, const tn_tensor *src, int accumulate, int64_t base);
/* the elements of x where mask holds (x and mask broadcast together), as a 1-d tensor in row-major order */
tn_tensor *tn_masked_select(tn_tensor *out, const tn_tensor *x, const tn_tensor *mask);
/* in place, mask broadcast to x's shape: x = value where mask; x = the next elements of src where mask */
int tn_masked_fill_(tn_tensor *x, const tn_tensor *mask, double value);
int tn_masked_scatter_(tn_tensor *x, const tn_tensor *mask, const tn_tensor *src);
/* [n x ndim] int64: the coordinates (offset by base) of the n nonzero elements, in row-major order */
tn_tensor *tn_nonzero(tn_tensor *out, const tn_tensor *x, int64_t base);
/* the number of nonzero elements (NaN counts), or -1 on error */
int64_t tn_count_nonzero(const tn_tensor *x);

/* ---- ordering (lib/ops/sort.c) ----
 * Ops with several results take a tn_tensor** per result: *p NULL gets a new tensor, an existing tensor is
 * written (out=, resized when needed); a NULL p means the result is not wanted. Sorting is stable and orders
 * NaN above every number (PyTorch's order); -0.0 and 0.0 are equal. Indices are int64 offset by base. */
int tn_sort(tn_tensor **values, tn_tensor **indices, const tn_tensor *x, int dim, int descending, int64_t base);
/* the k largest (largest=1) or smallest elements along dim, sorted (best first) */
int tn_topk(tn_tensor **values, tn_tensor **indices, const tn_tensor *x, int64_t k, int dim, int largest,
            int64_t base);
/* the k-th smallest element along dim (k from 1) and its index; keepdim keeps dim with size 1 */
int tn_kthvalue(tn_tensor **values, tn_tensor **indices, const tn_tensor *x, int64_t k, int dim, int keepdim,
                int64_t base);
/* unique elements (has_dim 0: of the flattened tensor) or slices along dim, sorted ascending; consecutive: only
 * runs of equal neighbours merge, in order. inverse: for each element (slice) of x the position of its value in
 * values (offset by base); counts: how often each value occurs. NaNs are distinct from one another. */
int tn_unique(tn_tensor **values, tn_tensor **inverse, tn_tensor **counts, const tn_tensor *x, int dim,
              int has_dim, int consecutive, int64_t base);
/* for each value, the position (offset by base) at which it would be inserted into `sorted` along its last dim
 * to keep it sorted: before equal elements, or after them with right=1. sorted is 1-d or has values' leading
 * dims. The result is int64 (int32 with out_int32) with values' shape. */
tn_tensor *tn_searchsorted(tn_tensor *out, const tn_tensor *sorted, const tn_tensor *values, int right,
                           int out_int32, int64_t base);

/* ---- joining and reordering (lib/ops/join.c) ---- */
/* the tensors joined along dim (dtypes promote; 1-d empty tensors are skipped, as in PyTorch) */
tn_tensor *tn_cat(tn_tensor *out, int n, const tn_tensor *const *tensors, int dim);
/* the tensors (all of one shape) joined along a new dim */
tn_tensor *tn_stack(tn_tensor *out, int n, const tn_tensor *const *tensors, int dim);
/* x reversed along the given dims */
tn_tensor *tn_flip(tn_tensor *out, const tn_tensor *x, int ndims, const int32_t *dims);
/* x rolled by shifts[i] along dims[i]; dims NULL (n = 1): the flattened tensor, shape kept */
tn_tensor *tn_roll(tn_tensor *out, const tn_tensor *x, int n, const int64_t *shifts, const int32_t *dims);
/* the lower (tril) or upper (triu) triangle of the last two dims from diagonal k on; out may be x (in place) */
tn_tensor *tn_tril(tn_tensor *out, const tn_tensor *x, int64_t k);
tn_tensor *tn_triu(tn_tensor *out, const tn_tensor *x, int64_t k);
/* x tiled repeats[i] times along dim i (PyTorch's repeat; n >= x's dims, extra leading dims are new) */
tn_tensor *tn_repeat(tn_tensor *out, const tn_tensor *x, int n, const int64_t *repeats);
/* each element (has_dim 0: of the flattened x) or slice along dim repeated: `repeats` times each, or
 * repeats_tensor[i] times for slice i when repeats_tensor (1-d, or one element) is given */
tn_tensor *tn_repeat_interleave(tn_tensor *out, const tn_tensor *x, const tn_tensor *repeats_tensor,
                                int64_t repeats, int dim, int has_dim);
/* base, base+1, ... repeated repeats[i] times each (PyTorch's repeat_interleave(repeats)), int64 */
tn_tensor *tn_repeat_interleave_index(const tn_tensor *repeats, int64_t base);

/* ---- nn kernels (lib/ops/conv.c pool.c softmax.c loss.c norm.c nn.c) ----
 * The forward and backward computations of the nn layers and losses, on float32 and float64 tensors (input
 * and weights of one dtype). nsp is the number of spatial dims: 1 (conv1d, max_pool1d, ...), 2 or 3. Inputs
 * are batched, [N x C x W], [N x C x H x W] or [N x C x D x H x W]; pooling also takes unbatched [C x W] /
 * [C x H x W] / [C x D x H x W]. Sizes, strides and dilations are arrays of nsp values (D, then H, first);
 * padding arrays of a convolution hold 2*nsp values, the padding before and after the data of each spatial dim.
 * Index tensors (saved argmax positions, class targets, embedding ids) are int64 counting from `base` (1 from
 * Lua); argmax positions index the flattened plane (volume) of the input (h * W + w + base; 3-d:
 * (d * H + h) * W + w + base). Backward functions take the gradient of the output and return or fill the
 * gradients wanted: pointers to receive them may be NULL, and receive new tensors otherwise. */
enum { TN_REDUCTION_NONE = 0, TN_REDUCTION_MEAN = 1, TN_REDUCTION_SUM = 2 };

/* convolution: input [N x C_in x (D x) (H x) W], weight [C_out x C_in/groups x (kD x) (kH x) kW], bias [C_out]
 * or NULL */
tn_tensor *tn_conv(tn_tensor *out, const tn_tensor *input, const tn_tensor *weight, const tn_tensor *bias, int nsp,
                   const int64_t *stride, const int64_t *padding, const int64_t *dilation, int64_t groups);
int tn_conv_backward(const tn_tensor *grad_output, const tn_tensor *input, const tn_tensor *weight, int nsp,
                     const int64_t *stride, const int64_t *padding, const int64_t *dilation, int64_t groups,
                     tn_tensor **grad_input, tn_tensor **grad_weight, tn_tensor **grad_bias);
/* transposed convolution: weight [C_in x C_out/groups x (kD x) (kH x) kW]; padding: nsp values (both sides) */
tn_tensor *tn_conv_transpose(tn_tensor *out, const tn_tensor *input, const tn_tensor *weight, const tn_tensor *bias,
                             int nsp, const int64_t *stride, const int64_t *padding, const int64_t *output_padding,
                             const int64_t *dilation, int64_t groups);
int tn_conv_transpose_backward(const tn_tensor *grad_output, const tn_tensor *input, const tn_tensor *weight, int nsp,
                               const int64_t *stride, const int64_t *padding, const int64_t *output_padding,
                               const int64_t *dilation, int64_t groups, tn_tensor **grad_input,
                               tn_tensor **grad_weight, tn_tensor **grad_bias);

/* pooling; padding: nsp values (both sides); *indices receives the argmax positions */
tn_tensor *tn_max_pool(const tn_tensor *input, int nsp, const int64_t *kernel, const int64_t *stride,
                       const int64_t *padding, const int64_t *dilation, int ceil_mode, int64_t base,
                       tn_tensor **indices);
/* the backward of max_pool and adaptive_max_pool: each gradient added at its saved position */
tn_tensor *tn_max_pool_backward(const tn_tensor *grad_output, const tn_tensor *input, const tn_tensor *indices,
                                int nsp, int64_t base);
/* divisor_override: 0 for none */
tn_tensor *tn_avg_pool(const tn_tensor *input, int nsp, const int64_t *kernel, const int64_t *stride,
                       const int64_t *padding, int ceil_mode, int count_include_pad, int64_t divisor_override);
tn_tensor *tn_avg_pool_backward(const tn_tensor *grad_output, const tn_tensor *input, int nsp, const int64_t *kernel,
                                const int64_t *stride, const int64_t *padding, int ceil_mode, int count_include_pad,
                                int64_t divisor_override);
tn_tensor *tn_adaptive_avg_pool(const tn_tensor *input, int nsp, const int64_t *output_size);
tn_tensor *tn_adaptive_avg_pool_backward(const tn_tensor *grad_output, const tn_tensor *input, int nsp);
tn_tensor *tn_adaptive_max_pool(const tn_tensor *input, int nsp, const int64_t *output_size, int64_t base,
                                tn_tensor **indices);

/* softmax along dim (log: log_softmax), subtracting the maximum first; the backward takes the forward's output */
tn_tensor *tn_softmax(tn_tensor *out, const tn_tensor *input, int dim, int log);
tn_tensor *tn_softmax_backward(tn_tensor *out, const tn_tensor *grad_output, const tn_tensor *output, int dim,
                               int log);

/* Classification losses. input: logits (cross_entropy) or log-probabilities (nll_loss), [N x C x d1 x ...],
 * [N x C] or [C]; target: class numbers [N x d1 x ...] (any integer dtype), or for cross_entropy class
 * probabilities shaped like input. weight: [C] or NULL. The result is 0-d for mean and sum, shaped like
 * target for none. cross_entropy's *lse (may be NULL) receives the log-sum-exp of each row, which its
 * backward reuses (pass NULL there to recompute it). */
tn_tensor *tn_cross_entropy(const tn_tensor *input, const tn_tensor *target, const tn_tensor *weight, int reduction,
                            int64_t ignore_index, double label_smoothing, int64_t base, tn_tensor **lse);
tn_tensor *tn_cross_entropy_backward(const tn_tensor *grad_output, const tn_tensor *input, const tn_tensor *target,
                                     const tn_tensor *weight, const tn_tensor *lse, int reduction,
                                     int64_t ignore_index, double label_smoothing, int64_t base);
tn_tensor *tn_nll_loss(const tn_tensor *input, const tn_tensor *target, const tn_tensor *weight, int reduction,
                       int64_t ignore_index, int64_t base);
tn_tensor *tn_nll_loss_backward(const tn_tensor *grad_output, const tn_tensor *input, const tn_tensor *target,
                                const tn_tensor *weight, int reduction, int64_t ignore_index, int64_t base);

/* Normalisation. layer_norm normalises over the last normalized_ndim dims, whose sizes must be
 * normalized_shape; weight and bias (or NULL) have that shape; *mean and *rstd (may be NULL) receive the
 * statistics, shaped like the input with those dims of size 1. */
tn_tensor *tn_layer_norm(const tn_tensor *input, int normalized_ndim, const int64_t *normalized_shape,
                         const tn_tensor *weight, const tn_tensor *bias, double eps, tn_tensor **mean,
                         tn_tensor **rstd);
int tn_layer_norm_backward(const tn_tensor *grad_output, const tn_tensor *input, int normalized_ndim,
                           const tn_tensor *mean, const tn_tensor *rstd, const tn_tensor *weight,
                           tn_tensor **grad_input, tn_tensor **grad_weight, tn_tensor **grad_bias);
/* batch_norm over input [N x C x ...]: training uses the batch's statistics (saved into *save_mean and
 * *save_invstd) and updates running_mean and running_var in place (either may be NULL) with momentum and the
 * unbiased variance; otherwise it uses the running statistics. */
tn_tensor *tn_batch_norm(const tn_tensor *input, const tn_tensor *weight, const tn_tensor *bias,
                         tn_tensor *running_mean, tn_tensor *running_var, int training, double momentum, double eps,
                         tn_tensor **save_mean, tn_tensor **save_invstd);
int tn_batch_norm_backward(const tn_tensor *grad_output, const tn_tensor *input, const tn_tensor *weight,
                           const tn_tensor *running_mean, const tn_tensor *running_var, const tn_tensor *save_mean,
                           const tn_tensor *save_invstd, int training, double eps, tn_tensor **grad_input,
                           tn_tensor **grad_weight, tn_tensor **grad_bias);
/* group_norm over input [N x C x ...] in num_groups groups of channels; statistics [N x num_groups] */
tn_tensor *tn_group_norm(const tn_tensor *input, int64_t num_groups, const tn_tensor *weight, const tn_tensor *bias,
                         double eps, tn_tensor **mean, tn_tensor **rstd);
int tn_group_norm_backward(const tn_tensor *grad_output, const tn_tensor *input, int64_t num_groups,
                           const tn_tensor *mean, const tn_tensor *rstd, const tn_tensor *weight,
                           tn_tensor **grad_input, tn_tensor **grad_weight, tn_tensor **grad_bias);

/* embedding: rows of weight [num x dim] picked by indices (any integer dtype) -> [indices' shape x dim];
 * the backward sums gradient rows into [num x dim], skipping rows whose index is padding_idx (a value outside
 * base .. base+num-1: none), scaled by 1/count with scale_grad_by_freq */
tn_tensor *tn_embedding(const tn_tensor *weight, const tn_tensor *indices, int64_t base);
tn_tensor *tn_embedding_backward(const tn_tensor *grad_output, const tn_tensor *indices, int64_t num_weights,
                                 int64_t padding_idx, int scale_grad_by_freq, int64_t base);
/* dropout: input * mask with mask = bernoulli(1 - p) / (1 - p) (input's dtype, floating), drawn from g (NULL:
 * the default generator); *mask (may be NULL) receives it for the backward (grad * mask) */
tn_tensor *tn_dropout(const tn_tensor *input, double p, tn_generator *g, tn_tensor **mask);

/* ---- optimizer updates (lib/ops/optim.c) ---- */
/* SGD's momentum step with dampening 0, in place: buf = grad + momentum * buf, then param = param - lr * buf
 * (the same values as those two element-wise ops). The three tensors share shape, dtype (floating) and device. */
int tn_sgd_momentum_(tn_tensor *param, const tn_tensor *grad, tn_tensor *buf, double lr, double momentum);

/* ---- the th shell's Ctrl-C (lib/shell_signal.c) ----
 * A SIGINT handler that only counts signals (installed without SA_RESTART, so blocking waits return EINTR);
 * the shell polls the count. The third unanswered SIGINT restores the previous disposition and re-raises. */
int tn_sigint_install(void);
int tn_sigint_uninstall(void);
int tn_sigint_pending(void);
void tn_sigint_clear(void);

/* ---- serialization (lib/io): Torch7 .t7, safetensors and PyTorch .pt ----
 * A reader parses and checks a whole file into a tree of nodes (tn_io_doc); the Lua side turns the tree into
 * values. Nodes refer to one another by index; shared or cyclic references reuse an index. Strings and tensor
 * bytes point into the file's bytes (or into memory the reader owns), valid until tn_io_free. */
enum { TN_IO_AUTO = 0, TN_IO_T7 = 1, TN_IO_T7_ASCII = 2, TN_IO_SAFETENSORS = 3, TN_IO_PT = 4 };
enum { TN_IO_LONG4 = 1 };           /* reader flag: Torch7 `long` is 4 bytes (files from Torch7 on Windows) */
enum { TN_IO_MAX_DEPTH = 2000 };    /* the deepest nesting of containers a reader accepts */
enum {
  TN_IO_NIL = 0, TN_IO_BOOL = 1, TN_IO_INT = 2, TN_IO_NUMBER = 3, TN_IO_STRING = 4,
  TN_IO_LIST = 5,       /* a sequence: Python list or tuple */
  TN_IO_MAP = 6,        /* key/value pairs: Torch7 table, Python dict, JSON object */
  TN_IO_STORAGE = 7,    /* numel elements of dtype at data */
  TN_IO_TENSOR = 8,     /* a strided view of a STORAGE node (storage -1: no storage, numel 0) */
  TN_IO_OBJECT = 9,     /* Torch7 object of another class: class name and a MAP of fields */
  TN_IO_FUNCTION = 10,  /* Torch7 function: Lua bytecode and its upvalues (never run by the reader) */
  TN_IO_GLOBAL = 11     /* a Python class or function named by a pickle (allowlisted ones only) */
};
enum { TN_IO_TUPLE = 1, TN_IO_SWAP = 2, TN_IO_REQUIRES_GRAD = 4 };   /* node flags */

typedef struct tn_io_node {
  int32_t kind;
  int32_t flags;                   /* LIST: TUPLE; STORAGE: SWAP (big-endian data); TENSOR: REQUIRES_GRAD */
  union {
    int32_t boolean;
    int64_t integer;
    double number;
    struct { const char *ptr; int64_t len; } string;                  /* STRING, GLOBAL (qualified name) */
    struct { int32_t first, last, count; } list;                      /* LIST, MAP: a chain of links */
    struct { const char *data; int64_t numel; int32_t dtype; } storage;
    struct { int64_t offset, dims; int32_t storage, ndim, dtype; } tensor;   /* sizes at dims[dims..], then strides */
    struct { int32_t name, fields, version; } object;                 /* name: a STRING node; fields: a MAP node */
    struct { const char *ptr; int64_t len; int32_t upvalues, recursive; } func;
  };
} tn_io_node;

/* One entry of a LIST (key -1) or MAP. */
typedef struct tn_io_link { int32_t key, value, next; } tn_io_link;

typedef struct tn_io_source tn_io_source;
typedef struct tn_io_doc {
  int32_t format;                  /* TN_IO_T7, ... */
  int32_t root;                    /* the node of the value the file holds */
  int32_t metadata;                /* safetensors: the __metadata__ MAP node, or -1 */
  int32_t nnodes;
  tn_io_node *nodes;
  tn_io_link *links;
  int64_t *dims;
  int64_t size;                    /* bytes of input */
  int32_t mapped;                  /* 1 when the input is a memory-mapped file */
  tn_io_source *source;
} tn_io_doc;

/* The format of a file's first bytes (TN_IO_T7, ...), or -1 with an error naming `name`. */
int tn_io_detect(const void *data, int64_t size, const char *name);
/* Parses a file (memory-mapped, copy-on-write) or caller memory that must outlive the document; format may
 * be TN_IO_AUTO. NULL with an error naming the file and the problem when the input is not valid. */
tn_io_doc *tn_io_read(const char *path, int format, int flags);
tn_io_doc *tn_io_parse(const void *data, int64_t size, int format, int flags, const char *name);
void tn_io_free(tn_io_doc *doc);
/* A CPU storage holding a STORAGE node's elements: a copy, or with share=1 (when the document is a mapped
 * file and the data aligned) a storage over the mapping that keeps it alive. */
tn_storage *tn_io_storage(tn_io_doc *doc, int node, int share);

/* Writing, in Torch7's binary or ascii layout: n elements of a dtype (binary: raw little-endian bytes;
 * ascii: Torch7's text, one line per call, raw bytes for int8, uint8 and bool). path NULL writes to memory. */
typedef struct tn_io_writer tn_io_writer;
tn_io_writer *tn_io_writer_open(const char *path, int ascii);
int tn_io_write(tn_io_writer *w, int dtype, const void *data, int64_t n);
const char *tn_io_writer_data(tn_io_writer *w, int64_t *size);
int tn_io_writer_close(tn_io_writer *w);     /* flushes and frees; -1 if any write failed */

/* ---- CUDA (lib/cuda_loader.c; the backend is cuda/, built as libtensor_cuda.so) ----
 * libtensor_cuda.so is loaded on first use from the folder of libtensor.so (or from $TENSOR_CUDA_LIBRARY).
 * Without that library, or without a device, tn_cuda_available() is 0, tn_cuda_status() says why, and the
 * other functions fail with that reason as their error (tn_cuda_device_count gives 0). Devices are numbered
 * from 0; `index` -1 means the current device. Each device has one stream: ops run asynchronously on it and
 * only reads to the host (and tn_cuda_synchronize) wait. */
typedef struct tn_cuda_memory {
  int64_t allocated;      /* bytes of the allocator's blocks held by tensors (block sizes, rounded) */
  int64_t max_allocated;  /* the peak of allocated since the start or tn_cuda_reset_peak */
  int64_t reserved;       /* bytes the caching allocator holds from the driver, in use or cached */
  int64_t max_reserved;
  int64_t requested;      /* bytes the tensors asked for (before rounding to block sizes) */
  int64_t device_malloc;  /* cudaMalloc calls so far */
  int64_t device_free;    /* cudaFree calls so far */
  int64_t oom_retries;    /* allocations that emptied the cache and retried */
} tn_cuda_memory;
int tn_cuda_available(void);
/* why CUDA is unavailable, or the runtime, driver and devices when it is */
const char *tn_cuda_status(void);
int tn_cuda_device_count(void);
int tn_cuda_set_device(int index);
int tn_cuda_current_device(void);
int tn_cuda_synchronize(int index);
/* The generator random fills of CUDA tensors use when given none (tn_default_generator() is the CPU's);
 * seeding it works with or without a device. */
tn_generator *tn_cuda_default_generator(void);
void tn_cuda_manual_seed(uint64_t seed);
int tn_cuda_memory_stats(int index, tn_cuda_memory *out);
int tn_cuda_reset_peak(int index);
/* the device's stream (a cudaStream_t), for libraries that queue work after ours (NCCL); NULL on error */
void *tn_cuda_stream(int index);
/* float32 matrix products may use TF32 tensor cores (off by default, as in PyTorch) */
int tn_cuda_set_allow_tf32(int allow);
int tn_cuda_get_allow_tf32(void);
/* convolutions go through cuDNN where it is installed (on by default; off: im2col + cuBLAS) */
int tn_cuda_set_cudnn_enabled(int enabled);
int tn_cuda_get_cudnn_enabled(void);
/* how often the host has waited for a device (a debug counter: a training step should add none) */
int64_t tn_cuda_sync_count(void);
]==]

ffi.cdef(declarations)

return { declarations = declarations }
