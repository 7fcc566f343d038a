// Images: round trips, conversion to 8-bit BGR, EXIF orientation, and errors naming the file.
#include "morphfit/io/image.h"

#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include "../core/test_dir.h"
#include "morphfit/core/file_util.h"

namespace morphfit::io {
namespace {

cv::Mat Gradient(int rows, int cols) {
  cv::Mat image(rows, cols, CV_8UC3);
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      image.at<cv::Vec3b>(r, c) = cv::Vec3b(static_cast<uchar>(3 * c), static_cast<uchar>(5 * r),
                                            static_cast<uchar>((r * c) % 256));
    }
  }
  return image;
}

TEST(ImageTest, PngRoundTripIsExact) {
  TestDir dir;
  const cv::Mat image = Gradient(17, 31);
  for (const char* name : {"a.png", "b.PNG", "c.bmp"}) {
    ASSERT_TRUE(WriteImage(dir.Path(name), image).ok()) << name;
    const StatusOr<cv::Mat> read = ReadImage(dir.Path(name));
    ASSERT_TRUE(read.ok()) << read.status();
    ASSERT_EQ(read->type(), CV_8UC3);
    ASSERT_EQ(read->size(), image.size());
    EXPECT_EQ(cv::norm(*read, image, cv::NORM_INF), 0.0) << name;
  }
  EXPECT_EQ(dir.List(), (std::vector<std::string>{"a.png", "b.PNG", "c.bmp"}));
}

TEST(ImageTest, JpegRoundTripIsClose) {
  TestDir dir;
  cv::Mat image(32, 48, CV_8UC3, cv::Scalar(40, 120, 200));
  ASSERT_TRUE(WriteImage(dir.Path("x.jpg"), image).ok());
  const StatusOr<cv::Mat> read = ReadImage(dir.Path("x.jpg"));
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), image.size());
  // A flat colour survives JPEG within a few levels (chroma subsampling and rounding).
  EXPECT_LE(cv::norm(*read, image, cv::NORM_INF), 4.0);
}

TEST(ImageTest, GreyAlphaAnd16BitBecome8BitBgr) {
  TestDir dir;
  const cv::Mat grey(5, 7, CV_8UC1, cv::Scalar(77));
  ASSERT_TRUE(WriteImage(dir.Path("grey.png"), grey).ok());
  StatusOr<cv::Mat> read = ReadImage(dir.Path("grey.png"));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->type(), CV_8UC3);
  EXPECT_EQ(read->at<cv::Vec3b>(2, 3), cv::Vec3b(77, 77, 77));

  const cv::Mat bgra(5, 7, CV_8UC4, cv::Scalar(10, 20, 30, 0));  // fully transparent
  ASSERT_TRUE(WriteImage(dir.Path("alpha.png"), bgra).ok());
  read = ReadImage(dir.Path("alpha.png"));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->type(), CV_8UC3);
  EXPECT_EQ(read->at<cv::Vec3b>(0, 0), cv::Vec3b(10, 20, 30));  // alpha dropped, not composited

  const cv::Mat deep(4, 4, CV_16UC3, cv::Scalar(256 * 200, 256 * 100, 256 * 50));
  ASSERT_TRUE(WriteImage(dir.Path("deep.png"), deep).ok());
  read = ReadImage(dir.Path("deep.png"));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->type(), CV_8UC3);
  EXPECT_EQ(read->at<cv::Vec3b>(1, 1), cv::Vec3b(200, 100, 50));
}

// Inserts an EXIF APP1 segment holding only an Orientation tag right after the JPEG SOI
// marker. Layout (TIFF little-endian): "Exif\0\0", "II", 42, IFD offset 8, one IFD entry
// {tag 0x0112, type SHORT, count 1, value}, next-IFD offset 0.
std::string WithExifOrientation(const std::vector<uchar>& jpeg, uint16_t orientation) {
  const unsigned char tiff[] = {
      'I', 'I', 0x2a, 0x00, 0x08, 0x00, 0x00, 0x00,              // header, IFD at offset 8
      0x01, 0x00,                                                // one entry
      0x12, 0x01, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00,            // Orientation, SHORT, 1
      static_cast<unsigned char>(orientation), 0x00, 0x00, 0x00,  // value, padding
      0x00, 0x00, 0x00, 0x00};                                   // no next IFD
  std::string payload = std::string("Exif\0\0", 6) +
                        std::string(reinterpret_cast<const char*>(tiff), sizeof(tiff));
  const size_t length = payload.size() + 2;  // the length field counts itself
  std::string segment = "\xff\xe1";
  segment.push_back(static_cast<char>(length >> 8));
  segment.push_back(static_cast<char>(length & 0xff));
  segment += payload;
  std::string bytes(reinterpret_cast<const char*>(jpeg.data()), jpeg.size());
  EXPECT_EQ(bytes.substr(0, 2), "\xff\xd8");
  return bytes.substr(0, 2) + segment + bytes.substr(2);
}

TEST(ImageTest, ExifOrientationIsApplied) {
  TestDir dir;
  // 32 wide x 16 high: left half red, right half blue (large flat blocks survive JPEG).
  cv::Mat image(16, 32, CV_8UC3, cv::Scalar(255, 0, 0));  // blue
  image(cv::Rect(0, 0, 16, 16)).setTo(cv::Scalar(0, 0, 255));  // red
  std::vector<uchar> jpeg;
  ASSERT_TRUE(cv::imencode(".jpg", image, jpeg, {cv::IMWRITE_JPEG_QUALITY, 95}));

  // Orientation 1 (normal): unchanged.
  std::ofstream(dir.Path("o1.jpg"), std::ios::binary) << WithExifOrientation(jpeg, 1);
  StatusOr<cv::Mat> read = ReadImage(dir.Path("o1.jpg"));
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->size(), cv::Size(32, 16));

  // Orientation 6: the viewer rotates 90 degrees clockwise, so the image becomes 16 wide x 32
  // high with the red (former left) half on top.
  std::ofstream(dir.Path("o6.jpg"), std::ios::binary) << WithExifOrientation(jpeg, 6);
  read = ReadImage(dir.Path("o6.jpg"));
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), cv::Size(16, 32));
  const cv::Vec3b top = read->at<cv::Vec3b>(4, 8);
  const cv::Vec3b bottom = read->at<cv::Vec3b>(27, 8);
  EXPECT_GT(top[2], 200) << "top should be red: " << top;
  EXPECT_LT(top[0], 60) << top;
  EXPECT_GT(bottom[0], 200) << "bottom should be blue: " << bottom;
  EXPECT_LT(bottom[2], 60) << bottom;

  // Orientation 3: rotated 180 degrees, so red moves to the right.
  std::ofstream(dir.Path("o3.jpg"), std::ios::binary) << WithExifOrientation(jpeg, 3);
  read = ReadImage(dir.Path("o3.jpg"));
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), cv::Size(32, 16));
  EXPECT_GT(read->at<cv::Vec3b>(8, 28)[2], 200);
  EXPECT_GT(read->at<cv::Vec3b>(8, 3)[0], 200);
}

TEST(ImageTest, MissingAndUndecodableFilesNameTheFile) {
  TestDir dir;
  const StatusOr<cv::Mat> missing = ReadImage(dir.Path("nobody.jpg"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("nobody.jpg"), std::string::npos);

  std::ofstream(dir.Path("text.png"), std::ios::binary) << "this is not a png";
  const StatusOr<cv::Mat> garbage = ReadImage(dir.Path("text.png"));
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(garbage.status().message().find("text.png"), std::string::npos);

  std::ofstream(dir.Path("empty.jpg"), std::ios::binary) << "";
  const StatusOr<cv::Mat> empty = ReadImage(dir.Path("empty.jpg"));
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(empty.status().message().find("empty.jpg"), std::string::npos);

  // A PNG cut in half: the signature is right but the data stop.
  std::vector<uchar> png;
  ASSERT_TRUE(cv::imencode(".png", Gradient(64, 64), png));
  std::ofstream(dir.Path("half.png"), std::ios::binary)
      << std::string(reinterpret_cast<const char*>(png.data()), png.size() / 2);
  const StatusOr<cv::Mat> half = ReadImage(dir.Path("half.png"));
  ASSERT_FALSE(half.ok());
  EXPECT_NE(half.status().message().find("half.png"), std::string::npos);
}

TEST(ImageTest, WriteErrorsLeaveNothing) {
  TestDir dir;
  const cv::Mat image = Gradient(4, 4);
  const Status unknown = WriteImage(dir.Path("x.xyz"), image);
  EXPECT_EQ(unknown.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.message().find("unknown extension '.xyz'"), std::string::npos) << unknown;
  EXPECT_EQ(WriteImage(dir.Path("noext"), image).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(WriteImage(dir.Path("empty.png"), cv::Mat()).code(), StatusCode::kInvalidArgument);
  const cv::Mat doubles(4, 4, CV_64FC3, cv::Scalar(0.5, 0.5, 0.5));
  const Status lossy = WriteImage(dir.Path("double.jpg"), doubles);
  EXPECT_EQ(lossy.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(lossy.message().find("64-bit float pixels cannot be stored in .jpg"),
            std::string::npos)
      << lossy;
  const cv::Mat deep(4, 4, CV_16UC1, cv::Scalar(1000));
  EXPECT_EQ(WriteImage(dir.Path("deep.jpg"), deep).code(), StatusCode::kInvalidArgument);
  const cv::Mat two_channels(4, 4, CV_8UC2, cv::Scalar(1, 2));
  EXPECT_EQ(WriteImage(dir.Path("two.png"), two_channels).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(WriteImage(dir.Path("missing/x.png"), image).code(), StatusCode::kNotFound);
  EXPECT_TRUE(dir.List().empty());
}

}  // namespace
}  // namespace morphfit::io
