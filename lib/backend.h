/* backend.h: the table of functions a device backend fills in (the CPU here, CUDA in cuda/).
 *
 * Public entry points check their arguments, compute output shapes and dtypes, allocate outputs, and
 * then call the backend of the tensors' device. Backends may assume validated arguments. */
#ifndef TN_BACKEND_H
#define TN_BACKEND_H

#include "tensor.h"

/* Where a batched factorisation failed: the first failing matrix's place in the batch (-1: none) and
 * LAPACK's info for it (the order of the zero pivot or failing minor, counted from 1). */
typedef struct tn_linalg_status {
  int64_t index;
  int64_t info;
} tn_linalg_status;

typedef struct tn_backend {
  const char *name;
  /* allocator accounting, updated atomically by the backend's allocator */
  int64_t live_bytes;
  int64_t peak_bytes;

  void *(*alloc)(int device_index, int64_t nbytes);
  void (*free)(int device_index, void *ptr, int64_t nbytes);

  /* dst = src (broadcast src, convert dtype); called for the device of dst, or of src when dst is on the CPU */
  int (*copy)(tn_tensor *dst, const tn_tensor *src);
  int (*fill)(tn_tensor *t, double value);
  /* Element-wise kernels (ops and kernel variants of pointwise_ops.h). Inputs have the kernel's compute
   * dtype and broadcast to out; out has the result dtype. Inputs may be 0-d CPU tensors (scalars). */
  int (*unary)(int op, tn_tensor *out, const tn_tensor *x, double p0, double p1);
  int (*binary)(int op, tn_tensor *out, const tn_tensor *a, const tn_tensor *b, double p0, double p1);
  int (*ternary)(int op, tn_tensor *out, const tn_tensor *a, const tn_tensor *b, const tn_tensor *c, double p0);

  int (*uniform)(tn_tensor *t, double low, double high, tn_generator *g);
  int (*normal)(tn_tensor *t, double mean, double std, tn_generator *g);
  int (*randint)(tn_tensor *t, int64_t low, int64_t high, tn_generator *g);
  int (*bernoulli)(tn_tensor *t, double p, const tn_tensor *p_tensor, tn_generator *g);

  /* ---- linear algebra (lib/cpu/blas.c, lib/cpu/linalg.c; CUDA: cuBLAS and cuSOLVER) ----
   * gemm: c = alpha * a @ b + beta * c for every batch index: a [*, m, k], b [*, k, n], c [*, m, n] with one
   * batch shape (a and b may be expanded, stride 0). With sum_batches c is [m, n] and receives beta * c + alpha *
   * the sum over the batch of a @ b. beta 0 ignores c's values. Any strides; float and integer dtypes. */
  int (*gemm)(tn_tensor *c, const tn_tensor *a, const tn_tensor *b, double alpha, double beta, int sum_batches);
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
