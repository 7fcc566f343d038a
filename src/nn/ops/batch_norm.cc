// Batch normalisation: shape checks and dispatch (CPU: nn/kernels/batch_norm.h; CUDA twin in
// cuda/nn/pointwise.cu).
#include "morphfit/nn/kernels/batch_norm.h"
#include "morphfit/nn/ops.h"
#include "src/nn/ops/op_util.h"
#if defined(MORPHFIT_NN_WITH_CUDA)
#include "nn/pointwise_cuda.h"
#endif

namespace morphfit::nn {
namespace {

struct BnDims {
  int64_t n = 0, c = 0, hw = 1;
};

StatusOr<BnDims> CheckBn(const Tensor& x, std::initializer_list<std::pair<const Tensor*, const char*>> per_channel,
                         const std::string& op) {
  if (!x.defined() || (x.rank() != 4 && x.rank() != 2)) {
    return InvalidArgumentError(op + ": input must be [n, c, h, w] or [n, c], got " +
                                x.ShapeString());
  }
  BnDims d;
  d.n = x.dim(0);
  d.c = x.dim(1);
  if (x.rank() == 4) d.hw = x.dim(2) * x.dim(3);
  if (d.n * d.hw < 1) return InvalidArgumentError(op + ": empty batch " + x.ShapeString());
  for (const auto& [t, name] : per_channel) {
    if (t) MORPHFIT_RETURN_IF_ERROR(ExpectShape(*t, {d.c}, op, name));
  }
  return d;
}

float* Ptr(Tensor* t) {
  if (!t) return nullptr;
  return t->device() == Device::kCpu ? t->data() : t->device_data();
}

}  // namespace

StatusOr<Tensor> BatchNorm2dTrain(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                  const BatchNormOptions& o, Tensor* running_mean,
                                  Tensor* running_var, Tensor* save_mean, Tensor* save_inv_std) {
  const std::string op = "batch_norm (train)";
  MORPHFIT_ASSIGN_OR_RETURN(const BnDims d,
                            CheckBn(x, {{&gamma, "gamma"}, {&beta, "beta"},
                                        {running_mean, "running_mean"},
                                        {running_var, "running_var"}, {save_mean, "save_mean"},
                                        {save_inv_std, "save_inv_std"}}, op));
  if (!save_mean || !save_inv_std) return InvalidArgumentError(op + ": save_mean/save_inv_std needed");
  MORPHFIT_RETURN_IF_ERROR(internal::CheckSameDevice(
      {&x, &gamma, &beta, running_mean, running_var, save_mean, save_inv_std}, op));
  MORPHFIT_ASSIGN_OR_RETURN(Tensor y, internal::NewTensor(x.shape(), x.device()));
  if (x.device() == Device::kCuda) {
#if defined(MORPHFIT_NN_WITH_CUDA)
    MORPHFIT_RETURN_IF_ERROR(internal::FromCuda(
        nn_cuda::BatchNormForwardTrain(d.n, d.c, d.hw, x.device_data(), gamma.device_data(),
                                       beta.device_data(), o.eps, o.momentum, y.device_data(),
                                       Ptr(save_mean), Ptr(save_inv_std), Ptr(running_mean),
                                       Ptr(running_var)), op));
#endif
    return y;
  }
  reference::BatchNormForwardTrain<float>(d.n, d.c, d.hw, x.data(), gamma.data(), beta.data(),
                                          o.eps, y.data(), save_mean->data(),
                                          save_inv_std->data());
  const double count = static_cast<double>(d.n * d.hw);
  for (int64_t ch = 0; ch < d.c; ++ch) {
    const double inv_std = save_inv_std->data()[ch];
    const double biased_var = 1.0 / (inv_std * inv_std) - o.eps;
    const double unbiased_var = count > 1 ? biased_var * count / (count - 1) : biased_var;
    if (running_mean) {
      float& m = running_mean->data()[ch];
      m = static_cast<float>((1 - o.momentum) * m + o.momentum * save_mean->data()[ch]);
    }
    if (running_var) {
      float& v = running_var->data()[ch];
      v = static_cast<float>((1 - o.momentum) * v + o.momentum * unbiased_var);
    }
  }
  return y;
}

StatusOr<Tensor> BatchNorm2dBackwardTrain(const Tensor& x, const Tensor& gamma,
                                          const Tensor& save_mean, const Tensor& save_inv_std,
                                          const Tensor& dy, Tensor* dgamma, Tensor* dbeta) {
  const std::string op = "batch_norm backward (train)";
  MORPHFIT_ASSIGN_OR_RETURN(const BnDims d,
                            CheckBn(x, {{&gamma, "gamma"}, {&save_mean, "save_mean"},
                                        {&save_inv_std, "save_inv_std"}, {dgamma, "dgamma"},
                                        {dbeta, "dbeta"}}, op));
  MORPHFIT_RETURN_IF_ERROR(ExpectSameShape(x, dy, op, "x", "dy"));
  MORPHFIT_RETURN_IF_ERROR(
      internal::CheckSameDevice({&x, &gamma, &save_mean, &save_inv_std, &dy, dgamma, dbeta}, op));
  MORPHFIT_ASSIGN_OR_RETURN(Tensor dx, internal::NewTensor(x.shape(), x.device()));
  if (x.device() == Device::kCuda) {
#if defined(MORPHFIT_NN_WITH_CUDA)
    MORPHFIT_RETURN_IF_ERROR(internal::FromCuda(
        nn_cuda::BatchNormBackwardTrain(d.n, d.c, d.hw, x.device_data(), gamma.device_data(),
                                        save_mean.device_data(), save_inv_std.device_data(),
                                        dy.device_data(), dx.device_data(), Ptr(dgamma),
                                        Ptr(dbeta)), op));
#endif
    return dx;
  }
  reference::BatchNormBackwardTrain<float>(d.n, d.c, d.hw, x.data(), gamma.data(),
                                           save_mean.data(), save_inv_std.data(), dy.data(),
                                           dx.data(), Ptr(dgamma), Ptr(dbeta));
  return dx;
}

StatusOr<Tensor> BatchNorm2dEval(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                 const Tensor& running_mean, const Tensor& running_var,
                                 const BatchNormOptions& o) {
  const std::string op = "batch_norm (eval)";
  MORPHFIT_ASSIGN_OR_RETURN(const BnDims d,
                            CheckBn(x, {{&gamma, "gamma"}, {&beta, "beta"},
                                        {&running_mean, "running_mean"},
                                        {&running_var, "running_var"}}, op));
  MORPHFIT_RETURN_IF_ERROR(
      internal::CheckSameDevice({&x, &gamma, &beta, &running_mean, &running_var}, op));
  MORPHFIT_ASSIGN_OR_RETURN(Tensor y, internal::NewOutputTensor(x.shape(), x.device()));
  if (x.device() == Device::kCuda) {
#if defined(MORPHFIT_NN_WITH_CUDA)
    MORPHFIT_RETURN_IF_ERROR(internal::FromCuda(
        nn_cuda::BatchNormForwardEval(d.n, d.c, d.hw, x.device_data(), gamma.device_data(),
                                      beta.device_data(), running_mean.device_data(),
                                      running_var.device_data(), o.eps, y.device_data()), op));
#endif
    return y;
  }
  reference::BatchNormForwardEval<float>(d.n, d.c, d.hw, x.data(), gamma.data(), beta.data(),
                                         running_mean.data(), running_var.data(), o.eps, y.data());
  return y;
}

StatusOr<Tensor> BatchNorm2dBackwardEval(const Tensor& x, const Tensor& gamma,
                                         const Tensor& running_mean, const Tensor& running_var,
                                         const BatchNormOptions& o, const Tensor& dy,
                                         Tensor* dgamma, Tensor* dbeta) {
  const std::string op = "batch_norm backward (eval)";
  MORPHFIT_ASSIGN_OR_RETURN(const BnDims d,
                            CheckBn(x, {{&gamma, "gamma"}, {&running_mean, "running_mean"},
                                        {&running_var, "running_var"}, {dgamma, "dgamma"},
                                        {dbeta, "dbeta"}}, op));
  MORPHFIT_RETURN_IF_ERROR(ExpectSameShape(x, dy, op, "x", "dy"));
  MORPHFIT_RETURN_IF_ERROR(internal::CheckSameDevice(
      {&x, &gamma, &running_mean, &running_var, &dy, dgamma, dbeta}, op));
  MORPHFIT_ASSIGN_OR_RETURN(Tensor dx, internal::NewTensor(x.shape(), x.device()));
  if (x.device() == Device::kCuda) {
#if defined(MORPHFIT_NN_WITH_CUDA)
    MORPHFIT_RETURN_IF_ERROR(internal::FromCuda(
        nn_cuda::BatchNormBackwardEval(d.n, d.c, d.hw, x.device_data(), gamma.device_data(),
                                       running_mean.device_data(), running_var.device_data(),
                                       o.eps, dy.device_data(), dx.device_data(), Ptr(dgamma),
                                       Ptr(dbeta)), op));
#endif
    return dx;
  }
  reference::BatchNormBackwardEval<float>(d.n, d.c, d.hw, x.data(), gamma.data(),
                                          running_mean.data(), running_var.data(), o.eps,
                                          dy.data(), dx.data(), Ptr(dgamma), Ptr(dbeta));
  return dx;
}

}  // namespace morphfit::nn
