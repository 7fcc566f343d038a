// Triangle rasterization math shared by the CPU visibility buffer and its CUDA twin: exact
// fixed-point coverage with a top-left fill rule, the depth used by the z-test, and continuous
// (perspective-correct) barycentrics with their derivatives for the Jacobians.
//
// Pixel (px, py) samples its centre, which is the integer point (px, py) (FaceParams: (0, 0) =
// centre of the top-left pixel). Screen vertices are snapped to 1/256 px (int64) so that edge
// functions are exact: a pixel centre on an edge shared by two triangles is owned by exactly
// one of them (top-left rule), with no cracks and no double cover, on CPU and GPU alike.
// Image coordinates have y down; a triangle that is counter-clockwise seen from outside
// (model convention) and faces the camera is clockwise in the image.
#ifndef MORPHFIT_MATH_RASTER_H_
#define MORPHFIT_MATH_RASTER_H_

#include <cstdint>

#include "morphfit/math/hd.h"

namespace morphfit::math {

constexpr int kSubpixelBits = 8;
constexpr int64_t kSubpixelScale = int64_t{1} << kSubpixelBits;
// Vertices farther than this from the origin (px) are culled with their triangle, so that edge
// products stay inside int64 (2 * (2^20 * 2^8 * 2)^2 < 2^63).
constexpr float kGuardBandPx = 1048576.0f;

// Edge function of directed edge a->b at p (twice the signed area of a, b, p): positive when p is
// on the interior side of an edge of a front-facing triangle as oriented below.
template <typename T>
MORPHFIT_HD T EdgeFunction(T ax, T ay, T bx, T by, T px, T py) {
  return (bx - ax) * (py - ay) - (by - ay) * (px - ax);
}

// Snapped, front-facing triangle ready for coverage tests. Edge i is opposite vertex i and runs
// so that interior edge values are positive: edge 0 = p2->p1, edge 1 = p0->p2, edge 2 = p1->p0.
struct ScreenTriangle {
  int64_t x[3], y[3];  // fixed point, 1/256 px
  int64_t area;        // sum of the three edge functions (> 0)
  bool owns[3];        // top-left rule: pixel centres exactly on edge i are inside
  int min_px, max_px, min_py, max_py;  // pixel bounding box clipped to the image (may be empty)
};

MORPHFIT_HD int64_t FloorDivSubpixel(int64_t v) {
  return v >= 0 ? v / kSubpixelScale : -((-v + kSubpixelScale - 1) / kSubpixelScale);
}

// Sets up the triangle with screen vertices uv (u0 v0 u1 v1 u2 v2, px). Returns false when it
// is back-facing or degenerate after snapping, or outside the guard band (near-plane culling is
// the caller's).
MORPHFIT_HD bool SetupScreenTriangle(const float uv[6], int width, int height,
                                     ScreenTriangle* t) {
  for (int i = 0; i < 6; ++i) {
    if (!(uv[i] > -kGuardBandPx && uv[i] < kGuardBandPx)) return false;  // also rejects NaN
  }
  for (int i = 0; i < 3; ++i) {
    // Round to nearest; the same float -> int64 conversion on host and device.
    const float sx = uv[2 * i] * static_cast<float>(kSubpixelScale);
    const float sy = uv[2 * i + 1] * static_cast<float>(kSubpixelScale);
    t->x[i] = static_cast<int64_t>(sx >= 0.0f ? sx + 0.5f : sx - 0.5f);
    t->y[i] = static_cast<int64_t>(sy >= 0.0f ? sy + 0.5f : sy - 0.5f);
  }
  // Edge i runs from a_i to b_i: (2 -> 1), (0 -> 2), (1 -> 0).
  const int a[3] = {2, 0, 1}, b[3] = {1, 2, 0};
  t->area = EdgeFunction<int64_t>(t->x[2], t->y[2], t->x[1], t->y[1], t->x[0], t->y[0]);
  if (t->area <= 0) return false;
  for (int i = 0; i < 3; ++i) {
    const int64_t dx = t->x[b[i]] - t->x[a[i]], dy = t->y[b[i]] - t->y[a[i]];
    t->owns[i] = dy < 0 || (dy == 0 && dx > 0);
  }
  int64_t lo_x = t->x[0], hi_x = t->x[0], lo_y = t->y[0], hi_y = t->y[0];
  for (int i = 1; i < 3; ++i) {
    lo_x = t->x[i] < lo_x ? t->x[i] : lo_x;
    hi_x = t->x[i] > hi_x ? t->x[i] : hi_x;
    lo_y = t->y[i] < lo_y ? t->y[i] : lo_y;
    hi_y = t->y[i] > hi_y ? t->y[i] : hi_y;
  }
  const int64_t min_px = -FloorDivSubpixel(-lo_x), max_px = FloorDivSubpixel(hi_x);
  const int64_t min_py = -FloorDivSubpixel(-lo_y), max_py = FloorDivSubpixel(hi_y);
  t->min_px = static_cast<int>(min_px < 0 ? 0 : min_px);
  t->min_py = static_cast<int>(min_py < 0 ? 0 : min_py);
  t->max_px = static_cast<int>(max_px > width - 1 ? width - 1 : max_px);
  t->max_py = static_cast<int>(max_py > height - 1 ? height - 1 : max_py);
  return true;
}

// Whether pixel centre (px, py) is covered; w receives the three exact edge values.
MORPHFIT_HD bool CoversPixel(const ScreenTriangle& t, int px, int py, int64_t w[3]) {
  const int64_t sx = static_cast<int64_t>(px) * kSubpixelScale;
  const int64_t sy = static_cast<int64_t>(py) * kSubpixelScale;
  w[0] = EdgeFunction<int64_t>(t.x[2], t.y[2], t.x[1], t.y[1], sx, sy);
  w[1] = EdgeFunction<int64_t>(t.x[0], t.y[0], t.x[2], t.y[2], sx, sy);
  w[2] = EdgeFunction<int64_t>(t.x[1], t.y[1], t.x[0], t.y[0], sx, sy);
  for (int i = 0; i < 3; ++i) {
    if (w[i] < 0 || (w[i] == 0 && !t.owns[i])) return false;
  }
  return true;
}

// Depth (camera z, mm) of a covered pixel from its exact edge values: 1/z interpolates linearly
// in the image under a pinhole camera, z itself under weak perspective. Used for the z-test;
// callers build with FMA contraction off so host and device round identically.
// The same from the edge values and area already rounded to float (static_cast<float> of the
// int64s): the form the CPU rasterizer evaluates across many pixels at once.
MORPHFIT_HD float CoverageDepthFromEdges(float area, const float w[3], const float z[3],
                                         bool perspective) {
  const float inv_area = 1.0f / area;
  const float l0 = w[0] * inv_area;
  const float l1 = w[1] * inv_area;
  const float l2 = w[2] * inv_area;
  if (perspective) return 1.0f / (l0 / z[0] + l1 / z[1] + l2 / z[2]);
  return l0 * z[0] + l1 * z[1] + l2 * z[2];
}

MORPHFIT_HD float CoverageDepth(const ScreenTriangle& t, const int64_t w[3], const float z[3],
                                bool perspective) {
  const float wf[3] = {static_cast<float>(w[0]), static_cast<float>(w[1]),
                       static_cast<float>(w[2])};
  return CoverageDepthFromEdges(static_cast<float>(t.area), wf, z, perspective);
}

// Continuous screen-space barycentrics l of pixel (px, py) in triangle uv (u0 v0 u1 v1 u2 v2),
// and when dl_duv is not null their derivatives dl_duv[i][k] = dl_i / duv_k (k over the six
// vertex coordinates). The pixel position is fixed (visibility held fixed).
template <typename T>
MORPHFIT_HD void ScreenBarycentrics(const T uv[6], T px, T py, T l[3], T dl_duv[3][6]) {
  // E_i = EdgeFunction(a_i, b_i, p) with (a, b) = (2, 1), (0, 2), (1, 0); A = sum of E_i.
  const int a[3] = {2, 0, 1}, b[3] = {1, 2, 0};
  T e[3];
  for (int i = 0; i < 3; ++i) {
    e[i] = EdgeFunction(uv[2 * a[i]], uv[2 * a[i] + 1], uv[2 * b[i]], uv[2 * b[i] + 1], px, py);
  }
  const T area = e[0] + e[1] + e[2];
  const T inv_area = T(1) / area;
  for (int i = 0; i < 3; ++i) l[i] = e[i] * inv_area;
  if (dl_duv == nullptr) return;
  // dE(a, b, p)/da = (b.y - p.y, p.x - b.x), dE/db = (p.y - a.y, a.x - p.x).
  T de[3][6];
  T da[6];
  for (int k = 0; k < 6; ++k) da[k] = T(0);
  for (int i = 0; i < 3; ++i) {
    for (int k = 0; k < 6; ++k) de[i][k] = T(0);
    const T ax = uv[2 * a[i]], ay = uv[2 * a[i] + 1], bx = uv[2 * b[i]], by = uv[2 * b[i] + 1];
    de[i][2 * a[i]] = by - py;
    de[i][2 * a[i] + 1] = px - bx;
    de[i][2 * b[i]] = py - ay;
    de[i][2 * b[i] + 1] = ax - px;
    for (int k = 0; k < 6; ++k) da[k] += de[i][k];
  }
  for (int i = 0; i < 3; ++i) {
    for (int k = 0; k < 6; ++k) dl_duv[i][k] = (de[i][k] - l[i] * da[k]) * inv_area;
  }
}

// Perspective-correct barycentrics bary from screen ones l and vertex depths z (pinhole):
// bary_i = (l_i / z_i) / sum_j (l_j / z_j); weak perspective: bary = l. When dbary_dl is not
// null it receives dbary_i/dl_j, and dbary_dz receives dbary_i/dz_j (zero for weak).
template <typename T>
MORPHFIT_HD void PerspectiveBarycentrics(const T l[3], const T z[3], bool perspective, T bary[3],
                                         T dbary_dl[3][3], T dbary_dz[3][3]) {
  if (!perspective) {
    for (int i = 0; i < 3; ++i) {
      bary[i] = l[i];
      if (dbary_dl != nullptr) {
        for (int j = 0; j < 3; ++j) {
          dbary_dl[i][j] = i == j ? T(1) : T(0);
          dbary_dz[i][j] = T(0);
        }
      }
    }
    return;
  }
  T q[3];
  for (int i = 0; i < 3; ++i) q[i] = l[i] / z[i];
  const T inv_sum = T(1) / (q[0] + q[1] + q[2]);
  for (int i = 0; i < 3; ++i) bary[i] = q[i] * inv_sum;
  if (dbary_dl == nullptr) return;
  // dbary_i/dq_j = (δij - bary_i) / sum; dq_j/dl_j = 1/z_j; dq_j/dz_j = -q_j/z_j.
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) {
      const T dq = ((i == j ? T(1) : T(0)) - bary[i]) * inv_sum;
      dbary_dl[i][j] = dq / z[j];
      dbary_dz[i][j] = -dq * q[j] / z[j];
    }
  }
}

}  // namespace morphfit::math

#endif  // MORPHFIT_MATH_RASTER_H_
