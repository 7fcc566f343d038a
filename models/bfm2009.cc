// Basel Face Model 2009 `01_MorphableModel.mat` (docs/FORMATS.md section 1), composed with an
// expression basis (section 2: Guo's Exp_Pca.bin; section 4: 3DDFA Model_Expression.mat) on a
// chosen vertex set (53490 full / 53215 trimmed / 35709 front, via the section 2 index files),
// with landmarks, masks and front triangles from Deep3DFaceRecon's facemodel_info.mat
// (section 3) or 3DDFA's model_info.mat (section 4). Also the BFM 2009 layout writer.
#include <algorithm>

#include "mat_model_util.h"
#include "morphfit/models/mat_models.h"

namespace morphfit::models {

using mat::MatArray;

namespace {

// Deep3DFaceRecon's block sizes, the default number of modes kept.
constexpr int kDefaultIdentity = 80;
constexpr int kDefaultExpression = 64;
constexpr int kDefaultAlbedo = 80;
constexpr float kUmToMm = 1.0f / 1000.0f;

bool EndsWith(const std::string& s, const std::string& suffix) {
  if (s.size() < suffix.size()) return false;
  return std::equal(suffix.rbegin(), suffix.rend(), s.rbegin(),
                    [](char a, char b) { return std::tolower(a) == b; });
}

// Reads a PCA block: mean (3N), PC (3N x K, orthonormal columns), EV (K, sigma: BFM's
// coef2object.m "EV the standard deviation of each principal component"), the first `keep`
// modes gathered at `ids` and scaled by `scale`. Returns the full mean's row count in *rows.
Status ReadPcaBlock(const mat::MatFile& f, const char* mu_name, const char* pc_name,
                    const char* ev_name, const std::vector<int>* ids, int keep_requested,
                    int keep_default, float scale, long* rows, Eigen::VectorXf* mean,
                    LinearBasis* block) {
  MORPHFIT_ASSIGN_OR_RETURN(MatArray<float> mu, f.ReadFloat(mu_name));
  MORPHFIT_RETURN_IF_ERROR(mat::ExpectVector(mu, f.path(), mu_name, *rows > 0 ? *rows : -1));
  if (mu.size() == 0 || mu.size() % 3 != 0) {
    return InvalidArgumentError(f.path() + ": variable '" + mu_name + "' has " +
                                std::to_string(mu.size()) +
                                " values, expected 3 x vertices (160470 for BFM 2009)");
  }
  *rows = static_cast<long>(mu.size());
  MORPHFIT_RETURN_IF_ERROR(mat::ExpectFinite(mu, f.path(), mu_name));
  MORPHFIT_ASSIGN_OR_RETURN(MatArray<float> ev, f.ReadFloat(ev_name));
  MORPHFIT_RETURN_IF_ERROR(mat::ExpectVector(ev, f.path(), ev_name, -1));
  MORPHFIT_RETURN_IF_ERROR(mat::ExpectFinite(ev, f.path(), ev_name));
  const long k_all = static_cast<long>(ev.size());
  MORPHFIT_ASSIGN_OR_RETURN(MatArray<float> pc, f.ReadFloat(pc_name));
  MORPHFIT_RETURN_IF_ERROR(mat::ExpectDims(pc, f.path(), pc_name, {*rows, k_all}));
  const int k = mat::ModesToKeep(keep_requested, keep_default, static_cast<int>(k_all));
  for (size_t i = 0; i < static_cast<size_t>(*rows) * k; ++i) {  // only the kept modes matter
    if (!std::isfinite(pc.data[i])) {
      return DataLossError(f.path() + ": variable '" + pc_name + "' element " + std::to_string(i) +
                           " is " + std::to_string(pc.data[i]) + ", expected a finite number");
    }
  }
  Eigen::VectorXf sigma(k);
  for (int c = 0; c < k; ++c) {
    if (ev.data[c] < 0.0f) {
      return DataLossError(f.path() + ": variable '" + ev_name + "' element " + std::to_string(c) +
                           " is " + std::to_string(ev.data[c]) + ", expected a sigma >= 0");
    }
    sigma[c] = ev.data[c] * scale;
  }
  std::vector<int> all;
  if (ids == nullptr) {
    all.resize(*rows / 3);
    for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int>(i);
    ids = &all;
  }
  *mean = mat::GatherVector(mu.data.data(), *ids) * scale;
  mu = {};
  block->basis = mat::GatherRows(pc.data.data(), *rows, k, *ids, sigma);
  block->stddev = sigma;
  return OkStatus();
}

// The index maps (FORMATS.md section 2): trimIndex (53215, 1-based into 53490, strictly
// increasing) and idx (35709, 1-based into 53215, strictly increasing).
StatusOr<std::vector<int>> ReadIndexVector(const std::string& path, const char* name, int max) {
  MORPHFIT_ASSIGN_OR_RETURN(auto f, mat::MatFile::Open(path));
  MORPHFIT_ASSIGN_OR_RETURN(MatArray<int32_t> a, f->ReadInt32(name));
  MORPHFIT_RETURN_IF_ERROR(mat::ExpectVector(a, path, name, -1));
  return mat::ToZeroBased(a, path, name, max, /*strictly_increasing=*/true);
}

}  // namespace

const char* VertexSetName(VertexSet set) {
  switch (set) {
    case VertexSet::kAuto: return "auto";
    case VertexSet::kFull: return "full";
    case VertexSet::kTrimmed: return "trimmed";
    case VertexSet::kFront: return "front";
  }
  return "unknown";
}

StatusOr<VertexSet> ParseVertexSet(const std::string& name) {
  for (VertexSet s : {VertexSet::kAuto, VertexSet::kFull, VertexSet::kTrimmed, VertexSet::kFront}) {
    if (name == VertexSetName(s)) return s;
  }
  return InvalidArgumentError("vertex set '" + name +
                              "': expected auto, full (53490), trimmed (53215) or front (35709)");
}

StatusOr<MorphableModel> LoadBfm2009Model(const std::string& path, const ModelLoadOptions& options) {
  const std::vector<std::string> beside = {path, options.expression_path};
  VertexSet set = options.vertex_set;
  if (set == VertexSet::kAuto) {
    set = options.expression_path.empty() ? VertexSet::kFull : VertexSet::kFront;
  }
  if (set == VertexSet::kFull && !options.expression_path.empty()) {
    return InvalidArgumentError(options.expression_path + ": expression bases cover the 53,215 "
                                "trimmed vertices (inner mouth removed); choose the trimmed or "
                                "front vertex set, not full");
  }
  MORPHFIT_ASSIGN_OR_RETURN(auto f, mat::MatFile::Open(path));
  MORPHFIT_ASSIGN_OR_RETURN(mat::MatVarInfo mu_info, f->Info("shapeMU"));
  const int n_full = static_cast<int>(mu_info.numel() / 3);

  // Side files.
  const bool ddfa_expression = EndsWith(options.expression_path, ".mat");
  const std::string info_path =
      mat::FindSideFile(options.facemodel_info_path, beside, kFacemodelInfoFile);
  const std::string model_info_path =
      mat::FindSideFile(options.model_info_path, beside, kModelInfoFile);
  std::string trim_path = mat::FindSideFile(options.exp_idx_path, beside, kBfmExpIdxFile);
  std::vector<int> trim, front;  // 0-based: trimmed -> full, front -> trimmed
  const char* trim_var = "trimIndex";
  if (trim_path.empty() && !model_info_path.empty()) trim_path = model_info_path;  // 3DDFA's copy
  if (set != VertexSet::kFull || !info_path.empty()) {
    if (trim_path.empty() && set != VertexSet::kFull) {
      return NotFoundError(path + ": the " + std::string(VertexSetName(set)) + " vertex set needs "
                           "trimIndex: put " + kBfmExpIdxFile + " (or 3DDFA's " + kModelInfoFile +
                           ") beside the model or name it with --exp_idx");
    }
    if (!trim_path.empty()) {
      MORPHFIT_ASSIGN_OR_RETURN(trim, ReadIndexVector(trim_path, trim_var, n_full));
    }
  }
  const std::string front_path = mat::FindSideFile(options.front_idx_path, beside, kBfmFrontIdxFile);
  if (!trim.empty() && (set == VertexSet::kFront || !info_path.empty())) {
    if (front_path.empty() && set == VertexSet::kFront) {
      return NotFoundError(path + ": the front vertex set needs idx: put " +
                           std::string(kBfmFrontIdxFile) + " beside the model or name it with "
                           "--front_idx");
    }
    if (!front_path.empty()) {
      MORPHFIT_ASSIGN_OR_RETURN(front, ReadIndexVector(front_path, "idx", static_cast<int>(trim.size())));
    }
  }

  // Kept vertices, as BFM 2009 ids; and rows of the 53215-vertex expression basis.
  std::vector<int> kept, exp_rows;
  if (set == VertexSet::kFull) {
    kept.resize(n_full);
    for (int i = 0; i < n_full; ++i) kept[i] = i;
  } else if (set == VertexSet::kTrimmed) {
    kept = trim;
    exp_rows.resize(trim.size());
    for (size_t i = 0; i < trim.size(); ++i) exp_rows[i] = static_cast<int>(i);
  } else {
    exp_rows = front;
    for (int i : front) kept.push_back(trim[i]);  // select_id = trimIndex[idx - 1]
  }
  const int n = static_cast<int>(kept.size());

  MorphableModel model;
  model.source = path;
  model.name = "BFM 2009 (" + std::string(VertexSetName(set)) + ", " + std::to_string(n) + " vertices)";
  long rows = 3L * n_full;
  // Micrometres -> mm; EV is sigma, folded into the columns.
  MORPHFIT_RETURN_IF_ERROR(ReadPcaBlock(*f, "shapeMU", "shapePC", "shapeEV", &kept,
                                        options.max_identity, kDefaultIdentity, kUmToMm, &rows,
                                        &model.shape_mean, &model.identity));
  // Colour 0..255 -> 0..1 (BFM display_face.m: tex / 255).
  MORPHFIT_RETURN_IF_ERROR(ReadPcaBlock(*f, "texMU", "texPC", "texEV", &kept, options.max_albedo,
                                        kDefaultAlbedo, 1.0f / 255.0f, &rows, &model.albedo_mean,
                                        &model.albedo));
  model.units_note = "BFM 2009: micrometres -> mm; EV = sigma folded into the bases; colour "
                     "0..255 scaled to 0..1; tl 1-based -> 0-based";

  // Expression.
  if (!options.expression_path.empty()) {
    ExpressionBasis exp;
    if (ddfa_expression) {
      MORPHFIT_ASSIGN_OR_RETURN(exp, Load3ddfaExpression(options.expression_path,
                                                         static_cast<int>(trim.size())));
    } else {
      const std::string std_path = mat::FindSideFile(options.std_exp_path, beside, kStdExpFile);
      MORPHFIT_ASSIGN_OR_RETURN(exp, LoadGuoExpression(options.expression_path, std_path,
                                                       static_cast<int>(trim.size())));
    }
    const int k = mat::ModesToKeep(options.max_expression, kDefaultExpression, exp.basis.size());
    model.expression.basis = mat::GatherRows(exp.basis.basis.data(), exp.basis.basis.rows(), k,
                                             exp_rows, Eigen::VectorXf());
    model.expression.stddev = exp.basis.stddev.head(k);
    if (ddfa_expression) model.shape_mean += mat::GatherVector(exp.mean.data(), exp_rows);
    model.expression_kind = k > 0 ? ExpressionKind::kPca : ExpressionKind::kNone;
    model.units_note += "; " + exp.note;
  }

  // Landmarks and masks from facemodel_info.mat (front-space ids) mapped into the chosen set.
  std::vector<int> new_id(n_full, -1);
  for (int i = 0; i < n; ++i) new_id[kept[i]] = i;
  std::unique_ptr<mat::MatFile> info;
  if (!info_path.empty() && !front.empty()) {
    MORPHFIT_ASSIGN_OR_RETURN(info, mat::MatFile::Open(info_path));
    const int n_front = static_cast<int>(front.size());
    auto to_set = [&](int front_id) { return new_id[trim[front[front_id]]]; };
    MORPHFIT_ASSIGN_OR_RETURN(MatArray<int32_t> kp, info->ReadInt32("keypoints"));
    MORPHFIT_RETURN_IF_ERROR(mat::ExpectVector(kp, info_path, "keypoints", kNumLandmarks));
    MORPHFIT_ASSIGN_OR_RETURN(std::vector<int> ids, mat::ToZeroBased(kp, info_path, "keypoints", n_front));
    for (int id : ids) model.landmarks.push_back(to_set(id));
    MORPHFIT_ASSIGN_OR_RETURN(MatArray<int32_t> fm, info->ReadInt32("frontmask2_idx"));
    MORPHFIT_RETURN_IF_ERROR(mat::ExpectVector(fm, info_path, "frontmask2_idx", -1));
    MORPHFIT_ASSIGN_OR_RETURN(ids, mat::ToZeroBased(fm, info_path, "frontmask2_idx", n_front));
    model.face_mask.assign(n, 0);
    for (int id : ids) model.face_mask[to_set(id)] = 1;
    MORPHFIT_ASSIGN_OR_RETURN(MatArray<int32_t> sm, info->ReadInt32("skinmask"));
    MORPHFIT_RETURN_IF_ERROR(mat::ExpectVector(sm, info_path, "skinmask", n_front));
    model.skin_mask.assign(n, 0);
    for (int i = 0; i < n_front; ++i) {
      if (sm.data[i] != 0 && sm.data[i] != 1) {
        return InvalidArgumentError(info_path + ": variable 'skinmask' element " + std::to_string(i) +
                                    " is " + std::to_string(sm.data[i]) + ", expected 0 or 1");
      }
      model.skin_mask[to_set(i)] = static_cast<uint8_t>(sm.data[i]);
    }
    model.units_note += "; landmarks and masks from " + info_path;
  } else if (!model_info_path.empty() && !trim.empty() && set != VertexSet::kFront) {
    // 3DDFA keypoints: 1-based into the 53215 trimmed vertices (FORMATS.md section 4).
    MORPHFIT_ASSIGN_OR_RETURN(auto mi, mat::MatFile::Open(model_info_path));
    if (mi->Has("keypoints")) {
      MORPHFIT_ASSIGN_OR_RETURN(MatArray<int32_t> kp, mi->ReadInt32("keypoints"));
      MORPHFIT_RETURN_IF_ERROR(mat::ExpectVector(kp, model_info_path, "keypoints", kNumLandmarks));
      MORPHFIT_ASSIGN_OR_RETURN(std::vector<int> ids,
                                mat::ToZeroBased(kp, model_info_path, "keypoints",
                                                 static_cast<int>(trim.size())));
      for (int id : ids) model.landmarks.push_back(new_id[trim[id]]);
      model.units_note += "; landmarks from " + model_info_path;
    }
  }

  // Triangles: facemodel_info.mat's tri for the front set (CCW outward already, FORMATS.md
  // section 3); otherwise BFM tl restricted to the kept vertices, flipped from its inward winding
  // (section 1: outward score -0.90; plywrite.m, eos and lsfm all swap two indices).
  if (set == VertexSet::kFront && info) {
    MORPHFIT_ASSIGN_OR_RETURN(model.triangles, mat::ReadTriangles(*info, "tri", n, true));
  } else {
    MORPHFIT_ASSIGN_OR_RETURN(mat::Triangles tl, mat::ReadTriangles(*f, "tl", n_full, true));
    tl.row(1).swap(tl.row(2));
    model.triangles = set == VertexSet::kFull ? tl : mat::RestrictTriangles(tl, new_id);
    model.units_note += "; tl flipped to CCW outward";
  }
  if (!options.landmark_map_path.empty()) {
    MORPHFIT_ASSIGN_OR_RETURN(model.landmarks, ReadLandmarkMap(options.landmark_map_path, n));
  }
  MORPHFIT_RETURN_IF_ERROR(model.Validate(path));
  return model;
}

Status WriteBfm2009Mat(const MorphableModel& model, const std::string& path,
                       const MatWriteOptions& options) {
  MORPHFIT_RETURN_IF_ERROR(model.Validate("model to write to " + path));
  const size_t rows = model.shape_mean.size(), n = model.num_vertices();
  const size_t t = model.num_triangles();
  // The inverse of the loader: um, unit columns with EV = sigma, colour 0..255.
  const Eigen::VectorXf shape_mu = model.shape_mean * 1000.0f;
  Eigen::MatrixXf shape_pc, tex_pc;
  Eigen::VectorXf shape_ev, tex_ev;
  mat::SplitNorms(model.identity.basis, &shape_pc, &shape_ev);
  shape_ev *= 1000.0f;
  mat::SplitNorms(model.albedo.basis, &tex_pc, &tex_ev);
  tex_ev *= 255.0f;
  const Eigen::VectorXf tex_mu = model.albedo_mean * 255.0f;
  // tl: T x 3, 1-based, BFM's inward winding (swap two indices of our CCW-outward triangles).
  std::vector<double> tl(3 * t);
  for (size_t i = 0; i < t; ++i) {
    tl[i] = model.triangles(0, i) + 1.0;
    tl[t + i] = model.triangles(2, i) + 1.0;
    tl[2 * t + i] = model.triangles(1, i) + 1.0;
  }
  std::vector<double> segbin(4 * n, 0.0);
  std::fill(segbin.begin() + 3 * n, segbin.end(), 1.0);  // every vertex in "rest"
  std::vector<mat::MatVar> vars = {
      mat::SingleVar("shapeMU", {rows, 1}, shape_mu.data()),
      mat::SingleVar("shapePC", {rows, static_cast<size_t>(shape_pc.cols())}, shape_pc.data()),
      mat::SingleVar("shapeEV", {static_cast<size_t>(shape_ev.size()), 1}, shape_ev.data()),
      mat::SingleVar("texMU", {rows, 1}, tex_mu.data()),
      mat::SingleVar("texPC", {rows, static_cast<size_t>(tex_pc.cols())}, tex_pc.data()),
      mat::SingleVar("texEV", {static_cast<size_t>(tex_ev.size()), 1}, tex_ev.data()),
      mat::DoubleVar("tl", {t, 3}, std::move(tl)),
      mat::DoubleVar("segbin", {n, 4}, std::move(segbin))};
  return mat::WriteMatFile(path, vars, options);
}

StatusOr<MatLayout> DetectMatLayout(const std::string& path) {
  MORPHFIT_ASSIGN_OR_RETURN(auto f, mat::MatFile::Open(path));
  if (f->Has("shapeMU") && f->Has("shapePC")) return MatLayout::kBfm2009;
  if (f->Has("meanshape") && f->Has("idBase")) return MatLayout::kDeep3dFront;
  if (f->Has("w_exp")) return MatLayout::kExpression3ddfa;
  if (f->Has("trimIndex") || f->Has("idx") || f->Has("keypoints") || f->Has("select_id")) {
    return MatLayout::kIndexFile;
  }
  return MatLayout::kUnknown;
}

}  // namespace morphfit::models
