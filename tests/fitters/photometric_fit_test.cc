// Photometric fit, fast checks: option and input validation (clear errors), the energy's
// analytic gradient against central differences, the pyramid's camera mapping, solver names.
// The slow synthetic recoveries are in photometric_fit_slow_test.cc.
#include "morphfit/fitters/photometric_fit.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "photometric_energy.h"
#include "photometric_test_util.h"

namespace morphfit::fitters {
namespace {

using testing::PhotoSample;

const testing::PhotometricProblem& Problem() {
  static const testing::PhotometricProblem pb = testing::MakePhotometricProblem(64, 0.005, 3);
  return pb;
}

StatusCode FitCode(const PhotometricImage& image, const Eigen::Matrix2Xd& landmarks,
                   const FaceParams& initial, const PhotometricFitOptions& options,
                   std::string* message) {
  StatusOr<PhotometricFitResult> r =
      FitPhotometric(PhotoSample(), image, landmarks, initial, options);
  *message = r.ok() ? "" : r.status().message();
  return r.ok() ? StatusCode::kOk : r.status().code();
}

TEST(PhotometricFitTest, SolverNamesRoundTrip) {
  for (PhotometricSolver s : {PhotometricSolver::kCeres, PhotometricSolver::kGaussNewton}) {
    EXPECT_EQ(ParsePhotometricSolver(PhotometricSolverName(s)).value(), s);
  }
  EXPECT_FALSE(ParsePhotometricSolver("newton").ok());
}

TEST(PhotometricFitTest, BadInputGivesClearErrors) {
  const auto& pb = Problem();
  const PhotometricFitOptions options;
  std::string msg;
  {
    PhotometricImage empty;
    EXPECT_EQ(FitCode(empty, pb.landmarks, pb.start, options, &msg), StatusCode::kInvalidArgument);
    EXPECT_NE(msg.find("size must be positive"), std::string::npos) << msg;
  }
  {
    PhotometricImage short_rgb = pb.image;
    short_rgb.rgb.pop_back();
    EXPECT_EQ(FitCode(short_rgb, pb.landmarks, pb.start, options, &msg),
              StatusCode::kInvalidArgument);
    EXPECT_NE(msg.find("rgb has"), std::string::npos) << msg;
  }
  {
    PhotometricImage nan_pixel = pb.image;
    nan_pixel.rgb[3 * (10 * 64 + 7) + 1] = std::numeric_limits<float>::quiet_NaN();
    EXPECT_EQ(FitCode(nan_pixel, pb.landmarks, pb.start, options, &msg),
              StatusCode::kInvalidArgument);
    EXPECT_NE(msg.find("pixel (7, 10)"), std::string::npos) << msg;
  }
  {
    PhotometricImage bad_weights = pb.image;
    bad_weights.weights.resize(10);
    EXPECT_EQ(FitCode(bad_weights, pb.landmarks, pb.start, options, &msg),
              StatusCode::kInvalidArgument);
    EXPECT_NE(msg.find("weights has 10 values"), std::string::npos) << msg;
    bad_weights = pb.image;
    bad_weights.weights[5] = -1.0f;
    EXPECT_EQ(FitCode(bad_weights, pb.landmarks, pb.start, options, &msg),
              StatusCode::kInvalidArgument);
    bad_weights.weights.assign(bad_weights.weights.size(), 0.0f);
    EXPECT_EQ(FitCode(bad_weights, pb.landmarks, pb.start, options, &msg),
              StatusCode::kInvalidArgument);
    EXPECT_NE(msg.find("all weights are 0"), std::string::npos) << msg;
  }
  {
    FaceParams nan_start = pb.start;
    nan_start.identity[2] = std::numeric_limits<double>::quiet_NaN();
    EXPECT_EQ(FitCode(pb.image, pb.landmarks, nan_start, options, &msg),
              StatusCode::kInvalidArgument);
    FaceParams wrong_size = pb.start;
    wrong_size.image_width = 65;
    EXPECT_EQ(FitCode(pb.image, pb.landmarks, wrong_size, options, &msg),
              StatusCode::kInvalidArgument);
    EXPECT_NE(msg.find("65 x 64"), std::string::npos) << msg;
    FaceParams short_block = pb.start;
    short_block.albedo.resize(3);
    EXPECT_EQ(FitCode(pb.image, pb.landmarks, short_block, options, &msg),
              StatusCode::kInvalidArgument);
    FaceParams away = pb.start;
    away.translation.x() += 5000.0;  // the face far outside the image
    EXPECT_EQ(FitCode(pb.image, pb.landmarks, away, options, &msg), StatusCode::kInvalidArgument);
    EXPECT_NE(msg.find("not inside the image"), std::string::npos) << msg;
    away.translation = Eigen::Vector3d(1e9, -1e9, 1e-3);  // projections far beyond int range
    EXPECT_EQ(FitCode(pb.image, pb.landmarks, away, options, &msg), StatusCode::kInvalidArgument);
    FaceParams behind = pb.start;
    behind.translation.z() = -2000.0;  // the face behind the camera
    EXPECT_EQ(FitCode(pb.image, pb.landmarks, behind, options, &msg),
              StatusCode::kInvalidArgument);
    EXPECT_NE(msg.find("must be positive"), std::string::npos) << msg;
  }
  {
    Eigen::Matrix2Xd nan_landmarks = pb.landmarks;
    nan_landmarks(0, 30) = std::numeric_limits<double>::quiet_NaN();
    EXPECT_EQ(FitCode(pb.image, nan_landmarks, pb.start, options, &msg),
              StatusCode::kInvalidArgument);
    EXPECT_NE(msg.find("point 30"), std::string::npos) << msg;
    EXPECT_EQ(FitCode(pb.image, pb.landmarks.leftCols(20), pb.start, options, &msg),
              StatusCode::kInvalidArgument);
  }
  {
    PhotometricFitOptions bad = options;
    bad.stages.clear();
    EXPECT_EQ(FitCode(pb.image, pb.landmarks, pb.start, bad, &msg), StatusCode::kInvalidArgument);
    bad = options;
    bad.stages[0].max_iterations = 0;
    EXPECT_EQ(FitCode(pb.image, pb.landmarks, pb.start, bad, &msg), StatusCode::kInvalidArgument);
    bad = options;
    bad.stages[1].albedo_prior_weight = -1.0;
    EXPECT_EQ(FitCode(pb.image, pb.landmarks, pb.start, bad, &msg), StatusCode::kInvalidArgument);
    bad = options;
    bad.landmark_weights.assign(67, 1.0);
    EXPECT_EQ(FitCode(pb.image, pb.landmarks, pb.start, bad, &msg), StatusCode::kInvalidArgument);
    EXPECT_NE(msg.find("landmark_weights must have 68"), std::string::npos) << msg;
    bad.landmark_weights.assign(68, 1.0);
    bad.landmark_weights[3] = -1.0;
    EXPECT_EQ(FitCode(pb.image, pb.landmarks, pb.start, bad, &msg), StatusCode::kInvalidArgument);
    bad = options;
    bad.loss_scale = 0.0;
    EXPECT_EQ(FitCode(pb.image, pb.landmarks, pb.start, bad, &msg), StatusCode::kInvalidArgument);
  }
}

// The pyramid's camera mapping: landmarks projected with the level's camera land where the
// pixel-centre mapping puts the original projections, for both camera models; and back.
TEST(PhotometricFitTest, LevelCameraFollowsPixelCentreMapping) {
  const auto& pb = Problem();
  for (CameraType type : {CameraType::kPinhole, CameraType::kWeakPerspective}) {
    FaceParams p = pb.truth;
    if (type == CameraType::kWeakPerspective) {
      p.camera_type = type;
      p.camera = Eigen::Vector3d(p.camera[0] / p.translation.z(), 31.0, 33.5);
      p.translation.head<2>().setZero();
    }
    const PyramidLevel level = MakeLevel(pb.image, pb.landmarks, 5, 3, 56, 60, 4);
    EXPECT_EQ(level.width, 14);
    EXPECT_EQ(level.height, 15);
    const Eigen::Matrix2Xd original = render::ComputeLandmarkRows(PhotoSample(), p).value().uv;
    const FaceParams lp = level.ParamsToLevel(p);
    EXPECT_EQ(lp.image_width, 14);
    const Eigen::Matrix2Xd reduced = render::ComputeLandmarkRows(PhotoSample(), lp).value().uv;
    for (int k = 0; k < original.cols(); ++k) {
      EXPECT_NEAR(reduced(0, k), (original(0, k) - 5 + 0.5) / 4 - 0.5, 1e-9);
      EXPECT_NEAR(reduced(1, k), (original(1, k) - 3 + 0.5) / 4 - 0.5, 1e-9);
    }
    const FaceParams back = level.ParamsToOriginal(lp, 64, 64);
    EXPECT_LT((back.camera - p.camera).norm(), 1e-12);
    EXPECT_EQ(back.image_width, 64);
  }
  // A box-filtered level of a constant image is that constant; weights average.
  PhotometricImage flat;
  flat.width = 8;
  flat.height = 8;
  flat.rgb.assign(8 * 8 * 3, 0.25f);
  flat.weights.assign(64, 1.0f);
  flat.weights[0] = 0.0f;
  const PyramidLevel l = MakeLevel(flat, Eigen::Matrix2Xd(), 0, 0, 8, 8, 2);
  EXPECT_FLOAT_EQ(l.rgb[5], 0.25f);
  EXPECT_FLOAT_EQ(l.weights[0], 0.75f);
  EXPECT_FLOAT_EQ(l.weights[1], 1.0f);
}

// The energy's gradient (the Gauss-Newton right-hand side: fused photometric Jᵀr scaled by
// λ_photo / N, landmark rows, priors incl. the lighting matrix) against central differences
// of the energy itself. Visibility is held (the gradient's premise); lighting and albedo move
// no vertex, so there the held energy is exactly the true one.
TEST(PhotometricFitTest, EnergyGradientMatchesCentralDifferences) {
  const auto& pb = Problem();
  const models::MorphableModel& m = PhotoSample();
  const render::JacobianModel jm = render::MakeJacobianModel(m);
  PhotometricFitOptions options;
  options.landmark_weight = 0.3;
  options.landmark_weights.assign(68, 1.0);
  for (int k = 0; k < 17; ++k) options.landmark_weights[k] = 0.1 * k;  // jaw: 0 .. 1.6
  PhotometricStage stage;
  stage.identity_prior_weight = 0.01;
  stage.expression_prior_weight = 0.02;
  stage.albedo_prior_weight = 0.03;
  stage.lighting_prior_weight = 0.04;
  const PyramidLevel level = MakeLevel(pb.image, pb.landmarks, 0, 0, 64, 64, 1);
  ThreadPool pool(2);
  PhotometricEnergy energy(m, jm, level, options, stage, &pool);
  FaceParams p = pb.start;  // off the optimum: non-zero residuals everywhere
  for (int i = 0; i < kNumLighting; ++i) p.lighting[i] += 0.05 * std::sin(1.0 + i);
  for (int i = 0; i < p.albedo.size(); ++i) p.albedo[i] = 0.3 * std::cos(2.0 + i);
  const EnergyValue e0 = energy.Evaluate(p).value();
  ASSERT_GT(e0.covered, 100);
  energy.set_reference_pixels(e0.covered);
  const Linearization lin = energy.Linearize(p, e0.visibility).value();
  const render::ParamLayout layout = render::ParamLayout::For(m);
  const Eigen::VectorXd flat = p.ToFlat();
  const std::vector<std::string> names = p.FlatNames();
  auto held = [&](const Eigen::VectorXd& x) {
    FaceParams q = p;
    EXPECT_TRUE(q.SetFromFlat(x).ok());
    return energy.Evaluate(q, &e0.visibility).value().total;
  };
  std::vector<int> columns;
  for (int i = 0; i < 6; ++i) columns.push_back(layout.identity + 7 * i);
  for (int i = 0; i < 4; ++i) columns.push_back(layout.expression + 5 * i);
  for (int i = 0; i < 6; ++i) columns.push_back(layout.albedo + 4 * i);
  for (int i = 0; i < kNumLighting; i += 2) columns.push_back(layout.lighting + i);
  for (int i = 0; i < 3; ++i) columns.push_back(layout.rotation + i);
  for (int i = 0; i < 3; ++i) columns.push_back(layout.translation + i);
  // Step 1e-3: the photometric sum is accumulated from float32 colours (~1e-7 relative per
  // pixel), so smaller steps drown in round-off; truncation ~h² stays far below the bound.
  // Translation (mm, the face ~500 mm away) moves the image least per unit: 1e-2 there keeps
  // its differences above the float round-off on every compiler (FMA or not).
  constexpr double kStep = 1e-3;
  int significant = 0;
  for (int k : columns) {
    Eigen::VectorXd plus = flat, minus = flat;
    const bool translation = k >= layout.translation && k < layout.translation + 3;
    const double h = translation ? 10.0 * kStep : kStep;
    plus[k] += h;
    minus[k] -= h;
    const double fd = (held(plus) - held(minus)) / (2.0 * h);
    EXPECT_NEAR(lin.gradient[k], fd, 2e-3 * std::fabs(fd) + 2e-7) << names[k];
    significant += std::fabs(fd) > 1e-4;
  }
  // The bound is meaningful: most checked derivatives are far larger than its absolute part.
  EXPECT_GT(significant, static_cast<int>(columns.size()) * 2 / 3);
  // The Gauss-Newton matrix of the quadratic parts is exact: priors alone give S^T S.
  const Eigen::MatrixXd prior_h = energy.prior_sqrt().transpose() * energy.prior_sqrt();
  EXPECT_NEAR(prior_h(layout.identity, layout.identity), 0.01, 1e-15);
  EXPECT_NEAR(prior_h(layout.lighting, layout.lighting), 0.04 * 2.0 / 3.0, 1e-15);
  EXPECT_NEAR(prior_h(layout.lighting, layout.lighting + kNumShBands), -0.04 / 3.0, 1e-15);
}

// A fit that cannot continue stops and says so: with the reference coverage set above what
// the face can cover, every step is unusable; both solvers report divergence, return the start
// and the fit's summary carries the reason.
TEST(PhotometricFitTest, UnusableStepsStopAsDivergedWithAMessage) {
  const auto& pb = Problem();
  const models::MorphableModel& m = PhotoSample();
  const render::JacobianModel jm = render::MakeJacobianModel(m);
  PhotometricFitOptions options;
  options.min_coverage_fraction = 1.0;
  const PhotometricStage stage = options.stages.back();
  const PyramidLevel level = MakeLevel(pb.image, pb.landmarks, 0, 0, 64, 64, 1);
  PhotometricEnergy energy(m, jm, level, options, stage, nullptr);
  const EnergyValue e0 = energy.Evaluate(pb.start).value();
  energy.set_reference_pixels(64 * 64 + 1);  // more pixels than the image has
  const StageOutcome gn = SolveStageGaussNewton(energy, pb.start, 5).value();
  EXPECT_TRUE(gn.diverged);
  EXPECT_FALSE(gn.converged);
  EXPECT_EQ(gn.iterations, 0);
  EXPECT_NE(gn.termination.find("diverged: no usable step (the face would cover only"),
            std::string::npos)
      << gn.termination;
  EXPECT_EQ(gn.params.ToFlat(), pb.start.ToFlat());
  EXPECT_GT(e0.covered, 0);
  const StageOutcome ceres = SolveStageCeres(energy, pb.start, 5).value();
  EXPECT_TRUE(ceres.diverged) << ceres.termination;
  EXPECT_NE(ceres.termination.find("diverged"), std::string::npos) << ceres.termination;
  EXPECT_EQ(ceres.params.ToFlat(), pb.start.ToFlat());
}

// Blendshape expressions stay in [0, 1] in both solvers (projection in Gauss-Newton, bounds in
// Ceres): the sample model relabelled as blendshapes, fitted to a face whose expression has
// negative coefficients, so the lower bound becomes active.
TEST(PhotometricFitTest, BlendshapeExpressionsStayInTheUnitInterval) {
  const auto& pb = Problem();
  models::MorphableModel m = PhotoSample();
  m.expression_kind = models::ExpressionKind::kBlendshape;
  ASSERT_LT(pb.truth.expression.minCoeff(), -0.1);
  FaceParams start = pb.start;
  start.expression = start.expression.cwiseMax(0.0).cwiseMin(1.0);
  for (PhotometricSolver solver : {PhotometricSolver::kGaussNewton, PhotometricSolver::kCeres}) {
    PhotometricFitOptions options;
    options.solver = solver;
    PhotometricStage stage = options.stages.back();
    stage.identity = stage.albedo = stage.pose = false;
    stage.max_iterations = 4;
    options.stages = {stage};
    const StatusOr<PhotometricFitResult> r =
        FitPhotometric(m, pb.image, pb.landmarks, start, options);
    ASSERT_TRUE(r.ok()) << r.status().message();
    const Eigen::VectorXd& e = r.value().params.expression;
    EXPECT_GE(e.minCoeff(), 0.0) << PhotometricSolverName(solver);
    EXPECT_LE(e.maxCoeff(), 1.0) << PhotometricSolverName(solver);
    EXPECT_EQ(e.minCoeff(), 0.0) << PhotometricSolverName(solver);  // a bound is active
    EXPECT_GT(e.maxCoeff(), 0.0) << PhotometricSolverName(solver);
    EXPECT_LT(r.value().summary.stages[0].final_cost, r.value().summary.stages[0].initial_cost);
  }
}

TEST(PhotometricFitTest, SummaryReportsEveryStageAndTheQuality) {
  const auto& pb = Problem();
  PhotometricFitOptions options;
  for (PhotometricStage& s : options.stages) s.max_iterations = 2;
  const StatusOr<PhotometricFitResult> r =
      FitPhotometric(PhotoSample(), pb.image, pb.landmarks, pb.start, options);
  ASSERT_TRUE(r.ok()) << r.status().message();
  const PhotometricFitSummary& s = r.value().summary;
  ASSERT_EQ(s.stages.size(), 3u);
  for (const PhotometricStageSummary& st : s.stages) {
    EXPECT_LE(st.final_cost, st.initial_cost) << st.name;
    EXPECT_GT(st.width, 0);
    EXPECT_FALSE(st.termination.empty());
  }
  EXPECT_GT(s.photometric_rmse, 0.0);
  EXPECT_LT(s.photometric_rmse, 0.2);
  EXPECT_GT(s.landmark_nme, 0.0);
  EXPECT_GT(s.total_time_s, 0.0);
  if (!s.converged) EXPECT_FALSE(s.message.empty());
  const std::string text = s.ToString();
  EXPECT_NE(text.find("stage pose+light"), std::string::npos) << text;
  EXPECT_NE(text.find("photometric RMSE"), std::string::npos) << text;
}

}  // namespace
}  // namespace morphfit::fitters
