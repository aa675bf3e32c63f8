#include "experiments/draw/charts.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "experiments/draw/image.hpp"

namespace vk::report {

namespace {

constexpr double kWidth = 480, kHeight = 300;
constexpr double kLeft = 64, kRight = 16, kTop = 30, kBottom = 44;

std::string color(std::size_t i) {
  const support::Rgb c = support::class_color(i);
  return fmt::format("rgb({},{},{})", c.r, c.g, c.b);
}

std::string tick_text(double v) { return fmt::format("{:.4g}", v == 0 ? 0.0 : v); }

// An axis from lo to hi (widened to its outer ticks) and its ticks.
struct Scale {
  double lo, hi;
  bool log;
  std::vector<double> ticks;

  // The position of v between the axis ends, 0 to 1.
  double unit(double v) const {
    return log ? (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo)) : (v - lo) / (hi - lo);
  }
};

Scale linear_scale(double lo, double hi, bool integer) {
  if (lo == hi) {
    const double room = lo == 0 ? 1 : std::abs(lo) * 0.1;
    lo -= room, hi += room;
  }
  const double raw = (hi - lo) / 4, power = std::pow(10, std::floor(std::log10(raw))), m = raw / power;
  double step = (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * power;
  if (integer) step = std::max(step, 1.0);
  // Ticks as whole multiples of the step, so that zero prints as 0 and not as a rounding residue.
  const double first = std::floor(lo / step), last = std::ceil(hi / step);
  Scale s{first * step, last * step, false, {}};
  for (double k = first; k <= last; ++k) s.ticks.push_back(k * step);
  return s;
}

Scale log_scale(double lo, double hi) {
  const double first = std::floor(std::log10(lo)), last = std::max(std::ceil(std::log10(hi)), first + 1);
  Scale s{std::pow(10, first), std::pow(10, last), true, {}};
  for (double k = first; k <= last; ++k) s.ticks.push_back(std::pow(10, k));
  return s;
}

bool drawable(double v, bool log) { return std::isfinite(v) && (!log || v > 0); }

// The plot area, its axes and labels, and the mapping of data to pixels.
struct Frame {
  Scale x, y;
  std::string svg;

  double px(double v) const { return kLeft + x.unit(v) * (kWidth - kLeft - kRight); }
  double py(double v) const { return kHeight - kBottom - y.unit(v) * (kHeight - kTop - kBottom); }

  Frame(Scale xs, Scale ys, const Axes& axes) : x(std::move(xs)), y(std::move(ys)) {
    svg = fmt::format(R"(<svg xmlns="http://www.w3.org/2000/svg" width="{0}" height="{1}" viewBox="0 0 {0} {1}" )"
                      R"(font-family="sans-serif" font-size="11">)"
                      "\n<rect x=\"{2}\" y=\"{3}\" width=\"{4}\" height=\"{5}\" fill=\"none\" stroke=\"#888\"/>\n",
                      kWidth, kHeight, kLeft, kTop, kWidth - kLeft - kRight, kHeight - kTop - kBottom);
    for (double t : x.ticks)
      svg += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"#888\"/>"
                         "<text x=\"{0:.1f}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>\n",
                         px(t), kHeight - kBottom, kHeight - kBottom + 4, kHeight - kBottom + 16, escape(tick_text(t)));
    for (double t : y.ticks)
      svg += fmt::format("<line x1=\"{0}\" y1=\"{2:.1f}\" x2=\"{1}\" y2=\"{2:.1f}\" stroke=\"#eee\"/>"
                         "<text x=\"{3}\" y=\"{4:.1f}\" text-anchor=\"end\">{5}</text>\n",
                         kLeft, kWidth - kRight, py(t), kLeft - 4, py(t) + 4, escape(tick_text(t)));
    svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", (kLeft + kWidth - kRight) / 2,
                       kHeight - 8, escape(axes.x_label));
    svg += fmt::format("<text transform=\"translate(14 {}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
                       (kTop + kHeight - kBottom) / 2, escape(axes.y_label));
  }

  // Legend entries left to right above the plot area.
  void legend(const std::vector<std::pair<std::string, std::string>>& entries) {
    double at = kLeft;
    for (const auto& [name, stroke] : entries) {
      svg += fmt::format("<line x1=\"{0}\" y1=\"14\" x2=\"{1}\" y2=\"14\" stroke=\"{2}\" stroke-width=\"2\"/>"
                         "<text x=\"{3}\" y=\"18\">{4}</text>\n",
                         at, at + 16, stroke, at + 20, escape(name));
      at += 28 + 6.5 * double(name.size());
    }
  }

  Svg finish() { return {svg + "</svg>"}; }
};

}  // namespace

Svg line_chart(const std::vector<Series>& series, const Axes& axes) {
  double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
  for (const Series& s : series) {
    if (s.x.size() != s.y.size()) throw std::invalid_argument("line_chart: series '" + s.name + "' has x and y of different lengths");
    for (std::size_t i = 0; i < s.x.size(); ++i)
      if (std::isfinite(s.x[i]) && drawable(s.y[i], axes.log_y)) {
        x_lo = std::min(x_lo, s.x[i]), x_hi = std::max(x_hi, s.x[i]);
        y_lo = std::min(y_lo, s.y[i]), y_hi = std::max(y_hi, s.y[i]);
      }
  }
  if (x_lo > x_hi) throw std::invalid_argument("line_chart: no drawable point");
  Frame f(linear_scale(x_lo, x_hi, axes.integer_x), axes.log_y ? log_scale(y_lo, y_hi) : linear_scale(y_lo, y_hi, false),
          axes);
  std::vector<std::pair<std::string, std::string>> legend;
  for (std::size_t k = 0; k < series.size(); ++k) {
    const Series& s = series[k];
    std::string path, dots;
    bool pen_down = false;
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !drawable(s.y[i], axes.log_y)) {
        pen_down = false;
        continue;
      }
      path += fmt::format("{}{:.1f},{:.1f} ", pen_down ? "L" : "M", f.px(s.x[i]), f.py(s.y[i]));
      dots += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2.5\"/>", f.px(s.x[i]), f.py(s.y[i]));
      pen_down = true;
    }
    if (path.empty()) continue;
    path.pop_back();
    f.svg += fmt::format("<g fill=\"{0}\"><path d=\"{1}\" fill=\"none\" stroke=\"{0}\" stroke-width=\"2\"/>{2}</g>\n",
                         color(k), path, dots);
    legend.emplace_back(s.name, color(k));
  }
  f.legend(legend);
  return f.finish();
}

Svg bar_chart(const std::vector<double>& values, const Axes& axes, double reference, const std::string& reference_name) {
  double lo = INFINITY, hi = -INFINITY;
  for (double v : values)
    if (drawable(v, axes.log_y)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (lo > hi) throw std::invalid_argument("bar_chart: no drawable value");
  if (drawable(reference, axes.log_y)) lo = std::min(lo, reference), hi = std::max(hi, reference);
  if (!axes.log_y) lo = std::min(lo, 0.0), hi = std::max(hi, 0.0);  // bars rise from zero
  Frame f(linear_scale(0.5, double(values.size()) + 0.5, true), axes.log_y ? log_scale(lo, hi) : linear_scale(lo, hi, false),
          axes);
  const double base = axes.log_y ? f.y.lo : 0.0;
  const double bar = 0.8 * (f.px(1) - f.px(0));
  f.svg += fmt::format("<g fill=\"{}\">", color(0));
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!drawable(values[i], axes.log_y)) continue;
    const double top = std::min(f.py(values[i]), f.py(base)), bottom = std::max(f.py(values[i]), f.py(base));
    f.svg += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\"/>", f.px(double(i + 1)) - bar / 2,
                         top, bar, bottom - top);
  }
  f.svg += "</g>\n";
  std::vector<std::pair<std::string, std::string>> legend{{axes.y_label, color(0)}};
  if (drawable(reference, axes.log_y)) {
    f.svg += fmt::format("<line x1=\"{0}\" y1=\"{2:.1f}\" x2=\"{1}\" y2=\"{2:.1f}\" stroke=\"{3}\" stroke-dasharray=\"5,3\"/>\n",
                         kLeft, kWidth - kRight, f.py(reference), color(3));
    legend.emplace_back(reference_name, color(3));
  }
  f.legend(legend);
  return f.finish();
}

}  // namespace vk::report
