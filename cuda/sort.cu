/* sort.cu: sort, topk, kthvalue, searchsorted and unique on CUDA.
 *
 * Every element maps to the unsigned key of lib/cpu/sort.c (floats by their bits with the negative half
 * mirrored, NaN above +inf, -0.0 equal to 0.0; integers with the sign bit flipped; descending order
 * complements the key within its bytes). Ordering ops sort all rows at once with two stable cub radix sorts:
 * (key -> element) over the key's bits, then (row -> element) over the row number's bits, which leaves each
 * row's elements in (key, position) order: exactly the CPU's stable order, ties included. topk and kthvalue
 * take their part of the sorted rows. searchsorted is a binary search per value with PyTorch's comparisons.
 * unique runs the CPU kernel on a host copy (its output size needs the host anyway) and moves the results
 * back to the device. */
#include "ops.cuh"

#include <cub/device/device_radix_sort.cuh>

namespace {

__device__ __forceinline__ uint64_t key_of(const char *p, int64_t o, int dtype) {
  switch (dtype) {
  case TN_FLOAT32: {
    float v = ((const float *)p)[o];
    uint32_t u = __float_as_uint(v);
    if (v != v) return 0xffffffffu;
    if (u == 0x80000000u) u = 0;
    return u >> 31 ? (uint32_t)~u : (u | 0x80000000u);
  }
  case TN_FLOAT64: {
    double v = ((const double *)p)[o];
    uint64_t u = (uint64_t)__double_as_longlong(v);
    if (v != v) return ~(uint64_t)0;
    if (u == 0x8000000000000000ull) u = 0;
    return u >> 63 ? ~u : (u | 0x8000000000000000ull);
  }
  case TN_FLOAT16:
  case TN_BFLOAT16: {
    uint16_t h = ((const uint16_t *)p)[o], inf = dtype == TN_FLOAT16 ? 0x7c00u : 0x7f80u;
    if ((h & 0x7fffu) > inf) return 0xffffu;
    if (h == 0x8000u) h = 0;
    return h >> 15 ? (uint16_t)~h : (uint16_t)(h | 0x8000u);
  }
  case TN_INT64: return (uint64_t)((const int64_t *)p)[o] ^ 0x8000000000000000ull;
  case TN_INT32: return (uint32_t)((const int32_t *)p)[o] ^ 0x80000000u;
  case TN_INT16: return (uint16_t)((const int16_t *)p)[o] ^ 0x8000u;
  case TN_INT8: return (uint8_t)((const int8_t *)p)[o] ^ 0x80u;
  case TN_UINT8: return ((const uint8_t *)p)[o];
  default: return ((const uint8_t *)p)[o] != 0;
  }
}

int bits_for(uint64_t n) {
  int b = 1;
  while (b < 64 && (n >> b) != 0) b++;
  return b;
}

/* keys[i] = key(x[row r, position p]) ^ flip and items[i] = i, for i = r * n + p */
__global__ void keys_kernel(uint64_t *keys, int64_t *items, tv lines, const char *x, int dtype, int64_t n,
                            int64_t step, uint64_t flip) {
  TNC_GRID_LOOP(i, lines.numel * n) {
    int64_t r = i / n, p = i % n;
    keys[i] = key_of(x, tv_offset(lines, r) + p * step, dtype) ^ flip;
    items[i] = i;
  }
}

__global__ void rows_kernel(uint64_t *keys, const int64_t *items, int64_t total, int64_t n) {
  TNC_GRID_LOOP(i, total) keys[i] = (uint64_t)(items[i] / n);
}

/* out (r, j) for j < kout: the element of rank `first + j` of row r (values may be NULL) */
__global__ void write_kernel(tv vlines, int64_t vstep, tv ilines, int64_t istep, tv xlines, int64_t xstep,
                             const int64_t *order, int64_t n, int64_t first, int64_t kout, int64_t base, int es) {
  TNC_GRID_LOOP(i, xlines.numel * kout) {
    int64_t r = i / kout, j = i % kout;
    int64_t p = order[r * n + first + j] % n;
    ((int64_t *)ilines.data)[tv_offset(ilines, r) + j * istep] = p + base;
    if (vlines.data) {
      int64_t d = tv_offset(vlines, r) + j * vstep, s = tv_offset(xlines, r) + p * xstep;
      switch (es) {
      case 8: ((uint64_t *)vlines.data)[d] = ((const uint64_t *)xlines.data)[s]; break;
      case 4: ((uint32_t *)vlines.data)[d] = ((const uint32_t *)xlines.data)[s]; break;
      case 2: ((uint16_t *)vlines.data)[d] = ((const uint16_t *)xlines.data)[s]; break;
      default: ((uint8_t *)vlines.data)[d] = ((const uint8_t *)xlines.data)[s]; break;
      }
    }
  }
}

/* t with size 1 along dim: the view of its rows */
tv lines_of(const tn_tensor *t, int dim) {
  tn_tensor l = *t;
  if (t->ndim > 0) {
    l.sizes[dim] = 1;
    l.numel = t->sizes[dim] ? t->numel / t->sizes[dim] : 0;
  }
  return tv_of(&l);
}

struct SortBuffers {
  int device;
  void *p = NULL, *temp = NULL;
  int64_t bytes = 0, temp_bytes = 0;
  ~SortBuffers() {
    tnc_scratch_free(device, p, bytes);
    tnc_scratch_free(device, temp, temp_bytes);
  }
};

/* sorts the rows of x along dim; writes ranks first .. first+kout-1 of each row to values/indices */
int order_rows(const char *fn, tn_tensor *values, tn_tensor *indices, const tn_tensor *x, int dim, bool flip,
               int64_t first, int64_t kout, int64_t base) {
  if (x->numel == 0 || kout == 0) return 0;
  cudaStream_t s = tnc_stream(fn, x);
  if (!s) return -1;
  int nd = x->ndim;
  int64_t n = nd ? x->sizes[dim] : 1, rows = x->numel / n, total = x->numel;
  int64_t es = tn_dtype_size(x->dtype), step = nd ? x->strides[dim] : 0;
  int key_bits = (int)(8 * es);
  uint64_t flipmask = !flip ? 0 : key_bits == 64 ? ~(uint64_t)0 : (((uint64_t)1 << key_bits) - 1);
  SortBuffers b{tnc_device(x)};
  b.bytes = 4 * total * 8;
  if (!(b.p = tnc_scratch(b.device, b.bytes))) return -1;
  uint64_t *k1 = (uint64_t *)b.p, *k2 = k1 + total;
  int64_t *v1 = (int64_t *)(k2 + total), *v2 = v1 + total;
  tv xl = lines_of(x, dim);
  keys_kernel<<<tnc_blocks(total), TNC_THREADS, 0, s>>>(k1, v1, xl, xl.data, x->dtype, n, step, flipmask);
  if (tnc_check(fn)) return -1;
  size_t t1 = 0, t2 = 0;
  int row_bits = bits_for((uint64_t)rows);
  if (tn_cuda_check(fn, cub::DeviceRadixSort::SortPairs(NULL, t1, k1, k2, v1, v2, total, 0, key_bits, s)) ||
      tn_cuda_check(fn, cub::DeviceRadixSort::SortPairs(NULL, t2, k1, k2, v2, v1, total, 0, row_bits, s)))
    return -1;
  b.temp_bytes = (int64_t)(t1 > t2 ? t1 : t2);
  if (!(b.temp = tnc_scratch(b.device, b.temp_bytes))) return -1;
  size_t tb = (size_t)b.temp_bytes;
  if (tn_cuda_check(fn, cub::DeviceRadixSort::SortPairs(b.temp, tb, k1, k2, v1, v2, total, 0, key_bits, s)))
    return -1;
  const int64_t *order = v2;
  if (rows > 1) {
    rows_kernel<<<tnc_blocks(total), TNC_THREADS, 0, s>>>(k1, v2, total, n);
    if (tnc_check(fn)) return -1;
    tb = (size_t)b.temp_bytes;
    if (tn_cuda_check(fn, cub::DeviceRadixSort::SortPairs(b.temp, tb, k1, k2, v2, v1, total, 0, row_bits, s)))
      return -1;
    order = v1;
  }
  tv vl = values ? lines_of(values, dim) : tv_of(NULL), il = lines_of(indices, dim);
  int64_t vstep = values && nd ? values->strides[dim] : 0, istep = nd ? indices->strides[dim] : 0;
  write_kernel<<<tnc_blocks(rows * kout), TNC_THREADS, 0, s>>>(vl, vstep, il, istep, xl, step, order, n, first, kout,
                                                               base, (int)es);
  return tnc_check(fn);
}

int cuda_sort(tn_tensor *values, tn_tensor *indices, const tn_tensor *x, int dim, int descending, int64_t base) {
  int64_t n = x->ndim ? x->sizes[dim] : 1;
  return order_rows("sort", values, indices, x, dim, descending != 0, 0, n, base);
}

int cuda_topk(tn_tensor *values, tn_tensor *indices, const tn_tensor *x, int64_t k, int dim, int largest,
              int64_t base) {
  return order_rows("topk", values, indices, x, dim, largest != 0, 0, k, base);
}

int cuda_kthvalue(tn_tensor *values, tn_tensor *indices, const tn_tensor *x, int64_t k, int dim, int64_t base) {
  return order_rows("kthvalue", values, indices, x, dim, false, k - 1, 1, base);
}

/* ---- searchsorted: the number of leading elements that v goes after: !(m >= v) (left), !(m > v) (right) ---- */

template <class C>
__global__ void search_kernel(tv out, tv values, tv seq, int64_t length, int64_t stride, int right, int64_t base) {
  TNC_GRID_LOOP(i, out.numel) {
    C v = ld<C>(values.data, tv_offset(values, i), values.dtype);
    int64_t s0 = tv_offset(seq, i), lo = 0, len = length;
    while (len > 0) {
      int64_t half = len >> 1;
      C m = ld<C>(seq.data, s0 + (lo + half) * stride, seq.dtype);
      bool after = right ? !(m > v) : !(m >= v);
      if (after) lo += half + 1, len = len - half - 1;
      else len = half;
    }
    st<int64_t>(out.data, tv_offset(out, i), out.dtype, lo + base);
  }
}

int cuda_searchsorted(tn_tensor *out, const tn_tensor *sorted_view, int64_t length, int64_t stride,
                      const tn_tensor *values, int right, int64_t base) {
  if (out->numel == 0) return 0;
  cudaStream_t s = tnc_stream("searchsorted", out);
  if (!s) return -1;
  unsigned blocks = tnc_blocks(out->numel);
  tv o = tv_of(out), v = tv_of(values), q = tv_of(sorted_view);
  switch (tnc_class(values->dtype)) {
  case 0: search_kernel<float><<<blocks, TNC_THREADS, 0, s>>>(o, v, q, length, stride, right, base); break;
  case 1: search_kernel<double><<<blocks, TNC_THREADS, 0, s>>>(o, v, q, length, stride, right, base); break;
  default: search_kernel<int64_t><<<blocks, TNC_THREADS, 0, s>>>(o, v, q, length, stride, right, base); break;
  }
  return tnc_check("searchsorted");
}

/* ---- unique: the CPU kernel on a host copy ---- */

int cuda_unique(const char *fn, const tn_tensor *x, int dim, int consecutive, int64_t base, tn_tensor **values,
                tn_tensor **inverse, tn_tensor **counts) {
  tn_backend *cpu = tn_backends[TN_CPU];
  if (!cpu || !cpu->unique) return tn_error("%s: the CPU backend is not available", fn);
  int device = tnc_device(x);
  tn_tensor *hx = tn_to(x, x->dtype, TN_CPU, 0);
  if (!hx) return -1;
  tn_tensor *hv = NULL, *hi = NULL, *hc = NULL;
  int rc = cpu->unique(fn, hx, dim, consecutive, base, &hv, inverse ? &hi : NULL, counts ? &hc : NULL);
  tn_tensor_free(hx);
  tn_tensor *dv = NULL, *di = NULL, *dc = NULL;
  if (rc == 0) {
    dv = tn_to(hv, hv->dtype, TN_CUDA, device);
    di = hi ? tn_to(hi, hi->dtype, TN_CUDA, device) : NULL;
    dc = hc ? tn_to(hc, hc->dtype, TN_CUDA, device) : NULL;
    if (!dv || (hi && !di) || (hc && !dc)) rc = -1;
  }
  if (hv) tn_tensor_free(hv);
  if (hi) tn_tensor_free(hi);
  if (hc) tn_tensor_free(hc);
  if (rc) {
    if (dv) tn_tensor_free(dv);
    if (di) tn_tensor_free(di);
    if (dc) tn_tensor_free(dc);
    return -1;
  }
  *values = dv;
  if (inverse) *inverse = di;
  if (counts) *counts = dc;
  return 0;
}

} // namespace

extern "C" void tn_cuda_register_sort(tn_backend *b) {
  b->sort = cuda_sort;
  b->topk = cuda_topk;
  b->kthvalue = cuda_kthvalue;
  b->unique = cuda_unique;
  b->searchsorted = cuda_searchsorted;
}
