// The image-space half of render::Render (renderer.h): the visibility buffer and every float
// channel of a face whose per-vertex arrays are already computed, written into a RenderResult
// whose buffers are reused from call to call. Render uses it for one fresh result; callers
// that render many faces (synth's samples) keep one result per thread, so no face pays for
// allocating, zero-filling and faulting in its images again (about 2.7 MB at 224 x 224).
#ifndef MORPHFIT_RENDER_RENDER_CHANNELS_H_
#define MORPHFIT_RENDER_RENDER_CHANNELS_H_

#include "morphfit/core/thread_pool.h"
#include "morphfit/models/morphable_model.h"
#include "morphfit/render/renderer.h"

namespace morphfit::render {

// Rasterizes the triangles of `model` at the vertices of `g` (made by ComputeGeometry for the
// same model) into out->visibility and shades image, mask, normals, albedo, shading and
// specular of width x height pixels (RenderResult's meanings; the background colour from
// `options`), setting out->width and out->height. Every pixel of every channel is rewritten, so
// `out` may hold any earlier result; its landmarks are left as they are. Width and height must
// be positive (Render checks them). `pool` may be null.
void RenderChannels(const FaceGeometry<float>& g, const models::MorphableModel& model,
                    const RenderOptions& options, int width, int height, ThreadPool* pool,
                    RenderResult* out);

}  // namespace morphfit::render

#endif  // MORPHFIT_RENDER_RENDER_CHANNELS_H_
