// Naive reference convolution and linear layer: direct loops, templated on the scalar, no
// dependencies. They define what the fast paths (im2col + GEMM on the CPU, cuBLAS/cuDNN on the
// GPU) must compute and serve as CPU twins in tests that link only CUDA and GoogleTest.
// Gradient convention (all kernels in nn/kernels): dx is overwritten, parameter gradients
// (dw, db) are accumulated (+=), so a module can sum them over several calls.
#ifndef MORPHFIT_NN_KERNELS_CONV_REFERENCE_H_
#define MORPHFIT_NN_KERNELS_CONV_REFERENCE_H_

#include <cstdint>

#include "morphfit/nn/kernels/conv_geometry.h"

namespace morphfit::nn::reference {

// y [n, c_out, out_h, out_w] = conv(x [n, c_in, h, w], w) + b[c_out] (b may be null).
template <typename T>
void Conv2dForward(const Conv2dGeometry& g, const T* x, const T* w, const T* b, T* y) {
  const int64_t cig = g.c_in_per_group(), cog = g.c_out_per_group();
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t co = 0; co < g.c_out; ++co) {
      const int64_t group = co / cog;
      for (int64_t oh = 0; oh < g.out_h; ++oh)
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          T sum = b ? b[co] : T(0);
          for (int64_t row = 0; row < g.col_rows(); ++row) {
            int64_t c, ih, iw;
            if (!Im2colSource(g, row, oh, ow, &c, &ih, &iw)) continue;
            sum += w[co * g.col_rows() + row] *
                   x[((n * g.c_in + group * cig + c) * g.h + ih) * g.w + iw];
          }
          y[((n * g.c_out + co) * g.out_h + oh) * g.out_w + ow] = sum;
        }
    }
}

// dx (overwritten, may be null), dw and db (accumulated, may be null) from dy.
template <typename T>
void Conv2dBackward(const Conv2dGeometry& g, const T* x, const T* w, const T* dy, T* dx, T* dw,
                    T* db) {
  const int64_t cig = g.c_in_per_group(), cog = g.c_out_per_group();
  if (dx) {
    for (int64_t i = 0; i < g.n * g.c_in * g.h * g.w; ++i) dx[i] = T(0);
  }
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t co = 0; co < g.c_out; ++co) {
      const int64_t group = co / cog;
      for (int64_t oh = 0; oh < g.out_h; ++oh)
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          const T grad = dy[((n * g.c_out + co) * g.out_h + oh) * g.out_w + ow];
          if (db) db[co] += grad;
          for (int64_t row = 0; row < g.col_rows(); ++row) {
            int64_t c, ih, iw;
            if (!Im2colSource(g, row, oh, ow, &c, &ih, &iw)) continue;
            const int64_t xi = ((n * g.c_in + group * cig + c) * g.h + ih) * g.w + iw;
            if (dw) dw[co * g.col_rows() + row] += grad * x[xi];
            if (dx) dx[xi] += grad * w[co * g.col_rows() + row];
          }
        }
    }
}

// y [n, out] = x [n, in] w^T + b, with w [out, in] and b [out] (may be null).
template <typename T>
void LinearForward(int64_t n, int64_t in, int64_t out, const T* x, const T* w, const T* b, T* y) {
  for (int64_t i = 0; i < n; ++i)
    for (int64_t o = 0; o < out; ++o) {
      T sum = b ? b[o] : T(0);
      for (int64_t k = 0; k < in; ++k) sum += x[i * in + k] * w[o * in + k];
      y[i * out + o] = sum;
    }
}

template <typename T>
void LinearBackward(int64_t n, int64_t in, int64_t out, const T* x, const T* w, const T* dy,
                    T* dx, T* dw, T* db) {
  for (int64_t i = 0; i < n; ++i) {
    if (dx) {
      for (int64_t k = 0; k < in; ++k) {
        T sum = T(0);
        for (int64_t o = 0; o < out; ++o) sum += dy[i * out + o] * w[o * in + k];
        dx[i * in + k] = sum;
      }
    }
    for (int64_t o = 0; o < out; ++o) {
      if (db) db[o] += dy[i * out + o];
      if (dw)
        for (int64_t k = 0; k < in; ++k) dw[o * in + k] += dy[i * out + o] * x[i * in + k];
    }
  }
}

}  // namespace morphfit::nn::reference

#endif  // MORPHFIT_NN_KERNELS_CONV_REFERENCE_H_
