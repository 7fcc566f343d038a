// `morphfit synth --device cuda` against the CPU (label gpu; every test skips with the reason
// where CUDA is not in the build or no device is usable).
// Bounds, and why:
//  - Visibility (triangle per pixel, hence mask and depth): the CUDA kernel runs the CPU's own
//    per-triangle arithmetic (math/visibility.h) built without fused multiply-adds, and resolves
//    depth ties to the lower triangle id as the CPU does, so the buffers are bit-identical by
//    design: 0 differing pixels are expected. The tests allow kMaxDifferingPixels (2 of a
//    face's 50,176 pixels at 224 px) so that a stray pixel is reported with its count rather
//    than hiding the other checks; any more fails.
//  - Shaded channels: the same per-pixel formula (math::ShadeVisibilityPixel), compiled with
//    FMA contraction on the device: within 2e-5 (relative to max(1, |value|)), as in
//    tests/cuda/render_cuda_test.cc. After quantisation to the stored 8-bit values this is at
//    most one level (1/255), and for the float16 shading at most 2e-5 plus one float16 step.
//  - Everything computed on the CPU in both paths (landmark positions, parameters) is identical.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "morphfit/core/thread_pool.h"
#include "morphfit/synth/dataset.h"
#include "morphfit/synth/device_render.h"
#include "morphfit/synth/sample_render.h"
#include "morphfit/synth/sampler.h"
#include "synth_test_util.h"

namespace morphfit::synth {
namespace {

constexpr int kMaxDifferingPixels = 2;
constexpr float kShadingTolerance = 2e-5f;

#define MORPHFIT_SKIP_WITHOUT_CUDA()                                        \
  do {                                                                      \
    std::string reason;                                                     \
    if (!RenderDeviceAvailable(RenderDevice::kCuda, &reason)) {             \
      GTEST_SKIP() << reason;                                               \
    }                                                                       \
  } while (0)

float Tolerance(float reference) {
  return kShadingTolerance * std::max(1.0f, std::fabs(reference));
}

int LevelDifference(uint8_t a, uint8_t b) { return std::abs(int(a) - int(b)); }

// 32 faces (one block) at 224 px with the specular term on: the device's visibility buffer and
// channels against the CPU twin's, computed from the same batch arrays.
TEST(SynthCudaTest, BlockOfFacesMatchesTheCpuTwin) {
  MORPHFIT_SKIP_WITHOUT_CUDA();
  SamplerOptions o;
  o.size = 224;
  o.specular = true;
  o.augment = false;
  auto sampler = Sampler::Create(Model(), o, {}, {});
  ASSERT_TRUE(sampler.ok()) << sampler.status().ToString();
  std::vector<SampleSpec> specs;
  for (int i = 0; i < 32; ++i) specs.push_back(sampler.value().Draw(11, i));
  std::vector<const FaceParams*> params;
  std::vector<const SampleSpec*> pointers;
  for (const SampleSpec& s : specs) {
    params.push_back(&s.params);
    pointers.push_back(&s);
  }
  const SampleContext context(Model());
  GeometryBlock geometry;
  context.EvaluateGeometry(params, nullptr, &geometry);
  ThreadPool pool(2);
  BlockRenderer gpu(context, RenderDevice::kCuda), cpu(context, RenderDevice::kCpuBatch);
  const Status g = gpu.Render(pointers, geometry, &pool);
  ASSERT_TRUE(g.ok()) << g.ToString();
  ASSERT_TRUE(cpu.Render(pointers, geometry, &pool).ok());
  const int n = o.size * o.size;
  int worst = 0, specular_pixels = 0;
  for (int j = 0; j < 32; ++j) {
    const int32_t* tg = gpu.VisibleTriangles(j);
    const int32_t* tc = cpu.VisibleTriangles(j);
    ASSERT_TRUE(tg != nullptr && tc != nullptr);
    const RenderedFace a = gpu.Face(j), b = cpu.Face(j);
    int differing = 0, covered = 0;
    for (int i = 0; i < n; ++i) {
      covered += tc[i] >= 0 ? 1 : 0;
      if (tg[i] != tc[i]) {
        ++differing;
        continue;
      }
      ASSERT_EQ(a.mask[i], b.mask[i]) << "face " << j << " pixel " << i;
      if (tc[i] < 0) continue;
      ASSERT_EQ(a.depth[i], b.depth[i]) << "face " << j << " pixel " << i;
      ASSERT_NEAR(a.specular[i], b.specular[i], Tolerance(b.specular[i])) << "face " << j;
      specular_pixels += b.specular[i] > 0.0f ? 1 : 0;
      for (int c = 0; c < 3; ++c) {
        const int k = 3 * i + c;
        ASSERT_NEAR(a.image[k], b.image[k], Tolerance(b.image[k])) << "face " << j << " px " << i;
        ASSERT_NEAR(a.normals[k], b.normals[k], Tolerance(b.normals[k])) << "face " << j;
        ASSERT_NEAR(a.albedo[k], b.albedo[k], Tolerance(b.albedo[k])) << "face " << j;
        ASSERT_NEAR(a.shading[k], b.shading[k], Tolerance(b.shading[k])) << "face " << j;
      }
    }
    EXPECT_GT(covered, n / 20) << "face " << j;
    EXPECT_LE(differing, kMaxDifferingPixels) << "face " << j;
    worst = std::max(worst, differing);
  }
  // Each face's own specular term (per-face Blinn-Phong parameters) reached the device.
  EXPECT_GT(specular_pixels, 0);
  std::printf("most visibility pixels differing in one face: %d (bound %d)\n", worst,
              kMaxDifferingPixels);
  RecordProperty("max_differing_pixels", worst);
}

// A shard written with --device cuda against the CPU shard, read back: 40 samples (blocks of
// 32 and 8), specular on, augmentation off (a JPEG round trip would spread one level's
// difference over its 8 x 8 block).
TEST_F(SynthTest, CudaShardEqualsTheCpuShard) {
  MORPHFIT_SKIP_WITHOUT_CUDA();
  SamplerOptions o = Options(/*specular=*/true, /*augment=*/false);
  o.size = 224;
  const Sampler sampler = MakeSampler(o);
  const SetInfo info = Info(40, 40);
  ThreadPool pool(2);
  ShardTimings gpu_timings;
  ASSERT_TRUE(WriteShard(Path("cpu.h5"), Model(), sampler, nullptr, info, 0, 40, &pool, {},
                         nullptr, RenderDevice::kCpu)
                  .ok());
  const Status written = WriteShard(Path("cuda.h5"), Model(), sampler, nullptr, info, 0, 40,
                                    &pool, {}, &gpu_timings, RenderDevice::kCuda);
  ASSERT_TRUE(written.ok()) << written.ToString();
  EXPECT_GT(gpu_timings.device_seconds, 0.0);
  const int n = o.size * o.size;
  int worst = 0;
  for (int64_t row = 0; row < 40; ++row) {
    auto c = ReadStoredSample(Path("cpu.h5"), row);
    auto g = ReadStoredSample(Path("cuda.h5"), row);
    ASSERT_TRUE(c.ok() && g.ok());
    const EncodedSample& x = c.value().data;
    const EncodedSample& y = g.value().data;
    EXPECT_TRUE(x.params == y.params) << "row " << row;
    EXPECT_TRUE(x.landmarks_2d == y.landmarks_2d && x.landmarks_3d == y.landmarks_3d)
        << "row " << row;
    // Pixels whose visible surface differs (mask or depth): at most kMaxDifferingPixels.
    std::vector<uint8_t> differs(n, 0);
    int differing = 0;
    for (int i = 0; i < n; ++i) {
      differs[i] = x.mask[i] != y.mask[i] || x.depth[i] != y.depth[i];
      differing += differs[i];
    }
    EXPECT_LE(differing, kMaxDifferingPixels) << "row " << row;
    worst = std::max(worst, differing);
    for (int i = 0; i < n; ++i) {
      if (differs[i]) continue;
      ASSERT_LE(LevelDifference(x.specular[i], y.specular[i]), 1) << "row " << row;
      for (int ch = 0; ch < 3; ++ch) {
        const int k = 3 * i + ch;
        ASSERT_LE(LevelDifference(x.image[k], y.image[k]), 1) << "row " << row << " px " << i;
        ASSERT_LE(LevelDifference(x.normals[k], y.normals[k]), 1) << "row " << row;
        ASSERT_LE(LevelDifference(x.albedo[k], y.albedo[k]), 1) << "row " << row;
        const float s = HalfToFloat(x.shading[k]), t = HalfToFloat(y.shading[k]);
        // One float16 step at |s| is at most |s| * 2^-10 (normal range) or 2^-24 (subnormal).
        const float step = std::max(std::fabs(s) * 0.0009765625f, 5.97e-8f);
        ASSERT_LE(std::fabs(s - t), Tolerance(s) + step) << "row " << row << " px " << i;
      }
    }
    // Landmark visibility reads the depth at the landmark's pixel: equal unless that pixel's
    // surface differs.
    auto surface_differs = [&](float u, float v) {
      const long px = std::lround(u), py = std::lround(v);
      return px >= 0 && py >= 0 && px < o.size && py < o.size && differs[py * o.size + px];
    };
    for (int k = 0; k < 68; ++k) {
      if (!surface_differs(x.landmarks_3d[3 * k], x.landmarks_3d[3 * k + 1])) {
        EXPECT_EQ(x.landmarks_3d_visible[k], y.landmarks_3d_visible[k]) << "row " << row;
      }
      if (!surface_differs(x.landmarks_2d[2 * k], x.landmarks_2d[2 * k + 1])) {
        EXPECT_EQ(x.landmarks_2d_visible[k], y.landmarks_2d_visible[k]) << "row " << row;
      }
    }
  }
  std::printf("most pixels with a different surface in one sample: %d (bound %d)\n", worst,
              kMaxDifferingPixels);
  RecordProperty("max_differing_pixels", worst);
}

}  // namespace
}  // namespace morphfit::synth
