// Analytic Jacobian of one shaded pixel's colour with respect to the flat parameter vector
// [identity | expression | albedo | lighting 27 | rotation 3 | translation 3 | camera 3], holding
// visibility fixed, in two steps shared by the CPU (render/jacobian.cc), the CUDA fused JᵀJ
// kernel (cuda/render_jacobian.cu) and the serial reference below:
//  1. ComputePixelSeeds (once per pixel): colour, and the derivatives of each channel with
//     respect to the 3 corners' camera points and view normals (chain rule through
//     math/shading.h, math/raster.h barycentrics and math/camera.h), plus the small blocks.
//  2. PixelJacobianEntry / FillPixelRow (per column): the seeds contracted with the per-vertex
//     derivatives of points and normals with respect to the shape coefficients, and with the
//     albedo basis rows. Entries are independent, so a GPU block spreads them over threads.
// Also the robust (IRLS) pixel weights. Per-vertex derivatives come from the caller.
#ifndef MORPHFIT_MATH_PIXEL_JACOBIAN_H_
#define MORPHFIT_MATH_PIXEL_JACOBIAN_H_

#include <cmath>
#include <cstdint>

#include "morphfit/math/camera.h"
#include "morphfit/math/hd.h"
#include "morphfit/math/raster.h"
#include "morphfit/math/render_pixel.h"
#include "morphfit/math/shading.h"

namespace morphfit::math {

enum class RobustLoss { kNone, kHuber, kCauchy };

// IRLS weight of a residual of norm `norm` (colour units) and its cost rho: kNone |r|²/2;
// Huber (scale s) weight min(1, s/|r|); Cauchy weight 1 / (1 + |r|²/s²).
template <typename T>
MORPHFIT_HD T RobustWeight(RobustLoss loss, T scale, T norm, T* rho) {
  using std::log1p;
  const T s = scale;
  if (loss == RobustLoss::kHuber) {
    *rho = norm <= s ? T(0.5) * norm * norm : s * (norm - T(0.5) * s);
    return norm <= s ? T(1) : s / norm;
  }
  if (loss == RobustLoss::kCauchy) {
    *rho = T(0.5) * s * s * log1p(norm * norm / (s * s));
    return T(1) / (T(1) + norm * norm / (s * s));
  }
  *rho = T(0.5) * norm * norm;
  return T(1);
}

// Residual r = colour - observed of a pixel with user weight `weight` (> 0); returns the
// square root of weight x IRLS weight (rows and residual are scaled by it) and adds
// weight x rho(|r|) to *cost.
MORPHFIT_HD float WeightPixelResidual(const float color[3], const float observed[3],
                                      float weight, RobustLoss loss, double loss_scale, float r[3],
                                      double* cost) {
  using std::sqrt;
  double r2 = 0.0;
  for (int c = 0; c < 3; ++c) {
    r[c] = color[c] - observed[c];
    r2 += static_cast<double>(r[c]) * r[c];
  }
  double rho = 0.0;
  const double irls = RobustWeight<double>(loss, loss_scale, sqrt(r2), &rho);
  *cost += weight * rho;
  return static_cast<float>(sqrt(weight * irls));
}

// Column offsets of the blocks (shape = identity then expression, contiguous).
struct JacobianLayout {
  int shape = 0, num_shape = 0;    // identity + expression columns
  int albedo = 0, num_albedo = 0;
  int lighting = 0, rotation = 0, translation = 0, camera = 0, total = 0;
};

// One face's inputs (N vertices); pointers are borrowed. "Slots" index the vertices whose
// derivatives the caller computed (those of visible triangles).
template <typename T>
struct PixelJacobianInputs {
  ShadeInputs<T> shade;
  const T* points_camera = nullptr;   // 3N mm
  const T* camera = nullptr;          // 3 (FaceParams::camera)
  const int* vertex_slot = nullptr;   // N: vertex -> slot
  const T* dpoint_dshape = nullptr;   // (3 slots) x num_shape, row-major: d point_camera / dθ
  const T* dnormal_dshape = nullptr;  // same for the unit view normal
  const T* dpoint_drot = nullptr;     // 9 per slot, [3 axis + j] = d point_axis / d ω_j
  const T* dnormal_drot = nullptr;    // same for the view normal
  const float* albedo_rows = nullptr; // 3N x num_albedo, row-major (vertex-major basis)
  JacobianLayout layout;
};

template <typename T>
struct PixelSeeds {
  int64_t vertex[3];
  int slot[3];
  T color[3];
  T dc_dpoint[3][3][3];   // [channel][corner][axis]: d colour / d camera point of the corner
  T dc_dnormal[3][3][3];  // [channel][corner][axis]: d colour / d unit view normal
  T dc_dalbedo[3][3];     // [channel][corner]: bary_k x shading_c
  T dc_drotation[3][3], dc_dtranslation[3][3], dc_dcamera[3][3];
  T albedo[3];            // lighting entry (c, 9c + k) = albedo[c] sh[k]
  T sh[9];
};

// Step 1 for pixel (px, py) covered by triangle f.
template <typename T>
MORPHFIT_HD void ComputePixelSeeds(const PixelJacobianInputs<T>& in, int32_t f, int px, int py,
                                   PixelSeeds<T>* s) {
  const ShadeInputs<T>& sh_in = in.shade;
  T uv[6], z[3], l[3], dl_duv[3][6], bary[3], db_dl[3][3], db_dz[3][3];
  const T* normals[3];
  const T* albedos[3];
  for (int k = 0; k < 3; ++k) {
    const int64_t v = sh_in.triangles[3 * static_cast<int64_t>(f) + k];
    s->vertex[k] = v;
    s->slot[k] = in.vertex_slot[v];
    uv[2 * k] = sh_in.pixels[2 * v];
    uv[2 * k + 1] = sh_in.pixels[2 * v + 1];
    z[k] = sh_in.depths[v * sh_in.depth_stride];
    normals[k] = sh_in.normals + 3 * v;
    albedos[k] = sh_in.albedo + 3 * v;
  }
  ScreenBarycentrics<T>(uv, T(px), T(py), l, dl_duv);
  PerspectiveBarycentrics<T>(l, z, sh_in.perspective, bary, db_dl, db_dz);
  PixelShading<T> shading;
  ShadePixel(bary, normals, albedos, sh_in.lighting, sh_in.spec, &shading);
  T dc_db[3][3], dc_dn[3][3];
  ShadePixelGradient(normals, albedos, sh_in.lighting, sh_in.spec, shading, dc_db, dc_dn);
  T duv_dpoint[3][6], duv_dcam[3][6];
  for (int k = 0; k < 3; ++k) {
    T tmp[2];
    Project<T>(sh_in.perspective, in.camera, in.points_camera + 3 * s->vertex[k], tmp,
               duv_dpoint[k], duv_dcam[k]);
  }
  for (int k = 0; k < 9; ++k) s->sh[k] = shading.sh[k];
  for (int c = 0; c < 3; ++c) {
    s->color[c] = shading.color[c];
    s->albedo[c] = shading.albedo[c];
    T dc_duv[6] = {T(0), T(0), T(0), T(0), T(0), T(0)};
    T dc_dz[3] = {T(0), T(0), T(0)};
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 3; ++j) {
        dc_dz[j] += dc_db[c][i] * db_dz[i][j];
        for (int k = 0; k < 6; ++k) dc_duv[k] += dc_db[c][i] * db_dl[i][j] * dl_duv[j][k];
      }
    }
    for (int a = 0; a < 3; ++a) {
      s->dc_drotation[c][a] = T(0);
      s->dc_dtranslation[c][a] = T(0);
      s->dc_dcamera[c][a] = T(0);
    }
    for (int k = 0; k < 3; ++k) {
      T* dx = s->dc_dpoint[c][k];
      T* dn = s->dc_dnormal[c][k];
      for (int a = 0; a < 3; ++a) {
        dx[a] = dc_duv[2 * k] * duv_dpoint[k][a] + dc_duv[2 * k + 1] * duv_dpoint[k][3 + a];
        dn[a] = bary[k] * dc_dn[c][a];
      }
      dx[2] += dc_dz[k];
      const int64_t sl = s->slot[k];
      for (int a = 0; a < 3; ++a) {
        for (int j = 0; j < 3; ++j) {
          s->dc_drotation[c][j] += dx[a] * in.dpoint_drot[9 * sl + 3 * a + j] +
                                   dn[a] * in.dnormal_drot[9 * sl + 3 * a + j];
        }
        s->dc_dtranslation[c][a] += dx[a];
        s->dc_dcamera[c][a] +=
            dc_duv[2 * k] * duv_dcam[k][a] + dc_duv[2 * k + 1] * duv_dcam[k][3 + a];
      }
      s->dc_dalbedo[c][k] = bary[k] * shading.shading[c];
    }
  }
}

// Shape column q (0 <= q < num_shape) of channel c.
template <typename T>
MORPHFIT_HD T PixelShapeEntry(const PixelJacobianInputs<T>& in, const PixelSeeds<T>& s, int c,
                              int q) {
  const int64_t ks = in.layout.num_shape;
  T sum = T(0);
  for (int k = 0; k < 3; ++k) {
    for (int a = 0; a < 3; ++a) {
      const int64_t row = (3 * static_cast<int64_t>(s.slot[k]) + a) * ks + q;
      sum += s.dc_dpoint[c][k][a] * in.dpoint_dshape[row] +
             s.dc_dnormal[c][k][a] * in.dnormal_dshape[row];
    }
  }
  return sum;
}

// Albedo column q (0 <= q < num_albedo) of channel c.
template <typename T>
MORPHFIT_HD T PixelAlbedoEntry(const PixelJacobianInputs<T>& in, const PixelSeeds<T>& s, int c,
                               int q) {
  const int64_t ka = in.layout.num_albedo;
  T sum = T(0);
  for (int k = 0; k < 3; ++k) {
    sum += s.dc_dalbedo[c][k] * static_cast<T>(in.albedo_rows[(3 * s.vertex[k] + c) * ka + q]);
  }
  return sum;
}

// Entry (c, col) of the pixel's 3 x P rows: step 2 for one column.
template <typename T>
MORPHFIT_HD T PixelJacobianEntry(const PixelJacobianInputs<T>& in, const PixelSeeds<T>& s, int c,
                                 int col) {
  const JacobianLayout& L = in.layout;
  if (col >= L.shape && col < L.shape + L.num_shape) return PixelShapeEntry(in, s, c, col - L.shape);
  if (col >= L.albedo && col < L.albedo + L.num_albedo) {
    return PixelAlbedoEntry(in, s, c, col - L.albedo);
  }
  if (col >= L.lighting + 9 * c && col < L.lighting + 9 * c + 9) {
    return s.albedo[c] * s.sh[col - L.lighting - 9 * c];
  }
  if (col >= L.rotation && col < L.rotation + 3) return s.dc_drotation[c][col - L.rotation];
  if (col >= L.translation && col < L.translation + 3) {
    return s.dc_dtranslation[c][col - L.translation];
  }
  if (col >= L.camera && col < L.camera + 3) return s.dc_dcamera[c][col - L.camera];
  return T(0);
}

// Step 2 for a whole row (channel c, P = layout.total values), block by block.
template <typename T>
MORPHFIT_HD void FillPixelRow(const PixelJacobianInputs<T>& in, const PixelSeeds<T>& s, int c,
                              T* row) {
  const JacobianLayout& L = in.layout;
  for (int col = 0; col < L.total; ++col) row[col] = T(0);
  for (int q = 0; q < L.num_shape; ++q) row[L.shape + q] = PixelShapeEntry(in, s, c, q);
  for (int q = 0; q < L.num_albedo; ++q) row[L.albedo + q] = PixelAlbedoEntry(in, s, c, q);
  for (int k = 0; k < 9; ++k) row[L.lighting + 9 * c + k] = s.albedo[c] * s.sh[k];
  for (int j = 0; j < 3; ++j) {
    row[L.rotation + j] = s.dc_drotation[c][j];
    row[L.translation + j] = s.dc_dtranslation[c][j];
    row[L.camera + j] = s.dc_dcamera[c][j];
  }
}

// Serial reference of the fused normal equations over a visibility buffer (the CUDA twin's
// CPU twin): for every pixel with a visible triangle and weights[i] > 0 (weights may be null
// = 1), rows J_p (3 x P) and residual r_p scaled by sqrt(weight x IRLS weight) are added as
// jtj += J_pᵀ J_p (P x P, full, row-major, double) and jtr += J_pᵀ r_p. observed: 3 per pixel.
// jtj, jtr, cost and num_pixels are accumulated into (zero them first). `rows` is scratch of
// 3 P floats.
inline void AccumulateNormalEquationsReference(const PixelJacobianInputs<float>& in,
                                               const int32_t* visible_triangle, int width,
                                               int height, const float* observed,
                                               const float* weights, RobustLoss loss,
                                               double loss_scale, float* rows, double* jtj,
                                               double* jtr, double* cost, int* num_pixels) {
  const int P = in.layout.total;
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const int64_t i = static_cast<int64_t>(y) * width + x;
      const float w = weights != nullptr ? weights[i] : 1.0f;
      const int32_t f = visible_triangle[i];
      if (f < 0 || !(w > 0.0f)) continue;
      PixelSeeds<float> s;
      ComputePixelSeeds(in, f, x, y, &s);
      float r[3];
      const float sw = WeightPixelResidual(s.color, observed + 3 * i, w, loss, loss_scale, r, cost);
      for (int c = 0; c < 3; ++c) {
        float* row = rows + static_cast<int64_t>(c) * P;
        FillPixelRow(in, s, c, row);
        for (int a = 0; a < P; ++a) row[a] *= sw;
        const double rc = static_cast<double>(sw) * r[c];
        for (int a = 0; a < P; ++a) {
          jtr[a] += row[a] * rc;
          for (int b = 0; b < P; ++b) jtj[static_cast<int64_t>(a) * P + b] += double(row[a]) * row[b];
        }
      }
      ++*num_pixels;
    }
  }
}

}  // namespace morphfit::math

#endif  // MORPHFIT_MATH_PIXEL_JACOBIAN_H_
