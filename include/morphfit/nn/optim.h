// Optimisers (SGD with momentum and weight decay; Adam and AdamW), learning-rate schedules and
// gradient clipping. They update trainable parameters in place on the parameter's device (CPU
// loops or CUDA kernels running the same per-element update, nn/kernels/optim_update.h); the
// optimiser state lives beside each parameter and is created on the first Step. Update order
// and arithmetic are fixed, so CPU training is bitwise reproducible for a fixed seed.
#ifndef MORPHFIT_NN_OPTIM_H_
#define MORPHFIT_NN_OPTIM_H_

#include <cstdint>
#include <vector>

#include "morphfit/core/status.h"
#include "morphfit/nn/module.h"

namespace morphfit::nn {

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // One update of every trainable parameter with learning rate `lr` from its current gradient.
  virtual Status Step(double lr) = 0;
};

struct SgdOptions {
  double momentum = 0.9;
  double weight_decay = 0.0;  // L2 term added to the gradient: g + wd * w
  bool nesterov = false;
};

// v = momentum v + (g + wd w); w -= lr (nesterov ? g + wd w + momentum v : v).
class Sgd : public Optimizer {
 public:
  Sgd(std::vector<NamedParameter> parameters, SgdOptions options);
  Status Step(double lr) override;

 private:
  std::vector<NamedParameter> parameters_;
  SgdOptions options_;
  std::vector<Tensor> velocity_;  // per parameter, same shape and device
};

struct AdamOptions {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double weight_decay = 0.0;
  // false: Adam (decay added to the gradient); true: AdamW (Loshchilov & Hutter 2019,
  // w -= lr wd w, decoupled from the moments).
  bool decoupled_weight_decay = false;
};

// Adam (Kingma & Ba 2015) with bias correction.
class Adam : public Optimizer {
 public:
  Adam(std::vector<NamedParameter> parameters, AdamOptions options);
  Status Step(double lr) override;

 private:
  std::vector<NamedParameter> parameters_;
  AdamOptions options_;
  std::vector<Tensor> m_, v_;  // first and second moments, per parameter
  int64_t step_ = 0;
};

// Learning rate at step `step` (0-based): linear warm-up from 0 over warmup_steps, then
//  kConstant: base_lr;
//  kStep:     base_lr * gamma^floor((step - warmup) / step_size);
//  kCosine:   min_lr + (base_lr - min_lr) (1 + cos(pi t / T)) / 2, t = step - warmup,
//             T = total_steps - warmup (min_lr after T).
struct LrSchedule {
  enum class Kind { kConstant, kStep, kCosine };
  Kind kind = Kind::kConstant;
  double base_lr = 1e-3;
  int64_t warmup_steps = 0;
  int64_t step_size = 1000;
  double gamma = 0.1;
  int64_t total_steps = 10000;
  double min_lr = 0.0;
};
double LearningRate(const LrSchedule& schedule, int64_t step);

// Scales all trainable gradients by max_norm / norm when their global L2 norm exceeds
// max_norm. Returns the norm before clipping (accumulated in double, in parameter order; on
// the device each parameter's sum of squares is a fixed-order block sum).
StatusOr<double> ClipGradNorm(const std::vector<NamedParameter>& parameters, double max_norm);

}  // namespace morphfit::nn

#endif  // MORPHFIT_NN_OPTIM_H_
