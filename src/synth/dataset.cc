// HDF5 shards of synthetic samples (dataset.h). Schema: docs/formats.md.
#include "morphfit/synth/dataset.h"

#include <fcntl.h>
#include <hdf5.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/hdf5_util.h"
#include "morphfit/core/file_util.h"
#include "synth/chunk_codec.h"
#include "synth/dataset_internal.h"

namespace morphfit::synth {
namespace {

using internal::Channel;
using internal::ChannelBytes;
using internal::Channels;
using internal::H5Error;
using internal::Records;
using internal::WriteRecords;
using internal::WriteRootAttributes;

using Clock = std::chrono::steady_clock;
double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// CPU time (s) of the calling thread / of the whole process: what a stage costs even when the
// machine is shared.
double CpuSeconds(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}
double ThreadCpuSeconds() { return CpuSeconds(CLOCK_THREAD_CPUTIME_ID); }
double ProcessCpuSeconds() { return CpuSeconds(CLOCK_PROCESS_CPUTIME_ID); }

// ---- Compression of the large per-sample channels -------------------------------------------

// The stored channels of one sample and their compressed chunks (one per channel).
struct SampleBuffers {
  EncodedSample encoded;
  std::vector<std::vector<uint8_t>> chunks;
};

// One sample between drawing and writing.
struct PendingSample {
  SampleSpec spec;
  SampleBuffers buffers;
  Status status;
  bool done = false;  // rendered and compressed (or failed)
  double render_seconds = 0.0, compress_seconds = 0.0;  // thread CPU
  int64_t raw_bytes = 0, stored_bytes = 0;
};

Status Compress(const EncodedSample& s, const std::vector<Channel>& channels, int level,
                std::vector<std::vector<uint8_t>>* chunks, int64_t* raw_bytes) {
  chunks->resize(channels.size());
  thread_local std::vector<uint8_t> shuffled;
  for (size_t c = 0; c < channels.size(); ++c) {
    const Channel& ch = channels[c];
    const size_t bytes = static_cast<size_t>(s.size) * s.size * ch.channels * ch.element_size;
    const uint8_t* src = ChannelBytes(s, ch.name);
    if (ch.shuffle) {
      internal::Shuffle(src, bytes, ch.element_size, &shuffled);
      src = shuffled.data();
    }
    const Status status = internal::ZlibCompress(src, bytes, level, &(*chunks)[c]);
    if (!status.ok()) {
      return Status(status.code(), std::string(ch.name) + ": " + status.message());
    }
    *raw_bytes += static_cast<int64_t>(bytes);
  }
  return OkStatus();
}

// Starts the kernel's write-back of a shard's chunks while the shard is still being made
// (Linux sync_file_range with SYNC_FILE_RANGE_WRITE queues the dirty pages for writing and does
// not wait for them), every kWritebackBytes written, so that the fsync of AtomicFile::Commit at
// the end finds most of the file on disk already instead of writing all of it while every
// worker waits (25-52 ms for a 16 MB shard on the 2-core VM, bench/RESULTS.md). Only with
// HDF5's default (sec2) driver, whose handle is the file descriptor; otherwise nothing.
// Durability is still Commit's fsync: this only starts the writing earlier.
class ChunkWriteback {
 public:
  explicit ChunkWriteback(hid_t file) {
#if defined(__linux__)
    h5::Handle fapl(H5Fget_access_plist(file));
    void* handle = nullptr;
    if (fapl.valid() && H5Pget_driver(fapl.get()) == H5FD_SEC2 &&
        H5Fget_vfd_handle(file, H5P_DEFAULT, &handle) >= 0 && handle != nullptr) {
      fd_ = *static_cast<int*>(handle);
    }
#endif
  }
  // `bytes` more were written into the file.
  void Wrote(int64_t bytes) {
    unsynced_ += bytes;
    if (fd_ < 0 || unsynced_ < kWritebackBytes) return;
    unsynced_ = 0;
#if defined(__linux__)
    // Best effort: a write error surfaces in Commit's fsync.
    static_cast<void>(sync_file_range(fd_, 0, 0, SYNC_FILE_RANGE_WRITE));
#endif
  }

 private:
  static constexpr int64_t kWritebackBytes = int64_t{4} << 20;
  int fd_ = -1;
  int64_t unsynced_ = 0;
};

}  // namespace

void ShardTimings::Add(const ShardTimings& o) {
  samples += o.samples;
  render_seconds += o.render_seconds;
  compress_seconds += o.compress_seconds;
  write_seconds += o.write_seconds;
  device_seconds += o.device_seconds;
  wall_seconds += o.wall_seconds;
  raw_bytes += o.raw_bytes;
  stored_bytes += o.stored_bytes;
}

StatusOr<std::string> HashFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot open '" + path + "' to hash it");
  uint64_t h = 14695981039346656037ull;  // FNV-1a 64 offset basis
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const std::streamsize got = in.gcount();
    for (std::streamsize i = 0; i < got; ++i) {
      h ^= static_cast<uint8_t>(buffer[static_cast<size_t>(i)]);
      h *= 1099511628211ull;  // FNV prime
    }
  }
  if (in.bad()) return DataLossError("read error while hashing '" + path + "'");
  char text[32];
  std::snprintf(text, sizeof(text), "%016" PRIx64, h);
  return std::string("fnv1a64:") + text;
}

std::string ShardFileName(int64_t shard_index, int64_t num_shards) {
  char name[64];
  std::snprintf(name, sizeof(name), "shard_%05" PRId64 "_of_%05" PRId64 ".h5", shard_index,
                num_shards);
  return name;
}

int64_t NumShards(int64_t count, int64_t samples_per_shard) {
  if (count <= 0 || samples_per_shard <= 0) return 0;
  return (count + samples_per_shard - 1) / samples_per_shard;
}

int SamplesPerBlock(RenderDevice device, int image_size) {
  constexpr int kBlock = 32;
  constexpr int64_t kMaxBatchPixels = int64_t{1} << 22;
  if (device == RenderDevice::kCpu) return kBlock;
  const int64_t per_face = std::max<int64_t>(1, int64_t{image_size} * image_size);
  const int64_t faces = std::min<int64_t>(kBlock, kMaxBatchPixels / per_face);
  return static_cast<int>(std::max<int64_t>(1, faces));
}

Status WriteShard(const std::string& path, const models::MorphableModel& model,
                  const Sampler& sampler, const Backgrounds* backgrounds, const SetInfo& info,
                  int64_t begin, int64_t end, ThreadPool* pool,
                  const std::function<void(int64_t)>& on_samples_done, ShardTimings* timings,
                  RenderDevice device) {
  const auto wall_start = Clock::now();
  if (end <= begin) return InvalidArgumentError("synth: empty shard " + path);
  MORPHFIT_RETURN_IF_ERROR(CheckRenderDevice(device));
  ShardTimings t;
  const SamplerOptions& o = sampler.options();
  const int size = o.size;
  const std::vector<Channel> channels = Channels(o.specular);
  const int level = std::max(1, std::min(9, info.compression_level));

  AtomicFile atomic(path);
  auto write_start = Clock::now();
  MORPHFIT_ASSIGN_OR_RETURN(h5::Handle file, h5::CreateFile(atomic.temp_path()));
  std::vector<h5::Handle> datasets;
  MORPHFIT_RETURN_IF_ERROR(
      internal::CreateChannelDatasets(file.get(), channels, end - begin, size, level, path, &datasets));
  t.write_seconds += Seconds(write_start, Clock::now());

  // Blocks of samples: a block's shapes and albedos are evaluated together (the bases are read
  // once per block, not once per sample). The block size depends on the device and image size
  // only (SamplesPerBlock), never on the thread count, although a sample's values do not depend
  // on its block (sample_render.h, SampleContext::EvaluateGeometry). Samples are rendered and
  // compressed in parallel, and whichever worker completes the next sample in order writes it
  // (and any later ones already done) while the others go on rendering.
  const int64_t count = end - begin;
  const int64_t block = SamplesPerBlock(device, size);
  const int64_t num_blocks = (count + block - 1) / block;
  ThreadPool inline_pool(1);
  ThreadPool* p = pool != nullptr ? pool : &inline_pool;
  const SampleContext context(model);
  std::vector<PendingSample> pending(static_cast<size_t>(count));
  Records records;
  FaceParams layout;
  std::mutex mutex;            // guards the `done` flags, `writing`, `next`, `unreported`, `spare`
  std::vector<SampleBuffers> spare;  // buffers of written samples, for the next ones
  bool writing = false;        // a worker is writing samples out
  int64_t next = 0;            // next sample (shard position) to write
  int64_t unreported = 0;      // written samples not yet passed to on_samples_done
  Status write_status;         // first failure; only the writing worker touches it
  double write_wall = 0.0;     // likewise
  ChunkWriteback writeback(file.get());
  std::atomic<bool> failed{false};
  const std::thread::id caller = std::this_thread::get_id();
  // Progress, from the calling thread only (it works on the pool as well).
  auto report = [&]() {
    if (!on_samples_done || std::this_thread::get_id() != caller) return;
    int64_t written;
    {
      std::lock_guard<std::mutex> lock(mutex);
      written = unreported;
      unreported = 0;
    }
    if (written > 0) on_samples_done(written);
  };

  // Writes sample k (on the writing worker; HDF5 calls are never concurrent).
  auto write_sample = [&](int64_t k) -> Status {
    PendingSample& s = pending[static_cast<size_t>(k)];
    if (!s.status.ok()) {
      return Status(s.status.code(),
                    "sample " + std::to_string(begin + k) + ": " + s.status.message());
    }
    const auto w0 = Clock::now();
    const hsize_t row = static_cast<hsize_t>(k);
    for (size_t c = 0; c < channels.size(); ++c) {
      const std::vector<uint8_t>& chunk = s.buffers.chunks[c];
      const hsize_t offset[4] = {row, 0, 0, 0};
      if (H5Dwrite_chunk(datasets[c].get(), H5P_DEFAULT, 0, offset, chunk.size(), chunk.data()) < 0) {
        return H5Error(std::string("write a chunk of ") + channels[c].name, path);
      }
    }
    writeback.Wrote(s.stored_bytes);
    records.Add(s.spec, s.buffers.encoded);
    if (k == 0) layout = s.spec.params;
    {
      // Written: the buffers go to the next sample to be rendered.
      std::lock_guard<std::mutex> lock(mutex);
      spare.push_back(std::move(s.buffers));
    }
    s.buffers = SampleBuffers();
    write_wall += Seconds(w0, Clock::now());
    return OkStatus();
  };
  // Sample k rendered by `render` (its encoded channels or its error), compressed, then written
  // in order: whichever worker completes the next sample writes it and any later ones done.
  auto complete = [&](int64_t k, const std::function<Status(EncodedSample*)>& render) {
    PendingSample& s = pending[static_cast<size_t>(k)];
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (!spare.empty()) {
        s.buffers = std::move(spare.back());
        spare.pop_back();
      }
    }
    const double t0 = ThreadCpuSeconds();
    s.status = render(&s.buffers.encoded);
    const double t1 = ThreadCpuSeconds();
    s.render_seconds += t1 - t0;
    if (s.status.ok()) {
      s.status = Compress(s.buffers.encoded, channels, level, &s.buffers.chunks, &s.raw_bytes);
      s.compress_seconds = ThreadCpuSeconds() - t1;
    }
    if (!s.status.ok()) failed = true;
    for (const std::vector<uint8_t>& chunk : s.buffers.chunks) s.stored_bytes += chunk.size();
    std::unique_lock<std::mutex> lock(mutex);
    s.done = true;
    if (writing) return;  // the writing worker will pick it up in order
    writing = true;
    while (next < count && pending[static_cast<size_t>(next)].done) {
      const int64_t k_write = next;
      lock.unlock();
      if (write_status.ok()) write_status = write_sample(k_write);
      lock.lock();
      ++next;
      if (write_status.ok()) ++unreported;
    }
    writing = false;
  };
  // Draws the samples of block b and evaluates their shapes and albedos (rows split over `q`).
  std::vector<GeometryBlock> geometry(static_cast<size_t>(num_blocks));
  std::vector<const FaceParams*> block_params;
  double prepare_seconds = 0.0;
  auto prepare = [&](int64_t b, ThreadPool* q, std::vector<const FaceParams*>* params) {
    const double c0 = q != nullptr ? ProcessCpuSeconds() : ThreadCpuSeconds();
    const int64_t k0 = b * block, k1 = std::min(count, k0 + block);
    if (q != nullptr) {
      q->ParallelFor(k0, k1, [&](int64_t k) {
        pending[static_cast<size_t>(k)].spec = sampler.Draw(info.seed, begin + k);
      });
    } else {
      for (int64_t k = k0; k < k1; ++k) {
        pending[static_cast<size_t>(k)].spec = sampler.Draw(info.seed, begin + k);
      }
    }
    params->clear();
    for (int64_t k = k0; k < k1; ++k) params->push_back(&pending[static_cast<size_t>(k)].spec.params);
    context.EvaluateGeometry(*params, q, &geometry[static_cast<size_t>(b)]);
    const double c1 = q != nullptr ? ProcessCpuSeconds() : ThreadCpuSeconds();
    std::lock_guard<std::mutex> lock(mutex);
    prepare_seconds += c1 - c0;
  };

  if (device == RenderDevice::kCpu) {
    // One pass over the shard with no barrier between blocks: the worker that takes the first
    // sample of block b evaluates block b + 1 before rendering it, so the next block is ready
    // long before any worker reaches it, and every thread renders until the shard is done.
    std::vector<char> ready(static_cast<size_t>(num_blocks), 0);
    std::vector<int64_t> unrendered(static_cast<size_t>(num_blocks));
    for (int64_t b = 0; b < num_blocks; ++b) {
      unrendered[static_cast<size_t>(b)] = std::min(count, (b + 1) * block) - b * block;
    }
    std::condition_variable block_ready;
    prepare(0, p, &block_params);
    ready[0] = 1;
    std::atomic<int64_t> next_index{0};
    p->ParallelFor(0, p->num_threads(), [&](int64_t) {
      std::vector<const FaceParams*> params;
      while (!failed) {
        const int64_t k = next_index.fetch_add(1);
        if (k >= count) break;
        const int64_t b = k / block;
        const size_t bi = static_cast<size_t>(b);
        if (k % block == 0 && b + 1 < num_blocks) {
          prepare(b + 1, nullptr, &params);
          std::lock_guard<std::mutex> lock(mutex);
          ready[bi + 1] = 1;
          block_ready.notify_all();
        }
        {
          std::unique_lock<std::mutex> lock(mutex);
          block_ready.wait(lock, [&] { return ready[bi] != 0; });
        }
        complete(k, [&](EncodedSample* out) {
          return RenderSample(context, pending[static_cast<size_t>(k)].spec, geometry[bi],
                              static_cast<int>(k % block), backgrounds, o.specular, out);
        });
        {
          std::lock_guard<std::mutex> lock(mutex);
          if (--unrendered[bi] == 0) geometry[bi] = GeometryBlock();  // block done: free it
        }
        report();
      }
    });
  } else {
    // Off the CPU, each block's faces are rendered together in one batched call
    // (device_render.h), then the workers encode, compress and write them.
    BlockRenderer block_renderer(context, device);
    std::vector<const SampleSpec*> block_specs;
    for (int64_t b = 0; b < num_blocks && !failed; ++b) {
      const int64_t k0 = b * block, k1 = std::min(count, k0 + block);
      prepare(b, p, &block_params);
      block_specs.clear();
      for (int64_t k = k0; k < k1; ++k) block_specs.push_back(&pending[static_cast<size_t>(k)].spec);
      const double g0 = ProcessCpuSeconds();
      MORPHFIT_RETURN_IF_ERROR(block_renderer.Render(block_specs, geometry[static_cast<size_t>(b)], p));
      t.device_seconds += block_renderer.device_seconds();
      prepare_seconds += ProcessCpuSeconds() - g0;
      p->ParallelFor(k0, k1, [&](int64_t k) {
        complete(k, [&](EncodedSample* out) {
          return block_renderer.Encode(static_cast<int>(k - k0), backgrounds, o.specular, out);
        });
      });
      geometry[static_cast<size_t>(b)] = GeometryBlock();
      report();
    }
  }
  report();
  if (!write_status.ok()) return write_status;
  if (next != count) {
    return InternalError("synth: " + std::to_string(count - next) + " samples not written");
  }
  for (const PendingSample& s : pending) {
    t.render_seconds += s.render_seconds;
    t.compress_seconds += s.compress_seconds;
    t.raw_bytes += s.raw_bytes;
    t.stored_bytes += s.stored_bytes;
  }
  t.render_seconds += prepare_seconds;
  t.samples += count;
  t.write_seconds += write_wall;

  write_start = Clock::now();
  MORPHFIT_RETURN_IF_ERROR(WriteRecords(file.get(), records, layout, layout.FlatSize(), path));
  MORPHFIT_RETURN_IF_ERROR(WriteRootAttributes(file.get(), model, sampler, info, begin, end, path));
  datasets.clear();
  if (H5Fflush(file.get(), H5F_SCOPE_GLOBAL) < 0) return H5Error("flush", path);
  file.Reset();
  MORPHFIT_RETURN_IF_ERROR(atomic.Commit());
  t.write_seconds += Seconds(write_start, Clock::now());
  t.wall_seconds = Seconds(wall_start, Clock::now());
  if (timings != nullptr) timings->Add(t);
  return OkStatus();
}

namespace {

nlohmann::json ManifestJson(const models::MorphableModel& model, const Sampler& sampler,
                            const SetInfo& info) {
  const SamplerOptions& o = sampler.options();
  nlohmann::json j;
  j["format"] = "morphfit.synth_set";
  j["version"] = kSynthFormatVersion;
  j["seed"] = std::to_string(info.seed);
  j["count"] = info.total_count;
  j["samples_per_shard"] = info.samples_per_shard;
  j["num_shards"] = NumShards(info.total_count, info.samples_per_shard);
  j["compression_level"] = info.compression_level;
  j["image_size"] = o.size;
  j["camera_model"] = CameraModelName(o.camera);
  j["specular"] = o.specular;
  j["augment"] = o.augment;
  j["model_name"] = model.name;
  j["model_hash"] = info.model_hash;
  j["from_fits_hash"] = info.from_fits_hash;
  j["background_files"] = info.background_files;
  return j;
}

}  // namespace

StatusOr<SetSummary> GenerateSet(const models::MorphableModel& model, const Sampler& sampler,
                                 const Backgrounds* backgrounds, const SetInfo& info,
                                 const SetOptions& options, ThreadPool* pool,
                                 const std::function<void(int64_t)>& on_start,
                                 const std::function<void(int64_t)>& on_samples_done) {
  if (info.total_count <= 0) {
    return InvalidArgumentError("synth: --count must be positive, got " +
                                std::to_string(info.total_count));
  }
  if (info.samples_per_shard <= 0) {
    return InvalidArgumentError("synth: --samples_per_shard must be positive, got " +
                                std::to_string(info.samples_per_shard));
  }
  if (options.shard.count < 1 || options.shard.index < 0 ||
      options.shard.index >= options.shard.count) {
    return InvalidArgumentError("synth: bad shard " + options.shard.ToString());
  }
  MORPHFIT_RETURN_IF_ERROR(CheckRenderDevice(options.device));
  MORPHFIT_RETURN_IF_ERROR(MakeDirectories(options.output_dir));
  // The manifest pins what the folder holds: a resumed or sharded job must make the same set.
  const std::string manifest_path = options.output_dir + "/synth.json";
  const nlohmann::json manifest = ManifestJson(model, sampler, info);
  if (FileExists(manifest_path)) {
    MORPHFIT_ASSIGN_OR_RETURN(std::string text, ReadFileToString(manifest_path));
    nlohmann::json existing = nlohmann::json::parse(text, nullptr, false);
    if (existing.is_discarded() || !existing.is_object()) {
      return DataLossError(manifest_path + ": not a JSON object (delete it to start a new set)");
    }
    for (auto it = manifest.begin(); it != manifest.end(); ++it) {
      if (!existing.contains(it.key()) || existing[it.key()] != it.value()) {
        return FailedPreconditionError(
            options.output_dir + " holds a different synthetic set: '" + it.key() + "' is " +
            (existing.contains(it.key()) ? existing[it.key()].dump() : std::string("missing")) +
            " in synth.json, this run has " + it.value().dump() +
            " (use another --output_dir, or the same options to resume)");
      }
    }
  } else {
    MORPHFIT_RETURN_IF_ERROR(WriteFileAtomically(manifest_path, manifest.dump(2) + "\n"));
  }

  SetSummary summary;
  summary.num_shards = NumShards(info.total_count, info.samples_per_shard);
  std::vector<int64_t> todo;
  int64_t todo_samples = 0;
  for (int64_t s = 0; s < summary.num_shards; ++s) {
    if (!options.shard.Contains(s)) continue;
    ++summary.shards_in_job;
    if (FileExists(options.output_dir + "/" + ShardFileName(s, summary.num_shards))) {
      ++summary.shards_present;
      continue;
    }
    todo.push_back(s);
    todo_samples += std::min(info.total_count, (s + 1) * info.samples_per_shard) -
                    s * info.samples_per_shard;
  }
  if (on_start) on_start(todo_samples);
  for (int64_t s : todo) {
    const int64_t begin = s * info.samples_per_shard;
    const int64_t end = std::min(info.total_count, begin + info.samples_per_shard);
    const std::string path = options.output_dir + "/" + ShardFileName(s, summary.num_shards);
    const Status st = WriteShard(path, model, sampler, backgrounds, info, begin, end, pool,
                                 on_samples_done, &summary.timings, options.device);
    if (st.ok()) {
      ++summary.shards_written;
    } else {
      summary.failed.push_back(path + ": " + st.ToString());
    }
  }
  return summary;
}

}  // namespace morphfit::synth
