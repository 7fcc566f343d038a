// CPU visibility buffer. Vertices are snapped to the 1/256 px grid once each (instead of once
// per triangle corner); triangle setup then works on those integers and gives exactly the
// ScreenTriangle of math::SetupVisibilityTriangle (integer arithmetic, same culling). One
// thread: each triangle is set up and z-tested at once, in id order, with no setup array and
// no binning. Several threads: setup in parallel, binning into bands of rows in triangle order,
// one z-buffer per band (bands in parallel). Then a resolve pass for barycentrics. Per-pixel
// steps are math/visibility.h's, shared with the CUDA twin and the serial reference, which
// both paths equal exactly (tests/render/renderer_test.cc). Built with FMA contraction off
// (CMakeLists) so depths round as on the GPU.
#include "morphfit/render/visibility.h"

#include <algorithm>
#include <limits>

#include "morphfit/math/raster.h"
#include "morphfit/math/visibility.h"

namespace morphfit::render {
namespace {

constexpr int kBandRows = 8;
constexpr int64_t kSetupChunk = 4096;
static_assert(math::kSubpixelScale == 256, "SnapVertices shifts by kSubpixelBits");

// Per-vertex fixed-point positions (as SetupScreenTriangle rounds them) and whether a
// triangle using the vertex may be kept: inside the guard band (no NaN) and, for a pinhole
// camera, deeper than z_near_mm. |coordinate| < 2^20 px, so snapped values fit in int32.
struct SnappedVertices {
  std::vector<int32_t> xy;  // 2N
  std::vector<uint8_t> ok;  // N
};

void SnapVertices(const float* pixels, const float* depths, int num_vertices, bool perspective,
                  float z_near_mm, ThreadPool* pool, SnappedVertices* out) {
  out->xy.resize(2 * static_cast<size_t>(num_vertices));
  out->ok.resize(num_vertices);
  pool->ParallelForChunks(0, num_vertices, 16384, [&](int64_t b, int64_t e, int64_t) {
    for (int64_t v = b; v < e; ++v) {
      bool ok = !perspective || depths[v] > z_near_mm;
      for (int k = 0; k < 2; ++k) {
        const float c = pixels[2 * v + k];
        int32_t snapped = 0;
        if (c > -math::kGuardBandPx && c < math::kGuardBandPx) {
          const float s = c * static_cast<float>(math::kSubpixelScale);
          snapped = static_cast<int32_t>(s >= 0.0f ? s + 0.5f : s - 0.5f);
        } else {
          ok = false;
        }
        out->xy[2 * v + k] = snapped;
      }
      out->ok[v] = ok ? 1 : 0;
    }
  });
}

// math::SetupVisibilityTriangle from snapped vertices: same culling, same ScreenTriangle.
inline bool SetupSnappedTriangle(const SnappedVertices& sv, const int32_t* triangles, int64_t f,
                                 int width, int height, math::ScreenTriangle* t) {
  const int32_t v0 = triangles[3 * f], v1 = triangles[3 * f + 1], v2 = triangles[3 * f + 2];
  if (!(sv.ok[v0] & sv.ok[v1] & sv.ok[v2])) return false;
  const int32_t* xy = sv.xy.data();
  t->x[0] = xy[2 * v0];
  t->y[0] = xy[2 * v0 + 1];
  t->x[1] = xy[2 * v1];
  t->y[1] = xy[2 * v1 + 1];
  t->x[2] = xy[2 * v2];
  t->y[2] = xy[2 * v2 + 1];
  t->area = math::EdgeFunction<int64_t>(t->x[2], t->y[2], t->x[1], t->y[1], t->x[0], t->y[0]);
  if (t->area <= 0) return false;
  const int a[3] = {2, 0, 1}, b[3] = {1, 2, 0};
  for (int i = 0; i < 3; ++i) {
    const int64_t dx = t->x[b[i]] - t->x[a[i]], dy = t->y[b[i]] - t->y[a[i]];
    t->owns[i] = dy < 0 || (dy == 0 && dx > 0);
  }
  const int64_t lo_x = std::min({t->x[0], t->x[1], t->x[2]});
  const int64_t hi_x = std::max({t->x[0], t->x[1], t->x[2]});
  const int64_t lo_y = std::min({t->y[0], t->y[1], t->y[2]});
  const int64_t hi_y = std::max({t->y[0], t->y[1], t->y[2]});
  // Pixel centres inside the box: ceil(lo / 256) .. floor(hi / 256) (arithmetic shifts floor).
  const int64_t min_px = -((-lo_x) >> math::kSubpixelBits), max_px = hi_x >> math::kSubpixelBits;
  const int64_t min_py = -((-lo_y) >> math::kSubpixelBits), max_py = hi_y >> math::kSubpixelBits;
  t->min_px = static_cast<int>(std::max<int64_t>(min_px, 0));
  t->min_py = static_cast<int>(std::max<int64_t>(min_py, 0));
  t->max_px = static_cast<int>(std::min<int64_t>(max_px, width - 1));
  t->max_py = static_cast<int>(std::min<int64_t>(max_py, height - 1));
  return t->min_px <= t->max_px && t->min_py <= t->max_py;
}

// Z-tests triangle f's rows row0..row1 (within its box) into the buffer.
inline void ZTestRows(const math::ScreenTriangle& t, int32_t f, const float z[3], int row0,
                      int row1, int width, bool perspective, VisibilityBuffer* out) {
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

}  // namespace

int VisibilityBuffer::num_covered() const {
  return static_cast<int>(std::count_if(triangle.begin(), triangle.end(),
                                        [](int32_t t) { return t >= 0; }));
}

void RasterizeVisibility(const float* pixels, const float* depths, int num_vertices,
                         const int32_t* triangles, int num_triangles, int width, int height,
                         bool perspective, float z_near_mm, ThreadPool* pool,
                         VisibilityBuffer* out) {
  out->width = width;
  out->height = height;
  const size_t num_pixels = static_cast<size_t>(width) * height;
  out->triangle.assign(num_pixels, -1);
  out->bary.assign(3 * num_pixels, 0.0f);
  out->depth.assign(num_pixels, std::numeric_limits<float>::infinity());
  if (width <= 0 || height <= 0 || num_triangles <= 0) return;
  ThreadPool inline_pool(1);
  ThreadPool* p = pool != nullptr ? pool : &inline_pool;

  SnappedVertices sv;
  SnapVertices(pixels, depths, num_vertices, perspective, z_near_mm, p, &sv);

  if (p->num_threads() == 1) {
    for (int32_t f = 0; f < num_triangles; ++f) {
      math::ScreenTriangle t;
      if (!SetupSnappedTriangle(sv, triangles, f, width, height, &t)) continue;
      float z[3];
      math::TriangleDepths(depths, triangles, f, z);
      ZTestRows(t, f, z, 0, height - 1, width, perspective, out);
    }
  } else {
    std::vector<math::ScreenTriangle> setup(num_triangles);
    std::vector<uint8_t> valid(num_triangles, 0);
    p->ParallelForChunks(0, num_triangles, kSetupChunk, [&](int64_t b, int64_t e, int64_t) {
      for (int64_t f = b; f < e; ++f) {
        valid[f] = SetupSnappedTriangle(sv, triangles, f, width, height, &setup[f]);
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
        float z[3];
        math::TriangleDepths(depths, triangles, f, z);
        ZTestRows(setup[f], f, z, row0, row1, width, perspective, out);
      }
    });
  }

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
