// Sharding and resuming for batch commands: `--shard K/N` picks every N-th item of a
// deterministically sorted list, and a ResumeLedger records finished items so a restarted job
// skips them.
#ifndef MORPHFIT_CORE_SHARD_H_
#define MORPHFIT_CORE_SHARD_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "morphfit/core/status.h"

namespace morphfit {

// Shard `index` of `count`; 0 <= index < count. The default {0, 1} is "everything".
// Items are assigned round-robin by their position in a deterministically sorted list (sort
// file names before sharding), so the N shards partition the list exactly and have sizes that
// differ by at most one.
struct Shard {
  int index = 0;
  int count = 1;

  // True if the item at position `item` (>= 0) of the sorted list belongs to this shard:
  // item % count == index. Negative positions belong to no shard.
  bool Contains(int64_t item) const;
  // "K/N", the form ParseShard accepts.
  std::string ToString() const;
};

// Parses "K/N" (surrounding spaces allowed) with K the 0-BASED shard index, 0 <= K < N, N >= 1.
// K is 0-based so that a Slurm job array `--array=0-(N-1)` passes `$SLURM_ARRAY_TASK_ID`
// unchanged: `--shard ${SLURM_ARRAY_TASK_ID}/N`. InvalidArgument, naming the text, for
// anything else ("1", "a/2", "-1/2", "1/0", "3/3").
StatusOr<Shard> ParseShard(std::string_view text);

// An append-only text file with one line per finished item:
//   id <TAB> ok|failed <TAB> message <LF>
// Open() loads existing entries (a later line for the same id overrides an earlier one, so a
// failed item that succeeds on a retry counts as done). A truncated last line - the process was
// killed mid-write - is dropped and cut from the file so appends start on a fresh line.
// Record() writes each line with one write(2) and no user-space buffering, so it survives the
// process being killed right after; it does not fsync (a power loss may lose the last lines,
// which only means redoing those items). Record() and the accessors are thread-safe. Movable.
// Use one ledger per shard: a ledger sees only the entries present when it was opened.
class ResumeLedger {
 public:
  // Opens or creates the ledger at `path` (its directory must exist). DataLoss, naming the
  // file and line, for a complete line that is not `id<TAB>ok|failed<TAB>message`.
  static StatusOr<ResumeLedger> Open(const std::string& path);

  ResumeLedger(ResumeLedger&&) noexcept;
  ResumeLedger& operator=(ResumeLedger&&) noexcept;
  ~ResumeLedger();

  const std::string& path() const;
  // True if the latest entry for `id` is ok.
  bool IsDone(const std::string& id) const;
  // Appends an entry. `id` must be non-empty and contain no tab, CR or LF (InvalidArgument);
  // tabs and line breaks in `message` are replaced by spaces.
  Status Record(const std::string& id, bool ok, const std::string& message = "");
  // Ids whose latest entry is failed, sorted.
  std::vector<std::string> failed() const;
  int64_t num_ok() const;
  int64_t num_failed() const;
  // The (sanitized) message of the latest entry for `id`; empty if there is none.
  std::string message(const std::string& id) const;

 private:
  struct Entry {
    bool ok = false;
    std::string message;
  };
  struct State {
    std::string path;
    int fd = -1;
    mutable std::mutex mutex;
    std::map<std::string, Entry> entries;
  };
  explicit ResumeLedger(std::unique_ptr<State> state);

  std::unique_ptr<State> state_;
};

}  // namespace morphfit

#endif  // MORPHFIT_CORE_SHARD_H_
