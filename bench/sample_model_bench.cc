// The sample model generator and the preview rasterizer: generation time of the whole model
// and one 512 x 512 shaded preview of its mean face. Run:
//   build/<preset>/bench/bench_sample_model --benchmark_repetitions=5
#include <benchmark/benchmark.h>

#include "morphfit/models/sample_model.h"
#include "morphfit/render/preview.h"

namespace morphfit {
namespace {

void BM_MakeSampleModel(benchmark::State& state) {
  for (auto _ : state) {
    models::MorphableModel m = models::MakeSampleModel();
    benchmark::DoNotOptimize(m.shape_mean.data());
  }
}
BENCHMARK(BM_MakeSampleModel)->Unit(benchmark::kMillisecond);

void BM_RenderPreview512(benchmark::State& state) {
  const models::MorphableModel m = models::MakeSampleModel();
  render::PreviewOptions options;  // 512 x 512, shaded
  for (auto _ : state) {
    cv::Mat image = render::RenderPreview(m.shape_mean, m.triangles, &m.albedo_mean, options);
    benchmark::DoNotOptimize(image.data);
  }
  state.counters["triangles"] = m.num_triangles();
}
BENCHMARK(BM_RenderPreview512)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace morphfit

BENCHMARK_MAIN();
