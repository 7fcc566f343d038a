// The fitting renderer on a BFM-front-size random model (35,709 vertices, ~70k triangles; the
// random model is a curved grid sheet, framed to fill a 224 x 224 image):
//  - visibility + shading of all channels from given per-vertex geometry, one thread
//    (render::RasterizeVisibility + render::ShadeVisibility), the visibility alone and the
//    shading alone;
//  - the same including the basis product, transform, normals and projection (render::Render),
//    one thread;
//  - one fused JᵀJ / Jᵀr for P = 80 + 64 + 80 + 27 + 9 = 260 parameters over the image, two
//    threads (render::AccumulatePhotometric: geometry, vertex Jacobians, pixel rows, rank updates);
//  - the baseline the issue names: an Eigen SYRK (rankUpdate) of a 66,000 x 257 float matrix on
//    one thread, ~P² FLOPs per row, the fused path's own rank-update kernels on the same rows,
//    and a plain FP32 FMA loop (the core's peak) to rate them against.
// Run (figures in bench/RESULTS.md):
//   build/<preset>/bench/bench_render --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <algorithm>
#include <cstdint>
#include <ctime>
#include <random>
#include <vector>

#include <Eigen/Core>
#include <benchmark/benchmark.h>

#if defined(__x86_64__) && defined(__GNUC__) && defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define MORPHFIT_BENCH_X86 1
#endif

#include "morphfit/core/face_params.h"
#include "morphfit/core/thread_pool.h"
#include "morphfit/math/render_pixel.h"
#include "morphfit/models/random_model.h"
#include "morphfit/render/jacobian.h"
#include "morphfit/render/renderer.h"
#include "morphfit/render/visibility.h"
#include "../src/render/row_panel.h"

namespace morphfit {
namespace {

constexpr int kSize = 224;

double ProcessCpuSeconds() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

const models::MorphableModel& Model() {
  static const models::MorphableModel* model = [] {
    models::RandomModelOptions o;
    o.num_vertices = 35709;
    return new models::MorphableModel(models::MakeRandomModel(o));
  }();
  return *model;
}

// Frontal pinhole view with the sheet's bounding box filling `fill` of the image side (as
// `morphfit render` frames the mean face; fill 1: the box just fills the image).
FaceParams Framed(const models::MorphableModel& m, double fill = 1.0) {
  const auto box = models::BoundingBox(m.shape_mean);
  const double extent = std::max(box[3] - box[0], box[4] - box[1]);
  const double focal = 2.0 * kSize;
  const double distance = box[5] + focal * extent / (fill * kSize);
  FaceParams p = FaceParams::Frontal(m.num_identity(), m.num_expression(), m.num_albedo(), kSize,
                                     kSize, focal, distance);
  p.translation.x() = -0.5 * (box[0] + box[3]);
  p.translation.y() = 0.5 * (box[1] + box[4]);
  p.translation.z() = distance;
  std::mt19937 gen(3);
  std::normal_distribution<double> g(0.0, 0.3);
  for (int k = 0; k < p.identity.size(); ++k) p.identity[k] = g(gen);
  for (int k = 0; k < p.albedo.size(); ++k) p.albedo[k] = g(gen);
  return p;
}

void BM_VisibilityAndShading_GivenVertices(benchmark::State& state) {
  const models::MorphableModel& m = Model();
  const FaceParams params = Framed(m);
  ThreadPool pool(1);
  const render::FaceGeometry<float> g = render::ComputeGeometry<float>(m, params, &pool).value();
  const math::ShadeInputs<float> in =
      render::MakeShadeInputs(g, m, render::MakeSpecularParams<float>(render::RenderOptions()));
  const size_t np = static_cast<size_t>(kSize) * kSize;
  std::vector<float> image(3 * np), normals(3 * np), albedo(3 * np), shading(3 * np), spec(np);
  std::vector<uint8_t> mask(np);
  const math::ChannelImages out{image.data(),  mask.data(),    normals.data(),
                                albedo.data(), shading.data(), spec.data()};
  const float background[3] = {0.0f, 0.0f, 0.0f};
  render::VisibilityBuffer vis;
  for (auto _ : state) {
    render::RasterizeVisibility(g.pixels_float.data(), g.depths_float.data(), m.num_vertices(),
                                m.triangles.data(), m.num_triangles(), kSize, kSize, true, 1.0f,
                                &pool, &vis);
    render::ShadeVisibility(in, vis, background, out, &pool);
    benchmark::DoNotOptimize(image.data());
  }
  state.counters["covered_px"] = vis.num_covered();
  state.counters["triangles"] = m.num_triangles();
  // Bytes touched per frame: per-vertex inputs (pixels 2, depth 1, normal 3, albedo 3 floats),
  // triangles, the z-buffer (id + depth + bary) and the six channel images.
  state.counters["bytes"] = 36.0 * m.num_vertices() + 12.0 * m.num_triangles() +
                            np * (4 + 4 + 12) + np * (12 + 1 + 12 + 12 + 12 + 4);
}
BENCHMARK(BM_VisibilityAndShading_GivenVertices)->Unit(benchmark::kMillisecond)->UseRealTime();

// The two halves of the above: the visibility buffer alone, and the shading of all channels
// from a given buffer (one thread each).
void BM_Visibility_GivenVertices(benchmark::State& state) {
  const models::MorphableModel& m = Model();
  const FaceParams params = Framed(m);
  ThreadPool pool(1);
  const render::FaceGeometry<float> g = render::ComputeGeometry<float>(m, params, &pool).value();
  render::VisibilityBuffer vis;
  for (auto _ : state) {
    render::RasterizeVisibility(g.pixels_float.data(), g.depths_float.data(), m.num_vertices(),
                                m.triangles.data(), m.num_triangles(), kSize, kSize, true, 1.0f,
                                &pool, &vis);
    benchmark::DoNotOptimize(vis.triangle.data());
  }
  state.counters["covered_px"] = vis.num_covered();
}
BENCHMARK(BM_Visibility_GivenVertices)->Unit(benchmark::kMillisecond)->UseRealTime();

// Arg 1: with the Blinn-Phong term (intensity 0.3, shininess 20, half vector tilted, as
// `morphfit synth --specular` draws it); arg 0: without (the renderer's default).
void BM_Shading_GivenVisibility(benchmark::State& state) {
  const models::MorphableModel& m = Model();
  const FaceParams params = Framed(m);
  ThreadPool pool(1);
  const render::FaceGeometry<float> g = render::ComputeGeometry<float>(m, params, &pool).value();
  render::RenderOptions options;
  if (state.range(0) != 0) {
    options.specular_intensity = 0.3;
    options.specular_shininess = 20.0;
    options.specular_half_vector = Eigen::Vector3d(0.2, 0.3, 1.0).normalized();
  }
  const math::ShadeInputs<float> in =
      render::MakeShadeInputs(g, m, render::MakeSpecularParams<float>(options));
  render::VisibilityBuffer vis;
  render::RasterizeVisibility(g.pixels_float.data(), g.depths_float.data(), m.num_vertices(),
                              m.triangles.data(), m.num_triangles(), kSize, kSize, true, 1.0f,
                              &pool, &vis);
  const size_t np = static_cast<size_t>(kSize) * kSize;
  std::vector<float> image(3 * np), normals(3 * np), albedo(3 * np), shading(3 * np), spec(np);
  std::vector<uint8_t> mask(np);
  const math::ChannelImages out{image.data(),  mask.data(),    normals.data(),
                                albedo.data(), shading.data(), spec.data()};
  const float background[3] = {0.0f, 0.0f, 0.0f};
  for (auto _ : state) {
    render::ShadeVisibility(in, vis, background, out, &pool);
    benchmark::DoNotOptimize(image.data());
  }
  state.counters["covered_px"] = vis.num_covered();
  // Channel images written per frame (RGB image, normal, albedo, shading; specular; mask).
  state.counters["bytes_written"] = np * (4 * 12 + 4 + 1);
}
BENCHMARK(BM_Shading_GivenVisibility)
    ->ArgName("specular")
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_Render_WithBasisProduct(benchmark::State& state) {
  const models::MorphableModel& m = Model();
  const FaceParams params = Framed(m);
  ThreadPool pool(1);
  for (auto _ : state) {
    auto r = render::Render(m, params, render::RenderOptions(), &pool);
    benchmark::DoNotOptimize(r.value().image.data());
  }
  const double modes = m.num_identity() + m.num_expression() + m.num_albedo();
  state.counters["basis_flops"] = 2.0 * 3 * m.num_vertices() * modes;
  state.counters["basis_bytes"] = 4.0 * 3 * m.num_vertices() * modes;
}
BENCHMARK(BM_Render_WithBasisProduct)->Unit(benchmark::kMillisecond)->UseRealTime();

// The same on two threads (the basis product, vertex pass and bands split over the pool).
void BM_Render_TwoThreads(benchmark::State& state) {
  const models::MorphableModel& m = Model();
  const FaceParams params = Framed(m);
  ThreadPool pool(2);
  const double cpu0 = ProcessCpuSeconds();
  for (auto _ : state) {
    auto r = render::Render(m, params, render::RenderOptions(), &pool);
    benchmark::DoNotOptimize(r.value().image.data());
  }
  state.counters["cpu_ms_all_threads"] =
      1e3 * (ProcessCpuSeconds() - cpu0) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_Render_TwoThreads)->Unit(benchmark::kMillisecond)->UseRealTime();

// The basis product alone (MorphableModel::EvaluateShape + EvaluateAlbedo), one thread: it
// streams the whole float basis, so its rate is the machine's single-core read bandwidth.
void BM_BasisProduct_OneThread(benchmark::State& state) {
  const models::MorphableModel& m = Model();
  const FaceParams params = Framed(m);
  const Eigen::VectorXf alpha = params.identity.cast<float>();
  const Eigen::VectorXf beta = params.expression.cast<float>();
  const Eigen::VectorXf gamma = params.albedo.cast<float>();
  Eigen::VectorXf v, a;
  for (auto _ : state) {
    m.EvaluateShape(alpha, beta, &v);
    m.EvaluateAlbedo(gamma, &a);
    benchmark::DoNotOptimize(v.data());
    benchmark::DoNotOptimize(a.data());
  }
  const double bytes = 4.0 * 3 * m.num_vertices() *
                       (m.num_identity() + m.num_expression() + m.num_albedo());
  state.counters["bytes"] = bytes;
  state.counters["GB_per_s"] =
      benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_BasisProduct_OneThread)->Unit(benchmark::kMillisecond)->UseRealTime();

// range(0): the fill factor in percent. 100: the sheet fills the image (41.4k face pixels,
// 124k rows); 71: 22k face pixels, i.e. the 66k rows of the calibration (an Eigen SYRK
// of 66k x 257 "takes ~37 ms on one core", so "near 20 ms on two"; 66k rows are 22k pixels of
// three colours).
void BM_FusedJtJ_TwoThreads(benchmark::State& state) {
  const models::MorphableModel& m = Model();
  const FaceParams params = Framed(m, 0.01 * static_cast<double>(state.range(0)));
  ThreadPool pool(2);
  const render::RenderResult r = render::Render(m, params, render::RenderOptions(), &pool).value();
  std::vector<float> observed = r.image;
  std::mt19937 gen(5);
  std::normal_distribution<float> noise(0.0f, 0.05f);
  for (float& v : observed) v += noise(gen);
  const render::JacobianModel jm = render::MakeJacobianModel(m);
  const int P = render::ParamLayout::For(m).total;
  render::NormalEquations ne;
  const double cpu0 = ProcessCpuSeconds();
  for (auto _ : state) {
    ne = render::AccumulatePhotometric(m, jm, params, r.visibility, observed.data(), nullptr,
                                       render::RenderOptions(), render::PhotometricOptions(), &pool)
             .value();
    benchmark::DoNotOptimize(ne.jtj.data());
  }
  // CPU seconds of both threads per iteration (the machine is shared: wall time includes waits).
  state.counters["cpu_ms_all_threads"] =
      1e3 * (ProcessCpuSeconds() - cpu0) / static_cast<double>(state.iterations());
  state.counters["params"] = P;
  state.counters["pixels"] = ne.num_pixels;
  state.counters["rows"] = 3.0 * ne.num_pixels;
  // Lower-triangle rank updates: 3 rows x P (P + 1) / 2 multiply-adds per pixel.
  state.counters["syrk_flops"] = 3.0 * ne.num_pixels * P * (P + 1.0);
  state.counters["row_bytes"] = 3.0 * ne.num_pixels * P * 4.0;
}
BENCHMARK(BM_FusedJtJ_TwoThreads)
    ->ArgName("fill_percent")
    ->Arg(100)
    ->Arg(71)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_EigenSyrk66kx257_OneThread(benchmark::State& state) {
  Eigen::setNbThreads(1);
  const int rows = 66000, cols = 257;
  const Eigen::MatrixXf a = Eigen::MatrixXf::Random(rows, cols);
  Eigen::MatrixXf c(cols, cols);
  for (auto _ : state) {
    c.setZero();
    c.selfadjointView<Eigen::Lower>().rankUpdate(a.transpose());
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["flops"] = static_cast<double>(rows) * cols * (cols + 1.0);
  state.counters["bytes"] = 4.0 * rows * cols;
}
BENCHMARK(BM_EigenSyrk66kx257_OneThread)->Unit(benchmark::kMillisecond)->UseRealTime();

// The fused path's own rank update (src/render/row_panel.h) on the same 66,000 x 257 random
// rows, one thread: rows appended into 256-row panels, each flushed into the lower triangle.
void BM_PanelRankUpdate66kx257_OneThread(benchmark::State& state) {
  const auto kernel = static_cast<render::internal::PanelKernel>(state.range(0));
  state.SetLabel(render::internal::PanelKernelName(kernel));
  const int rows = 66000, cols = 257;
  const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> a =
      Eigen::MatrixXf::Random(rows, cols);
  render::internal::RowPanel panel(cols, static_cast<int>(state.range(1)), kernel);
  const int pp = panel.padded_cols();
  std::vector<float> row(pp, 0.0f), c(static_cast<size_t>(pp) * pp), g(pp);
  for (auto _ : state) {
    std::fill(c.begin(), c.end(), 0.0f);
    std::fill(g.begin(), g.end(), 0.0f);
    for (int r = 0; r < rows; ++r) {
      std::copy(a.row(r).data(), a.row(r).data() + cols, row.begin());
      if (panel.full()) panel.Flush(c.data(), g.data());
      panel.Append(row.data(), 1.0f);
    }
    panel.Flush(c.data(), g.data());
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["flops"] = static_cast<double>(rows) * cols * (cols + 1.0);
  state.counters["kernel_flops"] = 2.0 * render::internal::PanelFlushMultiplyAdds(cols, rows, kernel);
  state.counters["bytes"] = 4.0 * rows * cols;
}
// Arg: the kernel (2 = AVX2, 3 = AVX-512 where the CPU has it; see row_panel.h).
BENCHMARK(BM_PanelRankUpdate66kx257_OneThread)
    ->Args({static_cast<int>(render::internal::PanelKernel::kAvx2), 128})
    ->Args({static_cast<int>(render::internal::BestPanelKernel()), 512})
    ->Args({static_cast<int>(render::internal::BestPanelKernel()), 128})
    ->Args({static_cast<int>(render::internal::BestPanelKernel()), 256})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The flushes alone (the register-tiled kernel), the row appends excluded from the timing:
// the same 66,000 x 257 rows in panels of state.range(1) rows, one thread.
void BM_PanelFlushOnly66kx257_OneThread(benchmark::State& state) {
  const auto kernel = static_cast<render::internal::PanelKernel>(state.range(0));
  state.SetLabel(render::internal::PanelKernelName(kernel));
  const int rows = 66000, cols = 257;
  const int capacity = static_cast<int>(state.range(1));
  const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> a =
      Eigen::MatrixXf::Random(capacity, cols);
  render::internal::RowPanel panel(cols, capacity, kernel);
  const int pp = panel.padded_cols();
  std::vector<float> row(pp, 0.0f), c(static_cast<size_t>(pp) * pp), g(pp);
  const int flushes = (rows + capacity - 1) / capacity;
  for (auto _ : state) {
    for (int p = 0; p < flushes; ++p) {
      state.PauseTiming();
      for (int r = 0; r < capacity; ++r) {
        std::copy(a.row(r).data(), a.row(r).data() + cols, row.begin());
        panel.Append(row.data(), 1.0f);
      }
      state.ResumeTiming();
      panel.Flush(c.data(), g.data());
    }
    benchmark::DoNotOptimize(c.data());
  }
  const double kernel_flops =
      2.0 * render::internal::PanelFlushMultiplyAdds(cols, int64_t{flushes} * capacity, kernel);
  state.counters["kernel_flops"] = kernel_flops;
  state.counters["kernel_GFLOP_per_s"] =
      benchmark::Counter(kernel_flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_PanelFlushOnly66kx257_OneThread)
    ->Args({static_cast<int>(render::internal::BestPanelKernel()), 128})
    ->Args({static_cast<int>(render::internal::BestPanelKernel()), 512})
    ->Unit(benchmark::kMillisecond);

#ifdef MORPHFIT_BENCH_X86
// The core's FP32 fused multiply-add peak, the yardstick for the rank-update kernels above:
// kChains independent accumulators (enough to hide the FMA latency on two ports), no memory
// traffic. 2 x lanes FLOPs per FMA.
constexpr int kChains = 12;

float FmaPeakAvx2(int64_t n) {
  __m256 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm256_set1_ps(static_cast<float>(i));
  const __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
  for (int64_t k = 0; k < n; ++k) {
    for (int i = 0; i < kChains; ++i) acc[i] = _mm256_fmadd_ps(acc[i], x, y);
  }
  __m256 sum = acc[0];
  for (int i = 1; i < kChains; ++i) sum = _mm256_add_ps(sum, acc[i]);
  return _mm256_cvtss_f32(sum);
}

__attribute__((target("avx512f"))) float FmaPeakAvx512(int64_t n) {
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i));
  const __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
  for (int64_t k = 0; k < n; ++k) {
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], x, y);
  }
  __m512 sum = acc[0];
  for (int i = 1; i < kChains; ++i) sum = _mm512_add_ps(sum, acc[i]);
  return _mm512_reduce_add_ps(sum);
}

// Arg: vector width in bits (256 = AVX2, 512 = AVX-512 where the CPU has it).
void BM_FmaPeak_OneThread(benchmark::State& state) {
  const int bits = static_cast<int>(state.range(0));
  if (bits == 512 && !__builtin_cpu_supports("avx512f")) {
    state.SkipWithError("this CPU has no AVX-512");
    return;
  }
  constexpr int64_t kIterations = int64_t{1} << 20;
  for (auto _ : state) {
    benchmark::DoNotOptimize(bits == 512 ? FmaPeakAvx512(kIterations)
                                         : FmaPeakAvx2(kIterations));
  }
  const double flops = 2.0 * (bits / 32) * kChains * static_cast<double>(kIterations);
  state.counters["flops"] = flops;
  state.counters["GFLOP_per_s"] =
      benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_FmaPeak_OneThread)->Arg(256)->Arg(512)->Unit(benchmark::kMillisecond);
#endif

}  // namespace
}  // namespace morphfit

BENCHMARK_MAIN();
