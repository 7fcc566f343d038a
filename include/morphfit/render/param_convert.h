// Import/export of other tools' parameter vectors as FaceParams, following their published
// formulas (docs/FORMATS.md §3 Deep3DFaceRecon 257-vector, §4 3DDFA 62-vector). Conversions are
// lossless or fail: export refuses parameters the target cannot express (a non-zero coefficient
// beyond its block, another camera) instead of dropping them.
#ifndef MORPHFIT_RENDER_PARAM_CONVERT_H_
#define MORPHFIT_RENDER_PARAM_CONVERT_H_

#include <vector>

#include <Eigen/Core>

#include "morphfit/core/face_params.h"
#include "morphfit/core/status.h"

namespace morphfit::render {

// Deep3DFaceRecon (FORMATS.md §3): 257 = id 80 | exp 64 | tex 80 | angles 3 (rad, R = Rz Ry Rx)
// | gamma 27 (SH, without init_lit 0.8) | trans 3 (dm). Their model is ours in decimetres,
// recentred by the vertex mean of the mean shape; their camera sits at (0, 0, 10) dm looking
// down -z with focal 1015 px, centre 112, image 224 x 224, and their image y is flipped as
// H - 1 - y. In our camera frame (mm) that is:
//   R = F Rd,  t = 100 F td - F Rd c + (0, 0, 1000),  F = diag(1, -1, -1),
//   pinhole (1015, 112, 111), 224 x 224,  lighting = gamma + 0.8 on band 0 of each channel,
// where c (mm) is the vertex mean of the model's mean shape (their recentring).
constexpr int kDeep3dSize = 257;
constexpr int kDeep3dIdentity = 80, kDeep3dExpression = 64, kDeep3dAlbedo = 80;
constexpr double kDeep3dFocalPx = 1015.0;
constexpr double kDeep3dCenterPx = 112.0;
constexpr int kDeep3dImageSize = 224;
constexpr double kDeep3dCameraDistanceDm = 10.0;

struct BlockSizes {
  int num_identity = 0;
  int num_expression = 0;
  int num_albedo = 0;
};

// Blocks are zero-padded to `sizes` (each at least Deep3D's 80 / 64 / 80).
StatusOr<FaceParams> FaceParamsFromDeep3d(const std::vector<double>& coeffs,
                                          const Eigen::Vector3d& model_center_mm,
                                          const BlockSizes& sizes);
// Needs Deep3D's camera and image size, and no non-zero coefficient beyond 80 / 64 / 80.
StatusOr<std::vector<double>> FaceParamsToDeep3d(const FaceParams& params,
                                                 const Eigen::Vector3d& model_center_mm);

// 3DDFA (FORMATS.md §4): 62 = [sR | t] 3 x 4 row-major | 40 shape (raw shapePC units) |
// 10 expression, V = sR X_um + t on a 120 x 120 crop, 0-based image (u, v) = (V_x - 1,
// 120 - V_y). In FaceParams: weak perspective, scale 1000 s px/mm, R = F [r1; r2; r1 x r2]
// (rows normalised as in P2sRt, then projected to the nearest rotation), offset
// (t_x - 1, 120 - t_y), translation (0, 0, depth_mm) (weak perspective ignores depth for the
// projection; it only sets the depth channel). Coefficients: sigma units = raw * raw_to_sigma.
constexpr int kDdfaSize = 62;
constexpr int kDdfaIdentity = 40, kDdfaExpression = 10;
constexpr int kDdfaImageSize = 120;

struct DdfaConversion {
  // 40 factors: 1 / shapeEV_k (um) for BFM 2009 shape PCs, whose coefficients 3DDFA keeps raw.
  Eigen::VectorXd identity_raw_to_sigma;
  // 10 factors for the expression basis (|w_exp column| / |our column| in the same units).
  Eigen::VectorXd expression_raw_to_sigma;
  double depth_mm = 500.0;
  BlockSizes sizes;  // target block sizes (at least 40 / 10 / 0), zero-padded
};

StatusOr<FaceParams> FaceParamsFromDdfa62(const std::vector<double>& param,
                                          const DdfaConversion& conversion);
// Needs a weak-perspective camera and no non-zero coefficient beyond 40 / 10; albedo and
// lighting are not part of the 62-vector and are dropped. Translation x/y fold into t.
StatusOr<std::vector<double>> FaceParamsToDdfa62(const FaceParams& params,
                                                 const DdfaConversion& conversion);

// Lighting (27, R[9] G[9] B[9], Deep3D basis) to SfSNet's 27 (FORMATS.md §7) and back; the
// two give the same shading on every unit normal (math::Deep3dToSfsnetSh).
Eigen::Matrix<double, 27, 1> LightingToSfsnet(const Eigen::Matrix<double, 27, 1>& lighting);
Eigen::Matrix<double, 27, 1> LightingFromSfsnet(const Eigen::Matrix<double, 27, 1>& sfsnet);

}  // namespace morphfit::render

#endif  // MORPHFIT_RENDER_PARAM_CONVERT_H_
