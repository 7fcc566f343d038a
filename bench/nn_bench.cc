// Tensor-layer CPU benchmarks: ResNet-18 forward (224x224, batch 1, evaluation mode) on one and
// two threads, and the machine's Eigen SGEMM rate measured in the same run (the roofline the
// im2col + GEMM convolution is compared against). Results: bench/RESULTS.md.
#include <benchmark/benchmark.h>

#include <Eigen/Core>

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

}  // namespace
}  // namespace morphfit::nn

BENCHMARK_MAIN();
