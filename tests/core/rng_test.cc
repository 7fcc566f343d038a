// Rng: determinism per (seed, index, stream), independence across keys, and the moments of
// Uniform/Normal/UniformInt.
#include "morphfit/core/rng.h"

#include <cmath>
#include <set>
#include <vector>

#include <gtest/gtest.h>

namespace morphfit {
namespace {

std::vector<uint64_t> Draw(Rng rng, int n) {
  std::vector<uint64_t> values;
  for (int i = 0; i < n; ++i) values.push_back(rng.Next());
  return values;
}

TEST(RngTest, SplitMix64KnownValues) {
  // Reference values of the splitmix64 generator started at state 0 (Vigna's splitmix64.c):
  // the first output is SplitMix64(0) and the second SplitMix64(golden gamma).
  EXPECT_EQ(SplitMix64(0), 0xe220a8397b1dcdafULL);
  EXPECT_EQ(SplitMix64(0x9e3779b97f4a7c15ULL), 0x6e789e6aa1b965f4ULL);
}

TEST(RngTest, SameKeySameSequence) {
  EXPECT_EQ(Draw(RngFor(42, 7), 100), Draw(RngFor(42, 7), 100));
  EXPECT_EQ(Draw(RngFor(42, 7, 3), 100), Draw(RngFor(42, 7, 3), 100));
  // Pinned outputs: a change to seeding or to the generator silently changes every stored
  // synthetic data set, so it must be deliberate. (The generator itself was checked against
  // the xoshiro256** reference outputs 11520, 0, 1509978240, ... for state {1, 2, 3, 4}.)
  EXPECT_EQ(RngFor(0, 0).Next(), 0x8a21cd34a214a917ULL);
  EXPECT_DOUBLE_EQ(RngFor(0, 0).Normal(), 0.81096348684547914);
}

TEST(RngTest, DifferentKeysDiffer) {
  std::set<uint64_t> firsts;
  for (uint64_t seed = 0; seed < 4; ++seed) {
    for (uint64_t index = 0; index < 50; ++index) {
      for (uint64_t stream = 0; stream < 3; ++stream) {
        firsts.insert(RngFor(seed, index, stream).Next());
      }
    }
  }
  EXPECT_EQ(firsts.size(), 4u * 50u * 3u);
  // Neighbouring indices must not be shifted copies of one another.
  const std::vector<uint64_t> a = Draw(RngFor(1, 10), 64);
  const std::vector<uint64_t> b = Draw(RngFor(1, 11), 64);
  std::set<uint64_t> shared(a.begin(), a.end());
  int overlap = 0;
  for (uint64_t x : b) overlap += shared.count(x) ? 1 : 0;
  EXPECT_EQ(overlap, 0);
}

TEST(RngTest, IndexStreamsAreUncorrelated) {
  // Correlation of Uniform() between consecutive indices, over many indices.
  constexpr int kN = 20000;
  double sum_xy = 0.0, sum_x = 0.0, sum_y = 0.0, sum_xx = 0.0, sum_yy = 0.0;
  for (int i = 0; i < kN; ++i) {
    const double x = RngFor(5, static_cast<uint64_t>(i)).Uniform();
    const double y = RngFor(5, static_cast<uint64_t>(i) + 1).Uniform();
    sum_x += x; sum_y += y; sum_xy += x * y; sum_xx += x * x; sum_yy += y * y;
  }
  const double cov = sum_xy / kN - (sum_x / kN) * (sum_y / kN);
  const double var_x = sum_xx / kN - (sum_x / kN) * (sum_x / kN);
  const double var_y = sum_yy / kN - (sum_y / kN) * (sum_y / kN);
  // Note consecutive indices share values (y_i = x_{i+1}), which is fine; what matters is the
  // lag-1 correlation, whose standard error is 1/sqrt(N) ~ 0.007; 5 sigma.
  EXPECT_LT(std::abs(cov / std::sqrt(var_x * var_y)), 0.035);
}

TEST(RngTest, UniformMoments) {
  Rng rng = RngFor(3, 0);
  constexpr int kN = 100000;
  double sum = 0.0, sum_sq = 0.0;
  for (int i = 0; i < kN; ++i) {
    const double u = rng.Uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    sum_sq += u * u;
  }
  const double mean = sum / kN;
  const double variance = sum_sq / kN - mean * mean;
  // Standard error of the mean: sqrt(1/12 / N) ~ 0.0009; 5 sigma.
  EXPECT_NEAR(mean, 0.5, 0.0046);
  EXPECT_NEAR(variance, 1.0 / 12.0, 0.0015);
  for (int i = 0; i < 1000; ++i) {
    const double x = rng.Uniform(-2.0, 3.0);
    ASSERT_GE(x, -2.0);
    ASSERT_LT(x, 3.0);
  }
  EXPECT_EQ(rng.Uniform(1.5, 1.5), 1.5);
}

TEST(RngTest, NormalMomentsOver1e5Draws) {
  Rng rng = RngFor(11, 2, 1);
  constexpr int kN = 100000;
  double sum = 0.0, sum_sq = 0.0, sum_4 = 0.0;
  int beyond_2sigma = 0;
  for (int i = 0; i < kN; ++i) {
    const double z = rng.Normal();
    ASSERT_TRUE(std::isfinite(z));
    sum += z;
    sum_sq += z * z;
    sum_4 += z * z * z * z;
    beyond_2sigma += std::abs(z) > 2.0 ? 1 : 0;
  }
  const double mean = sum / kN;
  const double variance = sum_sq / kN - mean * mean;
  // Standard errors: mean 1/sqrt(N) ~ 0.0032, variance sqrt(2/N) ~ 0.0045, fourth moment
  // sqrt(96/N) ~ 0.031; tolerances are 5 sigma.
  EXPECT_NEAR(mean, 0.0, 0.016);
  EXPECT_NEAR(variance, 1.0, 0.023);
  EXPECT_NEAR(sum_4 / kN, 3.0, 0.16);
  // P(|z| > 2) = 0.0455, standard error ~ 0.00066.
  EXPECT_NEAR(static_cast<double>(beyond_2sigma) / kN, 0.0455, 0.0033);

  Rng shifted = RngFor(11, 2, 1);
  Rng plain = RngFor(11, 2, 1);
  EXPECT_DOUBLE_EQ(shifted.Normal(10.0, 2.0), 10.0 + 2.0 * plain.Normal());
}

TEST(RngTest, UniformIntCoversRangeEvenly) {
  Rng rng = RngFor(9, 9);
  constexpr int kN = 70000;
  std::vector<int> counts(7, 0);
  for (int i = 0; i < kN; ++i) {
    const int k = rng.UniformInt(7);
    ASSERT_GE(k, 0);
    ASSERT_LT(k, 7);
    counts[static_cast<size_t>(k)]++;
  }
  // Expected 10000 per bin, standard deviation ~ 93; 5 sigma.
  for (int c : counts) EXPECT_NEAR(c, 10000, 465);
  EXPECT_EQ(rng.UniformInt(1), 0);
}

}  // namespace
}  // namespace morphfit
