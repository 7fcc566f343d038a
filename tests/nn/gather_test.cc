// The gather forms the CUDA kernels use for backward passes (nn/kernels/gather.h) against the
// scatter definitions on the CPU, over many geometries, so the device index math is checked on
// a machine without a GPU.
#include <gtest/gtest.h>

#include "morphfit/nn/kernels/gather.h"
#include "tests/nn/op_test_util.h"

namespace morphfit::nn::testing {
namespace {

// Gather and scatter add the same terms in different orders (double).
constexpr double kTolerance = 1e-12;

TEST(GatherTest, Col2imGatherIsTheTransposeOfIm2col) {
  const int64_t params[][6] = {  // h, w, k, stride, pad, dilation
      {7, 6, 3, 1, 1, 1}, {9, 8, 3, 2, 2, 2}, {5, 5, 1, 2, 0, 1}, {8, 8, 7, 2, 3, 1},
      {6, 9, 2, 3, 1, 1}, {10, 7, 3, 3, 0, 2}};
  for (const auto& p : params) {
    Conv2dGeometry g;
    g.n = 1, g.c_in = 3, g.h = p[0], g.w = p[1], g.c_out = 1, g.kh = p[2], g.kw = p[2];
    g.stride = p[3], g.pad = p[4], g.dilation = p[5];
    g.out_h = ConvOutputSize(g.h, g.kh, g.stride, g.pad, g.dilation);
    g.out_w = ConvOutputSize(g.w, g.kw, g.stride, g.pad, g.dilation);
    const Vec cols = RandomVec(g.col_rows() * g.col_cols(), 1);
    Vec scatter(static_cast<size_t>(g.c_in * g.h * g.w), 0.0), gather(scatter.size());
    for (int64_t row = 0; row < g.col_rows(); ++row)
      for (int64_t oh = 0; oh < g.out_h; ++oh)
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          int64_t c, ih, iw;
          if (Im2colSource(g, row, oh, ow, &c, &ih, &iw)) {
            scatter[(c * g.h + ih) * g.w + iw] += cols[row * g.col_cols() + oh * g.out_w + ow];
          }
        }
    for (int64_t c = 0; c < g.c_in; ++c)
      for (int64_t ih = 0; ih < g.h; ++ih)
        for (int64_t iw = 0; iw < g.w; ++iw) gather[(c * g.h + ih) * g.w + iw] = Col2imGather(g, cols.data(), c, ih, iw);
    EXPECT_LT(MaxScaledError(gather, scatter), kTolerance) << "k " << p[2] << " s " << p[3];
  }
}

TEST(GatherTest, PoolingGathersMatchTheScatterReferences) {
  const int64_t params[][5] = {  // h, w, kernel, stride, pad
      {7, 6, 3, 2, 1}, {4, 4, 2, 2, 0}, {5, 5, 3, 1, 1}, {9, 7, 2, 3, 1}, {6, 6, 4, 2, 3}, {3, 5, 1, 1, 0}};
  for (const auto& p : params) {
    Pool2dGeometry g;
    g.n = 1, g.c = 2, g.h = p[0], g.w = p[1], g.kernel = p[2], g.stride = p[3], g.pad = p[4];
    g.out_h = ConvOutputSize(g.h, g.kernel, g.stride, g.pad, 1);
    g.out_w = ConvOutputSize(g.w, g.kernel, g.stride, g.pad, 1);
    const int64_t nx = g.c * g.h * g.w, ny = g.c * g.out_h * g.out_w;
    const Vec x = RandomVec(nx, 2), dy = RandomVec(ny, 3);
    Vec y(ny), dx_max(nx), dx_avg(nx), gather_max(nx), gather_avg(nx);
    std::vector<int32_t> argmax(static_cast<size_t>(ny));
    reference::MaxPool2dForward<double>(g, x.data(), y.data(), argmax.data());
    reference::MaxPool2dBackward<double>(g, argmax.data(), dy.data(), dx_max.data());
    reference::AvgPool2dBackward<double>(g, dy.data(), dx_avg.data());
    for (int64_t c = 0; c < g.c; ++c)
      for (int64_t ih = 0; ih < g.h; ++ih)
        for (int64_t iw = 0; iw < g.w; ++iw) {
          const int64_t k = (c * g.h + ih) * g.w + iw;
          const double* x_plane = x.data() + c * g.h * g.w;
          const double* dy_plane = dy.data() + c * g.out_h * g.out_w;
          gather_max[k] = MaxPoolGather(g, x_plane, dy_plane, ih, iw);
          gather_avg[k] = AvgPoolGather(g, dy_plane, ih, iw);
        }
    EXPECT_LT(MaxScaledError(gather_max, dx_max), kTolerance) << "k " << p[2] << " s " << p[3];
    EXPECT_LT(MaxScaledError(gather_avg, dx_avg), kTolerance) << "k " << p[2] << " s " << p[3];
  }
}

TEST(GatherTest, UpsamplingGathersMatchTheScatterReferences) {
  for (const auto& [h, w, scale] : {std::tuple<int64_t, int64_t, int64_t>{3, 4, 2}, {5, 2, 3},
                                    {1, 6, 4}, {4, 4, 1}}) {
    const int64_t planes = 2;
    const Vec dy = RandomVec(planes * h * w * scale * scale, 4);
    Vec nearest(static_cast<size_t>(planes * h * w)), bilinear(nearest.size());
    Vec gather_nearest(nearest.size()), gather_bilinear(nearest.size());
    reference::UpsampleNearestBackward<double>(planes, h, w, scale, dy.data(), nearest.data());
    reference::UpsampleBilinearBackward<double>(planes, h, w, scale, dy.data(), bilinear.data());
    for (int64_t p = 0; p < planes; ++p)
      for (int64_t ih = 0; ih < h; ++ih)
        for (int64_t iw = 0; iw < w; ++iw) {
          const double* plane = dy.data() + p * h * w * scale * scale;
          gather_nearest[(p * h + ih) * w + iw] = UpsampleNearestGather(w, scale, plane, ih, iw);
          gather_bilinear[(p * h + ih) * w + iw] = UpsampleBilinearGather(h, w, scale, plane, ih, iw);
        }
    EXPECT_LT(MaxScaledError(gather_nearest, nearest), kTolerance) << h << "x" << w << " s" << scale;
    EXPECT_LT(MaxScaledError(gather_bilinear, bilinear), kTolerance) << h << "x" << w << " s" << scale;
  }
}

}  // namespace
}  // namespace morphfit::nn::testing
