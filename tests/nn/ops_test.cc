// Shape errors, the fast conv path against the naive reference, views, dropout masks, batch-norm
// running statistics, thread-count independence, and outputs written into recycled memory.
#include <gtest/gtest.h>

#include <cmath>

#include "morphfit/nn/cpu_context.h"
#include "morphfit/nn/kernels/conv_reference.h"
#include "morphfit/nn/kernels/gemm_cpu.h"
#include "morphfit/nn/losses.h"
#include "morphfit/nn/ops.h"
#include "tests/nn/op_test_util.h"

namespace morphfit::nn::testing {
namespace {

// Both paths run in double; they differ only in summation order.
constexpr double kDoubleTolerance = 1e-12;

struct ShapeErrorCase {
  const char* name;
  std::function<Status()> call;
  const char* expected_substring;
};

TEST(OpsTest, ShapeErrorsAreReportedWithShapes) {
  const Tensor x4({2, 3, 8, 8}), w_bad({4, 2, 3, 3}), w({4, 3, 3, 3}), x2({2, 5});
  const std::vector<ShapeErrorCase> cases = {
      {"conv rank", [&] { return Conv2d(x2, w, nullptr, {}).status(); }, "must be 4-D NCHW, got [2, 5]"},
      {"conv channels", [&] { return Conv2d(x4, w_bad, nullptr, {}).status(); }, "input channels"},
      {"conv groups", [&] { return Conv2d(x4, w, nullptr, {1, 0, 1, 2}).status(); }, "groups 2 must divide"},
      {"conv too small", [&] { return Conv2d(Tensor({1, 3, 2, 2}), w, nullptr, {}).status(); }, "does not fit"},
      {"conv bias", [&] { Tensor b({5}); return Conv2d(x4, w, &b, {}).status(); }, "bias must have shape [4]"},
      {"conv dy", [&] { return Conv2dBackward(x4, w, Tensor({2, 4, 5, 5}), {}, nullptr, nullptr).status(); },
       "dy must have shape [2, 4, 6, 6]"},
      {"linear features", [&] { return Linear(x2, Tensor({3, 4}), nullptr).status(); }, "expects 4"},
      {"bn channels", [&] { return BatchNorm2dEval(x4, Tensor({2}), Tensor({3}), Tensor({3}), Tensor({3}), {}).status(); },
       "gamma must have shape [3]"},
      {"pool window", [&] { return MaxPool2d(Tensor({1, 1, 2, 2}), {3, 1, 0}).status(); }, "does not fit"},
      {"pool pad", [&] { return AvgPool2d(x4, {2, 2, 2}).status(); }, "pad < kernel"},
      {"add", [&] { return Add(x4, Tensor({2, 3, 8, 7})).status(); }, "same shape"},
      {"concat", [&] { return ConcatChannels(x4, Tensor({2, 1, 4, 8})).status(); }, "agree in n, h and w"},
      {"upsample scale", [&] { return UpsampleNearest(x4, 0).status(); }, "scale must be >= 1"},
      {"transpose outpad", [&] { return ConvTranspose2d(x4, Tensor({3, 2, 3, 3}), nullptr, {1, 0, 1, 1, 1}).status(); },
       "output_pad < stride"},
      {"dropout p", [&] { return DropoutMask({2}, 1.0, 1, 1).status(); }, "[0, 1)"},
      {"mse", [&] { return MseLoss(x4, x2).status(); }, "same shape"},
      {"masked mask", [&] { return MaskedPixelLoss(PixelPenalty::kL1, x4, x4, Tensor({2, 3, 8, 8})).status(); },
       "mask must have shape [2, 1, 8, 8]"},
      {"reshape", [&] { return x4.Reshape({5, 5}).status(); }, "cannot view"},
      {"rank 5", [&] { return Tensor::Zeros({1, 1, 1, 1, 1}).status(); }, "rank must be at most 4"},
      {"to device", [&] {
         std::string reason;
         return CudaAvailable(&reason) ? FailedPreconditionError("has a GPU") : x4.ToDevice().status();
       }, ""},
  };
  for (const ShapeErrorCase& c : cases) {
    const Status status = c.call();
    EXPECT_FALSE(status.ok()) << c.name;
    EXPECT_NE(status.message().find(c.expected_substring), std::string::npos)
        << c.name << ": " << status.message();
  }
}

TEST(OpsTest, FastConvMatchesNaiveReference) {
  const struct {
    Shape x, w;
    Conv2dOptions o;
  } cases[] = {{{2, 3, 9, 7}, {5, 3, 3, 3}, {1, 1, 1, 1}},   {{1, 4, 10, 10}, {6, 2, 3, 3}, {2, 2, 2, 2}},
               {{1, 8, 6, 6}, {8, 1, 3, 3}, {1, 1, 1, 8}},   {{3, 5, 4, 4}, {7, 5, 1, 1}, {1, 0, 1, 1}},
               {{1, 3, 20, 20}, {16, 3, 7, 7}, {2, 3, 1, 1}}, {{1, 2, 5, 5}, {3, 2, 1, 1}, {2, 0, 1, 1}}};
  for (const auto& c : cases) {
    const Conv2dGeometry g = MakeConv2dGeometry(c.x, c.w, c.o, "test").value();
    const Vec x = RandomVec(NumElements(c.x), 1), w = RandomVec(NumElements(c.w), 2),
              b = RandomVec(g.c_out, 3);
    const int64_t ny = g.n * g.c_out * g.out_h * g.out_w;
    const Vec dy = RandomVec(ny, 4);
    Vec y_fast(ny), y_ref(ny), dx_fast(x.size()), dx_ref(x.size()), dw_fast(w.size(), 0.0),
        dw_ref(w.size(), 0.0), db_fast(b.size(), 0.0), db_ref(b.size(), 0.0);
    cpu::Conv2dForward<double>(g, x.data(), w.data(), b.data(), y_fast.data());
    cpu::Conv2dBackwardData<double>(g, w.data(), dy.data(), dx_fast.data());
    cpu::Conv2dBackwardWeight<double>(g, x.data(), dy.data(), dw_fast.data());
    cpu::BiasBackward<double>(g.n, g.c_out, g.out_h * g.out_w, dy.data(), db_fast.data());
    reference::Conv2dForward<double>(g, x.data(), w.data(), b.data(), y_ref.data());
    reference::Conv2dBackward<double>(g, x.data(), w.data(), dy.data(), dx_ref.data(),
                                      dw_ref.data(), db_ref.data());
    EXPECT_LT(MaxScaledError(y_fast, y_ref), kDoubleTolerance) << ShapeString(c.w);
    EXPECT_LT(MaxScaledError(dx_fast, dx_ref), kDoubleTolerance) << ShapeString(c.w);
    EXPECT_LT(MaxScaledError(dw_fast, dw_ref), kDoubleTolerance) << ShapeString(c.w);
    EXPECT_LT(MaxScaledError(db_fast, db_ref), kDoubleTolerance) << ShapeString(c.w);
  }
}

TEST(OpsTest, ConvResultsAreBitwiseIndependentOfThreadCount) {
  // Wide outputs (GEMMs cut by columns) and a deep layer's shape, more output channels than
  // positions (cut by rows).
  const struct {
    Shape x, w;
  } cases[] = {{{2, 16, 30, 30}, {32, 16, 3, 3}}, {{1, 64, 7, 7}, {300, 64, 3, 3}}};
  for (const auto& c : cases) {
    const Tensor x = ToTensor(c.x, RandomVec(NumElements(c.x), 5));
    const Tensor w = ToTensor(c.w, RandomVec(NumElements(c.w), 6));
    std::vector<std::vector<float>> outputs;
    for (int threads : {1, 2, 3}) {
      SetCpuThreads(threads);
      const Tensor y = Conv2d(x, w, nullptr, {1, 1, 1, 1}).value();
      Tensor dw(w.shape());
      const Tensor dx = Conv2dBackward(x, w, y, {1, 1, 1, 1}, &dw, nullptr).value();
      std::vector<float> all = y.ToVector();
      for (float v : dx.ToVector()) all.push_back(v);
      for (float v : dw.ToVector()) all.push_back(v);
      outputs.push_back(all);
    }
    SetCpuThreads(0);
    EXPECT_EQ(outputs[0], outputs[1]) << ShapeString(c.w);
    EXPECT_EQ(outputs[0], outputs[2]) << ShapeString(c.w);
  }
}

TEST(OpsTest, ForwardOutputsDoNotDependOnRecycledMemory) {
  // Forward ops write their outputs without zero-filling them first (Tensor::Uninitialized);
  // host blocks are recycled, so poison the cache with NaN-filled blocks of every size class
  // involved and check the outputs equal those computed on fresh zeroed memory.
  const Tensor x = ToTensor({2, 8, 12, 12}, RandomVec(2 * 8 * 144, 7));
  const Tensor w = ToTensor({6, 4, 3, 3}, RandomVec(6 * 4 * 9, 8));
  const Tensor b = ToTensor({6}, RandomVec(6, 9));
  const Tensor lw = ToTensor({5, 8 * 144}, RandomVec(5 * 8 * 144, 10));
  auto run = [&] {
    const Tensor conv = Conv2d(x, w, &b, {2, 1, 1, 2}).value();
    const Tensor relu = Activate(Activation::kRelu, conv).value();
    const Tensor bn = BatchNorm2dEval(relu, Tensor::Full({6}, 2.0f), Tensor::Full({6}, 0.5f),
                                      Tensor::Full({6}, 0.1f), Tensor::Full({6}, 4.0f), {})
                          .value();
    const Tensor lin = Linear(x.Reshape({2, 8 * 144}).value(), lw, nullptr).value();
    std::vector<float> all = bn.ToVector();
    for (float v : lin.ToVector()) all.push_back(v);
    return all;
  };
  const std::vector<float> clean = run();
  for (int64_t n = 8; n <= (1 << 14); n *= 2) {
    std::vector<Tensor> poison;
    for (int k = 0; k < 4; ++k) poison.push_back(Tensor::Full({n}, std::nanf("")));
  }
  const std::vector<float> recycled = run();
  for (float v : recycled) ASSERT_TRUE(std::isfinite(v));
  EXPECT_EQ(clean, recycled);
}

TEST(OpsTest, ViewsShareStorage) {
  Tensor t = Tensor::Full({4, 2, 3}, 1.0f);
  Tensor slice = t.SliceBatch(1, 3).value();
  EXPECT_EQ(slice.shape(), (Shape{2, 2, 3}));
  slice.data()[0] = 7.0f;
  EXPECT_EQ(t.data()[6], 7.0f);
  Tensor flat = t.Reshape({24}).value();
  EXPECT_EQ(flat.data()[6], 7.0f);
  Tensor copy = t.Clone();
  copy.data()[6] = 0.0f;
  EXPECT_EQ(t.data()[6], 7.0f);
  EXPECT_FALSE(t.SliceBatch(3, 5).ok());
}

TEST(OpsTest, DropoutMaskIsReproducibleAndHasTheRightRate) {
  const Tensor a = DropoutMask({100, 100}, 0.25, 3, 9).value();
  const Tensor b = DropoutMask({100, 100}, 0.25, 3, 9).value();
  const Tensor c = DropoutMask({100, 100}, 0.25, 3, 10).value();
  EXPECT_EQ(a.ToVector(), b.ToVector());
  EXPECT_NE(a.ToVector(), c.ToVector());
  int dropped = 0;
  for (float v : a.ToVector()) {
    if (v == 0.0f) ++dropped;
    else EXPECT_FLOAT_EQ(v, 1.0f / 0.75f);
  }
  // 10,000 Bernoulli(0.25) draws: mean 2,500, standard deviation 43; 5 sigma bounds.
  EXPECT_NEAR(dropped, 2500, 220);
}

TEST(OpsTest, BatchNormUpdatesRunningStatistics) {
  // Channel 0 holds 1..8, channel 1 is constant 5: mean 4.5 / 5, unbiased var 6 / 0.
  std::vector<float> values;
  for (int i = 1; i <= 8; ++i) values.push_back(static_cast<float>(i));
  for (int i = 0; i < 8; ++i) values.push_back(5.0f);
  const Tensor x = Tensor::FromVector({1, 2, 2, 4}, values).value();
  Tensor mean = Tensor::Full({2}, 0.0f), var = Tensor::Full({2}, 1.0f), sm({2}), sis({2});
  const Tensor y = BatchNorm2dTrain(x, Tensor::Full({2}, 1.0f), Tensor({2}), {1e-5, 0.5}, &mean,
                                    &var, &sm, &sis).value();
  EXPECT_NEAR(mean.data()[0], 0.5 * 4.5, 1e-5);
  EXPECT_NEAR(mean.data()[1], 0.5 * 5.0, 1e-5);
  EXPECT_NEAR(var.data()[0], 0.5 + 0.5 * 6.0, 1e-4);
  EXPECT_NEAR(var.data()[1], 0.5, 1e-4);
  EXPECT_NEAR(y.data()[0], (1 - 4.5) / std::sqrt(5.25 + 1e-5), 1e-5);
}

}  // namespace
}  // namespace morphfit::nn::testing
