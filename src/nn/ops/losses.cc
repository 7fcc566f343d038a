// Tensor-level losses: shape checks around nn/kernels/losses.h (CPU).
#include "morphfit/nn/losses.h"

#include "src/nn/ops/op_util.h"

namespace morphfit::nn {
namespace {

Status CheckPair(const Tensor& x, const Tensor& t, const std::string& op) {
  if (!x.defined() || !t.defined()) return InvalidArgumentError(op + ": undefined input");
  MORPHFIT_RETURN_IF_ERROR(internal::CpuOnly(x, op));
  MORPHFIT_RETURN_IF_ERROR(internal::CpuOnly(t, op));
  return ExpectSameShape(x, t, op, "prediction", "target");
}

}  // namespace

StatusOr<LossResult> MseLoss(const Tensor& x, const Tensor& t) {
  MORPHFIT_RETURN_IF_ERROR(CheckPair(x, t, "mse_loss"));
  LossResult r{0.0, Tensor(x.shape())};
  r.value = reference::MseLoss<float>(x.size(), x.data(), t.data(), r.dL_dx.data());
  return r;
}

StatusOr<LossResult> L1Loss(const Tensor& x, const Tensor& t) {
  MORPHFIT_RETURN_IF_ERROR(CheckPair(x, t, "l1_loss"));
  LossResult r{0.0, Tensor(x.shape())};
  r.value = reference::L1Loss<float>(x.size(), x.data(), t.data(), r.dL_dx.data());
  return r;
}

StatusOr<LossResult> SmoothL1Loss(const Tensor& x, const Tensor& t, double beta) {
  MORPHFIT_RETURN_IF_ERROR(CheckPair(x, t, "smooth_l1_loss"));
  if (!(beta > 0.0)) return InvalidArgumentError("smooth_l1_loss: beta must be > 0");
  LossResult r{0.0, Tensor(x.shape())};
  r.value = reference::SmoothL1Loss<float>(x.size(), beta, x.data(), t.data(), r.dL_dx.data());
  return r;
}

StatusOr<LossResult> WeightedParameterLoss(const Tensor& x, const Tensor& t,
                                           const Tensor& weights) {
  const std::string op = "weighted_parameter_loss";
  MORPHFIT_RETURN_IF_ERROR(CheckPair(x, t, op));
  MORPHFIT_RETURN_IF_ERROR(internal::CpuOnly(weights, op));
  if (x.rank() < 1 || x.dim(0) < 1) return InvalidArgumentError(op + ": empty batch " + x.ShapeString());
  const int64_t n = x.dim(0), p = x.size() / n;
  MORPHFIT_RETURN_IF_ERROR(ExpectShape(weights, {p}, op, "weights"));
  LossResult r{0.0, Tensor(x.shape())};
  r.value = reference::WeightedParameterLoss<float>(n, p, x.data(), t.data(), weights.data(),
                                                    r.dL_dx.data());
  return r;
}

StatusOr<LossResult> MaskedPixelLoss(PixelPenalty penalty, const Tensor& x, const Tensor& t,
                                     const Tensor& mask) {
  const std::string op = "masked_pixel_loss";
  MORPHFIT_RETURN_IF_ERROR(CheckPair(x, t, op));
  MORPHFIT_RETURN_IF_ERROR(ExpectRank(x, 4, op, "prediction (NCHW)"));
  MORPHFIT_RETURN_IF_ERROR(internal::CpuOnly(mask, op));
  MORPHFIT_RETURN_IF_ERROR(ExpectShape(mask, {x.dim(0), 1, x.dim(2), x.dim(3)}, op, "mask"));
  LossResult r{0.0, Tensor(x.shape())};
  r.value = reference::MaskedPixelLoss<float>(penalty, x.dim(0), x.dim(1), x.dim(2) * x.dim(3),
                                              x.data(), t.data(), mask.data(), r.dL_dx.data());
  return r;
}

}  // namespace morphfit::nn
