// SGD, Adam/AdamW, learning-rate schedules and gradient clipping (CPU).
#include "morphfit/nn/optim.h"

#include <cmath>

namespace morphfit::nn {
namespace {

Status CheckCpu(const NamedParameter& p) {
  if (p.parameter->value.device() != Device::kCpu) {
    return FailedPreconditionError("optimiser: parameter '" + p.name +
                                   "' is on the CUDA device; optimiser steps run on the CPU");
  }
  if (!p.parameter->grad.defined() || p.parameter->grad.shape() != p.parameter->value.shape()) {
    return FailedPreconditionError("optimiser: parameter '" + p.name + "' has no gradient");
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

std::vector<std::vector<float>> ZeroState(const std::vector<NamedParameter>& parameters) {
  std::vector<std::vector<float>> state;
  for (const NamedParameter& p : parameters) state.emplace_back(p.parameter->value.size(), 0.0f);
  return state;
}

}  // namespace

Sgd::Sgd(std::vector<NamedParameter> parameters, SgdOptions options)
    : parameters_(Trainable(std::move(parameters))), options_(options),
      velocity_(ZeroState(parameters_)) {}

Status Sgd::Step(double lr) {
  for (size_t i = 0; i < parameters_.size(); ++i) {
    MORPHFIT_RETURN_IF_ERROR(CheckCpu(parameters_[i]));
    float* w = parameters_[i].parameter->value.data();
    const float* g = parameters_[i].parameter->grad.data();
    float* v = velocity_[i].data();
    for (size_t k = 0; k < velocity_[i].size(); ++k) {
      const double grad = g[k] + options_.weight_decay * w[k];
      v[k] = static_cast<float>(options_.momentum * v[k] + grad);
      const double update = options_.nesterov ? grad + options_.momentum * v[k] : v[k];
      w[k] = static_cast<float>(w[k] - lr * update);
    }
  }
  return OkStatus();
}

Adam::Adam(std::vector<NamedParameter> parameters, AdamOptions options)
    : parameters_(Trainable(std::move(parameters))), options_(options),
      m_(ZeroState(parameters_)), v_(ZeroState(parameters_)) {}

Status Adam::Step(double lr) {
  ++step_;
  const double c1 = 1.0 - std::pow(options_.beta1, static_cast<double>(step_));
  const double c2 = 1.0 - std::pow(options_.beta2, static_cast<double>(step_));
  for (size_t i = 0; i < parameters_.size(); ++i) {
    MORPHFIT_RETURN_IF_ERROR(CheckCpu(parameters_[i]));
    float* w = parameters_[i].parameter->value.data();
    const float* g = parameters_[i].parameter->grad.data();
    float* m = m_[i].data();
    float* v = v_[i].data();
    for (size_t k = 0; k < m_[i].size(); ++k) {
      double grad = g[k];
      double weight = w[k];
      if (options_.decoupled_weight_decay) {
        weight -= lr * options_.weight_decay * weight;
      } else {
        grad += options_.weight_decay * weight;
      }
      m[k] = static_cast<float>(options_.beta1 * m[k] + (1 - options_.beta1) * grad);
      v[k] = static_cast<float>(options_.beta2 * v[k] + (1 - options_.beta2) * grad * grad);
      const double m_hat = m[k] / c1, v_hat = v[k] / c2;
      w[k] = static_cast<float>(weight - lr * m_hat / (std::sqrt(v_hat) + options_.eps));
    }
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
    MORPHFIT_RETURN_IF_ERROR(CheckCpu(p));
    const float* g = p.parameter->grad.data();
    for (int64_t k = 0; k < p.parameter->grad.size(); ++k) sum_sq += static_cast<double>(g[k]) * g[k];
  }
  const double norm = std::sqrt(sum_sq);
  if (norm > max_norm) {
    const float scale = static_cast<float>(max_norm / norm);
    for (const NamedParameter& p : parameters) {
      if (!p.parameter->trainable) continue;
      float* g = p.parameter->grad.data();
      for (int64_t k = 0; k < p.parameter->grad.size(); ++k) g[k] *= scale;
    }
  }
  return norm;
}

}  // namespace morphfit::nn
