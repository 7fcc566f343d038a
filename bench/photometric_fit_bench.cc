// The photometric fit (issue 5, photometric half) at 224 x 224 on 2 threads: a sample-model
// face rendered from known parameters with 0.005 colour noise, the skin mask as weights, 68
// exact landmarks, starting from the landmark fit (tests/fitters/photometric_test_util.h, the
// same problem as the slow tests). Ceres (LM on the explicit rows) and the own Gauss-Newton
// (fused JᵀJ) side by side:
//  - BM_PhotometricFit: the full default schedule (3 stages, coarse to fine) to convergence.
//  - BM_PhotometricIterations: at most 5 iterations of the last stage (every block free, level
//    0) from the same start, tolerances off (Gauss-Newton may still stop at its first
//    non-improving step), i.e. the cost of one iteration at full working size.
// Counters: iterations, wall ms per iteration inside the stages, wall ms outside them (setup,
// quality figures), final RMSE, the process's peak resident set (MB, getrusage; includes the
// model and the problem).
// Run: build/<preset>/bench/bench_photometric_fit --benchmark_repetitions=3
//      --benchmark_report_aggregates_only=true
#include <sys/resource.h>

#include <benchmark/benchmark.h>

#include "morphfit/fitters/photometric_fit.h"
#include "photometric_test_util.h"

namespace morphfit::fitters {
namespace {

constexpr int kSize = 224;
constexpr int kThreads = 2;

const testing::PhotometricProblem& Problem() {
  static const testing::PhotometricProblem pb = testing::MakePhotometricProblem(kSize, 0.005, 1);
  return pb;
}

double PeakRssMb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;  // Linux: kilobytes
}

void Run(benchmark::State& state, const PhotometricFitOptions& options) {
  const testing::PhotometricProblem& pb = Problem();
  PhotometricFitSummary last;
  for (auto _ : state) {
    auto fit = FitPhotometric(testing::PhotoSample(), pb.image, pb.landmarks, pb.start, options);
    if (!fit.ok()) {
      state.SkipWithError(fit.status().ToString().c_str());
      return;
    }
    last = fit->summary;
    benchmark::DoNotOptimize(fit->params.identity.data());
  }
  double stages_s = 0.0;
  for (const PhotometricStageSummary& s : last.stages) stages_s += s.time_s;
  state.counters["iterations"] = last.iterations;
  // Inside the stages (the solver's work) per iteration; the rest is setup (checks, Jacobian
  // model, pyramid) and the quality figures at full resolution.
  state.counters["ms_per_iteration"] = stages_s * 1e3 / std::max(1, last.iterations);
  state.counters["outside_stages_ms"] = (last.total_time_s - stages_s) * 1e3;
  state.counters["rmse"] = last.photometric_rmse;
  state.counters["converged"] = last.converged ? 1 : 0;
  state.counters["peak_rss_mb"] = PeakRssMb();
  if (!last.stages.empty()) {  // the finest level's working size
    state.counters["level_w"] = last.stages.back().width;
    state.counters["level_h"] = last.stages.back().height;
  }
}

PhotometricSolver SolverArg(const benchmark::State& state) {
  return state.range(0) == 0 ? PhotometricSolver::kGaussNewton : PhotometricSolver::kCeres;
}

void BM_PhotometricFit(benchmark::State& state) {
  PhotometricFitOptions options;
  options.solver = SolverArg(state);
  options.num_threads = kThreads;
  Run(state, options);
}
BENCHMARK(BM_PhotometricFit)
    ->Arg(0)
    ->Arg(1)
    ->ArgName("ceres")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MeasureProcessCPUTime();

void BM_PhotometricIterations(benchmark::State& state) {
  PhotometricFitOptions options;
  options.solver = SolverArg(state);
  options.num_threads = kThreads;
  PhotometricStage all = options.stages.back();
  all.max_iterations = 5;
  options.stages = {all};
  // Tolerances far below reach: every run does its 5 iterations.
  options.function_tolerance = options.parameter_tolerance = options.gradient_tolerance = 1e-30;
  Run(state, options);
}
BENCHMARK(BM_PhotometricIterations)
    ->Arg(0)
    ->Arg(1)
    ->ArgName("ceres")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MeasureProcessCPUTime();

}  // namespace
}  // namespace morphfit::fitters

BENCHMARK_MAIN();
