// The sample model's mesh: a (longitude x height) grid over the base surface with the eye
// fissures and the mouth slit cut as gaps between two consecutive grid rows (whose heights
// follow the lid and lip curves in those columns, the corners merged into one vertex), plus
// the two eyeballs and the dark mouth-interior sheet behind the lips.
#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include <glog/logging.h>

#include "sample_internal.h"

namespace morphfit::models::sample {
namespace {

// Samples [a, b] with a local step of 1 / density(x) (density = samples per unit of x, e.g. arc
// length per unit of x over the wanted spacing in mm): returns the points after `a`, the last
// one exactly b.
std::vector<double> SampleSegment(double a, double b,
                                  const std::function<double(double)>& density) {
  constexpr int kTable = 400;
  std::vector<double> cumulative(kTable + 1, 0.0);
  for (int i = 0; i < kTable; ++i) {
    const double x = a + (b - a) * (i + 0.5) / kTable;
    cumulative[i + 1] = cumulative[i] + density(x) * (b - a) / kTable;
  }
  const int n = std::max(1, static_cast<int>(std::lround(cumulative[kTable])));
  std::vector<double> out;
  int i = 0;
  for (int k = 1; k < n; ++k) {
    const double target = cumulative[kTable] * k / n;
    while (cumulative[i + 1] < target) ++i;
    const double f = (target - cumulative[i]) / (cumulative[i + 1] - cumulative[i]);
    out.push_back(a + (b - a) * (i + f) / kTable);
  }
  out.push_back(b);
  return out;
}

double PiecewiseLinear(const std::vector<std::pair<double, double>>& knots, double x) {
  if (x <= knots.front().first) return knots.front().second;
  for (size_t i = 0; i + 1 < knots.size(); ++i) {
    if (x <= knots[i + 1].first) {
      const double f = (x - knots[i].first) / (knots[i + 1].first - knots[i].first);
      return knots[i].second + f * (knots[i + 1].second - knots[i].second);
    }
  }
  return knots.back().second;
}

// Column longitudes, symmetric about 0, with columns exactly at the canthi and mouth corners;
// ~1.9 mm apart over the front, widening to ~5 mm on the sides.
std::vector<double> MakeColumns(double* eye_inner, double* mouth_corner, double* eye_outer) {
  *eye_inner = LongitudeForX(kEyeInnerX, kEyeInnerY);
  *mouth_corner = LongitudeForX(kMouthHalfWidth, kMouthCornerY);
  *eye_outer = LongitudeForX(kEyeOuterX, kEyeOuterY);
  auto arc_rate = [](double lambda) {  // mm of surface per radian at eye height
    return (BasePoint(lambda + 1e-4, 0.0) - BasePoint(lambda - 1e-4, 0.0)).norm() / 2e-4;
  };
  // Arc length from the midline, tabulated, to express the spacing as a function of it.
  std::vector<double> arc_table(201, 0.0);
  for (int i = 0; i < 200; ++i) {
    arc_table[i + 1] = arc_table[i] + arc_rate(kMaxLongitude * (i + 0.5) / 200) * kMaxLongitude / 200;
  }
  auto density = [&](double lambda) {
    const double f = std::clamp(lambda / kMaxLongitude * 200.0, 0.0, 199.999);
    const int i = static_cast<int>(f);
    const double s = arc_table[i] + (f - i) * (arc_table[i + 1] - arc_table[i]);
    const double spacing = PiecewiseLinear({{0, 1.9}, {56, 1.9}, {90, 5.5}}, s);
    return arc_rate(lambda) / spacing;
  };
  std::vector<double> positive;
  double start = 0.0;
  for (double knot : {*eye_inner, *mouth_corner, *eye_outer, kMaxLongitude}) {
    for (double l : SampleSegment(start, knot, density)) positive.push_back(l);
    start = knot;
  }
  std::vector<double> cols;
  for (auto it = positive.rbegin(); it != positive.rend(); ++it) cols.push_back(-*it);
  cols.push_back(0.0);
  for (double l : positive) cols.push_back(l);
  return cols;
}

// Row heights: 1.4 mm around the eyes, 1.5 mm over the lips, 1.9 mm between, 3+ mm on the
// upper forehead and under the chin.
std::vector<double> MakeRows(double bottom) {
  const std::vector<std::pair<double, double>> spacing = {
      {-140, 3.6}, {-86, 3.6}, {-80, 1.5}, {-50, 1.5}, {-46, 2.0}, {-16, 2.0}, {-13, 1.4},
      {14, 1.4}, {17, 2.0}, {24, 2.0}, {36, 3.8}, {100, 3.8}};
  std::vector<double> rows = {bottom};
  for (double g : SampleSegment(bottom, kTopY,
                                [&](double g) { return 1.0 / PiecewiseLinear(spacing, g); })) {
    rows.push_back(g);
  }
  return rows;
}

int NearestRow(const std::vector<double>& rows, double y) {
  int best = 0;
  for (int i = 1; i < static_cast<int>(rows.size()); ++i) {
    if (std::abs(rows[i] - y) < std::abs(rows[best] - y)) best = i;
  }
  return best;
}

int ColumnOf(const std::vector<double>& cols, double lambda) {
  for (int i = 0; i < static_cast<int>(cols.size()); ++i) {
    if (cols[i] == lambda) return i;
  }
  LOG(FATAL) << "knot column missing";
  return -1;
}

// Rows pulled onto two curve heights (rows `lower` and lower + 1) in a column; `m_lo` rows
// below and `m_up` rows above blend linearly back to the undisturbed heights.
void WarpRows(const std::vector<double>& rows, int lower, int m_lo, int m_up, double h_low,
              double h_up, std::vector<double>* v) {
  for (int k = lower - m_lo; k <= lower; ++k) {
    const double f = static_cast<double>(k - (lower - m_lo)) / m_lo;
    (*v)[k] = rows[lower - m_lo] + f * (h_low - rows[lower - m_lo]);
  }
  for (int k = lower + 1; k <= lower + 1 + m_up; ++k) {
    const double f = static_cast<double>(k - lower - 1) / m_up;
    (*v)[k] = h_up + f * (rows[lower + 1 + m_up] - h_up);
  }
}

constexpr double kStretchTop = -80.0;  // rows below this stretch per column to MinV(lambda)

}  // namespace

int SampleMesh::EyeOfColumn(int col) const {
  for (int e = 0; e < 2; ++e) {
    const int a = std::min(eye_cols[e][0], eye_cols[e][1]);
    const int b = std::max(eye_cols[e][0], eye_cols[e][1]);
    if (col >= a && col <= b) return e;
  }
  return -1;
}

SampleMesh BuildSampleMesh() {
  SampleMesh mesh;
  double l_eye_inner, l_mouth, l_eye_outer;
  const std::vector<double> cols = MakeColumns(&l_eye_inner, &l_mouth, &l_eye_outer);
  const double bottom = MinV(0.0);
  const std::vector<double> rows = MakeRows(bottom);
  mesh.num_cols = static_cast<int>(cols.size());
  mesh.num_rows = static_cast<int>(rows.size());
  mesh.center_col = mesh.num_cols / 2;
  mesh.eye_row = NearestRow(rows, 0.5 * (kEyeInnerY + kEyeOuterY) - 0.7);
  mesh.mouth_row = NearestRow(rows, kMouthCornerY - 0.75);
  mesh.eye_cols[0][0] = ColumnOf(cols, -l_eye_outer);
  mesh.eye_cols[0][1] = ColumnOf(cols, -l_eye_inner);
  mesh.eye_cols[1][0] = ColumnOf(cols, l_eye_outer);
  mesh.eye_cols[1][1] = ColumnOf(cols, l_eye_inner);
  mesh.mouth_cols[0] = ColumnOf(cols, -l_mouth);
  mesh.mouth_cols[1] = ColumnOf(cols, l_mouth);
  mesh.eyes[0] = MakeEyeFrame(0);
  mesh.eyes[1] = MakeEyeFrame(1);

  // ---- face grid ----
  mesh.grid_ids.assign(mesh.num_cols * mesh.num_rows, -1);
  for (int c = 0; c < mesh.num_cols; ++c) {
    const double lambda = cols[c];
    std::vector<double> v = rows;
    const double min_v = MinV(lambda);
    for (int r = 0; r < mesh.num_rows; ++r) {
      if (rows[r] < kStretchTop) {
        v[r] = kStretchTop + (rows[r] - kStretchTop) * (kStretchTop - min_v) / (kStretchTop - bottom);
      }
    }
    const int eye = mesh.EyeOfColumn(c);
    const bool eye_corner = eye >= 0 && (c == mesh.eye_cols[eye][0] || c == mesh.eye_cols[eye][1]);
    if (eye >= 0) {
      double t = EyeT(std::abs(BasePoint(lambda, kEyeCenterY).x()));
      if (c == mesh.eye_cols[eye][0]) t = 0.0;
      if (c == mesh.eye_cols[eye][1]) t = 1.0;
      WarpRows(rows, mesh.eye_row, 6, 6, LowerLidY(t), UpperLidY(t), &v);
    }
    const bool mouth = mesh.IsMouthColumn(c);
    const bool mouth_corner = c == mesh.mouth_cols[0] || c == mesh.mouth_cols[1];
    if (mouth) {
      double x = BasePoint(lambda, kMouthCornerY).x();
      if (mouth_corner) x = Sign(x) * kMouthHalfWidth;
      WarpRows(rows, mesh.mouth_row, 5, 5, MouthLineY(x) - MouthHalfGap(x),
               MouthLineY(x) + MouthHalfGap(x), &v);
    }
    for (int r = 0; r < mesh.num_rows; ++r) {
      // The corners of a fissure or the slit are one vertex shared by both margins.
      if ((eye_corner && r == mesh.eye_row + 1) || (mouth_corner && r == mesh.mouth_row + 1)) {
        mesh.grid_ids[c * mesh.num_rows + r] = mesh.grid_ids[c * mesh.num_rows + r - 1];
        continue;
      }
      SampleVertex vx;
      vx.part = Part::kFace;
      vx.col = c;
      vx.row = r;
      vx.lambda = lambda;
      vx.v = v[r];
      const Eigen::Vector3d base = BasePoint(lambda, v[r]);
      vx.base_xy = base.head<2>();
      vx.base_normal = BaseNormal(lambda, v[r]);
      vx.front_weight = SmoothStep(-0.2, 0.5, vx.base_normal.z());
      vx.features = EvaluateFeatures(base.x(), base.y());
      vx.position = base + vx.front_weight * vx.features.Sum() * vx.base_normal;
      if (eye >= 0) vx.lid_side = r > mesh.eye_row ? 1 : -1;
      if (mouth) vx.mouth_side = r > mesh.mouth_row ? 1 : -1;
      vx.eye = base.x() < 0 ? 0 : 1;
      const EyeFrame& frame = mesh.eyes[vx.eye];
      vx.lid_blend = LidBlendWeight(frame, vx.position.x(), vx.position.y());
      if (vx.lid_blend > 0) {
        const double shell = EyeShellZ(frame, vx.position.x(), vx.position.y(), kLidThickness);
        vx.position.z() += vx.lid_blend * (shell - vx.position.z());
      }
      vx.anchor = vx.position;
      vx.uv = Eigen::Vector2d(0.01 + 0.78 * (lambda + kMaxLongitude) / (2 * kMaxLongitude),
                              0.01 + 0.98 * (v[r] - bottom) / (kTopY - bottom));
      mesh.grid_ids[c * mesh.num_rows + r] = static_cast<int>(mesh.vertices.size());
      mesh.vertices.push_back(vx);
    }
  }
  for (int c = 0; c + 1 < mesh.num_cols; ++c) {
    const int eye = mesh.EyeOfColumn(c) >= 0 && mesh.EyeOfColumn(c + 1) == mesh.EyeOfColumn(c)
                        ? mesh.EyeOfColumn(c)
                        : -1;
    const bool mouth = mesh.IsMouthColumn(c) && mesh.IsMouthColumn(c + 1);
    for (int r = 0; r + 1 < mesh.num_rows; ++r) {
      if ((eye >= 0 && r == mesh.eye_row) || (mouth && r == mesh.mouth_row)) continue;  // gap
      const int v00 = mesh.GridVertex(c, r), v10 = mesh.GridVertex(c + 1, r);
      const int v01 = mesh.GridVertex(c, r + 1), v11 = mesh.GridVertex(c + 1, r + 1);
      // One diagonal direction everywhere: a mirrored triangulation would bias the vertex
      // normals on the midline (4 triangles above, 2 below) and show a crease in shading.
      const Eigen::Vector3i t[2] = {{v00, v10, v11}, {v00, v11, v01}};
      for (const auto& tri : t) {
        if (tri[0] != tri[1] && tri[1] != tri[2] && tri[0] != tri[2]) mesh.triangles.push_back(tri);
      }
    }
  }

  // ---- eyeballs: rings of constant 2D radius (pupil and iris edges on rings), circular in
  // the front and following the ellipsoid's outline towards the rim, plus a skirt behind ----
  const std::vector<double> ring_radii = {0.0, 0.7, 1.4, 1.9, 2.3, 3.2, 4.1, 5.0, 5.7,
                                          6.2, 7.3, 8.5, 9.7, 10.8, 11.7, 12.3, 12.5};
  constexpr int kAzimuth = 28;
  constexpr double kPi = 3.14159265358979323846;
  for (int e = 0; e < 2; ++e) {
    const Eigen::Vector3d c = mesh.eyes[e].center;
    const int first = static_cast<int>(mesh.vertices.size());
    const Eigen::Vector2d uv0(0.81, e == 0 ? 0.62 : 0.81);
    for (size_t k = 0; k < ring_radii.size(); ++k) {
      const int n_az = k == 0 ? 1 : kAzimuth;
      for (int a = 0; a < n_az; ++a) {
        const double phi = 2 * kPi * a / kAzimuth;
        const double rho = ring_radii[k];
        const double s = rho / kEyeballAy;
        const double ellipse = 1.0 / std::sqrt(std::pow(std::cos(phi) / kEyeballAx, 2) +
                                               std::pow(std::sin(phi) / kEyeballAy, 2));
        const double b = SmoothStep(6.5 / kEyeballAy, 1.0, s);
        const double r2d = s * (kEyeballAy * (1 - b) + ellipse * b);
        double x = r2d * std::cos(phi), y = r2d * std::sin(phi);
        const double q = std::min(1.0, std::pow(x / kEyeballAx, 2) + std::pow(y / kEyeballAy, 2));
        double z = kEyeballAz * std::sqrt(1.0 - q);
        if (rho < 6.4) z += 0.9 * std::pow(1.0 - std::pow(rho / 6.4, 2), 2);  // cornea
        if (k + 1 == ring_radii.size()) {
          // Skirt: a backing cup behind the ball, widest toward the nose, so that oblique
          // views through the fissure at the inner canthus hit it instead of seeing through.
          const double inward = std::max(0.0, (e == 0 ? 1.0 : -1.0) * std::cos(phi));
          x *= 1.15 + 0.35 * inward;
          y *= 1.15;
          z = -4.0;
        }
        SampleVertex vx;
        vx.part = Part::kEyeball;
        vx.eye = e;
        vx.ring = rho;
        vx.position = c + Eigen::Vector3d(x, y, z);
        // Modes move each eyeball point like the lid surface in front of it, so the ball
        // stays seated in the fissure (a rigid ball would poke through at the canthi).
        const double fx = vx.position.x(), fy = vx.position.y();
        vx.anchor = Eigen::Vector3d(fx, fy, EyeShellZ(mesh.eyes[e], fx, fy, kLidThickness));
        vx.base_xy = vx.anchor.head<2>();
        vx.base_normal = BaseNormal(LongitudeForX(fx, fy), fy);
        vx.front_weight = SmoothStep(-0.2, 0.5, vx.base_normal.z());
        vx.features = EvaluateFeatures(fx, fy);
        vx.uv = uv0 + 0.09 * Eigen::Vector2d(1 + std::clamp(x / kEyeballAx, -1.0, 1.0),
                                             1 + std::clamp(y / kEyeballAy, -1.0, 1.0));
        mesh.vertices.push_back(vx);
      }
    }
    for (int a = 0; a < kAzimuth; ++a) {
      const int a1 = (a + 1) % kAzimuth;
      mesh.triangles.push_back({first, first + 1 + a, first + 1 + a1});
      for (size_t k = 1; k + 1 < ring_radii.size(); ++k) {
        const int in = first + 1 + static_cast<int>(k - 1) * kAzimuth;
        const int out = in + kAzimuth;
        mesh.triangles.push_back({in + a, out + a, out + a1});
        mesh.triangles.push_back({in + a, out + a1, in + a1});
      }
    }
  }

  // ---- mouth interior: a sheet curving back behind the lips (its lower part follows the
  // jaw in the expression modes) ----
  {
    const double z_slit = mesh.vertices[mesh.GridVertex(mesh.center_col, mesh.mouth_row)].position.z();
    constexpr int kNx = 17, kNy = 12;
    const int first = static_cast<int>(mesh.vertices.size());
    for (int j = 0; j < kNy; ++j) {
      for (int i = 0; i < kNx; ++i) {
        const double x = -29.0 + 58.0 * i / (kNx - 1);
        const double y = -86.0 + 32.0 * j / (kNy - 1);
        SampleVertex vx;
        vx.part = Part::kMouthInterior;
        vx.ring = static_cast<double>(j) / (kNy - 1);
        vx.position = Eigen::Vector3d(x, y, z_slit - 9.0 - 0.018 * x * x - 0.008 * std::pow(y + 65, 2));
        vx.anchor = Eigen::Vector3d(x, y, z_slit);
        vx.base_xy = vx.anchor.head<2>();
        vx.features = EvaluateFeatures(x, y);
        vx.uv = Eigen::Vector2d(0.81 + 0.18 * i / (kNx - 1), 0.30 + 0.28 * j / (kNy - 1));
        mesh.vertices.push_back(vx);
      }
    }
    for (int j = 0; j + 1 < kNy; ++j) {
      for (int i = 0; i + 1 < kNx; ++i) {
        const int v00 = first + j * kNx + i;
        mesh.triangles.push_back({v00, v00 + 1, v00 + kNx + 1});
        mesh.triangles.push_back({v00, v00 + kNx + 1, v00 + kNx});
      }
    }
  }

  // ---- mean-shape vertex normals (area weighted) ----
  mesh.normals.assign(mesh.vertices.size(), Eigen::Vector3d::Zero());
  for (const auto& t : mesh.triangles) {
    const Eigen::Vector3d& a = mesh.vertices[t[0]].position;
    const Eigen::Vector3d n = (mesh.vertices[t[1]].position - a).cross(mesh.vertices[t[2]].position - a);
    for (int k = 0; k < 3; ++k) mesh.normals[t[k]] += n;
  }
  for (auto& n : mesh.normals) n = n.norm() > 0 ? n.normalized() : Eigen::Vector3d::UnitZ();
  VLOG(1) << "sample mesh: " << mesh.vertices.size() << " vertices, " << mesh.triangles.size()
          << " triangles (" << mesh.num_cols << " x " << mesh.num_rows << " grid)";
  return mesh;
}

}  // namespace morphfit::models::sample
