// File helpers: atomic writes (write a temporary file in the same directory, fsync, rename) so a
// crash or a full disk never leaves a half-written output under its final name, plus small
// read/exists/mkdir helpers. Errors name the path and the system's reason (strerror).
#ifndef MORPHFIT_CORE_FILE_UTIL_H_
#define MORPHFIT_CORE_FILE_UTIL_H_

#include <string>
#include <string_view>

#include "morphfit/core/status.h"

namespace morphfit {

// Writes `contents` to `path` atomically: to `path + ".tmp.<pid>.<counter>"`, fsync, then
// rename over `path` (replacing an existing file). On failure the temporary file is removed
// and `path` is untouched. The directory must exist (NotFound otherwise). Thread-safe.
Status WriteFileAtomically(const std::string& path, std::string_view contents);

// For libraries that must write a file themselves (HDF5, OpenCV VideoWriter, ...): let them
// write `temp_path()`, then Commit() to fsync it and rename it to `path()`. If the object is
// destroyed without a successful Commit(), the temporary file is deleted and `path()` is
// untouched. Movable, not copyable. Not thread-safe (one owner).
class AtomicFile {
 public:
  // Chooses the temporary name `path + ".tmp.<pid>.<counter>"`; creates nothing on disk.
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(AtomicFile&& other) noexcept;
  AtomicFile& operator=(AtomicFile&& other) noexcept;
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // The final destination.
  const std::string& path() const { return path_; }
  // Where the writer should write; in the same directory as path().
  const std::string& temp_path() const { return temp_path_; }
  bool committed() const { return committed_; }

  // fsyncs temp_path() and renames it to path(). Errors: NotFound if nothing was written to
  // temp_path(); FailedPrecondition if already committed; the rename/fsync error otherwise
  // (then the temporary file is removed on destruction).
  Status Commit();

 private:
  void RemoveTemp();

  std::string path_;
  std::string temp_path_;
  bool committed_ = false;
};

// Reads a whole file. NotFound if missing; InvalidArgument if it is a directory; the read
// error otherwise.
StatusOr<std::string> ReadFileToString(const std::string& path);

// Creates `path` and any missing parents (like `mkdir -p`); OK if it already is a directory.
// Error if some component exists and is not a directory, or on permission errors.
Status MakeDirectories(const std::string& path);

// A Status for a failed system call: "what: strerror(error_number)", with a code a caller can
// act on (ENOENT/ENOTDIR -> NotFound, EACCES/EPERM/EROFS/EEXIST/EISDIR -> FailedPrecondition,
// ENOSPC/EDQUOT -> Unavailable, others -> Internal). `what` should name the path.
Status ErrnoError(int error_number, const std::string& what);

// True if `path` names an existing file, directory or other entry (symlinks are followed).
bool FileExists(const std::string& path);

}  // namespace morphfit

#endif  // MORPHFIT_CORE_FILE_UTIL_H_
