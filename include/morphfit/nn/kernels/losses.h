// Scalar losses between a prediction x and a target t, each returning the loss (accumulated in
// double) and writing dL/dx (overwritten; skipped when dL_dx is null). Means are over elements
// unless stated. The per-element penalties are MORPHFIT_HD for the CUDA twins.
#ifndef MORPHFIT_NN_KERNELS_LOSSES_H_
#define MORPHFIT_NN_KERNELS_LOSSES_H_

#include <cmath>
#include <cstdint>

#include "morphfit/math/hd.h"

namespace morphfit::nn {

enum class PixelPenalty { kL1, kL2 };

// Penalty rho(d) and rho'(d) of a residual d. Smooth L1 (Huber / beta): d^2 / (2 beta) for
// |d| < beta, |d| - beta / 2 beyond. L1's derivative at exactly 0 is taken as 0.
MORPHFIT_HD double SmoothL1Value(double d, double beta) {
  const double a = d < 0 ? -d : d;
  return a < beta ? 0.5 * d * d / beta : a - 0.5 * beta;
}
MORPHFIT_HD double SmoothL1Derivative(double d, double beta) {
  if (d <= -beta) return -1.0;
  if (d >= beta) return 1.0;
  return d / beta;
}
MORPHFIT_HD double SignOf(double d) { return d > 0 ? 1.0 : (d < 0 ? -1.0 : 0.0); }

namespace reference {

// mean (x - t)^2 over n elements.
template <typename T>
double MseLoss(int64_t n, const T* x, const T* t, T* dL_dx) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(x[i]) - t[i];
    sum += d * d;
    if (dL_dx) dL_dx[i] = static_cast<T>(2.0 * d / n);
  }
  return n > 0 ? sum / n : 0.0;
}

// mean |x - t|.
template <typename T>
double L1Loss(int64_t n, const T* x, const T* t, T* dL_dx) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(x[i]) - t[i];
    sum += d < 0 ? -d : d;
    if (dL_dx) dL_dx[i] = static_cast<T>(SignOf(d) / n);
  }
  return n > 0 ? sum / n : 0.0;
}

// mean smooth-L1(x - t; beta), beta > 0.
template <typename T>
double SmoothL1Loss(int64_t n, double beta, const T* x, const T* t, T* dL_dx) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(x[i]) - t[i];
    sum += SmoothL1Value(d, beta);
    if (dL_dx) dL_dx[i] = static_cast<T>(SmoothL1Derivative(d, beta) / n);
  }
  return n > 0 ? sum / n : 0.0;
}

// Weighted parameter loss for regressors of parameter vectors x, t [n, p] with per-parameter
// weights w [p]: (1 / n) sum_i sum_j w_j (x_ij - t_ij)^2.
template <typename T>
double WeightedParameterLoss(int64_t n, int64_t p, const T* x, const T* t, const T* w,
                             T* dL_dx) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < p; ++j) {
      const double d = static_cast<double>(x[i * p + j]) - t[i * p + j];
      sum += w[j] * d * d;
      if (dL_dx) dL_dx[i * p + j] = static_cast<T>(2.0 * w[j] * d / n);
    }
  return n > 0 ? sum / n : 0.0;
}

// Masked per-pixel loss for x, t [n, c, hw] and mask [n, 1, hw] (weights >= 0, typically 0/1):
// sum mask * rho(x - t) / (c * sum mask). 0 (and zero gradient) when the mask is empty.
template <typename T>
double MaskedPixelLoss(PixelPenalty penalty, int64_t n, int64_t c, int64_t hw, const T* x,
                       const T* t, const T* mask, T* dL_dx) {
  double mask_sum = 0.0;
  for (int64_t k = 0; k < n * hw; ++k) mask_sum += mask[k];
  const double norm = mask_sum > 0.0 ? 1.0 / (mask_sum * c) : 0.0;
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t p = 0; p < hw; ++p) {
        const int64_t k = (i * c + ch) * hw + p;
        const double m = mask[i * hw + p];
        const double d = static_cast<double>(x[k]) - t[k];
        const bool l1 = penalty == PixelPenalty::kL1;
        sum += m * (l1 ? (d < 0 ? -d : d) : d * d);
        if (dL_dx) dL_dx[k] = static_cast<T>(norm * m * (l1 ? SignOf(d) : 2.0 * d));
      }
  return sum * norm;
}

}  // namespace reference
}  // namespace morphfit::nn

#endif  // MORPHFIT_NN_KERNELS_LOSSES_H_
