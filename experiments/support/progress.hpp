// A one-line progress report on stderr for long loops (epochs, evaluation passes):
//   epoch 3/20 [#########.........] 45% 26880/60000 img  31.2k img/s  ETA 0:01  loss 251.3
#pragma once

#include <chrono>
#include <cstddef>
#include <iosfwd>
#include <string>
#include <string_view>

namespace vk::support {

// "0:05", "12:34", "1:02:03" (rounded to whole seconds); "--:--" when unknown (negative, NaN, inf).
std::string format_duration(double seconds);
// Three significant digits with k/M/G: "950 img/s", "31.2k img/s", "1.20M img/s"; "- img/s"
// when unknown.
std::string format_rate(double per_second, std::string_view unit);
// The whole line for done of total after elapsed seconds; finished shows the elapsed time instead
// of the ETA. extra is appended as is. The rate and ETA count from `already`, what was done
// before the elapsed time began (a resumed epoch's first half).
std::string format_progress(std::string_view label, std::size_t done, std::size_t total,
                            std::string_view unit, double elapsed_seconds, std::string_view extra,
                            bool finished = false, int bar_width = 18, std::size_t already = 0);

class Progress {
 public:
  // Reports to stderr, redrawn in place with '\r' when stderr is a terminal.
  Progress(std::string label, std::size_t total, std::string unit);
  // interactive: redraw with '\r' at most ~10 times a second; otherwise (logs, CI) print a plain
  // line every ~10% of total or ~5 s.
  Progress(std::string label, std::size_t total, std::string unit, std::ostream& out,
           bool interactive);
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  ~Progress();  // ends a line left open by an unfinished redraw

  void update(std::size_t done, std::string_view extra = "");
  // done counts from already: what another process did before this bar began.
  void start_at(std::size_t already) { already_ = already; }
  void finish(std::string_view summary);

 private:
  using Clock = std::chrono::steady_clock;
  double seconds_since(Clock::time_point t) const;

  std::string label_;
  std::size_t total_;
  std::string unit_;
  std::ostream& out_;
  bool interactive_;
  Clock::time_point start_;
  Clock::time_point last_print_;
  std::size_t last_tenth_ = 0;  // the last multiple of 10% reported by a plain line
  std::size_t done_ = 0;
  std::size_t already_ = 0;
  bool printed_ = false;
  bool line_open_ = false;  // a '\r' line is on screen without its newline
};

}  // namespace vk::support
