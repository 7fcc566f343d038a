// Face detection and 68-point landmarking for photos without `.pts` files: dlib's HOG frontal
// detector (Dalal & Triggs HOG + linear SVM, dlib's get_frontal_face_detector) and dlib's
// 68-point shape predictor (Kazemi & Sullivan 2014 regression trees, trained on iBUG 300-W;
// Debian's libdlib-data ships it at kDefaultShapePredictorPath).
//
// The HOG detector finds faces of about 80 px and up; photos smaller than
// DetectorOptions::upsample_below_px are therefore searched at 2x from the start (as dlib's
// own landmark example does), larger ones at 1x. It misses turned, small and cropped faces, so
// when it finds nothing in a photo the detector retries, in order, until some step finds one:
//   1. HOG at the other scale (2x after 1x, 1x after 2x), then at 4x for photos under 400 px
//      on the long side;
//   2. OpenCV's Viola-Jones frontal cascade (opencv-data's haarcascade_frontalface_alt2.xml);
//   3. OpenCV's profile cascade (haarcascade_profileface.xml) on the image and on its mirror
//      image (the cascade only knows one side).
// Cascade boxes are mapped to the box the shape predictor was trained on (HOG-style) by a
// fixed affine correction measured on faces both detectors found (face_detector.cc), then the
// predictor places the landmarks. Every face is returned, with the detector that found it.
#ifndef MORPHFIT_DETECT_FACE_DETECTOR_H_
#define MORPHFIT_DETECT_FACE_DETECTOR_H_

#include <memory>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <opencv2/core.hpp>

#include "morphfit/core/status.h"

namespace morphfit::detect {

inline constexpr const char* kDefaultShapePredictorPath =
    "/usr/share/dlib/shape_predictor_68_face_landmarks.dat";
inline constexpr const char* kDefaultCascadeDir = "/usr/share/opencv4/haarcascades";

enum class DetectorKind {
  kDlibHog,            // HOG on the image as given
  kDlibHogUpsampled,   // HOG on the image upsampled 2x or 4x (small photos, or a retry)
  kCascadeFrontal,     // OpenCV frontal cascade
  kCascadeProfile,     // OpenCV profile cascade on the image
  kCascadeProfileMirrored,  // OpenCV profile cascade on the mirrored image
};
// "dlib_hog", "dlib_hog_upsampled", "cv_frontal", "cv_profile", "cv_profile_mirrored".
const char* DetectorKindName(DetectorKind kind);

struct DetectedFace {
  cv::Rect2d box;             // the box given to the shape predictor, pixels of the input image
  DetectorKind detector = DetectorKind::kDlibHog;
  double score = 0.0;         // HOG: SVM margin; cascades: number of neighbouring detections
  Eigen::Matrix2Xd landmarks;  // 2 x 68, 0-based pixels, iBUG order
};

struct DetectorOptions {
  std::string shape_predictor_path = kDefaultShapePredictorPath;
  // Folder with haarcascade_frontalface_alt2.xml and haarcascade_profileface.xml; empty turns
  // the cascade fallbacks off.
  std::string cascade_dir = kDefaultCascadeDir;
  // Photos whose long side is below this (px) are searched at 2x from the start; 0 = never.
  int upsample_below_px = 1000;
  bool upsample_retry = true;    // step 1 of the retries
  double hog_threshold = 0.0;    // added to the HOG detector's threshold (dlib's adjust_threshold)
  // Cascade detections smaller than this (pixels, box side) are ignored.
  int min_cascade_face_px = 40;

  Status Validate() const;
};

// One detector + predictor. Detect() is not thread-safe (dlib's and OpenCV's detectors keep
// scratch state); give each thread its own FaceDetector. Movable.
class FaceDetector {
 public:
  // Loads the shape predictor and (when cascade_dir is set) both cascades. NotFound naming the
  // file when one is missing (with the Debian package that ships it); DataLoss when a file
  // exists but does not load.
  static StatusOr<FaceDetector> Create(const DetectorOptions& options);

  FaceDetector(FaceDetector&&) noexcept;
  FaceDetector& operator=(FaceDetector&&) noexcept;
  ~FaceDetector();

  // Every face in `bgr` (CV_8UC3, upright), sorted left to right (then top to bottom), with
  // 68 landmarks each; an empty vector when no step finds a face. InvalidArgument for an empty
  // image or another type.
  StatusOr<std::vector<DetectedFace>> Detect(const cv::Mat& bgr);

  // The 68 landmarks inside a given face box (as the HOG detector draws them).
  StatusOr<Eigen::Matrix2Xd> PredictLandmarks(const cv::Mat& bgr, const cv::Rect2d& box);

  // The raw steps, for tests and diagnostics: HOG boxes (with scores) on the image upsampled
  // by `upsample` (1, 2 or 4), in input-image pixels; cascade boxes (frontal, profile, or
  // mirrored profile) mapped to predictor boxes.
  StatusOr<std::vector<DetectedFace>> DetectHog(const cv::Mat& bgr, int upsample);
  StatusOr<std::vector<DetectedFace>> DetectCascade(const cv::Mat& bgr, DetectorKind kind);

  const DetectorOptions& options() const;

 private:
  struct Impl;
  explicit FaceDetector(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Intersection over union of two boxes (0 when either is empty).
double BoxIou(const cv::Rect2d& a, const cv::Rect2d& b);

}  // namespace morphfit::detect

#endif  // MORPHFIT_DETECT_FACE_DETECTOR_H_
