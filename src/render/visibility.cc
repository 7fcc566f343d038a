// CPU visibility buffer. Vertices are snapped to the 1/256 px grid once each (instead of once
// per triangle corner). Each triangle is then set up from those integers (same culling and
// coverage as math::SetupVisibilityTriangle / CoversPixel: exact int64 edge values, stepped
// from pixel to pixel across the bounding box) and every covered pixel centre becomes a
// candidate. Candidates are gathered into structure-of-arrays batches; the depth
// (math::CoverageDepthFromEdges) and the perspective-correct barycentrics
// (math::CornerBarycentrics) of a whole batch are evaluated in one loop that the compiler
// vectorises across pixels (the same IEEE operations in the same order as the scalar
// reference, so the same bits), then the batch is z-tested in order.
//
// The z-test keeps, per pixel, the candidate with the smallest (depth, triangle id) pair: the
// result of the serial reference (triangles in id order, strictly nearer replaces) whatever
// the order candidates arrive in. Several threads therefore each rasterize a contiguous range
// of triangles into their own buffer, and the buffers are merged with the same comparison.
// Built with FMA contraction off (CMakeLists) so depths round as on the GPU.
#include "morphfit/render/visibility.h"

#include <algorithm>
#include <limits>
#include <memory>

#include "morphfit/math/raster.h"
#include "morphfit/math/visibility.h"

namespace morphfit::render {
namespace {

constexpr int kMergeRows = 8;
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

// A z-buffer being filled: the output's arrays or one thread's private copy.
struct ZBuffer {
  float* depth;
  int32_t* triangle;
  float* bary;
};

// Covered pixel centres awaiting their depth and barycentrics, structure of arrays.
struct Candidates {
  static constexpr int kCapacity = 256;  // ~25 KB: the batch stays in L1
  int n = 0;
  int64_t pixel[kCapacity];
  int32_t triangle[kCapacity];
  alignas(64) float area[kCapacity];   // static_cast<float>(ScreenTriangle::area)
  alignas(64) float w[3][kCapacity];   // static_cast<float> of the exact edge values
  alignas(64) float z[3][kCapacity];   // corner depths
  alignas(64) float uv[6][kCapacity];  // corner pixels (unsnapped)
  alignas(64) float x[kCapacity], y[kCapacity];
  alignas(64) float depth[kCapacity];
  alignas(64) float bary[3][kCapacity];
};

// Depth and barycentrics of every candidate: one loop over pixels that GCC vectorises (the
// shared math inlines to straight-line float arithmetic; divisions are exact IEEE either way).
template <bool kPerspective>
void EvaluateCandidates(Candidates* c) {
  const int n = c->n;
  for (int j = 0; j < n; ++j) {
    const float w[3] = {c->w[0][j], c->w[1][j], c->w[2][j]};
    const float z[3] = {c->z[0][j], c->z[1][j], c->z[2][j]};
    c->depth[j] = math::CoverageDepthFromEdges(c->area[j], w, z, kPerspective);
    const float uv[6] = {c->uv[0][j], c->uv[1][j], c->uv[2][j],
                         c->uv[3][j], c->uv[4][j], c->uv[5][j]};
    float b[3];
    math::CornerBarycentrics(uv, z, c->x[j], c->y[j], kPerspective, b);
    c->bary[0][j] = b[0];
    c->bary[1][j] = b[1];
    c->bary[2][j] = b[2];
  }
}

// Z-tests the batch in order and empties it. (depth, id) pairs compare lexicographically: a
// strictly nearer candidate wins, an equally deep one wins when its id is lower.
void FlushCandidates(bool perspective, Candidates* c, const ZBuffer& zb) {
  if (perspective) {
    EvaluateCandidates<true>(c);
  } else {
    EvaluateCandidates<false>(c);
  }
  for (int j = 0; j < c->n; ++j) {
    const int64_t i = c->pixel[j];
    const float d = c->depth[j];
    const int32_t f = c->triangle[j];
    if (d < zb.depth[i] || (d == zb.depth[i] && f < zb.triangle[i])) {
      zb.depth[i] = d;
      zb.triangle[i] = f;
      for (int k = 0; k < 3; ++k) zb.bary[3 * i + k] = c->bary[k][j];
    }
  }
  c->n = 0;
}

// Sets up triangle f from the snapped vertices (math::SetupVisibilityTriangle's culling and
// ScreenTriangle) and appends its covered pixel centres (math::CoversPixel's exact test) to c.
inline void RasterizeTriangle(const SnappedVertices& sv, const float* pixels,
                              const float* depths, const int32_t* triangles, int32_t f,
                              int width, int height, bool perspective, Candidates* c,
                              const ZBuffer& zb) {
  const int32_t vid[3] = {triangles[3 * static_cast<int64_t>(f)],
                          triangles[3 * static_cast<int64_t>(f) + 1],
                          triangles[3 * static_cast<int64_t>(f) + 2]};
  if (!(sv.ok[vid[0]] & sv.ok[vid[1]] & sv.ok[vid[2]])) return;
  const int32_t* xy = sv.xy.data();
  int64_t x[3], y[3];
  for (int k = 0; k < 3; ++k) {
    x[k] = xy[2 * vid[k]];
    y[k] = xy[2 * vid[k] + 1];
  }
  const int64_t area = math::EdgeFunction<int64_t>(x[2], y[2], x[1], y[1], x[0], y[0]);
  if (area <= 0) return;
  const int64_t lo_x = std::min({x[0], x[1], x[2]}), hi_x = std::max({x[0], x[1], x[2]});
  const int64_t lo_y = std::min({y[0], y[1], y[2]}), hi_y = std::max({y[0], y[1], y[2]});
  // Pixel centres inside the box: ceil(lo / 256) .. floor(hi / 256) (arithmetic shifts floor).
  const int min_px = static_cast<int>(std::max<int64_t>(-((-lo_x) >> math::kSubpixelBits), 0));
  const int min_py = static_cast<int>(std::max<int64_t>(-((-lo_y) >> math::kSubpixelBits), 0));
  const int max_px =
      static_cast<int>(std::min<int64_t>(hi_x >> math::kSubpixelBits, width - 1));
  const int max_py =
      static_cast<int>(std::min<int64_t>(hi_y >> math::kSubpixelBits, height - 1));
  if (min_px > max_px || min_py > max_py) return;

  // Edge i runs from a_i to b_i: (2 -> 1), (0 -> 2), (1 -> 0). Its value at the box's first
  // centre, and its exact changes per pixel step in x and y. bias 1 where the edge is not owned
  // (top-left rule): covered <=> w_i - bias_i >= 0 for all i.
  constexpr int a[3] = {2, 0, 1}, b[3] = {1, 2, 0};
  const int64_t sx0 = static_cast<int64_t>(min_px) * math::kSubpixelScale;
  const int64_t sy0 = static_cast<int64_t>(min_py) * math::kSubpixelScale;
  int64_t w_row[3], step_x[3], step_y[3], bias[3];
  for (int i = 0; i < 3; ++i) {
    const int64_t dx = x[b[i]] - x[a[i]], dy = y[b[i]] - y[a[i]];
    const bool owns = dy < 0 || (dy == 0 && dx > 0);
    bias[i] = owns ? 0 : 1;
    w_row[i] = math::EdgeFunction<int64_t>(x[a[i]], y[a[i]], x[b[i]], y[b[i]], sx0, sy0) - bias[i];
    step_x[i] = -dy * math::kSubpixelScale;
    step_y[i] = dx * math::kSubpixelScale;
  }
  float uv[6], z[3];
  for (int k = 0; k < 3; ++k) {
    uv[2 * k] = pixels[2 * vid[k]];
    uv[2 * k + 1] = pixels[2 * vid[k] + 1];
    z[k] = depths[vid[k]];
  }
  const float area_f = static_cast<float>(area);
  for (int py = min_py; py <= max_py; ++py) {
    int64_t w0 = w_row[0], w1 = w_row[1], w2 = w_row[2];
    for (int px = min_px; px <= max_px; ++px) {
      if ((w0 | w1 | w2) >= 0) {
        if (c->n == Candidates::kCapacity) FlushCandidates(perspective, c, zb);
        const int j = c->n++;
        c->pixel[j] = static_cast<int64_t>(py) * width + px;
        c->triangle[j] = f;
        c->area[j] = area_f;
        // The float of the exact (unbiased) edge value, as math::CoverageDepth converts it.
        c->w[0][j] = static_cast<float>(w0 + bias[0]);
        c->w[1][j] = static_cast<float>(w1 + bias[1]);
        c->w[2][j] = static_cast<float>(w2 + bias[2]);
        for (int k = 0; k < 3; ++k) c->z[k][j] = z[k];
        for (int k = 0; k < 6; ++k) c->uv[k][j] = uv[k];
        c->x[j] = static_cast<float>(px);
        c->y[j] = static_cast<float>(py);
      }
      w0 += step_x[0];
      w1 += step_x[1];
      w2 += step_x[2];
    }
    for (int i = 0; i < 3; ++i) w_row[i] += step_y[i];
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

  // One contiguous range of triangles per thread; range 0 fills the output, the others
  // private buffers (bary is only read where a triangle was stored, so it is not cleared).
  const int num_ranges = std::min(p->num_threads(), num_triangles);
  const int64_t range_size = (num_triangles + num_ranges - 1) / num_ranges;
  std::vector<std::vector<float>> depth(num_ranges - 1), bary(num_ranges - 1);
  std::vector<std::vector<int32_t>> triangle(num_ranges - 1);
  std::vector<ZBuffer> buffers(num_ranges);
  buffers[0] = {out->depth.data(), out->triangle.data(), out->bary.data()};
  p->ParallelForChunks(0, num_triangles, range_size, [&](int64_t b, int64_t e, int64_t k) {
    if (k > 0) {
      depth[k - 1].assign(num_pixels, std::numeric_limits<float>::infinity());
      triangle[k - 1].assign(num_pixels, -1);
      bary[k - 1].resize(3 * num_pixels);
      buffers[k] = {depth[k - 1].data(), triangle[k - 1].data(), bary[k - 1].data()};
    }
    auto candidates = std::make_unique<Candidates>();
    for (int64_t f = b; f < e; ++f) {
      RasterizeTriangle(sv, pixels, depths, triangles, static_cast<int32_t>(f), width, height,
                        perspective, candidates.get(), buffers[k]);
    }
    FlushCandidates(perspective, candidates.get(), buffers[k]);
  });
  if (num_ranges == 1) return;
  p->ParallelForChunks(0, height, kMergeRows, [&](int64_t y0, int64_t y1, int64_t) {
    for (size_t i = static_cast<size_t>(y0) * width; i < static_cast<size_t>(y1) * width; ++i) {
      for (int k = 1; k < num_ranges; ++k) {
        const int32_t f = buffers[k].triangle[i];
        if (f < 0) continue;
        const float d = buffers[k].depth[i];
        if (d < out->depth[i] || (d == out->depth[i] && f < out->triangle[i])) {
          out->depth[i] = d;
          out->triangle[i] = f;
          for (int c = 0; c < 3; ++c) out->bary[3 * i + c] = buffers[k].bary[3 * i + c];
        }
      }
    }
  });
}

}  // namespace morphfit::render
