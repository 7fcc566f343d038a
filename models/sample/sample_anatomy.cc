// The analytic face behind the sample model: eye, mouth and brow curves, the generalised
// cylinder the face is draped on, and the smooth displacement features (nose, brows, cheeks,
// lips, chin ...) added along its normal. Proportions follow adult averages (Farkas'
// anthropometry, rounded): rule of thirds of ~60 mm, interpupillary 63 mm, fissure 30 mm,
// mouth 50 mm, nose 35 mm wide. Origin: between the pupils, nose bridge depth.
#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "sample_internal.h"

namespace morphfit::models::sample {
namespace {

constexpr double kPi = 3.14159265358979323846;

// Smooth interpolation through (x, y) knots (x increasing): cubic Hermite with Catmull-Rom
// tangents, clamped to the end values outside the knots.
double Spline(const std::vector<std::pair<double, double>>& knots, double x) {
  const size_t n = knots.size();
  if (x <= knots.front().first) return knots.front().second;
  if (x >= knots.back().first) return knots.back().second;
  size_t i = 0;
  while (x > knots[i + 1].first) ++i;
  auto tangent = [&](size_t k) {
    const size_t a = k == 0 ? 0 : k - 1;
    const size_t b = std::min(k + 1, n - 1);
    return (knots[b].second - knots[a].second) / (knots[b].first - knots[a].first);
  };
  const double x0 = knots[i].first, x1 = knots[i + 1].first;
  const double h = x1 - x0;
  const double t = (x - x0) / h;
  const double t2 = t * t, t3 = t2 * t;
  return (2 * t3 - 3 * t2 + 1) * knots[i].second + (t3 - 2 * t2 + t) * h * tangent(i) +
         (-2 * t3 + 3 * t2) * knots[i + 1].second + (t3 - t2) * h * tangent(i + 1);
}

// Cross-section of the generalised cylinder at height y: half width at the side (longitude
// 90 deg), midline depth z_front, depth from the front to the side, superellipse exponent.
struct Section {
  double half_width, z_front, depth, exponent;
};

Section SectionAt(double y) {
  static const std::vector<std::pair<double, double>> kHalfWidth = {
      {-130, 51}, {-100, 53}, {-80, 56}, {-60, 61}, {-40, 66}, {-20, 69}, {-6, 70},
      {10, 68}, {30, 66}, {55, 67}, {80, 66}, {100, 62}};
  static const std::vector<std::pair<double, double>> kZFront = {
      {-130, -8}, {-110, -4}, {-95, -1}, {-80, -1}, {-65, 2}, {-50, 2}, {-30, 1},
      {-10, 0}, {5, -1}, {20, 0}, {40, -3}, {60, -9}, {80, -18}, {100, -32}};
  static const std::vector<std::pair<double, double>> kDepth = {
      {-130, 80}, {-80, 80}, {-60, 82}, {-30, 85}, {0, 88}, {20, 90}, {60, 95}, {100, 95}};
  static const std::vector<std::pair<double, double>> kExponent = {
      {-130, 2.0}, {-90, 2.0}, {-60, 2.05}, {-30, 2.3}, {0, 2.5}, {40, 2.5}, {100, 2.4}};
  return {Spline(kHalfWidth, y), Spline(kZFront, y), Spline(kDepth, y), Spline(kExponent, y)};
}

// Superellipse power with the cusp at 0 rounded off (scale kRound): sign(c) |c|^e away from
// 0, linear through it, and 1 at |c| = 1. Keeps the midline smooth (no crease in shading).
double SoftPower(double c, double e) {
  constexpr double kRound2 = 0.06;
  return c * std::pow((c * c + kRound2) / (1.0 + kRound2), 0.5 * (e - 1.0));
}

// The cylinder proper: x = W S(lambda), z = z_front - D (1 - C(lambda)) with superellipse
// S, C = SoftPower(sin, cos, 2 / p).
Eigen::Vector3d CylinderPoint(double lambda, double y) {
  const Section s = SectionAt(y);
  const double e = 2.0 / s.exponent;
  const double S = SoftPower(std::sin(lambda), e);
  const double C = SoftPower(std::cos(lambda), e);
  return {s.half_width * S, y, s.z_front - s.depth * (1.0 - C)};
}

Eigen::Vector3d CylinderNormal(double lambda, double y) {
  const double dl = 1e-4, dy = 1e-3;
  const Eigen::Vector3d pl = CylinderPoint(lambda + dl, y) - CylinderPoint(lambda - dl, y);
  const Eigen::Vector3d py = CylinderPoint(lambda, y + dy) - CylinderPoint(lambda, y - dy);
  return pl.cross(py).normalized();
}

}  // namespace

// ---- curves ---------------------------------------------------------------------------------

double EyeT(double abs_x) { return Clamp01((kEyeOuterX - abs_x) / (kEyeOuterX - kEyeInnerX)); }

namespace {
double CanthalLineY(double t) { return kEyeOuterY + (kEyeInnerY - kEyeOuterY) * t; }
// sin(pi t^a)^b: 0 at both canthi, 1 at t = 0.5^(1/a); the almond's lid profile.
double LidArc(double t, double peak_t, double power) {
  const double a = std::log(0.5) / std::log(peak_t);
  return std::pow(std::max(0.0, std::sin(kPi * std::pow(Clamp01(t), a))), power);
}
}  // namespace

double UpperLidY(double t) { return CanthalLineY(t) + 5.0 * LidArc(t, 0.55, 0.8); }
double LowerLidY(double t) { return CanthalLineY(t) - 4.6 * LidArc(t, 0.42, 0.9); }
double LidMeetY(double t) { return LowerLidY(t) + 0.3 * (UpperLidY(t) - LowerLidY(t)); }

namespace {
double MouthT(double x) { return std::clamp(x / kMouthHalfWidth, -1.0, 1.0); }
}  // namespace

double MouthLineY(double x) {
  const double t = MouthT(x);
  return kMouthCornerY - 1.2 * (1.0 - t * t);
}
double MouthHalfGap(double x) {
  const double t = MouthT(x);
  return 0.35 * std::sqrt(std::max(0.0, 1.0 - t * t));
}
double UpperVermilionY(double x) {
  const double t = MouthT(x);
  const double bow = 7.8 + 1.2 * std::exp(-std::pow((std::abs(t) - 0.26) / 0.13, 2)) -
                     0.9 * std::exp(-std::pow(t / 0.1, 2));
  return MouthLineY(x) + std::pow(std::max(0.0, 1.0 - t * t), 0.6) * bow;
}
double LowerVermilionY(double x) {
  const double t = MouthT(x);
  return MouthLineY(x) - 9.0 * std::pow(std::max(0.0, 1.0 - t * t), 0.55);
}

double BrowCenterY(double abs_x) {
  const double u = Clamp01((abs_x - 12.0) / 48.0);
  return 14.0 + 7.0 * std::pow(std::sin(kPi * std::pow(u, 0.8)), 0.7) - 3.0 * u;
}
double BrowHalfThickness(double abs_x) {
  const double u = Clamp01((abs_x - 14.0) / 44.0);
  // Rounded ends: the band narrows over the last few millimetres at both ends.
  const double ends = std::sqrt(Clamp01((abs_x - 14.0) / 5.0) * Clamp01((61.0 - abs_x) / 9.0));
  return (3.9 - 2.3 * u) * ends;
}

double LipWeight(double x, double y) {
  if (std::abs(x) > kMouthHalfWidth + 0.5) return 0.0;
  const double up = UpperVermilionY(x), lo = LowerVermilionY(x);
  return SmoothStep(up + 1.0, up - 0.8, y) * SmoothStep(lo - 1.0, lo + 0.8, y);
}

double BrowWeight(double x, double y) {
  const double ax = std::abs(x);
  const double half = BrowHalfThickness(ax);
  const double d = std::abs(y - BrowCenterY(ax));
  return SmoothStep(half + 0.9, half - 0.9, d) * SmoothStep(13.0, 15.5, ax) *
         SmoothStep(61.5, 59.0, ax);
}

double HairWeight(double x, double y, double lambda) {
  const double hairline = kHairlineY + 3.0 * Bump(std::abs(x) - 32.0, 10.0, 0.0, 1.0) -
                          50.0 * SmoothStep(1.2, 1.62, std::abs(lambda));
  return SmoothStep(hairline - 1.5, hairline + 3.0, y);
}

// ---- base surface ---------------------------------------------------------------------------

double JawLineY(double lambda) {
  const double s = std::min(1.0, std::abs(std::sin(lambda)));
  return -106.0 + 34.0 * std::pow(s, 2.2);
}

double MinV(double lambda) {
  return JawLineY(lambda) + kJawRoundRadius - (kJawRoundRadius * kPi / 2 + kUnderChinLength);
}

Eigen::Vector3d BasePoint(double lambda, double v) {
  const double y0 = JawLineY(lambda) + kJawRoundRadius;
  if (v >= y0) return CylinderPoint(lambda, v);
  // Roll under the jaw on a circle of radius kJawRoundRadius in the plane of the downward
  // tangent `a` and the inward normal `b`, then run inwards (rising slightly) under the chin.
  const Eigen::Vector3d p0 = CylinderPoint(lambda, y0);
  const Eigen::Vector3d a =
      (CylinderPoint(lambda, y0 - 1e-3) - CylinderPoint(lambda, y0 + 1e-3)).normalized();
  Eigen::Vector3d b = -CylinderNormal(lambda, y0);
  b = (b - b.dot(a) * a).normalized();
  const double arc = y0 - v;
  const double quarter = kJawRoundRadius * kPi / 2;
  if (arc <= quarter) {
    const double theta = arc / kJawRoundRadius;
    return p0 + kJawRoundRadius * std::sin(theta) * a +
           kJawRoundRadius * (1.0 - std::cos(theta)) * b;
  }
  const Eigen::Vector3d inward = (b - 0.25 * a).normalized();
  return p0 + kJawRoundRadius * (a + b) + (arc - quarter) * inward;
}

Eigen::Vector3d BaseNormal(double lambda, double v) {
  const double dl = 1e-4, dv = 1e-3;
  const Eigen::Vector3d pl = BasePoint(lambda + dl, v) - BasePoint(lambda - dl, v);
  const Eigen::Vector3d pv = BasePoint(lambda, v + dv) - BasePoint(lambda, v - dv);
  return pl.cross(pv).normalized();
}

double LongitudeForX(double x, double y) {
  const Section s = SectionAt(y);
  const double target = std::min(1.0, std::abs(x) / s.half_width);
  double lo = 0.0, hi = kPi / 2;  // S is increasing on [0, pi/2]
  for (int i = 0; i < 60; ++i) {
    const double mid = 0.5 * (lo + hi);
    (SoftPower(std::sin(mid), 2.0 / s.exponent) < target ? lo : hi) = mid;
  }
  return Sign(x) * 0.5 * (lo + hi);
}

// ---- features -------------------------------------------------------------------------------

double FeatureTerms::Sum() const {
  return brow_ridge + glabella + forehead + temple + cheekbone + cheek_hollow + eye_socket +
         nose_dorsum + nose_tip + alae + alar_groove + nostril + upper_lip + lower_lip +
         mouth_corner + muzzle + philtrum + chin + mentolabial + nasolabial;
}

FeatureTerms EvaluateFeatures(double x, double y) {
  static const std::vector<std::pair<double, double>> kNoseHeight = {
      {-48, 0}, {-44.5, 2.2}, {-41.5, 7.0}, {-38.5, 12.0}, {-35.5, 15.0}, {-32.5, 16.0},
      {-29, 15.0}, {-24, 12.5}, {-15, 8.2}, {-5, 4.4}, {2, 2.0}, {7, 0.7}, {12, 0}};
  static const std::vector<std::pair<double, double>> kNoseHalfWidth = {
      {-45, 11}, {-38, 10.5}, {-30, 9.5}, {-20, 8.2}, {-10, 7.2}, {0, 7.4}, {10, 8.5}};
  const double ax = std::abs(x);
  FeatureTerms f;
  f.brow_ridge = 3.0 * std::exp(-std::pow((y - (BrowCenterY(ax) - 2.5)) / 6.5, 2)) *
                 SmoothStep(6, 16, ax) * SmoothStep(66, 50, ax);
  f.glabella = 2.2 * Bump(x, 11, y - 11, 9);
  f.forehead = 1.5 * Bump(x, 38, y - 45, 18);
  f.temple = -4.5 * Bump(ax - 60, 10, y - 25, 16);
  f.cheekbone = 4.5 * Bump(ax - 50, 13, y + 17, 10);
  f.cheek_hollow = -1.2 * Bump(ax - 47, 10, y + 50, 10);
  f.eye_socket = -3.5 * Bump(ax - kEyeCenterX, 15, y - 1, 11);

  // Nose: a ridge with a height profile down the midline, the tip lobule, the alae with the
  // groove where they meet the cheek, and shallow nostril dents on the underside.
  if (y > -50 && y < 14) {
    const double w = Spline(kNoseHalfWidth, y);
    f.nose_dorsum = Spline(kNoseHeight, y) * std::exp(-std::pow(x / w, 2));
  }
  f.nose_tip = 2.5 * Bump(x, 6.5, y + 32.5, 4.5);
  f.alae = 5.0 * Bump(ax - 12.5, 5.0, y + 38.0, 4.5);
  {
    const double dx = ax - 12.5, dy = (y + 38.0) * 1.1;
    const double r = std::sqrt(dx * dx + dy * dy);
    f.alar_groove = -1.6 * std::exp(-std::pow((r - 6.8) / 1.4, 2)) * SmoothStep(9, 15, ax);
  }
  f.nostril = -2.5 * Bump(ax - 6.0, 2.8, y + 42.5, 2.0);

  // Lips: a rounded roll on each side of the slit, tapering to the corners; the upper one
  // has a white-roll ridge at its border and overhangs the lower one slightly.
  {
    const double t = std::clamp(x / kMouthHalfWidth, -1.0, 1.0);
    const double taper = std::pow(std::max(0.0, 1.0 - t * t), 0.35);
    const double line = MouthLineY(x);
    if (y >= line) {
      const double height = std::max(UpperVermilionY(x) - line, 1.0);
      const double s = (y - line) / height;
      f.upper_lip = 4.8 * taper *
                    (std::exp(-std::pow((s - 0.5) / 0.62, 2)) +
                     0.22 * std::exp(-std::pow((s - 1.0) / 0.14, 2)));
    } else {
      const double height = std::max(line - LowerVermilionY(x), 1.0);
      const double s = (line - y) / height;
      f.lower_lip = 3.8 * taper * std::exp(-std::pow((s - 0.5) / 0.55, 2));
    }
  }
  f.mouth_corner = -2.0 * Bump(ax - 25.5, 3.5, y - kMouthCornerY, 3.5);
  f.muzzle = 4.0 * Bump(x, 28, y + 62, 17);
  f.philtrum = (0.7 * std::exp(-std::pow((ax - 5.0) / 1.8, 2)) -
                0.4 * std::exp(-std::pow(x / 2.5, 2))) *
               SmoothStep(-60, -56.5, y) * SmoothStep(-44, -48, y);
  f.chin = 5.5 * Bump(x, 16, y + 93, 9);
  f.mentolabial = -2.5 * Bump(x, 15, y + 81, 3.5);

  // Nasolabial fold: a soft ridge lateral to the line from the ala to past the mouth corner.
  {
    const Eigen::Vector2d a(16.0, -38.0), b(28.0, -70.0);
    const Eigen::Vector2d p(ax, y);
    const Eigen::Vector2d ab = b - a;
    const double u = (p - a).dot(ab) / ab.squaredNorm();
    const Eigen::Vector2d lateral = Eigen::Vector2d(-ab.y(), ab.x()).normalized();
    const double d = (p - a).dot(lateral) * (lateral.x() > 0 ? 1.0 : -1.0);
    f.nasolabial = 1.5 * std::exp(-std::pow((d - 3.5) / 3.0, 2)) * SmoothStep(-0.15, 0.1, u) *
                   SmoothStep(1.15, 0.85, u);
  }
  return f;
}

// ---- eyes -----------------------------------------------------------------------------------

EyeFrame MakeEyeFrame(int eye) {
  const double x = eye == 0 ? -kEyeCenterX : kEyeCenterX;
  const double surface_z = BasePoint(LongitudeForX(x, kEyeCenterY), kEyeCenterY).z();
  EyeFrame frame;
  frame.center = Eigen::Vector3d(x, kEyeCenterY, surface_z - 2.0 - kEyeballAz);
  return frame;
}

namespace {
// The lid shell is the eyeball grown in depth by the lid thickness and flared sideways and
// upwards, so the canthi sit in front of the ball and the lids stay clear of it.
constexpr double kLidAx = kEyeballAx + 3.5;
constexpr double kLidAy = kEyeballAy + 7.5;
}  // namespace

double EyeShellZ(const EyeFrame& frame, double x, double y, double grow) {
  const double dx = (x - frame.center.x()) / kLidAx;
  const double dy = (y - frame.center.y()) / kLidAy;
  const double q = std::min(dx * dx + dy * dy, 0.985);
  return frame.center.z() + (kEyeballAz + grow) * std::sqrt(1.0 - q);
}

double LidBlendWeight(const EyeFrame& frame, double x, double y) {
  // Distance (mm) from the open fissure: 0 inside, growing past the margins and canthi.
  const double ax = std::abs(x);
  const double span = kEyeOuterX - kEyeInnerX;
  const double tu = (kEyeOuterX - ax) / span;
  const double t = Clamp01(tu);
  const double d_h = std::max({0.0, -tu, tu - 1.0}) * span;
  const double d_v = std::max({0.0, y - UpperLidY(t), LowerLidY(t) - y});
  const double d = std::sqrt(d_h * d_h + d_v * d_v);
  const double reach = y > 0.5 * (UpperLidY(t) + LowerLidY(t)) ? 8.0 : 5.5;
  return 1.0 - SmoothStep(0.0, reach, d);
}

}  // namespace morphfit::models::sample
