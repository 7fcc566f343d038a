// Random morphable models for benchmarks and round-trip tests.
#include "morphfit/models/random_model.h"

#include <cmath>
#include <random>

#include <glog/logging.h>

namespace morphfit::models {

MorphableModel MakeRandomModel(const RandomModelOptions& o) {
  CHECK_GE(o.num_vertices, 4);
  // A cols x rows grid with cols*rows >= num_vertices; extra vertices stay unreferenced.
  const int cols = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(o.num_vertices))));
  const int rows = o.num_vertices / cols;
  CHECK_GE(rows, 2);
  MorphableModel m;
  m.name = "random";
  m.source = "generated";
  m.units_note = "generated in mm";
  const int n = o.num_vertices;
  m.shape_mean.resize(3 * n);
  const float spacing = 150.0f / cols;
  for (int i = 0; i < n; ++i) {
    const float x = (i % cols - 0.5f * cols) * spacing;
    const float y = (0.5f * rows - i / cols) * spacing;
    m.shape_mean.segment<3>(3 * i) << x, y, 80.0f - 0.004f * (x * x + y * y);
  }
  m.triangles.resize(3, 2 * (cols - 1) * (rows - 1));
  int t = 0;
  for (int r = 0; r + 1 < rows; ++r) {
    for (int c = 0; c + 1 < cols; ++c) {
      const int a = r * cols + c, b = a + 1, d = a + cols, e = d + 1;
      // Row index grows downward (y decreases), so (a, d, b) is counter-clockwise seen from +z.
      m.triangles.col(t++) << a, d, b;
      m.triangles.col(t++) << b, d, e;
    }
  }
  std::mt19937_64 gen(o.seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  auto block = [&](int k, float scale, LinearBasis* b) {
    b->basis.resize(3 * n, k);
    for (Eigen::Index i = 0; i < b->basis.size(); ++i) b->basis.data()[i] = normal(gen);
    b->stddev.resize(k);
    for (int j = 0; j < k; ++j) {
      b->basis.col(j).normalize();
      b->stddev[j] = scale / (1.0f + j);
      b->basis.col(j) *= b->stddev[j];
    }
  };
  block(o.num_identity, 200.0f, &m.identity);
  block(o.num_expression, 100.0f, &m.expression);
  m.expression_kind = o.num_expression > 0 ? ExpressionKind::kPca : ExpressionKind::kNone;
  m.albedo_mean = Eigen::VectorXf::Constant(3 * n, 0.6f);
  block(o.num_albedo, 5.0f, &m.albedo);
  m.landmarks.resize(kNumLandmarks);
  for (int i = 0; i < kNumLandmarks; ++i) m.landmarks[i] = (i * 7919) % n;
  return m;
}

}  // namespace morphfit::models
