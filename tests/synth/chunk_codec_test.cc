// The shards' chunk compressor (src/synth/chunk_codec.h): every level gives a zlib stream that
// a standard inflater (libdeflate's) decodes to the input; bad levels are errors; the byte
// shuffle is HDF5's.
#include "synth/chunk_codec.h"

#include <libdeflate.h>

#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include "morphfit/core/rng.h"

namespace morphfit::synth::internal {
namespace {

// Image-like bytes: a zero border, a smooth ramp and some noise.
std::vector<uint8_t> TestBytes(size_t n) {
  Rng rng(5);
  std::vector<uint8_t> v(n, 0);
  for (size_t i = n / 4; i < 3 * n / 4; ++i) {
    v[i] = static_cast<uint8_t>((i / 97) % 200 + static_cast<int>(rng.Uniform(0.0, 4.0)));
  }
  return v;
}

TEST(ChunkCodecTest, EveryLevelRoundTripsThroughAStandardInflater) {
  libdeflate_decompressor* inflater = libdeflate_alloc_decompressor();
  ASSERT_NE(inflater, nullptr);
  for (size_t n : {size_t{0}, size_t{1}, size_t{1000}, size_t{3 * 224 * 224}}) {
    const std::vector<uint8_t> input = TestBytes(n);
    for (int level : {1, 2, 6, 9}) {
      std::vector<uint8_t> stream;
      ASSERT_TRUE(ZlibCompress(input.data(), input.size(), level, &stream).ok()) << level;
      if (n > 1000) {
        EXPECT_LT(stream.size(), input.size() / 2) << "level " << level;
      }
      std::vector<uint8_t> back(n + 1);
      size_t got = 0;
      ASSERT_EQ(libdeflate_zlib_decompress(inflater, stream.data(), stream.size(), back.data(),
                                           back.size(), &got),
                LIBDEFLATE_SUCCESS)
          << "n " << n << " level " << level;
      back.resize(got);
      EXPECT_TRUE(back == input) << "n " << n << " level " << level;
    }
  }
  libdeflate_free_decompressor(inflater);
}

TEST(ChunkCodecTest, BadLevelsAreErrors) {
  const std::vector<uint8_t> input = TestBytes(100);
  std::vector<uint8_t> stream;
  for (int level : {0, 10, -1}) {
    const Status s = ZlibCompress(input.data(), input.size(), level, &stream);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << level;
    EXPECT_NE(s.message().find("level"), std::string::npos);
  }
}

TEST(ChunkCodecTest, ShuffleGroupsBytesByPosition) {
  const std::vector<uint8_t> in = {1, 2, 3, 4, 5, 6};
  std::vector<uint8_t> out;
  Shuffle(in.data(), in.size(), 2, &out);
  EXPECT_EQ(out, (std::vector<uint8_t>{1, 3, 5, 2, 4, 6}));
  // Lengths around the 16-element vector step, element sizes 2, 3 and 4.
  for (int element_size : {2, 3, 4}) {
    for (size_t count : {size_t{15}, size_t{16}, size_t{17}, size_t{47}, size_t{1000}}) {
      std::vector<uint8_t> values(count * element_size);
      for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<uint8_t>(i * 37 + i / 251);
      Shuffle(values.data(), values.size(), element_size, &out);
      ASSERT_EQ(out.size(), values.size());
      for (size_t i = 0; i < count; ++i) {
        for (int b = 0; b < element_size; ++b) {
          ASSERT_EQ(out[b * count + i], values[i * element_size + b])
              << "element " << i << " byte " << b << " of " << count << " x " << element_size;
        }
      }
    }
  }
}

}  // namespace
}  // namespace morphfit::synth::internal
