// Vectorised combination of basis rows for the fused JᵀJ's row generation (pixel_rows.h).
#include "pixel_rows.h"

#include <cmath>

#if defined(__x86_64__) && defined(__GNUC__) && defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define MORPHFIT_PIXEL_ROWS_X86 1
#endif

namespace morphfit::render::internal {
namespace {

// One column q of the three sums: fma chain over vertices and axes in a fixed order (the
// vector versions below do exactly this per lane).
inline void CombineColumn(const float* basis, int64_t ks, const int* vertices,
                          const float* coeffs, int count, int q, float* s0, float* s1,
                          float* s2) {
  float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f;
  for (int e = 0; e < count; ++e) {
    const float* b = basis + 3 * static_cast<int64_t>(vertices[e]) * ks + q;
    const float* w = coeffs + 9 * e;
    const float x = b[0], y = b[ks], z = b[2 * ks];
    a0 = std::fma(w[0], x, a0);
    a0 = std::fma(w[1], y, a0);
    a0 = std::fma(w[2], z, a0);
    a1 = std::fma(w[3], x, a1);
    a1 = std::fma(w[4], y, a1);
    a1 = std::fma(w[5], z, a1);
    a2 = std::fma(w[6], x, a2);
    a2 = std::fma(w[7], y, a2);
    a2 = std::fma(w[8], z, a2);
  }
  s0[q] = a0;
  s1[q] = a1;
  s2[q] = a2;
}

#ifdef MORPHFIT_PIXEL_ROWS_X86
// NC vectors of columns at once: 3 NC independent fma chains hide the FMA latency (each lane's
// chain is still the fixed order of CombineColumn).
template <int NC>
void CombineAvx2Group(const float* basis, int64_t ks, const int* vertices, const float* coeffs,
                      int count, int q, float* s0, float* s1, float* s2) {
  __m256 a[3][NC];
  for (int c = 0; c < 3; ++c) {
    for (int n = 0; n < NC; ++n) a[c][n] = _mm256_setzero_ps();
  }
  for (int e = 0; e < count; ++e) {
    const float* b = basis + 3 * static_cast<int64_t>(vertices[e]) * ks + q;
    const float* w = coeffs + 9 * e;
    for (int n = 0; n < NC; ++n) {
      const __m256 x = _mm256_loadu_ps(b + 8 * n), y = _mm256_loadu_ps(b + ks + 8 * n),
                   z = _mm256_loadu_ps(b + 2 * ks + 8 * n);
      for (int c = 0; c < 3; ++c) {
        a[c][n] = _mm256_fmadd_ps(_mm256_broadcast_ss(w + 3 * c), x, a[c][n]);
        a[c][n] = _mm256_fmadd_ps(_mm256_broadcast_ss(w + 3 * c + 1), y, a[c][n]);
        a[c][n] = _mm256_fmadd_ps(_mm256_broadcast_ss(w + 3 * c + 2), z, a[c][n]);
      }
    }
  }
  for (int n = 0; n < NC; ++n) {
    _mm256_storeu_ps(s0 + q + 8 * n, a[0][n]);
    _mm256_storeu_ps(s1 + q + 8 * n, a[1][n]);
    _mm256_storeu_ps(s2 + q + 8 * n, a[2][n]);
  }
}

void CombineAvx2(const float* basis, int64_t ks, const int* vertices, const float* coeffs,
                 int count, float* s0, float* s1, float* s2) {
  int q = 0;
  for (; q + 24 <= ks; q += 24) {
    CombineAvx2Group<3>(basis, ks, vertices, coeffs, count, q, s0, s1, s2);
  }
  for (; q + 8 <= ks; q += 8) {
    CombineAvx2Group<1>(basis, ks, vertices, coeffs, count, q, s0, s1, s2);
  }
  for (; q < ks; ++q) CombineColumn(basis, ks, vertices, coeffs, count, q, s0, s1, s2);
}

// Three 16-column vectors at once (masked at the end of the row).
__attribute__((target("avx512f"))) void CombineAvx512(const float* basis, int64_t ks,
                                                      const int* vertices, const float* coeffs,
                                                      int count, float* s0, float* s1,
                                                      float* s2) {
  constexpr int NC = 3;
  for (int q = 0; q < ks; q += 16 * NC) {
    __mmask16 m[NC];
    for (int n = 0; n < NC; ++n) {
      const int left = static_cast<int>(ks) - q - 16 * n;
      m[n] = left >= 16 ? __mmask16(0xFFFF) : left <= 0 ? __mmask16(0) : __mmask16((1u << left) - 1u);
    }
    __m512 a[3][NC];
    for (int c = 0; c < 3; ++c) {
      for (int n = 0; n < NC; ++n) a[c][n] = _mm512_setzero_ps();
    }
    for (int e = 0; e < count; ++e) {
      const float* b = basis + 3 * static_cast<int64_t>(vertices[e]) * ks + q;
      const float* w = coeffs + 9 * e;
      for (int n = 0; n < NC; ++n) {
        const __m512 x = _mm512_maskz_loadu_ps(m[n], b + 16 * n);
        const __m512 y = _mm512_maskz_loadu_ps(m[n], b + ks + 16 * n);
        const __m512 z = _mm512_maskz_loadu_ps(m[n], b + 2 * ks + 16 * n);
        for (int c = 0; c < 3; ++c) {
          a[c][n] = _mm512_fmadd_ps(_mm512_set1_ps(w[3 * c]), x, a[c][n]);
          a[c][n] = _mm512_fmadd_ps(_mm512_set1_ps(w[3 * c + 1]), y, a[c][n]);
          a[c][n] = _mm512_fmadd_ps(_mm512_set1_ps(w[3 * c + 2]), z, a[c][n]);
        }
      }
    }
    for (int n = 0; n < NC; ++n) {
      _mm512_mask_storeu_ps(s0 + q + 16 * n, m[n], a[0][n]);
      _mm512_mask_storeu_ps(s1 + q + 16 * n, m[n], a[1][n]);
      _mm512_mask_storeu_ps(s2 + q + 16 * n, m[n], a[2][n]);
    }
  }
}
#endif

}  // namespace

void CombineBasisRows(const float* basis, int ks, const int* vertices, const float* coeffs,
                      int count, float* s0, float* s1, float* s2, PanelKernel isa) {
  if (isa == PanelKernel::kAuto) isa = BestPanelKernel();
#ifdef MORPHFIT_PIXEL_ROWS_X86
  if (isa == PanelKernel::kAvx512) {
    CombineAvx512(basis, ks, vertices, coeffs, count, s0, s1, s2);
    return;
  }
  if (isa == PanelKernel::kAvx2) {
    CombineAvx2(basis, ks, vertices, coeffs, count, s0, s1, s2);
    return;
  }
#endif
  for (int q = 0; q < ks; ++q) CombineColumn(basis, ks, vertices, coeffs, count, q, s0, s1, s2);
}

}  // namespace morphfit::render::internal
