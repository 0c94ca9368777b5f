/* cpu.h: the CPU backend's kernels (registered in backend.c). They assume validated arguments. */
#ifndef TN_CPU_H
#define TN_CPU_H

#include "../backend.h"
#include "../iter.h"

int tn_cpu_copy(tn_tensor *dst, const tn_tensor *src);
int tn_cpu_fill(tn_tensor *t, double value);
int tn_cpu_unary(int op, tn_tensor *out, const tn_tensor *x, double p0, double p1);
int tn_cpu_binary(int op, tn_tensor *out, const tn_tensor *a, const tn_tensor *b, double p0, double p1);
int tn_cpu_ternary(int op, tn_tensor *out, const tn_tensor *a, const tn_tensor *b, const tn_tensor *c, double p0);

int tn_cpu_uniform(tn_tensor *t, double low, double high, tn_generator *g);
int tn_cpu_normal(tn_tensor *t, double mean, double std, tn_generator *g);
int tn_cpu_randint(tn_tensor *t, int64_t low, int64_t high, tn_generator *g);
int tn_cpu_bernoulli(tn_tensor *t, double p, const tn_tensor *p_tensor, tn_generator *g);

#endif /* TN_CPU_H */
