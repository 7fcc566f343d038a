// CUDA shading of visibility buffers: one thread per (pixel, face) calls
// math::ShadeVisibilityPixel, the CPU renderer's per-pixel formula, on the face's arrays.
#include "render_shading.h"

#include <cuda_runtime.h>

#include "morphfit/math/render_pixel.h"
#include "render_device_buffer.cuh"

namespace morphfit::cuda {
namespace {

constexpr int kThreads = 256;

struct ShadeLaunch {
  const float *pixels, *depths, *normals, *albedo, *lighting;
  const int32_t* triangles;
  const int32_t* visible_triangle;
  const float* face_specular;  // batch x 5 or null (then `spec` for every face)
  int num_vertices, width, height;
  bool perspective;
  math::SpecularParams<float> spec;
  float background[3];
  math::ChannelImages out;  // batch-concatenated
};

__global__ void ShadeKernel(ShadeLaunch p) {
  const int64_t num_pixels = static_cast<int64_t>(p.width) * p.height;
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= num_pixels) return;
  const int64_t b = blockIdx.y;
  math::ShadeInputs<float> in;
  in.pixels = p.pixels + b * 2 * p.num_vertices;
  in.depths = p.depths + b * p.num_vertices;
  in.depth_stride = 1;
  in.normals = p.normals + b * 3 * p.num_vertices;
  in.albedo = p.albedo + b * 3 * p.num_vertices;
  in.triangles = p.triangles;
  in.perspective = p.perspective;
  in.lighting = p.lighting + b * 27;
  in.spec = p.spec;
  if (p.face_specular != nullptr) {
    const float* f = p.face_specular + 5 * b;
    in.spec.intensity = f[0];
    in.spec.shininess = f[1];
    for (int c = 0; c < 3; ++c) in.spec.half_vector[c] = f[2 + c];
  }
  const int64_t o = b * num_pixels + i;
  math::ShadeVisibilityPixel(in, p.visible_triangle[o], static_cast<int>(i % p.width),
                             static_cast<int>(i / p.width), o, p.background, p.out);
}

std::string CheckInput(const RenderBatchInput& in) {
  if (in.width <= 0 || in.height <= 0) return "RenderBatchCuda: image size must be positive";
  if (in.batch <= 0 || in.batch > 65535) return "RenderBatchCuda: batch must be in [1, 65535]";
  if (in.num_vertices <= 0 || in.num_triangles < 0) return "RenderBatchCuda: empty mesh";
  if (!in.pixels || !in.depths || !in.normals || !in.albedo || !in.lighting || !in.triangles) {
    return "RenderBatchCuda: an input array is null";
  }
  return {};
}

// Uploads the per-vertex arrays, runs visibility when `visible_triangle` is null (else uploads
// it), shades, downloads.
std::string Run(const RenderBatchInput& in, const int32_t* visible_triangle,
                RenderBatchOutput* out) {
  std::string e = CheckInput(in);
  if (!e.empty()) return e;
  const size_t nv = static_cast<size_t>(in.batch) * in.num_vertices;
  const size_t np = static_cast<size_t>(in.batch) * in.width * in.height;
  DeviceBuffer<float> pixels, depths, normals, albedo, lighting, face_specular, bary, depth;
  DeviceBuffer<float> image, normal_map, albedo_map, shading, specular;
  DeviceBuffer<int32_t> triangles, triangle;
  DeviceBuffer<uint8_t> mask;
  DeviceBuffer<unsigned long long> keys;
  e = pixels.Upload(in.pixels, 2 * nv, "pixels");
  if (e.empty()) e = depths.Upload(in.depths, nv, "depths");
  if (e.empty()) e = normals.Upload(in.normals, 3 * nv, "normals");
  if (e.empty()) e = albedo.Upload(in.albedo, 3 * nv, "albedo");
  if (e.empty()) e = lighting.Upload(in.lighting, 27 * static_cast<size_t>(in.batch), "lighting");
  if (e.empty()) e = triangles.Upload(in.triangles, 3 * static_cast<size_t>(in.num_triangles), "triangles");
  if (e.empty() && in.face_specular != nullptr) {
    e = face_specular.Upload(in.face_specular, 5 * static_cast<size_t>(in.batch), "specular");
  }
  if (e.empty()) e = triangle.Upload(visible_triangle, np, "triangle ids");
  if (e.empty()) e = image.Allocate(3 * np, "image");
  if (e.empty()) e = normal_map.Allocate(3 * np, "normal map");
  if (e.empty()) e = albedo_map.Allocate(3 * np, "albedo map");
  if (e.empty()) e = shading.Allocate(3 * np, "shading map");
  if (e.empty()) e = specular.Allocate(np, "specular map");
  if (e.empty()) e = mask.Allocate(np, "mask");
  if (!e.empty()) return e;
  if (visible_triangle == nullptr) {
    e = keys.Allocate(np, "visibility keys");
    if (e.empty()) e = bary.Allocate(3 * np, "barycentrics");
    if (e.empty()) e = depth.Allocate(np, "depth");
    if (e.empty()) {
      e = RasterizeVisibilityDevice(pixels.get(), depths.get(), in.num_vertices, triangles.get(),
                                    in.num_triangles, in.width, in.height, in.perspective,
                                    in.z_near_mm, in.batch, keys.get(), triangle.get(),
                                    bary.get(), depth.get());
    }
    if (!e.empty()) return e;
  }
  ShadeLaunch p;
  p.pixels = pixels.get();
  p.depths = depths.get();
  p.normals = normals.get();
  p.albedo = albedo.get();
  p.lighting = lighting.get();
  p.triangles = triangles.get();
  p.visible_triangle = triangle.get();
  p.face_specular = in.face_specular != nullptr ? face_specular.get() : nullptr;
  p.num_vertices = in.num_vertices;
  p.width = in.width;
  p.height = in.height;
  p.perspective = in.perspective;
  p.spec.intensity = in.specular_intensity;
  p.spec.shininess = in.specular_shininess;
  for (int c = 0; c < 3; ++c) {
    p.spec.half_vector[c] = in.specular_half_vector[c];
    p.background[c] = in.background[c];
  }
  p.out = math::ChannelImages{image.get(),      mask.get(),    normal_map.get(),
                              albedo_map.get(), shading.get(), specular.get()};
  const int64_t per_face = static_cast<int64_t>(in.width) * in.height;
  const dim3 grid(static_cast<unsigned>((per_face + kThreads - 1) / kThreads), in.batch);
  ShadeKernel<<<grid, kThreads>>>(p);
  e = CheckKernels("ShadeKernel");
  if (!e.empty()) return e;
  out->image.resize(3 * np);
  out->normals.resize(3 * np);
  out->albedo.resize(3 * np);
  out->shading.resize(3 * np);
  out->specular.resize(np);
  out->mask.resize(np);
  e = image.Download(out->image.data(), 3 * np, "image");
  if (e.empty()) e = normal_map.Download(out->normals.data(), 3 * np, "normal map");
  if (e.empty()) e = albedo_map.Download(out->albedo.data(), 3 * np, "albedo map");
  if (e.empty()) e = shading.Download(out->shading.data(), 3 * np, "shading map");
  if (e.empty()) e = specular.Download(out->specular.data(), np, "specular map");
  if (e.empty()) e = mask.Download(out->mask.data(), np, "mask");
  if (e.empty() && visible_triangle == nullptr) {
    VisibilityArrays& v = out->visibility;
    v.width = in.width;
    v.height = in.height;
    v.batch = in.batch;
    v.triangle.resize(np);
    v.bary.resize(3 * np);
    v.depth.resize(np);
    e = triangle.Download(v.triangle.data(), np, "triangle ids");
    if (e.empty()) e = bary.Download(v.bary.data(), 3 * np, "barycentrics");
    if (e.empty()) e = depth.Download(v.depth.data(), np, "depths");
  }
  return e;
}

}  // namespace

std::string RenderBatchCuda(const RenderBatchInput& input, RenderBatchOutput* out) {
  return Run(input, nullptr, out);
}

std::string ShadeBatchCuda(const RenderBatchInput& input, const int32_t* visible_triangle,
                           RenderBatchOutput* out) {
  if (visible_triangle == nullptr) return "ShadeBatchCuda: visible_triangle is null";
  return Run(input, visible_triangle, out);
}

}  // namespace morphfit::cuda
