// Fit output records, the summary CSV and the input walk (fit_outputs.h).
#include "fit_outputs.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "morphfit/core/file_util.h"

namespace morphfit::app {
namespace {

namespace fs = std::filesystem;

constexpr const char* kColumns[] = {"id", "source", "image", "status", "detector",
                                    "landmark_nme", "photometric_rmse", "iterations", "time_s",
                                    "message"};
constexpr int kNumColumns = 10;

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string Number(double v, const char* format) {
  if (!std::isfinite(v)) return "";
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), format, v);
  return buffer;
}

// Splits a CSV text into records of fields (RFC 4180 quoting; quoted fields may hold line
// breaks). `lines` gets the 1-based line where each record starts.
StatusOr<std::vector<std::vector<std::string>>> ParseCsv(const std::string& text,
                                                         const std::string& path,
                                                         std::vector<int>* lines) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false, field_started = false;
  int line = 1, row_line = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == '"' && !field_started) {
      quoted = field_started = true;
    } else if (c == ',') {
      row.push_back(field);
      field.clear();
      field_started = false;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      row.push_back(field);
      rows.push_back(row);
      lines->push_back(row_line);
      row.clear();
      field.clear();
      field_started = false;
      row_line = ++line;
    } else {
      field += c;
      field_started = true;
    }
  }
  if (quoted) return DataLossError(path + ": unterminated quoted field from line " + std::to_string(row_line));
  if (field_started || !row.empty()) {
    row.push_back(field);
    rows.push_back(row);
    lines->push_back(row_line);
  }
  return rows;
}

bool IsImageFile(const std::string& path) {
  const size_t dot = path.find_last_of('.');
  if (dot == std::string::npos || path.find('/', dot) != std::string::npos) return false;
  std::string ext = path.substr(dot + 1);
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* e : {"jpg", "jpeg", "png", "bmp", "tif", "tiff", "webp"}) {
    if (ext == e) return true;
  }
  return false;
}

}  // namespace

std::string StripExtension(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  const size_t dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash) || dot == 0 ||
      (slash != std::string::npos && dot == slash + 1)) {
    return path;
  }
  return path.substr(0, dot);
}

std::string SummaryCsvHeader() {
  std::string h;
  for (int i = 0; i < kNumColumns; ++i) h += (i ? "," : "") + std::string(kColumns[i]);
  return h;
}

std::string SummaryCsv(const std::vector<FaceRecord>& records) {
  std::string out = SummaryCsvHeader() + "\n";
  for (const FaceRecord& r : records) {
    out += CsvField(r.id) + "," + CsvField(r.source) + "," + CsvField(r.image) + "," +
           CsvField(r.status) + "," + CsvField(r.detector) + "," +
           Number(r.landmark_nme, "%.6g") + "," + Number(r.photometric_rmse, "%.6g") + "," +
           std::to_string(r.iterations) + "," + Number(r.time_s, "%.4f") + "," +
           CsvField(r.message) + "\n";
  }
  return out;
}

StatusOr<std::vector<FaceRecord>> ReadSummaryCsv(const std::string& path) {
  MORPHFIT_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  std::vector<int> lines;
  MORPHFIT_ASSIGN_OR_RETURN(auto rows, ParseCsv(text, path, &lines));
  if (rows.empty()) return DataLossError(path + ": empty file, expected the header " + SummaryCsvHeader());
  std::string header;
  for (size_t i = 0; i < rows[0].size(); ++i) header += (i ? "," : "") + rows[0][i];
  if (header != SummaryCsvHeader()) {
    return DataLossError(path + ": line 1: expected the header '" + SummaryCsvHeader() +
                         "', found '" + header + "'");
  }
  std::vector<FaceRecord> records;
  for (size_t r = 1; r < rows.size(); ++r) {
    const auto& f = rows[r];
    const std::string where = path + ": line " + std::to_string(lines[r]);
    if (f.size() == 1 && f[0].empty()) continue;  // blank line
    if (static_cast<int>(f.size()) != kNumColumns) {
      return DataLossError(where + ": expected " + std::to_string(kNumColumns) + " fields, found " +
                           std::to_string(f.size()));
    }
    FaceRecord rec;
    rec.id = f[0];
    rec.source = f[1];
    rec.image = f[2];
    rec.status = f[3];
    rec.detector = f[4];
    rec.message = f[9];
    auto number = [&](const std::string& s, const char* name, double* out) -> Status {
      if (s.empty()) {
        *out = std::nan("");
        return OkStatus();
      }
      char* end = nullptr;
      *out = std::strtod(s.c_str(), &end);
      if (end != s.c_str() + s.size()) {
        return DataLossError(where + ": column " + name + " is not a number: '" + s + "'");
      }
      return OkStatus();
    };
    double iterations = 0.0;
    MORPHFIT_RETURN_IF_ERROR(number(f[5], "landmark_nme", &rec.landmark_nme));
    MORPHFIT_RETURN_IF_ERROR(number(f[6], "photometric_rmse", &rec.photometric_rmse));
    MORPHFIT_RETURN_IF_ERROR(number(f[7], "iterations", &iterations));
    MORPHFIT_RETURN_IF_ERROR(number(f[8], "time_s", &rec.time_s));
    rec.iterations = std::isfinite(iterations) ? static_cast<int>(iterations) : 0;
    if (rec.id.empty()) return DataLossError(where + ": empty id");
    if (rec.status != "ok" && rec.status != "not_converged" && rec.status != "failed") {
      return DataLossError(where + ": status must be ok, not_converged or failed, found '" +
                           rec.status + "'");
    }
    records.push_back(std::move(rec));
  }
  return records;
}

std::string RecordsToJson(const std::vector<FaceRecord>& records) {
  nlohmann::json list = nlohmann::json::array();
  auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  for (const FaceRecord& r : records) {
    list.push_back({{"id", r.id}, {"source", r.source}, {"image", r.image}, {"status", r.status},
                    {"detector", r.detector}, {"landmark_nme", num(r.landmark_nme)},
                    {"photometric_rmse", num(r.photometric_rmse)}, {"iterations", r.iterations},
                    {"time_s", num(r.time_s)}, {"message", r.message}});
  }
  return list.dump();
}

StatusOr<std::vector<FaceRecord>> RecordsFromJson(const std::string& text,
                                                  const std::string& context) {
  nlohmann::json list;
  try {
    list = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    return DataLossError(context + ": not JSON: " + e.what());
  }
  if (!list.is_array()) return DataLossError(context + ": expected a JSON list of face records");
  std::vector<FaceRecord> records;
  try {
    for (const auto& j : list) {
      FaceRecord r;
      auto num = [&](const char* key) {
        return j.at(key).is_null() ? std::nan("") : j.at(key).get<double>();
      };
      r.id = j.at("id").get<std::string>();
      r.source = j.at("source").get<std::string>();
      r.image = j.at("image").get<std::string>();
      r.status = j.at("status").get<std::string>();
      r.detector = j.at("detector").get<std::string>();
      r.landmark_nme = num("landmark_nme");
      r.photometric_rmse = num("photometric_rmse");
      r.iterations = j.at("iterations").get<int>();
      r.time_s = num("time_s");
      r.message = j.at("message").get<std::string>();
      records.push_back(std::move(r));
    }
  } catch (const std::exception& e) {
    return DataLossError(context + ": bad face record: " + e.what());
  }
  return records;
}

std::string FacePath(const std::string& out_dir, const std::string& id, const std::string& suffix) {
  return out_dir + "/faces/" + id + suffix;
}

std::string RunFileName(const std::string& stem, const std::string& ext, const Shard& shard) {
  if (shard.count <= 1) return stem + "." + ext;
  return stem + ".shard-" + std::to_string(shard.index) + "-of-" + std::to_string(shard.count) +
         "." + ext;
}

StatusOr<std::vector<InputPhoto>> ListInputPhotos(const std::string& input,
                                                  const std::string& skip_dir) {
  if (input.empty()) return InvalidArgumentError("--input is required (a folder, an image or a list)");
  std::error_code ec;
  const fs::file_status st = fs::status(input, ec);
  if (ec || !fs::exists(st)) return NotFoundError("--input '" + input + "' does not exist");
  std::vector<InputPhoto> photos;
  if (fs::is_directory(st)) {
    const fs::path root = fs::weakly_canonical(input);
    const fs::path skip = skip_dir.empty() ? fs::path() : fs::weakly_canonical(skip_dir, ec);
    fs::recursive_directory_iterator it(root, fs::directory_options::follow_directory_symlink, ec), end;
    if (ec) return ErrnoError(ec.value(), "--input '" + input + "': cannot list");
    for (; it != end; it.increment(ec)) {
      if (ec) return ErrnoError(ec.value(), "--input '" + input + "': cannot list");
      const fs::path p = it->path();
      if (!skip.empty() && it->is_directory() && fs::weakly_canonical(p, ec) == skip) {
        it.disable_recursion_pending();
        continue;
      }
      if (!it->is_regular_file() || !IsImageFile(p.string())) continue;
      const std::string rel = fs::relative(p, root).generic_string();
      photos.push_back({(fs::path(input) / rel).string(), StripExtension(rel)});
    }
  } else if (IsImageFile(input)) {
    photos.push_back({input, StripExtension(fs::path(input).filename().string())});
  } else {
    MORPHFIT_ASSIGN_OR_RETURN(std::string text, ReadFileToString(input));
    const fs::path base = fs::path(input).parent_path();
    std::istringstream lines(text);
    std::string line;
    int number = 0;
    while (std::getline(lines, line)) {
      ++number;
      if (const size_t hash = line.find('#'); hash != std::string::npos) line.resize(hash);
      while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
      size_t start = 0;
      while (start < line.size() && std::isspace(static_cast<unsigned char>(line[start]))) ++start;
      line = line.substr(start);
      if (line.empty()) continue;
      if (!IsImageFile(line)) {
        return InvalidArgumentError("--input list '" + input + "', line " + std::to_string(number) +
                                    ": '" + line + "' is not an image file name (.jpg, .png, ...)");
      }
      const fs::path p(line);
      const std::string path = p.is_absolute() ? line : (base / p).string();
      const std::string source =
          StripExtension(p.is_absolute() ? p.filename().string() : p.lexically_normal().generic_string());
      photos.push_back({path, source});
    }
  }
  std::sort(photos.begin(), photos.end(),
            [](const InputPhoto& a, const InputPhoto& b) { return a.source < b.source; });
  for (size_t i = 1; i < photos.size(); ++i) {
    if (photos[i].source == photos[i - 1].source) {
      return InvalidArgumentError("--input: '" + photos[i - 1].path + "' and '" + photos[i].path +
                                  "' would write the same outputs (" + photos[i].source +
                                  "_f*): rename one");
    }
  }
  return photos;
}

}  // namespace morphfit::app
