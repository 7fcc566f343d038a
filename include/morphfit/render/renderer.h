// The fitting renderer: FaceParams + MorphableModel -> per-vertex geometry (camera-frame points,
// area-weighted view-frame normals, pixels, albedo) -> visibility buffer -> per-pixel shading
// (albedo x Deep3D SH irradiance + optional Blinn-Phong specular; math/shading.h) and every
// output channel. Conventions in core/face_params.h; view frame = camera frame with y and z
// negated (normals and SH lighting live there).
#ifndef MORPHFIT_RENDER_RENDERER_H_
#define MORPHFIT_RENDER_RENDERER_H_

#include <cstdint>
#include <vector>

#include <Eigen/Core>

#include "morphfit/core/face_params.h"
#include "morphfit/core/status.h"
#include "morphfit/core/thread_pool.h"
#include "morphfit/math/render_pixel.h"
#include "morphfit/math/shading.h"
#include "morphfit/models/morphable_model.h"
#include "morphfit/render/visibility.h"

namespace morphfit::render {

struct RenderOptions {
  float z_near_mm = 1.0f;  // pinhole: triangles with a vertex nearer than this are skipped
  // Blinn-Phong (SfSNet-with-specularity): intensity 0 = off; white; half vector in the view
  // frame between the light direction and the viewer (+z).
  double specular_intensity = 0.0;
  double specular_shininess = 20.0;
  Eigen::Vector3d specular_half_vector = Eigen::Vector3d(0.0, 0.0, 1.0);
  Eigen::Vector3f background = Eigen::Vector3f::Zero();  // RGB in [0, 1]
  // Landmarks count as visible when no surface is nearer than this in front of them (mm).
  double landmark_depth_tolerance_mm = 2.0;
};

// Per-vertex geometry for one face (T = float for rendering, double for checks). All arrays
// are interleaved per vertex.
template <typename T>
struct FaceGeometry {
  bool perspective = true;
  T camera[3];                      // FaceParams::camera
  T rotation[9];                    // camera_from_model, row-major
  T drotation[3][9];                // d rotation / d axis-angle component
  T translation[3];                 // mm
  T lighting[27];
  std::vector<T> vertices_model;    // 3N mm
  std::vector<T> normals_model_raw; // 3N, sum of adjacent (v1 - v0) x (v2 - v0)
  std::vector<T> points_camera;     // 3N mm
  std::vector<T> normals_view;      // 3N unit
  std::vector<T> pixels;            // 2N (u, v) px
  std::vector<T> albedo;            // 3N RGB
  std::vector<float> pixels_float;  // 2N, for the rasterizer
  std::vector<float> depths_float;  // N camera z
};

// Sizes must match (CheckSizes) and params be finite (Validate): else a Status error.
template <typename T>
StatusOr<FaceGeometry<T>> ComputeGeometry(const models::MorphableModel& model,
                                          const FaceParams& params, ThreadPool* pool);

// The same into a caller-owned `out` whose vectors are reused (resized to this model's vertex
// count, keeping their storage when the size is unchanged): every member is rewritten, bit for
// bit what the call above returns, whatever face `out` held before. Callers that compute many
// faces (synth keeps one per thread) so skip allocating, zero-filling and faulting in the
// per-vertex arrays on every face. On error `out` is left unspecified. `pool` may be null.
template <typename T>
Status ComputeGeometry(const models::MorphableModel& model, const FaceParams& params,
                       ThreadPool* pool, FaceGeometry<T>* out);

// Per-pixel shading of pixel (px, py) covered by `triangle`, with the continuous
// perspective-correct barycentrics of the pixel centre (also returned).
template <typename T>
void ShadeTrianglePixel(const FaceGeometry<T>& geometry, const models::MorphableModel& model,
                        int triangle, int px, int py, const math::SpecularParams<T>& spec,
                        T bary[3], math::PixelShading<T>* shading);

template <typename T>
math::SpecularParams<T> MakeSpecularParams(const RenderOptions& options);

// The per-vertex arrays of `geometry` as the shared per-pixel shading reads them (borrowed:
// geometry and model must outlive the result).
template <typename T>
math::ShadeInputs<T> MakeShadeInputs(const FaceGeometry<T>& geometry,
                                     const models::MorphableModel& model,
                                     const math::SpecularParams<T>& spec);

// Shades every pixel of `vis` into every channel of `out` (width * height of vis): exactly
// math::ShadeImageReference (same bits; both built with FMA contraction off) when vis was
// rasterized from in.pixels and in.depths, whose barycentrics it uses as they are instead of
// recomputing them. Vectorised across pixels; row chunks are split on `pool` (may be null).
void ShadeVisibility(const math::ShadeInputs<float>& in, const VisibilityBuffer& vis,
                     const float background[3], const math::ChannelImages& out,
                     ThreadPool* pool);

struct RenderResult {
  int width = 0, height = 0;
  VisibilityBuffer visibility;
  // Float images, row-major, width * height * channels; background pixels hold the background
  // colour (image) or 0 (the others).
  std::vector<float> image;     // RGB, composited over the background
  std::vector<uint8_t> mask;    // 1 = face
  std::vector<float> normals;   // view frame, unit
  std::vector<float> albedo;    // RGB
  std::vector<float> shading;   // RGB SH irradiance
  std::vector<float> specular;  // 1 channel
  // 68 landmarks (model.landmarks order): pixel positions and visibility.
  Eigen::Matrix2Xd landmarks;
  std::vector<bool> landmark_visible;
};

// Renders every channel. A face behind the camera or outside the image gives an empty (all
// background), valid result. Errors: block sizes, non-finite parameters, image size <= 0.
StatusOr<RenderResult> Render(const models::MorphableModel& model, const FaceParams& params,
                              const RenderOptions& options, ThreadPool* pool);

}  // namespace morphfit::render

#endif  // MORPHFIT_RENDER_RENDERER_H_
