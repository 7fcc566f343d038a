// Batched evaluation of a linear model (model vertices or albedo) on a CUDA device. Plain C++
// launcher header: no CUDA types, so CPU code and tests can include it. The per-row formula is
// math::LinearModelRow, shared with the CPU twin math::EvaluateLinearModelReference.
#ifndef MORPHFIT_CUDA_MODEL_EVAL_H_
#define MORPHFIT_CUDA_MODEL_EVAL_H_

#include <cstdint>
#include <string>

namespace morphfit::cuda {

// True when a CUDA device can be used. Otherwise `reason` says why (any error from
// cudaGetDeviceCount counts: without a GPU it reports an insufficient driver, not "no device").
bool DeviceAvailable(std::string* reason);

// A linear model (mean + column-major basis) resident on the device, evaluated for many
// coefficient vectors per launch. Errors are returned as strings (empty = success): this layer
// links only CUDA, not morphfit_core.
class DeviceLinearModel {
 public:
  DeviceLinearModel() = default;
  ~DeviceLinearModel();
  DeviceLinearModel(const DeviceLinearModel&) = delete;
  DeviceLinearModel& operator=(const DeviceLinearModel&) = delete;

  // Copies mean (rows) and basis (rows x num_modes, column-major) to the device.
  std::string Upload(const float* mean, const float* basis, int64_t rows, int num_modes);

  // out_host[b * rows + r] for b < batch; coeffs_host is batch x num_modes, row-major.
  std::string EvaluateBatch(const float* coeffs_host, int batch, float* out_host);

  // Same on device pointers (no host transfers); synchronises before returning.
  std::string EvaluateBatchDevice(const float* coeffs_device, int batch, float* out_device);

  int64_t rows() const { return rows_; }
  int num_modes() const { return num_modes_; }

 private:
  void Free();
  float* mean_ = nullptr;
  float* basis_ = nullptr;
  float* coeffs_ = nullptr;  // scratch for EvaluateBatch
  float* out_ = nullptr;
  int64_t scratch_batch_ = 0;
  int64_t rows_ = 0;
  int num_modes_ = 0;
};

}  // namespace morphfit::cuda

#endif  // MORPHFIT_CUDA_MODEL_EVAL_H_
