/* pointwise.c: CPU element-wise kernels, one loop per (op, dtype) generated from TN_FOREACH_DTYPE.
 * Each loop has unit-stride and scalar-operand fast paths the compiler vectorises. */
#include "cpu.h"

#define BINARY_LOOP(NAME, SUF, T, CT, KIND, EXPR)                                                   \
  static void NAME##_##SUF(char **data, const int64_t *strides, int64_t n, void *ctx) {             \
    (void)ctx;                                                                                      \
    const int64_t es = sizeof(T);                                                                   \
    if (strides[0] == es && strides[1] == es && strides[2] == es) {                                 \
      T *restrict o = (T *)data[0];                                                                 \
      const T *restrict pa = (const T *)data[1], *restrict pb = (const T *)data[2];                 \
      for (int64_t i = 0; i < n; i++) {                                                             \
        CT x = TN_LOAD_##KIND(pa[i]), y = TN_LOAD_##KIND(pb[i]);                                    \
        o[i] = TN_STORE_##KIND(T, EXPR);                                                            \
      }                                                                                             \
    } else if (strides[0] == es && strides[1] == es && strides[2] == 0) {                           \
      T *restrict o = (T *)data[0];                                                                 \
      const T *restrict pa = (const T *)data[1];                                                    \
      CT y = TN_LOAD_##KIND(*(const T *)data[2]);                                                   \
      for (int64_t i = 0; i < n; i++) {                                                             \
        CT x = TN_LOAD_##KIND(pa[i]);                                                               \
        o[i] = TN_STORE_##KIND(T, EXPR);                                                            \
      }                                                                                             \
    } else if (strides[0] == es && strides[1] == 0 && strides[2] == es) {                           \
      T *restrict o = (T *)data[0];                                                                 \
      const T *restrict pb = (const T *)data[2];                                                    \
      CT x = TN_LOAD_##KIND(*(const T *)data[1]);                                                   \
      for (int64_t i = 0; i < n; i++) {                                                             \
        CT y = TN_LOAD_##KIND(pb[i]);                                                               \
        o[i] = TN_STORE_##KIND(T, EXPR);                                                            \
      }                                                                                             \
    } else {                                                                                        \
      for (int64_t i = 0; i < n; i++) {                                                             \
        CT x = TN_LOAD_##KIND(*(const T *)(data[1] + i * strides[1]));                              \
        CT y = TN_LOAD_##KIND(*(const T *)(data[2] + i * strides[2]));                              \
        *(T *)(data[0] + i * strides[0]) = TN_STORE_##KIND(T, EXPR);                                \
      }                                                                                             \
    }                                                                                               \
  }

/* Bool arithmetic follows PyTorch: add is "or", mul is "and". */
#define ADD_LOOP(ENUM, SUF, T, CT, KIND) BINARY_LOOP(add, SUF, T, CT, KIND, x + y)
#define SUB_LOOP(ENUM, SUF, T, CT, KIND) BINARY_LOOP(sub, SUF, T, CT, KIND, x - y)
#define MUL_LOOP(ENUM, SUF, T, CT, KIND) BINARY_LOOP(mul, SUF, T, CT, KIND, x * y)
#define DIV_LOOP(ENUM, SUF, T, CT, KIND) BINARY_LOOP(div, SUF, T, CT, KIND, x / y)
TN_FOREACH_DTYPE(ADD_LOOP)
TN_FOREACH_DTYPE(SUB_LOOP)
TN_FOREACH_DTYPE(MUL_LOOP)
TN_FOREACH_DTYPE(DIV_LOOP)

#define ADD_ENTRY(ENUM, SUF, T, CT, KIND) [ENUM] = add_##SUF,
#define SUB_ENTRY(ENUM, SUF, T, CT, KIND) [ENUM] = sub_##SUF,
#define MUL_ENTRY(ENUM, SUF, T, CT, KIND) [ENUM] = mul_##SUF,
#define DIV_ENTRY(ENUM, SUF, T, CT, KIND) [ENUM] = div_##SUF,
static const tn_loop_fn binary_loops[][TN_NUM_DTYPES] = {
    [TN_ADD] = {TN_FOREACH_DTYPE(ADD_ENTRY)},
    [TN_SUB] = {TN_FOREACH_DTYPE(SUB_ENTRY)},
    [TN_MUL] = {TN_FOREACH_DTYPE(MUL_ENTRY)},
    [TN_DIV] = {TN_FOREACH_DTYPE(DIV_ENTRY)},
};

int tn_cpu_binary(int op, tn_tensor *out, const tn_tensor *a, const tn_tensor *b) {
  tn_iter it;
  const tn_tensor *ops[3] = {out, a, b};
  tn_iter_init(&it, out->ndim, out->sizes, 3, ops);
  tn_iter_run(&it, binary_loops[op][out->dtype], NULL, TN_GRAIN);
  return 0;
}
