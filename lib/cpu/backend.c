/* backend.c: the CPU backend table, with its byte-counting allocator over the host block cache (alloc.c). */
#include "cpu.h"

#include <stdlib.h>

static void *cpu_alloc(int device_index, int64_t nbytes);
static void cpu_free(int device_index, void *ptr, int64_t nbytes);

static tn_backend cpu_backend = {
    .name = "cpu",
    .alloc = cpu_alloc,
    .free = cpu_free,
    .copy = tn_cpu_copy,
    .fill = tn_cpu_fill,
    .unary = tn_cpu_unary,
    .binary = tn_cpu_binary,
    .ternary = tn_cpu_ternary,
    .sgd_momentum = tn_cpu_sgd_momentum,
    .uniform = tn_cpu_uniform,
    .normal = tn_cpu_normal,
    .randint = tn_cpu_randint,
    .bernoulli = tn_cpu_bernoulli,
    .poisson = tn_cpu_poisson,
    .binomial = tn_cpu_binomial,
    /* nn kernels */
    .conv = tn_cpu_conv,
    .conv_backward_input = tn_cpu_conv_backward_input,
    .conv_backward_weight = tn_cpu_conv_backward_weight,
    .max_pool = tn_cpu_max_pool,
    .max_pool_backward = tn_cpu_max_pool_backward,
    .avg_pool = tn_cpu_avg_pool,
    .avg_pool_backward = tn_cpu_avg_pool_backward,
    .adaptive_avg_pool = tn_cpu_adaptive_avg_pool,
    .adaptive_avg_pool_backward = tn_cpu_adaptive_avg_pool_backward,
    .adaptive_max_pool = tn_cpu_adaptive_max_pool,
    .softmax = tn_cpu_softmax,
    .softmax_backward = tn_cpu_softmax_backward,
    .cross_entropy = tn_cpu_cross_entropy,
    .cross_entropy_backward = tn_cpu_cross_entropy_backward,
    .nll_loss = tn_cpu_nll_loss,
    .nll_loss_backward = tn_cpu_nll_loss_backward,
    .layer_norm = tn_cpu_layer_norm,
    .layer_norm_backward = tn_cpu_layer_norm_backward,
    .batch_norm = tn_cpu_batch_norm,
    .batch_norm_backward = tn_cpu_batch_norm_backward,
    .group_norm = tn_cpu_group_norm,
    .group_norm_backward = tn_cpu_group_norm_backward,
    .embedding = tn_cpu_embedding,
    .embedding_backward = tn_cpu_embedding_backward,
    /* reductions */
    .reduce = tn_cpu_reduce,
    .cumulative = tn_cpu_cumulative,
    /* indexing and ordering */
    .gather = tn_cpu_gather,
    .scatter = tn_cpu_scatter,
    .masked_fill = tn_cpu_masked_fill,
    .count_nonzero = tn_cpu_count_nonzero,
    .masked_select = tn_cpu_masked_select,
    .masked_scatter = tn_cpu_masked_scatter,
    .nonzero = tn_cpu_nonzero,
    .sort = tn_cpu_sort,
    .topk = tn_cpu_topk,
    .kthvalue = tn_cpu_kthvalue,
    .unique = tn_cpu_unique,
    .searchsorted = tn_cpu_searchsorted,
    .cat = tn_cpu_cat,
    .flip = tn_cpu_flip,
    .triangle = tn_cpu_triangle,
    .gemm = tn_cpu_gemm,
    .inv = tn_cpu_inv,
    .solve = tn_cpu_solve,
    .det = tn_cpu_det,
    .cholesky = tn_cpu_cholesky,
    .qr = tn_cpu_qr,
    .svd = tn_cpu_svd,
    .eigh = tn_cpu_eigh,
    .lu_factor = tn_cpu_lu_factor,
    .lu_permutation = tn_cpu_lu_permutation,
    .lu_solve = tn_cpu_lu_solve,
    .solve_triangular = tn_cpu_solve_triangular,
    .lstsq = tn_cpu_lstsq,
    .geqrf = tn_cpu_geqrf,
    .orgqr = tn_cpu_orgqr,
    .ormqr = tn_cpu_ormqr,
    .ldl_factor = tn_cpu_ldl_factor,
    .ldl_solve = tn_cpu_ldl_solve,
};

static void *cpu_alloc(int device_index, int64_t nbytes) {
  (void)device_index;
  void *p = tn_host_alloc(nbytes);
  if (!p)
    return tn_error_null("out of memory: could not allocate %lld bytes (%lld bytes of tensors are live)",
                         (long long)nbytes, (long long)tn_memory_live_bytes(TN_CPU));
  tn_account_alloc(&cpu_backend, nbytes);
  return p;
}

static void cpu_free(int device_index, void *ptr, int64_t nbytes) {
  (void)device_index;
  tn_host_free(ptr, nbytes);
  tn_account_free(&cpu_backend, nbytes);
}

/* The CPU backend is always present: register it when the library loads. */
__attribute__((constructor)) static void register_cpu_backend(void) { tn_register_backend(TN_CPU, &cpu_backend); }
