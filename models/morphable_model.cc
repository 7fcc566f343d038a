// MorphableModel: validation and evaluation of vertices, albedo and vertex subsets.
#include "morphfit/models/morphable_model.h"

#include <cmath>
#include <sstream>

#include <glog/logging.h>

namespace morphfit::models {

const char* ExpressionKindName(ExpressionKind kind) {
  switch (kind) {
    case ExpressionKind::kNone: return "none";
    case ExpressionKind::kPca: return "pca";
    case ExpressionKind::kBlendshape: return "blendshape";
  }
  return "unknown";
}

void LinearBasis::Truncate(int k) {
  CHECK_GE(k, 0);
  CHECK_LE(k, size());
  basis.conservativeResize(Eigen::NoChange, k);
  stddev.conservativeResize(k);
  if (!names.empty()) names.resize(k);
}

namespace {

// y += A.leftCols(n) * x, where n = x.size() may be less than A.cols().
void AddBasisProduct(const Eigen::MatrixXf& basis, const Eigen::Ref<const Eigen::VectorXf>& coeffs,
                     Eigen::VectorXf* out) {
  const Eigen::Index n = coeffs.size();
  CHECK_LE(n, basis.cols()) << "more coefficients than basis columns";
  if (n == 0) return;
  out->noalias() += basis.leftCols(n) * coeffs;
}

bool AllFinite(const Eigen::Ref<const Eigen::MatrixXf>& m) { return m.allFinite(); }

Status CheckBlock(const std::string& context, const char* what, const LinearBasis& block,
                  Eigen::Index rows) {
  if (block.size() == 0) return OkStatus();
  if (block.basis.rows() != rows) {
    std::ostringstream msg;
    msg << context << ": " << what << " basis has " << block.basis.rows() << " rows, expected "
        << rows << " (3 x vertices)";
    return InvalidArgumentError(msg.str());
  }
  if (block.stddev.size() != block.basis.cols()) {
    std::ostringstream msg;
    msg << context << ": " << what << " has " << block.basis.cols() << " modes but "
        << block.stddev.size() << " standard deviations";
    return InvalidArgumentError(msg.str());
  }
  if (!block.names.empty() && static_cast<Eigen::Index>(block.names.size()) != block.basis.cols()) {
    std::ostringstream msg;
    msg << context << ": " << what << " has " << block.basis.cols() << " modes but "
        << block.names.size() << " mode names";
    return InvalidArgumentError(msg.str());
  }
  if (!AllFinite(block.basis) || !block.stddev.allFinite()) {
    return DataLossError(context + ": " + what + " basis contains NaN or Inf");
  }
  for (Eigen::Index k = 0; k < block.stddev.size(); ++k) {
    if (!(block.stddev[k] >= 0.0f)) {
      std::ostringstream msg;
      msg << context << ": " << what << " standard deviation " << k << " is " << block.stddev[k]
          << ", expected >= 0";
      return DataLossError(msg.str());
    }
  }
  return OkStatus();
}

}  // namespace

Status MorphableModel::Validate(const std::string& context) const {
  const Eigen::Index rows = shape_mean.size();
  if (rows == 0 || rows % 3 != 0) {
    std::ostringstream msg;
    msg << context << ": mean shape has " << rows << " values, expected a positive multiple of 3";
    return InvalidArgumentError(msg.str());
  }
  if (!shape_mean.allFinite()) return DataLossError(context + ": mean shape contains NaN or Inf");
  const int n = num_vertices();
  MORPHFIT_RETURN_IF_ERROR(CheckBlock(context, "identity", identity, rows));
  MORPHFIT_RETURN_IF_ERROR(CheckBlock(context, "expression", expression, rows));
  if ((expression.size() > 0) != (expression_kind != ExpressionKind::kNone)) {
    return InvalidArgumentError(context + ": expression kind '" +
                                ExpressionKindName(expression_kind) + "' does not match " +
                                std::to_string(expression.size()) + " expression modes");
  }
  if (albedo_mean.size() != 0 && albedo_mean.size() != rows) {
    std::ostringstream msg;
    msg << context << ": albedo mean has " << albedo_mean.size() << " values, expected " << rows;
    return InvalidArgumentError(msg.str());
  }
  if (!albedo_mean.allFinite()) return DataLossError(context + ": albedo mean contains NaN or Inf");
  MORPHFIT_RETURN_IF_ERROR(CheckBlock(context, "albedo", albedo, rows));
  if (albedo.size() > 0 && albedo_mean.size() == 0) {
    return InvalidArgumentError(context + ": albedo modes without an albedo mean");
  }
  if (triangles.cols() == 0) return InvalidArgumentError(context + ": model has no triangles");
  for (Eigen::Index t = 0; t < triangles.cols(); ++t) {
    for (int c = 0; c < 3; ++c) {
      const int v = triangles(c, t);
      if (v < 0 || v >= n) {
        std::ostringstream msg;
        msg << context << ": triangle " << t << " has vertex index " << v << ", expected 0.."
            << n - 1;
        return OutOfRangeError(msg.str());
      }
    }
  }
  if (!landmarks.empty() && num_landmarks() != kNumLandmarks) {
    std::ostringstream msg;
    msg << context << ": " << landmarks.size() << " landmarks, expected " << kNumLandmarks;
    return InvalidArgumentError(msg.str());
  }
  for (size_t i = 0; i < landmarks.size(); ++i) {
    if (landmarks[i] < 0 || landmarks[i] >= n) {
      std::ostringstream msg;
      msg << context << ": landmark " << i << " is vertex " << landmarks[i] << ", expected 0.."
          << n - 1;
      return OutOfRangeError(msg.str());
    }
  }
  if (!contour_candidates.empty() &&
      contour_candidates.size() != static_cast<size_t>(kNumJawLandmarks)) {
    return InvalidArgumentError(context + ": " + std::to_string(contour_candidates.size()) +
                                " jaw contour lines, expected 17");
  }
  for (size_t j = 0; j < contour_candidates.size(); ++j) {
    for (int v : contour_candidates[j]) {
      if (v < 0 || v >= n) {
        std::ostringstream msg;
        msg << context << ": jaw contour line " << j << " has vertex " << v << ", expected 0.."
            << n - 1;
        return OutOfRangeError(msg.str());
      }
    }
  }
  auto check_mask = [&](const std::vector<uint8_t>& mask, const char* what) -> Status {
    if (!mask.empty() && static_cast<int>(mask.size()) != n) {
      return InvalidArgumentError(context + ": " + what + " has " + std::to_string(mask.size()) +
                                  " entries, expected " + std::to_string(n));
    }
    return OkStatus();
  };
  MORPHFIT_RETURN_IF_ERROR(check_mask(face_mask, "face mask"));
  MORPHFIT_RETURN_IF_ERROR(check_mask(skin_mask, "skin mask"));
  if (uv.cols() != 0 && uv.cols() != n) {
    return InvalidArgumentError(context + ": " + std::to_string(uv.cols()) +
                                " texture coordinates, expected " + std::to_string(n));
  }
  return OkStatus();
}

void MorphableModel::EvaluateShape(const Eigen::Ref<const Eigen::VectorXf>& alpha,
                                   const Eigen::Ref<const Eigen::VectorXf>& beta,
                                   Eigen::VectorXf* vertices) const {
  CHECK(vertices != nullptr);
  *vertices = shape_mean;
  AddBasisProduct(identity.basis, alpha, vertices);
  AddBasisProduct(expression.basis, beta, vertices);
}

void MorphableModel::EvaluateAlbedo(const Eigen::Ref<const Eigen::VectorXf>& gamma,
                                    Eigen::VectorXf* colors) const {
  CHECK(colors != nullptr);
  *colors = albedo_mean;
  AddBasisProduct(albedo.basis, gamma, colors);
}

VertexSubset MorphableModel::MakeSubset(const std::vector<int>& vertex_ids) const {
  VertexSubset subset;
  subset.vertex_ids = vertex_ids;
  const Eigen::Index m = static_cast<Eigen::Index>(vertex_ids.size());
  subset.mean.resize(3 * m);
  subset.identity.resize(3 * m, identity.size());
  subset.expression.resize(3 * m, expression.size());
  for (Eigen::Index i = 0; i < m; ++i) {
    const int v = vertex_ids[i];
    CHECK(v >= 0 && v < num_vertices()) << "vertex id " << v << " out of range";
    for (int c = 0; c < 3; ++c) {
      subset.mean[3 * i + c] = shape_mean[3 * v + c];
      if (identity.size() > 0) subset.identity.row(3 * i + c) = identity.basis.row(3 * v + c);
      if (expression.size() > 0) subset.expression.row(3 * i + c) = expression.basis.row(3 * v + c);
    }
  }
  return subset;
}

void VertexSubset::Evaluate(const Eigen::Ref<const Eigen::VectorXf>& alpha,
                            const Eigen::Ref<const Eigen::VectorXf>& beta,
                            Eigen::VectorXf* out) const {
  CHECK(out != nullptr);
  *out = mean;
  AddBasisProduct(identity, alpha, out);
  AddBasisProduct(expression, beta, out);
}

Eigen::Matrix<float, 6, 1> BoundingBox(const Eigen::VectorXf& vertices) {
  Eigen::Matrix<float, 6, 1> box;
  const Eigen::Index n = vertices.size() / 3;
  if (n == 0) {
    box.setZero();
    return box;
  }
  Eigen::Map<const Eigen::Matrix3Xf> points(vertices.data(), 3, n);
  box.head<3>() = points.rowwise().minCoeff();
  box.tail<3>() = points.rowwise().maxCoeff();
  return box;
}

}  // namespace morphfit::models
