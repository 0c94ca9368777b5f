/* cpu.h: the CPU backend's kernels (registered in backend.c). They assume validated arguments. */
#ifndef TN_CPU_H
#define TN_CPU_H

#include "../backend.h"
#include "../iter.h"

int tn_cpu_copy(tn_tensor *dst, const tn_tensor *src);
int tn_cpu_fill(tn_tensor *t, double value);
int tn_cpu_unary(int op, tn_tensor *out, const tn_tensor *x, double p0, double p1);
int tn_cpu_binary(int op, tn_tensor *out, const tn_tensor *a, const tn_tensor *b, double p0, double p1);
/* float32 add, sub and mul loops that multiply subnormals without the slow path (scaled_f32.c); NULL for other ops */
tn_loop_fn tn_cpu_scaled_f32_loop(int op);
/* a float32 unary loop written for AVX-512 (exp_f32.c); NULL for other ops or without AVX-512 */
tn_loop_fn tn_cpu_vector_f32_unary_loop(int op);
int tn_cpu_sgd_momentum(tn_tensor *param, const tn_tensor *grad, tn_tensor *buf, double lr, double momentum);
/* sgemm_avx512.c: row-major c = alpha * op(a) @ op(b) + beta * c for the sizes tn_cpu_sgemm_small_fits accepts
 * (AVX-512 builds only); `packed` holds tn_cpu_sgemm_small_scratch(k) bytes, 64-byte aligned. */
bool tn_cpu_sgemm_small_fits(bool tb, int64_t m, int64_t n, int64_t k);
size_t tn_cpu_sgemm_small_scratch(int64_t k);
void tn_cpu_sgemm_small(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                        const float *b, int64_t ldb, float beta, float *c, int64_t ldc, float *packed);
/* streaming.c: stores that do not read the lines they write first. tn_cpu_stream_zero zeroes `rows` rows of
 * row_bytes, stride_bytes apart. tn_cpu_streamed_loop runs the loop fn of nops operands (the context a
 * tn_streamed) chunk by chunk into a buffer in L1 and streams each chunk of results (operand 0, of esize-byte
 * elements, which fn must only write) out to memory: for results of TN_STREAM_RESULT_BYTES and more. */
enum { TN_STREAM_RESULT_BYTES = 32 << 20 };
typedef struct tn_streamed {
  tn_loop_fn fn;
  void *ctx;
  int nops;
  int64_t esize;
} tn_streamed;
void tn_cpu_stream_zero(void *base, int64_t rows, size_t row_bytes, size_t stride_bytes);
void tn_cpu_streamed_loop(char **data, const int64_t *strides, int64_t n, void *context);
int tn_cpu_ternary(int op, tn_tensor *out, const tn_tensor *a, const tn_tensor *b, const tn_tensor *c, double p0);

int tn_cpu_uniform(tn_tensor *t, double low, double high, tn_generator *g);
int tn_cpu_normal(tn_tensor *t, double mean, double std, tn_generator *g);
int tn_cpu_randint(tn_tensor *t, int64_t low, int64_t high, tn_generator *g);
int tn_cpu_bernoulli(tn_tensor *t, double p, const tn_tensor *p_tensor, tn_generator *g);
int tn_cpu_poisson(tn_tensor *t, const tn_tensor *rates, tn_generator *g);
int tn_cpu_binomial(tn_tensor *t, const tn_tensor *count, const tn_tensor *prob, tn_generator *g);

/* reductions (reduce.c, cumulative.c) */
int tn_cpu_reduce(int kernel, tn_tensor *out0, tn_tensor *out1, const tn_tensor *x, uint32_t reduced, double p);
int tn_cpu_cumulative(int op, tn_tensor *out, const tn_tensor *x, int dim, int reverse);

/* linear algebra (blas.c, linalg.c) */
int tn_cpu_gemm(tn_tensor *c, const tn_tensor *a, const tn_tensor *b, double alpha, double beta, int flags);
int tn_cpu_inv(tn_tensor *out, const tn_tensor *a, tn_linalg_status *st);
int tn_cpu_solve(tn_tensor *x, const tn_tensor *a, const tn_tensor *b, tn_linalg_status *st);
int tn_cpu_det(tn_tensor *det, tn_tensor *sign, tn_tensor *logabsdet, const tn_tensor *a);
int tn_cpu_cholesky(tn_tensor *out, const tn_tensor *a, int upper, tn_linalg_status *st);
int tn_cpu_qr(tn_tensor *q, tn_tensor *r, const tn_tensor *a);
int tn_cpu_svd(tn_tensor *u, tn_tensor *s, tn_tensor *vh, const tn_tensor *a, tn_linalg_status *st);
int tn_cpu_eigh(tn_tensor *w, tn_tensor *v, const tn_tensor *a, int upper, tn_linalg_status *st);
int tn_cpu_lu_factor(tn_tensor *lu, tn_tensor *pivots, const tn_tensor *a, int pivot, tn_linalg_status *st);
int tn_cpu_lu_permutation(tn_tensor *perm, const tn_tensor *pivots, tn_linalg_status *st);
int tn_cpu_lu_solve(tn_tensor *x, const tn_tensor *lu, const tn_tensor *pivots, const tn_tensor *b, int adjoint,
                    tn_linalg_status *st);
int tn_cpu_solve_triangular(tn_tensor *x, const tn_tensor *a, const tn_tensor *b, int upper, int unit);
int tn_cpu_lstsq(tn_tensor *x, tn_tensor *rank, tn_tensor *s, const tn_tensor *a, const tn_tensor *b, int driver,
                 double rcond, tn_linalg_status *st);
int tn_cpu_geqrf(tn_tensor *qr, tn_tensor *tau, const tn_tensor *a);
int tn_cpu_orgqr(tn_tensor *q, const tn_tensor *a, const tn_tensor *tau);
int tn_cpu_ormqr(tn_tensor *x, const tn_tensor *a, const tn_tensor *tau, const tn_tensor *c, int left, int transpose);
int tn_cpu_ldl_factor(tn_tensor *ld, tn_tensor *pivots, const tn_tensor *a, tn_linalg_status *st);
int tn_cpu_ldl_solve(tn_tensor *x, const tn_tensor *ld, const tn_tensor *pivots, const tn_tensor *b,
                     tn_linalg_status *st);

/* cblas_sgemm and cblas_dgemm with the same arguments (order and transposes as CBLAS's enum values), split
 * across the library's threads. Kernels that need a matrix product call these rather than BLAS itself, whose
 * own threads are held at one (lib/parallel.c). */
void tn_cpu_cblas_sgemm(int order, int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                        const float *b, int ldb, float beta, float *c, int ldc);
void tn_cpu_cblas_dgemm(int order, int ta, int tb, int m, int n, int k, double alpha, const double *a, int lda,
                        const double *b, int ldb, double beta, double *c, int ldc);

/* The element offset of matrix (or vector) i of a batch: t's first nb dims are the batch, walked row-major. */
static inline int64_t tn_cpu_batch_offset(const tn_tensor *t, int nb, int64_t i) {
  int64_t off = t->offset;
  for (int d = nb - 1; d >= 0; d--) {
    int64_t size = t->sizes[d];
    off += (i % size) * t->strides[d];
    i /= size;
  }
  return off;
}

/* indexing and ordering (index.c, sort.c, join.c) */
int tn_cpu_gather(tn_tensor *out, const tn_tensor *src, const tn_tensor *index, const tn_index_spec *spec);
int tn_cpu_scatter(tn_tensor *dst, const tn_tensor *index, const tn_tensor *src, const tn_index_spec *spec, int reduce,
                   double alpha);
int tn_cpu_masked_fill(tn_tensor *x, const tn_tensor *mask, double value);
int64_t tn_cpu_count_nonzero(const tn_tensor *x);
int tn_cpu_masked_select(tn_tensor *out, const tn_tensor *x, const tn_tensor *mask);
int tn_cpu_masked_scatter(tn_tensor *x, const tn_tensor *mask, const tn_tensor *src);
int tn_cpu_nonzero(tn_tensor *out, const tn_tensor *x, int64_t base);
int tn_cpu_sort(tn_tensor *values, tn_tensor *indices, const tn_tensor *x, int dim, int descending, int64_t base);
int tn_cpu_topk(tn_tensor *values, tn_tensor *indices, const tn_tensor *x, int64_t k, int dim, int largest,
                int64_t base);
int tn_cpu_kthvalue(tn_tensor *values, tn_tensor *indices, const tn_tensor *x, int64_t k, int dim, int64_t base);
int tn_cpu_unique(const char *fn, const tn_tensor *x, int dim, int consecutive, int64_t base, tn_tensor **values,
                  tn_tensor **inverse, tn_tensor **counts);
int tn_cpu_searchsorted(tn_tensor *out, const tn_tensor *sorted_view, int64_t length, int64_t stride,
                        const tn_tensor *values, int right, int64_t base);
int tn_cpu_cat(tn_tensor *out, int n, const tn_tensor *const *inputs, int dim);
int tn_cpu_flip(tn_tensor *out, const tn_tensor *x, uint32_t dims);
int tn_cpu_triangle(tn_tensor *out, const tn_tensor *x, int64_t k, int upper);

/* nn kernels (conv.c, pool.c, softmax.c, loss.c, norm.c, embedding.c) */
int tn_cpu_conv(tn_tensor *out, const tn_tensor *x, const tn_tensor *w, const tn_tensor *bias, const tn_conv_geom *g);
int tn_cpu_conv_backward_input(tn_tensor *grad_x, const tn_tensor *grad_out, const tn_tensor *w,
                               const tn_conv_geom *g);
int tn_cpu_conv_backward_weight(tn_tensor *grad_w, tn_tensor *grad_b, const tn_tensor *grad_out, const tn_tensor *x,
                                const tn_conv_geom *g);
int tn_cpu_max_pool(tn_tensor *out, tn_tensor *indices, const tn_tensor *x, const tn_pool_geom *g, int64_t base);
int tn_cpu_max_pool_backward(tn_tensor *grad_x, const tn_tensor *grad_out, const tn_tensor *indices,
                             const tn_pool_geom *g, int64_t base);
int tn_cpu_avg_pool(tn_tensor *out, const tn_tensor *x, const tn_pool_geom *g);
int tn_cpu_avg_pool_backward(tn_tensor *grad_x, const tn_tensor *grad_out, const tn_pool_geom *g);
int tn_cpu_adaptive_avg_pool(tn_tensor *out, const tn_tensor *x, const tn_pool_geom *g);
int tn_cpu_adaptive_avg_pool_backward(tn_tensor *grad_x, const tn_tensor *grad_out, const tn_pool_geom *g);
int tn_cpu_adaptive_max_pool(tn_tensor *out, tn_tensor *indices, const tn_tensor *x, const tn_pool_geom *g,
                             int64_t base);
int tn_cpu_softmax(tn_tensor *out, const tn_tensor *x, int64_t outer, int64_t dim, int64_t inner, int log);
int tn_cpu_softmax_backward(tn_tensor *grad_x, const tn_tensor *grad_out, const tn_tensor *out, int64_t outer,
                            int64_t dim, int64_t inner, int log);
int tn_cpu_cross_entropy(tn_tensor *loss, tn_tensor *lse, const tn_tensor *x, const tn_tensor *target,
                         const tn_tensor *weight, const tn_loss_spec *s);
int tn_cpu_cross_entropy_backward(tn_tensor *grad_x, const tn_tensor *grad_loss, const tn_tensor *x,
                                  const tn_tensor *lse, const tn_tensor *target, const tn_tensor *weight,
                                  const tn_loss_spec *s);
int tn_cpu_nll_loss(tn_tensor *loss, const tn_tensor *x, const tn_tensor *target, const tn_tensor *weight,
                    const tn_loss_spec *s);
int tn_cpu_nll_loss_backward(tn_tensor *grad_x, const tn_tensor *grad_loss, const tn_tensor *target,
                             const tn_tensor *weight, const tn_loss_spec *s);
int tn_cpu_layer_norm(tn_tensor *y, tn_tensor *mean, tn_tensor *rstd, const tn_tensor *x, const tn_tensor *w,
                      const tn_tensor *b, int64_t rows, int64_t cols, double eps);
int tn_cpu_layer_norm_backward(tn_tensor *grad_x, tn_tensor *grad_w, tn_tensor *grad_b, const tn_tensor *grad_y,
                               const tn_tensor *x, const tn_tensor *mean, const tn_tensor *rstd, const tn_tensor *w,
                               int64_t rows, int64_t cols);
int tn_cpu_batch_norm(tn_tensor *y, tn_tensor *mean, tn_tensor *invstd, const tn_tensor *x, const tn_tensor *w,
                      const tn_tensor *b, tn_tensor *running_mean, tn_tensor *running_var, const tn_norm_geom *g);
int tn_cpu_batch_norm_backward(tn_tensor *grad_x, tn_tensor *grad_w, tn_tensor *grad_b, const tn_tensor *grad_y,
                               const tn_tensor *x, const tn_tensor *w, const tn_tensor *mean, const tn_tensor *invstd,
                               const tn_norm_geom *g);
int tn_cpu_group_norm(tn_tensor *y, tn_tensor *mean, tn_tensor *rstd, const tn_tensor *x, const tn_tensor *w,
                      const tn_tensor *b, const tn_norm_geom *g);
int tn_cpu_group_norm_backward(tn_tensor *grad_x, tn_tensor *grad_w, tn_tensor *grad_b, const tn_tensor *grad_y,
                               const tn_tensor *x, const tn_tensor *mean, const tn_tensor *rstd, const tn_tensor *w,
                               const tn_norm_geom *g);
int tn_cpu_embedding(tn_tensor *out, const tn_tensor *weight, const tn_tensor *indices, int64_t base);
int tn_cpu_embedding_backward(tn_tensor *grad_w, const tn_tensor *grad_out, const tn_tensor *indices,
                              int64_t padding_idx, int scale_grad_by_freq, int64_t base);

#endif /* TN_CPU_H */
