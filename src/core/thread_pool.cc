// ThreadPool: persistent workers that all pull chunk indices from one atomic counter.
#include "morphfit/core/thread_pool.h"

#include <algorithm>
#include <atomic>

namespace morphfit {
namespace {

// The pool whose task the current thread is running (nullptr outside any task). A loop started
// from inside a task of the same pool runs inline instead of waiting on itself.
thread_local const ThreadPool* current_pool = nullptr;

// Sets current_pool for the lifetime of the guard and restores the previous value.
class CurrentPoolGuard {
 public:
  explicit CurrentPoolGuard(const ThreadPool* pool) : previous_(current_pool) {
    current_pool = pool;
  }
  ~CurrentPoolGuard() { current_pool = previous_; }

 private:
  const ThreadPool* previous_;
};

}  // namespace

ThreadPool::ThreadPool(int num_threads) {
  if (num_threads <= 0) {
    num_threads = static_cast<int>(std::thread::hardware_concurrency());
  }
  num_threads_ = std::max(1, num_threads);
  workers_.reserve(static_cast<size_t>(num_threads_ - 1));
  for (int i = 1; i < num_threads_; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

void ThreadPool::WorkerLoop() {
  uint64_t seen_generation = 0;
  while (true) {
    const std::function<void()>* job = nullptr;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      work_cv_.wait(lock, [&] { return stop_ || generation_ != seen_generation; });
      if (stop_) return;
      seen_generation = generation_;
      job = job_;
    }
    {
      CurrentPoolGuard guard(this);
      (*job)();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (--pending_workers_ == 0) done_cv_.notify_one();
    }
  }
}

void ThreadPool::RunOnAllThreads(const std::function<void()>& job) noexcept {
  if (workers_.empty() || current_pool == this) {
    CurrentPoolGuard guard(this);
    job();
    return;
  }
  std::lock_guard<std::mutex> dispatch_lock(dispatch_mutex_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &job;
    pending_workers_ = static_cast<int>(workers_.size());
    ++generation_;
  }
  work_cv_.notify_all();
  {
    CurrentPoolGuard guard(this);
    job();
  }
  // `job` lives on this stack frame, so wait until every worker has finished with it.
  std::unique_lock<std::mutex> lock(mutex_);
  done_cv_.wait(lock, [&] { return pending_workers_ == 0; });
  job_ = nullptr;
}

int64_t ThreadPool::NumChunks(int64_t begin, int64_t end, int64_t chunk_size) {
  if (end <= begin) return 0;
  chunk_size = std::max<int64_t>(1, chunk_size);
  const int64_t count = end - begin;
  return count / chunk_size + (count % chunk_size != 0 ? 1 : 0);
}

void ThreadPool::ParallelForChunks(
    int64_t begin, int64_t end, int64_t chunk_size,
    const std::function<void(int64_t, int64_t, int64_t)>& fn) noexcept {
  chunk_size = std::max<int64_t>(1, chunk_size);
  const int64_t num_chunks = NumChunks(begin, end, chunk_size);
  if (num_chunks == 0) return;
  std::atomic<int64_t> next_chunk{0};
  const std::function<void()> job = [&] {
    while (true) {
      const int64_t chunk = next_chunk.fetch_add(1, std::memory_order_relaxed);
      if (chunk >= num_chunks) return;
      const int64_t chunk_begin = begin + chunk * chunk_size;
      const int64_t chunk_end = std::min(end, chunk_begin + chunk_size);
      fn(chunk_begin, chunk_end, chunk);
    }
  };
  RunOnAllThreads(job);
}

void ThreadPool::ParallelFor(int64_t begin, int64_t end,
                             const std::function<void(int64_t)>& fn) noexcept {
  if (end <= begin) return;
  // Each index is independent, so the grain only affects speed: about 8 chunks per thread
  // balances uneven work without making the shared counter a bottleneck.
  const int64_t count = end - begin;
  const int64_t grain = std::max<int64_t>(1, count / (8 * static_cast<int64_t>(num_threads_)));
  ParallelForChunks(begin, end, grain, [&](int64_t chunk_begin, int64_t chunk_end, int64_t) {
    for (int64_t i = chunk_begin; i < chunk_end; ++i) fn(i);
  });
}

}  // namespace morphfit
