// Bad input to the MAT reader and every MAT-era loader: each error is a Status naming the file,
// the variable, what was expected and what was found.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "../core/test_dir.h"
#include "mat_fixture.h"
#include "models/mat_model_util.h"

namespace morphfit::models {
namespace {

namespace fs = std::filesystem;
using mat::MatClass;
using mat::MatVar;

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

void ExpectError(const Status& s, StatusCode code, const std::vector<std::string>& words) {
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), code) << s;
  for (const auto& w : words) EXPECT_NE(s.message().find(w), std::string::npos) << w << " in " << s;
}

// A minimal BFM 2009 file with one variable replaced.
std::vector<MatVar> BfmVars(int n = 30, int k = 2) {
  const size_t rows = 3 * n;
  std::vector<MatVar> v;
  auto single = [&](const std::string& name, std::vector<size_t> dims, float value) {
    std::vector<float> data(dims[0] * dims[1], value);
    for (size_t i = 0; i < data.size(); ++i) data[i] += 0.01f * (i % 7);
    v.push_back(mat::SingleVar(name, dims, data.data()));
  };
  single("shapeMU", {rows, 1}, 1000.0f);
  single("shapePC", {rows, static_cast<size_t>(k)}, 0.1f);
  single("shapeEV", {static_cast<size_t>(k), 1}, 5000.0f);
  single("texMU", {rows, 1}, 128.0f);
  single("texPC", {rows, static_cast<size_t>(k)}, 0.1f);
  single("texEV", {static_cast<size_t>(k), 1}, 20.0f);
  std::vector<double> tl;
  for (int c = 0; c < 3; ++c) {
    for (int t = 0; t < n - 2; ++t) tl.push_back(t + c + 1);
  }
  v.push_back(mat::DoubleVar("tl", {static_cast<size_t>(n - 2), 3}, tl));
  return v;
}

void Replace(std::vector<MatVar>* vars, MatVar var) {
  for (auto& v : *vars) {
    if (v.name == var.name) v = std::move(var);
  }
}

TEST(MatBadInputTest, MissingFileWrongMagicTruncated) {
  TestDir dir;
  auto missing = LoadModel(dir.Path("nope.mat"));
  ExpectError(missing.status(), StatusCode::kNotFound, {"nope.mat"});
  WriteBytes(dir.Path("text.mat"), std::string(200, 'x'));
  ExpectError(LoadModel(dir.Path("text.mat")).status(), StatusCode::kInvalidArgument,
              {"text.mat", "not a MAT file", "MATLAB"});
  WriteBytes(dir.Path("short.mat"), "MATLAB 5.0");
  ExpectError(LoadModel(dir.Path("short.mat")).status(), StatusCode::kInvalidArgument,
              {"short.mat", "not a MAT file"});
  // Truncated inside the big compressed basis: matio alone would zero-fill it silently.
  for (bool compress : {true, false}) {
    const std::string path = dir.Path(compress ? "c.mat" : "u.mat");
    ASSERT_TRUE(mat::WriteMatFile(path, BfmVars(3000, 3), {MatVersion::kV5, compress}).ok());
    std::string bytes = ReadBytes(path);
    const auto f = mat::MatFile::Open(path);
    ASSERT_TRUE(f.ok());
    WriteBytes(path, bytes.substr(0, bytes.size() / 2));
    auto m = LoadModel(path);
    // The variable is named even when the cut falls inside its compressed stream.
    ExpectError(m.status(), StatusCode::kDataLoss, {path, "truncated", "variable '"});
    EXPECT_EQ(m.status().message().find("variable '#"), std::string::npos) << m.status();
  }
}

TEST(MatBadInputTest, MissingVariableWrongDimsNanIndexRange) {
  TestDir dir;
  const std::string path = dir.Path("01_MorphableModel.mat");
  ASSERT_TRUE(mat::WriteMatFile(path, BfmVars(), {}).ok());
  ASSERT_TRUE(LoadModel(path).ok()) << LoadModel(path).status();

  auto vars = BfmVars();
  vars.erase(vars.begin() + 5);  // texEV
  ASSERT_TRUE(mat::WriteMatFile(path, vars, {}).ok());
  ExpectError(LoadModel(path).status(), StatusCode::kNotFound,
              {path, "'texEV'", "the file holds: shapeMU, shapePC, shapeEV, texMU, texPC, tl"});

  vars = BfmVars();
  std::vector<float> wrong(90 * 3, 0.1f);
  Replace(&vars, mat::SingleVar("shapePC", {90, 3}, wrong.data()));
  ASSERT_TRUE(mat::WriteMatFile(path, vars, {}).ok());
  ExpectError(LoadModel(path).status(), StatusCode::kInvalidArgument,
              {path, "'shapePC'", "90x3", "expected 90x2"});

  vars = BfmVars();
  std::vector<float> nan(90 * 2, 0.1f);
  nan[77] = std::nanf("");
  Replace(&vars, mat::SingleVar("texPC", {90, 2}, nan.data()));
  ASSERT_TRUE(mat::WriteMatFile(path, vars, {}).ok());
  ExpectError(LoadModel(path).status(), StatusCode::kDataLoss, {path, "'texPC'", "element 77"});

  vars = BfmVars();
  nan.assign(90, 1.0f);
  nan[5] = INFINITY;
  Replace(&vars, mat::SingleVar("shapeMU", {90, 1}, nan.data()));
  ASSERT_TRUE(mat::WriteMatFile(path, vars, {}).ok());
  ExpectError(LoadModel(path).status(), StatusCode::kDataLoss, {path, "'shapeMU'", "inf"});

  vars = BfmVars();
  std::vector<double> tl(28 * 3, 1.0);
  tl[10] = 31;  // 30 vertices
  Replace(&vars, mat::DoubleVar("tl", {28, 3}, tl));
  ASSERT_TRUE(mat::WriteMatFile(path, vars, {}).ok());
  ExpectError(LoadModel(path).status(), StatusCode::kOutOfRange,
              {path, "'tl'", "element 10 is 31", "1..30"});
  tl[10] = 2.5;
  Replace(&vars, mat::DoubleVar("tl", {28, 3}, tl));
  ASSERT_TRUE(mat::WriteMatFile(path, vars, {}).ok());
  ExpectError(LoadModel(path).status(), StatusCode::kInvalidArgument, {"'tl'", "whole numbers"});
}

TEST(MatBadInputTest, IndexFilesExpressionAndDeep3d) {
  TestDir dir;
  const BfmFixture f = MakeBfmFixture();
  WriteBfmFixture(f, dir.path(), {});
  const std::string model = dir.Path("01_MorphableModel.mat");
  ModelLoadOptions o;
  o.expression_path = dir.Path("Exp_Pca.bin");

  // trimIndex out of range and not increasing.
  std::vector<int> bad = f.trim;
  bad.back() = f.full.num_vertices();  // 1-based it becomes n + 1
  ASSERT_TRUE(WriteTrimIndexMat(bad, dir.Path("BFM_exp_idx.mat")).ok());
  ExpectError(LoadModel(model, o).status(), StatusCode::kOutOfRange,
              {"BFM_exp_idx.mat", "'trimIndex'", "1.." + std::to_string(f.full.num_vertices())});
  bad = f.trim;
  std::swap(bad[3], bad[4]);
  ASSERT_TRUE(WriteTrimIndexMat(bad, dir.Path("BFM_exp_idx.mat")).ok());
  ExpectError(LoadModel(model, o).status(), StatusCode::kInvalidArgument,
              {"'trimIndex'", "strictly increasing"});
  ASSERT_TRUE(WriteTrimIndexMat(f.trim, dir.Path("BFM_exp_idx.mat")).ok());

  // Exp_Pca.bin truncated; std_exp.txt with the wrong count.
  const std::string bin = ReadBytes(dir.Path("Exp_Pca.bin"));
  WriteBytes(dir.Path("Exp_Pca.bin"), bin.substr(0, bin.size() - 10));
  ExpectError(LoadModel(model, o).status(), StatusCode::kDataLoss,
              {"Exp_Pca.bin", std::to_string(bin.size() - 10) + " bytes, expected " +
                                  std::to_string(bin.size())});
  WriteBytes(dir.Path("Exp_Pca.bin"), bin);
  WriteBytes(dir.Path("std_exp.txt"), "1 2 3\n");
  ExpectError(LoadModel(model, o).status(), StatusCode::kInvalidArgument,
              {"std_exp.txt", "3 values, expected 4"});
  WriteBytes(dir.Path("std_exp.txt"), "1 2 x 4\n");
  ExpectError(LoadModel(model, o).status(), StatusCode::kInvalidArgument, {"std_exp.txt", "'x'"});

  // Model_Expression.mat with the wrong vertex count.
  o.expression_path = dir.Path("Model_Expression.mat");
  LinearBasis small;
  small.basis = Eigen::MatrixXf::Ones(30, 2);
  small.stddev = Eigen::VectorXf::Ones(2);
  ASSERT_TRUE(Write3ddfaExpression(small, Eigen::VectorXf::Zero(30), o.expression_path).ok());
  ExpectError(LoadModel(model, o).status(), StatusCode::kInvalidArgument,
              {"Model_Expression.mat", "'mu_exp'", "30x1"});

  // Deep3D: keypoint out of range; NaN in idBase.
  MorphableModel front = f.front_model;
  front.landmarks[3] = front.num_vertices() - 1;
  ASSERT_TRUE(WriteDeep3dModelMat(front, dir.Path("BFM_model_front.mat")).ok());
  ASSERT_TRUE(LoadModel(dir.Path("BFM_model_front.mat")).ok());
  auto vars = std::vector<MatVar>{};
  const std::string d3 = dir.Path("BFM_model_front.mat");
  std::vector<float> mean(front.shape_mean.data(), front.shape_mean.data() + front.shape_mean.size());
  std::vector<float> id(front.identity.basis.data(),
                        front.identity.basis.data() + front.identity.basis.size());
  id[4] = std::nanf("");
  const size_t rows = mean.size();
  ASSERT_TRUE(mat::WriteMatFile(d3, {mat::SingleVar("meanshape", {1, rows}, mean.data()),
                                     mat::SingleVar("idBase", {rows, 6}, id.data())},
                                {}).ok());
  ExpectError(LoadModel(d3).status(), StatusCode::kDataLoss, {"'idBase'", "element 4", "nan"});
}

// The writer keeps narrow storage types (class double stored as uint16 / int16), as MATLAB
// writes them, and the reader converts them back.
TEST(MatBadInputTest, NarrowStorageTypesRoundTrip) {
  TestDir dir;
  for (bool compress : {false, true}) {
    MatVar u16 = mat::DoubleVar("u", {2, 3}, {1, 2, 3, 65535, 5, 6});
    u16.storage = MatClass::kUint16;
    MatVar i16 = mat::DoubleVar("s", {1, 4}, {-166, 0, 5, 638});
    i16.storage = MatClass::kInt16;
    MatVar cls_i16 = mat::DoubleVar("roi", {1, 4}, {-166, 0, 5, 638});
    cls_i16.cls = MatClass::kInt16;
    MatVar st;
    st.name = "model";
    st.fields = {mat::DoubleVar("a", {1, 2}, {1.5, 2.5}), u16};
    const std::string path = dir.Path(compress ? "c.mat" : "u.mat");
    ASSERT_TRUE(mat::WriteMatFile(path, {u16, i16, cls_i16, st}, {MatVersion::kV5, compress}).ok());
    auto f = mat::MatFile::Open(path);
    ASSERT_TRUE(f.ok()) << f.status();
    EXPECT_EQ((*f)->Info("u")->storage, MatClass::kUint16);
    EXPECT_EQ((*f)->Info("u")->cls, MatClass::kDouble);
    EXPECT_EQ((*f)->Info("s")->storage, MatClass::kInt16);
    EXPECT_EQ((*f)->Info("roi")->cls, MatClass::kInt16);
    EXPECT_EQ((*f)->ReadInt32("u")->data, (std::vector<int32_t>{1, 2, 3, 65535, 5, 6}));
    EXPECT_EQ((*f)->ReadInt32("s")->data, (std::vector<int32_t>{-166, 0, 5, 638}));
    EXPECT_EQ((*f)->ReadDouble("model.a")->data, (std::vector<double>{1.5, 2.5}));
    EXPECT_EQ((*f)->ReadInt32("model.u")->data[3], 65535);
    EXPECT_EQ((*f)->Fields("model").value(), (std::vector<std::string>{"a", "u"}));
    ExpectError((*f)->ReadDouble("model.b").status(), StatusCode::kNotFound, {"'b'", "a, u"});
    ExpectError((*f)->ReadDouble("zz").status(), StatusCode::kNotFound, {"'zz'", "u, s, roi, model"});
    ExpectError((*f)->ReadDouble("model").status(), StatusCode::kInvalidArgument, {"struct"});
  }
}

}  // namespace
}  // namespace morphfit::models
