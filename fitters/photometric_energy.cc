// The photometric energy at one pyramid level (photometric_energy.h).
#include "photometric_energy.h"

#include <algorithm>
#include <cmath>

#include "morphfit/math/pixel_jacobian.h"
#include "morphfit/math/render_pixel.h"
#include "morphfit/render/renderer.h"
#include "photometric_device.h"

namespace morphfit::fitters {
namespace {

constexpr int kRowChunk = 8;  // rows per reduction chunk (fixed: results independent of threads)
constexpr int kOuterEyeRight = 36;
constexpr int kOuterEyeLeft = 45;

}  // namespace

FaceParams PyramidLevel::ParamsToLevel(const FaceParams& p) const {
  FaceParams out = p;
  out.image_width = width;
  out.image_height = height;
  out.landmarks_2d.resize(2, 0);
  // Pinhole focal and weak-perspective scale are both px per unit: divide by the factor; the
  // principal point and the weak-perspective offset are pixel positions.
  out.camera[0] = p.camera[0] / factor;
  out.camera[1] = ToLevel(p.camera[1], x0);
  out.camera[2] = ToLevel(p.camera[2], y0);
  return out;
}

FaceParams PyramidLevel::ParamsToOriginal(const FaceParams& p, int original_width,
                                          int original_height) const {
  FaceParams out = p;
  out.image_width = original_width;
  out.image_height = original_height;
  out.camera[0] = p.camera[0] * factor;
  out.camera[1] = ToOriginal(p.camera[1], x0);
  out.camera[2] = ToOriginal(p.camera[2], y0);
  return out;
}

PyramidLevel MakeLevel(const PhotometricImage& image, const Eigen::Matrix2Xd& landmarks_px, int x0,
                       int y0, int crop_w, int crop_h, int factor) {
  PyramidLevel level;
  level.x0 = x0;
  level.y0 = y0;
  level.factor = factor;
  level.width = crop_w / factor;
  level.height = crop_h / factor;
  const size_t n = static_cast<size_t>(level.width) * level.height;
  level.rgb.assign(3 * n, 0.0f);
  level.weights.assign(n, 0.0f);
  const double inv = 1.0 / (static_cast<double>(factor) * factor);
  for (int y = 0; y < level.height; ++y) {
    for (int x = 0; x < level.width; ++x) {
      double rgb[3] = {0.0, 0.0, 0.0}, w = 0.0;
      for (int dy = 0; dy < factor; ++dy) {
        const size_t row = static_cast<size_t>(y0 + y * factor + dy) * image.width;
        for (int dx = 0; dx < factor; ++dx) {
          const size_t i = row + x0 + x * factor + dx;
          for (int c = 0; c < 3; ++c) rgb[c] += image.rgb[3 * i + c];
          w += image.weights.empty() ? 1.0 : image.weights[i];
        }
      }
      const size_t o = static_cast<size_t>(y) * level.width + x;
      for (int c = 0; c < 3; ++c) level.rgb[3 * o + c] = static_cast<float>(rgb[c] * inv);
      level.weights[o] = static_cast<float>(w * inv);
    }
  }
  if (landmarks_px.cols() > 0) {
    level.landmarks.resize(2, landmarks_px.cols());
    for (Eigen::Index k = 0; k < landmarks_px.cols(); ++k) {
      level.landmarks(0, k) = level.ToLevel(landmarks_px(0, k), x0);
      level.landmarks(1, k) = level.ToLevel(landmarks_px(1, k), y0);
    }
  }
  return level;
}

PhotometricEnergy::PhotometricEnergy(const models::MorphableModel& model,
                                     const render::JacobianModel& jmodel, const PyramidLevel& level,
                                     const PhotometricFitOptions& options,
                                     const PhotometricStage& stage, ThreadPool* pool)
    : model_(model),
      jmodel_(jmodel),
      level_(level),
      options_(options),
      stage_(stage),
      pool_(pool),
      layout_(render::ParamLayout::For(model)) {
  const int num_landmarks = static_cast<int>(level.landmarks.cols());
  if (num_landmarks > 0) {
    const double d =
        (level.landmarks.col(kOuterEyeRight) - level.landmarks.col(kOuterEyeLeft)).norm();
    landmark_scale_ = options.landmark_weight / (num_landmarks * d * d);
    landmark_w_ = options.landmark_weights;
    if (landmark_w_.empty()) landmark_w_.assign(num_landmarks, 1.0);
  }
  const bool blendshape = model.expression_kind == models::ExpressionKind::kBlendshape;
  const int k_id = model.num_identity(), k_exp = model.num_expression(), k_alb = model.num_albedo();
  if (blendshape) {
    bounded_begin_ = layout_.expression;
    bounded_end_ = layout_.expression + k_exp;
  }
  const int rows = k_id + (blendshape ? 0 : k_exp) + k_alb + kNumLighting;
  prior_sqrt_ = Eigen::MatrixXd::Zero(rows, layout_.total);
  int r = 0;
  const double s_id = std::sqrt(stage.identity_prior_weight);
  const double s_exp = std::sqrt(stage.expression_prior_weight);
  const double s_alb = std::sqrt(stage.albedo_prior_weight);
  const double s_light = std::sqrt(stage.lighting_prior_weight);
  for (int i = 0; i < k_id; ++i) prior_sqrt_(r++, layout_.identity + i) = s_id;
  if (!blendshape) {
    for (int i = 0; i < k_exp; ++i) prior_sqrt_(r++, layout_.expression + i) = s_exp;
  }
  for (int i = 0; i < k_alb; ++i) prior_sqrt_(r++, layout_.albedo + i) = s_alb;
  // Lighting R[9] G[9] B[9]: row (c, b) = l_cb - mean over channels of band b.
  for (int c = 0; c < 3; ++c) {
    for (int b = 0; b < kNumShBands; ++b, ++r) {
      for (int c2 = 0; c2 < 3; ++c2) {
        prior_sqrt_(r, layout_.lighting + c2 * kNumShBands + b) =
            s_light * ((c == c2 ? 1.0 : 0.0) - 1.0 / 3.0);
      }
    }
  }
}

double PhotometricEnergy::PixelScale(int i) const {
  return options_.photometric_weight * level_.weights[i] / reference_pixels_;
}

StatusOr<EnergyValue> PhotometricEnergy::Evaluate(
    const FaceParams& params, const render::VisibilityBuffer* fixed_visibility) const {
  MORPHFIT_ASSIGN_OR_RETURN(render::FaceGeometry<float> g,
                            render::ComputeGeometry<float>(model_, params, pool_));
  EnergyValue e;
  if (fixed_visibility == nullptr) {
    render::RasterizeVisibility(g.pixels_float.data(), g.depths_float.data(), model_.num_vertices(),
                                model_.triangles.data(), model_.num_triangles(), level_.width,
                                level_.height, g.perspective, options_.render_options.z_near_mm,
                                pool_, &e.visibility);
  } else if (fixed_visibility->width != level_.width || fixed_visibility->height != level_.height) {
    return InvalidArgumentError(
        "photometric energy: visibility buffer size differs from the level");
  }
  const std::vector<int32_t>& triangle =
      fixed_visibility != nullptr ? fixed_visibility->triangle : e.visibility.triangle;
  const math::ShadeInputs<float> in = render::MakeShadeInputs(
      g, model_, render::MakeSpecularParams<float>(options_.render_options));
  struct Part {
    double cost = 0.0, sq = 0.0, w = 0.0;
    int n = 0;
  };
  const int width = level_.width;
  ThreadPool inline_pool(1);
  ThreadPool* pool = pool_ != nullptr ? pool_ : &inline_pool;
  const Part total = pool->ParallelReduce<Part>(
      0, level_.height, kRowChunk, Part{},
      [&](int64_t y0, int64_t y1) {
        Part part;
        for (int64_t y = y0; y < y1; ++y) {
          for (int x = 0; x < width; ++x) {
            const size_t i = static_cast<size_t>(y) * width + x;
            const int32_t f = triangle[i];
            const float w = level_.weights[i];
            if (f < 0 || !(w > 0.0f)) continue;
            float bary[3];
            math::PixelShading<float> s;
            math::ShadeTrianglePixel(in, f, x, static_cast<int>(y), bary, &s);
            float r[3];
            math::WeightPixelResidual(s.color, level_.rgb.data() + 3 * i, w, options_.loss,
                                      options_.loss_scale, r, &part.cost);
            part.sq += w * (static_cast<double>(r[0]) * r[0] + static_cast<double>(r[1]) * r[1] +
                            static_cast<double>(r[2]) * r[2]);
            part.w += w;
            ++part.n;
          }
        }
        return part;
      },
      [](const Part& a, const Part& b) {
        return Part{a.cost + b.cost, a.sq + b.sq, a.w + b.w, a.n + b.n};
      });
  e.photometric = options_.photometric_weight * total.cost / reference_pixels_;
  e.covered = total.n;
  e.weighted_sq = total.sq;
  e.weight_sum = total.w;
  if (landmark_scale_ > 0.0) {
    // From the float geometry already at hand (the double ComputeLandmarkRows of Linearize
    // agrees to ~1e-5 px, far below what the convergence tests resolve).
    double sq = 0.0;
    for (int k = 0; k < level_.landmarks.cols(); ++k) {
      const int v = model_.landmarks[k];
      for (int a = 0; a < 2; ++a) {
        const double d = g.pixels[2 * v + a] - level_.landmarks(a, k);
        sq += landmark_w_[k] * d * d;
      }
    }
    e.landmark = 0.5 * landmark_scale_ * sq;
  }
  e.prior = 0.5 * (prior_sqrt_ * params.ToFlat()).squaredNorm();
  e.total = e.photometric + e.landmark + e.prior;
  return e;
}

render::PhotometricOptions PhotometricEnergy::photometric_options() const {
  render::PhotometricOptions photo;
  photo.loss = options_.loss;
  photo.loss_scale = options_.loss_scale;
  return photo;
}

StatusOr<Linearization> PhotometricEnergy::Linearize(
    const FaceParams& params, const render::VisibilityBuffer& visibility) const {
  const render::PhotometricOptions photo = photometric_options();
  // The device seam: the fused sums on the CPU or on the CUDA device (photometric_device.h).
  MORPHFIT_ASSIGN_OR_RETURN(
      render::NormalEquations ne,
      options_.use_cuda
          ? AccumulatePhotometricCuda(model_, jmodel_, params, visibility, level_.rgb.data(),
                                      level_.weights.data(), options_.render_options, photo, pool_)
          : render::AccumulatePhotometric(model_, jmodel_, params, visibility, level_.rgb.data(),
                                          level_.weights.data(), options_.render_options, photo,
                                          pool_));
  return Combine(params, ne);
}

StatusOr<Linearization> PhotometricEnergy::Combine(const FaceParams& params,
                                                   const render::NormalEquations& ne) const {
  if (ne.jtj.rows() != layout_.total || ne.jtr.size() != layout_.total) {
    return InternalError("photometric energy: normal equations of " +
                         std::to_string(ne.jtr.size()) + " parameters, expected " +
                         std::to_string(layout_.total));
  }
  const double a = options_.photometric_weight / reference_pixels_;
  Linearization lin;
  lin.hessian = a * ne.jtj;
  lin.gradient = a * ne.jtr;
  if (landmark_scale_ > 0.0) {
    MORPHFIT_ASSIGN_OR_RETURN(render::LandmarkRows rows,
                              render::ComputeLandmarkRows(model_, params));
    const Eigen::Map<const Eigen::VectorXd> res_uv(rows.uv.data(), rows.uv.size());
    const Eigen::Map<const Eigen::VectorXd> target(level_.landmarks.data(),
                                                   level_.landmarks.size());
    Eigen::VectorXd w(rows.uv.size());  // per row: the landmark's weight times the scale
    for (Eigen::Index i = 0; i < w.size(); ++i) w[i] = landmark_scale_ * landmark_w_[i / 2];
    lin.hessian.noalias() += rows.jacobian.transpose() * w.asDiagonal() * rows.jacobian;
    lin.gradient.noalias() += rows.jacobian.transpose() * w.cwiseProduct(res_uv - target);
  }
  lin.hessian.noalias() += prior_sqrt_.transpose() * prior_sqrt_;
  lin.gradient.noalias() += prior_sqrt_.transpose() * (prior_sqrt_ * params.ToFlat());
  return lin;
}

std::vector<int> PhotometricEnergy::FreeIndices(CameraType camera_type) const {
  std::vector<int> out;
  auto add = [&](int begin, int count) {
    for (int i = 0; i < count; ++i) out.push_back(begin + i);
  };
  if (stage_.identity) add(layout_.identity, model_.num_identity());
  if (stage_.expression) add(layout_.expression, model_.num_expression());
  if (stage_.albedo) add(layout_.albedo, model_.num_albedo());
  if (stage_.lighting) add(layout_.lighting, kNumLighting);
  if (stage_.pose) add(layout_.rotation, 3);
  if (camera_type == CameraType::kPinhole) {
    if (stage_.pose) add(layout_.translation, 3);
    if (stage_.focal) add(layout_.camera, 1);
  } else if (stage_.pose) {
    add(layout_.camera, 3);  // weak perspective: scale and offset are the pose's translation
  }
  return out;
}

StatusOr<bool> PhotometricEnergy::LandmarkResiduals(const FaceParams& params, double* residuals,
                                                    double* jacobian_row_major) const {
  if (landmark_scale_ <= 0.0) return false;
  MORPHFIT_ASSIGN_OR_RETURN(render::LandmarkRows rows, render::ComputeLandmarkRows(model_, params));
  const int n = static_cast<int>(rows.uv.size());
  const int P = layout_.total;
  for (int i = 0; i < n; ++i) {
    const double s = std::sqrt(landmark_scale_ * landmark_w_[i / 2]);
    residuals[i] = s * (rows.uv.data()[i] - level_.landmarks.data()[i]);
    if (jacobian_row_major == nullptr) continue;
    for (int j = 0; j < P; ++j) jacobian_row_major[i * P + j] = s * rows.jacobian(i, j);
  }
  return true;
}

void ProjectToBounds(const PhotometricEnergy& energy, Eigen::VectorXd* flat) {
  for (int i = energy.bounded_begin(); i < energy.bounded_end(); ++i) {
    (*flat)[i] = std::clamp((*flat)[i], 0.0, 1.0);
  }
}

}  // namespace morphfit::fitters
