// The fused JᵀJ's blocked rank update (src/render/row_panel.h) against a plain double loop, on
// column counts that are not multiples of the 24 x 4 tile and row counts that leave partial
// panels.
#include "../../src/render/row_panel.h"
#include "../../src/render/pixel_rows.h"

#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace morphfit::render::internal {
namespace {

void CheckAgainstReference(int cols, int rows, int capacity,
                           PanelKernel kernel = PanelKernel::kAuto) {
  std::mt19937 gen(cols * 1000 + rows);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  RowPanel panel(cols, capacity, kernel);
  const int pp = panel.padded_cols();
  ASSERT_GE(pp, cols);
  ASSERT_EQ(pp % RowPanel::kBlock, 0);
  std::vector<float> c(static_cast<size_t>(pp) * pp, 0.0f), g(pp, 0.0f);
  std::vector<double> ref_c(static_cast<size_t>(cols) * cols, 0.0), ref_g(cols, 0.0);
  std::vector<float> row(pp, 0.0f);
  for (int r = 0; r < rows; ++r) {
    for (int j = 0; j < cols; ++j) row[j] = u(gen);
    const float res = u(gen);
    for (int a = 0; a < cols; ++a) {
      ref_g[a] += double(row[a]) * res;
      for (int b = 0; b < cols; ++b) ref_c[size_t(a) * cols + b] += double(row[a]) * row[b];
    }
    if (panel.full()) panel.Flush(c.data(), g.data());
    panel.Append(row.data(), res);
  }
  panel.Flush(c.data(), g.data());
  EXPECT_EQ(panel.size(), 0);
  const double tol = 1e-5 * rows;
  for (int j = 0; j < cols; ++j) {
    EXPECT_NEAR(g[j], ref_g[j], tol) << j;
    for (int i = j; i < cols; ++i) {
      ASSERT_NEAR(c[size_t(j) * pp + i], ref_c[size_t(j) * cols + i], tol)
          << "(" << i << ", " << j << ") of " << cols << " columns, " << rows << " rows";
    }
  }
  // Padding columns stay zero in g.
  for (int j = cols; j < pp; ++j) EXPECT_EQ(g[j], 0.0f);
  EXPECT_GE(PanelFlushMultiplyAdds(cols, 1, kernel), int64_t{cols} * (cols + 1) / 2);
}

TEST(RowPanelTest, LowerTriangleMatchesPlainLoop) {
  for (PanelKernel k : {PanelKernel::kPortable, BestPanelKernel()}) {
    SCOPED_TRACE(PanelKernelName(k));
    CheckAgainstReference(1, 5, 4, k);
    CheckAgainstReference(23, 50, 16, k);
    CheckAgainstReference(48, 64, 64, k);
    CheckAgainstReference(61, 97, 32, k);
    CheckAgainstReference(260, 300, 256, k);
  }
}

// Every kernel computes each entry as the same fma chain, so they agree bit for bit (the fused
// JᵀJ does not depend on the CPU's vector width).
TEST(RowPanelTest, KernelsAgreeBitForBit) {
  std::vector<PanelKernel> kernels = {PanelKernel::kPortable};
  for (PanelKernel k : {PanelKernel::kAvx2, PanelKernel::kAvx512}) {
    if (k == BestPanelKernel() || (k == PanelKernel::kAvx2 &&
                                   BestPanelKernel() == PanelKernel::kAvx512)) {
      kernels.push_back(k);
    }
  }
  if (kernels.size() == 1) GTEST_SKIP() << "no vector kernel on this CPU/build";
  const int cols = 131, rows = 500;
  std::mt19937 gen(9);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<std::vector<float>> data(rows);
  for (auto& r : data) {
    r.assign(RowPanel::PaddedCols(cols), 0.0f);
    for (int j = 0; j < cols; ++j) r[j] = u(gen);
  }
  std::vector<std::vector<float>> results;
  for (PanelKernel k : kernels) {
    RowPanel panel(cols, 96, k);
    const int pp = panel.padded_cols();
    std::vector<float> c(size_t(pp) * pp, 0.0f), g(pp, 0.0f);
    for (int r = 0; r < rows; ++r) {
      if (panel.full()) panel.Flush(c.data(), g.data());
      panel.Append(data[r].data(), 0.5f);
    }
    panel.Flush(c.data(), g.data());
    std::vector<float> lower;
    for (int j = 0; j < cols; ++j) {
      for (int i = j; i < cols; ++i) lower.push_back(c[size_t(j) * pp + i]);
    }
    lower.insert(lower.end(), g.begin(), g.begin() + cols);
    results.push_back(lower);
  }
  for (size_t k = 1; k < results.size(); ++k) {
    EXPECT_EQ(results[k], results[0]) << PanelKernelName(kernels[k]) << " vs portable";
  }
}

// The fused row generation's basis-row combination: every ISA gives the same bits, and the
// sums match a double loop; ks = 37 leaves a ragged vector tail.
TEST(CombineBasisRowsTest, IsasAgreeBitForBitAndMatchPlainSums) {
  const int n = 50, ks = 37, count = 11;
  std::mt19937 gen(3);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> basis(3 * n * ks), coeffs(9 * count);
  for (float& v : basis) v = u(gen);
  for (float& v : coeffs) v = u(gen);
  std::vector<int> vertices(count);
  for (int e = 0; e < count; ++e) vertices[e] = (7 * e + 3) % n;
  std::vector<PanelKernel> isas = {PanelKernel::kPortable};
  if (BestPanelKernel() != PanelKernel::kPortable) isas.push_back(PanelKernel::kAvx2);
  if (BestPanelKernel() == PanelKernel::kAvx512) isas.push_back(PanelKernel::kAvx512);
  std::vector<std::vector<float>> results;
  for (PanelKernel isa : isas) {
    std::vector<float> s(3 * ks, -7.0f);
    CombineBasisRows(basis.data(), ks, vertices.data(), coeffs.data(), count, s.data(),
                     s.data() + ks, s.data() + 2 * ks, isa);
    results.push_back(s);
  }
  for (size_t k = 1; k < results.size(); ++k) {
    EXPECT_EQ(results[k], results[0]) << PanelKernelName(isas[k]);
  }
  for (int c = 0; c < 3; ++c) {
    for (int q = 0; q < ks; ++q) {
      double ref = 0.0;
      for (int e = 0; e < count; ++e) {
        for (int b = 0; b < 3; ++b) {
          ref += double(coeffs[9 * e + 3 * c + b]) * basis[(3 * vertices[e] + b) * ks + q];
        }
      }
      EXPECT_NEAR(results[0][c * ks + q], ref, 1e-5) << c << " " << q;
    }
  }
}

}  // namespace
}  // namespace morphfit::render::internal
