// The own Levenberg-Marquardt solver of the landmark fit (landmark_gauss_newton.h).
#include "landmark_gauss_newton.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <type_traits>

#include <Eigen/Cholesky>
#include <glog/logging.h>

#include "landmark_float_algebra.h"
#include "morphfit/math/pixel_jacobian.h"

namespace morphfit::fitters {
namespace {

using models::kNumLandmarks;

// Ceres' Levenberg-Marquardt defaults (ceres::Solver::Options), so that both solvers take
// comparable paths: initial and largest trust-region radius, the smallest before giving up,
// the clamp of the Marquardt diagonal and the least accepted ratio of actual to predicted decrease.
constexpr double kInitialRadius = 1e4;
constexpr double kMaxRadius = 1e16;
constexpr double kMinRadius = 1e-32;
constexpr double kMinDiagonal = 1e-6;
constexpr double kMaxDiagonal = 1e32;
constexpr double kMinRelativeDecrease = 1e-3;
// Solves per step while the step carries variables out of their bounds (see the loop).
constexpr int kBoundRounds = 8;
// Steps that reuse one factorisation (LandmarkSolveOptions::reuse_factorization).
constexpr int kMaxReusedSteps = 2;
// Iterative refinement of a step solved with the float factorisation: corrections allowed and
// the relative size of the last one at which the step counts as the exact (double) one;
// otherwise the step is factorised in double.
constexpr int kMaxRefinements = 4;
constexpr double kRefinedTolerance = 1e-10;
// The first correction's relative size below which it is the last (sqrt(kRefinedTolerance / 30):
// see refined_solve).
constexpr double kOneCorrection = 1.8e-6;

// Column offsets of the free parameters (-1: held).
struct Layout {
  int rotation = -1, translation = -1, identity = -1, expression = -1;
  int camera[3] = {-1, -1, -1};
  int k_id = 0, k_exp = 0;
  int n = 0;

  Layout(const LandmarkProblem& p, const LandmarkState& s)
      : k_id(static_cast<int>(s.identity.size())), k_exp(static_cast<int>(s.expression.size())) {
    if (p.rotation_free) rotation = Take(3);
    if (p.translation_free) translation = Take(3);
    for (int i = 0; i < 3; ++i) {
      if (p.camera_free[i]) camera[i] = Take(1);
    }
    if (p.identity_free && k_id > 0) identity = Take(k_id);
    if (p.expression_free && k_exp > 0) expression = Take(k_exp);
  }
  int Take(int size) {
    const int at = n;
    n += size;
    return at;
  }

  Eigen::VectorXd Gather(const LandmarkState& s) const {
    Eigen::VectorXd x(n);
    if (rotation >= 0) x.segment<3>(rotation) = s.rotation;
    if (translation >= 0) x.segment<3>(translation) = s.translation;
    for (int i = 0; i < 3; ++i) {
      if (camera[i] >= 0) x[camera[i]] = s.camera[i];
    }
    if (identity >= 0) x.segment(identity, k_id) = s.identity;
    if (expression >= 0) x.segment(expression, k_exp) = s.expression;
    return x;
  }
  void Scatter(const Eigen::VectorXd& x, LandmarkState* s) const {
    if (rotation >= 0) s->rotation = x.segment<3>(rotation);
    if (translation >= 0) s->translation = x.segment<3>(translation);
    for (int i = 0; i < 3; ++i) {
      if (camera[i] >= 0) s->camera[i] = x[camera[i]];
    }
    if (identity >= 0) s->identity = x.segment(identity, k_id);
    if (expression >= 0) s->expression = x.segment(expression, k_exp);
  }
  void Bounds(const LandmarkProblem& p, Eigen::VectorXd* lower, Eigen::VectorXd* upper) const {
    const double inf = std::numeric_limits<double>::infinity();
    lower->setConstant(n, -inf);
    upper->setConstant(n, inf);
    for (int i = 0; i < 3; ++i) {
      if (camera[i] >= 0) {
        (*lower)[camera[i]] = p.camera_lower[i];
        (*upper)[camera[i]] = p.camera_upper[i];
      }
    }
    if (expression >= 0 && p.expression_bounded) {
      lower->segment(expression, k_exp).setZero();
      upper->segment(expression, k_exp).setOnes();
    }
  }
};

int CountRows(const LandmarkProblem& p) {
  int m = 0;
  for (int k = 0; k < kNumLandmarks; ++k) m += (*p.weights)[k] > 0.0 ? 2 : 0;
  return m;
}

using MatrixView = Eigen::Map<Eigen::MatrixXd>;
using MatrixViewF = Eigen::Map<Eigen::MatrixXf>;

// Storage that only grows, handed out as a matrix of the size asked for: solves of different
// sizes (the stages) and later fits reuse it without freeing.
template <typename T>
class BasicBuffer {
 public:
  Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>> View(int rows, int cols) {
    const size_t size = static_cast<size_t>(rows) * static_cast<size_t>(cols);
    if (data_.size() < size) data_.resize(size);
    return {data_.data(), rows, cols};
  }

 private:
  std::vector<T> data_;
};
using Buffer = BasicBuffer<double>;
using BufferF = BasicBuffer<float>;

// The large scratch of a solve (at n = 151: rows 164 KB, two matrices 182 KB each), kept per
// thread across solves and fits. Allocated per solve, blocks this size come from mmap (or a
// heap top that free() trims) and their page faults cost ~10% of a BFM-size fit.
struct Workspace {
  Buffer jt, a, damped;
  BufferF jt_f, a_f, damped_f;  // the float factorisation (SolveLandmarkLevenbergMarquardt)
};

Workspace& ThreadWorkspace() {
  thread_local Workspace workspace;
  return workspace;
}

// Scratch of one solve: the weighted rows transposed (column i = row i of sqrt(W) J, so that
// each landmark writes contiguous memory) and the weighted residuals. Not initialised: every
// evaluation with rows writes all of their entries (one row pair per weighted landmark, every
// free parameter), and none is read before one succeeded.
struct Rows {
  Rows(const LandmarkProblem& p, const Layout& layout, Buffer* storage)
      : jt(storage->View(layout.n, CountRows(p))), r(jt.cols()) {}
  MatrixView jt;      // n x m
  Eigen::VectorXd r;  // m
};

// The landmarks' model points at one coefficient vector (they depend on the coefficients and
// the slots only): those of an evaluated candidate serve the gradient at it once accepted.
struct ModelPoints {
  Eigen::Matrix3Xd p = Eigen::Matrix3Xd(3, kNumLandmarks);
  bool known = false;  // p holds the points of the state evaluated next
};

// Energy (and with `rows`, the weighted Jacobian rows and residuals) at `s`. The rotation is
// expanded once for all landmarks, and each row is written in place from the landmark's
// partials (LandmarkReprojectionCost::Linearize, the arithmetic of its Evaluate). The model
// points come from `points` when known, else are computed (zero coefficient blocks skipped)
// and kept there.
bool Evaluate(const LandmarkProblem& p, const Layout& layout, const LandmarkState& s,
              double* cost, Rows* rows, ModelPoints* points) {
  const RotationTerms rotation(s.rotation.data());
  const bool known = points->known;
  points->known = false;
  const double* alpha =
      layout.k_id > 0 && !s.identity.isZero(0.0) ? s.identity.data() : nullptr;
  const double* beta =
      layout.k_exp > 0 && !s.expression.isZero(0.0) ? s.expression.data() : nullptr;
  const bool partials = rows != nullptr;
  const std::vector<double>& weights = *p.weights;
  double sum = 0.0;
  int row = 0;
  LandmarkPartials d;
  for (int k = 0; k < kNumLandmarks; ++k) {
    const double w = weights[k];
    if (!(w > 0.0)) continue;
    const LandmarkReprojectionCost& cost_k = *(*p.costs)[k];
    if (!known) points->p.col(k) = cost_k.ModelPoint(alpha, beta);
    if (!cost_k.Linearize(rotation, points->p.col(k), s.translation.data(), s.camera.data(),
                          partials, &d)) {
      return false;
    }
    double rho = 0.0;
    // sqrt rather than std::hypot (its overflow-safe path was 2.6% of a fit in perf): pixel
    // residuals are far from overflow, and a non-finite square fails the sum's test below.
    const double omega = math::RobustWeight(
        p.loss, p.loss_scale_px,
        std::sqrt(d.residual[0] * d.residual[0] + d.residual[1] * d.residual[1]), &rho);
    sum += w * rho;
    if (!partials) continue;
    const double scale = std::sqrt(w * omega);
    const GatheredVertices& vertices = cost_k.vertices();
    double* cols[2] = {rows->jt.col(row).data(), rows->jt.col(row + 1).data()};
    for (int i = 0; i < 2; ++i) {
      rows->r[row + i] = scale * d.residual[i];
      double* col = cols[i];
      for (int c = 0; c < 3; ++c) {
        if (layout.rotation >= 0) col[layout.rotation + c] = scale * d.rotation[3 * i + c];
        if (layout.translation >= 0) col[layout.translation + c] = scale * d.view[3 * i + c];
        if (layout.camera[c] >= 0) col[layout.camera[c]] = scale * d.camera[3 * i + c];
      }
    }
    if (layout.identity >= 0) {
      CombineBasisRows(vertices.identity, cost_k.slot(), d.point, scale,
                       cols[0] + layout.identity, cols[1] + layout.identity);
    }
    if (layout.expression >= 0) {
      CombineBasisRows(vertices.expression, cost_k.slot(), d.point, scale,
                       cols[0] + layout.expression, cols[1] + layout.expression);
    }
    row += 2;
  }
  points->known = true;
  if (layout.identity >= 0) sum += 0.5 * p.identity_prior_weight * s.identity.squaredNorm();
  if (layout.expression >= 0) sum += 0.5 * p.expression_prior_weight * s.expression.squaredNorm();
  *cost = sum;
  return std::isfinite(sum);
}

// Energy, rows and gradient at `s`.
bool Gradient(const LandmarkProblem& p, const Layout& layout, const LandmarkState& s,
              ModelPoints* points, Rows* rows, double* cost, Eigen::VectorXd* g) {
  if (!Evaluate(p, layout, s, cost, rows, points)) return false;
  g->noalias() = rows->jt * rows->r;
  if (layout.identity >= 0 && p.identity_prior_weight > 0.0) {
    g->segment(layout.identity, layout.k_id) += p.identity_prior_weight * s.identity;
  }
  if (layout.expression >= 0 && p.expression_prior_weight > 0.0) {
    g->segment(layout.expression, layout.k_exp) += p.expression_prior_weight * s.expression;
  }
  return true;
}

// The Gauss-Newton matrix (lower triangle) from the rows and priors.
void GaussNewtonMatrix(const LandmarkProblem& p, const Layout& layout, const Rows& rows,
                       MatrixView* a) {
  a->setZero();
  a->selfadjointView<Eigen::Lower>().rankUpdate(rows.jt);
  if (layout.identity >= 0 && p.identity_prior_weight > 0.0) {
    a->diagonal().segment(layout.identity, layout.k_id).array() += p.identity_prior_weight;
  }
  if (layout.expression >= 0 && p.expression_prior_weight > 0.0) {
    a->diagonal().segment(layout.expression, layout.k_exp).array() += p.expression_prior_weight;
  }
}

// stepᵀ (JᵀWJ + priors) step from the rows, without the matrix.
double Curvature(const LandmarkProblem& p, const Layout& layout, const Rows& rows,
                 const Eigen::VectorXd& step) {
  double c = (rows.jt.transpose() * step).squaredNorm();
  if (layout.identity >= 0) {
    c += p.identity_prior_weight * step.segment(layout.identity, layout.k_id).squaredNorm();
  }
  if (layout.expression >= 0) {
    c += p.expression_prior_weight * step.segment(layout.expression, layout.k_exp).squaredNorm();
  }
  return c;
}

// The prior weight of each free parameter (0 for pose and camera).
Eigen::VectorXd PriorDiagonal(const LandmarkProblem& p, const Layout& layout) {
  Eigen::VectorXd d = Eigen::VectorXd::Zero(layout.n);
  if (layout.identity >= 0) {
    d.segment(layout.identity, layout.k_id).setConstant(p.identity_prior_weight);
  }
  if (layout.expression >= 0) {
    d.segment(layout.expression, layout.k_exp).setConstant(p.expression_prior_weight);
  }
  return d;
}

bool NormalEquations(const LandmarkProblem& p, const Layout& layout, const LandmarkState& s,
                     Rows* rows, double* cost, Eigen::VectorXd* g, MatrixView* a) {
  ModelPoints points;
  if (!Gradient(p, layout, s, &points, rows, cost, g)) return false;
  GaussNewtonMatrix(p, layout, *rows, a);
  return true;
}

std::string Fmt(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

}  // namespace

bool LandmarkEnergyValue(const LandmarkProblem& problem, const LandmarkState& state,
                         double* cost) {
  const Layout layout(problem, state);
  ModelPoints points;
  return Evaluate(problem, layout, state, cost, nullptr, &points);
}

bool LandmarkNormalEquations(const LandmarkProblem& problem, const LandmarkState& state,
                             double* cost, Eigen::VectorXd* gradient, Eigen::MatrixXd* hessian) {
  const Layout layout(problem, state);
  Buffer jt;
  Rows rows(problem, layout, &jt);
  gradient->resize(layout.n);
  hessian->resize(layout.n, layout.n);
  MatrixView a(hessian->data(), layout.n, layout.n);
  return NormalEquations(problem, layout, state, &rows, cost, gradient, &a);
}

LandmarkSolveSummary SolveLandmarkLevenbergMarquardt(const LandmarkProblem& problem,
                                                     const LandmarkSolveOptions& options,
                                                     LandmarkState* state) {
  CHECK(problem.costs != nullptr && problem.weights != nullptr);
  CHECK_EQ(problem.costs->size(), static_cast<size_t>(kNumLandmarks));
  CHECK_EQ(problem.weights->size(), static_cast<size_t>(kNumLandmarks));
  LandmarkSolveSummary out;
  const Layout layout(problem, *state);
  Workspace& workspace = ThreadWorkspace();
  Rows rows(problem, layout, &workspace.jt);
  double cost = 0.0;
  Eigen::VectorXd g(layout.n), lower, upper;
  MatrixView a = workspace.a.View(layout.n, layout.n);
  MatrixView damped = workspace.damped.View(layout.n, layout.n);
  // The float rows, JᵀWJ and factor with their leading dimension rounded up to 8 rows
  // (FloatRankUpdate, FloatCholeskyInPlace).
  const int padded_n = (layout.n + 7) / 8 * 8;
  MatrixViewF jt_f = workspace.jt_f.View(padded_n, static_cast<int>(rows.jt.cols()));
  MatrixViewF a_f_padded = workspace.a_f.View(padded_n, layout.n);
  auto a_f = a_f_padded.topRows(layout.n);
  MatrixViewF damped_f_padded = workspace.damped_f.View(padded_n, layout.n);
  auto damped_f = damped_f_padded.topRows(layout.n);
  ModelPoints points, candidate_points;
  if (!Gradient(problem, layout, *state, &points, &rows, &cost, &g)) {
    out.termination = "FAILURE: the energy cannot be evaluated at the start (a landmark behind "
                      "the camera or a non-finite value)";
    return out;
  }
  out.usable = true;
  out.initial_cost = out.final_cost = cost;
  layout.Bounds(problem, &lower, &upper);
  Eigen::VectorXd x = layout.Gather(*state);
  LandmarkState candidate = *state;

  // Max-norm of x - Project(x - g): Ceres' gradient test with bounds.
  auto projected_gradient = [&]() {
    return (x - (x - g).cwiseMax(lower).cwiseMin(upper)).lpNorm<Eigen::Infinity>();
  };
  auto converge = [&](const std::string& why) {
    out.converged = true;
    out.termination = "CONVERGENCE: " + why;
  };
  if (layout.n == 0 || projected_gradient() <= options.gradient_tolerance) {
    converge("Gradient tolerance reached at the start");
    return out;
  }

  Eigen::VectorXd fixed_step(layout.n);
  std::vector<char> fixed(layout.n);
  Eigen::VectorXd rhs(layout.n), step(layout.n), x_new(layout.n);
  // The damped matrix is factorised in place (lower triangle L, damped = L Lᵀ): in float
  // (damped_f, from the float rank update a_f: about 1.5x faster at this size) with the step
  // refined against the exact double operator (iterative refinement, the residual from the
  // double rows), or in double (damped, from a) when the float factor fails or does not refine.
  bool factor_is_double = false;
  Eigen::VectorXf solve_f(padded_n);
  auto factor_solve = [&](const Eigen::VectorXd& b, Eigen::VectorXd* out) {
    if (factor_is_double) {
      *out = b;
      damped.triangularView<Eigen::Lower>().solveInPlace(*out);
      damped.triangularView<Eigen::Lower>().adjoint().solveInPlace(*out);
    } else {
      solve_f.head(layout.n) = b.cast<float>();
      FloatCholeskySolveInPlace(damped_f_padded.data(), layout.n, padded_n, solve_f.data());
      *out = solve_f.head(layout.n).cast<double>();
    }
  };
  const Eigen::VectorXd prior_diagonal = PriorDiagonal(problem, layout);
  Eigen::VectorXd diagonal(layout.n), damping(layout.n), masked(layout.n), tmp(rows.jt.cols());
  Eigen::VectorXd refine_residual(layout.n), correction(layout.n), solution(layout.n);
  bool matrix_f_current = false;  // a_f is JᵀWJ + priors at x (float)
  // out = the damped matrix of this round (held variables: identity rows and columns) times
  // v, from the double rows.
  auto apply_damped = [&](const Eigen::VectorXd& v, Eigen::VectorXd* out) {
    for (int i = 0; i < layout.n; ++i) masked[i] = fixed[i] ? 0.0 : v[i];
    tmp.noalias() = rows.jt.transpose() * masked;
    out->noalias() = rows.jt * tmp;
    *out += (prior_diagonal + damping).cwiseProduct(masked);
    for (int i = 0; i < layout.n; ++i) {
      if (fixed[i]) (*out)[i] = v[i];
    }
  };
  // solution = the damped matrix's inverse times rhs with the float factor, refined to
  // kRefinedTolerance; false when it does not get there in kMaxRefinements corrections. Each
  // correction shrinks the error by the contraction rho = |I - F⁻¹A| of the float factor F,
  // and the first correction's relative size c0 (the unrefined solve's error) measures it:
  // the next corrections were 0.9-2.9 c0 times the previous one on the BFM-size and sample
  // fits (c0 1e-7 to 3e-6). So once c0 <= kOneCorrection the refined step's error is below
  // ~3 c0², a tenth of kRefinedTolerance at most, and the second correction (a product with
  // the rows and a solve) is skipped.
  auto refined_solve = [&]() {
    factor_solve(rhs, &solution);
    for (int k = 0; k < kMaxRefinements; ++k) {
      apply_damped(solution, &refine_residual);
      refine_residual = rhs - refine_residual;
      factor_solve(refine_residual, &correction);
      solution += correction;
      const double relative = correction.norm() / solution.norm();
      VLOG(3) << "landmark LM: refinement " << k << ": |correction| / |step| " << relative;
      if (relative <= kRefinedTolerance || (k == 0 && relative <= kOneCorrection)) return true;
    }
    return false;
  };
  double radius = kInitialRadius, decrease_factor = 2.0;
  bool rejected = false, bounded = false, retried = false;
  auto reject = [&]() {
    rejected = true;
    radius /= decrease_factor;
    decrease_factor *= 2.0;
  };
  // Chord steps: the factorisation of the last damped matrix is reused for the next steps of a
  // solve (up to kMaxReusedSteps; the gradient always the current one) while steps are
  // accepted, no bound is held and the step stays in the box; the model decrease is always the
  // current JᵀWJ's (Curvature). With reuse_factorization false such a step serves only as a
  // cheap convergence test: when it meets the function tolerance the solve ends there (it is
  // not taken); otherwise the exact step is computed and the path is the plain method's.
  bool matrix_current = false;  // `a` is JᵀWJ + priors at x (double)
  bool diagonal_current = false;  // `diagonal` is diag(JᵀWJ + priors) at x
  bool reusable = false;       // llt factors a recent damped matrix without held variables
  int reused_steps = 0;
  // x_new from the current matrix; false when the damped matrix is not positive definite.
  auto exact_step = [&]() {
    if (!diagonal_current) {
      // Column by column (contiguous; a row-wise reduction strides across the columns).
      diagonal = prior_diagonal;
      for (Eigen::Index j = 0; j < rows.jt.cols(); ++j) diagonal += rows.jt.col(j).cwiseAbs2();
      diagonal_current = true;
    }
    reused_steps = 0;
    // (JᵀWJ + D / radius) step = -g, D = clamped diag(JᵀWJ). Bounds: variables at a bound with
    // the gradient pushing outward are held (step 0); then, while the solution carries free
    // variables out of the box, those are fixed at the bound they cross (step = bound - x)
    // and the rest re-solved (at most kBoundRounds solves; what still leaves is clipped).
    // Clipping the unconstrained step instead discards the other variables' compensation:
    // with correlated blendshapes its model decrease was often negative (measured on ICT
    // fits: steps rejected in cycles, 100 iterations without convergence).
    fixed_step.setZero(layout.n);
    std::fill(fixed.begin(), fixed.end(), 0);
    for (int i = 0; i < layout.n; ++i) {
      fixed[i] = (x[i] <= lower[i] && g[i] > 0.0) || (x[i] >= upper[i] && g[i] < 0.0);
    }
    damping = diagonal.cwiseMax(kMinDiagonal).cwiseMin(kMaxDiagonal) / radius;
    for (int round = 0; round < kBoundRounds; ++round) {
      rhs = -g;
      if (round > 0) {
        // rhs -= (JᵀWJ + priors) fixed_step, from the rows.
        tmp.noalias() = rows.jt.transpose() * fixed_step;
        rhs.noalias() -= rows.jt * tmp;
        rhs -= prior_diagonal.cwiseProduct(fixed_step);
      }
      for (int i = 0; i < layout.n; ++i) {
        if (fixed[i]) rhs[i] = fixed_step[i];
      }
      // The damped matrix from `source` (lower triangle, the only one the factorisations read;
      // its diagonal from the double rows), held rows and columns replaced by the identity's.
      auto fill = [&](auto* m, const auto& source) {
        using Scalar = typename std::remove_reference_t<decltype(*m)>::Scalar;
        m->template triangularView<Eigen::Lower>() = source;
        m->diagonal() = (diagonal + damping).template cast<Scalar>();
        for (int i = 0; i < layout.n; ++i) {
          if (!fixed[i]) continue;
          m->row(i).setZero();
          m->col(i).setZero();
          (*m)(i, i) = Scalar(1);
        }
      };
      bool solved = false;
      if (options.float_factorization) {
        if (!matrix_f_current) {
          // Entries below kFloatFlush are dropped: their products would be denormal floats
          // (measured: the rank update 6x slower on the sample face); the refinement against
          // the double rows restores their (negligible) part of the step.
          FlushToFloatColumns(rows.jt.data(), layout.n, static_cast<int>(rows.jt.cols()),
                              jt_f.data(), padded_n);
          // The own register-tiled kernel (1.45x Eigen's rankUpdate at n = 151, m = 136).
          FloatRankUpdate(jt_f.data(), padded_n, layout.n, static_cast<int>(rows.jt.cols()),
                          a_f_padded.data(), padded_n);
          matrix_f_current = true;
        }
        fill(&damped_f, a_f);
        factor_is_double = false;
        // The own blocked kernel (1.4-1.6x Eigen's float LLT at n = 151; Eigen::LLT would
        // also take the matrix's L1 norm, for rcond, unused here).
        solved = FloatCholeskyInPlace(damped_f_padded.data(), layout.n, padded_n) &&
                 refined_solve();
      }
      if (!solved) {
        if (!matrix_current) {
          GaussNewtonMatrix(problem, layout, rows, &a);
          matrix_current = true;
        }
        fill(&damped, a);
        factor_is_double = true;
        if (Eigen::LLT<Eigen::Ref<Eigen::MatrixXd>, Eigen::Lower>(damped).info() !=
            Eigen::Success) {
          reusable = false;
          return false;
        }
        factor_solve(rhs, &solution);
      }
      x_new = x + solution;
      bool crossed = false;
      for (int i = 0; i < layout.n; ++i) {
        if (fixed[i] || (x_new[i] >= lower[i] && x_new[i] <= upper[i])) continue;
        fixed[i] = 1;
        fixed_step[i] = (x_new[i] < lower[i] ? lower[i] : upper[i]) - x[i];
        crossed = true;
        bounded = true;
      }
      if (!crossed) break;
    }
    reusable = std::none_of(fixed.begin(), fixed.end(), [](char f) { return f != 0; });
    x_new = x_new.cwiseMax(lower).cwiseMin(upper);
    return true;
  };
  double model_decrease = 0.0, new_cost = 0.0;
  bool valid = false;
  // The candidate x_new: step, model decrease and cost.
  auto try_step = [&]() {
    step = x_new - x;
    model_decrease = -(g.dot(step) + 0.5 * Curvature(problem, layout, rows, step));
    layout.Scatter(x_new, &candidate);
    candidate_points.known = false;
    valid = candidate.AllFinite() &&
            Evaluate(problem, layout, candidate, &new_cost, nullptr, &candidate_points);
    VLOG(2) << "landmark LM iteration " << out.iterations << ": cost " << cost << " -> "
            << (valid ? new_cost : std::numeric_limits<double>::infinity()) << " (model "
            << model_decrease << "), |step| " << step.norm() << ", radius " << radius
            << (reused_steps > 0 ? ", chord" : "");
  };
  auto small_step = [&]() {
    return step.norm() <= (x.norm() + options.parameter_tolerance) * options.parameter_tolerance;
  };
  auto small_change = [&]() {
    return valid && std::abs(cost - new_cost) <= options.function_tolerance * cost;
  };
  while (out.iterations < options.max_iterations) {
    ++out.iterations;
    bool chord = reusable && !matrix_current && reused_steps < kMaxReusedSteps;
    if (chord) {
      factor_solve(-g, &x_new);
      x_new += x;
      chord = (x_new.array() >= lower.array()).all() && (x_new.array() <= upper.array()).all();
      if (chord) ++reused_steps;
    }
    if (!chord && !exact_step()) {
      reject();
      continue;
    }
    try_step();
    if (chord && !options.reuse_factorization && !small_step() && !small_change()) {
      // Not converged: the plain method's step instead of the chord step.
      if (!exact_step()) {
        reject();
        continue;
      }
      try_step();
    }
    if (small_step()) {
      converge("Parameter tolerance reached. |step| " + Fmt(step.norm()));
      break;
    }
    if (small_change()) {
      const double relative = std::abs(cost - new_cost) / cost;
      // After rejected steps the radius recovers by at most 3x per step, and the damped steps
      // that follow shorten while the gradient is still far from 0; after steps that moved
      // variables onto bounds the last step may be the first on the final active set. In both
      // cases a small decrease says little (measured on blendshape fits: a projected gradient
      // of 0.17 or 0.015 at the test, 10x less one step later). Once per such solve, take the
      // point and one more step from it, with at least the initial radius, before trusting it.
      if ((rejected || bounded) && !retried) {
        retried = true;
        radius = std::max(radius, kInitialRadius);
        decrease_factor = 2.0;
        if (!(new_cost < cost)) continue;
      } else {
        if (options.take_last_step && new_cost < cost) {
          x = x_new;
          *state = candidate;
          cost = new_cost;
        }
        converge("Function tolerance reached. |cost_change|/cost " + Fmt(relative) + " <= " +
                 Fmt(options.function_tolerance));
        break;
      }
    } else if (!valid || !(model_decrease > 0.0) ||
               (cost - new_cost) / model_decrease <= kMinRelativeDecrease) {
      reusable = false;  // the next step uses the current matrix and the smaller radius
      reject();
      if (radius < kMinRadius) {
        converge("Minimum trust region radius reached");
        break;
      }
      continue;
    } else {
      // Accepted: Nielsen's radius update.
      const double quality = (cost - new_cost) / model_decrease;
      radius = std::min(kMaxRadius,
                        radius / std::max(1.0 / 3.0, 1.0 - std::pow(2.0 * quality - 1.0, 3)));
      decrease_factor = 2.0;
    }
    // The gradient at the new point (its matrix when a step needs it).
    x = x_new;
    *state = candidate;
    matrix_current = matrix_f_current = diagonal_current = false;
    std::swap(points, candidate_points);  // the candidate's model points
    if (!Gradient(problem, layout, *state, &points, &rows, &cost, &g)) {
      // Evaluate succeeded at this point a moment ago; only a non-finite row can get here.
      out.termination = "FAILURE: non-finite Jacobian";
      out.usable = false;
      break;
    }
    if (projected_gradient() <= options.gradient_tolerance) {
      converge("Gradient tolerance reached");
      break;
    }
  }
  if (out.termination.empty()) {
    out.termination = "NO_CONVERGENCE: Maximum number of iterations reached (" +
                      std::to_string(options.max_iterations) + ")";
  }
  out.final_cost = cost;
  return out;
}

}  // namespace morphfit::fitters
