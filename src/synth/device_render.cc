// Batched rendering of synthetic samples (device_render.h).
#include "morphfit/synth/device_render.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "morphfit/render/renderer.h"
#include "morphfit/render/visibility.h"

#if defined(MORPHFIT_SYNTH_WITH_CUDA)
#include "model_eval.h"       // cuda::DeviceAvailable
#include "render_shading.h"   // cuda::RenderBatchCuda
#endif

namespace morphfit::synth {

StatusOr<RenderDevice> ParseRenderDevice(const std::string& name) {
  if (name == "cpu") return RenderDevice::kCpu;
  if (name == "cuda") return RenderDevice::kCuda;
  return InvalidArgumentError("--device must be cpu or cuda, got '" + name + "'");
}

const char* RenderDeviceName(RenderDevice device) {
  switch (device) {
    case RenderDevice::kCpu:
      return "cpu";
    case RenderDevice::kCuda:
      return "cuda";
    case RenderDevice::kCpuBatch:
      return "cpu-batch";
  }
  return "?";
}

bool RenderDeviceAvailable(RenderDevice device, std::string* reason) {
  if (device != RenderDevice::kCuda) return true;
#if defined(MORPHFIT_SYNTH_WITH_CUDA)
  return cuda::DeviceAvailable(reason);
#else
  if (reason != nullptr) {
    *reason = "morphfit was built without CUDA (MORPHFIT_WITH_CUDA=OFF or no nvcc at configure "
              "time)";
  }
  return false;
#endif
}

Status CheckRenderDevice(RenderDevice device) {
  std::string reason;
  if (RenderDeviceAvailable(device, &reason)) return OkStatus();
  return FailedPreconditionError(std::string("synth: --device ") + RenderDeviceName(device) +
                                 ": " + reason);
}

struct BlockRenderer::Impl {
  const SampleContext* context;
  RenderDevice device;
  std::vector<const SampleSpec*> specs;
  std::vector<Status> status;  // per sample
  std::vector<int> slot;       // per sample: its face in the batch, -1 = refused
  int faces = 0, width = 0, height = 0;
  bool perspective = true;
  float z_near_mm = 1.0f;
  float background[3] = {0.0f, 0.0f, 0.0f};
  // Batch inputs, face-major (cuda::RenderBatchInput's layout).
  std::vector<float> pixels, depths, normals, albedo, lighting, specular_params;
  // Batch outputs, face-major, with render::RenderResult's meanings.
  std::vector<float> image, normal_map, albedo_map, shading, specular, depth;
  std::vector<uint8_t> mask;
  std::vector<int32_t> triangle;
  double device_seconds = 0.0;

  size_t pixels_per_face() const { return static_cast<size_t>(width) * height; }
  Status RenderCpuTwin(ThreadPool* pool);
  Status RenderCuda();
};

BlockRenderer::BlockRenderer(const SampleContext& context, RenderDevice device)
    : impl_(std::make_unique<Impl>()) {
  impl_->context = &context;
  impl_->device = device;
}

BlockRenderer::~BlockRenderer() = default;

int BlockRenderer::count() const { return static_cast<int>(impl_->specs.size()); }
double BlockRenderer::device_seconds() const { return impl_->device_seconds; }

Status BlockRenderer::Render(const std::vector<const SampleSpec*>& specs,
                             const GeometryBlock& geometry, ThreadPool* pool) {
  Impl& b = *impl_;
  if (b.device == RenderDevice::kCpu) {
    return InvalidArgumentError("synth: BlockRenderer renders on cuda or cpu-batch, not cpu");
  }
  const models::MorphableModel& model = b.context->model();
  const int n = static_cast<int>(specs.size());
  b.specs = specs;
  b.status.assign(n, OkStatus());
  b.slot.assign(n, -1);
  b.faces = 0;
  b.device_seconds = 0.0;
  // Batch-wide settings from the first accepted sample; the others must agree (a sampler gives
  // every sample the same image size, camera type and renderer options but the specular term).
  for (int j = 0; j < n; ++j) {
    b.status[j] = CheckSampleGeometry(*b.context, *specs[j], geometry, j);
    if (!b.status[j].ok()) continue;
    const FaceParams& p = specs[j]->params;
    const render::RenderOptions options = RenderOptionsFor(*specs[j]);
    const bool perspective = p.camera_type == CameraType::kPinhole;
    if (p.image_width <= 0 || p.image_height <= 0) {
      b.status[j] = InvalidArgumentError("render: image size must be positive, got " +
                                         std::to_string(p.image_width) + " x " +
                                         std::to_string(p.image_height));
      continue;
    }
    if (b.faces == 0) {
      b.width = p.image_width;
      b.height = p.image_height;
      b.perspective = perspective;
      b.z_near_mm = options.z_near_mm;
      for (int c = 0; c < 3; ++c) b.background[c] = options.background[c];
    } else if (p.image_width != b.width || p.image_height != b.height ||
               perspective != b.perspective || options.z_near_mm != b.z_near_mm ||
               options.background[0] != b.background[0] ||
               options.background[1] != b.background[1] ||
               options.background[2] != b.background[2]) {
      return InvalidArgumentError(
          "synth: the samples of one block differ in image size, camera type or renderer "
          "options (sample " + std::to_string(specs[j]->index) + ")");
    }
    b.slot[j] = b.faces++;
  }
  const size_t nv = static_cast<size_t>(model.num_vertices());
  const size_t faces = static_cast<size_t>(b.faces);
  b.pixels.assign(2 * nv * faces, 0.0f);
  b.depths.assign(nv * faces, 0.0f);
  b.normals.assign(3 * nv * faces, 0.0f);
  b.albedo.assign(3 * nv * faces, 0.0f);
  b.lighting.assign(27 * faces, 0.0f);
  b.specular_params.assign(5 * faces, 0.0f);
  if (faces == 0) return OkStatus();

  // Per-vertex inputs of every accepted sample, as render::Render computes them.
  ThreadPool inline_pool(1);
  ThreadPool* p = pool != nullptr ? pool : &inline_pool;
  p->ParallelFor(0, n, [&](int64_t j) {
    const int s = b.slot[j];
    if (s < 0) return;
    StatusOr<render::FaceGeometry<float>> g_or =
        ComputeSampleGeometry(*b.context, *specs[j], geometry, static_cast<int>(j));
    if (!g_or.ok()) {
      // Its face stays all zero: behind the near plane (pinhole) or degenerate (weak), so it
      // covers no pixel; the sample reports the error.
      b.status[j] = g_or.status();
      return;
    }
    const render::FaceGeometry<float>& g = g_or.value();
    std::copy(g.pixels_float.begin(), g.pixels_float.end(), b.pixels.begin() + 2 * nv * s);
    std::copy(g.depths_float.begin(), g.depths_float.end(), b.depths.begin() + nv * s);
    std::copy(g.normals_view.begin(), g.normals_view.end(), b.normals.begin() + 3 * nv * s);
    std::copy(g.albedo.begin(), g.albedo.end(), b.albedo.begin() + 3 * nv * s);
    std::copy(g.lighting, g.lighting + 27, b.lighting.begin() + 27 * s);
    const math::SpecularParams<float> spec =
        render::MakeSpecularParams<float>(RenderOptionsFor(*specs[j]));
    float* sp = &b.specular_params[5 * s];
    sp[0] = spec.intensity;
    sp[1] = spec.shininess;
    for (int c = 0; c < 3; ++c) sp[2 + c] = spec.half_vector[c];
  });

  const size_t np = b.pixels_per_face() * faces;
  b.image.resize(3 * np);
  b.normal_map.resize(3 * np);
  b.albedo_map.resize(3 * np);
  b.shading.resize(3 * np);
  b.specular.resize(np);
  b.depth.resize(np);
  b.mask.resize(np);
  b.triangle.resize(np);
  const auto t0 = std::chrono::steady_clock::now();
  const Status rendered =
      b.device == RenderDevice::kCuda ? b.RenderCuda() : b.RenderCpuTwin(pool);
  b.device_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return rendered;
}

// The CPU renderer's own visibility and shading (render::Render's calls) on each face's batch
// arrays: what the device computes, from the same arrays.
Status BlockRenderer::Impl::RenderCpuTwin(ThreadPool* pool) {
  const models::MorphableModel& model = context->model();
  const int nv = model.num_vertices();
  const size_t npf = pixels_per_face();
  ThreadPool inline_pool(1);
  ThreadPool* p = pool != nullptr ? pool : &inline_pool;
  p->ParallelFor(0, faces, [&](int64_t s) {
    render::VisibilityBuffer vis;
    render::RasterizeVisibility(&pixels[2 * nv * s], &depths[nv * s], nv,
                                model.triangles.data(), model.num_triangles(), width, height,
                                perspective, z_near_mm, nullptr, &vis);
    math::ShadeInputs<float> in;
    in.pixels = &pixels[2 * nv * s];
    in.depths = &depths[nv * s];
    in.depth_stride = 1;
    in.normals = &normals[3 * nv * s];
    in.albedo = &albedo[3 * nv * s];
    in.triangles = model.triangles.data();
    in.perspective = perspective;
    in.lighting = &lighting[27 * s];
    const float* sp = &specular_params[5 * s];
    in.spec.intensity = sp[0];
    in.spec.shininess = sp[1];
    for (int c = 0; c < 3; ++c) in.spec.half_vector[c] = sp[2 + c];
    const size_t o = npf * s;
    const math::ChannelImages out{&image[3 * o],      &mask[o],    &normal_map[3 * o],
                                  &albedo_map[3 * o], &shading[3 * o], &specular[o]};
    render::ShadeVisibility(in, vis, background, out, nullptr);
    std::copy(vis.triangle.begin(), vis.triangle.end(), triangle.begin() + o);
    std::copy(vis.depth.begin(), vis.depth.end(), depth.begin() + o);
  });
  return OkStatus();
}

Status BlockRenderer::Impl::RenderCuda() {
#if defined(MORPHFIT_SYNTH_WITH_CUDA)
  const models::MorphableModel& model = context->model();
  cuda::RenderBatchInput in;
  in.pixels = pixels.data();
  in.depths = depths.data();
  in.normals = normals.data();
  in.albedo = albedo.data();
  in.lighting = lighting.data();
  in.triangles = model.triangles.data();
  in.num_vertices = model.num_vertices();
  in.num_triangles = model.num_triangles();
  in.batch = faces;
  in.width = width;
  in.height = height;
  in.perspective = perspective;
  in.z_near_mm = z_near_mm;
  in.face_specular = specular_params.data();
  for (int c = 0; c < 3; ++c) in.background[c] = background[c];
  cuda::RenderBatchOutput out;
  const std::string error = cuda::RenderBatchCuda(in, &out);
  if (!error.empty()) return InternalError("synth: --device cuda: " + error);
  image = std::move(out.image);
  mask = std::move(out.mask);
  normal_map = std::move(out.normals);
  albedo_map = std::move(out.albedo);
  shading = std::move(out.shading);
  specular = std::move(out.specular);
  triangle = std::move(out.visibility.triangle);
  depth = std::move(out.visibility.depth);
  return OkStatus();
#else
  return CheckRenderDevice(RenderDevice::kCuda);
#endif
}

RenderedFace BlockRenderer::Face(int j) {
  Impl& b = *impl_;
  RenderedFace face;
  if (j < 0 || j >= count() || b.slot[j] < 0) return face;
  const size_t o = b.pixels_per_face() * b.slot[j];
  face.width = b.width;
  face.height = b.height;
  face.image = &b.image[3 * o];
  face.mask = &b.mask[o];
  face.normals = &b.normal_map[3 * o];
  face.albedo = &b.albedo_map[3 * o];
  face.shading = &b.shading[3 * o];
  face.specular = &b.specular[o];
  face.depth = &b.depth[o];
  return face;
}

const int32_t* BlockRenderer::VisibleTriangles(int j) const {
  const Impl& b = *impl_;
  if (j < 0 || j >= count() || b.slot[j] < 0) return nullptr;
  return &b.triangle[b.pixels_per_face() * b.slot[j]];
}

StatusOr<EncodedSample> BlockRenderer::Encode(int j, const Backgrounds* backgrounds,
                                              bool has_specular) {
  EncodedSample s;
  MORPHFIT_RETURN_IF_ERROR(Encode(j, backgrounds, has_specular, &s));
  return s;
}

Status BlockRenderer::Encode(int j, const Backgrounds* backgrounds, bool has_specular,
                             EncodedSample* out) {
  if (j < 0 || j >= count()) {
    return InvalidArgumentError("synth: no sample " + std::to_string(j) + " in the block");
  }
  MORPHFIT_RETURN_IF_ERROR(impl_->status[j]);
  return EncodeRenderedSample(*impl_->context, *impl_->specs[j], Face(j), backgrounds,
                              has_specular, out);
}

}  // namespace morphfit::synth
