// Landmark reprojection and coefficient-prior costs with analytic Jacobians (chain rule:
// uv = Project(R(w) X(alpha, beta) + t), X = mean + A alpha + B beta).
#include "landmark_costs.h"

#include <algorithm>
#include <cmath>

#include <glog/logging.h>

#if defined(__x86_64__) && defined(__GNUC__) && defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define MORPHFIT_LANDMARK_X86 1
#else
#define MORPHFIT_LANDMARK_X86 0
#endif

#include "morphfit/math/camera.h"
#include "morphfit/math/rotation.h"

namespace morphfit::fitters {

GatheredVertices GatheredVertices::Make(const models::MorphableModel& model,
                                        const std::vector<int>& vertex_ids) {
  const models::VertexSubset subset = model.MakeSubset(vertex_ids);
  GatheredVertices g;
  g.vertex_ids = vertex_ids;
  g.mean = subset.mean.cast<double>();
  g.identity = subset.identity;
  g.expression = subset.expression;
  return g;
}

namespace {

// out[c] += (row c of the 3 x k row-major float block) . coeffs in double, the three rows in
// one pass over the coefficients with four-lane partial sums (Eigen's three separate dot
// products on double rows cost ~12% of a BFM-size fit).
void AddRowProducts(const float* rows, int k, const double* coeffs, double out[3]) {
  const float* r0 = rows;
  const float* r1 = rows + k;
  const float* r2 = rows + 2 * k;
  double s0 = 0.0, s1 = 0.0, s2 = 0.0;
  int i = 0;
#if MORPHFIT_LANDMARK_X86
  __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd(), a2 = _mm256_setzero_pd();
  for (; i + 4 <= k; i += 4) {
    const __m256d c = _mm256_loadu_pd(coeffs + i);
    a0 = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm_loadu_ps(r0 + i)), c, a0);
    a1 = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm_loadu_ps(r1 + i)), c, a1);
    a2 = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm_loadu_ps(r2 + i)), c, a2);
  }
  auto lanes = [](__m256d v) {
    alignas(32) double l[4];
    _mm256_store_pd(l, v);
    return (l[0] + l[1]) + (l[2] + l[3]);
  };
  s0 = lanes(a0);
  s1 = lanes(a1);
  s2 = lanes(a2);
#endif
  for (; i < k; ++i) {
    s0 += static_cast<double>(r0[i]) * coeffs[i];
    s1 += static_cast<double>(r1[i]) * coeffs[i];
    s2 += static_cast<double>(r2[i]) * coeffs[i];
  }
  out[0] += s0;
  out[1] += s1;
  out[2] += s2;
}

}  // namespace

Eigen::Vector3d GatheredVertices::Point(int slot, const double* identity_coeffs,
                                        const double* expression_coeffs) const {
  Eigen::Vector3d p = mean.segment<3>(3 * slot);
  if (num_identity() > 0 && identity_coeffs != nullptr) {
    AddRowProducts(identity.row(3 * slot).data(), num_identity(), identity_coeffs, p.data());
  }
  if (num_expression() > 0 && expression_coeffs != nullptr) {
    AddRowProducts(expression.row(3 * slot).data(), num_expression(), expression_coeffs,
                   p.data());
  }
  return p;
}

RotationTerms::RotationTerms(const double* axis_angle) {
  math::AxisAngleToRotationWithJacobian(axis_angle, R, dR);
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

bool LandmarkReprojectionCost::Linearize(const RotationTerms& rotation,
                                         const Eigen::Vector3d& point_model,
                                         const double* translation, const double* camera,
                                         bool partials, LandmarkPartials* out) const {
  const double* R = rotation.R;
  // D = d(uv) / d(point): of the camera-frame point (FaceParams' cameras) or of the rotated
  // point R x (kPinholeImageScale); dview, dcamera: of blocks 1 and 2.
  double uv[2], duv_dpoint[6];
  double* dview = out->view;
  double* dcamera = out->camera;
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
    if (partials) {
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
    }
  } else {
    const bool perspective = projection_ == Projection::kPinhole;
    double point_camera[3];
    math::RigidTransform(R, translation, point_model.data(), point_camera);
    if (perspective && !(point_camera[2] > kMinDepthMm)) return false;
    math::Project(perspective, camera, point_camera, uv, partials ? duv_dpoint : nullptr,
                  partials ? dcamera : nullptr);
    if (partials) std::copy(duv_dpoint, duv_dpoint + 6, dview);  // d(point_camera) / dt = I
  }
  out->residual[0] = uv[0] - target_[0];
  out->residual[1] = uv[1] - target_[1];
  if (!partials) return true;

  using Mat23 = Eigen::Matrix<double, 2, 3, Eigen::RowMajor>;
  const Eigen::Map<const Mat23> D(duv_dpoint);
  Eigen::Map<Mat23> J(out->rotation);
  for (int j = 0; j < 3; ++j) {
    double dp[3];
    math::Rotate(rotation.dR[j], point_model.data(), dp);
    J.col(j) = D * Eigen::Vector3d(dp[0], dp[1], dp[2]);
  }
  // d(uv)/d(coefficients) = D R (3 x K rows of the slot).
  using Mat33 = Eigen::Matrix<double, 3, 3, Eigen::RowMajor>;
  Eigen::Map<Mat23>(out->point) = D * Eigen::Map<const Mat33>(R);
  return true;
}

bool LandmarkReprojectionCost::Evaluate(double const* const* parameters, double* residuals,
                                        double** jacobians) const {
  const int k_id = vertices_->num_identity();
  const int k_exp = vertices_->num_expression();
  const int id_block = 3;
  const int exp_block = k_id > 0 ? 4 : 3;
  const RotationTerms rotation(parameters[0]);
  LandmarkPartials d;
  const Eigen::Vector3d point = ModelPoint(k_id > 0 ? parameters[id_block] : nullptr,
                                          k_exp > 0 ? parameters[exp_block] : nullptr);
  if (!Linearize(rotation, point, parameters[1], parameters[2], jacobians != nullptr, &d)) {
    return false;
  }
  residuals[0] = d.residual[0];
  residuals[1] = d.residual[1];
  if (jacobians == nullptr) return true;
  if (jacobians[0] != nullptr) std::copy(d.rotation, d.rotation + 6, jacobians[0]);
  if (jacobians[1] != nullptr) std::copy(d.view, d.view + 6, jacobians[1]);
  if (jacobians[2] != nullptr) std::copy(d.camera, d.camera + 6, jacobians[2]);
  // Each coefficient Jacobian row as a combination of the slot's three contiguous basis rows
  // (Eigen's GEMM path would pack these tiny operands and dominated the whole fit).
  auto basis_rows = [&](const GatheredVertices::RowMajorXf& basis, double* out) {
    CombineBasisRows(basis, slot_, d.point, 1.0, out, out + basis.cols());
  };
  if (k_id > 0 && jacobians[id_block] != nullptr) {
    basis_rows(vertices_->identity, jacobians[id_block]);
  }
  if (k_exp > 0 && jacobians[exp_block] != nullptr) {
    basis_rows(vertices_->expression, jacobians[exp_block]);
  }
  return true;
}

void CombineBasisRows(const GatheredVertices::RowMajorXf& basis, int slot, const double* d,
                      double scale, double* out0, double* out1) {
  const int k = static_cast<int>(basis.cols());
  const float* b0 = basis.row(3 * slot).data();
  const float* b1 = b0 + k;
  const float* b2 = b1 + k;
  const double d0 = scale * d[0], d1 = scale * d[1], d2 = scale * d[2];
  const double e0 = scale * d[3], e1 = scale * d[4], e2 = scale * d[5];
  for (int c = 0; c < k; ++c) {
    const double v0 = b0[c], v1 = b1[c], v2 = b2[c];
    out0[c] = d0 * v0 + d1 * v1 + d2 * v2;
    out1[c] = e0 * v0 + e1 * v1 + e2 * v2;
  }
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
