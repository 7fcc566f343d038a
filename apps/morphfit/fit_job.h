// The per-photo work of `morphfit fit` (and of the demo): landmarks from .pts or detection,
// one fit per face, per-face outputs written atomically, one FaceRecord per face.
#ifndef MORPHFIT_APPS_MORPHFIT_FIT_JOB_H_
#define MORPHFIT_APPS_MORPHFIT_FIT_JOB_H_

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <opencv2/core.hpp>

#include "fit_outputs.h"
#include "morphfit/core/face_params.h"
#include "morphfit/core/status.h"
#include "morphfit/core/thread_pool.h"
#include "morphfit/detect/face_detector.h"
#include "morphfit/fitters/landmark_fit.h"
#include "morphfit/fitters/photometric_fit.h"
#include "morphfit/models/morphable_model.h"

namespace morphfit::app {

enum class LandmarkSource { kPts, kDlib, kAuto };

struct FitJobOptions {
  LandmarkSource landmarks = LandmarkSource::kAuto;
  bool photometric = false;  // run the photometric stage after the landmark fit
  fitters::FitOptions fit;
  fitters::PhotometricFitOptions photometric_fit;  // num_threads 1: photos run in parallel
  std::string mesh_format = "ply";  // ply | obj | none
  bool overlay = true;
  bool sfsnet = false;
  detect::DetectorOptions detector;
  std::string output_dir;
};

// Checks and converts the command's string flags. InvalidArgument naming the flag.
StatusOr<FitJobOptions> ParseFitJobFlags(const std::string& landmarks, const std::string& stages,
                                         const std::string& camera, const std::string& jaw,
                                         const std::string& device, const std::string& mesh_format,
                                         const std::string& photometric_solver = "gauss_newton",
                                         const std::string& landmark_solver = "gn");

// One face's fit, for callers that want the parameters (the demo).
struct FaceFit {
  FaceRecord record;
  FaceParams params;          // valid when record.has_params()
  Eigen::Matrix2Xd landmarks;  // the 2 x 68 landmarks the fit used
};

class FitJob {
 public:
  FitJob(const models::MorphableModel& model, FitJobOptions options);
  ~FitJob();

  // Fits every face of one photo and writes its outputs under options.output_dir/faces.
  // Never fails as a whole: problems become records with status "failed" and the reason (one
  // record with id = source when the photo itself is unusable). Thread-safe; each thread
  // borrows its own face detector (loaded on first use).
  std::vector<FaceFit> FitPhotoDetailed(const InputPhoto& photo);
  // Loads one face detector now (--landmarks dlib), so that a missing shape predictor or
  // cascade stops the command before the first photo instead of failing every photo.
  Status PreloadDetector();
  std::vector<FaceRecord> FitPhoto(const InputPhoto& photo);
  // --batch: the photos' landmark stages in parallel over `pool`, then the photometric stages
  // of all their faces as one fitters::FitPhotometricBatch (num_threads = the pool's; with
  // --device cuda one device call per round for every face), then the outputs in parallel.
  // Needs options.photometric. One record list per photo, as FitPhoto's; a face's time_s
  // includes waiting for the batch.
  std::vector<std::vector<FaceRecord>> FitPhotosBatched(const std::vector<InputPhoto>& photos,
                                                        ThreadPool* pool);

 private:
  // The landmarks of every face in the photo and where they came from.
  struct FaceLandmarks {
    Eigen::Matrix2Xd points;
    std::string detector;
  };
  StatusOr<std::vector<FaceLandmarks>> FindLandmarks(const InputPhoto& photo, const cv::Mat& bgr);
  // One face between its stages: the landmark fit's parameters, the landmarks clamped into the
  // photo, the photometric options with the face's landmark weights.
  struct FaceWork {
    FaceFit out;
    std::string id;
    bool ok = false;  // the landmark stage succeeded (else out.record says why)
    FaceParams params;
    Eigen::Matrix2Xd inside;
    fitters::PhotometricFitOptions photo_options;
    std::chrono::steady_clock::time_point start;
  };
  // The photo as the photometric fitter reads it, or the reason it cannot be read; landmarks.
  struct PhotoWork {
    std::vector<FaceFit> failed;  // one record when the photo itself is unusable
    cv::Mat bgr;
    fitters::PhotometricImage pixels;
    std::vector<FaceLandmarks> faces;
  };
  PhotoWork ReadPhoto(const InputPhoto& photo);
  FaceWork LandmarkStage(const InputPhoto& photo, const cv::Mat& bgr, const FaceLandmarks& face,
                         int k);
  // Takes the photometric stage's result into w (ok false when it failed).
  void TakePhotometric(const StatusOr<fitters::PhotometricFitResult>& fit, FaceWork* w);
  // Writes the outputs; the face's final record.
  FaceFit FinishFace(FaceWork* w, const cv::Mat& bgr, const FaceLandmarks& face);
  // `pixels`: the photo as the photometric fitter reads it (nullptr for landmark-only fits).
  FaceFit FitFace(const InputPhoto& photo, const cv::Mat& bgr,
                  const fitters::PhotometricImage* pixels, const FaceLandmarks& face, int k);
  Status WriteFaceOutputs(const std::string& id, const cv::Mat& bgr, const FaceParams& params,
                          const Eigen::Matrix2Xd& given);

  const models::MorphableModel& model_;
  // The model's landmark and contour rows, gathered once for every face of the run (about
  // 1 ms per fit saved on a BFM-size model with the contour jaw).
  const fitters::LandmarkFitModel landmark_model_;
  FitJobOptions options_;
  std::mutex detectors_mutex_;
  std::vector<std::unique_ptr<detect::FaceDetector>> free_detectors_;
};

// Float RGB (row-major, width * height * 3) -> 8-bit BGR of round(255 * (v * scale + offset)),
// saturating.
cv::Mat FloatRgbToBgr8(const std::vector<float>& rgb, int width, int height, double scale = 1.0,
                       double offset = 0.0);

// The overlay: the rendered face blended over the photo, given landmarks in green and the
// fitted ones (params.landmarks_2d) in red.
StatusOr<cv::Mat> MakeOverlay(const models::MorphableModel& model, const cv::Mat& bgr,
                              const FaceParams& params, const Eigen::Matrix2Xd& given);

}  // namespace morphfit::app

#endif  // MORPHFIT_APPS_MORPHFIT_FIT_JOB_H_
