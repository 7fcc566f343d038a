// Reading HDF5 shards of synthetic samples back (dataset.h). Schema: docs/formats.md.
#include "morphfit/synth/dataset.h"

#include <hdf5.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/hdf5_util.h"
#include "synth/dataset_internal.h"

namespace morphfit::synth {
namespace {

using internal::Channel;
using internal::Channels;
using internal::Float16Type;
using internal::MutableChannelBytes;

// ---- Reading helpers ------------------------------------------------------------------------

// Reads row `row` of a dataset into `out`, which holds `count` elements: the row must have
// exactly that many (a file with other dimensions is an error, never an overflow).
Status ReadRow(hid_t file, const std::string& path, int64_t row, hid_t mem_type, void* out,
               size_t count_expected, const std::string& name) {
  hid_t d = H5Dopen2(file, path.c_str(), H5P_DEFAULT);
  if (d < 0) return DataLossError(name + ": missing dataset " + path);
  h5::Handle dataset(d);
  h5::Handle space(H5Dget_space(d));
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 1 || rank > 4) return DataLossError(name + ": bad rank of " + path);
  hsize_t dims[4];
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  if (row < 0 || static_cast<hsize_t>(row) >= dims[0]) {
    return OutOfRangeError(name + ": row " + std::to_string(row) + " outside " + path + " (" +
                           std::to_string(dims[0]) + " rows)");
  }
  hsize_t per_row = 1;
  for (int i = 1; i < rank; ++i) per_row *= dims[i];
  if (per_row != count_expected) {
    return DataLossError(name + ": " + path + " has " + std::to_string(per_row) +
                         " values per sample, expected " + std::to_string(count_expected));
  }
  hsize_t start[4] = {static_cast<hsize_t>(row), 0, 0, 0};
  hsize_t count[4] = {1, rank > 1 ? dims[1] : 1, rank > 2 ? dims[2] : 1, rank > 3 ? dims[3] : 1};
  H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr);
  h5::Handle mem(H5Screate_simple(rank, count, nullptr));
  if (H5Dread(d, mem_type, mem.get(), space.get(), H5P_DEFAULT, out) < 0) {
    return DataLossError(name + ": cannot read row " + std::to_string(row) + " of " + path);
  }
  return OkStatus();
}

StatusOr<int64_t> ReadIntAttribute(hid_t file, const std::string& attr_name, const std::string& name) {
  h5::Handle root(H5Gopen2(file, "/", H5P_DEFAULT));
  if (H5Aexists(root.get(), attr_name.c_str()) <= 0) {
    return DataLossError(name + ": missing attribute " + attr_name + " (not a morphfit synth shard?)");
  }
  h5::Handle attr(H5Aopen(root.get(), attr_name.c_str(), H5P_DEFAULT));
  int64_t v = 0;
  if (H5Aread(attr.get(), H5T_NATIVE_INT64, &v) < 0) {
    return DataLossError(name + ": cannot read attribute " + attr_name);
  }
  return v;
}

}  // namespace

StatusOr<ShardExtent> ReadShardExtent(const std::string& path) {
  MORPHFIT_ASSIGN_OR_RETURN(h5::Handle file, h5::OpenFileReadOnly(path));
  ShardExtent e;
  MORPHFIT_ASSIGN_OR_RETURN(e.first_index, ReadIntAttribute(file.get(), "first_index", path));
  MORPHFIT_ASSIGN_OR_RETURN(e.count, ReadIntAttribute(file.get(), "count", path));
  return e;
}

StatusOr<StoredSample> ReadStoredSample(const std::string& path, int64_t row) {
  MORPHFIT_ASSIGN_OR_RETURN(h5::Handle file, h5::OpenFileReadOnly(path));
  const hid_t f = file.get();
  MORPHFIT_ASSIGN_OR_RETURN(const int64_t size, ReadIntAttribute(f, "image_size", path));
  MORPHFIT_ASSIGN_OR_RETURN(const int64_t specular, ReadIntAttribute(f, "specular", path));
  if (size < 1 || size > 65536) {
    return DataLossError(path + ": bad image_size attribute " + std::to_string(size));
  }
  StoredSample out;
  EncodedSample& s = out.data;
  s.size = static_cast<int>(size);
  s.has_specular = specular != 0;
  const size_t n = static_cast<size_t>(size) * size;
  s.image.resize(3 * n);
  s.mask.resize(n);
  s.depth.resize(n);
  s.normals.resize(3 * n);
  s.albedo.resize(3 * n);
  s.shading.resize(3 * n);
  if (s.has_specular) s.specular.resize(n);
  for (const Channel& ch : Channels(s.has_specular)) {
    const hid_t mem = ch.element_size == 1 ? H5T_NATIVE_UINT8 : Float16Type();
    MORPHFIT_RETURN_IF_ERROR(ReadRow(f, std::string("/") + ch.name, row, mem,
                                     MutableChannelBytes(&s, ch.name), n * ch.channels, path));
  }
  const int L = models::kNumLandmarks;
  s.landmarks_2d.resize(2 * L);
  s.landmarks_3d.resize(3 * L);
  s.landmarks_2d_visible.resize(L);
  s.landmarks_3d_visible.resize(L);
  MORPHFIT_RETURN_IF_ERROR(ReadRow(f, "/landmarks_2d", row, H5T_NATIVE_FLOAT, s.landmarks_2d.data(), 2 * L, path));
  MORPHFIT_RETURN_IF_ERROR(ReadRow(f, "/landmarks_3d", row, H5T_NATIVE_FLOAT, s.landmarks_3d.data(), 3 * L, path));
  MORPHFIT_RETURN_IF_ERROR(ReadRow(f, "/landmarks_2d_visible", row, H5T_NATIVE_UINT8,
                                   s.landmarks_2d_visible.data(), L, path));
  MORPHFIT_RETURN_IF_ERROR(ReadRow(f, "/landmarks_3d_visible", row, H5T_NATIVE_UINT8,
                                   s.landmarks_3d_visible.data(), L, path));

  // Parameters: block sizes and camera type from the attributes of /params.
  h5::Handle params(H5Dopen2(f, "/params", H5P_DEFAULT));
  if (!params.valid()) return DataLossError(path + ": missing dataset /params");
  MORPHFIT_ASSIGN_OR_RETURN(const std::string blocks_text,
                            h5::ReadStringAttribute(f, "/params", "block_sizes", path));
  MORPHFIT_ASSIGN_OR_RETURN(const std::string camera_text,
                            h5::ReadStringAttribute(f, "/params", "camera_type", path));
  const nlohmann::json blocks = nlohmann::json::parse(blocks_text, nullptr, false);
  if (!blocks.is_array() || blocks.size() != 3) {
    return DataLossError(path + ": /params block_sizes is not a list of 3 sizes");
  }
  for (const auto& b : blocks) {
    if (!b.is_number_integer() || b.get<int64_t>() < 0 || b.get<int64_t>() > 100000) {
      return DataLossError(path + ": /params block_sizes holds " + b.dump() + ", not a size");
    }
  }
  FaceParams& p = out.spec.params;
  p.identity = Eigen::VectorXd::Zero(blocks[0].get<int>());
  p.expression = Eigen::VectorXd::Zero(blocks[1].get<int>());
  p.albedo = Eigen::VectorXd::Zero(blocks[2].get<int>());
  MORPHFIT_ASSIGN_OR_RETURN(p.camera_type, ParseCameraType(camera_text));
  p.image_width = p.image_height = s.size;
  s.params.resize(static_cast<size_t>(p.FlatSize()));
  MORPHFIT_RETURN_IF_ERROR(ReadRow(f, "/params", row, H5T_NATIVE_DOUBLE, s.params.data(), s.params.size(), path));
  MORPHFIT_RETURN_IF_ERROR(
      p.SetFromFlat(Eigen::Map<const Eigen::VectorXd>(s.params.data(), p.FlatSize())));

  SampleSpec& spec = out.spec;
  MORPHFIT_RETURN_IF_ERROR(ReadRow(f, "/sample_index", row, H5T_NATIVE_INT64, &spec.index, 1, path));
  float v3[3];
  double d3[3], v2[2];
  MORPHFIT_RETURN_IF_ERROR(ReadRow(f, "/pose_deg", row, H5T_NATIVE_FLOAT, v3, 3, path));
  spec.pose_deg = Eigen::Vector3f(v3[0], v3[1], v3[2]).cast<double>();
  MORPHFIT_RETURN_IF_ERROR(ReadRow(f, "/light_direction", row, H5T_NATIVE_DOUBLE, d3, 3, path));
  spec.light_direction = Eigen::Vector3d(d3[0], d3[1], d3[2]);
  MORPHFIT_RETURN_IF_ERROR(ReadRow(f, "/specular_params", row, H5T_NATIVE_DOUBLE, v2, 2, path));
  spec.specular_intensity = v2[0];
  spec.specular_shininess = v2[1];
  uint8_t kind = 0;
  MORPHFIT_RETURN_IF_ERROR(ReadRow(f, "/background/kind", row, H5T_NATIVE_UINT8, &kind, 1, path));
  if (kind > 2) return DataLossError(path + ": bad background kind " + std::to_string(kind));
  spec.background.kind = static_cast<BackgroundKind>(kind);
  MORPHFIT_RETURN_IF_ERROR(
      ReadRow(f, "/background/color", row, H5T_NATIVE_FLOAT, spec.background.color, 3, path));
  MORPHFIT_RETURN_IF_ERROR(ReadRow(f, "/background/noise_seed", row, H5T_NATIVE_UINT64,
                                   &spec.background.noise_seed, 1, path));
  MORPHFIT_RETURN_IF_ERROR(ReadRow(f, "/background/image_index", row, H5T_NATIVE_INT32,
                                   &spec.background.image_index, 1, path));
  MORPHFIT_RETURN_IF_ERROR(
      ReadRow(f, "/background/crop", row, H5T_NATIVE_INT32, spec.background.crop, 4, path));
  MORPHFIT_RETURN_IF_ERROR(ReadRow(f, "/augment/gain", row, H5T_NATIVE_FLOAT, spec.augment.gain, 3, path));
  MORPHFIT_RETURN_IF_ERROR(
      ReadRow(f, "/augment/gamma", row, H5T_NATIVE_FLOAT, &spec.augment.gamma, 1, path));
  MORPHFIT_RETURN_IF_ERROR(
      ReadRow(f, "/augment/blur_sigma", row, H5T_NATIVE_FLOAT, &spec.augment.blur_sigma, 1, path));
  MORPHFIT_RETURN_IF_ERROR(ReadRow(f, "/augment/jpeg_quality", row, H5T_NATIVE_INT32,
                                   &spec.augment.jpeg_quality, 1, path));
  MORPHFIT_RETURN_IF_ERROR(
      ReadRow(f, "/source/fit_row", row, H5T_NATIVE_INT32, &spec.source_row, 1, path));
  uint8_t from_fit = 0;
  MORPHFIT_RETURN_IF_ERROR(
      ReadRow(f, "/source/lighting_from_fit", row, H5T_NATIVE_UINT8, &from_fit, 1, path));
  spec.lighting_from_fit = from_fit != 0;
  return out;
}

}  // namespace morphfit::synth
