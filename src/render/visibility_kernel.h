// Choice of the vectorised loops inside render::RasterizeVisibility (visibility.cc) and
// render::ShadeVisibility (shade_buffer.cc): the build's baseline ISA or, on x86 CPUs that have
// it, an AVX-512 clone of the same source. Every kernel gives the same buffer and channels bit
// for bit; the choice exists so that tests can compare them and benchmarks can time them.
// Internal to the renderer (tests and benchmarks include it by path).
#ifndef MORPHFIT_SRC_RENDER_VISIBILITY_KERNEL_H_
#define MORPHFIT_SRC_RENDER_VISIBILITY_KERNEL_H_

#include <cstdint>

#include "morphfit/core/thread_pool.h"
#include "morphfit/math/render_pixel.h"
#include "morphfit/render/visibility.h"

namespace morphfit::render {

enum class VisibilityKernel {
  kAuto,     // the fastest available (what RasterizeVisibility uses)
  kDefault,  // as compiled for the build's target (AVX2 with -march=x86-64-v3)
  kAvx512,   // x86 with AVX-512 F/VL/DQ/BW/CD only
};

bool VisibilityKernelAvailable(VisibilityKernel kernel);
const char* VisibilityKernelName(VisibilityKernel kernel);

// RasterizeVisibility with the given kernel. A kernel this CPU or build lacks is a programming
// error (checked).
void RasterizeVisibilityWithKernel(VisibilityKernel kernel, const float* pixels,
                                   const float* depths, int num_vertices,
                                   const int32_t* triangles, int num_triangles, int width,
                                   int height, bool perspective, float z_near_mm, ThreadPool* pool,
                                   VisibilityBuffer* out);

// ShadeVisibility (renderer.h) with the given kernel (checked as above).
void ShadeVisibilityWithKernel(VisibilityKernel kernel, const math::ShadeInputs<float>& in,
                               const VisibilityBuffer& vis, const float background[3],
                               const math::ChannelImages& out, ThreadPool* pool);

}  // namespace morphfit::render

#endif  // MORPHFIT_SRC_RENDER_VISIBILITY_KERNEL_H_
