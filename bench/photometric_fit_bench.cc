// The photometric fit (issue 5, photometric half) at 224 x 224 on 2 threads: a sample-model
// face rendered from known parameters with 0.005 colour noise, the skin mask as weights, 68
// exact landmarks, starting from the landmark fit (tests/fitters/photometric_test_util.h, the
// same problem as the slow tests). Ceres (LM on the explicit rows) and the own Gauss-Newton
// (fused JᵀJ) side by side:
//  - BM_PhotometricFit: the full default schedule (3 stages, coarse to fine) to convergence.
//  - BM_PhotometricIterations: at most 5 iterations of the last stage (every block free, level
//    0) from the same start, tolerances off (Gauss-Newton may still stop at its first
//    non-improving step), i.e. the cost of one iteration at full working size.
//  - BM_PhotometricFitBfmSize: memory at BFM size (issue 5: one fit <= 1 GB): a MakeRandomModel
//    default model (53,490 vertices, 80 identity / 64 expression / 80 albedo modes, P = 260;
//    a curved sheet, not a face) rendered at 224 x 224 from known parameters, its render mask
//    as weights and its 68 projected landmarks, started from the truth's pose with the
//    coefficients zeroed and ambient light; the default schedule with every stage capped at 3
//    iterations (the peak is set by one level-0 iteration's buffers, not by their number).
//  - BM_PhotometricFitBatch/batch: FitPhotometricBatch (own Gauss-Newton, CPU) of `batch`
//    different sample faces (photometric_bench_util.h) on 2 threads, the faces in lock-step
//    over the threads: ms per image; the baseline, BM_PhotometricFitBatch/batch:4/sequential:1,
//    fits the same faces one after another (FitPhotometric, 2 threads each).
// Counters: iterations, wall ms per iteration inside the stages, wall ms outside them (setup,
// quality figures), final RMSE, the process's peak resident set (MB, getrusage; includes the
// model and the problem; a process-wide high-water mark, so run one solver per process to
// read its own peak), and the resident set before the first fit (model and problem only).
// Run: build/<preset>/bench/bench_photometric_fit --benchmark_repetitions=3
//      --benchmark_report_aggregates_only=true
//      (BFM-size peaks: --benchmark_filter='BfmSize/ceres:0' and 'BfmSize/ceres:1', one process
//      each)
#include <benchmark/benchmark.h>

#include "morphfit/fitters/photometric_fit.h"
#include "photometric_bench_util.h"

namespace morphfit::fitters {
namespace {

constexpr int kThreads = 2;

void Run(benchmark::State& state, const models::MorphableModel& model,
         const PhotometricImage& image, const Eigen::Matrix2Xd& landmarks,
         const FaceParams& start, const PhotometricFitOptions& options) {
  const double rss_before_mb = PeakRssMb();
  PhotometricFitSummary last;
  for (auto _ : state) {
    auto fit = FitPhotometric(model, image, landmarks, start, options);
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
  state.counters["rss_before_mb"] = rss_before_mb;
  if (!last.stages.empty()) {  // the finest level's working size
    state.counters["level_w"] = last.stages.back().width;
    state.counters["level_h"] = last.stages.back().height;
  }
}

void Run(benchmark::State& state, const PhotometricFitOptions& options) {
  const testing::PhotometricProblem& pb = SampleFaceProblem();
  Run(state, testing::PhotoSample(), pb.image, pb.landmarks, pb.start, options);
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

void BM_PhotometricFitBfmSize(benchmark::State& state) {
  const BfmSizeProblem& pb = BfmSize();
  PhotometricFitOptions options;
  options.solver = SolverArg(state);
  options.num_threads = kThreads;
  for (PhotometricStage& s : options.stages) s.max_iterations = 3;
  Run(state, pb.model, pb.image, pb.landmarks, pb.start, options);
}
BENCHMARK(BM_PhotometricFitBfmSize)
    ->Arg(0)
    ->Arg(1)
    ->ArgName("ceres")
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MeasureProcessCPUTime();

void BM_PhotometricFitBatch(benchmark::State& state) {
  PhotometricFitOptions options;
  options.num_threads = kThreads;
  RunPhotometricBatch(state, static_cast<int>(state.range(0)), options, state.range(1) != 0);
}
BENCHMARK(BM_PhotometricFitBatch)
    ->Args({4, 0})
    ->Args({4, 1})
    ->ArgNames({"batch", "sequential"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MeasureProcessCPUTime();

}  // namespace
}  // namespace morphfit::fitters

BENCHMARK_MAIN();
