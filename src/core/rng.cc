// Rng: xoshiro256** with splitmix64 seeding; see rng.h for the reproducibility contract.
#include "morphfit/core/rng.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace morphfit {
namespace {

inline uint64_t RotateLeft(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

constexpr uint64_t kGoldenGamma = 0x9e3779b97f4a7c15ULL;

}  // namespace

uint64_t SplitMix64(uint64_t x) {
  x += kGoldenGamma;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

Rng::Rng(uint64_t key) {
  // The splitmix64 sequence starting at `key`, as recommended by the xoshiro authors.
  uint64_t x = key;
  for (uint64_t& word : state_) {
    word = SplitMix64(x);
    x += kGoldenGamma;
  }
  if ((state_[0] | state_[1] | state_[2] | state_[3]) == 0) state_[0] = kGoldenGamma;
}

uint64_t Rng::Next() {
  const uint64_t result = RotateLeft(state_[1] * 5, 7) * 9;
  const uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = RotateLeft(state_[3], 45);
  return result;
}

double Rng::Uniform() {
  // Top 53 bits scaled by 2^-53: exact, in [0, 1).
  return static_cast<double>(Next() >> 11) * 0x1.0p-53;
}

double Rng::Uniform(double a, double b) {
  const double u = a + (b - a) * Uniform();
  // Rounding can land exactly on b for some (a, b); keep the interval half-open.
  return u < b ? u : a;
}

double Rng::Normal() {
  if (has_cached_normal_) {
    has_cached_normal_ = false;
    return cached_normal_;
  }
  double u, v, s;
  do {
    u = 2.0 * Uniform() - 1.0;
    v = 2.0 * Uniform() - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  const double factor = std::sqrt(-2.0 * std::log(s) / s);
  cached_normal_ = v * factor;
  has_cached_normal_ = true;
  return u * factor;
}

double Rng::Normal(double mean, double stddev) { return mean + stddev * Normal(); }

int Rng::UniformInt(int n) {
  if (n < 1) {
    std::fprintf(stderr, "Rng::UniformInt: n must be >= 1, got %d\n", n);
    std::abort();
  }
  // Rejection sampling: accept only draws below the largest multiple of n, so every residue
  // is equally likely.
  const uint64_t range = static_cast<uint64_t>(n);
  const uint64_t limit =
      std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % range;
  uint64_t x;
  do {
    x = Next();
  } while (x >= limit);
  return static_cast<int>(x % range);
}

Rng RngFor(uint64_t seed, uint64_t index, uint64_t stream) {
  // Chained mixing: each mix is a bijection, so for a fixed seed distinct (index, stream) pairs
  // give distinct keys up to 64-bit hash collisions.
  const uint64_t key = SplitMix64(SplitMix64(SplitMix64(seed) ^ index) ^ (stream * kGoldenGamma));
  return Rng(key);
}

}  // namespace morphfit
