/* join.c: CPU kernels of cat, flip and tril/triu. All move elements by size. */
#include "cpu.h"

#include <omp.h>
#include <stdlib.h>

/* ---- cat ---- */

/* Inputs that are contiguous and of out's dtype (out contiguous too) are runs of bytes: each one contributes
 * one slab per index of the dims before `dim`. The slabs of all such inputs form one stream of bytes that
 * threads split evenly. The other inputs are copied into their part of out by the copy kernel. */
typedef struct slab_input {
  const char *src;
  int64_t slab;   /* bytes per outer index */
  int64_t offset; /* byte offset of its part within each outer block of out */
  int64_t start;  /* its first byte in the stream */
} slab_input;

static void copy_stream(const slab_input *in, int m, int64_t outer, char *dst, int64_t block, int64_t begin,
                        int64_t end) {
  int i = 0;
  while (i < m && in[i].start + in[i].slab * outer <= begin) i++;
  for (int64_t at = begin; at < end && i < m; i++) {
    const slab_input *s = &in[i];
    int64_t stop = s->start + s->slab * outer < end ? s->start + s->slab * outer : end;
    while (at < stop) {
      int64_t o = (at - s->start) / s->slab, within = (at - s->start) % s->slab;
      int64_t len = s->slab - within < stop - at ? s->slab - within : stop - at;
      memcpy(dst + o * block + s->offset + within, s->src + o * s->slab + within, (size_t)len);
      at += len;
    }
  }
}

int tn_cpu_cat(tn_tensor *out, int n, const tn_tensor *const *inputs, int dim) {
  int64_t es = tn_dtype_size(out->dtype), outer = 1, inner = 1;
  for (int d = 0; d < dim; d++) outer *= out->sizes[d];
  for (int d = dim + 1; d < out->ndim; d++) inner *= out->sizes[d];
  bool fast_out = tn_is_contiguous(out);
  slab_input stack[64];
  slab_input *slabs = n <= 64 ? stack : malloc(sizeof(slab_input) * (size_t)n);
  if (!slabs) return tn_error("cat: out of memory");
  int m = 0;
  int64_t total = 0, position = 0;
  int rc = 0;
  for (int i = 0; i < n && rc == 0; i++) {
    const tn_tensor *t = inputs[i];
    int64_t length = t->sizes[dim];
    if (t->numel > 0) {
      if (fast_out && t->dtype == out->dtype && tn_is_contiguous(t)) {
        slabs[m] = (slab_input){tn_data_ptr(t), length * inner * es, position * inner * es, total};
        total += slabs[m].slab * outer;
        m++;
      } else {
        tn_tensor part = *out;
        part.offset += position * out->strides[dim];
        part.sizes[dim] = length;
        part.numel = t->numel;
        rc = tn_cpu_copy(&part, t);
      }
    }
    position += length;
  }
  if (rc == 0 && total > 0) {
    char *dst = tn_data_ptr(out);
    int64_t block = out->sizes[dim] * inner * es;
    int nt = tn_parallel_threads(total, 1 << 18);
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
      int t = omp_get_thread_num(), threads = omp_get_num_threads();
      copy_stream(slabs, m, outer, dst, block, total * t / threads, total * (t + 1) / threads);
    }
  }
  if (slabs != stack) free(slabs);
  return rc;
}

/* ---- flip ---- */

#define DEFINE_FLIP(T)                                                                                 \
  static void flip_##T(char **data, const int64_t *strides, int64_t n, void *ctx) {                    \
    (void)ctx;                                                                                         \
    if (strides[0] == sizeof(T) && strides[1] == -(int64_t)sizeof(T)) {                                \
      T *restrict o = (T *)data[0];                                                                    \
      const T *restrict s = (const T *)data[1];                                                        \
      for (int64_t i = 0; i < n; i++) o[i] = s[-i];                                                    \
    } else if (strides[0] == sizeof(T) && strides[1] == sizeof(T)) {                                   \
      memcpy(data[0], data[1], (size_t)n * sizeof(T));                                                 \
    } else {                                                                                           \
      for (int64_t i = 0; i < n; i++) *(T *)(data[0] + i * strides[0]) = *(const T *)(data[1] + i * strides[1]); \
    }                                                                                                  \
  }
DEFINE_FLIP(uint8_t)
DEFINE_FLIP(uint16_t)
DEFINE_FLIP(uint32_t)
DEFINE_FLIP(uint64_t)

int tn_cpu_flip(tn_tensor *out, const tn_tensor *x, uint32_t dims) {
  /* x read backwards along the flipped dims: negative strides from the last element of each */
  tn_tensor reversed = *x;
  for (int d = 0; d < x->ndim; d++)
    if (dims & (1u << d)) {
      reversed.offset += (x->sizes[d] - 1) * x->strides[d];
      reversed.strides[d] = -x->strides[d];
    }
  const tn_tensor *ops[2] = {out, &reversed};
  tn_iter it;
  tn_iter_init(&it, out->ndim, out->sizes, 2, ops);
  tn_loop_fn fn;
  switch (tn_dtype_size(x->dtype)) {
    case 1: fn = flip_uint8_t; break;
    case 2: fn = flip_uint16_t; break;
    case 4: fn = flip_uint32_t; break;
    default: fn = flip_uint64_t; break;
  }
  tn_iter_run(&it, fn, NULL, TN_GRAIN);
  return 0;
}

/* ---- tril and triu ---- */

/* Copies n elements of size es (strides in bytes); in place when dst == src. */
static void copy_run(char *dst, int64_t ds, const char *src, int64_t ss, int64_t n, int64_t es) {
  if (dst == src && ds == ss) return;
  if (ds == es && ss == es) {
    memcpy(dst, src, (size_t)(n * es));
    return;
  }
  for (int64_t i = 0; i < n; i++) memcpy(dst + i * ds, src + i * ss, (size_t)es);
}

static void zero_run(char *dst, int64_t ds, int64_t n, int64_t es) {
  if (ds == es) {
    memset(dst, 0, (size_t)(n * es));
    return;
  }
  for (int64_t i = 0; i < n; i++) memset(dst + i * ds, 0, (size_t)es);
}

/* Byte offset of matrix b (row-major over the leading dims) in t. */
static int64_t matrix_offset(const tn_tensor *t, int64_t b, int64_t es) {
  int64_t offset = 0;
  for (int d = t->ndim - 3; d >= 0; d--) {
    offset += (b % t->sizes[d]) * t->strides[d];
    b /= t->sizes[d];
  }
  return offset * es;
}

int tn_cpu_triangle(tn_tensor *out, const tn_tensor *x, int64_t k, int upper) {
  int nd = x->ndim;
  int64_t rows = x->sizes[nd - 2], cols = x->sizes[nd - 1], es = tn_dtype_size(x->dtype);
  int64_t total = x->numel / cols; /* rows over all matrices */
  int64_t xr = x->strides[nd - 2] * es, xc = x->strides[nd - 1] * es;
  int64_t orr = out->strides[nd - 2] * es, oc = out->strides[nd - 1] * es;
  char *ob = tn_data_ptr(out);
  const char *xb = tn_data_ptr(x);
  int nt = tn_parallel_threads(x->numel, TN_GRAIN);
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(static)
  for (int64_t r = 0; r < total; r++) {
    int64_t b = r / rows, i = r % rows;
    const char *src = xb + matrix_offset(x, b, es) + i * xr;
    char *dst = ob + matrix_offset(out, b, es) + i * orr;
    /* tril keeps columns j <= i + k; triu keeps j >= i + k */
    int64_t edge = upper ? i + k : i + k + 1;
    edge = edge < 0 ? 0 : edge > cols ? cols : edge;
    if (upper) {
      zero_run(dst, oc, edge, es);
      copy_run(dst + edge * oc, oc, src + edge * xc, xc, cols - edge, es);
    } else {
      copy_run(dst, oc, src, xc, edge, es);
      zero_run(dst + edge * oc, oc, cols - edge, es);
    }
  }
  return 0;
}
