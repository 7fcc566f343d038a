// Deep3DFaceRecon's derived `BFM_model_front.mat` and its `facemodel_info.mat`
// (docs/FORMATS.md section 3): reader and writers.
#include "mat_model_util.h"
#include "morphfit/models/mat_models.h"

namespace morphfit::models {

using mat::MatArray;

namespace {

// Reads a (3N)-row basis pre-scaled by sigma (FORMATS.md section 3: idBase = shapePC * EV),
// scaled to the project's units; stddev = column norms (the file keeps no sigma).
Status ReadPrescaledBasis(const mat::MatFile& f, const std::string& name, long rows, int max_modes,
                          float scale, LinearBasis* out) {
  MORPHFIT_ASSIGN_OR_RETURN(MatArray<float> a, f.ReadFloat(name));
  MORPHFIT_RETURN_IF_ERROR(mat::ExpectDims(a, f.path(), name, {rows, -1}));
  MORPHFIT_RETURN_IF_ERROR(mat::ExpectFinite(a, f.path(), name));
  const long k = mat::ModesToKeep(max_modes, static_cast<int>(a.cols()), static_cast<int>(a.cols()));
  out->basis = Eigen::Map<const Eigen::MatrixXf>(a.data.data(), rows, k) * scale;
  out->stddev = out->basis.colwise().norm().transpose();
  return OkStatus();
}

// For each vertex, the 1-based ids of up to 8 triangles touching it, padded with T + 1
// (FORMATS.md section 3: Deep3DFaceRecon's point_buf).
std::vector<int> PointBuffer(const mat::Triangles& tri, int n) {
  std::vector<int> buf(static_cast<size_t>(n) * 8, static_cast<int>(tri.cols()));
  std::vector<int> count(n, 0);
  for (Eigen::Index t = 0; t < tri.cols(); ++t) {
    for (int c = 0; c < 3; ++c) {
      const int v = tri(c, t);
      if (count[v] < 8) buf[static_cast<size_t>(count[v]++) * n + v] = static_cast<int>(t);
    }
  }
  return buf;  // 0-based (IndexVar adds 1); column-major N x 8
}

std::vector<mat::MatVar> FrontInfoVars(const MorphableModel& m) {
  const size_t n = m.num_vertices(), t = m.num_triangles();
  std::vector<int> tri(3 * t);
  for (size_t i = 0; i < t; ++i) {
    for (int c = 0; c < 3; ++c) tri[c * t + i] = m.triangles(c, i);  // T x 3 column-major
  }
  std::vector<int> front_idx;
  std::vector<float> frontmask(n, 0.0f), skin(n, 0.0f);
  for (size_t v = 0; v < n; ++v) {
    if (!m.face_mask.empty() && m.face_mask[v]) {
      front_idx.push_back(static_cast<int>(v));
      frontmask[v] = 1.0f;
    }
    if (!m.skin_mask.empty() && m.skin_mask[v]) skin[v] = 1.0f;
  }
  std::vector<mat::MatVar> vars = {
      mat::IndexVar("tri", {t, 3}, tri, true),
      mat::IndexVar("point_buf", {n, 8}, PointBuffer(m.triangles, static_cast<int>(n)), true),
      mat::IndexVar("keypoints", {1, m.landmarks.size()}, m.landmarks, true),
      mat::IndexVar("frontmask2_idx", {front_idx.size(), 1}, front_idx, true),
      mat::SingleVar("frontmask2", {1, n}, frontmask.data()),
      mat::SingleVar("skinmask", {1, n}, skin.data())};
  return vars;
}

}  // namespace

StatusOr<MorphableModel> LoadDeep3dModel(const std::string& path, const ModelLoadOptions& options) {
  MORPHFIT_ASSIGN_OR_RETURN(auto f, mat::MatFile::Open(path));
  MorphableModel model;
  model.source = path;
  model.name = "Deep3DFaceRecon BFM front (" + path.substr(path.find_last_of('/') + 1) + ")";
  // Decimetres (BFM um / 1e5, FORMATS.md section 3) -> mm.
  constexpr float kDmToMm = 100.0f;
  MORPHFIT_ASSIGN_OR_RETURN(MatArray<float> mean, f->ReadFloat("meanshape"));
  MORPHFIT_RETURN_IF_ERROR(mat::ExpectVector(mean, path, "meanshape", -1));
  MORPHFIT_RETURN_IF_ERROR(mat::ExpectFinite(mean, path, "meanshape"));
  if (mean.size() == 0 || mean.size() % 3 != 0) {
    return InvalidArgumentError(path + ": variable 'meanshape' has " + std::to_string(mean.size()) +
                                " values, expected 3 x vertices (107127 for 35709 vertices)");
  }
  const long rows = static_cast<long>(mean.size());
  const int n = static_cast<int>(rows / 3);
  model.shape_mean = Eigen::Map<const Eigen::VectorXf>(mean.data.data(), rows) * kDmToMm;
  MORPHFIT_RETURN_IF_ERROR(
      ReadPrescaledBasis(*f, "idBase", rows, options.max_identity, kDmToMm, &model.identity));
  if (f->Has("exBase")) {  // float64 in the real file; read converted
    MORPHFIT_RETURN_IF_ERROR(
        ReadPrescaledBasis(*f, "exBase", rows, options.max_expression, kDmToMm, &model.expression));
    if (model.num_expression() > 0) model.expression_kind = ExpressionKind::kPca;
  }
  MORPHFIT_ASSIGN_OR_RETURN(MatArray<float> tex, f->ReadFloat("meantex"));
  MORPHFIT_RETURN_IF_ERROR(mat::ExpectVector(tex, path, "meantex", rows));
  MORPHFIT_RETURN_IF_ERROR(mat::ExpectFinite(tex, path, "meantex"));
  // Colour 0..255 (texBase is not divided by 1e5) -> 0..1.
  model.albedo_mean = Eigen::Map<const Eigen::VectorXf>(tex.data.data(), rows) / 255.0f;
  MORPHFIT_RETURN_IF_ERROR(
      ReadPrescaledBasis(*f, "texBase", rows, options.max_albedo, 1.0f / 255.0f, &model.albedo));

  // tri is T x 3, 1-based, already CCW outward (FORMATS.md section 3, outward score +0.95).
  MORPHFIT_ASSIGN_OR_RETURN(model.triangles, mat::ReadTriangles(*f, "tri", n, true));
  if (f->Has("point_buf")) {  // not kept, but checked: 1-based triangle ids, T + 1 = padding
    MORPHFIT_ASSIGN_OR_RETURN(MatArray<int32_t> pb, f->ReadInt32("point_buf"));
    MORPHFIT_RETURN_IF_ERROR(mat::ExpectDims(pb, path, "point_buf", {n, -1}));
    MORPHFIT_RETURN_IF_ERROR(
        mat::ToZeroBased(pb, path, "point_buf", model.num_triangles() + 1).status());
  }
  if (f->Has("keypoints")) {
    MORPHFIT_ASSIGN_OR_RETURN(MatArray<int32_t> kp, f->ReadInt32("keypoints"));
    MORPHFIT_RETURN_IF_ERROR(mat::ExpectVector(kp, path, "keypoints", kNumLandmarks));
    MORPHFIT_ASSIGN_OR_RETURN(model.landmarks, mat::ToZeroBased(kp, path, "keypoints", n));
  }
  if (f->Has("frontmask2_idx")) {
    MORPHFIT_ASSIGN_OR_RETURN(MatArray<int32_t> fm, f->ReadInt32("frontmask2_idx"));
    MORPHFIT_RETURN_IF_ERROR(mat::ExpectVector(fm, path, "frontmask2_idx", -1));
    MORPHFIT_ASSIGN_OR_RETURN(std::vector<int> ids, mat::ToZeroBased(fm, path, "frontmask2_idx", n));
    model.face_mask.assign(n, 0);
    for (int v : ids) model.face_mask[v] = 1;
  }
  if (f->Has("skinmask")) {
    MORPHFIT_ASSIGN_OR_RETURN(MatArray<int32_t> sm, f->ReadInt32("skinmask"));
    MORPHFIT_RETURN_IF_ERROR(mat::ExpectVector(sm, path, "skinmask", n));
    model.skin_mask.assign(n, 0);
    for (int i = 0; i < n; ++i) {
      if (sm.data[i] != 0 && sm.data[i] != 1) {
        return InvalidArgumentError(path + ": variable 'skinmask' element " + std::to_string(i) +
                                    " is " + std::to_string(sm.data[i]) + ", expected 0 or 1");
      }
      model.skin_mask[i] = static_cast<uint8_t>(sm.data[i]);
    }
  }
  if (!options.landmark_map_path.empty()) {
    MORPHFIT_ASSIGN_OR_RETURN(model.landmarks, ReadLandmarkMap(options.landmark_map_path, n));
  }
  model.units_note =
      "Deep3DFaceRecon front model: decimetres x 100 -> mm; bases pre-scaled by sigma "
      "(stddev = column norm); colour 0..255 scaled to 0..1; 1-based indices -> 0-based; "
      "tri already CCW outward";
  MORPHFIT_RETURN_IF_ERROR(model.Validate(path));
  return model;
}

Status WriteDeep3dModelMat(const MorphableModel& model, const std::string& path,
                           const MatWriteOptions& options) {
  MORPHFIT_RETURN_IF_ERROR(model.Validate("model to write to " + path));
  const size_t rows = model.shape_mean.size();
  const Eigen::VectorXf mean = model.shape_mean / 100.0f;
  const Eigen::MatrixXf id = model.identity.basis / 100.0f;
  const Eigen::VectorXf tex = model.albedo_mean * 255.0f;
  const Eigen::MatrixXf tex_basis = model.albedo.basis * 255.0f;
  std::vector<double> ex(model.expression.basis.data(),
                         model.expression.basis.data() + model.expression.basis.size());
  for (double& x : ex) x /= 100.0;
  std::vector<mat::MatVar> vars = {
      mat::SingleVar("meanshape", {1, rows}, mean.data()),
      mat::SingleVar("idBase", {rows, static_cast<size_t>(id.cols())}, id.data()),
      mat::DoubleVar("exBase", {rows, static_cast<size_t>(model.num_expression())}, std::move(ex)),
      mat::SingleVar("meantex", {1, rows}, tex.data()),
      mat::SingleVar("texBase", {rows, static_cast<size_t>(tex_basis.cols())}, tex_basis.data())};
  for (mat::MatVar& v : FrontInfoVars(model)) {
    if (v.name != "frontmask2") vars.push_back(std::move(v));
  }
  return mat::WriteMatFile(path, vars, options);
}

Status WriteFacemodelInfoMat(const MorphableModel& front_model, const std::string& path,
                             const MatWriteOptions& options) {
  return mat::WriteMatFile(path, FrontInfoVars(front_model), options);
}

Status WriteTrimIndexMat(const std::vector<int>& ids, const std::string& path,
                         const MatWriteOptions& options) {
  // Class double stored as uint16, as in the real BFM_exp_idx.mat (FORMATS.md section 0).
  return mat::WriteMatFile(path, {mat::IndexVar("trimIndex", {ids.size(), 1}, ids, false)}, options);
}

Status WriteFrontIndexMat(const std::vector<int>& ids, const std::string& path,
                          const MatWriteOptions& options) {
  return mat::WriteMatFile(path, {mat::IndexVar("idx", {ids.size(), 1}, ids, true)}, options);
}

}  // namespace morphfit::models
