// Per-element optimiser updates, shared by the CPU optimisers (src/nn/optim.cc) and their CUDA
// twins (cuda/nn/optim.cu). Arithmetic in double, state stored in float.
#ifndef MORPHFIT_NN_KERNELS_OPTIM_UPDATE_H_
#define MORPHFIT_NN_KERNELS_OPTIM_UPDATE_H_

#include <cmath>

#include "morphfit/math/hd.h"

namespace morphfit::nn {

struct SgdHyper {
  double lr = 0.0, momentum = 0.0, weight_decay = 0.0;
  bool nesterov = false;
};

// v = momentum v + (g + wd w); w -= lr (nesterov ? g + wd w + momentum v : v).
MORPHFIT_HD void SgdUpdate(const SgdHyper& h, float grad, float* w, float* v) {
  const double g = grad + h.weight_decay * *w;
  *v = static_cast<float>(h.momentum * *v + g);
  const double update = h.nesterov ? g + h.momentum * *v : *v;
  *w = static_cast<float>(*w - h.lr * update);
}

struct AdamHyper {
  double lr = 0.0, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0;
  double bias_correction1 = 1.0, bias_correction2 = 1.0;  // 1 - beta^t
  bool decoupled_weight_decay = false;                    // AdamW
};

// Adam with bias correction; weight decay added to the gradient (Adam) or applied to the
// weight directly (AdamW).
MORPHFIT_HD void AdamUpdate(const AdamHyper& h, float grad, float* w, float* m, float* v) {
  double g = grad, weight = *w;
  if (h.decoupled_weight_decay) {
    weight -= h.lr * h.weight_decay * weight;
  } else {
    g += h.weight_decay * weight;
  }
  *m = static_cast<float>(h.beta1 * *m + (1 - h.beta1) * g);
  *v = static_cast<float>(h.beta2 * *v + (1 - h.beta2) * g * g);
  const double m_hat = *m / h.bias_correction1, v_hat = *v / h.bias_correction2;
  *w = static_cast<float>(weight - h.lr * m_hat / (sqrt(v_hat) + h.eps));
}

}  // namespace morphfit::nn

#endif  // MORPHFIT_NN_KERNELS_OPTIM_UPDATE_H_
