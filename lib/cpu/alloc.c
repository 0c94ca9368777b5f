/* alloc.c: the host memory allocator behind the CPU backend: 64-byte aligned blocks, with freed blocks kept in
 * size classes for reuse. Tensor headers, storages and small tensors are allocated and dropped at every op,
 * and going to malloc each time cost more than the op itself. Large blocks are cached too: Lua frees dead
 * tensors only when its collector has found them, so without a cache each large result would be fresh
 * memory from mmap, paying a page fault per 4 KB on first touch (several times the cost of the op).
 *
 * Classes are powers of two up to 4 KB, then quarter steps (1, 1.25, 1.5, 1.75 times a power of two), so
 * a block wastes at most a fifth of itself (a 1000-float tensor, 4 KB of data and its headers, takes 5 KB
 * and not 8: fewer lines and pages to touch between one collection and the next). The cache holds at most
 * CACHE_LIMIT bytes; tn_memory_empty_cache() returns it to the system. */
#include "cpu.h"

#include <stdlib.h>

enum {
  MIN_SHIFT = 6,   /* 64 bytes, the smallest class */
  STEP_SHIFT = 12, /* above 4 KB, classes are quarter steps */
  MAX_SHIFT = 30,  /* up to 1 GB; larger blocks go straight to malloc */
  SMALL_CLASSES = STEP_SHIFT - MIN_SHIFT + 1,
  NUM_CLASSES = SMALL_CLASSES + 4 * (MAX_SHIFT - STEP_SHIFT)
};
static const int64_t CACHE_LIMIT = 512ll << 20;

typedef struct free_block {
  struct free_block *next;
} free_block;

/* The CPU backend's allocator state (part of the backend registry's CPU entry). */
static struct {
  free_block *lists[NUM_CLASSES];
  int64_t cached_bytes;
  int lock;
} cache;

static void lock(void) {
  while (__atomic_exchange_n(&cache.lock, 1, __ATOMIC_ACQUIRE))
    while (__atomic_load_n(&cache.lock, __ATOMIC_RELAXED)) __builtin_ia32_pause();
}
static void unlock(void) { __atomic_store_n(&cache.lock, 0, __ATOMIC_RELEASE); }

/* The size class of a request, or -1 beyond the largest class (always -1 in sanitizer builds, so that every
 * allocation and free reaches the sanitizer). */
static int size_class(int64_t nbytes) {
#ifdef TN_NO_BLOCK_CACHE
  (void)nbytes;
  return -1;
#endif
  if (nbytes <= (1ll << STEP_SHIFT)) {
    int shift = MIN_SHIFT;
    while ((1ll << shift) < nbytes) shift++;
    return shift - MIN_SHIFT;
  }
  if (nbytes > (1ll << MAX_SHIFT)) return -1;
  int shift = STEP_SHIFT;
  while ((2ll << shift) < nbytes) shift++; /* 2^shift < nbytes <= 2^(shift+1) */
  int64_t quarter = 1ll << (shift - 2);
  int step = (int)((nbytes - (1ll << shift) + quarter - 1) / quarter); /* 1..4 quarters above 2^shift */
  return SMALL_CLASSES + 4 * (shift - STEP_SHIFT) + step - 1;
}

/* The block size of a class. */
static int64_t class_bytes(int c) {
  if (c < SMALL_CLASSES) return 1ll << (c + MIN_SHIFT);
  int k = c - SMALL_CLASSES, shift = STEP_SHIFT + k / 4;
  return (1ll << shift) + (int64_t)(k % 4 + 1) * (1ll << (shift - 2));
}

/* Fetches the start of a cached block into L2: as many bytes as the request that is being served (the next
 * request of a class is most often the same op again, in a loop), up to PREFETCH_LIMIT. Beyond that the
 * hardware's own stream prefetch has time to ramp up within the block. A read prefetch (into L2, whose queue takes
 * more misses at once than L1's) serves as well as a write one: the line arrives exclusive, and the store to it
 * needs no second request. */
enum { PREFETCH_LIMIT = 16384 };

static void prefetch_block(const void *block, int64_t nbytes) {
  int64_t n = nbytes < PREFETCH_LIMIT ? nbytes : PREFETCH_LIMIT;
  for (int64_t i = 0; i < n; i += 64) __builtin_prefetch((const char *)block + i, 0, 2);
}

void *tn_host_alloc(int64_t nbytes) {
  int c = size_class(nbytes);
  if (c >= 0) {
    int64_t size = class_bytes(c);
    lock();
    free_block *b = cache.lists[c];
    if (b) {
      cache.lists[c] = b->next;
      cache.cached_bytes -= size;
      /* Cached blocks are cold: Lua frees dead tensors in batches, a collection cycle after they died, and
       * hands them out in an order no hardware prefetcher follows. An op writing a cold block stalls on each
       * line's miss (1000 floats: ~1 us in place of ~0.2). Fetching the next block of the class now overlaps
       * those misses with the rest of this op and the Lua code before the next one. */
      if (b->next) prefetch_block(b->next, nbytes);
    }
    unlock();
    if (b) return b;
    return aligned_alloc(64, (size_t)size);
  }
  return aligned_alloc(64, ((size_t)nbytes + 63) & ~(size_t)63);
}

void tn_host_free(void *p, int64_t nbytes) {
  if (!p) return;
  int c = size_class(nbytes);
  if (c >= 0) {
    int64_t size = class_bytes(c);
    lock();
    if (cache.cached_bytes + size <= CACHE_LIMIT) {
      free_block *b = p;
      b->next = cache.lists[c];
      cache.lists[c] = b;
      cache.cached_bytes += size;
      p = NULL;
    }
    unlock();
  }
  free(p);
}

int64_t tn_host_cached_bytes(void) { return __atomic_load_n(&cache.cached_bytes, __ATOMIC_RELAXED); }

void tn_host_empty_cache(void) {
  lock();
  for (int c = 0; c < NUM_CLASSES; c++) {
    free_block *b = cache.lists[c];
    while (b) {
      free_block *next = b->next;
      free(b);
      b = next;
    }
    cache.lists[c] = NULL;
  }
  cache.cached_bytes = 0;
  unlock();
}
