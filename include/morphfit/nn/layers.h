// Layers: modules wrapping one op each (nn/ops.h), with parameter initialisation from a seed
// (Kaiming-normal for weights, via RngFor(seed, parameter index): reproducible everywhere).
// Parameter names: "weight", "bias"; batch norm adds buffers "running_mean", "running_var".
#ifndef MORPHFIT_NN_LAYERS_H_
#define MORPHFIT_NN_LAYERS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "morphfit/nn/module.h"
#include "morphfit/nn/ops.h"

namespace morphfit::nn {

// weight [c_out, c_in / groups, k, k], bias [c_out] (optional).
class Conv2dLayer : public Module {
 public:
  Conv2dLayer(int64_t c_in, int64_t c_out, int64_t kernel, Conv2dOptions options, bool bias,
              uint64_t seed);
  StatusOr<Tensor> Forward(const Tensor& x) override;
  StatusOr<Tensor> Backward(const Tensor& dy) override;
  StatusOr<Shape> OutputShape(const Shape& x) const override;
  int64_t ForwardFlops(const Shape& x) const override;
  std::string Describe() const override;
  void CollectParameters(const std::string& prefix, std::vector<NamedParameter>* out) override;
  const Conv2dOptions& options() const { return options_; }

 private:
  Conv2dOptions options_;
  bool has_bias_;
  Parameter weight_, bias_;
  Tensor x_;
};

// weight [c_in, c_out / groups, k, k], bias [c_out] (optional): the decoder's upsampling conv.
class ConvTranspose2dLayer : public Module {
 public:
  ConvTranspose2dLayer(int64_t c_in, int64_t c_out, int64_t kernel,
                       ConvTranspose2dOptions options, bool bias, uint64_t seed);
  StatusOr<Tensor> Forward(const Tensor& x) override;
  StatusOr<Tensor> Backward(const Tensor& dy) override;
  StatusOr<Shape> OutputShape(const Shape& x) const override;
  int64_t ForwardFlops(const Shape& x) const override;
  std::string Describe() const override;
  void CollectParameters(const std::string& prefix, std::vector<NamedParameter>* out) override;

 private:
  ConvTranspose2dOptions options_;
  bool has_bias_;
  Parameter weight_, bias_;
  Tensor x_;
};

// gamma ("weight") = 1, beta ("bias") = 0, running mean 0 and variance 1 at construction.
class BatchNorm2dLayer : public Module {
 public:
  explicit BatchNorm2dLayer(int64_t channels, BatchNormOptions options = {});
  const BatchNormOptions& options() const { return options_; }
  StatusOr<Tensor> Forward(const Tensor& x) override;
  StatusOr<Tensor> Backward(const Tensor& dy) override;
  StatusOr<Shape> OutputShape(const Shape& x) const override;
  int64_t ForwardFlops(const Shape& x) const override { return 2 * NumElements(x); }
  std::string Describe() const override;
  void CollectParameters(const std::string& prefix, std::vector<NamedParameter>* out) override;

 private:
  int64_t channels_;
  BatchNormOptions options_;
  Parameter gamma_, beta_, running_mean_, running_var_;
  Tensor x_, save_mean_, save_inv_std_;
  bool cached_training_ = true;  // the mode of the cached forward
};

// weight [out, in], bias [out]; input [n, ...] is flattened to [n, in].
class LinearLayer : public Module {
 public:
  LinearLayer(int64_t in, int64_t out, bool bias, uint64_t seed);
  StatusOr<Tensor> Forward(const Tensor& x) override;
  StatusOr<Tensor> Backward(const Tensor& dy) override;
  StatusOr<Shape> OutputShape(const Shape& x) const override;
  int64_t ForwardFlops(const Shape& x) const override;
  std::string Describe() const override;
  void CollectParameters(const std::string& prefix, std::vector<NamedParameter>* out) override;

 private:
  bool has_bias_;
  Parameter weight_, bias_;
  Tensor x_;
};

class ActivationLayer : public Module {
 public:
  explicit ActivationLayer(Activation a, float slope = 0.01f) : a_(a), slope_(slope) {}
  Activation activation() const { return a_; }
  float slope() const { return slope_; }
  StatusOr<Tensor> Forward(const Tensor& x) override;
  StatusOr<Tensor> Backward(const Tensor& dy) override;
  StatusOr<Shape> OutputShape(const Shape& x) const override { return x; }
  int64_t ForwardFlops(const Shape& x) const override { return NumElements(x); }
  std::string Describe() const override;

 private:
  Activation a_;
  float slope_;
  Tensor x_, y_;
};

enum class PoolKind { kMax, kAverage };
class Pool2dLayer : public Module {
 public:
  Pool2dLayer(PoolKind kind, Pool2dOptions options) : kind_(kind), options_(options) {}
  PoolKind kind() const { return kind_; }
  const Pool2dOptions& options() const { return options_; }
  StatusOr<Tensor> Forward(const Tensor& x) override;
  StatusOr<Tensor> Backward(const Tensor& dy) override;
  StatusOr<Shape> OutputShape(const Shape& x) const override;
  int64_t ForwardFlops(const Shape& x) const override;
  std::string Describe() const override;

 private:
  PoolKind kind_;
  Pool2dOptions options_;
  Tensor x_;
};

// [n, c, h, w] -> [n, c] (global average pooling followed by a flatten).
class GlobalAvgPoolLayer : public Module {
 public:
  StatusOr<Tensor> Forward(const Tensor& x) override;
  StatusOr<Tensor> Backward(const Tensor& dy) override;
  StatusOr<Shape> OutputShape(const Shape& x) const override;
  int64_t ForwardFlops(const Shape& x) const override { return NumElements(x); }
  std::string Describe() const override { return "global_avg_pool"; }

 private:
  Shape x_shape_;
};

// [n, ...] -> [n, product of the rest] (a view).
class FlattenLayer : public Module {
 public:
  StatusOr<Tensor> Forward(const Tensor& x) override;
  StatusOr<Tensor> Backward(const Tensor& dy) override;
  StatusOr<Shape> OutputShape(const Shape& x) const override;
  std::string Describe() const override { return "flatten"; }

 private:
  Shape x_shape_;
};

// Inverted dropout with probability p; the mask for the k-th training Forward is
// DropoutMask(shape, p, seed, k). Identity in evaluation mode.
class DropoutLayer : public Module {
 public:
  DropoutLayer(double p, uint64_t seed) : p_(p), seed_(seed) {}
  StatusOr<Tensor> Forward(const Tensor& x) override;
  StatusOr<Tensor> Backward(const Tensor& dy) override;
  StatusOr<Shape> OutputShape(const Shape& x) const override { return x; }
  std::string Describe() const override;

 private:
  double p_;
  uint64_t seed_;
  uint64_t step_ = 0;
  Tensor mask_;
};

class UpsampleLayer : public Module {
 public:
  UpsampleLayer(int64_t scale, bool bilinear) : scale_(scale), bilinear_(bilinear) {}
  StatusOr<Tensor> Forward(const Tensor& x) override;
  StatusOr<Tensor> Backward(const Tensor& dy) override;
  StatusOr<Shape> OutputShape(const Shape& x) const override;
  std::string Describe() const override;

 private:
  int64_t scale_;
  bool bilinear_;
};

// Unit vectors over channels (normal-map heads).
class L2NormalizeLayer : public Module {
 public:
  StatusOr<Tensor> Forward(const Tensor& x) override;
  StatusOr<Tensor> Backward(const Tensor& dy) override;
  StatusOr<Shape> OutputShape(const Shape& x) const override { return x; }
  std::string Describe() const override { return "l2_normalize"; }

 private:
  Tensor x_;
};

}  // namespace morphfit::nn

#endif  // MORPHFIT_NN_LAYERS_H_
