/* storage.c: reference-counted buffers, the backend registry and its byte counters. */
#include "backend.h"
#include "internal.h"

#include <stdlib.h>

tn_backend *tn_backends[TN_NUM_DEVICE_TYPES];

void tn_register_backend(int device_type, tn_backend *backend) {
  if (device_type >= 0 && device_type < TN_NUM_DEVICE_TYPES) tn_backends[device_type] = backend;
}

static const char *device_type_name(int device_type) { return device_type == TN_CUDA ? "cuda" : "cpu"; }

tn_backend *tn_backend_for_device(const char *fn, int device_type) {
  if (device_type < 0 || device_type >= TN_NUM_DEVICE_TYPES)
    return tn_error_null("%s: unknown device type %d", fn, device_type);
  tn_backend *b = tn_backends[device_type];
  /* the CUDA backend registers itself when libtensor_cuda.so is loaded, on the first request for it */
  if (!b && device_type == TN_CUDA) {
    if (!tn_cuda_available()) return tn_error_null("%s: CUDA is not available: %s", fn, tn_cuda_status());
    b = tn_backends[device_type];
  }
  if (!b) return tn_error_null("%s: the %s backend is not loaded", fn, device_type_name(device_type));
  return b;
}

tn_backend *tn_backend_of(const char *fn, const tn_tensor *t) {
  return tn_backend_for_device(fn, t->storage->device_type);
}

tn_backend *tn_missing_kernel(const char *fn, const tn_backend *b) {
  return tn_error_null("%s: not supported on %s tensors yet", fn, b->name);
}

static int64_t live_bytes(const tn_backend *b) {
  return __atomic_load_n(&b->owner_live_bytes, __ATOMIC_RELAXED) +
         __atomic_load_n(&b->others_live_bytes, __ATOMIC_RELAXED);
}

/* Counts nbytes more (or fewer) live: the owner thread of the host cache with a plain add (stored whole for
 * readers elsewhere), other threads with an atomic one. */
static void count_live(tn_backend *b, int64_t nbytes) {
  if (tn_host_owner_thread())
    __atomic_store_n(&b->owner_live_bytes, b->owner_live_bytes + nbytes, __ATOMIC_RELAXED);
  else
    __atomic_add_fetch(&b->others_live_bytes, nbytes, __ATOMIC_RELAXED);
}

void tn_account_alloc(tn_backend *b, int64_t nbytes) {
  count_live(b, nbytes);
  int64_t live = live_bytes(b), peak = __atomic_load_n(&b->peak_bytes, __ATOMIC_RELAXED);
  while (live > peak &&
         !__atomic_compare_exchange_n(&b->peak_bytes, &peak, live, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
}

void tn_account_free(tn_backend *b, int64_t nbytes) { count_live(b, -nbytes); }

int64_t tn_memory_live_bytes(int device_type) {
  if (device_type < 0 || device_type >= TN_NUM_DEVICE_TYPES || !tn_backends[device_type]) return 0;
  return live_bytes(tn_backends[device_type]);
}

int64_t tn_memory_peak_bytes(int device_type) {
  if (device_type < 0 || device_type >= TN_NUM_DEVICE_TYPES || !tn_backends[device_type]) return 0;
  return __atomic_load_n(&tn_backends[device_type]->peak_bytes, __ATOMIC_RELAXED);
}

void tn_memory_reset_peak(int device_type) {
  if (device_type < 0 || device_type >= TN_NUM_DEVICE_TYPES || !tn_backends[device_type]) return;
  tn_backend *b = tn_backends[device_type];
  __atomic_store_n(&b->peak_bytes, live_bytes(b), __ATOMIC_RELAXED);
}

int64_t tn_memory_cached_bytes(int device_type) {
  if (device_type == TN_CPU) return tn_host_cached_bytes();
  if (device_type < 0 || device_type >= TN_NUM_DEVICE_TYPES || !tn_backends[device_type]) return 0;
  return tn_backends[device_type]->cached_bytes ? tn_backends[device_type]->cached_bytes() : 0;
}

void tn_memory_empty_cache(int device_type) {
  if (device_type == TN_CPU) {
    tn_host_empty_cache();
  } else if (device_type > 0 && device_type < TN_NUM_DEVICE_TYPES && tn_backends[device_type] &&
             tn_backends[device_type]->empty_cache) {
    tn_backends[device_type]->empty_cache();
  }
}

/* CPU storages live in one host block with their data: [prefix | storage | pad to 64 | data], where the
 * prefix may hold the header of the tensor created with them (tn_empty). One allocation instead of three. */
static int64_t block_data_offset(size_t prefix) { return ((int64_t)(prefix + sizeof(tn_storage)) + 63) & ~63ll; }

tn_storage *tn_storage_new_block(int64_t nbytes, int dtype, size_t prefix, void **prefix_out) {
  int64_t head = block_data_offset(prefix);
  char *block = tn_host_alloc(head + nbytes);
  if (!block)
    return tn_error_null("out of memory: could not allocate %lld bytes (%lld bytes of tensors are live)",
                         (long long)nbytes, (long long)tn_memory_live_bytes(TN_CPU));
  tn_storage *s = (tn_storage *)(block + prefix);
  memset(s, 0, sizeof *s);
  s->data = nbytes > 0 ? block + head : NULL;
  s->nbytes = nbytes;
  s->refcount = 1;
  s->dtype = dtype;
  s->device_type = TN_CPU;
  s->foreign = 2;
  s->deleter_ctx = block;
  tn_account_alloc(tn_backends[TN_CPU], nbytes);
  if (prefix_out) *prefix_out = block;
  return s;
}

tn_storage *tn_storage_new(int64_t nbytes, int dtype, int device_type, int device_index) {
  if (nbytes < 0) return tn_error_null("storage: negative size %lld bytes", (long long)nbytes);
  if (!tn_valid_dtype(dtype)) return tn_error_null("storage: unknown dtype %d", dtype);
  tn_backend *b = tn_backend_for_device("storage", device_type);
  if (!b) return NULL;
  if (device_type == TN_CPU) return tn_storage_new_block(nbytes, dtype, 0, NULL);
  tn_storage *s = tn_host_alloc(sizeof *s);
  if (!s) return tn_error_null("storage: out of memory for the storage header");
  memset(s, 0, sizeof *s);
  if (nbytes > 0) {
    s->data = b->alloc(device_index, nbytes);
    if (!s->data) {
      tn_host_free(s, sizeof *s);
      return NULL; /* the allocator has set the error */
    }
  }
  s->nbytes = nbytes;
  s->refcount = 1;
  s->dtype = dtype;
  s->device_type = device_type;
  s->device_index = device_index;
  return s;
}

tn_storage *tn_storage_wrap(void *data, int64_t nbytes, int dtype, int device_type, int device_index,
                            void (*deleter)(void *data, void *ctx), void *deleter_ctx) {
  if (nbytes < 0) return tn_error_null("from_pointer: negative size %lld bytes", (long long)nbytes);
  if (!data && nbytes > 0) return tn_error_null("from_pointer: NULL pointer for %lld bytes", (long long)nbytes);
  if (!tn_valid_dtype(dtype)) return tn_error_null("from_pointer: unknown dtype %d", dtype);
  if (device_type < 0 || device_type >= TN_NUM_DEVICE_TYPES)
    return tn_error_null("from_pointer: unknown device type %d", device_type);
  tn_storage *s = tn_host_alloc(sizeof *s);
  if (!s) return tn_error_null("from_pointer: out of memory for the storage header");
  memset(s, 0, sizeof *s);
  s->data = data;
  s->nbytes = nbytes;
  s->refcount = 1;
  s->dtype = dtype;
  s->device_type = device_type;
  s->device_index = device_index;
  s->foreign = 1;
  s->deleter = deleter;
  s->deleter_ctx = deleter_ctx;
  return s;
}

void tn_storage_retain(tn_storage *s) {
  if (s) __atomic_add_fetch(&s->refcount, 1, __ATOMIC_RELAXED);
}

void tn_storage_release(tn_storage *s) { tn_storage_drop(s, 1); }

void tn_storage_drop(tn_storage *s, int64_t refs) {
  if (!s) return;
  /* The last references go without a locked decrement, which would first wait for every pending store (after
   * an op, its result's misses). A count of `refs` seen with acquire ordering means no one else holds a
   * reference (it would be counted) and every other holder's release happened before this point. */
  if (__atomic_load_n(&s->refcount, __ATOMIC_ACQUIRE) != refs &&
      __atomic_sub_fetch(&s->refcount, refs, __ATOMIC_ACQ_REL) > 0)
    return;
  if (s->foreign == 2) {
    char *block = s->deleter_ctx;
    tn_account_free(tn_backends[TN_CPU], s->nbytes);
    tn_host_free(block, block_data_offset((size_t)((char *)s - block)) + s->nbytes);
    return;
  }
  if (s->foreign) {
    if (s->deleter) s->deleter(s->data, s->deleter_ctx);
  } else if (s->data) {
    tn_backends[s->device_type]->free(s->device_index, s->data, s->nbytes);
  }
  tn_host_free(s, sizeof *s);
}
