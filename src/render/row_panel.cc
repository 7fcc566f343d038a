// Blocked float32 rank-k update of the fused JᵀJ (row_panel.h).
#include "row_panel.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <glog/logging.h>

#if defined(__x86_64__) && defined(__GNUC__) && defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define MORPHFIT_ROW_PANEL_X86 1
#endif

namespace morphfit::render::internal {
namespace {

constexpr int kB = RowPanel::kBlock;

// ---- Tilings. visit(first_row, num_row_blocks, j0, num_cols_in_tile): rows first_row ..
// first_row + 16 num_row_blocks - 1 of columns j0 .. j0 + num_cols_in_tile - 1, for every tile
// touching the lower triangle with j0 inside the real columns. Row slices are outer (they stay
// in L1 while the column slices stream).

// AVX2 and portable: one 16-row block, column tiles of 6, 6 and 4 inside each 16-column block.
template <typename Visit>
void ForEachTile16(int num_cols, int padded_cols, const Visit& visit) {
  constexpr int kSub[3][2] = {{0, 6}, {6, 6}, {12, 4}};
  for (int i0 = 0; i0 < padded_cols; i0 += kB) {
    for (int jb = 0; jb < num_cols && jb <= i0 + kB - 1; jb += kB) {
      for (const auto& sub : kSub) {
        const int j0 = jb + sub[0];
        if (j0 >= num_cols || j0 > i0 + kB - 1) break;
        visit(i0, 1, j0, sub[1]);
      }
    }
  }
}

// AVX-512: up to three 16-row blocks (starting at the block of row j0 near the diagonal),
// column tiles of 8.
constexpr int kRows512 = 3 * kB;
template <typename Visit>
void ForEachTile48(int num_cols, int padded_cols, const Visit& visit) {
  for (int i0 = 0; i0 < padded_cols; i0 += kRows512) {
    const int end = std::min(padded_cols, i0 + kRows512);
    for (int j0 = 0; j0 < num_cols && j0 <= end - 1; j0 += 8) {
      const int first = std::max(i0, j0 / kB * kB);
      visit(first, (end - first) / kB, j0, 8);
    }
  }
}

// ---- Kernels. a: row 0 of the first row block (blocks `stride` apart); b: row 0, column j0
// of its block; rows are kB floats apart; c: entry (first_row, j0), ld = ldc.

template <int NB, int NJ>
void TilePortable(const float* a, size_t stride, const float* b, int n, float* c, int ldc) {
  float acc[NJ][kB * NB] = {};
  for (int k = 0; k < n; ++k) {
    for (int jj = 0; jj < NJ; ++jj) {
      const float y = b[kB * k + jj];
      for (int m = 0; m < NB; ++m) {
        for (int t = 0; t < kB; ++t) {
          acc[jj][kB * m + t] = std::fma(a[m * stride + kB * k + t], y, acc[jj][kB * m + t]);
        }
      }
    }
  }
  for (int jj = 0; jj < NJ; ++jj) {
    for (int ii = 0; ii < kB * NB; ++ii) c[jj * ldc + ii] += acc[jj][ii];
  }
}

#ifdef MORPHFIT_ROW_PANEL_X86
template <int NJ>
void Tile16Avx2(const float* a, const float* b, int n, float* c, int ldc) {
  __m256 acc[NJ][2];
  for (int jj = 0; jj < NJ; ++jj) acc[jj][0] = acc[jj][1] = _mm256_setzero_ps();
  for (int k = 0; k < n; ++k) {
    const __m256 x0 = _mm256_loadu_ps(a + kB * k);
    const __m256 x1 = _mm256_loadu_ps(a + kB * k + 8);
    for (int jj = 0; jj < NJ; ++jj) {
      const __m256 y = _mm256_broadcast_ss(b + kB * k + jj);
      acc[jj][0] = _mm256_fmadd_ps(x0, y, acc[jj][0]);
      acc[jj][1] = _mm256_fmadd_ps(x1, y, acc[jj][1]);
    }
  }
  for (int jj = 0; jj < NJ; ++jj) {
    float* dst = c + jj * ldc;
    _mm256_storeu_ps(dst, _mm256_add_ps(_mm256_loadu_ps(dst), acc[jj][0]));
    _mm256_storeu_ps(dst + 8, _mm256_add_ps(_mm256_loadu_ps(dst + 8), acc[jj][1]));
  }
}

template <int NB>
__attribute__((target("avx512f"))) void Tile48Avx512(const float* a, size_t stride,
                                                      const float* b, int n, float* c, int ldc) {
  __m512 acc[8][NB];
  for (int jj = 0; jj < 8; ++jj) {
    for (int m = 0; m < NB; ++m) acc[jj][m] = _mm512_setzero_ps();
  }
  for (int k = 0; k < n; ++k) {
    __m512 x[NB];
    for (int m = 0; m < NB; ++m) x[m] = _mm512_loadu_ps(a + m * stride + kB * k);
    for (int jj = 0; jj < 8; ++jj) {
      const __m512 y = _mm512_set1_ps(b[kB * k + jj]);
      for (int m = 0; m < NB; ++m) acc[jj][m] = _mm512_fmadd_ps(x[m], y, acc[jj][m]);
    }
  }
  for (int jj = 0; jj < 8; ++jj) {
    for (int m = 0; m < NB; ++m) {
      float* dst = c + jj * ldc + kB * m;
      _mm512_storeu_ps(dst, _mm512_add_ps(_mm512_loadu_ps(dst), acc[jj][m]));
    }
  }
}
#endif

bool Available(PanelKernel kernel) {
  switch (kernel) {
    case PanelKernel::kPortable:
      return true;
#ifdef MORPHFIT_ROW_PANEL_X86
    case PanelKernel::kAvx2:
      return true;
    case PanelKernel::kAvx512:
      return __builtin_cpu_supports("avx512f");
#endif
    default:
      return false;
  }
}

}  // namespace

PanelKernel BestPanelKernel() {
  static const PanelKernel best = [] {
    if (Available(PanelKernel::kAvx512)) return PanelKernel::kAvx512;
    if (Available(PanelKernel::kAvx2)) return PanelKernel::kAvx2;
    return PanelKernel::kPortable;
  }();
  return best;
}

const char* PanelKernelName(PanelKernel kernel) {
  switch (kernel) {
    case PanelKernel::kAuto:
      return "auto";
    case PanelKernel::kPortable:
      return "portable";
    case PanelKernel::kAvx2:
      return "avx2";
    case PanelKernel::kAvx512:
      return "avx512";
  }
  return "?";
}

RowPanel::RowPanel(int num_cols, int capacity, PanelKernel kernel)
    : num_cols_(num_cols),
      padded_cols_(PaddedCols(num_cols)),
      capacity_(capacity),
      kernel_(kernel == PanelKernel::kAuto ? BestPanelKernel() : kernel) {
  CHECK_GT(capacity, 0);
  CHECK(Available(kernel_)) << "rank-update kernel " << PanelKernelName(kernel_)
                            << " is not available on this CPU or build";
  // 64-byte aligned rows of 16 floats: vector loads never straddle cache lines.
  storage_.assign(static_cast<size_t>(padded_cols_) * capacity_ + kB, 0.0f);
  const uintptr_t address = reinterpret_cast<uintptr_t>(storage_.data());
  data_ = storage_.data() + ((64 - address % 64) % 64) / sizeof(float);
}

void RowPanel::Append(const float* row, float residual) {
  DCHECK(!full());
  const size_t stride = static_cast<size_t>(capacity_) * kB;
  float* dst = data_ + static_cast<size_t>(size_) * kB;
  for (int blk = 0; blk < padded_cols_ / kB; ++blk) {
    std::memcpy(dst + blk * stride, row + kB * blk, kB * sizeof(float));
  }
  dst[(num_cols_ / kB) * stride + num_cols_ % kB] = residual;
  ++size_;
}

void RowPanel::Flush(float* c, float* g) {
  const int n = size_;
  size_ = 0;
  if (n == 0) return;
  const size_t stride = static_cast<size_t>(capacity_) * kB;
  const float* base = data_;
  const int ldc = padded_cols_;
  const auto operands = [&](int first, int j0, const float** a, const float** b, float** dst) {
    *a = base + (first / kB) * stride;
    *b = base + (j0 / kB) * stride + j0 % kB;
    *dst = c + static_cast<size_t>(j0) * ldc + first;
  };
  switch (kernel_) {
#ifdef MORPHFIT_ROW_PANEL_X86
    case PanelKernel::kAvx512:
      ForEachTile48(num_cols_, padded_cols_, [&](int first, int nb, int j0, int) {
        const float *a, *b;
        float* dst;
        operands(first, j0, &a, &b, &dst);
        if (nb == 3) {
          Tile48Avx512<3>(a, stride, b, n, dst, ldc);
        } else if (nb == 2) {
          Tile48Avx512<2>(a, stride, b, n, dst, ldc);
        } else {
          Tile48Avx512<1>(a, stride, b, n, dst, ldc);
        }
      });
      break;
    case PanelKernel::kAvx2:
      ForEachTile16(num_cols_, padded_cols_, [&](int first, int, int j0, int nj) {
        const float *a, *b;
        float* dst;
        operands(first, j0, &a, &b, &dst);
        if (nj == 6) {
          Tile16Avx2<6>(a, b, n, dst, ldc);
        } else {
          Tile16Avx2<4>(a, b, n, dst, ldc);
        }
      });
      break;
#endif
    default:
      ForEachTile16(num_cols_, padded_cols_, [&](int first, int, int j0, int nj) {
        const float *a, *b;
        float* dst;
        operands(first, j0, &a, &b, &dst);
        if (nj == 6) {
          TilePortable<1, 6>(a, stride, b, n, dst, ldc);
        } else {
          TilePortable<1, 4>(a, stride, b, n, dst, ldc);
        }
      });
      break;
  }
  // Row num_cols_ of c received, from zero, the fma chain over the panel's rows of
  // row[j] * residual: move it into g (the same sum, rounded the same way, as a separate
  // pass over the panel would give).
  for (int j = 0; j < num_cols_; ++j) {
    float& e = c[static_cast<size_t>(j) * ldc + num_cols_];
    g[j] += e;
    e = 0.0f;
  }
}

int64_t PanelFlushMultiplyAdds(int num_cols, int64_t rows, PanelKernel kernel) {
  if (kernel == PanelKernel::kAuto) kernel = BestPanelKernel();
  int64_t entries = 0;
  const auto count = [&](int, int nb, int, int nj) { entries += int64_t{kB} * nb * nj; };
  if (kernel == PanelKernel::kAvx512) {
    ForEachTile48(num_cols, RowPanel::PaddedCols(num_cols), count);
  } else {
    ForEachTile16(num_cols, RowPanel::PaddedCols(num_cols), count);
  }
  return entries * rows;
}

}  // namespace morphfit::render::internal
