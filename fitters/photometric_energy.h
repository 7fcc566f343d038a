// The photometric fit's energy at one pyramid level (private to fitters/; the energy itself is
// documented in include/morphfit/fitters/photometric_fit.h): the level's image, its camera
// mapping, the energy with visibility at the evaluated point, and its Gauss-Newton normal
// equations. Both solvers (photometric_gauss_newton.cc, photometric_ceres.cc) minimise this.
#ifndef MORPHFIT_FITTERS_PHOTOMETRIC_ENERGY_H_
#define MORPHFIT_FITTERS_PHOTOMETRIC_ENERGY_H_

#include <vector>

#include <Eigen/Core>

#include "morphfit/core/face_params.h"
#include "morphfit/core/status.h"
#include "morphfit/core/thread_pool.h"
#include "morphfit/fitters/photometric_fit.h"
#include "morphfit/models/morphable_model.h"
#include "morphfit/render/jacobian.h"
#include "morphfit/render/visibility.h"

namespace morphfit::fitters {

// One level: the crop (origin x0, y0 in original pixels) reduced by `factor` (a box filter).
struct PyramidLevel {
  int width = 0, height = 0;
  int x0 = 0, y0 = 0;
  int factor = 1;
  std::vector<float> rgb;      // width * height * 3
  std::vector<float> weights;  // width * height (all 1 when the image had none)
  Eigen::Matrix2Xd landmarks;  // 2 x 68 in level pixels, or empty

  // Pixel-centre mapping between original pixels and level pixels.
  double ToLevel(double u_original, int origin) const {
    return (u_original - origin + 0.5) / factor - 0.5;
  }
  double ToOriginal(double u_level, int origin) const {
    return (u_level + 0.5) * factor - 0.5 + origin;
  }
  // `params` with the camera and image size mapped (original -> level, or back).
  FaceParams ParamsToLevel(const FaceParams& original) const;
  FaceParams ParamsToOriginal(const FaceParams& level, int original_width,
                              int original_height) const;
};

// Builds the level from the full image: crop [x0, x0 + crop_w) x [y0, y0 + crop_h), reduce by
// `factor` (floor sizes); landmarks_px may be empty.
PyramidLevel MakeLevel(const PhotometricImage& image, const Eigen::Matrix2Xd& landmarks_px, int x0,
                       int y0, int crop_w, int crop_h, int factor);

struct EnergyValue {
  double photometric = 0.0, landmark = 0.0, prior = 0.0;
  double total = 0.0;
  int covered = 0;           // covered pixels with weight > 0
  double weighted_sq = 0.0;  // Σ w |r|² over them (for the RMSE)
  double weight_sum = 0.0;   // Σ w over them
  render::VisibilityBuffer visibility;
};

struct Linearization {
  Eigen::MatrixXd hessian;   // P x P Gauss-Newton approximation (JᵀWJ of all terms)
  Eigen::VectorXd gradient;  // P
};

// The energy of one stage at one level. Parameters are FaceParams in the level's pixels;
// `flat` vectors follow FaceParams::ToFlat.
class PhotometricEnergy {
 public:
  PhotometricEnergy(const models::MorphableModel& model, const render::JacobianModel& jmodel,
                    const PyramidLevel& level, const PhotometricFitOptions& options,
                    const PhotometricStage& stage, ThreadPool* pool);

  // Photometric normaliser N (see the header); set once per stage by the caller.
  void set_reference_pixels(int n) { reference_pixels_ = n; }
  int reference_pixels() const { return reference_pixels_; }

  // Energy at `params` with the visibility rendered there (fixed_visibility null; the result
  // holds that visibility), or holding `fixed_visibility` (each pixel keeps its triangle, the
  // smooth energy a Gauss-Newton iteration models; the result's visibility is left empty).
  StatusOr<EnergyValue> Evaluate(const FaceParams& params,
                                 const render::VisibilityBuffer* fixed_visibility = nullptr) const;
  // Gauss-Newton normal equations at `params` holding `visibility` (all P columns).
  StatusOr<Linearization> Linearize(const FaceParams& params,
                                    const render::VisibilityBuffer& visibility) const;
  // The same from the fused photometric sums at `params` computed elsewhere (the batched
  // device call): scaled by λ_photo / N, plus the landmark rows and the priors.
  StatusOr<Linearization> Combine(const FaceParams& params,
                                  const render::NormalEquations& photometric) const;
  // The robust loss of the fused sums.
  render::PhotometricOptions photometric_options() const;

  // Flat indices the stage frees (camera handling per camera type, see PhotometricStage).
  std::vector<int> FreeIndices(CameraType camera_type) const;
  // Blendshape expressions: flat index range [begin, end) bounded to [0, 1]; empty otherwise.
  int bounded_begin() const { return bounded_begin_; }
  int bounded_end() const { return bounded_end_; }

  // Landmark and prior residual parts for the Ceres solver: r (all residuals, scaled so that
  // the cost is |r|² / 2) and their P-column Jacobian (row-major 2L x P / R x P).
  StatusOr<bool> LandmarkResiduals(const FaceParams& params, double* residuals,
                                   double* jacobian_row_major) const;
  int num_landmark_residuals() const {
    return level_.landmarks.cols() > 0 ? 2 * level_.landmarks.cols() : 0;
  }
  int num_prior_residuals() const { return static_cast<int>(prior_sqrt_.rows()); }
  // r = prior_sqrt * flat; J = prior_sqrt (R x P).
  const Eigen::MatrixXd& prior_sqrt() const { return prior_sqrt_; }

  // Per-pixel photometric weight λ_photo w_p / N of pixel i (for Ceres' scaled losses).
  double PixelScale(int i) const;

  const PyramidLevel& level() const { return level_; }
  const models::MorphableModel& model() const { return model_; }
  const render::JacobianModel& jmodel() const { return jmodel_; }
  const PhotometricFitOptions& options() const { return options_; }
  ThreadPool* pool() const { return pool_; }

 private:
  const models::MorphableModel& model_;
  const render::JacobianModel& jmodel_;
  const PyramidLevel& level_;
  const PhotometricFitOptions& options_;
  PhotometricStage stage_;
  ThreadPool* pool_;
  render::ParamLayout layout_;
  int reference_pixels_ = 1;
  double landmark_scale_ = 0.0;     // λ_lm / (L d²)
  std::vector<double> landmark_w_;  // per-landmark weights (all 1 unless given)
  Eigen::MatrixXd prior_sqrt_;      // R x P, prior energy = |prior_sqrt flat|² / 2
  int bounded_begin_ = 0, bounded_end_ = 0;
};

// Clamps the bounded (blendshape) expression entries of `flat` to [0, 1].
void ProjectToBounds(const PhotometricEnergy& energy, Eigen::VectorXd* flat);

// One stage's solve result.
struct StageOutcome {
  FaceParams params;  // level pixels
  double initial_cost = 0.0, final_cost = 0.0;
  int iterations = 0;
  bool converged = false;
  bool diverged = false;  // stopped because it could not continue sensibly
  std::string termination;
};

// The own Gauss-Newton of one face on one stage as a state machine (photometric_gauss_newton.cc),
// so that one driver steps one face (SolveStageGaussNewton) and another steps a batch of faces
// in lock-step (SolveStagesGaussNewtonBatch) through exactly the same iterations. Each
// iteration: the normal equations at current() holding visibility() (needs_linearization),
// then one or more damped solves (needs_solve: Levenberg damping grows after a failed
// factorisation or line search), each followed by the line search in TakeSolve.
class GaussNewtonStage {
 public:
  GaussNewtonStage(const PhotometricEnergy& energy, int max_iterations);
  // Evaluates the start (its visibility is the first iteration's). An error ends the stage.
  Status Start(const FaceParams& start);
  bool done() const { return phase_ == Phase::kDone; }
  bool needs_linearization() const { return phase_ == Phase::kLinearize; }
  bool needs_solve() const { return phase_ == Phase::kSolve; }
  const FaceParams& current() const { return current_; }
  const render::VisibilityBuffer& visibility() const { return e_.visibility; }
  const PhotometricEnergy& energy() const { return energy_; }
  // The normal equations at current() (all P columns); restricted here to the free ones.
  void SetLinearization(const Linearization& lin);
  // The damped system of the next solve: A d = rhs (free parameters only).
  void DampedSystem(Eigen::MatrixXd* a, Eigen::VectorXd* rhs) const;
  // The solve's outcome (d ignored when not positive definite): the line search along d.
  void TakeSolve(bool positive_definite, const Eigen::VectorXd& d);
  // Ends the stage with an error (e.g. the normal equations could not be computed).
  void Fail(const Status& status);
  // The outcome once done() (or the error).
  StatusOr<StageOutcome> Outcome() const;

 private:
  enum class Phase { kLinearize, kSolve, kDone };
  void BumpDamping();
  void EndIteration();  // no step accepted after the last damping round
  void Accept();        // the accepted step: convergence tests

  const PhotometricEnergy& energy_;
  int max_iterations_;
  std::vector<int> free_;
  Phase phase_ = Phase::kDone;
  Status status_;
  StageOutcome out_;
  FaceParams current_;
  Eigen::VectorXd x_;
  EnergyValue e_;  // true energy at x_, its visibility the iteration's
  double min_cover_ = 0.0;
  double damping_ = 0.0, best_ = 0.0;
  int stalls_ = 0;
  // The iteration in progress.
  Eigen::MatrixXd h_;
  Eigen::VectorXd g_;
  int round_ = 0;
  std::string why_;
  double predicted_ = 0.0, accepted_fixed_ = 0.0;
  FaceParams candidate_;
  EnergyValue refreshed_;
  Eigen::VectorXd next_;
};

// Solves a x = rhs by Cholesky (Eigen LLT); false when a is not positive definite.
bool CholeskySolve(const Eigen::MatrixXd& a, const Eigen::VectorXd& rhs, Eigen::VectorXd* x);

// The two solvers on the same energy (photometric_gauss_newton.cc, photometric_ceres.cc).
StatusOr<StageOutcome> SolveStageGaussNewton(const PhotometricEnergy& energy,
                                             const FaceParams& start, int max_iterations);
// One stage of B faces (each its own energy, i.e. its own level, and start) in lock-step:
// per round, the normal equations of every face that needs them, then the damped solves of
// every face that needs one, then each face's line search. With use_cuda (options of the
// energies) the normal equations of the round go to the device in one batched call
// (AccumulatePhotometricBatchCuda) and so do the solves (SolveSystemsBatchCuda); otherwise the
// faces run over `pool` with the CPU sums and Eigen's LLT, giving each face exactly what
// SolveStageGaussNewton gives it. A face that converges or diverges drops out; a face's error
// ends only that face. Returns B outcomes.
std::vector<StatusOr<StageOutcome>> SolveStagesGaussNewtonBatch(
    const std::vector<const PhotometricEnergy*>& energies, const std::vector<FaceParams>& starts,
    int max_iterations, bool use_cuda, ThreadPool* pool);
StatusOr<StageOutcome> SolveStageCeres(const PhotometricEnergy& energy, const FaceParams& start,
                                       int max_iterations);

}  // namespace morphfit::fitters

#endif  // MORPHFIT_FITTERS_PHOTOMETRIC_ENERGY_H_
