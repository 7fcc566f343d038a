// Shading of a whole visibility buffer (renderer.h, ShadeVisibility): per row chunk, covered
// pixels are gathered into structure-of-arrays batches (barycentrics, the three corners'
// normals and albedo) and math::ShadePixel runs over a batch in one loop that the compiler
// vectorises across pixels. Same IEEE operations in the same order as the per-pixel reference
// (math::ShadeImageReference); built with FMA contraction off (CMakeLists) like it, so the
// channels are the same bits.
#include <algorithm>
#include <cstdint>
#include <memory>

#include "morphfit/math/render_pixel.h"
#include "morphfit/math/shading.h"
#include "morphfit/render/renderer.h"

namespace morphfit::render {
namespace {

constexpr int64_t kRowChunk = 8;

struct ShadeBatch {
  static constexpr int kCapacity = 128;
  int n = 0;
  int64_t pixel[kCapacity];
  alignas(64) float bary[3][kCapacity];
  alignas(64) float normal[3][3][kCapacity];  // [corner][component][pixel]
  alignas(64) float albedo[3][3][kCapacity];
  // Outputs.
  alignas(64) float color[3][kCapacity];
  alignas(64) float unit_normal[3][kCapacity];
  alignas(64) float mixed_albedo[3][kCapacity];
  alignas(64) float shading[3][kCapacity];
  alignas(64) float specular[kCapacity];
};

// math::ShadePixel over the batch. kSpecular false: the Blinn-Phong term is known to be off,
// which leaves straight-line arithmetic the loop vectoriser takes (powf does not vectorise).
template <bool kSpecular>
void ShadeBatchPixels(const float* lighting_in, const math::SpecularParams<float>& spec_in,
                      ShadeBatch* __restrict b) {
  float lighting[27];
  std::copy(lighting_in, lighting_in + 27, lighting);
  math::SpecularParams<float> spec{};
  if (kSpecular) spec = spec_in;
  const int n = b->n;
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
    math::ShadePixel(bary, normals, albedos, lighting, spec, &s);
    for (int c = 0; c < 3; ++c) {
      b->color[c][j] = s.color[c];
      b->unit_normal[c][j] = s.normal[c];
      b->mixed_albedo[c][j] = s.albedo[c];
      b->shading[c][j] = s.shading[c];
    }
    b->specular[j] = s.specular;
  }
}

// Shades the batch and writes its pixels' channels; empties it.
void FlushBatch(const math::ShadeInputs<float>& in, const math::ChannelImages& out,
                ShadeBatch* b) {
  if (in.spec.intensity != 0.0f) {
    ShadeBatchPixels<true>(in.lighting, in.spec, b);
  } else {
    ShadeBatchPixels<false>(in.lighting, in.spec, b);
  }
  // Restrict-qualified views: the batch and the six images do not overlap, so loads need not
  // wait for earlier stores.
  const ShadeBatch* __restrict src = b;
  float* __restrict image = out.image;
  float* __restrict normals = out.normals;
  float* __restrict albedo = out.albedo;
  float* __restrict shading = out.shading;
  float* __restrict specular = out.specular;
  uint8_t* __restrict mask = out.mask;
  const int n = b->n;
  for (int j = 0; j < n; ++j) {
    const int64_t i = src->pixel[j];
    for (int c = 0; c < 3; ++c) {
      image[3 * i + c] = src->color[c][j];
      normals[3 * i + c] = src->unit_normal[c][j];
      albedo[3 * i + c] = src->mixed_albedo[c][j];
      shading[3 * i + c] = src->shading[c][j];
    }
    mask[i] = 1;
    specular[i] = src->specular[j];
  }
  b->n = 0;
}

}  // namespace

void ShadeVisibility(const math::ShadeInputs<float>& in, const VisibilityBuffer& vis,
                     const float background[3], const math::ChannelImages& out,
                     ThreadPool* pool) {
  ThreadPool inline_pool(1);
  ThreadPool* p = pool != nullptr ? pool : &inline_pool;
  const int width = vis.width;
  p->ParallelForChunks(0, vis.height, kRowChunk, [&](int64_t y0, int64_t y1, int64_t) {
    std::unique_ptr<ShadeBatch> batch(new ShadeBatch);  // default-initialised: not cleared
    ShadeBatch* b = batch.get();
    for (int64_t i = y0 * width; i < y1 * width; ++i) {
      const int32_t f = vis.triangle[i];
      if (f < 0) {
        // math::ShadeVisibilityPixel's background pixel.
        math::ShadeVisibilityPixel(in, f, 0, 0, i, background, out);
        continue;
      }
      if (b->n == ShadeBatch::kCapacity) FlushBatch(in, out, b);
      const int j = b->n++;
      b->pixel[j] = i;
      for (int k = 0; k < 3; ++k) {
        b->bary[k][j] = vis.bary[3 * i + k];
        const int64_t v = in.triangles[3 * static_cast<int64_t>(f) + k];
        for (int c = 0; c < 3; ++c) {
          b->normal[k][c][j] = in.normals[3 * v + c];
          b->albedo[k][c][j] = in.albedo[3 * v + c];
        }
      }
    }
    FlushBatch(in, out, b);
  });
}

}  // namespace morphfit::render
