// ProgressReporter: exact output of the lines and bar styles under an injected clock.
#include "morphfit/core/progress.h"

#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace morphfit {
namespace {

using Style = ProgressReporter::Style;

ProgressReporter::Options FakeClock(double* now) {
  ProgressReporter::Options options;
  options.clock = [now] { return *now; };
  return options;
}

TEST(ProgressTest, FormatDuration) {
  EXPECT_EQ(ProgressReporter::FormatDuration(0.0), "0:00");
  EXPECT_EQ(ProgressReporter::FormatDuration(19.4), "0:19");
  EXPECT_EQ(ProgressReporter::FormatDuration(59.6), "1:00");
  EXPECT_EQ(ProgressReporter::FormatDuration(3599.0), "59:59");
  EXPECT_EQ(ProgressReporter::FormatDuration(3600.0 + 62.0), "1:01:02");
  EXPECT_EQ(ProgressReporter::FormatDuration(-1.0), "?:??");
}

TEST(ProgressTest, LinesModePrintsEveryIntervalAndAtFinish) {
  double now = 100.0;
  std::ostringstream out;
  {
    ProgressReporter progress("fit", 100, &out, Style::kLines, FakeClock(&now));
    EXPECT_EQ(progress.style(), Style::kLines);
    now = 105.0;
    progress.Advance(20);  // 5 s < 10 s: nothing yet
    EXPECT_EQ(out.str(), "");
    now = 110.0;
    progress.Advance(11);  // 31 items in 10 s: 3.1 it/s, 69 left -> 22.3 s
    EXPECT_EQ(out.str(), "fit: 31/100 (31%) 3.1 it/s, ETA 0:22\n");
    now = 115.0;
    progress.Advance(11);  // 5 s since the last line: nothing
    EXPECT_EQ(out.str(), "fit: 31/100 (31%) 3.1 it/s, ETA 0:22\n");
    now = 132.0;
    progress.Advance(58);
    progress.Finish();
    progress.Finish();  // idempotent
  }  // the destructor does not print again
  EXPECT_EQ(out.str(),
            "fit: 31/100 (31%) 3.1 it/s, ETA 0:22\n"
            "fit: 100/100 (100%) 3.1 it/s, ETA 0:00\n"
            "fit: 100/100 (100%) in 0:32, 3.1 it/s\n");
}

TEST(ProgressTest, LinesModeConfigurableIntervalSlowRateUnknownTotal) {
  double now = 0.0;
  std::ostringstream out;
  ProgressReporter::Options options = FakeClock(&now);
  options.line_interval_seconds = 60.0;
  ProgressReporter progress("render", 0, &out, Style::kLines, options);
  now = 59.0;
  progress.Advance(2);
  EXPECT_EQ(out.str(), "");
  now = 120.0;
  progress.Advance(2);  // 4 items in 120 s: slower than 1 it/s -> seconds per item
  EXPECT_EQ(out.str(), "render: 4 30.0 s/it\n");
  progress.Finish();
  EXPECT_EQ(out.str(), "render: 4 30.0 s/it\nrender: 4 in 2:00, 30.0 s/it\n");
  EXPECT_EQ(progress.done(), 4);
}

TEST(ProgressTest, FinishBeforeAnyProgress) {
  double now = 0.0;
  std::ostringstream out;
  ProgressReporter progress("empty", 10, &out, Style::kLines, FakeClock(&now));
  progress.Finish();
  EXPECT_EQ(out.str(), "empty: 0/10 (0%) in 0:00, ? it/s\n");
}

TEST(ProgressTest, BarModeRedrawsInPlaceAtMostTenTimesASecond) {
  double now = 0.0;
  std::ostringstream out;
  ProgressReporter::Options options = FakeClock(&now);
  options.bar_width = 10;
  ProgressReporter progress("gen", 100, &out, Style::kBar, options);
  EXPECT_EQ(out.str(), "\rgen [..........] 0/100 0% ? it/s ETA ?:??   ");
  out.str("");
  now = 0.05;
  progress.Advance(1);  // within 0.1 s of the last draw: no redraw
  EXPECT_EQ(out.str(), "");
  now = 10.0;
  progress.Advance(41);
  EXPECT_EQ(out.str(), "\rgen [####......] 42/100 42% 4.2 it/s ETA 0:14   ");
  out.str("");
  now = 20.0;
  progress.Advance(58);
  EXPECT_EQ(out.str(), "\rgen [##########] 100/100 100% 5.0 it/s ETA 0:00   ");
  out.str("");
  progress.Finish();
  EXPECT_EQ(out.str(), "\rgen [##########] 100/100 100% 5.0 it/s in 0:20   \n");
}

TEST(ProgressTest, QuietAndNullPrintNothing) {
  double now = 0.0;
  std::ostringstream out;
  {
    ProgressReporter quiet("q", 10, &out, Style::kQuiet, FakeClock(&now));
    now = 100.0;
    quiet.Advance(10);
    quiet.Finish();
    EXPECT_EQ(quiet.done(), 10);
  }
  EXPECT_EQ(out.str(), "");
  ProgressReporter null_out("n", 10, nullptr, Style::kLines);
  EXPECT_EQ(null_out.style(), Style::kQuiet);
  null_out.Advance();
}

TEST(ProgressTest, AutoIsLinesForNonTerminalStreams) {
  std::ostringstream out;
  ProgressReporter progress("x", 1, &out, Style::kAuto);
  EXPECT_EQ(progress.style(), Style::kLines);
}

TEST(ProgressTest, AdvanceIsThreadSafe) {
  double now = 0.0;
  std::ostringstream out;
  ProgressReporter progress("t", 4000, &out, Style::kLines, FakeClock(&now));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&progress] {
      for (int i = 0; i < 1000; ++i) progress.Advance();
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(progress.done(), 4000);
}

}  // namespace
}  // namespace morphfit
