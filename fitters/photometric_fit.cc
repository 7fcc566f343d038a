// The staged photometric fit (photometric_fit.h): input checks, crop and pyramid, the stage
// schedule on either solver, quality figures in the original image.
#include "morphfit/fitters/photometric_fit.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <sstream>

#include <glog/logging.h>

#include "morphfit/fitters/landmark_fit.h"
#include "morphfit/render/renderer.h"
#include "photometric_device.h"
#include "photometric_energy.h"

namespace morphfit::fitters {
namespace {

constexpr int kMinLevelSize = 16;    // smallest crop side (px) at any level
constexpr int kMinLevelFacePx = 32;  // coarser levels than this face extent are not used

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

Status ValidateImage(const PhotometricImage& image) {
  if (image.width <= 0 || image.height <= 0) {
    return InvalidArgumentError("photometric fit: image: size must be positive, got " +
                                std::to_string(image.width) + " x " + std::to_string(image.height));
  }
  const size_t n = static_cast<size_t>(image.width) * image.height;
  if (image.rgb.size() != 3 * n) {
    return InvalidArgumentError("photometric fit: image: rgb has " +
                                std::to_string(image.rgb.size()) + " values, expected " +
                                std::to_string(3 * n) + " (width x height x 3)");
  }
  for (size_t i = 0; i < image.rgb.size(); ++i) {
    if (!std::isfinite(image.rgb[i])) {
      return InvalidArgumentError(
          "photometric fit: image: pixel (" + std::to_string((i / 3) % image.width) + ", " +
          std::to_string((i / 3) / image.width) + ") has a non-finite value");
    }
  }
  if (!image.weights.empty()) {
    if (image.weights.size() != n) {
      return InvalidArgumentError("photometric fit: image: weights has " +
                                  std::to_string(image.weights.size()) + " values, expected " +
                                  std::to_string(n) + " (width x height) or none");
    }
    bool any = false;
    for (size_t i = 0; i < n; ++i) {
      const float w = image.weights[i];
      if (!std::isfinite(w) || w < 0.0f) {
        return InvalidArgumentError("photometric fit: image: weight of pixel (" +
                                    std::to_string(i % image.width) + ", " +
                                    std::to_string(i / image.width) +
                                    ") must be finite and >= 0, got " + std::to_string(w));
      }
      any = any || w > 0.0f;
    }
    if (!any) return InvalidArgumentError("photometric fit: image: all weights are 0");
  }
  return OkStatus();
}

// Bounding box (original pixels) of the initial face: the face-mask vertices in front of the
// camera (all vertices when the model has no mask).
struct Box {
  double x0 = 1e300, y0 = 1e300, x1 = -1e300, y1 = -1e300;
  bool empty() const { return !(x1 >= x0 && y1 >= y0); }
};

StatusOr<Box> FaceBox(const models::MorphableModel& model, const FaceParams& params) {
  MORPHFIT_ASSIGN_OR_RETURN(render::FaceGeometry<float> g,
                            render::ComputeGeometry<float>(model, params, nullptr));
  Box b;
  for (int v = 0; v < model.num_vertices(); ++v) {
    if (!model.face_mask.empty() && !model.face_mask[v]) continue;
    if (g.perspective && !(g.depths_float[v] > 1.0f)) continue;
    const double u = g.pixels_float[2 * v], w = g.pixels_float[2 * v + 1];
    if (!std::isfinite(u) || !std::isfinite(w)) continue;
    b.x0 = std::min(b.x0, u);
    b.x1 = std::max(b.x1, u);
    b.y0 = std::min(b.y0, w);
    b.y1 = std::max(b.y1, w);
  }
  return b;
}

}  // namespace

const char* PhotometricSolverName(PhotometricSolver solver) {
  return solver == PhotometricSolver::kCeres ? "ceres" : "gauss_newton";
}

StatusOr<PhotometricSolver> ParsePhotometricSolver(const std::string& name) {
  if (name == "ceres") return PhotometricSolver::kCeres;
  if (name == "gauss_newton") return PhotometricSolver::kGaussNewton;
  return InvalidArgumentError("photometric solver: expected \"ceres\" or \"gauss_newton\", got \"" +
                              name + "\"");
}

std::vector<PhotometricStage> DefaultPhotometricStages() {
  PhotometricStage coarse;
  coarse.name = "pose+light";
  coarse.level = 2;
  coarse.max_iterations = 10;
  PhotometricStage middle;
  middle.name = "shape+albedo";
  middle.identity = middle.expression = middle.albedo = true;
  middle.level = 1;
  middle.max_iterations = 10;
  middle.identity_prior_weight = middle.expression_prior_weight = 1e-6;
  middle.albedo_prior_weight = middle.lighting_prior_weight = 1e-6;
  PhotometricStage all;
  all.name = "all";
  all.identity = all.expression = all.albedo = all.focal = true;
  all.level = 0;
  all.max_iterations = 20;
  return {coarse, middle, all};
}

Status PhotometricFitOptions::Validate() const {
  if (stages.empty()) return InvalidArgumentError("photometric fit options: no stages");
  for (const PhotometricStage& s : stages) {
    const std::string where = "photometric fit options: stage \"" + s.name + "\": ";
    if (!s.pose && !s.identity && !s.expression && !s.albedo && !s.lighting && !s.focal) {
      return InvalidArgumentError(where + "frees no parameters");
    }
    if (s.level < 0) return InvalidArgumentError(where + "level must be >= 0");
    if (s.max_iterations <= 0) return InvalidArgumentError(where + "max_iterations must be > 0");
    for (double w : {s.identity_prior_weight, s.expression_prior_weight, s.albedo_prior_weight,
                     s.lighting_prior_weight}) {
      if (!(w >= 0.0) || !std::isfinite(w)) {
        return InvalidArgumentError(where + "prior weights must be finite and >= 0");
      }
    }
  }
  if (loss != render::RobustLoss::kNone && !(loss_scale > 0.0 && std::isfinite(loss_scale))) {
    return InvalidArgumentError("photometric fit options: loss_scale must be > 0");
  }
  if (!(photometric_weight > 0.0) || !std::isfinite(photometric_weight)) {
    return InvalidArgumentError("photometric fit options: photometric_weight must be > 0");
  }
  if (!(landmark_weight >= 0.0) || !std::isfinite(landmark_weight)) {
    return InvalidArgumentError("photometric fit options: landmark_weight must be >= 0");
  }
  if (max_face_px < kMinLevelSize) {
    return InvalidArgumentError("photometric fit options: max_face_px must be >= " +
                                std::to_string(kMinLevelSize));
  }
  if (!(crop_margin >= 0.0) || !std::isfinite(crop_margin)) {
    return InvalidArgumentError("photometric fit options: crop_margin must be >= 0");
  }
  if (!(function_tolerance > 0.0) || !(gradient_tolerance > 0.0) || !(parameter_tolerance > 0.0)) {
    return InvalidArgumentError("photometric fit options: tolerances must be > 0");
  }
  if (use_cuda && solver != PhotometricSolver::kGaussNewton) {
    return InvalidArgumentError(
        "photometric fit options: use_cuda (--device cuda) needs the gauss_newton solver, not " +
        std::string(PhotometricSolverName(solver)));
  }
  if (!(min_coverage_fraction >= 0.0 && min_coverage_fraction <= 1.0)) {
    return InvalidArgumentError("photometric fit options: min_coverage_fraction must be in [0, 1]");
  }
  if (num_threads < 0)
    return InvalidArgumentError("photometric fit options: num_threads must be >= 0");
  if (!landmark_weights.empty()) {
    if (static_cast<int>(landmark_weights.size()) != models::kNumLandmarks) {
      return InvalidArgumentError(
          "photometric fit options: landmark_weights must have 68 entries, got " +
          std::to_string(landmark_weights.size()));
    }
    for (size_t k = 0; k < landmark_weights.size(); ++k) {
      if (!(landmark_weights[k] >= 0.0) || !std::isfinite(landmark_weights[k])) {
        return InvalidArgumentError("photometric fit options: landmark_weights[" +
                                    std::to_string(k) + "] must be finite and >= 0");
      }
    }
  }
  return OkStatus();
}

std::string PhotometricFitSummary::ToString() const {
  std::ostringstream out;
  for (const PhotometricStageSummary& s : stages) {
    out << "stage " << s.name << " (level " << s.level << ", " << s.width << " x " << s.height
        << "): energy " << s.initial_cost << " -> " << s.final_cost << ", " << s.iterations
        << " iterations, " << s.time_s * 1e3 << " ms, " << s.termination << "\n";
  }
  out << "photometric RMSE " << photometric_rmse << ", landmark NME " << landmark_nme << ", "
      << iterations << " iterations, " << total_time_s * 1e3 << " ms, "
      << (converged ? "converged" : "NOT converged");
  if (!message.empty()) out << ": " << message;
  return out.str();
}

namespace {

// One face's staged fit in progress, shared by FitPhotometric (one face) and
// FitPhotometricBatch (faces in lock-step): input checks and crop (Prepare), per stage the
// level, energy and start (BeginStage) and the outcome (EndStage), the quality figures
// (Finish).
class FaceFitRun {
 public:
  // `options` are copied (a batch's faces may differ in landmark weights); the energies borrow
  // the copy, so a run is not moved once prepared.
  FaceFitRun(const models::MorphableModel& model, const render::JacobianModel& jmodel,
             PhotometricFitOptions options)
      : model_(model), jmodel_(jmodel), options_(std::move(options)) {}
  FaceFitRun(const FaceFitRun&) = delete;
  FaceFitRun& operator=(const FaceFitRun&) = delete;

  Status Prepare(const PhotometricImage& image, const Eigen::Matrix2Xd& landmarks_px,
                 const FaceParams& initial);
  // Sets up stage `si`: false when the face stops before it (its face covers no pixel:
  // diverged), an error when that happens at the first stage.
  StatusOr<bool> BeginStage(size_t si, ThreadPool* pool);
  const PhotometricEnergy& energy() const { return *energy_; }
  const FaceParams& stage_start() const { return stage_start_; }
  // Records the stage's outcome; false when the face stops (diverged).
  bool EndStage(const StageOutcome& o);
  StatusOr<PhotometricFitResult> Finish(ThreadPool* pool);

 private:
  const models::MorphableModel& model_;
  const render::JacobianModel& jmodel_;
  const PhotometricFitOptions options_;
  std::chrono::steady_clock::time_point start_time_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point stage_time_;
  const PhotometricImage* image_ = nullptr;
  Eigen::Matrix2Xd landmarks_px_;
  int x0_ = 0, y0_ = 0, crop_w_ = 0, crop_h_ = 0, factor0_ = 1, max_level_ = 0;
  std::map<int, PyramidLevel> levels_;
  std::unique_ptr<PhotometricEnergy> energy_;
  size_t stage_index_ = 0;
  FaceParams stage_start_;
  PhotometricFitResult result_;
  FaceParams params_;
  bool diverged_ = false;
};

Status FaceFitRun::Prepare(const PhotometricImage& image, const Eigen::Matrix2Xd& landmarks_px,
                           const FaceParams& initial) {
  MORPHFIT_RETURN_IF_ERROR(ValidateImage(image));
  if (landmarks_px.cols() > 0) {
    if (model_.num_landmarks() != models::kNumLandmarks) {
      return FailedPreconditionError("photometric fit: model \"" + model_.name + "\" has " +
                                     std::to_string(model_.num_landmarks()) +
                                     " landmarks, expected 68 for the landmark term");
    }
    MORPHFIT_RETURN_IF_ERROR(ValidateLandmarks(landmarks_px, image.width, image.height));
  } else if (landmarks_px.rows() != 2 && landmarks_px.rows() != 0) {
    return InvalidArgumentError("photometric fit: landmarks must be 2 x 68 or empty");
  }
  MORPHFIT_RETURN_IF_ERROR(initial.CheckSizes(model_.num_identity(), model_.num_expression(),
                                              model_.num_albedo(),
                                              "photometric fit: initial parameters"));
  MORPHFIT_RETURN_IF_ERROR(initial.Validate("photometric fit: initial parameters"));
  if (initial.image_width != image.width || initial.image_height != image.height) {
    return InvalidArgumentError("photometric fit: initial parameters are for a " +
                                std::to_string(initial.image_width) + " x " +
                                std::to_string(initial.image_height) + " image, the image is " +
                                std::to_string(image.width) + " x " + std::to_string(image.height));
  }

  // Crop around the initial face and choose the level-0 reduction.
  MORPHFIT_ASSIGN_OR_RETURN(Box box, FaceBox(model_, initial));
  if (box.empty()) {
    return InvalidArgumentError(
        "photometric fit: initial parameters: no face vertex projects in front of the camera");
  }
  // Clamped in double before the integer casts (a face far outside gives huge coordinates).
  auto clamp = [](double v, int hi) { return static_cast<int>(std::clamp(v, 0.0, double(hi))); };
  const double margin = options_.crop_margin * std::max(box.x1 - box.x0, box.y1 - box.y0);
  x0_ = clamp(std::floor(box.x0 - margin), image.width);
  y0_ = clamp(std::floor(box.y0 - margin), image.height);
  const int x1 = clamp(std::ceil(box.x1 + margin) + 1, image.width);
  const int y1 = clamp(std::ceil(box.y1 + margin) + 1, image.height);
  if (x1 - x0_ < kMinLevelSize || y1 - y0_ < kMinLevelSize) {
    return InvalidArgumentError(
        "photometric fit: initial parameters: the face is not inside the image (or smaller "
        "than " +
        std::to_string(kMinLevelSize) + " px)");
  }
  crop_w_ = x1 - x0_;
  crop_h_ = y1 - y0_;
  // The face's extent in the image (a face larger than the image counts as the crop).
  const double extent = std::min(std::max(box.x1 - box.x0, box.y1 - box.y0),
                                 static_cast<double>(std::max(crop_w_, crop_h_)));
  factor0_ = 1;
  while (extent / factor0_ > options_.max_face_px) factor0_ *= 2;
  max_level_ = 0;
  while (std::min(crop_w_, crop_h_) / (factor0_ << (max_level_ + 1)) >= kMinLevelSize &&
         extent / (factor0_ << (max_level_ + 1)) >= kMinLevelFacePx) {
    ++max_level_;
  }
  image_ = &image;
  landmarks_px_ = landmarks_px;
  params_ = initial;
  params_.landmarks_2d.resize(2, 0);
  return OkStatus();
}

StatusOr<bool> FaceFitRun::BeginStage(size_t si, ThreadPool* pool) {
  const PhotometricStage& stage = options_.stages[si];
  stage_index_ = si;
  stage_time_ = std::chrono::steady_clock::now();
  const int l = std::min(stage.level, max_level_);
  if (levels_.count(l) == 0) {
    levels_.emplace(l,
                    MakeLevel(*image_, landmarks_px_, x0_, y0_, crop_w_, crop_h_, factor0_ << l));
  }
  const PyramidLevel& level = levels_.at(l);
  energy_ = std::make_unique<PhotometricEnergy>(model_, jmodel_, level, options_, stage, pool);
  stage_start_ = level.ParamsToLevel(params_);
  MORPHFIT_ASSIGN_OR_RETURN(EnergyValue e0, energy_->Evaluate(stage_start_));
  PhotometricFitSummary& summary = result_.summary;
  PhotometricStageSummary& ss = summary.stages.emplace_back();
  ss.name = stage.name;
  ss.level = l;
  ss.width = level.width;
  ss.height = level.height;
  if (e0.covered == 0) {
    if (si == 0) {
      return InvalidArgumentError(
          "photometric fit: initial parameters: the face covers no pixel with weight > 0");
    }
    diverged_ = true;
    ss.termination = "diverged: the face covers no pixel with weight > 0";
    summary.message = "stage \"" + stage.name + "\": " + ss.termination;
    return false;
  }
  energy_->set_reference_pixels(e0.covered);
  return true;
}

bool FaceFitRun::EndStage(const StageOutcome& o) {
  const PhotometricStage& stage = options_.stages[stage_index_];
  PhotometricFitSummary& summary = result_.summary;
  PhotometricStageSummary& ss = summary.stages.back();
  ss.initial_cost = o.initial_cost;
  ss.final_cost = o.final_cost;
  ss.iterations = o.iterations;
  ss.termination = o.termination;
  ss.converged = o.converged;
  ss.time_s = Seconds(stage_time_);
  summary.iterations += o.iterations;
  params_ = energy_->level().ParamsToOriginal(o.params, image_->width, image_->height);
  VLOG(1) << "photometric fit stage " << ss.name << ": energy " << ss.initial_cost << " -> "
          << ss.final_cost << ", " << ss.iterations << " iterations, " << ss.termination;
  if (o.diverged) {
    diverged_ = true;
    summary.message = "stage \"" + stage.name + "\" " + o.termination +
                      "; the parameters before the failing step are returned";
    return false;
  }
  return true;
}

StatusOr<PhotometricFitResult> FaceFitRun::Finish(ThreadPool* pool) {
  energy_.reset();
  PhotometricFitSummary& summary = result_.summary;
  // Quality in the original image.
  const PhotometricImage& image = *image_;
  const PyramidLevel full =
      MakeLevel(image, Eigen::Matrix2Xd(), 0, 0, image.width, image.height, 1);
  PhotometricStage quality_stage;
  quality_stage.lighting_prior_weight = 0.0;
  PhotometricEnergy quality(model_, jmodel_, full, options_, quality_stage, pool);
  MORPHFIT_ASSIGN_OR_RETURN(EnergyValue fe, quality.Evaluate(params_));
  summary.photometric_rmse =
      fe.weight_sum > 0.0 ? std::sqrt(fe.weighted_sq / (3.0 * fe.weight_sum)) : 0.0;
  if (model_.num_landmarks() > 0) {
    MORPHFIT_ASSIGN_OR_RETURN(render::LandmarkRows lm,
                              render::ComputeLandmarkRows(model_, params_));
    params_.landmarks_2d = lm.uv;
    if (landmarks_px_.cols() > 0) {
      summary.landmark_nme = LandmarkNme(lm.uv, landmarks_px_, options_.landmark_weights);
    }
  }
  const bool last_converged = !summary.stages.empty() && summary.stages.back().converged;
  summary.converged =
      !diverged_ && last_converged && summary.stages.size() == options_.stages.size();
  if (!diverged_ && !last_converged) {
    summary.message =
        "the last stage stopped before convergence (" + summary.stages.back().termination + ")";
  }
  result_.params = params_;
  summary.total_time_s = Seconds(start_time_);
  VLOG(1) << "photometric fit: " << summary.ToString();
  return result_;
}

}  // namespace

StatusOr<PhotometricFitResult> FitPhotometric(const models::MorphableModel& model,
                                              const PhotometricImage& image,
                                              const Eigen::Matrix2Xd& landmarks_px,
                                              const FaceParams& initial,
                                              const PhotometricFitOptions& options) {
  MORPHFIT_RETURN_IF_ERROR(options.Validate());
  if (options.use_cuda) MORPHFIT_RETURN_IF_ERROR(CheckPhotometricCuda());
  const render::JacobianModel jmodel = render::MakeJacobianModel(model);
  FaceFitRun run(model, jmodel, options);
  MORPHFIT_RETURN_IF_ERROR(run.Prepare(image, landmarks_px, initial));
  ThreadPool pool(options.num_threads);
  for (size_t si = 0; si < options.stages.size(); ++si) {
    MORPHFIT_ASSIGN_OR_RETURN(const bool go, run.BeginStage(si, &pool));
    if (!go) break;
    const int max_iterations = options.stages[si].max_iterations;
    MORPHFIT_ASSIGN_OR_RETURN(
        StageOutcome o,
        options.solver == PhotometricSolver::kCeres
            ? SolveStageCeres(run.energy(), run.stage_start(), max_iterations)
            : SolveStageGaussNewton(run.energy(), run.stage_start(), max_iterations));
    if (!run.EndStage(o)) break;
  }
  return run.Finish(&pool);
}

StatusOr<PhotometricBatchResult> FitPhotometricBatch(const models::MorphableModel& model,
                                                     const std::vector<PhotometricFitInput>& faces,
                                                     const PhotometricFitOptions& options) {
  MORPHFIT_RETURN_IF_ERROR(options.Validate());
  if (options.solver != PhotometricSolver::kGaussNewton) {
    return InvalidArgumentError(
        "photometric batch fit: needs the gauss_newton solver (Ceres fits one face at a time), "
        "got " +
        std::string(PhotometricSolverName(options.solver)));
  }
  if (options.use_cuda) MORPHFIT_RETURN_IF_ERROR(CheckPhotometricCuda());
  const int num_faces = static_cast<int>(faces.size());
  const render::JacobianModel jmodel = render::MakeJacobianModel(model);
  ThreadPool pool(options.num_threads);
  PhotometricBatchResult result;
  result.status.assign(num_faces, OkStatus());
  result.fits.resize(num_faces);
  std::vector<std::unique_ptr<FaceFitRun>> runs(num_faces);
  std::vector<char> active(num_faces, 0);
  pool.ParallelFor(0, num_faces, [&](int64_t f) {
    if (faces[f].image == nullptr) {
      result.status[f] = InvalidArgumentError("photometric batch fit: face " + std::to_string(f) +
                                              ": no image");
      return;
    }
    PhotometricFitOptions face_options = options;
    if (!faces[f].landmark_weights.empty()) {
      face_options.landmark_weights = faces[f].landmark_weights;
      result.status[f] = face_options.Validate();
      if (!result.status[f].ok()) return;
    }
    runs[f] = std::make_unique<FaceFitRun>(model, jmodel, std::move(face_options));
    result.status[f] = runs[f]->Prepare(*faces[f].image, faces[f].landmarks_px, faces[f].initial);
    active[f] = result.status[f].ok();
  });
  for (size_t si = 0; si < options.stages.size(); ++si) {
    std::vector<char> go(num_faces, 0);
    pool.ParallelFor(0, num_faces, [&](int64_t f) {
      if (!active[f]) return;
      StatusOr<bool> begun = runs[f]->BeginStage(si, &pool);
      if (!begun.ok()) {
        result.status[f] = begun.status();
        active[f] = 0;
      } else {
        go[f] = begun.value();
      }
    });
    std::vector<int> stage_faces;
    std::vector<const PhotometricEnergy*> energies;
    std::vector<FaceParams> starts;
    for (int f = 0; f < num_faces; ++f) {
      if (!go[f]) continue;
      stage_faces.push_back(f);
      energies.push_back(&runs[f]->energy());
      starts.push_back(runs[f]->stage_start());
    }
    if (stage_faces.empty()) break;
    const std::vector<StatusOr<StageOutcome>> outcomes = SolveStagesGaussNewtonBatch(
        energies, starts, options.stages[si].max_iterations, options.use_cuda, &pool);
    for (size_t k = 0; k < stage_faces.size(); ++k) {
      const int f = stage_faces[k];
      if (!outcomes[k].ok()) {
        result.status[f] = outcomes[k].status();
        active[f] = 0;
      } else if (!runs[f]->EndStage(outcomes[k].value())) {
        active[f] = 0;  // diverged: finished with the last good parameters
      }
    }
    // Faces stopped before the stage (no coverage) are finished, not failed.
    for (int f = 0; f < num_faces; ++f) {
      if (active[f] && !go[f]) active[f] = 0;
    }
  }
  pool.ParallelFor(0, num_faces, [&](int64_t f) {
    if (!result.status[f].ok()) return;
    StatusOr<PhotometricFitResult> fit = runs[f]->Finish(&pool);
    if (fit.ok()) {
      result.fits[f] = std::move(fit).value();
    } else {
      result.status[f] = fit.status();
    }
  });
  return result;
}

}  // namespace morphfit::fitters
