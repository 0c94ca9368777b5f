/* iter.h: the strided N-d iterator that every element-wise kernel runs on.
 *
 * Operands are broadcast to one shape; dims are reordered so the one with the smallest strides is
 * innermost, and dims that are contiguous across every operand are merged. A kernel only writes the
 * inner 1-d loop (tn_loop_fn), specialising it for unit or zero strides so the compiler vectorises it;
 * tn_iter_run walks the outer dims and splits the range across OpenMP threads above a grain size. */
#ifndef TN_ITER_H
#define TN_ITER_H

#include "internal.h"

enum { TN_ITER_MAX_OPS = 6 };

typedef struct tn_iter {
  int nops;
  int ndim;                                    /* at least 1 */
  int64_t numel;
  int64_t shape[TN_MAX_DIMS];                  /* shape[0] is the innermost dim */
  int64_t strides[TN_MAX_DIMS][TN_ITER_MAX_OPS]; /* in bytes; strides[d][k] for operand k */
  char *data[TN_ITER_MAX_OPS];
} tn_iter;

/* The inner loop: n elements, operand k at data[k] advancing by strides[k] bytes. */
typedef void (*tn_loop_fn)(char **data, const int64_t *strides, int64_t n, void *ctx);

/* Below this many elements a loop runs on one thread (cheap kernels; costly ones pass a smaller grain). */
enum { TN_GRAIN = 32768 };

/* Sets up iteration over `shape` for ops[0..nops) (each broadcastable to shape; op 0 is normally the output). */
void tn_iter_init(tn_iter *it, int ndim, const int64_t *shape, int nops, const tn_tensor *const *ops);
/* Runs fn over every element; grain <= 0 means single-threaded. */
void tn_iter_run(const tn_iter *it, tn_loop_fn fn, void *ctx, int64_t grain);
/* Runs fn over the elements [begin, end) of the iteration order (used by callers that split work themselves). */
void tn_iter_run_range(const tn_iter *it, int64_t begin, int64_t end, tn_loop_fn fn, void *ctx);

/* Number of threads a parallel loop over n elements with the given grain would use. */
int tn_parallel_threads(int64_t n, int64_t grain);

#endif /* TN_ITER_H */
