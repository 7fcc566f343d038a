// Max and average pooling over square windows of an NCHW tensor, and global average pooling.
// Padding is implicit: max pooling ignores padded positions, average pooling divides by the
// number of real (unpadded) pixels in the window. CPU reference; the CUDA kernels share
// PoolWindow and the same semantics.
#ifndef MORPHFIT_NN_KERNELS_POOL_H_
#define MORPHFIT_NN_KERNELS_POOL_H_

#include <cstdint>

#include "morphfit/math/hd.h"

namespace morphfit::nn {

struct Pool2dGeometry {
  int64_t n = 0, c = 0, h = 0, w = 0;
  int64_t kernel = 2, stride = 2, pad = 0;
  int64_t out_h = 0, out_w = 0;
};

// Clipped window [h0, h1) x [w0, w1) of output pixel (oh, ow).
MORPHFIT_HD void PoolWindow(const Pool2dGeometry& g, int64_t oh, int64_t ow, int64_t* h0,
                            int64_t* h1, int64_t* w0, int64_t* w1) {
  const int64_t hs = oh * g.stride - g.pad, ws = ow * g.stride - g.pad;
  *h0 = hs < 0 ? 0 : hs;
  *w0 = ws < 0 ? 0 : ws;
  *h1 = hs + g.kernel > g.h ? g.h : hs + g.kernel;
  *w1 = ws + g.kernel > g.w ? g.w : ws + g.kernel;
}

namespace reference {

// y and argmax [n, c, out_h, out_w]; argmax holds the flat index into the (h, w) plane.
template <typename T>
void MaxPool2dForward(const Pool2dGeometry& g, const T* x, T* y, int32_t* argmax) {
  for (int64_t plane = 0; plane < g.n * g.c; ++plane) {
    const T* in = x + plane * g.h * g.w;
    for (int64_t oh = 0; oh < g.out_h; ++oh)
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        int64_t h0, h1, w0, w1;
        PoolWindow(g, oh, ow, &h0, &h1, &w0, &w1);
        int64_t best = h0 * g.w + w0;
        for (int64_t ih = h0; ih < h1; ++ih)
          for (int64_t iw = w0; iw < w1; ++iw)
            if (in[ih * g.w + iw] > in[best]) best = ih * g.w + iw;
        const int64_t o = (plane * g.out_h + oh) * g.out_w + ow;
        y[o] = in[best];
        argmax[o] = static_cast<int32_t>(best);
      }
  }
}

// dx overwritten: each dy goes to its window's maximum.
template <typename T>
void MaxPool2dBackward(const Pool2dGeometry& g, const int32_t* argmax, const T* dy, T* dx) {
  for (int64_t i = 0; i < g.n * g.c * g.h * g.w; ++i) dx[i] = T(0);
  for (int64_t plane = 0; plane < g.n * g.c; ++plane)
    for (int64_t o = 0; o < g.out_h * g.out_w; ++o) {
      const int64_t k = plane * g.out_h * g.out_w + o;
      dx[plane * g.h * g.w + argmax[k]] += dy[k];
    }
}

template <typename T>
void AvgPool2dForward(const Pool2dGeometry& g, const T* x, T* y) {
  for (int64_t plane = 0; plane < g.n * g.c; ++plane) {
    const T* in = x + plane * g.h * g.w;
    for (int64_t oh = 0; oh < g.out_h; ++oh)
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        int64_t h0, h1, w0, w1;
        PoolWindow(g, oh, ow, &h0, &h1, &w0, &w1);
        T sum = T(0);
        for (int64_t ih = h0; ih < h1; ++ih)
          for (int64_t iw = w0; iw < w1; ++iw) sum += in[ih * g.w + iw];
        y[(plane * g.out_h + oh) * g.out_w + ow] = sum / T((h1 - h0) * (w1 - w0));
      }
  }
}

template <typename T>
void AvgPool2dBackward(const Pool2dGeometry& g, const T* dy, T* dx) {
  for (int64_t i = 0; i < g.n * g.c * g.h * g.w; ++i) dx[i] = T(0);
  for (int64_t plane = 0; plane < g.n * g.c; ++plane)
    for (int64_t oh = 0; oh < g.out_h; ++oh)
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        int64_t h0, h1, w0, w1;
        PoolWindow(g, oh, ow, &h0, &h1, &w0, &w1);
        const T share = dy[(plane * g.out_h + oh) * g.out_w + ow] / T((h1 - h0) * (w1 - w0));
        for (int64_t ih = h0; ih < h1; ++ih)
          for (int64_t iw = w0; iw < w1; ++iw) dx[plane * g.h * g.w + ih * g.w + iw] += share;
      }
}

// y [n, c] = mean of x [n, c, hw] over hw.
template <typename T>
void GlobalAvgPoolForward(int64_t n, int64_t c, int64_t hw, const T* x, T* y) {
  for (int64_t plane = 0; plane < n * c; ++plane) {
    double sum = 0.0;
    for (int64_t p = 0; p < hw; ++p) sum += x[plane * hw + p];
    y[plane] = static_cast<T>(sum / static_cast<double>(hw));
  }
}

template <typename T>
void GlobalAvgPoolBackward(int64_t n, int64_t c, int64_t hw, const T* dy, T* dx) {
  for (int64_t plane = 0; plane < n * c; ++plane)
    for (int64_t p = 0; p < hw; ++p) dx[plane * hw + p] = dy[plane] / T(hw);
}

}  // namespace reference
}  // namespace morphfit::nn

#endif  // MORPHFIT_NN_KERNELS_POOL_H_
