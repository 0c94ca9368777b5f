/* random.cu: random fills from the Philox4x32-10 counter-based generator, with the draws of lib/random_draw.h
 * that lib/cpu/random.c makes too: element i of a fill takes its words from counter (offset + i / per_block)
 * under the generator's seed, and a fill advances the generator's offset by its number of blocks, exactly as on
 * the CPU.
 * So for the same generator state a CUDA tensor receives the same numbers as a CPU tensor: bit for bit for
 * uniform, randint and bernoulli (integer arithmetic and one rounding), and for normal up to the last bit of
 * the double-precision log/sqrt/sin/cos of the device against the host's libm (which rounding to float32
 * hides almost always). Poisson and binomial counts match the CPU's except where a device log/exp and the
 * host's differ in the last bit right at an acceptance bound (see lib/random_draw.h). Non-contiguous targets
 * are filled through a contiguous buffer, as on the CPU. */
#include "elementwise.cuh"

#include <cuda_runtime.h>
#include <math.h>

#define TN_DRAW_FN __device__ __forceinline__
#define TN_DRAW_UNROLL _Pragma("unroll")
#define TN_DRAW_MUL(a, b) __dmul_rn(a, b)
#define TN_DRAW_MULHI(a, b) __umul64hi(a, b)
#include "../lib/random_draw.h"

/* One thread per block of k elements (the words are computed once per block, as on the CPU). */
template <int DTYPE>
__global__ void random_kernel(typename tn_cu_dtype<DTYPE>::storage *out, int64_t n, fill_spec s, int k,
                              uint64_t seed, uint64_t offset) {
  typedef tn_cu_dtype<DTYPE> D;
  int64_t blocks = (n + k - 1) / k;
  TN_CU_GRID_STRIDE(blk, blocks) {
    philox_words r = philox(seed, offset + (uint64_t)blk);
    for (int64_t i = blk * k; i < blk * k + k && i < n; i++) out[i] = D::store(value_at(&s, r, i));
  }
}

/* Poisson and binomial counts: one thread per element, each with its own counter (random_draw.h) */
template <int DTYPE>
__global__ void count_kernel(typename tn_cu_dtype<DTYPE>::storage *out, int64_t n, fill_spec s, uint64_t seed,
                             uint64_t offset) {
  typedef tn_cu_dtype<DTYPE> D;
  TN_CU_GRID_STRIDE(i, n) out[i] = D::store(count_at(&s, seed, offset + (uint64_t)i, i));
}

/* randint into int64 stores the integers directly (exact above 2^53) */
__global__ void randint_i64_kernel(int64_t *out, int64_t n, int64_t low, uint64_t range, uint64_t seed,
                                   uint64_t offset) {
  int64_t blocks = (n + 1) / 2;
  TN_CU_GRID_STRIDE(blk, blocks) {
    philox_words r = philox(seed, offset + (uint64_t)blk);
    for (int64_t i = blk * 2; i < blk * 2 + 2 && i < n; i++) out[i] = randint_at(low, range, r, i);
  }
}

static int fill_contiguous(const char *fn, tn_tensor *t, const fill_spec &s, tn_generator *g) {
  cudaStream_t stream = tn_cuda_tensor_stream(fn, t);
  if (!stream) return -1;
  int64_t n = t->numel, k = per_block(&s);
  uint64_t blocks = (uint64_t)((n + k - 1) / k);
  uint64_t offset = __atomic_fetch_add(&g->offset, blocks, __ATOMIC_RELAXED);
  unsigned grid = tn_cuda_grid((int64_t)blocks, TN_CUDA_THREADS);
  if (s.kind == RANDINT && t->dtype == TN_INT64) {
    randint_i64_kernel<<<grid, TN_CUDA_THREADS, 0, stream>>>((int64_t *)tn_base(t), n, s.low, s.range, g->seed,
                                                            offset);
    return tn_cuda_launched(fn);
  }
  if (s.kind == POISSON || s.kind == BINOMIAL) {
    int rc = tn_cu_dispatch(fn, t->dtype, [&](auto tag) {
      typedef decltype(tag) D;
      count_kernel<D::dtype><<<grid, TN_CUDA_THREADS, 0, stream>>>((typename D::storage *)tn_base(t), n, s, g->seed,
                                                                   offset);
      return 0;
    });
    return rc ? rc : tn_cuda_launched(fn);
  }
  int rc = tn_cu_dispatch(fn, t->dtype, [&](auto tag) {
    typedef decltype(tag) D;
    random_kernel<D::dtype><<<grid, TN_CUDA_THREADS, 0, stream>>>((typename D::storage *)tn_base(t), n, s, (int)k,
                                                                  g->seed, offset);
    return 0;
  });
  return rc ? rc : tn_cuda_launched(fn);
}

static int fill(const char *fn, tn_tensor *t, fill_spec &s, tn_generator *g) {
  s.single = t->dtype == TN_FLOAT32 || t->dtype == TN_FLOAT16 || t->dtype == TN_BFLOAT16;
  if (tn_is_contiguous(t)) return fill_contiguous(fn, t, s, g);
  tn_tensor *tmp = tn_empty_like(t);
  if (!tmp) return -1;
  int rc = fill_contiguous(fn, tmp, s, g);
  if (rc == 0) rc = tn_copy_(t, tmp);
  tn_tensor_free(tmp);
  return rc;
}

static int cuda_uniform(tn_tensor *t, double low, double high, tn_generator *g) {
  fill_spec s = {UNIFORM, low, high, 0, 0, NULL, false, NULL};
  return fill("uniform_", t, s, g);
}

static int cuda_normal(tn_tensor *t, double mean, double std, tn_generator *g) {
  fill_spec s = {NORMAL, mean, std, 0, 0, NULL, false, NULL};
  return fill("normal_", t, s, g);
}

static int cuda_randint(tn_tensor *t, int64_t low, int64_t high, tn_generator *g) {
  fill_spec s = {RANDINT, 0, 0, low, (uint64_t)high - (uint64_t)low, NULL, false, NULL};
  return fill("randint", t, s, g);
}

/* p_tensor: float64, t's shape, contiguous, on t's device (lib/ops/random.c prepares it) */
static int cuda_bernoulli(tn_tensor *t, double p, const tn_tensor *p_tensor, tn_generator *g) {
  fill_spec s = {BERNOULLI, p, 0, 0, 0, p_tensor ? (const double *)tn_base(p_tensor) : NULL, false, NULL};
  return fill("bernoulli_", t, s, g);
}

/* rates, count, prob: float64, t's shape, contiguous, on t's device, checked (lib/ops/random.c prepares them) */
static int cuda_poisson(tn_tensor *t, const tn_tensor *rates, tn_generator *g) {
  fill_spec s = {POISSON, 0, 0, 0, 0, (const double *)tn_base(rates), false, NULL};
  return fill("poisson", t, s, g);
}

static int cuda_binomial(tn_tensor *t, const tn_tensor *count, const tn_tensor *prob, tn_generator *g) {
  fill_spec s = {BINOMIAL, 0, 0, 0, 0, (const double *)tn_base(count), false, (const double *)tn_base(prob)};
  return fill("binomial", t, s, g);
}

extern "C" void tn_cuda_register_random(tn_backend *b) {
  b->uniform = cuda_uniform;
  b->normal = cuda_normal;
  b->randint = cuda_randint;
  b->bernoulli = cuda_bernoulli;
  b->poisson = cuda_poisson;
  b->binomial = cuda_binomial;
}
