// 300-W .pts reader and writer; see pts.h for the format and the 1-based convention.
#include "morphfit/io/pts.h"

#include <charconv>
#include <cmath>
#include <system_error>
#include <string_view>
#include <vector>

#include "morphfit/core/file_util.h"

namespace morphfit::io {
namespace {

std::string_view Trim(std::string_view text) {
  const char* kSpace = " \t\r\f\v";
  const size_t first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  const size_t last = text.find_last_not_of(kSpace);
  return text.substr(first, last - first + 1);
}

// Parses a whole token as a double, independent of the C locale. Accepts "nan"/"inf" so the
// caller can report them specifically; a leading '+' is allowed.
bool ParseDouble(std::string_view token, double* value) {
  if (!token.empty() && token.front() == '+') token.remove_prefix(1);
  if (token.empty()) return false;
  const char* end = token.data() + token.size();
  const std::from_chars_result result = std::from_chars(token.data(), end, *value);
  return result.ec == std::errc() && result.ptr == end;
}

// Appends `value` with three decimals, independent of the C locale.
void AppendFixed3(double value, std::string* text) {
  char buffer[400];  // enough for any finite double in fixed notation
  const std::to_chars_result result =
      std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::fixed, 3);
  text->append(buffer, result.ptr);
}

// Splits on spaces and tabs.
std::vector<std::string_view> Tokens(std::string_view line) {
  std::vector<std::string_view> tokens;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    const size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) tokens.push_back(line.substr(start, i - start));
  }
  return tokens;
}

std::string LinePrefix(const std::string& path, int line_number) {
  return path + " line " + std::to_string(line_number) + ": ";
}

}  // namespace

StatusOr<Eigen::Matrix2Xd> ReadPts(const std::string& path, int expected_points) {
  MORPHFIT_ASSIGN_OR_RETURN(const std::string contents, ReadFileToString(path));
  if (contents.find_first_not_of(" \t\r\n\f\v") == std::string::npos) {
    return DataLossError(path +
                         ": empty file, expected a 300-W .pts header ('version: 1', "
                         "'n_points: N', '{')");
  }

  enum class Section { kHeader, kPoints, kAfter };
  Section section = Section::kHeader;
  int header_points = -1;  // from "n_points:"
  std::vector<double> coordinates;
  int line_number = 0;
  size_t line_start = 0;
  while (line_start < contents.size()) {
    size_t line_end = contents.find('\n', line_start);
    if (line_end == std::string::npos) line_end = contents.size();
    const std::string_view line =
        Trim(std::string_view(contents).substr(line_start, line_end - line_start));
    line_start = line_end + 1;
    ++line_number;
    if (line.empty()) continue;

    if (section == Section::kHeader) {
      if (line == "{") {
        if (header_points < 0) {
          return DataLossError(LinePrefix(path, line_number) +
                               "found '{' before the 'n_points: N' header line");
        }
        section = Section::kPoints;
        continue;
      }
      const size_t colon = line.find(':');
      const std::string_view key = Trim(line.substr(0, colon));
      const std::string_view value =
          colon == std::string_view::npos ? std::string_view() : Trim(line.substr(colon + 1));
      if (colon != std::string_view::npos && key == "version") {
        double version;
        if (!ParseDouble(value, &version)) {
          return DataLossError(LinePrefix(path, line_number) + "expected 'version: 1', found '" +
                               std::string(line) + "'");
        }
        continue;
      }
      if (colon != std::string_view::npos && key == "n_points") {
        double count;
        if (!ParseDouble(value, &count) || count < 0 || count != std::floor(count) || count > 1e7) {
          return DataLossError(LinePrefix(path, line_number) +
                               "expected 'n_points: N' with N a non-negative integer, found '" +
                               std::string(line) + "'");
        }
        header_points = static_cast<int>(count);
        if (expected_points > 0 && header_points != expected_points) {
          return InvalidArgumentError(path + ": header says n_points " +
                                      std::to_string(header_points) + ", expected " +
                                      std::to_string(expected_points));
        }
        continue;
      }
      if (header_points >= 0) {
        return DataLossError(LinePrefix(path, line_number) +
                             "expected '{' before the points, found '" + std::string(line) + "'");
      }
      return DataLossError(LinePrefix(path, line_number) +
                           "expected a header line 'version: 1' or 'n_points: N', found '" +
                           std::string(line) + "'");
    }

    if (section == Section::kPoints) {
      const int num_read = static_cast<int>(coordinates.size() / 2);
      if (line == "}") {
        if (num_read != header_points) {
          return DataLossError(path + ": " + std::to_string(num_read) +
                               " points before '}' (line " + std::to_string(line_number) +
                               "), expected " + std::to_string(header_points) + " from the header");
        }
        section = Section::kAfter;
        continue;
      }
      const std::vector<std::string_view> tokens = Tokens(line);
      double x = 0.0, y = 0.0;
      if (tokens.size() != 2 || !ParseDouble(tokens[0], &x) || !ParseDouble(tokens[1], &y)) {
        return DataLossError(LinePrefix(path, line_number) + "expected two numbers 'x y' (point " +
                             std::to_string(num_read + 1) + " of " + std::to_string(header_points) +
                             ") or '}', found '" + std::string(line) + "'");
      }
      if (!std::isfinite(x) || !std::isfinite(y)) {
        return DataLossError(LinePrefix(path, line_number) + "point " +
                             std::to_string(num_read + 1) + " is not finite: '" +
                             std::string(line) + "'");
      }
      if (num_read >= header_points) {
        return DataLossError(LinePrefix(path, line_number) + "more than " +
                             std::to_string(header_points) +
                             " points (the header's n_points) before '}'");
      }
      coordinates.push_back(x - 1.0);  // 1-based on disk, 0-based in memory
      coordinates.push_back(y - 1.0);
      continue;
    }

    return DataLossError(LinePrefix(path, line_number) + "unexpected text after '}': '" +
                         std::string(line) + "'");
  }

  if (section == Section::kHeader) {
    if (header_points < 0) {
      return DataLossError(path + ": no 'n_points: N' header line and no '{' found");
    }
    return DataLossError(path + ": no '{' found after the header (expected " +
                         std::to_string(header_points) + " points between '{' and '}')");
  }
  if (section == Section::kPoints) {
    return DataLossError(path + ": missing closing '}' after " +
                         std::to_string(coordinates.size() / 2) + " points (expected " +
                         std::to_string(header_points) + "); the file may be truncated");
  }
  const Eigen::Index num_points = static_cast<Eigen::Index>(coordinates.size() / 2);
  return Eigen::Matrix2Xd(Eigen::Map<const Eigen::Matrix2Xd>(coordinates.data(), 2, num_points));
}

Status WritePts(const std::string& path, const Eigen::Matrix2Xd& points) {
  if (!points.allFinite()) {
    return InvalidArgumentError("cannot write '" + path + "': landmarks contain NaN or Inf");
  }
  std::string text = "version: 1\nn_points:  " + std::to_string(points.cols()) + "\n{\n";
  for (Eigen::Index i = 0; i < points.cols(); ++i) {
    AppendFixed3(points(0, i) + 1.0, &text);  // 0-based in memory, 1-based on disk
    text += ' ';
    AppendFixed3(points(1, i) + 1.0, &text);
    text += '\n';
  }
  text += "}\n";
  return WriteFileAtomically(path, text);
}

}  // namespace morphfit::io
