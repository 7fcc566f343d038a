// Loading a BFM-size model (53,490 vertices, 199 identity + 199 albedo modes) from the BFM 2009
// .mat layout (v5 uncompressed and v7 compressed, written by the fixture writer) and from the
// statismo .h5 layout: time, and peak resident memory (VmHWM, reset before each benchmark).
#include <benchmark/benchmark.h>

#include <fstream>
#include <string>
#include <sys/stat.h>

#include "morphfit/models/mat_models.h"
#include "morphfit/models/model_io.h"
#include "morphfit/models/random_model.h"

namespace morphfit::models {
namespace {

const std::string kDir = "/tmp/morphfit_model_load_bench";

// Peak resident set size of this process in MiB (VmHWM).
double PeakRssMib() {
  std::ifstream in("/proc/self/status");
  std::string key;
  while (in >> key) {
    if (key == "VmHWM:") {
      double kb = 0;
      in >> kb;
      return kb / 1024.0;
    }
    std::getline(in, key);
  }
  return 0.0;
}

void ResetPeakRss() { std::ofstream("/proc/self/clear_refs") << "5"; }

// Writes the three files once per process.
void WriteFiles() {
  static bool done = false;
  if (done) return;
  done = true;
  mkdir(kDir.c_str(), 0755);
  RandomModelOptions o;
  o.num_vertices = 53490;
  o.num_identity = 199;
  o.num_expression = 0;
  o.num_albedo = 199;
  MorphableModel m = MakeRandomModel(o);
  m.name = "bench";
  if (!WriteBfm2009Mat(m, kDir + "/bfm_v5.mat", {MatVersion::kV5, false}).ok() ||
      !WriteBfm2009Mat(m, kDir + "/bfm_v7.mat", {MatVersion::kV5, true}).ok() ||
      !WriteH5Model(m, kDir + "/bfm.h5").ok()) {
    std::abort();
  }
}

void Load(benchmark::State& state, const std::string& file) {
  WriteFiles();
  ModelLoadOptions options;
  options.max_identity = 199;  // keep every mode, like the .h5
  options.max_albedo = 199;
  ResetPeakRss();
  const double before = PeakRssMib();
  for (auto _ : state) {
    auto m = LoadModel(kDir + "/" + file, options);
    if (!m.ok()) state.SkipWithError(m.status().ToString().c_str());
    benchmark::DoNotOptimize(m);
  }
  state.counters["peak_rss_MiB"] = PeakRssMib();
  state.counters["rss_before_MiB"] = before;
  // float32 data of the model: 2 x (3N x 199) bases + 2 means.
  state.counters["data_MiB"] = 4.0 * 3 * 53490 * (2 * 199 + 2) / (1024.0 * 1024.0);
}

BENCHMARK_CAPTURE(Load, bfm2009_mat_v5, std::string("bfm_v5.mat"))
    ->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK_CAPTURE(Load, bfm2009_mat_v7_compressed, std::string("bfm_v7.mat"))
    ->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK_CAPTURE(Load, statismo_h5, std::string("bfm.h5"))
    ->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace
}  // namespace morphfit::models

BENCHMARK_MAIN();
