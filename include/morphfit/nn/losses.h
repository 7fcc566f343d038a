// Tensor-level losses on the CPU or the CUDA device: each returns the scalar loss and dL/dx for
// the prediction x (on x's device). Formulas and normalisation are those of
// nn/kernels/losses.h.
#ifndef MORPHFIT_NN_LOSSES_H_
#define MORPHFIT_NN_LOSSES_H_

#include "morphfit/core/status.h"
#include "morphfit/nn/kernels/losses.h"
#include "morphfit/nn/tensor.h"

namespace morphfit::nn {

struct LossResult {
  double value = 0.0;
  Tensor dL_dx;  // shape of x
};

// Mean over elements; x and t of the same shape.
StatusOr<LossResult> MseLoss(const Tensor& x, const Tensor& t);
StatusOr<LossResult> L1Loss(const Tensor& x, const Tensor& t);
StatusOr<LossResult> SmoothL1Loss(const Tensor& x, const Tensor& t, double beta = 1.0);
// x, t [n, p] (any rank, read as [n, p]); weights [p], >= 0: (1/n) sum w_j (x - t)^2.
StatusOr<LossResult> WeightedParameterLoss(const Tensor& x, const Tensor& t,
                                           const Tensor& weights);
// x, t [n, c, h, w]; mask [n, 1, h, w]: sum mask rho(x - t) / (c sum mask).
StatusOr<LossResult> MaskedPixelLoss(PixelPenalty penalty, const Tensor& x, const Tensor& t,
                                     const Tensor& mask);

}  // namespace morphfit::nn

#endif  // MORPHFIT_NN_LOSSES_H_
