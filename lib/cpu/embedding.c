/* embedding.c: CPU embedding lookup and its backward (a scatter-add of gradient rows). */
#include "nn_simd.h"

int tn_cpu_embedding(tn_tensor *out, const tn_tensor *weight, const tn_tensor *indices, int64_t base) {
  int64_t rows = indices->numel, dim = weight->sizes[1];
  size_t row_bytes = (size_t)(dim * tn_dtype_size(weight->dtype));
  const int64_t *idx = tn_data_ptr(indices);
  const char *w = tn_data_ptr(weight);
  char *o = tn_data_ptr(out);
  int threads = tn_nn_threads(rows * dim, 1 << 15);
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t i = 0; i < rows; i++)
    memcpy(o + (size_t)i * row_bytes, w + (size_t)(idx[i] - base) * row_bytes, row_bytes);
  return 0;
}

/* grad_w[idx[i]] += grad_out[i] (times 1 / count(idx[i]) with scale_grad_by_freq), except for padding_idx.
 * Threads own column ranges, so duplicate indices never race and sums keep the row order. */
#define EMBEDDING_BACKWARD(T)                                                                                  \
  static void embedding_backward_##T(T *gw, const T *g, const int64_t *idx, int64_t rows, int64_t num,         \
                                     int64_t dim, int64_t padding_idx, const int64_t *counts, int64_t base) {  \
    if (num > 0 && dim > 0) memset(gw, 0, sizeof(T) * (size_t)(num * dim));                                    \
    int threads = tn_nn_threads(rows * dim, 1 << 15);                                                          \
    if (threads > dim) threads = (int)(dim > 0 ? dim : 1);                                                     \
    _Pragma("omp parallel num_threads(threads)") {                                                             \
      int t = omp_get_thread_num(), nt = omp_get_num_threads();                                                \
      int64_t c0 = dim * t / nt, c1 = dim * (t + 1) / nt;                                                      \
      for (int64_t i = 0; i < rows; i++) {                                                                     \
        if (idx[i] == padding_idx) continue;                                                                   \
        int64_t r = idx[i] - base;                                                                             \
        T scale = counts ? (T)1 / (T)counts[r] : (T)1;                                                         \
        T *d = gw + r * dim;                                                                                   \
        const T *s = g + i * dim;                                                                              \
        for (int64_t c = c0; c < c1; c++) d[c] += s[c] * scale;                                                \
      }                                                                                                        \
    }                                                                                                          \
  }
EMBEDDING_BACKWARD(float)
EMBEDDING_BACKWARD(double)

int tn_cpu_embedding_backward(tn_tensor *grad_w, const tn_tensor *grad_out, const tn_tensor *indices,
                              int64_t padding_idx, int scale_grad_by_freq, int64_t base) {
  int64_t rows = indices->numel, num = grad_w->sizes[0], dim = grad_w->sizes[1];
  const int64_t *idx = tn_data_ptr(indices);
  int64_t *counts = NULL;
  if (scale_grad_by_freq) {
    if (!(counts = tn_nn_scratch("embedding_backward", (int64_t)sizeof(int64_t) * (num > 0 ? num : 1)))) return -1;
    memset(counts, 0, sizeof(int64_t) * (size_t)num);
    for (int64_t i = 0; i < rows; i++) counts[idx[i] - base]++;
  }
  if (grad_w->dtype == TN_FLOAT64)
    embedding_backward_double(tn_data_ptr(grad_w), tn_data_ptr(grad_out), idx, rows, num, dim, padding_idx, counts,
                              base);
  else
    embedding_backward_float(tn_data_ptr(grad_w), tn_data_ptr(grad_out), idx, rows, num, dim, padding_idx, counts,
                             base);
  tn_nn_scratch_free(counts);
  return 0;
}
