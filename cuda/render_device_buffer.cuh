// Owning device allocation for the render kernels' launchers (CUDA-only internal header: included
// by cuda/render_*.cu, never by the plain-C++ launcher headers).
#ifndef MORPHFIT_CUDA_RENDER_DEVICE_BUFFER_CUH_
#define MORPHFIT_CUDA_RENDER_DEVICE_BUFFER_CUH_

#include <cuda_runtime.h>

#include <cstddef>
#include <string>

namespace morphfit::cuda {

inline std::string CudaError(const char* what, cudaError_t err) {
  return std::string(what) + ": " + cudaGetErrorString(err);
}

// A typed device array; Allocate and the copies return an error message (empty = success).
template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  ~DeviceBuffer() { cudaFree(data_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  std::string Allocate(size_t count, const char* what) {
    cudaFree(data_);
    data_ = nullptr;
    count_ = count;
    if (count == 0) return {};
    const cudaError_t err = cudaMalloc(&data_, count * sizeof(T));
    return err == cudaSuccess ? std::string() : CudaError(what, err);
  }
  // Allocates count elements and copies them from host (a null host pointer leaves it unset).
  std::string Upload(const T* host, size_t count, const char* what) {
    std::string error = Allocate(count, what);
    if (!error.empty() || host == nullptr || count == 0) return error;
    const cudaError_t err = cudaMemcpy(data_, host, count * sizeof(T), cudaMemcpyHostToDevice);
    return err == cudaSuccess ? std::string() : CudaError(what, err);
  }
  std::string Download(T* host, size_t count, const char* what) const {
    if (count == 0) return {};
    const cudaError_t err = cudaMemcpy(host, data_, count * sizeof(T), cudaMemcpyDeviceToHost);
    return err == cudaSuccess ? std::string() : CudaError(what, err);
  }
  T* get() const { return data_; }
  size_t size() const { return count_; }

 private:
  T* data_ = nullptr;
  size_t count_ = 0;
};

// Error of the last launch and of the kernels run so far (synchronises).
inline std::string CheckKernels(const char* what) {
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) return CudaError(what, err);
  err = cudaDeviceSynchronize();
  return err == cudaSuccess ? std::string() : CudaError(what, err);
}

}  // namespace morphfit::cuda

#endif  // MORPHFIT_CUDA_RENDER_DEVICE_BUFFER_CUH_
