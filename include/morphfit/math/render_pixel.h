// Shading of one visibility-buffer pixel from per-vertex arrays, and the channel images it
// writes: the per-pixel formula called by the CPU renderer (render::Render and
// render::ShadeTrianglePixel), the CUDA shading kernel (cuda/render_shading.cu) and the serial
// reference ShadeImageReference below (the CUDA tests' CPU twin). math/shading.h holds the
// shading model itself (albedo x SH irradiance + Blinn-Phong).
#ifndef MORPHFIT_MATH_RENDER_PIXEL_H_
#define MORPHFIT_MATH_RENDER_PIXEL_H_

#include <cstdint>

#include "morphfit/math/hd.h"
#include "morphfit/math/raster.h"
#include "morphfit/math/shading.h"

namespace morphfit::math {

// Per-vertex inputs of one face (N vertices, T triangles); pointers are borrowed.
template <typename T>
struct ShadeInputs {
  const T* pixels = nullptr;    // 2N (u, v) px
  const T* depths = nullptr;    // camera z (mm) of vertex v at depths[v * depth_stride]
  int depth_stride = 1;         // 1 for a depth array, 3 for camera-frame points (+2 offset)
  const T* normals = nullptr;   // 3N unit, view frame
  const T* albedo = nullptr;    // 3N RGB
  const int32_t* triangles = nullptr;  // 3T vertex ids
  bool perspective = true;      // pinhole (perspective-correct barycentrics) or weak
  const T* lighting = nullptr;  // 27 SH coefficients R[9] G[9] B[9]
  SpecularParams<T> spec;
};

// Shading of the centre of pixel (px, py) in triangle f, with its perspective-correct
// barycentrics (continuous, from the unsnapped vertices).
template <typename T>
MORPHFIT_HD void ShadeTrianglePixel(const ShadeInputs<T>& in, int32_t f, int px, int py,
                                    T bary[3], PixelShading<T>* shading) {
  T uv[6], z[3], l[3];
  const T* normals[3];
  const T* albedos[3];
  for (int k = 0; k < 3; ++k) {
    const int64_t v = in.triangles[3 * static_cast<int64_t>(f) + k];
    uv[2 * k] = in.pixels[2 * v];
    uv[2 * k + 1] = in.pixels[2 * v + 1];
    z[k] = in.depths[v * in.depth_stride];
    normals[k] = in.normals + 3 * v;
    albedos[k] = in.albedo + 3 * v;
  }
  ScreenBarycentrics<T>(uv, T(px), T(py), l, nullptr);
  PerspectiveBarycentrics<T>(l, z, in.perspective, bary, nullptr, nullptr);
  ShadePixel(bary, normals, albedos, in.lighting, in.spec, shading);
}

// Channel images (row-major, pixel i of width * height); every pointer is required.
struct ChannelImages {
  float* image = nullptr;     // 3 per pixel, RGB composited over the background
  uint8_t* mask = nullptr;    // 1 = face
  float* normals = nullptr;   // 3, unit view frame (0 on background)
  float* albedo = nullptr;    // 3
  float* shading = nullptr;   // 3, SH irradiance
  float* specular = nullptr;  // 1
};

// Writes every channel of pixel (x, y), index i, whose visible triangle is f (-1 = background:
// the background colour in image, 0 elsewhere).
MORPHFIT_HD void ShadeVisibilityPixel(const ShadeInputs<float>& in, int32_t f, int x, int y,
                                      int64_t i, const float background[3],
                                      const ChannelImages& out) {
  if (f < 0) {
    for (int c = 0; c < 3; ++c) {
      out.image[3 * i + c] = background[c];
      out.normals[3 * i + c] = 0.0f;
      out.albedo[3 * i + c] = 0.0f;
      out.shading[3 * i + c] = 0.0f;
    }
    out.mask[i] = 0;
    out.specular[i] = 0.0f;
    return;
  }
  float bary[3];
  PixelShading<float> s;
  ShadeTrianglePixel(in, f, x, y, bary, &s);
  for (int c = 0; c < 3; ++c) {
    out.image[3 * i + c] = s.color[c];
    out.normals[3 * i + c] = s.normal[c];
    out.albedo[3 * i + c] = s.albedo[c];
    out.shading[3 * i + c] = s.shading[c];
  }
  out.mask[i] = 1;
  out.specular[i] = s.specular;
}

// Serial reference over a whole visibility buffer (visible_triangle: width * height ids).
inline void ShadeImageReference(const ShadeInputs<float>& in, const int32_t* visible_triangle,
                                int width, int height, const float background[3],
                                const ChannelImages& out) {
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const int64_t i = static_cast<int64_t>(y) * width + x;
      ShadeVisibilityPixel(in, visible_triangle[i], x, y, i, background, out);
    }
  }
}

}  // namespace morphfit::math

#endif  // MORPHFIT_MATH_RENDER_PIXEL_H_
