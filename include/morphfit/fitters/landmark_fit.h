// Landmark fitting (DESIGN.md "Fitting", stages 1-2): from 68 image landmarks (iBUG order,
// 0-based pixels of a width x height image) to FaceParams pose, identity and expression.
// Closed-form initial pose (initial_pose.h), then a staged Levenberg-Marquardt schedule (the
// own solver or Ceres: FitOptions::solver) with analytic Jacobians: per-landmark weighted,
// robust reprojection residuals (px) plus
// sigma-normalised Gaussian priors on identity and PCA expressions; blendshape expressions are
// bounded to [0, 1] instead. Jaw landmarks either follow the silhouette (JawMode::kContour,
// 300-W-style labels, re-assigned between solves: contour.h) or fixed vertices (kFixed,
// AFLW2000-3D-style labels).
//
// Units of the energy: E = sum_k w_k rho(|uv_k - x_k|^2) / 2 + sum_stage prior_w / 2 |c|^2,
// with uv, x in pixels (rho = robust loss of scale `loss_scale_px`), prior weights in px^2 per
// sigma^2: a weight of 1 costs as much as one pixel of error per sigma of coefficient.
#ifndef MORPHFIT_FITTERS_LANDMARK_FIT_H_
#define MORPHFIT_FITTERS_LANDMARK_FIT_H_

#include <memory>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "morphfit/core/face_params.h"
#include "morphfit/core/status.h"
#include "morphfit/models/morphable_model.h"
#include "morphfit/render/jacobian.h"

namespace morphfit::fitters {

enum class JawMode { kContour, kFixed };
const char* JawModeName(JawMode mode);  // "contour" | "fixed"
StatusOr<JawMode> ParseJawMode(const std::string& name);

// The nonlinear least-squares solver of the stages, both on the same energy (file comment):
// kGaussNewton, the own Levenberg-Marquardt on the small dense normal equations (Cholesky,
// fitters/landmark_gauss_newton.h), the default, ~6x faster than Ceres on a BFM-size model
// and at or below Ceres' final cost (bench/RESULTS.md); kCeres, Ceres' Levenberg-Marquardt
// (DENSE_NORMAL_CHOLESKY), the reference. Both see the pinhole pose as image scale and offset
// and the focal length as kappa = focal_px / f (landmark_costs.h, Projection::
// kPinholeImageScale), so that estimating the focal length only changes the perspective.
enum class LandmarkSolver { kCeres, kGaussNewton };
const char* LandmarkSolverName(LandmarkSolver solver);  // "ceres" | "gn"
StatusOr<LandmarkSolver> ParseLandmarkSolver(const std::string& name);

// Robust loss on a landmark's pixel distance (render::RobustLoss: kNone, kHuber, kCauchy).
using render::RobustLoss;

// One stage of the schedule: which blocks are free, priors, iterations, loss.
struct FitStage {
  std::string name;
  // Rotation and translation (weak perspective: rotation, scale and offset) free.
  bool pose = true;
  bool identity = false;    // identity coefficients free
  bool expression = false;  // expression coefficients free
  bool focal = false;       // pinhole focal length free (only if FitOptions::estimate_focal)
  // Prior weights in px^2 per sigma^2 (file comment): the MAP weight is the landmark noise
  // variance, so the default 1 assumes ~1 px of labelling noise; scale it with the image.
  // Ignored for blocks held fixed and for blendshape expressions (bounded instead).
  double identity_prior_weight = 1.0;
  double expression_prior_weight = 1.0;
  int max_iterations = 100;  // Levenberg-Marquardt iterations per solve
  RobustLoss loss = RobustLoss::kHuber;
  double loss_scale_px = 4.0;  // Huber: quadratic below, linear above; Cauchy: its scale
};

// "pose" (pose only) -> "identity+expression" (pose held: a linear problem) -> "all" (pose,
// identity, expression and the focal length).
std::vector<FitStage> DefaultFitStages();

// Default pinhole focal length: 2 x max(width, height) px (a ~28 degree field of view, the same
// default as `morphfit render`); estimated in stages with `focal` when estimate_focal is set.
double DefaultFocalPx(int width, int height);

struct FitOptions {
  CameraType camera_type = CameraType::kPinhole;
  JawMode jaw_mode = JawMode::kContour;
  LandmarkSolver solver = LandmarkSolver::kGaussNewton;
  // Pinhole focal length in px: the starting value (or the fixed one when estimate_focal is
  // false); <= 0 means DefaultFocalPx. The principal point is the image centre
  // ((width - 1) / 2, (height - 1) / 2) and is never estimated.
  double focal_px = 0.0;
  bool estimate_focal = true;
  // An estimated focal stays within [focal / focal_range, focal * focal_range] (bounds).
  double focal_range = 4.0;
  std::vector<FitStage> stages = DefaultFitStages();
  // Per-landmark weights (68, >= 0; 0 drops the point) or empty for all 1.
  std::vector<double> landmark_weights;
  // Contour mode: solve / re-assign rounds per stage; a stage ends early when no jaw
  // landmark changes vertex.
  int max_contour_rounds = 2;
  // Levenberg-Marquardt convergence (Ceres meanings): relative cost decrease, max-norm of the
  // projected gradient, relative step size.
  // The defaults stop where further iterations move landmarks by far less than a pixel.
  double function_tolerance = 1e-6;
  double gradient_tolerance = 1e-10;
  double parameter_tolerance = 1e-8;
  // The function tolerance of solves that another solve follows (the stages before the last,
  // and contour rounds before the last stage's final solve): their end point is only the next
  // solve's start, so they stop once a step gains less than this fraction of the cost. The
  // last stage always ends with a solve at function_tolerance.
  double intermediate_function_tolerance = 1e-3;
  // FitSummary::converged also needs the final landmark NME at or below this.
  double max_converged_nme = 0.1;

  // Checks every field (stages non-empty, counts and tolerances positive, 68 finite
  // non-negative weights with some positive when given).
  Status Validate() const;
};

struct StageSummary {
  std::string name;
  double initial_cost = 0.0;  // energy at the start of the stage (units: file comment)
  double final_cost = 0.0;
  // Levenberg-Marquardt steps, summed over contour rounds (Ceres' count leaves out the step on
  // which a convergence test stopped it: one fewer per solve than the own solver's).
  int iterations = 0;
  int contour_rounds = 0;      // solves (1 in fixed mode)
  double time_s = 0.0;
  std::string termination;     // the solver's termination type and message of the last solve
  bool solver_converged = false;  // the last solve ended by a convergence test
};

struct FitSummary {
  std::vector<StageSummary> stages;
  double initial_affine_rms_px = 0.0;  // residual of the closed-form start
  double landmark_nme = 0.0;   // mean |uv_k - x_k| / |x_36 - x_45| over landmarks with w_k > 0
  double rms_error_px = 0.0;   // RMS of |uv_k - x_k| over the same landmarks
  double max_error_px = 0.0;
  double total_time_s = 0.0;
  // Every stage ran, the last solve converged, all parameters are finite and the NME is at
  // most FitOptions::max_converged_nme. When false, `message` says why; a stage that fails
  // (non-finite values, face behind the camera) stops the schedule.
  bool converged = false;
  std::string message;
  std::vector<int> landmark_vertices;  // the 68 vertex ids used at the end (jaw re-assigned)

  std::string ToString() const;  // one line per stage, then the quality figures
};

struct FitResult {
  FaceParams params;  // pose, camera, identity, expression; albedo 0, lighting ambient 0.8
  FitSummary summary;
};

// InvalidArgument (naming the landmark and what was found) for a landmark matrix that is not
// 2 x 68, non-finite coordinates, points outside the image ([-0.5, width - 0.5] x
// [-0.5, height - 0.5]), a non-positive image size, or all points collinear.
Status ValidateLandmarks(const Eigen::Matrix2Xd& landmarks_px, int width, int height);

// What the landmark fit reads from a model, gathered once for many fits: the rows of the
// landmark and jaw-contour candidate vertices (vertex-major, double) and the contour lines'
// outward directions. Gathering them from the column-major bases costs about 1 ms per call on
// a BFM-size model (one cache miss per vertex and mode), a large part of one fit; a caller
// fitting many faces with one model makes this once. It points to `model`, which must outlive
// it unchanged. Contour rows are gathered only when the model has 17 non-empty contour lines
// and 68 landmarks; cheap to copy (the tables are shared).
class LandmarkFitModel {
 public:
  explicit LandmarkFitModel(const models::MorphableModel& model);

  const models::MorphableModel& model() const { return *model_; }
  bool has_contour() const;  // the contour rows were gathered (jaw mode kContour possible)

  struct Tables;  // defined in landmark_fit.cc
  const Tables& tables() const { return *tables_; }

 private:
  const models::MorphableModel* model_;
  std::shared_ptr<const Tables> tables_;
};

// Fits `model` to `landmarks_px` (2 x 68, 0-based pixels). Errors: ValidateLandmarks' and
// options.Validate()'s (InvalidArgument); FailedPrecondition when the model lacks 68
// landmarks or (contour mode) 17 non-empty contour lines. A fit that fails or
// diverges is not an error: it returns the last good parameters with summary.converged false.
// The first form gathers the model's rows on every call (LandmarkFitModel).
StatusOr<FitResult> FitLandmarks(const models::MorphableModel& model,
                                 const Eigen::Matrix2Xd& landmarks_px, int width, int height,
                                 const FitOptions& options);
StatusOr<FitResult> FitLandmarks(const LandmarkFitModel& model,
                                 const Eigen::Matrix2Xd& landmarks_px, int width, int height,
                                 const FitOptions& options);

// Landmark NME: mean over landmarks with weight > 0 (weights empty = all) of
// |predicted_k - target_k|, divided by the outer-eye-corner distance |target_36 - target_45|.
double LandmarkNme(const Eigen::Matrix2Xd& predicted_px, const Eigen::Matrix2Xd& target_px,
                   const std::vector<double>& weights);

}  // namespace morphfit::fitters

#endif  // MORPHFIT_FITTERS_LANDMARK_FIT_H_
