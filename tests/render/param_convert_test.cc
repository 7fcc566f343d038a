// Deep3DFaceRecon 257 and 3DDFA 62 converters: the projection of model points through the
// converted FaceParams equals a re-implementation of each tool's published formulas
// (FORMATS.md §3, §4); round trips; refusals; SfSNet lighting.
#include "morphfit/render/param_convert.h"

#include <cmath>
#include <random>
#include <vector>

#include <Eigen/Dense>
#include <gtest/gtest.h>

#include "morphfit/math/camera.h"
#include "morphfit/math/rotation.h"
#include "morphfit/math/sh.h"

namespace morphfit::render {
namespace {

// Pixel positions agree to float-free double rounding of ~1e3-px quantities.
constexpr double kPixelTolerance = 1e-8;

Eigen::Vector2d ProjectOurs(const FaceParams& p, const Eigen::Vector3d& x_mm) {
  double R[9];
  math::AxisAngleToRotation(p.rotation.data(), R);
  double pc[3], uv[2];
  math::RigidTransform(R, p.translation.data(), x_mm.data(), pc);
  math::Project<double>(p.camera_type == CameraType::kPinhole, p.camera.data(), pc, uv, nullptr,
                        nullptr);
  return {uv[0], uv[1]};
}

std::vector<double> RandomDeep3d(std::mt19937* gen) {
  std::uniform_real_distribution<double> uni(-1.0, 1.0);
  std::vector<double> c(kDeep3dSize);
  for (double& v : c) v = uni(*gen);
  c[224] = 0.2, c[225] = -0.3, c[226] = 0.1;        // angles, rad
  c[254] = 0.1, c[255] = -0.2, c[256] = 0.5;        // trans, dm
  return c;
}

TEST(Deep3dConvertTest, ProjectionMatchesTheirCameraFormula) {
  std::mt19937 gen(1);
  const std::vector<double> c = RandomDeep3d(&gen);
  const Eigen::Vector3d center(1.5, -20.0, 40.0);  // mm
  auto p = FaceParamsFromDeep3d(c, center, {80, 64, 80});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  std::uniform_real_distribution<double> uni(-80.0, 80.0);
  for (int i = 0; i < 20; ++i) {
    const Eigen::Vector3d x_mm(uni(gen), uni(gen), 0.5 * uni(gen));
    // Deep3D: v = (X - c) / 100 (dm), v' = Rz Ry Rx v + t, z_c = 10 - z',
    // u = 1015 x'/z_c + 112, v_up = 1015 y'/z_c + 112, image row = 223 - v_up.
    double rd[9];
    math::EulerZyxToRotation(c.data() + 224, rd);
    const Eigen::Vector3d v = (x_mm - center) / 100.0;
    double vp[3];
    math::Rotate(rd, v.data(), vp);
    for (int k = 0; k < 3; ++k) vp[k] += c[254 + k];
    const double zc = 10.0 - vp[2];
    const double u = 1015.0 * vp[0] / zc + 112.0;
    const double row = 223.0 - (1015.0 * vp[1] / zc + 112.0);
    const Eigen::Vector2d ours = ProjectOurs(p.value(), x_mm);
    EXPECT_NEAR(ours.x(), u, kPixelTolerance);
    EXPECT_NEAR(ours.y(), row, kPixelTolerance);
  }
  // Lighting: absolute = gamma + 0.8 on band 0; and the normal rotation: their rotated normal
  // R_d n equals our view-frame normal F R n.
  EXPECT_DOUBLE_EQ(p.value().lighting[9], c[227 + 9] + 0.8);
  EXPECT_DOUBLE_EQ(p.value().lighting[10], c[227 + 10]);
  EXPECT_EQ(p.value().identity[79], c[79]);
  EXPECT_EQ(p.value().albedo[0], c[144]);
}

TEST(Deep3dConvertTest, RoundTripAndRefusals) {
  std::mt19937 gen(2);
  const std::vector<double> c = RandomDeep3d(&gen);
  const Eigen::Vector3d center(0.0, 5.0, 30.0);
  auto p = FaceParamsFromDeep3d(c, center, {100, 64, 90});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.value().identity.size(), 100);
  EXPECT_EQ(p.value().identity[90], 0.0);
  auto back = FaceParamsToDeep3d(p.value(), center);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  for (int i = 0; i < kDeep3dSize; ++i) EXPECT_NEAR(back.value()[i], c[i], 1e-12) << i;

  FaceParams extra = p.value();
  extra.identity[85] = 0.5;  // beyond Deep3D's 80
  EXPECT_FALSE(FaceParamsToDeep3d(extra, center).ok());
  FaceParams other_camera = p.value();
  other_camera.camera[0] = 1000.0;
  EXPECT_FALSE(FaceParamsToDeep3d(other_camera, center).ok());
  EXPECT_FALSE(FaceParamsFromDeep3d(std::vector<double>(256, 0.0), center, {80, 64, 80}).ok());
  EXPECT_FALSE(FaceParamsFromDeep3d(c, center, {40, 64, 80}).ok());
}

DdfaConversion MakeDdfaConversion() {
  DdfaConversion conv;
  conv.identity_raw_to_sigma = Eigen::VectorXd::LinSpaced(kDdfaIdentity, 1e-5, 3e-5);
  conv.expression_raw_to_sigma = Eigen::VectorXd::LinSpaced(kDdfaExpression, 0.5, 2.0);
  conv.sizes = {50, 20, 10};
  return conv;
}

TEST(DdfaConvertTest, ProjectionMatchesTheirWeakPerspectiveFormula) {
  // A 62-vector made like 3DDFA's: P = s [r1; r2; r3] from a rotation, translation in pixels.
  const double s = 1.3e-3;  // px per um
  const double angles[3] = {0.1, 0.4, -0.2};
  double rd[9];
  math::EulerZyxToRotation(angles, rd);
  std::vector<double> param(kDdfaSize, 0.0);
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) param[4 * r + c] = s * rd[3 * r + c];
  }
  param[3] = 60.7, param[7] = 69.4, param[11] = -76.6;
  std::mt19937 gen(3);
  std::uniform_real_distribution<double> uni(-1.0, 1.0);
  for (int i = 12; i < kDdfaSize; ++i) param[i] = (i < 52 ? 2e5 : 1.0) * uni(gen);
  const DdfaConversion conv = MakeDdfaConversion();
  auto p = FaceParamsFromDdfa62(param, conv);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p.value().camera_type, CameraType::kWeakPerspective);
  std::uniform_real_distribution<double> pos(-80.0, 80.0);
  for (int i = 0; i < 20; ++i) {
    const Eigen::Vector3d x_mm(pos(gen), pos(gen), pos(gen));
    const Eigen::Vector3d x_um = 1000.0 * x_mm;
    // V = P[:, :3] X_um + t; 0-based image (u, v) = (V_x - 1, 120 - V_y).
    const double vx = param[0] * x_um[0] + param[1] * x_um[1] + param[2] * x_um[2] + param[3];
    const double vy = param[4] * x_um[0] + param[5] * x_um[1] + param[6] * x_um[2] + param[7];
    const Eigen::Vector2d ours = ProjectOurs(p.value(), x_mm);
    EXPECT_NEAR(ours.x(), vx - 1.0, 1e-7);
    EXPECT_NEAR(ours.y(), 120.0 - vy, 1e-7);
  }
  EXPECT_NEAR(p.value().identity[3], param[15] * conv.identity_raw_to_sigma[3], 1e-12);
  EXPECT_NEAR(p.value().expression[9], param[61] * conv.expression_raw_to_sigma[9], 1e-12);

  auto back = FaceParamsToDdfa62(p.value(), conv);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  for (int i = 0; i < kDdfaSize; ++i) {
    if (i == 11) continue;  // depth offset: not representable under weak perspective
    EXPECT_NEAR(back.value()[i], param[i], 1e-9 * std::max(1.0, std::fabs(param[i]))) << i;
  }
  FaceParams pinhole = p.value();
  pinhole.camera_type = CameraType::kPinhole;
  EXPECT_FALSE(FaceParamsToDdfa62(pinhole, conv).ok());
  std::vector<double> bad = param;
  bad[20] = NAN;
  EXPECT_FALSE(FaceParamsFromDdfa62(bad, conv).ok());
}

TEST(SfsnetLightingTest, EqualShadingOnRandomNormals) {
  Eigen::Matrix<double, 27, 1> lighting = Eigen::Matrix<double, 27, 1>::Random();
  const Eigen::Matrix<double, 27, 1> sfs = LightingToSfsnet(lighting);
  EXPECT_LT((LightingFromSfsnet(sfs) - lighting).cwiseAbs().maxCoeff(), 1e-14);
  std::mt19937 gen(4);
  std::normal_distribution<double> g(0.0, 1.0);
  for (int t = 0; t < 20; ++t) {
    Eigen::Vector3d n(g(gen), g(gen), g(gen));
    n.normalize();
    double Y[9], H[9];
    math::ShBasis(n.data(), Y);
    math::SfsnetShBasis(n.data(), H);
    for (int c = 0; c < 3; ++c) {
      double a = 0, b = 0;
      for (int k = 0; k < 9; ++k) {
        a += Y[k] * lighting[9 * c + k];
        b += H[k] * sfs[9 * c + k];
      }
      EXPECT_NEAR(a, b, 1e-13);
    }
  }
}

}  // namespace
}  // namespace morphfit::render
