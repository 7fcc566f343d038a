// Small BFM-2009-like fixtures written in every MAT-era layout by the library's own writers:
// a random "full" model, a trimmed vertex set (an inner block removed, like the 275 inner-mouth
// vertices), a front subset of it, an expression basis on the trimmed vertices, and the
// facemodel_info / model_info side data. Tests compare loaded models with what was written.
#ifndef MORPHFIT_TESTS_MODELS_MAT_FIXTURE_H_
#define MORPHFIT_TESTS_MODELS_MAT_FIXTURE_H_

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "morphfit/models/mat_models.h"
#include "morphfit/models/random_model.h"

namespace morphfit::models {

struct BfmFixture {
  MorphableModel full;              // "53490" vertices, no expression
  std::vector<int> trim;            // 0-based full ids of the trimmed vertices ("53215")
  std::vector<int> front;           // 0-based trimmed positions of the front vertices ("35709")
  LinearBasis expression;           // on the trimmed vertices, mm, sigma folded
  Eigen::VectorXf expression_mean;  // on the trimmed vertices, mm
  MorphableModel front_model;       // full restricted to front + expression + landmarks, masks
  std::vector<int> ddfa_keypoints;  // 68 trimmed positions (model_info.mat keypoints)

  // Full ids of the vertices of a set.
  std::vector<int> FrontFullIds() const {
    std::vector<int> ids;
    for (int i : front) ids.push_back(trim[i]);
    return ids;
  }
};

inline Eigen::Matrix<int32_t, 3, Eigen::Dynamic> Restrict(
    const Eigen::Matrix<int32_t, 3, Eigen::Dynamic>& tri, const std::vector<int>& ids, int n) {
  std::vector<int> new_id(n, -1);
  for (size_t i = 0; i < ids.size(); ++i) new_id[ids[i]] = static_cast<int>(i);
  Eigen::Matrix<int32_t, 3, Eigen::Dynamic> out(3, tri.cols());
  Eigen::Index k = 0;
  for (Eigen::Index t = 0; t < tri.cols(); ++t) {
    const int a = new_id[tri(0, t)], b = new_id[tri(1, t)], c = new_id[tri(2, t)];
    if (a >= 0 && b >= 0 && c >= 0) out.col(k++) << a, b, c;
  }
  out.conservativeResize(3, k);
  return out;
}

inline Eigen::MatrixXf Rows(const Eigen::MatrixXf& m, const std::vector<int>& ids) {
  Eigen::MatrixXf out(3 * ids.size(), m.cols());
  for (size_t i = 0; i < ids.size(); ++i) out.middleRows(3 * i, 3) = m.middleRows(3 * ids[i], 3);
  return out;
}

inline BfmFixture MakeBfmFixture(int num_vertices = 900, int num_identity = 6,
                                 int num_expression = 4, int num_albedo = 5) {
  BfmFixture f;
  RandomModelOptions o;
  o.num_vertices = num_vertices;
  o.num_identity = num_identity;
  o.num_expression = 0;
  o.num_albedo = num_albedo;
  o.seed = 11;
  f.full = MakeRandomModel(o);
  // Grid-sheet coordinates are mm-like; keep the albedo mean in 0..1.
  f.full.albedo_mean = f.full.albedo_mean.cwiseMax(0.0f).cwiseMin(1.0f);
  f.full.landmarks.clear();
  const int removed_begin = num_vertices / 9, removed_end = removed_begin + num_vertices / 30;
  for (int v = 0; v < num_vertices; ++v) {
    if (v < removed_begin || v >= removed_end) f.trim.push_back(v);
  }
  const int num_trim = static_cast<int>(f.trim.size());
  for (int i = 0; i < num_trim * 2 / 3; ++i) f.front.push_back(i);
  // Expression on the trimmed vertices.
  RandomModelOptions e = o;
  e.num_vertices = num_trim;
  e.num_identity = num_expression;
  e.num_albedo = 0;
  e.seed = 12;
  const MorphableModel exp_model = MakeRandomModel(e);
  f.expression = exp_model.identity;
  f.expression.basis *= 0.5f;
  f.expression.stddev *= 0.5f;
  f.expression_mean = Eigen::VectorXf::Constant(3 * num_trim, 0.25f);
  // Front model: full restricted to the front vertices, with the expression rows.
  const std::vector<int> ids = f.FrontFullIds();
  const int n_front = static_cast<int>(ids.size());
  MorphableModel& m = f.front_model;
  m.shape_mean = Rows(f.full.shape_mean, ids).col(0);
  m.identity.basis = Rows(f.full.identity.basis, ids);
  m.identity.stddev = f.full.identity.stddev;
  m.albedo_mean = Rows(f.full.albedo_mean, ids).col(0);
  m.albedo.basis = Rows(f.full.albedo.basis, ids);
  m.albedo.stddev = f.full.albedo.stddev;
  m.expression.basis = Rows(f.expression.basis, f.front);
  m.expression.stddev = f.expression.stddev;
  m.expression_kind = ExpressionKind::kPca;
  m.triangles = Restrict(f.full.triangles, ids, num_vertices);
  for (int i = 0; i < kNumLandmarks; ++i) m.landmarks.push_back((i * 131 + 7) % n_front);
  m.face_mask.assign(n_front, 0);
  m.skin_mask.assign(n_front, 0);
  for (int v = 0; v < n_front; ++v) {
    m.face_mask[v] = v % 3 != 0;
    m.skin_mask[v] = v % 5 == 0;
  }
  for (int i = 0; i < kNumLandmarks; ++i) f.ddfa_keypoints.push_back((i * 97 + 3) % num_trim);
  return f;
}

// Writes the whole fixture into `dir`: 01_MorphableModel.mat, Exp_Pca.bin, std_exp.txt,
// Model_Expression.mat, BFM_exp_idx.mat, BFM_front_idx.mat, facemodel_info.mat,
// model_info.mat, BFM_model_front.mat.
inline void WriteBfmFixture(const BfmFixture& f, const std::string& dir,
                            const MatWriteOptions& options) {
  ASSERT_TRUE(WriteBfm2009Mat(f.full, dir + "/01_MorphableModel.mat", options).ok());
  ASSERT_TRUE(WriteGuoExpression(f.expression, f.expression_mean, dir + "/Exp_Pca.bin",
                                 dir + "/std_exp.txt").ok());
  ASSERT_TRUE(Write3ddfaExpression(f.expression, f.expression_mean,
                                   dir + "/Model_Expression.mat", options).ok());
  ASSERT_TRUE(WriteTrimIndexMat(f.trim, dir + "/BFM_exp_idx.mat", options).ok());
  ASSERT_TRUE(WriteFrontIndexMat(f.front, dir + "/BFM_front_idx.mat", options).ok());
  ASSERT_TRUE(WriteFacemodelInfoMat(f.front_model, dir + "/facemodel_info.mat", options).ok());
  const auto trimmed_tri = Restrict(f.full.triangles, f.trim, f.full.num_vertices());
  ASSERT_TRUE(WriteModelInfoMat(f.trim, f.ddfa_keypoints, trimmed_tri, dir + "/model_info.mat",
                                options).ok());
  ASSERT_TRUE(WriteDeep3dModelMat(f.front_model, dir + "/BFM_model_front.mat", options).ok());
}

}  // namespace morphfit::models

#endif  // MORPHFIT_TESTS_MODELS_MAT_FIXTURE_H_
