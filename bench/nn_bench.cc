// Tensor-layer CPU benchmarks: ResNet-18 forward (224x224, batch 1, evaluation mode) on one and
// two threads; the same network with the same weights in OpenCV's DNN module (the peer; outputs
// are checked to agree before timing); and the machine's Eigen SGEMM rate measured in the same
// run (the roofline the im2col + GEMM convolution is compared against). Results:
// bench/RESULTS.md.
#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <cmath>
#include <opencv2/core.hpp>

#include "nn_opencv_export.h"

#include "morphfit/core/rng.h"
#include "morphfit/nn/cpu_context.h"
#include "morphfit/nn/networks.h"

namespace morphfit::nn {
namespace {

// Single-threaded Eigen SGEMM, C [n, n] = A [n, n] B [n, n] (2 n^3 FLOP per iteration).
void BM_EigenSgemm(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const Eigen::MatrixXf a = Eigen::MatrixXf::Random(n, n), b = Eigen::MatrixXf::Random(n, n);
  Eigen::MatrixXf c(n, n);
  for (auto _ : state) {
    c.noalias() = a * b;
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["FLOP/s"] = benchmark::Counter(2.0 * n * n * n, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_EigenSgemm)->Arg(512)->Arg(1024)->Unit(benchmark::kMillisecond)->UseRealTime();

// A ResNet-18 conv GEMM shape: layer3's 3x3 conv at 14x14 (M 256, K 2304, N 196).
void BM_EigenSgemmConvShape(benchmark::State& state) {
  const Eigen::MatrixXf a = Eigen::MatrixXf::Random(256, 2304), b = Eigen::MatrixXf::Random(2304, 196);
  Eigen::MatrixXf c(256, 196);
  for (auto _ : state) {
    c.noalias() = a * b;
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["FLOP/s"] =
      benchmark::Counter(2.0 * 256 * 2304 * 196, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_EigenSgemmConvShape)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ResNet18Forward(benchmark::State& state) {
  SetCpuThreads(static_cast<int>(state.range(0)));
  auto net = MakeResNet18(3, 1000, 1);
  net->SetTraining(false);
  Tensor x({1, 3, 224, 224});
  Rng rng = RngFor(7, 0, 0);
  for (int64_t i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(rng.Normal());
  const double flops = static_cast<double>(net->ForwardFlops(x.shape()));
  for (auto _ : state) {
    StatusOr<Tensor> y = net->Forward(x);
    if (!y.ok()) {
      state.SkipWithError(y.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(y->data());
  }
  state.counters["FLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
  SetCpuThreads(0);
}
BENCHMARK(BM_ResNet18Forward)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

// The same ResNet-18 (same seed, so the same weights) exported to OpenCV DNN.
void BM_OpenCvResNet18Forward(benchmark::State& state) {
  // Agreement between the two implementations, relative to the largest output: float
  // summation-order differences through 20 layers stay near 1e-5.
  constexpr double kAgreement = 1e-3;
  const int threads = static_cast<int>(state.range(0));
  SetCpuThreads(threads);
  cv::setNumThreads(threads);
  auto net = MakeResNet18(3, 1000, 1);
  net->SetTraining(false);
  Tensor x({1, 3, 224, 224});
  Rng rng = RngFor(7, 0, 0);
  for (int64_t i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(rng.Normal());
  const std::vector<float> ours = net->Forward(x).value().ToVector();
  cv::dnn::Net cv_net;
  std::string output_name;
  const Status exported = ExportToOpenCv(*net, &cv_net, &output_name);
  if (!exported.ok()) {
    state.SkipWithError(exported.ToString().c_str());
    return;
  }
  const int sizes[] = {1, 3, 224, 224};
  const cv::Mat blob(4, sizes, CV_32F, x.data());
  cv_net.setInput(blob);
  cv::Mat out = cv_net.forward(output_name);
  double worst = 0.0, scale = 0.0;
  for (size_t i = 0; i < ours.size(); ++i) scale = std::max(scale, std::fabs(static_cast<double>(ours[i])));
  for (size_t i = 0; i < ours.size(); ++i) {
    worst = std::max(worst, std::fabs(out.ptr<float>()[i] - static_cast<double>(ours[i])));
  }
  state.counters["max_rel_diff"] = worst / scale;
  if (out.total() != ours.size() || worst > kAgreement * scale) {
    state.SkipWithError("OpenCV DNN output disagrees with morphfit::nn");
    return;
  }
  const double flops = static_cast<double>(net->ForwardFlops(x.shape()));
  for (auto _ : state) {
    cv_net.setInput(blob);
    out = cv_net.forward(output_name);
    benchmark::DoNotOptimize(out.data);
  }
  state.counters["FLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
  SetCpuThreads(0);
}
BENCHMARK(BM_OpenCvResNet18Forward)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace morphfit::nn

BENCHMARK_MAIN();
