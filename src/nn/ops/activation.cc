// Activations and the residual add: dispatch to nn/kernels (CPU, split into fixed chunks on
// CpuPool) or cuda/nn/pointwise.cu.
#include "morphfit/nn/cpu_context.h"
#include "morphfit/nn/kernels/activation.h"
#include "morphfit/nn/kernels/elementwise.h"
#include "morphfit/nn/ops.h"
#include "src/nn/ops/op_util.h"
#if defined(MORPHFIT_NN_WITH_CUDA)
#include "nn/pointwise_cuda.h"
#endif

namespace morphfit::nn {
namespace {
constexpr int64_t kElementChunk = 1 << 16;
}  // namespace

StatusOr<Tensor> Activate(Activation a, const Tensor& x, float slope) {
  const std::string op = ActivationName(a);
  if (!x.defined()) return InvalidArgumentError(op + ": input is undefined");
  MORPHFIT_ASSIGN_OR_RETURN(Tensor y, internal::NewOutputTensor(x.shape(), x.device()));
  if (x.device() == Device::kCuda) {
#if defined(MORPHFIT_NN_WITH_CUDA)
    MORPHFIT_RETURN_IF_ERROR(internal::FromCuda(
        nn_cuda::ActivationForward(a, slope, x.size(), x.device_data(), y.device_data()), op));
#endif
    return y;
  }
  const float* in = x.data();
  float* out = y.data();
  CpuPool().ParallelForChunks(0, x.size(), kElementChunk, [&](int64_t b, int64_t e, int64_t) {
    reference::ActivationForward<float>(a, slope, e - b, in + b, out + b);
  });
  return y;
}

StatusOr<Tensor> ActivateBackward(Activation a, const Tensor& x, const Tensor& y,
                                  const Tensor& dy, float slope) {
  const std::string op = std::string(ActivationName(a)) + " backward";
  MORPHFIT_RETURN_IF_ERROR(ExpectSameShape(x, y, op, "x", "y"));
  MORPHFIT_RETURN_IF_ERROR(ExpectSameShape(x, dy, op, "x", "dy"));
  MORPHFIT_RETURN_IF_ERROR(internal::CheckSameDevice({&x, &y, &dy}, op));
  MORPHFIT_ASSIGN_OR_RETURN(Tensor dx, internal::NewTensor(x.shape(), x.device()));
  if (x.device() == Device::kCuda) {
#if defined(MORPHFIT_NN_WITH_CUDA)
    MORPHFIT_RETURN_IF_ERROR(internal::FromCuda(
        nn_cuda::ActivationBackward(a, slope, x.size(), x.device_data(), y.device_data(),
                                    dy.device_data(), dx.device_data()), op));
#endif
    return dx;
  }
  CpuPool().ParallelForChunks(0, x.size(), kElementChunk, [&](int64_t b, int64_t e, int64_t) {
    reference::ActivationBackward<float>(a, slope, e - b, x.data() + b, y.data() + b,
                                         dy.data() + b, dx.data() + b);
  });
  return dx;
}

StatusOr<Tensor> Add(const Tensor& a, const Tensor& b) {
  if (!a.defined() || !b.defined()) return InvalidArgumentError("add: undefined input");
  MORPHFIT_RETURN_IF_ERROR(ExpectSameShape(a, b, "add", "a", "b"));
  MORPHFIT_RETURN_IF_ERROR(internal::CheckSameDevice({&a, &b}, "add"));
  MORPHFIT_ASSIGN_OR_RETURN(Tensor y, internal::NewTensor(a.shape(), a.device()));
  if (a.device() == Device::kCuda) {
#if defined(MORPHFIT_NN_WITH_CUDA)
    MORPHFIT_RETURN_IF_ERROR(internal::FromCuda(
        nn_cuda::Add(a.size(), a.device_data(), b.device_data(), y.device_data()), "add"));
#endif
    return y;
  }
  CpuPool().ParallelForChunks(0, a.size(), kElementChunk, [&](int64_t lo, int64_t hi, int64_t) {
    reference::AddForward<float>(hi - lo, a.data() + lo, b.data() + lo, y.data() + lo);
  });
  return y;
}

}  // namespace morphfit::nn
