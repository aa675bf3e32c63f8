// What a sweep relies on of the runs sweep_runs lists for a grid, checked by the grid fuzz target
// and by the test that replays its regressions (tests/test_text_readers.cpp).
#pragma once

#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiments/sweep.hpp"

namespace vk::fuzz {

// Whether the run's argument `value` is the grid value v, as a number to the last digit.
inline bool same_value(const nlohmann::ordered_json& v, const std::string& value) {
  if (v.is_string()) return v.get<std::string>() == value;
  if (v.is_number_float()) return std::strtod(value.c_str(), nullptr) == v.get<double>();
  return v.dump() == value;
}

inline bool listed(const nlohmann::ordered_json& grid, const std::string& flag, const std::string& value) {
  const auto fixed = grid.value("flags", nlohmann::ordered_json::object());
  if (fixed.contains(flag)) return same_value(fixed[flag], value);
  for (const auto& v : grid.at("grid").at(flag))
    if (same_value(v, value)) return true;
  return false;
}

// "" when every run's folder is a plain name inside the sweep's folder, no two runs share one,
// and every run's flag values are the grid's; otherwise what is wrong.
inline std::string grid_problem(const nlohmann::ordered_json& grid, const std::vector<programs::SweepRun>& runs) {
  std::set<std::string> names;
  for (const auto& r : runs) {
    if (r.name.empty() || r.name == "." || r.name == ".." || r.name.find_first_of(std::string("/\0", 2)) != std::string::npos)
      return "run folder '" + r.name + "' is not a plain name inside the sweep's folder";
    if (!names.insert(r.name).second) return "two runs share the folder '" + r.name + "'";
    for (std::size_t i = 0; i + 1 < r.flags.size(); i += 2)
      if (!listed(grid, r.flags[i], r.flags[i + 1]))
        return "run " + r.name + " gets " + r.flags[i] + " " + r.flags[i + 1] + ", not a value the grid gives it";
  }
  return "";
}

}  // namespace vk::fuzz
