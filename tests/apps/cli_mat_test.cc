// The morphfit program on MAT-era models, as a user would run it: fixture files written by the
// project's own writers (BFM 2009 layout + Guo expression basis + index maps), then `morphfit
// info` and `morphfit convert` on them, and the converted .h5 read back.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>

#include <gtest/gtest.h>

#include "../models/mat_fixture.h"
#include "cli_util.h"
#include "morphfit/models/mat_models.h"
#include "morphfit/models/model_io.h"
#include "morphfit/models/random_model.h"

namespace morphfit {
namespace {

namespace fs = std::filesystem;

using testing::CommandResult;
using testing::RunMorphfit;

class CliMatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // One folder per test: ctest runs the tests of this suite in parallel processes.
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) / (std::string("morphfit_cli_mat_test_") + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

TEST_F(CliMatTest, InfoAndConvertOnABfm2009StyleModel) {
  models::RandomModelOptions o;
  o.num_vertices = 900;
  o.num_identity = 12;
  o.num_expression = 0;
  o.num_albedo = 7;
  const models::MorphableModel m = models::MakeRandomModel(o);
  ASSERT_TRUE(models::WriteBfm2009Mat(m, Path("01_MorphableModel.mat")).ok());

  CommandResult info = RunMorphfit("info --json --model " + Path("01_MorphableModel.mat"));
  ASSERT_EQ(info.exit_code, 0) << info.output;
  EXPECT_NE(info.output.find("\"num_vertices\": 900"), std::string::npos) << info.output;
  EXPECT_NE(info.output.find("\"num_identity\": 12"), std::string::npos) << info.output;
  EXPECT_NE(info.output.find("\"num_albedo\": 7"), std::string::npos) << info.output;

  CommandResult convert = RunMorphfit("convert --model " + Path("01_MorphableModel.mat") + " --output " +
                            Path("converted.h5"));
  ASSERT_EQ(convert.exit_code, 0) << convert.output;
  auto direct = models::LoadModel(Path("01_MorphableModel.mat"));
  auto converted = models::LoadModel(Path("converted.h5"));
  ASSERT_TRUE(direct.ok()) << direct.status();
  ASSERT_TRUE(converted.ok()) << converted.status();
  EXPECT_TRUE(converted->shape_mean.isApprox(direct->shape_mean, 1e-6f));
  EXPECT_TRUE(converted->identity.basis.isApprox(direct->identity.basis, 1e-5f));
  EXPECT_TRUE(converted->albedo_mean.isApprox(direct->albedo_mean, 1e-6f));
  EXPECT_EQ(converted->triangles, direct->triangles);
}

// BFM 2009 + an expression basis with the index maps and facemodel_info beside the model, as a
// Deep3DFaceRecon user has them: the front vertex set by default, trimmed on request.
TEST_F(CliMatTest, CompositeBfm2009WithExpressionBases) {
  const models::BfmFixture f = models::MakeBfmFixture();
  models::MatWriteOptions compressed;
  models::WriteBfmFixture(f, dir_.string(), compressed);
  const std::string model = Path("01_MorphableModel.mat");

  CommandResult front = RunMorphfit("info --json --model " + model + " --expression " +
                                    Path("Exp_Pca.bin"));
  ASSERT_EQ(front.exit_code, 0) << front.output;
  EXPECT_NE(front.output.find("\"num_vertices\": " + std::to_string(f.front.size())),
            std::string::npos) << front.output;
  EXPECT_NE(front.output.find("\"num_expression\": 4"), std::string::npos) << front.output;
  EXPECT_NE(front.output.find("\"num_landmarks\": 68"), std::string::npos) << front.output;
  EXPECT_NE(front.output.find("\"expression_kind\": \"pca\""), std::string::npos);

  CommandResult trimmed = RunMorphfit("info --json --model " + model + " --expression " +
                                      Path("Model_Expression.mat") + " --vertex_set trimmed");
  ASSERT_EQ(trimmed.exit_code, 0) << trimmed.output;
  EXPECT_NE(trimmed.output.find("\"num_vertices\": " + std::to_string(f.trim.size())),
            std::string::npos) << trimmed.output;

  CommandResult convert = RunMorphfit("convert --model " + model + " --expression " +
                                      Path("Exp_Pca.bin") + " --output " + Path("front.h5"));
  ASSERT_EQ(convert.exit_code, 0) << convert.output;
  auto converted = models::LoadModel(Path("front.h5"));
  ASSERT_TRUE(converted.ok()) << converted.status();
  EXPECT_EQ(converted->num_vertices(), static_cast<int>(f.front.size()));
  EXPECT_EQ(converted->num_expression(), 4);
  EXPECT_EQ(converted->num_landmarks(), 68);
  EXPECT_EQ(converted->face_mask.size(), f.front.size());

  CommandResult bad_set = RunMorphfit("info --model " + model + " --vertex_set half");
  EXPECT_EQ(bad_set.exit_code, 1);
  EXPECT_NE(bad_set.output.find("half"), std::string::npos) << bad_set.output;
}

TEST_F(CliMatTest, ErrorsAreReportedNotCrashedOn) {
  std::ofstream(Path("broken.mat")) << "MATLAB 5.0 MAT-file, but cut short";
  CommandResult info = RunMorphfit("info --model " + Path("broken.mat"));
  EXPECT_EQ(info.exit_code, 1) << info.output;
  EXPECT_NE(info.output.find("broken.mat"), std::string::npos) << info.output;

  CommandResult no_output = RunMorphfit("convert --model sample");
  EXPECT_EQ(no_output.exit_code, 2) << no_output.output;
  EXPECT_NE(no_output.output.find("--output is required"), std::string::npos);

  CommandResult h5_with_expression = RunMorphfit("info --model sample --expression " + Path("x.bin"));
  EXPECT_EQ(h5_with_expression.exit_code, 1);
  EXPECT_NE(h5_with_expression.output.find("--expression"), std::string::npos)
      << h5_with_expression.output;
}

}  // namespace
}  // namespace morphfit
