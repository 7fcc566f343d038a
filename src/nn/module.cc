// Module helpers, Sequential and Residual.
#include "morphfit/nn/module.h"

#include "morphfit/nn/ops.h"

namespace morphfit::nn {

std::vector<NamedParameter> NamedParameters(Module& module) {
  std::vector<NamedParameter> out;
  module.CollectParameters("", &out);
  return out;
}

int64_t CountParameters(Module& module, bool include_buffers) {
  int64_t total = 0;
  for (const NamedParameter& p : NamedParameters(module)) {
    if (p.parameter->trainable || include_buffers) total += p.parameter->value.size();
  }
  return total;
}

void ZeroGrad(Module& module) {
  for (const NamedParameter& p : NamedParameters(module)) {
    if (p.parameter->grad.defined()) p.parameter->grad.Fill(0.0f);
  }
}

Status ModuleToDevice(Module& module) {
  for (const NamedParameter& p : NamedParameters(module)) {
    MORPHFIT_ASSIGN_OR_RETURN(p.parameter->value, p.parameter->value.ToDevice());
    if (p.parameter->grad.defined()) {
      MORPHFIT_ASSIGN_OR_RETURN(p.parameter->grad, p.parameter->grad.ToDevice());
    }
  }
  return OkStatus();
}

Sequential::Sequential(std::vector<std::unique_ptr<Module>> children)
    : children_(std::move(children)) {}

Sequential& Sequential::Add(std::unique_ptr<Module> child) {
  children_.push_back(std::move(child));
  return *this;
}

StatusOr<Tensor> Sequential::Forward(const Tensor& x) {
  Tensor h = x;
  for (size_t i = 0; i < children_.size(); ++i) {
    StatusOr<Tensor> next = children_[i]->Forward(h);
    if (!next.ok()) return next.status().WithContext("layer " + std::to_string(i));
    h = std::move(next).value();
  }
  return h;
}

StatusOr<Tensor> Sequential::Backward(const Tensor& dy) {
  Tensor g = dy;
  for (size_t i = children_.size(); i-- > 0;) {
    StatusOr<Tensor> next = children_[i]->Backward(g);
    if (!next.ok()) return next.status().WithContext("layer " + std::to_string(i) + " backward");
    g = std::move(next).value();
  }
  return g;
}

StatusOr<Shape> Sequential::OutputShape(const Shape& x) const {
  Shape s = x;
  for (size_t i = 0; i < children_.size(); ++i) {
    StatusOr<Shape> next = children_[i]->OutputShape(s);
    if (!next.ok()) return next.status().WithContext("layer " + std::to_string(i));
    s = *next;
  }
  return s;
}

int64_t Sequential::ForwardFlops(const Shape& x) const {
  int64_t total = 0;
  Shape s = x;
  for (const auto& child : children_) {
    total += child->ForwardFlops(s);
    StatusOr<Shape> next = child->OutputShape(s);
    if (!next.ok()) break;
    s = *next;
  }
  return total;
}

std::string Sequential::Describe() const {
  std::string out = "sequential[";
  for (size_t i = 0; i < children_.size(); ++i) out += (i ? "," : "") + children_[i]->Describe();
  return out + "]";
}

void Sequential::CollectParameters(const std::string& prefix, std::vector<NamedParameter>* out) {
  for (size_t i = 0; i < children_.size(); ++i) {
    children_[i]->CollectParameters(prefix + std::to_string(i) + ".", out);
  }
}

void Sequential::SetTraining(bool training) {
  training_ = training;
  for (auto& child : children_) child->SetTraining(training);
}

Residual::Residual(std::unique_ptr<Module> main, std::unique_ptr<Module> shortcut, bool relu_after)
    : main_(std::move(main)), shortcut_(std::move(shortcut)), relu_after_(relu_after) {}

StatusOr<Tensor> Residual::Forward(const Tensor& x) {
  StatusOr<Tensor> m = main_->Forward(x);
  if (!m.ok()) return m.status().WithContext("residual main");
  Tensor s = x;
  if (shortcut_) {
    StatusOr<Tensor> sc = shortcut_->Forward(x);
    if (!sc.ok()) return sc.status().WithContext("residual shortcut");
    s = std::move(sc).value();
  }
  StatusOr<Tensor> sum = Add(*m, s);
  if (!sum.ok()) return sum.status().WithContext("residual add");
  sum_ = std::move(sum).value();
  if (!relu_after_) return sum_;
  return Activate(Activation::kRelu, sum_);
}

StatusOr<Tensor> Residual::Backward(const Tensor& dy) {
  if (!sum_.defined()) return FailedPreconditionError("residual: Backward before Forward");
  Tensor g = dy;
  if (relu_after_) {
    MORPHFIT_ASSIGN_OR_RETURN(Tensor y, Activate(Activation::kRelu, sum_));
    MORPHFIT_ASSIGN_OR_RETURN(g, ActivateBackward(Activation::kRelu, sum_, y, dy));
  }
  MORPHFIT_ASSIGN_OR_RETURN(Tensor dx_main, main_->Backward(g));
  Tensor dx_short = g;
  if (shortcut_) {
    MORPHFIT_ASSIGN_OR_RETURN(dx_short, shortcut_->Backward(g));
  }
  return Add(dx_main, dx_short);
}

StatusOr<Shape> Residual::OutputShape(const Shape& x) const {
  MORPHFIT_ASSIGN_OR_RETURN(Shape m, main_->OutputShape(x));
  Shape s = x;
  if (shortcut_) {
    MORPHFIT_ASSIGN_OR_RETURN(s, shortcut_->OutputShape(x));
  }
  if (m != s) {
    return InvalidArgumentError("residual: main branch gives " + ShapeString(m) +
                                " but the shortcut gives " + ShapeString(s));
  }
  return m;
}

int64_t Residual::ForwardFlops(const Shape& x) const {
  int64_t total = main_->ForwardFlops(x) + (shortcut_ ? shortcut_->ForwardFlops(x) : 0);
  StatusOr<Shape> out = OutputShape(x);
  if (out.ok()) total += NumElements(*out) * (relu_after_ ? 2 : 1);
  return total;
}

std::string Residual::Describe() const {
  return std::string("residual(main=") + main_->Describe() +
         ",shortcut=" + (shortcut_ ? shortcut_->Describe() : "identity") +
         ",relu=" + (relu_after_ ? "1" : "0") + ")";
}

void Residual::CollectParameters(const std::string& prefix, std::vector<NamedParameter>* out) {
  main_->CollectParameters(prefix + "main.", out);
  if (shortcut_) shortcut_->CollectParameters(prefix + "shortcut.", out);
}

void Residual::SetTraining(bool training) {
  training_ = training;
  main_->SetTraining(training);
  if (shortcut_) shortcut_->SetTraining(training);
}

}  // namespace morphfit::nn
