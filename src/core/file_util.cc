// File helpers over POSIX calls (open/write/fsync/rename) so every error carries errno.
#include "morphfit/core/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

namespace morphfit {
namespace {

std::string TempPathFor(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  return path + ".tmp." + std::to_string(static_cast<long long>(::getpid())) + "." +
         std::to_string(counter.fetch_add(1));
}

// Directory of `path` for fsync after a rename ("." for a bare file name).
std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Makes a completed rename durable. Best effort: some file systems refuse fsync on a
// directory, and the rename itself has already succeeded.
void SyncDirectory(const std::string& path) {
  const int fd = ::open(DirectoryOf(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

Status WriteAll(int fd, std::string_view contents, const std::string& path) {
  const char* data = contents.data();
  size_t left = contents.size();
  while (left > 0) {
    const ssize_t written = ::write(fd, data, left);
    if (written < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, "cannot write '" + path + "'");
    }
    data += written;
    left -= static_cast<size_t>(written);
  }
  return OkStatus();
}

Status SyncFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(errno, "cannot open '" + path + "' to sync it");
  if (::fsync(fd) != 0) {
    const int error = errno;
    ::close(fd);
    return ErrnoError(error, "cannot fsync '" + path + "'");
  }
  ::close(fd);
  return OkStatus();
}

Status RenameFile(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return ErrnoError(errno, "cannot rename '" + from + "' to '" + to + "'");
  }
  SyncDirectory(to);
  return OkStatus();
}

}  // namespace

Status ErrnoError(int error_number, const std::string& what) {
  std::string message = what + ": " + std::strerror(error_number);
  switch (error_number) {
    case ENOENT:
    case ENOTDIR:
      return NotFoundError(std::move(message));
    case EACCES:
    case EPERM:
    case EROFS:
    case EEXIST:
    case EISDIR:
      return FailedPreconditionError(std::move(message));
    case ENOSPC:
    case EDQUOT:
      return UnavailableError(std::move(message));
    default:
      return InternalError(std::move(message));
  }
}

Status WriteFileAtomically(const std::string& path, std::string_view contents) {
  const std::string temp_path = TempPathFor(path);
  const int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    return ErrnoError(errno, "cannot create '" + temp_path + "' (to write '" + path + "')");
  }
  Status status = WriteAll(fd, contents, temp_path);
  if (status.ok() && ::fsync(fd) != 0) {
    status = ErrnoError(errno, "cannot fsync '" + temp_path + "'");
  }
  if (::close(fd) != 0 && status.ok()) {
    status = ErrnoError(errno, "cannot close '" + temp_path + "'");
  }
  if (status.ok()) status = RenameFile(temp_path, path);
  if (!status.ok()) ::unlink(temp_path.c_str());
  return status;
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)), temp_path_(TempPathFor(path_)) {}

AtomicFile::~AtomicFile() { RemoveTemp(); }

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : path_(std::move(other.path_)),
      temp_path_(std::move(other.temp_path_)),
      committed_(other.committed_) {
  // The moved-from object must not delete the file it no longer owns.
  other.committed_ = true;
}

AtomicFile& AtomicFile::operator=(AtomicFile&& other) noexcept {
  if (this != &other) {
    RemoveTemp();
    path_ = std::move(other.path_);
    temp_path_ = std::move(other.temp_path_);
    committed_ = other.committed_;
    other.committed_ = true;
  }
  return *this;
}

void AtomicFile::RemoveTemp() {
  if (!committed_ && !temp_path_.empty()) ::unlink(temp_path_.c_str());
}

Status AtomicFile::Commit() {
  if (committed_) {
    return FailedPreconditionError("AtomicFile for '" + path_ + "' is already committed");
  }
  struct stat info;
  if (::stat(temp_path_.c_str(), &info) != 0) {
    return ErrnoError(errno, "nothing was written to the temporary file '" + temp_path_ +
                                 "' for '" + path_ + "'");
  }
  MORPHFIT_RETURN_IF_ERROR(SyncFile(temp_path_));
  MORPHFIT_RETURN_IF_ERROR(RenameFile(temp_path_, path_));
  committed_ = true;
  return OkStatus();
}

StatusOr<std::string> ReadFileToString(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(errno, "cannot open '" + path + "'");
  struct stat info;
  if (::fstat(fd, &info) == 0 && S_ISDIR(info.st_mode)) {
    ::close(fd);
    return InvalidArgumentError("cannot read '" + path + "': is a directory");
  }
  std::string contents;
  if (::fstat(fd, &info) == 0 && info.st_size > 0) {
    contents.reserve(static_cast<size_t>(info.st_size));
  }
  char buffer[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      ::close(fd);
      return ErrnoError(error, "cannot read '" + path + "'");
    }
    if (n == 0) break;
    contents.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return contents;
}

Status MakeDirectories(const std::string& path) {
  if (path.empty()) return InvalidArgumentError("cannot create a directory with an empty path");
  std::error_code error;
  std::filesystem::create_directories(path, error);
  if (error) {
    return ErrnoError(error.value(), "cannot create directory '" + path + "'");
  }
  // create_directories reports success for an existing non-directory on some versions.
  if (!std::filesystem::is_directory(path, error)) {
    return FailedPreconditionError("cannot create directory '" + path +
                                   "': a file with that name exists");
  }
  return OkStatus();
}

bool FileExists(const std::string& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0;
}

}  // namespace morphfit
