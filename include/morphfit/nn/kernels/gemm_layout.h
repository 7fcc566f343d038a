// Row-major GEMM expressed as a column-major BLAS call (cuBLAS): C [m, n] = op(A) op(B) with
// op(A) [m, k] and op(B) [k, n], all row-major, is C^T = op(B)^T op(A)^T in column-major terms,
// i.e. the BLAS call with the operands swapped. Kept apart from the CUDA code so the CPU tests
// can check the mapping against a column-major reference GEMM.
#ifndef MORPHFIT_NN_KERNELS_GEMM_LAYOUT_H_
#define MORPHFIT_NN_KERNELS_GEMM_LAYOUT_H_

#include <cstdint>

namespace morphfit::nn {

// Arguments of a column-major sgemm(transa, transb, m, n, k, alpha, A, lda, B, ldb, beta, C,
// ldc). `a_is_rhs`: the BLAS A operand is the row-major right-hand side B (always true here;
// spelled out for the reader).
struct ColumnMajorGemm {
  bool trans_a = false, trans_b = false;
  int64_t m = 0, n = 0, k = 0;
  int64_t lda = 0, ldb = 0, ldc = 0;
  bool a_is_rhs = true;
};

// The column-major call computing row-major C [m, n] = op(A) op(B), where A is stored [m, k]
// (or [k, m] when trans_a) and B [k, n] (or [n, k] when trans_b), both row-major and dense.
inline ColumnMajorGemm RowMajorGemmAsColumnMajor(bool trans_a, bool trans_b, int64_t m,
                                                 int64_t n, int64_t k) {
  ColumnMajorGemm call;
  call.trans_a = trans_b;  // the BLAS A operand is our B
  call.trans_b = trans_a;  // the BLAS B operand is our A
  call.m = n;
  call.n = m;
  call.k = k;
  call.lda = trans_b ? k : n;  // row length of our B as stored
  call.ldb = trans_a ? m : k;  // row length of our A as stored
  call.ldc = n;
  return call;
}

}  // namespace morphfit::nn

#endif  // MORPHFIT_NN_KERNELS_GEMM_LAYOUT_H_
