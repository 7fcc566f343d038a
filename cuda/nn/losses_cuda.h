// CUDA losses on device pointers: scale * sum_i w_i rho(x_i - t_i) and its gradient, the same
// per-element penalty and weight indexing as nn::reference::WeightedPenaltyLoss (the CPU twin,
// nn/kernels/losses.h). Plain C++ launcher header; errors are returned as strings (empty =
// success). Calls are synchronous.
#ifndef MORPHFIT_CUDA_NN_LOSSES_CUDA_H_
#define MORPHFIT_CUDA_NN_LOSSES_CUDA_H_

#include <cstdint>
#include <string>

#include "morphfit/nn/kernels/losses.h"

namespace morphfit::nn_cuda {

// dL_dx (device, n floats) is overwritten; *loss (host) receives the value, summed in double
// in a fixed order (deterministic). weights may be null (all 1).
std::string WeightedPenaltyLoss(nn::Penalty p, double beta, int64_t n, const float* x,
                                const float* t, const float* weights, int64_t block,
                                int64_t inner, double scale, float* dL_dx, double* loss);
// *sum (host) = sum of the n device floats at x, in double, fixed order.
std::string Sum(int64_t n, const float* x, double* sum);

}  // namespace morphfit::nn_cuda

#endif  // MORPHFIT_CUDA_NN_LOSSES_CUDA_H_
