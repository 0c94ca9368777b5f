/* random.c: the default generator and the random fills (see cpu/random.c for the algorithm). */
#include "../backend.h"
#include "../internal.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

/* PyTorch's default seed, so a fresh process is reproducible without manual_seed. */
static tn_generator default_generator = {67280421310721ull, 0};

tn_generator *tn_default_generator(void) { return &default_generator; }

void tn_generator_seed(tn_generator *g, uint64_t seed) {
  g->seed = seed;
  g->offset = 0;
}

static tn_backend *random_target(const char *fn, tn_tensor *t, tn_generator **g) {
  /* without a generator, CUDA tensors draw from the CUDA default generator (torch.cuda.manual_seed) */
  if (!*g) *g = t->storage->device_type == TN_CUDA ? tn_cuda_default_generator() : &default_generator;
  return tn_backend_of(fn, t);
}

/* The integers a dtype holds exactly, every one between them included; false when int64 arguments can't exceed them. */
static bool exact_integer_range(int dtype, int64_t *lo, int64_t *hi) {
  switch (dtype) {
    case TN_INT32: *lo = INT32_MIN, *hi = INT32_MAX; return true;
    case TN_INT16: *lo = INT16_MIN, *hi = INT16_MAX; return true;
    case TN_INT8: *lo = INT8_MIN, *hi = INT8_MAX; return true;
    case TN_UINT8: *lo = 0, *hi = UINT8_MAX; return true;
    case TN_BOOL: *lo = 0, *hi = 1; return true;
    case TN_FLOAT16: *lo = -2048, *hi = 2048; return true;
    case TN_BFLOAT16: *lo = -256, *hi = 256; return true;
    case TN_FLOAT32: *lo = -(1ll << 24), *hi = 1ll << 24; return true;
    case TN_FLOAT64: *lo = -(1ll << 53), *hi = 1ll << 53; return true;
    default: return false;
  }
}

static int require_floating(const char *fn, const tn_tensor *t) {
  if (tn_dtype_is_floating(t->dtype)) return 0;
  return tn_error("%s: expected a floating point tensor, got %s", fn, tn_dtype_name(t->dtype));
}

int tn_uniform_(tn_tensor *t, double low, double high, tn_generator *g) {
  tn_backend *b = random_target("uniform_", t, &g);
  b = TN_WITH_KERNEL("uniform_", b, uniform);
  if (!b || require_floating("uniform_", t)) return -1;
  if (!(low <= high)) return tn_error("uniform_: expected low <= high, got low=%g high=%g", low, high);
  /* The bounds must be finite in the target dtype (float16 overflows from 65520 on, as PyTorch checks). */
  double max = t->dtype == TN_FLOAT16 ? 65504 : t->dtype == TN_FLOAT64 ? DBL_MAX : FLT_MAX;
  if (!(low >= -max && high <= max))
    return tn_error("uniform_: the range [%g, %g) does not fit dtype %s", low, high, tn_dtype_name(t->dtype));
  tn_bump_version(t);
  return t->numel ? b->uniform(t, low, high, g) : 0;
}

int tn_normal_(tn_tensor *t, double mean, double std, tn_generator *g) {
  tn_backend *b = random_target("normal_", t, &g);
  b = TN_WITH_KERNEL("normal_", b, normal);
  if (!b || require_floating("normal_", t)) return -1;
  if (!(std >= 0)) return tn_error("normal_: expected std >= 0, got %g", std);
  tn_bump_version(t);
  return t->numel ? b->normal(t, mean, std, g) : 0;
}

int tn_randint_(tn_tensor *t, int64_t low, int64_t high, tn_generator *g) {
  tn_backend *b = random_target("randint", t, &g);
  b = TN_WITH_KERNEL("randint", b, randint);
  if (!b) return -1;
  if (low >= high)
    return tn_error("randint: expected low < high, got low=%lld high=%lld", (long long)low, (long long)high);
  /* Integer targets must hold every value of the range; floating ones round large values (as in PyTorch), but
   * must not overflow to infinity (float16 is the one whose finite range int64 bounds can exceed). */
  int64_t lo, hi;
  if (t->dtype == TN_FLOAT16)
    lo = -65504, hi = 65504;
  else if (tn_dtype_is_floating(t->dtype) || !exact_integer_range(t->dtype, &lo, &hi))
    lo = INT64_MIN, hi = INT64_MAX;
  if (low < lo || high - 1 > hi)
    return tn_error("randint: range [%lld, %lld) does not fit dtype %s (values %lld to %lld)", (long long)low,
                    (long long)high, tn_dtype_name(t->dtype), (long long)lo, (long long)hi);
  tn_bump_version(t);
  return t->numel ? b->randint(t, low, high, g) : 0;
}

int tn_bernoulli_(tn_tensor *t, double p, tn_generator *g) {
  tn_backend *b = random_target("bernoulli_", t, &g);
  b = TN_WITH_KERNEL("bernoulli_", b, bernoulli);
  if (!b) return -1;
  if (!(p >= 0 && p <= 1)) return tn_error("bernoulli_: expected 0 <= p <= 1, got %g", p);
  tn_bump_version(t);
  return t->numel ? b->bernoulli(t, p, NULL, g) : 0;
}

/* p broadcast to t's shape as a new float64 tensor on t's device, contiguous: the kernels read one parameter
 * per element of t, in t's logical order. what names p in errors ("the rates"). */
static tn_tensor *per_element(const char *fn, const char *what, const tn_tensor *t, const tn_tensor *p) {
  if (!tn_same_device(p, t)) return tn_error_null("%s: %s are on another device than the tensor", fn, what);
  tn_tensor *expanded = tn_expand(p, t->ndim, t->sizes);
  if (!expanded) return tn_error_null("%s: %s", fn, tn_last_error());
  tn_tensor *values = tn_empty(t->ndim, t->sizes, TN_FLOAT64, t->storage->device_type, t->storage->device_index);
  int rc = values ? tn_copy_(values, expanded) : -1;
  tn_tensor_free(expanded);
  if (rc != 0) {
    tn_tensor_free(values);
    return NULL;
  }
  return values;
}

/* The parameters' values where the CPU can read them: values itself, or a copy in *host (freed by the caller);
 * NULL on failure, or for no values (nothing to read). */
static const double *readable(const tn_tensor *values, tn_tensor **host) {
  *host = NULL;
  if (values->numel == 0) return NULL;
  if (values->storage->device_type == TN_CPU) return tn_data_ptr(values);
  *host = tn_to(values, TN_FLOAT64, TN_CPU, 0);
  return *host ? tn_data_ptr(*host) : NULL;
}

int tn_bernoulli_tensor_(tn_tensor *t, const tn_tensor *p, tn_generator *g) {
  tn_backend *b = random_target("bernoulli_", t, &g);
  b = TN_WITH_KERNEL("bernoulli_", b, bernoulli);
  if (!b) return -1;
  tn_tensor *probs = per_element("bernoulli_", "the probabilities", t, p);
  if (!probs) return -1;
  int rc = 0;
  const double *q = tn_data_ptr(probs);
  for (int64_t i = 0; i < probs->numel && t->storage->device_type == TN_CPU; i++)
    if (!(q[i] >= 0 && q[i] <= 1)) {
      rc = tn_error("bernoulli_: probability %g at element %lld is outside [0, 1]", q[i], (long long)i + 1);
      break;
    }
  if (rc == 0) {
    tn_bump_version(t);
    rc = t->numel ? b->bernoulli(t, 0, probs, g) : 0;
  }
  tn_tensor_free(probs);
  return rc;
}

/* Poisson and binomial: every parameter is checked (on a host copy for CUDA tensors) before anything is drawn,
 * since an invalid one has no draw; the element named is 1-based, in t's order. */
int tn_poisson_(tn_tensor *t, const tn_tensor *rates, tn_generator *g) {
  tn_backend *b = random_target("poisson", t, &g);
  b = TN_WITH_KERNEL("poisson", b, poisson);
  if (!b || require_floating("poisson", t)) return -1;
  tn_tensor *lam = per_element("poisson", "the rates", t, rates), *host = NULL;
  if (!lam) return -1;
  const double *v = readable(lam, &host);
  int rc = v || lam->numel == 0 ? 0 : -1;
  for (int64_t i = 0; rc == 0 && i < lam->numel; i++)
    if (!(v[i] >= 0 && v[i] < INFINITY))
      rc = tn_error("poisson: expected finite rates >= 0, got %g at element %lld", v[i], (long long)i + 1);
  tn_tensor_free(host);
  if (rc == 0) {
    tn_bump_version(t);
    rc = t->numel ? b->poisson(t, lam, g) : 0;
  }
  tn_tensor_free(lam);
  return rc;
}

int tn_binomial_(tn_tensor *t, const tn_tensor *count, const tn_tensor *prob, tn_generator *g) {
  tn_backend *b = random_target("binomial", t, &g);
  b = TN_WITH_KERNEL("binomial", b, binomial);
  if (!b || require_floating("binomial", t)) return -1;
  tn_tensor *n = per_element("binomial", "the counts", t, count);
  tn_tensor *p = n ? per_element("binomial", "the probabilities", t, prob) : NULL;
  tn_tensor *host_n = NULL, *host_p = NULL;
  int rc = p ? 0 : -1;
  const double *vn = rc == 0 ? readable(n, &host_n) : NULL, *vp = vn ? readable(p, &host_p) : NULL;
  if (!vp && rc == 0 && n->numel > 0) rc = -1;
  for (int64_t i = 0; rc == 0 && i < n->numel; i++) {
    if (!(vn[i] >= 0 && vn[i] < INFINITY && vn[i] == floor(vn[i])))
      rc = tn_error("binomial: expected counts that are integers >= 0, got %g at element %lld", vn[i],
                    (long long)i + 1);
    else if (!(vp[i] >= 0 && vp[i] <= 1))
      rc = tn_error("binomial: expected probabilities in [0, 1], got %g at element %lld", vp[i], (long long)i + 1);
  }
  tn_tensor_free(host_n);
  tn_tensor_free(host_p);
  if (rc == 0) {
    tn_bump_version(t);
    rc = t->numel ? b->binomial(t, n, p, g) : 0;
  }
  tn_tensor_free(n);
  tn_tensor_free(p);
  return rc;
}

tn_tensor *tn_randperm(int64_t n, int64_t base, int dtype, tn_generator *g) {
  if (n < 0) return tn_error_null("randperm: n must be non-negative, got %lld", (long long)n);
  if (!tn_valid_dtype(dtype) || dtype == TN_BOOL)
    return tn_error_null("randperm: unsupported dtype %s", tn_dtype_name(dtype));
  int64_t lo, hi;
  if (n > 0 && exact_integer_range(dtype, &lo, &hi) && (base < lo || base > hi - (n - 1)))
    return tn_error_null("randperm: the values %lld to %lld do not fit dtype %s", (long long)base,
                         (long long)(base + n - 1), tn_dtype_name(dtype));
  if (!g) g = &default_generator;
  tn_tensor *perm = tn_empty(1, &n, TN_INT64, TN_CPU, 0);
  if (!perm) return tn_error_null("randperm: %s", tn_last_error());
  int64_t *p = tn_data_ptr(perm);
  for (int64_t i = 0; i < n; i++) p[i] = base + i;
  /* Fisher-Yates; the draws for all positions come from one fill, scaled to each position's range. */
  if (n > 1) {
    tn_tensor *draws = tn_empty(1, &(int64_t){n - 1}, TN_INT64, TN_CPU, 0);
    if (!draws) {
      tn_tensor_free(perm);
      return NULL;
    }
    tn_backends[TN_CPU]->randint(draws, 0, INT64_MAX, g);
    const int64_t *r = tn_data_ptr(draws);
    for (int64_t i = n - 1; i > 0; i--) {
      int64_t j = (int64_t)(((unsigned __int128)(uint64_t)r[n - 1 - i] * (uint64_t)(i + 1)) / (uint64_t)INT64_MAX);
      if (j > i) j = i;
      int64_t tmp = p[i];
      p[i] = p[j];
      p[j] = tmp;
    }
    tn_tensor_free(draws);
  }
  if (dtype == TN_INT64) return perm;
  tn_tensor *r = tn_to(perm, dtype, TN_CPU, 0);
  tn_tensor_free(perm);
  return r;
}
