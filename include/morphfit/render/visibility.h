// The z-buffered visibility buffer: per pixel the id of the nearest front-facing triangle whose
// coverage (exact fixed-point edge tests, top-left rule; math/raster.h) includes the pixel
// centre, and its perspective-correct barycentrics. Computed once per iteration; shading,
// residuals and Jacobians are evaluated per covered pixel from it. The CUDA twin
// (cuda/render_visibility.h) produces the same buffer.
#ifndef MORPHFIT_RENDER_VISIBILITY_H_
#define MORPHFIT_RENDER_VISIBILITY_H_

#include <cstdint>
#include <vector>

#include "morphfit/core/thread_pool.h"

namespace morphfit::render {

struct VisibilityBuffer {
  int width = 0;
  int height = 0;
  std::vector<int32_t> triangle;  // width * height, row-major; -1 = background
  std::vector<float> bary;        // 3 per pixel, perspective-correct (0 on background)
  std::vector<float> depth;       // camera z (mm) of the visible surface; +inf on background

  int num_covered() const;
};

// Plain-array input so the CUDA twin shares the signature:
//  pixels: 2N (u, v) px; depths: N camera z (mm); triangles: 3T vertex ids (CCW outward).
// Triangles with a vertex at depth <= z_near_mm (pinhole only), back-facing, degenerate or
// outside the guard band are skipped. Ties in depth go to the lower triangle id, so the buffer
// does not depend on the thread count. Each thread of `pool` (may be null) rasterizes a range of
// triangles into its own buffer; the buffers are merged by (depth, triangle id).
void RasterizeVisibility(const float* pixels, const float* depths, int num_vertices,
                         const int32_t* triangles, int num_triangles, int width, int height,
                         bool perspective, float z_near_mm, ThreadPool* pool,
                         VisibilityBuffer* out);

}  // namespace morphfit::render

#endif  // MORPHFIT_RENDER_VISIBILITY_H_
