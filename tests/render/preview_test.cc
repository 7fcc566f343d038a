// Tests of the preview rasterizer: coverage, determinism, normal-map colours, culling, the
// pose convention, depth shading and the contact sheet.
#include "morphfit/render/preview.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "morphfit/models/sample_model.h"

namespace morphfit::render {
namespace {

const models::MorphableModel& Model() {
  static const models::MorphableModel* model = new models::MorphableModel(models::MakeSampleModel());
  return *model;
}

int CountNonBackground(const cv::Mat& image, const cv::Vec3b& background) {
  int count = 0;
  for (int v = 0; v < image.rows; ++v) {
    for (int u = 0; u < image.cols; ++u) count += image.at<cv::Vec3b>(v, u) != background;
  }
  return count;
}

TEST(PreviewTest, SampleFaceCoversAPlausibleArea) {
  PreviewOptions options;
  options.width = options.height = 256;
  const cv::Mat image = RenderPreview(Model().shape_mean, Model().triangles, &Model().albedo_mean, options);
  ASSERT_EQ(image.type(), CV_8UC3);
  ASSERT_EQ(image.rows, 256);
  ASSERT_EQ(image.cols, 256);
  const double covered = CountNonBackground(image, options.background) / (256.0 * 256.0);
  EXPECT_GT(covered, 0.3);
  EXPECT_LT(covered, 0.8);
}

TEST(PreviewTest, Deterministic) {
  PreviewOptions options;
  options.width = options.height = 200;
  options.yaw_deg = 30.0;
  const cv::Mat a = RenderPreview(Model().shape_mean, Model().triangles, &Model().albedo_mean, options);
  const cv::Mat b = RenderPreview(Model().shape_mean, Model().triangles, &Model().albedo_mean, options);
  EXPECT_EQ(cv::norm(a, b, cv::NORM_INF), 0.0);
}

TEST(PreviewTest, NormalMapIsBluishFacingTheViewer) {
  PreviewOptions options;
  options.width = options.height = 128;
  options.mode = PreviewOptions::Mode::kNormals;
  const cv::Mat image = RenderPreview(Model().shape_mean, Model().triangles, nullptr, options);
  const cv::Vec3b centre = image.at<cv::Vec3b>(64, 64);  // BGR
  EXPECT_GT(centre[0], 190);
  EXPECT_GT(centre[0], centre[1]);
  EXPECT_GT(centre[0], centre[2]);
}

// A unit square in the z = 0 plane, two triangles, counter-clockwise seen from +z.
struct Square {
  Eigen::VectorXf vertices{12};
  Eigen::Matrix<int32_t, 3, Eigen::Dynamic> triangles{3, 2};
  Square() {
    vertices << -1, -1, 0, 1, -1, 0, 1, 1, 0, -1, 1, 0;
    triangles << 0, 0, 1, 2, 2, 3;
  }
};

TEST(PreviewTest, BackFacesAreCulled) {
  Square square;
  PreviewOptions options;
  options.width = options.height = 64;
  EXPECT_GT(CountNonBackground(RenderPreview(square.vertices, square.triangles, nullptr, options),
                               options.background), 64 * 64 / 2);
  options.yaw_deg = 180.0;  // now seen from behind
  EXPECT_EQ(CountNonBackground(RenderPreview(square.vertices, square.triangles, nullptr, options),
                               options.background), 0);
}

TEST(PreviewTest, PositiveYawTurnsTheFaceTowardImageRight) {
  // Colour the subject's left half (+x) red and the right half blue: turning the face toward
  // its left hides the left half, so less red than blue shows.
  const models::MorphableModel& m = Model();
  Eigen::VectorXf colors(m.shape_mean.size());
  for (int i = 0; i < m.num_vertices(); ++i) {
    colors.segment<3>(3 * i) = m.shape_mean[3 * i] > 0 ? Eigen::Vector3f(1, 0, 0) : Eigen::Vector3f(0, 0, 1);
  }
  PreviewOptions options;
  options.width = options.height = 128;
  options.yaw_deg = 50.0;
  const cv::Mat image = RenderPreview(m.shape_mean, m.triangles, &colors, options);
  int red = 0, blue = 0;
  for (int v = 0; v < image.rows; ++v) {
    for (int u = 0; u < image.cols; ++u) {
      const cv::Vec3b p = image.at<cv::Vec3b>(v, u);
      red += p[2] > 2 * p[0] + 20;
      blue += p[0] > 2 * p[2] + 20;
    }
  }
  EXPECT_LT(red * 2, blue);
}

TEST(PreviewTest, DepthIsBrighterWhenNearer) {
  Square square;
  PreviewOptions options;
  options.width = options.height = 64;
  options.mode = PreviewOptions::Mode::kDepth;
  options.pitch_deg = 40.0;  // the square's top edge (+y) tilts away from the viewer
  const cv::Mat image = RenderPreview(square.vertices, square.triangles, nullptr, options);
  int top = -1, bottom = -1;
  for (int v = 0; v < image.rows; ++v) {
    if (image.at<cv::Vec3b>(v, 32) != options.background) {
      if (top < 0) top = v;
      bottom = v;
    }
  }
  ASSERT_GT(bottom, top + 10);
  EXPECT_GT(image.at<cv::Vec3b>(bottom - 1, 32)[0], image.at<cv::Vec3b>(top + 1, 32)[0] + 30);
}

TEST(PreviewTest, ProjectedLandmarksLandOnTheRenderedFace) {
  const auto& m = Model();
  // Nose tip (30), mouth corners (48, 54) and inner eye corners (39, 42) are visible at yaw
  // +-30; an inner corner seen obliquely must not look through the eye fissure.
  for (double yaw : {-30.0, 30.0}) {
    PreviewOptions options;
    options.width = options.height = 256;
    options.yaw_deg = yaw;
    const cv::Mat image = RenderPreview(m.shape_mean, m.triangles, &m.albedo_mean, options);
    const Eigen::Matrix2Xd points = ProjectPreview(m.shape_mean, m.landmarks, options);
    ASSERT_EQ(points.cols(), 68);
    for (int i : {30, 48, 54, 39, 42}) {
      const int u = static_cast<int>(std::lround(points(0, i)));
      const int v = static_cast<int>(std::lround(points(1, i)));
      ASSERT_TRUE(u >= 0 && u < 256 && v >= 0 && v < 256) << "landmark " << i;
      EXPECT_NE(image.at<cv::Vec3b>(v, u), options.background) << "landmark " << i << " yaw " << yaw;
    }
    EXPECT_LT(points(0, 36), points(0, 45));  // image-left eye corner left of the other
    EXPECT_LT(points(1, 27), points(1, 33));  // nose bridge above the nose base
  }
}

TEST(PreviewTest, ContactSheetTilesWithCaptions) {
  const std::vector<cv::Mat> images(5, cv::Mat(40, 60, CV_8UC3, cv::Scalar(0, 0, 255)));
  const cv::Mat sheet = MakeContactSheet(images, {"a", "b", "c", "d", "e"}, 3);
  EXPECT_EQ(sheet.cols, 3 * 60);
  EXPECT_EQ(sheet.rows, 2 * (40 + 24));
  EXPECT_EQ(sheet.at<cv::Vec3b>(10, 10), cv::Vec3b(0, 0, 255));
  EXPECT_TRUE(MakeContactSheet({}, {}, 3).empty());
}

}  // namespace
}  // namespace morphfit::render
