// Synthetic training sets in HDF5 (`morphfit synth`): one file per shard of consecutive
// samples, every large dataset chunked one sample per chunk and compressed (deflate, plus
// byte shuffle for depth and shading) on the worker threads, then stored with HDF5's direct chunk
// write by whichever worker completes the next sample in order (the writes overlap the other
// workers' rendering); the schema (docs/formats.md, "Synthetic sets (HDF5)") is also written
// as attributes. Shapes and albedos are evaluated for blocks of 32 samples at once (the bases
// are read once per block); a sample's values do not depend on its block.
// A shard is written under a temporary name and renamed when complete, so a shard file is
// complete or absent; a restarted run regenerates only the missing shards.
#ifndef MORPHFIT_SYNTH_DATASET_H_
#define MORPHFIT_SYNTH_DATASET_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "morphfit/core/shard.h"
#include "morphfit/core/status.h"
#include "morphfit/core/thread_pool.h"
#include "morphfit/models/morphable_model.h"
#include "morphfit/synth/device_render.h"
#include "morphfit/synth/sample_render.h"
#include "morphfit/synth/sampler.h"

namespace morphfit::synth {

constexpr int kSynthFormatVersion = 1;

// Provenance written into every shard (root attributes) and the set manifest.
struct SetInfo {
  uint64_t seed = 0;
  int64_t total_count = 0;        // samples in the whole set
  int64_t samples_per_shard = 1000;
  int compression_level = 1;      // deflate level 1..9
  std::string model_source;       // the --model argument (resolved path)
  std::string model_hash;         // HashFile() of the model file(s)
  std::string from_fits;          // path or ""
  std::string from_fits_hash;
  std::string backgrounds_dir;    // folder or ""
  std::vector<std::string> background_files;
};

struct ShardTimings {
  int64_t samples = 0;
  double render_seconds = 0.0;    // sampling + shape/albedo blocks + rendering + encoding: CPU
  double compress_seconds = 0.0;  // shuffle + deflate: thread CPU time, summed over workers
  double write_seconds = 0.0;     // HDF5 calls (chunks by the writing worker, tables, close), wall
  double device_seconds = 0.0;    // --device cuda: the batched render calls (upload, kernels,
                                  // download), wall; their host-side inputs are in render_seconds
  double wall_seconds = 0.0;      // the whole shard, wall
  int64_t raw_bytes = 0;          // large datasets before compression
  int64_t stored_bytes = 0;       // after compression
  void Add(const ShardTimings& other);
};

// "fnv1a64:<16 hex digits>" of the file's bytes (FNV-1a, 64 bit); errors name the file.
StatusOr<std::string> HashFile(const std::string& path);

// Shard file names: "shard_<index>_of_<count>.h5" with 5-digit zero-padded numbers.
std::string ShardFileName(int64_t shard_index, int64_t num_shards);
int64_t NumShards(int64_t count, int64_t samples_per_shard);

// Writes samples [begin, end) of the set into `path` (atomically). `pool` renders and
// compresses samples in parallel (null = the calling thread); the file's contents do not depend
// on the thread count. `on_samples_done(n)` is called from the calling thread as samples are
// written (n = samples written since its last call).
// `device` renders the samples (device_render.h): on kCuda each block's faces go to the device
// in one batched call, then are encoded and compressed on the pool; unavailable, it is an error
// before the file is created.
Status WriteShard(const std::string& path, const models::MorphableModel& model,
                  const Sampler& sampler, const Backgrounds* backgrounds, const SetInfo& info,
                  int64_t begin, int64_t end, ThreadPool* pool,
                  const std::function<void(int64_t)>& on_samples_done, ShardTimings* timings,
                  RenderDevice device = RenderDevice::kCpu);

// Samples per block in WriteShard (shapes and albedos evaluated together; on a device, the
// faces of one batched render call): 32 on the CPU; on a device at most 32 and at most 2^22
// pixels (32 faces up to 362 px, 16 at 512 px, one from 2048 px), which bounds the batch's
// host and device memory (about 80 B per pixel each) at large sizes. A sample's values do not
// depend on its block.
int SamplesPerBlock(RenderDevice device, int image_size);

struct SetOptions {
  std::string output_dir;
  Shard shard;  // which shard files this job writes (round-robin over shard indices)
  RenderDevice device = RenderDevice::kCpu;  // checked before anything is written
};

struct SetSummary {
  int64_t num_shards = 0;         // in the whole set
  int64_t shards_in_job = 0;      // selected by SetOptions::shard
  int64_t shards_written = 0;
  int64_t shards_present = 0;     // already complete, skipped (resume)
  std::vector<std::string> failed;  // "file: error" per failed shard
  ShardTimings timings;
};

// Writes (or checks) the manifest `synth.json` in output_dir, then every missing shard of this
// job. A shard that fails is recorded in the summary and the job goes on. Errors: an
// output_dir whose manifest describes a different set, count <= 0, samples_per_shard <= 0, a
// render device that is not available (before the folder or any file is made).
// `on_samples_done` as for WriteShard; `total_for_progress` receives the number of samples
// this call will generate before the first shard starts.
StatusOr<SetSummary> GenerateSet(const models::MorphableModel& model, const Sampler& sampler,
                                 const Backgrounds* backgrounds, const SetInfo& info,
                                 const SetOptions& options, ThreadPool* pool,
                                 const std::function<void(int64_t total)>& on_start,
                                 const std::function<void(int64_t)>& on_samples_done);

// One stored sample read back: its channels (as stored) and the recorded specification
// (parameters, pose, light, specular, background, augmentation, source).
struct StoredSample {
  EncodedSample data;
  SampleSpec spec;
};
// Number of samples in a shard file and the index of its first sample.
struct ShardExtent {
  int64_t first_index = 0;
  int64_t count = 0;
};
StatusOr<ShardExtent> ReadShardExtent(const std::string& path);
// Row `row` (0-based within the shard). Errors name the file.
StatusOr<StoredSample> ReadStoredSample(const std::string& path, int64_t row);

}  // namespace morphfit::synth

#endif  // MORPHFIT_SYNTH_DATASET_H_
