// The own Gauss-Newton solver of the photometric fit: normal equations from the fused
// photometric JᵀJ / Jᵀr (render::AccumulatePhotometric, IRLS weights of the robust loss) plus
// the landmark rows and the priors, restricted to the stage's free parameters; Cholesky (LLT)
// with Levenberg damping (diagonal scaled, Marquardt 1963) when the matrix is not positive
// definite or the undamped step fails; backtracking (Armijo) line search on the energy with the
// iteration's visibility held (the smooth function the step models: with visibility re-rendered
// per trial point, silhouette pixels flipping in and out make jumps larger than the decrease
// near convergence); the accepted point's visibility is then re-rendered and becomes the next
// iteration's (and must still cover min_coverage_fraction of the face, else the line search
// goes on). Blendshape expressions are projected onto [0, 1] along the line search. With
// use_cuda the fused sums come from the CUDA device (PhotometricEnergy::Linearize, the seam in
// photometric_device.h); everything else here runs on the host either way.
#include <cmath>
#include <sstream>

#include <Eigen/Cholesky>
#include <glog/logging.h>

#include "photometric_energy.h"

namespace morphfit::fitters {
namespace {

constexpr double kArmijo = 1e-4;      // sufficient-decrease constant
constexpr int kMaxHalvings = 6;       // line search: alpha = 1, 1/2, ..., 1/64
constexpr int kMaxDampingRounds = 6;  // Levenberg damping increases before giving up
constexpr double kInitialDamping = 1e-4;
constexpr int kMaxStalls = 1;

std::string Fmt(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

}  // namespace

StatusOr<StageOutcome> SolveStageGaussNewton(const PhotometricEnergy& energy,
                                             const FaceParams& start, int max_iterations) {
  const PhotometricFitOptions& opt = energy.options();
  const std::vector<int> free = energy.FreeIndices(start.camera_type);
  StageOutcome out;
  out.params = start;
  FaceParams current = start;
  Eigen::VectorXd x = start.ToFlat();
  // e: the true energy at x (visibility rendered at x; that visibility is the iteration's).
  MORPHFIT_ASSIGN_OR_RETURN(EnergyValue e, energy.Evaluate(start));
  out.initial_cost = out.final_cost = e.total;
  const double min_cover = opt.min_coverage_fraction * energy.reference_pixels();

  // Candidate at fixed visibility: false (with the reason) when the point is unusable.
  auto try_fixed = [&](const Eigen::VectorXd& flat, FaceParams* p, double* value,
                       std::string* why) {
    if (!flat.allFinite()) {
      *why = "non-finite parameters";
      return false;
    }
    *p = current;
    if (!p->SetFromFlat(flat).ok()) {
      *why = "parameter vector size";
      return false;
    }
    StatusOr<EnergyValue> v = energy.Evaluate(*p, &e.visibility);
    if (!v.ok() || !std::isfinite(v.value().total)) {
      *why = v.ok() ? "non-finite energy" : v.status().message();
      return false;
    }
    *value = v.value().total;
    return true;
  };

  double damping = 0.0;
  out.termination = "iteration limit";
  // The true energy is not monotone across visibility refreshes: the best point is kept, and
  // the stage stops when kMaxStalls accepted steps in a row fail to improve on it (1: measured
  // on the slow tests, waiting for a second one only added an iteration at the same result).
  double best = e.total;
  int stalls = 0;
  for (int iteration = 0; iteration < max_iterations; ++iteration) {
    MORPHFIT_ASSIGN_OR_RETURN(Linearization lin, energy.Linearize(current, e.visibility));
    const Eigen::MatrixXd H = lin.hessian(free, free);
    const Eigen::VectorXd g = lin.gradient(free);
    if (g.lpNorm<Eigen::Infinity>() < opt.gradient_tolerance) {
      out.converged = true;
      out.termination = "gradient tolerance";
      break;
    }
    // The smooth energy this iteration models (visibility held) equals the true energy at x,
    // whose visibility it holds: the line search's reference.
    const double e_fixed = e.total;
    bool accepted = false;
    std::string why;
    double predicted = 0.0, accepted_fixed = 0.0;
    FaceParams candidate;
    EnergyValue refreshed;
    Eigen::VectorXd next;
    for (int round = 0; round < kMaxDampingRounds && !accepted; ++round) {
      Eigen::MatrixXd A = H;
      if (damping > 0.0) A.diagonal() += damping * H.diagonal().cwiseMax(1e-12);
      const Eigen::LLT<Eigen::MatrixXd> llt(A);
      if (llt.info() != Eigen::Success) {
        damping = damping > 0.0 ? 10.0 * damping : kInitialDamping;
        why = "normal equations not positive definite";
        continue;
      }
      const Eigen::VectorXd d = llt.solve(-g);
      const double slope = g.dot(d);  // < 0 for a positive definite A
      predicted = -0.5 * slope;
      double alpha = 1.0;
      for (int h = 0; h <= kMaxHalvings; ++h, alpha *= 0.5) {
        next = x;
        for (size_t j = 0; j < free.size(); ++j) next[free[j]] += alpha * d[j];
        ProjectToBounds(energy, &next);
        double value = 0.0;
        if (!try_fixed(next, &candidate, &value, &why)) continue;
        if (!(value <= e_fixed + kArmijo * alpha * slope)) {
          why = "no sufficient decrease along the step";
          continue;
        }
        // Accepted on the modelled energy: re-render the visibility there (the next
        // iteration's) and reject points where the face no longer covers enough pixels.
        StatusOr<EnergyValue> r = energy.Evaluate(candidate);
        if (!r.ok() || !std::isfinite(r.value().total)) {
          why = r.ok() ? "non-finite energy" : r.status().message();
          continue;
        }
        if (r.value().covered < min_cover) {
          why = "the face would cover only " + std::to_string(r.value().covered) + " of the " +
                std::to_string(energy.reference_pixels()) + " face pixels";
          continue;
        }
        refreshed = std::move(r).value();
        accepted_fixed = value;
        accepted = true;
        break;
      }
      if (!accepted) damping = damping > 0.0 ? 10.0 * damping : kInitialDamping;
    }
    if (!accepted) {
      // Converged when the model predicts no meaningful decrease (the float sums limit how
      // far the energy can be resolved); otherwise the fit is stuck on unusable points.
      const double relative = predicted / std::max(e_fixed, 1e-300);
      if (why == "no sufficient decrease along the step") {
        out.converged = relative < 100.0 * opt.function_tolerance;
        out.termination =
            "line search found no decrease (predicted relative decrease " + Fmt(relative) + ")";
      } else {
        out.diverged = true;
        out.termination = "diverged: no usable step (" + why + ")";
      }
      break;
    }
    const double step = (next - x).norm();
    const double relative = (e_fixed - accepted_fixed) / std::max(e_fixed, 1e-300);
    VLOG(2) << "photometric GN iteration " << iteration << ": energy " << e.total
            << " (held visibility " << e_fixed << " -> " << accepted_fixed << ") -> "
            << refreshed.total << ", |step| " << step << ", damping " << damping;
    x = next;
    current = candidate;
    e = std::move(refreshed);
    ++out.iterations;
    damping = damping > 1e-8 ? 0.1 * damping : 0.0;
    if (e.total < best * (1.0 - opt.function_tolerance)) {
      stalls = 0;
    } else if (++stalls >= kMaxStalls) {
      out.converged = true;
      out.termination = "energy stalled (visibility changes undo the modelled decrease)";
      break;
    }
    if (e.total < best) {
      best = e.total;
      out.params = candidate;
      out.final_cost = e.total;
    }
    if (relative < opt.function_tolerance && e.total <= best) {
      out.converged = true;
      out.termination = "function tolerance";
      break;
    }
    if (step < opt.parameter_tolerance * (x.norm() + opt.parameter_tolerance) && e.total <= best) {
      out.converged = true;
      out.termination = "parameter tolerance";
      break;
    }
  }
  return out;
}

}  // namespace morphfit::fitters
