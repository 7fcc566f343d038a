// Per-pixel shading shared by the CPU renderer and its CUDA twin, with its gradient:
//   n      = normalize(sum_i bary_i n_i)          n_i: unit vertex normals, view frame
//   a_c    = sum_i bary_i albedo_i,c              albedo RGB in [0, 1] (not clamped)
//   s_c    = sum_k Y_k(n) L_c[k]                  Deep3D SH basis (sh.h), L = R[9] G[9] B[9]
//   spec   = ks * max(0, n . h)^shininess         Blinn-Phong, white, h = unit half vector
//                                                 (float: math::FastPow, fast_pow.h)
//   colour = a_c * s_c + spec
// as in Deep3DFaceRecon's compute_color plus SfSNet-with-specularity's additive term.
#ifndef MORPHFIT_MATH_SHADING_H_
#define MORPHFIT_MATH_SHADING_H_

#include <cmath>

#include "morphfit/math/fast_pow.h"
#include "morphfit/math/hd.h"
#include "morphfit/math/sh.h"

namespace morphfit::math {

// n = v / |v| and J = dn/dv = (I - n nᵀ) / |v| (row-major), J may be null.
template <typename T>
MORPHFIT_HD void NormalizeWithJacobian(const T v[3], T n[3], T* J) {
  using std::sqrt;
  const T norm = sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
  const T inv = T(1) / norm;
  for (int i = 0; i < 3; ++i) n[i] = v[i] * inv;
  if (J == nullptr) return;
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) J[3 * r + c] = ((r == c ? T(1) : T(0)) - n[r] * n[c]) * inv;
  }
}

// Blinn-Phong parameters: intensity 0 disables the term. half_vector is unit, view frame.
template <typename T>
struct SpecularParams {
  T intensity;
  T shininess;
  T half_vector[3];
};

template <typename T>
struct PixelShading {
  T normal_raw[3];  // interpolated, unnormalised
  T normal[3];      // unit, view frame
  T albedo[3];
  T sh[9];          // Y_k(normal)
  T shading[3];     // SH irradiance per channel
  T specular;
  T color[3];
};

// The specular power x^p: math::FastPow in float (the same bits on every path, vectorisable;
// within 1 ulp of the exact value), std::pow otherwise (double: the Jacobian tests' finite
// differences). The gradient's x^(p-1) uses the same function as the value.
template <typename T>
MORPHFIT_HD T SpecularPow(T x, T p) {
  using std::pow;
  return pow(x, p);
}
MORPHFIT_HD float SpecularPow(float x, float p) { return FastPow(x, p); }

// n . h for a unit normal n.
template <typename T>
MORPHFIT_HD T SpecularCosine(const T n[3], const SpecularParams<T>& spec) {
  return n[0] * spec.half_vector[0] + n[1] * spec.half_vector[1] + n[2] * spec.half_vector[2];
}

// The Blinn-Phong term from nh = n . h (spec.intensity != 0).
template <typename T>
MORPHFIT_HD T SpecularTerm(T nh, const SpecularParams<T>& spec) {
  return nh > T(0) ? spec.intensity * SpecularPow(nh, spec.shininess) : T(0);
}

// ShadePixel without the specular term and the colour: normal_raw, normal, albedo, sh and
// shading of *out.
template <typename T>
MORPHFIT_HD void ShadePixelDiffuse(const T bary[3], const T* const normals[3],
                                   const T* const albedos[3], const T lighting[27],
                                   PixelShading<T>* out) {
  for (int j = 0; j < 3; ++j) {
    out->normal_raw[j] = bary[0] * normals[0][j] + bary[1] * normals[1][j] + bary[2] * normals[2][j];
    out->albedo[j] = bary[0] * albedos[0][j] + bary[1] * albedos[1][j] + bary[2] * albedos[2][j];
  }
  NormalizeWithJacobian<T>(out->normal_raw, out->normal, nullptr);
  ShBasis(out->normal, out->sh);
  for (int c = 0; c < 3; ++c) {
    T s = T(0);
    for (int k = 0; k < 9; ++k) s += out->sh[k] * lighting[9 * c + k];
    out->shading[c] = s;
  }
}

// normals[i], albedos[i]: 3 values of triangle vertex i.
template <typename T>
MORPHFIT_HD void ShadePixel(const T bary[3], const T* const normals[3], const T* const albedos[3],
                            const T lighting[27], const SpecularParams<T>& spec,
                            PixelShading<T>* out) {
  ShadePixelDiffuse(bary, normals, albedos, lighting, out);
  out->specular = T(0);
  if (spec.intensity != T(0)) out->specular = SpecularTerm(SpecularCosine(out->normal, spec), spec);
  for (int c = 0; c < 3; ++c) out->color[c] = out->albedo[c] * out->shading[c] + out->specular;
}

// Gradient of the colour of a shaded pixel (from ShadePixel) with respect to:
//  dcolor_dbary[c][i]    barycentric i (normals and albedos held fixed)
//  dcolor_dnormal[c][j]  component j of vertex normal i is this times bary[i]
//  (albedo of vertex i, channel c: bary[i] * shading[c]; lighting L_c[k]: albedo[c] * sh[k];
//   both are read straight from PixelShading by the callers.)
template <typename T>
MORPHFIT_HD void ShadePixelGradient(const T* const normals[3],
                                    const T* const albedos[3], const T lighting[27],
                                    const SpecularParams<T>& spec, const PixelShading<T>& px,
                                    T dcolor_dbary[3][3], T dcolor_dnormal[3][3]) {
  T dn_draw[9];
  T unit[3];
  NormalizeWithJacobian<T>(px.normal_raw, unit, dn_draw);
  T dY[9][3];
  ShBasisGradient(px.normal, dY);
  // Specular gradient wrt the unit normal: ks * p * (n.h)^(p-1) * h.
  T dspec_dn[3] = {T(0), T(0), T(0)};
  if (spec.intensity != T(0)) {
    const T nh = SpecularCosine(px.normal, spec);
    if (nh > T(0)) {
      const T g = spec.intensity * spec.shininess * SpecularPow(nh, spec.shininess - T(1));
      for (int j = 0; j < 3; ++j) dspec_dn[j] = g * spec.half_vector[j];
    }
  }
  for (int c = 0; c < 3; ++c) {
    // d colour_c / d unit normal.
    T dn[3];
    for (int j = 0; j < 3; ++j) {
      T s = T(0);
      for (int k = 0; k < 9; ++k) s += dY[k][j] * lighting[9 * c + k];
      dn[j] = px.albedo[c] * s + dspec_dn[j];
    }
    for (int j = 0; j < 3; ++j) {
      dcolor_dnormal[c][j] = dn[0] * dn_draw[j] + dn[1] * dn_draw[3 + j] + dn[2] * dn_draw[6 + j];
    }
    for (int i = 0; i < 3; ++i) {
      dcolor_dbary[c][i] = albedos[i][c] * px.shading[c] + dcolor_dnormal[c][0] * normals[i][0] +
                           dcolor_dnormal[c][1] * normals[i][1] +
                           dcolor_dnormal[c][2] * normals[i][2];
    }
  }
}

}  // namespace morphfit::math

#endif  // MORPHFIT_MATH_SHADING_H_
