// Batched CUDA rendering: visibility buffer (cuda/render_visibility.h) then every shaded channel
// per pixel with math::ShadeVisibilityPixel (math/render_pixel.h), the formula the CPU renderer
// (render::Render) calls. Many faces of one mesh per launch, for synthesis and training. Plain
// C++ launcher header: no CUDA types.
#ifndef MORPHFIT_CUDA_RENDER_SHADING_H_
#define MORPHFIT_CUDA_RENDER_SHADING_H_

#include <cstdint>
#include <string>
#include <vector>

#include "render_visibility.h"

namespace morphfit::cuda {

// Host arrays of `batch` faces of one mesh (N vertices, T triangles), face-major: per-vertex
// arrays are batch x (values per vertex x N). Pointers are borrowed.
struct RenderBatchInput {
  const float* pixels = nullptr;    // batch x 2N (u, v) px
  const float* depths = nullptr;    // batch x N camera z (mm)
  const float* normals = nullptr;   // batch x 3N unit, view frame
  const float* albedo = nullptr;    // batch x 3N RGB
  const float* lighting = nullptr;  // batch x 27 SH coefficients
  const int32_t* triangles = nullptr;  // 3T vertex ids (CCW outward), shared
  int num_vertices = 0, num_triangles = 0, batch = 0;
  int width = 0, height = 0;
  bool perspective = true;
  float z_near_mm = 1.0f;
  // Blinn-Phong (render::RenderOptions): intensity 0 = off; unit half vector, view frame.
  float specular_intensity = 0.0f, specular_shininess = 20.0f;
  float specular_half_vector[3] = {0.0f, 0.0f, 1.0f};
  // Optional per-face Blinn-Phong (batch x 5: intensity, shininess, unit half vector), used
  // instead of the three shared fields above when not null (synthesis draws them per sample).
  const float* face_specular = nullptr;
  float background[3] = {0.0f, 0.0f, 0.0f};
};

// Channels of every face, concatenated (face b's pixel i at b * width * height + i), with the
// meanings of render::RenderResult.
struct RenderBatchOutput {
  VisibilityArrays visibility;
  std::vector<float> image;     // 3 per pixel
  std::vector<uint8_t> mask;
  std::vector<float> normals;   // 3
  std::vector<float> albedo;    // 3
  std::vector<float> shading;   // 3
  std::vector<float> specular;  // 1
};

std::string RenderBatchCuda(const RenderBatchInput& input, RenderBatchOutput* out);

// Shading only, from a visibility buffer already on the host (visible_triangle: batch x width x
// height ids): fills every channel of `out` except out->visibility.
std::string ShadeBatchCuda(const RenderBatchInput& input, const int32_t* visible_triangle,
                           RenderBatchOutput* out);

}  // namespace morphfit::cuda

#endif  // MORPHFIT_CUDA_RENDER_SHADING_H_
