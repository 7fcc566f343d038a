// Photometric fitting (DESIGN.md "Fitting", the analysis-by-synthesis stage after the landmark
// fit): from an image, its 68 landmarks and a starting FaceParams (e.g. FitLandmarks') to
// pose, identity, expression, albedo and lighting, by minimising one energy with either of two
// solvers: Ceres (Levenberg-Marquardt on the explicit pixel rows, the reference) or the own
// Gauss-Newton (fused JᵀJ / Jᵀr on the CPU or a CUDA device, Cholesky, backtracking line
// search, the fast path).
//
// The energy, at the working resolution of a pyramid level (see below):
//
//   E = λ_photo / N · Σ_p w_p ρ(|c_p(θ) - I_p|)                         photometric
//     + λ_lm / (2 L) · Σ_k w_k |uv_k(θ) - x_k|² / d²                    landmarks
//     + ½ λ_id |α|² + ½ λ_exp |β|² + ½ λ_alb |γ|² + ½ λ_light |P l|²    priors
//
//  - c_p: the rendered RGB colour of pixel p (render/renderer.h, values ~[0, 1]), I_p the image,
//    w_p the per-pixel weight (PhotometricImage::weights, e.g. a skin mask; 1 when empty), ρ the
//    robust loss of the pixel's residual norm in colour units (Huber: |r|²/2 below the scale,
//    linear above; Cauchy), summed over the pixels the face covers at θ (the visibility buffer
//    is recomputed at every evaluated θ, so E is the true, piecewise-smooth energy; pixels the
//    face does not cover contribute nothing). N: the number of covered pixels with w_p > 0 at the
//    start of the stage (a constant within a stage), so the term is a mean over the face
//    and does not grow 4x per finer level.
//  - Landmarks (when given): uv_k the model's projected landmark k, x_k the target, both in the
//    level's pixels, w_k per-landmark weights (default 1), L = 68, d the target
//    outer-eye-corner distance (36-45) in the same pixels:
//    the residual is in NME units, resolution-independent. 1% NME costs λ_lm · 5e-5 per point.
//  - Priors: α, β, γ in sigma units (face_params.h), Gaussian; blendshape expressions are
//    bounded to [0, 1] instead (projected in Gauss-Newton, Ceres bounds). P l: the lighting minus
//    its mean over the three channels, band by band (a prior towards white light, as
//    Deep3DFaceRecon's "gamma" regulariser: Deng et al. 2019).
//  Relative weighting: with ρ quadratic, the photometric term is λ_photo/2 x the mean squared
//  colour error per pixel (summed over RGB): an RMSE of 0.02 per channel costs 6e-4 λ_photo.
//  The prior weights are per sigma²: the MAP weight for colour noise σ_c per channel over N
//  pixels is λ_photo σ_c² / N, ~1e-8 for σ_c = 0.02 and a 20k-pixel face. The default 1e-7
//  (σ_c ~ 0.06, allowing for model mismatch on photos; 1e-6 at the coarser shape stage)
//  still recovers a synthetic face to 0.16 mm (tests/fitters/photometric_fit_slow_test.cc).
//  The landmark weight 1 makes a 3% NME (4.5e-4) cost as much as a colour RMSE of 0.017.
//
// Coarse-to-fine: the image is cropped to the face (the initial parameters' projected vertices
// plus a margin) and box-filtered by powers of two. Level 0 is the finest working level: the
// smallest power-of-two reduction that leaves the face at most `max_face_px` across; level l is
// 2^l coarser again. The camera follows each level with the pixel-centre convention: a
// reduction by k maps u -> (u - x0 + 0.5) / k - 0.5 (x0: crop origin), i.e. the pinhole focal
// divides by k and the principal point maps like a pixel; the weak-perspective scale divides by
// k and its offset maps like a pixel. Results are mapped back to the original image.
#ifndef MORPHFIT_FITTERS_PHOTOMETRIC_FIT_H_
#define MORPHFIT_FITTERS_PHOTOMETRIC_FIT_H_

#include <string>
#include <vector>

#include <Eigen/Core>

#include "morphfit/core/face_params.h"
#include "morphfit/core/status.h"
#include "morphfit/models/morphable_model.h"
#include "morphfit/render/jacobian.h"

namespace morphfit::fitters {

enum class PhotometricSolver { kCeres, kGaussNewton };
const char* PhotometricSolverName(PhotometricSolver solver);  // "ceres" | "gauss_newton"
StatusOr<PhotometricSolver> ParsePhotometricSolver(const std::string& name);

// The image the fit sees, in the original pixel coordinates.
struct PhotometricImage {
  int width = 0, height = 0;
  std::vector<float> rgb;      // width * height * 3, row-major, values in [0, 1]
  std::vector<float> weights;  // empty = all 1; else width * height weights >= 0 (mask)
};

// One stage of the schedule: which blocks are free, at which pyramid level, for how many
// iterations, with which prior weights (per sigma², file comment).
struct PhotometricStage {
  std::string name;
  bool pose = true;  // rotation + translation (weak perspective: rotation + camera)
  bool identity = false;
  bool expression = false;
  bool albedo = false;
  bool lighting = true;
  bool focal = false;       // pinhole focal length (the principal point is never estimated)
  int level = 0;            // pyramid level (0 = finest working level)
  int max_iterations = 10;  // solver iterations (GN: accepted steps; Ceres: LM iterations)
  double identity_prior_weight = 1e-7;
  double expression_prior_weight = 1e-7;  // ignored for blendshape models (bounded instead)
  double albedo_prior_weight = 1e-7;
  double lighting_prior_weight = 1e-7;
};

// "pose+light" at level 2 (10 iterations) -> "shape+albedo" (everything but the focal length,
// priors 1e-6) at level 1 (10) -> "all" at level 0 (20; priors 1e-7; every block free, the
// pinhole focal length included, starting from the landmark fit's).
std::vector<PhotometricStage> DefaultPhotometricStages();

struct PhotometricFitOptions {
  PhotometricSolver solver = PhotometricSolver::kGaussNewton;
  // The own Gauss-Newton with its fused normal equations (JᵀJ / Jᵀr, the dominant cost) on a
  // CUDA device (cuda/render_jacobian.h); the visibility, the energy evaluations of the line
  // search, the landmark and prior terms and the Cholesky solve (P ~ 260: < 1 ms with Eigen)
  // stay on the host. Needs the gauss_newton solver (InvalidArgument otherwise), a build with
  // CUDA and a usable device: else FitPhotometric gives FailedPrecondition saying which is
  // missing (PhotometricCudaAvailable); never a silent CPU fallback.
  bool use_cuda = false;
  // Robust loss on the pixel's RGB residual norm, scale in colour units. Huber bounds an
  // outlier's influence; against occluders (hands, hair, glasses) a redescending Cauchy at a
  // few times the noise level (e.g. 0.02) is needed: with 20% of the face occluded, Cauchy
  // recovers the shape to 0.23 mm where Huber ends ~20 mm off (photometric_fit_slow_test.cc).
  render::RobustLoss loss = render::RobustLoss::kHuber;
  double loss_scale = 0.1;
  double photometric_weight = 1.0;  // λ_photo
  double landmark_weight = 1.0;     // λ_lm (ignored without landmarks)
  // Per-landmark weights w_k (68, >= 0) multiplying landmark k's term, or empty for all 1.
  // The term uses the model's fixed landmark vertices: for 300-W-style jaw labels on a turned
  // face (silhouette points) give the 17 jaw landmarks a low weight.
  std::vector<double> landmark_weights;
  std::vector<PhotometricStage> stages = DefaultPhotometricStages();
  // Largest extent (px, the larger of width and height of the face's projected bounding box)
  // at pyramid level 0; the crop margin around that box, as a fraction of its size.
  int max_face_px = 224;
  double crop_margin = 0.15;
  // Convergence (per stage): the relative energy decrease of an accepted step below
  // function_tolerance, the max-norm of the gradient below gradient_tolerance, or the step's
  // norm below parameter_tolerance x (|θ| + parameter_tolerance); Gauss-Newton also stops when
  // an accepted step does not lower the best energy by function_tolerance (visibility changes
  // at occlusion edges can make the iterates cycle) and returns the best point. The
  // float32 fused sums resolve the energy to ~1e-6 relative, hence 1e-5.
  double function_tolerance = 1e-5;
  double gradient_tolerance = 1e-10;
  double parameter_tolerance = 1e-8;
  // A step whose visibility covers fewer than this fraction of the level's N face pixels is
  // rejected (the energy ignores uncovered pixels, so shrinking the face away would otherwise
  // lower it); a fit that cannot continue without such steps stops as diverged.
  double min_coverage_fraction = 0.5;
  int num_threads = 1;  // CPU threads (render, Jacobians, JᵀJ); 0 = all cores
  render::RenderOptions render_options;

  // Checks every field (stages non-empty and freeing something, levels >= 0, iterations,
  // weights and tolerances in range).
  Status Validate() const;
};

struct PhotometricStageSummary {
  std::string name;
  int level = 0;
  int width = 0, height = 0;  // the level's image size
  double initial_cost = 0.0;  // energy at the start / end of the stage (file comment)
  double final_cost = 0.0;
  int iterations = 0;
  double time_s = 0.0;
  std::string termination;  // why the stage ended
  bool converged = false;   // ended by a convergence test
};

struct PhotometricFitSummary {
  std::vector<PhotometricStageSummary> stages;
  // At the final parameters, in the original image: sqrt(Σ w_p |r_p|² / (3 Σ w_p)) over the
  // covered pixels with w_p > 0 (RGB, [0, 1] units), and the landmark NME (LandmarkNme; 0
  // without landmarks).
  double photometric_rmse = 0.0;
  double landmark_nme = 0.0;
  int iterations = 0;  // summed over stages
  double total_time_s = 0.0;
  // Every stage ran without diverging and the last one ended by a convergence test.
  bool converged = false;
  std::string message;  // why not converged (or empty)

  std::string ToString() const;  // one line per stage, then the quality figures
};

struct PhotometricFitResult {
  FaceParams params;  // in the original image's pixels
  PhotometricFitSummary summary;
};

// Whether PhotometricFitOptions::use_cuda can run here: true, or false with the reason ("...
// built without CUDA ...", "no CUDA device present", or "no usable CUDA device" and the CUDA
// runtime's message).
bool PhotometricCudaAvailable(std::string* reason);

// Fits `model` to `image`. landmarks_px: 2 x 68 (iBUG order, 0-based pixels of the image) or
// empty (no landmark term). `initial` must have the model's block sizes and the image's size.
// Errors (InvalidArgument, naming the argument): an empty image or rgb / weights of the wrong
// size, non-finite or negative values, landmarks that fail ValidateLandmarks, non-finite or
// wrongly sized initial parameters, invalid options, or initial parameters whose face covers no
// weighted pixel; FailedPrecondition for use_cuda where CUDA cannot run. A fit that diverges
// is not an error: the last good parameters come back with summary.converged false and the
// reason in the message.
StatusOr<PhotometricFitResult> FitPhotometric(const models::MorphableModel& model,
                                              const PhotometricImage& image,
                                              const Eigen::Matrix2Xd& landmarks_px,
                                              const FaceParams& initial,
                                              const PhotometricFitOptions& options);

// One face of a batch: its image (borrowed, must outlive the call), landmarks (2 x 68 or empty)
// and starting parameters, as FitPhotometric takes them; landmark_weights, when not empty,
// replace the options' for this face (e.g. 0 for points outside the photo).
struct PhotometricFitInput {
  const PhotometricImage* image = nullptr;
  Eigen::Matrix2Xd landmarks_px;
  FaceParams initial;
  std::vector<double> landmark_weights;
};

// Per face: OK and its fit, or the face's error (the fit is then empty).
struct PhotometricBatchResult {
  std::vector<Status> status;
  std::vector<PhotometricFitResult> fits;
};

// FitPhotometric for B faces of one model at once: the stages run in lock-step over the faces,
// and within a stage the own Gauss-Newton's rounds too (SolveStagesGaussNewtonBatch in
// fitters/photometric_energy.h): each face keeps its own pyramid, damping, line search and
// convergence; a face that converges or diverges drops out of the stage; one face's error
// (bad input, a failed evaluation) ends only that face, as status[b]. With use_cuda the
// normal equations of all faces still iterating go to the device in one call per round
// (cuda::AccumulateNormalEquationsBatchCuda) and their damped systems in one more
// (cuda::CholeskySolveBatchCuda); on the CPU the faces run over num_threads threads (the
// rendering and sums of one face on one thread), each face's result exactly FitPhotometric's.
// Errors for the whole call: invalid options, a solver other than gauss_newton
// (InvalidArgument), use_cuda where CUDA cannot run (FailedPrecondition). Per face the same
// checks as FitPhotometric (and a null image) give that face's status.
StatusOr<PhotometricBatchResult> FitPhotometricBatch(const models::MorphableModel& model,
                                                     const std::vector<PhotometricFitInput>& faces,
                                                     const PhotometricFitOptions& options);

}  // namespace morphfit::fitters

#endif  // MORPHFIT_FITTERS_PHOTOMETRIC_FIT_H_
