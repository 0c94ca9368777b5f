/* nn_norm.cu: layer, batch and group normalisation and their backward (float32 and float64, contiguous),
 * following lib/cpu/norm_tmpl.h: statistics in two passes (the mean, then the mean squared deviation).
 *
 * Layer norm: a block per row. Batch norm: statistics by parts of each channel in float64, merged per
 * channel, then a grid loop over the outputs. Group norm: a block per (image, group). The weight and bias gradients of layer norm are column
 * sums over the rows (a thread per column); those of group norm sum per-(image, channel) sums over images. */
#include "ops.cuh"

namespace {

enum { NB = 256 };

#define PTR(T, t) ((t) ? (T *)tn_base(t) : (T *)NULL)

/* ---- layer norm ---- */

template <class T>
__global__ void __launch_bounds__(NB) layer_norm_rows(T *y, T *mean, T *rstd, const T *x, const T *w, const T *b,
                                                      int64_t rows, int64_t cols, double eps) {
  __shared__ T sh[33];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T *xr = x + r * cols;
    T *yr = y + r * cols;
    T s = 0;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) s += xr[j];
    T mu = block_sum(s, sh) / (T)cols;
    T q = 0;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) q += (xr[j] - mu) * (xr[j] - mu);
    T m2 = block_sum(q, sh);
    T rs = (T)(1.0 / sqrt((double)m2 / (double)cols + eps));
    if (threadIdx.x == 0) mean[r] = mu, rstd[r] = rs;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x)
      yr[j] = ((xr[j] - mu) * rs) * (w ? w[j] : (T)1) + (b ? b[j] : (T)0);
  }
}

template <class T>
__global__ void __launch_bounds__(NB) layer_norm_backward_rows(T *gx, const T *g, const T *x, const T *mean,
                                                               const T *rstd, const T *w, int64_t rows,
                                                               int64_t cols) {
  __shared__ T sh[33];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T *xr = x + r * cols, *gr = g + r * cols;
    T mu = mean[r], rs = rstd[r], a = 0, c = 0;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      T h = gr[j] * (w ? w[j] : (T)1);
      a += h;
      c += h * (xr[j] - mu) * rs;
    }
    a = block_sum(a, sh) / (T)cols;
    c = block_sum(c, sh) / (T)cols;
    T *o = gx + r * cols;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x)
      o[j] = rs * (gr[j] * (w ? w[j] : (T)1) - a - (xr[j] - mu) * rs * c);
  }
}

template <class T>
__global__ void layer_norm_backward_cols(T *gw, T *gb, const T *g, const T *x, const T *mean, const T *rstd,
                                         int64_t rows, int64_t cols) {
  TNC_GRID_LOOP(j, cols) {
    T sw = 0, sb = 0;
    for (int64_t r = 0; r < rows; r++) {
      T gv = g[r * cols + j];
      sw += gv * (x[r * cols + j] - mean[r]) * rstd[r];
      sb += gv;
    }
    if (gw) gw[j] = sw;
    if (gb) gb[j] = sb;
  }
}

unsigned row_blocks(int64_t rows) { return (unsigned)(rows < 65535 * 8 ? (rows > 0 ? rows : 1) : 65535 * 8); }

template <class T>
int layer_norm_typed(cudaStream_t s, tn_tensor *y, tn_tensor *mean, tn_tensor *rstd, const tn_tensor *x,
                     const tn_tensor *w, const tn_tensor *b, int64_t rows, int64_t cols, double eps) {
  layer_norm_rows<T><<<row_blocks(rows), NB, 0, s>>>(PTR(T, y), PTR(T, mean), PTR(T, rstd), PTR(const T, x),
                                                      PTR(const T, w), PTR(const T, b), rows, cols, eps);
  return tnc_check("layer_norm");
}

int cuda_layer_norm(tn_tensor *y, tn_tensor *mean, tn_tensor *rstd, const tn_tensor *x, const tn_tensor *w,
                    const tn_tensor *b, int64_t rows, int64_t cols, double eps) {
  cudaStream_t s = tnc_stream("layer_norm", x);
  if (!s) return -1;
  if (rows * cols == 0) return 0;
  return x->dtype == TN_FLOAT64 ? layer_norm_typed<double>(s, y, mean, rstd, x, w, b, rows, cols, eps)
                                : layer_norm_typed<float>(s, y, mean, rstd, x, w, b, rows, cols, eps);
}

template <class T>
int layer_norm_backward_typed(cudaStream_t s, tn_tensor *gx, tn_tensor *gw, tn_tensor *gb, const tn_tensor *g,
                              const tn_tensor *x, const tn_tensor *mean, const tn_tensor *rstd, const tn_tensor *w,
                              int64_t rows, int64_t cols) {
  if (gx && rows * cols > 0)
    layer_norm_backward_rows<T><<<row_blocks(rows), NB, 0, s>>>(PTR(T, gx), PTR(const T, g), PTR(const T, x),
                                                                 PTR(const T, mean), PTR(const T, rstd),
                                                                 PTR(const T, w), rows, cols);
  if ((gw || gb) && cols > 0)
    layer_norm_backward_cols<T><<<tnc_blocks(cols), TNC_THREADS, 0, s>>>(
        PTR(T, gw), PTR(T, gb), PTR(const T, g), PTR(const T, x), PTR(const T, mean), PTR(const T, rstd), rows, cols);
  return tnc_check("layer_norm_backward");
}

int cuda_layer_norm_backward(tn_tensor *gx, tn_tensor *gw, tn_tensor *gb, const tn_tensor *g, const tn_tensor *x,
                             const tn_tensor *mean, const tn_tensor *rstd, const tn_tensor *w, int64_t rows,
                             int64_t cols) {
  cudaStream_t s = tnc_stream("layer_norm_backward", g);
  if (!s) return -1;
  return g->dtype == TN_FLOAT64 ? layer_norm_backward_typed<double>(s, gx, gw, gb, g, x, mean, rstd, w, rows, cols)
                                : layer_norm_backward_typed<float>(s, gx, gw, gb, g, x, mean, rstd, w, rows, cols);
}

/* ---- batch norm: x [n x c x s], statistics by parts of each channel (ops.cuh) ----
 * Forward: block (ch, part) takes the count, mean and squared deviations of its elements in float64 (two
 * passes over its own elements, the second from cache); a thread per channel merges the parts in order
 * (Chan's pairwise formula), writes the mean and 1/std and updates the running statistics; then a grid loop
 * writes y. Backward: the parts sum g and g (x - mean) per channel, a thread per channel gives the weight and
 * bias gradients and the coefficients of gx, and a grid loop writes gx. */

enum { STATS = 3, GRADS = 2 }; /* doubles per part: count, mean, M2; sum g, sum g (x - mean) */

template <class T>
__global__ void __launch_bounds__(NB) batch_norm_stat_parts(double *part, const T *x, tn_norm_geom g, int parts) {
  __shared__ double sh[33];
  int p = blockIdx.y;
  double count = (double)tnc_part_count(g.n, g.s, p, parts);
  for (int64_t ch = blockIdx.x; ch < g.c; ch += gridDim.x) {
    double sum = 0, m2 = 0;
    tnc_for_channel_part(g.n, g.c, g.s, ch, p, parts, [&](int64_t at) { sum += (double)x[at]; });
    double mean = count > 0 ? block_sum(sum, sh) / count : 0;
    tnc_for_channel_part(g.n, g.c, g.s, ch, p, parts, [&](int64_t at) {
      double d = (double)x[at] - mean;
      m2 += d * d;
    });
    m2 = block_sum(m2, sh);
    if (threadIdx.x == 0) {
      double *o = part + (ch * parts + p) * STATS;
      o[0] = count, o[1] = mean, o[2] = m2;
    }
  }
}

template <class T>
__global__ void batch_norm_stat_combine(T *mean, T *invstd, T *running_mean, T *running_var, const double *part,
                                        tn_norm_geom g, int parts) {
  TNC_GRID_LOOP(ch, g.c) {
    double n = 0, mu = 0, m2 = 0;
    for (int p = 0; p < parts; p++) {
      const double *q = part + (ch * parts + p) * STATS;
      if (q[0] == 0) continue;
      double total = n + q[0], d = q[1] - mu;
      mu += d * q[0] / total;
      m2 += q[2] + d * d * n * q[0] / total;
      n = total;
    }
    mean[ch] = (T)mu;
    invstd[ch] = (T)(1.0 / sqrt(m2 / n + g.eps));
    if (running_mean) running_mean[ch] = (T)((1 - g.momentum) * running_mean[ch] + g.momentum * mu);
    if (running_var)
      running_var[ch] = (T)((1 - g.momentum) * running_var[ch] + g.momentum * (m2 / (n > 1 ? n - 1 : 1)));
  }
}

template <class T>
__global__ void batch_norm_eval_stats(T *mean, T *invstd, const T *running_mean, const T *running_var,
                                      tn_norm_geom g) {
  TNC_GRID_LOOP(ch, g.c) {
    mean[ch] = running_mean[ch];
    invstd[ch] = (T)(1.0 / sqrt((double)running_var[ch] + g.eps));
  }
}

template <class T>
__global__ void batch_norm_apply(T *y, const T *x, const T *mean, const T *invstd, const T *w, const T *b,
                                 tn_norm_geom g) {
  TNC_GRID_LOOP(k, g.n * g.c * g.s) {
    int64_t ch = (k / g.s) % g.c;
    T scale = invstd[ch] * (w ? w[ch] : (T)1), shift = (b ? b[ch] : (T)0) - mean[ch] * scale;
    y[k] = x[k] * scale + shift;
  }
}

template <class T>
__global__ void __launch_bounds__(NB) batch_norm_grad_parts(double *part, const T *gy, const T *x, const T *mean,
                                                            tn_norm_geom g, int parts) {
  __shared__ double sh[33];
  int p = blockIdx.y;
  for (int64_t ch = blockIdx.x; ch < g.c; ch += gridDim.x) {
    T mu = mean[ch];
    double sg = 0, sgx = 0;
    tnc_for_channel_part(g.n, g.c, g.s, ch, p, parts, [&](int64_t at) {
      sg += (double)gy[at];
      sgx += (double)(gy[at] * (x[at] - mu));
    });
    sg = block_sum(sg, sh);
    sgx = block_sum(sgx, sh);
    if (threadIdx.x == 0) {
      double *o = part + (ch * parts + p) * GRADS;
      o[0] = sg, o[1] = sgx;
    }
  }
}

/* coef[3 ch ..]: gx = coef0 (g - coef1 - (x - mean) coef2) */
template <class T>
__global__ void batch_norm_grad_combine(T *gw, T *gb, T *coef, const double *part, const T *w, const T *invstd,
                                        tn_norm_geom g, int parts) {
  TNC_GRID_LOOP(ch, g.c) {
    double sg = 0, sgx = 0;
    for (int p = 0; p < parts; p++) sg += part[(ch * parts + p) * GRADS], sgx += part[(ch * parts + p) * GRADS + 1];
    T is = invstd[ch];
    double count = (double)(g.n * g.s);
    if (gw) gw[ch] = (T)(sgx * is);
    if (gb) gb[ch] = (T)sg;
    coef[3 * ch] = is * (w ? w[ch] : (T)1);
    coef[3 * ch + 1] = g.training ? (T)(sg / count) : (T)0;
    coef[3 * ch + 2] = g.training ? (T)(sgx * is * is / count) : (T)0;
  }
}

template <class T>
__global__ void batch_norm_grad_apply(T *gx, const T *gy, const T *x, const T *mean, const T *coef, tn_norm_geom g) {
  TNC_GRID_LOOP(k, g.n * g.c * g.s) {
    int64_t ch = (k / g.s) % g.c;
    gx[k] = coef[3 * ch] * (gy[k] - coef[3 * ch + 1] - (x[k] - mean[ch]) * coef[3 * ch + 2]);
  }
}

/* The part grid of a channel statistic: (channels, parts) blocks. */
dim3 part_grid(int64_t c, int parts) { return dim3((unsigned)(c < 65535 ? c : 65535), (unsigned)parts); }

template <class T>
int batch_norm_typed(cudaStream_t s, int device, tn_tensor *y, tn_tensor *mean, tn_tensor *invstd, const tn_tensor *x,
                     const tn_tensor *w, const tn_tensor *b, tn_tensor *running_mean, tn_tensor *running_var,
                     const tn_norm_geom *g) {
  if (g->training) {
    int parts = tnc_channel_parts(tnc_sm_count(device), g->n, g->c);
    int64_t bytes = g->c * parts * STATS * (int64_t)sizeof(double);
    double *part = (double *)tnc_scratch(device, bytes);
    if (!part) return -1;
    batch_norm_stat_parts<T><<<part_grid(g->c, parts), NB, 0, s>>>(part, PTR(const T, x), *g, parts);
    batch_norm_stat_combine<T><<<tnc_blocks(g->c), TNC_THREADS, 0, s>>>(
        PTR(T, mean), PTR(T, invstd), PTR(T, running_mean), PTR(T, running_var), part, *g, parts);
    tnc_scratch_free(device, part, bytes);
  } else {
    batch_norm_eval_stats<T><<<tnc_blocks(g->c), TNC_THREADS, 0, s>>>(
        PTR(T, mean), PTR(T, invstd), PTR(const T, running_mean), PTR(const T, running_var), *g);
  }
  if (g->n * g->s > 0)
    batch_norm_apply<T><<<tnc_blocks(g->n * g->c * g->s), TNC_THREADS, 0, s>>>(
        PTR(T, y), PTR(const T, x), PTR(const T, mean), PTR(const T, invstd), PTR(const T, w), PTR(const T, b), *g);
  return tnc_check("batch_norm");
}

template <class T>
int batch_norm_backward_typed(cudaStream_t s, int device, tn_tensor *gx, tn_tensor *gw, tn_tensor *gb,
                              const tn_tensor *gy, const tn_tensor *x, const tn_tensor *w, const tn_tensor *mean,
                              const tn_tensor *invstd, const tn_norm_geom *g) {
  int parts = tnc_channel_parts(tnc_sm_count(device), g->n, g->c);
  int64_t part_bytes = g->c * parts * GRADS * (int64_t)sizeof(double), coef_bytes = 3 * g->c * (int64_t)sizeof(T);
  double *part = (double *)tnc_scratch(device, part_bytes);
  T *coef = part ? (T *)tnc_scratch(device, coef_bytes) : NULL;
  if (!coef) {
    tnc_scratch_free(device, part, part_bytes);
    return -1;
  }
  batch_norm_grad_parts<T><<<part_grid(g->c, parts), NB, 0, s>>>(part, PTR(const T, gy), PTR(const T, x),
                                                                 PTR(const T, mean), *g, parts);
  batch_norm_grad_combine<T><<<tnc_blocks(g->c), TNC_THREADS, 0, s>>>(
      PTR(T, gw), PTR(T, gb), coef, part, PTR(const T, w), PTR(const T, invstd), *g, parts);
  if (gx && g->n * g->s > 0)
    batch_norm_grad_apply<T><<<tnc_blocks(g->n * g->c * g->s), TNC_THREADS, 0, s>>>(
        PTR(T, gx), PTR(const T, gy), PTR(const T, x), PTR(const T, mean), coef, *g);
  tnc_scratch_free(device, part, part_bytes);
  tnc_scratch_free(device, coef, coef_bytes);
  return tnc_check("batch_norm_backward");
}

int cuda_batch_norm(tn_tensor *y, tn_tensor *mean, tn_tensor *invstd, const tn_tensor *x, const tn_tensor *w,
                    const tn_tensor *b, tn_tensor *running_mean, tn_tensor *running_var, const tn_norm_geom *g) {
  cudaStream_t s = tnc_stream("batch_norm", x);
  if (!s) return -1;
  if (g->c == 0) return 0;
  int device = tnc_device(x);
  return x->dtype == TN_FLOAT64
             ? batch_norm_typed<double>(s, device, y, mean, invstd, x, w, b, running_mean, running_var, g)
             : batch_norm_typed<float>(s, device, y, mean, invstd, x, w, b, running_mean, running_var, g);
}

int cuda_batch_norm_backward(tn_tensor *gx, tn_tensor *gw, tn_tensor *gb, const tn_tensor *gy, const tn_tensor *x,
                             const tn_tensor *w, const tn_tensor *mean, const tn_tensor *invstd,
                             const tn_norm_geom *g) {
  cudaStream_t s = tnc_stream("batch_norm_backward", gy);
  if (!s) return -1;
  if (g->c == 0) return 0;
  int device = tnc_device(gy);
  return gy->dtype == TN_FLOAT64
             ? batch_norm_backward_typed<double>(s, device, gx, gw, gb, gy, x, w, mean, invstd, g)
             : batch_norm_backward_typed<float>(s, device, gx, gw, gb, gy, x, w, mean, invstd, g);
}

/* ---- group norm: x [n x c x s], a block per (image, group) of c / groups channels ---- */

template <class T>
__global__ void __launch_bounds__(NB) group_norm_blocks(T *y, T *mean, T *rstd, const T *x, const T *w, const T *b,
                                                        tn_norm_geom g) {
  __shared__ T sh[33];
  int64_t cg = g.c / g.groups, block = cg * g.s;
  for (int64_t u = blockIdx.x; u < g.n * g.groups; u += gridDim.x) {
    const T *xb = x + u * block;
    T *yb = y + u * block;
    T s = 0;
    for (int64_t k = threadIdx.x; k < block; k += blockDim.x) s += xb[k];
    T mu = block_sum(s, sh) / (T)block;
    T q = 0;
    for (int64_t k = threadIdx.x; k < block; k += blockDim.x) q += (xb[k] - mu) * (xb[k] - mu);
    T m2 = block_sum(q, sh);
    T rs = (T)(1.0 / sqrt((double)m2 / (double)block + g.eps));
    if (threadIdx.x == 0) mean[u] = mu, rstd[u] = rs;
    int64_t c0 = (u % g.groups) * cg;
    for (int64_t k = threadIdx.x; k < block; k += blockDim.x) {
      int64_t ch = c0 + k / g.s;
      T scale = rs * (w ? w[ch] : (T)1), shift = (b ? b[ch] : (T)0) - mu * scale;
      yb[k] = xb[k] * scale + shift;
    }
  }
}

/* per (image, group): ds_c = sum g x and db_c = sum g per channel (to sums), then gx */
template <class T>
__global__ void __launch_bounds__(NB) group_norm_backward_blocks(T *gx, double *sums, const T *gy, const T *x,
                                                                 const T *mean, const T *rstd, const T *w,
                                                                 tn_norm_geom g) {
  __shared__ double sh[33];
  int64_t cg = g.c / g.groups, block = cg * g.s, D = block;
  for (int64_t u = blockIdx.x; u < g.n * g.groups; u += gridDim.x) {
    int64_t c0 = (u % g.groups) * cg, img = u / g.groups;
    const T *xb = x + u * block, *gb = gy + u * block;
    T mu = mean[u], rs = rstd[u];
    double shh = 0, shx = 0;
    for (int64_t k = 0; k < cg; k++) {
      const T *xr = xb + k * g.s, *gr = gb + k * g.s;
      double ds = 0, db = 0;
      for (int64_t j = threadIdx.x; j < g.s; j += blockDim.x) ds += (double)(gr[j] * xr[j]), db += (double)gr[j];
      ds = block_sum(ds, sh);
      db = block_sum(db, sh);
      double wc = w ? (double)w[c0 + k] : 1.0;
      if (threadIdx.x == 0) sums[2 * (img * g.c + c0 + k)] = ds, sums[2 * (img * g.c + c0 + k) + 1] = db;
      shh += wc * db;
      shx += wc * (ds - (double)mu * db);
    }
    if (gx) {
      T a = (T)(shh / (double)D), c = (T)(shx * rs / (double)D);
      for (int64_t k = threadIdx.x; k < block; k += blockDim.x) {
        T wc = w ? w[c0 + k / g.s] : (T)1;
        gx[u * block + k] = rs * (wc * gb[k] - a - (xb[k] - mu) * rs * c);
      }
    }
  }
}

template <class T>
__global__ void group_norm_backward_channels(T *gw, T *gb, const double *sums, const T *mean, const T *rstd,
                                             tn_norm_geom g) {
  int64_t cg = g.c / g.groups;
  TNC_GRID_LOOP(ch, g.c) {
    double sw = 0, sb = 0;
    for (int64_t img = 0; img < g.n; img++) {
      int64_t u = img * g.groups + ch / cg;
      double ds = sums[2 * (img * g.c + ch)], db = sums[2 * (img * g.c + ch) + 1];
      sw += (double)rstd[u] * (ds - (double)mean[u] * db);
      sb += db;
    }
    if (gw) gw[ch] = (T)sw;
    if (gb) gb[ch] = (T)sb;
  }
}

int cuda_group_norm(tn_tensor *y, tn_tensor *mean, tn_tensor *rstd, const tn_tensor *x, const tn_tensor *w,
                    const tn_tensor *b, const tn_norm_geom *g) {
  cudaStream_t s = tnc_stream("group_norm", x);
  if (!s) return -1;
  if (g->n * g->groups == 0) return 0;
  unsigned blocks = row_blocks(g->n * g->groups);
  if (x->dtype == TN_FLOAT64)
    group_norm_blocks<double><<<blocks, NB, 0, s>>>(PTR(double, y), PTR(double, mean), PTR(double, rstd),
                                                    PTR(const double, x), PTR(const double, w), PTR(const double, b),
                                                    *g);
  else
    group_norm_blocks<float><<<blocks, NB, 0, s>>>(PTR(float, y), PTR(float, mean), PTR(float, rstd),
                                                   PTR(const float, x), PTR(const float, w), PTR(const float, b), *g);
  return tnc_check("group_norm");
}

int cuda_group_norm_backward(tn_tensor *gx, tn_tensor *gw, tn_tensor *gb, const tn_tensor *gy, const tn_tensor *x,
                             const tn_tensor *mean, const tn_tensor *rstd, const tn_tensor *w, const tn_norm_geom *g) {
  const char *fn = "group_norm_backward";
  cudaStream_t s = tnc_stream(fn, gy);
  if (!s) return -1;
  if (g->n * g->c == 0) return 0;
  int device = tnc_device(gy);
  int64_t bytes = 2 * g->n * g->c * (int64_t)sizeof(double);
  double *sums = (double *)tnc_scratch(device, bytes);
  if (!sums) return -1;
  unsigned blocks = row_blocks(g->n * g->groups);
  if (gy->dtype == TN_FLOAT64) {
    group_norm_backward_blocks<double><<<blocks, NB, 0, s>>>(PTR(double, gx), sums, PTR(const double, gy),
                                                             PTR(const double, x), PTR(const double, mean),
                                                             PTR(const double, rstd), PTR(const double, w), *g);
    if (gw || gb)
      group_norm_backward_channels<double><<<tnc_blocks(g->c), TNC_THREADS, 0, s>>>(
          PTR(double, gw), PTR(double, gb), sums, PTR(const double, mean), PTR(const double, rstd), *g);
  } else {
    group_norm_backward_blocks<float><<<blocks, NB, 0, s>>>(PTR(float, gx), sums, PTR(const float, gy),
                                                            PTR(const float, x), PTR(const float, mean),
                                                            PTR(const float, rstd), PTR(const float, w), *g);
    if (gw || gb)
      group_norm_backward_channels<float><<<tnc_blocks(g->c), TNC_THREADS, 0, s>>>(
          PTR(float, gw), PTR(float, gb), sums, PTR(const float, mean), PTR(const float, rstd), *g);
  }
  int rc = tnc_check(fn);
  tnc_scratch_free(device, sums, bytes);
  return rc;
}

} // namespace

void tnc_register_nn_norm(tn_backend *b) {
  b->layer_norm = cuda_layer_norm;
  b->layer_norm_backward = cuda_layer_norm_backward;
  b->batch_norm = cuda_batch_norm;
  b->batch_norm_backward = cuda_batch_norm_backward;
  b->group_norm = cuda_group_norm;
  b->group_norm_backward = cuda_group_norm_backward;
}
