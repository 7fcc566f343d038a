// The module system: layers that own parameters and cache what their backward pass needs,
// composed with Sequential and Residual. Training is explicit (llm.c style): Forward, a loss,
// Backward with dL/dy, an optimiser step. Parameters have dotted names ("3.main.0.weight") used
// by the weights file and the optimisers.
#ifndef MORPHFIT_NN_MODULE_H_
#define MORPHFIT_NN_MODULE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "morphfit/core/status.h"
#include "morphfit/nn/tensor.h"

namespace morphfit::nn {

// A learnable tensor and its gradient (same shape and device), or a buffer (trainable = false,
// e.g. batch-norm running statistics: saved with the weights, never updated by optimisers).
struct Parameter {
  Tensor value;
  Tensor grad;
  bool trainable = true;
};

struct NamedParameter {
  std::string name;
  Parameter* parameter = nullptr;  // owned by the module
};

class Module {
 public:
  virtual ~Module() = default;

  // y = f(x). In training mode the module keeps what Backward needs (inputs, masks, batch
  // statistics) until the next Forward.
  virtual StatusOr<Tensor> Forward(const Tensor& x) = 0;
  // Given dL/dy for the last Forward: ADDS parameter gradients into Parameter::grad and returns
  // dL/dx. FailedPrecondition if Forward was not called in training mode before.
  virtual StatusOr<Tensor> Backward(const Tensor& dy) = 0;
  // The output shape for an input shape, or the shape error Forward would report.
  virtual StatusOr<Shape> OutputShape(const Shape& x) const = 0;
  // Floating-point operations of one Forward on `x` (a multiply-add counts 2; elementwise ops
  // count 1 per element, batch norm 2).
  virtual int64_t ForwardFlops(const Shape& x) const { return 0; }
  // Architecture description, e.g. "conv2d(3->64,k7x7,s2,p3,d1,g1,bias=0)"; containers nest.
  virtual std::string Describe() const = 0;
  // Appends this module's parameters (and its children's) named prefix + local name.
  virtual void CollectParameters(const std::string& prefix, std::vector<NamedParameter>* out) {}
  virtual void SetTraining(bool training) { training_ = training; }
  bool training() const { return training_; }

 protected:
  bool training_ = true;
};

// All parameters and buffers of `module`, in a fixed order.
std::vector<NamedParameter> NamedParameters(Module& module);
// Number of scalars in trainable parameters (buffers excluded unless include_buffers).
int64_t CountParameters(Module& module, bool include_buffers = false);
// Sets every gradient to zero.
void ZeroGrad(Module& module);
// Moves every parameter and gradient to the CUDA device (FailedPrecondition without one).
Status ModuleToDevice(Module& module);

// Runs children in order. Parameter names are "<index>.<child name>".
class Sequential : public Module {
 public:
  Sequential() = default;
  explicit Sequential(std::vector<std::unique_ptr<Module>> children);
  Sequential& Add(std::unique_ptr<Module> child);
  size_t size() const { return children_.size(); }
  Module& child(size_t i) { return *children_[i]; }

  StatusOr<Tensor> Forward(const Tensor& x) override;
  StatusOr<Tensor> Backward(const Tensor& dy) override;
  StatusOr<Shape> OutputShape(const Shape& x) const override;
  int64_t ForwardFlops(const Shape& x) const override;
  std::string Describe() const override;
  void CollectParameters(const std::string& prefix, std::vector<NamedParameter>* out) override;
  void SetTraining(bool training) override;

 private:
  std::vector<std::unique_ptr<Module>> children_;
};

// y = relu(main(x) + shortcut(x)) (shortcut = identity when null; the final ReLU is optional,
// as in MobileNetV2's linear bottleneck). Names: "main.*", "shortcut.*".
class Residual : public Module {
 public:
  Residual(std::unique_ptr<Module> main, std::unique_ptr<Module> shortcut, bool relu_after = true);
  Module& main_branch() { return *main_; }
  Module* shortcut() { return shortcut_.get(); }  // null = identity
  bool relu_after() const { return relu_after_; }

  StatusOr<Tensor> Forward(const Tensor& x) override;
  StatusOr<Tensor> Backward(const Tensor& dy) override;
  StatusOr<Shape> OutputShape(const Shape& x) const override;
  int64_t ForwardFlops(const Shape& x) const override;
  std::string Describe() const override;
  void CollectParameters(const std::string& prefix, std::vector<NamedParameter>* out) override;
  void SetTraining(bool training) override;

 private:
  std::unique_ptr<Module> main_, shortcut_;
  bool relu_after_;
  Tensor sum_;  // main + shortcut, cached for the ReLU's backward
};

}  // namespace morphfit::nn

#endif  // MORPHFIT_NN_MODULE_H_
