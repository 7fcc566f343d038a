// Synthetic sets (src/synth), the HDF5 side: the schema (every dataset, shapes, types, ranges),
// determinism across thread counts and sharding, resume, reading stored samples back and
// re-rendering them, bad input and corrupt shards, and the command line with fitted faces.
// Small images (64 px) and a few samples of the sample model.
#include <hdf5.h>

#include <algorithm>
#include <cstdlib>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include <Eigen/Geometry>
#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include "morphfit/core/face_params.h"
#include "morphfit/core/thread_pool.h"
#include "morphfit/fitters/contour.h"
#include "morphfit/render/param_convert.h"
#include "morphfit/synth/dataset.h"
#include "morphfit/synth/sample_render.h"
#include "morphfit/synth/sampler.h"
#include "synth_test_util.h"

namespace morphfit::synth {
namespace {

namespace fs = std::filesystem;

TEST_F(SynthTest, SchemaHasEveryDatasetWithShapesTypesAndRanges) {
  const Sampler sampler = MakeSampler(Options(/*specular=*/true, /*augment=*/true));
  const int64_t n = 3;
  const std::string path = Path("shard.h5");
  ASSERT_TRUE(WriteShard(path, Model(), sampler, nullptr, Info(n, n), 0, n, nullptr, {}, nullptr).ok());
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  const hsize_t S = kSize, L = 68;
  const int P = FaceParams::Frontal(Model().num_identity(), Model().num_expression(),
                                    Model().num_albedo(), 1, 1, 1, 1)
                    .FlatSize();
  struct Expect {
    const char* path;
    std::vector<hsize_t> dims;
    H5T_class_t type_class;
    size_t type_size;
  };
  const std::vector<Expect> expected = {
      {"/image", {n, S, S, 3}, H5T_INTEGER, 1},
      {"/mask", {n, S, S}, H5T_INTEGER, 1},
      {"/depth", {n, S, S}, H5T_FLOAT, 2},
      {"/normals", {n, S, S, 3}, H5T_INTEGER, 1},
      {"/albedo", {n, S, S, 3}, H5T_INTEGER, 1},
      {"/shading", {n, S, S, 3}, H5T_FLOAT, 2},
      {"/specular", {n, S, S}, H5T_INTEGER, 1},
      {"/landmarks_2d", {n, L, 2}, H5T_FLOAT, 4},
      {"/landmarks_2d_visible", {n, L}, H5T_INTEGER, 1},
      {"/landmarks_3d", {n, L, 3}, H5T_FLOAT, 4},
      {"/landmarks_3d_visible", {n, L}, H5T_INTEGER, 1},
      {"/params", {n, static_cast<hsize_t>(P)}, H5T_FLOAT, 8},
      {"/sample_index", {n}, H5T_INTEGER, 8},
      {"/pose_deg", {n, 3}, H5T_FLOAT, 4},
      {"/light_direction", {n, 3}, H5T_FLOAT, 8},
      {"/specular_params", {n, 2}, H5T_FLOAT, 8},
      {"/background/kind", {n}, H5T_INTEGER, 1},
      {"/background/color", {n, 3}, H5T_FLOAT, 4},
      {"/background/noise_seed", {n}, H5T_INTEGER, 8},
      {"/background/image_index", {n}, H5T_INTEGER, 4},
      {"/background/crop", {n, 4}, H5T_INTEGER, 4},
      {"/augment/gain", {n, 3}, H5T_FLOAT, 4},
      {"/augment/gamma", {n}, H5T_FLOAT, 4},
      {"/augment/blur_sigma", {n}, H5T_FLOAT, 4},
      {"/augment/jpeg_quality", {n}, H5T_INTEGER, 4},
      {"/source/fit_row", {n}, H5T_INTEGER, 4},
      {"/source/lighting_from_fit", {n}, H5T_INTEGER, 1},
  };
  for (const Expect& e : expected) {
    const DatasetInfo info = Inspect(f, e.path);
    ASSERT_TRUE(info.exists) << e.path;
    EXPECT_EQ(info.dims, e.dims) << e.path;
    EXPECT_EQ(info.type_class, e.type_class) << e.path;
    EXPECT_EQ(info.type_size, e.type_size) << e.path;
  }
  for (const char* attr : {"format", "version", "model_name", "model_hash", "model_source",
                           "conventions", "sh_basis", "seed", "image_size", "first_index", "count",
                           "camera_model", "storage", "jaw_landmarks_2d"}) {
    EXPECT_TRUE(HasRootAttribute(f, attr)) << attr;
  }

  // Ranges.
  const auto mask = ReadAll<uint8_t>(f, "/mask", H5T_NATIVE_UINT8);
  const auto normals = ReadAll<uint8_t>(f, "/normals", H5T_NATIVE_UINT8);
  const auto albedo = ReadAll<uint8_t>(f, "/albedo", H5T_NATIVE_UINT8);
  const auto shading = ReadAll<float>(f, "/shading", H5T_NATIVE_FLOAT);
  const auto depth = ReadAll<float>(f, "/depth", H5T_NATIVE_FLOAT);
  const auto params = ReadAll<double>(f, "/params", H5T_NATIVE_DOUBLE);
  const auto lm2 = ReadAll<float>(f, "/landmarks_2d", H5T_NATIVE_FLOAT);
  const auto index = ReadAll<int64_t>(f, "/sample_index", H5T_NATIVE_INT64);
  EXPECT_EQ(index, (std::vector<int64_t>{0, 1, 2}));
  int64_t face = 0;
  for (size_t i = 0; i < mask.size(); ++i) {
    ASSERT_LE(mask[i], 1);
    if (!mask[i]) {
      EXPECT_EQ(normals[3 * i], 0);
      EXPECT_EQ(albedo[3 * i + 1], 0);
      EXPECT_EQ(shading[3 * i + 2], 0.0f);
      EXPECT_EQ(depth[i], 0.0f);
      continue;
    }
    ++face;
    double norm2 = 0.0;
    for (int c = 0; c < 3; ++c) {
      const double v = normals[3 * i + c] / 127.5 - 1.0;  // the documented decoding
      norm2 += v * v;
      const double a = albedo[3 * i + c] / 255.0;
      EXPECT_GE(a, 0.0);
      EXPECT_LE(a, 1.0);
      EXPECT_TRUE(std::isfinite(shading[3 * i + c]));
    }
    // Quantisation: each component within 1/255 of the true value, so |n| within ~0.01 of 1.
    EXPECT_NEAR(std::sqrt(norm2), 1.0, 0.012) << "pixel " << i;
    // Depth relative to the face centre distance: within a head's size.
    EXPECT_LT(std::abs(depth[i]), 200.0f);
  }
  EXPECT_GT(face, n * kSize * kSize / 10) << "the faces should cover a good part of the images";
  for (double v : params) EXPECT_TRUE(std::isfinite(v));
  for (float v : lm2) EXPECT_TRUE(std::isfinite(v));
  // Scales are in the file.
  const hid_t d = H5Dopen2(f, "/normals", H5P_DEFAULT);
  const hid_t a = H5Aopen(d, "scale", H5P_DEFAULT);
  double scale = 0.0;
  H5Aread(a, H5T_NATIVE_DOUBLE, &scale);
  EXPECT_DOUBLE_EQ(scale, 1.0 / 127.5);
  H5Aclose(a);
  H5Dclose(d);
  H5Fclose(f);
}

TEST_F(SynthTest, ShardFilesDoNotDependOnThreadCount) {
  const Sampler sampler = MakeSampler(Options(true, true));
  ThreadPool two(2), three(3);
  const SetInfo info = Info(5, 5);
  ASSERT_TRUE(WriteShard(Path("a.h5"), Model(), sampler, nullptr, info, 0, 5, nullptr, {}, nullptr).ok());
  ASSERT_TRUE(WriteShard(Path("b.h5"), Model(), sampler, nullptr, info, 0, 5, &two, {}, nullptr).ok());
  ASSERT_TRUE(WriteShard(Path("c.h5"), Model(), sampler, nullptr, info, 0, 5, &three, {}, nullptr).ok());
  const std::string a = ReadBytes(Path("a.h5"));
  ASSERT_GT(a.size(), 1000u);
  EXPECT_TRUE(a == ReadBytes(Path("b.h5")));
  EXPECT_TRUE(a == ReadBytes(Path("c.h5")));
}

// Several blocks of 32 (32 + 32 + 6 samples) pass through WriteShard's pipeline, where each
// block's shapes are evaluated by one worker while the others render: the file is the same
// with 1, 2 and 5 threads, and the progress callback runs on the calling thread only and counts
// every sample once.
TEST_F(SynthTest, ShardOfSeveralBlocksIsTheSameWithAnyThreadCount) {
  const Sampler sampler = MakeSampler(Options(true, true));
  const SetInfo info = Info(70, 70);
  ThreadPool two(2), five(5);
  std::string first;
  for (ThreadPool* pool : {static_cast<ThreadPool*>(nullptr), &two, &five}) {
    const std::thread::id caller = std::this_thread::get_id();
    int64_t reported = 0;
    bool other_thread = false;
    const std::string name = "t" + std::to_string(pool ? pool->num_threads() : 1) + ".h5";
    ASSERT_TRUE(WriteShard(Path(name), Model(), sampler, nullptr, info, 0, 70, pool,
                           [&](int64_t done) {
                             reported += done;
                             other_thread = other_thread || std::this_thread::get_id() != caller;
                           },
                           nullptr)
                    .ok());
    EXPECT_EQ(reported, 70) << name;
    EXPECT_FALSE(other_thread) << name;
    const std::string bytes = ReadBytes(Path(name));
    ASSERT_GT(bytes.size(), 1000u);
    if (first.empty()) {
      first = bytes;
    } else {
      EXPECT_TRUE(bytes == first) << name << " differs from the 1-thread shard";
    }
  }
}

// WriteShard evaluates shapes in blocks of 32 samples; a sample stores the same values whatever
// block it falls in (here: rows 0-31 and 32-39 of one shard vs a shard starting at 29).
TEST_F(SynthTest, SamplesDoNotDependOnTheirBlock) {
  const Sampler sampler = MakeSampler(Options(true, true));
  const SetInfo info = Info(40, 40);
  ThreadPool two(2);
  ASSERT_TRUE(WriteShard(Path("all.h5"), Model(), sampler, nullptr, info, 0, 40, &two, {}, nullptr).ok());
  ASSERT_TRUE(WriteShard(Path("tail.h5"), Model(), sampler, nullptr, info, 29, 40, nullptr, {}, nullptr).ok());
  for (int64_t i = 29; i < 40; ++i) {
    auto a = ReadStoredSample(Path("all.h5"), i);
    auto b = ReadStoredSample(Path("tail.h5"), i - 29);
    ASSERT_TRUE(a.ok() && b.ok());
    const EncodedSample& x = a.value().data;
    const EncodedSample& y = b.value().data;
    EXPECT_EQ(b.value().spec.index, i);
    EXPECT_TRUE(x.image == y.image && x.mask == y.mask && x.depth == y.depth &&
                x.normals == y.normals && x.albedo == y.albedo && x.shading == y.shading &&
                x.specular == y.specular)
        << "sample " << i;
    EXPECT_TRUE(x.landmarks_2d == y.landmarks_2d && x.landmarks_3d == y.landmarks_3d &&
                x.params == y.params)
        << "sample " << i;
  }
}

// A sample that cannot be rendered (an image background that is not loaded) fails the shard
// with its index, leaves no file behind, and the workers do not wait for it forever.
TEST_F(SynthTest, AFailingSampleFailsTheShardCleanly) {
  const SamplerOptions o = Options(false, false);
  auto sampler = Sampler::Create(Model(), o, {}, {{200, 200}});
  ASSERT_TRUE(sampler.ok());
  int64_t first_image = -1;
  for (int64_t i = 0; i < 40 && first_image < 0; ++i) {
    if (sampler.value().Draw(7, i).background.kind == BackgroundKind::kImage) first_image = i;
  }
  ASSERT_GE(first_image, 0);
  ThreadPool two(2);
  for (ThreadPool* pool : {static_cast<ThreadPool*>(nullptr), &two}) {
    const Status s = WriteShard(Path("bad.h5"), Model(), sampler.value(), nullptr, Info(40, 40),
                                0, 40, pool, {}, nullptr);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("sample " + std::to_string(first_image) + ":"), std::string::npos)
        << s.message();
    EXPECT_NE(s.message().find("not loaded"), std::string::npos) << s.message();
    EXPECT_FALSE(fs::exists(Path("bad.h5")));
  }
  for (const auto& e : fs::directory_iterator(dir_)) {
    EXPECT_EQ(e.path().string().find(".tmp"), std::string::npos) << e.path();
  }
}

TEST_F(SynthTest, ShardingAndResumeGiveTheSameSet) {
  const Sampler sampler = MakeSampler(Options(false, true));
  const SetInfo info = Info(7, 3);  // shards of 3, 3, 1 samples
  ThreadPool pool(2);
  SetOptions whole;
  whole.output_dir = Path("whole");
  auto all = GenerateSet(Model(), sampler, nullptr, info, whole, &pool, {}, {});
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(all.value().num_shards, 3);
  EXPECT_EQ(all.value().shards_written, 3);
  EXPECT_EQ(all.value().timings.samples, 7);

  SetOptions part;
  part.output_dir = Path("parts");
  for (int k = 0; k < 2; ++k) {
    part.shard = Shard{k, 2};
    auto s = GenerateSet(Model(), sampler, nullptr, info, part, nullptr, {}, {});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_EQ(s.value().shards_in_job, k == 0 ? 2 : 1);
  }
  for (int s = 0; s < 3; ++s) {
    const std::string name = ShardFileName(s, 3);
    EXPECT_TRUE(ReadBytes(Path("whole/" + name)) == ReadBytes(Path("parts/" + name))) << name;
  }

  // Resume: a deleted shard is regenerated, the others are left alone.
  const std::string name1 = ShardFileName(1, 3);
  const std::string before = ReadBytes(Path("whole/" + name1));
  fs::remove(Path("whole/" + name1));
  int64_t announced = -1;
  auto resumed = GenerateSet(Model(), sampler, nullptr, info, whole, &pool,
                             [&](int64_t total) { announced = total; }, {});
  ASSERT_TRUE(resumed.ok());
  EXPECT_EQ(resumed.value().shards_present, 2);
  EXPECT_EQ(resumed.value().shards_written, 1);
  EXPECT_EQ(announced, 3);
  EXPECT_TRUE(before == ReadBytes(Path("whole/" + name1)));
  // No temporary files left behind.
  for (const auto& e : fs::directory_iterator(Path("whole"))) {
    EXPECT_EQ(e.path().string().find(".tmp"), std::string::npos) << e.path();
  }

  // A different set in the same folder is refused.
  const SetInfo other = Info(7, 3, /*seed=*/8);
  auto refused = GenerateSet(Model(), sampler, nullptr, other, whole, nullptr, {}, {});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("seed"), std::string::npos) << refused.status().message();
  // A manifest that is not a JSON object is an error naming it.
  for (const char* text : {"[1, 2]", "not json"}) {
    std::ofstream(Path("whole/synth.json")) << text;
    auto broken = GenerateSet(Model(), sampler, nullptr, info, whole, nullptr, {}, {});
    ASSERT_FALSE(broken.ok()) << text;
    EXPECT_NE(broken.status().message().find("synth.json"), std::string::npos);
  }
}

TEST_F(SynthTest, StoredSampleEqualsDirectRenderAndRerendersIdentically) {
  const Sampler sampler = MakeSampler(Options(true, true));
  const int64_t n = 4;
  const std::string path = Path("shard.h5");
  ASSERT_TRUE(WriteShard(path, Model(), sampler, nullptr, Info(n, n, 11), 0, n, nullptr, {}, nullptr).ok());
  auto extent = ReadShardExtent(path);
  ASSERT_TRUE(extent.ok());
  EXPECT_EQ(extent.value().first_index, 0);
  EXPECT_EQ(extent.value().count, n);
  for (int64_t row = 0; row < n; ++row) {
    auto stored = ReadStoredSample(path, row);
    ASSERT_TRUE(stored.ok()) << stored.status().ToString();
    const StoredSample& s = stored.value();
    EXPECT_EQ(s.spec.index, row);
    // Re-render from the parameters and records read back from the file.
    auto again = RenderSample(Model(), s.spec, nullptr, true);
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    const EncodedSample& e = again.value();
    EXPECT_TRUE(e.image == s.data.image) << "row " << row;
    EXPECT_TRUE(e.mask == s.data.mask);
    EXPECT_TRUE(e.depth == s.data.depth);
    EXPECT_TRUE(e.normals == s.data.normals);
    EXPECT_TRUE(e.albedo == s.data.albedo);
    EXPECT_TRUE(e.shading == s.data.shading);
    EXPECT_TRUE(e.specular == s.data.specular);
    EXPECT_TRUE(e.landmarks_2d == s.data.landmarks_2d);
    EXPECT_TRUE(e.landmarks_3d == s.data.landmarks_3d);
    EXPECT_TRUE(e.params == s.data.params);
    // And the sampler draws the same sample again from (seed, index).
    const SampleSpec drawn = sampler.Draw(11, row);
    EXPECT_TRUE(drawn.params.ToFlat() == s.spec.params.ToFlat());
    EXPECT_EQ(drawn.augment.jpeg_quality, s.spec.augment.jpeg_quality);
  }
}

TEST_F(SynthTest, BadInputGivesClearErrors) {
  const Sampler sampler = MakeSampler(Options(false, false));
  SetOptions o;
  o.output_dir = Path("out");
  auto zero = GenerateSet(Model(), sampler, nullptr, Info(0, 10), o, nullptr, {}, {});
  ASSERT_FALSE(zero.ok());
  EXPECT_NE(zero.status().message().find("--count"), std::string::npos);
  auto missing = ReadStoredSample(Path("missing.h5"), 0);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("missing.h5"), std::string::npos);
  std::ofstream(Path("junk.h5")) << "junk";
  EXPECT_FALSE(ReadShardExtent(Path("junk.h5")).ok());
  SamplerOptions tiny = Options(false, false);
  tiny.size = 4;
  EXPECT_FALSE(Sampler::Create(Model(), tiny, {}, {}).ok());
  models::MorphableModel no_landmarks = Model();
  no_landmarks.landmarks.clear();
  auto refused = Sampler::Create(no_landmarks, Options(false, false), {}, {});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("68"), std::string::npos);
  EXPECT_FALSE(ParseCameraModel("fisheye").ok());
  EXPECT_FALSE(HashFile(Path("missing.bin")).ok());
}

TEST_F(SynthTest, CorruptShardsAreErrorsNotCrashes) {
  const Sampler sampler = MakeSampler(Options(false, false));
  const std::string path = Path("shard.h5");
  ASSERT_TRUE(WriteShard(path, Model(), sampler, nullptr, Info(2, 2), 0, 2, nullptr, {}, nullptr).ok());
  ASSERT_TRUE(ReadStoredSample(path, 1).ok());
  auto outside = ReadStoredSample(path, 2);
  ASSERT_FALSE(outside.ok());
  EXPECT_NE(outside.status().message().find("row 2"), std::string::npos) << outside.status().message();
  // An image_size attribute that disagrees with the datasets' shapes.
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  const hid_t root = H5Gopen2(f, "/", H5P_DEFAULT);
  const hid_t attr = H5Aopen(root, "image_size", H5P_DEFAULT);
  const int64_t wrong = 2 * kSize;
  ASSERT_GE(H5Awrite(attr, H5T_NATIVE_INT64, &wrong), 0);
  H5Aclose(attr);
  H5Gclose(root);
  H5Fclose(f);
  auto bad = ReadStoredSample(path, 0);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("values per sample"), std::string::npos)
      << bad.status().message();
}

TEST_F(SynthTest, HalfFloatRoundTrip) {
  for (float v : {0.0f, 1.0f, -2.5f, 0.3333f, 1000.25f, 65504.0f}) {
    EXPECT_NEAR(HalfToFloat(FloatToHalf(v)), v, std::abs(v) / 1024.0f) << v;
  }
  EXPECT_EQ(FloatToHalf(1.0f), 0x3C00);
  EXPECT_TRUE(std::isinf(HalfToFloat(FloatToHalf(1e6f))));
  // The bulk conversion gives FloatToHalf's bits: ties, subnormals, overflow, both signs, and a
  // count that is not a multiple of the vector width.
  std::vector<float> values = {0.0f, -0.0f, 1.0f, 1.0f + 1.0f / 2048.0f, 1.0f + 3.0f / 2048.0f,
                               6e-8f, 3e-8f, 1e-5f, 65519.0f, 65520.0f, 1e6f, -1e6f,
                               std::numeric_limits<float>::infinity()};
  for (int i = 0; i < 1000; ++i) {
    values.push_back(std::ldexp(1.0f + i / 1000.0f, i % 40 - 26) * (i % 2 ? -1.0f : 1.0f));
  }
  std::vector<uint16_t> bulk(values.size());
  FloatsToHalves(values.data(), values.size(), bulk.data());
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(bulk[i], FloatToHalf(values[i])) << values[i];
  }
}

// The command line end to end with a FaceParams table (`--from_fits`), as written by the fitters.
TEST_F(SynthTest, CommandReRendersFittedFacesFromATable) {
  std::vector<FaceParams> rows;
  for (int r = 0; r < 2; ++r) {
    FaceParams p = FaceParams::Frontal(Model().num_identity(), Model().num_expression(),
                                       Model().num_albedo(), 224, 224, 1015, 1000);
    p.identity.setConstant(0.4 * (r + 1));
    p.albedo.setConstant(-0.3 * (r + 1));
    rows.push_back(p);
  }
  ASSERT_TRUE(WriteFaceParamsTable(Path("fits.h5"), {"a", "b"}, rows).ok());
  const std::string out = Path("set");
  const std::string command = std::string(MORPHFIT_BINARY) +
                              " synth --model sample --count 3 --size 48 --noaugment --from_fits " +
                              Path("fits.h5") + " --output_dir " + out + " > " + Path("log.txt") +
                              " 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << ReadBytes(Path("log.txt"));
  const std::string shard = out + "/" + ShardFileName(0, 1);
  for (int64_t i = 0; i < 3; ++i) {
    auto s = ReadStoredSample(shard, i);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_EQ(s.value().spec.source_row, i % 2);
    EXPECT_TRUE(s.value().spec.params.identity == rows[i % 2].identity);
    EXPECT_TRUE(s.value().spec.params.albedo == rows[i % 2].albedo);
  }
  // A table made for another model (other block sizes) is refused, naming the file.
  rows[0].identity.resize(5);
  rows[1].identity.resize(5);
  ASSERT_TRUE(WriteFaceParamsTable(Path("other.h5"), {"a", "b"}, rows).ok());
  const std::string bad = std::string(MORPHFIT_BINARY) +
                          " synth --model sample --count 3 --size 48 --from_fits " +
                          Path("other.h5") + " --output_dir " + Path("bad") + " > " +
                          Path("bad.txt") + " 2>&1";
  EXPECT_NE(std::system(bad.c_str()), 0);
  const std::string message = ReadBytes(Path("bad.txt"));
  EXPECT_NE(message.find("other.h5"), std::string::npos) << message;
  EXPECT_NE(message.find("identity"), std::string::npos) << message;
}

}  // namespace
}  // namespace morphfit::synth
