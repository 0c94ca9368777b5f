/* linalg.cu: the factorisations of the CUDA backend through cuSOLVER: inv, solve, det, cholesky, qr, svd, eigh,
 * lu_factor and lu_solve (getrf, getrs), geqrf, orgqr and ormqr, ldl_factor and ldl_solve (sytrf, Xsytrs), and
 * solve_triangular through cuBLAS's trsm, of float32 and float64 batches, with the semantics of
 * lib/cpu/linalg_real.h (see lib/backend.h). lstsq has no kernel here (the Lua side composes its 'gels' driver
 * of qr and solve_triangular, as PyTorch allows only that driver on CUDA).
 *
 * As on the CPU, each routine first copies the input matrices into column-major buffers (the result itself
 * where the result holds the factorisation), so cuSOLVER sees every matrix as it is whatever its strides; one
 * kernel copies a whole batch. The factorisations then run one matrix at a time on the device's stream
 * (cuSOLVER's dense routines), sharing one workspace from the caching allocator: the stream runs them in order.
 *
 * Failures (singular, not positive-definite, no convergence) land in one int per matrix on the device. inv,
 * solve, cholesky, svd, eigh, lu_factor and ldl_factor reduce those to the first failing matrix and read that
 * back once per call: that read synchronises with the stream (one count of tn_cuda_sync_count), because the
 * backend's contract, like the CPU path, reports the failure in *st when the call returns (the entry point
 * raises the error). The *_ex ops (st->infos) get the infos copied into their tensor instead, without waiting. lu_solve,
 * ldl_solve and lu_permutation check the pivots they are given, which reads one flag back. det, qr,
 * solve_triangular, geqrf, orgqr and ormqr report nothing and never wait.
 *
 * Differences from the CPU that the contract allows: svd uses gesvd (QR iteration; of A's transpose when A is
 * wide, since cuSOLVER's gesvd wants rows >= columns) where the CPU uses gesdd, and eigh uses cuSOLVER's syevd:
 * singular vectors and eigenvectors agree with the CPU's up to sign (and up to rotation within repeated
 * singular values or eigenvalues), since neither path normalises them.
 *
 * One cusolverDn handle per device, created on first use and bound to the device's stream at every call. */
#include "ops.cuh"

#include <cublas_v2.h>
#include <cusolverDn.h>
#include <pthread.h>

namespace {

/* ---- handles ---- */

enum { MAX_DEVICES = 64 };
cusolverDnHandle_t handles[MAX_DEVICES];
pthread_mutex_t handle_lock = PTHREAD_MUTEX_INITIALIZER;

cusolverDnHandle_t handle_for(const char *fn, int device, cudaStream_t stream) {
  if (device < 0 || device >= MAX_DEVICES) {
    tn_error("%s: CUDA device %d is out of range", fn, device);
    return NULL;
  }
  pthread_mutex_lock(&handle_lock);
  cusolverDnHandle_t h = handles[device];
  if (!h && tn_cuda_check_cusolver(fn, cusolverDnCreate(&h)) == 0) handles[device] = h;
  pthread_mutex_unlock(&handle_lock);
  if (!h) return NULL;
  if (tn_cuda_check_cusolver(fn, cusolverDnSetStream(h, stream))) return NULL;
  return h;
}

/* A cuBLAS handle of this file's own (trsm), one per device, likewise bound to the device's stream. */
cublasHandle_t blas_handles[MAX_DEVICES];
pthread_mutex_t blas_lock = PTHREAD_MUTEX_INITIALIZER;

cublasHandle_t blas_for(const char *fn, int device, cudaStream_t stream) {
  if (device < 0 || device >= MAX_DEVICES) {
    tn_error("%s: CUDA device %d is out of range", fn, device);
    return NULL;
  }
  pthread_mutex_lock(&blas_lock);
  cublasHandle_t h = blas_handles[device];
  if (!h && tn_cuda_check_cublas(fn, cublasCreate(&h)) == 0) blas_handles[device] = h;
  pthread_mutex_unlock(&blas_lock);
  if (!h) return NULL;
  if (tn_cuda_check_cublas(fn, cublasSetStream(h, stream))) return NULL;
  return h;
}

template <class T> struct Blas;
template <> struct Blas<float> {
  static cublasStatus_t trsm(cublasHandle_t h, cublasFillMode_t uplo, cublasDiagType_t diag, int n, int k,
                             const float *a, int lda, float *b, int ldb) {
    const float one = 1;
    return cublasStrsm(h, CUBLAS_SIDE_LEFT, uplo, CUBLAS_OP_N, diag, n, k, &one, a, lda, b, ldb);
  }
};
template <> struct Blas<double> {
  static cublasStatus_t trsm(cublasHandle_t h, cublasFillMode_t uplo, cublasDiagType_t diag, int n, int k,
                             const double *a, int lda, double *b, int ldb) {
    const double one = 1;
    return cublasDtrsm(h, CUBLAS_SIDE_LEFT, uplo, CUBLAS_OP_N, diag, n, k, &one, a, lda, b, ldb);
  }
};

/* ---- cuSOLVER's routines per type: Solver<float>::getrf is cusolverDnSgetrf, and so on ---- */

template <class T> struct Solver;
#define TNC_SOLVER(T, P, CUDA_TYPE)                                                                            \
  template <> struct Solver<T> {                                                                               \
    typedef cusolverDnHandle_t H;                                                                              \
    static cusolverStatus_t getrf_size(H h, int m, int n, T *a, int lda, int *lwork) {                         \
      return cusolverDn##P##getrf_bufferSize(h, m, n, a, lda, lwork);                                          \
    }                                                                                                          \
    static cusolverStatus_t getrf(H h, int m, int n, T *a, int lda, T *work, int *ipiv, int *info) {           \
      return cusolverDn##P##getrf(h, m, n, a, lda, work, ipiv, info);                                          \
    }                                                                                                          \
    static cusolverStatus_t getrs(H h, int n, int nrhs, const T *a, int lda, const int *ipiv, T *b, int ldb,   \
                                  int *info, cublasOperation_t op = CUBLAS_OP_N) {                             \
      return cusolverDn##P##getrs(h, op, n, nrhs, a, lda, ipiv, b, ldb, info);                                 \
    }                                                                                                          \
    static cusolverStatus_t potrf_size(H h, cublasFillMode_t uplo, int n, T *a, int lda, int *lwork) {         \
      return cusolverDn##P##potrf_bufferSize(h, uplo, n, a, lda, lwork);                                       \
    }                                                                                                          \
    static cusolverStatus_t potrf(H h, cublasFillMode_t uplo, int n, T *a, int lda, T *work, int lwork,        \
                                  int *info) {                                                                 \
      return cusolverDn##P##potrf(h, uplo, n, a, lda, work, lwork, info);                                      \
    }                                                                                                          \
    static cusolverStatus_t geqrf_size(H h, int m, int n, T *a, int lda, int *lwork) {                         \
      return cusolverDn##P##geqrf_bufferSize(h, m, n, a, lda, lwork);                                          \
    }                                                                                                          \
    static cusolverStatus_t geqrf(H h, int m, int n, T *a, int lda, T *tau, T *work, int lwork, int *info) {   \
      return cusolverDn##P##geqrf(h, m, n, a, lda, tau, work, lwork, info);                                    \
    }                                                                                                          \
    static cusolverStatus_t orgqr_size(H h, int m, int n, int k, const T *a, int lda, const T *tau,            \
                                       int *lwork) {                                                           \
      return cusolverDn##P##orgqr_bufferSize(h, m, n, k, a, lda, tau, lwork);                                  \
    }                                                                                                          \
    static cusolverStatus_t orgqr(H h, int m, int n, int k, T *a, int lda, const T *tau, T *work, int lwork,    \
                                  int *info) {                                                                 \
      return cusolverDn##P##orgqr(h, m, n, k, a, lda, tau, work, lwork, info);                                 \
    }                                                                                                          \
    static cusolverStatus_t ormqr_size(H h, cublasSideMode_t side, cublasOperation_t trans, int m, int n,      \
                                       int k, const T *a, int lda, const T *tau, const T *c, int ldc,          \
                                       int *lwork) {                                                           \
      return cusolverDn##P##ormqr_bufferSize(h, side, trans, m, n, k, a, lda, tau, c, ldc, lwork);             \
    }                                                                                                          \
    static cusolverStatus_t ormqr(H h, cublasSideMode_t side, cublasOperation_t trans, int m, int n, int k,    \
                                  const T *a, int lda, const T *tau, T *c, int ldc, T *work, int lwork,        \
                                  int *info) {                                                                 \
      return cusolverDn##P##ormqr(h, side, trans, m, n, k, a, lda, tau, c, ldc, work, lwork, info);            \
    }                                                                                                          \
    static cusolverStatus_t sytrf_size(H h, int n, T *a, int lda, int *lwork) {                                \
      return cusolverDn##P##sytrf_bufferSize(h, n, a, lda, lwork);                                             \
    }                                                                                                          \
    static cusolverStatus_t sytrf(H h, int n, T *a, int lda, int *ipiv, T *work, int lwork, int *info) {       \
      return cusolverDn##P##sytrf(h, CUBLAS_FILL_MODE_LOWER, n, a, lda, ipiv, work, lwork, info);              \
    }                                                                                                          \
    static cudaDataType type() { return CUDA_TYPE; }                                                           \
    static cusolverStatus_t gesvd_size(H h, int m, int n, int *lwork) {                                        \
      return cusolverDn##P##gesvd_bufferSize(h, m, n, lwork);                                                  \
    }                                                                                                          \
    static cusolverStatus_t gesvd(H h, signed char jobu, signed char jobvt, int m, int n, T *a, int lda, T *s, \
                                  T *u, int ldu, T *vt, int ldvt, T *work, int lwork, T *rwork, int *info) {   \
      return cusolverDn##P##gesvd(h, jobu, jobvt, m, n, a, lda, s, u, ldu, vt, ldvt, work, lwork, rwork, info);\
    }                                                                                                          \
    static cusolverStatus_t syevd_size(H h, cusolverEigMode_t jobz, cublasFillMode_t uplo, int n, const T *a,  \
                                       int lda, const T *w, int *lwork) {                                      \
      return cusolverDn##P##syevd_bufferSize(h, jobz, uplo, n, a, lda, w, lwork);                              \
    }                                                                                                          \
    static cusolverStatus_t syevd(H h, cusolverEigMode_t jobz, cublasFillMode_t uplo, int n, T *a, int lda,    \
                                  T *w, T *work, int lwork, int *info) {                                       \
      return cusolverDn##P##syevd(h, jobz, uplo, n, a, lda, w, work, lwork, info);                             \
    }                                                                                                          \
  };
TNC_SOLVER(float, S, CUDA_R_32F)
TNC_SOLVER(double, D, CUDA_R_64F)
#undef TNC_SOLVER

/* ---- the call's context and its scratch memory ---- */

struct Ctx {
  const char *fn;
  int device;
  cudaStream_t stream;
  cusolverDnHandle_t h;
};

int open_ctx(Ctx &x, const char *fn, const tn_tensor *a) {
  x.fn = fn;
  x.device = tnc_device(a);
  if (!(x.stream = tnc_stream(fn, a))) return -1;
  return (x.h = handle_for(fn, x.device, x.stream)) ? 0 : -1;
}

/* 0, or -1 with an error naming the op when a cuSOLVER call was refused */
int solver(const Ctx &x, cusolverStatus_t status) { return tn_cuda_check_cusolver(x.fn, (int)status); }

/* Device memory from the caching allocator, given back when the call returns (safe while the kernels using
 * it are still queued: they run on the one stream, before anything that reuses the block). */
struct Scratch {
  int device;
  void *p;
  int64_t bytes;
  explicit Scratch(int d) : device(d), p(NULL), bytes(0) {}
  ~Scratch() { tnc_scratch_free(device, p, bytes); }
  Scratch(const Scratch &) = delete;
  Scratch &operator=(const Scratch &) = delete;
  template <class E> E *get(int64_t count) {
    bytes = count * (int64_t)sizeof(E);
    p = tnc_scratch(device, bytes);
    return (E *)p;
  }
};

/* ---- layouts ---- */

int64_t batch_count(const tn_tensor *t) {
  int64_t count = 1;
  for (int d = 0; d < t->ndim - 2; d++) count *= t->sizes[d];
  return count;
}

/* A batch of column-major matrices: matrix i at p + i * step, leading dimension ld (elements). */
template <class T> struct Cm {
  T *p;
  int64_t ld, step;
};

/* The layout of a result the entry points allocated (lib/ops/linalg.c: column-major matrices, batch dims
 * outermost and contiguous); anything else is refused rather than written wrongly. */
template <class T> int cm_of(const char *fn, const tn_tensor *t, Cm<T> *c) {
  int nb = t->ndim - 2;
  int64_t rows = t->sizes[nb], cols = t->sizes[nb + 1], step = -1, span = 1;
  c->p = (T *)tn_base(t);
  c->ld = t->strides[nb + 1] > 1 ? t->strides[nb + 1] : 1; /* the CPU's ld_of */
  bool ok = (rows <= 1 || t->strides[nb] == 1) && (cols <= 1 || c->ld >= rows);
  for (int d = nb - 1; d >= 0; d--) {
    if (t->sizes[d] == 1) continue;
    if (step < 0) step = t->strides[d];
    else if (t->strides[d] != step * span) ok = false;
    span *= t->sizes[d];
  }
  c->step = step < 0 ? 0 : step;
  if (!ok) return tn_error("%s: expected a batch of column-major results (internal error)", fn);
  return 0;
}

/* Vector i of the batch of a contiguous [*, len] result (s of svd, w of eigh). */
template <class T> T *vector_at(const tn_tensor *t, int64_t i) { return (T *)tn_base(t) + i * t->sizes[t->ndim - 1]; }

/* ---- kernels ---- */

/* the offset of matrix i of the batch of v (its first nb dims; stride 0 where broadcast) */
__device__ __forceinline__ int64_t batch_off(const tv &v, int nb, int64_t i) {
  int64_t off = 0;
  for (int d = nb - 1; d >= 0; d--) {
    off += (i % v.sizes[d]) * v.strides[d];
    i /= v.sizes[d];
  }
  return off;
}

/* dst(r, j) of matrix i (column-major: dst + i * step + r + j * lda) = src(r, j) of src's matrix i, or src(j, r)
 * with transpose; rows x cols each, count of them (rows * cols > 0). */
template <class T>
__global__ void load_kernel(T *dst, int64_t lda, int64_t step, tv src, int64_t rows, int64_t cols, int64_t count,
                            int transpose) {
  int nb = src.ndim - 2;
  int64_t per = rows * cols;
  const T *s = (const T *)src.data;
  TNC_GRID_LOOP(e, count * per) {
    int64_t i = e / per, rem = e - i * per, j = rem / rows, r = rem - j * rows;
    int64_t sr = transpose ? j : r, sc = transpose ? r : j;
    dst[i * step + r + j * lda] = s[batch_off(src, nb, i) + sr * src.strides[nb] + sc * src.strides[nb + 1]];
  }
}

enum { COPY, UPPER, TRANSPOSE };
/* dst(r, j) = src(r, j) (COPY), the same on and above the diagonal and 0 below it (UPPER), or src(j, r)
 * (TRANSPOSE), for the rows x cols of each of count column-major matrices. */
template <class T>
__global__ void copy_kernel(T *dst, int64_t ldd, int64_t sd, const T *src, int64_t lds, int64_t ss, int64_t rows,
                            int64_t cols, int64_t count, int mode) {
  int64_t per = rows * cols;
  TNC_GRID_LOOP(e, count * per) {
    int64_t i = e / per, rem = e - i * per, j = rem / rows, r = rem - j * rows;
    T v;
    if (mode == TRANSPOSE) v = src[i * ss + j + r * lds];
    else v = mode == UPPER && r > j ? (T)0 : src[i * ss + r + j * lds];
    dst[i * sd + r + j * ldd] = v;
  }
}

/* The rows x cols identity in each of count column-major matrices. */
template <class T>
__global__ void identity_kernel(T *dst, int64_t ldd, int64_t sd, int64_t rows, int64_t cols, int64_t count) {
  int64_t per = rows * cols;
  TNC_GRID_LOOP(e, count * per) {
    int64_t i = e / per, rem = e - i * per, j = rem / rows, r = rem - j * rows;
    dst[i * sd + r + j * ldd] = r == j ? (T)1 : (T)0;
  }
}

/* Zeros the triangle of each n x n matrix that potrf leaves as it was (below the diagonal for upper). */
template <class T>
__global__ void clear_triangle_kernel(T *dst, int64_t ldd, int64_t sd, int64_t n, int64_t count, int upper) {
  int64_t per = n * n;
  TNC_GRID_LOOP(e, count * per) {
    int64_t i = e / per, rem = e - i * per, j = rem / n, r = rem - j * n;
    if (upper ? r > j : r < j) dst[i * sd + r + j * ldd] = (T)0;
  }
}

/* det, sign and logabsdet (each may be NULL) of each LU factorisation (n x n, ipiv 1-based as LAPACK's), in
 * T as the CPU computes them: the product of U's diagonal negated for an odd number of row swaps; the sign 0
 * when a pivot is 0; the sum of log |u| (-inf with a zero pivot). n = 0 gives 1, 1 and 0. */
template <class T>
__global__ void det_kernel(const T *lu, int64_t lda, int64_t step, const int *ipiv, int64_t n, int64_t count,
                           T *det, T *sign, T *logabsdet) {
  TNC_GRID_LOOP(i, count) {
    const T *m = lu + i * step;
    const int *p = ipiv + i * n;
    T product = 1, log_sum = 0;
    bool swaps_odd = false, negatives_odd = false, zero = false;
    for (int64_t j = 0; j < n; j++) {
      T u = m[j + j * lda];
      swaps_odd = swaps_odd != (p[j] != j + 1);
      negatives_odd = negatives_odd != (u < 0);
      zero = zero || u == 0;
      product *= u;
      log_sum += (T)log(fabs((double)u));
    }
    if (swaps_odd) product = -product;
    if (det) det[i] = product;
    if (sign) sign[i] = zero ? (T)0 : swaps_odd != negatives_odd ? (T)-1 : (T)1;
    if (logabsdet) logabsdet[i] = log_sum;
  }
}

/* out[0] = the first i < count with info[i] != 0 (count when none), out[1] = that info. One block. */
__global__ void first_failure_kernel(const int *info, int64_t count, int64_t *out) {
  __shared__ unsigned long long first;
  if (threadIdx.x == 0) first = (unsigned long long)count;
  __syncthreads();
  for (int64_t i = threadIdx.x; i < count; i += blockDim.x)
    if (info[i] != 0) {
      atomicMin(&first, (unsigned long long)i);
      break; /* this thread's later ones come after it */
    }
  __syncthreads();
  if (threadIdx.x == 0) {
    out[0] = (int64_t)first;
    out[1] = (int64_t)first < count ? info[first] : 0;
  }
}

/* pivots[i][j] = j + 1 for count rows of k: the pivots of a factorisation without row exchanges */
__global__ void iota_pivots_kernel(int *pivots, int64_t k, int64_t count) {
  TNC_GRID_LOOP(e, count * k) pivots[e] = (int)(e % k) + 1;
}

/* (matrix i, position j) of a bad pivot, packed so that atomicMin keeps the first */
__device__ __forceinline__ void flag_bad(unsigned long long *bad, int64_t i, int64_t j) {
  atomicMin(bad, ((unsigned long long)i << 32) | (unsigned long long)j);
}

/* perm [count, m] (contiguous) from pivots (int32 [*, k], any strides, the same batch): one thread a matrix */
__global__ void permutation_kernel(int64_t *perm, int64_t m, tv piv, int64_t k, int64_t count,
                                   unsigned long long *bad) {
  int nb = piv.ndim - 1;
  TNC_GRID_LOOP(i, count) {
    int64_t *row = perm + i * m;
    const int *p = (const int *)piv.data + batch_off(piv, nb, i);
    for (int64_t r = 0; r < m; r++) row[r] = r + 1;
    for (int64_t j = 0; j < k; j++) {
      int64_t v = p[j * piv.strides[nb]];
      if (v < 1 || v > m) {
        flag_bad(bad, i, j);
        break;
      }
      int64_t t = row[j];
      row[j] = row[v - 1];
      row[v - 1] = t;
    }
  }
}

/* dst [count, n] (contiguous) = pivots (int32 [*, n], broadcast batch), checking that each is in 1..n */
__global__ void pivots_kernel(int *dst, tv piv, int64_t n, int64_t count, unsigned long long *bad) {
  int nb = piv.ndim - 1;
  TNC_GRID_LOOP(e, count * n) {
    int64_t i = e / n, j = e - i * n;
    int v = ((const int *)piv.data)[batch_off(piv, nb, i) + j * piv.strides[nb]];
    dst[e] = v;
    if (v < 1 || v > n) flag_bad(bad, i, j);
  }
}

/* dst [count, k] (contiguous) = the vectors of v ([*, k], any strides, count of them): tau made contiguous */
template <class T> __global__ void vectors_kernel(T *dst, tv v, int64_t k, int64_t count) {
  int nb = v.ndim - 1;
  TNC_GRID_LOOP(e, count * k) {
    int64_t i = e / k, j = e - i * k;
    dst[e] = ((const T *)v.data)[batch_off(v, nb, i) + j * v.strides[nb]];
  }
}

/* dst [count, n] (contiguous, int64 for Xsytrs) = pivots (int32 [*, n], broadcast batch), one thread a matrix,
 * checking them as sytrs follows them (lib/cpu/linalg.c's bad_ldl_pivot): p in 1..n, a 1 x 1 block, or an
 * equal pair of negatives in -1..-n at j and j + 1, a 2 x 2 block. */
__global__ void ldl_pivots_kernel(int64_t *dst, tv piv, int64_t n, int64_t count, unsigned long long *bad) {
  int nb = piv.ndim - 1;
  TNC_GRID_LOOP(i, count) {
    const int *p = (const int *)piv.data + batch_off(piv, nb, i);
    int64_t s = piv.strides[nb];
    for (int64_t j = 0; j < n; j++) {
      int64_t v = p[j * s];
      dst[i * n + j] = v;
      if (v > 0 && v <= n) continue;
      if (v < 0 && -v <= n && j + 1 < n && p[(j + 1) * s] == v) {
        dst[i * n + ++j] = v;
        continue;
      }
      flag_bad(bad, i, j);
      break;
    }
  }
}

/* info[i] = LAPACK's info of sytrf for matrix i: the first j (1-based) whose 1 x 1 block of D is exactly zero,
 * else 0 (2 x 2 blocks are never singular), read from the factorisation (n x n, column-major, pivots [count, n]).
 * cuSOLVER's sytrf leaves other values there (on an H200 with CUDA 13: 2 for a zero 3 x 3 matrix, 0 for
 * diag(0, 2, 1), where LAPACK gives 1 and 1), while its factorisation itself agrees with LAPACK's. */
template <class T>
__global__ void ldl_info_kernel(const T *ld, int64_t lda, int64_t step, const int *piv, int64_t n, int64_t count,
                                int *info) {
  TNC_GRID_LOOP(i, count) {
    const T *m = ld + i * step;
    const int *p = piv + i * n;
    int v = 0;
    for (int64_t j = 0; j < n; j++) {
      if (p[j] < 0) {
        j++;
        continue;
      }
      if (m[j + j * lda] == (T)0) {
        v = (int)j + 1;
        break;
      }
    }
    info[i] = v;
  }
}

/* ---- launching ---- */

unsigned blocks_for(int64_t n) { return tnc_blocks(n > 0 ? n : 1); }

template <class T>
int load(const Ctx &x, T *dst, int64_t lda, int64_t step, const tn_tensor *src, int64_t rows, int64_t cols,
         int64_t count, bool transpose = false) {
  if (rows * cols * count == 0) return 0;
  load_kernel<T><<<blocks_for(rows * cols * count), TNC_THREADS, 0, x.stream>>>(dst, lda, step, tv_of(src), rows,
                                                                               cols, count, transpose);
  return tnc_check(x.fn);
}

template <class T>
int copy_out(const Ctx &x, Cm<T> dst, const T *src, int64_t lds, int64_t ss, int64_t rows, int64_t cols, int64_t count,
         int mode) {
  if (rows * cols * count == 0) return 0;
  copy_kernel<T><<<blocks_for(rows * cols * count), TNC_THREADS, 0, x.stream>>>(dst.p, dst.ld, dst.step, src, lds,
                                                                               ss, rows, cols, count, mode);
  return tnc_check(x.fn);
}

template <class T> int identity(const Ctx &x, Cm<T> dst, int64_t rows, int64_t cols, int64_t count) {
  if (rows * cols * count == 0) return 0;
  identity_kernel<T><<<blocks_for(rows * cols * count), TNC_THREADS, 0, x.stream>>>(dst.p, dst.ld, dst.step, rows,
                                                                                   cols, count);
  return tnc_check(x.fn);
}

/* The first failing matrix of the batch (info[i] != 0, as the CPU's `info != 0`) into *st. This reads 16 bytes
 * back and so synchronises with the stream: the contract reports failures in *st when the call returns (the
 * entry point turns them into the CPU's errors), which needs the factorisations to have run. */
int report(const Ctx &x, const int *info, int64_t count, tn_linalg_status *st) {
  if (st->infos) /* (*_ex) every matrix's info, without waiting */
    return tn_cuda_check(x.fn, (int)cudaMemcpyAsync(tn_base(st->infos), info, (size_t)count * sizeof(int),
                                                    cudaMemcpyDeviceToDevice, x.stream));
  Scratch s(x.device);
  int64_t *d = s.get<int64_t>(2), h[2];
  if (!d) return -1;
  first_failure_kernel<<<1, 1024, 0, x.stream>>>(info, count, d);
  if (tnc_check(x.fn) || tn_cuda_read(x.fn, x.device, h, d, sizeof h)) return -1;
  if (h[0] < count) {
    st->index = h[0];
    st->info = h[1];
  }
  return 0;
}

/* ---- the factorisations, per type ---- */

/* inv: A's LU factorisation (getrf) in scratch, then the result, set to the identity, solved for (getrs). */
template <class T> int inv_t(tn_tensor *out, const tn_tensor *a, tn_linalg_status *st) {
  typedef Solver<T> S;
  Ctx x;
  Cm<T> o;
  if (open_ctx(x, "linalg.inv", a) || cm_of(x.fn, out, &o)) return -1;
  int64_t n = a->sizes[a->ndim - 1], count = batch_count(a), nn = n * n;
  Scratch lu_s(x.device), ipiv_s(x.device), info_s(x.device), work_s(x.device);
  T *lu = lu_s.get<T>(count * nn);
  int *ipiv = lu ? ipiv_s.get<int>(count * n) : NULL, *info = ipiv ? info_s.get<int>(count + 1) : NULL;
  int lwork = 0;
  if (!info || load(x, lu, n, nn, a, n, n, count) || identity(x, o, n, n, count) ||
      solver(x, S::getrf_size(x.h, (int)n, (int)n, lu, (int)n, &lwork)))
    return -1;
  T *work = work_s.get<T>(lwork > 1 ? lwork : 1);
  if (!work) return -1;
  for (int64_t i = 0; i < count; i++) {
    T *m = lu + i * nn;
    if (solver(x, S::getrf(x.h, (int)n, (int)n, m, (int)n, work, ipiv + i * n, info + i)) ||
        solver(x, S::getrs(x.h, (int)n, (int)n, m, (int)n, ipiv + i * n, o.p + i * o.step, (int)o.ld, info + count)))
      return -1;
  }
  return report(x, info, count, st);
}

/* solve: a [*, n, n] and b [*, n, k] with one batch shape (stride 0 where broadcast); x = A^-1 B as gesv. */
template <class T> int solve_t(tn_tensor *xr, const tn_tensor *a, const tn_tensor *b, tn_linalg_status *st) {
  typedef Solver<T> S;
  Ctx x;
  Cm<T> o;
  if (open_ctx(x, "linalg.solve", a) || cm_of(x.fn, xr, &o)) return -1;
  int64_t n = a->sizes[a->ndim - 1], k = b->sizes[b->ndim - 1], count = batch_count(a), nn = n * n;
  Scratch lu_s(x.device), ipiv_s(x.device), info_s(x.device), work_s(x.device);
  T *lu = lu_s.get<T>(count * nn);
  int *ipiv = lu ? ipiv_s.get<int>(count * n) : NULL, *info = ipiv ? info_s.get<int>(count + 1) : NULL;
  int lwork = 0;
  if (!info || load(x, lu, n, nn, a, n, n, count) || load(x, o.p, o.ld, o.step, b, n, k, count) ||
      solver(x, S::getrf_size(x.h, (int)n, (int)n, lu, (int)n, &lwork)))
    return -1;
  T *work = work_s.get<T>(lwork > 1 ? lwork : 1);
  if (!work) return -1;
  for (int64_t i = 0; i < count; i++) {
    T *m = lu + i * nn;
    if (solver(x, S::getrf(x.h, (int)n, (int)n, m, (int)n, work, ipiv + i * n, info + i)) ||
        solver(x, S::getrs(x.h, (int)n, (int)k, m, (int)n, ipiv + i * n, o.p + i * o.step, (int)o.ld, info + count)))
      return -1;
  }
  return report(x, info, count, st);
}

/* det / slogdet from the LU factorisation; a zero pivot is no failure (the determinant is 0), so nothing is
 * read back. The results are contiguous [*] tensors (NULL where not wanted). */
template <class T> int det_t(tn_tensor *det, tn_tensor *sign, tn_tensor *logabsdet, const tn_tensor *a) {
  typedef Solver<T> S;
  Ctx x;
  if (open_ctx(x, "linalg.det", a)) return -1;
  int64_t n = a->sizes[a->ndim - 1], count = batch_count(a), nn = n * n;
  Scratch lu_s(x.device), ipiv_s(x.device), info_s(x.device), work_s(x.device);
  T *lu = lu_s.get<T>(count * nn);
  int *ipiv = lu ? ipiv_s.get<int>(count * n) : NULL, *info = ipiv ? info_s.get<int>(1) : NULL;
  if (!info || load(x, lu, n, nn, a, n, n, count)) return -1;
  if (n > 0) {
    int lwork = 0;
    if (solver(x, S::getrf_size(x.h, (int)n, (int)n, lu, (int)n, &lwork))) return -1;
    T *work = work_s.get<T>(lwork > 1 ? lwork : 1);
    if (!work) return -1;
    for (int64_t i = 0; i < count; i++)
      if (solver(x, S::getrf(x.h, (int)n, (int)n, lu + i * nn, (int)n, work, ipiv + i * n, info))) return -1;
  }
  T *dp = det ? (T *)tn_base(det) : NULL, *sp = sign ? (T *)tn_base(sign) : NULL;
  T *lp = logabsdet ? (T *)tn_base(logabsdet) : NULL;
  det_kernel<T><<<blocks_for(count), TNC_THREADS, 0, x.stream>>>(lu, n > 1 ? n : 1, nn, ipiv, n, count, dp, sp, lp);
  return tnc_check(x.fn);
}

/* cholesky: potrf in the result, then the other triangle zeroed (also in a failed matrix, as the CPU). */
template <class T> int cholesky_t(tn_tensor *out, const tn_tensor *a, int upper, tn_linalg_status *st) {
  typedef Solver<T> S;
  Ctx x;
  Cm<T> o;
  if (open_ctx(x, "linalg.cholesky", a) || cm_of(x.fn, out, &o)) return -1;
  int64_t n = a->sizes[a->ndim - 1], count = batch_count(a);
  cublasFillMode_t uplo = upper ? CUBLAS_FILL_MODE_UPPER : CUBLAS_FILL_MODE_LOWER;
  Scratch info_s(x.device), work_s(x.device);
  int *info = info_s.get<int>(count);
  int lwork = 0;
  if (!info || load(x, o.p, o.ld, o.step, a, n, n, count) ||
      solver(x, S::potrf_size(x.h, uplo, (int)n, o.p, (int)o.ld, &lwork)))
    return -1;
  T *work = work_s.get<T>(lwork > 1 ? lwork : 1);
  if (!work) return -1;
  for (int64_t i = 0; i < count; i++)
    if (solver(x, S::potrf(x.h, uplo, (int)n, o.p + i * o.step, (int)o.ld, work, lwork, info + i))) return -1;
  clear_triangle_kernel<T><<<blocks_for(n * n * count), TNC_THREADS, 0, x.stream>>>(o.p, o.ld, o.step, n, count,
                                                                                   upper);
  if (tnc_check(x.fn)) return -1;
  return report(x, info, count, st);
}

/* qr: q [*, m, qc] (NULL for mode 'r'), r [*, rr, n]. Householder QR (geqrf) of each matrix in scratch, R
 * taken from its upper triangle, then Q formed from the reflectors (orgqr) and copied out. */
template <class T> int qr_t(tn_tensor *q, tn_tensor *r, const tn_tensor *a) {
  typedef Solver<T> S;
  Ctx x;
  Cm<T> ro, qo = {NULL, 1, 0};
  if (open_ctx(x, "linalg.qr", a) || cm_of(x.fn, r, &ro) || (q && cm_of(x.fn, q, &qo))) return -1;
  int nd = a->ndim;
  int64_t m = a->sizes[nd - 2], n = a->sizes[nd - 1], k = m < n ? m : n, count = batch_count(a);
  int64_t qc = q ? q->sizes[nd - 1] : 0, rr = r->sizes[nd - 2];
  if (k == 0) /* an empty factorisation: R is empty, Q (complete) the identity */
    return q ? identity(x, qo, m, qc, count) : 0;
  int64_t wc = n > qc ? n : qc, ws = m * wc; /* m >= 1: the leading dimension of the scratch matrices */
  Scratch w_s(x.device), tau_s(x.device), info_s(x.device), work_s(x.device);
  T *w = w_s.get<T>(count * ws), *tau = w ? tau_s.get<T>(count * k) : NULL;
  int *info = tau ? info_s.get<int>(1) : NULL; /* geqrf and orgqr fail only on bad arguments */
  if (!info) return -1;
  /* columns n..qc-1 (complete Q of a tall A) are orgqr's to set; zeros keep garbage out of them regardless */
  if (wc > n && tn_cuda_check(x.fn, (int)cudaMemsetAsync(w, 0, (size_t)(count * ws) * sizeof(T), x.stream)))
    return -1;
  if (load(x, w, m, ws, a, m, n, count)) return -1;
  int l1 = 0, l2 = 0;
  if (solver(x, S::geqrf_size(x.h, (int)m, (int)n, w, (int)m, &l1)) ||
      (q && solver(x, S::orgqr_size(x.h, (int)m, (int)qc, (int)k, w, (int)m, tau, &l2))))
    return -1;
  int lwork = l1 > l2 ? l1 : l2;
  T *work = work_s.get<T>(lwork > 1 ? lwork : 1);
  if (!work) return -1;
  for (int64_t i = 0; i < count; i++)
    if (solver(x, S::geqrf(x.h, (int)m, (int)n, w + i * ws, (int)m, tau + i * k, work, lwork, info))) return -1;
  if (copy_out(x, ro, w, m, ws, rr, n, count, UPPER)) return -1;
  if (!q) return 0;
  for (int64_t i = 0; i < count; i++)
    if (solver(x, S::orgqr(x.h, (int)m, (int)qc, (int)k, w + i * ws, (int)m, tau + i * k, work, lwork, info)))
      return -1;
  return copy_out(x, qo, w, m, ws, m, qc, count, COPY);
}

/* svd: s [*, k]; u [*, m, uc] and vh [*, vr, n] (both NULL for singular values only). cuSOLVER's gesvd wants
 * rows >= columns: a tall A is factorised as it is, U and V^T written straight into the results; a wide A
 * (m < n) through its transpose A^T = U' S V'^T, so that U = V' and Vh = U'^T (copied out transposed). */
template <class T> int svd_t(tn_tensor *u, tn_tensor *s, tn_tensor *vh, const tn_tensor *a, tn_linalg_status *st) {
  typedef Solver<T> S;
  Ctx x;
  Cm<T> uo = {NULL, 1, 0}, vo = {NULL, 1, 0};
  if (!u != !vh) return tn_error("linalg.svd: expected both singular vector results or neither");
  if (open_ctx(x, "linalg.svd", a) || (u && cm_of(x.fn, u, &uo)) || (vh && cm_of(x.fn, vh, &vo))) return -1;
  int nd = a->ndim;
  int64_t m = a->sizes[nd - 2], n = a->sizes[nd - 1], k = m < n ? m : n, count = batch_count(a);
  int64_t uc = u ? u->sizes[nd - 1] : 0, vr = vh ? vh->sizes[nd - 2] : 0;
  if (k == 0) { /* no singular values; full U and Vh are identities */
    if (u && identity(x, uo, m, uc, count)) return -1;
    return vh ? identity(x, vo, vr, n, count) : 0;
  }
  bool wide = m < n;
  int64_t M = wide ? n : m, N = wide ? m : n, ws = M * N; /* the factorised matrix, M >= N = k */
  /* the columns of its U: A's (tall) or A's rows of Vh (wide); its V^T is N x N either way */
  int64_t ucols = wide ? vr : uc;
  signed char jobu = !u ? 'N' : ucols == k ? 'S' : 'A', jobvt = !u ? 'N' : 'A';
  Scratch w_s(x.device), info_s(x.device), work_s(x.device), rwork_s(x.device), up_s(x.device), vtp_s(x.device);
  T *w = w_s.get<T>(count * ws), *rwork = w ? rwork_s.get<T>(k) : NULL, *up = NULL, *vtp = NULL;
  int *info = rwork ? info_s.get<int>(count) : NULL;
  if (!info || load(x, w, M, ws, a, M, N, count, wide)) return -1;
  if (u && wide && (!(up = up_s.get<T>(count * M * ucols)) || !(vtp = vtp_s.get<T>(count * N * N)))) return -1;
  int lwork = 0;
  if (solver(x, S::gesvd_size(x.h, (int)M, (int)N, &lwork))) return -1;
  T *work = work_s.get<T>(lwork > 1 ? lwork : 1);
  if (!work) return -1;
  for (int64_t i = 0; i < count; i++) {
    T *ui = NULL, *vti = NULL;
    int64_t ldu = M, ldvt = N;
    if (u && !wide) {
      ui = uo.p + i * uo.step, ldu = uo.ld;
      vti = vo.p + i * vo.step, ldvt = vo.ld;
    } else if (u) {
      ui = up + i * M * ucols;
      vti = vtp + i * N * N;
    }
    if (solver(x, S::gesvd(x.h, jobu, jobvt, (int)M, (int)N, w + i * ws, (int)M, vector_at<T>(s, i), ui, (int)ldu,
                           vti, (int)ldvt, work, lwork, rwork, info + i)))
      return -1;
  }
  if (u && wide) { /* u (m x m) = V'^T^T: the transpose of vtp (N x N); vh (vr x n) = U'^T: of up (M x vr) */
    if (copy_out(x, uo, vtp, N, N * N, m, uc, count, TRANSPOSE) ||
        copy_out(x, vo, up, M, M * ucols, vr, n, count, TRANSPOSE))
      return -1;
  }
  return report(x, info, count, st);
}

/* eigh: w [*, n] ascending eigenvalues; v [*, n, n] the eigenvectors as columns (NULL: eigenvalues only, the
 * matrices then go to scratch, which syevd overwrites). Only the `upper` (or lower) triangle is read. */
template <class T> int eigh_t(tn_tensor *wr, tn_tensor *v, const tn_tensor *a, int upper, tn_linalg_status *st) {
  typedef Solver<T> S;
  Ctx x;
  Cm<T> o;
  if (open_ctx(x, "linalg.eigh", a) || (v && cm_of(x.fn, v, &o))) return -1;
  int64_t n = a->sizes[a->ndim - 1], count = batch_count(a);
  cublasFillMode_t uplo = upper ? CUBLAS_FILL_MODE_UPPER : CUBLAS_FILL_MODE_LOWER;
  cusolverEigMode_t jobz = v ? CUSOLVER_EIG_MODE_VECTOR : CUSOLVER_EIG_MODE_NOVECTOR;
  Scratch m_s(x.device), info_s(x.device), work_s(x.device);
  if (!v) {
    T *p = m_s.get<T>(count * n * n);
    if (!p) return -1;
    o.p = p, o.ld = n, o.step = n * n;
  }
  int *info = info_s.get<int>(count);
  int lwork = 0;
  if (!info || load(x, o.p, o.ld, o.step, a, n, n, count) ||
      solver(x, S::syevd_size(x.h, jobz, uplo, (int)n, o.p, (int)o.ld, vector_at<T>(wr, 0), &lwork)))
    return -1;
  T *work = work_s.get<T>(lwork > 1 ? lwork : 1);
  if (!work) return -1;
  for (int64_t i = 0; i < count; i++)
    if (solver(x, S::syevd(x.h, jobz, uplo, (int)n, o.p + i * o.step, (int)o.ld, vector_at<T>(wr, i), work, lwork,
                           info + i)))
      return -1;
  return report(x, info, count, st);
}

/* The first bad pivot a pivots_kernel or permutation_kernel flagged (bad starts as all ones) into *st: one
 * read back, so one synchronisation. */
int report_pivots(const Ctx &x, const unsigned long long *bad, tn_linalg_status *st) {
  unsigned long long h = 0;
  if (tn_cuda_read(x.fn, x.device, &h, bad, sizeof h)) return -1;
  if (h != ~0ULL) {
    st->index = (int64_t)(h >> 32);
    st->info = (int64_t)(h & 0xffffffffULL) + 1;
  }
  return 0;
}

/* lu_factor: getrf in the result (ipiv NULL: no row exchanges, then pivots 1..k). */
template <class T> int lu_factor_t(tn_tensor *lu, tn_tensor *pivots, const tn_tensor *a, int pivot,
                                   tn_linalg_status *st) {
  typedef Solver<T> S;
  Ctx x;
  Cm<T> o;
  if (open_ctx(x, "linalg.lu_factor", a) || cm_of(x.fn, lu, &o)) return -1;
  int64_t m = a->sizes[a->ndim - 2], n = a->sizes[a->ndim - 1], k = m < n ? m : n, count = batch_count(a);
  int *piv = (int *)tn_base(pivots);
  Scratch info_s(x.device), work_s(x.device);
  int *info = info_s.get<int>(count);
  int lwork = 0;
  if (!info || load(x, o.p, o.ld, o.step, a, m, n, count) ||
      solver(x, S::getrf_size(x.h, (int)m, (int)n, o.p, (int)o.ld, &lwork)))
    return -1;
  T *work = work_s.get<T>(lwork > 1 ? lwork : 1);
  if (!work) return -1;
  for (int64_t i = 0; i < count; i++)
    if (solver(x, S::getrf(x.h, (int)m, (int)n, o.p + i * o.step, (int)o.ld, work, pivot ? piv + i * k : NULL,
                           info + i)))
      return -1;
  if (!pivot) {
    iota_pivots_kernel<<<blocks_for(count * k), TNC_THREADS, 0, x.stream>>>(piv, k, count);
    if (tnc_check(x.fn)) return -1;
  }
  return report(x, info, count, st);
}

/* lu_solve: the pivots checked (and made contiguous), LU copied column-major, b into x, then getrs. */
template <class T> int lu_solve_t(tn_tensor *xr, const tn_tensor *lu, const tn_tensor *pivots, const tn_tensor *b,
                                  int adjoint, tn_linalg_status *st) {
  typedef Solver<T> S;
  Ctx x;
  Cm<T> o;
  if (open_ctx(x, "linalg.lu_solve", lu) || cm_of(x.fn, xr, &o)) return -1;
  int64_t n = lu->sizes[lu->ndim - 1], k = xr->sizes[xr->ndim - 1], count = batch_count(xr), nn = n * n;
  Scratch lu_s(x.device), piv_s(x.device), bad_s(x.device), info_s(x.device);
  T *w = lu_s.get<T>(count * nn);
  int *piv = w ? piv_s.get<int>(count * n) : NULL, *info = piv ? info_s.get<int>(1) : NULL;
  unsigned long long *bad = info ? bad_s.get<unsigned long long>(1) : NULL;
  if (!bad || tn_cuda_check(x.fn, (int)cudaMemsetAsync(bad, 0xff, sizeof *bad, x.stream))) return -1;
  pivots_kernel<<<blocks_for(count * n), TNC_THREADS, 0, x.stream>>>(piv, tv_of(pivots), n, count, bad);
  if (tnc_check(x.fn) || report_pivots(x, bad, st)) return -1;
  if (st->index >= 0) return 0;
  if (load(x, w, n, nn, lu, n, n, count) || load(x, o.p, o.ld, o.step, b, n, k, count)) return -1;
  for (int64_t i = 0; i < count; i++)
    if (solver(x, S::getrs(x.h, (int)n, (int)k, w + i * nn, (int)n, piv + i * n, o.p + i * o.step, (int)o.ld, info,
                           adjoint ? CUBLAS_OP_T : CUBLAS_OP_N)))
      return -1;
  return 0;
}

/* perm [*, m] from pivots [*, k] */
int lu_permutation_cuda(tn_tensor *perm, const tn_tensor *pivots, tn_linalg_status *st) {
  Ctx x;
  x.fn = "lu_unpack";
  x.device = tnc_device(pivots);
  if (!(x.stream = tnc_stream(x.fn, pivots))) return -1;
  int64_t m = perm->sizes[perm->ndim - 1], k = pivots->sizes[pivots->ndim - 1], count = perm->numel / m;
  Scratch bad_s(x.device);
  unsigned long long *bad = bad_s.get<unsigned long long>(1);
  if (!bad || tn_cuda_check(x.fn, (int)cudaMemsetAsync(bad, 0xff, sizeof *bad, x.stream))) return -1;
  permutation_kernel<<<blocks_for(count), TNC_THREADS, 0, x.stream>>>((int64_t *)tn_base(perm), m, tv_of(pivots), k,
                                                                      count, bad);
  if (tnc_check(x.fn)) return -1;
  return report_pivots(x, bad, st);
}

/* solve_triangular: each matrix of a copied column-major, b into x (unless x is b), then trsm in place. */
template <class T> int solve_triangular_t(tn_tensor *xr, const tn_tensor *a, const tn_tensor *b, int upper,
                                          int unit) {
  Ctx x;
  Cm<T> o;
  if (open_ctx(x, "linalg.solve_triangular", a) || cm_of(x.fn, xr, &o)) return -1;
  cublasHandle_t h = blas_for(x.fn, x.device, x.stream);
  if (!h) return -1;
  int64_t n = a->sizes[a->ndim - 1], k = xr->sizes[xr->ndim - 1], count = batch_count(xr), nn = n * n;
  Scratch a_s(x.device);
  T *w = a_s.get<T>(count * nn);
  if (!w || load(x, w, n, nn, a, n, n, count) || (b != xr && load(x, o.p, o.ld, o.step, b, n, k, count))) return -1;
  cublasFillMode_t uplo = upper ? CUBLAS_FILL_MODE_UPPER : CUBLAS_FILL_MODE_LOWER;
  cublasDiagType_t diag = unit ? CUBLAS_DIAG_UNIT : CUBLAS_DIAG_NON_UNIT;
  for (int64_t i = 0; i < count; i++)
    if (tn_cuda_check_cublas(x.fn, (int)Blas<T>::trsm(h, uplo, diag, (int)n, (int)k, w + i * nn, (int)n,
                                                      o.p + i * o.step, (int)o.ld)))
      return -1;
  return 0;
}

/* tau ([*, k], any strides) into contiguous scratch, count vectors of k */
template <class T> T *contiguous_tau(const Ctx &x, Scratch &s, const tn_tensor *tau, int64_t k, int64_t count) {
  T *t = s.get<T>(count * k > 0 ? count * k : 1);
  if (!t || count * k == 0) return t;
  vectors_kernel<T><<<blocks_for(count * k), TNC_THREADS, 0, x.stream>>>(t, tv_of(tau), k, count);
  return tnc_check(x.fn) ? NULL : t;
}

/* geqrf: in the result, tau straight into its contiguous tensor. */
template <class T> int geqrf_t(tn_tensor *qr, tn_tensor *tau, const tn_tensor *a) {
  typedef Solver<T> S;
  Ctx x;
  Cm<T> o;
  if (open_ctx(x, "geqrf", a) || cm_of(x.fn, qr, &o)) return -1;
  int64_t m = a->sizes[a->ndim - 2], n = a->sizes[a->ndim - 1], count = batch_count(a);
  Scratch info_s(x.device), work_s(x.device);
  int *info = info_s.get<int>(1); /* geqrf fails only on bad arguments */
  int lwork = 0;
  if (!info || load(x, o.p, o.ld, o.step, a, m, n, count) ||
      solver(x, S::geqrf_size(x.h, (int)m, (int)n, o.p, (int)o.ld, &lwork)))
    return -1;
  T *work = work_s.get<T>(lwork > 1 ? lwork : 1);
  if (!work) return -1;
  for (int64_t i = 0; i < count; i++)
    if (solver(x, S::geqrf(x.h, (int)m, (int)n, o.p + i * o.step, (int)o.ld, vector_at<T>(tau, i), work, lwork, info)))
      return -1;
  return 0;
}

/* orgqr (householder_product): A copied into the result, tau made contiguous, then orgqr in place. */
template <class T> int orgqr_t(tn_tensor *q, const tn_tensor *a, const tn_tensor *tau) {
  typedef Solver<T> S;
  Ctx x;
  Cm<T> o;
  if (open_ctx(x, "linalg.householder_product", a) || cm_of(x.fn, q, &o)) return -1;
  int64_t m = a->sizes[a->ndim - 2], n = a->sizes[a->ndim - 1], k = tau->sizes[tau->ndim - 1];
  int64_t count = batch_count(q);
  Scratch tau_s(x.device), info_s(x.device), work_s(x.device);
  T *t = contiguous_tau<T>(x, tau_s, tau, k, count);
  int *info = t ? info_s.get<int>(1) : NULL;
  int lwork = 0;
  if (!info || load(x, o.p, o.ld, o.step, a, m, n, count) ||
      solver(x, S::orgqr_size(x.h, (int)m, (int)n, (int)k, o.p, (int)o.ld, t, &lwork)))
    return -1;
  T *work = work_s.get<T>(lwork > 1 ? lwork : 1);
  if (!work) return -1;
  for (int64_t i = 0; i < count; i++)
    if (solver(x, S::orgqr(x.h, (int)m, (int)n, (int)k, o.p + i * o.step, (int)o.ld, t + i * k, work, lwork, info)))
      return -1;
  return 0;
}

/* ormqr: C copied into the result, A's first k columns (mq x k) and tau into scratch, then ormqr in place. */
template <class T> int ormqr_t(tn_tensor *xr, const tn_tensor *a, const tn_tensor *tau, const tn_tensor *c, int left,
                               int transpose) {
  typedef Solver<T> S;
  Ctx x;
  Cm<T> o;
  if (open_ctx(x, "ormqr", a) || cm_of(x.fn, xr, &o)) return -1;
  int nd = xr->ndim;
  int64_t m = xr->sizes[nd - 2], n = xr->sizes[nd - 1], k = tau->sizes[nd - 2], mq = left ? m : n;
  int64_t count = batch_count(xr), lda = mq > 1 ? mq : 1;
  if (load(x, o.p, o.ld, o.step, c, m, n, count)) return -1;
  if (m == 0 || n == 0 || k == 0) return 0; /* Q is the identity, or nothing to multiply */
  cublasSideMode_t side = left ? CUBLAS_SIDE_LEFT : CUBLAS_SIDE_RIGHT;
  cublasOperation_t trans = transpose ? CUBLAS_OP_T : CUBLAS_OP_N;
  Scratch v_s(x.device), tau_s(x.device), info_s(x.device), work_s(x.device);
  T *v = v_s.get<T>(count * lda * k), *t = v ? contiguous_tau<T>(x, tau_s, tau, k, count) : NULL;
  int *info = t ? info_s.get<int>(1) : NULL;
  int lwork = 0;
  if (!info || load(x, v, lda, lda * k, a, mq, k, count) ||
      solver(x, S::ormqr_size(x.h, side, trans, (int)m, (int)n, (int)k, v, (int)lda, t, o.p, (int)o.ld, &lwork)))
    return -1;
  T *work = work_s.get<T>(lwork > 1 ? lwork : 1);
  if (!work) return -1;
  for (int64_t i = 0; i < count; i++)
    if (solver(x, S::ormqr(x.h, side, trans, (int)m, (int)n, (int)k, v + i * lda * k, (int)lda, t + i * k,
                           o.p + i * o.step, (int)o.ld, work, lwork, info)))
      return -1;
  return 0;
}

/* ldl_factor: sytrf of the lower triangle in the result, the upper one then zeroed (as the CPU), and the infos
 * LAPACK's sytrf reports taken from D (see ldl_info_kernel). */
template <class T> int ldl_factor_t(tn_tensor *ld, tn_tensor *pivots, const tn_tensor *a, tn_linalg_status *st) {
  typedef Solver<T> S;
  Ctx x;
  Cm<T> o;
  if (open_ctx(x, "linalg.ldl_factor", a) || cm_of(x.fn, ld, &o)) return -1;
  int64_t n = a->sizes[a->ndim - 1], count = batch_count(a);
  int *piv = (int *)tn_base(pivots);
  Scratch info_s(x.device), work_s(x.device);
  int *info = info_s.get<int>(count);
  int lwork = 0;
  if (!info || load(x, o.p, o.ld, o.step, a, n, n, count) ||
      solver(x, S::sytrf_size(x.h, (int)n, o.p, (int)o.ld, &lwork)))
    return -1;
  T *work = work_s.get<T>(lwork > 1 ? lwork : 1);
  if (!work) return -1;
  for (int64_t i = 0; i < count; i++)
    if (solver(x, S::sytrf(x.h, (int)n, o.p + i * o.step, (int)o.ld, piv + i * n, work, lwork, info + i))) return -1;
  clear_triangle_kernel<T><<<blocks_for(n * n * count), TNC_THREADS, 0, x.stream>>>(o.p, o.ld, o.step, n, count, 0);
  ldl_info_kernel<T><<<blocks_for(count), TNC_THREADS, 0, x.stream>>>(o.p, o.ld, o.step, piv, n, count, info);
  if (tnc_check(x.fn)) return -1;
  return report(x, info, count, st);
}

/* ldl_solve: the pivots checked (into int64, as Xsytrs wants them), LD copied column-major, b into x, then
 * cuSOLVER's Xsytrs. */
template <class T> int ldl_solve_t(tn_tensor *xr, const tn_tensor *ld, const tn_tensor *pivots, const tn_tensor *b,
                                   tn_linalg_status *st) {
  typedef Solver<T> S;
  Ctx x;
  Cm<T> o;
  if (open_ctx(x, "linalg.ldl_solve", ld) || cm_of(x.fn, xr, &o)) return -1;
  int64_t n = ld->sizes[ld->ndim - 1], k = xr->sizes[xr->ndim - 1], count = batch_count(xr), nn = n * n;
  Scratch w_s(x.device), piv_s(x.device), bad_s(x.device), info_s(x.device), work_s(x.device);
  T *w = w_s.get<T>(count * nn);
  int64_t *piv = w ? piv_s.get<int64_t>(count * n) : NULL;
  int *info = piv ? info_s.get<int>(1) : NULL;
  unsigned long long *bad = info ? bad_s.get<unsigned long long>(1) : NULL;
  if (!bad || tn_cuda_check(x.fn, (int)cudaMemsetAsync(bad, 0xff, sizeof *bad, x.stream))) return -1;
  ldl_pivots_kernel<<<blocks_for(count), TNC_THREADS, 0, x.stream>>>(piv, tv_of(pivots), n, count, bad);
  if (tnc_check(x.fn) || report_pivots(x, bad, st)) return -1;
  if (st->index >= 0) return 0;
  if (load(x, w, n, nn, ld, n, n, count) || load(x, o.p, o.ld, o.step, b, n, k, count)) return -1;
  size_t device_bytes = 0, host_bytes = 0;
  if (solver(x, cusolverDnXsytrs_bufferSize(x.h, CUBLAS_FILL_MODE_LOWER, n, k, S::type(), w, n, piv, S::type(), o.p,
                                            o.ld, &device_bytes, &host_bytes)))
    return -1;
  char *dwork = work_s.get<char>(device_bytes > 0 ? (int64_t)device_bytes : 1);
  void *hwork = malloc(host_bytes > 0 ? host_bytes : 1);
  int rc = dwork && hwork ? 0 : -1;
  if (!hwork) tn_error("%s: out of host memory for cuSOLVER's workspace", x.fn);
  for (int64_t i = 0; i < count && rc == 0; i++)
    rc = solver(x, cusolverDnXsytrs(x.h, CUBLAS_FILL_MODE_LOWER, n, k, S::type(), w + i * nn, n, piv + i * n,
                                    S::type(), o.p + i * o.step, o.ld, dwork, device_bytes, hwork, host_bytes, info));
  free(hwork);
  return rc;
}

/* ---- the backend's entries: float64 or float32 (the entry points admit only those) ---- */

int cuda_inv(tn_tensor *out, const tn_tensor *a, tn_linalg_status *st) {
  return a->dtype == TN_FLOAT64 ? inv_t<double>(out, a, st) : inv_t<float>(out, a, st);
}
int cuda_solve(tn_tensor *x, const tn_tensor *a, const tn_tensor *b, tn_linalg_status *st) {
  return a->dtype == TN_FLOAT64 ? solve_t<double>(x, a, b, st) : solve_t<float>(x, a, b, st);
}
int cuda_det(tn_tensor *det, tn_tensor *sign, tn_tensor *logabsdet, const tn_tensor *a) {
  return a->dtype == TN_FLOAT64 ? det_t<double>(det, sign, logabsdet, a) : det_t<float>(det, sign, logabsdet, a);
}
int cuda_cholesky(tn_tensor *out, const tn_tensor *a, int upper, tn_linalg_status *st) {
  return a->dtype == TN_FLOAT64 ? cholesky_t<double>(out, a, upper, st) : cholesky_t<float>(out, a, upper, st);
}
int cuda_qr(tn_tensor *q, tn_tensor *r, const tn_tensor *a) {
  return a->dtype == TN_FLOAT64 ? qr_t<double>(q, r, a) : qr_t<float>(q, r, a);
}
int cuda_svd(tn_tensor *u, tn_tensor *s, tn_tensor *vh, const tn_tensor *a, tn_linalg_status *st) {
  return a->dtype == TN_FLOAT64 ? svd_t<double>(u, s, vh, a, st) : svd_t<float>(u, s, vh, a, st);
}
int cuda_eigh(tn_tensor *w, tn_tensor *v, const tn_tensor *a, int upper, tn_linalg_status *st) {
  return a->dtype == TN_FLOAT64 ? eigh_t<double>(w, v, a, upper, st) : eigh_t<float>(w, v, a, upper, st);
}

int cuda_lu_factor(tn_tensor *lu, tn_tensor *pivots, const tn_tensor *a, int pivot, tn_linalg_status *st) {
  return a->dtype == TN_FLOAT64 ? lu_factor_t<double>(lu, pivots, a, pivot, st)
                                : lu_factor_t<float>(lu, pivots, a, pivot, st);
}
int cuda_lu_solve(tn_tensor *x, const tn_tensor *lu, const tn_tensor *pivots, const tn_tensor *b, int adjoint,
                  tn_linalg_status *st) {
  return lu->dtype == TN_FLOAT64 ? lu_solve_t<double>(x, lu, pivots, b, adjoint, st)
                                 : lu_solve_t<float>(x, lu, pivots, b, adjoint, st);
}
int cuda_solve_triangular(tn_tensor *x, const tn_tensor *a, const tn_tensor *b, int upper, int unit) {
  return a->dtype == TN_FLOAT64 ? solve_triangular_t<double>(x, a, b, upper, unit)
                                : solve_triangular_t<float>(x, a, b, upper, unit);
}

int cuda_geqrf(tn_tensor *qr, tn_tensor *tau, const tn_tensor *a) {
  return a->dtype == TN_FLOAT64 ? geqrf_t<double>(qr, tau, a) : geqrf_t<float>(qr, tau, a);
}
int cuda_orgqr(tn_tensor *q, const tn_tensor *a, const tn_tensor *tau) {
  return a->dtype == TN_FLOAT64 ? orgqr_t<double>(q, a, tau) : orgqr_t<float>(q, a, tau);
}
int cuda_ormqr(tn_tensor *x, const tn_tensor *a, const tn_tensor *tau, const tn_tensor *c, int left, int transpose) {
  return a->dtype == TN_FLOAT64 ? ormqr_t<double>(x, a, tau, c, left, transpose)
                                : ormqr_t<float>(x, a, tau, c, left, transpose);
}
int cuda_ldl_factor(tn_tensor *ld, tn_tensor *pivots, const tn_tensor *a, tn_linalg_status *st) {
  return a->dtype == TN_FLOAT64 ? ldl_factor_t<double>(ld, pivots, a, st) : ldl_factor_t<float>(ld, pivots, a, st);
}
int cuda_ldl_solve(tn_tensor *x, const tn_tensor *ld, const tn_tensor *pivots, const tn_tensor *b,
                   tn_linalg_status *st) {
  return ld->dtype == TN_FLOAT64 ? ldl_solve_t<double>(x, ld, pivots, b, st) : ldl_solve_t<float>(x, ld, pivots, b, st);
}

} // namespace

TN_CUDA_EXTERN void tn_cuda_register_linalg(tn_backend *b) {
  b->inv = cuda_inv;
  b->solve = cuda_solve;
  b->det = cuda_det;
  b->cholesky = cuda_cholesky;
  b->qr = cuda_qr;
  b->svd = cuda_svd;
  b->eigh = cuda_eigh;
  b->lu_factor = cuda_lu_factor;
  b->lu_permutation = lu_permutation_cuda;
  b->lu_solve = cuda_lu_solve;
  b->solve_triangular = cuda_solve_triangular;
  b->geqrf = cuda_geqrf;
  b->orgqr = cuda_orgqr;
  b->ormqr = cuda_ormqr;
  b->ldl_factor = cuda_ldl_factor;
  b->ldl_solve = cuda_ldl_solve;
}
