// The CPU renderer: exact coverage on a fan and a grid, thread-count independence, a rendered
// sample face (saved under TempDir for looking at), bad input, and invariances.
#include "morphfit/render/renderer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "morphfit/math/visibility.h"
#include "morphfit/models/random_model.h"
#include "morphfit/models/sample_model.h"
#include "shading_reference_check.h"

namespace morphfit::render {
namespace {

const models::MorphableModel& Sample() {
  static const models::MorphableModel model = models::MakeSampleModel();
  return model;
}

FaceParams FrontalSample(int size) {
  const auto& m = Sample();
  // The sample face spans ~160 mm; focal 4 * size at 800 mm fills ~80% of the image.
  return FaceParams::Frontal(m.num_identity(), m.num_expression(), m.num_albedo(), size, size,
                             4.0 * size, 800.0);
}

// A regular grid of n x n quads (two triangles each, CCW seen from +z) in the model plane,
// spanning [-w/2, w/2]^2 mm; plus a fan around a centre vertex.
void CountCoverage(const std::vector<float>& vertices, const std::vector<int32_t>& tris,
                   int size, std::vector<int>* hits) {
  const FaceParams p = FaceParams::Frontal(0, 0, 0, size, size, 500.0, 500.0);
  // Project by hand with the frontal pose: u = f x / z + c, v = -f y / z + c.
  const int n = static_cast<int>(vertices.size() / 3);
  std::vector<float> pixels(2 * n), depths(n);
  for (int i = 0; i < n; ++i) {
    const double z = 500.0 - vertices[3 * i + 2];
    pixels[2 * i] = static_cast<float>(500.0 * vertices[3 * i] / z + p.camera[1]);
    pixels[2 * i + 1] = static_cast<float>(-500.0 * vertices[3 * i + 1] / z + p.camera[2]);
    depths[i] = static_cast<float>(z);
  }
  hits->assign(size * size, 0);
  // One triangle at a time so double cover is visible (the z-buffer would hide it).
  for (size_t f = 0; f < tris.size() / 3; ++f) {
    VisibilityBuffer vis;
    RasterizeVisibility(pixels.data(), depths.data(), n, &tris[3 * f], 1, size, size, true, 1.0f,
                        nullptr, &vis);
    for (int i = 0; i < size * size; ++i) (*hits)[i] += vis.triangle[i] >= 0 ? 1 : 0;
  }
}

TEST(VisibilityTest, GridAndFanHaveNoCracksAndNoDoubleCover) {
  // Grid: 8 x 8 quads of 5 mm; at f/z = 1 px/mm the vertices land on integer pixel centres, so
  // many pixel centres lie exactly on shared edges and vertices.
  std::vector<float> v;
  std::vector<int32_t> t;
  const int n = 8;
  for (int j = 0; j <= n; ++j) {
    for (int i = 0; i <= n; ++i) {
      v.insert(v.end(), {5.0f * (i - n / 2), 5.0f * (j - n / 2), 0.0f});
    }
  }
  for (int j = 0; j < n; ++j) {
    for (int i = 0; i < n; ++i) {
      const int a = j * (n + 1) + i, b = a + 1, c = a + n + 2, d = a + n + 1;
      t.insert(t.end(), {a, b, c, a, c, d});
    }
  }
  std::vector<int> hits;
  CountCoverage(v, t, 64, &hits);
  int covered = 0;
  for (int h : hits) {
    EXPECT_LE(h, 1);
    covered += h;
  }
  EXPECT_EQ(covered, 40 * 40);  // half-open 40 x 40 px square

  // Fan: 7 triangles around a centre on a pixel centre, with odd angles.
  std::vector<float> fv = {0.0f, 0.0f, 0.0f};
  std::vector<int32_t> ft;
  const int spokes = 7;
  for (int k = 0; k < spokes; ++k) {
    const double a = 2 * M_PI * k / spokes + 0.1;
    fv.insert(fv.end(), {static_cast<float>(20 * std::cos(a)), static_cast<float>(20 * std::sin(a)),
                         0.0f});
  }
  for (int k = 0; k < spokes; ++k) ft.insert(ft.end(), {0, 1 + k, 1 + (k + 1) % spokes});
  CountCoverage(fv, ft, 64, &hits);
  for (int y = 0; y < 64; ++y) {
    for (int x = 0; x < 64; ++x) EXPECT_LE(hits[y * 64 + x], 1) << x << "," << y;
  }
  // The centre (on all 7 triangles' shared vertex) is covered once; its neighbours too.
  const int c = 32;  // (64 - 1) / 2 = 31.5 -> vertex at 31.5: use the pixels around it
  EXPECT_EQ(hits[31 * 64 + 31] + hits[31 * 64 + c] + hits[c * 64 + 31] + hits[c * 64 + c], 4);
}

// The serial reference of math/visibility.h (the CUDA tests' CPU twin) gives exactly the
// threaded buffer, so CUDA == reference implies CUDA == RasterizeVisibility.
// One thread and two (triangle ranges in private buffers, merged by (depth, id)) are checked,
// with a pinhole and a weak-perspective camera.
TEST(VisibilityTest, SerialReferenceEqualsThreadedBufferExactly) {
  FaceParams p = FrontalSample(131);
  p.rotation = Eigen::Vector3d(0.2, 0.5, 0.1) + p.rotation;  // a turned head: self-occlusion
  ThreadPool one(1), two(2);
  auto g = ComputeGeometry<float>(Sample(), p, &two);
  ASSERT_TRUE(g.ok());
  for (ThreadPool* pool : {&one, &two}) {
    for (bool perspective : {true, false}) {
      SCOPED_TRACE(testing::Message() << pool->num_threads() << " threads, perspective "
                                      << perspective);
      VisibilityBuffer threaded;
      RasterizeVisibility(g->pixels_float.data(), g->depths_float.data(),
                          Sample().num_vertices(), Sample().triangles.data(),
                          Sample().num_triangles(), 131, 131, perspective, 1.0f, pool, &threaded);
      const size_t np = 131 * 131;
      std::vector<int32_t> tri(np);
      std::vector<float> bary(3 * np), depth(np);
      math::RasterizeVisibilityReference(g->pixels_float.data(), g->depths_float.data(),
                                         Sample().triangles.data(), Sample().num_triangles(), 131,
                                         131, perspective, 1.0f, tri.data(), bary.data(),
                                         depth.data());
      ASSERT_GT(threaded.num_covered(), 1000);
      for (size_t i = 0; i < np; ++i) {
        ASSERT_EQ(tri[i], threaded.triangle[i]) << "pixel " << i;
        ASSERT_EQ(depth[i], threaded.depth[i]) << "pixel " << i;
        for (int k = 0; k < 3; ++k) ASSERT_EQ(bary[3 * i + k], threaded.bary[3 * i + k]);
      }
    }
  }
}

// Random triangles (many off-image, some behind the near plane, beyond the guard band or NaN)
// with 1, 2 and 3 threads against the serial reference.
TEST(VisibilityTest, RandomSoupWithCulledVerticesEqualsReferenceExactly) {
  std::mt19937 gen(17);
  std::uniform_real_distribution<float> pos(-20.0f, 60.0f), depth(-5.0f, 50.0f);
  const int nv = 3000, nt = 4000, w = 41, h = 37;
  std::vector<float> pixels(2 * nv), depths(nv);
  for (int v = 0; v < nv; ++v) {
    pixels[2 * v] = pos(gen);
    pixels[2 * v + 1] = pos(gen);
    depths[v] = depth(gen);
  }
  pixels[10] = std::numeric_limits<float>::quiet_NaN();
  pixels[21] = 3.0e6f;
  pixels[30] = -2.0e6f;
  std::vector<int32_t> tris(3 * nt);
  std::uniform_int_distribution<int> id(0, nv - 1);
  for (int f = 0; f < nt; ++f) {
    // Neighbouring ids, so that triangles are small.
    const int a = id(gen);
    tris[3 * f] = a;
    tris[3 * f + 1] = (a + 1 + id(gen) % 3) % nv;
    tris[3 * f + 2] = id(gen) % 7 == 0 ? 5 : (a + 4 + id(gen) % 3) % nv;
  }
  tris[0] = 5;  // the NaN / out-of-band vertices are used
  tris[1] = 10;
  tris[5] = 15;
  ThreadPool one(1), two(2), three(3);
  for (ThreadPool* pool : {&one, &two, &three}) {
    for (bool perspective : {true, false}) {
      SCOPED_TRACE(testing::Message() << pool->num_threads() << " threads, perspective "
                                      << perspective);
      VisibilityBuffer vis;
      RasterizeVisibility(pixels.data(), depths.data(), nv, tris.data(), nt, w, h, perspective,
                          1.0f, pool, &vis);
      std::vector<int32_t> tri(w * h);
      std::vector<float> bary(3 * w * h), dep(w * h);
      math::RasterizeVisibilityReference(pixels.data(), depths.data(), tris.data(), nt, w, h,
                                         perspective, 1.0f, tri.data(), bary.data(), dep.data());
      EXPECT_GT(vis.num_covered(), 100);
      EXPECT_EQ(tri, vis.triangle);
      EXPECT_EQ(dep, vis.depth);
      EXPECT_EQ(bary, vis.bary);
    }
  }
}

// A buffer reused for a smaller face: pixels covered last time and not now are background
// again (triangle -1, depth +inf, barycentrics 0), as in a fresh buffer; also when rasterizing
// with several threads, after an empty frame, and for a negative image size (empty buffer).
TEST(VisibilityTest, ReusedBufferHasNoStaleValues) {
  const int w = 16, h = 12;
  // Two triangles over the whole image (front-facing: positive area), then one small one.
  const std::vector<float> pixels = {-1.0f, -1.0f, 17.0f, -1.0f, -1.0f, 13.0f, 17.0f, 13.0f,
                                     3.0f,  3.0f,  7.5f,  3.2f,  3.1f,  8.0f};
  const std::vector<float> depths = {10.0f, 11.0f, 12.0f, 13.0f, 9.0f, 9.5f, 9.7f};
  const std::vector<int32_t> big = {0, 2, 1, 1, 2, 3};
  const std::vector<int32_t> small = {4, 6, 5};
  ThreadPool one(1), two(2);
  for (ThreadPool* pool : {&one, &two}) {
    SCOPED_TRACE(testing::Message() << pool->num_threads() << " threads");
    VisibilityBuffer vis;
    RasterizeVisibility(pixels.data(), depths.data(), 7, big.data(), 2, w, h, true, 1.0f, pool,
                        &vis);
    ASSERT_EQ(vis.num_covered(), w * h);
    RasterizeVisibility(pixels.data(), depths.data(), 7, small.data(), 1, w, h, true, 1.0f, pool,
                        &vis);
    std::vector<int32_t> tri(w * h);
    std::vector<float> bary(3 * w * h), dep(w * h);
    math::RasterizeVisibilityReference(pixels.data(), depths.data(), small.data(), 1, w, h, true,
                                       1.0f, tri.data(), bary.data(), dep.data());
    EXPECT_GT(vis.num_covered(), 5);
    EXPECT_LT(vis.num_covered(), w * h / 4);
    EXPECT_EQ(tri, vis.triangle);
    EXPECT_EQ(dep, vis.depth);
    EXPECT_EQ(bary, vis.bary);
    RasterizeVisibility(pixels.data(), depths.data(), 7, small.data(), 0, w, h, true, 1.0f, pool,
                        &vis);
    EXPECT_EQ(vis.num_covered(), 0);
    EXPECT_EQ(vis.bary, std::vector<float>(3 * w * h, 0.0f));
    // A negative size is an empty buffer, not a huge allocation.
    RasterizeVisibility(pixels.data(), depths.data(), 7, big.data(), 2, -3, h, true, 1.0f, pool,
                        &vis);
    EXPECT_TRUE(vis.triangle.empty());
    EXPECT_TRUE(vis.bary.empty());
  }
}

// Every triangle of a small grid twice (a shuffled copy after the originals) gives exactly
// equal depths: the lower id must win in every pixel, also when the copies fall into different
// threads' triangle ranges (merged by (depth, id)), as in the serial reference.
TEST(VisibilityTest, DuplicatedTrianglesKeepTheLowerIdWithAnyThreadCount) {
  const int n = 24, w = 40, h = 33;
  std::vector<float> pixels, depths;
  std::mt19937 gen(23);
  std::uniform_real_distribution<float> jitter(-0.3f, 0.3f), depth(20.0f, 30.0f);
  for (int j = 0; j < n; ++j) {
    for (int i = 0; i < n; ++i) {
      pixels.push_back(-1.0f + 1.8f * i + jitter(gen));
      pixels.push_back(-1.0f + 1.5f * j + jitter(gen));
      depths.push_back(depth(gen));
    }
  }
  std::vector<int32_t> grid;
  for (int j = 0; j + 1 < n; ++j) {
    for (int i = 0; i + 1 < n; ++i) {
      const int v = j * n + i;
      // Front-facing: positive area as math::SetupScreenTriangle measures it.
      grid.insert(grid.end(), {v, v + n, v + 1});
      grid.insert(grid.end(), {v + 1, v + n, v + n + 1});
    }
  }
  const int nt = static_cast<int>(grid.size()) / 3;
  std::vector<int> order(nt);
  for (int f = 0; f < nt; ++f) order[f] = f;
  std::shuffle(order.begin(), order.end(), gen);
  std::vector<int32_t> tris = grid;
  for (int f : order) tris.insert(tris.end(), grid.begin() + 3 * f, grid.begin() + 3 * f + 3);
  ThreadPool one(1), two(2), three(3);
  for (ThreadPool* pool : {&one, &two, &three}) {
    for (bool perspective : {true, false}) {
      SCOPED_TRACE(testing::Message() << pool->num_threads() << " threads, perspective "
                                      << perspective);
      VisibilityBuffer vis;
      RasterizeVisibility(pixels.data(), depths.data(), n * n, tris.data(), 2 * nt, w, h,
                          perspective, 1.0f, pool, &vis);
      std::vector<int32_t> tri(w * h);
      std::vector<float> bary(3 * w * h), dep(w * h);
      math::RasterizeVisibilityReference(pixels.data(), depths.data(), tris.data(), 2 * nt, w,
                                         h, perspective, 1.0f, tri.data(), bary.data(),
                                         dep.data());
      EXPECT_GT(vis.num_covered(), w * h / 2);
      for (int i = 0; i < w * h; ++i) ASSERT_LT(vis.triangle[i], nt) << "pixel " << i;
      EXPECT_EQ(tri, vis.triangle);
      EXPECT_EQ(dep, vis.depth);
      EXPECT_EQ(bary, vis.bary);
    }
  }
}

// The batched, vectorised shading of a whole buffer gives exactly the per-pixel reference's
// channels (the CUDA tests' CPU twin), with and without the specular term, pinhole and weak
// perspective barycentrics, on 1 and 2 threads.
TEST(RendererTest, ShadeVisibilityEqualsPerPixelReferenceExactly) {
  FaceParams p = FrontalSample(97);
  p.rotation = Eigen::Vector3d(0.1, -0.4, 0.05) + p.rotation;
  std::mt19937 gen(29);
  std::normal_distribution<double> n(0.0, 0.3);
  for (int k = 0; k < kNumLighting; ++k) p.lighting[k] += n(gen);
  ThreadPool two(2);
  auto g = ComputeGeometry<float>(Sample(), p, &two);
  ASSERT_TRUE(g.ok());
  ExpectShadingEqualsReference(Sample(), *g, 97, 97, /*min_covered=*/1000,
                               /*min_peak_specular=*/0.05f);
}

// The threaded basis product of ComputeGeometry<float> equals MorphableModel::EvaluateShape and
// EvaluateAlbedo bit for bit, with 1 and 2 threads: several row blocks, a ragged last block, and
// a block of >= 128 columns (Eigen's other GEMV column blocking).
TEST(RendererTest, ThreadedBasisProductEqualsModelEvaluationExactly) {
  models::RandomModelOptions o;
  o.num_vertices = 9001;
  o.num_identity = 130;
  o.num_expression = 7;
  o.num_albedo = 33;
  const models::MorphableModel m = models::MakeRandomModel(o);
  FaceParams p = FaceParams::Frontal(m.num_identity(), m.num_expression(), m.num_albedo(), 64, 64,
                                     100.0, 500.0);
  std::mt19937 gen(4);
  std::normal_distribution<double> n(0.0, 1.0);
  for (int k = 0; k < p.identity.size(); ++k) p.identity[k] = n(gen);
  for (int k = 0; k < p.expression.size(); ++k) p.expression[k] = n(gen);
  for (int k = 0; k < p.albedo.size(); ++k) p.albedo[k] = n(gen);
  Eigen::VectorXf v, a;
  m.EvaluateShape(p.identity.cast<float>(), p.expression.cast<float>(), &v);
  m.EvaluateAlbedo(p.albedo.cast<float>(), &a);
  ThreadPool one(1), two(2);
  for (ThreadPool* pool : {&one, &two}) {
    auto g = ComputeGeometry<float>(m, p, pool);
    ASSERT_TRUE(g.ok());
    ASSERT_EQ(g->vertices_model.size(), static_cast<size_t>(v.size()));
    for (int i = 0; i < v.size(); ++i) ASSERT_EQ(g->vertices_model[i], v[i]) << i;
    for (int i = 0; i < a.size(); ++i) ASSERT_EQ(g->albedo[i], a[i]) << i;
  }
}

// Every member of two geometries, compared bit for bit (pixels may be NaN behind a pinhole).
template <typename T>
void ExpectSameGeometryBits(const FaceGeometry<T>& a, const FaceGeometry<T>& b) {
  EXPECT_EQ(a.perspective, b.perspective);
  EXPECT_EQ(std::memcmp(a.camera, b.camera, sizeof(a.camera)), 0);
  EXPECT_EQ(std::memcmp(a.rotation, b.rotation, sizeof(a.rotation)), 0);
  EXPECT_EQ(std::memcmp(a.drotation, b.drotation, sizeof(a.drotation)), 0);
  EXPECT_EQ(std::memcmp(a.translation, b.translation, sizeof(a.translation)), 0);
  EXPECT_EQ(std::memcmp(a.lighting, b.lighting, sizeof(a.lighting)), 0);
  const auto same = [](const auto& x, const auto& y, const char* name) {
    ASSERT_EQ(x.size(), y.size()) << name;
    EXPECT_EQ(std::memcmp(x.data(), y.data(), x.size() * sizeof(x[0])), 0) << name;
  };
  same(a.vertices_model, b.vertices_model, "vertices_model");
  same(a.normals_model_raw, b.normals_model_raw, "normals_model_raw");
  same(a.points_camera, b.points_camera, "points_camera");
  same(a.normals_view, b.normals_view, "normals_view");
  same(a.pixels, b.pixels, "pixels");
  same(a.albedo, b.albedo, "albedo");
  same(a.pixels_float, b.pixels_float, "pixels_float");
  same(a.depths_float, b.depths_float, "depths_float");
}

// ComputeGeometry into a reused FaceGeometry gives exactly the fresh result, after a different
// face of a larger model (other sizes, weak perspective, other coefficients) and after a
// refused call, in float and double, on 1 and 2 threads.
template <typename T>
void CheckReusedGeometryEqualsFresh() {
  models::RandomModelOptions o;
  o.num_vertices = 12007;  // more than the sample face's 10,602
  const models::MorphableModel big = models::MakeRandomModel(o);
  FaceParams other = FaceParams::Frontal(big.num_identity(), big.num_expression(),
                                         big.num_albedo(), 64, 64, 100.0, 500.0);
  other.camera_type = CameraType::kWeakPerspective;
  other.identity.setConstant(0.7);
  other.rotation = Eigen::Vector3d(0.3, 0.2, -0.1);
  FaceParams p = FrontalSample(97);
  p.rotation = Eigen::Vector3d(0.1, -0.4, 0.05) + p.rotation;
  std::mt19937 gen(31);
  std::normal_distribution<double> n(0.0, 0.5);
  for (int k = 0; k < p.identity.size(); ++k) p.identity[k] = n(gen);
  for (int k = 0; k < p.expression.size(); ++k) p.expression[k] = n(gen);
  for (int k = 0; k < p.albedo.size(); ++k) p.albedo[k] = n(gen);
  for (int k = 0; k < kNumLighting; ++k) p.lighting[k] += n(gen);
  ThreadPool one(1), two(2);
  for (ThreadPool* pool : {static_cast<ThreadPool*>(nullptr), &one, &two}) {
    auto fresh = ComputeGeometry<T>(Sample(), p, pool);
    ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
    FaceGeometry<T> reused;
    ASSERT_TRUE(ComputeGeometry<T>(big, other, pool, &reused).ok());
    ASSERT_GT(reused.vertices_model.size(), fresh->vertices_model.size());
    ASSERT_TRUE(ComputeGeometry<T>(Sample(), p, pool, &reused).ok());
    ExpectSameGeometryBits(*fresh, reused);
    // A refused call (a non-finite translation) reports the error; the buffer then still
    // serves the next face exactly.
    FaceParams bad = p;
    bad.translation[0] = std::numeric_limits<double>::quiet_NaN();
    const Status refused = ComputeGeometry<T>(Sample(), bad, pool, &reused);
    EXPECT_FALSE(refused.ok());
    EXPECT_NE(refused.message().find("render parameters"), std::string::npos)
        << refused.message();
    ASSERT_TRUE(ComputeGeometry<T>(big, other, pool, &reused).ok());
    ASSERT_TRUE(ComputeGeometry<T>(Sample(), p, pool, &reused).ok());
    ExpectSameGeometryBits(*fresh, reused);
  }
}

TEST(RendererTest, GeometryIntoReusedBufferEqualsFreshExactly) {
  CheckReusedGeometryEqualsFresh<float>();
  CheckReusedGeometryEqualsFresh<double>();
}

TEST(RendererTest, SampleFaceLooksLikeAFaceAndIsThreadCountIndependent) {
  FaceParams p = FrontalSample(256);
  for (int c = 0; c < 3; ++c) {  // white light from the upper left, a little
    p.lighting[9 * c + 1] = -0.3;
    p.lighting[9 * c + 3] = 0.2;
  }
  RenderOptions options;
  options.specular_intensity = 0.1;
  options.background = Eigen::Vector3f(0.15f, 0.15f, 0.2f);
  ThreadPool one(1), two(2);
  auto a = Render(Sample(), p, options, &one);
  auto b = Render(Sample(), p, options, &two);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a.value().visibility.triangle, b.value().visibility.triangle);
  EXPECT_EQ(a.value().image, b.value().image);
  const RenderResult& r = a.value();
  const int covered = r.visibility.num_covered();
  EXPECT_GT(covered, 256 * 256 / 5);
  EXPECT_LT(covered, 256 * 256 * 9 / 10);
  // Frontal view: the centre pixel is face, its normal points at the viewer.
  const size_t centre = 128 * 256 + 128;
  EXPECT_EQ(r.mask[centre], 1);
  EXPECT_GT(r.normals[3 * centre + 2], 0.8f);
  // View frame: the cheek on the image right faces +x, the forehead +y.
  const size_t right = 128 * 256 + 128 + 70, top = (128 - 80) * 256 + 128;
  ASSERT_EQ(r.mask[right], 1);
  ASSERT_EQ(r.mask[top], 1);
  EXPECT_GT(r.normals[3 * right], 0.3f);
  EXPECT_GT(r.normals[3 * top + 1], 0.2f);
  // Frontal: every non-jaw landmark (17..67) is visible; jaw points sit on the silhouette.
  for (int k = models::kNumJawLandmarks; k < models::kNumLandmarks; ++k) {
    EXPECT_TRUE(r.landmark_visible[k]) << "landmark " << k;
  }
  cv::Mat img(r.height, r.width, CV_8UC3);
  for (int y = 0; y < r.height; ++y) {
    for (int x = 0; x < r.width; ++x) {
      for (int c = 0; c < 3; ++c) {
        const float v = r.image[3 * (y * r.width + x) + c];
        img.at<cv::Vec3b>(y, x)[2 - c] =
            static_cast<uint8_t>(std::lround(255.0f * std::min(1.0f, std::max(0.0f, v))));
      }
    }
  }
  for (int k = 0; k < r.landmarks.cols(); ++k) {
    cv::circle(img, cv::Point(std::lround(r.landmarks(0, k)), std::lround(r.landmarks(1, k))), 1,
               r.landmark_visible[k] ? cv::Scalar(0, 255, 0) : cv::Scalar(0, 0, 255), -1);
  }
  const std::string path = ::testing::TempDir() + "/render_sample_face.png";
  EXPECT_TRUE(cv::imwrite(path, img)) << path;
}

TEST(RendererTest, BadInputGivesErrorsOrEmptyResults) {
  FaceParams p = FrontalSample(64);
  p.identity.resize(3);
  EXPECT_FALSE(Render(Sample(), p, {}, nullptr).ok());
  p = FrontalSample(64);
  p.expression[0] = NAN;
  EXPECT_FALSE(Render(Sample(), p, {}, nullptr).ok());
  p = FrontalSample(64);
  p.translation.z() = -800.0;  // behind the camera: FaceParams::Validate refuses it
  auto behind = Render(Sample(), p, {}, nullptr);
  ASSERT_FALSE(behind.ok());
  EXPECT_NE(behind.status().ToString().find("translation z"), std::string::npos);
  p = FrontalSample(64);
  auto front = Render(Sample(), p, {}, nullptr);
  p.rotation.setZero();  // facing away: the skin is back-facing (only inner parts such as the
                         // eye backing cups face the camera)
  auto away = Render(Sample(), p, {}, nullptr);
  ASSERT_TRUE(away.ok());
  ASSERT_TRUE(front.ok());
  EXPECT_LT(away.value().visibility.num_covered(), front.value().visibility.num_covered() / 4);
  p = FrontalSample(64);
  p.translation.x() = 5000.0;  // far outside the image
  auto outside = Render(Sample(), p, {}, nullptr);
  ASSERT_TRUE(outside.ok());
  EXPECT_EQ(outside.value().visibility.num_covered(), 0);
  p.translation.x() = 0.0;
  p.translation.z() = 0.5;  // the camera inside the head: everything is culled by z_near
  EXPECT_TRUE(Render(Sample(), p, {}, nullptr).ok());
}

}  // namespace
}  // namespace morphfit::render
