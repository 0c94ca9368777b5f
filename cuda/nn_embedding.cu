/* nn_embedding.cu: embedding lookup (a thread per output element) and its backward, a scatter-add of the
 * gradient rows with atomicAdd (so sums over duplicate indices are not in row order, as in PyTorch's CUDA
 * kernels); scale_grad_by_freq counts the indices first; rows whose index is padding_idx add nothing. */
#include "ops.cuh"

namespace {

template <class T>
__global__ void embedding_kernel(T *out, const T *w, const int64_t *idx, int64_t rows, int64_t dim, int64_t base) {
  TNC_GRID_LOOP(k, rows * dim) {
    int64_t i = k / dim, c = k % dim;
    out[k] = w[(idx[i] - base) * dim + c];
  }
}

__global__ void count_kernel(unsigned long long *counts, const int64_t *idx, int64_t rows, int64_t base) {
  TNC_GRID_LOOP(i, rows) atomicAdd(counts + (idx[i] - base), 1ull);
}

template <class T>
__global__ void embedding_backward_kernel(T *gw, const T *g, const int64_t *idx, int64_t rows, int64_t dim,
                                          int64_t padding_idx, const unsigned long long *counts, int64_t base) {
  TNC_GRID_LOOP(k, rows * dim) {
    int64_t i = k / dim, c = k % dim;
    if (idx[i] == padding_idx) continue;
    int64_t r = idx[i] - base;
    T v = g[k];
    if (counts) v = v * ((T)1 / (T)counts[r]);
    atomicAdd(gw + r * dim + c, v);
  }
}

int cuda_embedding(tn_tensor *out, const tn_tensor *weight, const tn_tensor *indices, int64_t base) {
  cudaStream_t s = tnc_stream("embedding", weight);
  if (!s) return -1;
  int64_t rows = indices->numel, dim = weight->sizes[1];
  if (rows * dim == 0) return 0;
  const int64_t *idx = (const int64_t *)tn_base(indices);
  if (weight->dtype == TN_FLOAT64)
    embedding_kernel<double><<<tnc_blocks(rows * dim), TNC_THREADS, 0, s>>>(
        (double *)tn_base(out), (const double *)tn_base(weight), idx, rows, dim, base);
  else
    embedding_kernel<float><<<tnc_blocks(rows * dim), TNC_THREADS, 0, s>>>(
        (float *)tn_base(out), (const float *)tn_base(weight), idx, rows, dim, base);
  return tnc_check("embedding");
}

int cuda_embedding_backward(tn_tensor *grad_w, const tn_tensor *grad_out, const tn_tensor *indices,
                            int64_t padding_idx, int scale_grad_by_freq, int64_t base) {
  const char *fn = "embedding_backward";
  cudaStream_t s = tnc_stream(fn, grad_w);
  if (!s) return -1;
  int device = tnc_device(grad_w);
  int64_t rows = indices->numel, num = grad_w->sizes[0], dim = grad_w->sizes[1];
  if (tn_cuda_check(fn, cudaMemsetAsync(tn_base(grad_w), 0, (size_t)(num * dim * tn_dtype_size(grad_w->dtype)), s)))
    return -1;
  if (rows * dim == 0) return 0;
  const int64_t *idx = (const int64_t *)tn_base(indices);
  unsigned long long *counts = NULL;
  int64_t bytes = num * 8;
  if (scale_grad_by_freq) {
    if (!(counts = (unsigned long long *)tnc_scratch(device, bytes))) return -1;
    if (tn_cuda_check(fn, cudaMemsetAsync(counts, 0, (size_t)bytes, s))) {
      tnc_scratch_free(device, counts, bytes);
      return -1;
    }
    count_kernel<<<tnc_blocks(rows), TNC_THREADS, 0, s>>>(counts, idx, rows, base);
  }
  if (grad_w->dtype == TN_FLOAT64)
    embedding_backward_kernel<double><<<tnc_blocks(rows * dim), TNC_THREADS, 0, s>>>(
        (double *)tn_base(grad_w), (const double *)tn_base(grad_out), idx, rows, dim, padding_idx, counts, base);
  else
    embedding_backward_kernel<float><<<tnc_blocks(rows * dim), TNC_THREADS, 0, s>>>(
        (float *)tn_base(grad_w), (const float *)tn_base(grad_out), idx, rows, dim, padding_idx, counts, base);
  int rc = tnc_check(fn);
  if (counts) tnc_scratch_free(device, counts, bytes);
  return rc;
}

} // namespace

void tnc_register_nn_embedding(tn_backend *b) {
  b->embedding = cuda_embedding;
  b->embedding_backward = cuda_embedding_backward;
}
