/* index.cu: the CUDA indexing kernels: gather, scatter (with its reductions), masked_fill, count_nonzero,
 * masked_select, masked_scatter and nonzero (lib/cpu/index.c is the reference).
 *
 * Index checks: gather and scatter check every index on the device; the first bad value found goes to a
 * device flag that is read back when the kernel is done. That read is the one synchronisation of gather and
 * scatter (the CPU's contract is to raise at once), as count_nonzero's result read is (the mask ops size their
 * output from it). A bad index stops scatter from writing that element, but other threads may still write
 * theirs (the CPU stops at the first one in its order; in both, what was written stays written).
 *
 * Scatter: a thread per line of the scatter dim applies the line's elements in index order, which keeps the
 * CPU's (and PyTorch's) order semantics (the last duplicate wins for SET) without atomics and deterministically.
 * Additions into few lines (index_add_ along a dim with few others, put_ with accumulate) run a thread per
 * element with atomicAdd instead, for float32/float64/int32/int64.
 *
 * The mask ops that produce ordered output (masked_select, masked_scatter, nonzero) write a 0/1 flag per
 * element, take its exclusive prefix sum with cub, and scatter each selected element to its position. */
#include "ops.cuh"

#include <cub/device/device_scan.cuh>

namespace {

/* ---- index checks ---- */

struct BadFlag {
  int failed;
  int pad;
  int64_t value;
};

__device__ __forceinline__ void report_bad(BadFlag *f, int64_t v) {
  if (atomicCAS(&f->failed, 0, 1) == 0) f->value = v;
}

__device__ __forceinline__ int64_t position_of(const tn_index_spec &s, int64_t v) {
  return (int64_t)(v < 0 && s.negative ? (uint64_t)v + (uint64_t)s.size : (uint64_t)v - (uint64_t)s.base);
}

/* a zeroed flag in scratch */
BadFlag *new_flag(const char *fn, int device, cudaStream_t s) {
  BadFlag *f = (BadFlag *)tnc_scratch(device, sizeof(BadFlag));
  if (f && tn_cuda_check(fn, cudaMemsetAsync(f, 0, sizeof(BadFlag), s))) {
    tnc_scratch_free(device, f, sizeof(BadFlag));
    return NULL;
  }
  return f;
}

/* reads the flag back (one synchronisation), frees it, and raises the index error it holds */
int finish_flag(const char *fn, int device, BadFlag *f, const tn_index_spec *spec, int rc) {
  BadFlag h = {0, 0, 0};
  if (rc == 0) rc = tn_cuda_read(fn, device, &h, f, sizeof h);
  tnc_scratch_free(device, f, sizeof(BadFlag));
  if (rc == 0 && h.failed) return tn_index_error(spec, h.value);
  return rc;
}

__device__ __forceinline__ void copy_elem(char *dst, int64_t d, const char *src, int64_t s, int es) {
  switch (es) {
  case 8: ((uint64_t *)dst)[d] = ((const uint64_t *)src)[s]; break;
  case 4: ((uint32_t *)dst)[d] = ((const uint32_t *)src)[s]; break;
  case 2: ((uint16_t *)dst)[d] = ((const uint16_t *)src)[s]; break;
  default: ((uint8_t *)dst)[d] = ((const uint8_t *)src)[s]; break;
  }
}

/* ---- gather ---- */

__global__ void gather_kernel(tv out, tv src, tv index, tn_index_spec spec, int es, BadFlag *bad) {
  TNC_GRID_LOOP(i, out.numel) {
    int64_t v = ((const int64_t *)index.data)[tv_offset(index, i)], p = position_of(spec, v);
    if ((uint64_t)p >= (uint64_t)spec.size) {
      report_bad(bad, v);
      continue;
    }
    copy_elem(out.data, tv_offset(out, i), src.data, tv_offset(src, i) + p * spec.stride, es);
  }
}

int cuda_gather(tn_tensor *out, const tn_tensor *src, const tn_tensor *index, const tn_index_spec *spec) {
  const char *fn = spec->fn ? spec->fn : "gather";
  if (out->numel == 0) return 0;
  cudaStream_t s = tnc_stream(fn, out);
  if (!s) return -1;
  int device = tnc_device(out);
  BadFlag *f = new_flag(fn, device, s);
  if (!f) return -1;
  gather_kernel<<<tnc_blocks(out->numel), TNC_THREADS, 0, s>>>(tv_of(out), tv_of(src), tv_of(index), *spec,
                                                               (int)tn_dtype_size(out->dtype), f);
  return finish_flag(fn, device, f, spec, tnc_check(fn));
}

/* ---- scatter ---- */

template <class C>
__device__ __forceinline__ C scatter_apply(int reduce, C a, C b, C alpha) {
  switch (reduce) {
  case TN_SCATTER_ADD:
    if constexpr ((C)0.5 != 0) return a + alpha * b;
    else return (C)((uint64_t)a + (uint64_t)alpha * (uint64_t)b);
  case TN_SCATTER_MUL:
    if constexpr ((C)0.5 != 0) return a * b;
    else return (C)((uint64_t)a * (uint64_t)b);
  case TN_SCATTER_AMAX:
    if constexpr ((C)0.5 != 0)
      if (a != a || b != b) return a + b;
    return b > a ? b : a;
  default:
    if constexpr ((C)0.5 != 0)
      if (a != a || b != b) return a + b;
    return b < a ? b : a;
  }
}

struct ScatterArgs {
  tv dst, index, src; /* views with the serial dim removed (size 1), over the lines */
  int64_t length;     /* elements along the serial dim */
  int64_t istep, sstep;
  int reduce, es;
  double alpha;
};

/* a thread per line, the line's elements in index order */
template <class C>
__global__ void scatter_lines(ScatterArgs a, tn_index_spec spec, BadFlag *bad) {
  TNC_GRID_LOOP(l, a.index.numel) {
    int64_t d0 = tv_offset(a.dst, l), i0 = tv_offset(a.index, l), s0 = tv_offset(a.src, l);
    for (int64_t k = 0; k < a.length; k++) {
      int64_t v = ((const int64_t *)a.index.data)[i0 + k * a.istep], p = position_of(spec, v);
      if ((uint64_t)p >= (uint64_t)spec.size) {
        report_bad(bad, v);
        break;
      }
      int64_t d = d0 + p * spec.stride, s = s0 + k * a.sstep;
      if (a.reduce == TN_SCATTER_SET) {
        copy_elem(a.dst.data, d, a.src.data, s, a.es);
      } else {
        C x = ld<C>(a.dst.data, d, a.dst.dtype), y = ld<C>(a.src.data, s, a.src.dtype);
        st<C>(a.dst.data, d, a.dst.dtype, scatter_apply<C>(a.reduce, x, y, (C)a.alpha));
      }
    }
  }
}

/* additions a thread per element, with atomics (float32, float64, int32, int64) */
__global__ void scatter_add_atomic(tv dst, tv index, tv src, tn_index_spec spec, double alpha, BadFlag *bad) {
  TNC_GRID_LOOP(i, index.numel) {
    int64_t v = ((const int64_t *)index.data)[tv_offset(index, i)], p = position_of(spec, v);
    if ((uint64_t)p >= (uint64_t)spec.size) {
      report_bad(bad, v);
      continue;
    }
    int64_t d = tv_offset(dst, i) + p * spec.stride, s = tv_offset(src, i);
    switch (dst.dtype) {
    case TN_FLOAT32: atomicAdd((float *)dst.data + d, (float)alpha * ((const float *)src.data)[s]); break;
    case TN_FLOAT64: atomicAdd((double *)dst.data + d, alpha * ((const double *)src.data)[s]); break;
    case TN_INT32:
      atomicAdd((int *)dst.data + d, (int)((int64_t)alpha * ((const int32_t *)src.data)[s]));
      break;
    default:
      atomicAdd((unsigned long long *)dst.data + d,
                (unsigned long long)((uint64_t)(int64_t)alpha * (uint64_t)((const int64_t *)src.data)[s]));
      break;
    }
  }
}

int cuda_scatter(tn_tensor *dst, const tn_tensor *index, const tn_tensor *src, const tn_index_spec *spec, int reduce,
                 double alpha) {
  const char *fn = spec->fn ? spec->fn : "scatter";
  if (index->numel == 0) return 0;
  cudaStream_t s = tnc_stream(fn, dst);
  if (!s) return -1;
  int device = tnc_device(dst);
  BadFlag *f = new_flag(fn, device, s);
  if (!f) return -1;
  int sd = spec->dim < 0 ? 0 : spec->dim;
  int64_t length = index->sizes[sd], lines = index->numel / length;
  int dt = dst->dtype;
  bool atomic_ok = dt == TN_FLOAT32 || dt == TN_FLOAT64 || dt == TN_INT32 || dt == TN_INT64;
  if (reduce == TN_SCATTER_ADD && atomic_ok && lines < 4096 && length > 1) {
    scatter_add_atomic<<<tnc_blocks(index->numel), TNC_THREADS, 0, s>>>(tv_of(dst), tv_of(index), tv_of(src), *spec,
                                                                        alpha, f);
  } else {
    tn_tensor d = *dst, i = *index, sr = *src;
    d.sizes[sd] = i.sizes[sd] = sr.sizes[sd] = 1;
    d.numel = i.numel = sr.numel = lines;
    ScatterArgs a;
    a.dst = tv_of(&d), a.index = tv_of(&i), a.src = tv_of(&sr);
    a.length = length, a.istep = index->strides[sd], a.sstep = src->strides[sd];
    a.reduce = reduce, a.es = (int)tn_dtype_size(dt), a.alpha = alpha;
    unsigned blocks = tnc_blocks(lines);
    switch (tnc_class(dt)) {
    case 0: scatter_lines<float><<<blocks, TNC_THREADS, 0, s>>>(a, *spec, f); break;
    case 1: scatter_lines<double><<<blocks, TNC_THREADS, 0, s>>>(a, *spec, f); break;
    default: scatter_lines<int64_t><<<blocks, TNC_THREADS, 0, s>>>(a, *spec, f); break;
    }
  }
  return finish_flag(fn, device, f, spec, tnc_check(fn));
}

/* ---- masks ---- */

__global__ void masked_fill_kernel(tv x, tv mask, double value) {
  TNC_GRID_LOOP(i, x.numel) {
    if (ld<int64_t>(mask.data, tv_offset(mask, i), mask.dtype)) st<double>(x.data, tv_offset(x, i), x.dtype, value);
  }
}

int cuda_masked_fill(tn_tensor *x, const tn_tensor *mask, double value) {
  if (x->numel == 0) return 0;
  cudaStream_t s = tnc_stream("masked_fill", x);
  if (!s) return -1;
  masked_fill_kernel<<<tnc_blocks(x->numel), TNC_THREADS, 0, s>>>(tv_of(x), tv_of(mask), value);
  return tnc_check("masked_fill");
}

/* nonzero test of element i (NaN counts) */
__device__ __forceinline__ bool nonzero_at(const tv &x, int64_t i) {
  int64_t o = tv_offset(x, i);
  switch (tnc_class(x.dtype)) {
  case 0: return ld<float>(x.data, o, x.dtype) != 0.0f;
  case 1: return ld<double>(x.data, o, x.dtype) != 0.0;
  default: return ld<int64_t>(x.data, o, x.dtype) != 0;
  }
}

__global__ void count_kernel(tv x, unsigned long long *count) {
  __shared__ int64_t sh[33];
  int64_t c = 0;
  TNC_GRID_LOOP(i, x.numel) c += nonzero_at(x, i);
  c = block_sum(c, sh);
  if (threadIdx.x == 0 && c) atomicAdd(count, (unsigned long long)c);
}

int64_t cuda_count_nonzero(const tn_tensor *x) {
  const char *fn = "count_nonzero";
  if (x->numel == 0) return 0;
  cudaStream_t s = tnc_stream(fn, x);
  if (!s) return -1;
  int device = tnc_device(x);
  unsigned long long *c = (unsigned long long *)tnc_scratch(device, 8);
  if (!c) return -1;
  int rc = tn_cuda_check(fn, cudaMemsetAsync(c, 0, 8, s));
  if (rc == 0) {
    count_kernel<<<tnc_blocks(x->numel), TNC_THREADS, 0, s>>>(tv_of(x), c);
    rc = tnc_check(fn);
  }
  unsigned long long h = 0;
  if (rc == 0) rc = tn_cuda_read(fn, device, &h, c, 8);
  tnc_scratch_free(device, c, 8);
  return rc ? -1 : (int64_t)h;
}

__global__ void flag_kernel(int64_t *flags, tv x) {
  TNC_GRID_LOOP(i, x.numel) flags[i] = nonzero_at(x, i);
}

/* the positions of the selected elements: pos = exclusive prefix sum of the flags of x's elements */
struct Positions {
  int device;
  int64_t n;
  int64_t *flags = NULL, *pos = NULL;
  void *temp = NULL;
  size_t temp_bytes = 0;
  ~Positions() {
    tnc_scratch_free(device, flags, 2 * n * 8);
    tnc_scratch_free(device, temp, (int64_t)temp_bytes);
  }
  int run(const char *fn, cudaStream_t s, const tn_tensor *x) {
    if (!(flags = (int64_t *)tnc_scratch(device, 2 * n * 8))) return -1;
    pos = flags + n;
    flag_kernel<<<tnc_blocks(n), TNC_THREADS, 0, s>>>(flags, tv_of(x));
    if (tnc_check(fn)) return -1;
    if (tn_cuda_check(fn, cub::DeviceScan::ExclusiveSum(NULL, temp_bytes, flags, pos, n, s))) return -1;
    if (!(temp = tnc_scratch(device, (int64_t)temp_bytes))) return -1;
    return tn_cuda_check(fn, cub::DeviceScan::ExclusiveSum(temp, temp_bytes, flags, pos, n, s));
  }
};

__global__ void masked_select_kernel(tv out, tv x, const int64_t *flags, const int64_t *pos, int es) {
  TNC_GRID_LOOP(i, x.numel) {
    if (flags[i]) copy_elem(out.data, pos[i] * out.strides[0], x.data, tv_offset(x, i), es);
  }
}

__global__ void masked_scatter_kernel(tv x, tv src, const int64_t *flags, const int64_t *pos, int es) {
  TNC_GRID_LOOP(i, x.numel) {
    if (flags[i]) copy_elem(x.data, tv_offset(x, i), src.data, pos[i] * src.strides[0], es);
  }
}

__global__ void nonzero_kernel(tv out, tv x, const int64_t *flags, const int64_t *pos, int64_t base) {
  TNC_GRID_LOOP(i, x.numel) {
    if (!flags[i]) continue;
    int64_t r = pos[i] * out.strides[0], k = i;
    for (int d = x.ndim - 1; d >= 0; d--) {
      ((int64_t *)out.data)[r + d * out.strides[1]] = k % x.sizes[d] + base;
      k /= x.sizes[d];
    }
  }
}

int cuda_masked_select(tn_tensor *out, const tn_tensor *x, const tn_tensor *mask) {
  const char *fn = "masked_select";
  if (x->numel == 0 || out->numel == 0) return 0;
  cudaStream_t s = tnc_stream(fn, x);
  if (!s) return -1;
  Positions p{tnc_device(x), x->numel};
  if (p.run(fn, s, mask)) return -1;
  masked_select_kernel<<<tnc_blocks(x->numel), TNC_THREADS, 0, s>>>(tv_of(out), tv_of(x), p.flags, p.pos,
                                                                    (int)tn_dtype_size(x->dtype));
  return tnc_check(fn);
}

int cuda_masked_scatter(tn_tensor *x, const tn_tensor *mask, const tn_tensor *src) {
  const char *fn = "masked_scatter";
  if (x->numel == 0) return 0;
  cudaStream_t s = tnc_stream(fn, x);
  if (!s) return -1;
  Positions p{tnc_device(x), x->numel};
  if (p.run(fn, s, mask)) return -1;
  masked_scatter_kernel<<<tnc_blocks(x->numel), TNC_THREADS, 0, s>>>(tv_of(x), tv_of(src), p.flags, p.pos,
                                                                     (int)tn_dtype_size(x->dtype));
  return tnc_check(fn);
}

int cuda_nonzero(tn_tensor *out, const tn_tensor *x, int64_t base) {
  const char *fn = "nonzero";
  if (x->numel == 0 || out->numel == 0) return 0;
  cudaStream_t s = tnc_stream(fn, x);
  if (!s) return -1;
  Positions p{tnc_device(x), x->numel};
  if (p.run(fn, s, x)) return -1;
  nonzero_kernel<<<tnc_blocks(x->numel), TNC_THREADS, 0, s>>>(tv_of(out), tv_of(x), p.flags, p.pos, base);
  return tnc_check(fn);
}

} // namespace

extern "C" void tn_cuda_register_index(tn_backend *b) {
  b->gather = cuda_gather;
  b->scatter = cuda_scatter;
  b->masked_fill = cuda_masked_fill;
  b->count_nonzero = cuda_count_nonzero;
  b->masked_select = cuda_masked_select;
  b->masked_scatter = cuda_masked_scatter;
  b->nonzero = cuda_nonzero;
}
