// Private to src/synth: what the writing (dataset.cc) and reading (dataset_read.cc) halves of
// the HDF5 shards share: the float16 file type, the HDF5 error status and the table of large
// per-sample channels (names, types, scales) with access to their bytes; and the HDF5 side of
// writing a shard (shard_schema.cc): the channel datasets, the per-sample records and the root
// attributes.
#ifndef MORPHFIT_SRC_SYNTH_DATASET_INTERNAL_H_
#define MORPHFIT_SRC_SYNTH_DATASET_INTERNAL_H_

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/hdf5_util.h"
#include "morphfit/core/status.h"
#include "morphfit/models/morphable_model.h"
#include "morphfit/synth/dataset.h"
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
  // Byte shuffle before deflate (both float16 channels). Measured with igzip level 1 on 32
  // sample-model renders at 224 px (bench/RESULTS.md, synthfast3): depth 41.4 -> 31.6 KiB per
  // sample (ratio 0.42 -> 0.32) and faster; shading 64.5 -> 64.7 KiB (+0.3 %) for about a
  // fifth less compression time of that channel (0.79 -> 0.61-0.66 ms per sample).
  bool shuffle = false;
};

std::vector<Channel> Channels(bool specular);
const uint8_t* ChannelBytes(const EncodedSample& s, const std::string& name);
uint8_t* MutableChannelBytes(EncodedSample* s, const std::string& name);

// ---- Writing a shard ------------------------------------------------------------------------

// Creates one dataset per channel in `file`: `count` samples of size x size (x channels),
// chunked one sample per chunk, deflate at `level` (after the byte shuffle where the channel
// asks for it), with the description, units, scale and offset attributes. `name` names the
// file in errors.
Status CreateChannelDatasets(hid_t file, const std::vector<Channel>& channels, int64_t count,
                             int size, int level, const std::string& name,
                             std::vector<h5::Handle>* datasets);

// The small per-sample datasets of a shard, gathered in shard order.
struct Records {
  std::vector<int64_t> index;
  std::vector<float> landmarks_2d, landmarks_3d;
  std::vector<uint8_t> landmarks_2d_visible, landmarks_3d_visible;
  std::vector<double> params;
  std::vector<float> pose_deg;
  std::vector<double> light_direction, specular;
  std::vector<uint8_t> bg_kind;
  std::vector<float> bg_color;
  std::vector<uint64_t> bg_noise_seed;
  std::vector<int32_t> bg_image_index, bg_crop;
  std::vector<float> aug_gain, aug_gamma, aug_blur;
  std::vector<int32_t> aug_jpeg;
  std::vector<int32_t> source_row;
  std::vector<uint8_t> lighting_from_fit;

  // Appends sample `spec`'s records (landmarks, parameters, sampling choices).
  void Add(const SampleSpec& spec, const EncodedSample& s);
};

// Writes the records as whole datasets; `layout` gives the parameter names and block sizes
// (num_flat values per sample).
Status WriteRecords(hid_t file, const Records& r, const FaceParams& layout, int num_flat,
                    const std::string& name);
// The shard's root attributes (provenance, conventions, SH basis, storage) for samples
// [begin, end) of the set.
Status WriteRootAttributes(hid_t file, const models::MorphableModel& model, const Sampler& sampler,
                           const SetInfo& info, int64_t begin, int64_t end, const std::string& name);

}  // namespace morphfit::synth::internal

#endif  // MORPHFIT_SRC_SYNTH_DATASET_INTERNAL_H_
