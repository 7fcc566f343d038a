// The thread pool the CPU kernels share. Results never depend on the thread count (work is cut
// into chunks that depend only on tensor shapes; see core/thread_pool.h), so changing it changes
// speed only.
#ifndef MORPHFIT_NN_CPU_CONTEXT_H_
#define MORPHFIT_NN_CPU_CONTEXT_H_

#include "morphfit/core/thread_pool.h"

namespace morphfit::nn {

// Sets the number of threads the CPU kernels use (0 = hardware concurrency). Not to be called
// while kernels are running on other threads.
void SetCpuThreads(int num_threads);
// The shared pool (created on first use with hardware concurrency threads).
ThreadPool& CpuPool();

}  // namespace morphfit::nn

#endif  // MORPHFIT_NN_CPU_CONTEXT_H_
