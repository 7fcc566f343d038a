// The fused JᵀJ's blocked rank update (src/render/row_panel.h) against a plain double loop, on
// column counts that are not multiples of the 24 x 4 tile and row counts that leave partial
// panels.
#include "../../src/render/row_panel.h"

#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace morphfit::render::internal {
namespace {

void CheckAgainstReference(int cols, int rows, int capacity) {
  std::mt19937 gen(cols * 1000 + rows);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  RowPanel panel(cols, capacity);
  const int pp = panel.padded_cols();
  ASSERT_GE(pp, cols);
  ASSERT_EQ(pp % RowPanel::kTileRows, 0);
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
  EXPECT_EQ(PanelFlushMultiplyAdds(cols, 1) % (RowPanel::kBlock * RowPanel::kTileCols), 0);
  EXPECT_GE(PanelFlushMultiplyAdds(cols, 1), int64_t{cols} * (cols + 1) / 2);
}

TEST(RowPanelTest, LowerTriangleMatchesPlainLoop) {
  CheckAgainstReference(1, 5, 4);
  CheckAgainstReference(23, 50, 16);
  CheckAgainstReference(24, 64, 64);
  CheckAgainstReference(61, 97, 32);
  CheckAgainstReference(260, 300, 256);
}

}  // namespace
}  // namespace morphfit::render::internal
