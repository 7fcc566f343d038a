// Deep3DFaceRecon 257-vector and 3DDFA 62-vector import/export (formulas in param_convert.h).
#include "morphfit/render/param_convert.h"

#include <cmath>
#include <string>

#include <Eigen/Dense>

#include "morphfit/math/rotation.h"
#include "morphfit/math/sh.h"

namespace morphfit::render {
namespace {

using Mat3 = Eigen::Matrix<double, 3, 3, Eigen::RowMajor>;
const Mat3 kFlipYz = Eigen::Vector3d(1.0, -1.0, -1.0).asDiagonal();

Mat3 RotationOf(const Eigen::Vector3d& axis_angle) {
  Mat3 r;
  math::AxisAngleToRotation(axis_angle.data(), r.data());
  return r;
}

Eigen::Vector3d AxisAngleOf(const Mat3& r) {
  Eigen::Vector3d w;
  math::RotationToAxisAngle(r.data(), w.data());
  return w;
}

Status CheckBlock(const Eigen::VectorXd& block, int keep, const char* name, const char* target) {
  for (Eigen::Index i = keep; i < block.size(); ++i) {
    if (block[i] != 0.0) {
      return InvalidArgumentError(std::string(target) + " export: " + name + " coefficient " +
                                  std::to_string(i) + " is " + std::to_string(block[i]) +
                                  " but the format holds only " + std::to_string(keep));
    }
  }
  return OkStatus();
}

Eigen::VectorXd Padded(const double* values, int count, int size) {
  Eigen::VectorXd out = Eigen::VectorXd::Zero(size);
  for (int i = 0; i < count; ++i) out[i] = values[i];
  return out;
}

Status CheckTargetSizes(const BlockSizes& sizes, int id, int exp, int alb, const char* source) {
  if (sizes.num_identity < id || sizes.num_expression < exp || sizes.num_albedo < alb) {
    return InvalidArgumentError(
        std::string(source) + " import: target block sizes " + std::to_string(sizes.num_identity) +
        "/" + std::to_string(sizes.num_expression) + "/" + std::to_string(sizes.num_albedo) +
        " are smaller than the format's " + std::to_string(id) + "/" + std::to_string(exp) + "/" +
        std::to_string(alb));
  }
  return OkStatus();
}

}  // namespace

StatusOr<FaceParams> FaceParamsFromDeep3d(const std::vector<double>& coeffs,
                                          const Eigen::Vector3d& model_center_mm,
                                          const BlockSizes& sizes) {
  if (static_cast<int>(coeffs.size()) != kDeep3dSize) {
    return InvalidArgumentError("Deep3DFaceRecon import: expected 257 coefficients, got " +
                                std::to_string(coeffs.size()));
  }
  MORPHFIT_RETURN_IF_ERROR(CheckTargetSizes(sizes, kDeep3dIdentity, kDeep3dExpression,
                                            kDeep3dAlbedo, "Deep3DFaceRecon"));
  FaceParams p = FaceParams::Frontal(sizes.num_identity, sizes.num_expression, sizes.num_albedo,
                                     kDeep3dImageSize, kDeep3dImageSize, kDeep3dFocalPx, 1000.0);
  p.identity = Padded(coeffs.data(), kDeep3dIdentity, sizes.num_identity);
  p.expression = Padded(coeffs.data() + 80, kDeep3dExpression, sizes.num_expression);
  p.albedo = Padded(coeffs.data() + 144, kDeep3dAlbedo, sizes.num_albedo);
  Mat3 rd;
  math::EulerZyxToRotation(coeffs.data() + 224, rd.data());
  for (int i = 0; i < kNumLighting; ++i) p.lighting[i] = coeffs[227 + i];
  for (int c = 0; c < 3; ++c) p.lighting[c * kNumShBands] += kDefaultAmbient;
  const Eigen::Vector3d td(coeffs[254], coeffs[255], coeffs[256]);
  const Mat3 r = kFlipYz * rd;
  p.rotation = AxisAngleOf(r);
  p.translation = 100.0 * (kFlipYz * td) - r * model_center_mm +
                  Eigen::Vector3d(0.0, 0.0, 100.0 * kDeep3dCameraDistanceDm);
  // Their v (y up) becomes H - 1 - v: cy = 223 - 112 = 111.
  p.camera = Eigen::Vector3d(kDeep3dFocalPx, kDeep3dCenterPx,
                             kDeep3dImageSize - 1 - kDeep3dCenterPx);
  return p;
}

StatusOr<std::vector<double>> FaceParamsToDeep3d(const FaceParams& p,
                                                 const Eigen::Vector3d& model_center_mm) {
  MORPHFIT_RETURN_IF_ERROR(p.Validate("Deep3DFaceRecon export"));
  const Eigen::Vector3d camera(kDeep3dFocalPx, kDeep3dCenterPx,
                               kDeep3dImageSize - 1 - kDeep3dCenterPx);
  if (p.camera_type != CameraType::kPinhole || (p.camera - camera).cwiseAbs().maxCoeff() > 1e-9 ||
      p.image_width != kDeep3dImageSize || p.image_height != kDeep3dImageSize) {
    return InvalidArgumentError(
        "Deep3DFaceRecon export: needs a pinhole camera (1015, 112, 111) on a 224 x 224 image");
  }
  MORPHFIT_RETURN_IF_ERROR(CheckBlock(p.identity, kDeep3dIdentity, "identity", "Deep3DFaceRecon"));
  MORPHFIT_RETURN_IF_ERROR(
      CheckBlock(p.expression, kDeep3dExpression, "expression", "Deep3DFaceRecon"));
  MORPHFIT_RETURN_IF_ERROR(CheckBlock(p.albedo, kDeep3dAlbedo, "albedo", "Deep3DFaceRecon"));
  std::vector<double> out(kDeep3dSize, 0.0);
  for (int i = 0; i < kDeep3dIdentity && i < p.identity.size(); ++i) out[i] = p.identity[i];
  for (int i = 0; i < kDeep3dExpression && i < p.expression.size(); ++i) {
    out[80 + i] = p.expression[i];
  }
  for (int i = 0; i < kDeep3dAlbedo && i < p.albedo.size(); ++i) out[144 + i] = p.albedo[i];
  const Mat3 r = RotationOf(p.rotation);
  const Mat3 rd = kFlipYz * r;
  math::RotationToEulerZyx(rd.data(), out.data() + 224);
  for (int i = 0; i < kNumLighting; ++i) out[227 + i] = p.lighting[i];
  for (int c = 0; c < 3; ++c) out[227 + c * kNumShBands] -= kDefaultAmbient;
  const Eigen::Vector3d td =
      kFlipYz * (p.translation + r * model_center_mm -
                 Eigen::Vector3d(0.0, 0.0, 100.0 * kDeep3dCameraDistanceDm)) / 100.0;
  for (int i = 0; i < 3; ++i) out[254 + i] = td[i];
  return out;
}

StatusOr<FaceParams> FaceParamsFromDdfa62(const std::vector<double>& param,
                                          const DdfaConversion& conv) {
  if (static_cast<int>(param.size()) != kDdfaSize) {
    return InvalidArgumentError("3DDFA import: expected 62 parameters, got " +
                                std::to_string(param.size()));
  }
  if (conv.identity_raw_to_sigma.size() != kDdfaIdentity ||
      conv.expression_raw_to_sigma.size() != kDdfaExpression) {
    return InvalidArgumentError("3DDFA import: need 40 identity and 10 expression factors");
  }
  MORPHFIT_RETURN_IF_ERROR(
      CheckTargetSizes(conv.sizes, kDdfaIdentity, kDdfaExpression, 0, "3DDFA"));
  for (double v : param) {
    if (!std::isfinite(v)) return InvalidArgumentError("3DDFA import: non-finite parameter");
  }
  const Eigen::Vector3d row0(param[0], param[1], param[2]);
  const Eigen::Vector3d row1(param[4], param[5], param[6]);
  const double s = 0.5 * (row0.norm() + row1.norm());  // P2sRt
  if (!(s > 0.0)) return InvalidArgumentError("3DDFA import: zero scale");
  Mat3 rd;
  rd.row(0) = row0.normalized();
  rd.row(1) = row1.normalized();
  rd.row(2) = rd.row(0).cross(rd.row(1));
  // Nearest rotation (polar decomposition): P2sRt's rows need not be exactly orthogonal.
  Eigen::JacobiSVD<Mat3> svd(rd, Eigen::ComputeFullU | Eigen::ComputeFullV);
  rd = svd.matrixU() * svd.matrixV().transpose();
  FaceParams p = FaceParams::Frontal(conv.sizes.num_identity, conv.sizes.num_expression,
                                     conv.sizes.num_albedo, kDdfaImageSize, kDdfaImageSize, 1.0,
                                     conv.depth_mm);
  p.camera_type = CameraType::kWeakPerspective;
  p.rotation = AxisAngleOf(kFlipYz * rd);
  p.translation = Eigen::Vector3d(0.0, 0.0, conv.depth_mm);
  p.camera = Eigen::Vector3d(1000.0 * s, param[3] - 1.0, kDdfaImageSize - param[7]);
  for (int i = 0; i < kDdfaIdentity; ++i) {
    p.identity[i] = param[12 + i] * conv.identity_raw_to_sigma[i];
  }
  for (int i = 0; i < kDdfaExpression; ++i) {
    p.expression[i] = param[52 + i] * conv.expression_raw_to_sigma[i];
  }
  return p;
}

StatusOr<std::vector<double>> FaceParamsToDdfa62(const FaceParams& p,
                                                 const DdfaConversion& conv) {
  MORPHFIT_RETURN_IF_ERROR(p.Validate("3DDFA export"));
  if (p.camera_type != CameraType::kWeakPerspective) {
    return InvalidArgumentError("3DDFA export: needs a weak-perspective camera");
  }
  if (conv.identity_raw_to_sigma.size() != kDdfaIdentity ||
      conv.expression_raw_to_sigma.size() != kDdfaExpression) {
    return InvalidArgumentError("3DDFA export: need 40 identity and 10 expression factors");
  }
  MORPHFIT_RETURN_IF_ERROR(CheckBlock(p.identity, kDdfaIdentity, "identity", "3DDFA"));
  MORPHFIT_RETURN_IF_ERROR(CheckBlock(p.expression, kDdfaExpression, "expression", "3DDFA"));
  std::vector<double> out(kDdfaSize, 0.0);
  const double s_px_per_mm = p.camera[0];
  const Mat3 rd = kFlipYz * RotationOf(p.rotation);
  // u = s (R X + t)_x + ox = (s/1000) r1 . X_um + (s t_x + ox); V_x = u + 1, V_y = 120 - v.
  const double tx = s_px_per_mm * p.translation.x() + p.camera[1] + 1.0;
  const double ty = kDdfaImageSize - (s_px_per_mm * p.translation.y() + p.camera[2]);
  for (int c = 0; c < 3; ++c) {
    for (int r = 0; r < 3; ++r) out[4 * r + c] = s_px_per_mm / 1000.0 * rd(r, c);
  }
  out[3] = tx;
  out[7] = ty;
  out[11] = 0.0;
  for (int i = 0; i < kDdfaIdentity && i < p.identity.size(); ++i) {
    out[12 + i] = p.identity[i] / conv.identity_raw_to_sigma[i];
  }
  for (int i = 0; i < kDdfaExpression && i < p.expression.size(); ++i) {
    out[52 + i] = p.expression[i] / conv.expression_raw_to_sigma[i];
  }
  return out;
}

Eigen::Matrix<double, 27, 1> LightingToSfsnet(const Eigen::Matrix<double, 27, 1>& lighting) {
  Eigen::Matrix<double, 27, 1> out;
  for (int c = 0; c < 3; ++c) math::Deep3dToSfsnetSh(lighting.data() + 9 * c, out.data() + 9 * c);
  return out;
}

Eigen::Matrix<double, 27, 1> LightingFromSfsnet(const Eigen::Matrix<double, 27, 1>& sfsnet) {
  Eigen::Matrix<double, 27, 1> out;
  for (int c = 0; c < 3; ++c) math::SfsnetToDeep3dSh(sfsnet.data() + 9 * c, out.data() + 9 * c);
  return out;
}

}  // namespace morphfit::render
