// The staged landmark fit (landmark_fit.h): validation, closed-form start, stages solved by the
// own Levenberg-Marquardt (landmark_gauss_newton.h) or Ceres, with jaw-contour re-assignment
// between solves, quality figures.
#include "morphfit/fitters/landmark_fit.h"

#include <chrono>
#include <cmath>
#include <memory>
#include <sstream>

#include <ceres/ceres.h>
#include <glog/logging.h>

#include "landmark_costs.h"
#include "landmark_gauss_newton.h"
#include "morphfit/fitters/contour.h"
#include "morphfit/fitters/initial_pose.h"

namespace morphfit::fitters {

// Landmark slots 0..67 hold model.landmarks; with contour lines the candidate vertices follow,
// line k occupying slots line_slots[k].
struct LandmarkFitModel::Tables {
  GatheredVertices vertices;
  std::vector<std::vector<int>> line_slots;  // empty without contour lines
  std::vector<Eigen::Vector3d> outward;
};

namespace {

using models::kNumJawLandmarks;
using models::kNumLandmarks;

constexpr int kOuterEyeRight = 36;  // iBUG: outer corner of the subject's right eye
constexpr int kOuterEyeLeft = 45;

using FitState = LandmarkState;  // landmark_gauss_newton.h: the Ceres parameter blocks too

using SlotTable = LandmarkFitModel::Tables;

bool HasContourLines(const models::MorphableModel& model) {
  bool ok = model.num_landmarks() == kNumLandmarks &&
            static_cast<int>(model.contour_candidates.size()) == kNumJawLandmarks;
  for (const std::vector<int>& line : model.contour_candidates) ok = ok && !line.empty();
  return ok;
}

// The pinhole state is kept in Projection::kPinholeImageScale's parameters (landmark_costs.h):
// translation = (p_x, p_y, s), camera = (kappa, cx, cy) with the starting focal length `focal`
// as the reference, so kappa = focal / f starts at 1 (and stays 1 while the focal is held:
// then `focal` itself is returned).
FaceParams ToFaceParams(const models::MorphableModel& model, const FitState& s,
                        CameraType type, int width, int height, double focal) {
  FaceParams p = FaceParams::Frontal(model.num_identity(), model.num_expression(),
                                     model.num_albedo(), width, height, 1.0, 1.0);
  p.model = model.name;
  p.identity = s.identity;
  p.expression = s.expression;
  p.rotation = s.rotation;
  p.camera_type = type;
  p.camera = s.camera;
  p.translation = s.translation;
  if (type == CameraType::kPinhole) {
    FromImageScale(s.translation, s.camera[0], focal, &p.translation, &p.camera[0]);
    if (s.camera[0] == 1.0) p.camera[0] = focal;
  }
  return p;
}

// Re-assigns the jaw costs to the silhouette for the current state; true if any changed.
bool AssignContour(const models::MorphableModel& model, const SlotTable& table,
                   const FitState& state, CameraType type, int width, int height, double focal,
                   const std::vector<std::unique_ptr<LandmarkReprojectionCost>>& costs) {
  const FaceParams params = ToFaceParams(model, state, type, width, height, focal);
  // The rule marches outwards and stops at the first turn, usually a few vertices in: the
  // points of a line are evaluated a prefix at a time (8, then doubling) rather than all ~24
  // (evaluating every gathered point took ~15% of a BFM-size fit). A prefix whose answer is
  // not its last vertex gives the whole line's answer.
  const GatheredVertices& g = table.vertices;
  const double* alpha = state.identity.isZero(0.0) ? nullptr : state.identity.data();
  const double* beta = state.expression.isZero(0.0) ? nullptr : state.expression.data();
  bool changed = false;
  for (int k = 0; k < kNumJawLandmarks; ++k) {
    const std::vector<int>& slots = table.line_slots[k];
    const int n = static_cast<int>(slots.size());
    Eigen::Matrix3Xd points(3, n);
    int done = 0, index = 0;
    for (int prefix = std::min(n, 8);; prefix = std::min(n, 2 * prefix)) {
      for (; done < prefix; ++done) {
        points.col(done) = g.Point(slots[done], alpha, beta);
      }
      index = SelectSilhouetteVertex(params, table.outward[k], points.leftCols(prefix));
      if (index < prefix - 1 || prefix == n) break;
    }
    const int slot = slots[index];
    if (costs[k]->slot() != slot) {
      costs[k]->set_slot(slot);
      changed = true;
    }
  }
  return changed;
}

class VlogIterations final : public ceres::IterationCallback {
 public:
  explicit VlogIterations(const std::string& stage) : stage_(stage) {}
  ceres::CallbackReturnType operator()(const ceres::IterationSummary& s) override {
    VLOG(2) << "landmark fit " << stage_ << " iteration " << s.iteration << ": cost " << s.cost
            << ", |step| " << s.step_norm << ", radius " << s.trust_region_radius;
    return ceres::SOLVER_CONTINUE;
  }

 private:
  std::string stage_;
};

std::unique_ptr<ceres::LossFunction> MakeLoss(RobustLoss loss, double scale_px) {
  switch (loss) {
    case RobustLoss::kHuber: return std::make_unique<ceres::HuberLoss>(scale_px);
    case RobustLoss::kCauchy: return std::make_unique<ceres::CauchyLoss>(scale_px);
    case RobustLoss::kNone: break;
  }
  return nullptr;
}


using CostList = std::vector<std::unique_ptr<LandmarkReprojectionCost>>;

// One stage's solver: the Ceres problem (built once per stage, solved once per contour round)
// or the own Levenberg-Marquardt, on the same energy, free blocks, priors and bounds.
class StageSolver {
 public:
  StageSolver(const FitStage& stage, const FitOptions& options, double focal, bool focal_free,
              bool perspective, bool blendshape, const std::vector<double>& weights,
              const CostList& costs, FitState* state)
      : stage_(stage), options_(options), ceres_(options.solver == LandmarkSolver::kCeres) {
    const int k_id = static_cast<int>(state->identity.size());
    const int k_exp = static_cast<int>(state->expression.size());
    solve_options_.max_iterations = stage.max_iterations;
    solve_options_.function_tolerance = options.function_tolerance;
    solve_options_.gradient_tolerance = options.gradient_tolerance;
    solve_options_.parameter_tolerance = options.parameter_tolerance;
    problem_.costs = &costs;
    problem_.weights = &weights;
    problem_.loss = stage.loss;
    problem_.loss_scale_px = stage.loss_scale_px;
    problem_.rotation_free = stage.pose;
    problem_.translation_free = stage.pose && perspective;
    if (focal_free) {
      problem_.camera_free[0] = true;
      // kappa = focal / f within [1 / range, range].
      problem_.camera_lower[0] = 1.0 / options.focal_range;
      problem_.camera_upper[0] = options.focal_range;
    } else if (!perspective && stage.pose) {
      problem_.camera_free[0] = problem_.camera_free[1] = problem_.camera_free[2] = true;
    }
    problem_.identity_free = stage.identity && k_id > 0;
    problem_.expression_free = stage.expression && k_exp > 0;
    problem_.identity_prior_weight = stage.identity_prior_weight;
    problem_.expression_prior_weight = blendshape ? 0.0 : stage.expression_prior_weight;
    problem_.expression_bounded = blendshape;
    if (ceres_) BuildCeresProblem(costs, weights, state);
  }

  // An intermediate solve (loose tolerance) ends where Ceres ends, without the step that met
  // the tolerance, so that both solvers hand the next solve the same point.
  LandmarkSolveSummary Solve(FitState* state, double function_tolerance, bool intermediate) {
    solve_options_.function_tolerance = function_tolerance;
    solve_options_.take_last_step = !intermediate;
    solve_options_.reuse_factorization = !intermediate;
    if (!ceres_) return SolveLandmarkLevenbergMarquardt(problem_, solve_options_, state);
    ceres::Solver::Options solver_options;
    solver_options.minimizer_type = ceres::TRUST_REGION;
    solver_options.trust_region_strategy_type = ceres::LEVENBERG_MARQUARDT;
    solver_options.linear_solver_type = ceres::DENSE_NORMAL_CHOLESKY;
    solver_options.num_threads = 1;
    solver_options.max_num_iterations = stage_.max_iterations;
    solver_options.function_tolerance = function_tolerance;
    solver_options.gradient_tolerance = options_.gradient_tolerance;
    solver_options.parameter_tolerance = options_.parameter_tolerance;
    solver_options.logging_type = ceres::SILENT;
    VlogIterations vlog(stage_.name);
    if (VLOG_IS_ON(2)) solver_options.callbacks.push_back(&vlog);
    ceres::Solver::Summary solve;
    ceres::Solve(solver_options, ceres_problem_.get(), &solve);
    LandmarkSolveSummary out;
    out.initial_cost = solve.initial_cost;
    out.final_cost = solve.final_cost;
    out.iterations = static_cast<int>(solve.iterations.size()) - 1;
    out.termination = std::string(ceres::TerminationTypeToString(solve.termination_type)) +
                      ": " + solve.message;
    out.converged = solve.termination_type == ceres::CONVERGENCE;
    out.usable = solve.IsSolutionUsable();
    return out;
  }

 private:
  void BuildCeresProblem(const CostList& costs, const std::vector<double>& weights,
                         FitState* state) {
    const int k_id = static_cast<int>(state->identity.size());
    const int k_exp = static_cast<int>(state->expression.size());
    // The problem holds pointers to the loss and priors (it owns only the ScaledLoss wrappers
    // and the manifold); members declared before it outlive it.
    loss_ = MakeLoss(stage_.loss, stage_.loss_scale_px);
    ceres::Problem::Options problem_options;
    problem_options.cost_function_ownership = ceres::DO_NOT_TAKE_OWNERSHIP;
    ceres_problem_ = std::make_unique<ceres::Problem>(problem_options);
    ceres::Problem& problem = *ceres_problem_;
    std::vector<double*> blocks = {state->rotation.data(), state->translation.data(),
                                   state->camera.data()};
    if (k_id > 0) blocks.push_back(state->identity.data());
    if (k_exp > 0) blocks.push_back(state->expression.data());
    for (int k = 0; k < kNumLandmarks; ++k) {
      if (!(weights[k] > 0.0)) continue;
      problem.AddResidualBlock(
          costs[k].get(), new ceres::ScaledLoss(loss_.get(), weights[k], ceres::DO_NOT_TAKE_OWNERSHIP),
          blocks);
    }
    if (!problem_.rotation_free) problem.SetParameterBlockConstant(state->rotation.data());
    if (!problem_.translation_free) problem.SetParameterBlockConstant(state->translation.data());
    if (problem_.camera_free[0] && !problem_.camera_free[1]) {
      // Pinhole with the focal estimated: the principal point stays fixed.
      problem.SetManifold(state->camera.data(), new ceres::SubsetManifold(3, {1, 2}));
      problem.SetParameterLowerBound(state->camera.data(), 0, problem_.camera_lower[0]);
      problem.SetParameterUpperBound(state->camera.data(), 0, problem_.camera_upper[0]);
    } else if (!problem_.camera_free[0]) {
      problem.SetParameterBlockConstant(state->camera.data());
    }
    if (k_id > 0) {
      if (!problem_.identity_free) {
        problem.SetParameterBlockConstant(state->identity.data());
      } else if (problem_.identity_prior_weight > 0.0) {
        priors_.emplace_back(CoefficientPriorCost::Create(k_id, problem_.identity_prior_weight));
        problem.AddResidualBlock(priors_.back().get(), nullptr, state->identity.data());
      }
    }
    if (k_exp > 0) {
      if (problem_.expression_bounded) {
        for (int j = 0; j < k_exp; ++j) {
          problem.SetParameterLowerBound(state->expression.data(), j, 0.0);
          problem.SetParameterUpperBound(state->expression.data(), j, 1.0);
        }
      }
      if (!problem_.expression_free) {
        problem.SetParameterBlockConstant(state->expression.data());
      } else if (problem_.expression_prior_weight > 0.0) {
        priors_.emplace_back(CoefficientPriorCost::Create(k_exp, problem_.expression_prior_weight));
        problem.AddResidualBlock(priors_.back().get(), nullptr, state->expression.data());
      }
    }
  }

  const FitStage& stage_;
  const FitOptions& options_;
  const bool ceres_;
  LandmarkProblem problem_;
  LandmarkSolveOptions solve_options_;
  std::unique_ptr<ceres::LossFunction> loss_;
  std::vector<std::unique_ptr<CoefficientPriorCost>> priors_;
  std::unique_ptr<ceres::Problem> ceres_problem_;  // last: destroyed before loss_ and priors_
};

}  // namespace

LandmarkFitModel::LandmarkFitModel(const models::MorphableModel& model) : model_(&model) {
  auto t = std::make_shared<Tables>();
  std::vector<int> ids = model.landmarks;
  if (HasContourLines(model)) {
    t->outward = ContourOutwardDirections(model);
    for (const std::vector<int>& line : model.contour_candidates) {
      std::vector<int>& slots = t->line_slots.emplace_back();
      for (int v : line) {
        slots.push_back(static_cast<int>(ids.size()));
        ids.push_back(v);
      }
    }
  }
  t->vertices = GatheredVertices::Make(model, ids);
  tables_ = std::move(t);
}

bool LandmarkFitModel::has_contour() const { return !tables_->line_slots.empty(); }

const char* JawModeName(JawMode mode) { return mode == JawMode::kContour ? "contour" : "fixed"; }

const char* LandmarkSolverName(LandmarkSolver solver) {
  return solver == LandmarkSolver::kCeres ? "ceres" : "gn";
}

StatusOr<LandmarkSolver> ParseLandmarkSolver(const std::string& name) {
  if (name == "ceres") return LandmarkSolver::kCeres;
  if (name == "gn") return LandmarkSolver::kGaussNewton;
  return InvalidArgumentError("landmark solver: expected \"ceres\" or \"gn\", got \"" + name +
                              "\"");
}

StatusOr<JawMode> ParseJawMode(const std::string& name) {
  if (name == "contour") return JawMode::kContour;
  if (name == "fixed") return JawMode::kFixed;
  return InvalidArgumentError("jaw mode: expected \"contour\" or \"fixed\", got \"" + name + "\"");
}

std::vector<FitStage> DefaultFitStages() {
  FitStage pose;
  pose.name = "pose";
  FitStage shape;
  shape.name = "identity+expression";
  shape.pose = false;
  shape.identity = shape.expression = true;
  FitStage all;
  all.name = "all";
  all.identity = all.expression = all.focal = true;
  return {pose, shape, all};
}

double DefaultFocalPx(int width, int height) { return 2.0 * std::max(width, height); }

Status FitOptions::Validate() const {
  if (stages.empty()) return InvalidArgumentError("fit options: no stages");
  for (const FitStage& s : stages) {
    const std::string where = "fit options: stage \"" + s.name + "\": ";
    if (s.max_iterations <= 0) return InvalidArgumentError(where + "max_iterations must be > 0");
    if (!s.pose && !s.identity && !s.expression && !s.focal) {
      return InvalidArgumentError(where + "frees no parameters");
    }
    if (!(s.identity_prior_weight >= 0.0) || !(s.expression_prior_weight >= 0.0) ||
        !std::isfinite(s.identity_prior_weight) || !std::isfinite(s.expression_prior_weight)) {
      return InvalidArgumentError(where + "prior weights must be finite and >= 0");
    }
    if (s.loss != RobustLoss::kNone && !(s.loss_scale_px > 0.0 && std::isfinite(s.loss_scale_px))) {
      return InvalidArgumentError(where + "loss_scale_px must be > 0, got " +
                                  std::to_string(s.loss_scale_px));
    }
  }
  if (!(focal_px <= 0.0 || std::isfinite(focal_px))) {
    return InvalidArgumentError("fit options: focal_px must be finite");
  }
  if (!(focal_range >= 1.0 && std::isfinite(focal_range))) {
    return InvalidArgumentError("fit options: focal_range must be >= 1");
  }
  if (max_contour_rounds <= 0) return InvalidArgumentError("fit options: max_contour_rounds must be > 0");
  if (!(function_tolerance > 0.0) || !(gradient_tolerance > 0.0) || !(parameter_tolerance > 0.0) ||
      !(intermediate_function_tolerance > 0.0)) {
    return InvalidArgumentError("fit options: tolerances must be > 0");
  }
  if (!(max_converged_nme > 0.0)) return InvalidArgumentError("fit options: max_converged_nme must be > 0");
  if (!landmark_weights.empty()) {
    if (static_cast<int>(landmark_weights.size()) != kNumLandmarks) {
      return InvalidArgumentError("fit options: landmark_weights must have 68 entries, got " +
                                  std::to_string(landmark_weights.size()));
    }
    double total = 0.0;
    for (size_t k = 0; k < landmark_weights.size(); ++k) {
      const double w = landmark_weights[k];
      if (!(w >= 0.0) || !std::isfinite(w)) {
        return InvalidArgumentError("fit options: landmark_weights[" + std::to_string(k) +
                                    "] must be finite and >= 0, got " + std::to_string(w));
      }
      total += w;
    }
    if (!(total > 0.0)) return InvalidArgumentError("fit options: all landmark weights are 0");
  }
  return OkStatus();
}

Status ValidateLandmarks(const Eigen::Matrix2Xd& landmarks_px, int width, int height) {
  if (width <= 0 || height <= 0) {
    return InvalidArgumentError("landmarks: the image size is missing or invalid (" +
                                std::to_string(width) + " x " + std::to_string(height) + ")");
  }
  if (landmarks_px.cols() != kNumLandmarks) {
    return InvalidArgumentError("landmarks: expected 68 points (iBUG order), got " +
                                std::to_string(landmarks_px.cols()));
  }
  for (int k = 0; k < kNumLandmarks; ++k) {
    const double u = landmarks_px(0, k), v = landmarks_px(1, k);
    if (!std::isfinite(u) || !std::isfinite(v)) {
      return InvalidArgumentError("landmarks: point " + std::to_string(k) + " is not finite (" +
                                  std::to_string(u) + ", " + std::to_string(v) + ")");
    }
    if (u < -0.5 || v < -0.5 || u > width - 0.5 || v > height - 0.5) {
      return InvalidArgumentError(
          "landmarks: point " + std::to_string(k) + " (" + std::to_string(u) + ", " +
          std::to_string(v) + ") lies outside the " + std::to_string(width) + " x " +
          std::to_string(height) + " image (wrong image size for these landmarks?)");
    }
  }
  MORPHFIT_RETURN_IF_ERROR(CheckNotCollinear(landmarks_px, "landmarks: the 68 points"));
  if (!((landmarks_px.col(kOuterEyeRight) - landmarks_px.col(kOuterEyeLeft)).norm() > 0.0)) {
    return InvalidArgumentError("landmarks: the outer eye corners (36, 45) coincide");
  }
  return OkStatus();
}

double LandmarkNme(const Eigen::Matrix2Xd& predicted_px, const Eigen::Matrix2Xd& target_px,
                   const std::vector<double>& weights) {
  CHECK_EQ(predicted_px.cols(), target_px.cols());
  CHECK_GT(target_px.cols(), kOuterEyeLeft);
  CHECK(weights.empty() || weights.size() == static_cast<size_t>(target_px.cols()));
  double sum = 0.0;
  int count = 0;
  for (Eigen::Index k = 0; k < target_px.cols(); ++k) {
    if (!weights.empty() && !(weights[k] > 0.0)) continue;
    sum += (predicted_px.col(k) - target_px.col(k)).norm();
    ++count;
  }
  const double eyes = (target_px.col(kOuterEyeRight) - target_px.col(kOuterEyeLeft)).norm();
  return count > 0 ? sum / count / eyes : 0.0;
}

std::string FitSummary::ToString() const {
  std::ostringstream out;
  for (const StageSummary& s : stages) {
    out << "stage " << s.name << ": cost " << s.initial_cost << " -> " << s.final_cost << ", "
        << s.iterations << " iterations, " << s.contour_rounds << " solves, " << s.time_s * 1e3
        << " ms, " << s.termination << "\n";
  }
  out << "NME " << landmark_nme << ", RMS " << rms_error_px << " px, max " << max_error_px
      << " px, " << total_time_s * 1e3 << " ms, " << (converged ? "converged" : "NOT converged");
  if (!message.empty()) out << ": " << message;
  return out.str();
}

StatusOr<FitResult> FitLandmarks(const models::MorphableModel& model,
                                 const Eigen::Matrix2Xd& landmarks_px, int width, int height,
                                 const FitOptions& options) {
  // Checked before gathering (which CHECKs the ids); the same checks run again below.
  MORPHFIT_RETURN_IF_ERROR(options.Validate());
  MORPHFIT_RETURN_IF_ERROR(ValidateLandmarks(landmarks_px, width, height));
  return FitLandmarks(LandmarkFitModel(model), landmarks_px, width, height, options);
}

StatusOr<FitResult> FitLandmarks(const LandmarkFitModel& fit_model,
                                 const Eigen::Matrix2Xd& landmarks_px, int width, int height,
                                 const FitOptions& options) {
  const auto start_time = std::chrono::steady_clock::now();
  const models::MorphableModel& model = fit_model.model();
  MORPHFIT_RETURN_IF_ERROR(options.Validate());
  MORPHFIT_RETURN_IF_ERROR(ValidateLandmarks(landmarks_px, width, height));
  if (model.num_landmarks() != kNumLandmarks) {
    return FailedPreconditionError("landmark fit: model \"" + model.name + "\" has " +
                                   std::to_string(model.num_landmarks()) +
                                   " landmarks, expected 68 (iBUG order)");
  }
  const bool contour = options.jaw_mode == JawMode::kContour;
  if (contour) {
    if (!fit_model.has_contour()) {
      return FailedPreconditionError(
          "landmark fit: jaw mode \"contour\" needs 17 non-empty contour candidate lines; model \"" +
          model.name + "\" has " + std::to_string(model.contour_candidates.size()) +
          " (use jaw mode \"fixed\")");
    }
  }
  const bool perspective = options.camera_type == CameraType::kPinhole;
  const bool blendshape = model.expression_kind == models::ExpressionKind::kBlendshape;
  std::vector<double> weights = options.landmark_weights;
  if (weights.empty()) weights.assign(kNumLandmarks, 1.0);

  const SlotTable& table = fit_model.tables();
  const int k_id = table.vertices.num_identity();
  const int k_exp = table.vertices.num_expression();

  // Closed-form start on the mean shape; in contour mode without the jaw, whose vertices are
  // not known until the pose is.
  FitState state;
  state.identity = Eigen::VectorXd::Zero(k_id);
  state.expression = Eigen::VectorXd::Zero(k_exp);
  const double focal = options.focal_px > 0.0 ? options.focal_px : DefaultFocalPx(width, height);
  const Eigen::Vector2d principal(0.5 * (width - 1), 0.5 * (height - 1));
  std::vector<int> init_points;
  for (int k = contour ? kNumJawLandmarks : 0; k < kNumLandmarks; ++k) {
    if (weights[k] > 0.0) init_points.push_back(k);
  }
  Eigen::Matrix3Xd init_model(3, init_points.size());
  Eigen::Matrix2Xd init_px(2, init_points.size());
  for (size_t i = 0; i < init_points.size(); ++i) {
    init_model.col(i) = table.vertices.mean.segment<3>(3 * init_points[i]);
    init_px.col(i) = landmarks_px.col(init_points[i]);
  }
  MORPHFIT_ASSIGN_OR_RETURN(InitialPose pose, EstimateInitialPose(init_model, init_px,
                                                                  options.camera_type, focal,
                                                                  principal));
  state.rotation = pose.rotation;
  state.translation = pose.translation;
  state.camera = pose.camera;
  if (perspective) {
    ToImageScale(pose.translation, focal, focal, &state.translation, &state.camera[0]);
  }
  const Projection projection =
      perspective ? Projection::kPinholeImageScale : Projection::kWeakPerspective;

  std::vector<std::unique_ptr<LandmarkReprojectionCost>> costs;
  for (int k = 0; k < kNumLandmarks; ++k) {
    costs.emplace_back(LandmarkReprojectionCost::Create(&table.vertices, k, projection,
                                                        landmarks_px.col(k), focal));
  }
  if (contour) AssignContour(model, table, state, options.camera_type, width, height, focal, costs);

  FitResult result;
  FitSummary& summary = result.summary;
  summary.initial_affine_rms_px = pose.affine_rms_px;
  bool failed = false;
  for (const FitStage& stage : options.stages) {
    const auto stage_start = std::chrono::steady_clock::now();
    StageSummary& ss = summary.stages.emplace_back();
    ss.name = stage.name;
    const bool focal_free = perspective && stage.focal && options.estimate_focal;
    StageSolver solver(stage, options, focal, focal_free, perspective, blendshape, weights, costs,
                       &state);
    // Solves that another follows (earlier stages; contour rounds that re-assignment may
    // change) stop at intermediate_function_tolerance; the last stage ends with a solve at
    // function_tolerance: its last contour round, or, once re-assignment changes nothing, a
    // closing solve from there.
    const bool last_stage = &stage == &options.stages.back();
    const int rounds = contour ? options.max_contour_rounds : 1;
    bool closing = false;
    for (int round = 0; round < rounds; ++round) {
      const bool tight = last_stage && (round == rounds - 1 || closing);
      const FitState before = state;
      const LandmarkSolveSummary solve = solver.Solve(
          &state, tight ? options.function_tolerance : options.intermediate_function_tolerance,
          !tight);
      if (round == 0) ss.initial_cost = solve.initial_cost;
      ss.final_cost = solve.final_cost;
      ss.iterations += solve.iterations;
      ss.contour_rounds = round + 1;
      ss.termination = solve.termination;
      ss.solver_converged = solve.converged;
      if (!solve.usable || !state.AllFinite() || !std::isfinite(solve.final_cost)) {
        state = before;
        failed = true;
        summary.message = "stage \"" + stage.name + "\" failed (" + ss.termination +
                          "); the parameters before it are returned";
        break;
      }
      const bool changed =
          contour && AssignContour(model, table, state, options.camera_type, width, height,
                                   focal, costs);
      if (tight || (!changed && !last_stage)) break;
      closing = !changed;
    }
    ss.time_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - stage_start).count();
    VLOG(1) << "landmark fit stage " << ss.name << ": cost " << ss.initial_cost << " -> "
            << ss.final_cost << ", " << ss.iterations << " iterations, " << ss.contour_rounds
            << " solves, " << ss.termination;
    if (failed) break;
  }

  // Quality on the final assignment: residual = uv - target for every landmark.
  Eigen::Matrix2Xd predicted(2, kNumLandmarks);
  std::vector<double*> blocks = {state.rotation.data(), state.translation.data(), state.camera.data()};
  if (k_id > 0) blocks.push_back(state.identity.data());
  if (k_exp > 0) blocks.push_back(state.expression.data());
  bool projected = true;
  double sum_sq = 0.0;
  int count = 0;
  for (int k = 0; k < kNumLandmarks; ++k) {
    double r[2];
    projected = costs[k]->Evaluate(blocks.data(), r, nullptr) && projected;
    predicted.col(k) = landmarks_px.col(k) + Eigen::Vector2d(r[0], r[1]);
    summary.landmark_vertices.push_back(table.vertices.vertex_ids[costs[k]->slot()]);
    if (!(weights[k] > 0.0)) continue;
    const double e = std::hypot(r[0], r[1]);
    sum_sq += e * e;
    ++count;
    summary.max_error_px = std::max(summary.max_error_px, e);
  }
  summary.rms_error_px = std::sqrt(sum_sq / count);
  summary.landmark_nme = LandmarkNme(predicted, landmarks_px, weights);
  result.params = ToFaceParams(model, state, options.camera_type, width, height, focal);
  result.params.landmarks_2d = predicted;
  if (!failed && !projected) {
    failed = true;
    summary.message = "a landmark lies behind the camera";
  }
  const bool solver_converged = !summary.stages.empty() && summary.stages.back().solver_converged;
  summary.converged = !failed && solver_converged && std::isfinite(summary.landmark_nme) &&
                      summary.landmark_nme <= options.max_converged_nme;
  if (!failed && !solver_converged) {
    summary.message = "the last stage stopped before convergence (" +
                      summary.stages.back().termination + ")";
  } else if (!failed && !summary.converged) {
    summary.message = "landmark NME " + std::to_string(summary.landmark_nme) + " exceeds " +
                      std::to_string(options.max_converged_nme);
  }
  summary.total_time_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_time).count();
  VLOG(1) << "landmark fit: " << summary.ToString();
  return result;
}

}  // namespace morphfit::fitters
