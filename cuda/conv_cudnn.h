/* conv_cudnn.h: the convolutions through cuDNN (conv_cudnn.cu). Each returns 0 when cuDNN computed the result,
 * 1 when it did not (cuDNN missing or disabled, a shape or dtype it cannot take): the caller then computes it
 * with im2col; -1 is an error already reported. The tensors are contiguous, as nn_conv.cu receives them. */
#ifndef TN_CUDA_CONV_CUDNN_H
#define TN_CUDA_CONV_CUDNN_H

#include "kernels.h"

int tnc_cudnn_conv_forward(tn_tensor *out, const tn_tensor *x, const tn_tensor *w, const tn_tensor *bias,
                           const tn_conv_geom *g);
int tnc_cudnn_conv_backward_input(tn_tensor *grad_x, const tn_tensor *grad_out, const tn_tensor *w,
                                  const tn_conv_geom *g);
int tnc_cudnn_conv_backward_weight(tn_tensor *grad_w, const tn_tensor *grad_out, const tn_tensor *x,
                                   const tn_conv_geom *g);
/* cuDNN's version (e.g. 91900 for 9.19.0) when it is loaded and enabled, else 0 */
size_t tnc_cudnn_version(void);

#endif /* TN_CUDA_CONV_CUDNN_H */
