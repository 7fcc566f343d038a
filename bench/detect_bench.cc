// Face detection steps on a real portrait (matplotlib's public-domain grace_hopper.jpg, 512 x
// 600, Debian's python-matplotlib-data): dlib HOG at 1x and 2x, the OpenCV cascades, the shape
// predictor alone, and the whole Detect() as `morphfit fit --landmarks dlib` runs it.
#include <iostream>

#include <benchmark/benchmark.h>

#include "morphfit/core/file_util.h"
#include "morphfit/detect/face_detector.h"
#include "morphfit/io/image.h"

namespace morphfit::detect {
namespace {

constexpr const char* kPortrait = "/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg";

struct Fixture {
  cv::Mat image;
  FaceDetector detector;
  cv::Rect2d box;
};

Fixture* Get() {
  static Fixture* f = [] () -> Fixture* {
    auto image = io::ReadImage(kPortrait);
    auto detector = FaceDetector::Create(DetectorOptions());
    if (!image.ok() || !detector.ok()) {
      std::cerr << "bench_detect: " << (image.ok() ? detector.status() : image.status()).ToString()
                << "\n";
      return nullptr;
    }
    auto faces = detector->DetectHog(*image, 1);
    if (!faces.ok() || faces->empty()) return nullptr;
    const cv::Rect2d box = faces->front().box;
    return new Fixture{std::move(*image), std::move(*detector), box};
  }();
  return f;
}

#define FIXTURE_OR_SKIP(state)                                   \
  Fixture* fx = Get();                                          \
  if (fx == nullptr) {                                          \
    (state).SkipWithError("grace_hopper.jpg or dlib data absent"); \
    return;                                                     \
  }

void BM_Hog(benchmark::State& state) {
  FIXTURE_OR_SKIP(state);
  const int upsample = static_cast<int>(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(fx->detector.DetectHog(fx->image, upsample));
}
BENCHMARK(BM_Hog)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

void BM_Cascade(benchmark::State& state) {
  FIXTURE_OR_SKIP(state);
  const auto kind = static_cast<DetectorKind>(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(fx->detector.DetectCascade(fx->image, kind));
  state.SetLabel(DetectorKindName(kind));
}
BENCHMARK(BM_Cascade)
    ->Arg(static_cast<int>(DetectorKind::kCascadeFrontal))
    ->Arg(static_cast<int>(DetectorKind::kCascadeProfile))
    ->Unit(benchmark::kMillisecond);

void BM_ShapePredictor(benchmark::State& state) {
  FIXTURE_OR_SKIP(state);
  for (auto _ : state) benchmark::DoNotOptimize(fx->detector.PredictLandmarks(fx->image, fx->box));
}
BENCHMARK(BM_ShapePredictor)->Unit(benchmark::kMillisecond);

void BM_Detect(benchmark::State& state) {
  FIXTURE_OR_SKIP(state);
  for (auto _ : state) benchmark::DoNotOptimize(fx->detector.Detect(fx->image));
}
BENCHMARK(BM_Detect)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace morphfit::detect

BENCHMARK_MAIN();
