/* reduce_ops.h: the reduction kernels a backend implements. The public layer (ops/reduce.c) maps each op of
 * tensor.h onto one of them (norm by its order, nansum of integers onto sum, ...) after checking the
 * arguments, and hands the backend outputs of the kernel's result dtype in keepdim shape.
 *
 * Kernel           input dtypes   out0                          out1
 * SUM, NANSUM      all            floating: same; else int64    -
 * MEAN             floating       same                          -
 * COUNT_NONZERO    all            int64                         -
 * NORM0/1/2/P      floating       same (p: the order for NORMP) -
 * PROD             all            floating: same; else int64    -
 * AMAX, AMIN       all            same                          -
 * NORM_INF/NINF    floating       same (max/min of |x|)         -
 * AMINMAX          all            same (min)                    same (max)
 * ALL, ANY         all            bool or uint8                 -
 * ARGMAX, ARGMIN   all            int64 index + p (the base)    -
 * MAX, MIN         all            same (values)                 int64 index + p
 * VAR, STD         floating       same (p: the correction)      NULL or same (the mean)
 * LOGSUMEXP        floating       same                          -
 *
 * The arg kernels (ARGMAX ... MIN) get exactly one reduced dim. Integer sums and products wrap on overflow. */
#ifndef TN_REDUCE_OPS_H
#define TN_REDUCE_OPS_H

enum {
  TN_RK_SUM, TN_RK_NANSUM, TN_RK_MEAN, TN_RK_COUNT_NONZERO, TN_RK_NORM0, TN_RK_NORM1, TN_RK_NORM2, TN_RK_NORMP,
  TN_RK_PROD, TN_RK_AMAX, TN_RK_AMIN, TN_RK_NORM_INF, TN_RK_NORM_NINF, TN_RK_AMINMAX, TN_RK_ALL, TN_RK_ANY,
  TN_RK_ARGMAX, TN_RK_ARGMIN, TN_RK_MAX, TN_RK_MIN, TN_RK_VAR, TN_RK_STD, TN_RK_LOGSUMEXP,
  TN_NUM_REDUCE_KERNELS
};

#endif /* TN_REDUCE_OPS_H */
