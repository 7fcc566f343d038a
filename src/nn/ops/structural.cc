// CPU-only structural ops: channel concat, upsampling, L2 normalisation over channels and
// dropout (mask + multiply). Kernels in nn/kernels/{elementwise,resample}.h.
#include "morphfit/core/rng.h"
#include "morphfit/nn/kernels/elementwise.h"
#include "morphfit/nn/kernels/resample.h"
#include "morphfit/nn/ops.h"
#include "src/nn/ops/op_util.h"

namespace morphfit::nn {
namespace {

constexpr uint64_t kDropoutStream = 0x6d61736b;  // "mask"

Status CheckImage(const Tensor& x, const std::string& op, const std::string& arg) {
  MORPHFIT_RETURN_IF_ERROR(internal::CpuOnly(x, op));
  return ExpectRank(x, 4, op, arg + " (NCHW)");
}

Status CheckScale(int64_t scale, const std::string& op) {
  if (scale < 1) return InvalidArgumentError(op + ": scale must be >= 1, got " + std::to_string(scale));
  return OkStatus();
}

// dy [n, c, h s, w s] -> the input shape [n, c, h, w].
StatusOr<Shape> DownscaledShape(const Tensor& dy, int64_t scale, const std::string& op) {
  MORPHFIT_RETURN_IF_ERROR(CheckImage(dy, op, "dy"));
  MORPHFIT_RETURN_IF_ERROR(CheckScale(scale, op));
  if (dy.dim(2) % scale != 0 || dy.dim(3) % scale != 0) {
    return InvalidArgumentError(op + ": dy " + dy.ShapeString() +
                                " is not a multiple of scale " + std::to_string(scale));
  }
  return Shape{dy.dim(0), dy.dim(1), dy.dim(2) / scale, dy.dim(3) / scale};
}

}  // namespace

StatusOr<Tensor> ConcatChannels(const Tensor& a, const Tensor& b) {
  MORPHFIT_RETURN_IF_ERROR(CheckImage(a, "concat", "a"));
  MORPHFIT_RETURN_IF_ERROR(CheckImage(b, "concat", "b"));
  if (a.dim(0) != b.dim(0) || a.dim(2) != b.dim(2) || a.dim(3) != b.dim(3)) {
    return InvalidArgumentError("concat: a " + a.ShapeString() + " and b " + b.ShapeString() +
                                " must agree in n, h and w");
  }
  Tensor y(Shape{a.dim(0), a.dim(1) + b.dim(1), a.dim(2), a.dim(3)});
  reference::ConcatChannelsForward<float>(a.dim(0), a.dim(1), b.dim(1), a.dim(2) * a.dim(3),
                                          a.data(), b.data(), y.data());
  return y;
}

Status ConcatChannelsBackward(const Tensor& dy, int64_t c_a, Tensor* da, Tensor* db) {
  MORPHFIT_RETURN_IF_ERROR(CheckImage(dy, "concat backward", "dy"));
  if (c_a < 0 || c_a > dy.dim(1)) {
    return InvalidArgumentError("concat backward: c_a " + std::to_string(c_a) +
                                " outside the channels of dy " + dy.ShapeString());
  }
  const int64_t n = dy.dim(0), c_b = dy.dim(1) - c_a, hw = dy.dim(2) * dy.dim(3);
  Tensor grad_a(Shape{n, c_a, dy.dim(2), dy.dim(3)}), grad_b(Shape{n, c_b, dy.dim(2), dy.dim(3)});
  reference::ConcatChannelsBackward<float>(n, c_a, c_b, hw, dy.data(), grad_a.data(),
                                           grad_b.data());
  if (da) *da = grad_a;
  if (db) *db = grad_b;
  return OkStatus();
}

StatusOr<Tensor> UpsampleNearest(const Tensor& x, int64_t scale) {
  MORPHFIT_RETURN_IF_ERROR(CheckImage(x, "upsample_nearest", "input"));
  MORPHFIT_RETURN_IF_ERROR(CheckScale(scale, "upsample_nearest"));
  Tensor y(Shape{x.dim(0), x.dim(1), x.dim(2) * scale, x.dim(3) * scale});
  reference::UpsampleNearestForward<float>(x.dim(0) * x.dim(1), x.dim(2), x.dim(3), scale,
                                           x.data(), y.data());
  return y;
}

StatusOr<Tensor> UpsampleNearestBackward(const Tensor& dy, int64_t scale) {
  MORPHFIT_ASSIGN_OR_RETURN(const Shape shape, DownscaledShape(dy, scale, "upsample_nearest backward"));
  Tensor dx(shape);
  reference::UpsampleNearestBackward<float>(shape[0] * shape[1], shape[2], shape[3], scale,
                                            dy.data(), dx.data());
  return dx;
}

StatusOr<Tensor> UpsampleBilinear(const Tensor& x, int64_t scale) {
  MORPHFIT_RETURN_IF_ERROR(CheckImage(x, "upsample_bilinear", "input"));
  MORPHFIT_RETURN_IF_ERROR(CheckScale(scale, "upsample_bilinear"));
  Tensor y(Shape{x.dim(0), x.dim(1), x.dim(2) * scale, x.dim(3) * scale});
  reference::UpsampleBilinearForward<float>(x.dim(0) * x.dim(1), x.dim(2), x.dim(3), scale,
                                            x.data(), y.data());
  return y;
}

StatusOr<Tensor> UpsampleBilinearBackward(const Tensor& dy, int64_t scale) {
  MORPHFIT_ASSIGN_OR_RETURN(const Shape shape, DownscaledShape(dy, scale, "upsample_bilinear backward"));
  Tensor dx(shape);
  reference::UpsampleBilinearBackward<float>(shape[0] * shape[1], shape[2], shape[3], scale,
                                             dy.data(), dx.data());
  return dx;
}

StatusOr<Tensor> L2NormalizeChannels(const Tensor& x, double eps) {
  MORPHFIT_RETURN_IF_ERROR(CheckImage(x, "l2_normalize", "input"));
  Tensor y(x.shape());
  reference::L2NormalizeChannelsForward<float>(x.dim(0), x.dim(1), x.dim(2) * x.dim(3), eps,
                                               x.data(), y.data());
  return y;
}

StatusOr<Tensor> L2NormalizeChannelsBackward(const Tensor& x, const Tensor& dy, double eps) {
  MORPHFIT_RETURN_IF_ERROR(CheckImage(x, "l2_normalize backward", "input"));
  MORPHFIT_RETURN_IF_ERROR(ExpectSameShape(x, dy, "l2_normalize backward", "x", "dy"));
  MORPHFIT_RETURN_IF_ERROR(internal::CpuOnly(dy, "l2_normalize backward"));
  Tensor dx(x.shape());
  reference::L2NormalizeChannelsBackward<float>(x.dim(0), x.dim(1), x.dim(2) * x.dim(3), eps,
                                                x.data(), dy.data(), dx.data());
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
  MORPHFIT_RETURN_IF_ERROR(internal::CpuOnly(x, "multiply"));
  MORPHFIT_RETURN_IF_ERROR(internal::CpuOnly(mask, "multiply"));
  MORPHFIT_RETURN_IF_ERROR(ExpectSameShape(x, mask, "multiply", "x", "mask"));
  Tensor y(x.shape());
  reference::MultiplyForward<float>(x.size(), x.data(), mask.data(), y.data());
  return y;
}

}  // namespace morphfit::nn
