// `morphfit synth` throughput at 224 x 224 with every channel (image, mask, depth, normals,
// albedo, shading, specular, both landmark styles, parameters) written into a compressed HDF5
// shard, on the sample model (10,602 vertices, 20,566 triangles, 51 identity / 23 expression /
// 24 albedo modes):
//  - BM_SynthShard/threads:T: WriteShard of 64 samples with a T-thread pool, end to end
//    (sampling, rendering, encoding, deflate on the workers, direct chunk writes, records,
//    rename). Counters: samples/s (wall), and per sample the thread CPU time of rendering +
//    encoding and of compression, the HDF5 write time (wall, writing thread) and stored KiB;
//    cpu_ms = the process's CPU time per sample (every thread, everything included) and
//    utilisation = process CPU / (T x wall): 1 when all T threads are busy all the time.
//  - BM_SynthRenderSample: one sample's sampling + render + encode on one thread (no HDF5).
//  - BM_SynthGeometryBlock/samples:B: shape + albedo of B samples in one pass over the bases
//    (WriteShard uses blocks of 32); items_per_second = samples per CPU second.
//  - BM_SynthShardCuda/threads:T (CUDA builds): the same shard with --device cuda (each block
//    of 32 faces rendered in one batched GPU call); device_ms / device_samples_per_s = the
//    batched calls alone (upload, kernels, download). BM_SynthRenderBlockCuda: a block's
//    per-vertex inputs + the batched call, no encoding or compression (samples/s = items/s).
//  - BM_Render: the renderer alone (render::Render) on the same samples, for the share of the
//    renderer in the above.
// Run (figures in bench/RESULTS.md):
//   build/<preset>/bench/bench_synth --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <opencv2/core.hpp>

#include "morphfit/core/thread_pool.h"
#include "morphfit/models/sample_model.h"
#include "morphfit/render/renderer.h"
#include "morphfit/synth/dataset.h"
#include "morphfit/synth/device_render.h"
#include "morphfit/synth/sample_render.h"
#include "morphfit/synth/sampler.h"

namespace morphfit::synth {
namespace {

constexpr int kSize = 224;
constexpr int64_t kShardSamples = 64;

double ProcessCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

const models::MorphableModel& Model() {
  static const models::MorphableModel* model =
      new models::MorphableModel(models::MakeSampleModel());
  return *model;
}

const Sampler& TheSampler() {
  static const Sampler* sampler = [] {
    SamplerOptions o;
    o.size = kSize;
    o.specular = true;
    o.augment = true;
    return new Sampler(Sampler::Create(Model(), o, {}, {}).value());
  }();
  return *sampler;
}

// WriteShard of kShardSamples samples on `device` with a `threads`-thread pool.
void RunShard(benchmark::State& state, int threads, RenderDevice device) {
  cv::setNumThreads(0);  // as `morphfit synth` runs: parallel over samples only
  ThreadPool pool(threads);
  SetInfo info;
  info.seed = 1;
  info.total_count = kShardSamples;
  info.samples_per_shard = kShardSamples;
  info.model_source = "sample (in memory)";
  const std::string dir = (std::filesystem::temp_directory_path() /
                           ("morphfit_bench_synth_" + std::to_string(::getpid()))).string();
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/shard.h5";
  ShardTimings total;
  double process_cpu = 0.0;
  for (auto _ : state) {
    ShardTimings t;
    const double cpu0 = ProcessCpuSeconds();
    const Status s = WriteShard(path, Model(), TheSampler(), nullptr, info, 0, kShardSamples,
                                &pool, {}, &t, device);
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
    process_cpu += ProcessCpuSeconds() - cpu0;
    total.Add(t);
  }
  std::filesystem::remove_all(dir);
  const double n = static_cast<double>(total.samples);
  if (n == 0) return;
  state.counters["samples_per_s"] = benchmark::Counter(n / total.wall_seconds);
  state.counters["render_ms"] = benchmark::Counter(1e3 * total.render_seconds / n);
  state.counters["compress_ms"] = benchmark::Counter(1e3 * total.compress_seconds / n);
  state.counters["write_ms"] = benchmark::Counter(1e3 * total.write_seconds / n);
  state.counters["stored_KiB"] = benchmark::Counter(total.stored_bytes / 1024.0 / n);
  state.counters["raw_KiB"] = benchmark::Counter(total.raw_bytes / 1024.0 / n);
  state.counters["cpu_ms"] = benchmark::Counter(1e3 * process_cpu / n);
  state.counters["utilisation"] = benchmark::Counter(process_cpu / (threads * total.wall_seconds));
  if (total.device_seconds > 0.0) {
    // The batched render calls alone (upload, kernels, download): samples per second of them.
    state.counters["device_ms"] = benchmark::Counter(1e3 * total.device_seconds / n);
    state.counters["device_samples_per_s"] = benchmark::Counter(n / total.device_seconds);
  }
}

void BM_SynthShard(benchmark::State& state) {
  RunShard(state, static_cast<int>(state.range(0)), RenderDevice::kCpu);
}
BENCHMARK(BM_SynthShard)->Arg(1)->Arg(2)->ArgName("threads")->Unit(benchmark::kMillisecond)->UseRealTime();

#if defined(MORPHFIT_BENCH_SYNTH_WITH_CUDA)
// The same shard with --device cuda: each block of 32 faces rendered in one batched call, then
// encoded, compressed and written on the pool's threads.
void BM_SynthShardCuda(benchmark::State& state) {
  std::string reason;
  if (!RenderDeviceAvailable(RenderDevice::kCuda, &reason)) {
    state.SkipWithError(reason.c_str());
    return;
  }
  RunShard(state, static_cast<int>(state.range(0)), RenderDevice::kCuda);
}
BENCHMARK(BM_SynthShardCuda)
    ->Arg(1)
    ->Arg(2)
    ->Arg(16)
    ->ArgName("threads")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Rendering alone: a block of 32 samples' per-vertex inputs (2 threads) and the batched device
// call, no encoding or compression; items_per_second = samples per second (wall).
void BM_SynthRenderBlockCuda(benchmark::State& state) {
  std::string reason;
  if (!RenderDeviceAvailable(RenderDevice::kCuda, &reason)) {
    state.SkipWithError(reason.c_str());
    return;
  }
  const SampleContext context(Model());
  std::vector<SampleSpec> specs;
  std::vector<const FaceParams*> params;
  std::vector<const SampleSpec*> pointers;
  for (int64_t i = 0; i < 32; ++i) specs.push_back(TheSampler().Draw(1, i));
  for (const SampleSpec& s : specs) {
    params.push_back(&s.params);
    pointers.push_back(&s);
  }
  GeometryBlock block;
  context.EvaluateGeometry(params, nullptr, &block);
  ThreadPool pool(2);
  BlockRenderer renderer(context, RenderDevice::kCuda);
  double device_seconds = 0.0;
  for (auto _ : state) {
    const Status s = renderer.Render(pointers, block, &pool);
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      break;
    }
    device_seconds += renderer.device_seconds();
  }
  state.SetItemsProcessed(32 * static_cast<int64_t>(state.iterations()));
  if (device_seconds > 0.0) {
    state.counters["device_samples_per_s"] =
        benchmark::Counter(32.0 * static_cast<double>(state.iterations()) / device_seconds);
  }
}
BENCHMARK(BM_SynthRenderBlockCuda)->Unit(benchmark::kMillisecond)->UseRealTime();
#endif

void BM_SynthRenderSample(benchmark::State& state) {
  int64_t i = 0;
  const SampleContext context(Model());
  for (auto _ : state) {
    auto s = RenderSample(context, TheSampler().Draw(1, i++ % kShardSamples), nullptr, true);
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_SynthRenderSample)->Unit(benchmark::kMillisecond);

// Shape and albedo of a block of B samples in one pass over the bases (what WriteShard does
// per block of 32), against B separate single-sample evaluations (the renderer's own product).
void BM_SynthGeometryBlock(benchmark::State& state) {
  const int64_t count = state.range(0);
  const SampleContext context(Model());
  std::vector<SampleSpec> specs;
  std::vector<const FaceParams*> params;
  for (int64_t i = 0; i < count; ++i) specs.push_back(TheSampler().Draw(1, i));
  for (const SampleSpec& s : specs) params.push_back(&s.params);
  GeometryBlock block;
  for (auto _ : state) {
    context.EvaluateGeometry(params, nullptr, &block);
    benchmark::DoNotOptimize(block.shape.data());
  }
  state.SetItemsProcessed(count * static_cast<int64_t>(state.iterations()));  // samples / CPU s
}
BENCHMARK(BM_SynthGeometryBlock)
    ->Arg(1)
    ->Arg(32)
    ->ArgName("samples")
    ->Unit(benchmark::kMillisecond);

void BM_Render(benchmark::State& state) {
  int64_t i = 0;
  for (auto _ : state) {
    const SampleSpec spec = TheSampler().Draw(1, i++ % kShardSamples);
    auto r = render::Render(Model(), spec.params, RenderOptionsFor(spec), nullptr);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_Render)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace morphfit::synth

BENCHMARK_MAIN();
