// Layers with parameters: Conv2d, ConvTranspose2d, BatchNorm2d, Linear.
#include <cmath>

#include "morphfit/core/rng.h"
#include "morphfit/nn/layers.h"

namespace morphfit::nn {
namespace {

// Kaiming-normal: N(0, 2 / fan_in), drawn from RngFor(seed, 0, stream).
Parameter KaimingNormal(const Shape& shape, int64_t fan_in, uint64_t seed, uint64_t stream) {
  Parameter p{Tensor(shape), Tensor(shape), true};
  Rng rng = RngFor(seed, 0, stream);
  const double stddev = std::sqrt(2.0 / static_cast<double>(fan_in > 0 ? fan_in : 1));
  for (int64_t i = 0; i < p.value.size(); ++i) p.value.data()[i] = static_cast<float>(rng.Normal() * stddev);
  return p;
}

Parameter Constant(const Shape& shape, float value, bool trainable) {
  return Parameter{Tensor::Full(shape, value), trainable ? Tensor(shape) : Tensor(), trainable};
}

Status NeedForward(const Tensor& cached, const std::string& layer) {
  if (!cached.defined()) {
    return FailedPreconditionError(layer + ": Backward without a training-mode Forward");
  }
  return OkStatus();
}

std::string Int(int64_t v) { return std::to_string(v); }

// A zero tensor shaped and placed like `like`.
StatusOr<Tensor> ZerosLike(const Tensor& like) { return Tensor::Zeros(like.shape(), like.device()); }

}  // namespace

Conv2dLayer::Conv2dLayer(int64_t c_in, int64_t c_out, int64_t kernel, Conv2dOptions options,
                         bool bias, uint64_t seed)
    : options_(options), has_bias_(bias) {
  const int64_t groups = options.groups > 0 ? options.groups : 1;
  weight_ = KaimingNormal({c_out, c_in / groups, kernel, kernel}, c_in / groups * kernel * kernel,
                          seed, 0);
  if (bias) bias_ = Constant({c_out}, 0.0f, true);
}

StatusOr<Tensor> Conv2dLayer::Forward(const Tensor& x) {
  if (training_) x_ = x;
  return Conv2d(x, weight_.value, has_bias_ ? &bias_.value : nullptr, options_);
}

StatusOr<Tensor> Conv2dLayer::Backward(const Tensor& dy) {
  MORPHFIT_RETURN_IF_ERROR(NeedForward(x_, "conv2d"));
  return Conv2dBackward(x_, weight_.value, dy, options_, &weight_.grad,
                        has_bias_ ? &bias_.grad : nullptr);
}

StatusOr<Shape> Conv2dLayer::OutputShape(const Shape& x) const {
  MORPHFIT_ASSIGN_OR_RETURN(const Conv2dGeometry g,
                            MakeConv2dGeometry(x, weight_.value.shape(), options_, "conv2d"));
  return Shape{g.n, g.c_out, g.out_h, g.out_w};
}

int64_t Conv2dLayer::ForwardFlops(const Shape& x) const {
  StatusOr<Conv2dGeometry> g = MakeConv2dGeometry(x, weight_.value.shape(), options_, "conv2d");
  if (!g.ok()) return 0;
  return 2 * g->n * g->c_out * g->out_h * g->out_w * g->col_rows();
}

std::string Conv2dLayer::Describe() const {
  const Shape& w = weight_.value.shape();
  return "conv2d(" + Int(w[1] * options_.groups) + "->" + Int(w[0]) + ",k" + Int(w[2]) + "x" +
         Int(w[3]) + ",s" + Int(options_.stride) + ",p" + Int(options_.pad) + ",d" +
         Int(options_.dilation) + ",g" + Int(options_.groups) + ",bias=" + Int(has_bias_) + ")";
}

void Conv2dLayer::CollectParameters(const std::string& prefix, std::vector<NamedParameter>* out) {
  out->push_back({prefix + "weight", &weight_});
  if (has_bias_) out->push_back({prefix + "bias", &bias_});
}

ConvTranspose2dLayer::ConvTranspose2dLayer(int64_t c_in, int64_t c_out, int64_t kernel,
                                           ConvTranspose2dOptions options, bool bias,
                                           uint64_t seed)
    : options_(options), has_bias_(bias) {
  const int64_t groups = options.groups > 0 ? options.groups : 1;
  weight_ = KaimingNormal({c_in, c_out / groups, kernel, kernel}, c_in / groups * kernel * kernel,
                          seed, 0);
  if (bias) bias_ = Constant({c_out}, 0.0f, true);
}

StatusOr<Tensor> ConvTranspose2dLayer::Forward(const Tensor& x) {
  if (training_) x_ = x;
  return ConvTranspose2d(x, weight_.value, has_bias_ ? &bias_.value : nullptr, options_);
}

StatusOr<Tensor> ConvTranspose2dLayer::Backward(const Tensor& dy) {
  MORPHFIT_RETURN_IF_ERROR(NeedForward(x_, "conv_transpose2d"));
  return ConvTranspose2dBackward(x_, weight_.value, dy, options_, &weight_.grad,
                                 has_bias_ ? &bias_.grad : nullptr);
}

StatusOr<Shape> ConvTranspose2dLayer::OutputShape(const Shape& x) const {
  MORPHFIT_ASSIGN_OR_RETURN(const Conv2dGeometry g,
                            MakeConvTranspose2dGeometry(x, weight_.value.shape(), options_));
  return Shape{g.n, g.c_in, g.h, g.w};
}

int64_t ConvTranspose2dLayer::ForwardFlops(const Shape& x) const {
  StatusOr<Conv2dGeometry> g = MakeConvTranspose2dGeometry(x, weight_.value.shape(), options_);
  if (!g.ok()) return 0;
  return 2 * g->n * g->c_out * g->out_h * g->out_w * g->col_rows();
}

std::string ConvTranspose2dLayer::Describe() const {
  const Shape& w = weight_.value.shape();
  return "conv_transpose2d(" + Int(w[0]) + "->" + Int(w[1] * options_.groups) + ",k" + Int(w[2]) +
         "x" + Int(w[3]) + ",s" + Int(options_.stride) + ",p" + Int(options_.pad) + ",op" +
         Int(options_.output_pad) + ",d" + Int(options_.dilation) + ",g" + Int(options_.groups) +
         ",bias=" + Int(has_bias_) + ")";
}

void ConvTranspose2dLayer::CollectParameters(const std::string& prefix,
                                             std::vector<NamedParameter>* out) {
  out->push_back({prefix + "weight", &weight_});
  if (has_bias_) out->push_back({prefix + "bias", &bias_});
}

BatchNorm2dLayer::BatchNorm2dLayer(int64_t channels, BatchNormOptions options)
    : channels_(channels), options_(options) {
  gamma_ = Constant({channels}, 1.0f, true);
  beta_ = Constant({channels}, 0.0f, true);
  running_mean_ = Constant({channels}, 0.0f, false);
  running_var_ = Constant({channels}, 1.0f, false);
}

StatusOr<Tensor> BatchNorm2dLayer::Forward(const Tensor& x) {
  cached_training_ = training_;
  if (!training_) {
    return BatchNorm2dEval(x, gamma_.value, beta_.value, running_mean_.value, running_var_.value,
                           options_);
  }
  x_ = x;
  MORPHFIT_ASSIGN_OR_RETURN(save_mean_, ZerosLike(gamma_.value));
  MORPHFIT_ASSIGN_OR_RETURN(save_inv_std_, ZerosLike(gamma_.value));
  return BatchNorm2dTrain(x, gamma_.value, beta_.value, options_, &running_mean_.value,
                          &running_var_.value, &save_mean_, &save_inv_std_);
}

StatusOr<Tensor> BatchNorm2dLayer::Backward(const Tensor& dy) {
  MORPHFIT_RETURN_IF_ERROR(NeedForward(x_, "batch_norm"));
  if (!cached_training_) {
    return FailedPreconditionError("batch_norm: Backward after an evaluation-mode Forward");
  }
  return BatchNorm2dBackwardTrain(x_, gamma_.value, save_mean_, save_inv_std_, dy, &gamma_.grad,
                                  &beta_.grad);
}

StatusOr<Shape> BatchNorm2dLayer::OutputShape(const Shape& x) const {
  if ((x.size() != 4 && x.size() != 2) || x[1] != channels_) {
    return InvalidArgumentError("batch_norm: input must be [n, " + Int(channels_) +
                                ", h, w] or [n, " + Int(channels_) + "], got " + ShapeString(x));
  }
  return x;
}

std::string BatchNorm2dLayer::Describe() const { return "batch_norm(" + Int(channels_) + ")"; }

void BatchNorm2dLayer::CollectParameters(const std::string& prefix,
                                         std::vector<NamedParameter>* out) {
  out->push_back({prefix + "weight", &gamma_});
  out->push_back({prefix + "bias", &beta_});
  out->push_back({prefix + "running_mean", &running_mean_});
  out->push_back({prefix + "running_var", &running_var_});
}

LinearLayer::LinearLayer(int64_t in, int64_t out, bool bias, uint64_t seed) : has_bias_(bias) {
  weight_ = KaimingNormal({out, in}, in, seed, 0);
  if (bias) bias_ = Constant({out}, 0.0f, true);
}

StatusOr<Tensor> LinearLayer::Forward(const Tensor& x) {
  if (training_) x_ = x;
  return Linear(x, weight_.value, has_bias_ ? &bias_.value : nullptr);
}

StatusOr<Tensor> LinearLayer::Backward(const Tensor& dy) {
  MORPHFIT_RETURN_IF_ERROR(NeedForward(x_, "linear"));
  return LinearBackward(x_, weight_.value, dy, &weight_.grad, has_bias_ ? &bias_.grad : nullptr);
}

StatusOr<Shape> LinearLayer::OutputShape(const Shape& x) const {
  const Shape& w = weight_.value.shape();
  if (x.empty() || x[0] == 0 || NumElements(x) / x[0] != w[1]) {
    return InvalidArgumentError("linear: input " + ShapeString(x) + " must hold " + Int(w[1]) +
                                " features per item");
  }
  return Shape{x[0], w[0]};
}

int64_t LinearLayer::ForwardFlops(const Shape& x) const {
  return x.empty() ? 0 : 2 * x[0] * weight_.value.dim(0) * weight_.value.dim(1);
}

std::string LinearLayer::Describe() const {
  return "linear(" + Int(weight_.value.dim(1)) + "->" + Int(weight_.value.dim(0)) +
         ",bias=" + Int(has_bias_) + ")";
}

void LinearLayer::CollectParameters(const std::string& prefix, std::vector<NamedParameter>* out) {
  out->push_back({prefix + "weight", &weight_});
  if (has_bias_) out->push_back({prefix + "bias", &bias_});
}

}  // namespace morphfit::nn
