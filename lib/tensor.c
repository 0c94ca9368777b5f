/* tensor.c: tensor headers (sizes, strides, offset over a storage), views, and shape arithmetic. */
#include "backend.h"
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>

/* ---- dtypes ---- */

#define DTYPE_SIZE(ENUM, SUFFIX, T, CT, KIND) [ENUM] = sizeof(T),
static const int64_t dtype_sizes[TN_NUM_DTYPES] = {TN_FOREACH_DTYPE(DTYPE_SIZE)};
#undef DTYPE_SIZE

static const char *const dtype_names[TN_NUM_DTYPES] = {
    [TN_FLOAT32] = "float32", [TN_FLOAT64] = "float64", [TN_FLOAT16] = "float16", [TN_BFLOAT16] = "bfloat16",
    [TN_INT64] = "int64",     [TN_INT32] = "int32",     [TN_INT16] = "int16",     [TN_INT8] = "int8",
    [TN_UINT8] = "uint8",     [TN_BOOL] = "bool"};

bool tn_valid_dtype(int dtype) { return dtype >= 0 && dtype < TN_NUM_DTYPES; }

const char *tn_device_str(char *buf, size_t size, const tn_tensor *t) {
  if (t->storage->device_type == TN_CPU) return "cpu";
  snprintf(buf, size, "cuda:%d", t->storage->device_index);
  return buf;
}
int64_t tn_dtype_size(int dtype) { return tn_valid_dtype(dtype) ? dtype_sizes[dtype] : 0; }
const char *tn_dtype_name(int dtype) { return tn_valid_dtype(dtype) ? dtype_names[dtype] : "unknown"; }
int tn_dtype_is_floating(int dtype) { return dtype >= TN_FLOAT32 && dtype <= TN_BFLOAT16; }

float tn_half_to_float(uint16_t h) { return tn_f16_to_f32(h); }
uint16_t tn_float_to_half(float f) { return tn_f32_to_f16(f); }
float tn_bfloat16_to_float(uint16_t h) { return tn_bf16_to_f32(h); }
uint16_t tn_float_to_bfloat16(float f) { return tn_f32_to_bf16(f); }

/* ---- shapes ---- */

int64_t tn_shape_numel(int ndim, const int64_t *sizes) {
  int64_t n = 1;
  for (int d = 0; d < ndim; d++) n *= sizes[d];
  return n;
}

void tn_contiguous_strides(int ndim, const int64_t *sizes, int64_t *strides) {
  int64_t stride = 1;
  for (int d = ndim - 1; d >= 0; d--) {
    strides[d] = stride;
    stride *= sizes[d] > 1 ? sizes[d] : 1;
  }
}

bool tn_same_shape(const tn_tensor *a, const tn_tensor *b) {
  if (a->ndim != b->ndim) return false;
  for (int d = 0; d < a->ndim; d++)
    if (a->sizes[d] != b->sizes[d]) return false;
  return true;
}

/* Checks sizes for fn: dims in range, no negative size, and a byte count that fits in int64. A size 0 counts
 * as 1 there, as in the contiguous strides, so that strides and byte offsets stay representable too. */
static int check_sizes(const char *fn, int ndim, const int64_t *sizes, int dtype) {
  char buf[TN_SHAPE_STR];
  if (ndim < 0 || ndim > TN_MAX_DIMS)
    return tn_error("%s: %d dimensions requested, at most %d are supported", fn, ndim, TN_MAX_DIMS);
  /* the byte count must fit in int64 (overflow checks, not divisions: this runs for every new tensor) */
  int64_t n = tn_valid_dtype(dtype) ? dtype_sizes[dtype] : 8;
  for (int d = 0; d < ndim; d++) {
    if (sizes[d] < 0)
      return tn_error("%s: negative size %lld in %s", fn, (long long)sizes[d],
                      tn_format_shape(buf, sizeof buf, ndim, sizes));
    if (__builtin_mul_overflow(n, sizes[d] > 1 ? sizes[d] : 1, &n))
      return tn_error("%s: size %s is too large", fn, tn_format_shape(buf, sizeof buf, ndim, sizes));
  }
  return 0;
}

int tn_broadcast_shapes(int ndim_a, const int64_t *a, int ndim_b, const int64_t *b, int64_t *out) {
  int ndim = ndim_a > ndim_b ? ndim_a : ndim_b;
  for (int i = 0; i < ndim; i++) {
    int64_t sa = i < ndim_a ? a[ndim_a - 1 - i] : 1, sb = i < ndim_b ? b[ndim_b - 1 - i] : 1;
    if (sa != sb && sa != 1 && sb != 1) {
      char ba[TN_SHAPE_STR], bb[TN_SHAPE_STR];
      return tn_error("shapes %s and %s cannot be broadcast together (size %lld vs %lld at dimension %d)",
                      tn_format_shape(ba, sizeof ba, ndim_a, a), tn_format_shape(bb, sizeof bb, ndim_b, b),
                      (long long)sa, (long long)sb, ndim - i);
    }
    out[ndim - 1 - i] = sa == 1 ? sb : sa;
  }
  return ndim;
}

/* ---- headers ---- */

static tn_tensor *header_new(tn_storage *s, int64_t offset, int ndim, const int64_t *sizes, const int64_t *strides,
                             int dtype) {
  tn_tensor *t = tn_host_alloc(sizeof *t);
  if (!t) return tn_error_null("tensor: out of memory for a tensor header");
  t->storage = s;
  t->home = NULL;
  t->offset = offset;
  t->ndim = ndim;
  t->dtype = dtype;
  for (int d = 0; d < ndim; d++) {
    t->sizes[d] = sizes[d];
    t->strides[d] = strides[d];
  }
  t->numel = tn_shape_numel(ndim, sizes);
  tn_storage_retain(s);
  return t;
}

tn_tensor *tn_empty(int ndim, const int64_t *sizes, int dtype, int device_type, int device_index) {
  if (!tn_valid_dtype(dtype)) return tn_error_null("empty: unknown dtype %d", dtype);
  if (check_sizes("empty", ndim, sizes, dtype)) return NULL;
  int64_t strides[TN_MAX_DIMS], nbytes = tn_shape_numel(ndim, sizes) * dtype_sizes[dtype];
  tn_contiguous_strides(ndim, sizes, strides);
  if (device_type != TN_CPU) {
    tn_storage *s = tn_storage_new(nbytes, dtype, device_type, device_index);
    if (!s) return NULL;
    tn_tensor *t = header_new(s, 0, ndim, sizes, strides, dtype);
    tn_storage_release(s);
    return t;
  }
  /* On the CPU the header shares its storage's block: the header's own ("home") reference keeps the block
   * alive for as long as the header lives, whatever storage the header points to later. */
  void *block;
  tn_storage *s = tn_storage_new_block(nbytes, dtype, sizeof(tn_tensor), &block);
  if (!s) return NULL;
  tn_tensor *t = block;
  t->storage = s;
  t->home = s;
  s->refcount = 2;
  t->offset = 0;
  t->ndim = ndim;
  t->dtype = dtype;
  for (int d = 0; d < ndim; d++) {
    t->sizes[d] = sizes[d];
    t->strides[d] = strides[d];
  }
  t->numel = tn_shape_numel(ndim, sizes);
  return t;
}

tn_tensor *tn_empty_like(const tn_tensor *t) {
  return tn_empty(t->ndim, t->sizes, t->dtype, t->storage->device_type, t->storage->device_index);
}

/* The largest element offset a view reaches must lie inside the storage. */
static int check_view_bounds(const char *fn, const tn_storage *s, int64_t offset, int ndim, const int64_t *sizes,
                             const int64_t *strides, int dtype) {
  if (offset < 0) return tn_error("%s: negative storage offset %lld", fn, (long long)offset);
  bool empty = false;
  for (int d = 0; d < ndim; d++) {
    if (strides[d] < 0) return tn_error("%s: negative stride %lld at dimension %d", fn, (long long)strides[d], d + 1);
    if (sizes[d] == 0) empty = true;
  }
  if (empty) return 0;
  /* An offset past INT64_MAX (huge strides) must not wrap around into the storage: it reaches past the end. */
  int64_t last = offset, reach;
  for (int d = 0; d < ndim; d++)
    if (__builtin_mul_overflow(sizes[d] - 1, strides[d], &reach) || __builtin_add_overflow(last, reach, &last)) {
      last = INT64_MAX;
      break;
    }
  int64_t capacity = s->nbytes / dtype_sizes[dtype];
  if (last >= capacity) {
    char buf[TN_SHAPE_STR];
    return tn_error("%s: a view of size %s at offset %lld reaches element %lld of a storage of %lld elements", fn,
                    tn_format_shape(buf, sizeof buf, ndim, sizes), (long long)offset, (long long)last,
                    (long long)capacity);
  }
  return 0;
}

tn_tensor *tn_from_storage(tn_storage *s, int64_t offset, int ndim, const int64_t *sizes, const int64_t *strides,
                           int dtype) {
  if (!s) return tn_error_null("from_storage: NULL storage");
  if (!tn_valid_dtype(dtype)) return tn_error_null("from_storage: unknown dtype %d", dtype);
  if (check_sizes("from_storage", ndim, sizes, dtype)) return NULL;
  int64_t contiguous[TN_MAX_DIMS];
  if (!strides) {
    tn_contiguous_strides(ndim, sizes, contiguous);
    strides = contiguous;
  }
  if (check_view_bounds("from_storage", s, offset, ndim, sizes, strides, dtype)) return NULL;
  return header_new(s, offset, ndim, sizes, strides, dtype);
}

tn_tensor *tn_alias(const tn_tensor *t) {
  return header_new(t->storage, t->offset, t->ndim, t->sizes, t->strides, t->dtype);
}

void tn_tensor_free(tn_tensor *t) {
  if (!t) return;
  tn_storage *home = t->home;
  if (home && home == t->storage) { /* an op's result on its own block: both references at once */
    tn_storage_drop(home, 2);
    return;
  }
  tn_storage_release(t->storage);
  if (home)
    tn_storage_release(home); /* the header lives in home's block */
  else
    tn_host_free(t, sizeof *t);
}

/* The sweep's tensors died a collection cycle ago and their headers are cold. Freeing one reads its header,
 * then its storage's, then writes the block: three misses in a row per tensor. Prefetching every header,
 * then every storage, lets the misses of the whole batch overlap. */
void tn_tensor_free_slots(tn_tensor **table, const int32_t *slots, int64_t count) {
  for (int64_t i = 0; i < count; i++) __builtin_prefetch(table[slots[i]], 1, 3);
  for (int64_t i = 0; i < count; i++) __builtin_prefetch(table[slots[i]]->storage, 1, 3);
  for (int64_t i = 0; i < count; i++) {
    tn_tensor_free(table[slots[i]]);
    table[slots[i]] = NULL;
  }
}

int tn_is_contiguous(const tn_tensor *t) {
  int64_t expected = 1;
  for (int d = t->ndim - 1; d >= 0; d--) {
    if (t->sizes[d] == 1) continue;
    if (t->strides[d] != expected) return t->numel == 0;
    expected *= t->sizes[d];
  }
  return 1;
}

void *tn_data_ptr(const tn_tensor *t) { return t->storage->data ? tn_base(t) : NULL; }

int tn_resize_(tn_tensor *t, int ndim, const int64_t *sizes) {
  if (check_sizes("resize_", ndim, sizes, t->dtype)) return -1;
  /* the same sizes keep the strides, as PyTorch's resize_: an out= view (a column, a transpose) is written
   * through its own layout, not over the elements that follow its first one */
  bool same = t->ndim == ndim;
  for (int d = 0; same && d < ndim; d++) same = t->sizes[d] == sizes[d];
  if (same) return 0;
  int64_t numel = tn_shape_numel(ndim, sizes), esize = dtype_sizes[t->dtype];
  if ((t->offset + numel) * esize > t->storage->nbytes) {
    tn_storage *s = tn_storage_new(numel * esize, t->dtype, t->storage->device_type, t->storage->device_index);
    if (!s) return -1;
    tn_storage_release(t->storage);
    t->storage = s;
    t->offset = 0;
  }
  t->ndim = ndim;
  for (int d = 0; d < ndim; d++) t->sizes[d] = sizes[d];
  tn_contiguous_strides(ndim, sizes, t->strides);
  t->numel = numel;
  return 0;
}

int tn_set_(tn_tensor *t, const tn_tensor *src) {
  if (t == src) return 0;
  tn_storage_retain(src->storage);
  tn_storage_release(t->storage);
  tn_storage *home = t->home;
  int32_t owner_slot = t->owner_slot;
  *t = *src;
  t->home = home;
  t->owner_slot = owner_slot;
  return 0;
}

tn_tensor *tn_prepare_out(const char *fn, tn_tensor *out, int ndim, const int64_t *sizes, int dtype,
                          const tn_tensor *like) {
  if (!out) return tn_empty(ndim, sizes, dtype, like->storage->device_type, like->storage->device_index);
  if (out->dtype != dtype)
    return tn_error_null("%s: out= has dtype %s but the result is %s", fn, tn_dtype_name(out->dtype),
                         tn_dtype_name(dtype));
  if (out->storage->device_type != like->storage->device_type ||
      out->storage->device_index != like->storage->device_index)
    return tn_error_null("%s: out= is on another device than the inputs", fn);
  if (tn_resize_(out, ndim, sizes)) return NULL; /* (a no-op at out's own sizes: its strides stay) */
  return out;
}

/* ---- views ---- */

static tn_tensor *view_of(const tn_tensor *t, int ndim, const int64_t *sizes, const int64_t *strides, int64_t offset) {
  return header_new(t->storage, offset, ndim, sizes, strides, t->dtype);
}

tn_tensor *tn_as_strided(const tn_tensor *t, int ndim, const int64_t *sizes, const int64_t *strides, int64_t offset) {
  if (check_sizes("as_strided", ndim, sizes, t->dtype)) return NULL;
  if (check_view_bounds("as_strided", t->storage, offset, ndim, sizes, strides, t->dtype)) return NULL;
  return view_of(t, ndim, sizes, strides, offset);
}

/* Fills in a -1 entry of a requested shape from the element count. */
static int infer_shape(const char *fn, int64_t numel, int ndim, const int64_t *sizes, int64_t *out) {
  char buf[TN_SHAPE_STR];
  int infer = -1;
  int64_t known = 1;
  if (ndim < 0 || ndim > TN_MAX_DIMS)
    return tn_error("%s: %d dimensions requested, at most %d are supported", fn, ndim, TN_MAX_DIMS);
  for (int d = 0; d < ndim; d++) {
    out[d] = sizes[d];
    if (sizes[d] == -1) {
      if (infer >= 0) return tn_error("%s: only one dimension can be -1 in %s", fn, tn_format_shape(buf, sizeof buf, ndim, sizes));
      infer = d;
    } else if (sizes[d] < 0) {
      return tn_error("%s: invalid size %lld in %s", fn, (long long)sizes[d], tn_format_shape(buf, sizeof buf, ndim, sizes));
    } else if (__builtin_mul_overflow(known, sizes[d], &known)) { /* e.g. [6 x 2^62 x 6], which wraps to 0 */
      return tn_error("%s: shape %s is invalid for input of %lld elements", fn,
                      tn_format_shape(buf, sizeof buf, ndim, sizes), (long long)numel);
    }
  }
  if (infer >= 0) {
    if (known == 0 || numel % known != 0)
      return tn_error("%s: shape %s is invalid for input of %lld elements", fn,
                      tn_format_shape(buf, sizeof buf, ndim, sizes), (long long)numel);
    out[infer] = numel / known;
  } else if (known != numel) {
    return tn_error("%s: shape %s is invalid for input of %lld elements", fn,
                    tn_format_shape(buf, sizeof buf, ndim, sizes), (long long)numel);
  }
  return 0;
}

/* Strides for viewing t as `sizes` without a copy, when t's strides allow it (PyTorch's computeStride):
 * each run of input dims that is contiguous in memory can be split or merged freely. Returns false if not. */
static bool view_strides(const tn_tensor *t, int ndim, const int64_t *sizes, int64_t *strides) {
  if (t->numel == 0 || t->ndim == 0) {
    tn_contiguous_strides(ndim, sizes, strides);
    return true;
  }
  int view_d = ndim - 1;
  int64_t chunk_base_stride = t->strides[t->ndim - 1], tensor_numel = 1, view_numel = 1;
  for (int d = t->ndim - 1; d >= 0; d--) {
    tensor_numel *= t->sizes[d];
    bool chunk_ends = d == 0 || (t->sizes[d - 1] != 1 && t->strides[d - 1] != tensor_numel * chunk_base_stride);
    if (chunk_ends) {
      while (view_d >= 0 && (view_numel < tensor_numel || sizes[view_d] == 1)) {
        strides[view_d] = view_numel * chunk_base_stride;
        view_numel *= sizes[view_d];
        view_d--;
      }
      if (view_numel != tensor_numel) return false;
      if (d > 0) {
        chunk_base_stride = t->strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  return view_d == -1;
}

tn_tensor *tn_view(const tn_tensor *t, int ndim, const int64_t *sizes) {
  int64_t shape[TN_MAX_DIMS], strides[TN_MAX_DIMS];
  if (infer_shape("view", t->numel, ndim, sizes, shape) || check_sizes("view", ndim, shape, t->dtype)) return NULL;
  if (!view_strides(t, ndim, shape, strides)) {
    char a[TN_SHAPE_STR], b[TN_SHAPE_STR], c[TN_SHAPE_STR];
    return tn_error_null("view: a tensor of size %s with strides %s cannot be viewed as %s without a copy; use reshape",
                         tn_format_shape(a, sizeof a, t->ndim, t->sizes),
                         tn_format_shape(b, sizeof b, t->ndim, t->strides), tn_format_shape(c, sizeof c, ndim, shape));
  }
  return view_of(t, ndim, shape, strides, t->offset);
}

tn_tensor *tn_reshape(const tn_tensor *t, int ndim, const int64_t *sizes) {
  int64_t shape[TN_MAX_DIMS], strides[TN_MAX_DIMS];
  if (infer_shape("reshape", t->numel, ndim, sizes, shape) || check_sizes("reshape", ndim, shape, t->dtype)) return NULL;
  if (view_strides(t, ndim, shape, strides)) return view_of(t, ndim, shape, strides, t->offset);
  tn_tensor *copy = tn_contiguous(t);
  if (!copy) return NULL;
  tn_tensor *r = tn_view(copy, ndim, shape);
  tn_tensor_free(copy);
  return r;
}

tn_tensor *tn_narrow(const tn_tensor *t, int dim, int64_t start, int64_t length) {
  int d = tn_wrap_dim("narrow", dim, t->ndim);
  if (d < 0) return NULL;
  if (start < 0 || length < 0 || start + length > t->sizes[d])
    return tn_error_null("narrow: start %lld and length %lld are out of range for dimension %d of size %lld",
                         (long long)start + 1, (long long)length, d + 1, (long long)t->sizes[d]);
  int64_t sizes[TN_MAX_DIMS];
  memcpy(sizes, t->sizes, sizeof sizes);
  sizes[d] = length;
  return view_of(t, t->ndim, sizes, t->strides, t->offset + start * t->strides[d]);
}

tn_tensor *tn_select(const tn_tensor *t, int dim, int64_t index) {
  int d = tn_wrap_dim("select", dim, t->ndim);
  if (d < 0) return NULL;
  if (index < 0 || index >= t->sizes[d])
    return tn_error_null("select: index %lld is out of range for dimension %d of size %lld", (long long)index + 1,
                         d + 1, (long long)t->sizes[d]);
  int64_t sizes[TN_MAX_DIMS], strides[TN_MAX_DIMS];
  for (int i = 0, j = 0; i < t->ndim; i++) {
    if (i == d) continue;
    sizes[j] = t->sizes[i];
    strides[j++] = t->strides[i];
  }
  return view_of(t, t->ndim - 1, sizes, strides, t->offset + index * t->strides[d]);
}

tn_tensor *tn_transpose(const tn_tensor *t, int dim0, int dim1) {
  int ndim = t->ndim ? t->ndim : 1; /* a 0-d tensor may be transposed with dims 1, 1 (or -1) */
  int a = tn_wrap_dim("transpose", dim0, ndim), b = a < 0 ? -1 : tn_wrap_dim("transpose", dim1, ndim);
  if (a < 0 || b < 0) return NULL;
  tn_tensor *r = tn_alias(t);
  if (!r || t->ndim == 0) return r;
  int64_t s = r->sizes[a], st = r->strides[a];
  r->sizes[a] = r->sizes[b];
  r->strides[a] = r->strides[b];
  r->sizes[b] = s;
  r->strides[b] = st;
  return r;
}

tn_tensor *tn_permute(const tn_tensor *t, int ndim, const int32_t *dims) {
  if (ndim != t->ndim)
    return tn_error_null("permute: %d dimensions given for a tensor of %d dimensions", ndim, t->ndim);
  bool seen[TN_MAX_DIMS] = {false};
  int64_t sizes[TN_MAX_DIMS], strides[TN_MAX_DIMS];
  for (int i = 0; i < ndim; i++) {
    int d = tn_wrap_dim("permute", dims[i], ndim);
    if (d < 0) return NULL;
    if (seen[d]) return tn_error_null("permute: dimension %d appears twice", d + 1);
    seen[d] = true;
    sizes[i] = t->sizes[d];
    strides[i] = t->strides[d];
  }
  return view_of(t, ndim, sizes, strides, t->offset);
}

tn_tensor *tn_squeeze(const tn_tensor *t, int dim) {
  int ndim = t->ndim ? t->ndim : 1;
  int d = tn_wrap_dim("squeeze", dim, ndim);
  if (d < 0) return NULL;
  if (t->ndim == 0 || t->sizes[d] != 1) return tn_alias(t);
  int64_t sizes[TN_MAX_DIMS], strides[TN_MAX_DIMS];
  for (int i = 0, j = 0; i < t->ndim; i++) {
    if (i == d) continue;
    sizes[j] = t->sizes[i];
    strides[j++] = t->strides[i];
  }
  return view_of(t, t->ndim - 1, sizes, strides, t->offset);
}

tn_tensor *tn_squeeze_all(const tn_tensor *t) {
  int64_t sizes[TN_MAX_DIMS], strides[TN_MAX_DIMS];
  int j = 0;
  for (int i = 0; i < t->ndim; i++) {
    if (t->sizes[i] == 1) continue;
    sizes[j] = t->sizes[i];
    strides[j++] = t->strides[i];
  }
  return view_of(t, j, sizes, strides, t->offset);
}

tn_tensor *tn_unsqueeze(const tn_tensor *t, int dim) {
  int d = tn_wrap_dim("unsqueeze", dim, t->ndim + 1);
  if (d < 0) return NULL;
  if (t->ndim >= TN_MAX_DIMS) return tn_error_null("unsqueeze: a tensor has at most %d dimensions", TN_MAX_DIMS);
  int64_t sizes[TN_MAX_DIMS], strides[TN_MAX_DIMS];
  for (int i = 0, j = 0; i <= t->ndim; i++) {
    if (i == d) {
      sizes[i] = 1;
      strides[i] = d < t->ndim ? t->strides[d] * t->sizes[d] : 1;
    } else {
      sizes[i] = t->sizes[j];
      strides[i] = t->strides[j++];
    }
  }
  return view_of(t, t->ndim + 1, sizes, strides, t->offset);
}

tn_tensor *tn_expand(const tn_tensor *t, int ndim, const int64_t *sizes) {
  char a[TN_SHAPE_STR], b[TN_SHAPE_STR];
  if (ndim < t->ndim || ndim > TN_MAX_DIMS)
    return tn_error_null("expand: cannot expand size %s to %s", tn_format_shape(a, sizeof a, t->ndim, t->sizes),
                         tn_format_shape(b, sizeof b, ndim, sizes));
  int64_t shape[TN_MAX_DIMS], strides[TN_MAX_DIMS];
  int lead = ndim - t->ndim;
  for (int d = 0; d < ndim; d++) {
    int64_t have = d >= lead ? t->sizes[d - lead] : 1, want = sizes[d];
    if (want == -1) {
      if (d < lead) return tn_error_null("expand: -1 is not allowed for the new leading dimension %d", d + 1);
      want = have;
    }
    if (want < 0) return tn_error_null("expand: invalid size %lld", (long long)want);
    if (have == want) {
      shape[d] = want;
      strides[d] = d >= lead ? t->strides[d - lead] : 0;
    } else if (have == 1) {
      shape[d] = want;
      strides[d] = 0;
    } else {
      return tn_error_null("expand: cannot expand size %s to %s (size %lld at dimension %d is not 1)",
                           tn_format_shape(a, sizeof a, t->ndim, t->sizes), tn_format_shape(b, sizeof b, ndim, sizes),
                           (long long)have, d + 1);
    }
  }
  if (check_sizes("expand", ndim, shape, t->dtype)) return NULL; /* its element count must fit in int64 */
  return view_of(t, ndim, shape, strides, t->offset);
}

tn_tensor *tn_unfold(const tn_tensor *t, int dim, int64_t size, int64_t step) {
  int d = tn_wrap_dim("unfold", dim, t->ndim ? t->ndim : 1);
  if (d < 0) return NULL;
  if (t->ndim >= TN_MAX_DIMS) return tn_error_null("unfold: a tensor has at most %d dimensions", TN_MAX_DIMS);
  int64_t dim_size = t->ndim ? t->sizes[d] : 1;
  if (size < 0 || size > dim_size)
    return tn_error_null("unfold: size %lld exceeds size %lld of dimension %d", (long long)size, (long long)dim_size,
                         d + 1);
  if (step <= 0) return tn_error_null("unfold: step must be positive, got %lld", (long long)step);
  if (t->ndim == 0) return view_of(t, 1, &size, &(int64_t){1}, t->offset);
  int64_t sizes[TN_MAX_DIMS], strides[TN_MAX_DIMS];
  memcpy(sizes, t->sizes, sizeof sizes);
  memcpy(strides, t->strides, sizeof strides);
  sizes[d] = (dim_size - size) / step + 1;
  strides[d] = t->strides[d] * step;
  sizes[t->ndim] = size;
  strides[t->ndim] = t->strides[d];
  return view_of(t, t->ndim + 1, sizes, strides, t->offset);
}

tn_tensor *tn_diagonal(const tn_tensor *t, int64_t offset, int dim0, int dim1) {
  int a = tn_wrap_dim("diagonal", dim0, t->ndim), b = a < 0 ? -1 : tn_wrap_dim("diagonal", dim1, t->ndim);
  if (a < 0 || b < 0) return NULL;
  if (a == b) return tn_error_null("diagonal: dimensions %d and %d are the same", a + 1, b + 1);
  int64_t start = t->offset, length;
  if (offset >= 0) {
    length = t->sizes[b] - offset < t->sizes[a] ? t->sizes[b] - offset : t->sizes[a];
    if (length > 0) start += offset * t->strides[b];
  } else {
    length = t->sizes[a] + offset < t->sizes[b] ? t->sizes[a] + offset : t->sizes[b];
    if (length > 0) start -= offset * t->strides[a];
  }
  if (length < 0) length = 0;
  int64_t sizes[TN_MAX_DIMS], strides[TN_MAX_DIMS];
  int j = 0;
  for (int i = 0; i < t->ndim; i++) {
    if (i == a || i == b) continue;
    sizes[j] = t->sizes[i];
    strides[j++] = t->strides[i];
  }
  sizes[j] = length;
  strides[j++] = t->strides[a] + t->strides[b];
  return view_of(t, j, sizes, strides, length ? start : t->offset);
}
