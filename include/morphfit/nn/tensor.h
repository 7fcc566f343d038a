// Tensor: a float32 array of rank 0..4 (NCHW for images, [N, F] for features) on the CPU or on a
// CUDA device. Storage is reference-counted and shared by views (Reshape, SliceBatch); copies
// between devices are explicit (ToDevice, ToHost). Shape errors a user can cause are Status
// values whose message names the op, the argument, what was expected and what was found.
#ifndef MORPHFIT_NN_TENSOR_H_
#define MORPHFIT_NN_TENSOR_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "morphfit/core/status.h"

namespace morphfit::nn {

// Dimensions, outermost first (NCHW). Rank 0 is a scalar with one element.
using Shape = std::vector<int64_t>;
constexpr int kMaxRank = 4;

// "[2, 3, 224, 224]".
std::string ShapeString(const Shape& shape);
// Product of the dimensions (1 for rank 0).
int64_t NumElements(const Shape& shape);
// OK if the rank is <= kMaxRank and every dimension is >= 0; otherwise InvalidArgument naming
// `what`.
Status ValidateShape(const Shape& shape, const std::string& what);

enum class Device { kCpu, kCuda };
const char* DeviceName(Device device);

// True when this build has the CUDA backend and a device is usable; otherwise `reason` says why.
bool CudaAvailable(std::string* reason);

class Tensor {
 public:
  // An empty tensor (rank 1, zero elements, CPU); defined() is false.
  Tensor();
  // A zero-filled CPU tensor. The shape must be valid (a programmer error otherwise: aborts;
  // use Zeros() for shapes that come from users).
  explicit Tensor(const Shape& shape);
  static StatusOr<Tensor> Zeros(const Shape& shape);
  // A CPU tensor whose contents are unspecified (like torch.empty): for outputs that the caller
  // overwrites entirely, saving the zero-fill pass. Same shape rules as Tensor(shape).
  static Tensor Uninitialized(const Shape& shape);
  // A zero-filled tensor on `device` (allocated there directly; FailedPrecondition for kCuda
  // without a usable device).
  static StatusOr<Tensor> Zeros(const Shape& shape, Device device);
  static Tensor Full(const Shape& shape, float value);
  // Copies `values` (row-major, NCHW) into a new CPU tensor; InvalidArgument if the counts
  // differ.
  static StatusOr<Tensor> FromVector(const Shape& shape, const std::vector<float>& values);

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  // Dimension i; negative i counts from the end. Aborts on an out-of-range index.
  int64_t dim(int i) const;
  int64_t size() const { return NumElements(shape_); }
  Device device() const { return device_; }
  std::string ShapeString() const { return nn::ShapeString(shape_); }

  // Host pointers (CPU tensors only; aborts on a CUDA tensor: a programmer error).
  float* data();
  const float* data() const;
  // Device pointers (CUDA tensors only).
  float* device_data();
  const float* device_data() const;

  // A view with the same storage and another shape of the same element count.
  StatusOr<Tensor> Reshape(const Shape& shape) const;
  // A view of batch items [begin, end) along dimension 0 (contiguous in NCHW).
  StatusOr<Tensor> SliceBatch(int64_t begin, int64_t end) const;
  // A deep copy on the same device.
  Tensor Clone() const;
  // Copies to a CUDA device / to the host. FailedPrecondition when CUDA is not available.
  // A tensor already on the target device is returned as a view (no copy).
  StatusOr<Tensor> ToDevice() const;
  StatusOr<Tensor> ToHost() const;

  // Sets every element to `value` (either device).
  void Fill(float value);
  // Host copy of the elements (copies from the device when needed; aborts on a device error).
  std::vector<float> ToVector() const;

 private:
  struct Storage;
  std::shared_ptr<Storage> storage_;
  Shape shape_;
  int64_t offset_ = 0;  // in elements, into storage_
  Device device_ = Device::kCpu;
};

// Shape checks used by every op. Messages: "<op>: <arg> must be <expected>, got <found>".
Status ExpectRank(const Tensor& t, int rank, const std::string& op, const std::string& arg);
Status ExpectShape(const Tensor& t, const Shape& shape, const std::string& op,
                   const std::string& arg);
Status ExpectSameShape(const Tensor& a, const Tensor& b, const std::string& op,
                       const std::string& arg_a, const std::string& arg_b);
Status ExpectCpu(const Tensor& t, const std::string& op, const std::string& arg);

}  // namespace morphfit::nn

#endif  // MORPHFIT_NN_TENSOR_H_
