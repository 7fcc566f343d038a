// ProgressReporter: formatting and rate limiting of progress output.
#include "morphfit/core/progress.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <utility>

namespace morphfit {
namespace {

ProgressReporter::Style ResolveStyle(ProgressReporter::Style style, const std::ostream* out) {
  using Style = ProgressReporter::Style;
  if (out == nullptr) return Style::kQuiet;
  if (style != Style::kAuto) return style;
  if ((out == &std::cerr || out == &std::clog) && ::isatty(STDERR_FILENO)) return Style::kBar;
  if (out == &std::cout && ::isatty(STDOUT_FILENO)) return Style::kBar;
  return Style::kLines;
}

std::string Format(const char* format, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), format, value);
  return buffer;
}

}  // namespace

ProgressReporter::ProgressReporter(std::string label, int64_t total, std::ostream* out, Style style)
    : ProgressReporter(std::move(label), total, out, style, Options()) {}

ProgressReporter::ProgressReporter(std::string label, int64_t total, std::ostream* out, Style style,
                                   Options options)
    : label_(std::move(label)),
      total_(total),
      out_(out),
      style_(ResolveStyle(style, out)),
      options_(std::move(options)) {
  start_ = Now();
  last_print_ = start_;
  if (style_ == Style::kBar) {
    std::lock_guard<std::mutex> lock(mutex_);
    PrintBar(start_, /*final_line=*/false);
  }
}

ProgressReporter::~ProgressReporter() { Finish(); }

double ProgressReporter::Now() const {
  if (options_.clock) return options_.clock();
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int64_t ProgressReporter::done() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return done_;
}

void ProgressReporter::Advance(int64_t n) {
  std::lock_guard<std::mutex> lock(mutex_);
  done_ += n;
  if (finished_ || style_ == Style::kQuiet) return;
  const double now = Now();
  if (style_ == Style::kBar) {
    if (now - last_print_ >= options_.bar_interval_seconds || (total_ > 0 && done_ >= total_)) {
      PrintBar(now, /*final_line=*/false);
      last_print_ = now;
    }
  } else if (now - last_print_ >= options_.line_interval_seconds) {
    PrintLine(now, /*final_line=*/false);
    last_print_ = now;
  }
}

void ProgressReporter::Finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_) return;
  finished_ = true;
  if (style_ == Style::kQuiet) return;
  const double now = Now();
  if (style_ == Style::kBar) {
    PrintBar(now, /*final_line=*/true);
  } else {
    PrintLine(now, /*final_line=*/true);
  }
}

std::string ProgressReporter::FormatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0.0) return "?:??";
  const int64_t total = static_cast<int64_t>(std::llround(seconds));
  const int64_t hours = total / 3600;
  const int64_t minutes = (total / 60) % 60;
  const int64_t secs = total % 60;
  char buffer[48];
  if (hours > 0) {
    std::snprintf(buffer, sizeof(buffer), "%lld:%02lld:%02lld", static_cast<long long>(hours),
                  static_cast<long long>(minutes), static_cast<long long>(secs));
  } else {
    std::snprintf(buffer, sizeof(buffer), "%lld:%02lld", static_cast<long long>(minutes),
                  static_cast<long long>(secs));
  }
  return buffer;
}

std::string ProgressReporter::Counts() const {
  if (total_ <= 0) return std::to_string(done_);
  return std::to_string(done_) + "/" + std::to_string(total_);
}

std::string ProgressReporter::Rate(double elapsed) const {
  if (done_ <= 0 || elapsed <= 0.0) return "? it/s";
  const double rate = static_cast<double>(done_) / elapsed;
  // Slow jobs read better as seconds per item than as "0.0 it/s".
  if (rate < 1.0) return Format("%.1f s/it", 1.0 / rate);
  return Format("%.1f it/s", rate);
}

std::string ProgressReporter::Eta(double elapsed) const {
  if (total_ <= 0 || done_ <= 0 || elapsed <= 0.0) return FormatDuration(-1.0);
  const double rate = static_cast<double>(done_) / elapsed;
  return FormatDuration(static_cast<double>(std::max<int64_t>(0, total_ - done_)) / rate);
}

void ProgressReporter::PrintBar(double now, bool final_line) {
  const double elapsed = now - start_;
  std::string text = label_ + " ";
  if (total_ > 0) {
    const int width = std::max(1, options_.bar_width);
    const int64_t clamped = std::min(std::max<int64_t>(0, done_), total_);
    const int filled = static_cast<int>(clamped * width / total_);
    text += "[" + std::string(static_cast<size_t>(filled), '#') +
            std::string(static_cast<size_t>(width - filled), '.') + "] ";
    text += Counts() + " " + std::to_string(done_ * 100 / total_) + "% ";
  } else {
    text += Counts() + " ";
  }
  text += Rate(elapsed);
  if (final_line) {
    text += " in " + FormatDuration(elapsed);
  } else if (total_ > 0) {
    text += " ETA " + Eta(elapsed);
  }
  // Pad with spaces so a shorter line fully covers the previous one.
  *out_ << '\r' << text << "   ";
  if (final_line) *out_ << '\n';
  out_->flush();
}

void ProgressReporter::PrintLine(double now, bool final_line) {
  const double elapsed = now - start_;
  std::string text = label_ + ": " + Counts();
  if (total_ > 0) text += " (" + std::to_string(done_ * 100 / total_) + "%)";
  if (final_line) {
    text += " in " + FormatDuration(elapsed) + ", " + Rate(elapsed);
  } else {
    text += " " + Rate(elapsed);
    if (total_ > 0) text += ", ETA " + Eta(elapsed);
  }
  *out_ << text << '\n';
  out_->flush();
}

}  // namespace morphfit
