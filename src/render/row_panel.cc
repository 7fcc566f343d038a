// Blocked float32 rank-k update of the fused JᵀJ (row_panel.h).
#include "row_panel.h"

#include <algorithm>
#include <cstring>

#include <glog/logging.h>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define MORPHFIT_ROW_PANEL_AVX2 1
#endif

namespace morphfit::render::internal {
namespace {

constexpr int kM = RowPanel::kTileRows;
constexpr int kN = RowPanel::kTileCols;
constexpr int kB = RowPanel::kBlock;
static_assert(kM == 3 * kB && kB % kN == 0, "a 24 x 4 tile reads three 8-column blocks");

// Tiles of C touching the lower triangle (i >= j) with j0 inside the real columns: rows
// i0 .. i0 + 8 nb - 1 of columns j0 .. j0 + 3, visited with the 24-row slices outer (they stay
// in L1 while the 4-column slices stream). Near the diagonal the tile starts at the 8-row
// block holding row j0 (nb = 1 or 2), so little above the diagonal is computed.
template <typename Visit>
void ForEachLowerTile(int num_cols, int padded_cols, const Visit& visit) {
  for (int i0 = 0; i0 < padded_cols; i0 += kM) {
    for (int j0 = 0; j0 < num_cols && j0 <= i0 + kM - 1; j0 += kN) {
      const int first = std::max(i0, j0 / kB * kB);
      visit(first, j0, (i0 + kM - first) / kB);
    }
  }
}

// c[(j0 + jj) * ldc + i0 + ii] += sum_k A[k][i0 + ii] A[k][j0 + jj] for ii < 8 NB, jj < 4.
// a points at row 0 of the 8-column block holding columns i0.. (the NB blocks are `stride`
// apart); b at row 0, column j0 of its block. Rows are kB floats apart in every block.
template <int NB>
void Tile(const float* a, size_t stride, const float* b, int n, float* c, int ldc) {
#ifdef MORPHFIT_ROW_PANEL_AVX2
  __m256 acc[kN][NB];
  for (int jj = 0; jj < kN; ++jj) {
    for (int m = 0; m < NB; ++m) acc[jj][m] = _mm256_setzero_ps();
  }
  for (int k = 0; k < n; ++k) {
    const int o = kB * k;
    __m256 x[NB];
    for (int m = 0; m < NB; ++m) x[m] = _mm256_loadu_ps(a + m * stride + o);
    for (int jj = 0; jj < kN; ++jj) {
      const __m256 y = _mm256_broadcast_ss(b + o + jj);
      for (int m = 0; m < NB; ++m) acc[jj][m] = _mm256_fmadd_ps(x[m], y, acc[jj][m]);
    }
  }
  for (int jj = 0; jj < kN; ++jj) {
    for (int m = 0; m < NB; ++m) {
      float* dst = c + jj * ldc + kB * m;
      _mm256_storeu_ps(dst, _mm256_add_ps(_mm256_loadu_ps(dst), acc[jj][m]));
    }
  }
#else
  float acc[kN][kB * NB] = {};
  for (int k = 0; k < n; ++k) {
    for (int jj = 0; jj < kN; ++jj) {
      const float y = b[kB * k + jj];
      for (int m = 0; m < NB; ++m) {
        for (int t = 0; t < kB; ++t) acc[jj][kB * m + t] += a[m * stride + kB * k + t] * y;
      }
    }
  }
  for (int jj = 0; jj < kN; ++jj) {
    for (int ii = 0; ii < kB * NB; ++ii) c[jj * ldc + ii] += acc[jj][ii];
  }
#endif
}

}  // namespace

RowPanel::RowPanel(int num_cols, int capacity)
    : num_cols_(num_cols), padded_cols_(PaddedCols(num_cols)), capacity_(capacity) {
  CHECK_GT(capacity, 0);
  data_.assign(static_cast<size_t>(padded_cols_) * capacity_, 0.0f);
  residual_.assign(capacity_, 0.0f);
}

void RowPanel::Append(const float* row, float residual) {
  DCHECK(!full());
  const size_t stride = static_cast<size_t>(capacity_) * kB;
  float* dst = data_.data() + static_cast<size_t>(size_) * kB;
  for (int blk = 0; blk < padded_cols_ / kB; ++blk) {
    std::memcpy(dst + blk * stride, row + kB * blk, kB * sizeof(float));
  }
  residual_[size_] = residual;
  ++size_;
}

void RowPanel::Flush(float* c, float* g) {
  const int n = size_;
  size_ = 0;
  if (n == 0) return;
  const size_t stride = static_cast<size_t>(capacity_) * kB;
  const float* base = data_.data();
  const int ldc = padded_cols_;
  ForEachLowerTile(num_cols_, padded_cols_, [&](int i0, int j0, int nb) {
    const float* a = base + (i0 / kB) * stride;
    const float* b = base + (j0 / kB) * stride + j0 % kB;
    float* dst = c + static_cast<size_t>(j0) * ldc + i0;
    if (nb == 3) {
      Tile<3>(a, stride, b, n, dst, ldc);
    } else if (nb == 2) {
      Tile<2>(a, stride, b, n, dst, ldc);
    } else {
      Tile<1>(a, stride, b, n, dst, ldc);
    }
  });
  for (int blk = 0; blk < padded_cols_ / kB; ++blk) {
    const float* a = base + blk * stride;
    float acc[kB] = {};
    for (int k = 0; k < n; ++k) {
      const float r = residual_[k];
      for (int t = 0; t < kB; ++t) acc[t] += a[kB * k + t] * r;
    }
    for (int t = 0; t < kB; ++t) g[kB * blk + t] += acc[t];
  }
}

int64_t PanelFlushMultiplyAdds(int num_cols, int64_t rows) {
  int64_t tile_rows = 0;
  ForEachLowerTile(num_cols, RowPanel::PaddedCols(num_cols),
                   [&](int, int, int nb) { tile_rows += kB * nb; });
  return tile_rows * kN * rows;
}

}  // namespace morphfit::render::internal
