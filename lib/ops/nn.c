/* nn.c: the embedding and dropout entry points, and the index checks shared by the nn ops. */
#include "nn_ops.h"

int tn_nn_check_indices(const char *fn, const char *what, const tn_tensor *idx, int64_t count, int64_t base,
                        int64_t skip, const char *count_what) {
  if (idx->storage->device_type != TN_CPU || idx->numel == 0) return 0;
  const int64_t *v = tn_data_ptr(idx);
  int64_t hi = base + count;
  for (int64_t i = 0; i < idx->numel; i++) {
    int64_t x = v[i];
    if ((x < base || x >= hi) && (x != skip || skip == INT64_MIN)) {
      if (count == 0) return tn_error("%s: %s %lld is out of range: there are no %s", fn, what, (long long)x, count_what);
      return tn_error("%s: %s %lld is out of range for %lld %s (expected %lld to %lld)", fn, what, (long long)x,
                      (long long)count, count_what, (long long)base, (long long)(hi - 1));
    }
  }
  return 0;
}

tn_tensor *tn_nn_int64(const char *fn, const char *what, const tn_tensor *t) {
  if (t->dtype == TN_BOOL || tn_dtype_is_floating(t->dtype))
    return tn_error_null("%s: expected an integer %s, got %s", fn, what, tn_dtype_name(t->dtype));
  if (t->dtype == TN_INT64) return tn_contiguous(t);
  return tn_to(t, TN_INT64, t->storage->device_type, t->storage->device_index);
}

tn_tensor *tn_embedding(const tn_tensor *weight, const tn_tensor *indices, int64_t base) {
  const char *fn = "embedding";
  char s[TN_SHAPE_STR];
  if (tn_nn_check_float(fn, "weight", weight) || tn_nn_check_device(fn, "indices", indices, "weight", weight))
    return NULL;
  if (weight->ndim != 2)
    return tn_error_null("%s: expected a 2-d weight [num_embeddings x embedding_dim], got %s", fn, tn_nn_shape(s, weight));
  if (indices->ndim + 1 > TN_MAX_DIMS)
    return tn_error_null("%s: indices of %d dims give too many dims", fn, indices->ndim);
  tn_backend *be = tn_backend_of(fn, weight);
  be = TN_WITH_KERNEL(fn, be, embedding);
  if (!be) return NULL;
  tn_tensor *idx = tn_nn_int64(fn, "index tensor", indices);
  /* no index is exempt: base - 1 here let id 0 through, to read the row before the weight */
  if (!idx || tn_nn_check_indices(fn, "index", idx, weight->sizes[0], base, INT64_MIN, "embeddings")) {
    tn_tensor_free(idx);
    return NULL;
  }
  int64_t sizes[TN_MAX_DIMS];
  memcpy(sizes, indices->sizes, sizeof(int64_t) * (size_t)indices->ndim);
  sizes[indices->ndim] = weight->sizes[1];
  tn_tensor *w = tn_contiguous(weight);
  tn_tensor *out = w ? tn_nn_empty(indices->ndim + 1, sizes, weight->dtype, weight) : NULL;
  int rc = out ? (out->numel ? be->embedding(out, w, idx, base) : 0) : -1;
  tn_tensor_free(w);
  tn_tensor_free(idx);
  if (rc) {
    tn_tensor_free(out);
    return NULL;
  }
  return out;
}

tn_tensor *tn_embedding_backward(const tn_tensor *grad_output, const tn_tensor *indices, int64_t num_weights,
                                 int64_t padding_idx, int scale_grad_by_freq, int64_t base) {
  const char *fn = "embedding_backward";
  char s1[TN_SHAPE_STR], s2[TN_SHAPE_STR];
  if (tn_nn_check_float(fn, "gradient", grad_output) ||
      tn_nn_check_device(fn, "indices", indices, "gradient", grad_output))
    return NULL;
  if (num_weights < 0) return tn_error_null("%s: num_weights must be non-negative, got %lld", fn, (long long)num_weights);
  bool ok = grad_output->ndim == indices->ndim + 1;
  for (int d = 0; ok && d < indices->ndim; d++) ok = grad_output->sizes[d] == indices->sizes[d];
  if (!ok)
    return tn_error_null("%s: expected a gradient of the indices' size %s followed by embedding_dim, got %s", fn,
                         tn_nn_shape(s1, indices), tn_nn_shape(s2, grad_output));
  tn_backend *be = tn_backend_of(fn, grad_output);
  be = TN_WITH_KERNEL(fn, be, embedding_backward);
  if (!be) return NULL;
  tn_tensor *idx = tn_nn_int64(fn, "index tensor", indices);
  if (!idx || tn_nn_check_indices(fn, "index", idx, num_weights, base, INT64_MIN, "embeddings")) {
    tn_tensor_free(idx);
    return NULL;
  }
  int64_t sizes[2] = {num_weights, grad_output->sizes[grad_output->ndim - 1]};
  tn_tensor *g = tn_contiguous(grad_output);
  tn_tensor *gw = g ? tn_nn_empty(2, sizes, grad_output->dtype, grad_output) : NULL;
  int rc = gw ? be->embedding_backward(gw, g, idx, padding_idx, scale_grad_by_freq, base) : -1;
  tn_tensor_free(g);
  tn_tensor_free(idx);
  if (rc) {
    tn_tensor_free(gw);
    return NULL;
  }
  return gw;
}

tn_tensor *tn_dropout(const tn_tensor *input, double p, tn_generator *g, tn_tensor **mask) {
  const char *fn = "dropout";
  if (mask) *mask = NULL;
  if (!tn_dtype_is_floating(input->dtype))
    return tn_error_null("%s: expected a floating input, got %s", fn, tn_dtype_name(input->dtype));
  if (!(p >= 0 && p <= 1)) return tn_error_null("%s: p must be between 0 and 1, got %g", fn, p);
  tn_tensor *m = tn_nn_empty(input->ndim, input->sizes, input->dtype, input), *out = NULL;
  if (!m) return NULL;
  /* mask = bernoulli(1 - p) / (1 - p); p = 1 drops everything */
  int rc = p < 1 ? tn_bernoulli_(m, 1 - p, g) : tn_fill_(m, 0);
  if (!rc && p > 0 && p < 1 && !tn_binary_scalar(TN_MUL, m, m, 1 / (1 - p), input->dtype, 0, 1, 0, input->dtype))
    rc = -1;
  if (!rc && !(out = tn_binary(TN_MUL, NULL, input, m, 1, 0, input->dtype))) rc = -1;
  if (rc) {
    tn_tensor_free(m);
    return NULL;
  }
  tn_nn_give(mask, m);
  return out;
}
