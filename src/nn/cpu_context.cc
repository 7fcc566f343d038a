// The CPU kernels' shared thread pool.
#include "morphfit/nn/cpu_context.h"

#include <memory>

namespace morphfit::nn {
namespace {
std::unique_ptr<ThreadPool>& PoolSlot() {
  static std::unique_ptr<ThreadPool> pool;
  return pool;
}
}  // namespace

void SetCpuThreads(int num_threads) { PoolSlot() = std::make_unique<ThreadPool>(num_threads); }

ThreadPool& CpuPool() {
  std::unique_ptr<ThreadPool>& pool = PoolSlot();
  if (!pool) pool = std::make_unique<ThreadPool>(0);
  return *pool;
}

}  // namespace morphfit::nn
