/* internal.h: helpers shared by the C files of libtensor; not part of the public API. */
#ifndef TN_INTERNAL_H
#define TN_INTERNAL_H

#include "tensor.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* One list of dtypes; every per-dtype function is generated from it, never copied.
 * X(ARG, ENUM, suffix, storage C type, compute C type, kind) where kind is FLOAT, HALF, BF16, INT or BOOL;
 * ARG is passed through so one macro can stamp out a function per (op, dtype). The lists by category let an
 * op cover only the dtypes it is defined for. */
#define TN_FOREACH_FLOATING_ARG(X, ARG)                 \
  X(ARG, TN_FLOAT32,  f32,  float,    float,   FLOAT)   \
  X(ARG, TN_FLOAT64,  f64,  double,   double,  FLOAT)   \
  X(ARG, TN_FLOAT16,  f16,  uint16_t, float,   HALF)    \
  X(ARG, TN_BFLOAT16, bf16, uint16_t, float,   BF16)
#define TN_FOREACH_INTEGRAL_ARG(X, ARG)                 \
  X(ARG, TN_INT64,    i64,  int64_t,  int64_t, INT)     \
  X(ARG, TN_INT32,    i32,  int32_t,  int32_t, INT)     \
  X(ARG, TN_INT16,    i16,  int16_t,  int16_t, INT)     \
  X(ARG, TN_INT8,     i8,   int8_t,   int8_t,  INT)     \
  X(ARG, TN_UINT8,    u8,   uint8_t,  uint8_t, INT)
#define TN_FOREACH_BOOL_ARG(X, ARG) X(ARG, TN_BOOL, b8, uint8_t, uint8_t, BOOL)
#define TN_FOREACH_NUMERIC_ARG(X, ARG) TN_FOREACH_FLOATING_ARG(X, ARG) TN_FOREACH_INTEGRAL_ARG(X, ARG)
#define TN_FOREACH_INTEGRAL_BOOL_ARG(X, ARG) TN_FOREACH_INTEGRAL_ARG(X, ARG) TN_FOREACH_BOOL_ARG(X, ARG)
#define TN_FOREACH_ALL_ARG(X, ARG) TN_FOREACH_NUMERIC_ARG(X, ARG) TN_FOREACH_BOOL_ARG(X, ARG)

/* The same list without the pass-through argument: X(ENUM, suffix, T, CT, kind). */
#define TN_APPLY_WITHOUT_ARG(X, ...) X(__VA_ARGS__)
#define TN_FOREACH_DTYPE(X) TN_FOREACH_ALL_ARG(TN_APPLY_WITHOUT_ARG, X)

/* Loading a stored element as its compute type, and storing a compute value back. */
#define TN_LOAD_FLOAT(v) (v)
#define TN_LOAD_HALF(v) tn_f16_to_f32(v)
#define TN_LOAD_BF16(v) tn_bf16_to_f32(v)
#define TN_LOAD_INT(v) (v)
#define TN_LOAD_BOOL(v) (v)
#define TN_STORE_FLOAT(T, v) ((T)(v))
#define TN_STORE_HALF(T, v) tn_f32_to_f16((float)(v))
#define TN_STORE_BF16(T, v) tn_f32_to_bf16((float)(v))
#define TN_STORE_INT(T, v) ((T)(v))
#define TN_STORE_BOOL(T, v) ((T)((v) != 0))

/* ---- errors: every failing function sets a message and returns -1 or NULL ---- */
int tn_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *tn_error_null(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "[2 x 3]" into buf; returns buf. */
const char *tn_format_shape(char *buf, size_t size, int ndim, const int64_t *sizes);
enum { TN_SHAPE_STR = 16 * 24 };

/* Normalises a 0-based dim that may be negative; returns -1 (and sets an error naming fn) when out of range. */
int tn_wrap_dim(const char *fn, int dim, int ndim);

/* ---- 16-bit floats, round to nearest even (shared with the CUDA backend) ---- */
#include "half.h"

/* ---- threads (lib/parallel.c) ----
 * Lends OpenBLAS's pthreads build the library's thread count for one large call: false, with nothing done, for
 * its other builds, inside a parallel region or at one thread. tn_blas_take_back_threads holds it at one thread
 * again. */
bool tn_blas_lend_threads(void);
void tn_blas_take_back_threads(void);

/* Drops `refs` references to s at once (tn_storage_release drops one); the last ones free it without a
 * locked instruction. */
void tn_storage_drop(tn_storage *s, int64_t refs);

/* ---- host memory: 64-byte aligned blocks from the CPU backend's cache (lib/cpu/alloc.c) ---- */
void *tn_host_alloc(int64_t nbytes);
/* True on the thread that owns the cache (the first to allocate): its calls and its accounting take no lock. */
bool tn_host_owner_thread(void);
void tn_host_free(void *p, int64_t nbytes);
int64_t tn_host_cached_bytes(void);
void tn_host_empty_cache(void);

/* A CPU storage in one block with its data, after `prefix` bytes the caller may use (a tensor header). */
tn_storage *tn_storage_new_block(int64_t nbytes, int dtype, size_t prefix, void **prefix_out);

/* ---- small shape helpers ---- */
static inline int64_t tn_elem_size(int dtype) { return tn_dtype_size(dtype); }
bool tn_valid_dtype(int dtype);
int64_t tn_shape_numel(int ndim, const int64_t *sizes);
void tn_contiguous_strides(int ndim, const int64_t *sizes, int64_t *strides);
bool tn_same_shape(const tn_tensor *a, const tn_tensor *b);
/* Whether two tensors live on one device (type and index). */
static inline bool tn_same_device(const tn_tensor *a, const tn_tensor *b) {
  return a->storage->device_type == b->storage->device_type && a->storage->device_index == b->storage->device_index;
}
/* t's device for messages: "cpu", or "cuda:<index>" written into buf. */
const char *tn_device_str(char *buf, size_t size, const tn_tensor *t);
/* Element 0 of t, as a byte pointer. */
static inline char *tn_base(const tn_tensor *t) {
  return (char *)t->storage->data + t->offset * tn_dtype_size(t->dtype);
}
/* A plain increment, not a locked add: a locked instruction waits until every earlier store has reached the
 * cache, and after an op that wrote a cold result that is the whole latency of its misses. Two threads writing
 * one storage at once race on its data anyway. */
static inline void tn_bump_version(tn_tensor *t) {
  tn_storage *s = t->storage;
  __atomic_store_n(&s->version, __atomic_load_n(&s->version, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}

/* Makes `out` (possibly NULL) ready to receive a result of the given shape and dtype, on the device of
 * `like`. Returns the tensor to write into (out itself, or a new one) or NULL with an error set. */
tn_tensor *tn_prepare_out(const char *fn, tn_tensor *out, int ndim, const int64_t *sizes, int dtype,
                          const tn_tensor *like);

#endif /* TN_INTERNAL_H */
