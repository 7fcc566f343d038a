// FaceParams: flat layout, JSON and HDF5 round trips, validation and bad input.
#include "morphfit/core/face_params.h"

#include <fstream>

#include <gtest/gtest.h>

#include "test_dir.h"

namespace morphfit {
namespace {

FaceParams Example() {
  FaceParams p = FaceParams::Frontal(4, 3, 2, 640, 480, 1200.0, 600.0);
  p.identity << 0.5, -1.0, 2.0, 0.25;
  p.expression << 1.0, 0.0, -0.5;
  p.albedo << 0.1, -0.2;
  p.lighting[4] = 0.3;
  p.rotation << 3.0, 0.1, -0.2;
  p.model = "morphfit-sample-face";
  p.image = "helen/trainset/1.jpg";
  p.landmarks_2d = Eigen::Matrix2Xd::Random(2, 68) * 100.0;
  return p;
}

void ExpectSame(const FaceParams& a, const FaceParams& b) {
  EXPECT_TRUE(a.ToFlat().isApprox(b.ToFlat(), 1e-15));
  EXPECT_EQ(a.camera_type, b.camera_type);
  EXPECT_EQ(a.image_width, b.image_width);
  EXPECT_EQ(a.image_height, b.image_height);
  EXPECT_EQ(a.image, b.image);
  EXPECT_EQ(a.model, b.model);
}

TEST(FaceParamsTest, FrontalDefaults) {
  const FaceParams p = FaceParams::Frontal(80, 64, 80, 224, 224, 1015.0, 1000.0);
  EXPECT_EQ(p.FlatSize(), 80 + 64 + 80 + 27 + 9);
  EXPECT_DOUBLE_EQ(p.camera[1], 111.5);  // centre of a 224-pixel image, pixel-centre origin
  EXPECT_DOUBLE_EQ(p.lighting[0], kDefaultAmbient);
  EXPECT_DOUBLE_EQ(p.lighting[9], kDefaultAmbient);
  EXPECT_DOUBLE_EQ(p.lighting[18], kDefaultAmbient);
  EXPECT_DOUBLE_EQ(p.lighting[1], 0.0);
  EXPECT_TRUE(p.Validate("frontal").ok());
}

TEST(FaceParamsTest, FlatOrderAndNames) {
  const FaceParams p = Example();
  const Eigen::VectorXd flat = p.ToFlat();
  const std::vector<std::string> names = p.FlatNames();
  ASSERT_EQ(static_cast<int>(names.size()), p.FlatSize());
  EXPECT_EQ(names[0], "identity_000");
  EXPECT_EQ(names[4], "expression_000");
  EXPECT_EQ(names[7], "albedo_000");
  EXPECT_EQ(names[9], "light_r0");
  EXPECT_EQ(names[9 + 9], "light_g0");
  EXPECT_EQ(names[9 + 27], "rotation_x");
  EXPECT_EQ(names[9 + 30], "translation_x");
  EXPECT_EQ(names.back(), "camera_2");
  EXPECT_DOUBLE_EQ(flat[2], 2.0);
  EXPECT_DOUBLE_EQ(flat[9 + 4], 0.3);
  EXPECT_DOUBLE_EQ(flat[9 + 27], 3.0);
  EXPECT_DOUBLE_EQ(flat[9 + 32], 600.0);
  FaceParams q = FaceParams::Frontal(4, 3, 2, 640, 480, 1.0, 1.0);
  ASSERT_TRUE(q.SetFromFlat(flat).ok());
  EXPECT_TRUE(q.ToFlat().isApprox(flat));
  EXPECT_FALSE(q.SetFromFlat(Eigen::VectorXd::Zero(5)).ok());
}

TEST(FaceParamsTest, JsonRoundTrip) {
  TestDir dir;
  const FaceParams p = Example();
  ASSERT_TRUE(WriteFaceParamsJson(dir.Path("p.json"), p).ok());
  auto q = ReadFaceParamsJson(dir.Path("p.json"));
  ASSERT_TRUE(q.ok()) << q.status();
  ExpectSame(p, *q);
  EXPECT_TRUE(q->landmarks_2d.isApprox(p.landmarks_2d));
}

TEST(FaceParamsTest, WeakPerspectiveJsonRoundTrip) {
  FaceParams p = Example();
  p.camera_type = CameraType::kWeakPerspective;
  p.camera << 1.3, 60.0, 61.0;
  const std::string json = FaceParamsToJson(p);
  EXPECT_NE(json.find("scale_px_per_mm"), std::string::npos);
  auto q = FaceParamsFromJson(json, "weak.json");
  ASSERT_TRUE(q.ok()) << q.status();
  ExpectSame(p, *q);
}

TEST(FaceParamsTest, JsonErrorsNameTheProblem) {
  const std::string good = FaceParamsToJson(Example());
  struct Case { std::string from, to, expect; };
  const std::vector<Case> cases = {
      {"\"version\": 1", "\"version\": 7", "version 7"},
      {"\"morphfit.face_params\"", "\"other\"", "'format'"},
      {"\"pinhole\"", "\"fisheye\"", "unknown camera type 'fisheye'"},
      {"\"translation_mm\"", "\"translation\"", "missing key 'translation_mm'"},
      {"\"focal_px\":1200.0", "\"focal_px\":-3.0", "must be positive"},
  };
  for (const Case& c : cases) {
    std::string text = good;
    const size_t at = text.find(c.from);
    ASSERT_NE(at, std::string::npos) << c.from;
    text.replace(at, c.from.size(), c.to);
    auto r = FaceParamsFromJson(text, "bad.json");
    ASSERT_FALSE(r.ok()) << c.to;
    EXPECT_NE(r.status().message().find("bad.json"), std::string::npos) << r.status();
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos) << r.status();
  }
  auto truncated = FaceParamsFromJson(good.substr(0, good.size() / 2), "cut.json");
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.status().message().find("not valid JSON"), std::string::npos);
}

TEST(FaceParamsTest, NanIsRejected) {
  FaceParams p = Example();
  p.expression[1] = std::nan("");
  const Status s = p.Validate("nan");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("expression_001"), std::string::npos) << s;
}

TEST(FaceParamsTest, CheckSizesAgainstModel) {
  const FaceParams p = Example();
  EXPECT_TRUE(p.CheckSizes(4, 3, 2, "p").ok());
  const Status s = p.CheckSizes(80, 3, 2, "p.json");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("identity has 4 coefficients, the model has 80"), std::string::npos);
}

TEST(FaceParamsTest, TableRoundTrip) {
  TestDir dir;
  std::vector<FaceParams> rows = {Example(), Example()};
  rows[1].camera_type = CameraType::kWeakPerspective;
  rows[1].identity[0] = 9.0;
  rows[1].image = "";
  ASSERT_TRUE(WriteFaceParamsTable(dir.Path("fits.h5"), {"a_f0", "b_f0"}, rows).ok());
  EXPECT_EQ(dir.List(), std::vector<std::string>{"fits.h5"});  // no temporary left behind
  auto t = ReadFaceParamsTable(dir.Path("fits.h5"));
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(t->rows.size(), 2u);
  EXPECT_EQ(t->ids[1], "b_f0");
  ExpectSame(rows[0], t->rows[0]);
  ExpectSame(rows[1], t->rows[1]);
}

TEST(FaceParamsTest, TableRejectsMixedBlockSizes) {
  TestDir dir;
  std::vector<FaceParams> rows = {Example(), FaceParams::Frontal(5, 3, 2, 10, 10, 1.0, 1.0)};
  EXPECT_FALSE(WriteFaceParamsTable(dir.Path("mixed.h5"), {"a", "b"}, rows).ok());
  EXPECT_TRUE(dir.List().empty());
}

TEST(FaceParamsTest, TableReadErrors) {
  TestDir dir;
  auto missing = ReadFaceParamsTable(dir.Path("none.h5"));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("none.h5"), std::string::npos);
  std::ofstream(dir.Path("text.h5")) << "hello";
  auto text = ReadFaceParamsTable(dir.Path("text.h5"));
  ASSERT_FALSE(text.ok());
  EXPECT_NE(text.status().message().find("not an HDF5 file"), std::string::npos);
}

}  // namespace
}  // namespace morphfit
