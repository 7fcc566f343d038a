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

// Per-vertex fixed-point positions (as SetupScreenTriangle rounds them). |coordinate| < 2^20 px,
// so snapped values are below 2^28 in magnitude. A vertex that a triangle may not use (outside
// the guard band, NaN, or for a pinhole camera not deeper than z_near_mm) has x = kUnusable,
// far enough outside that range to be told apart, close enough that differences of two
// coordinates still fit in int32.
constexpr int32_t kUnusable = -(int32_t{1} << 30);
struct SnappedVertices {
  std::vector<int32_t> xy;  // 2N
};

void SnapVertices(const float* pixels, const float* depths, int num_vertices, bool perspective,
                  float z_near_mm, ThreadPool* pool, SnappedVertices* out) {
  out->xy.resize(2 * static_cast<size_t>(num_vertices));
  pool->ParallelForChunks(0, num_vertices, 16384, [&](int64_t b, int64_t e, int64_t) {
    // One branch-free pass (vectorised): out-of-band (or NaN) coordinates snap to 0, and x of
    // an unusable vertex is kUnusable.
    int32_t* xy = out->xy.data();
    for (int64_t v = b; v < e; ++v) {
      const float u = pixels[2 * v], w = pixels[2 * v + 1];
      const bool u_in = (u > -math::kGuardBandPx) & (u < math::kGuardBandPx);
      const bool w_in = (w > -math::kGuardBandPx) & (w < math::kGuardBandPx);
      const float su = (u_in ? u : 0.0f) * static_cast<float>(math::kSubpixelScale);
      const float sw = (w_in ? w : 0.0f) * static_cast<float>(math::kSubpixelScale);
      // Round half away from zero, as SetupScreenTriangle does.
      const int32_t x = static_cast<int32_t>(su >= 0.0f ? su + 0.5f : su - 0.5f);
      const int32_t y = static_cast<int32_t>(sw >= 0.0f ? sw + 0.5f : sw - 0.5f);
      const bool ok = (!perspective | (depths[v] > z_near_mm)) & u_in & w_in;
      xy[2 * v] = ok ? x : kUnusable;
      xy[2 * v + 1] = y;
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
  // ~5.6 KB. Small batches and blocks (below) keep both, with the z-buffer lines they touch,
  // in L1: 64 / 32 measured 5-10 % faster per frame than 256 / 256 (bench/RESULTS.md).
  static constexpr int kCapacity = 64;
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

// A block of triangles set up together, structure of arrays (lanes = triangles): the
// integer set-up of math::SetupVisibilityTriangle (area, top-left ownership, pixel box) in one
// loop the compiler vectorises, then a short scalar walk over each surviving triangle's box.
struct TriangleBlock {
  static constexpr int kSize = 32;  // ~4.9 KB
  int32_t vertex[3][kSize];
  alignas(64) int32_t x[3][kSize], y[3][kSize];  // snapped corners, 1/256 px
  alignas(64) int32_t min_px[kSize], max_px[kSize], min_py[kSize], max_py[kSize];
  alignas(64) int32_t keep[kSize];               // front-facing, usable, box not empty
  alignas(64) int64_t area[kSize];
  alignas(64) int64_t w[3][kSize];  // exact edge value at the box's first centre
  alignas(64) int64_t step_x[3][kSize], step_y[3][kSize];  // its change per pixel step
  alignas(64) int32_t bias[3][kSize];  // 1 where the edge is not owned (top-left rule)
  // Boxes of at most 2 x 2 centres (most triangles of a dense mesh): bit dx + 2 dy set when
  // centre (min_px + dx, min_py + dy) is in the box and covered; -1 for larger boxes.
  alignas(64) int32_t small_mask[kSize];
};

// Edge i runs from corner a_i to b_i: (2 -> 1), (0 -> 2), (1 -> 0) (math/raster.h).
constexpr int kEdgeA[3] = {2, 0, 1}, kEdgeB[3] = {1, 2, 0};

// Loads triangles f0 .. f0 + n - 1 into the block and sets them up. Snapped coordinates
// (kUnusable included) differ by less than 2^31, so differences fit in int32 and every product
// is an exact int64.
void SetupBlock(const SnappedVertices& sv, const int32_t* triangles, int64_t f0, int n,
                int width, int height, TriangleBlock* tb) {
  const int32_t* xy = sv.xy.data();
  for (int k = 0; k < n; ++k) {
    const int32_t* t = triangles + 3 * (f0 + k);
    for (int c = 0; c < 3; ++c) {
      tb->vertex[c][k] = t[c];
      tb->x[c][k] = xy[2 * t[c]];
      tb->y[c][k] = xy[2 * t[c] + 1];
    }
  }
  for (int k = 0; k < n; ++k) {
    const int32_t x0 = tb->x[0][k], x1 = tb->x[1][k], x2 = tb->x[2][k];
    const int32_t y0 = tb->y[0][k], y1 = tb->y[1][k], y2 = tb->y[2][k];
    // math::EdgeFunction(p2, p1, p0).
    const int64_t area = static_cast<int64_t>(x1 - x2) * (y0 - y2) -
                         static_cast<int64_t>(y1 - y2) * (x0 - x2);
    tb->area[k] = area;
    // Pixel centres inside the box: ceil(lo / 256) .. floor(hi / 256), clipped to the image.
    const int32_t lo_x = std::min(x0, std::min(x1, x2)), hi_x = std::max(x0, std::max(x1, x2));
    const int32_t lo_y = std::min(y0, std::min(y1, y2)), hi_y = std::max(y0, std::max(y1, y2));
    const int32_t min_px = std::max(-((-lo_x) >> math::kSubpixelBits), 0);
    const int32_t min_py = std::max(-((-lo_y) >> math::kSubpixelBits), 0);
    const int32_t max_px = std::min(hi_x >> math::kSubpixelBits, width - 1);
    const int32_t max_py = std::min(hi_y >> math::kSubpixelBits, height - 1);
    tb->min_px[k] = min_px;
    tb->max_px[k] = max_px;
    tb->min_py[k] = min_py;
    tb->max_py[k] = max_py;
    const bool usable = (x0 != kUnusable) & (x1 != kUnusable) & (x2 != kUnusable);
    tb->keep[k] = usable & (area > 0) & (min_px <= max_px) & (min_py <= max_py);
    const int32_t sx = min_px * static_cast<int32_t>(math::kSubpixelScale);
    const int32_t sy = min_py * static_cast<int32_t>(math::kSubpixelScale);
    const int32_t px[3] = {x0, x1, x2}, py[3] = {y0, y1, y2};
    // Biased edge values at the up to four centres of a 2 x 2 box: covered <=> all >= 0.
    int64_t c00 = 0, c10 = 0, c01 = 0, c11 = 0;
    for (int i = 0; i < 3; ++i) {
      const int32_t ax = px[kEdgeA[i]], ay = py[kEdgeA[i]];
      const int32_t dx = px[kEdgeB[i]] - ax, dy = py[kEdgeB[i]] - ay;
      // Top-left rule: centres exactly on edge i belong to the triangle when it owns the edge;
      // the bias makes "covered" read w >= 0 for every edge.
      const int32_t bias = 1 - ((dy < 0) | ((dy == 0) & (dx > 0)));
      const int64_t exact = static_cast<int64_t>(dx) * (sy - ay) -
                            static_cast<int64_t>(dy) * (sx - ax);
      const int64_t w = exact - bias;
      const int64_t step_x = -static_cast<int64_t>(dy) * math::kSubpixelScale;
      const int64_t step_y = static_cast<int64_t>(dx) * math::kSubpixelScale;
      tb->bias[i][k] = bias;
      tb->w[i][k] = exact;
      tb->step_x[i][k] = step_x;
      tb->step_y[i][k] = step_y;
      c00 |= w;
      c10 |= w + step_x;
      c01 |= w + step_y;
      c11 |= w + step_x + step_y;
    }
    const int32_t wide = max_px - min_px, tall = max_py - min_py;
    tb->small_mask[k] = (wide <= 1) & (tall <= 1)
                            ? (c00 >= 0) | ((wide == 1) & (c10 >= 0)) << 1 |
                                  ((tall == 1) & (c01 >= 0)) << 2 |
                                  ((wide == 1) & (tall == 1) & (c11 >= 0)) << 3
                            : -1;
  }
}

// Appends the covered pixel centres of block triangle k (id f) to c: math::CoversPixel's exact
// test, the edge values stepped exactly from centre to centre (or read from small_mask).
// Always inlined: most triangles emit one or two centres, so a call's register saves would be
// a quarter of the work.
__attribute__((always_inline)) inline void RasterizeBlockTriangle(
    const TriangleBlock& tb, int k, int32_t f, const float* pixels, const float* depths,
    int width, bool perspective, Candidates* c, const ZBuffer& zb) {
  float uv[6], z[3];
  for (int v = 0; v < 3; ++v) {
    const int32_t id = tb.vertex[v][k];
    uv[2 * v] = pixels[2 * id];
    uv[2 * v + 1] = pixels[2 * id + 1];
    z[v] = depths[id];
  }
  const float area_f = static_cast<float>(tb.area[k]);
  // w: exact edge values at centre (px, py).
  const auto emit = [&](int px, int py, const int64_t w[3]) {
    if (c->n == Candidates::kCapacity) FlushCandidates(perspective, c, zb);
    const int j = c->n++;
    c->pixel[j] = static_cast<int64_t>(py) * width + px;
    c->triangle[j] = f;
    c->area[j] = area_f;
    // The float of the exact edge value, as math::CoverageDepth converts it.
    for (int i = 0; i < 3; ++i) c->w[i][j] = static_cast<float>(w[i]);
    for (int v = 0; v < 3; ++v) c->z[v][j] = z[v];
    for (int v = 0; v < 6; ++v) c->uv[v][j] = uv[v];
    c->x[j] = static_cast<float>(px);
    c->y[j] = static_cast<float>(py);
  };
  const int min_px = tb.min_px[k], max_px = tb.max_px[k];
  const int min_py = tb.min_py[k], max_py = tb.max_py[k];
  const int32_t mask = tb.small_mask[k];
  if (mask >= 0) {
    for (int bit = 0; bit < 4; ++bit) {  // unrolled: dx, dy are constants per bit
      if (!(mask >> bit & 1)) continue;
      const int dx = bit & 1, dy = bit >> 1;
      int64_t w[3];
      for (int i = 0; i < 3; ++i) {
        w[i] = tb.w[i][k] + (dx ? tb.step_x[i][k] : 0) + (dy ? tb.step_y[i][k] : 0);
      }
      emit(min_px + dx, min_py + dy, w);
    }
    return;
  }
  // Larger boxes: biased values (covered <=> all >= 0), stepped across the box.
  int64_t w_row[3], step_x[3], step_y[3], bias[3];
  for (int i = 0; i < 3; ++i) {
    bias[i] = tb.bias[i][k];
    w_row[i] = tb.w[i][k] - bias[i];
    step_x[i] = tb.step_x[i][k];
    step_y[i] = tb.step_y[i][k];
  }
  for (int py = min_py; py <= max_py; ++py) {
    int64_t w[3] = {w_row[0], w_row[1], w_row[2]};
    for (int px = min_px; px <= max_px; ++px) {
      if ((w[0] | w[1] | w[2]) >= 0) {
        const int64_t exact[3] = {w[0] + bias[0], w[1] + bias[1], w[2] + bias[2]};
        emit(px, py, exact);
      }
      for (int i = 0; i < 3; ++i) w[i] += step_x[i];
    }
    for (int i = 0; i < 3; ++i) w_row[i] += step_y[i];
  }
}

// Rasterizes triangles [begin, end) into zb.
void RasterizeRange(const SnappedVertices& sv, const float* pixels, const float* depths,
                    const int32_t* triangles, int64_t begin, int64_t end, int width, int height,
                    bool perspective, const ZBuffer& zb) {
  std::unique_ptr<TriangleBlock> tb(new TriangleBlock);  // default-initialised: not cleared
  std::unique_ptr<Candidates> c(new Candidates);
  for (int64_t f0 = begin; f0 < end; f0 += TriangleBlock::kSize) {
    const int n = static_cast<int>(std::min<int64_t>(TriangleBlock::kSize, end - f0));
    SetupBlock(sv, triangles, f0, n, width, height, tb.get());
    for (int k = 0; k < n; ++k) {
      if (!tb->keep[k] || tb->small_mask[k] == 0) continue;
      RasterizeBlockTriangle(*tb, k, static_cast<int32_t>(f0 + k), pixels, depths, width,
                             perspective, c.get(), zb);
    }
  }
  FlushCandidates(perspective, c.get(), zb);
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
  const size_t num_pixels =
      width > 0 && height > 0 ? static_cast<size_t>(width) * static_cast<size_t>(height) : 0;
  out->triangle.assign(num_pixels, -1);
  out->bary.assign(3 * num_pixels, 0.0f);
  out->depth.assign(num_pixels, std::numeric_limits<float>::infinity());
  if (num_pixels == 0 || num_triangles <= 0) return;
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
    RasterizeRange(sv, pixels, depths, triangles, b, e, width, height, perspective, buffers[k]);
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
