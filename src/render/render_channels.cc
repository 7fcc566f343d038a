// Visibility and shaded channels into reusable buffers (render_channels.h).
#include "morphfit/render/render_channels.h"

#include <cstddef>

namespace morphfit::render {

void RenderChannels(const FaceGeometry<float>& g, const models::MorphableModel& model,
                    const RenderOptions& options, int width, int height, ThreadPool* pool,
                    RenderResult* out) {
  out->width = width;
  out->height = height;
  RasterizeVisibility(g.pixels_float.data(), g.depths_float.data(), model.num_vertices(),
                      model.triangles.data(), model.num_triangles(), width, height,
                      g.perspective, options.z_near_mm, pool, &out->visibility);
  // resize keeps the storage (and the old values, all overwritten by the shading) when the
  // size is unchanged.
  const size_t num_pixels = static_cast<size_t>(width) * height;
  out->image.resize(3 * num_pixels);
  out->mask.resize(num_pixels);
  out->normals.resize(3 * num_pixels);
  out->albedo.resize(3 * num_pixels);
  out->shading.resize(3 * num_pixels);
  out->specular.resize(num_pixels);
  const math::ChannelImages images{out->image.data(),  out->mask.data(),    out->normals.data(),
                                   out->albedo.data(), out->shading.data(), out->specular.data()};
  const float background[3] = {options.background[0], options.background[1],
                               options.background[2]};
  ShadeVisibility(MakeShadeInputs(g, model, MakeSpecularParams<float>(options)), out->visibility,
                  background, images, pool);
}

}  // namespace morphfit::render
