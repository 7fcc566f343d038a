// The weights file (".mfw"): a self-describing little-endian binary, written atomically.
//
//   magic      8 bytes  "MFNNWTS\0"
//   version    u32      1
//   arch_len   u32, then arch_len bytes: the network's Describe() string
//   count      u32      number of tensors
//   count x:   name_len u32, name bytes (dotted parameter name), rank u32 (0..4),
//              dims i64[rank], data f32[product of dims] (row-major, NCHW)
//   checksum   u64      FNV-1a 64 of every preceding byte
//
// Parameters and buffers (batch-norm running statistics) are both stored, in NamedParameters
// order. See docs/nn.md.
#ifndef MORPHFIT_NN_WEIGHTS_IO_H_
#define MORPHFIT_NN_WEIGHTS_IO_H_

#include <string>

#include "morphfit/core/status.h"
#include "morphfit/nn/module.h"

namespace morphfit::nn {

constexpr uint32_t kWeightsFormatVersion = 1;

// Writes every parameter and buffer of `module` (CPU or CUDA) to `path` atomically.
Status SaveWeights(Module& module, const std::string& path);

// Loads `path` into `module`. Errors (module untouched on any error): NotFound; DataLoss for a
// bad magic, truncation or checksum mismatch; FailedPrecondition for an unsupported version;
// InvalidArgument when the file's architecture string, tensor names or shapes differ from the
// module's (the message shows both descriptions where they first differ).
Status LoadWeights(const std::string& path, Module* module);

}  // namespace morphfit::nn

#endif  // MORPHFIT_NN_WEIGHTS_IO_H_
