// Launch helpers shared by the nn CUDA sources: the block count for one thread per element, the
// stream every launcher uses (nn_cuda::SetStream; the legacy default stream unless set), and the
// check that ends each launcher — the launch error, then the stream's completion, so results are
// ready for the host when a launcher returns.
#ifndef MORPHFIT_CUDA_NN_LAUNCH_CUH_
#define MORPHFIT_CUDA_NN_LAUNCH_CUH_

#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "nn/device_memory.h"

namespace morphfit::nn_cuda::launch {

constexpr int kThreads = 256;

inline unsigned Blocks(int64_t n) { return static_cast<unsigned>((n + kThreads - 1) / kThreads); }

inline cudaStream_t Stream() { return static_cast<cudaStream_t>(GetStream()); }

inline std::string Error(cudaError_t e, const char* what) {
  return e == cudaSuccess ? std::string() : std::string(what) + ": " + cudaGetErrorString(e);
}

// The last launch's error, else waits for the stream and returns its error.
inline std::string Sync(const char* what) {
  cudaError_t e = cudaGetLastError();
  if (e == cudaSuccess) e = cudaStreamSynchronize(Stream());
  return Error(e, what);
}

}  // namespace morphfit::nn_cuda::launch

#endif  // MORPHFIT_CUDA_NN_LAUNCH_CUH_
