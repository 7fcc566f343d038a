// cuda::CholeskySolveBatchCuda against its CPU twin, Eigen's LLT (label gpu; skips with the
// reason without a CUDA device): a batch of random symmetric positive definite systems of
// different sizes (the largest 260, the BFM-size parameter count, so the trailing update and
// both triangular solves cross several 256-thread strides) padded into one slot size, plus a
// system that is not positive definite (info = the failing pivot, as Eigen's LLT fails too).
#include "batched_cholesky.h"

#include <gtest/gtest.h>

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "model_eval.h"

namespace morphfit::cuda {
namespace {

#define MORPHFIT_SKIP_WITHOUT_CUDA()                       \
  do {                                                     \
    std::string reason;                                    \
    if (!DeviceAvailable(&reason)) GTEST_SKIP() << reason; \
  } while (0)

TEST(BatchedCholeskyTest, MatchesEigenLlt) {
  MORPHFIT_SKIP_WITHOUT_CUDA();
  const std::vector<int> sizes = {260, 1, 57, 134, 260, 3};
  const int n = *std::max_element(sizes.begin(), sizes.end());
  const int batch = static_cast<int>(sizes.size()) + 1;  // + one indefinite system
  std::mt19937 gen(3);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> a(static_cast<size_t>(batch) * n * n, 0.0),
      rhs(static_cast<size_t>(batch) * n, 0.0);
  std::vector<Eigen::MatrixXd> mats;
  std::vector<Eigen::VectorXd> bs;
  std::vector<int> all_sizes = sizes;
  all_sizes.push_back(40);
  for (int b = 0; b < batch; ++b) {
    const int m = all_sizes[b];
    const Eigen::MatrixXd g =
        Eigen::MatrixXd::NullaryExpr(2 * m + 5, m, [&] { return normal(gen); });
    // JᵀJ-like (gᵀg well conditioned, ~34), with a spread of column scales as the normal
    // equations have (10^0 .. 10^3: condition up to ~3e7).
    Eigen::VectorXd scale(m);
    for (int i = 0; i < m; ++i) scale[i] = std::pow(10.0, 3.0 * i / std::max(1, m - 1));
    Eigen::MatrixXd s = scale.asDiagonal() * (g.transpose() * g) * scale.asDiagonal();
    // Not positive definite: the 18th pivot is s(17, 17) minus a sum of squares < 0.
    if (b == batch - 1) s(17, 17) = -1.0;
    const Eigen::VectorXd r = Eigen::VectorXd::NullaryExpr(m, [&] { return normal(gen); });
    for (int j = 0; j < m; ++j) {
      for (int i = 0; i < m; ++i) a[static_cast<size_t>(b) * n * n + j * n + i] = s(i, j);
      rhs[static_cast<size_t>(b) * n + j] = r[j];
    }
    mats.push_back(s);
    bs.push_back(r);
  }
  std::vector<double> x;
  std::vector<int> info;
  ASSERT_EQ(CholeskySolveBatchCuda(n, batch, all_sizes.data(), a.data(), rhs.data(), &x, &info),
            "");
  ASSERT_EQ(static_cast<int>(info.size()), batch);
  for (int b = 0; b < batch; ++b) {
    const Eigen::LLT<Eigen::MatrixXd> llt(mats[b]);
    if (b == batch - 1) {
      EXPECT_NE(llt.info(), Eigen::Success);
      EXPECT_EQ(info[b], 18) << "system " << b;
      for (int i = 0; i < n; ++i) ASSERT_EQ(x[static_cast<size_t>(b) * n + i], 0.0);
      continue;
    }
    ASSERT_EQ(llt.info(), Eigen::Success);
    EXPECT_EQ(info[b], 0) << "system " << b;
    const Eigen::VectorXd ref = llt.solve(bs[b]);
    const int m = all_sizes[b];
    const Eigen::Map<const Eigen::VectorXd> got(x.data() + static_cast<size_t>(b) * n, m);
    // Both factor the same matrix in double with different operation orders.
    EXPECT_LT((got - ref).norm(), 1e-6 * ref.norm()) << "system " << b << " (size " << m << ")";
    for (int i = m; i < n; ++i) ASSERT_EQ(x[static_cast<size_t>(b) * n + i], 0.0);
  }
  // Bad arguments are errors, not launches.
  std::vector<int> bad = {0};
  EXPECT_NE(CholeskySolveBatchCuda(n, 1, bad.data(), a.data(), rhs.data(), &x, &info), "");
  EXPECT_NE(CholeskySolveBatchCuda(0, 1, nullptr, a.data(), rhs.data(), &x, &info), "");
}

}  // namespace
}  // namespace morphfit::cuda
