// The own Gauss-Newton's device seam, the parts that run without a GPU:
//  - the dense per-face arrays the CUDA path uploads (render::ComputeDenseJacobianFace), fed
//    to the shared per-pixel reference (math::AccumulateNormalEquationsReference, the CPU twin
//    the CUDA kernel is tested against in tests/cuda/render_cuda_test.cc), give the CPU's fused
//    sums (render::AccumulatePhotometric): so CUDA(face) = reference(face) = CPU;
//  - use_cuda where CUDA cannot run is a clear FailedPrecondition (built without CUDA, or no
//    device), never a silent CPU fit, in the batched seams too (every face gets the reason);
//    use_cuda with Ceres is an InvalidArgument.
// The CUDA-vs-CPU fits themselves are in photometric_cuda_test.cc (label gpu).
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "morphfit/fitters/photometric_fit.h"
#include "morphfit/math/pixel_jacobian.h"
#include "morphfit/render/jacobian.h"
#include "morphfit/render/renderer.h"
#include "photometric_device.h"
#include "photometric_energy.h"
#include "photometric_test_util.h"

namespace morphfit::fitters {
namespace {

using testing::PhotoSample;

const testing::PhotometricProblem& Problem() {
  static const testing::PhotometricProblem pb = testing::MakePhotometricProblem(64, 0.005, 3);
  return pb;
}

// The fused float32 tiles against the reference's double sums of float rows, relative to the
// largest entry (as tests/cuda/render_cuda_test.cc bounds the CUDA kernel).
constexpr double kRelTolerance = 1e-4;

TEST(PhotometricDeviceTest, DenseFaceArraysGiveTheFusedCpuSums) {
  const auto& pb = Problem();
  const models::MorphableModel& m = PhotoSample();
  ThreadPool pool(2);
  const testing::NormalEquationsCase c = testing::MakeNormalEquationsCase(pb, &pool);
  const render::VisibilityBuffer& vis = c.vis;
  const render::NormalEquations& cpu = c.cpu;
  const render::DenseJacobianFace face =
      render::ComputeDenseJacobianFace(m, c.jm, c.params, vis, c.render_options, &pool).value();
  // Every vertex of a visible triangle has a slot (what the CUDA kernel reads).
  ASSERT_GT(face.num_slots(), 0);
  for (int32_t f : vis.triangle) {
    if (f < 0) continue;
    for (int k = 0; k < 3; ++k) ASSERT_GE(face.vertex_slot[m.triangles(k, f)], 0);
  }
  const math::PixelJacobianInputs<float> j = face.Inputs(m, c.jm);
  const int P = j.layout.total;
  ASSERT_EQ(P, render::ParamLayout::For(m).total);
  std::vector<double> jtj(static_cast<size_t>(P) * P, 0.0), jtr(P, 0.0);
  std::vector<float> rows(3 * static_cast<size_t>(P));
  double cost = 0.0;
  int num_pixels = 0;
  math::AccumulateNormalEquationsReference(
      j, vis.triangle.data(), vis.width, vis.height, pb.image.rgb.data(), pb.image.weights.data(),
      c.photo.loss, c.photo.loss_scale, rows.data(), jtj.data(), jtr.data(), &cost, &num_pixels);
  ASSERT_GT(num_pixels, 500);
  EXPECT_EQ(cpu.num_pixels, num_pixels);
  EXPECT_NEAR(cpu.cost, cost, 1e-5 * cost);
  const double jtj_max = cpu.jtj.cwiseAbs().maxCoeff(), jtr_max = cpu.jtr.cwiseAbs().maxCoeff();
  ASSERT_GT(jtj_max, 0.0);
  ASSERT_GT(jtr_max, 0.0);
  for (int a = 0; a < P; ++a) {
    EXPECT_NEAR(jtr[a], cpu.jtr[a], kRelTolerance * jtr_max) << "column " << a;
    for (int b = 0; b < P; ++b) {
      ASSERT_NEAR(jtj[static_cast<size_t>(a) * P + b], cpu.jtj(a, b), kRelTolerance * jtj_max)
          << "entry " << a << ", " << b;
    }
  }
}

TEST(PhotometricDeviceTest, UseCudaWhereItCannotRunIsAClearError) {
  std::string reason;
  if (PhotometricCudaAvailable(&reason)) {
    GTEST_SKIP() << "a CUDA device is present: photometric_cuda_test.cc runs use_cuda";
  }
  EXPECT_FALSE(reason.empty());
  const auto& pb = Problem();
  PhotometricFitOptions options;
  options.use_cuda = true;
  const StatusOr<PhotometricFitResult> r =
      FitPhotometric(PhotoSample(), pb.image, pb.landmarks, pb.start, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  const std::string& msg = r.status().message();
  EXPECT_NE(msg.find("use_cuda"), std::string::npos) << msg;
  EXPECT_NE(msg.find(reason), std::string::npos) << msg;  // built without CUDA, or the driver's
  // The seam itself refuses too (no CPU fallback behind the caller's back).
  const models::MorphableModel& m = PhotoSample();
  const render::JacobianModel jm = render::MakeJacobianModel(m);
  const render::VisibilityBuffer vis =
      render::Render(m, pb.start, render::RenderOptions{}, nullptr).value().visibility;
  const StatusOr<render::NormalEquations> ne =
      AccumulatePhotometricCuda(m, jm, pb.start, vis, pb.image.rgb.data(), nullptr,
                                render::RenderOptions{}, render::PhotometricOptions{}, nullptr);
  ASSERT_FALSE(ne.ok());
  EXPECT_EQ(ne.status().code(), StatusCode::kFailedPrecondition);
  // So do the batched seams: every face gets the reason, and the batched solve refuses.
  const PyramidLevel level =
      MakeLevel(pb.image, Eigen::Matrix2Xd(), 0, 0, pb.image.width, pb.image.height, 1);
  const PhotometricFitOptions fit_options;
  const PhotometricStage stage;
  ThreadPool pool(2);
  const PhotometricEnergy energy(m, jm, level, fit_options, stage, &pool);
  const std::vector<StatusOr<render::NormalEquations>> batch = AccumulatePhotometricBatchCuda(
      {{&energy, &pb.start, &vis}, {&energy, &pb.start, &vis}}, &pool);
  ASSERT_EQ(batch.size(), 2u);
  for (const auto& b : batch) {
    ASSERT_FALSE(b.ok());
    EXPECT_EQ(b.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(b.status().message().find(reason), std::string::npos) << b.status().message();
  }
  std::vector<Eigen::VectorXd> x;
  std::vector<bool> pd;
  EXPECT_EQ(SolveSystemsBatchCuda({Eigen::MatrixXd::Identity(3, 3)}, {Eigen::VectorXd::Ones(3)},
                                  &x, &pd)
                .code(),
            StatusCode::kFailedPrecondition);
}

TEST(PhotometricDeviceTest, UseCudaNeedsTheGaussNewtonSolver) {
  const auto& pb = Problem();
  PhotometricFitOptions options;
  options.use_cuda = true;
  options.solver = PhotometricSolver::kCeres;
  const StatusOr<PhotometricFitResult> r =
      FitPhotometric(PhotoSample(), pb.image, pb.landmarks, pb.start, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("gauss_newton"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace morphfit::fitters
