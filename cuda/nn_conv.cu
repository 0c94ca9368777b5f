/* nn_conv.cu: convolution (1-d to 3-d) forward and both backward kernels, through cuDNN where it takes them
 * (conv_cudnn.cu), else by im2col / col2im over volumes and cuBLAS; and the registration of every nn family
 * (tn_cuda_register_nn). A 2-d convolution is the one-slice case of the 3-d geometry (tn_conv_geom).
 *
 * Images are processed in chunks of B (the scratch kept under ~256 MB). For a chunk, the columns are laid out
 * as one matrix col [c_in*kd*kh*kw x B*P] (P = od*oh*ow; column b*P + p is output position p of image b), so
 * that each group is ONE product over the whole chunk, the groups being a strided batch:
 *   forward          tmp[c_out x B*P] = W_g @ col_g, then out[b, co, p] = tmp[co, b*P + p] + bias[co]
 *   backward_input   col_g = W_g^T @ got_g (got = grad_out as [c_out x B*P]), then col2im (a gather per input
 *                    element: deterministic, no atomics)
 *   backward_weight  grad_w_g (+)= got_g @ col_g^T, chunk after chunk
 * The bias gradient is a block per output channel summing grad_out in float64. */
#include "conv_cudnn.h"
#include "ops.cuh"

namespace {

#define PTR(T, t) ((t) ? (T *)tn_base(t) : (T *)NULL)

/* col[((ci*kd + t)*kh + a)*kw + b][bi*P + p] = x[b0 + bi, ci, l*sd - pf + t*dd, i*sh - pt + a*dh, j*sw - pl + b*dw]
 * for output position p = (l, i, j) (0 outside) */
template <class T>
__global__ void im2col_kernel(T *col, const T *x, tn_conv_geom g, int64_t b0, int64_t nb) {
  int64_t P = g.od * g.oh * g.ow, BP = nb * P, rows = g.c_in * g.kd * g.kh * g.kw;
  TNC_GRID_LOOP(k, rows * BP) {
    int64_t q = k % BP, r = k / BP;
    int64_t bi = q / P, p = q % P, j = p % g.ow, i = (p / g.ow) % g.oh, l = p / (g.ow * g.oh);
    int64_t b = r % g.kw, a = (r / g.kw) % g.kh, t = (r / (g.kw * g.kh)) % g.kd, ci = r / (g.kw * g.kh * g.kd);
    int64_t id = l * g.sd - g.pf + t * g.dd, ih = i * g.sh - g.pt + a * g.dh, iw = j * g.sw - g.pl + b * g.dw;
    bool inside = id >= 0 && id < g.d && ih >= 0 && ih < g.h && iw >= 0 && iw < g.w;
    col[k] = inside ? x[((((b0 + bi) * g.c_in + ci) * g.d + id) * g.h + ih) * g.w + iw] : (T)0;
  }
}

/* gx[b0 + bi, ci, id, ih, iw] = the sum of the columns that read it */
template <class T>
__global__ void col2im_kernel(T *gx, const T *col, tn_conv_geom g, int64_t b0, int64_t nb) {
  int64_t P = g.od * g.oh * g.ow, BP = nb * P, vol = g.d * g.h * g.w;
  TNC_GRID_LOOP(k, nb * g.c_in * vol) {
    int64_t iw = k % g.w, ih = (k / g.w) % g.h, id = (k / (g.w * g.h)) % g.d;
    int64_t ci = (k / vol) % g.c_in, bi = k / (vol * g.c_in);
    T s = 0;
    for (int64_t t = 0; t < g.kd; t++) {
      int64_t tl = id + g.pf - t * g.dd;
      if (tl < 0 || tl % g.sd) continue;
      int64_t l = tl / g.sd;
      if (l >= g.od) continue;
      for (int64_t a = 0; a < g.kh; a++) {
        int64_t ti = ih + g.pt - a * g.dh;
        if (ti < 0 || ti % g.sh) continue;
        int64_t i = ti / g.sh;
        if (i >= g.oh) continue;
        for (int64_t b = 0; b < g.kw; b++) {
          int64_t tj = iw + g.pl - b * g.dw;
          if (tj < 0 || tj % g.sw) continue;
          int64_t j = tj / g.sw;
          if (j >= g.ow) continue;
          s += col[(((ci * g.kd + t) * g.kh + a) * g.kw + b) * BP + bi * P + (l * g.oh + i) * g.ow + j];
        }
      }
    }
    gx[b0 * g.c_in * vol + k] = s;
  }
}

/* out[b0 + bi, co, p] = tmp[co, bi*P + p] (+ bias[co]) */
template <class T>
__global__ void unfold_out_kernel(T *out, const T *tmp, const T *bias, int64_t c, int64_t P, int64_t b0, int64_t nb) {
  TNC_GRID_LOOP(k, nb * c * P) {
    int64_t p = k % P, co = (k / P) % c, bi = k / (P * c);
    T v = tmp[co * nb * P + bi * P + p];
    out[(b0 * c) * P + k] = bias ? v + bias[co] : v;
  }
}

/* got[co, bi*P + p] = go[b0 + bi, co, p] */
template <class T>
__global__ void fold_grad_kernel(T *got, const T *go, int64_t c, int64_t P, int64_t b0, int64_t nb) {
  TNC_GRID_LOOP(k, nb * c * P) {
    int64_t p = k % P, co = (k / P) % c, bi = k / (P * c);
    got[co * nb * P + bi * P + p] = go[(b0 * c) * P + k];
  }
}

/* The bias gradient: the sum of grad_out over each channel, by parts (tnc_for_channel_part) in float64, the
 * parts then added in order. */
template <class T>
__global__ void bias_grad_parts(double *partial, const T *go, int64_t n, int64_t c, int64_t P, int parts) {
  __shared__ double sh[33];
  for (int64_t co = blockIdx.x; co < c; co += gridDim.x) {
    double s = 0;
    tnc_for_channel_part(n, c, P, co, blockIdx.y, parts, [&](int64_t at) { s += (double)go[at]; });
    s = block_sum(s, sh);
    if (threadIdx.x == 0) partial[co * parts + blockIdx.y] = s;
  }
}

template <class T> __global__ void bias_grad_total(T *gb, const double *partial, int64_t c, int parts) {
  TNC_GRID_LOOP(co, c) {
    double s = 0;
    for (int k = 0; k < parts; k++) s += partial[co * parts + k];
    gb[co] = (T)s;
  }
}

template <class T>
int bias_grad(const char *fn, cudaStream_t s, int device, T *gb, const T *go, const tn_conv_geom *g) {
  int64_t c = g->c_out, P = g->od * g->oh * g->ow;
  if (c == 0) return 0;
  int parts = tnc_channel_parts(tnc_sm_count(device), g->n, c);
  int64_t bytes = c * parts * (int64_t)sizeof(double);
  double *partial = (double *)tnc_scratch(device, bytes);
  if (!partial) return -1;
  bias_grad_parts<T><<<dim3((unsigned)(c < 65535 ? c : 65535), (unsigned)parts), 256, 0, s>>>(partial, go, g->n, c,
                                                                                               P, parts);
  bias_grad_total<T><<<tnc_blocks(c), TNC_THREADS, 0, s>>>(gb, partial, c, parts);
  tnc_scratch_free(device, partial, bytes);
  return tnc_check(fn);
}

/* images per chunk: the column matrix and one product result of a chunk under about 256 MB */
int64_t chunk_images(const tn_conv_geom *g, int64_t esize) {
  int64_t P = g->od * g->oh * g->ow, per = (g->c_in * g->kd * g->kh * g->kw + g->c_out) * P * esize;
  int64_t b = per > 0 ? ((int64_t)256 << 20) / per : g->n;
  if (b < 1) b = 1;
  if (b > g->n) b = g->n;
  while (b > 1 && b * P > INT32_MAX) b /= 2;
  return b;
}

struct Buffers {
  int device;
  void *col = NULL, *tmp = NULL;
  int64_t col_bytes = 0, tmp_bytes = 0;
  ~Buffers() {
    tnc_scratch_free(device, col, col_bytes);
    tnc_scratch_free(device, tmp, tmp_bytes);
  }
  bool get(int64_t cb, int64_t tb) {
    col_bytes = cb, tmp_bytes = tb;
    return (!cb || (col = tnc_scratch(device, cb))) && (!tb || (tmp = tnc_scratch(device, tb)));
  }
};

template <class T>
int conv_forward(const char *fn, cudaStream_t s, tn_tensor *out, const tn_tensor *x, const tn_tensor *w,
                 const tn_tensor *bias, const tn_conv_geom *g) {
  int64_t es = (int64_t)sizeof(T), P = g->od * g->oh * g->ow, G = g->groups;
  int64_t cig = g->c_in / G, cog = g->c_out / G, K = cig * g->kd * g->kh * g->kw, B = chunk_images(g, es);
  Buffers buf{tnc_device(x)};
  if (!buf.get(g->c_in * g->kd * g->kh * g->kw * B * P * es, g->c_out * B * P * es)) return -1;
  T *col = (T *)buf.col, *tmp = (T *)buf.tmp;
  for (int64_t b0 = 0; b0 < g->n; b0 += B) {
    int64_t nb = g->n - b0 < B ? g->n - b0 : B, BP = nb * P;
    im2col_kernel<T><<<tnc_blocks(g->c_in * g->kd * g->kh * g->kw * BP), TNC_THREADS, 0, s>>>(col, PTR(const T, x),
                                                                                              *g, b0, nb);
    if (tnc_check(fn)) return -1;
    if (tnc_gemm_rowmajor(fn, x, x->dtype, false, false, cog, BP, K, 1.0, tn_base(w), K, cog * K, col, BP, K * BP,
                          0.0, tmp, BP, cog * BP, G))
      return -1;
    unfold_out_kernel<T><<<tnc_blocks(nb * g->c_out * P), TNC_THREADS, 0, s>>>(PTR(T, out), tmp, PTR(const T, bias),
                                                                               g->c_out, P, b0, nb);
    if (tnc_check(fn)) return -1;
  }
  return 0;
}

template <class T>
int conv_backward_input(const char *fn, cudaStream_t s, tn_tensor *gx, const tn_tensor *go, const tn_tensor *w,
                        const tn_conv_geom *g) {
  int64_t es = (int64_t)sizeof(T), P = g->od * g->oh * g->ow, G = g->groups;
  int64_t cig = g->c_in / G, cog = g->c_out / G, K = cig * g->kd * g->kh * g->kw, B = chunk_images(g, es);
  Buffers buf{tnc_device(go)};
  if (!buf.get(g->c_in * g->kd * g->kh * g->kw * B * P * es, g->c_out * B * P * es)) return -1;
  T *col = (T *)buf.col, *got = (T *)buf.tmp;
  for (int64_t b0 = 0; b0 < g->n; b0 += B) {
    int64_t nb = g->n - b0 < B ? g->n - b0 : B, BP = nb * P;
    fold_grad_kernel<T><<<tnc_blocks(nb * g->c_out * P), TNC_THREADS, 0, s>>>(got, PTR(const T, go), g->c_out, P, b0,
                                                                              nb);
    if (tnc_check(fn)) return -1;
    if (tnc_gemm_rowmajor(fn, go, go->dtype, true, false, K, BP, cog, 1.0, tn_base(w), K, cog * K, got, BP, cog * BP,
                          0.0, col, BP, K * BP, G))
      return -1;
    col2im_kernel<T><<<tnc_blocks(nb * g->c_in * g->d * g->h * g->w), TNC_THREADS, 0, s>>>(PTR(T, gx), col, *g, b0,
                                                                                            nb);
    if (tnc_check(fn)) return -1;
  }
  return 0;
}

template <class T>
int conv_backward_weight(const char *fn, cudaStream_t s, tn_tensor *gw, tn_tensor *gb, const tn_tensor *go,
                         const tn_tensor *x, const tn_conv_geom *g) {
  int64_t P = g->od * g->oh * g->ow;
  if (gb && bias_grad<T>(fn, s, tnc_device(go), PTR(T, gb), PTR(const T, go), g)) return -1;
  if (!gw) return 0;
  int done = tnc_cudnn_conv_backward_weight(gw, go, x, g);
  if (done <= 0) return done;
  int64_t es = (int64_t)sizeof(T), G = g->groups;
  int64_t cig = g->c_in / G, cog = g->c_out / G, K = cig * g->kd * g->kh * g->kw, B = chunk_images(g, es);
  if (g->n == 0 || P == 0)
    return tn_cuda_check(fn, cudaMemsetAsync(tn_base(gw), 0, (size_t)(gw->numel * es), s));
  Buffers buf{tnc_device(go)};
  if (!buf.get(g->c_in * g->kd * g->kh * g->kw * B * P * es, g->c_out * B * P * es)) return -1;
  T *col = (T *)buf.col, *got = (T *)buf.tmp;
  for (int64_t b0 = 0; b0 < g->n; b0 += B) {
    int64_t nb = g->n - b0 < B ? g->n - b0 : B, BP = nb * P;
    fold_grad_kernel<T><<<tnc_blocks(nb * g->c_out * P), TNC_THREADS, 0, s>>>(got, PTR(const T, go), g->c_out, P, b0,
                                                                              nb);
    im2col_kernel<T><<<tnc_blocks(g->c_in * g->kd * g->kh * g->kw * BP), TNC_THREADS, 0, s>>>(col, PTR(const T, x),
                                                                                              *g, b0, nb);
    if (tnc_check(fn)) return -1;
    if (tnc_gemm_rowmajor(fn, go, go->dtype, false, true, cog, K, BP, 1.0, got, BP, cog * BP, col, BP, K * BP,
                          b0 == 0 ? 0.0 : 1.0, tn_base(gw), K, cog * K, G))
      return -1;
  }
  return 0;
}

int cuda_conv(tn_tensor *out, const tn_tensor *x, const tn_tensor *w, const tn_tensor *bias, const tn_conv_geom *g) {
  const char *fn = "conv";
  cudaStream_t s = tnc_stream(fn, x);
  if (!s) return -1;
  if (out->numel == 0) return 0;
  int done = tnc_cudnn_conv_forward(out, x, w, bias, g);
  if (done <= 0) return done;
  return x->dtype == TN_FLOAT64 ? conv_forward<double>(fn, s, out, x, w, bias, g)
                                : conv_forward<float>(fn, s, out, x, w, bias, g);
}

int cuda_conv_backward_input(tn_tensor *grad_x, const tn_tensor *grad_out, const tn_tensor *w,
                             const tn_conv_geom *g) {
  const char *fn = "conv_backward_input";
  cudaStream_t s = tnc_stream(fn, grad_out);
  if (!s) return -1;
  if (grad_x->numel == 0) return 0;
  if (g->od * g->oh * g->ow == 0 || g->c_out == 0)
    return tn_cuda_check(fn, cudaMemsetAsync(tn_base(grad_x), 0,
                                             (size_t)(grad_x->numel * tn_dtype_size(grad_x->dtype)), s));
  int done = tnc_cudnn_conv_backward_input(grad_x, grad_out, w, g);
  if (done <= 0) return done;
  return grad_out->dtype == TN_FLOAT64 ? conv_backward_input<double>(fn, s, grad_x, grad_out, w, g)
                                       : conv_backward_input<float>(fn, s, grad_x, grad_out, w, g);
}

int cuda_conv_backward_weight(tn_tensor *grad_w, tn_tensor *grad_b, const tn_tensor *grad_out, const tn_tensor *x,
                              const tn_conv_geom *g) {
  const char *fn = "conv_backward_weight";
  cudaStream_t s = tnc_stream(fn, grad_out);
  if (!s) return -1;
  return grad_out->dtype == TN_FLOAT64 ? conv_backward_weight<double>(fn, s, grad_w, grad_b, grad_out, x, g)
                                       : conv_backward_weight<float>(fn, s, grad_w, grad_b, grad_out, x, g);
}

} // namespace

void tnc_register_nn_conv(tn_backend *b) {
  b->conv = cuda_conv;
  b->conv_backward_input = cuda_conv_backward_input;
  b->conv_backward_weight = cuda_conv_backward_weight;
}

extern "C" void tn_cuda_register_nn(tn_backend *b) {
  tnc_register_nn_conv(b);
  tnc_register_nn_pool(b);
  tnc_register_nn_softmax(b);
  tnc_register_nn_loss(b);
  tnc_register_nn_norm(b);
  tnc_register_nn_embedding(b);
}
