// Silhouette selection on the jaw-contour candidate lines (rule in contour.h).
#include "morphfit/fitters/contour.h"

#include <glog/logging.h>

#include "morphfit/math/camera.h"
#include "morphfit/math/rotation.h"

namespace morphfit::fitters {
namespace {

// Image-plane extent below which a line's outward direction counts as pointing at the camera.
constexpr double kMinImageDirection = 1e-6;

}  // namespace

std::vector<Eigen::Vector3d> ContourOutwardDirections(const models::MorphableModel& model) {
  CHECK_EQ(model.num_landmarks(), models::kNumLandmarks);
  CHECK_EQ(static_cast<int>(model.contour_candidates.size()), models::kNumJawLandmarks);
  Eigen::Vector3d centre = Eigen::Vector3d::Zero();
  for (int id : model.landmarks) centre += model.shape_mean.segment<3>(3 * id).cast<double>();
  centre /= models::kNumLandmarks;
  std::vector<Eigen::Vector3d> out;
  for (int k = 0; k < models::kNumJawLandmarks; ++k) {
    const Eigen::Vector3d jaw = model.shape_mean.segment<3>(3 * model.landmarks[k]).cast<double>();
    const Eigen::Vector3d o(jaw.x() - centre.x(), jaw.y() - centre.y(), 0.0);
    const double norm = o.norm();
    out.push_back(norm > 0.0 ? Eigen::Vector3d(o / norm) : Eigen::Vector3d::Zero());
  }
  return out;
}

int SelectSilhouetteVertex(const FaceParams& params, const Eigen::Vector3d& outward_model,
                           const Eigen::Matrix3Xd& points_model) {
  CHECK_GT(points_model.cols(), 0);
  double R[9];
  math::AxisAngleToRotation(params.rotation.data(), R);
  double direction[3];
  math::Rotate(R, outward_model.data(), direction);
  const Eigen::Vector2d d(direction[0], direction[1]);
  if (d.norm() < kMinImageDirection) return 0;
  const bool perspective = params.camera_type == CameraType::kPinhole;
  // March outwards while the projection keeps moving outwards; the first turn back is the
  // silhouette (later maxima belong to surface folded behind it).
  double previous = 0.0;
  for (int i = 0; i < points_model.cols(); ++i) {
    double point_camera[3], uv[2];
    math::RigidTransform(R, params.translation.data(), points_model.col(i).data(), point_camera);
    math::Project<double>(perspective, params.camera.data(), point_camera, uv, nullptr, nullptr);
    const double score = uv[0] * d.x() + uv[1] * d.y();
    if (i > 0 && score < previous) return i - 1;
    previous = score;
  }
  return static_cast<int>(points_model.cols()) - 1;
}

std::vector<int> SilhouetteLandmarkVertices(const models::MorphableModel& model,
                                            const FaceParams& params) {
  CHECK_EQ(model.num_landmarks(), models::kNumLandmarks);
  CHECK_EQ(static_cast<int>(model.contour_candidates.size()), models::kNumJawLandmarks);
  std::vector<int> ids = model.landmarks;
  const std::vector<Eigen::Vector3d> outward = ContourOutwardDirections(model);
  const Eigen::VectorXf alpha = params.identity.cast<float>();
  const Eigen::VectorXf beta = params.expression.cast<float>();
  for (int k = 0; k < models::kNumJawLandmarks; ++k) {
    const std::vector<int>& line = model.contour_candidates[k];
    const models::VertexSubset subset = model.MakeSubset(line);
    Eigen::VectorXf points;
    subset.Evaluate(alpha, beta, &points);
    const Eigen::Matrix3Xd points_model =
        Eigen::Map<const Eigen::Matrix3Xf>(points.data(), 3, points.size() / 3).cast<double>();
    ids[k] = line[SelectSilhouetteVertex(params, outward[k], points_model)];
  }
  return ids;
}

}  // namespace morphfit::fitters
