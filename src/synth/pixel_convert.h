// Private to src/synth: the per-value conversions of the encoder (sample_render.cc) from the
// renderer's float channels to the stored types, over contiguous ranges (vectorised where the
// CPU has AVX2 + FMA / F16C), and the mask runs the encoder walks. Each function gives the same
// bits as its scalar definition below for every input (NaN included), whatever the range's
// length or alignment (tests/synth/pixel_convert_test.cc).
#ifndef MORPHFIT_SRC_SYNTH_PIXEL_CONVERT_H_
#define MORPHFIT_SRC_SYNTH_PIXEL_CONVERT_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace morphfit::synth::internal {

// Clamps to [0, 1] (NaN -> 0) and rounds 255 v to the nearest byte (halves up).
inline uint8_t ToByte(float v) {
  return static_cast<uint8_t>(255.0f * std::min(1.0f, std::max(0.0f, v)) + 0.5f);
}

// out[i] = ToByte(in[i]).
void ToBytes(const float* in, size_t count, uint8_t* out);
// out[i] = ToByte(0.5 (in[i] + 1)): unit-vector components in [-1, 1] to bytes.
void SignedToBytes(const float* in, size_t count, uint8_t* out);
// bits[i] = float16 bits (round to nearest even) of in[i] - offset (NaN: some NaN).
void OffsetToHalves(const float* in, float offset, size_t count, uint16_t* bits);

// The end of the run of pixels that starts at `begin` and whose mask values are all zero or all
// non-zero, as mask[begin] is; at most `end` (> begin).
size_t MaskRunEnd(const uint8_t* mask, size_t begin, size_t end);

// The photometric part of the augmentation (sample_render.h, ApplyAugmentation): each value of
// interleaved RGB goes to clamp(gain_c v, 0, 1) rounded to one of 4096 levels, then through
// level^gamma (a table). Without gain and gamma (all 1) the values are quantised directly.
class Photometric {
 public:
  static constexpr int kLevels = 4096;
  Photometric(const float gain[3], float gamma);
  bool enabled() const { return enabled_; }
  // out[i] = the byte of rgb[i], channel i % 3 (rgb starts at a pixel): table bytes when
  // enabled, else ToByte.
  void Bytes(const float* rgb, size_t count, uint8_t* out) const;
  // out[i] = the float of rgb[i] after the photometric part (before any blur): the table value
  // when enabled, else rgb[i] unchanged.
  void Floats(const float* rgb, size_t count, float* out) const;

 private:
  bool enabled_ = false;
  float gain_[3] = {1.0f, 1.0f, 1.0f};
  std::vector<float> table_;         // level -> (level / 4095)^gamma
  std::vector<uint8_t> table_bytes_;  // ToByte of table_
};

}  // namespace morphfit::synth::internal

#endif  // MORPHFIT_SRC_SYNTH_PIXEL_CONVERT_H_
