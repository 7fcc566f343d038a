// Landmark fit on synthetic data with known answers (sample model): noise-free recovery,
// 1 px noise, contour vs fixed jaw on a turned face, blendshape bounds, robustness to a bad
// landmark, bad input and non-convergence reporting.
#include "morphfit/fitters/landmark_fit.h"

#include <iostream>

#include <glog/logging.h>
#include <gtest/gtest.h>

#include "fit_test_util.h"
#include "morphfit/fitters/contour.h"
#include "morphfit/models/random_model.h"

namespace morphfit::fitters {
namespace {

using testing::kHeight;
using testing::kWidth;
using testing::Sample;

// Priors this small let the fit reach noise-free targets exactly (the test of the solver, not
// of the prior).
FitOptions NearlyNoPriorOptions(JawMode jaw, CameraType camera) {
  FitOptions o;
  o.jaw_mode = jaw;
  o.camera_type = camera;
  for (FitStage& s : o.stages) s.identity_prior_weight = s.expression_prior_weight = 1e-8;
  return o;
}

// Targets: the projected landmarks of `truth`, jaw on the silhouette (contour) or on the
// model's fixed jaw vertices.
Eigen::Matrix2Xd Targets(const FaceParams& truth, JawMode jaw) {
  const std::vector<int> ids = jaw == JawMode::kContour ? SilhouetteLandmarkVertices(Sample(), truth)
                                                        : Sample().landmarks;
  return testing::ProjectVertices(Sample(), truth, ids);
}

// Noise-free targets with exact correspondences (fixed jaw vertices). Measured (5 faces, yaw
// within +-40 deg): RMS and max reprojection error below 1e-4 px, rotation error below 0.01 deg.
// (Contour mode cannot promise this: its jaw assignment is discrete; see ContourBeatsFixed.)
class NoiseFreeTest : public ::testing::TestWithParam<CameraType> {};

TEST_P(NoiseFreeTest, ReprojectionErrorBelowHundredthPixel) {
  const CameraType camera = GetParam();
  for (uint32_t seed = 11; seed <= 15; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const FaceParams truth = testing::RandomFace(seed, 40.0, camera);
    const Eigen::Matrix2Xd target = Targets(truth, JawMode::kFixed);
    const auto fit = FitLandmarks(Sample(), target, kWidth, kHeight,
                                  NearlyNoPriorOptions(JawMode::kFixed, camera));
    ASSERT_TRUE(fit.ok()) << fit.status().ToString();
    EXPECT_TRUE(fit->summary.converged) << fit->summary.ToString();
    EXPECT_LT(fit->summary.rms_error_px, 0.01) << fit->summary.ToString();
    EXPECT_LT(fit->summary.max_error_px, 0.01);
    EXPECT_LT(testing::RotationErrorDeg(fit->params.rotation, truth.rotation), 0.05);
    EXPECT_LT((fit->params.landmarks_2d - target).cwiseAbs().maxCoeff(), 0.01);
    EXPECT_EQ(fit->summary.stages.size(), 3u);
    EXPECT_EQ(fit->summary.landmark_vertices, Sample().landmarks);
  }
}

INSTANTIATE_TEST_SUITE_P(Cameras, NoiseFreeTest,
                         ::testing::Values(CameraType::kPinhole, CameraType::kWeakPerspective),
                         [](const auto& info) { return std::string(CameraTypeName(info.param)); });

// A camera with 1.5x the default focal length (the face 1.5x further away, same size in the
// image), noise-free, fixed jaw: the last stage estimates the focal length from the start at
// the default. Measured: focal 1920.01 px for 1920 (1e-5 relative), reprojection 2e-6 px RMS;
// with estimate_focal off the fit is left with the wrong perspective (RMS 0.12 px).
TEST(LandmarkFit, EstimatesFocalLength) {
  FaceParams truth = testing::RandomFace(31, 30.0, CameraType::kPinhole);
  truth.camera[0] *= 1.5;
  truth.translation *= 1.5;
  const Eigen::Matrix2Xd target = Targets(truth, JawMode::kFixed);
  const FitOptions options = NearlyNoPriorOptions(JawMode::kFixed, CameraType::kPinhole);
  const auto fit = FitLandmarks(Sample(), target, kWidth, kHeight, options);
  ASSERT_TRUE(fit.ok()) << fit.status().ToString();
  EXPECT_LT(fit->summary.rms_error_px, 0.01) << fit->summary.ToString();
  EXPECT_NEAR(fit->params.camera[0], truth.camera[0], 0.01 * truth.camera[0]);
  EXPECT_EQ(fit->params.camera.tail<2>(), truth.camera.tail<2>());
  FitOptions fixed_focal = options;
  fixed_focal.estimate_focal = false;
  const auto held = FitLandmarks(Sample(), target, kWidth, kHeight, fixed_focal);
  ASSERT_TRUE(held.ok());
  EXPECT_EQ(held->params.camera[0], DefaultFocalPx(kWidth, kHeight));
  EXPECT_GT(held->summary.rms_error_px, 0.05);
}

// 1 px Gaussian noise on all 68 points (fixed jaw vertices, focal known, default priors: the
// MAP weights for N(0, 1) identity). The faces are ~260 px wide with yaw within +-40 deg.
// Measured over these 10 faces (both solvers alike): mean 0.77 deg, worst 1.35 deg (seed 27;
// seed 29 1.34). Why not 1 deg: neither the focal length (held here) nor the contour (fixed
// jaw) but the joint fit of shape and pose. The same fits on the noise-free targets already
// miss by up to 1.74 deg (seed 27; 1.25 for seed 29): identity/expression modes that mimic a
// small turn, pulled toward 0 by the prior, trade against the rotation. Without the prior
// (weights 1e-8) the noisy fits get worse (up to 7.6 deg, seed 23), with prior weight 10 the
// worst is 1.7 deg; 20 noise draws per face give mean 0.85, worst 2.85 deg (seed 27). With
// the shape known, the pose alone stays within 1 deg (worst 0.43 deg over 200 draws:
// LandmarkGaussNewton.OnePixelNoiseKnownShapePoseWithinOneDegree). So the mean is held to
// 1 deg, each face to 1.5 deg.
TEST(LandmarkFit, OnePixelNoiseRecoversPoseWithinOneDegree) {
  double worst = 0.0, mean = 0.0;
  constexpr int kFaces = 10;
  for (uint32_t seed = 21; seed < 21 + kFaces; ++seed) {
    FaceParams truth = testing::RandomFace(seed, 40.0, CameraType::kPinhole);
    truth.translation *= 0.7;  // ~700 mm away
    const Eigen::Matrix2Xd target = testing::AddNoise(Targets(truth, JawMode::kFixed), 1.0, seed);
    FitOptions options;
    options.jaw_mode = JawMode::kFixed;
    options.estimate_focal = false;
    const auto fit = FitLandmarks(Sample(), target, kWidth, kHeight, options);
    ASSERT_TRUE(fit.ok()) << fit.status().ToString();
    EXPECT_TRUE(fit->summary.converged) << fit->summary.ToString();
    // RMS of 2D errors of 1 px per coordinate, less what the fit absorbs: ~1.2 px.
    EXPECT_LT(fit->summary.rms_error_px, 1.5);
    const double err = testing::RotationErrorDeg(fit->params.rotation, truth.rotation);
    worst = std::max(worst, err);
    mean += err / kFaces;
    EXPECT_LT(err, 1.5) << "seed " << seed << "\n" << fit->summary.ToString();
  }
  std::cout << "rotation error: mean " << mean << " deg, worst " << worst << " deg\n";
  EXPECT_LT(mean, 1.0);
}

// The same target on a BFM-size model (MakeRandomModel: 53,490 vertices, 80 identity + 64
// expression modes; landmarks scattered over its curved sheet), 10 faces ~700 mm away (yaw
// -20, 0, +20 deg, pitch 0 or 0.1 rad), identity ~ N(0, 1), expression ~ N(0, 0.5), three
// 1 px noise draws each, fixed jaw, focal known, default priors: every fit within 1 deg
// (measured: worst 0.73 deg over 5 draws per face, mean 0.11-0.41 per face). Its random
// modes do not mimic a turn, unlike the sample face's: there the Laplace posterior of the
// rotation (JᵀJ + prior at the true face, 1 px noise) has a standard deviation of 0.6-1.8 deg
// (sqrt of the 3 x 3 block's trace; 0.25-0.29 deg with the shape known), identity modes 2, 0
// and 1 the most correlated with its least determined direction (bench/RESULTS.md).
TEST(LandmarkFit, OnePixelNoisePoseWithinOneDegreeOnBfmSizeModel) {
  const models::MorphableModel m = models::MakeRandomModel(models::RandomModelOptions{});
  const LandmarkFitModel prepared(m);
  FitOptions options;
  options.jaw_mode = JawMode::kFixed;
  options.estimate_focal = false;
  double worst = 0.0;
  for (uint32_t seed = 21; seed < 31; ++seed) {
    FaceParams truth = FaceParams::Frontal(m.num_identity(), m.num_expression(), m.num_albedo(),
                                           kWidth, kHeight, DefaultFocalPx(kWidth, kHeight), 700.0);
    std::mt19937 gen(seed);
    std::normal_distribution<double> normal(0.0, 1.0);
    for (int i = 0; i < truth.identity.size(); ++i) truth.identity[i] = normal(gen);
    for (int i = 0; i < truth.expression.size(); ++i) truth.expression[i] = 0.5 * normal(gen);
    truth.rotation = testing::HeadRotation(20.0 * testing::kDeg * (static_cast<int>(seed % 3) - 1),
                                           0.1 * (seed % 2), 0.0);
    const Eigen::Matrix2Xd clean = testing::ProjectVertices(m, truth, m.landmarks);
    for (uint32_t draw = 0; draw < 3; ++draw) {
      const auto fit = FitLandmarks(prepared, testing::AddNoise(clean, 1.0, 1000 * seed + draw),
                                    kWidth, kHeight, options);
      ASSERT_TRUE(fit.ok()) << fit.status().ToString();
      EXPECT_TRUE(fit->summary.converged) << fit->summary.ToString();
      const double err = testing::RotationErrorDeg(fit->params.rotation, truth.rotation);
      worst = std::max(worst, err);
      EXPECT_LT(err, 1.0) << "seed " << seed << " draw " << draw;
    }
  }
  std::cout << "BFM-size model, 1 px noise: worst rotation error " << worst << " deg\n";
}

struct Accuracy {
  double mean_nme = 0.0, mean_rotation_deg = 0.0;
};

Accuracy FitTurnedFaces(JawMode jaw) {
  Accuracy a;
  constexpr int kFaces = 8;
  for (int i = 0; i < kFaces; ++i) {
    FaceParams truth = testing::RandomFace(40 + i, 0.0, CameraType::kPinhole);
    truth.rotation = testing::HeadRotation((i % 2 ? 40.0 : -40.0) * testing::kDeg, 0.0, 0.0);
    const Eigen::Matrix2Xd target = Targets(truth, JawMode::kContour);
    FitOptions options;
    options.jaw_mode = jaw;
    const auto fit = FitLandmarks(Sample(), target, kWidth, kHeight, options);
    CHECK(fit.ok()) << fit.status().ToString();
    a.mean_nme += fit->summary.landmark_nme / kFaces;
    a.mean_rotation_deg += testing::RotationErrorDeg(fit->params.rotation, truth.rotation) / kFaces;
  }
  return a;
}

// Yaw +-40 deg, jaw targets on the silhouette (300-W style), no noise, 8 faces. Measured means:
// contour NME 0.0062, rotation error 2.0 deg; fixed NME 0.0134, rotation error 11.0 deg (the
// fixed jaw vertices drag the turn). Contour mode is not exact: its jaw assignment is discrete
// and a pose a little off can pick a neighbouring vertex.
TEST(LandmarkFit, ContourBeatsFixedOnTurnedFaceWithSilhouetteJaw) {
  const Accuracy contour = FitTurnedFaces(JawMode::kContour);
  const Accuracy fixed = FitTurnedFaces(JawMode::kFixed);
  std::cout << "turned faces: contour NME " << contour.mean_nme << " rot " << contour.mean_rotation_deg
            << "; fixed NME " << fixed.mean_nme << " rot " << fixed.mean_rotation_deg << "\n";
  EXPECT_LT(contour.mean_nme, 0.5 * fixed.mean_nme);
  EXPECT_LT(contour.mean_rotation_deg, fixed.mean_rotation_deg);
}

// Blendshape expressions are bounded to [0, 1]: targets made with weights in [0, 0.8] plus two
// modes pushed to -1 (outside the bounds) fit with every weight inside [0, 1] and the two at 0.
TEST(LandmarkFit, BlendshapeWeightsStayInBounds) {
  models::MorphableModel blend = Sample();
  blend.expression_kind = models::ExpressionKind::kBlendshape;
  FaceParams truth = testing::RandomFace(50, 30.0, CameraType::kPinhole);
  std::mt19937 gen(50);
  std::uniform_real_distribution<double> uniform(0.0, 0.8);
  for (int j = 0; j < truth.expression.size(); ++j) truth.expression[j] = uniform(gen);
  truth.expression[3] = truth.expression[7] = -1.0;
  const Eigen::Matrix2Xd target =
      testing::ProjectVertices(blend, truth, Sample().landmarks);
  FitOptions options;
  options.jaw_mode = JawMode::kFixed;
  const auto fit = FitLandmarks(blend, target, kWidth, kHeight, options);
  ASSERT_TRUE(fit.ok()) << fit.status().ToString();
  EXPECT_GE(fit->params.expression.minCoeff(), 0.0);
  EXPECT_LE(fit->params.expression.maxCoeff(), 1.0);
  // The same targets with the PCA kind go negative: the bound is what holds them.
  const auto pca = FitLandmarks(Sample(), target, kWidth, kHeight, options);
  ASSERT_TRUE(pca.ok());
  EXPECT_LT(pca->params.expression.minCoeff(), -0.1);
}

// One landmark (nose tip, 30) moved 60 px: the Cauchy loss keeps the pose, the default Huber
// loss limits the damage, plain least squares is dragged far off. Measured rotation errors:
// Cauchy 0.25 deg, Huber 0.60 deg, none 25 deg.
TEST(LandmarkFit, RobustLossResistsOneBadLandmark) {
  const FaceParams truth = testing::RandomFace(60, 30.0, CameraType::kPinhole);
  Eigen::Matrix2Xd target = testing::AddNoise(Targets(truth, JawMode::kFixed), 0.5, 60);
  target(0, 30) += 60.0;
  FitOptions robust;
  robust.jaw_mode = JawMode::kFixed;
  FitOptions plain = robust;
  for (FitStage& s : plain.stages) s.loss = RobustLoss::kNone;
  FitOptions huber = robust;  // the default loss
  for (FitStage& s : robust.stages) s.loss = RobustLoss::kCauchy;
  const auto r = FitLandmarks(Sample(), target, kWidth, kHeight, robust);
  const auto h = FitLandmarks(Sample(), target, kWidth, kHeight, huber);
  const auto p = FitLandmarks(Sample(), target, kWidth, kHeight, plain);
  ASSERT_TRUE(r.ok() && h.ok() && p.ok());
  const double r_err = testing::RotationErrorDeg(r->params.rotation, truth.rotation);
  const double h_err = testing::RotationErrorDeg(h->params.rotation, truth.rotation);
  const double p_err = testing::RotationErrorDeg(p->params.rotation, truth.rotation);
  std::cout << "rotation error with one bad landmark: Cauchy " << r_err << ", Huber " << h_err
            << ", none " << p_err << " deg\n";
  EXPECT_LT(r_err, 1.0);
  EXPECT_LT(h_err, 0.5 * p_err);
  EXPECT_LT(r_err, p_err);
  // The bad point stays far from the fit instead of being followed.
  EXPECT_GT((r->params.landmarks_2d.col(30) - target.col(30)).norm(), 50.0);
  // A zero weight removes it altogether.
  FitOptions dropped = robust;
  dropped.landmark_weights.assign(68, 1.0);
  dropped.landmark_weights[30] = 0.0;
  const auto d = FitLandmarks(Sample(), target, kWidth, kHeight, dropped);
  ASSERT_TRUE(d.ok());
  EXPECT_LT(testing::RotationErrorDeg(d->params.rotation, truth.rotation), 1.0);
}

TEST(LandmarkFit, BadInputGivesClearErrors) {
  const FaceParams truth = testing::RandomFace(70, 20.0, CameraType::kPinhole);
  const Eigen::Matrix2Xd good = Targets(truth, JawMode::kContour);
  const FitOptions options;
  auto expect_error = [&](const Eigen::Matrix2Xd& lm, int w, int h, const std::string& needle) {
    const auto fit = FitLandmarks(Sample(), lm, w, h, options);
    ASSERT_FALSE(fit.ok()) << needle;
    EXPECT_EQ(fit.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(fit.status().message().find(needle), std::string::npos) << fit.status().ToString();
  };
  expect_error(good.leftCols(67), kWidth, kHeight, "expected 68 points");
  Eigen::Matrix2Xd more(2, 69);
  more << good, good.col(0);
  expect_error(more, kWidth, kHeight, "expected 68 points");
  Eigen::Matrix2Xd nan = good;
  nan(1, 12) = std::nan("");
  expect_error(nan, kWidth, kHeight, "point 12 is not finite");
  Eigen::Matrix2Xd outside = good;
  outside(0, 40) = kWidth + 3.0;
  expect_error(outside, kWidth, kHeight, "outside the 640 x 480 image");
  expect_error(good, kWidth / 4, kHeight / 4, "outside");  // wrong image size
  expect_error(good, 0, kHeight, "image size is missing");
  Eigen::Matrix2Xd line(2, 68);
  for (int k = 0; k < 68; ++k) line.col(k) = Eigen::Vector2d(100.0 + 3.0 * k, 50.0 + 2.0 * k);
  expect_error(line, kWidth, kHeight, "collinear");

  FitOptions bad_weights;
  bad_weights.landmark_weights = {1.0, 2.0};
  EXPECT_FALSE(FitLandmarks(Sample(), good, kWidth, kHeight, bad_weights).ok());
  FitOptions no_stages;
  no_stages.stages.clear();
  EXPECT_FALSE(FitLandmarks(Sample(), good, kWidth, kHeight, no_stages).ok());

  models::MorphableModel no_contour = Sample();
  no_contour.contour_candidates.clear();
  const auto fit = FitLandmarks(no_contour, good, kWidth, kHeight, options);
  ASSERT_FALSE(fit.ok());
  EXPECT_EQ(fit.status().code(), StatusCode::kFailedPrecondition);
  FitOptions fixed;
  fixed.jaw_mode = JawMode::kFixed;
  EXPECT_TRUE(FitLandmarks(no_contour, good, kWidth, kHeight, fixed).ok());
  models::MorphableModel no_landmarks = Sample();
  no_landmarks.landmarks.clear();
  EXPECT_EQ(FitLandmarks(no_landmarks, good, kWidth, kHeight, fixed).status().code(),
            StatusCode::kFailedPrecondition);
}

// A LandmarkFitModel made once gives the same fits as the per-call gather (bit for bit: the
// same tables), in both jaw modes, and knows whether the model has contour lines.
TEST(LandmarkFit, PreparedModelGivesTheSameFit) {
  const LandmarkFitModel prepared(Sample());
  EXPECT_TRUE(prepared.has_contour());
  EXPECT_EQ(&prepared.model(), &Sample());
  const FaceParams truth = testing::RandomFace(75, 30.0, CameraType::kPinhole);
  for (JawMode jaw : {JawMode::kContour, JawMode::kFixed}) {
    SCOPED_TRACE(JawModeName(jaw));
    const Eigen::Matrix2Xd target = testing::AddNoise(Targets(truth, jaw), 1.0, 75);
    FitOptions options;
    options.jaw_mode = jaw;
    const auto once = FitLandmarks(Sample(), target, kWidth, kHeight, options);
    const LandmarkFitModel copy = prepared;  // shares the tables
    const auto again = FitLandmarks(copy, target, kWidth, kHeight, options);
    ASSERT_TRUE(once.ok() && again.ok());
    EXPECT_TRUE(again->summary.converged) << again->summary.ToString();
    EXPECT_EQ(once->params.rotation, again->params.rotation);
    EXPECT_EQ(once->params.translation, again->params.translation);
    EXPECT_EQ(once->params.identity, again->params.identity);
    EXPECT_EQ(once->summary.landmark_vertices, again->summary.landmark_vertices);
  }
  models::MorphableModel no_contour = Sample();
  no_contour.contour_candidates.clear();
  const LandmarkFitModel without(no_contour);
  EXPECT_FALSE(without.has_contour());
  const auto fit = FitLandmarks(without, Targets(truth, JawMode::kFixed), kWidth, kHeight,
                                FitOptions());
  ASSERT_FALSE(fit.ok());
  EXPECT_EQ(fit.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(fit.status().message().find("contour"), std::string::npos) << fit.status().ToString();
}

// The intermediate solves' tolerance is validated like the others; a looser or tighter one
// ends at the same final cost (the last stage always closes at function_tolerance).
TEST(LandmarkFit, IntermediateToleranceValidatedAndFinalCostKept) {
  FitOptions bad;
  bad.intermediate_function_tolerance = 0.0;
  EXPECT_FALSE(bad.Validate().ok());
  const FaceParams truth = testing::RandomFace(76, 30.0, CameraType::kPinhole);
  const Eigen::Matrix2Xd target =
      testing::AddNoise(Targets(truth, JawMode::kFixed), 1.0, 76);
  FitOptions loose;
  loose.jaw_mode = JawMode::kFixed;
  FitOptions tight = loose;
  tight.intermediate_function_tolerance = tight.function_tolerance;
  const auto a = FitLandmarks(Sample(), target, kWidth, kHeight, loose);
  const auto b = FitLandmarks(Sample(), target, kWidth, kHeight, tight);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(a->summary.converged && b->summary.converged);
  const double ca = a->summary.stages.back().final_cost, cb = b->summary.stages.back().final_cost;
  EXPECT_NEAR(ca, cb, 1e-5 * cb);
  EXPECT_LT(testing::RotationErrorDeg(a->params.rotation, b->params.rotation), 0.01);
}

// Landmarks that are no face (uniform random points) fit badly and say so; a schedule cut short
// says it stopped before convergence.
TEST(LandmarkFit, ReportsNonConvergence) {
  std::mt19937 gen(80);
  std::uniform_real_distribution<double> u(100.0, 400.0);
  Eigen::Matrix2Xd garbage(2, 68);
  for (Eigen::Index i = 0; i < garbage.size(); ++i) garbage.data()[i] = u(gen);
  const auto fit = FitLandmarks(Sample(), garbage, kWidth, kHeight, FitOptions());
  ASSERT_TRUE(fit.ok()) << fit.status().ToString();
  EXPECT_FALSE(fit->summary.converged);
  EXPECT_FALSE(fit->summary.message.empty());
  EXPECT_GT(fit->summary.landmark_nme, 0.1);
  EXPECT_TRUE(fit->params.rotation.allFinite() && fit->params.identity.allFinite());

  const FaceParams truth = testing::RandomFace(81, 40.0, CameraType::kPinhole);
  FitOptions short_schedule;
  for (FitStage& s : short_schedule.stages) s.max_iterations = 1;
  const auto cut = FitLandmarks(Sample(), testing::AddNoise(Targets(truth, JawMode::kContour), 1.0, 81),
                                kWidth, kHeight, short_schedule);
  ASSERT_TRUE(cut.ok());
  EXPECT_FALSE(cut->summary.converged);
  EXPECT_NE(cut->summary.message.find("before convergence"), std::string::npos) << cut->summary.message;
}

TEST(LandmarkFit, JawModeNamesRoundTrip) {
  for (JawMode m : {JawMode::kContour, JawMode::kFixed}) {
    const auto parsed = ParseJawMode(JawModeName(m));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, m);
  }
  EXPECT_FALSE(ParseJawMode("silhouette").ok());
}

// The contour rule on a frontal face picks the chin line's lowest visible vertex; at yaw 40 deg
// the far-side jaw points move onto the cheek's outline (inwards of the fixed vertices).
TEST(Contour, SilhouetteFollowsThePose) {
  FaceParams frontal = testing::RandomFace(90, 0.0, CameraType::kPinhole);
  frontal.rotation = testing::HeadRotation(0.0, 0.0, 0.0);
  FaceParams turned = frontal;
  turned.rotation = testing::HeadRotation(40.0 * testing::kDeg, 0.0, 0.0);
  const std::vector<int> ids_frontal = SilhouetteLandmarkVertices(Sample(), frontal);
  const std::vector<int> ids_turned = SilhouetteLandmarkVertices(Sample(), turned);
  for (int k = 17; k < 68; ++k) EXPECT_EQ(ids_turned[k], Sample().landmarks[k]);
  int changed = 0;
  for (int k = 0; k < 17; ++k) changed += ids_frontal[k] != ids_turned[k];
  EXPECT_GE(changed, 4);
  const Eigen::Matrix2Xd uv = testing::ProjectVertices(Sample(), frontal, ids_frontal);
  const auto& line8 = Sample().contour_candidates[8];
  const Eigen::Matrix2Xd chin = testing::ProjectVertices(Sample(), frontal, line8);
  EXPECT_NEAR(uv(1, 8), chin.row(1).maxCoeff(), 1e-9);  // v grows downwards
}

}  // namespace
}  // namespace morphfit::fitters
