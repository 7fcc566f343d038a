// Guo et al.'s expression basis `Exp_Pca.bin` + `std_exp.txt` (docs/FORMATS.md section 2).
#include <cmath>
#include <cstring>
#include <sstream>

#include "mat_model_util.h"
#include "morphfit/core/file_util.h"
#include "morphfit/models/mat_models.h"

namespace morphfit::models {
namespace {

StatusOr<std::vector<float>> ReadStdExp(const std::string& path) {
  MORPHFIT_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  std::istringstream in(text);
  std::vector<float> values;
  std::string token;
  while (in >> token) {
    char* end = nullptr;
    const float v = std::strtof(token.c_str(), &end);
    if (end == token.c_str() || *end != '\0') {
      return InvalidArgumentError(path + ": value " + std::to_string(values.size() + 1) +
                                  " is '" + token + "', expected a number (one sigma per "
                                  "expression component, whitespace-separated)");
    }
    if (!std::isfinite(v) || v < 0.0f) {
      return DataLossError(path + ": value " + std::to_string(values.size() + 1) + " is '" +
                           token + "', expected a finite standard deviation >= 0");
    }
    values.push_back(v);
  }
  return values;
}

}  // namespace

StatusOr<ExpressionBasis> LoadGuoExpression(const std::string& exp_pca_path,
                                            const std::string& std_exp_path, int num_vertices) {
  MORPHFIT_ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(exp_pca_path));
  if (bytes.size() < 4) {
    return DataLossError(exp_pca_path + ": " + std::to_string(bytes.size()) +
                         " bytes, expected at least the int32 component count");
  }
  // Layout (FORMATS.md section 2): int32 K, float32 expMU[3N], float32 expPC[K][3N]
  // (component-major), little-endian, no padding.
  int32_t k = 0;
  std::memcpy(&k, bytes.data(), 4);
  const size_t rows = 3 * static_cast<size_t>(num_vertices);
  if (k <= 0 || k > 10000) {
    return DataLossError(exp_pca_path + ": component count K is " + std::to_string(k) +
                         ", expected 1..10000 (79 in Guo's file)");
  }
  const size_t expected = 4 + 4 * rows * (1 + static_cast<size_t>(k));
  if (bytes.size() != expected) {
    return DataLossError(exp_pca_path + ": " + std::to_string(bytes.size()) + " bytes, expected " +
                         std::to_string(expected) + " = 4 + 4 x 3 x " +
                         std::to_string(num_vertices) + " vertices x (1 + K=" + std::to_string(k) +
                         ") (truncated, or a basis for another vertex count?)");
  }
  if (std_exp_path.empty()) {
    return NotFoundError(exp_pca_path + ": needs its std_exp.txt (the " + std::to_string(k) +
                         " sigmas) beside it or named with --std_exp");
  }
  MORPHFIT_ASSIGN_OR_RETURN(std::vector<float> sigma, ReadStdExp(std_exp_path));
  if (sigma.size() != static_cast<size_t>(k)) {
    return InvalidArgumentError(std_exp_path + ": " + std::to_string(sigma.size()) +
                                " values, expected " + std::to_string(k) + " (K in " +
                                exp_pca_path + ")");
  }
  ExpressionBasis out;
  out.mean.resize(rows);
  std::memcpy(out.mean.data(), bytes.data() + 4, 4 * rows);
  out.basis.basis.resize(rows, k);
  std::memcpy(out.basis.basis.data(), bytes.data() + 4 + 4 * rows, 4 * rows * k);
  bytes.clear();
  bytes.shrink_to_fit();
  if (!out.mean.allFinite()) return DataLossError(exp_pca_path + ": expMU contains NaN or Inf");
  for (Eigen::Index c = 0; c < k; ++c) {
    if (!out.basis.basis.col(c).allFinite()) {
      return DataLossError(exp_pca_path + ": expPC component " + std::to_string(c) +
                           " contains NaN or Inf");
    }
  }
  // Deep3DFaceRecon multiplies expPC by std_exp as sigma and treats the product as
  // micrometres (FORMATS.md section 2); -> mm. Column norms are not documented as 1, so the
  // recorded sigma is the folded column's norm.
  out.basis.stddev.resize(k);
  for (Eigen::Index c = 0; c < k; ++c) {
    out.basis.basis.col(c) *= sigma[c] / 1000.0f;
    out.basis.stddev[c] = out.basis.basis.col(c).norm();
  }
  // Deep3DFaceRecon reads expMU but never uses it; neither do we (it stays in `mean`, in mm).
  out.mean /= 1000.0f;
  out.note = "expression: Exp_Pca.bin x std_exp.txt, um -> mm, expMU unused (as Deep3DFaceRecon)";
  return out;
}

Status WriteGuoExpression(const LinearBasis& basis, const Eigen::VectorXf& mean,
                          const std::string& exp_pca_path, const std::string& std_exp_path) {
  const size_t rows = basis.basis.rows();
  if (static_cast<size_t>(mean.size()) != rows) {
    return InvalidArgumentError(exp_pca_path + ": mean has " + std::to_string(mean.size()) +
                                " values, the basis " + std::to_string(rows) + " rows");
  }
  Eigen::MatrixXf unit;
  Eigen::VectorXf norms;
  mat::SplitNorms(basis.basis, &unit, &norms);
  const int32_t k = static_cast<int32_t>(basis.size());
  std::string bytes(4 + 4 * rows * (1 + k), '\0');
  std::memcpy(&bytes[0], &k, 4);
  const Eigen::VectorXf mean_um = mean * 1000.0f;
  std::memcpy(&bytes[4], mean_um.data(), 4 * rows);
  std::memcpy(&bytes[4 + 4 * rows], unit.data(), 4 * rows * k);  // column k = component block k
  MORPHFIT_RETURN_IF_ERROR(WriteFileAtomically(exp_pca_path, bytes));
  std::ostringstream txt;
  txt.precision(9);
  for (int c = 0; c < k; ++c) txt << norms[c] * 1000.0 << (c + 1 < k ? " " : "\n");
  return WriteFileAtomically(std_exp_path, txt.str());
}

}  // namespace morphfit::models
