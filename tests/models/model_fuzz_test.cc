// Fuzz-style robustness: truncated and bit-flipped copies of valid files of every model format
// (.mat v5 uncompressed / compressed, v7.3, Exp_Pca.bin, Model_Expression.mat, Deep3D front
// .mat, .h5) go to their loader and to LoadModel, each in a forked child with a time limit.
// Each copy must load identically or be rejected with an error naming the file; a copy that
// loads differently (a flipped bit in data no checksum covers) must not gain zero-filled data;
// no copy may crash or hang. Deterministic seeds.
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <functional>
#include <random>

#include <gtest/gtest.h>

#include "../core/test_dir.h"
#include "mat_fixture.h"

namespace morphfit::models {
namespace {

constexpr int kTruncations = 20;   // per file
constexpr int kBitFlips = 60;      // per file
constexpr int kTimeLimitMs = 10000;

struct Digest {
  std::string error;   // empty when loaded
  std::string exception;  // a C++ exception escaped the loader (a bug: loaders return Status)
  uint64_t hash = 0;
  long zeros = 0;      // exact zeros among the loaded floats
};

void Mix(uint64_t* h, const void* data, size_t n, long* zeros, bool floats) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) *h = (*h ^ p[i]) * 1099511628211ull;
  if (floats) {
    const float* f = static_cast<const float*>(data);
    for (size_t i = 0; i < n / 4; ++i) *zeros += f[i] == 0.0f;
  }
}

Digest DigestOf(const StatusOr<MorphableModel>& m) {
  Digest d;
  if (!m.ok()) {
    d.error = m.status().ToString();
    return d;
  }
  d.hash = 1469598103934665603ull;
  auto add = [&](const auto& v, bool floats) {
    Mix(&d.hash, v.data(), v.size() * sizeof(*v.data()), &d.zeros, floats);
  };
  add(m->shape_mean, true);
  add(m->identity.basis, true);
  add(m->identity.stddev, true);
  add(m->expression.basis, true);
  add(m->albedo_mean, true);
  add(m->albedo.basis, true);
  add(m->triangles, false);
  add(m->landmarks, false);
  add(m->face_mask, false);
  add(m->skin_mask, false);
  return d;
}

Digest DigestOf(const StatusOr<ExpressionBasis>& e) {
  Digest d;
  if (!e.ok()) {
    d.error = e.status().ToString();
    return d;
  }
  d.hash = 1469598103934665603ull;
  Mix(&d.hash, e->mean.data(), 4 * e->mean.size(), &d.zeros, true);
  Mix(&d.hash, e->basis.basis.data(), 4 * e->basis.basis.size(), &d.zeros, true);
  return d;
}

// Runs `load` in a child process; fails the test on a crash or a hang.
Digest RunIsolated(const std::function<Digest()>& load, const std::string& label) {
  int fds[2];
  if (pipe(fds) != 0) {
    ADD_FAILURE() << "pipe failed";
    return {};
  }
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    std::string msg;
    try {
      const Digest d = load();
      msg = d.error.empty() ? "OK " + std::to_string(d.hash) + " " + std::to_string(d.zeros)
                            : "ER " + d.error;
    } catch (const std::exception& e) {
      msg = std::string("EX ") + e.what();
    }
    size_t off = 0;
    while (off < msg.size()) {
      const ssize_t w = write(fds[1], msg.data() + off, msg.size() - off);
      if (w <= 0) break;
      off += static_cast<size_t>(w);
    }
    _exit(0);
  }
  close(fds[1]);
  std::string out;
  char buf[4096];
  pollfd p{fds[0], POLLIN, 0};
  bool hung = false;
  for (;;) {
    const int r = poll(&p, 1, kTimeLimitMs);
    if (r == 0) {
      hung = true;
      kill(pid, SIGKILL);
      break;
    }
    const ssize_t n = read(fds[0], buf, sizeof(buf));
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_FALSE(hung) << label << ": loader did not finish within " << kTimeLimitMs << " ms";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << label << ": loader crashed (signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0) << ")";
  Digest d;
  if (out.compare(0, 3, "OK ") == 0) {
    std::istringstream in(out.substr(3));
    in >> d.hash >> d.zeros;
  } else if (out.compare(0, 3, "ER ") == 0) {
    d.error = out.substr(3);
  } else if (out.compare(0, 3, "EX ") == 0) {
    d.error = "exception";
    d.exception = out.substr(3);
  } else {
    d.error = "(no result)";
  }
  return d;
}

struct Case {
  std::string name;
  std::string file;                                        // the valid original
  std::function<Digest(const std::string& path)> load;    // its own loader
};

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(ModelFuzzTest, TruncatedAndBitFlippedCopiesOfEveryFormat) {
  TestDir dir;
  const BfmFixture f = MakeBfmFixture(240, 3, 2, 2);
  const int n_trim = static_cast<int>(f.trim.size());
  std::vector<Case> cases;
  auto bfm = [](const std::string& p) { return DigestOf(LoadBfm2009Model(p)); };
  struct Version { const char* name; MatWriteOptions options; };
  for (const Version& v : {Version{"v5", {MatVersion::kV5, false}},
                           Version{"v7z", {MatVersion::kV5, true}},
                           Version{"v73", {MatVersion::kV73, false}}}) {
    const std::string path = dir.Path(std::string("bfm_") + v.name + ".mat");
    ASSERT_TRUE(WriteBfm2009Mat(f.full, path, v.options).ok());
    cases.push_back({std::string("bfm2009_") + v.name, path, bfm});
  }
  ASSERT_TRUE(WriteGuoExpression(f.expression, f.expression_mean, dir.Path("Exp_Pca.bin"),
                                 dir.Path("std_exp.txt")).ok());
  const std::string std_exp = dir.Path("std_exp.txt");
  cases.push_back({"exp_pca_bin", dir.Path("Exp_Pca.bin"), [&](const std::string& p) {
                     return DigestOf(LoadGuoExpression(p, std_exp, n_trim));
                   }});
  ASSERT_TRUE(Write3ddfaExpression(f.expression, f.expression_mean, dir.Path("Model_Expression.mat"),
                                   {MatVersion::kV5, true}).ok());
  cases.push_back({"model_expression_v7z", dir.Path("Model_Expression.mat"),
                   [&](const std::string& p) { return DigestOf(Load3ddfaExpression(p, n_trim)); }});
  ASSERT_TRUE(WriteDeep3dModelMat(f.front_model, dir.Path("front.mat"), {MatVersion::kV5, false}).ok());
  cases.push_back({"deep3d_front_v5", dir.Path("front.mat"),
                   [](const std::string& p) { return DigestOf(LoadDeep3dModel(p)); }});
  MorphableModel h5_model = f.front_model;
  h5_model.name = "fuzz";
  ASSERT_TRUE(WriteH5Model(h5_model, dir.Path("model.h5")).ok());
  cases.push_back({"h5", dir.Path("model.h5"),
                   [](const std::string& p) { return DigestOf(LoadH5Model(p)); }});

  int rejected = 0, identical = 0, changed = 0;
  for (const Case& c : cases) {
    const std::string original = ReadBytes(c.file);
    const Digest want = RunIsolated([&] { return c.load(c.file); }, c.name + " original");
    ASSERT_TRUE(want.error.empty()) << c.name << ": " << want.error;
    const std::string ext = c.file.substr(c.file.find_last_of('.'));
    const std::string copy = dir.Path("copy_" + c.name + ext);
    std::mt19937_64 rng(std::hash<std::string>()(c.name) ^ 20261122);
    for (int i = 0; i < kTruncations + kBitFlips; ++i) {
      std::string bytes = original;
      std::string label;
      const bool truncate = i < kTruncations;
      if (truncate) {
        // Spread over the file, plus the header edges.
        const size_t cut = i == 0 ? 0 : i == 1 ? 100 : i == 2 ? 128 : rng() % original.size();
        bytes.resize(cut);
        label = c.name + " truncated to " + std::to_string(cut) + " bytes";
      } else {
        const size_t byte = rng() % original.size();
        bytes[byte] = static_cast<char>(bytes[byte] ^ (1 << (rng() % 8)));
        label = c.name + " bit flip in byte " + std::to_string(byte);
      }
      std::ofstream(copy, std::ios::binary | std::ios::trunc) << bytes;
      for (int loader = 0; loader < 2; ++loader) {
        const Digest got = RunIsolated(
            [&] { return loader == 0 ? c.load(copy) : DigestOf(LoadModel(copy)); }, label);
        if (!got.exception.empty()) {
          ADD_FAILURE() << label << ": exception escaped the loader: " << got.exception;
          continue;
        }
        if (loader == 1) continue;  // LoadModel: no crash / hang is what is checked
        if (!got.error.empty()) {
          ++rejected;
          EXPECT_NE(got.error.find("copy_" + c.name), std::string::npos)
              << label << ": error does not name the file: " << got.error;
        } else if (got.hash == want.hash) {
          ++identical;
        } else {
          ++changed;
          // No checksum covers these bytes; the change must not be silent zero-filling.
          EXPECT_FALSE(truncate) << label << ": a truncated copy loaded with different data";
          EXPECT_LE(got.zeros, want.zeros + 1) << label << ": loaded with zero-filled data";
        }
      }
    }
  }
  RecordProperty("rejected", rejected);
  RecordProperty("identical", identical);
  RecordProperty("changed", changed);
  std::printf("fuzz: %d rejected, %d identical, %d loaded with a changed value\n", rejected,
              identical, changed);
}

}  // namespace
}  // namespace morphfit::models
