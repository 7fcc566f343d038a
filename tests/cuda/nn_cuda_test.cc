// CUDA tensor-layer kernels vs their CPU twins (the header-only nn::reference kernels), one
// table entry per op; every test skips with the reason where no CUDA device exists. Links only
// morphfit_nn_cuda (CUDA) and GoogleTest.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "morphfit/nn/kernels/activation.h"
#include "morphfit/nn/kernels/batch_norm.h"
#include "morphfit/nn/kernels/conv_reference.h"
#include "morphfit/nn/kernels/pool.h"
#include "nn/conv_cuda.h"
#include "nn/device_memory.h"
#include "nn_cuda_test_util.h"
#include "nn/optim_cuda.h"
#include "nn/pointwise_cuda.h"

namespace morphfit::nn_cuda {
namespace {

using cuda_test::DeviceBuffer;
using cuda_test::MaxScaledError;
using cuda_test::Random;

// float on both sides; cuBLAS may use another summation order and FMA contraction than the
// reference loops: for sums of <= ~600 products of U(-1, 1) values that is < 1e-4 relative.
constexpr double kTolerance = 2e-4;

nn::Conv2dGeometry Geometry(int64_t n, int64_t c_in, int64_t h, int64_t w, int64_t c_out,
                            int64_t k, int64_t stride, int64_t pad, int64_t dil, int64_t groups) {
  nn::Conv2dGeometry g;
  g.n = n, g.c_in = c_in, g.h = h, g.w = w, g.c_out = c_out, g.kh = k, g.kw = k;
  g.stride = stride, g.pad = pad, g.dilation = dil, g.groups = groups;
  g.out_h = nn::ConvOutputSize(h, k, stride, pad, dil);
  g.out_w = nn::ConvOutputSize(w, k, stride, pad, dil);
  return g;
}

// Runs the conv table on the current backend.
void CheckConvCases() {
  const nn::Conv2dGeometry cases[] = {
      Geometry(2, 3, 17, 13, 8, 3, 1, 1, 1, 1), Geometry(1, 8, 16, 16, 16, 3, 2, 2, 2, 2),
      Geometry(2, 12, 9, 9, 12, 3, 2, 1, 1, 12), Geometry(3, 16, 7, 7, 24, 1, 1, 0, 1, 1),
      Geometry(1, 3, 40, 40, 64, 7, 2, 3, 1, 1)};
  for (const nn::Conv2dGeometry& g : cases) {
    const size_t nx = g.n * g.c_in * g.h * g.w, ny = g.n * g.c_out * g.out_h * g.out_w;
    const std::vector<float> x = Random(nx, 1), w = Random(g.weight_size(), 2),
                             b = Random(g.c_out, 3), dy = Random(ny, 4);
    std::vector<float> y(ny), dx(nx), dw(w.size(), 0.5f), db(b.size(), 0.5f);
    nn::reference::Conv2dForward<float>(g, x.data(), w.data(), b.data(), y.data());
    nn::reference::Conv2dBackward<float>(g, x.data(), w.data(), dy.data(), dx.data(), dw.data(), db.data());
    DeviceBuffer dx_d(x), dw_d(w), db_d(b), dy_d(dy), y_d(y), dxo(dx),
        dwo(std::vector<float>(w.size(), 0.5f)), dbo(std::vector<float>(b.size(), 0.5f));
    ASSERT_EQ(Conv2dForward(g, dx_d.get(), dw_d.get(), db_d.get(), y_d.get()), "");
    ASSERT_EQ(Conv2dBackward(g, dx_d.get(), dw_d.get(), dy_d.get(), dxo.get(), dwo.get(), dbo.get()), "");
    if (::testing::Test::HasFatalFailure()) return;
    EXPECT_LT(MaxScaledError(y_d.Host(), y), kTolerance) << "forward, groups " << g.groups;
    EXPECT_LT(MaxScaledError(dxo.Host(), dx), kTolerance) << "dx, groups " << g.groups;
    EXPECT_LT(MaxScaledError(dwo.Host(), dw), kTolerance) << "dw (accumulated), groups " << g.groups;
    EXPECT_LT(MaxScaledError(dbo.Host(), db), kTolerance) << "db (accumulated)";
  }
}

TEST(NnCudaTest, ConvIm2colCublasMatchesReference) {
  MORPHFIT_SKIP_WITHOUT_CUDA();
  SetConvBackend(ConvBackend::kIm2colCublas);
  CheckConvCases();
}

TEST(NnCudaTest, ConvCudnnMatchesReference) {
  MORPHFIT_SKIP_WITHOUT_CUDA();
  std::string reason;
  if (!CudnnAvailable(&reason)) GTEST_SKIP() << reason;
  SetConvBackend(ConvBackend::kCudnn);
  SetAllowTf32(false);
  CheckConvCases();
  SetConvBackend(ConvBackend::kIm2colCublas);
}

TEST(NnCudaTest, LinearMatchesReference) {
  MORPHFIT_SKIP_WITHOUT_CUDA();
  const int64_t n = 5, in = 37, out = 11;
  const std::vector<float> x = Random(n * in, 5), w = Random(out * in, 6), b = Random(out, 7),
                           dy = Random(n * out, 8);
  std::vector<float> y(n * out), dx(n * in), dw(w.size(), 0.0f), db(out, 0.0f);
  nn::reference::LinearForward<float>(n, in, out, x.data(), w.data(), b.data(), y.data());
  nn::reference::LinearBackward<float>(n, in, out, x.data(), w.data(), dy.data(), dx.data(), dw.data(), db.data());
  DeviceBuffer xd(x), wd(w), bd(b), dyd(dy), yd(y), dxd(dx), dwd(std::vector<float>(w.size(), 0.0f)),
      dbd(std::vector<float>(out, 0.0f));
  ASSERT_EQ(LinearForward(n, in, out, xd.get(), wd.get(), bd.get(), yd.get()), "");
  ASSERT_EQ(LinearBackward(n, in, out, xd.get(), wd.get(), dyd.get(), dxd.get(), dwd.get(), dbd.get()), "");
  EXPECT_LT(MaxScaledError(yd.Host(), y), kTolerance);
  EXPECT_LT(MaxScaledError(dxd.Host(), dx), kTolerance);
  EXPECT_LT(MaxScaledError(dwd.Host(), dw), kTolerance);
  EXPECT_LT(MaxScaledError(dbd.Host(), db), kTolerance);
}

TEST(NnCudaTest, ActivationsAndAddMatchReference) {
  MORPHFIT_SKIP_WITHOUT_CUDA();
  const int64_t n = 1000;
  const std::vector<float> x = Random(n, 9, -3, 3), dy = Random(n, 10), b = Random(n, 11);
  for (nn::Activation a : {nn::Activation::kRelu, nn::Activation::kLeakyRelu,
                           nn::Activation::kSigmoid, nn::Activation::kTanh}) {
    std::vector<float> y(n), dx(n);
    nn::reference::ActivationForward<float>(a, 0.2f, n, x.data(), y.data());
    nn::reference::ActivationBackward<float>(a, 0.2f, n, x.data(), y.data(), dy.data(), dx.data());
    DeviceBuffer xd(x), yd(y), dyd(dy), dxd(dx);
    ASSERT_EQ(ActivationForward(a, 0.2f, n, xd.get(), yd.get()), "");
    ASSERT_EQ(ActivationBackward(a, 0.2f, n, xd.get(), yd.get(), dyd.get(), dxd.get()), "");
    EXPECT_LT(MaxScaledError(yd.Host(), y), 1e-6) << nn::ActivationName(a);
    EXPECT_LT(MaxScaledError(dxd.Host(), dx), 1e-6) << nn::ActivationName(a);
  }
  DeviceBuffer ad(x), bd(b), yd(x);
  ASSERT_EQ(Add(n, ad.get(), bd.get(), yd.get()), "");
  const std::vector<float> sum = yd.Host();
  for (int64_t i = 0; i < n; ++i) EXPECT_EQ(sum[i], x[i] + b[i]);
}

TEST(NnCudaTest, BatchNormMatchesReference) {
  MORPHFIT_SKIP_WITHOUT_CUDA();
  const int64_t n = 3, c = 5, hw = 37, total = n * c * hw;
  const std::vector<float> x = Random(total, 12, -2, 3), gamma = Random(c, 13), beta = Random(c, 14),
                           dy = Random(total, 15), rvar = Random(c, 16, 0.5f, 1.5f);
  std::vector<float> y(total), mean(c), inv_std(c), dx(total), dg(c, 0.0f), dbeta(c, 0.0f);
  nn::reference::BatchNormForwardTrain<float>(n, c, hw, x.data(), gamma.data(), beta.data(), 1e-5,
                                              y.data(), mean.data(), inv_std.data());
  nn::reference::BatchNormBackwardTrain<float>(n, c, hw, x.data(), gamma.data(), mean.data(),
                                               inv_std.data(), dy.data(), dx.data(), dg.data(), dbeta.data());
  DeviceBuffer xd(x), gd(gamma), bd(beta), dyd(dy), yd(y), md(mean), sd(inv_std), dxd(dx),
      dgd(std::vector<float>(c, 0.0f)), dbd(std::vector<float>(c, 0.0f));
  ASSERT_EQ(BatchNormForwardTrain(n, c, hw, xd.get(), gd.get(), bd.get(), 1e-5, 0.1, yd.get(),
                                  md.get(), sd.get(), nullptr, nullptr), "");
  ASSERT_EQ(BatchNormBackwardTrain(n, c, hw, xd.get(), gd.get(), md.get(), sd.get(), dyd.get(),
                                   dxd.get(), dgd.get(), dbd.get()), "");
  EXPECT_LT(MaxScaledError(yd.Host(), y), kTolerance);
  EXPECT_LT(MaxScaledError(md.Host(), mean), kTolerance);
  EXPECT_LT(MaxScaledError(dxd.Host(), dx), kTolerance);
  EXPECT_LT(MaxScaledError(dgd.Host(), dg), kTolerance);
  EXPECT_LT(MaxScaledError(dbd.Host(), dbeta), kTolerance);
  // Evaluation mode with running statistics.
  std::vector<float> y_eval(total), dx_eval(total), dg_eval(c, 0.0f), db_eval(c, 0.0f);
  nn::reference::BatchNormForwardEval<float>(n, c, hw, x.data(), gamma.data(), beta.data(), mean.data(),
                                             rvar.data(), 1e-5, y_eval.data());
  nn::reference::BatchNormBackwardEval<float>(n, c, hw, x.data(), gamma.data(), mean.data(), rvar.data(),
                                              1e-5, dy.data(), dx_eval.data(), dg_eval.data(), db_eval.data());
  DeviceBuffer rvd(rvar), yed(y_eval), dxed(dx_eval), dged(std::vector<float>(c, 0.0f)),
      dbed(std::vector<float>(c, 0.0f));
  ASSERT_EQ(BatchNormForwardEval(n, c, hw, xd.get(), gd.get(), bd.get(), md.get(), rvd.get(), 1e-5, yed.get()), "");
  ASSERT_EQ(BatchNormBackwardEval(n, c, hw, xd.get(), gd.get(), md.get(), rvd.get(), 1e-5, dyd.get(),
                                  dxed.get(), dged.get(), dbed.get()), "");
  EXPECT_LT(MaxScaledError(yed.Host(), y_eval), kTolerance);
  EXPECT_LT(MaxScaledError(dxed.Host(), dx_eval), kTolerance);
  EXPECT_LT(MaxScaledError(dged.Host(), dg_eval), kTolerance);
  EXPECT_LT(MaxScaledError(dbed.Host(), db_eval), kTolerance);
}

TEST(NnCudaTest, PoolingMatchesReference) {
  MORPHFIT_SKIP_WITHOUT_CUDA();
  for (const auto& [kernel, stride, pad] : {std::tuple<int, int, int>{3, 2, 1}, {2, 2, 0}, {3, 1, 1}}) {
    nn::Pool2dGeometry g;
    g.n = 2, g.c = 3, g.h = 11, g.w = 9, g.kernel = kernel, g.stride = stride, g.pad = pad;
    g.out_h = nn::ConvOutputSize(g.h, kernel, stride, pad, 1);
    g.out_w = nn::ConvOutputSize(g.w, kernel, stride, pad, 1);
    const size_t nx = g.n * g.c * g.h * g.w, ny = g.n * g.c * g.out_h * g.out_w;
    const std::vector<float> x = Random(nx, 17), dy = Random(ny, 18);
    std::vector<float> ymax(ny), yavg(ny), dxmax(nx), dxavg(nx);
    std::vector<int32_t> argmax(ny);
    nn::reference::MaxPool2dForward<float>(g, x.data(), ymax.data(), argmax.data());
    nn::reference::MaxPool2dBackward<float>(g, argmax.data(), dy.data(), dxmax.data());
    nn::reference::AvgPool2dForward<float>(g, x.data(), yavg.data());
    nn::reference::AvgPool2dBackward<float>(g, dy.data(), dxavg.data());
    DeviceBuffer xd(x), dyd(dy), y1(ymax), y2(yavg), d1(dxmax), d2(dxavg);
    ASSERT_EQ(MaxPool2dForward(g, xd.get(), y1.get()), "");
    ASSERT_EQ(MaxPool2dBackward(g, xd.get(), dyd.get(), d1.get()), "");
    ASSERT_EQ(AvgPool2dForward(g, xd.get(), y2.get()), "");
    ASSERT_EQ(AvgPool2dBackward(g, dyd.get(), d2.get()), "");
    EXPECT_EQ(y1.Host(), ymax);
    EXPECT_LT(MaxScaledError(d1.Host(), dxmax), 1e-6);
    EXPECT_LT(MaxScaledError(y2.Host(), yavg), 1e-6);
    EXPECT_LT(MaxScaledError(d2.Host(), dxavg), 1e-6);
  }
  const int64_t n = 2, c = 4, hw = 300;
  const std::vector<float> x = Random(n * c * hw, 19), dy = Random(n * c, 20);
  std::vector<float> y(n * c), dx(n * c * hw);
  nn::reference::GlobalAvgPoolForward<float>(n, c, hw, x.data(), y.data());
  nn::reference::GlobalAvgPoolBackward<float>(n, c, hw, dy.data(), dx.data());
  DeviceBuffer xd(x), dyd(dy), yd(y), dxd(dx);
  ASSERT_EQ(GlobalAvgPoolForward(n, c, hw, xd.get(), yd.get()), "");
  ASSERT_EQ(GlobalAvgPoolBackward(n, c, hw, dyd.get(), dxd.get()), "");
  EXPECT_LT(MaxScaledError(yd.Host(), y), 1e-6);
  EXPECT_LT(MaxScaledError(dxd.Host(), dx), 1e-6);
}

TEST(NnCudaTest, OptimiserStepsMatchTheCpuUpdates) {
  MORPHFIT_SKIP_WITHOUT_CUDA();
  const int64_t n = 777;
  const std::vector<float> w0 = Random(n, 21), g = Random(n, 22), s0 = Random(n, 23, 0.0f, 0.1f);
  nn::SgdHyper sgd{0.05, 0.9, 1e-3, true};
  nn::AdamHyper adam;
  adam.lr = 1e-2, adam.weight_decay = 0.1, adam.decoupled_weight_decay = true;
  adam.bias_correction1 = 1 - 0.9 * 0.9, adam.bias_correction2 = 1 - 0.999 * 0.999;
  std::vector<float> w_sgd = w0, v_sgd = s0, w_adam = w0, m_adam = s0, v_adam = s0;
  for (int64_t i = 0; i < n; ++i) {
    nn::SgdUpdate(sgd, g[i], &w_sgd[i], &v_sgd[i]);
    nn::AdamUpdate(adam, g[i], &w_adam[i], &m_adam[i], &v_adam[i]);
  }
  DeviceBuffer gd(g), w1(w0), v1(s0), w2(w0), m2(s0), v2(s0);
  ASSERT_EQ(SgdStep(sgd, n, w1.get(), gd.get(), v1.get()), "");
  ASSERT_EQ(AdamStep(adam, n, w2.get(), gd.get(), m2.get(), v2.get()), "");
  // The same double-precision formula on both sides; only sqrt/FMA rounding may differ.
  EXPECT_LT(MaxScaledError(w1.Host(), w_sgd), 1e-6);
  EXPECT_LT(MaxScaledError(v1.Host(), v_sgd), 1e-6);
  EXPECT_LT(MaxScaledError(w2.Host(), w_adam), 1e-6);
  EXPECT_LT(MaxScaledError(m2.Host(), m_adam), 1e-6);
  EXPECT_LT(MaxScaledError(v2.Host(), v_adam), 1e-6);
  double sum = 0.0, expected = 0.0;
  for (float x : g) expected += static_cast<double>(x) * x;
  ASSERT_EQ(SumOfSquares(n, gd.get(), &sum), "");
  EXPECT_NEAR(sum, expected, 1e-9 * expected);
  ASSERT_EQ(Scale(n, gd.get(), 0.5f), "");
  EXPECT_EQ(gd.Host()[5], 0.5f * g[5]);
}

TEST(NnCudaTest, AllocatorReusesFreedBlocks) {
  MORPHFIT_SKIP_WITHOUT_CUDA();
  void* a = nullptr;
  ASSERT_EQ(Allocate(1000, &a), "");
  Free(a);
  const int64_t mallocs = GetAllocatorStats().num_device_mallocs;
  void* b = nullptr;
  ASSERT_EQ(Allocate(900, &b), "");  // same 1024-byte bucket
  EXPECT_EQ(b, a);
  EXPECT_EQ(GetAllocatorStats().num_device_mallocs, mallocs);
  Free(b);
  EmptyCache();
  EXPECT_EQ(GetAllocatorStats().bytes_cached, 0u);
}

// The same ops issued on a stream of the caller's (SetStream) give bitwise the same results as on
// the default stream — copies, a cuBLAS convolution, an elementwise kernel and a reduction (the
// sum of squares behind gradient clipping) — and every result is complete when its launcher
// returns (the host reads them with no further synchronisation).
TEST(NnCudaTest, OpsOnAUserStreamMatchTheDefaultStream) {
  MORPHFIT_SKIP_WITHOUT_CUDA();
  SetConvBackend(ConvBackend::kIm2colCublas);
  const nn::Conv2dGeometry g = Geometry(2, 8, 15, 15, 16, 3, 1, 1, 1, 1);
  const size_t nx = g.n * g.c_in * g.h * g.w, ny = g.n * g.c_out * g.out_h * g.out_w;
  const std::vector<float> x = Random(nx, 21), w = Random(g.weight_size(), 22),
                           b = Random(g.c_out, 23);
  auto run = [&](std::vector<float>* y_out, double* norm) {
    DeviceBuffer xd(x), wd(w), bd(b), yd(ny), zd(ny);
    ASSERT_EQ(Conv2dForward(g, xd.get(), wd.get(), bd.get(), yd.get()), "");
    ASSERT_EQ(ActivationForward(nn::Activation::kRelu, 0.0f, ny, yd.get(), zd.get()), "");
    ASSERT_EQ(SumOfSquares(ny, zd.get(), norm), "");
    *y_out = zd.Host();
  };
  ASSERT_EQ(GetStream(), nullptr);
  std::vector<float> y_default, y_stream;
  double norm_default = 0.0, norm_stream = 0.0;
  run(&y_default, &norm_default);
  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  SetStream(stream);
  EXPECT_EQ(GetStream(), static_cast<void*>(stream));
  run(&y_stream, &norm_stream);
  SetStream(nullptr);
  cudaStreamDestroy(stream);
  EXPECT_EQ(y_stream, y_default);
  EXPECT_EQ(norm_stream, norm_default);
  EXPECT_GT(norm_default, 0.0);
}

}  // namespace
}  // namespace morphfit::nn_cuda
