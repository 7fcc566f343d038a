// FaceParams: flat vector layout, validation, JSON and HDF5 table forms.
#include "morphfit/core/face_params.h"

#include <cmath>
#include <cstdio>
#include <sstream>

#include <nlohmann/json.hpp>

#include "hdf5_util.h"
#include "morphfit/core/file_util.h"

namespace morphfit {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

const char* CameraTypeName(CameraType type) {
  return type == CameraType::kPinhole ? "pinhole" : "weak_perspective";
}

StatusOr<CameraType> ParseCameraType(const std::string& name) {
  if (name == "pinhole") return CameraType::kPinhole;
  if (name == "weak_perspective" || name == "weak") return CameraType::kWeakPerspective;
  return InvalidArgumentError("unknown camera type '" + name +
                              "', expected 'pinhole' or 'weak_perspective'");
}

FaceParams FaceParams::Frontal(int num_identity, int num_expression, int num_albedo, int width,
                               int height, double focal_px, double distance_mm) {
  FaceParams p;
  p.identity = Eigen::VectorXd::Zero(num_identity);
  p.expression = Eigen::VectorXd::Zero(num_expression);
  p.albedo = Eigen::VectorXd::Zero(num_albedo);
  p.lighting.setZero();
  for (int c = 0; c < 3; ++c) p.lighting[c * kNumShBands] = kDefaultAmbient;
  p.rotation = Eigen::Vector3d(M_PI, 0.0, 0.0);
  p.translation = Eigen::Vector3d(0.0, 0.0, distance_mm);
  p.camera_type = CameraType::kPinhole;
  // Pixel (0, 0) is the centre of the top-left pixel, so the image centre is (w - 1) / 2.
  p.camera = Eigen::Vector3d(focal_px, 0.5 * (width - 1), 0.5 * (height - 1));
  p.image_width = width;
  p.image_height = height;
  return p;
}

int FaceParams::FlatSize() const {
  return static_cast<int>(identity.size() + expression.size() + albedo.size()) + kNumLighting + 9;
}

Eigen::VectorXd FaceParams::ToFlat() const {
  Eigen::VectorXd flat(FlatSize());
  Eigen::Index o = 0;
  auto put = [&](const auto& block) {
    flat.segment(o, block.size()) = block;
    o += block.size();
  };
  put(identity);
  put(expression);
  put(albedo);
  put(lighting);
  put(rotation);
  put(translation);
  put(camera);
  return flat;
}

Status FaceParams::SetFromFlat(const Eigen::VectorXd& flat) {
  if (flat.size() != FlatSize()) {
    return InvalidArgumentError("flat parameter vector has " + std::to_string(flat.size()) +
                                " values, expected " + std::to_string(FlatSize()));
  }
  Eigen::Index o = 0;
  auto get = [&](auto& block) {
    block = flat.segment(o, block.size());
    o += block.size();
  };
  get(identity);
  get(expression);
  get(albedo);
  get(lighting);
  get(rotation);
  get(translation);
  get(camera);
  return OkStatus();
}

std::vector<std::string> FaceParams::FlatNames() const {
  std::vector<std::string> names;
  char buf[32];
  auto block = [&](const char* prefix, Eigen::Index n) {
    for (Eigen::Index i = 0; i < n; ++i) {
      std::snprintf(buf, sizeof(buf), "%s_%03d", prefix, static_cast<int>(i));
      names.emplace_back(buf);
    }
  };
  block("identity", identity.size());
  block("expression", expression.size());
  block("albedo", albedo.size());
  const char channels[3] = {'r', 'g', 'b'};
  for (int c = 0; c < 3; ++c) {
    for (int k = 0; k < kNumShBands; ++k) {
      names.push_back(std::string("light_") + channels[c] + std::to_string(k));
    }
  }
  for (const char* n : {"rotation_x", "rotation_y", "rotation_z", "translation_x",
                        "translation_y", "translation_z", "camera_0", "camera_1", "camera_2"}) {
    names.emplace_back(n);
  }
  return names;
}

Status FaceParams::Validate(const std::string& context) const {
  const Eigen::VectorXd flat = ToFlat();
  for (Eigen::Index i = 0; i < flat.size(); ++i) {
    if (!std::isfinite(flat[i])) {
      // The names only for the message (building them costs more than the whole check).
      return InvalidArgumentError(context + ": parameter '" + FlatNames()[static_cast<size_t>(i)] +
                                  "' is not finite");
    }
  }
  if (!(camera[0] > 0.0)) {
    return InvalidArgumentError(context + ": " +
                                (camera_type == CameraType::kPinhole ? "focal length"
                                                                     : "weak-perspective scale") +
                                " must be positive, found " + std::to_string(camera[0]));
  }
  if (camera_type == CameraType::kPinhole && !(translation.z() > 0.0)) {
    return InvalidArgumentError(context + ": translation z (distance to the camera, mm) must be "
                                "positive for a pinhole camera, found " +
                                std::to_string(translation.z()));
  }
  if (image_width < 0 || image_height < 0) {
    return InvalidArgumentError(context + ": negative image size");
  }
  if (landmarks_2d.cols() != 0 && !landmarks_2d.allFinite()) {
    return InvalidArgumentError(context + ": landmarks_2d contains NaN or Inf");
  }
  return OkStatus();
}

Status FaceParams::CheckSizes(int num_identity, int num_expression, int num_albedo,
                              const std::string& context) const {
  auto check = [&](const char* what, Eigen::Index have, int want) -> Status {
    if (have != want) {
      return InvalidArgumentError(context + ": " + what + " has " + std::to_string(have) +
                                  " coefficients, the model has " + std::to_string(want));
    }
    return OkStatus();
  };
  MORPHFIT_RETURN_IF_ERROR(check("identity", identity.size(), num_identity));
  MORPHFIT_RETURN_IF_ERROR(check("expression", expression.size(), num_expression));
  return check("albedo", albedo.size(), num_albedo);
}

// ---- JSON --------------------------------------------------------------------------------

namespace {

constexpr const char* kFormatName = "morphfit.face_params";

template <typename Vec>
OrderedJson ToArray(const Vec& v) {
  OrderedJson a = OrderedJson::array();
  for (Eigen::Index i = 0; i < v.size(); ++i) a.push_back(v[i]);
  return a;
}

Status ReadArray(const Json& j, const char* key, const std::string& context, Eigen::Index expected,
                 Eigen::VectorXd* out) {
  if (!j.contains(key)) return InvalidArgumentError(context + ": missing key '" + key + "'");
  const Json& a = j.at(key);
  if (!a.is_array()) return InvalidArgumentError(context + ": '" + key + "' must be an array");
  if (expected >= 0 && static_cast<Eigen::Index>(a.size()) != expected) {
    return InvalidArgumentError(context + ": '" + key + "' has " + std::to_string(a.size()) +
                                " values, expected " + std::to_string(expected));
  }
  out->resize(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    if (!a[i].is_number()) {
      return InvalidArgumentError(context + ": '" + key + "'[" + std::to_string(i) +
                                  "] is not a number");
    }
    (*out)[i] = a[i].get<double>();
  }
  return OkStatus();
}

}  // namespace

std::string FaceParamsToJson(const FaceParams& p) {
  // Keys in the documented order, one per line, each value on one line (readable diffs).
  OrderedJson j;
  j["format"] = kFormatName;
  j["version"] = FaceParams::kVersion;
  if (!p.model.empty()) j["model"] = p.model;
  if (!p.image.empty()) j["image"] = p.image;
  j["image_size"] = {p.image_width, p.image_height};
  OrderedJson cam;
  cam["type"] = CameraTypeName(p.camera_type);
  if (p.camera_type == CameraType::kPinhole) {
    cam["focal_px"] = p.camera[0];
    cam["principal_point_px"] = {p.camera[1], p.camera[2]};
  } else {
    cam["scale_px_per_mm"] = p.camera[0];
    cam["offset_px"] = {p.camera[1], p.camera[2]};
  }
  j["camera"] = cam;
  j["rotation_axis_angle_rad"] = ToArray(p.rotation);
  j["translation_mm"] = ToArray(p.translation);
  j["identity"] = ToArray(p.identity);
  j["expression"] = ToArray(p.expression);
  j["albedo"] = ToArray(p.albedo);
  j["lighting_sh"] = ToArray(p.lighting);
  if (p.landmarks_2d.cols() > 0) {
    OrderedJson lms = OrderedJson::array();
    for (Eigen::Index i = 0; i < p.landmarks_2d.cols(); ++i) {
      lms.push_back({p.landmarks_2d(0, i), p.landmarks_2d(1, i)});
    }
    j["landmarks_2d"] = lms;
  }
  std::string out = "{\n";
  bool first = true;
  for (const auto& [key, value] : j.items()) {
    out += (first ? "  \"" : ",\n  \"") + key + "\": " + value.dump();
    first = false;
  }
  return out + "\n}\n";
}

StatusOr<FaceParams> FaceParamsFromJson(const std::string& text, const std::string& context) {
  Json j;
  try {
    j = Json::parse(text);
  } catch (const Json::parse_error& e) {
    return InvalidArgumentError(context + ": not valid JSON: " + e.what());
  }
  if (!j.is_object()) return InvalidArgumentError(context + ": expected a JSON object");
  if (j.value("format", std::string()) != kFormatName) {
    return InvalidArgumentError(context + ": 'format' must be \"" + kFormatName + "\"");
  }
  if (!j.contains("version") || !j["version"].is_number_integer()) {
    return InvalidArgumentError(context + ": missing integer 'version'");
  }
  const int version = j["version"].get<int>();
  if (version != FaceParams::kVersion) {
    return InvalidArgumentError(context + ": FaceParams version " + std::to_string(version) +
                                " is not supported (this build reads version " +
                                std::to_string(FaceParams::kVersion) + ")");
  }
  FaceParams p;
  try {
    p.model = j.value("model", std::string());
    p.image = j.value("image", std::string());
    Eigen::VectorXd size, v;
    MORPHFIT_RETURN_IF_ERROR(ReadArray(j, "image_size", context, 2, &size));
    p.image_width = static_cast<int>(size[0]);
    p.image_height = static_cast<int>(size[1]);
    if (!j.contains("camera") || !j["camera"].is_object()) {
      return InvalidArgumentError(context + ": missing object 'camera'");
    }
    const Json& cam = j["camera"];
    auto type_or = ParseCameraType(cam.value("type", std::string()));
    if (!type_or.ok()) return type_or.status().WithContext(context);
    p.camera_type = *type_or;
    const bool pinhole = p.camera_type == CameraType::kPinhole;
    const char* first = pinhole ? "focal_px" : "scale_px_per_mm";
    const char* pair = pinhole ? "principal_point_px" : "offset_px";
    if (!cam.contains(first) || !cam[first].is_number()) {
      return InvalidArgumentError(context + ": camera needs a number '" + first + "'");
    }
    p.camera[0] = cam[first].get<double>();
    MORPHFIT_RETURN_IF_ERROR(ReadArray(cam, pair, context + ": camera", 2, &v));
    p.camera[1] = v[0];
    p.camera[2] = v[1];
    MORPHFIT_RETURN_IF_ERROR(ReadArray(j, "rotation_axis_angle_rad", context, 3, &v));
    p.rotation = v;
    MORPHFIT_RETURN_IF_ERROR(ReadArray(j, "translation_mm", context, 3, &v));
    p.translation = v;
    MORPHFIT_RETURN_IF_ERROR(ReadArray(j, "identity", context, -1, &p.identity));
    MORPHFIT_RETURN_IF_ERROR(ReadArray(j, "expression", context, -1, &p.expression));
    MORPHFIT_RETURN_IF_ERROR(ReadArray(j, "albedo", context, -1, &p.albedo));
    MORPHFIT_RETURN_IF_ERROR(ReadArray(j, "lighting_sh", context, kNumLighting, &v));
    p.lighting = v;
    if (j.contains("landmarks_2d")) {
      const Json& lms = j["landmarks_2d"];
      if (!lms.is_array()) return InvalidArgumentError(context + ": 'landmarks_2d' must be an array");
      p.landmarks_2d.resize(2, static_cast<Eigen::Index>(lms.size()));
      for (size_t i = 0; i < lms.size(); ++i) {
        if (!lms[i].is_array() || lms[i].size() != 2 || !lms[i][0].is_number() ||
            !lms[i][1].is_number()) {
          return InvalidArgumentError(context + ": landmarks_2d[" + std::to_string(i) +
                                      "] must be [x, y]");
        }
        p.landmarks_2d(0, i) = lms[i][0].get<double>();
        p.landmarks_2d(1, i) = lms[i][1].get<double>();
      }
    }
  } catch (const Json::exception& e) {
    return InvalidArgumentError(context + ": " + e.what());
  }
  MORPHFIT_RETURN_IF_ERROR(p.Validate(context));
  return p;
}

Status WriteFaceParamsJson(const std::string& path, const FaceParams& params) {
  return WriteFileAtomically(path, FaceParamsToJson(params));
}

StatusOr<FaceParams> ReadFaceParamsJson(const std::string& path) {
  MORPHFIT_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  return FaceParamsFromJson(text, path);
}

// ---- HDF5 table ----------------------------------------------------------------------------

Status WriteFaceParamsTable(const std::string& path, const std::vector<std::string>& ids,
                            const std::vector<FaceParams>& rows) {
  if (ids.size() != rows.size()) {
    return InvalidArgumentError("face-params table: " + std::to_string(ids.size()) + " ids for " +
                                std::to_string(rows.size()) + " rows");
  }
  const FaceParams shape_of = rows.empty() ? FaceParams() : rows[0];
  const int p = rows.empty() ? kNumLighting + 9 : rows[0].FlatSize();
  std::vector<double> flat(rows.size() * p);
  std::vector<int32_t> camera_type(rows.size()), image_size(rows.size() * 2);
  std::vector<std::string> images(rows.size());
  for (size_t r = 0; r < rows.size(); ++r) {
    const FaceParams& row = rows[r];
    if (row.identity.size() != shape_of.identity.size() ||
        row.expression.size() != shape_of.expression.size() ||
        row.albedo.size() != shape_of.albedo.size()) {
      return InvalidArgumentError("face-params table: row '" + ids[r] +
                                  "' has different block sizes from row '" + ids[0] + "'");
    }
    Eigen::Map<Eigen::VectorXd>(flat.data() + r * p, p) = row.ToFlat();
    camera_type[r] = static_cast<int32_t>(row.camera_type);
    image_size[2 * r] = row.image_width;
    image_size[2 * r + 1] = row.image_height;
    images[r] = row.image;
  }
  AtomicFile out(path);
  {
    MORPHFIT_ASSIGN_OR_RETURN(h5::Handle file, h5::CreateFile(out.temp_path()));
    const hid_t f = file.get();
    const hsize_t n = rows.size();
    MORPHFIT_RETURN_IF_ERROR(h5::WriteDouble(f, "/face_params/flat", flat.data(), {n, hsize_t(p)}, true));
    MORPHFIT_RETURN_IF_ERROR(h5::WriteInt32(f, "/face_params/camera_type", camera_type.data(), {n}));
    MORPHFIT_RETURN_IF_ERROR(h5::WriteInt32(f, "/face_params/image_size", image_size.data(), {n, 2}));
    MORPHFIT_RETURN_IF_ERROR(h5::WriteStringList(f, "/face_params/id", ids));
    MORPHFIT_RETURN_IF_ERROR(h5::WriteStringList(f, "/face_params/image", images));
    const int32_t sizes[3] = {static_cast<int32_t>(shape_of.identity.size()),
                              static_cast<int32_t>(shape_of.expression.size()),
                              static_cast<int32_t>(shape_of.albedo.size())};
    MORPHFIT_RETURN_IF_ERROR(h5::WriteInt32(f, "/face_params/block_sizes", sizes, {3}));
    MORPHFIT_RETURN_IF_ERROR(h5::WriteIntScalar(f, "/face_params/version", FaceParams::kVersion));
    MORPHFIT_RETURN_IF_ERROR(h5::WriteStringAttribute(f, "/face_params", "format", kFormatName));
    MORPHFIT_RETURN_IF_ERROR(h5::WriteStringAttribute(f, "/face_params", "model", shape_of.model));
    Json names = shape_of.FlatNames();
    MORPHFIT_RETURN_IF_ERROR(h5::WriteStringAttribute(f, "/face_params/flat", "names", names.dump()));
  }
  return out.Commit();
}

StatusOr<FaceParamsTable> ReadFaceParamsTable(const std::string& path) {
  MORPHFIT_ASSIGN_OR_RETURN(h5::Handle file, h5::OpenFileReadOnly(path));
  const hid_t f = file.get();
  MORPHFIT_ASSIGN_OR_RETURN(std::string format,
                            h5::ReadStringAttribute(f, "/face_params", "format", path));
  if (format != kFormatName) {
    return InvalidArgumentError(path + ": /face_params format is '" + format + "', expected '" +
                                kFormatName + "'");
  }
  MORPHFIT_ASSIGN_OR_RETURN(int64_t version, h5::ReadIntScalar(f, "/face_params/version", path));
  if (version != FaceParams::kVersion) {
    return InvalidArgumentError(path + ": FaceParams version " + std::to_string(version) +
                                " is not supported");
  }
  MORPHFIT_ASSIGN_OR_RETURN(auto sizes, h5::ReadInt32(f, "/face_params/block_sizes", path));
  MORPHFIT_ASSIGN_OR_RETURN(auto flat, h5::ReadDouble(f, "/face_params/flat", path));
  MORPHFIT_ASSIGN_OR_RETURN(auto cam, h5::ReadInt32(f, "/face_params/camera_type", path));
  MORPHFIT_ASSIGN_OR_RETURN(auto image_size, h5::ReadInt32(f, "/face_params/image_size", path));
  MORPHFIT_ASSIGN_OR_RETURN(auto ids, h5::ReadStringList(f, "/face_params/id", path));
  MORPHFIT_ASSIGN_OR_RETURN(auto images, h5::ReadStringList(f, "/face_params/image", path));
  std::string model;
  auto model_or = h5::ReadStringAttribute(f, "/face_params", "model", path);
  if (model_or.ok()) model = *model_or;
  if (sizes.size() != 3) return DataLossError(path + ": /face_params/block_sizes must hold 3 values");
  FaceParams proto;
  proto.identity = Eigen::VectorXd::Zero(sizes.data[0]);
  proto.expression = Eigen::VectorXd::Zero(sizes.data[1]);
  proto.albedo = Eigen::VectorXd::Zero(sizes.data[2]);
  const size_t p = proto.FlatSize();
  const size_t n = ids.size();
  if (flat.dims.size() != 2 || flat.dims[0] != n || flat.dims[1] != p || cam.size() != n ||
      image_size.size() != 2 * n || images.size() != n) {
    return DataLossError(path + ": /face_params datasets disagree in shape (expected " +
                         std::to_string(n) + " rows of " + std::to_string(p) + " values)");
  }
  FaceParamsTable table;
  table.ids = std::move(ids);
  for (size_t r = 0; r < n; ++r) {
    FaceParams row = proto;
    MORPHFIT_RETURN_IF_ERROR(row.SetFromFlat(Eigen::Map<const Eigen::VectorXd>(flat.data.data() + r * p, p)));
    if (cam.data[r] != 0 && cam.data[r] != 1) {
      return DataLossError(path + ": row " + std::to_string(r) + " has camera type " +
                           std::to_string(cam.data[r]) + ", expected 0 or 1");
    }
    row.camera_type = static_cast<CameraType>(cam.data[r]);
    row.image_width = image_size.data[2 * r];
    row.image_height = image_size.data[2 * r + 1];
    row.image = images[r];
    row.model = model;
    table.rows.push_back(std::move(row));
  }
  return table;
}

}  // namespace morphfit
