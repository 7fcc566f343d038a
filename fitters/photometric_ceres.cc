// The Ceres reference solver of the photometric fit: Levenberg-Marquardt on the same energy as
// the own Gauss-Newton (photometric_energy.h), with analytic Jacobians from the explicit pixel
// rows (render::ComputePixelRows).
//
// Layout: one parameter block, the flat FaceParams vector (P); the stage's fixed entries are
// held by a SubsetManifold, blendshape expressions bounded to [0, 1]. One residual block of 3
// residuals per candidate pixel (every pixel with weight > 0), so that Ceres applies the robust
// loss per pixel exactly as the energy does: ScaledLoss(Huber/Cauchy(scale), λ_photo w_p / N),
// whose cost ½ a ρ_ceres(|r|²) equals a ρ(|r|) of the energy. Pixels the face does not cover
// at the evaluated point give r = 0 and J = 0 (they contribute nothing, as in the energy).
// Plus one block for the landmarks (2L residuals) and one for the priors (linear).
//
// Visibility, refreshed every iteration as in the own Gauss-Newton: a ceres::EvaluationCallback
// (Ceres writes the point into the parameter block before calling it) re-renders the
// visibility whenever Ceres asks for Jacobians -- at the start and at every accepted point,
// where it also re-evaluates the cost -- and holds it for the iteration's trial points, so the
// trust-region ratio compares costs under the same visibility (re-rendering per trial point
// would let silhouette pixels flipping in and out swamp the decrease near convergence). It
// computes all covered pixels' colours and rows in one ComputePixelRows call; the per-pixel
// cost functions read from that cache.
#include <algorithm>
#include <cmath>
#include <memory>

#include <ceres/ceres.h>
#include <ceres/evaluation_callback.h>
#include <ceres/manifold.h>
#include <glog/logging.h>

#include "photometric_energy.h"

namespace morphfit::fitters {
namespace {

// Colours and rows of the covered candidate pixels at the current evaluation point.
class PixelCache final : public ceres::EvaluationCallback {
 public:
  PixelCache(const PhotometricEnergy& energy, const FaceParams& base, const double* x,
             const std::vector<int>& candidates)
      : energy_(energy),
        base_(base),
        x_(x),
        candidates_(candidates),
        slot_(candidates.size(), -1) {}

  void PrepareForEvaluation(bool evaluate_jacobians, bool new_evaluation_point) override {
    if (!new_evaluation_point && !evaluate_jacobians && evaluated_) return;
    ok_ = false;
    FaceParams p = base_;
    const int P = static_cast<int>(base_.ToFlat().size());
    if (!p.SetFromFlat(Eigen::Map<const Eigen::VectorXd>(x_, P)).ok()) return;
    if (evaluate_jacobians || !evaluated_) {
      StatusOr<EnergyValue> e = energy_.Evaluate(p);
      if (!e.ok() || !std::isfinite(e.value().total) ||
          e.value().covered <
              energy_.options().min_coverage_fraction * energy_.reference_pixels()) {
        return;
      }
      visibility_ = std::move(e.value().visibility);
      const int width = energy_.level().width;
      pixels_.clear();
      for (size_t c = 0; c < candidates_.size(); ++c) {
        const int i = candidates_[c];
        slot_[c] = -1;
        if (visibility_.triangle[i] < 0) continue;
        slot_[c] = static_cast<int>(pixels_.size());
        pixels_.emplace_back(i % width, i / width);
      }
    }
    evaluated_ = true;
    StatusOr<render::PixelRows<float>> rows =
        render::ComputePixelRows<float>(energy_.model(), energy_.jmodel(), p, visibility_, pixels_,
                                        energy_.options().render_options, energy_.pool());
    if (!rows.ok()) return;
    rows_ = std::move(rows).value();
    ok_ = true;
  }

  bool ok() const { return ok_; }
  int slot(int candidate) const { return slot_[candidate]; }
  const render::PixelRows<float>& rows() const { return rows_; }

 private:
  const PhotometricEnergy& energy_;
  const FaceParams& base_;
  const double* x_;
  const std::vector<int>& candidates_;
  std::vector<int> slot_;
  render::VisibilityBuffer visibility_;  // the iteration's
  std::vector<Eigen::Vector2i> pixels_;  // its covered candidates
  render::PixelRows<float> rows_;
  bool evaluated_ = false;
  bool ok_ = false;
};

class PixelCost final : public ceres::CostFunction {
 public:
  PixelCost(const PixelCache* cache, int candidate, const float* observed, int num_params)
      : cache_(cache), candidate_(candidate), observed_(observed) {
    set_num_residuals(3);
    mutable_parameter_block_sizes()->push_back(num_params);
  }

  bool Evaluate(double const* const* parameters, double* residuals,
                double** jacobians) const override {
    (void)parameters;  // the cache was filled at this point by PrepareForEvaluation
    if (!cache_->ok()) return false;
    const int P = parameter_block_sizes()[0];
    const int s = cache_->slot(candidate_);
    if (s < 0) {
      std::fill(residuals, residuals + 3, 0.0);
      if (jacobians != nullptr && jacobians[0] != nullptr) {
        std::fill(jacobians[0], jacobians[0] + 3 * P, 0.0);
      }
      return true;
    }
    const render::PixelRows<float>& rows = cache_->rows();
    for (int c = 0; c < 3; ++c)
      residuals[c] = static_cast<double>(rows.colors[3 * s + c]) - observed_[c];
    if (jacobians != nullptr && jacobians[0] != nullptr) {
      for (int c = 0; c < 3; ++c) {
        const float* row = rows.jacobian.row(3 * s + c).data();
        for (int j = 0; j < P; ++j) jacobians[0][c * P + j] = row[j];
      }
    }
    return true;
  }

 private:
  const PixelCache* cache_;
  int candidate_;
  const float* observed_;
};

class LandmarkCost final : public ceres::CostFunction {
 public:
  LandmarkCost(const PhotometricEnergy& energy, const FaceParams& base)
      : energy_(energy), base_(base) {
    set_num_residuals(energy.num_landmark_residuals());
    mutable_parameter_block_sizes()->push_back(static_cast<int>(base.ToFlat().size()));
  }
  bool Evaluate(double const* const* parameters, double* residuals,
                double** jacobians) const override {
    FaceParams p = base_;
    const int P = parameter_block_sizes()[0];
    if (!p.SetFromFlat(Eigen::Map<const Eigen::VectorXd>(parameters[0], P)).ok()) return false;
    StatusOr<bool> ok =
        energy_.LandmarkResiduals(p, residuals, jacobians != nullptr ? jacobians[0] : nullptr);
    return ok.ok() && ok.value();
  }

 private:
  const PhotometricEnergy& energy_;
  const FaceParams& base_;
};

class PriorCost final : public ceres::CostFunction {
 public:
  explicit PriorCost(const Eigen::MatrixXd& sqrt_info) : s_(sqrt_info) {
    set_num_residuals(static_cast<int>(s_.rows()));
    mutable_parameter_block_sizes()->push_back(static_cast<int>(s_.cols()));
  }
  bool Evaluate(double const* const* parameters, double* residuals,
                double** jacobians) const override {
    const int R = static_cast<int>(s_.rows()), P = static_cast<int>(s_.cols());
    const Eigen::Map<const Eigen::VectorXd> x(parameters[0], P);
    for (int i = 0; i < R; ++i) residuals[i] = s_.row(i).dot(x);
    if (jacobians != nullptr && jacobians[0] != nullptr) {
      for (int i = 0; i < R; ++i) {
        for (int j = 0; j < P; ++j) jacobians[0][i * P + j] = s_(i, j);
      }
    }
    return true;
  }

 private:
  Eigen::MatrixXd s_;
};

ceres::LossFunction* BaseLoss(render::RobustLoss loss, double scale) {
  switch (loss) {
    case render::RobustLoss::kHuber:
      return new ceres::HuberLoss(scale);
    case render::RobustLoss::kCauchy:
      return new ceres::CauchyLoss(scale);
    case render::RobustLoss::kNone:
      break;
  }
  return nullptr;
}

}  // namespace

StatusOr<StageOutcome> SolveStageCeres(const PhotometricEnergy& energy, const FaceParams& start,
                                       int max_iterations) {
  const PhotometricFitOptions& opt = energy.options();
  const PyramidLevel& level = energy.level();
  StageOutcome out;
  out.params = start;
  MORPHFIT_ASSIGN_OR_RETURN(EnergyValue e0, energy.Evaluate(start));
  out.initial_cost = out.final_cost = e0.total;

  const Eigen::VectorXd x0 = start.ToFlat();
  std::vector<double> x(x0.data(), x0.data() + x0.size());
  const int P = static_cast<int>(x.size());
  std::vector<int> candidates;
  for (int i = 0; i < level.width * level.height; ++i) {
    if (level.weights[i] > 0.0f) candidates.push_back(i);
  }
  PixelCache cache(energy, start, x.data(), candidates);

  // The shared robust loss outlives the problem, which owns the ScaledLoss wrappers.
  const std::unique_ptr<ceres::LossFunction> base_loss(BaseLoss(opt.loss, opt.loss_scale));
  ceres::Problem::Options problem_options;
  problem_options.evaluation_callback = &cache;
  ceres::Problem problem(problem_options);
  for (size_t c = 0; c < candidates.size(); ++c) {
    const int i = candidates[c];
    problem.AddResidualBlock(
        new PixelCost(&cache, static_cast<int>(c), level.rgb.data() + 3 * i, P),
        new ceres::ScaledLoss(base_loss.get(), energy.PixelScale(i), ceres::DO_NOT_TAKE_OWNERSHIP),
        x.data());
  }
  if (energy.num_landmark_residuals() > 0) {
    problem.AddResidualBlock(new LandmarkCost(energy, start), nullptr, x.data());
  }
  if (energy.num_prior_residuals() > 0) {
    problem.AddResidualBlock(new PriorCost(energy.prior_sqrt()), nullptr, x.data());
  }
  const std::vector<int> free = energy.FreeIndices(start.camera_type);
  std::vector<bool> is_free(P, false);
  for (int j : free) is_free[j] = true;
  std::vector<int> fixed;
  for (int j = 0; j < P; ++j) {
    if (!is_free[j]) fixed.push_back(j);
  }
  if (!fixed.empty()) problem.SetManifold(x.data(), new ceres::SubsetManifold(P, fixed));
  for (int j = energy.bounded_begin(); j < energy.bounded_end(); ++j) {
    problem.SetParameterLowerBound(x.data(), j, 0.0);
    problem.SetParameterUpperBound(x.data(), j, 1.0);
  }

  ceres::Solver::Options so;
  so.minimizer_type = ceres::TRUST_REGION;
  so.trust_region_strategy_type = ceres::LEVENBERG_MARQUARDT;
  so.linear_solver_type = ceres::DENSE_NORMAL_CHOLESKY;
  so.num_threads = energy.pool() != nullptr ? energy.pool()->num_threads() : 1;
  so.max_num_iterations = max_iterations;
  so.function_tolerance = opt.function_tolerance;
  so.gradient_tolerance = opt.gradient_tolerance;
  so.parameter_tolerance = opt.parameter_tolerance;
  so.logging_type = ceres::SILENT;
  ceres::Solver::Summary summary;
  ceres::Solve(so, &problem, &summary);

  out.iterations = std::max(0, static_cast<int>(summary.iterations.size()) - 1);
  out.termination = std::string(ceres::TerminationTypeToString(summary.termination_type)) + ": " +
                    summary.message;
  FaceParams p = start;
  const Eigen::Map<const Eigen::VectorXd> xf(x.data(), P);
  if (!summary.IsSolutionUsable() || !xf.allFinite() || !p.SetFromFlat(xf).ok()) {
    out.diverged = true;
    out.termination = "diverged: " + out.termination;
    return out;
  }
  StatusOr<EnergyValue> e = energy.Evaluate(p);
  if (!e.ok() || !std::isfinite(e.value().total)) {
    out.diverged = true;
    out.termination = "diverged: the solution cannot be rendered (" + out.termination + ")";
    return out;
  }
  out.params = p;
  out.final_cost = e.value().total;
  out.converged = summary.termination_type == ceres::CONVERGENCE;
  return out;
}

}  // namespace morphfit::fitters
