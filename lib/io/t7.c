/* t7.c: the Torch7 serialization format (Torch7's File:readObject), binary and ascii.
 *
 * An object is an int32 type tag and its payload:
 *   0 nil | 1 number: double | 2 string: int32 length, bytes | 5 boolean: int32 (1 = true)
 *   3 table:  int32 reference index; if new: int32 count, then count (key object, value object) pairs
 *   4 torch object: int32 index; if new: string "V <version>" (absent in files before versions existed),
 *       string class name, then the class's payload:
 *       torch.<T>Tensor:  int32 ndim, long sizes[ndim], long strides[ndim], long storage offset (1-based),
 *                         storage object (or nil). Torch7 has no 0-d tensors and ignores a tensor's version:
 *                         we write a 0-d tensor as a one-element 1-d tensor with version 2 ("V 2"), which
 *                         Torch7 reads as that 1-d tensor and this reader as the 0-d tensor it was.
 *       torch.<T>Storage: long count, count raw elements
 *       other classes:    one object, a table of the instance's fields
 *   6 function: int32 length, Lua bytecode, upvalues object (a list of values)
 *   7/8 (recursive) function: int32 index; if new: as 6 (for 8 the list holds {name=, value=} tables)
 * A reference index already seen means "the same object again" (shared references and cycles).
 * `long` is 8 bytes (4 with TN_IO_LONG4). The ascii variant writes numbers as text, each write call on one
 * line, and strings and byte/char storages as raw bytes followed by a newline. */
#include "io.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

enum {
  T7_NIL = 0, T7_NUMBER = 1, T7_STRING = 2, T7_TABLE = 3, T7_TORCH = 4, T7_BOOLEAN = 5, T7_FUNCTION = 6,
  T7_LEGACY_RECUR_FUNCTION = 7, T7_RECUR_FUNCTION = 8
};

typedef struct t7 {
  tn_io_doc *doc;
  const char *begin, *p, *end;
  int ascii, long_size, depth;
  int32_t *objects;         /* reference index -> node + 1 (0: not seen) */
  int64_t objects_cap, objects_max;
  const char *context;      /* the class being read, for messages */
  int context_len;
} t7;

static int64_t at(const t7 *r) { return (int64_t)(r->p - r->begin); }

/* Sets an error naming the position (and the class being read); returns -1. Cold and not inlined, so that its
 * buffer is not part of every frame of the recursive reader. */
static int fail(t7 *r, const char *fmt, ...) __attribute__((cold, noinline, format(printf, 2, 3)));
static int fail(t7 *r, const char *fmt, ...) {
  char detail[400];
  va_list args;
  va_start(args, fmt);
  vsnprintf(detail, sizeof detail, fmt, args);
  va_end(args);
  if (r->context)
    return tn_io_fail(r->doc, "%s at byte %lld (inside an object of class %.*s)", detail, (long long)at(r),
                      r->context_len, r->context);
  return tn_io_fail(r->doc, "%s at byte %lld", detail, (long long)at(r));
}

#define FAIL(r, ...) return fail(r, __VA_ARGS__)

static int need(t7 *r, int64_t n, const char *what) {
  if (n <= r->end - r->p) return 0;
  FAIL(r, "truncated file: %s needs %lld bytes, %lld remain", what, (long long)n, (long long)(r->end - r->p));
}

/* ---- ascii tokens ---- */

static bool is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

/* The next whitespace-separated token, copied NUL-terminated into tok (at most 63 characters). */
static int ascii_token(t7 *r, char tok[64], const char *what) {
  while (r->p < r->end && is_space(*r->p)) r->p++;
  int n = 0;
  while (r->p < r->end && !is_space(*r->p)) {
    if (n == 63) FAIL(r, "malformed number for %s (a token longer than 63 characters)", what);
    tok[n++] = *r->p++;
  }
  tok[n] = '\0';
  if (n == 0) FAIL(r, "truncated file: expected a number for %s", what);
  return 0;
}

static int ascii_integer(t7 *r, int64_t *out, const char *what) {
  char tok[64], *endp;
  *out = 0;
  if (ascii_token(r, tok, what)) return -1;
  errno = 0;
  long long v = strtoll(tok, &endp, 10);
  if (*endp != '\0' || errno) FAIL(r, "malformed integer '%s' for %s", tok, what);
  *out = v;
  return 0;
}

static int ascii_double(t7 *r, double *out, const char *what) {
  char tok[64], *endp;
  *out = 0;
  if (ascii_token(r, tok, what)) return -1;
  *out = strtod(tok, &endp);
  if (*endp != '\0') FAIL(r, "malformed number '%s' for %s", tok, what);
  return 0;
}

/* Torch7's ascii files end every write call with a newline, which the matching read call consumes. */
static void ascii_end_call(t7 *r) {
  if (r->ascii && r->p < r->end && *r->p == '\n') r->p++;
}

/* ---- primitives ---- */

static int read_int(t7 *r, int32_t *out, const char *what) {
  *out = 0;
  if (r->ascii) {
    int64_t v = 0;
    if (ascii_integer(r, &v, what)) return -1;
    if (v < INT32_MIN || v > INT32_MAX) FAIL(r, "%s %lld does not fit in an int32", what, (long long)v);
    *out = (int32_t)v;
    ascii_end_call(r);
    return 0;
  }
  if (need(r, 4, what)) return -1;
  *out = (int32_t)tn_io_u32(r->p);
  r->p += 4;
  return 0;
}

/* n `long`s (one write call). */
static int read_longs(t7 *r, int64_t *out, int n, const char *what) {
  for (int i = 0; i < n; i++) {
    out[i] = 0;
    if (r->ascii) {
      if (ascii_integer(r, &out[i], what)) return -1;
    } else {
      if (need(r, r->long_size, what)) return -1;
      out[i] = r->long_size == 8 ? (int64_t)tn_io_u64(r->p) : (int64_t)(int32_t)tn_io_u32(r->p);
      r->p += r->long_size;
    }
  }
  if (n > 0) ascii_end_call(r);
  return 0;
}

static int read_double(t7 *r, double *out, const char *what) {
  *out = 0;
  if (r->ascii) {
    if (ascii_double(r, out, what)) return -1;
    ascii_end_call(r);
    return 0;
  }
  if (need(r, 8, what)) return -1;
  uint64_t bits = tn_io_u64(r->p);
  memcpy(out, &bits, 8);
  r->p += 8;
  return 0;
}

/* n raw bytes (strings, bytecode, char and byte storages), in place. */
static int read_bytes(t7 *r, int64_t n, const char **out, const char *what) {
  if (need(r, n, what)) return -1;
  *out = r->p;
  r->p += n;
  if (n > 0) ascii_end_call(r);
  return 0;
}

/* A string: int32 length, then the bytes. */
static int read_string(t7 *r, const char **ptr, int64_t *len, const char *what) {
  int32_t n;
  if (read_int(r, &n, what)) return -1;
  if (n < 0) FAIL(r, "negative length %d for %s", n, what);
  *len = n;
  return read_bytes(r, n, ptr, what);
}

/* The elements of a storage: in place for binary files, decoded into the document for ascii ones. */
static int read_elements(t7 *r, int dtype, int64_t numel, const char **out) {
  int64_t esize = tn_dtype_size(dtype), nbytes;
  if (!tn_io_mul(numel, esize, &nbytes)) FAIL(r, "storage of %lld elements is too large", (long long)numel);
  bool raw = dtype == TN_UINT8 || dtype == TN_INT8 || dtype == TN_BOOL;
  if (!r->ascii && !(dtype == TN_INT64 && r->long_size == 4)) return read_bytes(r, nbytes, out, "storage data");
  if (raw) return read_bytes(r, numel, out, "storage data");
  /* Each element takes at least one byte of input: check before allocating. */
  int64_t per_element = r->ascii ? 1 : 4;
  if (numel > (r->end - r->p) / per_element)
    FAIL(r, "truncated file: a storage of %lld elements cannot fit in the %lld bytes that remain",
         (long long)numel, (long long)(r->end - r->p));
  char *buf = tn_io_alloc(r->doc, nbytes);
  if (!buf) return -1;
  for (int64_t i = 0; i < numel; i++) {
    if (dtype == TN_INT64) {
      int64_t v;
      if (read_longs(r, &v, 1, "storage data")) return -1;
      memcpy(buf + i * 8, &v, 8);
      continue;
    }
    if (tn_dtype_is_floating(dtype)) {
      double v;
      if (ascii_double(r, &v, "storage data")) return -1;
      float f = (float)v;
      uint16_t h = dtype == TN_FLOAT16 ? tn_f32_to_f16(f) : tn_f32_to_bf16(f);
      if (dtype == TN_FLOAT64) memcpy(buf + i * 8, &v, 8);
      else if (dtype == TN_FLOAT32) memcpy(buf + i * 4, &f, 4);
      else memcpy(buf + i * 2, &h, 2);
    } else {
      int64_t v, lo = dtype == TN_INT32 ? INT32_MIN : INT16_MIN, hi = dtype == TN_INT32 ? INT32_MAX : INT16_MAX;
      if (ascii_integer(r, &v, "storage data")) return -1;
      if (v < lo || v > hi) FAIL(r, "storage element %lld is out of range for %s", (long long)v, tn_dtype_name(dtype));
      int32_t i32 = (int32_t)v;
      int16_t i16 = (int16_t)v;
      if (dtype == TN_INT32) memcpy(buf + i * 4, &i32, 4);
      else memcpy(buf + i * 2, &i16, 2);
    }
  }
  if (numel > 0) ascii_end_call(r);
  *out = buf;
  return 0;
}

/* ---- references ---- */

static int32_t lookup(t7 *r, int32_t index) {
  return index >= 0 && index < r->objects_cap ? r->objects[index] - 1 : -1;
}

static int remember(t7 *r, int32_t index, int32_t node) {
  if (index < 0 || index > r->objects_max)
    FAIL(r, "reference index %d out of range (a file of %lld bytes holds at most %lld objects)", index,
         (long long)(r->end - r->begin), (long long)r->objects_max);
  if (index >= r->objects_cap) {
    int64_t cap = r->objects_cap ? r->objects_cap : 64;
    while (cap <= index) cap *= 2;
    int32_t *p = realloc(r->objects, (size_t)cap * sizeof *p);
    if (!p) return tn_error("out of memory");
    memset(p + r->objects_cap, 0, (size_t)(cap - r->objects_cap) * sizeof *p);
    r->objects = p;
    r->objects_cap = cap;
  }
  r->objects[index] = node + 1;
  return 0;
}

/* ---- objects ---- */

static int32_t read_object(t7 *r);

/* The dtype of torch.<T>Tensor / torch.<T>Storage (and of torch.Cuda<T>..., whose bytes are the same), with
 * *is_tensor set; -1 for other classes. */
static int class_dtype(const char *name, int64_t len, bool *is_tensor) {
  static const struct { const char *type; int dtype; } types[] = {
      {"Float", TN_FLOAT32}, {"Double", TN_FLOAT64}, {"Half", TN_FLOAT16}, {"BFloat16", TN_BFLOAT16},
      {"Long", TN_INT64},    {"Int", TN_INT32},      {"Short", TN_INT16},  {"Char", TN_INT8},
      {"Byte", TN_UINT8},    {"Bool", TN_BOOL}};
  if (len < 6 || memcmp(name, "torch.", 6) != 0) return -1;
  name += 6;
  len -= 6;
  bool cuda = len >= 4 && memcmp(name, "Cuda", 4) == 0;
  if (cuda) {
    name += 4;
    len -= 4;
  }
  if (len >= 6 && memcmp(name + len - 6, "Tensor", 6) == 0) {
    *is_tensor = true;
    len -= 6;
  } else if (len >= 7 && memcmp(name + len - 7, "Storage", 7) == 0) {
    *is_tensor = false;
    len -= 7;
  } else {
    return -1;
  }
  if (len == 0) return cuda ? TN_FLOAT32 : -1; /* torch.CudaTensor, torch.CudaStorage */
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
    if ((int64_t)strlen(types[i].type) == len && memcmp(name, types[i].type, (size_t)len) == 0) return types[i].dtype;
  return -1;
}

/* (not inlined: its arrays stay out of the frames of the recursive readers) */
__attribute__((noinline)) static int32_t read_tensor(t7 *r, int32_t index, int dtype, const char *cls, int64_t cls_len,
                                                     int32_t version) {
  int32_t node = tn_io_node_new(r->doc, TN_IO_TENSOR);
  if (node < 0 || remember(r, index, node)) return -1;
  int32_t ndim;
  int64_t sizes[TN_MAX_DIMS], strides[TN_MAX_DIMS], offset;
  if (read_int(r, &ndim, "the number of dimensions")) return -1;
  if (ndim < 0 || ndim > TN_MAX_DIMS)
    FAIL(r, "%.*s with %d dimensions (at most %d are supported)", (int)cls_len, cls, ndim, TN_MAX_DIMS);
  if (read_longs(r, sizes, ndim, "tensor sizes") || read_longs(r, strides, ndim, "tensor strides") ||
      read_longs(r, &offset, 1, "the storage offset"))
    return -1;
  int32_t storage = read_object(r);
  if (storage < 0) return -1;
  const tn_io_node *s = tn_io_at(r->doc, storage);
  int64_t numel = 0;
  if (s->kind == TN_IO_STORAGE) {
    if (s->storage.dtype != dtype)
      FAIL(r, "%.*s over a storage of %s elements", (int)cls_len, cls, tn_dtype_name(s->storage.dtype));
    numel = s->storage.numel;
    offset -= 1; /* Torch7 writes the offset 1-based */
  } else if (s->kind == TN_IO_NIL) {
    storage = -1;
    offset = 0;
  } else {
    FAIL(r, "the storage of a %.*s is not a storage", (int)cls_len, cls);
  }
  if (ndim == 0) { /* Torch7's empty tensor: no dimensions, no elements */
    ndim = 1;
    sizes[0] = 0;
    strides[0] = 1;
  } else if (version == 2 && ndim == 1 && sizes[0] == 1) { /* our 0-d tensor */
    ndim = 0;
  }
  char what[96];
  snprintf(what, sizeof what, "a %.*s", (int)(cls_len < 60 ? cls_len : 60), cls);
  if (tn_io_check_view(r->doc, what, offset, ndim, sizes, strides, numel)) return -1;
  int64_t dims = tn_io_dims(r->doc, sizes, ndim);
  if (dims < 0 || tn_io_dims(r->doc, strides, ndim) < 0) return -1;
  tn_io_node *n = tn_io_at(r->doc, node);
  n->tensor.offset = offset;
  n->tensor.dims = dims;
  n->tensor.storage = storage;
  n->tensor.ndim = ndim;
  n->tensor.dtype = dtype;
  return node;
}

static int32_t read_storage(t7 *r, int32_t index, int dtype) {
  int32_t node = tn_io_node_new(r->doc, TN_IO_STORAGE);
  if (node < 0 || remember(r, index, node)) return -1;
  int64_t numel;
  const char *data = NULL;
  if (read_longs(r, &numel, 1, "the storage size")) return -1;
  if (numel < 0) FAIL(r, "negative storage size %lld", (long long)numel);
  if (read_elements(r, dtype, numel, &data)) return -1;
  tn_io_node *n = tn_io_at(r->doc, node);
  n->storage.data = data;
  n->storage.numel = numel;
  n->storage.dtype = dtype;
  return node;
}

static int32_t read_torch(t7 *r, int32_t index) {
  const char *version, *name;
  int64_t version_len, name_len;
  int32_t version_number = 0;
  if (read_string(r, &version, &version_len, "the version string")) return -1;
  char digits[12], *endp = digits;
  if (version_len > 2 && version_len < 12 && version[0] == 'V' && version[1] == ' ') {
    memcpy(digits, version + 2, (size_t)version_len - 2);
    digits[version_len - 2] = '\0';
    version_number = (int32_t)strtol(digits, &endp, 10);
  }
  if (endp != digits && *endp == '\0') {
    if (read_string(r, &name, &name_len, "the class name")) return -1;
  } else { /* a file from before version strings: this was the class name */
    name = version;
    name_len = version_len;
    version_number = 0;
  }
  if (name_len == 0) FAIL(r, "empty class name");
  const char *outer = r->context;
  int outer_len = r->context_len;
  r->context = name;
  r->context_len = name_len < 80 ? (int)name_len : 80;
  bool is_tensor = false;
  int dtype = class_dtype(name, name_len, &is_tensor);
  int32_t node;
  if (dtype >= 0) {
    node = is_tensor ? read_tensor(r, index, dtype, name, name_len, version_number) : read_storage(r, index, dtype);
  } else {
    node = tn_io_node_new(r->doc, TN_IO_OBJECT);
    if (node < 0 || remember(r, index, node)) return -1;
    int32_t name_node = tn_io_node_new(r->doc, TN_IO_STRING);
    if (name_node < 0) return -1;
    tn_io_at(r->doc, name_node)->string.ptr = name;
    tn_io_at(r->doc, name_node)->string.len = name_len;
    int32_t fields = read_object(r);
    if (fields < 0) return -1;
    if (tn_io_at(r->doc, fields)->kind != TN_IO_MAP)
      FAIL(r, "the fields of an object of class %.*s are not a table (classes with their own read/write "
              "methods cannot be read)", r->context_len, name);
    tn_io_node *n = tn_io_at(r->doc, node);
    n->object.name = name_node;
    n->object.fields = fields;
    n->object.version = version_number;
  }
  r->context = outer;
  r->context_len = outer_len;
  return node;
}

static int32_t read_table(t7 *r, int32_t index) {
  int32_t node = tn_io_node_new(r->doc, TN_IO_MAP), count;
  if (node < 0 || remember(r, index, node) || read_int(r, &count, "the table size")) return -1;
  /* each entry needs two type tags: 8 bytes (4 in ascii) */
  if (count < 0 || count > (r->end - r->p) / (r->ascii ? 4 : 8))
    FAIL(r, "a table of %d entries cannot fit in the %lld bytes that remain", count, (long long)(r->end - r->p));
  for (int32_t i = 0; i < count; i++) {
    int32_t key = read_object(r);
    int32_t value = key < 0 ? -1 : read_object(r);
    if (value < 0 || tn_io_append(r->doc, node, key, value)) return -1;
  }
  return node;
}

static int32_t read_function(t7 *r, int32_t index, int type) {
  int32_t node = tn_io_node_new(r->doc, TN_IO_FUNCTION);
  if (node < 0 || (type != T7_FUNCTION && remember(r, index, node))) return -1;
  const char *code;
  int64_t len;
  if (read_string(r, &code, &len, "function bytecode")) return -1;
  int32_t upvalues = read_object(r);
  if (upvalues < 0) return -1;
  if (tn_io_at(r->doc, upvalues)->kind != TN_IO_MAP) FAIL(r, "the upvalues of a function are not a table");
  tn_io_node *n = tn_io_at(r->doc, node);
  n->func.ptr = code;
  n->func.len = len;
  n->func.upvalues = upvalues;
  n->func.recursive = type == T7_RECUR_FUNCTION;
  return node;
}

static int32_t read_object(t7 *r) {
  int32_t type;
  if (read_int(r, &type, "a type tag")) return -1;
  switch (type) {
  case T7_NIL: return tn_io_node_new(r->doc, TN_IO_NIL);
  case T7_NUMBER: {
    double v;
    if (read_double(r, &v, "a number")) return -1;
    int32_t node = tn_io_node_new(r->doc, TN_IO_NUMBER);
    if (node >= 0) tn_io_at(r->doc, node)->number = v;
    return node;
  }
  case T7_BOOLEAN: {
    int32_t v;
    if (read_int(r, &v, "a boolean")) return -1;
    int32_t node = tn_io_node_new(r->doc, TN_IO_BOOL);
    if (node >= 0) tn_io_at(r->doc, node)->boolean = v == 1;
    return node;
  }
  case T7_STRING: {
    const char *p;
    int64_t len;
    if (read_string(r, &p, &len, "a string")) return -1;
    int32_t node = tn_io_node_new(r->doc, TN_IO_STRING);
    if (node >= 0) {
      tn_io_at(r->doc, node)->string.ptr = p;
      tn_io_at(r->doc, node)->string.len = len;
    }
    return node;
  }
  case T7_TABLE:
  case T7_TORCH:
  case T7_FUNCTION:
  case T7_LEGACY_RECUR_FUNCTION:
  case T7_RECUR_FUNCTION: {
    int32_t index = 0;
    if (type != T7_FUNCTION) {
      if (read_int(r, &index, "a reference index")) return -1;
      int32_t seen = lookup(r, index);
      if (seen >= 0) return seen;
    }
    if (++r->depth > TN_IO_MAX_DEPTH) FAIL(r, "objects nested more than %d levels deep", TN_IO_MAX_DEPTH);
    int32_t node = type == T7_TABLE ? read_table(r, index)
                   : type == T7_TORCH ? read_torch(r, index)
                                      : read_function(r, index, type);
    r->depth--;
    return node;
  }
  default:
    r->p -= r->ascii ? 0 : 4;
    FAIL(r, "unknown type tag %d (not a Torch7 file, or a corrupt one)", type);
  }
}

int tn_io_parse_t7(tn_io_doc *doc, int ascii, int flags) {
  t7 r = {.doc = doc, .begin = doc->source->data, .p = doc->source->data,
          .end = doc->source->data + doc->source->size, .ascii = ascii,
          .long_size = (flags & TN_IO_LONG4) ? 4 : 8};
  /* A new object costs at least a type tag and an index: 8 bytes (4 in ascii). */
  r.objects_max = doc->size / (ascii ? 4 : 8) + 1;
  doc->root = read_object(&r);
  free(r.objects);
  return doc->root < 0 ? -1 : 0;
}
