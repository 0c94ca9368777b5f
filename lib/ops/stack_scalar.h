/* stack_scalar.h: a number as a 0-d CPU tensor on the caller's stack, for the ops that take a scalar operand
 * (pointwise.c, index.c) without allocating one, and the conversion of a double into any dtype. */
#ifndef TN_STACK_SCALAR_H
#define TN_STACK_SCALAR_H

#include "../internal.h"

#include <string.h>

#define TN_STORE_VALUE_CASE(ENUM, SUF, T, CT, KIND) \
  case ENUM: *(T *)dst = TN_STORE_##KIND(T, v); break;
/* *dst = v converted to dtype, as the element-wise kernels store it */
static inline void tn_store_value(void *dst, int dtype, double v) {
  switch (dtype) { TN_FOREACH_DTYPE(TN_STORE_VALUE_CASE) }
}
#undef TN_STORE_VALUE_CASE

typedef struct tn_stack_scalar {
  tn_storage storage;
  tn_tensor tensor;
  int64_t slot;
} tn_stack_scalar;

/* s as a 0-d CPU tensor of dtype holding v; it lives as long as s (its storage is never released). */
static inline const tn_tensor *tn_stack_scalar_init(tn_stack_scalar *s, int dtype, double v) {
  memset(s, 0, sizeof *s);
  s->storage.data = &s->slot;
  s->storage.nbytes = sizeof s->slot;
  s->storage.refcount = 1 << 30;
  s->storage.dtype = dtype;
  s->storage.foreign = 1;
  s->tensor.storage = &s->storage;
  s->tensor.numel = 1;
  s->tensor.dtype = dtype;
  tn_store_value(&s->slot, dtype, v);
  return &s->tensor;
}

#endif /* TN_STACK_SCALAR_H */
