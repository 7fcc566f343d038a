// Rotations shared by CPU code, CUDA kernels and Ceres Jets: axis-angle (Rodrigues) to matrix
// with its derivative, the inverse (log map), Deep3DFaceRecon's Euler angles (FORMATS.md §3:
// R = Rz * Ry * Rx) and rigid transforms. Matrices are 3x3 row-major arrays, R[3 * row + col].
//
// Rodrigues: R(w) = I + a(θ) [w]x + b(θ) [w]x², θ = |w|, a = sin θ / θ, b = (1 - cos θ) / θ².
// Differentiating with θ' = w_j / θ:
//   dR/dw_j = a [e_j]x + b ([e_j]x [w]x + [w]x [e_j]x) + w_j (ca [w]x + cb [w]x²),
//   ca = a'(θ) / θ = (θ cos θ - sin θ) / θ³,  cb = b'(θ) / θ = (θ sin θ - 2 (1 - cos θ)) / θ⁴.
// Nothing divides by sin θ, so the formula is stable near π; near 0 the four coefficients use
// their Taylor series in θ² (also exact for Jets at w = 0, where |w| has no derivative).
#ifndef MORPHFIT_MATH_ROTATION_H_
#define MORPHFIT_MATH_ROTATION_H_

#include <cmath>

#include "morphfit/math/hd.h"

namespace morphfit::math {

// Below this θ² the Taylor series (to θ⁴) is used: its truncation error, ~θ⁶/5040 relative,
// is then below 1e-22, far under double rounding; the closed forms lose ~1e-16/θ⁴ there.
constexpr double kRodriguesSeriesThetaSq = 1e-4;

template <typename T>
struct RodriguesCoefficients {
  T a, b, ca, cb;
};

template <typename T>
MORPHFIT_HD RodriguesCoefficients<T> ComputeRodriguesCoefficients(const T w[3]) {
  using std::cos;
  using std::sin;
  using std::sqrt;
  const T theta_sq = w[0] * w[0] + w[1] * w[1] + w[2] * w[2];
  RodriguesCoefficients<T> k;
  if (theta_sq < T(kRodriguesSeriesThetaSq)) {
    const T t2 = theta_sq, t4 = theta_sq * theta_sq;
    k.a = T(1) - t2 / T(6) + t4 / T(120);
    k.b = T(0.5) - t2 / T(24) + t4 / T(720);
    k.ca = T(-1.0 / 3.0) + t2 / T(30) - t4 / T(840);
    k.cb = T(-1.0 / 12.0) + t2 / T(180) - t4 / T(6720);
  } else {
    const T theta = sqrt(theta_sq);
    const T s = sin(theta), c = cos(theta);
    k.a = s / theta;
    k.b = (T(1) - c) / theta_sq;
    k.ca = (theta * c - s) / (theta_sq * theta);
    k.cb = (theta * s - T(2) * (T(1) - c)) / (theta_sq * theta_sq);
  }
  return k;
}

// out = [v]x (the cross-product matrix, row-major).
template <typename T>
MORPHFIT_HD void CrossMatrix(const T v[3], T out[9]) {
  out[0] = T(0);  out[1] = -v[2]; out[2] = v[1];
  out[3] = v[2];  out[4] = T(0);  out[5] = -v[0];
  out[6] = -v[1]; out[7] = v[0];  out[8] = T(0);
}

template <typename T>
MORPHFIT_HD void MatMul3(const T a[9], const T b[9], T out[9]) {
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) {
      out[3 * r + c] = a[3 * r] * b[c] + a[3 * r + 1] * b[3 + c] + a[3 * r + 2] * b[6 + c];
    }
  }
}

// R (row-major) of axis-angle w (rad).
template <typename T>
MORPHFIT_HD void AxisAngleToRotation(const T w[3], T R[9]) {
  const RodriguesCoefficients<T> k = ComputeRodriguesCoefficients(w);
  T wx[9], wx2[9];
  CrossMatrix(w, wx);
  MatMul3(wx, wx, wx2);
  for (int i = 0; i < 9; ++i) R[i] = k.a * wx[i] + k.b * wx2[i];
  R[0] += T(1);
  R[4] += T(1);
  R[8] += T(1);
}

// R and dR[j] = dR/dw_j (each row-major 3x3), j = 0, 1, 2.
template <typename T>
MORPHFIT_HD void AxisAngleToRotationWithJacobian(const T w[3], T R[9], T dR[3][9]) {
  const RodriguesCoefficients<T> k = ComputeRodriguesCoefficients(w);
  T wx[9], wx2[9];
  CrossMatrix(w, wx);
  MatMul3(wx, wx, wx2);
  for (int i = 0; i < 9; ++i) R[i] = k.a * wx[i] + k.b * wx2[i];
  R[0] += T(1);
  R[4] += T(1);
  R[8] += T(1);
  for (int j = 0; j < 3; ++j) {
    T e[3] = {T(0), T(0), T(0)};
    e[j] = T(1);
    T ex[9], ex_wx[9], wx_ex[9];
    CrossMatrix(e, ex);
    MatMul3(ex, wx, ex_wx);
    MatMul3(wx, ex, wx_ex);
    for (int i = 0; i < 9; ++i) {
      dR[j][i] = k.a * ex[i] + k.b * (ex_wx[i] + wx_ex[i]) + w[j] * (k.ca * wx[i] + k.cb * wx2[i]);
    }
  }
}

// out = R * p.
template <typename T>
MORPHFIT_HD void Rotate(const T R[9], const T p[3], T out[3]) {
  const T x = R[0] * p[0] + R[1] * p[1] + R[2] * p[2];
  const T y = R[3] * p[0] + R[4] * p[1] + R[5] * p[2];
  const T z = R[6] * p[0] + R[7] * p[1] + R[8] * p[2];
  out[0] = x;
  out[1] = y;
  out[2] = z;
}

// out = R * p + t (e.g. point_camera = camera_from_model applied to point_model).
template <typename T>
MORPHFIT_HD void RigidTransform(const T R[9], const T t[3], const T p[3], T out[3]) {
  Rotate(R, p, out);
  out[0] += t[0];
  out[1] += t[1];
  out[2] += t[2];
}

// Log map: axis-angle w with |w| in [0, π] of a rotation matrix. Near π the axis comes from the
// symmetric part (R + Rᵀ = 2 cos θ I + 2 (1 - cos θ) a aᵀ), its sign from the skew part.
template <typename T>
MORPHFIT_HD void RotationToAxisAngle(const T R[9], T w[3]) {
  using std::atan2;
  using std::sqrt;
  const T v[3] = {T(0.5) * (R[7] - R[5]), T(0.5) * (R[2] - R[6]), T(0.5) * (R[3] - R[1])};
  const T sin_theta = sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
  const T cos_theta = T(0.5) * (R[0] + R[4] + R[8] - T(1));
  const T theta = atan2(sin_theta, cos_theta);
  if (cos_theta > T(-0.9)) {
    // Away from π, θ / sin θ is well conditioned; for tiny θ its series avoids 0 / 0.
    const T scale = theta * theta < T(kRodriguesSeriesThetaSq) ? T(1) + theta * theta / T(6)
                                                                 : theta / sin_theta;
    for (int i = 0; i < 3; ++i) w[i] = v[i] * scale;
    return;
  }
  int best = 0;
  for (int i = 1; i < 3; ++i) {
    if (R[4 * i] > R[4 * best]) best = i;
  }
  T axis[3];
  for (int i = 0; i < 3; ++i) {
    const T sym = T(0.5) * (R[3 * i + best] + R[3 * best + i]) - (i == best ? cos_theta : T(0));
    axis[i] = sym;
  }
  const T norm = sqrt(axis[0] * axis[0] + axis[1] * axis[1] + axis[2] * axis[2]);
  const T sign = (axis[0] * v[0] + axis[1] * v[1] + axis[2] * v[2]) < T(0) ? T(-1) : T(1);
  for (int i = 0; i < 3; ++i) w[i] = sign * theta * axis[i] / norm;
}

// Deep3DFaceRecon's rotation (FORMATS.md §3): R = Rz(angles[2]) * Ry(angles[1]) * Rx(angles[0]),
// right-handed, radians; applied to column vectors (v' = R v).
template <typename T>
MORPHFIT_HD void EulerZyxToRotation(const T angles[3], T R[9]) {
  using std::cos;
  using std::sin;
  const T cx = cos(angles[0]), sx = sin(angles[0]);
  const T cy = cos(angles[1]), sy = sin(angles[1]);
  const T cz = cos(angles[2]), sz = sin(angles[2]);
  const T rx[9] = {T(1), T(0), T(0), T(0), cx, -sx, T(0), sx, cx};
  const T ry[9] = {cy, T(0), sy, T(0), T(1), T(0), -sy, T(0), cy};
  const T rz[9] = {cz, -sz, T(0), sz, cz, T(0), T(0), T(0), T(1)};
  T zy[9];
  MatMul3(rz, ry, zy);
  MatMul3(zy, rx, R);
}

// Inverse of EulerZyxToRotation with angles[1] in [-π/2, π/2] (R[6] = -sin(angles[1])); at
// angles[1] = ±π/2 (gimbal lock) only angles[0] - angles[2] or their sum is determined.
template <typename T>
MORPHFIT_HD void RotationToEulerZyx(const T R[9], T angles[3]) {
  using std::asin;
  using std::atan2;
  T s = -R[6];
  s = s > T(1) ? T(1) : (s < T(-1) ? T(-1) : s);
  angles[1] = asin(s);
  angles[0] = atan2(R[7], R[8]);
  angles[2] = atan2(R[3], R[0]);
}

}  // namespace morphfit::math

#endif  // MORPHFIT_MATH_ROTATION_H_
