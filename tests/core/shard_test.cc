// Shards: parsing "K/N" (0-based K), exact partition of a range; ResumeLedger round trips and
// tolerance of an interrupted last line.
#include "morphfit/core/shard.h"

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "morphfit/core/file_util.h"
#include "test_dir.h"

namespace morphfit {
namespace {

TEST(ParseShardTest, AcceptsValidShards) {
  const StatusOr<Shard> first = ParseShard("0/4");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->index, 0);
  EXPECT_EQ(first->count, 4);
  const StatusOr<Shard> last = ParseShard(" 3/4 ");
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_EQ(last->index, 3);
  EXPECT_EQ(last->ToString(), "3/4");
  const StatusOr<Shard> only = ParseShard("0/1");
  ASSERT_TRUE(only.ok());
  EXPECT_EQ(only->ToString(), Shard().ToString());
  EXPECT_EQ(ParseShard("999/1000")->index, 999);
}

TEST(ParseShardTest, RejectsInvalidShardsWithClearMessages) {
  struct Case {
    const char* text;
    const char* expected_fragment;
  };
  const Case cases[] = {
      {"3/3", "0-based"},
      {"3/3", "found 3"},
      {"3/3", "--array=0-2"},
      {"a/2", "index 'a'"},
      {"1", "expected 'K/N'"},
      {"-1/2", "index '-1'"},
      {"1/0", "count must be at least 1, found 0"},
      {"1/b", "count 'b'"},
      {"", "expected 'K/N'"},
      {"1/2/3", "count '2/3'"},
      {"99999999999/100", "index '99999999999'"},
  };
  for (const Case& c : cases) {
    const StatusOr<Shard> shard = ParseShard(c.text);
    ASSERT_FALSE(shard.ok()) << c.text;
    EXPECT_EQ(shard.status().code(), StatusCode::kInvalidArgument) << c.text;
    EXPECT_NE(shard.status().message().find(c.expected_fragment), std::string::npos)
        << c.text << ": " << shard.status();
    EXPECT_NE(shard.status().message().find("'" + std::string(c.text) + "'"), std::string::npos)
        << "message must quote the input: " << shard.status();
  }
}

TEST(ShardTest, ShardsPartitionARangeExactly) {
  for (int count : {1, 2, 3, 7}) {
    constexpr int64_t kItems = 100;
    std::vector<int> owners(kItems, 0);
    std::vector<int64_t> sizes;
    for (int index = 0; index < count; ++index) {
      const Shard shard{index, count};
      int64_t size = 0;
      for (int64_t item = 0; item < kItems; ++item) {
        if (shard.Contains(item)) {
          owners[static_cast<size_t>(item)]++;
          ++size;
        }
      }
      sizes.push_back(size);
    }
    for (int64_t item = 0; item < kItems; ++item) {
      EXPECT_EQ(owners[static_cast<size_t>(item)], 1) << "item " << item << ", " << count;
    }
    const auto [smallest, largest] = std::minmax_element(sizes.begin(), sizes.end());
    EXPECT_LE(*largest - *smallest, 1) << count << " shards";
  }
  EXPECT_TRUE((Shard{1, 3}.Contains(4)));
  EXPECT_FALSE((Shard{1, 3}.Contains(5)));
  EXPECT_FALSE((Shard{0, 3}.Contains(-3)));
}

std::string ReadAll(const std::string& path) { return ReadFileToString(path).value(); }

TEST(ResumeLedgerTest, RoundTrip) {
  TestDir dir;
  const std::string path = dir.Path("done.tsv");
  {
    StatusOr<ResumeLedger> ledger = ResumeLedger::Open(path);
    ASSERT_TRUE(ledger.ok()) << ledger.status();
    EXPECT_EQ(ledger->path(), path);
    EXPECT_EQ(ledger->num_ok(), 0);
    ASSERT_TRUE(ledger->Record("img_001.jpg", true).ok());
    ASSERT_TRUE(ledger->Record("img_002.jpg", false, "no face\tfound\nat all").ok());
    ASSERT_TRUE(ledger->Record("img_003.jpg", true, "ok after 3 iterations").ok());
    EXPECT_TRUE(ledger->IsDone("img_001.jpg"));
    EXPECT_FALSE(ledger->IsDone("img_002.jpg"));
    EXPECT_FALSE(ledger->IsDone("img_004.jpg"));
  }
  EXPECT_EQ(ReadAll(path),
            "img_001.jpg\tok\t\n"
            "img_002.jpg\tfailed\tno face found at all\n"
            "img_003.jpg\tok\tok after 3 iterations\n");
  StatusOr<ResumeLedger> reopened = ResumeLedger::Open(path);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_TRUE(reopened->IsDone("img_001.jpg"));
  EXPECT_TRUE(reopened->IsDone("img_003.jpg"));
  EXPECT_FALSE(reopened->IsDone("img_002.jpg"));
  EXPECT_EQ(reopened->num_ok(), 2);
  EXPECT_EQ(reopened->num_failed(), 1);
  EXPECT_EQ(reopened->failed(), std::vector<std::string>{"img_002.jpg"});
  EXPECT_EQ(reopened->message("img_002.jpg"), "no face found at all");
  EXPECT_EQ(reopened->message("unknown"), "");
  // A retry that succeeds overrides the failure, in memory and after reopening.
  ASSERT_TRUE(reopened->Record("img_002.jpg", true).ok());
  EXPECT_TRUE(reopened->IsDone("img_002.jpg"));
  EXPECT_TRUE(reopened->failed().empty());
  StatusOr<ResumeLedger> third = ResumeLedger::Open(path);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->num_ok(), 3);
  EXPECT_EQ(third->num_failed(), 0);
}

TEST(ResumeLedgerTest, TruncatedLastLineIsDroppedAndAppendsStayClean) {
  TestDir dir;
  const std::string path = dir.Path("done.tsv");
  {
    std::ofstream out(path, std::ios::binary);
    out << "a\tok\t\r\n\nb\tfailed\tboom\nc\to";  // CRLF, a blank line, then a cut-off line
  }
  StatusOr<ResumeLedger> ledger = ResumeLedger::Open(path);
  ASSERT_TRUE(ledger.ok()) << ledger.status();
  EXPECT_TRUE(ledger->IsDone("a"));
  EXPECT_FALSE(ledger->IsDone("b"));
  EXPECT_FALSE(ledger->IsDone("c"));
  EXPECT_EQ(ledger->num_ok() + ledger->num_failed(), 2);
  ASSERT_TRUE(ledger->Record("c", true).ok());
  EXPECT_EQ(ReadAll(path), "a\tok\t\r\n\nb\tfailed\tboom\nc\tok\t\n");
  StatusOr<ResumeLedger> reopened = ResumeLedger::Open(path);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_TRUE(reopened->IsDone("c"));
}

TEST(ResumeLedgerTest, OnlyPartialLineIsDropped) {
  TestDir dir;
  const std::string path = dir.Path("done.tsv");
  { std::ofstream(path, std::ios::binary) << "half-writ"; }
  StatusOr<ResumeLedger> ledger = ResumeLedger::Open(path);
  ASSERT_TRUE(ledger.ok()) << ledger.status();
  EXPECT_EQ(ledger->num_ok() + ledger->num_failed(), 0);
  EXPECT_EQ(ReadAll(path), "");
}

TEST(ResumeLedgerTest, CorruptCompleteLineIsDataLoss) {
  TestDir dir;
  const std::string path = dir.Path("done.tsv");
  { std::ofstream(path, std::ios::binary) << "a\tok\t\nb\tmaybe\tx\n"; }
  StatusOr<ResumeLedger> ledger = ResumeLedger::Open(path);
  ASSERT_FALSE(ledger.ok());
  EXPECT_EQ(ledger.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(ledger.status().message().find("done.tsv' line 2"), std::string::npos)
      << ledger.status();
  EXPECT_NE(ledger.status().message().find("b\tmaybe\tx"), std::string::npos);
}

TEST(ResumeLedgerTest, RejectsBadIdsAndMissingDirectory) {
  TestDir dir;
  StatusOr<ResumeLedger> ledger = ResumeLedger::Open(dir.Path("done.tsv"));
  ASSERT_TRUE(ledger.ok());
  EXPECT_EQ(ledger->Record("", true).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ledger->Record("a\tb", true).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ledger->Record("a\nb", true).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadAll(dir.Path("done.tsv")), "");
  StatusOr<ResumeLedger> missing = ResumeLedger::Open(dir.Path("no/done.tsv"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("no/done.tsv"), std::string::npos);
}

TEST(ResumeLedgerTest, ConcurrentRecordsKeepLinesWhole) {
  TestDir dir;
  const std::string path = dir.Path("done.tsv");
  {
    StatusOr<ResumeLedger> ledger = ResumeLedger::Open(path);
    ASSERT_TRUE(ledger.ok());
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&ledger, t] {
        for (int i = 0; i < 250; ++i) {
          const std::string id = "item_" + std::to_string(t) + "_" + std::to_string(i);
          EXPECT_TRUE(ledger->Record(id, i % 5 != 0, std::string(40, 'x')).ok());
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
  }
  StatusOr<ResumeLedger> reopened = ResumeLedger::Open(path);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ(reopened->num_ok(), 800);
  EXPECT_EQ(reopened->num_failed(), 200);
}

}  // namespace
}  // namespace morphfit
