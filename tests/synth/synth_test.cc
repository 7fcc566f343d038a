// Synthetic sets (src/synth): the HDF5 schema (every dataset, shapes, types, ranges),
// determinism across thread counts and sharding, resume, image = albedo x shading + specular
// on the face, landmarks on the rendered face, re-rendering stored parameters, backgrounds,
// and bad input. Small images (64 px) and a few samples of the sample model.
#include <hdf5.h>

#include <algorithm>
#include <cstdlib>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <Eigen/Geometry>
#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>

#include "morphfit/core/face_params.h"
#include "morphfit/core/thread_pool.h"
#include "morphfit/fitters/contour.h"
#include "morphfit/models/sample_model.h"
#include "morphfit/render/param_convert.h"
#include "morphfit/synth/dataset.h"
#include "morphfit/synth/sample_render.h"
#include "morphfit/synth/sampler.h"

namespace morphfit::synth {
namespace {

namespace fs = std::filesystem;

constexpr int kSize = 64;

const models::MorphableModel& Model() {
  static const models::MorphableModel* model =
      new models::MorphableModel(models::MakeSampleModel());
  return *model;
}

class SynthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) / (std::string("morphfit_synth_") + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static SamplerOptions Options(bool specular, bool augment) {
    SamplerOptions o;
    o.size = kSize;
    o.specular = specular;
    o.augment = augment;
    return o;
  }
  static Sampler MakeSampler(const SamplerOptions& o, std::vector<FaceParams> fits = {},
                             const Backgrounds* backgrounds = nullptr) {
    auto s = Sampler::Create(Model(), o, std::move(fits),
                             backgrounds ? backgrounds->Sizes() : std::vector<std::pair<int, int>>{});
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return std::move(s).value();
  }
  static SetInfo Info(int64_t count, int64_t per_shard, uint64_t seed = 7) {
    SetInfo info;
    info.seed = seed;
    info.total_count = count;
    info.samples_per_shard = per_shard;
    info.model_source = "in-memory sample model";
    info.model_hash = "fnv1a64:0000000000000000";
    return info;
  }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Shape and type class/size of a dataset.
struct DatasetInfo {
  bool exists = false;
  std::vector<hsize_t> dims;
  H5T_class_t type_class = H5T_NO_CLASS;
  size_t type_size = 0;
};

DatasetInfo Inspect(hid_t file, const std::string& path) {
  DatasetInfo info;
  if (H5Lexists(file, path.c_str(), H5P_DEFAULT) <= 0) {
    // Intermediate groups: H5Lexists fails on a missing parent, which is "absent" too.
    return info;
  }
  const hid_t d = H5Dopen2(file, path.c_str(), H5P_DEFAULT);
  if (d < 0) return info;
  info.exists = true;
  const hid_t space = H5Dget_space(d);
  info.dims.resize(H5Sget_simple_extent_ndims(space));
  H5Sget_simple_extent_dims(space, info.dims.data(), nullptr);
  const hid_t type = H5Dget_type(d);
  info.type_class = H5Tget_class(type);
  info.type_size = H5Tget_size(type);
  H5Tclose(type);
  H5Sclose(space);
  H5Dclose(d);
  return info;
}

template <typename T>
std::vector<T> ReadAll(hid_t file, const std::string& path, hid_t mem_type) {
  const hid_t d = H5Dopen2(file, path.c_str(), H5P_DEFAULT);
  const hid_t space = H5Dget_space(d);
  std::vector<T> out(static_cast<size_t>(H5Sget_simple_extent_npoints(space)));
  EXPECT_GE(H5Dread(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()), 0) << path;
  H5Sclose(space);
  H5Dclose(d);
  return out;
}

bool HasRootAttribute(hid_t file, const char* name) {
  const hid_t root = H5Gopen2(file, "/", H5P_DEFAULT);
  const bool has = H5Aexists(root, name) > 0;
  H5Gclose(root);
  return has;
}

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

TEST_F(SynthTest, ImageIsAlbedoTimesShadingPlusSpecularOnTheFace) {
  const Sampler sampler = MakeSampler(Options(/*specular=*/true, /*augment=*/false));
  int64_t checked = 0, face = 0;
  for (int64_t i = 0; i < 4; ++i) {
    auto s = RenderSample(Model(), sampler.Draw(3, i), nullptr, true);
    ASSERT_TRUE(s.ok());
    const EncodedSample& e = s.value();
    for (size_t p = 0; p < e.mask.size(); ++p) {
      if (!e.mask[p]) continue;
      ++face;
      const float spec = e.specular[p] / 255.0f;
      bool clipped = e.specular[p] == 255;
      for (int c = 0; c < 3; ++c) {
        clipped = clipped || e.image[3 * p + c] == 0 || e.image[3 * p + c] == 255 ||
                  e.albedo[3 * p + c] == 0 || e.albedo[3 * p + c] == 255;
      }
      if (clipped) continue;  // clamped on storage: the product no longer holds
      ++checked;
      for (int c = 0; c < 3; ++c) {
        const float a = e.albedo[3 * p + c] / 255.0f;
        const float sh = HalfToFloat(e.shading[3 * p + c]);
        const float predicted = a * sh + spec;
        // Quantisation: image and specular +-0.5/255, albedo +-0.5/255 times shading,
        // float16 shading 2^-11 relative.
        const float tol = (1.0f + 0.5f * std::abs(sh)) / 255.0f + std::abs(a * sh) / 1024.0f;
        ASSERT_NEAR(e.image[3 * p + c] / 255.0f, predicted, tol)
            << "sample " << i << " pixel " << p << " channel " << c;
      }
    }
  }
  EXPECT_GT(checked, face / 2) << "most face pixels should be unclipped";
}

TEST_F(SynthTest, LandmarksProjectOntoTheRenderedFace) {
  const Sampler sampler = MakeSampler(Options(false, false));
  int visible = 0, near_face = 0;
  for (int64_t i = 0; i < 6; ++i) {
    auto s = RenderSample(Model(), sampler.Draw(5, i), nullptr, false);
    ASSERT_TRUE(s.ok());
    const EncodedSample& e = s.value();
    auto near_mask = [&](double u, double v, int radius) {
      for (int dy = -radius; dy <= radius; ++dy) {
        for (int dx = -radius; dx <= radius; ++dx) {
          const long x = std::lround(u) + dx, y = std::lround(v) + dy;
          if (x >= 0 && y >= 0 && x < kSize && y < kSize && e.mask[y * kSize + x]) return true;
        }
      }
      return false;
    };
    for (int k = 0; k < 68; ++k) {
      if (e.landmarks_3d_visible[k]) {
        ++visible;
        near_face += near_mask(e.landmarks_3d[3 * k], e.landmarks_3d[3 * k + 1], 1);
        // Camera z of a landmark: around the face's distance (Deep3D camera: ~1 m).
        EXPECT_GT(e.landmarks_3d[3 * k + 2], 700.0f);
        EXPECT_LT(e.landmarks_3d[3 * k + 2], 1300.0f);
      }
      if (e.landmarks_2d_visible[k]) {
        ++visible;
        near_face += near_mask(e.landmarks_2d[2 * k], e.landmarks_2d[2 * k + 1], 1);
      }
      if (k >= 17) {  // the inner landmarks are the same vertices in both styles
        EXPECT_FLOAT_EQ(e.landmarks_2d[2 * k], e.landmarks_3d[3 * k]);
        EXPECT_FLOAT_EQ(e.landmarks_2d[2 * k + 1], e.landmarks_3d[3 * k + 1]);
      }
    }
  }
  EXPECT_GT(visible, 6 * 68);  // most landmarks of 6 faces in 2 styles are visible
  EXPECT_EQ(near_face, visible);
}

TEST_F(SynthTest, SilhouetteJawFollowsTheOutlineOfATurnedFace) {
  // At 60 degrees of yaw the 2D-style jaw on the far side differs from the fixed vertices.
  const Sampler sampler = MakeSampler(Options(false, false));
  SampleSpec spec = sampler.Draw(1, 0);
  spec.pose_deg = Eigen::Vector3d(60, 0, 0);
  spec.params.rotation = RotationFromYawPitchRoll(spec.pose_deg);
  auto s = RenderSample(Model(), spec, nullptr, false);
  ASSERT_TRUE(s.ok());
  double moved = 0.0;
  for (int k = 0; k < 17; ++k) {
    moved = std::max<double>(moved, std::hypot(s.value().landmarks_2d[2 * k] - s.value().landmarks_3d[3 * k],
                                       s.value().landmarks_2d[2 * k + 1] - s.value().landmarks_3d[3 * k + 1]));
  }
  EXPECT_GT(moved, 0.5);
}

TEST_F(SynthTest, JawLandmarksAreTheFittersSilhouetteVertices) {
  const Sampler sampler = MakeSampler(Options(false, false));
  const SampleContext context(Model());
  for (int64_t i = 0; i < 8; ++i) {
    SampleSpec spec = sampler.Draw(6, i);
    if (i % 2 == 1) {  // also strongly turned faces
      spec.pose_deg[0] = i < 4 ? 70.0 : -70.0;
      spec.params.rotation = RotationFromYawPitchRoll(spec.pose_deg);
    }
    auto s = RenderSample(context, spec, nullptr, false);
    ASSERT_TRUE(s.ok());
    const std::vector<int> ids = fitters::SilhouetteLandmarkVertices(Model(), spec.params);
    const Eigen::Matrix3d R =
        Eigen::AngleAxisd(spec.params.rotation.norm(), spec.params.rotation.normalized())
            .toRotationMatrix();
    for (int k = 0; k < 68; ++k) {
      Eigen::VectorXf x;
      Model().MakeSubset({ids[k]}).Evaluate(spec.params.identity.cast<float>(),
                                            spec.params.expression.cast<float>(), &x);
      const Eigen::Vector3d p = R * x.cast<double>() + spec.params.translation;
      const double u = spec.params.camera[0] * p.x() / p.z() + spec.params.camera[1];
      const double v = spec.params.camera[0] * p.y() / p.z() + spec.params.camera[2];
      EXPECT_NEAR(s.value().landmarks_2d[2 * k], u, 1e-2) << "sample " << i << " landmark " << k;
      EXPECT_NEAR(s.value().landmarks_2d[2 * k + 1], v, 1e-2) << "sample " << i << " landmark " << k;
    }
  }
}

TEST_F(SynthTest, WeakPerspectiveFacesAreFramedAndDepthDecodes) {
  SamplerOptions o = Options(false, false);
  o.camera = CameraModel::kWeakPerspective;
  const Sampler sampler = MakeSampler(o);
  const SampleContext context(Model());
  for (int64_t i = 0; i < 4; ++i) {
    const SampleSpec spec = sampler.Draw(8, i);
    EXPECT_EQ(spec.params.camera_type, CameraType::kWeakPerspective);
    EXPECT_TRUE(spec.params.translation.isZero());
    auto s = RenderSample(context, spec, nullptr, false);
    ASSERT_TRUE(s.ok());
    const EncodedSample& e = s.value();
    int64_t covered = 0;
    double cx = 0.0, cy = 0.0;
    for (int y = 0; y < kSize; ++y) {
      for (int x = 0; x < kSize; ++x) {
        if (!e.mask[y * kSize + x]) continue;
        ++covered;
        cx += x;
        cy += y;
      }
    }
    ASSERT_GT(covered, kSize * kSize / 5) << "sample " << i;
    EXPECT_NEAR(cx / covered, 0.5 * (kSize - 1), 0.2 * kSize);
    EXPECT_NEAR(cy / covered, 0.5 * (kSize - 1), 0.2 * kSize);
    // Depth + translation z at a visible landmark's pixel is about the landmark's camera z (the
    // pixel centre is up to half a pixel away, on lips and eyelids a few mm of depth).
    std::vector<double> errors;
    for (int k = 17; k < 68; ++k) {
      if (!e.landmarks_3d_visible[k]) continue;
      const long x = std::lround(e.landmarks_3d[3 * k]), y = std::lround(e.landmarks_3d[3 * k + 1]);
      if (!e.mask[y * kSize + x]) continue;  // e.g. inside the mouth slit
      const float depth = HalfToFloat(e.depth[y * kSize + x]) + spec.params.translation.z();
      errors.push_back(std::abs(depth - e.landmarks_3d[3 * k + 2]));
      // Visible: no stored surface more than the 2 mm tolerance in front of it (float16 adds
      // up to 1/16 mm here). Behind it is possible (a lip landmark over the mouth slit).
      EXPECT_GT(depth, e.landmarks_3d[3 * k + 2] - 2.1) << "sample " << i << " landmark " << k;
    }
    ASSERT_GT(errors.size(), 20u);
    std::nth_element(errors.begin(), errors.begin() + errors.size() / 2, errors.end());
    EXPECT_LT(errors[errors.size() / 2], 3.0) << "sample " << i;
  }
}

TEST_F(SynthTest, Deep3dCameraConvertsToDeep3dCoefficients) {
  // At 224 px the sampled camera is exactly Deep3DFaceRecon's, so every sample has a 257-vector
  // (render/param_convert.h), which converts back to the same parameters.
  SamplerOptions o = Options(false, false);
  o.size = 224;
  const Sampler sampler = MakeSampler(o);
  Eigen::Vector3d centre = Eigen::Vector3d::Zero();
  for (int v = 0; v < Model().num_vertices(); ++v) {
    centre += Model().shape_mean.segment<3>(3 * v).cast<double>();
  }
  centre /= Model().num_vertices();
  for (int64_t i = 0; i < 5; ++i) {
    const SampleSpec spec = sampler.Draw(12, i);
    auto coeffs = render::FaceParamsToDeep3d(spec.params, centre);
    ASSERT_TRUE(coeffs.ok()) << coeffs.status().ToString();
    ASSERT_EQ(coeffs.value().size(), 257u);
    render::BlockSizes sizes;
    sizes.num_identity = 80;
    sizes.num_expression = 64;
    sizes.num_albedo = 80;
    auto back = render::FaceParamsFromDeep3d(coeffs.value(), centre, sizes);
    ASSERT_TRUE(back.ok());
    EXPECT_NEAR((back.value().translation - spec.params.translation).norm(), 0.0, 1e-6);
    EXPECT_NEAR((back.value().camera - spec.params.camera).norm(), 0.0, 1e-9);
    EXPECT_NEAR((back.value().lighting - spec.params.lighting).norm(), 0.0, 1e-9);
  }
}

TEST_F(SynthTest, PriorsRespectTheirBounds) {
  const Sampler sampler = MakeSampler(Options(true, true));
  int frontal = 0, wide = 0;
  for (int64_t i = 0; i < 400; ++i) {
    const SampleSpec s = sampler.Draw(2, i);
    EXPECT_LE(std::abs(s.pose_deg[0]), 90.0);
    EXPECT_LE(std::abs(s.pose_deg[1]), 35.0);
    EXPECT_LE(std::abs(s.pose_deg[2]), 25.0);
    frontal += std::abs(s.pose_deg[0]) < 30.0;
    wide += std::abs(s.pose_deg[0]) > 60.0;
    EXPECT_LE(s.params.identity.cwiseAbs().maxCoeff(), 3.0);
    EXPECT_NEAR(s.light_direction.norm(), 1.0, 1e-12);
    EXPECT_GT(s.light_direction.z(), 0.0);
    EXPECT_GT(s.specular_intensity, 0.0);
    EXPECT_GE(s.augment.gamma, 0.8f);
    EXPECT_LE(s.augment.gamma, 1.25f);
    EXPECT_TRUE(s.augment.jpeg_quality == 0 ||
                (s.augment.jpeg_quality >= 30 && s.augment.jpeg_quality <= 95));
    EXPECT_NE(s.background.kind, BackgroundKind::kImage);  // no images given
    EXPECT_EQ(s.params.camera_type, CameraType::kPinhole);
    EXPECT_DOUBLE_EQ(s.params.camera[0], 1015.0 * kSize / 224.0);
  }
  EXPECT_GT(frontal, 200);  // more mass near frontal ...
  EXPECT_GT(wide, 0);       // ... and profiles still occur
  EXPECT_LT(wide, frontal);
}

TEST_F(SynthTest, FromFitsKeepsIdentityAndAlbedo) {
  std::vector<FaceParams> fits;
  for (int r = 0; r < 2; ++r) {
    FaceParams p = FaceParams::Frontal(Model().num_identity(), Model().num_expression(),
                                       Model().num_albedo(), 224, 224, 1015, 1000);
    p.identity.setConstant(0.5 * (r + 1));
    p.albedo.setConstant(-0.25 * (r + 1));
    p.lighting[0] = 0.123;
    fits.push_back(p);
  }
  const Sampler sampler = MakeSampler(Options(false, false), fits);
  int fitted_light = 0;
  for (int64_t i = 0; i < 20; ++i) {
    const SampleSpec s = sampler.Draw(4, i);
    EXPECT_EQ(s.source_row, i % 2);
    EXPECT_TRUE(s.params.identity == fits[i % 2].identity);
    EXPECT_TRUE(s.params.albedo == fits[i % 2].albedo);
    if (s.lighting_from_fit) {
      ++fitted_light;
      EXPECT_EQ(s.params.lighting[0], 0.123);
    }
  }
  EXPECT_GT(fitted_light, 0);
  EXPECT_LT(fitted_light, 20);
  // Wrong block sizes are refused, naming the row.
  FaceParams bad = fits[0];
  bad.identity.resize(3);
  auto refused = Sampler::Create(Model(), Options(false, false), {fits[0], bad}, {});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("fit row 1"), std::string::npos)
      << refused.status().message();
}

TEST_F(SynthTest, ImageBackgroundsAreCroppedAndRecorded) {
  fs::create_directories(Path("bg"));
  cv::Mat red(100, 80, CV_8UC3, cv::Scalar(0, 0, 255)), green(60, 90, CV_8UC3, cv::Scalar(0, 255, 0));
  ASSERT_TRUE(cv::imwrite(Path("bg/b_red.png"), red));
  ASSERT_TRUE(cv::imwrite(Path("bg/a_green.png"), green));
  std::ofstream(Path("bg/notes.txt")) << "not an image";
  auto loaded = LoadBackgrounds(Path("bg"), 2 * kSize);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const Backgrounds& bg = loaded.value();
  ASSERT_EQ(bg.files, (std::vector<std::string>{"a_green.png", "b_red.png"}));
  SamplerOptions o = Options(false, false);
  o.background.image_probability = 1.0;
  const Sampler sampler = MakeSampler(o, {}, &bg);
  for (int64_t i = 0; i < 4; ++i) {
    const SampleSpec spec = sampler.Draw(9, i);
    ASSERT_EQ(spec.background.kind, BackgroundKind::kImage);
    auto s = RenderSample(Model(), spec, &bg, false);
    ASSERT_TRUE(s.ok());
    // An off-face pixel has the chosen image's colour.
    const EncodedSample& e = s.value();
    const bool is_red = bg.files[spec.background.image_index] == "b_red.png";
    for (size_t p = 0; p < e.mask.size(); ++p) {
      if (e.mask[p]) continue;
      EXPECT_EQ(e.image[3 * p], is_red ? 255 : 0);
      EXPECT_EQ(e.image[3 * p + 1], is_red ? 0 : 255);
      break;
    }
  }
  // Without the images, an image background cannot be rendered.
  EXPECT_FALSE(RenderBackground(sampler.Draw(9, 0).background, kSize, nullptr).ok());
  // A folder without images is an error naming it.
  fs::create_directories(Path("empty"));
  auto none = LoadBackgrounds(Path("empty"), 128);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("empty"), std::string::npos);
  // A broken image file is an error naming it.
  std::ofstream(Path("bg/c_broken.jpg")) << "garbage";
  auto broken = LoadBackgrounds(Path("bg"), 128);
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("c_broken.jpg"), std::string::npos);
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
}

TEST_F(SynthTest, PreviewShowsEveryChannel) {
  const Sampler sampler = MakeSampler(Options(true, true));
  std::vector<EncodedSample> samples;
  for (int64_t i = 0; i < 2; ++i) {
    auto s = RenderSample(Model(), sampler.Draw(0, i), nullptr, true);
    ASSERT_TRUE(s.ok());
    samples.push_back(std::move(s).value());
  }
  const cv::Mat sheet = MakeSamplePreview(samples);
  // 2 rows of 8 tiles (image, mask, depth, normals, albedo, shading, specular, landmarks).
  ASSERT_FALSE(sheet.empty());
  EXPECT_EQ(sheet.type(), CV_8UC3);
  EXPECT_GE(sheet.cols, 8 * kSize);
  EXPECT_GE(sheet.rows, 2 * kSize);
}

}  // namespace
}  // namespace morphfit::synth

namespace morphfit::synth {
namespace {

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
