/* iter.c: the strided N-d iterator (see iter.h). */
#include "iter.h"

#include <omp.h>

/* True if dim a should be iterated inside dim b: the first operand that moves along both decides. */
static bool more_inner(const tn_iter *it, int a, int b) {
  for (int k = 0; k < it->nops; k++) {
    int64_t sa = it->strides[a][k], sb = it->strides[b][k];
    if (sa == 0 || sb == 0) continue;
    if (sa != sb) return sa < sb;
  }
  return false;
}

static void permute_dims(tn_iter *it, const int *order) {
  int64_t shape[TN_MAX_DIMS], strides[TN_MAX_DIMS][TN_ITER_MAX_OPS];
  memcpy(shape, it->shape, sizeof shape);
  memcpy(strides, it->strides, sizeof strides);
  for (int d = 0; d < it->ndim; d++) {
    it->shape[d] = shape[order[d]];
    memcpy(it->strides[d], strides[order[d]], sizeof strides[0]);
  }
}

/* The common case, one flat run: every operand is contiguous with all the elements (its flat order is the
 * iteration's, since broadcasting only adds size-1 dims when the counts agree) or has a single element. */
static bool init_flat(tn_iter *it, int nops, const tn_tensor *const *ops) {
  for (int k = 0; k < nops; k++) {
    const tn_tensor *t = ops[k];
    if (t->numel == 1) {
      it->strides[0][k] = 0;
    } else if (t->numel == it->numel && tn_is_contiguous(t)) {
      it->strides[0][k] = tn_dtype_size(t->dtype);
    } else {
      return false;
    }
    it->data[k] = tn_base(t);
  }
  it->ndim = 1;
  it->shape[0] = it->numel;
  return true;
}

void tn_iter_init(tn_iter *it, int ndim, const int64_t *shape, int nops, const tn_tensor *const *ops) {
  it->nops = nops;
  it->ndim = ndim;
  it->numel = tn_shape_numel(ndim, shape);
  if (it->numel > 0 && init_flat(it, nops, ops)) return;
  /* Reverse the dims so index 0 is the last (fastest) dim, and align each operand to the right. */
  for (int d = 0; d < ndim; d++) {
    it->shape[d] = shape[ndim - 1 - d];
    for (int k = 0; k < nops; k++) {
      const tn_tensor *t = ops[k];
      int td = t->ndim - 1 - d;
      bool moves = td >= 0 && t->sizes[td] != 1;
      it->strides[d][k] = moves ? t->strides[td] * tn_dtype_size(t->dtype) : 0;
    }
  }
  for (int k = 0; k < nops; k++) it->data[k] = ops[k]->storage->data ? tn_base(ops[k]) : NULL;

  /* Stable insertion sort of the dims, innermost first. */
  int order[TN_MAX_DIMS] = {0};
  for (int d = 0; d < ndim; d++) order[d] = d;
  for (int i = 1; i < ndim; i++)
    for (int j = i; j > 0 && more_inner(it, order[j], order[j - 1]); j--) {
      int tmp = order[j];
      order[j] = order[j - 1];
      order[j - 1] = tmp;
    }
  permute_dims(it, order);

  /* Merge dim d+1 into d when every operand steps through both as one run; drop size-1 dims. */
  int out = 0;
  for (int d = 0; d < ndim; d++) {
    if (it->shape[d] == 1) continue;
    if (out > 0) {
      bool mergeable = true;
      for (int k = 0; k < nops && mergeable; k++)
        mergeable = it->strides[d][k] == it->strides[out - 1][k] * it->shape[out - 1];
      if (mergeable) {
        it->shape[out - 1] *= it->shape[d];
        continue;
      }
    }
    it->shape[out] = it->shape[d];
    memcpy(it->strides[out], it->strides[d], sizeof it->strides[0]);
    out++;
  }
  if (out == 0) { /* a single element (or a 0-d tensor) */
    it->shape[0] = it->numel;
    for (int k = 0; k < nops; k++) it->strides[0][k] = 0;
    out = 1;
  }
  it->ndim = out;
}

void tn_iter_run_range(const tn_iter *it, int64_t begin, int64_t end, tn_loop_fn fn, void *ctx) {
  if (begin >= end) return;
  int nops = it->nops, ndim = it->ndim;
  int64_t idx[TN_MAX_DIMS] = {0};
  char *ptr[TN_ITER_MAX_OPS];
  for (int k = 0; k < nops; k++) ptr[k] = it->data[k];
  if (begin > 0) { /* a later thread's share: two divisions a dim, as long as a small op's whole loop */
    int64_t rest = begin;
    for (int d = 0; d < ndim; d++) {
      idx[d] = rest % it->shape[d];
      rest /= it->shape[d];
    }
    for (int k = 0; k < nops; k++)
      for (int d = 0; d < ndim; d++) ptr[k] += idx[d] * it->strides[d][k];
  }
  int64_t left = end - begin;
  while (left > 0) {
    int64_t n = it->shape[0] - idx[0];
    if (n > left) n = left;
    fn(ptr, it->strides[0], n, ctx);
    left -= n;
    if (left == 0) break;
    for (int k = 0; k < nops; k++) ptr[k] += n * it->strides[0][k];
    idx[0] += n;
    for (int d = 0; d + 1 < ndim && idx[d] == it->shape[d]; d++) {
      idx[d] = 0;
      idx[d + 1]++;
      for (int k = 0; k < nops; k++) ptr[k] += it->strides[d + 1][k] - it->shape[d] * it->strides[d][k];
    }
  }
}

int tn_parallel_threads(int64_t n, int64_t grain) {
  if (grain <= 0 || n < 2 * grain || omp_in_parallel()) return 1;
  int64_t threads = omp_get_max_threads(), by_work = n / grain;
  return (int)(threads < by_work ? threads : by_work);
}

void tn_iter_run(const tn_iter *it, tn_loop_fn fn, void *ctx, int64_t grain) {
  if (it->numel == 0) return;
  int threads = tn_parallel_threads(it->numel, grain);
  if (threads <= 1) {
    tn_iter_run_range(it, 0, it->numel, fn, ctx);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    tn_iter_run_range(it, it->numel * t / nt, it->numel * (t + 1) / nt, fn, ctx);
  }
}
