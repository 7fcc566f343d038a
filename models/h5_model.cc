// statismo / BFM 2017 `.h5` models (docs/FORMATS.md section 5) with the morphfit extension
// group /metadata/morphfit/ (docs/formats.md).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include <Eigen/Geometry>
#include <nlohmann/json.hpp>

#include "core/hdf5_util.h"
#include "morphfit/core/file_util.h"
#include "morphfit/models/model_io.h"

namespace morphfit::models {
namespace {

using Json = nlohmann::json;
using RowMajorMatrixXf = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

constexpr const char* kMeta = "/metadata/morphfit";
constexpr int kMetaFormatVersion = 1;

// Reads one statismo block (shape, color or expression): mean and sigma-scaled basis.
Status ReadBlock(hid_t f, const std::string& group, const std::string& file, Eigen::VectorXf* mean,
                 LinearBasis* block) {
  MORPHFIT_ASSIGN_OR_RETURN(auto m, h5::ReadFloat(f, group + "/model/mean", file));
  MORPHFIT_ASSIGN_OR_RETURN(auto basis, h5::ReadFloat(f, group + "/model/pcaBasis", file));
  MORPHFIT_ASSIGN_OR_RETURN(auto var, h5::ReadFloat(f, group + "/model/pcaVariance", file));
  const size_t rows = m.size();
  if (rows == 0 || rows % 3 != 0) {
    return InvalidArgumentError(file + ": " + group + "/model/mean has " + std::to_string(rows) +
                                " values, expected 3 x number of vertices");
  }
  const size_t k = var.size();
  if (basis.dims.size() != 2 || basis.dims[0] != rows || basis.dims[1] != k) {
    std::ostringstream msg;
    msg << file << ": " << group << "/model/pcaBasis has shape (";
    for (size_t i = 0; i < basis.dims.size(); ++i) msg << (i ? ", " : "") << basis.dims[i];
    msg << "), expected (" << rows << ", " << k << ") = (3 x vertices, modes)";
    return InvalidArgumentError(msg.str());
  }
  *mean = Eigen::Map<Eigen::VectorXf>(m.data.data(), rows);
  block->basis = Eigen::Map<RowMajorMatrixXf>(basis.data.data(), rows, k);
  block->stddev.resize(k);
  for (size_t i = 0; i < k; ++i) {
    const float v = var.data[i];
    if (!std::isfinite(v) || v < 0.0f) {
      return DataLossError(file + ": " + group + "/model/pcaVariance[" + std::to_string(i) +
                           "] is " + std::to_string(v) + ", expected a finite value >= 0");
    }
    block->stddev[i] = std::sqrt(v);
  }
  // statismo >= 0.9 stores orthonormal columns; fold sigma in (DESIGN.md: coefficients in sigma).
  block->basis *= block->stddev.asDiagonal();
  return OkStatus();
}

StatusOr<std::vector<std::string>> ReadNames(hid_t f, const std::string& path,
                                             const std::string& file) {
  // Either a string list, or one string holding a JSON list (as the ICT conversion stores it).
  MORPHFIT_ASSIGN_OR_RETURN(auto list, h5::ReadStringList(f, path, file));
  if (list.size() == 1 && !list[0].empty() && list[0][0] == '[') {
    try {
      return Json::parse(list[0]).get<std::vector<std::string>>();
    } catch (const Json::exception& e) {
      return InvalidArgumentError(file + ": " + path + " is not a JSON list of names: " + e.what());
    }
  }
  return list;
}

// Flips triangles that face inward. The flux of (x - p) through the surface is 3 x volume for a
// closed mesh (any p) and positive for an outward mask seen from a point p behind it.
bool OrientOutward(const Eigen::VectorXf& mean, Eigen::Matrix<int32_t, 3, Eigen::Dynamic>* tri) {
  const Eigen::Matrix<float, 6, 1> box = BoundingBox(mean);
  const Eigen::Vector3d p(0.5 * (box[0] + box[3]), 0.5 * (box[1] + box[4]),
                          box[2] - (box[5] - box[2]));
  double flux = 0.0;
  for (Eigen::Index t = 0; t < tri->cols(); ++t) {
    const Eigen::Vector3d a = mean.segment<3>(3 * (*tri)(0, t)).cast<double>();
    const Eigen::Vector3d b = mean.segment<3>(3 * (*tri)(1, t)).cast<double>();
    const Eigen::Vector3d c = mean.segment<3>(3 * (*tri)(2, t)).cast<double>();
    flux += ((a + b + c) / 3.0 - p).dot((b - a).cross(c - a));
  }
  if (flux >= 0.0) return false;
  tri->row(1).swap(tri->row(2));
  return true;
}

}  // namespace

StatusOr<MorphableModel> LoadH5Model(const std::string& path, const ModelLoadOptions& options) {
  MORPHFIT_ASSIGN_OR_RETURN(h5::Handle file, h5::OpenFileReadOnly(path));
  const hid_t f = file.get();
  MorphableModel model;
  model.source = path;
  model.name = path.substr(path.find_last_of('/') + 1);

  MORPHFIT_RETURN_IF_ERROR(ReadBlock(f, "/shape", path, &model.shape_mean, &model.identity));
  const size_t rows = model.shape_mean.size();
  const int n = static_cast<int>(rows / 3);

  // Triangles: statismo stores cells as 3 x T.
  MORPHFIT_ASSIGN_OR_RETURN(auto cells, h5::ReadInt32(f, "/shape/representer/cells", path));
  if (cells.dims.size() != 2 || cells.dims[0] != 3) {
    return InvalidArgumentError(path + ": /shape/representer/cells must have shape (3, T)");
  }
  const Eigen::Index num_tri = static_cast<Eigen::Index>(cells.dims[1]);
  model.triangles = Eigen::Map<Eigen::Matrix<int32_t, 3, Eigen::Dynamic, Eigen::RowMajor>>(
      cells.data.data(), 3, num_tri);

  if (h5::Exists(f, "/expression/model/mean")) {
    Eigen::VectorXf exp_mean;
    MORPHFIT_RETURN_IF_ERROR(ReadBlock(f, "/expression", path, &exp_mean, &model.expression));
    if (static_cast<size_t>(exp_mean.size()) != rows) {
      return InvalidArgumentError(path + ": /expression/model/mean has " +
                                  std::to_string(exp_mean.size()) + " values, the shape has " +
                                  std::to_string(rows));
    }
    model.shape_mean += exp_mean;  // a neutral-expression offset, folded into the mean
    model.expression_kind = ExpressionKind::kPca;
  }
  if (h5::Exists(f, "/color/model/mean")) {
    MORPHFIT_RETURN_IF_ERROR(ReadBlock(f, "/color", path, &model.albedo_mean, &model.albedo));
    if (static_cast<size_t>(model.albedo_mean.size()) != rows) {
      return InvalidArgumentError(path + ": /color/model/mean has " +
                                  std::to_string(model.albedo_mean.size()) +
                                  " values, the shape has " + std::to_string(rows));
    }
  }

  // Expression kind and names.
  for (const std::string& kind_path : {std::string(kMeta) + "/expression_kind",
                                      std::string("/metadata/expression_kind")}) {
    if (model.num_expression() == 0 || !h5::Exists(f, kind_path)) continue;
    MORPHFIT_ASSIGN_OR_RETURN(std::string kind, h5::ReadString(f, kind_path, path));
    if (kind == "blendshape") {
      model.expression_kind = ExpressionKind::kBlendshape;
    } else if (kind == "pca") {
      model.expression_kind = ExpressionKind::kPca;
    } else {
      return InvalidArgumentError(path + ": " + kind_path + " is '" + kind +
                                  "', expected 'pca' or 'blendshape'");
    }
    break;
  }
  struct NameSource { const char* path; LinearBasis* block; };
  for (const NameSource& s : {NameSource{"/metadata/morphfit/identity_names", &model.identity},
                              NameSource{"/metadata/morphfit/expression_names", &model.expression},
                              NameSource{"/metadata/expression_names", &model.expression},
                              NameSource{"/metadata/morphfit/albedo_names", &model.albedo}}) {
    if (!s.block->names.empty() || !h5::Exists(f, s.path)) continue;
    MORPHFIT_ASSIGN_OR_RETURN(s.block->names, ReadNames(f, s.path, path));
  }

  // Units.
  std::string units;
  if (h5::Exists(f, std::string(kMeta) + "/units")) {
    MORPHFIT_ASSIGN_OR_RETURN(units, h5::ReadString(f, std::string(kMeta) + "/units", path));
    if (units != "mm" && units != "um") {
      return InvalidArgumentError(path + ": " + kMeta + "/units is '" + units +
                                  "', expected 'mm' or 'um'");
    }
    model.units_note = "units from file metadata: " + units;
  } else {
    const Eigen::Matrix<float, 6, 1> box = BoundingBox(model.shape_mean);
    const float extent = (box.tail<3>() - box.head<3>()).maxCoeff();
    units = extent > 5000.0f ? "um" : "mm";
    char buf[160];
    std::snprintf(buf, sizeof(buf), "units inferred from the mean shape's extent (%.0f): %s", extent,
                  units == "um" ? "micrometres, converted to mm" : "millimetres");
    model.units_note = buf;
  }
  if (units == "um") {
    model.shape_mean /= 1000.0f;
    model.identity.basis /= 1000.0f;
    model.identity.stddev /= 1000.0f;
    model.expression.basis /= 1000.0f;
    model.expression.stddev /= 1000.0f;
  }
  if (model.albedo_mean.size() > 0 && model.albedo_mean.maxCoeff() > 1.5f) {
    model.albedo_mean /= 255.0f;
    model.albedo.basis /= 255.0f;
    model.albedo.stddev /= 255.0f;
    model.units_note += "; colour 0..255 scaled to 0..1";
  }

  // morphfit extension data.
  const std::string meta(kMeta);
  if (h5::Exists(f, meta + "/name")) {
    MORPHFIT_ASSIGN_OR_RETURN(model.name, h5::ReadString(f, meta + "/name", path));
  }
  if (h5::Exists(f, meta + "/generator_version")) {
    MORPHFIT_ASSIGN_OR_RETURN(int64_t v, h5::ReadIntScalar(f, meta + "/generator_version", path));
    model.generator_version = static_cast<int>(v);
  }
  if (h5::Exists(f, meta + "/landmarks_68")) {
    MORPHFIT_ASSIGN_OR_RETURN(auto lm, h5::ReadInt32(f, meta + "/landmarks_68", path));
    model.landmarks.assign(lm.data.begin(), lm.data.end());
  }
  if (h5::Exists(f, meta + "/contour_vertices")) {
    MORPHFIT_ASSIGN_OR_RETURN(auto verts, h5::ReadInt32(f, meta + "/contour_vertices", path));
    MORPHFIT_ASSIGN_OR_RETURN(auto offsets, h5::ReadInt32(f, meta + "/contour_offsets", path));
    for (size_t j = 0; j + 1 < offsets.size(); ++j) {
      const int begin = offsets.data[j], end = offsets.data[j + 1];
      if (begin < 0 || end < begin || static_cast<size_t>(end) > verts.size()) {
        return DataLossError(path + ": " + meta + "/contour_offsets is not a valid offset list");
      }
      model.contour_candidates.emplace_back(verts.data.begin() + begin, verts.data.begin() + end);
    }
  }
  for (auto [name, mask] : {std::pair{"/face_mask", &model.face_mask},
                            std::pair{"/skin_mask", &model.skin_mask}}) {
    if (!h5::Exists(f, meta + name)) continue;
    MORPHFIT_ASSIGN_OR_RETURN(auto m, h5::ReadUint8(f, meta + name, path));
    mask->assign(m.data.begin(), m.data.end());
  }
  if (h5::Exists(f, meta + "/uv")) {
    MORPHFIT_ASSIGN_OR_RETURN(auto uv, h5::ReadFloat(f, meta + "/uv", path));
    if (uv.dims.size() != 2 || uv.dims[0] != 2) {
      return InvalidArgumentError(path + ": " + meta + "/uv must have shape (2, N)");
    }
    model.uv = Eigen::Map<Eigen::Matrix<float, 2, Eigen::Dynamic, Eigen::RowMajor>>(
        uv.data.data(), 2, static_cast<Eigen::Index>(uv.dims[1]));
  }
  if (!options.landmark_map_path.empty()) {
    MORPHFIT_ASSIGN_OR_RETURN(model.landmarks, ReadLandmarkMap(options.landmark_map_path, n));
  }

  // Check indices before using them for the winding test.
  MORPHFIT_RETURN_IF_ERROR(model.Validate(path));
  if (OrientOutward(model.shape_mean, &model.triangles)) {
    model.units_note += "; triangles flipped to face outward";
  }
  if (options.max_identity >= 0 && options.max_identity < model.num_identity()) {
    model.identity.Truncate(options.max_identity);
  }
  if (options.max_expression >= 0 && options.max_expression < model.num_expression()) {
    model.expression.Truncate(options.max_expression);
    if (model.num_expression() == 0) model.expression_kind = ExpressionKind::kNone;
  }
  if (options.max_albedo >= 0 && options.max_albedo < model.num_albedo()) {
    model.albedo.Truncate(options.max_albedo);
  }
  return model;
}

namespace {

Status WriteBlock(hid_t f, const std::string& group, const Eigen::VectorXf& mean,
                  const LinearBasis& block, const MorphableModel& model, const char* representer) {
  const hsize_t rows = mean.size(), k = block.size();
  // Orthonormal-direction columns (basis / sigma); zero-sigma columns are written as zeros.
  RowMajorMatrixXf unit(rows, k);
  Eigen::VectorXf variance(k);
  for (hsize_t i = 0; i < k; ++i) {
    const float s = block.stddev[i];
    unit.col(i) = s > 0.0f ? Eigen::VectorXf(block.basis.col(i) / s) : Eigen::VectorXf::Zero(rows);
    variance[i] = s * s;
  }
  const float zero = 0.0f;
  MORPHFIT_RETURN_IF_ERROR(h5::WriteFloat(f, group + "/model/mean", mean.data(), {rows}));
  MORPHFIT_RETURN_IF_ERROR(h5::WriteFloat(f, group + "/model/pcaBasis", unit.data(), {rows, k}, true));
  MORPHFIT_RETURN_IF_ERROR(h5::WriteFloat(f, group + "/model/pcaVariance", variance.data(), {k}));
  MORPHFIT_RETURN_IF_ERROR(h5::WriteFloat(f, group + "/model/noiseVariance", &zero, {1}));
  MORPHFIT_RETURN_IF_ERROR(h5::WriteIntScalar(f, group + "/version/majorVersion", 0));
  MORPHFIT_RETURN_IF_ERROR(h5::WriteIntScalar(f, group + "/version/minorVersion", 9));
  // Representer: the reference mesh (3 x N points, 3 x T cells), as statismo readers expect.
  const hsize_t n = model.num_vertices(), t = model.num_triangles();
  Eigen::Matrix<float, 3, Eigen::Dynamic, Eigen::RowMajor> points =
      Eigen::Map<const Eigen::Matrix3Xf>(model.shape_mean.data(), 3, n);
  Eigen::Matrix<int32_t, 3, Eigen::Dynamic, Eigen::RowMajor> cells = model.triangles;
  MORPHFIT_RETURN_IF_ERROR(h5::WriteFloat(f, group + "/representer/points", points.data(), {3, n}, true));
  MORPHFIT_RETURN_IF_ERROR(h5::WriteInt32(f, group + "/representer/cells", cells.data(), {3, t}, true));
  MORPHFIT_RETURN_IF_ERROR(h5::WriteStringAttribute(f, group + "/representer", "name", representer));
  MORPHFIT_RETURN_IF_ERROR(
      h5::WriteStringAttribute(f, group + "/representer", "datasetType", "POLYGON_MESH"));
  return OkStatus();
}

}  // namespace

Status WriteH5Model(const MorphableModel& model, const std::string& path) {
  MORPHFIT_RETURN_IF_ERROR(model.Validate("model to write to " + path));
  AtomicFile out(path);
  {
    MORPHFIT_ASSIGN_OR_RETURN(h5::Handle file, h5::CreateFile(out.temp_path()));
    const hid_t f = file.get();
    MORPHFIT_RETURN_IF_ERROR(WriteBlock(f, "/shape", model.shape_mean, model.identity, model,
                                        "gravis::MeshShapeRepresenter"));
    if (model.num_expression() > 0) {
      const Eigen::VectorXf zero = Eigen::VectorXf::Zero(model.shape_mean.size());
      MORPHFIT_RETURN_IF_ERROR(WriteBlock(f, "/expression", zero, model.expression, model,
                                          "gravis::MeshExpressionRepresenter"));
    }
    if (model.albedo_mean.size() > 0) {
      MORPHFIT_RETURN_IF_ERROR(WriteBlock(f, "/color", model.albedo_mean, model.albedo, model,
                                          "gravis::MeshColorRepresenter"));
      MORPHFIT_RETURN_IF_ERROR(h5::WriteStringAttribute(f, "/color/representer", "colorspace", "RGB"));
    }
    MORPHFIT_RETURN_IF_ERROR(h5::WriteIntScalar(f, "/version/majorVersion", 0));
    MORPHFIT_RETURN_IF_ERROR(h5::WriteIntScalar(f, "/version/minorVersion", 9));

    const std::string meta(kMeta);
    MORPHFIT_RETURN_IF_ERROR(h5::WriteIntScalar(f, meta + "/format_version", kMetaFormatVersion));
    MORPHFIT_RETURN_IF_ERROR(h5::WriteString(f, meta + "/name", model.name));
    MORPHFIT_RETURN_IF_ERROR(h5::WriteString(f, meta + "/units", "mm"));
    MORPHFIT_RETURN_IF_ERROR(h5::WriteString(f, meta + "/expression_kind",
                                             ExpressionKindName(model.expression_kind)));
    MORPHFIT_RETURN_IF_ERROR(h5::WriteIntScalar(f, meta + "/generator_version", model.generator_version));
    if (!model.identity.names.empty()) {
      MORPHFIT_RETURN_IF_ERROR(h5::WriteStringList(f, meta + "/identity_names", model.identity.names));
    }
    if (!model.expression.names.empty()) {
      MORPHFIT_RETURN_IF_ERROR(h5::WriteStringList(f, meta + "/expression_names", model.expression.names));
    }
    if (!model.albedo.names.empty()) {
      MORPHFIT_RETURN_IF_ERROR(h5::WriteStringList(f, meta + "/albedo_names", model.albedo.names));
    }
    if (!model.landmarks.empty()) {
      std::vector<int32_t> lm(model.landmarks.begin(), model.landmarks.end());
      MORPHFIT_RETURN_IF_ERROR(h5::WriteInt32(f, meta + "/landmarks_68", lm.data(), {lm.size()}));
      // The statismo landmark list, so other tools see the same 68 points.
      Json list = Json::array();
      char id[16];
      for (size_t i = 0; i < model.landmarks.size(); ++i) {
        std::snprintf(id, sizeof(id), "ibug68_%02d", static_cast<int>(i + 1));
        const Eigen::Vector3f p = model.shape_mean.segment<3>(3 * model.landmarks[i]);
        list.push_back({{"id", id}, {"coordinates", {p.x(), p.y(), p.z()}}});
      }
      MORPHFIT_RETURN_IF_ERROR(h5::WriteString(f, "/metadata/landmarks/json", list.dump()));
    }
    if (!model.contour_candidates.empty()) {
      std::vector<int32_t> verts, offsets{0};
      for (const auto& line : model.contour_candidates) {
        verts.insert(verts.end(), line.begin(), line.end());
        offsets.push_back(static_cast<int32_t>(verts.size()));
      }
      MORPHFIT_RETURN_IF_ERROR(h5::WriteInt32(f, meta + "/contour_vertices", verts.data(), {verts.size()}));
      MORPHFIT_RETURN_IF_ERROR(h5::WriteInt32(f, meta + "/contour_offsets", offsets.data(), {offsets.size()}));
    }
    if (!model.face_mask.empty()) {
      MORPHFIT_RETURN_IF_ERROR(h5::WriteUint8(f, meta + "/face_mask", model.face_mask.data(), {model.face_mask.size()}));
    }
    if (!model.skin_mask.empty()) {
      MORPHFIT_RETURN_IF_ERROR(h5::WriteUint8(f, meta + "/skin_mask", model.skin_mask.data(), {model.skin_mask.size()}));
    }
    if (model.uv.cols() > 0) {
      Eigen::Matrix<float, 2, Eigen::Dynamic, Eigen::RowMajor> uv = model.uv;
      MORPHFIT_RETURN_IF_ERROR(h5::WriteFloat(f, meta + "/uv", uv.data(), {2, hsize_t(uv.cols())}));
    }
  }
  return out.Commit();
}

}  // namespace morphfit::models
