// The table of op test cases: each op as a double-precision kernel call (forward and backward,
// for finite-difference checks) and as a float call through the Tensor API (the backend).
#ifndef MORPHFIT_TESTS_NN_OP_CASES_H_
#define MORPHFIT_TESTS_NN_OP_CASES_H_

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "morphfit/nn/tensor.h"
#include "tests/nn/op_test_util.h"

namespace morphfit::nn::testing {

struct TensorApiResult {
  Tensor y;
  std::vector<Tensor> grads;  // one per input; undefined for non-differentiable inputs
};

struct OpCase {
  std::string name;
  std::vector<Shape> input_shapes;
  Shape output_shape;
  std::vector<bool> positive;     // inputs drawn from U(0.5, 1.5) (variances, masks, weights)
  std::vector<bool> differentiable;
  // y = f(inputs) in double.
  std::function<Vec(const std::vector<Vec>&)> forward;
  // dL/d input for L = <dy, y>; entries for non-differentiable inputs are ignored.
  std::function<std::vector<Vec>(const std::vector<Vec>&, const Vec& dy)> backward;
  // The same op through the float Tensor API.
  std::function<StatusOr<TensorApiResult>(const std::vector<Tensor>&, const Tensor& dy)> tensor_api;
};

std::vector<OpCase> AllOpCases();

// An OpCase with its name, input shapes and which inputs are differentiable / positive (empty
// `positive` = none); the caller fills in the functions and the output shape.
inline OpCase MakeOpCase(std::string name, std::vector<Shape> shapes,
                         std::vector<bool> differentiable, std::vector<bool> positive = {}) {
  OpCase c;
  c.name = std::move(name);
  c.input_shapes = std::move(shapes);
  c.differentiable = std::move(differentiable);
  c.positive = positive.empty() ? std::vector<bool>(c.input_shapes.size(), false) : positive;
  return c;
}

// A zero tensor shaped and placed like `t` (aborts on a device error: test code).
inline Tensor ZerosLike(const Tensor& t) { return Tensor::Zeros(t.shape(), t.device()).value(); }
// *out = a copy of `host` on the CUDA device.
inline Status OnDevice(const Tensor& host, Tensor* out) {
  MORPHFIT_ASSIGN_OR_RETURN(*out, host.ToDevice());
  return OkStatus();
}

// Random inputs for `c` (N(0, 1), or U(0.5, 1.5) where positive), rounded to float so the
// float path sees exactly the same values.
std::vector<Vec> RandomOpInputs(const OpCase& c);

// Runs `c` through the Tensor API with inputs on `device` and compares output and gradients
// with the double kernels (gtest assertions). Tolerance: see op_harness.cc.
void CheckTensorApiCase(const OpCase& c, Device device);
// The structural ops and losses (op_cases_misc.cc).
std::vector<OpCase> MiscOpCases();

}  // namespace morphfit::nn::testing

#endif  // MORPHFIT_TESTS_NN_OP_CASES_H_
