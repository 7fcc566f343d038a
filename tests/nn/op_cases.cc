// The op table (see op_cases.h). Every op in nn/ops.h and nn/losses.h appears at least once.
#include "tests/nn/op_cases.h"

#include "morphfit/nn/kernels/batch_norm.h"
#include "morphfit/nn/kernels/elementwise.h"
#include "morphfit/nn/kernels/gemm_cpu.h"
#include "morphfit/nn/kernels/losses.h"
#include "morphfit/nn/kernels/pool.h"
#include "morphfit/nn/kernels/resample.h"
#include "morphfit/nn/losses.h"
#include "morphfit/nn/ops.h"

namespace morphfit::nn::testing {
namespace {

using In = std::vector<Vec>;
using Ts = std::vector<Tensor>;
using Result = StatusOr<TensorApiResult>;


OpCase ConvCase(std::string name, Shape xs, Shape ws, Conv2dOptions o) {
  const Conv2dGeometry g = MakeConv2dGeometry(xs, ws, o, name).value();
  OpCase c = MakeOpCase(name, {xs, ws, {g.c_out}}, {true, true, true});
  c.output_shape = {g.n, g.c_out, g.out_h, g.out_w};
  c.forward = [g](const In& in) {
    Vec y(static_cast<size_t>(g.n * g.c_out * g.out_h * g.out_w));
    cpu::Conv2dForward<double>(g, in[0].data(), in[1].data(), in[2].data(), y.data());
    return y;
  };
  c.backward = [g](const In& in, const Vec& dy) {
    Vec dx(in[0].size()), dw(in[1].size(), 0.0), db(in[2].size(), 0.0);
    cpu::Conv2dBackwardData<double>(g, in[1].data(), dy.data(), dx.data());
    cpu::Conv2dBackwardWeight<double>(g, in[0].data(), dy.data(), dw.data());
    cpu::BiasBackward<double>(g.n, g.c_out, g.out_h * g.out_w, dy.data(), db.data());
    return In{dx, dw, db};
  };
  c.tensor_api = [o](const Ts& t, const Tensor& dy) -> Result {
    MORPHFIT_ASSIGN_OR_RETURN(Tensor y, Conv2d(t[0], t[1], &t[2], o));
    Tensor dw = ZerosLike(t[1]), db = ZerosLike(t[2]);
    MORPHFIT_ASSIGN_OR_RETURN(Tensor dx, Conv2dBackward(t[0], t[1], dy, o, &dw, &db));
    return TensorApiResult{y, {dx, dw, db}};
  };
  return c;
}

OpCase ConvTransposeCase(std::string name, Shape xs, Shape ws, ConvTranspose2dOptions o) {
  const Conv2dGeometry g = MakeConvTranspose2dGeometry(xs, ws, o).value();
  OpCase c = MakeOpCase(name, {xs, ws, {g.c_in}}, {true, true, true});
  c.output_shape = {g.n, g.c_in, g.h, g.w};
  c.forward = [g](const In& in) {
    Vec y(static_cast<size_t>(g.n * g.c_in * g.h * g.w));
    cpu::Conv2dBackwardData<double>(g, in[1].data(), in[0].data(), y.data());
    for (size_t k = 0; k < y.size(); ++k) y[k] += in[2][(k / (g.h * g.w)) % g.c_in];
    return y;
  };
  c.backward = [g](const In& in, const Vec& dy) {
    Vec dx(in[0].size()), dw(in[1].size(), 0.0), db(in[2].size(), 0.0);
    cpu::Conv2dForward<double>(g, dy.data(), in[1].data(), nullptr, dx.data());
    cpu::Conv2dBackwardWeight<double>(g, dy.data(), in[0].data(), dw.data());
    cpu::BiasBackward<double>(g.n, g.c_in, g.h * g.w, dy.data(), db.data());
    return In{dx, dw, db};
  };
  c.tensor_api = [o](const Ts& t, const Tensor& dy) -> Result {
    MORPHFIT_ASSIGN_OR_RETURN(Tensor y, ConvTranspose2d(t[0], t[1], &t[2], o));
    Tensor dw = ZerosLike(t[1]), db = ZerosLike(t[2]);
    MORPHFIT_ASSIGN_OR_RETURN(Tensor dx, ConvTranspose2dBackward(t[0], t[1], dy, o, &dw, &db));
    return TensorApiResult{y, {dx, dw, db}};
  };
  return c;
}

OpCase LinearCase(std::string name, Shape xs, int64_t out) {
  const int64_t n = xs[0], in_features = NumElements(xs) / n;
  OpCase c = MakeOpCase(name, {xs, {out, in_features}, {out}}, {true, true, true});
  c.output_shape = {n, out};
  c.forward = [=](const In& in) {
    Vec y(static_cast<size_t>(n * out));
    cpu::LinearForward<double>(n, in_features, out, in[0].data(), in[1].data(), in[2].data(), y.data());
    return y;
  };
  c.backward = [=](const In& in, const Vec& dy) {
    Vec dx(in[0].size()), dw(in[1].size(), 0.0), db(in[2].size(), 0.0);
    cpu::LinearBackward<double>(n, in_features, out, in[0].data(), in[1].data(), dy.data(),
                                dx.data(), dw.data(), db.data());
    return In{dx, dw, db};
  };
  c.tensor_api = [](const Ts& t, const Tensor& dy) -> Result {
    MORPHFIT_ASSIGN_OR_RETURN(Tensor y, Linear(t[0], t[1], &t[2]));
    Tensor dw = ZerosLike(t[1]), db = ZerosLike(t[2]);
    MORPHFIT_ASSIGN_OR_RETURN(Tensor dx, LinearBackward(t[0], t[1], dy, &dw, &db));
    return TensorApiResult{y, {dx, dw, db}};
  };
  return c;
}

// BatchNorm in training mode; x [n, c, ...].
OpCase BatchNormTrainCase(std::string name, Shape xs) {
  const int64_t n = xs[0], ch = xs[1], hw = NumElements(xs) / (n * ch);
  const double eps = 1e-5;
  OpCase c = MakeOpCase(name, {xs, {ch}, {ch}}, {true, true, true});
  c.output_shape = xs;
  c.forward = [=](const In& in) {
    Vec y(in[0].size()), mean(ch), inv_std(ch);
    reference::BatchNormForwardTrain<double>(n, ch, hw, in[0].data(), in[1].data(), in[2].data(),
                                             eps, y.data(), mean.data(), inv_std.data());
    return y;
  };
  c.backward = [=](const In& in, const Vec& dy) {
    Vec y(in[0].size()), mean(ch), inv_std(ch), dx(in[0].size()), dg(ch, 0.0), dbeta(ch, 0.0);
    reference::BatchNormForwardTrain<double>(n, ch, hw, in[0].data(), in[1].data(), in[2].data(),
                                             eps, y.data(), mean.data(), inv_std.data());
    reference::BatchNormBackwardTrain<double>(n, ch, hw, in[0].data(), in[1].data(), mean.data(),
                                              inv_std.data(), dy.data(), dx.data(), dg.data(),
                                              dbeta.data());
    return In{dx, dg, dbeta};
  };
  c.tensor_api = [=](const Ts& t, const Tensor& dy) -> Result {
    Tensor mean = ZerosLike(t[1]), inv_std = ZerosLike(t[1]), dg = ZerosLike(t[1]),
           dbeta = ZerosLike(t[1]);
    MORPHFIT_ASSIGN_OR_RETURN(Tensor y, BatchNorm2dTrain(t[0], t[1], t[2], {eps, 0.1}, nullptr,
                                                         nullptr, &mean, &inv_std));
    MORPHFIT_ASSIGN_OR_RETURN(Tensor dx,
                              BatchNorm2dBackwardTrain(t[0], t[1], mean, inv_std, dy, &dg, &dbeta));
    return TensorApiResult{y, {dx, dg, dbeta}};
  };
  return c;
}

OpCase BatchNormEvalCase() {
  const Shape xs{2, 3, 2, 2};
  const int64_t n = 2, ch = 3, hw = 4;
  const double eps = 1e-5;
  OpCase c = MakeOpCase("batch_norm_eval", {xs, {ch}, {ch}, {ch}, {ch}},
                  {true, true, true, false, false}, {false, false, false, false, true});
  c.output_shape = xs;
  c.forward = [=](const In& in) {
    Vec y(in[0].size());
    reference::BatchNormForwardEval<double>(n, ch, hw, in[0].data(), in[1].data(), in[2].data(),
                                            in[3].data(), in[4].data(), eps, y.data());
    return y;
  };
  c.backward = [=](const In& in, const Vec& dy) {
    Vec dx(in[0].size()), dg(ch, 0.0), dbeta(ch, 0.0);
    reference::BatchNormBackwardEval<double>(n, ch, hw, in[0].data(), in[1].data(), in[3].data(),
                                             in[4].data(), eps, dy.data(), dx.data(), dg.data(),
                                             dbeta.data());
    return In{dx, dg, dbeta, {}, {}};
  };
  c.tensor_api = [=](const Ts& t, const Tensor& dy) -> Result {
    Tensor dg = ZerosLike(t[1]), dbeta = ZerosLike(t[1]);
    MORPHFIT_ASSIGN_OR_RETURN(Tensor y, BatchNorm2dEval(t[0], t[1], t[2], t[3], t[4], {eps, 0.1}));
    MORPHFIT_ASSIGN_OR_RETURN(
        Tensor dx, BatchNorm2dBackwardEval(t[0], t[1], t[3], t[4], {eps, 0.1}, dy, &dg, &dbeta));
    return TensorApiResult{y, {dx, dg, dbeta, Tensor(), Tensor()}};
  };
  return c;
}

OpCase ActivationCase(Activation a) {
  const double slope = 0.2;
  OpCase c = MakeOpCase(ActivationName(a), {{2, 3, 4}}, {true});
  c.output_shape = {2, 3, 4};
  c.forward = [=](const In& in) {
    Vec y(in[0].size());
    reference::ActivationForward<double>(a, slope, y.size(), in[0].data(), y.data());
    return y;
  };
  c.backward = [=](const In& in, const Vec& dy) {
    Vec y(in[0].size()), dx(in[0].size());
    reference::ActivationForward<double>(a, slope, y.size(), in[0].data(), y.data());
    reference::ActivationBackward<double>(a, slope, y.size(), in[0].data(), y.data(), dy.data(),
                                          dx.data());
    return In{dx};
  };
  c.tensor_api = [=](const Ts& t, const Tensor& dy) -> Result {
    MORPHFIT_ASSIGN_OR_RETURN(Tensor y, Activate(a, t[0], static_cast<float>(slope)));
    MORPHFIT_ASSIGN_OR_RETURN(Tensor dx, ActivateBackward(a, t[0], y, dy, static_cast<float>(slope)));
    return TensorApiResult{y, {dx}};
  };
  return c;
}

OpCase PoolCase(std::string name, bool max, Shape xs, Pool2dOptions o) {
  const Pool2dGeometry g = MakePool2dGeometry(xs, o, name).value();
  OpCase c = MakeOpCase(name, {xs}, {true});
  c.output_shape = {g.n, g.c, g.out_h, g.out_w};
  const int64_t out = g.n * g.c * g.out_h * g.out_w;
  c.forward = [=](const In& in) {
    Vec y(static_cast<size_t>(out));
    std::vector<int32_t> argmax(y.size());
    if (max) reference::MaxPool2dForward<double>(g, in[0].data(), y.data(), argmax.data());
    else reference::AvgPool2dForward<double>(g, in[0].data(), y.data());
    return y;
  };
  c.backward = [=](const In& in, const Vec& dy) {
    Vec y(static_cast<size_t>(out)), dx(in[0].size());
    std::vector<int32_t> argmax(y.size());
    if (max) {
      reference::MaxPool2dForward<double>(g, in[0].data(), y.data(), argmax.data());
      reference::MaxPool2dBackward<double>(g, argmax.data(), dy.data(), dx.data());
    } else {
      reference::AvgPool2dBackward<double>(g, dy.data(), dx.data());
    }
    return In{dx};
  };
  c.tensor_api = [=](const Ts& t, const Tensor& dy) -> Result {
    if (max) {
      MORPHFIT_ASSIGN_OR_RETURN(Tensor y, MaxPool2d(t[0], o));
      MORPHFIT_ASSIGN_OR_RETURN(Tensor dx, MaxPool2dBackward(t[0], dy, o));
      return TensorApiResult{y, {dx}};
    }
    MORPHFIT_ASSIGN_OR_RETURN(Tensor y, AvgPool2d(t[0], o));
    MORPHFIT_ASSIGN_OR_RETURN(Tensor dx, AvgPool2dBackward(t[0].shape(), dy, o));
    return TensorApiResult{y, {dx}};
  };
  return c;
}

OpCase UpsampleCase(bool bilinear, int64_t scale) {
  const Shape xs{1, 2, 3, 4};
  const int64_t planes = 2, h = 3, w = 4;
  OpCase c = MakeOpCase(std::string(bilinear ? "upsample_bilinear_x" : "upsample_nearest_x") +
                      std::to_string(scale), {xs}, {true});
  c.output_shape = {1, 2, 3 * scale, 4 * scale};
  c.forward = [=](const In& in) {
    Vec y(static_cast<size_t>(planes * h * w * scale * scale));
    if (bilinear) reference::UpsampleBilinearForward<double>(planes, h, w, scale, in[0].data(), y.data());
    else reference::UpsampleNearestForward<double>(planes, h, w, scale, in[0].data(), y.data());
    return y;
  };
  c.backward = [=](const In& in, const Vec& dy) {
    Vec dx(in[0].size());
    if (bilinear) reference::UpsampleBilinearBackward<double>(planes, h, w, scale, dy.data(), dx.data());
    else reference::UpsampleNearestBackward<double>(planes, h, w, scale, dy.data(), dx.data());
    return In{dx};
  };
  c.tensor_api = [=](const Ts& t, const Tensor& dy) -> Result {
    MORPHFIT_ASSIGN_OR_RETURN(Tensor y, bilinear ? UpsampleBilinear(t[0], scale) : UpsampleNearest(t[0], scale));
    MORPHFIT_ASSIGN_OR_RETURN(Tensor dx, bilinear ? UpsampleBilinearBackward(dy, scale)
                                                  : UpsampleNearestBackward(dy, scale));
    return TensorApiResult{y, {dx}};
  };
  return c;
}

}  // namespace

std::vector<OpCase> AllOpCases() {
  std::vector<OpCase> cases = {
      ConvCase("conv2d_3x3_pad1", {2, 3, 6, 5}, {4, 3, 3, 3}, {1, 1, 1, 1}),
      ConvCase("conv2d_stride2_dilation2", {1, 2, 9, 8}, {3, 2, 3, 2}, {2, 2, 2, 1}),
      ConvCase("conv2d_groups2", {2, 4, 5, 5}, {6, 2, 3, 3}, {1, 0, 1, 2}),
      ConvCase("conv2d_depthwise_stride2", {1, 3, 5, 5}, {3, 1, 3, 3}, {2, 1, 1, 3}),
      ConvCase("conv2d_pointwise", {2, 4, 3, 3}, {5, 4, 1, 1}, {1, 0, 1, 1}),
      ConvCase("conv2d_7x7_stride2_pad3", {1, 2, 8, 8}, {2, 2, 7, 7}, {2, 3, 1, 1}),
      ConvTransposeCase("conv_transpose2d_stride2_outpad1", {1, 4, 3, 3}, {4, 3, 3, 3},
                        {2, 1, 1, 1, 1}),
      ConvTransposeCase("conv_transpose2d_groups2", {2, 4, 3, 4}, {4, 1, 2, 2}, {2, 0, 1, 2, 0}),
      LinearCase("linear", {3, 7}, 5),
      LinearCase("linear_from_nchw", {2, 2, 2, 2}, 3),
      BatchNormTrainCase("batch_norm_train_nchw", {3, 2, 3, 2}),
      BatchNormTrainCase("batch_norm_train_nc", {5, 3}),
      BatchNormEvalCase(),
      ActivationCase(Activation::kRelu),
      ActivationCase(Activation::kLeakyRelu),
      ActivationCase(Activation::kSigmoid),
      ActivationCase(Activation::kTanh),
      PoolCase("max_pool_3x3_stride2_pad1", true, {1, 2, 7, 6}, {3, 2, 1}),
      PoolCase("max_pool_2x2", true, {2, 1, 4, 4}, {2, 2, 0}),
      PoolCase("avg_pool_3x3_stride2_pad1", false, {1, 2, 5, 5}, {3, 2, 1}),
      UpsampleCase(false, 2),
      UpsampleCase(true, 2),
      UpsampleCase(true, 3),
  };
  for (OpCase& c : MiscOpCases()) cases.push_back(std::move(c));
  return cases;
}

}  // namespace morphfit::nn::testing
