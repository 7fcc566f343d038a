// Expression modes of the sample model (PCA kind, Gaussian prior): each field below is the
// full expression in mm, reached at coefficient kSampleExpressionFullCoefficient, so one sigma
// is a moderate expression. Lid modes slide the lids over the eyeball's shell; eye closing
// brings both margins of every fissure column to one meeting point, so the lids meet exactly.
#include <cmath>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "morphfit/models/sample_model.h"
#include "sample_internal.h"

namespace morphfit::models::sample {
namespace {

using Field = std::function<Eigen::Vector3d(int)>;  // vertex id -> full-expression delta

// Where the two margins of a fissure column meet when the eye closes.
Eigen::Vector3d MeetPoint(const SampleMesh& mesh, int eye, int col) {
  const Eigen::Vector3d& up = mesh.vertices[mesh.GridVertex(col, mesh.eye_row + 1)].position;
  const Eigen::Vector3d& low = mesh.vertices[mesh.GridVertex(col, mesh.eye_row)].position;
  const double x = 0.5 * (up.x() + low.x());
  const double y = low.y() + 0.3 * (up.y() - low.y());
  return {x, y, EyeShellZ(mesh.eyes[eye], x, y, kLidThickness)};
}

// Moves the lids of `eye`: in each fissure column the upper margin by `up_target(col) - margin`
// and the lower one likewise, fading over 9 mm above / 5 mm below the margins and keeping
// lid vertices on the lid shell. Zero outside the eye's columns and for non-face vertices.
template <typename UpTarget, typename LowTarget>
Eigen::Vector3d LidDelta(const SampleMesh& mesh, int eye, int id, UpTarget up_target,
                         LowTarget low_target) {
  const SampleVertex& v = mesh.vertices[id];
  if (v.part != Part::kFace || v.lid_side == 0 || mesh.EyeOfColumn(v.col) != eye) {
    return Eigen::Vector3d::Zero();
  }
  const bool upper = v.lid_side > 0;
  const int margin_id = mesh.GridVertex(v.col, upper ? mesh.eye_row + 1 : mesh.eye_row);
  const Eigen::Vector3d& margin = mesh.vertices[margin_id].position;
  const Eigen::Vector3d target = upper ? up_target(v.col) : low_target(v.col);
  const double dist = upper ? v.position.y() - margin.y() : margin.y() - v.position.y();
  const double f = 1.0 - SmoothStep(0.0, upper ? 9.0 : 5.0, dist);
  if (f <= 0.0) return Eigen::Vector3d::Zero();
  const Eigen::Vector3d m = f * (target - margin);
  const Eigen::Vector3d& p = v.position;
  const double on_shell = EyeShellZ(mesh.eyes[eye], p.x() + m.x(), p.y() + m.y(), kLidThickness) -
                          EyeShellZ(mesh.eyes[eye], p.x(), p.y(), kLidThickness);
  return {m.x(), m.y(), v.lid_blend * on_shell + (1.0 - v.lid_blend) * m.z()};
}

// Share of a vertex that follows the mandible: 1 on the lower lip, chin and jaw, 0 on the
// upper lip and above, with the slit as a clean cut between the corners.
double JawWeight(const SampleVertex& v) {
  if (v.part == Part::kEyeball) return 0.0;
  const Eigen::Vector3d& p = v.anchor;
  if (v.part == Part::kMouthInterior) return SmoothStep(-64.0, -72.0, p.y());
  const double ax = std::abs(p.x());
  const double mid = -64.0 + 34.0 * SmoothStep(25.0, 70.0, ax);
  const double field = SmoothStep(mid + 6.0, mid - 14.0, p.y());
  if (v.mouth_side == 0) return field;
  const double t = p.x() / kMouthHalfWidth;
  const double centre = std::sqrt(std::max(0.0, 1.0 - t * t));
  const double near_slit = std::exp(-std::pow((p.y() - MouthLineY(p.x())) / 7.0, 2));
  const double cut = centre * near_slit;
  return v.mouth_side > 0 ? field * (1.0 - cut) : field + (1.0 - field) * cut;
}

bool UpperSide(const SampleVertex& v) {
  return v.mouth_side > 0 || (v.mouth_side == 0 && v.anchor.y() > MouthLineY(v.anchor.x()));
}

// Calls `add(name, field)` once per mode, in basis order; the fields refer to locals here, so
// `add` must evaluate them before returning.
void ForEachMode(const SampleMesh& mesh, const std::function<void(const char*, const Field&)>& add) {
  using V = Eigen::Vector3d;
  const std::vector<SampleVertex>& vs = mesh.vertices;
  auto face = [&](int i) { return vs[i].part == Part::kFace; };
  auto not_eye = [&](int i) { return vs[i].part != Part::kEyeball; };

  // Jaw rotates about the temporomandibular axis (behind the cheeks, below the eyes).
  const V pivot(0.0, -20.0, -75.0);
  constexpr double kJawOpenRad = 0.22;
  add("jaw_open", [&, pivot](int i) {
    const V r = vs[i].anchor - pivot;
    return V(JawWeight(vs[i]) * kJawOpenRad * V(0, -r.z(), r.y()));
  });
  add("jaw_sideways", [&](int i) { return V(5.0 * JawWeight(vs[i]), 0, 0); });
  for (int side : {1, -1}) {
    add(side > 0 ? "smile_left" : "smile_right", [&, side](int i) {
      if (!not_eye(i)) return V::Zero().eval();
      const V& p = vs[i].anchor;
      const double corner = Bump(p.x() - side * 25.0, 14, p.y() + 64, 12);
      const double cheek = Bump(p.x() - side * 38.0, 14, p.y() + 35, 12);
      return V(corner * V(side * 6.0, 8.0, -3.0) + cheek * V(0, 4.0, 2.0));
    });
  }
  add("mouth_frown", [&](int i) {
    const V& p = vs[i].anchor;
    return V(not_eye(i) * Bump(std::abs(p.x()) - 25, 10, p.y() + 66, 10) * V(0, -5.0, 0));
  });
  add("lip_stretch", [&](int i) {
    const V& p = vs[i].anchor;
    return V(not_eye(i) * Bump(std::abs(p.x()) - 25, 10, p.y() + 64, 10) * V(Sign(p.x()) * 4.0, -1.0, -2.0));
  });
  add("lip_pucker", [&](int i) {
    const V& p = vs[i].anchor;
    return V(not_eye(i) * Bump(p.x(), 22, p.y() + 65, 12) * V(-0.3 * p.x(), 0, 7.0));
  });
  add("lip_funnel", [&](int i) {
    const V& p = vs[i].anchor;
    const double w = Bump(p.x(), 20, p.y() + 65, 10);
    const double centre = SmoothStep(27.0, 10.0, std::abs(p.x()));
    const double dy = face(i) ? (UpperSide(vs[i]) ? 2.5 : -3.5) * centre : 0.0;
    return V(not_eye(i) * w * V(-0.15 * p.x(), dy, 5.0));
  });
  add("lip_press", [&](int i) {
    if (!face(i)) return V::Zero().eval();
    const V& p = vs[i].anchor;
    const double line = MouthLineY(p.x());
    const double near_slit = std::exp(-std::pow((p.y() - line) / 5.0, 2));
    const double gap = MouthHalfGap(p.x()) * near_slit * (vs[i].mouth_side != 0);
    return V(0, UpperSide(vs[i]) ? -gap : gap,
             -2.5 * (LipWeight(p.x(), p.y()) + 0.3 * Bump(p.x(), 25, p.y() + 65, 8)));
  });
  add("mouth_left", [&](int i) { return V(not_eye(i) * 6.0 * Bump(vs[i].anchor.x(), 30, vs[i].anchor.y() + 65, 16), 0, 0); });
  add("mouth_right", [&](int i) { return V(-not_eye(i) * 6.0 * Bump(vs[i].anchor.x(), 30, vs[i].anchor.y() + 65, 16), 0, 0); });
  add("lower_lip_down", [&](int i) {
    if (!face(i) || UpperSide(vs[i])) return V::Zero().eval();
    const V& p = vs[i].anchor;
    return V(SmoothStep(27.0, 12.0, std::abs(p.x())) * Bump(0, 1, p.y() + 70, 7) * V(0, -4.5, 1.0));
  });
  add("upper_lip_up", [&](int i) {
    if (!face(i) || !UpperSide(vs[i])) return V::Zero().eval();
    const V& p = vs[i].anchor;
    return V(SmoothStep(27.0, 12.0, std::abs(p.x())) * Bump(0, 1, p.y() + 58, 8) * V(0, 3.5, 0.5));
  });
  add("cheek_puff", [&](int i) {
    const V& p = vs[i].anchor;
    return V(face(i) * vs[i].front_weight * 7.0 * Bump(std::abs(p.x()) - 38, 14, p.y() + 52, 14) * vs[i].base_normal);
  });
  add("nose_wrinkle", [&](int i) {
    if (!face(i)) return V::Zero().eval();
    const V& p = vs[i].anchor;
    return V(Bump(std::abs(p.x()) - 11, 8, p.y() + 30, 12) * V(Sign(p.x()) * 0.5, 2.5, 0) +
             (UpperSide(vs[i]) ? 1.0 : 0.0) * Bump(p.x(), 15, p.y() + 52, 8) * V(0, 1.0, 0));
  });
  for (int side : {1, -1}) {
    add(side > 0 ? "brow_raise_left" : "brow_raise_right", [&, side](int i) {
      if (!face(i)) return V::Zero().eval();
      const V& p = vs[i].anchor;
      const double w = Bump(p.x() - side * 32.0, 24, 0, 1) * SmoothStep(4, 16, p.y()) * SmoothStep(90, 50, p.y());
      return V(w * V(0, 6.0, 0.5));
    });
  }
  add("brow_inner_up", [&](int i) {
    if (!face(i)) return V::Zero().eval();
    const V& p = vs[i].anchor;
    return V(Bump(std::abs(p.x()) - 18, 11, p.y() - 18, 10) * SmoothStep(4, 12, p.y()) * V(0, 5.0, 0));
  });
  add("brow_frown", [&](int i) {
    if (!face(i)) return V::Zero().eval();
    const V& p = vs[i].anchor;
    return V(Bump(std::abs(p.x()) - 18, 12, p.y() - 16, 9) * SmoothStep(3, 10, p.y()) *
             V(-Sign(p.x()) * 3.0, -3.5, -0.5));
  });
  for (int eye : {1, 0}) {
    add(eye == 1 ? "eye_close_left" : "eye_close_right", [&, eye](int i) {
      auto meet = [&](int col) { return MeetPoint(mesh, eye, col); };
      return LidDelta(mesh, eye, i, meet, meet);
    });
  }
  auto lid_shift = [&](int eye, int i, double up_dy, double low_dy) {
    auto up = [&](int col) {
      return (vs[mesh.GridVertex(col, mesh.eye_row + 1)].position + V(0, up_dy, 0)).eval();
    };
    auto low = [&](int col) {
      return (vs[mesh.GridVertex(col, mesh.eye_row)].position + V(0, low_dy, 0)).eval();
    };
    return LidDelta(mesh, eye, i, up, low);
  };
  add("eye_wide", [&, lid_shift](int i) {
    return V(lid_shift(0, i, 2.5, -0.5) + lid_shift(1, i, 2.5, -0.5));
  });
  add("squint", [&, lid_shift](int i) {
    const V& p = vs[i].anchor;
    const double cheek = face(i) && vs[i].lid_side <= 0 && p.y() < 0.0
                             ? Bump(std::abs(p.x()) - 38, 14, p.y() + 20, 10) * SmoothStep(-2, -8, p.y())
                             : 0.0;
    return V(lid_shift(0, i, -1.0, 2.2) + lid_shift(1, i, -1.0, 2.2) + V(0, 2.0 * cheek, 0.5 * cheek));
  });
}

}  // namespace

void BuildExpressionModes(const SampleMesh& mesh, LinearBasis* expression) {
  const int n = static_cast<int>(mesh.vertices.size());
  std::vector<std::vector<Eigen::Vector3d>> columns;
  expression->names.clear();
  ForEachMode(mesh, [&](const char* name, const Field& field) {
    std::vector<Eigen::Vector3d> delta(n);
    for (int i = 0; i < n; ++i) delta[i] = field(i) / kSampleExpressionFullCoefficient;
    columns.push_back(std::move(delta));
    expression->names.push_back(name);
  });
  expression->basis.resize(3 * n, static_cast<Eigen::Index>(columns.size()));
  expression->stddev.resize(static_cast<Eigen::Index>(columns.size()));
  for (size_t k = 0; k < columns.size(); ++k) SetColumn(columns[k], static_cast<int>(k), expression);
}

}  // namespace morphfit::models::sample
