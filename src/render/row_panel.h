// Private to morphfit_render: a cache-blocked float32 rank-k update for the fused JᵀJ of
// render/jacobian.cc. Rows (pixel Jacobian rows, P columns) are gathered into a panel of up to
// `capacity` rows stored column-blocked, [ceil(P / 8) blocks][capacity rows][8 floats], so that
// the micro-kernel streams 8-column slices contiguously; the flush adds the panel's
// contribution to the lower triangle of C = sum_r row_rᵀ row_r and to g = sum_r row_rᵀ res_r.
// The micro-kernel keeps a 24 x 4 tile of C in AVX2 registers (12 FMAs per row per tile, as in
// the GotoBLAS/BLIS register-blocking scheme: K. Goto and R. van de Geijn, "Anatomy of
// high-performance matrix multiplication", ACM TOMS 34(3), 2008); without AVX2/FMA the same
// tiling runs as plain loops. Summation order depends only on the rows and their order, never
// on threads.
#ifndef MORPHFIT_SRC_RENDER_ROW_PANEL_H_
#define MORPHFIT_SRC_RENDER_ROW_PANEL_H_

#include <cstdint>
#include <vector>

namespace morphfit::render::internal {

class RowPanel {
 public:
  // Column tile of the micro-kernel (rows of C); the padded width is a multiple of it.
  static constexpr int kTileRows = 24;
  static constexpr int kTileCols = 4;
  static constexpr int kBlock = 8;

  RowPanel(int num_cols, int capacity);

  // num_cols rounded up to kTileRows (at least one tile).
  static int PaddedCols(int num_cols) {
    const int n = num_cols > 1 ? num_cols : 1;
    return (n + kTileRows - 1) / kTileRows * kTileRows;
  }

  int num_cols() const { return num_cols_; }
  // P rounded up to kTileRows: the leading dimension of the C this panel flushes into.
  int padded_cols() const { return padded_cols_; }
  int capacity() const { return capacity_; }
  int size() const { return size_; }
  bool full() const { return size_ == capacity_; }

  // Appends one row of padded_cols() floats (columns >= num_cols() must be zero) with its
  // residual. The panel must not be full.
  void Append(const float* row, float residual);

  // c (padded_cols() x padded_cols(), column-major, ld = padded_cols()) += panelᵀ panel on
  // every tile that touches the lower triangle (entries (i, j) with i >= j are exact; a few
  // above the diagonal are written too and must be ignored), g (padded_cols()) += panelᵀ res.
  // Empties the panel.
  void Flush(float* c, float* g);

 private:
  int num_cols_, padded_cols_, capacity_, size_ = 0;
  std::vector<float> data_;  // padded_cols_ / kBlock blocks of capacity_ x kBlock
  std::vector<float> residual_;
};

// The number of float multiply-adds Flush performs for `rows` rows (tiles included, padding
// counted), for benchmarks' FLOP rates.
int64_t PanelFlushMultiplyAdds(int num_cols, int64_t rows);

}  // namespace morphfit::render::internal

#endif  // MORPHFIT_SRC_RENDER_ROW_PANEL_H_
