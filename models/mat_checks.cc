// Shape, finiteness and index checks on MAT arrays, shared by the MAT-era loaders.
#include "mat_file.h"

#include <matio.h>

#include <cmath>
#include <cstring>
#include <sstream>
#include <type_traits>

#include "morphfit/core/file_util.h"

namespace morphfit::models::mat {

// ---- checks ---------------------------------------------------------------------------------

template <typename T>
Status ExpectDims(const MatArray<T>& a, const std::string& file, const std::string& name,
                  const std::vector<long>& expected) {
  bool ok = a.dims.size() == expected.size();
  for (size_t i = 0; ok && i < expected.size(); ++i) {
    ok = expected[i] < 0 || static_cast<long>(a.dims[i]) == expected[i];
  }
  if (ok) return OkStatus();
  std::string want;
  for (size_t i = 0; i < expected.size(); ++i) {
    want += (i ? "x" : "") + (expected[i] < 0 ? std::string("any") : std::to_string(expected[i]));
  }
  MatVarInfo found;
  found.dims = a.dims;
  return InvalidArgumentError(file + ": variable '" + name + "' has dims " + found.DimsString() +
                              ", expected " + want);
}

template <typename T>
Status ExpectVector(const MatArray<T>& a, const std::string& file, const std::string& name,
                    long n) {
  const bool vec = a.dims.size() == 2 && (a.dims[0] == 1 || a.dims[1] == 1);
  if (vec && (n < 0 || static_cast<long>(a.size()) == n)) return OkStatus();
  MatVarInfo found;
  found.dims = a.dims;
  return InvalidArgumentError(file + ": variable '" + name + "' has dims " + found.DimsString() +
                              ", expected a vector of " +
                              (n < 0 ? std::string("values") : std::to_string(n) + " values") +
                              " (1x" + (n < 0 ? "n" : std::to_string(n)) + " or " +
                              (n < 0 ? "n" : std::to_string(n)) + "x1)");
}

template <typename T>
Status ExpectFinite(const MatArray<T>& a, const std::string& file, const std::string& name) {
  if constexpr (std::is_floating_point_v<T>) {
    for (size_t i = 0; i < a.size(); ++i) {
      if (!std::isfinite(a.data[i])) {
        std::ostringstream msg;
        msg << file << ": variable '" << name << "' element " << i << " is " << a.data[i]
            << ", expected a finite number";
        return DataLossError(msg.str());
      }
    }
  }
  return OkStatus();
}

template Status ExpectDims(const MatArray<float>&, const std::string&, const std::string&,
                           const std::vector<long>&);
template Status ExpectDims(const MatArray<double>&, const std::string&, const std::string&,
                           const std::vector<long>&);
template Status ExpectDims(const MatArray<int32_t>&, const std::string&, const std::string&,
                           const std::vector<long>&);
template Status ExpectVector(const MatArray<float>&, const std::string&, const std::string&, long);
template Status ExpectVector(const MatArray<double>&, const std::string&, const std::string&, long);
template Status ExpectVector(const MatArray<int32_t>&, const std::string&, const std::string&, long);
template Status ExpectFinite(const MatArray<float>&, const std::string&, const std::string&);
template Status ExpectFinite(const MatArray<double>&, const std::string&, const std::string&);

StatusOr<std::vector<int>> ToZeroBased(const MatArray<int32_t>& a, const std::string& file,
                                       const std::string& name, int max,
                                       bool strictly_increasing) {
  std::vector<int> out(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    const int v = a.data[i];
    if (v < 1 || v > max) {
      return OutOfRangeError(file + ": variable '" + name + "' element " + std::to_string(i) +
                             " is " + std::to_string(v) + ", expected a 1-based index in 1.." +
                             std::to_string(max));
    }
    if (strictly_increasing && i > 0 && v <= a.data[i - 1]) {
      return InvalidArgumentError(file + ": variable '" + name + "' element " +
                                  std::to_string(i) + " is " + std::to_string(v) +
                                  ", expected strictly increasing indices (previous " +
                                  std::to_string(a.data[i - 1]) + ")");
    }
    out[i] = v - 1;
  }
  return out;
}

}  // namespace morphfit::models::mat
