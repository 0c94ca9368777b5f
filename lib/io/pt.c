/* pt.c: PyTorch's file format (torch.save since 1.6): a zip archive of stored entries
 *
 *   <archive>/data.pkl      the pickled object; tensors refer to storages by persistent ids
 *                           ('storage', torch.<T>Storage, key, location, numel)
 *   <archive>/data/<key>    each storage's raw bytes (64-byte aligned by PyTorch)
 *   <archive>/byteorder     "little" or "big" (absent in old files: little)
 *   <archive>/version       the format version
 * where <archive> is the folder of the first entry ("archive" by default). Two tensors with the same key
 * share one STORAGE node. */
#include "io.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct pt {
  tn_zip_entry *entries;
  int64_t count;
  const char *prefix;      /* "<archive>/" */
  int64_t prefix_len;
  int32_t *storage_of;     /* entry index -> STORAGE node + 1 */
  bool big_endian;
} pt;

static const tn_zip_entry *entry(pt *z, const char *suffix, int64_t len) {
  char name[512];
  if (z->prefix_len + len >= (int64_t)sizeof name) return NULL;
  memcpy(name, z->prefix, (size_t)z->prefix_len);
  memcpy(name + z->prefix_len, suffix, (size_t)len);
  return tn_zip_find(z->entries, z->count, name, z->prefix_len + len);
}

/* The bytes of a stored entry. */
static int contents(tn_io_doc *doc, const tn_zip_entry *e, const char **data) {
  if (e->method != 0)
    return tn_io_fail(doc, "zip entry '%.*s' is compressed (method %d); PyTorch writes stored entries only",
                      e->name_len > 200 ? 200 : e->name_len, e->name, e->method);
  if (e->flags & 1) return tn_io_fail(doc, "zip entry '%.*s' is encrypted", e->name_len > 200 ? 200 : e->name_len, e->name);
  *data = doc->source->data + e->offset;
  return 0;
}

static bool is_string(const tn_io_node *n, const char *s) {
  return n->kind == TN_IO_STRING && n->string.len == (int64_t)strlen(s) && memcmp(n->string.ptr, s, (size_t)n->string.len) == 0;
}

/* ('storage', torch.<T>Storage, key, location, numel) -> a STORAGE node over data/<key>. */
static int32_t resolve(tn_io_doc *doc, int32_t pid, void *ctx) {
  pt *z = ctx;
  const tn_io_node *t = tn_io_at(doc, pid);
  int32_t parts[5] = {-1, -1, -1, -1, -1};
  int n = 0;
  if (t->kind == TN_IO_LIST)
    for (int32_t l = t->list.first; l >= 0 && n < 5; l = doc->links[l].next) parts[n++] = doc->links[l].value;
  if (t->kind != TN_IO_LIST || t->list.count != 5 || !is_string(tn_io_at(doc, parts[0]), "storage"))
    return tn_io_fail(doc, "data.pkl: a persistent id that is not a ('storage', type, key, location, size) tuple");
  int dtype = tn_pickle_storage_dtype(doc, parts[1]);
  const tn_io_node *key = tn_io_at(doc, parts[2]), *numel = tn_io_at(doc, parts[4]);
  if (dtype < 0) return tn_io_fail(doc, "data.pkl: a storage of an unsupported type");
  if (key->kind != TN_IO_STRING || numel->kind != TN_IO_INT || numel->integer < 0)
    return tn_io_fail(doc, "data.pkl: a malformed storage reference");
  int klen = key->string.len > 200 ? 200 : (int)key->string.len;
  char name[216];
  int len = snprintf(name, sizeof name, "data/%.*s", klen, key->string.ptr);
  const tn_zip_entry *e = key->string.len > 200 ? NULL : entry(z, name, len);
  if (!e) return tn_io_fail(doc, "the archive has no entry for storage '%.*s'", klen, key->string.ptr);
  int64_t index = e - z->entries;
  if (z->storage_of[index]) {
    int32_t node = z->storage_of[index] - 1;
    if (tn_io_at(doc, node)->storage.dtype != dtype)
      return tn_io_fail(doc, "storage '%.*s' is used with two dtypes", klen, key->string.ptr);
    return node;
  }
  const char *data = NULL;
  int64_t nbytes;
  if (contents(doc, e, &data)) return -1;
  if (!tn_io_mul(numel->integer, tn_dtype_size(dtype), &nbytes) || nbytes > e->size)
    return tn_io_fail(doc, "storage '%.*s' of %lld %s elements needs more than the %lld bytes of its entry", klen,
                      key->string.ptr, (long long)numel->integer, tn_dtype_name(dtype), (long long)e->size);
  int32_t node = tn_io_node_new(doc, TN_IO_STORAGE);
  if (node < 0) return -1;
  tn_io_node *s = tn_io_at(doc, node);
  s->storage.data = data;
  s->storage.numel = numel->integer;
  s->storage.dtype = dtype;
  if (z->big_endian && tn_dtype_size(dtype) > 1) s->flags |= TN_IO_SWAP;
  z->storage_of[index] = node + 1;
  return node;
}

static int read_archive(tn_io_doc *doc, pt *z) {
  if ((z->count = tn_zip_read(doc, &z->entries)) < 0) return -1;
  if (z->count == 0) return tn_io_fail(doc, "an empty zip archive");
  /* The archive folder: everything up to the first '/' of any entry (they all share it). */
  const char *slash = memchr(z->entries[0].name, '/', (size_t)z->entries[0].name_len);
  if (!slash) return tn_io_fail(doc, "not a PyTorch archive (entries are not in one folder)");
  z->prefix = z->entries[0].name;
  z->prefix_len = slash - z->prefix + 1;
  if (entry(z, "constants.pkl", 13))
    return tn_io_fail(doc, "a TorchScript archive (torch.jit.save), which is not supported: save a state_dict() "
                           "with torch.save instead");
  const tn_zip_entry *pkl = entry(z, "data.pkl", 8);
  if (!pkl)
    return tn_io_fail(doc, "not a PyTorch archive (no %.*sdata.pkl)", (int)(z->prefix_len > 200 ? 200 : z->prefix_len),
                      z->prefix);
  const tn_zip_entry *order = entry(z, "byteorder", 9);
  if (order) {
    const char *text = NULL;
    if (contents(doc, order, &text)) return -1;
    if (order->size == 3 && memcmp(text, "big", 3) == 0) z->big_endian = true;
    else if (!(order->size == 6 && memcmp(text, "little", 6) == 0))
      return tn_io_fail(doc, "unknown byte order '%.*s'", (int)(order->size > 16 ? 16 : order->size), text);
  }
  z->storage_of = calloc((size_t)z->count, sizeof *z->storage_of);
  if (!z->storage_of) return tn_error("out of memory");
  const char *pickle = NULL;
  if (contents(doc, pkl, &pickle)) return -1;
  doc->root = tn_pickle_run(doc, pickle, pkl->size, resolve, z);
  return doc->root < 0 ? -1 : 0;
}

int tn_io_parse_pt(tn_io_doc *doc) {
  pt z = {0};
  int rc = read_archive(doc, &z);
  free(z.entries);
  free(z.storage_of);
  return rc;
}
