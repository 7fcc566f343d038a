// Batch normalisation over (N, H, W) per channel of an NCHW tensor x [n, c, hw]:
// y = gamma (x - mean) / sqrt(var + eps) + beta. Training uses the batch's mean and biased
// variance and saves mean and 1/sqrt(var + eps) for backward; evaluation uses running
// statistics. Statistics accumulate in double. CPU reference and CUDA twin semantics.
#ifndef MORPHFIT_NN_KERNELS_BATCH_NORM_H_
#define MORPHFIT_NN_KERNELS_BATCH_NORM_H_

#include <cmath>
#include <cstdint>

namespace morphfit::nn::reference {

// Training forward: writes y, save_mean[c] and save_inv_std[c].
template <typename T>
void BatchNormForwardTrain(int64_t n, int64_t c, int64_t hw, const T* x, const T* gamma,
                           const T* beta, double eps, T* y, T* save_mean, T* save_inv_std) {
  const double count = static_cast<double>(n * hw);
  for (int64_t ch = 0; ch < c; ++ch) {
    double sum = 0.0, sum_sq = 0.0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t p = 0; p < hw; ++p) sum += x[(i * c + ch) * hw + p];
    const double mean = sum / count;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t p = 0; p < hw; ++p) {
        const double d = x[(i * c + ch) * hw + p] - mean;
        sum_sq += d * d;
      }
    const double inv_std = 1.0 / std::sqrt(sum_sq / count + eps);
    save_mean[ch] = static_cast<T>(mean);
    save_inv_std[ch] = static_cast<T>(inv_std);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t p = 0; p < hw; ++p) {
        const int64_t k = (i * c + ch) * hw + p;
        y[k] = static_cast<T>(gamma[ch] * ((x[k] - mean) * inv_std) + beta[ch]);
      }
  }
}

// Training backward (the batch statistics depend on x): dx overwritten, dgamma/dbeta += .
template <typename T>
void BatchNormBackwardTrain(int64_t n, int64_t c, int64_t hw, const T* x, const T* gamma,
                            const T* save_mean, const T* save_inv_std, const T* dy, T* dx,
                            T* dgamma, T* dbeta) {
  const double count = static_cast<double>(n * hw);
  for (int64_t ch = 0; ch < c; ++ch) {
    const double mean = save_mean[ch], inv_std = save_inv_std[ch];
    double sum_dy = 0.0, sum_dy_xhat = 0.0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t p = 0; p < hw; ++p) {
        const int64_t k = (i * c + ch) * hw + p;
        sum_dy += dy[k];
        sum_dy_xhat += dy[k] * (x[k] - mean) * inv_std;
      }
    if (dgamma) dgamma[ch] += static_cast<T>(sum_dy_xhat);
    if (dbeta) dbeta[ch] += static_cast<T>(sum_dy);
    if (!dx) continue;
    const double scale = gamma[ch] * inv_std;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t p = 0; p < hw; ++p) {
        const int64_t k = (i * c + ch) * hw + p;
        const double x_hat = (x[k] - mean) * inv_std;
        dx[k] = static_cast<T>(scale * (dy[k] - sum_dy / count - x_hat * sum_dy_xhat / count));
      }
  }
}

// Evaluation forward with running statistics (an affine map per channel).
template <typename T>
void BatchNormForwardEval(int64_t n, int64_t c, int64_t hw, const T* x, const T* gamma,
                          const T* beta, const T* running_mean, const T* running_var, double eps,
                          T* y) {
  for (int64_t ch = 0; ch < c; ++ch) {
    const double inv_std = 1.0 / std::sqrt(static_cast<double>(running_var[ch]) + eps);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t p = 0; p < hw; ++p) {
        const int64_t k = (i * c + ch) * hw + p;
        y[k] = static_cast<T>(gamma[ch] * ((x[k] - running_mean[ch]) * inv_std) + beta[ch]);
      }
  }
}

// Evaluation backward (statistics are constants).
template <typename T>
void BatchNormBackwardEval(int64_t n, int64_t c, int64_t hw, const T* x, const T* gamma,
                           const T* running_mean, const T* running_var, double eps, const T* dy,
                           T* dx, T* dgamma, T* dbeta) {
  for (int64_t ch = 0; ch < c; ++ch) {
    const double inv_std = 1.0 / std::sqrt(static_cast<double>(running_var[ch]) + eps);
    double sum_dy = 0.0, sum_dy_xhat = 0.0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t p = 0; p < hw; ++p) {
        const int64_t k = (i * c + ch) * hw + p;
        sum_dy += dy[k];
        sum_dy_xhat += dy[k] * (x[k] - running_mean[ch]) * inv_std;
        if (dx) dx[k] = static_cast<T>(dy[k] * gamma[ch] * inv_std);
      }
    if (dgamma) dgamma[ch] += static_cast<T>(sum_dy_xhat);
    if (dbeta) dbeta[ch] += static_cast<T>(sum_dy);
  }
}

}  // namespace morphfit::nn::reference

#endif  // MORPHFIT_NN_KERNELS_BATCH_NORM_H_
