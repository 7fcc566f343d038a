// Helpers shared by the tensor-layer CUDA tests: skipping without a device, device buffers,
// random inputs and a scaled error. Header-only; links only the CUDA layer and GoogleTest.
#ifndef MORPHFIT_TESTS_CUDA_NN_CUDA_TEST_UTIL_H_
#define MORPHFIT_TESTS_CUDA_NN_CUDA_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "nn/device_memory.h"

#define MORPHFIT_SKIP_WITHOUT_CUDA()                                   \
  do {                                                                 \
    std::string reason;                                                \
    if (!::morphfit::nn_cuda::DeviceAvailable(&reason)) GTEST_SKIP() << reason; \
  } while (0)

namespace morphfit::nn_cuda::cuda_test {

// n values drawn uniformly from [lo, hi) by a seeded mt19937.
inline std::vector<float> Random(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> uni(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = uni(gen);
  return v;
}

// Device copy of a host vector (or n zeros), freed on destruction.
class DeviceBuffer {
 public:
  explicit DeviceBuffer(const std::vector<float>& host) : n_(host.size()) {
    void* p = nullptr;
    EXPECT_EQ(Allocate(n_ * sizeof(float) + 4, &p), "");
    ptr_ = static_cast<float*>(p);
    EXPECT_EQ(CopyHostToDevice(ptr_, host.data(), n_ * sizeof(float)), "");
  }
  explicit DeviceBuffer(size_t n) : DeviceBuffer(std::vector<float>(n, 0.0f)) {}
  ~DeviceBuffer() { Free(ptr_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  float* get() { return ptr_; }
  std::vector<float> Host() const {
    std::vector<float> out(n_);
    EXPECT_EQ(CopyDeviceToHost(out.data(), ptr_, n_ * sizeof(float)), "");
    return out;
  }

 private:
  size_t n_;
  float* ptr_ = nullptr;
};

// max_i |a_i - b_i| / (1 + |b_i|); a size mismatch counts as an enormous error.
inline double MaxScaledError(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = a.size() == b.size() ? 0.0 : 1e300;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    worst = std::max(worst, std::fabs(static_cast<double>(a[i]) - b[i]) / (1.0 + std::fabs(b[i])));
  }
  return worst;
}

}  // namespace morphfit::nn_cuda::cuda_test

#endif  // MORPHFIT_TESTS_CUDA_NN_CUDA_TEST_UTIL_H_
