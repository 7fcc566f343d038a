// Convolution and linear layers on the device: im2col / col2im kernels (index map from
// nn/kernels/conv_geometry.h, shared with the CPU) and cuBLAS SGEMM. CPU twins:
// nn::reference::Conv2dForward/Backward and LinearForward/Backward.
#include "nn/conv_cuda.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "morphfit/nn/kernels/gather.h"
#include "morphfit/nn/kernels/gemm_layout.h"
#include "nn/conv_cudnn.h"
#include "nn/device_memory.h"
#include "nn/launch.cuh"

namespace morphfit::nn_cuda {
namespace {

using nn::Conv2dGeometry;
using launch::Blocks;
using launch::kThreads;
using launch::Stream;
using launch::Sync;

cublasHandle_t Handle(std::string* error) {
  static cublasHandle_t handle = nullptr;
  if (handle == nullptr && cublasCreate(&handle) != CUBLAS_STATUS_SUCCESS) {
    *error = "cublasCreate failed";
    handle = nullptr;
  }
  return handle;
}

// Row-major C [m, n] = op(A) op(B) + beta C with op(A) [m, k], op(B) [k, n]; the column-major
// cuBLAS arguments come from nn::RowMajorGemmAsColumnMajor (checked on the CPU in
// tests/nn/gemm_layout_test.cc).
std::string Gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a,
                 const float* b, float* c, float beta) {
  if (m == 0 || n == 0) return "";
  std::string error;
  cublasHandle_t h = Handle(&error);
  if (!h) return error;
  if (cublasSetStream(h, Stream()) != CUBLAS_STATUS_SUCCESS) return "cublasSetStream failed";
  const nn::ColumnMajorGemm call = nn::RowMajorGemmAsColumnMajor(trans_a, trans_b, m, n, k);
  const float alpha = 1.0f;
  const auto i = [](int64_t v) { return static_cast<int>(v); };
  const cublasStatus_t s = cublasSgemm(
      h, call.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, call.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
      i(call.m), i(call.n), i(call.k), &alpha, b, i(call.lda), a, i(call.ldb), &beta, c,
      i(call.ldc));
  return s == CUBLAS_STATUS_SUCCESS ? "" : "cublasSgemm failed (status " + std::to_string(s) + ")";
}

// cols [col_rows, out_h * out_w] of one group of one image.
__global__ void Im2colKernel(Conv2dGeometry g, const float* x_group, float* cols) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  const int64_t num_cols = g.col_cols();
  if (i >= g.col_rows() * num_cols) return;
  const int64_t row = i / num_cols, col = i % num_cols;
  int64_t c, ih, iw;
  cols[i] = nn::Im2colSource(g, row, col / g.out_w, col % g.out_w, &c, &ih, &iw)
                ? x_group[(c * g.h + ih) * g.w + iw]
                : 0.0f;
}

// dx_group [c_in/groups, h, w] = gather of cols (nn/kernels/gather.h): one thread per input
// pixel, fixed order (deterministic, no atomics).
__global__ void Col2imKernel(Conv2dGeometry g, const float* cols, float* dx_group) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i >= g.c_in_per_group() * g.h * g.w) return;
  dx_group[i] = nn::Col2imGather(g, cols, i / (g.w * g.h), (i / g.w) % g.h, i % g.w);
}

// y [n, c, hw] += b[c].
__global__ void AddBiasKernel(int64_t n, int64_t c, int64_t hw, const float* b, float* y) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n * c * hw) y[i] += b[(i / hw) % c];
}

// db[ch] += sum over n and hw of dy [n, c, hw]: one block per channel, fixed-order tree sum.
__global__ void BiasGradKernel(int64_t n, int64_t c, int64_t hw, const float* dy, float* db) {
  __shared__ double partial[kThreads];
  const int64_t ch = blockIdx.x;
  double sum = 0.0;
  for (int64_t k = threadIdx.x; k < n * hw; k += blockDim.x) sum += dy[((k / hw) * c + ch) * hw + k % hw];
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) partial[threadIdx.x] += partial[threadIdx.x + s];
    __syncthreads();
  }
  if (threadIdx.x == 0) db[ch] += static_cast<float>(partial[0]);
}

bool IsPointwise(const Conv2dGeometry& g) {
  return g.kh == 1 && g.kw == 1 && g.stride == 1 && g.pad == 0;
}

// A scratch device buffer released on scope exit.
struct Scratch {
  float* ptr = nullptr;
  std::string Reserve(int64_t n) {
    void* p = nullptr;
    std::string e = Allocate(static_cast<size_t>(n > 0 ? n : 1) * sizeof(float), &p);
    ptr = static_cast<float*>(p);
    return e;
  }
  ~Scratch() { Free(ptr); }
};

}  // namespace

std::string Conv2dForward(const Conv2dGeometry& g, const float* x, const float* w, const float* b,
                          float* y) {
  if (GetConvBackend() == ConvBackend::kCudnn) {
    const std::string e = CudnnConv2dForward(g, x, w, y);
    if (!e.empty()) return e;
    if (b) AddBiasKernel<<<Blocks(g.n * g.c_out * g.col_cols()), kThreads, 0, Stream()>>>(
        g.n, g.c_out, g.col_cols(), b, y);
    return Sync("conv2d forward (cuDNN)");
  }
  const int64_t cig = g.c_in_per_group(), cog = g.c_out_per_group();
  const int64_t rows = g.col_rows(), cols = g.col_cols();
  Scratch scratch;
  if (!IsPointwise(g)) {
    const std::string e = scratch.Reserve(rows * cols);
    if (!e.empty()) return e;
  }
  for (int64_t n = 0; n < g.n; ++n) {
    for (int64_t group = 0; group < g.groups; ++group) {
      const float* x_group = x + (n * g.c_in + group * cig) * g.h * g.w;
      const float* col_data = x_group;
      if (!IsPointwise(g)) {
        Im2colKernel<<<Blocks(rows * cols), kThreads, 0, Stream()>>>(g, x_group, scratch.ptr);
        col_data = scratch.ptr;
      }
      const std::string e = Gemm(false, false, cog, cols, rows, w + group * cog * rows, col_data,
                                 y + (n * g.c_out + group * cog) * cols, 0.0f);
      if (!e.empty()) return e;
    }
  }
  if (b) AddBiasKernel<<<Blocks(g.n * g.c_out * cols), kThreads, 0, Stream()>>>(
      g.n, g.c_out, cols, b, y);
  return Sync("conv2d forward");
}

std::string Conv2dBackward(const Conv2dGeometry& g, const float* x, const float* w,
                           const float* dy, float* dx, float* dw, float* db) {
  if (GetConvBackend() == ConvBackend::kCudnn) {
    const std::string e = CudnnConv2dBackward(g, x, w, dy, dx, dw);
    if (!e.empty()) return e;
    if (db) BiasGradKernel<<<static_cast<unsigned>(g.c_out), kThreads, 0, Stream()>>>(
        g.n, g.c_out, g.col_cols(), dy, db);
    return Sync("conv2d backward (cuDNN)");
  }
  const int64_t cig = g.c_in_per_group(), cog = g.c_out_per_group();
  const int64_t rows = g.col_rows(), cols = g.col_cols();
  Scratch scratch;
  const std::string reserve = scratch.Reserve(rows * cols);
  if (!reserve.empty()) return reserve;
  for (int64_t n = 0; n < g.n; ++n) {
    for (int64_t group = 0; group < g.groups; ++group) {
      const float* grad = dy + (n * g.c_out + group * cog) * cols;
      const float* weights = w + group * cog * rows;
      const float* x_group = x ? x + (n * g.c_in + group * cig) * g.h * g.w : nullptr;  // dw only
      float* dx_group = dx ? dx + (n * g.c_in + group * cig) * g.h * g.w : nullptr;
      std::string e;
      if (dw) {
        const float* col_data = x_group;
        if (!IsPointwise(g)) {
          Im2colKernel<<<Blocks(rows * cols), kThreads, 0, Stream()>>>(g, x_group, scratch.ptr);
          col_data = scratch.ptr;
        }
        e = Gemm(false, true, cog, rows, cols, grad, col_data, dw + group * cog * rows, 1.0f);
        if (!e.empty()) return e;
      }
      if (dx_group) {
        if (IsPointwise(g)) {
          e = Gemm(true, false, rows, cols, cog, weights, grad, dx_group, 0.0f);
        } else {
          e = Gemm(true, false, rows, cols, cog, weights, grad, scratch.ptr, 0.0f);
          Col2imKernel<<<Blocks(cig * g.h * g.w), kThreads, 0, Stream()>>>(
              g, scratch.ptr, dx_group);
        }
        if (!e.empty()) return e;
      }
    }
  }
  if (db) BiasGradKernel<<<static_cast<unsigned>(g.c_out), kThreads, 0, Stream()>>>(
      g.n, g.c_out, cols, dy, db);
  return Sync("conv2d backward");
}

std::string LinearForward(int64_t n, int64_t in, int64_t out, const float* x, const float* w,
                          const float* b, float* y) {
  const std::string e = Gemm(false, true, n, out, in, x, w, y, 0.0f);
  if (!e.empty()) return e;
  if (b) AddBiasKernel<<<Blocks(n * out), kThreads, 0, Stream()>>>(n, out, 1, b, y);
  return Sync("linear forward");
}

std::string LinearBackward(int64_t n, int64_t in, int64_t out, const float* x, const float* w,
                           const float* dy, float* dx, float* dw, float* db) {
  std::string e;
  if (dx) e = Gemm(false, false, n, in, out, dy, w, dx, 0.0f);
  if (e.empty() && dw) e = Gemm(true, false, out, in, n, dy, x, dw, 1.0f);
  if (!e.empty()) return e;
  if (db) BiasGradKernel<<<static_cast<unsigned>(out), kThreads, 0, Stream()>>>(n, out, 1, dy, db);
  return Sync("linear backward");
}

std::string AddChannelBias(int64_t n, int64_t c, int64_t hw, const float* b, float* y) {
  if (n * c * hw > 0) AddBiasKernel<<<Blocks(n * c * hw), kThreads, 0, Stream()>>>(n, c, hw, b, y);
  return Sync("add channel bias");
}

std::string ChannelSumAccumulate(int64_t n, int64_t c, int64_t hw, const float* dy, float* db) {
  if (c > 0) BiasGradKernel<<<static_cast<unsigned>(c), kThreads, 0, Stream()>>>(n, c, hw, dy, db);
  return Sync("channel sum");
}

}  // namespace morphfit::nn_cuda
