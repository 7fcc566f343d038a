// Gather forms of the scatter-add backward passes (col2im, pooling, upsampling): one input
// element sums every output element that read it, in a fixed order. The CUDA kernels run these
// per thread (deterministic, no atomics); the CPU tests check them against the scatter
// references in nn/kernels, so the device index math is verified without a GPU.
#ifndef MORPHFIT_NN_KERNELS_GATHER_H_
#define MORPHFIT_NN_KERNELS_GATHER_H_

#include <cstdint>

#include "morphfit/math/hd.h"
#include "morphfit/nn/kernels/conv_geometry.h"
#include "morphfit/nn/kernels/pool.h"
#include "morphfit/nn/kernels/resample.h"

namespace morphfit::nn {

// col2im for input pixel (c, ih, iw) of one group: the sum of cols [col_rows, out_h out_w] over
// every (kernel tap, output pixel) that read it (the transpose of Im2colSource).
template <typename T>
MORPHFIT_HD T Col2imGather(const Conv2dGeometry& g, const T* cols, int64_t c, int64_t ih,
                           int64_t iw) {
  T sum = T(0);
  for (int64_t ki = 0; ki < g.kh; ++ki) {
    const int64_t th = ih + g.pad - ki * g.dilation;
    if (th < 0 || th % g.stride != 0 || th / g.stride >= g.out_h) continue;
    for (int64_t kj = 0; kj < g.kw; ++kj) {
      const int64_t tw = iw + g.pad - kj * g.dilation;
      if (tw < 0 || tw % g.stride != 0 || tw / g.stride >= g.out_w) continue;
      const int64_t row = (c * g.kh + ki) * g.kw + kj;
      sum += cols[row * g.col_cols() + (th / g.stride) * g.out_w + tw / g.stride];
    }
  }
  return sum;
}

// Output positions [*lo, *hi) along one axis whose pooling window (kernel k, stride, pad)
// contains input position i.
MORPHFIT_HD void PoolCoveringOutputs(int64_t i, int64_t stride, int64_t pad, int64_t k,
                                     int64_t out, int64_t* lo, int64_t* hi) {
  const int64_t first = i + pad - k + 1;
  *lo = first <= 0 ? 0 : (first + stride - 1) / stride;
  const int64_t last = (i + pad) / stride + 1;
  *hi = last < out ? last : out;
}

// Flat index (ih * w + iw) of the maximum of output pixel (oh, ow)'s window in `plane` (the
// first maximum in row-major order, as reference::MaxPool2dForward).
template <typename T>
MORPHFIT_HD int64_t PoolWindowArgmax(const Pool2dGeometry& g, const T* plane, int64_t oh,
                                     int64_t ow) {
  int64_t h0, h1, w0, w1;
  PoolWindow(g, oh, ow, &h0, &h1, &w0, &w1);
  int64_t best = h0 * g.w + w0;
  for (int64_t ih = h0; ih < h1; ++ih)
    for (int64_t iw = w0; iw < w1; ++iw)
      if (plane[ih * g.w + iw] > plane[best]) best = ih * g.w + iw;
  return best;
}

// Max-pool dL/dx at (ih, iw) of one plane: dy of every window whose maximum it is.
template <typename T>
MORPHFIT_HD T MaxPoolGather(const Pool2dGeometry& g, const T* x_plane, const T* dy_plane,
                            int64_t ih, int64_t iw) {
  int64_t oh0, oh1, ow0, ow1;
  PoolCoveringOutputs(ih, g.stride, g.pad, g.kernel, g.out_h, &oh0, &oh1);
  PoolCoveringOutputs(iw, g.stride, g.pad, g.kernel, g.out_w, &ow0, &ow1);
  T sum = T(0);
  for (int64_t oh = oh0; oh < oh1; ++oh)
    for (int64_t ow = ow0; ow < ow1; ++ow)
      if (PoolWindowArgmax(g, x_plane, oh, ow) == ih * g.w + iw) sum += dy_plane[oh * g.out_w + ow];
  return sum;
}

// Average-pool dL/dx at (ih, iw) of one plane (divisor: the window's unpadded pixel count).
template <typename T>
MORPHFIT_HD T AvgPoolGather(const Pool2dGeometry& g, const T* dy_plane, int64_t ih, int64_t iw) {
  int64_t oh0, oh1, ow0, ow1;
  PoolCoveringOutputs(ih, g.stride, g.pad, g.kernel, g.out_h, &oh0, &oh1);
  PoolCoveringOutputs(iw, g.stride, g.pad, g.kernel, g.out_w, &ow0, &ow1);
  T sum = T(0);
  for (int64_t oh = oh0; oh < oh1; ++oh)
    for (int64_t ow = ow0; ow < ow1; ++ow) {
      int64_t h0, h1, w0, w1;
      PoolWindow(g, oh, ow, &h0, &h1, &w0, &w1);
      sum += dy_plane[oh * g.out_w + ow] / static_cast<T>((h1 - h0) * (w1 - w0));
    }
  return sum;
}

// Nearest-upsampling dL/dx at (ih, iw) of one plane: its scale x scale block of dy, row-major.
template <typename T>
MORPHFIT_HD T UpsampleNearestGather(int64_t w, int64_t scale, const T* dy_plane, int64_t ih,
                                    int64_t iw) {
  T sum = T(0);
  for (int64_t a = 0; a < scale; ++a)
    for (int64_t b = 0; b < scale; ++b) sum += dy_plane[(ih * scale + a) * (w * scale) + iw * scale + b];
  return sum;
}

// Weight with which destination index `o` reads source index `i` along one bilinear axis.
MORPHFIT_HD double BilinearTapWeight(int64_t o, int64_t scale, int64_t size, int64_t i) {
  int64_t i0, i1;
  double t;
  BilinearTaps(o, scale, size, &i0, &i1, &t);
  return (i0 == i ? 1.0 - t : 0.0) + (i1 == i ? t : 0.0);
}

// Bilinear-upsampling dL/dx at (ih, iw) of one plane [h, w]: the outputs within one source pixel
// of it, weighted by their taps (in double).
template <typename T>
MORPHFIT_HD double UpsampleBilinearGather(int64_t h, int64_t w, int64_t scale, const T* dy_plane,
                                          int64_t ih, int64_t iw) {
  const int64_t oh_size = h * scale, ow_size = w * scale;
  const int64_t oh0 = ih > 0 ? (ih - 1) * scale : 0;
  const int64_t oh1 = (ih + 2) * scale < oh_size ? (ih + 2) * scale : oh_size;
  const int64_t ow0 = iw > 0 ? (iw - 1) * scale : 0;
  const int64_t ow1 = (iw + 2) * scale < ow_size ? (iw + 2) * scale : ow_size;
  double sum = 0.0;
  for (int64_t oh = oh0; oh < oh1; ++oh) {
    const double wh = BilinearTapWeight(oh, scale, h, ih);
    if (wh == 0.0) continue;
    for (int64_t ow = ow0; ow < ow1; ++ow) {
      const double ww = BilinearTapWeight(ow, scale, w, iw);
      if (ww != 0.0) sum += dy_plane[oh * ow_size + ow] * wh * ww;
    }
  }
  return sum;
}

}  // namespace morphfit::nn

#endif  // MORPHFIT_NN_KERNELS_GATHER_H_
