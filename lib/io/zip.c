/* zip.c: the central directory of a zip file (PKWARE APPNOTE 6.3), with zip64, as PyTorch writes it.
 *
 * Only what a reader of stored (uncompressed) entries needs: names, where each entry's data starts (after
 * its local header) and how long it is. Every entry must lie inside the file, before the central directory,
 * and no two entries may overlap (the trick behind overlapping-entry zip bombs). */
#include "io.h"

#include <stdio.h>
#include <stdlib.h>

enum {
  SIG_LOCAL = 0x04034b50, SIG_CENTRAL = 0x02014b50, SIG_END = 0x06054b50, SIG_END64 = 0x06064b50,
  SIG_LOCATOR64 = 0x07064b50, LOCAL_SIZE = 30, CENTRAL_SIZE = 46, END_SIZE = 22, END64_SIZE = 56,
  LOCATOR64_SIZE = 20
};

typedef struct directory {
  int64_t count, offset, size, end; /* entries, where the central directory starts, its size, where it ends */
} directory;

/* Finds the end of central directory record (and its zip64 version when present). */
static int find_directory(tn_io_doc *doc, directory *dir) {
  const char *b = doc->source->data;
  int64_t size = doc->size, pos = -1;
  if (size < END_SIZE) return tn_io_fail(doc, "truncated zip file (%lld bytes)", (long long)size);
  int64_t lowest = size - END_SIZE - 0xffff;
  for (int64_t p = size - END_SIZE; p >= 0 && p >= lowest; p--) {
    if (tn_io_u32(b + p) == SIG_END && p + END_SIZE + tn_io_u16(b + p + 20) <= size) {
      pos = p;
      break;
    }
  }
  if (pos < 0) return tn_io_fail(doc, "not a zip file, or a truncated one (no end of central directory)");
  if (tn_io_u16(b + pos + 4) != 0 || tn_io_u16(b + pos + 6) != 0)
    return tn_io_fail(doc, "multi-part zip archives are not supported");
  dir->count = tn_io_u16(b + pos + 10);
  dir->size = tn_io_u32(b + pos + 12);
  dir->offset = tn_io_u32(b + pos + 16);
  dir->end = pos;
  if (dir->count == 0xffff || dir->size == 0xffffffff || dir->offset == 0xffffffff) {
    int64_t loc = pos - LOCATOR64_SIZE;
    if (loc < 0 || tn_io_u32(b + loc) != SIG_LOCATOR64) return tn_io_fail(doc, "zip64 locator missing");
    uint64_t end64 = tn_io_u64(b + loc + 8);
    if (end64 > (uint64_t)loc || (uint64_t)loc - end64 < END64_SIZE || tn_io_u32(b + end64) != SIG_END64)
      return tn_io_fail(doc, "corrupt zip64 end of central directory");
    uint64_t count = tn_io_u64(b + end64 + 32), dsize = tn_io_u64(b + end64 + 40), offset = tn_io_u64(b + end64 + 48);
    if (count > (uint64_t)size || dsize > (uint64_t)size || offset > (uint64_t)size)
      return tn_io_fail(doc, "corrupt zip64 end of central directory");
    dir->count = (int64_t)count;
    dir->size = (int64_t)dsize;
    dir->offset = (int64_t)offset;
    dir->end = (int64_t)end64;
  }
  if (dir->offset > dir->end || dir->size > dir->end - dir->offset)
    return tn_io_fail(doc, "the zip central directory (%lld bytes at %lld) lies outside the file", (long long)dir->size,
                      (long long)dir->offset);
  if (dir->count > dir->size / CENTRAL_SIZE)
    return tn_io_fail(doc, "%lld zip entries cannot fit in a central directory of %lld bytes", (long long)dir->count,
                      (long long)dir->size);
  return 0;
}

/* The zip64 extended information extra field overrides the 32-bit fields set to 0xffffffff, in order. */
static int zip64_extra(tn_io_doc *doc, const char *extra, int64_t len, int64_t *usize, int64_t *csize,
                       int64_t *header) {
  while (len >= 4) {
    uint16_t id = tn_io_u16(extra), n = tn_io_u16(extra + 2);
    if (n > len - 4) return tn_io_fail(doc, "corrupt zip extra field");
    if (id == 1) {
      const char *p = extra + 4, *end = p + n;
      int64_t *fields[3] = {usize, csize, header};
      for (int i = 0; i < 3; i++) {
        if (*fields[i] != 0xffffffff) continue;
        if (end - p < 8) return tn_io_fail(doc, "corrupt zip64 extra field");
        uint64_t v = tn_io_u64(p);
        if (v > (uint64_t)doc->size) return tn_io_fail(doc, "zip64 size or offset larger than the file");
        *fields[i] = (int64_t)v;
        p += 8;
      }
    }
    extra += 4 + n;
    len -= 4 + n;
  }
  return 0;
}

static int by_name(const void *a, const void *b) {
  const tn_zip_entry *x = a, *y = b;
  int n = x->name_len < y->name_len ? x->name_len : y->name_len;
  int c = memcmp(x->name, y->name, (size_t)n);
  return c ? c : (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

static int by_header(const void *a, const void *b) {
  const tn_zip_entry *x = *(const tn_zip_entry *const *)a, *y = *(const tn_zip_entry *const *)b;
  return x->header < y->header ? -1 : x->header > y->header;
}

/* Entries may not overlap one another (nor the central directory, checked per entry). */
static int check_overlaps(tn_io_doc *doc, tn_zip_entry *e, int64_t count) {
  const tn_zip_entry **order = malloc((size_t)(count ? count : 1) * sizeof *order);
  if (!order) return tn_error("out of memory");
  for (int64_t i = 0; i < count; i++) order[i] = &e[i];
  qsort(order, (size_t)count, sizeof *order, by_header);
  int rc = 0;
  for (int64_t i = 1; i < count && rc == 0; i++)
    if (order[i]->header < order[i - 1]->offset + order[i - 1]->size)
      rc = tn_io_fail(doc, "zip entries '%.*s' and '%.*s' overlap", order[i - 1]->name_len > 200 ? 200 : order[i - 1]->name_len,
                      order[i - 1]->name, order[i]->name_len > 200 ? 200 : order[i]->name_len, order[i]->name);
  free(order);
  return rc;
}

/* Reads the central directory record at *p (advancing it) and the entry's local header into *z. */
static int read_entry(tn_io_doc *doc, const directory *dir, int64_t *p, int64_t i, tn_zip_entry *z) {
  const char *b = doc->source->data;
  int64_t at = *p, end = dir->offset + dir->size;
  if (end - at < CENTRAL_SIZE || tn_io_u32(b + at) != SIG_CENTRAL)
    return tn_io_fail(doc, "corrupt zip central directory (entry %lld)", (long long)i + 1);
  int64_t name_len = tn_io_u16(b + at + 28), extra_len = tn_io_u16(b + at + 30), comment_len = tn_io_u16(b + at + 32);
  int64_t csize = tn_io_u32(b + at + 20), usize = tn_io_u32(b + at + 24), header = tn_io_u32(b + at + 42);
  if (name_len + extra_len + comment_len > end - at - CENTRAL_SIZE ||
      zip64_extra(doc, b + at + CENTRAL_SIZE + name_len, extra_len, &usize, &csize, &header))
    return tn_io_fail(doc, "corrupt zip central directory (entry %lld)", (long long)i + 1);
  z->name = b + at + CENTRAL_SIZE;
  z->name_len = (int32_t)name_len;
  z->flags = tn_io_u16(b + at + 8);
  z->method = tn_io_u16(b + at + 10);
  z->header = header;
  z->size = csize;
  *p = at + CENTRAL_SIZE + name_len + extra_len + comment_len;
  int n = name_len > 200 ? 200 : (int)name_len;
  /* The local header repeats the name; the data follows it and its own extra field. */
  if (header > dir->offset - LOCAL_SIZE || tn_io_u32(b + header) != SIG_LOCAL)
    return tn_io_fail(doc, "zip entry '%.*s': no local header at byte %lld", n, z->name, (long long)header);
  int64_t local_name = tn_io_u16(b + header + 26), local_extra = tn_io_u16(b + header + 28);
  z->offset = header + LOCAL_SIZE + local_name + local_extra;
  if (local_name != name_len || z->offset > dir->offset || memcmp(b + header + LOCAL_SIZE, z->name, (size_t)name_len) != 0)
    return tn_io_fail(doc, "zip entry '%.*s': its local header disagrees with the central directory", n, z->name);
  if (z->size > dir->offset - z->offset)
    return tn_io_fail(doc, "zip entry '%.*s' (%lld bytes at byte %lld) reaches past its data area", n, z->name,
                      (long long)z->size, (long long)z->offset);
  if (z->method == 0 && usize != csize)
    return tn_io_fail(doc, "zip entry '%.*s' is stored but its two sizes differ", n, z->name);
  return 0;
}

int64_t tn_zip_read(tn_io_doc *doc, tn_zip_entry **entries) {
  directory dir = {0};
  *entries = NULL;
  if (find_directory(doc, &dir)) return -1;
  tn_zip_entry *e = calloc((size_t)(dir.count ? dir.count : 1), sizeof *e);
  if (!e) return tn_error("out of memory");
  int64_t p = dir.offset;
  for (int64_t i = 0; i < dir.count; i++) {
    if (read_entry(doc, &dir, &p, i, &e[i])) {
      free(e);
      return -1;
    }
  }
  if (check_overlaps(doc, e, dir.count)) {
    free(e);
    return -1;
  }
  qsort(e, (size_t)dir.count, sizeof *e, by_name);
  *entries = e;
  return dir.count;
}

const tn_zip_entry *tn_zip_find(const tn_zip_entry *entries, int64_t count, const char *name, int64_t len) {
  if (len > INT32_MAX) return NULL;
  tn_zip_entry key = {.name = name, .name_len = (int32_t)len};
  return bsearch(&key, entries, (size_t)count, sizeof *entries, by_name);
}
