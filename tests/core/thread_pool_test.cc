// ThreadPool: every index visited once, chunking independent of threads, and reductions that
// are bitwise identical for any thread count.
#include "morphfit/core/thread_pool.h"

#include <atomic>
#include <cmath>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <Eigen/Core>
#include <gtest/gtest.h>

namespace morphfit {
namespace {

// Terms spanning many orders of magnitude with alternating signs: their floating-point sum
// changes with the order of addition, so any thread-dependent grouping would show.
double Term(int64_t i) {
  const double magnitude = std::pow(10.0, static_cast<double>(i % 23) - 11.0);
  return (i % 2 == 0 ? 1.0 : -1.0) * magnitude * (1.0 + 1e-3 * static_cast<double>(i % 97));
}

uint64_t Bits(double x) {
  uint64_t bits;
  std::memcpy(&bits, &x, sizeof(bits));
  return bits;
}

TEST(ThreadPoolTest, ResolvesThreadCount) {
  EXPECT_EQ(ThreadPool(1).num_threads(), 1);
  EXPECT_EQ(ThreadPool(3).num_threads(), 3);
  EXPECT_GE(ThreadPool(0).num_threads(), 1);
  EXPECT_GE(ThreadPool(-2).num_threads(), 1);
}

TEST(ThreadPoolTest, ParallelForVisitsEveryIndexOnce) {
  for (int threads : {1, 2, 7}) {
    ThreadPool pool(threads);
    std::vector<std::atomic<int>> visits(1001);
    pool.ParallelFor(-5, 996, [&](int64_t i) { visits[static_cast<size_t>(i + 5)]++; });
    for (size_t i = 0; i < visits.size(); ++i) {
      ASSERT_EQ(visits[i].load(), 1) << "index " << i << " with " << threads << " threads";
    }
    pool.ParallelFor(10, 10, [&](int64_t) { FAIL() << "empty range must not call fn"; });
    pool.ParallelFor(10, 3, [&](int64_t) { FAIL() << "reversed range must not call fn"; });
  }
}

TEST(ThreadPoolTest, ChunksDependOnlyOnChunkSize) {
  EXPECT_EQ(ThreadPool::NumChunks(0, 10, 3), 4);
  EXPECT_EQ(ThreadPool::NumChunks(0, 9, 3), 3);
  EXPECT_EQ(ThreadPool::NumChunks(5, 5, 3), 0);
  EXPECT_EQ(ThreadPool::NumChunks(0, 4, 0), 4);  // chunk_size < 1 acts as 1
  std::vector<std::vector<int64_t>> reference;
  for (int threads : {1, 2, 7}) {
    ThreadPool pool(threads);
    std::vector<std::vector<int64_t>> chunks(4);
    pool.ParallelForChunks(3, 13, 3, [&](int64_t b, int64_t e, int64_t k) {
      chunks[static_cast<size_t>(k)] = {b, e};
    });
    const std::vector<std::vector<int64_t>> expected = {{3, 6}, {6, 9}, {9, 12}, {12, 13}};
    EXPECT_EQ(chunks, expected) << threads << " threads";
  }
}

TEST(ThreadPoolTest, ParallelSumIsBitwiseIndependentOfThreadCount) {
  constexpr int64_t kCount = 100003;
  constexpr int64_t kChunk = 1000;
  std::vector<uint64_t> bits;
  for (int threads : {1, 2, 7}) {
    ThreadPool pool(threads);
    bits.push_back(Bits(pool.ParallelSum(0, kCount, kChunk, 0.0, Term)));
  }
  EXPECT_EQ(bits[0], bits[1]);
  EXPECT_EQ(bits[0], bits[2]);

  // The data really are order-sensitive: a plain left-to-right sum or a different chunk size
  // gives a different result, so the equality above is not vacuous.
  double serial = 0.0;
  for (int64_t i = 0; i < kCount; ++i) serial += Term(i);
  ThreadPool pool(2);
  const double other_chunks = pool.ParallelSum(0, kCount, 7, 0.0, Term);
  EXPECT_TRUE(Bits(serial) != bits[0] || Bits(other_chunks) != bits[0]);
  // And it is still the right sum.
  EXPECT_NEAR(pool.ParallelSum(0, kCount, kChunk, 0.0, Term), serial,
              1e-9 * std::abs(serial) + 1e-12);
}

TEST(ThreadPoolTest, ParallelSumOfEigenVectorsIsBitwiseIndependentOfThreadCount) {
  const Eigen::VectorXd zero = Eigen::VectorXd::Zero(3);
  auto term = [](int64_t i) {
    Eigen::VectorXd v(3);
    v << Term(i), Term(i + 1) * 3.0, -Term(i + 7);
    return v;
  };
  ThreadPool one(1), two(2), seven(7);
  const Eigen::VectorXd a = one.ParallelSum(0, 50001, 512, zero, term);
  const Eigen::VectorXd b = two.ParallelSum(0, 50001, 512, zero, term);
  const Eigen::VectorXd c = seven.ParallelSum(0, 50001, 512, zero, term);
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(Bits(a[k]), Bits(b[k])) << k;
    EXPECT_EQ(Bits(a[k]), Bits(c[k])) << k;
  }
}

TEST(ThreadPoolTest, ParallelReduceCombinesInChunkOrder) {
  // A non-commutative combine (string concatenation) exposes any out-of-order combination.
  for (int threads : {1, 2, 7}) {
    ThreadPool pool(threads);
    const std::string result = pool.ParallelReduce<std::string>(
        0, 10, 3, std::string(),
        [](int64_t b, int64_t e) {
          std::string s;
          for (int64_t i = b; i < e; ++i) s += static_cast<char>('a' + i);
          return s + "|";
        },
        [](const std::string& x, const std::string& y) { return x + y; });
    EXPECT_EQ(result, "abc|def|ghi|j|") << threads << " threads";
  }
  ThreadPool pool(2);
  EXPECT_EQ(pool.ParallelReduce<int>(
                4, 4, 2, 17, [](int64_t, int64_t) { return 1; },
                [](int x, int y) { return x + y; }),
            17);
}

TEST(ThreadPoolTest, NestedCallsRunInlineWithoutDeadlock) {
  ThreadPool pool(3);
  std::atomic<int64_t> total{0};
  pool.ParallelFor(0, 20, [&](int64_t i) {
    pool.ParallelFor(0, 10, [&](int64_t j) { total += i * 10 + j; });
  });
  EXPECT_EQ(total.load(), 199 * 200 / 2);
}

TEST(ThreadPoolTest, ConcurrentCallersAreSerialized) {
  ThreadPool pool(3);
  std::atomic<int64_t> a{0}, b{0};
  std::thread first([&] {
    for (int r = 0; r < 50; ++r) pool.ParallelFor(0, 100, [&](int64_t i) { a += i; });
  });
  std::thread second([&] {
    for (int r = 0; r < 50; ++r) pool.ParallelFor(0, 100, [&](int64_t i) { b += 2 * i; });
  });
  first.join();
  second.join();
  EXPECT_EQ(a.load(), 50 * 4950);
  EXPECT_EQ(b.load(), 50 * 9900);
}

TEST(ThreadPoolTest, ReusedManyTimes) {
  ThreadPool pool(4);
  for (int round = 0; round < 200; ++round) {
    std::atomic<int> count{0};
    pool.ParallelFor(0, 37, [&](int64_t) { count++; });
    ASSERT_EQ(count.load(), 37) << "round " << round;
  }
}

}  // namespace
}  // namespace morphfit
