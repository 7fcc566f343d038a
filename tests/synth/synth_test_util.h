// Shared by the synth test files: the sample model, a fixture with a scratch folder and
// sampler/set helpers, and small HDF5 readers for checking shard files.
#ifndef MORPHFIT_TESTS_SYNTH_SYNTH_TEST_UTIL_H_
#define MORPHFIT_TESTS_SYNTH_SYNTH_TEST_UTIL_H_

#include <hdf5.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "morphfit/models/sample_model.h"
#include "morphfit/synth/dataset.h"
#include "morphfit/synth/sample_render.h"
#include "morphfit/synth/sampler.h"

namespace morphfit::synth {

constexpr int kSize = 64;

inline const models::MorphableModel& Model() {
  static const models::MorphableModel* model =
      new models::MorphableModel(models::MakeSampleModel());
  return *model;
}

class SynthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::path(::testing::TempDir()) /
           (std::string("morphfit_synth_") + info->name() + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

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

  std::filesystem::path dir_;
};

inline std::string ReadBytes(const std::string& path) {
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

inline DatasetInfo Inspect(hid_t file, const std::string& path) {
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

inline bool HasRootAttribute(hid_t file, const char* name) {
  const hid_t root = H5Gopen2(file, "/", H5P_DEFAULT);
  const bool has = H5Aexists(root, name) > 0;
  H5Gclose(root);
  return has;
}

}  // namespace morphfit::synth

#endif  // MORPHFIT_TESTS_SYNTH_SYNTH_TEST_UTIL_H_
