// CUDA visibility buffer: one thread per (triangle, face) sets the triangle up and z-tests every
// covered pixel of its bounding box with a 64-bit atomicMin on a packed key; one thread per
// (pixel, face) then resolves the key into triangle id, depth and barycentrics. All geometry is
// math/visibility.h's (shared with the CPU). Compiled with --fmad=false (cuda/CMakeLists.txt).
#include "render_visibility.h"

#include <cuda_runtime.h>
#include <math_constants.h>

#include "morphfit/math/raster.h"
#include "morphfit/math/visibility.h"
#include "render_device_buffer.cuh"

namespace morphfit::cuda {
namespace {

constexpr int kThreads = 256;
constexpr unsigned long long kBackgroundKey = ~0ull;

// Order-preserving map of a float's bits to uint32 (-0 and +0 made equal, as the CPU's `<`
// sees them). +inf and NaN never reach it: only depths below +inf are tested.
__device__ __forceinline__ uint32_t OrderedDepthBits(float d) {
  if (d == 0.0f) d = 0.0f;
  const uint32_t b = __float_as_uint(d);
  return (b & 0x80000000u) != 0u ? ~b : (b | 0x80000000u);
}

__device__ __forceinline__ float DepthFromOrderedBits(uint32_t o) {
  return __uint_as_float((o & 0x80000000u) != 0u ? (o & 0x7fffffffu) : ~o);
}

__global__ void ZTestKernel(const float* __restrict__ pixels, const float* __restrict__ depths,
                            int num_vertices, const int32_t* __restrict__ triangles,
                            int num_triangles, int width, int height, bool perspective,
                            float z_near_mm, unsigned long long* __restrict__ keys) {
  const int64_t f = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (f >= num_triangles) return;
  const int64_t b = blockIdx.y;
  const float* face_pixels = pixels + b * 2 * num_vertices;
  const float* face_depths = depths + b * num_vertices;
  unsigned long long* face_keys = keys + b * width * height;
  math::ScreenTriangle t;
  if (!math::SetupVisibilityTriangle(face_pixels, face_depths, triangles, f, width, height,
                                     perspective, z_near_mm, &t)) {
    return;
  }
  float z[3];
  math::TriangleDepths(face_depths, triangles, f, z);
  for (int y = t.min_py; y <= t.max_py; ++y) {
    for (int x = t.min_px; x <= t.max_px; ++x) {
      int64_t w[3];
      if (!math::CoversPixel(t, x, y, w)) continue;
      const float d = math::CoverageDepth(t, w, z, perspective);
      if (!(d < CUDART_INF_F)) continue;  // the CPU's `d < +inf` test
      const unsigned long long key =
          (static_cast<unsigned long long>(OrderedDepthBits(d)) << 32) |
          static_cast<unsigned long long>(static_cast<uint32_t>(f));
      atomicMin(&face_keys[static_cast<int64_t>(y) * width + x], key);
    }
  }
}

__global__ void ResolveKernel(const float* __restrict__ pixels, const float* __restrict__ depths,
                              int num_vertices, const int32_t* __restrict__ triangles, int width,
                              int height, bool perspective,
                              const unsigned long long* __restrict__ keys,
                              int32_t* __restrict__ triangle_out, float* __restrict__ bary_out,
                              float* __restrict__ depth_out) {
  const int64_t num_pixels = static_cast<int64_t>(width) * height;
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= num_pixels) return;
  const int64_t b = blockIdx.y;
  const int64_t o = b * num_pixels + i;
  const unsigned long long key = keys[o];
  if (key == kBackgroundKey) {
    triangle_out[o] = -1;
    depth_out[o] = CUDART_INF_F;
    bary_out[3 * o] = bary_out[3 * o + 1] = bary_out[3 * o + 2] = 0.0f;
    return;
  }
  const int32_t f = static_cast<int32_t>(key & 0xffffffffull);
  triangle_out[o] = f;
  depth_out[o] = DepthFromOrderedBits(static_cast<uint32_t>(key >> 32));
  math::VisibilityBarycentrics(pixels + b * 2 * num_vertices, depths + b * num_vertices,
                               triangles, f, static_cast<int>(i % width),
                               static_cast<int>(i / width), perspective, &bary_out[3 * o]);
}

}  // namespace

std::string RasterizeVisibilityDevice(const float* pixels, const float* depths, int num_vertices,
                                      const int32_t* triangles, int num_triangles, int width,
                                      int height, bool perspective, float z_near_mm, int batch,
                                      unsigned long long* keys_scratch, int32_t* triangle_out,
                                      float* bary_out, float* depth_out) {
  if (width <= 0 || height <= 0 || batch <= 0) return {};
  if (batch > 65535) return "RasterizeVisibilityDevice: batch above 65535";
  const int64_t num_pixels = static_cast<int64_t>(width) * height;
  cudaError_t err = cudaMemset(keys_scratch, 0xff, batch * num_pixels * sizeof(unsigned long long));
  if (err != cudaSuccess) return CudaError("cudaMemset(visibility keys)", err);
  if (num_triangles > 0) {
    const dim3 grid((num_triangles + kThreads - 1) / kThreads, batch);
    ZTestKernel<<<grid, kThreads>>>(pixels, depths, num_vertices, triangles, num_triangles, width,
                                    height, perspective, z_near_mm, keys_scratch);
  }
  const dim3 grid(static_cast<unsigned>((num_pixels + kThreads - 1) / kThreads), batch);
  ResolveKernel<<<grid, kThreads>>>(pixels, depths, num_vertices, triangles, width, height,
                                    perspective, keys_scratch, triangle_out, bary_out, depth_out);
  return CheckKernels("visibility kernels");
}

std::string RasterizeVisibilityCuda(const float* pixels, const float* depths, int num_vertices,
                                    const int32_t* triangles, int num_triangles, int width,
                                    int height, bool perspective, float z_near_mm, int batch,
                                    VisibilityArrays* out) {
  if (width <= 0 || height <= 0) return "RasterizeVisibilityCuda: image size must be positive";
  if (batch <= 0 || num_vertices < 0 || num_triangles < 0) {
    return "RasterizeVisibilityCuda: batch must be positive and counts non-negative";
  }
  const size_t n = static_cast<size_t>(batch) * width * height;
  out->width = width;
  out->height = height;
  out->batch = batch;
  out->triangle.resize(n);
  out->bary.resize(3 * n);
  out->depth.resize(n);
  DeviceBuffer<float> d_pixels, d_depths, d_bary, d_depth;
  DeviceBuffer<int32_t> d_triangles, d_triangle;
  DeviceBuffer<unsigned long long> d_keys;
  std::string e = d_pixels.Upload(pixels, static_cast<size_t>(batch) * 2 * num_vertices, "pixels");
  if (e.empty()) e = d_depths.Upload(depths, static_cast<size_t>(batch) * num_vertices, "depths");
  if (e.empty()) e = d_triangles.Upload(triangles, 3 * static_cast<size_t>(num_triangles), "triangles");
  if (e.empty()) e = d_keys.Allocate(n, "visibility keys");
  if (e.empty()) e = d_triangle.Allocate(n, "triangle ids");
  if (e.empty()) e = d_bary.Allocate(3 * n, "barycentrics");
  if (e.empty()) e = d_depth.Allocate(n, "depths");
  if (e.empty()) {
    e = RasterizeVisibilityDevice(d_pixels.get(), d_depths.get(), num_vertices, d_triangles.get(),
                                  num_triangles, width, height, perspective, z_near_mm, batch,
                                  d_keys.get(), d_triangle.get(), d_bary.get(), d_depth.get());
  }
  if (e.empty()) e = d_triangle.Download(out->triangle.data(), n, "triangle ids");
  if (e.empty()) e = d_bary.Download(out->bary.data(), 3 * n, "barycentrics");
  if (e.empty()) e = d_depth.Download(out->depth.data(), n, "depths");
  return e;
}

}  // namespace morphfit::cuda
