// Float dense algebra of the own landmark solver (landmark_float_algebra.h).
#include "landmark_float_algebra.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <glog/logging.h>
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

namespace morphfit::fitters {
namespace {

#if defined(__AVX2__) && defined(__FMA__)
// The register tile of both kernels: C(i0 : i0 + 8R, j0 : j0 + NC) = (kStore) or -= (else)
// the sum over r < k of X(i0.., r) X(j0 + q, r), X column-major with leading dimension ldx,
// C with ldc (R 8-wide row vectors by NC columns, accumulated over all k before C is touched).
template <int R, int NC, bool kStore>
void ProductTile(const float* x, int ldx, int k, int i0, int j0, float* c, int ldc) {
  __m256 acc[NC][R];
  for (int q = 0; q < NC; ++q) {
    for (int h = 0; h < R; ++h) acc[q][h] = _mm256_setzero_ps();
  }
  for (int r = 0; r < k; ++r) {
    const float* xr = x + static_cast<size_t>(r) * ldx;
    __m256 v[R];
    for (int h = 0; h < R; ++h) v[h] = _mm256_loadu_ps(xr + i0 + 8 * h);
    for (int q = 0; q < NC; ++q) {
      const __m256 b = _mm256_broadcast_ss(xr + j0 + q);
      for (int h = 0; h < R; ++h) acc[q][h] = _mm256_fmadd_ps(v[h], b, acc[q][h]);
    }
  }
  for (int q = 0; q < NC; ++q) {
    float* cq = c + static_cast<size_t>(j0 + q) * ldc + i0;
    for (int h = 0; h < R; ++h) {
      const __m256 out =
          kStore ? acc[q][h] : _mm256_sub_ps(_mm256_loadu_ps(cq + 8 * h), acc[q][h]);
      _mm256_storeu_ps(cq + 8 * h, out);
    }
  }
}

template <int R, bool kStore>
void ProductColumns(const float* x, int ldx, int k, int i0, int j0, int nc, float* c, int ldc) {
  switch (nc) {
    case 4: ProductTile<R, 4, kStore>(x, ldx, k, i0, j0, c, ldc); break;
    case 3: ProductTile<R, 3, kStore>(x, ldx, k, i0, j0, c, ldc); break;
    case 2: ProductTile<R, 2, kStore>(x, ldx, k, i0, j0, c, ldc); break;
    default: ProductTile<R, 1, kStore>(x, ldx, k, i0, j0, c, ldc); break;
  }
}

// Columns j0 .. j0 + nc (nc <= 4) of C from the 8-row block holding row j0 down to row np (a
// multiple of 8) in tiles of 24 rows (16 or 8 at the end). The tile's rows above the
// columns' diagonal land in the upper triangle, which neither caller reads.
template <bool kStore>
void ProductColumnBlock(const float* x, int ldx, int k, int np, int j0, int nc, float* c,
                        int ldc) {
  int i0 = j0 / 8 * 8;
  for (; i0 + 24 <= np; i0 += 24) ProductColumns<3, kStore>(x, ldx, k, i0, j0, nc, c, ldc);
  if (i0 + 16 <= np) {
    ProductColumns<2, kStore>(x, ldx, k, i0, j0, nc, c, ldc);
    i0 += 16;
  }
  if (i0 < np) ProductColumns<1, kStore>(x, ldx, k, i0, j0, nc, c, ldc);
}
#endif

// to[i] = from[i] as float, entries below kFloatFlush in magnitude as 0. Written with AVX2
// intrinsics: GCC 12 compiled the scalar loop to a compare and a branch per entry (perf:
// ~6% of a BFM-size fit).
void FlushToFloat(const double* from, Eigen::Index size, float* to) {
  Eigen::Index i = 0;
#if defined(__AVX2__) && defined(__FMA__)
  const __m256d sign = _mm256_set1_pd(-0.0), flush = _mm256_set1_pd(kFloatFlush);
  for (; i + 4 <= size; i += 4) {
    const __m256d v = _mm256_loadu_pd(from + i);
    const __m256d keep = _mm256_cmp_pd(_mm256_andnot_pd(sign, v), flush, _CMP_GE_OQ);
    _mm_storeu_ps(to + i, _mm256_cvtpd_ps(_mm256_and_pd(v, keep)));
  }
#endif
  for (; i < size; ++i) {
    const double v = from[i];
    to[i] = static_cast<float>(std::abs(v) < kFloatFlush ? 0.0 : v);
  }
}

}  // namespace

// Left-looking blocked Cholesky in 16-column panels: each panel first takes the product of
// the rows below it with the columns already factorised (the register-tiled kernel above, 24
// rows by 4 columns per tile, 16 or 8 rows at the end: the n³/6 multiply-adds), then is
// factorised column by column, each column taking the panel's earlier columns in one register
// pass (24-row tiles measured ~12% faster than 16-row ones). Measured at n = 151 on the 2-core
// VM, one core: 67-71 us against 96-118 us for Eigen's blocked float LLT (medians of 301
// calls, alternated), and the one-pass panel columns 23-37 us against 28-46 us before. Rows n..ld (ld a multiple of 8) let
// every tile be whole 8-wide vectors; their values only ever reach their own rows.
bool FloatCholeskyInPlace(float* a, int n, int ld) {
  const int np = (n + 7) / 8 * 8;
  CHECK_GE(ld, np);
  for (int j = 0; j < n; ++j) {
    std::fill(a + static_cast<size_t>(j) * ld + n, a + static_cast<size_t>(j) * ld + np, 0.0f);
  }
#if defined(__AVX2__) && defined(__FMA__)
  constexpr int kPanel = 16;
  for (int p = 0; p < n; p += kPanel) {
    const int e = std::min(p + kPanel, n);
    if (p > 0) {
      // Rows from p (a multiple of 8) down.
      for (int j0 = p; j0 < e; j0 += 4) {
        ProductColumnBlock<false>(a, ld, p, np, j0, std::min(4, e - j0), a, ld);
      }
    }
    for (int j = p; j < e; ++j) {
      float* cj = a + static_cast<size_t>(j) * ld;
      // The panel's earlier columns, all subtracted in one pass over column j (from the
      // 8-row block holding its diagonal; rows above it are the upper triangle): one store
      // per vector instead of one per column (the stores bounded the column-by-column loop).
      __m256 l[kPanel];
      for (int q = p; q < j; ++q) l[q - p] = _mm256_set1_ps(a[static_cast<size_t>(q) * ld + j]);
      const float* cp = a + static_cast<size_t>(p) * ld;
      for (int i = j / 8 * 8; i < np; i += 8) {
        __m256 acc = _mm256_loadu_ps(cj + i);
        for (int q = 0; q < j - p; ++q) {
          acc = _mm256_fnmadd_ps(l[q], _mm256_loadu_ps(cp + static_cast<size_t>(q) * ld + i), acc);
        }
        _mm256_storeu_ps(cj + i, acc);
      }
      const float d = cj[j];
      if (!(d > 0.0f)) return false;
      const float s = std::sqrt(d);
      cj[j] = s;
      const float inv = 1.0f / s;
      for (int i = j + 1; i < np; ++i) cj[i] *= inv;
    }
  }
  return true;
#else
  Eigen::Map<Eigen::MatrixXf, 0, Eigen::OuterStride<>> m(a, n, n, Eigen::OuterStride<>(ld));
  return Eigen::internal::llt_inplace<float, Eigen::Lower>::blocked(m) < 0;
#endif
}

void FlushToFloatColumns(const double* from, int rows, int cols, float* to, int ld_to) {
  CHECK_GE(ld_to, rows);
  for (int j = 0; j < cols; ++j) {
    float* col = to + static_cast<size_t>(j) * ld_to;
    FlushToFloat(from + static_cast<size_t>(j) * rows, rows, col);
    std::fill(col + rows, col + ld_to, 0.0f);
  }
}

// With AVX2 + FMA the Cholesky's register tiles (24 rows by 4 columns, 16 or 8 rows at the
// end), each accumulated over all m columns of X before it is stored: no packing, the lower
// triangle's tiles only.
void FloatRankUpdate(const float* x, int ldx, int n, int m, float* c, int ldc) {
  const int np = (n + 7) / 8 * 8;
  CHECK_GE(ldx, np);
  CHECK_GE(ldc, np);
#if defined(__AVX2__) && defined(__FMA__)
  for (int j0 = 0; j0 < n; j0 += 4) {
    ProductColumnBlock<true>(x, ldx, m, np, j0, std::min(4, n - j0), c, ldc);
  }
#else
  Eigen::Map<const Eigen::MatrixXf, 0, Eigen::OuterStride<>> xm(x, n, m, Eigen::OuterStride<>(ldx));
  Eigen::Map<Eigen::MatrixXf, 0, Eigen::OuterStride<>> cm(c, n, n, Eigen::OuterStride<>(ldc));
  cm.triangularView<Eigen::Lower>().setZero();
  cm.selfadjointView<Eigen::Lower>().rankUpdate(xm);
#endif
}

// Blocks of 8 columns: forward, each block's 8 x 8 triangle in scalar, then the rows below
// (aligned to the block's end, a multiple of 8) updated by all 8 columns in one pass;
// backward, each block's dot products with the solved part below first (8-wide,
// independent), then its triangle from the bottom. Divisions by the pivots are taken out of
// the dependent chains (reciprocals first).
void FloatCholeskySolveInPlace(const float* l, int n, int ld, float* b) {
  const int np = (n + 7) / 8 * 8;
  CHECK_GE(ld, np);
  std::fill(b + n, b + np, 0.0f);
  auto at = [&](int i, int j) { return l[static_cast<size_t>(j) * ld + i]; };
  thread_local std::vector<float> inverse_storage;
  if (inverse_storage.size() < static_cast<size_t>(n)) inverse_storage.resize(n);
  float* inverse = inverse_storage.data();
  for (int j = 0; j < n; ++j) inverse[j] = 1.0f / at(j, j);
  for (int j0 = 0; j0 < n; j0 += 8) {
    const int je = std::min(j0 + 8, n);
    for (int j = j0; j < je; ++j) {
      const float yj = b[j] * inverse[j];
      b[j] = yj;
      for (int i = j + 1; i < je; ++i) b[i] -= at(i, j) * yj;
    }
    if (je == n) break;  // j0 + 8 = je from here: whole blocks
#if defined(__AVX2__) && defined(__FMA__)
    __m256 y[8];
    for (int q = 0; q < 8; ++q) y[q] = _mm256_set1_ps(b[j0 + q]);
    const float* col0 = l + static_cast<size_t>(j0) * ld;
    for (int i = je; i < np; i += 8) {
      __m256 acc = _mm256_loadu_ps(b + i);
      for (int q = 0; q < 8; ++q) {
        acc = _mm256_fnmadd_ps(_mm256_loadu_ps(col0 + static_cast<size_t>(q) * ld + i), y[q], acc);
      }
      _mm256_storeu_ps(b + i, acc);
    }
#else
    for (int j = j0; j < je; ++j) {
      const float* col = l + static_cast<size_t>(j) * ld;
      const float yj = b[j];
      for (int i = je; i < np; ++i) b[i] -= col[i] * yj;
    }
#endif
  }
  for (int j0 = (n - 1) / 8 * 8; j0 >= 0; j0 -= 8) {
    const int je = std::min(j0 + 8, n);
#if defined(__AVX2__) && defined(__FMA__)
    if (je - j0 == 8) {
      // The block's 8 dot products in one pass over the solved part (8 accumulators).
      __m256 acc[8];
      for (int q = 0; q < 8; ++q) acc[q] = _mm256_setzero_ps();
      const float* col0 = l + static_cast<size_t>(j0) * ld;
      for (int i = je; i < np; i += 8) {
        const __m256 x = _mm256_loadu_ps(b + i);
        for (int q = 0; q < 8; ++q) {
          acc[q] = _mm256_fmadd_ps(_mm256_loadu_ps(col0 + static_cast<size_t>(q) * ld + i), x,
                                   acc[q]);
        }
      }
      // Horizontal sums of the 8 accumulators as one vector (lane q = column j0 + q).
      const __m256 s01 = _mm256_hadd_ps(acc[0], acc[1]), s23 = _mm256_hadd_ps(acc[2], acc[3]);
      const __m256 s45 = _mm256_hadd_ps(acc[4], acc[5]), s67 = _mm256_hadd_ps(acc[6], acc[7]);
      const __m256 s0123 = _mm256_hadd_ps(s01, s23), s4567 = _mm256_hadd_ps(s45, s67);
      const __m256 lo = _mm256_permute2f128_ps(s0123, s4567, 0x20);
      const __m256 hi = _mm256_permute2f128_ps(s0123, s4567, 0x31);
      _mm256_storeu_ps(b + j0, _mm256_sub_ps(_mm256_loadu_ps(b + j0), _mm256_add_ps(lo, hi)));
    } else {
#else
    {
#endif
      for (int j = j0; j < je; ++j) {
        const float* col = l + static_cast<size_t>(j) * ld;
        float sum = 0.0f;
        for (int i = je; i < np; ++i) sum += col[i] * b[i];
        b[j] -= sum;
      }
    }
    for (int j = je - 1; j >= j0; --j) {
      float s = b[j];
      for (int i = j + 1; i < je; ++i) s -= at(i, j) * b[i];
      b[j] = s * inverse[j];
    }
  }
}

}  // namespace morphfit::fitters
