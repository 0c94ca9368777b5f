/* nn_pool.cu: max, average and adaptive pooling (1-d to 3-d: planes of d x h x w, d = 1 below 3-d) and their
 * backward (float32 and float64, contiguous), following lib/cpu/pool_tmpl.h.
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

/* Output k's position: plane, od, oh, ow (planes of od x oh x ow). */
struct OutAt {
  int64_t plane, od, oh, ow;
  __device__ OutAt(int64_t k, const tn_pool_geom &g)
      : plane(k / (g.ow * g.oh * g.od)), od((k / (g.ow * g.oh)) % g.od), oh((k / g.ow) % g.oh), ow(k % g.ow) {}
};

/* a max-pooling window along one dim: [*lo, *hi) step dil, clipped to the input (its first element inside) */
__device__ __forceinline__ void max_span(int64_t o, int64_t s, int64_t p, int64_t k, int64_t dil, int64_t n,
                                         int64_t *lo, int64_t *hi) {
  int64_t a = o * s - p, e = a + (k - 1) * dil + 1;
  while (a < 0) a += dil;
  *lo = a;
  *hi = e < n ? e : n;
}

/* the first maximum wins, a NaN always takes over (the last NaN wins); a window of -inf reports its first
 * element. Positions number the plane's volume, (id * h + ih) * w + iw. */
template <class T>
__global__ void max_pool_kernel(T *out, int64_t *indices, const T *x, tn_pool_geom g, int64_t base, int adaptive) {
  TNC_GRID_LOOP(k, g.planes * g.od * g.oh * g.ow) {
    OutAt o(k, g);
    int64_t hw = g.h * g.w;
    const T *xp = x + o.plane * g.d * hw;
    int64_t d0, d1, h0, h1, w0, w1, dd = 1, dh = 1, dw = 1;
    if (adaptive) {
      d0 = adaptive_start(o.od, g.od, g.d), d1 = adaptive_end(o.od, g.od, g.d);
      h0 = adaptive_start(o.oh, g.oh, g.h), h1 = adaptive_end(o.oh, g.oh, g.h);
      w0 = adaptive_start(o.ow, g.ow, g.w), w1 = adaptive_end(o.ow, g.ow, g.w);
    } else {
      dd = g.dd, dh = g.dh, dw = g.dw;
      max_span(o.od, g.sd, g.pd, g.kd, g.dd, g.d, &d0, &d1);
      max_span(o.oh, g.sh, g.ph, g.kh, g.dh, g.h, &h0, &h1);
      max_span(o.ow, g.sw, g.pw, g.kw, g.dw, g.w, &w0, &w1);
    }
    int64_t best = d0 * hw + h0 * g.w + w0;
    T v = -INFINITY;
    for (int64_t id = d0; id < d1; id += dd)
      for (int64_t ih = h0; ih < h1; ih += dh)
        for (int64_t iw = w0; iw < w1; iw += dw) {
          int64_t at = id * hw + ih * g.w + iw;
          T e = xp[at];
          if (e > v || e != e) v = e, best = at;
        }
    out[k] = v;
    indices[k] = best + base;
  }
}

template <class T>
__global__ void max_pool_backward_kernel(T *grad_x, const T *grad_out, const int64_t *indices, tn_pool_geom g,
                                         int64_t base) {
  int64_t in_plane = g.d * g.h * g.w, out_plane = g.od * g.oh * g.ow;
  TNC_GRID_LOOP(k, g.planes * out_plane) {
    uint64_t at = (uint64_t)(indices[k] - base);
    if (at >= (uint64_t)in_plane) continue;
    atomicAdd(grad_x + (k / out_plane) * in_plane + (int64_t)at, grad_out[k]);
  }
}

/* an average-pooling window along one dim, clipped to the input; returns its size clipped to the input plus
 * padding (count_include_pad's count) */
__device__ __forceinline__ int64_t avg_span(int64_t o, int64_t s, int64_t p, int64_t k, int64_t n, int64_t *lo,
                                            int64_t *hi) {
  int64_t a = o * s - p, e = a + k < n + p ? a + k : n + p;
  *lo = a < 0 ? 0 : a;
  *hi = e < n ? e : n;
  return e - a;
}

/* the window of output (od, oh, ow) for average pooling clipped to the input (b: d0, d1, h0, h1, w0, w1), and
 * its divisor */
__device__ __forceinline__ double avg_window(const tn_pool_geom &g, int64_t od, int64_t oh, int64_t ow, int64_t *b) {
  int64_t padded = avg_span(od, g.sd, g.pd, g.kd, g.d, b, b + 1) * avg_span(oh, g.sh, g.ph, g.kh, g.h, b + 2, b + 3) *
                   avg_span(ow, g.sw, g.pw, g.kw, g.w, b + 4, b + 5);
  if (g.divisor) return (double)g.divisor;
  return (double)(g.count_include_pad ? padded : (b[1] - b[0]) * (b[3] - b[2]) * (b[5] - b[4]));
}

template <class T>
__global__ void avg_pool_kernel(T *out, const T *x, tn_pool_geom g) {
  TNC_GRID_LOOP(k, g.planes * g.od * g.oh * g.ow) {
    OutAt o(k, g);
    int64_t hw = g.h * g.w, b[6];
    const T *xp = x + o.plane * g.d * hw;
    T div = (T)avg_window(g, o.od, o.oh, o.ow, b), s = 0;
    for (int64_t id = b[0]; id < b[1]; id++)
      for (int64_t ih = b[2]; ih < b[3]; ih++)
        for (int64_t iw = b[4]; iw < b[5]; iw++) s += xp[id * hw + ih * g.w + iw];
    out[k] = b[0] < b[1] && b[2] < b[3] && b[4] < b[5] ? s / div : (T)0;
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
  TNC_GRID_LOOP(k, g.planes * g.d * g.h * g.w) {
    int64_t iw = k % g.w, ih = (k / g.w) % g.h, id = (k / (g.w * g.h)) % g.d, plane = k / (g.w * g.h * g.d);
    const T *go = grad_out + plane * g.od * g.oh * g.ow;
    int64_t od0, od1, oh0, oh1, ow0, ow1;
    covering(id, g.sd, g.pd, g.kd, g.od, &od0, &od1);
    covering(ih, g.sh, g.ph, g.kh, g.oh, &oh0, &oh1);
    covering(iw, g.sw, g.pw, g.kw, g.ow, &ow0, &ow1);
    T s = 0;
    for (int64_t od = od0; od < od1; od++)
      for (int64_t oh = oh0; oh < oh1; oh++)
        for (int64_t ow = ow0; ow < ow1; ow++) {
          int64_t b[6];
          T div = (T)avg_window(g, od, oh, ow, b);
          if (id >= b[0] && id < b[1] && ih >= b[2] && ih < b[3] && iw >= b[4] && iw < b[5])
            s += go[(od * g.oh + oh) * g.ow + ow] / div;
        }
    grad_x[k] = s;
  }
}

template <class T>
__global__ void adaptive_avg_kernel(T *out, const T *x, tn_pool_geom g) {
  TNC_GRID_LOOP(k, g.planes * g.od * g.oh * g.ow) {
    OutAt o(k, g);
    int64_t hw = g.h * g.w;
    const T *xp = x + o.plane * g.d * hw;
    int64_t d0 = adaptive_start(o.od, g.od, g.d), d1 = adaptive_end(o.od, g.od, g.d);
    int64_t h0 = adaptive_start(o.oh, g.oh, g.h), h1 = adaptive_end(o.oh, g.oh, g.h);
    int64_t w0 = adaptive_start(o.ow, g.ow, g.w), w1 = adaptive_end(o.ow, g.ow, g.w);
    T s = 0;
    for (int64_t id = d0; id < d1; id++)
      for (int64_t ih = h0; ih < h1; ih++)
        for (int64_t iw = w0; iw < w1; iw++) s += xp[id * hw + ih * g.w + iw];
    out[k] = s / (T)((d1 - d0) * (h1 - h0) * (w1 - w0));
  }
}

/* the outputs o of n (over an input of len) whose adaptive window holds i: they lie around i * n / len */
__device__ __forceinline__ int64_t adaptive_first(int64_t i, int64_t n, int64_t len) {
  int64_t o = i * n / len;
  return o > 0 ? o - 1 : 0;
}

template <class T>
__global__ void adaptive_avg_backward_kernel(T *grad_x, const T *grad_out, tn_pool_geom g) {
  TNC_GRID_LOOP(k, g.planes * g.d * g.h * g.w) {
    int64_t iw = k % g.w, ih = (k / g.w) % g.h, id = (k / (g.w * g.h)) % g.d, plane = k / (g.w * g.h * g.d);
    const T *go = grad_out + plane * g.od * g.oh * g.ow;
    T s = 0;
    for (int64_t od = adaptive_first(id, g.od, g.d); od < g.od && adaptive_start(od, g.od, g.d) <= id; od++) {
      int64_t d0 = adaptive_start(od, g.od, g.d), d1 = adaptive_end(od, g.od, g.d);
      if (id < d0 || id >= d1) continue;
      for (int64_t oh = adaptive_first(ih, g.oh, g.h); oh < g.oh && adaptive_start(oh, g.oh, g.h) <= ih; oh++) {
        int64_t h0 = adaptive_start(oh, g.oh, g.h), h1 = adaptive_end(oh, g.oh, g.h);
        if (ih < h0 || ih >= h1) continue;
        for (int64_t ow = adaptive_first(iw, g.ow, g.w); ow < g.ow && adaptive_start(ow, g.ow, g.w) <= iw; ow++) {
          int64_t w0 = adaptive_start(ow, g.ow, g.w), w1 = adaptive_end(ow, g.ow, g.w);
          if (iw < w0 || iw >= w1) continue;
          s += go[(od * g.oh + oh) * g.ow + ow] / (T)((d1 - d0) * (h1 - h0) * (w1 - w0));
        }
      }
    }
    grad_x[k] = s;
  }
}

int64_t outputs(const tn_pool_geom *g) { return g->planes * g->od * g->oh * g->ow; }
int64_t inputs(const tn_pool_geom *g) { return g->planes * g->d * g->h * g->w; }

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

int cuda_max_pool(tn_tensor *out, tn_tensor *indices, const tn_tensor *x, const tn_pool_geom *g, int64_t base) {
  return max_pool("max_pool", out, indices, x, g, base, 0);
}

int cuda_adaptive_max_pool(tn_tensor *out, tn_tensor *indices, const tn_tensor *x, const tn_pool_geom *g,
                           int64_t base) {
  return max_pool("adaptive_max_pool", out, indices, x, g, base, 1);
}

int cuda_max_pool_backward(tn_tensor *grad_x, const tn_tensor *grad_out, const tn_tensor *indices,
                           const tn_pool_geom *g, int64_t base) {
  const char *fn = "max_pool_backward";
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

int cuda_avg_pool(tn_tensor *out, const tn_tensor *x, const tn_pool_geom *g) {
  cudaStream_t s = tnc_stream("avg_pool", x);
  if (!s) return -1;
  if (outputs(g) == 0) return 0;
  if (x->dtype == TN_FLOAT64)
    avg_pool_kernel<double><<<tnc_blocks(outputs(g)), TNC_THREADS, 0, s>>>(PTR(double, out), PTR(const double, x), *g);
  else
    avg_pool_kernel<float><<<tnc_blocks(outputs(g)), TNC_THREADS, 0, s>>>(PTR(float, out), PTR(const float, x), *g);
  return tnc_check("avg_pool");
}

int cuda_avg_pool_backward(tn_tensor *grad_x, const tn_tensor *grad_out, const tn_pool_geom *g) {
  cudaStream_t s = tnc_stream("avg_pool_backward", grad_out);
  if (!s) return -1;
  if (inputs(g) == 0) return 0;
  if (grad_x->dtype == TN_FLOAT64)
    avg_pool_backward_kernel<double><<<tnc_blocks(inputs(g)), TNC_THREADS, 0, s>>>(
        PTR(double, grad_x), PTR(const double, grad_out), *g);
  else
    avg_pool_backward_kernel<float><<<tnc_blocks(inputs(g)), TNC_THREADS, 0, s>>>(
        PTR(float, grad_x), PTR(const float, grad_out), *g);
  return tnc_check("avg_pool_backward");
}

int cuda_adaptive_avg_pool(tn_tensor *out, const tn_tensor *x, const tn_pool_geom *g) {
  cudaStream_t s = tnc_stream("adaptive_avg_pool", x);
  if (!s) return -1;
  if (outputs(g) == 0) return 0;
  if (x->dtype == TN_FLOAT64)
    adaptive_avg_kernel<double><<<tnc_blocks(outputs(g)), TNC_THREADS, 0, s>>>(PTR(double, out),
                                                                               PTR(const double, x), *g);
  else
    adaptive_avg_kernel<float><<<tnc_blocks(outputs(g)), TNC_THREADS, 0, s>>>(PTR(float, out), PTR(const float, x),
                                                                              *g);
  return tnc_check("adaptive_avg_pool");
}

int cuda_adaptive_avg_pool_backward(tn_tensor *grad_x, const tn_tensor *grad_out, const tn_pool_geom *g) {
  cudaStream_t s = tnc_stream("adaptive_avg_pool_backward", grad_out);
  if (!s) return -1;
  if (inputs(g) == 0) return 0;
  if (grad_x->dtype == TN_FLOAT64)
    adaptive_avg_backward_kernel<double><<<tnc_blocks(inputs(g)), TNC_THREADS, 0, s>>>(
        PTR(double, grad_x), PTR(const double, grad_out), *g);
  else
    adaptive_avg_backward_kernel<float><<<tnc_blocks(inputs(g)), TNC_THREADS, 0, s>>>(
        PTR(float, grad_x), PTR(const float, grad_out), *g);
  return tnc_check("adaptive_avg_pool_backward");
}

} // namespace

void tnc_register_nn_pool(tn_backend *b) {
  b->max_pool = cuda_max_pool;
  b->max_pool_backward = cuda_max_pool_backward;
  b->avg_pool = cuda_avg_pool;
  b->avg_pool_backward = cuda_avg_pool_backward;
  b->adaptive_avg_pool = cuda_adaptive_avg_pool;
  b->adaptive_avg_pool_backward = cuda_adaptive_avg_pool_backward;
  b->adaptive_max_pool = cuda_adaptive_max_pool;
}
