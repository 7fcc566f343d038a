// CUDA structural kernels (upsampling, concat, L2 normalisation, multiply, channel bias), the
// transposed convolution built from the conv launchers, and the losses, against their
// header-only CPU twins.
// Skips with the reason where no CUDA device exists.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "morphfit/nn/kernels/conv_reference.h"
#include "morphfit/nn/kernels/elementwise.h"
#include "morphfit/nn/kernels/losses.h"
#include "morphfit/nn/kernels/resample.h"
#include "nn/conv_cuda.h"
#include "nn/device_memory.h"
#include "nn_cuda_test_util.h"
#include "nn/losses_cuda.h"
#include "nn/pointwise_cuda.h"
#include "nn/structural_cuda.h"

namespace morphfit::nn_cuda {
namespace {

using cuda_test::DeviceBuffer;
using cuda_test::MaxScaledError;
using cuda_test::Random;

// Gathers in double on the device vs float scatter-adds on the CPU: a few float ulps.
constexpr double kTolerance = 1e-5;

TEST(NnCudaStructuralTest, UpsamplingMatchesReference) {
  MORPHFIT_SKIP_WITHOUT_CUDA();
  const int64_t planes = 5, h = 7, w = 6;
  for (int64_t scale : {1, 2, 3}) {
    const size_t small = planes * h * w, big = small * scale * scale;
    const std::vector<float> x = Random(small, 1), dy = Random(big, 2);
    std::vector<float> yn(big), yb(big), dxn(small), dxb(small);
    nn::reference::UpsampleNearestForward<float>(planes, h, w, scale, x.data(), yn.data());
    nn::reference::UpsampleNearestBackward<float>(planes, h, w, scale, dy.data(), dxn.data());
    nn::reference::UpsampleBilinearForward<float>(planes, h, w, scale, x.data(), yb.data());
    nn::reference::UpsampleBilinearBackward<float>(planes, h, w, scale, dy.data(), dxb.data());
    DeviceBuffer xd(x), dyd(dy), y1(big), y2(big), d1(small), d2(small);
    ASSERT_EQ(UpsampleNearestForward(planes, h, w, scale, xd.get(), y1.get()), "");
    ASSERT_EQ(UpsampleNearestBackward(planes, h, w, scale, dyd.get(), d1.get()), "");
    ASSERT_EQ(UpsampleBilinearForward(planes, h, w, scale, xd.get(), y2.get()), "");
    ASSERT_EQ(UpsampleBilinearBackward(planes, h, w, scale, dyd.get(), d2.get()), "");
    EXPECT_EQ(y1.Host(), yn) << "scale " << scale;
    EXPECT_EQ(d1.Host(), dxn) << "scale " << scale;  // same summation order
    EXPECT_LT(MaxScaledError(y2.Host(), yb), kTolerance) << "scale " << scale;
    EXPECT_LT(MaxScaledError(d2.Host(), dxb), kTolerance) << "scale " << scale;
  }
}

TEST(NnCudaStructuralTest, ConcatL2NormalizeAndMultiplyMatchReference) {
  MORPHFIT_SKIP_WITHOUT_CUDA();
  const int64_t n = 2, ca = 3, cb = 2, hw = 11;
  const std::vector<float> a = Random(n * ca * hw, 3), b = Random(n * cb * hw, 4),
                           dy = Random(n * (ca + cb) * hw, 5);
  std::vector<float> y(dy.size()), da(a.size()), db(b.size());
  nn::reference::ConcatChannelsForward<float>(n, ca, cb, hw, a.data(), b.data(), y.data());
  nn::reference::ConcatChannelsBackward<float>(n, ca, cb, hw, dy.data(), da.data(), db.data());
  DeviceBuffer ad(a), bd(b), dyd(dy), yd(y.size()), dad(a.size()), dbd(b.size());
  ASSERT_EQ(ConcatChannelsForward(n, ca, cb, hw, ad.get(), bd.get(), yd.get()), "");
  ASSERT_EQ(ConcatChannelsBackward(n, ca, cb, hw, dyd.get(), dad.get(), dbd.get()), "");
  EXPECT_EQ(yd.Host(), y);
  EXPECT_EQ(dad.Host(), da);
  EXPECT_EQ(dbd.Host(), db);

  const int64_t c = ca + cb;
  std::vector<float> l2(dy.size()), dl2(dy.size());
  const std::vector<float> x = Random(dy.size(), 6);
  nn::reference::L2NormalizeChannelsForward<float>(n, c, hw, 1e-12, x.data(), l2.data());
  nn::reference::L2NormalizeChannelsBackward<float>(n, c, hw, 1e-12, x.data(), dy.data(), dl2.data());
  DeviceBuffer xd(x), l2d(x.size()), dl2d(x.size()), prod(x.size());
  ASSERT_EQ(L2NormalizeChannelsForward(n, c, hw, 1e-12, xd.get(), l2d.get()), "");
  ASSERT_EQ(L2NormalizeChannelsBackward(n, c, hw, 1e-12, xd.get(), dyd.get(), dl2d.get()), "");
  EXPECT_LT(MaxScaledError(l2d.Host(), l2), kTolerance);
  EXPECT_LT(MaxScaledError(dl2d.Host(), dl2), kTolerance);
  ASSERT_EQ(Multiply(static_cast<int64_t>(x.size()), xd.get(), dyd.get(), prod.get()), "");
  const std::vector<float> p = prod.Host();
  for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(p[i], x[i] * dy[i]);
}

// ConvTranspose2d on the device is Conv2dBackward (data) + AddChannelBias forward and
// Conv2dForward / Conv2dBackward (weights) / ChannelSumAccumulate backward; check the pieces the
// op layer combines against the reference adjoint (stride 2, output padding 1).
TEST(NnCudaStructuralTest, TransposedConvolutionPiecesMatchReference) {
  MORPHFIT_SKIP_WITHOUT_CUDA();
  nn::Conv2dGeometry g;  // forward conv from the transposed output [2, 3, 6, 6] to x [2, 4, 3, 3]
  g.n = 2, g.c_in = 3, g.h = 6, g.w = 6, g.c_out = 4, g.kh = 3, g.kw = 3;
  g.stride = 2, g.pad = 1, g.out_h = 3, g.out_w = 3;
  const std::vector<float> x = Random(2 * 4 * 9, 7), w = Random(g.weight_size(), 8),
                           b = Random(3, 9), dy = Random(2 * 3 * 36, 10);
  // Reference: y = conv^T(x) + b; dx = conv(dy); dw = <x, conv(dy)> / dw; db = sums of dy.
  std::vector<float> y(dy.size()), dx(x.size()), dw(w.size(), 0.0f), db(3, 0.0f), unused(x.size());
  nn::reference::Conv2dBackward<float>(g, dy.data(), w.data(), x.data(), y.data(), nullptr, nullptr);
  for (size_t k = 0; k < y.size(); ++k) y[k] += b[(k / 36) % 3];
  nn::reference::Conv2dForward<float>(g, dy.data(), w.data(), nullptr, dx.data());
  nn::reference::Conv2dBackward<float>(g, dy.data(), w.data(), x.data(), nullptr, dw.data(), nullptr);
  for (size_t k = 0; k < dy.size(); ++k) db[(k / 36) % 3] += dy[k];
  DeviceBuffer xd(x), wd(w), bd(b), dyd(dy), yd(y.size()), dxd(x.size()), dwd(w.size()), dbd(3);
  ASSERT_EQ(Conv2dBackward(g, nullptr, wd.get(), xd.get(), yd.get(), nullptr, nullptr), "");
  ASSERT_EQ(AddChannelBias(2, 3, 36, bd.get(), yd.get()), "");
  ASSERT_EQ(Conv2dForward(g, dyd.get(), wd.get(), nullptr, dxd.get()), "");
  ASSERT_EQ(Conv2dBackward(g, dyd.get(), wd.get(), xd.get(), nullptr, dwd.get(), nullptr), "");
  ASSERT_EQ(ChannelSumAccumulate(2, 3, 36, dyd.get(), dbd.get()), "");
  EXPECT_LT(MaxScaledError(yd.Host(), y), 2e-4);
  EXPECT_LT(MaxScaledError(dxd.Host(), dx), 2e-4);
  EXPECT_LT(MaxScaledError(dwd.Host(), dw), 2e-4);
  EXPECT_LT(MaxScaledError(dbd.Host(), db), 2e-4);
}

TEST(NnCudaStructuralTest, LossesMatchReference) {
  MORPHFIT_SKIP_WITHOUT_CUDA();
  const int64_t n = 3, c = 2, hw = 1000, total = n * c * hw;
  const std::vector<float> x = Random(total, 11), t = Random(total, 12);
  std::vector<float> mask = Random(n * hw, 13);
  for (float& m : mask) m = m > 0 ? 1.0f : 0.0f;
  for (nn::Penalty p : {nn::Penalty::kSquared, nn::Penalty::kAbsolute, nn::Penalty::kSmoothL1}) {
    for (bool masked : {false, true}) {
      const float* w = masked ? mask.data() : nullptr;
      std::vector<float> grad(total);
      const double value = nn::reference::WeightedPenaltyLoss<float>(
          p, 0.5, total, x.data(), t.data(), w, c * hw, hw, 1e-3, grad.data());
      DeviceBuffer xd(x), td(t), md(mask), gd(total);
      double device_value = 0.0;
      ASSERT_EQ(WeightedPenaltyLoss(p, 0.5, total, xd.get(), td.get(), masked ? md.get() : nullptr,
                                    c * hw, hw, 1e-3, gd.get(), &device_value), "");
      EXPECT_NEAR(device_value, value, 1e-9 * (1 + std::fabs(value)));  // double sums
      EXPECT_LT(MaxScaledError(gd.Host(), grad), 1e-6);
    }
  }
  DeviceBuffer md(mask);
  double sum = 0.0, expected = 0.0;
  for (float m : mask) expected += m;
  ASSERT_EQ(Sum(static_cast<int64_t>(mask.size()), md.get(), &sum), "");
  EXPECT_EQ(sum, expected);
}

}  // namespace
}  // namespace morphfit::nn_cuda
