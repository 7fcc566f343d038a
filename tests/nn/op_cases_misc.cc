// Op table, part 2: global pooling, structural ops, dropout and losses.
#include "morphfit/nn/kernels/elementwise.h"
#include "morphfit/nn/kernels/losses.h"
#include "morphfit/nn/kernels/pool.h"
#include "morphfit/nn/losses.h"
#include "morphfit/nn/ops.h"
#include "tests/nn/op_cases.h"

namespace morphfit::nn::testing {
namespace {

using In = std::vector<Vec>;
using Ts = std::vector<Tensor>;
using Result = StatusOr<TensorApiResult>;


OpCase GlobalAvgPoolCase() {
  const int64_t n = 2, ch = 3, hw = 12;
  OpCase c = MakeOpCase("global_avg_pool", {{n, ch, 3, 4}}, {true});
  c.output_shape = {n, ch, 1, 1};
  c.forward = [=](const In& in) {
    Vec y(n * ch);
    reference::GlobalAvgPoolForward<double>(n, ch, hw, in[0].data(), y.data());
    return y;
  };
  c.backward = [=](const In& in, const Vec& dy) {
    Vec dx(in[0].size());
    reference::GlobalAvgPoolBackward<double>(n, ch, hw, dy.data(), dx.data());
    return In{dx};
  };
  c.tensor_api = [](const Ts& t, const Tensor& dy) -> Result {
    MORPHFIT_ASSIGN_OR_RETURN(Tensor y, GlobalAvgPool(t[0]));
    MORPHFIT_ASSIGN_OR_RETURN(Tensor dx, GlobalAvgPoolBackward(t[0].shape(), dy));
    return TensorApiResult{y, {dx}};
  };
  return c;
}

OpCase AddCase() {
  OpCase c = MakeOpCase("add", {{2, 3, 2, 2}, {2, 3, 2, 2}}, {true, true});
  c.output_shape = {2, 3, 2, 2};
  c.forward = [](const In& in) {
    Vec y(in[0].size());
    reference::AddForward<double>(y.size(), in[0].data(), in[1].data(), y.data());
    return y;
  };
  c.backward = [](const In&, const Vec& dy) { return In{dy, dy}; };
  c.tensor_api = [](const Ts& t, const Tensor& dy) -> Result {
    MORPHFIT_ASSIGN_OR_RETURN(Tensor y, Add(t[0], t[1]));
    return TensorApiResult{y, {dy.Clone(), dy.Clone()}};
  };
  return c;
}

OpCase ConcatCase() {
  const int64_t n = 2, ca = 1, cb = 3, hw = 6;
  OpCase c = MakeOpCase("concat_channels", {{n, ca, 2, 3}, {n, cb, 2, 3}}, {true, true});
  c.output_shape = {n, ca + cb, 2, 3};
  c.forward = [=](const In& in) {
    Vec y(n * (ca + cb) * hw);
    reference::ConcatChannelsForward<double>(n, ca, cb, hw, in[0].data(), in[1].data(), y.data());
    return y;
  };
  c.backward = [=](const In& in, const Vec& dy) {
    Vec da(in[0].size()), db(in[1].size());
    reference::ConcatChannelsBackward<double>(n, ca, cb, hw, dy.data(), da.data(), db.data());
    return In{da, db};
  };
  c.tensor_api = [=](const Ts& t, const Tensor& dy) -> Result {
    MORPHFIT_ASSIGN_OR_RETURN(Tensor y, ConcatChannels(t[0], t[1]));
    Tensor da, db;
    MORPHFIT_RETURN_IF_ERROR(ConcatChannelsBackward(dy, ca, &da, &db));
    return TensorApiResult{y, {da, db}};
  };
  return c;
}

OpCase L2NormalizeCase() {
  const int64_t n = 2, ch = 3, hw = 4;
  const double eps = 1e-12;
  OpCase c = MakeOpCase("l2_normalize_channels", {{n, ch, 2, 2}}, {true});
  c.output_shape = {n, ch, 2, 2};
  c.forward = [=](const In& in) {
    Vec y(in[0].size());
    reference::L2NormalizeChannelsForward<double>(n, ch, hw, eps, in[0].data(), y.data());
    return y;
  };
  c.backward = [=](const In& in, const Vec& dy) {
    Vec dx(in[0].size());
    reference::L2NormalizeChannelsBackward<double>(n, ch, hw, eps, in[0].data(), dy.data(), dx.data());
    return In{dx};
  };
  c.tensor_api = [=](const Ts& t, const Tensor& dy) -> Result {
    MORPHFIT_ASSIGN_OR_RETURN(Tensor y, L2NormalizeChannels(t[0], eps));
    MORPHFIT_ASSIGN_OR_RETURN(Tensor dx, L2NormalizeChannelsBackward(t[0], dy, eps));
    return TensorApiResult{y, {dx}};
  };
  return c;
}

OpCase DropoutCase() {
  const Shape shape{2, 3, 4, 4};
  const Tensor mask = DropoutMask(shape, 0.3, /*seed=*/7, /*step=*/2).value();
  const Vec mask_values = ToVec(mask);
  OpCase c = MakeOpCase("dropout", {shape}, {true});
  c.output_shape = shape;
  c.forward = [=](const In& in) {
    Vec y(in[0].size());
    reference::MultiplyForward<double>(y.size(), in[0].data(), mask_values.data(), y.data());
    return y;
  };
  c.backward = [=](const In&, const Vec& dy) {
    Vec dx(dy.size());
    reference::MultiplyForward<double>(dy.size(), dy.data(), mask_values.data(), dx.data());
    return In{dx};
  };
  c.tensor_api = [=](const Ts& t, const Tensor& dy) -> Result {
    Tensor m = mask;
    if (t[0].device() == Device::kCuda) MORPHFIT_RETURN_IF_ERROR(OnDevice(mask, &m));
    MORPHFIT_ASSIGN_OR_RETURN(Tensor y, Multiply(t[0], m));
    MORPHFIT_ASSIGN_OR_RETURN(Tensor dx, Multiply(dy, m));
    return TensorApiResult{y, {dx}};
  };
  return c;
}

// A loss case: inputs (x, t[, extra]); y is the scalar loss, so dL/dx = dy[0] * dloss/dx.
using LossFn = std::function<double(const In&, double* dL_dx)>;
using LossApi = std::function<StatusOr<LossResult>(const Ts&)>;
OpCase LossCase(std::string name, std::vector<Shape> shapes, std::vector<bool> positive,
                LossFn loss, LossApi api) {
  std::vector<bool> differentiable(shapes.size(), false);
  differentiable[0] = true;
  OpCase c = MakeOpCase(std::move(name), std::move(shapes), differentiable, std::move(positive));
  c.output_shape = {1};
  c.forward = [=](const In& in) { return Vec{loss(in, nullptr)}; };
  c.backward = [=](const In& in, const Vec& dy) {
    In grads(in.size());
    grads[0].resize(in[0].size());
    loss(in, grads[0].data());
    for (double& g : grads[0]) g *= dy[0];
    return grads;
  };
  c.tensor_api = [=](const Ts& t, const Tensor& dy) -> Result {
    MORPHFIT_ASSIGN_OR_RETURN(LossResult r, api(t));
    Tensor y = Tensor::Full({1}, static_cast<float>(r.value));
    // dL/dx = dy[0] * dloss/dx, scaled on the tensors' device.
    Tensor scale = Tensor::Full(r.dL_dx.shape(), dy.ToVector()[0]);
    if (t[0].device() == Device::kCuda) MORPHFIT_RETURN_IF_ERROR(OnDevice(scale, &scale));
    std::vector<Tensor> grads(t.size());
    MORPHFIT_ASSIGN_OR_RETURN(grads[0], Multiply(r.dL_dx, scale));
    return TensorApiResult{y, grads};
  };
  return c;
}

std::vector<OpCase> LossCases() {
  const Shape s{2, 3, 2, 2};
  const int64_t n = 24;
  std::vector<OpCase> cases;
  cases.push_back(LossCase("mse_loss", {s, s}, {},
      [=](const In& in, double* g) { return reference::MseLoss<double>(n, in[0].data(), in[1].data(), g); },
      [](const Ts& t) { return MseLoss(t[0], t[1]); }));
  cases.push_back(LossCase("l1_loss", {s, s}, {},
      [=](const In& in, double* g) { return reference::L1Loss<double>(n, in[0].data(), in[1].data(), g); },
      [](const Ts& t) { return L1Loss(t[0], t[1]); }));
  cases.push_back(LossCase("smooth_l1_loss", {s, s}, {},
      [=](const In& in, double* g) {
        return reference::SmoothL1Loss<double>(n, 0.5, in[0].data(), in[1].data(), g);
      },
      [](const Ts& t) { return SmoothL1Loss(t[0], t[1], 0.5); }));
  cases.push_back(LossCase("weighted_parameter_loss", {{4, 6}, {4, 6}, {6}}, {false, false, true},
      [](const In& in, double* g) {
        return reference::WeightedParameterLoss<double>(4, 6, in[0].data(), in[1].data(),
                                                        in[2].data(), g);
      },
      [](const Ts& t) { return WeightedParameterLoss(t[0], t[1], t[2]); }));
  for (PixelPenalty penalty : {PixelPenalty::kL1, PixelPenalty::kL2}) {
    cases.push_back(LossCase(penalty == PixelPenalty::kL1 ? "masked_pixel_l1" : "masked_pixel_l2",
        {s, s, {2, 1, 2, 2}}, {false, false, true},
        [=](const In& in, double* g) {
          return reference::MaskedPixelLoss<double>(penalty, 2, 3, 4, in[0].data(), in[1].data(),
                                                    in[2].data(), g);
        },
        [=](const Ts& t) { return MaskedPixelLoss(penalty, t[0], t[1], t[2]); }));
  }
  return cases;
}

}  // namespace

std::vector<OpCase> MiscOpCases() {
  std::vector<OpCase> cases = {GlobalAvgPoolCase(), AddCase(), ConcatCase(), L2NormalizeCase(),
                               DropoutCase()};
  for (OpCase& c : LossCases()) cases.push_back(std::move(c));
  return cases;
}

}  // namespace morphfit::nn::testing
