// cuDNN convolution behind Conv2dForward/Backward (conv_cuda.h) when the backend is kCudnn.
// Internal to cuda/nn. Same pointer semantics: dx overwritten, dw accumulated; bias is handled
// by the caller.
#ifndef MORPHFIT_CUDA_NN_CONV_CUDNN_H_
#define MORPHFIT_CUDA_NN_CONV_CUDNN_H_

#include <string>

#include "morphfit/nn/kernels/conv_geometry.h"

namespace morphfit::nn_cuda {

std::string CudnnConv2dForward(const nn::Conv2dGeometry& g, const float* x, const float* w,
                               float* y);
// dx (may be null) = conv^T(dy, w); dw (may be null) += dL/dw.
std::string CudnnConv2dBackward(const nn::Conv2dGeometry& g, const float* x, const float* w,
                                const float* dy, float* dx, float* dw);

}  // namespace morphfit::nn_cuda

#endif  // MORPHFIT_CUDA_NN_CONV_CUDNN_H_
