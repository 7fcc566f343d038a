// The row-major -> column-major GEMM mapping the CUDA backend passes to cuBLAS
// (nn/kernels/gemm_layout.h), checked with a column-major reference sgemm on the CPU for every
// transpose combination the convolution and linear layers use.
#include <gtest/gtest.h>

#include "morphfit/nn/kernels/gemm_layout.h"
#include "tests/nn/op_test_util.h"

namespace morphfit::nn::testing {
namespace {

// Reference BLAS semantics: C = alpha op(A) op(B) + beta C, all column-major.
void ColumnMajorSgemm(const ColumnMajorGemm& g, const double* a, const double* b, double beta,
                      double* c) {
  for (int64_t j = 0; j < g.n; ++j)
    for (int64_t i = 0; i < g.m; ++i) {
      double sum = 0.0;
      for (int64_t l = 0; l < g.k; ++l) {
        const double av = g.trans_a ? a[l + i * g.lda] : a[i + l * g.lda];
        const double bv = g.trans_b ? b[j + l * g.ldb] : b[l + j * g.ldb];
        sum += av * bv;
      }
      c[i + j * g.ldc] = sum + beta * c[i + j * g.ldc];
    }
}

TEST(GemmLayoutTest, RowMajorProductsThroughTheColumnMajorCall) {
  const int64_t m = 5, n = 7, k = 3;
  for (bool trans_a : {false, true}) {
    for (bool trans_b : {false, true}) {
      for (double beta : {0.0, 1.0}) {
        // A stored [m, k] or [k, m]; B stored [k, n] or [n, k]; row-major.
        const Vec a = RandomVec(m * k, 1), b = RandomVec(k * n, 2), c0 = RandomVec(m * n, 3);
        Vec expected(m * n);
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) {
            double sum = 0.0;
            for (int64_t l = 0; l < k; ++l) {
              sum += (trans_a ? a[l * m + i] : a[i * k + l]) * (trans_b ? b[j * k + l] : b[l * n + j]);
            }
            expected[i * n + j] = sum + beta * c0[i * n + j];
          }
        const ColumnMajorGemm call = RowMajorGemmAsColumnMajor(trans_a, trans_b, m, n, k);
        ASSERT_TRUE(call.a_is_rhs);
        Vec c = c0;
        ColumnMajorSgemm(call, b.data(), a.data(), beta, c.data());  // operands swapped
        EXPECT_LT(MaxScaledError(c, expected), 1e-12)
            << "trans_a " << trans_a << " trans_b " << trans_b << " beta " << beta;
      }
    }
  }
}

}  // namespace
}  // namespace morphfit::nn::testing
