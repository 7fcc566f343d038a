// `morphfit merge`: joins the per-shard outputs of `morphfit fit --shard K/N` (in one output
// folder or several) into one fits.h5 and one summary.csv, checking that every shard is there.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gflags/gflags.h>

#include "commands.h"
#include "common_flags.h"
#include "fit_outputs.h"
#include "morphfit/core/face_params.h"
#include "morphfit/core/file_util.h"

DECLARE_string(fits);

namespace morphfit::app {
namespace {

int Fail(const std::string& message) {
  std::cerr << "morphfit merge: " << message << "\n";
  return 1;
}

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

}  // namespace

int RunMerge() {
  const std::vector<std::string> dirs = SplitComma(FLAGS_fits);
  if (dirs.empty()) return Fail("--fits is required: the output folder(s) of the shard runs");
  const std::string out_dir = FLAGS_output_dir.empty() ? dirs.front() : FLAGS_output_dir;
  const std::regex shard_name(R"(summary\.shard-(\d+)-of-(\d+)\.csv)");
  int count = 0;
  std::map<int, std::string> shard_dirs;  // shard index -> folder
  for (const std::string& dir : dirs) {
    std::error_code ec;
    std::filesystem::directory_iterator it(dir, ec), end;
    if (ec) return Fail("--fits '" + dir + "': " + ec.message());
    for (; it != end; it.increment(ec)) {
      std::smatch m;
      const std::string name = it->path().filename().string();
      if (!std::regex_match(name, m, shard_name)) continue;
      const int k = std::stoi(m[1]), n = std::stoi(m[2]);
      if (count != 0 && n != count) {
        return Fail("shard files of different splits: " + name + " beside shards of " +
                    std::to_string(count) + " (merge one split at a time)");
      }
      count = n;
      if (shard_dirs.count(k)) {
        return Fail("shard " + std::to_string(k) + " of " + std::to_string(n) + " appears in both '" +
                    shard_dirs[k] + "' and '" + dir + "'");
      }
      shard_dirs[k] = dir;
    }
  }
  if (count == 0) return Fail("no summary.shard-K-of-N.csv in " + FLAGS_fits);
  for (int k = 0; k < count; ++k) {
    if (!shard_dirs.count(k)) {
      return Fail("shard " + std::to_string(k) + " of " + std::to_string(count) +
                  " is missing (no summary.shard-" + std::to_string(k) + "-of-" +
                  std::to_string(count) + ".csv in " + FLAGS_fits + "); run it, then merge again");
    }
  }
  std::vector<FaceRecord> records;
  std::vector<std::string> ids;
  std::vector<FaceParams> rows;
  for (const auto& [k, dir] : shard_dirs) {
    const Shard shard{k, count};
    auto r = ReadSummaryCsv(dir + "/" + RunFileName("summary", "csv", shard));
    if (!r.ok()) return Fail(r.status().message());
    int with_params = 0;
    for (FaceRecord& f : *r) {
      with_params += f.has_params();
      records.push_back(std::move(f));
    }
    const std::string fits = dir + "/" + RunFileName("fits", "h5", shard);
    if (with_params == 0) continue;  // a shard where nothing was fitted writes no fits file
    auto table = ReadFaceParamsTable(fits);
    if (!table.ok()) return Fail(table.status().message());
    if (static_cast<int>(table->ids.size()) != with_params) {
      return Fail(fits + " holds " + std::to_string(table->ids.size()) + " rows but its summary lists " +
                  std::to_string(with_params) + " fitted faces (an interrupted shard? re-run it with --resume)");
    }
    for (size_t i = 0; i < table->ids.size(); ++i) {
      ids.push_back(table->ids[i]);
      rows.push_back(std::move(table->rows[i]));
    }
  }
  std::set<std::string> seen;
  for (const FaceRecord& r : records) {
    if (!seen.insert(r.id).second) return Fail("face id '" + r.id + "' appears in two shards");
  }
  std::sort(records.begin(), records.end(),
            [](const FaceRecord& a, const FaceRecord& b) { return a.id < b.id; });
  std::vector<size_t> order(ids.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ids[a] < ids[b]; });
  std::vector<std::string> sorted_ids;
  std::vector<FaceParams> sorted_rows;
  for (size_t i : order) {
    sorted_ids.push_back(ids[i]);
    sorted_rows.push_back(std::move(rows[i]));
  }
  if (Status s = MakeDirectories(out_dir); !s.ok()) return Fail(s.message());
  const Shard whole;
  const std::string summary = out_dir + "/" + RunFileName("summary", "csv", whole);
  const std::string fits = out_dir + "/" + RunFileName("fits", "h5", whole);
  if (Status s = WriteFileAtomically(summary, SummaryCsv(records)); !s.ok()) return Fail(s.message());
  if (!sorted_rows.empty()) {
    if (Status s = WriteFaceParamsTable(fits, sorted_ids, sorted_rows); !s.ok()) {
      return Fail(s.message());
    }
  }
  std::cout << "merged " << count << " shards: " << records.size() << " records, "
            << sorted_rows.size() << " fitted faces -> " << summary
            << (sorted_rows.empty() ? "" : " and " + fits) << "\n";
  return 0;
}

}  // namespace morphfit::app
