/* reduce.h: the contract between the CPU reduction driver (reduce.c) and the per-dtype kernels
 * (reduce_kernels.c).
 *
 * A kernel keeps a state per output (a running sum, a max and its index, count/mean/M2, ...). States come in
 * blocks of n slots laid out field by field (structure of arrays, widest field first), so that loops over
 * the slots of a block vectorise. The driver feeds a block either
 *  - runs: `len` contiguous input elements that all belong to one slot (the reduced dim is the innermost in
 *    memory: an "inner" reduction), or
 *  - rows: `nrows` rows of n contiguous elements, element j of each row belonging to slot j (the innermost
 *    dim in memory is kept: an "outer" reduction, vectorised across the outputs),
 * and merges blocks with `combine` (always the earlier elements into `st`, the later in `later`, so that
 * "first index wins" rules hold). Kernels marked `cascade` (sums) have their partial states merged as a
 * pairwise cascade by the driver, which keeps float32 sums accurate over any length. */
#ifndef TN_CPU_REDUCE_H
#define TN_CPU_REDUCE_H

#include <stdbool.h>
#include <stdint.h>

enum {
  RK_PIECE = 4096,  /* the longest run handed to a kernel (two-pass kernels re-read it from cache) */
  RK_LEAF = 32,     /* the most rows handed to a kernel at once */
  RK_BLOCK = 1024,  /* the most slots in a block of an outer reduction (rows are read in one sweep) */
  RK_MAX_STATE = 24 /* the bytes of the largest slot (var's count, mean and M2), for the driver's batches */
};

typedef struct rk_ctx {
  double p;  /* norm's order, var's correction, or the index base of the arg kernels */
  int64_t n; /* elements reduced into each output */
} rk_ctx;

typedef struct rk_kernel {
  int state_size; /* bytes per slot */
  bool cascade;
  void (*init)(void *st, int64_t n);
  /* Folds run p[0..len) into slot `slot` of a block of n; `index` is the reduced-dim index of p[0]. */
  void (*run)(void *st, int64_t n, int64_t slot, const char *p, int64_t len, int64_t index, const rk_ctx *c);
  /* Folds rows p + r * rs (r < nrows) of n elements into the n slots; `index` is the first row's index. */
  void (*rows)(void *st, int64_t n, const char *p, int64_t rs, int64_t nrows, int64_t index, const rk_ctx *c);
  void (*combine)(void *st, const void *later, int64_t n);
  /* Writes the results of n slots to o0 + j * s0 (and o1 + j * s1 when the kernel has a second output). */
  void (*finish)(char *o0, int64_t s0, char *o1, int64_t s1, const void *st, int64_t n, const rk_ctx *c);
} rk_kernel;

/* The kernel for (TN_RK_* kind, input dtype), or NULL where it is not defined. */
const rk_kernel *tn_cpu_reduce_kernel(int kind, int dtype);

#endif /* TN_CPU_REDUCE_H */
