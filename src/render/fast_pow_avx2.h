// AVX2 twin of math::FastPow (include/morphfit/math/fast_pow.h) for 8 floats: each half is
// widened to 4 doubles and goes through the scalar function's operations in the same order
// (the same divisions, fmas, rounding to an integer and selects), so every lane is the scalar
// function's bits (asserted in tests/render/fast_pow_test.cc). Used by the vectorised shading
// (shade_buffer.cc); defined only where the compiler targets AVX2 and FMA.
#ifndef MORPHFIT_SRC_RENDER_FAST_POW_AVX2_H_
#define MORPHFIT_SRC_RENDER_FAST_POW_AVX2_H_

#if defined(__x86_64__) && defined(__GNUC__) && defined(__AVX2__) && defined(__FMA__)
#define MORPHFIT_FAST_POW_AVX2 1

#include <immintrin.h>

#include "morphfit/math/fast_pow.h"

namespace morphfit::render {

// math::FastPow on 4 lanes of float values widened to double.
inline __m256d FastPow4d(__m256d x, __m256d p) {
  namespace fp = math::fast_pow;
  // fast_pow::Log2.
  const __m256i u = _mm256_castpd_si256(x);
  const __m256i q =
      _mm256_srli_epi64(_mm256_sub_epi64(u, _mm256_set1_epi64x(fp::kSqrt2MantissaBits)), 52);
  // (double)(q - 1022), exact: the bits of 2^52 + q, minus 2^52 + 1022.
  const __m256d e =
      _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(q, _mm256_set1_epi64x(0x4330000000000000ll))),
                    _mm256_set1_pd(0x1p52 + 1022.0));
  const __m256d m = _mm256_castsi256_pd(_mm256_sub_epi64(
      u, _mm256_slli_epi64(_mm256_sub_epi64(q, _mm256_set1_epi64x(1022)), 52)));
  const __m256d one = _mm256_set1_pd(1.0);
  const __m256d s = _mm256_div_pd(_mm256_sub_pd(m, one), _mm256_add_pd(m, one));
  const __m256d z = _mm256_mul_pd(s, s);
  __m256d poly = _mm256_fmadd_pd(_mm256_set1_pd(fp::kLog2C6), z, _mm256_set1_pd(fp::kLog2C5));
  for (double c : {fp::kLog2C4, fp::kLog2C3, fp::kLog2C2, fp::kLog2C1, fp::kLog2C0}) {
    poly = _mm256_fmadd_pd(poly, z, _mm256_set1_pd(c));
  }
  const __m256d l = _mm256_fmadd_pd(s, poly, e);
  // FastPow's reduction: k = rint(p l), f = fma(p, l, -k); beyond the limit (or NaN) 2^±limit.
  const __m256d y = _mm256_mul_pd(p, l);
  __m256d k = _mm256_round_pd(y, _MM_FROUND_CUR_DIRECTION);
  __m256d f = _mm256_fmsub_pd(p, l, k);
  const __m256d limit = _mm256_set1_pd(fp::kExponentLimit);
  const __m256d abs_y = _mm256_andnot_pd(_mm256_set1_pd(-0.0), y);
  const __m256d outside = _mm256_cmp_pd(abs_y, limit, _CMP_NLE_UQ);
  const __m256d zero = _mm256_setzero_pd();
  const __m256d signed_limit = _mm256_blendv_pd(_mm256_sub_pd(zero, limit), limit,
                                                _mm256_cmp_pd(y, zero, _CMP_GT_OQ));
  k = _mm256_blendv_pd(k, signed_limit, outside);
  f = _mm256_blendv_pd(f, _mm256_mul_pd(zero, y), outside);
  // 2^k from its exponent bits: the low bits of k + 1.5 · 2^52 are k (|k| <= 200).
  const __m256i k_bits = _mm256_castpd_si256(_mm256_add_pd(k, _mm256_set1_pd(0x1.8p52)));
  const __m256d scale = _mm256_castsi256_pd(
      _mm256_add_epi64(_mm256_slli_epi64(k_bits, 52), _mm256_set1_epi64x(1023ll << 52)));
  // fast_pow::Exp2Reduced.
  __m256d r = _mm256_fmadd_pd(_mm256_set1_pd(fp::kExp2C9), f, _mm256_set1_pd(fp::kExp2C8));
  for (double c : {fp::kExp2C7, fp::kExp2C6, fp::kExp2C5, fp::kExp2C4, fp::kExp2C3,
                   fp::kExp2C2, fp::kExp2C1, fp::kExp2C0}) {
    r = _mm256_fmadd_pd(r, f, _mm256_set1_pd(c));
  }
  return _mm256_mul_pd(r, scale);
}

// math::FastPow(x[i], p[i]) for i = 0..7.
inline __m256 FastPow8(__m256 x, __m256 p) {
  const __m256d lo = FastPow4d(_mm256_cvtps_pd(_mm256_castps256_ps128(x)),
                               _mm256_cvtps_pd(_mm256_castps256_ps128(p)));
  const __m256d hi = FastPow4d(_mm256_cvtps_pd(_mm256_extractf128_ps(x, 1)),
                               _mm256_cvtps_pd(_mm256_extractf128_ps(p, 1)));
  return _mm256_set_m128(_mm256_cvtpd_ps(hi), _mm256_cvtpd_ps(lo));
}

}  // namespace morphfit::render

#endif  // AVX2 and FMA
#endif  // MORPHFIT_SRC_RENDER_FAST_POW_AVX2_H_
