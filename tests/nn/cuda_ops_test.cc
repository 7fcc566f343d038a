// The op table (op_cases.cc) on the CUDA backend: every op's Tensor API with inputs on the
// device against the double-precision CPU kernels. Skips with the reason without a device.
#include <gtest/gtest.h>

#include "tests/nn/op_cases.h"

namespace morphfit::nn::testing {

void PrintTo(const OpCase& c, std::ostream* os) { *os << c.name; }

namespace {

class CudaOpTest : public ::testing::TestWithParam<OpCase> {};

TEST_P(CudaOpTest, TensorApiOnTheDeviceMatchesDoubleKernel) {
  std::string reason;
  if (!CudaAvailable(&reason)) GTEST_SKIP() << reason;
  CheckTensorApiCase(GetParam(), Device::kCuda);
}

INSTANTIATE_TEST_SUITE_P(AllOps, CudaOpTest, ::testing::ValuesIn(AllOpCases()),
                         [](const ::testing::TestParamInfo<OpCase>& info) { return info.param.name; });

}  // namespace
}  // namespace morphfit::nn::testing
