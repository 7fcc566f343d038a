// dlib HOG + shape predictor with upsampling and OpenCV cascade retries (face_detector.h).
#include "morphfit/detect/face_detector.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <utility>

#include <dlib/image_processing.h>
#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/opencv/cv_image.h>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#include "morphfit/core/file_util.h"

namespace morphfit::detect {
namespace {

constexpr const char* kFrontalCascade = "haarcascade_frontalface_alt2.xml";
constexpr const char* kProfileCascade = "haarcascade_profileface.xml";

// Cascade box -> HOG-style predictor box: centre shifted by (dx, dy) box sides, side scaled by
// `scale`. Medians measured on the faces that the HOG detector (2x upsampled) and the cascade
// both found (IoU >= 0.2) in 26 photos and their mirror images (faces-dev and matplotlib's
// grace_hopper.jpg; 94 frontal and 37 profile pairs): the cascades' boxes are larger than
// HOG's and reach higher up the forehead; the profile box also extends behind the face. The
// profile dx is in the frame the cascade saw (mirrored for the mirrored pass).
struct BoxCorrection {
  double dx, dy, scale;
};
constexpr BoxCorrection kFrontalCorrection = {0.0, 0.059, 0.849};
constexpr BoxCorrection kProfileCorrection = {-0.118, 0.069, 0.760};

cv::Rect2d Correct(const cv::Rect2d& r, const BoxCorrection& c) {
  const double cx = r.x + 0.5 * r.width + c.dx * r.width;
  const double cy = r.y + 0.5 * r.height + c.dy * r.height;
  const double w = r.width * c.scale, h = r.height * c.scale;
  return {cx - 0.5 * w, cy - 0.5 * h, w, h};
}

Status CheckImage(const cv::Mat& bgr) {
  if (bgr.empty()) return InvalidArgumentError("face detection: the image is empty");
  if (bgr.type() != CV_8UC3) {
    return InvalidArgumentError("face detection: expected an 8-bit 3-channel BGR image, got type " +
                                std::to_string(bgr.type()));
  }
  return OkStatus();
}

dlib::rectangle ToDlib(const cv::Rect2d& r) {
  return dlib::rectangle(static_cast<long>(std::lround(r.x)), static_cast<long>(std::lround(r.y)),
                         static_cast<long>(std::lround(r.x + r.width - 1)),
                         static_cast<long>(std::lround(r.y + r.height - 1)));
}

// Keeps the higher-scoring of boxes overlapping by more than `iou`.
std::vector<DetectedFace> Suppress(std::vector<DetectedFace> faces, double iou) {
  std::sort(faces.begin(), faces.end(),
            [](const DetectedFace& a, const DetectedFace& b) { return a.score > b.score; });
  std::vector<DetectedFace> kept;
  for (DetectedFace& f : faces) {
    bool overlaps = false;
    for (const DetectedFace& k : kept) overlaps = overlaps || BoxIou(f.box, k.box) > iou;
    if (!overlaps) kept.push_back(std::move(f));
  }
  return kept;
}

}  // namespace

const char* DetectorKindName(DetectorKind kind) {
  switch (kind) {
    case DetectorKind::kDlibHog: return "dlib_hog";
    case DetectorKind::kDlibHogUpsampled: return "dlib_hog_upsampled";
    case DetectorKind::kCascadeFrontal: return "cv_frontal";
    case DetectorKind::kCascadeProfile: return "cv_profile";
    case DetectorKind::kCascadeProfileMirrored: return "cv_profile_mirrored";
  }
  return "unknown";
}

double BoxIou(const cv::Rect2d& a, const cv::Rect2d& b) {
  const double inter = (a & b).area();
  const double uni = a.area() + b.area() - inter;
  return uni > 0.0 ? inter / uni : 0.0;
}

Status DetectorOptions::Validate() const {
  if (shape_predictor_path.empty()) {
    return InvalidArgumentError("the shape predictor path is empty");
  }
  if (!std::isfinite(hog_threshold)) return InvalidArgumentError("hog_threshold is not finite");
  if (upsample_below_px < 0) {
    return InvalidArgumentError("upsample_below_px must be >= 0, got " +
                                std::to_string(upsample_below_px));
  }
  if (min_cascade_face_px < 1) {
    return InvalidArgumentError("min_cascade_face_px must be >= 1, got " +
                                std::to_string(min_cascade_face_px));
  }
  return OkStatus();
}

struct FaceDetector::Impl {
  DetectorOptions options;
  dlib::frontal_face_detector hog;
  dlib::shape_predictor predictor;
  cv::CascadeClassifier frontal;
  cv::CascadeClassifier profile;
  bool cascades = false;
};

FaceDetector::FaceDetector(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FaceDetector::FaceDetector(FaceDetector&&) noexcept = default;
FaceDetector& FaceDetector::operator=(FaceDetector&&) noexcept = default;
FaceDetector::~FaceDetector() = default;

const DetectorOptions& FaceDetector::options() const { return impl_->options; }

StatusOr<FaceDetector> FaceDetector::Create(const DetectorOptions& options) {
  MORPHFIT_RETURN_IF_ERROR(options.Validate());
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  const std::string& sp = options.shape_predictor_path;
  if (!FileExists(sp)) {
    return NotFoundError("shape predictor '" + sp + "' does not exist (Debian ships it in "
                         "libdlib-data: run scripts/setup.sh, or pass --shape_predictor)");
  }
  if (!options.cascade_dir.empty()) {
    for (const char* name : {kFrontalCascade, kProfileCascade}) {
      const std::string path = options.cascade_dir + "/" + name;
      if (!FileExists(path)) {
        return NotFoundError("OpenCV cascade '" + path + "' does not exist (Debian ships it in "
                             "opencv-data: run scripts/setup.sh, or pass --cascade_dir)");
      }
    }
  }
  try {
    dlib::deserialize(sp) >> impl->predictor;
  } catch (const std::exception& e) {
    return DataLossError("shape predictor '" + sp + "' could not be loaded: " + e.what());
  }
  if (impl->predictor.num_parts() != 68) {
    return InvalidArgumentError("shape predictor '" + sp + "' places " +
                                std::to_string(impl->predictor.num_parts()) +
                                " points, expected 68 (iBUG 300-W markup)");
  }
  impl->hog = dlib::get_frontal_face_detector();
  if (!options.cascade_dir.empty()) {
    for (auto [name, classifier] : {std::pair{kFrontalCascade, &impl->frontal},
                                    std::pair{kProfileCascade, &impl->profile}}) {
      const std::string path = options.cascade_dir + "/" + name;
      bool loaded = false;
      try {
        loaded = classifier->load(path);
      } catch (const std::exception& e) {
        return DataLossError("OpenCV cascade '" + path + "' could not be loaded: " + e.what());
      }
      if (!loaded) return DataLossError("OpenCV cascade '" + path + "' could not be loaded");
    }
    impl->cascades = true;
  }
  return FaceDetector(std::move(impl));
}

StatusOr<Eigen::Matrix2Xd> FaceDetector::PredictLandmarks(const cv::Mat& bgr,
                                                          const cv::Rect2d& box) {
  MORPHFIT_RETURN_IF_ERROR(CheckImage(bgr));
  if (!(box.width > 1.0 && box.height > 1.0) || !std::isfinite(box.x) || !std::isfinite(box.y)) {
    return InvalidArgumentError("face box is empty or not finite");
  }
  const dlib::cv_image<dlib::bgr_pixel> image(bgr);
  const dlib::full_object_detection shape = impl_->predictor(image, ToDlib(box));
  Eigen::Matrix2Xd points(2, 68);
  for (int k = 0; k < 68; ++k) {
    points(0, k) = static_cast<double>(shape.part(k).x());
    points(1, k) = static_cast<double>(shape.part(k).y());
  }
  return points;
}

StatusOr<std::vector<DetectedFace>> FaceDetector::DetectHog(const cv::Mat& bgr, int upsample) {
  MORPHFIT_RETURN_IF_ERROR(CheckImage(bgr));
  if (upsample != 1 && upsample != 2 && upsample != 4) {
    return InvalidArgumentError("HOG upsampling must be 1, 2 or 4, got " + std::to_string(upsample));
  }
  cv::Mat scaled = bgr;
  if (upsample > 1) cv::resize(bgr, scaled, cv::Size(), upsample, upsample, cv::INTER_LINEAR);
  std::vector<dlib::rect_detection> detections;
  {
    const dlib::cv_image<dlib::bgr_pixel> image(scaled);
    impl_->hog(image, detections, impl_->options.hog_threshold);
  }
  std::vector<DetectedFace> faces;
  for (const dlib::rect_detection& d : detections) {
    DetectedFace f;
    const dlib::rectangle& r = d.rect;
    // dlib rectangles are inclusive; the box in input pixels.
    f.box = cv::Rect2d(static_cast<double>(r.left()) / upsample,
                       static_cast<double>(r.top()) / upsample,
                       static_cast<double>(r.width()) / upsample,
                       static_cast<double>(r.height()) / upsample);
    f.detector = upsample == 1 ? DetectorKind::kDlibHog : DetectorKind::kDlibHogUpsampled;
    f.score = d.detection_confidence;
    MORPHFIT_ASSIGN_OR_RETURN(f.landmarks, PredictLandmarks(bgr, f.box));
    faces.push_back(std::move(f));
  }
  return faces;
}

StatusOr<std::vector<DetectedFace>> FaceDetector::DetectCascade(const cv::Mat& bgr,
                                                                DetectorKind kind) {
  MORPHFIT_RETURN_IF_ERROR(CheckImage(bgr));
  if (!impl_->cascades) {
    return FailedPreconditionError("the OpenCV cascades are off (empty cascade folder)");
  }
  cv::CascadeClassifier* classifier = nullptr;
  BoxCorrection correction{};
  bool mirrored = false;
  switch (kind) {
    case DetectorKind::kCascadeFrontal:
      classifier = &impl_->frontal;
      correction = kFrontalCorrection;
      break;
    case DetectorKind::kCascadeProfile:
    case DetectorKind::kCascadeProfileMirrored:
      classifier = &impl_->profile;
      correction = kProfileCorrection;
      mirrored = kind == DetectorKind::kCascadeProfileMirrored;
      break;
    default:
      return InvalidArgumentError(std::string("not a cascade detector: ") + DetectorKindName(kind));
  }
  cv::Mat grey;
  cv::cvtColor(bgr, grey, cv::COLOR_BGR2GRAY);
  if (mirrored) cv::flip(grey, grey, 1);
  cv::equalizeHist(grey, grey);
  std::vector<cv::Rect> boxes;
  std::vector<int> neighbours;
  const int min_side = impl_->options.min_cascade_face_px;
  classifier->detectMultiScale(grey, boxes, neighbours, 1.1, 3, 0, cv::Size(min_side, min_side));
  std::vector<DetectedFace> faces;
  for (size_t i = 0; i < boxes.size(); ++i) {
    DetectedFace f;
    f.box = Correct(cv::Rect2d(boxes[i]), correction);
    if (mirrored) f.box.x = bgr.cols - f.box.x - f.box.width;
    f.detector = kind;
    f.score = i < neighbours.size() ? neighbours[i] : 0.0;
    MORPHFIT_ASSIGN_OR_RETURN(f.landmarks, PredictLandmarks(bgr, f.box));
    faces.push_back(std::move(f));
  }
  return faces;
}

StatusOr<std::vector<DetectedFace>> FaceDetector::Detect(const cv::Mat& bgr) {
  MORPHFIT_RETURN_IF_ERROR(CheckImage(bgr));
  const int long_side = std::max(bgr.cols, bgr.rows);
  const int first = long_side < impl_->options.upsample_below_px ? 2 : 1;
  MORPHFIT_ASSIGN_OR_RETURN(std::vector<DetectedFace> faces, DetectHog(bgr, first));
  if (faces.empty() && impl_->options.upsample_retry) {
    MORPHFIT_ASSIGN_OR_RETURN(faces, DetectHog(bgr, 3 - first));  // the other of 1x and 2x
    if (faces.empty() && long_side < 400) {
      MORPHFIT_ASSIGN_OR_RETURN(faces, DetectHog(bgr, 4));
    }
  }
  if (faces.empty() && impl_->cascades) {
    MORPHFIT_ASSIGN_OR_RETURN(faces, DetectCascade(bgr, DetectorKind::kCascadeFrontal));
    faces = Suppress(std::move(faces), 0.3);
    if (faces.empty()) {
      MORPHFIT_ASSIGN_OR_RETURN(faces, DetectCascade(bgr, DetectorKind::kCascadeProfile));
      MORPHFIT_ASSIGN_OR_RETURN(std::vector<DetectedFace> mirrored,
                                DetectCascade(bgr, DetectorKind::kCascadeProfileMirrored));
      for (DetectedFace& f : mirrored) faces.push_back(std::move(f));
      faces = Suppress(std::move(faces), 0.3);
    }
  }
  std::sort(faces.begin(), faces.end(), [](const DetectedFace& a, const DetectedFace& b) {
    if (a.box.x != b.box.x) return a.box.x < b.box.x;
    return a.box.y < b.box.y;
  });
  return faces;
}

}  // namespace morphfit::detect
