// MAT-file writing through matio (v5, v7 compressed, v7.3), for fixtures, tests and benchmarks.
#include "mat_file.h"

#include <matio.h>

#include <cmath>
#include <cstring>
#include <sstream>
#include <type_traits>

#include "morphfit/core/file_util.h"

namespace morphfit::models::mat {

// ---- writing --------------------------------------------------------------------------------
namespace {

matio_types MatioType(MatClass c) {
  switch (c) {
    case MatClass::kDouble: return MAT_T_DOUBLE;
    case MatClass::kSingle: return MAT_T_SINGLE;
    case MatClass::kInt8: return MAT_T_INT8;
    case MatClass::kUint8: return MAT_T_UINT8;
    case MatClass::kInt16: return MAT_T_INT16;
    case MatClass::kUint16: return MAT_T_UINT16;
    case MatClass::kInt32: return MAT_T_INT32;
    case MatClass::kUint32: return MAT_T_UINT32;
    case MatClass::kInt64: return MAT_T_INT64;
    case MatClass::kUint64: return MAT_T_UINT64;
    default: return MAT_T_UNKNOWN;
  }
}

template <typename S>
std::vector<char> Pack(const MatVar& v, size_t n) {
  std::vector<char> out(n * sizeof(S));
  S* d = reinterpret_cast<S*>(out.data());
  for (size_t i = 0; i < n; ++i) {
    d[i] = static_cast<S>(v.borrowed ? v.borrowed[i] : !v.fvalues.empty() ? v.fvalues[i] : v.values[i]);
  }
  return out;
}

// Builds a matvar for `v`; its data live in `buffers` (or are borrowed) until written.
StatusOr<matvar_t*> MakeVar(const MatVar& v, bool v73, std::vector<std::vector<char>>* buffers) {
  if (!v.fields.empty()) {
    std::vector<const char*> names;
    for (const auto& f : v.fields) names.push_back(f.name.c_str());
    names.push_back(nullptr);  // matio wants a null-terminated list
    const size_t dims[2] = {1, 1};
    matvar_t* s = Mat_VarCreateStruct2(v.name.c_str(), 2, dims, names.data());
    if (s == nullptr) return InternalError("matio cannot create struct '" + v.name + "'");
    for (const auto& f : v.fields) {
      auto fv = MakeVar(f, v73, buffers);
      if (!fv.ok()) {
        Mat_VarFree(s);
        return fv.status();
      }
      Mat_VarSetStructFieldByName(s, f.name.c_str(), 0, *fv);
    }
    return s;
  }
  size_t n = 1;
  for (size_t d : v.dims) n *= d;
  const size_t have = v.borrowed ? n : !v.fvalues.empty() ? v.fvalues.size() : v.values.size();
  if (have != n) {
    return InvalidArgumentError("variable '" + v.name + "': " + std::to_string(have) +
                                " values for dims of " + std::to_string(n));
  }
  // v7.3 (HDF5) stores the class's own type; v5 may store a narrower one.
  const MatClass storage = (v.storage == MatClass::kUnknown || v73) ? v.cls : v.storage;
  const void* data = nullptr;
  if (storage == MatClass::kSingle && v.borrowed) {
    data = v.borrowed;
  } else if (storage == MatClass::kSingle && !v.fvalues.empty()) {
    data = v.fvalues.data();
  } else {
    switch (storage) {
      case MatClass::kDouble: buffers->push_back(Pack<double>(v, n)); break;
      case MatClass::kSingle: buffers->push_back(Pack<float>(v, n)); break;
      case MatClass::kInt8: buffers->push_back(Pack<int8_t>(v, n)); break;
      case MatClass::kUint8: buffers->push_back(Pack<uint8_t>(v, n)); break;
      case MatClass::kInt16: buffers->push_back(Pack<int16_t>(v, n)); break;
      case MatClass::kUint16: buffers->push_back(Pack<uint16_t>(v, n)); break;
      case MatClass::kInt32: buffers->push_back(Pack<int32_t>(v, n)); break;
      case MatClass::kUint32: buffers->push_back(Pack<uint32_t>(v, n)); break;
      default: return InvalidArgumentError("variable '" + v.name + "': unsupported storage type");
    }
    data = buffers->back().data();
  }
  matvar_t* mv = Mat_VarCreate(v.name.c_str(), static_cast<matio_classes>(static_cast<int>(v.cls)),
                               MatioType(storage), static_cast<int>(v.dims.size()),
                               const_cast<size_t*>(v.dims.data()), const_cast<void*>(data),
                               MAT_F_DONT_COPY_DATA);
  if (mv == nullptr) return InternalError("matio cannot create variable '" + v.name + "'");
  return mv;
}

}  // namespace

Status WriteMatFile(const std::string& path, const std::vector<MatVar>& vars,
                    const MatWriteOptions& options) {
  InitMatio();
  const bool v73 = options.version == MatVersion::kV73;
  AtomicFile out(path);
  {
    mat_t* mat = Mat_CreateVer(out.temp_path().c_str(), nullptr, v73 ? MAT_FT_MAT73 : MAT_FT_MAT5);
    if (mat == nullptr) {
      return InternalError("'" + path + "': matio cannot create the file" + MatioReason());
    }
    struct Close {
      mat_t* m;
      ~Close() { Mat_Close(m); }
    } closer{mat};
    for (const MatVar& v : vars) {
      std::vector<std::vector<char>> buffers;
      MORPHFIT_ASSIGN_OR_RETURN(matvar_t* mv, MakeVar(v, v73, &buffers));
      const int rc = Mat_VarWrite(mat, mv, options.compress ? MAT_COMPRESSION_ZLIB : MAT_COMPRESSION_NONE);
      Mat_VarFree(mv);
      if (rc != 0) {
        return InternalError("'" + path + "': matio cannot write variable '" + v.name + "'" +
                             MatioReason());
      }
    }
  }
  return out.Commit();
}

}  // namespace morphfit::models::mat
