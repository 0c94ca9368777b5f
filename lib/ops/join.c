/* join.c: joining and reordering: cat, stack, flip, roll, tril/triu, repeat, repeat_interleave.
 *
 * cat, flip and tril/triu have backend kernels. roll, repeat and repeat_interleave are copies between views:
 * repeat copies x, viewed with a stride-0 dim per repetition, into the result viewed with each dim split into
 * (repetition, element); repeat_interleave likewise with the split the other way round; roll copies the two
 * (or 2^dims) blocks of each rolled dim to their new places. */
#include "../backend.h"
#include "../internal.h"

#include <stdlib.h>

static int check_separate(const char *fn, const tn_tensor *out, const tn_tensor *in) {
  if (out && out->storage == in->storage)
    return tn_error("%s: out= shares memory with an input; use a separate tensor", fn);
  return 0;
}

/* out= for a result that may be converted on the way (cat): out's dtype must hold the result's. */
static tn_tensor *prepare_castable_out(const char *fn, tn_tensor *out, int ndim, const int64_t *sizes, int dtype,
                                       const tn_tensor *like) {
  if (!out || out->dtype == dtype) return tn_prepare_out(fn, out, ndim, sizes, dtype, like);
  if (!tn_can_cast(dtype, out->dtype))
    return tn_error_null("%s: the result of type %s cannot be written into a %s tensor", fn, tn_dtype_name(dtype),
                         tn_dtype_name(out->dtype));
  return tn_prepare_out(fn, out, ndim, sizes, out->dtype, like);
}

static void free_result(tn_tensor *result, tn_tensor *out) {
  if (result != out) tn_tensor_free(result);
}

/* ---- cat and stack ---- */

/* PyTorch's legacy rule: 1-d tensors with no elements may join tensors of any shape (they are skipped). */
static bool skipped(const tn_tensor *t) { return t->ndim == 1 && t->sizes[0] == 0; }

static tn_tensor *cat_impl(const char *fn, tn_tensor *out, int n, const tn_tensor *const *ts, int dim) {
  char a[TN_SHAPE_STR], b[TN_SHAPE_STR];
  if (n <= 0) return tn_error_null("%s: expected a non-empty list of tensors", fn);
  const tn_tensor *ref = NULL;
  int dtype = ts[0]->dtype;
  for (int i = 0; i < n; i++) {
    if (ts[i]->ndim == 0)
      return tn_error_null("%s: a 0-d tensor (tensor %d) cannot be concatenated; unsqueeze it or use stack", fn,
                           i + 1);
    if (!tn_same_device(ts[i], ts[0]))
      return tn_error_null("%s: tensors %d and %d are on different devices", fn, 1, i + 1);
    dtype = tn_promote_types(dtype, ts[i]->dtype);
    if (!ref && !skipped(ts[i])) ref = ts[i];
  }
  if (!ref) ref = ts[0];
  if ((dim = tn_wrap_dim(fn, dim, ref->ndim)) < 0) return NULL;
  int64_t sizes[TN_MAX_DIMS];
  memcpy(sizes, ref->sizes, sizeof sizes);
  sizes[dim] = 0;
  const tn_tensor *few[64], **inputs = n <= 64 ? few : malloc(sizeof(tn_tensor *) * (size_t)n);
  if (!inputs) return tn_error_null("%s: out of memory", fn);
  int m = 0;
  tn_tensor *result = NULL;
  for (int i = 0; i < n; i++) {
    const tn_tensor *t = ts[i];
    if (skipped(t) && t != ref) continue;
    if (t->ndim != ref->ndim) {
      tn_error("%s: tensors must have the same number of dimensions: tensor %d has size %s, tensor %d has size %s",
               fn, 1, tn_format_shape(a, sizeof a, ref->ndim, ref->sizes), i + 1,
               tn_format_shape(b, sizeof b, t->ndim, t->sizes));
      goto done;
    }
    for (int d = 0; d < t->ndim; d++)
      if (d != dim && t->sizes[d] != ref->sizes[d]) {
        tn_error("%s: sizes must match except in dimension %d: tensor %d has size %s, tensor %d has size %s", fn,
                 dim + 1, 1, tn_format_shape(a, sizeof a, ref->ndim, ref->sizes), i + 1,
                 tn_format_shape(b, sizeof b, t->ndim, t->sizes));
        goto done;
      }
    if (check_separate(fn, out, t)) goto done;
    sizes[dim] += t->sizes[dim];
    inputs[m++] = t;
  }
  if (!(result = prepare_castable_out(fn, out, ref->ndim, sizes, dtype, ref))) goto done;
  if (result->numel > 0) {
    tn_backend *be = tn_backend_of(fn, ref);
    be = TN_WITH_KERNEL(fn, be, cat);
    tn_bump_version(result);
    if (!be || be->cat(result, m, inputs, dim)) {
      free_result(result, out);
      result = NULL;
    }
  }
done:
  if (inputs != few) free(inputs);
  return result;
}

tn_tensor *tn_cat(tn_tensor *out, int n, const tn_tensor *const *tensors, int dim) {
  return cat_impl("cat", out, n, tensors, dim);
}

tn_tensor *tn_stack(tn_tensor *out, int n, const tn_tensor *const *tensors, int dim) {
  const char *fn = "stack";
  char a[TN_SHAPE_STR], b[TN_SHAPE_STR];
  if (n <= 0) return tn_error_null("%s: expected a non-empty list of tensors", fn);
  const tn_tensor *first = tensors[0];
  if ((dim = tn_wrap_dim(fn, dim, first->ndim + 1)) < 0) return NULL;
  for (int i = 1; i < n; i++)
    if (!tn_same_shape(tensors[i], first))
      return tn_error_null("%s: expects tensors of one size, got %s (tensor 1) and %s (tensor %d)", fn,
                           tn_format_shape(a, sizeof a, first->ndim, first->sizes),
                           tn_format_shape(b, sizeof b, tensors[i]->ndim, tensors[i]->sizes), i + 1);
  if (first->ndim + 1 > TN_MAX_DIMS)
    return tn_error_null("%s: the result would have %d dimensions, at most %d are supported", fn, first->ndim + 1,
                         TN_MAX_DIMS);
  /* each tensor with a new dim of size 1 at dim, then cat along it */
  tn_tensor *views = malloc(sizeof(tn_tensor) * (size_t)n);
  const tn_tensor **list = malloc(sizeof(tn_tensor *) * (size_t)n);
  tn_tensor *r = NULL;
  if (!views || !list) {
    tn_error("%s: out of memory", fn);
    goto done;
  }
  for (int i = 0; i < n; i++) {
    const tn_tensor *t = tensors[i];
    tn_tensor *v = &views[i];
    *v = *t;
    v->ndim = t->ndim + 1;
    for (int d = 0, s = 0; d < v->ndim; d++) {
      if (d == dim) {
        v->sizes[d] = 1;
        v->strides[d] = 1;
      } else {
        v->sizes[d] = t->sizes[s];
        v->strides[d] = t->strides[s];
        s++;
      }
    }
    list[i] = v;
  }
  r = cat_impl(fn, out, n, list, dim);
done:
  free(views);
  free(list);
  return r;
}

/* ---- flip ---- */

tn_tensor *tn_flip(tn_tensor *out, const tn_tensor *x, int ndims, const int32_t *dims) {
  const char *fn = "flip";
  uint32_t mask = 0;
  /* a 0-d tensor flips as one element along dim 1 (or -1), as in PyTorch */
  for (int i = 0; i < ndims; i++) {
    int d = tn_wrap_dim(fn, dims[i], x->ndim > 0 ? x->ndim : 1);
    if (d < 0) return NULL;
    if (mask & (1u << d)) return tn_error_null("%s: dimension %d appears more than once in the list", fn, d + 1);
    mask |= 1u << d;
  }
  if (x->ndim == 0) mask = 0;
  if (check_separate(fn, out, x)) return NULL;
  tn_tensor *result = tn_prepare_out(fn, out, x->ndim, x->sizes, x->dtype, x);
  if (!result || result->numel == 0) return result;
  tn_backend *b = tn_backend_of(fn, x);
  b = TN_WITH_KERNEL(fn, b, flip);
  tn_bump_version(result);
  if (!b || b->flip(result, x, mask)) {
    free_result(result, out);
    return NULL;
  }
  return result;
}

/* ---- roll ---- */

/* t narrowed along dim to [start, start + length) (a header over t's storage, valid while t is) */
static tn_tensor narrowed(const tn_tensor *t, int dim, int64_t start, int64_t length) {
  tn_tensor v = *t;
  v.offset += start * t->strides[dim];
  v.sizes[dim] = length;
  v.numel = tn_shape_numel(v.ndim, v.sizes);
  return v;
}

/* Copies the blocks of src into dst for a roll of the dims with nonzero shifts[d] (one per dim of src). */
static int roll_blocks(tn_backend *b, tn_tensor *dst, const tn_tensor *src, const int64_t *shifts) {
  int rolled[TN_MAX_DIMS], m = 0;
  for (int d = 0; d < src->ndim; d++)
    if (shifts[d]) rolled[m++] = d;
  for (uint32_t combo = 0; combo < (1u << m); combo++) {
    tn_tensor to = *dst, from = *src;
    for (int j = 0; j < m; j++) {
      int d = rolled[j];
      int64_t size = src->sizes[d], s = shifts[d];
      /* block 0: src[size - s, size) -> dst[0, s); block 1: src[0, size - s) -> dst[s, size) */
      if (combo & (1u << j)) {
        to = narrowed(&to, d, s, size - s);
        from = narrowed(&from, d, 0, size - s);
      } else {
        to = narrowed(&to, d, 0, s);
        from = narrowed(&from, d, size - s, s);
      }
    }
    if (to.numel > 0 && b->copy(&to, &from)) return -1;
  }
  return 0;
}

tn_tensor *tn_roll(tn_tensor *out, const tn_tensor *x, int n, const int64_t *shifts, const int32_t *dims) {
  const char *fn = "roll";
  if (n <= 0) return tn_error_null("%s: expected at least one shift", fn);
  if (!dims && n != 1) return tn_error_null("%s: without dims, expected one shift, got %d", fn, n);
  if (check_separate(fn, out, x)) return NULL;
  int64_t per_dim[TN_MAX_DIMS] = {0};
  if (dims) {
    for (int i = 0; i < n; i++) {
      int d = tn_wrap_dim(fn, dims[i], x->ndim);
      if (d < 0) return NULL;
      per_dim[d] += shifts[i] % (x->sizes[d] ? x->sizes[d] : 1);
    }
    for (int d = 0; d < x->ndim; d++) {
      int64_t size = x->sizes[d] ? x->sizes[d] : 1;
      per_dim[d] = ((per_dim[d] % size) + size) % size;
    }
  }
  tn_tensor *result = tn_prepare_out(fn, out, x->ndim, x->sizes, x->dtype, x);
  if (!result || result->numel == 0) return result;
  tn_backend *b = tn_backend_of(fn, x);
  b = TN_WITH_KERNEL(fn, b, copy);
  tn_tensor *flat = NULL, *target = result;
  int rc = -1;
  if (!b) goto done;
  tn_bump_version(result);
  if (dims) {
    rc = roll_blocks(b, result, x, per_dim);
  } else {
    /* the flattened tensor: row-major copies on both sides */
    int64_t numel = x->numel, one = 1, shift = ((shifts[0] % numel) + numel) % numel;
    if (!(flat = tn_contiguous(x))) goto done;
    if (!tn_is_contiguous(result) && !(target = tn_empty_like(result))) goto done;
    tn_tensor src = *flat, dst = *target;
    src.ndim = dst.ndim = 1;
    src.sizes[0] = dst.sizes[0] = numel;
    src.strides[0] = dst.strides[0] = one;
    rc = roll_blocks(b, &dst, &src, &shift);
    if (rc == 0 && target != result) rc = b->copy(result, target);
  }
done:
  tn_tensor_free(flat);
  if (target != result) tn_tensor_free(target);
  if (rc) {
    free_result(result, out);
    return NULL;
  }
  return result;
}

/* ---- tril and triu ---- */

static tn_tensor *triangle(const char *fn, tn_tensor *out, const tn_tensor *x, int64_t k, int upper) {
  char a[TN_SHAPE_STR];
  if (x->ndim < 2)
    return tn_error_null("%s: expects a tensor with at least 2 dimensions, got size %s", fn,
                         tn_format_shape(a, sizeof a, x->ndim, x->sizes));
  tn_tensor *result;
  if (out == x) {
    for (int d = 0; d < x->ndim; d++)
      if (x->strides[d] == 0 && x->sizes[d] > 1)
        return tn_error_null("%s: the tensor has several elements at one memory location (an expanded tensor); "
                             "clone it before writing", fn);
    result = out;
  } else {
    if (check_separate(fn, out, x)) return NULL;
    if (!(result = tn_prepare_out(fn, out, x->ndim, x->sizes, x->dtype, x))) return NULL;
  }
  if (result->numel == 0) return result;
  tn_backend *b = tn_backend_of(fn, x);
  b = TN_WITH_KERNEL(fn, b, triangle);
  tn_bump_version(result);
  if (!b || b->triangle(result, x, k, upper)) {
    free_result(result, out);
    return NULL;
  }
  return result;
}

tn_tensor *tn_tril(tn_tensor *out, const tn_tensor *x, int64_t k) { return triangle("tril", out, x, k, 0); }
tn_tensor *tn_triu(tn_tensor *out, const tn_tensor *x, int64_t k) { return triangle("triu", out, x, k, 1); }

/* ---- repeat ---- */

/* Copies src into dst where both are described by up to 2 * TN_MAX_DIMS (size, stride) pairs: dims of size 1
 * are dropped; more than TN_MAX_DIMS remaining returns 1 (the caller then copies in stages). */
static int copy_split(tn_backend *b, const tn_tensor *dst, const tn_tensor *src, int n, const int64_t *sizes,
                      const int64_t *dst_strides, const int64_t *src_strides) {
  tn_tensor to = *dst, from = *src;
  int m = 0;
  for (int i = 0; i < n; i++) {
    if (sizes[i] == 1) continue;
    if (m == TN_MAX_DIMS) return 1;
    to.sizes[m] = from.sizes[m] = sizes[i];
    to.strides[m] = dst_strides[i];
    from.strides[m] = src_strides[i];
    m++;
  }
  to.ndim = from.ndim = m;
  to.numel = from.numel = tn_shape_numel(m, to.sizes);
  return b->copy(&to, &from);
}

tn_tensor *tn_repeat(tn_tensor *out, const tn_tensor *x, int n, const int64_t *repeats) {
  const char *fn = "repeat";
  if (n < x->ndim)
    return tn_error_null("%s: %d repeat counts given for a tensor of %d dimensions (at least %d are needed)", fn, n,
                         x->ndim, x->ndim);
  if (n > TN_MAX_DIMS) return tn_error_null("%s: %d dimensions requested, at most %d are supported", fn, n, TN_MAX_DIMS);
  int64_t xs[TN_MAX_DIMS], xst[TN_MAX_DIMS], sizes[TN_MAX_DIMS];
  int pad = n - x->ndim;
  for (int i = 0; i < n; i++) {
    if (repeats[i] < 0) return tn_error_null("%s: repeat counts must be non-negative, got %lld", fn, (long long)repeats[i]);
    xs[i] = i < pad ? 1 : x->sizes[i - pad];
    xst[i] = i < pad ? 0 : x->strides[i - pad];
    if (xs[i] > 0 && repeats[i] > INT64_MAX / xs[i])
      return tn_error_null("%s: %lld repetitions of a dimension of size %lld are too many", fn,
                           (long long)repeats[i], (long long)xs[i]);
    sizes[i] = xs[i] * repeats[i];
  }
  if (check_separate(fn, out, x)) return NULL;
  tn_tensor *result = tn_prepare_out(fn, out, n, sizes, x->dtype, x);
  if (!result || result->numel == 0) return result;
  tn_backend *b = tn_backend_of(fn, x);
  b = TN_WITH_KERNEL(fn, b, copy);
  int rc = -1;
  if (!b) goto done;
  tn_bump_version(result);
  /* result dim i split into (repetition, element): strides (xs[i] * s, s); x repeats with stride 0 */
  int64_t split[2 * TN_MAX_DIMS], to[2 * TN_MAX_DIMS], from[2 * TN_MAX_DIMS];
  for (int i = 0; i < n; i++) {
    split[2 * i] = repeats[i];
    split[2 * i + 1] = xs[i];
    to[2 * i] = xs[i] * result->strides[i];
    to[2 * i + 1] = result->strides[i];
    from[2 * i] = 0;
    from[2 * i + 1] = xst[i];
  }
  rc = copy_split(b, result, x, 2 * n, split, to, from);
  if (rc == 1) {
    /* Too many dims for one view: copy x into the first block, then double the filled part along each dim. */
    tn_tensor corner = *result, src = *x;
    for (int i = 0; i < n; i++) corner.sizes[i] = xs[i];
    src.ndim = n;
    for (int i = 0; i < n; i++) src.sizes[i] = xs[i], src.strides[i] = xst[i];
    corner.numel = src.numel = x->numel;
    rc = b->copy(&corner, &src);
    tn_tensor filled = corner;
    for (int i = 0; i < n && rc == 0; i++) {
      for (int64_t done = 1; done < repeats[i] && rc == 0;) {
        int64_t count = done < repeats[i] - done ? done : repeats[i] - done;
        tn_tensor from_block = narrowed(&filled, i, 0, count * xs[i]);
        tn_tensor to_block = *result;
        for (int d = 0; d < n; d++) to_block.sizes[d] = filled.sizes[d];
        to_block = narrowed(&to_block, i, done * xs[i], count * xs[i]);
        rc = b->copy(&to_block, &from_block);
        done += count;
      }
      filled.sizes[i] = sizes[i];
      filled.numel = tn_shape_numel(n, filled.sizes);
    }
  }
done:
  if (rc) {
    free_result(result, out);
    return NULL;
  }
  return result;
}

/* ---- repeat_interleave ---- */

tn_tensor *tn_repeat_interleave_index(const tn_tensor *repeats, int64_t base) {
  const char *fn = "repeat_interleave";
  if (repeats->ndim > 1) return tn_error_null("%s: repeats must be a 0-d or 1-d tensor, got %d dimensions", fn, repeats->ndim);
  if (repeats->dtype != TN_INT64 && repeats->dtype != TN_INT32)
    return tn_error_null("%s: repeats must be an int64 (or int32) tensor, got %s", fn, tn_dtype_name(repeats->dtype));
  tn_tensor *host = tn_to(repeats, TN_INT64, TN_CPU, 0), *result = NULL, *cpu = NULL;
  if (!host) return NULL;
  tn_tensor *flat = tn_contiguous(host);
  if (!flat) goto done;
  const int64_t *r = tn_data_ptr(flat);
  int64_t total = 0;
  for (int64_t i = 0; i < flat->numel; i++) {
    if (r[i] < 0) {
      tn_error("%s: repeats must be non-negative, got %lld at position %lld", fn, (long long)r[i], (long long)(i + base));
      goto done;
    }
    if (r[i] > INT64_MAX - total) {
      tn_error("%s: the repeats add up to more than %lld", fn, (long long)INT64_MAX);
      goto done;
    }
    total += r[i];
  }
  if (!(cpu = tn_empty(1, &total, TN_INT64, TN_CPU, 0))) goto done;
  int64_t *o = tn_data_ptr(cpu);
  for (int64_t i = 0, at = 0; i < flat->numel; i++)
    for (int64_t j = 0; j < r[i]; j++) o[at++] = i + base;
  result = repeats->storage->device_type == TN_CPU
               ? cpu
               : tn_to(cpu, TN_INT64, repeats->storage->device_type, repeats->storage->device_index);
done:
  if (result != cpu) tn_tensor_free(cpu);
  tn_tensor_free(flat);
  tn_tensor_free(host);
  return result;
}

tn_tensor *tn_repeat_interleave(tn_tensor *out, const tn_tensor *x, const tn_tensor *repeats_tensor, int64_t repeats,
                                int dim, int has_dim) {
  const char *fn = "repeat_interleave";
  tn_tensor *flat = NULL, *index = NULL, *result = NULL;
  tn_tensor src = *x;
  if (!has_dim) { /* the flattened tensor */
    if (!(flat = tn_contiguous(x))) return NULL;
    src = *flat;
    src.ndim = 1;
    src.sizes[0] = x->numel;
    src.strides[0] = 1;
    dim = 0;
  } else if (src.ndim == 0) {
    src.ndim = 1;
    src.sizes[0] = 1;
    src.strides[0] = 1;
  }
  if ((dim = tn_wrap_dim(fn, dim, src.ndim)) < 0) goto done;
  if (check_separate(fn, out, x)) goto done;
  if (repeats_tensor && repeats_tensor->numel == 1 && repeats_tensor->ndim <= 1) {
    tn_tensor *host = tn_to(repeats_tensor, TN_INT64, TN_CPU, 0);
    if (!host) goto done;
    repeats = *(const int64_t *)tn_data_ptr(host);
    tn_tensor_free(host);
    repeats_tensor = NULL;
  }
  if (repeats_tensor) {
    if (repeats_tensor->ndim != 1 || repeats_tensor->sizes[0] != src.sizes[dim]) {
      tn_error("%s: repeats must have one element or one per slice (%lld), got %lld", fn,
               (long long)src.sizes[dim], (long long)repeats_tensor->numel);
      goto done;
    }
    if (!(index = tn_repeat_interleave_index(repeats_tensor, 0))) goto done;
    result = tn_index_select(NULL, &src, dim, index, 0);
    if (result && out) {
      tn_tensor *r = tn_prepare_out(fn, out, result->ndim, result->sizes, result->dtype, x);
      int rc = r ? tn_copy_(r, result) : -1;
      tn_tensor_free(result);
      result = rc ? NULL : r;
    }
    goto done;
  }
  if (repeats < 0) {
    tn_error("%s: repeats must be non-negative, got %lld", fn, (long long)repeats);
    goto done;
  }
  int64_t sizes[TN_MAX_DIMS];
  memcpy(sizes, src.sizes, sizeof sizes);
  if (sizes[dim] > 0 && repeats > INT64_MAX / sizes[dim]) {
    tn_error("%s: %lld repetitions of %lld slices are too many", fn, (long long)repeats, (long long)sizes[dim]);
    goto done;
  }
  sizes[dim] *= repeats;
  if (!(result = tn_prepare_out(fn, out, src.ndim, sizes, x->dtype, x)) || result->numel == 0) goto done;
  tn_backend *b = tn_backend_of(fn, x);
  b = TN_WITH_KERNEL(fn, b, copy);
  tn_bump_version(result);
  /* result's dim split into (element, repetition), x with a stride-0 repetition dim */
  int64_t split[TN_MAX_DIMS + 1], to[TN_MAX_DIMS + 1], from[TN_MAX_DIMS + 1];
  int m = 0;
  for (int d = 0; d < src.ndim; d++) {
    split[m] = src.sizes[d], to[m] = result->strides[d] * (d == dim ? repeats : 1), from[m] = src.strides[d], m++;
    if (d == dim) split[m] = repeats, to[m] = result->strides[d], from[m] = 0, m++;
  }
  int rc = b ? copy_split(b, result, &src, m, split, to, from) : -1;
  if (rc == 1) { /* 16 dims, all larger than 1: go through an index */
    tn_tensor_free(result == out ? NULL : result);
    int64_t n = src.sizes[dim];
    tn_tensor *r = tn_empty(0, NULL, TN_INT64, TN_CPU, 0);
    if (r) *(int64_t *)tn_data_ptr(r) = repeats;
    tn_tensor *rep = r ? tn_repeat(NULL, r, 1, &n) : NULL;
    tn_tensor_free(r);
    result = rep ? tn_repeat_interleave(out, x, rep, 0, dim, has_dim) : NULL;
    tn_tensor_free(rep);
    goto done;
  }
  if (rc) {
    free_result(result, out);
    result = NULL;
  }
done:
  tn_tensor_free(flat);
  tn_tensor_free(index);
  return result;
}
