// Private MAT-file layer over matio: reads named numeric variables (and struct fields) of MAT v5,
// v7 (zlib-compressed) and v7.3 (HDF5) files, converted to float / double / int32 whatever the
// storage type, and writes MAT files for test fixtures and benchmarks.
//
// Before matio touches a v5/v7 file, the whole file is walked here (docs/FORMATS.md section 0):
// every top-level element must fit in the file, every miCOMPRESSED element must inflate to
// exactly one complete miMATRIX element (matio can otherwise return a truncated compressed
// variable zero-filled at full size with no error), and every numeric data element must hold
// exactly prod(dims) values of its storage type. So matio only ever sees well-formed data, and
// corrupt files come back as DataLoss naming the file and the variable.
#ifndef MORPHFIT_MODELS_MAT_FILE_H_
#define MORPHFIT_MODELS_MAT_FILE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "morphfit/core/status.h"
#include "morphfit/models/mat_models.h"

namespace morphfit::models::mat {

// MATLAB array classes (mxCLASS ids, FORMATS.md section 0) the layer reads and writes.
enum class MatClass : int {
  kUnknown = 0, kCell = 1, kStruct = 2, kChar = 4, kDouble = 6, kSingle = 7, kInt8 = 8,
  kUint8 = 9, kInt16 = 10, kUint16 = 11, kInt32 = 12, kUint32 = 13, kInt64 = 14, kUint64 = 15,
};
const char* MatClassName(MatClass c);  // "double", "single", "uint16", ...

// What a variable is, as stored: class, storage type of its numbers (may be narrower than the
// class, e.g. class double stored as uint16), MATLAB dims (rows, cols, ...).
struct MatVarInfo {
  MatClass cls = MatClass::kUnknown;
  MatClass storage = MatClass::kUnknown;
  std::vector<size_t> dims;
  bool is_complex = false;
  size_t numel() const;
  std::string DimsString() const;  // "53215x1"
};

// A numeric array in MATLAB (column-major) element order, converted to T.
template <typename T>
struct MatArray {
  std::vector<T> data;
  std::vector<size_t> dims;
  size_t rows() const { return dims.empty() ? 0 : dims[0]; }
  size_t cols() const;  // product of dims[1..]
  size_t size() const { return data.size(); }
};

// An open MAT file. Variable names may address a field of a 1x1 struct as "struct.field".
class MatFile {
 public:
  // Errors: NotFound (missing file), InvalidArgument (not a MAT file: wrong header / version /
  // endian marker), DataLoss (truncated or corrupt elements, naming the variable).
  static StatusOr<std::unique_ptr<MatFile>> Open(const std::string& path);
  ~MatFile();
  MatFile(const MatFile&) = delete;
  MatFile& operator=(const MatFile&) = delete;

  const std::string& path() const { return path_; }
  MatVersion version() const { return version_; }
  // Top-level variable names in file order.
  const std::vector<std::string>& variables() const { return names_; }
  bool Has(const std::string& name) const;
  // "a, b, c" (for error messages).
  std::string VariableList() const;

  // Class, storage type and dims; NotFound lists the variables that exist.
  StatusOr<MatVarInfo> Info(const std::string& name) const;
  // Field names of a struct variable.
  StatusOr<std::vector<std::string>> Fields(const std::string& name) const;

  // Whole numeric arrays converted to T (real part only; complex arrays are refused).
  // ReadInt32 also requires every value to be a whole number within int32.
  StatusOr<MatArray<float>> ReadFloat(const std::string& name) const;
  StatusOr<MatArray<double>> ReadDouble(const std::string& name) const;
  StatusOr<MatArray<int32_t>> ReadInt32(const std::string& name) const;

 private:
  MatFile() = default;
  struct Impl;
  template <typename T>
  StatusOr<MatArray<T>> Read(const std::string& name) const;

  std::string path_;
  MatVersion version_ = MatVersion::kV5;
  std::vector<std::string> names_;
  std::map<std::string, MatVarInfo> info_;  // by name, including "struct.field"
  std::unique_ptr<Impl> impl_;
};

// Shape checks with messages "<file>: variable '<name>' has dims AxB, expected CxD".
// A dimension of -1 matches anything.
template <typename T>
Status ExpectDims(const MatArray<T>& a, const std::string& file, const std::string& name,
                  const std::vector<long>& expected);
// A vector of `n` values stored as 1xn or nx1 (n < 0: any length).
template <typename T>
Status ExpectVector(const MatArray<T>& a, const std::string& file, const std::string& name,
                    long n);
// DataLoss naming the first NaN/Inf (its index) when one exists.
template <typename T>
Status ExpectFinite(const MatArray<T>& a, const std::string& file, const std::string& name);
// 1-based indices: every value in 1..max (else OutOfRange naming the first offender), returned
// 0-based. `strictly_increasing` additionally requires a[i] < a[i+1].
StatusOr<std::vector<int>> ToZeroBased(const MatArray<int32_t>& a, const std::string& file,
                                       const std::string& name, int max,
                                       bool strictly_increasing = false);

// One variable to write. Numbers are given as double (`values`) or float (`fvalues`, for big
// single arrays), column-major, and written with storage type `storage` (default: the class's
// own type; e.g. class kDouble with storage kUint16 is how MATLAB stores small integers).
// A non-empty `fields` list makes a 1x1 struct (values and dims are then unused).
struct MatVar {
  std::string name;
  MatClass cls = MatClass::kDouble;
  MatClass storage = MatClass::kUnknown;
  std::vector<size_t> dims;
  std::vector<double> values;
  std::vector<float> fvalues;
  const float* borrowed = nullptr;  // or: float data owned by the caller (numel values)
  std::vector<MatVar> fields;
};

// matio set-up shared by the reader and the writer: routes matio's log into the last-message
// slot (never stderr) and silences HDF5 (v7.3). MatioReason() is " (matio: <last message>)"
// or empty, for appending to error messages.
void InitMatio();
std::string MatioReason();

// Writes `vars` to `path` atomically. v5 with or without per-variable zlib compression, or
// v7.3 (HDF5). Narrow storage types are honoured in v5; v7.3 stores the class's own type.
Status WriteMatFile(const std::string& path, const std::vector<MatVar>& vars,
                    const MatWriteOptions& options);

}  // namespace morphfit::models::mat

#endif  // MORPHFIT_MODELS_MAT_FILE_H_
