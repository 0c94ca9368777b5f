/* sort.c: CPU kernels of the ordering ops: sort, topk, kthvalue, unique, searchsorted.
 *
 * Every element maps to an unsigned key whose integer order is the sort order: floats by their bits with the
 * negative half mirrored, NaN above +inf (PyTorch's order), -0.0 equal to 0.0; integers with the sign bit
 * flipped. Descending order complements the key. A key of 32 bits or fewer packs with the element's 32-bit
 * position into one uint64 "narrow item" (key high, position low); 64-bit keys, and rows of 2^32 elements or
 * more, use "wide items" (key, position). Items compare as (key, position), so all are distinct and any sort
 * of them is the stable sort. Rows sort with an LSD radix sort on the key bytes (skipping bytes where all keys
 * agree), short rows with insertion sort; topk selects with a bounded heap (small k) or quickselect, kthvalue
 * with quickselect. Independent rows run in parallel, each thread with its own scratch items. */
#include "cpu.h"

#include <omp.h>
#include <stdlib.h>

/* ---- keys ---- */

static inline uint64_t key_f32(float v) {
  uint32_t u;
  memcpy(&u, &v, 4);
  if (v != v) return 0xffffffffu;
  if (u == 0x80000000u) u = 0; /* -0.0 sorts as 0.0 */
  return u >> 31 ? ~u : u | 0x80000000u;
}
static inline uint64_t key_f64(double v) {
  uint64_t u;
  memcpy(&u, &v, 8);
  if (v != v) return ~(uint64_t)0;
  if (u == 0x8000000000000000u) u = 0;
  return u >> 63 ? ~u : u | 0x8000000000000000u;
}
/* float16 and bfloat16: the same on 16 bits; nan_above is the largest non-NaN magnitude's bit pattern */
static inline uint64_t key_half_bits(uint16_t h, uint16_t inf) {
  if ((h & 0x7fffu) > inf) return 0xffffu;
  if (h == 0x8000u) h = 0;
  return h >> 15 ? (uint16_t)~h : (uint16_t)(h | 0x8000u);
}
static inline uint64_t key_f16(uint16_t h) { return key_half_bits(h, 0x7c00u); }
static inline uint64_t key_bf16(uint16_t h) { return key_half_bits(h, 0x7f80u); }
static inline uint64_t key_i64(int64_t v) { return (uint64_t)v ^ 0x8000000000000000u; }
static inline uint64_t key_i32(int32_t v) { return (uint32_t)v ^ 0x80000000u; }
static inline uint64_t key_i16(int16_t v) { return (uint16_t)v ^ 0x8000u; }
static inline uint64_t key_i8(int8_t v) { return (uint8_t)v ^ 0x80u; }
static inline uint64_t key_u8(uint8_t v) { return v; }
static inline uint64_t key_b8(uint8_t v) { return v != 0; }

#define KEY_BYTES(ENUM, SUF, T, CT, KIND) [ENUM] = sizeof(T),
static const int key_bytes_of[TN_NUM_DTYPES] = {TN_FOREACH_DTYPE(KEY_BYTES)};

/* The key of NaN for a floating dtype (its all-ones key), for ops that tell NaN apart. */
static uint64_t nan_key(int dtype) {
  int bits = 8 * key_bytes_of[dtype];
  return bits == 64 ? ~(uint64_t)0 : ((uint64_t)1 << bits) - 1;
}

/* ---- items ---- */

typedef uint64_t narrow_item;
typedef struct wide_item {
  uint64_t key, pos;
} wide_item;

#define NARROW_LESS(a, b) ((a) < (b))
#define NARROW_KEY(a) ((a) >> 32)
#define NARROW_POS(a) ((a) & 0xffffffffu)
#define WIDE_LESS(a, b) ((a).key < (b).key || ((a).key == (b).key && (a).pos < (b).pos))
#define WIDE_KEY(a) ((a).key)
#define WIDE_POS(a) ((a).pos)

/* Loaders: the items of row elements [begin, begin + count), keys XOR flip (descending: all ones). */
typedef void (*load_fn)(const char *row, int64_t stride, int64_t begin, int64_t count, uint64_t flip, void *items);

#define DEFINE_LOADERS(ENUM, SUF, T, CT, KIND)                                                         \
  static void load_narrow_##SUF(const char *row, int64_t stride, int64_t begin, int64_t count, uint64_t flip, \
                                void *items) {                                                         \
    narrow_item *out = items;                                                                          \
    const char *p = row + begin * stride;                                                              \
    for (int64_t i = 0; i < count; i++)                                                                \
      out[i] = ((key_##SUF(*(const T *)(p + i * stride)) ^ flip) << 32) | (uint64_t)(begin + i);       \
  }                                                                                                    \
  static void load_wide_##SUF(const char *row, int64_t stride, int64_t begin, int64_t count, uint64_t flip, \
                              void *items) {                                                           \
    wide_item *out = items;                                                                            \
    const char *p = row + begin * stride;                                                              \
    for (int64_t i = 0; i < count; i++)                                                                \
      out[i] = (wide_item){key_##SUF(*(const T *)(p + i * stride)) ^ flip, (uint64_t)(begin + i)};     \
  }
TN_FOREACH_DTYPE(DEFINE_LOADERS)
#define NARROW_ENTRY(ENUM, SUF, T, CT, KIND) [ENUM] = sizeof(T) < 8 ? load_narrow_##SUF : NULL,
#define WIDE_ENTRY(ENUM, SUF, T, CT, KIND) [ENUM] = load_wide_##SUF,
static const load_fn narrow_loaders[TN_NUM_DTYPES] = {TN_FOREACH_DTYPE(NARROW_ENTRY)};
static const load_fn wide_loaders[TN_NUM_DTYPES] = {TN_FOREACH_DTYPE(WIDE_ENTRY)};

/* ---- sorting and selecting items, for both item types ---- */

enum { INSERTION_MAX = 16, MERGE_MAX = 48, HEAP_BLOCK = 256, RADIX_MAX_PASSES = 8 };

#define DEFINE_ITEM_ALGORITHMS(NAME, ITEM, LESS, KEY)                                                  \
  static void insertion_sort_##NAME(ITEM *a, int64_t n) {                                              \
    for (int64_t i = 1; i < n; i++) {                                                                  \
      ITEM v = a[i];                                                                                   \
      int64_t j = i;                                                                                   \
      for (; j > 0 && LESS(v, a[j - 1]); j--) a[j] = a[j - 1];                                         \
      a[j] = v;                                                                                        \
    }                                                                                                  \
  }                                                                                                    \
                                                                                                       \
  /* LSD radix sort (stable, so ties keep position order) over the bits where the keys differ, in digits  \
   * of 11 bits for long rows (8 for short ones, whose histograms would cost more than the passes save);  \
   * returns a or tmp, whichever holds the result. */                                                  \
  static ITEM *radix_sort_##NAME(ITEM *a, ITEM *tmp, int64_t n, int key_bytes) {                       \
    (void)key_bytes;                                                                                   \
    uint64_t first = KEY(a[0]), differ = 0;                                                            \
    for (int64_t i = 0; i < n; i++) differ |= KEY(a[i]) ^ first;                                       \
    if (!differ) return a;                                                                             \
    int low = __builtin_ctzll(differ), high = 64 - __builtin_clzll(differ);                            \
    int bits = n >= (1 << 16) ? 11 : 8, passes = (high - low + bits - 1) / bits;                       \
    uint64_t mask = ((uint64_t)1 << bits) - 1;                                                         \
    int64_t counts[RADIX_MAX_PASSES][1 << 11];                                                         \
    for (int p = 0; p < passes; p++) memset(counts[p], 0, sizeof(int64_t) << bits);                    \
    for (int64_t i = 0; i < n; i++) {                                                                  \
      uint64_t k = KEY(a[i]) >> low;                                                                   \
      for (int p = 0; p < passes; p++) counts[p][(k >> (p * bits)) & mask]++;                          \
    }                                                                                                  \
    for (int p = 0; p < passes; p++) {                                                                 \
      int shift = low + p * bits;                                                                      \
      int64_t offset = 0;                                                                              \
      for (uint64_t d = 0; d <= mask; d++) {                                                           \
        int64_t c = counts[p][d];                                                                      \
        counts[p][d] = offset;                                                                         \
        offset += c;                                                                                   \
      }                                                                                                \
      int64_t *restrict slot = counts[p];                                                              \
      for (int64_t i = 0; i < n; i++) tmp[slot[(KEY(a[i]) >> shift) & mask]++] = a[i];                 \
      ITEM *swap = a;                                                                                  \
      a = tmp;                                                                                         \
      tmp = swap;                                                                                      \
    }                                                                                                  \
    return a;                                                                                          \
  }                                                                                                    \
                                                                                                       \
  /* Merge sort for short rows, where a radix sort's histograms cost more than the comparisons: runs of \
   * INSERTION_MAX sorted by insertion, then merged pairwise; returns a or tmp. */                     \
  static ITEM *merge_sort_##NAME(ITEM *a, ITEM *tmp, int64_t n) {                                      \
    for (int64_t lo = 0; lo < n; lo += INSERTION_MAX)                                                  \
      insertion_sort_##NAME(a + lo, n - lo < INSERTION_MAX ? n - lo : INSERTION_MAX);                  \
    for (int64_t width = INSERTION_MAX; width < n; width *= 2) {                                       \
      for (int64_t lo = 0; lo < n; lo += 2 * width) {                                                  \
        int64_t mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;   \
        int64_t i = lo, j = mid, o = lo;                                                               \
        while (i < mid && j < hi) tmp[o++] = LESS(a[j], a[i]) ? a[j++] : a[i++];                       \
        while (i < mid) tmp[o++] = a[i++];                                                             \
        while (j < hi) tmp[o++] = a[j++];                                                              \
      }                                                                                                \
      ITEM *swap = a;                                                                                  \
      a = tmp;                                                                                         \
      tmp = swap;                                                                                      \
    }                                                                                                  \
    return a;                                                                                          \
  }                                                                                                    \
                                                                                                       \
  static ITEM *sort_items_##NAME(ITEM *a, ITEM *tmp, int64_t n, int key_bytes) {                       \
    if (n <= INSERTION_MAX) {                                                                          \
      insertion_sort_##NAME(a, n);                                                                     \
      return a;                                                                                        \
    }                                                                                                  \
    if (n <= MERGE_MAX) return merge_sort_##NAME(a, tmp, n);                                           \
    return radix_sort_##NAME(a, tmp, n, key_bytes);                                                    \
  }                                                                                                    \
                                                                                                       \
  /* Reorders a so that a[k] is the item of rank k, smaller items before it and larger after         \
   * (quickselect with a median-of-three pivot; a range that resists shrinking is sorted instead). */  \
  static void select_##NAME(ITEM *a, ITEM *tmp, int64_t n, int64_t k, int key_bytes) {                 \
    int64_t lo = 0, hi = n - 1, budget = 64;                                                           \
    while (hi - lo > INSERTION_MAX) {                                                                  \
      if (--budget == 0) {                                                                             \
        ITEM *sorted = radix_sort_##NAME(a + lo, tmp, hi - lo + 1, key_bytes);                         \
        if (sorted != a + lo) memcpy(a + lo, sorted, sizeof(ITEM) * (size_t)(hi - lo + 1));            \
        return;                                                                                        \
      }                                                                                                \
      int64_t mid = lo + (hi - lo) / 2;                                                                \
      ITEM t;                                                                                          \
      if (LESS(a[mid], a[lo])) t = a[mid], a[mid] = a[lo], a[lo] = t;                                  \
      if (LESS(a[hi], a[lo])) t = a[hi], a[hi] = a[lo], a[lo] = t;                                     \
      if (LESS(a[hi], a[mid])) t = a[hi], a[hi] = a[mid], a[mid] = t;                                  \
      ITEM pivot = a[mid];                                                                             \
      int64_t i = lo, j = hi;                                                                          \
      while (i <= j) {                                                                                 \
        while (LESS(a[i], pivot)) i++;                                                                 \
        while (LESS(pivot, a[j])) j--;                                                                 \
        if (i <= j) {                                                                                  \
          t = a[i], a[i] = a[j], a[j] = t;                                                             \
          i++, j--;                                                                                    \
        }                                                                                              \
      }                                                                                                \
      if (k <= j) hi = j;                                                                              \
      else if (k >= i) lo = i;                                                                         \
      else return;                                                                                     \
    }                                                                                                  \
    insertion_sort_##NAME(a + lo, hi - lo + 1);                                                        \
  }                                                                                                    \
                                                                                                       \
  static void sift_down_##NAME(ITEM *heap, int64_t k, int64_t i) {                                     \
    ITEM v = heap[i];                                                                                  \
    for (;;) {                                                                                         \
      int64_t c = 2 * i + 1;                                                                           \
      if (c >= k) break;                                                                               \
      if (c + 1 < k && LESS(heap[c], heap[c + 1])) c++;                                                \
      if (!LESS(v, heap[c])) break;                                                                    \
      heap[i] = heap[c];                                                                               \
      i = c;                                                                                           \
    }                                                                                                  \
    heap[i] = v;                                                                                       \
  }                                                                                                    \
                                                                                                       \
  /* The k smallest items of a row into heap[0..k) (unordered), reading the row in blocks: a max-heap   \
   * of the best k so far; most items lose to its root in one comparison. */                          \
  static void heap_select_##NAME(ITEM *heap, int64_t k, load_fn load, const char *row, int64_t stride,  \
                                 int64_t n, uint64_t flip) {                                           \
    ITEM block[HEAP_BLOCK];                                                                            \
    load(row, stride, 0, k, flip, heap);                                                               \
    for (int64_t i = k / 2; i-- > 0;) sift_down_##NAME(heap, k, i);                                    \
    for (int64_t begin = k; begin < n; begin += HEAP_BLOCK) {                                          \
      int64_t count = n - begin < HEAP_BLOCK ? n - begin : HEAP_BLOCK;                                 \
      load(row, stride, begin, count, flip, block);                                                    \
      for (int64_t i = 0; i < count; i++)                                                              \
        if (LESS(block[i], heap[0])) {                                                                 \
          heap[0] = block[i];                                                                          \
          sift_down_##NAME(heap, k, 0);                                                                \
        }                                                                                              \
    }                                                                                                  \
  }
DEFINE_ITEM_ALGORITHMS(narrow, narrow_item, NARROW_LESS, NARROW_KEY)
DEFINE_ITEM_ALGORITHMS(wide, wide_item, WIDE_LESS, WIDE_KEY)

/* ---- rows ---- */

/* A tensor's row r: the elements at every coordinate but `dim`, enumerated in row-major order. */
static char *row_at(const tn_tensor *t, const int64_t *sizes, int dim, int64_t r) {
  int64_t offset = 0;
  for (int d = t->ndim - 1; d >= 0; d--) {
    if (d == dim) continue;
    offset += (r % sizes[d]) * t->strides[d];
    r /= sizes[d];
  }
  return (char *)tn_data_ptr(t) + offset * tn_dtype_size(t->dtype);
}

/* Where one row's results go: values (NULL when not wanted) and indices, with their strides in bytes. */
typedef struct row_out {
  char *values;
  int64_t values_stride;
  int64_t *indices;
  int64_t indices_stride; /* in elements */
} row_out;

/* Writes count items' values (read from the row at their positions) and positions + base. */
#define DEFINE_WRITE(NAME, ITEM, POS)                                                                  \
  static void write_##NAME(const ITEM *items, int64_t count, const char *row, int64_t stride, int64_t es, \
                           const row_out *o, int64_t base) {                                           \
    for (int64_t j = 0; j < count; j++) o->indices[j * o->indices_stride] = (int64_t)POS(items[j]) + base; \
    if (!o->values) return;                                                                            \
    switch (es) {                                                                                      \
      case 1: for (int64_t j = 0; j < count; j++)                                                      \
          *(uint8_t *)(o->values + j * o->values_stride) = *(const uint8_t *)(row + POS(items[j]) * stride); \
        break;                                                                                         \
      case 2: for (int64_t j = 0; j < count; j++)                                                      \
          *(uint16_t *)(o->values + j * o->values_stride) = *(const uint16_t *)(row + POS(items[j]) * stride); \
        break;                                                                                         \
      case 4: for (int64_t j = 0; j < count; j++)                                                      \
          *(uint32_t *)(o->values + j * o->values_stride) = *(const uint32_t *)(row + POS(items[j]) * stride); \
        break;                                                                                         \
      default: for (int64_t j = 0; j < count; j++)                                                     \
          *(uint64_t *)(o->values + j * o->values_stride) = *(const uint64_t *)(row + POS(items[j]) * stride); \
    }                                                                                                  \
  }
DEFINE_WRITE(narrow, narrow_item, NARROW_POS)
DEFINE_WRITE(wide, wide_item, WIDE_POS)

enum { ORDER_SORT, ORDER_TOPK, ORDER_KTH };

/* One ordering job over the rows of x along dim. */
typedef struct order_job {
  int kind;
  const tn_tensor *x;
  tn_tensor *values, *indices;
  int dim;
  int64_t n, k;      /* row length; topk's k, kthvalue's rank (from 0) */
  uint64_t flip;     /* XORed into keys: all ones (within the key's bytes) for descending order */
  int64_t base;
  bool wide;
  int key_bytes;
} order_job;

/* The steps of a job on one row in items of one kind (a and tmp hold n items each), stamped for both kinds. */
#define DEFINE_ORDER_ITEMS(NAME, ITEM)                                                                  \
  static void order_items_##NAME(const order_job *job, ITEM *a, ITEM *tmp, load_fn load, const char *row, \
                                 int64_t stride, int64_t es, const row_out *o) {                        \
    int64_t n = job->n, k = job->k;                                                                     \
    if (job->kind == ORDER_TOPK && k * 32 <= n) {                                                       \
      heap_select_##NAME(a, k, load, row, stride, n, job->flip);                                        \
      write_##NAME(sort_items_##NAME(a, tmp, k, job->key_bytes), k, row, stride, es, o, job->base);     \
      return;                                                                                           \
    }                                                                                                   \
    load(row, stride, 0, n, job->flip, a);                                                              \
    if (job->kind == ORDER_SORT) {                                                                      \
      write_##NAME(sort_items_##NAME(a, tmp, n, job->key_bytes), n, row, stride, es, o, job->base);     \
    } else if (job->kind == ORDER_TOPK) {                                                               \
      if (k < n) select_##NAME(a, tmp, n, k - 1, job->key_bytes);                                       \
      write_##NAME(sort_items_##NAME(a, tmp, k, job->key_bytes), k, row, stride, es, o, job->base);     \
    } else {                                                                                            \
      select_##NAME(a, tmp, n, k, job->key_bytes);                                                      \
      write_##NAME(a + k, 1, row, stride, es, o, job->base);                                            \
    }                                                                                                   \
  }
DEFINE_ORDER_ITEMS(narrow, narrow_item)
DEFINE_ORDER_ITEMS(wide, wide_item)

/* Runs the job on one row with scratch room for 2n (wide) items. */
static void order_row(const order_job *job, int64_t r, void *scratch) {
  const tn_tensor *x = job->x;
  int64_t n = job->n, es = tn_dtype_size(x->dtype), stride = x->strides[job->dim] * es;
  const char *row = row_at(x, x->sizes, job->dim, r);
  row_out o = {NULL, 0, (int64_t *)row_at(job->indices, x->sizes, job->dim, r), job->indices->strides[job->dim]};
  if (job->values) {
    o.values = row_at(job->values, x->sizes, job->dim, r);
    o.values_stride = job->values->strides[job->dim] * es;
  }
  if (job->wide)
    order_items_wide(job, scratch, (wide_item *)scratch + n, wide_loaders[x->dtype], row, stride, es, &o);
  else
    order_items_narrow(job, scratch, (narrow_item *)scratch + n, narrow_loaders[x->dtype], row, stride, es, &o);
}

static int run_order(order_job *job, const char *fn) {
  const tn_tensor *x = job->x;
  int64_t n = job->n;
  if (x->numel == 0) return 0;
  int64_t rows = x->numel / n;
  job->key_bytes = key_bytes_of[x->dtype];
  job->wide = job->key_bytes == 8 || n > (int64_t)UINT32_MAX;
  if (job->flip) job->flip = nan_key(x->dtype);
  size_t item = job->wide ? sizeof(wide_item) : sizeof(narrow_item);
  int nt = tn_parallel_threads(x->numel, TN_GRAIN / 8);
  if (nt > rows) nt = (int)rows;
  int failed = 0;
  if (nt <= 1) {
    void *scratch = malloc(item * 2 * (size_t)n);
    if (!scratch) return tn_error("%s: out of memory for rows of %lld elements", fn, (long long)n);
    for (int64_t r = 0; r < rows; r++) order_row(job, r, scratch);
    free(scratch);
    return 0;
  }
#pragma omp parallel num_threads(nt)
  {
    void *scratch = malloc(item * 2 * (size_t)n);
    if (!scratch) __atomic_store_n(&failed, 1, __ATOMIC_RELAXED);
#pragma omp for schedule(dynamic, 16)
    for (int64_t r = 0; r < rows; r++)
      if (scratch) order_row(job, r, scratch);
    free(scratch);
  }
  return failed ? tn_error("%s: out of memory for rows of %lld elements", fn, (long long)n) : 0;
}

int tn_cpu_sort(tn_tensor *values, tn_tensor *indices, const tn_tensor *x, int dim, int descending, int64_t base) {
  order_job job = {ORDER_SORT, x, values, indices, dim, x->sizes[dim], 0, descending ? 1 : 0, base, false, 0};
  return run_order(&job, "sort");
}

int tn_cpu_topk(tn_tensor *values, tn_tensor *indices, const tn_tensor *x, int64_t k, int dim, int largest,
                int64_t base) {
  if (k == 0) return 0;
  order_job job = {ORDER_TOPK, x, values, indices, dim, x->sizes[dim], k, largest ? 1 : 0, base, false, 0};
  return run_order(&job, "topk");
}

int tn_cpu_kthvalue(tn_tensor *values, tn_tensor *indices, const tn_tensor *x, int64_t k, int dim, int64_t base) {
  order_job job = {ORDER_KTH, x, values, indices, dim, x->sizes[dim], k - 1, 0, base, false, 0};
  return run_order(&job, "kthvalue");
}

/* ---- unique ---- */

/* Bottom-up merge sort of n row numbers by cmp (stable). */
typedef int (*row_cmp)(int64_t a, int64_t b, const void *ctx);
static void merge_sort_rows(int64_t *a, int64_t *tmp, int64_t n, row_cmp cmp, const void *ctx) {
  for (int64_t width = 1; width < n; width *= 2) {
    for (int64_t lo = 0; lo < n; lo += 2 * width) {
      int64_t mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
      int64_t i = lo, j = mid, o = lo;
      while (i < mid && j < hi) tmp[o++] = cmp(a[j], a[i], ctx) < 0 ? a[j++] : a[i++];
      while (i < mid) tmp[o++] = a[i++];
      while (j < hi) tmp[o++] = a[j++];
    }
    memcpy(a, tmp, sizeof(int64_t) * (size_t)n);
  }
}

typedef struct rows_ctx {
  const wide_item *keys; /* one per element, rows of len */
  int64_t len;
} rows_ctx;

static int compare_rows(int64_t a, int64_t b, const void *context) {
  const rows_ctx *c = context;
  const wide_item *ra = c->keys + a * c->len, *rb = c->keys + b * c->len;
  for (int64_t j = 0; j < c->len; j++)
    if (ra[j].key != rb[j].key) return ra[j].key < rb[j].key ? -1 : 1;
  return 0;
}

/* Allocates the int64 results of unique: inverse (shape given) and counts [groups]. */
static int unique_outputs(const char *fn, const tn_tensor *x, int inverse_ndim, const int64_t *inverse_sizes,
                          int64_t groups, tn_tensor **inverse, tn_tensor **counts) {
  (void)fn;
  if (inverse && !(*inverse = tn_empty(inverse_ndim, inverse_sizes, TN_INT64, x->storage->device_type,
                                       x->storage->device_index)))
    return -1;
  if (counts && !(*counts = tn_empty(1, &groups, TN_INT64, x->storage->device_type, x->storage->device_index)))
    return -1;
  return 0;
}

/* The element of an integer or bool dtype whose key is `key` (the inverse of key_<dtype>). */
static void store_from_key(int dtype, uint64_t key, char *dst) {
  switch (dtype) {
    case TN_INT64: *(int64_t *)dst = (int64_t)(key ^ 0x8000000000000000u); break;
    case TN_INT32: *(int32_t *)dst = (int32_t)(uint32_t)(key ^ 0x80000000u); break;
    case TN_INT16: *(int16_t *)dst = (int16_t)(uint16_t)(key ^ 0x8000u); break;
    case TN_INT8: *(int8_t *)dst = (int8_t)(uint8_t)(key ^ 0x80u); break;
    default: *(uint8_t *)dst = (uint8_t)key; break; /* uint8, bool */
  }
}

enum { KEY_BLOCK = 512 };

/* Sorted unique elements of an integer or bool tensor by counting: when the keys span a small range, one
 * pass counts each key in a table indexed by key - min, and (for inverse) a second maps each element to its
 * value's rank; no sort. Returns 1 (without an error) when the range is too wide for a table. */
static int unique_by_counting(const char *fn, const tn_tensor *x, const tn_tensor *flat, int64_t base,
                              tn_tensor **values, tn_tensor **inverse, tn_tensor **counts) {
  int64_t n = flat->numel, es = tn_dtype_size(x->dtype);
  const char *data = tn_data_ptr(flat);
  load_fn load = wide_loaders[x->dtype];
  wide_item block[KEY_BLOCK];
  uint64_t lo = ~(uint64_t)0, hi = 0;
  for (int64_t at = 0; at < n; at += KEY_BLOCK) {
    int64_t m = n - at < KEY_BLOCK ? n - at : KEY_BLOCK;
    load(data, es, at, m, 0, block);
    for (int64_t i = 0; i < m; i++) {
      lo = block[i].key < lo ? block[i].key : lo;
      hi = block[i].key > hi ? block[i].key : hi;
    }
  }
  uint64_t range = n ? hi - lo + 1 : 1, limit = (uint64_t)(n > (1 << 16) ? n : 1 << 16);
  if (range == 0 || range > limit) return 1; /* (range 0: the full 64-bit span wrapped) */
  int64_t *table = calloc((size_t)range, sizeof(int64_t));
  if (!table) return tn_error("%s: out of memory", fn);
  for (int64_t at = 0; at < n; at += KEY_BLOCK) {
    int64_t m = n - at < KEY_BLOCK ? n - at : KEY_BLOCK;
    load(data, es, at, m, 0, block);
    for (int64_t i = 0; i < m; i++) table[block[i].key - lo]++;
  }
  int64_t groups = 0;
  for (uint64_t k = 0; k < range; k++) groups += table[k] != 0;
  int rc = -1;
  if (!(*values = tn_empty(1, &groups, x->dtype, TN_CPU, 0))) goto done;
  if (inverse && !(*inverse = tn_empty(x->ndim, x->sizes, TN_INT64, TN_CPU, 0))) goto done;
  if (counts && !(*counts = tn_empty(1, &groups, TN_INT64, TN_CPU, 0))) goto done;
  char *v = tn_data_ptr(*values);
  int64_t *cnt = counts ? tn_data_ptr(*counts) : NULL;
  for (uint64_t k = 0, g = 0; k < range; k++) {
    if (!table[k]) continue;
    store_from_key(x->dtype, lo + k, v + g * es);
    if (cnt) cnt[g] = table[k];
    table[k] = (int64_t)g++ + base; /* from here on, the table maps a key to its value's index */
  }
  if (inverse) {
    int64_t *inv = tn_data_ptr(*inverse);
    for (int64_t at = 0; at < n; at += KEY_BLOCK) {
      int64_t m = n - at < KEY_BLOCK ? n - at : KEY_BLOCK;
      load(data, es, at, m, 0, block);
      for (int64_t i = 0; i < m; i++) inv[at + i] = table[block[i].key - lo];
    }
  }
  rc = 0;
done:
  free(table);
  return rc;
}

/* The runs of equal keys in sorted (or, for unique_consecutive, original) order: values (the first element
 * of each run), inverse and counts. NaNs never equal anything, themselves included. */
#define DEFINE_UNIQUE_RUNS(NAME, ITEM, KEY, POS)                                                       \
  static int unique_runs_##NAME(const char *fn, const tn_tensor *x, const char *data, const ITEM *order, \
                                int64_t n, int64_t base, tn_tensor **values, tn_tensor **inverse,      \
                                tn_tensor **counts) {                                                  \
    int64_t es = tn_dtype_size(x->dtype);                                                              \
    bool floating = tn_dtype_is_floating(x->dtype);                                                    \
    uint64_t nan = floating ? nan_key(x->dtype) : 0;                                                   \
    int64_t groups = 0;                                                                                \
    for (int64_t i = 0; i < n; i++)                                                                    \
      groups += i == 0 || KEY(order[i]) != KEY(order[i - 1]) || (floating && KEY(order[i]) == nan);    \
    if (!(*values = tn_empty(1, &groups, x->dtype, TN_CPU, 0))) return -1;                             \
    if (unique_outputs(fn, x, x->ndim, x->sizes, groups, inverse, counts)) return -1;                  \
    char *v = tn_data_ptr(*values);                                                                    \
    int64_t *inv = inverse ? tn_data_ptr(*inverse) : NULL, *cnt = counts ? tn_data_ptr(*counts) : NULL; \
    int64_t g = -1;                                                                                    \
    for (int64_t i = 0; i < n; i++) {                                                                  \
      if (i == 0 || KEY(order[i]) != KEY(order[i - 1]) || (floating && KEY(order[i]) == nan)) {        \
        g++;                                                                                           \
        memcpy(v + g * es, data + (int64_t)POS(order[i]) * es, (size_t)es);                            \
        if (cnt) cnt[g] = 0;                                                                           \
      }                                                                                                \
      if (cnt) cnt[g]++;                                                                               \
      if (inv) inv[POS(order[i])] = g + base;                                                          \
    }                                                                                                  \
    return 0;                                                                                          \
  }
DEFINE_UNIQUE_RUNS(narrow, narrow_item, NARROW_KEY, NARROW_POS)
DEFINE_UNIQUE_RUNS(wide, wide_item, WIDE_KEY, WIDE_POS)

/* Unique elements of the flattened (contiguous) x. */
static int unique_flat(const char *fn, const tn_tensor *x, const tn_tensor *flat, int consecutive, int64_t base,
                       tn_tensor **values, tn_tensor **inverse, tn_tensor **counts) {
  if (!consecutive && !tn_dtype_is_floating(x->dtype)) {
    int rc = unique_by_counting(fn, x, flat, base, values, inverse, counts);
    if (rc <= 0) return rc;
  }
  int64_t n = flat->numel, es = tn_dtype_size(x->dtype);
  int key_bytes = key_bytes_of[x->dtype];
  bool wide = key_bytes == 8 || n > (int64_t)UINT32_MAX;
  size_t item = wide ? sizeof(wide_item) : sizeof(narrow_item);
  void *items = malloc(item * (consecutive ? 1 : 2) * (size_t)(n ? n : 1));
  if (!items) return tn_error("%s: out of memory for %lld elements", fn, (long long)n);
  const char *data = tn_data_ptr(flat);
  int rc;
  if (wide) {
    wide_item *a = items;
    wide_loaders[x->dtype](data, es, 0, n, 0, a);
    const wide_item *order = consecutive ? a : sort_items_wide(a, a + n, n, key_bytes);
    rc = unique_runs_wide(fn, x, data, order, n, base, values, inverse, counts);
  } else {
    narrow_item *a = items;
    narrow_loaders[x->dtype](data, es, 0, n, 0, a);
    const narrow_item *order = consecutive ? a : sort_items_narrow(a, a + n, n, key_bytes);
    rc = unique_runs_narrow(fn, x, data, order, n, base, values, inverse, counts);
  }
  free(items);
  return rc;
}

/* Unique slices along dim: rows of the tensor with dim moved first, compared element by element. */
static int unique_dim(const char *fn, const tn_tensor *x, int dim, int consecutive, int64_t base, tn_tensor **values,
                      tn_tensor **inverse, tn_tensor **counts) {
  int64_t rows = x->sizes[dim], len = rows ? x->numel / rows : 0, es = tn_dtype_size(x->dtype);
  /* x with dim first, then contiguous */
  tn_tensor moved = *x;
  int64_t moved_sizes[TN_MAX_DIMS];
  moved.sizes[0] = x->sizes[dim];
  moved.strides[0] = x->strides[dim];
  for (int d = 0, o = 1; d < x->ndim; d++)
    if (d != dim) moved.sizes[o] = x->sizes[d], moved.strides[o] = x->strides[d], o++;
  memcpy(moved_sizes, moved.sizes, sizeof moved_sizes);
  tn_tensor *rows_t = tn_contiguous(&moved);
  wide_item *keys = malloc(sizeof(wide_item) * (size_t)(x->numel ? x->numel : 1));
  int64_t *perm = malloc(sizeof(int64_t) * 2 * (size_t)(rows ? rows : 1));
  tn_tensor *packed = NULL;
  int rc = -1;
  if (!rows_t || !keys || !perm) {
    if (rows_t) tn_error("%s: out of memory", fn);
    goto done;
  }
  const char *data = tn_data_ptr(rows_t);
  wide_loaders[x->dtype](data, es, 0, x->numel, 0, keys);
  rows_ctx ctx = {keys, len};
  for (int64_t r = 0; r < rows; r++) perm[r] = r;
  if (!consecutive) merge_sort_rows(perm, perm + rows, rows, compare_rows, &ctx);
  int64_t groups = 0;
  for (int64_t i = 0; i < rows; i++) groups += i == 0 || compare_rows(perm[i], perm[i - 1], &ctx) != 0;
  /* the unique rows, packed, then placed along dim of the result */
  moved_sizes[0] = groups;
  if (!(packed = tn_empty(x->ndim, moved_sizes, x->dtype, TN_CPU, 0))) goto done;
  if (unique_outputs(fn, x, 1, &rows, groups, inverse, counts)) goto done;
  char *v = tn_data_ptr(packed);
  int64_t *inv = inverse ? tn_data_ptr(*inverse) : NULL, *cnt = counts ? tn_data_ptr(*counts) : NULL;
  int64_t g = -1;
  for (int64_t i = 0; i < rows; i++) {
    if (i == 0 || compare_rows(perm[i], perm[i - 1], &ctx) != 0) {
      g++;
      memcpy(v + g * len * es, data + perm[i] * len * es, (size_t)(len * es));
      if (cnt) cnt[g] = 0;
    }
    if (cnt) cnt[g]++;
    if (inv) inv[perm[i]] = g + base;
  }
  int64_t sizes[TN_MAX_DIMS];
  memcpy(sizes, x->sizes, sizeof sizes);
  sizes[dim] = groups;
  if (!(*values = tn_empty(x->ndim, sizes, x->dtype, TN_CPU, 0))) goto done;
  tn_tensor target = **values; /* the result viewed with dim first, like packed */
  target.sizes[0] = groups;
  target.strides[0] = (*values)->strides[dim];
  for (int d = 0, o = 1; d < x->ndim; d++)
    if (d != dim) target.sizes[o] = sizes[d], target.strides[o] = (*values)->strides[d], o++;
  if (groups > 0) tn_cpu_copy(&target, packed);
  rc = 0;
done:
  tn_tensor_free(packed);
  tn_tensor_free(rows_t);
  free(keys);
  free(perm);
  return rc;
}

int tn_cpu_unique(const char *fn, const tn_tensor *x, int dim, int consecutive, int64_t base, tn_tensor **values,
                  tn_tensor **inverse, tn_tensor **counts) {
  if (dim >= 0) return unique_dim(fn, x, dim, consecutive, base, values, inverse, counts);
  tn_tensor *flat = tn_contiguous(x);
  if (!flat) return -1;
  int rc = unique_flat(fn, x, flat, consecutive, base, values, inverse, counts);
  tn_tensor_free(flat);
  return rc;
}

/* ---- searchsorted ---- */

typedef struct search_ctx {
  int64_t length, stride; /* the sorted row: elements, bytes between them */
  int right, int32_result;
  int64_t base;
} search_ctx;

/* The number of leading elements of a sorted row that v goes after: those with !(m >= v) (left), or
 * !(m > v) (right). These are PyTorch's comparisons, so a NaN value lands after every number. The halving
 * steps select with conditional moves rather than branches, which random values would mispredict. */
#define SEARCH_LOOP(T, KIND, GOES_AFTER)                                                               \
  for (int64_t i = 0; i < n; i++) {                                                                    \
    const CT v = TN_LOAD_##KIND(*(const T *)(data[1] + i * strides[1]));                               \
    const char *seq = data[2] + i * strides[2];                                                        \
    int64_t lo = 0, len = length;                                                                      \
    while (len > 0) {                                                                                  \
      int64_t half = len >> 1;                                                                         \
      const CT m = TN_LOAD_##KIND(*(const T *)(seq + (lo + half) * stride));                           \
      int64_t after = -(int64_t)GOES_AFTER(m, v); /* all ones or zero */                               \
      lo += (half + 1) & after;                                                                        \
      len = half + ((len - 2 * half - 1) & after);                                                     \
    }                                                                                                  \
    if (int32_result) *(int32_t *)(data[0] + i * strides[0]) = (int32_t)(lo + base);                   \
    else *(int64_t *)(data[0] + i * strides[0]) = lo + base;                                           \
  }
#define AFTER_LEFT(m, v) (!((m) >= (v)))
#define AFTER_RIGHT(m, v) (!((m) > (v)))
#define DEFINE_SEARCH(ENUM, SUF, T, CT_, KIND)                                                         \
  static void search_##SUF(char **data, const int64_t *strides, int64_t n, void *context) {            \
    typedef CT_ CT;                                                                                    \
    const search_ctx *c = context;                                                                     \
    const int64_t length = c->length, stride = c->stride, base = c->base;                              \
    const int int32_result = c->int32_result;                                                          \
    if (c->right) {                                                                                    \
      SEARCH_LOOP(T, KIND, AFTER_RIGHT)                                                                \
    } else {                                                                                           \
      SEARCH_LOOP(T, KIND, AFTER_LEFT)                                                                 \
    }                                                                                                  \
  }
TN_FOREACH_DTYPE(DEFINE_SEARCH)
#define SEARCH_ENTRY(ENUM, SUF, T, CT, KIND) [ENUM] = search_##SUF,
static const tn_loop_fn search_loops[TN_NUM_DTYPES] = {TN_FOREACH_DTYPE(SEARCH_ENTRY)};

int tn_cpu_searchsorted(tn_tensor *out, const tn_tensor *sorted_view, int64_t length, int64_t stride,
                        const tn_tensor *values, int right, int64_t base) {
  search_ctx c = {length, stride * tn_dtype_size(values->dtype), right, out->dtype == TN_INT32, base};
  const tn_tensor *ops[3] = {out, values, sorted_view};
  tn_iter it;
  tn_iter_init(&it, out->ndim, out->sizes, 3, ops);
  tn_iter_run(&it, search_loops[values->dtype], &c, TN_GRAIN / 16);
  return 0;
}
