// The batched render path of `morphfit synth --device cuda` (device_render.h) on a machine
// without a device: its CPU twin renders every face from the very batch arrays that the CUDA
// path uploads, so the plumbing (per-vertex inputs, per-face specular, slots, channel views,
// the shared encoder) is checked bit for bit against the CPU path; --device cuda without CUDA
// or without a device is refused before anything is written. The device itself is compared
// with the CPU in synth_cuda_test.cc (label gpu).
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "morphfit/core/thread_pool.h"
#include "morphfit/synth/dataset.h"
#include "morphfit/synth/device_render.h"
#include "morphfit/synth/sample_render.h"
#include "morphfit/synth/sampler.h"
#include "synth_test_util.h"

namespace morphfit::synth {
namespace {

namespace fs = std::filesystem;

void ExpectSameSample(const EncodedSample& x, const EncodedSample& y, const std::string& what) {
  EXPECT_TRUE(x.image == y.image) << what;
  EXPECT_TRUE(x.mask == y.mask) << what;
  EXPECT_TRUE(x.depth == y.depth) << what;
  EXPECT_TRUE(x.normals == y.normals) << what;
  EXPECT_TRUE(x.albedo == y.albedo) << what;
  EXPECT_TRUE(x.shading == y.shading) << what;
  EXPECT_TRUE(x.specular == y.specular) << what;
  EXPECT_TRUE(x.landmarks_2d == y.landmarks_2d && x.landmarks_3d == y.landmarks_3d) << what;
  EXPECT_TRUE(x.landmarks_2d_visible == y.landmarks_2d_visible &&
              x.landmarks_3d_visible == y.landmarks_3d_visible)
      << what;
  EXPECT_TRUE(x.params == y.params) << what;
}

// 40 samples = a block of 32 and one of 8, specular and augmentation on: the same file bytes
// as the CPU path, whatever the thread count.
TEST_F(SynthTest, BatchedPathWithItsCpuTwinWritesTheCpuShard) {
  const Sampler sampler = MakeSampler(Options(/*specular=*/true, /*augment=*/true));
  const SetInfo info = Info(40, 40);
  ThreadPool two(2);
  ShardTimings cpu, batch, batch_serial;
  ASSERT_TRUE(WriteShard(Path("cpu.h5"), Model(), sampler, nullptr, info, 0, 40, &two, {}, &cpu,
                         RenderDevice::kCpu)
                  .ok());
  ASSERT_TRUE(WriteShard(Path("batch.h5"), Model(), sampler, nullptr, info, 0, 40, &two, {},
                         &batch, RenderDevice::kCpuBatch)
                  .ok());
  ASSERT_TRUE(WriteShard(Path("batch1.h5"), Model(), sampler, nullptr, info, 0, 40, nullptr, {},
                         &batch_serial, RenderDevice::kCpuBatch)
                  .ok());
  const std::string a = ReadBytes(Path("cpu.h5"));
  ASSERT_GT(a.size(), 1000u);
  EXPECT_TRUE(a == ReadBytes(Path("batch.h5")));
  EXPECT_TRUE(a == ReadBytes(Path("batch1.h5")));
  EXPECT_EQ(cpu.device_seconds, 0.0);
  EXPECT_GT(batch.device_seconds, 0.0);
  EXPECT_EQ(batch.samples, 40);
}

// A sample whose parameters are refused is left out of the batch and reports its error; the
// others are encoded exactly as RenderSample does. Samples of one block that disagree on the
// image size fail the block.
TEST_F(SynthTest, BlockRendererReportsARefusedSampleAndRendersTheOthers) {
  const Sampler sampler = MakeSampler(Options(/*specular=*/true, /*augment=*/false));
  std::vector<SampleSpec> specs = {sampler.Draw(3, 0), sampler.Draw(3, 1), sampler.Draw(3, 2)};
  specs[1].params.identity.resize(Model().num_identity() + 1);
  specs[1].params.identity.setZero();
  const SampleContext context(Model());
  std::vector<const FaceParams*> params;
  std::vector<const SampleSpec*> pointers;
  for (const SampleSpec& s : specs) {
    params.push_back(&s.params);
    pointers.push_back(&s);
  }
  GeometryBlock geometry;
  context.EvaluateGeometry(params, nullptr, &geometry);
  BlockRenderer renderer(context, RenderDevice::kCpuBatch);
  ASSERT_TRUE(renderer.Render(pointers, geometry, nullptr).ok());
  ASSERT_EQ(renderer.count(), 3);
  EXPECT_EQ(renderer.Face(1).image, nullptr);
  EXPECT_EQ(renderer.VisibleTriangles(1), nullptr);
  auto refused = renderer.Encode(1, nullptr, true);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("render parameters"), std::string::npos)
      << refused.status().message();
  for (int j : {0, 2}) {
    ASSERT_NE(renderer.VisibleTriangles(j), nullptr);
    int covered = 0;
    const int32_t* triangles = renderer.VisibleTriangles(j);
    for (int i = 0; i < kSize * kSize; ++i) covered += triangles[i] >= 0 ? 1 : 0;
    EXPECT_GT(covered, kSize * kSize / 20) << "sample " << j;
    auto batched = renderer.Encode(j, nullptr, true);
    auto direct = RenderSample(context, specs[j], nullptr, true);
    ASSERT_TRUE(batched.ok() && direct.ok());
    ExpectSameSample(batched.value(), direct.value(), "sample " + std::to_string(j));
  }
  EXPECT_FALSE(renderer.Encode(3, nullptr, true).ok());

  specs[1] = sampler.Draw(3, 1);
  specs[2].params.image_width += 2;
  const Status mixed = renderer.Render(pointers, geometry, nullptr);
  EXPECT_FALSE(mixed.ok());
  EXPECT_NE(mixed.message().find("image size"), std::string::npos) << mixed.message();
}

// --device cuda where CUDA cannot be used (a build without it, or no device): a clear error
// with the reason, and no folder, manifest or shard file.
TEST_F(SynthTest, CudaWithoutADeviceIsRefusedBeforeAnythingIsWritten) {
  std::string reason;
  if (RenderDeviceAvailable(RenderDevice::kCuda, &reason)) {
    GTEST_SKIP() << "a CUDA device is usable here: the refusal cannot be checked";
  }
  ASSERT_FALSE(reason.empty());
  const Sampler sampler = MakeSampler(Options(false, false));
  SetOptions options;
  options.output_dir = Path("set");
  options.device = RenderDevice::kCuda;
  auto set = GenerateSet(Model(), sampler, nullptr, Info(4, 2), options, nullptr, {}, {});
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(set.status().message().find("--device cuda: " + reason), std::string::npos)
      << set.status().message();
  EXPECT_FALSE(fs::exists(Path("set")));

  const Status shard = WriteShard(Path("shard.h5"), Model(), sampler, nullptr, Info(2, 2), 0, 2,
                                  nullptr, {}, nullptr, RenderDevice::kCuda);
  ASSERT_FALSE(shard.ok());
  EXPECT_NE(shard.message().find("--device cuda"), std::string::npos) << shard.message();
  EXPECT_TRUE(fs::is_empty(dir_));

  EXPECT_TRUE(RenderDeviceAvailable(RenderDevice::kCpu, nullptr));
  EXPECT_TRUE(RenderDeviceAvailable(RenderDevice::kCpuBatch, nullptr));
}

// Device blocks hold at most 2^22 pixels (and 32 samples, the CPU's block); at least one.
TEST(SynthDeviceTest, DeviceBlocksAreBoundedInPixels) {
  EXPECT_EQ(SamplesPerBlock(RenderDevice::kCpu, 4096), 32);
  EXPECT_EQ(SamplesPerBlock(RenderDevice::kCuda, 224), 32);
  EXPECT_EQ(SamplesPerBlock(RenderDevice::kCuda, 362), 32);
  EXPECT_EQ(SamplesPerBlock(RenderDevice::kCuda, 363), 31);
  EXPECT_EQ(SamplesPerBlock(RenderDevice::kCpuBatch, 512), 16);
  EXPECT_EQ(SamplesPerBlock(RenderDevice::kCuda, 2048), 1);
  EXPECT_EQ(SamplesPerBlock(RenderDevice::kCuda, 4096), 1);
  for (int size : {16, 100, 224, 300, 700, 1500, 4096}) {
    const int b = SamplesPerBlock(RenderDevice::kCuda, size);
    EXPECT_TRUE(b == 1 || int64_t{b} * size * size <= (int64_t{1} << 22)) << size;
  }
}

TEST(SynthDeviceTest, ParsesTheCommandLineDevices) {
  auto cpu = ParseRenderDevice("cpu");
  auto cuda = ParseRenderDevice("cuda");
  ASSERT_TRUE(cpu.ok() && cuda.ok());
  EXPECT_EQ(cpu.value(), RenderDevice::kCpu);
  EXPECT_EQ(cuda.value(), RenderDevice::kCuda);
  EXPECT_STREQ(RenderDeviceName(RenderDevice::kCuda), "cuda");
  for (const char* bad : {"gpu", "cpu-batch", ""}) {
    auto parsed = ParseRenderDevice(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_NE(parsed.status().message().find("'" + std::string(bad) + "'"), std::string::npos);
  }
}

}  // namespace
}  // namespace morphfit::synth
