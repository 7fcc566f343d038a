// End-to-end CUDA dispatch through the Tensor API: a small residual CNN (conv, BN in training
// mode, ReLU, max pool, residual add, global pooling, linear, then an AdamW step) and a decoder
// (transposed conv, upsampling, dropout, L2 normalisation) run forward and backward on the
// device must match the same networks on the CPU. Skips with the reason without a CUDA device.
#include <gtest/gtest.h>

#include "morphfit/nn/layers.h"
#include "morphfit/nn/losses.h"
#include "morphfit/nn/networks.h"
#include "morphfit/nn/optim.h"
#include "tests/nn/op_test_util.h"

namespace morphfit::nn::testing {
namespace {

// float on both sides, different summation orders (cuBLAS vs Eigen, block vs serial sums),
// through about ten layers with batch normalisation: relative agreement ~1e-5; 1e-3 bounds it.
constexpr double kTolerance = 1e-3;

std::unique_ptr<Sequential> SmallNet() {
  auto net = std::make_unique<Sequential>();
  net->Add(std::make_unique<Conv2dLayer>(3, 8, 3, Conv2dOptions{2, 1, 1, 1}, true, 1));
  net->Add(std::make_unique<BatchNorm2dLayer>(8));
  net->Add(std::make_unique<ActivationLayer>(Activation::kRelu));
  net->Add(std::make_unique<Pool2dLayer>(PoolKind::kMax, Pool2dOptions{3, 2, 1}));
  net->Add(MakeDepthwiseSeparableBlock(8, 16, 1, 2));
  net->Add(MakeInvertedResidual(16, 16, 1, 2, 3));
  net->Add(std::make_unique<GlobalAvgPoolLayer>());
  net->Add(std::make_unique<LinearLayer>(16, 4, true, 4));
  return net;
}

// A decoder-style network: transposed convolution, bilinear and nearest upsampling, dropout
// (same seed, so the same masks) and unit normals.
std::unique_ptr<Sequential> DecoderNet() {
  auto net = std::make_unique<Sequential>();
  net->Add(std::make_unique<ConvTranspose2dLayer>(4, 6, 3, ConvTranspose2dOptions{2, 1, 1, 1, 1},
                                                  true, 7));
  net->Add(std::make_unique<ActivationLayer>(Activation::kLeakyRelu, 0.1f));
  net->Add(std::make_unique<UpsampleLayer>(2, /*bilinear=*/true));
  net->Add(std::make_unique<DropoutLayer>(0.2, 8));
  net->Add(std::make_unique<UpsampleLayer>(2, /*bilinear=*/false));
  net->Add(std::make_unique<Conv2dLayer>(6, 3, 3, Conv2dOptions{1, 1, 1, 1}, true, 9));
  net->Add(std::make_unique<L2NormalizeLayer>());
  return net;
}

TEST(CudaModuleTest, DecoderForwardAndBackwardMatchTheCpu) {
  std::string reason;
  if (!CudaAvailable(&reason)) GTEST_SKIP() << reason;
  auto cpu_net = DecoderNet(), gpu_net = DecoderNet();
  ASSERT_TRUE(ModuleToDevice(*gpu_net).ok());
  const Tensor x = ToTensor({2, 4, 5, 5}, RandomVec(200, 11));
  ZeroGrad(*cpu_net);
  ZeroGrad(*gpu_net);
  const Tensor y_cpu = cpu_net->Forward(x).value();
  ASSERT_EQ(y_cpu.shape(), (Shape{2, 3, 40, 40}));
  const Tensor dy = ToTensor(y_cpu.shape(), RandomVec(y_cpu.size(), 12));
  const Tensor dx_cpu = cpu_net->Backward(dy).value();
  const Tensor y_gpu = gpu_net->Forward(x.ToDevice().value()).value();
  const Tensor dx_gpu = gpu_net->Backward(dy.ToDevice().value()).value();
  EXPECT_LT(MaxScaledError(ToVec(y_gpu), ToVec(y_cpu)), kTolerance);
  EXPECT_LT(MaxScaledError(ToVec(dx_gpu), ToVec(dx_cpu)), kTolerance);
  const std::vector<NamedParameter> pc = NamedParameters(*cpu_net), pg = NamedParameters(*gpu_net);
  for (size_t i = 0; i < pc.size(); ++i) {
    EXPECT_LT(MaxScaledError(ToVec(pg[i].parameter->grad), ToVec(pc[i].parameter->grad)), kTolerance)
        << pc[i].name;
  }
}

TEST(CudaModuleTest, ForwardAndBackwardMatchTheCpu) {
  std::string reason;
  if (!CudaAvailable(&reason)) GTEST_SKIP() << reason;
  auto cpu_net = SmallNet(), gpu_net = SmallNet();
  ASSERT_TRUE(ModuleToDevice(*gpu_net).ok());
  const Tensor x = ToTensor({2, 3, 20, 20}, RandomVec(2 * 3 * 400, 5));
  const Tensor dy = ToTensor({2, 4}, RandomVec(8, 6));
  ZeroGrad(*cpu_net);
  ZeroGrad(*gpu_net);
  const Tensor y_cpu = cpu_net->Forward(x).value();
  const Tensor dx_cpu = cpu_net->Backward(dy).value();
  const Tensor x_gpu = x.ToDevice().value();
  const Tensor y_gpu = gpu_net->Forward(x_gpu).value();
  EXPECT_EQ(y_gpu.device(), Device::kCuda);
  const Tensor dx_gpu = gpu_net->Backward(dy.ToDevice().value()).value();
  EXPECT_LT(MaxScaledError(ToVec(y_gpu), ToVec(y_cpu)), kTolerance);
  EXPECT_LT(MaxScaledError(ToVec(dx_gpu), ToVec(dx_cpu)), kTolerance);
  const std::vector<NamedParameter> pc = NamedParameters(*cpu_net), pg = NamedParameters(*gpu_net);
  ASSERT_EQ(pc.size(), pg.size());
  for (size_t i = 0; i < pc.size(); ++i) {
    const Parameter& a = *pc[i].parameter;
    const Parameter& b = *pg[i].parameter;
    EXPECT_LT(MaxScaledError(ToVec(b.value), ToVec(a.value)), kTolerance) << pc[i].name;
    if (a.trainable) {
      EXPECT_LT(MaxScaledError(ToVec(b.grad), ToVec(a.grad)), kTolerance) << pc[i].name;
    }
  }
  // One clipped AdamW step on each side updates the weights alike.
  AdamOptions options;
  options.weight_decay = 0.01, options.decoupled_weight_decay = true;
  Adam adam_cpu(pc, options), adam_gpu(pg, options);
  const double norm_cpu = ClipGradNorm(pc, 0.5).value(), norm_gpu = ClipGradNorm(pg, 0.5).value();
  EXPECT_NEAR(norm_gpu, norm_cpu, kTolerance * norm_cpu);
  ASSERT_TRUE(adam_cpu.Step(1e-2).ok());
  ASSERT_TRUE(adam_gpu.Step(1e-2).ok());
  for (size_t i = 0; i < pc.size(); ++i) {
    EXPECT_LT(MaxScaledError(ToVec(pg[i].parameter->value), ToVec(pc[i].parameter->value)), kTolerance)
        << pc[i].name << " after a step";
  }
}

}  // namespace
}  // namespace morphfit::nn::testing
