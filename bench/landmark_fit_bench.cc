// One contour-aware landmark fit (68 points, default schedule: pose -> identity + expression ->
// all, focal estimated) on one core: a BFM-size random model (53,490 vertices, 80 identity /
// 64 expression modes; MakeRandomModel's landmarks are scattered vertices of its curved sheet,
// so this benchmark gives it 17 contour lines: from each jaw landmark 24 grid vertices along
// its row, away from the sheet's centre) and the sample face (51 / 23 modes, its own contour
// lines). Targets: the silhouette landmarks of a known face (yaw 25 deg) plus 1 px noise.
// Both solvers (FitOptions::solver) on the same problem, side by side, with the model's rows
// gathered per call or once (LandmarkFitModel).
// Run: taskset -c 0 build/<preset>/bench/bench_landmark_fit --benchmark_repetitions=5
//      --benchmark_report_aggregates_only=true
#include <cmath>
#include <random>

#include <benchmark/benchmark.h>
#include <Eigen/Geometry>

#include "morphfit/fitters/contour.h"
#include "morphfit/fitters/landmark_fit.h"
#include "morphfit/math/camera.h"
#include "morphfit/math/rotation.h"
#include "morphfit/models/random_model.h"
#include "morphfit/models/sample_model.h"

namespace morphfit::fitters {
namespace {

constexpr int kWidth = 640, kHeight = 480;
constexpr int kLineLength = 24;

models::MorphableModel BfmSizeModelWithContours() {
  models::MorphableModel m = models::MakeRandomModel(models::RandomModelOptions{});
  const int cols = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(m.num_vertices()))));
  const int rows = m.num_vertices() / cols;
  m.contour_candidates.resize(models::kNumJawLandmarks);
  for (int k = 0; k < models::kNumJawLandmarks; ++k) {
    const int r = std::min(m.landmarks[k] / cols, rows - 1), c = m.landmarks[k] % cols;
    const int dir = c < cols / 2 ? -1 : 1;
    for (int j = 0; j < kLineLength && c + j * dir >= 0 && c + j * dir < cols; ++j) {
      m.contour_candidates[k].push_back(r * cols + c + j * dir);
    }
  }
  return m;
}

const models::MorphableModel& Model(int which) {
  static const models::MorphableModel bfm = BfmSizeModelWithContours();
  static const models::MorphableModel sample = models::MakeSampleModel();
  return which == 0 ? bfm : sample;
}

// A face 1 m away turned 25 deg, its silhouette landmarks projected, plus 1 px noise.
Eigen::Matrix2Xd Targets(const models::MorphableModel& m) {
  FaceParams p = FaceParams::Frontal(m.num_identity(), m.num_expression(), m.num_albedo(), kWidth,
                                     kHeight, DefaultFocalPx(kWidth, kHeight), 1000.0);
  std::mt19937 gen(7);
  std::normal_distribution<double> normal(0.0, 1.0);
  for (int i = 0; i < p.identity.size(); ++i) p.identity[i] = 0.5 * normal(gen);
  for (int i = 0; i < p.expression.size(); ++i) p.expression[i] = 0.3 * normal(gen);
  const Eigen::Matrix<double, 3, 3, Eigen::RowMajor> R =
      Eigen::AngleAxisd(M_PI, Eigen::Vector3d::UnitX()).toRotationMatrix() *
      Eigen::AngleAxisd(25.0 * M_PI / 180.0, Eigen::Vector3d::UnitY()).toRotationMatrix();
  math::RotationToAxisAngle(R.data(), p.rotation.data());
  const std::vector<int> ids = SilhouetteLandmarkVertices(m, p);
  const models::VertexSubset subset = m.MakeSubset(ids);
  Eigen::VectorXf points;
  subset.Evaluate(p.identity.cast<float>(), p.expression.cast<float>(), &points);
  Eigen::Matrix2Xd uv(2, ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    const double x[3] = {points[3 * i], points[3 * i + 1], points[3 * i + 2]};
    double pc[3];
    math::RigidTransform(R.data(), p.translation.data(), x, pc);
    math::Project<double>(true, p.camera.data(), pc, uv.col(i).data(), nullptr, nullptr);
    uv(0, i) += normal(gen);
    uv(1, i) += normal(gen);
  }
  return uv;
}

void BM_LandmarkFitContour(benchmark::State& state) {
  const models::MorphableModel& m = Model(static_cast<int>(state.range(0)));
  const Eigen::Matrix2Xd targets = Targets(m);
  FitOptions options;  // contour jaw, pinhole, default schedule
  options.solver = state.range(1) == 0 ? LandmarkSolver::kCeres : LandmarkSolver::kGaussNewton;
  // prepared 1: the model's rows gathered once (LandmarkFitModel), as for many faces with one
  // model; 0: gathered on every call (FitLandmarks(MorphableModel, ...)).
  const bool prepared = state.range(2) != 0;
  const LandmarkFitModel fit_model(m);
  FitSummary last;
  for (auto _ : state) {
    auto fit = prepared ? FitLandmarks(fit_model, targets, kWidth, kHeight, options)
                        : FitLandmarks(m, targets, kWidth, kHeight, options);
    if (!fit.ok()) {
      state.SkipWithError(fit.status().ToString().c_str());
      return;
    }
    last = fit->summary;
    benchmark::DoNotOptimize(fit->params.rotation.data());
  }
  int iterations = 0, solves = 0;
  for (const StageSummary& s : last.stages) {
    iterations += s.iterations;
    solves += s.contour_rounds;
  }
  state.counters["lm_iterations"] = iterations;
  // Time per LM iteration (whole fit / iterations, so it includes each solve's set-up).
  state.counters["time_per_lm_iteration"] = benchmark::Counter(
      iterations * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["final_cost"] = last.stages.empty() ? 0.0 : last.stages.back().final_cost;
  state.counters["solves"] = solves;
  state.counters["nme"] = last.landmark_nme;
  state.counters["converged"] = last.converged ? 1 : 0;
  state.counters["modes"] = m.num_identity() + m.num_expression();
}
// model: 0 BFM-size random, 1 sample face; solver: 0 Ceres, 1 own Levenberg-Marquardt;
// prepared: 0 rows gathered per call, 1 once (LandmarkFitModel).
BENCHMARK(BM_LandmarkFitContour)
    ->ArgsProduct({{0, 1}, {0, 1}, {0, 1}})
    ->ArgNames({"model", "solver", "prepared"})
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace morphfit::fitters

BENCHMARK_MAIN();
