// .pts landmarks: round trip with the 1-based on-disk convention, tolerated variations, and
// an error naming file and line for each malformed case.
#include "morphfit/io/pts.h"

#include <fstream>
#include <limits>
#include <string>

#include <gtest/gtest.h>

#include "../core/test_dir.h"
#include "morphfit/core/file_util.h"

namespace morphfit::io {
namespace {

std::string Points(int n, int first_line_value = 1) {
  std::string text;
  for (int i = 0; i < n; ++i) {
    text += std::to_string(first_line_value + i) + ".5 " + std::to_string(2 * i + 1) + "\n";
  }
  return text;
}

std::string WriteText(const TestDir& dir, const std::string& name, const std::string& text) {
  const std::string path = dir.Path(name);
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

TEST(PtsTest, RoundTripIsOneBasedOnDisk) {
  TestDir dir;
  Eigen::Matrix2Xd points(2, 68);
  for (int i = 0; i < 68; ++i) points.col(i) << 10.25 * i, 3.5 + i;
  points.col(0) << 0.0, 0.0;
  const std::string path = dir.Path("face.pts");
  ASSERT_TRUE(WritePts(path, points).ok());
  const std::string text = ReadFileToString(path).value();
  EXPECT_EQ(text.rfind("version: 1\nn_points:  68\n{\n1.000 1.000\n11.250 5.500\n", 0), 0u)
      << text;
  EXPECT_EQ(text.substr(text.size() - 2), "}\n");
  const StatusOr<Eigen::Matrix2Xd> read = ReadPts(path);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->cols(), 68);
  EXPECT_TRUE(read->isApprox(points, 1e-12)) << "max difference "
                                              << (*read - points).cwiseAbs().maxCoeff();
  EXPECT_EQ((*read)(0, 0), 0.0);
  EXPECT_EQ(dir.List(), std::vector<std::string>{"face.pts"});  // no temporaries left
}

TEST(PtsTest, RejectsNonFiniteOnWrite) {
  TestDir dir;
  Eigen::Matrix2Xd points = Eigen::Matrix2Xd::Zero(2, 3);
  points(1, 2) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(WritePts(dir.Path("bad.pts"), points).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(dir.List().empty());
}

TEST(PtsTest, AcceptsCrlfBlankLinesAndCompactHeader) {
  TestDir dir;
  const std::string path = WriteText(
      dir, "crlf.pts", "version: 1\r\nn_points:3\r\n\r\n{\r\n1 1\r\n\r\n2.5 3e1\r\n  4\t5 \r\n}\r\n\r\n");
  const StatusOr<Eigen::Matrix2Xd> points = ReadPts(path, 3);
  ASSERT_TRUE(points.ok()) << points.status();
  Eigen::Matrix2Xd expected(2, 3);
  expected << 0, 1.5, 3, 0, 29, 4;
  EXPECT_EQ(*points, expected);
  // expected_points <= 0 accepts any count; without a final newline too.
  const std::string any = WriteText(dir, "any.pts", "version: 1\nn_points: 2\n{\n1 2\n3 4\n}");
  const StatusOr<Eigen::Matrix2Xd> any_points = ReadPts(any, 0);
  ASSERT_TRUE(any_points.ok()) << any_points.status();
  EXPECT_EQ(any_points->cols(), 2);
}

struct ErrorCase {
  const char* name;
  std::string text;
  StatusCode code;
  std::string fragment;  // must appear in the message, after the file name
};

TEST(PtsTest, ErrorsNameFileLineExpectedAndFound) {
  const std::string header = "version: 1\nn_points: 68\n{\n";
  const ErrorCase cases[] = {
      {"count67.pts", "version: 1\nn_points:  67\n{\n" + Points(67) + "}\n",
       StatusCode::kInvalidArgument, "count67.pts: header says n_points 67, expected 68"},
      {"abc.pts", header + Points(8) + "abc\n" + Points(59) + "}\n", StatusCode::kDataLoss,
       "abc.pts line 12: expected two numbers 'x y' (point 9 of 68) or '}', found 'abc'"},
      {"three.pts", header + Points(3) + "1 2 3\n}\n", StatusCode::kDataLoss,
       "three.pts line 7: expected two numbers 'x y'"},
      {"short.pts", header + Points(67) + "}\n", StatusCode::kDataLoss,
       "short.pts: 67 points before '}' (line 71), expected 68"},
      {"long.pts", header + Points(69) + "}\n", StatusCode::kDataLoss,
       "long.pts line 72: more than 68 points"},
      {"nobrace.pts", "version: 1\nn_points: 68\n" + Points(68) + "}\n", StatusCode::kDataLoss,
       "nobrace.pts line 3: expected '{' before the points, found '1.5 1'"},
      {"noclose.pts", header + Points(68), StatusCode::kDataLoss,
       "noclose.pts: missing closing '}' after 68 points"},
      {"nan.pts", header + Points(4) + "nan 3\n" + Points(63) + "}\n", StatusCode::kDataLoss,
       "nan.pts line 8: point 5 is not finite: 'nan 3'"},
      {"inf.pts", header + Points(4) + "2 -inf\n" + Points(63) + "}\n", StatusCode::kDataLoss,
       "inf.pts line 8: point 5 is not finite"},
      {"empty.pts", "", StatusCode::kDataLoss, "empty.pts: empty file"},
      {"blank.pts", "\n \r\n", StatusCode::kDataLoss, "blank.pts: empty file"},
      {"noheader.pts", "{\n1 2\n}\n", StatusCode::kDataLoss,
       "noheader.pts line 1: found '{' before the 'n_points: N' header line"},
      {"badcount.pts", "version: 1\nn_points: many\n{\n}\n", StatusCode::kDataLoss,
       "badcount.pts line 2: expected 'n_points: N'"},
      {"garbage.pts", "hello world\n", StatusCode::kDataLoss,
       "garbage.pts line 1: expected a header line 'version: 1' or 'n_points: N', found 'hello "
       "world'"},
      {"headeronly.pts", "version: 1\nn_points: 68\n", StatusCode::kDataLoss,
       "headeronly.pts: no '{' found"},
      {"after.pts", header + Points(68) + "}\nextra\n", StatusCode::kDataLoss,
       "after.pts line 73: unexpected text after '}': 'extra'"},
  };
  TestDir dir;
  for (const ErrorCase& c : cases) {
    const std::string path = WriteText(dir, c.name, c.text);
    const StatusOr<Eigen::Matrix2Xd> points = ReadPts(path);
    ASSERT_FALSE(points.ok()) << c.name;
    EXPECT_EQ(points.status().code(), c.code) << c.name << ": " << points.status();
    // Messages start with the full path; compare from the file name on.
    const std::string& message = points.status().message();
    EXPECT_EQ(message.rfind(dir.path(), 0), 0u) << message;
    EXPECT_NE(message.find(c.fragment), std::string::npos)
        << c.name << "\n  message: " << message << "\n  wanted:  " << c.fragment;
  }
}

TEST(PtsTest, MissingFileIsNotFound) {
  TestDir dir;
  const StatusOr<Eigen::Matrix2Xd> points = ReadPts(dir.Path("absent.pts"));
  ASSERT_FALSE(points.ok());
  EXPECT_EQ(points.status().code(), StatusCode::kNotFound);
  EXPECT_NE(points.status().message().find("absent.pts"), std::string::npos);
}

}  // namespace
}  // namespace morphfit::io
