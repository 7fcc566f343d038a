// Gold Standard affine camera -> scaled orthographic -> pinhole distance (initial_pose.h).
#include "morphfit/fitters/initial_pose.h"

#include <cmath>
#include <string>

#include <Eigen/Dense>

#include "morphfit/math/rotation.h"

namespace morphfit::fitters {
namespace {

// Image points whose second singular value (of the centred 2 x n cloud) is below this fraction
// of the first lie on a line to within ~0.1% of their spread: the pose is then undetermined.
constexpr double kCollinearRatio = 1e-3;

}  // namespace

Status CheckNotCollinear(const Eigen::MatrixXd& points, const std::string& what) {
  const Eigen::MatrixXd centred = points.colwise() - points.rowwise().mean();
  const Eigen::VectorXd singular = Eigen::JacobiSVD<Eigen::MatrixXd>(centred).singularValues();
  if (singular.size() < 2 || !(singular[0] > 0.0) || singular[1] < kCollinearRatio * singular[0]) {
    return InvalidArgumentError(
        what + " are collinear or coincident (a degenerate configuration): singular values of "
        "the centred points " + std::to_string(singular.size() > 0 ? singular[0] : 0.0) + ", " +
        std::to_string(singular.size() > 1 ? singular[1] : 0.0));
  }
  return OkStatus();
}

StatusOr<InitialPose> EstimateInitialPose(const Eigen::Matrix3Xd& points_model,
                                          const Eigen::Matrix2Xd& points_px, CameraType type,
                                          double focal_px, const Eigen::Vector2d& principal_px) {
  const Eigen::Index n = points_px.cols();
  if (n < 4 || points_model.cols() != n) {
    return InvalidArgumentError("initial pose: need >= 4 matching 2D/3D points, got " +
                                std::to_string(n) + " image and " +
                                std::to_string(points_model.cols()) + " model points");
  }
  if (!points_px.allFinite() || !points_model.allFinite()) {
    return InvalidArgumentError("initial pose: non-finite point coordinates");
  }
  if (type == CameraType::kPinhole && !(focal_px > 0.0 && std::isfinite(focal_px))) {
    return InvalidArgumentError("initial pose: pinhole focal length must be > 0, got " +
                                std::to_string(focal_px));
  }
  const Eigen::Vector2d mean_px = points_px.rowwise().mean();
  const Eigen::Vector3d mean_model = points_model.rowwise().mean();
  const Eigen::Matrix2Xd x = points_px.colwise() - mean_px;
  const Eigen::Matrix3Xd X = points_model.colwise() - mean_model;

  MORPHFIT_RETURN_IF_ERROR(CheckNotCollinear(points_px, "initial pose: the image points"));
  MORPHFIT_RETURN_IF_ERROR(CheckNotCollinear(points_model, "initial pose: the model points"));
  const Eigen::Matrix3d XXt = X * X.transpose();

  // Affine A (2 x 3) minimising |A X - x|^2; least squares through a complete orthogonal
  // decomposition so that planar model points (rank 2) still give the minimum-norm answer.
  const Eigen::Matrix<double, 3, 2> At =
      XXt.completeOrthogonalDecomposition().solve(X * x.transpose());
  const Eigen::Matrix<double, 2, 3> A = At.transpose();
  InitialPose pose;
  pose.affine_rms_px = std::sqrt((A * X - x).squaredNorm() / static_cast<double>(n));

  Eigen::JacobiSVD<Eigen::Matrix<double, 2, 3>> svd(A, Eigen::ComputeFullU | Eigen::ComputeFullV);
  const Eigen::Matrix<double, 2, 3> rows =
      svd.matrixU() * svd.matrixV().leftCols<2>().transpose();
  const double scale = 0.5 * (svd.singularValues()[0] + svd.singularValues()[1]);
  if (!(scale > 0.0)) return InvalidArgumentError("initial pose: zero image scale");
  Eigen::Matrix<double, 3, 3, Eigen::RowMajor> R;
  R.row(0) = rows.row(0);
  R.row(1) = rows.row(1);
  R.row(2) = rows.row(0).cross(rows.row(1));
  math::RotationToAxisAngle(R.data(), pose.rotation.data());

  const Eigen::Vector3d rotated_mean = R * mean_model;
  if (type == CameraType::kWeakPerspective) {
    pose.camera << scale, mean_px.x() - scale * rotated_mean.x(),
        mean_px.y() - scale * rotated_mean.y();
    return pose;
  }
  // The centroid seen at depth z with image scale focal / z = scale.
  const double z = focal_px / scale;
  const Eigen::Vector3d centroid_camera((mean_px.x() - principal_px.x()) * z / focal_px,
                                        (mean_px.y() - principal_px.y()) * z / focal_px, z);
  pose.translation = centroid_camera - rotated_mean;
  pose.camera << focal_px, principal_px.x(), principal_px.y();
  return pose;
}

}  // namespace morphfit::fitters
