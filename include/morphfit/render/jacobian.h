// Analytic Jacobians of rendered pixel colours and projected landmarks with respect to the
// FaceParams flat vector [identity | expression | albedo | lighting 27 | rotation 3 |
// translation 3 | camera 3] (face_params.h), holding visibility fixed (each pixel keeps its
// triangle; its barycentrics move with the vertices). Chain rule through math/shading.h
// (normal, albedo, SH), math/raster.h (barycentrics), math/camera.h, math/rotation.h and the
// area-weighted vertex normals. Two forms: explicit rows for chosen pixels (Ceres), and fused
// JᵀJ / Jᵀr over a whole image without storing J (own Gauss-Newton), weighted and robust.
#ifndef MORPHFIT_RENDER_JACOBIAN_H_
#define MORPHFIT_RENDER_JACOBIAN_H_

#include <cstdint>
#include <vector>

#include <Eigen/Core>

#include "morphfit/core/face_params.h"
#include "morphfit/core/status.h"
#include "morphfit/core/thread_pool.h"
#include "morphfit/math/pixel_jacobian.h"
#include "morphfit/models/morphable_model.h"
#include "morphfit/render/renderer.h"

namespace morphfit::render {

// Per-model data for Jacobians, built once: bases transposed to vertex-major rows (so one
// vertex's K coefficients are contiguous) and vertex -> triangle adjacency.
struct JacobianModel {
  using RowMajorXf = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  RowMajorXf shape_rows;   // 3N x (K_id + K_exp): [identity | expression] columns
  RowMajorXf albedo_rows;  // 3N x K_alb
  std::vector<int> vertex_triangle_offsets;  // N + 1
  std::vector<int> vertex_triangles;
};
JacobianModel MakeJacobianModel(const models::MorphableModel& model);

// Column offsets of each block in the flat vector.
struct ParamLayout {
  int identity = 0, expression = 0, albedo = 0, lighting = 0, rotation = 0, translation = 0,
      camera = 0, total = 0;
  static ParamLayout For(const models::MorphableModel& model);
};

// Explicit form: for each pixel (x, y) in `pixels` that the visibility buffer covers, its colour
// (RGB) and 3 rows of dcolour/dparams (rows 3i..3i+2 for pixel i; zero rows and colour for
// uncovered pixels). T = double for checks, float for speed.
template <typename T>
struct PixelRows {
  Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> jacobian;  // 3n x P
  Eigen::Matrix<T, Eigen::Dynamic, 1> colors;                                  // 3n
};
template <typename T>
StatusOr<PixelRows<T>> ComputePixelRows(const models::MorphableModel& model,
                                        const JacobianModel& jmodel, const FaceParams& params,
                                        const VisibilityBuffer& visibility,
                                        const std::vector<Eigen::Vector2i>& pixels,
                                        const RenderOptions& options, ThreadPool* pool);

using RobustLoss = math::RobustLoss;  // kNone, kHuber, kCauchy

struct PhotometricOptions {
  RobustLoss loss = RobustLoss::kNone;
  double loss_scale = 0.1;  // colour units ([0, 1] RGB), on the pixel's residual norm
};

struct NormalEquations {
  Eigen::MatrixXd jtj;  // P x P, sum over pixels of w J_pᵀ J_p (J_p: 3 x P)
  Eigen::VectorXd jtr;  // P, sum of w J_pᵀ r_p
  double cost = 0.0;    // sum of weight * rho(|r_p|), rho = |r|² / 2 for kNone
  int num_pixels = 0;
};

// Fused form over every covered pixel with a non-zero weight: r_p = colour_p - observed_p
// (observed: width * height * 3 RGB floats), pixel weight = weights[p] (width * height, may be
// null = 1) times the IRLS weight of the loss at |r_p| (Huber: min(1, s/|r|); Cauchy:
// 1 / (1 + |r|²/s²)). Accumulates float32 tiles with rank updates; chunks of rows are reduced
// in a fixed order, so the result does not depend on the thread count.
StatusOr<NormalEquations> AccumulatePhotometric(
    const models::MorphableModel& model, const JacobianModel& jmodel, const FaceParams& params,
    const VisibilityBuffer& visibility, const float* observed, const float* weights,
    const RenderOptions& render_options, const PhotometricOptions& options, ThreadPool* pool);

// Projected landmarks (model.landmarks) and d(u, v)/dparams: uv is 2 x L, jacobian 2L x P
// (rows 2k, 2k + 1 for landmark k).
struct LandmarkRows {
  Eigen::Matrix2Xd uv;
  Eigen::MatrixXd jacobian;
};
StatusOr<LandmarkRows> ComputeLandmarkRows(const models::MorphableModel& model,
                                           const FaceParams& params);

// The fused form's per-face inputs with the shape derivatives as dense rows per needed vertex
// (the explicit form's layout): what the CUDA twin of AccumulatePhotometric
// (cuda/render_jacobian.h, NormalEquationsInput) takes from the host. Built at `params` for the
// vertices of the triangles that `visibility` shows.
struct DenseJacobianFace {
  FaceGeometry<float> geometry;
  std::vector<int> vertex_slot;  // N: vertex -> slot, -1 = not needed
  JacobianModel::RowMajorXf dpoint_dshape, dnormal_dshape;  // 3 slots x (K_id + K_exp)
  std::vector<float> dpoint_drot, dnormal_drot;             // 9 per slot
  math::SpecularParams<float> spec;
  int num_slots() const { return static_cast<int>(dpoint_drot.size() / 9); }
  // The shared per-pixel Jacobian's view (borrows this object, the model and `jmodel`): fed to
  // math::AccumulateNormalEquationsReference it gives AccumulatePhotometric's sums.
  math::PixelJacobianInputs<float> Inputs(const models::MorphableModel& model,
                                          const JacobianModel& jmodel) const;
};
StatusOr<DenseJacobianFace> ComputeDenseJacobianFace(const models::MorphableModel& model,
                                                     const JacobianModel& jmodel,
                                                     const FaceParams& params,
                                                     const VisibilityBuffer& visibility,
                                                     const RenderOptions& render_options,
                                                     ThreadPool* pool);

}  // namespace morphfit::render

#endif  // MORPHFIT_RENDER_JACOBIAN_H_
