// The per-triangle and per-pixel steps of the z-buffered visibility buffer, shared by the CPU
// rasterizer (render/visibility.cc), its CUDA twin (cuda/render_visibility.cu) and the serial
// reference loop below (the CPU twin the CUDA tests compare against). Plain arrays:
//   pixels: 2N (u, v) px; depths: N camera z (mm); triangles: 3T vertex ids (CCW outward).
// Every caller compiles these with FMA contraction off (-ffp-contract=off, nvcc --fmad=false),
// so depths and barycentrics round identically on host and device.
#ifndef MORPHFIT_MATH_VISIBILITY_H_
#define MORPHFIT_MATH_VISIBILITY_H_

#include <cstdint>
#include <limits>

#include "morphfit/math/hd.h"
#include "morphfit/math/raster.h"

namespace morphfit::math {

// z[k] = depth of corner k of triangle f.
MORPHFIT_HD void TriangleDepths(const float* depths, const int32_t* triangles, int64_t f,
                                float z[3]) {
  for (int k = 0; k < 3; ++k) z[k] = depths[triangles[3 * f + k]];
}

// Sets up triangle f for coverage tests. False when it is culled: a vertex at depth <= z_near_mm
// (pinhole only; also NaN depths), back-facing, degenerate after snapping, outside the guard
// band, or with a bounding box that misses the image.
MORPHFIT_HD bool SetupVisibilityTriangle(const float* pixels, const float* depths,
                                         const int32_t* triangles, int64_t f, int width,
                                         int height, bool perspective, float z_near_mm,
                                         ScreenTriangle* t) {
  float uv[6];
  for (int k = 0; k < 3; ++k) {
    const int32_t v = triangles[3 * f + k];
    uv[2 * k] = pixels[2 * v];
    uv[2 * k + 1] = pixels[2 * v + 1];
    if (perspective && !(depths[v] > z_near_mm)) return false;
  }
  if (!SetupScreenTriangle(uv, width, height, t)) return false;
  return t->min_px <= t->max_px && t->min_py <= t->max_py;
}

// Perspective-correct barycentrics of pixel centre (x, y) from the triangle's corners uv
// (u0 v0 u1 v1 u2 v2, px) and depths z.
MORPHFIT_HD void CornerBarycentrics(const float uv[6], const float z[3], float x, float y,
                                    bool perspective, float bary[3]) {
  float l[3];
  ScreenBarycentrics<float>(uv, x, y, l, nullptr);
  PerspectiveBarycentrics<float>(l, z, perspective, bary, nullptr, nullptr);
}

// Perspective-correct barycentrics of the centre of pixel (x, y) in triangle f (the resolve
// pass once the z-test has chosen f).
MORPHFIT_HD void VisibilityBarycentrics(const float* pixels, const float* depths,
                                        const int32_t* triangles, int32_t f, int x, int y,
                                        bool perspective, float bary[3]) {
  float uv[6], z[3];
  for (int k = 0; k < 3; ++k) {
    const int32_t v = triangles[3 * static_cast<int64_t>(f) + k];
    uv[2 * k] = pixels[2 * v];
    uv[2 * k + 1] = pixels[2 * v + 1];
    z[k] = depths[v];
  }
  CornerBarycentrics(uv, z, static_cast<float>(x), static_cast<float>(y), perspective, bary);
}

// Serial reference: triangles in id order, a strictly nearer depth replaces the stored one, so
// equal depths keep the lower triangle id. Outputs (width * height, row-major): triangle (-1 =
// background), bary (3 per pixel, 0 on background), depth (+inf on background). Gives exactly
// the buffer of render::RasterizeVisibility (any thread count) and of the CUDA twin.
inline void RasterizeVisibilityReference(const float* pixels, const float* depths,
                                         const int32_t* triangles, int num_triangles, int width,
                                         int height, bool perspective, float z_near_mm,
                                         int32_t* triangle_out, float* bary_out,
                                         float* depth_out) {
  const int64_t num_pixels = static_cast<int64_t>(width) * height;
  for (int64_t i = 0; i < num_pixels; ++i) {
    triangle_out[i] = -1;
    depth_out[i] = std::numeric_limits<float>::infinity();
    bary_out[3 * i] = bary_out[3 * i + 1] = bary_out[3 * i + 2] = 0.0f;
  }
  for (int32_t f = 0; f < num_triangles; ++f) {
    ScreenTriangle t;
    if (!SetupVisibilityTriangle(pixels, depths, triangles, f, width, height, perspective,
                                 z_near_mm, &t)) {
      continue;
    }
    float z[3];
    TriangleDepths(depths, triangles, f, z);
    for (int y = t.min_py; y <= t.max_py; ++y) {
      for (int x = t.min_px; x <= t.max_px; ++x) {
        int64_t w[3];
        if (!CoversPixel(t, x, y, w)) continue;
        const float d = CoverageDepth(t, w, z, perspective);
        const int64_t i = static_cast<int64_t>(y) * width + x;
        if (d < depth_out[i]) {
          depth_out[i] = d;
          triangle_out[i] = f;
        }
      }
    }
  }
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const int64_t i = static_cast<int64_t>(y) * width + x;
      if (triangle_out[i] >= 0) {
        VisibilityBarycentrics(pixels, depths, triangles, triangle_out[i], x, y, perspective,
                               &bary_out[3 * i]);
      }
    }
  }
}

}  // namespace morphfit::math

#endif  // MORPHFIT_MATH_VISIBILITY_H_
