// Linear layer: shape checks and dispatch (CPU: Eigen GEMM in gemm_cpu.cc; CUDA: cuBLAS).
#include "morphfit/nn/kernels/gemm_cpu.h"
#include "morphfit/nn/ops.h"
#include "src/nn/ops/op_util.h"
#if defined(MORPHFIT_NN_WITH_CUDA)
#include "nn/conv_cuda.h"
#endif

namespace morphfit::nn {
namespace {

// x [n, ...] as [n, in] against w [out, in].
Status CheckLinear(const Tensor& x, const Tensor& w, const std::string& op) {
  MORPHFIT_RETURN_IF_ERROR(ExpectRank(w, 2, op, "weight [out, in]"));
  if (!x.defined() || x.rank() < 1) return InvalidArgumentError(op + ": input must be [n, ...]");
  const int64_t in = x.dim(0) == 0 ? 0 : x.size() / x.dim(0);
  if (in != w.dim(1)) {
    return InvalidArgumentError(op + ": input " + x.ShapeString() + " has " + std::to_string(in) +
                                " features per item, weight " + w.ShapeString() + " expects " +
                                std::to_string(w.dim(1)));
  }
  return OkStatus();
}

}  // namespace

StatusOr<Tensor> Linear(const Tensor& x, const Tensor& w, const Tensor* b) {
  MORPHFIT_RETURN_IF_ERROR(CheckLinear(x, w, "linear"));
  const int64_t n = x.dim(0), in = w.dim(1), out = w.dim(0);
  if (b) MORPHFIT_RETURN_IF_ERROR(ExpectShape(*b, {out}, "linear", "bias"));
  MORPHFIT_RETURN_IF_ERROR(internal::CheckSameDevice({&x, &w, b}, "linear"));
  MORPHFIT_ASSIGN_OR_RETURN(Tensor y, internal::NewOutputTensor({n, out}, x.device()));
  if (x.device() == Device::kCuda) {
#if defined(MORPHFIT_NN_WITH_CUDA)
    MORPHFIT_RETURN_IF_ERROR(internal::FromCuda(
        nn_cuda::LinearForward(n, in, out, x.device_data(), w.device_data(),
                               b ? b->device_data() : nullptr, y.device_data()), "linear"));
#endif
    return y;
  }
  cpu::LinearForward<float>(n, in, out, x.data(), w.data(), b ? b->data() : nullptr, y.data());
  return y;
}

StatusOr<Tensor> LinearBackward(const Tensor& x, const Tensor& w, const Tensor& dy, Tensor* dw,
                                Tensor* db) {
  const std::string op = "linear backward";
  MORPHFIT_RETURN_IF_ERROR(CheckLinear(x, w, op));
  const int64_t n = x.dim(0), in = w.dim(1), out = w.dim(0);
  MORPHFIT_RETURN_IF_ERROR(ExpectShape(dy, {n, out}, op, "dy"));
  MORPHFIT_RETURN_IF_ERROR(internal::CheckGradTarget(dw, w, op, "dw"));
  if (db) MORPHFIT_RETURN_IF_ERROR(ExpectShape(*db, {out}, op, "db"));
  MORPHFIT_RETURN_IF_ERROR(internal::CheckSameDevice({&x, &w, &dy, dw, db}, op));
  MORPHFIT_ASSIGN_OR_RETURN(Tensor dx, internal::NewTensor(x.shape(), x.device()));
  if (x.device() == Device::kCuda) {
#if defined(MORPHFIT_NN_WITH_CUDA)
    MORPHFIT_RETURN_IF_ERROR(internal::FromCuda(
        nn_cuda::LinearBackward(n, in, out, x.device_data(), w.device_data(), dy.device_data(),
                                dx.device_data(), dw ? dw->device_data() : nullptr,
                                db ? db->device_data() : nullptr), op));
#endif
    return dx;
  }
  cpu::LinearBackward<float>(n, in, out, x.data(), w.data(), dy.data(), dx.data(),
                             dw ? dw->data() : nullptr, db ? db->data() : nullptr);
  return dx;
}

}  // namespace morphfit::nn
