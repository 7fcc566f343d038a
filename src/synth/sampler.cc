// Drawing synthetic samples from the documented priors (sampler.h).
#include "morphfit/synth/sampler.h"

#include <algorithm>
#include <cmath>
#include <string>

#include <Eigen/Geometry>

#include "morphfit/core/rng.h"
#include "morphfit/math/sh.h"
#include "morphfit/render/param_convert.h"

namespace morphfit::synth {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kDegToRad = kPi / 180.0;
// Deep3DFaceRecon's camera distance in mm (10 dm).
constexpr double kDeep3dDistanceMm = 100.0 * render::kDeep3dCameraDistanceDm;

// Independent generator streams per sample, so that switching one part of the prior (e.g.
// specular or augmentation) on or off leaves the others unchanged.
enum Stream : uint64_t {
  kShapeStream = 0,
  kPoseStream = 1,
  kLightStream = 2,
  kBackgroundStream = 3,
  kAugmentStream = 4,
};

double Clamp(double v, double bound) { return std::max(-bound, std::min(bound, v)); }

// N(0, sigma) redrawn while outside [-bound, bound] (at most 64 draws, then clamped).
double TruncatedNormal(Rng* rng, double sigma, double bound) {
  for (int i = 0; i < 64; ++i) {
    const double v = rng->Normal(0.0, sigma);
    if (std::abs(v) <= bound) return v;
  }
  return Clamp(rng->Normal(0.0, sigma), bound);
}

void DrawGaussianBlock(Rng* rng, double sigma, double bound, Eigen::VectorXd* out) {
  for (Eigen::Index k = 0; k < out->size(); ++k) (*out)[k] = Clamp(rng->Normal(0.0, sigma), bound);
}

}  // namespace

const char* CameraModelName(CameraModel model) {
  return model == CameraModel::kDeep3d ? "deep3d" : "weak_perspective";
}

StatusOr<CameraModel> ParseCameraModel(const std::string& name) {
  if (name == "deep3d") return CameraModel::kDeep3d;
  if (name == "weak_perspective") return CameraModel::kWeakPerspective;
  return InvalidArgumentError("unknown camera model '" + name +
                              "' (expected deep3d or weak_perspective)");
}

const char* BackgroundKindName(BackgroundKind kind) {
  switch (kind) {
    case BackgroundKind::kFlat: return "flat";
    case BackgroundKind::kNoise: return "noise";
    case BackgroundKind::kImage: return "image";
  }
  return "?";
}

Eigen::Vector3d RotationFromYawPitchRoll(const Eigen::Vector3d& ypr_deg) {
  const Eigen::Matrix3d model_rotation =
      (Eigen::AngleAxisd(ypr_deg[2] * kDegToRad, Eigen::Vector3d::UnitZ()) *
       Eigen::AngleAxisd(ypr_deg[0] * kDegToRad, Eigen::Vector3d::UnitY()) *
       Eigen::AngleAxisd(ypr_deg[1] * kDegToRad, Eigen::Vector3d::UnitX()))
          .toRotationMatrix();
  const Eigen::Matrix3d flip = Eigen::AngleAxisd(kPi, Eigen::Vector3d::UnitX()).toRotationMatrix();
  const Eigen::AngleAxisd aa(flip * model_rotation);
  return aa.axis() * aa.angle();
}

render::RenderOptions RenderOptionsFor(const SampleSpec& spec) {
  render::RenderOptions options;
  options.specular_intensity = spec.specular_intensity;
  options.specular_shininess = spec.specular_intensity > 0.0 ? spec.specular_shininess : 20.0;
  options.specular_half_vector = (spec.light_direction + Eigen::Vector3d::UnitZ()).normalized();
  options.background = Eigen::Vector3f::Zero();
  return options;
}

StatusOr<Sampler> Sampler::Create(const models::MorphableModel& model, SamplerOptions options,
                                  std::vector<FaceParams> fits,
                                  std::vector<std::pair<int, int>> background_sizes) {
  if (options.size < 16) {
    return InvalidArgumentError("synth: image size must be at least 16 px, got " +
                                std::to_string(options.size));
  }
  if (model.num_landmarks() != models::kNumLandmarks) {
    return FailedPreconditionError(
        "synth: the model '" + model.name + "' has " + std::to_string(model.num_landmarks()) +
        " landmarks, 68 are needed (give --landmark_map for models without them)");
  }
  for (size_t i = 0; i < fits.size(); ++i) {
    MORPHFIT_RETURN_IF_ERROR(fits[i].CheckSizes(model.num_identity(), model.num_expression(),
                                                model.num_albedo(),
                                                "fit row " + std::to_string(i)));
    MORPHFIT_RETURN_IF_ERROR(fits[i].Validate("fit row " + std::to_string(i)));
  }
  for (const auto& [w, h] : background_sizes) {
    if (w < 1 || h < 1) return InvalidArgumentError("synth: empty background image");
  }
  Sampler s;
  s.options_ = options;
  s.num_identity_ = model.num_identity();
  s.num_expression_ = model.num_expression();
  s.num_albedo_ = model.num_albedo();
  s.expression_kind_ = model.expression_kind;
  const int n = model.num_vertices();
  Eigen::Vector3d sum = Eigen::Vector3d::Zero();
  for (int i = 0; i < n; ++i) {
    sum += model.shape_mean.segment<3>(3 * i).cast<double>();
  }
  s.center_ = n > 0 ? Eigen::Vector3d(sum / n) : Eigen::Vector3d::Zero();
  const auto box = models::BoundingBox(model.shape_mean);
  s.extent_mm_ = std::max({1e-3, double(box[3] - box[0]), double(box[4] - box[1])});
  s.fits_ = std::move(fits);
  s.background_sizes_ = std::move(background_sizes);
  return s;
}

SampleSpec Sampler::Draw(uint64_t seed, int64_t index) const {
  const SamplerOptions& o = options_;
  SampleSpec spec;
  spec.index = index;
  FaceParams& p = spec.params;
  p.image_width = p.image_height = o.size;

  // Shape, expression, albedo.
  Rng shape_rng = RngFor(seed, static_cast<uint64_t>(index), kShapeStream);
  p.identity = Eigen::VectorXd::Zero(num_identity_);
  p.albedo = Eigen::VectorXd::Zero(num_albedo_);
  p.expression = Eigen::VectorXd::Zero(num_expression_);
  const FaceParams* fit = nullptr;
  if (!fits_.empty()) {
    spec.source_row = static_cast<int32_t>(index % static_cast<int64_t>(fits_.size()));
    fit = &fits_[static_cast<size_t>(spec.source_row)];
    p.identity = fit->identity;
    p.albedo = fit->albedo;
  } else {
    DrawGaussianBlock(&shape_rng, 1.0, o.shape.truncation, &p.identity);
    DrawGaussianBlock(&shape_rng, 1.0, o.shape.truncation, &p.albedo);
  }
  if (expression_kind_ == models::ExpressionKind::kBlendshape) {
    for (int k = 0; k < num_expression_; ++k) {
      const bool active = shape_rng.Uniform() < o.shape.blendshape_active_probability;
      const double w = shape_rng.Uniform();
      p.expression[k] = active ? w : 0.0;
    }
  } else {
    DrawGaussianBlock(&shape_rng, o.shape.expression_scale, o.shape.truncation, &p.expression);
  }

  // Pose and camera.
  Rng pose_rng = RngFor(seed, static_cast<uint64_t>(index), kPoseStream);
  spec.pose_deg[0] = TruncatedNormal(&pose_rng, o.pose.yaw_sigma_deg, o.pose.yaw_max_deg);
  spec.pose_deg[1] = TruncatedNormal(&pose_rng, o.pose.pitch_sigma_deg, o.pose.pitch_max_deg);
  spec.pose_deg[2] = TruncatedNormal(&pose_rng, o.pose.roll_sigma_deg, o.pose.roll_max_deg);
  p.rotation = RotationFromYawPitchRoll(spec.pose_deg);
  const Eigen::Matrix3d R = Eigen::AngleAxisd(p.rotation.norm(), p.rotation.norm() > 0
                                                                     ? p.rotation.normalized()
                                                                     : Eigen::Vector3d::UnitX())
                                .toRotationMatrix();
  const Eigen::Vector3d rc = R * center_;
  const double scale_jitter = pose_rng.Uniform(1.0 - o.camera_prior.distance_jitter,
                                               1.0 + o.camera_prior.distance_jitter);
  const double shift_x = pose_rng.Normal(0.0, o.camera_prior.shift_sigma_mm);
  const double shift_y = pose_rng.Normal(0.0, o.camera_prior.shift_sigma_mm);
  const double ratio = o.size / static_cast<double>(render::kDeep3dImageSize);
  if (o.camera == CameraModel::kDeep3d) {
    p.camera_type = CameraType::kPinhole;
    const double cx = render::kDeep3dCenterPx * ratio;
    p.camera = Eigen::Vector3d(render::kDeep3dFocalPx * ratio, cx, o.size - 1.0 - cx);
    p.translation = -rc + Eigen::Vector3d(shift_x, shift_y, kDeep3dDistanceMm * scale_jitter);
  } else {
    p.camera_type = CameraType::kWeakPerspective;
    const double s = o.camera_prior.weak_fill * o.size / extent_mm_ * scale_jitter;
    const double c = 0.5 * (o.size - 1.0);
    p.camera = Eigen::Vector3d(s, c - s * rc.x() + s * shift_x, c - s * rc.y() + s * shift_y);
    p.translation = Eigen::Vector3d::Zero();
  }

  // Lighting (and the specular term that shares its direction).
  Rng light_rng = RngFor(seed, static_cast<uint64_t>(index), kLightStream);
  const double polar = light_rng.Uniform(0.0, o.lighting.light_max_polar_deg * kDegToRad);
  const double azimuth = light_rng.Uniform(0.0, 2.0 * kPi);
  spec.light_direction = Eigen::Vector3d(std::sin(polar) * std::cos(azimuth),
                                         std::sin(polar) * std::sin(azimuth), std::cos(polar));
  const double ambient = light_rng.Uniform(o.lighting.ambient_min, o.lighting.ambient_max);
  const double strength = light_rng.Uniform(0.0, o.lighting.directional_max) * ambient;
  double tint[3];
  for (double& t : tint) t = std::max(0.5, light_rng.Normal(1.0, o.lighting.tint_sigma));
  double band2[5];
  for (double& b : band2) b = light_rng.Normal(0.0, o.lighting.band2_sigma);
  // Bands 1..3 of the basis are +-a1 times (y, z, x); coefficients parallel to Y_1..3(d) make
  // the band-1 irradiance proportional to n . d.
  double Y[9];
  const double d[3] = {spec.light_direction.x(), spec.light_direction.y(),
                       spec.light_direction.z()};
  math::ShBasis(d, Y);
  const double y1_norm = std::sqrt(Y[1] * Y[1] + Y[2] * Y[2] + Y[3] * Y[3]);
  for (int c = 0; c < 3; ++c) {
    double* L = p.lighting.data() + c * kNumShBands;
    L[0] = ambient * tint[c];
    for (int k = 1; k <= 3; ++k) L[k] = strength * tint[c] * Y[k] / y1_norm;
    for (int k = 4; k < 9; ++k) L[k] = band2[k - 4] * tint[c];
  }
  const bool keep_fit_light = light_rng.Uniform() < o.lighting.from_fit_probability;
  if (fit != nullptr && keep_fit_light) {
    p.lighting = fit->lighting;
    spec.lighting_from_fit = true;
  }
  const double spec_intensity =
      light_rng.Uniform(o.lighting.specular_min, o.lighting.specular_max);
  const double spec_shininess =
      light_rng.Uniform(o.lighting.shininess_min, o.lighting.shininess_max);
  if (o.specular) {
    spec.specular_intensity = spec_intensity;
    spec.specular_shininess = spec_shininess;
  }

  // Background.
  Rng bg_rng = RngFor(seed, static_cast<uint64_t>(index), kBackgroundStream);
  BackgroundSpec& bg = spec.background;
  const double pick = bg_rng.Uniform();
  const bool have_images = !background_sizes_.empty();
  const double image_p = have_images ? o.background.image_probability : 0.0;
  if (pick < image_p) {
    bg.kind = BackgroundKind::kImage;
  } else if (pick < image_p + 0.5 * (1.0 - image_p)) {
    bg.kind = BackgroundKind::kFlat;
  } else {
    bg.kind = BackgroundKind::kNoise;
  }
  for (float& c : bg.color) c = static_cast<float>(bg_rng.Uniform());
  bg.noise_seed = bg_rng.Next();
  if (bg.kind == BackgroundKind::kImage) {
    bg.image_index = bg_rng.UniformInt(static_cast<int>(background_sizes_.size()));
    const auto [w, h] = background_sizes_[static_cast<size_t>(bg.image_index)];
    // A square crop of 40-100% of the shorter side, anywhere inside the image.
    const int side_max = std::min(w, h);
    const int side = std::max(1, static_cast<int>(std::lround(side_max * bg_rng.Uniform(0.4, 1.0))));
    bg.crop[0] = bg_rng.UniformInt(w - side + 1);
    bg.crop[1] = bg_rng.UniformInt(h - side + 1);
    bg.crop[2] = side;
    bg.crop[3] = side;
  }

  // Photometric augmentation.
  Rng aug_rng = RngFor(seed, static_cast<uint64_t>(index), kAugmentStream);
  const AugmentPrior& a = o.augment_prior;
  const double gain = aug_rng.Uniform(a.gain_min, a.gain_max);
  float gains[3];
  for (float& g : gains) {
    g = static_cast<float>(gain * std::max(0.5, aug_rng.Normal(1.0, a.gain_color_sigma)));
  }
  const float gamma = static_cast<float>(aug_rng.Uniform(a.gamma_min, a.gamma_max));
  const bool blur = aug_rng.Uniform() < a.blur_probability;
  const float blur_sigma = static_cast<float>(aug_rng.Uniform(a.blur_sigma_min, a.blur_sigma_max));
  const bool jpeg = aug_rng.Uniform() < a.jpeg_probability;
  const int quality = a.jpeg_quality_min + aug_rng.UniformInt(a.jpeg_quality_max - a.jpeg_quality_min + 1);
  if (o.augment) {
    for (int c = 0; c < 3; ++c) spec.augment.gain[c] = gains[c];
    spec.augment.gamma = gamma;
    spec.augment.blur_sigma = blur ? blur_sigma : 0.0f;
    spec.augment.jpeg_quality = jpeg ? quality : 0;
  }
  return spec;
}

}  // namespace morphfit::synth
