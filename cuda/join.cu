/* join.cu: cat, flip and triangle (tril/triu) on CUDA, a thread per output element.
 *
 * cat copies up to CAT_BATCH inputs per launch, each into its slice of out (converting dtypes as the copy
 * does: through float64 or int64); same-dtype inputs move by element size. */
#include "ops.cuh"

namespace {

__device__ __forceinline__ void move_elem(char *dst, int64_t d, const char *src, int64_t s, int es) {
  switch (es) {
  case 8: ((uint64_t *)dst)[d] = ((const uint64_t *)src)[s]; break;
  case 4: ((uint32_t *)dst)[d] = ((const uint32_t *)src)[s]; break;
  case 2: ((uint16_t *)dst)[d] = ((const uint16_t *)src)[s]; break;
  default: ((uint8_t *)dst)[d] = ((const uint8_t *)src)[s]; break;
  }
}

/* dst element d = src element s, converting dtypes */
__device__ __forceinline__ void convert_elem(const tv &dst, int64_t d, const tv &src, int64_t s) {
  if (dst.dtype == src.dtype) {
    switch (dst.dtype) {
    case TN_FLOAT64: case TN_INT64: move_elem(dst.data, d, src.data, s, 8); break;
    case TN_FLOAT32: case TN_INT32: move_elem(dst.data, d, src.data, s, 4); break;
    case TN_FLOAT16: case TN_BFLOAT16: case TN_INT16: move_elem(dst.data, d, src.data, s, 2); break;
    default: move_elem(dst.data, d, src.data, s, 1); break;
    }
  } else if (tnc_class(dst.dtype) == 2 && tnc_class(src.dtype) == 2) {
    st<int64_t>(dst.data, d, dst.dtype, ld<int64_t>(src.data, s, src.dtype));
  } else if (dst.dtype == TN_BOOL) {
    st<int64_t>(dst.data, d, dst.dtype, ld<double>(src.data, s, src.dtype) != 0.0);
  } else {
    st<double>(dst.data, d, dst.dtype, ld<double>(src.data, s, src.dtype));
  }
}

enum { CAT_BATCH = 8 };

struct CatArgs {
  tv out[CAT_BATCH]; /* the slices of out */
  tv in[CAT_BATCH];
  int64_t start[CAT_BATCH + 1]; /* prefix sums of the inputs' element counts */
  int count;
};

__global__ void cat_kernel(CatArgs a) {
  TNC_GRID_LOOP(i, a.start[a.count]) {
    int q = 0;
    while (q + 1 < a.count && i >= a.start[q + 1]) q++;
    int64_t k = i - a.start[q];
    convert_elem(a.out[q], tv_offset(a.out[q], k), a.in[q], tv_offset(a.in[q], k));
  }
}

int cuda_cat(tn_tensor *out, int n, const tn_tensor *const *inputs, int dim) {
  const char *fn = "cat";
  if (out->numel == 0) return 0;
  cudaStream_t s = tnc_stream(fn, out);
  if (!s) return -1;
  int64_t at = 0;
  CatArgs a;
  a.count = 0;
  a.start[0] = 0;
  for (int q = 0; q < n; q++) {
    const tn_tensor *t = inputs[q];
    /* legacy empty 1-d inputs ([0]) join nothing */
    if (t->numel == 0) {
      if (t->ndim == out->ndim) at += t->sizes[dim];
      continue;
    }
    tn_tensor slice = *out;
    slice.offset = out->offset + at * out->strides[dim];
    slice.sizes[dim] = t->sizes[dim];
    slice.numel = t->numel;
    at += t->sizes[dim];
    a.out[a.count] = tv_of(&slice);
    a.in[a.count] = tv_of(t);
    a.start[a.count + 1] = a.start[a.count] + t->numel;
    a.count++;
    if (a.count == CAT_BATCH) {
      cat_kernel<<<tnc_blocks(a.start[a.count]), TNC_THREADS, 0, s>>>(a);
      if (tnc_check(fn)) return -1;
      a.count = 0;
    }
  }
  if (a.count > 0) {
    cat_kernel<<<tnc_blocks(a.start[a.count]), TNC_THREADS, 0, s>>>(a);
    if (tnc_check(fn)) return -1;
  }
  return 0;
}

__global__ void flip_kernel(tv out, tv x, uint32_t dims, int es) {
  TNC_GRID_LOOP(i, out.numel) {
    int64_t k = i, so = 0;
    for (int d = x.ndim - 1; d >= 0; d--) {
      int64_t c = k % x.sizes[d];
      k /= x.sizes[d];
      if (dims >> d & 1u) c = x.sizes[d] - 1 - c;
      so += c * x.strides[d];
    }
    move_elem(out.data, tv_offset(out, i), x.data, so, es);
  }
}

int cuda_flip(tn_tensor *out, const tn_tensor *x, uint32_t dims) {
  if (out->numel == 0) return 0;
  cudaStream_t s = tnc_stream("flip", out);
  if (!s) return -1;
  flip_kernel<<<tnc_blocks(out->numel), TNC_THREADS, 0, s>>>(tv_of(out), tv_of(x), dims,
                                                             (int)tn_dtype_size(x->dtype));
  return tnc_check("flip");
}

__global__ void triangle_kernel(tv out, tv x, int64_t k, int upper, int es) {
  int nd = x.ndim;
  TNC_GRID_LOOP(i, out.numel) {
    int64_t j = i % x.sizes[nd - 1], r = (i / x.sizes[nd - 1]) % x.sizes[nd - 2];
    bool keep = upper ? j - r >= k : j - r <= k;
    int64_t o = tv_offset(out, i);
    if (keep) {
      move_elem(out.data, o, x.data, tv_offset(x, i), es);
    } else {
      switch (es) {
      case 8: ((uint64_t *)out.data)[o] = 0; break;
      case 4: ((uint32_t *)out.data)[o] = 0; break;
      case 2: ((uint16_t *)out.data)[o] = 0; break;
      default: ((uint8_t *)out.data)[o] = 0; break;
      }
    }
  }
}

int cuda_triangle(tn_tensor *out, const tn_tensor *x, int64_t k, int upper) {
  const char *fn = upper ? "triu" : "tril";
  if (out->numel == 0) return 0;
  cudaStream_t s = tnc_stream(fn, out);
  if (!s) return -1;
  triangle_kernel<<<tnc_blocks(out->numel), TNC_THREADS, 0, s>>>(tv_of(out), tv_of(x), k, upper,
                                                                 (int)tn_dtype_size(x->dtype));
  return tnc_check(fn);
}

} // namespace

extern "C" void tn_cuda_register_join(tn_backend *b) {
  b->cat = cuda_cat;
  b->flip = cuda_flip;
  b->triangle = cuda_triangle;
}
