// Scalar losses between a prediction x and a target t, each returning the loss (accumulated in
// double) and writing dL/dx (overwritten; skipped when dL_dx is null). Every loss is
// scale * sum_i weight_i * rho(x_i - t_i) for one per-element penalty rho (MORPHFIT_HD, shared
// with the CUDA twin in cuda/nn/losses.cu); the reference loops below spell out scale and
// weight per loss.
#ifndef MORPHFIT_NN_KERNELS_LOSSES_H_
#define MORPHFIT_NN_KERNELS_LOSSES_H_

#include <cmath>
#include <cstdint>

#include "morphfit/math/hd.h"

namespace morphfit::nn {

enum class PixelPenalty { kL1, kL2 };

// rho(d): d^2 (kSquared), |d| (kAbsolute), smooth L1 / Huber with threshold beta > 0
// (d^2 / (2 beta) for |d| < beta, |d| - beta / 2 beyond).
enum class Penalty { kSquared, kAbsolute, kSmoothL1 };

MORPHFIT_HD double PenaltyValue(Penalty p, double d, double beta) {
  const double a = d < 0 ? -d : d;
  switch (p) {
    case Penalty::kSquared: return d * d;
    case Penalty::kAbsolute: return a;
    case Penalty::kSmoothL1: return a < beta ? 0.5 * d * d / beta : a - 0.5 * beta;
  }
  return 0.0;
}

// rho'(d); |d|'s derivative at exactly 0 is taken as 0.
MORPHFIT_HD double PenaltyDerivative(Penalty p, double d, double beta) {
  switch (p) {
    case Penalty::kSquared: return 2.0 * d;
    case Penalty::kAbsolute: return d > 0 ? 1.0 : (d < 0 ? -1.0 : 0.0);
    case Penalty::kSmoothL1: return d <= -beta ? -1.0 : (d >= beta ? 1.0 : d / beta);
  }
  return 0.0;
}

inline Penalty PenaltyOf(PixelPenalty p) {
  return p == PixelPenalty::kL1 ? Penalty::kAbsolute : Penalty::kSquared;
}

// Weight index of element i for weights laid out as [outer, inner] and data as
// [outer, block / inner, inner]: per-parameter weights use block = n (one row), inner = p;
// per-pixel masks [n, 1, hw] over data [n, c, hw] use block = c hw, inner = hw.
MORPHFIT_HD int64_t WeightIndex(int64_t i, int64_t block, int64_t inner) {
  return (i / block) * inner + i % inner;
}

namespace reference {

// scale * sum_i w_i rho(x_i - t_i) with w_i = weights[WeightIndex(i, block, inner)] (or 1 when
// weights is null); dL_dx = scale w_i rho'(x_i - t_i).
template <typename T>
double WeightedPenaltyLoss(Penalty p, double beta, int64_t n, const T* x, const T* t,
                           const T* weights, int64_t block, int64_t inner, double scale,
                           T* dL_dx) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(x[i]) - t[i];
    const double w = weights ? static_cast<double>(weights[WeightIndex(i, block, inner)]) : 1.0;
    sum += w * PenaltyValue(p, d, beta);
    if (dL_dx) dL_dx[i] = static_cast<T>(scale * w * PenaltyDerivative(p, d, beta));
  }
  return sum * scale;
}

// mean (x - t)^2 over n elements.
template <typename T>
double MseLoss(int64_t n, const T* x, const T* t, T* dL_dx) {
  return WeightedPenaltyLoss<T>(Penalty::kSquared, 0.0, n, x, t, nullptr, 1, 1,
                                n > 0 ? 1.0 / n : 0.0, dL_dx);
}

// mean |x - t|.
template <typename T>
double L1Loss(int64_t n, const T* x, const T* t, T* dL_dx) {
  return WeightedPenaltyLoss<T>(Penalty::kAbsolute, 0.0, n, x, t, nullptr, 1, 1,
                                n > 0 ? 1.0 / n : 0.0, dL_dx);
}

// mean smooth-L1(x - t; beta), beta > 0.
template <typename T>
double SmoothL1Loss(int64_t n, double beta, const T* x, const T* t, T* dL_dx) {
  return WeightedPenaltyLoss<T>(Penalty::kSmoothL1, beta, n, x, t, nullptr, 1, 1,
                                n > 0 ? 1.0 / n : 0.0, dL_dx);
}

// Weighted parameter loss for regressors of parameter vectors x, t [n, p] with per-parameter
// weights w [p]: (1 / n) sum_i sum_j w_j (x_ij - t_ij)^2.
template <typename T>
double WeightedParameterLoss(int64_t n, int64_t p, const T* x, const T* t, const T* w,
                             T* dL_dx) {
  return WeightedPenaltyLoss<T>(Penalty::kSquared, 0.0, n * p, x, t, w, n * p, p,
                                n > 0 ? 1.0 / n : 0.0, dL_dx);
}

// Normaliser of the masked pixel loss: 1 / (c sum mask), or 0 for an empty mask.
template <typename T>
double MaskedPixelScale(int64_t n, int64_t c, int64_t hw, const T* mask) {
  double mask_sum = 0.0;
  for (int64_t k = 0; k < n * hw; ++k) mask_sum += mask[k];
  return mask_sum > 0.0 ? 1.0 / (mask_sum * c) : 0.0;
}

// Masked per-pixel loss for x, t [n, c, hw] and mask [n, 1, hw] (weights >= 0, typically 0/1):
// sum mask * rho(x - t) / (c * sum mask). 0 (and zero gradient) when the mask is empty.
template <typename T>
double MaskedPixelLoss(PixelPenalty penalty, int64_t n, int64_t c, int64_t hw, const T* x,
                       const T* t, const T* mask, T* dL_dx) {
  return WeightedPenaltyLoss<T>(PenaltyOf(penalty), 0.0, n * c * hw, x, t, mask, c * hw, hw,
                                MaskedPixelScale<T>(n, c, hw, mask), dL_dx);
}

}  // namespace reference
}  // namespace morphfit::nn

#endif  // MORPHFIT_NN_KERNELS_LOSSES_H_
