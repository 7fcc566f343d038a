// Image files through OpenCV, with the conventions the rest of morphfit assumes: 8-bit BGR,
// upright (EXIF orientation applied), errors that name the file, atomic writes.
#ifndef MORPHFIT_IO_IMAGE_H_
#define MORPHFIT_IO_IMAGE_H_

#include <string>

#include <opencv2/core.hpp>

#include "morphfit/core/status.h"

namespace morphfit::io {

// Reads any format OpenCV decodes into CV_8UC3 BGR. Grey images are replicated to three
// channels, alpha is dropped (not composited), 16-bit images are scaled to 8 bits, and the
// EXIF orientation tag of JPEGs is applied, so the result is the image as a viewer shows it.
// NotFound if the file is missing; DataLoss if it exists but cannot be decoded (empty,
// truncated, not an image); both name the file.
StatusOr<cv::Mat> ReadImage(const std::string& path);

// Encodes `image` by the extension of `path` (.png, .jpg/.jpeg, .bmp, .tiff, .webp, ... as
// this OpenCV build supports; case-insensitive) and writes it atomically. `image` has 1, 3 or
// 4 channels (grey, BGR, BGRA) of CV_8U; CV_16U also for .png/.tif/.tiff/.pgm/.ppm/.pnm/.jp2,
// CV_32F for .tif/.tiff/.exr/.hdr. InvalidArgument for an empty image, a missing or unknown
// extension, or a type the format cannot store (rather than OpenCV's silent conversion); the
// file error otherwise. No partial file is left on failure.
Status WriteImage(const std::string& path, const cv::Mat& image);

}  // namespace morphfit::io

#endif  // MORPHFIT_IO_IMAGE_H_
