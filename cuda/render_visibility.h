// CUDA twin of render::RasterizeVisibility (render/visibility.h): the same visibility buffer
// (triangle id, perspective-correct barycentrics, depth per pixel) for many faces per launch.
// Plain C++ launcher header: no CUDA types. Per-triangle setup, coverage, depth and resolve are
// math/visibility.h's; the z-test is a 64-bit atomicMin on (order-preserving depth bits,
// triangle id), so the nearest depth wins and equal depths go to the lower id, exactly as the
// CPU's strict z-test in triangle order. Built with --fmad=false: buffers are bit-identical to
// the CPU's (which is built with -ffp-contract=off).
#ifndef MORPHFIT_CUDA_RENDER_VISIBILITY_H_
#define MORPHFIT_CUDA_RENDER_VISIBILITY_H_

#include <cstdint>
#include <string>
#include <vector>

namespace morphfit::cuda {

// Visibility buffers of `batch` faces, concatenated: face b's pixel i is at b * width * height
// + i (bary: 3 per pixel). triangle -1, bary 0 and depth +inf on background.
struct VisibilityArrays {
  int width = 0, height = 0, batch = 0;
  std::vector<int32_t> triangle;
  std::vector<float> bary;
  std::vector<float> depth;
};

// Host arrays: pixels batch x 2N (u, v px), depths batch x N (camera z, mm), triangles 3T vertex
// ids shared by all faces (CCW outward). Culling as on the CPU: a vertex at depth <= z_near_mm
// (pinhole), back-facing, degenerate, outside the guard band. Errors as a message (empty = ok).
std::string RasterizeVisibilityCuda(const float* pixels, const float* depths, int num_vertices,
                                    const int32_t* triangles, int num_triangles, int width,
                                    int height, bool perspective, float z_near_mm, int batch,
                                    VisibilityArrays* out);

// The same on device arrays (no transfers; synchronises). keys_scratch: batch * width * height
// 64-bit words; triangle_out, bary_out, depth_out sized as VisibilityArrays.
std::string RasterizeVisibilityDevice(const float* pixels, const float* depths, int num_vertices,
                                      const int32_t* triangles, int num_triangles, int width,
                                      int height, bool perspective, float z_near_mm, int batch,
                                      unsigned long long* keys_scratch, int32_t* triangle_out,
                                      float* bary_out, float* depth_out);

}  // namespace morphfit::cuda

#endif  // MORPHFIT_CUDA_RENDER_VISIBILITY_H_
