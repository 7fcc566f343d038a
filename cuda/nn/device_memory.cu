// Caching device allocator, copies and fills (device_memory.h).
#include "nn/device_memory.h"

#include <cuda_runtime.h>

#include <atomic>
#include <map>
#include <mutex>
#include <unordered_map>

#include "nn/launch.cuh"

namespace morphfit::nn_cuda {
namespace {

struct Cache {
  std::mutex mutex;
  std::multimap<size_t, void*> free_blocks;        // size -> block
  std::unordered_map<void*, size_t> block_sizes;   // every block we own
  AllocatorStats stats;
};

Cache& GetCache() {
  static Cache* cache = new Cache();  // never destroyed: tensors may be freed at exit
  return *cache;
}

size_t RoundUp(size_t bytes) {
  size_t size = 512;
  while (size < bytes) size <<= 1;
  return size;
}

using launch::Error;
using launch::Stream;

std::atomic<void*> g_stream{nullptr};

// A copy on the nn stream, finished before returning.
std::string Copy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, const char* what) {
  cudaError_t e = cudaMemcpyAsync(dst, src, bytes, kind, Stream());
  if (e == cudaSuccess) e = cudaStreamSynchronize(Stream());
  return Error(e, what);
}

__global__ void FillKernel(float* dst, int64_t n, float value) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n) dst[i] = value;
}

}  // namespace

void SetStream(void* stream) { g_stream.store(stream); }
void* GetStream() { return g_stream.load(); }

bool DeviceAvailable(std::string* reason) {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    if (reason) *reason = std::string("no CUDA device: ") + cudaGetErrorString(e);
    return false;
  }
  if (count == 0) {
    if (reason) *reason = "no CUDA device: cudaGetDeviceCount returned 0";
    return false;
  }
  return true;
}

std::string Allocate(size_t bytes, void** ptr) {
  const size_t size = RoundUp(bytes);
  Cache& cache = GetCache();
  std::lock_guard<std::mutex> lock(cache.mutex);
  auto it = cache.free_blocks.find(size);
  if (it != cache.free_blocks.end()) {
    *ptr = it->second;
    cache.free_blocks.erase(it);
    cache.stats.bytes_cached -= size;
    cache.stats.bytes_in_use += size;
    return "";
  }
  cudaError_t e = cudaMalloc(ptr, size);
  if (e == cudaErrorMemoryAllocation) {  // give the cache back to the driver and retry once
    cudaGetLastError();
    for (auto& [s, p] : cache.free_blocks) cudaFree(p), cache.block_sizes.erase(p);
    cache.free_blocks.clear();
    cache.stats.bytes_cached = 0;
    e = cudaMalloc(ptr, size);
  }
  if (e != cudaSuccess) return Error(e, "cudaMalloc");
  ++cache.stats.num_device_mallocs;
  cache.block_sizes[*ptr] = size;
  cache.stats.bytes_in_use += size;
  return "";
}

void Free(void* ptr) {
  if (ptr == nullptr) return;
  Cache& cache = GetCache();
  std::lock_guard<std::mutex> lock(cache.mutex);
  auto it = cache.block_sizes.find(ptr);
  if (it == cache.block_sizes.end()) return;
  cache.free_blocks.emplace(it->second, ptr);
  cache.stats.bytes_in_use -= it->second;
  cache.stats.bytes_cached += it->second;
}

void EmptyCache() {
  Cache& cache = GetCache();
  std::lock_guard<std::mutex> lock(cache.mutex);
  for (auto& [size, ptr] : cache.free_blocks) {
    cudaFree(ptr);
    cache.block_sizes.erase(ptr);
  }
  cache.free_blocks.clear();
  cache.stats.bytes_cached = 0;
}

AllocatorStats GetAllocatorStats() {
  Cache& cache = GetCache();
  std::lock_guard<std::mutex> lock(cache.mutex);
  return cache.stats;
}

std::string CopyHostToDevice(void* dst, const void* src, size_t bytes) {
  return Copy(dst, src, bytes, cudaMemcpyHostToDevice, "cudaMemcpy H2D");
}
std::string CopyDeviceToHost(void* dst, const void* src, size_t bytes) {
  return Copy(dst, src, bytes, cudaMemcpyDeviceToHost, "cudaMemcpy D2H");
}
std::string CopyDeviceToDevice(void* dst, const void* src, size_t bytes) {
  return Copy(dst, src, bytes, cudaMemcpyDeviceToDevice, "cudaMemcpy D2D");
}

std::string Fill(float* dst, int64_t n, float value) {
  if (n <= 0) return "";
  FillKernel<<<launch::Blocks(n), launch::kThreads, 0, Stream()>>>(dst, n, value);
  return launch::Sync("fill");
}

}  // namespace morphfit::nn_cuda
