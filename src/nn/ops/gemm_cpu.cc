// im2col + Eigen GEMM convolution and the linear layer on the CPU (nn/kernels/gemm_cpu.h).
// Threading: GEMMs are cut into column (or row) blocks of fixed size and im2col/col2im into
// fixed row/channel ranges; every output element is computed by the same code whatever the
// thread count, so results are bitwise reproducible.
#include "morphfit/nn/kernels/gemm_cpu.h"

#include <Eigen/Core>
#include <algorithm>
#include <vector>

#include "morphfit/nn/cpu_context.h"

namespace morphfit::nn::cpu {
namespace {

template <typename T>
using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using MatrixMap = Eigen::Map<RowMatrix<T>>;
template <typename T>
using ConstMatrixMap = Eigen::Map<const RowMatrix<T>>;

constexpr int64_t kGemmColumnChunk = 256;  // output columns per task (wide enough for Eigen)
// Output rows per task when columns are few (deep layers: m = 256-512 rows, n = 49-196
// columns). Eigen packs the whole right-hand side (the im2col matrix) once per call, so each
// task re-packs it: 128-row tasks pack it 2-4 times per convolution instead of 8-16 times
// (measured on ResNet-18: packing was 13 % of a forward with 32-row tasks).
constexpr int64_t kGemmRowChunk = 128;
constexpr int64_t kIm2colRowChunk = 8;

// y (+)= a * b for y [m, n], cut into blocks along the longer of m and n.
template <typename T, typename A, typename B>
void ParallelGemm(const A& a, const B& b, MatrixMap<T> y, bool accumulate) {
  const int64_t m = y.rows(), n = y.cols();
  if (m == 0 || n == 0) return;
  if (a.cols() == 0) {
    if (!accumulate) y.setZero();
    return;
  }
  if (n >= m) {
    CpuPool().ParallelForChunks(0, n, kGemmColumnChunk, [&](int64_t begin, int64_t end, int64_t) {
      if (accumulate) {
        y.middleCols(begin, end - begin).noalias() += a * b.middleCols(begin, end - begin);
      } else {
        y.middleCols(begin, end - begin).noalias() = a * b.middleCols(begin, end - begin);
      }
    });
  } else {
    CpuPool().ParallelForChunks(0, m, kGemmRowChunk, [&](int64_t begin, int64_t end, int64_t) {
      if (accumulate) {
        y.middleRows(begin, end - begin).noalias() += a.middleRows(begin, end - begin) * b;
      } else {
        y.middleRows(begin, end - begin).noalias() = a.middleRows(begin, end - begin) * b;
      }
    });
  }
}

// The calling thread's im2col scratch, grown on demand and kept (reused by every later call on
// that thread, so convolutions do not page-fault fresh memory each time). Holds at least n.
template <typename T>
T* Im2colBuffer(int64_t n) {
  thread_local std::vector<T> buffer;
  if (buffer.size() < static_cast<size_t>(n)) buffer.resize(static_cast<size_t>(n));
  return buffer.data();
}

// 1x1, stride 1, no padding: the im2col matrix of a group is its input slice itself.
bool IsPointwise(const Conv2dGeometry& g) {
  return g.kh == 1 && g.kw == 1 && g.stride == 1 && g.pad == 0;
}

// Decomposes im2col row `row` into its channel and kernel tap (the inverse of the row order in
// Im2colSource), so the inner loops need no divisions.
struct RowTap {
  int64_t c, di, dj;  // channel, vertical and horizontal offset (tap * dilation - pad)
};
RowTap TapOf(const Conv2dGeometry& g, int64_t row) {
  const int64_t j = row % g.kw, i = (row / g.kw) % g.kh;
  return {row / (g.kw * g.kh), i * g.dilation - g.pad, j * g.dilation - g.pad};
}

// cols [col_rows, out_h * out_w] from one group's input x_group [c_in/groups, h, w]; the same
// map as Im2colSource, written row by row.
template <typename T>
void Im2col(const Conv2dGeometry& g, const T* x_group, T* cols) {
  const int64_t num_cols = g.col_cols();
  CpuPool().ParallelForChunks(0, g.col_rows(), kIm2colRowChunk,
                              [&](int64_t begin, int64_t end, int64_t) {
    for (int64_t row = begin; row < end; ++row) {
      const RowTap tap = TapOf(g, row);
      const T* plane = x_group + tap.c * g.h * g.w;
      T* out = cols + row * num_cols;
      // Output columns ow with 0 <= ow * stride + dj < w, i.e. [ow_begin, ow_end); the rest
      // of each output row is padding.
      const int64_t ow_begin =
          std::min(g.out_w, tap.dj >= 0 ? 0 : (-tap.dj + g.stride - 1) / g.stride);
      const int64_t ow_end = std::max(
          ow_begin, std::min(g.out_w, g.w - tap.dj <= 0 ? 0 : (g.w - tap.dj + g.stride - 1) / g.stride));
      for (int64_t oh = 0; oh < g.out_h; ++oh) {
        T* out_row = out + oh * g.out_w;
        const int64_t ih = oh * g.stride + tap.di;
        if (ih < 0 || ih >= g.h) {
          std::fill(out_row, out_row + g.out_w, T(0));
          continue;
        }
        const T* in_row = plane + ih * g.w + tap.dj;
        std::fill(out_row, out_row + ow_begin, T(0));
        if (g.stride == 1) {
          std::copy(in_row + ow_begin, in_row + ow_end, out_row + ow_begin);
        } else {
          for (int64_t ow = ow_begin; ow < ow_end; ++ow) out_row[ow] = in_row[ow * g.stride];
        }
        std::fill(out_row + ow_end, out_row + g.out_w, T(0));
      }
    }
  });
}

// dx_group [c_in/groups, h, w] += scatter of cols; one task per input channel, so no two tasks
// touch the same element and the summation order is fixed.
template <typename T>
void Col2imAdd(const Conv2dGeometry& g, const T* cols, T* dx_group) {
  const int64_t num_cols = g.col_cols(), rows_per_channel = g.kh * g.kw;
  CpuPool().ParallelForChunks(0, g.c_in_per_group(), 1, [&](int64_t begin, int64_t end, int64_t) {
    for (int64_t row = begin * rows_per_channel; row < end * rows_per_channel; ++row) {
      const RowTap tap = TapOf(g, row);
      T* plane = dx_group + tap.c * g.h * g.w;
      const T* in = cols + row * num_cols;
      for (int64_t oh = 0; oh < g.out_h; ++oh) {
        const int64_t ih = oh * g.stride + tap.di;
        if (ih < 0 || ih >= g.h) continue;
        T* out_row = plane + ih * g.w;
        const T* in_row = in + oh * g.out_w;
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          const int64_t iw = ow * g.stride + tap.dj;
          if (iw >= 0 && iw < g.w) out_row[iw] += in_row[ow];
        }
      }
    }
  });
}

}  // namespace

template <typename T>
void Conv2dForward(const Conv2dGeometry& g, const T* x, const T* w, const T* b, T* y) {
  const int64_t cig = g.c_in_per_group(), cog = g.c_out_per_group();
  const int64_t rows = g.col_rows(), cols = g.col_cols();
  T* buffer = IsPointwise(g) ? nullptr : Im2colBuffer<T>(rows * cols);
  for (int64_t n = 0; n < g.n; ++n) {
    for (int64_t group = 0; group < g.groups; ++group) {
      const T* x_group = x + (n * g.c_in + group * cig) * g.h * g.w;
      const T* col_data = x_group;
      if (!IsPointwise(g)) {
        Im2col(g, x_group, buffer);
        col_data = buffer;
      }
      ConstMatrixMap<T> weights(w + group * cog * rows, cog, rows);
      ConstMatrixMap<T> col_matrix(col_data, rows, cols);
      MatrixMap<T> out(y + (n * g.c_out + group * cog) * cols, cog, cols);
      ParallelGemm<T>(weights, col_matrix, out, /*accumulate=*/false);
      if (b) {
        for (int64_t co = 0; co < cog; ++co) out.row(co).array() += b[group * cog + co];
      }
    }
  }
}

template <typename T>
void Conv2dBackwardData(const Conv2dGeometry& g, const T* w, const T* dy, T* dx) {
  const int64_t cig = g.c_in_per_group(), cog = g.c_out_per_group();
  const int64_t rows = g.col_rows(), cols = g.col_cols();
  T* buffer = IsPointwise(g) ? nullptr : Im2colBuffer<T>(rows * cols);
  for (int64_t n = 0; n < g.n; ++n) {
    for (int64_t group = 0; group < g.groups; ++group) {
      T* dx_group = dx + (n * g.c_in + group * cig) * g.h * g.w;
      ConstMatrixMap<T> weights(w + group * cog * rows, cog, rows);
      ConstMatrixMap<T> grad(dy + (n * g.c_out + group * cog) * cols, cog, cols);
      if (IsPointwise(g)) {
        ParallelGemm<T>(weights.transpose(), grad, MatrixMap<T>(dx_group, rows, cols), false);
        continue;
      }
      ParallelGemm<T>(weights.transpose(), grad, MatrixMap<T>(buffer, rows, cols), false);
      std::fill(dx_group, dx_group + cig * g.h * g.w, T(0));
      Col2imAdd(g, buffer, dx_group);
    }
  }
}

template <typename T>
void Conv2dBackwardWeight(const Conv2dGeometry& g, const T* x, const T* dy, T* dw) {
  const int64_t cig = g.c_in_per_group(), cog = g.c_out_per_group();
  const int64_t rows = g.col_rows(), cols = g.col_cols();
  T* buffer = IsPointwise(g) ? nullptr : Im2colBuffer<T>(rows * cols);
  for (int64_t n = 0; n < g.n; ++n) {
    for (int64_t group = 0; group < g.groups; ++group) {
      const T* x_group = x + (n * g.c_in + group * cig) * g.h * g.w;
      const T* col_data = x_group;
      if (!IsPointwise(g)) {
        Im2col(g, x_group, buffer);
        col_data = buffer;
      }
      ConstMatrixMap<T> grad(dy + (n * g.c_out + group * cog) * cols, cog, cols);
      ConstMatrixMap<T> col_matrix(col_data, rows, cols);
      ParallelGemm<T>(grad, col_matrix.transpose(), MatrixMap<T>(dw + group * cog * rows, cog, rows),
                      /*accumulate=*/true);
    }
  }
}

template <typename T>
void BiasBackward(int64_t n, int64_t c, int64_t hw, const T* dy, T* db) {
  for (int64_t ch = 0; ch < c; ++ch) {
    double sum = 0.0;  // double accumulation: exact enough for any batch
    for (int64_t i = 0; i < n; ++i) {
      const T* plane = dy + (i * c + ch) * hw;
      for (int64_t p = 0; p < hw; ++p) sum += plane[p];
    }
    db[ch] += static_cast<T>(sum);
  }
}

template <typename T>
void LinearForward(int64_t n, int64_t in, int64_t out, const T* x, const T* w, const T* b, T* y) {
  ConstMatrixMap<T> input(x, n, in), weights(w, out, in);
  MatrixMap<T> output(y, n, out);
  ParallelGemm<T>(input, weights.transpose(), output, false);
  if (b) {
    for (int64_t i = 0; i < n; ++i)
      for (int64_t o = 0; o < out; ++o) output(i, o) += b[o];
  }
}

template <typename T>
void LinearBackward(int64_t n, int64_t in, int64_t out, const T* x, const T* w, const T* dy,
                    T* dx, T* dw, T* db) {
  ConstMatrixMap<T> input(x, n, in), weights(w, out, in), grad(dy, n, out);
  if (dx) ParallelGemm<T>(grad, weights, MatrixMap<T>(dx, n, in), false);
  if (dw) ParallelGemm<T>(grad.transpose(), input, MatrixMap<T>(dw, out, in), true);
  if (db) BiasBackward<T>(n, out, 1, dy, db);
}

#define MORPHFIT_NN_INSTANTIATE_GEMM_CPU(T)                                                   \
  template void Conv2dForward<T>(const Conv2dGeometry&, const T*, const T*, const T*, T*);     \
  template void Conv2dBackwardData<T>(const Conv2dGeometry&, const T*, const T*, T*);          \
  template void Conv2dBackwardWeight<T>(const Conv2dGeometry&, const T*, const T*, T*);        \
  template void BiasBackward<T>(int64_t, int64_t, int64_t, const T*, T*);                      \
  template void LinearForward<T>(int64_t, int64_t, int64_t, const T*, const T*, const T*, T*); \
  template void LinearBackward<T>(int64_t, int64_t, int64_t, const T*, const T*, const T*, T*, \
                                  T*, T*);
MORPHFIT_NN_INSTANTIATE_GEMM_CPU(float)
MORPHFIT_NN_INSTANTIATE_GEMM_CPU(double)
#undef MORPHFIT_NN_INSTANTIATE_GEMM_CPU

}  // namespace morphfit::nn::cpu
