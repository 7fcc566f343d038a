// ProgressReporter: progress of a batch job for the person watching it - a redrawn one-line bar
// on a terminal, or a plain line every few seconds in a log file (Slurm output, pipes).
// Apps own the display; libraries report progress through callbacks, never by printing.
#ifndef MORPHFIT_CORE_PROGRESS_H_
#define MORPHFIT_CORE_PROGRESS_H_

#include <cstdint>
#include <functional>
#include <mutex>
#include <ostream>
#include <string>

namespace morphfit {

class ProgressReporter {
 public:
  enum class Style {
    kAuto,   // kBar if `out` is std::cerr or std::cout and that descriptor is a terminal,
             // kLines otherwise
    kBar,    // `label [#####.....] 42/100 42% 3.1 it/s ETA 0:19`, redrawn with '\r'
    kLines,  // `label: 42/100 (42%) 3.1 it/s, ETA 0:19`, one line per interval
    kQuiet,  // nothing
  };

  struct Options {
    // kLines: seconds between lines (plus the final one from Finish()).
    double line_interval_seconds = 10.0;
    // kBar: minimum seconds between redraws (the last item always redraws).
    double bar_interval_seconds = 0.1;
    // Width of the bar in characters.
    int bar_width = 30;
    // Monotonic clock in seconds; empty = std::chrono::steady_clock. Tests inject a fake one.
    std::function<double()> clock;
  };

  // `total` <= 0 means unknown (no percentage or ETA). `out` is not owned and must outlive the
  // reporter; nullptr is the same as kQuiet. The clock starts now.
  ProgressReporter(std::string label, int64_t total, std::ostream* out,
                   Style style = Style::kAuto);
  ProgressReporter(std::string label, int64_t total, std::ostream* out, Style style,
                   Options options);
  // Calls Finish() if it has not been called.
  ~ProgressReporter();
  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;

  // Counts `n` more finished items and prints if the style's interval has passed. Thread-safe.
  void Advance(int64_t n = 1);
  // Prints the final line with the total time, e.g. `label: 100/100 (100%) in 0:32, 3.1 it/s`
  // (kBar: redraws the bar, appends ` in 0:32` and ends the line). Idempotent; thread-safe.
  void Finish();

  // The style after resolving kAuto.
  Style style() const { return style_; }
  int64_t done() const;

  // "M:SS", or "H:MM:SS" from one hour; negative or non-finite -> "?:??".
  static std::string FormatDuration(double seconds);

 private:
  double Now() const;
  std::string Counts() const;  // "42/100" or "42"
  std::string Rate(double elapsed) const;  // "3.1 it/s" or "12.5 s/it"
  std::string Eta(double elapsed) const;   // "0:19" or "?:??"
  void PrintBar(double now, bool final_line);
  void PrintLine(double now, bool final_line);

  std::string label_;
  int64_t total_;
  std::ostream* out_;
  Style style_;
  Options options_;
  double start_ = 0.0;
  double last_print_ = 0.0;

  mutable std::mutex mutex_;  // guards done_, finished_ and writes to out_
  int64_t done_ = 0;
  bool finished_ = false;
};

}  // namespace morphfit

#endif  // MORPHFIT_CORE_PROGRESS_H_
