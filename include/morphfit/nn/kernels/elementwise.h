// Small structural and elementwise ops: residual add, channel concatenation, L2 normalisation
// over channels (unit normals) and dropout's mask multiply. CPU reference; the CUDA twins
// share the per-element formulas.
#ifndef MORPHFIT_NN_KERNELS_ELEMENTWISE_H_
#define MORPHFIT_NN_KERNELS_ELEMENTWISE_H_

#include <cmath>
#include <cstdint>

#include "morphfit/math/hd.h"

namespace morphfit::nn::reference {

using std::sqrt;

// y = a + b (same shapes). Backward: da = db = dy.
template <typename T>
void AddForward(int64_t n, const T* a, const T* b, T* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] + b[i];
}

// y [n, c_a + c_b, hw] = concat(a [n, c_a, hw], b [n, c_b, hw]) along channels.
template <typename T>
void ConcatChannelsForward(int64_t n, int64_t c_a, int64_t c_b, int64_t hw, const T* a,
                           const T* b, T* y) {
  for (int64_t i = 0; i < n; ++i) {
    T* out = y + i * (c_a + c_b) * hw;
    for (int64_t k = 0; k < c_a * hw; ++k) out[k] = a[i * c_a * hw + k];
    for (int64_t k = 0; k < c_b * hw; ++k) out[c_a * hw + k] = b[i * c_b * hw + k];
  }
}

// Splits dy back into da and db (either may be null).
template <typename T>
void ConcatChannelsBackward(int64_t n, int64_t c_a, int64_t c_b, int64_t hw, const T* dy, T* da,
                            T* db) {
  for (int64_t i = 0; i < n; ++i) {
    const T* in = dy + i * (c_a + c_b) * hw;
    if (da)
      for (int64_t k = 0; k < c_a * hw; ++k) da[i * c_a * hw + k] = in[k];
    if (db)
      for (int64_t k = 0; k < c_b * hw; ++k) db[i * c_b * hw + k] = in[c_a * hw + k];
  }
}

// One pixel of L2 normalisation over channels: x and y point at channel 0 of the pixel, channels
// are `stride` apart. y = x / sqrt(|x|^2 + eps); eps keeps the map smooth at x = 0 (a zero
// vector maps to zero instead of NaN). MORPHFIT_HD: the CUDA kernel calls the same function.
template <typename T>
MORPHFIT_HD void L2NormalizePixelForward(int64_t c, int64_t stride, double eps, const T* x, T* y) {
  double sum_sq = 0.0;
  for (int64_t ch = 0; ch < c; ++ch) sum_sq += static_cast<double>(x[ch * stride]) * x[ch * stride];
  const double inv_norm = 1.0 / sqrt(sum_sq + eps);
  for (int64_t ch = 0; ch < c; ++ch) y[ch * stride] = static_cast<T>(x[ch * stride] * inv_norm);
}

// dx = (dy - y <y, dy>) / norm for one pixel, with y recomputed from x.
template <typename T>
MORPHFIT_HD void L2NormalizePixelBackward(int64_t c, int64_t stride, double eps, const T* x,
                                          const T* dy, T* dx) {
  double sum_sq = 0.0, dot = 0.0;
  for (int64_t ch = 0; ch < c; ++ch) {
    sum_sq += static_cast<double>(x[ch * stride]) * x[ch * stride];
    dot += static_cast<double>(x[ch * stride]) * dy[ch * stride];
  }
  const double inv_norm = 1.0 / sqrt(sum_sq + eps);
  for (int64_t ch = 0; ch < c; ++ch) {
    const int64_t k = ch * stride;
    dx[k] = static_cast<T>((dy[k] - x[k] * dot * inv_norm * inv_norm) * inv_norm);
  }
}

// x, y [n, c, hw]: every pixel normalised over its channels.
template <typename T>
void L2NormalizeChannelsForward(int64_t n, int64_t c, int64_t hw, double eps, const T* x, T* y) {
  for (int64_t i = 0; i < n; ++i)
    for (int64_t p = 0; p < hw; ++p) {
      L2NormalizePixelForward(c, hw, eps, x + i * c * hw + p, y + i * c * hw + p);
    }
}

template <typename T>
void L2NormalizeChannelsBackward(int64_t n, int64_t c, int64_t hw, double eps, const T* x,
                                 const T* dy, T* dx) {
  for (int64_t i = 0; i < n; ++i)
    for (int64_t p = 0; p < hw; ++p) {
      const int64_t o = i * c * hw + p;
      L2NormalizePixelBackward(c, hw, eps, x + o, dy + o, dx + o);
    }
}

// y = x * mask (dropout with a precomputed mask of 0 or 1 / (1 - p)); backward is the same
// product with dy.
template <typename T>
void MultiplyForward(int64_t n, const T* x, const T* mask, T* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * mask[i];
}

}  // namespace morphfit::nn::reference

#endif  // MORPHFIT_NN_KERNELS_ELEMENTWISE_H_
