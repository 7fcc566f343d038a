// Albedo of the sample model: a plausible mean (skin with redder cheeks and lips, dark brows,
// lash line and nostrils, white sclera, brown iris, black pupil, dark red mouth interior) and
// named RGB modes (each field is the 1-sigma change), kept small enough that every mode alone
// stays inside [0, 1] at +-2 sigma.
#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "sample_internal.h"

namespace morphfit::models::sample {
namespace {

using Rgb = Eigen::Vector3d;
using Field = std::function<Rgb(const SampleVertex&)>;

constexpr double kPupilRadius = 1.9;  // mm, eyeball ring radii (sample_geometry.cc)
constexpr double kIrisRadius = 5.7;

const Rgb kSkin(0.78, 0.57, 0.47);
const Rgb kLips(0.68, 0.37, 0.35);
const Rgb kHair(0.15, 0.10, 0.075);
const Rgb kBrows(0.27, 0.19, 0.15);

bool IsIris(const SampleVertex& v) {
  return v.part == Part::kEyeball && v.ring > kPupilRadius && v.ring <= kIrisRadius + 1e-9;
}
bool IsSclera(const SampleVertex& v) { return v.part == Part::kEyeball && v.ring > kIrisRadius + 1e-9; }

// 0..1 weights on the face.
double Lip(const SampleVertex& v) {
  return v.part == Part::kFace ? LipWeight(v.base_xy.x(), v.base_xy.y()) : 0.0;
}
double Brow(const SampleVertex& v) {
  return v.part == Part::kFace ? 0.85 * BrowWeight(v.base_xy.x(), v.base_xy.y()) : 0.0;
}
double Hair(const SampleVertex& v) {
  return v.part == Part::kFace ? HairWeight(v.base_xy.x(), v.base_xy.y(), v.lambda) : 0.0;
}
double Skin(const SampleVertex& v) { return v.part == Part::kFace ? 1.0 - Hair(v) : 0.0; }


Rgb FaceAlbedo(const SampleMesh& mesh, const SampleVertex& v) {
  const double x = v.base_xy.x(), y = v.base_xy.y(), ax = std::abs(x);
  Rgb c = kSkin;
  c += Bump(ax - 40, 14, y + 28, 14) * Rgb(0.05, -0.01, -0.01);  // cheeks
  c += Bump(x, 8, y + 30, 8) * Rgb(0.03, -0.01, -0.01);           // nose tip
  c += Bump(ax - kEyeCenterX, 16, y - 2, 10) * Rgb(-0.03, -0.04, -0.03);  // periorbital
  c += (Lip(v) * (kLips - c)).eval();
  c += (Brow(v) * (kBrows - c)).eval();
  c += (Hair(v) * (kHair - c)).eval();
  const double nostril = Clamp01(-v.features.nostril / 2.0);
  c += (nostril * (Rgb(0.30, 0.16, 0.13) - c)).eval();
  // Lash line on the upper margin, a pinker lower margin, the caruncle at the inner canthus.
  if (v.lid_side != 0 || (v.col >= 0 && mesh.EyeOfColumn(v.col) >= 0)) {
    if (v.row == mesh.eye_row + 1) c += (0.9 * (Rgb(0.07, 0.05, 0.04) - c)).eval();
    if (v.row == mesh.eye_row + 2) c += (0.55 * (Rgb(0.15, 0.10, 0.08) - c)).eval();
    if (v.row == mesh.eye_row) c += (0.45 * (Rgb(0.55, 0.36, 0.33) - c)).eval();
  }
  const double caruncle = Bump(ax - kEyeInnerX, 1.8, y - kEyeInnerY, 1.5);
  c += (caruncle * (Rgb(0.75, 0.45, 0.45) - c)).eval();
  return c;
}

Rgb EyeballAlbedo(const SampleVertex& v) {
  if (v.ring <= kPupilRadius + 1e-9) return Rgb(0.02, 0.02, 0.02);
  if (v.ring <= kIrisRadius + 1e-9) {
    const double u = (v.ring - kPupilRadius) / (kIrisRadius - kPupilRadius);
    const Rgb inner(0.46, 0.33, 0.18), outer(0.24, 0.16, 0.09);
    return inner + u * (outer - inner) - (u > 0.99 ? Rgb(0.08, 0.05, 0.03) : Rgb::Zero());
  }
  const double u = Clamp01((v.ring - 6.0) / 6.5);
  return Rgb(0.92, 0.90, 0.87) + u * Rgb(-0.06, -0.12, -0.12);
}

Rgb MouthAlbedo(const SampleVertex& v) {
  // Tongue in the lower part, darker toward the top and the sides.
  const double tongue = SmoothStep(0.55, 0.2, v.ring) * Bump(v.anchor.x(), 18, 0, 1);
  return Rgb(0.26, 0.06, 0.07) + tongue * Rgb(0.26, 0.12, 0.11);
}

std::vector<std::pair<std::string, Field>> Modes() {
  std::vector<std::pair<std::string, Field>> m;
  auto add = [&](const char* name, Field f) { m.emplace_back(name, std::move(f)); };
  add("skin_melanin", [](const SampleVertex& v) -> Rgb { return Rgb(Skin(v) * Rgb(-0.085, -0.075, -0.06)); });
  add("skin_haemoglobin", [](const SampleVertex& v) -> Rgb { return Rgb(Skin(v) * Rgb(0.03, -0.004, 0.0)); });
  add("skin_carotene", [](const SampleVertex& v) -> Rgb { return Rgb(Skin(v) * Rgb(0.01, 0.005, -0.016)); });
  add("skin_brightness", [](const SampleVertex& v) -> Rgb { return Rgb(Skin(v) * (1.0 - Brow(v)) * Rgb(0.04, 0.04, 0.04)); });
  add("lip_redness", [](const SampleVertex& v) -> Rgb { return Rgb(Lip(v) * Rgb(0.05, -0.03, -0.02)); });
  add("lip_darkness", [](const SampleVertex& v) -> Rgb { return Rgb(Lip(v) * Rgb(-0.06, -0.05, -0.04)); });
  add("brow_darkness", [](const SampleVertex& v) -> Rgb { return Rgb(Brow(v) * Rgb(-0.06, -0.045, -0.035)); });
  add("brow_thickness", [](const SampleVertex& v) -> Rgb {
    if (v.part != Part::kFace) return Rgb::Zero().eval();
    const double x = v.base_xy.x(), y = v.base_xy.y(), ax = std::abs(x);
    const double halo = SmoothStep(BrowHalfThickness(ax) + 3.0, BrowHalfThickness(ax), std::abs(y - BrowCenterY(ax))) *
                        SmoothStep(12, 16, ax) * SmoothStep(62, 56, ax);
    return Rgb(0.12 * std::max(0.0, halo - BrowWeight(x, y)) * (kBrows - kSkin));
  });
  add("iris_hue", [](const SampleVertex& v) -> Rgb { return Rgb(IsIris(v) * Rgb(-0.07, 0.0, 0.09)); });
  add("iris_lightness", [](const SampleVertex& v) -> Rgb { return Rgb(IsIris(v) * Rgb(0.07, 0.06, 0.05)); });
  add("sclera_tint", [](const SampleVertex& v) -> Rgb { return Rgb(IsSclera(v) * Rgb(0.0, -0.02, -0.04)); });
  add("cheek_blush", [](const SampleVertex& v) -> Rgb {
    return Rgb(Skin(v) * Bump(std::abs(v.base_xy.x()) - 40, 14, v.base_xy.y() + 28, 14) * Rgb(0.04, -0.004, -0.004));
  });
  add("beard_shadow", [](const SampleVertex& v) -> Rgb {
    const double y = v.base_xy.y();
    const double w = Skin(v) * SmoothStep(-42, -55, y) * (1.0 - Lip(v)) * SmoothStep(75, 55, std::abs(v.base_xy.x()));
    return Rgb(w * Rgb(-0.05, -0.045, -0.03));
  });
  add("periorbital_darkness", [](const SampleVertex& v) -> Rgb {
    return Rgb(Skin(v) * Bump(std::abs(v.base_xy.x()) - kEyeCenterX, 15, v.base_xy.y() + 2, 9) * Rgb(-0.04, -0.045, -0.03));
  });
  add("forehead_tone", [](const SampleVertex& v) -> Rgb {
    return Rgb(Skin(v) * SmoothStep(0, 80, v.base_xy.y()) * Rgb(0.03, 0.02, 0.015));
  });
  add("lateral_tone", [](const SampleVertex& v) -> Rgb {
    return Rgb(Skin(v) * std::clamp(v.base_xy.x() / 70.0, -1.0, 1.0) * Rgb(0.02, 0.018, 0.015));
  });
  add("nose_redness", [](const SampleVertex& v) -> Rgb {
    return Rgb(Skin(v) * Bump(v.base_xy.x(), 10, v.base_xy.y() + 25, 14) * Rgb(0.03, -0.004, -0.004));
  });
  add("eyelid_darkness", [](const SampleVertex& v) -> Rgb {
    return Rgb(Skin(v) * v.lid_blend * (v.lid_side > 0 ? 1.0 : 0.6) * Rgb(-0.05, -0.05, -0.035));
  });
  add("hair_lightness", [](const SampleVertex& v) -> Rgb { return Rgb(Hair(v) * Rgb(0.06, 0.045, 0.03)); });
  add("mouth_interior_tone", [](const SampleVertex& v) -> Rgb {
    return Rgb((v.part == Part::kMouthInterior) * Rgb(0.05, 0.02, 0.02));
  });
  // Smooth random colour fields over the face.
  SplitMix64 rng(0xA1BED0C0FFEEull);
  for (int k = 0; k < 4; ++k) {
    struct ColourBump {
      Eigen::Vector2d centre;
      double radius;
      Rgb colour;
    };
    std::vector<ColourBump> bumps(5);
    for (ColourBump& b : bumps) {
      b.centre = Eigen::Vector2d(-60.0 + 120.0 * rng.Uniform(), -100.0 + 180.0 * rng.Uniform());
      b.radius = 20.0 + 20.0 * rng.Uniform();
      const double lum = 0.015 * rng.Normal();
      b.colour = Rgb(lum + 0.004 * rng.Normal(), 0.9 * lum + 0.003 * rng.Normal(), 0.8 * lum + 0.003 * rng.Normal());
    }
    m.emplace_back("smooth_random_" + std::to_string(k), [bumps](const SampleVertex& v) -> Rgb {
      Rgb c = Rgb::Zero();
      for (const ColourBump& b : bumps) {
        c += Bump(v.base_xy.x() - b.centre.x(), b.radius, v.base_xy.y() - b.centre.y(), b.radius) * b.colour;
      }
      return Rgb(Skin(v) * c);
    });
  }
  return m;
}

}  // namespace

void BuildAlbedo(const SampleMesh& mesh, Eigen::VectorXf* mean, LinearBasis* albedo) {
  const int n = static_cast<int>(mesh.vertices.size());
  mean->resize(3 * n);
  for (int i = 0; i < n; ++i) {
    const SampleVertex& v = mesh.vertices[i];
    Rgb c = Rgb::Zero();
    switch (v.part) {
      case Part::kFace: c = FaceAlbedo(mesh, v); break;
      case Part::kEyeball: c = EyeballAlbedo(v); break;
      case Part::kMouthInterior: c = MouthAlbedo(v); break;
    }
    mean->segment<3>(3 * i) = c.cwiseMax(0.0).cwiseMin(1.0).cast<float>();
  }
  const std::vector<std::pair<std::string, Field>> modes = Modes();
  albedo->basis.resize(3 * n, static_cast<Eigen::Index>(modes.size()));
  albedo->stddev.resize(static_cast<Eigen::Index>(modes.size()));
  albedo->names.clear();
  std::vector<Eigen::Vector3d> delta(n);
  for (size_t k = 0; k < modes.size(); ++k) {
    for (int i = 0; i < n; ++i) delta[i] = modes[k].second(mesh.vertices[i]);
    SetColumn(delta, static_cast<int>(k), albedo);
    albedo->names.push_back(modes[k].first);
  }
}

}  // namespace morphfit::models::sample
