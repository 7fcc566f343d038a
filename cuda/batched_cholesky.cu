// Batched Cholesky solve (batched_cholesky.h).
#include <cuda_runtime.h>

#include <cmath>

#include "batched_cholesky.h"
#include "render_device_buffer.cuh"

namespace morphfit::cuda {
namespace {

constexpr int kThreads = 256;

// Block b factorises and solves system b in place: a (n x n, column-major, its lower triangle
// becomes L), v (rhs in, solution out).
__global__ void __launch_bounds__(kThreads)
    CholeskySolveKernel(int n, const int* __restrict__ sizes, double* __restrict__ a,
                        double* __restrict__ v, int* __restrict__ info) {
  __shared__ int failed;
  __shared__ double pivot;
  const int b = blockIdx.x, tid = threadIdx.x;
  const int m = sizes != nullptr ? sizes[b] : n;
  double* A = a + static_cast<int64_t>(b) * n * n;  // A[col * n + row]
  double* x = v + static_cast<int64_t>(b) * n;
  if (tid == 0) failed = 0;
  __syncthreads();
  for (int k = 0; k < m; ++k) {
    if (tid == 0) {
      const double d = A[k * n + k];
      if (!(d > 0.0)) {
        failed = k + 1;
      } else {
        pivot = sqrt(d);
        A[k * n + k] = pivot;
      }
    }
    __syncthreads();
    if (failed != 0) break;
    double* col = A + static_cast<int64_t>(k) * n;
    for (int i = k + 1 + tid; i < m; i += kThreads) col[i] /= pivot;
    __syncthreads();
    // Trailing lower triangle: A(i, j) -= L(i, k) L(j, k) for k < j <= i < m; consecutive
    // threads take consecutive rows of one column (coalesced).
    const int r = m - k - 1;
    for (int e = tid; e < r * r; e += kThreads) {
      const int j = e / r, i = e % r;
      if (i >= j)
        A[static_cast<int64_t>(k + 1 + j) * n + k + 1 + i] -= col[k + 1 + i] * col[k + 1 + j];
    }
    __syncthreads();
  }
  if (failed != 0) {
    for (int i = tid; i < n; i += kThreads) x[i] = 0.0;
    if (tid == 0) info[b] = failed;
    return;
  }
  for (int i = m + tid; i < n; i += kThreads) x[i] = 0.0;
  // L y = rhs (forward, column by column).
  for (int k = 0; k < m; ++k) {
    if (tid == 0) x[k] /= A[static_cast<int64_t>(k) * n + k];
    __syncthreads();
    const double* col = A + static_cast<int64_t>(k) * n;
    for (int i = k + 1 + tid; i < m; i += kThreads) x[i] -= col[i] * x[k];
    __syncthreads();
  }
  // Lᵀ x = y (backward): x_k /= L(k, k), then x_i -= L(k, i) x_k for i < k.
  for (int k = m - 1; k >= 0; --k) {
    if (tid == 0) x[k] /= A[static_cast<int64_t>(k) * n + k];
    __syncthreads();
    for (int i = tid; i < k; i += kThreads) x[i] -= A[static_cast<int64_t>(i) * n + k] * x[k];
    __syncthreads();
  }
  if (tid == 0) info[b] = 0;
}

}  // namespace

std::string CholeskySolveBatchCuda(int n, int batch, const int* sizes, const double* a,
                                   const double* rhs, std::vector<double>* x,
                                   std::vector<int>* info) {
  if (n <= 0 || batch < 0) return "CholeskySolveBatchCuda: n must be > 0 and batch >= 0";
  if (batch > 0 && (a == nullptr || rhs == nullptr)) {
    return "CholeskySolveBatchCuda: null matrix or right-hand side";
  }
  if (sizes != nullptr) {
    for (int b = 0; b < batch; ++b) {
      if (sizes[b] < 1 || sizes[b] > n) {
        return "CholeskySolveBatchCuda: system " + std::to_string(b) + " has size " +
               std::to_string(sizes[b]) + ", expected 1.." + std::to_string(n);
      }
    }
  }
  x->assign(static_cast<size_t>(batch) * n, 0.0);
  info->assign(batch, 0);
  if (batch == 0) return {};
  const size_t nn = static_cast<size_t>(n) * n * batch;
  DeviceBuffer<double> d_a, d_x;
  DeviceBuffer<int> d_sizes, d_info;
  std::string e = d_a.Upload(a, nn, "matrices");
  if (e.empty()) e = d_x.Upload(rhs, static_cast<size_t>(batch) * n, "right-hand sides");
  if (e.empty() && sizes != nullptr) e = d_sizes.Upload(sizes, batch, "sizes");
  if (e.empty()) e = d_info.Allocate(batch, "info");
  if (!e.empty()) return e;
  CholeskySolveKernel<<<batch, kThreads>>>(n, sizes != nullptr ? d_sizes.get() : nullptr, d_a.get(),
                                           d_x.get(), d_info.get());
  e = CheckKernels("CholeskySolveKernel");
  if (e.empty()) e = d_x.Download(x->data(), x->size(), "solutions");
  if (e.empty()) e = d_info.Download(info->data(), info->size(), "info");
  return e;
}

}  // namespace morphfit::cuda
