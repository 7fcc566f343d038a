// Sampling of synthetic faces (`morphfit synth`): every sample is drawn from generators keyed by
// (seed, sample index) (core/rng.h), so sample i is the same whatever the thread count, the
// sharding or the order of generation. The priors are documented here and in docs/formats.md
// ("Synthetic sets (HDF5)").
//
// Identity / albedo: N(0, 1) per coefficient (units of sigma), clamped to +-truncation; or,
//   with fitted faces (`--from_fits`), the identity and albedo of fit row (index mod rows)
//   (Guo et al., "Cross-modal deep face normals ...": re-render fitted faces with new pose,
//   expression and lighting).
// Expression: PCA -> N(0, expression_scale^2) clamped to +-truncation; blendshape -> each
//   weight active with probability blendshape_active_probability, then U(0, 1); none -> empty.
// Pose (model frame, applied before the frontal flip; R_model = Rz(roll) Ry(yaw) Rx(pitch)):
//   yaw ~ N(0, yaw_sigma) truncated to +-yaw_max (redrawn outside), so frontal faces are the
//   most frequent and profiles still occur; pitch and roll likewise with smaller sigmas.
//   camera_from_model = Rx(pi) R_model (Rx(pi): the frontal flip of core/face_params.h).
// Camera: Deep3DFaceRecon's 224 crop scaled to `size`: pinhole focal 1015 * size / 224, centre
//   (112, 111) * size / 224 (render/param_convert.h), the model's vertex mean at
//   1000 mm * U(1 - distance_jitter, 1 + distance_jitter) in front of the camera, shifted by
//   N(0, shift_sigma_mm) in x and y; or weak perspective with scale
//   weak_fill * size / (mean-shape extent) * U(1 -+ distance_jitter), offset = image centre
//   + N(0, shift_sigma_mm * scale), translation 0.
// Lighting (Deep3DFaceRecon SH basis, absolute coefficients, math/sh.h): band 0 = ambient
//   U(ambient_min, ambient_max) times a per-channel tint N(1, tint_sigma); bands 1..3 = a
//   directional lobe of strength U(0, directional_max) x ambient toward a light direction d
//   (view frame, angle from +z uniform in [0, light_max_polar], azimuth uniform); bands 4..8 =
//   N(0, band2_sigma) shared across channels, times the tint. With fitted faces, the fitted
//   lighting is kept with probability from_fit_probability. The light direction d also sets
//   the specular half vector normalize(d + (0, 0, 1)) when specular is on (intensity
//   U(specular_min, specular_max), shininess U(shininess_min, shininess_max)).
// Background: without images, flat colour or noise texture with equal probability; with
//   `--backgrounds`, a random crop of a random image with probability image_probability, the
//   rest split equally. Flat colour: each channel U(0, 1). Noise texture: documented in
//   sample_render.h (RenderBackground).
// Photometric augmentation (when on): gain U(gain_min, gain_max) times a per-channel
//   N(1, gain_color_sigma); gamma U(gamma_min, gamma_max) (value -> value^gamma); Gaussian blur
//   with probability blur_probability, sigma U(blur_sigma_min, blur_sigma_max) px; JPEG with
//   probability jpeg_probability, quality uniform integer in [jpeg_quality_min,
//   jpeg_quality_max]. Off: gain 1, gamma 1, no blur, no JPEG.
#ifndef MORPHFIT_SYNTH_SAMPLER_H_
#define MORPHFIT_SYNTH_SAMPLER_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include "morphfit/core/face_params.h"
#include "morphfit/core/status.h"
#include "morphfit/models/morphable_model.h"
#include "morphfit/render/renderer.h"

namespace morphfit::synth {

enum class CameraModel { kDeep3d = 0, kWeakPerspective = 1 };
const char* CameraModelName(CameraModel model);  // "deep3d" | "weak_perspective"
StatusOr<CameraModel> ParseCameraModel(const std::string& name);

enum class BackgroundKind : uint8_t { kFlat = 0, kNoise = 1, kImage = 2 };
const char* BackgroundKindName(BackgroundKind kind);  // "flat" | "noise" | "image"

struct PosePrior {
  double yaw_sigma_deg = 35.0, yaw_max_deg = 90.0;
  double pitch_sigma_deg = 12.0, pitch_max_deg = 35.0;
  double roll_sigma_deg = 8.0, roll_max_deg = 25.0;
};

struct CameraPrior {
  double distance_jitter = 0.08;  // relative
  double shift_sigma_mm = 6.0;
  double weak_fill = 0.75;        // weak perspective: mean-shape extent / image side
};

struct LightingPrior {
  double ambient_min = 0.55, ambient_max = 1.05;
  double tint_sigma = 0.06;
  double directional_max = 0.45;
  double light_max_polar_deg = 75.0;
  double band2_sigma = 0.05;
  double from_fit_probability = 0.5;
  double specular_min = 0.05, specular_max = 0.35;
  double shininess_min = 8.0, shininess_max = 40.0;
};

struct ShapePrior {
  double truncation = 3.0;        // |coefficient| bound, identity / albedo / PCA expression
  double expression_scale = 1.0;  // sigma of PCA expression coefficients
  double blendshape_active_probability = 0.3;
};

struct BackgroundPrior {
  double image_probability = 0.5;  // with background images
};

struct AugmentPrior {
  double gain_min = 0.75, gain_max = 1.25, gain_color_sigma = 0.05;
  double gamma_min = 0.8, gamma_max = 1.25;
  double blur_probability = 0.3, blur_sigma_min = 0.3, blur_sigma_max = 1.5;
  double jpeg_probability = 0.3;
  int jpeg_quality_min = 30, jpeg_quality_max = 95;
};

struct SamplerOptions {
  int size = 224;  // square images, pixels
  CameraModel camera = CameraModel::kDeep3d;
  bool specular = false;
  bool augment = true;
  ShapePrior shape;
  PosePrior pose;
  CameraPrior camera_prior;
  LightingPrior lighting;
  BackgroundPrior background;
  AugmentPrior augment_prior;
};

struct BackgroundSpec {
  BackgroundKind kind = BackgroundKind::kFlat;
  float color[3] = {0, 0, 0};  // flat: RGB in [0, 1]; noise: the base colour
  uint64_t noise_seed = 0;     // noise: key of the texture's generator
  int32_t image_index = -1;    // image: index into the sorted background list
  int32_t crop[4] = {0, 0, 0, 0};  // image: x, y, width, height in the (loaded) source image
};

struct AugmentSpec {
  float gain[3] = {1, 1, 1};
  float gamma = 1.0f;
  float blur_sigma = 0.0f;  // 0 = no blur
  int32_t jpeg_quality = 0;  // 0 = no JPEG round trip
};

// Everything needed to render one sample (and recorded with it).
struct SampleSpec {
  int64_t index = 0;
  FaceParams params;
  Eigen::Vector3d pose_deg = Eigen::Vector3d::Zero();  // yaw, pitch, roll (model frame)
  Eigen::Vector3d light_direction = Eigen::Vector3d(0, 0, 1);  // view frame, unit
  double specular_intensity = 0.0;  // 0 when specular is off
  double specular_shininess = 0.0;
  BackgroundSpec background;
  AugmentSpec augment;
  int32_t source_row = -1;         // fit row (--from_fits), -1 = prior
  bool lighting_from_fit = false;
};

// The renderer options of a sample: its specular term (half vector from the light direction)
// over a black background (the synth background is composited afterwards).
render::RenderOptions RenderOptionsFor(const SampleSpec& spec);

// camera_from_model axis-angle for yaw, pitch, roll in degrees (conventions above).
Eigen::Vector3d RotationFromYawPitchRoll(const Eigen::Vector3d& ypr_deg);

class Sampler {
 public:
  // `fits`: fitted faces to re-render (may be empty); each must match the model's block sizes.
  // `background_sizes`: (width, height) of each loaded background image (may be empty).
  // Errors: size < 16, a model without 68 landmarks, fits with other block sizes.
  static StatusOr<Sampler> Create(const models::MorphableModel& model, SamplerOptions options,
                                  std::vector<FaceParams> fits,
                                  std::vector<std::pair<int, int>> background_sizes);

  // Sample `index` of the run with `seed`. Pure: the same arguments give the same spec.
  SampleSpec Draw(uint64_t seed, int64_t index) const;

  const SamplerOptions& options() const { return options_; }
  int num_fits() const { return static_cast<int>(fits_.size()); }
  int num_background_images() const { return static_cast<int>(background_sizes_.size()); }

 private:
  Sampler() = default;

  SamplerOptions options_;
  int num_identity_ = 0, num_expression_ = 0, num_albedo_ = 0;
  models::ExpressionKind expression_kind_ = models::ExpressionKind::kNone;
  Eigen::Vector3d center_ = Eigen::Vector3d::Zero();  // vertex mean of the mean shape, mm
  double extent_mm_ = 1.0;                             // max bounding-box side, mm
  std::vector<FaceParams> fits_;
  std::vector<std::pair<int, int>> background_sizes_;
};

}  // namespace morphfit::synth

#endif  // MORPHFIT_SYNTH_SAMPLER_H_
