// CPU visibility buffer. Vertices are snapped to the 1/256 px grid once each (instead of once
// per triangle corner). Each triangle is then set up from those integers (same culling and
// coverage as math::SetupVisibilityTriangle / CoversPixel: exact edge values) and every
// covered pixel centre becomes a candidate. With AVX2, triangles go 8 at a time through int32
// lanes: nearly all triangles of a dense mesh have short sides and at most 2 x 2 centres in
// their box, so their exact edge values fit in int32 and their coverage is four vector tests;
// their covered centres are left-packed into the candidate batch (most cover none or one).
// The other triangles (and every triangle without AVX2) are set up in int64 and their boxes
// walked centre by centre. Candidates are gathered into structure-of-arrays batches; the depth
// (math::CoverageDepthFromEdges) and the perspective-correct barycentrics
// (math::CornerBarycentrics) of a whole batch are evaluated in one loop that the compiler
// vectorises across pixels (the same IEEE operations in the same order as the scalar
// reference, so the same bits), then the batch is z-tested.
//
// The z-test keeps, per pixel, the candidate with the smallest (depth, triangle id) pair: the
// result of the serial reference (triangles in id order, strictly nearer replaces) whatever
// the order candidates arrive in. Several threads therefore each rasterize a contiguous range
// of triangles into their own buffer, and the buffers are merged with the same comparison.
// Built with FMA contraction off (CMakeLists) so depths round as on the GPU.
#include "morphfit/render/visibility.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <memory>

#include "morphfit/math/raster.h"
#include "morphfit/math/visibility.h"

#if defined(__x86_64__) && defined(__GNUC__) && defined(__AVX2__)
#include <immintrin.h>
#define MORPHFIT_VISIBILITY_AVX2 1
#endif

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

// Covered pixel centres awaiting their depth and barycentrics, structure of arrays. Emission
// writes the integer centre, the triangle and its corners' vertex ids, and the floats of the
// area and of the exact edge values; the flush gathers the corners' pixels and depths.
struct Candidates {
  // Small batches keep the batch, with the z-buffer lines it touches, in L1 (bench/RESULTS.md).
  static constexpr int kCapacity = 64;
  // Room for one whole 8-lane store past kCapacity - 1 (the vector emission writes 8 lanes and
  // advances by the number of covered ones).
  static constexpr int kSlack = 8;
  static constexpr int kRows = kCapacity + kSlack;
  int n = 0;
  alignas(64) int32_t px[kRows], py[kRows];
  alignas(64) int32_t triangle[kRows];
  alignas(64) int32_t vertex[3][kRows];
  alignas(64) float area[kRows];   // static_cast<float>(ScreenTriangle::area)
  alignas(64) float w[3][kRows];   // static_cast<float> of the exact edge values
  alignas(64) float z[3][kRows];   // corner depths (gathered at the flush)
  alignas(64) float uv[6][kRows];  // corner pixels, unsnapped (gathered at the flush)
  alignas(64) float x[kRows], y[kRows];
  alignas(64) float depth[kRows];
  alignas(64) float bary[3][kRows];
};

// Where candidates go: the batch, the z-buffer and what the flush reads.
struct Sink {
  const float* pixels;
  const float* depths;
  int width;
  bool perspective;
  ZBuffer zb;
  Candidates* c;
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

// Gathers the candidates' corner pixels and depths and converts their centres to float.
void GatherCorners(const float* pixels, const float* depths, Candidates* c) {
  const int n = c->n;
  int j = 0;
#ifdef MORPHFIT_VISIBILITY_AVX2
  // Every vertex entry below kRows holds a vertex id (the arrays start zeroed and the emission
  // only writes ids), so whole 8-lane gathers past n read valid vertices.
  for (; j < n; j += 8) {
    for (int v = 0; v < 3; ++v) {
      const __m256i id = _mm256_load_si256(reinterpret_cast<const __m256i*>(&c->vertex[v][j]));
      // Scale 8: the (u, v) pair of vertex id, without forming 2 id in int32.
      _mm256_store_ps(&c->uv[2 * v][j], _mm256_i32gather_ps(pixels, id, 8));
      _mm256_store_ps(&c->uv[2 * v + 1][j], _mm256_i32gather_ps(pixels + 1, id, 8));
      _mm256_store_ps(&c->z[v][j], _mm256_i32gather_ps(depths, id, 4));
    }
    _mm256_store_ps(&c->x[j], _mm256_cvtepi32_ps(_mm256_load_si256(
                                   reinterpret_cast<const __m256i*>(&c->px[j]))));
    _mm256_store_ps(&c->y[j], _mm256_cvtepi32_ps(_mm256_load_si256(
                                   reinterpret_cast<const __m256i*>(&c->py[j]))));
  }
#endif
  for (; j < n; ++j) {
    for (int v = 0; v < 3; ++v) {
      const int64_t id = c->vertex[v][j];
      c->uv[2 * v][j] = pixels[2 * id];
      c->uv[2 * v + 1][j] = pixels[2 * id + 1];
      c->z[v][j] = depths[id];
    }
    c->x[j] = static_cast<float>(c->px[j]);
    c->y[j] = static_cast<float>(c->py[j]);
  }
}

// Z-tests the batch in order and empties it. (depth, id) pairs compare lexicographically: a
// strictly nearer candidate wins, an equally deep one wins when its id is lower.
void FlushCandidates(const Sink& s) {
  Candidates* c = s.c;
  GatherCorners(s.pixels, s.depths, c);
  if (s.perspective) {
    EvaluateCandidates<true>(c);
  } else {
    EvaluateCandidates<false>(c);
  }
  float* __restrict zd = s.zb.depth;
  int32_t* __restrict zt = s.zb.triangle;
  float* __restrict zbary = s.zb.bary;
  const int64_t width = s.width;
  const int n = c->n;
  for (int j = 0; j < n; ++j) {
    const int64_t i = c->py[j] * width + c->px[j];
    const float d = c->depth[j];
    const int32_t f = c->triangle[j];
    if (d < zd[i] || (d == zd[i] && f < zt[i])) {
      zd[i] = d;
      zt[i] = f;
      for (int k = 0; k < 3; ++k) zbary[3 * i + k] = c->bary[k][j];
    }
  }
  c->n = 0;
}

// Edge i runs from corner a_i to b_i: (2 -> 1), (0 -> 2), (1 -> 0) (math/raster.h).
constexpr int kEdgeA[3] = {2, 0, 1}, kEdgeB[3] = {1, 2, 0};

// Any triangle from its snapped corners (x[k], y[k]; kUnusable marks an unusable vertex): the
// integer set-up of math::SetupVisibilityTriangle (culling, top-left ownership, pixel box) in
// int64, then every centre of the box tested with math::CoversPixel's exact edge values,
// stepped from centre to centre. Snapped coordinates differ by less than 2^31, so differences
// fit in int32 and every product is an exact int64. Covered centres are appended to the batch.
void RasterizeTriangle(const int32_t x[3], const int32_t y[3], const int32_t vertex[3],
                       int32_t f, int width, int height, const Sink& s) {
  if ((x[0] == kUnusable) | (x[1] == kUnusable) | (x[2] == kUnusable)) return;
  // math::EdgeFunction(p2, p1, p0).
  const int64_t area = static_cast<int64_t>(x[1] - x[2]) * (y[0] - y[2]) -
                       static_cast<int64_t>(y[1] - y[2]) * (x[0] - x[2]);
  if (area <= 0) return;
  // Pixel centres inside the box: ceil(lo / 256) .. floor(hi / 256), clipped to the image.
  const int32_t lo_x = std::min(x[0], std::min(x[1], x[2]));
  const int32_t hi_x = std::max(x[0], std::max(x[1], x[2]));
  const int32_t lo_y = std::min(y[0], std::min(y[1], y[2]));
  const int32_t hi_y = std::max(y[0], std::max(y[1], y[2]));
  const int32_t min_px = std::max(-((-lo_x) >> math::kSubpixelBits), 0);
  const int32_t min_py = std::max(-((-lo_y) >> math::kSubpixelBits), 0);
  const int32_t max_px = std::min(hi_x >> math::kSubpixelBits, width - 1);
  const int32_t max_py = std::min(hi_y >> math::kSubpixelBits, height - 1);
  if (min_px > max_px || min_py > max_py) return;
  const int64_t sx = int64_t{min_px} * math::kSubpixelScale;
  const int64_t sy = int64_t{min_py} * math::kSubpixelScale;
  // Biased edge values (covered <=> all >= 0) at the box's first centre, and their steps.
  int64_t w_row[3], step_x[3], step_y[3], bias[3];
  for (int i = 0; i < 3; ++i) {
    const int32_t ax = x[kEdgeA[i]], ay = y[kEdgeA[i]];
    const int32_t dx = x[kEdgeB[i]] - ax, dy = y[kEdgeB[i]] - ay;
    // Top-left rule: centres exactly on edge i belong to the triangle when it owns the edge;
    // the bias makes "covered" read w >= 0 for every edge.
    bias[i] = 1 - ((dy < 0) | ((dy == 0) & (dx > 0)));
    w_row[i] = static_cast<int64_t>(dx) * (sy - ay) - static_cast<int64_t>(dy) * (sx - ax) -
               bias[i];
    step_x[i] = -static_cast<int64_t>(dy) * math::kSubpixelScale;
    step_y[i] = static_cast<int64_t>(dx) * math::kSubpixelScale;
  }
  const float area_f = static_cast<float>(area);
  Candidates* c = s.c;
  for (int py = min_py; py <= max_py; ++py) {
    int64_t w[3] = {w_row[0], w_row[1], w_row[2]};
    for (int px = min_px; px <= max_px; ++px) {
      if ((w[0] | w[1] | w[2]) >= 0) {
        if (c->n >= Candidates::kCapacity) FlushCandidates(s);
        const int j = c->n++;
        c->px[j] = px;
        c->py[j] = py;
        c->triangle[j] = f;
        c->area[j] = area_f;
        for (int k = 0; k < 3; ++k) {
          c->vertex[k][j] = vertex[k];
          // The float of the exact edge value, as math::CoverageDepth converts it.
          c->w[k][j] = static_cast<float>(w[k] + bias[k]);
        }
      }
      for (int i = 0; i < 3; ++i) w[i] += step_x[i];
    }
    for (int i = 0; i < 3; ++i) w_row[i] += step_y[i];
  }
}

#ifdef MORPHFIT_VISIBILITY_AVX2
// Lane permutations that move the lanes set in an 8-bit mask to the front, in order (byte k of
// entry m = index of the k-th set lane of m).
constexpr std::array<uint64_t, 256> MakeLeftPackTable() {
  std::array<uint64_t, 256> t{};
  for (int m = 0; m < 256; ++m) {
    uint64_t e = 0;
    int k = 0;
    for (int lane = 0; lane < 8; ++lane) {
      if (m >> lane & 1) e |= static_cast<uint64_t>(lane) << (8 * k++);
    }
    t[m] = e;
  }
  return t;
}
constexpr std::array<uint64_t, 256> kLeftPack = MakeLeftPackTable();

// Box of the triangles whose sides span fewer than kSmallExtent sub-pixel units (16 px): their
// edge values at the centres of their box fit in int32 (|dx|, |dy|, |centre - corner| < 2^12,
// so products < 2^24), so the set-up runs in 8-lane int32 vectors.
constexpr int32_t kSmallExtent = 1 << 12;

inline void StorePacked(int32_t* dst, __m256i v, __m256i perm) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), _mm256_permutevar8x32_epi32(v, perm));
}
inline void StorePacked(float* dst, __m256 v, __m256i perm) {
  _mm256_storeu_ps(dst, _mm256_permutevar8x32_ps(v, perm));
}

// The vertex ids and snapped corners of 8 consecutive triangles (lanes = triangles).
struct GroupCorners {
  __m256i vid[3], x[3], y[3];
};

inline GroupCorners LoadGroup(const int32_t* xy, const int32_t* triangles, int64_t f0) {
  GroupCorners g;
  // The 24 vertex ids, de-interleaved: corner k of lane l is element 3 l + k, i.e. lane
  // (3 l + k) mod 8 of register (3 l + k) / 8; blend the registers, then permute the lanes.
  const __m256i* tri = reinterpret_cast<const __m256i*>(triangles + 3 * f0);
  const __m256i t0 = _mm256_loadu_si256(tri), t1 = _mm256_loadu_si256(tri + 1),
                t2 = _mm256_loadu_si256(tri + 2);
  g.vid[0] = _mm256_permutevar8x32_epi32(
      _mm256_blend_epi32(_mm256_blend_epi32(t0, t1, 0x92), t2, 0x24),
      _mm256_setr_epi32(0, 3, 6, 1, 4, 7, 2, 5));
  g.vid[1] = _mm256_permutevar8x32_epi32(
      _mm256_blend_epi32(_mm256_blend_epi32(t0, t1, 0x24), t2, 0x49),
      _mm256_setr_epi32(1, 4, 7, 2, 5, 0, 3, 6));
  g.vid[2] = _mm256_permutevar8x32_epi32(
      _mm256_blend_epi32(_mm256_blend_epi32(t0, t1, 0x49), t2, 0x92),
      _mm256_setr_epi32(2, 5, 0, 3, 6, 1, 4, 7));
  for (int k = 0; k < 3; ++k) {
    // Scale 8: the (x, y) pair of the vertex, without forming 2 id in int32.
    g.x[k] = _mm256_i32gather_epi32(xy, g.vid[k], 8);
    g.y[k] = _mm256_i32gather_epi32(xy + 1, g.vid[k], 8);
  }
  return g;
}

// Triangles f0 .. f0 + 7 (corners g), lanes = triangles. A triangle whose box holds at most 2 x 2 pixel
// centres and whose sides are short (nearly all of a dense mesh) is set up and tested in int32
// lanes: the same exact edge values as math::CoversPixel, so the same coverage. Its covered
// centres are appended to the batch with left-packing permutes, one store per field for all 8
// lanes. Other usable triangles go through RasterizeTriangle.
void RasterizeGroup(const GroupCorners& g, int64_t f0, int width, int height, const Sink& s) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i zero = _mm256_setzero_si256();
  const __m256i one = _mm256_set1_epi32(1);
  const __m256i all_ones = _mm256_set1_epi32(-1);
  const __m256i unusable = _mm256_set1_epi32(kUnusable);
  const __m256i* vid = g.vid;
  const __m256i* x = g.x;
  const __m256i* y = g.y;
  __m256i bad = zero;
  for (int k = 0; k < 3; ++k) bad = _mm256_or_si256(bad, _mm256_cmpeq_epi32(x[k], unusable));
  const __m256i lo_x = _mm256_min_epi32(x[0], _mm256_min_epi32(x[1], x[2]));
  const __m256i hi_x = _mm256_max_epi32(x[0], _mm256_max_epi32(x[1], x[2]));
  const __m256i lo_y = _mm256_min_epi32(y[0], _mm256_min_epi32(y[1], y[2]));
  const __m256i hi_y = _mm256_max_epi32(y[0], _mm256_max_epi32(y[1], y[2]));
  // hi - lo < 2^31 for every snapped value (kUnusable included): no wrap-around.
  const __m256i extent = _mm256_set1_epi32(kSmallExtent);
  const __m256i short_sides =
      _mm256_and_si256(_mm256_cmpgt_epi32(extent, _mm256_sub_epi32(hi_x, lo_x)),
                       _mm256_cmpgt_epi32(extent, _mm256_sub_epi32(hi_y, lo_y)));
  const __m256i min_px = _mm256_max_epi32(
      _mm256_sub_epi32(zero, _mm256_srai_epi32(_mm256_sub_epi32(zero, lo_x), 8)), zero);
  const __m256i min_py = _mm256_max_epi32(
      _mm256_sub_epi32(zero, _mm256_srai_epi32(_mm256_sub_epi32(zero, lo_y), 8)), zero);
  const __m256i max_px = _mm256_min_epi32(_mm256_srai_epi32(hi_x, 8),
                                          _mm256_set1_epi32(width - 1));
  const __m256i max_py = _mm256_min_epi32(_mm256_srai_epi32(hi_y, 8),
                                          _mm256_set1_epi32(height - 1));
  const __m256i wide = _mm256_sub_epi32(max_px, min_px), tall = _mm256_sub_epi32(max_py, min_py);
  // Empty box (a side < 0) or unusable: nothing to draw.
  const __m256i empty = _mm256_or_si256(_mm256_cmpgt_epi32(zero, wide),
                                        _mm256_cmpgt_epi32(zero, tall));
  const __m256i live = _mm256_andnot_si256(_mm256_or_si256(bad, empty), all_ones);
  const __m256i small_box =
      _mm256_and_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32(2), wide),
                       _mm256_cmpgt_epi32(_mm256_set1_epi32(2), tall));
  const __m256i fast = _mm256_and_si256(short_sides, small_box);
  // math::EdgeFunction(p2, p1, p0): exact in int32 for short sides.
  const __m256i area = _mm256_sub_epi32(
      _mm256_mullo_epi32(_mm256_sub_epi32(x[1], x[2]), _mm256_sub_epi32(y[0], y[2])),
      _mm256_mullo_epi32(_mm256_sub_epi32(y[1], y[2]), _mm256_sub_epi32(x[0], x[2])));
  const __m256i front = _mm256_cmpgt_epi32(area, zero);
  // The others (long sides, or more than 2 x 2 centres; back faces among the short ones
  // dropped here already) take the general path.
  const int slow_lanes = _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_andnot_si256(
      fast, _mm256_and_si256(live, _mm256_or_si256(front, _mm256_andnot_si256(
                                                              short_sides, all_ones))))));
  const __m256i draw = _mm256_and_si256(_mm256_and_si256(live, fast), front);
  // Edge values (exact) at the box's first centre and their steps per pixel.
  const __m256i sx = _mm256_slli_epi32(min_px, 8), sy = _mm256_slli_epi32(min_py, 8);
  __m256i w[3], step_x[3], step_y[3];
  __m256i c00 = zero, c10 = zero, c01 = zero, c11 = zero;
  for (int i = 0; i < 3; ++i) {
    const __m256i ax = x[kEdgeA[i]], ay = y[kEdgeA[i]];
    const __m256i dx = _mm256_sub_epi32(x[kEdgeB[i]], ax);
    const __m256i dy = _mm256_sub_epi32(y[kEdgeB[i]], ay);
    // Top-left rule as in RasterizeTriangle: bias 0 where the edge is owned, 1 elsewhere.
    const __m256i owns = _mm256_or_si256(
        _mm256_cmpgt_epi32(zero, dy),
        _mm256_and_si256(_mm256_cmpeq_epi32(dy, zero), _mm256_cmpgt_epi32(dx, zero)));
    const __m256i bias = _mm256_add_epi32(one, owns);
    w[i] = _mm256_sub_epi32(_mm256_mullo_epi32(dx, _mm256_sub_epi32(sy, ay)),
                            _mm256_mullo_epi32(dy, _mm256_sub_epi32(sx, ax)));
    step_x[i] = _mm256_slli_epi32(_mm256_sub_epi32(zero, dy), 8);
    step_y[i] = _mm256_slli_epi32(dx, 8);
    const __m256i b = _mm256_sub_epi32(w[i], bias);
    c00 = _mm256_or_si256(c00, b);
    c10 = _mm256_or_si256(c10, _mm256_add_epi32(b, step_x[i]));
    c01 = _mm256_or_si256(c01, _mm256_add_epi32(b, step_y[i]));
    c11 = _mm256_or_si256(c11, _mm256_add_epi32(_mm256_add_epi32(b, step_x[i]), step_y[i]));
  }
  const __m256i wide1 = _mm256_cmpeq_epi32(wide, one), tall1 = _mm256_cmpeq_epi32(tall, one);
  // Covered centre (min_px + dx, min_py + dy), bit dx + 2 dy.
  const __m256i covered[4] = {
      _mm256_andnot_si256(_mm256_cmpgt_epi32(zero, c00), draw),
      _mm256_andnot_si256(_mm256_cmpgt_epi32(zero, c10), _mm256_and_si256(draw, wide1)),
      _mm256_andnot_si256(_mm256_cmpgt_epi32(zero, c01), _mm256_and_si256(draw, tall1)),
      _mm256_andnot_si256(_mm256_cmpgt_epi32(zero, c11),
                          _mm256_and_si256(draw, _mm256_and_si256(wide1, tall1)))};
  // Nearly every covered triangle covers one centre: append each lane's first covered centre
  // (lowest bit) in one pass, then the rare further ones bit by bit.
  const __m256i first_dx = _mm256_andnot_si256(
      covered[0], _mm256_or_si256(covered[1], _mm256_andnot_si256(covered[2], covered[3])));
  const __m256i first_dy = _mm256_andnot_si256(
      _mm256_or_si256(covered[0], covered[1]), _mm256_or_si256(covered[2], covered[3]));
  const __m256i any = _mm256_or_si256(_mm256_or_si256(covered[0], covered[1]),
                                      _mm256_or_si256(covered[2], covered[3]));
  const int any_lanes = _mm256_movemask_ps(_mm256_castsi256_ps(any));
  Candidates* c = s.c;
  const __m256 area_f = _mm256_cvtepi32_ps(area);
  const __m256i id = _mm256_add_epi32(lane, _mm256_set1_epi32(static_cast<int32_t>(f0)));
  // Appends the centres (min_px + dx, min_py + dy) of the lanes set in m; dx, dy all-ones
  // masks per lane.
  const auto append = [&](int m, __m256i dx, __m256i dy) {
    if (c->n + 8 > Candidates::kRows) FlushCandidates(s);
    const int j = c->n;
    const __m256i perm = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(
        static_cast<int64_t>(kLeftPack[m])));
    StorePacked(&c->px[j], _mm256_sub_epi32(min_px, dx), perm);
    StorePacked(&c->py[j], _mm256_sub_epi32(min_py, dy), perm);
    StorePacked(&c->triangle[j], id, perm);
    StorePacked(&c->area[j], area_f, perm);
    for (int k = 0; k < 3; ++k) {
      StorePacked(&c->vertex[k][j], vid[k], perm);
      const __m256i wk = _mm256_add_epi32(_mm256_add_epi32(w[k], _mm256_and_si256(dx, step_x[k])),
                                          _mm256_and_si256(dy, step_y[k]));
      StorePacked(&c->w[k][j], _mm256_cvtepi32_ps(wk), perm);
    }
    c->n = j + __builtin_popcount(static_cast<unsigned>(m));
  };
  if (any_lanes != 0) append(any_lanes, first_dx, first_dy);
  // Bits past each lane's first: covered[b] minus the first centre.
  const __m256i first[4] = {covered[0], _mm256_andnot_si256(covered[0], covered[1]),
                            _mm256_andnot_si256(_mm256_or_si256(covered[0], covered[1]),
                                                covered[2]),
                            _mm256_andnot_si256(_mm256_or_si256(_mm256_or_si256(covered[0],
                                                                                covered[1]),
                                                                covered[2]),
                                                covered[3])};
  for (int bit = 1; bit < 4; ++bit) {
    const int m = _mm256_movemask_ps(
        _mm256_castsi256_ps(_mm256_andnot_si256(first[bit], covered[bit])));
    if (m == 0) continue;
    append(m, (bit & 1) ? all_ones : zero, (bit >> 1) ? all_ones : zero);
  }
  if (slow_lanes != 0) {
    alignas(32) int32_t lx[3][8], ly[3][8], lv[3][8];
    for (int k = 0; k < 3; ++k) {
      _mm256_store_si256(reinterpret_cast<__m256i*>(lx[k]), x[k]);
      _mm256_store_si256(reinterpret_cast<__m256i*>(ly[k]), y[k]);
      _mm256_store_si256(reinterpret_cast<__m256i*>(lv[k]), vid[k]);
    }
    for (int l = 0; l < 8; ++l) {
      if (!(slow_lanes >> l & 1)) continue;
      const int32_t tx[3] = {lx[0][l], lx[1][l], lx[2][l]};
      const int32_t ty[3] = {ly[0][l], ly[1][l], ly[2][l]};
      const int32_t tv[3] = {lv[0][l], lv[1][l], lv[2][l]};
      RasterizeTriangle(tx, ty, tv, static_cast<int32_t>(f0 + l), width, height, s);
    }
  }
}
#endif  // MORPHFIT_VISIBILITY_AVX2

// Rasterizes triangles [begin, end) into zb.
void RasterizeRange(const SnappedVertices& sv, const float* pixels, const float* depths,
                    const int32_t* triangles, int64_t begin, int64_t end, int width, int height,
                    bool perspective, const ZBuffer& zb) {
  // Zeroed once: the vertex ids past the batch's end are then always valid ids (GatherCorners).
  std::unique_ptr<Candidates> c(new Candidates());
  const Sink s{pixels, depths, width, perspective, zb, c.get()};
  const int32_t* xy = sv.xy.data();
  int64_t f = begin;
#ifdef MORPHFIT_VISIBILITY_AVX2
  if (end - f >= 8) {
    // The next group's corners are gathered before this group is set up: their gathers then
    // overlap this group's work (measured faster than gathering at the start of each group).
    GroupCorners g = LoadGroup(xy, triangles, f);
    for (; f + 8 <= end; f += 8) {
      GroupCorners next = g;
      if (f + 16 <= end) next = LoadGroup(xy, triangles, f + 8);
      RasterizeGroup(g, f, width, height, s);
      g = next;
    }
  }
#endif
  for (; f < end; ++f) {
    const int32_t* t = triangles + 3 * f;
    const int32_t x[3] = {xy[2 * t[0]], xy[2 * t[1]], xy[2 * t[2]]};
    const int32_t y[3] = {xy[2 * t[0] + 1], xy[2 * t[1] + 1], xy[2 * t[2] + 1]};
    RasterizeTriangle(x, y, t, static_cast<int32_t>(f), width, height, s);
  }
  FlushCandidates(s);
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
  // Cleared with memset where the byte pattern allows (-1: all ones; 0.0f: all zeros): for
  // buffers this large it stores whole cache lines.
  out->triangle.resize(num_pixels);
  out->bary.resize(3 * num_pixels);
  if (num_pixels > 0) {
    std::memset(out->triangle.data(), 0xff, num_pixels * sizeof(int32_t));
    std::memset(out->bary.data(), 0, 3 * num_pixels * sizeof(float));
  }
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
