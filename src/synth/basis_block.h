// Private to src/synth: the model's linear blocks evaluated for several samples at once, so that
// a basis is read from memory once per block of samples rather than once per sample (the
// renderer's per-sample product reads 12.5 MB of basis for the sample model; at ~4.5 GB/s that
// is most of the renderer's memory traffic).
//
// out(:, j) = mean + B_1 c_1(:, j) + B_2 c_2(:, j) + ..., where each product B_t c_t(:, j) is
// summed over the basis columns in order with fused multiply-adds starting from zero, and the
// products are added to the mean in term order. Every value of column j depends only on the
// model and sample j's coefficients: not on the block's size or other samples, the row range
// or the thread count, so samples render the same whether evaluated alone or in any block.
// This is the sequence of float operations of Eigen 3.4's column-major GEMV vector paths as
// MorphableModel::EvaluateShape / EvaluateAlbedo and the renderer use them (a column chain of
// FMAs per row, then res += chain): equal bit for bit except in Eigen's last (rows mod 4)
// rows, which its scalar loop computes with separately rounded products (1-2 ulp apart), and
// where Eigen would meet a subnormal: in AVX2 + FMA builds subnormals count as zero here (MXCSR
// DAZ + FTZ, restored after; basis_block.cc says why). tests/synth/basis_block_test.cc checks
// 200 random samples of the sample model against EvaluateShape / EvaluateAlbedo.
#ifndef MORPHFIT_SRC_SYNTH_BASIS_BLOCK_H_
#define MORPHFIT_SRC_SYNTH_BASIS_BLOCK_H_

#include <cstdint>
#include <vector>

#include <Eigen/Core>

namespace morphfit::synth::internal {

struct BasisTerm {
  const Eigen::MatrixXf* basis;   // R x K, column-major
  const Eigen::MatrixXf* coeffs;  // K x B (column j = sample j); K may be 0 (the term is skipped)
};

// Rows [row_begin, row_end) of out (R x B, resized by the caller) as above. Terms must agree on
// R and B (programmer error otherwise: CHECK).
void EvaluateBasisRows(const Eigen::VectorXf& mean, const std::vector<BasisTerm>& terms,
                       int64_t row_begin, int64_t row_end, Eigen::MatrixXf* out);

}  // namespace morphfit::synth::internal

#endif  // MORPHFIT_SRC_SYNTH_BASIS_BLOCK_H_
