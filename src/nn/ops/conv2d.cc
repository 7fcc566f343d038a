// Conv2d and ConvTranspose2d: shape checks and dispatch (CPU: nn/kernels/gemm_cpu.h; CUDA:
// cuda/nn/conv.cu, the transposed convolution as the adjoint of the forward one).
#include <string>

#include "morphfit/nn/kernels/gemm_cpu.h"
#include "morphfit/nn/ops.h"
#include "src/nn/ops/op_util.h"
#if defined(MORPHFIT_NN_WITH_CUDA)
#include "nn/conv_cuda.h"
#endif

namespace morphfit::nn {
namespace {

std::string Str(int64_t v) { return std::to_string(v); }

Status CheckBias(const Tensor* b, int64_t c_out, const std::string& op) {
  if (b == nullptr) return OkStatus();
  return ExpectShape(*b, {c_out}, op, "bias");
}

}  // namespace

StatusOr<Conv2dGeometry> MakeConv2dGeometry(const Shape& x, const Shape& w,
                                            const Conv2dOptions& o, const std::string& op) {
  if (x.size() != 4) {
    return InvalidArgumentError(op + ": input must be 4-D NCHW, got " + ShapeString(x));
  }
  if (w.size() != 4) {
    return InvalidArgumentError(op + ": weight must be 4-D [c_out, c_in/groups, kh, kw], got " +
                                ShapeString(w));
  }
  if (o.stride < 1 || o.dilation < 1 || o.pad < 0 || o.groups < 1) {
    return InvalidArgumentError(op + ": need stride >= 1, dilation >= 1, pad >= 0, groups >= 1; got "
                                "stride " + Str(o.stride) + ", dilation " + Str(o.dilation) +
                                ", pad " + Str(o.pad) + ", groups " + Str(o.groups));
  }
  Conv2dGeometry g;
  g.n = x[0], g.c_in = x[1], g.h = x[2], g.w = x[3];
  g.c_out = w[0], g.kh = w[2], g.kw = w[3];
  g.stride = o.stride, g.pad = o.pad, g.dilation = o.dilation, g.groups = o.groups;
  if (g.c_in % g.groups != 0 || g.c_out % g.groups != 0) {
    return InvalidArgumentError(op + ": groups " + Str(g.groups) + " must divide c_in " +
                                Str(g.c_in) + " and c_out " + Str(g.c_out));
  }
  if (w[1] != g.c_in / g.groups) {
    return InvalidArgumentError(op + ": weight " + ShapeString(w) + " must have c_in/groups = " +
                                Str(g.c_in / g.groups) + " input channels for input " +
                                ShapeString(x) + ", got " + Str(w[1]));
  }
  g.out_h = ConvOutputSize(g.h, g.kh, g.stride, g.pad, g.dilation);
  g.out_w = ConvOutputSize(g.w, g.kw, g.stride, g.pad, g.dilation);
  if (g.kh < 1 || g.kw < 1 || g.out_h < 1 || g.out_w < 1) {
    return InvalidArgumentError(op + ": kernel " + Str(g.kh) + "x" + Str(g.kw) + " (dilation " +
                                Str(g.dilation) + ", pad " + Str(g.pad) +
                                ") does not fit input " + ShapeString(x));
  }
  return g;
}

StatusOr<Tensor> Conv2d(const Tensor& x, const Tensor& w, const Tensor* b,
                        const Conv2dOptions& options) {
  MORPHFIT_ASSIGN_OR_RETURN(const Conv2dGeometry g,
                            MakeConv2dGeometry(x.shape(), w.shape(), options, "conv2d"));
  MORPHFIT_RETURN_IF_ERROR(CheckBias(b, g.c_out, "conv2d"));
  MORPHFIT_RETURN_IF_ERROR(internal::CheckSameDevice({&x, &w, b}, "conv2d"));
  MORPHFIT_ASSIGN_OR_RETURN(Tensor y,
                            internal::NewOutputTensor({g.n, g.c_out, g.out_h, g.out_w}, x.device()));
  if (x.device() == Device::kCuda) {
#if defined(MORPHFIT_NN_WITH_CUDA)
    MORPHFIT_RETURN_IF_ERROR(internal::FromCuda(
        nn_cuda::Conv2dForward(g, x.device_data(), w.device_data(),
                               b ? b->device_data() : nullptr, y.device_data()), "conv2d"));
#endif
    return y;
  }
  cpu::Conv2dForward<float>(g, x.data(), w.data(), b ? b->data() : nullptr, y.data());
  return y;
}

StatusOr<Tensor> Conv2dBackward(const Tensor& x, const Tensor& w, const Tensor& dy,
                                const Conv2dOptions& options, Tensor* dw, Tensor* db) {
  MORPHFIT_ASSIGN_OR_RETURN(const Conv2dGeometry g,
                            MakeConv2dGeometry(x.shape(), w.shape(), options, "conv2d backward"));
  MORPHFIT_RETURN_IF_ERROR(ExpectShape(dy, {g.n, g.c_out, g.out_h, g.out_w}, "conv2d backward", "dy"));
  MORPHFIT_RETURN_IF_ERROR(internal::CheckGradTarget(dw, w, "conv2d backward", "dw"));
  if (db) MORPHFIT_RETURN_IF_ERROR(ExpectShape(*db, {g.c_out}, "conv2d backward", "db"));
  MORPHFIT_RETURN_IF_ERROR(internal::CheckSameDevice({&x, &w, &dy, dw, db}, "conv2d backward"));
  MORPHFIT_ASSIGN_OR_RETURN(Tensor dx, internal::NewTensor(x.shape(), x.device()));
  if (x.device() == Device::kCuda) {
#if defined(MORPHFIT_NN_WITH_CUDA)
    MORPHFIT_RETURN_IF_ERROR(internal::FromCuda(
        nn_cuda::Conv2dBackward(g, x.device_data(), w.device_data(), dy.device_data(),
                                dx.device_data(), dw ? dw->device_data() : nullptr,
                                db ? db->device_data() : nullptr), "conv2d backward"));
#endif
    return dx;
  }
  cpu::Conv2dBackwardData<float>(g, w.data(), dy.data(), dx.data());
  if (dw) cpu::Conv2dBackwardWeight<float>(g, x.data(), dy.data(), dw->data());
  if (db) cpu::BiasBackward<float>(g.n, g.c_out, g.out_h * g.out_w, dy.data(), db->data());
  return dx;
}

StatusOr<Conv2dGeometry> MakeConvTranspose2dGeometry(const Shape& x, const Shape& w,
                                                     const ConvTranspose2dOptions& o) {
  const std::string op = "conv_transpose2d";
  if (x.size() != 4 || w.size() != 4) {
    return InvalidArgumentError(op + ": input and weight [c_in, c_out/groups, kh, kw] must be "
                                "4-D, got " + ShapeString(x) + " and " + ShapeString(w));
  }
  if (o.stride < 1 || o.dilation < 1 || o.pad < 0 || o.groups < 1 || o.output_pad < 0 ||
      o.output_pad >= o.stride) {
    return InvalidArgumentError(op + ": need stride >= 1, dilation >= 1, pad >= 0, groups >= 1 "
                                "and 0 <= output_pad < stride");
  }
  if (w[0] != x[1] || x[1] % o.groups != 0) {
    return InvalidArgumentError(op + ": weight " + ShapeString(w) + " must have c_in = " +
                                Str(x[1]) + " (divisible by groups " + Str(o.groups) +
                                ") rows for input " + ShapeString(x));
  }
  const int64_t out_h = (x[2] - 1) * o.stride - 2 * o.pad + o.dilation * (w[2] - 1) + o.output_pad + 1;
  const int64_t out_w = (x[3] - 1) * o.stride - 2 * o.pad + o.dilation * (w[3] - 1) + o.output_pad + 1;
  if (out_h < 1 || out_w < 1) {
    return InvalidArgumentError(op + ": padding " + Str(o.pad) + " leaves no output for input " +
                                ShapeString(x) + " and kernel " + ShapeString(w));
  }
  // The forward convolution from the transposed output [n, c_out, out_h, out_w] back to x.
  Conv2dOptions forward{o.stride, o.pad, o.dilation, o.groups};
  MORPHFIT_ASSIGN_OR_RETURN(Conv2dGeometry g,
                            MakeConv2dGeometry({x[0], w[1] * o.groups, out_h, out_w}, w, forward, op));
  if (g.out_h != x[2] || g.out_w != x[3]) {
    return InternalError(op + ": adjoint geometry mismatch");
  }
  return g;
}

StatusOr<Tensor> ConvTranspose2d(const Tensor& x, const Tensor& w, const Tensor* b,
                                 const ConvTranspose2dOptions& options) {
  MORPHFIT_ASSIGN_OR_RETURN(const Conv2dGeometry g,
                            MakeConvTranspose2dGeometry(x.shape(), w.shape(), options));
  MORPHFIT_RETURN_IF_ERROR(CheckBias(b, g.c_in, "conv_transpose2d"));
  MORPHFIT_RETURN_IF_ERROR(internal::CheckSameDevice({&x, &w, b}, "conv_transpose2d"));
  MORPHFIT_ASSIGN_OR_RETURN(Tensor y, internal::NewTensor({g.n, g.c_in, g.h, g.w}, x.device()));
  if (x.device() == Device::kCuda) {
#if defined(MORPHFIT_NN_WITH_CUDA)
    // The data-adjoint of the forward convolution, then the bias.
    MORPHFIT_RETURN_IF_ERROR(internal::FromCuda(
        nn_cuda::Conv2dBackward(g, nullptr, w.device_data(), x.device_data(), y.device_data(),
                                nullptr, nullptr), "conv_transpose2d"));
    if (b) {
      MORPHFIT_RETURN_IF_ERROR(internal::FromCuda(
          nn_cuda::AddChannelBias(g.n, g.c_in, g.h * g.w, b->device_data(), y.device_data()),
          "conv_transpose2d"));
    }
#endif
    return y;
  }
  cpu::Conv2dBackwardData<float>(g, w.data(), x.data(), y.data());
  if (b) {
    for (int64_t n = 0; n < g.n; ++n)
      for (int64_t c = 0; c < g.c_in; ++c) {
        float* plane = y.data() + (n * g.c_in + c) * g.h * g.w;
        for (int64_t p = 0; p < g.h * g.w; ++p) plane[p] += b->data()[c];
      }
  }
  return y;
}

StatusOr<Tensor> ConvTranspose2dBackward(const Tensor& x, const Tensor& w, const Tensor& dy,
                                         const ConvTranspose2dOptions& options, Tensor* dw,
                                         Tensor* db) {
  const std::string op = "conv_transpose2d backward";
  MORPHFIT_ASSIGN_OR_RETURN(const Conv2dGeometry g,
                            MakeConvTranspose2dGeometry(x.shape(), w.shape(), options));
  MORPHFIT_RETURN_IF_ERROR(ExpectShape(dy, {g.n, g.c_in, g.h, g.w}, op, "dy"));
  MORPHFIT_RETURN_IF_ERROR(internal::CheckGradTarget(dw, w, op, "dw"));
  if (db) MORPHFIT_RETURN_IF_ERROR(ExpectShape(*db, {g.c_in}, op, "db"));
  MORPHFIT_RETURN_IF_ERROR(internal::CheckSameDevice({&x, &w, &dy, dw, db}, op));
  // In the adjoint geometry dy plays the convolution's input and x its output gradient.
  MORPHFIT_ASSIGN_OR_RETURN(Tensor dx, internal::NewTensor(x.shape(), x.device()));
  if (x.device() == Device::kCuda) {
#if defined(MORPHFIT_NN_WITH_CUDA)
    MORPHFIT_RETURN_IF_ERROR(internal::FromCuda(
        nn_cuda::Conv2dForward(g, dy.device_data(), w.device_data(), nullptr, dx.device_data()), op));
    if (dw) {
      MORPHFIT_RETURN_IF_ERROR(internal::FromCuda(
          nn_cuda::Conv2dBackward(g, dy.device_data(), w.device_data(), x.device_data(), nullptr,
                                  dw->device_data(), nullptr), op));
    }
    if (db) {
      MORPHFIT_RETURN_IF_ERROR(internal::FromCuda(
          nn_cuda::ChannelSumAccumulate(g.n, g.c_in, g.h * g.w, dy.device_data(), db->device_data()),
          op));
    }
#endif
    return dx;
  }
  cpu::Conv2dForward<float>(g, dy.data(), w.data(), nullptr, dx.data());
  if (dw) cpu::Conv2dBackwardWeight<float>(g, dy.data(), x.data(), dw->data());
  if (db) cpu::BiasBackward<float>(g.n, g.c_in, g.h * g.w, dy.data(), db->data());
  return dx;
}

}  // namespace morphfit::nn
