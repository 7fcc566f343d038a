// Image reading and writing through OpenCV's in-memory codecs, so that file errors are ours
// (with the path and errno) and writes go through WriteFileAtomically.
#include "morphfit/io/image.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include <opencv2/imgcodecs.hpp>

#include "morphfit/core/file_util.h"

namespace morphfit::io {
namespace {

// The lower-cased extension of the file name, with the dot ("" if none).
std::string Extension(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  const size_t dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  std::string extension = path.substr(dot);
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return extension;
}

// Whether files with this extension store this depth without loss. OpenCV's encoders would
// otherwise convert silently (e.g. a CV_64F image to 8 bits without scaling), which is never
// what a caller meant.
bool DepthFitsExtension(int depth, const std::string& extension) {
  if (depth == CV_8U) return true;
  const bool tiff = extension == ".tif" || extension == ".tiff";
  if (depth == CV_16U) {
    return tiff || extension == ".png" || extension == ".pgm" || extension == ".ppm" ||
           extension == ".pnm" || extension == ".jp2";
  }
  if (depth == CV_32F) return tiff || extension == ".exr" || extension == ".hdr";
  return false;
}

std::string DepthName(int depth) {
  switch (depth) {
    case CV_8U:
      return "8-bit unsigned";
    case CV_8S:
      return "8-bit signed";
    case CV_16U:
      return "16-bit unsigned";
    case CV_16S:
      return "16-bit signed";
    case CV_32S:
      return "32-bit integer";
    case CV_32F:
      return "32-bit float";
    case CV_64F:
      return "64-bit float";
    default:
      return "depth " + std::to_string(depth);
  }
}

}  // namespace

StatusOr<cv::Mat> ReadImage(const std::string& path) {
  MORPHFIT_ASSIGN_OR_RETURN(const std::string bytes, ReadFileToString(path));
  if (bytes.empty()) return DataLossError("cannot decode image '" + path + "': the file is empty");
  cv::Mat image;
  try {
    const cv::Mat buffer(1, static_cast<int>(bytes.size()), CV_8UC1,
                         const_cast<char*>(bytes.data()));
    // IMREAD_COLOR: 8-bit BGR from grey, alpha or 16-bit input, with EXIF orientation applied
    // (imdecode does this like imread; see image_test.cc, which checks it).
    image = cv::imdecode(buffer, cv::IMREAD_COLOR);
  } catch (const cv::Exception& e) {
    return DataLossError("cannot decode image '" + path + "': " + e.what());
  }
  if (image.empty()) {
    return DataLossError("cannot decode image '" + path +
                         "': not an image, or a truncated or unsupported format");
  }
  if (image.type() != CV_8UC3) {
    return InternalError("decoding '" + path + "' gave OpenCV type " +
                         std::to_string(image.type()) + ", expected CV_8UC3");
  }
  return image;
}

Status WriteImage(const std::string& path, const cv::Mat& image) {
  if (image.empty()) return InvalidArgumentError("cannot write image '" + path + "': it is empty");
  const std::string extension = Extension(path);
  bool have_writer = false;
  try {
    have_writer = !extension.empty() && cv::haveImageWriter(path);
  } catch (const cv::Exception&) {
    have_writer = false;
  }
  if (!have_writer) {
    return InvalidArgumentError("cannot write image '" + path + "': unknown extension '" +
                                extension + "' (use e.g. .png or .jpg)");
  }
  if (!DepthFitsExtension(image.depth(), extension)) {
    return InvalidArgumentError("cannot write image '" + path + "': " + DepthName(image.depth()) +
                                " pixels cannot be stored in " + extension +
                                " without loss; convert to 8-bit first");
  }
  if (image.channels() != 1 && image.channels() != 3 && image.channels() != 4) {
    return InvalidArgumentError("cannot write image '" + path +
                                "': expected 1, 3 or 4 channels, found " +
                                std::to_string(image.channels()));
  }
  std::vector<uchar> encoded;
  try {
    if (!cv::imencode(extension, image, encoded)) {
      return InvalidArgumentError("cannot encode image '" + path + "' as " + extension);
    }
  } catch (const cv::Exception& e) {
    return InvalidArgumentError("cannot encode image '" + path + "' as " + extension + ": " +
                                e.what());
  }
  return WriteFileAtomically(
      path, std::string_view(reinterpret_cast<const char*>(encoded.data()), encoded.size()));
}

}  // namespace morphfit::io
