// Rng: a small counter-keyed random number generator (xoshiro256**, seeded through splitmix64)
// so that sample i of a run with seed s draws the same numbers on every machine, in every shard
// and with any thread count. Use RngFor(seed, sample_index, stream) instead of sharing one
// generator between samples.
#ifndef MORPHFIT_CORE_RNG_H_
#define MORPHFIT_CORE_RNG_H_

#include <cstdint>

namespace morphfit {

// splitmix64 finaliser: a bijective 64-bit mix. Exposed for hashing keys; pure function.
uint64_t SplitMix64(uint64_t x);

// xoshiro256** (Blackman & Vigna, 2018). Not thread-safe: use one Rng per thread or per sample.
//
// Reproducibility: Next(), Uniform(), Uniform(a, b) and UniformInt(n) use only integer and
// exactly-rounded IEEE operations, so they are bitwise identical on every platform. Normal()
// is Marsaglia's polar method and also needs std::log; it is bitwise identical wherever the
// C library's log is (all glibc x86-64 builds), and otherwise agrees to about 1 ulp. No
// standard-library distribution is used, since those differ between standard libraries.
class Rng {
 public:
  // Seeds the state from splitmix64 of `key` (never the all-zero state).
  explicit Rng(uint64_t key);

  // Next 64 uniformly distributed bits.
  uint64_t Next();
  // Uniform double in [0, 1) with 53 random bits.
  double Uniform();
  // Uniform double in [a, b) (for a < b; returns a when a == b).
  double Uniform(double a, double b);
  // Standard normal N(0, 1) (Marsaglia polar method; draws two at a time and caches one).
  double Normal();
  // Normal with the given mean and standard deviation.
  double Normal(double mean, double stddev);
  // Uniform integer in [0, n), without modulo bias. Precondition: n >= 1 (aborts otherwise:
  // a programmer error).
  int UniformInt(int n);

 private:
  uint64_t state_[4];
  bool has_cached_normal_ = false;
  double cached_normal_ = 0.0;
};

// The generator for item `index` of a run with `seed`; `stream` separates independent uses
// within one item (e.g. 0 = shape, 1 = pose, 2 = lighting). Any two distinct
// (seed, index, stream) triples give unrelated sequences.
Rng RngFor(uint64_t seed, uint64_t index, uint64_t stream = 0);

}  // namespace morphfit

#endif  // MORPHFIT_CORE_RNG_H_
