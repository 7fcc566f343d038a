// Upsampling of NCHW tensors by an integer factor: nearest neighbour, and bilinear with
// half-pixel centres (align_corners = false: source = (dst + 0.5) / scale - 0.5, clamped to the
// image). Both are linear maps; backward is their transpose (scatter-add). CPU reference; the
// interpolation weights are MORPHFIT_HD for the CUDA twin.
#ifndef MORPHFIT_NN_KERNELS_RESAMPLE_H_
#define MORPHFIT_NN_KERNELS_RESAMPLE_H_

#include <cstdint>

#include "morphfit/math/hd.h"

namespace morphfit::nn {

// Bilinear source taps along one axis for destination index `dst`: in[i0] * (1 - t) + in[i1] * t.
MORPHFIT_HD void BilinearTaps(int64_t dst, int64_t scale, int64_t in_size, int64_t* i0,
                              int64_t* i1, double* t) {
  double src = (static_cast<double>(dst) + 0.5) / static_cast<double>(scale) - 0.5;
  if (src < 0.0) src = 0.0;
  int64_t lo = static_cast<int64_t>(src);
  if (lo > in_size - 1) lo = in_size - 1;
  *i0 = lo;
  *i1 = lo + 1 < in_size ? lo + 1 : in_size - 1;
  *t = src - static_cast<double>(lo);
}

namespace reference {

// x [planes, h, w] -> y [planes, h * scale, w * scale].
template <typename T>
void UpsampleNearestForward(int64_t planes, int64_t h, int64_t w, int64_t scale, const T* x, T* y) {
  const int64_t oh_size = h * scale, ow_size = w * scale;
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t oh = 0; oh < oh_size; ++oh)
      for (int64_t ow = 0; ow < ow_size; ++ow)
        y[(p * oh_size + oh) * ow_size + ow] = x[(p * h + oh / scale) * w + ow / scale];
}

template <typename T>
void UpsampleNearestBackward(int64_t planes, int64_t h, int64_t w, int64_t scale, const T* dy,
                             T* dx) {
  const int64_t oh_size = h * scale, ow_size = w * scale;
  for (int64_t i = 0; i < planes * h * w; ++i) dx[i] = T(0);
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t oh = 0; oh < oh_size; ++oh)
      for (int64_t ow = 0; ow < ow_size; ++ow)
        dx[(p * h + oh / scale) * w + ow / scale] += dy[(p * oh_size + oh) * ow_size + ow];
}

template <typename T>
void UpsampleBilinearForward(int64_t planes, int64_t h, int64_t w, int64_t scale, const T* x,
                             T* y) {
  const int64_t oh_size = h * scale, ow_size = w * scale;
  for (int64_t oh = 0; oh < oh_size; ++oh) {
    int64_t h0, h1;
    double th;
    BilinearTaps(oh, scale, h, &h0, &h1, &th);
    for (int64_t ow = 0; ow < ow_size; ++ow) {
      int64_t w0, w1;
      double tw;
      BilinearTaps(ow, scale, w, &w0, &w1, &tw);
      for (int64_t p = 0; p < planes; ++p) {
        const T* in = x + p * h * w;
        const double top = in[h0 * w + w0] * (1.0 - tw) + in[h0 * w + w1] * tw;
        const double bottom = in[h1 * w + w0] * (1.0 - tw) + in[h1 * w + w1] * tw;
        y[(p * oh_size + oh) * ow_size + ow] = static_cast<T>(top * (1.0 - th) + bottom * th);
      }
    }
  }
}

template <typename T>
void UpsampleBilinearBackward(int64_t planes, int64_t h, int64_t w, int64_t scale, const T* dy,
                              T* dx) {
  const int64_t oh_size = h * scale, ow_size = w * scale;
  for (int64_t i = 0; i < planes * h * w; ++i) dx[i] = T(0);
  for (int64_t oh = 0; oh < oh_size; ++oh) {
    int64_t h0, h1;
    double th;
    BilinearTaps(oh, scale, h, &h0, &h1, &th);
    for (int64_t ow = 0; ow < ow_size; ++ow) {
      int64_t w0, w1;
      double tw;
      BilinearTaps(ow, scale, w, &w0, &w1, &tw);
      for (int64_t p = 0; p < planes; ++p) {
        const double g = dy[(p * oh_size + oh) * ow_size + ow];
        T* out = dx + p * h * w;
        out[h0 * w + w0] += static_cast<T>(g * (1.0 - th) * (1.0 - tw));
        out[h0 * w + w1] += static_cast<T>(g * (1.0 - th) * tw);
        out[h1 * w + w0] += static_cast<T>(g * th * (1.0 - tw));
        out[h1 * w + w1] += static_cast<T>(g * th * tw);
      }
    }
  }
}

}  // namespace reference
}  // namespace morphfit::nn

#endif  // MORPHFIT_NN_KERNELS_RESAMPLE_H_
