/* alloc.c: the host memory allocator behind the CPU backend: 64-byte aligned blocks, with freed blocks of up
 * to 1 MB kept in power-of-two size classes for reuse. Tensor headers, storages and small tensors are
 * allocated and dropped at every op, and going to malloc each time cost more than the op itself.
 * The cache holds at most CACHE_LIMIT bytes; tn_memory_empty_cache() returns it to the system. */
#include "cpu.h"

#include <stdlib.h>

enum { MIN_SHIFT = 6, MAX_SHIFT = 20, NUM_CLASSES = MAX_SHIFT - MIN_SHIFT + 1 };
static const int64_t CACHE_LIMIT = 256ll << 20;

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
  if (nbytes > (1ll << MAX_SHIFT)) return -1;
  int shift = MIN_SHIFT;
  while ((1ll << shift) < nbytes) shift++;
  return shift - MIN_SHIFT;
}

void *tn_host_alloc(int64_t nbytes) {
  int c = size_class(nbytes);
  if (c >= 0) {
    lock();
    free_block *b = cache.lists[c];
    if (b) {
      cache.lists[c] = b->next;
      cache.cached_bytes -= 1ll << (c + MIN_SHIFT);
    }
    unlock();
    if (b) return b;
    return aligned_alloc(64, (size_t)1 << (c + MIN_SHIFT));
  }
  return aligned_alloc(64, ((size_t)nbytes + 63) & ~(size_t)63);
}

void tn_host_free(void *p, int64_t nbytes) {
  if (!p) return;
  int c = size_class(nbytes);
  if (c >= 0) {
    int64_t size = 1ll << (c + MIN_SHIFT);
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
