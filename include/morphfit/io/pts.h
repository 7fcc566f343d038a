// 300-W / iBUG `.pts` landmark files.
//
// On disk:
//   version: 1
//   n_points:  68
//   {
//   x y          (N lines, pixel coordinates, 1-BASED: the top-left pixel's centre is (1, 1))
//   }
// In memory: a 2 x N matrix in 0-BASED pixel coordinates (top-left pixel centre (0, 0));
// row 0 = x = image column, row 1 = y = image row. ReadPts subtracts 1 and WritePts adds 1,
// so this is the only place the 1-based convention exists.
#ifndef MORPHFIT_IO_PTS_H_
#define MORPHFIT_IO_PTS_H_

#include <string>

#include <Eigen/Core>

#include "morphfit/core/status.h"

namespace morphfit::io {

// Reads a .pts file. `expected_points` > 0 requires that many points (68 for the iBUG
// markup); <= 0 accepts any count. Accepts CRLF line ends, blank lines and `n_points:68`
// without spaces. Errors name the file (and the line where there is one) with what was
// expected and what was found: NotFound for a missing file; DataLoss for an empty file, a bad
// or missing header, a missing '{' or '}', a line that is not two numbers, NaN/Inf, a point
// count that differs from the header, or text after '}'; InvalidArgument when the header's
// count differs from `expected_points`.
StatusOr<Eigen::Matrix2Xd> ReadPts(const std::string& path, int expected_points = 68);

// Writes `points` (2 x N, 0-based) atomically in the format above with "%.3f" values.
// InvalidArgument if a coordinate is NaN/Inf; the file error otherwise.
Status WritePts(const std::string& path, const Eigen::Matrix2Xd& points);

}  // namespace morphfit::io

#endif  // MORPHFIT_IO_PTS_H_
