/* nn_loss.cu: cross_entropy and nll_loss with their backward (float32 and float64, contiguous), following
 * lib/cpu/loss_tmpl.h term for term.
 *
 * x is [n x classes x inner]; sample i = (row, j) has its classes `inner` elements apart. Cross entropy runs
 * a warp per sample (lanes over the classes); nll a thread per sample. Reduced losses write each sample's
 * loss and weight to scratch and one block adds them up in float64 in a fixed order (deterministic). The
 * backward of a mean first computes the denominator (summed weights of the counted samples) on the device. */
#include "ops.cuh"

namespace {

__device__ __forceinline__ int64_t sample_at(int64_t i, int64_t classes, int64_t inner) {
  return (i / inner) * classes * inner + i % inner;
}

/* log(sum(exp(x[c * stride]))) over the classes through a warp, on every lane */
template <class T>
__device__ T row_lse_warp(const T *xr, int64_t C, int64_t stride, int lane) {
  T m = -INFINITY;
  for (int64_t c = lane; c < C; c += 32) m = m > xr[c * stride] ? m : xr[c * stride];
  m = __shfl_sync(0xffffffffu, warp_max(m), 0);
  T s = 0;
  for (int64_t c = lane; c < C; c += 32) s += exp(xr[c * stride] - m);
  s = __shfl_sync(0xffffffffu, warp_sum(s), 0);
  return m + (T)log(s);
}

/* sum of the class weights (classes when there are none), on every lane */
template <class T>
__device__ T weight_sum_warp(const T *w, int64_t C, int lane) {
  if (!w) return (T)C;
  T s = 0;
  for (int64_t c = lane; c < C; c += 32) s += w[c];
  s = warp_sum(s);
  return __shfl_sync(0xffffffffu, s, 0);
}

/* per sample: lse, and the loss with its weight in a mean (to `loss`/`lw`, or to loss directly when none) */
template <class T>
__global__ void ce_forward(T *loss, T *lse, double *ls, double *lw, const T *x, const int64_t *target, const T *q,
                           const T *w, tn_loss_spec spec) {
  int lane = threadIdx.x & 31;
  int64_t C = spec.classes, stride = spec.inner, samples = spec.n * spec.inner;
  T eps = (T)spec.label_smoothing;
  T wsum = weight_sum_warp(w, C, lane);
  for (int64_t i = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5; i < samples;
       i += ((int64_t)gridDim.x * blockDim.x) >> 5) {
    int64_t at = sample_at(i, C, stride);
    const T *xr = x + at;
    T l = row_lse_warp(xr, C, stride, lane), li = 0, wt = 0;
    if (spec.probs) {
      const T *qr = q + at;
      T acc = 0;
      for (int64_t c = lane; c < C; c += 32) {
        T qc = (1 - eps) * qr[c * stride] + eps / (T)C;
        acc += (w ? w[c] : (T)1) * qc * (l - xr[c * stride]);
      }
      li = __shfl_sync(0xffffffffu, warp_sum(acc), 0);
      wt = 1;
    } else {
      int64_t t = target[i];
      if (t != spec.ignore_index) {
        int64_t c0 = t - spec.base;
        wt = w ? w[c0] : (T)1;
        li = wt * (l - xr[c0 * stride]);
        if (eps > 0) {
          T dot = 0;
          for (int64_t c = lane; c < C; c += 32) dot += (w ? w[c] : (T)1) * xr[c * stride];
          dot = __shfl_sync(0xffffffffu, warp_sum(dot), 0);
          li = (1 - eps) * li + eps / (T)C * (l * wsum - dot);
        }
      }
    }
    if (lane == 0) {
      lse[i] = l;
      if (ls) ls[i] = (double)li, lw[i] = (double)wt;
      else loss[i] = li;
    }
  }
}

/* loss[0] = sum ls (/ sum lw for a mean): one block */
template <class T>
__global__ void reduce_loss(T *loss, const double *ls, const double *lw, int64_t n, int mean) {
  __shared__ double sh[33];
  double a = 0, b = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) a += ls[i], b += lw[i];
  a = block_sum(a, sh);
  b = block_sum(b, sh);
  if (threadIdx.x == 0) loss[0] = (T)(mean ? (b == 0 ? (double)NAN : a / b) : a); /* no weight counted: NaN */
}

/* the denominator of a mean: the summed weights of the counted samples (class targets), or the samples */
template <class T>
__global__ void mean_denominator(double *out, const int64_t *target, const T *w, tn_loss_spec spec) {
  __shared__ double sh[33];
  int64_t samples = spec.n * spec.inner;
  double d = 0;
  if (spec.probs || !target) {
    d = threadIdx.x == 0 ? (double)samples : 0;
  } else {
    for (int64_t i = threadIdx.x; i < samples; i += blockDim.x)
      if (target[i] != spec.ignore_index) d += w ? (double)w[target[i] - spec.base] : 1.0;
  }
  d = block_sum(d, sh);
  if (threadIdx.x == 0) out[0] = d;
}

template <class T>
__global__ void ce_backward(T *gx, const T *grad, const T *x, const T *lse, const int64_t *target, const T *q,
                            const T *w, const double *denominator, tn_loss_spec spec) {
  int lane = threadIdx.x & 31;
  int64_t C = spec.classes, stride = spec.inner, samples = spec.n * spec.inner;
  T eps = (T)spec.label_smoothing;
  T wsum = weight_sum_warp(w, C, lane);
  T scale = spec.reduction == TN_REDUCTION_MEAN ? (T)(1.0 / denominator[0]) : (T)1;
  for (int64_t i = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5; i < samples;
       i += ((int64_t)gridDim.x * blockDim.x) >> 5) {
    int64_t at = sample_at(i, C, stride);
    const T *xr = x + at;
    T *o = gx + at;
    T g = (spec.reduction == TN_REDUCTION_NONE ? grad[i] : grad[0]) * scale;
    T l = lse ? lse[i] : row_lse_warp(xr, C, stride, lane);
    if (spec.probs) {
      const T *qr = q + at;
      T wq = 0;
      for (int64_t c = lane; c < C; c += 32) wq += (w ? w[c] : (T)1) * ((1 - eps) * qr[c * stride] + eps / (T)C);
      wq = __shfl_sync(0xffffffffu, warp_sum(wq), 0);
      for (int64_t c = lane; c < C; c += 32) {
        T qc = (1 - eps) * qr[c * stride] + eps / (T)C;
        o[c * stride] = g * (exp(xr[c * stride] - l) * wq - (w ? w[c] : (T)1) * qc);
      }
      continue;
    }
    int64_t t = target[i];
    if (t == spec.ignore_index) {
      for (int64_t c = lane; c < C; c += 32) o[c * stride] = 0;
      continue;
    }
    int64_t tc = t - spec.base;
    T wt = w ? w[tc] : (T)1;
    T a = g * ((1 - eps) * wt + eps / (T)C * wsum), e = g * eps / (T)C;
    for (int64_t c = lane; c < C; c += 32) {
      T v = a * exp(xr[c * stride] - l) - e * (w ? w[c] : (T)1);
      if (c == tc) v -= g * (1 - eps) * wt;
      o[c * stride] = v;
    }
  }
}

template <class T>
__global__ void nll_forward(T *loss, double *ls, double *lw, const T *x, const int64_t *target, const T *w,
                            tn_loss_spec spec) {
  TNC_GRID_LOOP(i, spec.n * spec.inner) {
    int64_t t = target[i];
    T li = 0, wt = 0;
    if (t != spec.ignore_index) {
      wt = w ? w[t - spec.base] : (T)1;
      li = -wt * x[sample_at(i, spec.classes, spec.inner) + (t - spec.base) * spec.inner];
    }
    if (ls) ls[i] = (double)li, lw[i] = (double)wt;
    else loss[i] = li;
  }
}

template <class T>
__global__ void nll_backward(T *gx, const T *grad, const int64_t *target, const T *w, const double *denominator,
                             tn_loss_spec spec) {
  T scale = spec.reduction == TN_REDUCTION_MEAN ? (T)(1.0 / denominator[0]) : (T)1;
  TNC_GRID_LOOP(i, spec.n * spec.inner) {
    int64_t t = target[i];
    if (t == spec.ignore_index) continue;
    T g = (spec.reduction == TN_REDUCTION_NONE ? grad[i] : grad[0]) * scale;
    gx[sample_at(i, spec.classes, spec.inner) + (t - spec.base) * spec.inner] = -(w ? w[t - spec.base] : (T)1) * g;
  }
}

#define PTR(T, t) ((t) ? (T *)tn_base(t) : (T *)NULL)

struct Scratch {
  int device;
  void *p;
  int64_t bytes;
  ~Scratch() { tnc_scratch_free(device, p, bytes); }
};

template <class T>
int ce_typed(cudaStream_t st, int device, tn_tensor *loss, tn_tensor *lse, const tn_tensor *x,
             const tn_tensor *target, const tn_tensor *weight, const tn_loss_spec *s) {
  int64_t samples = s->n * s->inner;
  Scratch sc{device, NULL, 0};
  double *ls = NULL, *lw = NULL;
  if (s->reduction != TN_REDUCTION_NONE) {
    sc.bytes = 2 * samples * (int64_t)sizeof(double);
    if (!(sc.p = tnc_scratch(device, sc.bytes))) return -1;
    ls = (double *)sc.p, lw = ls + samples;
  }
  const T *q = s->probs ? PTR(const T, target) : NULL;
  const int64_t *tg = s->probs ? NULL : PTR(const int64_t, target);
  if (samples > 0)
    ce_forward<T><<<tnc_blocks(samples * 32), TNC_THREADS, 0, st>>>(PTR(T, loss), PTR(T, lse), ls, lw,
                                                                    PTR(const T, x), tg, q, PTR(const T, weight), *s);
  if (ls)
    reduce_loss<T><<<1, 1024, 0, st>>>(PTR(T, loss), ls, lw, samples, s->reduction == TN_REDUCTION_MEAN);
  return tnc_check("cross_entropy");
}

int cuda_cross_entropy(tn_tensor *loss, tn_tensor *lse, const tn_tensor *x, const tn_tensor *target,
                       const tn_tensor *weight, const tn_loss_spec *s) {
  cudaStream_t st = tnc_stream("cross_entropy", x);
  if (!st) return -1;
  return x->dtype == TN_FLOAT64 ? ce_typed<double>(st, tnc_device(x), loss, lse, x, target, weight, s)
                                : ce_typed<float>(st, tnc_device(x), loss, lse, x, target, weight, s);
}

template <class T>
int ce_backward_typed(cudaStream_t st, int device, tn_tensor *gx, const tn_tensor *grad, const tn_tensor *x,
                      const tn_tensor *lse, const tn_tensor *target, const tn_tensor *weight, const tn_loss_spec *s) {
  int64_t samples = s->n * s->inner;
  Scratch sc{device, NULL, (int64_t)sizeof(double)};
  if (!(sc.p = tnc_scratch(device, sc.bytes))) return -1;
  const T *q = s->probs ? PTR(const T, target) : NULL;
  const int64_t *tg = s->probs ? NULL : PTR(const int64_t, target);
  if (s->reduction == TN_REDUCTION_MEAN)
    mean_denominator<T><<<1, 1024, 0, st>>>((double *)sc.p, tg, PTR(const T, weight), *s);
  if (samples > 0)
    ce_backward<T><<<tnc_blocks(samples * 32), TNC_THREADS, 0, st>>>(
        PTR(T, gx), PTR(const T, grad), PTR(const T, x), PTR(const T, lse), tg, q, PTR(const T, weight),
        (const double *)sc.p, *s);
  return tnc_check("cross_entropy_backward");
}

int cuda_cross_entropy_backward(tn_tensor *grad_x, const tn_tensor *grad_loss, const tn_tensor *x,
                                const tn_tensor *lse, const tn_tensor *target, const tn_tensor *weight,
                                const tn_loss_spec *s) {
  cudaStream_t st = tnc_stream("cross_entropy_backward", x);
  if (!st) return -1;
  return x->dtype == TN_FLOAT64
             ? ce_backward_typed<double>(st, tnc_device(x), grad_x, grad_loss, x, lse, target, weight, s)
             : ce_backward_typed<float>(st, tnc_device(x), grad_x, grad_loss, x, lse, target, weight, s);
}

template <class T>
int nll_typed(cudaStream_t st, int device, tn_tensor *loss, const tn_tensor *x, const tn_tensor *target,
              const tn_tensor *weight, const tn_loss_spec *s) {
  int64_t samples = s->n * s->inner;
  Scratch sc{device, NULL, 0};
  double *ls = NULL, *lw = NULL;
  if (s->reduction != TN_REDUCTION_NONE) {
    sc.bytes = 2 * samples * (int64_t)sizeof(double);
    if (!(sc.p = tnc_scratch(device, sc.bytes))) return -1;
    ls = (double *)sc.p, lw = ls + samples;
  }
  if (samples > 0)
    nll_forward<T><<<tnc_blocks(samples), TNC_THREADS, 0, st>>>(PTR(T, loss), ls, lw, PTR(const T, x),
                                                                PTR(const int64_t, target), PTR(const T, weight), *s);
  if (ls) reduce_loss<T><<<1, 1024, 0, st>>>(PTR(T, loss), ls, lw, samples, s->reduction == TN_REDUCTION_MEAN);
  return tnc_check("nll_loss");
}

int cuda_nll_loss(tn_tensor *loss, const tn_tensor *x, const tn_tensor *target, const tn_tensor *weight,
                  const tn_loss_spec *s) {
  cudaStream_t st = tnc_stream("nll_loss", x);
  if (!st) return -1;
  return x->dtype == TN_FLOAT64 ? nll_typed<double>(st, tnc_device(x), loss, x, target, weight, s)
                                : nll_typed<float>(st, tnc_device(x), loss, x, target, weight, s);
}

template <class T>
int nll_backward_typed(cudaStream_t st, int device, tn_tensor *gx, const tn_tensor *grad, const tn_tensor *target,
                       const tn_tensor *weight, const tn_loss_spec *s) {
  int64_t samples = s->n * s->inner;
  Scratch sc{device, NULL, (int64_t)sizeof(double)};
  if (!(sc.p = tnc_scratch(device, sc.bytes))) return -1;
  if (tnc_check("nll_loss_backward") ||
      tn_cuda_check("nll_loss_backward",
                    cudaMemsetAsync(tn_base(gx), 0, (size_t)(gx->numel * tn_dtype_size(gx->dtype)), st)))
    return -1;
  if (s->reduction == TN_REDUCTION_MEAN)
    mean_denominator<T><<<1, 1024, 0, st>>>((double *)sc.p, PTR(const int64_t, target), PTR(const T, weight), *s);
  if (samples > 0)
    nll_backward<T><<<tnc_blocks(samples), TNC_THREADS, 0, st>>>(PTR(T, gx), PTR(const T, grad),
                                                                 PTR(const int64_t, target), PTR(const T, weight),
                                                                 (const double *)sc.p, *s);
  return tnc_check("nll_loss_backward");
}

int cuda_nll_loss_backward(tn_tensor *grad_x, const tn_tensor *grad_loss, const tn_tensor *target,
                           const tn_tensor *weight, const tn_loss_spec *s) {
  cudaStream_t st = tnc_stream("nll_loss_backward", grad_x);
  if (!st) return -1;
  return grad_x->dtype == TN_FLOAT64
             ? nll_backward_typed<double>(st, tnc_device(grad_x), grad_x, grad_loss, target, weight, s)
             : nll_backward_typed<float>(st, tnc_device(grad_x), grad_x, grad_loss, target, weight, s);
}

} // namespace

void tnc_register_nn_loss(tn_backend *b) {
  b->cross_entropy = cuda_cross_entropy;
  b->cross_entropy_backward = cuda_cross_entropy_backward;
  b->nll_loss = cuda_nll_loss;
  b->nll_loss_backward = cuda_nll_loss_backward;
}
