// Charts as inline SVG for report pages: lines over epochs (or any x) and bars per index, with
// axes, "nice" ticks (1, 2 or 5 times a power of ten; decades on a log axis) and a legend.
// Coordinates are printed with fixed precision, so equal data give equal bytes.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "experiments/draw/html.hpp"

namespace vk::report {

struct Series {
  std::string name;
  std::vector<double> x, y;  // same length; a point with a non-finite coordinate is left out (a gap)
};

struct Axes {
  std::string x_label, y_label;
  bool log_y = false;      // only positive values are drawn
  bool integer_x = false;  // ticks on whole numbers only (epochs, dimensions)
};

// One line with a marker per point for each series, coloured as classes are (support::class_color).
// Throws std::invalid_argument when no series has a drawable point.
Svg line_chart(const std::vector<Series>& series, const Axes& axes);

// A bar per value at x = 1, 2, ..., and, when reference is finite, a dashed horizontal line there
// named reference_name in the legend. Throws std::invalid_argument when no value is drawable.
Svg bar_chart(const std::vector<double>& values, const Axes& axes, double reference = NAN,
              const std::string& reference_name = {});

}  // namespace vk::report
