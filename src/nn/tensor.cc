// Tensor storage, views and host/device copies.
#include "morphfit/nn/tensor.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iostream>
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

}  // namespace

// Owns either host memory (a vector) or one device block from the caching allocator.
struct Tensor::Storage {
  std::vector<float> host;
  float* device = nullptr;
  int64_t device_size = 0;
  ~Storage() {
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

Tensor::Tensor(const Shape& shape) : storage_(std::make_shared<Storage>()), shape_(shape) {
  const Status status = ValidateShape(shape, "Tensor");
  if (!status.ok()) Die(status.ToString());
  storage_->host.assign(static_cast<size_t>(NumElements(shape)), 0.0f);
}

StatusOr<Tensor> Tensor::Zeros(const Shape& shape) {
  MORPHFIT_RETURN_IF_ERROR(ValidateShape(shape, "Tensor::Zeros"));
  return Tensor(shape);
}

Tensor Tensor::Full(const Shape& shape, float value) {
  Tensor t(shape);
  std::fill(t.storage_->host.begin(), t.storage_->host.end(), value);
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
  std::copy(values.begin(), values.end(), t.storage_->host.begin());
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
  return storage_->host.data() + offset_;
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
  Tensor copy;
  copy.storage_ = std::make_shared<Storage>();
  copy.shape_ = shape_;
  copy.device_ = device_;
  if (device_ == Device::kCpu) {
    const float* src = defined() ? data() : nullptr;
    copy.storage_->host.assign(src, src + size());
    return copy;
  }
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
