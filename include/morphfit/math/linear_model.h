// Evaluation of a linear model value = mean + basis * coeffs, one output row at a time: the
// per-element formula shared by the CPU reference loop (EvaluateLinearModelReference) and the
// CUDA kernel (cuda/model_eval.cu). Layout: `basis` is column-major rows x num_modes (column k
// starts at basis + k * rows), as MorphableModel stores it.
#ifndef MORPHFIT_MATH_LINEAR_MODEL_H_
#define MORPHFIT_MATH_LINEAR_MODEL_H_

#include <cstdint>

#include "morphfit/math/hd.h"

namespace morphfit::math {

// Row `row` of mean + basis * coeffs, accumulated in mode order 0..num_modes-1.
template <typename T>
MORPHFIT_HD T LinearModelRow(const float* mean, const float* basis, int64_t rows, int num_modes,
                             const T* coeffs, int64_t row) {
  T value = static_cast<T>(mean[row]);
  for (int k = 0; k < num_modes; ++k) {
    value += static_cast<T>(basis[row + static_cast<int64_t>(k) * rows]) * coeffs[k];
  }
  return value;
}

// CPU reference for a batch: out[b * rows + r] = LinearModelRow(..., coeffs + b * num_modes, r).
// Plain loops, no threads: the twin that CUDA results are compared against.
inline void EvaluateLinearModelReference(const float* mean, const float* basis, int64_t rows,
                                         int num_modes, const float* coeffs, int batch,
                                         float* out) {
  for (int b = 0; b < batch; ++b) {
    for (int64_t r = 0; r < rows; ++r) {
      out[b * rows + r] =
          LinearModelRow<float>(mean, basis, rows, num_modes, coeffs + b * num_modes, r);
    }
  }
}

}  // namespace morphfit::math

#endif  // MORPHFIT_MATH_LINEAR_MODEL_H_
