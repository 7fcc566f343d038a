// Shading of a whole visibility buffer (renderer.h, ShadeVisibility). The image is shaded in
// segments of up to 128 consecutive pixels, lanes = pixels: the covered pixels' barycentrics
// and corner normals and albedo are gathered into structure-of-arrays lanes, math::ShadePixel
// runs over every lane of the segment in one loop that the compiler vectorises, background
// lanes are replaced by their constant values in the same loop, and each channel image is then
// written in order from the lanes (vectorised: interleaving permutes and full-width stores
// instead of 13 scalar stores per pixel). Same IEEE operations in the same order as the
// per-pixel reference (math::ShadeImageReference); built with FMA contraction off (CMakeLists)
// like it, so the channels are the same bits. With the specular term on, the lanes loop leaves
// the diffuse colour and n . h, and a second 8-wide pass adds the Blinn-Phong term with
// math::FastPow's AVX2 twin (fast_pow_avx2.h, the same bits as the scalar function).
#include <algorithm>
#include <cstdint>
#include <memory>

#include "morphfit/math/render_pixel.h"
#include "morphfit/math/shading.h"
#include "morphfit/render/renderer.h"
#include "fast_pow_avx2.h"

namespace morphfit::render {
namespace {

constexpr int64_t kRowChunk = 8;

struct ShadeSegment {
  static constexpr int kSize = 128;
  // Inputs. A background lane keeps whatever an earlier covered pixel (or the zero
  // initialisation) left there: it is shaded too, and its results are discarded.
  alignas(64) int32_t covered[kSize];         // 1 = face
  alignas(64) float bary[3][kSize];
  alignas(64) float normal[3][3][kSize];  // [corner][component][pixel]
  alignas(64) float albedo[3][3][kSize];
  // n . h of each lane (specular on): from ShadeLanes to AddSpecular.
  alignas(64) float cosine[kSize];
  // Outputs, background values in background lanes.
  alignas(64) float color[3][kSize];
  alignas(64) float unit_normal[3][kSize];
  alignas(64) float mixed_albedo[3][kSize];
  alignas(64) float shading[3][kSize];
  alignas(64) float specular[kSize];
};

// math::ShadePixel over lanes [0, n), then math::ShadeVisibilityPixel's background values in
// background lanes. kSpecular: the loop stops short of the Blinn-Phong power (a call the loop
// vectoriser would not take) and leaves the diffuse colour albedo * shading and n . h in every
// lane for AddSpecular; the colour's background select is then AddSpecular's.
template <bool kSpecular>
__attribute__((always_inline)) inline void ShadeLanes(const float* lighting_in,
                                                      const math::SpecularParams<float>& spec_in,
                                                      const float background_in[3], int n,
                                                      ShadeSegment* __restrict b) {
  float lighting[27];
  std::copy(lighting_in, lighting_in + 27, lighting);
  const float background[3] = {background_in[0], background_in[1], background_in[2]};
  math::SpecularParams<float> spec{};
  if (kSpecular) spec = spec_in;
  for (int j = 0; j < n; ++j) {
    const float bary[3] = {b->bary[0][j], b->bary[1][j], b->bary[2][j]};
    float nv[3][3], av[3][3];
    for (int k = 0; k < 3; ++k) {
      for (int c = 0; c < 3; ++c) {
        nv[k][c] = b->normal[k][c][j];
        av[k][c] = b->albedo[k][c][j];
      }
    }
    const float* normals[3] = {nv[0], nv[1], nv[2]};
    const float* albedos[3] = {av[0], av[1], av[2]};
    math::PixelShading<float> s;
    const bool on = b->covered[j] != 0;
    if (kSpecular) {
      math::ShadePixelDiffuse(bary, normals, albedos, lighting, &s);
      b->cosine[j] = math::SpecularCosine(s.normal, spec);
      for (int c = 0; c < 3; ++c) b->color[c][j] = s.albedo[c] * s.shading[c];
    } else {
      math::ShadePixel(bary, normals, albedos, lighting, spec, &s);
      for (int c = 0; c < 3; ++c) b->color[c][j] = on ? s.color[c] : background[c];
      b->specular[j] = on ? s.specular : 0.0f;
    }
    for (int c = 0; c < 3; ++c) {
      b->unit_normal[c][j] = on ? s.normal[c] : 0.0f;
      b->mixed_albedo[c][j] = on ? s.albedo[c] : 0.0f;
      b->shading[c][j] = on ? s.shading[c] : 0.0f;
    }
  }
}

// After ShadeLanes<true>: specular = math::SpecularTerm(n . h) and colour = diffuse + specular in
// covered lanes, the background values elsewhere (ShadePixel's operations: the same bits).
void AddSpecular(const math::SpecularParams<float>& spec, const float background[3], int n,
                 ShadeSegment* __restrict b) {
#if defined(MORPHFIT_FAST_POW_AVX2)
  // 8 lanes at a time; the lanes past n hold finite stale values (or zeros) and are not written
  // out.
  const __m256 intensity = _mm256_set1_ps(spec.intensity);
  const __m256 shininess = _mm256_set1_ps(spec.shininess);
  const __m256 zero = _mm256_setzero_ps();
  for (int j = 0; j < n; j += 8) {
    const __m256 nh = _mm256_load_ps(b->cosine + j);
    const __m256 lit = _mm256_cmp_ps(nh, zero, _CMP_GT_OQ);
    const __m256 on = _mm256_castsi256_ps(_mm256_cmpgt_epi32(
        _mm256_load_si256(reinterpret_cast<const __m256i*>(b->covered + j)),
        _mm256_setzero_si256()));
    // The power only where some covered lane faces the light (background runs and back-lit
    // groups skip it); elsewhere the term is +0, as SpecularTerm gives.
    __m256 sp = zero;
    if (!_mm256_testz_ps(lit, on)) {
      sp = _mm256_and_ps(lit, _mm256_mul_ps(intensity, FastPow8(nh, shininess)));
    }
    for (int c = 0; c < 3; ++c) {
      const __m256 color = _mm256_add_ps(_mm256_load_ps(b->color[c] + j), sp);
      _mm256_store_ps(b->color[c] + j,
                      _mm256_blendv_ps(_mm256_set1_ps(background[c]), color, on));
    }
    _mm256_store_ps(b->specular + j, _mm256_and_ps(on, sp));
  }
#else
  for (int j = 0; j < n; ++j) {
    const bool on = b->covered[j] != 0;
    const float sp = math::SpecularTerm(b->cosine[j], spec);
    for (int c = 0; c < 3; ++c) b->color[c][j] = on ? b->color[c][j] + sp : background[c];
    b->specular[j] = on ? sp : 0.0f;
  }
#endif
}

// out[3 j + c] = lanes[c][j] for j < n (the compiler vectorises the interleave).
__attribute__((always_inline)) inline void InterleaveRgb(
    const float (*__restrict lanes)[ShadeSegment::kSize], int n, float* __restrict out) {
  for (int j = 0; j < n; ++j) {
    for (int c = 0; c < 3; ++c) out[3 * j + c] = lanes[c][j];
  }
}

// Shades lanes [0, n) of b, pixels [s, s + n), and writes them to every channel of out.
void ShadeAndWrite(const math::ShadeInputs<float>& in, const float background[3],
                   const math::ChannelImages& out, int64_t s, int n, ShadeSegment* __restrict b) {
  if (in.spec.intensity != 0.0f) {
    ShadeLanes<true>(in.lighting, in.spec, background, n, b);
    AddSpecular(in.spec, background, n, b);
  } else {
    ShadeLanes<false>(in.lighting, in.spec, background, n, b);
  }
  InterleaveRgb(b->color, n, out.image + 3 * s);
  InterleaveRgb(b->unit_normal, n, out.normals + 3 * s);
  InterleaveRgb(b->mixed_albedo, n, out.albedo + 3 * s);
  InterleaveRgb(b->shading, n, out.shading + 3 * s);
  float* __restrict specular = out.specular + s;
  uint8_t* __restrict mask = out.mask + s;
  for (int j = 0; j < n; ++j) {
    specular[j] = b->specular[j];
    mask[j] = static_cast<uint8_t>(b->covered[j]);
  }
}

// Pixels [s, s + n) all background: math::ShadeVisibilityPixel's values, without shading lanes.
void WriteBackground(const float background[3], const math::ChannelImages& out, int64_t s,
                     int n) {
  float* __restrict image = out.image + 3 * s;
  for (int j = 0; j < n; ++j) {
    for (int c = 0; c < 3; ++c) image[3 * j + c] = background[c];
  }
  std::fill(out.normals + 3 * s, out.normals + 3 * (s + n), 0.0f);
  std::fill(out.albedo + 3 * s, out.albedo + 3 * (s + n), 0.0f);
  std::fill(out.shading + 3 * s, out.shading + 3 * (s + n), 0.0f);
  std::fill(out.specular + s, out.specular + s + n, 0.0f);
  std::fill(out.mask + s, out.mask + s + n, uint8_t{0});
}

// Shades pixels [s, s + n) (n <= ShadeSegment::kSize) into every channel of out: gathers the
// covered pixels' inputs into their lanes, then shades and writes them (or writes the background
// where none is covered).
void ShadePixels(const math::ShadeInputs<float>& in,
                 const VisibilityBuffer& vis, const float background[3],
                 const math::ChannelImages& out, int64_t s, int n, ShadeSegment* __restrict b) {
  const int32_t* __restrict triangle = vis.triangle.data() + s;
  const float* __restrict vis_bary = vis.bary.data() + 3 * s;
  int num_covered = 0;
  for (int j = 0; j < n; ++j) {
    const int32_t f = triangle[j];
    b->covered[j] = f >= 0;
    if (f < 0) continue;
    ++num_covered;
    for (int k = 0; k < 3; ++k) {
      b->bary[k][j] = vis_bary[3 * j + k];
      const int64_t v = in.triangles[3 * static_cast<int64_t>(f) + k];
      for (int c = 0; c < 3; ++c) {
        b->normal[k][c][j] = in.normals[3 * v + c];
        b->albedo[k][c][j] = in.albedo[3 * v + c];
      }
    }
  }
  if (num_covered == 0) {
    WriteBackground(background, out, s, n);
  } else {
    ShadeAndWrite(in, background, out, s, n, b);
  }
}

}  // namespace

void ShadeVisibility(const math::ShadeInputs<float>& in, const VisibilityBuffer& vis,
                     const float background[3], const math::ChannelImages& out,
                     ThreadPool* pool) {
  ThreadPool inline_pool(1);
  ThreadPool* p = pool != nullptr ? pool : &inline_pool;
  const int64_t width = vis.width;
  p->ParallelForChunks(0, vis.height, kRowChunk, [&](int64_t y0, int64_t y1, int64_t) {
    // Zero-initialised, so that background lanes never hold uninitialised values.
    std::unique_ptr<ShadeSegment> segment(new ShadeSegment());
    const int64_t end = y1 * width;
    for (int64_t s = y0 * width; s < end; s += ShadeSegment::kSize) {
      const int n = static_cast<int>(std::min<int64_t>(ShadeSegment::kSize, end - s));
      ShadePixels(in, vis, background, out, s, n, segment.get());
    }
  });
}

}  // namespace morphfit::render
