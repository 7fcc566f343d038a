// CPU visibility buffer: triangle setup in parallel, binning into bands of rows in triangle
// order, then one z-buffer per band (bands in parallel), then a resolve pass for barycentrics.
// Per-triangle and per-pixel steps are math/visibility.h's, shared with the CUDA twin and the
// serial reference. Built with FMA contraction off (CMakeLists) so depths round as on the GPU.
#include "morphfit/render/visibility.h"

#include <algorithm>
#include <limits>

#include "morphfit/math/raster.h"
#include "morphfit/math/visibility.h"

namespace morphfit::render {
namespace {

constexpr int kBandRows = 8;
constexpr int64_t kSetupChunk = 4096;

}  // namespace

int VisibilityBuffer::num_covered() const {
  return static_cast<int>(std::count_if(triangle.begin(), triangle.end(),
                                        [](int32_t t) { return t >= 0; }));
}

void RasterizeVisibility(const float* pixels, const float* depths, int num_vertices,
                         const int32_t* triangles, int num_triangles, int width, int height,
                         bool perspective, float z_near_mm, ThreadPool* pool,
                         VisibilityBuffer* out) {
  (void)num_vertices;
  out->width = width;
  out->height = height;
  const size_t num_pixels = static_cast<size_t>(width) * height;
  out->triangle.assign(num_pixels, -1);
  out->bary.assign(3 * num_pixels, 0.0f);
  out->depth.assign(num_pixels, std::numeric_limits<float>::infinity());
  if (width <= 0 || height <= 0 || num_triangles <= 0) return;
  ThreadPool inline_pool(1);
  ThreadPool* p = pool != nullptr ? pool : &inline_pool;

  std::vector<math::ScreenTriangle> setup(num_triangles);
  std::vector<uint8_t> valid(num_triangles, 0);
  p->ParallelForChunks(0, num_triangles, kSetupChunk, [&](int64_t b, int64_t e, int64_t) {
    for (int64_t f = b; f < e; ++f) {
      valid[f] = math::SetupVisibilityTriangle(pixels, depths, triangles, f, width, height,
                                               perspective, z_near_mm, &setup[f]);
    }
  });

  const int num_bands = (height + kBandRows - 1) / kBandRows;
  std::vector<std::vector<int32_t>> bands(num_bands);
  for (int32_t f = 0; f < num_triangles; ++f) {
    if (!valid[f]) continue;
    for (int b = setup[f].min_py / kBandRows; b <= setup[f].max_py / kBandRows; ++b) {
      bands[b].push_back(f);
    }
  }

  p->ParallelForChunks(0, num_bands, 1, [&](int64_t band, int64_t, int64_t) {
    const int row0 = static_cast<int>(band) * kBandRows;
    const int row1 = std::min(height - 1, row0 + kBandRows - 1);
    for (int32_t f : bands[band]) {
      const math::ScreenTriangle& t = setup[f];
      float z[3];
      math::TriangleDepths(depths, triangles, f, z);
      for (int y = std::max(row0, t.min_py); y <= std::min(row1, t.max_py); ++y) {
        for (int x = t.min_px; x <= t.max_px; ++x) {
          int64_t w[3];
          if (!math::CoversPixel(t, x, y, w)) continue;
          const float d = math::CoverageDepth(t, w, z, perspective);
          const size_t i = static_cast<size_t>(y) * width + x;
          if (d < out->depth[i]) {  // strict: equal depth keeps the lower triangle id
            out->depth[i] = d;
            out->triangle[i] = f;
          }
        }
      }
    }
  });

  p->ParallelForChunks(0, height, kBandRows, [&](int64_t y0, int64_t y1, int64_t) {
    for (int64_t y = y0; y < y1; ++y) {
      for (int x = 0; x < width; ++x) {
        const size_t i = static_cast<size_t>(y) * width + x;
        const int32_t f = out->triangle[i];
        if (f < 0) continue;
        math::VisibilityBarycentrics(pixels, depths, triangles, f, x, static_cast<int>(y),
                                     perspective, &out->bary[3 * i]);
      }
    }
  });
}

}  // namespace morphfit::render
