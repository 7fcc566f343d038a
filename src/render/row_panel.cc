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
static_assert(kM == 3 * kB && kB % kN == 0, "the 24 x 4 tile reads three 8-column blocks");

// Tiles (i0, j0) whose 24 x 4 block of C touches the lower triangle (i >= j) with j0 inside
// the real columns; `visit` gets them with i0 outer (the 24-column A slices stay in L1 while
// the 4-column slices stream).
template <typename Visit>
void ForEachLowerTile(int num_cols, int padded_cols, const Visit& visit) {
  for (int i0 = 0; i0 < padded_cols; i0 += kM) {
    for (int j0 = 0; j0 < num_cols && j0 <= i0 + kM - 1; j0 += kN) visit(i0, j0);
  }
}

// c[(j0 + jj) * ldc + i0 + ii] += sum_k A[k][i0 + ii] A[k][j0 + jj] for ii < 24, jj < 4.
// a[m] points at row 0 of the 8-column block holding columns i0 + 8m; b at row 0, column j0 of
// its block. Rows are kB floats apart in every block.
void Tile(const float* a0, const float* a1, const float* a2, const float* b, int n, float* c,
          int ldc) {
#ifdef MORPHFIT_ROW_PANEL_AVX2
  __m256 c00 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(), c20 = _mm256_setzero_ps();
  __m256 c01 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c02 = _mm256_setzero_ps(), c12 = _mm256_setzero_ps(), c22 = _mm256_setzero_ps();
  __m256 c03 = _mm256_setzero_ps(), c13 = _mm256_setzero_ps(), c23 = _mm256_setzero_ps();
  for (int k = 0; k < n; ++k) {
    const int o = kB * k;
    const __m256 x0 = _mm256_loadu_ps(a0 + o);
    const __m256 x1 = _mm256_loadu_ps(a1 + o);
    const __m256 x2 = _mm256_loadu_ps(a2 + o);
    __m256 y = _mm256_broadcast_ss(b + o);
    c00 = _mm256_fmadd_ps(x0, y, c00);
    c10 = _mm256_fmadd_ps(x1, y, c10);
    c20 = _mm256_fmadd_ps(x2, y, c20);
    y = _mm256_broadcast_ss(b + o + 1);
    c01 = _mm256_fmadd_ps(x0, y, c01);
    c11 = _mm256_fmadd_ps(x1, y, c11);
    c21 = _mm256_fmadd_ps(x2, y, c21);
    y = _mm256_broadcast_ss(b + o + 2);
    c02 = _mm256_fmadd_ps(x0, y, c02);
    c12 = _mm256_fmadd_ps(x1, y, c12);
    c22 = _mm256_fmadd_ps(x2, y, c22);
    y = _mm256_broadcast_ss(b + o + 3);
    c03 = _mm256_fmadd_ps(x0, y, c03);
    c13 = _mm256_fmadd_ps(x1, y, c13);
    c23 = _mm256_fmadd_ps(x2, y, c23);
  }
  const auto add = [](float* dst, __m256 v) {
    _mm256_storeu_ps(dst, _mm256_add_ps(_mm256_loadu_ps(dst), v));
  };
  add(c, c00);
  add(c + 8, c10);
  add(c + 16, c20);
  add(c + ldc, c01);
  add(c + ldc + 8, c11);
  add(c + ldc + 16, c21);
  add(c + 2 * ldc, c02);
  add(c + 2 * ldc + 8, c12);
  add(c + 2 * ldc + 16, c22);
  add(c + 3 * ldc, c03);
  add(c + 3 * ldc + 8, c13);
  add(c + 3 * ldc + 16, c23);
#else
  float acc[kN][kM] = {};
  const float* a[3] = {a0, a1, a2};
  for (int k = 0; k < n; ++k) {
    for (int jj = 0; jj < kN; ++jj) {
      const float y = b[kB * k + jj];
      for (int m = 0; m < 3; ++m) {
        for (int t = 0; t < kB; ++t) acc[jj][kB * m + t] += a[m][kB * k + t] * y;
      }
    }
  }
  for (int jj = 0; jj < kN; ++jj) {
    for (int ii = 0; ii < kM; ++ii) c[jj * ldc + ii] += acc[jj][ii];
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
  ForEachLowerTile(num_cols_, padded_cols_, [&](int i0, int j0) {
    const float* a0 = base + (i0 / kB) * stride;
    const float* b = base + (j0 / kB) * stride + j0 % kB;
    Tile(a0, a0 + stride, a0 + 2 * stride, b, n, c + static_cast<size_t>(j0) * ldc + i0, ldc);
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
  int64_t tiles = 0;
  ForEachLowerTile(num_cols, RowPanel::PaddedCols(num_cols), [&](int, int) { ++tiles; });
  return tiles * kM * kN * rows;
}

}  // namespace morphfit::render::internal
