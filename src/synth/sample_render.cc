// Rendering and encoding one synthetic sample (sample_render.h).
#include "morphfit/synth/sample_render.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <dirent.h>
#include <limits>
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
#include "morphfit/render/renderer.h"

namespace morphfit::synth {
namespace {

bool HasImageExtension(const std::string& name) {
  const size_t dot = name.rfind('.');
  if (dot == std::string::npos) return false;
  std::string ext = name.substr(dot + 1);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == "jpg" || ext == "jpeg" || ext == "png" || ext == "bmp" || ext == "tif" ||
         ext == "tiff" || ext == "webp";
}

// Clamps to [0, 1] and rounds 255 v to the nearest byte (halves up).
uint8_t ToByte(float v) {
  return static_cast<uint8_t>(255.0f * std::min(1.0f, std::max(0.0f, v)) + 0.5f);
}

// value^gamma on [0, 1] by linear interpolation in a 4097-entry table (exact at the ends; the
// error is below 3e-4 near 0, where value^gamma is steepest: a tenth of an 8-bit level).
class GammaTable {
 public:
  // gamma == 1 builds nothing (the caller skips the table).
  explicit GammaTable(float gamma) {
    if (gamma == 1.0f) return;
    table_.resize(kSize + 1);
    for (int i = 0; i <= kSize; ++i) {
      table_[i] = std::pow(static_cast<float>(i) / kSize, gamma);
    }
  }
  float operator()(float v) const {
    const float x = v * kSize;
    const int i = std::min(kSize - 1, static_cast<int>(x));
    const float f = x - static_cast<float>(i);
    return table_[i] + f * (table_[i + 1] - table_[i]);
  }

 private:
  static constexpr int kSize = 4096;
  std::vector<float> table_;
};

// Projects the given model vertices for `params` (float arithmetic, as the renderer does) and
// applies the renderer's landmark visibility rule against the rendered depth buffer.
void ProjectLandmarks(const models::MorphableModel& model, const FaceParams& params,
                      const std::vector<int>& ids, const render::VisibilityBuffer& visibility,
                      const render::RenderOptions& options, bool with_depth, float* out,
                      uint8_t* visible) {
  // Vertex positions of just these ids (float, mean + bases x coefficients).
  const Eigen::VectorXf alpha = params.identity.cast<float>();
  const Eigen::VectorXf beta = params.expression.cast<float>();
  std::vector<float> points(3 * ids.size());
  for (size_t k = 0; k < ids.size(); ++k) {
    for (int c = 0; c < 3; ++c) {
      const Eigen::Index row = 3 * static_cast<Eigen::Index>(ids[k]) + c;
      float v = model.shape_mean[row];
      for (Eigen::Index j = 0; j < alpha.size(); ++j) v += model.identity.basis(row, j) * alpha[j];
      for (Eigen::Index j = 0; j < beta.size(); ++j) v += model.expression.basis(row, j) * beta[j];
      points[3 * k + c] = v;
    }
  }
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
  for (size_t k = 0; k < ids.size(); ++k) {
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
        px >= visibility.width || py >= visibility.height) {
      continue;
    }
    if (perspective && !(pc[2] > options.z_near_mm)) continue;
    const float surface = visibility.depth[static_cast<size_t>(py) * visibility.width + px];
    visible[k] = !(surface < pc[2] - options.landmark_depth_tolerance_mm) ? 1 : 0;
  }
}

}  // namespace

uint16_t FloatToHalf(float value) { return Eigen::numext::bit_cast<uint16_t>(Eigen::half(value)); }

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
      cv::Mat out(size, size, CV_32FC3, base);
      for (const auto& [grid, sigma] : {std::pair<int, double>{5, 0.25}, {17, 0.1}}) {
        cv::Mat coarse(grid, grid, CV_32FC3);
        for (int i = 0; i < grid * grid * 3; ++i) {
          coarse.ptr<float>()[i] = static_cast<float>(rng.Normal(0.0, sigma));
        }
        cv::Mat fine;
        cv::resize(coarse, fine, cv::Size(size, size), 0, 0, cv::INTER_CUBIC);
        out += fine;
      }
      cv::min(cv::max(out, 0.0), 1.0, out);
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

cv::Mat ApplyAugmentation(const cv::Mat& rgb, const AugmentSpec& a) {
  const bool gain = a.gain[0] != 1.0f || a.gain[1] != 1.0f || a.gain[2] != 1.0f;
  const bool gamma = a.gamma != 1.0f;
  const GammaTable table(gamma ? a.gamma : 1.0f);
  // Gain (clamped to [0, 1]) then gamma, per value.
  auto photometric = [&](float v, int c) {
    if (gain) v = std::min(1.0f, std::max(0.0f, v * a.gain[c]));
    return gamma ? table(std::min(1.0f, std::max(0.0f, v))) : v;
  };
  const int n = rgb.rows * rgb.cols;
  cv::Mat out(rgb.rows, rgb.cols, CV_8UC3);
  uint8_t* dst = out.ptr<uint8_t>();
  if (a.blur_sigma > 0.0f) {
    cv::Mat f(rgb.rows, rgb.cols, CV_32FC3);
    const float* src = rgb.ptr<float>();
    float* p = f.ptr<float>();
    for (int i = 0; i < n; ++i) {
      for (int c = 0; c < 3; ++c) p[3 * i + c] = photometric(src[3 * i + c], c);
    }
    cv::GaussianBlur(f, f, cv::Size(0, 0), a.blur_sigma, a.blur_sigma, cv::BORDER_REFLECT_101);
    for (int i = 0; i < 3 * n; ++i) dst[i] = ToByte(p[i]);
  } else {
    const float* src = rgb.ptr<float>();
    for (int i = 0; i < n; ++i) {
      for (int c = 0; c < 3; ++c) dst[3 * i + c] = ToByte(photometric(src[3 * i + c], c));
    }
  }
  if (a.jpeg_quality > 0) {
    // OpenCV's codec expects BGR (the colour transform and chroma subsampling treat R and B
    // differently), so round-trip in BGR.
    std::vector<uint8_t> jpeg;
    cv::Mat bgr;
    cv::cvtColor(out, bgr, cv::COLOR_RGB2BGR);
    cv::imencode(".jpg", bgr, jpeg, {cv::IMWRITE_JPEG_QUALITY, a.jpeg_quality});
    const cv::Mat decoded = cv::imdecode(jpeg, cv::IMREAD_COLOR);
    if (!decoded.empty()) cv::cvtColor(decoded, out, cv::COLOR_BGR2RGB);
  }
  return out;
}

bool HasContourLines(const models::MorphableModel& model) {
  if (static_cast<int>(model.contour_candidates.size()) != models::kNumJawLandmarks) return false;
  for (const auto& line : model.contour_candidates) {
    if (line.empty()) return false;
  }
  return model.num_landmarks() == models::kNumLandmarks;
}

StatusOr<EncodedSample> RenderSample(const models::MorphableModel& model, const SampleSpec& spec,
                                     const Backgrounds* backgrounds, bool has_specular) {
  const render::RenderOptions options = RenderOptionsFor(spec);
  MORPHFIT_ASSIGN_OR_RETURN(render::RenderResult r,
                            render::Render(model, spec.params, options, nullptr));
  const int size = r.width;
  if (r.height != size) return InvalidArgumentError("synth: samples are square");
  MORPHFIT_ASSIGN_OR_RETURN(cv::Mat bg, RenderBackground(spec.background, size, backgrounds));
  const size_t n = static_cast<size_t>(size) * size;

  // Composite the face over the background, then augment.
  cv::Mat composite = bg;  // CV_32FC3, owned by this call
  float* cp = composite.ptr<float>();
  for (size_t i = 0; i < n; ++i) {
    if (!r.mask[i]) continue;
    for (int c = 0; c < 3; ++c) cp[3 * i + c] = r.image[3 * i + c];
  }
  const cv::Mat image = ApplyAugmentation(composite, spec.augment);

  EncodedSample s;
  s.size = size;
  s.has_specular = has_specular;
  s.image.assign(image.ptr<uint8_t>(), image.ptr<uint8_t>() + 3 * n);
  s.mask = r.mask;
  s.depth.assign(n, 0);
  s.normals.assign(3 * n, 0);
  s.albedo.assign(3 * n, 0);
  s.shading.assign(3 * n, 0);
  if (has_specular) s.specular.assign(n, 0);
  const float z0 = static_cast<float>(spec.params.translation.z());
  for (size_t i = 0; i < n; ++i) {
    if (!r.mask[i]) continue;
    s.depth[i] = FloatToHalf(r.visibility.depth[i] - z0);
    for (int c = 0; c < 3; ++c) {
      s.normals[3 * i + c] = ToByte(0.5f * (r.normals[3 * i + c] + 1.0f));
      s.albedo[3 * i + c] = ToByte(r.albedo[3 * i + c]);
      s.shading[3 * i + c] = FloatToHalf(r.shading[3 * i + c]);
    }
    if (has_specular) s.specular[i] = ToByte(r.specular[i]);
  }

  // Landmarks: 3D style (fixed vertices) and 2D style (silhouette jaw).
  s.landmarks_3d.resize(3 * models::kNumLandmarks);
  s.landmarks_3d_visible.resize(models::kNumLandmarks);
  ProjectLandmarks(model, spec.params, model.landmarks, r.visibility, options, true,
                   s.landmarks_3d.data(), s.landmarks_3d_visible.data());
  const std::vector<int> ids = HasContourLines(model)
                                   ? fitters::SilhouetteLandmarkVertices(model, spec.params)
                                   : model.landmarks;
  s.landmarks_2d.resize(2 * models::kNumLandmarks);
  s.landmarks_2d_visible.resize(models::kNumLandmarks);
  ProjectLandmarks(model, spec.params, ids, r.visibility, options, false, s.landmarks_2d.data(),
                   s.landmarks_2d_visible.data());

  const Eigen::VectorXd flat = spec.params.ToFlat();
  s.params.assign(flat.data(), flat.data() + flat.size());
  return s;
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
