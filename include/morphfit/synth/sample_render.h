// Rendering one synthetic sample into its stored (compact) channels: the fitting renderer's
// image and maps, the background composited behind the face, photometric augmentation, the
// 68 landmarks in both styles, and the parameter record. The storage types and scales are the
// schema of docs/formats.md ("Synthetic sets (HDF5)"):
//   image     uint8  H x W x 3  RGB, value / 255 (clamped), after augmentation
//   mask      uint8  H x W      1 = face
//   depth     float16 H x W     camera z minus the sample's translation z, mm; 0 off the face
//   normals   uint8  H x W x 3  view frame, n = value / 127.5 - 1; 0 off the face
//   albedo    uint8  H x W x 3  value / 255 (the model albedo clamped to [0, 1]); 0 off the face
//   shading   float16 H x W x 3 SH irradiance (unclamped); 0 off the face
//   specular  uint8  H x W      value / 255 (clamped); only when specular is on
//   landmarks_2d  float32 68 x 2  (u, v) px, jaw on the silhouette (fitters/contour.h)
//   landmarks_3d  float32 68 x 3  (u, v) px and camera z (mm), the model's fixed vertices
//   *_visible     uint8 68         1 = inside the image and not hidden (renderer's rule)
#ifndef MORPHFIT_SYNTH_SAMPLE_RENDER_H_
#define MORPHFIT_SYNTH_SAMPLE_RENDER_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "morphfit/core/status.h"
#include "morphfit/core/thread_pool.h"
#include "morphfit/models/morphable_model.h"
#include "morphfit/render/renderer.h"
#include "morphfit/synth/sampler.h"

namespace morphfit::synth {

// Background photographs (`--backgrounds DIR`): every readable image file directly in DIR
// (.jpg .jpeg .png .bmp .tif .tiff .webp, case-insensitive), sorted by name, loaded once as
// 8-bit RGB and downscaled so that the shorter side is at most max_side (crops are drawn in the
// downscaled image, so crop rectangles refer to it).
struct Backgrounds {
  std::vector<std::string> files;  // names relative to the folder, sorted
  std::vector<cv::Mat> images;     // CV_8UC3 RGB
  std::vector<std::pair<int, int>> Sizes() const;  // (width, height) per image
};
// Errors: a missing folder, no image in it, or a file that does not decode (named).
StatusOr<Backgrounds> LoadBackgrounds(const std::string& dir, int max_side);

// The background of a sample as float RGB in [0, 1], size x size x 3 (CV_32FC3).
//  flat:  spec.color everywhere;
//  noise: spec.color plus two octaves of smooth value noise (a 5 x 5 and a 17 x 17 grid of RGB
//         offsets, N(0, 0.25) and N(0, 0.1), bicubically upsampled), clamped to [0, 1];
//  image: the crop rectangle of background image spec.image_index, resized (area filter).
// Errors: an image background without that image.
StatusOr<cv::Mat> RenderBackground(const BackgroundSpec& spec, int size,
                                   const Backgrounds* backgrounds);

// Photometric augmentation: per value clamp(gain_c * v) to [0, 1], rounded to one of 4096
// levels, raised to gamma (by table); then the Gaussian blur (float), quantisation to 8 bits
// and the JPEG round trip (OpenCV, in BGR). Without gain and gamma the values are quantised
// directly. `rgb` is CV_32FC3 in [0, 1]; the result is CV_8UC3 RGB.
cv::Mat ApplyAugmentation(const cv::Mat& rgb, const AugmentSpec& augment);

struct EncodedSample {
  int size = 0;
  bool has_specular = false;
  std::vector<uint8_t> image;     // size * size * 3
  std::vector<uint8_t> mask;      // size * size
  std::vector<uint16_t> depth;    // float16 bits
  std::vector<uint8_t> normals;   // size * size * 3
  std::vector<uint8_t> albedo;    // size * size * 3
  std::vector<uint16_t> shading;  // float16 bits, size * size * 3
  std::vector<uint8_t> specular;  // size * size (empty when specular is off)
  std::vector<float> landmarks_2d;  // 68 * 2
  std::vector<uint8_t> landmarks_2d_visible;  // 68
  std::vector<float> landmarks_3d;  // 68 * 3
  std::vector<uint8_t> landmarks_3d_visible;  // 68
  std::vector<double> params;       // FaceParams::ToFlat()
};

// One rendered face as the encoder reads it (borrowed arrays of width x height pixels, with the
// meanings of render::RenderResult): image RGB composited over the renderer's background, mask
// (1 = face), view-frame unit normals, albedo, SH shading, specular, and the camera z (mm) of the
// visible surface (+inf off the face). `image` is written in place: a flat background is
// composited into it.
struct RenderedFace {
  int width = 0, height = 0;
  float* image = nullptr;
  const uint8_t* mask = nullptr;
  const float* normals = nullptr;
  const float* albedo = nullptr;
  const float* shading = nullptr;
  const float* specular = nullptr;
  const float* depth = nullptr;
};

// Per-vertex shape (mm, model frame) and albedo (RGB, unclamped) of a block of samples, 3N x
// count each: column j belongs to the j-th sample given to SampleContext::EvaluateGeometry.
struct GeometryBlock {
  Eigen::MatrixXf shape;
  Eigen::MatrixXf albedo;
  int count() const { return static_cast<int>(shape.cols()); }
};

// Per-model data shared by every sample of a run (build once; then any number of threads may
// use it): the 68 landmark vertices and every jaw-contour candidate vertex gathered into one
// dense block (evaluated per sample by one small product), the contour lines' outward
// directions (fitters/contour.h), and spare render models (see RenderSample). `model` must
// outlive the context.
class SampleContext {
 public:
  explicit SampleContext(const models::MorphableModel& model);
  ~SampleContext();
  SampleContext(const SampleContext&) = delete;
  SampleContext& operator=(const SampleContext&) = delete;

  const models::MorphableModel& model() const { return *model_; }
  bool has_contour_lines() const { return has_contours_; }

  // Shape and albedo of every sample in `params` in one pass over the bases (the bases are read
  // once per block instead of once per sample), rows split over `pool` (null = this thread).
  // Each value is computed by the same float operations whatever the block, its order or the
  // thread count: those of the renderer's own per-sample product (Eigen's GEMV: one FMA chain
  // per basis block, added to the mean) but for a few values 1-2 ulp apart and subnormals
  // flushed to zero; src/synth/basis_block.h. Sizes are not checked here
  // (RenderSample checks them): missing coefficients count as zero, extra ones are ignored.
  void EvaluateGeometry(const std::vector<const FaceParams*>& params, ThreadPool* pool,
                        GeometryBlock* out) const;

  // Model-frame positions (mm, float) of the gathered vertices for `params`: 3 per vertex, the
  // 68 landmarks first, then the contour lines in order.
  Eigen::VectorXf EvaluateVertices(const FaceParams& params) const;
  // For each of the 68 2D-style landmarks, its position in the gathered block: the jaw
  // landmarks on the silhouette (the fitters' rule, SelectSilhouetteVertex, on each contour
  // line; the fixed vertex when the model has no contour lines), the others their own vertex.
  // `vertices` is EvaluateVertices' output for the same params.
  std::vector<int> SilhouetteRows(const FaceParams& params, const Eigen::VectorXf& vertices) const;

 private:
  // A copy of the model's triangles and landmarks with no modes: its means are set to a
  // sample's evaluated shape and albedo, so that render::Render renders given geometry.
  std::unique_ptr<models::MorphableModel> AcquireRenderModel() const;
  void ReleaseRenderModel(std::unique_ptr<models::MorphableModel> m) const;
  // The render model with column `column` of `geometry` as its means (acquired: release it).
  std::unique_ptr<models::MorphableModel> RenderModelFor(const GeometryBlock& geometry,
                                                         int column) const;
  friend Status RenderSample(const SampleContext&, const SampleSpec&, const GeometryBlock&, int,
                             const Backgrounds*, bool, EncodedSample*);
  friend StatusOr<render::FaceGeometry<float>> ComputeSampleGeometry(const SampleContext&,
                                                                     const SampleSpec&,
                                                                     const GeometryBlock&, int);

  const models::MorphableModel* model_;
  mutable std::mutex render_models_mutex_;
  mutable std::vector<std::unique_ptr<models::MorphableModel>> render_models_;
  bool has_contours_ = false;
  models::VertexSubset subset_;
  std::vector<int> line_begin_;  // first position in subset_ of each contour line
  std::vector<Eigen::Vector3d> outward_;
};

// Renders and encodes sample `spec`. `has_specular` decides whether the specular map is kept.
// The 2D-style jaw uses the model's contour lines; a model without them gets the fixed jaw
// vertices in both styles. Runs on the calling thread only (safe to call from many workers);
// the renderer's float channels live in buffers kept per thread and reused by the thread's next
// sample (about 2.7 MB at 224 x 224), so no sample allocates and clears them anew.
StatusOr<EncodedSample> RenderSample(const SampleContext& context, const SampleSpec& spec,
                                     const Backgrounds* backgrounds, bool has_specular);
// The same with the sample's shape and albedo taken from column `column` of `geometry` (made by
// context.EvaluateGeometry for spec.params): bit-identical to the call above (which evaluates
// the sample's geometry alone).
StatusOr<EncodedSample> RenderSample(const SampleContext& context, const SampleSpec& spec,
                                     const GeometryBlock& geometry, int column,
                                     const Backgrounds* backgrounds, bool has_specular);
// The same into `out`, whose vectors keep their storage: every value of an earlier sample in
// `out` is overwritten (or the vector emptied), so the result equals a fresh one's bit for
// bit. WriteShard passes the buffers of a sample it has written, so no sample allocates,
// zero-fills and faults in its ~1 MB of stored channels anew. On error `out` is unspecified.
Status RenderSample(const SampleContext& context, const SampleSpec& spec,
                    const GeometryBlock& geometry, int column, const Backgrounds* backgrounds,
                    bool has_specular, EncodedSample* out);
// The same with a context made for this one call.
StatusOr<EncodedSample> RenderSample(const models::MorphableModel& model, const SampleSpec& spec,
                                     const Backgrounds* backgrounds, bool has_specular);

// The checks RenderSample makes before rendering: parameters finite, block sizes the model's,
// `column` a column of `geometry` with the model's row count.
Status CheckSampleGeometry(const SampleContext& context, const SampleSpec& spec,
                           const GeometryBlock& geometry, int column);
// The per-vertex arrays render::Render computes for sample `spec` before rasterizing
// (render::ComputeGeometry: pixels, camera-frame points, view-frame normals, albedo, lighting),
// with its shape and albedo taken from column `column` of `geometry`; what the batched device
// path (device_render.h) uploads. Errors as CheckSampleGeometry.
StatusOr<render::FaceGeometry<float>> ComputeSampleGeometry(const SampleContext& context,
                                                            const SampleSpec& spec,
                                                            const GeometryBlock& geometry,
                                                            int column);
// The second half of RenderSample, shared by the CPU and device paths: composites `face` over
// the sample's background, augments, converts every channel to its stored type (0 off the
// face), projects the 68 landmarks of both styles with the renderer's visibility rule against
// face.depth, and records the parameters. face.width must equal face.height. Writes into
// `out`, reusing its vectors' storage (as the RenderSample overload above).
Status EncodeRenderedSample(const SampleContext& context, const SampleSpec& spec,
                            const RenderedFace& face, const Backgrounds* backgrounds,
                            bool has_specular, EncodedSample* out);

// True if `model` has the 17 jaw contour lines the 2D-style landmarks need.
bool HasContourLines(const models::MorphableModel& model);

// float16 <-> float (IEEE binary16, round to nearest even).
uint16_t FloatToHalf(float value);
float HalfToFloat(uint16_t bits);
// FloatToHalf of `count` values (vectorised where the CPU converts; the same bits for every
// non-NaN value).
void FloatsToHalves(const float* values, size_t count, uint16_t* bits);

// A contact sheet for people: one row per sample with every channel (image, mask, depth,
// normals, albedo, shading, specular when present, and the image with the 2D-style landmarks
// in red and the 3D-style ones in green; hidden landmarks drawn hollow). 8-bit BGR.
cv::Mat MakeSamplePreview(const std::vector<EncodedSample>& samples);

}  // namespace morphfit::synth

#endif  // MORPHFIT_SYNTH_SAMPLE_RENDER_H_
