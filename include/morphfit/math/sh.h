// Second-order spherical-harmonics irradiance on unit normals in the view frame (x right, y up,
// z toward the viewer). Our basis is Deep3DFaceRecon's exactly (FORMATS.md §3, `compute_color`
// in models/bfm.py): Lambertian attenuation folded into the constants, order
//   [1, -y, z, -x, xy, -yz, (3z² - 1) / (2√3), -xz, (x² - y²) / 2],
// so 27 lighting coefficients R[9] G[9] B[9] are interchangeable with theirs. Also SfSNet's
// basis (FORMATS.md §7) and the exact linear map between the two coefficient conventions.
#ifndef MORPHFIT_MATH_SH_H_
#define MORPHFIT_MATH_SH_H_

#include "morphfit/math/hd.h"

namespace morphfit::math {

constexpr double kShPi = 3.14159265358979323846;
// Deep3DFaceRecon: a0 = π, a1 = 2π/√3, a2 = 2π/√8; c0 = 1/√(4π), c1 = √3/√(4π),
// c2 = 3√5/√(12π). The basis uses the products.
constexpr double kSqrt3 = 1.7320508075688772935;
constexpr double kSqrt4Pi = 3.5449077018110320546;  // √(4π)
constexpr double kDeep3dA0C0 = kShPi / kSqrt4Pi;
constexpr double kDeep3dA1C1 = (2.0 * kShPi / kSqrt3) * (kSqrt3 / kSqrt4Pi);
constexpr double kDeep3dA2C2 =
    (2.0 * kShPi / 2.8284271247461900976) * (3.0 * 2.2360679774997896964 / 6.139960247678931);
// (√(12π) = 6.139960247678931, √8 = 2.8284271247461900976, √5 = 2.2360679774997896964.)

// Y[k], k = 0..8, of a unit normal n (view frame).
template <typename T>
MORPHFIT_HD void ShBasis(const T n[3], T Y[9]) {
  const T x = n[0], y = n[1], z = n[2];
  Y[0] = T(kDeep3dA0C0);
  Y[1] = T(-kDeep3dA1C1) * y;
  Y[2] = T(kDeep3dA1C1) * z;
  Y[3] = T(-kDeep3dA1C1) * x;
  Y[4] = T(kDeep3dA2C2) * x * y;
  Y[5] = T(-kDeep3dA2C2) * y * z;
  Y[6] = T(kDeep3dA2C2 * 0.5 / kSqrt3) * (T(3) * z * z - T(1));
  Y[7] = T(-kDeep3dA2C2) * x * z;
  Y[8] = T(kDeep3dA2C2 * 0.5) * (x * x - y * y);
}

// dY[k][j] = dY_k / dn_j (the polynomial's gradient; the unit-length constraint is the
// caller's, see NormalizeWithJacobian).
template <typename T>
MORPHFIT_HD void ShBasisGradient(const T n[3], T dY[9][3]) {
  const T x = n[0], y = n[1], z = n[2];
  const T a1 = T(kDeep3dA1C1), a2 = T(kDeep3dA2C2);
  for (int k = 0; k < 9; ++k) dY[k][0] = dY[k][1] = dY[k][2] = T(0);
  dY[1][1] = -a1;
  dY[2][2] = a1;
  dY[3][0] = -a1;
  dY[4][0] = a2 * y;  dY[4][1] = a2 * x;
  dY[5][1] = -a2 * z; dY[5][2] = -a2 * y;
  dY[6][2] = T(kDeep3dA2C2 * 3.0 / kSqrt3) * z;
  dY[7][0] = -a2 * z; dY[7][2] = -a2 * x;
  dY[8][0] = a2 * x;  dY[8][1] = -a2 * y;
}

// SfSNet's basis H1..H9 (FORMATS.md §7, functions/normal_harmonics.m with attenuation
// π·[1, 2/3, 1/4]) on a unit normal in the same view frame, order
//   [1, z, x, y, (2z² - x² - y²) / 2, xz, yz, x² - y², xy].
constexpr double kSfsC0 = kShPi / kSqrt4Pi;
constexpr double kSfsC1 = (2.0 * kShPi / 3.0) * (kSqrt3 / kSqrt4Pi);       // √(3/(4π))
constexpr double kSfsC2a = (kShPi / 4.0) * 0.5 * (2.2360679774997896964 / kSqrt4Pi);
constexpr double kSfsC2b = (kShPi / 4.0) * 3.0 * (2.2360679774997896964 / 6.139960247678931);
constexpr double kSfsC2c = (kShPi / 4.0) * 3.0 * (2.2360679774997896964 / 12.279920495357862);
// (√(48π) = 12.279920495357862.)

template <typename T>
MORPHFIT_HD void SfsnetShBasis(const T n[3], T H[9]) {
  const T x = n[0], y = n[1], z = n[2];
  H[0] = T(kSfsC0);
  H[1] = T(kSfsC1) * z;
  H[2] = T(kSfsC1) * x;
  H[3] = T(kSfsC1) * y;
  H[4] = T(kSfsC2a) * (T(2) * z * z - x * x - y * y);
  H[5] = T(kSfsC2b) * x * z;
  H[6] = T(kSfsC2b) * y * z;
  H[7] = T(kSfsC2c) * (x * x - y * y);
  H[8] = T(kSfsC2b) * x * y;
}

// One channel's 9 Deep3D coefficients to SfSNet's, giving the same shading on every unit
// normal: each Deep3D term is a constant times one SfSNet term (on the unit sphere
// 3z² - 1 = 2z² - x² - y²), so the map is a signed permutation with scales.
template <typename T>
MORPHFIT_HD void Deep3dToSfsnetSh(const T d[9], T s[9]) {
  s[0] = d[0] * T(kDeep3dA0C0 / kSfsC0);
  s[1] = d[2] * T(kDeep3dA1C1 / kSfsC1);
  s[2] = -d[3] * T(kDeep3dA1C1 / kSfsC1);
  s[3] = -d[1] * T(kDeep3dA1C1 / kSfsC1);
  s[4] = d[6] * T(kDeep3dA2C2 * 0.5 / kSqrt3 / kSfsC2a);
  s[5] = -d[7] * T(kDeep3dA2C2 / kSfsC2b);
  s[6] = -d[5] * T(kDeep3dA2C2 / kSfsC2b);
  s[7] = d[8] * T(kDeep3dA2C2 * 0.5 / kSfsC2c);
  s[8] = d[4] * T(kDeep3dA2C2 / kSfsC2b);
}

// Inverse of Deep3dToSfsnetSh.
template <typename T>
MORPHFIT_HD void SfsnetToDeep3dSh(const T s[9], T d[9]) {
  d[0] = s[0] * T(kSfsC0 / kDeep3dA0C0);
  d[2] = s[1] * T(kSfsC1 / kDeep3dA1C1);
  d[3] = -s[2] * T(kSfsC1 / kDeep3dA1C1);
  d[1] = -s[3] * T(kSfsC1 / kDeep3dA1C1);
  d[6] = s[4] * T(kSfsC2a * kSqrt3 * 2.0 / kDeep3dA2C2);
  d[7] = -s[5] * T(kSfsC2b / kDeep3dA2C2);
  d[5] = -s[6] * T(kSfsC2b / kDeep3dA2C2);
  d[8] = s[7] * T(kSfsC2c * 2.0 / kDeep3dA2C2);
  d[4] = s[8] * T(kSfsC2b / kDeep3dA2C2);
}

}  // namespace morphfit::math

#endif  // MORPHFIT_MATH_SH_H_
