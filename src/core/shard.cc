// Shard parsing and the resume ledger.
#include "morphfit/core/shard.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "morphfit/core/file_util.h"

namespace morphfit {
namespace {

std::string_view Trim(std::string_view text) {
  const char* kSpace = " \t\r\n";
  const size_t first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  const size_t last = text.find_last_not_of(kSpace);
  return text.substr(first, last - first + 1);
}

// Parses a non-negative decimal integer that fits in an int; false otherwise.
bool ParseNonNegativeInt(std::string_view text, int* value) {
  if (text.empty() || text.size() > 9) return false;  // 9 digits always fit in an int
  int result = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    result = result * 10 + (c - '0');
  }
  *value = result;
  return true;
}

constexpr char kShardForm[] =
    "expected 'K/N' with K the 0-based shard index and N the shard count, e.g. '0/4' "
    "(Slurm: --array=0-(N-1) and --shard ${SLURM_ARRAY_TASK_ID}/N)";

}  // namespace

bool Shard::Contains(int64_t item) const { return item >= 0 && item % count == index; }

std::string Shard::ToString() const { return std::to_string(index) + "/" + std::to_string(count); }

StatusOr<Shard> ParseShard(std::string_view text) {
  const std::string quoted = "shard '" + std::string(text) + "'";
  const std::string_view trimmed = Trim(text);
  const size_t slash = trimmed.find('/');
  if (slash == std::string_view::npos) {
    return InvalidArgumentError(quoted + ": " + kShardForm);
  }
  const std::string_view index_text = Trim(trimmed.substr(0, slash));
  const std::string_view count_text = Trim(trimmed.substr(slash + 1));
  Shard shard;
  if (!ParseNonNegativeInt(index_text, &shard.index)) {
    return InvalidArgumentError(quoted + ": index '" + std::string(index_text) +
                                "' is not a non-negative integer; " + kShardForm);
  }
  if (!ParseNonNegativeInt(count_text, &shard.count)) {
    return InvalidArgumentError(quoted + ": count '" + std::string(count_text) +
                                "' is not a non-negative integer; " + kShardForm);
  }
  if (shard.count < 1) {
    return InvalidArgumentError(quoted + ": count must be at least 1, found " +
                                std::to_string(shard.count));
  }
  if (shard.index >= shard.count) {
    return InvalidArgumentError(quoted + ": index must be in [0, " + std::to_string(shard.count) +
                                ") because it is 0-based, found " + std::to_string(shard.index) +
                                " (Slurm: --array=0-" + std::to_string(shard.count - 1) + ")");
  }
  return shard;
}

ResumeLedger::ResumeLedger(std::unique_ptr<State> state) : state_(std::move(state)) {}
ResumeLedger::ResumeLedger(ResumeLedger&&) noexcept = default;
ResumeLedger& ResumeLedger::operator=(ResumeLedger&& other) noexcept {
  if (this != &other) {
    if (state_ && state_->fd >= 0) ::close(state_->fd);
    state_ = std::move(other.state_);
  }
  return *this;
}

ResumeLedger::~ResumeLedger() {
  if (state_ && state_->fd >= 0) ::close(state_->fd);
}

StatusOr<ResumeLedger> ResumeLedger::Open(const std::string& path) {
  auto state = std::make_unique<State>();
  state->path = path;
  state->fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (state->fd < 0) return ErrnoError(errno, "cannot open resume ledger '" + path + "'");
  // From here on the ledger owns the descriptor, so early returns close it.
  ResumeLedger ledger(std::move(state));
  State& s = *ledger.state_;

  MORPHFIT_ASSIGN_OR_RETURN(const std::string contents, ReadFileToString(path));
  size_t complete = contents.size();
  if (!contents.empty() && contents.back() != '\n') {
    const size_t last_newline = contents.rfind('\n');
    complete = last_newline == std::string::npos ? 0 : last_newline + 1;
    if (::ftruncate(s.fd, static_cast<off_t>(complete)) != 0) {
      return ErrnoError(errno,
                        "cannot drop the truncated last line of resume ledger '" + path + "'");
    }
  }

  size_t line_start = 0;
  int line_number = 0;
  while (line_start < complete) {
    const size_t line_end = contents.find('\n', line_start);
    std::string_view line(contents.data() + line_start, line_end - line_start);
    line_start = line_end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    const size_t tab1 = line.find('\t');
    const size_t tab2 = tab1 == std::string_view::npos ? tab1 : line.find('\t', tab1 + 1);
    const std::string_view result = tab2 == std::string_view::npos
                                        ? std::string_view()
                                        : line.substr(tab1 + 1, tab2 - tab1 - 1);
    if (tab1 == 0 || tab2 == std::string_view::npos || (result != "ok" && result != "failed")) {
      return DataLossError("resume ledger '" + path + "' line " + std::to_string(line_number) +
                           ": expected 'id<TAB>ok|failed<TAB>message', found '" +
                           std::string(line) + "'");
    }
    Entry& entry = s.entries[std::string(line.substr(0, tab1))];
    entry.ok = result == "ok";
    entry.message = std::string(line.substr(tab2 + 1));
  }
  return ledger;
}

const std::string& ResumeLedger::path() const { return state_->path; }

bool ResumeLedger::IsDone(const std::string& id) const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  const auto it = state_->entries.find(id);
  return it != state_->entries.end() && it->second.ok;
}

Status ResumeLedger::Record(const std::string& id, bool ok, const std::string& message) {
  if (id.empty() || id.find_first_of("\t\r\n") != std::string::npos) {
    return InvalidArgumentError("resume ledger '" + state_->path + "': item id '" + id +
                                "' must be non-empty and contain no tab or line break");
  }
  std::string clean_message = message;
  for (char& c : clean_message) {
    if (c == '\t' || c == '\r' || c == '\n') c = ' ';
  }
  const std::string line = id + "\t" + (ok ? "ok" : "failed") + "\t" + clean_message + "\n";

  std::lock_guard<std::mutex> lock(state_->mutex);
  // One write(2) per line on an O_APPEND descriptor keeps lines whole; loop only for the rare
  // short write.
  size_t offset = 0;
  while (offset < line.size()) {
    const ssize_t written = ::write(state_->fd, line.data() + offset, line.size() - offset);
    if (written < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, "cannot append to resume ledger '" + state_->path + "'");
    }
    offset += static_cast<size_t>(written);
  }
  Entry& entry = state_->entries[id];
  entry.ok = ok;
  entry.message = std::move(clean_message);
  return OkStatus();
}

std::vector<std::string> ResumeLedger::failed() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  std::vector<std::string> ids;
  for (const auto& [id, entry] : state_->entries) {
    if (!entry.ok) ids.push_back(id);
  }
  return ids;
}

int64_t ResumeLedger::num_ok() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  int64_t count = 0;
  for (const auto& [id, entry] : state_->entries) count += entry.ok ? 1 : 0;
  return count;
}

int64_t ResumeLedger::num_failed() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  int64_t count = 0;
  for (const auto& [id, entry] : state_->entries) count += entry.ok ? 0 : 1;
  return count;
}

std::string ResumeLedger::message(const std::string& id) const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  const auto it = state_->entries.find(id);
  return it == state_->entries.end() ? std::string() : it->second.message;
}

}  // namespace morphfit
