/* conv_cudnn.cu: the convolutions (forward, backward to the input, backward to the weight) through cuDNN,
 * which nn_conv.cu tries before its im2col + cuBLAS kernels. 1-d and 2-d geometries are described to cuDNN as
 * 4-d tensors (NCHW), 3-d ones as 5-d (NCDHW), through the N-d descriptors.
 *
 * cuDNN is optional twice over: this file needs <cudnn.h> at build time (without it every entry point answers
 * "not taken"), and libcudnn.so.9 is opened at run time with dlopen, so that libtensor_cuda.so loads and works
 * (through im2col) on machines that have the CUDA runtime but not cuDNN. torch.cuda.set_cudnn_enabled(false)
 * turns it off (tn_cuda_get_cudnn_enabled).
 *
 * Each entry point returns 0 when cuDNN did the work, 1 when it did not (cuDNN missing or disabled, a dtype or
 * shape it cannot take, such as asymmetric padding or more than 2^31 elements, or a cuDNN failure), after which
 * the caller computes the same result itself; every output is written whole (beta = 0), so a failure halfway
 * leaves nothing the fallback depends on.
 *
 * The descriptors and the chosen algorithms of a geometry are kept in a small cache (a plan per geometry,
 * dtype and math mode), so a training step pays cuDNN's heuristics once per layer shape. Algorithms are chosen
 * by cuDNN's heuristics (the _v7 queries, as PyTorch does without benchmark mode): the first one that succeeds
 * with a workspace the caching allocator can give. float32 convolutions use TF32 tensor cores only when
 * torch.cuda.set_allow_tf32(true), the flag that also governs cuBLAS. */
#include "ops.cuh"

#include "conv_cudnn.h"

#if __has_include(<cudnn.h>)
#include <cudnn.h>
#include <dlfcn.h>
#include <pthread.h>

namespace {

/* ---- the library, opened once ---- */

#define CUDNN_FUNCTIONS(X)                                                                                    \
  X(cudnnGetVersion) X(cudnnCreate) X(cudnnSetStream) X(cudnnCreateTensorDescriptor)                          \
  X(cudnnSetTensorNdDescriptorEx) X(cudnnCreateFilterDescriptor) X(cudnnSetFilterNdDescriptor)                \
  X(cudnnCreateConvolutionDescriptor) X(cudnnSetConvolutionNdDescriptor) X(cudnnSetConvolutionGroupCount)     \
  X(cudnnSetConvolutionMathType) X(cudnnGetConvolutionNdForwardOutputDim)                                     \
  X(cudnnGetConvolutionForwardAlgorithm_v7) X(cudnnGetConvolutionBackwardDataAlgorithm_v7)                    \
  X(cudnnGetConvolutionBackwardFilterAlgorithm_v7) X(cudnnConvolutionForward) X(cudnnConvolutionBackwardData) \
  X(cudnnConvolutionBackwardFilter) X(cudnnAddTensor)

struct Library {
#define FIELD(name) decltype(&::name) name;
  CUDNN_FUNCTIONS(FIELD)
#undef FIELD
  bool loaded;
  size_t version;
};

Library lib;
pthread_once_t lib_once = PTHREAD_ONCE_INIT;

void open_library() {
  void *h = dlopen("libcudnn.so.9", RTLD_NOW | RTLD_LOCAL);
  if (!h) h = dlopen("libcudnn.so", RTLD_NOW | RTLD_LOCAL);
  if (!h) return;
  bool all = true;
#define RESOLVE(name) all = all && (lib.name = (decltype(&::name))dlsym(h, #name)) != NULL;
  CUDNN_FUNCTIONS(RESOLVE)
#undef RESOLVE
  if (!all) return;
  lib.version = lib.cudnnGetVersion();
  /* the legacy convolution API these calls belong to is the one of cuDNN 8 and 9 */
  lib.loaded = lib.version >= 80000;
}

bool usable() {
  if (!tn_cuda_get_cudnn_enabled()) return false;
  pthread_once(&lib_once, open_library);
  return lib.loaded;
}

/* ---- handles, one per device ---- */

enum { MAX_DEVICES = 64 };
cudnnHandle_t handles[MAX_DEVICES];
pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER; /* the handles and the plan cache */

cudnnHandle_t handle_for(int device, cudaStream_t stream) {
  if (device < 0 || device >= MAX_DEVICES) return NULL;
  if (!handles[device]) {
    int current = 0;
    cudaGetDevice(&current);
    cudaSetDevice(device); /* a handle belongs to the device current at its creation */
    if (lib.cudnnCreate(&handles[device]) != CUDNN_STATUS_SUCCESS) handles[device] = NULL;
    cudaSetDevice(current);
    (void)cudaGetLastError();
  }
  if (handles[device] && lib.cudnnSetStream(handles[device], stream) != CUDNN_STATUS_SUCCESS) return NULL;
  return handles[device];
}

/* ---- plans: descriptors and algorithms per geometry ---- */

enum Direction { FORWARD, BACKWARD_DATA, BACKWARD_FILTER, DIRECTIONS };

struct Key {
  tn_conv_geom g;
  int dtype, device, tf32;
};

struct Plan {
  Key key;
  bool used;
  cudnnTensorDescriptor_t x, y, bias;
  cudnnFilterDescriptor_t w;
  cudnnConvolutionDescriptor_t conv;
  bool chosen[DIRECTIONS];
  int algo[DIRECTIONS]; /* -1: no algorithm works: the fallback */
  cudnnMathType_t math[DIRECTIONS];
  size_t workspace[DIRECTIONS];
};

enum { SLOTS = 256 };
Plan plans[SLOTS];

uint64_t key_hash(const Key &k) {
  const unsigned char *p = (const unsigned char *)&k;
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < sizeof k; i++) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

bool fits_int(int64_t v) { return v >= 0 && v <= INT32_MAX; }

/* Whether cuDNN computes exactly this geometry: symmetric padding (cuDNN's output size must be the caller's)
 * and sizes that fit its int32 descriptors. */
bool cudnn_shape(const tn_conv_geom &g) {
  int64_t sizes[] = {g.n, g.c_in, g.d, g.h, g.w, g.c_out, g.od, g.oh, g.ow, g.kd, g.kh, g.kw, g.sd, g.sh, g.sw,
                     g.dd, g.dh, g.dw, g.pf, g.pt, g.pl, g.groups, g.n * g.c_in * g.d * g.h * g.w,
                     g.n * g.c_out * g.od * g.oh * g.ow,
                     g.c_out * (g.groups ? g.c_in / g.groups : 0) * g.kd * g.kh * g.kw};
  for (int64_t s : sizes)
    if (!fits_int(s)) return false;
  if (g.n == 0 || g.c_in == 0 || g.c_out == 0 || g.od == 0 || g.oh == 0 || g.ow == 0 || g.groups < 1) return false;
  return (g.d + 2 * g.pf - g.dd * (g.kd - 1) - 1) / g.sd + 1 == g.od &&
         (g.h + 2 * g.pt - g.dh * (g.kh - 1) - 1) / g.sh + 1 == g.oh &&
         (g.w + 2 * g.pl - g.dw * (g.kw - 1) - 1) / g.sw + 1 == g.ow;
}

/* 3-d geometries go to cuDNN as 5-d tensors; the others (one depth slice) as 4-d */
bool volumetric(const tn_conv_geom &g) { return !(g.d == 1 && g.od == 1 && g.kd == 1 && g.pf == 0); }

/* Fills p's descriptors for k (created once per slot and set again in place when the slot takes another
 * geometry, so none is ever destroyed). */
bool describe(Plan &p, const Key &k) {
  const tn_conv_geom &g = k.g;
  cudnnDataType_t t = k.dtype == TN_FLOAT64 ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
  if (!p.used) {
    if (lib.cudnnCreateTensorDescriptor(&p.x) || lib.cudnnCreateTensorDescriptor(&p.y) ||
        lib.cudnnCreateTensorDescriptor(&p.bias) || lib.cudnnCreateFilterDescriptor(&p.w) ||
        lib.cudnnCreateConvolutionDescriptor(&p.conv))
      return false;
    p.used = true;
  }
  /* dims [n, c, (d,) h, w]: the spatial values start at index 2 - f of these (d, h, w) arrays */
  int f = volumetric(g) ? 0 : 1, nb = 5 - f, ns = nb - 2;
  int xs[5] = {(int)g.n, (int)g.c_in, (int)g.d, (int)g.h, (int)g.w};
  int ys[5] = {(int)g.n, (int)g.c_out, (int)g.od, (int)g.oh, (int)g.ow};
  int ws[5] = {(int)g.c_out, (int)(g.c_in / g.groups), (int)g.kd, (int)g.kh, (int)g.kw};
  int bs[5] = {1, (int)g.c_out, 1, 1, 1};
  int pad[3] = {(int)g.pf, (int)g.pt, (int)g.pl}, stride[3] = {(int)g.sd, (int)g.sh, (int)g.sw};
  int dil[3] = {(int)g.dd, (int)g.dh, (int)g.dw};
  int *all[4] = {xs, ys, ws, bs};
  if (f) /* drop the depth: [n, c, h, w] */
    for (int *a : all) a[2] = a[3], a[3] = a[4];
  if (lib.cudnnSetTensorNdDescriptorEx(p.x, CUDNN_TENSOR_NCHW, t, nb, xs) ||
      lib.cudnnSetTensorNdDescriptorEx(p.y, CUDNN_TENSOR_NCHW, t, nb, ys) ||
      lib.cudnnSetTensorNdDescriptorEx(p.bias, CUDNN_TENSOR_NCHW, t, nb, bs) ||
      lib.cudnnSetFilterNdDescriptor(p.w, t, CUDNN_TENSOR_NCHW, nb, ws) ||
      lib.cudnnSetConvolutionNdDescriptor(p.conv, ns, pad + f, stride + f, dil + f, CUDNN_CROSS_CORRELATION, t) ||
      lib.cudnnSetConvolutionGroupCount(p.conv, (int)g.groups) ||
      lib.cudnnSetConvolutionMathType(p.conv, k.tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH))
    return false;
  int out[5];
  if (lib.cudnnGetConvolutionNdForwardOutputDim(p.conv, p.x, p.w, nb, out) != CUDNN_STATUS_SUCCESS) return false;
  for (int i = 0; i < nb; i++)
    if (out[i] != ys[i]) return false;
  return true;
}

/* The plan for k, its descriptors set; NULL when cuDNN cannot describe it. Called with the lock held. */
Plan *plan_for(const Key &k) {
  Plan &p = plans[key_hash(k) % SLOTS];
  if (p.used && memcmp(&p.key, &k, sizeof k) == 0) return &p;
  memset(p.chosen, 0, sizeof p.chosen);
  p.key = k;
  if (!describe(p, k)) {
    memset(&p.key, 0xff, sizeof p.key); /* matches no geometry: described again next time */
    return NULL;
  }
  return &p;
}

/* The largest workspace an algorithm may ask for: cuDNN's fastest choices rarely need more. */
const size_t MAX_WORKSPACE = (size_t)1 << 30;

/* Picks the first of cuDNN's ranked algorithms for direction d that succeeds within MAX_WORKSPACE. */
template <class Perf> void choose(Plan &p, Direction d, const Perf *perf, int count) {
  p.chosen[d] = true;
  p.algo[d] = -1;
  for (int i = 0; i < count; i++) {
    if (perf[i].status != CUDNN_STATUS_SUCCESS || perf[i].memory > MAX_WORKSPACE) continue;
    p.algo[d] = (int)perf[i].algo;
    p.math[d] = perf[i].mathType;
    p.workspace[d] = perf[i].memory;
    return;
  }
}

bool choose_algorithm(cudnnHandle_t h, Plan &p, Direction d) {
  if (p.chosen[d]) return p.algo[d] >= 0;
  int count = 0;
  if (d == FORWARD) {
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    if (lib.cudnnGetConvolutionForwardAlgorithm_v7(h, p.x, p.w, p.conv, p.y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
                                                   &count, perf))
      count = 0;
    choose(p, d, perf, count);
  } else if (d == BACKWARD_DATA) {
    cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    if (lib.cudnnGetConvolutionBackwardDataAlgorithm_v7(h, p.w, p.y, p.conv, p.x,
                                                        CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &count, perf))
      count = 0;
    choose(p, d, perf, count);
  } else {
    cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    if (lib.cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, p.x, p.y, p.conv, p.w,
                                                          CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &count, perf))
      count = 0;
    choose(p, d, perf, count);
  }
  return p.algo[d] >= 0;
}

/* Runs direction d of the convolution of geometry g: x, w, y are the device pointers of the input, weight and
 * output (one of them written), bias (forward only, may be NULL) is added to y. */
int run(Direction d, const tn_tensor *like, int dtype, const tn_conv_geom *g, void *x, void *w, void *y,
        const void *bias) {
  if ((dtype != TN_FLOAT32 && dtype != TN_FLOAT64) || !cudnn_shape(*g) || !usable()) return 1;
  int device = tnc_device(like);
  cudaStream_t s = (cudaStream_t)tn_cuda_tensor_stream("conv2d", like);
  if (!s) return -1;
  Key k;
  memset(&k, 0, sizeof k); /* the padding bytes too: keys are compared and hashed as bytes */
  k.g = *g;
  k.dtype = dtype;
  k.device = device;
  k.tf32 = dtype == TN_FLOAT32 && tn_cuda_get_allow_tf32();
  pthread_mutex_lock(&lock);
  cudnnHandle_t h = handle_for(device, s);
  Plan *p = h ? plan_for(k) : NULL;
  int status = 1;
  if (p && choose_algorithm(h, *p, d) && !lib.cudnnSetConvolutionMathType(p->conv, p->math[d])) {
    void *ws = p->workspace[d] ? tnc_scratch(device, (int64_t)p->workspace[d]) : NULL;
    if (ws || !p->workspace[d]) {
      double one64 = 1, zero64 = 0;
      float one32 = 1, zero32 = 0;
      const void *one = dtype == TN_FLOAT64 ? (const void *)&one64 : (const void *)&one32;
      const void *zero = dtype == TN_FLOAT64 ? (const void *)&zero64 : (const void *)&zero32;
      cudnnStatus_t r;
      if (d == FORWARD) {
        r = lib.cudnnConvolutionForward(h, one, p->x, x, p->w, w, p->conv, (cudnnConvolutionFwdAlgo_t)p->algo[d], ws,
                                        p->workspace[d], zero, p->y, y);
        if (r == CUDNN_STATUS_SUCCESS && bias) r = lib.cudnnAddTensor(h, one, p->bias, bias, one, p->y, y);
      } else if (d == BACKWARD_DATA) {
        r = lib.cudnnConvolutionBackwardData(h, one, p->w, w, p->y, y, p->conv,
                                             (cudnnConvolutionBwdDataAlgo_t)p->algo[d], ws, p->workspace[d], zero,
                                             p->x, x);
      } else {
        r = lib.cudnnConvolutionBackwardFilter(h, one, p->x, x, p->y, y, p->conv,
                                               (cudnnConvolutionBwdFilterAlgo_t)p->algo[d], ws, p->workspace[d], zero,
                                               p->w, w);
      }
      status = r == CUDNN_STATUS_SUCCESS ? 0 : 1;
      tnc_scratch_free(device, ws, (int64_t)p->workspace[d]);
    } else {
      tn_clear_error(); /* the allocator's out-of-memory: the fallback needs less */
    }
  }
  pthread_mutex_unlock(&lock);
  /* a launch error inside cuDNN is the caller's to see; a cuDNN refusal leaves no CUDA error behind */
  if (status) (void)cudaGetLastError();
  return status;
}

} // namespace

int tnc_cudnn_conv_forward(tn_tensor *out, const tn_tensor *x, const tn_tensor *w, const tn_tensor *bias,
                           const tn_conv_geom *g) {
  return run(FORWARD, x, x->dtype, g, tn_base(x), tn_base(w), tn_base(out), bias ? tn_base(bias) : NULL);
}

int tnc_cudnn_conv_backward_input(tn_tensor *grad_x, const tn_tensor *grad_out, const tn_tensor *w,
                                  const tn_conv_geom *g) {
  return run(BACKWARD_DATA, grad_out, grad_out->dtype, g, tn_base(grad_x), tn_base(w), tn_base(grad_out), NULL);
}

int tnc_cudnn_conv_backward_weight(tn_tensor *grad_w, const tn_tensor *grad_out, const tn_tensor *x,
                                   const tn_conv_geom *g) {
  return run(BACKWARD_FILTER, grad_out, grad_out->dtype, g, tn_base(x), tn_base(grad_w), tn_base(grad_out), NULL);
}

size_t tnc_cudnn_version(void) { return usable() ? lib.version : 0; }

#else /* no <cudnn.h> at build time */

int tnc_cudnn_conv_forward(tn_tensor *, const tn_tensor *, const tn_tensor *, const tn_tensor *,
                           const tn_conv_geom *) {
  return 1;
}
int tnc_cudnn_conv_backward_input(tn_tensor *, const tn_tensor *, const tn_tensor *, const tn_conv_geom *) {
  return 1;
}
int tnc_cudnn_conv_backward_weight(tn_tensor *, const tn_tensor *, const tn_tensor *, const tn_conv_geom *) {
  return 1;
}
size_t tnc_cudnn_version(void) { return 0; }

#endif
