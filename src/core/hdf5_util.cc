// HDF5 helpers: RAII handles, typed reads with checks, writes with intermediate groups.
#include "hdf5_util.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <numeric>
#include <sstream>

namespace morphfit::h5 {

Handle& Handle::operator=(Handle&& other) noexcept {
  if (this != &other) {
    Reset();
    id_ = other.id_;
    other.id_ = H5I_INVALID_HID;
  }
  return *this;
}

void Handle::Reset() {
  if (id_ < 0) return;
  switch (H5Iget_type(id_)) {
    case H5I_FILE: H5Fclose(id_); break;
    case H5I_GROUP: H5Gclose(id_); break;
    case H5I_DATASET: H5Dclose(id_); break;
    case H5I_DATASPACE: H5Sclose(id_); break;
    case H5I_DATATYPE: H5Tclose(id_); break;
    case H5I_ATTR: H5Aclose(id_); break;
    case H5I_GENPROP_LST: H5Pclose(id_); break;
    default: break;
  }
  id_ = H5I_INVALID_HID;
}

void SilenceErrors() {
  static std::once_flag once;
  std::call_once(once, [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });
}

StatusOr<Handle> OpenFileReadOnly(const std::string& path) {
  SilenceErrors();
  std::ifstream probe(path, std::ios::binary);
  if (!probe) {
    return NotFoundError("cannot open '" + path + "': " + std::strerror(errno));
  }
  char magic[8] = {};
  probe.read(magic, 8);
  static const char kMagic[8] = {'\x89', 'H', 'D', 'F', '\r', '\n', '\x1a', '\n'};
  if (probe.gcount() < 8 || std::memcmp(magic, kMagic, 8) != 0) {
    return InvalidArgumentError("'" + path + "' is not an HDF5 file (missing the HDF5 signature)");
  }
  hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0) {
    return DataLossError("'" + path + "' has an HDF5 signature but cannot be opened (truncated or corrupt)");
  }
  return Handle(id);
}

StatusOr<Handle> CreateFile(const std::string& path) {
  SilenceErrors();
  hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (id < 0) return InternalError("cannot create HDF5 file '" + path + "'");
  return Handle(id);
}

bool Exists(hid_t file, const std::string& path) {
  SilenceErrors();
  // Check each prefix so a missing intermediate group is not an error inside HDF5.
  size_t pos = 0;
  while (true) {
    pos = path.find('/', pos + 1);
    const std::string prefix = path.substr(0, pos);
    if (!prefix.empty() && prefix != "/") {
      if (H5Lexists(file, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    }
    if (pos == std::string::npos) return true;
  }
}

namespace {

std::string Where(const std::string& file_name, const std::string& path) {
  return file_name + ": dataset '" + path + "'";
}

template <typename T>
StatusOr<Array<T>> ReadNumeric(hid_t file, const std::string& path, const std::string& file_name,
                               hid_t mem_type) {
  if (!Exists(file, path)) return NotFoundError(Where(file_name, path) + " is missing");
  Handle dset(H5Dopen2(file, path.c_str(), H5P_DEFAULT));
  if (!dset.valid()) return DataLossError(Where(file_name, path) + " cannot be opened");
  Handle type(H5Dget_type(dset.get()));
  const H5T_class_t cls = H5Tget_class(type.get());
  if (cls != H5T_INTEGER && cls != H5T_FLOAT) {
    return InvalidArgumentError(Where(file_name, path) + " is not numeric");
  }
  Handle space(H5Dget_space(dset.get()));
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0) return DataLossError(Where(file_name, path) + " has an unreadable shape");
  Array<T> out;
  out.dims.resize(rank);
  if (rank > 0) H5Sget_simple_extent_dims(space.get(), out.dims.data(), nullptr);
  const hsize_t count = std::accumulate(out.dims.begin(), out.dims.end(), hsize_t{1},
                                        [](hsize_t a, hsize_t b) { return a * b; });
  // A corrupt file can claim any shape: check the claim against the bytes stored before
  // allocating (contiguous data must be all there; compressed chunks are allowed a generous
  // 1000:1 ratio), so bad input is an error and never an allocation failure.
  const size_t stored_type_size = H5Tget_size(type.get());
  const double claimed_bytes = static_cast<double>(count) * static_cast<double>(stored_type_size);
  const double stored_bytes = static_cast<double>(H5Dget_storage_size(dset.get()));
  Handle dcpl(H5Dget_create_plist(dset.get()));
  const H5D_layout_t layout = H5Pget_layout(dcpl.get());
  const bool plausible =
      claimed_bytes <= static_cast<double>(1ull << 36) &&
      (layout == H5D_COMPACT || (layout == H5D_CONTIGUOUS && stored_bytes >= claimed_bytes) ||
       (layout == H5D_CHUNKED && claimed_bytes <= 1000.0 * stored_bytes + (1 << 20)));
  if (!plausible) {
    std::ostringstream msg;
    msg << Where(file_name, path) << " claims " << count << " elements but the file stores "
        << static_cast<uint64_t>(stored_bytes) << " bytes for it (truncated or corrupt)";
    return DataLossError(msg.str());
  }
  try {
    out.data.resize(count);
  } catch (const std::exception&) {
    return DataLossError(Where(file_name, path) + " is too large to read (" +
                         std::to_string(count) + " elements)");
  }
  if (count > 0 &&
      H5Dread(dset.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data.data()) < 0) {
    return DataLossError(Where(file_name, path) +
                         " cannot be read (the file may be truncated or corrupt)");
  }
  return out;
}

Status WriteNumeric(hid_t file, const std::string& path, const void* data, hid_t mem_type,
                    hid_t file_type, const std::vector<hsize_t>& dims, bool compress) {
  SilenceErrors();
  Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr));
  Handle lcpl(H5Pcreate(H5P_LINK_CREATE));
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  Handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
  hsize_t total = 1;
  for (hsize_t d : dims) total *= d;
  if (compress && total > 0 && !dims.empty()) {
    // Chunks of whole rows, about 1 MiB, so row-wise reads stay cheap.
    std::vector<hsize_t> chunk = dims;
    hsize_t row = 1;
    for (size_t i = 1; i < dims.size(); ++i) row *= dims[i];
    const hsize_t rows_per_chunk =
        std::max<hsize_t>(1, std::min<hsize_t>(dims[0], (1u << 18) / std::max<hsize_t>(row, 1)));
    chunk[0] = rows_per_chunk;
    H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data());
    H5Pset_deflate(dcpl.get(), 4);
  }
  Handle dset(H5Dcreate2(file, path.c_str(), file_type, space.get(), lcpl.get(), dcpl.get(),
                         H5P_DEFAULT));
  if (!dset.valid()) return InternalError("cannot create dataset '" + path + "'");
  if (total > 0 && H5Dwrite(dset.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
    return InternalError("cannot write dataset '" + path + "'");
  }
  return OkStatus();
}

Handle VariableStringType() {
  Handle type(H5Tcopy(H5T_C_S1));
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  return type;
}

// Reads `n` strings from a dataset or attribute whose type is `type`.
template <typename ReadFn>
StatusOr<std::vector<std::string>> ReadStrings(hid_t type, size_t n, ReadFn read,
                                               const std::string& where) {
  std::vector<std::string> out;
  if (H5Tget_class(type) != H5T_STRING) return InvalidArgumentError(where + " is not a string");
  if (H5Tis_variable_str(type) > 0) {
    Handle mem = VariableStringType();
    std::vector<char*> ptrs(n, nullptr);
    if (read(mem.get(), ptrs.data()) < 0) return DataLossError(where + " cannot be read");
    for (char* p : ptrs) {
      out.emplace_back(p ? p : "");
      free(p);  // HDF5 allocates variable-length strings with malloc
    }
  } else {
    const size_t len = H5Tget_size(type);
    Handle mem(H5Tcopy(H5T_C_S1));
    H5Tset_size(mem.get(), len);
    std::vector<char> buf(n * len);
    if (read(mem.get(), buf.data()) < 0) return DataLossError(where + " cannot be read");
    for (size_t i = 0; i < n; ++i) {
      const char* s = buf.data() + i * len;
      out.emplace_back(s, strnlen(s, len));
    }
  }
  return out;
}

}  // namespace

StatusOr<Array<float>> ReadFloat(hid_t f, const std::string& p, const std::string& n) {
  return ReadNumeric<float>(f, p, n, H5T_NATIVE_FLOAT);
}
StatusOr<Array<double>> ReadDouble(hid_t f, const std::string& p, const std::string& n) {
  return ReadNumeric<double>(f, p, n, H5T_NATIVE_DOUBLE);
}
StatusOr<Array<int32_t>> ReadInt32(hid_t f, const std::string& p, const std::string& n) {
  return ReadNumeric<int32_t>(f, p, n, H5T_NATIVE_INT32);
}
StatusOr<Array<uint8_t>> ReadUint8(hid_t f, const std::string& p, const std::string& n) {
  return ReadNumeric<uint8_t>(f, p, n, H5T_NATIVE_UINT8);
}

StatusOr<std::vector<std::string>> ReadStringList(hid_t file, const std::string& path,
                                                  const std::string& file_name) {
  if (!Exists(file, path)) return NotFoundError(Where(file_name, path) + " is missing");
  Handle dset(H5Dopen2(file, path.c_str(), H5P_DEFAULT));
  if (!dset.valid()) return DataLossError(Where(file_name, path) + " cannot be opened");
  Handle type(H5Dget_type(dset.get()));
  Handle space(H5Dget_space(dset.get()));
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if (n < 0) return DataLossError(Where(file_name, path) + " has an unreadable shape");
  if (static_cast<double>(n) > 1e6 + 1e3 * static_cast<double>(H5Dget_storage_size(dset.get()))) {
    return DataLossError(Where(file_name, path) + " claims " + std::to_string(n) +
                         " strings, more than the file can hold (corrupt)");
  }
  return ReadStrings(
      type.get(), static_cast<size_t>(n),
      [&](hid_t mem, void* buf) { return H5Dread(dset.get(), mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf); },
      Where(file_name, path));
}

StatusOr<std::string> ReadString(hid_t file, const std::string& path, const std::string& file_name) {
  MORPHFIT_ASSIGN_OR_RETURN(auto list, ReadStringList(file, path, file_name));
  if (list.size() != 1) {
    return InvalidArgumentError(Where(file_name, path) + " holds " + std::to_string(list.size()) +
                                " strings, expected one");
  }
  return list[0];
}

StatusOr<int64_t> ReadIntScalar(hid_t file, const std::string& path, const std::string& file_name) {
  if (!Exists(file, path)) return NotFoundError(Where(file_name, path) + " is missing");
  Handle dset(H5Dopen2(file, path.c_str(), H5P_DEFAULT));
  Handle space(H5Dget_space(dset.get()));
  if (H5Sget_simple_extent_npoints(space.get()) != 1) {
    return InvalidArgumentError(Where(file_name, path) + " is not a scalar");
  }
  int64_t value = 0;
  if (H5Dread(dset.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, &value) < 0) {
    return DataLossError(Where(file_name, path) + " cannot be read as an integer");
  }
  return value;
}

Status WriteFloat(hid_t f, const std::string& p, const float* d, const std::vector<hsize_t>& dims,
                  bool c) {
  return WriteNumeric(f, p, d, H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, dims, c);
}
Status WriteDouble(hid_t f, const std::string& p, const double* d, const std::vector<hsize_t>& dims,
                   bool c) {
  return WriteNumeric(f, p, d, H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, dims, c);
}
Status WriteInt32(hid_t f, const std::string& p, const int32_t* d, const std::vector<hsize_t>& dims,
                  bool c) {
  return WriteNumeric(f, p, d, H5T_NATIVE_INT32, H5T_STD_I32LE, dims, c);
}
Status WriteUint8(hid_t f, const std::string& p, const uint8_t* d, const std::vector<hsize_t>& dims,
                  bool c) {
  return WriteNumeric(f, p, d, H5T_NATIVE_UINT8, H5T_STD_U8LE, dims, c);
}
Status WriteIntScalar(hid_t file, const std::string& path, int32_t value) {
  SilenceErrors();
  Handle space(H5Screate(H5S_SCALAR));
  Handle lcpl(H5Pcreate(H5P_LINK_CREATE));
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  Handle dset(H5Dcreate2(file, path.c_str(), H5T_STD_I32LE, space.get(), lcpl.get(), H5P_DEFAULT,
                         H5P_DEFAULT));
  if (!dset.valid() ||
      H5Dwrite(dset.get(), H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, &value) < 0) {
    return InternalError("cannot write dataset '" + path + "'");
  }
  return OkStatus();
}

Status WriteString(hid_t file, const std::string& path, const std::string& value) {
  SilenceErrors();
  Handle type = VariableStringType();
  Handle space(H5Screate(H5S_SCALAR));
  Handle lcpl(H5Pcreate(H5P_LINK_CREATE));
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  Handle dset(H5Dcreate2(file, path.c_str(), type.get(), space.get(), lcpl.get(), H5P_DEFAULT,
                         H5P_DEFAULT));
  const char* ptr = value.c_str();
  if (!dset.valid() || H5Dwrite(dset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, &ptr) < 0) {
    return InternalError("cannot write string dataset '" + path + "'");
  }
  return OkStatus();
}

Status WriteStringList(hid_t file, const std::string& path, const std::vector<std::string>& values) {
  SilenceErrors();
  Handle type = VariableStringType();
  const hsize_t n = values.size();
  Handle space(H5Screate_simple(1, &n, nullptr));
  Handle lcpl(H5Pcreate(H5P_LINK_CREATE));
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  Handle dset(H5Dcreate2(file, path.c_str(), type.get(), space.get(), lcpl.get(), H5P_DEFAULT,
                         H5P_DEFAULT));
  std::vector<const char*> ptrs;
  for (const auto& v : values) ptrs.push_back(v.c_str());
  if (!dset.valid() ||
      (n > 0 && H5Dwrite(dset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) < 0)) {
    return InternalError("cannot write string list '" + path + "'");
  }
  return OkStatus();
}

Status CreateGroup(hid_t file, const std::string& path) {
  SilenceErrors();
  if (Exists(file, path)) return OkStatus();
  Handle lcpl(H5Pcreate(H5P_LINK_CREATE));
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  Handle g(H5Gcreate2(file, path.c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT));
  if (!g.valid()) return InternalError("cannot create group '" + path + "'");
  return OkStatus();
}

Status WriteStringAttribute(hid_t file, const std::string& object_path, const std::string& name,
                            const std::string& value) {
  SilenceErrors();
  Handle obj(H5Oopen(file, object_path.c_str(), H5P_DEFAULT));
  if (!obj.valid()) return InternalError("cannot open '" + object_path + "' to set attribute " + name);
  Handle type(H5Tcopy(H5T_C_S1));
  H5Tset_size(type.get(), std::max<size_t>(1, value.size()));
  H5Tset_strpad(type.get(), H5T_STR_NULLTERM);
  Handle space(H5Screate(H5S_SCALAR));
  if (H5Aexists(obj.get(), name.c_str()) > 0) H5Adelete(obj.get(), name.c_str());
  Handle attr(H5Acreate2(obj.get(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT));
  std::string padded = value;
  padded.resize(std::max<size_t>(1, value.size()), '\0');
  if (!attr.valid() || H5Awrite(attr.get(), type.get(), padded.data()) < 0) {
    return InternalError("cannot write attribute '" + name + "' on '" + object_path + "'");
  }
  return OkStatus();
}

StatusOr<std::string> ReadStringAttribute(hid_t file, const std::string& object_path,
                                          const std::string& name, const std::string& file_name) {
  const std::string where = file_name + ": attribute '" + name + "' of '" + object_path + "'";
  if (!Exists(file, object_path)) return NotFoundError(where + ": object is missing");
  Handle obj(H5Oopen(file, object_path.c_str(), H5P_DEFAULT));
  if (H5Aexists(obj.get(), name.c_str()) <= 0) return NotFoundError(where + " is missing");
  Handle attr(H5Aopen(obj.get(), name.c_str(), H5P_DEFAULT));
  Handle type(H5Aget_type(attr.get()));
  Handle space(H5Aget_space(attr.get()));
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  MORPHFIT_ASSIGN_OR_RETURN(
      auto list, ReadStrings(type.get(), static_cast<size_t>(std::max<hssize_t>(n, 1)),
                             [&](hid_t mem, void* buf) { return H5Aread(attr.get(), mem, buf); },
                             where));
  return list.empty() ? std::string() : list[0];
}

}  // namespace morphfit::h5
