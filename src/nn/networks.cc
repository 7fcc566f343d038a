// ResNet-18 and MobileNet-style blocks.
#include "morphfit/nn/networks.h"

#include "morphfit/core/rng.h"
#include "morphfit/nn/layers.h"

namespace morphfit::nn {
namespace {

// Hands out a distinct seed to every layer of one network.
class SeedSource {
 public:
  explicit SeedSource(uint64_t seed) : seed_(seed) {}
  uint64_t Next() { return SplitMix64(seed_ ^ SplitMix64(++count_)); }

 private:
  uint64_t seed_;
  uint64_t count_ = 0;
};

std::unique_ptr<Module> Conv(int64_t c_in, int64_t c_out, int64_t k, int64_t stride, int64_t pad,
                             int64_t groups, SeedSource& seeds) {
  return std::make_unique<Conv2dLayer>(c_in, c_out, k, Conv2dOptions{stride, pad, 1, groups},
                                       /*bias=*/false, seeds.Next());
}

std::unique_ptr<Module> Relu() { return std::make_unique<ActivationLayer>(Activation::kRelu); }

std::unique_ptr<Module> BasicBlock(int64_t c_in, int64_t c_out, int64_t stride, SeedSource& seeds) {
  auto main = std::make_unique<Sequential>();
  main->Add(Conv(c_in, c_out, 3, stride, 1, 1, seeds));
  main->Add(std::make_unique<BatchNorm2dLayer>(c_out));
  main->Add(Relu());
  main->Add(Conv(c_out, c_out, 3, 1, 1, 1, seeds));
  main->Add(std::make_unique<BatchNorm2dLayer>(c_out));
  std::unique_ptr<Sequential> shortcut;
  if (stride != 1 || c_in != c_out) {
    shortcut = std::make_unique<Sequential>();
    shortcut->Add(Conv(c_in, c_out, 1, stride, 0, 1, seeds));
    shortcut->Add(std::make_unique<BatchNorm2dLayer>(c_out));
  }
  return std::make_unique<Residual>(std::move(main), std::move(shortcut), true);
}

}  // namespace

std::unique_ptr<Sequential> MakeResNet18(int64_t in_channels, int64_t num_outputs, uint64_t seed) {
  SeedSource seeds(seed);
  auto net = std::make_unique<Sequential>();
  net->Add(Conv(in_channels, 64, 7, 2, 3, 1, seeds));
  net->Add(std::make_unique<BatchNorm2dLayer>(64));
  net->Add(Relu());
  net->Add(std::make_unique<Pool2dLayer>(PoolKind::kMax, Pool2dOptions{3, 2, 1}));
  int64_t c = 64;
  for (int64_t width : {64, 128, 256, 512}) {
    net->Add(BasicBlock(c, width, width == 64 ? 1 : 2, seeds));
    net->Add(BasicBlock(width, width, 1, seeds));
    c = width;
  }
  net->Add(std::make_unique<GlobalAvgPoolLayer>());
  net->Add(std::make_unique<LinearLayer>(512, num_outputs, true, seeds.Next()));
  return net;
}

std::unique_ptr<Sequential> MakeDepthwiseSeparableBlock(int64_t c_in, int64_t c_out,
                                                        int64_t stride, uint64_t seed) {
  SeedSource seeds(seed);
  auto block = std::make_unique<Sequential>();
  block->Add(Conv(c_in, c_in, 3, stride, 1, c_in, seeds));
  block->Add(std::make_unique<BatchNorm2dLayer>(c_in));
  block->Add(Relu());
  block->Add(Conv(c_in, c_out, 1, 1, 0, 1, seeds));
  block->Add(std::make_unique<BatchNorm2dLayer>(c_out));
  block->Add(Relu());
  return block;
}

std::unique_ptr<Module> MakeInvertedResidual(int64_t c_in, int64_t c_out, int64_t stride,
                                             int64_t expansion, uint64_t seed) {
  SeedSource seeds(seed);
  const int64_t hidden = c_in * expansion;
  auto main = std::make_unique<Sequential>();
  main->Add(Conv(c_in, hidden, 1, 1, 0, 1, seeds));
  main->Add(std::make_unique<BatchNorm2dLayer>(hidden));
  main->Add(Relu());
  main->Add(Conv(hidden, hidden, 3, stride, 1, hidden, seeds));
  main->Add(std::make_unique<BatchNorm2dLayer>(hidden));
  main->Add(Relu());
  main->Add(Conv(hidden, c_out, 1, 1, 0, 1, seeds));
  main->Add(std::make_unique<BatchNorm2dLayer>(c_out));
  if (stride == 1 && c_in == c_out) {
    return std::make_unique<Residual>(std::move(main), nullptr, /*relu_after=*/false);
  }
  return main;
}

}  // namespace morphfit::nn
