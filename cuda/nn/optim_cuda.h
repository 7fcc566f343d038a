// CUDA optimiser steps and gradient-norm helpers on device pointers; per-element updates from
// nn/kernels/optim_update.h (the CPU optimisers use the same functions). Plain C++ launcher
// header; errors are returned as strings (empty = success). Calls are synchronous.
#ifndef MORPHFIT_CUDA_NN_OPTIM_CUDA_H_
#define MORPHFIT_CUDA_NN_OPTIM_CUDA_H_

#include <cstdint>
#include <string>

#include "morphfit/nn/kernels/optim_update.h"

namespace morphfit::nn_cuda {

// w, v updated in place from g (n elements each).
std::string SgdStep(const nn::SgdHyper& h, int64_t n, float* w, const float* g, float* v);
std::string AdamStep(const nn::AdamHyper& h, int64_t n, float* w, const float* g, float* m,
                     float* v);
// *sum = sum of x[i]^2 in double (one block, fixed-order tree sum: deterministic).
std::string SumOfSquares(int64_t n, const float* x, double* sum);
// x *= scale.
std::string Scale(int64_t n, float* x, float scale);

}  // namespace morphfit::nn_cuda

#endif  // MORPHFIT_CUDA_NN_OPTIM_CUDA_H_
