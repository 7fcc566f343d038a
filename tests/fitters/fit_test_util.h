// Synthetic landmark data for the fitter tests: random faces of the sample model under known
// poses, projected with the shared camera math.
#ifndef MORPHFIT_TESTS_FITTERS_FIT_TEST_UTIL_H_
#define MORPHFIT_TESTS_FITTERS_FIT_TEST_UTIL_H_

#include <cmath>
#include <random>
#include <vector>

#include <Eigen/Geometry>

#include "morphfit/core/face_params.h"
#include "morphfit/fitters/landmark_fit.h"
#include "morphfit/math/camera.h"
#include "morphfit/math/rotation.h"
#include "morphfit/models/sample_model.h"

namespace morphfit::fitters::testing {

inline const models::MorphableModel& Sample() {
  static const models::MorphableModel model = models::MakeSampleModel();
  return model;
}

constexpr int kWidth = 640;
constexpr int kHeight = 480;
constexpr double kDeg = M_PI / 180.0;

// camera_from_model for a head turned by yaw (about the model's +y, positive = the face turns
// toward the subject's left), pitch (about +x) and roll (about +z), seen frontally.
inline Eigen::Vector3d HeadRotation(double yaw, double pitch, double roll) {
  const Eigen::Matrix3d head = (Eigen::AngleAxisd(roll, Eigen::Vector3d::UnitZ()) *
                                Eigen::AngleAxisd(yaw, Eigen::Vector3d::UnitY()) *
                                Eigen::AngleAxisd(pitch, Eigen::Vector3d::UnitX()))
                                   .toRotationMatrix();
  const Eigen::Matrix<double, 3, 3, Eigen::RowMajor> R =
      Eigen::AngleAxisd(M_PI, Eigen::Vector3d::UnitX()).toRotationMatrix() * head;
  Eigen::Vector3d w;
  math::RotationToAxisAngle(R.data(), w.data());
  return w;
}

// Angle (deg) of the rotation between two axis-angle vectors.
inline double RotationErrorDeg(const Eigen::Vector3d& a, const Eigen::Vector3d& b) {
  const Eigen::Matrix3d Ra = Eigen::AngleAxisd(a.norm(), a.normalized()).toRotationMatrix();
  const Eigen::Matrix3d Rb = Eigen::AngleAxisd(b.norm(), b.normalized()).toRotationMatrix();
  return Eigen::AngleAxisd(Ra.transpose() * Rb).angle() / kDeg;
}

// A random face: identity ~ N(0, 1), expression ~ N(0, 0.5) (sigma units), yaw uniform in
// [-max_yaw, max_yaw], pitch and roll in [-15, 15] deg, ~1 m from the camera, pinhole with
// the fitter's default focal length (or weak perspective at the same image scale).
inline FaceParams RandomFace(uint32_t seed, double max_yaw_deg, CameraType type) {
  const auto& m = Sample();
  const double focal = DefaultFocalPx(kWidth, kHeight);
  FaceParams p = FaceParams::Frontal(m.num_identity(), m.num_expression(), m.num_albedo(), kWidth,
                                     kHeight, focal, 1000.0);
  std::mt19937 gen(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  for (int i = 0; i < p.identity.size(); ++i) p.identity[i] = normal(gen);
  for (int i = 0; i < p.expression.size(); ++i) p.expression[i] = 0.5 * normal(gen);
  p.rotation = HeadRotation(max_yaw_deg * kDeg * uniform(gen), 15.0 * kDeg * uniform(gen),
                            15.0 * kDeg * uniform(gen));
  p.translation = Eigen::Vector3d(30.0 * uniform(gen), 20.0 * uniform(gen), 1000.0 + 100.0 * uniform(gen));
  if (type == CameraType::kWeakPerspective) {
    p.camera_type = type;
    p.camera = Eigen::Vector3d(focal / p.translation.z(), p.camera[1] + 15.0 * uniform(gen),
                               p.camera[2] + 10.0 * uniform(gen));
    p.translation.setZero();
  }
  return p;
}

// Pixel positions (2 x n) of the given model vertices under `p`.
inline Eigen::Matrix2Xd ProjectVertices(const models::MorphableModel& m, const FaceParams& p,
                                        const std::vector<int>& ids) {
  const models::VertexSubset subset = m.MakeSubset(ids);
  Eigen::VectorXf points;
  subset.Evaluate(p.identity.cast<float>(), p.expression.cast<float>(), &points);
  double R[9];
  math::AxisAngleToRotation(p.rotation.data(), R);
  Eigen::Matrix2Xd uv(2, ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    const double x[3] = {points[3 * i], points[3 * i + 1], points[3 * i + 2]};
    double pc[3];
    math::RigidTransform(R, p.translation.data(), x, pc);
    math::Project<double>(p.camera_type == CameraType::kPinhole, p.camera.data(), pc, uv.col(i).data(),
                          nullptr, nullptr);
  }
  return uv;
}

inline Eigen::Matrix2Xd AddNoise(const Eigen::Matrix2Xd& uv, double sigma_px, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> normal(0.0, sigma_px);
  Eigen::Matrix2Xd out = uv;
  for (Eigen::Index i = 0; i < out.size(); ++i) out.data()[i] += normal(gen);
  return out;
}

}  // namespace morphfit::fitters::testing

#endif  // MORPHFIT_TESTS_FITTERS_FIT_TEST_UTIL_H_
