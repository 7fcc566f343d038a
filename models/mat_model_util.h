// Private helpers shared by the MAT-era model loaders and writers (bfm2009.cc, deep3d_model.cc,
// ddfa_model.cc, guo_expression.cc): side-file lookup, row gathering, triangle restriction,
// converting MAT arrays to Eigen and back.
#ifndef MORPHFIT_MODELS_MAT_MODEL_UTIL_H_
#define MORPHFIT_MODELS_MAT_MODEL_UTIL_H_

#include <string>
#include <vector>

#include <Eigen/Core>

#include "mat_file.h"
#include "morphfit/models/morphable_model.h"

namespace morphfit::models::mat {

using Triangles = Eigen::Matrix<int32_t, 3, Eigen::Dynamic>;

// `explicit_path` when non-empty, else the first existing `dir(beside[i])/name`, else "".
std::string FindSideFile(const std::string& explicit_path, const std::vector<std::string>& beside,
                         const char* name);

// Rows of the given vertices from an interleaved (3N) x K column-major array, first `k` columns,
// each column multiplied by scale[c] (scale may be empty = 1): out is (3|ids|) x k.
Eigen::MatrixXf GatherRows(const float* data, size_t rows, size_t k, const std::vector<int>& ids,
                           const Eigen::VectorXf& scale);
Eigen::VectorXf GatherVector(const float* data, const std::vector<int>& ids);

// Keeps the triangles whose three vertices are all kept; `new_id[old]` is the new id or -1.
Triangles RestrictTriangles(const Triangles& tri, const std::vector<int>& new_id);

// A (T x 3) or (3 x T) 1-based MAT triangle list -> 0-based 3 x T, checked against 1..max.
// `rows_are_triangles`: the MAT layout is T x 3 (BFM tl, Deep3D tri) rather than 3 x T (3DDFA).
StatusOr<Triangles> ReadTriangles(const MatFile& f, const std::string& name, int max,
                                  bool rows_are_triangles);

// Mode count to keep: requested (>= 0) or the default, never more than available.
int ModesToKeep(int requested, int default_count, int available);

// A MatVar of class single from Eigen data (copied), or class double.
MatVar SingleVar(const std::string& name, std::vector<size_t> dims, const float* data);
MatVar DoubleVar(const std::string& name, std::vector<size_t> dims, std::vector<double> values);
// 1-based indices from 0-based ids, as MATLAB stores them: class double stored uint16 when they
// fit (FORMATS.md section 0), class single when `single`.
MatVar IndexVar(const std::string& name, std::vector<size_t> dims, const std::vector<int>& ids,
                bool single);
// Unit-norm columns and their norms (zero columns stay zero with norm 0).
void SplitNorms(const Eigen::MatrixXf& basis, Eigen::MatrixXf* unit, Eigen::VectorXf* norms);

}  // namespace morphfit::models::mat

#endif  // MORPHFIT_MODELS_MAT_MODEL_UTIL_H_
