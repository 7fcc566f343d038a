// SGD, Adam/AdamW, learning-rate schedules and gradient clipping, on the CPU or (for parameters
// on the device) through cuda/nn/optim.cu. Per-element updates: nn/kernels/optim_update.h.
#include "morphfit/nn/optim.h"

#include <cmath>

#include "morphfit/nn/kernels/optim_update.h"
#include "src/nn/ops/op_util.h"
#if defined(MORPHFIT_NN_WITH_CUDA)
#include "nn/optim_cuda.h"
#endif

namespace morphfit::nn {
namespace {

Status CheckGrad(const NamedParameter& p) {
  const Parameter& q = *p.parameter;
  if (!q.grad.defined() || q.grad.shape() != q.value.shape() || q.grad.device() != q.value.device()) {
    return FailedPreconditionError("optimiser: parameter '" + p.name +
                                   "' has no gradient of its shape on its device");
  }
  return OkStatus();
}

std::vector<NamedParameter> Trainable(std::vector<NamedParameter> parameters) {
  std::vector<NamedParameter> out;
  for (const NamedParameter& p : parameters) {
    if (p.parameter->trainable) out.push_back(p);
  }
  return out;
}

// Creates a zero state tensor beside `p` when it is missing (or the parameter moved device).
Status EnsureState(const NamedParameter& p, Tensor* state) {
  const Tensor& value = p.parameter->value;
  if (state->defined() && state->device() == value.device() && state->shape() == value.shape()) {
    return OkStatus();
  }
  MORPHFIT_ASSIGN_OR_RETURN(*state, Tensor::Zeros(value.shape(), value.device()));
  return OkStatus();
}

}  // namespace

Sgd::Sgd(std::vector<NamedParameter> parameters, SgdOptions options)
    : parameters_(Trainable(std::move(parameters))), options_(options),
      velocity_(parameters_.size()) {}

Status Sgd::Step(double lr) {
  const SgdHyper h{lr, options_.momentum, options_.weight_decay, options_.nesterov};
  for (size_t i = 0; i < parameters_.size(); ++i) {
    MORPHFIT_RETURN_IF_ERROR(CheckGrad(parameters_[i]));
    MORPHFIT_RETURN_IF_ERROR(EnsureState(parameters_[i], &velocity_[i]));
    Parameter& p = *parameters_[i].parameter;
    if (p.value.device() == Device::kCuda) {
#if defined(MORPHFIT_NN_WITH_CUDA)
      MORPHFIT_RETURN_IF_ERROR(internal::FromCuda(
          nn_cuda::SgdStep(h, p.value.size(), p.value.device_data(), p.grad.device_data(),
                           velocity_[i].device_data()), "sgd"));
#endif
      continue;
    }
    float* w = p.value.data();
    const float* g = p.grad.data();
    float* v = velocity_[i].data();
    for (int64_t k = 0; k < p.value.size(); ++k) SgdUpdate(h, g[k], w + k, v + k);
  }
  return OkStatus();
}

Adam::Adam(std::vector<NamedParameter> parameters, AdamOptions options)
    : parameters_(Trainable(std::move(parameters))), options_(options),
      m_(parameters_.size()), v_(parameters_.size()) {}

Status Adam::Step(double lr) {
  ++step_;
  AdamHyper h;
  h.lr = lr, h.beta1 = options_.beta1, h.beta2 = options_.beta2, h.eps = options_.eps;
  h.weight_decay = options_.weight_decay;
  h.decoupled_weight_decay = options_.decoupled_weight_decay;
  h.bias_correction1 = 1.0 - std::pow(options_.beta1, static_cast<double>(step_));
  h.bias_correction2 = 1.0 - std::pow(options_.beta2, static_cast<double>(step_));
  for (size_t i = 0; i < parameters_.size(); ++i) {
    MORPHFIT_RETURN_IF_ERROR(CheckGrad(parameters_[i]));
    MORPHFIT_RETURN_IF_ERROR(EnsureState(parameters_[i], &m_[i]));
    MORPHFIT_RETURN_IF_ERROR(EnsureState(parameters_[i], &v_[i]));
    Parameter& p = *parameters_[i].parameter;
    if (p.value.device() == Device::kCuda) {
#if defined(MORPHFIT_NN_WITH_CUDA)
      MORPHFIT_RETURN_IF_ERROR(internal::FromCuda(
          nn_cuda::AdamStep(h, p.value.size(), p.value.device_data(), p.grad.device_data(),
                            m_[i].device_data(), v_[i].device_data()), "adam"));
#endif
      continue;
    }
    float* w = p.value.data();
    const float* g = p.grad.data();
    float* m = m_[i].data();
    float* v = v_[i].data();
    for (int64_t k = 0; k < p.value.size(); ++k) AdamUpdate(h, g[k], w + k, m + k, v + k);
  }
  return OkStatus();
}

double LearningRate(const LrSchedule& s, int64_t step) {
  if (step < s.warmup_steps) {
    return s.base_lr * static_cast<double>(step + 1) / static_cast<double>(s.warmup_steps);
  }
  const int64_t t = step - s.warmup_steps;
  switch (s.kind) {
    case LrSchedule::Kind::kConstant:
      return s.base_lr;
    case LrSchedule::Kind::kStep:
      return s.base_lr * std::pow(s.gamma, static_cast<double>(t / (s.step_size > 0 ? s.step_size : 1)));
    case LrSchedule::Kind::kCosine: {
      const int64_t span = s.total_steps - s.warmup_steps;
      if (span <= 0 || t >= span) return s.min_lr;
      const double progress = static_cast<double>(t) / static_cast<double>(span);
      return s.min_lr + (s.base_lr - s.min_lr) * 0.5 * (1.0 + std::cos(M_PI * progress));
    }
  }
  return s.base_lr;
}

StatusOr<double> ClipGradNorm(const std::vector<NamedParameter>& parameters, double max_norm) {
  if (!(max_norm > 0.0)) return InvalidArgumentError("ClipGradNorm: max_norm must be > 0");
  double sum_sq = 0.0;
  for (const NamedParameter& p : parameters) {
    if (!p.parameter->trainable) continue;
    MORPHFIT_RETURN_IF_ERROR(CheckGrad(p));
    const Tensor& grad = p.parameter->grad;
    if (grad.device() == Device::kCuda) {
#if defined(MORPHFIT_NN_WITH_CUDA)
      double part = 0.0;
      MORPHFIT_RETURN_IF_ERROR(internal::FromCuda(
          nn_cuda::SumOfSquares(grad.size(), grad.device_data(), &part), "ClipGradNorm"));
      sum_sq += part;
#endif
      continue;
    }
    const float* g = grad.data();
    for (int64_t k = 0; k < grad.size(); ++k) sum_sq += static_cast<double>(g[k]) * g[k];
  }
  const double norm = std::sqrt(sum_sq);
  if (norm <= max_norm) return norm;
  const float scale = static_cast<float>(max_norm / norm);
  for (const NamedParameter& p : parameters) {
    if (!p.parameter->trainable) continue;
    Tensor& grad = p.parameter->grad;
    if (grad.device() == Device::kCuda) {
#if defined(MORPHFIT_NN_WITH_CUDA)
      MORPHFIT_RETURN_IF_ERROR(internal::FromCuda(
          nn_cuda::Scale(grad.size(), grad.device_data(), scale), "ClipGradNorm"));
#endif
      continue;
    }
    float* g = grad.data();
    for (int64_t k = 0; k < grad.size(); ++k) g[k] *= scale;
  }
  return norm;
}

}  // namespace morphfit::nn
