#include "experiments/sweep.hpp"

#include <algorithm>
#include <cmath>
#include <cctype>
#include <cstdlib>
#include <map>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "experiments/support/files.hpp"

namespace vk::programs {

namespace {

using ojson = nlohmann::ordered_json;

std::string flag_value(const ojson& v, const std::string& flag) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
  if (v.is_number_float()) {
    // {:g} names folders as sweeps always have, but keeps 6 digits: a value it would round goes
    // to vae-train in full (the shortest text that reads back as it).
    const double d = v.get<double>();
    const std::string six = fmt::format("{:g}", d);
    return std::strtod(six.c_str(), nullptr) == d ? six : fmt::format("{}", d);
  }
  throw std::invalid_argument(fmt::format("grid: the value {} of {} is not a string or a number", v.dump(), flag));
}

void check_flag(const std::string& flag) {
  // The name is part of a run's folder name: '/' or ".." in it would put the run outside the sweep.
  const bool named = flag.size() > 2 && std::all_of(flag.begin() + 2, flag.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
  if (flag.rfind("--", 0) != 0 || !named)
    throw std::invalid_argument(fmt::format("grid: '{}' is not a flag (--name: letters, digits, '-')", flag));
  if (flag == "--out" || flag == "--resume")
    throw std::invalid_argument(fmt::format("grid: {} is the sweep's to set (each run's folder)", flag));
}

// "--likelihood" "bernoulli" -> "likelihood-bernoulli", safe as a folder name.
std::string part(const std::string& flag, const std::string& value) {
  std::string s = flag.substr(2) + "-";
  for (char c : value) s += std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ? c : '_';
  return s;
}

}  // namespace

std::vector<SweepRun> sweep_runs(const ojson& grid) {
  if (!grid.is_object()) throw std::invalid_argument("grid: not a JSON object with \"flags\" and \"grid\"");
  for (const auto& [key, _] : grid.items())
    if (key != "flags" && key != "grid") throw std::invalid_argument(fmt::format("grid: unknown key \"{}\" (flags, grid)", key));
  const ojson fixed = grid.value("flags", ojson::object()), axes = grid.value("grid", ojson::object());
  if (!fixed.is_object() || !axes.is_object()) throw std::invalid_argument("grid: \"flags\" and \"grid\" must be objects");
  std::vector<std::string> base;
  for (const auto& [flag, v] : fixed.items()) {
    check_flag(flag);
    if (axes.contains(flag)) throw std::invalid_argument(fmt::format("grid: {} is both fixed and varied", flag));
    base.push_back(flag);
    base.push_back(flag_value(v, flag));
  }
  // Counted before any is made: a grid of a few hundred bytes can name millions of runs (the grid
  // fuzzer's 804-byte grid of 17 axes ran out of memory building them).
  constexpr std::size_t kMostRuns = 10000;
  std::size_t count = 1;
  for (const auto& [flag, values] : axes.items())
    if (values.is_array() && !values.empty()) {
      if (values.size() > kMostRuns || count * values.size() > kMostRuns)
        throw std::invalid_argument(fmt::format("grid: more than {} runs (the product of the lists' lengths): split the sweep",
                                                kMostRuns));
      count *= values.size();
    }
  std::vector<SweepRun> runs = {{"", "", base}};
  for (const auto& [flag, values] : axes.items()) {
    check_flag(flag);
    if (!values.is_array() || values.empty())
      throw std::invalid_argument(fmt::format("grid: {} needs a non-empty list of values", flag));
    std::vector<SweepRun> next;
    for (const SweepRun& r : runs)
      for (const ojson& v : values) {
        SweepRun n = r;
        const std::string value = flag_value(v, flag), p = part(flag, value);
        n.flags.push_back(flag);
        n.flags.push_back(value);
        n.name += (n.name.empty() ? "" : "_") + p;
        if (flag != "--seed") n.group += (n.group.empty() ? "" : "_") + p;
        next.push_back(std::move(n));
      }
    runs = std::move(next);
  }
  // Two runs in one folder would train into each other, and the second would count as finished.
  std::map<std::string, const SweepRun*> folders;
  for (SweepRun& r : runs) {
    if (r.name.empty()) r.name = "run";
    if (r.group.empty()) r.group = "all";
    const auto [it, fresh] = folders.emplace(r.name, &r);
    if (!fresh)
      throw std::invalid_argument(fmt::format(
          "grid: two runs would share the folder {} ({} and {}): a value listed twice, or values that differ only in "
          "characters a folder name replaces with '_'", r.name, fmt::join(it->second->flags, " "), fmt::join(r.flags, " ")));
  }
  return runs;
}

void write_sweep_table(const std::filesystem::path& dir, const std::vector<SweepRun>& runs) {
  const std::vector<std::pair<std::string, std::string>> columns = {
      {"test_nelbo", "test NELBO"}, {"test_rec", "reconstruction"}, {"test_kl", "KL"},
      {"active_units", "active units"}, {"images_per_second", "images/s"}};
  nlohmann::json all = nlohmann::json::array();
  std::vector<std::string> groups;  // in the runs' order
  std::map<std::string, std::vector<nlohmann::json>> finals;
  std::size_t missing = 0;
  for (const SweepRun& r : runs) {
    if (finals.find(r.group) == finals.end()) groups.push_back(r.group), finals[r.group];
    const std::filesystem::path f = dir / r.name / "final.json";
    if (!std::filesystem::exists(f)) {
      ++missing;
      continue;
    }
    nlohmann::json final = support::read_json_file(f);
    all.push_back({{"name", r.name}, {"group", r.group}, {"flags", r.flags}, {"final", final}});
    finals[r.group].push_back(std::move(final));
  }
  support::write_json_atomic(dir / "sweep.json", {{"runs", all}, {"unfinished", missing}});
  std::string md = "| runs | seeds |";
  for (const auto& c : columns) md += " " + c.second + " |";
  md += "\n| --- | ---: |";
  for (std::size_t i = 0; i < columns.size(); ++i) md += " ---: |";
  md += "\n";
  for (const std::string& g : groups) {
    const std::vector<nlohmann::json>& f = finals[g];
    md += fmt::format("| {} | {} |", g, f.size());
    for (const auto& c : columns) {
      std::vector<double> v;
      for (const nlohmann::json& j : f)
        if (j.contains(c.first) && j[c.first].is_number()) v.push_back(j[c.first].get<double>());
      const std::size_t n = v.size();
      double mean = 0, ss = 0;
      for (double x : v) mean += x / double(n);
      for (double x : v) ss += (x - mean) * (x - mean);
      const double sd = n > 1 ? std::sqrt(ss / double(n - 1)) : NAN;  // sample standard deviation over the seeds
      md += !n ? " – |" : n == 1 ? fmt::format(" {:.2f} |", mean) : fmt::format(" {:.2f} ± {:.2f} |", mean, sd);
    }
    md += "\n";
  }
  if (missing) md += fmt::format("\n{} of {} runs have not finished.\n", missing, runs.size());
  support::write_text_atomic(dir / "sweep.md", md);
}

}  // namespace vk::programs
