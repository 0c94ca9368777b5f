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
 * one, so they stay cached for good; at most MAX_ARENAS regions are mapped, then malloc serves as before.
 *
 * The cache belongs to one thread, the owner: the first to call in, normally the one running Lua. Its calls take
 * no lock, and neither does its accounting (storage.c). A locked instruction waits until every earlier store has
 * reached the cache, and after an op that wrote a cold result that is the whole miss latency of its lines: with a
 * lock in each allocation, c = a + b on 1000 floats cycling through 32 MB of results took ~355 ns in C, without
 * ~300. Other threads (inside a kernel, or a program's own) get their blocks as uncached blocks are got (malloc,
 * or a mapping of its own from 4 MB up: block_alloc) and give them back the same way, except arena blocks, which
 * they hand to the owner on a lock-free stack (`returned`); the owner files those in its lists at its next
 * allocation. */
#include "cpu.h"

#include <pthread.h>
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
  int size_class; /* set on blocks handed back by other threads */
} free_block;

/* The CPU backend's allocator state (part of the backend registry's CPU entry). Only the owner thread writes
 * it, except `returned` (any thread) and `owner` (claimed once). */
static struct {
  free_block *lists[NUM_CLASSES];
  uint64_t last_use[NUM_CLASSES]; /* `uses` when a block of the class was last taken or given back */
  uint64_t uses;
  int64_t cached_bytes;     /* read by any thread */
  char *arenas[MAX_ARENAS]; /* each ARENA_BYTES long, aligned to a huge page */
  int num_arenas;           /* read by any thread (in_arena): published after its arena */
  char *arena_next, *arena_end; /* the unused part of the newest arena */
  uintptr_t owner;          /* pthread_self() of the owner thread; 0 until the first call */
  free_block *returned;     /* arena blocks other threads have freed, for the owner to file */
} cache;

bool tn_host_owner_thread(void) {
  uintptr_t self = (uintptr_t)pthread_self(), owner = __atomic_load_n(&cache.owner, __ATOMIC_RELAXED);
  if (owner == self) return true;
  if (owner) return false;
  return __atomic_compare_exchange_n(&cache.owner, &owner, self, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

/* cached_bytes += delta, by the owner: a plain add, stored whole for readers on other threads. */
static void add_cached(int64_t delta) {
  __atomic_store_n(&cache.cached_bytes, cache.cached_bytes + delta, __ATOMIC_RELAXED);
}

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

/* len bytes (a multiple of 4 KB) of fresh memory starting at a huge page and marked for transparent huge pages;
 * NULL when the system refuses. */
static char *map_huge(size_t len) {
  size_t mapped = len + HUGE_PAGE;
  char *p = mmap(NULL, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return NULL;
  char *start = (char *)(((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
  if (start > p) munmap(p, (size_t)(start - p));
  if (p + mapped > start + len) munmap(start + len, (size_t)(p + mapped - (start + len)));
  madvise(start, len, MADV_HUGEPAGE); /* a hint: without transparent huge pages, plain pages */
  return start;
}

/* A fresh block from the arenas, mapping a new arena when the newest one is used up; NULL when
 * MAX_ARENAS are mapped or the system refuses. */
static void *arena_take(int64_t size) {
  if (cache.arena_end - cache.arena_next < size) {
    if (cache.num_arenas == MAX_ARENAS) return NULL;
    char *start = map_huge(ARENA_BYTES);
    if (!start) return NULL;
    cache.arenas[cache.num_arenas] = start;
    __atomic_store_n(&cache.num_arenas, cache.num_arenas + 1, __ATOMIC_RELEASE);
    cache.arena_next = start;
    cache.arena_end = start + ARENA_BYTES;
  }
  void *b = cache.arena_next;
  cache.arena_next += size;
  return b;
}

static bool in_arena(const void *p) {
  int arenas = __atomic_load_n(&cache.num_arenas, __ATOMIC_ACQUIRE);
  for (int i = 0; i < arenas; i++)
    if ((const char *)p >= cache.arenas[i] && (const char *)p < cache.arenas[i] + ARENA_BYTES) return true;
  return false;
}

/* Blocks of HUGE_MIN bytes or more are mapped on their own, aligned to a huge page and marked for transparent
 * huge pages; smaller ones come from malloc. Reading 10^7 floats from 4 KB pages took 3.8-4.0 ms on the AMD
 * development VM, from 2 MB pages 3.0 (a page walk every 4 KB, past the TLB's reach), and a fresh block faults
 * once per 2 MB instead of per 4 KB. Which of the two a block is follows from its size alone, so any thread frees
 * any block correctly (sanitizer builds use malloc throughout, for the sanitizer to see every block). */
enum { HUGE_MIN = 4 << 20 };

static size_t mapped_bytes(size_t size) { return (size + 4095) & ~(size_t)4095; }

static void *block_alloc(size_t size) {
#ifndef TN_NO_BLOCK_CACHE
  if (size >= HUGE_MIN) return map_huge(mapped_bytes(size));
#endif
  return aligned_alloc(64, (size + 63) & ~(size_t)63);
}

static void block_free(void *p, size_t size) {
#ifndef TN_NO_BLOCK_CACHE
  if (size >= HUGE_MIN) {
    munmap(p, mapped_bytes(size));
    return;
  }
#endif
  free(p);
}

static void file_block(void *p, int c);

/* Files the arena blocks other threads have handed back. */
static void take_returned(void) {
  if (!__atomic_load_n(&cache.returned, __ATOMIC_RELAXED)) return;
  free_block *b = __atomic_exchange_n(&cache.returned, NULL, __ATOMIC_ACQUIRE);
  while (b) {
    free_block *next = b->next;
    file_block(b, b->size_class);
    b = next;
  }
}

void *tn_host_alloc(int64_t nbytes) {
  int c = size_class(nbytes);
  if (c < 0) return block_alloc((size_t)nbytes);
  int64_t size = class_bytes(c);
  /* a class's size, so that the owner can cache the block when it frees it */
  if (!tn_host_owner_thread()) return block_alloc((size_t)size);
  take_returned();
  cache.last_use[c] = ++cache.uses;
  free_block *b = cache.lists[c];
  if (b) {
    cache.lists[c] = b->next;
    add_cached(-size);
    /* Cached blocks are cold: Lua frees dead tensors in batches, a collection cycle after they died, and
     * hands them out in an order no hardware prefetcher follows. An op writing a cold block stalls on each
     * line's miss (1000 floats: ~1 us in place of ~0.2). Fetching the next block of the class now overlaps
     * those misses with the rest of this op and the Lua code before the next one. */
    if (b->next) prefetch_block(b->next, nbytes);
    return b;
  }
  if (size <= ARENA_MAX_BYTES && (b = arena_take(size))) return b;
  return block_alloc((size_t)size);
}

/* Makes room in a full cache for a block of `size` bytes of class `keep` by taking cached blocks of the class
 * used longest ago (above the arenas' sizes) off their list and freeing them. A program's sizes change from phase
 * to phase: without this, the blocks of a finished phase (say products of 2048 x 2048) held the cache, and every
 * result of the next phase's size (10^7 floats) went back to the system when freed and came back as fresh pages,
 * a page fault each 4 KB: a + b took 29 ms instead of 7. */
static void make_room(int keep, int64_t size) {
  while (cache.cached_bytes + size > CACHE_LIMIT) {
    int victim = -1;
    for (int c = size_class(ARENA_MAX_BYTES) + 1; c < NUM_CLASSES; c++)
      if (c != keep && cache.lists[c] && (victim < 0 || cache.last_use[c] < cache.last_use[victim])) victim = c;
    if (victim < 0) return;
    free_block *b = cache.lists[victim];
    cache.lists[victim] = b->next;
    add_cached(-class_bytes(victim));
    block_free(b, (size_t)class_bytes(victim));
  }
}

/* The owner keeps a freed block of class c in the cache, or gives it back to the system. */
static void file_block(void *p, int c) {
  int64_t size = class_bytes(c);
  cache.last_use[c] = ++cache.uses;
  bool keep = cache.cached_bytes + size <= CACHE_LIMIT || in_arena(p); /* the arena walk only when full */
  if (!keep) {
    make_room(c, size);
    keep = cache.cached_bytes + size <= CACHE_LIMIT;
  }
  if (!keep) {
    block_free(p, (size_t)size);
    return;
  }
  free_block *b = p;
  b->next = cache.lists[c];
  cache.lists[c] = b;
  add_cached(size);
}

void tn_host_free(void *p, int64_t nbytes) {
  if (!p) return;
  int c = size_class(nbytes);
  if (c >= 0 && tn_host_owner_thread()) {
    file_block(p, c);
  } else if (c >= 0 && in_arena(p)) {
    free_block *b = p, *head = __atomic_load_n(&cache.returned, __ATOMIC_RELAXED);
    b->size_class = c;
    do b->next = head;
    while (!__atomic_compare_exchange_n(&cache.returned, &head, b, true, __ATOMIC_RELEASE, __ATOMIC_RELAXED));
  } else {
    block_free(p, (size_t)(c >= 0 ? class_bytes(c) : nbytes));
  }
}

int64_t tn_host_cached_bytes(void) { return __atomic_load_n(&cache.cached_bytes, __ATOMIC_RELAXED); }

void tn_host_empty_cache(void) {
  if (!tn_host_owner_thread()) return; /* the cache is the owner's to empty */
  take_returned();
  for (int c = 0; c < NUM_CLASSES; c++) {
    free_block *b = cache.lists[c], *kept = NULL;
    while (b) {
      free_block *next = b->next;
      if (in_arena(b)) {
        b->next = kept;
        kept = b;
      } else {
        block_free(b, (size_t)class_bytes(c));
        add_cached(-class_bytes(c));
      }
      b = next;
    }
    cache.lists[c] = kept;
  }
}
