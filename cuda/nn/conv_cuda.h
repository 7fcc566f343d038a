// CUDA convolution and linear layers on device pointers. Convolution runs either im2col kernels
// + cuBLAS SGEMM (the default) or cuDNN (opt-in, SetConvBackend). Same semantics as
// nn/kernels/conv_reference.h (the CPU twin): dx overwritten, dw/db accumulated (+=), null
// gradient pointers skipped. Plain C++ launcher header; errors are returned as strings
// (empty = success). Calls are synchronous.
#ifndef MORPHFIT_CUDA_NN_CONV_CUDA_H_
#define MORPHFIT_CUDA_NN_CONV_CUDA_H_

#include <cstdint>
#include <string>

#include "morphfit/nn/kernels/conv_geometry.h"

namespace morphfit::nn_cuda {

enum class ConvBackend {
  kIm2colCublas,  // im2col + cuBLAS SGEMM, deterministic col2im gather
  kCudnn,         // cuDNN 9 legacy convolution API, heuristically chosen algorithms
};
// Process-wide choice for Conv2dForward/Backward (not thread-safe against running convs).
void SetConvBackend(ConvBackend backend);
ConvBackend GetConvBackend();
// Whether cuDNN may use TF32 tensor cores (10-bit mantissa inputs; PyTorch's default for
// convolutions). Off by default so results match the float CPU twin to ~1e-5.
void SetAllowTf32(bool allow);
// True when cuDNN initialises (library found, device usable); otherwise `reason` says why.
bool CudnnAvailable(std::string* reason);

std::string Conv2dForward(const nn::Conv2dGeometry& g, const float* x, const float* w,
                          const float* b, float* y);
std::string Conv2dBackward(const nn::Conv2dGeometry& g, const float* x, const float* w,
                           const float* dy, float* dx, float* dw, float* db);
// y [n, out] = x [n, in] w^T + b, w [out, in].
std::string LinearForward(int64_t n, int64_t in, int64_t out, const float* x, const float* w,
                          const float* b, float* y);
std::string LinearBackward(int64_t n, int64_t in, int64_t out, const float* x, const float* w,
                           const float* dy, float* dx, float* dw, float* db);

// y [n, c, hw] += b[c]; db[c] += sum of dy [n, c, hw] over n and hw (fixed-order block sums).
std::string AddChannelBias(int64_t n, int64_t c, int64_t hw, const float* b, float* y);
std::string ChannelSumAccumulate(int64_t n, int64_t c, int64_t hw, const float* dy, float* db);

}  // namespace morphfit::nn_cuda

#endif  // MORPHFIT_CUDA_NN_CONV_CUDA_H_
