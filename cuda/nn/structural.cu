// Upsampling, channel concat and L2 normalisation kernels (structural_cuda.h).
#include "nn/structural_cuda.h"

#include <cuda_runtime.h>

#include "morphfit/nn/kernels/elementwise.h"
#include "morphfit/nn/kernels/gather.h"
#include "morphfit/nn/kernels/resample.h"
#include "nn/launch.cuh"

namespace morphfit::nn_cuda {
namespace {

using launch::Blocks;
using launch::kThreads;
using launch::Stream;
using launch::Sync;


#define MORPHFIT_NN_INDEX() \
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x

__global__ void NearestForwardKernel(int64_t planes, int64_t h, int64_t w, int64_t s,
                                     const float* x, float* y) {
  MORPHFIT_NN_INDEX();
  const int64_t ow_size = w * s, oh_size = h * s;
  if (i >= planes * oh_size * ow_size) return;
  const int64_t ow = i % ow_size, oh = (i / ow_size) % oh_size, p = i / (ow_size * oh_size);
  y[i] = x[(p * h + oh / s) * w + ow / s];
}

// Each input pixel sums its s x s block of dy, in row-major order (nn/kernels/gather.h).
__global__ void NearestBackwardKernel(int64_t planes, int64_t h, int64_t w, int64_t s,
                                      const float* dy, float* dx) {
  MORPHFIT_NN_INDEX();
  if (i >= planes * h * w) return;
  const int64_t p = i / (w * h);
  dx[i] = nn::UpsampleNearestGather(w, s, dy + p * h * s * w * s, (i / w) % h, i % w);
}

__global__ void BilinearForwardKernel(int64_t planes, int64_t h, int64_t w, int64_t s,
                                      const float* x, float* y) {
  MORPHFIT_NN_INDEX();
  const int64_t ow_size = w * s, oh_size = h * s;
  if (i >= planes * oh_size * ow_size) return;
  const int64_t ow = i % ow_size, oh = (i / ow_size) % oh_size, p = i / (ow_size * oh_size);
  int64_t h0, h1, w0, w1;
  double th, tw;
  nn::BilinearTaps(oh, s, h, &h0, &h1, &th);
  nn::BilinearTaps(ow, s, w, &w0, &w1, &tw);
  const float* in = x + p * h * w;
  const double top = in[h0 * w + w0] * (1.0 - tw) + in[h0 * w + w1] * tw;
  const double bottom = in[h1 * w + w0] * (1.0 - tw) + in[h1 * w + w1] * tw;
  y[i] = static_cast<float>(top * (1.0 - th) + bottom * th);
}

// Each input pixel gathers from the outputs within one source pixel of it (nn/kernels/gather.h).
__global__ void BilinearBackwardKernel(int64_t planes, int64_t h, int64_t w, int64_t s,
                                       const float* dy, float* dx) {
  MORPHFIT_NN_INDEX();
  if (i >= planes * h * w) return;
  const int64_t p = i / (w * h);
  dx[i] = static_cast<float>(nn::UpsampleBilinearGather(h, w, s, dy + p * h * s * w * s, (i / w) % h, i % w));
}

// y [n, c_a + c_b, hw] <-> a, b; `forward` copies into y, otherwise splits y into a and b.
__global__ void ConcatKernel(bool forward, int64_t n, int64_t c_a, int64_t c_b, int64_t hw,
                             float* a, float* b, float* y) {
  MORPHFIT_NN_INDEX();
  const int64_t c = c_a + c_b;
  if (i >= n * c * hw) return;
  const int64_t p = i % hw, ch = (i / hw) % c, img = i / (hw * c);
  float* part = ch < c_a ? (a ? a + (img * c_a + ch) * hw + p : nullptr)
                         : (b ? b + (img * c_b + ch - c_a) * hw + p : nullptr);
  if (part == nullptr) return;
  if (forward) {
    y[i] = *part;
  } else {
    *part = y[i];
  }
}

__global__ void L2ForwardKernel(int64_t n, int64_t c, int64_t hw, double eps, const float* x,
                                float* y) {
  MORPHFIT_NN_INDEX();
  if (i >= n * hw) return;
  const int64_t o = (i / hw) * c * hw + i % hw;
  nn::reference::L2NormalizePixelForward(c, hw, eps, x + o, y + o);
}

__global__ void L2BackwardKernel(int64_t n, int64_t c, int64_t hw, double eps, const float* x,
                                 const float* dy, float* dx) {
  MORPHFIT_NN_INDEX();
  if (i >= n * hw) return;
  const int64_t o = (i / hw) * c * hw + i % hw;
  nn::reference::L2NormalizePixelBackward(c, hw, eps, x + o, dy + o, dx + o);
}

}  // namespace

std::string UpsampleNearestForward(int64_t planes, int64_t h, int64_t w, int64_t scale,
                                   const float* x, float* y) {
  const int64_t n = planes * h * w * scale * scale;
  if (n > 0) NearestForwardKernel<<<Blocks(n), kThreads, 0, Stream()>>>(planes, h, w, scale, x, y);
  return Sync("upsample nearest forward");
}

std::string UpsampleNearestBackward(int64_t planes, int64_t h, int64_t w, int64_t scale,
                                    const float* dy, float* dx) {
  if (planes * h * w > 0) NearestBackwardKernel<<<Blocks(planes * h * w), kThreads, 0, Stream()>>>(
      planes, h, w, scale, dy, dx);
  return Sync("upsample nearest backward");
}

std::string UpsampleBilinearForward(int64_t planes, int64_t h, int64_t w, int64_t scale,
                                    const float* x, float* y) {
  const int64_t n = planes * h * w * scale * scale;
  if (n > 0) BilinearForwardKernel<<<Blocks(n), kThreads, 0, Stream()>>>(planes, h, w, scale, x, y);
  return Sync("upsample bilinear forward");
}

std::string UpsampleBilinearBackward(int64_t planes, int64_t h, int64_t w, int64_t scale,
                                     const float* dy, float* dx) {
  if (planes * h * w > 0) BilinearBackwardKernel<<<Blocks(planes * h * w), kThreads, 0, Stream()>>>(
      planes, h, w, scale, dy, dx);
  return Sync("upsample bilinear backward");
}

std::string ConcatChannelsForward(int64_t n, int64_t c_a, int64_t c_b, int64_t hw, const float* a,
                                  const float* b, float* y) {
  const int64_t total = n * (c_a + c_b) * hw;
  if (total > 0) {
    ConcatKernel<<<Blocks(total), kThreads, 0, Stream()>>>(
        true, n, c_a, c_b, hw, const_cast<float*>(a),
                                              const_cast<float*>(b), y);
  }
  return Sync("concat forward");
}

std::string ConcatChannelsBackward(int64_t n, int64_t c_a, int64_t c_b, int64_t hw,
                                   const float* dy, float* da, float* db) {
  const int64_t total = n * (c_a + c_b) * hw;
  if (total > 0) {
    ConcatKernel<<<Blocks(total), kThreads, 0, Stream()>>>(
        false, n, c_a, c_b, hw, da, db, const_cast<float*>(dy));
  }
  return Sync("concat backward");
}

std::string L2NormalizeChannelsForward(int64_t n, int64_t c, int64_t hw, double eps,
                                       const float* x, float* y) {
  if (n * hw > 0) L2ForwardKernel<<<Blocks(n * hw), kThreads, 0, Stream()>>>(n, c, hw, eps, x, y);
  return Sync("l2 normalize forward");
}

std::string L2NormalizeChannelsBackward(int64_t n, int64_t c, int64_t hw, double eps,
                                        const float* x, const float* dy, float* dx) {
  if (n * hw > 0) L2BackwardKernel<<<Blocks(n * hw), kThreads, 0, Stream()>>>(
      n, c, hw, eps, x, dy, dx);
  return Sync("l2 normalize backward");
}

}  // namespace morphfit::nn_cuda
