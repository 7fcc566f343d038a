// Shapes and albedos evaluated for blocks of samples (SampleContext::EvaluateGeometry,
// src/synth/basis_block.h): a sample's values do not depend on the block it is in, its position
// there, the row split or the thread count, and they equal the model's own per-sample product
// (MorphableModel::EvaluateShape / EvaluateAlbedo, which the renderer reproduces bit for bit).
#include <vector>

#include <gtest/gtest.h>

#include "morphfit/core/face_params.h"
#include "morphfit/core/rng.h"
#include "morphfit/core/thread_pool.h"
#include "morphfit/synth/sample_render.h"
#include "synth/basis_block.h"
#include "synth_test_util.h"

namespace morphfit::synth {
namespace {

#if defined(__FMA__)
constexpr bool kFmaBuild = true;
#else
constexpr bool kFmaBuild = false;
#endif

std::vector<FaceParams> RandomParams(int count) {
  const models::MorphableModel& m = Model();
  Rng rng(17);
  std::vector<FaceParams> out;
  for (int i = 0; i < count; ++i) {
    FaceParams p = FaceParams::Frontal(m.num_identity(), m.num_expression(), m.num_albedo(), 64,
                                       64, 300, 1000);
    for (int k = 0; k < p.identity.size(); ++k) p.identity[k] = rng.Normal(0.0, 1.0);
    for (int k = 0; k < p.expression.size(); ++k) p.expression[k] = rng.Normal(0.0, 1.0);
    for (int k = 0; k < p.albedo.size(); ++k) p.albedo[k] = rng.Normal(0.0, 1.0);
    out.push_back(p);
  }
  return out;
}

TEST(BasisBlockTest, SampleValuesDoNotDependOnTheBlockOrThreads) {
  const SampleContext context(Model());
  const std::vector<FaceParams> params = RandomParams(11);  // groups of 4 and a remainder
  std::vector<const FaceParams*> all;
  for (const FaceParams& p : params) all.push_back(&p);
  GeometryBlock block, threaded;
  context.EvaluateGeometry(all, nullptr, &block);
  ThreadPool three(3);
  context.EvaluateGeometry(all, &three, &threaded);
  ASSERT_EQ(block.count(), 11);
  EXPECT_TRUE(block.shape == threaded.shape);
  EXPECT_TRUE(block.albedo == threaded.albedo);
  // Alone, and at another position in a block of other samples.
  for (int j = 0; j < 11; ++j) {
    GeometryBlock alone, moved;
    context.EvaluateGeometry({&params[j]}, nullptr, &alone);
    context.EvaluateGeometry({&params[(j + 1) % 11], &params[(j + 2) % 11], &params[j]}, nullptr,
                             &moved);
    EXPECT_TRUE(alone.shape.col(0) == block.shape.col(j)) << "sample " << j;
    EXPECT_TRUE(alone.albedo.col(0) == block.albedo.col(j)) << "sample " << j;
    EXPECT_TRUE(moved.shape.col(2) == block.shape.col(j)) << "sample " << j;
    EXPECT_TRUE(moved.albedo.col(2) == block.albedo.col(j)) << "sample " << j;
  }
}

TEST(BasisBlockTest, EqualsTheModelsPerSampleProduct) {
  const models::MorphableModel& m = Model();
  const SampleContext context(m);
  const int count = 200;
  const std::vector<FaceParams> params = RandomParams(count);
  std::vector<const FaceParams*> all;
  for (const FaceParams& p : params) all.push_back(&p);
  GeometryBlock block;
  context.EvaluateGeometry(all, nullptr, &block);
  for (int j = 0; j < count; ++j) {
    Eigen::VectorXf shape, albedo;
    m.EvaluateShape(params[j].identity.cast<float>(), params[j].expression.cast<float>(), &shape);
    m.EvaluateAlbedo(params[j].albedo.cast<float>(), &albedo);
    // With FMA (the Release flags): the same float operations in the same order (an FMA chain
    // per basis block added to the mean) as Eigen's vector paths, so equal bit for bit there
    // (subnormals are flushed in the block product, yet no value here differs). Eigen's last
    // rows % 4 rows go through its scalar loop, which rounds each product on its own: 1-2 ulp
    // apart there (seen on the last 2 of the 31,806 rows), as in builds without FMA.
    const Eigen::Index exact_rows = kFmaBuild ? shape.size() / 4 * 4 : 0;
    EXPECT_TRUE(shape.head(exact_rows) == block.shape.col(j).head(exact_rows)) << "sample " << j;
    EXPECT_TRUE(albedo.head(exact_rows) == block.albedo.col(j).head(exact_rows)) << "sample " << j;
    EXPECT_LE((shape - block.shape.col(j)).cwiseAbs().maxCoeff(),
              1e-6f * shape.cwiseAbs().maxCoeff() + (kFmaBuild ? 0.0f : 1e-3f))
        << "sample " << j;
    EXPECT_LE((albedo - block.albedo.col(j)).cwiseAbs().maxCoeff(), kFmaBuild ? 1e-6f : 1e-4f)
        << "sample " << j;
  }
}

TEST(BasisBlockTest, RowRangesTileTheResult) {
  // Any split of the rows (panels of 64 and the scalar remainder) gives the same values.
  const models::MorphableModel& m = Model();
  Eigen::MatrixXf coeffs = Eigen::MatrixXf::Random(m.num_identity(), 6);
  const std::vector<internal::BasisTerm> terms = {{&m.identity.basis, &coeffs}};
  const int64_t rows = m.shape_mean.size();
  Eigen::MatrixXf whole(rows, 6), pieces(rows, 6);
  internal::EvaluateBasisRows(m.shape_mean, terms, 0, rows, &whole);
  for (int64_t r = 0; r < rows; r += 1000 + 7) {
    internal::EvaluateBasisRows(m.shape_mean, terms, r, std::min<int64_t>(rows, r + 1007), &pieces);
  }
  EXPECT_TRUE(whole == pieces);
  // And the scalar remainder path agrees with the vector panels.
  Eigen::MatrixXf rows_one_by_one(rows, 6);
  for (int64_t r = 0; r < 640; ++r) {
    internal::EvaluateBasisRows(m.shape_mean, terms, r, r + 1, &rows_one_by_one);
  }
  EXPECT_TRUE(rows_one_by_one.topRows(640) == whole.topRows(640));
}

}  // namespace
}  // namespace morphfit::synth
