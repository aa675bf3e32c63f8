#include "experiments/support/progress.hpp"

#include <cmath>
#include <cstdio>
#include <iostream>
#include <unistd.h>

namespace vk::support {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 1e9) return "--:--";
  const long long total = std::llround(seconds);
  const long long h = total / 3600, m = total / 60 % 60, s = total % 60;
  char buf[48];
  if (h > 0) std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", h, m, s);
  else std::snprintf(buf, sizeof buf, "%lld:%02lld", m, s);
  return buf;
}

std::string format_rate(double per_second, std::string_view unit) {
  std::string suffix = " ";
  suffix += unit;
  suffix += "/s";
  if (!std::isfinite(per_second) || per_second < 0) return "-" + suffix;
  static constexpr const char* kPrefixes[] = {"", "k", "M", "G", "T"};
  double v = per_second;
  std::size_t p = 0;
  // Switch prefix where rounding to 3 digits would print "1000".
  while (v >= 999.5 && p + 1 < std::size(kPrefixes)) {
    v /= 1000;
    ++p;
  }
  const int decimals = v >= 99.95 ? 0 : v >= 9.995 ? 1 : 2;
  char buf[48];
  // Whole numbers below 1000 without a prefix read better without decimals ("950 img/s").
  std::snprintf(buf, sizeof buf, "%.*f%s", p == 0 && v >= 9.995 ? 0 : decimals, v, kPrefixes[p]);
  return buf + suffix;
}

std::string format_progress(std::string_view label, std::size_t done, std::size_t total,
                            std::string_view unit, double elapsed_seconds, std::string_view extra,
                            bool finished, int bar_width, std::size_t already) {
  const double fraction = total == 0 ? 1.0 : std::min(1.0, double(done) / double(total));
  const int filled = int(fraction * bar_width);
  const double rate = elapsed_seconds > 0 ? double(done > already ? done - already : 0) / elapsed_seconds : NAN;

  std::string line(label);
  line += " [";
  line.append(std::size_t(filled), '#');
  line.append(std::size_t(bar_width - filled), '.');
  line += "] ";
  line += std::to_string(int(fraction * 100)) + "% ";
  line += std::to_string(done) + "/" + std::to_string(total) + " " + std::string(unit);
  line += "  " + format_rate(rate, unit);
  if (finished) {
    line += "  time " + format_duration(elapsed_seconds);
  } else {
    const double eta = done > 0 && rate > 0 ? double(total > done ? total - done : 0) / rate : NAN;
    line += "  ETA " + format_duration(eta);
  }
  if (!extra.empty()) {
    line += "  ";
    line += extra;
  }
  return line;
}

Progress::Progress(std::string label, std::size_t total, std::string unit)
    : Progress(std::move(label), total, std::move(unit), std::cerr, ::isatty(STDERR_FILENO) == 1) {}

Progress::Progress(std::string label, std::size_t total, std::string unit, std::ostream& out,
                   bool interactive)
    : label_(std::move(label)),
      total_(total),
      unit_(std::move(unit)),
      out_(out),
      interactive_(interactive),
      start_(Clock::now()),
      last_print_(start_) {}

Progress::~Progress() {
  if (line_open_) out_ << '\n' << std::flush;
}

double Progress::seconds_since(Clock::time_point t) const {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

void Progress::update(std::size_t done, std::string_view extra) {
  done_ = done;
  if (interactive_) {
    if (printed_ && seconds_since(last_print_) < 0.1) return;
    // "\x1b[K" clears what a longer previous line left behind.
    out_ << '\r' << format_progress(label_, done, total_, unit_, seconds_since(start_), extra, false, 18, already_)
         << "\x1b[K" << std::flush;
    line_open_ = true;
  } else {
    const std::size_t tenth = total_ == 0 ? 10 : std::min<std::size_t>(10, done * 10 / total_);
    if (tenth <= last_tenth_ && seconds_since(last_print_) < 5.0) return;
    last_tenth_ = std::max(last_tenth_, tenth);
    out_ << format_progress(label_, done, total_, unit_, seconds_since(start_), extra, false, 18, already_) << '\n'
         << std::flush;
  }
  printed_ = true;
  last_print_ = Clock::now();
}

void Progress::finish(std::string_view summary) {
  const std::string line =
      format_progress(label_, done_, total_, unit_, seconds_since(start_), summary, true, 18, already_);
  if (interactive_) out_ << '\r' << line << "\x1b[K\n" << std::flush;
  else out_ << line << '\n' << std::flush;
  line_open_ = false;
}

}  // namespace vk::support
