// Annotations of the sample model: the 68 iBUG landmarks (lid and lip landmarks are vertices
// on the fissure / slit margins, upper and lower partners in the same grid column), the 17
// jaw-contour candidate lines, the face and skin masks.
#include <cmath>
#include <limits>
#include <vector>

#include <glog/logging.h>

#include "sample_internal.h"

namespace morphfit::models::sample {
namespace {

// Face vertex nearest to (x, y) in the frontal projection among the front-facing ones that
// pass `accept`.
template <typename Accept>
int NearestFront(const SampleMesh& mesh, double x, double y, Accept accept) {
  int best = -1;
  double best_d = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < mesh.vertices.size(); ++i) {
    const SampleVertex& v = mesh.vertices[i];
    if (v.part != Part::kFace || std::abs(v.lambda) > 1.0 || mesh.normals[i].z() < -0.2) continue;
    if (!accept(v)) continue;
    const double d = std::hypot(v.position.x() - x, v.position.y() - y);
    if (d < best_d) {
      best_d = d;
      best = static_cast<int>(i);
    }
  }
  CHECK_GE(best, 0) << "no vertex near (" << x << ", " << y << ")";
  return best;
}

int NearestFront(const SampleMesh& mesh, double x, double y) {
  return NearestFront(mesh, x, y, [](const SampleVertex&) { return true; });
}

// Grid column among [a, b] (either order) whose vertex on `row` is nearest to x.
int ColumnNearestX(const SampleMesh& mesh, int a, int b, int row, double x) {
  if (a > b) std::swap(a, b);
  int best = a;
  for (int c = a; c <= b; ++c) {
    const double d = std::abs(mesh.vertices[mesh.GridVertex(c, row)].position.x() - x);
    if (d < std::abs(mesh.vertices[mesh.GridVertex(best, row)].position.x() - x)) best = c;
  }
  return best;
}

// Whether a face vertex is on the front or the jaw's rounding, not on the under-chin flap.
bool AboveFlap(const SampleVertex& v) {
  return v.v >= JawLineY(v.lambda) + kJawRoundRadius * (1.0 - 3.14159265358979 / 2);
}

// The eye's six landmarks: outer corner, two upper-lid points, inner corner, two lower-lid
// points, in iBUG order for that side (the -x eye starts at its outer corner, the +x eye at
// its inner one). Upper and lower partners share a column, so closing lids meet exactly.
void EyeLandmarks(const SampleMesh& mesh, int eye, std::vector<int>* lm) {
  const int outer = mesh.eye_cols[eye][0], inner = mesh.eye_cols[eye][1];
  const int low = mesh.eye_row, up = mesh.eye_row + 1;
  const double x_outer = mesh.vertices[mesh.GridVertex(outer, low)].position.x();
  const double x_inner = mesh.vertices[mesh.GridVertex(inner, low)].position.x();
  const int first = eye == 0 ? outer : inner;
  const int last = eye == 0 ? inner : outer;
  const double x_first = eye == 0 ? x_outer : x_inner;
  const double x_last = eye == 0 ? x_inner : x_outer;
  const int c1 = ColumnNearestX(mesh, outer, inner, up, x_first + (x_last - x_first) / 3.0);
  const int c2 = ColumnNearestX(mesh, outer, inner, up, x_first + 2.0 * (x_last - x_first) / 3.0);
  lm->push_back(mesh.GridVertex(first, low));
  lm->push_back(mesh.GridVertex(c1, up));
  lm->push_back(mesh.GridVertex(c2, up));
  lm->push_back(mesh.GridVertex(last, low));
  lm->push_back(mesh.GridVertex(c2, low));
  lm->push_back(mesh.GridVertex(c1, low));
}

std::vector<int> MakeLandmarks(const SampleMesh& mesh) {
  std::vector<int> lm;
  // 0-16 jaw: frontal silhouette, sides at fixed heights, the lower border at fixed x.
  const double side_y[5] = {-8.0, -26.0, -43.0, -58.0, -71.0};
  const double bottom_x[3] = {45.0, 33.0, 17.0};
  auto side_point = [&](double sign, double y) {
    int best = -1;
    for (size_t i = 0; i < mesh.vertices.size(); ++i) {
      const SampleVertex& v = mesh.vertices[i];
      if (v.part != Part::kFace || std::abs(v.position.y() - y) > 1.6 || !AboveFlap(v)) continue;
      if (best < 0 || sign * v.position.x() > sign * mesh.vertices[best].position.x()) {
        best = static_cast<int>(i);
      }
    }
    return best;
  };
  auto bottom_point = [&](double x) {
    int best = -1;
    for (size_t i = 0; i < mesh.vertices.size(); ++i) {
      const SampleVertex& v = mesh.vertices[i];
      if (v.part != Part::kFace || std::abs(v.position.x() - x) > 1.2) continue;
      if (best < 0 || v.position.y() < mesh.vertices[best].position.y()) best = static_cast<int>(i);
    }
    return best;
  };
  for (double y : side_y) lm.push_back(side_point(-1.0, y));
  for (double x : bottom_x) lm.push_back(bottom_point(-x));
  lm.push_back(bottom_point(0.0));
  for (int k = 2; k >= 0; --k) lm.push_back(bottom_point(bottom_x[k]));
  for (int k = 4; k >= 0; --k) lm.push_back(side_point(1.0, side_y[k]));
  // 17-26 brows, image left to right.
  for (double x : {-52.0, -43.0, -34.0, -25.0, -17.0, 17.0, 25.0, 34.0, 43.0, 52.0}) {
    lm.push_back(NearestFront(mesh, x, BrowCenterY(std::abs(x)) + 1.0));
  }
  // 27-30 nose bridge to tip (the tip is the most protruding midline vertex), 31-35 base.
  const int cc = mesh.center_col;
  auto midline = [&](double y) {
    int best = mesh.GridVertex(cc, 0);
    for (int r = 0; r < mesh.num_rows; ++r) {
      const int id = mesh.GridVertex(cc, r);
      if (std::abs(mesh.vertices[id].position.y() - y) < std::abs(mesh.vertices[best].position.y() - y)) best = id;
    }
    return best;
  };
  lm.push_back(midline(2.0));
  lm.push_back(midline(-8.0));
  lm.push_back(midline(-19.0));
  int tip = midline(-30.0);
  for (int r = 0; r < mesh.num_rows; ++r) {
    const int id = mesh.GridVertex(cc, r);
    const double y = mesh.vertices[id].position.y();
    if (y > -45 && y < -15 && mesh.vertices[id].position.z() > mesh.vertices[tip].position.z()) tip = id;
  }
  lm.push_back(tip);
  lm.push_back(NearestFront(mesh, -13.5, -41.5));
  lm.push_back(NearestFront(mesh, -6.5, -43.5));
  lm.push_back(midline(-45.0));
  lm.push_back(NearestFront(mesh, 6.5, -43.5));
  lm.push_back(NearestFront(mesh, 13.5, -41.5));
  // 36-47 eyes.
  EyeLandmarks(mesh, 0, &lm);
  EyeLandmarks(mesh, 1, &lm);
  // 48-59 outer lip contour: corners just outside the slit's end, vermilion borders.
  const int low = mesh.mouth_row, up = mesh.mouth_row + 1;
  auto upper_lip = [&](double x) {
    return NearestFront(mesh, x, UpperVermilionY(x), [](const SampleVertex& v) { return v.mouth_side > 0; });
  };
  auto lower_lip = [&](double x) {
    return NearestFront(mesh, x, LowerVermilionY(x), [](const SampleVertex& v) { return v.mouth_side < 0; });
  };
  lm.push_back(mesh.GridVertex(mesh.mouth_cols[0] - 1, low));
  for (double x : {-16.0, -6.5, 0.0, 6.5, 16.0}) lm.push_back(upper_lip(x));
  lm.push_back(mesh.GridVertex(mesh.mouth_cols[1] + 1, low));
  for (double x : {16.0, 8.0, 0.0, -8.0, -16.0}) lm.push_back(lower_lip(x));
  // 60-67 inner lip contour: slit corners and margin vertices, partners in one column.
  const int cl = ColumnNearestX(mesh, mesh.mouth_cols[0], cc, low, -12.0);
  const int cr = ColumnNearestX(mesh, cc, mesh.mouth_cols[1], low, 12.0);
  lm.push_back(mesh.GridVertex(mesh.mouth_cols[0], low));
  lm.push_back(mesh.GridVertex(cl, up));
  lm.push_back(mesh.GridVertex(cc, up));
  lm.push_back(mesh.GridVertex(cr, up));
  lm.push_back(mesh.GridVertex(mesh.mouth_cols[1], low));
  lm.push_back(mesh.GridVertex(cr, low));
  lm.push_back(mesh.GridVertex(cc, low));
  lm.push_back(mesh.GridVertex(cl, low));
  CHECK_EQ(lm.size(), static_cast<size_t>(kNumLandmarks));
  for (int id : lm) CHECK_GE(id, 0);
  return lm;
}

// For each jaw landmark, the vertices at its height from the front toward the side of the
// head: per grid column outward, the front/jaw-rounding vertex whose y is nearest the
// landmark's (so lines below the jaw angle follow the jaw's lower border). The chin line
// runs down the midline and under the chin.
std::vector<std::vector<int>> MakeContours(const SampleMesh& mesh, const std::vector<int>& lm) {
  std::vector<std::vector<int>> lines(kNumJawLandmarks);
  for (int k = 0; k < kNumJawLandmarks; ++k) {
    const SampleVertex& anchor = mesh.vertices[lm[k]];
    std::vector<int>& line = lines[k];
    if (k == 8) {
      for (int r = mesh.num_rows - 1; r >= 0; --r) {
        const int id = mesh.GridVertex(mesh.center_col, r);
        if (mesh.vertices[id].position.y() < -85.0) line.push_back(id);
      }
      continue;
    }
    const int dir = k < 8 ? -1 : 1;
    const double y = anchor.position.y();
    // Start a little in front of the landmark: at |x| = 35 for the sides, 3 columns medial
    // of it on the jaw's lower border.
    int start = anchor.col - 3 * dir;
    if (k <= 4 || k >= 12) {
      start = mesh.center_col;
      while (std::abs(mesh.vertices[mesh.GridVertex(start, mesh.num_rows / 2)].position.x()) < 35.0) start += dir;
    }
    for (int c = start; c >= 0 && c < mesh.num_cols; c += dir) {
      int best = -1;
      for (int r = 0; r < mesh.num_rows; ++r) {
        const int id = mesh.GridVertex(c, r);
        const SampleVertex& v = mesh.vertices[id];
        if (!AboveFlap(v)) continue;
        if (best < 0 || std::abs(v.position.y() - y) < std::abs(mesh.vertices[best].position.y() - y)) best = id;
      }
      if (best >= 0 && (line.empty() || line.back() != best)) line.push_back(best);
    }
  }
  return lines;
}

}  // namespace

void AddAnnotations(const SampleMesh& mesh, MorphableModel* model) {
  model->landmarks = MakeLandmarks(mesh);
  model->contour_candidates = MakeContours(mesh, model->landmarks);
  const size_t n = mesh.vertices.size();
  model->face_mask.assign(n, 0);
  model->skin_mask.assign(n, 0);
  for (size_t i = 0; i < n; ++i) {
    const SampleVertex& v = mesh.vertices[i];
    if (v.part != Part::kFace) continue;
    const bool face = v.position.y() <= kHairlineY + 2.0 && std::abs(v.lambda) <= 1.35 && AboveFlap(v);
    if (!face) continue;
    model->face_mask[i] = 1;
    const double x = v.base_xy.x(), y = v.base_xy.y();
    const bool lid_margin = v.lid_blend > 0.97 && std::abs(y) < 8.0;
    const bool nostril = v.features.nostril < -0.8;
    if (BrowWeight(x, y) < 0.3 && LipWeight(x, y) < 0.3 && !lid_margin && !nostril) {
      model->skin_mask[i] = 1;
    }
  }
}

}  // namespace morphfit::models::sample
