// OBJ and PLY mesh writers and readers; see mesh_io.h for shapes and conventions.
#include "morphfit/io/mesh_io.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <string_view>
#include <system_error>
#include <vector>

#include "morphfit/core/file_util.h"

namespace morphfit::io {
namespace {

// ---- shared helpers ----------------------------------------------------------------------

Status CheckMeshArguments(const std::string& path, const Eigen::VectorXf& vertices,
                          const Triangles& triangles, const Eigen::VectorXf* colors) {
  const std::string prefix = "cannot write mesh '" + path + "': ";
  if (vertices.size() % 3 != 0) {
    return InvalidArgumentError(prefix + "vertices must have 3N entries, found " +
                                std::to_string(vertices.size()));
  }
  if (!vertices.allFinite()) return InvalidArgumentError(prefix + "vertices contain NaN or Inf");
  const int64_t num_vertices = vertices.size() / 3;
  if (colors != nullptr) {
    if (colors->size() != vertices.size()) {
      return InvalidArgumentError(prefix +
                                  "colors must have 3N = " + std::to_string(vertices.size()) +
                                  " entries, found " + std::to_string(colors->size()));
    }
    if (!colors->allFinite()) return InvalidArgumentError(prefix + "colors contain NaN or Inf");
  }
  for (Eigen::Index t = 0; t < triangles.cols(); ++t) {
    for (int k = 0; k < 3; ++k) {
      const int32_t index = triangles(k, t);
      if (index < 0 || index >= num_vertices) {
        return InvalidArgumentError(prefix + "triangle " + std::to_string(t) +
                                    " has vertex index " + std::to_string(index) +
                                    ", expected [0, " + std::to_string(num_vertices) + ")");
      }
    }
  }
  return OkStatus();
}

// Shortest text that reads back to the same float; locale-independent.
void AppendFloat(float value, std::string* text) {
  char buffer[32];
  const std::to_chars_result result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  text->append(buffer, result.ptr);
}

void AppendInt(int64_t value, std::string* text) {
  char buffer[24];
  const std::to_chars_result result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  text->append(buffer, result.ptr);
}

// Parses a whole token as a number (float, double or int64_t), independent of the C locale;
// a leading '+' is allowed.
template <typename T>
bool ParseNumber(std::string_view token, T* value) {
  if (!token.empty() && token.front() == '+') token.remove_prefix(1);
  if (token.empty()) return false;
  const char* end = token.data() + token.size();
  const std::from_chars_result result = std::from_chars(token.data(), end, *value);
  return result.ec == std::errc() && result.ptr == end;
}

std::vector<std::string_view> SplitWhitespace(std::string_view line) {
  std::vector<std::string_view> tokens;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && std::strchr(" \t\r\f\v", line[i]) != nullptr) ++i;
    const size_t start = i;
    while (i < line.size() && std::strchr(" \t\r\f\v", line[i]) == nullptr) ++i;
    if (i > start) tokens.push_back(line.substr(start, i - start));
  }
  return tokens;
}

// 0..255, rounded; colours are clamped to [0, 1] first.
uint8_t QuantizeColor(float value) {
  const float clamped = std::min(1.0f, std::max(0.0f, value));
  return static_cast<uint8_t>(std::lround(clamped * 255.0f));
}

// Fans a polygon (v0, v1, ..., vk) into triangles (v0, vi, vi+1). False (nothing appended)
// if an index does not fit the int32 triangle type.
bool AppendFan(const std::vector<int64_t>& polygon, std::vector<int32_t>* triangles) {
  for (int64_t index : polygon) {
    if (index < 0 || index > std::numeric_limits<int32_t>::max()) return false;
  }
  for (size_t i = 1; i + 1 < polygon.size(); ++i) {
    triangles->push_back(static_cast<int32_t>(polygon[0]));
    triangles->push_back(static_cast<int32_t>(polygon[i]));
    triangles->push_back(static_cast<int32_t>(polygon[i + 1]));
  }
  return true;
}

Mesh MakeMesh(std::vector<float> vertices, std::vector<int32_t> triangles,
              std::vector<float> colors) {
  Mesh mesh;
  mesh.vertices = Eigen::Map<const Eigen::VectorXf>(vertices.data(),
                                                    static_cast<Eigen::Index>(vertices.size()));
  mesh.triangles = Eigen::Map<const Triangles>(triangles.data(), 3,
                                               static_cast<Eigen::Index>(triangles.size() / 3));
  mesh.colors =
      Eigen::Map<const Eigen::VectorXf>(colors.data(), static_cast<Eigen::Index>(colors.size()));
  return mesh;
}

// ---- PLY ---------------------------------------------------------------------------------

enum class PlyType { kInt8, kUint8, kInt16, kUint16, kInt32, kUint32, kFloat32, kFloat64 };

bool ParsePlyType(std::string_view name, PlyType* type) {
  static const struct {
    const char* name;
    PlyType type;
  } kTypes[] = {
      {"char", PlyType::kInt8},       {"int8", PlyType::kInt8},       {"uchar", PlyType::kUint8},
      {"uint8", PlyType::kUint8},     {"short", PlyType::kInt16},     {"int16", PlyType::kInt16},
      {"ushort", PlyType::kUint16},   {"uint16", PlyType::kUint16},   {"int", PlyType::kInt32},
      {"int32", PlyType::kInt32},     {"uint", PlyType::kUint32},     {"uint32", PlyType::kUint32},
      {"float", PlyType::kFloat32},   {"float32", PlyType::kFloat32}, {"double", PlyType::kFloat64},
      {"float64", PlyType::kFloat64},
  };
  for (const auto& entry : kTypes) {
    if (name == entry.name) {
      *type = entry.type;
      return true;
    }
  }
  return false;
}

// Bytes per value, indexed by PlyType.
constexpr size_t kPlyTypeSizes[] = {1, 1, 2, 2, 4, 4, 4, 8};
size_t PlyTypeSize(PlyType type) { return kPlyTypeSizes[static_cast<int>(type)]; }

// What a colour stored with this type is divided by to land in [0, 1]: 8-bit (and wider
// integer) types by 255, 16-bit types by 65535, floats not at all.
float PlyColorScale(PlyType type) {
  if (type == PlyType::kFloat32 || type == PlyType::kFloat64) return 1.0f;
  if (type == PlyType::kInt16 || type == PlyType::kUint16) return 65535.0f;
  return 255.0f;
}

struct PlyProperty {
  std::string name;
  PlyType type = PlyType::kFloat32;
  bool is_list = false;
  PlyType count_type = PlyType::kUint8;
};

struct PlyElement {
  std::string name;
  int64_t count = 0;
  std::vector<PlyProperty> properties;
};

enum class PlyFormat { kAscii, kBinaryLittleEndian, kBinaryBigEndian };

// Reads scalars from a PLY body in any of the three formats.
class PlyBodyReader {
 public:
  PlyBodyReader(std::string_view body, PlyFormat format) : body_(body), format_(format) {}

  // False when the body ends (or, in ascii, holds a non-number) before the value.
  bool Read(PlyType type, double* value) {
    if (format_ == PlyFormat::kAscii) return ReadAscii(value);
    const size_t size = PlyTypeSize(type);
    if (body_.size() - position_ < size) return false;
    unsigned char bytes[8];
    std::memcpy(bytes, body_.data() + position_, size);
    position_ += size;
    // Assemble the value's bits from the file's byte order, whatever the host's is.
    uint64_t bits = 0;
    for (size_t i = 0; i < size; ++i) {
      const size_t byte = format_ == PlyFormat::kBinaryLittleEndian ? i : size - 1 - i;
      bits |= static_cast<uint64_t>(bytes[byte]) << (8 * i);
    }
    switch (type) {
      case PlyType::kInt8:
        *value = static_cast<int8_t>(bits);
        break;
      case PlyType::kUint8:
        *value = static_cast<uint8_t>(bits);
        break;
      case PlyType::kInt16:
        *value = static_cast<int16_t>(bits);
        break;
      case PlyType::kUint16:
        *value = static_cast<uint16_t>(bits);
        break;
      case PlyType::kInt32:
        *value = static_cast<int32_t>(bits);
        break;
      case PlyType::kUint32:
        *value = static_cast<uint32_t>(bits);
        break;
      case PlyType::kFloat32: {
        const uint32_t bits32 = static_cast<uint32_t>(bits);
        float f;
        std::memcpy(&f, &bits32, sizeof(f));
        *value = f;
        break;
      }
      case PlyType::kFloat64: {
        double d;
        std::memcpy(&d, &bits, sizeof(d));
        *value = d;
        break;
      }
    }
    return true;
  }

  size_t remaining() const { return body_.size() - position_; }

 private:
  bool ReadAscii(double* value) {
    while (position_ < body_.size() && std::strchr(" \t\r\n\f\v", body_[position_]) != nullptr) {
      ++position_;
    }
    const size_t start = position_;
    while (position_ < body_.size() && std::strchr(" \t\r\n\f\v", body_[position_]) == nullptr) {
      ++position_;
    }
    return position_ > start && ParseNumber(body_.substr(start, position_ - start), value);
  }

  std::string_view body_;
  PlyFormat format_;
  size_t position_ = 0;
};

void AppendLittleEndian(uint32_t bits, std::string* out) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
}

void AppendFloatLittleEndian(float value, std::string* out) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  AppendLittleEndian(bits, out);
}

}  // namespace

// ---- OBJ ---------------------------------------------------------------------------------

Status WriteObj(const std::string& path, const Eigen::VectorXf& vertices,
                const Triangles& triangles, const Eigen::VectorXf* colors) {
  MORPHFIT_RETURN_IF_ERROR(CheckMeshArguments(path, vertices, triangles, colors));
  const int64_t num_vertices = vertices.size() / 3;
  std::string text = "# morphfit mesh: " + std::to_string(num_vertices) + " vertices, " +
                     std::to_string(triangles.cols()) + " triangles\n";
  text.reserve(text.size() + static_cast<size_t>(num_vertices) * 64 +
               static_cast<size_t>(triangles.cols()) * 24);
  for (int64_t v = 0; v < num_vertices; ++v) {
    text += 'v';
    for (int k = 0; k < 3; ++k) {
      text += ' ';
      AppendFloat(vertices[3 * v + k], &text);
    }
    if (colors != nullptr) {
      for (int k = 0; k < 3; ++k) {
        text += ' ';
        AppendFloat((*colors)[3 * v + k], &text);
      }
    }
    text += '\n';
  }
  for (Eigen::Index t = 0; t < triangles.cols(); ++t) {
    text += 'f';
    for (int k = 0; k < 3; ++k) {
      text += ' ';
      AppendInt(static_cast<int64_t>(triangles(k, t)) + 1, &text);  // OBJ is 1-based
    }
    text += '\n';
  }
  return WriteFileAtomically(path, text);
}

StatusOr<Mesh> ReadObj(const std::string& path) {
  MORPHFIT_ASSIGN_OR_RETURN(const std::string contents, ReadFileToString(path));
  std::vector<float> vertices, colors;
  std::vector<int32_t> triangles;
  int64_t num_vertices = 0, num_colored = 0;
  std::vector<int64_t> polygon;
  int line_number = 0;
  size_t line_start = 0;
  while (line_start < contents.size()) {
    size_t line_end = contents.find('\n', line_start);
    if (line_end == std::string::npos) line_end = contents.size();
    const std::string_view line(contents.data() + line_start, line_end - line_start);
    line_start = line_end + 1;
    ++line_number;
    const std::vector<std::string_view> tokens = SplitWhitespace(line);
    if (tokens.empty() || tokens[0][0] == '#') continue;
    const std::string where = path + " line " + std::to_string(line_number) + ": ";
    if (tokens[0] == "v") {
      // 3 values, 4 (x y z w; w is dropped) or 6 (x y z r g b).
      if (tokens.size() != 4 && tokens.size() != 5 && tokens.size() != 7) {
        return DataLossError(where + "expected 'v x y z' or 'v x y z r g b', found '" +
                             std::string(line) + "'");
      }
      float values[6];
      for (size_t i = 1; i < tokens.size() && i <= 6; ++i) {
        if (!ParseNumber(tokens[i], &values[i - 1])) {
          return DataLossError(where + "'" + std::string(tokens[i]) + "' is not a number");
        }
      }
      vertices.insert(vertices.end(), values, values + 3);
      if (tokens.size() == 7) {
        colors.insert(colors.end(), values + 3, values + 6);
        ++num_colored;
      }
      ++num_vertices;
      if (num_colored != 0 && num_colored != num_vertices) {
        return DataLossError(where + "some vertices have colours and some do not");
      }
    } else if (tokens[0] == "f") {
      if (tokens.size() < 4) {
        return DataLossError(where + "a face needs at least 3 vertices, found '" +
                             std::string(line) + "'");
      }
      polygon.clear();
      for (size_t i = 1; i < tokens.size(); ++i) {
        const std::string_view index_text = tokens[i].substr(0, tokens[i].find('/'));
        int64_t index;
        if (!ParseNumber(index_text, &index) || index == 0) {
          return DataLossError(where + "'" + std::string(tokens[i]) +
                               "' is not a vertex index (1-based, or negative from the end)");
        }
        // Positive: 1-based. Negative: relative to the vertices defined so far.
        const int64_t zero_based = index > 0 ? index - 1 : num_vertices + index;
        if (zero_based < 0 || (index < 0 && zero_based >= num_vertices)) {
          return DataLossError(where + "vertex index " + std::to_string(index) +
                               " is outside the " + std::to_string(num_vertices) +
                               " vertices defined so far");
        }
        polygon.push_back(zero_based);
      }
      if (!AppendFan(polygon, &triangles)) {
        return DataLossError(where + "vertex index out of range in '" + std::string(line) + "'");
      }
    }
  }
  for (size_t i = 0; i < triangles.size(); ++i) {
    if (triangles[i] >= num_vertices) {
      return DataLossError(path + ": face vertex index " + std::to_string(triangles[i] + 1) +
                           " (1-based) is beyond the " + std::to_string(num_vertices) +
                           " vertices in the file");
    }
  }
  return MakeMesh(std::move(vertices), std::move(triangles), std::move(colors));
}

// ---- PLY ---------------------------------------------------------------------------------

Status WritePly(const std::string& path, const Eigen::VectorXf& vertices,
                const Triangles& triangles, const Eigen::VectorXf* colors, bool binary) {
  MORPHFIT_RETURN_IF_ERROR(CheckMeshArguments(path, vertices, triangles, colors));
  const int64_t num_vertices = vertices.size() / 3;
  std::string out = "ply\n";
  out += binary ? "format binary_little_endian 1.0\n" : "format ascii 1.0\n";
  out += "comment written by morphfit\n";
  out += "element vertex " + std::to_string(num_vertices) + "\n";
  out += "property float x\nproperty float y\nproperty float z\n";
  if (colors != nullptr) out += "property uchar red\nproperty uchar green\nproperty uchar blue\n";
  out += "element face " + std::to_string(triangles.cols()) + "\n";
  out += "property list uchar int vertex_indices\nend_header\n";
  out.reserve(out.size() + static_cast<size_t>(num_vertices) * (binary ? 15 : 48) +
              static_cast<size_t>(triangles.cols()) * (binary ? 13 : 32));
  for (int64_t v = 0; v < num_vertices; ++v) {
    for (int k = 0; k < 3; ++k) {
      if (binary) {
        AppendFloatLittleEndian(vertices[3 * v + k], &out);
      } else {
        if (k > 0) out += ' ';
        AppendFloat(vertices[3 * v + k], &out);
      }
    }
    if (colors != nullptr) {
      for (int k = 0; k < 3; ++k) {
        const uint8_t value = QuantizeColor((*colors)[3 * v + k]);
        if (binary) {
          out.push_back(static_cast<char>(value));
        } else {
          out += ' ';
          AppendInt(value, &out);
        }
      }
    }
    if (!binary) out += '\n';
  }
  for (Eigen::Index t = 0; t < triangles.cols(); ++t) {
    if (binary) {
      out.push_back(3);
      for (int k = 0; k < 3; ++k) AppendLittleEndian(static_cast<uint32_t>(triangles(k, t)), &out);
    } else {
      out += '3';
      for (int k = 0; k < 3; ++k) {
        out += ' ';
        AppendInt(triangles(k, t), &out);
      }
      out += '\n';
    }
  }
  return WriteFileAtomically(path, out);
}

StatusOr<Mesh> ReadPly(const std::string& path) {
  MORPHFIT_ASSIGN_OR_RETURN(const std::string contents, ReadFileToString(path));
  const std::string prefix = path + ": ";

  // Header: text lines up to and including "end_header".
  size_t position = 0;
  int line_number = 0;
  auto next_line = [&](std::string_view* line) {
    if (position >= contents.size()) return false;
    size_t end = contents.find('\n', position);
    if (end == std::string::npos) end = contents.size();
    *line = std::string_view(contents).substr(position, end - position);
    if (!line->empty() && line->back() == '\r') line->remove_suffix(1);
    position = end + 1;
    ++line_number;
    return true;
  };
  std::string_view line;
  if (!next_line(&line) || line != "ply") {
    return DataLossError(prefix + "not a PLY file: expected the first line 'ply'");
  }
  bool have_format = false, have_end = false;
  PlyFormat format = PlyFormat::kAscii;
  std::vector<PlyElement> elements;
  while (next_line(&line)) {
    const std::vector<std::string_view> tokens = SplitWhitespace(line);
    const std::string where = path + " header line " + std::to_string(line_number) + ": ";
    if (tokens.empty() || tokens[0] == "comment" || tokens[0] == "obj_info") continue;
    if (tokens[0] == "end_header") {
      have_end = true;
      break;
    }
    if (tokens[0] == "format") {
      if (tokens.size() != 3) return DataLossError(where + "expected 'format <type> 1.0'");
      if (tokens[1] == "ascii") {
        format = PlyFormat::kAscii;
      } else if (tokens[1] == "binary_little_endian") {
        format = PlyFormat::kBinaryLittleEndian;
      } else if (tokens[1] == "binary_big_endian") {
        format = PlyFormat::kBinaryBigEndian;
      } else {
        return DataLossError(where + "unknown format '" + std::string(tokens[1]) +
                             "', expected ascii, binary_little_endian or binary_big_endian");
      }
      have_format = true;
    } else if (tokens[0] == "element") {
      PlyElement element;
      if (tokens.size() != 3 || !ParseNumber(tokens[2], &element.count) || element.count < 0) {
        return DataLossError(where + "expected 'element <name> <count>', found '" +
                             std::string(line) + "'");
      }
      element.name = std::string(tokens[1]);
      elements.push_back(std::move(element));
    } else if (tokens[0] == "property") {
      if (elements.empty()) return DataLossError(where + "'property' before any 'element'");
      PlyProperty property;
      bool ok;
      if (tokens.size() == 5 && tokens[1] == "list") {
        property.is_list = true;
        ok = ParsePlyType(tokens[2], &property.count_type) &&
             ParsePlyType(tokens[3], &property.type);
        property.name = std::string(tokens[4]);
      } else {
        ok = tokens.size() == 3 && ParsePlyType(tokens[1], &property.type);
        property.name = tokens.size() == 3 ? std::string(tokens[2]) : std::string();
      }
      if (!ok) {
        return DataLossError(where +
                             "expected 'property <type> <name>' or 'property list "
                             "<count type> <type> <name>' with a known type, found '" +
                             std::string(line) + "'");
      }
      elements.back().properties.push_back(std::move(property));
    } else {
      return DataLossError(where + "unexpected header line '" + std::string(line) + "'");
    }
  }
  if (!have_end) return DataLossError(prefix + "header has no 'end_header' line");
  if (!have_format) return DataLossError(prefix + "header has no 'format' line");

  PlyBodyReader reader(std::string_view(contents).substr(std::min(position, contents.size())),
                       format);
  std::vector<float> vertices, colors;
  std::vector<int32_t> triangles;
  int64_t num_vertices = -1;
  std::vector<int64_t> polygon;
  for (const PlyElement& element : elements) {
    // Every record takes at least one byte, so a count beyond the body size is a truncated or
    // corrupt file; checking first avoids allocating for a bogus count.
    if (!element.properties.empty() && static_cast<uint64_t>(element.count) > reader.remaining()) {
      return DataLossError(prefix + "header declares " + std::to_string(element.count) + " '" +
                           element.name + "' records but only " +
                           std::to_string(reader.remaining()) + " bytes follow (truncated?)");
    }
    const bool is_vertex = element.name == "vertex";
    const bool is_face = element.name == "face";
    int xyz[3] = {-1, -1, -1}, rgb[3] = {-1, -1, -1}, face_list = -1;
    for (size_t p = 0; p < element.properties.size(); ++p) {
      const PlyProperty& property = element.properties[p];
      const char* kXyz[3] = {"x", "y", "z"};
      const char* kRgb[3] = {"red", "green", "blue"};
      for (int k = 0; k < 3; ++k) {
        if (!is_vertex || property.is_list) continue;
        if (property.name == kXyz[k]) xyz[k] = static_cast<int>(p);
        if (property.name == kRgb[k]) rgb[k] = static_cast<int>(p);
      }
      if (is_face && property.is_list &&
          (property.name == "vertex_indices" || property.name == "vertex_index")) {
        face_list = static_cast<int>(p);
      }
    }
    if (is_vertex) {
      if (xyz[0] < 0 || xyz[1] < 0 || xyz[2] < 0) {
        return DataLossError(prefix + "element 'vertex' lacks an x, y or z property");
      }
      num_vertices = element.count;
      vertices.resize(static_cast<size_t>(3 * element.count));
    }
    const bool has_color = is_vertex && rgb[0] >= 0 && rgb[1] >= 0 && rgb[2] >= 0;
    if (has_color) colors.resize(static_cast<size_t>(3 * element.count));

    for (int64_t record = 0; record < element.count; ++record) {
      for (size_t p = 0; p < element.properties.size(); ++p) {
        const PlyProperty& property = element.properties[p];
        auto truncated = [&] {
          return DataLossError(prefix + "file ends early or holds a non-number (truncated?) in '" +
                               element.name + "' record " + std::to_string(record) + " of " +
                               std::to_string(element.count) + ", property '" + property.name +
                               "'");
        };
        if (property.is_list) {
          double count;
          if (!reader.Read(property.count_type, &count)) return truncated();
          if (count < 0 || count > 1e6) {
            return DataLossError(prefix + "'" + element.name + "' record " +
                                 std::to_string(record) + " has a list of " +
                                 std::to_string(count) + " entries");
          }
          polygon.clear();
          for (int64_t i = 0; i < static_cast<int64_t>(count); ++i) {
            double value;
            if (!reader.Read(property.type, &value)) return truncated();
            // Out-of-range values (and NaN from an ascii file) become -1, rejected below.
            const bool representable = value >= 0.0 && value <= std::numeric_limits<int32_t>::max();
            polygon.push_back(representable ? static_cast<int64_t>(value) : -1);
          }
          if (static_cast<int>(p) == face_list) {
            if (polygon.size() < 3) {
              return DataLossError(prefix + "face " + std::to_string(record) + " has " +
                                   std::to_string(polygon.size()) + " vertices, expected >= 3");
            }
            if (!AppendFan(polygon, &triangles)) {
              return DataLossError(prefix + "face " + std::to_string(record) +
                                   " has a vertex index outside [0, 2^31)");
            }
          }
          continue;
        }
        double value;
        if (!reader.Read(property.type, &value)) return truncated();
        if (!is_vertex) continue;
        const size_t base = static_cast<size_t>(3 * record);
        for (int k = 0; k < 3; ++k) {
          if (static_cast<int>(p) == xyz[k]) vertices[base + k] = static_cast<float>(value);
          if (has_color && static_cast<int>(p) == rgb[k]) {
            colors[base + k] = static_cast<float>(value) / PlyColorScale(property.type);
          }
        }
      }
    }
  }
  if (num_vertices < 0) return DataLossError(prefix + "header has no 'element vertex'");
  for (size_t i = 0; i < triangles.size(); ++i) {
    if (triangles[i] < 0 || triangles[i] >= num_vertices) {
      return DataLossError(prefix + "face " + std::to_string(i / 3) + " uses vertex index " +
                           std::to_string(triangles[i]) + ", expected [0, " +
                           std::to_string(num_vertices) + ")");
    }
  }
  return MakeMesh(std::move(vertices), std::move(triangles), std::move(colors));
}

}  // namespace morphfit::io
