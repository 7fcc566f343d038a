// statismo / BFM 2017 .h5 reader and writer: round trips, unit and winding inference, the real
// ICT model from ../shared, and bad input.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "core/hdf5_util.h"
#include "morphfit/models/model_io.h"
#include "morphfit/models/random_model.h"

namespace morphfit::models {
namespace {

namespace fs = std::filesystem;

std::string TempPath(const std::string& name) {
  const fs::path dir = fs::path(::testing::TempDir()) / "morphfit_h5_model_test";
  fs::create_directories(dir);
  return (dir / name).string();
}

MorphableModel SmallModel() {
  RandomModelOptions o;
  o.num_vertices = 300;
  o.num_identity = 5;
  o.num_expression = 3;
  o.num_albedo = 4;
  o.seed = 7;
  MorphableModel m = MakeRandomModel(o);
  m.name = "small";
  m.identity.names = {"a", "b", "c", "d", "e"};
  m.expression.names = {"jaw_open", "smile", "frown"};
  m.expression_kind = ExpressionKind::kBlendshape;
  m.face_mask.assign(m.num_vertices(), 1);
  m.skin_mask.assign(m.num_vertices(), 0);
  m.skin_mask[3] = 1;
  m.contour_candidates.resize(kNumJawLandmarks);
  for (int j = 0; j < kNumJawLandmarks; ++j) m.contour_candidates[j] = {j, j + 20, j + 40};
  m.contour_candidates[4].push_back(299);
  m.uv = Eigen::Matrix2Xf::Random(2, m.num_vertices()).cwiseAbs();
  m.generator_version = 3;
  return m;
}

TEST(H5ModelTest, RoundTripKeepsEverything) {
  const MorphableModel m = SmallModel();
  const std::string path = TempPath("round_trip.h5");
  ASSERT_TRUE(WriteH5Model(m, path).ok());
  auto loaded = LoadModel(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const MorphableModel& r = *loaded;
  EXPECT_EQ(r.name, "small");
  EXPECT_EQ(r.num_vertices(), m.num_vertices());
  EXPECT_EQ(r.triangles, m.triangles);
  EXPECT_TRUE(r.shape_mean.isApprox(m.shape_mean));
  EXPECT_TRUE(r.identity.basis.isApprox(m.identity.basis, 1e-5f));
  EXPECT_TRUE(r.identity.stddev.isApprox(m.identity.stddev, 1e-6f));
  EXPECT_TRUE(r.expression.basis.isApprox(m.expression.basis, 1e-5f));
  EXPECT_TRUE(r.albedo.basis.isApprox(m.albedo.basis, 1e-5f));
  EXPECT_TRUE(r.albedo_mean.isApprox(m.albedo_mean));
  EXPECT_EQ(r.expression_kind, ExpressionKind::kBlendshape);
  EXPECT_EQ(r.identity.names, m.identity.names);
  EXPECT_EQ(r.expression.names, m.expression.names);
  EXPECT_EQ(r.landmarks, m.landmarks);
  EXPECT_EQ(r.contour_candidates, m.contour_candidates);
  EXPECT_EQ(r.face_mask, m.face_mask);
  EXPECT_EQ(r.skin_mask, m.skin_mask);
  EXPECT_TRUE(r.uv.isApprox(m.uv));
  EXPECT_EQ(r.generator_version, 3);
  EXPECT_NE(r.units_note.find("metadata"), std::string::npos);
}

TEST(H5ModelTest, TruncationOptionsKeepLeadingModes) {
  const std::string path = TempPath("truncate.h5");
  ASSERT_TRUE(WriteH5Model(SmallModel(), path).ok());
  ModelLoadOptions o;
  o.max_identity = 2;
  o.max_expression = 0;
  o.max_albedo = 1;
  auto r = LoadModel(path, o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->num_identity(), 2);
  EXPECT_EQ(r->num_expression(), 0);
  EXPECT_EQ(r->expression_kind, ExpressionKind::kNone);
  EXPECT_EQ(r->num_albedo(), 1);
}

// Writes a bare statismo file (no morphfit metadata), as a BFM 2017 or the BFM 2009 .h5
// re-release would look: values scaled by `scale`, colour scaled by `colour_scale`, triangles
// in the given winding.
void WriteBareStatismo(const MorphableModel& m, const std::string& path, float scale,
                       float colour_scale, bool flip_winding) {
  auto file = h5::CreateFile(path);
  ASSERT_TRUE(file.ok());
  const hid_t f = file->get();
  const hsize_t rows = m.shape_mean.size(), k = m.num_identity(), n = m.num_vertices(),
                t = m.num_triangles();
  Eigen::VectorXf mean = m.shape_mean * scale;
  Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> unit(rows, k);
  Eigen::VectorXf var(k);
  for (hsize_t i = 0; i < k; ++i) {
    unit.col(i) = m.identity.basis.col(i) / m.identity.stddev[i];
    var[i] = std::pow(m.identity.stddev[i] * scale, 2.0f);
  }
  ASSERT_TRUE(h5::WriteFloat(f, "/shape/model/mean", mean.data(), {rows}).ok());
  ASSERT_TRUE(h5::WriteFloat(f, "/shape/model/pcaBasis", unit.data(), {rows, k}).ok());
  ASSERT_TRUE(h5::WriteFloat(f, "/shape/model/pcaVariance", var.data(), {k}).ok());
  Eigen::Matrix<int32_t, 3, Eigen::Dynamic, Eigen::RowMajor> cells = m.triangles;
  if (flip_winding) cells.row(1).swap(cells.row(2));
  ASSERT_TRUE(h5::WriteInt32(f, "/shape/representer/cells", cells.data(), {3, t}).ok());
  Eigen::VectorXf colour = m.albedo_mean * colour_scale;
  Eigen::MatrixXf empty_basis(rows, 0);
  ASSERT_TRUE(h5::WriteFloat(f, "/color/model/mean", colour.data(), {rows}).ok());
  ASSERT_TRUE(h5::WriteFloat(f, "/color/model/pcaBasis", empty_basis.data(), {rows, 0}).ok());
  ASSERT_TRUE(h5::WriteFloat(f, "/color/model/pcaVariance", var.data(), {0}).ok());
  (void)n;
}

TEST(H5ModelTest, MicrometreFileIsConvertedToMillimetres) {
  const MorphableModel m = SmallModel();
  const std::string path = TempPath("micrometres.h5");
  WriteBareStatismo(m, path, 1000.0f, 255.0f, /*flip_winding=*/false);
  auto r = LoadModel(path);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->shape_mean.isApprox(m.shape_mean, 1e-5f));
  EXPECT_TRUE(r->identity.basis.isApprox(m.identity.basis, 1e-4f));
  EXPECT_TRUE(r->albedo_mean.isApprox(m.albedo_mean, 1e-5f));
  EXPECT_NE(r->units_note.find("micrometres"), std::string::npos) << r->units_note;
  EXPECT_NE(r->units_note.find("0..255"), std::string::npos) << r->units_note;
  EXPECT_EQ(r->triangles, m.triangles);
  EXPECT_TRUE(r->landmarks.empty());
}

TEST(H5ModelTest, InwardWindingIsFlipped) {
  const MorphableModel m = SmallModel();
  const std::string path = TempPath("inward.h5");
  WriteBareStatismo(m, path, 1.0f, 1.0f, /*flip_winding=*/true);
  auto r = LoadModel(path);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NE(r->units_note.find("millimetres"), std::string::npos) << r->units_note;
  EXPECT_NE(r->units_note.find("flipped"), std::string::npos) << r->units_note;
  EXPECT_EQ(r->triangles, m.triangles);
}

TEST(H5ModelTest, LandmarkMapOverridesAndIsChecked) {
  const std::string model_path = TempPath("lm_model.h5");
  ASSERT_TRUE(WriteH5Model(SmallModel(), model_path).ok());
  std::vector<int> ids(kNumLandmarks);
  for (int i = 0; i < kNumLandmarks; ++i) ids[i] = 2 * i;
  const std::string map_path = TempPath("map.txt");
  ASSERT_TRUE(WriteLandmarkMap(map_path, ids).ok());
  ModelLoadOptions o;
  o.landmark_map_path = map_path;
  auto r = LoadModel(model_path, o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->landmarks, ids);

  // 67 entries.
  ids.pop_back();
  ASSERT_TRUE(WriteLandmarkMap(map_path, ids).ok());
  auto short_map = ReadLandmarkMap(map_path, 300);
  ASSERT_FALSE(short_map.ok());
  EXPECT_NE(short_map.status().message().find("67 landmark indices, expected 68"), std::string::npos);
  EXPECT_NE(short_map.status().message().find(map_path), std::string::npos);

  // Out of range, with its line number (line 1 is the comment).
  ids.push_back(5000);
  ASSERT_TRUE(WriteLandmarkMap(map_path, ids).ok());
  auto out_of_range = ReadLandmarkMap(map_path, 300);
  ASSERT_FALSE(out_of_range.ok());
  EXPECT_NE(out_of_range.status().message().find("line 69"), std::string::npos)
      << out_of_range.status();

  std::ofstream(map_path) << "12\nabc\n";
  auto garbage = ReadLandmarkMap(map_path, 300);
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.status().message().find("line 2"), std::string::npos);
}

TEST(H5ModelTest, MissingFileNamesThePath) {
  auto r = LoadModel(TempPath("does_not_exist.h5"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("does_not_exist.h5"), std::string::npos);
}

TEST(H5ModelTest, NotAnHdf5File) {
  const std::string path = TempPath("text.h5");
  std::ofstream(path) << "this is not hdf5\n";
  auto r = LoadModel(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not an HDF5 file"), std::string::npos) << r.status();
}

TEST(H5ModelTest, UnknownExtension) {
  auto r = LoadModel(TempPath("model.obj"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("supported"), std::string::npos);
}

TEST(H5ModelTest, TruncatedFileIsAnErrorNotACrash) {
  const std::string path = TempPath("full.h5");
  ASSERT_TRUE(WriteH5Model(SmallModel(), path).ok());
  const auto size = fs::file_size(path);
  for (double fraction : {0.1, 0.5, 0.9}) {
    const std::string cut = TempPath("cut.h5");
    fs::copy_file(path, cut, fs::copy_options::overwrite_existing);
    fs::resize_file(cut, static_cast<uintmax_t>(size * fraction));
    auto r = LoadModel(cut);
    EXPECT_FALSE(r.ok()) << "fraction " << fraction;
    EXPECT_NE(r.status().message().find("cut.h5"), std::string::npos) << r.status();
  }
}

TEST(H5ModelTest, MissingDatasetIsNamed) {
  const MorphableModel m = SmallModel();
  const std::string path = TempPath("no_basis.h5");
  {
    auto file = h5::CreateFile(path);
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE(h5::WriteFloat(file->get(), "/shape/model/mean", m.shape_mean.data(),
                               {hsize_t(m.shape_mean.size())}).ok());
  }
  auto r = LoadModel(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("/shape/model/pcaBasis"), std::string::npos) << r.status();
}

TEST(H5ModelTest, NanInBasisIsRejected) {
  MorphableModel m = SmallModel();
  const std::string path = TempPath("nan.h5");
  WriteBareStatismo(m, path, 1.0f, 1.0f, false);
  {
    // Overwrite the basis with one holding a NaN.
    h5::Handle file(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
    ASSERT_TRUE(file.valid());
    H5Ldelete(file.get(), "/shape/model/pcaBasis", H5P_DEFAULT);
    Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> basis =
        m.identity.basis;
    basis(10, 1) = std::numeric_limits<float>::quiet_NaN();
    ASSERT_TRUE(h5::WriteFloat(file.get(), "/shape/model/pcaBasis", basis.data(),
                               {hsize_t(basis.rows()), hsize_t(basis.cols())}).ok());
  }
  auto r = LoadModel(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("NaN"), std::string::npos) << r.status();
}

TEST(H5ModelTest, WrongBasisShapeIsDescribed) {
  const MorphableModel m = SmallModel();
  const std::string path = TempPath("shape.h5");
  WriteBareStatismo(m, path, 1.0f, 1.0f, false);
  {
    h5::Handle file(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
    H5Ldelete(file.get(), "/shape/model/pcaVariance", H5P_DEFAULT);
    const float var[2] = {1.0f, 1.0f};
    ASSERT_TRUE(h5::WriteFloat(file.get(), "/shape/model/pcaVariance", var, {2}).ok());
  }
  auto r = LoadModel(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("expected (900, 2)"), std::string::npos) << r.status();
}

// The ICT Face Model Light in ../shared, converted to this layout (MIT licence).
TEST(H5ModelTest, IctFaceModelLight) {
  const std::string dir = std::string(MORPHFIT_SHARED_DIR) + "/models/ict-face-light";
  if (!fs::exists(dir + "/ict_face_light.h5")) {
    GTEST_SKIP() << "../shared/models/ict-face-light is absent; skipping the real-model test";
  }
  ModelLoadOptions o;
  o.landmark_map_path = dir + "/ibug68_vertices.txt";
  auto r = LoadModel(dir + "/ict_face_light.h5", o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->num_vertices(), 9409);
  EXPECT_EQ(r->num_triangles(), 18460);
  EXPECT_EQ(r->num_identity(), 100);
  EXPECT_EQ(r->num_expression(), 53);
  EXPECT_EQ(r->expression_kind, ExpressionKind::kBlendshape);
  EXPECT_EQ(r->num_albedo(), 3);
  EXPECT_EQ(r->num_landmarks(), 68);
  EXPECT_EQ(r->expression.names.size(), 53u);
  EXPECT_EQ(r->expression.names[26], "jawOpen");
  // Already millimetres and outward (its README): no conversion, no flip.
  EXPECT_NE(r->units_note.find("millimetres"), std::string::npos) << r->units_note;
  EXPECT_EQ(r->units_note.find("flipped"), std::string::npos) << r->units_note;
  const auto box = BoundingBox(r->shape_mean);
  const float width = box[3] - box[0];
  EXPECT_GT(width, 120.0f);
  EXPECT_LT(width, 250.0f);
  // Landmark 30 (nose tip) lies in front of landmark 0 and 16 (jaw) and on the midline.
  const Eigen::Vector3f tip = r->shape_mean.segment<3>(3 * r->landmarks[30]);
  const Eigen::Vector3f jaw = r->shape_mean.segment<3>(3 * r->landmarks[0]);
  EXPECT_GT(tip.z(), jaw.z() + 30.0f);
  EXPECT_NEAR(tip.x(), 0.0f, 1.0f);
  // Subject's right (iBUG 0) is at -x.
  EXPECT_LT(jaw.x(), 0.0f);
}

}  // namespace
}  // namespace morphfit::models
