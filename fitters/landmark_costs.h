// Ceres cost functions of the landmark fit (private to fitters/: Ceres types stay out of the
// public headers). Analytic Jacobians on the shared math (math/rotation.h, math/camera.h),
// checked against central differences with ceres::GradientChecker in
// tests/fitters/landmark_costs_test.cc.
//
// Parameter blocks of a landmark residual (FaceParams conventions, face_params.h):
//   rotation (3, axis-angle rad, camera_from_model) | translation (3, mm, camera frame) |
//   camera (3: pinhole focal, cx, cy px; weak perspective scale px/mm, ox, oy px) |
//   identity (K_id, sigma units) | expression (K_exp)   -- a block of size 0 is left out.
//
// No Eigen object may cross into or out of Ceres: Debian's libceres.a is built for generic
// x86-64 (16-byte Eigen alignment, plain malloc) while morphfit builds with -march=x86-64-v3
// (32-byte alignment, Eigen's offset-storing aligned allocator), so a matrix allocated on one
// side and freed on the other corrupts the heap. Only raw double arrays are exchanged here.
#ifndef MORPHFIT_FITTERS_LANDMARK_COSTS_H_
#define MORPHFIT_FITTERS_LANDMARK_COSTS_H_

#include <vector>

#include <Eigen/Core>
#include <ceres/cost_function.h>

#include "morphfit/models/morphable_model.h"

namespace morphfit::fitters {

// A few model vertices gathered once per fit, vertex-major so that one vertex's coefficients
// are contiguous: for vertex slot s, mean(3s .. 3s+2) mm, identity rows 3s .. 3s+2 (3 x K_id,
// mm per sigma), expression rows likewise. The bases stay in the model's float (half the
// memory traffic of the rows, the fit's main load); every product with them is in double.
struct GatheredVertices {
  using RowMajorXf = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  std::vector<int> vertex_ids;  // slot -> model vertex id
  Eigen::VectorXd mean;         // 3 * slots
  RowMajorXf identity;          // (3 * slots) x K_id
  RowMajorXf expression;        // (3 * slots) x K_exp

  static GatheredVertices Make(const models::MorphableModel& model,
                               const std::vector<int>& vertex_ids);
  int num_identity() const { return static_cast<int>(identity.cols()); }
  int num_expression() const { return static_cast<int>(expression.cols()); }
  // point (3, mm, model frame) of slot s for the given coefficients (sizes K_id, K_exp; a null
  // pointer stands for all zeros).
  Eigen::Vector3d Point(int slot, const double* identity_coeffs,
                        const double* expression_coeffs) const;
};

// The rotation of a parameter point expanded once for all its landmarks:
// math::AxisAngleToRotationWithJacobian's R and dR / dw_j (row-major 3 x 3 each).
struct RotationTerms {
  double R[9];
  double dR[3][9];

  explicit RotationTerms(const double* axis_angle);
};

// One landmark's residual and its derivatives at a parameter point, before the chain rule
// through the basis: d r / d (rotation, block 1, block 2) and D = d r / d (model point) (each
// 2 x 3 row-major); d r / d coefficients = D times the slot's 3 basis rows.
struct LandmarkPartials {
  double residual[2];
  double rotation[6], view[6], camera[6];
  double point[6];
};

// Pinhole points nearer than this (mm, camera z) make the residual invalid: Ceres rejects the
// step instead of following the projection through the singularity at z = 0.
constexpr double kMinDepthMm = 1.0;

// What blocks 1 and 2 of a landmark residual hold.
//  kWeakPerspective: block 1 unused, block 2 = (scale px/mm, ox, oy px) (FaceParams').
//  kPinhole: translation t (mm) | (focal f, cx, cy) px (FaceParams').
//  kPinholeImageScale: the same pinhole camera and pose, parameterised so that the focal
//    length changes only the perspective: block 1 = (p_x, p_y, s) with s = f / t_z (px per mm:
//    the image scale at the depth of the model origin) and p = f t_xy / t_z (px: the origin's
//    image offset from the principal point); block 2 = (kappa, cx, cy) with kappa = F / f, F a
//    fixed reference focal length (the cost's; kappa ~ 1 keeps numerical differences and
//    bounds well scaled). For the rotated point X = R x:
//      uv = c + (s X_xy + p) / (1 + kappa s X_z / F),
//    the weak-perspective camera at kappa = 0. With (t, f) the image scale f / t_z is the same
//    along the ray (a t, a f): the fit crawls along that valley when the focal length is
//    estimated; here the valley is the kappa axis, nearly linear in the residuals.
enum class Projection { kWeakPerspective, kPinhole, kPinholeImageScale };

// (translation mm, focal px) <-> kPinholeImageScale's (p_x, p_y, s) and kappa for the
// reference focal length F (px); t_z > 0, f > 0.
void ToImageScale(const Eigen::Vector3d& translation, double focal_px, double reference_px,
                  Eigen::Vector3d* view, double* kappa);
void FromImageScale(const Eigen::Vector3d& view, double kappa, double reference_px,
                    Eigen::Vector3d* translation, double* focal_px);

// r = uv(point of slot) - target, pixels. The slot can be changed between solves (jaw contour
// re-assignment); the gathered table must outlive the cost. `perspective` picks kPinhole or
// kWeakPerspective.
class LandmarkReprojectionCost final : public ceres::CostFunction {
 public:
  // reference_px: F of kPinholeImageScale (unused by the others).
  LandmarkReprojectionCost(const GatheredVertices* vertices, int slot, Projection projection,
                           const Eigen::Vector2d& target_px, double reference_px = 1.0);
  LandmarkReprojectionCost(const GatheredVertices* vertices, int slot, bool perspective,
                           const Eigen::Vector2d& target_px);
  static LandmarkReprojectionCost* Create(const GatheredVertices* vertices, int slot,
                                          Projection projection, const Eigen::Vector2d& target_px,
                                          double reference_px = 1.0);
  static LandmarkReprojectionCost* Create(const GatheredVertices* vertices, int slot,
                                          bool perspective, const Eigen::Vector2d& target_px);

  bool Evaluate(double const* const* parameters, double* residuals,
                double** jacobians) const override;

  // The slot's model point (GatheredVertices::Point).
  Eigen::Vector3d ModelPoint(const double* identity_coeffs, const double* expression_coeffs) const {
    return vertices_->Point(slot_, identity_coeffs, expression_coeffs);
  }
  // Evaluate's arithmetic with the rotation (shared by every landmark of a parameter point) and
  // the model point given, the coefficient Jacobians left to the caller
  // (LandmarkPartials::point times the slot's basis rows): the own solver forms its rows from
  // this. With partials false only the residual is set. False where Evaluate fails (a point
  // behind the camera).
  bool Linearize(const RotationTerms& rotation, const Eigen::Vector3d& point_model,
                 const double* translation, const double* camera, bool partials,
                 LandmarkPartials* out) const;

  void set_slot(int slot);
  int slot() const { return slot_; }
  const Eigen::Vector2d& target() const { return target_; }
  const GatheredVertices& vertices() const { return *vertices_; }

 private:
  const GatheredVertices* vertices_;
  int slot_;
  Projection projection_;
  double inv_reference_;  // 1 / F
  Eigen::Vector2d target_;
};

// out_i[c] = scale * (d[3i] b0[c] + d[3i + 1] b1[c] + d[3i + 2] b2[c]) for i = 0, 1, b0..b2 the
// slot's three basis rows (K = basis.cols()): both landmark rows' coefficient Jacobians from
// LandmarkPartials::point, in one pass over the basis rows.
void CombineBasisRows(const GatheredVertices::RowMajorXf& basis, int slot, const double* d,
                      double scale, double* out0, double* out1);

// Gaussian coefficient prior in sigma units: r_k = sqrt(weight) * c_k (k < size), so the cost
// is weight / 2 * |c|^2 in the landmark residuals' units (px^2 per sigma^2).
class CoefficientPriorCost final : public ceres::CostFunction {
 public:
  CoefficientPriorCost(int size, double weight);
  static CoefficientPriorCost* Create(int size, double weight);

  bool Evaluate(double const* const* parameters, double* residuals,
                double** jacobians) const override;

 private:
  int size_;
  double sqrt_weight_;
};

}  // namespace morphfit::fitters

#endif  // MORPHFIT_FITTERS_LANDMARK_COSTS_H_
