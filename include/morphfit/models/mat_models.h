// Loaders for the MATLAB-era face models (docs/FORMATS.md sections 1-4) and writers of the same
// layouts (for round-trip tests, fixtures and benchmarks: the licensed files are never needed):
//  - Basel Face Model 2009 `01_MorphableModel.mat`, optionally with an expression basis (Guo et
//    al.'s `Exp_Pca.bin` + `std_exp.txt`, or 3DDFA's `Model_Expression.mat` + `model_info.mat`)
//    and the 53490 / 53215 / 35709 vertex maps (`BFM_exp_idx.mat`, `BFM_front_idx.mat`), with
//    landmarks, masks and front triangles from Deep3DFaceRecon's `facemodel_info.mat`;
//  - Deep3DFaceRecon's derived `BFM_model_front.mat`.
// Every loader returns a validated MorphableModel in the project's conventions (mm, 0-based CCW
// outward triangles, sigma folded into the bases, albedo in [0, 1]) and says in `units_note` what
// it converted. Errors name the file, the variable, what was expected and what was found.
#ifndef MORPHFIT_MODELS_MAT_MODELS_H_
#define MORPHFIT_MODELS_MAT_MODELS_H_

#include <string>
#include <vector>

#include <Eigen/Core>

#include "morphfit/core/status.h"
#include "morphfit/models/model_io.h"
#include "morphfit/models/morphable_model.h"

namespace morphfit::models {

// File names looked for beside the model (and beside the expression file) when the options do
// not name them.
inline constexpr const char* kBfmExpIdxFile = "BFM_exp_idx.mat";      // trimIndex, 53490 -> 53215
inline constexpr const char* kBfmFrontIdxFile = "BFM_front_idx.mat";  // idx, 53215 -> 35709
inline constexpr const char* kFacemodelInfoFile = "facemodel_info.mat";
inline constexpr const char* kStdExpFile = "std_exp.txt";
inline constexpr const char* kModelInfoFile = "model_info.mat";  // 3DDFA: trimIndex, keypoints

// Reads BFM 2009 `01_MorphableModel.mat` (FORMATS.md section 1): shapeMU/PC/EV, texMU/PC/EV, tl.
// With `options.expression_path` it adds an expression basis on the 53,215 trimmed vertices:
// `Exp_Pca.bin` (+ std_exp.txt, section 2) or 3DDFA `Model_Expression.mat` (section 4).
// Vertex set (`options.vertex_set`): full 53,490 (no expressions), trimmed 53,215 (needs
// trimIndex from BFM_exp_idx.mat or model_info.mat) or Deep3DFaceRecon's front 35,709 (also
// needs idx from BFM_front_idx.mat); kAuto = front with an expression, full without.
// Modes kept: options.max_* when >= 0, else Deep3DFaceRecon's 80 identity / 64 expression /
// 80 albedo (fewer when the file has fewer).
StatusOr<MorphableModel> LoadBfm2009Model(const std::string& path,
                                          const ModelLoadOptions& options = {});

// Reads Deep3DFaceRecon's `BFM_model_front.mat` (FORMATS.md section 3): decimetres -> mm, bases
// already scaled by sigma (stddev = each column's norm), 1-based tri/keypoints/frontmask2_idx,
// skinmask. `max_*` < 0 keeps every mode the file has.
StatusOr<MorphableModel> LoadDeep3dModel(const std::string& path,
                                         const ModelLoadOptions& options = {});

// Which MAT layout a file holds, from the variables present.
enum class MatLayout { kUnknown, kBfm2009, kDeep3dFront, kExpression3ddfa, kIndexFile };
StatusOr<MatLayout> DetectMatLayout(const std::string& path);

// An expression basis on the 53,215 trimmed vertices, in mm, sigma folded into the columns.
struct ExpressionBasis {
  Eigen::VectorXf mean;  // 3N offset (zero when the format has none or it is unused)
  LinearBasis basis;
  std::string note;      // what was converted
};
// Guo et al. `Exp_Pca.bin` (int32 K, float32 expMU[3N], float32 expPC[K][3N]) with
// `std_exp.txt` (K sigmas). expPC * sigma is in micrometres (Deep3DFaceRecon), -> mm. expMU is
// read and checked but not used, as in Deep3DFaceRecon (its expression model has no mean).
StatusOr<ExpressionBasis> LoadGuoExpression(const std::string& exp_pca_path,
                                            const std::string& std_exp_path, int num_vertices);
// 3DDFA / face3d `Model_Expression.mat`: mu_exp (3N), w_exp (3N x K), sigma_exp (K); um -> mm;
// column k = w_exp_k * sigma_exp_k (face3d fit.py uses sigma_exp as the prior's sigma); mu_exp
// is kept as `mean` (3DDFA adds it to the shape mean).
StatusOr<ExpressionBasis> Load3ddfaExpression(const std::string& path, int num_vertices);

// ---- Writers (same layouts; used by tests, fixtures and benchmarks) -------------------------

enum class MatVersion { kV5, kV73 };
struct MatWriteOptions {
  MatVersion version = MatVersion::kV5;
  bool compress = true;  // v5 only: one zlib-compressed element per variable (MAT v7)
};

// Writes `model`'s mean, identity and albedo in the BFM 2009 layout (um, orthonormal PCs, EV =
// sigma, colour 0..255, `tl` 1-based with BFM's inward winding, segbin all "rest").
Status WriteBfm2009Mat(const MorphableModel& model, const std::string& path,
                       const MatWriteOptions& options = {});
// Writes `basis` (mm, sigma folded) as Exp_Pca.bin (um, unit-norm component-major expPC) and
// std_exp.txt; `mean` (3N, mm) becomes expMU.
Status WriteGuoExpression(const LinearBasis& basis, const Eigen::VectorXf& mean,
                          const std::string& exp_pca_path, const std::string& std_exp_path);
// Writes `basis` as a 3DDFA Model_Expression.mat (mu_exp, w_exp unit-norm columns, sigma_exp).
Status Write3ddfaExpression(const LinearBasis& basis, const Eigen::VectorXf& mean,
                            const std::string& path, const MatWriteOptions& options = {});
// Writes `model` as Deep3DFaceRecon's BFM_model_front.mat (dm, bases pre-scaled by sigma,
// exBase float64, 1-based tri / keypoints / frontmask2_idx, skinmask, point_buf).
Status WriteDeep3dModelMat(const MorphableModel& model, const std::string& path,
                           const MatWriteOptions& options = {});
// 1-based index files: BFM_exp_idx.mat (`trimIndex`, class double stored uint16 as in the real
// file) and BFM_front_idx.mat (`idx`, single). `ids` are 0-based.
Status WriteTrimIndexMat(const std::vector<int>& ids, const std::string& path,
                         const MatWriteOptions& options = {});
Status WriteFrontIndexMat(const std::vector<int>& ids, const std::string& path,
                          const MatWriteOptions& options = {});
// facemodel_info.mat for a front model: tri (1-based, as given: CCW outward), keypoints,
// frontmask2_idx / frontmask2 (from face_mask), skinmask, point_buf (all single).
Status WriteFacemodelInfoMat(const MorphableModel& front_model, const std::string& path,
                             const MatWriteOptions& options = {});
// 3DDFA model_info.mat: trimIndex (53215, 1-based into 53490), keypoints (68, 1-based into the
// trimmed set), tri (3 x T, 1-based, BFM's inward winding).
Status WriteModelInfoMat(const std::vector<int>& trim_ids, const std::vector<int>& keypoints,
                         const Eigen::Matrix<int32_t, 3, Eigen::Dynamic>& outward_triangles,
                         const std::string& path, const MatWriteOptions& options = {});

}  // namespace morphfit::models

#endif  // MORPHFIT_MODELS_MAT_MODELS_H_
