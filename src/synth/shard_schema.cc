// The HDF5 side of the synthetic-set shards (dataset_internal.h): the channel table, the
// attribute and array writers, the channel datasets and the per-sample records. Schema:
// docs/formats.md ("Synthetic sets (HDF5)").
#include <hdf5.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/hdf5_util.h"
#include "synth/dataset_internal.h"

namespace morphfit::synth::internal {


// IEEE binary16, little endian (the layout h5py maps to numpy float16).
hid_t Float16Type() {
  static const hid_t type = [] {
    const hid_t t = H5Tcopy(H5T_IEEE_F32LE);
    H5Tset_fields(t, 15, 10, 5, 0, 10);
    H5Tset_size(t, 2);
    H5Tset_ebias(t, 15);
    H5Tlock(t);
    return t;
  }();
  return type;
}

Status H5Error(const std::string& what, const std::string& file) {
  return InternalError("synth: HDF5 failed to " + what + " in " + file);
}

std::vector<Channel> Channels(bool specular) {
  std::vector<Channel> c = {
      {"image", 3, 1, "RGB image (face over background, after photometric augmentation)",
       "intensity in [0, 1]", 1.0 / 255.0, 0.0},
      {"mask", 1, 1, "1 = pixel covered by the face", "boolean", 1.0, 0.0},
      {"depth", 1, 2,
       "camera z of the visible surface minus the sample's translation z (params "
       "translation_z); 0 off the face",
       "mm", 1.0, 0.0, /*shuffle=*/true},
      {"normals", 3, 1,
       "unit surface normal, view frame (x right, y up, z toward the viewer); 0 off the face",
       "unit vector components", 1.0 / 127.5, -1.0},
      {"albedo", 3, 1, "diffuse albedo RGB, clamped to [0, 1]; 0 off the face",
       "reflectance in [0, 1]", 1.0 / 255.0, 0.0},
      {"shading", 3, 2,
       "SH irradiance per channel (Deep3DFaceRecon basis); image = albedo * shading + specular "
       "on the face before augmentation; 0 off the face",
       "irradiance (unitless)", 1.0, 0.0, /*shuffle=*/true},
  };
  if (specular) {
    c.push_back({"specular", 1, 1,
                 "Blinn-Phong specular term (white, added to every channel); 0 off the face",
                 "intensity in [0, 1]", 1.0 / 255.0, 0.0});
  }
  return c;
}

const uint8_t* ChannelBytes(const EncodedSample& s, const std::string& name) {
  if (name == "image") return s.image.data();
  if (name == "mask") return s.mask.data();
  if (name == "depth") return reinterpret_cast<const uint8_t*>(s.depth.data());
  if (name == "normals") return s.normals.data();
  if (name == "albedo") return s.albedo.data();
  if (name == "shading") return reinterpret_cast<const uint8_t*>(s.shading.data());
  return s.specular.data();
}

uint8_t* MutableChannelBytes(EncodedSample* s, const std::string& name) {
  return const_cast<uint8_t*>(ChannelBytes(*s, name));
}


// ---- HDF5 plumbing --------------------------------------------------------------------------

namespace {

Status WriteAttribute(hid_t object, const std::string& name, hid_t mem_type, const void* value,
                      const std::string& file) {
  h5::Handle space(H5Screate(H5S_SCALAR));
  h5::Handle attr(H5Acreate2(object, name.c_str(), mem_type, space.get(), H5P_DEFAULT, H5P_DEFAULT));
  if (!attr.valid() || H5Awrite(attr.get(), mem_type, value) < 0) {
    return H5Error("write attribute " + name, file);
  }
  return OkStatus();
}

// String attributes: variable-length UTF-8, which h5py reads as `str` (fixed-length strings come
// back as bytes).
Status WriteText(hid_t file, const std::string& object_path, const std::string& name,
                 const std::string& value, const std::string& file_name) {
  h5::Handle object(H5Oopen(file, object_path.c_str(), H5P_DEFAULT));
  h5::Handle type(H5Tcopy(H5T_C_S1));
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  const char* text = value.c_str();
  if (!object.valid()) return H5Error("open " + object_path, file_name);
  return WriteAttribute(object.get(), name, type.get(), &text, file_name);
}

Status WriteAttribute(hid_t object, const std::string& name, double value, const std::string& file) {
  return WriteAttribute(object, name, H5T_NATIVE_DOUBLE, &value, file);
}

Status WriteIntAttribute(hid_t object, const std::string& name, int64_t value,
                         const std::string& file) {
  return WriteAttribute(object, name, H5T_NATIVE_INT64, &value, file);
}

// Dataset creation properties: no timestamps (identical files for identical contents).
h5::Handle MakeDcpl() {
  h5::Handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
  H5Pset_obj_track_times(dcpl.get(), false);
  H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER);
  return dcpl;
}

h5::Handle MakeLcpl() {
  h5::Handle lcpl(H5Pcreate(H5P_LINK_CREATE));
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  return lcpl;
}

// A whole small array (per-sample records), contiguous.
Status WriteArray(hid_t file, const std::string& path, hid_t file_type, hid_t mem_type,
                  const void* data, const std::vector<hsize_t>& dims, const std::string& name) {
  h5::Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr));
  h5::Handle dcpl = MakeDcpl();
  h5::Handle lcpl = MakeLcpl();
  hid_t d = H5Dcreate2(file, path.c_str(), file_type, space.get(), lcpl.get(), dcpl.get(), H5P_DEFAULT);
  if (d < 0) return H5Error("create " + path, name);
  h5::Handle dataset(d);
  size_t count = 1;
  for (hsize_t v : dims) count *= v;
  if (count > 0 && H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
    return H5Error("write " + path, name);
  }
  return OkStatus();
}

std::string JsonList(const std::vector<std::string>& items) { return nlohmann::json(items).dump(); }

}  // namespace

Status CreateChannelDatasets(hid_t file, const std::vector<Channel>& channels, int64_t count,
                             int size, int level, const std::string& name,
                             std::vector<h5::Handle>* datasets) {
  const hsize_t n = static_cast<hsize_t>(count);
  for (const Channel& ch : channels) {
    std::vector<hsize_t> dims = {n, static_cast<hsize_t>(size), static_cast<hsize_t>(size)};
    if (ch.channels > 1) dims.push_back(static_cast<hsize_t>(ch.channels));
    std::vector<hsize_t> chunk = dims;
    chunk[0] = 1;
    h5::Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr));
    h5::Handle dcpl = MakeDcpl();
    H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data());
    if (ch.shuffle) H5Pset_shuffle(dcpl.get());
    H5Pset_deflate(dcpl.get(), static_cast<unsigned>(level));
    const hid_t type = ch.element_size == 1 ? H5T_STD_U8LE : Float16Type();
    hid_t d = H5Dcreate2(file, ch.name, type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT);
    if (d < 0) return H5Error(std::string("create dataset ") + ch.name, name);
    datasets->emplace_back(d);
    const std::string object = std::string("/") + ch.name;
    MORPHFIT_RETURN_IF_ERROR(WriteText(file, object, "description", ch.description, name));
    MORPHFIT_RETURN_IF_ERROR(WriteText(file, object, "units", ch.units, name));
    MORPHFIT_RETURN_IF_ERROR(WriteAttribute(d, "scale", ch.scale, name));
    MORPHFIT_RETURN_IF_ERROR(WriteAttribute(d, "offset", ch.offset, name));
  }
  return OkStatus();
}

// ---- Per-sample records ---------------------------------------------------------------------

void Records::Add(const SampleSpec& spec, const EncodedSample& s) {
  index.push_back(spec.index);
  landmarks_2d.insert(landmarks_2d.end(), s.landmarks_2d.begin(), s.landmarks_2d.end());
  landmarks_3d.insert(landmarks_3d.end(), s.landmarks_3d.begin(), s.landmarks_3d.end());
  landmarks_2d_visible.insert(landmarks_2d_visible.end(), s.landmarks_2d_visible.begin(),
                              s.landmarks_2d_visible.end());
  landmarks_3d_visible.insert(landmarks_3d_visible.end(), s.landmarks_3d_visible.begin(),
                              s.landmarks_3d_visible.end());
  params.insert(params.end(), s.params.begin(), s.params.end());
  for (int i = 0; i < 3; ++i) {
    pose_deg.push_back(static_cast<float>(spec.pose_deg[i]));
    light_direction.push_back(spec.light_direction[i]);
    bg_color.push_back(spec.background.color[i]);
    aug_gain.push_back(spec.augment.gain[i]);
  }
  specular.push_back(spec.specular_intensity);
  specular.push_back(spec.specular_shininess);
  bg_kind.push_back(static_cast<uint8_t>(spec.background.kind));
  bg_noise_seed.push_back(spec.background.noise_seed);
  bg_image_index.push_back(spec.background.image_index);
  for (int i = 0; i < 4; ++i) bg_crop.push_back(spec.background.crop[i]);
  aug_gamma.push_back(spec.augment.gamma);
  aug_blur.push_back(spec.augment.blur_sigma);
  aug_jpeg.push_back(spec.augment.jpeg_quality);
  source_row.push_back(spec.source_row);
  lighting_from_fit.push_back(spec.lighting_from_fit ? 1 : 0);
}

Status WriteRootAttributes(hid_t file, const models::MorphableModel& model, const Sampler& sampler,
                           const SetInfo& info, int64_t begin, int64_t end, const std::string& name) {
  h5::Handle root(H5Gopen2(file, "/", H5P_DEFAULT));
  const hid_t g = root.get();
  const SamplerOptions& o = sampler.options();
  MORPHFIT_RETURN_IF_ERROR(WriteText(file, "/", "format", "morphfit.synth", name));
  MORPHFIT_RETURN_IF_ERROR(WriteIntAttribute(g, "version", kSynthFormatVersion, name));
  MORPHFIT_RETURN_IF_ERROR(WriteIntAttribute(g, "first_index", begin, name));
  MORPHFIT_RETURN_IF_ERROR(WriteIntAttribute(g, "count", end - begin, name));
  MORPHFIT_RETURN_IF_ERROR(WriteIntAttribute(g, "total_count", info.total_count, name));
  MORPHFIT_RETURN_IF_ERROR(WriteIntAttribute(g, "samples_per_shard", info.samples_per_shard, name));
  MORPHFIT_RETURN_IF_ERROR(WriteText(file, "/", "seed", std::to_string(info.seed), name));
  MORPHFIT_RETURN_IF_ERROR(WriteIntAttribute(g, "image_size", o.size, name));
  MORPHFIT_RETURN_IF_ERROR(WriteText(file, "/", "camera_model", CameraModelName(o.camera), name));
  MORPHFIT_RETURN_IF_ERROR(WriteIntAttribute(g, "specular", o.specular ? 1 : 0, name));
  MORPHFIT_RETURN_IF_ERROR(WriteIntAttribute(g, "augment", o.augment ? 1 : 0, name));
  MORPHFIT_RETURN_IF_ERROR(WriteText(file, "/", "model_name", model.name, name));
  MORPHFIT_RETURN_IF_ERROR(WriteText(file, "/", "model_source", info.model_source, name));
  MORPHFIT_RETURN_IF_ERROR(WriteText(file, "/", "model_hash", info.model_hash, name));
  MORPHFIT_RETURN_IF_ERROR(WriteIntAttribute(g, "model_num_vertices", model.num_vertices(), name));
  MORPHFIT_RETURN_IF_ERROR(WriteText(file, "/", "expression_kind",
                                          models::ExpressionKindName(model.expression_kind), name));
  MORPHFIT_RETURN_IF_ERROR(WriteText(file, "/", "from_fits", info.from_fits, name));
  MORPHFIT_RETURN_IF_ERROR(WriteText(file, "/", "from_fits_hash", info.from_fits_hash, name));
  MORPHFIT_RETURN_IF_ERROR(WriteText(file, "/", "backgrounds_dir", info.backgrounds_dir, name));
  MORPHFIT_RETURN_IF_ERROR(
      WriteText(file, "/", "background_files", JsonList(info.background_files), name));
  MORPHFIT_RETURN_IF_ERROR(WriteText(
      file, "/", "jaw_landmarks_2d",
      HasContourLines(model) ? "silhouette (fitters/contour.h)" : "fixed (model has no contour lines)",
      name));
  MORPHFIT_RETURN_IF_ERROR(WriteText(
      file, "/", "conventions",
      "pixels: (0, 0) = centre of the top-left pixel, u right, v down; camera frame: OpenCV "
      "(x right, y down, z forward), mm; view frame (normals, SH): x right, y up, z toward the "
      "viewer; model frame: +y up, +z out of the face, mm; rotation: axis-angle (rad) of "
      "camera_from_model; images row-major H x W x C, RGB",
      name));
  MORPHFIT_RETURN_IF_ERROR(WriteText(
      file, "/", "sh_basis",
      "Deep3DFaceRecon: [1, -y, z, -x, xy, -yz, (3z^2 - 1) / (2 sqrt 3), -xz, (x^2 - y^2) / 2] "
      "times pi/sqrt(4 pi), 2 pi/sqrt(4 pi) (band 1), (2 pi/sqrt 8)(3 sqrt 5/sqrt(12 pi)) "
      "(band 2), on view-frame unit normals; lighting = R[9] G[9] B[9], absolute (ambient on "
      "band 0)",
      name));
  MORPHFIT_RETURN_IF_ERROR(WriteText(
      file, "/", "storage",
      "each large dataset: chunk = one sample, deflate (byte shuffle first for depth and shading); value = "
      "stored * attribute scale + attribute offset",
      name));
  return OkStatus();
}

Status WriteRecords(hid_t file, const Records& r, const FaceParams& layout, int num_flat,
                    const std::string& name) {
  const hsize_t n = r.index.size();
  const hsize_t L = models::kNumLandmarks;
  MORPHFIT_RETURN_IF_ERROR(WriteArray(file, "/sample_index", H5T_STD_I64LE, H5T_NATIVE_INT64,
                                      r.index.data(), {n}, name));
  MORPHFIT_RETURN_IF_ERROR(WriteArray(file, "/landmarks_2d", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT,
                                      r.landmarks_2d.data(), {n, L, 2}, name));
  MORPHFIT_RETURN_IF_ERROR(WriteArray(file, "/landmarks_2d_visible", H5T_STD_U8LE,
                                      H5T_NATIVE_UINT8, r.landmarks_2d_visible.data(), {n, L}, name));
  MORPHFIT_RETURN_IF_ERROR(WriteArray(file, "/landmarks_3d", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT,
                                      r.landmarks_3d.data(), {n, L, 3}, name));
  MORPHFIT_RETURN_IF_ERROR(WriteArray(file, "/landmarks_3d_visible", H5T_STD_U8LE,
                                      H5T_NATIVE_UINT8, r.landmarks_3d_visible.data(), {n, L}, name));
  MORPHFIT_RETURN_IF_ERROR(WriteArray(file, "/params", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                                      r.params.data(), {n, static_cast<hsize_t>(num_flat)}, name));
  {
    MORPHFIT_RETURN_IF_ERROR(WriteText(file, "/params", "names", JsonList(layout.FlatNames()), name));
    MORPHFIT_RETURN_IF_ERROR(WriteText(
        file, "/params", "block_sizes",
        nlohmann::json({layout.identity.size(), layout.expression.size(), layout.albedo.size()}).dump(),
        name));
    MORPHFIT_RETURN_IF_ERROR(
        WriteText(file, "/params", "camera_type", CameraTypeName(layout.camera_type), name));
    MORPHFIT_RETURN_IF_ERROR(WriteText(
        file, "/params", "description",
        "FaceParams flat vector (core/face_params.h): identity | expression | albedo | lighting "
        "27 | rotation 3 | translation 3 (mm) | camera 3",
        name));
  }
  MORPHFIT_RETURN_IF_ERROR(WriteArray(file, "/pose_deg", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT,
                                      r.pose_deg.data(), {n, 3}, name));
  MORPHFIT_RETURN_IF_ERROR(WriteArray(file, "/light_direction", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                                      r.light_direction.data(), {n, 3}, name));
  MORPHFIT_RETURN_IF_ERROR(WriteArray(file, "/specular_params", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                                      r.specular.data(), {n, 2}, name));
  MORPHFIT_RETURN_IF_ERROR(WriteArray(file, "/background/kind", H5T_STD_U8LE, H5T_NATIVE_UINT8,
                                      r.bg_kind.data(), {n}, name));
  MORPHFIT_RETURN_IF_ERROR(WriteArray(file, "/background/color", H5T_IEEE_F32LE,
                                      H5T_NATIVE_FLOAT, r.bg_color.data(), {n, 3}, name));
  MORPHFIT_RETURN_IF_ERROR(WriteArray(file, "/background/noise_seed", H5T_STD_U64LE,
                                      H5T_NATIVE_UINT64, r.bg_noise_seed.data(), {n}, name));
  MORPHFIT_RETURN_IF_ERROR(WriteArray(file, "/background/image_index", H5T_STD_I32LE,
                                      H5T_NATIVE_INT32, r.bg_image_index.data(), {n}, name));
  MORPHFIT_RETURN_IF_ERROR(WriteArray(file, "/background/crop", H5T_STD_I32LE, H5T_NATIVE_INT32,
                                      r.bg_crop.data(), {n, 4}, name));
  MORPHFIT_RETURN_IF_ERROR(WriteArray(file, "/augment/gain", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT,
                                      r.aug_gain.data(), {n, 3}, name));
  MORPHFIT_RETURN_IF_ERROR(WriteArray(file, "/augment/gamma", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT,
                                      r.aug_gamma.data(), {n}, name));
  MORPHFIT_RETURN_IF_ERROR(WriteArray(file, "/augment/blur_sigma", H5T_IEEE_F32LE,
                                      H5T_NATIVE_FLOAT, r.aug_blur.data(), {n}, name));
  MORPHFIT_RETURN_IF_ERROR(WriteArray(file, "/augment/jpeg_quality", H5T_STD_I32LE,
                                      H5T_NATIVE_INT32, r.aug_jpeg.data(), {n}, name));
  MORPHFIT_RETURN_IF_ERROR(WriteArray(file, "/source/fit_row", H5T_STD_I32LE, H5T_NATIVE_INT32,
                                      r.source_row.data(), {n}, name));
  MORPHFIT_RETURN_IF_ERROR(WriteArray(file, "/source/lighting_from_fit", H5T_STD_U8LE,
                                      H5T_NATIVE_UINT8, r.lighting_from_fit.data(), {n}, name));
  return OkStatus();
}

}  // namespace morphfit::synth::internal
