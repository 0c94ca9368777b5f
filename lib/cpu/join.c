/* join.c: CPU kernels of cat, flip and tril/triu. All move elements by size. */
#include "cpu.h"

#include <omp.h>
#include <stdlib.h>

/* ---- cat ---- */

/* Inputs that are contiguous and of out's dtype (out contiguous too) are runs of bytes: each contributes one
 * slab per index of the dims before `dim`. Taken in destination order (outer index, then input), those slabs
 * form one stream of bytes that threads split evenly; writes then move forward through out. The other inputs
 * are copied into their part of out by the copy kernel. */
typedef struct slab_input {
  const char *src;
  int64_t slab;   /* bytes per outer index */
  int64_t offset; /* byte offset of its part within each outer block of out */
  int64_t prefix; /* bytes of the stream before it within each outer step */
} slab_input;

/* memcpy for the short slabs of a cat along an inner dim: constant-size chunks the compiler inlines as
 * vector moves, rather than a library call per slab (GCC would turn the loops back into that call). */
__attribute__((optimize("no-tree-loop-distribute-patterns")))
static inline void copy_bytes(char *restrict dst, const char *restrict src, int64_t len) {
  if (len > 1024) {
    memcpy(dst, src, (size_t)len);
    return;
  }
  for (; len >= 64; len -= 64, dst += 64, src += 64) memcpy(dst, src, 64);
  for (; len >= 8; len -= 8, dst += 8, src += 8) memcpy(dst, src, 8);
  for (; len > 0; len--) *dst++ = *src++;
}

/* Copies bytes [begin, end) of the stream; row is the stream's bytes per outer step, block out's. */
static void copy_stream(const slab_input *in, int m, char *dst, int64_t block, int64_t row, int64_t begin,
                        int64_t end) {
  if (begin >= end) return;
  int64_t o = begin / row, within = begin % row;
  int i = 0;
  while (in[i].prefix + in[i].slab <= within) i++;
  for (int64_t at = begin; at < end;) {
    const slab_input *s = &in[i];
    int64_t off = within - s->prefix, len = s->slab - off < end - at ? s->slab - off : end - at;
    copy_bytes(dst + o * block + s->offset + off, s->src + o * s->slab + off, len);
    at += len;
    within += len;
    if (++i == m) {
      i = 0;
      o++;
      within = 0;
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
  int64_t row = 0, position = 0;
  int rc = 0;
  for (int i = 0; i < n && rc == 0; i++) {
    const tn_tensor *t = inputs[i];
    int64_t length = t->sizes[dim];
    if (t->numel > 0) {
      if (fast_out && t->dtype == out->dtype && tn_is_contiguous(t)) {
        slabs[m] = (slab_input){tn_data_ptr(t), length * inner * es, position * inner * es, row};
        row += slabs[m].slab;
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
  int64_t total = row * outer;
  if (rc == 0 && total > 0) {
    char *dst = tn_data_ptr(out);
    int64_t block = out->sizes[dim] * inner * es;
    int nt = tn_parallel_threads(total, 1 << 18);
    if (nt <= 1) {
      copy_stream(slabs, m, dst, block, row, 0, total);
    } else {
#pragma omp parallel num_threads(nt)
      {
        int t = omp_get_thread_num(), threads = omp_get_num_threads();
        copy_stream(slabs, m, dst, block, row, total * t / threads, total * (t + 1) / threads);
      }
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

/* Rows [begin, end) over all matrices of a triangle op. */
typedef struct triangle_job {
  const tn_tensor *x;
  tn_tensor *out;
  int64_t k, rows, cols, es;
  int upper;
} triangle_job;

static void triangle_rows(const triangle_job *j, int64_t begin, int64_t end) {
  int nd = j->x->ndim;
  int64_t es = j->es, cols = j->cols;
  int64_t xr = j->x->strides[nd - 2] * es, xc = j->x->strides[nd - 1] * es;
  int64_t orr = j->out->strides[nd - 2] * es, oc = j->out->strides[nd - 1] * es;
  char *ob = tn_data_ptr(j->out);
  const char *xb = tn_data_ptr(j->x);
  for (int64_t r = begin; r < end; r++) {
    int64_t b = r / j->rows, i = r % j->rows;
    const char *src = xb + matrix_offset(j->x, b, es) + i * xr;
    char *dst = ob + matrix_offset(j->out, b, es) + i * orr;
    /* tril keeps columns c <= i + k; triu keeps c >= i + k */
    int64_t edge = j->upper ? i + j->k : i + j->k + 1;
    edge = edge < 0 ? 0 : edge > cols ? cols : edge;
    if (j->upper) {
      zero_run(dst, oc, edge, es);
      copy_run(dst + edge * oc, oc, src + edge * xc, xc, cols - edge, es);
    } else {
      copy_run(dst, oc, src, xc, edge, es);
      zero_run(dst + edge * oc, oc, cols - edge, es);
    }
  }
}

int tn_cpu_triangle(tn_tensor *out, const tn_tensor *x, int64_t k, int upper) {
  int nd = x->ndim;
  triangle_job j = {x, out, k, x->sizes[nd - 2], x->sizes[nd - 1], tn_dtype_size(x->dtype), upper};
  int64_t total = x->numel / j.cols; /* rows over all matrices */
  int nt = tn_parallel_threads(x->numel, TN_GRAIN);
  if (nt <= 1) {
    triangle_rows(&j, 0, total);
    return 0;
  }
#pragma omp parallel num_threads(nt)
  {
    int t = omp_get_thread_num(), threads = omp_get_num_threads();
    triangle_rows(&j, total * t / threads, total * (t + 1) / threads);
  }
  return 0;
}
