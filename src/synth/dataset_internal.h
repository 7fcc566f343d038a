// Private to src/synth: what the writing (dataset.cc) and reading (dataset_read.cc) halves of
// the HDF5 shards share: the float16 file type, the HDF5 error status and the table of large
// per-sample channels (names, types, scales) with access to their bytes.
#ifndef MORPHFIT_SRC_SYNTH_DATASET_INTERNAL_H_
#define MORPHFIT_SRC_SYNTH_DATASET_INTERNAL_H_

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

#include "morphfit/core/status.h"
#include "morphfit/synth/sample_render.h"

namespace morphfit::synth::internal {

// IEEE binary16, little endian (the layout h5py maps to numpy float16).
hid_t Float16Type();

Status H5Error(const std::string& what, const std::string& file);

// ---- Large per-sample channels --------------------------------------------------------------

struct Channel {
  const char* name;
  int channels;      // 1 or 3
  int element_size;  // 1 (uint8) or 2 (float16)
  const char* description;
  const char* units;
  double scale;      // value = stored * scale + offset
  double offset;
  // Byte shuffle before deflate: measured on sample-model renders, it makes depth smaller and
  // faster to compress (ratio 0.45 -> 0.32) but shading larger and slower (0.20 -> 0.21).
  bool shuffle = false;
};

std::vector<Channel> Channels(bool specular);
const uint8_t* ChannelBytes(const EncodedSample& s, const std::string& name);
uint8_t* MutableChannelBytes(EncodedSample* s, const std::string& name);

}  // namespace morphfit::synth::internal

#endif  // MORPHFIT_SRC_SYNTH_DATASET_INTERNAL_H_
