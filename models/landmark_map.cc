// Landmark map files: 68 0-based vertex ids in iBUG order, one per line, '#' comments.
#include <cerrno>
#include <cstdlib>
#include <sstream>

#include "morphfit/core/file_util.h"
#include "morphfit/models/model_io.h"

namespace morphfit::models {

StatusOr<std::vector<int>> ReadLandmarkMap(const std::string& path, int num_vertices) {
  MORPHFIT_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  std::vector<int> ids;
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    const size_t hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    const size_t b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos) continue;
    const size_t e = line.find_last_not_of(" \t\r");
    const std::string token = line.substr(b, e - b + 1);
    char* end = nullptr;
    errno = 0;
    const long v = std::strtol(token.c_str(), &end, 10);
    if (errno != 0 || end == token.c_str() || *end != '\0') {
      return InvalidArgumentError(path + " line " + std::to_string(line_no) +
                                  ": expected one vertex index, found '" + token + "'");
    }
    if (v < 0 || (num_vertices > 0 && v >= num_vertices)) {
      return OutOfRangeError(path + " line " + std::to_string(line_no) + ": vertex index " +
                             std::to_string(v) + " is outside 0.." +
                             std::to_string(num_vertices > 0 ? num_vertices - 1 : 0) +
                             " (the model has " + std::to_string(num_vertices) + " vertices)");
    }
    ids.push_back(static_cast<int>(v));
  }
  if (ids.size() != static_cast<size_t>(kNumLandmarks)) {
    return InvalidArgumentError(path + ": " + std::to_string(ids.size()) +
                                " landmark indices, expected " + std::to_string(kNumLandmarks));
  }
  return ids;
}

Status WriteLandmarkMap(const std::string& path, const std::vector<int>& landmarks) {
  std::ostringstream out;
  out << "# iBUG 68 landmark -> 0-based vertex index (iBUG order, one per line)\n";
  for (int v : landmarks) out << v << "\n";
  return WriteFileAtomically(path, out.str());
}

}  // namespace morphfit::models
