// The Tensor-API half of the op table check, shared by the CPU test (grad_check_test.cc) and the
// CUDA test (cuda_ops_test.cc).
#include <gtest/gtest.h>

#include "tests/nn/op_cases.h"

namespace morphfit::nn::testing {
namespace {

// Float Tensor API vs double kernel, scaled by 1 + |double value|: float rounding of sums of up
// to ~150 products of N(0, 1) values (~1e-6 relative; cuBLAS/cuDNN orders differ by as much)
// plus float storage of the inputs.
constexpr double kFloatTolerance = 2e-4;

Tensor Place(const Tensor& host, Device device) {
  return device == Device::kCpu ? host : host.ToDevice().value();
}

}  // namespace

std::vector<Vec> RandomOpInputs(const OpCase& c) {
  std::vector<Vec> inputs;
  for (size_t i = 0; i < c.input_shapes.size(); ++i) {
    Vec v = RandomVec(NumElements(c.input_shapes[i]), 1000 + i, c.positive[i]);
    for (double& x : v) x = static_cast<float>(x);
    inputs.push_back(v);
  }
  return inputs;
}

void CheckTensorApiCase(const OpCase& c, Device device) {
  const std::vector<Vec> inputs = RandomOpInputs(c);
  const Vec y = c.forward(inputs);
  Vec r = RandomVec(static_cast<int64_t>(y.size()), 77);
  for (double& v : r) v = static_cast<float>(v);
  const std::vector<Vec> grads = c.backward(inputs, r);
  std::vector<Tensor> tensors;
  for (size_t i = 0; i < inputs.size(); ++i) {
    tensors.push_back(Place(ToTensor(c.input_shapes[i], inputs[i]), device));
  }
  const StatusOr<TensorApiResult> result =
      c.tensor_api(tensors, Place(ToTensor(c.output_shape, r), device));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->y.shape(), c.output_shape);
  EXPECT_LT(MaxScaledError(ToVec(result->y), y), kFloatTolerance) << "forward";
  ASSERT_EQ(result->grads.size(), inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!c.differentiable[i]) continue;
    ASSERT_TRUE(result->grads[i].defined()) << "input " << i;
    EXPECT_EQ(result->grads[i].shape(), c.input_shapes[i]) << "input " << i;
    EXPECT_EQ(result->grads[i].device(), device) << "input " << i;
    EXPECT_LT(MaxScaledError(ToVec(result->grads[i]), grads[i]), kFloatTolerance)
        << "gradient of input " << i;
  }
}

}  // namespace morphfit::nn::testing
