// The own Gauss-Newton with use_cuda (label gpu; every test skips with the reason where
// PhotometricCudaAvailable is false: a build without CUDA, or no usable device):
//  - the CUDA normal equations of one face (AccumulatePhotometricCuda) against the CPU's fused
//    sums (render::AccumulatePhotometric), same point, visibility and image;
//  - a whole fit (default schedule, 128 px sample face) on the device against the same fit on
//    the CPU: the same final energy within 5e-3 relative (the bound the Ceres-vs-GN slow test
//    argues: the fused sums agree to ~1e-5, and iterates that differ by that much can settle on
//    neighbouring visibility configurations, a few silhouette pixels apart) and each stage's
//    iteration count within 1.
// Not yet run on a GPU (none was lent to the session that wrote them). Evidence for the
// bounds, measured on the CPU: with AccumulatePhotometricCuda's body temporarily replaced by
// math::AccumulateNormalEquationsReference on the very arrays it uploads (double sums of float
// rows, i.e. a different summation from the CPU's float tiles, as the device's is), the fit
// test gave the same iterations per stage (9, 3, 6) and the same final energy (4.0324e-05,
// equal to 5 digits) as the CPU fit, and the normal-equation test passed.
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <string>

#include <gtest/gtest.h>

#include "morphfit/fitters/photometric_fit.h"
#include "morphfit/render/jacobian.h"
#include "morphfit/render/renderer.h"
#include "photometric_device.h"
#include "photometric_test_util.h"

namespace morphfit::fitters {
namespace {

using testing::PhotoSample;

#define MORPHFIT_SKIP_WITHOUT_PHOTOMETRIC_CUDA()                    \
  do {                                                              \
    std::string reason;                                             \
    if (!PhotometricCudaAvailable(&reason)) GTEST_SKIP() << reason; \
  } while (0)

constexpr double kNoise = 0.005;

TEST(PhotometricCudaTest, NormalEquationsMatchTheCpu) {
  MORPHFIT_SKIP_WITHOUT_PHOTOMETRIC_CUDA();
  const testing::PhotometricProblem pb = testing::MakePhotometricProblem(96, kNoise, 4);
  ThreadPool pool(2);
  const testing::NormalEquationsCase c = testing::MakeNormalEquationsCase(pb, &pool);
  const render::NormalEquations& cpu = c.cpu;
  const StatusOr<render::NormalEquations> gpu =
      AccumulatePhotometricCuda(PhotoSample(), c.jm, c.params, c.vis, pb.image.rgb.data(),
                                pb.image.weights.data(), c.render_options, c.photo, &pool);
  ASSERT_TRUE(gpu.ok()) << gpu.status().message();
  ASSERT_GT(cpu.num_pixels, 1000);
  EXPECT_EQ(gpu->num_pixels, cpu.num_pixels);
  EXPECT_NEAR(gpu->cost, cpu.cost, 1e-5 * cpu.cost);
  const int P = static_cast<int>(cpu.jtr.size());
  ASSERT_EQ(gpu->jtr.size(), cpu.jtr.size());
  const double jtj_max = cpu.jtj.cwiseAbs().maxCoeff(), jtr_max = cpu.jtr.cwiseAbs().maxCoeff();
  for (int a = 0; a < P; ++a) {
    EXPECT_NEAR(gpu->jtr[a], cpu.jtr[a], 1e-4 * jtr_max) << "column " << a;
    for (int b = 0; b < P; ++b) {
      ASSERT_NEAR(gpu->jtj(a, b), cpu.jtj(a, b), 1e-4 * jtj_max) << "entry " << a << ", " << b;
    }
  }
}

TEST(PhotometricCudaTest, GaussNewtonFitMatchesTheCpu) {
  MORPHFIT_SKIP_WITHOUT_PHOTOMETRIC_CUDA();
  const testing::PhotometricProblem pb = testing::MakePhotometricProblem(128, kNoise, 2);
  PhotometricFitOptions options;
  options.num_threads = 2;
  PhotometricFitSummary summary[2];
  for (const bool cuda : {false, true}) {
    options.use_cuda = cuda;
    const StatusOr<PhotometricFitResult> r =
        FitPhotometric(PhotoSample(), pb.image, pb.landmarks, pb.start, options);
    ASSERT_TRUE(r.ok()) << r.status().message();
    summary[cuda] = r.value().summary;
    std::cout << (cuda ? "cuda" : "cpu") << ":\n" << summary[cuda].ToString() << "\n";
    EXPECT_LT(summary[cuda].photometric_rmse, 1.5 * kNoise);
  }
  ASSERT_EQ(summary[1].stages.size(), summary[0].stages.size());
  for (size_t s = 0; s < summary[0].stages.size(); ++s) {
    EXPECT_LE(std::abs(summary[1].stages[s].iterations - summary[0].stages[s].iterations), 1)
        << "stage " << summary[0].stages[s].name;
  }
  const double cpu = summary[0].stages.back().final_cost;
  EXPECT_NEAR(summary[1].stages.back().final_cost, cpu, 5e-3 * cpu);
  EXPECT_EQ(summary[1].converged, summary[0].converged);
}

}  // namespace
}  // namespace morphfit::fitters
