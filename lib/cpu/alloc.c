/* alloc.c: the host memory allocator behind the CPU backend: 64-byte aligned blocks, with freed blocks kept in
 * size classes for reuse. Tensor headers, storages and small tensors are allocated and dropped at every op,
 * and going to malloc each time cost more than the op itself. Large blocks are cached too: Lua frees dead
 * tensors only when its collector has found them, so without a cache each large result would be fresh
 * memory from mmap, paying a page fault per 4 KB on first touch (several times the cost of the op).
 *
 * Classes are powers of two up to 4 KB, then quarter steps (1, 1.25, 1.5, 1.75 times a power of two), so
 * a block wastes at most a fifth of itself (a 1000-float tensor, 4 KB of data and its headers, takes 5 KB
 * and not 8: fewer lines and pages to touch between one collection and the next). The cache holds at most
 * CACHE_LIMIT bytes; when it is full, the blocks of the size class used longest ago make room (make_room).
 * tn_memory_empty_cache() returns it to the system, except the arenas' blocks.
 *
 * Blocks of up to ARENA_MAX_BYTES come from arenas: regions of ARENA_BYTES mapped once and marked for
 * transparent huge pages. A loop of small ops goes through tens of MB of blocks between two collections (a
 * dead tensor's block comes back about a cycle later); in 4 KB pages that is thousands of pages, past the
 * TLB's reach, and nearly every block cost a page walk (in a VM a nested one). In 2 MB pages it is a few
 * dozen: an add of 1000 floats in a loop took ~13% less. Arena blocks cannot go back to the system one by
 * one, so they stay cached for good; at most MAX_ARENAS regions are mapped, then malloc serves as before. */
#include "cpu.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

enum {
  MIN_SHIFT = 6,   /* 64 bytes, the smallest class */
  STEP_SHIFT = 12, /* above 4 KB, classes are quarter steps */
  MAX_SHIFT = 30,  /* up to 1 GB; larger blocks go straight to malloc */
  SMALL_CLASSES = STEP_SHIFT - MIN_SHIFT + 1,
  NUM_CLASSES = SMALL_CLASSES + 4 * (MAX_SHIFT - STEP_SHIFT)
};
static const int64_t CACHE_LIMIT = 512ll << 20;
enum { HUGE_PAGE = 2 << 20, ARENA_BYTES = 32 << 20, ARENA_MAX_BYTES = 64 << 10, MAX_ARENAS = 16 };

typedef struct free_block {
  struct free_block *next;
} free_block;

/* The CPU backend's allocator state (part of the backend registry's CPU entry). */
static struct {
  free_block *lists[NUM_CLASSES];
  uint64_t last_use[NUM_CLASSES]; /* `uses` when a block of the class was last taken or given back */
  uint64_t uses;
  int64_t cached_bytes;
  char *arenas[MAX_ARENAS]; /* each ARENA_BYTES long, aligned to a huge page */
  int num_arenas;
  char *arena_next, *arena_end; /* the unused part of the newest arena */
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

/* Fetches the start of a cached block for writing (prefetchw): as many bytes as the request that is being
 * served (the next request of a class is most often the same op again, in a loop), up to PREFETCH_LIMIT. Beyond
 * that the hardware's own stream prefetch has time to ramp up within the block. A write prefetch asks for the
 * line in exclusive state, as the op's stores will: a loop of adds of 1000 floats ran ~15% faster with it than
 * with a read prefetch into L2 (median of eight alternations 517 against 615 ns). Prefetching every other line
 * (leaving its neighbour to the adjacent-line prefetcher) or nothing was much slower (0.9 and 1.1 us). */
enum { PREFETCH_LIMIT = 16384 };

static void prefetch_block(const void *block, int64_t nbytes) {
  int64_t n = nbytes < PREFETCH_LIMIT ? nbytes : PREFETCH_LIMIT;
  for (int64_t i = 0; i < n; i += 64) __builtin_prefetch((const char *)block + i, 1, 2);
}

/* A fresh block from the arenas (under the lock), mapping a new arena when the newest one is used up; NULL when
 * MAX_ARENAS are mapped or the system refuses. */
static void *arena_take(int64_t size) {
  if (cache.arena_end - cache.arena_next < size) {
    if (cache.num_arenas == MAX_ARENAS) return NULL;
    size_t mapped = (size_t)ARENA_BYTES + HUGE_PAGE;
    char *p = mmap(NULL, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    char *start = (char *)(((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
    if (start > p) munmap(p, (size_t)(start - p));
    if (p + mapped > start + ARENA_BYTES) munmap(start + ARENA_BYTES, (size_t)(p + mapped - (start + ARENA_BYTES)));
    madvise(start, ARENA_BYTES, MADV_HUGEPAGE); /* a hint: without transparent huge pages, plain pages */
    cache.arenas[cache.num_arenas++] = start;
    cache.arena_next = start;
    cache.arena_end = start + ARENA_BYTES;
  }
  void *b = cache.arena_next;
  cache.arena_next += size;
  return b;
}

static bool in_arena(const void *p) {
  for (int i = 0; i < cache.num_arenas; i++)
    if ((const char *)p >= cache.arenas[i] && (const char *)p < cache.arenas[i] + ARENA_BYTES) return true;
  return false;
}

void *tn_host_alloc(int64_t nbytes) {
  int c = size_class(nbytes);
  if (c >= 0) {
    int64_t size = class_bytes(c);
    lock();
    cache.last_use[c] = ++cache.uses;
    free_block *b = cache.lists[c];
    if (b) {
      cache.lists[c] = b->next;
      cache.cached_bytes -= size;
      /* Cached blocks are cold: Lua frees dead tensors in batches, a collection cycle after they died, and
       * hands them out in an order no hardware prefetcher follows. An op writing a cold block stalls on each
       * line's miss (1000 floats: ~1 us in place of ~0.2). Fetching the next block of the class now overlaps
       * those misses with the rest of this op and the Lua code before the next one. */
      if (b->next) prefetch_block(b->next, nbytes);
    } else if (size <= ARENA_MAX_BYTES) {
      b = arena_take(size);
    }
    unlock();
    if (b) return b;
    return aligned_alloc(64, (size_t)size);
  }
  return aligned_alloc(64, ((size_t)nbytes + 63) & ~(size_t)63);
}

/* Makes room in a full cache for a block of `size` bytes of class `keep` by taking cached blocks of the class
 * used longest ago (above the arenas' sizes) off their list; returns them, chained, for the caller to free
 * outside the lock. A program's sizes change from phase to phase: without this, the blocks of a finished phase
 * (say products of 2048 x 2048) held the cache, and every result of the next phase's size (10^7 floats) went
 * back to the system when freed and came back as fresh pages, a page fault each 4 KB: a + b took 29 ms instead
 * of 7. */
static free_block *make_room(int keep, int64_t size) {
  free_block *evicted = NULL;
  while (cache.cached_bytes + size > CACHE_LIMIT) {
    int victim = -1;
    for (int c = size_class(ARENA_MAX_BYTES) + 1; c < NUM_CLASSES; c++)
      if (c != keep && cache.lists[c] && (victim < 0 || cache.last_use[c] < cache.last_use[victim])) victim = c;
    if (victim < 0) break;
    free_block *b = cache.lists[victim];
    cache.lists[victim] = b->next;
    cache.cached_bytes -= class_bytes(victim);
    b->next = evicted;
    evicted = b;
  }
  return evicted;
}

void tn_host_free(void *p, int64_t nbytes) {
  if (!p) return;
  int c = size_class(nbytes);
  free_block *evicted = NULL;
  if (c >= 0) {
    int64_t size = class_bytes(c);
    lock();
    cache.last_use[c] = ++cache.uses;
    bool keep = cache.cached_bytes + size <= CACHE_LIMIT || in_arena(p); /* the arena walk only when full */
    if (!keep) {
      evicted = make_room(c, size);
      keep = cache.cached_bytes + size <= CACHE_LIMIT;
    }
    if (keep) {
      free_block *b = p;
      b->next = cache.lists[c];
      cache.lists[c] = b;
      cache.cached_bytes += size;
      p = NULL;
    }
    unlock();
  }
  while (evicted) {
    free_block *next = evicted->next;
    free(evicted);
    evicted = next;
  }
  free(p);
}

int64_t tn_host_cached_bytes(void) { return __atomic_load_n(&cache.cached_bytes, __ATOMIC_RELAXED); }

void tn_host_empty_cache(void) {
  lock();
  for (int c = 0; c < NUM_CLASSES; c++) {
    free_block *b = cache.lists[c], *kept = NULL;
    while (b) {
      free_block *next = b->next;
      if (in_arena(b)) {
        b->next = kept;
        kept = b;
      } else {
        free(b);
        cache.cached_bytes -= class_bytes(c);
      }
      b = next;
    }
    cache.lists[c] = kept;
  }
  unlock();
}
