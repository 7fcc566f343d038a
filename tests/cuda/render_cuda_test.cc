// CUDA render kernels vs their CPU twins, on synthetic meshes built here (no morphfit_core):
//  - RasterizeVisibilityCuda vs math::RasterizeVisibilityReference (math/visibility.h), which
//    gives exactly render::RasterizeVisibility's buffer: bit-identical buffers are required.
//  - RenderBatchCuda vs math::ShadeImageReference (math/render_pixel.h), the per-pixel formula
//    render::Render calls.
//  - AccumulateNormalEquationsCuda vs math::AccumulateNormalEquationsReference
//    (math/pixel_jacobian.h), the rows render::AccumulatePhotometric accumulates.
// Compiled with -ffp-contract=off (tests/cuda/CMakeLists.txt) so the reference rounds as the CPU
// renderer and the --fmad=false visibility kernel do.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "model_eval.h"
#include "morphfit/math/pixel_jacobian.h"
#include "morphfit/math/render_pixel.h"
#include "morphfit/math/visibility.h"
#include "render_jacobian.h"
#include "render_shading.h"
#include "render_visibility.h"

namespace morphfit::cuda {
namespace {

#define MORPHFIT_SKIP_WITHOUT_CUDA()                           \
  do {                                                         \
    std::string reason;                                        \
    if (!DeviceAvailable(&reason)) GTEST_SKIP() << reason;     \
  } while (0)

// Channels differ only by powf/sqrtf ulps and contracted multiply-adds: values are O(1).
constexpr float kShadingTolerance = 2e-5f;
// JᵀJ: float rows, float block sums on the GPU vs double sums on the CPU, relative to the
// largest entry.
constexpr double kNormalEquationsRelTolerance = 1e-4;

// A curved grid sheet in the camera frame (x right, y down, z forward) seen by a pinhole or a
// weak-perspective camera, plus a smaller sheet in front of it (so the z-test decides) and
// copies of some triangles (equal depths: the lower id must win).
struct Mesh {
  int num_vertices = 0;
  std::vector<float> points;  // 3N camera frame, mm
  std::vector<float> pixels, depths, normals, albedo;
  std::vector<int32_t> triangles;
  int num_triangles() const { return static_cast<int>(triangles.size() / 3); }
};

void AddSheet(int cells, float half_size, float z0, float bend, float shift, Mesh* m) {
  const int base = m->num_vertices;
  for (int j = 0; j <= cells; ++j) {
    for (int i = 0; i <= cells; ++i) {
      const float x = half_size * (2.0f * i / cells - 1.0f) + shift;
      const float y = half_size * (2.0f * j / cells - 1.0f);
      m->points.insert(m->points.end(), {x, y, z0 + bend * (x * x + y * y)});
    }
  }
  m->num_vertices += (cells + 1) * (cells + 1);
  const auto id = [&](int i, int j) { return base + j * (cells + 1) + i; };
  for (int j = 0; j < cells; ++j) {
    for (int i = 0; i < cells; ++i) {
      // Clockwise in the image (y down) = front-facing.
      m->triangles.insert(m->triangles.end(), {id(i, j), id(i, j + 1), id(i + 1, j)});
      m->triangles.insert(m->triangles.end(), {id(i + 1, j), id(i, j + 1), id(i + 1, j + 1)});
    }
  }
}

Mesh MakeMesh(bool perspective, const float camera[3], uint32_t seed) {
  Mesh m;
  AddSheet(40, 100.0f, 500.0f, 0.002f, 0.0f, &m);
  AddSheet(7, 30.0f, 450.0f, -0.001f, 25.0f, &m);
  for (int f = 0; f < 200; f += 7) {  // duplicates of the front sheet's first triangles
    const int t = 2 * 40 * 40 + f % 98;
    for (int k = 0; k < 3; ++k) m.triangles.push_back(m.triangles[3 * t + k]);
  }
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> uni(0.2f, 0.9f);
  for (int v = 0; v < m.num_vertices; ++v) {
    const float* p = &m.points[3 * v];
    const float u = perspective ? camera[0] * p[0] / p[2] + camera[1] : camera[0] * p[0] + camera[1];
    const float w = perspective ? camera[0] * p[1] / p[2] + camera[2] : camera[0] * p[1] + camera[2];
    m.pixels.insert(m.pixels.end(), {u, w});
    m.depths.push_back(p[2]);
    const float n[3] = {0.3f * p[0] / 100.0f, -0.3f * p[1] / 100.0f, 1.0f};
    const float len = std::sqrt(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);
    m.normals.insert(m.normals.end(), {n[0] / len, n[1] / len, n[2] / len});
    m.albedo.insert(m.albedo.end(), {uni(gen), uni(gen), uni(gen)});
  }
  return m;
}

constexpr int kWidth = 97, kHeight = 83;  // not multiples of the block sizes
const float kPinhole[3] = {420.0f, 48.0f, 41.0f};
const float kWeak[3] = {0.4f, 48.3f, 40.7f};

std::vector<float> Lighting(float tint) {
  std::vector<float> l(27, 0.0f);
  for (int c = 0; c < 3; ++c) {
    l[9 * c] = 0.8f + 0.1f * c * tint;
    l[9 * c + 1] = 0.1f;
    l[9 * c + 2] = 0.3f * tint;
    l[9 * c + 3] = -0.15f;
    l[9 * c + 6] = 0.05f;
  }
  return l;
}

TEST(RenderCpuTwinTest, ReferenceBufferHasNoCracksAndHonoursTies) {
  const Mesh m = MakeMesh(true, kPinhole, 1);
  std::vector<int32_t> tri(kWidth * kHeight);
  std::vector<float> bary(3 * kWidth * kHeight), depth(kWidth * kHeight);
  math::RasterizeVisibilityReference(m.pixels.data(), m.depths.data(), m.triangles.data(),
                                     m.num_triangles(), kWidth, kHeight, true, 1.0f, tri.data(),
                                     bary.data(), depth.data());
  // The back sheet spans ±100 mm at 500 mm: ±84 px around the centre, beyond this image.
  int duplicates_won = 0;
  for (int i = 0; i < kWidth * kHeight; ++i) {
    ASSERT_GE(tri[i], 0) << "crack at pixel " << i;
    EXPECT_NEAR(bary[3 * i] + bary[3 * i + 1] + bary[3 * i + 2], 1.0f, 1e-5f);
    if (tri[i] >= 2 * 40 * 40 + 2 * 7 * 7) ++duplicates_won;
  }
  EXPECT_EQ(duplicates_won, 0) << "an equal-depth copy beat the lower triangle id";
}

TEST(RenderCudaTest, RejectsBadSizesWithoutTouchingTheDevice) {
  VisibilityArrays out;
  const float p[2] = {0.0f, 0.0f}, d[1] = {1.0f};
  const int32_t t[3] = {0, 0, 0};
  EXPECT_NE(RasterizeVisibilityCuda(p, d, 1, t, 1, 0, 10, true, 1.0f, 1, &out), "");
  EXPECT_NE(RasterizeVisibilityCuda(p, d, 1, t, 1, 10, 10, true, 1.0f, 0, &out), "");
}

TEST(RenderCudaTest, VisibilityBatchEqualsCpuTwinExactly) {
  MORPHFIT_SKIP_WITHOUT_CUDA();
  for (const bool perspective : {true, false}) {
    const float* camera = perspective ? kPinhole : kWeak;
    const int batch = 3;
    std::vector<Mesh> meshes;
    std::vector<float> pixels, depths;
    for (int b = 0; b < batch; ++b) {
      Mesh m = MakeMesh(perspective, camera, b);
      for (size_t k = 0; k < m.pixels.size(); ++k) m.pixels[k] += 3.37f * b;  // face b shifted
      pixels.insert(pixels.end(), m.pixels.begin(), m.pixels.end());
      depths.insert(depths.end(), m.depths.begin(), m.depths.end());
      meshes.push_back(std::move(m));
    }
    const Mesh& m0 = meshes[0];
    VisibilityArrays gpu;
    ASSERT_EQ(RasterizeVisibilityCuda(pixels.data(), depths.data(), m0.num_vertices,
                                      m0.triangles.data(), m0.num_triangles(), kWidth, kHeight,
                                      perspective, 1.0f, batch, &gpu),
              "");
    const int np = kWidth * kHeight;
    for (int b = 0; b < batch; ++b) {
      std::vector<int32_t> tri(np);
      std::vector<float> bary(3 * np), depth(np);
      math::RasterizeVisibilityReference(meshes[b].pixels.data(), meshes[b].depths.data(),
                                         m0.triangles.data(), m0.num_triangles(), kWidth,
                                         kHeight, perspective, 1.0f, tri.data(), bary.data(),
                                         depth.data());
      for (int i = 0; i < np; ++i) {
        ASSERT_EQ(gpu.triangle[b * np + i], tri[i]) << "face " << b << " pixel " << i;
        ASSERT_EQ(gpu.depth[b * np + i], depth[i]) << "face " << b << " pixel " << i;
        for (int k = 0; k < 3; ++k) ASSERT_EQ(gpu.bary[3 * (b * np + i) + k], bary[3 * i + k]);
      }
    }
  }
}

TEST(RenderCudaTest, ShadedChannelsMatchCpuTwin) {
  MORPHFIT_SKIP_WITHOUT_CUDA();
  const int batch = 2;
  std::vector<Mesh> meshes = {MakeMesh(true, kPinhole, 5), MakeMesh(true, kPinhole, 6)};
  RenderBatchInput in;
  std::vector<float> pixels, depths, normals, albedo, lighting;
  for (int b = 0; b < batch; ++b) {
    const Mesh& m = meshes[b];
    pixels.insert(pixels.end(), m.pixels.begin(), m.pixels.end());
    depths.insert(depths.end(), m.depths.begin(), m.depths.end());
    normals.insert(normals.end(), m.normals.begin(), m.normals.end());
    albedo.insert(albedo.end(), m.albedo.begin(), m.albedo.end());
    const std::vector<float> l = Lighting(b + 1.0f);
    lighting.insert(lighting.end(), l.begin(), l.end());
  }
  in.pixels = pixels.data();
  in.depths = depths.data();
  in.normals = normals.data();
  in.albedo = albedo.data();
  in.lighting = lighting.data();
  in.triangles = meshes[0].triangles.data();
  in.num_vertices = meshes[0].num_vertices;
  in.num_triangles = meshes[0].num_triangles();
  in.batch = batch;
  in.width = kWidth;
  in.height = kHeight;
  in.specular_intensity = 0.3f;
  in.specular_shininess = 12.0f;
  const float h[3] = {0.3f, -0.2f, 0.93f};
  const float hn = std::sqrt(h[0] * h[0] + h[1] * h[1] + h[2] * h[2]);
  for (int c = 0; c < 3; ++c) in.specular_half_vector[c] = h[c] / hn;
  in.background[0] = 0.25f;
  RenderBatchOutput gpu;
  ASSERT_EQ(RenderBatchCuda(in, &gpu), "");
  const int np = kWidth * kHeight;
  for (int b = 0; b < batch; ++b) {
    const Mesh& m = meshes[b];
    std::vector<int32_t> tri(np);
    std::vector<float> bary(3 * np), depth(np);
    math::RasterizeVisibilityReference(m.pixels.data(), m.depths.data(), m.triangles.data(),
                                       m.num_triangles(), kWidth, kHeight, true, 1.0f, tri.data(),
                                       bary.data(), depth.data());
    math::ShadeInputs<float> s;
    s.pixels = m.pixels.data();
    s.depths = m.depths.data();
    s.normals = m.normals.data();
    s.albedo = m.albedo.data();
    s.triangles = m.triangles.data();
    s.lighting = lighting.data() + 27 * b;
    s.spec.intensity = in.specular_intensity;
    s.spec.shininess = in.specular_shininess;
    for (int c = 0; c < 3; ++c) s.spec.half_vector[c] = in.specular_half_vector[c];
    std::vector<float> image(3 * np), normal(3 * np), alb(3 * np), shading(3 * np), spec(np);
    std::vector<uint8_t> mask(np);
    math::ShadeImageReference(s, tri.data(), kWidth, kHeight, in.background,
                              {image.data(), mask.data(), normal.data(), alb.data(),
                               shading.data(), spec.data()});
    float specular_max = 0.0f;
    for (int i = 0; i < np; ++i) {
      const int64_t o = static_cast<int64_t>(b) * np + i;
      ASSERT_EQ(gpu.visibility.triangle[o], tri[i]);
      ASSERT_EQ(gpu.mask[o], mask[i]);
      EXPECT_NEAR(gpu.specular[o], spec[i], kShadingTolerance);
      specular_max = std::max(specular_max, spec[i]);
      for (int c = 0; c < 3; ++c) {
        EXPECT_NEAR(gpu.image[3 * o + c], image[3 * i + c], kShadingTolerance) << "pixel " << i;
        EXPECT_NEAR(gpu.normals[3 * o + c], normal[3 * i + c], kShadingTolerance);
        EXPECT_NEAR(gpu.albedo[3 * o + c], alb[3 * i + c], kShadingTolerance);
        EXPECT_NEAR(gpu.shading[3 * o + c], shading[3 * i + c], kShadingTolerance);
      }
    }
    EXPECT_GT(specular_max, 0.01f) << "the specular term was not exercised";
  }
}

TEST(RenderCudaTest, NormalEquationsMatchCpuTwin) {
  MORPHFIT_SKIP_WITHOUT_CUDA();
  const Mesh m = MakeMesh(true, kPinhole, 9);
  const int np = kWidth * kHeight, n = m.num_vertices;
  std::vector<int32_t> tri(np);
  std::vector<float> bary(3 * np), depth(np);
  math::RasterizeVisibilityReference(m.pixels.data(), m.depths.data(), m.triangles.data(),
                                     m.num_triangles(), kWidth, kHeight, true, 1.0f, tri.data(),
                                     bary.data(), depth.data());
  std::mt19937 gen(11);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> uni(0.0f, 1.0f);
  NormalEquationsInput in;
  in.num_shape = 70;  // P = 70 + 13 + 36 = 119: two 64-column tiles, the second partial
  in.num_albedo = 13;
  std::vector<int> slot(n);
  for (int v = 0; v < n; ++v) slot[v] = n - 1 - v;  // a non-trivial vertex -> slot map
  const auto random = [&](size_t count, float scale) {
    std::vector<float> a(count);
    for (auto& x : a) x = scale * normal(gen);
    return a;
  };
  const std::vector<float> dps = random(3 * n * in.num_shape, 1.0f);
  const std::vector<float> dns = random(3 * n * in.num_shape, 0.01f);
  const std::vector<float> dpr = random(9 * n, 50.0f), dnr = random(9 * n, 0.5f);
  const std::vector<float> arows = random(3 * n * in.num_albedo, 0.05f);
  std::vector<float> observed(3 * np), weights(np);
  for (auto& x : observed) x = uni(gen);
  for (auto& x : weights) x = uni(gen) < 0.2f ? 0.0f : uni(gen);
  in.pixels = m.pixels.data();
  in.points_camera = m.points.data();
  in.normals = m.normals.data();
  in.albedo = m.albedo.data();
  in.triangles = m.triangles.data();
  in.num_vertices = n;
  in.num_triangles = m.num_triangles();
  for (int c = 0; c < 3; ++c) in.camera[c] = kPinhole[c];
  const std::vector<float> l = Lighting(1.0f);
  std::copy(l.begin(), l.end(), in.lighting);
  in.specular_intensity = 0.2f;
  in.vertex_slot = slot.data();
  in.num_slots = n;
  in.dpoint_dshape = dps.data();
  in.dnormal_dshape = dns.data();
  in.dpoint_drot = dpr.data();
  in.dnormal_drot = dnr.data();
  in.albedo_rows = arows.data();
  in.visible_triangle = tri.data();
  in.width = kWidth;
  in.height = kHeight;
  in.observed = observed.data();
  in.weights = weights.data();
  in.loss = math::RobustLoss::kHuber;
  in.loss_scale = 0.2;
  NormalEquationsResult gpu;
  ASSERT_EQ(AccumulateNormalEquationsCuda(in, &gpu), "");

  math::PixelJacobianInputs<float> j;
  j.shade.pixels = m.pixels.data();
  j.shade.depths = m.points.data() + 2;
  j.shade.depth_stride = 3;
  j.shade.normals = m.normals.data();
  j.shade.albedo = m.albedo.data();
  j.shade.triangles = m.triangles.data();
  j.shade.lighting = in.lighting;
  j.shade.spec.intensity = in.specular_intensity;
  j.shade.spec.shininess = in.specular_shininess;
  for (int c = 0; c < 3; ++c) j.shade.spec.half_vector[c] = in.specular_half_vector[c];
  j.points_camera = m.points.data();
  j.camera = in.camera;
  j.vertex_slot = slot.data();
  j.dpoint_dshape = dps.data();
  j.dnormal_dshape = dns.data();
  j.dpoint_drot = dpr.data();
  j.dnormal_drot = dnr.data();
  j.albedo_rows = arows.data();
  j.layout = NormalEquationsLayout(in);
  const int P = j.layout.total;
  ASSERT_EQ(gpu.num_params, P);
  std::vector<double> jtj(P * P, 0.0), jtr(P, 0.0);
  std::vector<float> rows(3 * P);
  double cost = 0.0;
  int num_pixels = 0;
  math::AccumulateNormalEquationsReference(j, tri.data(), kWidth, kHeight, observed.data(),
                                           weights.data(), in.loss, in.loss_scale, rows.data(),
                                           jtj.data(), jtr.data(), &cost, &num_pixels);
  ASSERT_GT(num_pixels, 1000);
  EXPECT_EQ(gpu.num_pixels, num_pixels);
  EXPECT_NEAR(gpu.cost, cost, 1e-6 * cost);
  double jtj_max = 0.0, jtr_max = 0.0;
  for (double v : jtj) jtj_max = std::max(jtj_max, std::fabs(v));
  for (double v : jtr) jtr_max = std::max(jtr_max, std::fabs(v));
  ASSERT_GT(jtj_max, 0.0);
  for (int a = 0; a < P; ++a) {
    EXPECT_NEAR(gpu.jtr[a], jtr[a], kNormalEquationsRelTolerance * jtr_max) << "column " << a;
    for (int b = 0; b < P; ++b) {
      ASSERT_NEAR(gpu.jtj[a * P + b], jtj[a * P + b], kNormalEquationsRelTolerance * jtj_max)
          << "entry " << a << ", " << b;
    }
  }
}

}  // namespace
}  // namespace morphfit::cuda
