// Parameter-free layers: activations, pooling, flatten, dropout, upsampling, L2 normalisation.
#include "morphfit/nn/layers.h"

namespace morphfit::nn {
namespace {

Status NeedForward(bool cached, const std::string& layer) {
  if (!cached) return FailedPreconditionError(layer + ": Backward without a training-mode Forward");
  return OkStatus();
}

}  // namespace

StatusOr<Tensor> ActivationLayer::Forward(const Tensor& x) {
  MORPHFIT_ASSIGN_OR_RETURN(Tensor y, Activate(a_, x, slope_));
  if (training_) x_ = x, y_ = y;
  return y;
}

StatusOr<Tensor> ActivationLayer::Backward(const Tensor& dy) {
  MORPHFIT_RETURN_IF_ERROR(NeedForward(x_.defined(), ActivationName(a_)));
  return ActivateBackward(a_, x_, y_, dy, slope_);
}

std::string ActivationLayer::Describe() const {
  return a_ == Activation::kLeakyRelu ? "leaky_relu(" + std::to_string(slope_) + ")"
                                      : ActivationName(a_);
}

StatusOr<Tensor> Pool2dLayer::Forward(const Tensor& x) {
  if (training_) x_ = x;
  return kind_ == PoolKind::kMax ? MaxPool2d(x, options_) : AvgPool2d(x, options_);
}

StatusOr<Tensor> Pool2dLayer::Backward(const Tensor& dy) {
  MORPHFIT_RETURN_IF_ERROR(NeedForward(x_.defined(), "pool2d"));
  return kind_ == PoolKind::kMax ? MaxPool2dBackward(x_, dy, options_)
                                 : AvgPool2dBackward(x_.shape(), dy, options_);
}

StatusOr<Shape> Pool2dLayer::OutputShape(const Shape& x) const {
  MORPHFIT_ASSIGN_OR_RETURN(const Pool2dGeometry g, MakePool2dGeometry(x, options_, "pool2d"));
  return Shape{g.n, g.c, g.out_h, g.out_w};
}

int64_t Pool2dLayer::ForwardFlops(const Shape& x) const {
  StatusOr<Shape> out = OutputShape(x);
  return out.ok() ? NumElements(*out) * options_.kernel * options_.kernel : 0;
}

std::string Pool2dLayer::Describe() const {
  return std::string(kind_ == PoolKind::kMax ? "max_pool(" : "avg_pool(") + "k" +
         std::to_string(options_.kernel) + ",s" + std::to_string(options_.stride) + ",p" +
         std::to_string(options_.pad) + ")";
}

StatusOr<Tensor> GlobalAvgPoolLayer::Forward(const Tensor& x) {
  MORPHFIT_ASSIGN_OR_RETURN(Tensor y, GlobalAvgPool(x));
  x_shape_ = x.shape();
  return y.Reshape({x.dim(0), x.dim(1)});
}

StatusOr<Tensor> GlobalAvgPoolLayer::Backward(const Tensor& dy) {
  MORPHFIT_RETURN_IF_ERROR(NeedForward(!x_shape_.empty(), "global_avg_pool"));
  MORPHFIT_ASSIGN_OR_RETURN(Tensor dy4, dy.Reshape({x_shape_[0], x_shape_[1], 1, 1}));
  return GlobalAvgPoolBackward(x_shape_, dy4);
}

StatusOr<Shape> GlobalAvgPoolLayer::OutputShape(const Shape& x) const {
  if (x.size() != 4) return InvalidArgumentError("global_avg_pool: input must be 4-D, got " + ShapeString(x));
  return Shape{x[0], x[1]};
}

StatusOr<Tensor> FlattenLayer::Forward(const Tensor& x) {
  MORPHFIT_ASSIGN_OR_RETURN(const Shape out, OutputShape(x.shape()));
  x_shape_ = x.shape();
  return x.Reshape(out);
}

StatusOr<Tensor> FlattenLayer::Backward(const Tensor& dy) {
  MORPHFIT_RETURN_IF_ERROR(NeedForward(!x_shape_.empty(), "flatten"));
  return dy.Reshape(x_shape_);
}

StatusOr<Shape> FlattenLayer::OutputShape(const Shape& x) const {
  if (x.empty() || x[0] == 0) return InvalidArgumentError("flatten: need [n, ...], got " + ShapeString(x));
  return Shape{x[0], NumElements(x) / x[0]};
}

StatusOr<Tensor> DropoutLayer::Forward(const Tensor& x) {
  if (!training_ || p_ == 0.0) {
    mask_ = Tensor();
    return x;
  }
  MORPHFIT_ASSIGN_OR_RETURN(mask_, DropoutMask(x.shape(), p_, seed_, step_++));
  if (x.device() == Device::kCuda) {
    MORPHFIT_ASSIGN_OR_RETURN(mask_, mask_.ToDevice());
  }
  return Multiply(x, mask_);
}

StatusOr<Tensor> DropoutLayer::Backward(const Tensor& dy) {
  if (!training_ || p_ == 0.0) return dy;
  MORPHFIT_RETURN_IF_ERROR(NeedForward(mask_.defined(), "dropout"));
  return Multiply(dy, mask_);
}

std::string DropoutLayer::Describe() const { return "dropout(" + std::to_string(p_) + ")"; }

StatusOr<Tensor> UpsampleLayer::Forward(const Tensor& x) {
  return bilinear_ ? UpsampleBilinear(x, scale_) : UpsampleNearest(x, scale_);
}

StatusOr<Tensor> UpsampleLayer::Backward(const Tensor& dy) {
  return bilinear_ ? UpsampleBilinearBackward(dy, scale_) : UpsampleNearestBackward(dy, scale_);
}

StatusOr<Shape> UpsampleLayer::OutputShape(const Shape& x) const {
  if (x.size() != 4 || scale_ < 1) {
    return InvalidArgumentError("upsample: need a 4-D input and scale >= 1, got " + ShapeString(x));
  }
  return Shape{x[0], x[1], x[2] * scale_, x[3] * scale_};
}

std::string UpsampleLayer::Describe() const {
  return std::string(bilinear_ ? "upsample_bilinear(" : "upsample_nearest(") +
         std::to_string(scale_) + ")";
}

StatusOr<Tensor> L2NormalizeLayer::Forward(const Tensor& x) {
  if (training_) x_ = x;
  return L2NormalizeChannels(x);
}

StatusOr<Tensor> L2NormalizeLayer::Backward(const Tensor& dy) {
  MORPHFIT_RETURN_IF_ERROR(NeedForward(x_.defined(), "l2_normalize"));
  return L2NormalizeChannelsBackward(x_, dy);
}

}  // namespace morphfit::nn
