// Loss values and gradients on the device (losses_cuda.h). Gradients are elementwise; values are
// per-block partial sums (fixed grid) added on the host in block order, so the result does not
// depend on scheduling.
#include "nn/losses_cuda.h"

#include <cuda_runtime.h>

#include <vector>

#include "nn/device_memory.h"
#include "nn/launch.cuh"

namespace morphfit::nn_cuda {
namespace {

using launch::Error;
using launch::kThreads;
using launch::Stream;
constexpr int kMaxBlocks = 1024;

// Each block writes one partial sum of its grid-strided elements (tree sum within the block):
// of w_i rho(x_i - t_i) (writing dL_dx too), or with plain_sum of x_i alone.
__global__ void PenaltyKernel(bool plain_sum, nn::Penalty p, double beta, int64_t n,
                              const float* x, const float* t, const float* weights, int64_t block,
                              int64_t inner, double scale, float* dL_dx, double* partials) {
  __shared__ double shared[kThreads];
  double sum = 0.0;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    if (plain_sum) {
      sum += x[i];
      continue;
    }
    const double d = static_cast<double>(x[i]) - t[i];
    const double w = weights ? static_cast<double>(weights[nn::WeightIndex(i, block, inner)]) : 1.0;
    sum += w * nn::PenaltyValue(p, d, beta);
    dL_dx[i] = static_cast<float>(scale * w * nn::PenaltyDerivative(p, d, beta));
  }
  shared[threadIdx.x] = sum;
  __syncthreads();
  for (int s = kThreads / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) shared[threadIdx.x] += shared[threadIdx.x + s];
    __syncthreads();
  }
  if (threadIdx.x == 0) partials[blockIdx.x] = shared[0];
}

// Launches PenaltyKernel and adds the block partials on the host in block order.
std::string Reduce(bool plain_sum, nn::Penalty p, double beta, int64_t n, const float* x, const float* t,
                   const float* weights, int64_t block, int64_t inner, double scale, float* dL_dx,
                   double* total) {
  *total = 0.0;
  if (n <= 0) return "";
  const int64_t wanted = (n + kThreads - 1) / kThreads;
  const int blocks = static_cast<int>(wanted < kMaxBlocks ? wanted : kMaxBlocks);
  void* ptr = nullptr;
  std::string e = Allocate(sizeof(double) * blocks, &ptr);
  if (!e.empty()) return e;
  double* partials = static_cast<double*>(ptr);
  PenaltyKernel<<<blocks, kThreads, 0, Stream()>>>(
      plain_sum, p, beta, n, x, t, weights, block, inner, scale,
                                      dL_dx, partials);
  e = Error(cudaGetLastError(), "loss kernel");
  std::vector<double> host(static_cast<size_t>(blocks));
  if (e.empty()) e = CopyDeviceToHost(host.data(), partials, sizeof(double) * blocks);
  Free(ptr);
  for (double v : host) *total += v;
  return e;
}

}  // namespace

std::string WeightedPenaltyLoss(nn::Penalty p, double beta, int64_t n, const float* x,
                                const float* t, const float* weights, int64_t block,
                                int64_t inner, double scale, float* dL_dx, double* loss) {
  double sum = 0.0;
  const std::string e = Reduce(false, p, beta, n, x, t, weights, block, inner, scale, dL_dx, &sum);
  *loss = sum * scale;
  return e;
}

std::string Sum(int64_t n, const float* x, double* sum) {
  return Reduce(true, nn::Penalty::kSquared, 0.0, n, x, nullptr, nullptr, 1, 1, 1.0, nullptr, sum);
}

}  // namespace morphfit::nn_cuda
