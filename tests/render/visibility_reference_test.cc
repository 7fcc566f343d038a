// render::RasterizeVisibility against the serial reference (triangle ids, depths, barycentrics)
// on a turned random face (dense mesh: mostly 1-4 pixel triangles, a partial last triangle
// group), on random soups of large and of small triangles with culled, NaN and out-of-band
// vertices, and on grids whose edges run through pixel centres (coverage there rests on the
// top-left rule alone), with 1, 2 and 3 threads, pinhole and weak perspective; and render::ShadeVisibility against the per-pixel
// reference on the random face (a partial last shading segment).
#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "morphfit/core/face_params.h"
#include "morphfit/math/render_pixel.h"
#include "morphfit/math/visibility.h"
#include "morphfit/models/random_model.h"
#include "morphfit/render/renderer.h"
#include "morphfit/render/visibility.h"
#include "shading_reference_check.h"

namespace morphfit::render {
namespace {

struct Mesh {
  std::vector<float> pixels, depths;
  std::vector<int32_t> triangles;
  int width = 0, height = 0;
  int num_vertices() const { return static_cast<int>(depths.size()); }
  int num_triangles() const { return static_cast<int>(triangles.size() / 3); }
};

constexpr int kFaceWidth = 97, kFaceHeight = 83;

// A 7,001-vertex random model (odd counts: the last triangle block is a partial vector).
const models::MorphableModel& RandomModel() {
  static const models::MorphableModel model = [] {
    models::RandomModelOptions o;
    o.num_vertices = 7001;
    o.num_identity = o.num_expression = o.num_albedo = 4;
    return models::MakeRandomModel(o);
  }();
  return model;
}

// The random model turned so that it occludes itself, in 97 x 83 pixels (8,051 pixels: the
// last shading segment is partial), with random albedo and lighting.
FaceGeometry<float> TurnedRandomFaceGeometry() {
  const models::MorphableModel& m = RandomModel();
  const auto box = models::BoundingBox(m.shape_mean);
  const double focal = 2.0 * kFaceWidth;
  const double distance = box[5] + 1.2 * focal * (box[3] - box[0]) / kFaceWidth;
  FaceParams p = FaceParams::Frontal(m.num_identity(), m.num_expression(), m.num_albedo(),
                                     kFaceWidth, kFaceHeight, focal, distance);
  p.translation.x() = -0.5 * (box[0] + box[3]);
  p.translation.y() = 0.5 * (box[1] + box[4]);
  p.rotation = Eigen::Vector3d(0.3, 0.6, 0.1) + p.rotation;
  std::mt19937 gen(37);
  std::normal_distribution<double> n(0.0, 0.3);
  for (int k = 0; k < p.albedo.size(); ++k) p.albedo[k] = n(gen);
  for (int k = 0; k < kNumLighting; ++k) p.lighting[k] += n(gen);
  ThreadPool pool(1);
  return ComputeGeometry<float>(m, p, &pool).value();
}

Mesh TurnedRandomFace() {
  const models::MorphableModel& m = RandomModel();
  const FaceGeometry<float> g = TurnedRandomFaceGeometry();
  Mesh mesh;
  mesh.width = kFaceWidth;
  mesh.height = kFaceHeight;
  mesh.pixels = g.pixels_float;
  mesh.depths = g.depths_float;
  mesh.triangles.assign(m.triangles.data(), m.triangles.data() + m.triangles.size());
  return mesh;
}

// Small random triangles around a 41 x 37 image; some vertices behind the near plane, NaN or
// beyond the guard band, and half of them on the half-pixel grid, so that many pixel centres
// lie exactly on edges and corners (the top-left rule decides them).
Mesh RandomSoup() {
  std::mt19937 gen(29);
  std::uniform_real_distribution<float> pos(-20.0f, 60.0f), depth(-5.0f, 50.0f);
  Mesh mesh;
  mesh.width = 41;
  mesh.height = 37;
  const int nv = 2001, nt = 3001;
  for (int v = 0; v < nv; ++v) {
    for (int k = 0; k < 2; ++k) {
      const float u = pos(gen);
      mesh.pixels.push_back(v % 2 == 0 ? std::round(2.0f * u) / 2.0f : u);
    }
    mesh.depths.push_back(depth(gen));
  }
  mesh.pixels[10] = std::numeric_limits<float>::quiet_NaN();
  mesh.pixels[21] = 3.0e6f;
  mesh.pixels[30] = -2.0e6f;
  std::uniform_int_distribution<int> id(0, nv - 1);
  for (int f = 0; f < nt; ++f) {
    const int a = id(gen);
    mesh.triangles.push_back(f < 40 ? 5 + f % 11 : a);
    mesh.triangles.push_back((a + 1 + id(gen) % 3) % nv);
    mesh.triangles.push_back((a + 4 + id(gen) % 3) % nv);
  }
  return mesh;
}

// A grid of quads with corners on whole pixels, `spacing` px apart, alternating diagonals:
// every edge runs through pixel centres, so coverage there rests on the top-left rule alone.
// Spacing 2: boxes of 3 x 3 centres (the rasterizer's general walk); spacing 1: boxes of 2 x 2
// centres with short sides (its vectorised small-triangle path).
Mesh IntegerGrid(int spacing) {
  Mesh mesh;
  mesh.width = 40;
  mesh.height = 35;
  const int nx = 44 / spacing, ny = 38 / spacing;
  std::mt19937 gen(31);
  std::uniform_real_distribution<float> depth(20.0f, 21.0f);
  for (int j = 0; j < ny; ++j) {
    for (int i = 0; i < nx; ++i) {
      mesh.pixels.push_back(static_cast<float>(spacing * i - 1));
      mesh.pixels.push_back(static_cast<float>(spacing * j - 1));
      mesh.depths.push_back(depth(gen));
    }
  }
  for (int j = 0; j + 1 < ny; ++j) {
    for (int i = 0; i + 1 < nx; ++i) {
      const int v = j * nx + i;
      if ((i + j) % 2 == 0) {  // front-facing (positive area) with y down
        mesh.triangles.insert(mesh.triangles.end(), {v, v + nx, v + 1});
        mesh.triangles.insert(mesh.triangles.end(), {v + 1, v + nx, v + nx + 1});
      } else {
        mesh.triangles.insert(mesh.triangles.end(), {v, v + nx, v + nx + 1});
        mesh.triangles.insert(mesh.triangles.end(), {v, v + nx + 1, v + 1});
      }
    }
  }
  return mesh;
}

// Many small triangles (sides up to 3 px, and some up to 18 px: across the 16 px limit of the
// rasterizer's int32 path) over a 29 x 23 image and 3 px beyond it (clipped boxes), corners on
// the quarter-pixel grid for most of them (centres on edges and corners), both orientations,
// NaN, near-plane and out-of-band vertices; 4,099 triangles, so the last group of 8 is partial.
Mesh SmallTriangleSoup() {
  std::mt19937 gen(43);
  std::uniform_real_distribution<float> pos(-3.0f, 32.0f), side(-3.0f, 3.0f),
      long_side(-18.0f, 18.0f), depth(0.5f, 30.0f);
  Mesh mesh;
  mesh.width = 29;
  mesh.height = 23;
  const int nt = 4099;
  for (int f = 0; f < nt; ++f) {
    const float u0 = pos(gen), v0 = pos(gen);
    const bool is_long = f % 17 == 0;
    for (int k = 0; k < 3; ++k) {
      float u = u0, v = v0;
      if (k > 0) {
        u += is_long ? long_side(gen) : side(gen);
        v += is_long ? long_side(gen) : side(gen);
      }
      if (f % 5 != 0) {  // quarter-pixel grid
        u = std::round(4.0f * u) / 4.0f;
        v = std::round(4.0f * v) / 4.0f;
      }
      mesh.triangles.push_back(mesh.num_vertices());
      mesh.pixels.push_back(u);
      mesh.pixels.push_back(v);
      mesh.depths.push_back(depth(gen));
    }
  }
  mesh.pixels[2 * 30] = std::numeric_limits<float>::quiet_NaN();
  mesh.pixels[2 * 61 + 1] = 3.0e6f;
  mesh.depths[92] = 0.5f;  // behind the near plane (z_near = 1)
  mesh.pixels[2 * 123] = -2.0e6f;
  return mesh;
}

void ExpectBufferEqualsReference(const Mesh& mesh, int min_covered) {
  ThreadPool one(1), two(2), three(3);
  for (ThreadPool* pool : {&one, &two, &three}) {
    for (bool perspective : {true, false}) {
      SCOPED_TRACE(testing::Message() << pool->num_threads() << " threads, perspective "
                                      << perspective);
      VisibilityBuffer vis;
      RasterizeVisibility(mesh.pixels.data(), mesh.depths.data(), mesh.num_vertices(),
                          mesh.triangles.data(), mesh.num_triangles(), mesh.width, mesh.height,
                          perspective, 1.0f, pool, &vis);
      const size_t np = static_cast<size_t>(mesh.width) * mesh.height;
      std::vector<int32_t> tri(np);
      std::vector<float> bary(3 * np), depth(np);
      math::RasterizeVisibilityReference(mesh.pixels.data(), mesh.depths.data(),
                                         mesh.triangles.data(), mesh.num_triangles(),
                                         mesh.width, mesh.height, perspective, 1.0f, tri.data(),
                                         bary.data(), depth.data());
      EXPECT_GT(vis.num_covered(), min_covered);
      EXPECT_EQ(tri, vis.triangle);
      EXPECT_EQ(depth, vis.depth);
      EXPECT_EQ(bary, vis.bary);
    }
  }
}

TEST(VisibilityReferenceTest, TurnedRandomFace) {
  ExpectBufferEqualsReference(TurnedRandomFace(), 2000);
}

TEST(VisibilityReferenceTest, RandomSoup) { ExpectBufferEqualsReference(RandomSoup(), 100); }

TEST(VisibilityReferenceTest, IntegerGridEdgesThroughPixelCentres) {
  ExpectBufferEqualsReference(IntegerGrid(2), 1200);
}

TEST(VisibilityReferenceTest, UnitIntegerGridEdgesThroughPixelCentres) {
  ExpectBufferEqualsReference(IntegerGrid(1), 1200);
}

TEST(VisibilityReferenceTest, SmallTriangleSoup) {
  ExpectBufferEqualsReference(SmallTriangleSoup(), 400);
}

// ShadeVisibility equals math::ShadeImageReference in every channel (outputs
// poisoned first: every entry must be written), specular on and off, pinhole and weak
// perspective, 1 and 2 threads.
TEST(VisibilityReferenceTest, ShadingOfTurnedRandomFaceEqualsPerPixelReference) {
  ExpectShadingEqualsReference(RandomModel(), TurnedRandomFaceGeometry(), kFaceWidth, kFaceHeight,
                               /*min_covered=*/2000, /*min_peak_specular=*/0.01f);
}

}  // namespace
}  // namespace morphfit::render
