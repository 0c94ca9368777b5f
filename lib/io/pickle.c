/* pickle.c: the subset of Python's pickle machine (protocols 0-5) that tensors and state dicts need.
 *
 * It builds nodes; it never runs code. The only Python names a pickle may use (GLOBAL / STACK_GLOBAL) are
 * the allowlist below; any other name is refused with an error that names it. REDUCE (a call) works only on
 * allowlisted functions, each implemented here as a data transformation: tensor rebuilds become TENSOR
 * nodes, OrderedDict() an empty MAP. Persistent ids (BINPERSID) go to the caller's resolver, which turns
 * PyTorch's ('storage', ...) tuples into STORAGE nodes. Opcodes that create arbitrary objects (INST, OBJ,
 * NEWOBJ, NEWOBJ_EX, EXT*) and out-of-band buffers are refused. */
#include "io.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* The allowlisted globals. */
enum {
  G_REBUILD_TENSOR_V2, G_REBUILD_PARAMETER, G_REBUILD_PARAMETER_WITH_STATE, G_REBUILD_FROM_TYPE_V2, G_ORDERED_DICT,
  G_CODECS_ENCODE, G_TENSOR_CLASS, G_PARAMETER_CLASS, G_STORAGE /* + dtype */
};

static const struct { const char *module, *name; int id; } allowed[] = {
    {"torch._utils", "_rebuild_tensor_v2", G_REBUILD_TENSOR_V2},
    {"torch._utils", "_rebuild_parameter", G_REBUILD_PARAMETER},
    {"torch._utils", "_rebuild_parameter_with_state", G_REBUILD_PARAMETER_WITH_STATE},
    {"torch._tensor", "_rebuild_from_type_v2", G_REBUILD_FROM_TYPE_V2},
    {"collections", "OrderedDict", G_ORDERED_DICT},
    {"_codecs", "encode", G_CODECS_ENCODE}, /* how protocols 0-2 pickle bytes: encode(text, 'latin1') */
    {"torch", "Tensor", G_TENSOR_CLASS},
    {"torch.nn.parameter", "Parameter", G_PARAMETER_CLASS},
    {"torch", "FloatStorage", G_STORAGE + TN_FLOAT32},
    {"torch", "DoubleStorage", G_STORAGE + TN_FLOAT64},
    {"torch", "HalfStorage", G_STORAGE + TN_FLOAT16},
    {"torch", "BFloat16Storage", G_STORAGE + TN_BFLOAT16},
    {"torch", "LongStorage", G_STORAGE + TN_INT64},
    {"torch", "IntStorage", G_STORAGE + TN_INT32},
    {"torch", "ShortStorage", G_STORAGE + TN_INT16},
    {"torch", "CharStorage", G_STORAGE + TN_INT8},
    {"torch", "ByteStorage", G_STORAGE + TN_UINT8},
    {"torch", "BoolStorage", G_STORAGE + TN_BOOL},
};

typedef struct vm {
  tn_io_doc *doc;
  const char *begin, *p, *end;
  int32_t *stack;
  int64_t sp, stack_cap;
  int64_t *marks;
  int64_t nmarks, marks_cap;
  int32_t *memo; /* memo key -> node + 1 */
  int64_t memo_cap, memo_count;
  tn_pickle_persistent_fn persistent;
  void *ctx;
} vm;

static int fail(vm *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(vm *m, const char *fmt, ...) {
  char message[512];
  va_list args;
  va_start(args, fmt);
  vsnprintf(message, sizeof message, fmt, args);
  va_end(args);
  return tn_io_fail(m->doc, "data.pkl: %s (at byte %lld of the pickle)", message, (long long)(m->p - m->begin));
}

static const char *kind_name(int kind) {
  static const char *const names[] = {"None", "bool", "int", "float", "string", "list", "dict",
                                      "storage", "tensor", "object", "function", "class or function"};
  return kind >= 0 && kind <= TN_IO_GLOBAL ? names[kind] : "?";
}

/* ---- the stacks ---- */

static int push(vm *m, int32_t node) {
  if (node < 0) return -1;
  if (m->sp == m->stack_cap) {
    int64_t cap = m->stack_cap ? m->stack_cap * 2 : 256;
    int32_t *s = realloc(m->stack, (size_t)cap * sizeof *s);
    if (!s) return tn_error("out of memory");
    m->stack = s;
    m->stack_cap = cap;
  }
  m->stack[m->sp++] = node;
  return 0;
}

static int64_t base(const vm *m) { return m->nmarks ? m->marks[m->nmarks - 1] : 0; }

static int32_t pop(vm *m) {
  if (m->sp <= base(m)) return fail(m, "stack underflow");
  return m->stack[--m->sp];
}

static int32_t top(vm *m) {
  if (m->sp <= base(m)) return fail(m, "stack underflow");
  return m->stack[m->sp - 1];
}

/* Pops the topmost mark; returns where its items start on the stack (they stay there for the caller). */
static int64_t pop_mark(vm *m) {
  if (m->nmarks == 0) return fail(m, "no MARK on the stack");
  return m->marks[--m->nmarks];
}

static tn_io_node *N(vm *m, int32_t i) { return tn_io_at(m->doc, i); }

/* ---- reading the input ---- */

static int need(vm *m, int64_t n) {
  if (n >= 0 && n <= m->end - m->p) return 0;
  return fail(m, "truncated pickle: needs %lld more bytes, %lld remain", (long long)n, (long long)(m->end - m->p));
}

static int64_t uint_le(vm *m, int n) {
  if (need(m, n)) return -1;
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--) v = v << 8 | (unsigned char)m->p[i];
  m->p += n;
  if (v > INT64_MAX) return fail(m, "length %llu is too large", (unsigned long long)v);
  return (int64_t)v;
}

/* A newline-terminated argument of the text opcodes (its length in *len, newline excluded). */
static const char *line(vm *m, int64_t *len) {
  const char *nl = memchr(m->p, '\n', (size_t)(m->end - m->p));
  if (!nl) {
    fail(m, "truncated pickle: unterminated text argument");
    return NULL;
  }
  const char *s = m->p;
  *len = nl - s;
  m->p = nl + 1;
  return s;
}

/* A decimal integer from a text argument. */
static int text_int(vm *m, const char *s, int64_t len, int64_t *out) {
  char buf[32], *endp;
  if (len > 0 && s[len - 1] == 'L') len--; /* Python 2 longs */
  if (len <= 0 || len >= (int64_t)sizeof buf) return fail(m, "malformed integer argument");
  memcpy(buf, s, (size_t)len);
  buf[len] = '\0';
  errno = 0;
  long long v = strtoll(buf, &endp, 10);
  if (*endp != '\0' || errno) return fail(m, "malformed or too large integer argument '%s'", buf);
  *out = v;
  return 0;
}

/* ---- values ---- */

static int32_t new_int(vm *m, int64_t v) {
  int32_t node = tn_io_node_new(m->doc, TN_IO_INT);
  if (node >= 0) N(m, node)->integer = v;
  return node;
}

static int32_t new_string(vm *m, const char *p, int64_t len) {
  int32_t node = tn_io_node_new(m->doc, TN_IO_STRING);
  if (node >= 0) {
    N(m, node)->string.ptr = p;
    N(m, node)->string.len = len;
  }
  return node;
}

/* A string of n bytes whose length was just read. */
static int push_bytes(vm *m, int64_t n) {
  if (n < 0 || need(m, n)) return -1;
  const char *s = m->p;
  m->p += n;
  return push(m, new_string(m, s, n));
}

/* LONG1/LONG4: n bytes of two's complement, little-endian. */
static int push_long(vm *m, int64_t n) {
  if (n < 0 || need(m, n)) return -1;
  const unsigned char *b = (const unsigned char *)m->p;
  /* leading sign-extension bytes beyond 8 are harmless; anything else does not fit in int64 */
  for (int64_t i = 8; i < n; i++)
    if (b[i] != ((b[7] & 0x80) ? 0xff : 0)) return fail(m, "integer of %lld bytes does not fit in 64 bits", (long long)n);
  uint64_t v = 0;
  int64_t k = n < 8 ? n : 8;
  for (int64_t i = k - 1; i >= 0; i--) v = v << 8 | b[i];
  if (k > 0 && k < 8 && (b[k - 1] & 0x80)) v |= ~(uint64_t)0 << (8 * k);
  m->p += n;
  return push(m, new_int(m, (int64_t)v));
}

static int push_float(vm *m, double v) {
  int32_t node = tn_io_node_new(m->doc, TN_IO_NUMBER);
  if (node >= 0) N(m, node)->number = v;
  return push(m, node);
}

static int push_bool(vm *m, bool v) {
  int32_t node = tn_io_node_new(m->doc, TN_IO_BOOL);
  if (node >= 0) N(m, node)->boolean = v;
  return push(m, node);
}

/* A LIST node (tuple when flagged) holding stack[from..sp), which are popped. */
static int32_t collect(vm *m, int64_t from, int flags) {
  int32_t node = tn_io_node_new(m->doc, TN_IO_LIST);
  if (node < 0) return -1;
  N(m, node)->flags = flags;
  for (int64_t i = from; i < m->sp; i++)
    if (tn_io_append(m->doc, node, -1, m->stack[i])) return -1;
  m->sp = from;
  return node;
}

/* Adds stack[from..sp) as key/value pairs to MAP node `map`, and pops them. */
static int set_items(vm *m, int32_t map, int64_t from) {
  if (N(m, map)->kind != TN_IO_MAP) return fail(m, "SETITEM(S) on a %s, not a dict", kind_name(N(m, map)->kind));
  if ((m->sp - from) % 2) return fail(m, "SETITEMS with an odd number of items");
  for (int64_t i = from; i < m->sp; i += 2)
    if (tn_io_append(m->doc, map, m->stack[i], m->stack[i + 1])) return -1;
  m->sp = from;
  return 0;
}

static int append_items(vm *m, int32_t list, int64_t from) {
  const tn_io_node *l = N(m, list);
  if (l->kind != TN_IO_LIST || (l->flags & TN_IO_TUPLE)) return fail(m, "APPEND(S) on a %s, not a list", kind_name(l->kind));
  for (int64_t i = from; i < m->sp; i++)
    if (tn_io_append(m->doc, list, -1, m->stack[i])) return -1;
  m->sp = from;
  return 0;
}

/* ---- the memo ---- */

static int memo_put(vm *m, int64_t key) {
  int32_t node = top(m);
  if (node < 0) return -1;
  /* Picklers number memo entries from 0, one per stored object: a key can never exceed the pickle's length. */
  if (key < 0 || key > m->end - m->begin) return fail(m, "memo key %lld out of range", (long long)key);
  if (key >= m->memo_cap) {
    int64_t cap = m->memo_cap ? m->memo_cap : 256;
    while (cap <= key) cap *= 2;
    int32_t *p = realloc(m->memo, (size_t)cap * sizeof *p);
    if (!p) return tn_error("out of memory");
    memset(p + m->memo_cap, 0, (size_t)(cap - m->memo_cap) * sizeof *p);
    m->memo = p;
    m->memo_cap = cap;
  }
  if (m->memo[key] == 0) m->memo_count++;
  m->memo[key] = node + 1;
  return 0;
}

static int memo_get(vm *m, int64_t key) {
  if (key < 0 || key >= m->memo_cap || m->memo[key] == 0) return fail(m, "memo key %lld not found", (long long)key);
  return push(m, m->memo[key] - 1);
}

/* ---- globals and calls ---- */

static int push_global(vm *m, const char *module, int64_t mlen, const char *name, int64_t nlen) {
  for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
    if ((int64_t)strlen(allowed[i].module) != mlen || memcmp(allowed[i].module, module, (size_t)mlen) != 0) continue;
    if ((int64_t)strlen(allowed[i].name) != nlen || memcmp(allowed[i].name, name, (size_t)nlen) != 0) continue;
    int32_t node = tn_io_node_new(m->doc, TN_IO_GLOBAL);
    if (node < 0) return -1;
    N(m, node)->flags = allowed[i].id;
    char *q = tn_io_alloc(m->doc, mlen + nlen + 1);
    if (!q) return -1;
    memcpy(q, module, (size_t)mlen);
    q[mlen] = '.';
    memcpy(q + mlen + 1, name, (size_t)nlen);
    N(m, node)->string.ptr = q;
    N(m, node)->string.len = mlen + nlen + 1;
    return push(m, node);
  }
  return fail(m, "refusing to load global '%.*s.%.*s': only tensors, storages and containers can be loaded "
                 "(torch.load here never runs code from a file; save a state_dict() rather than a whole model)",
              (int)(mlen < 100 ? mlen : 100), module, (int)(nlen < 100 ? nlen : 100), name);
}

/* The i-th item (0-based) of a LIST node, or -1. */
static int32_t item(vm *m, int32_t list, int i) {
  int32_t l = N(m, list)->list.first;
  while (l >= 0 && i-- > 0) l = m->doc->links[l].next;
  return l >= 0 ? m->doc->links[l].value : -1;
}

/* A tuple of ints into out (at most TN_MAX_DIMS); returns the count or -1. */
static int int_tuple(vm *m, int32_t node, int64_t *out, const char *what) {
  const tn_io_node *t = N(m, node);
  if (t->kind != TN_IO_LIST) return fail(m, "tensor %s is a %s, not a tuple", what, kind_name(t->kind));
  if (t->list.count > TN_MAX_DIMS)
    return fail(m, "tensor with %d dimensions (at most %d are supported)", t->list.count, TN_MAX_DIMS);
  int n = 0;
  for (int32_t l = t->list.first; l >= 0; l = m->doc->links[l].next) {
    const tn_io_node *v = N(m, m->doc->links[l].value);
    if (v->kind != TN_IO_INT) return fail(m, "tensor %s holds a %s, not an int", what, kind_name(v->kind));
    out[n++] = v->integer;
  }
  return n;
}

/* torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]) */
static int32_t rebuild_tensor(vm *m, int32_t args) {
  if (N(m, args)->list.count < 4) return fail(m, "_rebuild_tensor_v2 with %d arguments", N(m, args)->list.count);
  int32_t storage = item(m, args, 0), offset = item(m, args, 1), requires_grad = item(m, args, 4);
  if (N(m, storage)->kind != TN_IO_STORAGE) return fail(m, "_rebuild_tensor_v2 of a %s, not a storage", kind_name(N(m, storage)->kind));
  if (N(m, offset)->kind != TN_IO_INT) return fail(m, "_rebuild_tensor_v2: the storage offset is not an int");
  int64_t dims[2 * TN_MAX_DIMS];
  int ndim = int_tuple(m, item(m, args, 2), dims, "size");
  if (ndim < 0) return -1;
  int nstride = int_tuple(m, item(m, args, 3), dims + ndim, "stride");
  if (nstride < 0) return -1;
  if (nstride != ndim) return fail(m, "_rebuild_tensor_v2: %d sizes but %d strides", ndim, nstride);
  const tn_io_node *s = N(m, storage);
  if (tn_io_check_view(m->doc, "a tensor", N(m, offset)->integer, ndim, dims, dims + ndim, s->storage.numel)) return -1;
  int32_t node = tn_io_node_new(m->doc, TN_IO_TENSOR);
  int64_t at = node < 0 ? -1 : tn_io_dims(m->doc, dims, 2 * ndim);
  if (at < 0) return -1;
  tn_io_node *t = N(m, node);
  t->tensor.offset = N(m, offset)->integer;
  t->tensor.dims = at;
  t->tensor.storage = storage;
  t->tensor.ndim = ndim;
  t->tensor.dtype = N(m, storage)->storage.dtype;
  if (requires_grad >= 0 && N(m, requires_grad)->kind == TN_IO_BOOL && N(m, requires_grad)->boolean)
    t->flags |= TN_IO_REQUIRES_GRAD;
  return node;
}

/* torch._utils._rebuild_parameter(data, requires_grad, backward_hooks[, state]): the tensor, flagged. */
static int32_t rebuild_parameter(vm *m, int32_t args) {
  int32_t data = item(m, args, 0), requires_grad = item(m, args, 1);
  if (data < 0 || N(m, data)->kind != TN_IO_TENSOR) return fail(m, "_rebuild_parameter of something that is not a tensor");
  int32_t node = tn_io_node_new(m->doc, TN_IO_TENSOR);
  if (node < 0) return -1;
  *N(m, node) = *N(m, data);
  N(m, node)->flags &= ~TN_IO_REQUIRES_GRAD;
  if (requires_grad >= 0 && N(m, requires_grad)->kind == TN_IO_BOOL && N(m, requires_grad)->boolean)
    N(m, node)->flags |= TN_IO_REQUIRES_GRAD;
  return node;
}

static int32_t call(vm *m, int32_t callable, int32_t args);

/* torch._tensor._rebuild_from_type_v2(func, new_type, args, state): func(*args) for a plain Tensor or Parameter. */
static int32_t rebuild_from_type(vm *m, int32_t args) {
  int32_t func = item(m, args, 0), type = item(m, args, 1), inner = item(m, args, 2);
  if (func < 0 || type < 0 || inner < 0) return fail(m, "_rebuild_from_type_v2 with too few arguments");
  if (N(m, type)->kind != TN_IO_GLOBAL || (N(m, type)->flags != G_TENSOR_CLASS && N(m, type)->flags != G_PARAMETER_CLASS))
    return fail(m, "_rebuild_from_type_v2 for a tensor subclass");
  if (N(m, func)->kind != TN_IO_GLOBAL || N(m, func)->flags != G_REBUILD_TENSOR_V2)
    return fail(m, "_rebuild_from_type_v2 of a function other than _rebuild_tensor_v2");
  return call(m, func, inner);
}

/* _codecs.encode(text, 'latin1'): the bytes whose code points text (UTF-8) lists, each below 256. */
static int32_t latin1_bytes(vm *m, int32_t args) {
  int32_t text = item(m, args, 0), encoding = item(m, args, 1);
  if (text < 0 || encoding < 0 || N(m, text)->kind != TN_IO_STRING || N(m, encoding)->kind != TN_IO_STRING)
    return fail(m, "_codecs.encode with arguments that are not two strings");
  const tn_io_node *e = N(m, encoding);
  if (!((e->string.len == 6 && memcmp(e->string.ptr, "latin1", 6) == 0) ||
        (e->string.len == 7 && memcmp(e->string.ptr, "latin-1", 7) == 0)))
    return fail(m, "_codecs.encode to an encoding other than latin1");
  const unsigned char *s = (const unsigned char *)N(m, text)->string.ptr;
  int64_t len = N(m, text)->string.len, n = 0;
  char *out = tn_io_alloc(m->doc, len);
  if (!out) return -1;
  for (int64_t i = 0; i < len; i++) {
    if (s[i] < 0x80) {
      out[n++] = (char)s[i];
    } else if ((s[i] == 0xc2 || s[i] == 0xc3) && i + 1 < len && (s[i + 1] & 0xc0) == 0x80) {
      out[n++] = (char)((s[i] & 0x03) << 6 | (s[i + 1] & 0x3f));
      i++;
    } else {
      return fail(m, "_codecs.encode: text that is not latin1");
    }
  }
  return new_string(m, out, n);
}

static int32_t call(vm *m, int32_t callable, int32_t args) {
  const tn_io_node *f = N(m, callable);
  if (f->kind != TN_IO_GLOBAL) return fail(m, "REDUCE of a %s, which cannot be called", kind_name(f->kind));
  if (N(m, args)->kind != TN_IO_LIST) return fail(m, "REDUCE with arguments that are not a tuple");
  switch (f->flags) {
  case G_REBUILD_TENSOR_V2: return rebuild_tensor(m, args);
  case G_REBUILD_PARAMETER:
  case G_REBUILD_PARAMETER_WITH_STATE: return rebuild_parameter(m, args);
  case G_REBUILD_FROM_TYPE_V2: return rebuild_from_type(m, args);
  case G_CODECS_ENCODE: return latin1_bytes(m, args);
  case G_ORDERED_DICT: {
    int32_t map = tn_io_node_new(m->doc, TN_IO_MAP);
    if (map < 0) return -1;
    int32_t items = item(m, args, 0);
    if (items < 0) return map;
    if (N(m, items)->kind != TN_IO_LIST) return fail(m, "OrderedDict of a %s", kind_name(N(m, items)->kind));
    for (int32_t l = N(m, items)->list.first; l >= 0; l = m->doc->links[l].next) {
      int32_t pair = m->doc->links[l].value;
      if (N(m, pair)->kind != TN_IO_LIST || N(m, pair)->list.count != 2) return fail(m, "OrderedDict item is not a pair");
      if (tn_io_append(m->doc, map, item(m, pair, 0), item(m, pair, 1))) return -1;
    }
    return map;
  }
  default:
    return fail(m, "'%.*s' cannot be called", (int)f->string.len, f->string.ptr);
  }
}

int tn_pickle_storage_dtype(tn_io_doc *doc, int32_t node) {
  const tn_io_node *n = tn_io_at(doc, node);
  return n->kind == TN_IO_GLOBAL && n->flags >= G_STORAGE ? n->flags - G_STORAGE : -1;
}

/* ---- the machine ---- */

static int step(vm *m, bool *stop, int32_t *result) {
  if (need(m, 1)) return -1;
  unsigned char op = (unsigned char)*m->p++;
  int64_t n, from;
  int32_t a, b;
  const char *s, *s2;
  int64_t len, len2;
  switch (op) {
  case 0x80: /* PROTO */
    if ((n = uint_le(m, 1)) < 0) return -1;
    if (n > 5) return fail(m, "pickle protocol %lld is not supported", (long long)n);
    return 0;
  case 0x95: /* FRAME: a length hint */
    return uint_le(m, 8) < 0 ? -1 : 0;
  case '.': /* STOP */
    if ((*result = pop(m)) < 0) return -1;
    *stop = true;
    return 0;
  case '(': /* MARK */
    if (m->nmarks == m->marks_cap) {
      int64_t cap = m->marks_cap ? m->marks_cap * 2 : 64;
      int64_t *p = realloc(m->marks, (size_t)cap * sizeof *p);
      if (!p) return tn_error("out of memory");
      m->marks = p;
      m->marks_cap = cap;
    }
    m->marks[m->nmarks++] = m->sp;
    return 0;
  case '0': /* POP */
    if (m->sp > base(m)) return pop(m) < 0 ? -1 : 0;
    return pop_mark(m) < 0 ? -1 : 0;
  case '1': /* POP_MARK */
    if ((from = pop_mark(m)) < 0) return -1;
    m->sp = from;
    return 0;
  case '2': /* DUP */
    return (a = top(m)) < 0 ? -1 : push(m, a);
  case 'N': return push(m, tn_io_node_new(m->doc, TN_IO_NIL));
  case 0x88: return push_bool(m, true);  /* NEWTRUE */
  case 0x89: return push_bool(m, false); /* NEWFALSE */
  case 'J': /* BININT */
    if ((n = uint_le(m, 4)) < 0) return -1;
    return push(m, new_int(m, (int32_t)(uint32_t)n));
  case 'K': return (n = uint_le(m, 1)) < 0 ? -1 : push(m, new_int(m, n)); /* BININT1 */
  case 'M': return (n = uint_le(m, 2)) < 0 ? -1 : push(m, new_int(m, n)); /* BININT2 */
  case 0x8a: return (n = uint_le(m, 1)) < 0 ? -1 : push_long(m, n);      /* LONG1 */
  case 0x8b: /* LONG4 */
    if ((n = uint_le(m, 4)) < 0) return -1;
    return push_long(m, (int32_t)(uint32_t)n);
  case 'I': /* INT (text); I01 / I00 are True / False */
  case 'L': /* LONG (text) */
    if (!(s = line(m, &len))) return -1;
    if (op == 'I' && len == 2 && s[0] == '0' && (s[1] == '0' || s[1] == '1')) return push_bool(m, s[1] == '1');
    if (text_int(m, s, len, &n)) return -1;
    return push(m, new_int(m, n));
  case 'G': { /* BINFLOAT: big-endian double */
    if (need(m, 8)) return -1;
    uint64_t bits = 0;
    for (int i = 0; i < 8; i++) bits = bits << 8 | (unsigned char)m->p[i];
    m->p += 8;
    double v;
    memcpy(&v, &bits, 8);
    return push_float(m, v);
  }
  case 'F': { /* FLOAT (text) */
    char buf[64], *endp;
    if (!(s = line(m, &len))) return -1;
    if (len <= 0 || len >= (int64_t)sizeof buf) return fail(m, "malformed float argument");
    memcpy(buf, s, (size_t)len);
    buf[len] = '\0';
    double v = strtod(buf, &endp);
    if (*endp != '\0') return fail(m, "malformed float argument '%s'", buf);
    return push_float(m, v);
  }
  case 'X': /* BINUNICODE */
  case 'B': /* BINBYTES */
    return (n = uint_le(m, 4)) < 0 ? -1 : push_bytes(m, n);
  case 'T': /* BINSTRING (signed length) */
    if ((n = uint_le(m, 4)) < 0) return -1;
    return push_bytes(m, (int32_t)(uint32_t)n);
  case 0x8c: /* SHORT_BINUNICODE */
  case 'U':  /* SHORT_BINSTRING */
  case 'C':  /* SHORT_BINBYTES */
    return (n = uint_le(m, 1)) < 0 ? -1 : push_bytes(m, n);
  case 0x8d: /* BINUNICODE8 */
  case 0x8e: /* BINBYTES8 */
    return (n = uint_le(m, 8)) < 0 ? -1 : push_bytes(m, n);
  case ']': return push(m, collect(m, m->sp, 0));           /* EMPTY_LIST */
  case ')': return push(m, collect(m, m->sp, TN_IO_TUPLE)); /* EMPTY_TUPLE */
  case '}': return push(m, tn_io_node_new(m->doc, TN_IO_MAP)); /* EMPTY_DICT */
  case 'l': /* LIST */
  case 't': /* TUPLE */
    if ((from = pop_mark(m)) < 0) return -1;
    return push(m, collect(m, from, op == 't' ? TN_IO_TUPLE : 0));
  case 0x85: /* TUPLE1 */
  case 0x86: /* TUPLE2 */
  case 0x87: /* TUPLE3 */
    if (m->sp - base(m) < op - 0x84) return fail(m, "stack underflow");
    return push(m, collect(m, m->sp - (op - 0x84), TN_IO_TUPLE));
  case 'd': { /* DICT */
    if ((from = pop_mark(m)) < 0) return -1;
    int32_t map = tn_io_node_new(m->doc, TN_IO_MAP);
    if (map < 0 || set_items(m, map, from)) return -1;
    return push(m, map);
  }
  case 's': /* SETITEM */
    if (m->sp - base(m) < 3) return fail(m, "stack underflow");
    return set_items(m, m->stack[m->sp - 3], m->sp - 2);
  case 'u': /* SETITEMS */
    if ((from = pop_mark(m)) < 0) return -1;
    if (from <= base(m)) return fail(m, "SETITEMS without a dict");
    return set_items(m, m->stack[from - 1], from);
  case 'a': /* APPEND */
    if (m->sp - base(m) < 2) return fail(m, "stack underflow");
    return append_items(m, m->stack[m->sp - 2], m->sp - 1);
  case 'e': /* APPENDS */
    if ((from = pop_mark(m)) < 0) return -1;
    if (from <= base(m)) return fail(m, "APPENDS without a list");
    return append_items(m, m->stack[from - 1], from);
  case 'q': return (n = uint_le(m, 1)) < 0 ? -1 : memo_put(m, n); /* BINPUT */
  case 'r': return (n = uint_le(m, 4)) < 0 ? -1 : memo_put(m, n); /* LONG_BINPUT */
  case 0x94: return memo_put(m, m->memo_count);                   /* MEMOIZE */
  case 'h': return (n = uint_le(m, 1)) < 0 ? -1 : memo_get(m, n); /* BINGET */
  case 'j': return (n = uint_le(m, 4)) < 0 ? -1 : memo_get(m, n); /* LONG_BINGET */
  case 'p': /* PUT (text) */
  case 'g': /* GET (text) */
    if (!(s = line(m, &len)) || text_int(m, s, len, &n)) return -1;
    return op == 'p' ? memo_put(m, n) : memo_get(m, n);
  case 'c': /* GLOBAL "module\nname\n" */
    if (!(s = line(m, &len)) || !(s2 = line(m, &len2))) return -1;
    return push_global(m, s, len, s2, len2);
  case 0x93: { /* STACK_GLOBAL */
    if ((b = pop(m)) < 0 || (a = pop(m)) < 0) return -1;
    if (N(m, a)->kind != TN_IO_STRING || N(m, b)->kind != TN_IO_STRING) return fail(m, "STACK_GLOBAL of non-strings");
    return push_global(m, N(m, a)->string.ptr, N(m, a)->string.len, N(m, b)->string.ptr, N(m, b)->string.len);
  }
  case 'R': /* REDUCE */
    if ((b = pop(m)) < 0 || (a = pop(m)) < 0) return -1;
    return push(m, call(m, a, b));
  case 'b': { /* BUILD: only the instance dict of an OrderedDict (state_dict's _metadata), which is dropped */
    if ((b = pop(m)) < 0 || (a = top(m)) < 0) return -1;
    if (N(m, a)->kind != TN_IO_MAP) return fail(m, "BUILD on a %s is not supported", kind_name(N(m, a)->kind));
    return 0;
  }
  case 'Q': { /* BINPERSID */
    if ((a = pop(m)) < 0) return -1;
    if (!m->persistent) return fail(m, "persistent id without a resolver");
    return push(m, m->persistent(m->doc, a, m->ctx));
  }
  case 'P': return fail(m, "text persistent ids (PERSID) are not supported");
  case 'i': case 'o': case 0x81: case 0x92: case 0x82: case 0x83: case 0x84:
    return fail(m, "opcode 0x%02x creates an arbitrary Python object, which is refused", op);
  default:
    return fail(m, "unsupported pickle opcode 0x%02x", op);
  }
}

int32_t tn_pickle_run(tn_io_doc *doc, const char *data, int64_t len, tn_pickle_persistent_fn persistent, void *ctx) {
  vm m = {.doc = doc, .begin = data, .p = data, .end = data + len, .persistent = persistent, .ctx = ctx};
  bool stop = false;
  int32_t result = -1;
  int rc = 0;
  while (!stop && rc == 0) rc = step(&m, &stop, &result);
  free(m.stack);
  free(m.marks);
  free(m.memo);
  return rc == 0 ? result : -1;
}
