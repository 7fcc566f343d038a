// The encoder's range conversions (src/synth/pixel_convert.h): the vectorised loops give the
// scalar definitions' bits for every value (NaN, infinities, signed zeros, rounding ties of the
// 8-bit quantisation, values outside [0, 1]) at every length and misalignment (vector steps
// plus scalar tails); mask runs end where a naive scan ends them; the photometric bytes and
// floats equal the table definition.
#include "synth/pixel_convert.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "morphfit/core/rng.h"
#include "morphfit/synth/sample_render.h"

namespace morphfit::synth::internal {
namespace {

// Values that stress the conversions: every 8-bit rounding tie (k + 0.5) / 255 and its float
// neighbours (where rounding instead of truncating, or a different clamp, changes the byte),
// the ends of [0, 1] and beyond, signed zeros, infinities, NaN and random values in [-1.5, 1.5].
std::vector<float> TestValues() {
  std::vector<float> v;
  for (int k = 0; k < 256; ++k) {
    const float tie = (static_cast<float>(k) + 0.5f) / 255.0f;
    v.push_back(tie);
    v.push_back(std::nextafter(tie, 0.0f));
    v.push_back(std::nextafter(tie, 2.0f));
  }
  const float inf = std::numeric_limits<float>::infinity();
  for (float x : {0.0f, -0.0f, 1.0f, std::nextafter(1.0f, 0.0f), std::nextafter(1.0f, 2.0f), -1.0f,
                  2.0f, -3.5f, inf, -inf, std::numeric_limits<float>::quiet_NaN(), 1e-30f,
                  -1e-30f, 65504.0f, 7e4f}) {
    v.push_back(x);
  }
  Rng rng(11);
  for (int i = 0; i < 700; ++i) v.push_back(static_cast<float>(rng.Uniform(-1.5, 1.5)));
  return v;
}

// Every (offset, length) of a range inside the values: misaligned starts, lengths around the
// vector widths (8, 24, 32) and long ones.
template <typename Check>
void ForEachRange(size_t total, const Check& check) {
  for (size_t offset = 0; offset < 5; ++offset) {
    for (size_t length : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{23}, size_t{24},
                          size_t{31}, size_t{32}, size_t{33}, size_t{65}, size_t{96}, size_t{241},
                          total - offset}) {
      if (offset + length <= total) check(offset, length);
    }
  }
}

TEST(PixelConvertTest, BytesEqualTheScalarDefinitionForEveryValue) {
  const std::vector<float> v = TestValues();
  ForEachRange(v.size(), [&](size_t offset, size_t length) {
    std::vector<uint8_t> bytes(length + 1, 0xAB), signed_bytes(length + 1, 0xAB);
    ToBytes(v.data() + offset, length, bytes.data());
    SignedToBytes(v.data() + offset, length, signed_bytes.data());
    for (size_t i = 0; i < length; ++i) {
      const float x = v[offset + i];
      ASSERT_EQ(bytes[i], ToByte(x)) << "value " << x << " at " << i << " of " << length;
      ASSERT_EQ(signed_bytes[i], ToByte(0.5f * (x + 1.0f))) << "value " << x;
    }
    EXPECT_EQ(bytes[length], 0xAB) << "wrote past the range";
    EXPECT_EQ(signed_bytes[length], 0xAB) << "wrote past the range";
  });
  // The definition itself: clamped, rounded half up, NaN to 0.
  EXPECT_EQ(ToByte(-0.2f), 0);
  EXPECT_EQ(ToByte(1.7f), 255);
  EXPECT_EQ(ToByte(std::numeric_limits<float>::quiet_NaN()), 0);
  EXPECT_EQ(ToByte(0.5f / 255.0f + 1e-6f), 1);
  EXPECT_EQ(ToByte(128.0f / 255.0f), 128);
}

TEST(PixelConvertTest, HalvesOfDifferencesEqualTheScalarConversion) {
  const std::vector<float> v = TestValues();
  for (float offset : {0.0f, 0.75f, -1000.25f}) {
    ForEachRange(v.size(), [&](size_t begin, size_t length) {
      std::vector<uint16_t> bits(length + 1, 0xABCD);
      OffsetToHalves(v.data() + begin, offset, length, bits.data());
      for (size_t i = 0; i < length; ++i) {
        const float d = v[begin + i] - offset;
        if (std::isnan(d)) {
          ASSERT_TRUE(std::isnan(HalfToFloat(bits[i])));
        } else {
          ASSERT_EQ(bits[i], FloatToHalf(d)) << "value " << v[begin + i] << " offset " << offset;
        }
      }
      EXPECT_EQ(bits[length], 0xABCD) << "wrote past the range";
    });
  }
  // Signed zero and rounding to nearest even survive a zero offset.
  uint16_t z[2];
  const float zeros[2] = {-0.0f, 0.0f};
  OffsetToHalves(zeros, 0.0f, 2, z);
  EXPECT_EQ(z[0], 0x8000);
  EXPECT_EQ(z[1], 0x0000);
}

TEST(PixelConvertTest, MaskRunsEndWhereANaiveScanEndsThem) {
  Rng rng(3);
  // Long runs (as a face's rows) and short ones (its edges), values 0, 1 and 255.
  std::vector<uint8_t> mask;
  while (mask.size() < 3000) {
    const uint8_t value = rng.Uniform() < 0.5 ? 0 : (rng.Uniform() < 0.5 ? 1 : 255);
    const int length = rng.Uniform() < 0.3 ? 1 + rng.UniformInt(3) : 1 + rng.UniformInt(120);
    mask.insert(mask.end(), static_cast<size_t>(length), value);
  }
  for (size_t end : {mask.size(), mask.size() - 17, size_t{40}}) {
    for (size_t begin = 0; begin < end; ++begin) {
      size_t naive = begin + 1;
      while (naive < end && (mask[naive] != 0) == (mask[begin] != 0)) ++naive;
      ASSERT_EQ(MaskRunEnd(mask.data(), begin, end), naive) << "begin " << begin << " end " << end;
    }
  }
  const std::vector<uint8_t> ones(100, 1);
  EXPECT_EQ(MaskRunEnd(ones.data(), 0, 100), 100u);
  EXPECT_EQ(MaskRunEnd(ones.data(), 99, 100), 100u);
}

TEST(PixelConvertTest, PhotometricBytesAndFloatsFollowTheTable) {
  std::vector<float> v = TestValues();
  v.resize(v.size() / 3 * 3);  // whole pixels
  const float gain[3] = {1.2f, 0.9f, 1.05f};
  for (float gamma : {0.8f, 1.0f, 1.3f}) {
    const Photometric p(gain, gamma);
    ASSERT_TRUE(p.enabled());
    std::vector<uint8_t> bytes(v.size());
    std::vector<float> floats(v.size());
    p.Bytes(v.data(), v.size(), bytes.data());
    p.Floats(v.data(), v.size(), floats.data());
    for (size_t i = 0; i < v.size(); ++i) {
      const float x = std::min(1.0f, std::max(0.0f, v[i] * gain[i % 3]));
      const int level = static_cast<int>(x * (Photometric::kLevels - 1) + 0.5f);
      const float t = static_cast<float>(level) / (Photometric::kLevels - 1);
      const float expected = gamma == 1.0f ? t : std::pow(t, gamma);
      ASSERT_EQ(floats[i], expected) << "value " << v[i] << " gamma " << gamma;
      ASSERT_EQ(bytes[i], ToByte(expected)) << "value " << v[i] << " gamma " << gamma;
    }
    // A range that starts at a later pixel uses the same channel gains.
    std::vector<uint8_t> tail(v.size() - 6);
    p.Bytes(v.data() + 6, tail.size(), tail.data());
    EXPECT_TRUE(std::equal(tail.begin(), tail.end(), bytes.begin() + 6));
  }
  const float unit[3] = {1.0f, 1.0f, 1.0f};
  const Photometric off(unit, 1.0f);
  EXPECT_FALSE(off.enabled());
  std::vector<uint8_t> bytes(v.size());
  std::vector<float> floats(v.size());
  off.Bytes(v.data(), v.size(), bytes.data());
  off.Floats(v.data(), v.size(), floats.data());
  for (size_t i = 0; i < v.size(); ++i) {
    ASSERT_EQ(bytes[i], ToByte(v[i]));
    ASSERT_TRUE(floats[i] == v[i] || (std::isnan(floats[i]) && std::isnan(v[i])));
  }
}

}  // namespace
}  // namespace morphfit::synth::internal
