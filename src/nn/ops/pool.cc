// Max, average and global average pooling: shape checks and dispatch (CPU: nn/kernels/pool.h;
// CUDA: cuda/nn/pointwise.cu).
#include <vector>

#include "morphfit/nn/kernels/pool.h"
#include "morphfit/nn/ops.h"
#include "src/nn/ops/op_util.h"
#if defined(MORPHFIT_NN_WITH_CUDA)
#include "nn/pointwise_cuda.h"
#endif

namespace morphfit::nn {

StatusOr<Pool2dGeometry> MakePool2dGeometry(const Shape& x, const Pool2dOptions& o,
                                            const std::string& op) {
  if (x.size() != 4) return InvalidArgumentError(op + ": input must be 4-D NCHW, got " + ShapeString(x));
  if (o.kernel < 1 || o.stride < 1 || o.pad < 0 || o.pad >= o.kernel) {
    return InvalidArgumentError(op + ": need kernel >= 1, stride >= 1 and 0 <= pad < kernel, got "
                                "kernel " + std::to_string(o.kernel) + ", stride " +
                                std::to_string(o.stride) + ", pad " + std::to_string(o.pad));
  }
  Pool2dGeometry g;
  g.n = x[0], g.c = x[1], g.h = x[2], g.w = x[3];
  g.kernel = o.kernel, g.stride = o.stride, g.pad = o.pad;
  g.out_h = ConvOutputSize(g.h, g.kernel, g.stride, g.pad, 1);
  g.out_w = ConvOutputSize(g.w, g.kernel, g.stride, g.pad, 1);
  if (g.out_h < 1 || g.out_w < 1) {
    return InvalidArgumentError(op + ": window " + std::to_string(o.kernel) +
                                " does not fit input " + ShapeString(x));
  }
  return g;
}

StatusOr<Tensor> MaxPool2d(const Tensor& x, const Pool2dOptions& options) {
  MORPHFIT_ASSIGN_OR_RETURN(const Pool2dGeometry g, MakePool2dGeometry(x.shape(), options, "max_pool2d"));
  MORPHFIT_ASSIGN_OR_RETURN(Tensor y, internal::NewTensor({g.n, g.c, g.out_h, g.out_w}, x.device()));
  if (x.device() == Device::kCuda) {
#if defined(MORPHFIT_NN_WITH_CUDA)
    MORPHFIT_RETURN_IF_ERROR(internal::FromCuda(
        nn_cuda::MaxPool2dForward(g, x.device_data(), y.device_data()), "max_pool2d"));
#endif
    return y;
  }
  std::vector<int32_t> argmax(static_cast<size_t>(y.size()));
  reference::MaxPool2dForward<float>(g, x.data(), y.data(), argmax.data());
  return y;
}

StatusOr<Tensor> MaxPool2dBackward(const Tensor& x, const Tensor& dy, const Pool2dOptions& options) {
  const std::string op = "max_pool2d backward";
  MORPHFIT_ASSIGN_OR_RETURN(const Pool2dGeometry g, MakePool2dGeometry(x.shape(), options, op));
  MORPHFIT_RETURN_IF_ERROR(ExpectShape(dy, {g.n, g.c, g.out_h, g.out_w}, op, "dy"));
  MORPHFIT_RETURN_IF_ERROR(internal::CheckSameDevice({&x, &dy}, op));
  MORPHFIT_ASSIGN_OR_RETURN(Tensor dx, internal::NewTensor(x.shape(), x.device()));
  if (x.device() == Device::kCuda) {
#if defined(MORPHFIT_NN_WITH_CUDA)
    MORPHFIT_RETURN_IF_ERROR(internal::FromCuda(
        nn_cuda::MaxPool2dBackward(g, x.device_data(), dy.device_data(), dx.device_data()), op));
#endif
    return dx;
  }
  std::vector<float> y(static_cast<size_t>(dy.size()));
  std::vector<int32_t> argmax(y.size());
  reference::MaxPool2dForward<float>(g, x.data(), y.data(), argmax.data());
  reference::MaxPool2dBackward<float>(g, argmax.data(), dy.data(), dx.data());
  return dx;
}

StatusOr<Tensor> AvgPool2d(const Tensor& x, const Pool2dOptions& options) {
  MORPHFIT_ASSIGN_OR_RETURN(const Pool2dGeometry g, MakePool2dGeometry(x.shape(), options, "avg_pool2d"));
  MORPHFIT_ASSIGN_OR_RETURN(Tensor y, internal::NewTensor({g.n, g.c, g.out_h, g.out_w}, x.device()));
  if (x.device() == Device::kCuda) {
#if defined(MORPHFIT_NN_WITH_CUDA)
    MORPHFIT_RETURN_IF_ERROR(internal::FromCuda(
        nn_cuda::AvgPool2dForward(g, x.device_data(), y.device_data()), "avg_pool2d"));
#endif
    return y;
  }
  reference::AvgPool2dForward<float>(g, x.data(), y.data());
  return y;
}

StatusOr<Tensor> AvgPool2dBackward(const Shape& x_shape, const Tensor& dy,
                                   const Pool2dOptions& options) {
  const std::string op = "avg_pool2d backward";
  MORPHFIT_ASSIGN_OR_RETURN(const Pool2dGeometry g, MakePool2dGeometry(x_shape, options, op));
  MORPHFIT_RETURN_IF_ERROR(ExpectShape(dy, {g.n, g.c, g.out_h, g.out_w}, op, "dy"));
  MORPHFIT_ASSIGN_OR_RETURN(Tensor dx, internal::NewTensor(x_shape, dy.device()));
  if (dy.device() == Device::kCuda) {
#if defined(MORPHFIT_NN_WITH_CUDA)
    MORPHFIT_RETURN_IF_ERROR(internal::FromCuda(
        nn_cuda::AvgPool2dBackward(g, dy.device_data(), dx.device_data()), op));
#endif
    return dx;
  }
  reference::AvgPool2dBackward<float>(g, dy.data(), dx.data());
  return dx;
}

StatusOr<Tensor> GlobalAvgPool(const Tensor& x) {
  MORPHFIT_RETURN_IF_ERROR(ExpectRank(x, 4, "global_avg_pool", "input"));
  const int64_t n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
  if (hw < 1) return InvalidArgumentError("global_avg_pool: empty image " + x.ShapeString());
  MORPHFIT_ASSIGN_OR_RETURN(Tensor y, internal::NewTensor({n, c, 1, 1}, x.device()));
  if (x.device() == Device::kCuda) {
#if defined(MORPHFIT_NN_WITH_CUDA)
    MORPHFIT_RETURN_IF_ERROR(internal::FromCuda(
        nn_cuda::GlobalAvgPoolForward(n, c, hw, x.device_data(), y.device_data()),
        "global_avg_pool"));
#endif
    return y;
  }
  reference::GlobalAvgPoolForward<float>(n, c, hw, x.data(), y.data());
  return y;
}

StatusOr<Tensor> GlobalAvgPoolBackward(const Shape& x_shape, const Tensor& dy) {
  const std::string op = "global_avg_pool backward";
  if (x_shape.size() != 4) return InvalidArgumentError(op + ": input must be 4-D, got " + ShapeString(x_shape));
  const int64_t n = x_shape[0], c = x_shape[1], hw = x_shape[2] * x_shape[3];
  MORPHFIT_RETURN_IF_ERROR(ExpectShape(dy, {n, c, 1, 1}, op, "dy"));
  MORPHFIT_ASSIGN_OR_RETURN(Tensor dx, internal::NewTensor(x_shape, dy.device()));
  if (dy.device() == Device::kCuda) {
#if defined(MORPHFIT_NN_WITH_CUDA)
    MORPHFIT_RETURN_IF_ERROR(internal::FromCuda(
        nn_cuda::GlobalAvgPoolBackward(n, c, hw, dy.device_data(), dx.device_data()), op));
#endif
    return dx;
  }
  reference::GlobalAvgPoolBackward<float>(n, c, hw, dy.data(), dx.data());
  return dx;
}

}  // namespace morphfit::nn
