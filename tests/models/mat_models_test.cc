// MAT-era loaders: round trips through the fixture writers for every MAT version, every vertex
// set and both expression bases; the real specimens as side files; bad input.
#include <cmath>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "../core/test_dir.h"
#include "mat_fixture.h"
#include "models/mat_file.h"

namespace morphfit::models {
namespace {

namespace fs = std::filesystem;

constexpr float kTol = 1e-4f;  // float32 through unit/scale round trips

::testing::AssertionResult Near(const Eigen::MatrixXf& a, const Eigen::MatrixXf& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) {
    return ::testing::AssertionFailure() << a.rows() << "x" << a.cols() << " vs " << b.rows()
                                         << "x" << b.cols();
  }
  const float scale = std::max(1.0f, b.cwiseAbs().maxCoeff());
  const float err = (a - b).cwiseAbs().maxCoeff();
  if (err <= kTol * scale) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "max abs error " << err << " (scale " << scale << ")";
}

class MatModelsTest : public ::testing::TestWithParam<int> {
 protected:
  MatWriteOptions Options() const {
    MatWriteOptions o;
    o.version = GetParam() == 2 ? MatVersion::kV73 : MatVersion::kV5;
    o.compress = GetParam() == 1;
    return o;
  }
};

TEST_P(MatModelsTest, Bfm2009FullRoundTrip) {
  TestDir dir;
  const BfmFixture f = MakeBfmFixture();
  const std::string path = dir.Path("01_MorphableModel.mat");
  ASSERT_TRUE(WriteBfm2009Mat(f.full, path, Options()).ok());
  auto loaded = LoadModel(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const MorphableModel& m = *loaded;
  EXPECT_EQ(m.num_vertices(), f.full.num_vertices());
  EXPECT_TRUE(Near(m.shape_mean, f.full.shape_mean));
  EXPECT_TRUE(Near(m.identity.basis, f.full.identity.basis));
  EXPECT_TRUE(Near(m.identity.stddev, f.full.identity.stddev));
  EXPECT_TRUE(Near(m.albedo_mean, f.full.albedo_mean));
  EXPECT_TRUE(Near(m.albedo.basis, f.full.albedo.basis));
  EXPECT_EQ(m.triangles, f.full.triangles);  // written inward, flipped back outward
  EXPECT_EQ(m.num_expression(), 0);
  EXPECT_NE(m.units_note.find("micrometres"), std::string::npos);
}

TEST_P(MatModelsTest, Bfm2009FrontWithExpPcaAndFacemodelInfo) {
  TestDir dir;
  const BfmFixture f = MakeBfmFixture();
  WriteBfmFixture(f, dir.path(), Options());
  ModelLoadOptions o;
  o.expression_path = dir.Path("Exp_Pca.bin");  // vertex set auto -> front
  auto loaded = LoadModel(dir.Path("01_MorphableModel.mat"), o);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const MorphableModel& m = *loaded;
  const MorphableModel& want = f.front_model;
  EXPECT_EQ(m.num_vertices(), want.num_vertices());
  EXPECT_TRUE(Near(m.shape_mean, want.shape_mean));  // expMU is not added (as Deep3D)
  EXPECT_TRUE(Near(m.identity.basis, want.identity.basis));
  EXPECT_TRUE(Near(m.expression.basis, want.expression.basis));
  EXPECT_TRUE(Near(m.expression.stddev, f.expression.stddev));
  EXPECT_TRUE(Near(m.albedo.basis, want.albedo.basis));
  EXPECT_EQ(m.expression_kind, ExpressionKind::kPca);
  EXPECT_EQ(m.triangles, want.triangles);  // facemodel_info tri, already outward
  EXPECT_EQ(m.landmarks, want.landmarks);
  EXPECT_EQ(m.face_mask, want.face_mask);
  EXPECT_EQ(m.skin_mask, want.skin_mask);

  // The same model through Deep3DFaceRecon's derived file (dm, pre-scaled bases).
  auto deep3d = LoadModel(dir.Path("BFM_model_front.mat"));
  ASSERT_TRUE(deep3d.ok()) << deep3d.status();
  EXPECT_TRUE(Near(deep3d->shape_mean, m.shape_mean));
  EXPECT_TRUE(Near(deep3d->identity.basis, m.identity.basis));
  EXPECT_TRUE(Near(deep3d->expression.basis, m.expression.basis));
  EXPECT_TRUE(Near(deep3d->albedo.basis, m.albedo.basis));
  EXPECT_TRUE(Near(deep3d->albedo_mean, m.albedo_mean));
  EXPECT_EQ(deep3d->triangles, m.triangles);
  EXPECT_EQ(deep3d->landmarks, m.landmarks);
  EXPECT_EQ(deep3d->face_mask, m.face_mask);
  EXPECT_EQ(deep3d->skin_mask, m.skin_mask);
}

TEST_P(MatModelsTest, Bfm2009TrimmedAndFullSetsMapLandmarks) {
  TestDir dir;
  const BfmFixture f = MakeBfmFixture();
  WriteBfmFixture(f, dir.path(), Options());
  ModelLoadOptions o;
  o.expression_path = dir.Path("Exp_Pca.bin");
  o.vertex_set = VertexSet::kTrimmed;
  auto trimmed = LoadBfm2009Model(dir.Path("01_MorphableModel.mat"), o);
  ASSERT_TRUE(trimmed.ok()) << trimmed.status();
  EXPECT_EQ(trimmed->num_vertices(), static_cast<int>(f.trim.size()));
  EXPECT_TRUE(Near(trimmed->expression.basis, f.expression.basis));
  EXPECT_TRUE(Near(trimmed->shape_mean, Rows(f.full.shape_mean, f.trim).col(0)));
  EXPECT_EQ(trimmed->triangles, Restrict(f.full.triangles, f.trim, f.full.num_vertices()));
  for (int i = 0; i < kNumLandmarks; ++i) {  // front landmark -> idx -> trimmed position
    EXPECT_EQ(trimmed->landmarks[i], f.front[f.front_model.landmarks[i]]);
  }
  auto full = LoadBfm2009Model(dir.Path("01_MorphableModel.mat"));  // no expression: full set
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_EQ(full->num_vertices(), f.full.num_vertices());
  for (int i = 0; i < kNumLandmarks; ++i) {  // -> trimIndex -> full id
    EXPECT_EQ(full->landmarks[i], f.trim[f.front[f.front_model.landmarks[i]]]);
  }
}

TEST_P(MatModelsTest, Bfm2009With3ddfaExpressionAndModelInfo) {
  TestDir dir;
  const BfmFixture f = MakeBfmFixture();
  WriteBfmFixture(f, dir.path(), Options());
  // Only the model, Model_Expression.mat and model_info.mat (trimIndex and keypoints) together.
  const fs::path sub = fs::path(dir.path()) / "ddfa";
  fs::create_directories(sub);
  for (const char* name : {"01_MorphableModel.mat", "Model_Expression.mat", "model_info.mat"}) {
    fs::copy_file(dir.Path(name), sub / name);
  }
  ModelLoadOptions o;
  o.expression_path = (sub / "Model_Expression.mat").string();
  o.vertex_set = VertexSet::kTrimmed;
  o.max_expression = 3;
  auto m = LoadModel((sub / "01_MorphableModel.mat").string(), o);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->num_expression(), 3);
  EXPECT_TRUE(Near(m->expression.basis, f.expression.basis.leftCols(3)));
  // 3DDFA adds mu_exp to the mean (u = u_shp + u_exp).
  EXPECT_TRUE(Near(m->shape_mean, Rows(f.full.shape_mean, f.trim).col(0) + f.expression_mean));
  EXPECT_EQ(m->landmarks, f.ddfa_keypoints);
  // The front set needs BFM_front_idx.mat, which is not there.
  o.vertex_set = VertexSet::kFront;
  auto front = LoadModel((sub / "01_MorphableModel.mat").string(), o);
  ASSERT_FALSE(front.ok());
  EXPECT_EQ(front.status().code(), StatusCode::kNotFound);
  EXPECT_NE(front.status().message().find("BFM_front_idx.mat"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Versions, MatModelsTest, ::testing::Values(0, 1, 2),
                         [](const ::testing::TestParamInfo<int>& p) {
                           return std::string(p.param == 0   ? "v5"
                                              : p.param == 1 ? "v7_compressed"
                                                             : "v73");
                         });

TEST(MatModelsOptionsTest, ModeCountsAndErrors) {
  TestDir dir;
  const BfmFixture f = MakeBfmFixture();
  WriteBfmFixture(f, dir.path(), {});
  ModelLoadOptions o;
  o.max_identity = 2;
  o.max_albedo = 0;
  auto m = LoadModel(dir.Path("01_MorphableModel.mat"), o);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->num_identity(), 2);
  EXPECT_EQ(m->num_albedo(), 0);
  o = {};
  o.expression_path = dir.Path("Exp_Pca.bin");
  o.vertex_set = VertexSet::kFull;
  auto full = LoadModel(dir.Path("01_MorphableModel.mat"), o);
  EXPECT_EQ(full.status().code(), StatusCode::kInvalidArgument);
  auto deep3d = LoadModel(dir.Path("BFM_model_front.mat"), o);
  EXPECT_NE(deep3d.status().message().find("exBase"), std::string::npos) << deep3d.status();
  auto not_model = LoadModel(dir.Path("Model_Expression.mat"));
  EXPECT_NE(not_model.status().message().find("not a model"), std::string::npos);
  auto index_file = LoadModel(dir.Path("BFM_exp_idx.mat"));
  EXPECT_NE(index_file.status().message().find("not a model"), std::string::npos);
  auto bin = LoadModel(dir.Path("Exp_Pca.bin"));
  EXPECT_NE(bin.status().message().find("expression"), std::string::npos);
  EXPECT_EQ(ParseVertexSet("front").value(), VertexSet::kFront);
  EXPECT_FALSE(ParseVertexSet("mouth").ok());
  EXPECT_EQ(DetectMatLayout(dir.Path("model_info.mat")).value(), MatLayout::kIndexFile);
}

// The real index files and facemodel_info.mat from ../shared as side files of a BFM-size
// fixture written in the exact BFM 2009 geometry (53490 vertices, a mean-only model).
TEST(MatModelsSpecimenTest, RealIndexFilesDriveTheFrontSet) {
  const std::string specimens = std::string(MORPHFIT_SHARED_DIR) + "/specimens/deep3d/";
  if (!fs::exists(specimens + "BFM_front_idx.mat")) GTEST_SKIP() << specimens << " is absent";
  TestDir dir;
  RandomModelOptions o;
  o.num_vertices = 53490;
  o.num_identity = 2;
  o.num_expression = 0;
  o.num_albedo = 1;
  MorphableModel full = MakeRandomModel(o);
  full.landmarks.clear();
  ASSERT_TRUE(WriteBfm2009Mat(full, dir.Path("01_MorphableModel.mat")).ok());
  for (const char* name : {"BFM_exp_idx.mat", "BFM_front_idx.mat", "facemodel_info.mat"}) {
    fs::copy_file(specimens + name, dir.Path(name));
  }
  LinearBasis exp;
  exp.basis = Eigen::MatrixXf::Random(3 * 53215, 2);
  exp.stddev = exp.basis.colwise().norm().transpose();
  ASSERT_TRUE(WriteGuoExpression(exp, Eigen::VectorXf::Zero(3 * 53215), dir.Path("Exp_Pca.bin"),
                                 dir.Path("std_exp.txt")).ok());
  ModelLoadOptions lo;
  lo.expression_path = dir.Path("Exp_Pca.bin");
  auto m = LoadModel(dir.Path("01_MorphableModel.mat"), lo);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->num_vertices(), 35709);
  EXPECT_EQ(m->num_triangles(), 70789);
  EXPECT_EQ(std::count(m->skin_mask.begin(), m->skin_mask.end(), 1), 9642);
  EXPECT_EQ(std::count(m->face_mask.begin(), m->face_mask.end(), 1), 27660);
  EXPECT_EQ(m->landmarks[0], 16645 - 1);
  // Trimmed set: the landmarks are the 3DDFA keypoints (FORMATS.md section 4).
  lo.vertex_set = VertexSet::kTrimmed;
  auto t = LoadModel(dir.Path("01_MorphableModel.mat"), lo);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->num_vertices(), 53215);
  EXPECT_EQ(t->landmarks[0], 21873);
  EXPECT_EQ(t->landmarks[67], 7629);
  // Full set: BFM 2009 0-based ids (FORMATS.md section 3).
  auto full_set = LoadModel(dir.Path("01_MorphableModel.mat"));
  ASSERT_TRUE(full_set.ok()) << full_set.status();
  EXPECT_EQ(full_set->landmarks[0], 22148);
  EXPECT_EQ(full_set->landmarks[67], 7722);
}

}  // namespace
}  // namespace morphfit::models
