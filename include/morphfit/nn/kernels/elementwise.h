// Small structural and elementwise ops: residual add, channel concatenation, L2 normalisation
// over channels (unit normals) and dropout's mask multiply. CPU reference; the CUDA twins
// share the per-element formulas.
#ifndef MORPHFIT_NN_KERNELS_ELEMENTWISE_H_
#define MORPHFIT_NN_KERNELS_ELEMENTWISE_H_

#include <cmath>
#include <cstdint>

namespace morphfit::nn::reference {

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

// y[:, c, p] = x[:, c, p] / sqrt(sum_c x[:, c, p]^2 + eps) for x [n, c, hw]. eps keeps the
// map smooth at x = 0 (a zero vector maps to zero instead of NaN).
template <typename T>
void L2NormalizeChannelsForward(int64_t n, int64_t c, int64_t hw, double eps, const T* x, T* y) {
  for (int64_t i = 0; i < n; ++i)
    for (int64_t p = 0; p < hw; ++p) {
      double sum_sq = 0.0;
      for (int64_t ch = 0; ch < c; ++ch) {
        const double v = x[(i * c + ch) * hw + p];
        sum_sq += v * v;
      }
      const double inv_norm = 1.0 / std::sqrt(sum_sq + eps);
      for (int64_t ch = 0; ch < c; ++ch) {
        const int64_t k = (i * c + ch) * hw + p;
        y[k] = static_cast<T>(x[k] * inv_norm);
      }
    }
}

// dx = (dy - y <y, dy>) / norm, with y recomputed from x.
template <typename T>
void L2NormalizeChannelsBackward(int64_t n, int64_t c, int64_t hw, double eps, const T* x,
                                 const T* dy, T* dx) {
  for (int64_t i = 0; i < n; ++i)
    for (int64_t p = 0; p < hw; ++p) {
      double sum_sq = 0.0, dot = 0.0;
      for (int64_t ch = 0; ch < c; ++ch) {
        const int64_t k = (i * c + ch) * hw + p;
        sum_sq += static_cast<double>(x[k]) * x[k];
        dot += static_cast<double>(x[k]) * dy[k];
      }
      const double inv_norm = 1.0 / std::sqrt(sum_sq + eps);
      for (int64_t ch = 0; ch < c; ++ch) {
        const int64_t k = (i * c + ch) * hw + p;
        dx[k] = static_cast<T>((dy[k] - x[k] * dot * inv_norm * inv_norm) * inv_norm);
      }
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
