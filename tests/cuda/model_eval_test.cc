// CUDA batched linear-model evaluation vs its CPU twin (math::EvaluateLinearModelReference).
#include "model_eval.h"

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "morphfit/math/linear_model.h"

namespace morphfit::cuda {
namespace {

// Both sides accumulate the same terms in the same order; they differ only where the compilers
// fuse multiply-adds differently, a few float ulps of values of magnitude ~100.
constexpr float kAbsTolerance = 2e-3f;

#define MORPHFIT_SKIP_WITHOUT_CUDA()                  \
  do {                                                \
    std::string reason;                               \
    if (!DeviceAvailable(&reason)) GTEST_SKIP() << reason; \
  } while (0)

struct RandomModel {
  std::vector<float> mean, basis, coeffs;
};

RandomModel MakeRandomModel(int64_t rows, int modes, int batch, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
  RandomModel m;
  m.mean.resize(rows);
  m.basis.resize(rows * modes);
  m.coeffs.resize(static_cast<size_t>(batch) * modes);
  for (auto& v : m.mean) v = 100.0f * uni(gen);
  for (auto& v : m.basis) v = uni(gen);
  for (auto& v : m.coeffs) v = 2.0f * uni(gen);
  return m;
}

TEST(ModelEvalCudaTest, BatchMatchesCpuTwin) {
  MORPHFIT_SKIP_WITHOUT_CUDA();
  const int64_t rows = 3 * 5003;  // not a multiple of the block size
  const int modes = 80, batch = 7;
  const RandomModel m = MakeRandomModel(rows, modes, batch, 1);
  DeviceLinearModel device;
  ASSERT_EQ(device.Upload(m.mean.data(), m.basis.data(), rows, modes), "");
  std::vector<float> gpu(batch * rows), cpu(batch * rows);
  ASSERT_EQ(device.EvaluateBatch(m.coeffs.data(), batch, gpu.data()), "");
  math::EvaluateLinearModelReference(m.mean.data(), m.basis.data(), rows, modes, m.coeffs.data(),
                                     batch, cpu.data());
  float worst = 0.0f;
  for (size_t i = 0; i < cpu.size(); ++i) worst = std::max(worst, std::fabs(gpu[i] - cpu[i]));
  EXPECT_LT(worst, kAbsTolerance);
}

TEST(ModelEvalCudaTest, ZeroCoefficientsGiveTheMean) {
  MORPHFIT_SKIP_WITHOUT_CUDA();
  const int64_t rows = 300;
  const int modes = 5;
  RandomModel m = MakeRandomModel(rows, modes, 1, 2);
  std::fill(m.coeffs.begin(), m.coeffs.end(), 0.0f);
  DeviceLinearModel device;
  ASSERT_EQ(device.Upload(m.mean.data(), m.basis.data(), rows, modes), "");
  std::vector<float> gpu(rows);
  ASSERT_EQ(device.EvaluateBatch(m.coeffs.data(), 1, gpu.data()), "");
  for (int64_t r = 0; r < rows; ++r) EXPECT_EQ(gpu[r], m.mean[r]) << "row " << r;
}

TEST(ModelEvalCudaTest, RejectsTooManyModes) {
  MORPHFIT_SKIP_WITHOUT_CUDA();
  const RandomModel m = MakeRandomModel(30, 600, 1, 3);
  DeviceLinearModel device;
  EXPECT_NE(device.Upload(m.mean.data(), m.basis.data(), 30, 600), "");
}

// Runs without a GPU too: the CPU twin itself against a direct double-precision sum.
TEST(ModelEvalCpuTwinTest, MatchesDoubleSum) {
  const int64_t rows = 99;
  const int modes = 13, batch = 3;
  const RandomModel m = MakeRandomModel(rows, modes, batch, 4);
  std::vector<float> out(batch * rows);
  math::EvaluateLinearModelReference(m.mean.data(), m.basis.data(), rows, modes, m.coeffs.data(),
                                     batch, out.data());
  for (int b = 0; b < batch; ++b) {
    for (int64_t r = 0; r < rows; ++r) {
      double expected = m.mean[r];
      for (int k = 0; k < modes; ++k) expected += double(m.basis[r + k * rows]) * m.coeffs[b * modes + k];
      EXPECT_NEAR(out[b * rows + r], expected, 1e-4);
    }
  }
}

}  // namespace
}  // namespace morphfit::cuda
