// Table-driven op checks (ggml's test-backend-ops): for every op in the table, (1) the
// double-precision backward against central differences of the double forward, (2) the float
// Tensor API on the CPU (what networks run) against the double kernels. The same table runs on
// the CUDA backend in cuda_ops_test.cc.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/nn/op_cases.h"

namespace morphfit::nn::testing {
namespace {

// Central-difference step. Truncation error is O(h^2 |f'''|) ~ 1e-12 for these smooth ops;
// rounding error is ~ 1e-16 |L| / h ~ 1e-9 for losses of magnitude ~10.
constexpr double kStep = 1e-6;
// Analytic vs numeric gradient, scaled by 1 + |numeric|: a few orders above both errors, and
// far below any real mistake (a wrong term changes a gradient by O(1)). Kinks (ReLU, L1, max
// pooling) are at distance > h from random N(0, 1) inputs with probability 1 - O(1e-5).
constexpr double kGradTolerance = 1e-6;

}  // namespace

// Test names print the case name instead of the struct's bytes.
void PrintTo(const OpCase& c, std::ostream* os) { *os << c.name; }

namespace {

class OpTest : public ::testing::TestWithParam<OpCase> {};

TEST_P(OpTest, BackwardMatchesCentralDifferences) {
  const OpCase& c = GetParam();
  std::vector<Vec> inputs = RandomOpInputs(c);
  const Vec y = c.forward(inputs);
  const Vec r = RandomVec(static_cast<int64_t>(y.size()), 77);
  const auto loss = [&](const std::vector<Vec>& in) {
    const Vec out = c.forward(in);
    double sum = 0.0;
    for (size_t k = 0; k < out.size(); ++k) sum += r[k] * out[k];
    return sum;
  };
  const std::vector<Vec> analytic = c.backward(inputs, r);
  ASSERT_EQ(analytic.size(), inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!c.differentiable[i]) continue;
    ASSERT_EQ(analytic[i].size(), inputs[i].size()) << "input " << i;
    double worst = 0.0;
    size_t worst_k = 0;
    for (size_t k = 0; k < inputs[i].size(); ++k) {
      const double saved = inputs[i][k];
      inputs[i][k] = saved + kStep;
      const double plus = loss(inputs);
      inputs[i][k] = saved - kStep;
      const double minus = loss(inputs);
      inputs[i][k] = saved;
      const double numeric = (plus - minus) / (2 * kStep);
      const double err = std::fabs(analytic[i][k] - numeric) / (1.0 + std::fabs(numeric));
      if (err > worst) worst = err, worst_k = k;
    }
    EXPECT_LT(worst, kGradTolerance) << c.name << " input " << i << " element " << worst_k;
  }
}

TEST_P(OpTest, FloatTensorApiMatchesDoubleKernel) { CheckTensorApiCase(GetParam(), Device::kCpu); }

INSTANTIATE_TEST_SUITE_P(AllOps, OpTest, ::testing::ValuesIn(AllOpCases()),
                         [](const ::testing::TestParamInfo<OpCase>& info) { return info.param.name; });

}  // namespace
}  // namespace morphfit::nn::testing
