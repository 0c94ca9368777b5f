/* nn_pool.cu: 2-d max, average and adaptive pooling and their backward (float32 and float64, contiguous),
 * following lib/cpu/pool_tmpl.h.
 *
 * Forward kernels run a thread per output element. The backward of average pooling runs a thread per input
 * element gathering the outputs whose windows cover it (deterministic, no atomics); the backward of max
 * pooling (also adaptive max pooling's) adds each gradient at its saved index with atomicAdd. Unlike the CPU,
 * a saved index outside the plane is skipped rather than reported: checking it would cost a synchronisation
 * in every training step that pools (the indices normally come from the forward). */
#include "ops.cuh"

namespace {

#define PTR(T, t) ((t) ? (T *)tn_base(t) : (T *)NULL)

__device__ __forceinline__ int64_t adaptive_start(int64_t i, int64_t n, int64_t len) { return i * len / n; }
__device__ __forceinline__ int64_t adaptive_end(int64_t i, int64_t n, int64_t len) {
  return ((i + 1) * len + n - 1) / n;
}

/* the first maximum wins, a NaN always takes over (the last NaN wins); a window of -inf reports its first
 * element */
template <class T>
__global__ void max_pool_kernel(T *out, int64_t *indices, const T *x, tn_pool_geom g, int64_t base, int adaptive) {
  TNC_GRID_LOOP(k, g.planes * g.oh * g.ow) {
    int64_t ow = k % g.ow, oh = (k / g.ow) % g.oh, plane = k / (g.ow * g.oh);
    const T *xp = x + plane * g.h * g.w;
    int64_t h0, h1, w0, w1, dh = 1, dw = 1;
    if (adaptive) {
      h0 = adaptive_start(oh, g.oh, g.h), h1 = adaptive_end(oh, g.oh, g.h);
      w0 = adaptive_start(ow, g.ow, g.w), w1 = adaptive_end(ow, g.ow, g.w);
    } else {
      dh = g.dh, dw = g.dw;
      h0 = oh * g.sh - g.ph, h1 = h0 + (g.kh - 1) * g.dh + 1;
      w0 = ow * g.sw - g.pw, w1 = w0 + (g.kw - 1) * g.dw + 1;
      if (h1 > g.h) h1 = g.h;
      if (w1 > g.w) w1 = g.w;
      while (h0 < 0) h0 += g.dh;
      while (w0 < 0) w0 += g.dw;
    }
    int64_t best = h0 * g.w + w0;
    T v = -INFINITY;
    for (int64_t ih = h0; ih < h1; ih += dh)
      for (int64_t iw = w0; iw < w1; iw += dw) {
        T e = xp[ih * g.w + iw];
        if (e > v || e != e) v = e, best = ih * g.w + iw;
      }
    out[k] = v;
    indices[k] = best + base;
  }
}

template <class T>
__global__ void max_pool_backward_kernel(T *grad_x, const T *grad_out, const int64_t *indices, tn_pool_geom g,
                                         int64_t base) {
  int64_t in_plane = g.h * g.w, out_plane = g.oh * g.ow;
  TNC_GRID_LOOP(k, g.planes * out_plane) {
    uint64_t at = (uint64_t)(indices[k] - base);
    if (at >= (uint64_t)in_plane) continue;
    atomicAdd(grad_x + (k / out_plane) * in_plane + (int64_t)at, grad_out[k]);
  }
}

/* the window of output (oh, ow) for average pooling clipped to the input, and its divisor */
__device__ __forceinline__ double avg_window(const tn_pool_geom &g, int64_t oh, int64_t ow, int64_t *h0, int64_t *h1,
                                             int64_t *w0, int64_t *w1) {
  int64_t hs = oh * g.sh - g.ph, ws = ow * g.sw - g.pw;
  int64_t he = hs + g.kh < g.h + g.ph ? hs + g.kh : g.h + g.ph;
  int64_t we = ws + g.kw < g.w + g.pw ? ws + g.kw : g.w + g.pw;
  int64_t padded = (he - hs) * (we - ws);
  hs = hs < 0 ? 0 : hs;
  ws = ws < 0 ? 0 : ws;
  he = he < g.h ? he : g.h;
  we = we < g.w ? we : g.w;
  *h0 = hs, *h1 = he, *w0 = ws, *w1 = we;
  if (g.divisor) return (double)g.divisor;
  return (double)(g.count_include_pad ? padded : (he - hs) * (we - ws));
}

template <class T>
__global__ void avg_pool_kernel(T *out, const T *x, tn_pool_geom g) {
  TNC_GRID_LOOP(k, g.planes * g.oh * g.ow) {
    int64_t ow = k % g.ow, oh = (k / g.ow) % g.oh, plane = k / (g.ow * g.oh);
    const T *xp = x + plane * g.h * g.w;
    int64_t h0, h1, w0, w1;
    T div = (T)avg_window(g, oh, ow, &h0, &h1, &w0, &w1), s = 0;
    for (int64_t ih = h0; ih < h1; ih++)
      for (int64_t iw = w0; iw < w1; iw++) s += xp[ih * g.w + iw];
    out[k] = h0 < h1 && w0 < w1 ? s / div : (T)0;
  }
}

/* the outputs o whose window [o * stride - pad, o * stride - pad + k) holds input position i */
__device__ __forceinline__ void covering(int64_t i, int64_t stride, int64_t pad, int64_t k, int64_t n, int64_t *lo,
                                         int64_t *hi) {
  int64_t a = i + pad - k + 1;
  *lo = a <= 0 ? 0 : (a + stride - 1) / stride;
  int64_t b = (i + pad) / stride + 1;
  *hi = b < n ? b : n;
}

template <class T>
__global__ void avg_pool_backward_kernel(T *grad_x, const T *grad_out, tn_pool_geom g) {
  TNC_GRID_LOOP(k, g.planes * g.h * g.w) {
    int64_t iw = k % g.w, ih = (k / g.w) % g.h, plane = k / (g.w * g.h);
    const T *go = grad_out + plane * g.oh * g.ow;
    int64_t oh0, oh1, ow0, ow1;
    covering(ih, g.sh, g.ph, g.kh, g.oh, &oh0, &oh1);
    covering(iw, g.sw, g.pw, g.kw, g.ow, &ow0, &ow1);
    T s = 0;
    for (int64_t oh = oh0; oh < oh1; oh++)
      for (int64_t ow = ow0; ow < ow1; ow++) {
        int64_t h0, h1, w0, w1;
        T div = (T)avg_window(g, oh, ow, &h0, &h1, &w0, &w1);
        if (ih >= h0 && ih < h1 && iw >= w0 && iw < w1) s += go[oh * g.ow + ow] / div;
      }
    grad_x[k] = s;
  }
}

template <class T>
__global__ void adaptive_avg_kernel(T *out, const T *x, tn_pool_geom g) {
  TNC_GRID_LOOP(k, g.planes * g.oh * g.ow) {
    int64_t ow = k % g.ow, oh = (k / g.ow) % g.oh, plane = k / (g.ow * g.oh);
    const T *xp = x + plane * g.h * g.w;
    int64_t h0 = adaptive_start(oh, g.oh, g.h), h1 = adaptive_end(oh, g.oh, g.h);
    int64_t w0 = adaptive_start(ow, g.ow, g.w), w1 = adaptive_end(ow, g.ow, g.w);
    T s = 0;
    for (int64_t ih = h0; ih < h1; ih++)
      for (int64_t iw = w0; iw < w1; iw++) s += xp[ih * g.w + iw];
    out[k] = s / (T)((h1 - h0) * (w1 - w0));
  }
}

template <class T>
__global__ void adaptive_avg_backward_kernel(T *grad_x, const T *grad_out, tn_pool_geom g) {
  TNC_GRID_LOOP(k, g.planes * g.h * g.w) {
    int64_t iw = k % g.w, ih = (k / g.w) % g.h, plane = k / (g.w * g.h);
    const T *go = grad_out + plane * g.oh * g.ow;
    /* the outputs covering ih lie around ih * oh / h */
    int64_t oh0 = ih * g.oh / g.h, ow0 = iw * g.ow / g.w;
    oh0 = oh0 > 0 ? oh0 - 1 : 0, ow0 = ow0 > 0 ? ow0 - 1 : 0;
    T s = 0;
    for (int64_t oh = oh0; oh < g.oh && adaptive_start(oh, g.oh, g.h) <= ih; oh++) {
      int64_t h0 = adaptive_start(oh, g.oh, g.h), h1 = adaptive_end(oh, g.oh, g.h);
      if (ih < h0 || ih >= h1) continue;
      for (int64_t ow = ow0; ow < g.ow && adaptive_start(ow, g.ow, g.w) <= iw; ow++) {
        int64_t w0 = adaptive_start(ow, g.ow, g.w), w1 = adaptive_end(ow, g.ow, g.w);
        if (iw < w0 || iw >= w1) continue;
        s += go[oh * g.ow + ow] / (T)((h1 - h0) * (w1 - w0));
      }
    }
    grad_x[k] = s;
  }
}

int64_t outputs(const tn_pool_geom *g) { return g->planes * g->oh * g->ow; }
int64_t inputs(const tn_pool_geom *g) { return g->planes * g->h * g->w; }

int max_pool(const char *fn, tn_tensor *out, tn_tensor *indices, const tn_tensor *x, const tn_pool_geom *g,
             int64_t base, int adaptive) {
  cudaStream_t s = tnc_stream(fn, x);
  if (!s) return -1;
  if (outputs(g) == 0) return 0;
  unsigned blocks = tnc_blocks(outputs(g));
  if (x->dtype == TN_FLOAT64)
    max_pool_kernel<double><<<blocks, TNC_THREADS, 0, s>>>(PTR(double, out), PTR(int64_t, indices),
                                                           PTR(const double, x), *g, base, adaptive);
  else
    max_pool_kernel<float><<<blocks, TNC_THREADS, 0, s>>>(PTR(float, out), PTR(int64_t, indices),
                                                          PTR(const float, x), *g, base, adaptive);
  return tnc_check(fn);
}

int cuda_max_pool2d(tn_tensor *out, tn_tensor *indices, const tn_tensor *x, const tn_pool_geom *g, int64_t base) {
  return max_pool("max_pool2d", out, indices, x, g, base, 0);
}

int cuda_adaptive_max_pool2d(tn_tensor *out, tn_tensor *indices, const tn_tensor *x, const tn_pool_geom *g,
                             int64_t base) {
  return max_pool("adaptive_max_pool2d", out, indices, x, g, base, 1);
}

int cuda_max_pool2d_backward(tn_tensor *grad_x, const tn_tensor *grad_out, const tn_tensor *indices,
                             const tn_pool_geom *g, int64_t base) {
  const char *fn = "max_pool2d_backward";
  cudaStream_t s = tnc_stream(fn, grad_out);
  if (!s) return -1;
  if (tn_cuda_check(fn, cudaMemsetAsync(tn_base(grad_x), 0,
                                        (size_t)(grad_x->numel * tn_dtype_size(grad_x->dtype)), s)))
    return -1;
  int64_t n = outputs(g);
  if (n == 0) return 0;
  if (grad_x->dtype == TN_FLOAT64)
    max_pool_backward_kernel<double><<<tnc_blocks(n), TNC_THREADS, 0, s>>>(
        PTR(double, grad_x), PTR(const double, grad_out), PTR(const int64_t, indices), *g, base);
  else
    max_pool_backward_kernel<float><<<tnc_blocks(n), TNC_THREADS, 0, s>>>(
        PTR(float, grad_x), PTR(const float, grad_out), PTR(const int64_t, indices), *g, base);
  return tnc_check(fn);
}

int cuda_avg_pool2d(tn_tensor *out, const tn_tensor *x, const tn_pool_geom *g) {
  cudaStream_t s = tnc_stream("avg_pool2d", x);
  if (!s) return -1;
  if (outputs(g) == 0) return 0;
  if (x->dtype == TN_FLOAT64)
    avg_pool_kernel<double><<<tnc_blocks(outputs(g)), TNC_THREADS, 0, s>>>(PTR(double, out), PTR(const double, x), *g);
  else
    avg_pool_kernel<float><<<tnc_blocks(outputs(g)), TNC_THREADS, 0, s>>>(PTR(float, out), PTR(const float, x), *g);
  return tnc_check("avg_pool2d");
}

int cuda_avg_pool2d_backward(tn_tensor *grad_x, const tn_tensor *grad_out, const tn_pool_geom *g) {
  cudaStream_t s = tnc_stream("avg_pool2d_backward", grad_out);
  if (!s) return -1;
  if (inputs(g) == 0) return 0;
  if (grad_x->dtype == TN_FLOAT64)
    avg_pool_backward_kernel<double><<<tnc_blocks(inputs(g)), TNC_THREADS, 0, s>>>(
        PTR(double, grad_x), PTR(const double, grad_out), *g);
  else
    avg_pool_backward_kernel<float><<<tnc_blocks(inputs(g)), TNC_THREADS, 0, s>>>(
        PTR(float, grad_x), PTR(const float, grad_out), *g);
  return tnc_check("avg_pool2d_backward");
}

int cuda_adaptive_avg_pool2d(tn_tensor *out, const tn_tensor *x, const tn_pool_geom *g) {
  cudaStream_t s = tnc_stream("adaptive_avg_pool2d", x);
  if (!s) return -1;
  if (outputs(g) == 0) return 0;
  if (x->dtype == TN_FLOAT64)
    adaptive_avg_kernel<double><<<tnc_blocks(outputs(g)), TNC_THREADS, 0, s>>>(PTR(double, out),
                                                                               PTR(const double, x), *g);
  else
    adaptive_avg_kernel<float><<<tnc_blocks(outputs(g)), TNC_THREADS, 0, s>>>(PTR(float, out), PTR(const float, x),
                                                                              *g);
  return tnc_check("adaptive_avg_pool2d");
}

int cuda_adaptive_avg_pool2d_backward(tn_tensor *grad_x, const tn_tensor *grad_out, const tn_pool_geom *g) {
  cudaStream_t s = tnc_stream("adaptive_avg_pool2d_backward", grad_out);
  if (!s) return -1;
  if (inputs(g) == 0) return 0;
  if (grad_x->dtype == TN_FLOAT64)
    adaptive_avg_backward_kernel<double><<<tnc_blocks(inputs(g)), TNC_THREADS, 0, s>>>(
        PTR(double, grad_x), PTR(const double, grad_out), *g);
  else
    adaptive_avg_backward_kernel<float><<<tnc_blocks(inputs(g)), TNC_THREADS, 0, s>>>(
        PTR(float, grad_x), PTR(const float, grad_out), *g);
  return tnc_check("adaptive_avg_pool2d_backward");
}

} // namespace

void tnc_register_nn_pool(tn_backend *b) {
  b->max_pool2d = cuda_max_pool2d;
  b->max_pool2d_backward = cuda_max_pool2d_backward;
  b->avg_pool2d = cuda_avg_pool2d;
  b->avg_pool2d_backward = cuda_avg_pool2d_backward;
  b->adaptive_avg_pool2d = cuda_adaptive_avg_pool2d;
  b->adaptive_avg_pool2d_backward = cuda_adaptive_avg_pool2d_backward;
  b->adaptive_max_pool2d = cuda_adaptive_max_pool2d;
}
