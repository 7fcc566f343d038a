// Model evaluation on a BFM-size random model (53,490 vertices; 80 identity / 64 expression /
// 80 albedo modes, Deep3DFaceRecon's block sizes): all vertices, albedo, and the 68-landmark
// subset, one core. Run: build/<preset>/bench/bench_model_eval --benchmark_repetitions=5
#include <benchmark/benchmark.h>

#include "morphfit/models/random_model.h"

namespace morphfit::models {
namespace {

const MorphableModel& BfmSizeModel() {
  static const MorphableModel model = MakeRandomModel(RandomModelOptions{});
  return model;
}

void BM_EvaluateShapeAllVertices(benchmark::State& state) {
  const MorphableModel& m = BfmSizeModel();
  const Eigen::VectorXf alpha = Eigen::VectorXf::Constant(m.num_identity(), 0.3f);
  const Eigen::VectorXf beta = Eigen::VectorXf::Constant(m.num_expression(), -0.2f);
  Eigen::VectorXf v;
  for (auto _ : state) {
    m.EvaluateShape(alpha, beta, &v);
    benchmark::DoNotOptimize(v.data());
  }
  state.counters["vertices"] = m.num_vertices();
  state.SetBytesProcessed(state.iterations() *
                          (m.identity.basis.size() + m.expression.basis.size()) * sizeof(float));
}
BENCHMARK(BM_EvaluateShapeAllVertices)->Unit(benchmark::kMillisecond);

void BM_EvaluateAlbedoAllVertices(benchmark::State& state) {
  const MorphableModel& m = BfmSizeModel();
  const Eigen::VectorXf gamma = Eigen::VectorXf::Constant(m.num_albedo(), 0.1f);
  Eigen::VectorXf c;
  for (auto _ : state) {
    m.EvaluateAlbedo(gamma, &c);
    benchmark::DoNotOptimize(c.data());
  }
  state.SetBytesProcessed(state.iterations() * m.albedo.basis.size() * sizeof(float));
}
BENCHMARK(BM_EvaluateAlbedoAllVertices)->Unit(benchmark::kMillisecond);

void BM_Evaluate68Landmarks(benchmark::State& state) {
  const MorphableModel& m = BfmSizeModel();
  const VertexSubset subset = m.MakeSubset(m.landmarks);
  const Eigen::VectorXf alpha = Eigen::VectorXf::Constant(m.num_identity(), 0.3f);
  const Eigen::VectorXf beta = Eigen::VectorXf::Constant(m.num_expression(), -0.2f);
  Eigen::VectorXf v;
  for (auto _ : state) {
    subset.Evaluate(alpha, beta, &v);
    benchmark::DoNotOptimize(v.data());
  }
}
BENCHMARK(BM_Evaluate68Landmarks)->Unit(benchmark::kMicrosecond);

void BM_GatherLandmarkSubset(benchmark::State& state) {
  const MorphableModel& m = BfmSizeModel();
  for (auto _ : state) {
    VertexSubset subset = m.MakeSubset(m.landmarks);
    benchmark::DoNotOptimize(subset.mean.data());
  }
}
BENCHMARK(BM_GatherLandmarkSubset)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace morphfit::models

BENCHMARK_MAIN();
