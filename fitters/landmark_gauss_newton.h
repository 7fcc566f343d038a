// The own Levenberg-Marquardt solver of the landmark fit (private to fitters/), on the same
// energy as the Ceres path of landmark_fit.cc: E = sum_k w_k rho(|r_k|) + sum prior_w / 2 |c|^2
// (landmark_fit.h units; rho = math::RobustWeight's cost, equal to Ceres' Huber/Cauchy losses
// halved). The 68 landmark rows come from LandmarkReprojectionCost::Linearize (the arithmetic
// of its Evaluate, whose analytic Jacobian is checked against central differences in
// landmark_costs_test.cc; the rotation expanded once per point, each row written in place),
// restricted to the free parameters and scaled by sqrt(w_k x IRLS weight); the small dense
// normal equations (n <= 3 + 3 + 1 + K_id + K_exp) with Marquardt damping diag(JᵀJ) / radius
// are formed with one symmetric rank update and factorised by Cholesky in float
// (landmark_float_algebra.h),
// the step refined against the double operator (from the rows) until its last correction is
// below 1e-10 of it (or a first correction below 1.8e-6 of it, which bounds the rest: see the
// .cc; 1-4 corrections measured), else factorised in double; the trust-region
// radius follows Ceres' Levenberg-Marquardt rule (Nielsen's update, Madsen, Nielsen & Tingleff 2004,
// "Methods for non-linear least squares problems", eq. 2.21) and a step is accepted on the
// true energy. Bounds (blendshape expressions in [0, 1], the focal length range): variables at
// a bound whose gradient points outward are held for the step (active set); variables the
// step would carry out of the box are fixed at the bound they cross and the rest re-solved
// (a few solves per step at most). Convergence tests with Ceres' meanings (FitOptions); after
// rejected or bound-fixing steps a function-tolerance stop is confirmed by one more step.
#ifndef MORPHFIT_FITTERS_LANDMARK_GAUSS_NEWTON_H_
#define MORPHFIT_FITTERS_LANDMARK_GAUSS_NEWTON_H_

#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "landmark_costs.h"
#include "morphfit/fitters/landmark_fit.h"

namespace morphfit::fitters {

// The parameters being fitted (FaceParams conventions; landmark_costs.h parameter blocks).
struct LandmarkState {
  Eigen::Vector3d rotation, translation, camera;
  Eigen::VectorXd identity, expression;

  bool AllFinite() const {
    return rotation.allFinite() && translation.allFinite() && camera.allFinite() &&
           identity.allFinite() && expression.allFinite();
  }
};

// One solve's energy and free parameters. Priors count only for free coefficient blocks (as
// the Ceres path adds them), bounds only for free variables.
struct LandmarkProblem {
  // The 68 landmark residuals (slots set by the caller's contour assignment) and weights
  // (68, w_k = 0 drops the point).
  const std::vector<std::unique_ptr<LandmarkReprojectionCost>>* costs = nullptr;
  const std::vector<double>* weights = nullptr;
  RobustLoss loss = RobustLoss::kHuber;
  double loss_scale_px = 4.0;
  bool rotation_free = false;
  bool translation_free = false;
  bool camera_free[3] = {false, false, false};
  bool identity_free = false;
  bool expression_free = false;
  double identity_prior_weight = 0.0;    // px^2 per sigma^2; 0 = no prior
  double expression_prior_weight = 0.0;
  double camera_lower[3] = {-std::numeric_limits<double>::infinity(),
                            -std::numeric_limits<double>::infinity(),
                            -std::numeric_limits<double>::infinity()};
  double camera_upper[3] = {std::numeric_limits<double>::infinity(),
                            std::numeric_limits<double>::infinity(),
                            std::numeric_limits<double>::infinity()};
  bool expression_bounded = false;  // blendshape weights in [0, 1]
};

struct LandmarkSolveOptions {
  int max_iterations = 20;  // LM iterations, rejected steps included (as Ceres counts them)
  double function_tolerance = 1e-6;
  double gradient_tolerance = 1e-10;
  double parameter_tolerance = 1e-8;
  // Whether the step that meets the function tolerance is taken when it lowers the cost
  // (Ceres does not take it: false ends where Ceres ends).
  bool take_last_step = true;
  // Steps after an accepted one reuse the last Cholesky factorisation with the new gradient
  // (a chord step) instead of forming and factoring JᵀWJ anew: the solve's cost is the
  // rank update and the factorisation. Accepted on the same test, on the current matrix's
  // model decrease; a rejected step goes back to the current matrix.
  bool reuse_factorization = true;
  // Exact steps from a float factorisation refined against the double operator (the default;
  // the same steps to ~1e-10, tested), or always from a double factorisation.
  bool float_factorization = true;
};

struct LandmarkSolveSummary {
  double initial_cost = 0.0;
  double final_cost = 0.0;
  int iterations = 0;
  bool converged = false;  // ended by a convergence test
  // false: the start could not be evaluated (state unchanged) or a later point gave a
  // non-finite Jacobian (the caller restores its copy).
  bool usable = false;
  std::string termination;
};

// The energy at `state`; false when a landmark lies behind the camera (depth <= kMinDepthMm)
// or the value is not finite.
bool LandmarkEnergyValue(const LandmarkProblem& problem, const LandmarkState& state,
                         double* cost);

// The gradient of the energy with respect to the free parameters (order: rotation,
// translation, free camera entries, identity, expression) and its Gauss-Newton (IRLS) matrix
// JᵀWJ + priors (lower triangle filled); false as LandmarkEnergyValue. Exposed for the
// finite-difference test of the gradient.
bool LandmarkNormalEquations(const LandmarkProblem& problem, const LandmarkState& state,
                             double* cost, Eigen::VectorXd* gradient, Eigen::MatrixXd* hessian);

// Minimises the energy over the free parameters from *state (updated in place).
LandmarkSolveSummary SolveLandmarkLevenbergMarquardt(const LandmarkProblem& problem,
                                                     const LandmarkSolveOptions& options,
                                                     LandmarkState* state);

}  // namespace morphfit::fitters

#endif  // MORPHFIT_FITTERS_LANDMARK_GAUSS_NEWTON_H_
