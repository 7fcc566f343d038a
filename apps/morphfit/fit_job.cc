// Per-photo fitting for `morphfit fit` and the demo (fit_job.h).
#include "fit_job.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <utility>

#include <opencv2/imgproc.hpp>

#include "morphfit/core/file_util.h"
#include "morphfit/io/image.h"
#include "morphfit/io/mesh_io.h"
#include "morphfit/io/pts.h"
#include "morphfit/render/renderer.h"

namespace morphfit::app {
namespace {

constexpr int kNumLandmarks = 68;

Status MakeParentDirectories(const std::string& path) {
  const std::string parent = std::filesystem::path(path).parent_path().string();
  return parent.empty() ? OkStatus() : MakeDirectories(parent);
}

FaceRecord FailedRecord(const InputPhoto& photo, const std::string& id, const std::string& detector,
                        const std::string& message) {
  FaceRecord r;
  r.id = id;
  r.source = photo.source;
  r.image = photo.path;
  r.status = "failed";
  r.detector = detector;
  r.landmark_nme = r.photometric_rmse = r.time_s = std::nan("");
  r.message = message;
  return r;
}

}  // namespace

cv::Mat FloatRgbToBgr8(const std::vector<float>& rgb, int width, int height, double scale,
                       double offset) {
  const cv::Mat wrapped(height, width, CV_32FC3, const_cast<float*>(rgb.data()));
  cv::Mat bgr, out;
  cv::cvtColor(wrapped, bgr, cv::COLOR_RGB2BGR);
  bgr.convertTo(out, CV_8UC3, 255.0 * scale, 255.0 * offset);
  return out;
}

StatusOr<FitJobOptions> ParseFitJobFlags(const std::string& landmarks, const std::string& stages,
                                         const std::string& camera, const std::string& jaw,
                                         const std::string& device, const std::string& mesh_format,
                                         const std::string& photometric_solver,
                                         const std::string& landmark_solver) {
  FitJobOptions o;
  if (landmarks == "pts") {
    o.landmarks = LandmarkSource::kPts;
  } else if (landmarks == "dlib") {
    o.landmarks = LandmarkSource::kDlib;
  } else if (landmarks == "auto") {
    o.landmarks = LandmarkSource::kAuto;
  } else {
    return InvalidArgumentError("--landmarks must be pts, dlib or auto, got '" + landmarks + "'");
  }
  if (stages == "landmarks") {
    o.photometric = false;
  } else if (stages == "photometric") {
    o.photometric = true;
  } else {
    return InvalidArgumentError("--stages must be landmarks or photometric, got '" + stages + "'");
  }
  auto cam = ParseCameraType(camera);
  if (!cam.ok()) return InvalidArgumentError("--camera: " + cam.status().message());
  o.fit.camera_type = *cam;
  auto jaw_mode = fitters::ParseJawMode(jaw);
  if (!jaw_mode.ok()) return InvalidArgumentError("--jaw: " + jaw_mode.status().message());
  o.fit.jaw_mode = *jaw_mode;
  auto solver = fitters::ParsePhotometricSolver(photometric_solver);
  if (!solver.ok()) return InvalidArgumentError("--photometric_solver: " + solver.status().message());
  o.photometric_fit.solver = *solver;
  auto lm_solver = fitters::ParseLandmarkSolver(landmark_solver);
  if (!lm_solver.ok()) return InvalidArgumentError("--landmark_solver: " + lm_solver.status().message());
  o.fit.solver = *lm_solver;
  o.photometric_fit.num_threads = 1;
  if (device == "cuda") {
    // The photometric stage's own Gauss-Newton runs its normal equations on the GPU; the
    // landmark stage stays on the CPU. Refused up front (before any photo) where it cannot run.
    if (!o.photometric) {
      return InvalidArgumentError(
          "--device cuda applies to the photometric stage (its own Gauss-Newton); with "
          "--stages landmarks there is nothing to run on the GPU: use --device cpu");
    }
    if (o.photometric_fit.solver != fitters::PhotometricSolver::kGaussNewton) {
      return InvalidArgumentError(
          "--device cuda needs --photometric_solver gauss_newton (Ceres runs on the CPU only)");
    }
    std::string reason;
    if (!fitters::PhotometricCudaAvailable(&reason)) {
      return FailedPreconditionError("--device cuda: " + reason + "; use --device cpu");
    }
    o.photometric_fit.use_cuda = true;
  } else if (device != "cpu") {
    return InvalidArgumentError("--device must be cpu or cuda, got '" + device + "'");
  }
  if (mesh_format != "ply" && mesh_format != "obj" && mesh_format != "none") {
    return InvalidArgumentError("--mesh_format must be ply, obj or none, got '" + mesh_format + "'");
  }
  o.mesh_format = mesh_format;
  return o;
}

FitJob::FitJob(const models::MorphableModel& model, FitJobOptions options)
    : model_(model), landmark_model_(model), options_(std::move(options)) {}
FitJob::~FitJob() = default;

StatusOr<std::vector<FitJob::FaceLandmarks>> FitJob::FindLandmarks(const InputPhoto& photo,
                                                                   const cv::Mat& bgr) {
  std::vector<FaceLandmarks> faces;
  if (options_.landmarks != LandmarkSource::kDlib) {
    const std::string stem = StripExtension(photo.path);
    std::vector<std::string> files;
    if (FileExists(stem + ".pts")) {
      files.push_back(stem + ".pts");
    } else {
      for (int k = 0; FileExists(stem + "_f" + std::to_string(k) + ".pts"); ++k) {
        files.push_back(stem + "_f" + std::to_string(k) + ".pts");
      }
    }
    for (const std::string& f : files) {
      MORPHFIT_ASSIGN_OR_RETURN(Eigen::Matrix2Xd points, io::ReadPts(f, kNumLandmarks));
      faces.push_back({std::move(points), "pts"});
    }
    if (!faces.empty() || options_.landmarks == LandmarkSource::kPts) {
      if (faces.empty()) {
        return NotFoundError("no landmarks: neither " + stem + ".pts nor " + stem +
                             "_f0.pts exists (use --landmarks dlib or auto to detect faces)");
      }
      return faces;
    }
  }
  std::unique_ptr<detect::FaceDetector> detector;
  {
    std::lock_guard<std::mutex> lock(detectors_mutex_);
    if (!free_detectors_.empty()) {
      detector = std::move(free_detectors_.back());
      free_detectors_.pop_back();
    }
  }
  if (!detector) {
    MORPHFIT_ASSIGN_OR_RETURN(detect::FaceDetector d, detect::FaceDetector::Create(options_.detector));
    detector = std::make_unique<detect::FaceDetector>(std::move(d));
  }
  auto detected = detector->Detect(bgr);
  {
    std::lock_guard<std::mutex> lock(detectors_mutex_);
    free_detectors_.push_back(std::move(detector));
  }
  if (!detected.ok()) return detected.status();
  if (detected->empty()) {
    return NotFoundError("no face found (dlib HOG at 1x/2x, OpenCV frontal and profile cascades)");
  }
  for (detect::DetectedFace& f : *detected) {
    faces.push_back({std::move(f.landmarks), detect::DetectorKindName(f.detector)});
  }
  return faces;
}

FitJob::FaceWork FitJob::LandmarkStage(const InputPhoto& photo, const cv::Mat& bgr,
                                       const FaceLandmarks& face, int k) {
  FaceWork w;
  w.start = std::chrono::steady_clock::now();
  FaceFit& out = w.out;
  w.id = photo.source + "_f" + std::to_string(k);
  const std::string& id = w.id;
  out.landmarks = face.points;
  out.record = FailedRecord(photo, id, face.detector, "");
  // The landmarks the fit is given come first: eval --eval_landmarks input scores them even
  // when the fit fails.
  const std::string given_path = FacePath(options_.output_dir, id, ".landmarks.pts");
  if (Status s = MakeParentDirectories(given_path); !s.ok()) {
    out.record.message = "writing outputs: " + s.message();
    return w;
  }
  if (Status s = io::WritePts(given_path, face.points); !s.ok()) {
    out.record.message = "writing outputs: " + s.message();
    return w;
  }
  const int width = bgr.cols, height = bgr.rows;
  // Points outside the photo (cropped faces; the predictor extrapolates too) are clamped into
  // it and get weight 0: they do not pull the fit.
  fitters::FitOptions fit = options_.fit;
  fit.landmark_weights.assign(kNumLandmarks, 1.0);
  Eigen::Matrix2Xd& inside = w.inside;
  inside = face.points;
  int outside = 0;
  for (int i = 0; i < kNumLandmarks; ++i) {
    const double u = inside(0, i), v = inside(1, i);
    if (std::isfinite(u) && std::isfinite(v) &&
        (u < -0.5 || v < -0.5 || u > width - 0.5 || v > height - 0.5)) {
      inside(0, i) = std::clamp(u, -0.5, width - 0.5);
      inside(1, i) = std::clamp(v, -0.5, height - 0.5);
      fit.landmark_weights[i] = 0.0;
      ++outside;
    }
  }
  if (outside > kNumLandmarks / 2) {
    out.record.message = std::to_string(outside) + " of the 68 landmarks lie outside the " +
                         std::to_string(width) + " x " + std::to_string(height) + " photo";
    return w;
  }
  auto fitted = fitters::FitLandmarks(landmark_model_, inside, width, height, fit);
  if (!fitted.ok()) {
    out.record.message = fitted.status().message();
    return w;
  }
  w.params = std::move(fitted->params);
  w.params.image = photo.path;
  w.params.model = model_.name;
  int iterations = 0;
  for (const fitters::StageSummary& s : fitted->summary.stages) iterations += s.iterations;
  FaceRecord& r = out.record;
  r.landmark_nme = fitted->summary.landmark_nme;
  r.iterations = iterations;
  r.status = fitted->summary.converged ? "ok" : "not_converged";
  r.message = fitted->summary.converged ? "" : fitted->summary.message;
  if (outside > 0) {
    r.message += std::string(r.message.empty() ? "" : "; ") + std::to_string(outside) +
                 " landmarks outside the photo ignored";
  }
  // The photometric stage (when asked for) keeps a landmark term; clamped points sit on the
  // photo's border. Its landmark term uses the model's fixed landmark vertices: points outside
  // the photo keep weight 0, and in contour mode the 17 jaw points (silhouette labels) get 0.1.
  w.photo_options = options_.photometric_fit;
  w.photo_options.landmark_weights = fit.landmark_weights;
  if (fit.jaw_mode == fitters::JawMode::kContour) {
    for (int i = 0; i < 17; ++i) w.photo_options.landmark_weights[i] *= 0.1;
  }
  w.ok = true;
  return w;
}

void FitJob::TakePhotometric(const StatusOr<fitters::PhotometricFitResult>& photo_fit,
                             FaceWork* w) {
  FaceRecord& r = w->out.record;
  if (!photo_fit.ok()) {
    r.status = "failed";
    r.message = "photometric stage: " + photo_fit.status().message();
    w->ok = false;
    return;
  }
  const std::string image = w->params.image, model_name = w->params.model;
  w->params = photo_fit->params;
  w->params.image = image;
  w->params.model = model_name;
  const fitters::PhotometricFitSummary& ps = photo_fit->summary;
  r.photometric_rmse = ps.photometric_rmse;
  r.landmark_nme = ps.landmark_nme;
  r.iterations += ps.iterations;
  r.status = ps.converged && r.status == "ok" ? "ok" : "not_converged";
  if (!ps.converged) {
    r.message += std::string(r.message.empty() ? "" : "; ") + "photometric: " + ps.message;
  }
}

FaceFit FitJob::FinishFace(FaceWork* w, const cv::Mat& bgr, const FaceLandmarks& face) {
  FaceRecord& r = w->out.record;
  if (!w->ok) return std::move(w->out);
  r.time_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - w->start).count();
  if (Status s = WriteFaceOutputs(w->id, bgr, w->params, face.points); !s.ok()) {
    r.status = "failed";
    r.message = "writing outputs: " + s.message();
    return std::move(w->out);
  }
  w->out.params = std::move(w->params);
  return std::move(w->out);
}

FaceFit FitJob::FitFace(const InputPhoto& photo, const cv::Mat& bgr,
                        const fitters::PhotometricImage* pixels, const FaceLandmarks& face, int k) {
  FaceWork w = LandmarkStage(photo, bgr, face, k);
  if (w.ok && pixels != nullptr) {
    TakePhotometric(fitters::FitPhotometric(model_, *pixels, w.inside, w.params, w.photo_options),
                    &w);
  }
  return FinishFace(&w, bgr, face);
}

Status FitJob::WriteFaceOutputs(const std::string& id, const cv::Mat& bgr, const FaceParams& params,
                                const Eigen::Matrix2Xd& given) {
  const std::string& dir = options_.output_dir;
  const std::string json = FacePath(dir, id, ".json");
  MORPHFIT_RETURN_IF_ERROR(MakeParentDirectories(json));
  // The parameters last: their presence marks a face as written (outputs are each atomic).
  if (options_.mesh_format != "none") {
    Eigen::VectorXf vertices, colors;
    model_.EvaluateShape(params.identity.cast<float>(), params.expression.cast<float>(), &vertices);
    const bool has_colour = model_.albedo_mean.size() > 0;
    if (has_colour) model_.EvaluateAlbedo(params.albedo.cast<float>(), &colors);
    const std::string mesh = FacePath(dir, id, "." + options_.mesh_format);
    const Eigen::VectorXf* c = has_colour ? &colors : nullptr;
    MORPHFIT_RETURN_IF_ERROR(options_.mesh_format == "ply"
                                 ? io::WritePly(mesh, vertices, model_.triangles, c)
                                 : io::WriteObj(mesh, vertices, model_.triangles, c));
  }
  if (options_.overlay) {
    MORPHFIT_ASSIGN_OR_RETURN(cv::Mat overlay, MakeOverlay(model_, bgr, params, given));
    MORPHFIT_RETURN_IF_ERROR(io::WriteImage(FacePath(dir, id, ".overlay.png"), overlay));
  }
  if (options_.sfsnet) {
    MORPHFIT_ASSIGN_OR_RETURN(render::RenderResult r,
                              render::Render(model_, params, render::RenderOptions(), nullptr));
    MORPHFIT_RETURN_IF_ERROR(
        io::WriteImage(FacePath(dir, id, ".albedo.png"), FloatRgbToBgr8(r.albedo, r.width, r.height)));
    MORPHFIT_RETURN_IF_ERROR(
        io::WriteImage(FacePath(dir, id, ".shading.png"), FloatRgbToBgr8(r.shading, r.width, r.height)));
    std::vector<float> normals = r.normals;  // (n + 1) / 2 on the face, black elsewhere
    for (size_t i = 0; i < r.mask.size(); ++i) {
      if (!r.mask[i]) std::fill(normals.begin() + 3 * i, normals.begin() + 3 * i + 3, -1.0f);
    }
    MORPHFIT_RETURN_IF_ERROR(io::WriteImage(FacePath(dir, id, ".normals.png"),
                                            FloatRgbToBgr8(normals, r.width, r.height, 0.5, 0.5)));
    cv::Mat mask(r.height, r.width, CV_8UC1);
    for (size_t i = 0; i < r.mask.size(); ++i) mask.data[i] = r.mask[i] ? 255 : 0;
    MORPHFIT_RETURN_IF_ERROR(io::WriteImage(FacePath(dir, id, ".mask.png"), mask));
  }
  return WriteFaceParamsJson(json, params);
}

Status FitJob::PreloadDetector() {
  MORPHFIT_ASSIGN_OR_RETURN(detect::FaceDetector d, detect::FaceDetector::Create(options_.detector));
  std::lock_guard<std::mutex> lock(detectors_mutex_);
  free_detectors_.push_back(std::make_unique<detect::FaceDetector>(std::move(d)));
  return OkStatus();
}

FitJob::PhotoWork FitJob::ReadPhoto(const InputPhoto& photo) {
  PhotoWork p;
  auto image = io::ReadImage(photo.path);
  if (!image.ok()) {
    p.failed.push_back({FailedRecord(photo, photo.source, "", image.status().message()), {}, {}});
    return p;
  }
  p.bgr = std::move(image).value();
  auto faces = FindLandmarks(photo, p.bgr);
  if (!faces.ok()) {
    p.failed.push_back({FailedRecord(photo, photo.source,
                                     options_.landmarks == LandmarkSource::kPts ? "pts" : "",
                                     faces.status().message()),
                        {}, {}});
    return p;
  }
  p.faces = std::move(faces).value();
  if (options_.photometric) {
    cv::Mat rgb;
    cv::cvtColor(p.bgr, rgb, cv::COLOR_BGR2RGB);
    rgb.convertTo(rgb, CV_32FC3, 1.0 / 255.0);
    p.pixels.width = rgb.cols;
    p.pixels.height = rgb.rows;
    p.pixels.rgb.assign(rgb.ptr<float>(), rgb.ptr<float>() + rgb.total() * 3);
  }
  return p;
}

std::vector<FaceFit> FitJob::FitPhotoDetailed(const InputPhoto& photo) {
  PhotoWork p = ReadPhoto(photo);
  if (!p.failed.empty()) return std::move(p.failed);
  std::vector<FaceFit> fits;
  for (size_t k = 0; k < p.faces.size(); ++k) {
    fits.push_back(FitFace(photo, p.bgr, options_.photometric ? &p.pixels : nullptr, p.faces[k],
                           static_cast<int>(k)));
  }
  return fits;
}

std::vector<std::vector<FaceRecord>> FitJob::FitPhotosBatched(
    const std::vector<InputPhoto>& photos, ThreadPool* pool) {
  const int num_photos = static_cast<int>(photos.size());
  std::vector<PhotoWork> work(num_photos);
  std::vector<std::vector<FaceWork>> faces(num_photos);
  pool->ParallelFor(0, num_photos, [&](int64_t i) {
    work[i] = ReadPhoto(photos[i]);
    for (size_t k = 0; k < work[i].faces.size(); ++k) {
      faces[i].push_back(LandmarkStage(photos[i], work[i].bgr, work[i].faces[k],
                                       static_cast<int>(k)));
    }
  });
  // Every face whose landmark stage succeeded, in one photometric batch.
  std::vector<fitters::PhotometricFitInput> inputs;
  std::vector<std::pair<int, int>> where;  // input -> (photo, face)
  for (int i = 0; i < num_photos; ++i) {
    for (size_t k = 0; k < faces[i].size(); ++k) {
      const FaceWork& w = faces[i][k];
      if (!w.ok) continue;
      inputs.push_back({&work[i].pixels, w.inside, w.params, w.photo_options.landmark_weights});
      where.emplace_back(i, static_cast<int>(k));
    }
  }
  fitters::PhotometricFitOptions batch_options = options_.photometric_fit;
  batch_options.num_threads = pool->num_threads();
  const StatusOr<fitters::PhotometricBatchResult> batch =
      inputs.empty() ? StatusOr<fitters::PhotometricBatchResult>(fitters::PhotometricBatchResult{})
                     : fitters::FitPhotometricBatch(model_, inputs, batch_options);
  pool->ParallelFor(0, static_cast<int64_t>(where.size()), [&](int64_t n) {
    FaceWork& w = faces[where[n].first][where[n].second];
    if (!batch.ok()) {
      TakePhotometric(batch.status(), &w);
    } else if (!batch->status[n].ok()) {
      TakePhotometric(batch->status[n], &w);
    } else {
      TakePhotometric(batch->fits[n], &w);
    }
  });
  std::vector<std::vector<FaceRecord>> records(num_photos);
  pool->ParallelFor(0, num_photos, [&](int64_t i) {
    for (const FaceFit& f : work[i].failed) records[i].push_back(f.record);
    for (size_t k = 0; k < faces[i].size(); ++k) {
      records[i].push_back(FinishFace(&faces[i][k], work[i].bgr, work[i].faces[k]).record);
    }
  });
  return records;
}


std::vector<FaceRecord> FitJob::FitPhoto(const InputPhoto& photo) {
  std::vector<FaceRecord> records;
  for (FaceFit& f : FitPhotoDetailed(photo)) records.push_back(std::move(f.record));
  return records;
}

StatusOr<cv::Mat> MakeOverlay(const models::MorphableModel& model, const cv::Mat& bgr,
                              const FaceParams& params, const Eigen::Matrix2Xd& given) {
  render::RenderOptions options;
  MORPHFIT_ASSIGN_OR_RETURN(render::RenderResult r, render::Render(model, params, options, nullptr));
  if (r.width != bgr.cols || r.height != bgr.rows) {
    return InternalError("overlay: the fit's image size " + std::to_string(r.width) + " x " +
                         std::to_string(r.height) + " differs from the photo's");
  }
  const cv::Mat rendered = FloatRgbToBgr8(r.image, r.width, r.height);
  cv::Mat out = bgr.clone();
  for (int y = 0; y < out.rows; ++y) {
    for (int x = 0; x < out.cols; ++x) {
      if (!r.mask[static_cast<size_t>(y) * out.cols + x]) continue;
      cv::Vec3b& o = out.at<cv::Vec3b>(y, x);
      const cv::Vec3b& f = rendered.at<cv::Vec3b>(y, x);
      for (int c = 0; c < 3; ++c) o[c] = static_cast<uint8_t>(0.35 * o[c] + 0.65 * f[c] + 0.5);
    }
  }
  const int radius = std::max(1, std::max(out.cols, out.rows) / 250);
  for (Eigen::Index k = 0; k < given.cols(); ++k) {
    cv::circle(out, cv::Point2d(given(0, k), given(1, k)), radius, cv::Scalar(0, 255, 0), -1,
               cv::LINE_AA);
  }
  for (Eigen::Index k = 0; k < params.landmarks_2d.cols(); ++k) {
    cv::circle(out, cv::Point2d(params.landmarks_2d(0, k), params.landmarks_2d(1, k)), radius,
               cv::Scalar(0, 0, 255), -1, cv::LINE_AA);
  }
  return out;
}

}  // namespace morphfit::app
