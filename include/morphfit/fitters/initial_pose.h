// Closed-form initial pose from 2D-3D landmark correspondences: the Gold Standard affine camera
// (Hartley & Zisserman, Multiple View Geometry, 2nd ed., Algorithm 7.2: least squares on the
// centred points), its nearest scaled orthographic camera (rows made orthonormal through the
// SVD, scale = mean singular value), then, for the pinhole camera, the distance that gives the
// same image scale at the points' centroid: z = focal / scale.
#ifndef MORPHFIT_FITTERS_INITIAL_POSE_H_
#define MORPHFIT_FITTERS_INITIAL_POSE_H_

#include <string>

#include <Eigen/Core>

#include "morphfit/core/face_params.h"
#include "morphfit/core/status.h"

namespace morphfit::fitters {

struct InitialPose {
  Eigen::Vector3d rotation = Eigen::Vector3d::Zero();     // axis-angle rad, camera_from_model
  Eigen::Vector3d translation = Eigen::Vector3d::Zero();  // mm, camera frame (0 for weak)
  Eigen::Vector3d camera = Eigen::Vector3d::Zero();       // FaceParams camera for `type`
  double affine_rms_px = 0.0;  // RMS residual of the affine fit (before orthonormalising)
};

// InvalidArgument naming `what` when the points (d x n: rows = coordinates, columns = points)
// are coincident or collinear: the second singular value of the centred cloud is below 1e-3
// of the first (they lie on a line to within ~0.1% of their spread).
Status CheckNotCollinear(const Eigen::MatrixXd& points, const std::string& what);

// points_model: 3 x n (mm, model frame); points_px: 2 x n (0-based pixels); n >= 4.
// Pinhole: camera = (focal_px, principal_px); weak perspective: camera = (scale, offset) and
// translation = 0 (FaceParams' convention), focal_px and principal_px unused.
// InvalidArgument for n < 4, mismatched sizes, non-finite numbers, image points that are all
// (nearly) collinear or coincident, or model points without 3D extent.
StatusOr<InitialPose> EstimateInitialPose(const Eigen::Matrix3Xd& points_model,
                                          const Eigen::Matrix2Xd& points_px, CameraType type,
                                          double focal_px, const Eigen::Vector2d& principal_px);

}  // namespace morphfit::fitters

#endif  // MORPHFIT_FITTERS_INITIAL_POSE_H_
