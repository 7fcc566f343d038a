// Structural ops: channel concat, upsampling, L2 normalisation over channels and dropout (mask +
// multiply). CPU kernels in nn/kernels/{elementwise,resample}.h; CUDA twins in
// cuda/nn/structural.cu (the dropout mask is drawn on the host and copied to the device).
#include "morphfit/core/rng.h"
#include "morphfit/nn/kernels/elementwise.h"
#include "morphfit/nn/kernels/resample.h"
#include "morphfit/nn/ops.h"
#include "src/nn/ops/op_util.h"
#if defined(MORPHFIT_NN_WITH_CUDA)
#include "nn/pointwise_cuda.h"
#include "nn/structural_cuda.h"
#endif

namespace morphfit::nn {
namespace {

constexpr uint64_t kDropoutStream = 0x6d61736b;  // "mask"

Status CheckScale(int64_t scale, const std::string& op) {
  if (scale < 1) return InvalidArgumentError(op + ": scale must be >= 1, got " + std::to_string(scale));
  return OkStatus();
}

// dy [n, c, h s, w s] -> the input shape [n, c, h, w].
StatusOr<Shape> DownscaledShape(const Tensor& dy, int64_t scale, const std::string& op) {
  MORPHFIT_RETURN_IF_ERROR(ExpectRank(dy, 4, op, "dy (NCHW)"));
  MORPHFIT_RETURN_IF_ERROR(CheckScale(scale, op));
  if (dy.dim(2) % scale != 0 || dy.dim(3) % scale != 0) {
    return InvalidArgumentError(op + ": dy " + dy.ShapeString() +
                                " is not a multiple of scale " + std::to_string(scale));
  }
  return Shape{dy.dim(0), dy.dim(1), dy.dim(2) / scale, dy.dim(3) / scale};
}

// Upsampling forward (backward = false: x is the input) or backward (x is dy).
StatusOr<Tensor> Upsample(bool bilinear, bool backward, const Tensor& x, int64_t scale) {
  const std::string op = std::string(bilinear ? "upsample_bilinear" : "upsample_nearest") +
                         (backward ? " backward" : "");
  Shape in_shape;  // [n, c, h, w] of the low-resolution side
  if (backward) {
    MORPHFIT_ASSIGN_OR_RETURN(in_shape, DownscaledShape(x, scale, op));
  } else {
    MORPHFIT_RETURN_IF_ERROR(ExpectRank(x, 4, op, "input (NCHW)"));
    MORPHFIT_RETURN_IF_ERROR(CheckScale(scale, op));
    in_shape = x.shape();
  }
  const int64_t planes = in_shape[0] * in_shape[1], h = in_shape[2], w = in_shape[3];
  const Shape out_shape = backward ? in_shape : Shape{in_shape[0], in_shape[1], h * scale, w * scale};
  MORPHFIT_ASSIGN_OR_RETURN(Tensor out, internal::NewTensor(out_shape, x.device()));
  if (x.device() == Device::kCuda) {
#if defined(MORPHFIT_NN_WITH_CUDA)
    const float* in = x.device_data();
    float* o = out.device_data();
    const std::string e =
        bilinear ? (backward ? nn_cuda::UpsampleBilinearBackward(planes, h, w, scale, in, o)
                             : nn_cuda::UpsampleBilinearForward(planes, h, w, scale, in, o))
                 : (backward ? nn_cuda::UpsampleNearestBackward(planes, h, w, scale, in, o)
                             : nn_cuda::UpsampleNearestForward(planes, h, w, scale, in, o));
    MORPHFIT_RETURN_IF_ERROR(internal::FromCuda(e, op));
#endif
    return out;
  }
  if (bilinear) {
    if (backward) reference::UpsampleBilinearBackward<float>(planes, h, w, scale, x.data(), out.data());
    else reference::UpsampleBilinearForward<float>(planes, h, w, scale, x.data(), out.data());
  } else {
    if (backward) reference::UpsampleNearestBackward<float>(planes, h, w, scale, x.data(), out.data());
    else reference::UpsampleNearestForward<float>(planes, h, w, scale, x.data(), out.data());
  }
  return out;
}

}  // namespace

StatusOr<Tensor> ConcatChannels(const Tensor& a, const Tensor& b) {
  MORPHFIT_RETURN_IF_ERROR(ExpectRank(a, 4, "concat", "a (NCHW)"));
  MORPHFIT_RETURN_IF_ERROR(ExpectRank(b, 4, "concat", "b (NCHW)"));
  MORPHFIT_RETURN_IF_ERROR(internal::CheckSameDevice({&a, &b}, "concat"));
  if (a.dim(0) != b.dim(0) || a.dim(2) != b.dim(2) || a.dim(3) != b.dim(3)) {
    return InvalidArgumentError("concat: a " + a.ShapeString() + " and b " + b.ShapeString() +
                                " must agree in n, h and w");
  }
  const int64_t n = a.dim(0), ca = a.dim(1), cb = b.dim(1), hw = a.dim(2) * a.dim(3);
  MORPHFIT_ASSIGN_OR_RETURN(Tensor y, internal::NewTensor({n, ca + cb, a.dim(2), a.dim(3)}, a.device()));
  if (a.device() == Device::kCuda) {
#if defined(MORPHFIT_NN_WITH_CUDA)
    MORPHFIT_RETURN_IF_ERROR(internal::FromCuda(
        nn_cuda::ConcatChannelsForward(n, ca, cb, hw, a.device_data(), b.device_data(),
                                       y.device_data()), "concat"));
#endif
    return y;
  }
  reference::ConcatChannelsForward<float>(n, ca, cb, hw, a.data(), b.data(), y.data());
  return y;
}

Status ConcatChannelsBackward(const Tensor& dy, int64_t c_a, Tensor* da, Tensor* db) {
  MORPHFIT_RETURN_IF_ERROR(ExpectRank(dy, 4, "concat backward", "dy (NCHW)"));
  if (c_a < 0 || c_a > dy.dim(1)) {
    return InvalidArgumentError("concat backward: c_a " + std::to_string(c_a) +
                                " outside the channels of dy " + dy.ShapeString());
  }
  const int64_t n = dy.dim(0), c_b = dy.dim(1) - c_a, hw = dy.dim(2) * dy.dim(3);
  MORPHFIT_ASSIGN_OR_RETURN(Tensor grad_a, internal::NewTensor({n, c_a, dy.dim(2), dy.dim(3)}, dy.device()));
  MORPHFIT_ASSIGN_OR_RETURN(Tensor grad_b, internal::NewTensor({n, c_b, dy.dim(2), dy.dim(3)}, dy.device()));
  if (dy.device() == Device::kCuda) {
#if defined(MORPHFIT_NN_WITH_CUDA)
    MORPHFIT_RETURN_IF_ERROR(internal::FromCuda(
        nn_cuda::ConcatChannelsBackward(n, c_a, c_b, hw, dy.device_data(), grad_a.device_data(),
                                        grad_b.device_data()), "concat backward"));
#endif
  } else {
    reference::ConcatChannelsBackward<float>(n, c_a, c_b, hw, dy.data(), grad_a.data(),
                                             grad_b.data());
  }
  if (da) *da = grad_a;
  if (db) *db = grad_b;
  return OkStatus();
}

StatusOr<Tensor> UpsampleNearest(const Tensor& x, int64_t scale) {
  return Upsample(false, false, x, scale);
}
StatusOr<Tensor> UpsampleNearestBackward(const Tensor& dy, int64_t scale) {
  return Upsample(false, true, dy, scale);
}
StatusOr<Tensor> UpsampleBilinear(const Tensor& x, int64_t scale) {
  return Upsample(true, false, x, scale);
}
StatusOr<Tensor> UpsampleBilinearBackward(const Tensor& dy, int64_t scale) {
  return Upsample(true, true, dy, scale);
}

StatusOr<Tensor> L2NormalizeChannels(const Tensor& x, double eps) {
  MORPHFIT_RETURN_IF_ERROR(ExpectRank(x, 4, "l2_normalize", "input (NCHW)"));
  const int64_t n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
  MORPHFIT_ASSIGN_OR_RETURN(Tensor y, internal::NewTensor(x.shape(), x.device()));
  if (x.device() == Device::kCuda) {
#if defined(MORPHFIT_NN_WITH_CUDA)
    MORPHFIT_RETURN_IF_ERROR(internal::FromCuda(
        nn_cuda::L2NormalizeChannelsForward(n, c, hw, eps, x.device_data(), y.device_data()),
        "l2_normalize"));
#endif
    return y;
  }
  reference::L2NormalizeChannelsForward<float>(n, c, hw, eps, x.data(), y.data());
  return y;
}

StatusOr<Tensor> L2NormalizeChannelsBackward(const Tensor& x, const Tensor& dy, double eps) {
  const std::string op = "l2_normalize backward";
  MORPHFIT_RETURN_IF_ERROR(ExpectRank(x, 4, op, "input (NCHW)"));
  MORPHFIT_RETURN_IF_ERROR(ExpectSameShape(x, dy, op, "x", "dy"));
  MORPHFIT_RETURN_IF_ERROR(internal::CheckSameDevice({&x, &dy}, op));
  const int64_t n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
  MORPHFIT_ASSIGN_OR_RETURN(Tensor dx, internal::NewTensor(x.shape(), x.device()));
  if (x.device() == Device::kCuda) {
#if defined(MORPHFIT_NN_WITH_CUDA)
    MORPHFIT_RETURN_IF_ERROR(internal::FromCuda(
        nn_cuda::L2NormalizeChannelsBackward(n, c, hw, eps, x.device_data(), dy.device_data(),
                                             dx.device_data()), op));
#endif
    return dx;
  }
  reference::L2NormalizeChannelsBackward<float>(n, c, hw, eps, x.data(), dy.data(), dx.data());
  return dx;
}

StatusOr<Tensor> DropoutMask(const Shape& shape, double p, uint64_t seed, uint64_t step) {
  MORPHFIT_RETURN_IF_ERROR(ValidateShape(shape, "dropout mask"));
  if (!(p >= 0.0 && p < 1.0)) {
    return InvalidArgumentError("dropout: probability must be in [0, 1), got " + std::to_string(p));
  }
  Tensor mask(shape);
  Rng rng = RngFor(seed, step, kDropoutStream);
  const float keep_scale = static_cast<float>(1.0 / (1.0 - p));
  float* m = mask.data();
  for (int64_t i = 0; i < mask.size(); ++i) m[i] = rng.Uniform() < p ? 0.0f : keep_scale;
  return mask;
}

StatusOr<Tensor> Multiply(const Tensor& x, const Tensor& mask) {
  MORPHFIT_RETURN_IF_ERROR(ExpectSameShape(x, mask, "multiply", "x", "mask"));
  MORPHFIT_RETURN_IF_ERROR(internal::CheckSameDevice({&x, &mask}, "multiply"));
  MORPHFIT_ASSIGN_OR_RETURN(Tensor y, internal::NewTensor(x.shape(), x.device()));
  if (x.device() == Device::kCuda) {
#if defined(MORPHFIT_NN_WITH_CUDA)
    MORPHFIT_RETURN_IF_ERROR(internal::FromCuda(
        nn_cuda::Multiply(x.size(), x.device_data(), mask.device_data(), y.device_data()),
        "multiply"));
#endif
    return y;
  }
  reference::MultiplyForward<float>(x.size(), x.data(), mask.data(), y.data());
  return y;
}

}  // namespace morphfit::nn
