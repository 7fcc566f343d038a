// The in-memory morphable face model every loader produces and every consumer reads:
// mean shape, identity / expression / albedo bases, triangles, 68 landmark vertices, masks,
// jaw-contour candidate lines and UVs. Conventions (DESIGN.md):
//  - vertices in millimetres, model frame (+y up, +z out of the face, x to the subject's left),
//    stored interleaved x0 y0 z0 x1 ...;
//  - triangles 0-based, counter-clockwise seen from outside;
//  - albedo RGB in [0, 1], interleaved r0 g0 b0 r1 ...;
//  - coefficients in units of their standard deviation: each basis column already carries its
//    sigma, so instance = mean + basis * coeffs with coeffs ~ N(0, 1) for PCA blocks, and
//    coeffs = blendshape weights in [0, 1] for blendshape expressions.
#ifndef MORPHFIT_MODELS_MORPHABLE_MODEL_H_
#define MORPHFIT_MODELS_MORPHABLE_MODEL_H_

#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "morphfit/core/status.h"

namespace morphfit::models {

constexpr int kNumLandmarks = 68;  // iBUG 68 order
constexpr int kNumJawLandmarks = 17;  // iBUG 0..16

enum class ExpressionKind {
  kNone,        // the model has no expression block
  kPca,         // Gaussian prior, coefficients in units of sigma
  kBlendshape,  // weights bounded to [0, 1], no Gaussian prior
};
const char* ExpressionKindName(ExpressionKind kind);  // "none" | "pca" | "blendshape"

// One linear block. `basis` is (3N) x K, column-major float; column k is the unit direction
// times `stddev[k]`, so a coefficient of 1 moves one standard deviation (PCA) or applies the
// full blendshape (blendshape: stddev is the column's norm). `names` is empty or has K entries.
struct LinearBasis {
  Eigen::MatrixXf basis;
  Eigen::VectorXf stddev;
  std::vector<std::string> names;

  int size() const { return static_cast<int>(basis.cols()); }
  // Keeps the first `k` modes (k <= size()).
  void Truncate(int k);
};

// A subset of the model's vertices gathered into small dense blocks, for repeated evaluation
// of a few vertices (e.g. the 68 landmarks) without touching the full bases.
struct VertexSubset {
  std::vector<int> vertex_ids;
  Eigen::VectorXf mean;        // 3 * |ids|
  Eigen::MatrixXf identity;    // (3 * |ids|) x K_id
  Eigen::MatrixXf expression;  // (3 * |ids|) x K_exp

  // out (3 * |ids|) = mean + identity * alpha + expression * beta. alpha/beta may be shorter
  // than the blocks (missing coefficients are zero); longer is a programmer error (CHECK).
  void Evaluate(const Eigen::Ref<const Eigen::VectorXf>& alpha,
                const Eigen::Ref<const Eigen::VectorXf>& beta, Eigen::VectorXf* out) const;
};

struct MorphableModel {
  std::string name;        // e.g. "morphfit-sample-face v1", "ict_face_light"
  std::string source;      // file(s) it was loaded from
  std::string units_note;  // how the loader decided the units, e.g. "file metadata: mm"

  Eigen::VectorXf shape_mean;  // 3N, mm
  LinearBasis identity;
  LinearBasis expression;
  ExpressionKind expression_kind = ExpressionKind::kNone;
  Eigen::VectorXf albedo_mean;  // 3N, RGB in [0, 1]
  LinearBasis albedo;

  Eigen::Matrix<int32_t, 3, Eigen::Dynamic> triangles;  // 0-based, CCW outward

  // Optional data; empty when unknown.
  std::vector<int> landmarks;  // 68 vertex ids, iBUG order
  // For each of the 17 jaw landmarks, a line of candidate vertices ordered from the face's
  // centre outwards; the fitter picks the silhouette vertex on it for the current pose.
  std::vector<std::vector<int>> contour_candidates;
  std::vector<uint8_t> face_mask;  // N; 1 = face region used by photometric fitting
  std::vector<uint8_t> skin_mask;  // N; 1 = skin (no eyes, brows, lips, mouth interior)
  Eigen::Matrix2Xf uv;             // 2 x N texture coordinates in [0, 1], or 0 columns
  int generator_version = 0;       // sample model only: version of the generator that made it

  int num_vertices() const { return static_cast<int>(shape_mean.size() / 3); }
  int num_triangles() const { return static_cast<int>(triangles.cols()); }
  int num_identity() const { return identity.size(); }
  int num_expression() const { return expression.size(); }
  int num_albedo() const { return albedo.size(); }
  int num_landmarks() const { return static_cast<int>(landmarks.size()); }

  // Checks every size, index range and that all numbers are finite. `context` (usually the
  // file name) prefixes the error message.
  Status Validate(const std::string& context) const;

  // vertices (3N, mm) = shape_mean + identity * alpha + expression * beta. Coefficient vectors
  // may be shorter than their blocks (the rest count as zero). One BLAS-style GEMV per block.
  void EvaluateShape(const Eigen::Ref<const Eigen::VectorXf>& alpha,
                     const Eigen::Ref<const Eigen::VectorXf>& beta,
                     Eigen::VectorXf* vertices) const;
  // colours (3N, RGB [0, 1], not clamped) = albedo_mean + albedo * gamma.
  void EvaluateAlbedo(const Eigen::Ref<const Eigen::VectorXf>& gamma,
                      Eigen::VectorXf* colors) const;
  // Gathers rows of the given vertices. Ids must be in range (CHECK).
  VertexSubset MakeSubset(const std::vector<int>& vertex_ids) const;
};

// Axis-aligned bounding box of a 3N vertex vector: {min_x, min_y, min_z, max_x, max_y, max_z}.
Eigen::Matrix<float, 6, 1> BoundingBox(const Eigen::VectorXf& vertices);

}  // namespace morphfit::models

#endif  // MORPHFIT_MODELS_MORPHABLE_MODEL_H_
