// File helpers: atomic writes leave either the old file or the complete new one, never a
// temporary or a partial file.
#include "morphfit/core/file_util.h"

#include <cerrno>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_dir.h"

namespace morphfit {
namespace {

void WriteRaw(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary);
  out << contents;
}

TEST(AtomicWriteTest, WritesAndReplacesWithoutLeavingTemporaries) {
  TestDir dir;
  const std::string path = dir.Path("out.txt");
  ASSERT_TRUE(WriteFileAtomically(path, "first").ok());
  EXPECT_EQ(ReadFileToString(path).value(), "first");
  ASSERT_TRUE(WriteFileAtomically(path, std::string("sec\0ond", 7)).ok());
  EXPECT_EQ(ReadFileToString(path).value(), std::string("sec\0ond", 7));
  ASSERT_TRUE(WriteFileAtomically(dir.Path("empty.txt"), "").ok());
  EXPECT_EQ(ReadFileToString(dir.Path("empty.txt")).value(), "");
  EXPECT_EQ(dir.List(), (std::vector<std::string>{"empty.txt", "out.txt"}));
}

TEST(AtomicWriteTest, LargeContentsRoundTrip) {
  TestDir dir;
  std::string big(3 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 % 251);
  ASSERT_TRUE(WriteFileAtomically(dir.Path("big.bin"), big).ok());
  EXPECT_EQ(ReadFileToString(dir.Path("big.bin")).value(), big);
}

TEST(AtomicWriteTest, MissingDirectoryFailsCleanly) {
  TestDir dir;
  const std::string path = dir.Path("no_such_dir/out.txt");
  const Status status = WriteFileAtomically(path, "data");
  EXPECT_EQ(status.code(), StatusCode::kNotFound) << status;
  EXPECT_NE(status.message().find(path), std::string::npos) << status;
  EXPECT_NE(status.message().find("No such file or directory"), std::string::npos) << status;
  EXPECT_FALSE(FileExists(path));
  EXPECT_TRUE(dir.List().empty());
}

TEST(AtomicWriteTest, FailedRenameKeepsOldFileAndRemovesTemporary) {
  TestDir dir;
  // Renaming a file over a non-empty directory fails after the temporary has been written.
  const std::string target = dir.Path("target");
  ASSERT_TRUE(MakeDirectories(target + "/child").ok());
  const Status status = WriteFileAtomically(target, "data");
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find(target), std::string::npos) << status;
  EXPECT_EQ(dir.List(), std::vector<std::string>{"target"});
}

TEST(AtomicFileTest, CommitRenamesTemporary) {
  TestDir dir;
  const std::string path = dir.Path("model.h5");
  AtomicFile file(path);
  EXPECT_EQ(file.path(), path);
  EXPECT_EQ(file.temp_path().rfind(path + ".tmp.", 0), 0u) << file.temp_path();
  EXPECT_NE(AtomicFile(path).temp_path(), file.temp_path());  // unique per object
  WriteRaw(file.temp_path(), "payload");
  EXPECT_FALSE(FileExists(path));
  ASSERT_TRUE(file.Commit().ok());
  EXPECT_TRUE(file.committed());
  EXPECT_EQ(ReadFileToString(path).value(), "payload");
  EXPECT_FALSE(FileExists(file.temp_path()));
  EXPECT_EQ(file.Commit().code(), StatusCode::kFailedPrecondition);
}

TEST(AtomicFileTest, UncommittedLeavesTargetUntouched) {
  TestDir dir;
  const std::string path = dir.Path("keep.txt");
  WriteRaw(path, "old");
  std::string temp_path;
  {
    AtomicFile file(path);
    temp_path = file.temp_path();
    WriteRaw(temp_path, "new but abandoned");
    EXPECT_TRUE(FileExists(temp_path));
  }
  EXPECT_FALSE(FileExists(temp_path));
  EXPECT_EQ(ReadFileToString(path).value(), "old");
  EXPECT_EQ(dir.List(), std::vector<std::string>{"keep.txt"});
}

TEST(AtomicFileTest, CommitWithoutWritingIsNotFound) {
  TestDir dir;
  AtomicFile file(dir.Path("never.txt"));
  const Status status = file.Commit();
  EXPECT_EQ(status.code(), StatusCode::kNotFound) << status;
  EXPECT_NE(status.message().find(file.temp_path()), std::string::npos) << status;
  EXPECT_FALSE(FileExists(dir.Path("never.txt")));
}

TEST(AtomicFileTest, MoveTransfersOwnership) {
  TestDir dir;
  const std::string path = dir.Path("moved.txt");
  AtomicFile outer(dir.Path("other.txt"));
  WriteRaw(outer.temp_path(), "discarded");
  {
    AtomicFile inner(path);
    WriteRaw(inner.temp_path(), "moved");
    outer = std::move(inner);  // deletes outer's old temporary
  }
  EXPECT_EQ(outer.path(), path);
  ASSERT_TRUE(FileExists(outer.temp_path()));  // the moved-from object did not delete it
  AtomicFile final_owner(std::move(outer));
  ASSERT_TRUE(final_owner.Commit().ok());
  EXPECT_EQ(ReadFileToString(path).value(), "moved");
  EXPECT_EQ(dir.List(), std::vector<std::string>{"moved.txt"});
}

TEST(ReadFileToStringTest, Errors) {
  TestDir dir;
  const StatusOr<std::string> missing = ReadFileToString(dir.Path("missing.txt"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("missing.txt"), std::string::npos);
  EXPECT_NE(missing.status().message().find("No such file"), std::string::npos);
  const StatusOr<std::string> directory = ReadFileToString(dir.path());
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(directory.status().message().find("directory"), std::string::npos);
}

TEST(MakeDirectoriesTest, CreatesNestedAndRejectsFiles) {
  TestDir dir;
  const std::string nested = dir.Path("a/b/c");
  ASSERT_TRUE(MakeDirectories(nested).ok());
  EXPECT_TRUE(FileExists(nested));
  EXPECT_TRUE(MakeDirectories(nested).ok());  // already there
  WriteRaw(dir.Path("file"), "x");
  const Status status = MakeDirectories(dir.Path("file/sub"));
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("file/sub"), std::string::npos) << status;
  EXPECT_FALSE(MakeDirectories(dir.Path("file")).ok());
  EXPECT_EQ(MakeDirectories("").code(), StatusCode::kInvalidArgument);
}

TEST(ErrnoErrorTest, MapsCodesAndNamesReason) {
  EXPECT_EQ(ErrnoError(ENOENT, "open 'x'").code(), StatusCode::kNotFound);
  EXPECT_EQ(ErrnoError(EACCES, "open 'x'").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrnoError(ENOSPC, "write 'x'").code(), StatusCode::kUnavailable);
  EXPECT_EQ(ErrnoError(EIO, "read 'x'").code(), StatusCode::kInternal);
  EXPECT_EQ(ErrnoError(ENOENT, "open 'x'").message(), "open 'x': No such file or directory");
}

TEST(FileExistsTest, FilesAndDirectories) {
  TestDir dir;
  EXPECT_TRUE(FileExists(dir.path()));
  EXPECT_FALSE(FileExists(dir.Path("nope")));
  WriteRaw(dir.Path("yes"), "");
  EXPECT_TRUE(FileExists(dir.Path("yes")));
}

}  // namespace
}  // namespace morphfit
