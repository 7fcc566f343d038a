// The own Levenberg-Marquardt solver of the landmark fit (landmark_gauss_newton.h): its gradient
// against central differences of its energy, and the same final cost as Ceres on the same
// problems (pinhole and weak perspective, contour and fixed jaw, PCA and bounded blendshape
// expressions, focal estimated).
#include "landmark_gauss_newton.h"

#include <cmath>
#include <iostream>
#include <limits>
#include <memory>
#include <algorithm>
#include <random>

#include <Eigen/Cholesky>

#include <glog/logging.h>
#include <gtest/gtest.h>

#include "fit_test_util.h"
#include "landmark_float_algebra.h"
#include "morphfit/fitters/contour.h"

namespace morphfit::fitters {
namespace {

using testing::kHeight;
using testing::kWidth;
using testing::Sample;

// Relative agreement of the final costs of the two solvers. Both stop on the same tests
// (relative cost change 1e-6 per step, FitOptions defaults), from the same start, but take
// different paths (IRLS weights here, Ceres' second-order loss correction there; a different
// damping of rejected steps): measured differences are below 1e-6 relative on these problems.
constexpr double kSameCost = 1e-5;
constexpr double kSameStageCost = 3e-3;
// Projected-gradient bound (energy units per parameter unit; the energy is ~60-80 here) at a
// constrained minimum.
constexpr double kOptimal = 1e-2;

using CostList = std::vector<std::unique_ptr<LandmarkReprojectionCost>>;

// The 68 landmark residuals, slot k for landmark k, against `target`.
CostList MakeCosts(const GatheredVertices& vertices, bool perspective,
                   const Eigen::Matrix2Xd& target) {
  CostList costs;
  for (int k = 0; k < 68; ++k) {
    costs.emplace_back(LandmarkReprojectionCost::Create(&vertices, k, perspective, target.col(k)));
  }
  return costs;
}

struct Problem {
  FaceParams truth;
  Eigen::Matrix2Xd target;
};

// A face of the sample model with its fixed landmark vertices projected plus `noise_px`.
Problem MakeProblem(uint32_t seed, CameraType camera, double noise_px) {
  Problem p;
  p.truth = testing::RandomFace(seed, 30.0, camera);
  p.target = testing::AddNoise(testing::ProjectVertices(Sample(), p.truth, Sample().landmarks),
                               noise_px, seed);
  return p;
}

// Energy, gradient and Gauss-Newton matrix at a random point near a face, every block free
// (pinhole: focal; weak perspective: scale and offset), against central differences of the
// energy. A few landmarks are moved 10 px so that the robust loss is in its non-quadratic part.
// image_scale: the pinhole camera in Projection::kPinholeImageScale's parameters (the fit's).
void ExpectGradientMatchesDifferences(CameraType camera, RobustLoss loss,
                                      bool image_scale = false) {
  const bool perspective = camera == CameraType::kPinhole;
  Problem prob = MakeProblem(5, camera, 1.0);
  for (int k : {3, 30, 48}) prob.target(0, k) += 10.0;
  const GatheredVertices vertices = GatheredVertices::Make(Sample(), Sample().landmarks);
  CostList costs = MakeCosts(vertices, perspective, prob.target);
  if (image_scale) {
    costs.clear();
    for (int k = 0; k < 68; ++k) {
      costs.emplace_back(LandmarkReprojectionCost::Create(
          &vertices, k, Projection::kPinholeImageScale, prob.target.col(k), 1000.0));
    }
    ToImageScale(prob.truth.translation, prob.truth.camera[0], 1000.0, &prob.truth.translation,
                 &prob.truth.camera[0]);
  }
  std::vector<double> weights(68, 1.0);
  weights[10] = 0.0;
  weights[20] = 2.5;
  LandmarkProblem problem;
  problem.costs = &costs;
  problem.weights = &weights;
  problem.loss = loss;
  problem.loss_scale_px = 2.0;
  problem.rotation_free = true;
  problem.translation_free = perspective;
  problem.camera_free[0] = true;
  problem.camera_free[1] = problem.camera_free[2] = !perspective;
  problem.identity_free = problem.expression_free = true;
  problem.identity_prior_weight = 0.7;
  problem.expression_prior_weight = 1.3;

  std::mt19937 gen(9);
  std::normal_distribution<double> normal(0.0, 1.0);
  LandmarkState s{prob.truth.rotation, prob.truth.translation, prob.truth.camera,
                  prob.truth.identity, prob.truth.expression};
  for (int i = 0; i < 3; ++i) s.rotation[i] += 0.02 * normal(gen);
  for (int i = 0; i < s.identity.size(); ++i) s.identity[i] += 0.3 * normal(gen);
  for (int i = 0; i < s.expression.size(); ++i) s.expression[i] += 0.3 * normal(gen);

  double cost = 0.0;
  Eigen::VectorXd g;
  Eigen::MatrixXd a;
  ASSERT_TRUE(LandmarkNormalEquations(problem, s, &cost, &g, &a));
  double value = 0.0;
  ASSERT_TRUE(LandmarkEnergyValue(problem, s, &value));
  EXPECT_NEAR(cost, value, 1e-12 * value);
  const int n = 3 + (perspective ? 3 : 0) + (perspective ? 1 : 3) + static_cast<int>(s.identity.size()) +
                static_cast<int>(s.expression.size());
  ASSERT_EQ(g.size(), n);
  ASSERT_EQ(a.rows(), n);
  // The same order as the solver's layout: rotation, translation, camera entries, coefficients.
  std::vector<double*> entries;
  for (int i = 0; i < 3; ++i) entries.push_back(&s.rotation[i]);
  if (perspective) {
    for (int i = 0; i < 3; ++i) entries.push_back(&s.translation[i]);
    entries.push_back(&s.camera[0]);
  } else {
    for (int i = 0; i < 3; ++i) entries.push_back(&s.camera[i]);
  }
  for (int i = 0; i < s.identity.size(); ++i) entries.push_back(&s.identity[i]);
  for (int i = 0; i < s.expression.size(); ++i) entries.push_back(&s.expression[i]);
  ASSERT_EQ(static_cast<int>(entries.size()), n);
  const double scale = g.lpNorm<Eigen::Infinity>();
  double worst = 0.0;
  for (int i = 0; i < n; ++i) {
    double* x = entries[i];
    const double x0 = *x;
    const double h = 1e-6 * std::max(1.0, std::abs(x0));
    double plus = 0.0, minus = 0.0;
    *x = x0 + h;
    ASSERT_TRUE(LandmarkEnergyValue(problem, s, &plus));
    *x = x0 - h;
    ASSERT_TRUE(LandmarkEnergyValue(problem, s, &minus));
    *x = x0;
    const double numeric = (plus - minus) / (2.0 * h);
    worst = std::max(worst, std::abs(numeric - g[i]) / scale);
    EXPECT_NEAR(g[i], numeric, 1e-6 * scale) << "parameter " << i;
  }
  std::cout << "max |gradient - central difference| / max |gradient|: " << worst << "\n";
  // The Gauss-Newton matrix: symmetric positive definite here (priors on every coefficient),
  // its lower triangle filled.
  const Eigen::MatrixXd full = a.selfadjointView<Eigen::Lower>();
  EXPECT_EQ(Eigen::LLT<Eigen::MatrixXd>(full).info(), Eigen::Success);
  EXPECT_GT(a.diagonal().minCoeff(), 0.0);
}

TEST(LandmarkGaussNewton, GradientMatchesCentralDifferencesPinholeHuber) {
  ExpectGradientMatchesDifferences(CameraType::kPinhole, RobustLoss::kHuber);
}
TEST(LandmarkGaussNewton, GradientMatchesCentralDifferencesWeakCauchy) {
  ExpectGradientMatchesDifferences(CameraType::kWeakPerspective, RobustLoss::kCauchy);
}
TEST(LandmarkGaussNewton, GradientMatchesCentralDifferencesPinholeNoLoss) {
  ExpectGradientMatchesDifferences(CameraType::kPinhole, RobustLoss::kNone);
}
TEST(LandmarkGaussNewton, GradientMatchesCentralDifferencesImageScaleHuber) {
  ExpectGradientMatchesDifferences(CameraType::kPinhole, RobustLoss::kHuber, true);
}

struct Case {
  std::string name;
  CameraType camera;
  JawMode jaw;
  bool blendshape;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

// Max-norm of the projected gradient of the one-stage energy (everything free, the focal
// within its bounds, blendshape weights in [0, 1]) at a fit's result, on its final jaw
// vertices: 0 at a constrained minimum.
double ProjectedGradient(const models::MorphableModel& model, const Eigen::Matrix2Xd& target,
                         const FitOptions& options, const FitResult& fit) {
  const FitStage& stage = options.stages.back();
  const GatheredVertices vertices = GatheredVertices::Make(model, fit.summary.landmark_vertices);
  const CostList costs = MakeCosts(vertices, true, target);
  const std::vector<double> weights(68, 1.0);
  LandmarkProblem problem;
  problem.costs = &costs;
  problem.weights = &weights;
  problem.loss = stage.loss;
  problem.loss_scale_px = stage.loss_scale_px;
  problem.rotation_free = problem.translation_free = problem.camera_free[0] = true;
  problem.identity_free = problem.expression_free = true;
  problem.identity_prior_weight = stage.identity_prior_weight;
  problem.expression_bounded = true;
  const LandmarkState s{fit.params.rotation, fit.params.translation, fit.params.camera,
                        fit.params.identity, fit.params.expression};
  double cost = 0.0;
  Eigen::VectorXd g;
  Eigen::MatrixXd a;
  CHECK(LandmarkNormalEquations(problem, s, &cost, &g, &a));
  const double focal = DefaultFocalPx(kWidth, kHeight);
  double worst = 0.0;
  for (int i = 0; i < g.size(); ++i) {
    double lo = -1e300, hi = 1e300, x = 0.0;
    if (i == 6) {
      lo = focal / options.focal_range;
      hi = focal * options.focal_range;
      x = s.camera[0];
    } else if (i >= g.size() - s.expression.size()) {
      lo = 0.0;
      hi = 1.0;
      x = s.expression[i - (g.size() - s.expression.size())];
    }
    worst = std::max(worst, std::abs(x - std::clamp(x - g[i], lo, hi)));
  }
  return worst;
}

class SameCostTest : public ::testing::TestWithParam<Case> {};

// Each solver from the same closed-form start, once with one stage freeing everything (pose,
// focal, identity, expression: the same problem for both) and once with the default schedule:
// the final costs agree within kSameCost, as do pose and landmarks. The default schedule's
// intermediate stages agree less closely (kSameStageCost): a stage ends on the function
// tolerance with the slowly converging pose still moving (~1e-4 rad), and the next stage
// holds that pose; the last stage frees everything again.
TEST_P(SameCostTest, OwnSolverReachesCeresCost) {
  const Case& c = GetParam();
  models::MorphableModel model = Sample();
  if (c.blendshape) model.expression_kind = models::ExpressionKind::kBlendshape;
  for (uint32_t seed = 101; seed <= 103; ++seed) {
    FaceParams truth = testing::RandomFace(seed, 30.0, c.camera);
    if (c.blendshape) {
      // Weights in [0, 0.8], two pushed below 0: the lower bound is active at the optimum.
      std::mt19937 gen(seed);
      std::uniform_real_distribution<double> uniform(0.0, 0.8);
      for (int j = 0; j < truth.expression.size(); ++j) truth.expression[j] = uniform(gen);
      truth.expression[2] = truth.expression[5] = -0.8;
    }
    const std::vector<int> ids = c.jaw == JawMode::kContour
                                     ? SilhouetteLandmarkVertices(model, truth)
                                     : model.landmarks;
    const Eigen::Matrix2Xd target =
        testing::AddNoise(testing::ProjectVertices(model, truth, ids), 1.0, seed);
    for (bool one_stage : {true, false}) {
      SCOPED_TRACE("seed " + std::to_string(seed) + (one_stage ? ", one stage" : ", schedule"));
      FitOptions options;
      options.camera_type = c.camera;
      options.jaw_mode = c.jaw;
      if (one_stage) options.stages = {options.stages.back()};
      if (c.blendshape) {
        for (FitStage& st : options.stages) st.max_iterations = 300;
      }
      options.solver = LandmarkSolver::kCeres;
      const auto ceres = FitLandmarks(model, target, kWidth, kHeight, options);
      options.solver = LandmarkSolver::kGaussNewton;
      const auto own = FitLandmarks(model, target, kWidth, kHeight, options);
      ASSERT_TRUE(ceres.ok() && own.ok());
      EXPECT_TRUE(ceres->summary.converged) << ceres->summary.ToString();
      EXPECT_TRUE(own->summary.converged) << own->summary.ToString();
      ASSERT_EQ(own->summary.stages.size(), ceres->summary.stages.size());
      for (size_t i = 0; i < own->summary.stages.size(); ++i) {
        const StageSummary& o = own->summary.stages[i];
        const StageSummary& r = ceres->summary.stages[i];
        const bool last = i + 1 == own->summary.stages.size();
        const double relative = std::abs(o.final_cost - r.final_cost) / r.final_cost;
        if (c.blendshape) {
          // With bounds active Ceres stalls above the minimum (its steps are clipped at the
          // bounds after the fact: measured 0.7-18% above); the own solver must do no worse,
          // and its optimality is checked below.
          EXPECT_LT(o.final_cost, r.final_cost * (1.0 + (last ? kSameCost : kSameStageCost)))
              << "stage " << o.name;
        } else {
          EXPECT_LT(relative, last ? kSameCost : kSameStageCost)
              << "stage " << o.name << "\nown:\n" << own->summary.ToString() << "\nceres:\n"
              << ceres->summary.ToString();
        }
        std::cout << c.name << " seed " << seed << (one_stage ? " one stage " : " schedule ")
                  << o.name << ": own " << o.final_cost << " (" << o.iterations << " it), ceres "
                  << r.final_cost << " (" << r.iterations << " it), relative " << relative << "\n";
      }
      if (!c.blendshape) {
        EXPECT_LT(testing::RotationErrorDeg(own->params.rotation, ceres->params.rotation), 0.05);
        EXPECT_LT((own->params.landmarks_2d - ceres->params.landmarks_2d).cwiseAbs().maxCoeff(), 0.05);
        EXPECT_EQ(own->summary.landmark_vertices, ceres->summary.landmark_vertices);
      }
      // (Fixed jaw only: in contour mode the jaw is re-assigned after the last solve.)
      if (c.blendshape && one_stage && c.jaw == JawMode::kFixed) {
        const double kkt = ProjectedGradient(model, target, options, *own);
        std::cout << "  own projected gradient " << kkt << ", Ceres' "
                  << ProjectedGradient(model, target, options, *ceres) << "\n";
        EXPECT_LT(kkt, kOptimal);
      }
      if (c.blendshape) {
        EXPECT_GE(own->params.expression.minCoeff(), 0.0);
        EXPECT_LE(own->params.expression.maxCoeff(), 1.0);
        EXPECT_EQ(own->params.expression[2], 0.0);  // held at the bound, not merely near it
        EXPECT_EQ(own->params.expression[5], 0.0);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Problems, SameCostTest,
    ::testing::Values(Case{"pinhole_contour_pca", CameraType::kPinhole, JawMode::kContour, false},
                      Case{"pinhole_fixed_pca", CameraType::kPinhole, JawMode::kFixed, false},
                      Case{"weak_contour_pca", CameraType::kWeakPerspective, JawMode::kContour, false},
                      Case{"weak_fixed_pca", CameraType::kWeakPerspective, JawMode::kFixed, false},
                      Case{"pinhole_fixed_blendshape", CameraType::kPinhole, JawMode::kFixed, true},
                      Case{"pinhole_contour_blendshape", CameraType::kPinhole, JawMode::kContour, true}),
    [](const auto& info) { return info.param.name; });

// Bounded blendshape weights, everything free in one stage: steps that would carry weights out
// of [0, 1] fix them at the bound and re-solve the rest. Clipping the step instead (the earlier
// rule) gave steps that raised the quadratic model, rejected in cycles: 24-35 iterations here,
// and 100 without convergence on ICT fits of AFLW2000-3D faces. Measured now: 5-7 iterations
// per fit; the bound is held exactly and the fit converges.
TEST(LandmarkGaussNewton, BoundedStepsResolveInsteadOfClipping) {
  models::MorphableModel model = Sample();
  model.expression_kind = models::ExpressionKind::kBlendshape;
  for (uint32_t seed = 101; seed <= 103; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    FaceParams truth = testing::RandomFace(seed, 30.0, CameraType::kPinhole);
    std::mt19937 gen(seed);
    std::uniform_real_distribution<double> uniform(0.0, 0.8);
    for (int j = 0; j < truth.expression.size(); ++j) truth.expression[j] = uniform(gen);
    truth.expression[2] = truth.expression[5] = -0.8;
    const Eigen::Matrix2Xd target = testing::AddNoise(
        testing::ProjectVertices(model, truth, model.landmarks), 1.0, seed);
    FitOptions options;
    options.jaw_mode = JawMode::kFixed;
    options.stages = {options.stages.back()};
    const auto fit = FitLandmarks(model, target, kWidth, kHeight, options);
    ASSERT_TRUE(fit.ok());
    EXPECT_TRUE(fit->summary.converged) << fit->summary.ToString();
    std::cout << "bounded one-stage fit, seed " << seed << ": " << fit->summary.stages[0].iterations
              << " iterations\n";
    EXPECT_LE(fit->summary.stages[0].iterations, 12);
    EXPECT_EQ(fit->params.expression[2], 0.0);
    EXPECT_EQ(fit->params.expression[5], 0.0);
    EXPECT_LE(fit->params.expression.maxCoeff(), 1.0);
  }
}

TEST(LandmarkGaussNewton, SolverNamesRoundTrip) {
  for (LandmarkSolver s : {LandmarkSolver::kCeres, LandmarkSolver::kGaussNewton}) {
    const auto parsed = ParseLandmarkSolver(LandmarkSolverName(s));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, s);
  }
  const auto bad = ParseLandmarkSolver("lm");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("\"lm\""), std::string::npos);
  EXPECT_EQ(FitOptions().solver, LandmarkSolver::kGaussNewton);
}

// A start with a landmark behind the camera cannot be evaluated: the solve says so and leaves
// the state alone.
TEST(LandmarkGaussNewton, UnusableStartLeavesStateUnchanged) {
  const Problem prob = MakeProblem(7, CameraType::kPinhole, 0.0);
  const GatheredVertices vertices = GatheredVertices::Make(Sample(), Sample().landmarks);
  const CostList costs = MakeCosts(vertices, true, prob.target);
  const std::vector<double> weights(68, 1.0);
  LandmarkProblem problem;
  problem.costs = &costs;
  problem.weights = &weights;
  problem.rotation_free = problem.translation_free = true;
  LandmarkState s{prob.truth.rotation, prob.truth.translation, prob.truth.camera,
                  prob.truth.identity, prob.truth.expression};
  s.translation.z() = -500.0;
  const LandmarkState before = s;
  const LandmarkSolveSummary out = SolveLandmarkLevenbergMarquardt(problem, LandmarkSolveOptions(), &s);
  EXPECT_FALSE(out.usable);
  EXPECT_FALSE(out.converged);
  EXPECT_NE(out.termination.find("behind"), std::string::npos) << out.termination;
  EXPECT_EQ(s.translation, before.translation);
  EXPECT_EQ(s.rotation, before.rotation);
}

// Noise-free targets, pose and shape free from a perturbed start: the solver alone (no
// schedule) reaches the exact answer, reprojection error < 0.01 px.
TEST(LandmarkGaussNewton, NoiseFreeSolveIsExact) {
  for (CameraType camera : {CameraType::kPinhole, CameraType::kWeakPerspective}) {
    SCOPED_TRACE(CameraTypeName(camera));
    const bool perspective = camera == CameraType::kPinhole;
    const Problem prob = MakeProblem(8, camera, 0.0);
    const GatheredVertices vertices = GatheredVertices::Make(Sample(), Sample().landmarks);
    const CostList costs = MakeCosts(vertices, perspective, prob.target);
    const std::vector<double> weights(68, 1.0);
    LandmarkProblem problem;
    problem.costs = &costs;
    problem.weights = &weights;
    problem.rotation_free = true;
    problem.translation_free = perspective;
    problem.camera_free[0] = problem.camera_free[1] = problem.camera_free[2] = !perspective;
    problem.identity_free = problem.expression_free = true;
    problem.identity_prior_weight = problem.expression_prior_weight = 1e-10;
    LandmarkState s{prob.truth.rotation, prob.truth.translation, prob.truth.camera,
                    Eigen::VectorXd::Zero(prob.truth.identity.size()),
                    Eigen::VectorXd::Zero(prob.truth.expression.size())};
    s.rotation += Eigen::Vector3d(0.05, -0.03, 0.02);
    if (perspective) s.translation += Eigen::Vector3d(10.0, -5.0, 40.0);
    LandmarkSolveOptions options;
    options.max_iterations = 50;
    const LandmarkSolveSummary out = SolveLandmarkLevenbergMarquardt(problem, options, &s);
    EXPECT_TRUE(out.usable && out.converged) << out.termination;
    EXPECT_LT(out.final_cost, out.initial_cost);
    double worst = 0.0;
    const double* params[5] = {s.rotation.data(), s.translation.data(), s.camera.data(),
                               s.identity.data(), s.expression.data()};
    for (int k = 0; k < 68; ++k) {
      double r[2];
      ASSERT_TRUE(costs[k]->Evaluate(params, r, nullptr));
      worst = std::max(worst, std::hypot(r[0], r[1]));
    }
    EXPECT_LT(worst, 0.01) << out.termination << ", " << out.iterations << " iterations";
  }
}


// The default steps (float factorisation refined against the double operator) are the double
// factorisation's: from the same perturbed start, with noise and the robust loss, both solves
// take the same number of steps to the same cost and parameters, and a single step agrees to
// ~1e-10 (pinhole and weak perspective).
TEST(LandmarkGaussNewton, FloatFactorizationTakesTheDoubleSteps) {
  for (CameraType camera : {CameraType::kPinhole, CameraType::kWeakPerspective}) {
    SCOPED_TRACE(CameraTypeName(camera));
    const bool perspective = camera == CameraType::kPinhole;
    Problem prob = MakeProblem(12, camera, 1.0);
    for (int k : {5, 40}) prob.target(1, k) += 12.0;
    const GatheredVertices vertices = GatheredVertices::Make(Sample(), Sample().landmarks);
    const CostList costs = MakeCosts(vertices, perspective, prob.target);
    const std::vector<double> weights(68, 1.0);
    LandmarkProblem problem;
    problem.costs = &costs;
    problem.weights = &weights;
    problem.loss_scale_px = 3.0;
    problem.rotation_free = true;
    problem.translation_free = perspective;
    problem.camera_free[0] = problem.camera_free[1] = problem.camera_free[2] = !perspective;
    problem.identity_free = problem.expression_free = true;
    problem.identity_prior_weight = problem.expression_prior_weight = 1.0;
    LandmarkState start{prob.truth.rotation, prob.truth.translation, prob.truth.camera,
                        Eigen::VectorXd::Zero(prob.truth.identity.size()),
                        Eigen::VectorXd::Zero(prob.truth.expression.size())};
    start.rotation += Eigen::Vector3d(0.08, -0.05, 0.03);
    if (perspective) start.translation += Eigen::Vector3d(15.0, -5.0, 60.0);
    LandmarkSolveOptions options;
    options.max_iterations = 50;
    options.function_tolerance = 1e-10;
    LandmarkState in_float = start, in_double = start;
    const LandmarkSolveSummary f = SolveLandmarkLevenbergMarquardt(problem, options, &in_float);
    options.float_factorization = false;
    const LandmarkSolveSummary d = SolveLandmarkLevenbergMarquardt(problem, options, &in_double);
    ASSERT_TRUE(f.usable && f.converged) << f.termination;
    ASSERT_TRUE(d.usable && d.converged) << d.termination;
    EXPECT_GT(f.iterations, 3);
    EXPECT_EQ(f.iterations, d.iterations);
    EXPECT_NEAR(f.final_cost, d.final_cost, 1e-9 * d.final_cost);
    EXPECT_LT((in_float.rotation - in_double.rotation).norm(), 1e-7);
    EXPECT_LT((in_float.identity - in_double.identity).norm(), 1e-6);
    EXPECT_LT((in_float.expression - in_double.expression).norm(), 1e-6);
    // One step alone: the refined step is the double one to ~1e-10 (an unrefined float step
    // differs by ~1e-6 relative here).
    options.max_iterations = 1;
    LandmarkState one_float = start, one_double = start;
    options.float_factorization = true;
    SolveLandmarkLevenbergMarquardt(problem, options, &one_float);
    options.float_factorization = false;
    SolveLandmarkLevenbergMarquardt(problem, options, &one_double);
    const double moved = (one_double.identity - start.identity).norm();
    ASSERT_GT(moved, 0.1);
    EXPECT_LT((one_float.identity - one_double.identity).norm(), 1e-9 * moved);
    EXPECT_LT((one_float.expression - one_double.expression).norm(), 1e-9 * moved);
    EXPECT_LT((one_float.rotation - one_double.rotation).norm(), 1e-9);
  }
}

// A random symmetric positive definite n x n matrix (B Bᵀ / n + I / 2, B Gaussian n x (n + 5)).
Eigen::MatrixXf RandomSpd(int n, std::mt19937* rng) {
  std::normal_distribution<float> normal;
  Eigen::MatrixXf b(n, n + 5);
  for (Eigen::Index i = 0; i < b.size(); ++i) b.data()[i] = normal(*rng);
  Eigen::MatrixXf spd = b * b.transpose() / static_cast<float>(n);
  spd.diagonal().array() += 0.5f;
  return spd;
}

// The solver's float Cholesky against Eigen's double LLT of the same matrices, every size
// 1..200 (the kernel's 16-column panels, 4-column and 8/16-row tiles and their tails), with
// NaN in the upper triangle and the scratch rows (never to reach L), a leading dimension
// beyond the rounded size, and non-positive-definite input rejected.
TEST(LandmarkGaussNewton, FloatCholeskyMatchesEigenLlt) {
  std::mt19937 rng(5);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (int n = 1; n <= 200; ++n) {
    const int ld = (n + 7) / 8 * 8 + (n % 3 == 0 ? 8 : 0);
    const Eigen::MatrixXf spd = RandomSpd(n, &rng);
    Eigen::MatrixXf a = Eigen::MatrixXf::Constant(ld, n, nan);
    a.topRows(n).triangularView<Eigen::Lower>() = spd;
    ASSERT_TRUE(FloatCholeskyInPlace(a.data(), n, ld)) << "n = " << n;
    const Eigen::MatrixXd expected = spd.cast<double>().llt().matrixL();
    const Eigen::MatrixXd l = a.topRows(n).cast<double>().triangularView<Eigen::Lower>();
    ASSERT_TRUE(l.allFinite()) << "n = " << n;
    EXPECT_LT((l - expected).cwiseAbs().maxCoeff(), 2e-5 * expected.cwiseAbs().maxCoeff())
        << "n = " << n;
    // Not positive definite: a negative pivot at the last column, or a NaN entry.
    a.setConstant(nan);
    a.topRows(n).triangularView<Eigen::Lower>() = spd;
    a(n - 1, n - 1) = -1.0f;
    EXPECT_FALSE(FloatCholeskyInPlace(a.data(), n, ld)) << "n = " << n;
    a.topRows(n).triangularView<Eigen::Lower>() = spd;
    a(n - 1, n / 2) = nan;
    EXPECT_FALSE(FloatCholeskyInPlace(a.data(), n, ld)) << "n = " << n;
  }
}

// Solves with the float factor against Eigen's double LLT solve of the same matrices, every
// n = 1..200 (8-column blocks and their tails), with NaN in the factor's upper triangle and
// in the right-hand side's scratch entries.
TEST(LandmarkGaussNewton, FloatCholeskySolveMatchesEigenLlt) {
  std::mt19937 rng(6);
  std::normal_distribution<float> normal;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (int n = 1; n <= 200; ++n) {
    const int np = (n + 7) / 8 * 8, ld = np + (n % 3 == 0 ? 8 : 0);
    const Eigen::MatrixXf spd = RandomSpd(n, &rng);
    Eigen::MatrixXf a = Eigen::MatrixXf::Constant(ld, n, nan);
    a.topRows(n).triangularView<Eigen::Lower>() = spd;
    ASSERT_TRUE(FloatCholeskyInPlace(a.data(), n, ld)) << "n = " << n;
    Eigen::VectorXf rhs(n);
    for (int i = 0; i < n; ++i) rhs[i] = normal(rng);
    Eigen::VectorXf x = Eigen::VectorXf::Constant(np, nan);
    x.head(n) = rhs;
    FloatCholeskySolveInPlace(a.data(), n, ld, x.data());
    const Eigen::VectorXd expected = spd.cast<double>().llt().solve(rhs.cast<double>());
    const Eigen::VectorXd got = x.head(n).cast<double>();
    ASSERT_TRUE(got.allFinite()) << "n = " << n;
    EXPECT_LT((got - expected).norm(), 1e-4 * expected.norm()) << "n = " << n;
  }
}

// The solver's float rank update C = X Xᵀ (lower triangle) against Eigen's double product, every
// n = 1..200 (4-column blocks and 24/16/8-row tiles with their tails) and a few row counts m
// (including 0 and 1), C's lower triangle starting as NaN (it must be written, not
// accumulated), leading dimensions beyond the rounded size.
TEST(LandmarkGaussNewton, FloatRankUpdateMatchesEigenProduct) {
  std::mt19937 rng(9);
  std::normal_distribution<float> normal;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (int n = 1; n <= 200; ++n) {
    for (const int m : {0, 1, 7, n % 37 + 50, 136}) {
      const int np = (n + 7) / 8 * 8;
      const int ldx = np + (n % 2 == 0 ? 8 : 0), ldc = np + (n % 3 == 0 ? 16 : 0);
      Eigen::MatrixXf x = Eigen::MatrixXf::Zero(ldx, std::max(m, 1));
      for (int j = 0; j < m; ++j) {
        for (int i = 0; i < n; ++i) x(i, j) = normal(rng);
      }
      Eigen::MatrixXf c = Eigen::MatrixXf::Constant(ldc, n, nan);
      FloatRankUpdate(x.data(), ldx, n, m, c.data(), ldc);
      const Eigen::MatrixXd xd = x.topLeftCorner(n, m).cast<double>();
      const Eigen::MatrixXd expected = xd * xd.transpose();
      const Eigen::MatrixXd got = c.topRows(n).cast<double>();
      double worst = 0.0;
      for (int j = 0; j < n; ++j) {
        for (int i = j; i < n; ++i) {
          ASSERT_TRUE(std::isfinite(got(i, j))) << "n = " << n << ", m = " << m;
          worst = std::max(worst, std::abs(got(i, j) - expected(i, j)));
        }
      }
      EXPECT_LE(worst, 1e-5 * (1.0 + expected.cwiseAbs().maxCoeff()))
          << "n = " << n << ", m = " << m;
    }
  }
}

// Issue 5's accuracy target "1 px Gaussian landmark noise -> pose within 1 deg", for the pose
// alone: the true identity and expression held, pose free (the joint fit's error is set by
// the shape/pose ambiguity under the prior, not by the noise: LandmarkFit.
// OnePixelNoiseRecoversPoseWithinOneDegree). The ten faces of that test (~700 mm, yaw within
// +-40 deg), five noise draws each, from a start 0.15 rad and 50 mm off. Measured here: worst
// 0.43 deg, mean 0.19 deg over 200 draws (0.44 deg over these 50).
TEST(LandmarkGaussNewton, OnePixelNoiseKnownShapePoseWithinOneDegree) {
  const GatheredVertices vertices = GatheredVertices::Make(Sample(), Sample().landmarks);
  const std::vector<double> weights(68, 1.0);
  double worst = 0.0;
  for (uint32_t seed = 21; seed < 31; ++seed) {
    FaceParams truth = testing::RandomFace(seed, 40.0, CameraType::kPinhole);
    truth.translation *= 0.7;
    const Eigen::Matrix2Xd clean = testing::ProjectVertices(Sample(), truth, Sample().landmarks);
    for (uint32_t draw = 0; draw < 5; ++draw) {
      const Eigen::Matrix2Xd target = testing::AddNoise(clean, 1.0, 1000 * seed + draw);
      const CostList costs = MakeCosts(vertices, true, target);
      LandmarkProblem problem;
      problem.costs = &costs;
      problem.weights = &weights;
      problem.rotation_free = problem.translation_free = true;
      LandmarkState s{truth.rotation + Eigen::Vector3d(0.1, -0.1, 0.05),
                      truth.translation + Eigen::Vector3d(10.0, 10.0, 50.0), truth.camera,
                      truth.identity, truth.expression};
      LandmarkSolveOptions options;
      options.max_iterations = 100;
      const LandmarkSolveSummary out = SolveLandmarkLevenbergMarquardt(problem, options, &s);
      EXPECT_TRUE(out.converged) << out.termination;
      worst = std::max(worst, testing::RotationErrorDeg(s.rotation, truth.rotation));
    }
  }
  std::cout << "known shape, 1 px noise: worst rotation error " << worst << " deg\n";
  EXPECT_LT(worst, 1.0);
}

}  // namespace
}  // namespace morphfit::fitters
