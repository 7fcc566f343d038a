// Tensor-level losses: shape checks, then nn::reference::WeightedPenaltyLoss on the CPU or its
// CUDA twin (cuda/nn/losses.cu) for tensors on the device.
#include "morphfit/nn/losses.h"

#include "src/nn/ops/op_util.h"
#if defined(MORPHFIT_NN_WITH_CUDA)
#include "nn/losses_cuda.h"
#endif

namespace morphfit::nn {
namespace {

Status CheckPair(const Tensor& x, const Tensor& t, const std::string& op) {
  if (!x.defined() || !t.defined()) return InvalidArgumentError(op + ": undefined input");
  MORPHFIT_RETURN_IF_ERROR(internal::CheckSameDevice({&x, &t}, op));
  return ExpectSameShape(x, t, op, "prediction", "target");
}

// scale * sum w_i rho(x_i - t_i) on x's device (weights may be null).
StatusOr<LossResult> Compute(Penalty p, double beta, const Tensor& x, const Tensor& t,
                             const Tensor* weights, int64_t block, int64_t inner, double scale,
                             const std::string& op) {
  MORPHFIT_ASSIGN_OR_RETURN(Tensor grad, internal::NewTensor(x.shape(), x.device()));
  LossResult r{0.0, grad};
  if (x.device() == Device::kCuda) {
#if defined(MORPHFIT_NN_WITH_CUDA)
    MORPHFIT_RETURN_IF_ERROR(internal::FromCuda(
        nn_cuda::WeightedPenaltyLoss(p, beta, x.size(), x.device_data(), t.device_data(),
                                     weights ? weights->device_data() : nullptr, block, inner,
                                     scale, r.dL_dx.device_data(), &r.value), op));
#endif
    return r;
  }
  r.value = reference::WeightedPenaltyLoss<float>(p, beta, x.size(), x.data(), t.data(),
                                                  weights ? weights->data() : nullptr, block,
                                                  inner, scale, r.dL_dx.data());
  return r;
}

double MeanScale(const Tensor& x) { return x.size() > 0 ? 1.0 / static_cast<double>(x.size()) : 0.0; }

}  // namespace

StatusOr<LossResult> MseLoss(const Tensor& x, const Tensor& t) {
  MORPHFIT_RETURN_IF_ERROR(CheckPair(x, t, "mse_loss"));
  return Compute(Penalty::kSquared, 0.0, x, t, nullptr, 1, 1, MeanScale(x), "mse_loss");
}

StatusOr<LossResult> L1Loss(const Tensor& x, const Tensor& t) {
  MORPHFIT_RETURN_IF_ERROR(CheckPair(x, t, "l1_loss"));
  return Compute(Penalty::kAbsolute, 0.0, x, t, nullptr, 1, 1, MeanScale(x), "l1_loss");
}

StatusOr<LossResult> SmoothL1Loss(const Tensor& x, const Tensor& t, double beta) {
  MORPHFIT_RETURN_IF_ERROR(CheckPair(x, t, "smooth_l1_loss"));
  if (!(beta > 0.0)) return InvalidArgumentError("smooth_l1_loss: beta must be > 0");
  return Compute(Penalty::kSmoothL1, beta, x, t, nullptr, 1, 1, MeanScale(x), "smooth_l1_loss");
}

StatusOr<LossResult> WeightedParameterLoss(const Tensor& x, const Tensor& t,
                                           const Tensor& weights) {
  const std::string op = "weighted_parameter_loss";
  MORPHFIT_RETURN_IF_ERROR(CheckPair(x, t, op));
  MORPHFIT_RETURN_IF_ERROR(internal::CheckSameDevice({&x, &weights}, op));
  if (x.rank() < 1 || x.dim(0) < 1) return InvalidArgumentError(op + ": empty batch " + x.ShapeString());
  const int64_t n = x.dim(0), p = x.size() / n;
  MORPHFIT_RETURN_IF_ERROR(ExpectShape(weights, {p}, op, "weights"));
  return Compute(Penalty::kSquared, 0.0, x, t, &weights, n * p, p, 1.0 / n, op);
}

StatusOr<LossResult> MaskedPixelLoss(PixelPenalty penalty, const Tensor& x, const Tensor& t,
                                     const Tensor& mask) {
  const std::string op = "masked_pixel_loss";
  MORPHFIT_RETURN_IF_ERROR(CheckPair(x, t, op));
  MORPHFIT_RETURN_IF_ERROR(ExpectRank(x, 4, op, "prediction (NCHW)"));
  MORPHFIT_RETURN_IF_ERROR(internal::CheckSameDevice({&x, &mask}, op));
  MORPHFIT_RETURN_IF_ERROR(ExpectShape(mask, {x.dim(0), 1, x.dim(2), x.dim(3)}, op, "mask"));
  const int64_t n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
  double scale = 0.0;
  if (x.device() == Device::kCuda) {
#if defined(MORPHFIT_NN_WITH_CUDA)
    double mask_sum = 0.0;
    MORPHFIT_RETURN_IF_ERROR(internal::FromCuda(nn_cuda::Sum(mask.size(), mask.device_data(), &mask_sum), op));
    scale = mask_sum > 0.0 ? 1.0 / (mask_sum * c) : 0.0;
#endif
  } else {
    scale = reference::MaskedPixelScale<float>(n, c, hw, mask.data());
  }
  return Compute(PenaltyOf(penalty), 0.0, x, t, &mask, c * hw, hw, scale, op);
}

}  // namespace morphfit::nn
