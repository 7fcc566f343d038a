// The own Gauss-Newton with use_cuda (label gpu; every test skips with the reason where
// PhotometricCudaAvailable is false: a build without CUDA, or no usable device):
//  - the CUDA normal equations of one face (AccumulatePhotometricCuda) against the CPU's fused
//    sums (render::AccumulatePhotometric), same point, visibility and image;
//  - a whole fit (default schedule, 128 px sample face) on the device against the same fit on
//    the CPU: the same final energy within 5e-3 relative (the bound the Ceres-vs-GN slow test
//    argues: the fused sums agree to ~1e-5, and iterates that differ by that much can settle on
//    neighbouring visibility configurations, a few silhouette pixels apart) and each stage's
//    iteration count within 1.
//  - the batched normal equations of 3 faces in one device call
//    (AccumulatePhotometricBatchCuda: different levels, sizes and camera models) against each
//    face's CPU sums, with the bound of the single-face test;
//  - the batched damped solve (SolveSystemsBatchCuda, systems of different sizes padded into one
//    launch) against Eigen's LLT (CholeskySolve, the CPU path's solve), and a non-positive-
//    definite system reported as such;
//  - FitPhotometricBatch with use_cuda against the same batch on the CPU (= the single CPU fits,
//    photometric_batch_test.cc): per face the same final energy within 5e-3 relative and the
//    stage iteration counts within 1, as the single-face fit test above.
// Not yet run on a GPU (none was lent to the session that wrote them). Evidence for the
// bounds, measured on the CPU: with AccumulatePhotometricCuda's body temporarily replaced by
// math::AccumulateNormalEquationsReference on the very arrays it uploads (double sums of float
// rows, i.e. a different summation from the CPU's float tiles, as the device's is), the fit
// test gave the same iterations per stage (9, 3, 6) and the same final energy (4.0324e-05,
// equal to 5 digits) as the CPU fit, and the normal-equation test passed.
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "morphfit/fitters/photometric_fit.h"
#include "morphfit/render/jacobian.h"
#include "morphfit/render/renderer.h"
#include "photometric_device.h"
#include "photometric_energy.h"
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

TEST(PhotometricCudaTest, BatchNormalEquationsMatchTheCpu) {
  MORPHFIT_SKIP_WITHOUT_PHOTOMETRIC_CUDA();
  const models::MorphableModel& m = PhotoSample();
  const render::JacobianModel jm = render::MakeJacobianModel(m);
  ThreadPool pool(2);
  const testing::PhotometricProblem pbs[3] = {
      testing::MakePhotometricProblem(96, kNoise, 4),
      testing::MakePhotometricProblem(80, kNoise, 5, CameraType::kWeakPerspective),
      testing::MakePhotometricProblem(64, kNoise, 6)};
  PhotometricFitOptions options;
  options.loss = render::RobustLoss::kHuber;
  options.loss_scale = 0.05;
  options.render_options.specular_intensity = 0.2f;
  const PhotometricStage stage;
  std::vector<PyramidLevel> levels;
  std::vector<FaceParams> params;
  std::vector<render::VisibilityBuffer> vis;
  for (const auto& pb : pbs) {
    levels.push_back(MakeLevel(pb.image, Eigen::Matrix2Xd(), 0, 0, pb.image.width,
                               pb.image.height, 1));
    FaceParams p = pb.start;  // off the optimum (non-zero residuals, Huber active)
    for (int i = 0; i < kNumLighting; ++i) p.lighting[i] += 0.05 * std::sin(1.0 + i);
    params.push_back(p);
    vis.push_back(render::Render(m, p, options.render_options, nullptr).value().visibility);
  }
  std::vector<std::unique_ptr<PhotometricEnergy>> energies;
  std::vector<PhotometricBatchFace> batch;
  for (int f = 0; f < 3; ++f) {
    energies.push_back(
        std::make_unique<PhotometricEnergy>(m, jm, levels[f], options, stage, &pool));
    batch.push_back({energies[f].get(), &params[f], &vis[f]});
  }
  const std::vector<StatusOr<render::NormalEquations>> gpu =
      AccumulatePhotometricBatchCuda(batch, &pool);
  ASSERT_EQ(gpu.size(), 3u);
  for (int f = 0; f < 3; ++f) {
    ASSERT_TRUE(gpu[f].ok()) << "face " << f << ": " << gpu[f].status().message();
    const render::NormalEquations cpu =
        render::AccumulatePhotometric(m, jm, params[f], vis[f], levels[f].rgb.data(),
                                      levels[f].weights.data(), options.render_options,
                                      energies[f]->photometric_options(), &pool)
            .value();
    ASSERT_GT(cpu.num_pixels, 500) << "face " << f;
    EXPECT_EQ(gpu[f]->num_pixels, cpu.num_pixels) << "face " << f;
    EXPECT_NEAR(gpu[f]->cost, cpu.cost, 1e-5 * cpu.cost) << "face " << f;
    const double jtj_max = cpu.jtj.cwiseAbs().maxCoeff(), jtr_max = cpu.jtr.cwiseAbs().maxCoeff();
    EXPECT_LT((gpu[f]->jtr - cpu.jtr).lpNorm<Eigen::Infinity>(), 1e-4 * jtr_max) << "face " << f;
    EXPECT_LT((gpu[f]->jtj - cpu.jtj).lpNorm<Eigen::Infinity>(), 1e-4 * jtj_max) << "face " << f;
  }
}

TEST(PhotometricCudaTest, BatchSolveMatchesEigen) {
  MORPHFIT_SKIP_WITHOUT_PHOTOMETRIC_CUDA();
  std::mt19937 gen(9);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<Eigen::MatrixXd> a;
  std::vector<Eigen::VectorXd> rhs;
  for (int size : {134, 40, 260, 7}) {
    const Eigen::MatrixXd g =
        Eigen::MatrixXd::NullaryExpr(2 * size, size, [&] { return normal(gen); });
    a.push_back(g.transpose() * g);
    rhs.push_back(Eigen::VectorXd::NullaryExpr(size, [&] { return normal(gen); }));
  }
  a.push_back(-Eigen::MatrixXd::Identity(5, 5));  // not positive definite
  rhs.push_back(Eigen::VectorXd::Ones(5));
  std::vector<Eigen::VectorXd> x;
  std::vector<bool> pd;
  const Status st = SolveSystemsBatchCuda(a, rhs, &x, &pd);
  ASSERT_TRUE(st.ok()) << st.message();
  ASSERT_EQ(x.size(), a.size());
  for (size_t k = 0; k + 1 < a.size(); ++k) {
    Eigen::VectorXd ref;
    ASSERT_TRUE(CholeskySolve(a[k], rhs[k], &ref));
    EXPECT_TRUE(pd[k]) << "system " << k;
    ASSERT_EQ(x[k].size(), ref.size());
    EXPECT_LT((x[k] - ref).norm(), 1e-8 * ref.norm()) << "system " << k;
  }
  EXPECT_FALSE(pd.back());
  // Mismatched sizes are an error, not a launch.
  rhs[1].resize(3);
  EXPECT_EQ(SolveSystemsBatchCuda(a, rhs, &x, &pd).code(), StatusCode::kInvalidArgument);
}

TEST(PhotometricCudaTest, BatchFitMatchesTheCpuBatch) {
  MORPHFIT_SKIP_WITHOUT_PHOTOMETRIC_CUDA();
  const testing::PhotometricProblem pbs[3] = {
      testing::MakePhotometricProblem(128, kNoise, 2),
      testing::MakePhotometricProblem(96, kNoise, 4, CameraType::kWeakPerspective),
      testing::MakePhotometricProblem(112, kNoise, 8)};
  std::vector<PhotometricFitInput> inputs;
  for (const auto& pb : pbs) inputs.push_back({&pb.image, pb.landmarks, pb.start});
  PhotometricFitOptions options;
  options.num_threads = 2;
  PhotometricBatchResult result[2];
  for (const bool cuda : {false, true}) {
    options.use_cuda = cuda;
    StatusOr<PhotometricBatchResult> r = FitPhotometricBatch(PhotoSample(), inputs, options);
    ASSERT_TRUE(r.ok()) << r.status().message();
    result[cuda] = std::move(r).value();
  }
  for (int f = 0; f < 3; ++f) {
    ASSERT_TRUE(result[0].status[f].ok()) << result[0].status[f].message();
    ASSERT_TRUE(result[1].status[f].ok()) << result[1].status[f].message();
    const PhotometricFitSummary &cpu = result[0].fits[f].summary, &gpu = result[1].fits[f].summary;
    std::cout << "face " << f << " cpu:\n"
              << cpu.ToString() << "\ncuda:\n"
              << gpu.ToString() << "\n";
    EXPECT_LT(gpu.photometric_rmse, 1.5 * kNoise) << "face " << f;
    ASSERT_EQ(gpu.stages.size(), cpu.stages.size());
    for (size_t s = 0; s < cpu.stages.size(); ++s) {
      EXPECT_LE(std::abs(gpu.stages[s].iterations - cpu.stages[s].iterations), 1)
          << "face " << f << " stage " << cpu.stages[s].name;
    }
    const double c = cpu.stages.back().final_cost;
    EXPECT_NEAR(gpu.stages.back().final_cost, c, 5e-3 * c) << "face " << f;
    EXPECT_EQ(gpu.converged, cpu.converged) << "face " << f;
  }
}

}  // namespace
}  // namespace morphfit::fitters
