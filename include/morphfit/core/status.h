// Status and StatusOr<T>: how morphfit reports errors a user can cause (missing file, wrong
// variable or shape, corrupt data, no face found, CUDA asked for but absent). Programmer
// errors are CHECKs instead. Messages name the file, the variable, what was expected and what
// was found; library code never prints or exits.
#ifndef MORPHFIT_CORE_STATUS_H_
#define MORPHFIT_CORE_STATUS_H_

#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <utility>

namespace morphfit {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,   // bad flag value, bad shape, bad option
  kNotFound,          // missing file, variable, dataset
  kDataLoss,          // truncated or corrupt file, NaN/Inf in data
  kFailedPrecondition,// e.g. CUDA requested but no device
  kOutOfRange,        // index out of range
  kUnavailable,       // resource (device, detector model) not available
  kInternal,          // library failure (HDF5, matio, CUDA runtime)
  kAborted,           // no face found, solver gave up, cancelled
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message)
      : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "NOT_FOUND: cannot open 'x.h5': No such file" (or "OK").
  std::string ToString() const;
  // Returns a copy whose message is "context: message" (for adding the file name or stage).
  Status WithContext(const std::string& context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status OkStatus() { return Status(); }
inline Status InvalidArgumentError(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFoundError(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status DataLossError(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
inline Status FailedPreconditionError(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
inline Status OutOfRangeError(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
inline Status UnavailableError(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status InternalError(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status AbortedError(std::string m) { return {StatusCode::kAborted, std::move(m)}; }

std::ostream& operator<<(std::ostream& os, const Status& status);

// Either a value or a non-OK Status. Accessing the value of an error aborts with the message
// (a programmer error: check ok() first).
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(const Status& status) : status_(status) {  // NOLINT: implicit by design
    if (status_.ok()) status_ = InternalError("StatusOr constructed from an OK Status without a value");
  }
  StatusOr(const T& value) : value_(value) {}        // NOLINT
  StatusOr(T&& value) : value_(std::move(value)) {}  // NOLINT

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

  const T& value() const& { CheckOk(); return *value_; }
  T& value() & { CheckOk(); return *value_; }
  T&& value() && { CheckOk(); return std::move(*value_); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

 private:
  void CheckOk() const {
    if (!status_.ok()) {
      std::cerr << "StatusOr::value() on an error: " << status_.ToString() << std::endl;
      std::abort();
    }
  }
  Status status_;
  std::optional<T> value_;
};

}  // namespace morphfit

#define MORPHFIT_STATUS_CONCAT_INNER_(a, b) a##b
#define MORPHFIT_STATUS_CONCAT_(a, b) MORPHFIT_STATUS_CONCAT_INNER_(a, b)

// Returns the Status from the enclosing function if `expr` is not OK.
#define MORPHFIT_RETURN_IF_ERROR(expr)                  \
  do {                                                  \
    ::morphfit::Status _morphfit_status = (expr);       \
    if (!_morphfit_status.ok()) return _morphfit_status;\
  } while (0)

// `MORPHFIT_ASSIGN_OR_RETURN(auto x, Foo());` declares x from a StatusOr or returns its error.
#define MORPHFIT_ASSIGN_OR_RETURN(lhs, expr) \
  MORPHFIT_ASSIGN_OR_RETURN_IMPL_(MORPHFIT_STATUS_CONCAT_(_morphfit_or_, __LINE__), lhs, expr)
#define MORPHFIT_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                    \
  if (!tmp.ok()) return tmp.status();                   \
  lhs = std::move(tmp).value()

#endif  // MORPHFIT_CORE_STATUS_H_
