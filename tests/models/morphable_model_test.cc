// MorphableModel evaluation and validation.
#include "morphfit/models/morphable_model.h"

#include <gtest/gtest.h>

#include "morphfit/models/random_model.h"

namespace morphfit::models {
namespace {

MorphableModel SmallModel() {
  RandomModelOptions o;
  o.num_vertices = 400;
  o.num_identity = 6;
  o.num_expression = 4;
  o.num_albedo = 5;
  return MakeRandomModel(o);
}

TEST(MorphableModelTest, RandomModelIsValid) {
  EXPECT_TRUE(SmallModel().Validate("small").ok());
}

TEST(MorphableModelTest, EvaluateShapeMatchesExplicitSum) {
  const MorphableModel m = SmallModel();
  Eigen::VectorXf alpha = Eigen::VectorXf::LinSpaced(6, -1.0f, 1.5f);
  Eigen::VectorXf beta = Eigen::VectorXf::LinSpaced(4, 0.5f, -2.0f);
  Eigen::VectorXf v;
  m.EvaluateShape(alpha, beta, &v);
  for (int r = 0; r < 3 * m.num_vertices(); r += 37) {
    double expected = m.shape_mean[r];
    for (int k = 0; k < 6; ++k) expected += double(m.identity.basis(r, k)) * alpha[k];
    for (int k = 0; k < 4; ++k) expected += double(m.expression.basis(r, k)) * beta[k];
    EXPECT_NEAR(v[r], expected, 1e-3) << "row " << r;
  }
}

TEST(MorphableModelTest, ShortCoefficientVectorsCountAsZeros) {
  const MorphableModel m = SmallModel();
  Eigen::VectorXf full = Eigen::VectorXf::Zero(6), beta0 = Eigen::VectorXf::Zero(4);
  full[0] = 1.0f;
  full[1] = -2.0f;
  Eigen::VectorXf short_alpha = full.head(2), a, b;
  m.EvaluateShape(full, beta0, &a);
  m.EvaluateShape(short_alpha, Eigen::VectorXf(), &b);
  EXPECT_TRUE(a.isApprox(b, 1e-6f));
}

TEST(MorphableModelTest, SubsetEqualsRowsOfFullEvaluation) {
  const MorphableModel m = SmallModel();
  const VertexSubset subset = m.MakeSubset(m.landmarks);
  Eigen::VectorXf alpha = Eigen::VectorXf::Constant(6, 0.7f), beta = Eigen::VectorXf::Constant(4, -0.3f);
  Eigen::VectorXf full, part;
  m.EvaluateShape(alpha, beta, &full);
  subset.Evaluate(alpha, beta, &part);
  ASSERT_EQ(part.size(), 3 * kNumLandmarks);
  for (int i = 0; i < kNumLandmarks; ++i) {
    for (int c = 0; c < 3; ++c) {
      EXPECT_NEAR(part[3 * i + c], full[3 * m.landmarks[i] + c], 1e-4) << i;
    }
  }
}

TEST(MorphableModelTest, AlbedoEvaluation) {
  const MorphableModel m = SmallModel();
  Eigen::VectorXf colors;
  m.EvaluateAlbedo(Eigen::VectorXf::Zero(5), &colors);
  EXPECT_TRUE(colors.isApprox(m.albedo_mean));
  m.EvaluateAlbedo(Eigen::VectorXf::Unit(5, 2), &colors);
  EXPECT_TRUE((colors - m.albedo_mean).isApprox(m.albedo.basis.col(2)));
}

TEST(MorphableModelTest, ValidateReportsProblems) {
  MorphableModel m = SmallModel();
  m.triangles(1, 10) = m.num_vertices();
  Status s = m.Validate("bad.h5");
  EXPECT_EQ(s.code(), StatusCode::kOutOfRange);
  EXPECT_NE(s.message().find("bad.h5"), std::string::npos);
  EXPECT_NE(s.message().find("triangle 10"), std::string::npos);

  m = SmallModel();
  m.identity.basis(5, 2) = std::numeric_limits<float>::quiet_NaN();
  s = m.Validate("nan.h5");
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("identity"), std::string::npos);

  m = SmallModel();
  m.landmarks.pop_back();
  s = m.Validate("lm.h5");
  EXPECT_NE(s.message().find("67 landmarks"), std::string::npos);

  m = SmallModel();
  m.albedo_mean.conservativeResize(10);
  EXPECT_FALSE(m.Validate("albedo.h5").ok());

  m = SmallModel();
  m.expression_kind = ExpressionKind::kNone;
  EXPECT_FALSE(m.Validate("kind.h5").ok());
}

TEST(MorphableModelTest, BoundingBox) {
  Eigen::VectorXf v(6);
  v << 1, 2, 3, -4, 5, 0;
  const auto box = BoundingBox(v);
  EXPECT_EQ(box[0], -4);
  EXPECT_EQ(box[1], 2);
  EXPECT_EQ(box[2], 0);
  EXPECT_EQ(box[3], 1);
  EXPECT_EQ(box[4], 5);
  EXPECT_EQ(box[5], 3);
}

TEST(MorphableModelTest, TruncateKeepsLeadingModes) {
  MorphableModel m = SmallModel();
  const Eigen::VectorXf col0 = m.identity.basis.col(0);
  m.identity.Truncate(2);
  EXPECT_EQ(m.num_identity(), 2);
  EXPECT_TRUE(m.identity.basis.col(0).isApprox(col0));
  EXPECT_TRUE(m.Validate("t").ok());
}

}  // namespace
}  // namespace morphfit::models
