// CUDA optimiser steps and gradient-norm helpers (optim_cuda.h).
#include "nn/optim_cuda.h"

#include <cuda_runtime.h>

#include "nn/device_memory.h"
#include "nn/launch.cuh"

namespace morphfit::nn_cuda {
namespace {

using launch::Blocks;
using launch::kThreads;
using launch::Stream;
using launch::Sync;


__global__ void SgdKernel(nn::SgdHyper h, int64_t n, float* w, const float* g, float* v) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n) nn::SgdUpdate(h, g[i], w + i, v + i);
}

__global__ void AdamKernel(nn::AdamHyper h, int64_t n, float* w, const float* g, float* m, float* v) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n) nn::AdamUpdate(h, g[i], w + i, m + i, v + i);
}

// One block: each thread sums a strided subset, then a fixed tree sum.
__global__ void SumOfSquaresKernel(int64_t n, const float* x, double* out) {
  __shared__ double partial[kThreads];
  double sum = 0.0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) sum += static_cast<double>(x[i]) * x[i];
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int s = kThreads / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) partial[threadIdx.x] += partial[threadIdx.x + s];
    __syncthreads();
  }
  if (threadIdx.x == 0) *out = partial[0];
}

__global__ void ScaleKernel(int64_t n, float* x, float scale) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n) x[i] *= scale;
}

}  // namespace

std::string SgdStep(const nn::SgdHyper& h, int64_t n, float* w, const float* g, float* v) {
  if (n > 0) SgdKernel<<<Blocks(n), kThreads, 0, Stream()>>>(h, n, w, g, v);
  return Sync("sgd step");
}

std::string AdamStep(const nn::AdamHyper& h, int64_t n, float* w, const float* g, float* m,
                     float* v) {
  if (n > 0) AdamKernel<<<Blocks(n), kThreads, 0, Stream()>>>(h, n, w, g, m, v);
  return Sync("adam step");
}

std::string SumOfSquares(int64_t n, const float* x, double* sum) {
  double* device_sum = nullptr;
  cudaError_t e = cudaMalloc(&device_sum, sizeof(double));
  if (e != cudaSuccess) return std::string("cudaMalloc: ") + cudaGetErrorString(e);
  SumOfSquaresKernel<<<1, kThreads, 0, Stream()>>>(n, x, device_sum);
  std::string error = Sync("sum of squares");
  if (error.empty()) {
    error = CopyDeviceToHost(sum, device_sum, sizeof(double));
  }
  cudaFree(device_sum);
  return error;
}

std::string Scale(int64_t n, float* x, float scale) {
  if (n > 0) ScaleKernel<<<Blocks(n), kThreads, 0, Stream()>>>(n, x, scale);
  return Sync("scale");
}

}  // namespace morphfit::nn_cuda
