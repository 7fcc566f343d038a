// Private to morphfit_render: a cache-blocked float32 rank-k update for the fused JᵀJ of
// render/jacobian.cc. Rows (pixel Jacobian rows, P columns) are gathered into a panel of up to
// `capacity` rows stored column-blocked, [ceil((P + 1) / 16) blocks][capacity rows][16 floats],
// so that the micro-kernels stream 16-column slices contiguously; a flush adds the panel's
// contribution to the lower triangle of C = sum_r row_rᵀ row_r and to g = sum_r row_rᵀ res_r.
// The residual rides along as column P of the panel, so g comes out of the same tiles as row P
// of C (in the padding, which the tiles cover anyway) instead of from a separate pass.
// Register-tiled micro-kernels as in the GotoBLAS/BLIS scheme (K. Goto and R. van de Geijn,
// "Anatomy of high-performance matrix multiplication", ACM TOMS 34(3), 2008): AVX2 keeps a
// 16 x 6 (or 16 x 4) tile of C in registers, AVX-512 (chosen at run time when the CPU has it)
// a 48 x 8 tile; without AVX2/FMA the same tiling runs as plain loops. Every kernel computes
// each entry of C the same way, acc = fma chain over the panel's rows in order from zero, then
// C += acc, so the ISA, the tiling and the thread count never change the result.
#ifndef MORPHFIT_SRC_RENDER_ROW_PANEL_H_
#define MORPHFIT_SRC_RENDER_ROW_PANEL_H_

#include <cstdint>
#include <vector>

namespace morphfit::render::internal {

enum class PanelKernel { kAuto, kPortable, kAvx2, kAvx512 };

// The kernel kAuto resolves to on this CPU and build.
PanelKernel BestPanelKernel();
const char* PanelKernelName(PanelKernel kernel);

class RowPanel {
 public:
  static constexpr int kBlock = 16;

  // kernel: kAuto = BestPanelKernel(); asking for one this CPU/build lacks is a CHECK failure.
  RowPanel(int num_cols, int capacity, PanelKernel kernel = PanelKernel::kAuto);
  RowPanel(const RowPanel&) = delete;  // data_ points into storage_
  RowPanel& operator=(const RowPanel&) = delete;

  // num_cols plus the residual column, rounded up to kBlock.
  static int PaddedCols(int num_cols) {
    const int n = (num_cols > 0 ? num_cols : 0) + 1;
    return (n + kBlock - 1) / kBlock * kBlock;
  }

  int num_cols() const { return num_cols_; }
  // The leading dimension of the C this panel flushes into.
  int padded_cols() const { return padded_cols_; }
  int capacity() const { return capacity_; }
  int size() const { return size_; }
  bool full() const { return size_ == capacity_; }
  PanelKernel kernel() const { return kernel_; }

  // Appends one row of padded_cols() floats (columns >= num_cols() must be zero) with its
  // residual. The panel must not be full.
  void Append(const float* row, float residual);

  // c (padded_cols() x padded_cols(), column-major, ld = padded_cols()) += panelᵀ panel on
  // every tile that touches the lower triangle (entries (i, j) with i >= j, j < num_cols() are
  // exact; some above the diagonal and in the padding rows and columns are written too and
  // must be ignored), g (padded_cols(); entries >= num_cols() untouched) += panelᵀ res.
  // Row num_cols() of c must be zero below the diagonal on entry (it is on return). Empties
  // the panel.
  void Flush(float* c, float* g);

 private:
  int num_cols_, padded_cols_, capacity_, size_ = 0;
  PanelKernel kernel_;
  std::vector<float> storage_;  // data_ plus room to align it to 64 bytes
  float* data_ = nullptr;       // padded_cols_ / kBlock blocks of capacity_ x kBlock
};

// The number of float multiply-adds Flush performs with `kernel` for `rows` rows (tiles
// included), for benchmarks' FLOP rates.
int64_t PanelFlushMultiplyAdds(int num_cols, int64_t rows, PanelKernel kernel);

}  // namespace morphfit::render::internal

#endif  // MORPHFIT_SRC_RENDER_ROW_PANEL_H_
