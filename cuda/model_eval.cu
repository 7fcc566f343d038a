// CUDA kernel for batched linear-model evaluation: one thread per output row and batch item,
// each calling the shared per-row formula math::LinearModelRow. Adjacent threads read adjacent
// rows of a basis column, so the loads coalesce.
#include "model_eval.h"

#include <cuda_runtime.h>

#include "morphfit/math/linear_model.h"

namespace morphfit::cuda {
namespace {

constexpr int kThreadsPerBlock = 256;
constexpr int kMaxSharedModes = 512;  // coefficients staged in shared memory per batch item

std::string Error(const char* what, cudaError_t err) {
  return std::string(what) + ": " + cudaGetErrorString(err);
}

__global__ void LinearModelKernel(const float* __restrict__ mean, const float* __restrict__ basis,
                                  int64_t rows, int num_modes, const float* __restrict__ coeffs,
                                  float* __restrict__ out) {
  __shared__ float coeffs_shared[kMaxSharedModes];
  const int b = blockIdx.y;
  for (int k = threadIdx.x; k < num_modes; k += blockDim.x) {
    coeffs_shared[k] = coeffs[static_cast<int64_t>(b) * num_modes + k];
  }
  __syncthreads();
  const int64_t r = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r >= rows) return;
  out[static_cast<int64_t>(b) * rows + r] =
      math::LinearModelRow<float>(mean, basis, rows, num_modes, coeffs_shared, r);
}

}  // namespace

bool DeviceAvailable(std::string* reason) {
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    if (reason) *reason = Error("no usable CUDA device (cudaGetDeviceCount)", err);
    cudaGetLastError();  // clear the sticky error
    return false;
  }
  if (count == 0) {
    if (reason) *reason = "no CUDA device present";
    return false;
  }
  return true;
}

DeviceLinearModel::~DeviceLinearModel() { Free(); }

void DeviceLinearModel::Free() {
  cudaFree(mean_);
  cudaFree(basis_);
  cudaFree(coeffs_);
  cudaFree(out_);
  mean_ = basis_ = coeffs_ = out_ = nullptr;
  scratch_batch_ = 0;
}

std::string DeviceLinearModel::Upload(const float* mean, const float* basis, int64_t rows,
                                      int num_modes) {
  if (rows <= 0 || num_modes < 0) return "DeviceLinearModel::Upload: empty model";
  if (num_modes > kMaxSharedModes) {
    return "DeviceLinearModel::Upload: " + std::to_string(num_modes) + " modes, at most " +
           std::to_string(kMaxSharedModes) + " supported";
  }
  Free();
  rows_ = rows;
  num_modes_ = num_modes;
  cudaError_t err = cudaMalloc(&mean_, rows * sizeof(float));
  if (err != cudaSuccess) return Error("cudaMalloc(mean)", err);
  err = cudaMemcpy(mean_, mean, rows * sizeof(float), cudaMemcpyHostToDevice);
  if (err != cudaSuccess) return Error("cudaMemcpy(mean)", err);
  const size_t basis_bytes = static_cast<size_t>(rows) * num_modes * sizeof(float);
  if (basis_bytes > 0) {
    err = cudaMalloc(&basis_, basis_bytes);
    if (err != cudaSuccess) return Error("cudaMalloc(basis)", err);
    err = cudaMemcpy(basis_, basis, basis_bytes, cudaMemcpyHostToDevice);
    if (err != cudaSuccess) return Error("cudaMemcpy(basis)", err);
  }
  return {};
}

std::string DeviceLinearModel::EvaluateBatchDevice(const float* coeffs_device, int batch,
                                                   float* out_device) {
  if (mean_ == nullptr) return "DeviceLinearModel: Upload() first";
  if (batch <= 0) return {};
  if (batch > 65535) return "DeviceLinearModel: batch above 65535";
  const dim3 grid(static_cast<unsigned>((rows_ + kThreadsPerBlock - 1) / kThreadsPerBlock),
                  static_cast<unsigned>(batch));
  LinearModelKernel<<<grid, kThreadsPerBlock>>>(mean_, basis_, rows_, num_modes_, coeffs_device,
                                                out_device);
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) return Error("LinearModelKernel launch", err);
  err = cudaDeviceSynchronize();
  if (err != cudaSuccess) return Error("LinearModelKernel", err);
  return {};
}

std::string DeviceLinearModel::EvaluateBatch(const float* coeffs_host, int batch, float* out_host) {
  if (mean_ == nullptr) return "DeviceLinearModel: Upload() first";
  if (batch <= 0) return {};
  if (batch > scratch_batch_) {
    cudaFree(coeffs_);
    cudaFree(out_);
    coeffs_ = out_ = nullptr;
    cudaError_t err = cudaMalloc(&coeffs_, static_cast<size_t>(batch) * std::max(num_modes_, 1) * sizeof(float));
    if (err != cudaSuccess) return Error("cudaMalloc(coeffs)", err);
    err = cudaMalloc(&out_, static_cast<size_t>(batch) * rows_ * sizeof(float));
    if (err != cudaSuccess) return Error("cudaMalloc(out)", err);
    scratch_batch_ = batch;
  }
  cudaError_t err = cudaMemcpy(coeffs_, coeffs_host,
                               static_cast<size_t>(batch) * num_modes_ * sizeof(float),
                               cudaMemcpyHostToDevice);
  if (err != cudaSuccess) return Error("cudaMemcpy(coeffs)", err);
  std::string error = EvaluateBatchDevice(coeffs_, batch, out_);
  if (!error.empty()) return error;
  err = cudaMemcpy(out_host, out_, static_cast<size_t>(batch) * rows_ * sizeof(float),
                   cudaMemcpyDeviceToHost);
  if (err != cudaSuccess) return Error("cudaMemcpy(out)", err);
  return {};
}

}  // namespace morphfit::cuda
