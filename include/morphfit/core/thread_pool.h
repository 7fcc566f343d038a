// ThreadPool: a fixed set of worker threads for data-parallel loops whose results do not depend
// on the number of threads. Work is cut into chunks that depend only on the range and the chunk
// size; reductions combine per-chunk partials in chunk order, so a floating-point sum is bitwise
// the same with 1, 2 or 64 threads.
#ifndef MORPHFIT_CORE_THREAD_POOL_H_
#define MORPHFIT_CORE_THREAD_POOL_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace morphfit {

// Thread safety and errors (applies to every member):
//  - Each call blocks until all of its work is done; the caller's thread does work too.
//  - Calls from several threads into one pool are serialized. A call made from inside a task of
//    the same pool (nesting) runs inline on the calling worker, so it cannot deadlock.
//  - The callbacks must not throw: the loops are noexcept, so an exception escaping a callback
//    terminates the program (std::terminate). Report failures through the callback's captured
//    state (e.g. a per-index Status vector) instead.
class ThreadPool {
 public:
  // num_threads: total threads doing work, including the caller. 0 = hardware concurrency
  // (at least 1); 1 = everything runs inline on the caller, no threads are started.
  // Negative values are treated as 0.
  explicit ThreadPool(int num_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Total threads doing work (workers + caller), >= 1.
  int num_threads() const { return num_threads_; }

  // Calls fn(i) once for every i in [begin, end), in unspecified order and on unspecified
  // threads. An empty or reversed range does nothing.
  void ParallelFor(int64_t begin, int64_t end, const std::function<void(int64_t)>& fn) noexcept;

  // Splits [begin, end) into chunks [begin + k*chunk_size, min(end, begin + (k+1)*chunk_size))
  // for k = 0, 1, ... and calls fn(chunk_begin, chunk_end, k) once per chunk. The chunks depend
  // only on (begin, end, chunk_size), never on the thread count. chunk_size < 1 is treated as 1.
  void ParallelForChunks(
      int64_t begin, int64_t end, int64_t chunk_size,
      const std::function<void(int64_t chunk_begin, int64_t chunk_end, int64_t chunk_index)>& fn)
      noexcept;

  // Number of chunks ParallelForChunks makes for this range (0 for an empty range).
  static int64_t NumChunks(int64_t begin, int64_t end, int64_t chunk_size);

  // Deterministic reduction: partial_k = chunk_fn(chunk_begin, chunk_end) for each chunk (see
  // ParallelForChunks), then result = combine(...combine(combine(identity, partial_0),
  // partial_1)..., partial_last), always in chunk order. T must be copyable (Eigen types are
  // fine). The result depends on chunk_size but not on the thread count.
  template <typename T, typename ChunkFn, typename CombineFn>
  T ParallelReduce(int64_t begin, int64_t end, int64_t chunk_size, const T& identity,
                   const ChunkFn& chunk_fn, const CombineFn& combine) noexcept;

  // Sum of term(i) over [begin, end): each chunk adds its terms left to right starting from
  // zero, then the chunk sums are added in chunk order. `zero` fixes the type and shape (e.g.
  // Eigen::VectorXd::Zero(n)); term(i) must return something addable to T.
  template <typename T, typename TermFn>
  T ParallelSum(int64_t begin, int64_t end, int64_t chunk_size, const T& zero,
                const TermFn& term) noexcept;

 private:
  // Runs job() on every worker and on the caller, and returns when all have returned.
  void RunOnAllThreads(const std::function<void()>& job) noexcept;
  void WorkerLoop();

  int num_threads_ = 1;
  std::vector<std::thread> workers_;

  std::mutex dispatch_mutex_;  // serializes top-level calls from different threads

  std::mutex mutex_;  // guards the fields below
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  const std::function<void()>* job_ = nullptr;
  uint64_t generation_ = 0;
  int pending_workers_ = 0;
  bool stop_ = false;
};

template <typename T, typename ChunkFn, typename CombineFn>
T ThreadPool::ParallelReduce(int64_t begin, int64_t end, int64_t chunk_size, const T& identity,
                             const ChunkFn& chunk_fn, const CombineFn& combine) noexcept {
  const int64_t num_chunks = NumChunks(begin, end, chunk_size);
  if (num_chunks == 0) return identity;
  std::vector<T> partials(static_cast<size_t>(num_chunks), identity);
  ParallelForChunks(begin, end, chunk_size,
                    [&](int64_t chunk_begin, int64_t chunk_end, int64_t chunk_index) {
                      partials[static_cast<size_t>(chunk_index)] =
                          chunk_fn(chunk_begin, chunk_end);
                    });
  T result = identity;
  for (const T& partial : partials) result = combine(result, partial);
  return result;
}

template <typename T, typename TermFn>
T ThreadPool::ParallelSum(int64_t begin, int64_t end, int64_t chunk_size, const T& zero,
                          const TermFn& term) noexcept {
  return ParallelReduce<T>(
      begin, end, chunk_size, zero,
      [&](int64_t chunk_begin, int64_t chunk_end) {
        T sum = zero;
        for (int64_t i = chunk_begin; i < chunk_end; ++i) sum = sum + term(i);
        return sum;
      },
      [](const T& a, const T& b) -> T { return a + b; });
}

}  // namespace morphfit

#endif  // MORPHFIT_CORE_THREAD_POOL_H_
