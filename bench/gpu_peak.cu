// FP32 FMA peak of the device (gpu_peak.h). Each thread runs 8 independent chains of
// kIterations dependent FMAs (enough independent work to hide the FMA latency), over 32 blocks
// per SM of 256 threads; the result is stored so the compiler cannot drop the chains.
#include "gpu_peak.h"

#include <cuda_runtime.h>

#include <algorithm>

namespace morphfit::bench {
namespace {

constexpr int kChains = 8;
constexpr int kIterations = 4096;
constexpr int kThreads = 256;

__global__ void FmaKernel(float a, float b, float* out) {
  float acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = threadIdx.x * 1e-3f + c;
#pragma unroll 16
  for (int i = 0; i < kIterations; ++i) {
#pragma unroll
    for (int c = 0; c < kChains; ++c) acc[c] = fmaf(acc[c], a, b);
  }
  float sum = 0.0f;
  for (int c = 0; c < kChains; ++c) sum += acc[c];
  out[blockIdx.x * blockDim.x + threadIdx.x] = sum;
}

std::string Error(cudaError_t e, const char* what) {
  return e == cudaSuccess ? std::string() : std::string(what) + ": " + cudaGetErrorString(e);
}

}  // namespace

std::string MeasureFp32Peak(int repeats, double* flops_per_second) {
  *flops_per_second = 0.0;
  int device = 0, sms = 0;
  std::string e = Error(cudaGetDevice(&device), "cudaGetDevice");
  if (e.empty()) e = Error(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device), "SM count");
  if (!e.empty()) return e;
  const int blocks = 32 * sms;
  float* out = nullptr;
  if (!(e = Error(cudaMalloc(&out, sizeof(float) * blocks * kThreads), "cudaMalloc")).empty()) return e;
  cudaEvent_t start, stop;
  cudaEventCreate(&start);
  cudaEventCreate(&stop);
  const double flops = 2.0 * kChains * kIterations * static_cast<double>(blocks) * kThreads;
  for (int r = 0; r < repeats + 1 && e.empty(); ++r) {  // the first run warms up
    cudaEventRecord(start);
    FmaKernel<<<blocks, kThreads>>>(0.999f, 1e-4f, out);
    cudaEventRecord(stop);
    e = Error(cudaEventSynchronize(stop), "FMA kernel");
    float ms = 0.0f;
    cudaEventElapsedTime(&ms, start, stop);
    if (e.empty() && r > 0 && ms > 0.0f) *flops_per_second = std::max(*flops_per_second, flops / (ms * 1e-3));
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  cudaFree(out);
  return e;
}

}  // namespace morphfit::bench
