// Helpers shared by the MAT-era model loaders and writers.
#include "mat_model_util.h"

#include <algorithm>

#include "morphfit/core/file_util.h"

namespace morphfit::models::mat {

std::string FindSideFile(const std::string& explicit_path, const std::vector<std::string>& beside,
                         const char* name) {
  if (!explicit_path.empty()) return explicit_path;
  for (const std::string& file : beside) {
    if (file.empty()) continue;
    const size_t slash = file.find_last_of('/');
    const std::string dir = slash == std::string::npos ? "" : file.substr(0, slash + 1);
    const std::string candidate = dir + name;
    if (FileExists(candidate)) return candidate;
  }
  return "";
}

Eigen::MatrixXf GatherRows(const float* data, size_t rows, size_t k, const std::vector<int>& ids,
                           const Eigen::VectorXf& scale) {
  Eigen::MatrixXf out(3 * ids.size(), k);
  for (size_t c = 0; c < k; ++c) {
    const float* col = data + c * rows;
    const float s = scale.size() > 0 ? scale[static_cast<Eigen::Index>(c)] : 1.0f;
    float* dst = out.col(static_cast<Eigen::Index>(c)).data();
    for (size_t i = 0; i < ids.size(); ++i) {
      const size_t r = 3 * static_cast<size_t>(ids[i]);
      dst[3 * i] = col[r] * s;
      dst[3 * i + 1] = col[r + 1] * s;
      dst[3 * i + 2] = col[r + 2] * s;
    }
  }
  return out;
}

Eigen::VectorXf GatherVector(const float* data, const std::vector<int>& ids) {
  return GatherRows(data, 0, 1, ids, Eigen::VectorXf()).col(0);
}

Triangles RestrictTriangles(const Triangles& tri, const std::vector<int>& new_id) {
  Triangles out(3, tri.cols());
  Eigen::Index t_out = 0;
  for (Eigen::Index t = 0; t < tri.cols(); ++t) {
    const int a = new_id[tri(0, t)], b = new_id[tri(1, t)], c = new_id[tri(2, t)];
    if (a < 0 || b < 0 || c < 0) continue;
    out.col(t_out++) << a, b, c;
  }
  out.conservativeResize(3, t_out);
  return out;
}

StatusOr<Triangles> ReadTriangles(const MatFile& f, const std::string& name, int max,
                                  bool rows_are_triangles) {
  MORPHFIT_ASSIGN_OR_RETURN(MatArray<int32_t> a, f.ReadInt32(name));
  MORPHFIT_RETURN_IF_ERROR(
      ExpectDims(a, f.path(), name, rows_are_triangles ? std::vector<long>{-1, 3}
                                                       : std::vector<long>{3, -1}));
  MORPHFIT_ASSIGN_OR_RETURN(std::vector<int> ids, ToZeroBased(a, f.path(), name, max));
  const Eigen::Index t = static_cast<Eigen::Index>(rows_are_triangles ? a.rows() : a.cols());
  Triangles tri(3, t);
  for (Eigen::Index i = 0; i < t; ++i) {
    for (int c = 0; c < 3; ++c) {
      // Column-major storage: T x 3 holds column c at c*T; 3 x T holds triangle i at 3*i.
      tri(c, i) = rows_are_triangles ? ids[c * t + i] : ids[3 * i + c];
    }
  }
  return tri;
}

int ModesToKeep(int requested, int default_count, int available) {
  return std::min(requested >= 0 ? requested : default_count, available);
}

MatVar SingleVar(const std::string& name, std::vector<size_t> dims, const float* data) {
  MatVar v;
  v.name = name;
  v.cls = MatClass::kSingle;
  v.dims = std::move(dims);
  size_t n = 1;
  for (size_t d : v.dims) n *= d;
  v.fvalues.assign(data, data + n);
  return v;
}

MatVar DoubleVar(const std::string& name, std::vector<size_t> dims, std::vector<double> values) {
  MatVar v;
  v.name = name;
  v.cls = MatClass::kDouble;
  v.dims = std::move(dims);
  v.values = std::move(values);
  return v;
}

MatVar IndexVar(const std::string& name, std::vector<size_t> dims, const std::vector<int>& ids,
                bool single) {
  MatVar v;
  v.name = name;
  v.dims = std::move(dims);
  int max = 0;
  for (int id : ids) {
    v.values.push_back(id + 1.0);
    max = std::max(max, id + 1);
  }
  v.cls = single ? MatClass::kSingle : MatClass::kDouble;
  if (!single && max <= 65535) v.storage = MatClass::kUint16;
  return v;
}

void SplitNorms(const Eigen::MatrixXf& basis, Eigen::MatrixXf* unit, Eigen::VectorXf* norms) {
  *norms = basis.colwise().norm().transpose();
  *unit = basis;
  for (Eigen::Index k = 0; k < basis.cols(); ++k) {
    if ((*norms)[k] > 0.0f) unit->col(k) /= (*norms)[k];
  }
}

}  // namespace morphfit::models::mat
