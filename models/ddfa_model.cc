// 3DDFA / face3d files (docs/FORMATS.md section 4): the 29-mode `Model_Expression.mat`
// expression basis on the 53,215 trimmed vertices, and `model_info.mat` (trimIndex, keypoints,
// tri) written for fixtures.
#include "mat_model_util.h"
#include "morphfit/models/mat_models.h"

namespace morphfit::models {

using mat::MatArray;

StatusOr<ExpressionBasis> Load3ddfaExpression(const std::string& path, int num_vertices) {
  MORPHFIT_ASSIGN_OR_RETURN(auto f, mat::MatFile::Open(path));
  const long rows = 3L * num_vertices;
  MORPHFIT_ASSIGN_OR_RETURN(MatArray<float> sigma, f->ReadFloat("sigma_exp"));
  MORPHFIT_RETURN_IF_ERROR(mat::ExpectVector(sigma, path, "sigma_exp", -1));
  const long k = static_cast<long>(sigma.size());
  MORPHFIT_ASSIGN_OR_RETURN(MatArray<float> mu, f->ReadFloat("mu_exp"));
  MORPHFIT_RETURN_IF_ERROR(mat::ExpectVector(mu, path, "mu_exp", rows));
  MORPHFIT_RETURN_IF_ERROR(mat::ExpectFinite(mu, path, "mu_exp"));
  MORPHFIT_RETURN_IF_ERROR(mat::ExpectFinite(sigma, path, "sigma_exp"));
  for (size_t i = 0; i < sigma.size(); ++i) {
    if (sigma.data[i] < 0.0f) {
      return DataLossError(path + ": variable 'sigma_exp' element " + std::to_string(i) + " is " +
                           std::to_string(sigma.data[i]) + ", expected a standard deviation >= 0");
    }
  }
  MORPHFIT_ASSIGN_OR_RETURN(MatArray<float> w, f->ReadFloat("w_exp"));
  MORPHFIT_RETURN_IF_ERROR(mat::ExpectDims(w, path, "w_exp", {rows, k}));
  MORPHFIT_RETURN_IF_ERROR(mat::ExpectFinite(w, path, "w_exp"));
  ExpressionBasis out;
  // Units: micrometres like BFM 2009 (3DDFA u_exp spans -8478..1340) -> mm.
  out.mean = Eigen::Map<const Eigen::VectorXf>(mu.data.data(), rows) / 1000.0f;
  out.basis.basis = Eigen::Map<const Eigen::MatrixXf>(w.data.data(), rows, k);
  out.basis.stddev.resize(k);
  // face3d fit.py regularises raw coefficients with sigma_exp as their sigma, so a
  // sigma-normalised coefficient moves w_exp_k * sigma_exp_k.
  for (long c = 0; c < k; ++c) {
    out.basis.basis.col(c) *= sigma.data[c] / 1000.0f;
    out.basis.stddev[c] = out.basis.basis.col(c).norm();
  }
  out.note = "expression: Model_Expression.mat w_exp x sigma_exp, um -> mm, mu_exp added to the mean";
  return out;
}

Status Write3ddfaExpression(const LinearBasis& basis, const Eigen::VectorXf& mean,
                            const std::string& path, const MatWriteOptions& options) {
  Eigen::MatrixXf unit;
  Eigen::VectorXf norms;
  mat::SplitNorms(basis.basis, &unit, &norms);
  const size_t rows = unit.rows(), k = unit.cols();
  const Eigen::VectorXf mu = mean * 1000.0f;
  const Eigen::VectorXf sigma = norms * 1000.0f;
  return mat::WriteMatFile(path,
                           {mat::SingleVar("mu_exp", {rows, 1}, mu.data()),
                            mat::SingleVar("w_exp", {rows, k}, unit.data()),
                            mat::SingleVar("sigma_exp", {k, 1}, sigma.data())},
                           options);
}

Status WriteModelInfoMat(const std::vector<int>& trim_ids, const std::vector<int>& keypoints,
                         const Eigen::Matrix<int32_t, 3, Eigen::Dynamic>& outward_triangles,
                         const std::string& path, const MatWriteOptions& options) {
  // 3DDFA's tri is 3 x T, 1-based, with BFM's inward winding (FORMATS.md section 4).
  std::vector<int> tri;
  for (Eigen::Index t = 0; t < outward_triangles.cols(); ++t) {
    tri.insert(tri.end(), {outward_triangles(0, t), outward_triangles(2, t), outward_triangles(1, t)});
  }
  return mat::WriteMatFile(
      path,
      {mat::IndexVar("trimIndex", {trim_ids.size(), 1}, trim_ids, false),
       mat::IndexVar("keypoints", {1, keypoints.size()}, keypoints, false),
       mat::IndexVar("tri", {3, static_cast<size_t>(outward_triangles.cols())}, tri, false)},
      options);
}

}  // namespace morphfit::models
