// Tests of the generated sample face model: validity, sizes, determinism, adult proportions
// measured from the landmarks, lid closing, jaw opening, orientation, masks, contour lines,
// UVs and albedo ranges.
#include "morphfit/models/sample_model.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <Eigen/Geometry>
#include <gtest/gtest.h>

namespace morphfit::models {
namespace {

const MorphableModel& Model() {
  static const MorphableModel* model = new MorphableModel(MakeSampleModel());
  return *model;
}

Eigen::Vector3f Vertex(const Eigen::VectorXf& shape, int id) { return shape.segment<3>(3 * id); }
Eigen::Vector3f Landmark(const Eigen::VectorXf& shape, int k) {
  return Vertex(shape, Model().landmarks[k]);
}

int ModeIndex(const LinearBasis& basis, const std::string& name) {
  const auto it = std::find(basis.names.begin(), basis.names.end(), name);
  return it == basis.names.end() ? -1 : static_cast<int>(it - basis.names.begin());
}

Eigen::VectorXf ShapeWithExpression(const std::string& name, float coefficient) {
  const MorphableModel& m = Model();
  Eigen::VectorXf beta = Eigen::VectorXf::Zero(m.num_expression());
  const int k = ModeIndex(m.expression, name);
  EXPECT_GE(k, 0) << name;
  if (k >= 0) beta[k] = coefficient;
  Eigen::VectorXf shape;
  m.EvaluateShape(Eigen::VectorXf::Zero(0), beta, &shape);
  return shape;
}

TEST(SampleModelTest, ValidatesAndHasMetadata) {
  const MorphableModel& m = Model();
  const Status status = m.Validate("sample");
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(m.name, "morphfit-sample-face");
  EXPECT_EQ(m.source, "generated");
  EXPECT_EQ(m.units_note, "generated in mm");
  EXPECT_EQ(m.generator_version, kSampleModelGeneratorVersion);
  EXPECT_EQ(m.expression_kind, ExpressionKind::kPca);
}

TEST(SampleModelTest, SizesAndNames) {
  const MorphableModel& m = Model();
  EXPECT_GE(m.num_vertices(), 5000);
  EXPECT_LE(m.num_vertices(), 12000);
  EXPECT_GE(m.num_identity(), 40);
  EXPECT_GE(m.num_expression(), 20);
  EXPECT_GE(m.num_albedo(), 20);
  EXPECT_EQ(static_cast<int>(m.identity.names.size()), m.num_identity());
  EXPECT_EQ(static_cast<int>(m.expression.names.size()), m.num_expression());
  EXPECT_EQ(static_cast<int>(m.albedo.names.size()), m.num_albedo());
  for (const char* name : {"jaw_open", "smile_left", "smile_right", "lip_pucker", "lip_funnel",
                           "brow_raise_left", "brow_raise_right", "brow_frown", "eye_close_left",
                           "eye_close_right", "eye_wide", "cheek_puff", "lip_press", "mouth_left",
                           "mouth_right", "lower_lip_down", "upper_lip_up", "nose_wrinkle", "squint"}) {
    EXPECT_GE(ModeIndex(m.expression, name), 0) << name;
  }
  for (const char* name : {"face_width", "nose_length", "jaw_width", "chin_prominence"}) {
    EXPECT_GE(ModeIndex(m.identity, name), 0) << name;
  }
  EXPECT_EQ(m.num_landmarks(), kNumLandmarks);
  EXPECT_EQ(m.uv.cols(), m.num_vertices());
}

// Generation time is measured in bench/ (sample_model_bench), not asserted here.
TEST(SampleModelTest, Deterministic) {
  const MorphableModel a = MakeSampleModel();
  const MorphableModel& b = Model();
  EXPECT_TRUE(a.shape_mean == b.shape_mean);
  EXPECT_TRUE(a.identity.basis == b.identity.basis);
  EXPECT_TRUE(a.expression.basis == b.expression.basis);
  EXPECT_TRUE(a.albedo.basis == b.albedo.basis);
  EXPECT_TRUE(a.albedo_mean == b.albedo_mean);
  EXPECT_TRUE(a.identity.stddev == b.identity.stddev);
  EXPECT_TRUE(a.triangles == b.triangles);
  EXPECT_TRUE(a.uv == b.uv);
  EXPECT_EQ(a.landmarks, b.landmarks);
  EXPECT_EQ(a.contour_candidates, b.contour_candidates);
  EXPECT_EQ(a.face_mask, b.face_mask);
  EXPECT_EQ(a.skin_mask, b.skin_mask);
  EXPECT_EQ(a.identity.names, b.identity.names);
}

TEST(SampleModelTest, AdultProportionsFromLandmarks) {
  const Eigen::VectorXf& s = Model().shape_mean;
  auto dist_x = [&](int a, int b) { return std::abs(Landmark(s, a).x() - Landmark(s, b).x()); };
  // Bizygomatic (face outline at the cheekbones' height).
  EXPECT_GT(dist_x(0, 16), 130.0f);
  EXPECT_LT(dist_x(0, 16), 150.0f);
  // Eyes: outer canthi ~90 mm, inner ~33 mm, fissures ~30 mm, pupils ~63 mm apart.
  EXPECT_NEAR(dist_x(36, 45), 92.0f, 5.0f);
  EXPECT_NEAR(dist_x(39, 42), 33.0f, 4.0f);
  EXPECT_NEAR(dist_x(36, 39), 30.0f, 3.0f);
  EXPECT_NEAR(dist_x(42, 45), 30.0f, 3.0f);
  const float pupils = 0.5f * (dist_x(36, 45) + dist_x(39, 42));
  EXPECT_NEAR(pupils, 63.0f, 4.0f);
  // Mouth ~50 mm, nose base ~27 mm between the alar landmarks (35 mm across the alae).
  EXPECT_NEAR(dist_x(48, 54), 52.0f, 5.0f);
  EXPECT_NEAR(dist_x(31, 35), 27.0f, 4.0f);
  // Brow to chin ~120 mm.
  for (int brow : {19, 24}) {
    const float brow_chin = Landmark(s, brow).y() - Landmark(s, 8).y();
    EXPECT_GT(brow_chin, 110.0f);
    EXPECT_LT(brow_chin, 130.0f);
  }
  // Nose tip well in front of the cheeks (vertices near (+-40, -30) on the front).
  float cheek_z = -1e9f;
  for (int i = 0; i < Model().num_vertices(); ++i) {
    const Eigen::Vector3f p = Vertex(s, i);
    if (std::abs(std::abs(p.x()) - 40.0f) < 2.0f && std::abs(p.y() + 30.0f) < 2.0f) cheek_z = std::max(cheek_z, p.z());
  }
  EXPECT_GT(Landmark(s, 30).z(), cheek_z + 12.0f);
  // Nose tip is the most protruding landmark; the chin the lowest.
  for (int k = 0; k < kNumLandmarks; ++k) {
    if (k != 30) {
      EXPECT_LT(Landmark(s, k).z(), Landmark(s, 30).z()) << k;
    }
    if (k != 8) {
      EXPECT_GT(Landmark(s, k).y(), Landmark(s, 8).y()) << k;
    }
  }
}

TEST(SampleModelTest, LandmarkOrderFollowsIbug) {
  const Eigen::VectorXf& s = Model().shape_mean;
  // Image left (-x, subject's right) before image right.
  for (auto [a, b] : std::vector<std::pair<int, int>>{{0, 16}, {17, 26}, {21, 22}, {36, 45}, {39, 42},
                                                      {31, 35}, {48, 54}, {60, 64}, {36, 39}, {42, 45}}) {
    EXPECT_LT(Landmark(s, a).x(), Landmark(s, b).x()) << a << " vs " << b;
  }
  for (int k = 0; k < 8; ++k) EXPECT_GT(Landmark(s, k).y(), Landmark(s, k + 1).y() - 1.0f) << k;
  for (int k = 27; k < 30; ++k) EXPECT_GT(Landmark(s, k).y(), Landmark(s, k + 1).y()) << k;
  // Upper lids above lower lids, upper inner lip above lower inner lip.
  for (auto [up, low] : std::vector<std::pair<int, int>>{{37, 41}, {38, 40}, {43, 47}, {44, 46},
                                                         {61, 67}, {62, 66}, {63, 65}, {51, 57}}) {
    EXPECT_GT(Landmark(s, up).y(), Landmark(s, low).y()) << up << " vs " << low;
  }
  // Eyes open ~10 mm at rest; lips touch with a thin slit.
  EXPECT_GT((Landmark(s, 37) - Landmark(s, 41)).norm(), 6.0f);
  EXPECT_LT((Landmark(s, 62) - Landmark(s, 66)).norm(), 1.5f);
}

TEST(SampleModelTest, EyeCloseBringsLidsTogether) {
  constexpr float kMeetToleranceMm = 1.0f;  // the lids must visibly meet
  const Eigen::VectorXf& rest = Model().shape_mean;
  const Eigen::VectorXf left = ShapeWithExpression("eye_close_left", kSampleExpressionFullCoefficient);
  EXPECT_LT((Landmark(left, 43) - Landmark(left, 47)).norm(), kMeetToleranceMm);
  EXPECT_LT((Landmark(left, 44) - Landmark(left, 46)).norm(), kMeetToleranceMm);
  // The other eye stays open and unchanged.
  EXPECT_NEAR((Landmark(left, 37) - Landmark(left, 41)).norm(),
              (Landmark(rest, 37) - Landmark(rest, 41)).norm(), 1e-4f);
  const Eigen::VectorXf right = ShapeWithExpression("eye_close_right", kSampleExpressionFullCoefficient);
  EXPECT_LT((Landmark(right, 37) - Landmark(right, 41)).norm(), kMeetToleranceMm);
  EXPECT_LT((Landmark(right, 38) - Landmark(right, 40)).norm(), kMeetToleranceMm);
  // Half-way closed is half-way.
  const Eigen::VectorXf half = ShapeWithExpression("eye_close_left", 0.5f * kSampleExpressionFullCoefficient);
  const float open = (Landmark(rest, 43) - Landmark(rest, 47)).norm();
  EXPECT_NEAR((Landmark(half, 43) - Landmark(half, 47)).norm(), 0.5f * open, 1.0f);
}

TEST(SampleModelTest, JawOpenOpensTheMouth) {
  const Eigen::VectorXf& rest = Model().shape_mean;
  const Eigen::VectorXf open = ShapeWithExpression("jaw_open", kSampleExpressionFullCoefficient);
  const float gap_rest = (Landmark(rest, 62) - Landmark(rest, 66)).norm();
  const float gap_open = (Landmark(open, 62) - Landmark(open, 66)).norm();
  EXPECT_GT(gap_open - gap_rest, 10.0f);
  EXPECT_LT(Landmark(open, 8).y(), Landmark(rest, 8).y() - 10.0f);   // chin goes down
  EXPECT_NEAR(Landmark(open, 30).y(), Landmark(rest, 30).y(), 1e-3f);  // nose stays
  // One sigma is a moderate opening.
  const Eigen::VectorXf one = ShapeWithExpression("jaw_open", 1.0f);
  const float gap_one = (Landmark(one, 62) - Landmark(one, 66)).norm();
  EXPECT_GT(gap_one - gap_rest, 3.0f);
  EXPECT_LT(gap_one - gap_rest, 12.0f);
}

TEST(SampleModelTest, TrianglesFaceOutward) {
  const MorphableModel& m = Model();
  const Eigen::VectorXf& s = m.shape_mean;
  int front = 0, toward_viewer = 0;
  for (int t = 0; t < m.num_triangles(); ++t) {
    const Eigen::Vector3f a = Vertex(s, m.triangles(0, t)), b = Vertex(s, m.triangles(1, t)),
                          c = Vertex(s, m.triangles(2, t));
    const Eigen::Vector3f centroid = (a + b + c) / 3.0f;
    const Eigen::Vector3f normal = (b - a).cross(c - a);
    // Front of the face: forehead to chin, between the outer eye corners, on the surface.
    if (std::abs(centroid.x()) < 40.0f && centroid.y() > -90.0f && centroid.y() < 60.0f &&
        m.face_mask[m.triangles(0, t)] != 0) {
      ++front;
      if (normal.z() > 0.0f) ++toward_viewer;
    }
  }
  ASSERT_GT(front, 1000);
  EXPECT_GT(static_cast<double>(toward_viewer) / front, 0.95);
}

TEST(SampleModelTest, MasksAreNested) {
  const MorphableModel& m = Model();
  int face = 0, skin = 0;
  for (int i = 0; i < m.num_vertices(); ++i) {
    face += m.face_mask[i];
    skin += m.skin_mask[i];
    if (m.skin_mask[i]) {
      EXPECT_EQ(m.face_mask[i], 1) << i;
    }
  }
  EXPECT_GT(face, m.num_vertices() / 3);
  EXPECT_LT(face, m.num_vertices());
  EXPECT_GT(skin, face / 2);
  EXPECT_LT(skin, face);
  // Lid margins and inner lips are face but not skin; the chin and nose tip are skin.
  for (int k : {37, 38, 43, 44, 61, 62, 66}) {
    EXPECT_EQ(m.face_mask[m.landmarks[k]], 1) << k;
    EXPECT_EQ(m.skin_mask[m.landmarks[k]], 0) << k;
  }
  for (int k : {8, 30}) EXPECT_EQ(m.skin_mask[m.landmarks[k]], 1) << k;
}

TEST(SampleModelTest, ContourLinesRunFromFrontToSide) {
  const MorphableModel& m = Model();
  ASSERT_EQ(m.contour_candidates.size(), static_cast<size_t>(kNumJawLandmarks));
  const Eigen::VectorXf& s = m.shape_mean;
  for (int k = 0; k < kNumJawLandmarks; ++k) {
    const std::vector<int>& line = m.contour_candidates[k];
    ASSERT_GE(line.size(), 5u) << k;
    const Eigen::Vector3f first = Vertex(s, line.front()), last = Vertex(s, line.back());
    if (k == 8) {
      EXPECT_GT(first.z(), last.z()) << "chin line goes under the chin";
      continue;
    }
    EXPECT_GT(first.z(), last.z() + 20.0f) << k;
    EXPECT_EQ(first.x() < 0, k < 8) << k;
    // The landmark itself is a candidate.
    EXPECT_NE(std::find(line.begin(), line.end(), m.landmarks[k]), line.end()) << k;
  }
}

TEST(SampleModelTest, UvAndAlbedoInRange) {
  const MorphableModel& m = Model();
  EXPECT_GE(m.uv.minCoeff(), 0.0f);
  EXPECT_LE(m.uv.maxCoeff(), 1.0f);
  EXPECT_GE(m.albedo_mean.minCoeff(), 0.0f);
  EXPECT_LE(m.albedo_mean.maxCoeff(), 1.0f);
  // Lips redder than the cheeks; brows darker.
  const Eigen::Vector3f lip = m.albedo_mean.segment<3>(3 * m.landmarks[62]);
  EXPECT_GT(lip.x() - lip.y(), 0.25f);
  const Eigen::Vector3f brow = m.albedo_mean.segment<3>(3 * m.landmarks[19]);
  const Eigen::Vector3f chin = m.albedo_mean.segment<3>(3 * m.landmarks[8]);
  EXPECT_LT(brow.sum(), 0.7f * chin.sum());
  // Every albedo mode alone at +-2 sigma keeps (nearly) all colours inside [0, 1].
  for (int k = 0; k < m.num_albedo(); ++k) {
    for (float c : {-2.0f, 2.0f}) {
      const Eigen::VectorXf colors = m.albedo_mean + c * m.albedo.basis.col(k);
      const int outside = static_cast<int>((colors.array() < 0.0f || colors.array() > 1.0f).count());
      EXPECT_LT(outside, colors.size() / 100) << m.albedo.names[k] << " at " << c;
    }
  }
}

TEST(SampleModelTest, IdentitySigmasAreMillimetres) {
  const MorphableModel& m = Model();
  auto max_displacement = [&](int k) {
    float best = 0.0f;
    for (int i = 0; i < m.num_vertices(); ++i) best = std::max(best, m.identity.basis.col(k).segment<3>(3 * i).norm());
    return best;
  };
  const int width = ModeIndex(m.identity, "face_width");
  ASSERT_GE(width, 0);
  EXPECT_GT(max_displacement(width), 3.5f);
  EXPECT_LT(max_displacement(width), 6.0f);
  for (int k = 0; k < m.num_identity(); ++k) {
    EXPECT_GT(max_displacement(k), 0.5f) << m.identity.names[k];
    EXPECT_LT(max_displacement(k), 8.0f) << m.identity.names[k];
    EXPECT_NEAR(m.identity.stddev[k], m.identity.basis.col(k).norm(), 1e-3f * m.identity.stddev[k]);
  }
}

}  // namespace
}  // namespace morphfit::models
