/* nn_norm.cu: layer, batch and group normalisation and their backward (float32 and float64, contiguous),
 * following lib/cpu/norm_tmpl.h: statistics in two passes (the mean, then the mean squared deviation).
 *
 * Layer norm: a block per row. Batch norm: a block per channel (statistics in float64, then the channel's
 * outputs). Group norm: a block per (image, group). The weight and bias gradients of layer norm are column
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

/* ---- batch norm: x [n x c x s], a block per channel ---- */

template <class T>
__global__ void __launch_bounds__(NB) batch_norm_channels(T *y, T *mean, T *invstd, const T *x, const T *w,
                                                          const T *b, T *running_mean, T *running_var,
                                                          tn_norm_geom g) {
  __shared__ double sh[33];
  int64_t n = g.n, c = g.c, sz = g.s, count = n * sz;
  for (int64_t ch = blockIdx.x; ch < c; ch += gridDim.x) {
    T mu, is;
    if (g.training) {
      double sum = 0, m2 = 0;
      for (int64_t k = threadIdx.x; k < count; k += blockDim.x) sum += (double)x[((k / sz) * c + ch) * sz + k % sz];
      sum = block_sum(sum, sh);
      mu = (T)(sum / (double)count);
      for (int64_t k = threadIdx.x; k < count; k += blockDim.x) {
        double d = (double)(x[((k / sz) * c + ch) * sz + k % sz] - mu);
        m2 += d * d;
      }
      m2 = block_sum(m2, sh);
      is = (T)(1.0 / sqrt(m2 / (double)count + g.eps));
      if (threadIdx.x == 0) {
        if (running_mean) running_mean[ch] = (T)((1 - g.momentum) * running_mean[ch] + g.momentum * mu);
        if (running_var)
          running_var[ch] =
              (T)((1 - g.momentum) * running_var[ch] + g.momentum * (m2 / (double)(count > 1 ? count - 1 : 1)));
      }
    } else {
      mu = running_mean[ch];
      is = (T)(1.0 / sqrt((double)running_var[ch] + g.eps));
    }
    if (threadIdx.x == 0) mean[ch] = mu, invstd[ch] = is;
    T scale = is * (w ? w[ch] : (T)1), shift = (b ? b[ch] : (T)0) - mu * scale;
    for (int64_t k = threadIdx.x; k < count; k += blockDim.x) {
      int64_t at = ((k / sz) * c + ch) * sz + k % sz;
      y[at] = x[at] * scale + shift;
    }
    __syncthreads();
  }
}

template <class T>
__global__ void __launch_bounds__(NB) batch_norm_backward_channels(T *gx, T *gw, T *gb, const T *gy, const T *x,
                                                                   const T *w, const T *mean, const T *invstd,
                                                                   tn_norm_geom g) {
  __shared__ double sh[33];
  int64_t n = g.n, c = g.c, sz = g.s, count = n * sz;
  for (int64_t ch = blockIdx.x; ch < c; ch += gridDim.x) {
    T mu = mean[ch], is = invstd[ch];
    double sg = 0, sgx = 0;
    for (int64_t k = threadIdx.x; k < count; k += blockDim.x) {
      int64_t at = ((k / sz) * c + ch) * sz + k % sz;
      sg += (double)gy[at];
      sgx += (double)(gy[at] * (x[at] - mu));
    }
    sg = block_sum(sg, sh);
    sgx = block_sum(sgx, sh);
    if (threadIdx.x == 0) {
      if (gw) gw[ch] = (T)(sgx * is);
      if (gb) gb[ch] = (T)sg;
    }
    if (gx) {
      T k2 = is * (w ? w[ch] : (T)1);
      T mg = g.training ? (T)(sg / (double)count) : (T)0;
      T mx = g.training ? (T)(sgx * is * is / (double)count) : (T)0;
      for (int64_t k = threadIdx.x; k < count; k += blockDim.x) {
        int64_t at = ((k / sz) * c + ch) * sz + k % sz;
        gx[at] = k2 * (gy[at] - mg - (x[at] - mu) * mx);
      }
    }
    __syncthreads();
  }
}

int cuda_batch_norm(tn_tensor *y, tn_tensor *mean, tn_tensor *invstd, const tn_tensor *x, const tn_tensor *w,
                    const tn_tensor *b, tn_tensor *running_mean, tn_tensor *running_var, const tn_norm_geom *g) {
  cudaStream_t s = tnc_stream("batch_norm", x);
  if (!s) return -1;
  if (g->c == 0) return 0;
  unsigned blocks = row_blocks(g->c);
  if (x->dtype == TN_FLOAT64)
    batch_norm_channels<double><<<blocks, NB, 0, s>>>(PTR(double, y), PTR(double, mean), PTR(double, invstd),
                                                      PTR(const double, x), PTR(const double, w),
                                                      PTR(const double, b), PTR(double, running_mean),
                                                      PTR(double, running_var), *g);
  else
    batch_norm_channels<float><<<blocks, NB, 0, s>>>(PTR(float, y), PTR(float, mean), PTR(float, invstd),
                                                     PTR(const float, x), PTR(const float, w), PTR(const float, b),
                                                     PTR(float, running_mean), PTR(float, running_var), *g);
  return tnc_check("batch_norm");
}

int cuda_batch_norm_backward(tn_tensor *gx, tn_tensor *gw, tn_tensor *gb, const tn_tensor *gy, const tn_tensor *x,
                             const tn_tensor *w, const tn_tensor *mean, const tn_tensor *invstd,
                             const tn_norm_geom *g) {
  cudaStream_t s = tnc_stream("batch_norm_backward", gy);
  if (!s) return -1;
  if (g->c == 0) return 0;
  unsigned blocks = row_blocks(g->c);
  if (gy->dtype == TN_FLOAT64)
    batch_norm_backward_channels<double><<<blocks, NB, 0, s>>>(
        PTR(double, gx), PTR(double, gw), PTR(double, gb), PTR(const double, gy), PTR(const double, x),
        PTR(const double, w), PTR(const double, mean), PTR(const double, invstd), *g);
  else
    batch_norm_backward_channels<float><<<blocks, NB, 0, s>>>(
        PTR(float, gx), PTR(float, gw), PTR(float, gb), PTR(const float, gy), PTR(const float, x),
        PTR(const float, w), PTR(const float, mean), PTR(const float, invstd), *g);
  return tnc_check("batch_norm_backward");
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
