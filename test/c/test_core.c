/* test_core.c: 16-bit float conversions (exhaustively, against the compiler's own types), the allocator's
 * alignment and byte counter, its owner thread and the other threads' blocks, storage reference counting, the
 * iterator's dim merging, and iteration over any split of the range (what the threads of a parallel loop do). */
#include "iter.h"
#include "check.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>

static void test_half_exhaustive(void) {
  /* Every half converts to float and back unchanged (NaNs stay NaN). */
  for (uint32_t h = 0; h < 65536; h++) {
    float f = tn_half_to_float((uint16_t)h);
    _Float16 ref;
    uint16_t bits = (uint16_t)h;
    memcpy(&ref, &bits, 2);
    if (isnan(f)) {
      CHECK(isnan((float)ref), "half %04x: expected NaN", h);
      continue;
    }
    CHECK(f == (float)ref, "half %04x -> %g, compiler says %g", h, f, (float)ref);
    CHECK(tn_float_to_half(f) == h, "half %04x round trip gave %04x", h, tn_float_to_half(f));
  }
  /* float -> half rounding agrees with the compiler's _Float16 conversion on a dense sweep of floats. */
  for (uint64_t u = 0; u < 0x100000000ull; u += 4099) {
    uint32_t bits = (uint32_t)u;
    float f;
    memcpy(&f, &bits, 4);
    if (isnan(f)) continue;
    _Float16 ref = (_Float16)f;
    uint16_t rbits;
    memcpy(&rbits, &ref, 2);
    CHECK(tn_float_to_half(f) == rbits, "float %a -> half %04x, compiler says %04x", f, tn_float_to_half(f), rbits);
  }
  CHECK(tn_float_to_half(65519.0f) == 0x7bff, "65519 rounds down to the max half");
  CHECK(tn_float_to_half(65520.0f) == 0x7c00, "65520 rounds up to infinity");
}

static float bf16_reference(float f) {
  /* round to nearest even by exact arithmetic on the dropped 16 bits */
  uint32_t u;
  memcpy(&u, &f, 4);
  uint32_t low = u & 0xffff, high = u >> 16;
  if (low > 0x8000 || (low == 0x8000 && (high & 1))) high++;
  uint32_t r = high << 16;
  float out;
  memcpy(&out, &r, 4);
  return out;
}

static void test_bfloat16(void) {
  for (uint64_t u = 0; u < 0x100000000ull; u += 65537) {
    uint32_t bits = (uint32_t)u;
    float f;
    memcpy(&f, &bits, 4);
    if (isnan(f)) {
      CHECK(isnan(tn_bfloat16_to_float(tn_float_to_bfloat16(f))), "NaN stays NaN in bfloat16");
      continue;
    }
    float got = tn_bfloat16_to_float(tn_float_to_bfloat16(f)), want = bf16_reference(f);
    CHECK(memcmp(&got, &want, 4) == 0, "bfloat16(%a) = %a, expected %a", f, got, want);
  }
}

static void test_allocator(void) {
  int64_t before = tn_memory_live_bytes(TN_CPU);
  int64_t sizes[2] = {3, 5};
  tn_tensor *t = tn_empty(2, sizes, TN_FLOAT64, TN_CPU, 0);
  CHECK(t != NULL, "empty failed: %s", tn_last_error());
  CHECK(((uintptr_t)t->storage->data & 63) == 0, "storage data is 64-byte aligned");
  CHECK(tn_memory_live_bytes(TN_CPU) - before == 15 * 8, "live bytes grew by %lld",
        (long long)(tn_memory_live_bytes(TN_CPU) - before));
  int64_t refs = t->storage->refcount;
  tn_tensor *v = tn_transpose(t, 0, 1);
  CHECK(t->storage->refcount == refs + 1, "a view retains the storage");
  tn_tensor_free(t);
  CHECK(tn_memory_live_bytes(TN_CPU) - before == 15 * 8, "the view keeps the storage alive");
  tn_tensor_free(v);
  CHECK(tn_memory_live_bytes(TN_CPU) == before, "freeing the last view frees the storage");
  int64_t huge[2] = {INT64_MAX / 4, 8};
  CHECK(tn_empty(2, huge, TN_FLOAT32, TN_CPU, 0) == NULL, "an overflowing size is refused");
  CHECK(strstr(tn_last_error(), "too large") != NULL, "message: %s", tn_last_error());
}

/* The allocator's cache belongs to the thread that allocated first (this one); other threads allocate from
 * malloc and hand the owner's arena blocks back when they free them. */
enum { THREADS = 4, PER_THREAD = 500, ROUNDS = 20000 };

typedef struct {
  tn_tensor **to_free;          /* the owner's tensors this thread frees */
  tn_tensor *made[PER_THREAD]; /* tensors this thread makes for the owner to free */
  bool failed;
} worker;

static void *worker_run(void *arg) {
  worker *w = arg;
  int64_t n = 100;
  for (int i = 0; i < PER_THREAD; i++) tn_tensor_free(w->to_free[i]);
  for (int i = 0; i < ROUNDS; i++) { /* its own blocks, while the owner allocates on its side */
    tn_tensor *t = tn_empty(1, &n, TN_FLOAT32, TN_CPU, 0);
    if (!t || tn_fill_(t, i)) w->failed = true;
    tn_tensor_free(t);
  }
  for (int i = 0; i < PER_THREAD; i++) {
    w->made[i] = tn_empty(1, &n, TN_FLOAT64, TN_CPU, 0);
    if (!w->made[i] || tn_fill_(w->made[i], i)) w->failed = true;
  }
  return NULL;
}

static bool among(const void *p, tn_tensor *const *list, int count) {
  for (int i = 0; i < count; i++)
    if ((const void *)list[i] == p) return true;
  return false;
}

static void test_allocator_threads(void) {
  CHECK(tn_host_owner_thread(), "the first thread to allocate owns the cache");
  int64_t before = tn_memory_live_bytes(TN_CPU), n = 257;
  static tn_tensor *owned[THREADS * PER_THREAD], *again[THREADS * PER_THREAD];
  for (int i = 0; i < THREADS * PER_THREAD; i++) owned[i] = tn_empty(1, &n, TN_FLOAT32, TN_CPU, 0);
  worker workers[THREADS] = {0};
  pthread_t threads[THREADS];
  for (int k = 0; k < THREADS; k++) {
    workers[k].to_free = owned + k * PER_THREAD;
    CHECK(pthread_create(&threads[k], NULL, worker_run, &workers[k]) == 0, "pthread_create");
  }
  int64_t m = 100;
  for (int i = 0; i < ROUNDS; i++) tn_tensor_free(tn_empty(1, &m, TN_FLOAT32, TN_CPU, 0));
  for (int k = 0; k < THREADS; k++) {
    pthread_join(threads[k], NULL);
    CHECK(!workers[k].failed, "worker %d could not allocate or fill", k);
  }
  CHECK(tn_memory_live_bytes(TN_CPU) - before == THREADS * PER_THREAD * 100 * 8,
        "live bytes count the workers' tensors and none of the freed ones: %lld",
        (long long)(tn_memory_live_bytes(TN_CPU) - before));
  /* the blocks the workers handed back are the owner's next blocks of their size */
  int reused = 0;
  for (int i = 0; i < THREADS * PER_THREAD; i++) {
    again[i] = tn_empty(1, &n, TN_FLOAT32, TN_CPU, 0);
    reused += among(again[i], owned, THREADS * PER_THREAD);
  }
  CHECK(reused == THREADS * PER_THREAD, "%d of %d blocks freed by other threads came back", reused,
        THREADS * PER_THREAD);
  /* the owner frees the workers' tensors (malloc blocks) and its own */
  for (int k = 0; k < THREADS; k++)
    for (int i = 0; i < PER_THREAD; i++) {
      const double *v = (const double *)tn_base(workers[k].made[i]);
      CHECK(v[0] == i && v[99] == i, "worker %d tensor %d holds %g ... %g", k, i, v[0], v[99]);
      tn_tensor_free(workers[k].made[i]);
    }
  for (int i = 0; i < THREADS * PER_THREAD; i++) tn_tensor_free(again[i]);
  CHECK(tn_memory_live_bytes(TN_CPU) == before, "live bytes back where they were: %lld",
        (long long)(tn_memory_live_bytes(TN_CPU) - before));
}

/* Blocks of 4 MB and more are mappings of their own (lib/cpu/alloc.c): a block made or freed by any thread, cached
 * or given back, must go back the way it came (munmap, not free). */
enum { BIG = 5 << 18 }; /* floats: 5 MB */

static void *make_big(void *arg) {
  int64_t n = BIG;
  tn_tensor *t = tn_empty(1, &n, TN_FLOAT32, TN_CPU, 0);
  if (t && tn_fill_(t, 7)) t = NULL;
  *(tn_tensor **)arg = t;
  return NULL;
}

static void *free_big(void *arg) {
  tn_tensor_free(arg);
  return NULL;
}

static void test_large_blocks(void) {
  int64_t before = tn_memory_live_bytes(TN_CPU), n = BIG;
  tn_tensor *a = tn_empty(1, &n, TN_FLOAT32, TN_CPU, 0);
  CHECK(a != NULL && tn_fill_(a, 3) == 0, "a 5 MB tensor: %s", tn_last_error());
  const float *v = (const float *)tn_base(a);
  CHECK(v[0] == 3 && v[BIG - 1] == 3, "it holds %g ... %g", v[0], v[BIG - 1]);
  void *block = a->storage;
  tn_tensor_free(a);
  a = tn_empty(1, &n, TN_FLOAT32, TN_CPU, 0);
  CHECK(a != NULL && (void *)a->storage == block, "the cached block comes back");
  pthread_t th;
  tn_tensor *theirs = NULL;
  CHECK(pthread_create(&th, NULL, make_big, &theirs) == 0, "pthread_create");
  pthread_join(th, NULL);
  CHECK(theirs != NULL && ((const float *)tn_base(theirs))[BIG - 1] == 7, "another thread's 5 MB tensor");
  CHECK(pthread_create(&th, NULL, free_big, a) == 0, "pthread_create"); /* another thread frees ours */
  pthread_join(th, NULL);
  tn_tensor_free(theirs); /* and the owner caches theirs */
  CHECK(tn_memory_live_bytes(TN_CPU) == before, "live bytes back where they were: %lld",
        (long long)(tn_memory_live_bytes(TN_CPU) - before));
  tn_memory_empty_cache(TN_CPU); /* unmaps the cached large blocks */
  a = tn_empty(1, &n, TN_FLOAT32, TN_CPU, 0);
  CHECK(a != NULL && tn_fill_(a, 1) == 0, "a 5 MB tensor after emptying the cache");
  tn_tensor_free(a);
}

/* A tensor and a view of its storage freed at the same time on two threads: the last release frees the block,
 * once. (A release that reads a count of 1 frees without a locked decrement; that is right only if no other
 * thread can hold a reference then.) */
enum { SHARED = 3000 };

static void *free_views(void *arg) {
  tn_tensor **views = arg;
  for (int i = 0; i < SHARED; i++) tn_tensor_free(views[i]);
  return NULL;
}

static int by_address(const void *a, const void *b) {
  uintptr_t x = (uintptr_t) * (tn_tensor *const *)a, y = (uintptr_t) * (tn_tensor *const *)b;
  return x < y ? -1 : x > y;
}

static void test_shared_release_threads(void) {
  int64_t before = tn_memory_live_bytes(TN_CPU), n = 64;
  static tn_tensor *bases[SHARED], *views[SHARED], *next[2 * SHARED];
  for (int i = 0; i < SHARED; i++) {
    bases[i] = tn_empty(1, &n, TN_FLOAT32, TN_CPU, 0);
    views[i] = tn_alias(bases[i]);
  }
  pthread_t other;
  CHECK(pthread_create(&other, NULL, free_views, views) == 0, "pthread_create");
  for (int i = 0; i < SHARED; i++) tn_tensor_free(bases[i]);
  pthread_join(other, NULL);
  CHECK(tn_memory_live_bytes(TN_CPU) == before, "every shared block freed once: live bytes %+lld",
        (long long)(tn_memory_live_bytes(TN_CPU) - before));
  /* a block filed twice would come out of the cache twice */
  for (int i = 0; i < 2 * SHARED; i++) next[i] = tn_empty(1, &n, TN_FLOAT32, TN_CPU, 0);
  qsort(next, 2 * SHARED, sizeof next[0], by_address);
  int repeated = 0;
  for (int i = 1; i < 2 * SHARED; i++) repeated += next[i] == next[i - 1];
  CHECK(repeated == 0, "%d blocks handed out twice", repeated);
  for (int i = 0; i < 2 * SHARED; i++) tn_tensor_free(next[i]);
  CHECK(tn_memory_live_bytes(TN_CPU) == before, "live bytes back where they were");
}

static void test_iterator_merges_dims(void) {
  int64_t sizes[3] = {4, 5, 6};
  tn_tensor *a = tn_empty(3, sizes, TN_FLOAT32, TN_CPU, 0);
  tn_iter it;
  const tn_tensor *ops[2] = {a, a};
  tn_iter_init(&it, 3, sizes, 2, ops);
  CHECK(it.ndim == 1 && it.shape[0] == 120, "contiguous dims merge into one (got %d dims)", it.ndim);
  tn_tensor *t = tn_transpose(a, 0, 2);
  const tn_tensor *ops2[2] = {t, t};
  tn_iter_init(&it, 3, t->sizes, 2, ops2);
  CHECK(it.ndim == 1 && it.strides[0][0] == 4, "a transposed tensor is walked in memory order");
  int64_t row[1] = {6};
  tn_tensor *b = tn_empty(1, row, TN_FLOAT32, TN_CPU, 0);
  const tn_tensor *ops3[2] = {a, b};
  tn_iter_init(&it, 3, sizes, 2, ops3);
  CHECK(it.ndim == 2 && it.shape[0] == 6 && it.shape[1] == 20 && it.strides[1][1] == 0,
        "a broadcast row gives two dims with a zero outer stride");
  tn_tensor_free(a);
  tn_tensor_free(t);
  tn_tensor_free(b);
}

/* The inner loop of the range test: copies float32 operand 1 into operand 0. */
static void copy_floats(char **data, const int64_t *strides, int64_t n, void *ctx) {
  (void)ctx;
  for (int64_t i = 0; i < n; i++) *(float *)(data[0] + i * strides[0]) = *(const float *)(data[1] + i * strides[1]);
}

/* The value of logical element `linear` (row-major over t's sizes) of a float32 tensor, by its strides. */
static float element(const tn_tensor *t, int64_t linear) {
  int64_t pos = t->offset;
  for (int d = t->ndim - 1; d >= 0; d--) {
    pos += (linear % t->sizes[d]) * t->strides[d];
    linear /= t->sizes[d];
  }
  return ((const float *)t->storage->data)[pos];
}

/* Splitting the iteration range anywhere (as threads do) visits every element exactly once, for strided,
 * permuted, narrowed and broadcast operands. */
static void test_iterator_ranges(void) {
  int64_t sizes[3] = {4, 5, 6};
  int32_t perm[3] = {2, 0, 1};
  tn_tensor *base = tn_empty(3, sizes, TN_FLOAT32, TN_CPU, 0);
  for (int64_t i = 0; i < base->numel; i++) ((float *)base->storage->data)[i] = (float)i;
  tn_tensor *transposed = tn_transpose(base, 0, 2), *second_row = tn_select(base, 0, 1);
  tn_tensor *flat_row = tn_select(second_row, 0, 2);
  tn_tensor *sources[4] = {tn_permute(base, 3, perm), tn_narrow(transposed, 1, 1, 3), base, tn_expand(flat_row, 3, sizes)};
  for (int k = 0; k < 4; k++) {
    const tn_tensor *src = sources[k];
    CHECK(src != NULL, "source %d: %s", k, tn_last_error());
    if (!src) continue;
    tn_tensor *dst = tn_empty(src->ndim, src->sizes, TN_FLOAT32, TN_CPU, 0);
    const tn_tensor *ops[2] = {dst, src};
    tn_iter it;
    tn_iter_init(&it, src->ndim, src->sizes, 2, ops);
    for (int64_t chunk = 1; chunk <= it.numel; chunk += 7) {
      memset(dst->storage->data, 0xff, (size_t)dst->storage->nbytes); /* NaN everywhere */
      for (int64_t begin = 0; begin < it.numel; begin += chunk)
        tn_iter_run_range(&it, begin, begin + chunk < it.numel ? begin + chunk : it.numel, copy_floats, NULL);
      int64_t wrong = 0;
      for (int64_t i = 0; i < dst->numel; i++)
        if (((float *)dst->storage->data)[i] != element(src, i)) wrong++;
      CHECK(wrong == 0, "source %d, chunks of %lld: %lld elements wrong", k, (long long)chunk, (long long)wrong);
    }
    tn_tensor_free(dst);
  }
  for (int k = 0; k < 4; k++)
    if (sources[k] != base) tn_tensor_free(sources[k]); /* base is freed below, once */
  tn_tensor_free(flat_row);
  tn_tensor_free(second_row);
  tn_tensor_free(transposed);
  tn_tensor_free(base);
}

int main(void) {
  test_half_exhaustive();
  test_bfloat16();
  test_allocator();
  test_allocator_threads();
  test_large_blocks();
  test_shared_release_threads();
  test_iterator_merges_dims();
  test_iterator_ranges();
  return CHECK_REPORT("test_core");
}
