// Tensor storage, views and host/device copies.
#include "morphfit/nn/tensor.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>

#if defined(MORPHFIT_NN_WITH_CUDA)
#include "nn/device_memory.h"
#endif

namespace morphfit::nn {
namespace {

[[noreturn]] void Die(const std::string& message) {
  std::cerr << "morphfit::nn::Tensor: " << message << std::endl;
  std::abort();
}

// Host blocks are cached by power-of-two capacity and reused: large fresh allocations come from
// mmap and every first touch of a page faults, which cost more than the ReLU that filled them.
// At most kMaxCachedHostBytes are kept; beyond that, freed blocks go back to the system.
constexpr size_t kMaxCachedHostBytes = size_t{1} << 30;
constexpr size_t kMinHostBlockFloats = 64;

struct HostCache {
  std::mutex mutex;
  std::multimap<size_t, float*> free_blocks;  // capacity (floats) -> block
  size_t cached_bytes = 0;
};

HostCache& GetHostCache() {
  static HostCache* cache = new HostCache();  // never destroyed: tensors may die at exit
  return *cache;
}

size_t HostCapacity(size_t n) {
  size_t capacity = kMinHostBlockFloats;
  while (capacity < n) capacity <<= 1;
  return capacity;
}

float* AllocateHost(size_t n) {
  const size_t capacity = HostCapacity(n);
  HostCache& cache = GetHostCache();
  {
    std::lock_guard<std::mutex> lock(cache.mutex);
    auto it = cache.free_blocks.find(capacity);
    if (it != cache.free_blocks.end()) {
      float* block = it->second;
      cache.free_blocks.erase(it);
      cache.cached_bytes -= capacity * sizeof(float);
      return block;
    }
  }
  return new float[capacity];
}

void FreeHost(float* block, size_t n) {
  if (block == nullptr) return;
  const size_t capacity = HostCapacity(n);
  HostCache& cache = GetHostCache();
  {
    std::lock_guard<std::mutex> lock(cache.mutex);
    if (cache.cached_bytes + capacity * sizeof(float) <= kMaxCachedHostBytes) {
      cache.free_blocks.emplace(capacity, block);
      cache.cached_bytes += capacity * sizeof(float);
      return;
    }
  }
  delete[] block;
}

}  // namespace

// Owns either a host block (from the host cache above) or one device block from the CUDA
// caching allocator.
struct Tensor::Storage {
  float* host = nullptr;
  int64_t host_size = 0;
  float* device = nullptr;
  int64_t device_size = 0;

  // A host block of n floats, all zero unless `zero` is false (then unspecified).
  static std::shared_ptr<Storage> Host(int64_t n, bool zero = true) {
    auto s = std::make_shared<Storage>();
    s->host_size = n;
    s->host = AllocateHost(static_cast<size_t>(n));
    if (zero) std::memset(s->host, 0, static_cast<size_t>(n) * sizeof(float));
    return s;
  }
  ~Storage() {
    FreeHost(host, static_cast<size_t>(host_size));
#if defined(MORPHFIT_NN_WITH_CUDA)
    nn_cuda::Free(device);
#endif
  }
};

std::string ShapeString(const Shape& shape) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << ']';
  return os.str();
}

int64_t NumElements(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

Status ValidateShape(const Shape& shape, const std::string& what) {
  if (shape.size() > static_cast<size_t>(kMaxRank)) {
    return InvalidArgumentError(what + ": rank must be at most 4, got shape " + ShapeString(shape));
  }
  for (int64_t d : shape) {
    if (d < 0) return InvalidArgumentError(what + ": negative dimension in " + ShapeString(shape));
  }
  return OkStatus();
}

const char* DeviceName(Device device) { return device == Device::kCpu ? "cpu" : "cuda"; }

bool CudaAvailable(std::string* reason) {
#if defined(MORPHFIT_NN_WITH_CUDA)
  return nn_cuda::DeviceAvailable(reason);
#else
  if (reason) *reason = "morphfit was built without CUDA (MORPHFIT_WITH_CUDA=OFF or no nvcc)";
  return false;
#endif
}

Tensor::Tensor() : shape_{0} {}

Tensor::Tensor(const Shape& shape) : shape_(shape) {
  const Status status = ValidateShape(shape, "Tensor");
  if (!status.ok()) Die(status.ToString());
  storage_ = Storage::Host(NumElements(shape));
}

Tensor Tensor::Uninitialized(const Shape& shape) {
  const Status status = ValidateShape(shape, "Tensor::Uninitialized");
  if (!status.ok()) Die(status.ToString());
  Tensor t;
  t.shape_ = shape;
  t.storage_ = Storage::Host(NumElements(shape), /*zero=*/false);
  return t;
}

StatusOr<Tensor> Tensor::Zeros(const Shape& shape) {
  MORPHFIT_RETURN_IF_ERROR(ValidateShape(shape, "Tensor::Zeros"));
  return Tensor(shape);
}

StatusOr<Tensor> Tensor::Zeros(const Shape& shape, Device device) {
  MORPHFIT_RETURN_IF_ERROR(ValidateShape(shape, "Tensor::Zeros"));
  if (device == Device::kCpu) return Tensor(shape);
#if defined(MORPHFIT_NN_WITH_CUDA)
  std::string reason;
  if (!nn_cuda::DeviceAvailable(&reason)) {
    return FailedPreconditionError("Tensor::Zeros: no CUDA device: " + reason);
  }
  Tensor t;
  t.storage_ = std::make_shared<Storage>();
  t.shape_ = shape;
  t.device_ = Device::kCuda;
  void* ptr = nullptr;
  std::string error = nn_cuda::Allocate(static_cast<size_t>(NumElements(shape)) * sizeof(float), &ptr);
  if (error.empty()) {
    t.storage_->device = static_cast<float*>(ptr);
    t.storage_->device_size = NumElements(shape);
    error = nn_cuda::Fill(t.storage_->device, NumElements(shape), 0.0f);
  }
  if (!error.empty()) return InternalError("Tensor::Zeros on the device: " + error);
  return t;
#else
  std::string reason;
  CudaAvailable(&reason);
  return FailedPreconditionError("Tensor::Zeros: " + reason);
#endif
}

Tensor Tensor::Full(const Shape& shape, float value) {
  Tensor t = Uninitialized(shape);
  std::fill(t.data(), t.data() + t.size(), value);
  return t;
}

StatusOr<Tensor> Tensor::FromVector(const Shape& shape, const std::vector<float>& values) {
  MORPHFIT_RETURN_IF_ERROR(ValidateShape(shape, "Tensor::FromVector"));
  if (NumElements(shape) != static_cast<int64_t>(values.size())) {
    return InvalidArgumentError("Tensor::FromVector: shape " + nn::ShapeString(shape) + " holds " +
                                std::to_string(NumElements(shape)) + " elements, got " +
                                std::to_string(values.size()) + " values");
  }
  Tensor t(shape);
  std::copy(values.begin(), values.end(), t.data());
  return t;
}

int64_t Tensor::dim(int i) const {
  const int r = rank();
  if (i < 0) i += r;
  if (i < 0 || i >= r) Die("dim(" + std::to_string(i) + ") on shape " + ShapeString());
  return shape_[static_cast<size_t>(i)];
}

float* Tensor::data() {
  if (!defined() || device_ != Device::kCpu) Die("data() on an undefined or CUDA tensor");
  return storage_->host + offset_;
}
const float* Tensor::data() const { return const_cast<Tensor*>(this)->data(); }

float* Tensor::device_data() {
  if (!defined() || device_ != Device::kCuda) Die("device_data() on an undefined or CPU tensor");
  return storage_->device + offset_;
}
const float* Tensor::device_data() const { return const_cast<Tensor*>(this)->device_data(); }

StatusOr<Tensor> Tensor::Reshape(const Shape& shape) const {
  MORPHFIT_RETURN_IF_ERROR(ValidateShape(shape, "Tensor::Reshape"));
  if (NumElements(shape) != size()) {
    return InvalidArgumentError("Tensor::Reshape: cannot view " + ShapeString() + " (" +
                                std::to_string(size()) + " elements) as " +
                                nn::ShapeString(shape));
  }
  Tensor view = *this;
  view.shape_ = shape;
  return view;
}

StatusOr<Tensor> Tensor::SliceBatch(int64_t begin, int64_t end) const {
  if (rank() < 1) return InvalidArgumentError("Tensor::SliceBatch: tensor is a scalar");
  if (begin < 0 || end < begin || end > shape_[0]) {
    return OutOfRangeError("Tensor::SliceBatch: range [" + std::to_string(begin) + ", " +
                           std::to_string(end) + ") outside batch of " +
                           std::to_string(shape_[0]));
  }
  const int64_t per_item = shape_[0] == 0 ? 0 : size() / shape_[0];
  Tensor view = *this;
  view.shape_[0] = end - begin;
  view.offset_ += begin * per_item;
  return view;
}

Tensor Tensor::Clone() const {
  if (!defined()) return Tensor();
  if (device_ == Device::kCpu) {
    Tensor copy(shape_);
    std::copy(data(), data() + size(), copy.data());
    return copy;
  }
  Tensor copy;
  copy.storage_ = std::make_shared<Storage>();
  copy.shape_ = shape_;
  copy.device_ = device_;
#if defined(MORPHFIT_NN_WITH_CUDA)
  void* ptr = nullptr;
  std::string error = nn_cuda::Allocate(static_cast<size_t>(size()) * sizeof(float), &ptr);
  if (error.empty()) {
    copy.storage_->device = static_cast<float*>(ptr);
    error = nn_cuda::CopyDeviceToDevice(ptr, device_data(), size() * sizeof(float));
  }
  if (!error.empty()) Die("Clone on the device: " + error);
#endif
  return copy;
}

StatusOr<Tensor> Tensor::ToDevice() const {
  if (device_ == Device::kCuda) return *this;
#if defined(MORPHFIT_NN_WITH_CUDA)
  std::string reason;
  if (!nn_cuda::DeviceAvailable(&reason)) {
    return FailedPreconditionError("Tensor::ToDevice: no CUDA device: " + reason);
  }
  Tensor copy;
  copy.storage_ = std::make_shared<Storage>();
  copy.shape_ = shape_;
  copy.device_ = Device::kCuda;
  void* ptr = nullptr;
  const size_t bytes = static_cast<size_t>(size()) * sizeof(float);
  std::string error = nn_cuda::Allocate(bytes, &ptr);
  if (error.empty()) {
    copy.storage_->device = static_cast<float*>(ptr);
    copy.storage_->device_size = size();
    error = nn_cuda::CopyHostToDevice(ptr, data(), bytes);
  }
  if (!error.empty()) return InternalError("Tensor::ToDevice: " + error);
  return copy;
#else
  std::string reason;
  CudaAvailable(&reason);
  return FailedPreconditionError("Tensor::ToDevice: " + reason);
#endif
}

StatusOr<Tensor> Tensor::ToHost() const {
  if (device_ == Device::kCpu) return *this;
  Tensor copy(shape_);
#if defined(MORPHFIT_NN_WITH_CUDA)
  const std::string error = nn_cuda::CopyDeviceToHost(copy.data(), device_data(),
                                                      static_cast<size_t>(size()) * sizeof(float));
  if (!error.empty()) return InternalError("Tensor::ToHost: " + error);
#endif
  return copy;
}

void Tensor::Fill(float value) {
  if (device_ == Device::kCpu) {
    std::fill(data(), data() + size(), value);
    return;
  }
#if defined(MORPHFIT_NN_WITH_CUDA)
  const std::string error = nn_cuda::Fill(device_data(), size(), value);
  if (!error.empty()) Die("Fill on the device: " + error);
#endif
}

std::vector<float> Tensor::ToVector() const {
  if (!defined()) return {};
  if (device_ == Device::kCpu) return std::vector<float>(data(), data() + size());
  StatusOr<Tensor> host = ToHost();
  if (!host.ok()) Die(host.status().ToString());
  return host->ToVector();
}

Status ExpectRank(const Tensor& t, int rank, const std::string& op, const std::string& arg) {
  if (!t.defined()) return InvalidArgumentError(op + ": " + arg + " is undefined");
  if (t.rank() != rank) {
    return InvalidArgumentError(op + ": " + arg + " must be " + std::to_string(rank) +
                                "-D, got shape " + t.ShapeString());
  }
  return OkStatus();
}

Status ExpectShape(const Tensor& t, const Shape& shape, const std::string& op,
                   const std::string& arg) {
  if (!t.defined()) return InvalidArgumentError(op + ": " + arg + " is undefined");
  if (t.shape() != shape) {
    return InvalidArgumentError(op + ": " + arg + " must have shape " + ShapeString(shape) +
                                ", got " + t.ShapeString());
  }
  return OkStatus();
}

Status ExpectSameShape(const Tensor& a, const Tensor& b, const std::string& op,
                       const std::string& arg_a, const std::string& arg_b) {
  if (a.shape() != b.shape()) {
    return InvalidArgumentError(op + ": " + arg_a + " and " + arg_b +
                                " must have the same shape, got " + a.ShapeString() + " and " +
                                b.ShapeString());
  }
  return OkStatus();
}

Status ExpectCpu(const Tensor& t, const std::string& op, const std::string& arg) {
  if (t.device() != Device::kCpu) {
    return FailedPreconditionError(op + ": " + arg + " is on " + DeviceName(t.device()) +
                                   "; this op runs on the CPU here (call ToHost first)");
  }
  return OkStatus();
}

}  // namespace morphfit::nn
