// Tensor-level ops: shape checks, then dispatch to the CPU kernels (nn/kernels) or, for tensors
// on a CUDA device, to the CUDA kernels (cuda/nn). Every op has a forward and a backward.
// Conventions: activations are NCHW; backward returns dL/dx as a new tensor and ADDS parameter
// gradients into the given tensors (dw, db, dgamma, dbeta; null = not needed), which must have
// the parameter's shape. Errors: InvalidArgument naming the op, the argument, the expected and
// the found shape; FailedPrecondition for tensors on different devices. Every op runs on both
// backends.
#ifndef MORPHFIT_NN_OPS_H_
#define MORPHFIT_NN_OPS_H_

#include <cstdint>
#include "morphfit/core/status.h"
#include "morphfit/nn/kernels/activation.h"
#include "morphfit/nn/kernels/conv_geometry.h"
#include "morphfit/nn/kernels/pool.h"
#include "morphfit/nn/tensor.h"

namespace morphfit::nn {

// ---- Convolution (CPU and CUDA) ----------------------------------------------------------
struct Conv2dOptions {
  int64_t stride = 1, pad = 0, dilation = 1;
  int64_t groups = 1;  // c_in and c_out divisible by it; groups == c_in == c_out is depthwise
};
// Validates x [n, c_in, h, w] against w [c_out, c_in / groups, kh, kw] and the options.
StatusOr<Conv2dGeometry> MakeConv2dGeometry(const Shape& x, const Shape& w,
                                            const Conv2dOptions& options, const std::string& op);
// y [n, c_out, out_h, out_w]; b [c_out] or null.
StatusOr<Tensor> Conv2d(const Tensor& x, const Tensor& w, const Tensor* b,
                        const Conv2dOptions& options);
StatusOr<Tensor> Conv2dBackward(const Tensor& x, const Tensor& w, const Tensor& dy,
                                const Conv2dOptions& options, Tensor* dw, Tensor* db);

// ---- Transposed convolution (CPU and CUDA) -------------------------------------------------------
// The adjoint of Conv2d: x [n, c_in, h, w], w [c_in, c_out / groups, kh, kw] (PyTorch layout),
// y [n, c_out, (h - 1) s - 2 pad + dil (k - 1) + output_pad + 1, ...]; output_pad < stride.
struct ConvTranspose2dOptions {
  int64_t stride = 1, pad = 0, dilation = 1, groups = 1, output_pad = 0;
};
// The geometry of the convolution whose data-adjoint this transposed convolution is.
StatusOr<Conv2dGeometry> MakeConvTranspose2dGeometry(const Shape& x, const Shape& w,
                                                     const ConvTranspose2dOptions& options);
StatusOr<Tensor> ConvTranspose2d(const Tensor& x, const Tensor& w, const Tensor* b,
                                 const ConvTranspose2dOptions& options);
StatusOr<Tensor> ConvTranspose2dBackward(const Tensor& x, const Tensor& w, const Tensor& dy,
                                         const ConvTranspose2dOptions& options, Tensor* dw,
                                         Tensor* db);

// ---- Linear (CPU and CUDA) --------------------------------------------------------------
// x [n, ...] is read as [n, in] (in = product of the other dimensions); w [out, in]; b [out] or
// null; y [n, out].
StatusOr<Tensor> Linear(const Tensor& x, const Tensor& w, const Tensor* b);
StatusOr<Tensor> LinearBackward(const Tensor& x, const Tensor& w, const Tensor& dy, Tensor* dw,
                                Tensor* db);

// ---- Batch normalisation over (N, H, W) per channel (CPU and CUDA) ----------------------
// x [n, c, h, w] (or [n, c]); gamma, beta, running stats [c].
struct BatchNormOptions {
  double eps = 1e-5;
  double momentum = 0.1;  // running = (1 - momentum) running + momentum batch (unbiased var)
};
// Training: normalises with batch statistics, updates running_mean/var in place (if given) and
// writes save_mean / save_inv_std [c] for the backward pass.
StatusOr<Tensor> BatchNorm2dTrain(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                  const BatchNormOptions& options, Tensor* running_mean,
                                  Tensor* running_var, Tensor* save_mean, Tensor* save_inv_std);
StatusOr<Tensor> BatchNorm2dBackwardTrain(const Tensor& x, const Tensor& gamma,
                                          const Tensor& save_mean, const Tensor& save_inv_std,
                                          const Tensor& dy, Tensor* dgamma, Tensor* dbeta);
StatusOr<Tensor> BatchNorm2dEval(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                                 const Tensor& running_mean, const Tensor& running_var,
                                 const BatchNormOptions& options);
StatusOr<Tensor> BatchNorm2dBackwardEval(const Tensor& x, const Tensor& gamma,
                                         const Tensor& running_mean, const Tensor& running_var,
                                         const BatchNormOptions& options, const Tensor& dy,
                                         Tensor* dgamma, Tensor* dbeta);

// ---- Activations (CPU and CUDA) ---------------------------------------------------------
// `slope` is LeakyReLU's negative slope. Backward takes x and y = f(x).
StatusOr<Tensor> Activate(Activation a, const Tensor& x, float slope = 0.01f);
StatusOr<Tensor> ActivateBackward(Activation a, const Tensor& x, const Tensor& y,
                                  const Tensor& dy, float slope = 0.01f);

// ---- Pooling (CPU and CUDA) -------------------------------------------------------------
struct Pool2dOptions {
  int64_t kernel = 2, stride = 2, pad = 0;  // pad < kernel
};
StatusOr<Pool2dGeometry> MakePool2dGeometry(const Shape& x, const Pool2dOptions& options,
                                            const std::string& op);
// Max over the unpadded pixels of each window (the first maximum in row-major order wins ties).
StatusOr<Tensor> MaxPool2d(const Tensor& x, const Pool2dOptions& options);
// Routes dy to each window's maximum, recomputed from x.
StatusOr<Tensor> MaxPool2dBackward(const Tensor& x, const Tensor& dy,
                                   const Pool2dOptions& options);
// Average over the unpadded pixels of each window.
StatusOr<Tensor> AvgPool2d(const Tensor& x, const Pool2dOptions& options);
StatusOr<Tensor> AvgPool2dBackward(const Shape& x_shape, const Tensor& dy,
                                   const Pool2dOptions& options);
// x [n, c, h, w] -> y [n, c, 1, 1].
StatusOr<Tensor> GlobalAvgPool(const Tensor& x);
StatusOr<Tensor> GlobalAvgPoolBackward(const Shape& x_shape, const Tensor& dy);

// ---- Structural and elementwise (CPU and CUDA) -------------------------------------------
// y = a + b (same shape; the residual add). Backward is the identity to both inputs.
StatusOr<Tensor> Add(const Tensor& a, const Tensor& b);
// y [n, c_a + c_b, h, w]; backward splits dy into da [n, c_a, h, w] and db.
StatusOr<Tensor> ConcatChannels(const Tensor& a, const Tensor& b);
Status ConcatChannelsBackward(const Tensor& dy, int64_t c_a, Tensor* da, Tensor* db);
// Integer-factor upsampling of x [n, c, h, w] to [n, c, h scale, w scale].
StatusOr<Tensor> UpsampleNearest(const Tensor& x, int64_t scale);
StatusOr<Tensor> UpsampleNearestBackward(const Tensor& dy, int64_t scale);
StatusOr<Tensor> UpsampleBilinear(const Tensor& x, int64_t scale);
StatusOr<Tensor> UpsampleBilinearBackward(const Tensor& dy, int64_t scale);
// y = x / sqrt(|x|^2 + eps) over the channels of each pixel of x [n, c, h, w] (unit normals).
StatusOr<Tensor> L2NormalizeChannels(const Tensor& x, double eps = 1e-12);
StatusOr<Tensor> L2NormalizeChannelsBackward(const Tensor& x, const Tensor& dy,
                                             double eps = 1e-12);
// Inverted-dropout mask of `shape`: each element is 0 with probability p and 1 / (1 - p)
// otherwise, drawn from RngFor(seed, step, stream 0x6d61736b) in element order, so a run is
// reproducible from (seed, step). 0 <= p < 1.
StatusOr<Tensor> DropoutMask(const Shape& shape, double p, uint64_t seed, uint64_t step);
// y = x * mask (dropout forward and backward alike).
StatusOr<Tensor> Multiply(const Tensor& x, const Tensor& mask);

}  // namespace morphfit::nn

#endif  // MORPHFIT_NN_OPS_H_
