// Pixel and landmark Jacobians vs central differences in double (visibility held fixed: each
// checked pixel keeps its triangle), fused JᵀJ / Jᵀr vs the explicit rows, thread-count
// independence, and renderer invariances.
#include "morphfit/render/jacobian.h"

#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "morphfit/math/rotation.h"
#include "morphfit/models/sample_model.h"

namespace morphfit::render {
namespace {

const models::MorphableModel& Sample() {
  static const models::MorphableModel model = models::MakeSampleModel();
  return model;
}

// Random but plausible parameters: coefficients ~0.5 sigma, a turned head, coloured light.
FaceParams RandomParams(uint32_t seed, CameraType camera) {
  const auto& m = Sample();
  FaceParams p = FaceParams::Frontal(m.num_identity(), m.num_expression(), m.num_albedo(), 96, 96,
                                     400.0, 800.0);
  std::mt19937 gen(seed);
  std::normal_distribution<double> g(0.0, 0.5);
  for (auto* block : {&p.identity, &p.expression, &p.albedo}) {
    for (int i = 0; i < block->size(); ++i) (*block)[i] = g(gen);
  }
  for (int i = 0; i < kNumLighting; ++i) p.lighting[i] += 0.2 * g(gen);
  p.rotation = Eigen::Vector3d(M_PI - 0.15, 0.3, 0.05);
  p.translation = Eigen::Vector3d(3.0, -4.0, 800.0);
  p.camera = Eigen::Vector3d(400.0, 47.0, 48.5);
  if (camera == CameraType::kWeakPerspective) {
    p.camera_type = camera;
    p.camera = Eigen::Vector3d(0.5, 47.0, 48.5);
    p.translation.head<2>().setZero();
  }
  return p;
}

// Pixels well inside their triangles' neighbourhoods: same triangle id as all 4 neighbours.
std::vector<Eigen::Vector2i> InteriorPixels(const VisibilityBuffer& vis, int count) {
  std::vector<Eigen::Vector2i> out;
  for (int y = 2; y < vis.height - 2 && static_cast<int>(out.size()) < count; y += 7) {
    for (int x = 2; x < vis.width - 2 && static_cast<int>(out.size()) < count; x += 5) {
      const int i = y * vis.width + x;
      if (vis.triangle[i] < 0) continue;
      bool interior = true;
      for (int d : {-1, 1, -vis.width, vis.width}) interior &= vis.triangle[i + d] >= 0;
      if (interior) out.emplace_back(x, y);
    }
  }
  return out;
}

// Colour of pixel (x, y) of triangle f under flat parameters `flat` (double).
Eigen::Vector3d PixelColor(const FaceParams& base, const Eigen::VectorXd& flat, int f, int x, int y,
                           const RenderOptions& options) {
  FaceParams p = base;
  EXPECT_TRUE(p.SetFromFlat(flat).ok());
  auto g = ComputeGeometry<double>(Sample(), p, nullptr);
  EXPECT_TRUE(g.ok());
  double bary[3];
  math::PixelShading<double> s;
  ShadeTrianglePixel<double>(g.value(), Sample(), f, x, y, MakeSpecularParams<double>(options),
                             bary, &s);
  return {s.color[0], s.color[1], s.color[2]};
}

void CheckPixelJacobian(CameraType camera, double specular) {
  const FaceParams p = RandomParams(camera == CameraType::kPinhole ? 1 : 2, camera);
  RenderOptions options;
  options.specular_intensity = specular;
  auto r = Render(Sample(), p, options, nullptr);
  ASSERT_TRUE(r.ok());
  const auto pixels = InteriorPixels(r.value().visibility, 6);
  ASSERT_EQ(pixels.size(), 6u);
  const JacobianModel jm = MakeJacobianModel(Sample());
  auto rows = ComputePixelRows<double>(Sample(), jm, p, r.value().visibility, pixels, options,
                                       nullptr);
  ASSERT_TRUE(rows.ok());
  const Eigen::VectorXd flat = p.ToFlat();
  const std::vector<std::string> names = p.FlatNames();
  // Central differences, h = 1e-6 on parameters of size ~1 (sigma units, rad, px, mm):
  // truncation ~h² and rounding ~1e-16/h leave ~1e-9; colours are ~1 with derivatives up to
  // ~10 (lighting), so 1e-6 absolute + 1e-6 relative is tight yet safe.
  constexpr double kStep = 1e-6;
  for (size_t i = 0; i < pixels.size(); ++i) {
    const int x = pixels[i].x(), y = pixels[i].y();
    const int f = r.value().visibility.triangle[y * r.value().width + x];
    const Eigen::Vector3d c0 = PixelColor(p, flat, f, x, y, options);
    for (int ch = 0; ch < 3; ++ch) EXPECT_NEAR(rows.value().colors[3 * i + ch], c0[ch], 1e-12);
    for (int k = 0; k < flat.size(); ++k) {
      Eigen::VectorXd plus = flat, minus = flat;
      plus[k] += kStep;
      minus[k] -= kStep;
      const Eigen::Vector3d fd =
          (PixelColor(p, plus, f, x, y, options) - PixelColor(p, minus, f, x, y, options)) /
          (2 * kStep);
      for (int ch = 0; ch < 3; ++ch) {
        const double analytic = rows.value().jacobian(3 * i + ch, k);
        EXPECT_NEAR(analytic, fd[ch], 1e-6 + 1e-6 * std::fabs(fd[ch]))
            << names[k] << " pixel " << x << "," << y << " channel " << ch;
      }
    }
  }
}

TEST(PixelJacobianTest, EveryBlockMatchesCentralDifferencesPinhole) {
  CheckPixelJacobian(CameraType::kPinhole, 0.0);
}
TEST(PixelJacobianTest, EveryBlockMatchesCentralDifferencesWeakPerspectiveWithSpecular) {
  CheckPixelJacobian(CameraType::kWeakPerspective, 0.2);
}

TEST(LandmarkJacobianTest, MatchesCentralDifferences) {
  const FaceParams p = RandomParams(3, CameraType::kPinhole);
  auto rows = ComputeLandmarkRows(Sample(), p);
  ASSERT_TRUE(rows.ok());
  const Eigen::VectorXd flat = p.ToFlat();
  constexpr double kStep = 1e-6;
  auto uv = [&](const Eigen::VectorXd& v) {
    FaceParams q = p;
    EXPECT_TRUE(q.SetFromFlat(v).ok());
    return ComputeLandmarkRows(Sample(), q).value().uv;
  };
  for (int k = 0; k < flat.size(); ++k) {
    Eigen::VectorXd plus = flat, minus = flat;
    plus[k] += kStep;
    minus[k] -= kStep;
    const Eigen::Matrix2Xd fd = (uv(plus) - uv(minus)) / (2 * kStep);
    for (int l = 0; l < fd.cols(); ++l) {
      for (int a = 0; a < 2; ++a) {
        // Pixel positions ~50 px: rounding 1e-14 / h = 1e-8 px per unit.
        EXPECT_NEAR(rows.value().jacobian(2 * l + a, k), fd(a, l), 1e-5) << k << " " << l;
      }
    }
  }
}

TEST(FusedNormalEquationsTest, EqualsExplicitRowsAndIsThreadCountIndependent) {
  const FaceParams p = RandomParams(4, CameraType::kPinhole);
  RenderOptions options;
  auto r = Render(Sample(), p, options, nullptr);
  ASSERT_TRUE(r.ok());
  const VisibilityBuffer& vis = r.value().visibility;
  // Observed = rendered + deterministic perturbation; weights vary per pixel.
  std::vector<float> observed = r.value().image;
  std::vector<float> weights(vis.width * vis.height);
  for (size_t i = 0; i < observed.size(); ++i) observed[i] += 0.3f * std::sin(0.37f * i);
  for (size_t i = 0; i < weights.size(); ++i) weights[i] = 0.5f + 0.5f * std::cos(0.11f * i);
  const JacobianModel jm = MakeJacobianModel(Sample());
  std::vector<Eigen::Vector2i> all;
  for (int y = 0; y < vis.height; ++y) {
    for (int x = 0; x < vis.width; ++x) all.emplace_back(x, y);
  }
  auto rows = ComputePixelRows<double>(Sample(), jm, p, vis, all, options, nullptr);
  ASSERT_TRUE(rows.ok());
  for (RobustLoss loss : {RobustLoss::kNone, RobustLoss::kHuber, RobustLoss::kCauchy}) {
    PhotometricOptions po;
    po.loss = loss;
    po.loss_scale = 0.2;
    // Explicit: J_pᵀ diag(w_p * irls_p) J_p.
    const int P = static_cast<int>(rows.value().jacobian.cols());
    Eigen::MatrixXd jtj = Eigen::MatrixXd::Zero(P, P);
    Eigen::VectorXd jtr = Eigen::VectorXd::Zero(P);
    for (size_t i = 0; i < all.size(); ++i) {
      if (vis.triangle[i] < 0 || !(weights[i] > 0.0f)) continue;
      const auto J = rows.value().jacobian.middleRows(3 * i, 3);
      Eigen::Vector3d res;
      for (int c = 0; c < 3; ++c) res[c] = rows.value().colors[3 * i + c] - observed[3 * i + c];
      const double n = res.norm(), s = po.loss_scale;
      double irls = 1.0;
      if (loss == RobustLoss::kHuber) irls = n <= s ? 1.0 : s / n;
      if (loss == RobustLoss::kCauchy) irls = 1.0 / (1.0 + n * n / (s * s));
      jtj += weights[i] * irls * J.transpose() * J;
      jtr += weights[i] * irls * J.transpose() * res;
    }
    ThreadPool one(1), two(2);
    auto fused1 = AccumulatePhotometric(Sample(), jm, p, vis, observed.data(), weights.data(),
                                        options, po, &one);
    auto fused2 = AccumulatePhotometric(Sample(), jm, p, vis, observed.data(), weights.data(),
                                        options, po, &two);
    ASSERT_TRUE(fused1.ok());
    ASSERT_TRUE(fused2.ok());
    EXPECT_EQ(fused1.value().jtj, fused2.value().jtj);
    EXPECT_EQ(fused1.value().jtr, fused2.value().jtr);
    // float32 accumulation over ~3k pixels: relative error ~1e-5 of the largest entry.
    const double scale = jtj.cwiseAbs().maxCoeff();
    EXPECT_LT((fused1.value().jtj - jtj).cwiseAbs().maxCoeff(), 1e-4 * scale);
    EXPECT_LT((fused1.value().jtr - jtr).cwiseAbs().maxCoeff(), 1e-4 * jtr.cwiseAbs().maxCoeff());
    EXPECT_GT(fused1.value().num_pixels, 1000);
  }
}

// The fused path's own row generation (ring-combined shape columns, vectorised panels) on the
// other camera and with the specular term, against the explicit rows.
TEST(FusedNormalEquationsTest, EqualsExplicitRowsWeakPerspectiveWithSpecular) {
  const FaceParams p = RandomParams(7, CameraType::kWeakPerspective);
  RenderOptions options;
  options.specular_intensity = 0.2;
  auto r = Render(Sample(), p, options, nullptr);
  ASSERT_TRUE(r.ok());
  const VisibilityBuffer& vis = r.value().visibility;
  std::vector<float> observed = r.value().image;
  for (size_t i = 0; i < observed.size(); ++i) observed[i] += 0.2f * std::cos(0.23f * i);
  const JacobianModel jm = MakeJacobianModel(Sample());
  std::vector<Eigen::Vector2i> all;
  for (int y = 0; y < vis.height; ++y) {
    for (int x = 0; x < vis.width; ++x) all.emplace_back(x, y);
  }
  auto rows = ComputePixelRows<double>(Sample(), jm, p, vis, all, options, nullptr);
  ASSERT_TRUE(rows.ok());
  const int P = static_cast<int>(rows.value().jacobian.cols());
  Eigen::MatrixXd jtj = Eigen::MatrixXd::Zero(P, P);
  Eigen::VectorXd jtr = Eigen::VectorXd::Zero(P);
  for (size_t i = 0; i < all.size(); ++i) {
    if (vis.triangle[i] < 0) continue;
    const auto J = rows.value().jacobian.middleRows(3 * i, 3);
    Eigen::Vector3d res;
    for (int c = 0; c < 3; ++c) res[c] = rows.value().colors[3 * i + c] - observed[3 * i + c];
    jtj += J.transpose() * J;
    jtr += J.transpose() * res;
  }
  ThreadPool two(2);
  auto fused = AccumulatePhotometric(Sample(), jm, p, vis, observed.data(), nullptr, options,
                                     PhotometricOptions(), &two);
  ASSERT_TRUE(fused.ok());
  EXPECT_GT(fused.value().num_pixels, 1000);
  EXPECT_LT((fused.value().jtj - jtj).cwiseAbs().maxCoeff(), 1e-4 * jtj.cwiseAbs().maxCoeff());
  EXPECT_LT((fused.value().jtr - jtr).cwiseAbs().maxCoeff(), 1e-4 * jtr.cwiseAbs().maxCoeff());
}

TEST(RendererInvarianceTest, RotatingModelAndCameraTogetherKeepsTheImage) {
  // Model' = Q * model (every vertex and basis direction), camera_from_model' = R Qᵀ.
  models::MorphableModel rotated = Sample();
  const Eigen::Vector3d q_axis(0.2, -0.5, 0.3);
  double Q[9];
  math::AxisAngleToRotation(q_axis.data(), Q);
  const Eigen::Map<const Eigen::Matrix<double, 3, 3, Eigen::RowMajor>> Qm(Q);
  const Eigen::Matrix3f Qf = Qm.cast<float>();
  auto rotate_rows = [&](auto& m) {
    for (Eigen::Index v = 0; v < m.rows() / 3; ++v) m.middleRows(3 * v, 3) = Qf * m.middleRows(3 * v, 3);
  };
  Eigen::MatrixXf mean = rotated.shape_mean;
  rotate_rows(mean);
  rotated.shape_mean = mean;
  rotate_rows(rotated.identity.basis);
  rotate_rows(rotated.expression.basis);
  FaceParams p = RandomParams(5, CameraType::kPinhole);
  auto a = Render(Sample(), p, {}, nullptr);
  double R[9];
  math::AxisAngleToRotation(p.rotation.data(), R);
  const Eigen::Map<const Eigen::Matrix<double, 3, 3, Eigen::RowMajor>> Rm(R);
  const Eigen::Matrix<double, 3, 3, Eigen::RowMajor> R2 = Rm * Qm.transpose();
  math::RotationToAxisAngle(R2.data(), p.rotation.data());
  auto b = Render(rotated, p, {}, nullptr);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  // Float rounding moves a few silhouette pixels; the shared pixels agree to ~1e-4.
  int differ = 0, both = 0;
  double worst = 0.0;
  for (size_t i = 0; i < a.value().mask.size(); ++i) {
    if (a.value().mask[i] != b.value().mask[i]) ++differ;
    if (a.value().mask[i] && b.value().mask[i]) {
      ++both;
      for (int c = 0; c < 3; ++c) {
        worst = std::max(worst, static_cast<double>(std::fabs(a.value().image[3 * i + c] -
                                                              b.value().image[3 * i + c])));
      }
    }
  }
  EXPECT_GT(both, 1000);
  EXPECT_LE(differ, 5);
  EXPECT_LT(worst, 1e-3);
}

TEST(RendererInvarianceTest, FarPinholeConvergesToWeakPerspective) {
  FaceParams weak = RandomParams(6, CameraType::kWeakPerspective);
  auto w = Render(Sample(), weak, {}, nullptr);
  ASSERT_TRUE(w.ok());
  int previous_differ = 1 << 30;
  for (double distance : {2e3, 2e4, 2e5}) {
    FaceParams pin = weak;
    pin.camera_type = CameraType::kPinhole;
    pin.translation = Eigen::Vector3d(0.0, 0.0, distance);
    pin.camera = Eigen::Vector3d(weak.camera[0] * distance, weak.camera[1], weak.camera[2]);
    auto r = Render(Sample(), pin, {}, nullptr);
    ASSERT_TRUE(r.ok());
    int differ = 0;
    for (size_t i = 0; i < r.value().mask.size(); ++i) differ += r.value().mask[i] != w.value().mask[i];
    EXPECT_LE(differ, previous_differ);
    previous_differ = differ;
  }
  EXPECT_LE(previous_differ, 3);
}

}  // namespace
}  // namespace morphfit::render
