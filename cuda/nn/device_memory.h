// Device memory for the nn tensor layer: a caching allocator over cudaMalloc (freed blocks are
// kept per rounded size and reused, so a training step allocates nothing after the first),
// copies and fills. Plain C++ launcher header: no CUDA types. Errors are returned as strings
// (empty = success): this library links only CUDA, not morphfit_core.
#ifndef MORPHFIT_CUDA_NN_DEVICE_MEMORY_H_
#define MORPHFIT_CUDA_NN_DEVICE_MEMORY_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace morphfit::nn_cuda {

// True when a CUDA device can be used; otherwise `reason` says why (any cudaGetDeviceCount
// error counts: without a GPU it reports an insufficient driver).
bool DeviceAvailable(std::string* reason);

// Returns a device block of at least `bytes` bytes (256-byte aligned) in *ptr. Blocks are
// rounded up to a power of two (at least 512 bytes) and cached on Free. Thread-safe.
std::string Allocate(size_t bytes, void** ptr);
// Returns a block from Allocate to the cache (nullptr is ignored).
void Free(void* ptr);
// Releases every cached (not in use) block to the driver.
void EmptyCache();

struct AllocatorStats {
  size_t bytes_in_use = 0;
  size_t bytes_cached = 0;     // free blocks held for reuse
  int64_t num_device_mallocs = 0;  // cudaMalloc calls so far
};
AllocatorStats GetAllocatorStats();

std::string CopyHostToDevice(void* dst_device, const void* src_host, size_t bytes);
std::string CopyDeviceToHost(void* dst_host, const void* src_device, size_t bytes);
std::string CopyDeviceToDevice(void* dst_device, const void* src_device, size_t bytes);
// Sets n floats at `dst_device` to `value`.
std::string Fill(float* dst_device, int64_t n, float value);

// The CUDA stream (a cudaStream_t passed as void*) on which every nn kernel, cuBLAS/cuDNN call
// and copy is issued; nullptr (the default) is the legacy default stream. Each launcher still
// waits for its stream before returning, so results can be read at once; a stream of its own
// lets nn work run beside other CUDA work of the process (e.g. rendering on another stream).
// Process-wide; set it before issuing nn work, not while another thread does.
void SetStream(void* stream);
void* GetStream();

}  // namespace morphfit::nn_cuda

#endif  // MORPHFIT_CUDA_NN_DEVICE_MEMORY_H_
