// CUDA convolution and linear layers on device pointers: im2col kernels + cuBLAS SGEMM (cuDNN
// is not used yet). Same semantics as nn/kernels/conv_reference.h (the CPU twin): dx
// overwritten, dw/db accumulated (+=), null gradient pointers skipped. Plain C++ launcher
// header; errors are returned as strings (empty = success). Calls are synchronous.
#ifndef MORPHFIT_CUDA_NN_CONV_CUDA_H_
#define MORPHFIT_CUDA_NN_CONV_CUDA_H_

#include <cstdint>
#include <string>

#include "morphfit/nn/kernels/conv_geometry.h"

namespace morphfit::nn_cuda {

std::string Conv2dForward(const nn::Conv2dGeometry& g, const float* x, const float* w,
                          const float* b, float* y);
std::string Conv2dBackward(const nn::Conv2dGeometry& g, const float* x, const float* w,
                           const float* dy, float* dx, float* dw, float* db);
// y [n, out] = x [n, in] w^T + b, w [out, in].
std::string LinearForward(int64_t n, int64_t in, int64_t out, const float* x, const float* w,
                          const float* b, float* y);
std::string LinearBackward(int64_t n, int64_t in, int64_t out, const float* x, const float* w,
                           const float* dy, float* dx, float* dw, float* db);

}  // namespace morphfit::nn_cuda

#endif  // MORPHFIT_CUDA_NN_CONV_CUDA_H_
