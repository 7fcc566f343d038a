// Private helpers shared by the op implementations: device agreement and gradient-target
// checks.
#ifndef MORPHFIT_SRC_NN_OPS_OP_UTIL_H_
#define MORPHFIT_SRC_NN_OPS_OP_UTIL_H_

#include <initializer_list>
#include <string>

#include "morphfit/nn/tensor.h"

namespace morphfit::nn::internal {

// OK when every defined tensor in `tensors` is on the device of the first.
inline Status CheckSameDevice(std::initializer_list<const Tensor*> tensors, const std::string& op) {
  const Tensor* first = nullptr;
  for (const Tensor* t : tensors) {
    if (t == nullptr || !t->defined()) continue;
    if (first == nullptr) {
      first = t;
    } else if (t->device() != first->device()) {
      return FailedPreconditionError(op + ": tensors on different devices (" +
                                     DeviceName(first->device()) + " and " +
                                     DeviceName(t->device()) + ")");
    }
  }
  return OkStatus();
}

// A gradient target (dw, db, ...) is null or a tensor shaped like its parameter on the same
// device.
inline Status CheckGradTarget(const Tensor* grad, const Tensor& param, const std::string& op,
                              const std::string& name) {
  if (grad == nullptr) return OkStatus();
  MORPHFIT_RETURN_IF_ERROR(ExpectShape(*grad, param.shape(), op, name));
  if (grad->device() != param.device()) {
    return FailedPreconditionError(op + ": " + name + " is on another device than its parameter");
  }
  return OkStatus();
}

// A zero-filled tensor on `device`.
inline StatusOr<Tensor> NewTensor(const Shape& shape, Device device) {
  if (device == Device::kCpu) return Tensor(shape);
  return Tensor::Zeros(shape, device);
}

// An op's output that the op overwrites entirely: on the CPU not zero-filled first (one pass
// less over memory); on the device zero-filled like NewTensor.
inline StatusOr<Tensor> NewOutputTensor(const Shape& shape, Device device) {
  if (device == Device::kCpu) return Tensor::Uninitialized(shape);
  return Tensor::Zeros(shape, device);
}

// A CUDA launcher's error string as a Status.
inline Status FromCuda(const std::string& error, const std::string& op) {
  return error.empty() ? OkStatus() : InternalError(op + " (CUDA): " + error);
}

}  // namespace morphfit::nn::internal

#endif  // MORPHFIT_SRC_NN_OPS_OP_UTIL_H_
