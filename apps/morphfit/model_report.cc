// Model descriptions: counts, units, expression kind, bounding box, optional data.
#include "model_report.h"

#include <cstdio>

#include <nlohmann/json.hpp>

namespace morphfit::app {
namespace {

size_t CountOnes(const std::vector<uint8_t>& v) {
  size_t n = 0;
  for (uint8_t x : v) n += x != 0;
  return n;
}

}  // namespace

std::string DescribeModelJson(const models::MorphableModel& m) {
  const Eigen::Matrix<float, 6, 1> box = models::BoundingBox(m.shape_mean);
  nlohmann::json j;
  j["name"] = m.name;
  j["source"] = m.source;
  j["num_vertices"] = m.num_vertices();
  j["num_triangles"] = m.num_triangles();
  j["num_identity"] = m.num_identity();
  j["num_expression"] = m.num_expression();
  j["num_albedo"] = m.num_albedo();
  j["num_landmarks"] = m.num_landmarks();
  j["expression_kind"] = models::ExpressionKindName(m.expression_kind);
  j["units"] = "mm";
  j["units_note"] = m.units_note;
  j["bounding_box_mm"] = {{"min", {box[0], box[1], box[2]}}, {"max", {box[3], box[4], box[5]}}};
  j["num_contour_lines"] = m.contour_candidates.size();
  j["face_mask_vertices"] = CountOnes(m.face_mask);
  j["skin_mask_vertices"] = CountOnes(m.skin_mask);
  j["has_uv"] = m.uv.cols() > 0;
  j["generator_version"] = m.generator_version;
  return j.dump(2) + "\n";
}

std::string DescribeModelText(const models::MorphableModel& m) {
  const Eigen::Matrix<float, 6, 1> box = models::BoundingBox(m.shape_mean);
  std::string out;
  char line[512];
  auto add = [&](const char* fmt, auto... args) {
    std::snprintf(line, sizeof(line), fmt, args...);
    out += line;
  };
  add("model          %s\n", m.name.c_str());
  add("source         %s\n", m.source.c_str());
  add("units          mm (%s)\n", m.units_note.c_str());
  add("vertices       %d\n", m.num_vertices());
  add("triangles      %d\n", m.num_triangles());
  add("identity       %d modes\n", m.num_identity());
  add("expression     %d modes (%s)\n", m.num_expression(),
      models::ExpressionKindName(m.expression_kind));
  add("albedo         %d modes%s\n", m.num_albedo(), m.albedo_mean.size() ? "" : " (no colour model)");
  add("landmarks      %d%s\n", m.num_landmarks(),
      m.num_landmarks() ? " (iBUG 68)" : " (none: pass --landmark_map)");
  add("jaw contour    %zu candidate lines\n", m.contour_candidates.size());
  add("masks          face %zu, skin %zu vertices\n", CountOnes(m.face_mask), CountOnes(m.skin_mask));
  add("uv             %s\n", m.uv.cols() ? "yes" : "no");
  add("bounding box   x [%.1f, %.1f]  y [%.1f, %.1f]  z [%.1f, %.1f] mm\n", box[0], box[3], box[1],
      box[4], box[2], box[5]);
  add("size           %.1f x %.1f x %.1f mm\n", box[3] - box[0], box[4] - box[1], box[5] - box[2]);
  auto names = [&](const char* what, const models::LinearBasis& b) {
    if (b.names.empty()) return;
    std::string list;
    for (size_t i = 0; i < b.names.size() && i < 8; ++i) list += (i ? ", " : "") + b.names[i];
    if (b.names.size() > 8) list += ", ...";
    add("%-14s %s\n", what, list.c_str());
  };
  names("identity modes", m.identity);
  names("expr. modes", m.expression);
  names("albedo modes", m.albedo);
  return out;
}

}  // namespace morphfit::app
