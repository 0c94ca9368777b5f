/* test_core.c: 16-bit float conversions (exhaustively, against the compiler's own types), the allocator's
 * alignment and byte counter, storage reference counting, and the iterator's dim merging. */
#include "iter.h"
#include "check.h"

#include <math.h>
#include <stdlib.h>

static void test_half_exhaustive(void) {
  /* Every half converts to float and back unchanged (NaNs stay NaN). */
  for (uint32_t h = 0; h < 65536; h++) {
    float f = tn_half_to_float((uint16_t)h);
    _Float16 ref;
    uint16_t bits = (uint16_t)h;
    memcpy(&ref, &bits, 2);
    if (isnan(f)) {
      CHECK(isnan((float)ref), "half %04x: expected NaN", h);
      continue;
    }
    CHECK(f == (float)ref, "half %04x -> %g, compiler says %g", h, f, (float)ref);
    CHECK(tn_float_to_half(f) == h, "half %04x round trip gave %04x", h, tn_float_to_half(f));
  }
  /* float -> half rounding agrees with the compiler's _Float16 conversion on a dense sweep of floats. */
  for (uint64_t u = 0; u < 0x100000000ull; u += 4099) {
    uint32_t bits = (uint32_t)u;
    float f;
    memcpy(&f, &bits, 4);
    if (isnan(f)) continue;
    _Float16 ref = (_Float16)f;
    uint16_t rbits;
    memcpy(&rbits, &ref, 2);
    CHECK(tn_float_to_half(f) == rbits, "float %a -> half %04x, compiler says %04x", f, tn_float_to_half(f), rbits);
  }
  CHECK(tn_float_to_half(65519.0f) == 0x7bff, "65519 rounds down to the max half");
  CHECK(tn_float_to_half(65520.0f) == 0x7c00, "65520 rounds up to infinity");
}

static float bf16_reference(float f) {
  /* round to nearest even by exact arithmetic on the dropped 16 bits */
  uint32_t u;
  memcpy(&u, &f, 4);
  uint32_t low = u & 0xffff, high = u >> 16;
  if (low > 0x8000 || (low == 0x8000 && (high & 1))) high++;
  uint32_t r = high << 16;
  float out;
  memcpy(&out, &r, 4);
  return out;
}

static void test_bfloat16(void) {
  for (uint64_t u = 0; u < 0x100000000ull; u += 65537) {
    uint32_t bits = (uint32_t)u;
    float f;
    memcpy(&f, &bits, 4);
    if (isnan(f)) {
      CHECK(isnan(tn_bfloat16_to_float(tn_float_to_bfloat16(f))), "NaN stays NaN in bfloat16");
      continue;
    }
    float got = tn_bfloat16_to_float(tn_float_to_bfloat16(f)), want = bf16_reference(f);
    CHECK(memcmp(&got, &want, 4) == 0, "bfloat16(%a) = %a, expected %a", f, got, want);
  }
}

static void test_allocator(void) {
  int64_t before = tn_memory_live_bytes(TN_CPU);
  int64_t sizes[2] = {3, 5};
  tn_tensor *t = tn_empty(2, sizes, TN_FLOAT64, TN_CPU, 0);
  CHECK(t != NULL, "empty failed: %s", tn_last_error());
  CHECK(((uintptr_t)t->storage->data & 63) == 0, "storage data is 64-byte aligned");
  CHECK(tn_memory_live_bytes(TN_CPU) - before == 15 * 8, "live bytes grew by %lld",
        (long long)(tn_memory_live_bytes(TN_CPU) - before));
  tn_tensor *v = tn_transpose(t, 0, 1);
  CHECK(t->storage->refcount == 2, "a view retains the storage");
  tn_tensor_free(t);
  CHECK(tn_memory_live_bytes(TN_CPU) - before == 15 * 8, "the view keeps the storage alive");
  tn_tensor_free(v);
  CHECK(tn_memory_live_bytes(TN_CPU) == before, "freeing the last view frees the storage");
  int64_t huge[2] = {INT64_MAX / 4, 8};
  CHECK(tn_empty(2, huge, TN_FLOAT32, TN_CPU, 0) == NULL, "an overflowing size is refused");
  CHECK(strstr(tn_last_error(), "too large") != NULL, "message: %s", tn_last_error());
}

static void test_iterator_merges_dims(void) {
  int64_t sizes[3] = {4, 5, 6};
  tn_tensor *a = tn_empty(3, sizes, TN_FLOAT32, TN_CPU, 0);
  tn_iter it;
  const tn_tensor *ops[2] = {a, a};
  tn_iter_init(&it, 3, sizes, 2, ops);
  CHECK(it.ndim == 1 && it.shape[0] == 120, "contiguous dims merge into one (got %d dims)", it.ndim);
  tn_tensor *t = tn_transpose(a, 0, 2);
  const tn_tensor *ops2[2] = {t, t};
  tn_iter_init(&it, 3, t->sizes, 2, ops2);
  CHECK(it.ndim == 1 && it.strides[0][0] == 4, "a transposed tensor is walked in memory order");
  int64_t row[1] = {6};
  tn_tensor *b = tn_empty(1, row, TN_FLOAT32, TN_CPU, 0);
  const tn_tensor *ops3[2] = {a, b};
  tn_iter_init(&it, 3, sizes, 2, ops3);
  CHECK(it.ndim == 2 && it.shape[0] == 6 && it.shape[1] == 20 && it.strides[1][1] == 0,
        "a broadcast row gives two dims with a zero outer stride");
  tn_tensor_free(a);
  tn_tensor_free(t);
  tn_tensor_free(b);
}

int main(void) {
  test_half_exhaustive();
  test_bfloat16();
  test_allocator();
  test_iterator_merges_dims();
  return CHECK_REPORT("test_core");
}
