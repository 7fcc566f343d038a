// The photometric benchmarks' problems (bench_photometric_fit, bench_photometric_gpu): the
// sample face at 224 x 224 (the slow tests' problem) and a BFM-size random model's (see
// photometric_fit_bench.cc's file comment), plus the process's peak resident set.
#ifndef MORPHFIT_BENCH_PHOTOMETRIC_BENCH_UTIL_H_
#define MORPHFIT_BENCH_PHOTOMETRIC_BENCH_UTIL_H_

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "morphfit/fitters/photometric_fit.h"
#include "morphfit/models/random_model.h"
#include "photometric_test_util.h"

namespace morphfit::fitters {

constexpr int kSize = 224;

inline double PeakRssMb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;  // Linux: kilobytes
}

inline const testing::PhotometricProblem& SampleFaceProblem() {
  static const testing::PhotometricProblem pb = testing::MakePhotometricProblem(kSize, 0.005, 1);
  return pb;
}

// kDistinctFaces different sample faces at 224 x 224 (seeds 1, 2, ...; the first is
// SampleFaceProblem's), the batch benchmarks' faces: face b of a batch is problem b mod 8.
constexpr int kDistinctFaces = 8;
inline const std::vector<testing::PhotometricProblem>& SampleFaceProblems() {
  static const std::vector<testing::PhotometricProblem> pbs = [] {
    std::vector<testing::PhotometricProblem> v;
    for (int k = 0; k < kDistinctFaces; ++k) {
      v.push_back(testing::MakePhotometricProblem(kSize, 0.005, 1 + k));
    }
    return v;
  }();
  return pbs;
}

// FitPhotometricBatch of `batch` sample faces (SampleFaceProblems) per benchmark iteration with
// `options`, or (sequential) the same faces by FitPhotometric one after another, the batch's
// baseline on the same faces. Counters: ms_per_image (wall / images), images per second (items), the slowest
// face's iterations, mean final RMSE, faces converged.
inline void RunPhotometricBatch(benchmark::State& state, int batch,
                                const PhotometricFitOptions& options, bool sequential = false) {
  const std::vector<testing::PhotometricProblem>& pbs = SampleFaceProblems();
  std::vector<PhotometricFitInput> inputs;
  for (int b = 0; b < batch; ++b) {
    const testing::PhotometricProblem& pb = pbs[b % pbs.size()];
    inputs.push_back({&pb.image, pb.landmarks, pb.start});
  }
  double wall_s = 0.0;
  PhotometricBatchResult last;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    PhotometricBatchResult one_by_one;
    for (int b = 0; sequential && b < batch; ++b) {
      StatusOr<PhotometricFitResult> one =
          FitPhotometric(testing::PhotoSample(), *inputs[b].image, inputs[b].landmarks_px,
                         inputs[b].initial, options);
      one_by_one.status.push_back(one.status());
      one_by_one.fits.push_back(one.ok() ? std::move(one).value() : PhotometricFitResult{});
    }
    StatusOr<PhotometricBatchResult> r =
        sequential ? StatusOr<PhotometricBatchResult>(std::move(one_by_one))
                   : FitPhotometricBatch(testing::PhotoSample(), inputs, options);
    wall_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      return;
    }
    for (const Status& s : r->status) {
      if (!s.ok()) {
        state.SkipWithError(s.ToString().c_str());
        return;
      }
    }
    last = std::move(r).value();
  }
  int max_iterations = 0, converged = 0;
  double rmse = 0.0;
  for (const PhotometricFitResult& f : last.fits) {
    max_iterations = std::max(max_iterations, f.summary.iterations);
    converged += f.summary.converged ? 1 : 0;
    rmse += f.summary.photometric_rmse / batch;
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["ms_per_image"] = wall_s * 1e3 / (static_cast<double>(state.iterations()) * batch);
  state.counters["max_iterations"] = max_iterations;
  state.counters["rmse"] = rmse;
  state.counters["converged"] = converged;
}

// A BFM-size random model's photometric problem (photometric_fit_bench.cc's file comment).
struct BfmSizeProblem {
  models::MorphableModel model;
  PhotometricImage image;
  Eigen::Matrix2Xd landmarks;
  FaceParams start;
};

inline const BfmSizeProblem& BfmSize() {
  static const BfmSizeProblem* pb = [] {
    auto* b = new BfmSizeProblem;
    b->model = models::MakeRandomModel(models::RandomModelOptions{});
    const models::MorphableModel& m = b->model;
    // Pinhole, the sheet's bounding box filling 60 % of the image.
    const auto box = models::BoundingBox(m.shape_mean);
    const double extent = std::max(box[3] - box[0], box[4] - box[1]);
    const double focal = 2.0 * kSize;
    const double distance = box[5] + focal * extent / (0.6 * kSize);
    FaceParams truth = FaceParams::Frontal(m.num_identity(), m.num_expression(), m.num_albedo(),
                                           kSize, kSize, focal, distance);
    truth.translation =
        Eigen::Vector3d(-0.5 * (box[0] + box[3]), 0.5 * (box[1] + box[4]), distance);
    std::mt19937 gen(5);
    std::normal_distribution<double> normal(0.0, 1.0);
    for (int k = 0; k < truth.identity.size(); ++k) truth.identity[k] = 0.3 * normal(gen);
    for (int k = 0; k < truth.expression.size(); ++k) truth.expression[k] = 0.2 * normal(gen);
    for (int k = 0; k < truth.albedo.size(); ++k) truth.albedo[k] = 0.3 * normal(gen);
    for (int band = 1; band < 4; ++band) {
      for (int c = 0; c < 3; ++c) truth.lighting[c * kNumShBands + band] = 0.1 * band;
    }
    render::RenderOptions ro;
    ro.background = Eigen::Vector3f(0.5f, 0.5f, 0.5f);
    const render::RenderResult r = render::Render(m, truth, ro, nullptr).value();
    b->image.width = b->image.height = kSize;
    b->image.rgb = r.image;
    b->image.weights.assign(r.mask.begin(), r.mask.end());
    b->landmarks = r.landmarks;
    b->start = FaceParams::Frontal(m.num_identity(), m.num_expression(), m.num_albedo(), kSize,
                                   kSize, focal, distance);
    b->start.rotation = truth.rotation;
    b->start.translation = truth.translation;
    return b;
  }();
  return *pb;
}

}  // namespace morphfit::fitters

#endif  // MORPHFIT_BENCH_PHOTOMETRIC_BENCH_UTIL_H_
