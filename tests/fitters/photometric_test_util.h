// Synthetic photometric-fit problems for the tests and the benchmark: an image rendered from
// known sample-model parameters (plus noise), its projected landmarks, and a start from the
// landmark fit; vertex error and PSNR against the truth.
#ifndef MORPHFIT_TESTS_FITTERS_PHOTOMETRIC_TEST_UTIL_H_
#define MORPHFIT_TESTS_FITTERS_PHOTOMETRIC_TEST_UTIL_H_

#include <cmath>
#include <random>
#include <vector>

#include <Eigen/Geometry>

#include "morphfit/core/face_params.h"
#include "morphfit/fitters/landmark_fit.h"
#include "morphfit/fitters/photometric_fit.h"
#include "morphfit/math/rotation.h"
#include "morphfit/models/sample_model.h"
#include "morphfit/core/thread_pool.h"
#include "morphfit/render/jacobian.h"
#include "morphfit/render/renderer.h"

namespace morphfit::fitters::testing {

inline const models::MorphableModel& PhotoSample() {
  static const models::MorphableModel model = models::MakeSampleModel();
  return model;
}

// Camera distance: with the focal length 2 x size, the face spans about half the image.
constexpr double kDistanceMm = 500.0;

struct PhotometricProblem {
  FaceParams truth;
  PhotometricImage image;
  std::vector<float> clean;    // the noise-free render (RGB)
  std::vector<uint8_t> mask;   // the truth's skin pixels (also the image's weights)
  Eigen::Matrix2Xd landmarks;  // the truth's projected landmarks (2 x 68)
  FaceParams start;            // landmark fit (fixed jaw, focal known), albedo 0, light ambient
};

// A face of the sample model about `size` x `size` px: identity ~ N(0, 0.7), expression
// ~ N(0, 0.3), albedo ~ N(0, 0.7) sigma; white light with a directional part; head turned
// (yaw 15, pitch 5, roll 3 deg); grey background; Gaussian colour noise `noise` per channel.
// camera: pinhole (focal 2 x size) or weak perspective at the same image scale.
inline PhotometricProblem MakePhotometricProblem(int size, double noise, uint32_t seed,
                                                 CameraType camera = CameraType::kPinhole) {
  const auto& m = PhotoSample();
  PhotometricProblem pb;
  const double focal = 2.0 * size;
  FaceParams& p = pb.truth;
  p = FaceParams::Frontal(m.num_identity(), m.num_expression(), m.num_albedo(), size, size, focal,
                          kDistanceMm);
  std::mt19937 gen(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  for (int i = 0; i < p.identity.size(); ++i) p.identity[i] = 0.7 * normal(gen);
  for (int i = 0; i < p.expression.size(); ++i) p.expression[i] = 0.3 * normal(gen);
  for (int i = 0; i < p.albedo.size(); ++i) p.albedo[i] = 0.7 * normal(gen);
  for (int b = 1; b < kNumShBands; ++b) {
    const double v = 0.15 * normal(gen);
    for (int c = 0; c < 3; ++c) p.lighting[c * kNumShBands + b] = v;
  }
  const Eigen::Matrix3d head = (Eigen::AngleAxisd(3.0 * M_PI / 180, Eigen::Vector3d::UnitZ()) *
                                Eigen::AngleAxisd(15.0 * M_PI / 180, Eigen::Vector3d::UnitY()) *
                                Eigen::AngleAxisd(5.0 * M_PI / 180, Eigen::Vector3d::UnitX()))
                                   .toRotationMatrix();
  const Eigen::Matrix<double, 3, 3, Eigen::RowMajor> R =
      Eigen::AngleAxisd(M_PI, Eigen::Vector3d::UnitX()).toRotationMatrix() * head;
  math::RotationToAxisAngle(R.data(), p.rotation.data());
  p.translation = Eigen::Vector3d(4.0, -3.0, kDistanceMm);
  if (camera == CameraType::kWeakPerspective) {
    p.camera_type = camera;
    p.camera = Eigen::Vector3d(focal / kDistanceMm, p.camera[1] + focal * 4.0 / kDistanceMm,
                               p.camera[2] - focal * 3.0 / kDistanceMm);
    p.translation.head<2>().setZero();
  }
  render::RenderOptions ro;
  ro.background = Eigen::Vector3f(0.5f, 0.5f, 0.5f);
  const render::RenderResult r = render::Render(m, p, ro, nullptr).value();
  pb.clean = r.image;
  // The skin mask a segmenter would give: pixels whose visible triangle is skin (no eyes,
  // brows, lips or lid margins, whose edges are occlusion boundaries).
  pb.mask.assign(r.mask.size(), 0);
  for (size_t i = 0; i < pb.mask.size(); ++i) {
    const int f = r.visibility.triangle[i];
    if (f < 0) continue;
    pb.mask[i] = m.skin_mask[m.triangles(0, f)] && m.skin_mask[m.triangles(1, f)] &&
                 m.skin_mask[m.triangles(2, f)];
  }
  pb.image.weights.assign(pb.mask.begin(), pb.mask.end());
  pb.landmarks = r.landmarks;
  pb.image.width = pb.image.height = size;
  pb.image.rgb = r.image;
  std::normal_distribution<float> colour_noise(0.0f, static_cast<float>(noise));
  for (float& v : pb.image.rgb) v += colour_noise(gen);

  FitOptions lo;
  lo.jaw_mode = JawMode::kFixed;
  lo.camera_type = camera;
  lo.estimate_focal = false;
  lo.focal_px = focal;
  pb.start = FitLandmarks(m, pb.landmarks, size, size, lo).value().params;
  return pb;
}

// Mean distance (mm) over the face-mask vertices between two faces' shapes (model frame).
inline double MeanVertexErrorMm(const FaceParams& a, const FaceParams& b) {
  const auto& m = PhotoSample();
  Eigen::VectorXf va, vb;
  m.EvaluateShape(a.identity.cast<float>(), a.expression.cast<float>(), &va);
  m.EvaluateShape(b.identity.cast<float>(), b.expression.cast<float>(), &vb);
  double sum = 0.0;
  int n = 0;
  for (int v = 0; v < m.num_vertices(); ++v) {
    if (!m.face_mask.empty() && !m.face_mask[v]) continue;
    sum += (va.segment<3>(3 * v) - vb.segment<3>(3 * v)).cast<double>().norm();
    ++n;
  }
  return sum / n;
}

// PSNR (dB, peak 1) of the render of `params` against `reference` over the pixels `mask`
// marks.
inline double MaskedPsnr(const FaceParams& params, const std::vector<float>& reference,
                         const std::vector<uint8_t>& mask) {
  render::RenderOptions ro;
  ro.background = Eigen::Vector3f(0.5f, 0.5f, 0.5f);
  const render::RenderResult r = render::Render(PhotoSample(), params, ro, nullptr).value();
  double sq = 0.0;
  int n = 0;
  for (size_t i = 0; i < mask.size(); ++i) {
    if (!mask[i]) continue;
    for (int c = 0; c < 3; ++c) {
      const double d = r.image[3 * i + c] - reference[3 * i + c];
      sq += d * d;
    }
    n += 3;
  }
  return 10.0 * std::log10(n / sq);
}

// One linearisation of `pb` for the normal-equation tests (CPU fused sums vs the dense arrays
// the CUDA path uploads, vs the CUDA kernel): the start moved off the optimum (non-zero
// residuals, Huber active on some pixels), specular on (its seeds too), the visibility of
// that point, and the CPU's fused JᵀJ / Jᵀr on 2 threads.
struct NormalEquationsCase {
  render::JacobianModel jm;
  FaceParams params;
  render::RenderOptions render_options;
  render::VisibilityBuffer vis;
  render::PhotometricOptions photo;
  render::NormalEquations cpu;
};

inline NormalEquationsCase MakeNormalEquationsCase(const PhotometricProblem& pb, ThreadPool* pool) {
  const models::MorphableModel& m = PhotoSample();
  NormalEquationsCase c;
  c.jm = render::MakeJacobianModel(m);
  c.params = pb.start;
  for (int i = 0; i < kNumLighting; ++i) c.params.lighting[i] += 0.05 * std::sin(1.0 + i);
  for (int i = 0; i < c.params.albedo.size(); ++i) c.params.albedo[i] = 0.3 * std::cos(2.0 + i);
  c.render_options.specular_intensity = 0.2f;
  c.vis = render::Render(m, c.params, c.render_options, nullptr).value().visibility;
  c.photo.loss = render::RobustLoss::kHuber;
  c.photo.loss_scale = 0.05;
  c.cpu = render::AccumulatePhotometric(m, c.jm, c.params, c.vis, pb.image.rgb.data(),
                                        pb.image.weights.data(), c.render_options, c.photo, pool)
              .value();
  return c;
}

}  // namespace morphfit::fitters::testing

#endif  // MORPHFIT_TESTS_FITTERS_PHOTOMETRIC_TEST_UTIL_H_
