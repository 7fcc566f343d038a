// Vectorised per-value conversions of the synth encoder (pixel_convert.h).
#include "synth/pixel_convert.h"

#include <cmath>

#include <Eigen/Core>
#if defined(__AVX2__) || defined(__F16C__)
#include <immintrin.h>
#endif

namespace morphfit::synth::internal {
namespace {

#if defined(__AVX2__) && defined(__FMA__)
// ToByte of 8 lanes: max(v, 0) (NaN -> 0), min(., 1), one fused multiply-add, truncation: the
// operations the scalar ToByte compiles to (GCC contracts its 255 v + 0.5 into an FMA; for
// these constants the fused and the separate multiply-add give the same byte for every float
// in [0, 1], checked exhaustively, so the result does not depend on contraction either).
inline __m256i ToByteLanes(__m256 v) {
  const __m256 x = _mm256_min_ps(_mm256_max_ps(v, _mm256_setzero_ps()), _mm256_set1_ps(1.0f));
  return _mm256_cvttps_epi32(_mm256_fmadd_ps(x, _mm256_set1_ps(255.0f), _mm256_set1_ps(0.5f)));
}

// 4 x 8 int32 lanes in [0, 255] -> 32 bytes in lane order.
inline __m256i PackBytes(__m256i a, __m256i b, __m256i c, __m256i d) {
  const __m256i words = _mm256_packus_epi16(_mm256_packus_epi32(a, b), _mm256_packus_epi32(c, d));
  return _mm256_permutevar8x32_epi32(words, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// out[i] = ToByte(map(in[i])) for 32 values at a time; returns how many were done.
template <typename Map>
size_t BytesVector(const float* in, size_t count, uint8_t* out, const Map& map) {
  size_t i = 0;
  for (; i + 32 <= count; i += 32) {
    const __m256i b = PackBytes(ToByteLanes(map(_mm256_loadu_ps(in + i))),
                                ToByteLanes(map(_mm256_loadu_ps(in + i + 8))),
                                ToByteLanes(map(_mm256_loadu_ps(in + i + 16))),
                                ToByteLanes(map(_mm256_loadu_ps(in + i + 24))));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), b);
  }
  return i;
}
#endif

uint16_t HalfBits(float v) { return Eigen::numext::bit_cast<uint16_t>(Eigen::half(v)); }

// levels[i] = (int)(clamp(gain[i % 3] * values[i], 0, 1) * top + 0.5) for interleaved RGB.
void Levels(const float* values, size_t count, const float gain[3], int top, int32_t* levels) {
  size_t i = 0;
#if defined(__AVX2__) && defined(__FMA__)
  // 24 values = 8 pixels per step; the scalar loop below compiles to the same operations
  // (multiply, max, min, one fused multiply-add, truncation).
  const float r = gain[0], gr = gain[1], b = gain[2];
  const __m256 g[3] = {_mm256_setr_ps(r, gr, b, r, gr, b, r, gr),
                       _mm256_setr_ps(b, r, gr, b, r, gr, b, r),
                       _mm256_setr_ps(gr, b, r, gr, b, r, gr, b)};
  const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
  const __m256 scale = _mm256_set1_ps(static_cast<float>(top)), half = _mm256_set1_ps(0.5f);
  for (; i + 24 <= count; i += 24) {
    for (int q = 0; q < 3; ++q) {
      __m256 x = _mm256_mul_ps(_mm256_loadu_ps(values + i + 8 * q), g[q]);
      x = _mm256_min_ps(_mm256_max_ps(x, zero), one);  // (x > 0 ? x : 0), then (x < 1 ? x : 1)
      const __m256i l = _mm256_cvttps_epi32(_mm256_fmadd_ps(x, scale, half));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(levels + i + 8 * q), l);
    }
  }
#endif
  for (; i < count; ++i) {
    const float x = std::min(1.0f, std::max(0.0f, values[i] * gain[i % 3]));
    levels[i] = static_cast<int>(x * top + 0.5f);
  }
}

// Values per step of the photometric loops: a multiple of 24 (whole vector steps of Levels).
constexpr size_t kLevelBlock = 240;

}  // namespace

void ToBytes(const float* in, size_t count, uint8_t* out) {
  size_t i = 0;
#if defined(__AVX2__) && defined(__FMA__)
  i = BytesVector(in, count, out, [](__m256 v) { return v; });
#endif
  for (; i < count; ++i) out[i] = ToByte(in[i]);
}

void SignedToBytes(const float* in, size_t count, uint8_t* out) {
  size_t i = 0;
#if defined(__AVX2__) && defined(__FMA__)
  // 0.5 (v + 1): an addition then a multiplication, as the scalar expression (not contracted).
  i = BytesVector(in, count, out, [](__m256 v) {
    return _mm256_mul_ps(_mm256_set1_ps(0.5f), _mm256_add_ps(v, _mm256_set1_ps(1.0f)));
  });
#endif
  for (; i < count; ++i) out[i] = ToByte(0.5f * (in[i] + 1.0f));
}

void OffsetToHalves(const float* in, float offset, size_t count, uint16_t* bits) {
  size_t i = 0;
#if defined(__F16C__) && defined(__AVX__)
  // F16C's conversion rounds to nearest even, as Eigen::half does.
  const __m256 o = _mm256_set1_ps(offset);
  for (; i + 8 <= count; i += 8) {
    const __m256 v = _mm256_sub_ps(_mm256_loadu_ps(in + i), o);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(bits + i),
                     _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
  }
#endif
  for (; i < count; ++i) bits[i] = HalfBits(in[i] - offset);
}

size_t MaskRunEnd(const uint8_t* mask, size_t begin, size_t end) {
  const bool face = mask[begin] != 0;
  size_t i = begin + 1;
#if defined(__AVX2__)
  const __m256i zero = _mm256_setzero_si256();
  for (; i + 32 <= end; i += 32) {
    const __m256i m = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(mask + i));
    const uint32_t zeros = static_cast<uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(m, zero)));
    const uint32_t other = face ? zeros : ~zeros;  // bytes that end the run
    if (other != 0) return i + static_cast<size_t>(__builtin_ctz(other));
  }
#endif
  while (i < end && (mask[i] != 0) == face) ++i;
  return i;
}

Photometric::Photometric(const float gain[3], float gamma) {
  enabled_ = gain[0] != 1.0f || gain[1] != 1.0f || gain[2] != 1.0f || gamma != 1.0f;
  if (!enabled_) return;
  for (int c = 0; c < 3; ++c) gain_[c] = gain[c];
  table_.resize(kLevels);
  table_bytes_.resize(kLevels);
  for (int i = 0; i < kLevels; ++i) {
    const float v = static_cast<float>(i) / (kLevels - 1);
    table_[i] = gamma == 1.0f ? v : std::pow(v, gamma);
    table_bytes_[i] = ToByte(table_[i]);
  }
}

void Photometric::Bytes(const float* rgb, size_t count, uint8_t* out) const {
  if (!enabled_) {
    ToBytes(rgb, count, out);
    return;
  }
  int32_t levels[kLevelBlock];
  for (size_t i = 0; i < count; i += kLevelBlock) {
    const size_t m = std::min(kLevelBlock, count - i);
    Levels(rgb + i, m, gain_, kLevels - 1, levels);
    for (size_t k = 0; k < m; ++k) out[i + k] = table_bytes_[static_cast<size_t>(levels[k])];
  }
}

void Photometric::Floats(const float* rgb, size_t count, float* out) const {
  if (!enabled_) {
    std::copy(rgb, rgb + count, out);
    return;
  }
  int32_t levels[kLevelBlock];
  for (size_t i = 0; i < count; i += kLevelBlock) {
    const size_t m = std::min(kLevelBlock, count - i);
    Levels(rgb + i, m, gain_, kLevels - 1, levels);
    for (size_t k = 0; k < m; ++k) out[i + k] = table_[static_cast<size_t>(levels[k])];
  }
}

}  // namespace morphfit::synth::internal
