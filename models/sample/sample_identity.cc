// Identity modes of the sample model: semantically named smooth deformations with realistic
// standard deviations (each field below is the 1-sigma displacement in mm), plus a few smooth
// low-frequency random fields. Eyeballs and the mouth interior sample every field at an anchor
// on the face surface in front of them, so they move with the lids and lips around them.
#include <cmath>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "sample_internal.h"

namespace morphfit::models::sample {
namespace {

using Field = std::function<Eigen::Vector3d(const SampleVertex&, const Eigen::Vector3d&)>;

// Features act along the base normal, faded where the surface turns away (as in the mean).
Eigen::Vector3d Normal(const SampleVertex& v) { return v.front_weight * v.base_normal; }

double EyeRegion(const Eigen::Vector3d& p, double sx, double sy) {
  return Bump(std::abs(p.x()) - kEyeCenterX, sx, p.y() - 1.0, sy);
}

// How far a face vertex is onto the under-chin flap: 0 above the jaw's rounding, 1 past it.
double FlapWeight(const SampleVertex& v) {
  if (v.part != Part::kFace) return 0.0;
  const double top = JawLineY(v.lambda) + kJawRoundRadius;
  return SmoothStep(top - 5.0, top - 18.0, v.v);
}

std::vector<std::pair<std::string, Field>> SemanticModes() {
  using V = Eigen::Vector3d;
  std::vector<std::pair<std::string, Field>> m;
  auto add = [&](const char* name, Field f) { m.emplace_back(name, std::move(f)); };
  add("face_width", [](const SampleVertex&, const V& p) -> V { return V(4.5 * p.x() / 70.0, 0, 0); });
  add("face_length", [](const SampleVertex&, const V& p) -> V {
    return V(0, 4.0 * std::min(p.y(), 0.0) / 106.0, 0);
  });
  add("face_depth", [](const SampleVertex&, const V& p) -> V { return V(0, 0, 3.5 * (p.z() + 85.0) / 90.0); });
  add("forehead_height", [](const SampleVertex&, const V& p) -> V { return V(0, 4.0 * SmoothStep(15, 90, p.y()), 0); });
  add("forehead_slope", [](const SampleVertex&, const V& p) -> V {
    return V(0, 0, -4.0 * std::pow(std::max(0.0, p.y() - 15.0) / 75.0, 2));
  });
  add("forehead_width", [](const SampleVertex&, const V& p) -> V {
    return V(3.0 * p.x() / 65.0 * SmoothStep(5, 45, p.y()), 0, 0);
  });
  add("brow_ridge", [](const SampleVertex& v, const V&) -> V {
    return Normal(v) * 0.4 * (v.features.brow_ridge + v.features.glabella);
  });
  add("eye_spacing", [](const SampleVertex&, const V& p) -> V { return V(2.0 * Sign(p.x()) * EyeRegion(p, 16, 13), 0, 0); });
  add("eye_size", [](const SampleVertex&, const V& p) -> V {
    const double w = 0.1 * EyeRegion(p, 14, 11);
    return V(w * (p.x() - Sign(p.x()) * kEyeCenterX), w * (p.y() - kEyeCenterY), 0);
  });
  add("eye_height", [](const SampleVertex&, const V& p) -> V { return V(0, 2.0 * EyeRegion(p, 16, 13), 0); });
  add("eye_depth", [](const SampleVertex&, const V& p) -> V { return V(0, 0, -2.0 * EyeRegion(p, 16, 13)); });
  add("canthal_tilt", [](const SampleVertex&, const V& p) -> V {
    return V(0, 1.5 * (std::abs(p.x()) - kEyeCenterX) / 15.0 * EyeRegion(p, 14, 11), 0);
  });
  add("nose_length", [](const SampleVertex&, const V& p) -> V {
    return V(0, -3.0 * Bump(p.x(), 18, p.y() + 32, 14) * SmoothStep(10, -25, p.y()), 0);
  });
  add("nose_width", [](const SampleVertex&, const V& p) -> V {
    return V(2.5 * p.x() / 14.0 * Bump(p.x(), 20, p.y() + 36, 9), 0, 0);
  });
  add("nose_projection", [](const SampleVertex& v, const V&) -> V {
    return Normal(v) * 0.18 * (v.features.nose_dorsum + v.features.nose_tip + 0.5 * v.features.alae);
  });
  add("nose_bridge_height", [](const SampleVertex& v, const V& p) -> V {
    return Normal(v) * 1.8 * Bump(p.x(), 7, p.y() + 5, 12);
  });
  add("nose_bridge_width", [](const SampleVertex&, const V& p) -> V {
    return V(1.5 * p.x() / 8.0 * Bump(p.x(), 12, p.y() + 3, 12), 0, 0);
  });
  add("nose_tip_size", [](const SampleVertex& v, const V&) -> V { return Normal(v) * 0.6 * v.features.nose_tip; });
  add("nostril_flare", [](const SampleVertex& v, const V& p) -> V {
    return V(2.0 * Sign(p.x()) * v.features.alae / 5.0, 0, 0);
  });
  add("nose_hump", [](const SampleVertex& v, const V& p) -> V { return Normal(v) * 1.5 * Bump(p.x(), 6, p.y() + 12, 6); });
  add("nose_tip_rotation", [](const SampleVertex&, const V& p) -> V { return V(0, 2.0 * Bump(p.x(), 9, p.y() + 35, 7), 0); });
  add("cheekbone_prominence", [](const SampleVertex& v, const V&) -> V { return Normal(v) * 0.5 * v.features.cheekbone; });
  add("cheekbone_width", [](const SampleVertex&, const V& p) -> V {
    return V(3.0 * Sign(p.x()) * Bump(std::abs(p.x()) - 60, 18, p.y() + 15, 16), 0, 0);
  });
  add("cheek_fullness", [](const SampleVertex& v, const V& p) -> V {
    return Normal(v) * 2.5 * Bump(std::abs(p.x()) - 42, 12, p.y() + 45, 14);
  });
  add("jaw_width", [](const SampleVertex&, const V& p) -> V {
    return V(4.0 * p.x() / 55.0 * SmoothStep(-35, -80, p.y()), 0, 0);
  });
  add("jaw_angle_height", [](const SampleVertex&, const V& p) -> V {
    return V(0, -3.0 * Bump(std::abs(p.x()) - 52, 14, p.y() + 75, 12), 0);
  });
  add("chin_prominence", [](const SampleVertex&, const V& p) -> V { return V(0, 0, 3.5 * Bump(p.x(), 18, p.y() + 95, 14)); });
  add("chin_width", [](const SampleVertex&, const V& p) -> V {
    return V(3.0 * p.x() / 20.0 * Bump(p.x(), 25, p.y() + 95, 14), 0, 0);
  });
  add("chin_height", [](const SampleVertex&, const V& p) -> V { return V(0, -3.5 * SmoothStep(-75, -105, p.y()), 0); });
  add("upper_lip_thickness", [](const SampleVertex& v, const V& p) -> V {
    return Normal(v) * 0.3 * v.features.upper_lip + V(0, 1.0 * LipWeight(p.x(), p.y()) * (p.y() > MouthLineY(p.x())), 0);
  });
  add("lower_lip_thickness", [](const SampleVertex& v, const V& p) -> V {
    return Normal(v) * 0.35 * v.features.lower_lip - V(0, 1.2 * LipWeight(p.x(), p.y()) * (p.y() < MouthLineY(p.x())), 0);
  });
  add("mouth_width", [](const SampleVertex&, const V& p) -> V {
    return V(3.0 * p.x() / 25.0 * Bump(p.x(), 30, p.y() + 64, 12), 0, 0);
  });
  add("mouth_height", [](const SampleVertex&, const V& p) -> V { return V(0, 2.5 * Bump(p.x(), 30, p.y() + 64, 15), 0); });
  add("lip_protrusion", [](const SampleVertex&, const V& p) -> V { return V(0, 0, 3.0 * Bump(p.x(), 28, p.y() + 64, 16)); });
  add("midface_length", [](const SampleVertex&, const V& p) -> V { return V(0, -2.5 * SmoothStep(5, -40, p.y()), 0); });
  add("temple_hollow", [](const SampleVertex& v, const V&) -> V { return Normal(v) * 0.5 * v.features.temple; });
  add("chin_deviation", [](const SampleVertex&, const V& p) -> V { return V(2.0 * SmoothStep(-40, -100, p.y()), 0, 0); });
  add("eye_asymmetry", [](const SampleVertex&, const V& p) -> V { return V(0, 1.2 * Sign(p.x()) * EyeRegion(p, 16, 13), 0); });
  add("under_chin_fullness", [](const SampleVertex& v, const V&) -> V { return v.base_normal * 3.5 * FlapWeight(v); });
  add("nasolabial_depth", [](const SampleVertex& v, const V&) -> V { return Normal(v) * 1.0 * v.features.nasolabial; });
  add("eye_bags", [](const SampleVertex& v, const V& p) -> V {
    return Normal(v) * 1.2 * Bump(std::abs(p.x()) - 31, 11, p.y() + 9, 3.5);
  });
  add("head_width", [](const SampleVertex& v, const V& p) -> V {
    return V(4.0 * Sign(p.x()) * SmoothStep(0.9, 1.5, std::abs(v.lambda)), 0, 0);
  });
  add("lower_cheek_width", [](const SampleVertex&, const V& p) -> V {
    return V(3.0 * Sign(p.x()) * Bump(std::abs(p.x()) - 55, 15, p.y() + 45, 20), 0, 0);
  });
  return m;
}

constexpr int kNumRandomModes = 8;
constexpr int kBumpsPerRandomMode = 6;

// Sum of Gaussian bumps with random centres over the face, radii 20-40 mm, mostly normal
// displacements of about a millimetre.
Field RandomField(SplitMix64* rng) {
  struct RandomBump {
    Eigen::Vector2d centre;
    double radius;
    Eigen::Vector3d tangential;
    double normal;
  };
  std::vector<RandomBump> bumps(kBumpsPerRandomMode);
  for (RandomBump& b : bumps) {
    b.centre = Eigen::Vector2d(-60.0 + 120.0 * rng->Uniform(), -100.0 + 180.0 * rng->Uniform());
    b.radius = 20.0 + 20.0 * rng->Uniform();
    b.normal = 1.0 * rng->Normal();
    b.tangential = Eigen::Vector3d(0.4 * rng->Normal(), 0.4 * rng->Normal(), 0.0);
  }
  return [bumps](const SampleVertex& v, const Eigen::Vector3d& p) {
    Eigen::Vector3d d = Eigen::Vector3d::Zero();
    for (const RandomBump& b : bumps) {
      const double w = Bump(p.x() - b.centre.x(), b.radius, p.y() - b.centre.y(), b.radius);
      d += w * (b.normal * Normal(v) + b.tangential);
    }
    return d;
  };
}

}  // namespace

void BuildIdentityModes(const SampleMesh& mesh, LinearBasis* identity) {
  std::vector<std::pair<std::string, Field>> modes = SemanticModes();
  SplitMix64 rng(0x5A3D1E5EEDull);
  for (int k = 0; k < kNumRandomModes; ++k) {
    modes.emplace_back("smooth_random_" + std::to_string(k), RandomField(&rng));
  }
  const int n = static_cast<int>(mesh.vertices.size());
  identity->basis.resize(3 * n, static_cast<Eigen::Index>(modes.size()));
  identity->stddev.resize(static_cast<Eigen::Index>(modes.size()));
  identity->names.clear();
  std::vector<Eigen::Vector3d> delta(n);
  for (size_t k = 0; k < modes.size(); ++k) {
    for (int i = 0; i < n; ++i) delta[i] = modes[k].second(mesh.vertices[i], mesh.vertices[i].anchor);
    SetColumn(delta, static_cast<int>(k), identity);
    identity->names.push_back(modes[k].first);
  }
}

}  // namespace morphfit::models::sample
