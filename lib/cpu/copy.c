/* copy.c: CPU copy with broadcasting and dtype conversion, and fill. */
#include "cpu.h"

/* ---- same dtype: move bytes by element size ---- */

#define DEFINE_MOVE(T)                                                                   \
  static void move_##T(char **data, const int64_t *strides, int64_t n, void *ctx) {      \
    (void)ctx;                                                                           \
    if (strides[0] == sizeof(T) && strides[1] == sizeof(T)) {                            \
      memcpy(data[0], data[1], (size_t)n * sizeof(T));                                   \
    } else if (strides[1] == 0) {                                                        \
      T v = *(const T *)data[1];                                                         \
      for (int64_t i = 0; i < n; i++) *(T *)(data[0] + i * strides[0]) = v;              \
    } else {                                                                             \
      for (int64_t i = 0; i < n; i++)                                                    \
        *(T *)(data[0] + i * strides[0]) = *(const T *)(data[1] + i * strides[1]);       \
    }                                                                                    \
  }
DEFINE_MOVE(uint8_t)
DEFINE_MOVE(uint16_t)
DEFINE_MOVE(uint32_t)
DEFINE_MOVE(uint64_t)

static tn_loop_fn move_for_size(int64_t size) {
  switch (size) {
    case 1: return move_uint8_t;
    case 2: return move_uint16_t;
    case 4: return move_uint32_t;
    default: return move_uint64_t;
  }
}

/* ---- conversion: through a block of doubles (floating sources) or int64s (integer and bool sources),
 * so 10 loaders and 10 storers cover all 100 dtype pairs with the results of direct C casts. ---- */

enum { BLOCK = 256 };
typedef union wide_block {
  double f[BLOCK];
  int64_t i[BLOCK];
} wide_block;

#define WIDE_FLOAT f
#define WIDE_HALF f
#define WIDE_BF16 f
#define WIDE_INT i
#define WIDE_BOOL i

#define DEFINE_LOAD(ENUM, SUF, T, CT, KIND)                                               \
  static void load_##SUF(const char *src, int64_t stride, int64_t n, wide_block *buf) {   \
    for (int64_t j = 0; j < n; j++) buf->WIDE_##KIND[j] = TN_LOAD_##KIND(*(const T *)(src + j * stride)); \
  }
/* A double to an integer type without undefined behaviour, with the results x86 gives (and so PyTorch): NaN
 * and out-of-range values become the most negative int64 (int64 and uint8 convert through int64, as c10 does)
 * or int32 (the narrower signed types convert through int32); in-range values truncate, then wrap to the type. */
static inline int64_t double_to_i64(double v) { return v >= -0x1p63 && v < 0x1p63 ? (int64_t)v : INT64_MIN; }
static inline int32_t double_to_i32(double v) { return v > -0x1p31 - 1 && v < 0x1p31 ? (int32_t)v : INT32_MIN; }
#define FROM_DOUBLE_FLOAT(T, v) TN_STORE_FLOAT(T, v)
#define FROM_DOUBLE_HALF(T, v) TN_STORE_HALF(T, v)
#define FROM_DOUBLE_BF16(T, v) TN_STORE_BF16(T, v)
#define FROM_DOUBLE_BOOL(T, v) TN_STORE_BOOL(T, v)
#define FROM_DOUBLE_INT(T, v) ((T)(sizeof(T) == 8 || (T)-1 > 0 ? double_to_i64(v) : double_to_i32(v)))

#define DEFINE_STORE(ENUM, SUF, T, CT, KIND)                                                          \
  static void store_##SUF(char *dst, int64_t stride, int64_t n, const wide_block *buf, bool floating) { \
    if (floating)                                                                                     \
      for (int64_t j = 0; j < n; j++) *(T *)(dst + j * stride) = FROM_DOUBLE_##KIND(T, buf->f[j]);   \
    else                                                                                              \
      for (int64_t j = 0; j < n; j++) *(T *)(dst + j * stride) = TN_STORE_##KIND(T, buf->i[j]);      \
  }
TN_FOREACH_DTYPE(DEFINE_LOAD)
TN_FOREACH_DTYPE(DEFINE_STORE)

typedef void (*load_fn)(const char *, int64_t, int64_t, wide_block *);
typedef void (*store_fn)(char *, int64_t, int64_t, const wide_block *, bool);
#define LOADER_ENTRY(ENUM, SUF, T, CT, KIND) [ENUM] = load_##SUF,
#define STORER_ENTRY(ENUM, SUF, T, CT, KIND) [ENUM] = store_##SUF,
static const load_fn loaders[TN_NUM_DTYPES] = {TN_FOREACH_DTYPE(LOADER_ENTRY)};
static const store_fn storers[TN_NUM_DTYPES] = {TN_FOREACH_DTYPE(STORER_ENTRY)};

typedef struct convert_ctx {
  int dst, src;
} convert_ctx;

static void convert_loop(char **data, const int64_t *strides, int64_t n, void *ctx) {
  const convert_ctx *c = ctx;
  bool floating = tn_dtype_is_floating(c->src);
  wide_block buf;
  for (int64_t i = 0; i < n; i += BLOCK) {
    int64_t m = n - i < BLOCK ? n - i : BLOCK;
    loaders[c->src](data[1] + i * strides[1], strides[1], m, &buf);
    storers[c->dst](data[0] + i * strides[0], strides[0], m, &buf, floating);
  }
}

int tn_cpu_copy(tn_tensor *dst, const tn_tensor *src) {
  tn_iter it;
  const tn_tensor *ops[2] = {dst, src};
  tn_iter_init(&it, dst->ndim, dst->sizes, 2, ops);
  if (dst->dtype == src->dtype) {
    tn_iter_run(&it, move_for_size(tn_dtype_size(dst->dtype)), NULL, TN_GRAIN);
  } else {
    convert_ctx c = {dst->dtype, src->dtype};
    tn_iter_run(&it, convert_loop, &c, TN_GRAIN / 4);
  }
  return 0;
}

/* ---- fill: the value is converted once to the element's bit pattern ---- */

#define DEFINE_FILL(T)                                                              \
  static void fill_##T(char **data, const int64_t *strides, int64_t n, void *ctx) { \
    T v = *(const T *)ctx;                                                          \
    if (strides[0] == sizeof(T)) {                                                  \
      T *restrict out = (T *)data[0];                                               \
      for (int64_t i = 0; i < n; i++) out[i] = v;                                   \
    } else {                                                                        \
      for (int64_t i = 0; i < n; i++) *(T *)(data[0] + i * strides[0]) = v;         \
    }                                                                               \
  }
DEFINE_FILL(uint8_t)
DEFINE_FILL(uint16_t)
DEFINE_FILL(uint32_t)
DEFINE_FILL(uint64_t)

int tn_cpu_fill(tn_tensor *t, double value) {
  wide_block one;
  uint64_t pattern = 0;
  one.f[0] = value;
  storers[t->dtype]((char *)&pattern, 0, 1, &one, true);
  tn_loop_fn fn;
  switch (tn_dtype_size(t->dtype)) {
    case 1: fn = fill_uint8_t; break;
    case 2: fn = fill_uint16_t; break;
    case 4: fn = fill_uint32_t; break;
    default: fn = fill_uint64_t; break;
  }
  tn_iter it;
  const tn_tensor *ops[1] = {t};
  tn_iter_init(&it, t->ndim, t->sizes, 1, ops);
  tn_iter_run(&it, fn, &pattern, TN_GRAIN);
  return 0;
}
