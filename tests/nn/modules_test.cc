// Modules, networks, optimisers, schedules, training and the weights file.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>

#include "morphfit/core/file_util.h"
#include "morphfit/nn/cpu_context.h"
#include "morphfit/nn/layers.h"
#include "morphfit/nn/losses.h"
#include "morphfit/nn/networks.h"
#include "morphfit/nn/optim.h"
#include "morphfit/nn/weights_io.h"
#include "tests/nn/op_test_util.h"

namespace morphfit::nn::testing {
namespace {

TEST(NetworksTest, ResNet18HasTheKnownParameterCountAndFlops) {
  auto net = MakeResNet18(3, 1000, 1);
  // torchvision.models.resnet18(): 11,689,512 parameters.
  EXPECT_EQ(CountParameters(*net), 11689512);
  EXPECT_EQ(net->OutputShape({1, 3, 224, 224}).value(), (Shape{1, 1000}));
  // 1.814 G multiply-adds in convolutions and the classifier (the published 1.8 GFLOPs counts
  // multiply-adds); BN, ReLU, pooling and adds add a little more.
  const double gflop = net->ForwardFlops({1, 3, 224, 224}) / 1e9;
  EXPECT_GT(gflop, 2 * 1.81);
  EXPECT_LT(gflop, 2 * 1.86);
}

TEST(NetworksTest, MobileNetBlocksRunForwardAndBackward) {
  auto separable = MakeDepthwiseSeparableBlock(8, 16, 2, 3);
  auto inverted = MakeInvertedResidual(16, 16, 1, 4, 4);
  const Tensor x = ToTensor({2, 8, 10, 10}, RandomVec(1600, 9));
  const Tensor h = separable->Forward(x).value();
  EXPECT_EQ(h.shape(), (Shape{2, 16, 5, 5}));
  const Tensor y = inverted->Forward(h).value();
  EXPECT_EQ(y.shape(), h.shape());
  EXPECT_EQ(inverted->Backward(y).value().shape(), h.shape());
  EXPECT_EQ(separable->Backward(h).value().shape(), x.shape());
  // depthwise 3x3 (8 * 9) + BN (2 * 8) + 1x1 (8 * 16) + BN (2 * 16) = 248 trainable scalars.
  EXPECT_EQ(CountParameters(*separable), 248);
  EXPECT_EQ(CountParameters(*separable, /*include_buffers=*/true), 248 + 2 * 8 + 2 * 16);
}

TEST(ModulesTest, ShapeErrorsNameTheLayer) {
  auto net = MakeResNet18(3, 10, 1);
  const StatusOr<Tensor> y = net->Forward(Tensor({1, 4, 32, 32}));
  ASSERT_FALSE(y.ok());
  EXPECT_NE(y.status().message().find("layer 0"), std::string::npos) << y.status();
  EXPECT_NE(y.status().message().find("input channels"), std::string::npos) << y.status();
  EXPECT_FALSE(LinearLayer(4, 2, true, 1).Backward(Tensor({1, 2})).ok());
}

// Whole-module gradient through Sequential + Residual + BN (training mode) + pooling, by float
// central differences of L = <r, y>. Float forward passes limit the accuracy: step 1e-2 gives
// truncation ~1e-4 and rounding ~1e-5 relative, so 2e-2 separates plumbing bugs (O(1)).
TEST(ModulesTest, ModuleBackwardMatchesFiniteDifferences) {
  Sequential net;
  net.Add(std::make_unique<Conv2dLayer>(2, 4, 3, Conv2dOptions{1, 1, 1, 1}, true, 1));
  net.Add(MakeInvertedResidual(4, 4, 1, 2, 2));
  net.Add(std::make_unique<ActivationLayer>(Activation::kTanh));
  net.Add(std::make_unique<Pool2dLayer>(PoolKind::kAverage, Pool2dOptions{2, 2, 0}));
  net.Add(std::make_unique<FlattenLayer>());
  net.Add(std::make_unique<LinearLayer>(16, 3, true, 3));
  Tensor x = ToTensor({2, 2, 4, 4}, RandomVec(64, 4));
  const Tensor y = net.Forward(x).value();
  const Tensor r = ToTensor(y.shape(), RandomVec(y.size(), 5));
  ZeroGrad(net);
  const Tensor dx = net.Backward(r).value();
  const auto loss = [&]() {
    const Tensor out = net.Forward(x).value();
    double sum = 0.0;
    for (int64_t k = 0; k < out.size(); ++k) sum += static_cast<double>(r.data()[k]) * out.data()[k];
    return sum;
  };
  constexpr double kStep = 1e-2, kTolerance = 2e-2;
  for (int64_t k = 0; k < x.size(); k += 5) {
    const float saved = x.data()[k];
    x.data()[k] = saved + kStep;
    const double plus = loss();
    x.data()[k] = saved - kStep;
    const double minus = loss();
    x.data()[k] = saved;
    const double numeric = (plus - minus) / (2 * kStep);
    EXPECT_NEAR(dx.data()[k], numeric, kTolerance * (1 + std::fabs(numeric))) << "x[" << k << "]";
  }
  Parameter* w = NamedParameters(net).back().parameter;  // the linear layer's bias
  ASSERT_EQ(NamedParameters(net).back().name, "5.bias");
  for (int64_t k = 0; k < w->value.size(); ++k) {
    const float saved = w->value.data()[k];
    w->value.data()[k] = saved + kStep;
    const double plus = loss();
    w->value.data()[k] = saved - kStep;
    const double minus = loss();
    w->value.data()[k] = saved;
    EXPECT_NEAR(w->grad.data()[k], (plus - minus) / (2 * kStep), 1e-3);
  }
}

TEST(OptimTest, SchedulesAndClipping) {
  LrSchedule s;
  s.kind = LrSchedule::Kind::kCosine;
  s.base_lr = 1.0, s.warmup_steps = 10, s.total_steps = 110, s.min_lr = 0.1;
  EXPECT_DOUBLE_EQ(LearningRate(s, 0), 0.1);
  EXPECT_DOUBLE_EQ(LearningRate(s, 9), 1.0);
  EXPECT_DOUBLE_EQ(LearningRate(s, 10), 1.0);
  EXPECT_NEAR(LearningRate(s, 60), 0.55, 1e-12);
  EXPECT_DOUBLE_EQ(LearningRate(s, 200), 0.1);
  s.kind = LrSchedule::Kind::kStep;
  s.step_size = 30, s.gamma = 0.5;
  EXPECT_DOUBLE_EQ(LearningRate(s, 39), 1.0);
  EXPECT_DOUBLE_EQ(LearningRate(s, 40), 0.5);
  EXPECT_DOUBLE_EQ(LearningRate(s, 75), 0.25);

  Parameter p{Tensor::Full({4}, 1.0f), Tensor::Full({4}, 3.0f), true};
  std::vector<NamedParameter> params = {{"p", &p}};
  EXPECT_DOUBLE_EQ(ClipGradNorm(params, 1.5).value(), 6.0);
  for (float g : p.grad.ToVector()) EXPECT_FLOAT_EQ(g, 0.75f);
}

TEST(OptimTest, SgdAndAdamFirstSteps) {
  Parameter a{Tensor::Full({1}, 2.0f), Tensor::Full({1}, 0.5f), true};
  Sgd sgd({{"a", &a}}, {0.9, 0.1, false});
  ASSERT_TRUE(sgd.Step(0.1).ok());  // v = 0.5 + 0.2 = 0.7; w = 2 - 0.07
  EXPECT_FLOAT_EQ(a.value.data()[0], 1.93f);
  ASSERT_TRUE(sgd.Step(0.1).ok());  // v = 0.63 + 0.5 + 0.193 = 1.323; w = 1.93 - 0.1323
  EXPECT_NEAR(a.value.data()[0], 1.7977f, 1e-6);

  Parameter b{Tensor::Full({1}, 1.0f), Tensor::Full({1}, -3.0f), true};
  Adam adamw({{"b", &b}}, {0.9, 0.999, 1e-8, 0.1, true});
  ASSERT_TRUE(adamw.Step(0.01).ok());  // decay: 1 - 0.001; first Adam step moves by lr * sign
  EXPECT_NEAR(b.value.data()[0], 0.999 + 0.01, 1e-6);
}

// A tiny CNN regressing a fixed random linear function of 8x8 images.
struct RegressionRun {
  std::vector<double> losses;
};

RegressionRun TrainTinyRegressor(int threads, int steps) {
  SetCpuThreads(threads);
  Sequential net;
  net.Add(std::make_unique<Conv2dLayer>(1, 8, 3, Conv2dOptions{1, 1, 1, 1}, false, 11));
  net.Add(std::make_unique<BatchNorm2dLayer>(8));
  net.Add(std::make_unique<ActivationLayer>(Activation::kLeakyRelu, 0.1f));
  net.Add(std::make_unique<Pool2dLayer>(PoolKind::kMax, Pool2dOptions{2, 2, 0}));
  net.Add(std::make_unique<FlattenLayer>());
  net.Add(std::make_unique<DropoutLayer>(0.1, 12));
  net.Add(std::make_unique<LinearLayer>(8 * 16, 2, true, 13));
  const int64_t n = 32;
  const Vec images = RandomVec(n * 64, 21), mixing = RandomVec(2 * 64, 22);
  Vec targets(n * 2, 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int o = 0; o < 2; ++o)
      for (int k = 0; k < 64; ++k) targets[i * 2 + o] += mixing[o * 64 + k] * images[i * 64 + k] / 8.0;
  const Tensor x = ToTensor({n, 1, 8, 8}, images), t = ToTensor({n, 2}, targets);
  Adam adam(NamedParameters(net), {});
  LrSchedule schedule{LrSchedule::Kind::kCosine, 2e-2, 10, 1000, 0.1, steps, 1e-3};
  RegressionRun run;
  for (int step = 0; step < steps; ++step) {
    ZeroGrad(net);
    const Tensor y = net.Forward(x).value();
    const LossResult loss = MseLoss(y, t).value();
    run.losses.push_back(loss.value);
    EXPECT_TRUE(net.Backward(loss.dL_dx).ok());
    EXPECT_TRUE(ClipGradNorm(NamedParameters(net), 10.0).ok());
    EXPECT_TRUE(adam.Step(LearningRate(schedule, step)).ok());
  }
  SetCpuThreads(0);
  return run;
}

TEST(TrainingTest, TinyRegressorLearnsDeterministically) {
  constexpr int kSteps = 150;
  const RegressionRun a = TrainTinyRegressor(1, kSteps);
  const RegressionRun b = TrainTinyRegressor(2, kSteps);
  const RegressionRun c = TrainTinyRegressor(2, kSteps);
  // The stated goal: the training loss falls at least 20x (measured: see the log line).
  const double first = a.losses.front(), last = a.losses.back();
  std::printf("tiny regressor: loss %.4f -> %.5f (%.0fx)\n", first, last, first / last);
  EXPECT_LT(last * 20.0, first);
  // Bitwise-identical loss curves across runs and thread counts.
  EXPECT_EQ(a.losses, b.losses);
  EXPECT_EQ(b.losses, c.losses);
}

TEST(WeightsIoTest, RoundTripAndMismatchedArchitecture) {
  const std::string path = ::testing::TempDir() + "/nn_weights_test.mfw";
  auto net = MakeResNet18(3, 7, 1);
  const Tensor x = ToTensor({1, 3, 32, 32}, RandomVec(3 * 1024, 31));
  net->Forward(x).value();  // training mode: moves the BN running statistics off 0/1
  net->SetTraining(false);
  const std::vector<float> expected = net->Forward(x).value().ToVector();
  ASSERT_TRUE(SaveWeights(*net, path).ok());

  auto same = MakeResNet18(3, 7, 2);  // other initial weights
  same->SetTraining(false);
  EXPECT_NE(same->Forward(x).value().ToVector(), expected);
  ASSERT_TRUE(LoadWeights(path, same.get()).ok());
  EXPECT_EQ(same->Forward(x).value().ToVector(), expected);

  auto other = MakeResNet18(3, 8, 1);
  const Status mismatch = LoadWeights(path, other.get());
  EXPECT_EQ(mismatch.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(mismatch.message().find("linear(512->7"), std::string::npos) << mismatch;

  std::string bytes = ReadFileToString(path).value();
  bytes[bytes.size() / 2] ^= 0x10;
  ASSERT_TRUE(WriteFileAtomically(path, bytes).ok());
  EXPECT_EQ(LoadWeights(path, same.get()).code(), StatusCode::kDataLoss);
  ASSERT_TRUE(WriteFileAtomically(path, bytes.substr(0, 5)).ok());
  EXPECT_EQ(LoadWeights(path, same.get()).code(), StatusCode::kDataLoss);
  EXPECT_EQ(same->Forward(x).value().ToVector(), expected);  // untouched by the failed loads
  EXPECT_EQ(LoadWeights(path + ".missing", same.get()).code(), StatusCode::kNotFound);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace morphfit::nn::testing
