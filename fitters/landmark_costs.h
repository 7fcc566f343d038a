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

// A few model vertices gathered once per fit, in double, vertex-major so that one vertex's
// coefficients are contiguous: for vertex slot s, mean(3s .. 3s+2) mm, identity rows
// 3s .. 3s+2 (3 x K_id, mm per sigma), expression rows likewise.
struct GatheredVertices {
  using RowMajorXd = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  std::vector<int> vertex_ids;  // slot -> model vertex id
  Eigen::VectorXd mean;         // 3 * slots
  RowMajorXd identity;          // (3 * slots) x K_id
  RowMajorXd expression;        // (3 * slots) x K_exp

  static GatheredVertices Make(const models::MorphableModel& model,
                               const std::vector<int>& vertex_ids);
  int num_identity() const { return static_cast<int>(identity.cols()); }
  int num_expression() const { return static_cast<int>(expression.cols()); }
  // point (3, mm, model frame) of slot s for the given coefficients (sizes K_id, K_exp).
  Eigen::Vector3d Point(int slot, const double* identity_coeffs,
                        const double* expression_coeffs) const;
};

// Pinhole points nearer than this (mm, camera z) make the residual invalid: Ceres rejects the
// step instead of following the projection through the singularity at z = 0.
constexpr double kMinDepthMm = 1.0;

// r = uv(point of slot) - target, pixels. The slot can be changed between solves (jaw contour
// re-assignment); the gathered table must outlive the cost.
class LandmarkReprojectionCost final : public ceres::CostFunction {
 public:
  LandmarkReprojectionCost(const GatheredVertices* vertices, int slot, bool perspective,
                           const Eigen::Vector2d& target_px);
  static LandmarkReprojectionCost* Create(const GatheredVertices* vertices, int slot,
                                          bool perspective, const Eigen::Vector2d& target_px);

  bool Evaluate(double const* const* parameters, double* residuals,
                double** jacobians) const override;

  void set_slot(int slot);
  int slot() const { return slot_; }
  const Eigen::Vector2d& target() const { return target_; }

 private:
  const GatheredVertices* vertices_;
  int slot_;
  bool perspective_;
  Eigen::Vector2d target_;
};

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
