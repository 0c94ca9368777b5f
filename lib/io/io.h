/* io.h: what the serialization readers share: the input bytes, building a document's node tree, bounded
 * little-endian reads and error messages that name the file. Not part of the public API.
 *
 * Every reader checks every length, count and offset against the bytes that remain before it allocates or
 * reads, so a document never holds more than a small multiple of its input's size, and no input makes a
 * reader read outside it. */
#ifndef TN_IO_H
#define TN_IO_H

#include "internal.h"

#include <stdint.h>

/* The bytes of a document's input and who owns them. Storages made with tn_io_storage(share=1) keep it alive
 * after the document is freed, through the reference count. */
struct tn_io_source {
  const char *data;
  int64_t size;
  void *map;        /* the mmap'ed region (size bytes), or NULL for caller memory */
  int fd;           /* the mapped regular file while the document lives (copies are pread from it), or -1 */
  int64_t refs;
  char name[256];   /* for messages: the path, shortened when long */
};

/* ---- building documents ---- */

/* A new node of `kind` (its payload zeroed, list chains empty); returns its index or -1 (error set). */
int32_t tn_io_node_new(tn_io_doc *doc, int kind);
static inline tn_io_node *tn_io_at(tn_io_doc *doc, int32_t i) { return &doc->nodes[i]; }
/* Appends key/value (key -1 for a LIST) to a LIST or MAP node; 0 or -1. */
int tn_io_append(tn_io_doc *doc, int32_t container, int32_t key, int32_t value);
/* Stores n int64s in the dims pool; returns their index or -1. */
int64_t tn_io_dims(tn_io_doc *doc, const int64_t *values, int n);
/* n bytes owned by the document (stable address, never moved); NULL on error. */
char *tn_io_alloc(tn_io_doc *doc, int64_t n);

/* Sets an error "<file> (<format>): <message>" and returns -1. */
int tn_io_fail(tn_io_doc *doc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *tn_io_format_name(int format);

/* Sizes a tensor may have: ndim within TN_MAX_DIMS, no negative size, and contiguous strides (the product
 * of the sizes, zeros counted as ones) that fit in int64. 0, or -1 with an error naming what. */
int tn_io_check_shape(tn_io_doc *doc, const char *what, int ndim, const int64_t *sizes);
/* The checks every tensor view of a storage must pass: tn_io_check_shape, no negative stride or offset,
 * the view inside numel elements, no int64 overflow. 0, or -1 with an error naming what. */
int tn_io_check_view(tn_io_doc *doc, const char *what, int64_t offset, int ndim, const int64_t *sizes,
                     const int64_t *strides, int64_t numel);

/* a * b into *out, or false when it overflows int64 (both non-negative). */
static inline bool tn_io_mul(int64_t a, int64_t b, int64_t *out) {
  return !__builtin_mul_overflow(a, b, out);
}

/* ---- little-endian loads (unaligned) ---- */
static inline uint16_t tn_io_u16(const void *p) {
  const unsigned char *b = p;
  return (uint16_t)(b[0] | b[1] << 8);
}
static inline uint32_t tn_io_u32(const void *p) {
  const unsigned char *b = p;
  return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}
static inline uint64_t tn_io_u64(const void *p) {
  const unsigned char *b = p;
  return (uint64_t)tn_io_u32(b) | (uint64_t)tn_io_u32(b + 4) << 32;
}

/* ---- the format parsers: fill doc->root (and doc->metadata); 0 or -1 with an error set ---- */
int tn_io_parse_t7(tn_io_doc *doc, int ascii, int flags);
int tn_io_parse_safetensors(tn_io_doc *doc);
int tn_io_parse_pt(tn_io_doc *doc);

/* JSON text into nodes (objects -> MAP, arrays -> LIST, integers that fit -> INT, other numbers -> NUMBER);
 * returns the node of the value, or -1. Only whitespace may follow the value. */
int32_t tn_io_parse_json(tn_io_doc *doc, const char *text, int64_t len);

/* The zip container of PyTorch files (stored entries only are readable). */
typedef struct tn_zip_entry {
  const char *name;
  int32_t name_len;
  int32_t method;      /* 0: stored; anything else cannot be read */
  int32_t flags;       /* the general purpose bit flags */
  int64_t header;      /* offset of the local header */
  int64_t offset;      /* offset of the data */
  int64_t size;        /* bytes of data as stored */
} tn_zip_entry;
/* Reads the central directory of doc's input: entries sorted by name, every entry's bytes inside the input
 * and no two entries overlapping. *entries is malloc'ed (free it); returns the count or -1. */
int64_t tn_zip_read(tn_io_doc *doc, tn_zip_entry **entries);
/* The entry named name (len bytes), or NULL. */
const tn_zip_entry *tn_zip_find(const tn_zip_entry *entries, int64_t count, const char *name, int64_t len);

/* The pickle subset interpreter. `persistent` resolves a persistent id (BINPERSID) to a node, or -1. */
typedef int32_t (*tn_pickle_persistent_fn)(tn_io_doc *doc, int32_t pid, void *ctx);
int32_t tn_pickle_run(tn_io_doc *doc, const char *data, int64_t len, tn_pickle_persistent_fn persistent,
                      void *ctx);
/* The dtype of an allowlisted storage class GLOBAL node (torch.FloatStorage, ...), or -1. */
int tn_pickle_storage_dtype(tn_io_doc *doc, int32_t node);

#endif /* TN_IO_H */
