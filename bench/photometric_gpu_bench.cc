// The own photometric Gauss-Newton with use_cuda (issue 5: "on one H100 <= 30 ms per image
// batched"), CPU side by side in the same run. Built only with CUDA; every benchmark skips with
// the reason (PhotometricCudaAvailable) without a device. Problems (photometric_bench_util.h):
// model 0 = the sample face at 224 x 224 (P = 134), model 1 = the BFM-size random model (P = 260).
//  BM_PhotometricNormalEquations/cuda/model   one Gauss-Newton iteration's fused JᵀJ / Jᵀr at the
//      start parameters over the whole 224 x 224 image: render::AccumulatePhotometric (CPU,
//      2 threads) or AccumulatePhotometricCuda (geometry and vertex Jacobians on the host, the
//      arrays uploaded, seeds / tiles / reduction on the device, transfers included).
//  BM_PhotometricFitDevice/cuda/model   one whole fit, default schedule, 2 CPU threads.
//      Counters: iterations, ms per iteration inside the stages, final RMSE.
//  BM_PhotometricFitBatch/batch   `batch` sample-face fits at once on `batch` host threads
//      (1 CPU thread each), every fit's normal equations on the one device: ms per image (wall
//      / batch) and images per second.
//  BM_PhotometricFitBatchCuda/batch   FitPhotometricBatch with use_cuda: `batch` different sample
//      faces (photometric_bench_util.h) in lock-step, each round's normal equations of all
//      faces in one device call and their damped solves in another; every CPU core for the
//      host work (renders, line searches, dense per-face arrays; counter host_threads), one
//      face per task. ms per image (wall / batch).
//      The target: <= 30 ms per image on one H100. CPU twin: bench_photometric_fit's
//      BM_PhotometricFitBatch.
// Links morphfit_fitters (Ceres, glog and the model I/O's shared libraries must be present).
// Run: build/<preset>/bench/bench_photometric_gpu --benchmark_repetitions=3
//      --benchmark_report_aggregates_only=true
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "morphfit/core/thread_pool.h"
#include "morphfit/fitters/photometric_fit.h"
#include "morphfit/render/jacobian.h"
#include "morphfit/render/renderer.h"
#include "photometric_bench_util.h"
#include "photometric_device.h"

namespace morphfit::fitters {
namespace {

constexpr int kThreads = 2;

bool SkipWithoutCuda(benchmark::State& state) {
  std::string reason;
  if (PhotometricCudaAvailable(&reason)) return false;
  state.SkipWithError(reason.c_str());
  return true;
}

struct Inputs {
  const models::MorphableModel* model;
  const PhotometricImage* image;
  const Eigen::Matrix2Xd* landmarks;
  const FaceParams* start;
};

Inputs Model(int which) {
  if (which == 0) {
    const testing::PhotometricProblem& pb = SampleFaceProblem();
    return {&testing::PhotoSample(), &pb.image, &pb.landmarks, &pb.start};
  }
  const BfmSizeProblem& pb = BfmSize();
  return {&pb.model, &pb.image, &pb.landmarks, &pb.start};
}

void BM_PhotometricNormalEquations(benchmark::State& state) {
  if (SkipWithoutCuda(state)) return;
  const bool cuda = state.range(0) != 0;
  const Inputs in = Model(static_cast<int>(state.range(1)));
  const render::JacobianModel jm = render::MakeJacobianModel(*in.model);
  const render::RenderOptions ro;
  const render::VisibilityBuffer vis =
      render::Render(*in.model, *in.start, ro, nullptr).value().visibility;
  render::PhotometricOptions photo;
  photo.loss = render::RobustLoss::kHuber;
  ThreadPool pool(kThreads);
  int num_pixels = 0;
  for (auto _ : state) {
    StatusOr<render::NormalEquations> ne =
        cuda ? AccumulatePhotometricCuda(*in.model, jm, *in.start, vis, in.image->rgb.data(),
                                         in.image->weights.data(), ro, photo, &pool)
             : render::AccumulatePhotometric(*in.model, jm, *in.start, vis, in.image->rgb.data(),
                                             in.image->weights.data(), ro, photo, &pool);
    if (!ne.ok()) {
      state.SkipWithError(ne.status().ToString().c_str());
      return;
    }
    num_pixels = ne->num_pixels;
    benchmark::DoNotOptimize(ne->jtj.data());
  }
  state.counters["pixels"] = num_pixels;
  state.counters["P"] = render::ParamLayout::For(*in.model).total;
}
BENCHMARK(BM_PhotometricNormalEquations)
    ->ArgsProduct({{0, 1}, {0, 1}})
    ->ArgNames({"cuda", "model"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_PhotometricFitDevice(benchmark::State& state) {
  if (SkipWithoutCuda(state)) return;
  const Inputs in = Model(static_cast<int>(state.range(1)));
  PhotometricFitOptions options;
  options.use_cuda = state.range(0) != 0;
  options.num_threads = kThreads;
  PhotometricFitSummary last;
  for (auto _ : state) {
    StatusOr<PhotometricFitResult> fit =
        FitPhotometric(*in.model, *in.image, *in.landmarks, *in.start, options);
    if (!fit.ok()) {
      state.SkipWithError(fit.status().ToString().c_str());
      return;
    }
    last = fit->summary;
  }
  double stages_s = 0.0;
  for (const PhotometricStageSummary& s : last.stages) stages_s += s.time_s;
  state.counters["iterations"] = last.iterations;
  state.counters["ms_per_iteration"] = stages_s * 1e3 / std::max(1, last.iterations);
  state.counters["rmse"] = last.photometric_rmse;
  state.counters["converged"] = last.converged ? 1 : 0;
}
BENCHMARK(BM_PhotometricFitDevice)
    ->ArgsProduct({{0, 1}, {0, 1}})
    ->ArgNames({"cuda", "model"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(2);

void BM_PhotometricFitBatch(benchmark::State& state) {
  if (SkipWithoutCuda(state)) return;
  const int batch = static_cast<int>(state.range(0));
  const Inputs in = Model(0);
  PhotometricFitOptions options;
  options.use_cuda = true;
  options.num_threads = 1;
  std::vector<std::string> errors(batch);
  double wall_s = 0.0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (int b = 0; b < batch; ++b) {
      threads.emplace_back([&, b] {
        StatusOr<PhotometricFitResult> fit =
            FitPhotometric(*in.model, *in.image, *in.landmarks, *in.start, options);
        if (!fit.ok()) errors[b] = fit.status().ToString();
      });
    }
    for (std::thread& t : threads) t.join();
    wall_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  for (const std::string& e : errors) {
    if (!e.empty()) {
      state.SkipWithError(e.c_str());
      return;
    }
  }
  state.SetItemsProcessed(state.iterations() * batch);  // images per second
  state.counters["ms_per_image"] = wall_s * 1e3 / (static_cast<double>(state.iterations()) * batch);
}
BENCHMARK(BM_PhotometricFitBatch)
    ->Arg(1)
    ->Arg(4)
    ->Arg(8)
    ->Arg(16)
    ->ArgName("batch")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(2);

void BM_PhotometricFitBatchCuda(benchmark::State& state) {
  if (SkipWithoutCuda(state)) return;
  PhotometricFitOptions options;
  options.use_cuda = true;
  options.num_threads = 0;  // all cores
  RunPhotometricBatch(state, static_cast<int>(state.range(0)), options);
  state.counters["host_threads"] = ThreadPool(0).num_threads();
}
BENCHMARK(BM_PhotometricFitBatchCuda)
    ->Arg(1)
    ->Arg(16)
    ->Arg(64)
    ->ArgName("batch")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MeasureProcessCPUTime()
    ->Iterations(2);

}  // namespace
}  // namespace morphfit::fitters

BENCHMARK_MAIN();
