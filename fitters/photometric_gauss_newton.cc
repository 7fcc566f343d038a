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
#include <memory>
#include <sstream>

#include <Eigen/Cholesky>
#include <glog/logging.h>

#include "photometric_device.h"
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

GaussNewtonStage::GaussNewtonStage(const PhotometricEnergy& energy, int max_iterations)
    : energy_(energy), max_iterations_(max_iterations) {}

Status GaussNewtonStage::Start(const FaceParams& start) {
  free_ = energy_.FreeIndices(start.camera_type);
  out_.params = start;
  current_ = start;
  x_ = start.ToFlat();
  StatusOr<EnergyValue> e = energy_.Evaluate(start);
  if (!e.ok()) {
    Fail(e.status());
    return e.status();
  }
  e_ = std::move(e).value();
  out_.initial_cost = out_.final_cost = e_.total;
  min_cover_ = energy_.options().min_coverage_fraction * energy_.reference_pixels();
  damping_ = 0.0;
  out_.termination = "iteration limit";
  // The true energy is not monotone across visibility refreshes: the best point is kept, and
  // the stage stops when kMaxStalls accepted steps in a row fail to improve on it (1: measured
  // on the slow tests, waiting for a second one only added an iteration at the same result).
  best_ = e_.total;
  stalls_ = 0;
  phase_ = max_iterations_ > 0 ? Phase::kLinearize : Phase::kDone;
  return OkStatus();
}

void GaussNewtonStage::Fail(const Status& status) {
  status_ = status;
  phase_ = Phase::kDone;
}

StatusOr<StageOutcome> GaussNewtonStage::Outcome() const {
  if (!status_.ok()) return status_;
  return out_;
}

void GaussNewtonStage::SetLinearization(const Linearization& lin) {
  h_ = lin.hessian(free_, free_);
  g_ = lin.gradient(free_);
  if (g_.lpNorm<Eigen::Infinity>() < energy_.options().gradient_tolerance) {
    out_.converged = true;
    out_.termination = "gradient tolerance";
    phase_ = Phase::kDone;
    return;
  }
  round_ = 0;
  why_.clear();
  predicted_ = 0.0;
  phase_ = Phase::kSolve;
}

void GaussNewtonStage::DampedSystem(Eigen::MatrixXd* a, Eigen::VectorXd* rhs) const {
  *a = h_;
  if (damping_ > 0.0) a->diagonal() += damping_ * h_.diagonal().cwiseMax(1e-12);
  *rhs = -g_;
}

void GaussNewtonStage::BumpDamping() {
  damping_ = damping_ > 0.0 ? 10.0 * damping_ : kInitialDamping;
  if (++round_ >= kMaxDampingRounds) EndIteration();
}

void GaussNewtonStage::TakeSolve(bool positive_definite, const Eigen::VectorXd& d) {
  if (!positive_definite) {
    why_ = "normal equations not positive definite";
    BumpDamping();
    return;
  }
  // The smooth energy this iteration models (visibility held) equals the true energy at x,
  // whose visibility it holds: the line search's reference.
  const double e_fixed = e_.total;
  const double slope = g_.dot(d);  // < 0 for a positive definite A
  predicted_ = -0.5 * slope;
  double alpha = 1.0;
  for (int h = 0; h <= kMaxHalvings; ++h, alpha *= 0.5) {
    next_ = x_;
    for (size_t j = 0; j < free_.size(); ++j) next_[free_[j]] += alpha * d[j];
    ProjectToBounds(energy_, &next_);
    // Candidate at fixed visibility, skipped (with the reason) when unusable.
    if (!next_.allFinite()) {
      why_ = "non-finite parameters";
      continue;
    }
    candidate_ = current_;
    if (!candidate_.SetFromFlat(next_).ok()) {
      why_ = "parameter vector size";
      continue;
    }
    StatusOr<EnergyValue> v = energy_.Evaluate(candidate_, &e_.visibility);
    if (!v.ok() || !std::isfinite(v.value().total)) {
      why_ = v.ok() ? "non-finite energy" : v.status().message();
      continue;
    }
    const double value = v.value().total;
    if (!(value <= e_fixed + kArmijo * alpha * slope)) {
      why_ = "no sufficient decrease along the step";
      continue;
    }
    // Accepted on the modelled energy: re-render the visibility there (the next iteration's)
    // and reject points where the face no longer covers enough pixels.
    StatusOr<EnergyValue> r = energy_.Evaluate(candidate_);
    if (!r.ok() || !std::isfinite(r.value().total)) {
      why_ = r.ok() ? "non-finite energy" : r.status().message();
      continue;
    }
    if (r.value().covered < min_cover_) {
      why_ = "the face would cover only " + std::to_string(r.value().covered) + " of the " +
             std::to_string(energy_.reference_pixels()) + " face pixels";
      continue;
    }
    refreshed_ = std::move(r).value();
    accepted_fixed_ = value;
    Accept();
    return;
  }
  BumpDamping();
}

void GaussNewtonStage::EndIteration() {
  // Converged when the model predicts no meaningful decrease (the float sums limit how far the
  // energy can be resolved); otherwise the fit is stuck on unusable points.
  const double relative = predicted_ / std::max(e_.total, 1e-300);
  if (why_ == "no sufficient decrease along the step") {
    out_.converged = relative < 100.0 * energy_.options().function_tolerance;
    out_.termination =
        "line search found no decrease (predicted relative decrease " + Fmt(relative) + ")";
  } else {
    out_.diverged = true;
    out_.termination = "diverged: no usable step (" + why_ + ")";
  }
  phase_ = Phase::kDone;
}

void GaussNewtonStage::Accept() {
  const PhotometricFitOptions& opt = energy_.options();
  const double e_fixed = e_.total;
  const double step = (next_ - x_).norm();
  const double relative = (e_fixed - accepted_fixed_) / std::max(e_fixed, 1e-300);
  VLOG(2) << "photometric GN iteration " << out_.iterations << ": energy " << e_.total
          << " (held visibility " << e_fixed << " -> " << accepted_fixed_ << ") -> "
          << refreshed_.total << ", |step| " << step << ", damping " << damping_;
  x_ = next_;
  current_ = candidate_;
  e_ = std::move(refreshed_);
  ++out_.iterations;
  damping_ = damping_ > 1e-8 ? 0.1 * damping_ : 0.0;
  phase_ = out_.iterations < max_iterations_ ? Phase::kLinearize : Phase::kDone;
  if (e_.total < best_ * (1.0 - opt.function_tolerance)) {
    stalls_ = 0;
  } else if (++stalls_ >= kMaxStalls) {
    out_.converged = true;
    out_.termination = "energy stalled (visibility changes undo the modelled decrease)";
    phase_ = Phase::kDone;
    return;
  }
  if (e_.total < best_) {
    best_ = e_.total;
    out_.params = candidate_;
    out_.final_cost = e_.total;
  }
  if (relative < opt.function_tolerance && e_.total <= best_) {
    out_.converged = true;
    out_.termination = "function tolerance";
    phase_ = Phase::kDone;
    return;
  }
  if (step < opt.parameter_tolerance * (x_.norm() + opt.parameter_tolerance) && e_.total <= best_) {
    out_.converged = true;
    out_.termination = "parameter tolerance";
    phase_ = Phase::kDone;
  }
}

bool CholeskySolve(const Eigen::MatrixXd& a, const Eigen::VectorXd& rhs, Eigen::VectorXd* x) {
  const Eigen::LLT<Eigen::MatrixXd> llt(a);
  if (llt.info() != Eigen::Success) return false;
  *x = llt.solve(rhs);
  return true;
}

StatusOr<StageOutcome> SolveStageGaussNewton(const PhotometricEnergy& energy,
                                             const FaceParams& start, int max_iterations) {
  GaussNewtonStage gn(energy, max_iterations);
  MORPHFIT_RETURN_IF_ERROR(gn.Start(start));
  Eigen::MatrixXd a;
  Eigen::VectorXd rhs, d;
  while (!gn.done()) {
    if (gn.needs_linearization()) {
      MORPHFIT_ASSIGN_OR_RETURN(Linearization lin,
                                energy.Linearize(gn.current(), gn.visibility()));
      gn.SetLinearization(lin);
      continue;
    }
    gn.DampedSystem(&a, &rhs);
    const bool ok = CholeskySolve(a, rhs, &d);
    gn.TakeSolve(ok, d);
  }
  return gn.Outcome();
}

std::vector<StatusOr<StageOutcome>> SolveStagesGaussNewtonBatch(
    const std::vector<const PhotometricEnergy*>& energies, const std::vector<FaceParams>& starts,
    int max_iterations, bool use_cuda, ThreadPool* pool) {
  const int num_faces = static_cast<int>(energies.size());
  std::vector<std::unique_ptr<GaussNewtonStage>> gn;
  for (int f = 0; f < num_faces; ++f) {
    gn.push_back(std::make_unique<GaussNewtonStage>(*energies[f], max_iterations));
  }
  pool->ParallelFor(0, num_faces, [&](int64_t f) { (void)gn[f]->Start(starts[f]); });
  const auto select = [&](bool (GaussNewtonStage::*phase)() const) {
    std::vector<int> faces;
    for (int f = 0; f < num_faces; ++f) {
      if ((gn[f].get()->*phase)()) faces.push_back(f);
    }
    return faces;
  };
  while (true) {
    const std::vector<int> linearize = select(&GaussNewtonStage::needs_linearization);
    if (!linearize.empty()) {
      if (use_cuda) {
        std::vector<PhotometricBatchFace> batch;
        for (int f : linearize)
          batch.push_back({energies[f], &gn[f]->current(), &gn[f]->visibility()});
        std::vector<StatusOr<render::NormalEquations>> ne =
            AccumulatePhotometricBatchCuda(batch, pool);
        pool->ParallelFor(0, static_cast<int64_t>(linearize.size()), [&](int64_t k) {
          GaussNewtonStage& s = *gn[linearize[k]];
          StatusOr<Linearization> lin =
              ne[k].ok() ? s.energy().Combine(s.current(), ne[k].value())
                         : StatusOr<Linearization>(ne[k].status());
          if (lin.ok()) s.SetLinearization(lin.value()); else s.Fail(lin.status());
        });
      } else {
        pool->ParallelFor(0, static_cast<int64_t>(linearize.size()), [&](int64_t k) {
          GaussNewtonStage& s = *gn[linearize[k]];
          StatusOr<Linearization> lin = s.energy().Linearize(s.current(), s.visibility());
          if (lin.ok()) s.SetLinearization(lin.value()); else s.Fail(lin.status());
        });
      }
    }
    const std::vector<int> solve = select(&GaussNewtonStage::needs_solve);
    if (solve.empty()) break;
    const int n = static_cast<int>(solve.size());
    std::vector<Eigen::MatrixXd> a(n);
    std::vector<Eigen::VectorXd> rhs(n), d(n);
    std::vector<char> ok(n, 0);
    pool->ParallelFor(0, n, [&](int64_t k) { gn[solve[k]]->DampedSystem(&a[k], &rhs[k]); });
    if (use_cuda) {
      std::vector<bool> pd;
      const Status st = SolveSystemsBatchCuda(a, rhs, &d, &pd);
      if (!st.ok()) {
        for (int f : solve) gn[f]->Fail(st);
        continue;
      }
      for (int k = 0; k < n; ++k) ok[k] = pd[k];
    } else {
      pool->ParallelFor(0, n, [&](int64_t k) { ok[k] = CholeskySolve(a[k], rhs[k], &d[k]); });
    }
    pool->ParallelFor(0, n, [&](int64_t k) { gn[solve[k]]->TakeSolve(ok[k] != 0, d[k]); });
  }
  std::vector<StatusOr<StageOutcome>> out;
  out.reserve(num_faces);
  for (int f = 0; f < num_faces; ++f) out.push_back(gn[f]->Outcome());
  return out;
}

}  // namespace morphfit::fitters
