// Elementwise, batch-norm and pooling kernels (pointwise_cuda.h). Formulas come from
// nn/kernels/{activation,pool}.h; reductions are fixed-order block tree sums in double, so
// results are deterministic. CPU twins: the nn::reference functions of the same names.
#include "nn/pointwise_cuda.h"

#include <cuda_runtime.h>

#include "morphfit/nn/kernels/gather.h"
#include "nn/launch.cuh"

namespace morphfit::nn_cuda {
namespace {

using nn::Pool2dGeometry;
using launch::Blocks;
using launch::kThreads;
using launch::Stream;
using launch::Sync;


#define MORPHFIT_NN_INDEX()                                                   \
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x

__global__ void ActivationForwardKernel(nn::Activation a, float slope, int64_t n, const float* x,
                                        float* y) {
  MORPHFIT_NN_INDEX();
  if (i < n) y[i] = nn::ActivationValue(a, x[i], slope);
}

__global__ void ActivationBackwardKernel(nn::Activation a, float slope, int64_t n, const float* x,
                                         const float* y, const float* dy, float* dx) {
  MORPHFIT_NN_INDEX();
  if (i < n) dx[i] = dy[i] * nn::ActivationDerivative(a, x[i], y[i], slope);
}

__global__ void AddKernel(int64_t n, const float* a, const float* b, float* y) {
  MORPHFIT_NN_INDEX();
  if (i < n) y[i] = a[i] + b[i];
}

__global__ void MultiplyKernel(int64_t n, const float* a, const float* b, float* y) {
  MORPHFIT_NN_INDEX();
  if (i < n) y[i] = a[i] * b[i];
}

// Sum of v over the block (blockDim.x == kThreads), valid in every thread.
__device__ double BlockSum(double v, double* shared) {
  shared[threadIdx.x] = v;
  __syncthreads();
  for (int s = kThreads / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) shared[threadIdx.x] += shared[threadIdx.x + s];
    __syncthreads();
  }
  const double total = shared[0];
  __syncthreads();
  return total;
}

// One block per channel of x [n, c, hw].
__global__ void BatchNormTrainKernel(int64_t n, int64_t c, int64_t hw, const float* x,
                                     const float* gamma, const float* beta, double eps,
                                     double momentum, float* y, float* save_mean,
                                     float* save_inv_std, float* running_mean,
                                     float* running_var) {
  __shared__ double shared[kThreads];
  const int64_t ch = blockIdx.x, count = n * hw;
  double sum = 0.0;
  for (int64_t k = threadIdx.x; k < count; k += blockDim.x) sum += x[((k / hw) * c + ch) * hw + k % hw];
  const double mean = BlockSum(sum, shared) / count;
  double sq = 0.0;
  for (int64_t k = threadIdx.x; k < count; k += blockDim.x) {
    const double d = x[((k / hw) * c + ch) * hw + k % hw] - mean;
    sq += d * d;
  }
  const double var = BlockSum(sq, shared) / count;
  const double inv_std = 1.0 / sqrt(var + eps);
  for (int64_t k = threadIdx.x; k < count; k += blockDim.x) {
    const int64_t idx = ((k / hw) * c + ch) * hw + k % hw;
    y[idx] = static_cast<float>(gamma[ch] * ((x[idx] - mean) * inv_std) + beta[ch]);
  }
  if (threadIdx.x == 0) {
    save_mean[ch] = static_cast<float>(mean);
    save_inv_std[ch] = static_cast<float>(inv_std);
    const double unbiased = count > 1 ? var * count / (count - 1) : var;
    if (running_mean) running_mean[ch] = static_cast<float>((1 - momentum) * running_mean[ch] + momentum * mean);
    if (running_var) running_var[ch] = static_cast<float>((1 - momentum) * running_var[ch] + momentum * unbiased);
  }
}

// One block per channel. `training` selects whether the statistics depend on x.
__global__ void BatchNormBackwardKernel(bool training, int64_t n, int64_t c, int64_t hw,
                                        const float* x, const float* gamma, const float* mean_in,
                                        const float* stat_in, double eps, const float* dy,
                                        float* dx, float* dgamma, float* dbeta) {
  __shared__ double shared[kThreads];
  const int64_t ch = blockIdx.x, count = n * hw;
  const double mean = mean_in[ch];
  // training: stat_in is save_inv_std; evaluation: stat_in is running_var.
  const double inv_std = training ? static_cast<double>(stat_in[ch]) : 1.0 / sqrt(stat_in[ch] + eps);
  double s_dy = 0.0, s_dy_xhat = 0.0;
  for (int64_t k = threadIdx.x; k < count; k += blockDim.x) {
    const int64_t idx = ((k / hw) * c + ch) * hw + k % hw;
    s_dy += dy[idx];
    s_dy_xhat += dy[idx] * (x[idx] - mean) * inv_std;
  }
  const double sum_dy = BlockSum(s_dy, shared), sum_dy_xhat = BlockSum(s_dy_xhat, shared);
  if (threadIdx.x == 0) {
    if (dgamma) dgamma[ch] += static_cast<float>(sum_dy_xhat);
    if (dbeta) dbeta[ch] += static_cast<float>(sum_dy);
  }
  if (!dx) return;
  const double scale = gamma[ch] * inv_std;
  for (int64_t k = threadIdx.x; k < count; k += blockDim.x) {
    const int64_t idx = ((k / hw) * c + ch) * hw + k % hw;
    if (training) {
      const double x_hat = (x[idx] - mean) * inv_std;
      dx[idx] = static_cast<float>(scale * (dy[idx] - sum_dy / count - x_hat * sum_dy_xhat / count));
    } else {
      dx[idx] = static_cast<float>(dy[idx] * scale);
    }
  }
}

__global__ void BatchNormEvalKernel(int64_t n, int64_t c, int64_t hw, const float* x,
                                    const float* gamma, const float* beta, const float* mean,
                                    const float* var, double eps, float* y) {
  MORPHFIT_NN_INDEX();
  if (i >= n * c * hw) return;
  const int64_t ch = (i / hw) % c;
  const double inv_std = 1.0 / sqrt(static_cast<double>(var[ch]) + eps);
  y[i] = static_cast<float>(gamma[ch] * ((x[i] - mean[ch]) * inv_std) + beta[ch]);
}

__global__ void MaxPoolForwardKernel(Pool2dGeometry g, const float* x, float* y) {
  MORPHFIT_NN_INDEX();
  if (i >= g.n * g.c * g.out_h * g.out_w) return;
  const int64_t ow = i % g.out_w, oh = (i / g.out_w) % g.out_h, plane = i / (g.out_w * g.out_h);
  const float* in = x + plane * g.h * g.w;
  y[i] = in[nn::PoolWindowArgmax(g, in, oh, ow)];
}

// One thread per input pixel (nn/kernels/gather.h): sums dy of every window whose maximum it is.
__global__ void MaxPoolBackwardKernel(Pool2dGeometry g, const float* x, const float* dy, float* dx) {
  MORPHFIT_NN_INDEX();
  if (i >= g.n * g.c * g.h * g.w) return;
  const int64_t plane = i / (g.w * g.h);
  dx[i] = nn::MaxPoolGather(g, x + plane * g.h * g.w, dy + plane * g.out_h * g.out_w,
                            (i / g.w) % g.h, i % g.w);
}

__global__ void AvgPoolForwardKernel(Pool2dGeometry g, const float* x, float* y) {
  MORPHFIT_NN_INDEX();
  if (i >= g.n * g.c * g.out_h * g.out_w) return;
  const int64_t ow = i % g.out_w, oh = (i / g.out_w) % g.out_h, plane = i / (g.out_w * g.out_h);
  int64_t h0, h1, w0, w1;
  nn::PoolWindow(g, oh, ow, &h0, &h1, &w0, &w1);
  float sum = 0.0f;
  for (int64_t ih = h0; ih < h1; ++ih)
    for (int64_t iw = w0; iw < w1; ++iw) sum += x[(plane * g.h + ih) * g.w + iw];
  y[i] = sum / static_cast<float>((h1 - h0) * (w1 - w0));
}

__global__ void AvgPoolBackwardKernel(Pool2dGeometry g, const float* dy, float* dx) {
  MORPHFIT_NN_INDEX();
  if (i >= g.n * g.c * g.h * g.w) return;
  const int64_t plane = i / (g.w * g.h);
  dx[i] = nn::AvgPoolGather(g, dy + plane * g.out_h * g.out_w, (i / g.w) % g.h, i % g.w);
}

// One block per plane.
__global__ void GlobalAvgPoolKernel(int64_t hw, const float* x, float* y) {
  __shared__ double shared[kThreads];
  const int64_t plane = blockIdx.x;
  double sum = 0.0;
  for (int64_t p = threadIdx.x; p < hw; p += blockDim.x) sum += x[plane * hw + p];
  const double total = BlockSum(sum, shared);
  if (threadIdx.x == 0) y[plane] = static_cast<float>(total / hw);
}

__global__ void GlobalAvgPoolBackwardKernel(int64_t planes, int64_t hw, const float* dy, float* dx) {
  MORPHFIT_NN_INDEX();
  if (i < planes * hw) dx[i] = dy[i / hw] / static_cast<float>(hw);
}

}  // namespace

std::string ActivationForward(nn::Activation a, float slope, int64_t n, const float* x, float* y) {
  if (n > 0) ActivationForwardKernel<<<Blocks(n), kThreads, 0, Stream()>>>(a, slope, n, x, y);
  return Sync("activation forward");
}

std::string ActivationBackward(nn::Activation a, float slope, int64_t n, const float* x,
                               const float* y, const float* dy, float* dx) {
  if (n > 0) ActivationBackwardKernel<<<Blocks(n), kThreads, 0, Stream()>>>(
      a, slope, n, x, y, dy, dx);
  return Sync("activation backward");
}

std::string Add(int64_t n, const float* a, const float* b, float* y) {
  if (n > 0) AddKernel<<<Blocks(n), kThreads, 0, Stream()>>>(n, a, b, y);
  return Sync("add");
}

std::string Multiply(int64_t n, const float* a, const float* b, float* y) {
  if (n > 0) MultiplyKernel<<<Blocks(n), kThreads, 0, Stream()>>>(n, a, b, y);
  return Sync("multiply");
}

std::string BatchNormForwardTrain(int64_t n, int64_t c, int64_t hw, const float* x,
                                  const float* gamma, const float* beta, double eps,
                                  double momentum, float* y, float* save_mean,
                                  float* save_inv_std, float* running_mean, float* running_var) {
  BatchNormTrainKernel<<<static_cast<unsigned>(c), kThreads, 0, Stream()>>>(
      n, c, hw, x, gamma, beta, eps, momentum, y, save_mean, save_inv_std, running_mean, running_var);
  return Sync("batch norm forward (train)");
}

std::string BatchNormBackwardTrain(int64_t n, int64_t c, int64_t hw, const float* x,
                                   const float* gamma, const float* save_mean,
                                   const float* save_inv_std, const float* dy, float* dx,
                                   float* dgamma, float* dbeta) {
  BatchNormBackwardKernel<<<static_cast<unsigned>(c), kThreads, 0, Stream()>>>(
      true, n, c, hw, x, gamma, save_mean, save_inv_std, 0.0, dy, dx, dgamma, dbeta);
  return Sync("batch norm backward (train)");
}

std::string BatchNormForwardEval(int64_t n, int64_t c, int64_t hw, const float* x,
                                 const float* gamma, const float* beta, const float* running_mean,
                                 const float* running_var, double eps, float* y) {
  if (n * c * hw > 0) {
    BatchNormEvalKernel<<<Blocks(n * c * hw), kThreads, 0, Stream()>>>(
        n, c, hw, x, gamma, beta, running_mean,
                                                          running_var, eps, y);
  }
  return Sync("batch norm forward (eval)");
}

std::string BatchNormBackwardEval(int64_t n, int64_t c, int64_t hw, const float* x,
                                  const float* gamma, const float* running_mean,
                                  const float* running_var, double eps, const float* dy, float* dx,
                                  float* dgamma, float* dbeta) {
  BatchNormBackwardKernel<<<static_cast<unsigned>(c), kThreads, 0, Stream()>>>(
      false, n, c, hw, x, gamma, running_mean, running_var, eps, dy, dx, dgamma, dbeta);
  return Sync("batch norm backward (eval)");
}

std::string MaxPool2dForward(const Pool2dGeometry& g, const float* x, float* y) {
  MaxPoolForwardKernel<<<Blocks(g.n * g.c * g.out_h * g.out_w), kThreads, 0, Stream()>>>(g, x, y);
  return Sync("max pool forward");
}

std::string MaxPool2dBackward(const Pool2dGeometry& g, const float* x, const float* dy, float* dx) {
  MaxPoolBackwardKernel<<<Blocks(g.n * g.c * g.h * g.w), kThreads, 0, Stream()>>>(g, x, dy, dx);
  return Sync("max pool backward");
}

std::string AvgPool2dForward(const Pool2dGeometry& g, const float* x, float* y) {
  AvgPoolForwardKernel<<<Blocks(g.n * g.c * g.out_h * g.out_w), kThreads, 0, Stream()>>>(g, x, y);
  return Sync("avg pool forward");
}

std::string AvgPool2dBackward(const Pool2dGeometry& g, const float* dy, float* dx) {
  AvgPoolBackwardKernel<<<Blocks(g.n * g.c * g.h * g.w), kThreads, 0, Stream()>>>(g, dy, dx);
  return Sync("avg pool backward");
}

std::string GlobalAvgPoolForward(int64_t n, int64_t c, int64_t hw, const float* x, float* y) {
  GlobalAvgPoolKernel<<<static_cast<unsigned>(n * c), kThreads, 0, Stream()>>>(hw, x, y);
  return Sync("global avg pool forward");
}

std::string GlobalAvgPoolBackward(int64_t n, int64_t c, int64_t hw, const float* dy, float* dx) {
  if (n * c * hw > 0) GlobalAvgPoolBackwardKernel<<<Blocks(n * c * hw), kThreads, 0, Stream()>>>(
      n * c, hw, dy, dx);
  return Sync("global avg pool backward");
}

}  // namespace morphfit::nn_cuda
