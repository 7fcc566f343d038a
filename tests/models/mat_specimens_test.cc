// Conformance of the MAT reader with the real files in ../shared/specimens: every fact
// docs/FORMATS.md (sections 0, 2, 3, 4) states about them. Skips when ../shared is absent.
#include <algorithm>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "models/mat_file.h"

namespace morphfit::models::mat {
namespace {

std::string Specimen(const std::string& name) {
  return std::string(MORPHFIT_SHARED_DIR) + "/specimens/" + name;
}

#define OPEN_SPECIMEN(var, name)                                                          \
  const std::string var##_path = Specimen(name);                                          \
  if (!FileExists(var##_path)) GTEST_SKIP() << "specimen " << var##_path << " is absent"; \
  auto var##_or = MatFile::Open(var##_path);                                              \
  ASSERT_TRUE(var##_or.ok()) << var##_or.status();                                        \
  const MatFile& var = **var##_or

bool FileExists(const std::string& path) { return std::ifstream(path).good(); }

void ExpectInfo(const MatFile& f, const std::string& name, MatClass cls, MatClass storage,
                std::vector<size_t> dims) {
  auto info = f.Info(name);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->cls, cls) << name << " class " << MatClassName(info->cls);
  EXPECT_EQ(info->storage, storage) << name << " storage " << MatClassName(info->storage);
  EXPECT_EQ(info->dims, dims) << name << " dims " << info->DimsString();
}

// FORMATS.md section 3: the 68 keypoints, 1-based into the 35709 front vertices.
const std::vector<int> kDeep3dKeypoints = {
    16645, 16889, 16468, 16265, 32245, 32940, 33376, 33655, 33839, 34023, 34313, 34767, 35473,
    27817, 27609, 27209, 27441, 28112, 28788, 29178, 29383, 29550, 30289, 30455, 30663, 31057,
    31717, 8162,  8178,  8188,  8193,  6516,  7244,  8205,  9164,  9884,  2216,  3887,  4921,
    5829,  4802,  3641,  10456, 11354, 12384, 14067, 12654, 11493, 5523,  6026,  7496,  8216,
    8936,  10396, 10796, 9556,  8837,  8237,  7637,  6916,  5910,  7385,  8224,  9065,  10538,
    8830,  8230,  7630};
// FORMATS.md section 4: the 3DDFA keypoints, 0-based into the 53215 trimmed vertices.
const std::vector<int> k3ddfaKeypoints = {
    21873, 22149, 21653, 21036, 43236, 44918, 46166, 47135, 47914, 48695, 49667, 50924, 52613,
    33678, 33005, 32469, 32709, 38695, 39392, 39782, 39987, 40154, 40893, 41059, 41267, 41661,
    42367, 8161,  8177,  8187,  8192,  6515,  7243,  8204,  9163,  9883,  2215,  3886,  4920,
    5828,  4801,  3640,  10455, 11353, 12383, 14066, 12653, 11492, 5522,  6025,  7495,  8215,
    8935,  10395, 10795, 9555,  8836,  8236,  7636,  6915,  5909,  7384,  8223,  9064,  10537,
    8829,  8229,  7629};

TEST(MatSpecimensTest, BfmExpIdxTrimIndex) {
  OPEN_SPECIMEN(f, "deep3d/BFM_exp_idx.mat");
  EXPECT_EQ(f.version(), MatVersion::kV5);
  // Class double stored as uint16 (FORMATS.md section 0).
  ExpectInfo(f, "trimIndex", MatClass::kDouble, MatClass::kUint16, {53215, 1});
  auto a = f.ReadInt32("trimIndex");
  ASSERT_TRUE(a.ok()) << a.status();
  auto ids = ToZeroBased(*a, f.path(), "trimIndex", 53490, /*strictly_increasing=*/true);
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_EQ(a->data.front(), 1);
  EXPECT_EQ(a->data.back(), 53490);
  // The 275 removed vertices all lie in 1-based 6168..10680 (inner mouth).
  std::vector<bool> kept(53491, false);
  for (int v : a->data) kept[v] = true;
  int removed = 0;
  for (int v = 1; v <= 53490; ++v) {
    if (!kept[v]) {
      ++removed;
      EXPECT_TRUE(v >= 6168 && v <= 10680) << v;
    }
  }
  EXPECT_EQ(removed, 275);
}

TEST(MatSpecimensTest, FrontIdxAndSelectId) {
  OPEN_SPECIMEN(front, "deep3d/BFM_front_idx.mat");
  OPEN_SPECIMEN(trim, "deep3d/BFM_exp_idx.mat");
  OPEN_SPECIMEN(select, "deep3d/select_vertex_id.mat");
  ExpectInfo(front, "idx", MatClass::kSingle, MatClass::kSingle, {35709, 1});
  ExpectInfo(select, "select_id", MatClass::kDouble, MatClass::kUint16, {35709, 1});
  auto idx = front.ReadInt32("idx");
  auto trim_index = trim.ReadInt32("trimIndex");
  auto select_id = select.ReadInt32("select_id");
  ASSERT_TRUE(idx.ok() && trim_index.ok() && select_id.ok());
  ASSERT_TRUE(ToZeroBased(*idx, front.path(), "idx", 53215, true).ok());
  EXPECT_EQ(idx->data.front(), 1);
  EXPECT_EQ(*std::max_element(idx->data.begin(), idx->data.end()), 53153);
  int max_select = 0;
  for (size_t i = 0; i < idx->size(); ++i) {
    // select_id == trimIndex[idx - 1] exactly (FORMATS.md section 2).
    ASSERT_EQ(select_id->data[i], trim_index->data[idx->data[i] - 1]) << i;
    max_select = std::max(max_select, select_id->data[i]);
  }
  EXPECT_EQ(max_select, 53428);
}

TEST(MatSpecimensTest, FacemodelInfo) {
  OPEN_SPECIMEN(f, "deep3d/facemodel_info.mat");
  OPEN_SPECIMEN(front, "deep3d/BFM_front_idx.mat");
  ExpectInfo(f, "tri", MatClass::kSingle, MatClass::kSingle, {70789, 3});
  ExpectInfo(f, "point_buf", MatClass::kSingle, MatClass::kSingle, {35709, 8});
  ExpectInfo(f, "tri_mask2", MatClass::kSingle, MatClass::kSingle, {54681, 3});
  ExpectInfo(f, "keypoints", MatClass::kSingle, MatClass::kSingle, {1, 68});
  ExpectInfo(f, "frontmask2_idx", MatClass::kSingle, MatClass::kSingle, {27660, 1});
  ExpectInfo(f, "skinmask", MatClass::kSingle, MatClass::kSingle, {1, 35709});
  ExpectInfo(f, "frontmask2", MatClass::kSingle, MatClass::kSingle, {1, 35709});
  auto kp = f.ReadInt32("keypoints");
  ASSERT_TRUE(kp.ok()) << kp.status();
  EXPECT_EQ(kp->data, kDeep3dKeypoints);
  // Mapped through idx they are exactly the 3DDFA keypoints (FORMATS.md section 2).
  auto idx = front.ReadInt32("idx");
  ASSERT_TRUE(idx.ok());
  for (int i = 0; i < 68; ++i) EXPECT_EQ(idx->data[kp->data[i] - 1] - 1, k3ddfaKeypoints[i]) << i;
  auto pb = f.ReadInt32("point_buf");
  ASSERT_TRUE(pb.ok());
  EXPECT_EQ(*std::max_element(pb->data.begin(), pb->data.end()), 70790);  // sentinel ntri + 1
  auto skin = f.ReadInt32("skinmask");
  ASSERT_TRUE(skin.ok());
  EXPECT_EQ(std::count(skin->data.begin(), skin->data.end(), 1), 9642);
  EXPECT_EQ(std::count(skin->data.begin(), skin->data.end(), 0), 35709 - 9642);
  // frontmask2_idx == find(frontmask2).
  auto fm = f.ReadInt32("frontmask2_idx");
  auto fm_full = f.ReadInt32("frontmask2");
  ASSERT_TRUE(fm.ok() && fm_full.ok());
  std::vector<int> found;
  for (size_t i = 0; i < fm_full->size(); ++i) {
    if (fm_full->data[i]) found.push_back(static_cast<int>(i) + 1);
  }
  EXPECT_EQ(found, fm->data);
  auto tri = f.ReadInt32("tri");
  ASSERT_TRUE(tri.ok());
  EXPECT_TRUE(ToZeroBased(*tri, f.path(), "tri", 35709).ok());
}

TEST(MatSpecimensTest, SimilarityLm3d) {
  OPEN_SPECIMEN(f, "deep3d/similarity_Lm3D_all.mat");
  ExpectInfo(f, "lm", MatClass::kSingle, MatClass::kSingle, {68, 3});
  auto lm = f.ReadFloat("lm");
  ASSERT_TRUE(lm.ok());
  for (float v : lm->data) EXPECT_LT(std::abs(v), 1.0f);  // decimetres: about +-0.8
}

TEST(MatSpecimensTest, StdExp) {
  const std::string path = Specimen("deep3d/std_exp.txt");
  if (!FileExists(path)) GTEST_SKIP() << path << " is absent";
  std::ifstream in(path);
  std::vector<double> values;
  double v;
  while (in >> v) values.push_back(v);
  ASSERT_EQ(values.size(), 79u);
  EXPECT_DOUBLE_EQ(values[0], 453980);
  EXPECT_DOUBLE_EQ(values[1], 257264);
  EXPECT_DOUBLE_EQ(values[78], 276.19);
  EXPECT_FALSE(std::is_sorted(values.rbegin(), values.rend()));  // not monotonic
}

TEST(MatSpecimensTest, DdfaTri) {
  OPEN_SPECIMEN(f, "3ddfa/tri.mat");
  ExpectInfo(f, "tri", MatClass::kDouble, MatClass::kUint16, {3, 105840});
  auto tri = f.ReadInt32("tri");
  ASSERT_TRUE(tri.ok());
  EXPECT_EQ(*std::max_element(tri->data.begin(), tri->data.end()), 53215);
  EXPECT_EQ(*std::min_element(tri->data.begin(), tri->data.end()), 1);
}

TEST(MatSpecimensTest, DdfaImageVertex) {
  OPEN_SPECIMEN(f, "3ddfa/image00427.mat");
  ExpectInfo(f, "vertex", MatClass::kSingle, MatClass::kSingle, {3, 53215});
  auto v = f.ReadFloat("vertex");
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(ExpectFinite(*v, f.path(), "vertex").ok());
}

TEST(MatSpecimensTest, Face3dIbugFile) {
  OPEN_SPECIMEN(f, "face3d/IBUG_image_008_1_0.mat");
  ExpectInfo(f, "pt2d", MatClass::kDouble, MatClass::kDouble, {2, 68});
  ExpectInfo(f, "roi", MatClass::kInt16, MatClass::kInt16, {1, 4});
  ExpectInfo(f, "Illum_Para", MatClass::kDouble, MatClass::kDouble, {1, 10});
  ExpectInfo(f, "Color_Para", MatClass::kSingle, MatClass::kSingle, {1, 7});
  ExpectInfo(f, "Tex_Para", MatClass::kDouble, MatClass::kDouble, {199, 1});
  ExpectInfo(f, "Shape_Para", MatClass::kDouble, MatClass::kDouble, {199, 1});
  ExpectInfo(f, "Exp_Para", MatClass::kDouble, MatClass::kDouble, {29, 1});
  ExpectInfo(f, "Pose_Para", MatClass::kSingle, MatClass::kSingle, {1, 7});
  auto roi = f.ReadInt32("roi");
  ASSERT_TRUE(roi.ok());
  EXPECT_EQ(*std::min_element(roi->data.begin(), roi->data.end()), -166);
  auto shape = f.ReadDouble("Shape_Para");
  ASSERT_TRUE(shape.ok());
  double max_abs = 0;
  for (double x : shape->data) max_abs = std::max(max_abs, std::abs(x));
  EXPECT_GT(max_abs, 1e4);  // raw shapePC units, about 1e5
}

// Every specimen .mat opens and every variable reads.
TEST(MatSpecimensTest, EveryVariableOfEverySpecimenReads) {
  int files = 0;
  for (const char* name :
       {"deep3d/BFM_exp_idx.mat", "deep3d/BFM_front_idx.mat", "deep3d/facemodel_info.mat",
        "deep3d/select_vertex_id.mat", "deep3d/similarity_Lm3D_all.mat", "3ddfa/tri.mat",
        "3ddfa/image00427.mat", "face3d/IBUG_image_008_1_0.mat"}) {
    const std::string path = Specimen(name);
    if (!FileExists(path)) continue;
    ++files;
    auto f = MatFile::Open(path);
    ASSERT_TRUE(f.ok()) << f.status();
    EXPECT_FALSE((*f)->variables().empty()) << path;
    for (const std::string& var : (*f)->variables()) {
      auto a = (*f)->ReadDouble(var);
      ASSERT_TRUE(a.ok()) << a.status();
      EXPECT_EQ(a->size(), (*f)->Info(var)->numel()) << path << " " << var;
    }
  }
  if (files == 0) GTEST_SKIP() << "no specimens under " << MORPHFIT_SHARED_DIR;
}

}  // namespace
}  // namespace morphfit::models::mat
