// Private to the sample model generator: the analytic face (anatomy curves, base surface,
// displacement features), the intermediate mesh with per-vertex bookkeeping, and the builders
// of the identity, expression and albedo blocks. All lengths in mm, model frame (+y up, +z out
// of the face, +x to the subject's left).
#ifndef MORPHFIT_MODELS_SAMPLE_SAMPLE_INTERNAL_H_
#define MORPHFIT_MODELS_SAMPLE_SAMPLE_INTERNAL_H_

#include <cmath>
#include <cstdint>
#include <vector>

#include <Eigen/Core>
#include <Eigen/Geometry>

#include "morphfit/models/morphable_model.h"

namespace morphfit::models::sample {

// ---- small math ---------------------------------------------------------------------------

inline double Clamp01(double t) { return t < 0.0 ? 0.0 : (t > 1.0 ? 1.0 : t); }
// Hermite smoothstep from 0 at `edge0` to 1 at `edge1` (edge0 > edge1 gives a falling step).
inline double SmoothStep(double edge0, double edge1, double x) {
  const double t = Clamp01((x - edge0) / (edge1 - edge0));
  return t * t * (3.0 - 2.0 * t);
}
// exp(-(dx/sx)^2 - (dy/sy)^2): the bump every feature is made of.
inline double Bump(double dx, double sx, double dy, double sy) {
  const double a = dx / sx;
  const double b = dy / sy;
  return std::exp(-a * a - b * b);
}
inline double Sign(double x) { return x < 0.0 ? -1.0 : 1.0; }

// Deterministic PRNG (splitmix64) with its own uniform and Box-Muller normal draws, so the
// model is bit-for-bit the same on every run and standard library.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in (0, 1).
  double Uniform() { return (static_cast<double>(Next() >> 11) + 0.5) * (1.0 / 9007199254740992.0); }
  double Normal() {
    const double u1 = Uniform();
    const double u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  uint64_t state_;
};

// ---- anatomy (sample_anatomy.cc) ------------------------------------------------------------

// Eyes: pupils at (+-kEyeCenterX, kEyeCenterY); the palpebral fissure runs from the outer
// canthus (|x| = kEyeOuterX) to the inner one (|x| = kEyeInnerX).
constexpr double kEyeCenterX = 31.5;
constexpr double kEyeCenterY = 0.0;
constexpr double kEyeInnerX = 16.5;
constexpr double kEyeOuterX = 46.0;
constexpr double kEyeInnerY = -0.6;
constexpr double kEyeOuterY = 1.2;
// Mouth: corners at (+-kMouthHalfWidth, kMouthCornerY).
constexpr double kMouthHalfWidth = 25.0;
constexpr double kMouthCornerY = -64.0;
// Eyeball ellipsoid semi-axes (wider than tall so it fills the fissure to the canthi).
constexpr double kEyeballAx = 16.5;
constexpr double kEyeballAy = 12.5;
constexpr double kEyeballAz = 12.0;
constexpr double kLidThickness = 1.6;
// Under-jaw rounding radius and how far the under-chin flap reaches inwards.
constexpr double kJawRoundRadius = 10.0;
constexpr double kUnderChinLength = 16.0;
// Extent of the mask: longitude +-kMaxLongitude (rad), top of the forehead at kTopY.
constexpr double kMaxLongitude = 1.66;
constexpr double kTopY = 92.0;
constexpr double kHairlineY = 76.0;

// Position 0 (outer canthus) .. 1 (inner canthus) of |x| along the eye.
double EyeT(double abs_x);
double UpperLidY(double t);  // margin heights of the open eye (mean shape)
double LowerLidY(double t);
double LidMeetY(double t);   // where the margins meet when the eye closes
// Mouth: slit centre line, half-gap of the slit at rest, and the vermilion borders (y of the
// upper lip's top edge and the lower lip's bottom edge), all as functions of x.
double MouthLineY(double x);
double MouthHalfGap(double x);
double UpperVermilionY(double x);
double LowerVermilionY(double x);
// Eyebrow: centre-line height and half-thickness of the hair band at |x|.
double BrowCenterY(double abs_x);
double BrowHalfThickness(double abs_x);
// Soft 0..1 region weights in frontal (x, y): the lips' vermilion and the eyebrows' hair.
double LipWeight(double x, double y);
double BrowWeight(double x, double y);
// Scalp hair above the hairline (and down the sides of the head toward the sideburns).
double HairWeight(double x, double y, double lambda);

// Base surface: a generalised cylinder over (longitude, height parameter v). Above the jaw
// line v is the height y; below it the surface rolls under the jaw and runs inwards (the
// under-chin flap). BaseNormal is outward (finite differences).
double JawLineY(double lambda);
Eigen::Vector3d BasePoint(double lambda, double v);
Eigen::Vector3d BaseNormal(double lambda, double v);
// Longitude where the base surface at height y reaches x (|x| below the half width).
double LongitudeForX(double x, double y);
// Lowest v that is still on the surface for this longitude (end of the under-chin flap).
double MinV(double lambda);

// Displacements along the base normal (mm) that turn the cylinder into a face, by feature, so
// that identity modes and albedo can reuse single terms as region weights.
struct FeatureTerms {
  double brow_ridge = 0, glabella = 0, forehead = 0, temple = 0, cheekbone = 0,
         cheek_hollow = 0, eye_socket = 0, nose_dorsum = 0, nose_tip = 0, alae = 0,
         alar_groove = 0, nostril = 0, upper_lip = 0, lower_lip = 0, mouth_corner = 0,
         muzzle = 0, philtrum = 0, chin = 0, mentolabial = 0, nasolabial = 0;
  double Sum() const;
};
FeatureTerms EvaluateFeatures(double x, double y);

// One eyeball, an ellipsoid (kEyeballAx, Ay, Az) around `center`.
struct EyeFrame {
  Eigen::Vector3d center;
};
EyeFrame MakeEyeFrame(int eye);  // eye 0: -x (subject's right), 1: +x
// z of the ellipsoid grown by `grow` mm at (x, y); valid where that ellipsoid covers (x, y)
// (clamped to its rim otherwise).
double EyeShellZ(const EyeFrame& frame, double x, double y, double grow);
// 0..1: how much the face surface at (x, y) is pulled onto the lid shell around the eyeball.
double LidBlendWeight(const EyeFrame& frame, double x, double y);

// ---- mesh (sample_geometry.cc) --------------------------------------------------------------

enum class Part : uint8_t { kFace, kEyeball, kMouthInterior };

struct SampleVertex {
  Part part = Part::kFace;
  int eye = -1;             // eyeball or eye-region face vertex: 0 (-x) or 1 (+x)
  int col = -1, row = -1;   // face grid cell
  double lambda = 0, v = 0; // face surface parameters
  Eigen::Vector2d base_xy = Eigen::Vector2d::Zero();  // x, y of the base point (mm)
  Eigen::Vector3d base_normal = Eigen::Vector3d::UnitZ();
  double front_weight = 1;  // how much features apply (fades on the sides and under the jaw)
  FeatureTerms features;
  double lid_blend = 0;
  int lid_side = 0;         // +1 upper / -1 lower lid side of an eye's columns, 0 otherwise
  int mouth_side = 0;       // +1 upper / -1 lower lip side of the mouth's columns
  double ring = 0;          // eyeball: 2D radius of its ring (mm); mouth interior: 0..1 height
  Eigen::Vector3d position = Eigen::Vector3d::Zero();  // mean shape
  Eigen::Vector3d anchor = Eigen::Vector3d::Zero();    // where modes sample their fields
  Eigen::Vector2d uv = Eigen::Vector2d::Zero();
};

struct SampleMesh {
  std::vector<SampleVertex> vertices;
  std::vector<Eigen::Vector3i> triangles;
  int num_cols = 0, num_rows = 0;
  std::vector<int> grid_ids;  // col * num_rows + row -> vertex id
  int center_col = 0;
  int eye_row = 0;            // lower lid margin row; the upper margin is eye_row + 1
  int mouth_row = 0;          // lower lip inner row; the upper lip's is mouth_row + 1
  int eye_cols[2][2] = {};    // [eye][0 outer, 1 inner] canthus columns
  int mouth_cols[2] = {};     // [0 -x corner, 1 +x corner]
  EyeFrame eyes[2];
  std::vector<Eigen::Vector3d> normals;  // mean-shape vertex normals

  int GridVertex(int col, int row) const { return grid_ids[col * num_rows + row]; }
  // Whether a grid column lies on an eye's fissure (corners included), and which eye.
  int EyeOfColumn(int col) const;
  bool IsMouthColumn(int col) const { return col >= mouth_cols[0] && col <= mouth_cols[1]; }
};

SampleMesh BuildSampleMesh();

// ---- annotations, modes, albedo -------------------------------------------------------------

void AddAnnotations(const SampleMesh& mesh, MorphableModel* model);      // sample_annotations.cc
void BuildIdentityModes(const SampleMesh& mesh, LinearBasis* identity);   // sample_identity.cc
void BuildExpressionModes(const SampleMesh& mesh, LinearBasis* expression);  // sample_expression.cc
void BuildAlbedo(const SampleMesh& mesh, Eigen::VectorXf* mean, LinearBasis* albedo);  // sample_albedo.cc

// Fills one basis column from a per-vertex displacement (mm or RGB) and sets its stddev to
// the column norm (the column is a unit direction times that sigma).
void SetColumn(const std::vector<Eigen::Vector3d>& delta, int k, LinearBasis* basis);

}  // namespace morphfit::models::sample

#endif  // MORPHFIT_MODELS_SAMPLE_SAMPLE_INTERNAL_H_
