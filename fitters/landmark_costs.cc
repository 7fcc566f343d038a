// Landmark reprojection and coefficient-prior costs with analytic Jacobians (chain rule:
// uv = Project(R(w) X(alpha, beta) + t), X = mean + A alpha + B beta).
#include "landmark_costs.h"

#include <algorithm>
#include <cmath>

#include <glog/logging.h>

#include "morphfit/math/camera.h"
#include "morphfit/math/rotation.h"

namespace morphfit::fitters {

GatheredVertices GatheredVertices::Make(const models::MorphableModel& model,
                                        const std::vector<int>& vertex_ids) {
  const models::VertexSubset subset = model.MakeSubset(vertex_ids);
  GatheredVertices g;
  g.vertex_ids = vertex_ids;
  g.mean = subset.mean.cast<double>();
  g.identity = subset.identity.cast<double>();
  g.expression = subset.expression.cast<double>();
  return g;
}

Eigen::Vector3d GatheredVertices::Point(int slot, const double* identity_coeffs,
                                        const double* expression_coeffs) const {
  // Three dot products on contiguous rows (not Eigen's general matrix-vector path).
  Eigen::Vector3d p = mean.segment<3>(3 * slot);
  if (num_identity() > 0) {
    const Eigen::Map<const Eigen::RowVectorXd> alpha(identity_coeffs, num_identity());
    for (int c = 0; c < 3; ++c) p[c] += identity.row(3 * slot + c).dot(alpha);
  }
  if (num_expression() > 0) {
    const Eigen::Map<const Eigen::RowVectorXd> beta(expression_coeffs, num_expression());
    for (int c = 0; c < 3; ++c) p[c] += expression.row(3 * slot + c).dot(beta);
  }
  return p;
}

void ToImageScale(const Eigen::Vector3d& translation, double focal_px, double reference_px,
                  Eigen::Vector3d* view, double* kappa) {
  const double s = focal_px / translation.z();
  *view = Eigen::Vector3d(s * translation.x(), s * translation.y(), s);
  *kappa = reference_px / focal_px;
}

void FromImageScale(const Eigen::Vector3d& view, double kappa, double reference_px,
                    Eigen::Vector3d* translation, double* focal_px) {
  const double s = view.z();
  *focal_px = reference_px / kappa;
  *translation = Eigen::Vector3d(view.x() / s, view.y() / s, *focal_px / s);
}

LandmarkReprojectionCost::LandmarkReprojectionCost(const GatheredVertices* vertices, int slot,
                                                   Projection projection,
                                                   const Eigen::Vector2d& target_px,
                                                   double reference_px)
    : vertices_(vertices),
      slot_(slot),
      projection_(projection),
      inv_reference_(1.0 / reference_px),
      target_(target_px) {
  CHECK(vertices != nullptr);
  CHECK_GT(reference_px, 0.0);
  set_slot(slot);
  set_num_residuals(2);
  std::vector<int32_t>* sizes = mutable_parameter_block_sizes();
  *sizes = {3, 3, 3};
  if (vertices->num_identity() > 0) sizes->push_back(vertices->num_identity());
  if (vertices->num_expression() > 0) sizes->push_back(vertices->num_expression());
}

LandmarkReprojectionCost::LandmarkReprojectionCost(const GatheredVertices* vertices, int slot,
                                                   bool perspective,
                                                   const Eigen::Vector2d& target_px)
    : LandmarkReprojectionCost(vertices, slot,
                               perspective ? Projection::kPinhole : Projection::kWeakPerspective,
                               target_px) {}

LandmarkReprojectionCost* LandmarkReprojectionCost::Create(const GatheredVertices* vertices,
                                                           int slot, Projection projection,
                                                           const Eigen::Vector2d& target_px,
                                                           double reference_px) {
  return new LandmarkReprojectionCost(vertices, slot, projection, target_px, reference_px);
}

LandmarkReprojectionCost* LandmarkReprojectionCost::Create(const GatheredVertices* vertices,
                                                           int slot, bool perspective,
                                                           const Eigen::Vector2d& target_px) {
  return new LandmarkReprojectionCost(vertices, slot, perspective, target_px);
}

void LandmarkReprojectionCost::set_slot(int slot) {
  CHECK_GE(slot, 0);
  CHECK_LT(slot, static_cast<int>(vertices_->vertex_ids.size()));
  slot_ = slot;
}

bool LandmarkReprojectionCost::Evaluate(double const* const* parameters, double* residuals,
                                        double** jacobians) const {
  const int k_id = vertices_->num_identity();
  const int k_exp = vertices_->num_expression();
  const double* rotation = parameters[0];
  const double* translation = parameters[1];
  const double* camera = parameters[2];
  const int id_block = 3;
  const int exp_block = k_id > 0 ? 4 : 3;
  const double* alpha = k_id > 0 ? parameters[id_block] : nullptr;
  const double* beta = k_exp > 0 ? parameters[exp_block] : nullptr;

  const Eigen::Vector3d point_model = vertices_->Point(slot_, alpha, beta);
  double R[9], dR[3][9];
  math::AxisAngleToRotationWithJacobian(rotation, R, dR);
  // D = d(uv) / d(point): of the camera-frame point (FaceParams' cameras) or of the rotated
  // point R x (kPinholeImageScale); dview, dcamera: of blocks 1 and 2.
  double uv[2], duv_dpoint[6], dview[6], dcamera[6];
  if (projection_ == Projection::kPinholeImageScale) {
    double X[3];
    math::Rotate(R, point_model.data(), X);
    const double px = translation[0], py = translation[1], s = translation[2];
    const double kappa = camera[0] * inv_reference_;  // 1 / f
    // Depth of the point: X_z + t_z with t_z = 1 / (kappa s); kappa s > 0 (in front).
    const double ks = kappa * s;
    if (!(ks > 0.0) || !(X[2] + 1.0 / ks > kMinDepthMm)) return false;
    const double w = 1.0 + ks * X[2], inv_w = 1.0 / w;
    const double a = (s * X[0] + px) * inv_w, b = (s * X[1] + py) * inv_w;  // uv - c
    uv[0] = camera[1] + a;
    uv[1] = camera[2] + b;
    const double sw = s * inv_w;
    duv_dpoint[0] = sw;  duv_dpoint[1] = 0.0; duv_dpoint[2] = -a * kappa * sw;
    duv_dpoint[3] = 0.0; duv_dpoint[4] = sw;  duv_dpoint[5] = -b * kappa * sw;
    // (p_x, p_y, s)
    dview[0] = inv_w; dview[1] = 0.0;   dview[2] = (X[0] - a * kappa * X[2]) * inv_w;
    dview[3] = 0.0;   dview[4] = inv_w; dview[5] = (X[1] - b * kappa * X[2]) * inv_w;
    // (kappa = F / f, cx, cy)
    const double sz = s * X[2] * inv_w * inv_reference_;
    dcamera[0] = -a * sz; dcamera[1] = 1.0; dcamera[2] = 0.0;
    dcamera[3] = -b * sz; dcamera[4] = 0.0; dcamera[5] = 1.0;
  } else {
    const bool perspective = projection_ == Projection::kPinhole;
    double point_camera[3];
    math::RigidTransform(R, translation, point_model.data(), point_camera);
    if (perspective && !(point_camera[2] > kMinDepthMm)) return false;
    math::Project(perspective, camera, point_camera, uv, duv_dpoint, dcamera);
    std::copy(duv_dpoint, duv_dpoint + 6, dview);  // d(point_camera) / dt = I
  }
  residuals[0] = uv[0] - target_[0];
  residuals[1] = uv[1] - target_[1];
  if (jacobians == nullptr) return true;

  using Mat23 = Eigen::Matrix<double, 2, 3, Eigen::RowMajor>;
  const Eigen::Map<const Mat23> D(duv_dpoint);
  if (jacobians[0] != nullptr) {
    Eigen::Map<Mat23> J(jacobians[0]);
    for (int j = 0; j < 3; ++j) {
      double dp[3];
      math::Rotate(dR[j], point_model.data(), dp);
      J.col(j) = D * Eigen::Vector3d(dp[0], dp[1], dp[2]);
    }
  }
  if (jacobians[1] != nullptr) {
    Eigen::Map<Mat23> J(jacobians[1]);
    J = Eigen::Map<const Mat23>(dview);
  }
  if (jacobians[2] != nullptr) {
    Eigen::Map<Mat23> J(jacobians[2]);
    J = Eigen::Map<const Mat23>(dcamera);
  }
  // d(uv)/d(coefficients) = D R (3 x K rows of the slot): D R once, then the 2x3 * 3xK product
  // row by row (Eigen's GEMM path would pack these tiny operands and dominated the whole fit).
  const Mat23 DR = D * Eigen::Map<const Eigen::Matrix<double, 3, 3, Eigen::RowMajor>>(R);
  using RowMajor2X = Eigen::Matrix<double, 2, Eigen::Dynamic, Eigen::RowMajor>;
  // Each Jacobian row as a combination of the slot's three contiguous basis rows.
  auto basis_rows = [&](const GatheredVertices::RowMajorXd& basis, int k, double* out) {
    Eigen::Map<RowMajor2X> J(out, 2, k);
    const auto b = basis.middleRows<3>(3 * slot_);
    for (int i = 0; i < 2; ++i) {
      J.row(i).noalias() = DR(i, 0) * b.row(0) + DR(i, 1) * b.row(1) + DR(i, 2) * b.row(2);
    }
  };
  if (k_id > 0 && jacobians[id_block] != nullptr) {
    basis_rows(vertices_->identity, k_id, jacobians[id_block]);
  }
  if (k_exp > 0 && jacobians[exp_block] != nullptr) {
    basis_rows(vertices_->expression, k_exp, jacobians[exp_block]);
  }
  return true;
}

CoefficientPriorCost::CoefficientPriorCost(int size, double weight)
    : size_(size), sqrt_weight_(std::sqrt(weight)) {
  CHECK_GT(size, 0);
  CHECK_GE(weight, 0.0);
  set_num_residuals(size);
  mutable_parameter_block_sizes()->push_back(size);
}

CoefficientPriorCost* CoefficientPriorCost::Create(int size, double weight) {
  return new CoefficientPriorCost(size, weight);
}

bool CoefficientPriorCost::Evaluate(double const* const* parameters, double* residuals,
                                    double** jacobians) const {
  for (int k = 0; k < size_; ++k) residuals[k] = sqrt_weight_ * parameters[0][k];
  if (jacobians != nullptr && jacobians[0] != nullptr) {
    Eigen::Map<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> J(
        jacobians[0], size_, size_);
    J.setZero();
    J.diagonal().setConstant(sqrt_weight_);
  }
  return true;
}

}  // namespace morphfit::fitters
