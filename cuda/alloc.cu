/* alloc.cu: the caching device allocator, which keeps cudaMalloc and cudaFree off the hot path.
 *
 * Per device, memory comes from the driver in segments and is handed out in blocks:
 *  - small requests (up to 1 MiB) are rounded up to 512 bytes and carved from 2 MiB segments;
 *  - large ones are rounded up to 512 bytes too, from segments of their own size rounded up to 2 MiB (20 MiB
 *    for requests between 1 and 10 MiB, so a run of mid-sized tensors shares a few segments).
 * A request takes the best-fitting free block of its pool (the smallest that fits: an ordered set keyed by
 * size, then address) and splits off the rest when the rest is worth keeping (small pool: 512 bytes or more;
 * large pool: more than 1 MiB). A freed block merges with its free neighbours of the same segment and is at
 * once reusable: every kernel runs on its device's one stream, in order, so work queued before the free has
 * finished with the memory before work queued after the next allocation touches it.
 * When cudaMalloc fails, the cache is returned to the driver (cudaFree waits for the device) and the request
 * retried once; if that fails too, the error says how much was asked and how much is in use and reserved. */
#include "kernels.h"

#include <cuda_runtime.h>

#include <mutex>
#include <set>
#include <unordered_map>

namespace {

constexpr int64_t kRound = 512;
constexpr int64_t kSmallLimit = 1 << 20;        /* requests up to this use the small pool */
constexpr int64_t kSmallSegment = 2 << 20;
constexpr int64_t kMidLimit = 10 << 20;         /* large requests below this share 20 MiB segments */
constexpr int64_t kMidSegment = 20 << 20;
constexpr int64_t kSegmentRound = 2 << 20;
constexpr int kMaxDevices = 64;

struct Block {
  char *ptr;
  int64_t size;
  bool free;
  bool small;            /* which pool */
  Block *prev, *next;    /* neighbours in the same segment (NULL at its ends) */
};

struct BySize {
  bool operator()(const Block *a, const Block *b) const {
    return a->size != b->size ? a->size < b->size : a->ptr < b->ptr;
  }
};

struct Device {
  std::set<Block *, BySize> free_small, free_large;
  std::unordered_map<char *, Block *> used;
  tn_cuda_memory stats{};
};

std::mutex lock;
Device devices[kMaxDevices];

int64_t round_up(int64_t n, int64_t to) { return (n + to - 1) / to * to; }

std::set<Block *, BySize> &pool_of(Device &d, bool small) { return small ? d.free_small : d.free_large; }

void note_allocated(Device &d, int64_t size, int64_t requested) {
  d.stats.allocated += size;
  d.stats.requested += requested;
  if (d.stats.allocated > d.stats.max_allocated) d.stats.max_allocated = d.stats.allocated;
}

/* Returns every segment that is wholly free to the driver; the lock is held. */
void release_cached(int device, Device &d) {
  bool switched = false;
  for (int small = 0; small < 2; small++) {
    auto &pool = pool_of(d, small != 0);
    for (auto it = pool.begin(); it != pool.end();) {
      Block *b = *it;
      if (b->prev || b->next) {
        ++it;
        continue;
      }
      if (!switched) {
        tn_cuda_stream_for("empty_cache", device); /* makes the device current (tracked by device.cu) */
        switched = true;
      }
      cudaFree(b->ptr); /* waits for the device: queued kernels may still read the block */
      d.stats.reserved -= b->size;
      d.stats.device_free++;
      it = pool.erase(it);
      delete b;
    }
  }
}

/* A new segment of `size` bytes from the driver, or NULL (the CUDA error left in *error). */
Block *new_segment(int device, Device &d, int64_t size, bool small, cudaError_t *error) {
  void *p = nullptr;
  tn_cuda_stream_for("cuda alloc", device); /* makes the device current (tracked by device.cu) */
  *error = cudaMalloc(&p, (size_t)size);
  if (*error != cudaSuccess) {
    (void)cudaGetLastError();
    return nullptr;
  }
  d.stats.device_malloc++;
  d.stats.reserved += size;
  if (d.stats.reserved > d.stats.max_reserved) d.stats.max_reserved = d.stats.reserved;
  return new Block{(char *)p, size, true, small, nullptr, nullptr};
}

/* Splits `want` bytes off the front of free block b (removed from its pool) when the rest is worth keeping. */
void take(Device &d, Block *b, int64_t want) {
  int64_t rest = b->size - want;
  bool split = b->small ? rest >= kRound : rest > kSmallLimit;
  if (split) {
    Block *r = new Block{b->ptr + want, rest, true, b->small, b, b->next};
    if (b->next) b->next->prev = r;
    b->next = r;
    b->size = want;
    pool_of(d, r->small).insert(r);
  }
  b->free = false;
  d.used.emplace(b->ptr, b);
}

}  // namespace

extern "C" void *tn_cuda_alloc(int device, int64_t nbytes) {
  if (device < 0 || device >= kMaxDevices || device >= tn_cuda_devices())
    return tn_error_null("cuda alloc: invalid CUDA device %d", device);
  if (nbytes < 0) return tn_error_null("cuda alloc: negative size %lld bytes", (long long)nbytes);
  int64_t want = round_up(nbytes > 0 ? nbytes : 1, kRound);
  bool small = want <= kSmallLimit;
  std::lock_guard<std::mutex> guard(lock);
  Device &d = devices[device];
  auto &pool = pool_of(d, small);
  Block key{nullptr, want, true, small, nullptr, nullptr};
  auto it = pool.lower_bound(&key);
  Block *b = nullptr;
  if (it != pool.end()) {
    b = *it;
    pool.erase(it);
  } else {
    int64_t segment = small ? kSmallSegment : want < kMidLimit ? kMidSegment : round_up(want, kSegmentRound);
    cudaError_t error;
    b = new_segment(device, d, segment, small, &error);
    if (!b && error == cudaErrorMemoryAllocation) {
      release_cached(device, d);
      d.stats.oom_retries++;
      b = new_segment(device, d, segment, small, &error);
      /* a mid-sized request may still fit in a segment of its own size */
      if (!b && error == cudaErrorMemoryAllocation && segment > round_up(want, kSegmentRound))
        b = new_segment(device, d, round_up(want, kSegmentRound), small, &error);
    }
    if (!b) {
      if (error == cudaErrorMemoryAllocation) {
        size_t free_bytes = 0, total = 0;
        cudaMemGetInfo(&free_bytes, &total);
        (void)cudaGetLastError();
        return tn_error_null(
            "out of CUDA memory on cuda:%d: could not allocate %lld bytes (%lld bytes in use by tensors, %lld "
            "reserved by the allocator, %lld free of %lld on the device; the cache was emptied and the "
            "allocation retried)",
            device, (long long)nbytes, (long long)d.stats.allocated, (long long)d.stats.reserved,
            (long long)free_bytes, (long long)total);
      }
      return tn_error_null("cuda alloc: cudaMalloc of %lld bytes on cuda:%d failed: %s", (long long)nbytes, device,
                           cudaGetErrorString(error));
    }
  }
  take(d, b, want);
  note_allocated(d, b->size, nbytes);
  return b->ptr;
}

extern "C" void tn_cuda_free(int device, void *ptr, int64_t nbytes) {
  if (!ptr || device < 0 || device >= kMaxDevices) return;
  std::lock_guard<std::mutex> guard(lock);
  Device &d = devices[device];
  auto it = d.used.find((char *)ptr);
  if (it == d.used.end()) return; /* not ours: never happens for storages made by the backend */
  Block *b = it->second;
  d.used.erase(it);
  d.stats.allocated -= b->size;
  d.stats.requested -= nbytes;
  b->free = true;
  auto &pool = pool_of(d, b->small);
  /* merge with free neighbours */
  if (b->prev && b->prev->free) {
    Block *p = b->prev;
    pool.erase(p);
    p->size += b->size;
    p->next = b->next;
    if (b->next) b->next->prev = p;
    delete b;
    b = p;
  }
  if (b->next && b->next->free) {
    Block *n = b->next;
    pool.erase(n);
    b->size += n->size;
    b->next = n->next;
    if (n->next) n->next->prev = b;
    delete n;
  }
  pool.insert(b);
}

extern "C" int64_t tn_cuda_cached_bytes(void) {
  std::lock_guard<std::mutex> guard(lock);
  int64_t cached = 0;
  for (auto &d : devices) cached += d.stats.reserved - d.stats.allocated;
  return cached;
}

extern "C" void tn_cuda_empty_cache(void) {
  std::lock_guard<std::mutex> guard(lock);
  int n = tn_cuda_devices();
  for (int i = 0; i < n && i < kMaxDevices; i++) release_cached(i, devices[i]);
}

extern "C" void tn_cuda_alloc_stats(int device, tn_cuda_memory *out) {
  std::lock_guard<std::mutex> guard(lock);
  *out = device >= 0 && device < kMaxDevices ? devices[device].stats : tn_cuda_memory{};
}

extern "C" void tn_cuda_alloc_reset_peak(int device) {
  if (device < 0 || device >= kMaxDevices) return;
  std::lock_guard<std::mutex> guard(lock);
  devices[device].stats.max_allocated = devices[device].stats.allocated;
  devices[device].stats.max_reserved = devices[device].stats.reserved;
}
