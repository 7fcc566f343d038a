// GPU training step of ResNet-18 (224x224, batch 64): forward, backward from a fixed dL/dy, and
// an SGD step, all on the device through morphfit::nn's module system. Arg 0: im2col + cuBLAS
// convolutions; 1: cuDNN (FP32); 2: cuDNN with TF32 (PyTorch's default for convolutions).
// The peer is scripts/bench_resnet18_torch.py on the same machine. Skips without a device.
#include <benchmark/benchmark.h>

#include "morphfit/core/rng.h"
#include "morphfit/nn/networks.h"
#include "morphfit/nn/optim.h"
#include "nn/conv_cuda.h"

namespace morphfit::nn {
namespace {

constexpr int64_t kBatch = 64;

void BM_ResNet18TrainStepGpu(benchmark::State& state) {
  std::string reason;
  if (!CudaAvailable(&reason)) {
    state.SkipWithError(reason.c_str());
    return;
  }
  const int backend = static_cast<int>(state.range(0));
  if (backend > 0 && !nn_cuda::CudnnAvailable(&reason)) {
    state.SkipWithError(reason.c_str());
    return;
  }
  nn_cuda::SetConvBackend(backend == 0 ? nn_cuda::ConvBackend::kIm2colCublas
                                       : nn_cuda::ConvBackend::kCudnn);
  nn_cuda::SetAllowTf32(backend == 2);
  auto net = MakeResNet18(3, 1000, 1);
  if (Status s = ModuleToDevice(*net); !s.ok()) {
    state.SkipWithError(s.ToString().c_str());
    return;
  }
  Tensor x_host({kBatch, 3, 224, 224}), dy_host({kBatch, 1000});
  Rng rng = RngFor(3, 0, 0);
  for (int64_t i = 0; i < x_host.size(); ++i) x_host.data()[i] = static_cast<float>(rng.Normal());
  for (int64_t i = 0; i < dy_host.size(); ++i) dy_host.data()[i] = static_cast<float>(rng.Normal() / 1000);
  const Tensor x = x_host.ToDevice().value(), dy = dy_host.ToDevice().value();
  Sgd sgd(NamedParameters(*net), {0.9, 1e-4, false});
  // Forward + backward is about 3x the forward FLOPs (backward = data + weight gradients).
  const double flops = 3.0 * static_cast<double>(net->ForwardFlops(x.shape()));
  for (auto _ : state) {
    ZeroGrad(*net);
    StatusOr<Tensor> y = net->Forward(x);
    StatusOr<Tensor> dx = y.ok() ? net->Backward(dy) : y;
    Status step = dx.ok() ? sgd.Step(1e-3) : dx.status();
    if (!step.ok()) {
      state.SkipWithError(step.ToString().c_str());
      break;
    }
  }
  state.counters["FLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
  nn_cuda::SetConvBackend(nn_cuda::ConvBackend::kIm2colCublas);
  nn_cuda::SetAllowTf32(false);
}
BENCHMARK(BM_ResNet18TrainStepGpu)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)
    ->UseRealTime()->MinWarmUpTime(1.0);

}  // namespace
}  // namespace morphfit::nn

BENCHMARK_MAIN();
