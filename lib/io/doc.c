/* doc.c: documents: opening and mapping the input, the node tree the readers build, format detection, and
 * storages made from a document's bytes. */
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The private part of a document: growable arrays and the chunks of tn_io_alloc. */
typedef struct doc_impl {
  tn_io_doc doc;
  int64_t node_cap, link_cap, dims_cap, nlinks, ndims, max_nodes;
  struct chunk *chunks;
} doc_impl;

struct chunk {
  struct chunk *next;
  char bytes[];
};

const char *tn_io_format_name(int format) {
  switch (format) {
  case TN_IO_T7: return "Torch7";
  case TN_IO_T7_ASCII: return "Torch7 ascii";
  case TN_IO_SAFETENSORS: return "safetensors";
  case TN_IO_PT: return "PyTorch";
  default: return "unknown format";
  }
}

int tn_io_fail(tn_io_doc *doc, const char *fmt, ...) {
  char message[768];
  va_list args;
  va_start(args, fmt);
  vsnprintf(message, sizeof message, fmt, args);
  va_end(args);
  return tn_error("'%s' (%s): %s", doc->source->name, tn_io_format_name(doc->format), message);
}

/* ---- the input ---- */

static void source_release(tn_io_source *src) {
  if (!src || __atomic_sub_fetch(&src->refs, 1, __ATOMIC_ACQ_REL) > 0) return;
  if (src->map) munmap(src->map, (size_t)src->size);
  if (src->fd >= 0) close(src->fd);
  free(src);
}

static tn_io_source *source_new(const char *name) {
  tn_io_source *src = calloc(1, sizeof *src);
  if (!src) return tn_error_null("out of memory");
  src->refs = 1;
  src->fd = -1;
  size_t len = strlen(name);
  if (len < sizeof src->name) {
    memcpy(src->name, name, len + 1);
  } else { /* keep the end of a long path: the file name matters most */
    memcpy(src->name, "...", 3);
    memcpy(src->name + 3, name + len - (sizeof src->name - 4), sizeof src->name - 4);
    src->name[sizeof src->name - 1] = '\0';
  }
  return src;
}

/* Maps a regular file copy-on-write (tensors over the mapping may be written without touching the file). */
static tn_io_source *source_open(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return tn_error_null("cannot open '%s': %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return tn_error_null("cannot read '%s': %s", path, strerror(e));
  }
  if (S_ISDIR(st.st_mode)) {
    close(fd);
    return tn_error_null("cannot read '%s': it is a directory", path);
  }
  tn_io_source *src = source_new(path);
  if (!src) {
    close(fd);
    return NULL;
  }
  if (S_ISREG(st.st_mode)) {
    if (st.st_size == 0) {
      close(fd);
      free(src);
      return tn_error_null("'%s' is empty", path);
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
      int e = errno;
      close(fd);
      free(src);
      return tn_error_null("cannot map '%s': %s", path, strerror(e));
    }
    src->fd = fd;
    src->map = map;
    src->data = map;
    src->size = st.st_size;
    return src;
  }
  /* A pipe or device: read it to the end into memory, kept as a private anonymous mapping. */
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  while (buf) {
    if (len == cap) {
      char *bigger = realloc(buf, cap * 2);
      if (!bigger) break;
      buf = bigger;
      cap *= 2;
    }
    ssize_t got = read(fd, buf + len, cap - len);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      int e = errno;
      free(buf);
      free(src);
      close(fd);
      return tn_error_null("cannot read '%s': %s", path, strerror(e));
    }
    if (got == 0) break;
    len += (size_t)got;
  }
  close(fd);
  if (!buf || len == 0) {
    free(buf);
    free(src);
    return buf ? tn_error_null("'%s' is empty", path) : tn_error_null("out of memory reading '%s'", path);
  }
  void *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (map == MAP_FAILED) {
    free(buf);
    free(src);
    return tn_error_null("out of memory reading '%s' (%zu bytes)", path, len);
  }
  memcpy(map, buf, len);
  free(buf);
  src->map = map;
  src->data = map;
  src->size = (int64_t)len;
  return src;
}

/* ---- nodes ---- */

static tn_io_doc *doc_new(tn_io_source *src) {
  doc_impl *d = calloc(1, sizeof *d);
  if (!d) return tn_error_null("out of memory");
  d->doc.source = src;
  d->doc.size = src->size;
  d->doc.mapped = src->map != NULL;
  d->doc.root = -1;
  d->doc.metadata = -1;
  /* Every node costs its reader at least one input byte; the margin covers the few a reader adds itself. */
  d->max_nodes = src->size + 64 < INT32_MAX ? src->size + 64 : INT32_MAX;
  return &d->doc;
}

void tn_io_free(tn_io_doc *doc) {
  if (!doc) return;
  doc_impl *d = (doc_impl *)doc;
  if (doc->source->fd >= 0) { /* storages that outlive the document keep the mapping, not the file */
    close(doc->source->fd);
    doc->source->fd = -1;
  }
  free(doc->nodes);
  free(doc->links);
  free(doc->dims);
  for (struct chunk *c = d->chunks, *next; c; c = next) {
    next = c->next;
    free(c);
  }
  source_release(doc->source);
  free(d);
}

/* Grows *array (of elem-byte items, capacity *cap) to hold at least need items. */
static int grow(void **array, int64_t *cap, int64_t need, size_t elem) {
  if (need <= *cap) return 0;
  int64_t n = *cap ? *cap : 64;
  while (n < need) n *= 2;
  void *p = realloc(*array, (size_t)n * elem);
  if (!p) return tn_error("out of memory for %lld items of %zu bytes", (long long)n, elem);
  *array = p;
  *cap = n;
  return 0;
}

int32_t tn_io_node_new(tn_io_doc *doc, int kind) {
  doc_impl *d = (doc_impl *)doc;
  if (doc->nnodes >= d->max_nodes) return tn_io_fail(doc, "more objects than the file has bytes");
  if (grow((void **)&doc->nodes, &d->node_cap, doc->nnodes + 1, sizeof(tn_io_node))) return -1;
  tn_io_node *n = &doc->nodes[doc->nnodes];
  memset(n, 0, sizeof *n);
  n->kind = kind;
  if (kind == TN_IO_LIST || kind == TN_IO_MAP) n->list.first = n->list.last = -1;
  if (kind == TN_IO_TENSOR) n->tensor.storage = -1;
  return doc->nnodes++;
}

int tn_io_append(tn_io_doc *doc, int32_t container, int32_t key, int32_t value) {
  doc_impl *d = (doc_impl *)doc;
  if (d->nlinks >= INT32_MAX) return tn_io_fail(doc, "too many entries");
  if (grow((void **)&doc->links, &d->link_cap, d->nlinks + 1, sizeof(tn_io_link))) return -1;
  int32_t i = (int32_t)d->nlinks++;
  doc->links[i] = (tn_io_link){key, value, -1};
  tn_io_node *c = &doc->nodes[container];
  if (c->list.last >= 0)
    doc->links[c->list.last].next = i;
  else
    c->list.first = i;
  c->list.last = i;
  c->list.count++;
  return 0;
}

int64_t tn_io_dims(tn_io_doc *doc, const int64_t *values, int n) {
  doc_impl *d = (doc_impl *)doc;
  /* (one spare slot: the pool exists even when every tensor so far is 0-d) */
  if (grow((void **)&doc->dims, &d->dims_cap, d->ndims + n + 1, sizeof(int64_t))) return -1;
  if (n > 0) memcpy(doc->dims + d->ndims, values, (size_t)n * sizeof(int64_t));
  int64_t at = d->ndims;
  d->ndims += n;
  return at;
}

char *tn_io_alloc(tn_io_doc *doc, int64_t n) {
  doc_impl *d = (doc_impl *)doc;
  if (n < 0 || (uint64_t)n > SIZE_MAX - sizeof(struct chunk) - 64) return tn_error_null("out of memory");
  struct chunk *c = malloc(sizeof *c + (size_t)n + 1);
  if (!c) return tn_error_null("out of memory for %lld bytes", (long long)n);
  c->next = d->chunks;
  d->chunks = c;
  c->bytes[n] = '\0';
  return c->bytes;
}

int tn_io_check_shape(tn_io_doc *doc, const char *what, int ndim, const int64_t *sizes) {
  if (ndim < 0 || ndim > TN_MAX_DIMS)
    return tn_io_fail(doc, "%s has %d dimensions (at most %d are supported)", what, ndim, TN_MAX_DIMS);
  /* The product of the sizes, zeros counted as ones, in bytes of the largest dtype: contiguous strides and
   * byte counts then fit in int64 whatever the dtype. */
  int64_t span = 8;
  for (int d = 0; d < ndim; d++) {
    if (sizes[d] < 0) return tn_io_fail(doc, "%s has a negative size %lld", what, (long long)sizes[d]);
    if (!tn_io_mul(span, sizes[d] > 1 ? sizes[d] : 1, &span)) return tn_io_fail(doc, "%s has too many elements", what);
  }
  return 0;
}

int tn_io_check_view(tn_io_doc *doc, const char *what, int64_t offset, int ndim, const int64_t *sizes,
                     const int64_t *strides, int64_t numel) {
  if (tn_io_check_shape(doc, what, ndim, sizes)) return -1;
  if (offset < 0) return tn_io_fail(doc, "%s has a negative storage offset %lld", what, (long long)offset);
  int64_t last = offset;
  bool empty = false;
  for (int d = 0; d < ndim; d++) {
    if (strides[d] < 0) return tn_io_fail(doc, "%s has a negative stride %lld", what, (long long)strides[d]);
    empty = empty || sizes[d] == 0;
  }
  if (empty) return 0;
  for (int d = 0; d < ndim; d++) {
    int64_t reach;
    if (!tn_io_mul(sizes[d] - 1, strides[d], &reach) || __builtin_add_overflow(last, reach, &last))
      return tn_io_fail(doc, "%s reaches past the end of its storage of %lld elements", what, (long long)numel);
  }
  if (last >= numel)
    return tn_io_fail(doc, "%s reaches element %lld of a storage of %lld elements", what, (long long)last + 1,
                      (long long)numel);
  return 0;
}

/* ---- formats ---- */

int tn_io_detect(const void *data, int64_t size, const char *name) {
  const unsigned char *b = data;
  if (size >= 4 && b[0] == 'P' && b[1] == 'K' && (b[2] == 3 || b[2] == 5) && (b[3] == 4 || b[3] == 6))
    return TN_IO_PT;
  if (size >= 9 && b[8] == '{' && tn_io_u64(b) <= (uint64_t)size - 8) return TN_IO_SAFETENSORS;
  if (size >= 2 && b[0] == 0x80 && b[1] <= 5)
    return tn_error("'%s': a pickle file from PyTorch before 1.6 (or torch.save(..., "
                    "_use_new_zipfile_serialization=False)), which is not supported: save it again with a "
                    "recent PyTorch", name);
  if (size >= 4 && tn_io_u32(b) <= 8) return TN_IO_T7;
  if (size >= 2 && b[0] >= '0' && b[0] <= '8' && (b[1] == '\n' || b[1] == ' ' || b[1] == '\r'))
    return TN_IO_T7_ASCII;
  return tn_error("'%s': not a Torch7 (.t7), safetensors or PyTorch (.pt) file", name);
}

static tn_io_doc *parse_source(tn_io_source *src, int format, int flags) {
  if (format == TN_IO_AUTO) format = tn_io_detect(src->data, src->size, src->name);
  if (format < 0) {
    source_release(src);
    return NULL;
  }
  tn_io_doc *doc = doc_new(src);
  if (!doc) {
    source_release(src);
    return NULL;
  }
  doc->format = format;
  int rc;
  switch (format) {
  case TN_IO_T7: rc = tn_io_parse_t7(doc, 0, flags); break;
  case TN_IO_T7_ASCII: rc = tn_io_parse_t7(doc, 1, flags); break;
  case TN_IO_SAFETENSORS: rc = tn_io_parse_safetensors(doc); break;
  case TN_IO_PT: rc = tn_io_parse_pt(doc); break;
  default: rc = tn_error("'%s': unknown format %d", src->name, format);
  }
  if (rc != 0) {
    tn_io_free(doc);
    return NULL;
  }
  return doc;
}

tn_io_doc *tn_io_read(const char *path, int format, int flags) {
  tn_io_source *src = source_open(path);
  return src ? parse_source(src, format, flags) : NULL;
}

tn_io_doc *tn_io_parse(const void *data, int64_t size, int format, int flags, const char *name) {
  if (!data || size <= 0) return tn_error_null("'%s' is empty", name ? name : "memory");
  tn_io_source *src = source_new(name ? name : "memory");
  if (!src) return NULL;
  src->data = data;
  src->size = size;
  return parse_source(src, format, flags);
}

/* ---- storages ---- */

static void unmap_deleter(void *data, void *ctx) {
  (void)data;
  source_release(ctx);
}

/* Reads n bytes at offset of the file into dst (the kernel copies from the page cache: the mapping's pages
 * are never faulted in, which halves the page faults of a copy). 0, or -1 when it comes short. */
static int pread_all(int fd, char *dst, int64_t n, int64_t offset) {
  while (n > 0) {
    ssize_t got = pread(fd, dst, (size_t)(n < (1 << 30) ? n : (1 << 30)), offset);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return -1;
    dst += got;
    offset += got;
    n -= got;
  }
  return 0;
}

/* Fresh memory costs a page fault per 4 KiB page when it is first written, which is most of the time of
 * copying a large storage out of the page cache; transparent huge pages cut that 512-fold where the system
 * allows them (THP "madvise" mode). Only the 2 MiB-aligned interior of the block is advised. */
static void advise_huge_pages(void *data, int64_t nbytes) {
#ifdef MADV_HUGEPAGE
  const uintptr_t huge = (uintptr_t)2 << 20;
  uintptr_t begin = ((uintptr_t)data + huge - 1) & ~(huge - 1), end = ((uintptr_t)data + (uintptr_t)nbytes) & ~(huge - 1);
  if (nbytes >= (8 << 20) && end > begin) madvise((void *)begin, end - begin, MADV_HUGEPAGE);
#else
  (void)data;
  (void)nbytes;
#endif
}

/* Copies n elements of `size` bytes, reversing the bytes of each (big-endian input). */
static void swap_copy(char *dst, const char *src, int64_t n, int64_t size) {
  for (int64_t i = 0; i < n; i++, dst += size, src += size)
    for (int64_t b = 0; b < size; b++) dst[b] = src[size - 1 - b];
}

tn_storage *tn_io_storage(tn_io_doc *doc, int node, int share) {
  if (!doc || node < 0 || node >= doc->nnodes || doc->nodes[node].kind != TN_IO_STORAGE)
    return tn_error_null("io_storage: node %d is not a storage", node);
  const tn_io_node *n = &doc->nodes[node];
  int dtype = n->storage.dtype;
  int64_t esize = tn_dtype_size(dtype), nbytes = n->storage.numel * esize;
  const char *data = n->storage.data;
  tn_io_source *src = doc->source;
  bool in_map = src->map && data >= src->data && data + nbytes <= src->data + src->size;
  if (share && in_map && !(n->flags & TN_IO_SWAP) && (uintptr_t)data % (uintptr_t)esize == 0) {
    __atomic_add_fetch(&src->refs, 1, __ATOMIC_RELAXED);
    tn_storage *s = tn_storage_wrap((void *)data, nbytes, dtype, TN_CPU, 0, unmap_deleter, src);
    if (!s) source_release(src);
    return s;
  }
  tn_storage *s = tn_storage_new(nbytes, dtype, TN_CPU, 0);
  if (!s) return NULL;
  advise_huge_pages(s->data, nbytes);
  if (n->flags & TN_IO_SWAP)
    swap_copy(s->data, data, n->storage.numel, esize);
  else if (!(in_map && src->fd >= 0 && nbytes >= (1 << 20) && pread_all(src->fd, s->data, nbytes, data - src->data) == 0))
    if (nbytes > 0) memcpy(s->data, data, (size_t)nbytes);
  return s;
}
