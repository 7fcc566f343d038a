// The shared render math (include/morphfit/math: rotation, camera, SH, raster, shading) against
// central differences in double, plus the SfSNet SH converter by equal shading.
#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "morphfit/math/camera.h"
#include "morphfit/math/raster.h"
#include "morphfit/math/rotation.h"
#include "morphfit/math/sh.h"
#include "morphfit/math/shading.h"

namespace morphfit::math {
namespace {

// Central differences with h = 1e-6 on O(1) smooth functions: truncation ~h² f''' ~ 1e-12,
// rounding ~1e-16 / h ~ 1e-10; 1e-7 leaves room for the larger third derivatives below.
constexpr double kFdStep = 1e-6;
constexpr double kFdTolerance = 1e-7;

// f: R^n -> R^m; returns the m x n Jacobian (row-major) by central differences.
std::vector<double> NumericJacobian(const std::function<void(const double*, double*)>& f,
                                    std::vector<double> x, int m) {
  const int n = static_cast<int>(x.size());
  std::vector<double> jac(m * n), plus(m), minus(m);
  for (int j = 0; j < n; ++j) {
    const double x0 = x[j];
    x[j] = x0 + kFdStep;
    f(x.data(), plus.data());
    x[j] = x0 - kFdStep;
    f(x.data(), minus.data());
    x[j] = x0;
    for (int i = 0; i < m; ++i) jac[i * n + j] = (plus[i] - minus[i]) / (2 * kFdStep);
  }
  return jac;
}

void ExpectRotationJacobian(const double w[3]) {
  double R[9], dR[3][9];
  AxisAngleToRotationWithJacobian(w, R, dR);
  const auto jac = NumericJacobian([](const double* x, double* out) { AxisAngleToRotation(x, out); },
                                   {w[0], w[1], w[2]}, 9);
  for (int i = 0; i < 9; ++i) {
    for (int j = 0; j < 3; ++j) {
      EXPECT_NEAR(dR[j][i], jac[i * 3 + j], kFdTolerance) << "entry " << i << " d/dw" << j;
    }
  }
  // Orthonormal with determinant 1.
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) {
      const double dot = R[r] * R[c] + R[3 + r] * R[3 + c] + R[6 + r] * R[6 + c];
      EXPECT_NEAR(dot, r == c ? 1.0 : 0.0, 1e-14);
    }
  }
}

TEST(RotationTest, JacobianMatchesCentralDifferencesGenericNearZeroAndNearPi) {
  const double generic[3] = {0.3, -1.1, 0.7};
  ExpectRotationJacobian(generic);
  const double tiny[3] = {1e-3, -2e-3, 5e-4};  // inside the series branch
  ExpectRotationJacobian(tiny);
  const double zero[3] = {0.0, 0.0, 0.0};
  ExpectRotationJacobian(zero);
  const double frontal[3] = {M_PI, 0.0, 0.0};
  ExpectRotationJacobian(frontal);
  const double near_pi[3] = {0.0, (M_PI - 1e-4) / std::sqrt(2.0), (M_PI - 1e-4) / std::sqrt(2.0)};
  ExpectRotationJacobian(near_pi);
}

TEST(RotationTest, SeriesAndClosedFormAgreeAtTheSwitch) {
  // Just below and just above theta^2 = kRodriguesSeriesThetaSq.
  const double t_lo = std::sqrt(kRodriguesSeriesThetaSq) * (1 - 1e-9);
  const double t_hi = std::sqrt(kRodriguesSeriesThetaSq) * (1 + 1e-9);
  const double w_lo[3] = {t_lo, 0, 0}, w_hi[3] = {t_hi, 0, 0};
  const auto lo = ComputeRodriguesCoefficients(w_lo), hi = ComputeRodriguesCoefficients(w_hi);
  // The closed forms lose ~1e-16 / theta^4 = 1e-8 relative in cb there.
  EXPECT_NEAR(lo.a, hi.a, 1e-12);
  EXPECT_NEAR(lo.b, hi.b, 1e-12);
  EXPECT_NEAR(lo.ca, hi.ca, 1e-8);
  EXPECT_NEAR(lo.cb, hi.cb, 1e-7);
}

TEST(RotationTest, LogMapInvertsRodriguesIncludingNearPi) {
  std::mt19937 gen(3);
  std::uniform_real_distribution<double> uni(-1.0, 1.0);
  std::vector<double> angles = {0.0, 1e-7, 1e-3, 0.5, 2.0, 3.0, M_PI - 1e-6, M_PI - 1e-9};
  for (double theta : angles) {
    for (int trial = 0; trial < 5; ++trial) {
      double axis[3] = {uni(gen), uni(gen), uni(gen)};
      const double n = std::sqrt(axis[0] * axis[0] + axis[1] * axis[1] + axis[2] * axis[2]);
      double w[3], R[9], back[3], R2[9];
      for (int i = 0; i < 3; ++i) w[i] = theta * axis[i] / n;
      AxisAngleToRotation(w, R);
      RotationToAxisAngle(R, back);
      AxisAngleToRotation(back, R2);
      // Compare rotations (near pi, w and -w are the same rotation).
      for (int i = 0; i < 9; ++i) EXPECT_NEAR(R[i], R2[i], 1e-9) << "theta " << theta;
      if (theta < 3.0) {
        for (int i = 0; i < 3; ++i) EXPECT_NEAR(back[i], w[i], 1e-9) << "theta " << theta;
      }
    }
  }
}

TEST(RotationTest, EulerZyxRoundTripAndComposition) {
  const double angles[3] = {0.2, -0.4, 0.9};
  double R[9], back[3];
  EulerZyxToRotation(angles, R);
  RotationToEulerZyx(R, back);
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(back[i], angles[i], 1e-12);
  // Rz(c) alone is a rotation about z by c: axis-angle (0, 0, c).
  const double only_z[3] = {0.0, 0.0, 0.9};
  double Rz[9], w[3];
  EulerZyxToRotation(only_z, Rz);
  RotationToAxisAngle(Rz, w);
  EXPECT_NEAR(w[2], 0.9, 1e-12);
  EXPECT_NEAR(w[0], 0.0, 1e-12);
}

TEST(CameraTest, ProjectionJacobiansMatchCentralDifferences) {
  for (bool perspective : {true, false}) {
    const double camera[3] = {800.0, 111.5, 120.25};
    const double point[3] = {12.0, -30.0, 600.0};
    double uv[2], duv_dpoint[6], duv_dcamera[6];
    Project(perspective, camera, point, uv, duv_dpoint, duv_dcamera);
    const auto jp = NumericJacobian(
        [&](const double* x, double* out) {
          Project<double>(perspective, camera, x, out, nullptr, nullptr);
        },
        {point[0], point[1], point[2]}, 2);
    const auto jc = NumericJacobian(
        [&](const double* x, double* out) {
          Project<double>(perspective, x, point, out, nullptr, nullptr);
        },
        {camera[0], camera[1], camera[2]}, 2);
    // |uv| reaches ~2.4e4 px (weak perspective, s = 800): central-difference rounding is then
    // ~2.4e4 * 1.1e-16 / h ~ 3e-6, so allow 1e-5 relative to max(1, |derivative|).
    for (int i = 0; i < 6; ++i) {
      EXPECT_NEAR(duv_dpoint[i], jp[i], 1e-5 * std::max(1.0, std::fabs(jp[i]))) << perspective;
      EXPECT_NEAR(duv_dcamera[i], jc[i], 1e-5 * std::max(1.0, std::fabs(jc[i]))) << perspective;
    }
  }
  const double camera[3] = {1000.0, 100.0, 50.0}, point[3] = {10.0, 20.0, 500.0};
  double uv[2];
  Project<double>(true, camera, point, uv, nullptr, nullptr);
  EXPECT_DOUBLE_EQ(uv[0], 120.0);
  EXPECT_DOUBLE_EQ(uv[1], 90.0);
}

void RandomUnit(std::mt19937* gen, double n[3]) {
  std::normal_distribution<double> g(0.0, 1.0);
  double len = 0;
  for (int i = 0; i < 3; ++i) {
    n[i] = g(*gen);
    len += n[i] * n[i];
  }
  for (int i = 0; i < 3; ++i) n[i] /= std::sqrt(len);
}

TEST(ShTest, BasisMatchesDeep3dFormulasAndGradient) {
  // Deep3DFaceRecon's compute_color constants, re-implemented from FORMATS.md §3.
  const double a0 = M_PI, a1 = 2 * M_PI / std::sqrt(3.0), a2 = 2 * M_PI / std::sqrt(8.0);
  const double c0 = 1 / std::sqrt(4 * M_PI), c1 = std::sqrt(3.0) / std::sqrt(4 * M_PI);
  const double c2 = 3 * std::sqrt(5.0) / std::sqrt(12 * M_PI);
  std::mt19937 gen(5);
  for (int trial = 0; trial < 10; ++trial) {
    double n[3];
    RandomUnit(&gen, n);
    const double x = n[0], y = n[1], z = n[2];
    const double expected[9] = {a0 * c0, -a1 * c1 * y, a1 * c1 * z, -a1 * c1 * x,
                                a2 * c2 * x * y, -a2 * c2 * y * z,
                                a2 * c2 * 0.5 / std::sqrt(3.0) * (3 * z * z - 1),
                                -a2 * c2 * x * z, a2 * c2 * 0.5 * (x * x - y * y)};
    double Y[9], dY[9][3];
    ShBasis(n, Y);
    for (int k = 0; k < 9; ++k) EXPECT_NEAR(Y[k], expected[k], 1e-14) << k;
    ShBasisGradient(n, dY);
    const auto jac = NumericJacobian([](const double* v, double* out) { ShBasis(v, out); },
                                     {x, y, z}, 9);
    for (int k = 0; k < 9; ++k) {
      for (int j = 0; j < 3; ++j) EXPECT_NEAR(dY[k][j], jac[k * 3 + j], kFdTolerance);
    }
  }
}

TEST(ShTest, SfsnetConversionGivesEqualShadingAndRoundTrips) {
  std::mt19937 gen(7);
  std::uniform_real_distribution<double> uni(-1.0, 1.0);
  double d[9], s[9], back[9];
  for (double& v : d) v = uni(gen);
  Deep3dToSfsnetSh(d, s);
  SfsnetToDeep3dSh(s, back);
  for (int k = 0; k < 9; ++k) EXPECT_NEAR(back[k], d[k], 1e-14);
  for (int trial = 0; trial < 50; ++trial) {
    double n[3], Y[9], H[9];
    RandomUnit(&gen, n);
    ShBasis(n, Y);
    SfsnetShBasis(n, H);
    double shade_d = 0, shade_s = 0;
    for (int k = 0; k < 9; ++k) {
      shade_d += Y[k] * d[k];
      shade_s += H[k] * s[k];
    }
    EXPECT_NEAR(shade_d, shade_s, 1e-13);
  }
}

TEST(ShadingTest, NormalizeAndPixelGradientMatchCentralDifferences) {
  const double v[3] = {0.3, -0.5, 0.9};
  double n[3], J[9];
  NormalizeWithJacobian(v, n, J);
  const auto jn = NumericJacobian(
      [](const double* x, double* out) { NormalizeWithJacobian<double>(x, out, nullptr); },
      {v[0], v[1], v[2]}, 3);
  for (int i = 0; i < 9; ++i) EXPECT_NEAR(J[i], jn[i], kFdTolerance);

  std::mt19937 gen(11);
  std::uniform_real_distribution<double> uni(-0.3, 0.3);
  double normals[3][3], albedos[3][3], lighting[27];
  for (auto& nrm : normals) {
    RandomUnit(&gen, nrm);
    nrm[2] = std::fabs(nrm[2]) + 0.5;  // facing the viewer, so the specular lobe is active
  }
  for (auto& a : albedos) {
    for (double& c : a) c = 0.5 + uni(gen);
  }
  for (int i = 0; i < 27; ++i) lighting[i] = (i % 9 == 0 ? 0.8 : 0.0) + uni(gen);
  SpecularParams<double> spec{0.3, 12.0, {0.0, 0.0, 1.0}};
  const double bary[3] = {0.2, 0.5, 0.3};
  const double* np[3] = {normals[0], normals[1], normals[2]};
  const double* ap[3] = {albedos[0], albedos[1], albedos[2]};
  PixelShading<double> px;
  ShadePixel(bary, np, ap, lighting, spec, &px);
  EXPECT_GT(px.specular, 0.0);
  double dcolor_dbary[3][3], dcolor_dnormal[3][3];
  ShadePixelGradient(np, ap, lighting, spec, px, dcolor_dbary, dcolor_dnormal);
  const auto jb = NumericJacobian(
      [&](const double* b, double* out) {
        PixelShading<double> q;
        ShadePixel(b, np, ap, lighting, spec, &q);
        for (int c = 0; c < 3; ++c) out[c] = q.color[c];
      },
      {bary[0], bary[1], bary[2]}, 3);
  // Vertex 1's normal: d colour / d n_1 = bary[1] * dcolor_dnormal.
  const auto jnv = NumericJacobian(
      [&](const double* x, double* out) {
        const double* np2[3] = {normals[0], x, normals[2]};
        PixelShading<double> q;
        ShadePixel(bary, np2, ap, lighting, spec, &q);
        for (int c = 0; c < 3; ++c) out[c] = q.color[c];
      },
      {normals[1][0], normals[1][1], normals[1][2]}, 3);
  for (int c = 0; c < 3; ++c) {
    for (int i = 0; i < 3; ++i) {
      EXPECT_NEAR(dcolor_dbary[c][i], jb[c * 3 + i], 1e-6);
      EXPECT_NEAR(bary[1] * dcolor_dnormal[c][i], jnv[c * 3 + i], 1e-6);
    }
  }
}

TEST(RasterTest, BarycentricJacobiansMatchCentralDifferences) {
  const double uv[6] = {10.2, 5.1, 3.3, 20.7, 25.9, 18.4};
  const double px = 13.0, py = 14.0;
  double l[3], dl[3][6];
  ScreenBarycentrics(uv, px, py, l, dl);
  EXPECT_NEAR(l[0] + l[1] + l[2], 1.0, 1e-14);
  const auto jl = NumericJacobian(
      [&](const double* x, double* out) { ScreenBarycentrics<double>(x, px, py, out, nullptr); },
      std::vector<double>(uv, uv + 6), 3);
  for (int i = 0; i < 3; ++i) {
    for (int k = 0; k < 6; ++k) EXPECT_NEAR(dl[i][k], jl[i * 6 + k], kFdTolerance);
  }
  const double z[3] = {500.0, 520.0, 480.0};
  double b[3], db_dl[3][3], db_dz[3][3];
  PerspectiveBarycentrics(l, z, true, b, db_dl, db_dz);
  const auto jbl = NumericJacobian(
      [&](const double* x, double* out) {
        PerspectiveBarycentrics<double>(x, z, true, out, nullptr, nullptr);
      },
      {l[0], l[1], l[2]}, 3);
  const auto jbz = NumericJacobian(
      [&](const double* x, double* out) {
        PerspectiveBarycentrics<double>(l, x, true, out, nullptr, nullptr);
      },
      {z[0], z[1], z[2]}, 3);
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) {
      EXPECT_NEAR(db_dl[i][j], jbl[i * 3 + j], kFdTolerance);
      EXPECT_NEAR(db_dz[i][j], jbz[i * 3 + j], 1e-10);  // values ~1e-4 per mm
    }
  }
}

// Two triangles sharing the diagonal of a square: every pixel centre in the square, including
// those exactly on the shared diagonal and on vertices, is covered exactly once.
TEST(RasterTest, SharedEdgePixelsBelongToExactlyOneTriangle) {
  // Image y down; front-facing = clockwise in the image.
  const float quad[4][2] = {{2.0f, 2.0f}, {10.0f, 2.0f}, {10.0f, 10.0f}, {2.0f, 10.0f}};
  const int tris[2][3] = {{0, 3, 2}, {0, 2, 1}};
  std::vector<int> count(16 * 16, 0);
  for (const auto& tri : tris) {
    float uv[6];
    for (int i = 0; i < 3; ++i) {
      uv[2 * i] = quad[tri[i]][0];
      uv[2 * i + 1] = quad[tri[i]][1];
    }
    ScreenTriangle t;
    ASSERT_TRUE(SetupScreenTriangle(uv, 16, 16, &t));
    for (int y = t.min_py; y <= t.max_py; ++y) {
      for (int x = t.min_px; x <= t.max_px; ++x) {
        int64_t w[3];
        if (CoversPixel(t, x, y, w)) ++count[y * 16 + x];
      }
    }
  }
  int covered = 0;
  for (int y = 0; y < 16; ++y) {
    for (int x = 0; x < 16; ++x) {
      EXPECT_LE(count[y * 16 + x], 1) << x << "," << y;
      covered += count[y * 16 + x];
    }
  }
  // Half-open square [2, 10) x [2, 10) under the top-left rule: 8 x 8 pixel centres.
  EXPECT_EQ(covered, 64);
  // The reversed (back-facing) triangle is rejected.
  const float back[6] = {2.0f, 2.0f, 10.0f, 10.0f, 2.0f, 10.0f};
  ScreenTriangle t;
  EXPECT_FALSE(SetupScreenTriangle(back, 16, 16, &t));
  const float nan_uv[6] = {NAN, 0.0f, 1.0f, 1.0f, 0.0f, 1.0f};
  EXPECT_FALSE(SetupScreenTriangle(nan_uv, 16, 16, &t));
}

}  // namespace
}  // namespace morphfit::math
