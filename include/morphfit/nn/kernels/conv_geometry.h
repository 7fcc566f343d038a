// Geometry of a 2-D convolution (NCHW input, [C_out, C_in/groups, KH, KW] weights) and the
// im2col index map shared by the CPU kernels, the CUDA kernels and the naive references.
// Header-only, plain C++ plus MORPHFIT_HD, so CUDA code can include it.
#ifndef MORPHFIT_NN_KERNELS_CONV_GEOMETRY_H_
#define MORPHFIT_NN_KERNELS_CONV_GEOMETRY_H_

#include <cstdint>

#include "morphfit/math/hd.h"

namespace morphfit::nn {

// One convolution y = conv(x, w) with x [n, c_in, h, w], w [c_out, c_in / groups, kh, kw],
// y [n, c_out, out_h, out_w]. Stride, zero padding and dilation are the same along both axes.
// Transposed convolutions use the geometry of the convolution they are the adjoint of.
struct Conv2dGeometry {
  int64_t n = 0, c_in = 0, h = 0, w = 0;
  int64_t c_out = 0, kh = 0, kw = 0;
  int64_t stride = 1, pad = 0, dilation = 1, groups = 1;
  int64_t out_h = 0, out_w = 0;

  MORPHFIT_HD int64_t c_in_per_group() const { return c_in / groups; }
  MORPHFIT_HD int64_t c_out_per_group() const { return c_out / groups; }
  // Rows of one group's im2col matrix: (c, i, j) with c < c_in_per_group, i < kh, j < kw.
  MORPHFIT_HD int64_t col_rows() const { return c_in_per_group() * kh * kw; }
  // Columns of the im2col matrix: output pixels (oh, ow), row-major.
  MORPHFIT_HD int64_t col_cols() const { return out_h * out_w; }
  MORPHFIT_HD int64_t weight_size() const { return c_out * col_rows(); }
};

// Output extent of a convolution along one axis: floor((in + 2 pad - dil (k - 1) - 1) / s) + 1,
// or <= 0 when the (dilated) kernel does not fit.
MORPHFIT_HD int64_t ConvOutputSize(int64_t in, int64_t k, int64_t stride, int64_t pad,
                                   int64_t dilation) {
  const int64_t span = in + 2 * pad - dilation * (k - 1) - 1;
  return span < 0 ? 0 : span / stride + 1;
}

// Input pixel read by im2col row `row` (c, i, j) at output pixel (oh, ow): sets *c, *ih, *iw and
// returns false when it falls into the zero padding.
MORPHFIT_HD bool Im2colSource(const Conv2dGeometry& g, int64_t row, int64_t oh, int64_t ow,
                              int64_t* c, int64_t* ih, int64_t* iw) {
  const int64_t j = row % g.kw;
  const int64_t i = (row / g.kw) % g.kh;
  *c = row / (g.kw * g.kh);
  *ih = oh * g.stride - g.pad + i * g.dilation;
  *iw = ow * g.stride - g.pad + j * g.dilation;
  return *ih >= 0 && *ih < g.h && *iw >= 0 && *iw < g.w;
}

}  // namespace morphfit::nn

#endif  // MORPHFIT_NN_KERNELS_CONV_GEOMETRY_H_
