// GPU renderer benchmarks (issue 4), BFM-size mesh at 224 x 224:
//  BM_RenderBatchCuda/B        cuda::RenderBatchCuda: visibility + every shaded channel for B
//                              faces per call, host arrays in and out (transfers included).
//  BM_VisibilityDevice/B       cuda::RasterizeVisibilityDevice on device-resident arrays (no
//                              transfers): the rasterizer alone.
//  BM_NormalEquationsCuda      cuda::AccumulateNormalEquationsCuda, P = 260 (144 shape + 80
//                              albedo + 27 light + 9 pose/camera), one call per face for a batch
//                              of 64 faces; FLOPs = 3 P^2 per covered pixel (lower triangle of
//                              J^T J for 3 rows; J^T r is negligible) against the measured FP32
//                              peak (gpu_peak.cu).
// Links only morphfit_cuda and Google Benchmark, so it runs on the GPU machine; skips (with the
// driver's reason) without a device. Counters: renders/s (items_per_second), bytes moved per
// call, FLOP/s and the fraction of the measured peak.
#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gpu_peak.h"
#include "model_eval.h"
#include "render_jacobian.h"
#include "render_shading.h"
#include "render_visibility.h"

namespace morphfit::cuda {
namespace {

constexpr int kSize = 224;
constexpr int kGrid = 189;  // 189^2 = 35,721 vertices, 2 x 188^2 = 70,688 triangles (BFM-front size)
constexpr int kNumShape = 144, kNumAlbedo = 80;

// A face-sized bump (200 mm across, 60 mm high, its tip 450 mm from a pinhole camera) filling
// most of the image, with per-face offsets so the batch's faces differ. Camera frame: x right,
// y down, z forward.
struct Faces {
  int num_vertices = kGrid * kGrid, batch = 0;
  std::vector<float> points;                          // 3N of face 0
  std::vector<float> pixels, depths, normals, albedo;  // batch-major
  std::vector<float> lighting;                         // batch x 27
  std::vector<int32_t> triangles;
  float camera[3] = {470.0f, 112.0f, 112.0f};
  int num_triangles() const { return static_cast<int>(triangles.size() / 3); }
};

Faces MakeFaces(int batch) {
  Faces f;
  f.batch = batch;
  std::mt19937 gen(5);
  std::uniform_real_distribution<float> uni(0.0f, 1.0f);
  for (int j = 0; j < kGrid; ++j) {
    for (int i = 0; i < kGrid; ++i) {
      const float x = 200.0f * (static_cast<float>(i) / (kGrid - 1) - 0.5f);
      const float y = 240.0f * (static_cast<float>(j) / (kGrid - 1) - 0.5f);
      const float z = 510.0f - 60.0f * std::exp(-(x * x + 0.7f * y * y) / (2.0f * 55.0f * 55.0f));
      f.points.insert(f.points.end(), {x, y, z});
    }
  }
  for (int j = 0; j + 1 < kGrid; ++j) {
    for (int i = 0; i + 1 < kGrid; ++i) {
      const int a = j * kGrid + i, b = a + 1, c = a + kGrid, d = c + 1;
      f.triangles.insert(f.triangles.end(), {a, c, b, b, c, d});  // clockwise in the image
    }
  }
  const int n = f.num_vertices;
  for (int face = 0; face < batch; ++face) {
    const float du = 6.0f * (uni(gen) - 0.5f), dv = 6.0f * (uni(gen) - 0.5f);
    for (int v = 0; v < n; ++v) {
      const float* p = &f.points[3 * v];
      f.pixels.push_back(f.camera[0] * p[0] / p[2] + f.camera[1] + du);
      f.pixels.push_back(f.camera[0] * p[1] / p[2] + f.camera[2] + dv);
      f.depths.push_back(p[2]);
      // Normal of the height field z(x, y) pointing at the camera, (dz/dx, dz/dy, -1) in the
      // camera frame, written in the view frame (x right, y up, z toward the viewer; math/sh.h).
      const float g = std::exp(-(p[0] * p[0] + 0.7f * p[1] * p[1]) / (2.0f * 55.0f * 55.0f));
      const float dzdx = 60.0f * g * p[0] / (55.0f * 55.0f);
      const float dzdy = 60.0f * g * 0.7f * p[1] / (55.0f * 55.0f);
      const float len = std::sqrt(dzdx * dzdx + dzdy * dzdy + 1.0f);
      f.normals.insert(f.normals.end(), {dzdx / len, -dzdy / len, 1.0f / len});
      f.albedo.insert(f.albedo.end(), {0.6f + 0.2f * uni(gen), 0.45f + 0.1f * uni(gen), 0.4f});
    }
    for (int c = 0; c < 3; ++c) {
      const float l[9] = {0.9f, 0.1f * uni(gen), -0.2f, 0.3f * (uni(gen) - 0.5f), 0, 0, 0.05f, 0, 0};
      f.lighting.insert(f.lighting.end(), l, l + 9);
    }
  }
  return f;
}

bool SkipWithoutDevice(benchmark::State& state) {
  std::string reason;
  if (DeviceAvailable(&reason)) return false;
  state.SkipWithError(reason.c_str());
  return true;
}

void BM_RenderBatchCuda(benchmark::State& state) {
  if (SkipWithoutDevice(state)) return;
  const int batch = static_cast<int>(state.range(0));
  const Faces f = MakeFaces(batch);
  RenderBatchInput in;
  in.pixels = f.pixels.data();
  in.depths = f.depths.data();
  in.normals = f.normals.data();
  in.albedo = f.albedo.data();
  in.lighting = f.lighting.data();
  in.triangles = f.triangles.data();
  in.num_vertices = f.num_vertices;
  in.num_triangles = f.num_triangles();
  in.batch = batch;
  in.width = in.height = kSize;
  in.specular_intensity = 0.2f;
  RenderBatchOutput out;
  int64_t covered = 0;
  for (auto _ : state) {
    const std::string e = RenderBatchCuda(in, &out);
    if (!e.empty()) {
      state.SkipWithError(e.c_str());
      return;
    }
  }
  for (uint8_t m : out.mask) covered += m != 0;
  // In: 9 floats per vertex per face + the triangles; out per pixel: id, 3 bary, depth, 3 image,
  // mask, 3 normals, 3 albedo, 3 shading, 1 specular.
  const double bytes_in = 4.0 * (9.0 * f.num_vertices * batch + 3.0 * f.num_triangles());
  const double bytes_out = static_cast<double>(kSize) * kSize * batch * (4 * 17 + 1);
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["bytes_per_call"] = bytes_in + bytes_out;
  state.counters["covered_px_per_face"] = static_cast<double>(covered) / batch;
}
BENCHMARK(BM_RenderBatchCuda)->Arg(1)->Arg(16)->Arg(64)->Unit(benchmark::kMillisecond)->UseRealTime();

// Device arrays of the batch, for the transfer-free rasterizer.
struct DeviceFaces {
  float* pixels = nullptr;
  float* depths = nullptr;
  int32_t* triangles = nullptr;
  unsigned long long* keys = nullptr;
  int32_t* tri_out = nullptr;
  float* bary_out = nullptr;
  float* depth_out = nullptr;
  std::string error;
  explicit DeviceFaces(const Faces& f) {
    const size_t px = static_cast<size_t>(kSize) * kSize * f.batch;
    Upload(f.pixels.data(), f.pixels.size() * 4, reinterpret_cast<void**>(&pixels));
    Upload(f.depths.data(), f.depths.size() * 4, reinterpret_cast<void**>(&depths));
    Upload(f.triangles.data(), f.triangles.size() * 4, reinterpret_cast<void**>(&triangles));
    Alloc(px * 8, reinterpret_cast<void**>(&keys));
    Alloc(px * 4, reinterpret_cast<void**>(&tri_out));
    Alloc(px * 12, reinterpret_cast<void**>(&bary_out));
    Alloc(px * 4, reinterpret_cast<void**>(&depth_out));
  }
  ~DeviceFaces() {
    for (void* p : {static_cast<void*>(pixels), static_cast<void*>(depths),
                    static_cast<void*>(triangles), static_cast<void*>(keys),
                    static_cast<void*>(tri_out), static_cast<void*>(bary_out),
                    static_cast<void*>(depth_out)}) {
      cudaFree(p);
    }
  }
  void Alloc(size_t bytes, void** p) {
    const cudaError_t e = cudaMalloc(p, bytes);
    if (e != cudaSuccess && error.empty()) error = std::string("cudaMalloc: ") + cudaGetErrorString(e);
  }
  void Upload(const void* host, size_t bytes, void** p) {
    Alloc(bytes, p);
    if (!error.empty()) return;
    const cudaError_t e = cudaMemcpy(*p, host, bytes, cudaMemcpyHostToDevice);
    if (e != cudaSuccess) error = std::string("cudaMemcpy: ") + cudaGetErrorString(e);
  }
};

void BM_VisibilityDevice(benchmark::State& state) {
  if (SkipWithoutDevice(state)) return;
  const int batch = static_cast<int>(state.range(0));
  const Faces f = MakeFaces(batch);
  DeviceFaces d(f);
  if (!d.error.empty()) {
    state.SkipWithError(d.error.c_str());
    return;
  }
  for (auto _ : state) {
    const std::string e = RasterizeVisibilityDevice(
        d.pixels, d.depths, f.num_vertices, d.triangles, f.num_triangles(), kSize, kSize, true,
        1.0f, batch, d.keys, d.tri_out, d.bary_out, d.depth_out);
    if (!e.empty()) {
      state.SkipWithError(e.c_str());
      return;
    }
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["triangles_per_s"] = benchmark::Counter(
      static_cast<double>(f.num_triangles()) * batch, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_VisibilityDevice)->Arg(1)->Arg(64)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_NormalEquationsCuda(benchmark::State& state) {
  if (SkipWithoutDevice(state)) return;
  constexpr int kBatch = 64;
  const Faces f = MakeFaces(1);
  const int n = f.num_vertices, np = kSize * kSize;
  VisibilityArrays vis;
  std::string e = RasterizeVisibilityCuda(f.pixels.data(), f.depths.data(), n, f.triangles.data(),
                                          f.num_triangles(), kSize, kSize, true, 1.0f, 1, &vis);
  if (!e.empty()) {
    state.SkipWithError(e.c_str());
    return;
  }
  std::mt19937 gen(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const auto random = [&](size_t count, float scale) {
    std::vector<float> a(count);
    for (float& x : a) x = scale * normal(gen);
    return a;
  };
  const std::vector<float> dps = random(3 * static_cast<size_t>(n) * kNumShape, 1.0f);
  const std::vector<float> dns = random(3 * static_cast<size_t>(n) * kNumShape, 0.01f);
  const std::vector<float> dpr = random(9 * static_cast<size_t>(n), 50.0f);
  const std::vector<float> dnr = random(9 * static_cast<size_t>(n), 0.5f);
  const std::vector<float> arows = random(3 * static_cast<size_t>(n) * kNumAlbedo, 0.05f);
  std::vector<float> observed(3 * np);
  for (float& x : observed) x = 0.5f + 0.1f * normal(gen);
  std::vector<int> slot(n);
  for (int v = 0; v < n; ++v) slot[v] = v;
  NormalEquationsInput in;
  in.pixels = f.pixels.data();
  in.points_camera = f.points.data();
  in.normals = f.normals.data();
  in.albedo = f.albedo.data();
  in.triangles = f.triangles.data();
  in.num_vertices = n;
  in.num_triangles = f.num_triangles();
  for (int c = 0; c < 3; ++c) in.camera[c] = f.camera[c];
  for (int k = 0; k < 27; ++k) in.lighting[k] = f.lighting[k];
  in.vertex_slot = slot.data();
  in.num_slots = n;
  in.num_shape = kNumShape;
  in.num_albedo = kNumAlbedo;
  in.dpoint_dshape = dps.data();
  in.dnormal_dshape = dns.data();
  in.dpoint_drot = dpr.data();
  in.dnormal_drot = dnr.data();
  in.albedo_rows = arows.data();
  in.visible_triangle = vis.triangle.data();
  in.width = in.height = kSize;
  in.observed = observed.data();
  in.loss = math::RobustLoss::kHuber;
  NormalEquationsResult out;
  for (auto _ : state) {
    for (int face = 0; face < kBatch; ++face) {
      e = AccumulateNormalEquationsCuda(in, &out);
      if (!e.empty()) {
        state.SkipWithError(e.c_str());
        return;
      }
    }
  }
  const double p = out.num_params;
  const double flops = 3.0 * p * p * out.num_pixels * kBatch;
  double peak = 0.0;
  e = bench::MeasureFp32Peak(5, &peak);
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.counters["P"] = p;
  state.counters["pixels"] = out.num_pixels;
  state.counters["FLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["peak_FLOP/s"] = peak;
  // Bytes each call moves to the device: the per-vertex arrays and the derivative rows.
  state.counters["bytes_in_per_face"] =
      4.0 * (dps.size() + dns.size() + dpr.size() + dnr.size() + arows.size() + 9.0 * n +
             f.triangles.size() + 4.0 * np);
  if (!e.empty()) state.SetLabel("peak not measured: " + e);
}
BENCHMARK(BM_NormalEquationsCuda)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

}  // namespace
}  // namespace morphfit::cuda

BENCHMARK_MAIN();
