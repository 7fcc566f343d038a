// Elementwise activations: the per-element formulas (MORPHFIT_HD, shared by the CPU loops below
// and the CUDA kernels) and their derivatives. Backward takes both x and y because each
// derivative is cheapest in one of them (ReLU in x, sigmoid and tanh in y).
#ifndef MORPHFIT_NN_KERNELS_ACTIVATION_H_
#define MORPHFIT_NN_KERNELS_ACTIVATION_H_

#include <cmath>
#include <cstdint>

#include "morphfit/math/hd.h"

namespace morphfit::nn {

enum class Activation { kRelu, kLeakyRelu, kSigmoid, kTanh };
inline const char* ActivationName(Activation a) {
  switch (a) {
    case Activation::kRelu: return "relu";
    case Activation::kLeakyRelu: return "leaky_relu";
    case Activation::kSigmoid: return "sigmoid";
    case Activation::kTanh: return "tanh";
  }
  return "?";
}

// y = f(x); `slope` is LeakyReLU's negative slope (ignored by the others).
template <typename T>
MORPHFIT_HD T ActivationValue(Activation a, T x, T slope) {
  using std::exp;
  using std::tanh;
  switch (a) {
    case Activation::kRelu: return x > T(0) ? x : T(0);
    case Activation::kLeakyRelu: return x > T(0) ? x : slope * x;
    case Activation::kSigmoid: return T(1) / (T(1) + exp(-x));
    case Activation::kTanh: return tanh(x);
  }
  return x;
}

// dy/dx at x, given y = f(x).
template <typename T>
MORPHFIT_HD T ActivationDerivative(Activation a, T x, T y, T slope) {
  switch (a) {
    case Activation::kRelu: return x > T(0) ? T(1) : T(0);
    case Activation::kLeakyRelu: return x > T(0) ? T(1) : slope;
    case Activation::kSigmoid: return y * (T(1) - y);
    case Activation::kTanh: return T(1) - y * y;
  }
  return T(1);
}

namespace reference {

template <typename T>
void ActivationForward(Activation a, T slope, int64_t n, const T* x, T* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = ActivationValue(a, x[i], slope);
}

template <typename T>
void ActivationBackward(Activation a, T slope, int64_t n, const T* x, const T* y, const T* dy,
                        T* dx) {
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * ActivationDerivative(a, x[i], y[i], slope);
}

}  // namespace reference
}  // namespace morphfit::nn

#endif  // MORPHFIT_NN_KERNELS_ACTIVATION_H_
