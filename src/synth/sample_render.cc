// Rendering and encoding one synthetic sample (sample_render.h).
#include "morphfit/synth/sample_render.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <dirent.h>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "morphfit/core/rng.h"
#include "morphfit/fitters/contour.h"
#include "morphfit/io/image.h"
#include "morphfit/math/camera.h"
#include "morphfit/math/rotation.h"
#include "morphfit/render/preview.h"
#include "morphfit/render/render_channels.h"
#include "morphfit/render/renderer.h"
#include "synth/basis_block.h"
#include "synth/pixel_convert.h"

namespace morphfit::synth {
namespace {

using internal::ToByte;

bool HasImageExtension(const std::string& name) {
  const size_t dot = name.rfind('.');
  if (dot == std::string::npos) return false;
  std::string ext = name.substr(dot + 1);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == "jpg" || ext == "jpeg" || ext == "png" || ext == "bmp" || ext == "tif" ||
         ext == "tiff" || ext == "webp";
}

// Projects the given model vertices for `params` (float arithmetic, as the renderer does) and
// applies the renderer's landmark visibility rule against the rendered depth buffer.
// `points`: 3 model-frame coordinates per landmark.
void ProjectLandmarks(const FaceParams& params, const float* points, int count,
                      const RenderedFace& face, const render::RenderOptions& options,
                      bool with_depth, float* out, uint8_t* visible) {
  float R[9], t[3], camera[3];
  const float w[3] = {float(params.rotation[0]), float(params.rotation[1]),
                      float(params.rotation[2])};
  math::AxisAngleToRotation(w, R);
  for (int i = 0; i < 3; ++i) {
    t[i] = static_cast<float>(params.translation[i]);
    camera[i] = static_cast<float>(params.camera[i]);
  }
  const bool perspective = params.camera_type == CameraType::kPinhole;
  const int stride = with_depth ? 3 : 2;
  for (int k = 0; k < count; ++k) {
    float pc[3];
    math::RigidTransform(R, t, &points[3 * k], pc);
    float uv[2] = {std::numeric_limits<float>::quiet_NaN(),
                   std::numeric_limits<float>::quiet_NaN()};
    if (!perspective || pc[2] != 0.0f) math::Project<float>(perspective, camera, pc, uv, nullptr, nullptr);
    out[stride * k] = uv[0];
    out[stride * k + 1] = uv[1];
    if (with_depth) out[stride * k + 2] = pc[2];
    visible[k] = 0;
    const long px = std::lround(uv[0]), py = std::lround(uv[1]);
    if (!std::isfinite(uv[0]) || !std::isfinite(uv[1]) || px < 0 || py < 0 ||
        px >= face.width || py >= face.height) {
      continue;
    }
    if (perspective && !(pc[2] > options.z_near_mm)) continue;
    const float surface = face.depth[static_cast<size_t>(py) * face.width + px];
    visible[k] = !(surface < pc[2] - options.landmark_depth_tolerance_mm) ? 1 : 0;
  }
}

}  // namespace

uint16_t FloatToHalf(float value) { return Eigen::numext::bit_cast<uint16_t>(Eigen::half(value)); }

void FloatsToHalves(const float* values, size_t count, uint16_t* bits) {
  internal::OffsetToHalves(values, 0.0f, count, bits);  // v - 0 = v for every non-NaN v
}

float HalfToFloat(uint16_t bits) {
  return static_cast<float>(Eigen::numext::bit_cast<Eigen::half>(bits));
}

std::vector<std::pair<int, int>> Backgrounds::Sizes() const {
  std::vector<std::pair<int, int>> sizes;
  for (const cv::Mat& m : images) sizes.emplace_back(m.cols, m.rows);
  return sizes;
}

StatusOr<Backgrounds> LoadBackgrounds(const std::string& dir, int max_side) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) {
    return NotFoundError("--backgrounds: cannot open folder '" + dir + "': " + std::strerror(errno));
  }
  Backgrounds b;
  while (const dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name.empty() || name[0] == '.' || !HasImageExtension(name)) continue;
    b.files.push_back(name);
  }
  closedir(d);
  std::sort(b.files.begin(), b.files.end());
  if (b.files.empty()) {
    return NotFoundError("--backgrounds: no image files (.jpg .jpeg .png .bmp .tif .tiff .webp) in '" +
                         dir + "'");
  }
  for (const std::string& name : b.files) {
    MORPHFIT_ASSIGN_OR_RETURN(cv::Mat bgr, io::ReadImage(dir + "/" + name));
    cv::Mat rgb;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    const int shorter = std::min(rgb.cols, rgb.rows);
    if (max_side > 0 && shorter > max_side) {
      const double f = static_cast<double>(max_side) / shorter;
      cv::Mat small;
      cv::resize(rgb, small,
                 cv::Size(std::max(1, static_cast<int>(std::lround(rgb.cols * f))),
                          std::max(1, static_cast<int>(std::lround(rgb.rows * f)))),
                 0, 0, cv::INTER_AREA);
      rgb = small;
    }
    b.images.push_back(rgb);
  }
  return b;
}

StatusOr<cv::Mat> RenderBackground(const BackgroundSpec& spec, int size,
                                   const Backgrounds* backgrounds) {
  const cv::Scalar base(spec.color[0], spec.color[1], spec.color[2]);
  switch (spec.kind) {
    case BackgroundKind::kFlat:
      return cv::Mat(size, size, CV_32FC3, base);
    case BackgroundKind::kNoise: {
      Rng rng(spec.noise_seed);
      cv::Mat fine[2];
      int octave = 0;
      for (const auto& [grid, sigma] : {std::pair<int, double>{5, 0.25}, {17, 0.1}}) {
        cv::Mat coarse(grid, grid, CV_32FC3);
        for (int i = 0; i < grid * grid * 3; ++i) {
          coarse.ptr<float>()[i] = static_cast<float>(rng.Normal(0.0, sigma));
        }
        cv::resize(coarse, fine[octave++], cv::Size(size, size), 0, 0, cv::INTER_CUBIC);
      }
      // (colour + octave 0) + octave 1, clamped to [0, 1]: one pass.
      cv::Mat out(size, size, CV_32FC3);
      const float* f0 = fine[0].ptr<float>();
      const float* f1 = fine[1].ptr<float>();
      float* o = out.ptr<float>();
      for (size_t i = 0; i < static_cast<size_t>(size) * size; ++i) {
        for (int c = 0; c < 3; ++c) {
          const float v = (spec.color[c] + f0[3 * i + c]) + f1[3 * i + c];
          o[3 * i + c] = std::min(1.0f, std::max(0.0f, v));
        }
      }
      return out;
    }
    case BackgroundKind::kImage: {
      if (backgrounds == nullptr || spec.image_index < 0 ||
          spec.image_index >= static_cast<int>(backgrounds->images.size())) {
        return InvalidArgumentError("synth: background image " + std::to_string(spec.image_index) +
                                    " is not loaded (give the same --backgrounds folder)");
      }
      const cv::Mat& src = backgrounds->images[static_cast<size_t>(spec.image_index)];
      const cv::Rect rect(spec.crop[0], spec.crop[1], spec.crop[2], spec.crop[3]);
      if (rect.x < 0 || rect.y < 0 || rect.width < 1 || rect.height < 1 ||
          rect.x + rect.width > src.cols || rect.y + rect.height > src.rows) {
        return InvalidArgumentError("synth: background crop outside image " +
                                    backgrounds->files[static_cast<size_t>(spec.image_index)]);
      }
      cv::Mat resized, out;
      cv::resize(src(rect), resized, cv::Size(size, size), 0, 0, cv::INTER_AREA);
      resized.convertTo(out, CV_32FC3, 1.0 / 255.0);
      return out;
    }
  }
  return InvalidArgumentError("synth: unknown background kind");
}

namespace {

// The JPEG round trip of the augmentation on an 8-bit RGB image, in place. OpenCV's codec
// expects BGR (the colour transform and chroma subsampling treat R and B differently), so the
// round trip is made in BGR.
void JpegRoundTrip(int quality, cv::Mat* rgb) {
  std::vector<uint8_t> jpeg;
  cv::Mat bgr;
  cv::cvtColor(*rgb, bgr, cv::COLOR_RGB2BGR);
  cv::imencode(".jpg", bgr, jpeg, {cv::IMWRITE_JPEG_QUALITY, quality});
  const cv::Mat decoded = cv::imdecode(jpeg, cv::IMREAD_COLOR);
  if (!decoded.empty()) cv::cvtColor(decoded, *rgb, cv::COLOR_BGR2RGB);
}

// The blur and quantisation of ApplyAugmentation: the photometric floats of `rgb` blurred with
// sigma (float Gaussian, reflected border), then ToByte, into `out` (CV_8UC3, same size).
void BlurToBytes(const cv::Mat& rgb, const internal::Photometric& photometric, float sigma,
                 cv::Mat* out) {
  const size_t count = 3 * static_cast<size_t>(rgb.rows) * rgb.cols;
  cv::Mat f(rgb.rows, rgb.cols, CV_32FC3);
  photometric.Floats(rgb.ptr<float>(), count, f.ptr<float>());
  cv::GaussianBlur(f, f, cv::Size(0, 0), sigma, sigma, cv::BORDER_REFLECT_101);
  internal::ToBytes(f.ptr<float>(), count, out->ptr<uint8_t>());
}

}  // namespace

cv::Mat ApplyAugmentation(const cv::Mat& rgb, const AugmentSpec& a) {
  // Photometric part: value -> clamp(gain_c * value) -> 12-bit level -> level^gamma (a table of
  // 4096 entries; the 12-bit step moves a value by at most 0.2 of an 8-bit level).
  const internal::Photometric photometric(a.gain, a.gamma);
  cv::Mat out(rgb.rows, rgb.cols, CV_8UC3);
  if (a.blur_sigma > 0.0f) {
    BlurToBytes(rgb, photometric, a.blur_sigma, &out);
  } else {
    photometric.Bytes(rgb.ptr<float>(), 3 * static_cast<size_t>(rgb.rows) * rgb.cols,
                      out.ptr<uint8_t>());
  }
  if (a.jpeg_quality > 0) JpegRoundTrip(a.jpeg_quality, &out);
  return out;
}

bool HasContourLines(const models::MorphableModel& model) {
  if (static_cast<int>(model.contour_candidates.size()) != models::kNumJawLandmarks) return false;
  for (const auto& line : model.contour_candidates) {
    if (line.empty()) return false;
  }
  return model.num_landmarks() == models::kNumLandmarks;
}

SampleContext::SampleContext(const models::MorphableModel& model)
    : model_(&model), has_contours_(HasContourLines(model)) {
  std::vector<int> ids = model.landmarks;
  if (has_contours_) {
    for (const std::vector<int>& line : model.contour_candidates) {
      line_begin_.push_back(static_cast<int>(ids.size()));
      ids.insert(ids.end(), line.begin(), line.end());
    }
    line_begin_.push_back(static_cast<int>(ids.size()));
    outward_ = fitters::ContourOutwardDirections(model);
  }
  subset_ = model.MakeSubset(ids);
}

SampleContext::~SampleContext() = default;

void SampleContext::EvaluateGeometry(const std::vector<const FaceParams*>& params,
                                     ThreadPool* pool, GeometryBlock* out) const {
  const models::MorphableModel& m = *model_;
  const int count = static_cast<int>(params.size());
  Eigen::MatrixXf alpha(m.num_identity(), count), beta(m.num_expression(), count),
      gamma(m.num_albedo(), count);
  // Coefficients as the renderer converts them (double -> float); missing ones are zero, extra
  // ones ignored (RenderSample refuses parameters whose sizes differ from the model's).
  auto fill = [](const Eigen::VectorXd& c, Eigen::MatrixXf* out, int j) {
    const Eigen::Index k = std::min<Eigen::Index>(c.size(), out->rows());
    out->col(j).head(k) = c.head(k).cast<float>();
  };
  alpha.setZero();
  beta.setZero();
  gamma.setZero();
  for (int j = 0; j < count; ++j) {
    fill(params[j]->identity, &alpha, j);
    fill(params[j]->expression, &beta, j);
    fill(params[j]->albedo, &gamma, j);
  }
  const int64_t rows = m.shape_mean.size();
  out->shape.resize(rows, count);
  out->albedo.resize(rows, count);
  const std::vector<internal::BasisTerm> shape_terms = {{&m.identity.basis, &alpha},
                                                        {&m.expression.basis, &beta}};
  const std::vector<internal::BasisTerm> albedo_terms = {{&m.albedo.basis, &gamma}};
  // Row chunks of a few KiB of each basis column: the block's working set stays in cache.
  constexpr int64_t kRowChunk = 1024;
  ThreadPool inline_pool(1);
  ThreadPool* p = pool != nullptr ? pool : &inline_pool;
  p->ParallelForChunks(0, rows, kRowChunk, [&](int64_t b, int64_t e, int64_t) {
    internal::EvaluateBasisRows(m.shape_mean, shape_terms, b, e, &out->shape);
    internal::EvaluateBasisRows(m.albedo_mean, albedo_terms, b, e, &out->albedo);
  });
}

std::unique_ptr<models::MorphableModel> SampleContext::AcquireRenderModel() const {
  {
    std::lock_guard<std::mutex> lock(render_models_mutex_);
    if (!render_models_.empty()) {
      std::unique_ptr<models::MorphableModel> m = std::move(render_models_.back());
      render_models_.pop_back();
      return m;
    }
  }
  auto m = std::make_unique<models::MorphableModel>();
  m->name = model_->name;
  m->triangles = model_->triangles;
  m->landmarks = model_->landmarks;
  m->expression_kind = model_->expression_kind;
  return m;
}

void SampleContext::ReleaseRenderModel(std::unique_ptr<models::MorphableModel> m) const {
  std::lock_guard<std::mutex> lock(render_models_mutex_);
  render_models_.push_back(std::move(m));
}

Eigen::VectorXf SampleContext::EvaluateVertices(const FaceParams& params) const {
  Eigen::VectorXf out;
  subset_.Evaluate(params.identity.cast<float>(), params.expression.cast<float>(), &out);
  return out;
}

std::vector<int> SampleContext::SilhouetteRows(const FaceParams& params,
                                               const Eigen::VectorXf& vertices) const {
  std::vector<int> rows(models::kNumLandmarks);
  for (int k = 0; k < models::kNumLandmarks; ++k) rows[k] = k;
  if (!has_contours_) return rows;
  for (int k = 0; k < models::kNumJawLandmarks; ++k) {
    const int begin = line_begin_[k], count = line_begin_[k + 1] - begin;
    const Eigen::Matrix3Xd points =
        Eigen::Map<const Eigen::Matrix3Xf>(vertices.data() + 3 * begin, 3, count).cast<double>();
    rows[k] = begin + fitters::SelectSilhouetteVertex(params, outward_[k], points);
  }
  return rows;
}

StatusOr<EncodedSample> RenderSample(const models::MorphableModel& model, const SampleSpec& spec,
                                     const Backgrounds* backgrounds, bool has_specular) {
  return RenderSample(SampleContext(model), spec, backgrounds, has_specular);
}

StatusOr<EncodedSample> RenderSample(const SampleContext& context, const SampleSpec& spec,
                                     const Backgrounds* backgrounds, bool has_specular) {
  GeometryBlock geometry;
  context.EvaluateGeometry({&spec.params}, nullptr, &geometry);
  return RenderSample(context, spec, geometry, 0, backgrounds, has_specular);
}

Status CheckSampleGeometry(const SampleContext& context, const SampleSpec& spec,
                           const GeometryBlock& geometry, int column) {
  const models::MorphableModel& model = context.model();
  // The checks render::Render makes on the full parameters (the render model has no modes).
  MORPHFIT_RETURN_IF_ERROR(spec.params.Validate("render parameters"));
  MORPHFIT_RETURN_IF_ERROR(spec.params.CheckSizes(model.num_identity(), model.num_expression(),
                                                  model.num_albedo(), "render parameters"));
  if (column < 0 || column >= geometry.count() ||
      geometry.shape.rows() != model.shape_mean.size() ||
      geometry.albedo.rows() != model.albedo_mean.size() ||
      geometry.albedo.cols() != geometry.shape.cols()) {
    return InvalidArgumentError("synth: geometry block does not hold sample column " +
                                std::to_string(column) + " of this model");
  }
  return OkStatus();
}

namespace {

// The sample's parameters without coefficients: with a render model (no modes) whose means are
// the sample's shape and albedo, render::Render / ComputeGeometry's product is then the mean
// itself, so the result is that of render::Render(model, spec.params).
FaceParams PosedParams(const SampleSpec& spec) {
  FaceParams posed = spec.params;
  posed.identity.resize(0);
  posed.expression.resize(0);
  posed.albedo.resize(0);
  return posed;
}

}  // namespace

std::unique_ptr<models::MorphableModel> SampleContext::RenderModelFor(
    const GeometryBlock& geometry, int column) const {
  std::unique_ptr<models::MorphableModel> m = AcquireRenderModel();
  m->shape_mean = geometry.shape.col(column);
  m->albedo_mean = geometry.albedo.col(column);
  return m;
}

StatusOr<render::FaceGeometry<float>> ComputeSampleGeometry(const SampleContext& context,
                                                            const SampleSpec& spec,
                                                            const GeometryBlock& geometry,
                                                            int column) {
  MORPHFIT_RETURN_IF_ERROR(CheckSampleGeometry(context, spec, geometry, column));
  std::unique_ptr<models::MorphableModel> m = context.RenderModelFor(geometry, column);
  StatusOr<render::FaceGeometry<float>> g =
      render::ComputeGeometry<float>(*m, PosedParams(spec), nullptr);
  context.ReleaseRenderModel(std::move(m));
  return g;
}

StatusOr<EncodedSample> RenderSample(const SampleContext& context, const SampleSpec& spec,
                                     const GeometryBlock& geometry, int column,
                                     const Backgrounds* backgrounds, bool has_specular) {
  EncodedSample s;
  MORPHFIT_RETURN_IF_ERROR(
      RenderSample(context, spec, geometry, column, backgrounds, has_specular, &s));
  return s;
}

Status RenderSample(const SampleContext& context, const SampleSpec& spec,
                    const GeometryBlock& geometry, int column, const Backgrounds* backgrounds,
                    bool has_specular, EncodedSample* out) {
  MORPHFIT_RETURN_IF_ERROR(CheckSampleGeometry(context, spec, geometry, column));
  const FaceParams posed = PosedParams(spec);
  const int width = posed.image_width, height = posed.image_height;
  if (width <= 0 || height <= 0) {
    return InvalidArgumentError("render: image size must be positive, got " +
                                std::to_string(width) + " x " + std::to_string(height));
  }
  // render::Render's steps (geometry, visibility, shading of every channel) into the reused
  // workspace; its landmarks are not needed (synth projects its own, both styles).
  const render::RenderOptions options = RenderOptionsFor(spec);
  std::unique_ptr<models::MorphableModel> m = context.RenderModelFor(geometry, column);
  // The per-vertex arrays and the renderer's float channels, kept per thread and reused by its
  // next sample.
  thread_local render::FaceGeometry<float> g;
  thread_local render::RenderResult ws;
  const Status geometry_status = render::ComputeGeometry<float>(*m, posed, nullptr, &g);
  if (!geometry_status.ok()) {
    context.ReleaseRenderModel(std::move(m));
    return geometry_status;
  }
  render::RenderChannels(g, *m, options, width, height, nullptr, &ws);
  context.ReleaseRenderModel(std::move(m));
  RenderedFace face;
  face.width = width;
  face.height = height;
  face.image = ws.image.data();
  face.mask = ws.mask.data();
  face.normals = ws.normals.data();
  face.albedo = ws.albedo.data();
  face.shading = ws.shading.data();
  face.specular = ws.specular.data();
  face.depth = ws.visibility.depth.data();
  return EncodeRenderedSample(context, spec, face, backgrounds, has_specular, out);
}

Status EncodeRenderedSample(const SampleContext& context, const SampleSpec& spec,
                            const RenderedFace& r, const Backgrounds* backgrounds,
                            bool has_specular, EncodedSample* out) {
  if (r.width <= 0 || r.image == nullptr || r.mask == nullptr || r.normals == nullptr ||
      r.albedo == nullptr || r.shading == nullptr || r.specular == nullptr ||
      r.depth == nullptr) {
    return InvalidArgumentError("synth: sample " + std::to_string(spec.index) +
                                ": no rendered face to encode");
  }
  const int size = r.width;
  if (r.height != size) return InvalidArgumentError("synth: samples are square");
  const size_t n = static_cast<size_t>(size) * size;
  const render::RenderOptions options = RenderOptionsFor(spec);

  EncodedSample& s = *out;
  s.size = size;
  s.has_specular = has_specular;
  // The maps keep any earlier sample's storage (resize only fills new elements with 0): the
  // pass over the mask's runs below writes every value, the face's runs by the vectorised
  // conversions, the background's runs with 0 (the value off the face).
  s.image.resize(3 * n);
  s.mask.assign(r.mask, r.mask + n);
  s.depth.resize(n);
  s.normals.resize(3 * n);
  s.albedo.resize(3 * n);
  s.shading.resize(3 * n);
  if (has_specular) {
    s.specular.resize(n);
  } else {
    s.specular.clear();
  }
  const AugmentSpec& a = spec.augment;
  const internal::Photometric photometric(a.gain, a.gamma);
  // A flat background without blur goes straight to bytes, run by run; otherwise the float
  // composite is built first (the blur needs it whole).
  const bool flat_bytes = spec.background.kind == BackgroundKind::kFlat && !(a.blur_sigma > 0.0f);
  uint8_t background_bytes[3];
  photometric.Bytes(spec.background.color, 3, background_bytes);
  cv::Mat composite;  // CV_32FC3, unless flat_bytes
  if (spec.background.kind != BackgroundKind::kFlat) {
    MORPHFIT_ASSIGN_OR_RETURN(composite, RenderBackground(spec.background, size, backgrounds));
  } else if (!flat_bytes) {
    composite = cv::Mat(size, size, CV_32FC3, r.image);  // borrows r.image: flat colour below
  }
  const float z0 = static_cast<float>(spec.params.translation.z());
  for (size_t i = 0; i < n;) {
    const size_t e = internal::MaskRunEnd(r.mask, i, n), len = e - i;
    if (r.mask[i] == 0) {
      std::fill(&s.depth[i], &s.depth[i] + len, uint16_t{0});
      std::fill(&s.normals[3 * i], &s.normals[3 * i] + 3 * len, uint8_t{0});
      std::fill(&s.albedo[3 * i], &s.albedo[3 * i] + 3 * len, uint8_t{0});
      std::fill(&s.shading[3 * i], &s.shading[3 * i] + 3 * len, uint16_t{0});
      if (has_specular) std::fill(&s.specular[i], &s.specular[i] + len, uint8_t{0});
      if (flat_bytes) {
        for (size_t k = i; k < e; ++k) std::memcpy(&s.image[3 * k], background_bytes, 3);
      } else if (spec.background.kind == BackgroundKind::kFlat) {
        float* p = r.image + 3 * i;
        for (size_t k = 0; k < len; ++k) std::memcpy(p + 3 * k, spec.background.color, 3 * sizeof(float));
      }
      i = e;
      continue;
    }
    if (flat_bytes) {
      photometric.Bytes(r.image + 3 * i, 3 * len, &s.image[3 * i]);
    } else if (spec.background.kind != BackgroundKind::kFlat) {
      std::memcpy(composite.ptr<float>() + 3 * i, r.image + 3 * i, 3 * len * sizeof(float));
    }
    internal::OffsetToHalves(r.depth + i, z0, len, &s.depth[i]);
    internal::SignedToBytes(r.normals + 3 * i, 3 * len, &s.normals[3 * i]);
    internal::ToBytes(r.albedo + 3 * i, 3 * len, &s.albedo[3 * i]);
    internal::OffsetToHalves(r.shading + 3 * i, 0.0f, 3 * len, &s.shading[3 * i]);
    if (has_specular) internal::ToBytes(r.specular + i, len, &s.specular[i]);
    i = e;
  }
  // The image: composited, then augmented (ApplyAugmentation's steps).
  cv::Mat image(size, size, CV_8UC3, s.image.data());  // borrows s.image
  if (!flat_bytes) {
    if (a.blur_sigma > 0.0f) {
      BlurToBytes(composite, photometric, a.blur_sigma, &image);
    } else {
      photometric.Bytes(composite.ptr<float>(), 3 * n, s.image.data());
    }
  }
  if (a.jpeg_quality > 0) {
    JpegRoundTrip(a.jpeg_quality, &image);
    if (image.data != s.image.data()) {
      std::memcpy(s.image.data(), image.ptr<uint8_t>(), 3 * n);
    }
  }

  // Landmarks: 3D style (fixed vertices) and 2D style (silhouette jaw).
  const Eigen::VectorXf vertices = context.EvaluateVertices(spec.params);
  const int L = models::kNumLandmarks;
  s.landmarks_3d.resize(3 * L);
  s.landmarks_3d_visible.resize(L);
  ProjectLandmarks(spec.params, vertices.data(), L, r, options, true,
                   s.landmarks_3d.data(), s.landmarks_3d_visible.data());
  // 2D style: the jaw's silhouette vertices, positions looked up in the evaluated block.
  const std::vector<int> rows = context.SilhouetteRows(spec.params, vertices);
  std::vector<float> points_2d(3 * L);
  for (int k = 0; k < L; ++k) {
    for (int c = 0; c < 3; ++c) points_2d[3 * k + c] = vertices[3 * rows[k] + c];
  }
  s.landmarks_2d.resize(2 * L);
  s.landmarks_2d_visible.resize(L);
  ProjectLandmarks(spec.params, points_2d.data(), L, r, options, false,
                   s.landmarks_2d.data(), s.landmarks_2d_visible.data());

  const Eigen::VectorXd flat = spec.params.ToFlat();
  s.params.assign(flat.data(), flat.data() + flat.size());
  return OkStatus();
}

cv::Mat MakeSamplePreview(const std::vector<EncodedSample>& samples) {
  std::vector<cv::Mat> tiles;
  std::vector<std::string> captions;
  int columns = 0;
  for (size_t si = 0; si < samples.size(); ++si) {
    const EncodedSample& s = samples[si];
    const int size = s.size;
    const size_t n = static_cast<size_t>(size) * size;
    auto rgb_tile = [&](const std::vector<uint8_t>& rgb) {
      cv::Mat m(size, size, CV_8UC3);
      for (size_t i = 0; i < n; ++i) {
        for (int c = 0; c < 3; ++c) m.ptr<uint8_t>()[3 * i + c] = rgb[3 * i + 2 - c];
      }
      return m;
    };
    auto grey_tile = [&](const std::vector<uint8_t>& v, int scale) {
      cv::Mat m(size, size, CV_8UC1);
      for (size_t i = 0; i < n; ++i) m.ptr<uint8_t>()[i] = static_cast<uint8_t>(std::min(255, v[i] * scale));
      cv::Mat bgr;
      cv::cvtColor(m, bgr, cv::COLOR_GRAY2BGR);
      return bgr;
    };
    std::vector<std::pair<cv::Mat, std::string>> row;
    row.emplace_back(rgb_tile(s.image), "#" + std::to_string(si) + " image");
    row.emplace_back(grey_tile(s.mask, 255), "mask");
    // Depth: near = white over the face's own range.
    float lo = std::numeric_limits<float>::infinity(), hi = -lo;
    for (size_t i = 0; i < n; ++i) {
      if (!s.mask[i]) continue;
      const float d = HalfToFloat(s.depth[i]);
      lo = std::min(lo, d);
      hi = std::max(hi, d);
    }
    std::vector<uint8_t> depth(n, 0);
    for (size_t i = 0; i < n; ++i) {
      if (s.mask[i] && hi > lo) {
        depth[i] = static_cast<uint8_t>(40 + std::lround(215.0f * (hi - HalfToFloat(s.depth[i])) / (hi - lo)));
      }
    }
    row.emplace_back(grey_tile(depth, 1), "depth");
    row.emplace_back(rgb_tile(s.normals), "normals");
    row.emplace_back(rgb_tile(s.albedo), "albedo");
    std::vector<uint8_t> shading(3 * n, 0);
    for (size_t i = 0; i < 3 * n; ++i) shading[i] = ToByte(0.5f * HalfToFloat(s.shading[i]));
    row.emplace_back(rgb_tile(shading), "shading / 2");
    if (s.has_specular) row.emplace_back(grey_tile(s.specular, 1), "specular");
    cv::Mat marks = rgb_tile(s.image);
    const int radius = std::max(1, size / 100);
    for (int k = 0; k < models::kNumLandmarks; ++k) {
      const cv::Point p3(static_cast<int>(std::lround(s.landmarks_3d[3 * k])),
                         static_cast<int>(std::lround(s.landmarks_3d[3 * k + 1])));
      const cv::Point p2(static_cast<int>(std::lround(s.landmarks_2d[2 * k])),
                         static_cast<int>(std::lround(s.landmarks_2d[2 * k + 1])));
      cv::circle(marks, p3, radius, cv::Scalar(0, 220, 0), s.landmarks_3d_visible[k] ? -1 : 1);
      cv::circle(marks, p2, radius, cv::Scalar(0, 0, 255), s.landmarks_2d_visible[k] ? -1 : 1);
    }
    row.emplace_back(marks, "landmarks 2D red, 3D green");
    columns = std::max(columns, static_cast<int>(row.size()));
    for (auto& [m, c] : row) {
      tiles.push_back(m);
      captions.push_back(c);
    }
  }
  return render::MakeContactSheet(tiles, captions, std::max(1, columns));
}

}  // namespace morphfit::synth
