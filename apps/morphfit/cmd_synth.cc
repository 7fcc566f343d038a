// `morphfit synth`: synthetic training sets (random faces from the model's priors, or fitted
// faces re-rendered with new expression, pose and lighting) written as HDF5 shards with every
// channel; `--preview` draws a contact sheet of the first samples for a person to look at.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <filesystem>
#include <string>
#include <vector>

#include <gflags/gflags.h>
#include <opencv2/core.hpp>
#include <sys/stat.h>

#include "commands.h"
#include "common_flags.h"
#include "morphfit/core/face_params.h"
#include "morphfit/core/file_util.h"
#include "morphfit/core/progress.h"
#include "morphfit/core/shard.h"
#include "morphfit/core/thread_pool.h"
#include "morphfit/io/image.h"
#include "morphfit/synth/dataset.h"
#include "morphfit/synth/device_render.h"
#include "morphfit/synth/sample_render.h"
#include "morphfit/synth/sampler.h"

DEFINE_int64(count, 0, "Number of samples in the whole set (all shards of all jobs).");
DEFINE_int32(size, 224, "Image side in pixels (square). The Deep3D camera scales with it.");
DEFINE_string(from_fits, "",
              "FaceParams table (.h5, `/face_params`) of fitted faces: keep each fit's identity and "
              "albedo (row = sample index mod rows), draw new expression, pose and lighting (the "
              "fitted lighting is kept for half of the samples). Empty = the model's priors.");
DEFINE_bool(specular, false, "Add a Blinn-Phong specular term and write the specular map.");
DEFINE_string(backgrounds, "",
              "Folder of background photos (.jpg .png ...; loaded once, shorter side capped at 2x "
              "--size): half the samples get a random crop of one. Empty = flat colours and "
              "noise textures only.");
DEFINE_bool(augment, true,
            "Photometric augmentation of the image (gain, gamma, blur, JPEG), recorded per sample "
            "under /augment. --noaugment keeps image = albedo x shading + specular on the face.");
DEFINE_int64(samples_per_shard, 1000, "Samples per shard file (the unit of resuming).");
DEFINE_int32(compression_level, 1,
             "Deflate level of the large per-sample datasets: 1 (the fastest: ISA-L igzip) .. 9 "
             "(the smallest: libdeflate). Readers need only the standard deflate filter.");
DEFINE_string(preview, "",
              "Also write a contact sheet PNG of the first --preview_count samples with every "
              "channel: to this .png file, or to synth_preview.png in this folder (an existing "
              "one, or a name ending in '/'). Without --output_dir only the preview is made.");
DEFINE_int32(preview_count, 4, "Samples shown by --preview.");

namespace morphfit::app {
namespace {

int Fail(const std::string& message) {
  std::cerr << "morphfit synth: " << message << "\n";
  return 1;
}

std::string Seconds(double s) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.2f", s);
  return text;
}

}  // namespace

int RunSynth() {
  auto device_or = synth::ParseRenderDevice(FLAGS_device);
  if (!device_or.ok()) return Fail(device_or.status().message());
  // Before anything is loaded or written: a clear reason when CUDA cannot be used here.
  if (std::string reason; !synth::RenderDeviceAvailable(device_or.value(), &reason)) {
    return Fail("--device " + FLAGS_device + ": " + reason + " (use --device cpu)");
  }
  if (FLAGS_count <= 0) return Fail("--count must be a positive number of samples, got " +
                                    std::to_string(FLAGS_count));
  if (FLAGS_output_dir.empty() && FLAGS_preview.empty()) {
    return Fail("--output_dir is required (or --preview for a contact sheet only)");
  }
  if (FLAGS_size < 16 || FLAGS_size > 4096) {
    return Fail("--size must be in [16, 4096], got " + std::to_string(FLAGS_size));
  }
  if (FLAGS_compression_level < 1 || FLAGS_compression_level > 9) {
    return Fail("--compression_level must be in [1, 9], got " +
                std::to_string(FLAGS_compression_level));
  }
  if (FLAGS_samples_per_shard <= 0) return Fail("--samples_per_shard must be positive");
  auto shard_or = ParseShard(FLAGS_shard);
  if (!shard_or.ok()) return Fail("--shard: " + shard_or.status().message());
  auto camera_or = synth::ParseCameraModel(FLAGS_camera.empty() ? "deep3d" : FLAGS_camera);
  if (!camera_or.ok()) return Fail("--camera: " + camera_or.status().message());

  auto model_or = LoadModelFromFlags();
  if (!model_or.ok()) return Fail(model_or.status().ToString());
  const models::MorphableModel& model = model_or.value();

  synth::SetInfo info;
  info.seed = FLAGS_seed;
  info.total_count = FLAGS_count;
  info.samples_per_shard = FLAGS_samples_per_shard;
  info.compression_level = FLAGS_compression_level;
  info.model_source = FLAGS_model == "sample" ? SampleModelPath() : FLAGS_model;
  {
    auto hash = synth::HashFile(info.model_source);
    if (!hash.ok()) return Fail(hash.status().ToString());
    info.model_hash = hash.value();
    for (const std::string* side : {&FLAGS_expression, &FLAGS_landmark_map}) {
      if (side->empty()) continue;
      auto h = synth::HashFile(*side);
      if (!h.ok()) return Fail(h.status().ToString());
      info.model_hash += " + " + h.value();
    }
  }

  std::vector<FaceParams> fits;
  if (!FLAGS_from_fits.empty()) {
    auto table = ReadFaceParamsTable(FLAGS_from_fits);
    if (!table.ok()) return Fail("--from_fits " + FLAGS_from_fits + ": " + table.status().ToString());
    if (table.value().rows.empty()) return Fail("--from_fits " + FLAGS_from_fits + ": the table has no rows");
    fits = std::move(table.value().rows);
    auto hash = synth::HashFile(FLAGS_from_fits);
    if (!hash.ok()) return Fail(hash.status().ToString());
    info.from_fits = FLAGS_from_fits;
    info.from_fits_hash = hash.value();
  }

  synth::Backgrounds backgrounds;
  if (!FLAGS_backgrounds.empty()) {
    auto b = synth::LoadBackgrounds(FLAGS_backgrounds, 2 * FLAGS_size);
    if (!b.ok()) return Fail(b.status().ToString());
    backgrounds = std::move(b).value();
    info.backgrounds_dir = FLAGS_backgrounds;
    info.background_files = backgrounds.files;
  }

  synth::SamplerOptions options;
  options.size = FLAGS_size;
  options.camera = camera_or.value();
  options.specular = FLAGS_specular;
  options.augment = FLAGS_augment;
  auto sampler_or = synth::Sampler::Create(model, options, std::move(fits), backgrounds.Sizes());
  if (!sampler_or.ok()) {
    return Fail((FLAGS_from_fits.empty() ? "" : "--from_fits " + FLAGS_from_fits + ": ") +
                sampler_or.status().ToString());
  }
  const synth::Sampler& sampler = sampler_or.value();
  ThreadPool pool(FLAGS_threads);
  // Samples are rendered in parallel on `pool`; OpenCV's own threads inside each sample (resize,
  // blur, JPEG) would only oversubscribe the cores.
  cv::setNumThreads(0);

  if (!FLAGS_preview.empty()) {
    const int k = static_cast<int>(std::min<int64_t>(std::max(1, FLAGS_preview_count), FLAGS_count));
    std::vector<synth::EncodedSample> samples(k);
    std::vector<Status> status(k);
    const synth::SampleContext context(model);
    pool.ParallelFor(0, k, [&](int64_t i) {
      auto s = synth::RenderSample(context, sampler.Draw(info.seed, i), &backgrounds, FLAGS_specular);
      if (s.ok()) {
        samples[i] = std::move(s).value();
      } else {
        status[i] = s.status();
      }
    });
    for (const Status& s : status) {
      if (!s.ok()) return Fail("preview: " + s.ToString());
    }
    // A folder (existing, or named with a trailing '/') gets synth_preview.png inside it.
    std::string sheet = FLAGS_preview;
    struct stat st;
    if (sheet.back() == '/' || (stat(sheet.c_str(), &st) == 0 && S_ISDIR(st.st_mode))) {
      if (Status made = MakeDirectories(sheet); !made.ok()) return Fail("--preview: " + made.ToString());
      sheet += (sheet.back() == '/' ? "" : "/") + std::string("synth_preview.png");
    } else if (const std::string parent = std::filesystem::path(sheet).parent_path().string();
               !parent.empty()) {
      // A file in a folder that does not exist yet (e.g. inside --output_dir): make the folder.
      if (Status made = MakeDirectories(parent); !made.ok()) return Fail("--preview: " + made.ToString());
    }
    const Status written = io::WriteImage(sheet, synth::MakeSamplePreview(samples));
    if (!written.ok()) return Fail("--preview: " + written.ToString());
    std::cout << "wrote a contact sheet of " << k << " samples to " << sheet << "\n";
    if (FLAGS_output_dir.empty()) return 0;
  }

  synth::SetOptions set_options;
  set_options.output_dir = FLAGS_output_dir;
  set_options.shard = shard_or.value();
  set_options.device = device_or.value();
  std::unique_ptr<ProgressReporter> progress;
  auto summary_or = synth::GenerateSet(
      model, sampler, &backgrounds, info, set_options, &pool,
      [&](int64_t total) {
        progress = std::make_unique<ProgressReporter>("synth", total, &std::cerr);
      },
      [&](int64_t n) {
        if (progress) progress->Advance(n);
      });
  if (progress) progress->Finish();
  if (!summary_or.ok()) return Fail(summary_or.status().ToString());
  const synth::SetSummary& s = summary_or.value();
  const synth::ShardTimings& t = s.timings;
  std::cout << "synth: " << s.shards_in_job << " of " << s.num_shards << " shards in this job ("
            << s.shards_written << " written, " << s.shards_present << " already present, "
            << s.failed.size() << " failed) in " << FLAGS_output_dir << "\n";
  if (t.samples > 0) {
    std::cout << "  " << t.samples << " samples in " << Seconds(t.wall_seconds) << " s ("
              << Seconds(t.samples / std::max(1e-9, t.wall_seconds)) << " samples/s); render "
              << Seconds(t.render_seconds) << " s, compress " << Seconds(t.compress_seconds)
              << " s (CPU, summed over threads), HDF5 write " << Seconds(t.write_seconds) << " s; "
              << (t.device_seconds > 0.0
                      ? "batched " + std::string(synth::RenderDeviceName(set_options.device)) +
                            " rendering " + Seconds(t.device_seconds) + " s (wall); "
                      : std::string())
              << Seconds(t.raw_bytes / 1048576.0) << " MiB raw -> "
              << Seconds(t.stored_bytes / 1048576.0) << " MiB stored\n";
  }
  for (const std::string& f : s.failed) std::cerr << "morphfit synth: failed: " << f << "\n";
  return s.failed.empty() ? 0 : 1;
}

}  // namespace morphfit::app
