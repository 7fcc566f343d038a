// Analytic Jacobians of the landmark costs vs central differences (ceres::GradientChecker),
// and their values vs the independent projection in fit_test_util.h.
#include "landmark_costs.h"

#include <memory>
#include <random>

#include <ceres/gradient_checker.h>
#include <ceres/manifold.h>
#include <gtest/gtest.h>

#include "fit_test_util.h"
#include "morphfit/models/random_model.h"

namespace morphfit::fitters {
namespace {

using testing::Sample;

// Bound on max |J_analytic - J_numeric| / max |J_analytic| per parameter block, from the
// analytic and central-difference Jacobians GradientChecker computes. Its own per-entry
// relative error is not used: entries 1e-9 of their block's scale (modes that barely move a
// landmark) carry ~1e-13 absolute difference noise and fail any per-entry relative bound. The
// differences here are ~1e-10 of the scale; a wrong or missing term shows up at order 1.
constexpr double kJacobianPrecision = 1e-7;

struct Blocks {
  Eigen::Vector3d rotation, translation, camera;
  Eigen::VectorXd identity, expression;
  std::vector<const double*> Pointers() const {
    std::vector<const double*> p = {rotation.data(), translation.data(), camera.data()};
    if (identity.size() > 0) p.push_back(identity.data());
    if (expression.size() > 0) p.push_back(expression.data());
    return p;
  }
};

Blocks BlocksOf(const FaceParams& p) {
  return {p.rotation, p.translation, p.camera, p.identity, p.expression};
}

// Runs ceres::GradientChecker::Probe and expects agreement. The ProbeResults are deliberately
// never freed: libceres (Debian, generic x86-64) allocates their Eigen matrices with 16-byte
// alignment through plain malloc, while this project builds with -march=x86-64-v3 (32-byte
// Eigen alignment, Eigen's offset-storing aligned allocator), so destroying them here would
// hand those blocks to the wrong free. A few KB per probe, in a test.
void ExpectProbePasses(const ceres::CostFunction& cost,
                       const std::vector<const ceres::Manifold*>* manifolds,
                       const double* const* params) {
  ceres::NumericDiffOptions numeric;
  ceres::GradientChecker checker(&cost, manifolds, numeric);
  auto* results = new ceres::GradientChecker::ProbeResults;
  checker.Probe(params, kJacobianPrecision, results);
  ASSERT_TRUE(results->return_value) << "the cost failed to evaluate: " << results->error_log;
  ASSERT_EQ(results->local_jacobians.size(), cost.parameter_block_sizes().size());
  for (size_t i = 0; i < results->local_jacobians.size(); ++i) {
    // Read through unaligned maps: the storage is libceres' (16-byte aligned).
    const auto& a = results->local_jacobians[i];
    const auto& n = results->local_numeric_jacobians[i];
    using Unaligned = Eigen::Map<const ceres::Matrix, Eigen::Unaligned>;
    const Unaligned analytic(a.data(), a.rows(), a.cols());
    const Unaligned numeric_j(n.data(), n.rows(), n.cols());
    const double scale = analytic.cwiseAbs().maxCoeff();
    const double error = (analytic - numeric_j).cwiseAbs().maxCoeff();
    EXPECT_LE(error, kJacobianPrecision * std::max(scale, 1e-12))
        << "block " << i << ": scale " << scale << "\n" << results->error_log;
  }
}

void ExpectJacobiansMatch(const ceres::CostFunction& cost, const Blocks& b) {
  const std::vector<const double*> params = b.Pointers();
  ExpectProbePasses(cost, nullptr, params.data());
}

class ReprojectionCostTest : public ::testing::TestWithParam<CameraType> {};

TEST_P(ReprojectionCostTest, JacobiansMatchCentralDifferences) {
  const auto& m = Sample();
  const GatheredVertices g = GatheredVertices::Make(m, m.landmarks);
  for (uint32_t seed : {1u, 2u, 3u}) {
    const FaceParams p = testing::RandomFace(seed, 40.0, GetParam());
    const Blocks b = BlocksOf(p);
    for (int slot : {0, 8, 30, 36, 62}) {
      SCOPED_TRACE("seed " + std::to_string(seed) + " landmark " + std::to_string(slot));
      std::unique_ptr<LandmarkReprojectionCost> cost(LandmarkReprojectionCost::Create(
          &g, slot, GetParam() == CameraType::kPinhole, Eigen::Vector2d(300.0, 200.0)));
      ExpectJacobiansMatch(*cost, b);
    }
  }
}

// Rotations near 0 and near pi exercise both branches of the Rodrigues coefficients.
TEST_P(ReprojectionCostTest, JacobiansMatchNearZeroAndPiRotation) {
  const auto& m = Sample();
  const GatheredVertices g = GatheredVertices::Make(m, m.landmarks);
  FaceParams p = testing::RandomFace(4, 0.0, GetParam());
  std::unique_ptr<LandmarkReprojectionCost> cost(LandmarkReprojectionCost::Create(
      &g, 30, GetParam() == CameraType::kPinhole, Eigen::Vector2d(320.0, 240.0)));
  for (const Eigen::Vector3d& w : {Eigen::Vector3d(1e-3, -2e-3, 5e-4),
                                   Eigen::Vector3d(M_PI - 1e-3, 2e-3, -1e-3)}) {
    p.rotation = w;  // near 0 the face looks away from the camera but stays in front of it
    ExpectJacobiansMatch(*cost, BlocksOf(p));
  }
}

TEST_P(ReprojectionCostTest, ResidualIsProjectionMinusTarget) {
  const auto& m = Sample();
  const GatheredVertices g = GatheredVertices::Make(m, m.landmarks);
  const FaceParams p = testing::RandomFace(5, 40.0, GetParam());
  const Eigen::Matrix2Xd uv = testing::ProjectVertices(m, p, m.landmarks);
  const Blocks b = BlocksOf(p);
  const Eigen::Vector2d target(100.0, 50.0);
  for (int k = 0; k < models::kNumLandmarks; ++k) {
    std::unique_ptr<LandmarkReprojectionCost> cost(LandmarkReprojectionCost::Create(
        &g, k, GetParam() == CameraType::kPinhole, target));
    double r[2];
    ASSERT_TRUE(cost->Evaluate(b.Pointers().data(), r, nullptr));
    // float (VertexSubset) vs double gathered rows: ~1e-5 mm -> well under 1e-3 px.
    EXPECT_NEAR(r[0], uv(0, k) - target.x(), 1e-3);
    EXPECT_NEAR(r[1], uv(1, k) - target.y(), 1e-3);
  }
}

INSTANTIATE_TEST_SUITE_P(Cameras, ReprojectionCostTest,
                         ::testing::Values(CameraType::kPinhole, CameraType::kWeakPerspective),
                         [](const auto& info) { return std::string(CameraTypeName(info.param)); });

TEST(ReprojectionCost, PointBehindTheCameraIsInvalid) {
  const auto& m = Sample();
  const GatheredVertices g = GatheredVertices::Make(m, m.landmarks);
  FaceParams p = testing::RandomFace(6, 0.0, CameraType::kPinhole);
  p.translation.z() = -1000.0;
  std::unique_ptr<LandmarkReprojectionCost> cost(
      LandmarkReprojectionCost::Create(&g, 30, true, Eigen::Vector2d(0.0, 0.0)));
  double r[2];
  EXPECT_FALSE(cost->Evaluate(BlocksOf(p).Pointers().data(), r, nullptr));
}

// A model without expression modes: the cost has four blocks and still checks out.
TEST(ReprojectionCost, ModelWithoutExpressionBlock) {
  models::RandomModelOptions o;
  o.num_vertices = 400;
  o.num_identity = 5;
  o.num_expression = 0;
  o.num_albedo = 1;
  const models::MorphableModel m = models::MakeRandomModel(o);
  const GatheredVertices g = GatheredVertices::Make(m, {3, 77, 250});
  std::unique_ptr<LandmarkReprojectionCost> cost(
      LandmarkReprojectionCost::Create(&g, 1, true, Eigen::Vector2d(10.0, 20.0)));
  ASSERT_EQ(cost->parameter_block_sizes().size(), 4u);
  Blocks b{testing::HeadRotation(0.3, 0.1, -0.2), Eigen::Vector3d(5.0, -3.0, 700.0),
           Eigen::Vector3d(900.0, 320.0, 240.0), Eigen::VectorXd::LinSpaced(5, -1.0, 1.5),
           Eigen::VectorXd()};
  ExpectJacobiansMatch(*cost, b);
}

// Projection::kPinholeImageScale: the blocks of a pinhole FaceParams converted by ToImageScale
// with the reference focal length kReference (kappa = kReference / f, 0.6-1.6 here: the
// checker's Ridders differences try steps up to 0.32 first, which must keep kappa > 0).
constexpr double kReference = 2000.0;
Blocks ImageScaleBlocksOf(const FaceParams& p) {
  Blocks b = BlocksOf(p);
  ToImageScale(p.translation, p.camera[0], kReference, &b.translation, &b.camera[0]);
  return b;
}

// The image-scale parameterisation: the same residual as the pinhole camera it converts from
// (and back: FromImageScale), analytic Jacobians against central differences (poses of
// random faces, rotations near 0 and pi, focal-only tangent space as in the fit), and a point
// behind the camera (or a non-positive scale) is invalid.
TEST(ReprojectionCost, ImageScaleMatchesPinholeAndCentralDifferences) {
  const auto& m = Sample();
  const GatheredVertices g = GatheredVertices::Make(m, m.landmarks);
  for (uint32_t seed : {1u, 2u, 3u}) {
    FaceParams p = testing::RandomFace(seed, 40.0, CameraType::kPinhole);
    p.translation += Eigen::Vector3d(40.0, -25.0, 0.0);  // off the optical axis
    if (seed == 3) p.camera[0] *= 2.5;
    const Blocks pinhole = BlocksOf(p), scaled = ImageScaleBlocksOf(p);
    Eigen::Vector3d t;
    double f = 0.0;
    FromImageScale(scaled.translation, scaled.camera[0], kReference, &t, &f);
    EXPECT_LT((t - p.translation).norm(), 1e-9 * p.translation.norm());
    EXPECT_NEAR(f, p.camera[0], 1e-9 * p.camera[0]);
    EXPECT_NEAR(scaled.translation.z(), p.camera[0] / p.translation.z(), 1e-12);
    for (int slot : {0, 8, 30, 36, 62}) {
      SCOPED_TRACE("seed " + std::to_string(seed) + " landmark " + std::to_string(slot));
      const Eigen::Vector2d target(300.0, 200.0);
      std::unique_ptr<LandmarkReprojectionCost> a(
          LandmarkReprojectionCost::Create(&g, slot, Projection::kPinhole, target));
      std::unique_ptr<LandmarkReprojectionCost> b(
          LandmarkReprojectionCost::Create(&g, slot, Projection::kPinholeImageScale, target,
                                           kReference));
      double ra[2], rb[2];
      ASSERT_TRUE(a->Evaluate(pinhole.Pointers().data(), ra, nullptr));
      ASSERT_TRUE(b->Evaluate(scaled.Pointers().data(), rb, nullptr));
      EXPECT_NEAR(ra[0], rb[0], 1e-9);
      EXPECT_NEAR(ra[1], rb[1], 1e-9);
      ExpectJacobiansMatch(*b, scaled);
    }
  }
  std::unique_ptr<LandmarkReprojectionCost> cost(LandmarkReprojectionCost::Create(
      &g, 30, Projection::kPinholeImageScale, Eigen::Vector2d(320.0, 240.0), kReference));
  FaceParams p = testing::RandomFace(4, 0.0, CameraType::kPinhole);
  for (const Eigen::Vector3d& w : {Eigen::Vector3d(1e-3, -2e-3, 5e-4),
                                   Eigen::Vector3d(M_PI - 1e-3, 2e-3, -1e-3)}) {
    p.rotation = w;
    ExpectJacobiansMatch(*cost, ImageScaleBlocksOf(p));
  }
  // kappa alone free (the principal point held), as in the fit when the focal is estimated.
  ceres::SubsetManifold kappa_only(3, {1, 2});
  const std::vector<const ceres::Manifold*> manifolds = {nullptr, nullptr, &kappa_only, nullptr,
                                                         nullptr};
  const Blocks b = ImageScaleBlocksOf(testing::RandomFace(7, 40.0, CameraType::kPinhole));
  ExpectProbePasses(*cost, &manifolds, b.Pointers().data());
  double r[2];
  Blocks behind = b;
  behind.translation.z() = -b.translation.z();  // s < 0: t_z < 0
  EXPECT_FALSE(cost->Evaluate(behind.Pointers().data(), r, nullptr));
  // The same image scale with f = 0.5 s: the model origin 0.5 mm from the camera, so the
  // points in front of it (about half the landmarks) are behind the camera.
  behind = b;
  behind.camera[0] = kReference / (0.5 * b.translation.z());
  int invalid = 0;
  for (int k = 0; k < 68; ++k) {
    std::unique_ptr<LandmarkReprojectionCost> c(LandmarkReprojectionCost::Create(
        &g, k, Projection::kPinholeImageScale, Eigen::Vector2d(0.0, 0.0), kReference));
    invalid += !c->Evaluate(behind.Pointers().data(), r, nullptr);
    EXPECT_TRUE(c->Evaluate(b.Pointers().data(), r, nullptr));
  }
  EXPECT_GT(invalid, 5);
  EXPECT_LT(invalid, 68);
}

TEST(CoefficientPriorCost, ResidualAndJacobian) {
  std::unique_ptr<CoefficientPriorCost> cost(CoefficientPriorCost::Create(7, 4.0));
  const Eigen::VectorXd c = Eigen::VectorXd::LinSpaced(7, -2.0, 1.0);
  const double* params[] = {c.data()};
  Eigen::VectorXd r(7);
  ASSERT_TRUE(cost->Evaluate(params, r.data(), nullptr));
  EXPECT_TRUE(r.isApprox(2.0 * c));  // sqrt(4) * c
  ExpectProbePasses(*cost, nullptr, params);
}

// With the pinhole camera's principal point held by a SubsetManifold (as in the fit when the
// focal length is estimated), the checker compares the 1-column tangent Jacobian.
TEST(ReprojectionCost, FocalOnlyTangentSpace) {
  const auto& m = Sample();
  const GatheredVertices g = GatheredVertices::Make(m, m.landmarks);
  const FaceParams p = testing::RandomFace(7, 40.0, CameraType::kPinhole);
  std::unique_ptr<LandmarkReprojectionCost> cost(
      LandmarkReprojectionCost::Create(&g, 45, true, Eigen::Vector2d(0.0, 0.0)));
  ceres::SubsetManifold focal_only(3, {1, 2});
  const std::vector<const ceres::Manifold*> manifolds = {nullptr, nullptr, &focal_only, nullptr,
                                                         nullptr};
  const Blocks b = BlocksOf(p);
  ExpectProbePasses(*cost, &manifolds, b.Pointers().data());
}

}  // namespace
}  // namespace morphfit::fitters
