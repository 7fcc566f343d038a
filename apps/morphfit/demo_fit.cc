// The demo's fits (demo_fit.h).
#include "demo_fit.h"

#include <cmath>
#include <cstdio>
#include <iostream>

#include <Eigen/Geometry>
#include <opencv2/imgproc.hpp>

#include "fit_job.h"
#include "morphfit/core/file_util.h"
#include "morphfit/core/rng.h"
#include "morphfit/io/image.h"
#include "morphfit/io/pts.h"
#include "morphfit/render/renderer.h"

namespace morphfit::app {
namespace {

constexpr uint64_t kSyntheticSeed = 68;
constexpr int kSyntheticSize = 256;

// The known face: identity N(0, 0.8^2), expression N(0, 0.3^2) (blendshapes |.| clipped to
// [0, 1]), albedo N(0, 0.5^2), turned 20 deg to the side and 8 deg down, lit from the upper left.
FaceParams KnownParams(const models::MorphableModel& m) {
  const double focal = fitters::DefaultFocalPx(kSyntheticSize, kSyntheticSize);
  FaceParams p = FaceParams::Frontal(m.num_identity(), m.num_expression(), m.num_albedo(),
                                     kSyntheticSize, kSyntheticSize, focal, 550.0);
  Rng rng = RngFor(kSyntheticSeed, 0);
  for (int i = 0; i < p.identity.size(); ++i) p.identity[i] = 0.8 * rng.Normal();
  for (int i = 0; i < p.expression.size(); ++i) {
    const double e = 0.3 * rng.Normal();
    p.expression[i] = m.expression_kind == models::ExpressionKind::kBlendshape ? std::min(1.0, std::abs(e)) : e;
  }
  for (int i = 0; i < p.albedo.size(); ++i) p.albedo[i] = 0.5 * rng.Normal();
  const Eigen::Matrix3d R = Eigen::AngleAxisd(M_PI, Eigen::Vector3d::UnitX()).toRotationMatrix() *
                            Eigen::AngleAxisd(20.0 * M_PI / 180.0, Eigen::Vector3d::UnitY()) *
                            Eigen::AngleAxisd(-8.0 * M_PI / 180.0, Eigen::Vector3d::UnitX());
  const Eigen::AngleAxisd aa(R);
  p.rotation = aa.axis() * aa.angle();
  for (int c = 0; c < 3; ++c) {  // view frame: band 1 ~ y (up), band 2 ~ z, band 3 ~ x
    p.lighting[c * kNumShBands + 1] = 0.10;
    p.lighting[c * kNumShBands + 2] = 0.20;
    p.lighting[c * kNumShBands + 3] = -0.10;
  }
  return p;
}

double AngleBetweenDeg(const Eigen::Vector3d& a, const Eigen::Vector3d& b) {
  const Eigen::AngleAxisd ra(a.norm(), a.norm() > 0 ? a.normalized() : Eigen::Vector3d::UnitX());
  const Eigen::AngleAxisd rb(b.norm(), b.norm() > 0 ? b.normalized() : Eigen::Vector3d::UnitX());
  return Eigen::AngleAxisd(ra.toRotationMatrix().transpose() * rb.toRotationMatrix()).angle() *
         180.0 / M_PI;
}

void AddFaceFiles(const std::string& fit_dir, const FaceFit& f, std::vector<std::string>* written) {
  for (const char* suffix : {".json", ".overlay.png", ".ply", ".landmarks.pts"}) {
    const std::string path = FacePath(fit_dir, f.record.id, suffix);
    if (FileExists(path)) written->push_back(path);
  }
}

}  // namespace

Status RunDemoFits(const models::MorphableModel& model, const std::string& out_dir,
                   const std::string& portrait, std::vector<std::string>* written) {
  const std::string input_dir = out_dir + "/fit_input";
  const std::string fit_dir = out_dir + "/fit";
  MORPHFIT_RETURN_IF_ERROR(MakeDirectories(input_dir));
  MORPHFIT_RETURN_IF_ERROR(MakeDirectories(fit_dir + "/faces"));
  MORPHFIT_ASSIGN_OR_RETURN(FitJobOptions options,
                            ParseFitJobFlags("auto", "photometric", "pinhole", "contour", "cpu", "ply"));
  options.output_dir = fit_dir;

  // 1. A face rendered with known parameters, its exact landmarks as .pts, fitted back.
  const FaceParams truth = KnownParams(model);
  MORPHFIT_ASSIGN_OR_RETURN(render::RenderResult r,
                            render::Render(model, truth, render::RenderOptions(), nullptr));
  const cv::Mat bgr8 = FloatRgbToBgr8(r.image, r.width, r.height);
  const InputPhoto synthetic{input_dir + "/synthetic_face.png", "synthetic_face"};
  MORPHFIT_RETURN_IF_ERROR(io::WriteImage(synthetic.path, bgr8));
  MORPHFIT_RETURN_IF_ERROR(io::WritePts(input_dir + "/synthetic_face.pts", r.landmarks));
  MORPHFIT_RETURN_IF_ERROR(WriteFaceParamsJson(input_dir + "/synthetic_face_truth.json", truth));
  for (const char* name : {"synthetic_face.png", "synthetic_face.pts", "synthetic_face_truth.json"}) {
    written->push_back(input_dir + "/" + name);
  }
  // The contour jaw of a rendered face is its silhouette, as on a photo.
  FitJob job(model, options);
  std::vector<FaceFit> fits = job.FitPhotoDetailed(synthetic);
  if (fits.size() != 1 || !fits[0].record.has_params()) {
    return InternalError("demo: the synthetic face did not fit: " +
                         (fits.empty() ? std::string("no record") : fits[0].record.message));
  }
  const FaceFit& sf = fits[0];
  Eigen::VectorXf true_shape, fitted_shape;
  model.EvaluateShape(truth.identity.cast<float>(), truth.expression.cast<float>(), &true_shape);
  model.EvaluateShape(sf.params.identity.cast<float>(), sf.params.expression.cast<float>(),
                      &fitted_shape);
  const int num_vertices = static_cast<int>(true_shape.size() / 3);
  const double shape_rms_mm = std::sqrt((fitted_shape - true_shape).squaredNorm() / num_vertices);
  // The face region (the model's face mask) is what the photo constrains; the rest of the head
  // (back, ears, neck) is carried by the prior only.
  double face_sq = 0.0;
  int face_count = 0;
  if (static_cast<int>(model.face_mask.size()) == num_vertices) {
    for (int v = 0; v < num_vertices; ++v) {
      if (!model.face_mask[v]) continue;
      face_sq += (fitted_shape.segment<3>(3 * v) - true_shape.segment<3>(3 * v)).squaredNorm();
      ++face_count;
    }
  }
  std::printf("\nsynthetic face (rendered with known parameters, fitted back: landmarks + photometric):\n");
  std::printf("  landmark NME %.4f, colour RMSE %.4f, %d iterations, %.2f s, %s\n",
              sf.record.landmark_nme, sf.record.photometric_rmse, sf.record.iterations,
              sf.record.time_s, sf.record.status.c_str());
  std::printf("  recovery error: rotation %.2f deg, shape (model frame) ",
              AngleBetweenDeg(sf.params.rotation, truth.rotation));
  if (face_count > 0) {
    std::printf("%.2f mm RMS over the %d face-region vertices, ", std::sqrt(face_sq / face_count),
                face_count);
  }
  std::printf("%.2f mm RMS over all %d vertices, lighting band-0 %.3f vs %.3f\n", shape_rms_mm,
              num_vertices, sf.params.lighting[0], truth.lighting[0]);
  AddFaceFiles(fit_dir, sf, written);

  // 2. A real photo: dlib detection and landmarks, then the same fit.
  if (!FileExists(portrait)) {
    std::printf("\nportrait %s is absent (Debian package python-matplotlib-data; "
                "scripts/setup.sh installs it): skipped\n", portrait.c_str());
    return OkStatus();
  }
  FitJobOptions photo_options = options;
  photo_options.landmarks = LandmarkSource::kDlib;
  FitJob photo_job(model, photo_options);
  const std::vector<FaceFit> photo_fits = photo_job.FitPhotoDetailed({portrait, "grace_hopper"});
  std::printf("\n%s (detected and landmarked with dlib, fitted: landmarks + photometric):\n",
              portrait.c_str());
  for (const FaceFit& f : photo_fits) {
    if (!f.record.has_params()) {
      std::printf("  %s failed: %s\n", f.record.id.c_str(), f.record.message.c_str());
      continue;
    }
    std::printf("  %s: found by %s; landmark NME %.4f, colour RMSE %.4f, %d iterations, %.2f s, %s\n",
                f.record.id.c_str(), f.record.detector.c_str(), f.record.landmark_nme,
                f.record.photometric_rmse, f.record.iterations, f.record.time_s,
                f.record.status.c_str());
    AddFaceFiles(fit_dir, f, written);
  }
  return OkStatus();
}

}  // namespace morphfit::app
