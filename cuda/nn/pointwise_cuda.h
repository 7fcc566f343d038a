// CUDA elementwise, batch-norm and pooling kernels on device pointers. Per-element formulas come
// from nn/kernels/*.h (shared with the CPU twins); semantics match those references: dx
// overwritten, parameter gradients accumulated. Plain C++ launcher header; errors are returned
// as strings (empty = success). Calls are synchronous.
#ifndef MORPHFIT_CUDA_NN_POINTWISE_CUDA_H_
#define MORPHFIT_CUDA_NN_POINTWISE_CUDA_H_

#include <cstdint>
#include <string>

#include "morphfit/nn/kernels/activation.h"
#include "morphfit/nn/kernels/pool.h"

namespace morphfit::nn_cuda {

std::string ActivationForward(nn::Activation a, float slope, int64_t n, const float* x, float* y);
std::string ActivationBackward(nn::Activation a, float slope, int64_t n, const float* x,
                               const float* y, const float* dy, float* dx);
// y = a + b.
std::string Add(int64_t n, const float* a, const float* b, float* y);
// y = a * b (dropout's mask multiply).
std::string Multiply(int64_t n, const float* a, const float* b, float* y);

// Batch norm over x [n, c, hw] (see nn/kernels/batch_norm.h). The training forward also updates
// running_mean / running_var when they are non-null (momentum; unbiased variance).
std::string BatchNormForwardTrain(int64_t n, int64_t c, int64_t hw, const float* x,
                                  const float* gamma, const float* beta, double eps,
                                  double momentum, float* y, float* save_mean,
                                  float* save_inv_std, float* running_mean, float* running_var);
std::string BatchNormBackwardTrain(int64_t n, int64_t c, int64_t hw, const float* x,
                                   const float* gamma, const float* save_mean,
                                   const float* save_inv_std, const float* dy, float* dx,
                                   float* dgamma, float* dbeta);
std::string BatchNormForwardEval(int64_t n, int64_t c, int64_t hw, const float* x,
                                 const float* gamma, const float* beta, const float* running_mean,
                                 const float* running_var, double eps, float* y);
std::string BatchNormBackwardEval(int64_t n, int64_t c, int64_t hw, const float* x,
                                  const float* gamma, const float* running_mean,
                                  const float* running_var, double eps, const float* dy, float* dx,
                                  float* dgamma, float* dbeta);

// Pooling (nn/kernels/pool.h). Max-pool backward recomputes each window's maximum from x and
// gathers per input pixel (deterministic, no atomics).
std::string MaxPool2dForward(const nn::Pool2dGeometry& g, const float* x, float* y);
std::string MaxPool2dBackward(const nn::Pool2dGeometry& g, const float* x, const float* dy,
                              float* dx);
std::string AvgPool2dForward(const nn::Pool2dGeometry& g, const float* x, float* y);
std::string AvgPool2dBackward(const nn::Pool2dGeometry& g, const float* dy, float* dx);
std::string GlobalAvgPoolForward(int64_t n, int64_t c, int64_t hw, const float* x, float* y);
std::string GlobalAvgPoolBackward(int64_t n, int64_t c, int64_t hw, const float* dy, float* dx);

}  // namespace morphfit::nn_cuda

#endif  // MORPHFIT_CUDA_NN_POINTWISE_CUDA_H_
