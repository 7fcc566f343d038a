// Standard architectures built from the module system. Weights are initialised from `seed`
// (each layer draws from its own derived seed), so a network is reproducible.
#ifndef MORPHFIT_NN_NETWORKS_H_
#define MORPHFIT_NN_NETWORKS_H_

#include <cstdint>
#include <memory>

#include "morphfit/nn/module.h"

namespace morphfit::nn {

// ResNet-18 (He et al., CVPR 2016, table 1) for x [n, in_channels, H, W]: 7x7/2 conv 64, BN,
// ReLU, 3x3/2 max pool; four stages of two basic blocks (64, 128, 256, 512 channels; stride 2
// and a 1x1 conv + BN shortcut where the shape changes); global average pool; linear to
// num_outputs. 11.7 M parameters for 1000 outputs; 3.6 GFLOP at 224x224.
std::unique_ptr<Sequential> MakeResNet18(int64_t in_channels, int64_t num_outputs, uint64_t seed);

// MobileNet (v1) depthwise-separable block: 3x3 depthwise conv (stride), BN, ReLU, 1x1 conv,
// BN, ReLU.
std::unique_ptr<Sequential> MakeDepthwiseSeparableBlock(int64_t c_in, int64_t c_out,
                                                        int64_t stride, uint64_t seed);

// MobileNetV2 inverted residual: 1x1 expand (c_in * expansion), BN, ReLU; 3x3 depthwise
// (stride), BN, ReLU; 1x1 project, BN; plus the input when stride == 1 and c_in == c_out.
std::unique_ptr<Module> MakeInvertedResidual(int64_t c_in, int64_t c_out, int64_t stride,
                                             int64_t expansion, uint64_t seed);

}  // namespace morphfit::nn

#endif  // MORPHFIT_NN_NETWORKS_H_
