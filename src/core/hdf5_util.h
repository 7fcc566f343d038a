// Private HDF5 helpers shared by the core (FaceParams tables) and the model loaders: RAII
// handles, typed whole-dataset reads with shape checks, and writes that create intermediate
// groups. Not a public header: public headers never include HDF5.
#ifndef MORPHFIT_SRC_CORE_HDF5_UTIL_H_
#define MORPHFIT_SRC_CORE_HDF5_UTIL_H_

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

#include "morphfit/core/status.h"

namespace morphfit::h5 {

// Owns an hid_t and closes it with the right H5*close.
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  ~Handle() { Reset(); }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& other) noexcept : id_(other.id_) { other.id_ = H5I_INVALID_HID; }
  Handle& operator=(Handle&& other) noexcept;
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void Reset();

 private:
  hid_t id_ = H5I_INVALID_HID;
};

// Turns off HDF5's own error printing (errors come back as Status). Idempotent.
void SilenceErrors();

// Opens an existing file read-only; names the file and says whether it is missing, not HDF5,
// or unreadable (e.g. truncated).
StatusOr<Handle> OpenFileReadOnly(const std::string& path);
// Creates (truncates) a file for writing.
StatusOr<Handle> CreateFile(const std::string& path);

// True when every component of `path` (e.g. "/shape/model/mean") exists.
bool Exists(hid_t file, const std::string& path);

template <typename T>
struct Array {
  std::vector<T> data;            // row-major (C order), as HDF5 stores it
  std::vector<hsize_t> dims;      // e.g. {3N, K}
  size_t size() const { return data.size(); }
};

// Reads a whole numeric dataset converted to the requested type (HDF5 converts from the stored
// type). Errors name `file_name` and the dataset. Checks the element count read matches dims.
StatusOr<Array<float>> ReadFloat(hid_t file, const std::string& path, const std::string& file_name);
StatusOr<Array<double>> ReadDouble(hid_t file, const std::string& path, const std::string& file_name);
StatusOr<Array<int32_t>> ReadInt32(hid_t file, const std::string& path, const std::string& file_name);
StatusOr<Array<uint8_t>> ReadUint8(hid_t file, const std::string& path, const std::string& file_name);
// Scalar string dataset (variable or fixed length).
StatusOr<std::string> ReadString(hid_t file, const std::string& path, const std::string& file_name);
// 1-D dataset of strings (variable or fixed length).
StatusOr<std::vector<std::string>> ReadStringList(hid_t file, const std::string& path,
                                                  const std::string& file_name);
// Integer scalar dataset or attribute-free scalar.
StatusOr<int64_t> ReadIntScalar(hid_t file, const std::string& path, const std::string& file_name);

// Writers. `dims` must multiply to data size. Intermediate groups are created. `compress`
// turns on chunking + deflate level 4 (for large arrays).
Status WriteFloat(hid_t file, const std::string& path, const float* data,
                  const std::vector<hsize_t>& dims, bool compress = false);
Status WriteDouble(hid_t file, const std::string& path, const double* data,
                   const std::vector<hsize_t>& dims, bool compress = false);
Status WriteInt32(hid_t file, const std::string& path, const int32_t* data,
                  const std::vector<hsize_t>& dims, bool compress = false);
Status WriteUint8(hid_t file, const std::string& path, const uint8_t* data,
                  const std::vector<hsize_t>& dims, bool compress = false);
Status WriteString(hid_t file, const std::string& path, const std::string& value);
Status WriteStringList(hid_t file, const std::string& path, const std::vector<std::string>& values);
Status WriteIntScalar(hid_t file, const std::string& path, int32_t value);
// String attribute on an existing object (group or dataset).
Status WriteStringAttribute(hid_t file, const std::string& object_path, const std::string& name,
                            const std::string& value);
StatusOr<std::string> ReadStringAttribute(hid_t file, const std::string& object_path,
                                          const std::string& name, const std::string& file_name);
Status CreateGroup(hid_t file, const std::string& path);

}  // namespace morphfit::h5

#endif  // MORPHFIT_SRC_CORE_HDF5_UTIL_H_
