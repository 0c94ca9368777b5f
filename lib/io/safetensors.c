/* safetensors.c: the safetensors format (https://github.com/huggingface/safetensors).
 *
 *   u64 N (little-endian) | N bytes of JSON header | data
 *   header: {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
 *            "__metadata__": {"key": "value", ...}}
 * Offsets are relative to the start of the data; tensors are contiguous, row-major, little-endian.
 * The reader checks every entry: a known dtype, non-negative sizes, offsets inside the data whose length
 * matches the shape, and no two tensors sharing bytes. */
#include "io.h"

#include <stdio.h>
#include <stdlib.h>

enum { HEADER_LIMIT = 100 << 20 }; /* the reference implementation's limit */

static const struct { const char *name; int dtype; } dtypes[] = {
    {"F32", TN_FLOAT32}, {"F64", TN_FLOAT64}, {"F16", TN_FLOAT16}, {"BF16", TN_BFLOAT16}, {"I64", TN_INT64},
    {"I32", TN_INT32},   {"I16", TN_INT16},   {"I8", TN_INT8},     {"U8", TN_UINT8},      {"BOOL", TN_BOOL}};

typedef struct range {
  int64_t begin, end;
  const char *name;
  int64_t name_len;
} range;

static bool is(const tn_io_node *s, const char *text) {
  size_t n = strlen(text);
  return s->kind == TN_IO_STRING && (size_t)s->string.len == n && memcmp(s->string.ptr, text, n) == 0;
}

static int by_begin(const void *a, const void *b) {
  const range *x = a, *y = b;
  return x->begin < y->begin ? -1 : x->begin > y->begin;
}

static int by_name(const void *a, const void *b) {
  const range *x = a, *y = b;
  int64_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
  int c = memcmp(x->name, y->name, (size_t)n);
  return c ? c : (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

/* The value of key in a MAP node, or -1. */
static int32_t field(tn_io_doc *doc, int32_t map, const char *key) {
  for (int32_t l = tn_io_at(doc, map)->list.first; l >= 0; l = doc->links[l].next)
    if (is(tn_io_at(doc, doc->links[l].key), key)) return doc->links[l].value;
  return -1;
}

/* Reads one tensor entry into a TENSOR node over a STORAGE node; fills *r. */
static int32_t entry(tn_io_doc *doc, const char *name, int len, int32_t spec, const char *data, int64_t nbytes,
                     range *r) {
  if (tn_io_at(doc, spec)->kind != TN_IO_MAP) return tn_io_fail(doc, "entry '%.*s' is not a JSON object", len, name);
  int32_t dt = field(doc, spec, "dtype"), shape = field(doc, spec, "shape"), offsets = field(doc, spec, "data_offsets");
  if (dt < 0 || shape < 0 || offsets < 0)
    return tn_io_fail(doc, "tensor '%.*s' lacks %s", len, name, dt < 0 ? "a dtype" : shape < 0 ? "a shape" : "data_offsets");
  const tn_io_node *d = tn_io_at(doc, dt);
  int dtype = -1;
  for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0] && d->kind == TN_IO_STRING; i++)
    if (is(d, dtypes[i].name)) dtype = dtypes[i].dtype;
  if (dtype < 0) {
    if (d->kind != TN_IO_STRING) return tn_io_fail(doc, "tensor '%.*s': dtype is not a string", len, name);
    return tn_io_fail(doc, "tensor '%.*s' has dtype '%.*s', which is not supported (supported: F64 F32 F16 BF16 "
                      "I64 I32 I16 I8 U8 BOOL)", len, name, (int)(d->string.len < 32 ? d->string.len : 32), d->string.ptr);
  }
  const tn_io_node *sh = tn_io_at(doc, shape), *of = tn_io_at(doc, offsets);
  if (sh->kind != TN_IO_LIST) return tn_io_fail(doc, "tensor '%.*s': shape is not a list", len, name);
  if (sh->list.count > TN_MAX_DIMS)
    return tn_io_fail(doc, "tensor '%.*s' has %d dimensions (at most %d are supported)", len, name, sh->list.count,
                      TN_MAX_DIMS);
  int ndim = 0;
  int64_t dims[2 * TN_MAX_DIMS], numel = 1, want;
  for (int32_t l = sh->list.first; l >= 0; l = doc->links[l].next) {
    const tn_io_node *s = tn_io_at(doc, doc->links[l].value);
    if (s->kind != TN_IO_INT || s->integer < 0)
      return tn_io_fail(doc, "tensor '%.*s': shape entries must be non-negative integers", len, name);
    dims[ndim++] = s->integer;
    if (!tn_io_mul(numel, s->integer, &numel)) return tn_io_fail(doc, "tensor '%.*s' is too large", len, name);
  }
  char what[240];
  snprintf(what, sizeof what, "tensor '%.*s'", len, name);
  if (tn_io_check_shape(doc, what, ndim, dims)) return -1;
  if (!tn_io_mul(numel, tn_dtype_size(dtype), &want)) return tn_io_fail(doc, "tensor '%.*s' is too large", len, name);
  if (of->kind != TN_IO_LIST || of->list.count != 2 || tn_io_at(doc, doc->links[of->list.first].value)->kind != TN_IO_INT ||
      tn_io_at(doc, doc->links[of->list.last].value)->kind != TN_IO_INT)
    return tn_io_fail(doc, "tensor '%.*s': data_offsets must be two integers", len, name);
  int64_t begin = tn_io_at(doc, doc->links[of->list.first].value)->integer;
  int64_t end = tn_io_at(doc, doc->links[of->list.last].value)->integer;
  if (begin < 0 || end < begin || end > nbytes)
    return tn_io_fail(doc, "tensor '%.*s': data_offsets [%lld, %lld] outside the %lld bytes of data", len, name,
                      (long long)begin, (long long)end, (long long)nbytes);
  if (end - begin != want)
    return tn_io_fail(doc, "tensor '%.*s': %lld bytes of data for a shape that needs %lld", len, name,
                      (long long)(end - begin), (long long)want);
  tn_contiguous_strides(ndim, dims, dims + ndim);
  int32_t storage = tn_io_node_new(doc, TN_IO_STORAGE);
  int32_t tensor = storage < 0 ? -1 : tn_io_node_new(doc, TN_IO_TENSOR);
  int64_t at = tensor < 0 ? -1 : tn_io_dims(doc, dims, 2 * ndim);
  if (at < 0) return -1;
  tn_io_node *s = tn_io_at(doc, storage);
  s->storage.data = data + begin;
  s->storage.numel = numel;
  s->storage.dtype = dtype;
  tn_io_node *t = tn_io_at(doc, tensor);
  t->tensor.storage = storage;
  t->tensor.dims = at;
  t->tensor.ndim = ndim;
  t->tensor.dtype = dtype;
  *r = (range){begin, end, name, len};
  return tensor;
}

static int check_metadata(tn_io_doc *doc, int32_t meta) {
  if (tn_io_at(doc, meta)->kind != TN_IO_MAP) return tn_io_fail(doc, "__metadata__ is not a JSON object");
  for (int32_t l = tn_io_at(doc, meta)->list.first; l >= 0; l = doc->links[l].next)
    if (tn_io_at(doc, doc->links[l].value)->kind != TN_IO_STRING)
      return tn_io_fail(doc, "__metadata__ values must be strings");
  doc->metadata = meta;
  return 0;
}

int tn_io_parse_safetensors(tn_io_doc *doc) {
  const char *bytes = doc->source->data;
  if (doc->size < 8) return tn_io_fail(doc, "truncated file: %lld bytes, no header length", (long long)doc->size);
  uint64_t n = tn_io_u64(bytes);
  if (n > (uint64_t)doc->size - 8)
    return tn_io_fail(doc, "truncated file: a header of %llu bytes, but only %lld bytes follow its length",
                      (unsigned long long)n, (long long)doc->size - 8);
  if (n > HEADER_LIMIT) return tn_io_fail(doc, "a header of %llu bytes (the limit is %d)", (unsigned long long)n, HEADER_LIMIT);
  int32_t header = tn_io_parse_json(doc, bytes + 8, (int64_t)n);
  if (header < 0) return -1;
  if (tn_io_at(doc, header)->kind != TN_IO_MAP) return tn_io_fail(doc, "the header is not a JSON object");
  const char *data = bytes + 8 + n;
  int64_t nbytes = doc->size - 8 - (int64_t)n;
  int32_t result = tn_io_node_new(doc, TN_IO_MAP);
  range *ranges = malloc(((size_t)tn_io_at(doc, header)->list.count + 1) * sizeof *ranges);
  if (result < 0 || !ranges) {
    free(ranges);
    return result < 0 ? -1 : tn_error("out of memory");
  }
  int64_t count = 0;
  int rc = 0;
  for (int32_t l = tn_io_at(doc, header)->list.first; l >= 0 && rc == 0; l = doc->links[l].next) {
    int32_t key = doc->links[l].key, spec = doc->links[l].value;
    const tn_io_node *k = tn_io_at(doc, key);
    if (is(k, "__metadata__")) {
      rc = check_metadata(doc, spec);
      continue;
    }
    int len = k->string.len < 200 ? (int)k->string.len : 200;
    int32_t tensor = entry(doc, k->string.ptr, len, spec, data, nbytes, &ranges[count]);
    if (tensor < 0) rc = -1;
    else {
      ranges[count].name_len = tn_io_at(doc, key)->string.len;
      count++;
      rc = tn_io_append(doc, result, key, tensor);
    }
  }
  if (rc == 0 && count > 1) {
    qsort(ranges, (size_t)count, sizeof *ranges, by_name);
    for (int64_t i = 1; i < count && rc == 0; i++)
      if (by_name(&ranges[i - 1], &ranges[i]) == 0)
        rc = tn_io_fail(doc, "tensor '%.*s' appears twice", (int)(ranges[i].name_len < 200 ? ranges[i].name_len : 200),
                        ranges[i].name);
    qsort(ranges, (size_t)count, sizeof *ranges, by_begin);
    int64_t prev = -1;
    for (int64_t i = 0; i < count && rc == 0; i++) {
      if (ranges[i].begin == ranges[i].end) continue;
      if (prev >= 0 && ranges[i].begin < ranges[prev].end)
        rc = tn_io_fail(doc, "tensors '%.*s' and '%.*s' overlap in the data",
                        (int)(ranges[prev].name_len < 200 ? ranges[prev].name_len : 200), ranges[prev].name,
                        (int)(ranges[i].name_len < 200 ? ranges[i].name_len : 200), ranges[i].name);
      prev = i;
    }
  }
  free(ranges);
  doc->root = result;
  return rc;
}
